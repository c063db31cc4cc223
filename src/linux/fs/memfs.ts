// An in-memory file system: the guest's private /tmp, the synthetic tree that
// leads to the mounts, and the few devices of /dev. Pure TypeScript, so it
// works wherever the core does (Node or a browser).
//
// Everything a guest makes here is host memory, so all of it is counted
// against two limits (--tmp-size bytes, --tmp-inodes inodes; MemFsOptions)
// and ENOSPC refuses what would pass them, as tmpfs does: otherwise a guest
// could exhaust Node's heap with names alone. A directory descriptor or
// working directory holds its inode through a subtree view (subtree()), so
// it keeps naming that directory when the guest renames or removes it.
import {
  EACCES, EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, EPERM, EROFS, EBUSY, EXDEV,
} from '../errno.js';
import {
  FsError, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, O_TRUNC, O_CREAT, O_EXCL, O_ACCMODE, O_RDONLY,
  dirType, type DirEntry, type FileSystem, type FsStats, type OpenFile, type PathHandle, type Stat, type SubtreeFs, type Timespec,
} from './types.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

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
  /** Regular file: bytes [0, size) of data (data.length is what is allocated). */
  data?: Uint8Array;
  size: number;
  /** Directory. */
  children?: Map<string, Inode>;
  /** Symbolic link. */
  target?: string;
  device?: Device;
  /** Open descriptions of this file: its memory stays counted until the last goes. */
  opens: number;
  /** Counted as freed already. */
  freed?: boolean;
}

/** What one inode costs the byte limit besides its names and data: about
 *  what its object, times and map entry take of the host's heap. */
export const MEMFS_INODE_BYTES = 512;
/** What one directory entry costs besides its name's bytes. */
export const MEMFS_ENTRY_BYTES = 128;
/** Defaults of --tmp-size and --tmp-inodes. */
export const TMP_DEFAULT_BYTES = 1024 * 1024 * 1024;
export const TMP_DEFAULT_INODES = 65536;

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
  /** Bytes of host memory the tree may take before ENOSPC (default
   *  TMP_DEFAULT_BYTES): file data as allocated, every name and link target,
   *  and MEMFS_INODE_BYTES per inode and MEMFS_ENTRY_BYTES per entry. */
  maxBytes?: number;
  /** Inodes before ENOSPC (default TMP_DEFAULT_INODES); each hard link
   *  counts as one too, as tmpfs counts them. */
  maxInodes?: number;
  /** st_dev of every file. */
  dev?: bigint;
}

let nextDev = 0x100n;

/** What a MemFs and its subtree views share: the limits and their counts. */
interface MemStore {
  readOnly: boolean;
  used: number;
  inodes: number;
  readonly maxBytes: number;
  readonly maxInodes: number;
  nextIno: bigint;
}

/**
 * An in-memory tree. Every guest-controlled allocation (file data, names,
 * link targets, inodes, entries) is counted against the byte and inode
 * limits before it is made, and fails with ENOSPC as tmpfs does; nothing is
 * given back until the host memory is really let go (an unlinked file that
 * is still open stays counted until its last descriptor closes).
 */
export class MemFs implements SubtreeFs {
  readonly label: string;
  private readonly root: Inode;
  private readonly store: MemStore;
  private readonly dev: bigint;
  private readonly now: () => Timespec;
  private readonly uid: number;
  private readonly gid: number;

  constructor(options: MemFsOptions = {}, view?: { of: MemFs; root: Inode }) {
    this.label = view?.of.label ?? options.label ?? 'memfs';
    this.dev = view?.of.dev ?? options.dev ?? nextDev++;
    this.now = view?.of.now ?? options.now ?? (() => {
      const ms = Date.now();
      return { sec: BigInt(Math.floor(ms / 1000)), nsec: (ms % 1000) * 1_000_000 };
    });
    this.uid = view?.of.uid ?? options.uid ?? 0;
    this.gid = view?.of.gid ?? options.gid ?? 0;
    this.store = view?.of.store ?? {
      readOnly: options.readOnly ?? false, used: 0, inodes: 0, nextIno: 2n,
      maxBytes: options.maxBytes ?? TMP_DEFAULT_BYTES, maxInodes: options.maxInodes ?? TMP_DEFAULT_INODES,
    };
    if (view) {
      this.root = view.root;
    } else {
      this.root = this.inode(S_IFDIR | 0o1777, 0);
      this.root.nlink = 2;
    }
  }

  get readOnly(): boolean { return this.store.readOnly; }
  set readOnly(on: boolean) { this.store.readOnly = on; }

  /** Bytes and inodes counted now (for tests and statfs). */
  get usage(): { bytes: number; inodes: number } {
    return { bytes: this.store.used, inodes: this.store.inodes };
  }

  /** Counts `bytes` and `inodes` more, or throws ENOSPC and counts nothing. */
  private charge(bytes: number, inodes = 0): void {
    const s = this.store;
    if (s.used + bytes > s.maxBytes || s.inodes + inodes > s.maxInodes) throw new FsError(ENOSPC, this.label, 'no space');
    s.used += bytes;
    s.inodes += inodes;
  }

  private credit(bytes: number, inodes = 0): void {
    this.store.used -= bytes;
    this.store.inodes -= inodes;
  }

  private static entryBytes(name: string): number {
    return MEMFS_ENTRY_BYTES + name.length;
  }

  /** A new inode, counted (with `extra` bytes: its first name, its link target). */
  private inode(mode: number, extra: number): Inode {
    this.charge(MEMFS_INODE_BYTES + extra, 1);
    const t = this.now();
    const node: Inode = { ino: this.store.nextIno++, mode, nlink: 1, uid: this.uid, gid: this.gid, atime: t, mtime: t, ctime: t, size: 0, opens: 0 };
    if ((mode & S_IFMT) === S_IFDIR) node.children = new Map();
    if ((mode & S_IFMT) === S_IFREG) node.data = new Uint8Array(0);
    return node;
  }

  /** Lets an inode's memory go, once nothing names or holds it. */
  private maybeFree(node: Inode): void {
    if (node.freed || node.nlink > 0 || node.opens > 0) return;
    node.freed = true;
    this.credit(MEMFS_INODE_BYTES + (node.target?.length ?? 0) + (node.data?.length ?? 0), 1);
    node.data = node.data && new Uint8Array(0);
    node.size = 0;
  }

  /** Puts a new inode in `dir` under `name` (its entry counted with it). */
  private add(dir: Inode, name: string, mode: number, target?: string): Inode {
    const node = this.inode(mode, MemFs.entryBytes(name) + (target?.length ?? 0));
    if (target !== undefined) node.target = target;
    dir.children!.set(name, node);
    if (node.children) {
      node.nlink = 2;
      dir.nlink++;
    }
    return node;
  }

  /** Takes the entry `name` out of `dir`: its name's bytes come back, and the
   *  inode's when that was its last name and nothing holds it open. */
  private removeEntry(dir: Inode, name: string, node: Inode): void {
    dir.children!.delete(name);
    this.credit(MemFs.entryBytes(name));
    if (node.children) {
      dir.nlink--;
      node.nlink = 0;
    } else {
      node.nlink--;
      // An extra hard link counted one inode; the last name's stays with the inode.
      if (node.nlink > 0) this.credit(0, 1);
    }
    this.maybeFree(node);
  }

  // ---- building the tree directly (not through a mount: ignores readOnly) ----

  /** Creates the directories of `path` that do not exist (mkdir -p). */
  makeDirs(path: string[], mode = 0o755): void {
    let dir = this.root;
    for (const name of path) {
      let child = dir.children!.get(name);
      if (!child) child = this.add(dir, name, S_IFDIR | mode);
      if (!child.children) throw new FsError(ENOTDIR, path.join('/'), 'makeDirs');
      dir = child;
    }
  }

  /** Puts a character device at `path` (its directory must exist). */
  addDevice(path: string[], device: Device, mode = 0o666): void {
    const { dir, name } = this.parent(path);
    this.add(dir, name, S_IFCHR | mode).device = device;
  }

  /** Puts a symbolic link at `path` (its directory must exist). */
  addSymlink(path: string[], target: string): void {
    const { dir, name } = this.parent(path);
    this.add(dir, name, S_IFLNK | 0o777, target);
  }

  /** Puts a file with `data` at `path` (its directory must exist). */
  addFile(path: string[], data: Uint8Array, mode = 0o644): void {
    const { dir, name } = this.parent(path);
    this.charge(data.length);
    const node = this.add(dir, name, S_IFREG | mode);
    node.data = data.slice();
    node.size = data.length;
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
    // A removed directory that a descriptor still holds: nothing new goes in.
    if (dir.nlink === 0) throw new FsError(ENOENT, path.join('/'));
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
      node = this.add(dir, name, S_IFREG | (mode & 0o7777));
      this.touch(dir, 'mc');
    } else if (writing && !node.device) {
      this.writable(path);
    }
    if (node.children) throw new FsError(EISDIR, path.join('/'), 'open');
    if (node.target !== undefined) throw new FsError(ELOOP, path.join('/'), 'open');
    if (node.data && (flags & O_TRUNC) && (flags & O_ACCMODE) !== O_RDONLY) this.resize(node, 0);
    return this.handle(node);
  }

  /** Sets a file's size; the buffer grows ahead (doubling, at most 64 MiB
   *  ahead) only as far as the limit allows, and every byte of it is counted. */
  private resize(node: Inode, size: number): void {
    const data = node.data!;
    if (size > data.length) {
      let want = Math.max(size, Math.min(data.length * 2, size + (64 << 20)));
      if (this.store.used + (want - data.length) > this.store.maxBytes) want = size;
      this.charge(want - data.length);
      const grown = new Uint8Array(want);
      grown.set(data.subarray(0, node.size));
      node.data = grown;
    } else if (size < node.size) {
      if (size < data.length / 4) {
        // Give most of the buffer back (truncate to 0 gives all of it).
        const kept = data.slice(0, size);
        this.credit(data.length - kept.length);
        node.data = kept;
      } else {
        data.fill(0, size, node.size);
      }
    }
    node.size = size;
    this.touch(node, 'mc');
  }

  private handle(node: Inode): OpenFile {
    const fs = this;
    const dev = node.device;
    node.opens++;
    let open = true;
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
      chmod(mode) {
        if (fs.readOnly && !dev) throw new FsError(EROFS, undefined, 'fchmod');
        node.mode = (node.mode & S_IFMT) | (mode & 0o7777);
        fs.touch(node, 'c');
      },
      statfs: () => fs.statfs(),
      close() {
        if (!open) return;
        open = false;
        node.opens--;
        fs.maybeFree(node);
      },
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
    this.add(dir, name, S_IFDIR | (mode & 0o7777));
    this.touch(dir, 'mc');
  }

  rmdir(path: string[]): void {
    this.writable(path);
    const { dir, name } = this.parent(path);
    const node = dir.children!.get(name);
    if (!node) throw new FsError(ENOENT, path.join('/'), 'rmdir');
    if (!node.children) throw new FsError(ENOTDIR, path.join('/'), 'rmdir');
    if (node.children.size) throw new FsError(ENOTEMPTY, path.join('/'), 'rmdir');
    this.removeEntry(dir, name, node);
    this.touch(dir, 'mc');
  }

  unlink(path: string[]): void {
    this.writable(path);
    const { dir, name } = this.parent(path);
    const node = dir.children!.get(name);
    if (!node) throw new FsError(ENOENT, path.join('/'), 'unlink');
    if (node.children) throw new FsError(EISDIR, path.join('/'), 'unlink');
    this.removeEntry(dir, name, node);
    this.touch(dir, 'mc');
  }

  /** The other side of a rename or link: this tree or a view of it. */
  private sameTree(other: FileSystem, path: string[]): MemFs {
    if (!(other instanceof MemFs) || other.store !== this.store) throw new FsError(EXDEV, path.join('/'));
    return other;
  }

  /** Whether `inner` is `dir` or inside it (a directory moved into itself would be lost). */
  private static contains(dir: Inode, inner: Inode): boolean {
    if (dir === inner) return true;
    for (const child of dir.children?.values() ?? []) {
      if (child.children && MemFs.contains(child, inner)) return true;
    }
    return false;
  }

  rename(from: string[], to: string[], noReplace: boolean, toFs: FileSystem): void {
    this.writable(from);
    const target = this.sameTree(toFs, to);
    const src = this.parent(from);
    const node = src.dir.children!.get(src.name);
    if (!node) throw new FsError(ENOENT, from.join('/'), 'rename');
    const dst = target.parent(to);
    if (node.children && MemFs.contains(node, dst.dir)) throw new FsError(EINVAL, to.join('/'), 'rename into itself');
    const old = dst.dir.children!.get(dst.name);
    if (old === node) return;
    if (old) {
      if (noReplace) throw new FsError(EEXIST, to.join('/'), 'rename');
      if (old.children) {
        if (!node.children) throw new FsError(EISDIR, to.join('/'), 'rename');
        if (old.children.size) throw new FsError(ENOTEMPTY, to.join('/'), 'rename');
      } else if (node.children) {
        throw new FsError(ENOTDIR, to.join('/'), 'rename');
      }
    }
    // The new name is counted before anything changes (ENOSPC leaves all as it was).
    this.charge(MemFs.entryBytes(dst.name));
    if (old) this.removeEntry(dst.dir, dst.name, old);
    src.dir.children!.delete(src.name);
    this.credit(MemFs.entryBytes(src.name));
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
    this.add(dir, name, S_IFLNK | 0o777, target);
    this.touch(dir, 'mc');
  }

  link(from: string[], to: string[], toFs: FileSystem): void {
    this.writable(to);
    const target = this.sameTree(toFs, to);
    const node = this.find(from);
    if (node.children) throw new FsError(EPERM, from.join('/'), 'link');
    const { dir, name } = target.parent(to);
    if (dir.children!.has(name)) throw new FsError(EEXIST, to.join('/'), 'link');
    if (node.nlink === 0) throw new FsError(ENOENT, from.join('/'), 'link');
    this.charge(MemFs.entryBytes(name), 1);
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
    const s = this.store;
    const blocks = BigInt(Math.floor(s.maxBytes / 4096));
    const used = BigInt(Math.min(Math.ceil(s.used / 4096), Number(blocks)));
    const files = BigInt(s.maxInodes);
    // TMPFS_MAGIC (include/uapi/linux/magic.h)
    return { type: 0x01021994n, bsize: 4096n, blocks, bfree: blocks - used, bavail: blocks - used, files, ffree: files - BigInt(Math.min(s.inodes, s.maxInodes)), namelen: 255n };
  }

  access(path: string[], mode: number): void {
    const node = this.find(path);
    if ((mode & 2) && this.readOnly && !node.device) throw new FsError(EROFS, path.join('/'), 'access');
    // The guest is root: everything is readable and writable, but only what
    // has an execute bit (or is a directory) is executable.
    if ((mode & 1) && (node.mode & S_IFMT) !== S_IFDIR && (node.mode & 0o111) === 0) throw new FsError(EACCES, path.join('/'), 'access');
  }

  subtree(path: string[]): MemFs {
    const node = this.find(path);
    if (!node.children) throw new FsError(ENOTDIR, path.join('/'), 'subtree');
    return new MemFs({}, { of: this, root: node });
  }

  /** Nothing to close: the view's directory is an object the view refers to. */
  release(): void {}

  openPath(path: string[]): PathHandle {
    const node = this.find(path);
    return { stat: () => this.statOf(node), statfs: () => this.statfs(), close: () => {} };
  }

  // ---- checkpoints (docs/CHECKPOINTS.md, "A process VM's checkpoint") ----

  /**
   * The whole tree as a record: the counts, then every inode reachable from
   * the root (the root first, each once however many names it has), each
   * with its kind's content; a directory lists its entries in their order
   * (readdir's) as (name, inode index). A device node or an inode no name
   * leads to (unlinked, still open) cannot be saved: MemFsSaveError.
   */
  save(): Uint8Array {
    const order: Inode[] = [], index = new Map<Inode, number>();
    const visit = (node: Inode): void => {
      if (index.has(node)) return;
      if (node.device) throw new MemFsSaveError(`${this.label}: a device node (inode ${node.ino})`);
      index.set(node, order.length);
      order.push(node);
      for (const child of node.children?.values() ?? []) visit(child);
    };
    visit(this.root);
    const s = this.store;
    const w = new RecordWriter(MEMFS_RECORD_TAG, MEMFS_RECORD_VERSION)
      .u64(s.nextIno).u64(BigInt(s.used)).u32(s.inodes).u32(order.length);
    const time = (t: Timespec) => w.u64(BigInt.asUintN(64, t.sec)).u32(t.nsec);
    for (const node of order) {
      w.u64(node.ino).u32(node.mode).u32(node.nlink).u32(node.uid).u32(node.gid);
      time(node.atime); time(node.mtime); time(node.ctime);
      switch (node.mode & S_IFMT) {
        case S_IFREG: w.u32(node.data!.length).bytes(node.data!.subarray(0, node.size)); break;
        case S_IFLNK: w.string(node.target ?? ''); break;
        case S_IFDIR:
          w.u32(node.children!.size);
          for (const [name, child] of node.children!) w.string(name).u32(index.get(child)!);
          break;
        default: throw new MemFsSaveError(`${this.label}: inode ${node.ino} of mode 0o${node.mode.toString(8)}`);
      }
    }
    return w.finish();
  }

  /**
   * Takes a tree save() wrote, in place of this one's (the root's object
   * stays, so views of it stay valid). Everything is read and checked
   * first: a record that does not hold together throws CheckpointError and
   * leaves the tree as it was. Nothing may be open in this tree.
   */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, MEMFS_RECORD_TAG, [MEMFS_RECORD_VERSION]);
    const nextIno = r.u64('the next inode'), used = r.u64('the bytes used'), inodes = r.u32('the inodes used');
    const count = r.u32('the inode count');
    if (count === 0 || count > this.store.maxInodes + 1) r.invalid(`${count} inodes`);
    const time = (what: string): Timespec => ({ sec: BigInt.asIntN(64, r.u64(what)), nsec: r.u32(what) });
    const nodes: Inode[] = [];
    const entries: [Inode, string, number, number][] = [];
    for (let i = 0; i < count; i++) {
      const ino = r.u64('an inode number'), mode = r.u32('a mode'), nlink = r.u32('a link count'), uid = r.u32('a uid'), gid = r.u32('a gid');
      const node: Inode = { ino, mode, nlink, uid, gid, atime: time('atime'), mtime: time('mtime'), ctime: time('ctime'), size: 0, opens: 0 };
      if (ino >= nextIno) r.invalid(`inode ${ino} at or past the next one, ${nextIno}`);
      switch (mode & S_IFMT) {
        case S_IFREG: {
          const allocated = r.u32('a file\'s allocation'), data = r.bytes('a file\'s bytes');
          if (data.length > allocated || allocated > this.store.maxBytes) r.invalid(`a file of ${data.length} bytes in ${allocated}`);
          node.data = new Uint8Array(allocated);
          node.data.set(data);
          node.size = data.length;
          break;
        }
        case S_IFLNK: node.target = r.string('a link target'); break;
        case S_IFDIR: {
          node.children = new Map();
          for (let k = 0, n = r.u32('a directory\'s entry count'); k < n; k++) {
            const name = r.string('a name'), child = r.u32('an entry\'s inode');
            if (name === '' || name === '.' || name === '..' || name.includes('/')) r.invalid(`an entry named ${JSON.stringify(name)}`);
            entries.push([node, name, child, i]);
          }
          break;
        }
        default: r.invalid(`inode ${ino} of mode 0o${mode.toString(8)}`);
      }
      nodes.push(node);
    }
    r.end();
    if (!nodes[0].children) r.invalid('a root that is not a directory');
    if (used > BigInt(this.store.maxBytes) || inodes > this.store.maxInodes) r.invalid(`${used} bytes and ${inodes} inodes, more than this tree allows (${this.store.maxBytes}, ${this.store.maxInodes})`);
    const named = new Set<number>();
    for (const [dir, name, child, at] of entries) {
      if (child === 0 || child >= count) r.invalid(`entry ${name} leads to inode index ${child}`);
      // (save() lists a directory after the one holding it: no cycles.)
      if (nodes[child].children && child <= at) r.invalid(`directory ${name} listed before the one holding it`);
      if (dir.children!.has(name)) r.invalid(`entry ${name} twice in one directory`);
      if (nodes[child].children && named.has(child)) r.invalid(`a directory with two names (${name})`);
      named.add(child);
      dir.children!.set(name, nodes[child]);
    }
    if (named.size !== count - 1) r.invalid(`${count - 1 - named.size} inodes no name leads to`);
    const root = this.root, saved = nodes[0];
    root.ino = saved.ino; root.mode = saved.mode; root.nlink = saved.nlink; root.uid = saved.uid; root.gid = saved.gid;
    root.atime = saved.atime; root.mtime = saved.mtime; root.ctime = saved.ctime;
    root.children = saved.children;
    for (const [dir, name, child] of entries) if (nodes[child] === saved) dir.children!.set(name, root);
    this.store.nextIno = nextIno;
    this.store.used = Number(used);
    this.store.inodes = inodes;
  }
}

export const MEMFS_RECORD_TAG = 'memfs';
export const MEMFS_RECORD_VERSION = 1;

/** A tree holds what a checkpoint cannot save (a device node). */
export class MemFsSaveError extends Error {
  constructor(readonly what: string) {
    super(`cannot save ${what}`);
    this.name = 'MemFsSaveError';
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
