/**
 * A virtio memory balloon (Virtual I/O Device (VIRTIO) 1.2, 5.5 "Traditional
 * Memory Balloon Device", device id 5): how the host asks a guest for RAM
 * back and gives it again, the mechanism under dynamic memory.
 *
 * The host sets `num_pages` in the configuration space (the pages it wants
 * the guest to give up) and signals a configuration change; the driver
 * allocates that many pages and hands their page frame numbers (le32, 4 KiB
 * frames: VIRTIO_BALLOON_PFN_SHIFT 12) to the device through the inflate
 * queue, then writes how many it holds to `actual`. Lowering `num_pages`
 * makes it hand frames back through the deflate queue and use them again.
 *
 * What ring -1 does with a page given: it zeroes it (unless it is zero
 * already: reading a page the host never committed costs nothing, writing
 * it would commit it), so that the page holds nothing a checkpoint must
 * keep and a machine rebuilt from its checkpoint (SystemVM.compact) never
 * commits it. The set of given pages is part of the device's record.
 *
 * Queues: 0 inflateq, 1 deflateq, and with VIRTIO_BALLOON_F_STATS_VQ 2
 * statsq (5.5.2). Inflate and deflate buffers are device-readable arrays of
 * le32 frame numbers; every frame must be a page of guest RAM, and a
 * buffer is checked whole before any of it is acted on. A device-writable
 * buffer, a length that is not a whole number of frames or a frame outside
 * RAM is malformed input: VirtioError, and the transport marks the device
 * DEVICE_NEEDS_RESET (virtio-mmio.ts). Giving a page already given, or
 * taking back one not given, changes nothing (QEMU ignores both too).
 *
 * The statistics queue runs the other way (5.5.6.3): the driver adds one
 * device-readable buffer of struct virtio_balloon_stat { le16 tag; le64
 * val } (packed, 10 bytes each), which the device keeps; when the host
 * wants fresh figures the device returns that buffer (requestStats), and
 * the driver answers with a new one. Tags the device does not know are
 * skipped (the specification lets drivers add tags).
 *
 * VIRTIO_BALLOON_F_DEFLATE_ON_OOM (offered unless disabled) lets Linux take
 * pages back from the balloon rather than kill a task when it runs out of
 * memory: a guest that was asked for too much stays alive, and `actual`
 * says what it kept. VIRTIO_BALLOON_F_MUST_TELL_HOST is not offered: a page
 * given back is usable at once (Linux tells the host anyway).
 */

import { hex, writeGuest, type AccessSize, type GuestMemory } from './bus.js';
import { configBytesRead, VirtioError, STATUS_DRIVER_OK, type VirtioDevice } from './virtio-mmio.js';
import { DescChain, type Segment, type Virtqueue } from './virtqueue.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

/** The tag and version of the balloon's saved record (docs/CHECKPOINTS.md). */
export const VIRTIO_BALLOON_RECORD = 'virtio-balloon';
export const VIRTIO_BALLOON_RECORD_VERSION = 1;

export const VIRTIO_ID_BALLOON = 5;
export const VIRTIO_BALLOON_F_MUST_TELL_HOST = 1n << 0n;
export const VIRTIO_BALLOON_F_STATS_VQ = 1n << 1n;
export const VIRTIO_BALLOON_F_DEFLATE_ON_OOM = 1n << 2n;

/** The frames the queues carry are 4 KiB, whatever the guest's page size. */
export const VIRTIO_BALLOON_PFN_SHIFT = 12;
export const BALLOON_PAGE_BYTES = 1 << VIRTIO_BALLOON_PFN_SHIFT;

/** The queues, by index (5.5.2). */
export enum BalloonQueue {
  Inflate = 0,
  Deflate = 1,
  Stats = 2,
}

/** Fields of struct virtio_balloon_config (5.5.4), le32 each, in bytes. */
export enum VirtioBalloonConfig {
  /** The pages the host wants the guest to give up (the driver reads it). */
  NumPages = 0,
  /** The pages the driver holds in the balloon (the driver writes it). */
  Actual = 4,
  /** free_page_hint_cmd_id, poison_val: their features are not offered, so
   *  they read 0. */
  FreePageHintCmdId = 8,
  PoisonVal = 12,
  /** The size of the configuration space. */
  Size = 16,
}

/** The statistics tags (5.5.6.3), named as the specification names them
 *  (VIRTIO_BALLOON_S_SWAP_IN is 'SWAP_IN'); the index is the tag. Memory
 *  amounts are in bytes, MAJFLT and MINFLT are counts. */
export const BALLOON_STAT_NAMES = [
  'SWAP_IN', 'SWAP_OUT', 'MAJFLT', 'MINFLT', 'MEMFREE', 'MEMTOT', 'AVAIL', 'CACHES', 'HTLB_PGALLOC', 'HTLB_PGFAIL',
] as const;
export type BalloonStatName = (typeof BALLOON_STAT_NAMES)[number];
/** sizeof(struct virtio_balloon_stat): le16 tag, le64 val, packed. */
const STAT_BYTES = 10;
const STAT_TAG = 0, STAT_VAL = 2;
const PFN_BYTES = 4;

export interface VirtioBalloonOptions {
  /** Guest RAM: frames are checked against [ramBase, ramBase + ramSize),
   *  and pages given are zeroed through `mem`. */
  mem: GuestMemory;
  ramBase: bigint;
  ramSize: bigint;
  /** Offer VIRTIO_BALLOON_F_STATS_VQ (default true). */
  stats?: boolean;
  /** Offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM (default true). */
  deflateOnOom?: boolean;
  /** Queue size (power of 2, default 128). */
  queueSize?: number;
}

/** The statistics buffer the device holds until the host wants figures. */
interface HeldStats {
  head: number;
  segments: Segment[];
}

export class VirtioBalloon implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_BALLOON;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  /** Linux sends 256 frames (1 KiB) at a time; 64 KiB is room to spare,
   *  and bounds what one buffer can make the device read. */
  readonly maxChainBytes = 64 * 1024;
  readonly ramPages: number;
  private readonly mem: GuestMemory;
  private readonly ramBase: bigint;
  /** One bit per page of RAM: given to the host. */
  private given: Uint8Array;
  private givenCount = 0;
  private targetPages = 0;
  private actualPages = 0;
  private held: HeldStats | undefined;
  /** The host asked for figures and the buffer has not gone back yet. */
  private statsRequested = false;
  private lastStats: Map<number, bigint> | undefined;
  /** What the device has done, for metering and tests. */
  readonly counts = { inflated: 0, deflated: 0, zeroed: 0, ignored: 0, statsUpdates: 0 };

  constructor(opts: VirtioBalloonOptions) {
    if (opts.ramSize <= 0n || opts.ramSize % BigInt(BALLOON_PAGE_BYTES) !== 0n || opts.ramBase % BigInt(BALLOON_PAGE_BYTES) !== 0n) {
      throw new RangeError(`virtio-balloon: RAM at ${hex(opts.ramBase)}, ${opts.ramSize} bytes, is not whole 4 KiB pages`);
    }
    this.mem = opts.mem;
    this.ramBase = opts.ramBase;
    this.ramPages = Number(opts.ramSize / BigInt(BALLOON_PAGE_BYTES));
    this.given = new Uint8Array(Math.ceil(this.ramPages / 8));
    const stats = opts.stats ?? true;
    this.features = (stats ? VIRTIO_BALLOON_F_STATS_VQ : 0n) | (opts.deflateOnOom ?? true ? VIRTIO_BALLOON_F_DEFLATE_ON_OOM : 0n);
    const n = opts.queueSize ?? 128;
    this.queueMaxSizes = stats ? [n, n, n] : [n, n];
  }

  // ---- what the host sees and sets ----

  /** num_pages: the pages the host wants back. */
  get target(): number { return this.targetPages; }
  /** actual: the pages the driver says it holds in the balloon. */
  get actual(): number { return this.actualPages; }
  /** The pages given through the inflate queue and not taken back. */
  get givenPages(): number { return this.givenCount; }
  /** Whether page `index` of RAM (from its start) is given. */
  isGiven(index: number): boolean {
    return index >= 0 && index < this.ramPages && (this.given[index >> 3] & (1 << (index & 7))) !== 0;
  }
  /** The indices of the given pages, in order. */
  *givenIndices(): Generator<number> {
    for (let i = 0; i < this.ramPages; i++) if (this.given[i >> 3] & (1 << (i & 7))) yield i;
  }

  /** Sets num_pages; returns whether it changed (the transport must then
   *  signal a configuration change). */
  setTarget(pages: number): boolean {
    if (!Number.isInteger(pages) || pages < 0 || pages > this.ramPages) {
      throw new RangeError(`virtio-balloon: a target of ${pages} pages is not 0..${this.ramPages} (the RAM's pages)`);
    }
    if (pages === this.targetPages) return false;
    this.targetPages = pages;
    return true;
  }

  /** The last figures the driver sent, by the specification's names;
   *  undefined before the first. */
  stats(): Partial<Record<BalloonStatName, bigint>> | undefined {
    if (this.lastStats === undefined) return undefined;
    const out: Partial<Record<BalloonStatName, bigint>> = {};
    for (const [tag, v] of this.lastStats) out[BALLOON_STAT_NAMES[tag]] = v;
    return out;
  }

  /** Asks for fresh figures: the held buffer goes back to the driver the
   *  next time the statistics queue is processed (the caller kicks it).
   *  Returns false when no buffer is held (no driver, or a request already
   *  under way). */
  requestStats(): boolean {
    if (this.held === undefined || this.statsRequested) return false;
    this.statsRequested = true;
    return true;
  }

  // ---- the driver's side ----

  configRead(offset: number, size: AccessSize): bigint {
    const config = new Uint8Array(VirtioBalloonConfig.Size);
    const v = new DataView(config.buffer);
    v.setUint32(VirtioBalloonConfig.NumPages, this.targetPages, true);
    v.setUint32(VirtioBalloonConfig.Actual, this.actualPages, true);
    return configBytesRead(config, offset, size);
  }

  /** Only `actual` is the driver's to write (any of its bytes, any width);
   *  writes elsewhere are ignored. */
  configWrite(offset: number, size: AccessSize, value: bigint): void {
    let actual = this.actualPages;
    for (let i = 0; i < size; i++) {
      const at = offset + i - VirtioBalloonConfig.Actual;
      if (at < 0 || at >= 4) continue;
      const byte = Number((value >> BigInt(8 * i)) & 0xffn);
      actual = (actual & ~(0xff << (8 * at))) | (byte << (8 * at));
    }
    this.actualPages = actual >>> 0;
  }

  process(queue: Virtqueue): void {
    switch (queue.index) {
      case BalloonQueue.Inflate: case BalloonQueue.Deflate: this.pages(queue); return;
      case BalloonQueue.Stats: this.statsQueue(queue); return;
    }
  }

  reset(): void {
    // The driver is gone: the guest owns all its RAM again (what it gave
    // is zero, and stays so until it writes). The host's target stays.
    this.given.fill(0);
    this.givenCount = 0;
    this.actualPages = 0;
    this.held = undefined;
    this.statsRequested = false;
    this.lastStats = undefined;
  }

  // Inflate or deflate: each buffer's frames are checked, then acted on.
  private pages(queue: Virtqueue): void {
    const inflate = queue.index === BalloonQueue.Inflate;
    const what = inflate ? 'inflate' : 'deflate';
    for (;;) {
      const chain = queue.pop();
      if (chain === undefined) return;
      if (chain.writable.length > 0) {
        const s = chain.writable[0];
        throw new VirtioError(`virtio-balloon ${what} request at descriptor ${chain.head}: ${s.where} (at ${hex(s.addr)}) is device-writable; frame numbers are device-readable`);
      }
      if (chain.readableBytes % PFN_BYTES !== 0) {
        throw new VirtioError(`virtio-balloon ${what} request at descriptor ${chain.head}: ${chain.readableBytes} bytes is not a whole number of 4-byte frame numbers`);
      }
      const data = chain.read(0, chain.readableBytes);
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const count = data.length / PFN_BYTES;
      const indices = new Uint32Array(count);
      for (let k = 0; k < count; k++) {
        const pfn = view.getUint32(k * PFN_BYTES, true);
        const addr = BigInt(pfn) << BigInt(VIRTIO_BALLOON_PFN_SHIFT);
        const index = addr >= this.ramBase ? Number((addr - this.ramBase) >> BigInt(VIRTIO_BALLOON_PFN_SHIFT)) : -1;
        if (index < 0 || index >= this.ramPages) {
          throw new VirtioError(`virtio-balloon ${what} request at descriptor ${chain.head}: frame ${k} is ${hex(BigInt(pfn))} (page ${hex(addr)}), outside guest RAM (${hex(this.ramBase)}, ${this.ramPages} pages)`);
        }
        indices[k] = index;
      }
      for (const index of indices) {
        if (inflate) this.give(index);
        else this.takeBack(index);
      }
      queue.push(chain, 0);
    }
  }

  private give(index: number): void {
    const bit = 1 << (index & 7);
    if (this.given[index >> 3] & bit) { this.counts.ignored++; return; }
    this.given[index >> 3] |= bit;
    this.givenCount++;
    this.counts.inflated++;
    const addr = this.ramBase + BigInt(index) * BigInt(BALLOON_PAGE_BYTES);
    const page = this.mem.guestBytes(addr, BALLOON_PAGE_BYTES);
    if (!isZeroPage(page)) {
      writeGuest(this.mem, addr, ZERO_PAGE);
      this.counts.zeroed++;
    }
  }

  private takeBack(index: number): void {
    const bit = 1 << (index & 7);
    if (!(this.given[index >> 3] & bit)) { this.counts.ignored++; return; }
    this.given[index >> 3] &= ~bit;
    this.givenCount--;
    this.counts.deflated++;
  }

  // The statistics queue: a buffer that arrives is read and kept; a held
  // one goes back when the host has asked for figures.
  private statsQueue(queue: Virtqueue): void {
    for (;;) {
      const chain = queue.pop();
      if (chain === undefined) break;
      if (chain.writable.length > 0) {
        const s = chain.writable[0];
        throw new VirtioError(`virtio-balloon statistics buffer at descriptor ${chain.head}: ${s.where} (at ${hex(s.addr)}) is device-writable; statistics are device-readable`);
      }
      if (chain.readableBytes % STAT_BYTES !== 0) {
        throw new VirtioError(`virtio-balloon statistics buffer at descriptor ${chain.head}: ${chain.readableBytes} bytes is not a whole number of ${STAT_BYTES}-byte statistics`);
      }
      this.lastStats = parseStats(chain.read(0, chain.readableBytes));
      this.counts.statsUpdates++;
      // A driver keeps one buffer with the device; should it add another,
      // the older goes back unasked.
      if (this.held !== undefined) queue.push(new DescChain(this.mem, queue.index, this.held.head, this.held.segments, []), 0);
      this.held = { head: chain.head, segments: [...chain.readable] };
    }
    if (this.statsRequested && this.held !== undefined) {
      queue.push(new DescChain(this.mem, queue.index, this.held.head, this.held.segments, []), 0);
      this.held = undefined;
      this.statsRequested = false;
    }
  }

  // ---- checkpoints ----

  /** The balloon as a record: the RAM it is for, num_pages, actual, the
   *  given pages (a bitmap of RAM's pages), the held statistics buffer, the
   *  last figures and the counts. */
  save(): Uint8Array {
    const w = new RecordWriter(VIRTIO_BALLOON_RECORD, VIRTIO_BALLOON_RECORD_VERSION)
      .u32(this.ramPages).u32(this.targetPages).u32(this.actualPages).bytes(this.given)
      .bool(this.statsRequested).bool(this.held !== undefined);
    if (this.held !== undefined) {
      w.u16(this.held.head).u32(this.held.segments.length);
      for (const s of this.held.segments) w.u64(s.addr).u32(s.len);
    }
    w.bool(this.lastStats !== undefined);
    if (this.lastStats !== undefined) {
      w.u32(this.lastStats.size);
      for (const [tag, v] of this.lastStats) w.u16(tag).u64(v);
    }
    const c = this.counts;
    for (const n of [c.inflated, c.deflated, c.zeroed, c.ignored, c.statsUpdates]) w.u64(BigInt(n));
    return w.finish();
  }

  /** Takes a record `save` wrote for a balloon over the same RAM; throws
   *  CheckpointError and changes nothing if it cannot. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, VIRTIO_BALLOON_RECORD, [VIRTIO_BALLOON_RECORD_VERSION]);
    const ramPages = r.u32('the RAM pages'), target = r.u32('num_pages'), actual = r.u32('actual');
    const given = r.bytes('the given pages');
    const requested = r.bool('statistics requested');
    let held: HeldStats | undefined;
    const maxQueue = this.queueMaxSizes[BalloonQueue.Stats] ?? 0;
    if (r.bool('a statistics buffer held')) {
      const head = r.u16('its head descriptor'), n = r.u32('its segment count');
      if (head >= maxQueue) r.invalid(`a statistics buffer at descriptor ${head}, beyond the statistics queue's ${maxQueue}`);
      if (n > maxQueue) r.invalid(`a statistics buffer of ${n} segments, more than the queue's ${maxQueue} descriptors`);
      const segments: Segment[] = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const addr = r.u64('a segment address'), len = r.u32('a segment length');
        if (!this.mem.inRam(addr, len)) r.invalid(`a statistics segment at ${hex(addr)}, ${len} bytes, outside guest RAM`);
        total += len;
        segments.push({ addr, len, where: `descriptor ${i} of the held statistics buffer` });
      }
      if (total % STAT_BYTES !== 0 || total > this.maxChainBytes) r.invalid(`a statistics buffer of ${total} bytes`);
      held = { head, segments };
    }
    let stats: Map<number, bigint> | undefined;
    if (r.bool('statistics received')) {
      stats = new Map();
      const n = r.u32('the statistics count');
      if (n > BALLOON_STAT_NAMES.length) r.invalid(`${n} statistics, there are ${BALLOON_STAT_NAMES.length} tags`);
      for (let i = 0; i < n; i++) {
        const tag = r.u16('a statistics tag'), v = r.u64('a statistic');
        if (tag >= BALLOON_STAT_NAMES.length || stats.has(tag)) r.invalid(`statistics tag ${tag} unknown or twice`);
        stats.set(tag, v);
      }
    }
    const counts = ['inflated', 'deflated', 'zeroed', 'ignored', 'statsUpdates'].map((name) => {
      const v = r.u64(`the ${name} count`);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) r.invalid(`${name} ${v} is more than can be counted`);
      return Number(v);
    });
    r.end();
    if (ramPages !== this.ramPages) r.invalid(`the record is of a balloon over ${ramPages} pages of RAM, this one has ${this.ramPages}`);
    if (target > this.ramPages) r.invalid(`num_pages ${target} is more than the RAM's ${this.ramPages} pages`);
    if (given.length !== this.given.length) r.invalid(`a bitmap of ${given.length} bytes for ${this.ramPages} pages`);
    if (this.ramPages % 8 !== 0 && given[given.length - 1] >> (this.ramPages % 8)) r.invalid('pages given past the end of RAM');
    if (held === undefined && requested) r.invalid('statistics requested with no buffer held');
    if (maxQueue === 0 && (held !== undefined || stats !== undefined)) r.invalid('statistics for a balloon without the statistics queue');
    let givenCount = 0;
    for (const b of given) for (let x = b; x !== 0; x &= x - 1) givenCount++;
    // Nothing can fail from here on.
    this.targetPages = target;
    this.actualPages = actual;
    this.given = given.slice();
    this.givenCount = givenCount;
    this.statsRequested = requested;
    this.held = held;
    this.lastStats = stats;
    [this.counts.inflated, this.counts.deflated, this.counts.zeroed, this.counts.ignored, this.counts.statsUpdates] = counts;
  }
}

const ZERO_PAGE = new Uint8Array(BALLOON_PAGE_BYTES);

function isZeroPage(page: Uint8Array): boolean {
  // A view into RAM is 4-byte aligned (RAM starts on a page); anything
  // else is read bytewise.
  if (page.byteOffset % 4 === 0) {
    const words = new Int32Array(page.buffer, page.byteOffset, page.length / 4);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < page.length; i++) if (page[i] !== 0) return false;
  return true;
}

/** The known tags of a statistics buffer, the last value of each. */
function parseStats(data: Uint8Array): Map<number, bigint> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stats = new Map<number, bigint>();
  for (let at = 0; at + STAT_BYTES <= data.length; at += STAT_BYTES) {
    const tag = view.getUint16(at + STAT_TAG, true);
    if (tag < BALLOON_STAT_NAMES.length) stats.set(tag, view.getBigUint64(at + STAT_VAL, true));
  }
  return stats;
}

/** The balloon as its host sees it (SystemVM.balloon()). */
export interface BalloonInfo {
  /** Guest RAM, bytes. */
  ramBytes: number;
  /** The RAM the host has asked the guest to keep: RAM less num_pages. */
  targetBytes: number;
  /** The RAM the guest keeps by its driver's count: RAM less actual. */
  actualBytes: number;
  /** Pages given through the inflate queue and not taken back: all zero
   *  on the host's side. */
  givenPages: number;
  /** The driver's last figures by the specification's names (bytes, and
   *  counts for MAJFLT and MINFLT); undefined before any. */
  stats: Record<string, bigint> | undefined;
  /** A driver has the device running (DRIVER_OK, not DEVICE_NEEDS_RESET):
   *  a target will be followed. */
  driverReady: boolean;
}

/** A balloon target that is not a whole number of bytes of this RAM. */
export class BalloonTargetError extends RangeError {
  constructor(readonly bytes: number, readonly ramBytes: number) {
    super(`a balloon target of ${bytes} bytes is not a whole number from 0 to the VM's ${ramBytes} bytes of RAM`);
    this.name = 'BalloonTargetError';
  }
}

/** What a host needs of the transport around the balloon. */
export interface BalloonTransport {
  configChanged(): void;
  kick(queue: number): void;
  readonly deviceStatus: number;
  readonly broken: boolean;
}

/** The host's handle on a balloon behind its transport: targets in bytes,
 *  the configuration-change interrupt, statistics requests. */
export class BalloonControl {
  constructor(readonly transport: BalloonTransport, readonly device: VirtioBalloon) {}

  get ramBytes(): number { return this.device.ramPages * BALLOON_PAGE_BYTES; }

  /** Asks the guest to give back RAM until `bytes` are left to it (rounded
   *  up to a whole page): num_pages = (RAM - bytes) / 4096, and a
   *  configuration-change interrupt when that changed. */
  setTargetBytes(bytes: number): void {
    const ram = this.ramBytes;
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > ram) throw new BalloonTargetError(bytes, ram);
    if (this.device.setTarget(Math.floor((ram - bytes) / BALLOON_PAGE_BYTES))) this.transport.configChanged();
  }

  /** Asks the driver for fresh statistics (they arrive as the guest runs);
   *  false when it has no buffer with the device (no driver yet, the
   *  feature not taken, or a request under way). */
  requestStats(): boolean {
    if (!this.device.requestStats()) return false;
    this.transport.kick(BalloonQueue.Stats);
    return true;
  }

  info(): BalloonInfo {
    const d = this.device, ram = this.ramBytes;
    const stats = d.stats();
    return {
      ramBytes: ram,
      targetBytes: ram - d.target * BALLOON_PAGE_BYTES,
      actualBytes: Math.max(0, ram - d.actual * BALLOON_PAGE_BYTES),
      givenPages: d.givenPages,
      stats: stats === undefined ? undefined : { ...stats } as Record<string, bigint>,
      driverReady: (this.transport.deviceStatus & STATUS_DRIVER_OK) !== 0 && !this.transport.broken,
    };
  }
}

/** A balloon operation on a machine made without one. */
export class NoBalloonError extends Error {
  constructor(readonly operation: string) {
    super(`${operation}: this VM has no balloon (create it with balloon: true, or boot --balloon)`);
    this.name = 'NoBalloonError';
  }
}
