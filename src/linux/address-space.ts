// The process VM's address space: which 4 KiB pages of the guest's user range
// are mapped and with what permissions, and which chunks of guest RAM back
// them. Like Linux on Sv39, the user range is 256 GiB (USER_END); the CPU maps
// it to RAM through its slot table (assembly/layout.ts SLOT_TABLE), one entry
// per 64 KiB slot. A slot gets a chunk of RAM when the guest (or ring -1 for
// it) first reaches a mapped page in it, as a page fault would give Linux a
// page, and gives it back when nothing is mapped in it any more: mappings and
// reservations never used cost no RAM at all, and RAM (4 GiB of linear memory
// at most) bounds only the slots in use at once.
//
// The CPU enforces the permissions (its page permission table, indexed by
// RAM page); this side decides them, finds room for new mappings and keeps
// the rule that every unmapped page reads as zero, so a new anonymous
// mapping needs no clearing.
import { type Cpu, PAGE_SIZE, Perm } from '../cpu/cpu.js';
import { MMAP_MIN_ADDR } from './elf.js';
import { copyProgramPiece } from './program-bytes.js';
import { RecordReader, RecordWriter } from '../hypervisor/persist.js';

export const ADDRESS_SPACE_RECORD_TAG = 'address-space';
export const ADDRESS_SPACE_RECORD_VERSION = 1;

const PAGE = BigInt(PAGE_SIZE);
/** The end of the user range: Sv39's lower half, Linux's TASK_SIZE. */
export const USER_END = 1n << 38n;
// Page states are kept per 2 MiB (a leaf); RAM is handed out per slot.
const LEAF_PAGES = 512;
const MAPPED = 0x80; // in a slot's pages only: the page is mapped (possibly PROT_NONE)
// A page of a file mapping wholly past the end of the file. Linux (and QEMU)
// send SIGBUS for any access to it, so the CPU sees no permission there
// whatever mprotect says; the fault is told apart here.
const PAST_EOF = 0x40;
// The page has had some permission since it was mapped, so it may hold
// something. A page mapped PROT_NONE and never opened (Go's runtime reserves
// hundreds of MiB so) reads as zero and needs no RAM.
const OPENED = 0x20;
// Pages of a MAP_SHARED file mapping (shared-maps.ts) whose CPU permissions
// are less than the mapping's, so that the access faults to ring -1 first:
// WITHHOLD_W, a page not stored to since it was last written back (its
// first store marks it dirty); HIDDEN, a page whose file page another
// mapping holds the current bytes of (any access fetches them).
const WITHHOLD_W = 0x08;
const HIDDEN = 0x10;
/** What a shared file mapping's page lets the CPU do (setShared). */
export type SharedPageState = 'open' | 'clean' | 'hidden';

// The permissions the CPU enforces for a page state: none past the end of
// its file or while hidden, no W while written back and not yet stored to.
function cpuPerms(state: number): number {
  if (state & (PAST_EOF | HIDDEN)) return 0;
  return state & WITHHOLD_W ? state & 7 & ~Perm.W : state & 7;
}

export function pageDown(a: bigint): bigint { return a & ~(PAGE - 1n); }
export function pageUp(a: bigint): bigint { return (a + PAGE - 1n) & ~(PAGE - 1n); }

/** Linux PROT_* bits as CPU permissions: on RISC-V a writable page is also readable. */
export function permsForProt(prot: number): number {
  let p = prot & (Perm.R | Perm.W | Perm.X);
  if (p & Perm.W) p |= Perm.R;
  return p;
}

interface Leaf {
  /** Per page: 0 when free, else MAPPED | flags | permissions. */
  pages: Uint8Array;
  /** Pages with MAPPED set. */
  mapped: number;
  /** Per slot in it: the offset of its RAM, 0 while it has none. */
  chunks: Uint32Array;
}

// A new leaf's arrays are views into a shared slab: arrays of their own
// (512 and 128 bytes) are each an ArrayBuffer allocated outside V8's heap,
// some 5 µs apiece, and Go's runtime maps 5 GiB (2,600 leaves) as it
// starts. A slab is freed with the last leaf that uses it.
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

function newLeaf(slotPages: number): Leaf {
  const chunkBytes = (LEAF_PAGES / slotPages) * 4, bytes = LEAF_PAGES + chunkBytes;
  if (slabUsed + bytes > slab.byteLength) { slab = new ArrayBuffer(SLAB_BYTES); slabUsed = 0; }
  // (The chunks first: a Uint32Array starts at a multiple of 4, and every
  // piece here is one.)
  const chunks = new Uint32Array(slab, slabUsed, chunkBytes / 4);
  const pages = new Uint8Array(slab, slabUsed + chunkBytes, LEAF_PAGES);
  slabUsed += bytes;
  return { pages, mapped: 0, chunks };
}

/**
 * The mapped pages as ranges [start, end) of page numbers, sorted, apart
 * (touching ranges are one): what finding room needs, in steps per range
 * rather than per page (Linux keeps its VMAs in a tree for the same reason).
 */
class Ranges {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  // The number of ranges that start before `page`.
  private before(page: number): number {
    let lo = 0, hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] < page) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  add(start: number, end: number): void {
    if (start >= end) return;
    // Every range that overlaps or touches [start, end) merges into it.
    let i = this.before(start);
    if (i > 0 && this.ends[i - 1] >= start) i--;
    let j = i;
    while (j < this.starts.length && this.starts[j] <= end) {
      start = Math.min(start, this.starts[j]);
      end = Math.max(end, this.ends[j]);
      j++;
    }
    this.starts.splice(i, j - i, start);
    this.ends.splice(i, j - i, end);
  }

  remove(start: number, end: number): void {
    if (start >= end) return;
    let i = this.before(start);
    if (i > 0 && this.ends[i - 1] > start) i--;
    const starts: number[] = [], ends: number[] = [];
    let j = i;
    for (; j < this.starts.length && this.starts[j] < end; j++) {
      if (this.starts[j] < start) { starts.push(this.starts[j]); ends.push(start); }
      if (this.ends[j] > end) { starts.push(end); ends.push(this.ends[j]); }
    }
    this.starts.splice(i, j - i, ...starts);
    this.ends.splice(i, j - i, ...ends);
  }

  /** A copy (fork). */
  clone(): Ranges {
    const r = new Ranges();
    r.starts.push(...this.starts);
    r.ends.push(...this.ends);
    return r;
  }

  /** Whether no page of [start, end) is in a range. */
  isFree(start: number, end: number): boolean {
    const i = this.before(end) - 1;
    return i < 0 || this.ends[i] <= start;
  }

  /** The highest start of `need` free pages in [low, high), or -1. */
  findFree(need: number, low: number, high: number): number {
    let top = high;
    for (let i = this.before(high) - 1; ; i--) {
      if (i >= 0 && this.ends[i] >= top) { top = Math.min(top, this.starts[i]); continue; }
      const bottom = i >= 0 ? Math.max(this.ends[i], low) : low;
      if (top - bottom >= need) return top - need;
      if (i < 0 || this.ends[i] <= low) return -1;
      top = this.starts[i];
    }
  }
}

export class AddressSpace {
  private readonly leaves = new Map<number, Leaf>();
  private ranges = new Ranges();
  private mappedCount = 0;
  private peakCount = 0;
  private words: Int32Array | undefined;
  /** How many PAST_EOF pages exist (none in most programs: no per-page work then). */
  private pastEofCount = 0;
  /** Pages per slot of the CPU's slot table (16). */
  private readonly slotPages: number;
  /** Chunks of RAM handed back, for reuse; the next one never used (the
   *  first slot's worth of RAM stands for "none" and is never handed out). */
  private readonly freeChunks: number[] = [];
  private nextChunk: number;

  /** Bytes that slots without RAM get when they get it (deferContent), by
   *  slot index: pieces at offsets in the slot. */
  private deferred = new Map<number, { at: number; bytes: Uint8Array }[]>();

  /** Called before pages are unmapped (map over them included): shared
   *  file mappings write their pages back first (shared-maps.ts). */
  onUnmap: ((addr: bigint, len: bigint) => void) | undefined;
  /** A fault on a page of a shared file mapping whose CPU permissions are
   *  withheld (setShared): true when served (the access runs again). */
  onSharedFault: ((addr: bigint) => boolean) | undefined;

  constructor(private readonly cpu: Cpu) {
    this.slotPages = cpu.slotBytes / PAGE_SIZE;
    this.nextChunk = cpu.slotBytes;
    // A slot the guest or ring -1 reaches without RAM: RAM now, if a page
    // in it is mapped (demand paging, per slot).
    cpu.onMissingSlot = (index) => this.back(index);
  }

  /** The lowest address a mapping may start at (Linux's mmap_min_addr). */
  get base(): bigint { return MMAP_MIN_ADDR; }
  /** The end of the user range. */
  get end(): bigint { return USER_END; }
  /** Largest number of bytes mapped at once. */
  get peakBytes(): number { return this.peakCount * PAGE_SIZE; }

  /** Whether [addr, addr+len) is page-aligned and lies inside the user range. */
  inRange(addr: bigint, len: bigint): boolean {
    return addr % PAGE === 0n && addr >= this.base && len >= 0n && addr + len <= this.end;
  }

  // Calls visit(leaf index, first page, end page) for each leaf (2 MiB) that
  // [addr, addr+len) overlaps, with page indices inside the leaf.
  private eachLeaf(addr: bigint, len: bigint, visit: (index: number, from: number, to: number) => void): void {
    const first = Number(pageDown(addr) / PAGE), end = Number(pageUp(addr + len) / PAGE);
    for (let p = first; p < end;) {
      const index = Math.floor(p / LEAF_PAGES), from = p - index * LEAF_PAGES;
      const to = Math.min(LEAF_PAGES, end - index * LEAF_PAGES);
      visit(index, from, to);
      p += to - from;
    }
  }

  // Calls run(address, pages) for each run of pages [from, to) of a leaf
  // that has RAM: what the CPU's page permissions and touched bits cover.
  private eachBacked(index: number, leaf: Leaf, from: number, to: number, run: (addr: bigint, pages: number) => void): void {
    const n = this.slotPages;
    for (let p = from; p < to;) {
      const slotEnd = Math.min(to, (Math.floor(p / n) + 1) * n);
      if (leaf.chunks[Math.floor(p / n)] !== 0) run(this.address(index, p), slotEnd - p);
      p = slotEnd;
    }
  }

  isFree(addr: bigint, len: bigint): boolean {
    if (!this.inRange(addr, pageUp(len))) return false;
    return this.ranges.isFree(Number(addr / PAGE), Number(pageUp(addr + len) / PAGE));
  }

  isMapped(addr: bigint, len: bigint): boolean {
    if (!this.inRange(addr, pageUp(len))) return false;
    let mapped = true;
    this.eachLeaf(addr, len, (index, from, to) => {
      const leaf = this.leaves.get(index);
      if (!leaf) { mapped = false; return; }
      for (let i = from; i < to && mapped; i++) if (!leaf.pages[i]) mapped = false;
    });
    return mapped;
  }

  /** Maps the pages of [addr, addr+len) with `perms`, replacing (and clearing) what was there. */
  map(addr: bigint, len: bigint, perms: number): void {
    this.unmap(addr, len);
    this.setPages(addr, len, perms, true);
  }

  /** Adds `perms` to pages that may already be mapped (ELF segments sharing a page). */
  mapMerge(addr: bigint, len: bigint, perms: number): void {
    const start = pageDown(addr);
    this.setPages(start, pageUp(addr + len) - start, (old) => old | perms, true);
  }

  /**
   * Gives the mapped bytes at addr `bytes` (a program's segment from its
   * file): now where a slot has RAM, else when it gets RAM (back), so that
   * the part of a program it never reaches costs no host memory and no
   * copying (esbuild's 10 MB, of which `--version` reaches a fraction; a
   * copy into fresh memory faults its every page in on the host). Unmapping
   * forgets what was not placed yet; a checkpoint places it all first
   * (placeDeferred). `bytes` must not change afterwards.
   */
  deferContent(addr: bigint, bytes: Uint8Array): void {
    const size = this.cpu.slotBytes;
    for (let done = 0; done < bytes.length;) {
      const a = Number(addr) + done, index = Math.floor(a / size), at = a - index * size;
      const n = Math.min(bytes.length - done, size - at);
      const piece = bytes.subarray(done, done + n);
      if (this.hasRam(BigInt(a))) this.place(BigInt(a), piece);
      else {
        const list = this.deferred.get(index);
        if (list) list.push({ at, bytes: piece }); else this.deferred.set(index, [{ at, bytes: piece }]);
      }
      done += n;
    }
  }

  // Writes deferred content into RAM it lies in, in one slot: straight
  // from the program's file if that is read lazily (program-bytes.ts).
  private place(addr: bigint, piece: Uint8Array): void {
    copyProgramPiece(piece, this.cpu.guestBytes(addr, piece.length));
    this.cpu.wrote(addr, piece.length);
  }

  /** Whether some content waits for slots to get RAM (deferContent). */
  get hasDeferred(): boolean { return this.deferred.size > 0; }

  /** Gives RAM to every slot with content waiting for it (deferContent): a
   *  checkpoint records RAM, not what was to come into it. */
  placeDeferred(): void {
    for (const index of [...this.deferred.keys()]) if (!this.back(index)) this.deferred.delete(index);
  }

  // Forgets the waiting content of [addr, addr+len) (it was unmapped).
  private forgetDeferred(addr: bigint, len: bigint): void {
    if (this.deferred.size === 0) return;
    const size = this.cpu.slotBytes, start = Number(addr), end = Number(addr + len);
    const first = Math.floor(start / size), last = Math.ceil(end / size) - 1;
    // By slot when the range is short, by waiting slot when it is long
    // (Go's runtime unmaps gigabytes).
    const indices = last - first + 1 > this.deferred.size
      ? [...this.deferred.keys()].filter((i) => i >= first && i <= last)
      : Array.from({ length: last - first + 1 }, (_, k) => first + k);
    for (const index of indices) {
      const list = this.deferred.get(index);
      if (!list) continue;
      const base = index * size, from = Math.max(start - base, 0), to = Math.min(end - base, size);
      // The parts of each piece before and after [from, to).
      const kept = list.flatMap(({ at, bytes }) => [
        ...(at < from ? [{ at, bytes: bytes.subarray(0, Math.min(bytes.length, from - at)) }] : []),
        ...(at + bytes.length > to ? [{ at: Math.max(at, to), bytes: bytes.subarray(Math.max(at, to) - at) }] : []),
      ]);
      if (kept.length > 0) this.deferred.set(index, kept); else this.deferred.delete(index);
    }
  }

  /** Unmaps [addr, addr+len); the pages read as zero from now on. */
  unmap(addr: bigint, len: bigint): void {
    this.onUnmap?.(addr, len);
    this.forgetDeferred(addr, len);
    this.eachLeaf(addr, len, (index, from, to) => {
      const leaf = this.leaves.get(index);
      if (!leaf) return;
      // Permissions first: pages that can no longer be written and are then
      // cleared are known to be zero (Cpu.scrub need not read them again).
      this.eachBacked(index, leaf, from, to, (a, pages) => this.cpu.setPagePermissions(a, pages * PAGE_SIZE, 0));
      this.clearOpened(index, leaf, from, to);
      // (Counted in locals: Go's runtime unmaps hundreds of MiB at its start.)
      const pages = leaf.pages;
      let unmapped = 0, pastEof = 0;
      if (from === 0 && to === LEAF_PAGES && this.pastEofCount === 0) {
        // A whole leaf (a page is non-zero exactly when it is mapped).
        unmapped = leaf.mapped;
        pages.fill(0);
      } else {
        for (let i = from; i < to; i++) {
          const v = pages[i];
          if (!v) continue;
          if (v & PAST_EOF) pastEof++;
          pages[i] = 0;
          unmapped++;
        }
      }
      leaf.mapped -= unmapped;
      this.mappedCount -= unmapped;
      this.pastEofCount -= pastEof;
      this.releaseEmpty(index, leaf, from, to);
    });
    this.ranges.remove(Number(pageDown(addr) / PAGE), Number(pageUp(addr + len) / PAGE));
  }

  /**
   * Moves the mapped pages of [from, from+len) to the free range [to, to+len)
   * (mremap), page by page, so that the pair never counts twice towards the
   * peak. The destination already reads as zero: only pages holding
   * something are copied (and cleared behind).
   */
  move(from: bigint, to: bigint, len: bigint, perms: number): void {
    for (let off = 0n; off < len; off += PAGE) {
      const src = from + off, dst = to + off;
      const state = this.state(src) ?? 0;
      if (!state) continue;
      // (Content waiting for the source's slot is placed: it moves too.)
      const slot = Number(src / BigInt(this.cpu.slotBytes));
      if (this.deferred.has(slot)) this.back(slot);
      this.setPages(dst, PAGE, perms, true);
      // A page without RAM, or never touched, is zero: not read (reading
      // would commit it).
      if (this.hasRam(src) && this.cpu.isTouched(src) && !this.isZeroPage(src)) {
        this.cpu.writeBytes(dst, this.cpu.readBytes(src, PAGE_SIZE));
      }
      if (state & PAST_EOF) this.markPastEof(dst, PAGE);
      this.unmap(src, PAGE);
    }
  }

  /**
   * Makes `child`, a new and empty address space on a CPU of its own, a
   * copy of this one (fork): the same mappings and permissions, and RAM for
   * the same slots holding the same bytes. Only pages that may hold
   * something (touched) are copied, so the child's memory counts what the
   * parent's does and no untouched page is committed on either side.
   * Throws OutOfChunks when the child's RAM cannot hold it.
   */
  copyInto(child: AddressSpace): void {
    child.ranges = this.ranges.clone();
    // (Pieces are views of the program's bytes, which never change.)
    child.deferred = new Map([...this.deferred].map(([index, list]) => [index, [...list]]));
    child.mappedCount = this.mappedCount;
    child.peakCount = this.mappedCount;
    child.pastEofCount = this.pastEofCount;
    const n = this.slotPages;
    for (const [index, leaf] of this.leaves) {
      const copy = newLeaf(n);
      copy.pages.set(leaf.pages);
      copy.mapped = leaf.mapped;
      child.leaves.set(index, copy);
      for (let s = 0; s < leaf.chunks.length; s++) {
        if (leaf.chunks[s] === 0) continue;
        const slotIndex = index * (LEAF_PAGES / n) + s;
        if (!child.back(slotIndex)) continue;
        for (let i = s * n; i < s * n + n; i++) {
          const a = this.address(index, i);
          if (leaf.pages[i] && this.cpu.isTouched(a)) child.cpu.writeBytes(a, this.cpu.peekBytes(a, PAGE_SIZE));
        }
        // Permissions again, now that the pages are touched (a writable
        // page then needs no first-store fault).
        for (let i = s * n; i < s * n + n; i++) {
          const p = copy.pages[i];
          if (p & 7 && !(p & PAST_EOF)) child.cpu.setPagePermissions(this.address(index, i), PAGE_SIZE, p & 7);
        }
      }
    }
  }

  /** Marks the mapped pages of [addr, addr+len) as lying past the end of their file. */
  markPastEof(addr: bigint, len: bigint): void {
    this.eachLeaf(addr, len, (index, from, to) => {
      const leaf = this.leaves.get(index);
      if (!leaf) return;
      for (let i = from; i < to; i++) {
        if (!leaf.pages[i] || leaf.pages[i] & PAST_EOF) continue;
        leaf.pages[i] |= PAST_EOF;
        this.pastEofCount++;
      }
    });
    this.hidePastEof(addr, len);
  }

  /** Whether addr is in a page of a file mapping past the end of the file (SIGBUS). */
  isPastEof(addr: bigint): boolean {
    return ((this.state(addr) ?? 0) & PAST_EOF) !== 0;
  }

  // The CPU must fault on every access to a PAST_EOF page.
  private hidePastEof(addr: bigint, len: bigint): void {
    if (this.pastEofCount === 0) return;
    this.eachLeaf(addr, len, (index, from, to) => {
      const leaf = this.leaves.get(index);
      if (!leaf) return;
      this.eachBacked(index, leaf, from, to, (a, pages) => {
        const first = Number(a / PAGE) - index * LEAF_PAGES;
        for (let i = first; i < first + pages; i++) if (leaf.pages[i] & PAST_EOF) this.cpu.setPagePermissions(this.address(index, i), PAGE_SIZE, 0);
      });
    });
  }

  // Zeroes the pages [from, to) of a leaf that the guest could have written
  // (OPENED) and that have RAM, in runs, and of those only the ones a store
  // or ring -1 has touched (Cpu.clearTouchedPages): a page never touched is
  // not yet backed by host memory, and reading or filling it could commit it.
  private clearOpened(index: number, leaf: Leaf, from: number, to: number): void {
    this.eachBacked(index, leaf, from, to, (a, pages) => {
      const first = Number(a / PAGE) - index * LEAF_PAGES, end = first + pages;
      for (let i = first; i < end; i++) {
        if (!(leaf.pages[i] & OPENED)) continue;
        let j = i + 1;
        while (j < end && leaf.pages[j] & OPENED) j++;
        this.cpu.clearTouchedPages(this.address(index, i), (j - i) * PAGE_SIZE);
        i = j;
      }
    });
  }

  private isZeroPage(a: bigint): boolean {
    const bytes = this.cpu.peekBytes(a, PAGE_SIZE);
    // One word view of all linear memory (made again if memory grew):
    // guest pages are 4-byte aligned in it.
    if (this.words?.buffer !== bytes.buffer) this.words = new Int32Array(bytes.buffer);
    const w = this.words;
    for (let k = bytes.byteOffset >> 2, end = k + PAGE_SIZE / 4; k < end; k++) if (w[k] !== 0) return false;
    return true;
  }

  /** Changes the permissions of mapped pages; false (ENOMEM) if any page is unmapped. */
  protect(addr: bigint, len: bigint, perms: number): boolean {
    if (!this.isMapped(addr, len)) return false;
    this.setPages(addr, pageUp(len), perms, false);
    return true;
  }

  /** Clears mapped pages to zero (MADV_DONTNEED on private anonymous memory). */
  zero(addr: bigint, len: bigint): void {
    this.eachLeaf(addr, len, (index, from, to) => {
      const leaf = this.leaves.get(index);
      if (leaf) this.clearOpened(index, leaf, from, to);
    });
  }

  /** Permissions of the page at addr, or undefined when unmapped. */
  permissions(addr: bigint): number | undefined {
    const p = this.state(addr);
    return p ? p & 7 : undefined;
  }

  /** The highest free range of `len` bytes inside [low, high), or undefined. */
  findFree(len: bigint, low: bigint, high: bigint): bigint | undefined {
    const need = Number(pageUp(len) / PAGE);
    const bottom = Number(pageUp(low < this.base ? this.base : low) / PAGE);
    const top = Number(pageDown(high > this.end ? this.end : high) / PAGE);
    if (need === 0 || top - bottom < need) return undefined;
    const at = this.ranges.findFree(need, bottom, top);
    return at < 0 ? undefined : BigInt(at) * PAGE;
  }

  /**
   * A page fault at `addr` that demand paging serves: the slot holding it
   * has no RAM yet and a page in it is mapped. Gives the slot its RAM and
   * returns true (the guest runs the access again); false for a fault the
   * guest must be told of. Throws OutOfChunks when RAM is all in use.
   */
  faultIn(addr: bigint): boolean {
    if (addr < 0n || addr >= this.end) return false;
    const index = Number(addr / BigInt(this.cpu.slotBytes));
    const leaf = this.leaves.get(Math.floor(index * this.slotPages / LEAF_PAGES));
    if (!leaf) return false;
    if (leaf.chunks[index % leaf.chunks.length] === 0) return this.back(index);
    const state = this.state(addr) ?? 0;
    if (state & (WITHHOLD_W | HIDDEN) && !(state & PAST_EOF)) return this.onSharedFault?.(addr) ?? false;
    return false;
  }

  // The state of the page at addr (0: free), or undefined outside any leaf in use.
  private state(addr: bigint): number | undefined {
    if (addr < 0n || addr >= this.end) return undefined;
    const page = Number(addr / PAGE), leaf = this.leaves.get(Math.floor(page / LEAF_PAGES));
    return leaf ? leaf.pages[page % LEAF_PAGES] : undefined;
  }

  private hasRam(addr: bigint): boolean {
    const page = Number(addr / PAGE), leaf = this.leaves.get(Math.floor(page / LEAF_PAGES));
    return leaf !== undefined && leaf.chunks[Math.floor((page % LEAF_PAGES) / this.slotPages)] !== 0;
  }

  private address(index: number, page: number): bigint { return BigInt(index * LEAF_PAGES + page) * PAGE; }

  // Maps (or with `mapping` false, changes) the pages of [addr, addr+len),
  // giving each `perms`, or what `perms` makes of its old permissions.
  private setPages(addr: bigint, len: bigint, perms: number | ((old: number) => number), mapping: boolean): void {
    this.eachLeaf(addr, len, (index, from, to) => {
      let leaf = this.leaves.get(index);
      if (!leaf) {
        leaf = newLeaf(this.slotPages);
        this.leaves.set(index, leaf);
      }
      const pages = leaf.pages, keep = PAST_EOF | OPENED | WITHHOLD_W | HIDDEN;
      let fresh = 0;
      // mprotect keeps a page past the end of its file so (map has unmapped
      // first). One loop per kind of `perms`, with no call per page: Go's
      // runtime maps hundreds of MiB at its start.
      if (typeof perms === 'number') {
        const set = MAPPED | (perms ? OPENED : 0) | perms;
        // (A page is non-zero exactly when it is mapped: in a leaf with
        // nothing mapped, every page is 0.)
        if (leaf.mapped === 0) { pages.fill(set, from, to); fresh = to - from; }
        else for (let i = from; i < to; i++) {
          const old = pages[i];
          if (!old) fresh++;
          pages[i] = (old & keep) | set;
        }
      } else {
        for (let i = from; i < to; i++) {
          const old = pages[i], p = perms(old & 7);
          if (!old) fresh++;
          pages[i] = MAPPED | (old & keep) | (p ? OPENED : 0) | p;
        }
      }
      if (mapping) { this.mappedCount += fresh; leaf.mapped += fresh; }
      this.pushPermissions(index, leaf, from, to);
    });
    if (this.mappedCount > this.peakCount) this.peakCount = this.mappedCount;
    if (mapping) this.ranges.add(Number(pageDown(addr) / PAGE), Number(pageUp(addr + len) / PAGE));
    this.hidePastEof(addr, len);
  }

  // Gives the CPU the permissions of pages [from, to) of a leaf. Slots
  // without RAM get theirs when they get RAM; the others now, in runs of
  // pages with the same permissions.
  private pushPermissions(index: number, leaf: Leaf, from: number, to: number): void {
    const pages = leaf.pages;
    this.eachBacked(index, leaf, from, to, (a, n) => {
      const first = Number(a / PAGE) - index * LEAF_PAGES, end = first + n;
      for (let i = first; i < end;) {
        const p = cpuPerms(pages[i]);
        let j = i + 1;
        while (j < end && cpuPerms(pages[j]) === p) j++;
        this.cpu.setPagePermissions(this.address(index, i), (j - i) * PAGE_SIZE, p);
        i = j;
      }
    });
  }

  /**
   * Sets what the CPU lets the guest do on the mapped pages of [addr,
   * addr+len) of a shared file mapping: 'open', the mapping's permissions;
   * 'clean', those without W (the first store faults: onSharedFault);
   * 'hidden', none (any access faults).
   */
  setShared(addr: bigint, len: bigint, state: SharedPageState): void {
    const bits = state === 'hidden' ? HIDDEN : state === 'clean' ? WITHHOLD_W : 0;
    this.eachLeaf(addr, len, (index, from, to) => {
      const leaf = this.leaves.get(index);
      if (!leaf) return;
      for (let i = from; i < to; i++) if (leaf.pages[i]) leaf.pages[i] = (leaf.pages[i] & ~(WITHHOLD_W | HIDDEN)) | bits;
      this.pushPermissions(index, leaf, from, to);
    });
  }

  /** The shared-mapping state of the page at addr ('open' for any other page). */
  sharedState(addr: bigint): SharedPageState {
    const s = this.state(addr) ?? 0;
    return s & HIDDEN ? 'hidden' : s & WITHHOLD_W ? 'clean' : 'open';
  }

  /** Marks the mapped pages of [addr, addr+len) as inside their file again
   *  (it grew: a write or ftruncate), with their permissions back. */
  clearPastEof(addr: bigint, len: bigint): void {
    if (this.pastEofCount === 0) return;
    this.eachLeaf(addr, len, (index, from, to) => {
      const leaf = this.leaves.get(index);
      if (!leaf) return;
      for (let i = from; i < to; i++) {
        if (!(leaf.pages[i] & PAST_EOF)) continue;
        leaf.pages[i] &= ~PAST_EOF;
        this.pastEofCount--;
      }
      this.pushPermissions(index, leaf, from, to);
    });
  }

  // Gives slot `index` RAM (all zero, untouched) and its pages their
  // permissions, if a page in it is mapped; false if none is.
  private back(index: number): boolean {
    const n = this.slotPages, firstPage = index * n;
    const leafIndex = Math.floor(firstPage / LEAF_PAGES), leaf = this.leaves.get(leafIndex);
    const from = firstPage - leafIndex * LEAF_PAGES;
    if (!leaf || leaf.pages.subarray(from, from + n).every((p) => p === 0)) return false;
    let chunk = this.freeChunks.pop();
    if (chunk === undefined) {
      // Linear memory grows as chunks are first handed out (Cpu.holdRam).
      if (!this.cpu.holdRam(this.nextChunk + this.cpu.slotBytes)) throw new OutOfChunks();
      chunk = this.nextChunk;
      this.nextChunk += this.cpu.slotBytes;
    }
    leaf.chunks[from / n] = chunk;
    this.cpu.setSlot(index, chunk);
    for (let i = from; i < from + n; i++) {
      const p = cpuPerms(leaf.pages[i]);
      if (p) this.cpu.setPagePermissions(this.address(leafIndex, i), PAGE_SIZE, p);
    }
    const waiting = this.deferred.get(index);
    if (waiting) {
      this.deferred.delete(index);
      const base = index * this.cpu.slotBytes;
      for (const { at, bytes } of waiting) this.place(BigInt(base + at), bytes);
    }
    return true;
  }

  // The slots of pages [from, to) of a leaf with nothing mapped give their
  // RAM back, scrubbed (ring -1 may have written into pages no mapping
  // owned); a leaf with nothing mapped goes.
  private releaseEmpty(index: number, leaf: Leaf, from: number, to: number): void {
    const n = this.slotPages;
    if (leaf.mapped === 0) [from, to] = [0, LEAF_PAGES];
    for (let s = Math.floor(from / n); s * n < to; s++) {
      const chunk = leaf.chunks[s];
      if (chunk === 0 || leaf.pages.subarray(s * n, s * n + n).some((p) => p !== 0)) continue;
      const a = this.address(index, s * n);
      this.cpu.clearTouchedPages(a, n * PAGE_SIZE);
      this.cpu.setPagePermissions(a, n * PAGE_SIZE, 0);
      this.cpu.setSlot(index * (LEAF_PAGES / n) + s, undefined);
      leaf.chunks[s] = 0;
      this.freeChunks.push(chunk);
    }
    if (leaf.mapped === 0) this.leaves.delete(index);
  }

  // ---- checkpoints (docs/CHECKPOINTS.md, "A process VM's checkpoint") ----

  /** The mappings as a record: the chunk allocator (the next chunk never
   *  used, the free ones in order), the counts, and per 2 MiB leaf with
   *  anything mapped (by index) its pages' states and its slots' chunks.
   *  The CPU's record holds the slot table and the permissions it enforces. */
  save(): Uint8Array {
    const w = new RecordWriter(ADDRESS_SPACE_RECORD_TAG, ADDRESS_SPACE_RECORD_VERSION)
      .u32(this.nextChunk).u32s(this.freeChunks)
      .u32(this.mappedCount).u32(this.peakCount).u32(this.pastEofCount)
      .u32(this.leaves.size);
    for (const index of [...this.leaves.keys()].sort((a, b) => a - b)) {
      const leaf = this.leaves.get(index)!;
      w.u32(index).bytes(leaf.pages).u32s(leaf.chunks);
    }
    return w.finish();
  }

  /** Takes the mappings of a record save() wrote, into this address space,
   *  new and empty, on a CPU the CPU's record has been restored onto. All
   *  of it is checked first (CheckpointError): a refused record changes nothing. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, ADDRESS_SPACE_RECORD_TAG, [ADDRESS_SPACE_RECORD_VERSION]);
    const slot = this.cpu.slotBytes, ram = Number(this.cpu.ramLength);
    const nextChunk = r.u32('the next chunk'), freeChunks = r.u32s('the free chunks');
    const mappedCount = r.u32('the pages mapped'), peakCount = r.u32('the peak'), pastEofCount = r.u32('the pages past EOF');
    const leafCount = r.u32('the leaf count');
    const leaves = new Map<number, Leaf>();
    const chunkOk = (c: number) => c !== 0 && c % slot === 0 && c < nextChunk;
    if (nextChunk < slot || nextChunk % slot !== 0 || nextChunk > ram) r.invalid(`next chunk 0x${nextChunk.toString(16)}`);
    const used = new Set<number>();
    for (const c of freeChunks) {
      if (!chunkOk(c) || used.has(c)) r.invalid(`free chunk 0x${c.toString(16)}`);
      used.add(c);
    }
    const leafLimit = Number(USER_END / PAGE) / LEAF_PAGES;
    let mapped = 0, pastEof = 0, last = -1;
    for (let i = 0; i < leafCount; i++) {
      const index = r.u32('a leaf index'), pages = r.bytes('a leaf\'s pages'), chunks = r.u32s('a leaf\'s chunks');
      if (index <= last || index >= leafLimit) r.invalid(`leaf ${index} out of range or out of order`);
      last = index;
      if (pages.length !== LEAF_PAGES || chunks.length !== LEAF_PAGES / this.slotPages) r.invalid(`leaf ${index} of ${pages.length} pages and ${chunks.length} slots`);
      let n = 0;
      for (const p of pages) {
        if (p === 0) continue;
        if (!(p & MAPPED)) r.invalid(`leaf ${index}: a page state 0x${p.toString(16)} without MAPPED`);
        n++;
        if (p & PAST_EOF) pastEof++;
      }
      if (n === 0) r.invalid(`leaf ${index} has nothing mapped`);
      for (let s = 0; s < chunks.length; s++) {
        const c = chunks[s];
        if (c === 0) continue;
        if (!chunkOk(c) || used.has(c)) r.invalid(`leaf ${index}'s chunk 0x${c.toString(16)}`);
        used.add(c);
      }
      mapped += n;
      leaves.set(index, { pages, mapped: n, chunks });
    }
    r.end();
    if (mapped !== mappedCount || peakCount < mappedCount || pastEof !== pastEofCount) {
      r.invalid(`counts ${mappedCount} mapped (${mapped} found), peak ${peakCount}, ${pastEofCount} past EOF (${pastEof} found)`);
    }
    if (this.leaves.size !== 0) throw new Error('AddressSpace.restore: the address space is not new');
    for (const [index, leaf] of leaves) {
      this.leaves.set(index, leaf);
      // Ranges of mapped pages, rebuilt from the states.
      for (let p = 0; p < LEAF_PAGES;) {
        if (!leaf.pages[p]) { p++; continue; }
        let q = p;
        while (q < LEAF_PAGES && leaf.pages[q]) q++;
        this.ranges.add(index * LEAF_PAGES + p, index * LEAF_PAGES + q);
        p = q;
      }
    }
    this.freeChunks.push(...freeChunks);
    this.nextChunk = nextChunk;
    this.mappedCount = mappedCount;
    this.peakCount = peakCount;
    this.pastEofCount = pastEofCount;
  }
}

/** RAM is all in use by slots of the address space: the guest cannot have more (ENOMEM, or the out-of-memory kill). */
export class OutOfChunks extends Error {
  constructor() {
    super('guest RAM is all in use: no 64 KiB chunk for another slot of the address space');
    this.name = 'OutOfChunks';
  }
}
