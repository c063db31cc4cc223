// What the guest's file system is made of: one FileSystem per mounted tree
// (host directories in src/node/host-fs.ts, in-memory trees in memfs.ts), the
// file status they report, and the error every operation throws.
//
// Names are byte strings: each char of a string holds one byte (latin1), so
// any Linux file name, UTF-8 or not, round-trips between the guest and a host.

/** An operation failed with a Linux errno (errno.ts); system calls return -errno. */
export class FsError extends Error {
  constructor(readonly errno: number, readonly path?: string, readonly op?: string) {
    super(`${op ?? 'fs'}${path !== undefined ? ` ${path}` : ''}: errno ${errno}`);
  }
}

export interface Timespec {
  sec: bigint;
  nsec: number;
}

/** A file's status, the facts struct stat and struct statx carry. */
export interface Stat {
  dev: bigint;
  ino: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: bigint;
  size: bigint;
  blksize: number;
  blocks: bigint;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  btime?: Timespec;
}

// File types in st_mode (include/uapi/linux/stat.h).
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export const isDir = (s: Stat): boolean => (s.mode & S_IFMT) === S_IFDIR;
export const isLink = (s: Stat): boolean => (s.mode & S_IFMT) === S_IFLNK;
export const isRegular = (s: Stat): boolean => (s.mode & S_IFMT) === S_IFREG;

/** d_type of linux_dirent64 for an st_mode (include/linux/fs.h: DT_* = S_IF* >> 12). */
export const dirType = (mode: number): number => (mode & S_IFMT) >>> 12;

// open(2) flags, asm-generic/fcntl.h.
export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20000000 | O_DIRECTORY;

// access(2) modes.
export const F_OK = 0;
export const X_OK = 1;
export const W_OK = 2;
export const R_OK = 4;

export interface DirEntry {
  name: string;
  ino: bigint;
  /** d_type: dirType(mode), or 0 (DT_UNKNOWN). */
  type: number;
}

/** An open regular file or device inside a FileSystem. Offsets are the
 *  caller's: `pos` null means "the device's own position" (non-seekable). */
export interface OpenFile {
  /** Whether positions mean anything (regular files). */
  readonly seekable: boolean;
  read(buf: Uint8Array, pos: number | null): number;
  write(data: Uint8Array, pos: number | null): number;
  stat(): Stat;
  truncate(size: number): void;
  sync(): void;
  utimes(atime: Timespec | null, mtime: Timespec | null): void;
  close(): void;
  /** Bytes a read could return without blocking (FIONREAD), when known. */
  available?(): number;
  /** Whether this is a terminal (isatty). */
  readonly tty?: boolean;
  /** fchmod of the file itself (not of whatever its name now leads to). */
  chmod?(mode: number): void;
  /** fstatfs of the file system the file itself is on. */
  statfs?(): FsStats;
}

/** An O_PATH descriptor's object, held open: it keeps naming the file it was
 *  opened on however the guest renames or replaces names around it. */
export interface PathHandle {
  stat(): Stat;
  statfs(): FsStats;
  close(): void;
}

/** A view of a FileSystem rooted at one of its directories, which it holds
 *  open (a directory descriptor, the working directory): paths given to it
 *  start at that directory object, wherever it has since been moved. */
export interface SubtreeFs extends FileSystem {
  /** Lets the directory go (closes what held it). */
  release(): void;
}

/**
 * One mounted tree. Every `path` is a list of components relative to the
 * tree's root (or, for a subtree view, the directory object it holds),
 * already resolved by GuestFs: no '.', '..' or empty component, and no
 * symbolic link in any of its parents when GuestFs looked. A tree must not
 * trust the last part: it walks the components again itself from the
 * directory it holds and fails (ELOOP, ENOTDIR, ENOENT) where one is no longer
 * a directory, never following a symbolic link anywhere, so that a name
 * changed since (by another guest thread, an earlier call, or the host) can
 * never lead outside it. Operations never follow a symbolic link in the last
 * component (GuestFs follows links itself); they throw FsError.
 */
export interface FileSystem {
  /** A short description for messages, e.g. "host:/home/me" or "memfs". */
  readonly label: string;
  lstat(path: string[]): Stat;
  readlink(path: string[]): string;
  /** Opens (and with O_CREAT creates, mode already masked by the umask) a
   *  regular file or device; a directory is EISDIR, a symbolic link ELOOP.
   *  `known`: its status as GuestFs saw it earlier in the same call (a hint
   *  that saves a lookup, never a reason to follow anything). */
  open(path: string[], flags: number, mode: number, known?: Stat): OpenFile;
  /** The entries of a directory, without '.' and '..'. */
  readdir(path: string[]): DirEntry[];
  mkdir(path: string[], mode: number): void;
  rmdir(path: string[]): void;
  unlink(path: string[]): void;
  /** `toFs` (where `to` is) is this tree or a subtree view of it (GuestFs
   *  checks that both sides are in one mount; anything else is EXDEV). */
  rename(from: string[], to: string[], noReplace: boolean, toFs: FileSystem): void;
  symlink(target: string, path: string[]): void;
  link(from: string[], to: string[], toFs: FileSystem): void;
  truncate(path: string[], size: number): void;
  utimes(path: string[], atime: Timespec | null, mtime: Timespec | null): void;
  chmod(path: string[], mode: number): void;
  /** Checks R_OK/W_OK/X_OK (F_OK: existence, done by lstat already). */
  access(path: string[], mode: number): void;
  /** The numbers of struct statfs (statfs, fstatfs), never through a
   *  symbolic link: of a directory itself, else of the one holding it. */
  statfs?(path: string[]): FsStats;
  /** The directory at `path` held open, as a view rooted there. Without it
   *  (only for trees whose names the guest cannot change, such as
   *  /proc/self), GuestFs keeps the path instead. */
  subtree?(path: string[]): SubtreeFs;
  /** lstat, and the directory held as subtree() would when it is one: one
   *  step of a walk, done as one lookup. */
  lstatHold?(path: string[]): { stat: Stat; dir?: SubtreeFs };
  /** The object at `path` (not following a link in it) held open, for O_PATH. */
  openPath?(path: string[]): PathHandle;
}

export interface FsStats {
  type: bigint;
  bsize: bigint;
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  files: bigint;
  ffree: bigint;
  namelen: bigint;
}

/** Bytes to a byte string (one char per byte). */
export function bytesToName(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** A byte string back to bytes. */
export function nameToBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** A byte string as text, its bytes read as UTF-8 (for messages). */
export function nameToText(s: string): string {
  return new TextDecoder().decode(nameToBytes(s));
}

/** UTF-16 text (e.g. a host path from the command line) as a byte string of its UTF-8. */
export function textToName(s: string): string {
  return bytesToName(new TextEncoder().encode(s));
}

export function nsToTimespec(ns: bigint): Timespec {
  return { sec: ns / 1_000_000_000n, nsec: Number(ns % 1_000_000_000n) };
}
