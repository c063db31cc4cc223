// A system VM's console output on its way to the host's stdout, gathered
// until the host gets its thread back. The UART hands over one byte per
// guest store, each in a step of its own, and a write per byte is a system
// call and a wake-up of whoever reads the other end: a line typed at an idle
// guest came back as some 30 writes (docs/PERFORMANCE.md, "The console of an
// idle guest"). The run loop gives the thread back whenever the guest goes
// idle (which an interactive guest does once it has answered) and at least
// every few ms while it computes (hypervisor/run-loop.ts YIELD_MS), so
// gathered bytes wait at most that long.

export class GatheredOutput {
  private buffer = new Uint8Array(4096);
  private length = 0;
  private scheduled = false;

  /** `sink` gets what was gathered, a copy of its own; `schedule` runs its
   *  callback once the host has its thread back (setImmediate). */
  constructor(
    private readonly sink: (bytes: Uint8Array) => void,
    private readonly schedule: (callback: () => void) => void = (callback) => { setImmediate(callback); },
  ) {}

  write(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buffer.length) {
      const bigger = new Uint8Array(Math.max(2 * this.buffer.length, this.length + bytes.length));
      bigger.set(this.buffer.subarray(0, this.length));
      this.buffer = bigger;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => { this.scheduled = false; this.flush(); });
    }
  }

  /** Hands on what was gathered now: before anything else goes to the
   *  host's terminal (a diagnostic on stderr) and before the process ends. */
  flush(): void {
    if (this.length === 0) return;
    const bytes = this.buffer.slice(0, this.length);
    this.length = 0;
    this.sink(bytes);
  }
}
