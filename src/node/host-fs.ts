// Node-only: host directories as guest file systems, and the sandbox the
// `ringvisor` command gives a guest (the working directory read-write at the
// same path, a private /tmp, --mount additions; or --fs=host, everything).
//
// How a host path is resolved (docs/SECURITY.md, "The file sandbox"): a
// HostFs opens its root directory once, when it is mounted, and keeps that
// descriptor; the host path string is never used again. Every operation then
// walks its path one component at a time from a directory descriptor that
// ring -1 holds, opening each intermediate directory with O_PATH |
// O_DIRECTORY | O_NOFOLLOW relative to its parent's descriptor, and performs
// the last step on `/proc/self/fd/<parent>/<name>` without following `name`.
// On Linux that path is exactly openat(parent, name): the magic link
// /proc/self/fd/N leads to the directory object N holds even after it was
// renamed, and only `name` is looked up in it. A component the guest (or a
// host process) has meanwhile replaced by a symbolic link therefore fails
// with ELOOP or ENOTDIR instead of leading anywhere, and a --mount whose host
// path has changed still shows the directory it was mounted on. There is no
// cache of descriptors by name, so nothing can go stale under renames: the
// intermediate descriptors of one operation are closed at once, and those
// GuestFs's walk holds (lstatHold, subtree) after the system call;
// docs/SECURITY.md quotes what the extra opens cost.
//
// A directory descriptor, an O_PATH descriptor and the working directory
// hold their object the same way (subtree(), openPath()), so getdents64,
// fstat, fstatfs, fchmod and *at() calls act on what was opened, as on Linux.
// Without /proc/self/fd this cannot be done safely, and a HostFs refuses to
// exist (HostFsUnavailable) rather than fall back to joining strings.
import * as fs from 'node:fs';
import { isTerminal } from './terminal.js';
import {
  EACCES, EAGAIN, EBADF, EBUSY, EEXIST, EFBIG, EINVAL, EIO, EISDIR, ELOOP, EMFILE, EMLINK, ENAMETOOLONG,
  ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, ENXIO, EOPNOTSUPP, EPERM, EPIPE, EROFS, ESPIPE, EXDEV, ENODEV, ENOTTY,
  EDQUOT,
} from '../linux/errno.js';
import { GuestFs, privateMounts, type MountSpec } from '../linux/fs/guest-fs.js';
import {
  FsError, O_ACCMODE, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFIFO, S_IFMT, S_IFREG,
  type DirEntry, type FileSystem, type FsStats, type OpenFile, type PathHandle, type Stat, type SubtreeFs, type Timespec,
} from '../linux/fs/types.js';

/** Linux errno for a Node error code (the host may number them differently). */
const ERRNO_BY_CODE: Record<string, number> = {
  EPERM, ENOENT, EIO, ENXIO, EBADF, EAGAIN, EACCES, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL,
  EMFILE, ENOTTY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, ENAMETOOLONG, ENOTEMPTY, ELOOP, EOPNOTSUPP, EDQUOT,
  ENOTSUP: EOPNOTSUPP, EWOULDBLOCK: EAGAIN, EFTYPE: ELOOP,
};

function fsError(e: unknown, op: string, path?: string): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === undefined) throw e;
  throw new FsError(ERRNO_BY_CODE[code] ?? EIO, path, op);
}

function host<T>(op: string, path: string | undefined, f: () => T): T {
  try {
    return f();
  } catch (e) {
    fsError(e, op, path);
  }
}

const nsSpec = (ns: bigint): Timespec => ({ sec: ns / 1_000_000_000n, nsec: Number(ns % 1_000_000_000n) });
const seconds = (t: Timespec): number => Number(t.sec) + t.nsec / 1e9;

function toStat(s: fs.BigIntStats): Stat {
  return {
    dev: s.dev, ino: s.ino, mode: Number(s.mode), nlink: Number(s.nlink), uid: Number(s.uid), gid: Number(s.gid),
    rdev: s.rdev, size: s.size, blksize: Number(s.blksize), blocks: s.blocks,
    atime: nsSpec(s.atimeNs), mtime: nsSpec(s.mtimeNs), ctime: nsSpec(s.ctimeNs), btime: nsSpec(s.birthtimeNs),
  };
}

function direntType(d: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): number {
  if (d.isFile()) return 8;
  if (d.isDirectory()) return 4;
  if (d.isSymbolicLink()) return 10;
  if (d.isFIFO()) return 1;
  if (d.isSocket()) return 12;
  if (d.isCharacterDevice()) return 2;
  if (d.isBlockDevice()) return 6;
  return 0;
}

/** O_PATH (asm-generic/fcntl.h): a descriptor that names an object without
 *  opening it for I/O (Node's constants do not have it; Linux's value). */
const O_PATH_HOST = 0o10000000;
/** A directory held by ring -1: needs no read permission, only search. */
const DIR_FLAGS = (): number => O_PATH_HOST | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;

/** The host path that means openat(fd, name) (or fd itself without a name). */
function viaFd(fd: number, name?: string): Buffer {
  if (name === undefined) return Buffer.from(`/proc/self/fd/${fd}`);
  return Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), Buffer.from(name, 'latin1')]);
}

/** A name GuestFs hands over must be one plain component; anything else
 *  (which it never sends) is refused rather than given to the host. */
function plainName(name: string, show: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new FsError(EINVAL, show, 'name');
  return name;
}

/** The file sandbox needs /proc/self/fd (Linux) to resolve names from held
 *  directories; without it there is no safe way, and no HostFs. */
export class HostFsUnavailable extends Error {
  constructor(readonly root: string, why: string) {
    super(`cannot mount host directory ${root}: ${why} (the file sandbox needs Linux's /proc/self/fd)`);
  }
}

/** The host's block: what a new directory, link or empty file costs a quota. */
export const QUOTA_BLOCK = 4096;

/**
 * --disk-quota: the bytes a guest may add to host files. Counted per host
 * file (device and inode): growth of a file's size by write, truncate or
 * fallocate, and one QUOTA_BLOCK for each file, directory, symbolic link or
 * hard link the guest makes. Bytes are given back when the guest shrinks or
 * removes what it was charged for (never more than it was charged for that
 * file, so deleting the host's own files earns nothing). Shared by every
 * writable mount of one guest.
 */
export class DiskQuota {
  /** Bytes charged now. */
  used = 0;
  private readonly charged = new Map<string, number>();
  constructor(readonly limit: number) {}

  static key(s: { dev: bigint; ino: bigint }): string {
    return `${s.dev}:${s.ino}`;
  }

  /** Room left before EDQUOT. */
  get room(): number {
    return Math.max(0, this.limit - this.used);
  }

  /** Charges `bytes` to a file, or throws EDQUOT (and charges nothing). */
  charge(key: string, bytes: number, show?: string): void {
    if (bytes <= 0) return;
    if (this.used + bytes > this.limit) throw new FsError(EDQUOT, show, 'quota');
    this.used += bytes;
    this.charged.set(key, (this.charged.get(key) ?? 0) + bytes);
  }

  /** Gives back up to `bytes` of what a file was charged (all of it by default). */
  credit(key: string, bytes = Infinity): void {
    const had = this.charged.get(key) ?? 0;
    const back = Math.min(had, bytes);
    if (back <= 0) return;
    this.used -= back;
    if (had - back === 0) this.charged.delete(key);
    else this.charged.set(key, had - back);
  }
}

/** Host statfs numbers as struct statfs's. */
function statfsOf(p: Buffer, show: string): FsStats {
  const s = host('statfs', show, () => fs.statfsSync(p, { bigint: true }));
  return { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, namelen: 255n };
}

/** An open host descriptor as an OpenFile (closing it closes the descriptor).
 *  With a quota, growth of the file is charged to it (a write that would pass
 *  the quota writes what fits, then fails with EDQUOT, as Linux's does). */
export function hostHandle(fd: number, show: string, readOnly = false, quota?: DiskQuota): OpenFile {
  const regular = host('fstat', show, () => fs.fstatSync(fd).isFile());
  const tty = !regular && isTerminal(fd);
  const sizeNow = () => host('fstat', show, () => fs.fstatSync(fd, { bigint: true }));
  return {
    seekable: regular,
    tty,
    read: (buf, pos) => host('read', show, () => fs.readSync(fd, buf, 0, buf.length, pos)),
    write: (data, pos) => {
      if (!quota || !regular || pos === null) return host('write', show, () => fs.writeSync(fd, data, 0, data.length, pos));
      const st = sizeNow();
      const key = DiskQuota.key(st);
      const size = Number(st.size);
      const growth = Math.max(0, pos + data.length - size);
      let n = data.length;
      if (growth > quota.room) {
        n = data.length - (growth - quota.room);
        if (n <= 0) throw new FsError(EDQUOT, show, 'write');
      }
      const written = host('write', show, () => fs.writeSync(fd, data, 0, n, pos));
      quota.charge(key, Math.max(0, pos + written - size));
      return written;
    },
    stat: () => host('fstat', show, () => toStat(fs.fstatSync(fd, { bigint: true }))),
    truncate: (size) => {
      if (!quota || !regular) return host('ftruncate', show, () => fs.ftruncateSync(fd, size));
      const st = sizeNow();
      const key = DiskQuota.key(st);
      const before = Number(st.size);
      if (size > before) quota.charge(key, size - before, show);
      try {
        host('ftruncate', show, () => fs.ftruncateSync(fd, size));
      } catch (e) {
        if (size > before) quota.credit(key, size - before);
        throw e;
      }
      if (size < before) quota.credit(key, before - size);
    },
    sync: () => host('fsync', show, () => fs.fsyncSync(fd)),
    utimes: (atime, mtime) => host('futimes', show, () => {
      if (readOnly) throw new FsError(EROFS, show, 'futimens');
      const s = fs.fstatSync(fd, { bigint: true });
      fs.futimesSync(fd, atime ? seconds(atime) : seconds(nsSpec(s.atimeNs)), mtime ? seconds(mtime) : seconds(nsSpec(s.mtimeNs)));
    }),
    chmod: (mode) => {
      if (readOnly) throw new FsError(EROFS, show, 'fchmod');
      host('fchmod', show, () => fs.fchmodSync(fd, mode));
    },
    // The magic link leads to this very file (opened without following a link).
    statfs: () => statfsOf(viaFd(fd), show),
    close: () => host('close', show, () => fs.closeSync(fd)),
  };
}

export interface HostFsOptions {
  /** Refuse every change (a :ro mount). */
  readOnly?: boolean;
  /** Count what the guest adds (--disk-quota); shared between mounts. */
  quota?: DiskQuota;
  /** Open regular files only: a device node, FIFO or socket in the tree is
   *  EACCES (a sysroot: what it holds is libraries, never devices). */
  filesOnly?: boolean;
}

/** What a HostFs and its subtree views share. */
interface HostTree {
  label: string;
  readOnly: boolean;
  quota?: DiskQuota;
  filesOnly?: boolean;
}

/** A held directory nobody can reach any more is closed: trees made and
 *  dropped (a test's sandbox, a VM's) do not use up the host's descriptors. */
const unreachable = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    // closed already
  }
});

/** A host directory as a FileSystem, resolved only from descriptors it holds. */
export class HostFs implements SubtreeFs {
  readonly label: string;
  readonly readOnly: boolean;
  private readonly tree: HostTree;
  /** The directory this tree (or view) starts at, held open (O_PATH). */
  private readonly fd: number;
  private released = false;

  /** `root`: an existing host directory, opened now and held from then on.
   *  (`readOnly` may also be given alone, as before.) */
  constructor(root: string | { fd: number; tree: HostTree }, options: HostFsOptions | boolean = {}) {
    if (typeof root !== 'string') {
      this.fd = root.fd;
      this.tree = root.tree;
    } else {
      const o = typeof options === 'boolean' ? { readOnly: options } : options;
      const real = fs.realpathSync(root);
      let fd: number;
      try {
        fd = fs.openSync(real, DIR_FLAGS() | fs.constants.O_NOFOLLOW);
      } catch (e) {
        throw new HostFsUnavailable(real, (e as NodeJS.ErrnoException).code ?? String(e));
      }
      HostFs.checkProc(fd, real);
      this.fd = fd;
      this.tree = { label: `host:${real}`, readOnly: o.readOnly ?? false, quota: o.quota, filesOnly: o.filesOnly };
    }
    this.label = this.tree.label;
    this.readOnly = this.tree.readOnly;
    unreachable.register(this, this.fd, this);
  }

  /** Fails closed: /proc/self/fd/N must lead to the very directory fd N holds. */
  private static checkProc(fd: number, real: string): void {
    let ok = false;
    try {
      const held = fs.fstatSync(fd, { bigint: true });
      const via = fs.statSync(viaFd(fd), { bigint: true });
      ok = via.isDirectory() && via.dev === held.dev && via.ino === held.ino;
    } catch {
      ok = false;
    }
    if (!ok) {
      fs.closeSync(fd);
      throw new HostFsUnavailable(real, '/proc/self/fd is not available');
    }
  }

  private show(path: string[]): string {
    return this.label + '/' + path.join('/');
  }

  private writable(path: string[]): void {
    if (this.readOnly) throw new FsError(EROFS, this.show(path));
  }

  /**
   * Opens the directory `dirs` below the held one, a component at a time,
   * never following a link, and runs `f` with its descriptor; every
   * descriptor it opened is closed again.
   */
  private inDir<T>(dirs: string[], op: string, f: (fd: number) => T): T {
    if (this.released) throw new FsError(EBADF, this.label, op);
    const show = this.show(dirs);
    let fd = this.fd;
    try {
      for (const name of dirs) {
        const next = host(op, show, () => fs.openSync(viaFd(fd, plainName(name, show)), DIR_FLAGS()));
        if (fd !== this.fd) fs.closeSync(fd);
        fd = next;
      }
      return f(fd);
    } finally {
      if (fd !== this.fd) fs.closeSync(fd);
    }
  }

  /** `f(parent directory's descriptor, last name)` for a non-empty path. */
  private inParent<T>(path: string[], op: string, f: (dirFd: number, name: string) => T): T {
    if (path.length === 0) throw new FsError(EBUSY, this.show(path), op);
    const name = plainName(path[path.length - 1], this.show(path));
    return this.inDir(path.slice(0, -1), op, (fd) => f(fd, name));
  }

  /** The object at `path` held (O_PATH, the last name not followed) while `f` runs. */
  private onObject<T>(path: string[], op: string, f: (objFd: number, st: fs.BigIntStats) => T): T {
    const show = this.show(path);
    const run = (fd: number) => f(fd, host('fstat', show, () => fs.fstatSync(fd, { bigint: true })));
    if (path.length === 0) return this.inDir([], op, run);
    return this.inParent(path, op, (dirFd, name) => {
      const fd = host(op, show, () => fs.openSync(viaFd(dirFd, name), O_PATH_HOST | fs.constants.O_NOFOLLOW));
      try {
        return run(fd);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  lstat(path: string[]): Stat {
    const show = this.show(path);
    if (path.length === 0) return this.inDir([], 'lstat', (fd) => host('fstat', show, () => toStat(fs.fstatSync(fd, { bigint: true }))));
    return this.inParent(path, 'lstat', (d, name) => host('lstat', show, () => toStat(fs.lstatSync(viaFd(d, name), { bigint: true }))));
  }

  readlink(path: string[]): string {
    if (path.length === 0) throw new FsError(EINVAL, this.show(path), 'readlink');
    return this.inParent(path, 'readlink', (d, name) =>
      host('readlink', this.show(path), () => (fs.readlinkSync(viaFd(d, name), { encoding: 'buffer' }) as Buffer).toString('latin1')));
  }

  open(path: string[], flags: number, mode: number, known?: Stat): OpenFile {
    const c = fs.constants;
    const acc = flags & O_ACCMODE;
    if (this.readOnly && (acc !== O_RDONLY || flags & (O_CREAT | O_TRUNC))) this.writable(path);
    let hostFlags = (acc === O_WRONLY ? c.O_WRONLY : acc === O_RDWR ? c.O_RDWR : c.O_RDONLY) | c.O_NOFOLLOW | c.O_NOCTTY;
    if (flags & O_CREAT) hostFlags |= c.O_CREAT;
    if (flags & O_EXCL) hostFlags |= c.O_EXCL;
    const truncating = (flags & O_TRUNC) !== 0 && acc !== O_RDONLY;
    if (truncating) hostFlags |= c.O_TRUNC;
    const show = this.show(path);
    const quota = this.readOnly ? undefined : this.tree.quota;
    return this.inParent(path, 'open', (d, name) => {
      const p = viaFd(d, name);
      // What is there: as the walk saw it in this same call (one lookup
      // fewer), or looked at now. It only decides how to open; the open
      // itself follows no link whatever is there by then.
      let before: { fifo: boolean; file: boolean; size: bigint } | undefined;
      if (known && !(flags & O_CREAT)) {
        before = { fifo: (known.mode & S_IFMT) === S_IFIFO, file: (known.mode & S_IFMT) === S_IFREG, size: known.size };
      } else {
        const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
        before = st && { fifo: st.isFIFO(), file: st.isFile(), size: st.size };
      }
      if (this.tree.filesOnly && !before?.file) throw new FsError(EACCES, show, 'open');
      // Opening a FIFO for reading would block the host until a writer comes.
      if (before?.fifo) hostFlags |= c.O_NONBLOCK;
      // A new file costs a block of the quota: refuse before making it.
      if (!before && flags & O_CREAT && quota && quota.room < QUOTA_BLOCK) throw new FsError(EDQUOT, show, 'open');
      const fd = host('open', show, () => fs.openSync(p, hostFlags, mode));
      try {
        // (What was opened, not what was looked at: a name swapped meanwhile.)
        if (this.tree.filesOnly && !fs.fstatSync(fd).isFile()) throw new FsError(EACCES, show, 'open');
        if (!before) host('fchmod', show, () => fs.fchmodSync(fd, mode));
        if (quota) {
          const key = DiskQuota.key(fs.fstatSync(fd, { bigint: true }));
          if (!before) quota.charge(key, QUOTA_BLOCK, show);
          else if (truncating && before.file) quota.credit(key, Number(before.size));
        }
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
      return hostHandle(fd, show, this.readOnly, quota);
    });
  }

  readdir(path: string[]): DirEntry[] {
    const show = this.show(path);
    return this.inDir(path, 'readdir', (dirFd) => {
      // In the host's getdents order, which qemu-riscv64 passes on and programs
      // show (7zz h, ls -f): readdirSync sorts by name (libuv's scandir), a Dir
      // reads in directory order. (Both leave out '.' and '..', which the
      // descriptor lists first.) The Dir is opened through the held directory's
      // magic link: the listing is of that object, wherever it now is.
      const entries = host('readdir', show, () => {
        // latin1: one character per byte, the names' bytes unchanged.
        const listing = fs.opendirSync(viaFd(dirFd) as unknown as string, { encoding: 'latin1' });
        const all: fs.Dirent[] = [];
        try {
          for (let d = listing.readSync(); d !== null; d = listing.readSync()) all.push(d);
        } finally {
          listing.closeSync();
        }
        return all;
      });
      return entries.map((d) => {
        let ino = 0n;
        try {
          ino = fs.lstatSync(viaFd(dirFd, d.name), { bigint: true }).ino;
        } catch {
          // gone since the listing: keep the name, as a racing readdir would
        }
        return { name: d.name, ino, type: direntType(d) };
      });
    });
  }

  /** Charges a new name's block before it is made (EDQUOT refuses it). */
  private chargeNew(p: Buffer, show: string, make: () => void): void {
    const quota = this.tree.quota;
    if (quota && quota.room < QUOTA_BLOCK) throw new FsError(EDQUOT, show, 'quota');
    make();
    if (quota) {
      try {
        quota.charge(DiskQuota.key(fs.lstatSync(p, { bigint: true })), QUOTA_BLOCK, show);
      } catch {
        // made and gone again at once (a host process): nothing to count
      }
    }
  }

  /** Before a name goes: what its file was charged comes back when this was its last link. */
  private creditRemoved(p: Buffer): void {
    const quota = this.tree.quota;
    if (!quota) return;
    try {
      const st = fs.lstatSync(p, { bigint: true });
      if (st.isDirectory() || st.nlink <= 1n) quota.credit(DiskQuota.key(st));
      else quota.credit(DiskQuota.key(st), QUOTA_BLOCK);
    } catch {
      // nothing there: the call itself will say so
    }
  }

  mkdir(path: string[], mode: number): void {
    this.writable(path);
    const show = this.show(path);
    this.inParent(path, 'mkdir', (d, name) => {
      const p = viaFd(d, name);
      this.chargeNew(p, show, () => host('mkdir', show, () => fs.mkdirSync(p, { mode })));
      // The umask-free mode, set on the new directory object itself.
      const fd = host('open', show, () => fs.openSync(p, DIR_FLAGS()));
      try {
        host('chmod', show, () => fs.chmodSync(viaFd(fd), mode));
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  rmdir(path: string[]): void {
    this.writable(path);
    this.inParent(path, 'rmdir', (d, name) => {
      const p = viaFd(d, name);
      const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
      host('rmdir', this.show(path), () => fs.rmdirSync(p));
      if (st && this.tree.quota) this.tree.quota.credit(DiskQuota.key(st));
    });
  }

  unlink(path: string[]): void {
    this.writable(path);
    this.inParent(path, 'unlink', (d, name) => {
      const p = viaFd(d, name);
      const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
      host('unlink', this.show(path), () => fs.unlinkSync(p));
      if (st && this.tree.quota) {
        if (st.nlink <= 1n) this.tree.quota.credit(DiskQuota.key(st));
        else this.tree.quota.credit(DiskQuota.key(st), QUOTA_BLOCK);
      }
    });
  }

  /** The other side of a rename or link: this tree or a view of it. */
  private sameTree(other: FileSystem, path: string[]): HostFs {
    if (!(other instanceof HostFs) || other.tree !== this.tree) throw new FsError(EXDEV, this.show(path));
    return other;
  }

  rename(from: string[], to: string[], noReplace: boolean, toFs: FileSystem): void {
    this.writable(from);
    const target = this.sameTree(toFs, to);
    this.inParent(from, 'rename', (d1, n1) => target.inParent(to, 'rename', (d2, n2) => {
      const dst = viaFd(d2, n2);
      // (Node has no renameat2; the check and the rename are one guest call.)
      if (noReplace && fs.lstatSync(dst, { throwIfNoEntry: false })) throw new FsError(EEXIST, this.show(to), 'rename');
      const replaced = fs.lstatSync(dst, { bigint: true, throwIfNoEntry: false });
      host('rename', this.show(from), () => fs.renameSync(viaFd(d1, n1), dst));
      if (replaced && this.tree.quota) {
        if (replaced.isDirectory() || replaced.nlink <= 1n) this.tree.quota.credit(DiskQuota.key(replaced));
        else this.tree.quota.credit(DiskQuota.key(replaced), QUOTA_BLOCK);
      }
    }));
  }

  symlink(target: string, path: string[]): void {
    this.writable(path);
    const show = this.show(path);
    this.inParent(path, 'symlink', (d, name) => {
      const p = viaFd(d, name);
      this.chargeNew(p, show, () => host('symlink', show, () => fs.symlinkSync(Buffer.from(target, 'latin1'), p)));
    });
  }

  link(from: string[], to: string[], toFs: FileSystem): void {
    this.writable(to);
    const target = this.sameTree(toFs, to);
    const show = this.show(to);
    this.inParent(from, 'link', (d1, n1) => target.inParent(to, 'link', (d2, n2) => {
      const src = viaFd(d1, n1);
      // link(2) does not follow a link in `from`; ringvisor refuses one anyway.
      const st = host('lstat', this.show(from), () => fs.lstatSync(src, { bigint: true }));
      if (st.isSymbolicLink()) throw new FsError(ELOOP, this.show(from), 'link');
      const quota = this.tree.quota;
      if (quota && quota.room < QUOTA_BLOCK) throw new FsError(EDQUOT, show, 'link');
      host('link', show, () => fs.linkSync(src, viaFd(d2, n2)));
      quota?.charge(DiskQuota.key(st), QUOTA_BLOCK, show);
    }));
  }

  truncate(path: string[], size: number): void {
    this.writable(path);
    const show = this.show(path);
    this.inParent(path, 'truncate', (d, name) => {
      const st = host('lstat', show, () => fs.lstatSync(viaFd(d, name)));
      if (st.isSymbolicLink()) throw new FsError(ELOOP, show, 'truncate');
      if (st.isDirectory()) throw new FsError(EISDIR, show, 'truncate');
      if (!st.isFile()) throw new FsError(EINVAL, show, 'truncate');
      const c = fs.constants;
      const fd = host('open', show, () => fs.openSync(viaFd(d, name), c.O_WRONLY | c.O_NOFOLLOW | c.O_NONBLOCK));
      const h = hostHandle(fd, show, this.readOnly, this.tree.quota);
      try {
        h.truncate(size);
      } finally {
        h.close();
      }
    });
  }

  utimes(path: string[], atime: Timespec | null, mtime: Timespec | null): void {
    this.writable(path);
    const show = this.show(path);
    const s = this.lstat(path);
    const a = seconds(atime ?? s.atime), m = seconds(mtime ?? s.mtime);
    // The held directory itself: its magic link leads to it (a directory, not
    // a link). Otherwise lutimes on openat(parent, name): the name is not followed.
    if (path.length === 0) this.inDir([], 'utimes', (fd) => host('utimes', show, () => fs.utimesSync(viaFd(fd), a, m)));
    else this.inParent(path, 'utimes', (d, name) => host('utimes', show, () => fs.lutimesSync(viaFd(d, name), a, m)));
  }

  chmod(path: string[], mode: number): void {
    this.writable(path);
    const show = this.show(path);
    // chmod follows links, so it is done on the object held with O_PATH (its
    // magic link leads to that object, which is checked not to be a link).
    this.onObject(path, 'chmod', (fd, st) => {
      if (st.isSymbolicLink()) throw new FsError(EOPNOTSUPP, show, 'chmod');
      host('chmod', show, () => fs.chmodSync(viaFd(fd), mode));
    });
  }

  statfs(path: string[]): FsStats {
    const show = this.show(path);
    // A directory's own (it may be a host mount point); anything else, the
    // directory holding it: host statfs would follow a link.
    return this.onObject(path, 'statfs', (fd, st) => {
      if (st.isDirectory() || path.length === 0) return statfsOf(viaFd(fd), show);
      return this.inDir(path.slice(0, -1), 'statfs', (d) => statfsOf(viaFd(d), show));
    });
  }

  access(path: string[], mode: number): void {
    const show = this.show(path);
    this.onObject(path, 'access', (fd, st) => {
      if (st.isSymbolicLink()) return;
      if (mode & 2 && this.readOnly) throw new FsError(EROFS, show, 'access');
      host('access', show, () => fs.accessSync(viaFd(fd), mode));
    });
  }

  subtree(path: string[]): HostFs {
    const show = this.show(path);
    // A descriptor of its own (through the magic link for the held one), so
    // that the view lives exactly as long as whoever holds it.
    const fd = path.length === 0
      // (The magic link itself must be followed: it is the held directory.)
      ? this.inDir([], 'open', (d) => host('open', show, () => fs.openSync(viaFd(d), O_PATH_HOST | fs.constants.O_DIRECTORY)))
      : this.inParent(path, 'open', (d, name) => host('open', show, () => fs.openSync(viaFd(d, name), DIR_FLAGS())));
    return new HostFs({ fd, tree: this.tree });
  }

  lstatHold(path: string[]): { stat: Stat; dir?: HostFs } {
    if (path.length === 0) return { stat: this.lstat(path) };
    const show = this.show(path);
    // One O_PATH open that does not follow the name; fstat says what it is.
    return this.inParent(path, 'lstat', (d, name) => {
      const fd = host('lstat', show, () => fs.openSync(viaFd(d, name), O_PATH_HOST | fs.constants.O_NOFOLLOW));
      let st: Stat;
      try {
        st = host('fstat', show, () => toStat(fs.fstatSync(fd, { bigint: true })));
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
      if ((st.mode & 0o170000) !== 0o040000) {
        fs.closeSync(fd);
        return { stat: st };
      }
      return { stat: st, dir: new HostFs({ fd, tree: this.tree }) };
    });
  }

  /** Closes the held directory: a view's when its holder lets it go; a
   *  mount's when the guest is done (later calls fail with EBADF). */
  release(): void {
    if (this.released) return;
    this.released = true;
    unreachable.unregister(this);
    fs.closeSync(this.fd);
  }

  openPath(path: string[]): PathHandle {
    const show = this.show(path);
    if (path.length === 0) {
      const v = this.subtree([]);
      return { stat: () => v.lstat([]), statfs: () => v.statfs([]), close: () => v.release() };
    }
    // The object, and the directory it was found in (for statfs, which must
    // not follow a link the object may be).
    const dir = this.subtree(path.slice(0, -1));
    let fd: number;
    try {
      fd = dir.inDir([], 'open', (d) => host('open', show, () => fs.openSync(viaFd(d, plainName(path[path.length - 1], show)), O_PATH_HOST | fs.constants.O_NOFOLLOW)));
    } catch (e) {
      dir.release();
      throw e;
    }
    return {
      stat: () => host('fstat', show, () => toStat(fs.fstatSync(fd, { bigint: true }))),
      statfs: () => dir.inDir([], 'statfs', (d) => statfsOf(viaFd(d), show)),
      close: () => {
        fs.closeSync(fd);
        dir.release();
      },
    };
  }
}

export interface HostMount {
  host: string;
  guest: string;
  readOnly?: boolean;
}

/** Parses --mount's HOST:GUEST[:ro] (GUEST defaults to HOST). */
export function parseMountSpec(spec: string): HostMount {
  const parts = spec.split(':');
  let readOnly = false;
  if (parts.length > 1 && (parts[parts.length - 1] === 'ro' || parts[parts.length - 1] === 'rw')) {
    readOnly = parts.pop() === 'ro';
  }
  if (parts.length > 2 || !parts[0]) throw new Error(`bad mount '${spec}' (expected HOST:GUEST[:ro])`);
  const guest = parts[1] ?? parts[0];
  if (!guest.startsWith('/')) throw new Error(`bad mount '${spec}': the guest path must be absolute`);
  return { host: parts[0], guest, readOnly };
}

export interface SandboxOptions {
  /** The host directory the guest starts in (default process.cwd()). In the
   *  sandbox it is mounted read-write at its own (real) path. */
  cwd?: string;
  /** More host directories. */
  mounts?: HostMount[];
  /** --fs=host: the whole host file system at /, as qemu-riscv64 gives it. */
  hostRoot?: boolean;
  /** For /dev/random and /dev/urandom (default crypto.getRandomValues). */
  random?: (b: Uint8Array) => void;
  /** Timestamps of the private /tmp. */
  now?: () => Timespec;
  /** --tmp-size: bytes the private /tmp may hold, names, link targets and
   *  a per-file overhead included (default TMP_DEFAULT_BYTES). */
  tmpBytes?: number;
  /** --tmp-inodes: files, directories and links /tmp may hold (default TMP_DEFAULT_INODES). */
  tmpInodes?: number;
  /** --disk-quota: bytes the guest may add to host files through writable
   *  mounts (DiskQuota says what counts); EDQUOT beyond. Default: no quota. */
  diskQuota?: number;
}

/** A sysroot that cannot be shown: not there, or not a directory. */
export class SysrootError extends Error {
  constructor(readonly root: string, why: string) {
    super(`sysroot ${root}: ${why}`);
    this.name = 'SysrootError';
  }
}

/**
 * A host directory as a read-only sysroot for ProcessVMOptions.sysroot
 * (`ringvisor run -L`): a HostFs like any mount, so the directory is opened
 * once and held, and every name below it is walked from held descriptors
 * without following a link (GuestFs resolves the sysroot's links inside it);
 * read-only, and only its regular files can be opened (a device node in it
 * would otherwise be the host's device).
 */
export function hostSysroot(root: string): HostFs {
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SysrootError(root, code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : String(code ?? e));
  }
  if (!st.isDirectory()) throw new SysrootError(root, 'not a directory');
  return new HostFs(root, { readOnly: true, filesOnly: true });
}

/** The guest's file system the `ringvisor` command gives by default. */
export function sandboxFs(options: SandboxOptions = {}): GuestFs {
  const cwd = fs.realpathSync(options.cwd ?? process.cwd());
  const quota = options.diskQuota !== undefined ? new DiskQuota(options.diskQuota) : undefined;
  const mounts: MountSpec[] = [];
  if (options.hostRoot) {
    mounts.push({ guestPath: '/', fs: new HostFs('/', { quota }) });
  } else {
    mounts.push(...privateMounts({
      random: options.random ?? ((b) => crypto.getRandomValues(b)), now: options.now,
      tmpBytes: options.tmpBytes, tmpInodes: options.tmpInodes,
    }));
    mounts.push({ guestPath: cwd, fs: new HostFs(cwd, { quota }) });
  }
  for (const m of options.mounts ?? []) {
    let st: fs.Stats;
    try {
      st = fs.statSync(m.host);
    } catch {
      throw new Error(`mount ${m.host}: no such directory`);
    }
    if (!st.isDirectory()) throw new Error(`mount ${m.host}: not a directory`);
    mounts.push({ guestPath: m.guest, fs: new HostFs(m.host, { readOnly: m.readOnly, quota }), readOnly: m.readOnly });
  }
  return new GuestFs(mounts, cwd);
}
