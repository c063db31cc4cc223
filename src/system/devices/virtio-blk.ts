/**
 * A virtio block device (device id 2) over a block backend: an in-memory
 * image, or a host file that the host edge opens (src/node/block-file.ts),
 * so that the device itself never touches the host's files.
 *
 * Request: a 16-byte device-readable header (type u32, reserved u32,
 * sector u64), then the data (device-readable for OUT, device-writable for
 * IN and GET_ID), then one device-writable status byte: OK 0, IOERR 1,
 * UNSUPP 2. Types: IN 0, OUT 1, FLUSH 4, GET_ID 8 (a 20-byte id string);
 * others answer UNSUPP.
 *
 * Features: SIZE_MAX (1), SEG_MAX (2), BLK_SIZE (6), FLUSH (9), and RO (5)
 * for a read-only image. seg_max = queue size - 2 and size_max (128 KiB for the
 * default queue of 128) keep every request Linux can build under the 16 MiB
 * chain limit.
 *
 * Errors of the request (OUT to a read-only image, sectors beyond the end,
 * a data length not a multiple of 512, host I/O errors) answer IOERR. Errors
 * of the chain's shape (no header, no status byte, IN or GET_ID data in
 * device-readable buffers) are malformed input: the device breaks (see
 * virtio-mmio.ts).
 *
 * I/O is synchronous: an OUT's data is in the backend (for a file, written
 * with writeSync) before its used entry is published, and a FLUSH completes
 * only after the backend's flush (fsync).
 * Before the status byte goes in, any device-writable byte the request did
 * not fill is zeroed, so the used length is always the chain's whole
 * device-writable length.
 *
 * Capacity is the image size in 512-byte sectors; an image whose size is
 * not a multiple of 512 is refused (the constructor throws).
 */

import { hex, type AccessSize } from './bus.js';
import { configBytesRead, VirtioError, type VirtioDevice } from './virtio-mmio.js';
import type { DescChain, Virtqueue } from './virtqueue.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

/** The tag and version of the block device's saved record (docs/CHECKPOINTS.md). */
export const VIRTIO_BLK_RECORD = 'virtio-blk';
export const VIRTIO_BLK_RECORD_VERSION = 1;
/** The request counts, in the record's order. */
const COUNT_NAMES = ['in', 'out', 'flush', 'getId', 'unsupported', 'ioErrors'] as const;

export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_BLK_F_SIZE_MAX = 1n << 1n;
export const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
export const VIRTIO_BLK_F_RO = 1n << 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 1n << 6n;
export const VIRTIO_BLK_F_FLUSH = 1n << 9n;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

/** Fields of struct virtio_blk_config (virtio 1.2, 5.2.4) that the device fills. */
export enum VirtioBlkConfig {
  Capacity = 0, // le64, in 512-byte sectors
  SizeMax = 8, // le32
  SegMax = 12, // le32
  BlkSize = 20, // le32
  NumQueues = 34, // le16
}

/** struct virtio_blk_req's header (5.2.6): type le32, reserved le32, sector le64. */
const REQ_TYPE = 0;
const REQ_SECTOR = 8;
const REQ_HEADER_BYTES = 16;

export const SECTOR = 512;
const ID_BYTES = 20;
const SIZE_MAX = 128 * 1024;
const MAX_REQUEST = 16 << 20;

/** Storage behind a virtio-blk device; positions and lengths in bytes. */
export interface BlockBackend {
  readonly byteLength: number;
  readonly readOnly: boolean;
  /** Fills `dst` from `position`; throws on failure. */
  read(position: number, dst: Uint8Array): void;
  write(position: number, src: Uint8Array): void;
  /** Returns once everything written is durable. */
  flush(): void;
  close?(): void;
}

/** Throws unless `size` is a whole number of sectors (an image's size is its capacity). */
export function checkImageSize(size: number, what: string): void {
  if (size % SECTOR !== 0) {
    throw new Error(`virtio-blk: ${what}: size ${size} bytes is not a multiple of ${SECTOR}`);
  }
}

/** An image in host memory (for tests). */
export class MemoryBlockBackend implements BlockBackend {
  readonly bytes: Uint8Array;
  flushes = 0;
  constructor(image: Uint8Array | number, readonly readOnly = false) {
    this.bytes = typeof image === 'number' ? new Uint8Array(image) : image;
    checkImageSize(this.bytes.length, 'memory image');
  }
  get byteLength(): number { return this.bytes.length; }
  read(position: number, dst: Uint8Array): void { dst.set(this.bytes.subarray(position, position + dst.length)); }
  write(position: number, src: Uint8Array): void {
    if (this.readOnly) throw new Error('read-only');
    this.bytes.set(src, position);
  }
  flush(): void { this.flushes++; }
}

export interface VirtioBlkOptions {
  /** The storage: an in-memory image, or a host file (src/node/block-file.ts
   *  opens one), or anything else that implements BlockBackend. */
  backend: BlockBackend;
  /** Read-only even if the backend is writable. */
  readOnly?: boolean;
  /** The GET_ID string (up to 20 bytes). */
  id?: string;
  /** Queue size (power of 2, default 128). */
  queueSize?: number;
}

export class VirtioBlk implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly maxChainBytes: number;
  readonly backend: BlockBackend;
  readonly readOnly: boolean;
  readonly capacity: bigint;
  private readonly config = new Uint8Array(64);
  private readonly id: Uint8Array;
  /** Requests served, by type (for stats). */
  readonly counts = { in: 0, out: 0, flush: 0, getId: 0, unsupported: 0, ioErrors: 0 };

  constructor(opts: VirtioBlkOptions) {
    if (opts.backend === undefined) throw new Error('virtio-blk: needs a backend');
    this.backend = opts.backend;
    this.readOnly = (opts.readOnly ?? false) || this.backend.readOnly;
    const qs = opts.queueSize ?? 128;
    this.queueMaxSizes = [qs];
    const segMax = Math.max(1, qs - 2);
    // size_max * seg_max (+ header and status) stays within the chain limit.
    const sizeMax = Math.max(4096, Math.min(SIZE_MAX, Math.floor((MAX_REQUEST - 4096) / segMax / 4096) * 4096));
    this.maxChainBytes = Math.max(MAX_REQUEST, segMax * sizeMax + 4096);
    this.features = VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
      (this.readOnly ? VIRTIO_BLK_F_RO : 0n);
    this.capacity = BigInt(this.backend.byteLength / SECTOR);
    const v = new DataView(this.config.buffer);
    v.setBigUint64(VirtioBlkConfig.Capacity, this.capacity, true);
    v.setUint32(VirtioBlkConfig.SizeMax, sizeMax, true);
    v.setUint32(VirtioBlkConfig.SegMax, segMax, true);
    v.setUint32(VirtioBlkConfig.BlkSize, SECTOR, true);
    v.setUint16(VirtioBlkConfig.NumQueues, 1, true); // meaningful only with MQ
    this.id = new Uint8Array(ID_BYTES);
    const idText = new TextEncoder().encode(opts.id ?? 'ringvisor-blk');
    this.id.set(idText.subarray(0, ID_BYTES));
  }

  configRead(offset: number, size: AccessSize): bigint {
    return configBytesRead(this.config, offset, size);
  }

  close(): void {
    this.backend.close?.();
  }

  /** What the device knows besides the disk's bytes, as a record: the
   *  disk's shape (checked on restore) and the request counts. Requests are
   *  served synchronously, one notification at a time, so none is ever in
   *  flight when a checkpoint is taken; the bytes are the backend's. */
  save(): Uint8Array {
    const w = new RecordWriter(VIRTIO_BLK_RECORD, VIRTIO_BLK_RECORD_VERSION)
      .u64(this.capacity).bool(this.readOnly).u32(this.queueMaxSizes[0]);
    for (const k of COUNT_NAMES) w.u64(BigInt(this.counts[k]));
    return w.finish();
  }

  /** Takes a record `save` wrote for a disk of the same shape (capacity,
   *  read-only, queue size); throws CheckpointError and changes nothing
   *  otherwise. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, VIRTIO_BLK_RECORD, [VIRTIO_BLK_RECORD_VERSION]);
    const capacity = r.u64('the capacity'), readOnly = r.bool('read-only'), queueSize = r.u32('the queue size');
    const counts = COUNT_NAMES.map((k) => r.u64(`the ${k} count`));
    r.end();
    if (capacity !== this.capacity || readOnly !== this.readOnly || queueSize !== this.queueMaxSizes[0]) {
      r.invalid(
        `the record is of a ${readOnly ? 'read-only' : 'writable'} disk of ${capacity} sectors with a queue of ${queueSize}, ` +
          `this one is ${this.readOnly ? 'read-only' : 'writable'} with ${this.capacity} sectors and a queue of ${this.queueMaxSizes[0]}`,
      );
    }
    if (counts.some((c) => c > BigInt(Number.MAX_SAFE_INTEGER))) r.invalid('a request count is more than can be counted');
    COUNT_NAMES.forEach((k, i) => { this.counts[k] = Number(counts[i]); });
  }

  process(queue: Virtqueue): void {
    for (;;) {
      const chain = queue.pop();
      if (chain === undefined) return;
      this.handle(chain);
      queue.push(chain, chain.writableBytes);
    }
  }

  private malformed(chain: DescChain, what: string): never {
    throw new VirtioError(`virtio-blk request at descriptor ${chain.head}: ${what}`);
  }

  /** Data in device-readable buffers where the device has to write. */
  private noReadableData(chain: DescChain, type: string): void {
    if (chain.readableBytes > REQ_HEADER_BYTES) {
      const l = chain.locate(REQ_HEADER_BYTES, false)!;
      this.malformed(
        chain,
        `${type} data buffer (${l.seg.where}, at ${hex(l.seg.addr + BigInt(l.at))}) is device-readable: the device would have to write into it`,
      );
    }
  }

  private handle(chain: DescChain): void {
    if (chain.readableBytes < REQ_HEADER_BYTES) this.malformed(chain, `header is ${chain.readableBytes} device-readable bytes, needs ${REQ_HEADER_BYTES}`);
    if (chain.writableBytes < 1) this.malformed(chain, 'no device-writable status byte');
    const h = chain.read(0, REQ_HEADER_BYTES);
    const hv = new DataView(h.buffer);
    const type = hv.getUint32(REQ_TYPE, true);
    const sector = hv.getBigUint64(REQ_SECTOR, true);
    const statusAt = chain.writableBytes - 1;
    let filled = 0; // device-writable bytes written before the status
    let status = VIRTIO_BLK_S_OK;

    switch (type) {
      case VIRTIO_BLK_T_IN: {
        this.noReadableData(chain, 'IN');
        this.counts.in++;
        const len = statusAt;
        const pos = this.range(sector, len);
        if (pos === undefined) { status = VIRTIO_BLK_S_IOERR; break; }
        const buf = new Uint8Array(len);
        try {
          this.backend.read(pos, buf);
        } catch {
          status = VIRTIO_BLK_S_IOERR;
          break;
        }
        chain.write(0, buf);
        filled = len;
        break;
      }
      case VIRTIO_BLK_T_OUT: {
        this.counts.out++;
        const len = chain.readableBytes - REQ_HEADER_BYTES;
        const pos = this.range(sector, len);
        if (pos === undefined || this.readOnly) { status = VIRTIO_BLK_S_IOERR; break; }
        try {
          this.backend.write(pos, chain.read(REQ_HEADER_BYTES, len));
        } catch {
          status = VIRTIO_BLK_S_IOERR;
        }
        break;
      }
      case VIRTIO_BLK_T_FLUSH:
        this.counts.flush++;
        try {
          this.backend.flush();
        } catch {
          status = VIRTIO_BLK_S_IOERR;
        }
        break;
      case VIRTIO_BLK_T_GET_ID: {
        this.noReadableData(chain, 'GET_ID');
        this.counts.getId++;
        const n = Math.min(ID_BYTES, statusAt);
        chain.write(0, this.id.subarray(0, n));
        filled = n;
        break;
      }
      default:
        this.counts.unsupported++;
        status = VIRTIO_BLK_S_UNSUPP;
    }
    if (status === VIRTIO_BLK_S_IOERR) this.counts.ioErrors++;
    if (filled < statusAt) chain.fill(filled, statusAt - filled, (n) => new Uint8Array(n));
    chain.write(statusAt, Uint8Array.of(status));
  }

  /** The byte position of [sector, +len), or undefined if it is not a whole
   *  number of sectors inside the image. */
  private range(sector: bigint, len: number): number | undefined {
    if (len % SECTOR !== 0) return undefined;
    const start = sector * BigInt(SECTOR);
    if (start + BigInt(len) > BigInt(this.backend.byteLength)) return undefined;
    return Number(start);
  }
}
