// Values of the options that `ringvisor run` and `ringvisor boot` share,
// parsed one way. `fail` throws the calling command's usage error (each
// prints its own usage text). Every value is checked here, before any VM
// exists, so that a bad one is a one-line usage error (status 2) and never
// an exception from deep inside the VM.
export type Fail = (message: string) => never;

const MiB = 1024 * 1024;
/** The largest --mem: a VM's RAM shares one WebAssembly memory (4 GiB at
 *  most) with the CPU's state and caches (the 16 MiB below RAM); 4032 MiB
 *  leaves them room with a margin. */
export const MAX_MEMORY_BYTES = 4032 * MiB;
/** The smallest --mem: a megabyte (a process VM also needs room for its
 *  8 MiB stack, which it checks against the program itself). */
export const MIN_MEMORY_BYTES = MiB;
/** The longest --timeout: about 31 years (beyond it the deadline stops
 *  being a useful number). */
export const MAX_TIMEOUT_SECONDS = 1e9;
/** The largest --max-instructions: the CPU counts in unsigned 64 bits. */
export const MAX_INSTRUCTIONS = (1n << 64n) - 1n;
/** The largest --thread-slice: a budget the CPU takes as one signed 64-bit
 *  run; a slice longer than 2^40 instructions (hours) is no slice at all. */
export const MAX_THREAD_SLICE = 1n << 40n;

/** 64M, 1G, 4096: a size in bytes, a whole number of 4 KiB pages between
 *  MIN_MEMORY_BYTES and MAX_MEMORY_BYTES. */
export function parseSize(s: string, fail: Fail, example = '64M or 1G', option = '--mem'): number {
  const m = /^(\d{1,12})([KMG]?)$/i.exec(s);
  if (!m) fail(`bad size '${s}' for ${option} (expected e.g. ${example})`);
  const unit = { '': 1, K: 1024, M: MiB, G: 1024 * MiB }[m![2].toUpperCase()]!;
  const bytes = Number(m![1]) * unit;
  if (bytes % 4096 !== 0) fail(`bad size '${s}' for ${option}: not a whole number of 4 KiB pages (e.g. ${example})`);
  if (bytes < MIN_MEMORY_BYTES) fail(`bad size '${s}' for ${option}: at least 1M`);
  if (bytes > MAX_MEMORY_BYTES) fail(`bad size '${s}' for ${option}: at most ${MAX_MEMORY_BYTES / MiB}M (WebAssembly memory is limited to 4 GiB)`);
  return bytes;
}

/** The largest --tmp-size: the private /tmp lives in the host process's
 *  heap, which V8 limits to a few GiB; more could never be used. */
export const MAX_TMP_BYTES = 16 * 1024 * MiB;
/** The largest --disk-quota: a pebibyte (the count stays an exact number). */
export const MAX_DISK_QUOTA_BYTES = 1024 ** 5;

/** 512K, 10G, 2T: a byte count for a limit other than memory (--tmp-size,
 *  --disk-quota), at least one byte and at most `max`. */
export function parseByteCount(s: string, fail: Fail, option: string, max: number): number {
  const m = /^(\d{1,15})([KMGT]?)$/i.exec(s);
  if (!m) fail(`bad size '${s}' for ${option} (expected e.g. 512K, 64M or 10G)`);
  const unit = { '': 1, K: 1024, M: MiB, G: 1024 * MiB, T: 1024 ** 4 }[m![2].toUpperCase()]!;
  const bytes = Number(m![1]) * unit;
  if (bytes < 1) fail(`bad size '${s}' for ${option}: at least 1 byte`);
  if (bytes > max) fail(`bad size '${s}' for ${option}: at most ${max / MiB}M`);
  return bytes;
}

/** --max-instructions N: at least 1, at most 2^64 - 1. */
export function parseInstructionCount(s: string, fail: Fail, zero = false): bigint {
  if (!/^\d{1,20}$/.test(s)) fail(`bad instruction count '${s}'`);
  const n = BigInt(s);
  const least = zero ? 0n : 1n;
  if (n < least || n > MAX_INSTRUCTIONS) fail(`bad instruction count '${s}' (${least} to ${MAX_INSTRUCTIONS})`);
  return n;
}

/** --timeout SECONDS (fractions allowed): more than 0, at most MAX_TIMEOUT_SECONDS. */
export function parseSeconds(s: string, fail: Fail): number {
  if (!/^\d{1,10}(\.\d{1,9})?$/.test(s)) fail(`bad timeout '${s}' (seconds)`);
  const t = Number(s);
  if (!(t > 0) || t > MAX_TIMEOUT_SECONDS) fail(`bad timeout '${s}' (seconds, more than 0 and at most ${MAX_TIMEOUT_SECONDS})`);
  return t;
}

/** --thread-slice N: instructions, 1 to MAX_THREAD_SLICE. */
export function parseThreadSlice(s: string, fail: Fail): bigint {
  if (!/^[1-9]\d{0,19}$/.test(s) || BigInt(s) > MAX_THREAD_SLICE) fail(`bad thread slice '${s}' (instructions, at least 1, at most 2^40)`);
  return BigInt(s);
}

/** --jit-worker: `off` (translations made in the guest's thread), `on`
 *  (in a worker thread, started once the guest's thread has spent
 *  WorkerTranslationService's default there), or that many milliseconds. */
export function parseJitWorker(s: string, fail: Fail): 'on' | 'off' | number {
  if (s === 'on' || s === 'off') return s;
  if (!/^\d{1,7}$/.test(s)) fail(`bad --jit-worker '${s}' (on, off, or milliseconds)`);
  return Number(s);
}
