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
export class HostInput {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private ended = false;
  private readonly listeners = new Set<() => void>();

  /** Input for the guest, in order (copied). */
  push(bytes: Uint8Array | string): void {
    const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes.slice();
    if (this.ended || b.length === 0) return;
    this.chunks.push(b);
    this.size += b.length;
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
    if (this.size === 0) return this.ended ? null : undefined;
    const out = new Uint8Array(Math.min(max, this.size));
    let n = 0;
    while (n < out.length) {
      const c = this.chunks[0];
      const k = Math.min(c.length, out.length - n);
      out.set(c.subarray(0, k), n);
      n += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.size -= n;
    return out;
  }

  /** Bytes waiting to be read. */
  get available(): number { return this.size; }
  /** Whether a read would not wait: there is input, or its end has come. */
  get ready(): boolean { return this.size > 0 || this.ended; }
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
