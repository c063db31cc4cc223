/**
 * A virtio entropy device (device id 4): one queue of device-writable
 * buffers, each filled with random bytes from `random` (by default the web
 * platform's crypto.getRandomValues: src/hypervisor/random.ts). A chain with a
 * device-readable descriptor is malformed input (the device breaks).
 */

import { platformRandom } from '../../hypervisor/random.js';
import type { AccessSize } from './bus.js';
import { VirtioError, type VirtioDevice } from './virtio-mmio.js';
import type { Virtqueue } from './virtqueue.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

/** The tag and version of the entropy device's saved record (docs/CHECKPOINTS.md). */
export const VIRTIO_RNG_RECORD = 'virtio-rng';
export const VIRTIO_RNG_RECORD_VERSION = 1;

export const VIRTIO_ID_ENTROPY = 4;

export interface VirtioRngOptions {
  /** Fills `buf` with random bytes (buf.length <= 65536). */
  random?: (buf: Uint8Array) => void;
  queueSize?: number;
  /** Upper bound of one request (default 1 MiB). */
  maxRequestBytes?: number;
}

export class VirtioRng implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_ENTROPY;
  readonly features = 0n;
  readonly queueMaxSizes: readonly number[];
  readonly maxChainBytes: number;
  private readonly random: (buf: Uint8Array) => void;
  /** Bytes handed to the guest so far. */
  bytesServed = 0;

  constructor(opts: VirtioRngOptions = {}) {
    this.random = opts.random ?? platformRandom;
    this.queueMaxSizes = [opts.queueSize ?? 64];
    this.maxChainBytes = opts.maxRequestBytes ?? 1 << 20;
  }

  configRead(_offset: number, _size: AccessSize): bigint {
    return 0n; // no configuration space
  }

  /** The bytes served so far, as a record (the randomness is the
   *  injected source's, not the device's). */
  save(): Uint8Array {
    return new RecordWriter(VIRTIO_RNG_RECORD, VIRTIO_RNG_RECORD_VERSION).u64(BigInt(this.bytesServed)).finish();
  }

  restore(record: Uint8Array): void {
    const r = new RecordReader(record, VIRTIO_RNG_RECORD, [VIRTIO_RNG_RECORD_VERSION]);
    const served = r.u64('the bytes served');
    r.end();
    if (served > BigInt(Number.MAX_SAFE_INTEGER)) r.invalid(`${served} bytes served is more than can be counted`);
    this.bytesServed = Number(served);
  }

  process(queue: Virtqueue): void {
    for (;;) {
      const chain = queue.pop();
      if (chain === undefined) return;
      if (chain.readable.length > 0) {
        const s = chain.readable[0];
        throw new VirtioError(
          `virtio-rng request at descriptor ${chain.head}: ${s.where} (at 0x${s.addr.toString(16)}) is device-readable; entropy buffers must be device-writable`,
        );
      }
      chain.fill(0, chain.writableBytes, (n) => {
        const b = new Uint8Array(n);
        this.random(b);
        return b;
      });
      this.bytesServed += chain.writableBytes;
      queue.push(chain, chain.writableBytes);
    }
  }
}
