// The robust futex list walked when a thread ends (Linux's exit_robust_list,
// kernel/futex/core.c). A thread registers the head of a list of the robust
// mutexes it holds (set_robust_list); glibc links each mutex it locks into
// it. When the thread ends still holding some, the kernel marks each futex
// word whose owner TID is the thread's FUTEX_OWNER_DIED, keeping
// FUTEX_WAITERS, and wakes one waiter: the next pthread_mutex_lock returns
// EOWNERDEAD instead of waiting forever.
//
// The list is guest memory and may be anything: a bad pointer ends the walk,
// and at most ROBUST_LIST_LIMIT entries are visited, so a circular list
// cannot hold up the host.
import type { ProcessVM } from '../process-vm.js';
import type { Thread } from '../threads.js';

// include/uapi/linux/futex.h
const FUTEX_WAITERS = 0x8000_0000;
const FUTEX_OWNER_DIED = 0x4000_0000;
const FUTEX_TID_MASK = 0x3fff_ffff;
/** The most entries Linux walks (ROBUST_LIST_LIMIT). */
export const ROBUST_LIST_LIMIT = 2048;

/** Wakes up to `n` waiters on a futex word; returns how many. */
export type FutexWake = (p: ProcessVM, addr: bigint, n: number) => number;

// fetch_robust_entry: a pointer whose bit 0 says the futex is a PI one.
function entryAt(p: ProcessVM, addr: bigint): { entry: bigint; pi: boolean } | undefined {
  if (!p.user.canRead(addr, 8)) return undefined;
  const v = p.user.read64(addr);
  return { entry: v & ~1n, pi: (v & 1n) !== 0n };
}

// handle_futex_death: the word at uaddr, if `tid` owns it.
function futexDeath(p: ProcessVM, uaddr: bigint, tid: number, pi: boolean, pending: boolean, wake: FutexWake): boolean {
  // The word must be aligned and writable (Linux: -EFAULT ends the walk).
  if ((uaddr & 3n) !== 0n || !p.user.canWrite(uaddr, 4)) return false;
  const word = p.user.read32(uaddr) >>> 0;
  // A pending lock that took no word yet: wake a waiter that may wait for it
  // (the owner died between the kernel's wake-up and its own store).
  if (pending && !pi && word === 0) {
    wake(p, uaddr, 1);
    return true;
  }
  if ((word & FUTEX_TID_MASK) !== tid) return true;
  // Ring -1 runs alone: no other thread can change the word meanwhile, so
  // Linux's compare-and-exchange loop is one store.
  p.user.write32(uaddr, ((word & FUTEX_WAITERS) | FUTEX_OWNER_DIED) >>> 0);
  if (!pi && word & FUTEX_WAITERS) wake(p, uaddr, 1);
  return true;
}

/**
 * Walks the robust list of thread `t` as it ends: struct robust_list_head
 * { next, futex_offset, list_op_pending } at t.robustList, each entry's
 * word at entry + futex_offset, the pending entry last.
 */
export function exitRobustList(p: ProcessVM, t: Thread, wake: FutexWake): void {
  const head = t.robustList;
  if (head === 0n || !p.user.canRead(head, 24)) return;
  const first = entryAt(p, head);
  if (!first) return;
  const offset = BigInt.asIntN(64, p.user.read64(head + 8n));
  const pending = entryAt(p, head + 16n);
  if (!pending) return;
  let { entry, pi } = first;
  let limit = ROBUST_LIST_LIMIT;
  while (entry !== head) {
    const next = entryAt(p, entry);
    // The pending entry is handled below, once.
    if (entry !== pending.entry && !futexDeath(p, BigInt.asUintN(64, entry + offset), t.tid, pi, false, wake)) return;
    if (!next) return;
    ({ entry, pi } = next);
    if (--limit === 0) break;
  }
  if (pending.entry !== 0n) futexDeath(p, BigInt.asUintN(64, pending.entry + offset), t.tid, pending.pi, true, wake);
}
