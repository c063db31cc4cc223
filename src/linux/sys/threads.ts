// Thread system calls: clone and clone3 for threads (the flags glibc's and
// musl's pthread_create and Go's runtime use), futex between threads, thread
// exit against exit_group, set_tid_address, the robust-list registration,
// gettid and sched_yield. The scheduler and the waits are in ../threads.ts.
//
// A new process (fork, vfork, posix_spawn: clone without CLONE_THREAD) is
// made by sys/exec.ts.
import { EAGAIN, EFAULT, EINVAL, ENOSYS, EPERM, ESRCH, ETIMEDOUT } from '../errno.js';
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';
import { CONTEXT_X } from '../../cpu/cpu.js';
import type { Thread } from '../threads.js';
import { newThreadSignals } from './signals.js';
import { readTimespec, processState, RLIMIT_NPROC } from './process.js';
import { cloneProcess } from './exec.js';
import { sharedMaps } from '../shared-maps.js';
import { exitRobustList } from './robust-futex.js';

const E2BIG = 7;

export const CLONE_VM = 0x100n, CLONE_FS = 0x200n, CLONE_FILES = 0x400n, CLONE_SIGHAND = 0x800n,
  CLONE_PIDFD = 0x1000n, CLONE_PTRACE = 0x2000n, CLONE_VFORK = 0x4000n, CLONE_PARENT = 0x8000n,
  CLONE_THREAD = 0x10000n, CLONE_SYSVSEM = 0x40000n, CLONE_SETTLS = 0x80000n,
  CLONE_PARENT_SETTID = 0x100000n, CLONE_CHILD_CLEARTID = 0x200000n, CLONE_DETACHED = 0x400000n,
  CLONE_UNTRACED = 0x800000n, CLONE_CHILD_SETTID = 0x01000000n;
/** The namespace and cgroup flags: for an unprivileged sandbox, EPERM. */
const CLONE_NAMESPACES = 0x20000n | 0x02000000n | 0x04000000n | 0x08000000n | 0x10000000n | 0x20000000n |
  0x40000000n | 0x80000000n | 0x200000000n;
const CSIGNAL = 0xffn;
/** What a thread needs: one memory, file system view, descriptor table and set of handlers. */
const THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
/** Flags that change nothing here: one process has one System V semaphore
 *  set; CLONE_DETACHED and CLONE_UNTRACED are ignored by Linux too. */
const HARMLESS = CLONE_SYSVSEM | CLONE_DETACHED | CLONE_UNTRACED;
const TID_FLAGS = CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID;

interface CloneRequest {
  flags: bigint;
  /** The child's sp (0: the parent's). */
  stack: bigint;
  parentTid: bigint;
  childTid: bigint;
  tls: bigint;
  /** clone3's exit_signal (clone's is in the flags' low byte). */
  exitSignal?: number;
}

/** Puts a u32 where the guest could store it; false (and nothing written)
 *  otherwise. Linux ignores these failures (the tid words of clone and
 *  clear_child_tid at exit), so callers only learn of them. */
function put32(p: ProcessVM, addr: bigint, value: number): boolean {
  if (!p.user.canWrite(addr, 4)) return false;
  p.user.write32(addr, value);
  return true;
}

function cloneThread(p: ProcessVM, r: CloneRequest): bigint {
  const f = r.flags;
  // Linux's own consistency rules first (kernel/fork.c, copy_process).
  if ((f & CLONE_THREAD) !== 0n && (f & CLONE_SIGHAND) === 0n) return -BigInt(EINVAL);
  if ((f & CLONE_SIGHAND) !== 0n && (f & CLONE_VM) === 0n) return -BigInt(EINVAL);
  if ((f & CLONE_NAMESPACES) !== 0n) return -BigInt(EPERM);
  if ((f & CLONE_PIDFD) !== 0n && (f & CLONE_THREAD) !== 0n) return -BigInt(EINVAL);
  // A new process (sys/exec.ts); a thread that does not share everything
  // cannot be made here.
  if ((f & CLONE_THREAD) === 0n) {
    if ((f & ~(THREAD_FLAGS | HARMLESS | TID_FLAGS | CSIGNAL | CLONE_VFORK | CLONE_PARENT | CLONE_PTRACE | CLONE_PIDFD)) !== 0n) return -BigInt(EINVAL);
    return cloneProcess(p, { flags: f & ~CSIGNAL, exitSignal: r.exitSignal ?? Number(f & CSIGNAL), stack: r.stack, parentTid: r.parentTid, childTid: r.childTid, tls: r.tls });
  }
  if ((f & THREAD_FLAGS) !== THREAD_FLAGS || (f & (CLONE_VFORK | CLONE_PARENT | CLONE_PTRACE | CLONE_PIDFD)) !== 0n) {
    return -BigInt(ENOSYS);
  }
  if ((f & ~(THREAD_FLAGS | HARMLESS | TID_FLAGS | CSIGNAL)) !== 0n) return -BigInt(EINVAL);

  const threads = p.threads;
  // Threads count against RLIMIT_NPROC, as on Linux (pthread_create: EAGAIN).
  if (BigInt(threads.count) >= processState(p).limits[RLIMIT_NPROC][0]) return -BigInt(EAGAIN);
  const child = threads.spawn(newThreadSignals(p), (c: DataView) => {
    c.setBigUint64(CONTEXT_X(10), 0n, true); // the child's clone returns 0
    if (r.stack !== 0n) c.setBigUint64(CONTEXT_X(2), r.stack, true);
    if ((f & CLONE_SETTLS) !== 0n) c.setBigUint64(CONTEXT_X(4), r.tls, true);
  });
  if ((f & CLONE_CHILD_CLEARTID) !== 0n) child.clearChildTid = r.childTid;
  // Both share the memory, so the child's tid lands where both can see it.
  if ((f & CLONE_PARENT_SETTID) !== 0n) put32(p, r.parentTid, child.tid);
  if ((f & CLONE_CHILD_SETTID) !== 0n) put32(p, r.childTid, child.tid);
  return BigInt(child.tid);
}

// clone(flags, newsp, parent_tid, tls, child_tid): riscv64 has the generic
// argument order (no CONFIG_CLONE_BACKWARDS).
function sysClone(p: ProcessVM, [flags, stack, parentTid, tls, childTid]: bigint[]): bigint {
  return cloneThread(p, { flags, stack, parentTid, childTid, tls });
}

// clone3(args, size): struct clone_args { flags, pidfd, child_tid,
// parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
// cgroup }, all u64; 64 bytes in its first version. The child's sp is
// stack + stack_size.
const CLONE_ARGS_SIZE_VER0 = 64n;
const CLONE_ARGS_KNOWN = 88n;

function sysClone3(p: ProcessVM, [args, size]: bigint[]): bigint {
  if (size < CLONE_ARGS_SIZE_VER0) return -BigInt(EINVAL);
  if (size > 4096n) return -BigInt(E2BIG);
  const raw = p.user.read(args, Number(size));
  // A larger struct from a newer libc is fine only if the fields we do not
  // know are zero (copy_struct_from_user).
  for (let off = Number(CLONE_ARGS_KNOWN); off < raw.length; off++) if (raw[off] !== 0) return -BigInt(E2BIG);
  const v = new DataView(raw.buffer);
  const field = (i: number) => (i * 8 + 8 <= raw.length ? v.getBigUint64(i * 8, true) : 0n);
  const [flags, , childTid, parentTid, exitSignal, stack, stackSize, tls, setTid, setTidSize, cgroup] =
    Array.from({ length: 11 }, (_, i) => field(i));
  if ((exitSignal & ~CSIGNAL) !== 0n || (flags & CSIGNAL) !== 0n) return -BigInt(EINVAL);
  if ((stack === 0n) !== (stackSize === 0n)) return -BigInt(EINVAL);
  if (setTid !== 0n || setTidSize !== 0n) return -BigInt(EPERM);
  if (cgroup !== 0n) return -BigInt(EPERM);
  return cloneThread(p, { flags, stack: stack === 0n ? 0n : stack + stackSize, parentTid, childTid, tls, exitSignal: Number(exitSignal) });
}

// ---- exit ----

// A robust futex whose owner died: its waiters, those of every process that
// maps it (a process-shared mutex), then those of this one that wait on it
// privately.
function robustWake(p: ProcessVM, addr: bigint, n: number): number {
  const key = sharedKey(p, addr, 0);
  let woken = key === undefined ? 0 : futexWake(p, addr, n, BITSET_ANY, key);
  if (woken < n) woken += futexWake(p, addr, n - woken, BITSET_ANY);
  return woken;
}

/**
 * A process ends (exit_group, a fatal signal) while its threads may hold
 * robust mutexes in memory it shares with other processes: each thread's
 * list is walked, as Linux walks every exiting task's, so that a waiter in
 * another process gets EOWNERDEAD. (Without shared memory nobody else
 * could see the words: nothing to do.)
 */
export function processRobustLists(p: ProcessVM): void {
  if (!sharedMaps(p)) return;
  for (const t of p.threads.all()) exitRobustList(p, t, robustWake);
}

/** The end of one thread: Linux zeroes its clear_child_tid word and wakes
 *  one futex waiter there (that is how pthread_join learns of it). */
function sysExit(p: ProcessVM, [status]: bigint[]): bigint {
  const t = p.threads.current;
  exitRobustList(p, t, robustWake);
  // mm_release: the word is cleared and a waiter woken, each whatever the other did.
  if (t.clearChildTid !== 0n) {
    put32(p, t.clearChildTid, 0);
    futexWake(p, t.clearChildTid, 1, BITSET_ANY);
  }
  p.threads.exitCurrent(Number(status & 0xffn));
  return 0n;
}

function sysExitGroup(p: ProcessVM, [status]: bigint[]): bigint {
  p.exit(Number(status & 0xffn));
  return 0n;
}

// set_tid_address(tidptr): remembered for when the thread exits; returns its tid.
function sysSetTidAddress(p: ProcessVM, [tidptr]: bigint[]): bigint {
  p.threads.current.clearChildTid = tidptr;
  return BigInt(p.threads.current.tid);
}

// set_robust_list(head, len): len must be sizeof(struct robust_list_head), 24.
// The list is walked when the thread exits (robust-futex.ts): a robust mutex
// held by a thread that ends is marked OWNER_DIED and a waiter woken.
function sysSetRobustList(p: ProcessVM, [head, len]: bigint[]): bigint {
  if (len !== 24n) return -BigInt(EINVAL);
  const t = p.threads.current;
  t.robustList = head;
  t.robustListLen = len;
  return 0n;
}

// get_robust_list(tid, head_ptr, len_ptr): 0 means the caller.
function sysGetRobustList(p: ProcessVM, [tid, headPtr, lenPtr]: bigint[]): bigint {
  const who = Number(BigInt.asIntN(32, tid));
  const t = who === 0 ? p.threads.current : p.threads.find(who);
  if (!t) return -BigInt(ESRCH);
  // The length first, then the head, as the kernel puts them; the length is
  // sizeof(struct robust_list_head) whether or not a list was registered.
  p.user.write64(lenPtr, 24n);
  p.user.write64(headPtr, t.robustList);
  return 0n;
}

// ---- futex ----

const FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4, FUTEX_WAKE_OP = 5,
  FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10;
const FUTEX_PRIVATE_FLAG = 128;
const FUTEX_CLOCK_REALTIME = 256;
const BITSET_ANY = 0xffffffff;

/** The threads waiting on `addr`, first come first. */
function waiters(p: ProcessVM, addr: bigint): Thread[] {
  return p.threads.all()
    .filter((t) => t.wait?.kind === 'futex' && t.wait.addr === addr && t.wait.shared === undefined)
    .sort((a, b) => (a.wait as { seq: number }).seq - (b.wait as { seq: number }).seq);
}

/** A shared futex (no FUTEX_PRIVATE_FLAG) in memory shared with other
 *  processes (MAP_SHARED): its key across them (shared-maps.ts). */
function sharedKey(p: ProcessVM, addr: bigint, op: number): string | undefined {
  if ((op & FUTEX_PRIVATE_FLAG) !== 0) return undefined;
  return sharedMaps(p)?.futexKey(addr);
}

/** Wakes up to `n` waiters on `addr` whose bitset meets `bitset` (Linux
 *  wakes at least one when n is 0); returns how many. A shared futex in
 *  shared memory wakes waiters of every process that maps it. */
function futexWake(p: ProcessVM, addr: bigint, n: number, bitset: number, shared?: string): number {
  let woken = 0;
  const found: Array<[ProcessVM, Thread]> = shared === undefined
    ? waiters(p, addr).map((t) => [p, t])
    : p.processes.all().flatMap((q) => q.threads.all().filter((t) => t.wait?.kind === 'futex' && t.wait.shared === shared).map((t): [ProcessVM, Thread] => [q, t]));
  if (shared !== undefined) found.sort((a, b) => (a[1].wait as { seq: number }).seq - (b[1].wait as { seq: number }).seq);
  for (const [q, t] of found) {
    if (((t.wait as { bitset: number }).bitset & bitset) === 0) continue;
    q.threads.wake(t, 0n);
    if (++woken >= n) break;
  }
  return woken;
}

// FUTEX_REQUEUE / CMP_REQUEUE: wake `nWake` waiters on uaddr, move up to
// `nMove` of the rest to uaddr2 (at the end of its queue); returns both counts.
function futexRequeue(p: ProcessVM, uaddr: bigint, nWake: number, nMove: number, uaddr2: bigint): bigint {
  if (nMove < 0 || nWake < 0) return -BigInt(EINVAL);
  let woken = 0, moved = 0;
  for (const t of waiters(p, uaddr)) {
    if (woken < nWake) {
      p.threads.wake(t, 0n);
      woken++;
    } else if (moved < nMove) {
      t.wait = { kind: 'futex', addr: uaddr2, bitset: (t.wait as { bitset: number }).bitset, seq: p.threads.requeued(), deadline: (t.wait as { deadline?: bigint }).deadline };
      moved++;
    } else break;
  }
  return BigInt(woken + moved);
}

/**
 * The check get_futex_key makes of a futex address: 4-byte aligned (EINVAL);
 * for a shared futex (no FUTEX_PRIVATE_FLAG) also a page the guest could
 * write (EFAULT), since Linux looks the page up: a read-only anonymous page
 * is refused even for a wake ("will never change"), and all of a process
 * VM's read-only pages are anonymous copies here. A private futex is only
 * an address until its word is read. Undefined when the address will do.
 */
function futexKey(p: ProcessVM, addr: bigint, op: number): bigint | undefined {
  if ((addr & 3n) !== 0n) return -BigInt(EINVAL);
  if ((op & FUTEX_PRIVATE_FLAG) !== 0) return undefined;
  return p.user.canWrite(addr, 4) ? undefined : -BigInt(EFAULT);
}

// futex(uaddr, op, val, timeout, uaddr2, val3). Private futexes and shared
// ones in memory no other process maps wait by address in the process; a
// shared one in MAP_SHARED memory waits by file and offset, so that every
// process mapping it can wake it (sharedKey). Each is checked as Linux
// checks it (futexKey). For the REQUEUE operations the fourth
// argument is a count (val2), not a timeout.
function sysFutex(p: ProcessVM, [uaddr, opArg, val, timeout, uaddr2, val3]: bigint[]): bigint {
  const op = Number(opArg & 0xffffffffn);
  const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  const count = (v: bigint) => Number(BigInt.asIntN(32, v));
  if ((op & FUTEX_CLOCK_REALTIME) && cmd !== FUTEX_WAIT && cmd !== FUTEX_WAIT_BITSET) return -BigInt(ENOSYS);
  switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      // sys_futex reads the timeout before it looks at anything else.
      let deadline: bigint | undefined;
      if (timeout !== 0n) {
        const t = readTimespec(p, timeout);
        if (t === undefined) return -BigInt(EINVAL);
        // FUTEX_WAIT's timeout is relative; FUTEX_WAIT_BITSET's is absolute on
        // CLOCK_MONOTONIC, or CLOCK_REALTIME with that flag.
        const mono = p.clock.nowNs();
        if (cmd === FUTEX_WAIT) deadline = mono + t;
        else deadline = (op & FUTEX_CLOCK_REALTIME) ? mono + (t - p.clock.realtimeNs()) : t;
      }
      const bitset = cmd === FUTEX_WAIT ? BITSET_ANY : Number(val3 & 0xffffffffn);
      if (bitset === 0) return -BigInt(EINVAL);
      const bad = futexKey(p, uaddr, op);
      if (bad !== undefined) return bad;
      // An unreadable word (unmapped, PROT_NONE) is EFAULT, never a wait.
      const now = p.user.read32(uaddr);
      if (BigInt(now) !== (val & 0xffffffffn)) return -BigInt(EAGAIN);
      return p.threads.block({ kind: 'futex', addr: uaddr, bitset, seq: 0, deadline, shared: sharedKey(p, uaddr, op) }, -BigInt(ETIMEDOUT),
        `on futex 0x${uaddr.toString(16)} (value ${now})`);
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      const bitset = cmd === FUTEX_WAKE ? BITSET_ANY : Number(val3 & 0xffffffffn);
      if (bitset === 0) return -BigInt(EINVAL);
      const bad = futexKey(p, uaddr, op);
      if (bad !== undefined) return bad;
      return BigInt(futexWake(p, uaddr, count(val), bitset, sharedKey(p, uaddr, op)));
    }
    case FUTEX_REQUEUE: {
      const bad = futexKey(p, uaddr, op) ?? futexKey(p, uaddr2, op);
      if (bad !== undefined) return bad;
      return futexRequeue(p, uaddr, count(val), count(timeout), uaddr2);
    }
    case FUTEX_CMP_REQUEUE: {
      const bad = futexKey(p, uaddr, op) ?? futexKey(p, uaddr2, op);
      if (bad !== undefined) return bad;
      if (BigInt(p.user.read32(uaddr)) !== (val3 & 0xffffffffn)) return -BigInt(EAGAIN);
      return futexRequeue(p, uaddr, count(val), count(timeout), uaddr2);
    }
    case FUTEX_WAKE_OP:
      return futexWakeOp(p, uaddr, count(val), uaddr2, count(timeout), val3, op);
    default:
      return -BigInt(ENOSYS);
  }
}

// FUTEX_WAKE_OP: old = *uaddr2; *uaddr2 = op(old, oparg); wake n on uaddr;
// and if cmp(old, cmparg), wake n2 on uaddr2. val3 encodes op (bits 28..31,
// bit 31 meaning oparg is a shift count), cmp (24..27), oparg (12..23) and
// cmparg (0..11), both signed.
function futexWakeOp(p: ProcessVM, uaddr: bigint, n: number, uaddr2: bigint, n2: number, val3: bigint, flags: number): bigint {
  const bad = futexKey(p, uaddr, flags) ?? futexKey(p, uaddr2, flags);
  if (bad !== undefined) return bad;
  const enc = Number(val3 & 0xffffffffn);
  const op = (enc >>> 28) & 7;
  const cmp = (enc >>> 24) & 15;
  let oparg = (enc << 8) >> 20;
  const cmparg = (enc << 20) >> 20;
  if ((enc >>> 31) & 1) oparg = 1 << (oparg & 31);
  // The operation is an atomic read-modify-write of the guest's word: it
  // needs a page the guest could write (futex_atomic_op_inuser faults).
  if (!p.user.canWrite(uaddr2, 4)) return -BigInt(EFAULT);
  const old = p.user.read32(uaddr2) | 0;
  let next: number;
  switch (op) {
    case 0: next = oparg; break; // SET
    case 1: next = old + oparg; break; // ADD
    case 2: next = old | oparg; break; // OR
    case 3: next = old & ~oparg; break; // ANDN
    case 4: next = old ^ oparg; break; // XOR
    default: return -BigInt(ENOSYS);
  }
  let hit: boolean;
  switch (cmp) {
    case 0: hit = old === cmparg; break;
    case 1: hit = old !== cmparg; break;
    case 2: hit = old < cmparg; break;
    case 3: hit = old <= cmparg; break;
    case 4: hit = old > cmparg; break;
    case 5: hit = old >= cmparg; break;
    default: return -BigInt(ENOSYS);
  }
  put32(p, uaddr2, next);
  let woken = futexWake(p, uaddr, n, BITSET_ANY);
  if (hit) woken += futexWake(p, uaddr2, n2, BITSET_ANY);
  return BigInt(woken);
}

export const THREAD_SYSCALLS: SyscallFamily = [
  [93, { name: 'exit', argc: 1, handler: sysExit }],
  [94, { name: 'exit_group', argc: 1, handler: sysExitGroup }],
  [96, { name: 'set_tid_address', argc: 1, handler: sysSetTidAddress }],
  [98, { name: 'futex', argc: 6, handler: sysFutex }],
  [99, { name: 'set_robust_list', argc: 2, handler: sysSetRobustList }],
  [100, { name: 'get_robust_list', argc: 3, handler: sysGetRobustList }],
  [124, { name: 'sched_yield', argc: 0, handler: (p) => { p.threads.yield(); return 0n; } }],
  [178, { name: 'gettid', argc: 0, handler: (p) => BigInt(p.threads.current.tid) }],
  [220, { name: 'clone', argc: 5, handler: sysClone }],
  [435, { name: 'clone3', argc: 2, handler: sysClone3 }],
];
