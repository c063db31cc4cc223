// The process, time and signal system calls (src/linux/sys/{process,time,signals}.ts)
// called directly, and the clocks behind them (src/hypervisor/clock.ts): what
// a differential guest cannot show because QEMU passes the host's values
// through (pid, uname, limits, CPUs) or because it depends on time (sleeping,
// futex timeouts, the virtual clock), plus signal delivery to a handler and
// back through rt_sigreturn on a program of a few instructions.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ProcessVM, ExitReason, MAX_HOST_BLOCK_MS } from '../src/index.js';
import { SYSCALLS } from '../src/linux/syscalls.js';
import { make, sys, scratch, hello } from './support/process.js';
import { hostClock, virtualClock, VIRTUAL_EPOCH_NS, timeCsr } from '../src/hypervisor/clock.js';
import { blockHost } from '../src/hypervisor/run-loop.js';
import { signalState, deliverFault, saveSignals, restoreSignals } from '../src/linux/sys/signals.js';
import { SEGV_MAPERR } from '../src/linux/signals.js';
import { saveProcess, restoreProcess } from '../src/linux/sys/process.js';
import { writeElf, PAYLOAD_ADDRESS } from './support/elf-writer.js';
import { addi, auipc, ld, sd, jalr, ecall, asm, X_ABI, ZERO, RA, T0, A0, A1, A2, A7, S1, S2 } from './support/rvasm.js';

const EPERM = -1n, ESRCH = -3n, EAGAIN = -11n, EFAULT = -14n, EINVAL = -22n, ENOSYS = -38n, ETIMEDOUT = -110n;
const NS = 1_000_000_000n;


const u64 = (p: ProcessVM, addr: bigint) => p.cpu.read64(addr);
const i64 = (p: ProcessVM, addr: bigint) => BigInt.asIntN(64, p.cpu.read64(addr));
function cString(p: ProcessVM, addr: bigint): string {
  return new TextDecoder().decode(p.cpu.readCString(addr, 65));
}
function putTimespec(p: ProcessVM, addr: bigint, ns: bigint): void {
  p.cpu.write64(addr, ns / NS);
  p.cpu.write64(addr + 8n, ns % NS);
}
const timespecAt = (p: ProcessVM, addr: bigint) => u64(p, addr) * NS + u64(p, addr + 8n);

describe('system call numbers (include/uapi/asm-generic/unistd.h, arch/riscv/include/uapi/asm/unistd.h)', () => {
  it('are the riscv64 ones', () => {
    const expected: Record<string, number> = {
      exit: 93, exit_group: 94, set_tid_address: 96, futex: 98, set_robust_list: 99, nanosleep: 101,
      clock_gettime: 113, clock_getres: 114, clock_nanosleep: 115, sched_setaffinity: 122, sched_getaffinity: 123,
      sched_yield: 124, kill: 129, tkill: 130, tgkill: 131, sigaltstack: 132, rt_sigaction: 134,
      rt_sigprocmask: 135, rt_sigpending: 136, rt_sigreturn: 139, times: 153, uname: 160, getrlimit: 163,
      setrlimit: 164, gettimeofday: 169, getpid: 172, getppid: 173, getuid: 174, geteuid: 175, getgid: 176,
      getegid: 177, gettid: 178, sysinfo: 179, riscv_hwprobe: 258, riscv_flush_icache: 259, prlimit64: 261,
      getrandom: 278, rseq: 293, getpgid: 155, getsid: 156, getrusage: 165, getcpu: 168,
      rt_sigsuspend: 133, rt_sigtimedwait: 137, waitid: 95, setpgid: 154, setsid: 157, getgroups: 158, wait4: 260,
    };
    for (const [name, nr] of Object.entries(expected)) expect(SYSCALLS.get(nr)?.name, name).toBe(name);
  });
});

describe('identity', () => {
  it('gives deterministic ids: one thread whose tid is the pid, user and group 0', () => {
    const { p } = make();
    const pid = sys(p, 'getpid');
    expect(sys(p, 'gettid')).toBe(pid);
    expect(sys(p, 'getppid')).toBeGreaterThan(0n);
    expect(sys(p, 'getppid')).not.toBe(pid);
    for (const n of ['getuid', 'geteuid', 'getgid', 'getegid']) expect(sys(p, n)).toBe(0n);
  });

  it('set_tid_address returns the tid and remembers the address; set_robust_list wants 24 bytes', () => {
    const { p } = make();
    expect(sys(p, 'set_tid_address', 0x1234n)).toBe(sys(p, 'gettid'));
    expect(p.threads.current.clearChildTid).toBe(0x1234n);
    expect(sys(p, 'set_robust_list', 0x5000n, 24n)).toBe(0n);
    expect(p.threads.current.robustList).toBe(0x5000n);
    expect(sys(p, 'set_robust_list', 0x5000n, 16n)).toBe(EINVAL);
    expect(sys(p, 'rseq', 0x6000n, 32n, 0n, 0n)).toBe(ENOSYS);
  });

  it('uname: Linux on riscv64, six NUL-terminated 65-byte fields', () => {
    const { p } = make();
    const buf = scratch(p);
    p.cpu.fill(buf, 390, 0xff);
    expect(sys(p, 'uname', buf)).toBe(0n);
    expect(cString(p, buf)).toBe('Linux');
    expect(cString(p, buf + 65n)).toBe('ringvisor');
    expect(cString(p, buf + 130n)).toMatch(/^\d+\.\d+\.\d+/);
    expect(cString(p, buf + 260n)).toBe('riscv64');
    expect(sys(p, 'uname', 8n)).toBe(EFAULT);
  });
});

describe('limits and system information', () => {
  it('prlimit64 reads the defaults: an 8 MiB stack, 1024 files', () => {
    const { p } = make();
    const old = scratch(p);
    expect(sys(p, 'prlimit64', 0n, 3n, 0n, old)).toBe(0n);
    expect(u64(p, old)).toBe(8n << 20n);
    expect(u64(p, old + 8n)).toBe((1n << 64n) - 1n);
    expect(sys(p, 'getrlimit', 7n, old)).toBe(0n);
    expect([u64(p, old), u64(p, old + 8n)]).toEqual([1024n, 1048576n]);
  });

  it('setrlimit and prlimit64 store what they are given, and check it', () => {
    const { p } = make();
    const lim = scratch(p), old = scratch(p, 16n);
    p.cpu.write64(lim, 100n);
    p.cpu.write64(lim + 8n, 200n);
    expect(sys(p, 'setrlimit', 7n, lim)).toBe(0n);
    expect(sys(p, 'prlimit64', BigInt(sys(p, 'getpid')), 7n, 0n, old)).toBe(0n);
    expect([u64(p, old), u64(p, old + 8n)]).toEqual([100n, 200n]);
    p.cpu.write64(lim, 300n);
    expect(sys(p, 'setrlimit', 7n, lim)).toBe(EINVAL); // soft above hard
    expect(sys(p, 'getrlimit', 16n, old)).toBe(EINVAL);
    expect(sys(p, 'prlimit64', 4242n, 7n, 0n, old)).toBe(ESRCH);
  });

  it('sysinfo reports the guest memory and one process', () => {
    const { p } = make();
    const buf = scratch(p);
    const used = p.cpu.memoryUsed; // (before the call writes its answer into a fresh page)
    expect(sys(p, 'sysinfo', buf)).toBe(0n);
    expect(u64(p, buf + 32n)).toBe(BigInt(p.cpu.memoryLimit) * 4096n); // totalram: the memory limit
    expect(u64(p, buf + 40n)).toBe(BigInt(p.cpu.memoryLimit - used) * 4096n); // freeram
    expect(p.cpu.read32(buf + 104n)).toBe(1); // mem_unit
    expect(p.cpu.read32(buf + 80n) & 0xffff).toBe(1); // procs
  });

  it('getrusage: CPU time and peak memory of the process, nothing for children', () => {
    const { p } = make({ clock: 'virtual' });
    const ru = scratch(p);
    expect(sys(p, 'getrusage', 0n, ru)).toBe(0n);
    expect(u64(p, ru + 32n)).toBeGreaterThan(0n); // ru_maxrss: the program is mapped
    expect(sys(p, 'getrusage', BigInt.asUintN(64, -1n), ru)).toBe(0n);
    expect(u64(p, ru + 32n)).toBe(0n);
    expect(sys(p, 'getrusage', 5n, ru)).toBe(EINVAL);
  });

  it('getcpu, getpgid and getsid: CPU 0, the process leads its group, in its parent\'s session', () => {
    const { p } = make();
    const c = scratch(p);
    p.cpu.write64(c, 0xffffffffffffffffn);
    expect(sys(p, 'getcpu', c, c + 4n, 0n)).toBe(0n);
    expect(u64(p, c)).toBe(0n);
    const pid = sys(p, 'getpid');
    expect(sys(p, 'getpgid', 0n)).toBe(pid);
    expect(sys(p, 'getsid', pid)).toBe(sys(p, 'getppid'));
    expect(sys(p, 'getpgid', 4242n)).toBe(ESRCH);
  });

  it('no children to wait for, no supplementary groups, already a group leader', () => {
    const { p } = make();
    expect(sys(p, 'wait4', BigInt.asUintN(64, -1n), 0n, 0n, 0n)).toBe(-10n); // ECHILD
    expect(sys(p, 'waitid', 0n, 0n, scratch(p), 4n)).toBe(-10n);
    expect(sys(p, 'getgroups', 0n, 0n)).toBe(0n);
    expect(sys(p, 'setpgid', 0n, 0n)).toBe(0n);
    expect(sys(p, 'setpgid', 0n, 5n)).toBe(EPERM);
    expect(sys(p, 'setsid')).toBe(EPERM);
  });

  it('sched_getaffinity: one CPU, the size of the mask as the result', () => {
    const { p } = make();
    const mask = scratch(p);
    p.cpu.write64(mask, 0xffn);
    expect(sys(p, 'sched_getaffinity', 0n, 128n, mask)).toBe(8n);
    expect(u64(p, mask)).toBe(1n);
    expect(sys(p, 'sched_getaffinity', 0n, 4n, mask)).toBe(EINVAL);
    expect(sys(p, 'sched_getaffinity', 77n, 8n, mask)).toBe(ESRCH);
    expect(sys(p, 'sched_yield')).toBe(0n);
  });
});

describe('RISC-V calls', () => {
  it('riscv_hwprobe answers for RV64GC with Zba, Zbb, Zbs and marks unknown keys -1', () => {
    const { p } = make();
    const pairs = scratch(p);
    const keys = [3n, 4n, 0n, 8n, 6n, 9999n];
    keys.forEach((k, i) => p.cpu.write64(pairs + BigInt(i) * 16n, k));
    expect(sys(p, 'riscv_hwprobe', pairs, BigInt(keys.length), 0n, 0n, 0n)).toBe(0n);
    const value = (i: number) => u64(p, pairs + BigInt(i) * 16n + 8n);
    const key = (i: number) => i64(p, pairs + BigInt(i) * 16n);
    expect(value(0)).toBe(1n); // BASE_BEHAVIOR_IMA
    expect(value(1)).toBe(0b111011n); // FD | C | ZBA | ZBB | ZBS, no V
    expect(value(2)).toBe(0n); // mvendorid
    expect(value(3)).toBe(10_000_000n); // time CSR frequency
    expect([key(4), value(4)]).toEqual([-1n, 0n]); // no Zicboz: unknown
    expect([key(5), value(5)]).toEqual([-1n, 0n]);
    expect(sys(p, 'riscv_hwprobe', pairs, 1n, 0n, 0n, 2n)).toBe(EINVAL);
  });

  it('riscv_flush_icache succeeds (the interpreter fetches what memory holds)', () => {
    const { p } = make();
    expect(sys(p, 'riscv_flush_icache', 0x10000n, 0x20000n, 0n)).toBe(0n);
    expect(sys(p, 'riscv_flush_icache', 0x10000n, 0x20000n, 1n)).toBe(0n);
    expect(sys(p, 'riscv_flush_icache', 0x10000n, 0x20000n, 2n)).toBe(EINVAL);
  });
});

describe('randomness', () => {
  it('getrandom fills from the source the embedder chose', () => {
    let calls = 0;
    const { p } = make({ random: (b) => { calls++; b.fill(0xab); } });
    const buf = p.memory.stackTop - 1024n * 1024n;
    expect(sys(p, 'getrandom', buf, 100000n, 0n)).toBe(100000n);
    expect(p.cpu.readBytes(buf, 100000).every((b) => b === 0xab)).toBe(true);
    expect(calls).toBeGreaterThan(2); // AT_RANDOM, then 64 KiB at a time
    expect(sys(p, 'getrandom', buf, 16n, 1n | 2n)).toBe(16n);
    expect(sys(p, 'getrandom', buf, 16n, 0x100n)).toBe(EINVAL);
    expect(sys(p, 'getrandom', 8n, 16n, 0n)).toBe(EFAULT);
    expect(sys(p, 'getrandom', buf, 0n, 0n)).toBe(0n);
  });
});

describe('clocks', () => {
  it('the virtual clock is a function of instructions retired and of sleeping alone', () => {
    let instret = 0n;
    const c = virtualClock(() => instret);
    expect(c.nowNs()).toBe(0n);
    expect(c.realtimeNs()).toBe(VIRTUAL_EPOCH_NS);
    instret = 1000n;
    expect(c.nowNs()).toBe(10_000n);
    c.skip(5n * NS);
    expect(c.nowNs()).toBe(5n * NS + 10_000n);
    expect(c.cpuNs()).toBe(10_000n);
    expect(c.realtimeNs()).toBe(VIRTUAL_EPOCH_NS + 5n * NS + 10_000n);
    expect(timeCsr(c)).toBe((5n * NS + 10_000n) / 100n);
  });

  it('the virtual clock saves and restores the time slept', () => {
    let instret = 500n;
    const a = virtualClock(() => instret);
    a.skip(3n * NS);
    const b = virtualClock(() => instret);
    b.restore(a.save());
    expect(b.nowNs()).toBe(a.nowNs());
    expect(() => hostClock().restore(a.save())).toThrow(/virtual clock/);
  });

  it('the host clock: monotonic, a wall clock near Date.now; only the host moves it', () => {
    const c = hostClock();
    const a = c.nowNs();
    expect(c.nowNs()).toBeGreaterThanOrEqual(a);
    const wall = Number(c.realtimeNs() / 1_000_000n);
    expect(Math.abs(wall - Date.now())).toBeLessThan(1000);
    // A guest cannot make the host's time jump (the run loop waits instead).
    c.skip(3_600n * NS);
    expect(c.nowNs() - a).toBeLessThan(NS);
    // What the host waited for the guest is time it did not run.
    c.slept(3_600n * NS);
    expect(c.cpuNs()).toBe(0n);
    // As uptime (a process VM's), or from a given time (a machine's `time` at power-on, or restored).
    expect(hostClock(0n, 'start').nowNs()).toBeLessThan(NS);
    expect(hostClock(7_000n * NS, 'start').nowNs()).toBeGreaterThanOrEqual(7_000n * NS);
    expect(hostClock(7_000n * NS).nowNs()).toBeGreaterThanOrEqual(7_000n * NS);
  });

  it('clock_gettime reads the VM\'s clock: deterministic with the virtual clock', () => {
    const { p } = make({ clock: 'virtual' });
    const ts = scratch(p);
    expect(sys(p, 'clock_gettime', 1n, ts)).toBe(0n); // MONOTONIC
    expect(timespecAt(p, ts)).toBe(0n);
    expect(sys(p, 'clock_gettime', 0n, ts)).toBe(0n); // REALTIME
    expect(timespecAt(p, ts)).toBe(VIRTUAL_EPOCH_NS);
    for (const id of [2n, 3n, 4n, 5n, 6n, 7n, 11n]) expect(sys(p, 'clock_gettime', id, ts), `clock ${id}`).toBe(0n);
    expect(sys(p, 'clock_gettime', 10n, ts)).toBe(EINVAL);
    expect(sys(p, 'clock_gettime', BigInt.asUintN(64, -6n), ts)).toBe(EINVAL); // another process's CPU clock
    expect(sys(p, 'clock_gettime', 1n, 16n)).toBe(EFAULT);
  });

  it('clock_getres: 1 ns, 4 ms for the coarse clocks; res may be NULL', () => {
    const { p } = make();
    const ts = scratch(p);
    expect(sys(p, 'clock_getres', 1n, ts)).toBe(0n);
    expect(timespecAt(p, ts)).toBe(1n);
    expect(sys(p, 'clock_getres', 6n, ts)).toBe(0n);
    expect(timespecAt(p, ts)).toBe(4_000_000n);
    expect(sys(p, 'clock_getres', 0n, 0n)).toBe(0n);
    expect(sys(p, 'clock_getres', 99n, ts)).toBe(EINVAL);
  });

  it('gettimeofday: the wall clock in microseconds, UTC', () => {
    const { p } = make();
    const tv = scratch(p), tz = scratch(p, 16n);
    p.cpu.write64(tz, 0xffffffffffffffffn);
    expect(sys(p, 'gettimeofday', tv, tz)).toBe(0n);
    expect(Math.abs(Number(u64(p, tv)) - Date.now() / 1000)).toBeLessThan(5);
    expect(u64(p, tv + 8n)).toBeLessThan(1_000_000n);
    expect(u64(p, tz)).toBe(0n);
    expect(sys(p, 'gettimeofday', 0n, 0n)).toBe(0n);
  });

  it('nanosleep advances the virtual clock without waiting', () => {
    const { p } = make({ clock: 'virtual' });
    const req = scratch(p), ts = scratch(p, 16n);
    putTimespec(p, req, 3600n * NS + 5n);
    const t0 = performance.now();
    expect(sys(p, 'nanosleep', req, 0n)).toBe(0n);
    expect(performance.now() - t0).toBeLessThan(100);
    sys(p, 'clock_gettime', 1n, ts);
    expect(timespecAt(p, ts)).toBe(3600n * NS + 5n);
    p.cpu.write64(req + 8n, NS); // tv_nsec out of range
    expect(sys(p, 'nanosleep', req, 0n)).toBe(EINVAL);
    p.cpu.write64(req, BigInt.asUintN(64, -1n));
    p.cpu.write64(req + 8n, 0n);
    expect(sys(p, 'nanosleep', req, 0n)).toBe(EINVAL);
  });

  it('nanosleep with the host clock waits: in the run loop, in pieces of at most MAX_HOST_BLOCK_MS', () => {
    const { p } = make({ clock: 'host' });
    const req = scratch(p);
    putTimespec(p, req, 25_000_000n);
    const t0 = performance.now();
    expect(sys(p, 'nanosleep', req, 0n)).toBe(0n);
    // The call has returned at once; the run loop waits before the guest goes on.
    expect(p.idleMilliseconds()).toBeGreaterThan(0);
    // The loop's way: wait what idleMilliseconds() says, look again. (How
    // many pieces it takes depends on how late the host wakes the thread;
    // that none is longer than MAX_HOST_BLOCK_MS does not.)
    const asked: number[] = [];
    while (p.stillIdle()) {
      asked.push(p.idleMilliseconds());
      blockHost(asked.at(-1)!);
    }
    expect(performance.now() - t0).toBeGreaterThanOrEqual(24);
    expect(asked.length).toBeGreaterThanOrEqual(1);
    for (const ms of asked) expect(ms).toBeLessThanOrEqual(MAX_HOST_BLOCK_MS);
  });

  it('clock_nanosleep: relative, absolute (TIMER_ABSTIME), and not on the thread CPU clock', () => {
    const { p } = make({ clock: 'virtual' });
    const req = scratch(p), ts = scratch(p, 16n);
    putTimespec(p, req, 2n * NS);
    expect(sys(p, 'clock_nanosleep', 1n, 0n, req, 0n)).toBe(0n);
    putTimespec(p, req, 10n * NS);
    expect(sys(p, 'clock_nanosleep', 1n, 1n, req, 0n)).toBe(0n);
    sys(p, 'clock_gettime', 1n, ts);
    expect(timespecAt(p, ts)).toBe(10n * NS);
    putTimespec(p, req, 1n * NS); // already past: returns at once
    expect(sys(p, 'clock_nanosleep', 1n, 1n, req, 0n)).toBe(0n);
    sys(p, 'clock_gettime', 1n, ts);
    expect(timespecAt(p, ts)).toBe(10n * NS);
    putTimespec(p, req, VIRTUAL_EPOCH_NS + 20n * NS);
    expect(sys(p, 'clock_nanosleep', 0n, 1n, req, 0n)).toBe(0n);
    sys(p, 'clock_gettime', 0n, ts);
    expect(timespecAt(p, ts)).toBe(VIRTUAL_EPOCH_NS + 20n * NS);
    expect(sys(p, 'clock_nanosleep', 3n, 0n, req, 0n)).toBe(EINVAL);
  });

  it('times counts CPU time and uptime in 1/100 s', () => {
    const { p } = make({ clock: 'virtual' });
    const req = scratch(p), buf = scratch(p, 16n);
    putTimespec(p, req, 3n * NS);
    sys(p, 'nanosleep', req, 0n);
    expect(sys(p, 'times', buf)).toBe(300n);
    expect(u64(p, buf)).toBe(0n); // no instructions run yet
    expect(sys(p, 'times', 0n)).toBe(300n);
  });
});

describe('futex with one thread', () => {
  it('FUTEX_WAIT on a changed value is EAGAIN; FUTEX_WAKE wakes nobody', () => {
    const { p } = make();
    const f = scratch(p);
    p.cpu.write64(f, 5n);
    expect(sys(p, 'futex', f, 0n, 4n, 0n)).toBe(EAGAIN);
    expect(sys(p, 'futex', f, 128n | 0n, 4n, 0n)).toBe(EAGAIN); // FUTEX_PRIVATE_FLAG
    expect(sys(p, 'futex', f, 1n, 1n)).toBe(0n);
    expect(sys(p, 'futex', f, 129n, 0x7fffffffn)).toBe(0n);
    expect(sys(p, 'futex', f + 1n, 0n, 5n, 0n)).toBe(EINVAL); // misaligned
    expect(sys(p, 'futex', 16n, 0n, 5n, 0n)).toBe(EFAULT);
    expect(sys(p, 'futex', f, 4n, 1n, 0n, f, 5n)).toBe(0n); // CMP_REQUEUE, value matches
    expect(sys(p, 'futex', f, 4n, 1n, 0n, f, 6n)).toBe(EAGAIN);
    expect(sys(p, 'futex', f, 6n, 0n)).toBe(ENOSYS); // FUTEX_LOCK_PI
  });

  it('FUTEX_WAIT with a timeout lets the time pass and times out', () => {
    const { p } = make({ clock: 'virtual' });
    const f = scratch(p), t = scratch(p, 16n), ts = scratch(p, 32n);
    p.cpu.write64(f, 5n);
    putTimespec(p, t, 7n * NS);
    expect(sys(p, 'futex', f, 0n, 5n, t)).toBe(ETIMEDOUT);
    sys(p, 'clock_gettime', 1n, ts);
    expect(timespecAt(p, ts)).toBe(7n * NS);
    // FUTEX_WAIT_BITSET: absolute on CLOCK_MONOTONIC.
    putTimespec(p, t, 9n * NS);
    expect(sys(p, 'futex', f, 9n, 5n, t, 0n, 0xffffffffn)).toBe(ETIMEDOUT);
    sys(p, 'clock_gettime', 1n, ts);
    expect(timespecAt(p, ts)).toBe(9n * NS);
    expect(sys(p, 'futex', f, 9n, 5n, t, 0n, 0n)).toBe(EINVAL); // empty bitset
  });

  it('FUTEX_WAIT forever with no other thread is a deadlock: a message and status 124', () => {
    const { p, diagnostics } = make();
    const f = scratch(p);
    p.cpu.write64(f, 5n);
    sys(p, 'futex', f, 128n, 5n, 0n);
    expect(diagnostics.join('\n')).toMatch(/deadlock/);
    // The VM ends at its next exit check; exit() was called with 124.
    expect((p as unknown as { exitStatus: number }).exitStatus).toBe(124);
  });
});

describe('signal bookkeeping', () => {
  it('rt_sigaction stores the kernel struct (handler, flags, mask) and returns the old one', () => {
    const { p } = make();
    const act = scratch(p), old = scratch(p, 32n);
    p.cpu.write64(act, 0x12345n);
    p.cpu.write64(act + 8n, 0x4n); // SA_SIGINFO
    p.cpu.write64(act + 16n, (1n << 8n) | (1n << 1n) | (1n << 18n)); // SIGKILL's and SIGSTOP's bits are dropped
    expect(sys(p, 'rt_sigaction', 10n, act, old, 8n)).toBe(0n);
    expect([u64(p, old), u64(p, old + 8n), u64(p, old + 16n)]).toEqual([0n, 0n, 0n]);
    expect(sys(p, 'rt_sigaction', 10n, 0n, old, 8n)).toBe(0n);
    expect([u64(p, old), u64(p, old + 8n), u64(p, old + 16n)]).toEqual([0x12345n, 0x4n, 1n << 1n]);
    expect(sys(p, 'rt_sigaction', 9n, act, 0n, 8n)).toBe(EINVAL);
    expect(sys(p, 'rt_sigaction', 19n, act, 0n, 8n)).toBe(EINVAL);
    expect(sys(p, 'rt_sigaction', 9n, 0n, old, 8n)).toBe(0n); // reading SIGKILL's is fine
    expect(sys(p, 'rt_sigaction', 65n, 0n, old, 8n)).toBe(EINVAL);
    expect(sys(p, 'rt_sigaction', 10n, act, 0n, 16n)).toBe(EINVAL);
    expect(sys(p, 'rt_sigaction', 10n, 8n, 0n, 8n)).toBe(EFAULT);
  });

  it('rt_sigprocmask blocks, unblocks and sets, never SIGKILL or SIGSTOP', () => {
    const { p } = make();
    const set = scratch(p), old = scratch(p, 8n);
    p.cpu.write64(set, 0b1010n | (1n << 8n) | (1n << 18n));
    expect(sys(p, 'rt_sigprocmask', 0n, set, old, 8n)).toBe(0n);
    expect(u64(p, old)).toBe(0n);
    expect(signalState(p).mask).toBe(0b1010n);
    p.cpu.write64(set, 0b10n);
    expect(sys(p, 'rt_sigprocmask', 1n, set, old, 8n)).toBe(0n);
    expect(u64(p, old)).toBe(0b1010n);
    expect(signalState(p).mask).toBe(0b1000n);
    p.cpu.write64(set, 0b110000n);
    expect(sys(p, 'rt_sigprocmask', 2n, set, 0n, 8n)).toBe(0n);
    expect(signalState(p).mask).toBe(0b110000n);
    expect(sys(p, 'rt_sigprocmask', 7n, set, 0n, 8n)).toBe(EINVAL);
    expect(sys(p, 'rt_sigprocmask', 0n, set, 0n, 4n)).toBe(EINVAL);
  });

  it('sigaltstack: disabled at first, then the one set; too small is ENOMEM', () => {
    const { p } = make();
    const ss = scratch(p), old = scratch(p, 32n);
    expect(sys(p, 'sigaltstack', 0n, old)).toBe(0n);
    expect(p.cpu.read32(old + 8n)).toBe(2); // SS_DISABLE
    p.cpu.write64(ss, 0x40000n);
    p.cpu.write64(ss + 8n, 0n);
    p.cpu.write64(ss + 16n, 16384n);
    expect(sys(p, 'sigaltstack', ss, 0n)).toBe(0n);
    expect(sys(p, 'sigaltstack', 0n, old)).toBe(0n);
    expect([u64(p, old), p.cpu.read32(old + 8n), u64(p, old + 16n)]).toEqual([0x40000n, 0, 16384n]);
    p.cpu.write64(ss + 16n, 100n);
    expect(sys(p, 'sigaltstack', ss, 0n)).toBe(-12n);
  });

  it('kill to self: the default action ends the process with 128 + signal and QEMU\'s wording', () => {
    const { p, diagnostics } = make();
    const pid = sys(p, 'getpid');
    expect(sys(p, 'kill', pid, 0n)).toBe(0n);
    expect(sys(p, 'kill', 4242n, 15n)).toBe(ESRCH);
    expect(sys(p, 'kill', BigInt.asUintN(64, -1n), 15n)).toBe(ESRCH); // everyone but us: nobody
    expect(sys(p, 'tgkill', pid, 4242n, 15n)).toBe(ESRCH);
    expect(sys(p, 'tkill', 0n, 15n)).toBe(EINVAL);
    expect(sys(p, 'kill', pid, 65n)).toBe(EINVAL);
    expect(sys(p, 'kill', pid, 17n)).toBe(0n); // SIGCHLD: ignored by default
    expect(diagnostics).toEqual([]);
    sys(p, 'tgkill', pid, pid, 6n);
    expect(diagnostics).toEqual(['ringvisor: uncaught target signal 6 (Aborted) - core dumped']);
    expect((p as unknown as { exitStatus: number }).exitStatus).toBe(134);
  });

  it('a terminating signal ends the process with no core', () => {
    const { p, diagnostics } = make();
    sys(p, 'kill', 0n, 15n);
    expect(diagnostics).toEqual(['ringvisor: uncaught target signal 15 (Terminated) - no core']);
    expect((p as unknown as { exitStatus: number }).exitStatus).toBe(143);
  });

  it('an ignored signal is ignored; a blocked one stays pending until unblocked', () => {
    const { p, diagnostics } = make();
    const act = scratch(p), set = scratch(p, 32n);
    p.cpu.write64(act, 1n); // SIG_IGN
    sys(p, 'rt_sigaction', 15n, act, 0n, 8n);
    expect(sys(p, 'kill', 0n, 15n)).toBe(0n);
    expect(diagnostics).toEqual([]);
    p.cpu.write64(set, 1n << 9n); // SIGUSR1
    sys(p, 'rt_sigprocmask', 0n, set, 0n, 8n);
    expect(sys(p, 'kill', 0n, 10n)).toBe(0n);
    expect(sys(p, 'rt_sigpending', set, 8n)).toBe(0n);
    expect(u64(p, set)).toBe(1n << 9n);
    expect(diagnostics).toEqual([]);
    p.cpu.write64(set, 1n << 9n);
    sys(p, 'rt_sigprocmask', 1n, set, 0n, 8n);
    expect(diagnostics).toEqual(['ringvisor: uncaught target signal 10 (User defined signal 1) - no core']);
    expect((p as unknown as { exitStatus: number }).exitStatus).toBe(138);
  });
});

describe('waiting for signals', () => {
  it('rt_sigsuspend runs the handler of a pending signal it unblocks; the frame restores the old mask and -EINTR', () => {
    const { p } = make();
    const act = scratch(p), set = scratch(p, 32n);
    p.cpu.write64(act, 0x10000n);
    sys(p, 'rt_sigaction', 10n, act, 0n, 8n);
    p.cpu.write64(set, 1n << 9n);
    sys(p, 'rt_sigprocmask', 0n, set, 0n, 8n);
    sys(p, 'kill', 0n, 10n);
    p.cpu.write64(set, 0n);
    expect(sys(p, 'rt_sigsuspend', set, 8n)).toBe(10n); // a0 = the signal, for the handler
    expect(p.cpu.pc).toBe(0x10000n);
    expect(signalState(p).mask).toBe(1n << 9n); // SIGUSR1 blocked while its handler runs
    expect(sys(p, 'rt_sigreturn')).toBe(-4n); // EINTR
    expect(signalState(p).mask).toBe(1n << 9n); // the mask from before rt_sigsuspend
  });

  it('rt_sigsuspend with nothing to wait for is a deadlock', () => {
    const { p, diagnostics } = make();
    const set = scratch(p);
    p.cpu.write64(set, 0n);
    sys(p, 'rt_sigsuspend', set, 8n);
    expect(diagnostics.join('\n')).toMatch(/deadlock.*rt_sigsuspend/);
    expect((p as unknown as { exitStatus: number }).exitStatus).toBe(124);
  });

  it('rt_sigtimedwait takes a pending signal, or waits out its timeout', () => {
    const { p } = make({ clock: 'virtual' });
    const set = scratch(p), info = scratch(p, 64n), t = scratch(p, 32n), ts = scratch(p, 48n);
    p.cpu.write64(set, 1n << 11n); // SIGUSR2
    sys(p, 'rt_sigprocmask', 0n, set, 0n, 8n);
    sys(p, 'kill', 0n, 12n);
    expect(sys(p, 'rt_sigtimedwait', set, info, 0n, 8n)).toBe(12n);
    expect(p.cpu.read32(info)).toBe(12);
    expect(signalState(p).pending).toBe(0n);
    putTimespec(p, t, 2n * NS);
    expect(sys(p, 'rt_sigtimedwait', set, info, t, 8n)).toBe(EAGAIN);
    sys(p, 'clock_gettime', 1n, ts);
    expect(timespecAt(p, ts)).toBe(2n * NS);
  });
});

describe('signal delivery', () => {
  // A program that sends itself SIGUSR1 with s1 = 7 and exits with s1: the
  // handler sets s1 = 99 and stores its a0, a1 and a2, then returns through
  // the trampoline; rt_sigreturn must restore s1 (exit 7) and kill's result 0.
  const code = [
    addi(A7, ZERO, 129), // 0: kill
    addi(A0, ZERO, 0), // 4: pid 0: this process
    addi(A1, ZERO, 10), // 8: SIGUSR1
    addi(S1, ZERO, 7), // 12
    ecall(), // 16
    addi(S2, A0, 0), // 20: kill's result
    addi(A7, ZERO, 93), // 24: exit
    addi(A0, S1, 0), // 28
    ecall(), // 32
    // 36: the handler
    addi(S1, ZERO, 99),
    auipc(T0, 0), // 40
    sd(A0, T0, 64), // 44: at 104
    sd(A1, T0, 72), // 48: at 112
    sd(A2, T0, 80), // 52: at 120
    jalr(ZERO, RA, 0), // 56
  ];
  const payload = new Uint8Array(new Uint32Array(code).buffer);
  const elf = writeElf(payload, 256);
  const HANDLER = PAYLOAD_ADDRESS + 36n;
  const SAVED = PAYLOAD_ADDRESS + 104n;

  function install(p: ProcessVM, flags = 0n): void {
    const act = scratch(p);
    p.cpu.write64(act, HANDLER);
    p.cpu.write64(act + 8n, flags);
    p.cpu.write64(act + 16n, 0n);
    expect(sys(p, 'rt_sigaction', 10n, act, 0n, 8n)).toBe(0n);
  }

  it('enters the handler on a Linux riscv64 frame and rt_sigreturn restores the state', () => {
    const { p, diagnostics } = make({}, elf);
    install(p, 0x4n);
    const status = p.runSync();
    expect(diagnostics).toEqual([]);
    expect(status).toBe(7);
    expect(p.cpu.x(S2)).toBe(0n);
    expect(u64(p, SAVED)).toBe(10n);
    const info = u64(p, SAVED + 8n), uc = u64(p, SAVED + 16n);
    expect(uc - info).toBe(128n); // siginfo, then the ucontext
    expect(p.cpu.read32(info)).toBe(10); // si_signo
    expect(p.cpu.read32(info + 8n)).toBe(0); // si_code SI_USER (kill)
    // uc_mcontext at 176: the pc after the ecall, s1 (x9) = 7.
    expect(u64(p, uc + 176n)).toBe(PAYLOAD_ADDRESS + 20n);
    expect(u64(p, uc + 176n + 9n * 8n)).toBe(7n);
    expect(signalState(p).mask).toBe(0n); // the handler's mask was undone
    expect(signalState(p).depth).toBe(0);
  });

  it('SA_ONSTACK puts the frame on the alternate stack', () => {
    const { p } = make({}, elf);
    install(p, 0x08000000n);
    const ss = scratch(p), alt = p.memory.stackTop - (2n << 20n);
    p.cpu.write64(ss, alt);
    p.cpu.write64(ss + 8n, 0n);
    p.cpu.write64(ss + 16n, 65536n);
    expect(sys(p, 'sigaltstack', ss, 0n)).toBe(0n);
    expect(p.runSync()).toBe(7);
    const info = u64(p, SAVED + 8n);
    expect(info).toBeGreaterThanOrEqual(alt);
    expect(info).toBeLessThan(alt + 65536n);
    expect(info % 16n).toBe(0n);
  });

  it('SA_RESETHAND restores the default action after one delivery', () => {
    const { p } = make({}, elf);
    install(p, 0x80000000n);
    expect(p.runSync()).toBe(7);
    expect(signalState(p).actions[10].handler).toBe(0n);
  });

  it('a handler on a frame that cannot be written is a SIGSEGV', () => {
    const { p, diagnostics } = make({}, elf);
    install(p);
    p.cpu.setX(2, p.memory.brk + 0x100000n); // sp in unmapped memory
    expect(p.runSync()).toBe(139);
    expect(diagnostics[0]).toMatch(/uncaught target signal 11/);
  });

  it('rt_sigreturn with no frame is a SIGSEGV, not a host crash', () => {
    const { p, diagnostics } = make();
    p.cpu.setX(2, 8n);
    sys(p, 'rt_sigreturn');
    expect(diagnostics[0]).toMatch(/uncaught target signal 11/);
  });

  it('deliverFault: a SIGSEGV handler sees the faulting pc in its ucontext and can resume past it', () => {
    // s1 = 7; a load from address 0 faults; the handler moves the saved pc
    // past the load and puts its a0 (the signal) into the saved s1; the
    // program exits with s1.
    const faulting = [
      addi(S1, ZERO, 7), // 0
      ld(A0, ZERO, 0), // 4: faults
      addi(A7, ZERO, 93), // 8
      addi(A0, S1, 0), // 12
      ecall(), // 16
      ld(T0, A2, 176), // 20: the handler: the saved pc (uc_mcontext.__gregs[0])
      addi(T0, T0, 4), // 24
      sd(T0, A2, 176), // 28
      sd(A0, A2, 176 + 9 * 8), // 32: saved s1 = the signal number
      jalr(ZERO, RA, 0), // 36
    ];
    const { p, diagnostics } = make({}, writeElf(new Uint8Array(new Uint32Array(faulting).buffer)));
    const act = scratch(p);
    p.cpu.write64(act, PAYLOAD_ADDRESS + 20n);
    p.cpu.write64(act + 8n, 0x4n);
    p.cpu.write64(act + 16n, 0n);
    sys(p, 'rt_sigaction', 11n, act, 0n, 8n);
    // The run loop as ProcessVM would drive it once its fault path asks deliverFault first.
    const vm = p as unknown as { syscall(): void; exitStatus: number | undefined };
    let faults = 0;
    for (let guard = 0; guard < 100 && vm.exitStatus === undefined; guard++) {
      const reason = p.cpu.run(1000n);
      // (Demand paging first, as ProcessVM's fault path does: the program's
      // code reaches RAM as it is first fetched.)
      if (reason === ExitReason.Fault && p.memory.space.faultIn(p.cpu.exit.addr)) continue;
      if (reason === ExitReason.Fault) {
        faults++;
        expect(p.cpu.exit.pc).toBe(PAYLOAD_ADDRESS + 4n);
        expect(deliverFault(p, 11, SEGV_MAPERR, p.cpu.exit.addr)).toBe(true);
      } else if (reason === ExitReason.EcallU) {
        vm.syscall();
      }
    }
    expect(faults).toBe(1);
    expect(vm.exitStatus).toBe(11);
    expect(diagnostics).toEqual([]);
  });

  it('deliverFault leaves the default action to the caller when there is no handler or it is blocked', () => {
    const { p } = make();
    expect(deliverFault(p, 11, SEGV_MAPERR, 0n)).toBe(false);
    const act = scratch(p), set = scratch(p, 32n);
    p.cpu.write64(act, 0x10000n);
    sys(p, 'rt_sigaction', 11n, act, 0n, 8n);
    p.cpu.write64(set, 1n << 10n);
    sys(p, 'rt_sigprocmask', 0n, set, 0n, 8n);
    expect(deliverFault(p, 11, SEGV_MAPERR, 0n)).toBe(false);
  });
});

describe('a glibc program on the virtual clock', () => {
  // guests/libc/libc-misc.c sleeps, reads every clock and asks for random
  // bytes; on the virtual clock with a fixed random source two runs are the
  // same to the instruction, and the output still equals QEMU's.
  const elf = new Uint8Array(readFileSync(new URL('../guests/bin/libc-misc.elf', import.meta.url)));
  const golden = readFileSync(new URL('../guests/golden/libc-misc.stdout', import.meta.url), 'latin1');

  function run(): { status: number; stdout: string; instret: bigint } {
    const out: Buffer[] = [];
    const p = ProcessVM.create(elf, {
      argv: ['guests/bin/libc-misc.elf', 'a', 'b c', ''],
      env: ['RINGVISOR_TEST=hello', 'X=1'],
      clock: 'virtual',
      random: (b) => b.fill(0x5a),
      stdout: (d) => out.push(Buffer.from(d)),
      stderr: () => {},
    });
    const status = p.runSync();
    return { status, stdout: Buffer.concat(out).toString('latin1'), instret: p.cpu.instret };
  }

  it('prints what QEMU printed, and runs identically twice', () => {
    const t0 = performance.now();
    const a = run();
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(a.status).toBe(0);
    expect(a.stdout).toBe(golden);
    const b = run();
    expect(b).toEqual(a);
  });
});

describe('checkpoint records', () => {
  it('signal and process state survive a save and a restore into another VM', () => {
    const { p } = make();
    const act = scratch(p), set = scratch(p, 32n), lim = scratch(p, 64n);
    p.cpu.write64(act, 0x10000n);
    p.cpu.write64(act + 8n, 0x4n);
    sys(p, 'rt_sigaction', 10n, act, 0n, 8n);
    p.cpu.write64(set, 1n << 11n);
    sys(p, 'rt_sigprocmask', 0n, set, 0n, 8n);
    sys(p, 'kill', 0n, 12n);
    sys(p, 'set_tid_address', 0x4444n);
    p.cpu.write64(lim, 10n);
    p.cpu.write64(lim + 8n, 20n);
    sys(p, 'setrlimit', 7n, lim);

    const signals = JSON.parse(JSON.stringify(saveSignals(p), (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      (_k, v) => (typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v));
    const proc = saveProcess(p);
    const { p: q } = make();
    restoreSignals(q, signals);
    restoreProcess(q, proc);
    expect(saveSignals(q)).toEqual(saveSignals(p));
    expect(saveProcess(q)).toEqual(saveProcess(p));
    // kill() left SIGUSR2 pending with the sender's si_code (SI_USER).
    expect(saveSignals(q).pendingInfo).toEqual({ 12: { code: 0, pid: 1000 } });
    expect(() => restoreSignals(q, { ...signals, version: 3 })).toThrow(/version/);
  });
});

// A process VM's `time` CSR is not stored before each run (ExitControl.Time):
// a read of it exits, and ring -1 answers with the VM's clock of the moment.
describe('rdtime in a process VM', () => {
  const rdtime = (rd: number) => asm(`csrrs ${X_ABI[rd]}, time, zero`);
  // rdtime s1; nanosleep({0, 20 ms}); rdtime s2; exit(0). Its timespec is
  // the zeroed memory after the 64 bytes of code.
  const code = [
    rdtime(S1), // 0
    auipc(A0, 0), // 4
    addi(A0, A0, 60), // 8: the timespec
    sd(ZERO, A0, 0), // 12
    asm('lui t0, 0x1313'), // 16
    addi(T0, T0, -0x300), // 20: 20,000,000 ns
    sd(T0, A0, 8), // 24
    addi(A1, ZERO, 0), // 28
    addi(A7, ZERO, 101), // 32: nanosleep
    ecall(), // 36
    rdtime(S2), // 40
    addi(A0, ZERO, 0), // 44
    addi(A7, ZERO, 93), // 48: exit
    ecall(), // 52
    addi(ZERO, ZERO, 0), addi(ZERO, ZERO, 0), // 56, 60
  ];
  const elf = writeElf(new Uint8Array(new Uint32Array(code).buffer), 16);

  it('reads the host clock when it runs: 20 ms of sleep between two reads show', async () => {
    const { p, diagnostics } = make({}, elf);
    expect(await p.run()).toBe(0);
    expect(diagnostics).toEqual([]);
    const before = p.cpu.x(S1), after = p.cpu.x(S2);
    expect(before).toBeGreaterThan(0n);
    // 10 MHz: 20 ms is 200,000 ticks; the clock read after the run is later still.
    expect(after - before).toBeGreaterThanOrEqual(200_000n);
    expect(timeCsr(p.clock)).toBeGreaterThanOrEqual(after);
    expect(p.cpu.exitCounts().get(ExitReason.Csr)).toBe(2n);
  });

  it('reads the virtual clock as the instructions retired say, the same every run', () => {
    const runs = [0, 1].map(() => {
      const { p } = make({ clock: 'virtual' }, elf);
      expect(p.runSync()).toBe(0);
      return [p.cpu.x(S1), p.cpu.x(S2)];
    });
    expect(runs[1]).toEqual(runs[0]);
    // The sleep moves the virtual clock on by its 20 ms.
    expect(runs[0][1] - runs[0][0]).toBeGreaterThanOrEqual(200_000n);
  });
});
