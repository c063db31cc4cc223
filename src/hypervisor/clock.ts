// Time is a source the hypervisor chooses, never read directly by the CPU or
// by system calls: the host's clocks, or a virtual clock derived from
// instructions retired, which makes a run deterministic. Both kinds of VM
// keep one: a process VM counts its processes' instructions, a system VM
// the place its harts have reached in their round (system/guest-clock.ts).

/** The guest's view of time. All values in nanoseconds. */
export interface Clock {
  readonly kind: 'host' | 'virtual';
  /** Monotonic time since an arbitrary origin, never decreasing (CLOCK_MONOTONIC). */
  nowNs(): bigint;
  /** Wall-clock time since the Unix epoch (CLOCK_REALTIME). */
  realtimeNs(): bigint;
  /** Time the guest has spent running, not sleeping (CLOCK_PROCESS_CPUTIME_ID). */
  cpuNs(): bigint;
  /** `ns` of guest time pass that no instruction count shows (every guest
   *  thread or hart waits for a deadline): the virtual clock jumps forward;
   *  the host clock does not move (its time is the host's: the run loop
   *  waits instead, and says so with slept()). */
  skip(ns: bigint): void;
  /** The host waited `ns` for the guest without sleep() (an asynchronous
   *  timer): for the host clock, time the guest did not run (cpuNs); the
   *  virtual clock ignores it (its time never depends on the host's). */
  slept(ns: bigint): void;
  /** The clock's own state, for a checkpoint (the rest is instret or the host's). */
  save(): ClockState;
  restore(state: ClockState): void;
}

/** What a clock keeps itself: the guest time slept, which instret does not show. */
export interface ClockState {
  version: 1;
  kind: 'host' | 'virtual';
  sleptNs: bigint;
}

function checkState(kind: 'host' | 'virtual', state: ClockState): void {
  if (state.version !== 1 || state.kind !== kind) throw new Error(`cannot restore a ${state.kind} clock (version ${state.version}) into a ${kind} clock`);
}

/** The host's clocks: performance.now for monotonic time and Date for the
 *  wall clock (both exist in Node and browsers). Monotonic time counts from
 *  when the host process (or page) started (`origin` 'uptime': a process
 *  VM's, which, like Linux's CLOCK_MONOTONIC, reads as an uptime), or from
 *  when the clock is made ('start': a machine's `time` starts at 0 at
 *  power-on). `continueFromNs`: monotonic time goes on from at least there
 *  (a restored machine's clock, made in a host process younger than the one
 *  that saved it, must not go back). */
export function hostClock(continueFromNs = 0n, origin: 'uptime' | 'start' = 'uptime'): Clock {
  const raw = () => BigInt(Math.round(performance.now() * 1e6));
  const behind = continueFromNs - raw();
  const offset = origin === 'start' ? behind : behind > 0n ? behind : 0n;
  const monotonic = () => raw() + offset;
  const start = monotonic();
  const wallAtStart = BigInt(Date.now()) * 1_000_000n;
  let slept = 0n;
  return {
    kind: 'host',
    nowNs: monotonic,
    // The wall clock advances with the monotonic one from where Date put it
    // when the clock was made (Date alone has only milliseconds).
    realtimeNs: () => wallAtStart + monotonic() - start,
    cpuNs: () => {
      const t = monotonic() - start - slept;
      return t > 0n ? t : 0n;
    },
    skip: () => {},
    slept: (ns: bigint) => {
      if (ns > 0n) slept += ns;
    },
    save: () => ({ version: 1, kind: 'host', sleptNs: slept }),
    restore: (state: ClockState) => {
      checkState('host', state);
      slept = state.sleptNs;
    },
  };
}

/** Wall-clock time of the virtual clock at instruction 0: 2024-01-01T00:00:00Z. */
export const VIRTUAL_EPOCH_NS = 1_704_067_200n * 1_000_000_000n;

/** A clock that advances `nsPerInstruction` per retired instruction, plus
 *  whatever the guest has slept. Depends on nothing but the guest. */
export function virtualClock(instret: () => bigint, nsPerInstruction = 10n): Clock {
  let slept = 0n;
  const now = () => instret() * nsPerInstruction + slept;
  return {
    kind: 'virtual',
    nowNs: now,
    realtimeNs: () => VIRTUAL_EPOCH_NS + now(),
    cpuNs: () => instret() * nsPerInstruction,
    skip: (ns: bigint) => {
      if (ns > 0n) slept += ns;
    },
    slept: () => {},
    save: () => ({ version: 1, kind: 'virtual', sleptNs: slept }),
    restore: (state: ClockState) => {
      checkState('virtual', state);
      slept = state.sleptNs;
    },
  };
}

/** The `time` CSR counts at 10 MHz, as on QEMU's virt machine (timebase-frequency). */
export const TIMEBASE_HZ = 10_000_000n;

export function timeCsr(clock: Clock): bigint {
  return clock.nowNs() / (1_000_000_000n / TIMEBASE_HZ);
}
