// setitimer and getitimer (alarm(3) is setitimer on riscv64): the real-time
// interval timer, ITIMER_REAL, which sends the process SIGALRM when it
// expires and then every interval. The VM's scheduler (processes.ts) fires
// due timers before it runs anything and counts their deadlines among those
// it may idle to, so a process that waits for its alarm (pause, a read, a
// sleep) is woken by it, alone in its VM or not. The virtual and profiling
// timers (CPU time) are not kept: EINVAL.
import { EINVAL } from '../errno.js';
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';
import { signalProcess, SIGALRM } from './signals.js';

const ITIMER_REAL = 0;
/** si_code of a signal the kernel sends (kill_pid_info with SEND_SIG_PRIV). */
const SI_KERNEL = 0x80;
const NS_PER_US = 1000n;

/** A process's real-time timer: when it next expires (clock ns) and its interval (ns, 0: once). */
export interface RealTimer {
  deadline: bigint;
  interval: bigint;
}

// struct itimerval { struct timeval it_interval, it_value } (sec, usec: longs).
function readItimerval(p: ProcessVM, ptr: bigint): { interval: bigint; value: bigint } | undefined {
  const v = p.user.struct(ptr, 32);
  const [is, ius, vs, vus] = [0, 8, 16, 24].map((o) => v.getBigInt64(o, true));
  if (is < 0n || vs < 0n || ius < 0n || ius >= 1_000_000n || vus < 0n || vus >= 1_000_000n) return undefined;
  return { interval: is * 1_000_000_000n + ius * NS_PER_US, value: vs * 1_000_000_000n + vus * NS_PER_US };
}

function writeItimerval(p: ProcessVM, ptr: bigint, t: RealTimer | undefined): void {
  const left = t ? t.deadline - p.clock.nowNs() : 0n;
  // A timer that is due but not yet fired shows the smallest time left.
  const value = t ? (left > 0n ? left : NS_PER_US) : 0n;
  const interval = t?.interval ?? 0n;
  const us = (ns: bigint) => (ns + NS_PER_US - 1n) / NS_PER_US;
  p.user.writeWords(ptr, [us(interval) / 1_000_000n, us(interval) % 1_000_000n, us(value) / 1_000_000n, us(value) % 1_000_000n]);
}

// setitimer(which, new, old): in do_setitimer's order: the new value is read
// (EFAULT, EINVAL) and takes effect, then the old one is written.
function sysSetitimer(p: ProcessVM, [which, newPtr, oldPtr]: bigint[]): bigint {
  if (Number(which) !== ITIMER_REAL) return -BigInt(EINVAL);
  const old = p.realTimer;
  if (newPtr !== 0n) {
    const t = readItimerval(p, newPtr);
    if (!t) return -BigInt(EINVAL);
    p.setRealTimer(t.value === 0n ? undefined : { deadline: p.clock.nowNs() + t.value, interval: t.interval });
  }
  if (oldPtr !== 0n) writeItimerval(p, oldPtr, old);
  return 0n;
}

function sysGetitimer(p: ProcessVM, [which, ptr]: bigint[]): bigint {
  if (Number(which) !== ITIMER_REAL) return -BigInt(EINVAL);
  writeItimerval(p, ptr, p.realTimer);
  return 0n;
}

/** Sends SIGALRM to `p` if its timer is due (processes.ts, before it runs),
 *  and sets the timer again for its interval. */
export function fireRealTimer(p: ProcessVM, now: bigint): void {
  const t = p.realTimer;
  if (!t || t.deadline > now) return;
  if (t.interval === 0n) p.setRealTimer(undefined);
  else {
    // Expiries missed meanwhile are one signal (a pending one is not repeated).
    const missed = (now - t.deadline) / t.interval + 1n;
    p.setRealTimer({ deadline: t.deadline + missed * t.interval, interval: t.interval });
  }
  signalProcess(p, p, SIGALRM, SI_KERNEL);
}

export const ITIMER_SYSCALLS: SyscallFamily = [
  [102, { name: 'getitimer', argc: 2, handler: sysGetitimer }],
  [103, { name: 'setitimer', argc: 3, handler: sysSetitimer }],
];
