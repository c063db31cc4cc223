// Values of the options that `ringvisor run` and `ringvisor boot` share,
// parsed one way. `fail` throws the calling command's usage error (each
// prints its own usage text).
export type Fail = (message: string) => never;

/** 64M, 1G, 4096: a size in bytes. */
export function parseSize(s: string, fail: Fail, example = '64M or 1G'): number {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) fail(`bad size '${s}' (expected e.g. ${example})`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m![2].toUpperCase()]!;
  return Number(m![1]) * unit;
}

/** --max-instructions N */
export function parseInstructionCount(s: string, fail: Fail): bigint {
  if (!/^\d+$/.test(s)) fail(`bad instruction count '${s}'`);
  return BigInt(s);
}

/** --timeout SECONDS (fractions allowed) */
export function parseSeconds(s: string, fail: Fail): number {
  if (!/^\d+(\.\d+)?$/.test(s)) fail(`bad timeout '${s}' (seconds)`);
  return Number(s);
}
