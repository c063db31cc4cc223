// The one scheduling policy of ringvisor, for everything that takes turns
// on a CPU: a system VM's harts (system/hart-scheduler.ts), a process's
// threads (linux/threads.ts) and a process VM's processes
// (linux/processes.ts). Round robin: the next one after the one that had
// the CPU that can run, that one itself last. When none can run, the
// earliest deadline among their waits decides: a virtual clock jumps to it
// at once (a deterministic run never waits), the host's clock is waited
// for by the run loop (run-loop.ts); with no deadline, only the host can
// end the waits (input, a device) or nothing can (a deadlock). What makes
// each kind runnable, and what its deadlines are, stays with its owner.

/** The first of `list` after `current`, wrapping around, that `canRun`,
 *  `current` itself last; undefined when none can. (`current` need not be
 *  in the list: a thread that has exited; then every one is looked at.) */
export function nextInTurn<T>(list: readonly T[], current: T | undefined, canRun: (t: T) => boolean): T | undefined {
  const n = list.length;
  const at = current === undefined ? -1 : list.indexOf(current);
  for (let k = 1; k <= n; k++) {
    const t = list[(at + k + n) % n];
    if (canRun(t)) return t;
  }
  return undefined;
}

/** The earliest of some deadlines (undefined ones are no deadline). */
export function earliestOf(deadlines: Iterable<bigint | undefined>): bigint | undefined {
  let earliest: bigint | undefined;
  for (const d of deadlines) if (d !== undefined && (earliest === undefined || d < earliest)) earliest = d;
  return earliest;
}

/** What to do when nothing can run. */
export type Idle =
  /** A deadline has already come: look again (its wait ends). */
  | { kind: 'again' }
  /** Virtual clock: time jumps `by` forward now (to the deadline); then look again. */
  | { kind: 'skip'; by: bigint }
  /** Host clock: the run loop waits until `until` (or until woken). */
  | { kind: 'wait'; until: bigint }
  /** No deadline, but the host may still end a wait (input, a device). */
  | { kind: 'host' }
  /** No deadline and nothing that could end a wait: a deadlock. */
  | { kind: 'stuck' };

/** The decision when nothing can run, at time `now` of a clock of `kind`,
 *  given the earliest deadline of the waits (in the same unit as `now`). */
export function whenIdle(kind: 'host' | 'virtual', now: bigint, earliest: bigint | undefined, hostMayWake: boolean): Idle {
  if (earliest === undefined) return hostMayWake ? { kind: 'host' } : { kind: 'stuck' };
  if (earliest <= now) return { kind: 'again' };
  return kind === 'virtual' ? { kind: 'skip', by: earliest - now } : { kind: 'wait', until: earliest };
}
