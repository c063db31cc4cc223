// The process VM's address space: which 4 KiB pages of guest RAM are mapped
// and with what permissions. The CPU enforces the permissions (its page
// permission table, MEMORY_PAGE_PERMS); this side decides them, finds room for
// new mappings and keeps the rule that every unmapped page reads as zero, so
// a new anonymous mapping needs no clearing.
import { type Cpu, PAGE_SIZE, Perm } from '../cpu/cpu.js';

const PAGE = BigInt(PAGE_SIZE);
const MAPPED = 0x80; // in `pages` only: the page is mapped (possibly PROT_NONE)

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
    for (let a = pageDown(addr); a < end; a += PAGE) {
      const i = this.pageIndex(a);
      if (!this.pages[i]) continue;
      this.cpu.fill(a, PAGE_SIZE, 0);
      this.pages[i] = 0;
      this.mappedCount--;
    }
    this.cpu.setPagePermissions(pageDown(addr), Number(end - pageDown(addr)), 0);
  }

  /** Changes the permissions of mapped pages; false (ENOMEM) if any page is unmapped. */
  protect(addr: bigint, len: bigint, perms: number): boolean {
    if (!this.isMapped(addr, len)) return false;
    this.setPages(addr, pageUp(len), perms, false);
    return true;
  }

  /** Clears mapped pages to zero (MADV_DONTNEED on private anonymous memory). */
  zero(addr: bigint, len: bigint): void {
    this.cpu.fill(addr, Number(pageUp(len)), 0);
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
      this.pages[i] = MAPPED | perms;
    }
    if (this.mappedCount > this.peakCount) this.peakCount = this.mappedCount;
    this.cpu.setPagePermissions(this.base + BigInt(first) * PAGE, (last - first) * PAGE_SIZE, perms);
  }
}
