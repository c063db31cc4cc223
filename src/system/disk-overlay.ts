/**
 * Differencing disk layers (Hyper-V's AVHDX idea, in a format of our own):
 * a layer holds the clusters of a disk that differ from its parent, which is
 * a raw image or another layer; reading a cluster the layer lacks reads the
 * parent. Taking a checkpoint freezes the layer the VM was writing and puts
 * a new one on top, so that applying it later gets the disk's bytes back
 * too (src/hypervisor/checkpoint-tree.ts). docs/CHECKPOINTS.md, "Disks:
 * differencing layers", is the format byte by byte; this file is its code.
 *
 * A layer file is reached through `LayerFile` (positions in bytes, whole
 * reads and writes), so the same code runs over host files
 * (src/node/checkpoint-store.ts), over memory in tests and in a browser.
 * No Node import here.
 */

import { crc32 } from '../hypervisor/checkpoint-file.js';
import { platformRandom } from '../hypervisor/random.js';
import type { BlockBackend } from './devices/virtio-blk.js';

/** A layer's bytes: a file on the host, or memory. */
export interface LayerFile {
  /** The file's length in bytes. */
  readonly size: number;
  /** Fills `dst` from `position`; throws if the file ends first. */
  read(position: number, dst: Uint8Array): void;
  /** Writes `src` at `position`, growing the file as needed. */
  write(position: number, src: Uint8Array): void;
  /** Returns once everything written is durable. */
  flush(): void;
  close(): void;
}

/** "RVDIFF" then CR LF, like the checkpoint container's magic. */
export const LAYER_MAGIC = Uint8Array.of(0x52, 0x56, 0x44, 0x49, 0x46, 0x46, 0x0d, 0x0a);
export const LAYER_FORMAT_VERSION = 1;
export const DEFAULT_CLUSTER_SIZE = 64 * 1024;
export const MIN_CLUSTER_SIZE = 4096;
export const MAX_CLUSTER_SIZE = 1 << 20;
/** At most this many clusters (a 32 MiB table): 256 GiB at 64 KiB clusters,
 *  4 TiB at 1 MiB. A header claiming more is refused before anything is
 *  allocated. */
export const MAX_TABLE_ENTRIES = 1 << 22;
export const LAYER_ID_BYTES = 16;

// ---- layout (docs/CHECKPOINTS.md, "Disks: differencing layers")
/** Two copies of the header, each in a 4 KiB block of its own: a torn
 *  rewrite (re-pointing a layer at a new parent) leaves the other whole. */
const HEADER_COPY_OFFSETS = [0, 4096] as const;
const HEADER_BYTES = 128;
/** The cluster table starts after the two header blocks. */
export const LAYER_TABLE_OFFSET = 8192;
const ENTRY_BYTES = 8;
const H_MAGIC = 0;
const H_VERSION = 8;
const H_CRC = 12;
const H_SEQUENCE = 16;
const H_CLUSTER_SIZE = 24;
const H_FLAGS = 28;
const H_VIRTUAL_SIZE = 32;
const H_TABLE_OFFSET = 40;
const H_TABLE_ENTRIES = 48;
const H_RESERVED_0 = 52; // ..55, zero
const H_LAYER_ID = 56;
const H_PARENT_ID = 72;
const H_PARENT_SIZE = 88;
const H_PARENT_FINGERPRINT = 96;
const H_RESERVED = 100; // ..127, zero

/** Pending table entries after which a write commits them without waiting
 *  for the guest's flush (bounds what a crash can lose to what a disk
 *  cache could). */
const MAX_PENDING_ENTRIES = 1024;

export type DiskLayerProblem =
  | 'truncated'
  | 'bad-magic'
  | 'unsupported-version'
  | 'checksum'
  | 'bad-header'
  | 'bad-table'
  | 'wrong-parent'
  | 'bad-argument';

/** A layer that cannot be opened, created or merged; nothing was changed. */
export class DiskLayerError extends Error {
  constructor(
    readonly problem: DiskLayerProblem,
    message: string,
    /** The byte offset in the layer file where the problem is, when there is one. */
    readonly offset?: number,
  ) {
    super(`disk layer: ${message}`);
    this.name = 'DiskLayerError';
  }
}

/** What a layer's header says (the copy with the highest sequence that checks). */
export interface LayerHeader {
  version: number;
  sequence: bigint;
  clusterSize: number;
  virtualSize: number;
  tableOffset: number;
  tableEntries: number;
  layerId: Uint8Array;
  /** All zero: the parent is a raw image. */
  parentId: Uint8Array;
  parentSize: number;
  /** CRC-32 of the parent's first cluster as read through it. */
  parentFingerprint: number;
}

const ZERO_ID = new Uint8Array(LAYER_ID_BYTES);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function layerIdHex(id: Uint8Array): string {
  return Array.from(id, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The identity a child records of `parent`: its layer id (zero for a raw
 *  image), its size, and the CRC-32 of its first cluster (for a raw image
 *  the only thing that tells one image of a size from another short of
 *  hashing all of it). */
function parentIdentity(parent: BlockBackend, clusterSize: number): { id: Uint8Array; size: number; fingerprint: number } {
  const first = new Uint8Array(Math.min(clusterSize, parent.byteLength));
  parent.read(0, first);
  return { id: parent instanceof OverlayBlockBackend ? parent.layerId : ZERO_ID, size: parent.byteLength, fingerprint: crc32(first) };
}

/** The check of a table entry: CRC-32 of its virtual cluster and file
 *  cluster, so a garbage entry or one in the wrong slot is caught. */
function entryCheck(virtualCluster: number, fileCluster: number): number {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, virtualCluster, true);
  v.setUint32(4, fileCluster, true);
  return crc32(b);
}

function encodeHeader(h: LayerHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const v = new DataView(out.buffer);
  out.set(LAYER_MAGIC, H_MAGIC);
  v.setUint32(H_VERSION, h.version, true);
  v.setBigUint64(H_SEQUENCE, h.sequence, true);
  v.setUint32(H_CLUSTER_SIZE, h.clusterSize, true);
  v.setUint32(H_FLAGS, 0, true);
  v.setBigUint64(H_VIRTUAL_SIZE, BigInt(h.virtualSize), true);
  v.setBigUint64(H_TABLE_OFFSET, BigInt(h.tableOffset), true);
  v.setUint32(H_TABLE_ENTRIES, h.tableEntries, true);
  out.set(h.layerId, H_LAYER_ID);
  out.set(h.parentId, H_PARENT_ID);
  v.setBigUint64(H_PARENT_SIZE, BigInt(h.parentSize), true);
  v.setUint32(H_PARENT_FINGERPRINT, h.parentFingerprint, true);
  v.setUint32(H_CRC, crc32(out), true);
  return out;
}

/** One header copy: undefined when its CRC does not match (a torn or
 *  damaged copy, the other may be whole). */
function decodeHeaderCopy(b: Uint8Array): LayerHeader | undefined {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const crc = v.getUint32(H_CRC, true);
  const z = b.slice();
  new DataView(z.buffer).setUint32(H_CRC, 0, true);
  if (crc32(z) !== crc || !sameBytes(b.subarray(H_MAGIC, H_MAGIC + 8), LAYER_MAGIC)) return undefined;
  return {
    version: v.getUint32(H_VERSION, true),
    sequence: v.getBigUint64(H_SEQUENCE, true),
    clusterSize: v.getUint32(H_CLUSTER_SIZE, true),
    virtualSize: Number(v.getBigUint64(H_VIRTUAL_SIZE, true)),
    tableOffset: Number(v.getBigUint64(H_TABLE_OFFSET, true)),
    tableEntries: v.getUint32(H_TABLE_ENTRIES, true),
    layerId: b.slice(H_LAYER_ID, H_LAYER_ID + LAYER_ID_BYTES),
    parentId: b.slice(H_PARENT_ID, H_PARENT_ID + LAYER_ID_BYTES),
    parentSize: Number(v.getBigUint64(H_PARENT_SIZE, true)),
    parentFingerprint: v.getUint32(H_PARENT_FINGERPRINT, true),
    // (flags and the reserved bytes are checked by readLayerHeader)
  };
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;
const dataStartOf = (h: { tableOffset: number; tableEntries: number; clusterSize: number }): number =>
  roundUp(h.tableOffset + h.tableEntries * ENTRY_BYTES, h.clusterSize);

/** Reads and checks a layer's header (both copies), without its parent. */
export function readLayerHeader(file: LayerFile): LayerHeader {
  if (file.size < LAYER_TABLE_OFFSET) {
    if (file.size >= 8) {
      const m = new Uint8Array(8);
      file.read(0, m);
      if (!sameBytes(m, LAYER_MAGIC)) throw new DiskLayerError('bad-magic', 'bad magic: not a ringvisor disk layer ("RVDIFF\\r\\n")', 0);
    }
    throw new DiskLayerError('truncated', `truncated: ${file.size} bytes, the two header blocks alone are ${LAYER_TABLE_OFFSET}`, file.size);
  }
  const copies = HEADER_COPY_OFFSETS.map((at) => { const b = new Uint8Array(HEADER_BYTES); file.read(at, b); return b; });
  if (!sameBytes(copies[0].subarray(0, 8), LAYER_MAGIC)) {
    throw new DiskLayerError('bad-magic', 'bad magic: not a ringvisor disk layer ("RVDIFF\\r\\n")', 0);
  }
  let best: { h: LayerHeader; at: number; raw: Uint8Array } | undefined;
  copies.forEach((raw, i) => {
    const h = decodeHeaderCopy(raw);
    if (h !== undefined && (best === undefined || h.sequence > best.h.sequence)) best = { h, at: HEADER_COPY_OFFSETS[i], raw };
  });
  if (best === undefined) {
    throw new DiskLayerError('checksum', 'checksum mismatch in both header copies (bytes 0..127 and 4096..4223)', 0);
  }
  const { h, at, raw } = best;
  if (h.version !== LAYER_FORMAT_VERSION) {
    throw new DiskLayerError('unsupported-version', `unsupported layer version ${h.version}: this release reads version ${LAYER_FORMAT_VERSION}`, at + H_VERSION);
  }
  const bad = (field: number, what: string): never => { throw new DiskLayerError('bad-header', what, at + field); };
  const cs = h.clusterSize;
  if (cs < MIN_CLUSTER_SIZE || cs > MAX_CLUSTER_SIZE || (cs & (cs - 1)) !== 0) {
    bad(H_CLUSTER_SIZE, `cluster size ${cs} is not a power of two in ${MIN_CLUSTER_SIZE}..${MAX_CLUSTER_SIZE}`);
  }
  if (new DataView(raw.buffer).getUint32(H_FLAGS, true) !== 0) bad(H_FLAGS, 'unknown flags');
  if (raw.subarray(H_RESERVED).some((x) => x !== 0)) bad(H_RESERVED, 'reserved bytes are not zero');
  if (raw.subarray(H_RESERVED_0, H_LAYER_ID).some((x) => x !== 0)) bad(H_RESERVED_0, 'reserved bytes are not zero');
  if (h.virtualSize === 0 || h.virtualSize % 512 !== 0 || !Number.isSafeInteger(h.virtualSize)) {
    bad(H_VIRTUAL_SIZE, `virtual size ${h.virtualSize} is not a positive multiple of 512`);
  }
  if (h.tableEntries !== Math.ceil(h.virtualSize / cs)) {
    bad(H_TABLE_ENTRIES, `${h.tableEntries} table entries for ${h.virtualSize} bytes in clusters of ${cs} (should be ${Math.ceil(h.virtualSize / cs)})`);
  }
  if (h.tableEntries > MAX_TABLE_ENTRIES) bad(H_TABLE_ENTRIES, `${h.tableEntries} clusters, at most ${MAX_TABLE_ENTRIES}`);
  if (h.tableOffset !== LAYER_TABLE_OFFSET) bad(H_TABLE_OFFSET, `table offset ${h.tableOffset}, not ${LAYER_TABLE_OFFSET}`);
  if (h.parentSize !== h.virtualSize) bad(H_PARENT_SIZE, `parent size ${h.parentSize} differs from the virtual size ${h.virtualSize}`);
  if (sameBytes(h.layerId, ZERO_ID)) bad(H_LAYER_ID, 'the layer id is zero');
  if (sameBytes(h.layerId, h.parentId)) bad(H_PARENT_ID, 'the layer is its own parent');
  const tableEnd = h.tableOffset + h.tableEntries * ENTRY_BYTES;
  if (file.size < tableEnd) {
    throw new DiskLayerError('truncated', `truncated at byte ${file.size}: the cluster table ends at byte ${tableEnd}`, file.size);
  }
  return h;
}

export interface OpenLayerOptions {
  /** Guest writes refused (a checkpoint's frozen layer). Merging into the
   *  layer (`absorbParent`) still writes it. Default false. */
  readOnly?: boolean;
}

export interface CreateLayerOptions extends OpenLayerOptions {
  /** Bytes per cluster, a power of two in 4 KiB..1 MiB (default 64 KiB). */
  clusterSize?: number;
  /** The layer's id (default: 16 random bytes); must not be all zero. */
  id?: Uint8Array;
}

/**
 * A disk that reads through to `parent` where its layer has no cluster and
 * writes copy-on-write, a cluster at a time, into the layer.
 */
export class OverlayBlockBackend implements BlockBackend {
  readonly byteLength: number;
  readonly clusterSize: number;
  private frozen: boolean;
  private hdr: LayerHeader;
  /** Virtual cluster → file cluster number (0: not in this layer). */
  private readonly table: Uint32Array;
  /** Virtual clusters whose data is written but whose table entry is not
   *  yet in the file (see `write`). */
  private readonly pending = new Set<number>();
  /** The next file cluster number to allocate. */
  private nextCluster: number;
  private closed = false;
  /** Counts, for metering and tests. */
  readonly stats = { clustersAllocated: 0, parentReads: 0, commits: 0 };

  private constructor(readonly file: LayerFile, private parentBackend: BlockBackend, header: LayerHeader, table: Uint32Array, readOnly: boolean) {
    this.hdr = header;
    this.byteLength = header.virtualSize;
    this.clusterSize = header.clusterSize;
    this.table = table;
    this.frozen = readOnly;
    let last = dataStartOf(header) / header.clusterSize - 1;
    for (const fc of table) if (fc > last) last = fc;
    this.nextCluster = last + 1;
  }

  /** Makes a new, empty layer over `parent` in `file` (which should be empty;
   *  it is overwritten from byte 0) and flushes it. */
  static create(file: LayerFile, parent: BlockBackend, opts: CreateLayerOptions = {}): OverlayBlockBackend {
    const clusterSize = opts.clusterSize ?? DEFAULT_CLUSTER_SIZE;
    if (clusterSize < MIN_CLUSTER_SIZE || clusterSize > MAX_CLUSTER_SIZE || (clusterSize & (clusterSize - 1)) !== 0) {
      throw new DiskLayerError('bad-argument', `cluster size ${clusterSize} is not a power of two in ${MIN_CLUSTER_SIZE}..${MAX_CLUSTER_SIZE}`);
    }
    const size = parent.byteLength;
    if (size === 0 || size % 512 !== 0) throw new DiskLayerError('bad-argument', `parent size ${size} is not a positive multiple of 512`);
    const tableEntries = Math.ceil(size / clusterSize);
    if (tableEntries > MAX_TABLE_ENTRIES) throw new DiskLayerError('bad-argument', `${tableEntries} clusters, at most ${MAX_TABLE_ENTRIES}`);
    const id = opts.id ?? new Uint8Array(LAYER_ID_BYTES);
    if (opts.id === undefined) platformRandom(id);
    if (id.length !== LAYER_ID_BYTES || sameBytes(id, ZERO_ID)) throw new DiskLayerError('bad-argument', 'a layer id is 16 bytes, not all zero');
    const p = parentIdentity(parent, clusterSize);
    if (sameBytes(p.id, id)) throw new DiskLayerError('bad-argument', 'the layer id is its parent\'s');
    const h: LayerHeader = {
      version: LAYER_FORMAT_VERSION, sequence: 1n, clusterSize, virtualSize: size, tableOffset: LAYER_TABLE_OFFSET, tableEntries,
      layerId: id.slice(), parentId: p.id.slice(), parentSize: p.size, parentFingerprint: p.fingerprint,
    };
    // Table first, header last: a file whose header is not there yet is
    // refused, never read as an empty layer of some other disk.
    file.write(LAYER_TABLE_OFFSET, new Uint8Array(tableEntries * ENTRY_BYTES));
    const enc = encodeHeader(h);
    file.write(HEADER_COPY_OFFSETS[1], enc);
    file.write(HEADER_COPY_OFFSETS[0], enc);
    file.flush();
    return new OverlayBlockBackend(file, parent, h, new Uint32Array(tableEntries), opts.readOnly ?? false);
  }

  /** Opens the layer in `file` over `parent`, checking all of it first:
   *  header, every table entry, and that `parent` is the one the layer was
   *  made on. Throws DiskLayerError and changes nothing otherwise. */
  static open(file: LayerFile, parent: BlockBackend, opts: OpenLayerOptions = {}): OverlayBlockBackend {
    const h = readLayerHeader(file);
    const raw = new Uint8Array(h.tableEntries * ENTRY_BYTES);
    file.read(h.tableOffset, raw);
    const v = new DataView(raw.buffer);
    const table = new Uint32Array(h.tableEntries);
    const firstData = dataStartOf(h) / h.clusterSize;
    const wholeClusters = Math.floor(file.size / h.clusterSize);
    const owner = new Map<number, number>();
    for (let i = 0; i < h.tableEntries; i++) {
      const fc = v.getUint32(i * ENTRY_BYTES, true);
      const check = v.getUint32(i * ENTRY_BYTES + 4, true);
      const at = h.tableOffset + i * ENTRY_BYTES;
      if (fc === 0 && check === 0) continue;
      if (check !== entryCheck(i, fc)) {
        throw new DiskLayerError('checksum', `checksum mismatch in table entry ${i} (byte ${at}): file cluster ${fc}, check 0x${check.toString(16)}`, at);
      }
      if (fc < firstData || fc >= wholeClusters) {
        throw new DiskLayerError('bad-table', `table entry ${i} (byte ${at}) points at file cluster ${fc}, outside the data clusters ${firstData}..${wholeClusters - 1}`, at);
      }
      const other = owner.get(fc);
      if (other !== undefined) throw new DiskLayerError('bad-table', `table entries ${other} and ${i} share file cluster ${fc}`, at);
      owner.set(fc, i);
      table[i] = fc;
    }
    if (parent.byteLength !== h.virtualSize) {
      throw new DiskLayerError('wrong-parent', `wrong parent: the layer is of a ${h.virtualSize}-byte disk, the parent has ${parent.byteLength} bytes`, H_VIRTUAL_SIZE);
    }
    const p = parentIdentity(parent, h.clusterSize);
    if (!sameBytes(p.id, h.parentId) || p.fingerprint !== h.parentFingerprint) {
      const want = sameBytes(h.parentId, ZERO_ID) ? 'a raw image' : `layer ${layerIdHex(h.parentId)}`;
      const got = sameBytes(p.id, ZERO_ID) ? 'a raw image' : `layer ${layerIdHex(p.id)}`;
      throw new DiskLayerError(
        'wrong-parent',
        `wrong parent: the layer was made on ${want} whose first cluster has CRC-32 0x${h.parentFingerprint.toString(16)}, ` +
          `it was opened on ${got} whose first cluster has 0x${p.fingerprint.toString(16)}`,
        H_PARENT_ID,
      );
    }
    return new OverlayBlockBackend(file, parent, h, table, opts.readOnly ?? false);
  }

  get readOnly(): boolean { return this.frozen; }
  get layerId(): Uint8Array { return this.hdr.layerId; }
  get parent(): BlockBackend { return this.parentBackend; }
  get header(): Readonly<LayerHeader> { return this.hdr; }
  /** The clusters this layer holds. */
  get clusterCount(): number { let n = 0; for (const c of this.table) if (c !== 0) n++; return n; }
  /** Whether virtual cluster `i` is in this layer. */
  hasCluster(i: number): boolean { return this.table[i] !== 0; }

  /** Refuses guest writes from now on (the layer became a checkpoint's). */
  freeze(): void { this.commit(); this.frozen = true; }

  private checkRange(position: number, length: number): void {
    if (this.closed) throw new Error('disk layer: closed');
    if (!Number.isSafeInteger(position) || position < 0 || position + length > this.byteLength) {
      throw new RangeError(`disk layer: bytes ${position}..${position + length - 1} are outside the ${this.byteLength}-byte disk`);
    }
  }

  /** The bytes of virtual cluster `i` that lie inside the disk. */
  private clusterLength(i: number): number { return Math.min(this.clusterSize, this.byteLength - i * this.clusterSize); }

  read(position: number, dst: Uint8Array): void {
    this.checkRange(position, dst.length);
    const cs = this.clusterSize;
    let done = 0;
    while (done < dst.length) {
      const pos = position + done;
      const i = Math.floor(pos / cs);
      const within = pos - i * cs;
      let n = Math.min(cs - within, dst.length - done);
      const fc = this.table[i];
      if (fc !== 0) {
        this.file.read(fc * cs + within, dst.subarray(done, done + n));
      } else {
        // A run of clusters this layer lacks is one read of the parent.
        while (done + n < dst.length && this.table[i + Math.ceil(n / cs)] === 0 && (within + n) % cs === 0) {
          n = Math.min(n + cs, dst.length - done);
        }
        this.stats.parentReads++;
        this.parentBackend.read(pos, dst.subarray(done, done + n));
      }
      done += n;
    }
  }

  write(position: number, src: Uint8Array): void {
    if (this.frozen) throw new Error('read-only');
    this.checkRange(position, src.length);
    const cs = this.clusterSize;
    let done = 0;
    while (done < src.length) {
      const pos = position + done;
      const i = Math.floor(pos / cs);
      const within = pos - i * cs;
      const n = Math.min(cs - within, src.length - done);
      const part = src.subarray(done, done + n);
      const fc = this.table[i];
      if (fc !== 0) {
        this.file.write(fc * cs + within, part);
      } else {
        const len = this.clusterLength(i);
        const cluster = new Uint8Array(cs);
        if (n < len) { this.stats.parentReads++; this.parentBackend.read(i * cs, cluster.subarray(0, len)); }
        cluster.set(part, within);
        this.allocate(i, cluster);
      }
      done += n;
    }
    if (this.pending.size >= MAX_PENDING_ENTRIES) this.commit();
  }

  /**
   * Puts a whole cluster's bytes at a new place at the end of the file and
   * maps virtual cluster `i` to it, in memory only: its table entry reaches
   * the file at the next `commit` (the guest's flush), after a flush of the
   * data. That order is what keeps a crash from exposing a half-written
   * cluster: an entry on disk only ever points at data that was durable
   * before the entry was written. A crash before the commit loses the
   * cluster's writes — as a disk's volatile cache loses writes not yet
   * flushed, which a guest must expect — and leaves unreferenced clusters
   * at the end of the file, which the next opening allocates over (it
   * starts after the last cluster the table names).
   */
  private allocate(i: number, cluster: Uint8Array): void {
    const fc = this.nextCluster;
    if (fc > 0xffff_ffff) throw new Error('disk layer: the file is full (2^32 clusters)');
    this.file.write(fc * this.clusterSize, cluster);
    this.nextCluster = fc + 1;
    this.table[i] = fc;
    this.pending.add(i);
    this.stats.clustersAllocated++;
  }

  /** Makes the clusters allocated so far part of the file: data durable,
   *  then their table entries, then those durable. */
  private commit(): void {
    if (this.pending.size === 0) return;
    this.file.flush();
    const entries = [...this.pending].sort((a, b) => a - b);
    // Consecutive entries go out as one write.
    for (let k = 0; k < entries.length;) {
      let e = k + 1;
      while (e < entries.length && entries[e] === entries[e - 1] + 1) e++;
      const out = new Uint8Array((e - k) * ENTRY_BYTES);
      const v = new DataView(out.buffer);
      for (let j = k; j < e; j++) {
        const i = entries[j];
        v.setUint32((j - k) * ENTRY_BYTES, this.table[i], true);
        v.setUint32((j - k) * ENTRY_BYTES + 4, entryCheck(i, this.table[i]), true);
      }
      this.file.write(this.hdr.tableOffset + entries[k] * ENTRY_BYTES, out);
      k = e;
    }
    this.file.flush();
    this.pending.clear();
    this.stats.commits++;
  }

  flush(): void {
    if (this.closed) throw new Error('disk layer: closed');
    if (this.pending.size > 0) this.commit();
    else this.file.flush();
  }

  /**
   * Deleting the checkpoint whose layer is this layer's parent: copies every
   * cluster the parent layer has and this one lacks into this one, commits
   * them, then re-points this layer's header at the parent's parent. What
   * this layer reads is the same before and after. A crash part way leaves
   * a layer still valid on its old parent (copied clusters are the bytes it
   * read through it anyway), so the merge can simply be done again.
   */
  absorbParent(): void {
    if (this.closed) throw new Error('disk layer: closed');
    const p = this.parentBackend;
    if (!(p instanceof OverlayBlockBackend)) throw new DiskLayerError('bad-argument', 'the parent is a raw image, not a layer to merge');
    if (p.clusterSize !== this.clusterSize) {
      throw new DiskLayerError('bad-argument', `the parent's clusters are ${p.clusterSize} bytes, this layer's ${this.clusterSize}`);
    }
    const cs = this.clusterSize;
    const buf = new Uint8Array(cs);
    for (let i = 0; i < this.table.length; i++) {
      if (this.table[i] !== 0 || !p.hasCluster(i)) continue;
      buf.fill(0);
      p.read(i * cs, buf.subarray(0, this.clusterLength(i)));
      this.allocate(i, buf);
    }
    this.commit();
    this.repoint(p.parentBackend);
  }

  /** Rewrites the header to name `parent` (which must read as the old one
   *  does where this layer lacks clusters): the older header copy first, so
   *  a torn write leaves the newer whole. */
  private repoint(parent: BlockBackend): void {
    const id = parentIdentity(parent, this.clusterSize);
    const h: LayerHeader = { ...this.hdr, sequence: this.hdr.sequence + 1n, parentId: id.id.slice(), parentSize: id.size, parentFingerprint: id.fingerprint };
    const enc = encodeHeader(h);
    // Copy `sequence` parity: 1 went to both at creation; later sequences
    // alternate between the copies, so the one overwritten is the older.
    const slot = HEADER_COPY_OFFSETS[Number(h.sequence & 1n)];
    this.file.write(slot, enc);
    this.file.flush();
    this.hdr = h;
    this.parentBackend = parent;
  }

  /** Commits and closes the layer file (not the parent). */
  close(): void {
    if (this.closed) return;
    try { this.commit(); } finally { this.closed = true; this.file.close(); }
  }
}

/**
 * The disk the device holds while what is behind it changes: taking or
 * applying a checkpoint moves the running VM to another layer without
 * making a new virtio-blk device. The new target must be the same size and
 * writability, since the guest was told both.
 */
export class SwitchableBlockBackend implements BlockBackend {
  readonly byteLength: number;
  readonly readOnly: boolean;
  private current: BlockBackend;

  constructor(target: BlockBackend) {
    this.current = target;
    this.byteLength = target.byteLength;
    this.readOnly = target.readOnly;
  }

  get target(): BlockBackend { return this.current; }
  set target(next: BlockBackend) {
    if (next.byteLength !== this.byteLength || next.readOnly !== this.readOnly) {
      throw new DiskLayerError(
        'bad-argument',
        `the new disk has ${next.byteLength} bytes${next.readOnly ? ', read-only' : ''}; the device's has ${this.byteLength}${this.readOnly ? ', read-only' : ''}`,
      );
    }
    this.current = next;
  }

  read(position: number, dst: Uint8Array): void { this.current.read(position, dst); }
  write(position: number, src: Uint8Array): void { this.current.write(position, src); }
  flush(): void { this.current.flush(); }
  /** Closing is the owner's (the checkpoint tree's) business, not the device's. */
  close(): void { /* the targets belong to whoever switched them in */ }
}

/** A layer file in memory (tests, a browser page without storage). */
export class MemoryLayerFile implements LayerFile {
  private buf: Uint8Array;
  private length = 0;
  flushes = 0;
  closed = false;
  constructor(bytes?: Uint8Array) {
    this.buf = bytes ? bytes.slice() : new Uint8Array(0);
    this.length = this.buf.length;
  }
  get size(): number { return this.length; }
  /** A copy of the file's bytes. */
  bytes(): Uint8Array { return this.buf.slice(0, this.length); }
  read(position: number, dst: Uint8Array): void {
    if (position < 0 || position + dst.length > this.length) throw new RangeError(`memory layer: read of ${dst.length} bytes at ${position} past its end ${this.length}`);
    dst.set(this.buf.subarray(position, position + dst.length));
  }
  write(position: number, src: Uint8Array): void {
    const end = position + src.length;
    if (end > this.buf.length) {
      const grown = new Uint8Array(Math.max(end, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(src, position);
    this.length = Math.max(this.length, end);
  }
  flush(): void { this.flushes++; }
  close(): void { this.closed = true; }
}
