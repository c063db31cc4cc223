// The host's entropy as the command line hands it to guests
// (src/node/random.ts): /dev/urandom read through a held descriptor, with
// no 64 KiB limit per call (crypto.getRandomValues has one).
import { describe, expect, it } from 'vitest';
import { hostRandom } from '../src/node/random.js';

describe('hostRandom', () => {
  it('fills a whole megabyte in one call, differently each time, every byte value about as often', () => {
    const a = new Uint8Array(1 << 20), b = new Uint8Array(1 << 20);
    hostRandom(a);
    hostRandom(b);
    expect(Buffer.compare(a, b)).not.toBe(0);
    const counts = new Array<number>(256).fill(0);
    for (const v of a) counts[v]++;
    // 4096 expected per value; a binomial's 6 sigma is under 400.
    expect(Math.min(...counts)).toBeGreaterThan(4096 - 400);
    expect(Math.max(...counts)).toBeLessThan(4096 + 400);
    // The last bytes are filled too, not left zero by a short read.
    expect(a.subarray(a.length - 64).some((v) => v !== 0)).toBe(true);
  });

  it('fills an empty buffer and a one-byte one', () => {
    hostRandom(new Uint8Array(0));
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const one = new Uint8Array(1);
      hostRandom(one);
      seen.add(one[0]);
    }
    expect(seen.size).toBeGreaterThan(50);
  });
});
