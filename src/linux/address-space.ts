// The process VM's address space: which 4 KiB pages of guest RAM are mapped
// and with what permissions. The CPU enforces the permissions (its page
// permission table, MEMORY_PAGE_PERMS); this side decides them, finds room for
// new mappings and keeps the rule that every unmapped page reads as zero, so
// a new anonymous mapping needs no clearing.
import { type Cpu, PAGE_SIZE, Perm } from '../cpu/cpu.js';

const PAGE = BigInt(PAGE_SIZE);
const MAPPED = 0x80; // in `pages` only: the page is mapped (possibly PROT_NONE)
// In `pages` only: a page of a file mapping wholly past the end of the file.
// Linux (and QEMU) send SIGBUS for any access to it, so the CPU sees no
// permission there whatever mprotect says; the fault is told apart here.
const PAST_EOF = 0x40;
// In `pages` only: the page has had some permission since it was mapped, so
// it may hold something. A page mapped PROT_NONE and never opened (Go's
// runtime reserves hundreds of MiB so) still reads as zero: unmapping it
// need not look at its bytes.
const OPENED = 0x20;

export function pageDown(a: bigint): bigint { return a & ~(PAGE - 1n); }
export function pageUp(a: bigint): bigint { return (a + PAGE - 1n) & ~(PAGE - 1n); }

/** Linux PROT_* bits as CPU permissions: on RISC-V a writable page is also readable. */
export function permsForProt(prot: number): number {
  let p = prot & (Perm.R | Perm.W | Perm.X);
  if (p & Perm.W) p |= Perm.R;
  return p;
}

export class AddressSpace {
  /** Per page: 0 when free, else MAPPED | permissions. */
  private readonly pages: Uint8Array;
  private mappedCount = 0;
  private peakCount = 0;
  private words: Int32Array | undefined;
  /** How many PAST_EOF pages exist (none in most programs: no per-page work then). */
  private pastEofCount = 0;

  constructor(private readonly cpu: Cpu) {
    this.pages = new Uint8Array(Number(cpu.ramLength / PAGE));
  }

  get base(): bigint { return this.cpu.ramStart; }
  get end(): bigint { return this.cpu.ramStart + this.cpu.ramLength; }
  /** Largest number of bytes mapped at once. */
  get peakBytes(): number { return this.peakCount * PAGE_SIZE; }

  private pageIndex(addr: bigint): number { return Number((addr - this.base) / PAGE); }

  /** Whether [addr, addr+len) is page-aligned and lies inside guest RAM. */
  inRange(addr: bigint, len: bigint): boolean {
    return addr % PAGE === 0n && addr >= this.base && len >= 0n && addr + len <= this.end;
  }

  isFree(addr: bigint, len: bigint): boolean {
    if (!this.inRange(addr, pageUp(len))) return false;
    for (let i = this.pageIndex(addr), n = this.pageIndex(addr + pageUp(len)); i < n; i++) if (this.pages[i]) return false;
    return true;
  }

  isMapped(addr: bigint, len: bigint): boolean {
    if (!this.inRange(addr, pageUp(len))) return false;
    for (let i = this.pageIndex(addr), n = this.pageIndex(addr + pageUp(len)); i < n; i++) if (!this.pages[i]) return false;
    return true;
  }

  /** Maps the pages of [addr, addr+len) with `perms`, replacing (and clearing) what was there. */
  map(addr: bigint, len: bigint, perms: number): void {
    this.unmap(addr, len);
    this.setPages(addr, len, perms, true);
  }

  /** Adds `perms` to pages that may already be mapped (ELF segments sharing a page). */
  mapMerge(addr: bigint, len: bigint, perms: number): void {
    const start = pageDown(addr), end = pageUp(addr + len);
    for (let a = start; a < end; a += PAGE) {
      const i = this.pageIndex(a);
      this.setPages(a, PAGE, (this.pages[i] & 7) | perms, true);
    }
  }

  /** Unmaps [addr, addr+len); the pages read as zero from now on. */
  unmap(addr: bigint, len: bigint): void {
    const end = pageUp(addr + len);
    // Indices as numbers, addresses only for mapped pages: programs (Go's
    // runtime) unmap large, mostly unused reservations often.
    const first = this.pageIndex(pageDown(addr)), last = this.pageIndex(end);
    // Permissions first: pages that can no longer be written and are then
    // cleared are known to be zero (Cpu.scrub need not read them again).
    this.cpu.setPagePermissions(pageDown(addr), Number(end - pageDown(addr)), 0);
    this.clearOpened(first, last);
    for (let i = first; i < last; i++) {
      if (!this.pages[i]) continue;
      if (this.pages[i] & PAST_EOF) this.pastEofCount--;
      this.pages[i] = 0;
      this.mappedCount--;
    }
  }

  /**
   * Moves the mapped pages of [from, from+len) to the free range [to, to+len)
   * (mremap), page by page, so that the pair never counts twice towards the
   * peak. The destination already reads as zero: only pages holding
   * something are copied (and cleared behind).
   */
  move(from: bigint, to: bigint, len: bigint, perms: number): void {
    for (let off = 0n; off < len; off += PAGE) {
      const i = this.pageIndex(from + off), j = this.pageIndex(to + off);
      // A page never touched is zero: not read (reading would commit it).
      if (this.cpu.isTouched(from + off) && !this.isZeroPage(from + off)) {
        this.cpu.writeBytes(to + off, this.cpu.readBytes(from + off, PAGE_SIZE));
        this.cpu.clearTouchedPages(from + off, PAGE_SIZE);
      }
      const kept = this.pages[i] & (PAST_EOF | OPENED);
      if (this.pages[i]) this.mappedCount--;
      this.pages[i] = 0;
      if (!this.pages[j]) this.mappedCount++;
      this.pages[j] = MAPPED | kept | (perms ? OPENED : 0) | perms;
    }
    if (this.mappedCount > this.peakCount) this.peakCount = this.mappedCount;
    this.cpu.setPagePermissions(from, Number(len), 0);
    this.cpu.setPagePermissions(to, Number(len), perms);
    this.hidePastEof(to, len);
  }

  /** Marks the mapped pages of [addr, addr+len) as lying past the end of their file. */
  markPastEof(addr: bigint, len: bigint): void {
    const first = this.pageIndex(pageDown(addr)), last = this.pageIndex(pageUp(addr + len));
    for (let i = first; i < last; i++) {
      if (!this.pages[i] || this.pages[i] & PAST_EOF) continue;
      this.pages[i] |= PAST_EOF;
      this.pastEofCount++;
    }
    this.hidePastEof(addr, len);
  }

  /** Whether addr is in a page of a file mapping past the end of the file (SIGBUS). */
  isPastEof(addr: bigint): boolean {
    if (addr < this.base || addr >= this.end) return false;
    return (this.pages[this.pageIndex(addr)] & PAST_EOF) !== 0;
  }

  // The CPU must fault on every access to a PAST_EOF page.
  private hidePastEof(addr: bigint, len: bigint): void {
    if (this.pastEofCount === 0) return;
    const first = this.pageIndex(pageDown(addr)), last = this.pageIndex(pageUp(addr + len));
    for (let i = first; i < last; i++) {
      if (this.pages[i] & PAST_EOF) this.cpu.setPagePermissions(this.base + BigInt(i) * PAGE, PAGE_SIZE, 0);
    }
  }

  // Zeroes the pages with index in [first, last) that the guest could have
  // written (OPENED), in runs, and of those only the ones a store or ring -1
  // has touched (Cpu.clearTouchedPages): a page never touched is not yet
  // backed by host memory, and reading or filling it could commit it
  // (hundreds of MiB for a large sparse mapping). Thread stacks of 8 MiB are
  // released with MADV_DONTNEED at every thread exit.
  private clearOpened(first: number, last: number): void {
    for (let i = first; i < last; i++) {
      if (!(this.pages[i] & OPENED)) continue;
      let j = i + 1;
      while (j < last && this.pages[j] & OPENED) j++;
      this.cpu.clearTouchedPages(this.base + BigInt(i) * PAGE, (j - i) * PAGE_SIZE);
      i = j;
    }
  }

  private isZeroPage(a: bigint): boolean {
    const bytes = this.cpu.guestBytes(a, PAGE_SIZE);
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
    this.clearOpened(this.pageIndex(pageDown(addr)), this.pageIndex(pageUp(addr + len)));
  }

  /** Permissions of the page at addr, or undefined when unmapped. */
  permissions(addr: bigint): number | undefined {
    if (addr < this.base || addr >= this.end) return undefined;
    const p = this.pages[this.pageIndex(addr)];
    return p ? p & 7 : undefined;
  }

  /** The highest free range of `len` bytes inside [low, high), or undefined. */
  findFree(len: bigint, low: bigint, high: bigint): bigint | undefined {
    const need = Number(pageUp(len) / PAGE);
    let run = 0;
    for (let i = this.pageIndex(pageDown(high)) - 1, stop = this.pageIndex(pageUp(low)); i >= stop; i--) {
      run = this.pages[i] ? 0 : run + 1;
      if (run === need) return this.base + BigInt(i) * PAGE;
    }
    return undefined;
  }

  private setPages(addr: bigint, len: bigint, perms: number, mapping: boolean): void {
    const first = this.pageIndex(pageDown(addr)), last = this.pageIndex(pageUp(addr + len));
    for (let i = first; i < last; i++) {
      if (mapping && !this.pages[i]) this.mappedCount++;
      // mprotect keeps a page past the end of its file so (map has unmapped first).
      this.pages[i] = MAPPED | (this.pages[i] & (PAST_EOF | OPENED)) | (perms ? OPENED : 0) | perms;
    }
    if (this.mappedCount > this.peakCount) this.peakCount = this.mappedCount;
    this.cpu.setPagePermissions(this.base + BigInt(first) * PAGE, (last - first) * PAGE_SIZE, perms);
    this.hidePastEof(addr, len);
  }
}
