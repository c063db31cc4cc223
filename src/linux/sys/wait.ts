// Waiting for children: wait4 and waitid, and what a parent learns when a
// child ends (a zombie to reap, SIGCHLD). A child that has ended stays in
// its parent's `children` as a zombie (its CPU and descriptors already given
// back) until a wait reaps it, unless the parent ignores SIGCHLD.
//
// A wait that finds live children but no zombie waits as a call waiting for
// I/O does (threads.ts blockForIo): it runs again whenever the VM's I/O
// events move, which every child's end does (processes.ts), and a signal
// interrupts it (EINTR).
import { ECHILD, EINVAL, ESRCH } from '../errno.js';
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';
import { sendChildSignal, childEndPolicy } from './signals.js';

const WNOHANG = 1, WUNTRACED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x0100_0000;
const __WNOTHREAD = 0x2000_0000, __WALL = 0x4000_0000, __WCLONE = 0x8000_0000;
const P_ALL = 0, P_PID = 1, P_PGID = 2, P_PIDFD = 3;
const SIGCHLD = 17;
/** si_code of SIGCHLD (include/uapi/asm-generic/siginfo.h). */
const CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_STOPPED = 5, CLD_CONTINUED = 6;

/** `child` has ended: its parent gets its exit signal, and reaps it later
 *  (wait4), or at once when the parent ignores SIGCHLD. */
export function notifyParent(parent: ProcessVM, child: ProcessVM): void {
  const killed = child.termSignal !== undefined;
  const code = killed ? (child.coreDumped ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
  const status = killed ? child.termSignal! : (child.exitStatus ?? 0) & 0xff;
  // (do_notify_parent: only a child that sends SIGCHLD is reaped so.)
  const policy = child.exitSignal === SIGCHLD ? childEndPolicy(parent) : 'keep';
  if (policy !== 'keep') {
    parent.children.delete(child);
    parent.processes.forget(child);
    if (policy === 'ignore') return;
  }
  sendChildSignal(parent, child, child.exitSignal, code, status);
}

// Which children a wait is for: by pid, process group or any.
type Selector = (c: ProcessVM) => boolean;

/** What a wait reports of a child. */
type Event = 'exited' | 'stopped' | 'continued';

/**
 * The common part of wait4 and waitid: the first matching child with
 * something to report that `options` asks for (an end, and with WUNTRACED
 * or WCONTINUED a stop or a continue), reaped (an end) or marked reported
 * unless `keep`; 0 with WNOHANG when children match but none has anything;
 * ECHILD when none matches; otherwise a wait (blockForIo) after which the
 * call runs again. `found` gets the child and what happened to it.
 */
function waitFor(p: ProcessVM, match: Selector, options: number, exited: boolean, keep: boolean, what: string,
  found: (c: ProcessVM, event: Event) => void): bigint {
  // A child whose exit signal is not SIGCHLD (a "clone" child) is waited
  // for only with __WCLONE or __WALL; __WCLONE waits for those only.
  const kind = (c: ProcessVM) => (options & __WALL) !== 0 || ((c.exitSignal !== SIGCHLD) === ((options & __WCLONE) !== 0));
  const mine = [...p.children].filter((c) => kind(c) && match(c));
  if (mine.length === 0) return -BigInt(ECHILD);
  const live = p.processes.all();
  for (const c of mine) {
    let event: Event | undefined;
    if (c.exitStatus !== undefined && !live.includes(c)) event = exited ? 'exited' : undefined;
    else if (c.stateReport?.kind === 'stopped' && (options & WUNTRACED)) event = 'stopped';
    else if (c.stateReport?.kind === 'continued' && (options & WCONTINUED)) event = 'continued';
    if (!event) continue;
    found(c, event);
    if (!keep) {
      if (event === 'exited') {
        p.children.delete(c);
        p.processes.forget(c);
      } else {
        c.stateReport = undefined;
      }
    }
    return BigInt(c.pid);
  }
  if (options & WNOHANG) return 0n;
  return p.threads.blockForIo(undefined, 0n, what);
}

function selector(p: ProcessVM, pid: number): Selector {
  if (pid === -1) return () => true;
  if (pid === 0) return (c) => c.pgid === p.pgid;
  if (pid < 0) return (c) => c.pgid === -pid;
  return (c) => c.pid === pid;
}

// wait4(pid, wstatus, options, rusage).
function sysWait4(p: ProcessVM, [pidArg, wstatus, optionsArg, rusage]: bigint[]): bigint {
  const options = Number(optionsArg & 0xffffffffn);
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE)) return -BigInt(EINVAL);
  const pid = Number(BigInt.asIntN(32, pidArg));
  // INT_MIN cannot be negated into a process group (kernel_wait4: ESRCH).
  if (pid === -0x8000_0000) return -BigInt(ESRCH);
  return waitFor(p, selector(p, pid), options, true, false, 'in wait4', (c, event) => {
    // A stop: 0x7f with the signal above it; a continue: 0xffff.
    const status = event === 'exited' ? c.waitStatus : event === 'stopped' ? (c.stateReport!.sig << 8) | 0x7f : 0xffff;
    if (wstatus !== 0n) p.user.write32(wstatus, status);
    if (rusage !== 0n) p.user.write(rusage, new Uint8Array(144));
  });
}

// waitid(which, id, infop, options, rusage): siginfo_t for the child, as
// SIGCHLD's: si_signo, si_errno, si_code at 0, 4, 8, then si_pid, si_uid,
// si_status at 16, 20, 24. With WNOHANG and nothing ended, si_signo and
// si_pid are zero (Linux clears the whole _sigchld part then).
function sysWaitid(p: ProcessVM, [which, idArg, infop, optionsArg, rusage]: bigint[]): bigint {
  const options = Number(optionsArg & 0xffffffffn);
  if (options & ~(WNOHANG | WNOWAIT | WEXITED | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE)) return -BigInt(EINVAL);
  if ((options & (WEXITED | WUNTRACED | WCONTINUED)) === 0) return -BigInt(EINVAL);
  const id = Number(BigInt.asIntN(32, idArg));
  let match: Selector;
  switch (Number(which)) {
    case P_ALL: match = () => true; break;
    case P_PID: if (id <= 0) return -BigInt(EINVAL); match = (c) => c.pid === id; break;
    case P_PGID: if (id < 0) return -BigInt(EINVAL); match = (c) => c.pgid === (id === 0 ? p.pgid : id); break;
    case P_PIDFD: return -BigInt(EINVAL);
    default: return -BigInt(EINVAL);
  }
  const info = new DataView(new ArrayBuffer(32));
  // (waitid's WSTOPPED is wait4's WUNTRACED.)
  const r = waitFor(p, match, options, (options & WEXITED) !== 0, (options & WNOWAIT) !== 0, 'in waitid', (c, event) => {
    info.setInt32(0, SIGCHLD, true);
    const code = event === 'stopped' ? CLD_STOPPED : event === 'continued' ? CLD_CONTINUED : c.termSignal !== undefined ? (c.coreDumped ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
    info.setInt32(8, code, true);
    info.setInt32(16, c.pid, true);
    info.setInt32(24, event !== 'exited' ? c.stateReport!.sig : c.termSignal ?? ((c.exitStatus ?? 0) & 0xff), true);
  });
  if (p.threads.restarting) return r;
  // Linux's waitid writes these fields whatever the wait found (zeros when
  // nothing), so a bad infop is EFAULT even with ECHILD.
  if (infop !== 0n) {
    const bytes = new Uint8Array(info.buffer);
    p.user.write(infop, bytes.subarray(0, 12));
    p.user.write(infop + 16n, bytes.subarray(16, 28));
  }
  if (r < 0n) return r;
  if (rusage !== 0n) p.user.write(rusage, new Uint8Array(144));
  return 0n;
}

export const WAIT_SYSCALLS: SyscallFamily = [
  [95, { name: 'waitid', argc: 5, handler: sysWaitid }],
  [260, { name: 'wait4', argc: 4, handler: sysWait4 }],
];
