/**
 * Split virtqueues (Virtual I/O Device (VIRTIO) 1.1/1.2, "Split Virtqueues"),
 * device side, distrusting the driver.
 *
 *   descriptor table (16-byte aligned): Queue Size entries of
 *       addr u64, len u32, flags u16 (NEXT 1, WRITE 2, INDIRECT 4), next u16
 *   available ring ("driver area", 2-byte aligned):
 *       flags u16 (NO_INTERRUPT 1), idx u16, ring[Queue Size] u16, used_event u16
 *   used ring ("device area", 4-byte aligned):
 *       flags u16 (NO_NOTIFY 1), idx u16, ring[Queue Size] {id u32, len u32}, avail_event u16
 *
 * Every address and length the driver supplies is checked against guest RAM
 * before use (including the 64-bit overflow of addr+len); a chain may hold at
 * most Queue Size descriptors (counting those of an indirect table), may not
 * revisit a descriptor, may not name a descriptor outside its table, may not
 * put a device-readable descriptor after a device-writable one, and may not
 * exceed `maxChainBytes` in total. An indirect descriptor (only with
 * VIRTIO_F_INDIRECT_DESC negotiated; it may end a chain of direct ones) must
 * not also have NEXT set, must hold a whole number of descriptors
 * and may not lead to another indirect one.
 *
 * Any violation throws a VirtioError whose message says what, which
 * descriptor and which address; the transport then halts the queue and
 * marks the device DEVICE_NEEDS_RESET. Nothing is written to guest memory
 * outside the used ring and the device-writable buffers of a valid chain.
 */

import { hex, writeGuest, type GuestMemory } from './bus.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

/** The tag and version of a queue's saved record (docs/CHECKPOINTS.md). */
export const VIRTQUEUE_RECORD = 'virtqueue';
export const VIRTQUEUE_RECORD_VERSION = 1;

/** A queue's state as its record holds it, checked (see Virtqueue.check). */
export interface VirtqueueState {
  size: number;
  ready: boolean;
  descAddr: bigint;
  driverAddr: bigint;
  deviceAddr: bigint;
  indirect: boolean;
  halted: boolean;
  lastAvail: number;
  usedIdx: number;
  pushed: number;
}

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

/** Malformed driver input: the device cannot go on with this queue. */
export class VirtioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VirtioError';
  }
}

/** One descriptor's buffer, checked to lie in RAM. */
export interface Segment {
  readonly addr: bigint;
  readonly len: number;
  /** Where the descriptor came from, for messages: "descriptor 3" or
   *  "descriptor 1 of the indirect table of descriptor 3". */
  readonly where: string;
}

// The split virtqueue's layout in guest memory (virtio 1.2, 2.7).
/** struct virtq_desc (2.7.5): addr le64, len le32, flags le16, next le16. */
const DESC_ADDR = 0, DESC_LEN = 8, DESC_FLAGS = 12, DESC_NEXT = 14;
const DESC_BYTES = 16;
/** struct virtq_avail (2.7.6): flags le16, idx le16, ring[size] le16 (then used_event). */
const AVAIL_FLAGS = 0, AVAIL_IDX = 2, AVAIL_RING = 4;
const AVAIL_ENTRY_BYTES = 2;
/** struct virtq_used (2.7.8): flags le16, idx le16, ring[size] of
 *  { id le32, len le32 } (then avail_event). */
const USED_IDX = 2, USED_RING = 4;
const USED_ELEM_ID = 0, USED_ELEM_LEN = 4;
const USED_ELEM_BYTES = 8;
/** The rings' flags and idx fields, and the event word after the ring. */
const RING_HEADER_BYTES = 4, RING_EVENT_BYTES = 2;

function le16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/**
 * A descriptor chain popped from the available ring: its device-readable
 * segments, then its device-writable ones. `read` gathers readable bytes,
 * `write` scatters into the writable ones; `written` is the extent written,
 * which `Virtqueue.push` reports as the used length by default.
 */
export class DescChain {
  written = 0;
  readonly readableBytes: number;
  readonly writableBytes: number;

  constructor(
    private readonly mem: GuestMemory,
    readonly queue: number,
    readonly head: number,
    readonly readable: readonly Segment[],
    readonly writable: readonly Segment[],
  ) {
    this.readableBytes = readable.reduce((n, s) => n + s.len, 0);
    this.writableBytes = writable.reduce((n, s) => n + s.len, 0);
  }

  /** The segment holding byte `offset` of the readable (or writable) part. */
  locate(offset: number, writable: boolean): { seg: Segment; at: number } | undefined {
    let pos = 0;
    for (const seg of writable ? this.writable : this.readable) {
      if (offset < pos + seg.len) return { seg, at: offset - pos };
      pos += seg.len;
    }
    return undefined;
  }

  /** Copies `length` device-readable bytes from `offset` out of guest RAM. */
  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.readableBytes) {
      throw new VirtioError(
        `chain at descriptor ${this.head}: read of ${length} bytes at offset ${offset} beyond its ${this.readableBytes} device-readable bytes`,
      );
    }
    const out = new Uint8Array(length);
    let pos = 0, done = 0;
    for (const seg of this.readable) {
      if (done === length) break;
      const end = pos + seg.len;
      if (offset + done < end) {
        const from = offset + done - pos;
        const n = Math.min(seg.len - from, length - done);
        out.set(this.mem.guestBytes(seg.addr + BigInt(from), n), done);
        done += n;
      }
      pos = end;
    }
    return out;
  }

  /** Copies `data` into the device-writable bytes from `offset`. */
  write(offset: number, data: Uint8Array): void {
    if (offset < 0 || offset + data.length > this.writableBytes) {
      throw new VirtioError(
        `chain at descriptor ${this.head}: write of ${data.length} bytes at offset ${offset} beyond its ${this.writableBytes} device-writable bytes`,
      );
    }
    let pos = 0, done = 0;
    for (const seg of this.writable) {
      if (done === data.length) break;
      const end = pos + seg.len;
      if (offset + done < end) {
        const from = offset + done - pos;
        const n = Math.min(seg.len - from, data.length - done);
        writeGuest(this.mem, seg.addr + BigInt(from), data.subarray(done, done + n));
        done += n;
      }
      pos = end;
    }
    this.written = Math.max(this.written, offset + data.length);
  }

  /** Fills the device-writable bytes [offset, offset+length) by chunks from
   *  `produce(n)` (which returns exactly n bytes), segment by segment. */
  fill(offset: number, length: number, produce: (n: number) => Uint8Array): void {
    let at = offset;
    const end = offset + length;
    while (at < end) {
      const n = Math.min(end - at, 65536);
      this.write(at, produce(n));
      at += n;
    }
  }
}

export interface VirtqueueOptions {
  /** Upper bound of a chain's total length. */
  maxChainBytes?: number;
}

export const DEFAULT_MAX_CHAIN_BYTES = 16 << 20;

/** One queue's state, as the transport's registers set it up. */
export class Virtqueue {
  readonly maxSize: number;
  size = 0;
  ready = false;
  descAddr = 0n;
  driverAddr = 0n;
  deviceAddr = 0n;
  /** Set by the transport from the negotiated features. */
  indirect = false;
  /** Once a malformed chain was seen: nothing more is taken from the queue. */
  halted = false;
  /** The next available-ring slot to consume (free-running u16). */
  lastAvail = 0;
  /** Our used index (free-running u16). */
  usedIdx = 0;
  /** Used entries pushed since the transport last looked. */
  pushed = 0;
  maxChainBytes: number;
  private stamp: Uint32Array = new Uint32Array(0);
  private generation = 0;

  constructor(
    private readonly mem: GuestMemory,
    readonly index: number,
    maxSize: number,
    opts: VirtqueueOptions = {},
  ) {
    if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > 32768 || (maxSize & (maxSize - 1)) !== 0) {
      throw new Error(`Virtqueue ${index}: maximum size ${maxSize} is not a power of 2 in 1..32768`);
    }
    this.maxSize = maxSize;
    this.maxChainBytes = opts.maxChainBytes ?? DEFAULT_MAX_CHAIN_BYTES;
  }

  reset(): void {
    this.size = 0;
    this.ready = false;
    this.descAddr = this.driverAddr = this.deviceAddr = 0n;
    this.indirect = false;
    this.halted = false;
    this.lastAvail = 0;
    this.usedIdx = 0;
    this.pushed = 0;
  }

  private checkArea(what: string, addr: bigint, len: number, align: number): void {
    if (addr % BigInt(align) !== 0n) throw new VirtioError(`${what} at ${hex(addr)} is not ${align}-byte aligned`);
    if (addr + BigInt(len) > 1n << 64n) throw new VirtioError(`${what} at ${hex(addr)}, ${len} bytes, wraps around the address space`);
    if (!this.mem.inRam(addr, len)) throw new VirtioError(`${what} at ${hex(addr)}, ${len} bytes, is outside guest RAM`);
  }

  /** Validates the queue's configuration (called when the driver sets
   *  QueueReady); throws a VirtioError if it is unusable. */
  validate(): void {
    this.checkConfig(this.size, this.descAddr, this.driverAddr, this.deviceAddr);
    if (this.stamp.length < this.size) this.stamp = new Uint32Array(this.size);
  }

  private checkConfig(n: number, descAddr: bigint, driverAddr: bigint, deviceAddr: bigint): void {
    if (n === 0 || n > this.maxSize || (n & (n - 1)) !== 0) {
      throw new VirtioError(`queue size ${n} is not a power of 2 in 1..${this.maxSize}`);
    }
    // Alignments from 2.7: 16 for the table, 2 for the available ring, 4 for the used ring.
    this.checkArea('descriptor table', descAddr, DESC_BYTES * n, 16);
    this.checkArea('available ring', driverAddr, RING_HEADER_BYTES + AVAIL_ENTRY_BYTES * n + RING_EVENT_BYTES, 2);
    this.checkArea('used ring', deviceAddr, RING_HEADER_BYTES + USED_ELEM_BYTES * n + RING_EVENT_BYTES, 4);
  }

  /** The queue's state as a record: its registers and the device's place
   *  in the rings (last_avail_idx, the used idx), so that a queue saved
   *  mid-flight goes on where it was. */
  save(): Uint8Array {
    return new RecordWriter(VIRTQUEUE_RECORD, VIRTQUEUE_RECORD_VERSION)
      .u32(this.maxSize).u32(this.size).bool(this.ready)
      .u64(this.descAddr).u64(this.driverAddr).u64(this.deviceAddr)
      .bool(this.indirect).bool(this.halted).u16(this.lastAvail).u16(this.usedIdx).u32(this.pushed)
      .finish();
  }

  /** Reads and checks a record `save` wrote, without changing the queue:
   *  the same maximum size, and for a ready queue a configuration that
   *  QueueReady would have accepted (its rings in this guest's RAM).
   *  Throws CheckpointError otherwise. */
  check(record: Uint8Array): VirtqueueState {
    const r = new RecordReader(record, VIRTQUEUE_RECORD, [VIRTQUEUE_RECORD_VERSION]);
    const maxSize = r.u32('the maximum size');
    if (maxSize !== this.maxSize) r.invalid(`the record is of a queue of at most ${maxSize}, queue ${this.index} takes at most ${this.maxSize}`);
    const st: VirtqueueState = {
      size: r.u32('QueueNum'), ready: r.bool('QueueReady'),
      descAddr: r.u64('the descriptor area'), driverAddr: r.u64('the driver area'), deviceAddr: r.u64('the device area'),
      indirect: r.bool('indirect descriptors'), halted: r.bool('halted'),
      lastAvail: r.u16('last_avail_idx'), usedIdx: r.u16('the used idx'), pushed: r.u32('the used entries not signalled'),
    };
    r.end();
    if (st.ready) {
      try {
        this.checkConfig(st.size, st.descAddr, st.driverAddr, st.deviceAddr);
      } catch (e) {
        r.invalid(`queue ${this.index} is ready with a configuration QueueReady refuses: ${(e as Error).message}`);
      }
    }
    return st;
  }

  /** Takes a state `check` returned. */
  apply(st: VirtqueueState): void {
    this.size = st.size;
    this.ready = st.ready;
    this.descAddr = st.descAddr;
    this.driverAddr = st.driverAddr;
    this.deviceAddr = st.deviceAddr;
    this.indirect = st.indirect;
    this.halted = st.halted;
    this.lastAvail = st.lastAvail;
    this.usedIdx = st.usedIdx;
    this.pushed = st.pushed;
    if (st.ready && this.stamp.length < st.size) this.stamp = new Uint32Array(st.size);
  }

  /** Takes the state of a record `save` wrote; throws CheckpointError (and
   *  changes nothing) if it is not one this queue can take. */
  restore(record: Uint8Array): void {
    this.apply(this.check(record));
  }

  private bytes(addr: bigint, len: number, what: string): Uint8Array {
    if (!this.mem.inRam(addr, len)) throw new VirtioError(`${what} at ${hex(addr)} is outside guest RAM`);
    return this.mem.guestBytes(addr, len);
  }

  /** The driver's avail.flags. */
  availFlags(): number {
    return le16(this.bytes(this.driverAddr + BigInt(AVAIL_FLAGS), 2, 'available ring'), 0);
  }

  /** Number of chains the driver has made available and we have not taken. */
  availPending(): number {
    const idx = le16(this.bytes(this.driverAddr + BigInt(AVAIL_IDX), 2, 'available ring idx'), 0);
    const n = (idx - this.lastAvail) & 0xffff;
    if (n > this.size) {
      throw new VirtioError(
        `available ring idx jumped from ${this.lastAvail} to ${idx}: ${n} new entries in a queue of ${this.size}`,
      );
    }
    return n;
  }

  /** Takes the next available chain, or returns undefined if there is none. */
  pop(): DescChain | undefined {
    if (this.halted || !this.ready) return undefined;
    if (this.availPending() === 0) return undefined;
    const slot = this.lastAvail % this.size;
    const head = le16(this.bytes(this.driverAddr + BigInt(AVAIL_RING + AVAIL_ENTRY_BYTES * slot), AVAIL_ENTRY_BYTES, 'available ring entry'), 0);
    if (head >= this.size) {
      throw new VirtioError(`available ring slot ${slot} names descriptor ${head}, beyond the queue size ${this.size}`);
    }
    const chain = this.walk(head);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    return chain;
  }

  private walk(head: number): DescChain {
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    const stamp = this.stamp;
    if (++this.generation === 0xffff_ffff) { stamp.fill(0); this.generation = 1; }
    const gen = this.generation;
    let tableAddr = this.descAddr;
    let tableSize = this.size;
    let indirectOf = -1; // the direct descriptor whose indirect table we are in
    let indirectSeen: Set<number> | undefined;
    let i = head;
    let count = 0;
    let total = 0;
    const where = (j: number): string =>
      indirectOf < 0 ? `descriptor ${j}` : `descriptor ${j} of the indirect table of descriptor ${indirectOf}`;

    for (;;) {
      if (indirectOf < 0) {
        if (stamp[i] === gen) throw new VirtioError(`descriptor loop: chain from descriptor ${head} comes back to descriptor ${i}`);
        stamp[i] = gen;
      } else {
        const seen = indirectSeen as Set<number>;
        if (seen.has(i)) throw new VirtioError(`descriptor loop: chain from descriptor ${head} comes back to ${where(i)}`);
        seen.add(i);
      }
      const dAddr = tableAddr + BigInt(DESC_BYTES * i);
      const d = this.bytes(dAddr, DESC_BYTES, where(i));
      const addr = BigInt(le32(d, DESC_ADDR)) | (BigInt(le32(d, DESC_ADDR + 4)) << 32n);
      const len = le32(d, DESC_LEN);
      const flags = le16(d, DESC_FLAGS);
      const next = le16(d, DESC_NEXT);

      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (indirectOf >= 0) throw new VirtioError(`${where(i)} is itself indirect (nested indirect tables are not allowed)`);
        if (!this.indirect) throw new VirtioError(`${where(i)} is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated`);
        if (flags & VIRTQ_DESC_F_NEXT) throw new VirtioError(`${where(i)} has both INDIRECT and NEXT set`);
        if (len === 0 || len % DESC_BYTES !== 0) throw new VirtioError(`${where(i)}: indirect table length ${len} is not a non-zero multiple of ${DESC_BYTES}`);
        if (addr + BigInt(len) > 1n << 64n) throw new VirtioError(`${where(i)}: indirect table at ${hex(addr)} + ${len} bytes wraps around the address space`);
        if (!this.mem.inRam(addr, len)) throw new VirtioError(`${where(i)}: indirect table at ${hex(addr)}, ${len} bytes, is outside guest RAM`);
        indirectOf = i;
        tableAddr = addr;
        tableSize = len / DESC_BYTES;
        indirectSeen = new Set<number>();
        i = 0;
        continue;
      }

      if (++count > this.size) throw new VirtioError(`chain from descriptor ${head} is longer than the queue size ${this.size}`);
      if (addr + BigInt(len) > 1n << 64n) {
        throw new VirtioError(`${where(i)}: buffer at ${hex(addr)} + ${len} bytes wraps around the address space`);
      }
      if (!this.mem.inRam(addr, len)) {
        throw new VirtioError(`${where(i)}: buffer at ${hex(addr)}, ${len} bytes, is outside guest RAM`);
      }
      total += len;
      if (total > this.maxChainBytes) {
        throw new VirtioError(`chain from descriptor ${head} is ${total}+ bytes long at ${where(i)}, over the limit of ${this.maxChainBytes}`);
      }
      const seg: Segment = { addr, len, where: where(i) };
      if (flags & VIRTQ_DESC_F_WRITE) writable.push(seg);
      else if (writable.length > 0) throw new VirtioError(`${where(i)} (at ${hex(addr)}) is device-readable but follows a device-writable one`);
      else readable.push(seg);

      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      if (next >= tableSize) {
        throw new VirtioError(
          `${where(i)} has next ${next}, beyond the ${indirectOf < 0 ? 'queue size' : 'indirect table size'} ${tableSize}`,
        );
      }
      i = next;
    }
    return new DescChain(this.mem, this.index, head, readable, writable);
  }

  /** Returns a chain to the driver through the used ring, with `len` bytes
   *  written (default: the chain's extent written). */
  push(chain: DescChain, len: number = chain.written): void {
    const slot = this.usedIdx % this.size;
    const e = new Uint8Array(USED_ELEM_BYTES);
    const v = new DataView(e.buffer);
    v.setUint32(USED_ELEM_ID, chain.head, true);
    v.setUint32(USED_ELEM_LEN, len >>> 0, true);
    const entry = this.deviceAddr + BigInt(USED_RING + USED_ELEM_BYTES * slot);
    if (!this.mem.inRam(entry, USED_ELEM_BYTES)) throw new VirtioError(`used ring entry at ${hex(entry)} is outside guest RAM`);
    writeGuest(this.mem, entry, e);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    const idx = new Uint8Array([this.usedIdx & 0xff, this.usedIdx >> 8]);
    const idxAt = this.deviceAddr + BigInt(USED_IDX);
    if (!this.mem.inRam(idxAt, 2)) throw new VirtioError(`used ring idx at ${hex(idxAt)} is outside guest RAM`);
    writeGuest(this.mem, idxAt, idx);
    this.pushed++;
  }
}
