// Event descriptors (src/linux/sys/events.ts): eventfd2 and epoll called
// directly on a ProcessVM, with guest memory as arguments: counters and
// their modes, epoll_ctl's checks in Linux's order, level- and
// edge-triggered reports, EPOLLONESHOT, interests that outlive or die with
// their descriptors, nesting, and waits (alone: the deadline or a deadlock;
// with other threads: a wait for I/O that runs the call again). Go programs
// using the netpoller are compared with QEMU in guests/manifest-go.json.
import { describe, expect, it } from 'vitest';
import type { ProcessVM, ProcessVMOptions } from '../src/index.js';
import * as E from '../src/linux/errno.js';
import { make, sys, GuestScratch } from './support/process.js';

const AT_FDCWD = -100n;
const O_RDONLY = 0n, O_CREAT = 0o100n, O_DIRECTORY = 0o200000n, O_PATH = 0o10000000n;
const O_NONBLOCK = 0o4000n, O_CLOEXEC = 0o2000000n;
const EFD_SEMAPHORE = 1n;
const F_GETFD = 1n, F_GETFL = 3n;
const EPOLL_CTL_ADD = 1n, EPOLL_CTL_DEL = 2n, EPOLL_CTL_MOD = 3n;
const EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLRDNORM = 0x40, EPOLLWRNORM = 0x100;
const EPOLLEXCLUSIVE = 1 << 28, EPOLLONESHOT = 1 << 30, EPOLLET = 1 << 31;
const ELOOP = 40;
const err = (e: number) => -BigInt(e);

/** A process VM whose system calls the test makes itself, with scratch memory on its stack. */
class Harness {
  readonly vm: ProcessVM;
  readonly diagnostics: string[];
  private readonly scratch: GuestScratch;

  constructor(options: ProcessVMOptions = {}) {
    ({ p: this.vm, diagnostics: this.diagnostics } = make(options));
    this.scratch = new GuestScratch(this.vm);
  }

  alloc(n: number): bigint { return this.scratch.alloc(n); }
  str(s: string): bigint { return this.scratch.str(s); }

  sys(name: string, ...args: (bigint | number)[]): bigint {
    return sys(this.vm, name, ...args.map((x) => BigInt.asUintN(64, BigInt(x))));
  }

  /** pipe2: [read end, write end]. */
  pipe(flags = 0n): [number, number] {
    const fds = this.alloc(8);
    expect(this.sys('pipe2', fds, flags)).toBe(0n);
    return [this.vm.cpu.read32(fds), this.vm.cpu.read32(fds + 4n)];
  }

  /** write of a u64 (what eventfd takes) or of text. */
  write(fd: number, data: bigint | string): bigint {
    const b = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(new BigUint64Array([data]).buffer);
    const a = this.alloc(b.length);
    this.vm.cpu.writeBytes(a, b);
    return this.sys('write', fd, a, b.length);
  }

  /** read of a u64: [result, value]. */
  read64(fd: number, size = 8): [bigint, bigint] {
    const a = this.alloc(16);
    this.vm.cpu.write64(a, 0n);
    const r = this.sys('read', fd, a, size);
    return [r, this.vm.cpu.read64(a)];
  }

  ctl(epfd: number, op: bigint, fd: number, events = 0, data = BigInt(fd)): bigint {
    const ev = this.alloc(16);
    this.vm.cpu.write64(ev, BigInt(events >>> 0));
    this.vm.cpu.write64(ev + 8n, data);
    return this.sys('epoll_ctl', epfd, op, fd, ev);
  }

  /** epoll_pwait: the result and the [events, data] it reported. */
  wait(epfd: number, max = 8, timeoutMs = 0): [bigint, [number, bigint][]] {
    const buf = this.alloc(16 * max);
    const r = this.sys('epoll_pwait', epfd, buf, max, timeoutMs, 0, 8);
    const out: [number, bigint][] = [];
    for (let k = 0n; k < (r > 0n ? r : 0n); k++) out.push([this.vm.cpu.read32(buf + 16n * k), this.vm.cpu.read64(buf + 16n * k + 8n)]);
    return [r, out];
  }

  epoll(): number {
    const fd = this.sys('epoll_create1', 0);
    expect(fd).toBeGreaterThanOrEqual(0n);
    return Number(fd);
  }
}

describe('eventfd2', () => {
  it('adds what is written and a read takes it all, then would block (EAGAIN when non-blocking)', () => {
    const h = new Harness();
    const fd = Number(h.sys('eventfd2', 5, O_NONBLOCK));
    expect(h.write(fd, 3n)).toBe(8n);
    expect(h.write(fd, 4n)).toBe(8n);
    expect(h.read64(fd)).toEqual([8n, 12n]);
    expect(h.read64(fd)[0]).toBe(err(E.EAGAIN));
  });

  it('in semaphore mode a read takes one', () => {
    const h = new Harness();
    const fd = Number(h.sys('eventfd2', 2, EFD_SEMAPHORE | O_NONBLOCK));
    expect(h.read64(fd)).toEqual([8n, 1n]);
    expect(h.read64(fd)).toEqual([8n, 1n]);
    expect(h.read64(fd)[0]).toBe(err(E.EAGAIN));
  });

  it('refuses short buffers, the value 2^64-1, an overflow (EAGAIN) and unknown flags', () => {
    const h = new Harness();
    const fd = Number(h.sys('eventfd2', 0, O_NONBLOCK));
    expect(h.read64(fd, 4)[0]).toBe(err(E.EINVAL));
    const a = h.alloc(8);
    expect(h.sys('write', fd, a, 7)).toBe(err(E.EINVAL));
    expect(h.write(fd, 0xffffffffffffffffn)).toBe(err(E.EINVAL));
    expect(h.write(fd, 0xfffffffffffffffen)).toBe(8n);
    expect(h.write(fd, 1n)).toBe(err(E.EAGAIN));
    expect(h.sys('eventfd2', 0, 0x10)).toBe(err(E.EINVAL));
  });

  it('keeps its flags: O_RDWR | O_NONBLOCK for F_GETFL, close-on-exec for F_GETFD; fstat and /proc/self/fd as an anonymous inode', () => {
    const h = new Harness();
    const fd = Number(h.sys('eventfd2', 0, O_NONBLOCK | O_CLOEXEC));
    expect(h.sys('fcntl', fd, F_GETFL) & 0o7777n).toBe(2n | O_NONBLOCK);
    expect(h.sys('fcntl', fd, F_GETFD)).toBe(1n);
    const st = h.alloc(128);
    expect(h.sys('fstat', fd, st)).toBe(0n);
    expect(h.vm.cpu.read32(st + 16n)).toBe(0o600);
    const link = h.alloc(64);
    const n = h.sys('readlinkat', AT_FDCWD, h.str(`/proc/self/fd/${fd}`), link, 64);
    expect(new TextDecoder().decode(h.vm.cpu.readBytes(link, Number(n)))).toBe('anon_inode:[eventfd]');
  });
});

describe('epoll_ctl', () => {
  it('checks in Linux\'s order: EBADF, EPERM for regular files and directories, EINVAL for a non-epoll or itself, EEXIST, ENOENT', () => {
    const h = new Harness();
    const ep = h.epoll();
    const [r] = h.pipe();
    expect(h.ctl(ep, EPOLL_CTL_ADD, 99, EPOLLIN)).toBe(err(E.EBADF));
    expect(h.ctl(99, EPOLL_CTL_ADD, r, EPOLLIN)).toBe(err(E.EBADF));
    const file = Number(h.sys('openat', AT_FDCWD, h.str('/tmp/f'), O_CREAT | 2n, 0o644));
    const dir = Number(h.sys('openat', AT_FDCWD, h.str('/tmp'), O_RDONLY | O_DIRECTORY));
    const path = Number(h.sys('openat', AT_FDCWD, h.str('/tmp'), O_PATH));
    expect(h.ctl(ep, EPOLL_CTL_ADD, file, EPOLLIN)).toBe(err(E.EPERM));
    expect(h.ctl(ep, EPOLL_CTL_ADD, dir, EPOLLIN)).toBe(err(E.EPERM));
    expect(h.ctl(ep, EPOLL_CTL_ADD, path, EPOLLIN)).toBe(err(E.EBADF));
    expect(h.ctl(r, EPOLL_CTL_ADD, r, EPOLLIN)).toBe(err(E.EINVAL));
    expect(h.ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN)).toBe(err(E.EINVAL));
    expect(h.ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN)).toBe(err(E.ENOENT));
    expect(h.ctl(ep, EPOLL_CTL_DEL, r)).toBe(err(E.ENOENT));
    expect(h.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN)).toBe(0n);
    expect(h.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN)).toBe(err(E.EEXIST));
    expect(h.ctl(ep, 7n, r, EPOLLIN)).toBe(err(E.EINVAL));
    expect(h.ctl(ep, EPOLL_CTL_DEL, r)).toBe(0n);
    expect(h.ctl(ep, EPOLL_CTL_DEL, r)).toBe(err(E.ENOENT));
    expect(h.sys('epoll_create1', 1)).toBe(err(E.EINVAL));
  });

  it('takes EPOLLEXCLUSIVE only on ADD, only with the events it allows', () => {
    const h = new Harness();
    const ep = h.epoll();
    const [r] = h.pipe();
    expect(h.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT)).toBe(err(E.EINVAL));
    expect(h.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLEXCLUSIVE)).toBe(0n);
    expect(h.ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN)).toBe(err(E.EINVAL));
  });
});

describe('epoll_pwait', () => {
  it('reports a pipe once it holds data, with the interest\'s data; the write end and stdout are writable', () => {
    const h = new Harness();
    const ep = h.epoll();
    const [r, w] = h.pipe();
    expect(h.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 0x1234_5678_9abc_def0n)).toBe(0n);
    expect(h.wait(ep)).toEqual([0n, []]);
    h.write(w, 'x');
    expect(h.wait(ep)).toEqual([1n, [[EPOLLIN, 0x1234_5678_9abc_def0n]]]);
    // Level-triggered: still readable, still reported.
    expect(h.wait(ep)[0]).toBe(1n);
    expect(h.ctl(ep, EPOLL_CTL_ADD, w, EPOLLOUT | EPOLLIN)).toBe(0n);
    expect(h.ctl(ep, EPOLL_CTL_ADD, 1, EPOLLOUT | EPOLLWRNORM)).toBe(0n);
    expect(h.wait(ep)).toEqual([3n, [[EPOLLIN, 0x1234_5678_9abc_def0n], [EPOLLOUT, BigInt(w)], [EPOLLOUT | EPOLLWRNORM, 1n]]]);
  });

  it('reports EPOLLHUP and EPOLLERR unasked: a read end without writers, a write end without readers', () => {
    const h = new Harness();
    const ep = h.epoll();
    const [r, w] = h.pipe();
    const [r2, w2] = h.pipe();
    h.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN);
    h.ctl(ep, EPOLL_CTL_ADD, w2, 0);
    h.sys('close', w);
    h.sys('close', r2);
    expect(h.wait(ep)).toEqual([2n, [[EPOLLHUP, BigInt(r)], [EPOLLERR, BigInt(w2)]]]);
    // Asked for, EPOLLOUT comes with EPOLLERR: the pipe is not full (pipe_poll).
    h.ctl(ep, EPOLL_CTL_MOD, w2, EPOLLOUT);
    expect(h.wait(ep)[1][1]).toEqual([EPOLLOUT | EPOLLERR, BigInt(w2)]);
  });

  it('edge-triggered: a pipe is reported again only after it has changed', () => {
    const h = new Harness();
    const ep = h.epoll();
    const [r, w] = h.pipe();
    h.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLET);
    h.write(w, 'a');
    expect(h.wait(ep)[0]).toBe(1n);
    expect(h.wait(ep)[0]).toBe(0n);
    h.write(w, 'b');
    expect(h.wait(ep)).toEqual([1n, [[EPOLLIN, BigInt(r)]]]);
    expect(h.wait(ep)[0]).toBe(0n);
    // EPOLL_CTL_MOD arms it again.
    expect(h.ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLET | EPOLLRDNORM)).toBe(0n);
    expect(h.wait(ep)).toEqual([1n, [[EPOLLIN | EPOLLRDNORM, BigInt(r)]]]);
  });

  it('EPOLLONESHOT: one report, then nothing until EPOLL_CTL_MOD', () => {
    const h = new Harness();
    const ep = h.epoll();
    const efd = Number(h.sys('eventfd2', 1, O_NONBLOCK));
    h.ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN | EPOLLONESHOT);
    expect(h.wait(ep)[0]).toBe(1n);
    h.write(efd, 1n);
    expect(h.wait(ep)[0]).toBe(0n);
    h.ctl(ep, EPOLL_CTL_MOD, efd, EPOLLIN | EPOLLONESHOT);
    expect(h.wait(ep)[0]).toBe(1n);
  });

  it('with a small maxevents, level-triggered descriptors take turns', () => {
    const h = new Harness();
    const ep = h.epoll();
    const a = Number(h.sys('eventfd2', 1, 0));
    const b = Number(h.sys('eventfd2', 1, 0));
    h.ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN);
    h.ctl(ep, EPOLL_CTL_ADD, b, EPOLLIN);
    expect(h.wait(ep, 1)[1]).toEqual([[EPOLLIN, BigInt(a)]]);
    expect(h.wait(ep, 1)[1]).toEqual([[EPOLLIN, BigInt(b)]]);
    expect(h.wait(ep, 1)[1]).toEqual([[EPOLLIN, BigInt(a)]]);
  });

  it('an interest lives as long as its open file: a dup keeps it, the last close ends it', () => {
    const h = new Harness();
    const ep = h.epoll();
    const [r, w] = h.pipe();
    h.write(w, 'x');
    h.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN);
    const copy = Number(h.sys('dup', r));
    h.sys('close', r);
    expect(h.wait(ep)).toEqual([1n, [[EPOLLIN, BigInt(r)]]]);
    h.sys('close', copy);
    expect(h.wait(ep)[0]).toBe(0n);
  });

  it('an epoll watched by another reports through it; a cycle is ELOOP', () => {
    const h = new Harness();
    const outer = h.epoll();
    const inner = h.epoll();
    const efd = Number(h.sys('eventfd2', 0, 0));
    h.ctl(inner, EPOLL_CTL_ADD, efd, EPOLLIN);
    expect(h.ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN)).toBe(0n);
    expect(h.ctl(inner, EPOLL_CTL_ADD, outer, EPOLLIN)).toBe(err(ELOOP));
    expect(h.wait(outer)[0]).toBe(0n);
    h.write(efd, 1n);
    expect(h.wait(outer)).toEqual([1n, [[EPOLLIN, BigInt(inner)]]]);
    const link = h.alloc(64);
    const n = h.sys('readlinkat', AT_FDCWD, h.str(`/proc/self/fd/${outer}`), link, 64);
    expect(new TextDecoder().decode(h.vm.cpu.readBytes(link, Number(n)))).toBe('anon_inode:[eventpoll]');
  });

  it('checks maxevents, the events buffer, the descriptor and the signal set size', () => {
    const h = new Harness();
    const ep = h.epoll();
    const buf = h.alloc(16);
    expect(h.sys('epoll_pwait', ep, buf, 0, 0, 0, 8)).toBe(err(E.EINVAL));
    // The array is written only when something is ready (do_epoll_wait
    // checks no more than access_ok before): an address the guest cannot
    // write is 0 while nothing is, EFAULT once something is.
    expect(h.sys('epoll_pwait', ep, 0x10n, 1, 0, 0, 8)).toBe(0n);
    const [, w] = h.pipe();
    expect(h.ctl(ep, 1n, w, EPOLLOUT)).toBe(0n);
    expect(h.sys('epoll_pwait', ep, 0x10n, 1, 0, 0, 8)).toBe(err(E.EFAULT));
    expect(h.sys('epoll_pwait', ep, buf, 1, 0, 0, 8)).toBe(1n);
    expect(h.sys('epoll_pwait', 1, buf, 1, 0, 0, 8)).toBe(err(E.EINVAL));
    expect(h.sys('epoll_pwait', 77, buf, 1, 0, 0, 8)).toBe(err(E.EBADF));
    expect(h.sys('epoll_pwait', ep, buf, 1, 0, h.alloc(8), 4)).toBe(err(E.EINVAL));
  });

  it('alone in its process, a wait with nothing ready lets its timeout pass and returns 0 (virtual clock)', () => {
    const h = new Harness({ clock: 'virtual' });
    const ep = h.epoll();
    const before = h.vm.clock.nowNs();
    expect(h.wait(ep, 4, 250)[0]).toBe(0n);
    expect(h.vm.clock.nowNs() - before).toBeGreaterThanOrEqual(250_000_000n);
    const ts = h.alloc(16);
    h.vm.cpu.write64(ts, 1n);
    h.vm.cpu.write64(ts + 8n, 0n);
    expect(h.sys('epoll_pwait2', ep, h.alloc(16), 1, ts, 0, 8)).toBe(0n);
    expect(h.vm.clock.nowNs() - before).toBeGreaterThanOrEqual(1_250_000_000n);
    h.vm.cpu.write64(ts + 8n, 1_000_000_000n);
    expect(h.sys('epoll_pwait2', ep, h.alloc(16), 1, ts, 0, 8)).toBe(err(E.EINVAL));
  });

  it('alone in its process, an endless wait with nothing ready is a deadlock', () => {
    const h = new Harness();
    const ep = h.epoll();
    h.wait(ep, 4, -1);
    expect(h.vm.exitStatus).toBe(124);
    expect(h.diagnostics[0]).toMatch(/^ringvisor: deadlock: the only thread waits forever in epoll_pwait/);
  });

  it('with another thread, it waits for I/O on its ecall, keeping its deadline; a change runs it again', () => {
    const h = new Harness({ clock: 'virtual' });
    const ep = h.epoll();
    const efd = Number(h.sys('eventfd2', 0, 0));
    h.ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN);
    // Go's clone flags: a second thread, not yet run.
    expect(h.sys('clone', 0x50f00n, h.vm.memory.stackTop - 0x10000n)).toBe(1001n);
    const t = h.vm.threads.current;
    const pc = h.vm.cpu.pc;
    const buf = h.alloc(16);
    h.sys('epoll_pwait', ep, buf, 1, 1000, 0, 8);
    expect(t.wait?.kind).toBe('io');
    const deadline = (t.wait as { deadline?: bigint }).deadline!;
    expect(h.vm.cpu.pc).toBe(pc - 4n);
    expect(h.vm.threads.restarting).toBe(true);
    // The other thread writes the eventfd: the call runs again, its deadline kept, and finds it.
    const epoch = h.vm.files.ioEvents.epoch;
    h.write(efd, 1n);
    expect(h.vm.files.ioEvents.epoch).not.toBe(epoch);
    t.wait = undefined; // what the scheduler does for an I/O wait once the epoch moves
    expect(h.vm.threads.deadlineAfter(5n)).toBe(deadline);
    expect(h.sys('epoll_pwait', ep, buf, 1, 1000, 0, 8)).toBe(1n);
    expect(h.vm.cpu.read64(buf + 8n)).toBe(BigInt(efd));
  });
});
