// The guest's stdin fed by the host as input arrives (a terminal, a pipe
// read by events, a socket), for VMs run with run() whose host must stay
// responsive while the guest waits for input: a control API, other VMs.
// A read that finds nothing yet blocks the guest thread as a read of an
// empty pipe does (WouldBlock: the thread waits for I/O and the call runs
// again), and the VM idles without holding the host's thread; input or
// its end wakes it. (A StdinSource function, by contrast, is called
// synchronously and may block the host's thread: fine for a command line
// without an API, and what runSync() needs.)
//
// No Node import: the embedder feeds it from whatever it reads.
import { Pipe } from './file-table.js';

export class HostInput {
  /** The bytes not yet read, queued as a pipe queues them. */
  private readonly queue = new Pipe();
  private ended = false;
  private readonly listeners = new Set<() => void>();

  /** Input for the guest, in order (copied). */
  push(bytes: Uint8Array | string): void {
    const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
    if (this.ended || b.length === 0) return;
    this.queue.put(b);
    this.notify();
  }

  /** The end of the input: reads return end-of-file once it is all read. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.notify();
  }

  /** Up to `max` bytes; null at the end; undefined while nothing has come. */
  read(max: number): Uint8Array | null | undefined {
    if (this.queue.size === 0) return this.ended ? null : undefined;
    const out = new Uint8Array(Math.min(max, this.queue.size));
    this.queue.take(out);
    return out;
  }

  /** Bytes waiting to be read. */
  get available(): number { return this.queue.size; }
  /** Whether a read would not wait: there is input, or its end has come. */
  get ready(): boolean { return this.queue.size > 0 || this.ended; }
  /** Whether more input may still come. */
  get open(): boolean { return !this.ended; }

  /** Calls `f` whenever input or its end arrives; returns the unsubscription. */
  onReady(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private notify(): void {
    for (const f of [...this.listeners]) f();
  }
}
