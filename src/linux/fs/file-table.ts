// The guest's file descriptors and the open file descriptions behind them.
// A description (an open file, a directory, a pipe end, one of the standard
// streams) holds the offset and status flags and is shared by dup'd
// descriptors; close-on-exec belongs to each descriptor.
import { EAGAIN, EBADF, EINVAL, EISDIR, EMFILE, ENFILE, ENOTDIR, EPIPE, EROFS, ESPIPE } from '../errno.js';
import type { HeldDir } from './guest-fs.js';
import { fileUse, fileWritten } from './mapped-files.js';
import { HostInput } from './host-input.js';
import {
  FsError, O_ACCMODE, O_APPEND, O_NONBLOCK, O_PATH, O_RDONLY, O_WRONLY, S_IFCHR, S_IFIFO,
  type DirEntry, type FsStats, type OpenFile, type Stat, type Timespec,
} from './types.js';

/** fstatfs of what has no file system of its own (pipes, streams): PIPEFS_MAGIC. */
export const PIPEFS_STATS: FsStats = { type: 0x50495045n, bsize: 4096n, blocks: 0n, bfree: 0n, bavail: 0n, files: 0n, ffree: 0n, namelen: 255n };

export type Sink = (data: Uint8Array) => void;

/**
 * Where the guest's stdin comes from: all of its bytes (a string is taken as
 * UTF-8), or a function asked for at most `max` bytes that returns some bytes,
 * an empty array when none are ready yet (the guest sees EAGAIN), or null at
 * the end of the input (the guest reads 0; a later read asks again, as a
 * terminal allows after ^D); or an open file (stdin redirected from a
 * regular file: seekable, with its size), read from offset 0.
 */
export type StdinSource = Uint8Array | string | ((max: number) => Uint8Array | null) | HostInput | OpenFile;

function isOpenFile(s: StdinSource | undefined): s is OpenFile {
  if (s instanceof HostInput) return false;
  return typeof s === 'object' && !(s instanceof Uint8Array) && typeof (s as OpenFile).stat === 'function';
}

/** Which standard streams are terminals, and the terminal's size. */
export interface TtyInfo {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** TIOCGWINSZ: rows and columns (default 24 × 80). */
  windowSize?: () => { rows: number; columns: number };
}

/** RLIMIT_NOFILE's usual soft limit. */
export const MAX_FDS = 1024;
/** Descriptors all the processes of one VM may hold at once (the VM's
 *  fs.file-max): a host file stays open while one refers to it, and a fork
 *  bomb of processes that each open 1024 must not run the host out of its
 *  own. Past it, a new one (open, dup, pipe...) is ENFILE; fork's copies
 *  share their files and are never refused. */
export const MAX_VM_FDS = 8192;

const EPOCH: Timespec = { sec: 0n, nsec: 0 };

function syntheticStat(mode: number, ino: bigint, rdev = 0n, size = 0n): Stat {
  return {
    dev: 0x5n, ino, mode, nlink: 1, uid: 0, gid: 0, rdev, size, blksize: 4096, blocks: 0n,
    atime: EPOCH, mtime: EPOCH, ctime: EPOCH,
  };
}

/** An open file description. Methods a kind does not support fail as Linux's do. */
export abstract class Description {
  /** Access mode and status flags (O_APPEND, O_NONBLOCK, ...), as F_GETFL reports them. */
  flags: number;
  /** Descriptors that refer to this description. */
  refs = 0;
  offset = 0;
  /** The guest path it was opened by, when it has one. */
  path: string[] | undefined;

  constructor(flags: number) {
    this.flags = flags;
  }

  get readable(): boolean { return (this.flags & O_ACCMODE) !== O_WRONLY; }
  get writable(): boolean { return (this.flags & O_ACCMODE) !== O_RDONLY; }

  /** Reads at the offset (pos undefined) or at pos (pread), without moving the offset then. */
  read(_buf: Uint8Array, _pos?: number): number { throw new FsError(this.readable ? EINVAL : EBADF, undefined, 'read'); }
  write(_data: Uint8Array, _pos?: number): number { throw new FsError(this.writable ? EINVAL : EBADF, undefined, 'write'); }
  seek(_offset: number, _whence: number): number { throw new FsError(ESPIPE, undefined, 'lseek'); }
  abstract stat(): Stat;
  isTty(): boolean { return false; }
  /** FIONREAD. */
  available(): number { return 0; }
  truncate(_size: number): void { throw new FsError(EINVAL, undefined, 'ftruncate'); }
  sync(): void {}
  utimes(_atime: Timespec | null, _mtime: Timespec | null): void { throw new FsError(EBADF, undefined, 'futimens'); }
  /** The directory this description holds, for *at() calls and fchdir. */
  directory(): HeldDir { throw new FsError(ENOTDIR, undefined, 'dirfd'); }
  /** fstatfs: of the object itself. */
  statfs(): FsStats { return PIPEFS_STATS; }
  /** fchmod: of the object itself (a pipe or stream: nothing to keep). */
  chmod(_mode: number): void {}
  /** Called when the last descriptor closes. */
  release(): void {}
  /** What /proc/self/fd/N shows for a description with no path and no
   *  terminal (an eventfd's "anon_inode:[eventfd]"); undefined: "pipe:[ino]". */
  linkName(): string | undefined { return undefined; }
  /** poll(2) revents for `events`: files, devices and streams are always ready. */
  poll(events: number): number {
    return events & ((this.readable ? POLLIN : 0) | (this.writable ? POLLOUT : 0));
  }
}

// poll(2) events (include/uapi/asm-generic/poll.h).
export const POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;

export const SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4;

/** A regular file or device opened in a FileSystem. */
export class FileDescription extends Description {
  constructor(readonly file: OpenFile, flags: number, path?: string[]) {
    super(flags);
    this.path = path;
  }

  override read(buf: Uint8Array, pos?: number): number {
    if (!this.readable) throw new FsError(EBADF, undefined, 'read');
    if (!this.file.seekable) return this.file.read(buf, null);
    fileUse(this.file);
    const n = this.file.read(buf, pos ?? this.offset);
    if (pos === undefined) this.offset += n;
    return n;
  }

  override write(data: Uint8Array, pos?: number): number {
    if (!this.writable) throw new FsError(EBADF, undefined, 'write');
    if (!this.file.seekable) return this.file.write(data, null);
    fileUse(this.file);
    // O_APPEND: every write (but pwrite, which Linux appends too) goes to the end.
    const at = this.flags & O_APPEND ? Number(this.file.stat().size) : pos ?? this.offset;
    const n = this.file.write(data, at);
    if (n > 0) fileWritten(this.file, at, n);
    if (pos === undefined) this.offset = at + n;
    return n;
  }

  override seek(offset: number, whence: number): number {
    if (!this.file.seekable) {
      // Character devices such as /dev/null accept any seek and stay at 0.
      return 0;
    }
    fileUse(this.file);
    const size = Number(this.file.stat().size);
    let at: number;
    switch (whence) {
      case SEEK_SET: at = offset; break;
      case SEEK_CUR: at = this.offset + offset; break;
      case SEEK_END: at = size + offset; break;
      case SEEK_DATA: if (offset >= size) throw new FsError(6 /* ENXIO */); at = offset; break;
      case SEEK_HOLE: if (offset >= size) throw new FsError(6 /* ENXIO */); at = size; break;
      default: throw new FsError(EINVAL, undefined, 'lseek');
    }
    if (at < 0) throw new FsError(EINVAL, undefined, 'lseek');
    this.offset = at;
    return at;
  }

  override stat(): Stat {
    fileUse(this.file);
    return this.file.stat();
  }
  override isTty(): boolean { return this.file.tty === true; }
  override available(): number {
    return this.file.seekable ? Math.max(0, Number(this.file.stat().size) - this.offset) : this.file.available?.() ?? 0;
  }
  override truncate(size: number): void {
    if (!this.writable) throw new FsError(EINVAL, undefined, 'ftruncate');
    fileUse(this.file);
    this.file.truncate(size);
    fileWritten(this.file, size);
  }
  override sync(): void {
    fileUse(this.file);
    this.file.sync();
  }
  override utimes(atime: Timespec | null, mtime: Timespec | null): void { this.file.utimes(atime, mtime); }
  override statfs(): FsStats { return this.file.statfs?.() ?? PIPEFS_STATS; }
  override chmod(mode: number): void { this.file.chmod?.(mode); }
  override release(): void {
    fileUse(this.file);
    this.file.close();
  }
}

/** An open directory: it holds the directory object (HeldDir), so that
 *  getdents64, fstat, fstatfs, fchmod, futimens, fchdir and *at() act on that
 *  directory wherever it has gone. getdents64 walks a listing taken when it
 *  is first read (and again after a seek to 0, as rewinddir does). */
export class DirectoryDescription extends Description {
  private listing: DirEntry[] | undefined;

  constructor(readonly dir: HeldDir, flags: number) {
    super(flags);
    this.path = dir.at;
  }

  /** The entries, '.' and '..' first; offset counts entries. */
  entries(): DirEntry[] {
    if (!this.listing) {
      const self = this.stat();
      this.listing = [
        { name: '.', ino: self.ino, type: 4 },
        { name: '..', ino: self.ino, type: 4 },
        ...this.dir.fs.readdir([]),
      ];
    }
    return this.listing;
  }

  override read(): number { throw new FsError(EISDIR, undefined, 'read'); }
  override write(): number { throw new FsError(EBADF, undefined, 'write'); }
  override seek(offset: number, whence: number): number {
    if (whence === SEEK_SET && offset >= 0) {
      if (offset === 0) this.listing = undefined;
      this.offset = offset;
      return offset;
    }
    if (whence === SEEK_CUR && this.offset + offset >= 0) {
      this.offset += offset;
      return this.offset;
    }
    throw new FsError(EINVAL, undefined, 'lseek');
  }
  override stat(): Stat { return this.dir.fs.lstat([]); }
  override statfs(): FsStats { return this.dir.fs.statfs?.([]) ?? PIPEFS_STATS; }
  override chmod(mode: number): void {
    if (this.dir.readOnly) throw new FsError(EROFS, undefined, 'fchmod');
    this.dir.fs.chmod([], mode);
  }
  override utimes(atime: Timespec | null, mtime: Timespec | null): void {
    if (this.dir.readOnly) throw new FsError(EROFS, undefined, 'futimens');
    this.dir.fs.utimes([], atime, mtime);
  }
  override directory(): HeldDir { return this.dir; }
  override release(): void { this.dir.release(); }
}

/** A descriptor that is not ready: the call would block. Without O_NONBLOCK
 *  the system-call layer waits for I/O (threads.ts) and runs it again;
 *  otherwise the guest sees its errno, EAGAIN. */
export class WouldBlock extends FsError {
  /** `on`: what the call waits on, for a deadlock's message. */
  constructor(op: string, readonly on = 'a pipe') {
    super(EAGAIN, undefined, op);
  }
}

/** Counts changes to what pipes hold and who holds their ends: a thread
 *  waiting for I/O tries its call again when the count has moved. */
export interface IoEvents {
  epoch: number;
}

/** The buffer between the two ends of a pipe. */
export class Pipe {
  /** `ino`: fstat's inode number (a restored pipe's; a random one by default). */
  constructor(private readonly events: IoEvents = { epoch: 0 }, ino?: bigint) {
    this.ino = ino ?? BigInt(0x10000 + Math.floor(Math.random() * 0x7fff0000));
  }
  private chunks: Uint8Array[] = [];
  size = 0;
  readers = 0;
  writers = 0;
  /** Counts this pipe's own changes (edge-triggered epoll reports a change once). */
  version = 0;
  static readonly CAPACITY = 65536;
  readonly ino: bigint;

  /** The bytes it holds, unread (a checkpoint saves them). */
  contents(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.length; }
    return out;
  }

  take(buf: Uint8Array): number {
    let n = 0;
    while (n < buf.length && this.chunks.length) {
      const c = this.chunks[0];
      const k = Math.min(c.length, buf.length - n);
      buf.set(c.subarray(0, k), n);
      n += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.size -= n;
    this.changed();
    return n;
  }

  put(data: Uint8Array): void {
    this.chunks.push(data.slice());
    this.size += data.length;
    this.changed();
  }

  changed(): void {
    this.version++;
    this.events.epoch++;
  }
}

/**
 * One end of a pipe. A read of an empty pipe that still has writers, or a
 * write to a full one, would block: WouldBlock (EAGAIN with O_NONBLOCK).
 */
export class PipeEnd extends Description {
  constructor(readonly pipe: Pipe, readonly end: 'read' | 'write', flags: number) {
    super(flags);
    if (end === 'read') pipe.readers++;
    else pipe.writers++;
  }

  override read(buf: Uint8Array, pos?: number): number {
    if (pos !== undefined) throw new FsError(ESPIPE, undefined, 'pread');
    if (this.end !== 'read') throw new FsError(EBADF, undefined, 'read');
    if (buf.length === 0) return 0;
    if (this.pipe.size === 0) {
      if (this.pipe.writers === 0) return 0;
      throw this.flags & O_NONBLOCK ? new FsError(EAGAIN, undefined, 'read') : new WouldBlock('read');
    }
    return this.pipe.take(buf);
  }

  override write(data: Uint8Array, pos?: number): number {
    if (pos !== undefined) throw new FsError(ESPIPE, undefined, 'pwrite');
    if (this.end !== 'write') throw new FsError(EBADF, undefined, 'write');
    if (this.pipe.readers === 0) throw new FsError(EPIPE, undefined, 'write');
    const room = Pipe.CAPACITY - this.pipe.size;
    if (room <= 0) throw this.flags & O_NONBLOCK ? new FsError(EAGAIN, undefined, 'write') : new WouldBlock('write');
    const n = Math.min(room, data.length);
    this.pipe.put(data.subarray(0, n));
    return n;
  }

  override stat(): Stat { return syntheticStat(S_IFIFO | 0o600, this.pipe.ino, 0n, 0n); }
  override poll(events: number): number {
    if (this.end === 'read') return (this.pipe.size > 0 ? events & POLLIN : 0) | (this.pipe.writers === 0 ? POLLHUP : 0);
    // Without readers it is POLLERR, and still writable when not full (pipe_poll).
    return (this.pipe.readers === 0 ? POLLERR : 0) | (Pipe.CAPACITY > this.pipe.size ? events & POLLOUT : 0);
  }
  override available(): number { return this.pipe.size; }
  override release(): void {
    if (this.end === 'read') this.pipe.readers--;
    else this.pipe.writers--;
    this.pipe.changed();
  }
}

/** stdin: bytes from a StdinSource. */
export class InputStream extends Description {
  private readonly pull: (max: number) => Uint8Array | null;
  private pending: Uint8Array | undefined;
  /** The host's input, when it feeds stdin as it arrives (host-input.ts). */
  readonly host: HostInput | undefined;

  constructor(source: Exclude<StdinSource, OpenFile> | undefined, private readonly tty: boolean) {
    super(O_RDONLY);
    if (source instanceof HostInput) {
      // Nothing yet: a blocking read waits for it as for a pipe's writer.
      this.host = source;
      this.pull = (max) => {
        const b = source.read(max);
        if (b !== undefined) return b;
        throw this.flags & O_NONBLOCK ? new FsError(EAGAIN, undefined, 'read') : new WouldBlock('read', 'stdin');
      };
    } else if (typeof source === 'function') {
      this.pull = source;
    } else {
      let bytes = typeof source === 'string' ? new TextEncoder().encode(source) : source ?? new Uint8Array(0);
      this.pull = (max) => {
        if (bytes.length === 0) return null;
        const out = bytes.subarray(0, max);
        bytes = bytes.subarray(out.length);
        return out;
      };
    }
  }

  override read(buf: Uint8Array, pos?: number): number {
    if (pos !== undefined) throw new FsError(ESPIPE, undefined, 'pread');
    if (buf.length === 0) return 0;
    let chunk = this.pending ?? this.pull(buf.length);
    this.pending = undefined;
    if (chunk === null) return 0;
    if (chunk.length === 0) throw new FsError(EAGAIN, undefined, 'read');
    if (chunk.length > buf.length) {
      this.pending = chunk.subarray(buf.length);
      chunk = chunk.subarray(0, buf.length);
    }
    buf.set(chunk);
    return chunk.length;
  }

  override stat(): Stat {
    return this.tty ? syntheticStat(S_IFCHR | 0o620, 3n, (136n << 8n)) : syntheticStat(S_IFIFO | 0o600, 3n);
  }
  override isTty(): boolean { return this.tty; }
  override available(): number { return (this.pending?.length ?? 0) + (this.host?.available ?? 0); }
  override poll(events: number): number {
    if (this.host === undefined) return super.poll(events);
    return this.pending !== undefined || this.host.ready ? events & POLLIN : 0;
  }
}

/** stdout or stderr: bytes to a Sink. */
export class OutputStream extends Description {
  constructor(readonly sink: Sink, private readonly tty: boolean, private readonly ino: bigint) {
    super(O_WRONLY);
  }

  override write(data: Uint8Array, pos?: number): number {
    if (pos !== undefined) throw new FsError(ESPIPE, undefined, 'pwrite');
    try {
      if (data.length) this.sink(data);
    } catch (e) {
      // The reader went away (a host pipe closed: `| head`): EPIPE, as Linux
      // says (without SIGPIPE, which is the signal layer's to send).
      if ((e as { code?: string }).code === 'EPIPE') throw new FsError(EPIPE, undefined, 'write');
      throw e;
    }
    return data.length;
  }
  override read(): number { throw new FsError(EBADF, undefined, 'read'); }
  override stat(): Stat {
    return this.tty ? syntheticStat(S_IFCHR | 0o620, this.ino, (136n << 8n)) : syntheticStat(S_IFIFO | 0o600, this.ino);
  }
  override isTty(): boolean { return this.tty; }
}

export interface FileTableOptions {
  stdin?: StdinSource;
  stdout?: Sink;
  stderr?: Sink;
  tty?: TtyInfo;
}

interface Slot {
  description: Description;
  cloexec: boolean;
}

export class FileTable {
  private readonly slots: (Slot | undefined)[] = [];
  private readonly hostSinks: Map<number, Sink>;
  readonly tty: TtyInfo;
  /** Changes to pipes and eventfds, for threads waiting for I/O (shared by
   *  every process of a VM: a pipe's ends may be in several). */
  readonly ioEvents: IoEvents;
  /** Descriptors held by every process of the VM (MAX_VM_FDS). */
  private readonly vm: { open: number };
  /** While fork copies the table (its descriptors are never refused). */
  private forking = false;

  constructor(options: FileTableOptions, from?: FileTable) {
    if (from) {
      // fork: the same open file descriptions behind the same numbers.
      this.hostSinks = from.hostSinks;
      this.tty = from.tty;
      this.ioEvents = from.ioEvents;
      this.vm = from.vm;
      this.forking = true;
      from.slots.forEach((slot, fd) => {
        if (slot) this.install(slot.description, fd, slot.cloexec);
      });
      this.forking = false;
      return;
    }
    this.ioEvents = { epoch: 0 };
    this.vm = { open: 0 };
    const stdout = options.stdout ?? (() => {});
    const stderr = options.stderr ?? (() => {});
    this.hostSinks = new Map([[1, stdout], [2, stderr]]);
    this.tty = options.tty ?? {};
    const stdin = options.stdin;
    this.install(isOpenFile(stdin) ? new FileDescription(stdin, O_RDONLY) : new InputStream(stdin, this.tty.stdin ?? false), 0);
    this.install(new OutputStream(stdout, this.tty.stdout ?? false, 4n), 1);
    this.install(new OutputStream(stderr, this.tty.stderr ?? false, 5n), 2);
  }

  /** Opens the standard streams again on whichever of 0, 1 and 2 are closed:
   *  stdin at its end, stdout and stderr to the host's sinks (with the inode
   *  numbers the constructor gives them). For calls into a program after it
   *  has exited (vmcall.ts), when its descriptors are closed. */
  reopenStandardStreams(): void {
    if (!this.has(0)) this.install(new InputStream(undefined, this.tty.stdin ?? false), 0);
    if (!this.has(1)) this.install(new OutputStream(this.hostSinks.get(1)!, this.tty.stdout ?? false, 4n), 1);
    if (!this.has(2)) this.install(new OutputStream(this.hostSinks.get(2)!, this.tty.stderr ?? false, 5n), 2);
  }

  /** The host's stdout (1) or stderr (2), wherever the guest's descriptors now lead: for ringvisor's own messages. */
  sink(fd: number): Sink | undefined {
    return this.hostSinks.get(fd);
  }

  /** The description behind fd, or throws EBADF. */
  get(fd: number): Description {
    const slot = fd >= 0 ? this.slots[fd] : undefined;
    if (!slot) throw new FsError(EBADF, undefined, `fd ${fd}`);
    return slot.description;
  }

  has(fd: number): boolean {
    return fd >= 0 && this.slots[fd] !== undefined;
  }

  /** Puts a description at the lowest free descriptor >= min (or exactly at `at`); returns it. */
  install(description: Description, at?: number, cloexec = false, min = 0): number {
    let fd = at;
    if (fd === undefined) {
      fd = min;
      while (this.slots[fd]) fd++;
    }
    if (fd >= MAX_FDS) throw new FsError(EMFILE);
    if (this.slots[fd]) this.close(fd);
    else if (this.vm.open >= MAX_VM_FDS && !this.forking) throw new FsError(ENFILE);
    description.refs++;
    this.slots[fd] = { description, cloexec };
    this.vm.open++;
    return fd;
  }

  close(fd: number): void {
    const slot = fd >= 0 ? this.slots[fd] : undefined;
    if (!slot) throw new FsError(EBADF, undefined, `close ${fd}`);
    this.slots[fd] = undefined;
    this.vm.open--;
    if (--slot.description.refs === 0) slot.description.release();
  }

  getCloexec(fd: number): boolean {
    this.get(fd);
    return this.slots[fd]!.cloexec;
  }

  setCloexec(fd: number, on: boolean): void {
    this.get(fd);
    this.slots[fd]!.cloexec = on;
  }

  /**
   * For mmap of a file: a reader of `length` bytes at `offset` (fewer at the
   * end of the file), or an errno for what cannot be mapped; undefined when
   * fd is not open.
   */
  mapSource(fd: number): ((offset: bigint, length: number) => Uint8Array | number) | undefined {
    if (!this.has(fd)) return undefined;
    const d = this.get(fd);
    // An O_PATH descriptor names no open file: mmap sees none (EBADF).
    if (d.flags & O_PATH) return undefined;
    return (offset, length) => {
      // do_mmap's order: not open for reading is EACCES before a file that
      // cannot be mapped is ENODEV.
      if (!d.readable) return 13; // EACCES
      if (!(d instanceof FileDescription) || !d.file.seekable) return 19; // ENODEV
      fileUse(d.file);
      const buf = new Uint8Array(length);
      let n = 0;
      try {
        while (n < length) {
          const k = d.file.read(buf.subarray(n), Number(offset) + n);
          if (k === 0) break;
          n += k;
        }
      } catch (e) {
        if (e instanceof FsError) return e.errno;
        throw e;
      }
      return buf.subarray(0, n);
    };
  }

  /** What /proc/self/fd/N names: the path, or "pipe:[ino]", or a terminal. */
  linkOf(fd: number): string | undefined {
    if (!this.has(fd)) return undefined;
    const d = this.get(fd);
    if (d.path) return '/' + d.path.join('/');
    if (d.isTty()) return '/dev/pts/0';
    return d.linkName() ?? `pipe:[${d.stat().ino}]`;
  }

  /** The descriptors in use (for tests and /proc-like views). */
  open(): number[] {
    return this.slots.flatMap((s, fd) => (s ? [fd] : []));
  }

  /** A copy for a new process (fork): every descriptor refers to the same
   *  open file description (offsets and status flags shared), close-on-exec
   *  flags copied. */
  fork(): FileTable {
    return new FileTable({}, this);
  }

  /** execve: the descriptors marked close-on-exec close. */
  closeOnExec(): void {
    this.slots.forEach((slot, fd) => {
      if (slot?.cloexec) this.close(fd);
    });
  }

  /** Called by closeAll before the descriptors close (shared file
   *  mappings write back and let go of their files: shared-maps.ts). */
  readonly beforeCloseAll = new Set<() => void>();

  /** Closes every descriptor (at exit). */
  closeAll(): void {
    for (const f of this.beforeCloseAll) f();
    for (const fd of this.open()) this.close(fd);
  }
}


