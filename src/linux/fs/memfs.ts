// An in-memory file system: the guest's private /tmp, the synthetic tree that
// leads to the mounts, and the few devices of /dev. Pure TypeScript, so it
// works wherever the core does (Node or a browser).
import {
  EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, EPERM, EROFS, EBUSY,
} from '../errno.js';
import {
  FsError, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, O_TRUNC, O_CREAT, O_EXCL, O_ACCMODE, O_RDONLY,
  dirType, type DirEntry, type FileSystem, type FsStats, type OpenFile, type Stat, type Timespec,
} from './types.js';

/** A character device: what reads and writes do. */
export interface Device {
  read(buf: Uint8Array): number;
  write(data: Uint8Array): number;
  rdev: bigint;
}

interface Inode {
  ino: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  /** Regular file: bytes [0, size) of data. */
  data?: Uint8Array;
  size: number;
  /** Directory. */
  children?: Map<string, Inode>;
  /** Symbolic link. */
  target?: string;
  device?: Device;
}

export interface MemFsOptions {
  /** Shown in messages. */
  label?: string;
  /** Wall-clock time for timestamps (default: Date.now). */
  now?: () => Timespec;
  /** Owner of new files. */
  uid?: number;
  gid?: number;
  /** Refuse writes (a read-only mount). */
  readOnly?: boolean;
  /** Total bytes of file data before ENOSPC (default 1 GiB). */
  maxBytes?: number;
  /** st_dev of every file. */
  dev?: bigint;
}

let nextDev = 0x100n;

export class MemFs implements FileSystem {
  readonly label: string;
  readOnly: boolean;
  private readonly root: Inode;
  private nextIno = 2n;
  private used = 0;
  private readonly maxBytes: number;
  private readonly dev: bigint;
  private readonly now: () => Timespec;
  private readonly uid: number;
  private readonly gid: number;

  constructor(options: MemFsOptions = {}) {
    this.label = options.label ?? 'memfs';
    this.readOnly = options.readOnly ?? false;
    this.maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
    this.dev = options.dev ?? nextDev++;
    this.now = options.now ?? (() => {
      const ms = Date.now();
      return { sec: BigInt(Math.floor(ms / 1000)), nsec: (ms % 1000) * 1_000_000 };
    });
    this.uid = options.uid ?? 0;
    this.gid = options.gid ?? 0;
    this.root = this.inode(S_IFDIR | 0o1777);
    this.root.nlink = 2;
  }

  private inode(mode: number): Inode {
    const t = this.now();
    const node: Inode = { ino: this.nextIno++, mode, nlink: 1, uid: this.uid, gid: this.gid, atime: t, mtime: t, ctime: t, size: 0 };
    if ((mode & S_IFMT) === S_IFDIR) node.children = new Map();
    if ((mode & S_IFMT) === S_IFREG) node.data = new Uint8Array(0);
    return node;
  }

  // ---- building the tree directly (not through a mount: ignores readOnly) ----

  /** Creates the directories of `path` that do not exist (mkdir -p). */
  makeDirs(path: string[], mode = 0o755): void {
    let dir = this.root;
    for (const name of path) {
      let child = dir.children!.get(name);
      if (!child) {
        child = this.inode(S_IFDIR | mode);
        child.nlink = 2;
        dir.children!.set(name, child);
        dir.nlink++;
      }
      if (!child.children) throw new FsError(ENOTDIR, path.join('/'), 'makeDirs');
      dir = child;
    }
  }

  /** Puts a character device at `path` (its directory must exist). */
  addDevice(path: string[], device: Device, mode = 0o666): void {
    const { dir, name } = this.parent(path);
    const node = this.inode(S_IFCHR | mode);
    node.device = device;
    dir.children!.set(name, node);
  }

  /** Puts a symbolic link at `path` (its directory must exist). */
  addSymlink(path: string[], target: string): void {
    const { dir, name } = this.parent(path);
    const node = this.inode(S_IFLNK | 0o777);
    node.target = target;
    dir.children!.set(name, node);
  }

  /** Puts a file with `data` at `path` (its directory must exist). */
  addFile(path: string[], data: Uint8Array, mode = 0o644): void {
    const { dir, name } = this.parent(path);
    const node = this.inode(S_IFREG | mode);
    node.data = data.slice();
    node.size = data.length;
    this.used += data.length;
    dir.children!.set(name, node);
  }

  // ---- lookup ----

  private find(path: string[]): Inode {
    let node = this.root;
    for (const name of path) {
      if (!node.children) throw new FsError(ENOTDIR, path.join('/'));
      const child = node.children.get(name);
      if (!child) throw new FsError(ENOENT, path.join('/'));
      node = child;
    }
    return node;
  }

  private parent(path: string[]): { dir: Inode; name: string } {
    if (path.length === 0) throw new FsError(EBUSY, '/', 'parent of the root');
    const dir = this.find(path.slice(0, -1));
    if (!dir.children) throw new FsError(ENOTDIR, path.join('/'));
    return { dir, name: path[path.length - 1] };
  }

  private writable(path: string[]): void {
    if (this.readOnly) throw new FsError(EROFS, path.join('/'));
  }

  private touch(node: Inode, what: 'm' | 'c' | 'mc'): void {
    const t = this.now();
    if (what.includes('m')) node.mtime = t;
    node.ctime = t;
  }

  private statOf(node: Inode): Stat {
    return {
      dev: this.dev, ino: node.ino, mode: node.mode, nlink: node.nlink, uid: node.uid, gid: node.gid,
      rdev: node.device?.rdev ?? 0n,
      size: BigInt(node.children ? 4096 : node.target !== undefined ? node.target.length : node.size),
      blksize: 4096,
      blocks: BigInt(Math.ceil((node.children ? 4096 : node.size) / 4096) * 8),
      atime: node.atime, mtime: node.mtime, ctime: node.ctime,
    };
  }

  // ---- FileSystem ----

  lstat(path: string[]): Stat {
    return this.statOf(this.find(path));
  }

  readlink(path: string[]): string {
    const node = this.find(path);
    if (node.target === undefined) throw new FsError(EINVAL, path.join('/'), 'readlink');
    return node.target;
  }

  open(path: string[], flags: number, mode: number): OpenFile {
    let node: Inode | undefined;
    try {
      node = this.find(path);
    } catch (e) {
      if (!(e instanceof FsError) || e.errno !== ENOENT || !(flags & O_CREAT)) throw e;
    }
    if (node && (flags & O_CREAT) && (flags & O_EXCL)) throw new FsError(EEXIST, path.join('/'), 'open');
    const writing = (flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0;
    if (!node) {
      this.writable(path);
      const { dir, name } = this.parent(path);
      node = this.inode(S_IFREG | (mode & 0o7777));
      dir.children!.set(name, node);
      this.touch(dir, 'mc');
    } else if (writing && !node.device) {
      this.writable(path);
    }
    if (node.children) throw new FsError(EISDIR, path.join('/'), 'open');
    if (node.target !== undefined) throw new FsError(ELOOP, path.join('/'), 'open');
    if (node.data && (flags & O_TRUNC) && (flags & O_ACCMODE) !== O_RDONLY) this.resize(node, 0);
    return this.handle(node);
  }

  private resize(node: Inode, size: number): void {
    const data = node.data!;
    if (size > node.size) {
      if (this.used + (size - node.size) > this.maxBytes) throw new FsError(ENOSPC, undefined, 'write');
      if (size > data.length) {
        const grown = new Uint8Array(Math.max(size, Math.min(data.length * 2, size + (64 << 20))));
        grown.set(data.subarray(0, node.size));
        node.data = grown;
      }
    } else {
      data.fill(0, size, node.size);
    }
    this.used += size - node.size;
    node.size = size;
    this.touch(node, 'mc');
  }

  private handle(node: Inode): OpenFile {
    const fs = this;
    const dev = node.device;
    return {
      seekable: !dev,
      read(buf, pos) {
        if (dev) return dev.read(buf);
        const start = pos ?? 0;
        if (start >= node.size) return 0;
        const n = Math.min(buf.length, node.size - start);
        buf.set(node.data!.subarray(start, start + n));
        return n;
      },
      write(data, pos) {
        if (dev) return dev.write(data);
        if (fs.readOnly) throw new FsError(EROFS, undefined, 'write');
        const start = pos ?? 0;
        if (start + data.length > node.size) fs.resize(node, start + data.length);
        node.data!.set(data, start);
        fs.touch(node, 'mc');
        return data.length;
      },
      stat: () => fs.statOf(node),
      truncate(size) {
        if (!node.data) throw new FsError(EINVAL, undefined, 'truncate');
        if (fs.readOnly) throw new FsError(EROFS, undefined, 'truncate');
        fs.resize(node, size);
      },
      sync() {},
      utimes(atime, mtime) {
        if (fs.readOnly) throw new FsError(EROFS, undefined, 'futimens');
        fs.setTimes(node, atime, mtime);
      },
      close() {},
      available: () => (dev ? 0 : node.size),
    };
  }

  private setTimes(node: Inode, atime: Timespec | null, mtime: Timespec | null): void {
    if (atime) node.atime = atime;
    if (mtime) node.mtime = mtime;
    node.ctime = this.now();
  }

  readdir(path: string[]): DirEntry[] {
    const node = this.find(path);
    if (!node.children) throw new FsError(ENOTDIR, path.join('/'), 'readdir');
    return [...node.children].map(([name, child]) => ({ name, ino: child.ino, type: dirType(child.mode) }));
  }

  mkdir(path: string[], mode: number): void {
    this.writable(path);
    const { dir, name } = this.parent(path);
    if (dir.children!.has(name)) throw new FsError(EEXIST, path.join('/'), 'mkdir');
    const node = this.inode(S_IFDIR | (mode & 0o7777));
    node.nlink = 2;
    dir.children!.set(name, node);
    dir.nlink++;
    this.touch(dir, 'mc');
  }

  rmdir(path: string[]): void {
    this.writable(path);
    const { dir, name } = this.parent(path);
    const node = dir.children!.get(name);
    if (!node) throw new FsError(ENOENT, path.join('/'), 'rmdir');
    if (!node.children) throw new FsError(ENOTDIR, path.join('/'), 'rmdir');
    if (node.children.size) throw new FsError(ENOTEMPTY, path.join('/'), 'rmdir');
    dir.children!.delete(name);
    dir.nlink--;
    node.nlink = 0;
    this.touch(dir, 'mc');
  }

  unlink(path: string[]): void {
    this.writable(path);
    const { dir, name } = this.parent(path);
    const node = dir.children!.get(name);
    if (!node) throw new FsError(ENOENT, path.join('/'), 'unlink');
    if (node.children) throw new FsError(EISDIR, path.join('/'), 'unlink');
    dir.children!.delete(name);
    node.nlink--;
    // The data stays while a descriptor holds the inode; it is no longer counted.
    if (node.nlink === 0 && node.data) this.used -= node.size;
    this.touch(dir, 'mc');
  }

  rename(from: string[], to: string[], noReplace: boolean): void {
    this.writable(from);
    const src = this.parent(from);
    const node = src.dir.children!.get(src.name);
    if (!node) throw new FsError(ENOENT, from.join('/'), 'rename');
    if (node.children && to.length > from.length && from.every((c, i) => c === to[i])) {
      throw new FsError(EINVAL, to.join('/'), 'rename into itself');
    }
    const dst = this.parent(to);
    const old = dst.dir.children!.get(dst.name);
    if (old === node) return;
    if (old) {
      if (noReplace) throw new FsError(EEXIST, to.join('/'), 'rename');
      if (old.children) {
        if (!node.children) throw new FsError(EISDIR, to.join('/'), 'rename');
        if (old.children.size) throw new FsError(ENOTEMPTY, to.join('/'), 'rename');
        dst.dir.nlink--;
      } else if (node.children) {
        throw new FsError(ENOTDIR, to.join('/'), 'rename');
      }
      old.nlink = old.children ? 0 : old.nlink - 1;
      if (old.nlink === 0 && old.data) this.used -= old.size;
    }
    src.dir.children!.delete(src.name);
    dst.dir.children!.set(dst.name, node);
    if (node.children) { src.dir.nlink--; dst.dir.nlink++; }
    this.touch(src.dir, 'mc');
    this.touch(dst.dir, 'mc');
    this.touch(node, 'c');
  }

  symlink(target: string, path: string[]): void {
    this.writable(path);
    const { dir, name } = this.parent(path);
    if (dir.children!.has(name)) throw new FsError(EEXIST, path.join('/'), 'symlink');
    const node = this.inode(S_IFLNK | 0o777);
    node.target = target;
    dir.children!.set(name, node);
    this.touch(dir, 'mc');
  }

  link(from: string[], to: string[]): void {
    this.writable(to);
    const node = this.find(from);
    if (node.children) throw new FsError(EPERM, from.join('/'), 'link');
    const { dir, name } = this.parent(to);
    if (dir.children!.has(name)) throw new FsError(EEXIST, to.join('/'), 'link');
    dir.children!.set(name, node);
    node.nlink++;
    this.touch(node, 'c');
    this.touch(dir, 'mc');
  }

  truncate(path: string[], size: number): void {
    this.writable(path);
    const node = this.find(path);
    if (node.children) throw new FsError(EISDIR, path.join('/'), 'truncate');
    if (!node.data) throw new FsError(EINVAL, path.join('/'), 'truncate');
    this.resize(node, size);
  }

  utimes(path: string[], atime: Timespec | null, mtime: Timespec | null): void {
    this.writable(path);
    this.setTimes(this.find(path), atime, mtime);
  }

  chmod(path: string[], mode: number): void {
    this.writable(path);
    const node = this.find(path);
    node.mode = (node.mode & S_IFMT) | (mode & 0o7777);
    this.touch(node, 'c');
  }

  statfs(): FsStats {
    const blocks = BigInt(Math.floor(this.maxBytes / 4096));
    const used = BigInt(Math.ceil(this.used / 4096));
    // TMPFS_MAGIC (include/uapi/linux/magic.h)
    return { type: 0x01021994n, bsize: 4096n, blocks, bfree: blocks - used, bavail: blocks - used, files: 1n << 20n, ffree: (1n << 20n) - this.nextIno, namelen: 255n };
  }

  access(path: string[], mode: number): void {
    const node = this.find(path);
    if ((mode & 2) && this.readOnly && !node.device) throw new FsError(EROFS, path.join('/'), 'access');
  }
}

/** /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom in a memfs. */
export function addStandardDevices(fs: MemFs, dir: string[], random: (b: Uint8Array) => void): void {
  fs.makeDirs(dir);
  const mk = (major: number, minor: number) => (BigInt(major) << 8n) | BigInt(minor);
  fs.addDevice([...dir, 'null'], { rdev: mk(1, 3), read: () => 0, write: (d) => d.length });
  fs.addDevice([...dir, 'zero'], { rdev: mk(1, 5), read: (b) => { b.fill(0); return b.length; }, write: (d) => d.length });
  fs.addDevice([...dir, 'full'], { rdev: mk(1, 7), read: (b) => { b.fill(0); return b.length; }, write: () => { throw new FsError(ENOSPC); } });
  const rnd = { read: (b: Uint8Array) => { for (let i = 0; i < b.length; i += 65536) random(b.subarray(i, i + 65536)); return b.length; }, write: (d: Uint8Array) => d.length };
  fs.addDevice([...dir, 'random'], { rdev: mk(1, 8), ...rnd });
  fs.addDevice([...dir, 'urandom'], { rdev: mk(1, 9), ...rnd });
}
