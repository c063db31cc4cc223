// The host's entropy through node:crypto, for the randomness a VM hands its
// guest (virtio-rng, /chosen's rng-seed, AT_RANDOM). The core's default is the
// web platform's crypto.getRandomValues, which is limited to 64 KiB a call;
// this one has no such limit and is what the command line passes in.
import { randomFillSync } from 'node:crypto';

export function hostRandom(buf: Uint8Array): void {
  randomFillSync(buf);
}
