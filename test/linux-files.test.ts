// The file and descriptor system calls (src/linux/sys/files.ts) called
// directly on a ProcessVM, with guest memory as arguments, over an in-memory
// file system and over a host directory; and the guest programs that leave
// files behind (guests/manifest-files.json `workdir` cases), whose files are
// compared with what they left under qemu-riscv64.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessVM } from '../src/index.js';
import { SYSCALLS } from '../src/linux/syscalls.js';
import { GuestFs, privateMounts } from '../src/linux/fs/guest-fs.js';
import { MemFs } from '../src/linux/fs/memfs.js';
import { sandboxFs } from '../src/node/host-fs.js';
import * as E from '../src/linux/errno.js';
import { ROOT, readManifest, readGolden, runRingvisor, runQemu, qemuPath } from './support/guests.js';
import { GuestScratch } from './support/process.js';

const AT_FDCWD = BigInt.asUintN(64, -100n);
const O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0o100, O_EXCL = 0o200, O_TRUNC = 0o1000, O_APPEND = 0o2000;
const O_DIRECTORY = 0o200000, O_NOFOLLOW = 0o400000, O_CLOEXEC = 0o2000000, O_NONBLOCK = 0o4000;

const hello = new Uint8Array(readFileSync(join(ROOT, 'guests/bin/hello.elf')));

/** A process VM whose system calls the test makes itself, with scratch guest memory on its stack. */
class Harness {
  readonly vm: ProcessVM;
  readonly out: Uint8Array[] = [];
  private readonly scratch: GuestScratch;

  constructor(fs?: GuestFs, stdin?: string, tty = false) {
    this.vm = ProcessVM.create(hello, {
      fs,
      stdin,
      stdout: (d) => this.out.push(d.slice()),
      tty: tty ? { stdin: true, stdout: true, windowSize: () => ({ rows: 40, columns: 132 }) } : undefined,
      memoryBytes: 16 * 1024 * 1024,
    });
    this.scratch = new GuestScratch(this.vm);
  }

  /** Guest memory for `n` bytes. */
  alloc(n: number): bigint { return this.scratch.alloc(n); }
  str(s: string): bigint { return this.scratch.str(s); }

  bytes(data: Uint8Array | string): bigint {
    const b = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const a = this.alloc(b.length);
    this.vm.cpu.writeBytes(a, b);
    return a;
  }

  text(addr: bigint, n: number): string {
    return new TextDecoder().decode(this.vm.cpu.readBytes(addr, n));
  }

  sys(name: string, ...args: (bigint | number)[]): bigint {
    const entry = [...SYSCALLS.values()].find((e) => e.name === name);
    if (!entry) throw new Error(`no system call ${name}`);
    const a = args.map((x) => BigInt.asUintN(64, BigInt(x)));
    while (a.length < 6) a.push(0n);
    return BigInt.asIntN(64, entry.handler(this.vm, a));
  }

  open(path: string, flags: number, mode = 0o644): bigint {
    return this.sys('openat', AT_FDCWD, this.str(path), flags, mode);
  }

  write(fd: bigint | number, s: string): bigint {
    const b = new TextEncoder().encode(s);
    return this.sys('write', fd, this.bytes(b), b.length);
  }

  read(fd: bigint | number, n: number): string | bigint {
    const buf = this.alloc(n);
    const r = this.sys('read', fd, buf, n);
    return r < 0n ? r : this.text(buf, Number(r));
  }

  /** struct stat fields the tests look at. */
  stat(path: string, flags = 0): { r: bigint; mode: number; size: bigint; nlink: number } {
    const buf = this.alloc(128);
    const r = this.sys('newfstatat', AT_FDCWD, this.str(path), buf, flags);
    return { r, mode: this.vm.cpu.read32(buf + 16n), nlink: this.vm.cpu.read32(buf + 20n), size: this.vm.cpu.read64(buf + 48n) };
  }

  /** Names from getdents64 on fd, until it returns 0. */
  list(fd: bigint): string[] {
    const names: string[] = [];
    const buf = this.alloc(256);
    for (;;) {
      const n = Number(this.sys('getdents64', fd, buf, 256));
      if (n <= 0) return names;
      for (let off = 0; off < n;) {
        const reclen = this.vm.cpu.read32(buf + BigInt(off + 16)) & 0xffff;
        const name = this.vm.cpu.readCString(buf + BigInt(off + 19));
        names.push(new TextDecoder().decode(name));
        off += reclen;
      }
    }
  }
}

const neg = (errno: number) => -BigInt(errno);

describe('file system calls on the private /tmp', () => {
  it('creates, writes, reads back, seeks and stats a file', () => {
    const h = new Harness();
    expect(h.sys('chdir', h.str('/tmp'))).toBe(0n);
    const fd = h.open('a.txt', O_RDWR | O_CREAT | O_EXCL, 0o640);
    expect(fd).toBe(3n);
    expect(h.write(fd, 'hello, world')).toBe(12n);
    expect(h.sys('lseek', fd, 0, 1)).toBe(12n);
    expect(h.sys('lseek', fd, 7, 0)).toBe(7n);
    expect(h.read(fd, 100)).toBe('world');
    expect(h.read(fd, 100)).toBe('');
    expect(h.sys('lseek', fd, -5, 2)).toBe(7n);
    expect(h.sys('lseek', fd, -100, 1)).toBe(neg(E.EINVAL));
    const st = h.stat('/tmp/a.txt');
    expect(st.r).toBe(0n);
    expect(st.size).toBe(12n);
    expect(st.mode).toBe(0o100640 & ~0o022);
    expect(h.sys('ftruncate', fd, 3)).toBe(0n);
    expect(h.stat('a.txt').size).toBe(3n);
    expect(h.sys('close', fd)).toBe(0n);
    expect(h.sys('close', fd)).toBe(neg(E.EBADF));
    expect(h.open('a.txt', O_CREAT | O_EXCL | O_WRONLY)).toBe(neg(E.EEXIST));
  });

  it('pread and pwrite leave the offset alone; O_APPEND writes at the end', () => {
    const h = new Harness();
    const fd = h.open('/tmp/p', O_RDWR | O_CREAT);
    h.write(fd, '0123456789');
    expect(h.sys('pwrite64', fd, h.bytes('AB'), 2, 4)).toBe(2n);
    const buf = h.alloc(16);
    expect(h.sys('pread64', fd, buf, 16, 2)).toBe(8n);
    expect(h.text(buf, 8)).toBe('23AB6789');
    expect(h.sys('lseek', fd, 0, 1)).toBe(10n);
    expect(h.sys('pread64', fd, buf, 1, -1)).toBe(neg(E.EINVAL));
    const ap = h.open('/tmp/p', O_WRONLY | O_APPEND);
    h.sys('lseek', ap, 0, 0);
    h.write(ap, '!');
    expect(h.stat('/tmp/p').size).toBe(11n);
    expect(h.sys('fcntl', ap, 3 /* F_GETFL */) & BigInt(O_APPEND)).toBe(BigInt(O_APPEND));
  });

  it('readv and writev gather and scatter', () => {
    const h = new Harness();
    const fd = h.open('/tmp/v', O_RDWR | O_CREAT);
    const iov = h.alloc(48);
    const parts = ['abc', 'defg', 'hi'].map((s) => h.bytes(s));
    [3, 4, 2].forEach((len, i) => {
      h.vm.cpu.write64(iov + BigInt(16 * i), parts[i]);
      h.vm.cpu.write64(iov + BigInt(16 * i + 8), BigInt(len));
    });
    expect(h.sys('writev', fd, iov, 3)).toBe(9n);
    h.sys('lseek', fd, 0, 0);
    const dst = [h.alloc(2), h.alloc(10)];
    h.vm.cpu.write64(iov, dst[0]);
    h.vm.cpu.write64(iov + 8n, 2n);
    h.vm.cpu.write64(iov + 16n, dst[1]);
    h.vm.cpu.write64(iov + 24n, 10n);
    expect(h.sys('readv', fd, iov, 2)).toBe(9n);
    expect(h.text(dst[0], 2) + h.text(dst[1], 7)).toBe('abcdefghi');
    expect(h.sys('readv', fd, iov, 5000)).toBe(neg(E.EINVAL));
  });

  it('lists a directory with getdents64, . and .. first, and rewinds', () => {
    const h = new Harness();
    h.sys('mkdirat', AT_FDCWD, h.str('/tmp/d'), 0o755);
    for (let i = 0; i < 20; i++) h.sys('close', h.open(`/tmp/d/file-with-a-long-name-${i}`, O_CREAT | O_WRONLY));
    h.sys('mkdirat', AT_FDCWD, h.str('/tmp/d/sub'), 0o755);
    const fd = h.open('/tmp/d', O_RDONLY | O_DIRECTORY);
    const names = h.list(fd);
    expect(names.slice(0, 2)).toEqual(['.', '..']);
    expect(names.length).toBe(23);
    expect(names).toContain('sub');
    expect(h.sys('lseek', fd, 0, 0)).toBe(0n);
    expect(h.list(fd).length).toBe(23);
    expect(h.sys('getdents64', fd, h.alloc(8), 8)).toBe(0n);
    h.sys('lseek', fd, 0, 0);
    expect(h.sys('getdents64', fd, h.alloc(8), 8)).toBe(neg(E.EINVAL));
    expect(h.read(fd, 10)).toBe(neg(E.EISDIR));
    const file = h.open('/tmp/d/sub/../file-with-a-long-name-3', O_RDONLY);
    expect(h.sys('getdents64', file, h.alloc(64), 64)).toBe(neg(E.ENOTDIR));
    expect(h.open('/tmp/d/file-with-a-long-name-3', O_RDONLY | O_DIRECTORY)).toBe(neg(E.ENOTDIR));
    expect(h.open('/tmp/d', O_WRONLY)).toBe(neg(E.EISDIR));
    // openat relative to a directory descriptor
    const rel = h.sys('openat', fd, h.str('sub/new'), O_CREAT | O_WRONLY, 0o600);
    expect(rel).toBeGreaterThan(0n);
    expect(h.stat('/tmp/d/sub/new').r).toBe(0n);
  });

  it('mkdir, rename (and RENAME_NOREPLACE), unlink, rmdir with Linux errnos', () => {
    const h = new Harness();
    const at = (p: string) => [AT_FDCWD, h.str(p)] as const;
    expect(h.sys('mkdirat', ...at('/tmp/x'), 0o755)).toBe(0n);
    expect(h.sys('mkdirat', ...at('/tmp/x'), 0o755)).toBe(neg(E.EEXIST));
    expect(h.sys('mkdirat', ...at('/tmp/none/x'), 0o755)).toBe(neg(E.ENOENT));
    h.sys('close', h.open('/tmp/x/f', O_CREAT | O_WRONLY));
    h.sys('close', h.open('/tmp/g', O_CREAT | O_WRONLY));
    expect(h.sys('unlinkat', ...at('/tmp/x'), 0x200)).toBe(neg(E.ENOTEMPTY));
    expect(h.sys('unlinkat', ...at('/tmp/x'), 0)).toBe(neg(E.EISDIR));
    expect(h.sys('unlinkat', ...at('/tmp/g'), 0x200)).toBe(neg(E.ENOTDIR));
    expect(h.sys('renameat2', ...at('/tmp/g'), ...at('/tmp/x/f'), 1)).toBe(neg(E.EEXIST));
    expect(h.sys('renameat2', ...at('/tmp/g'), ...at('/tmp/x/f'), 0)).toBe(0n);
    expect(h.stat('/tmp/g').r).toBe(neg(E.ENOENT));
    expect(h.sys('renameat2', ...at('/tmp/x'), ...at('/tmp/x/inside'), 0)).toBe(neg(E.EINVAL));
    expect(h.sys('renameat2', ...at('/tmp/x/f'), ...at('/dev/f'), 0)).toBe(neg(E.EXDEV));
    expect(h.sys('unlinkat', ...at('/tmp/x/f'), 0)).toBe(0n);
    expect(h.sys('unlinkat', ...at('/tmp/x/f'), 0)).toBe(neg(E.ENOENT));
    expect(h.sys('unlinkat', ...at('/tmp/x'), 0x200)).toBe(0n);
    expect(h.sys('unlinkat', ...at('/tmp'), 0x200)).toBe(neg(E.EBUSY));
    expect(h.sys('mkdirat', ...at('/newdir'), 0o755)).toBe(neg(E.EROFS));
  });

  it('symbolic links: readlinkat, lstat vs stat, O_NOFOLLOW, loops end in ELOOP', () => {
    const h = new Harness();
    h.sys('close', h.open('/tmp/target', O_CREAT | O_WRONLY));
    expect(h.sys('symlinkat', h.str('target'), AT_FDCWD, h.str('/tmp/l'))).toBe(0n);
    const buf = h.alloc(64);
    expect(h.sys('readlinkat', AT_FDCWD, h.str('/tmp/l'), buf, 64)).toBe(6n);
    expect(h.text(buf, 6)).toBe('target');
    expect(h.sys('readlinkat', AT_FDCWD, h.str('/tmp/l'), buf, 3)).toBe(3n);
    expect(h.sys('readlinkat', AT_FDCWD, h.str('/tmp/target'), buf, 64)).toBe(neg(E.EINVAL));
    expect(h.stat('/tmp/l').mode & 0o170000).toBe(0o100000);
    expect(h.stat('/tmp/l', 0x100).mode & 0o170000).toBe(0o120000);
    expect(h.open('/tmp/l', O_RDONLY | O_NOFOLLOW)).toBe(neg(E.ELOOP));
    h.sys('symlinkat', h.str('/tmp/loop2'), AT_FDCWD, h.str('/tmp/loop1'));
    h.sys('symlinkat', h.str('loop1'), AT_FDCWD, h.str('/tmp/loop2'));
    expect(h.open('/tmp/loop1', O_RDONLY)).toBe(neg(E.ELOOP));
    // exactly 40 links are followed, the 41st is ELOOP
    h.sys('symlinkat', h.str('target'), AT_FDCWD, h.str('/tmp/c0'));
    for (let i = 1; i <= 40; i++) h.sys('symlinkat', h.str(`c${i - 1}`), AT_FDCWD, h.str(`/tmp/c${i}`));
    expect(h.open('/tmp/c39', O_RDONLY)).toBeGreaterThan(0n);
    expect(h.open('/tmp/c40', O_RDONLY)).toBe(neg(E.ELOOP));
    expect(h.open('/tmp/target/', O_RDONLY)).toBe(neg(E.ENOTDIR));
  });

  it('getcwd, chdir, fchdir, umask, faccessat', () => {
    const h = new Harness();
    const buf = h.alloc(64);
    expect(h.sys('getcwd', buf, 64)).toBe(2n);
    expect(h.text(buf, 1)).toBe('/');
    h.sys('mkdirat', AT_FDCWD, h.str('/tmp/w'), 0o755);
    expect(h.sys('chdir', h.str('/tmp/w/../w/.'))).toBe(0n);
    expect(h.sys('getcwd', buf, 64)).toBe(7n);
    expect(h.text(buf, 6)).toBe('/tmp/w');
    expect(h.sys('getcwd', buf, 6)).toBe(neg(E.ERANGE));
    expect(h.sys('chdir', h.str('/dev/null'))).toBe(neg(E.ENOTDIR));
    const root = h.open('/', O_RDONLY | O_DIRECTORY);
    expect(h.sys('fchdir', root)).toBe(0n);
    expect(h.sys('getcwd', buf, 64)).toBe(2n);
    expect(h.sys('umask', 0o077)).toBe(0o022n);
    h.sys('close', h.open('/tmp/m', O_CREAT | O_WRONLY, 0o666));
    expect(h.stat('/tmp/m').mode & 0o777).toBe(0o600);
    expect(h.sys('faccessat', AT_FDCWD, h.str('/tmp/m'), 6)).toBe(0n);
    expect(h.sys('faccessat', AT_FDCWD, h.str('/tmp/none'), 0)).toBe(neg(E.ENOENT));
    expect(h.sys('faccessat2', AT_FDCWD, h.str('/'), 2, 0)).toBe(neg(E.EROFS));
    expect(h.sys('faccessat', AT_FDCWD, h.str('/tmp'), 8)).toBe(neg(E.EINVAL));
  });

  it('dup, dup3, fcntl descriptor flags', () => {
    const h = new Harness();
    const fd = h.open('/tmp/f', O_RDWR | O_CREAT | O_CLOEXEC);
    expect(h.sys('fcntl', fd, 1 /* F_GETFD */)).toBe(1n);
    const d = h.sys('dup', fd);
    expect(d).toBe(fd + 1n);
    expect(h.sys('fcntl', d, 1)).toBe(0n);
    h.write(d, 'xyz');
    expect(h.sys('lseek', fd, 0, 1)).toBe(3n);
    expect(h.sys('dup3', fd, 10, O_CLOEXEC)).toBe(10n);
    expect(h.sys('fcntl', 10, 1)).toBe(1n);
    expect(h.sys('dup3', fd, fd, 0)).toBe(neg(E.EINVAL));
    expect(h.sys('dup3', 99, 10, 0)).toBe(neg(E.EBADF));
    expect(h.sys('fcntl', fd, 0 /* F_DUPFD */, 20)).toBe(20n);
    expect(h.sys('fcntl', fd, 1030 /* F_DUPFD_CLOEXEC */, 20)).toBe(21n);
    expect(h.sys('fcntl', 21, 1)).toBe(1n);
    expect(h.sys('fcntl', fd, 2 /* F_SETFD */, 0)).toBe(0n);
    expect(h.sys('fcntl', fd, 1)).toBe(0n);
    expect(h.sys('fcntl', fd, 4 /* F_SETFL */, O_NONBLOCK | O_WRONLY)).toBe(0n);
    expect(h.sys('fcntl', fd, 3) & 0o4003n).toBe(BigInt(O_NONBLOCK | O_RDWR));
    expect(h.sys('fcntl', fd, 999)).toBe(neg(E.EINVAL));
    expect(h.sys('fcntl', 77, 1)).toBe(neg(E.EBADF));
  });

  it('pipes: data through, a wait for nobody is a deadlock, EAGAIN when non-blocking, EOF once the writer closes, EPIPE without a reader', () => {
    const h = new Harness();
    const fds = h.alloc(8);
    expect(h.sys('pipe2', fds, O_CLOEXEC)).toBe(0n);
    const r = BigInt(h.vm.cpu.read32(fds)), w = BigInt(h.vm.cpu.read32(fds + 4n));
    expect(h.sys('fcntl', r, 1)).toBe(1n);
    expect(h.write(w, 'ping')).toBe(4n);
    const n = h.alloc(4);
    expect(h.sys('ioctl', r, 0x541b /* FIONREAD */, n)).toBe(0n);
    expect(h.vm.cpu.read32(n)).toBe(4);
    expect(h.read(r, 10)).toBe('ping');
    // Empty, and the only thread holds the writer: Linux would wait forever.
    h.read(r, 10);
    expect(h.vm.exitStatus).toBe(124);
    h.vm.exitStatus = undefined;
    expect(h.sys('fcntl', r, 4 /* F_SETFL */, O_NONBLOCK)).toBe(0n);
    expect(h.read(r, 10)).toBe(neg(E.EAGAIN));
    expect(h.sys('lseek', r, 0, 0)).toBe(neg(E.ESPIPE));
    h.sys('close', w);
    expect(h.read(r, 10)).toBe('');
    expect(h.sys('pipe2', fds, 0)).toBe(0n);
    h.sys('close', BigInt(h.vm.cpu.read32(fds)));
    expect(h.write(BigInt(h.vm.cpu.read32(fds + 4n)), 'x')).toBe(neg(E.EPIPE));
    expect(h.sys('pipe2', fds, 0o1)).toBe(neg(E.EINVAL));
  });

  it('stdin from a string, stdout to the sink; not a TTY: ENOTTY', () => {
    const h = new Harness(undefined, 'line one\nline two\n');
    expect(h.read(0, 5)).toBe('line ');
    expect(h.read(0, 100)).toBe('one\nline two\n');
    expect(h.read(0, 100)).toBe('');
    expect(h.write(1, 'out')).toBe(3n);
    expect(new TextDecoder().decode(h.out[0])).toBe('out');
    expect(h.sys('ioctl', 1, 0x5401 /* TCGETS */, h.alloc(64))).toBe(neg(E.ENOTTY));
    expect(h.sys('ioctl', 0, 0x5413 /* TIOCGWINSZ */, h.alloc(8))).toBe(neg(E.ENOTTY));
    expect(h.write(0, 'x')).toBe(neg(E.EBADF));
    const st = h.alloc(128);
    expect(h.sys('fstat', 1, st)).toBe(0n);
    expect(h.vm.cpu.read32(st + 16n) & 0o170000).toBe(0o010000);
  });

  it('a TTY is reported as a TTY: TCGETS, TIOCGWINSZ, character device', () => {
    const h = new Harness(undefined, '', true);
    const t = h.alloc(64);
    expect(h.sys('ioctl', 1, 0x5401, t)).toBe(0n);
    expect(h.vm.cpu.read32(t + 12n) & 0o2).toBe(0o2); // ICANON
    const ws = h.alloc(8);
    expect(h.sys('ioctl', 1, 0x5413, ws)).toBe(0n);
    expect(h.vm.cpu.read32(ws)).toBe(40 | (132 << 16));
    const st = h.alloc(128);
    h.sys('fstat', 0, st);
    expect(h.vm.cpu.read32(st + 16n) & 0o170000).toBe(0o020000);
    expect(h.sys('ioctl', 2, 0x5401, t)).toBe(neg(E.ENOTTY));
  });

  it('struct stat and struct statx carry the same facts', () => {
    const h = new Harness();
    const fd = h.open('/tmp/s', O_RDWR | O_CREAT, 0o644);
    h.write(fd, 'x'.repeat(5000));
    const st = h.alloc(128), sx = h.alloc(256);
    expect(h.sys('fstat', fd, st)).toBe(0n);
    expect(h.sys('statx', AT_FDCWD, h.str('/tmp/s'), 0, 0x7ff, sx)).toBe(0n);
    const c = h.vm.cpu;
    expect(c.read64(sx + 40n)).toBe(c.read64(st + 48n)); // size
    expect(c.read64(sx + 40n)).toBe(5000n);
    expect(c.read64(sx + 32n)).toBe(c.read64(st + 8n)); // ino
    expect(c.read32(sx + 28n) & 0xffff).toBe(c.read32(st + 16n)); // mode
    expect(c.read32(sx) & 0x7ff).toBe(0x7ff);
    expect(c.read64(sx + 112n)).toBe(c.read64(st + 88n)); // mtime seconds
    // AT_EMPTY_PATH: the descriptor itself
    expect(h.sys('newfstatat', fd, h.str(''), st, 0x1000)).toBe(0n);
    expect(h.sys('newfstatat', fd, h.str(''), st, 0)).toBe(neg(E.ENOENT));
    expect(h.sys('newfstatat', AT_FDCWD, h.str('/tmp/s'), st, 0x8000)).toBe(neg(E.EINVAL));
    expect(h.sys('fstat', fd, 8n)).toBe(neg(E.EFAULT));
    expect(h.sys('openat', AT_FDCWD, 16n, 0, 0)).toBe(neg(E.EFAULT));
  });

  it('utimensat sets, keeps (UTIME_OMIT) and refreshes (UTIME_NOW) times', () => {
    const h = new Harness();
    h.sys('close', h.open('/tmp/t', O_CREAT | O_WRONLY));
    const times = h.alloc(32);
    h.vm.cpu.write64(times, 1000n);
    h.vm.cpu.write64(times + 8n, 5n);
    h.vm.cpu.write64(times + 16n, 2000n);
    h.vm.cpu.write64(times + 24n, 7n);
    expect(h.sys('utimensat', AT_FDCWD, h.str('/tmp/t'), times, 0)).toBe(0n);
    const st = h.alloc(128);
    h.sys('newfstatat', AT_FDCWD, h.str('/tmp/t'), st, 0);
    expect([h.vm.cpu.read64(st + 72n), h.vm.cpu.read64(st + 80n), h.vm.cpu.read64(st + 88n), h.vm.cpu.read64(st + 96n)]).toEqual([1000n, 5n, 2000n, 7n]);
    h.vm.cpu.write64(times + 8n, BigInt((1 << 30) - 2)); // UTIME_OMIT
    h.vm.cpu.write64(times + 16n, 3000n);
    h.vm.cpu.write64(times + 24n, 0n);
    h.sys('utimensat', AT_FDCWD, h.str('/tmp/t'), times, 0);
    h.sys('newfstatat', AT_FDCWD, h.str('/tmp/t'), st, 0);
    expect([h.vm.cpu.read64(st + 72n), h.vm.cpu.read64(st + 88n)]).toEqual([1000n, 3000n]);
    h.vm.cpu.write64(times + 8n, 2_000_000_000n);
    expect(h.sys('utimensat', AT_FDCWD, h.str('/tmp/t'), times, 0)).toBe(neg(E.EINVAL));
  });

  it('/dev has null, zero and urandom; /proc/self/exe names the program', () => {
    const h = new Harness();
    const nul = h.open('/dev/null', O_RDWR);
    expect(h.write(nul, 'gone')).toBe(4n);
    expect(h.read(nul, 10)).toBe('');
    const zero = h.open('/dev/zero', O_RDONLY);
    const buf = h.alloc(8);
    h.vm.cpu.writeBytes(buf, new Uint8Array(8).fill(1));
    expect(h.sys('read', zero, buf, 8)).toBe(8n);
    expect([...h.vm.cpu.readBytes(buf, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(h.open('/dev/new', O_CREAT | O_WRONLY)).toBe(neg(E.EROFS));
    const link = h.alloc(256);
    const n = h.sys('readlinkat', AT_FDCWD, h.str('/proc/self/exe'), link, 256);
    expect(h.text(link, Number(n))).toBe('/guest');
    expect(h.open('/etc/passwd', O_RDONLY)).toBe(neg(E.ENOENT));
  });

  it('long names: ENAMETOOLONG for a path of PATH_MAX or a component over NAME_MAX', () => {
    const h = new Harness();
    expect(h.open('/tmp/' + 'x'.repeat(255), O_CREAT | O_WRONLY)).toBeGreaterThan(0n);
    expect(h.open('/tmp/' + 'x'.repeat(256), O_CREAT | O_WRONLY)).toBe(neg(E.ENAMETOOLONG));
    expect(h.open('/tmp/' + 'a/'.repeat(2100), O_RDONLY)).toBe(neg(E.ENAMETOOLONG));
    expect(h.open('/tmp/' + './'.repeat(1000) + 'x'.repeat(255), O_RDONLY)).toBeGreaterThan(0n);
  });

  it('sendfile, fallocate, statfs, fadvise64, flock', () => {
    const h = new Harness();
    const src = h.open('/tmp/src', O_RDWR | O_CREAT);
    h.write(src, 'copy me please');
    const dst = h.open('/tmp/dst', O_RDWR | O_CREAT);
    const off = h.alloc(8);
    h.vm.cpu.write64(off, 5n);
    expect(h.sys('sendfile', dst, src, off, 100)).toBe(9n);
    expect(h.vm.cpu.read64(off)).toBe(14n);
    expect(h.sys('lseek', src, 0, 1)).toBe(14n);
    h.sys('lseek', dst, 0, 0);
    expect(h.read(dst, 100)).toBe('me please');
    expect(h.sys('fallocate', dst, 0, 0, 4096)).toBe(0n);
    expect(h.stat('/tmp/dst').size).toBe(4096n);
    expect(h.sys('fallocate', dst, 3, 0, 10)).toBe(neg(E.EOPNOTSUPP));
    const sf = h.alloc(120);
    expect(h.sys('statfs', h.str('/tmp'), sf)).toBe(0n);
    expect(h.vm.cpu.read64(sf)).toBe(0x01021994n);
    expect(h.sys('fstatfs', dst, sf)).toBe(0n);
    expect(h.vm.cpu.read64(sf + 8n)).toBe(4096n);
    expect(h.sys('fadvise64', dst, 0, 0, 2)).toBe(0n);
    expect(h.sys('flock', dst, 2)).toBe(0n);
    expect(h.sys('flock', 99, 2)).toBe(neg(E.EBADF));
  });

  it('ppoll: a pipe with data is readable, an empty one is not, a closed fd is POLLNVAL', () => {
    const h = new Harness();
    const fds = h.alloc(8);
    h.sys('pipe2', fds, 0);
    const r = h.vm.cpu.read32(fds), w = h.vm.cpu.read32(fds + 4n);
    const pfd = h.alloc(24);
    const set = (i: number, fd: number, events: number) => {
      h.vm.cpu.writeBytes(pfd + BigInt(8 * i), new Uint8Array(new Int32Array([fd]).buffer));
      h.vm.cpu.writeBytes(pfd + BigInt(8 * i + 4), new Uint8Array(new Int16Array([events, 0]).buffer));
    };
    const revents = (i: number) => h.vm.cpu.read32(pfd + BigInt(8 * i + 4)) >>> 16;
    set(0, r, 1); set(1, w, 4); set(2, 77, 1);
    const zero = h.alloc(16);
    h.vm.cpu.write64(zero, 0n);
    h.vm.cpu.write64(zero + 8n, 0n);
    expect(h.sys('ppoll', pfd, 3, zero, 0, 8)).toBe(2n);
    expect([revents(0), revents(1), revents(2)]).toEqual([0, 4, 0x20]);
    h.write(w, 'x');
    expect(h.sys('ppoll', pfd, 1, zero, 0, 8)).toBe(1n);
    expect(revents(0)).toBe(1);
    h.sys('close', w);
    h.read(r, 1);
    expect(h.sys('ppoll', pfd, 1, zero, 0, 8)).toBe(1n);
    expect(revents(0)).toBe(0x10);
  });

  it('/dev/stdin and /proc/self/fd/N lead to the descriptor\'s own file', () => {
    const h = new Harness(undefined, 'typed in');
    const fd = h.open('/dev/stdin', O_RDONLY);
    expect(fd).toBe(3n);
    expect(h.read(fd, 5)).toBe('typed');
    expect(h.read(0, 10)).toBe(' in');
    const out = h.open('/dev/stdout', O_WRONLY);
    h.write(out, 'via /dev/stdout');
    expect(new TextDecoder().decode(h.out[0])).toBe('via /dev/stdout');
    const st = h.stat('/dev/stdin');
    expect(st.mode & 0o170000).toBe(0o010000);
    expect(h.stat('/dev/stdin', 0x100).mode & 0o170000).toBe(0o120000);
    h.sys('mkdirat', AT_FDCWD, h.str('/tmp/q'), 0o755);
    const q = h.open('/tmp/q', O_RDONLY | O_DIRECTORY);
    const buf = h.alloc(64);
    const n = h.sys('readlinkat', AT_FDCWD, h.str(`/proc/self/fd/${q}`), buf, 64);
    expect(h.text(buf, Number(n))).toBe('/tmp/q');
    const m = h.sys('readlinkat', AT_FDCWD, h.str('/proc/self/fd/0'), buf, 64);
    expect(h.text(buf, Number(m))).toMatch(/^pipe:\[\d+\]$/);
    expect(h.list(h.open('/proc/self/fd', O_RDONLY | O_DIRECTORY))).toEqual(['.', '..', '0', '1', '2', '3', '4', '5', '6']);
    expect(h.open('/proc/self/fd/99', O_RDONLY)).toBe(neg(E.ENOENT));
  });

  it('closes an over-full table with EMFILE', () => {
    const h = new Harness();
    let last = 0n;
    for (let i = 0; i < 1100 && last >= 0n; i++) last = h.open('/dev/null', O_RDONLY);
    expect(last).toBe(neg(E.EMFILE));
  });
});

describe('file system calls on a host directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ringvisor-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes land in the host directory, reads see host files, names are bytes', () => {
    writeFileSync(join(dir, 'given.txt'), 'from the host');
    mkdirSync(join(dir, 'sub'));
    symlinkSync('given.txt', join(dir, 'rel-link'));
    const h = new Harness(sandboxFs({ cwd: dir }));
    expect(h.read(h.open('given.txt', O_RDONLY), 100)).toBe('from the host');
    expect(h.read(h.open('rel-link', O_RDONLY), 4)).toBe('from');
    const fd = h.open('sub/made.txt', O_WRONLY | O_CREAT | O_TRUNC, 0o600);
    h.write(fd, 'by the guest');
    h.sys('close', fd);
    expect(readFileSync(join(dir, 'sub/made.txt'), 'utf8')).toBe('by the guest');
    expect(h.stat('sub/made.txt').mode & 0o777).toBe(0o600);
    const names = h.list(h.open('.', O_RDONLY | O_DIRECTORY)).sort();
    expect(names).toEqual(['.', '..', 'given.txt', 'rel-link', 'sub']);
    const buf = h.alloc(4096);
    const n = h.sys('getcwd', buf, 4096);
    expect(h.text(buf, Number(n) - 1)).toBe(h.vm.fs.cwd.length ? '/' + h.vm.fs.cwd.join('/') : '/');
    // a name that is not UTF-8 round-trips as bytes
    const odd = h.alloc(8);
    h.vm.cpu.writeBytes(odd, new Uint8Array([0x78, 0xff, 0xfe, 0x79, 0]));
    const ofd = h.sys('openat', AT_FDCWD, odd, O_CREAT | O_WRONLY, 0o644);
    expect(ofd).toBeGreaterThan(0n);
    const rawNames = h.list(h.open('.', O_RDONLY | O_DIRECTORY));
    expect(rawNames.length).toBe(6);
  });

  it('the guest\'s stdin pipes through to a program (files-stdin.elf)', async () => {
    const c = readManifest().find((x) => x.name === 'files-stdin')!;
    const r = await runRingvisor(c);
    expect(r.stdout.toString()).toContain('The quick brown fox');
    expect(r.stderr.toString()).toBe('68 bytes, 4 lines, 14 words; last read 0\n');
  });
});

describe('guest programs that write files: the files left behind', () => {
  const qemu = qemuPath();
  for (const c of readManifest().filter((x) => x.workdir)) {
    it(`${c.name}: files as qemu-riscv64 left them (golden)`, async () => {
      const r = await runRingvisor(c);
      expect(r.stdout.toString('latin1')).toBe(readGolden(c.name).stdout.toString('latin1'));
      expect(r.files).toBe(readGolden(c.name).files);
    });
    it.skipIf(!qemu)(`${c.name}: files as live qemu-riscv64 leaves them`, async () => {
      const r = await runRingvisor(c);
      expect(r.files).toBe(runQemu(c, qemu).files);
    });
  }
});

describe('GuestFs on its own', () => {
  it('a mount inside an in-memory parent shows in its listing', () => {
    const fs = new GuestFs([...privateMounts({ random: () => {} }), { guestPath: '/data/set', fs: new MemFs() }]);
    expect(fs.readdir(fs.resolve(undefined, '/')).map((e) => e.name).sort()).toEqual(['data', 'dev', 'proc', 'tmp']);
    expect(fs.readdir(fs.resolve(undefined, '/data')).map((e) => e.name)).toEqual(['set']);
  });
});
