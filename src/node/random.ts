// The host's entropy, for the randomness a VM hands its guest (getrandom,
// /dev/urandom, AT_RANDOM, virtio-rng, /chosen's rng-seed). The core's
// default is the web platform's crypto.getRandomValues, limited to 64 KiB
// a call; this one has no such limit and is what the command line passes in.
//
// It reads the host's /dev/urandom (the kernel's CSPRNG, as getrandom(2)
// without flags once the pool is ready, which it is long before a Node
// process starts), from a descriptor opened on the first call and held:
// node:crypto (and the web crypto a global `crypto` loads) cost a short
// program some 5 ms to load (docs/PERFORMANCE.md, "Start-up"), node:fs
// nothing. Where there is no /dev/urandom, node:crypto.
import { openSync, readSync } from 'node:fs';
import { builtin } from './builtin.js';

let urandom: number | null | undefined;

export function hostRandom(buf: Uint8Array): void {
  if (urandom === undefined) {
    try {
      urandom = openSync('/dev/urandom', 'r');
    } catch {
      urandom = null;
    }
  }
  let at = 0;
  if (urandom !== null) {
    while (at < buf.length) {
      const n = readSync(urandom, buf, at, buf.length - at, null);
      if (n <= 0) break;
      at += n;
    }
  }
  if (at < buf.length) {
    const { randomFillSync } = builtin<typeof import('node:crypto')>('node:crypto');
    randomFillSync(buf, at);
  }
}
