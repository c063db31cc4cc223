// File and file-descriptor system calls, over the guest's namespace
// (p.fs, fs/guest-fs.ts) and descriptor table (p.files, fs/file-table.ts).
// Each is a short function; FsError becomes -errno, a bad guest address -EFAULT.
import {
  EAGAIN, EBADF, EEXIST, EFAULT, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, ENOTEMPTY, ENOTTY, EOPNOTSUPP, ERANGE, EROFS,
  ENAMETOOLONG, EPIPE,
} from '../errno.js';
import { GuestMemoryError } from '../../cpu/cpu.js';
import { UserFault } from '../user-memory.js';
import type { SyscallEntry, SyscallFamily, SyscallHandler } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';
import {
  Description, DirectoryDescription, FileDescription, Pipe, PipeEnd, WouldBlock, MAX_FDS, POLLNVAL, POLLIN, POLLOUT, POLLPRI, POLLHUP, POLLERR,
} from '../fs/file-table.js';
import { joinPath, PATH_MAX, type HeldDir } from '../fs/guest-fs.js';
import { raiseSignal, SIGPIPE, waitWithMask } from './signals.js';
import {
  FsError, bytesToName, nameToBytes, isDir, isLink, isRegular, nsToTimespec,
  O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOATIME,
  O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_TMPFILE, O_TRUNC,
  type FsStats, type PathHandle, type Stat, type Timespec,
} from '../fs/types.js';

// include/uapi/linux/fcntl.h
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EACCESS = 0x200;
const AT_REMOVEDIR = 0x200;
const AT_SYMLINK_FOLLOW = 0x400;
const AT_NO_AUTOMOUNT = 0x800;
const AT_EMPTY_PATH = 0x1000;
const AT_STATX_SYNC_TYPE = 0x6000;
const RENAME_NOREPLACE = 1;
const F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4;
const F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7, F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38;
const F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032;
const FD_CLOEXEC = 1;
const F_UNLCK = 2;
// asm-generic/ioctls.h
const TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404;
const TIOCGPGRP = 0x540f, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, FIONREAD = 0x541b, FIONBIO = 0x5421;
const FIONCLEX = 0x5450, FIOCLEX = 0x5451;
// include/uapi/linux/stat.h
const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;
const STATX_BASIC_STATS = 0x7ff;
const STATX_BTIME = 0x800;
/** MAX_RW_COUNT: Linux caps one read or write at INT_MAX rounded down to a page. */
const MAX_RW = 0x7ffff000;
const MAX_RW_N = BigInt(MAX_RW);
/** UIO_MAXIOV */
const MAX_IOV = 1024;
/** The status flags F_SETFL may change (fs/fcntl.c SETFL_MASK). */
const SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;

const fdArg = (a: bigint): number => Number(BigInt.asIntN(32, a));
const intArg = (a: bigint): number => Number(BigInt.asIntN(32, a));
const err = (errno: number): bigint => -BigInt(errno);
// (Constants as BigInts once: write(2) is among the most frequent calls,
// and each BigInt made is garbage.)
const EPIPE_RESULT = err(EPIPE);

// ---- guest memory: only through p.user (user-memory.ts), which checks the
// guest's own permissions and throws UserFault (EFAULT) ----

/** Guest bytes the call reads (a view), all readable by the guest. */
export function input(p: ProcessVM, addr: bigint, length: number): Uint8Array {
  return p.user.readView(addr, length);
}

/** Guest bytes the call writes into (a view), all writable by the guest. */
export function output(p: ProcessVM, addr: bigint, length: number): Uint8Array {
  return p.user.writeView(addr, length);
}

function store(p: ProcessVM, addr: bigint, data: Uint8Array): void {
  p.user.write(addr, data);
}

// A read(2) or write(2) copies until the first byte the guest could not
// access and counts what it copied (copy_to_user / copy_from_user stop
// there): only a buffer whose first byte is bad is EFAULT. These give the
// accessible start of such a buffer, or throw UserFault when it is empty.

/** The writable start of a buffer a call fills (a view). */
function outputPrefix(p: ProcessVM, addr: bigint, length: number): Uint8Array {
  const n = p.user.writablePrefix(addr, length);
  if (n === 0) p.user.check(addr, length, 'write');
  return p.user.writeView(addr, n);
}

/** A NUL-terminated path from the guest, as a byte string. */
export function pathArg(p: ProcessVM, addr: bigint): string {
  let name = '';
  // Page by page: each page's permission is checked once, before it is read.
  for (let a = addr; ;) {
    const pageEnd = (a & ~4095n) + 4096n;
    const n = Number(pageEnd - a);
    const bytes = input(p, a, n);
    const nul = bytes.indexOf(0);
    name += bytesToName(nul < 0 ? bytes : bytes.subarray(0, nul));
    if (name.length >= PATH_MAX) throw new FsError(ENAMETOOLONG);
    if (nul >= 0) return name;
    a = pageEnd;
  }
}

/** The directory a relative path starts from: the working directory or the
 *  directory dirfd holds (the object, wherever it has gone since). */
export function baseOf(p: ProcessVM, dirfd: number, path: string): HeldDir | undefined {
  if (path === '') throw new FsError(ENOENT, path);
  if (path.startsWith('/') || dirfd === AT_FDCWD) return undefined;
  return p.files.get(dirfd).directory();
}

/** si_code of a signal the kernel sends with send_sig(..., 0): SI_USER. */
const SI_USER = 0;

// A write that finds no reader fails with EPIPE and sends the writer SIGPIPE
// (pipe_write's send_sig; a host stream whose reader left, too, as the host's
// SIGPIPE reaches a guest under qemu-riscv64). When that enters a handler, a0
// must carry the signal number into it, while the frame keeps -EPIPE for
// rt_sigreturn to restore as the call's result.
function sigpipeOnEpipe(handler: SyscallHandler): SyscallHandler {
  return (p, args) => {
    const r = handler(p, args);
    if (r !== EPIPE_RESULT) return r;
    p.cpu.setX(10, r);
    return raiseSignal(p, SIGPIPE, { code: SI_USER, pid: p.pid }) ? p.cpu.x(10) : r;
  };
}

/** Writes at the offset or at pos; a write of nothing to a pipe is 0 before
 *  any check for readers, as pipe_write does it. */
function writeTo(d: Description, data: Uint8Array, pos?: number): number {
  if (data.length === 0 && pos === undefined && d instanceof PipeEnd && d.end === 'write') return 0;
  return d.write(data, pos);
}

/** A handler whose FsError is -errno, bad guest memory -EFAULT, and whose
 *  WouldBlock waits for I/O and runs the call again. */
export function guarded(handler: SyscallHandler): SyscallHandler {
  return (p, args) => {
    try {
      return handler(p, args);
    } catch (e) {
      // Another thread may make the descriptor ready: wait, then run again.
      if (e instanceof WouldBlock) return p.threads.blockForIo(undefined, err(EAGAIN), `in ${e.op ?? 'I/O'} on ${e.on}`);
      if (e instanceof FsError) return err(e.errno);
      if (e instanceof GuestMemoryError) return err(EFAULT);
      throw e;
    } finally {
      // The directories the call's walks held are done with.
      p.fs.settle();
    }
  };
}

// ---- struct stat, struct statx (asm-generic/stat.h, linux/stat.h) ----

function encodeStat(s: Stat): Uint8Array {
  const b = new Uint8Array(128);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, s.dev, true);
  v.setBigUint64(8, s.ino, true);
  v.setUint32(16, s.mode, true);
  v.setUint32(20, s.nlink, true);
  v.setUint32(24, s.uid, true);
  v.setUint32(28, s.gid, true);
  v.setBigUint64(32, s.rdev, true);
  v.setBigInt64(48, s.size, true);
  v.setInt32(56, s.blksize, true);
  v.setBigInt64(64, s.blocks, true);
  const times = [s.atime, s.mtime, s.ctime];
  times.forEach((t, i) => {
    v.setBigInt64(72 + 16 * i, t.sec, true);
    v.setBigUint64(80 + 16 * i, BigInt(t.nsec), true);
  });
  return b;
}

// glibc's gnu_dev_major / gnu_dev_minor.
const devMajor = (d: bigint): number => Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)) >>> 0;
const devMinor = (d: bigint): number => Number((d & 0xffn) | ((d >> 12n) & ~0xffn)) >>> 0;

function encodeStatx(s: Stat): Uint8Array {
  const b = new Uint8Array(256);
  const v = new DataView(b.buffer);
  v.setUint32(0, STATX_BASIC_STATS | (s.btime ? STATX_BTIME : 0), true);
  v.setUint32(4, s.blksize, true);
  v.setUint32(16, s.nlink, true);
  v.setUint32(20, s.uid, true);
  v.setUint32(24, s.gid, true);
  v.setUint16(28, s.mode, true);
  v.setBigUint64(32, s.ino, true);
  v.setBigUint64(40, s.size, true);
  v.setBigUint64(48, s.blocks, true);
  const ts = (off: number, t: Timespec | undefined) => {
    if (!t) return;
    v.setBigInt64(off, t.sec, true);
    v.setUint32(off + 8, t.nsec, true);
  };
  ts(64, s.atime);
  ts(80, s.btime);
  ts(96, s.ctime);
  ts(112, s.mtime);
  v.setUint32(128, devMajor(s.rdev), true);
  v.setUint32(132, devMinor(s.rdev), true);
  v.setUint32(136, devMajor(s.dev), true);
  v.setUint32(140, devMinor(s.dev), true);
  return b;
}

/** What fstatat/statx name: a path, or with AT_EMPTY_PATH and "" the descriptor itself. */
function statAt(p: ProcessVM, dirfd: number, pathAddr: bigint, flags: number): Stat {
  const path = pathArg(p, pathAddr);
  if (path === '' && flags & AT_EMPTY_PATH) {
    if (dirfd === AT_FDCWD) return p.fs.cwdHeld.fs.lstat([]);
    return p.files.get(dirfd).stat();
  }
  return p.fs.resolve(baseOf(p, dirfd, path), path, !(flags & AT_SYMLINK_NOFOLLOW)).stat;
}

// ---- reading and writing ----

function sysRead(p: ProcessVM, [fd, buf, count]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  const n = Number(count > MAX_RW_N ? MAX_RW_N : count);
  return BigInt(readInto(p, d, buf, n));
}

/**
 * read(2) and pread64(2) into a guest buffer. Linux copies what the file
 * has, so at the end of a regular file it returns 0 without touching the
 * buffer: a buffer the guest cannot write is EFAULT only when there is
 * something to copy. A regular file is probed with a one-byte pread (the
 * offset does not move); a pipe or device cannot be probed without taking
 * its data, so there the buffer is checked first.
 */
function readInto(p: ProcessVM, d: Description, addr: bigint, n: number, pos?: number): number {
  if (n > 0 && d instanceof FileDescription && d.file.seekable && p.user.writablePrefix(addr, n) === 0) {
    if (d.read(new Uint8Array(1), pos ?? d.offset) === 0) return 0;
  }
  return d.read(outputPrefix(p, addr, n), pos);
}

function sysWrite(p: ProcessVM, [fd, buf, count]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  const n = Number(count > MAX_RW_N ? MAX_RW_N : count);
  return BigInt(writeTo(d, pipeChunks(d, buf, p.user.readablePrefixView(buf, n), n)));
}

/**
 * What a write to a pipe takes of a buffer that is readable only in part:
 * pipe_write copies a page's worth at a time and drops a chunk that faults,
 * so only whole pages of it go in (EFAULT when not even one). Other files
 * keep every readable byte, as generic_perform_write does.
 */
function pipeChunks(d: Description, addr: bigint, data: Uint8Array, wanted: number): Uint8Array {
  if (!(d instanceof PipeEnd) || data.length === wanted) return data;
  const whole = data.length - (data.length % 4096);
  if (whole === 0) throw new UserFault(addr, wanted, 'read', addr + BigInt(data.length));
  return data.subarray(0, whole);
}

function sysPread(p: ProcessVM, [fd, buf, count, offset]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  const pos = BigInt.asIntN(64, offset);
  if (pos < 0n) return err(EINVAL);
  const n = Number(count > MAX_RW_N ? MAX_RW_N : count);
  return BigInt(readInto(p, d, buf, n, Number(pos)));
}

function sysPwrite(p: ProcessVM, [fd, buf, count, offset]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  const pos = BigInt.asIntN(64, offset);
  if (pos < 0n) return err(EINVAL);
  const n = Number(count > MAX_RW_N ? MAX_RW_N : count);
  return BigInt(d.write(p.user.readablePrefixView(buf, n), Number(pos)));
}

/** The (base, length) pairs of a struct iovec array. */
function iovecs(p: ProcessVM, iov: bigint, count: bigint): [bigint, number][] {
  const n = Number(BigInt.asIntN(64, count));
  if (n < 0 || n > MAX_IOV) throw new FsError(EINVAL);
  const raw = new DataView(input(p, iov, 16 * n).slice().buffer);
  const out: [bigint, number][] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const len = raw.getBigUint64(16 * i + 8, true);
    if (len > MAX_RW_N) throw new FsError(EINVAL);
    total += Number(len);
    out.push([raw.getBigUint64(16 * i, true), Math.min(Number(len), Math.max(0, MAX_RW - (total - Number(len))))]);
  }
  return out;
}

// Both stop at the first byte the guest could not access, counting what
// came before it; a bad first segment is EFAULT.
function readVector(p: ProcessVM, d: Description, vec: [bigint, number][], pos?: number): bigint {
  let total = 0;
  for (const [base, len] of vec) {
    if (len === 0) continue;
    let n: number;
    const room = p.user.writablePrefix(base, len);
    if (room === 0 && total > 0) break;
    try {
      n = d.read(outputPrefix(p, base, len), pos === undefined ? undefined : pos + total);
    } catch (e) {
      if (total > 0 && e instanceof FsError) break;
      throw e;
    }
    total += n;
    if (n < len) break;
  }
  return BigInt(total);
}

/**
 * The readable bytes of the segments, up to the first byte that is not,
 * copied into one piece. Each view is copied as soon as it is taken:
 * taking the next may give a slot RAM, and linear memory grows then
 * (Cpu.holdRam), which leaves the views taken before it empty.
 */
function gatherReadable(p: ProcessVM, vec: [bigint, number][]): Uint8Array {
  const parts: [bigint, number][] = [];
  let size = 0;
  for (const [base, len] of vec) {
    if (len === 0) continue;
    const n = p.user.readablePrefix(base, len);
    if (n === 0 && parts.length === 0) throw new UserFault(base, len, 'read', base);
    parts.push([base, n]);
    size += n;
    if (n < len) break;
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const [base, n] of parts) {
    all.set(p.user.readView(base, n), off);
    off += n;
  }
  return all;
}

function writeVector(p: ProcessVM, d: Description, vec: [bigint, number][], pos?: number): bigint {
  // One write of the gathered bytes: a stream sees them as one piece, as writev promises.
  const all = gatherReadable(p, vec);
  const wanted = vec.reduce((s, [, len]) => s + len, 0);
  const first = vec.find(([, len]) => len > 0);
  return BigInt(writeTo(d, first ? pipeChunks(d, first[0], all, wanted) : all, pos));
}

function sysReadv(p: ProcessVM, [fd, iov, cnt]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  return readVector(p, d, iovecs(p, iov, cnt));
}

function sysWritev(p: ProcessVM, [fd, iov, cnt]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  return writeVector(p, d, iovecs(p, iov, cnt));
}

function sysPreadv(p: ProcessVM, [fd, iov, cnt, offset]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  const pos = BigInt.asIntN(64, offset);
  if (pos < 0n) return err(EINVAL);
  return readVector(p, d, iovecs(p, iov, cnt), Number(pos));
}

function sysPwritev(p: ProcessVM, [fd, iov, cnt, offset]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  const pos = BigInt.asIntN(64, offset);
  if (pos < 0n) return err(EINVAL);
  return writeVector(p, d, iovecs(p, iov, cnt), Number(pos));
}

function sysLseek(p: ProcessVM, [fd, offset, whence]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  return BigInt(d.seek(Number(BigInt.asIntN(64, offset)), intArg(whence)));
}

// ---- opening and closing ----

/** An O_PATH descriptor: only fstat, fstatfs, *at() (of a directory) and
 *  descriptor calls use it. It holds its object: a directory as a HeldDir,
 *  anything else (a symbolic link too) as a PathHandle. */
export class PathDescription extends Description {
  constructor(private readonly dir: HeldDir | undefined, private readonly handle: PathHandle | undefined, flags: number, path: string[]) {
    super(flags);
    this.path = path;
  }
  override read(): number { throw new FsError(EBADF); }
  override write(): number { throw new FsError(EBADF); }
  override seek(): number { throw new FsError(EBADF); }
  override stat(): Stat { return this.dir ? this.dir.fs.lstat([]) : this.handle!.stat(); }
  override statfs(): FsStats {
    if (!this.dir) return this.handle!.statfs();
    return this.dir.fs.statfs?.([]) ?? { type: 0x9fa0n, bsize: 4096n, blocks: 0n, bfree: 0n, bavail: 0n, files: 0n, ffree: 0n, namelen: 255n };
  }
  override directory(): HeldDir {
    if (!this.dir) throw new FsError(ENOTDIR, undefined, 'dirfd');
    return this.dir;
  }
  override chmod(): void { throw new FsError(EBADF); }
  override utimes(): void { throw new FsError(EBADF); }
  override sync(): void { throw new FsError(EBADF); }
  override truncate(): void { throw new FsError(EBADF); }
  override release(): void {
    this.dir?.release();
    this.handle?.close();
  }
}

/** Opens `path` as open(2) does; the description is not yet installed. */
export function openPath(p: ProcessVM, base: HeldDir | undefined, path: string, flags: number, mode: number): Description {
  if ((flags & O_TMPFILE) === O_TMPFILE) throw new FsError(EOPNOTSUPP, path, 'open O_TMPFILE');
  const creating = (flags & O_CREAT) !== 0 && !(flags & O_PATH);
  const follow = !(flags & O_NOFOLLOW) && !(creating && flags & O_EXCL);
  const r = p.fs.walk(base, path, { follow, allowMissing: creating });
  const status = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE;
  if (r.descriptor !== undefined) return p.files.get(r.descriptor);
  const accmode = flags & O_ACCMODE;
  if (!r.stat) {
    if (r.trailingSlash || flags & O_DIRECTORY) throw new FsError(EISDIR, path, 'open');
    if (r.mount.readOnly) throw new FsError(EROFS, path, 'open');
    return new FileDescription(p.fs.open(r, flags & ~O_NOFOLLOW, mode), status, r.guest);
  }
  if (creating && flags & O_EXCL) throw new FsError(EEXIST, path, 'open');
  if (flags & O_PATH) {
    if (flags & O_DIRECTORY && !isDir(r.stat)) throw new FsError(ENOTDIR, path, 'open');
    if (isDir(r.stat)) return new PathDescription(p.fs.hold(r), undefined, status, r.guest);
    return new PathDescription(undefined, p.fs.pathHandle(r), status, r.guest);
  }
  if (isLink(r.stat)) throw new FsError(ELOOP, path, 'open');
  if (isDir(r.stat)) {
    if (accmode !== O_RDONLY || creating) throw new FsError(EISDIR, path, 'open');
    return new DirectoryDescription(p.fs.hold(r), status);
  }
  if (flags & O_DIRECTORY) throw new FsError(ENOTDIR, path, 'open');
  if ((accmode !== O_RDONLY || flags & O_TRUNC) && r.mount.readOnly && isRegular(r.stat)) throw new FsError(EROFS, path, 'open');
  return new FileDescription(p.fs.open(r, flags & ~(O_CREAT | O_EXCL), mode), status, r.guest);
}

function sysOpenat(p: ProcessVM, [dirfd, pathAddr, flagsArg, mode]: bigint[]): bigint {
  const path = pathArg(p, pathAddr);
  const flags = intArg(flagsArg);
  const d = openPath(p, baseOf(p, fdArg(dirfd), path), path, flags, Number(mode & 0o7777n));
  try {
    return BigInt(p.files.install(d, undefined, (flags & O_CLOEXEC) !== 0));
  } catch (e) {
    if (d.refs === 0) d.release();
    throw e;
  }
}

function sysClose(p: ProcessVM, [fd]: bigint[]): bigint {
  p.files.close(fdArg(fd));
  return 0n;
}

function sysCloseRange(p: ProcessVM, [first, last, flags]: bigint[]): bigint {
  const CLOSE_RANGE_CLOEXEC = 4;
  if (first > last || flags & ~BigInt(CLOSE_RANGE_CLOEXEC | 2)) return err(EINVAL);
  for (const fd of p.files.open()) {
    if (BigInt(fd) < first || BigInt(fd) > last) continue;
    if (flags & BigInt(CLOSE_RANGE_CLOEXEC)) p.files.setCloexec(fd, true);
    else p.files.close(fd);
  }
  return 0n;
}

// ---- status ----

function sysFstat(p: ProcessVM, [fd, buf]: bigint[]): bigint {
  store(p, buf, encodeStat(p.files.get(fdArg(fd)).stat()));
  return 0n;
}

function sysNewfstatat(p: ProcessVM, [dirfd, pathAddr, buf, flagsArg]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH)) return err(EINVAL);
  store(p, buf, encodeStat(statAt(p, fdArg(dirfd), pathAddr, flags)));
  return 0n;
}

function sysStatx(p: ProcessVM, [dirfd, pathAddr, flagsArg, , buf]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) return err(EINVAL);
  if ((flags & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) return err(EINVAL);
  store(p, buf, encodeStatx(statAt(p, fdArg(dirfd), pathAddr, flags)));
  return 0n;
}

function sysGetdents64(p: ProcessVM, [fd, buf, count]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  if (d instanceof PathDescription) return err(EBADF);
  if (!(d instanceof DirectoryDescription)) return err(ENOTDIR);
  const room = Number(count > MAX_RW_N ? MAX_RW_N : count);
  const entries = d.entries();
  if (d.offset >= entries.length) return 0n; // nothing to copy: the buffer is not touched
  // Entries are copied until one meets a byte the guest cannot write.
  const out = outputPrefix(p, buf, room);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let used = 0;
  while (d.offset < entries.length) {
    const e = entries[d.offset];
    const reclen = (19 + e.name.length + 1 + 7) & ~7;
    if (used + reclen > out.length) {
      if (used === 0) return err(reclen > room ? EINVAL : EFAULT);
      break;
    }
    view.setBigUint64(used, e.ino, true);
    view.setBigInt64(used + 8, BigInt(d.offset + 1), true);
    view.setUint16(used + 16, reclen, true);
    view.setUint8(used + 18, e.type);
    out.set(nameToBytes(e.name), used + 19);
    out.fill(0, used + 19 + e.name.length, used + reclen);
    used += reclen;
    d.offset++;
  }
  return BigInt(used);
}

function sysReadlinkat(p: ProcessVM, [dirfd, pathAddr, buf, size]: bigint[]): bigint {
  const max = intArg(size);
  if (max <= 0) return err(EINVAL);
  const path = pathArg(p, pathAddr);
  const r = p.fs.resolve(baseOf(p, fdArg(dirfd), path), path, false);
  if (!isLink(r.stat)) return err(EINVAL);
  const target = nameToBytes(p.fs.readlink(r)).subarray(0, max);
  store(p, buf, target);
  return BigInt(target.length);
}

function access(p: ProcessVM, dirfd: number, pathAddr: bigint, mode: number, flags: number): bigint {
  if (mode & ~7) return err(EINVAL);
  if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return err(EINVAL);
  const path = pathArg(p, pathAddr);
  if (path === '' && flags & AT_EMPTY_PATH) {
    p.files.get(dirfd);
    return 0n;
  }
  const r = p.fs.resolve(baseOf(p, dirfd, path), path, !(flags & AT_SYMLINK_NOFOLLOW));
  if (mode) p.fs.access(r, mode);
  return 0n;
}

function sysFaccessat(p: ProcessVM, [dirfd, pathAddr, mode]: bigint[]): bigint {
  return access(p, fdArg(dirfd), pathAddr, intArg(mode), 0);
}

function sysFaccessat2(p: ProcessVM, [dirfd, pathAddr, mode, flags]: bigint[]): bigint {
  return access(p, fdArg(dirfd), pathAddr, intArg(mode), intArg(flags));
}

// ---- the namespace ----

function sysMkdirat(p: ProcessVM, [dirfd, pathAddr, mode]: bigint[]): bigint {
  const path = pathArg(p, pathAddr);
  const r = p.fs.walk(baseOf(p, fdArg(dirfd), path), path, { follow: false, allowMissing: true });
  if (r.stat) return err(EEXIST);
  p.fs.mkdir(r, Number(mode & 0o7777n));
  return 0n;
}

function sysUnlinkat(p: ProcessVM, [dirfd, pathAddr, flagsArg]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  if (flags & ~AT_REMOVEDIR) return err(EINVAL);
  const path = pathArg(p, pathAddr);
  const last = path.split('/').filter((c) => c).pop();
  if (flags & AT_REMOVEDIR) {
    if (last === '.') return err(EINVAL);
    if (last === '..') return err(ENOTEMPTY);
    const r = p.fs.resolve(baseOf(p, fdArg(dirfd), path), path, false);
    if (!isDir(r.stat)) return err(ENOTDIR);
    p.fs.rmdir(r);
  } else {
    const r = p.fs.resolve(baseOf(p, fdArg(dirfd), path), path, false);
    if (isDir(r.stat)) return err(EISDIR);
    p.fs.unlink(r);
  }
  return 0n;
}

function sysRenameat2(p: ProcessVM, [olddirfd, oldAddr, newdirfd, newAddr, flagsArg]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  if (flags & ~RENAME_NOREPLACE) return err(EINVAL);
  const oldPath = pathArg(p, oldAddr);
  const newPath = pathArg(p, newAddr);
  const from = p.fs.resolve(baseOf(p, fdArg(olddirfd), oldPath), oldPath, false);
  const to = p.fs.walk(baseOf(p, fdArg(newdirfd), newPath), newPath, { follow: false, allowMissing: true });
  if (to.stat && flags & RENAME_NOREPLACE) return err(EEXIST);
  if (to.trailingSlash && !to.stat && !isDir(from.stat)) return err(ENOTDIR);
  p.fs.rename(from, to, (flags & RENAME_NOREPLACE) !== 0);
  return 0n;
}

function sysSymlinkat(p: ProcessVM, [targetAddr, dirfd, pathAddr]: bigint[]): bigint {
  const target = pathArg(p, targetAddr);
  if (target === '') return err(ENOENT);
  const path = pathArg(p, pathAddr);
  const r = p.fs.walk(baseOf(p, fdArg(dirfd), path), path, { follow: false, allowMissing: true });
  if (r.stat) return err(EEXIST);
  p.fs.symlink(target, r);
  return 0n;
}

function sysLinkat(p: ProcessVM, [olddirfd, oldAddr, newdirfd, newAddr, flagsArg]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return err(EINVAL);
  const oldPath = pathArg(p, oldAddr);
  const newPath = pathArg(p, newAddr);
  const from = p.fs.resolve(baseOf(p, fdArg(olddirfd), oldPath), oldPath, (flags & AT_SYMLINK_FOLLOW) !== 0);
  if (isDir(from.stat)) return err(1 /* EPERM */);
  const to = p.fs.walk(baseOf(p, fdArg(newdirfd), newPath), newPath, { follow: false, allowMissing: true });
  if (to.stat) return err(EEXIST);
  p.fs.link(from, to);
  return 0n;
}

function sysGetcwd(p: ProcessVM, [buf, size]: bigint[]): bigint {
  const path = nameToBytes(joinPath(p.fs.cwd));
  if (BigInt(path.length + 1) > size) return err(ERANGE);
  const out = new Uint8Array(path.length + 1);
  out.set(path);
  store(p, buf, out);
  return BigInt(out.length);
}

function sysChdir(p: ProcessVM, [pathAddr]: bigint[]): bigint {
  const path = pathArg(p, pathAddr);
  p.fs.chdir(p.fs.resolve(undefined, path));
  return 0n;
}

function sysFchdir(p: ProcessVM, [fd]: bigint[]): bigint {
  p.fs.chdirHeld(p.files.get(fdArg(fd)).directory());
  return 0n;
}

function sysFchmodat(p: ProcessVM, [dirfd, pathAddr, mode]: bigint[]): bigint {
  const path = pathArg(p, pathAddr);
  p.fs.chmod(p.fs.resolve(baseOf(p, fdArg(dirfd), path), path), Number(mode & 0o7777n));
  return 0n;
}

function sysFchmod(p: ProcessVM, [fd, mode]: bigint[]): bigint {
  p.files.get(fdArg(fd)).chmod(Number(mode & 0o7777n));
  return 0n;
}

function sysUmask(p: ProcessVM, [mask]: bigint[]): bigint {
  const old = p.fs.umask;
  p.fs.umask = Number(mask & 0o777n);
  return BigInt(old);
}

// ---- descriptors ----

function sysDup(p: ProcessVM, [fd]: bigint[]): bigint {
  return BigInt(p.files.install(p.files.get(fdArg(fd))));
}

function sysDup3(p: ProcessVM, [oldfd, newfd, flagsArg]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  const from = fdArg(oldfd), to = fdArg(newfd);
  if (flags & ~O_CLOEXEC) return err(EINVAL);
  if (from === to) return err(EINVAL);
  const d = p.files.get(from);
  if (to < 0 || to >= MAX_FDS) return err(EBADF);
  return BigInt(p.files.install(d, to, (flags & O_CLOEXEC) !== 0));
}

function sysFcntl(p: ProcessVM, [fdArg0, cmdArg, arg]: bigint[]): bigint {
  const fd = fdArg(fdArg0);
  const cmd = intArg(cmdArg);
  const d = p.files.get(fd);
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const min = Number(BigInt.asIntN(64, arg));
      if (min < 0 || min >= MAX_FDS) return err(EINVAL);
      return BigInt(p.files.install(d, undefined, cmd === F_DUPFD_CLOEXEC, min));
    }
    case F_GETFD:
      return p.files.getCloexec(fd) ? BigInt(FD_CLOEXEC) : 0n;
    case F_SETFD:
      p.files.setCloexec(fd, (arg & BigInt(FD_CLOEXEC)) !== 0n);
      return 0n;
    case F_GETFL:
      return BigInt(d.flags);
    case F_SETFL:
      d.flags = (d.flags & ~SETFL_MASK) | (Number(arg & 0xffffffffn) & SETFL_MASK);
      return 0n;
    case F_GETLK:
    case F_OFD_GETLK: {
      // One process, so no lock ever conflicts: l_type = F_UNLCK. The
      // struct flock is read before it is written, as fcntl_getlk does.
      input(p, arg, 32);
      const b = new Uint8Array(2);
      new DataView(b.buffer).setInt16(0, F_UNLCK, true);
      store(p, arg, b);
      return 0n;
    }
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      input(p, arg, 32);
      return 0n;
    case F_GETPIPE_SZ:
      return d instanceof PipeEnd ? BigInt(Pipe.CAPACITY) : err(EBADF);
    case F_SETPIPE_SZ:
      return d instanceof PipeEnd ? BigInt(Pipe.CAPACITY) : err(EBADF);
    default:
      return err(EINVAL);
  }
}

/** The termios a terminal reports (TCGETS): Linux's defaults for a tty (tty_std_termios). */
function defaultTermios(): Uint8Array {
  const b = new Uint8Array(36);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0o2400, true); // ICRNL | IXON
  v.setUint32(4, 0o5, true); // OPOST | ONLCR
  v.setUint32(8, 0o277, true); // B38400 | CS8 | CREAD
  v.setUint32(12, 0o105073, true); // ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
  // c_cc: INTR QUIT ERASE KILL EOF TIME MIN SWTC START STOP SUSP EOL REPRINT DISCARD WERASE LNEXT EOL2
  b.set([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0], 17);
  return b;
}

function sysIoctl(p: ProcessVM, [fdArg0, reqArg, arg]: bigint[]): bigint {
  const fd = fdArg(fdArg0);
  const d = p.files.get(fd);
  const req = Number(reqArg & 0xffffffffn);
  switch (req) {
    case TCGETS:
      if (!d.isTty()) return err(ENOTTY);
      store(p, arg, defaultTermios());
      return 0n;
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
      if (!d.isTty()) return err(ENOTTY);
      input(p, arg, 36);
      return 0n;
    case TIOCGWINSZ: {
      if (!d.isTty()) return err(ENOTTY);
      const size = p.files.tty.windowSize?.() ?? { rows: 24, columns: 80 };
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setUint16(0, size.rows, true);
      v.setUint16(2, size.columns, true);
      store(p, arg, b);
      return 0n;
    }
    case TIOCSWINSZ:
      if (!d.isTty()) return err(ENOTTY);
      input(p, arg, 8);
      return 0n;
    case TIOCGPGRP:
      return err(ENOTTY);
    case FIONREAD: {
      if (d instanceof DirectoryDescription) return err(ENOTTY);
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, Math.min(d.available(), 0x7fffffff), true);
      store(p, arg, b);
      return 0n;
    }
    case FIONBIO: {
      const on = new DataView(input(p, arg, 4).slice().buffer).getInt32(0, true) !== 0;
      d.flags = on ? d.flags | O_NONBLOCK : d.flags & ~O_NONBLOCK;
      return 0n;
    }
    case FIOCLEX:
    case FIONCLEX:
      p.files.setCloexec(fd, req === FIOCLEX);
      return 0n;
    default:
      return err(ENOTTY);
  }
}

function sysPipe2(p: ProcessVM, [fds, flagsArg]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT)) return err(EINVAL);
  output(p, fds, 8);
  const pipe = new Pipe(p.files.ioEvents);
  const status = flags & O_NONBLOCK;
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const r = p.files.install(new PipeEnd(pipe, 'read', O_RDONLY | status), undefined, cloexec);
  let w: number;
  try {
    w = p.files.install(new PipeEnd(pipe, 'write', 1 | status), undefined, cloexec);
  } catch (e) {
    p.files.close(r);
    throw e;
  }
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setInt32(0, r, true);
  v.setInt32(4, w, true);
  store(p, fds, b);
  return 0n;
}

// ---- sizes, times, syncing ----

function sysFtruncate(p: ProcessVM, [fd, length]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  const size = BigInt.asIntN(64, length);
  if (size < 0n) return err(EINVAL);
  d.truncate(Number(size));
  return 0n;
}

function sysTruncate(p: ProcessVM, [pathAddr, length]: bigint[]): bigint {
  const size = BigInt.asIntN(64, length);
  if (size < 0n) return err(EINVAL);
  const path = pathArg(p, pathAddr);
  const r = p.fs.resolve(undefined, path);
  if (isDir(r.stat)) return err(EISDIR);
  p.fs.truncate(r, Number(size));
  return 0n;
}

function sysFsync(p: ProcessVM, [fd]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  if (d instanceof PathDescription) return err(EBADF);
  if (d instanceof FileDescription || d instanceof DirectoryDescription) {
    d.sync();
    return 0n;
  }
  return err(EINVAL);
}

function sysUtimensat(p: ProcessVM, [dirfd, pathAddr, timesAddr, flagsArg]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return err(EINVAL);
  const now = nsToTimespec(p.clock.realtimeNs());
  let atime: Timespec | null = now, mtime: Timespec | null = now;
  if (timesAddr !== 0n) {
    const v = new DataView(input(p, timesAddr, 32).slice().buffer);
    const pick = (off: number): Timespec | null => {
      const nsec = v.getBigInt64(off + 8, true);
      if (nsec === BigInt(UTIME_NOW)) return now;
      if (nsec === BigInt(UTIME_OMIT)) return null;
      if (nsec < 0n || nsec > 999_999_999n) throw new FsError(EINVAL);
      return { sec: v.getBigInt64(off, true), nsec: Number(nsec) };
    };
    atime = pick(0);
    mtime = pick(16);
    if (!atime && !mtime) return 0n;
  }
  const fd = fdArg(dirfd);
  if (pathAddr === 0n) {
    // futimens: the descriptor itself.
    if (fd === AT_FDCWD) return err(EFAULT);
    p.files.get(fd).utimes(atime, mtime);
    return 0n;
  }
  const path = pathArg(p, pathAddr);
  if (path === '' && flags & AT_EMPTY_PATH) {
    p.files.get(fd).utimes(atime, mtime);
    return 0n;
  }
  p.fs.utimes(p.fs.resolve(baseOf(p, fd, path), path, !(flags & AT_SYMLINK_NOFOLLOW)), atime, mtime);
  return 0n;
}

function sysFchownat(p: ProcessVM, [dirfd, pathAddr, , , flagsArg]: bigint[]): bigint {
  // Ownership is the host's to keep: report success if the file exists.
  const flags = intArg(flagsArg);
  const path = pathArg(p, pathAddr);
  if (path === '' && flags & AT_EMPTY_PATH) return p.files.get(fdArg(dirfd)) ? 0n : 0n;
  const r = p.fs.resolve(baseOf(p, fdArg(dirfd), path), path, !(flags & AT_SYMLINK_NOFOLLOW));
  if (r.mount.readOnly) return err(EROFS);
  return 0n;
}

function sysFchown(p: ProcessVM, [fd]: bigint[]): bigint {
  p.files.get(fdArg(fd));
  return 0n;
}

// ---- file systems, copying, advice, locks, polling ----

function encodeStatfs(s: FsStats): Uint8Array {
  // struct statfs (asm-generic/statfs.h, 64-bit words): type, bsize, blocks,
  // bfree, bavail, files, ffree, fsid (2 x int), namelen, frsize, flags, spare[4].
  const b = new Uint8Array(120);
  const v = new DataView(b.buffer);
  [s.type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree].forEach((x, i) => v.setBigInt64(8 * i, x, true));
  v.setBigInt64(64, s.namelen, true);
  v.setBigInt64(72, s.bsize, true);
  return b;
}

function sysStatfs(p: ProcessVM, [pathAddr, buf]: bigint[]): bigint {
  const path = pathArg(p, pathAddr);
  store(p, buf, encodeStatfs(p.fs.statfs(p.fs.resolve(undefined, path))));
  return 0n;
}

function sysFstatfs(p: ProcessVM, [fd, buf]: bigint[]): bigint {
  // Of the object the descriptor holds, never of what its path leads to now.
  store(p, buf, encodeStatfs(p.files.get(fdArg(fd)).statfs()));
  return 0n;
}

// sendfile(out, in, offset*, count): a copy through ring -1.
function sysSendfile(p: ProcessVM, [outFd, inFd, offAddr, count]: bigint[]): bigint {
  const out = p.files.get(fdArg(outFd));
  const from = p.files.get(fdArg(inFd));
  if (!from.readable || !out.writable) return err(EBADF);
  let pos: number | undefined;
  if (offAddr !== 0n) {
    pos = Number(BigInt.asIntN(64, new DataView(input(p, offAddr, 8).slice().buffer).getBigInt64(0, true)));
    if (pos < 0) return err(EINVAL);
  }
  const total = Math.min(Number(count > MAX_RW_N ? MAX_RW_N : count), 1 << 24);
  const buf = new Uint8Array(Math.min(total, 1 << 16));
  let done = 0;
  while (done < total) {
    const n = from.read(buf.subarray(0, Math.min(buf.length, total - done)), pos === undefined ? undefined : pos + done);
    if (n === 0) break;
    const w = out.write(buf.subarray(0, n));
    done += w;
    if (w < n) break;
  }
  if (offAddr !== 0n) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(pos! + done), true);
    store(p, offAddr, b);
  }
  return BigInt(done);
}

function sysFadvise(p: ProcessVM, [fd, , , advice]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  if (d instanceof PipeEnd) return err(29 /* ESPIPE */);
  return advice > 5n ? err(EINVAL) : 0n;
}

// One process: every lock is granted.
function sysFlock(p: ProcessVM, [fd]: bigint[]): bigint {
  p.files.get(fdArg(fd));
  return 0n;
}

function sysSync(): bigint {
  return 0n;
}

function sysSyncfs(p: ProcessVM, [fd]: bigint[]): bigint {
  p.files.get(fdArg(fd));
  return 0n;
}

// fallocate(fd, mode, offset, len): mode 0 (allocate, growing the file) only.
function sysFallocate(p: ProcessVM, [fd, mode, offset, len]: bigint[]): bigint {
  const d = p.files.get(fdArg(fd));
  const off = BigInt.asIntN(64, offset), n = BigInt.asIntN(64, len);
  if (off < 0n || n <= 0n) return err(EINVAL);
  if (mode !== 0n) return err(EOPNOTSUPP);
  if (!(d instanceof FileDescription) || !d.file.seekable) return err(d instanceof PipeEnd ? 29 : 19 /* ESPIPE, ENODEV */);
  if (!d.writable) return err(EBADF);
  const end = off + n;
  if (end > d.stat().size) d.truncate(Number(end));
  return 0n;
}

// ppoll(fds, nfds, timeout*, sigmask*, sigsetsize). One thread: nothing can
// become ready while the guest waits, so a wait with nothing ready lets the
// timeout pass (on the guest's clock) and returns 0, and an endless wait
// returns 0 at once instead of hanging the host.
function sysPpoll(p: ProcessVM, [fds, nfdsArg, tmo, sigmask, sigsetsize]: bigint[]): bigint {
  // In sys_ppoll's order: the timeout, then the signal mask (read, though
  // not applied: a signal interrupts the wait whatever it says), then the
  // descriptors.
  let timeoutNs: bigint | undefined;
  if (tmo !== 0n) {
    const t = p.user.struct(tmo, 16);
    timeoutNs = t.getBigInt64(0, true) * 1_000_000_000n + t.getBigInt64(8, true);
    if (t.getBigInt64(0, true) < 0n || t.getBigInt64(8, true) < 0n || t.getBigInt64(8, true) >= 1_000_000_000n) return err(EINVAL);
  }
  let mask: bigint | undefined;
  if (sigmask !== 0n) {
    if (sigsetsize !== 8n) return err(EINVAL);
    mask = p.user.read64(sigmask);
  }
  const nfds = Number(nfdsArg);
  if (nfds > MAX_FDS) return err(EINVAL);
  // The array is read and its revents written back: it must be writable.
  const raw = output(p, fds, 8 * nfds);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let ready = 0;
  for (let i = 0; i < nfds; i++) {
    const fd = v.getInt32(8 * i, true);
    const events = v.getInt16(8 * i + 4, true);
    let revents = 0;
    if (fd >= 0) revents = p.files.has(fd) ? p.files.get(fd).poll(events) : POLLNVAL;
    v.setInt16(8 * i + 6, revents, true);
    if (revents) ready++;
  }
  if (ready > 0) return BigInt(ready);
  // Nothing ready: wait for I/O until the timeout (NULL: forever), then 0.
  if (timeoutNs === 0n) return 0n;
  const deadline = timeoutNs === undefined ? undefined : p.threads.deadlineAfter(timeoutNs);
  if (mask !== undefined) waitWithMask(p, mask);
  return p.threads.blockForIo(deadline, 0n, 'in ppoll', true);
}

// pselect6(nfds, readfds*, writefds*, exceptfds*, timeout*, {sigmask*, size}*):
// fd_set bit arrays, rewritten with the descriptors that are ready; the
// count of bits set; 0 when the timeout passes. As ppoll otherwise.
function sysPselect6(p: ProcessVM, [nfdsArg, rd, wr, ex, tmo, sig]: bigint[]): bigint {
  const nfds = Number(BigInt.asIntN(32, nfdsArg));
  if (nfds < 0 || nfds > MAX_FDS) return err(EINVAL);
  let timeoutNs: bigint | undefined;
  if (tmo !== 0n) {
    const t = p.user.struct(tmo, 16);
    const sec = t.getBigInt64(0, true), nsec = t.getBigInt64(8, true);
    if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n) return err(EINVAL);
    timeoutNs = sec * 1_000_000_000n + nsec;
  }
  let mask: bigint | undefined;
  if (sig !== 0n) {
    const v = p.user.struct(sig, 16);
    const at = v.getBigUint64(0, true), size = v.getBigUint64(8, true);
    if (at !== 0n) {
      if (size !== 8n) return err(EINVAL);
      mask = p.user.read64(at);
    }
  }
  const bytes = Math.ceil(nfds / 64) * 8;
  const sets = [rd, wr, ex].map((ptr) => (ptr === 0n || bytes === 0 ? undefined : { ptr, bits: p.user.read(ptr, bytes) }));
  const out = sets.map((set) => (set ? new Uint8Array(set.bits.length) : undefined));
  const wanted = [POLLIN, POLLOUT, POLLPRI];
  let ready = 0;
  for (let fd = 0; fd < nfds; fd++) {
    const asked = sets.map((set) => set !== undefined && (set.bits[fd >> 3] & (1 << (fd & 7))) !== 0);
    if (!asked.some((a) => a)) continue;
    if (!p.files.has(fd)) return err(EBADF);
    const revents = p.files.get(fd).poll(POLLIN | POLLOUT | POLLPRI);
    for (let k = 0; k < 3; k++) {
      // A hang-up or an error counts as readable and writable, as select reports them.
      const hit = (revents & wanted[k]) !== 0 || (k < 2 && (revents & (POLLHUP | POLLERR)) !== 0);
      if (asked[k] && hit) {
        out[k]![fd >> 3] |= 1 << (fd & 7);
        ready++;
      }
    }
  }
  if (ready > 0 || timeoutNs === 0n) {
    sets.forEach((set, k) => { if (set) p.user.write(set.ptr, out[k]!); });
    return BigInt(ready);
  }
  const deadline = timeoutNs === undefined ? undefined : p.threads.deadlineAfter(timeoutNs);
  if (mask !== undefined) waitWithMask(p, mask);
  // At the timeout the sets come back empty.
  const r = p.threads.blockForIo(deadline, 0n, 'in pselect6', true);
  if (!p.threads.restarting) sets.forEach((set) => { if (set) p.user.write(set.ptr, new Uint8Array(set.bits.length)); });
  return r;
}

const entry = (name: string, argc: number, handler: SyscallHandler): SyscallEntry => ({ name, argc, handler: guarded(handler) });
/** A call that writes to a descriptor, so may meet a pipe without readers. */
const writing = (name: string, argc: number, handler: SyscallHandler): SyscallEntry =>
  ({ name, argc, handler: sigpipeOnEpipe(guarded(handler)) });

// Numbers: include/uapi/asm-generic/unistd.h (riscv64 has no open, stat, dup2, pipe, rename: libc uses the *at forms).
export const FILE_SYSCALLS: SyscallFamily = [
  [17, entry('getcwd', 2, sysGetcwd)],
  [23, entry('dup', 1, sysDup)],
  [24, entry('dup3', 3, sysDup3)],
  [25, entry('fcntl', 3, sysFcntl)],
  [29, entry('ioctl', 3, sysIoctl)],
  [72, entry('pselect6', 6, sysPselect6)],
  [34, entry('mkdirat', 3, sysMkdirat)],
  [35, entry('unlinkat', 3, sysUnlinkat)],
  [32, entry('flock', 2, sysFlock)],
  [36, entry('symlinkat', 3, sysSymlinkat)],
  [37, entry('linkat', 5, sysLinkat)],
  [43, entry('statfs', 2, sysStatfs)],
  [44, entry('fstatfs', 2, sysFstatfs)],
  [45, entry('truncate', 2, sysTruncate)],
  [46, entry('ftruncate', 2, sysFtruncate)],
  [47, entry('fallocate', 4, sysFallocate)],
  [48, entry('faccessat', 3, sysFaccessat)],
  [49, entry('chdir', 1, sysChdir)],
  [50, entry('fchdir', 1, sysFchdir)],
  [52, entry('fchmod', 2, sysFchmod)],
  [53, entry('fchmodat', 3, sysFchmodat)],
  [54, entry('fchownat', 5, sysFchownat)],
  [55, entry('fchown', 3, sysFchown)],
  [56, entry('openat', 4, sysOpenat)],
  [57, entry('close', 1, sysClose)],
  [59, entry('pipe2', 2, sysPipe2)],
  [61, entry('getdents64', 3, sysGetdents64)],
  [62, entry('lseek', 3, sysLseek)],
  [63, entry('read', 3, sysRead)],
  [64, writing('write', 3, sysWrite)],
  [65, entry('readv', 3, sysReadv)],
  [66, writing('writev', 3, sysWritev)],
  [67, entry('pread64', 4, sysPread)],
  [68, writing('pwrite64', 4, sysPwrite)],
  [69, entry('preadv', 4, sysPreadv)],
  [70, writing('pwritev', 4, sysPwritev)],
  [71, writing('sendfile', 4, sysSendfile)],
  [73, entry('ppoll', 4, sysPpoll)],
  [78, entry('readlinkat', 4, sysReadlinkat)],
  [79, entry('newfstatat', 4, sysNewfstatat)],
  [80, entry('fstat', 2, sysFstat)],
  [81, entry('sync', 0, sysSync)],
  [82, entry('fsync', 1, sysFsync)],
  [83, entry('fdatasync', 1, sysFsync)],
  [88, entry('utimensat', 4, sysUtimensat)],
  [166, entry('umask', 1, sysUmask)],
  [223, entry('fadvise64', 4, sysFadvise)],
  [267, entry('syncfs', 1, sysSyncfs)],
  [276, entry('renameat2', 5, sysRenameat2)],
  [291, entry('statx', 5, sysStatx)],
  [436, entry('close_range', 3, sysCloseRange)],
  [439, entry('faccessat2', 4, sysFaccessat2)],
];
