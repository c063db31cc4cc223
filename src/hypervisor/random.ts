// Randomness for a guest when the embedder passes none: the web platform's
// crypto.getRandomValues, a global in Node (>= 19) and in browsers alike, so
// the core needs no Node module for it. The Node edge has its own
// (src/node/random.ts), which the command line passes in.

/** crypto.getRandomValues fills at most 64 KiB a call. */
const MAX_GET_RANDOM = 65536;

export function platformRandom(buf: Uint8Array): void {
  for (let at = 0; at < buf.length; at += MAX_GET_RANDOM) {
    crypto.getRandomValues(buf.subarray(at, Math.min(buf.length, at + MAX_GET_RANDOM)));
  }
}
