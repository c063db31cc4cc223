// Node-only: host directories as guest file systems, and the sandbox the
// `ringvisor` command gives a guest (the working directory read-write at the
// same path, a private /tmp, --mount additions; or --fs=host, everything).
//
// GuestFs (src/linux/fs/guest-fs.ts) resolves every path in the guest's
// namespace and hands a HostFs only plain names below its root whose parents
// it has checked are directories, so a HostFs never lets the host follow a
// symbolic link: every call here works on the link itself (lstat, lutimes,
// O_NOFOLLOW) or refuses it. (A host process that swaps a checked directory
// for a symbolic link while the guest runs can still race this; the guest
// itself cannot.)
import * as fs from 'node:fs';
import { isatty } from 'node:tty';
import {
  EACCES, EAGAIN, EBADF, EBUSY, EEXIST, EFBIG, EINVAL, EIO, EISDIR, ELOOP, EMFILE, EMLINK, ENAMETOOLONG,
  ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, ENXIO, EOPNOTSUPP, EPERM, EPIPE, EROFS, ESPIPE, EXDEV, ENODEV, ENOTTY,
} from '../linux/errno.js';
import { GuestFs, privateMounts, type MountSpec } from '../linux/fs/guest-fs.js';
import {
  FsError, O_ACCMODE, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFLNK, S_IFMT,
  type DirEntry, type FileSystem, type FsStats, type OpenFile, type Stat, type Timespec,
} from '../linux/fs/types.js';

/** Linux errno for a Node error code (the host may number them differently). */
const ERRNO_BY_CODE: Record<string, number> = {
  EPERM, ENOENT, EIO, ENXIO, EBADF, EAGAIN, EACCES, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL,
  EMFILE, ENOTTY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, ENAMETOOLONG, ENOTEMPTY, ELOOP, EOPNOTSUPP,
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

/** An open host descriptor as an OpenFile (closing it closes the descriptor). */
export function hostHandle(fd: number, show: string, readOnly = false): OpenFile {
  const regular = host('fstat', show, () => fs.fstatSync(fd).isFile());
  const tty = !regular && isatty(fd);
  return {
    seekable: regular,
    tty,
    read: (buf, pos) => host('read', show, () => fs.readSync(fd, buf, 0, buf.length, pos)),
    write: (data, pos) => host('write', show, () => fs.writeSync(fd, data, 0, data.length, pos)),
    stat: () => host('fstat', show, () => toStat(fs.fstatSync(fd, { bigint: true }))),
    truncate: (size) => host('ftruncate', show, () => fs.ftruncateSync(fd, size)),
    sync: () => host('fsync', show, () => fs.fsyncSync(fd)),
    utimes: (atime, mtime) => host('futimes', show, () => {
      if (readOnly) throw new FsError(EROFS, show, 'futimens');
      const s = fs.fstatSync(fd, { bigint: true });
      fs.futimesSync(fd, atime ? seconds(atime) : seconds(nsSpec(s.atimeNs)), mtime ? seconds(mtime) : seconds(nsSpec(s.mtimeNs)));
    }),
    close: () => host('close', show, () => fs.closeSync(fd)),
  };
}

/** A host directory as a FileSystem. */
export class HostFs implements FileSystem {
  readonly label: string;
  private readonly root: Buffer;

  /** `root`: an existing host directory (resolved to its real path). */
  constructor(root: string, readonly readOnly = false) {
    const real = fs.realpathSync(root);
    this.root = Buffer.from(real === '/' ? '' : real);
    this.label = `host:${real}`;
  }

  /** The host path of a resolved path under the root (names are byte strings). */
  private at(path: string[]): Buffer {
    if (path.length === 0) return this.root.length ? this.root : Buffer.from('/');
    return Buffer.concat([this.root, Buffer.from('/' + path.join('/'), 'latin1')]);
  }

  private show(path: string[]): string {
    return this.label + '/' + path.join('/');
  }

  private writable(path: string[]): void {
    if (this.readOnly) throw new FsError(EROFS, this.show(path));
  }

  /** lstat that refuses a symbolic link, before a call the host would follow. */
  private notLink(path: string[], op: string): Stat {
    const s = this.lstat(path);
    if ((s.mode & S_IFMT) === S_IFLNK) throw new FsError(ELOOP, this.show(path), op);
    return s;
  }

  lstat(path: string[]): Stat {
    return host('lstat', this.show(path), () => toStat(fs.lstatSync(this.at(path), { bigint: true })));
  }

  readlink(path: string[]): string {
    return host('readlink', this.show(path), () => (fs.readlinkSync(this.at(path), { encoding: 'buffer' }) as Buffer).toString('latin1'));
  }

  open(path: string[], flags: number, mode: number): OpenFile {
    const c = fs.constants;
    const acc = flags & O_ACCMODE;
    if (this.readOnly && (acc !== O_RDONLY || flags & (O_CREAT | O_TRUNC))) this.writable(path);
    let hostFlags = (acc === O_WRONLY ? c.O_WRONLY : acc === O_RDWR ? c.O_RDWR : c.O_RDONLY) | c.O_NOFOLLOW | c.O_NOCTTY;
    if (flags & O_CREAT) hostFlags |= c.O_CREAT;
    if (flags & O_EXCL) hostFlags |= c.O_EXCL;
    if (flags & O_TRUNC && acc !== O_RDONLY) hostFlags |= c.O_TRUNC;
    let existed = true;
    if (flags & O_CREAT) {
      try {
        fs.lstatSync(this.at(path));
      } catch {
        existed = false;
      }
    }
    const p = this.at(path);
    const show = this.show(path);
    // Opening a FIFO for reading would block the host until a writer comes.
    const st = existed ? this.lstat(path) : undefined;
    if (st && (st.mode & S_IFMT) === 0o010000) hostFlags |= c.O_NONBLOCK;
    const fd = host('open', show, () => fs.openSync(p, hostFlags, mode));
    if (!existed) host('fchmod', show, () => fs.fchmodSync(fd, mode));
    return hostHandle(fd, show, this.readOnly);
  }

  readdir(path: string[]): DirEntry[] {
    const dir = this.at(path);
    // In the host's getdents order, which qemu-riscv64 passes on and programs
    // show (7zz h, ls -f): readdirSync sorts by name (libuv's scandir), a Dir
    // reads in directory order. (Both leave out '.' and '..', which the
    // descriptor lists first.)
    const entries = host('readdir', this.show(path), () => {
      // latin1: one character per byte, the names' bytes unchanged.
      const listing = fs.opendirSync(dir, { encoding: 'latin1' });
      const all: fs.Dirent[] = [];
      try {
        for (let d = listing.readSync(); d !== null; d = listing.readSync()) all.push(d);
      } finally {
        listing.closeSync();
      }
      return all;
    });
    return entries.map((d) => {
      const name = d.name;
      let ino = 0n;
      try {
        ino = fs.lstatSync(Buffer.concat([dir, Buffer.from('/' + name, 'latin1')]), { bigint: true }).ino;
      } catch {
        // gone since the listing: keep the name, as a racing readdir would
      }
      return { name, ino, type: direntType(d) };
    });
  }

  mkdir(path: string[], mode: number): void {
    this.writable(path);
    host('mkdir', this.show(path), () => {
      fs.mkdirSync(this.at(path), { mode });
      fs.chmodSync(this.at(path), mode);
    });
  }

  rmdir(path: string[]): void {
    this.writable(path);
    host('rmdir', this.show(path), () => fs.rmdirSync(this.at(path)));
  }

  unlink(path: string[]): void {
    this.writable(path);
    host('unlink', this.show(path), () => fs.unlinkSync(this.at(path)));
  }

  rename(from: string[], to: string[], noReplace: boolean): void {
    this.writable(from);
    if (noReplace && host('lstat', undefined, () => fs.existsSync(this.at(to)))) throw new FsError(EEXIST, this.show(to), 'rename');
    host('rename', this.show(from), () => fs.renameSync(this.at(from), this.at(to)));
  }

  symlink(target: string, path: string[]): void {
    this.writable(path);
    host('symlink', this.show(path), () => fs.symlinkSync(Buffer.from(target, 'latin1'), this.at(path)));
  }

  link(from: string[], to: string[]): void {
    this.writable(to);
    this.notLink(from, 'link');
    host('link', this.show(to), () => fs.linkSync(this.at(from), this.at(to)));
  }

  truncate(path: string[], size: number): void {
    this.writable(path);
    this.notLink(path, 'truncate');
    host('truncate', this.show(path), () => fs.truncateSync(this.at(path), size));
  }

  utimes(path: string[], atime: Timespec | null, mtime: Timespec | null): void {
    this.writable(path);
    const s = this.lstat(path);
    host('utimes', this.show(path), () => fs.lutimesSync(this.at(path), seconds(atime ?? s.atime), seconds(mtime ?? s.mtime)));
  }

  chmod(path: string[], mode: number): void {
    this.writable(path);
    const s = this.lstat(path);
    if ((s.mode & S_IFMT) === S_IFLNK) throw new FsError(EOPNOTSUPP, this.show(path), 'chmod');
    host('chmod', this.show(path), () => fs.chmodSync(this.at(path), mode));
  }

  statfs(path: string[]): FsStats {
    const s = host('statfs', this.show(path), () => fs.statfsSync(this.at(path), { bigint: true }));
    return { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, namelen: 255n };
  }

  access(path: string[], mode: number): void {
    const s = this.lstat(path);
    if ((s.mode & S_IFMT) === S_IFLNK) return;
    if (mode & 2 && this.readOnly) throw new FsError(EROFS, this.show(path), 'access');
    host('access', this.show(path), () => fs.accessSync(this.at(path), mode));
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
}

/** The guest's file system the `ringvisor` command gives by default. */
export function sandboxFs(options: SandboxOptions = {}): GuestFs {
  const cwd = fs.realpathSync(options.cwd ?? process.cwd());
  const mounts: MountSpec[] = [];
  if (options.hostRoot) {
    mounts.push({ guestPath: '/', fs: new HostFs('/') });
  } else {
    mounts.push(...privateMounts({ random: options.random ?? ((b) => crypto.getRandomValues(b)), now: options.now }));
    mounts.push({ guestPath: cwd, fs: new HostFs(cwd) });
  }
  for (const m of options.mounts ?? []) {
    let st: fs.Stats;
    try {
      st = fs.statSync(m.host);
    } catch {
      throw new Error(`mount ${m.host}: no such directory`);
    }
    if (!st.isDirectory()) throw new Error(`mount ${m.host}: not a directory`);
    mounts.push({ guestPath: m.guest, fs: new HostFs(m.host, m.readOnly), readOnly: m.readOnly });
  }
  return new GuestFs(mounts, cwd);
}
