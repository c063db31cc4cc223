// Time is a source the hypervisor chooses, never read directly by the CPU or
// by system calls: the host's clocks, or a virtual clock derived from
// instructions retired, which makes a run deterministic.
import { blockHost } from './run-loop.js';

/** The guest's view of time. All values in nanoseconds. */
export interface Clock {
  readonly kind: 'host' | 'virtual';
  /** Monotonic time since an arbitrary origin, never decreasing (CLOCK_MONOTONIC). */
  nowNs(): bigint;
  /** Wall-clock time since the Unix epoch (CLOCK_REALTIME). */
  realtimeNs(): bigint;
  /** Time the guest has spent running, not sleeping (CLOCK_PROCESS_CPUTIME_ID). */
  cpuNs(): bigint;
  /** Lets `ns` of guest time pass: the host clock blocks the calling thread
   *  that long; the virtual clock jumps forward without waiting. Callers
   *  keep `ns` small for the host clock (a process VM waits out a guest's
   *  sleep in pieces of at most MAX_HOST_BLOCK_MS: process-vm.ts). */
  sleep(ns: bigint): void;
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
 *  wall clock (both exist in Node and browsers). `continueFromNs`: monotonic
 *  time goes on from at least there (a restored machine's clock, made in a
 *  host process younger than the one that saved it, must not go back). */
export function hostClock(continueFromNs = 0n): Clock {
  // Monotonic time counts from when the host process (or page) started, so
  // that, like Linux's CLOCK_MONOTONIC, it reads as an uptime.
  const raw = () => BigInt(Math.round(performance.now() * 1e6));
  const behind = continueFromNs - raw();
  const offset = behind > 0n ? behind : 0n;
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
    sleep: (ns: bigint) => {
      if (ns <= 0n) return;
      const before = monotonic();
      blockHost(Number(ns) / 1e6);
      slept += monotonic() - before;
    },
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
    sleep: (ns: bigint) => {
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
