// Memory system calls: the program break and mmap and its family, on the
// process's AddressSpace (page permissions are enforced by the CPU).
import { EACCES, EINVAL, ENOMEM, EEXIST, ENODEV, EBADF, EFAULT, EOPNOTSUPP } from '../errno.js';
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';
import { pageUp, permsForProt } from '../address-space.js';
import { S_IFCHR, S_IFMT, O_RDWR, O_CREAT } from '../fs/types.js';
import { MemFs } from '../fs/memfs.js';
import { FileDescription } from '../fs/file-table.js';
import { sharedMaps } from '../shared-maps.js';

const PAGE = 4096n;
// include/uapi/asm-generic/mman-common.h and mman.h
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_SHARED_VALIDATE = 0x03;
const MAP_TYPE = 0x0f;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_FIXED_NOREPLACE = 0x100000;
const MAP_NORESERVE = 0x4000;
// The flags MAP_SHARED_VALIDATE knows (LEGACY_MAP_MASK: MAP_SHARED,
// MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_DENYWRITE, MAP_EXECUTABLE,
// MAP_UNINITIALIZED, MAP_GROWSDOWN, MAP_LOCKED, MAP_NORESERVE,
// MAP_POPULATE, MAP_NONBLOCK, MAP_STACK, MAP_HUGETLB); any other is
// EOPNOTSUPP for a file (MAP_SYNC included: no file here is DAX).
const LEGACY_MAP_MASK = 0x01 | 0x02 | 0x10 | 0x20 | 0x0800 | 0x1000 | 0x4000000 | 0x0100 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000;
const MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MADV_DONTNEED = 4;
const MADV_FREE = 8;
const PROT_ALL = 7;
/** /dev/zero's device number (major 1, minor 5; Linux's new_encode_dev). */
const DEV_ZERO = (1n << 8n) | 5n;

/** Reads `length` bytes of a file at `offset` for a private mapping, or gives -errno's errno. */
type MapSource = (fd: number) => ((offset: bigint, length: number) => Uint8Array | number) | undefined;

const err = (e: number): bigint => -BigInt(e);

// brk(addr): moves the program break within [start, limit] and returns the new
// break, or the unchanged one when the request is refused (Linux semantics;
// libc detects failure by comparing). Pages past the break are unmapped, so
// they fault, and read as zero when the break comes back.
function sysBrk(p: ProcessVM, [addr]: bigint[]): bigint {
  const m = p.memory, space = p.memory.space;
  if (addr < m.brkStart || addr > m.brkLimit) return m.brk;
  const oldTop = pageUp(m.brk), newTop = pageUp(addr);
  if (newTop > oldTop) {
    if (!space.isFree(oldTop, newTop - oldTop)) return m.brk; // an mmap is in the way
    space.map(oldTop, newTop - oldTop, permsForProt(3));
  } else if (newTop < oldTop) {
    space.unmap(newTop, oldTop - newTop);
  }
  // The part of the last page above the break reads as zero when it comes
  // back; a page never touched already does (and is left so, uncommitted).
  if (addr < m.brk && addr < newTop && p.cpu.isTouched(addr)) p.cpu.fill(addr, Number((m.brk < newTop ? m.brk : newTop) - addr), 0);
  m.brk = addr;
  return addr;
}

function sysMmap(p: ProcessVM, [addr, length, protArg, flagsArg, fdArg, offset]: bigint[]): bigint {
  const space = p.memory.space;
  const prot = Number(protArg), flags = Number(flagsArg);
  if (length === 0n || prot & ~PROT_ALL) return err(EINVAL);
  const type = flags & MAP_TYPE;
  if (type !== MAP_PRIVATE && type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE) return err(EINVAL);
  if (offset % PAGE !== 0n) return err(EINVAL);
  const len = pageUp(length);
  if (len === 0n || len > space.end - space.base) return err(ENOMEM);
  // Linux's default overcommit (heuristic, mode 0) maps far more than RAM,
  // but refuses one private writable mapping larger than all of it (and of
  // swap: none here). --mem is this VM's RAM.
  const ram = BigInt(p.cpu.memoryLimit) * PAGE;
  if (ram !== 0n && type === MAP_PRIVATE && prot & 2 && !(flags & MAP_NORESERVE) && len > ram) return err(ENOMEM);
  const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
  if (fixed && addr % PAGE !== 0n) return err(EINVAL);

  let at: bigint | undefined;
  if (fixed) {
    if (!space.inRange(addr, len)) return err(ENOMEM);
    if (flags & MAP_FIXED_NOREPLACE && !(flags & MAP_FIXED) && !space.isFree(addr, len)) return err(EEXIST);
    at = addr;
  } else {
    // A hint is honoured when the range is free, as Linux does.
    if (addr !== 0n && addr % PAGE === 0n && space.isFree(addr, len)) at = addr;
    else at = space.findFree(len, pageUp(p.memory.brk), p.memory.mmapTop);
  }
  if (at === undefined) return err(ENOMEM);

  if (flags & MAP_ANONYMOUS) {
    space.map(at, len, permsForProt(prot));
    if (type !== MAP_PRIVATE && !shareAnonymous(p, at, len)) {
      space.unmap(at, len);
      return err(ENOMEM);
    }
    return at;
  }
  // A file mapping is a private copy of the file's bytes (MAP_SHARED of a
  // file nobody else maps behaves the same for a single process, except
  // that writes do not reach the file: refused rather than silently lost).
  const fd = Number(BigInt.asIntN(32, fdArg));
  const read = (p.files as { mapSource?: MapSource }).mapSource?.(fd);
  if (!read) return err(EBADF);
  // do_mmap's order: a shared writable mapping needs a descriptor open for
  // writing, before anything else is looked at.
  const d = p.files.get(fd);
  if (type === MAP_SHARED_VALIDATE && flags & ~LEGACY_MAP_MASK) return err(EOPNOTSUPP);
  if (type !== MAP_PRIVATE && prot & 2 && !d.writable) return err(EACCES);
  // /dev/zero maps anonymous memory, private or shared (drivers/char/mem.c,
  // mmap_zero); a process without children cannot tell the two apart.
  if (d.readable && isDevZero(d)) {
    space.map(at, len, permsForProt(prot));
    if (type !== MAP_PRIVATE && !shareAnonymous(p, at, len)) {
      space.unmap(at, len);
      return err(ENOMEM);
    }
    return at;
  }
  const shared = type !== MAP_PRIVATE;
  // Only a regular file is shared (shared-maps.ts); a device other than
  // /dev/zero cannot be mapped at all.
  if (shared && !(d instanceof FileDescription && d.file.seekable)) return err(d.readable ? ENODEV : EACCES);
  space.map(at, len, permsForProt(prot | 2));
  // Whole pages, as Linux maps them: the rest of the last page past
  // `length` shows the file too (zero only past its end).
  const bytes = read(offset, Number(len));
  if (typeof bytes === 'number') {
    space.unmap(at, len);
    return err(bytes);
  }
  p.cpu.writeBytes(at, bytes);
  space.protect(at, len, permsForProt(prot));
  // Whole pages past the end of the file: an access there is SIGBUS.
  const filePages = pageUp(BigInt(bytes.length));
  if (filePages < len) space.markPastEof(at + filePages, len - filePages);
  if (shared) sharedMaps(p, true)!.add(at, Number(len / PAGE), offset, d as FileDescription);
  else if (d instanceof FileDescription) sharedMaps(p, true)!.addPrivate(at, Number(len / PAGE), offset, d);
  return at;
}

// MAP_SHARED anonymous memory (and of /dev/zero) is, as in Linux (shmem),
// a shared mapping of a file nobody can name: an in-memory one as large as
// the mapping, so that after fork every process's mapping of it is one
// memory (shared-maps.ts). The file's bytes are allocated when written
// back, not before.
// (At most MAX_SHMEM_BYTES: a larger one is ENOMEM, as a shmem mapping
// larger than RAM and swap would be.)
const MAX_SHMEM_BYTES = 1n << 30n;
function shareAnonymous(p: ProcessVM, at: bigint, len: bigint): boolean {
  if (len > MAX_SHMEM_BYTES) return false;
  const shm = new MemFs({ label: 'shmem', maxBytes: Number(len) + 4096 }); // (and its name's bytes)
  const file = shm.open(['anon'], O_RDWR | O_CREAT, 0o600);
  file.truncate(Number(len));
  sharedMaps(p, true)!.add(at, Number(len / PAGE), 0n, new FileDescription(file, O_RDWR));
  return true;
}

/** Whether a descriptor is open on /dev/zero (character device 1:5), ours
 *  or the host's. */
function isDevZero(d: { stat(): { mode: number; rdev: bigint } }): boolean {
  try {
    const st = d.stat();
    return (st.mode & S_IFMT) === S_IFCHR && st.rdev === DEV_ZERO;
  } catch {
    return false;
  }
}

function sysMunmap(p: ProcessVM, [addr, length]: bigint[]): bigint {
  const space = p.memory.space;
  if (addr % PAGE !== 0n || length === 0n) return err(EINVAL);
  if (!space.inRange(addr, pageUp(length))) return err(EINVAL);
  space.unmap(addr, pageUp(length));
  return 0n;
}

function sysMprotect(p: ProcessVM, [addr, length, prot]: bigint[]): bigint {
  if (addr % PAGE !== 0n || Number(prot) & ~PROT_ALL) return err(EINVAL);
  if (length === 0n) return 0n;
  // A shared mapping of a file not open for writing never may be written.
  if (Number(prot) & 2 && !(sharedMaps(p)?.mayWrite(addr, pageUp(length)) ?? true)) return err(EACCES);
  return p.memory.space.protect(addr, pageUp(length), permsForProt(Number(prot))) ? 0n : err(ENOMEM);
}

// mremap of a shared file mapping is mremap of its pages, which then show
// the file again from the same offset (shared-maps.ts: remapped).
function sysMremap(p: ProcessVM, args: bigint[]): bigint {
  const shared = sharedMaps(p);
  const held = shared?.overlaps(args[0], pageUp(args[1]) || PAGE) ? shared.hold(args[0]) : undefined;
  if (!held) return mremapPages(p, args);
  const at = mremapPages(p, args);
  if (at >= 0n) shared!.remapped(at, Number(pageUp(args[2]) / PAGE), held);
  else if (--held.d.refs === 0) held.d.release();
  return at;
}

function mremapPages(p: ProcessVM, [oldAddr, oldLength, newLength, flagsArg, newAddr]: bigint[]): bigint {
  const space = p.memory.space;
  const flags = Number(flagsArg);
  if (oldAddr % PAGE !== 0n || newLength === 0n || flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) return err(EINVAL);
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return err(EINVAL);
  const oldLen = pageUp(oldLength), newLen = pageUp(newLength);
  if (oldLen === 0n || !space.isMapped(oldAddr, oldLen)) return err(EFAULT);
  const perms = space.permissions(oldAddr)!;
  if (!(flags & MREMAP_FIXED)) {
    if (newLen <= oldLen) {
      space.unmap(oldAddr + newLen, oldLen - newLen);
      return oldAddr;
    }
    if (space.isFree(oldAddr + oldLen, newLen - oldLen)) {
      space.map(oldAddr + oldLen, newLen - oldLen, perms);
      return oldAddr;
    }
    if (!(flags & MREMAP_MAYMOVE)) return err(ENOMEM);
  }
  let to: bigint | undefined;
  if (flags & MREMAP_FIXED) {
    if (newAddr % PAGE !== 0n || !space.inRange(newAddr, newLen)) return err(EINVAL);
    if (newAddr < oldAddr + oldLen && oldAddr < newAddr + newLen) return err(EINVAL); // overlap
    to = newAddr;
  } else {
    to = space.findFree(newLen, pageUp(p.memory.brk), p.memory.mmapTop);
  }
  if (to === undefined) return err(ENOMEM);
  if (flags & MREMAP_FIXED) space.unmap(to, newLen);
  if (newLen < oldLen) {
    space.unmap(oldAddr + newLen, oldLen - newLen);
    space.move(oldAddr, to, newLen, perms);
  } else {
    space.move(oldAddr, to, oldLen, perms);
    space.map(to + oldLen, newLen - oldLen, perms);
  }
  return to;
}

function sysMadvise(p: ProcessVM, [addr, length, advice]: bigint[]): bigint {
  if (addr % PAGE !== 0n) return err(EINVAL);
  const len = pageUp(length);
  if (len === 0n) return 0n;
  if (!p.memory.space.isMapped(addr, len)) return err(ENOMEM);
  // Private anonymous memory reads as zero after DONTNEED; FREE may do the
  // same. A private file mapping shows its file's bytes again; a shared one
  // already does (its stores are the file's).
  if (Number(advice) === MADV_DONTNEED || Number(advice) === MADV_FREE) {
    const files = sharedMaps(p);
    if (files?.overlaps(addr, len)) return 0n;
    p.memory.space.zero(addr, len);
    files?.refill(addr, len);
  }
  return 0n;
}

// msync(addr, length, flags): writes back the shared file mappings' stores
// in the range (MS_ASYNC as MS_SYNC: it costs no more here). The whole
// range must be mapped (ENOMEM, after the mapped part is synced, as Linux).
function sysMsync(p: ProcessVM, [addr, length, flagsArg]: bigint[]): bigint {
  const flags = Number(flagsArg & 0xffffffffn);
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return err(EINVAL);
  if (addr % PAGE !== 0n) return err(EINVAL);
  if (flags & MS_ASYNC && flags & MS_SYNC) return err(EINVAL);
  const len = pageUp(length);
  if (len === 0n) return 0n;
  sharedMaps(p)?.sync(addr, len);
  return p.memory.space.isMapped(addr, len) ? 0n : err(ENOMEM);
}

export const MEMORY_SYSCALLS: SyscallFamily = [
  [214, { name: 'brk', argc: 1, handler: sysBrk }],
  [215, { name: 'munmap', argc: 2, handler: sysMunmap }],
  [216, { name: 'mremap', argc: 5, handler: sysMremap }],
  [222, { name: 'mmap', argc: 6, handler: sysMmap }],
  [226, { name: 'mprotect', argc: 3, handler: sysMprotect }],
  [227, { name: 'msync', argc: 3, handler: sysMsync }],
  [233, { name: 'madvise', argc: 3, handler: sysMadvise }],
];
