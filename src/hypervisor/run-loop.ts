// The loop that drives a VM in slices, for every kind of VM and for a call
// into one (vmcall): run a slice, and between slices give the host its
// thread back often enough that it stays responsive (console input, the
// control API, timers), wait without spinning while the guest is idle on the
// host clock or paused by its host, and stop when the VM says it is done.
// It uses only what Node, a worker thread and a browser page all have, so
// the same code runs in each.

/** What a run loop drives: something that runs in slices and says, between
 *  them, whether it can do anything now. */
export interface Sliced<T> {
  /** Runs one slice (or does nothing, when there is nothing to do); the
   *  run's result once it is over. Never blocks the thread. */
  step(): T | undefined;
  /** Milliseconds the host should wait before the next step can do
   *  anything (0: it can run now): a guest idle on the host clock. */
  idleMilliseconds(): number;
  /** Paused by its host: nothing runs until the loop is woken. */
  readonly paused: boolean;
  /** The host waited `ms` for it (an idle nap, cut short or not). */
  napped?(ms: number): void;
  /** The step just taken took `ms` of host time. */
  took?(ms: number): void;
}

/** How often a run gives the host its thread back (ms), at most. */
export const YIELD_MS = 10;

/** A VM's share of its host thread, in Hyper-V's terms: `weight` (1..10000,
 *  100 by default) sets how long it runs before giving the thread back (so
 *  that VMs sharing a thread get it in proportion), `limit` (1..100 % of the
 *  thread) how long it then stays off it. */
export interface CpuShare { weight: number; limit: number }

/**
 * Drives one Sliced at a time. `wake()` ends a wait in progress (a nap while
 * the guest is idle, or a pause): input has come, the VM was resumed or
 * halted.
 */
export class RunLoop {
  private wakeUp: (() => void) | undefined;
  /** Host milliseconds spent in the driven thing's steps (its CPU time). */
  busyMs = 0;
  private limit = 1;

  constructor(public yieldMs = YIELD_MS) {}

  /** Sets the share of the thread the VM gets from now on. */
  setShare(share: CpuShare): void {
    this.yieldMs = Math.min(200, Math.max(1, (YIELD_MS * share.weight) / 100));
    this.limit = Math.min(1, Math.max(0.01, share.limit / 100));
  }

  /** Ends the loop's wait, if it is waiting; the next step looks again. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Runs `s` to its result, never holding the host's thread for much
   *  longer than `yieldMs` at a time. */
  async run<T>(s: Sliced<T>): Promise<T> {
    // The host's clock is read once a step, after it: a guest making
    // system calls takes a step for every few of them (docs/PERFORMANCE.md,
    // "System calls"). A step starts when the one before ended.
    let now = performance.now();
    let lastYield = now;
    for (;;) {
      if (s.paused) {
        await this.wait(undefined);
        now = lastYield = performance.now();
        continue;
      }
      const nap = s.idleMilliseconds();
      if (nap > 0) {
        const before = now;
        await this.wait(nap);
        now = lastYield = performance.now();
        s.napped?.(now - before);
      }
      const started = now;
      const result = s.step();
      now = performance.now();
      this.busyMs += now - started;
      s.took?.(now - started);
      if (result !== undefined) return result;
      const ran = now - lastYield;
      if (ran > this.yieldMs) {
        // Under a limit, off the thread long enough that running took at
        // most `limit` of the time (a timer: others and the host go on).
        if (this.limit < 1) await this.wait(Math.min(1000, ran * (1 / this.limit - 1)));
        else await yieldToHost();
        now = lastYield = performance.now();
      }
    }
  }

  /** Runs `s` to its result on this thread, blocking it while the guest is
   *  idle (nothing can wake a paused Sliced here: it throws). */
  runSync<T>(s: Sliced<T>): T {
    // (No yields here: the clock is read for naps, and for `took` if asked.)
    const timed = s.took !== undefined;
    let now = timed ? performance.now() : 0;
    for (;;) {
      if (s.paused) throw new Error('runSync() on a paused VM: nothing could resume it while this thread runs it');
      const nap = s.idleMilliseconds();
      if (nap > 0) {
        const before = performance.now();
        blockHost(nap);
        now = performance.now();
        s.napped?.(now - before);
      }
      const started = now;
      const result = s.step();
      if (timed) {
        now = performance.now();
        s.took!(now - started);
      }
      if (result !== undefined) return result;
    }
  }

  // Waits `ms` (undefined: until woken), or until wake().
  private wait(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const self = this;
      function done(): void {
        if (timer !== undefined) clearTimeout(timer);
        self.wakeUp = undefined;
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

/** Gives the host its thread back for a moment: setImmediate where there is
 *  one (Node), else a message to ourselves (a browser page or worker, where
 *  setTimeout(0) would be clamped to 4 ms once nested). */
export function yieldToHost(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise<void>((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === 'function') {
    return new Promise<void>((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(undefined);
    });
  }
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
}

let blockCell: Int32Array | null | undefined;

/** Blocks the thread for `ms`: Atomics.wait where the host allows it
 *  (Node's main thread, workers), else a busy wait (a browser page's main
 *  thread, where Atomics.wait throws). */
export function blockHost(ms: number): void {
  const until = performance.now() + ms;
  if (blockCell === undefined) {
    try {
      blockCell = new Int32Array(new SharedArrayBuffer(4));
    } catch {
      blockCell = null; // no SharedArrayBuffer (a page that is not cross-origin isolated)
    }
  }
  for (;;) {
    const left = until - performance.now();
    if (left <= 0) return;
    if (blockCell !== null) {
      try {
        Atomics.wait(blockCell, 0, 0, left);
        continue;
      } catch {
        blockCell = null;
      }
    }
  }
}
