// MAP_SHARED mappings of files: what a process stores to one reaches the
// file, and what the file gets otherwise reaches the mapping, as Linux's one
// page cache per file makes it.
//
// A mapping here is guest RAM of its own, filled from the file as a private
// mapping is, and the CPU stores to it without asking ring -1. Two rules
// make it coherent, both enforced with page permissions (AddressSpace
// setShared), so that the guest pays only on the first access after each
// change, and a program that maps nothing shared pays nothing:
//
// - Dirty tracking. A page that holds what the file holds is "clean": the
//   CPU has its W withheld, so the first store faults to ring -1, which
//   marks the page dirty and gives W back (one fault per page between
//   write-backs). A write-back writes the dirty pages' bytes to the file
//   (never past its end: a mapping does not grow its file) and makes them
//   clean again. Write-backs happen before any other access to the file:
//   read, write, lseek, fstat, ftruncate, fsync and close of any
//   description of it (fs/mapped-files.ts), a new mapping of it; and on
//   msync, munmap (and mmap over), and when the process's descriptors
//   close at exit. A write(2) or ftruncate of the file then puts the new
//   bytes into the mappings (and a file that grew or shrank moves the
//   SIGBUS line past its end). So read(2) after a store sees the store,
//   and a mapping sees a write(2) at once, as on Linux; only a reader that
//   does not go through this process (another process, the host) sees
//   stores no earlier than the next of those events.
// - One current copy. When two mappings of the process cover one file
//   page, one of them holds its current bytes; the other's page is
//   "hidden" (the CPU gives it no permission at all). Any access to a
//   hidden page faults to ring -1, which copies the holder's bytes (dirty
//   or not) into it and hides the holder's page instead. A store through
//   one mapping is thus what the next load through the other sees.
//   Mapping the same RAM twice is not possible: the CPU's slots are 64
//   KiB and their page permissions belong to the RAM, not to the address.
//
// System calls that touch a withheld page (read(2) into a mapping, write(2)
// from a hidden one) are served the same way (UserMemory.onInaccessible).
import type { ProcessVM } from './process-vm.js';
import type { AddressSpace } from './address-space.js';
import { PAGE_SIZE, Perm } from '../cpu/cpu.js';
import type { FileDescription } from './fs/file-table.js';
import { FsError, type OpenFile } from './fs/types.js';
import { fileKey, fileUse, fileWritten, unwatchMappedFiles, watchMappedFiles, type MappedFileWatcher } from './fs/mapped-files.js';

const PAGE = BigInt(PAGE_SIZE);
// Per page of a mapping.
const DIRTY = 1; // stored to since last written back (the CPU lets it store)
const HIDDEN = 2; // another mapping of the process holds the file page's bytes

interface SharedMapping {
  /** The first page's address. */
  addr: bigint;
  pages: number;
  /** The file page the first page shows (mmap's offset / 4096). */
  filePage: number;
  /** Held while mapped (its refs counted), as a VMA holds its file. */
  description: FileDescription;
  key: string;
  /** Per page: DIRTY, HIDDEN. */
  state: Uint8Array;
  /** Pages with DIRTY set. */
  dirty: number;
}

/** A MAP_PRIVATE mapping of a file, remembered for MADV_DONTNEED (which
 *  shows the file's bytes again) and holding its file as Linux's does. */
interface PrivateMapping {
  addr: bigint;
  pages: number;
  filePage: number;
  description: FileDescription;
}

const registry = new WeakMap<AddressSpace, SharedMaps>();

/**
 * fork: the child's copy of the address space gets mappings of its own of
 * the same files, after the parent's stores are written back, so both start
 * from what the file holds. The two processes then meet through the file
 * (every registry watches every file access: a read in one writes back the
 * other's stores), not at each store as Linux's shared page cache makes it.
 */
export function forkSharedMaps(parent: ProcessVM, child: ProcessVM): void {
  sharedMaps(parent)?.forkInto(child);
}

/** The process's shared file mappings; made at the first one when `create`. */
export function sharedMaps(p: ProcessVM, create = false): SharedMaps | undefined {
  const space = p.memory.space;
  let s = registry.get(space);
  if (!s && create) registry.set(space, s = new SharedMaps(p));
  return s;
}

export class SharedMaps implements MappedFileWatcher {
  private maps: SharedMapping[] = [];
  private privates: PrivateMapping[] = [];
  private readonly space: AddressSpace;
  /** Page faults and system-call accesses served (for tests and --stats). */
  faults = 0;
  /** Pages written back to files. */
  pagesWritten = 0;

  constructor(private readonly p: ProcessVM) {
    const space = this.space = p.memory.space;
    space.onUnmap = (addr, len) => this.unmapping(addr, len);
    space.onSharedFault = (addr) => this.fault(addr);
    p.user.onInaccessible = (addr) => (space.sharedState(addr) !== 'open' && !space.isPastEof(addr) ? this.fault(addr) : false);
    p.files.beforeCloseAll.add(() => this.release());
  }

  /** Writes back every mapping's stores: when another process of the VM
   *  is to run (processes.ts), so that it sees them, as one page cache
   *  would show them. (Only dirty pages cost anything.) */
  syncAll(): void {
    for (const m of this.maps) if (m.dirty !== 0) this.writeBack(m, 0, m.pages, sizeOf(m.description.file));
  }

  /** Whether any shared mapping is in [addr, addr+len). */
  overlaps(addr: bigint, len: bigint): boolean {
    return this.maps.some((m) => m.addr < addr + len && addr < end(m));
  }

  /**
   * Makes the pages [addr, addr+pages*4096), just mapped and filled with the
   * file's bytes from `offset` on, a shared mapping of d's file.
   */
  add(addr: bigint, pages: number, offset: bigint, d: FileDescription): void {
    const key = fileKey(d.file);
    if (key === undefined) return; // a file that cannot say what it is: a private copy
    d.refs++;
    const m: SharedMapping = { addr, pages, filePage: Number(offset / PAGE), description: d, key, state: new Uint8Array(pages), dirty: 0 };
    this.space.setShared(addr, BigInt(pages) * PAGE, 'clean');
    // The file pages another mapping already shows: that one keeps them.
    for (const o of this.maps) {
      if (o.key !== key) continue;
      const from = Math.max(m.filePage, o.filePage), to = Math.min(m.filePage + pages, o.filePage + o.pages);
      if (from >= to) continue;
      m.state.fill(HIDDEN, from - m.filePage, to - m.filePage);
      this.space.setShared(pageAt(m, from - m.filePage), BigInt(to - from) * PAGE, 'hidden');
    }
    if (this.maps.length === 0) this.watch();
    this.maps.push(m);
  }

  // The first shared mapping: file accesses and system calls' writes matter.
  private watch(): void {
    watchMappedFiles(this);
    this.p.user.onCallWrote = (at, length) => this.callWrote(at, BigInt(length));
  }

  /** fork (forkSharedMaps): the child's registry, a copy of this one. */
  forkInto(child: ProcessVM): void {
    if (this.stale() || (this.maps.length === 0 && this.privates.length === 0)) return;
    for (const m of this.maps) if (m.dirty) this.writeBack(m, 0, m.pages, sizeOf(m.description.file));
    const c = sharedMaps(child, true)!;
    for (const m of this.privates) {
      m.description.refs++;
      c.privates.push({ ...m });
    }
    if (this.maps.length === 0) return;
    c.watch();
    for (const m of this.maps) {
      m.description.refs++;
      const copy = { ...m, state: m.state.slice(), dirty: 0 };
      c.maps.push(copy);
      // The copy of the pages has the mapping's permissions: withheld again.
      c.space.setShared(m.addr, BigInt(m.pages) * PAGE, 'clean');
      for (let i = 0; i < m.pages; i++) if (m.state[i] & HIDDEN) c.space.setShared(pageAt(m, i), PAGE, 'hidden');
    }
  }

  // No shared mapping is left: nothing to watch.
  private none(): void {
    unwatchMappedFiles(this);
    this.p.user.onCallWrote = undefined;
  }

  /** Remembers [addr, addr+pages*4096) as a private mapping of d's file from `offset`. */
  addPrivate(addr: bigint, pages: number, offset: bigint, d: FileDescription): void {
    d.refs++;
    this.privates.push({ addr, pages, filePage: Number(offset / PAGE), description: d });
  }

  /**
   * MADV_DONTNEED of [addr, addr+len), already cleared to zero: the pages
   * of private file mappings there show their file's bytes again, as
   * Linux's do when their private copies are dropped.
   */
  refill(addr: bigint, len: bigint): void {
    for (const m of this.privates) {
      if (!(m.addr < addr + len && addr < end(m))) continue;
      const file = m.description.file;
      fileUse(file);
      const size = sizeOf(file), [from, to] = pagesIn(m, addr, len);
      for (let i = from; i < to; i++) {
        const pos = (m.filePage + i) * PAGE_SIZE;
        if (pos >= size) break;
        const buf = new Uint8Array(Math.min(PAGE_SIZE, size - pos));
        let n = 0;
        try {
          while (n < buf.length) {
            const k = file.read(buf.subarray(n), pos + n);
            if (k <= 0) break;
            n += k;
          }
        } catch (e) {
          if (!(e instanceof FsError)) throw e;
        }
        if (n > 0) this.p.cpu.writeBytes(pageAt(m, i), buf.subarray(0, n));
      }
    }
  }

  /**
   * mremap of a shared mapping, first half: the file and offset that `addr`
   * shows, held (so that the move's unmapping does not close it) until
   * remapped() takes them; undefined when addr is not in a shared mapping.
   */
  hold(addr: bigint): { d: FileDescription; offset: bigint } | undefined {
    const m = this.maps.find((o) => o.addr <= addr && addr < end(o));
    if (!m) return undefined;
    m.description.refs++;
    return { d: m.description, offset: BigInt(m.filePage) * PAGE + (addr - m.addr) };
  }

  /** What a futex at `addr` is keyed by when memory there is shared with
   *  other processes: the file and the byte in it (get_futex_key's
   *  inode and offset); undefined outside shared mappings. */
  futexKey(addr: bigint): string | undefined {
    const m = this.maps.find((o) => o.addr <= addr && addr < end(o));
    return m && `${m.key}@${BigInt(m.filePage) * PAGE + (addr - m.addr)}`;
  }

  /** mremap, second half: [addr, addr+pages*4096), moved or grown, shows
   *  the held file from `offset` on again, shared. */
  remapped(addr: bigint, pages: number, held: { d: FileDescription; offset: bigint }): void {
    this.unmapping(addr, BigInt(pages) * PAGE); // what the move left of the old mapping there
    const size = sizeOf(held.d.file);
    const m: SharedMapping = { addr, pages, filePage: Number(held.offset / PAGE), description: held.d, key: '', state: new Uint8Array(pages), dirty: 0 };
    for (let i = 0; i < pages; i++) this.reload(m, i, size);
    this.add(addr, pages, held.offset, held.d);
    if (--held.d.refs === 0) held.d.release();
  }

  /** Whether PROT_WRITE may be given to [addr, addr+len): not on a shared
   *  mapping of a file not open for writing (mprotect's EACCES). */
  mayWrite(addr: bigint, len: bigint): boolean {
    return this.maps.every((m) => !(m.addr < addr + len && addr < end(m)) || m.description.writable);
  }

  /** msync: writes back the dirty pages in [addr, addr+len). */
  sync(addr: bigint, len: bigint): void {
    for (const m of this.maps) {
      if (m.dirty === 0 || !(m.addr < addr + len && addr < end(m))) continue;
      const [from, to] = pagesIn(m, addr, len);
      this.writeBack(m, from, to, sizeOf(m.description.file));
    }
  }

  // ---- the file's side (fs/mapped-files.ts) ----

  use(file: OpenFile): void {
    if (this.stale()) return;
    const key = fileKey(file);
    if (key === undefined) return;
    let size: number | undefined;
    for (const m of this.maps) {
      if (m.key !== key || m.dirty === 0) continue;
      size ??= sizeOf(file);
      this.writeBack(m, 0, m.pages, size);
    }
  }

  written(file: OpenFile, offset: number, length: number | undefined): void {
    if (this.stale()) return;
    const key = fileKey(file);
    if (key === undefined || !this.maps.some((m) => m.key === key)) return;
    const size = sizeOf(file);
    for (const m of this.maps) {
      if (m.key !== key) continue;
      // A write: the pages it changed. A new size: every page (those past
      // the end go, the last one's tail reads as zero, those the file
      // grew into come back).
      let from = 0, to = m.pages;
      if (length !== undefined) {
        from = Math.max(0, Math.floor(offset / PAGE_SIZE) - m.filePage);
        to = Math.min(m.pages, Math.ceil((offset + length) / PAGE_SIZE) - m.filePage);
      }
      for (let i = from; i < to; i++) this.reload(m, i, size);
    }
  }

  // ---- the memory's side ----

  // A fault (or a system call's access) on a page whose permissions are
  // withheld: true when served (the access runs again).
  private fault(addr: bigint): boolean {
    const m = this.maps.find((o) => o.addr <= addr && addr < end(o));
    if (!m) return false;
    const i = Number((addr - m.addr) / PAGE);
    if (m.state[i] & HIDDEN) {
      this.faults++;
      this.takeOver(m, i);
      return true;
    }
    if (m.state[i] & DIRTY || !((this.space.permissions(addr) ?? 0) & Perm.W)) return false;
    this.faults++;
    m.state[i] |= DIRTY;
    m.dirty++;
    this.space.setShared(pageAt(m, i), PAGE, 'open');
    return true;
  }

  // A system call wrote [addr, addr+len): the shared pages there are dirty
  // (they may have been written back between its check and its write).
  private callWrote(addr: bigint, len: bigint): void {
    for (const m of this.maps) {
      if (!(m.addr < addr + len && addr < end(m))) continue;
      const [from, to] = pagesIn(m, addr, len);
      for (let i = from; i < to; i++) {
        if (m.state[i] & (DIRTY | HIDDEN) || !((this.space.permissions(pageAt(m, i)) ?? 0) & Perm.W)) continue;
        m.state[i] |= DIRTY;
        m.dirty++;
        this.space.setShared(pageAt(m, i), PAGE, 'open');
      }
    }
  }

  // Page i of m becomes the one that holds its file page's bytes: they are
  // copied from the mapping that held them, whose page is hidden now.
  private takeOver(m: SharedMapping, i: number): void {
    const holder = this.holder(m.key, m.filePage + i);
    const at = pageAt(m, i);
    m.state[i] = 0;
    if (holder) {
      const [o, j] = holder, from = pageAt(o, j);
      const cpu = this.p.cpu;
      // A dirty page passes its dirt on, unless the new holder could not
      // write it back (its file open read-only): written back now then.
      if (o.state[j] & DIRTY && !m.description.writable) this.writeBack(o, j, j + 1, sizeOf(o.description.file));
      cpu.writeBytes(at, cpu.readBytes(from, PAGE_SIZE));
      if (o.state[j] & DIRTY) {
        o.dirty--;
        m.state[i] = DIRTY;
        m.dirty++;
      }
      o.state[j] = HIDDEN;
      this.space.setShared(from, PAGE, 'hidden');
    } else {
      this.reload(m, i, sizeOf(m.description.file));
    }
    this.space.setShared(at, PAGE, m.state[i] & DIRTY ? 'open' : 'clean');
  }

  // The mapping page that holds file page `filePage` of the file `key`.
  private holder(key: string, filePage: number): [SharedMapping, number] | undefined {
    for (const o of this.maps) {
      const j = filePage - o.filePage;
      if (o.key === key && j >= 0 && j < o.pages && !(o.state[j] & HIDDEN)) return [o, j];
    }
    return undefined;
  }

  // Writes the dirty pages among [from, to) of m to its file, up to the
  // file's `size`, and makes them clean.
  private writeBack(m: SharedMapping, from: number, to: number, size: number): void {
    const file = m.description.file, cpu = this.p.cpu;
    for (let i = from; i < to; i++) {
      if (!(m.state[i] & DIRTY)) continue;
      const pos = (m.filePage + i) * PAGE_SIZE, n = Math.min(PAGE_SIZE, size - pos);
      if (n > 0) {
        const bytes = cpu.readBytes(pageAt(m, i), n);
        try {
          for (let done = 0; done < n;) {
            const k = file.write(bytes.subarray(done), pos + done);
            if (k <= 0) break;
            done += k;
          }
        } catch (e) {
          // Linux keeps a write-back error for the next fsync or msync;
          // the bytes stay in the mapping either way.
          if (!(e instanceof FsError)) throw e;
        }
        this.pagesWritten++;
        // Another process's mappings of the file (after fork) see it.
        fileWritten(file, pos, n, this);
      }
      m.state[i] &= ~DIRTY;
      m.dirty--;
      this.space.setShared(pageAt(m, i), PAGE, 'clean');
    }
  }

  // Page i of m shows the file again (its size `size`): its bytes if it
  // holds them, and SIGBUS if it lies wholly past the end.
  private reload(m: SharedMapping, i: number, size: number): void {
    const at = pageAt(m, i), pos = (m.filePage + i) * PAGE_SIZE;
    if (pos >= size) {
      if (!this.space.isPastEof(at)) this.space.markPastEof(at, PAGE);
      return;
    }
    if (this.space.isPastEof(at)) this.space.clearPastEof(at, PAGE);
    // A page stored to since its write-back keeps its bytes (only another
    // process's write-back finds one: a write here writes back first).
    if (m.state[i] & (HIDDEN | DIRTY)) return;
    const buf = new Uint8Array(PAGE_SIZE), file = m.description.file;
    try {
      for (let n = 0; n < PAGE_SIZE;) {
        const k = file.read(buf.subarray(n), pos + n);
        if (k <= 0) break;
        n += k;
      }
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
    }
    this.p.cpu.writeBytes(at, buf);
  }

  // Pages [addr, addr+len) are about to be unmapped: the shared ones are
  // written back, the file pages they held pass to another mapping that
  // shows them, and the mappings shrink (or split, or go).
  private unmapping(addr: bigint, len: bigint): void {
    const released: FileDescription[] = [];
    if (this.privates.some((m) => m.addr < addr + len && addr < end(m))) this.unmapPrivate(addr, len, released);
    if (this.overlaps(addr, len)) this.unmapShared(addr, len, released);
    for (const d of released) d.release();
  }

  // Private file mappings in [addr, addr+len) shrink, split or go.
  private unmapPrivate(addr: bigint, len: bigint, released: FileDescription[]): void {
    const kept: PrivateMapping[] = [];
    for (const m of this.privates) {
      if (!(m.addr < addr + len && addr < end(m))) {
        kept.push(m);
        continue;
      }
      const [from, to] = pagesIn(m, addr, len);
      if (from > 0) kept.push({ ...m, pages: from });
      if (to < m.pages) kept.push({ ...m, addr: pageAt(m, to), pages: m.pages - to, filePage: m.filePage + to });
      m.description.refs += (from > 0 ? 1 : 0) + (to < m.pages ? 1 : 0) - 1;
      if (m.description.refs === 0) released.push(m.description);
    }
    this.privates = kept;
  }

  private unmapShared(addr: bigint, len: bigint, released: FileDescription[]): void {
    const kept: SharedMapping[] = [];
    for (const m of this.maps) {
      if (!(m.addr < addr + len && addr < end(m))) {
        kept.push(m);
        continue;
      }
      const [from, to] = pagesIn(m, addr, len);
      this.writeBack(m, from, to, sizeOf(m.description.file));
      for (let i = from; i < to; i++) {
        if (m.state[i] & HIDDEN) continue;
        // Another mapping that shows the file page (hidden, as m held it)
        // holds it now: m's bytes, written back, are the current ones.
        const next = this.other(m, m.filePage + i);
        if (!next) continue;
        const [o, j] = next;
        this.p.cpu.writeBytes(pageAt(o, j), this.p.cpu.readBytes(pageAt(m, i), PAGE_SIZE));
        o.state[j] = 0;
        this.space.setShared(pageAt(o, j), PAGE, 'clean');
      }
      if (from > 0) kept.push(piece(m, 0, from));
      if (to < m.pages) kept.push(piece(m, to, m.pages));
      const pieces = (from > 0 ? 1 : 0) + (to < m.pages ? 1 : 0);
      m.description.refs += pieces - 1;
      if (m.description.refs === 0) released.push(m.description);
    }
    this.maps = kept;
    if (kept.length === 0) this.none();
  }

  // A mapping other than m that shows file page `filePage` of m's file.
  private other(m: SharedMapping, filePage: number): [SharedMapping, number] | undefined {
    for (const o of this.maps) {
      const j = filePage - o.filePage;
      if (o !== m && o.key === m.key && j >= 0 && j < o.pages) return [o, j];
    }
    return undefined;
  }

  // Whether the process's address space is no longer this one (an exec
  // that did not call release() first): its pages cannot be written back,
  // so the mappings are only forgotten.
  private stale(): boolean {
    if (this.p.memory.space === this.space) return false;
    const maps = [...this.maps, ...this.privates];
    this.maps = [];
    this.privates = [];
    this.none();
    for (const m of maps) if (--m.description.refs === 0) m.description.release();
    return true;
  }

  /**
   * Writes everything back and lets the files go; the pages stay, as
   * private memory. At exit, before the descriptors close (a call into the
   * program afterwards, vmcall.ts, still finds them); an exec calls it
   * before the address space goes.
   */
  release(): void {
    const privates = this.privates;
    this.privates = [];
    for (const m of privates) if (--m.description.refs === 0) m.description.release();
    if (this.maps.length === 0) return;
    for (const m of this.maps) this.writeBack(m, 0, m.pages, sizeOf(m.description.file));
    for (const m of this.maps) {
      for (let i = 0; i < m.pages; i++) {
        if (m.state[i] & HIDDEN) {
          const holder = this.holder(m.key, m.filePage + i);
          if (holder) this.p.cpu.writeBytes(pageAt(m, i), this.p.cpu.readBytes(pageAt(holder[0], holder[1]), PAGE_SIZE));
        }
      }
    }
    const maps = this.maps;
    this.maps = [];
    this.none();
    for (const m of maps) {
      this.space.setShared(m.addr, BigInt(m.pages) * PAGE, 'open');
      if (--m.description.refs === 0) m.description.release();
    }
  }
}

// Pages [from, to) of m as a mapping of their own.
function piece(m: SharedMapping, from: number, to: number): SharedMapping {
  const state = m.state.slice(from, to);
  return {
    ...m, addr: pageAt(m, from), pages: to - from, filePage: m.filePage + from, state,
    dirty: state.reduce((n, s) => n + (s & DIRTY), 0),
  };
}

type Pages = { addr: bigint; pages: number };
function end(m: Pages): bigint { return m.addr + BigInt(m.pages) * PAGE; }
function pageAt(m: Pages, i: number): bigint { return m.addr + BigInt(i) * PAGE; }

// The pages of m inside [addr, addr+len), as [from, to).
function pagesIn(m: Pages, addr: bigint, len: bigint): [number, number] {
  const lo = addr > m.addr ? addr : m.addr, hi = addr + len < end(m) ? addr + len : end(m);
  return [Number((lo - m.addr) / PAGE), Number((hi - m.addr + PAGE - 1n) / PAGE)];
}

function sizeOf(file: OpenFile): number {
  try {
    return Number(file.stat().size);
  } catch {
    return 0;
  }
}
