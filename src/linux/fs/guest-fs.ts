// The guest's file-system namespace: a table of mounts, each a FileSystem
// (a host directory, an in-memory tree), and the path walk over them.
//
// Paths are resolved here, component by component, always in the guest's
// namespace, never by the host: '..' is taken off the guest path (so at a
// mount's root it leads to the mount point's parent in the guest's tree, and
// at '/' it stays at '/'), a symbolic link's target is read and resolved in
// the guest's namespace too (an absolute target starts again at the guest's
// '/'), and after 40 links the walk fails with ELOOP, as Linux's does. A
// FileSystem therefore only ever sees a path of plain names under its own
// root whose parents are all real directories, so no '..', symbolic link or
// chain of them can reach a host file outside a mount: what lies outside the
// mounts does not exist for the guest (ENOENT), as in a chroot.
//
// Whatever is not under a mount belongs to a read-only in-memory root that
// holds only the directories leading to the mount points.
//
// Objects, not strings (docs/SECURITY.md, "The file sandbox"): a directory
// descriptor and the working directory hold their directory (a HeldDir: a
// subtree view of its FileSystem that keeps the directory object itself, a
// host descriptor or an in-memory inode), and a walk that starts there, for
// an *at() call or a relative path, starts at that object. The walk treats
// the held directory as a mount of its own at the guest path it was opened
// by, for as long as the walk stays below that path; '..' above it, an
// absolute link and mounts further down are the namespace's as always. So a
// directory renamed, removed or replaced by a link after it was opened is
// still the one its descriptor names, and the names below it are looked up
// in it (each FileSystem then walks them from the object again, refusing any
// component that is no longer a directory). What a held directory cannot
// know is its new name: getcwd and /proc/self/fd/N show the path it was
// opened by, and '..' from it is taken off that path, inside the namespace.
import { EBUSY, EINVAL, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, EROFS, EXDEV } from '../errno.js';
import { MemFs, addStandardDevices } from './memfs.js';
import {
  FsError, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, isDir, isLink, textToName,
  type DirEntry, type FileSystem, type FsStats, type OpenFile, type PathHandle, type Stat, type SubtreeFs, type Timespec,
} from './types.js';

/** Walk results held at once without settle(), at most (see settle). */
const MAX_PENDING = 1024;

/** Linux's limits: MAXSYMLINKS, PATH_MAX, NAME_MAX. */
export const MAX_SYMLINKS = 40;
export const PATH_MAX = 4096;
export const NAME_MAX = 255;

/** What GuestFs knows of the process's descriptors (for /proc/self/fd). */
export interface Descriptors {
  list(): number[];
  link(fd: number): string | undefined;
  stat(fd: number): Stat | undefined;
  /** The directory a directory descriptor holds: /proc/self/fd/N leads to
   *  it, as Linux's magic links lead to the object, not to a path. */
  dir?(fd: number): Mount | undefined;
}

export interface Mount {
  /** Where the guest sees it: components of an absolute guest path. */
  at: string[];
  fs: FileSystem;
  readOnly: boolean;
  /** The mount of the table this is (itself), or that a held directory is in:
   *  renames and links stay inside one origin. */
  origin?: Mount;
  /** Whether `fs`'s root is a mount point (not just a held directory). */
  isRoot?: boolean;
}

/** A directory held open, as a mount of its own at the guest path it was
 *  opened by (see the header). `release` lets it go. */
export interface HeldDir extends Mount {
  origin: Mount;
  release(): void;
}

const originOf = (m: Mount): Mount => m.origin ?? m;

export interface MountSpec {
  /** Absolute guest path, e.g. "/tmp". */
  guestPath: string;
  fs: FileSystem;
  readOnly?: boolean;
}

/** A path resolved to a place in a mount. */
export interface Resolved {
  /** The canonical guest path (symbolic links resolved, except a final one not followed). */
  guest: string[];
  mount: Mount;
  /** The path inside the mount. */
  rel: string[];
  /** Its status; undefined when only the last component does not exist. */
  stat: Stat | undefined;
  /** The path named a directory with a trailing '/'. */
  trailingSlash: boolean;
  /** Set when the path led to /proc/self/fd/N of a pipe or terminal, which
   *  (like Linux's "magic links") names descriptor N's file itself. */
  descriptor?: number;
}

export interface WalkOptions {
  /** Follow a symbolic link in the last component (stat vs lstat). */
  follow: boolean;
  /** Return a missing last component instead of failing with ENOENT. */
  allowMissing?: boolean;
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '');
}

export function joinPath(components: string[]): string {
  return '/' + components.join('/');
}

/** Lexically normalises an absolute path (for host-given paths such as a mount point). */
export function normalisePath(path: string): string[] {
  const out: string[] = [];
  for (const c of splitPath(path)) {
    if (c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

/** Top-level names a sysroot never shadows (see mountSysroot). */
const SYSROOT_EXCLUDED = new Set(['dev', 'proc']);
/** What a sysroot may show: directories, regular files, symbolic links. */
const SYSROOT_KINDS = new Set([S_IFDIR, S_IFREG, S_IFLNK]);

const startsWith = (path: string[], prefix: string[]) => prefix.length <= path.length && prefix.every((c, i) => path[i] === c);

export class GuestFs {
  private readonly mounts: Mount[];
  /** The guest's working directory, held. */
  private cwdDir: HeldDir;
  /** The file-mode creation mask (umask). */
  umask = 0o022;
  /** What /proc/self/exe points to (set by the process VM). */
  exePath = '';
  /** The process's descriptors, for /proc/self/fd (set by the process VM):
   *  the open ones, and what each one's link names. */
  descriptors: Descriptors = { list: () => [], link: () => undefined, stat: () => undefined };
  /** QEMU's -L: a namespace of its own over the sysroot, where an absolute
   *  path is looked up first (see mountSysroot). */
  private sysroot: GuestFs | undefined;
  /** Whether this namespace owns its mounts and sysroot (false for a
   *  forked process's, which shares them with the namespace it came from). */
  private readonly owner: boolean;

  /**
   * `mounts` in any order; a later mount at the same place hides an earlier
   * one. Unless one is at '/', the root is a read-only in-memory tree with
   * the directories that lead to the mount points. /proc/self is always the
   * process's own (only `exe` for now), as under qemu-riscv64.
   */
  constructor(mounts: MountSpec[], cwd = '/', options: { procSelf?: boolean; forkOf?: GuestFs } = {}) {
    const from = options.forkOf;
    if (from) {
      // A new process's view: the same mounts (its own /proc/self), the
      // same working directory held again, the same umask.
      this.owner = false;
      this.mounts = from.mounts.map((m) => {
        if (!(m.fs instanceof ProcSelf)) return m;
        const own: Mount = { ...m, fs: new ProcSelf(() => this.exePath, () => this.descriptors) };
        own.origin = own;
        return own;
      });
      this.sysroot = from.sysroot;
      this.umask = from.umask;
      this.exePath = from.exePath;
      const held = from.cwdDir;
      this.cwdDir = this.hold({ guest: held.at, mount: held, rel: [], stat: held.fs.lstat([]), trailingSlash: false });
      return;
    }
    this.owner = true;
    const table: Mount[] = mounts.map((m) => ({ at: normalisePath(textToName(m.guestPath)), fs: m.fs, readOnly: m.readOnly ?? false }));
    if (!table.some((m) => m.at.length === 0)) {
      const root = new MemFs({ label: 'root', readOnly: true });
      table.unshift({ at: [], fs: root, readOnly: true });
    }
    // (A sysroot's own namespace has none: its /proc is not the process's.)
    if (options.procSelf !== false) table.push({ at: ['proc', 'self'], fs: new ProcSelf(() => this.exePath, () => this.descriptors), readOnly: true });
    // Mount points inside an in-memory parent appear in its listing.
    for (const m of table) {
      if (m.at.length === 0) continue;
      const parent = this.mountOfIn(table.filter((p) => p !== m), m.at);
      if (parent.fs instanceof MemFs) parent.fs.makeDirs(m.at.slice(parent.at.length));
    }
    for (const m of table) {
      m.origin = m;
      m.isRoot = true;
    }
    this.mounts = table;
    const rootMount = this.mountOfIn(table, []);
    // (Held from the namespace's root while the real one is being found.)
    this.cwdDir = this.hold({ guest: [], mount: rootMount, rel: [], stat: rootMount.fs.lstat([]), trailingSlash: false });
    this.chdir(this.walk(undefined, textToName(cwd), { follow: true }));
  }

  /** Lets go of everything held (walk results, the working directory, the
   *  mounts' roots): ProcessVM.dispose() calls it for the VM's namespace, and
   *  dropping it does too, later (when collected). Closing twice is harmless. */
  close(): void {
    this.settle();
    this.cwdDir.release();
    if (!this.owner) return;
    for (const m of this.mounts) (m.fs as Partial<SubtreeFs>).release?.();
    this.sysroot?.close();
    this.sysroot = undefined;
  }

  /**
   * Shows `tree` as the sysroot, QEMU's -L: an absolute guest path is looked
   * up first inside it (a guest path /lib/x as the sysroot's lib/x), and as
   * given when it is not there. The sysroot is a read-only namespace of its
   * own whose root is the tree's root: '..' stops there and an absolute
   * symbolic link inside it starts again at its root, so nothing in it leads
   * outside it (QEMU's -L, which lets the host follow such links, would);
   * what it does not hold falls back to the guest's own view, never to the
   * host's. Two departures from QEMU keep the sandbox's promises: /dev and
   * /proc stay the process's own (a root copied into a sysroot has an empty
   * /proc and may have device nodes), and only directories, regular files
   * and symbolic links are taken from the sysroot (a device node, FIFO or
   * socket in it is as if absent). The namespace holds a view of its own of
   * `tree` when the tree can make one (subtree), so the caller's tree stays
   * usable after close().
   */
  mountSysroot(tree: FileSystem): void {
    const view = tree.subtree ? tree.subtree([]) : tree;
    this.sysroot?.close();
    this.sysroot = new GuestFs([{ guestPath: '/', fs: view, readOnly: true }], '/', { procSelf: false });
  }

  /** The namespace of a new process (fork): see the constructor. Closing
   *  it lets go of its working directory only. */
  fork(): GuestFs {
    return new GuestFs([], '/', { forkOf: this });
  }

  /** The mounts, in table order (a checkpoint saves the in-memory ones). */
  get mountTable(): readonly Mount[] {
    return this.mounts;
  }

  /** Whether a sysroot is shown (mountSysroot). */
  get hasSysroot(): boolean {
    return this.sysroot !== undefined;
  }

  /** The sysroot's tree's label (e.g. host:/usr/riscv64-linux-gnu), for messages. */
  get sysrootLabel(): string | undefined {
    return this.sysroot?.mounts[0].fs.label;
  }

  /** The guest's working directory: the guest path it was entered by. */
  get cwd(): string[] {
    return this.cwdDir.at;
  }

  /** The working directory's object (for fstatat(AT_FDCWD, "", AT_EMPTY_PATH)). */
  get cwdHeld(): HeldDir {
    return this.cwdDir;
  }

  private mountOfIn(table: Mount[], path: string[], held?: Mount): Mount {
    let best: Mount | undefined;
    for (const m of table) {
      if (startsWith(path, m.at) && (!best || m.at.length >= best.at.length)) best = m;
    }
    // A held directory wins over the mount it is in (and over one at its own
    // path: it is that mount's root, held), not over mounts further down.
    if (held && startsWith(path, held.at) && (!best || held.at.length >= best.at.length)) best = held;
    if (!best) throw new FsError(ENOENT, joinPath(path));
    return best;
  }

  /** The mount a canonical guest path is in, and the path inside it (below
   *  `held`, a held directory, when the path is). */
  locate(path: string[], held?: Mount): { mount: Mount; rel: string[] } {
    const mount = this.mountOfIn(this.mounts, path, held);
    return { mount, rel: path.slice(mount.at.length) };
  }

  lstatGuest(path: string[], held?: Mount): Stat {
    const { mount, rel } = this.locate(path, held);
    return mount.fs.lstat(rel);
  }

  /** Holds the directory `r` names (for a descriptor or the working directory). */
  hold(r: Resolved): HeldDir {
    if (r.stat && !isDir(r.stat)) throw new FsError(ENOTDIR, joinPath(r.guest), 'hold');
    const fs = r.mount.fs.subtree ? r.mount.fs.subtree(r.rel) : new PrefixFs(r.mount.fs, r.rel);
    return {
      at: r.guest, fs, readOnly: r.mount.readOnly, origin: originOf(r.mount),
      isRoot: (r.mount.isRoot ?? true) && r.rel.length === 0,
      release: () => fs.release(),
    };
  }

  /**
   * Resolves `path` (a byte string) relative to `base` (a held directory:
   * a descriptor's; the working directory when undefined).
   */
  walk(base: Mount | undefined, path: string, options: WalkOptions): Resolved {
    if (this.sysroot && path.startsWith('/') && !SYSROOT_EXCLUDED.has(splitPath(path)[0])) {
      // QEMU's -L (path() in util/path.c): the sysroot's file when it has
      // one; anything else, an error included, leaves the path as given.
      try {
        const r = this.sysroot.walk(undefined, path, options);
        if (r.stat && SYSROOT_KINDS.has(r.stat.mode & S_IFMT)) return r;
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
      }
    }
    return this.walkHere(base, path, options);
  }

  private walkHere(base: Mount | undefined, path: string, options: WalkOptions): Resolved {
    if (path === '') throw new FsError(ENOENT, path, 'walk');
    if (path.length >= PATH_MAX) throw new FsError(ENAMETOOLONG, undefined, 'walk');
    const trailingSlash = path.endsWith('/');
    const follow = options.follow || trailingSlash;
    // The held directory the walk is below, while it is (see the header).
    let held: Mount | undefined = path.startsWith('/') ? undefined : base ?? this.cwdDir;
    // Each directory the walk enters is held in turn (a view of it), so that
    // every name is looked up in the directory object the walk has reached,
    // never again from a mount's root by a path; only the one it is in now
    // is kept, and it stays with the result until settle().
    let own: SubtreeFs | undefined;
    const leave = () => {
      own?.release();
      own = undefined;
    };
    try {
      let cur = held ? [...held.at] : [];
      let todo = splitPath(path);
      let hops = 0;
      let stat: Stat | undefined;
      let statKnown = false;
      while (todo.length) {
        const name = todo.shift()!;
        statKnown = false;
        if (name === '.') continue;
        if (name === '..') {
          cur = cur.slice(0, -1);
          if (held && cur.length < held.at.length) {
            held = undefined;
            leave();
          }
          continue;
        }
        if (name.length > NAME_MAX) throw new FsError(ENAMETOOLONG, name, 'walk');
        const next = [...cur, name];
        const last = todo.length === 0;
        let st: Stat;
        let entered: SubtreeFs | undefined;
        try {
          const { mount, rel } = this.locate(next, held);
          if (!last && mount.fs.lstatHold) {
            const step = mount.fs.lstatHold(rel);
            st = step.stat;
            entered = step.dir;
          } else {
            st = mount.fs.lstat(rel);
          }
        } catch (e) {
          if (e instanceof FsError && e.errno === ENOENT && last && options.allowMissing) {
            return this.keep({ guest: next, ...this.locate(next, held), stat: undefined, trailingSlash }, own);
          }
          throw e;
        }
        if (isLink(st) && (!last || follow)) {
          if (++hops > MAX_SYMLINKS) throw new FsError(ELOOP, joinPath(next), 'walk');
          const { mount, rel } = this.locate(next, held);
          const target = mount.fs.readlink(rel);
          if (mount.fs instanceof ProcSelf && rel[0] === 'fd') {
            const fd = Number(rel[1]);
            // A directory descriptor: the magic link leads to the directory it holds.
            const dir = this.descriptors.dir?.(fd);
            if (dir) {
              leave();
              held = dir;
              cur = [...dir.at];
              continue;
            }
            if (!target.startsWith('/')) {
              // A pipe or a terminal: no path leads there, the link is the file.
              if (!last) throw new FsError(ENOTDIR, joinPath(next), 'walk');
              return this.keep({ guest: next, mount, rel, stat: this.descriptors.stat(fd) ?? st, trailingSlash, descriptor: fd }, own);
            }
          }
          if (target === '') throw new FsError(ENOENT, joinPath(next), 'walk');
          if (target.startsWith('/')) {
            cur = [];
            held = undefined;
            leave();
          }
          todo = [...splitPath(target), ...todo];
          continue;
        }
        if (isLink(st) || (!last && !isDir(st))) entered?.release();
        if (!last && !isDir(st)) throw new FsError(ENOTDIR, joinPath(next), 'walk');
        if (!last) {
          // Enter it: hold it, and let the one it is in go.
          const { mount, rel } = this.locate(next, held);
          if (entered || mount.fs.subtree) {
            const view = entered ?? mount.fs.subtree!(rel);
            leave();
            own = view;
            held = { at: [...next], fs: view, readOnly: mount.readOnly, origin: originOf(mount), isRoot: (mount.isRoot ?? true) && rel.length === 0 };
          }
        }
        cur = next;
        stat = st;
        statKnown = true;
      }
      if (!statKnown) stat = this.lstatGuest(cur, held);
      if (trailingSlash && stat && !isDir(stat)) throw new FsError(ENOTDIR, joinPath(cur), 'walk');
      return this.keep({ guest: cur, ...this.locate(cur, held), stat, trailingSlash }, own);
    } catch (e) {
      leave();
      throw e;
    }
  }

  /** Views a walk's result uses, let go by settle(). Weakly: a result
   *  nobody keeps is closed when collected, even if settle() never comes. */
  private pending: WeakRef<SubtreeFs>[] = [];

  private keep<T extends Resolved>(r: T, view: SubtreeFs | undefined): T {
    if (view) {
      if (this.pending.length >= 256) this.pending = this.pending.filter((w) => w.deref() !== undefined);
      // A caller that never settles must not run the host out of descriptors:
      // past MAX_PENDING results, the oldest is let go.
      if (this.pending.length >= MAX_PENDING) this.pending.shift()!.deref()?.release();
      this.pending.push(new WeakRef(view));
    }
    return r;
  }

  /**
   * Lets go of the directories the walks since the last call hold: a
   * Resolved is good until then (or until MAX_PENDING walks later). The
   * system-call layer calls it after every call; a library user that walks
   * should too.
   */
  settle(): void {
    // (Most calls walk no path: nothing to let go, and no array made.)
    if (this.pending.length !== 0) {
      for (const w of this.pending.splice(0)) w.deref()?.release();
    }
    this.sysroot?.settle();
  }

  /** Like walk, but the path must exist. */
  resolve(base: Mount | undefined, path: string, follow = true): Resolved & { stat: Stat } {
    return this.walk(base, path, { follow }) as Resolved & { stat: Stat };
  }

  private writable(r: Resolved): void {
    if (r.mount.readOnly) throw new FsError(EROFS, joinPath(r.guest));
  }

  /** A path is a mount point (the root of a mount) other than '/'. */
  private isMountPoint(r: Resolved): boolean {
    return r.rel.length === 0 && (r.mount.isRoot ?? true);
  }

  open(r: Resolved, flags: number, mode: number): OpenFile {
    return r.mount.fs.open(r.rel, flags, mode & ~this.umask, r.stat);
  }

  /** The object `r` names held open (for an O_PATH descriptor of a non-directory). */
  pathHandle(r: Resolved): PathHandle {
    if (r.mount.fs.openPath) return r.mount.fs.openPath(r.rel);
    // A tree whose names the guest cannot change (/proc/self): the path will do.
    const fs = r.mount.fs, rel = r.rel;
    return { stat: () => fs.lstat(rel), statfs: () => this.statfs(r), close: () => {} };
  }

  readdir(r: Resolved): DirEntry[] {
    return r.mount.fs.readdir(r.rel);
  }

  readlink(r: Resolved): string {
    return r.mount.fs.readlink(r.rel);
  }

  mkdir(r: Resolved, mode: number): void {
    this.writable(r);
    r.mount.fs.mkdir(r.rel, mode & ~this.umask);
  }

  rmdir(r: Resolved): void {
    if (r.guest.length === 0 || this.isMountPoint(r)) throw new FsError(EBUSY, joinPath(r.guest), 'rmdir');
    this.writable(r);
    const last = r.guest[r.guest.length - 1];
    if (last === '.') throw new FsError(EINVAL, joinPath(r.guest), 'rmdir');
    r.mount.fs.rmdir(r.rel);
  }

  unlink(r: Resolved): void {
    if (this.isMountPoint(r)) throw new FsError(EBUSY, joinPath(r.guest), 'unlink');
    this.writable(r);
    r.mount.fs.unlink(r.rel);
  }

  rename(from: Resolved, to: Resolved, noReplace: boolean): void {
    if (this.isMountPoint(from) || this.isMountPoint(to)) throw new FsError(EBUSY, joinPath(from.guest), 'rename');
    if (originOf(from.mount) !== originOf(to.mount)) throw new FsError(EXDEV, joinPath(from.guest), 'rename');
    this.writable(from);
    from.mount.fs.rename(from.rel, to.rel, noReplace, to.mount.fs);
  }

  symlink(target: string, r: Resolved): void {
    this.writable(r);
    r.mount.fs.symlink(target, r.rel);
  }

  link(from: Resolved, to: Resolved): void {
    if (originOf(from.mount) !== originOf(to.mount)) throw new FsError(EXDEV, joinPath(from.guest), 'link');
    this.writable(to);
    from.mount.fs.link(from.rel, to.rel, to.mount.fs);
  }

  truncate(r: Resolved, size: number): void {
    this.writable(r);
    r.mount.fs.truncate(r.rel, size);
  }

  utimes(r: Resolved, atime: Timespec | null, mtime: Timespec | null): void {
    this.writable(r);
    r.mount.fs.utimes(r.rel, atime, mtime);
  }

  chmod(r: Resolved, mode: number): void {
    this.writable(r);
    r.mount.fs.chmod(r.rel, mode);
  }

  access(r: Resolved, mode: number): void {
    if ((mode & 2) && r.mount.readOnly) throw new FsError(EROFS, joinPath(r.guest), 'access');
    r.mount.fs.access(r.rel, mode);
  }

  /** Sets /proc/self/exe from the program's name as given (relative to the working directory). */
  setExecutable(name: string): void {
    const n = textToName(name);
    this.exePath = joinPath(normalisePath(n.startsWith('/') ? n : joinPath(this.cwd) + '/' + n));
  }

  /** statfs of the file system a path is in (made-up numbers where it has none). */
  statfs(r: Resolved): FsStats {
    return r.mount.fs.statfs?.(r.rel) ?? { type: 0x9fa0n /* PROC_SUPER_MAGIC */, bsize: 4096n, blocks: 0n, bfree: 0n, bavail: 0n, files: 0n, ffree: 0n, namelen: 255n };
  }

  /** Changes the working directory (holding the new one, letting the old go). */
  chdir(r: Resolved): void {
    if (!r.stat || !isDir(r.stat)) throw new FsError(ENOTDIR, joinPath(r.guest), 'chdir');
    r.mount.fs.access(r.rel, 1);
    const old = this.cwdDir;
    this.cwdDir = this.hold(r);
    old?.release();
  }

  /** fchdir: the working directory becomes the directory `dir` holds. */
  chdirHeld(dir: HeldDir): void {
    dir.fs.access([], 1);
    this.chdir({ guest: dir.at, mount: dir, rel: [], stat: dir.fs.lstat([]), trailingSlash: false });
  }
}

/**
 * What every guest has whatever else is mounted: a private, empty /tmp in
 * memory, and /dev with null, zero, full, random, urandom and the links
 * stdin, stdout, stderr to /proc/self/fd/0..2.
 */
export function privateMounts(options: { random: (b: Uint8Array) => void; now?: () => Timespec; tmpBytes?: number; tmpInodes?: number }): MountSpec[] {
  const tmp = new MemFs({ label: 'tmp', now: options.now, maxBytes: options.tmpBytes, maxInodes: options.tmpInodes });
  const dev = new MemFs({ label: 'dev', now: options.now });
  addStandardDevices(dev, [], options.random);
  ['stdin', 'stdout', 'stderr'].forEach((name, fd) => dev.addSymlink([name], `/proc/self/fd/${fd}`));
  dev.readOnly = true;
  return [{ guestPath: '/tmp', fs: tmp }, { guestPath: '/dev', fs: dev }];
}

/** A view of a tree whose names the guest cannot change (/proc/self): the
 *  path is kept, as nothing can move under it. */
class PrefixFs implements SubtreeFs {
  readonly label: string;
  constructor(private readonly fs: FileSystem, private readonly prefix: string[]) {
    this.label = fs.label;
  }
  private p(path: string[]): string[] { return [...this.prefix, ...path]; }
  private inner(other: FileSystem): FileSystem { return other instanceof PrefixFs ? other.fs : other; }
  release(): void {}
  lstat(path: string[]): Stat { return this.fs.lstat(this.p(path)); }
  readlink(path: string[]): string { return this.fs.readlink(this.p(path)); }
  open(path: string[], flags: number, mode: number, known?: Stat): OpenFile { return this.fs.open(this.p(path), flags, mode, known); }
  readdir(path: string[]): DirEntry[] { return this.fs.readdir(this.p(path)); }
  mkdir(path: string[], mode: number): void { this.fs.mkdir(this.p(path), mode); }
  rmdir(path: string[]): void { this.fs.rmdir(this.p(path)); }
  unlink(path: string[]): void { this.fs.unlink(this.p(path)); }
  rename(from: string[], to: string[], noReplace: boolean, toFs: FileSystem): void { this.fs.rename(this.p(from), to, noReplace, this.inner(toFs)); }
  symlink(target: string, path: string[]): void { this.fs.symlink(target, this.p(path)); }
  link(from: string[], to: string[], toFs: FileSystem): void { this.fs.link(this.p(from), to, this.inner(toFs)); }
  truncate(path: string[], size: number): void { this.fs.truncate(this.p(path), size); }
  utimes(path: string[], atime: Timespec | null, mtime: Timespec | null): void { this.fs.utimes(this.p(path), atime, mtime); }
  chmod(path: string[], mode: number): void { this.fs.chmod(this.p(path), mode); }
  access(path: string[], mode: number): void { this.fs.access(this.p(path), mode); }
  statfs(path: string[]): FsStats {
    return this.fs.statfs?.(this.p(path)) ?? { type: 0x9fa0n /* PROC_SUPER_MAGIC */, bsize: 4096n, blocks: 0n, bfree: 0n, bavail: 0n, files: 0n, ffree: 0n, namelen: 255n };
  }
}

/** /proc/self: `exe`, a symbolic link to the program. */
class ProcSelf implements FileSystem {
  readonly label = 'proc';
  constructor(
    private readonly exe: () => string,
    private readonly fds: () => Descriptors,
  ) {}

  private static readonly time: Timespec = { sec: 0n, nsec: 0 };

  /** The target of a link: exe, or fd/N. */
  private target(path: string[]): string | undefined {
    if (path.length === 1 && path[0] === 'exe') return this.exe();
    if (path.length === 2 && path[0] === 'fd' && /^(0|[1-9][0-9]{0,5})$/.test(path[1])) return this.fds().link(Number(path[1]));
    return undefined;
  }

  lstat(path: string[]): Stat {
    const t = ProcSelf.time;
    const base = { dev: 0x4n, nlink: 1, uid: 0, gid: 0, rdev: 0n, blksize: 1024, blocks: 0n, atime: t, mtime: t, ctime: t };
    if (path.length === 0) return { ...base, ino: 1n, mode: S_IFDIR | 0o555, nlink: 3, size: 0n };
    if (path.length === 1 && path[0] === 'fd') return { ...base, ino: 3n, mode: S_IFDIR | 0o500, nlink: 2, size: 0n };
    const target = this.target(path);
    if (target === undefined) throw new FsError(ENOENT, path.join('/'));
    return { ...base, ino: path.length === 1 ? 2n : 0x100n + BigInt(path[1]), mode: S_IFLNK | 0o777, size: BigInt(target.length) };
  }
  readlink(path: string[]): string {
    const target = this.target(path);
    if (target === undefined) {
      this.lstat(path);
      throw new FsError(EINVAL, path.join('/'));
    }
    return target;
  }
  readdir(path: string[]): DirEntry[] {
    if (path.length === 0) return [{ name: 'exe', ino: 2n, type: 10 }, { name: 'fd', ino: 3n, type: 4 }];
    if (path.length === 1 && path[0] === 'fd') return this.fds().list().map((fd) => ({ name: String(fd), ino: 0x100n + BigInt(fd), type: 10 }));
    throw new FsError(ENOTDIR, path.join('/'));
  }
  open(path: string[]): OpenFile {
    this.lstat(path);
    throw new FsError(path.length === 2 || path[0] === 'exe' ? ELOOP : EROFS, path.join('/'), 'open');
  }
  private ro(): never { throw new FsError(EROFS); }
  mkdir(): void { this.ro(); }
  rmdir(): void { this.ro(); }
  unlink(): void { this.ro(); }
  rename(): void { this.ro(); }
  symlink(): void { this.ro(); }
  link(): void { this.ro(); }
  truncate(): void { this.ro(); }
  utimes(): void { this.ro(); }
  chmod(): void { this.ro(); }
  access(path: string[], mode: number): void {
    this.lstat(path);
    if (mode & 2) this.ro();
  }
}
