// A system VM's console output on its way to the host's stdout, gathered
// until the host gets its thread back. The UART hands over what the guest
// stored to it in a step (a byte a step before its bytes were coalesced
// MMIO; still so when coalescedMmio is off), and a write each time is a
// system call and a wake-up of whoever reads the other end: a line typed at
// an idle guest came back as some 30 writes (docs/PERFORMANCE.md, "The
// console of an idle guest"). The run loop gives the thread back whenever the guest goes
// idle (which an interactive guest does once it has answered) and at least
// every few ms while it computes (hypervisor/run-loop.ts YIELD_MS), so
// gathered bytes wait at most that long.

import { Bytes } from '../cpu/jit/wasm-writer.js';

export class GatheredOutput {
  private gathered = new Bytes(4096);
  private scheduled = false;

  /** `sink` gets what was gathered, a copy of its own; `schedule` runs its
   *  callback once the host has its thread back (setImmediate). */
  constructor(
    private readonly sink: (bytes: Uint8Array) => void,
    private readonly schedule: (callback: () => void) => void = (callback) => { setImmediate(callback); },
  ) {}

  write(bytes: Uint8Array): void {
    this.gathered.bytes(bytes);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => { this.scheduled = false; this.flush(); });
    }
  }

  /** Hands on what was gathered now: before anything else goes to the
   *  host's terminal (a diagnostic on stderr) and before the process ends. */
  flush(): void {
    if (this.gathered.length === 0) return;
    const bytes = this.gathered.view();
    this.gathered = new Bytes(4096);
    this.sink(bytes);
  }
}
