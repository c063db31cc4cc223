// Threads of the process VM (src/linux/threads.ts, src/linux/sys/threads.ts):
// clone and clone3 called directly, futex queues between threads, thread
// exit against exit_group, signals between threads, the scheduler's waits,
// deadlines and deadlocks. The whole-program behaviour (pthreads, C++
// threads) is compared with QEMU in guests/manifest-threads.json; this file
// covers what such a program cannot pin down: exact results of each call,
// the order of wakes, and the scheduler's decisions.
import { describe, expect, it } from 'vitest';
import type { ProcessVM } from '../src/index.js';
import { make, sys, scratch } from './support/process.js';
import { signalState } from '../src/linux/sys/signals.js';
import { CONTEXT_X, CONTEXT_PC } from '../src/cpu/cpu.js';
import type { Thread } from '../src/linux/threads.js';

const EPERM = -1n, EAGAIN = -11n, E2BIG = -7n, EINTR = -4n, EINVAL = -22n, ENOSYS = -38n, ETIMEDOUT = -110n;
const NS = 1_000_000_000n;

/** glibc's pthread_create flags (sysdeps/unix/sysv/linux/createthread.c). */
const PTHREAD_FLAGS = 0x100n | 0x200n | 0x400n | 0x800n | 0x10000n | 0x40000n | 0x80000n | 0x100000n | 0x200000n;
/** Go's runtime (runtime/os_linux.go cloneFlags). */
const GO_FLAGS = 0x100n | 0x200n | 0x400n | 0x800n | 0x40000n | 0x10000n;


const reg = (t: Thread, r: number) => new DataView(t.context!.buffer).getBigUint64(CONTEXT_X(r), true);
const pcOf = (t: Thread) => new DataView(t.context!.buffer).getBigUint64(CONTEXT_PC, true);

/** A thread with glibc's flags: returns its tid. */
function spawn(p: ProcessVM, stack = scratch(p, 0x8000n)): number {
  return Number(sys(p, 'clone', PTHREAD_FLAGS, stack, scratch(p, 0x100n), 0x7000n, scratch(p, 0x104n)));
}

/** Puts `t` on the CPU the way the run loop would after the current thread blocked. */
function switchTo(p: ProcessVM, t: Thread): void {
  while (p.threads.current !== t) {
    p.threads.yield();
    p.threads.schedule();
  }
}

describe('clone', () => {
  it('with pthread_create\'s flags makes a thread: its tid written for both, a0 = 0, its own sp and tp, the same pc', () => {
    const { p } = make();
    p.cpu.setX(4, 0x1111n);
    const tid = spawn(p, scratch(p, 0x8000n));
    expect(tid).toBe(1001);
    expect(p.threads.count).toBe(2);
    expect(p.cpu.read32(scratch(p, 0x100n))).toBe(1001); // CLONE_PARENT_SETTID
    const t = p.threads.find(tid)!;
    expect(reg(t, 10)).toBe(0n);
    expect(reg(t, 2)).toBe(scratch(p, 0x8000n));
    expect(reg(t, 4)).toBe(0x7000n); // CLONE_SETTLS
    expect(pcOf(t)).toBe(p.cpu.pc);
    expect(t.clearChildTid).toBe(scratch(p, 0x104n)); // CLONE_CHILD_CLEARTID
    expect(p.cpu.x(4)).toBe(0x1111n); // the parent keeps its tp
    expect(spawn(p)).toBe(1002);
  });

  it('takes Go\'s flags (no TLS, no tid words)', () => {
    const { p } = make();
    expect(sys(p, 'clone', GO_FLAGS, scratch(p, 0x8000n))).toBe(1001n);
  });

  it('the new thread inherits the signal mask, but not the alternate stack or pending signals', () => {
    const { p } = make();
    const s = signalState(p);
    s.mask = 1n << 9n;
    s.pending = 1n << 9n;
    s.altStack = { sp: 0x5000n, size: 8192n, disabled: false };
    const t = p.threads.find(spawn(p))!;
    expect(t.signals).toEqual({ mask: 1n << 9n, pending: 0n, pendingInfo: {}, altStack: { sp: 0n, size: 0n, disabled: true }, depth: 0 });
  });

  it('refuses what Linux refuses and what this VM cannot do', () => {
    const { p } = make();
    const sp = scratch(p, 0x8000n);
    // (fork and vfork make processes: test/processes.test.ts.)
    expect(sys(p, 'clone', 0x100n | 17n /* a process sharing memory without VFORK */, sp)).toBe(ENOSYS);
    expect(sys(p, 'clone', 0x400n | 17n /* a process sharing descriptors */, sp)).toBe(ENOSYS);
    expect(sys(p, 'clone', 0x100n | 0x10000n /* THREAD without SIGHAND */, sp)).toBe(EINVAL);
    expect(sys(p, 'clone', 0x800n /* SIGHAND without VM */, sp)).toBe(EINVAL);
    expect(sys(p, 'clone', GO_FLAGS | 0x20000000n /* CLONE_NEWUSER */, sp)).toBe(EPERM);
    expect(sys(p, 'clone', GO_FLAGS | 0x1000n /* PIDFD with THREAD */, sp)).toBe(EINVAL);
    expect(sys(p, 'clone', GO_FLAGS & ~0x400n /* no CLONE_FILES */, sp)).toBe(ENOSYS);
    expect(p.threads.count).toBe(1);
  });

  it('counts threads against RLIMIT_NPROC: EAGAIN past the soft limit', () => {
    const { p } = make();
    const lim = scratch(p, 0x300n);
    p.cpu.write64(lim, 3n);
    p.cpu.write64(lim + 8n, 4096n);
    expect(sys(p, 'prlimit64', 0n, 6n /* RLIMIT_NPROC */, lim, 0n)).toBe(0n);
    expect(spawn(p)).toBe(1001);
    expect(spawn(p)).toBe(1002);
    expect(spawn(p)).toBe(Number(EAGAIN));
  });

  it('clone3 reads struct clone_args: sp = stack + stack_size; unknown non-zero fields are E2BIG', () => {
    const { p } = make();
    const args = scratch(p, 0x200n);
    p.cpu.fill(args, 96, 0);
    p.cpu.write64(args, PTHREAD_FLAGS);
    p.cpu.write64(args + 16n, scratch(p, 0x104n)); // child_tid
    p.cpu.write64(args + 24n, scratch(p, 0x100n)); // parent_tid
    p.cpu.write64(args + 40n, scratch(p, 0x4000n)); // stack
    p.cpu.write64(args + 48n, 0x4000n); // stack_size
    p.cpu.write64(args + 56n, 0x7000n); // tls
    expect(sys(p, 'clone3', args, 63n)).toBe(EINVAL);
    const tid = sys(p, 'clone3', args, 88n);
    expect(tid).toBe(1001n);
    const t = p.threads.find(1001)!;
    expect(reg(t, 2)).toBe(scratch(p, 0x8000n));
    expect(reg(t, 4)).toBe(0x7000n);
    expect(p.cpu.read32(scratch(p, 0x100n))).toBe(1001);
    p.cpu.write64(args + 88n, 1n);
    expect(sys(p, 'clone3', args, 96n)).toBe(E2BIG);
    p.cpu.write64(args + 88n, 0n);
    p.cpu.write64(args + 72n, 1n); // set_tid_size
    expect(sys(p, 'clone3', args, 96n)).toBe(EPERM);
    p.cpu.write64(args + 72n, 0n);
    p.cpu.write64(args + 48n, 0n); // a stack without a size
    expect(sys(p, 'clone3', args, 64n)).toBe(EINVAL);
  });
});

describe('identity of threads', () => {
  it('gettid and set_tid_address answer for the thread on the CPU; getpid for all', () => {
    const { p } = make();
    const t = p.threads.find(spawn(p))!;
    expect(sys(p, 'gettid')).toBe(1000n);
    switchTo(p, t);
    expect(sys(p, 'gettid')).toBe(1001n);
    expect(sys(p, 'getpid')).toBe(1000n);
    expect(sys(p, 'set_tid_address', 0x1234n)).toBe(1001n);
    expect(t.clearChildTid).toBe(0x1234n);
  });
});

describe('futex between threads', () => {
  // Two threads wait on one word; the third (main) wakes them.
  function waiters(): { p: ProcessVM; f: bigint; a: Thread; b: Thread } {
    const { p } = make();
    const f = scratch(p);
    p.cpu.write64(f, 0n);
    const a = p.threads.find(spawn(p))!;
    const b = p.threads.find(spawn(p))!;
    for (const t of [a, b]) {
      switchTo(p, t);
      sys(p, 'futex', f, 128n /* WAIT | PRIVATE */, 0n, 0n);
      expect(t.wait?.kind).toBe('futex');
    }
    switchTo(p, p.threads.find(1000)!);
    return { p, f, a, b };
  }

  it('FUTEX_WAKE wakes waiters first come, first served, and says how many', () => {
    const { p, f, a, b } = waiters();
    expect(sys(p, 'futex', f, 129n, 1n)).toBe(1n);
    expect(a.wait).toBeUndefined();
    expect(b.wait?.kind).toBe('futex');
    expect(reg(a, 10)).toBe(0n);
    expect(sys(p, 'futex', f, 129n, 10n)).toBe(1n);
    expect(sys(p, 'futex', f, 129n, 10n)).toBe(0n);
  });

  it('FUTEX_WAKE_BITSET wakes only waiters whose bitset meets its own', () => {
    const { p } = make();
    const f = scratch(p);
    p.cpu.write64(f, 0n);
    const a = p.threads.find(spawn(p))!;
    switchTo(p, a);
    sys(p, 'futex', f, 9n /* WAIT_BITSET */, 0n, 0n, 0n, 0b01n);
    switchTo(p, p.threads.find(1000)!);
    expect(sys(p, 'futex', f, 10n /* WAKE_BITSET */, 1n, 0n, 0n, 0b10n)).toBe(0n);
    expect(sys(p, 'futex', f, 10n, 1n, 0n, 0n, 0b11n)).toBe(1n);
  });

  it('FUTEX_CMP_REQUEUE wakes some and moves the rest to another word, behind its own waiters', () => {
    const { p, f, a, b } = waiters();
    const g = scratch(p, 8n);
    p.cpu.write64(g, 0n);
    expect(sys(p, 'futex', f, 132n /* CMP_REQUEUE */, 0n, 1n, g, 5n)).toBe(EAGAIN); // *f is 0, not 5
    expect(sys(p, 'futex', f, 132n, 0n, 1n, g, 0n)).toBe(1n); // a moved, b stays
    expect(a.wait).toMatchObject({ kind: 'futex', addr: g });
    expect(b.wait).toMatchObject({ kind: 'futex', addr: f });
    expect(sys(p, 'futex', g, 129n, 1n)).toBe(1n);
    expect(a.wait).toBeUndefined();
    expect(sys(p, 'futex', f, 131n /* REQUEUE */, 0n, 1n, g)).toBe(1n);
    expect(b.wait).toMatchObject({ addr: g });
  });

  it('FUTEX_WAKE_OP changes the second word and wakes on it when the comparison holds', () => {
    const { p, f, a } = waiters();
    const g = scratch(p, 8n);
    // *f += 3 (op ADD: 1 << 28, oparg 3 << 12); then wake up to 0 on g and,
    // as the old *f == 0 (cmp EQ: 0 << 24, cmparg 0), up to 1 on f.
    const add3IfZero = (1n << 28n) | (3n << 12n);
    expect(sys(p, 'futex', g, 133n, 0n, 1n, f, add3IfZero)).toBe(1n);
    expect(p.cpu.read32(f)).toBe(3);
    expect(a.wait).toBeUndefined();
    // cmp NE 3 (1 << 24 | 3) is false now: *f becomes 6, nobody is woken.
    expect(sys(p, 'futex', g, 133n, 0n, 1n, f, add3IfZero | (1n << 24n) | 3n)).toBe(0n);
    expect(p.cpu.read32(f)).toBe(6);
  });

  it('a timed wait ends at its deadline with ETIMEDOUT when nothing else can run', () => {
    const { p } = make({ clock: 'virtual' });
    const f = scratch(p), t = scratch(p, 16n);
    p.cpu.write64(f, 0n);
    const other = p.threads.find(spawn(p))!;
    switchTo(p, other);
    sys(p, 'futex', f, 128n, 0n, 0n); // waits forever
    switchTo(p, p.threads.find(1000)!);
    p.cpu.write64(t, 2n);
    p.cpu.write64(t + 8n, 0n);
    const before = p.clock.nowNs();
    sys(p, 'futex', f, 128n, 0n, t); // 2 s
    p.threads.schedule();
    expect(p.cpu.x(10)).toBe(BigInt.asUintN(64, ETIMEDOUT));
    expect(p.clock.nowNs() - before).toBe(2n * NS);
    expect(p.threads.current.tid).toBe(1000);
  });

  it('when every thread waits forever, the process ends as a deadlock naming each wait', () => {
    const { p, diagnostics } = make();
    const f = scratch(p);
    p.cpu.write64(f, 0n);
    spawn(p);
    sys(p, 'futex', f, 128n, 0n, 0n);
    p.threads.schedule(); // 1001 runs
    sys(p, 'futex', f + 8n, 128n, 0n, 0n);
    p.threads.schedule();
    expect(p.exitStatus).toBe(124);
    expect(diagnostics.join('\n')).toMatch(/^ringvisor: deadlock: all 2 threads wait forever: thread 1000 in futex 0x[0-9a-f]+ at pc 0x[0-9a-f]+; thread 1001 in futex/);
  });
});

describe('thread exit', () => {
  it('exit ends one thread: its clear_child_tid word is zeroed and a joiner waiting on it is woken', () => {
    const { p } = make();
    const tid = spawn(p);
    const word = scratch(p, 0x104n);
    p.cpu.write64(word, BigInt(tid));
    sys(p, 'futex', word, 128n, BigInt(tid), 0n); // main joins: waits while the word holds the tid
    p.threads.schedule();
    expect(p.threads.current.tid).toBe(tid);
    sys(p, 'exit', 0n);
    expect(p.cpu.read32(word)).toBe(0);
    expect(p.threads.count).toBe(1);
    expect(p.exitStatus).toBeUndefined();
    p.threads.schedule();
    expect(p.threads.current.tid).toBe(1000);
    expect(p.cpu.x(10)).toBe(0n); // the join's futex returned 0
  });

  it('the process ends with the last thread, with the leader\'s status when the leader went first', () => {
    const { p } = make();
    spawn(p);
    sys(p, 'exit', 3n); // the leader (1000)
    expect(p.exitStatus).toBeUndefined();
    p.threads.schedule();
    sys(p, 'exit', 9n);
    expect(p.exitStatus).toBe(3);
  });

  it('exit_group ends every thread at once', () => {
    const { p } = make();
    spawn(p);
    spawn(p);
    sys(p, 'exit_group', 5n);
    expect(p.exitStatus).toBe(5);
  });
});

describe('signals between threads', () => {
  it('tgkill to a waiting thread interrupts its futex wait with EINTR; the signal is taken when it runs', () => {
    const { p } = make();
    const f = scratch(p);
    p.cpu.write64(f, 0n);
    const act = scratch(p, 0x40n);
    p.cpu.write64(act, 0x12340n); // a handler address (never run here)
    p.cpu.write64(act + 8n, 0n);
    p.cpu.write64(act + 16n, 0n);
    expect(sys(p, 'rt_sigaction', 10n, act, 0n, 8n)).toBe(0n);
    const t = p.threads.find(spawn(p))!;
    switchTo(p, t);
    sys(p, 'futex', f, 128n, 0n, 0n);
    switchTo(p, p.threads.find(1000)!);
    expect(sys(p, 'tgkill', 1000n, BigInt(t.tid), 10n)).toBe(0n);
    expect(t.wait).toBeUndefined();
    expect(reg(t, 10)).toBe(BigInt.asUintN(64, EINTR));
    expect(t.signals!.pending).toBe(1n << 9n);
    switchTo(p, t);
    expect(p.cpu.pc).toBe(0x12340n); // in the handler, a0 = the signal
    expect(p.cpu.x(10)).toBe(10n);
    expect(signalState(p).pending).toBe(0n);
  });

  it('a signal the target blocks stays pending and does not wake it; an ignored one is dropped', () => {
    const { p } = make();
    const f = scratch(p);
    p.cpu.write64(f, 0n);
    const t = p.threads.find(spawn(p))!;
    switchTo(p, t);
    signalState(p).mask = 1n << 11n; // SIGUSR2 blocked in t
    sys(p, 'futex', f, 128n, 0n, 0n);
    switchTo(p, p.threads.find(1000)!);
    expect(sys(p, 'tgkill', 1000n, BigInt(t.tid), 12n)).toBe(0n);
    expect(t.wait?.kind).toBe('futex');
    expect(t.signals!.pending).toBe(1n << 11n);
    expect(sys(p, 'tgkill', 1000n, BigInt(t.tid), 17n /* SIGCHLD: ignored by default */)).toBe(0n);
    expect(t.signals!.pending).toBe(1n << 11n);
    expect(sys(p, 'tgkill', 1000n, 4242n, 12n)).toBe(-3n); // ESRCH
  });

  it('kill to the process goes to a thread that does not block the signal when the caller does', () => {
    const { p } = make();
    const t = p.threads.find(spawn(p))!;
    signalState(p).mask = 1n << 9n; // main blocks SIGUSR1; t (spawned before) does not
    t.signals!.mask = 0n;
    const act = scratch(p, 0x40n);
    p.cpu.write64(act, 0x12340n);
    p.cpu.write64(act + 8n, 0n);
    p.cpu.write64(act + 16n, 0n);
    sys(p, 'rt_sigaction', 10n, act, 0n, 8n);
    expect(sys(p, 'kill', 1000n, 10n)).toBe(0n);
    expect(signalState(p).pending).toBe(0n);
    expect(t.signals!.pending).toBe(1n << 9n);
  });

  it('rt_sigtimedwait in one thread takes a signal sent by another', () => {
    const { p } = make();
    const set = scratch(p, 0x80n);
    p.cpu.write64(set, 1n << 11n);
    const t = p.threads.find(spawn(p))!;
    switchTo(p, t);
    signalState(p).mask = 1n << 11n;
    sys(p, 'rt_sigtimedwait', set, 0n, 0n, 8n);
    expect(t.wait?.kind).toBe('sigwait');
    switchTo(p, p.threads.find(1000)!);
    sys(p, 'tgkill', 1000n, BigInt(t.tid), 12n);
    expect(t.wait).toBeUndefined();
    expect(reg(t, 10)).toBe(12n);
    expect(t.signals!.pending).toBe(0n);
  });
});

describe('the scheduler', () => {
  it('sched_yield hands the CPU round robin, in creation order, and a switch breaks an LR reservation', () => {
    const { p } = make();
    spawn(p);
    spawn(p);
    const order: number[] = [];
    const reservation = () => new DataView((p.cpu as unknown as { exports: { memory: WebAssembly.Memory } }).exports.memory.buffer)
      .getBigUint64(p.cpu.layout.RESERVATION, true);
    for (let i = 0; i < 6; i++) {
      order.push(p.threads.current.tid);
      sys(p, 'sched_yield');
      p.threads.schedule();
      expect(reservation()).toBe(0xffff_ffff_ffff_ffffn);
    }
    expect(order).toEqual([1000, 1001, 1002, 1000, 1001, 1002]);
    expect(p.threads.switches).toBe(6);
  });

  it('a context switch keeps each thread\'s registers, pc and fcsr', () => {
    const { p } = make();
    const t = p.threads.find(spawn(p))!;
    p.cpu.setX(9, 0xaaaan);
    p.cpu.setF(3, 0x3ff0000000000000n);
    p.cpu.fcsr = 0x21;
    const pc = p.cpu.pc;
    switchTo(p, t);
    p.cpu.setX(9, 0xbbbbn);
    p.cpu.fcsr = 0;
    p.cpu.pc = pc + 0x40n;
    switchTo(p, p.threads.find(1000)!);
    expect([p.cpu.x(9), p.cpu.f(3), p.cpu.fcsr, p.cpu.pc]).toEqual([0xaaaan, 0x3ff0000000000000n, 0x21, pc]);
    switchTo(p, t);
    expect([p.cpu.x(9), p.cpu.fcsr, p.cpu.pc]).toEqual([0xbbbbn, 0, pc + 0x40n]);
  });

  it('the threads save to a plain record and restore from it into another VM', () => {
    const { p } = make();
    spawn(p);
    const f = scratch(p);
    p.cpu.write64(f, 0n);
    sys(p, 'futex', f, 128n, 0n, 0n);
    p.threads.schedule(); // 1001 on the CPU, 1000 waiting
    const r = p.threads.save();
    expect(r.version).toBe(1);
    expect(r.threads.map((t) => t.tid)).toEqual([1000, 1001]);
    expect(r.threads[0].context?.length).toBe(0x210);
    expect(r.threads[0].wait).toMatchObject({ kind: 'futex', addr: f });
    const q = make().p;
    q.threads.restore(r);
    expect(q.threads.save()).toEqual(r);
    expect(spawn(q)).toBe(1002);
    expect(() => q.threads.restore({ ...r, version: 2 as 1 })).toThrow(/version 2/);
  });
});

describe('robust futex list at thread exit', () => {
  const WAITERS = 0x8000_0000, OWNER_DIED = 0x4000_0000;
  // A thread with a robust list at `head` whose entries are at `entries`
  // (each entry's next pointer first), futex words 8 bytes after each entry.
  function dying(p: ProcessVM, entries: bigint[], pending = 0n): { t: Thread; head: bigint } {
    const tid = spawn(p);
    const t = p.threads.find(tid)!;
    switchTo(p, t);
    const head = scratch(p, 0x2000n);
    const list = [...entries, head];
    p.cpu.write64(head, list[0]);
    p.cpu.write64(head + 8n, 8n); // futex_offset
    p.cpu.write64(head + 16n, pending);
    for (let i = 0; i < entries.length; i++) p.cpu.write64(entries[i], list[i + 1]);
    expect(sys(p, 'set_robust_list', head, 24n)).toBe(0n);
    return { t, head };
  }

  it('marks the words the thread owns OWNER_DIED, keeps WAITERS, wakes one waiter; others\' words stay', () => {
    const { p } = make();
    const [e1, e2, e3] = [scratch(p, 0x3000n), scratch(p, 0x3100n), scratch(p, 0x3200n)];
    const { t } = dying(p, [e1, e2], e3);
    p.cpu.write32(e1 + 8n, t.tid);
    p.cpu.write32(e2 + 8n, 4242); // another thread's
    p.cpu.write32(e3 + 8n, (t.tid | WAITERS) >>> 0); // pending, with a waiter
    const main = p.threads.find(1000)!;
    switchTo(p, main);
    sys(p, 'futex', e3 + 8n, 128n, BigInt((t.tid | WAITERS) >>> 0), 0n);
    expect(main.wait?.kind).toBe('futex');
    switchTo(p, t);
    sys(p, 'exit', 0n);
    expect(p.cpu.read32(e1 + 8n) >>> 0).toBe(OWNER_DIED);
    expect(p.cpu.read32(e2 + 8n)).toBe(4242);
    expect(p.cpu.read32(e3 + 8n) >>> 0).toBe((WAITERS | OWNER_DIED) >>> 0);
    expect(main.wait).toBeUndefined();
  });

  it('a circular list is walked at most ROBUST_LIST_LIMIT times, and a bad pointer ends the walk', () => {
    const { p } = make();
    const [e1, e2] = [scratch(p, 0x3000n), scratch(p, 0x3100n)];
    const { t } = dying(p, [e1, e2]);
    p.cpu.write64(e2, e1); // e2 -> e1: never back at the head
    p.cpu.write32(e1 + 8n, t.tid);
    sys(p, 'exit', 0n);
    expect(p.cpu.read32(e1 + 8n) >>> 0).toBe(OWNER_DIED);
    expect(p.threads.count).toBe(1);

    const { t: u } = dying(p, [e1]);
    p.cpu.write64(e1, 0x10n); // unmapped
    p.cpu.write32(e1 + 8n, u.tid);
    sys(p, 'exit', 0n);
    expect(p.cpu.read32(e1 + 8n) >>> 0).toBe(OWNER_DIED);
  });
});
