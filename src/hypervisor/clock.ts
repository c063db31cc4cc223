// Time is a source the hypervisor chooses, never read directly by the CPU or
// by system calls: the host's monotonic clock, or a virtual clock derived
// from instructions retired, which makes a run deterministic.

/** Nanoseconds since an arbitrary origin, never decreasing. */
export interface Clock {
  readonly kind: 'host' | 'virtual';
  nowNs(): bigint;
}

/** The host's monotonic clock (performance.now exists in Node and browsers). */
export function hostClock(): Clock {
  const origin = performance.timeOrigin;
  return { kind: 'host', nowNs: () => BigInt(Math.round((origin + performance.now()) * 1e6)) };
}

/** A clock that advances `nsPerInstruction` per retired instruction. */
export function virtualClock(instret: () => bigint, nsPerInstruction = 10n): Clock {
  return { kind: 'virtual', nowNs: () => instret() * nsPerInstruction };
}

/** The `time` CSR counts at 10 MHz, as on QEMU's virt machine (timebase-frequency). */
export const TIMEBASE_HZ = 10_000_000n;

export function timeCsr(clock: Clock): bigint {
  return clock.nowNs() / (1_000_000_000n / TIMEBASE_HZ);
}
