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
