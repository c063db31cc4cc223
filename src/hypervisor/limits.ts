// The limits both kinds of VM take from a library user, checked one way: a
// bad value is one RangeError that names it, before any VM exists, never an
// error from BigInt or from the CPU's memory set-up.

const PAGE_BYTES = 4096;

/** `memoryBytes`: a positive whole number of 4 KiB pages. */
export function checkMemoryBytes(bytes: number): bigint {
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % PAGE_BYTES !== 0) {
    throw new RangeError(`memoryBytes must be a positive whole number of 4 KiB pages, not ${bytes}`);
  }
  return BigInt(bytes);
}

/** `timeoutSeconds`: absent, or a finite number of seconds, 0 or more. */
export function checkTimeoutSeconds(t: number | undefined): void {
  if (t !== undefined && !(t >= 0 && Number.isFinite(t))) throw new RangeError(`timeoutSeconds must be a finite number of seconds, not ${t}`);
}

/** What stops a run from outside the guest: an instruction count and a
 *  host-time deadline (`maxInstructions`, `timeoutSeconds`, counted from
 *  the first look, when the run starts), looked at between slices, so that
 *  a guest that loops forever cannot keep ring -1 busy for ever. Both kinds
 *  of VM keep one. */
export class RunLimits {
  private deadline: number | undefined;
  /** Whether there is a limit at all (else a slice need not count what ran). */
  readonly any: boolean;

  constructor(readonly maxInstructions: bigint | undefined, readonly timeoutSeconds: number | undefined) {
    checkTimeoutSeconds(timeoutSeconds);
    this.any = maxInstructions !== undefined || timeoutSeconds !== undefined;
  }

  /** The limit reached after `executed` instructions, if any. */
  reached(executed: bigint): 'instructions' | 'timeout' | undefined {
    if (this.maxInstructions !== undefined && executed >= this.maxInstructions) return 'instructions';
    return this.timedOut() ? 'timeout' : undefined;
  }

  /** Whether the time limit has passed (the clock starts at the first look). */
  timedOut(): boolean {
    if (this.timeoutSeconds === undefined) return false;
    this.deadline ??= performance.now() + this.timeoutSeconds * 1000;
    return performance.now() >= this.deadline;
  }

  /** `budget`, cut so that the instruction limit is not overrun. */
  clamp(budget: bigint, executed: bigint): bigint {
    const limit = this.maxInstructions;
    return limit !== undefined && limit - executed < budget ? limit - executed : budget;
  }
}
