// Signal bookkeeping and delivery for the process VM: rt_sigaction,
// rt_sigprocmask, rt_sigpending, rt_sigsuspend, rt_sigtimedwait, sigaltstack,
// kill/tkill/tgkill to self, rt_sigreturn; and deliverFault, for the run loop
// to hand a synchronous fault to the guest's handler.
//
// Dispositions are the process's; the mask, the pending set and the
// alternate stack are each thread's: the thread on the CPU has them in
// SignalState, the others in their Thread records (threads.ts swaps them).
// A signal for the thread on the CPU takes its action at once (Linux would
// deliver it on the way back to user mode); one for another thread is left
// pending on it, interrupts its wait if it is blocked, and is taken when it
// next gets the CPU. The action is: ignored, the default action (the process
// ends with status 128 + signal, as a shell reports it), or the guest's
// handler, entered on a signal frame laid
// out as Linux riscv64 lays it out (arch/riscv/kernel/signal.c): siginfo, then
// a ucontext whose mcontext holds pc, x1..x31, f0..f31 and fcsr. The handler
// returns through a two-instruction trampoline (li a7, 139; ecall) on a
// read-and-execute page mapped at the first delivery, in place of the vDSO's
// __vdso_rt_sigreturn (this process VM maps no vDSO); rt_sigreturn restores
// the interrupted state from the frame.
// A blocked signal stays pending until rt_sigprocmask unblocks it.
//
// When a system call enters a handler, it returns the signal number: the
// system-call layer writes the result into a0, which is where the handler
// takes its first argument, while the frame holds the call's real result for
// rt_sigreturn to restore. (--strace therefore shows e.g. "tgkill(...) = 10",
// after a "--- signal 10 ... ---" line.)
import { EAGAIN, EFAULT, EINTR, EINVAL, ENOMEM, EPERM, ESRCH } from '../errno.js';
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';
import { GuestMemoryError, Perm } from '../../cpu/cpu.js';
import { UserFault } from '../user-memory.js';
import { pageUp } from '../address-space.js';
import { readTimespec } from './process.js';
import type { Thread } from '../threads.js';


export const SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
  SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
  SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22,
  SIGURG = 23, SIGXCPU = 24, SIGXFSZ = 25, SIGWINCH = 28, SIGSYS = 31;
/** Signals are 1..64 (_NSIG). */
export const NSIG = 64;

export const SIG_DFL = 0n;
export const SIG_IGN = 1n;
export const SA_SIGINFO = 0x4n;
export const SA_ONSTACK = 0x08000000n;
export const SA_RESTART = 0x10000000n;
export const SA_NOCLDWAIT = 0x2n;
export const SA_NODEFER = 0x40000000n;
export const SA_RESETHAND = 0x80000000n;
const SS_ONSTACK = 1;
const SS_DISABLE = 2;
const MINSIGSTKSZ = 2048n;
const SI_TKILL = -6;
const SI_USER = 0;

/** Names as glibc's strsignal() gives them. */
const NAMES: Record<number, string> = {
  1: 'Hangup', 2: 'Interrupt', 3: 'Quit', 4: 'Illegal instruction', 5: 'Trace/breakpoint trap',
  6: 'Aborted', 7: 'Bus error', 8: 'Floating point exception', 9: 'Killed', 10: 'User defined signal 1',
  11: 'Segmentation fault', 12: 'User defined signal 2', 13: 'Broken pipe', 14: 'Alarm clock',
  15: 'Terminated', 16: 'Stack fault', 17: 'Child exited', 18: 'Continued', 19: 'Stopped (signal)',
  20: 'Stopped', 21: 'Stopped (tty input)', 22: 'Stopped (tty output)', 23: 'Urgent I/O condition',
  24: 'CPU time limit exceeded', 25: 'File size limit exceeded', 26: 'Virtual timer expired',
  27: 'Profiling timer expired', 28: 'Window changed', 29: 'I/O possible', 30: 'Power failure',
  31: 'Bad system call',
};

export function signalName(sig: number): string {
  return NAMES[sig] ?? (sig >= 32 && sig <= NSIG ? `Real-time signal ${sig - 32}` : `Unknown signal ${sig}`);
}

type DefaultAction = 'term' | 'core' | 'ignore' | 'stop';

/** What SIG_DFL does (signal(7)). */
export function defaultAction(sig: number): DefaultAction {
  switch (sig) {
    case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH: return 'ignore';
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return 'stop';
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE: case SIGSEGV:
    case SIGXCPU: case SIGXFSZ: case SIGSYS: return 'core';
    default: return 'term';
  }
}

/** One signal's disposition: the kernel's riscv64 struct sigaction (no sa_restorer). */
export interface SigAction {
  handler: bigint;
  flags: bigint;
  mask: bigint;
}

export interface AltStack {
  sp: bigint;
  size: bigint;
  disabled: boolean;
}

export interface SignalState {
  actions: SigAction[];
  /** Blocked signals: bit (sig - 1). */
  mask: bigint;
  /** Sent while blocked: bit (sig - 1). */
  pending: bigint;
  /** Who sent each pending signal (si_code, si_pid), by signal number: a
   *  standard signal is pending once, with the first sender's siginfo. */
  pendingInfo: PendingInfo;
  altStack: AltStack;
  /** How many handlers are running (nested frames). */
  depth: number;
  /** Address of the rt_sigreturn trampoline, once mapped. */
  trampoline?: bigint;
  /** A signal's default action has ended the process. */
  ended: boolean;
}

const states = new WeakMap<ProcessVM, SignalState>();

// The signal state lives beside the process rather than in ProcessVM, so that
// this family of system calls is self-contained.
export function signalState(p: ProcessVM): SignalState {
  let s = states.get(p);
  if (!s) {
    s = {
      actions: Array.from({ length: NSIG + 1 }, () => ({ handler: SIG_DFL, flags: 0n, mask: 0n })),
      mask: 0n,
      pending: 0n,
      pendingInfo: {},
      altStack: { sp: 0n, size: 0n, disabled: true },
      depth: 0,
      ended: false,
    };
    states.set(p, s);
  }
  return s;
}

/** si_code and si_pid of pending signals, by signal number. */
export type PendingInfo = Record<number, { code: number; pid?: number; status?: number }>;

/** The signal state as a plain, versioned record, for checkpoints. */
export interface SignalRecord {
  version: 2;
  actions: Array<{ handler: bigint; flags: bigint; mask: bigint }>;
  mask: bigint;
  pending: bigint;
  pendingInfo: PendingInfo;
  altStack: AltStack;
  depth: number;
  trampoline?: bigint;
}

export function saveSignals(p: ProcessVM): SignalRecord {
  const s = signalState(p);
  return {
    version: 2,
    actions: s.actions.map((a) => ({ ...a })),
    mask: s.mask,
    pending: s.pending,
    pendingInfo: { ...s.pendingInfo },
    altStack: { ...s.altStack },
    depth: s.depth,
    trampoline: s.trampoline,
  };
}

export function restoreSignals(p: ProcessVM, r: SignalRecord): void {
  if (r.version !== 2) throw new Error(`signal state version ${r.version} is not 2`);
  if (r.actions.length !== NSIG + 1) throw new Error(`signal state has ${r.actions.length} actions, not ${NSIG + 1}`);
  const s = signalState(p);
  s.actions = r.actions.map((a) => ({ ...a }));
  s.mask = r.mask & ~UNBLOCKABLE;
  s.pending = r.pending;
  s.pendingInfo = { ...r.pendingInfo };
  s.altStack = { ...r.altStack };
  s.depth = r.depth;
  s.trampoline = r.trampoline;
  s.ended = false;
}

const bit = (sig: number) => 1n << BigInt(sig - 1);
/** SIGKILL and SIGSTOP can be neither caught nor blocked. */
const UNBLOCKABLE = bit(SIGKILL) | bit(SIGSTOP);

const diagnose = (p: ProcessVM, line: string) => p.diagnose(line);
/** strace's "--- SIGxxx ---" lines. */
const trace = (p: ProcessVM, line: string) => p.trace(line);

// ---- per-thread state ----

/** What each thread has of its own: the state a context switch swaps. */
export interface ThreadSignalRecord {
  mask: bigint;
  pending: bigint;
  pendingInfo: PendingInfo;
  altStack: AltStack;
  depth: number;
}

/** The state of a new thread: the creator's mask, nothing pending, no
 *  alternate stack (Linux clears it for CLONE_VM without CLONE_VFORK). */
export function newThreadSignals(p: ProcessVM): ThreadSignalRecord {
  return { mask: signalState(p).mask, pending: 0n, pendingInfo: {}, altStack: { sp: 0n, size: 0n, disabled: true }, depth: 0 };
}

/** The thread leaving the CPU: its part of SignalState. */
export function takeThreadSignals(p: ProcessVM): ThreadSignalRecord {
  const s = signalState(p);
  return { mask: s.mask, pending: s.pending, pendingInfo: s.pendingInfo, altStack: s.altStack, depth: s.depth };
}

/** The thread getting the CPU: its part into SignalState. */
export function putThreadSignals(p: ProcessVM, r: ThreadSignalRecord): void {
  const s = signalState(p);
  s.mask = r.mask;
  s.pending = r.pending;
  s.pendingInfo = r.pendingInfo;
  s.altStack = r.altStack;
  s.depth = r.depth;
}

/** A thread's own signal state, wherever it is kept now. */
function signalsOf(p: ProcessVM, t: Thread): ThreadSignalRecord {
  return t === p.threads.current ? signalState(p) : t.signals!;
}

/** Called when `t` has just got the CPU: takes the signals that arrived
 *  while it was away; after a sigsuspend, its own mask comes back (saved in
 *  the frame when a handler runs, as sysRtSigsuspend does). */
export function resumeThread(p: ProcessVM, t: Thread): void {
  // (A call interrupted while waiting for I/O runs again first: callEnded.)
  if (t.signalled) return;
  const entered = deliverUnblocked(p);
  if (t.restoreMask === undefined) return;
  if (entered) p.user.write64(p.cpu.x(2) + SIGINFO_BYTES + UC_SIGMASK, t.restoreMask);
  else signalState(p).mask = t.restoreMask;
  t.restoreMask = undefined;
}

/** Whether `sig`, sent now, would do anything (Linux drops ignored signals
 *  when they are sent, and a blocked thread is not woken for them). */
function wouldAct(p: ProcessVM, sig: number): boolean {
  if (sig === SIGKILL || sig === SIGSTOP) return true;
  const a = signalState(p).actions[sig];
  if (a.handler === SIG_IGN) return false;
  return a.handler !== SIG_DFL || defaultAction(sig) !== 'ignore';
}

/**
 * Sends `sig` to thread `t` that is not on the CPU: it is taken when `t` next
 * runs; a blocked `t` that does not block the signal is woken first, its
 * system call interrupted (EINTR); a `t` waiting for it in sigtimedwait takes
 * it there.
 */
function sendToOther(p: ProcessVM, t: Thread, sig: number, code: number, info: SigInfo = { code, pid: p.pid }): void {
  if (sig === SIGKILL) {
    terminateBySignal(p, sig);
    return;
  }
  if (!wouldAct(p, sig) && !(t.wait?.kind === 'sigwait' && (t.wait.set & bit(sig)) !== 0n)) return;
  const w = t.wait;
  if (w?.kind === 'sigwait' && (w.set & bit(sig)) !== 0n) {
    // The signal is taken either way; a siginfo that cannot be written
    // fails the waiter's call, as its copy_siginfo_to_user would.
    let result = BigInt(sig);
    try {
      writeSigInfo(p, w.info, sig, code, info.pid ?? p.pid);
    } catch (e) {
      if (!(e instanceof UserFault)) throw e;
      result = -BigInt(EFAULT);
    }
    p.threads.wake(t, result);
    return;
  }
  const r = signalsOf(p, t);
  markPending(r, sig, info);
  // A vfork parent's wait is not interrupted (its CPU is the child's): the
  // signal waits until the child has let go of it.
  if (w === undefined || w.kind === 'vfork' || (r.mask & bit(sig)) !== 0n) return;
  if (w.kind === 'io') {
    // The call stands on its ecall: it runs again before the signal is
    // taken (and fails with EINTR if it would wait again).
    t.wait = undefined;
    t.timeoutResult = undefined;
    t.signalled = true;
    return;
  }
  if (w.kind === 'sigsuspend') t.restoreMask = w.oldMask;
  p.threads.wake(t, -BigInt(EINTR));
}

function writeSigInfo(p: ProcessVM, at: bigint, sig: number, code: number, pid: number): void {
  if (at === 0n) return;
  const info = new DataView(new ArrayBuffer(Number(SIGINFO_BYTES)));
  info.setInt32(0, sig, true);
  info.setInt32(8, code, true);
  info.setInt32(16, pid, true);
  p.user.write(at, new Uint8Array(info.buffer));
}

/** Ends the process as the default action of `sig` would: the status a shell
 *  reports (128 + sig), after QEMU's wording of the event. */
export function terminateBySignal(p: ProcessVM, sig: number, detail?: string): void {
  const core = defaultAction(sig) === 'core';
  // The VM's first process is reported as qemu-riscv64 reports its guest;
  // a process it started dies as quietly as on Linux (its parent's wait
  // tells of it), unless ringvisor itself had a reason to kill it.
  if (p === p.processes.root || detail) {
    diagnose(p, `ringvisor: uncaught target signal ${sig} (${signalName(sig)}) - ${core ? 'core dumped' : 'no core'}`);
  }
  if (detail) diagnose(p, `ringvisor: ${detail}`);
  signalState(p).ended = true;
  p.termSignal = sig;
  p.exit(128 + sig);
}

// ---- signals between processes ----

/**
 * Sends `sig` from `from` to another process of the VM, `target` (kill).
 * It goes to the thread on the target's CPU unless that one blocks it and
 * another does not (complete_signal's choice); a thread it wakes has its
 * system call interrupted (EINTR). Handlers run, and default actions end the
 * target, when the target next gets the CPU (ProcessVM.runSlice).
 */
export function signalProcess(from: ProcessVM, target: ProcessVM, sig: number, code = SI_USER): void {
  if (target.exitStatus !== undefined || sig === 0) return;
  // (The kernel's own signals, SI_KERNEL, carry no sender.)
  const info: SigInfo = { code, pid: code === 0x80 ? 0 : from.pid };
  if (sig === SIGKILL) {
    // Nothing can catch it: the process ends now, silently (its killer knows).
    signalState(target).ended = true;
    target.termSignal = SIGKILL;
    target.exit(128 + SIGKILL);
    return;
  }
  const s = signalState(target);
  if (sig === SIGCONT) {
    // SIGCONT continues a stopped process whatever its action, and drops
    // the stop signals pending (prepare_signal).
    for (const t of [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]) dropPending(target, t);
    if (target.stopped) continueProcess(target);
  } else if (defaultAction(sig) === 'stop') {
    dropPending(target, SIGCONT);
    // A stop signal whose action is the default stops the process now,
    // wherever its threads are (their waits go on once it continues).
    if (sig === SIGSTOP || (s.actions[sig].handler === SIG_DFL && (s.mask & bit(sig)) === 0n)) {
      if (!target.stopped) stopProcess(target, sig);
      return;
    }
  }
  sendToProcess(target, sig, info);
}

// A pending signal of every thread of `p` is dropped.
function dropPending(p: ProcessVM, sig: number): void {
  for (const t of p.threads.all()) {
    const r = signalsOf(p, t);
    if (r.pending & bit(sig)) takePending(p, r, sig);
  }
}

/** CLD_STOPPED, CLD_CONTINUED: si_code of SIGCHLD when a child stops or continues. */
const CLD_STOPPED = 5, CLD_CONTINUED = 6;
/** sa_flags of SIGCHLD: no SIGCHLD when children stop or continue. */
const SA_NOCLDSTOP = 0x1n;

/** `p` stops (the default action of `sig`): it runs no more until SIGCONT;
 *  its parent may learn of it (wait4 WUNTRACED, SIGCHLD CLD_STOPPED). */
export function stopProcess(p: ProcessVM, sig: number): void {
  p.stopped = true;
  p.stateReport = { kind: 'stopped', sig };
  notifyStateChange(p, CLD_STOPPED, sig);
}

function continueProcess(p: ProcessVM): void {
  p.stopped = false;
  p.stateReport = { kind: 'continued', sig: SIGCONT };
  notifyStateChange(p, CLD_CONTINUED, SIGCONT);
}

function notifyStateChange(p: ProcessVM, code: number, status: number): void {
  p.processes.events.epoch++;
  const parent = p.parent;
  if (!parent || parent.exitStatus !== undefined) return;
  if ((signalState(parent).actions[SIGCHLD].flags & SA_NOCLDSTOP) !== 0n) return;
  sendToProcess(parent, SIGCHLD, { code, pid: p.pid, status });
}

// The common part of kill from another process and SIGCHLD.
function sendToProcess(target: ProcessVM, sig: number, info: SigInfo): void {
  const threads = target.threads, here = threads.current, s = signalState(target);
  if ((s.mask & bit(sig)) !== 0n) {
    const others = threads.all().filter((t) => t !== here);
    const taker = others.find((t) => t.wait?.kind === 'sigwait' && (t.wait.set & bit(sig)) !== 0n)
      ?? others.find((t) => (signalsOf(target, t).mask & bit(sig)) === 0n);
    if (taker) {
      sendToOther(target, taker, sig, info.code, info);
      return;
    }
  }
  sendToOther(target, here, sig, info.code, info);
  target.signalsArrived = true;
}

/** A child has ended: its parent gets `sig` (SIGCHLD) with si_code `code`
 *  (CLD_EXITED, CLD_KILLED), the child's pid and status. */
export function sendChildSignal(parent: ProcessVM, child: ProcessVM, sig: number, code: number, status: number): void {
  if (parent.exitStatus !== undefined || sig === 0) return;
  sendToProcess(parent, sig, { code, pid: child.pid, status });
}

/** What `p` does with its children's ends: 'ignore' (SIGCHLD set to
 *  SIG_IGN: reaped at once, no signal), 'reap' (SA_NOCLDWAIT with a
 *  handler: reaped at once, the signal still sent), or 'keep' (zombies
 *  until a wait). */
export function childEndPolicy(p: ProcessVM): 'ignore' | 'reap' | 'keep' {
  const a = signalState(p).actions[SIGCHLD];
  if (a.handler === SIG_IGN) return 'ignore';
  return (a.flags & SA_NOCLDWAIT) !== 0n ? 'reap' : 'keep';
}

/** Whether a call a signal interrupted starts again after it (Linux's
 *  -ERESTARTSYS): when the first signal to be taken has a handler with
 *  SA_RESTART, or no handler at all (ignored, or a stop). */
export function restartsAfterSignal(p: ProcessVM, neverAfterHandler = false): boolean {
  const s = signalState(p);
  for (let sig = 1; sig <= NSIG; sig++) {
    if ((s.pending & bit(sig)) === 0n || (s.mask & bit(sig)) !== 0n) continue;
    const a = s.actions[sig];
    if (a.handler === SIG_DFL || a.handler === SIG_IGN) return true;
    return !neverAfterHandler && (a.flags & SA_RESTART) !== 0n;
  }
  return true;
}

/** A call that ran again because a signal came while it waited has
 *  finished (its result is in a0): the signal is taken now. */
export function callEnded(p: ProcessVM): void {
  const t = p.threads.current;
  if (!t.signalled && t.ioMask === undefined) return;
  const entered = t.signalled ? deliverUnblocked(p) : false;
  t.signalled = false;
  // ppoll and pselect6 waited with the mask they were given: the thread's
  // own comes back (into the frame, when a handler was entered).
  if (t.ioMask !== undefined) {
    if (entered) p.user.write64(p.cpu.x(2) + SIGINFO_BYTES + UC_SIGMASK, t.ioMask);
    else signalState(p).mask = t.ioMask;
    t.ioMask = undefined;
  }
}

/** ppoll and pselect6 about to wait: `mask` applies while they wait (the
 *  thread's own is kept, once, across the call's runs: callEnded). */
export function waitWithMask(p: ProcessVM, mask: bigint): void {
  const t = p.threads.current, s = signalState(p);
  if (t.ioMask === undefined) t.ioMask = s.mask;
  s.mask = mask & ~UNBLOCKABLE;
  // A signal already pending that the mask lets through interrupts the
  // wait before it begins.
  if ((s.pending & ~s.mask) !== 0n) t.signalled = true;
}

/** Takes the signals other processes sent while `p` was off the CPU. */
export function deliverPendingSignals(p: ProcessVM): void {
  // As when a thread gets the CPU back: a sigsuspend's mask comes back too.
  if (p.threads.current.wait === undefined) resumeThread(p, p.threads.current);
}

/** The signal state of a new process (fork): the parent's actions, mask and
 *  alternate stack; nothing pending. */
export function forkSignals(parent: ProcessVM, child: ProcessVM): void {
  const from = signalState(parent), to = signalState(child);
  to.actions = from.actions.map((a) => ({ ...a }));
  to.mask = from.mask;
  to.altStack = { ...from.altStack };
  to.depth = from.depth;
  to.trampoline = from.trampoline;
}

/** execve: handled signals return to their default actions (ignored ones
 *  stay ignored), the alternate stack goes, the mask and pending signals stay. */
export function execSignals(p: ProcessVM): void {
  const s = signalState(p);
  s.actions = s.actions.map((a) => (a.handler === SIG_IGN ? { handler: SIG_IGN, flags: 0n, mask: 0n } : { handler: SIG_DFL, flags: 0n, mask: 0n }));
  s.altStack = { sp: 0n, size: 0n, disabled: true };
  s.depth = 0;
  s.trampoline = undefined;
}

export interface SigInfo {
  code: number;
  /** si_pid and si_uid for signals sent by a process; si_addr for faults. */
  pid?: number;
  addr?: bigint;
  /** SIGCHLD: the child's exit code or signal (si_status). */
  status?: number;
}

/**
 * Takes the action of `sig` now, for a process stopped at a system call or a
 * fault. Returns whether a handler was entered (the CPU then stands at the
 * handler with a0 = sig); otherwise the signal was ignored, left pending
 * (blocked), or ended the process (p.exit was called).
 */
export function raiseSignal(p: ProcessVM, sig: number, info: SigInfo): boolean {
  const s = signalState(p);
  if (s.mask & bit(sig) & ~UNBLOCKABLE) {
    markPending(s, sig, info);
    return false;
  }
  return act(p, sig, info);
}

function markPending(r: ThreadSignalRecord, sig: number, info: SigInfo): void {
  if ((r.pending & bit(sig)) === 0n) r.pendingInfo[sig] = info.status === undefined ? { code: info.code, pid: info.pid } : { code: info.code, pid: info.pid, status: info.status };
  r.pending |= bit(sig);
}

/** Takes `sig` off the pending set; what its sender put in the siginfo. */
function takePending(p: ProcessVM, r: ThreadSignalRecord, sig: number): SigInfo {
  r.pending &= ~bit(sig);
  const info = r.pendingInfo[sig] ?? { code: SI_TKILL, pid: p.pid };
  delete r.pendingInfo[sig];
  return info;
}

/**
 * For a synchronous fault (SIGSEGV, SIGBUS, SIGILL, SIGTRAP) at the
 * instruction the CPU stands on: enters the guest's handler, with the
 * faulting pc saved in the frame, and returns true. Returns false when the
 * default action must end the process (no handler, or the signal is blocked or
 * ignored: Linux's force_sig_fault then kills), leaving the message and the
 * status to the caller, which knows the fault's details.
 */
export function deliverFault(p: ProcessVM, sig: number, code: number, addr: bigint): boolean {
  const s = signalState(p);
  const a = s.actions[sig];
  if ((s.mask & bit(sig)) !== 0n || a.handler === SIG_DFL || a.handler === SIG_IGN) return false;
  try {
    enterHandler(p, sig, a, { code, addr });
  } catch (e) {
    if (!(e instanceof GuestMemoryError)) throw e;
    return false;
  }
  return true;
}

function act(p: ProcessVM, sig: number, info: SigInfo): boolean {
  const s = signalState(p);
  const a = s.actions[sig];
  if (a.handler === SIG_IGN && sig !== SIGKILL && sig !== SIGSTOP) return false;
  if (a.handler === SIG_DFL || sig === SIGKILL || sig === SIGSTOP) {
    const what = defaultAction(sig);
    if (what === 'ignore') return false;
    if (what === 'stop') {
      // With other processes one of them may continue it (SIGCONT).
      if (!p.processes.alone) {
        stopProcess(p, sig);
        return false;
      }
      // Alone, nothing could continue it: Linux would leave it stopped
      // forever. Say so rather than hang.
      diagnose(p, `ringvisor: signal ${sig} (${signalName(sig)}) would stop the process, which nothing could continue; ignored`);
      return false;
    }
    terminateBySignal(p, sig);
    return false;
  }
  try {
    enterHandler(p, sig, a, info);
  } catch (e) {
    if (!(e instanceof GuestMemoryError)) throw e;
    // Linux: a frame that cannot be written is a SIGSEGV (force_sigsegv).
    terminateBySignal(p, SIGSEGV, `cannot write the frame for signal ${sig} at 0x${e.addr.toString(16)}`);
    return false;
  }
  return true;
}

// ---- the signal frame (arch/riscv/include/uapi/asm/{ucontext,sigcontext}.h) ----
const SIGINFO_BYTES = 128n;
/** uc_flags, uc_link, uc_stack (24), uc_sigmask (8), 120 bytes reserved, then mcontext aligned to 16. */
const UC_STACK = 16n;
const UC_SIGMASK = 40n;
const UC_MCONTEXT = 176n;
/** mcontext: user_regs_struct (pc, x1..x31), then the FP state union (f[32], fcsr; 528 bytes for Q). */
const MC_FPREGS = 256n;
const MC_FCSR = MC_FPREGS + 256n;
const UCONTEXT_BYTES = UC_MCONTEXT + 256n + 528n;
const FRAME_BYTES = SIGINFO_BYTES + UCONTEXT_BYTES;
/** li a7, 139 (addi a7, x0, 139); ecall. */
const TRAMPOLINE_CODE = new Uint8Array(new Uint32Array([0x08b00893, 0x00000073]).buffer);
const PAGE = 4096n;

// The page the handlers return to: mapped read+execute once, as high as it
// fits below the stack (where Linux puts the vDSO, near the stack).
function trampoline(p: ProcessVM): bigint {
  const s = signalState(p);
  if (s.trampoline !== undefined) return s.trampoline;
  const m = p.memory;
  const at = m.space.findFree(PAGE, pageUp(m.brk), m.mmapTop);
  if (at === undefined) throw new GuestMemoryError(m.mmapTop, Number(PAGE));
  m.space.map(at, PAGE, Perm.R | Perm.X);
  // Ring -1's own page, read-only to the guest: written before the guest
  // can see it, so not through p.user (which would refuse it).
  p.cpu.writeBytes(at, TRAMPOLINE_CODE);
  s.trampoline = at;
  return at;
}

function enterHandler(p: ProcessVM, sig: number, a: SigAction, info: SigInfo): void {
  const cpu = p.cpu;
  const s = signalState(p);
  const sp = cpu.x(2);
  const alt = s.altStack;
  const onAlt = !alt.disabled && sp > alt.sp && sp <= alt.sp + alt.size;
  let top = sp;
  if ((a.flags & SA_ONSTACK) !== 0n && !alt.disabled && !onAlt) top = alt.sp + alt.size;
  const frame = (top - FRAME_BYTES) & ~15n;
  // The whole frame must be writable by the guest before anything changes.
  p.user.check(frame, Number(FRAME_BYTES), 'write');
  const ret = trampoline(p);

  // siginfo: si_signo, si_errno, si_code, then the union at offset 16.
  const v = new DataView(new ArrayBuffer(Number(FRAME_BYTES)));
  v.setInt32(0, sig, true);
  v.setInt32(8, info.code, true);
  if (info.addr !== undefined) v.setBigUint64(16, info.addr, true);
  else if (info.pid !== undefined) { v.setInt32(16, info.pid, true); v.setInt32(20, 0, true); }
  // SIGCHLD's _sigchld: si_status after si_pid and si_uid.
  if (info.status !== undefined) v.setInt32(24, info.status, true);

  const uc = Number(SIGINFO_BYTES);
  v.setBigUint64(uc + Number(UC_STACK), alt.sp, true);
  v.setInt32(uc + Number(UC_STACK) + 8, alt.disabled ? SS_DISABLE : onAlt ? SS_ONSTACK : 0, true);
  v.setBigUint64(uc + Number(UC_STACK) + 16, alt.size, true);
  v.setBigUint64(uc + Number(UC_SIGMASK), s.mask, true);
  const mc = uc + Number(UC_MCONTEXT);
  v.setBigUint64(mc, cpu.pc, true);
  for (let r = 1; r < 32; r++) v.setBigUint64(mc + r * 8, cpu.x(r), true);
  for (let r = 0; r < 32; r++) v.setBigUint64(mc + Number(MC_FPREGS) + r * 8, cpu.f(r), true);
  v.setUint32(mc + Number(MC_FCSR), cpu.fcsr, true);
  p.user.write(frame, new Uint8Array(v.buffer));

  s.mask |= a.mask & ~UNBLOCKABLE;
  if ((a.flags & SA_NODEFER) === 0n) s.mask |= bit(sig);
  if ((a.flags & SA_RESETHAND) !== 0n) s.actions[sig] = { handler: SIG_DFL, flags: 0n, mask: 0n };
  s.depth++;
  // A call waiting to run again after an I/O wait starts afresh once the
  // handler returns: the handler's own calls must not inherit its deadline.
  p.threads.callDone();
  trace(p, `--- signal ${sig} (${signalName(sig)}) si_code=${info.code}${info.addr !== undefined ? ` si_addr=0x${info.addr.toString(16)}` : ''}: handler 0x${a.handler.toString(16)} on a frame at 0x${frame.toString(16)} ---`);

  cpu.setX(2, frame);
  cpu.setX(1, ret);
  cpu.setX(10, BigInt(sig));
  cpu.setX(11, frame);
  cpu.setX(12, frame + SIGINFO_BYTES);
  cpu.pc = a.handler;
}

// rt_sigreturn(): the state the handler interrupted, from the frame at sp.
// Returns the restored a0, which the system-call layer writes back into a0.
function sysRtSigreturn(p: ProcessVM): bigint {
  const cpu = p.cpu;
  const s = signalState(p);
  const frame = cpu.x(2);
  let bytes: Uint8Array;
  try {
    bytes = p.user.read(frame, Number(SIGINFO_BYTES + UCONTEXT_BYTES));
  } catch (e) {
    if (!(e instanceof GuestMemoryError)) throw e;
    terminateBySignal(p, SIGSEGV, `rt_sigreturn with no signal frame at sp 0x${frame.toString(16)}`);
    return 0n;
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const uc = Number(SIGINFO_BYTES);
  const mc = uc + Number(UC_MCONTEXT);
  s.mask = v.getBigUint64(uc + Number(UC_SIGMASK), true) & ~UNBLOCKABLE;
  cpu.pc = v.getBigUint64(mc, true);
  for (let r = 1; r < 32; r++) cpu.setX(r, v.getBigUint64(mc + r * 8, true));
  for (let r = 0; r < 32; r++) cpu.setF(r, v.getBigUint64(mc + Number(MC_FPREGS) + r * 8, true));
  cpu.fcsr = v.getUint32(mc + Number(MC_FCSR), true);
  if (s.depth > 0) s.depth--;
  deliverUnblocked(p);
  return cpu.x(10);
}

/** Takes the action of every pending signal the mask no longer blocks. */
function deliverUnblocked(p: ProcessVM): boolean {
  const s = signalState(p);
  for (let sig = 1; sig <= NSIG; sig++) {
    if ((s.pending & bit(sig)) !== 0n && (s.mask & bit(sig)) === 0n) {
      const entered = act(p, sig, takePending(p, s, sig));
      // One handler at a time: the rest stay pending behind its mask.
      if (entered) return true;
    }
  }
  return false;
}

// ---- system calls ----

function validSignal(sig: bigint): boolean {
  return sig >= 1n && sig <= BigInt(NSIG);
}

// rt_sigaction(sig, act, oldact, sigsetsize): the kernel's struct sigaction
// on riscv64 is { handler u64, flags u64, mask u64 } (no sa_restorer: riscv
// does not define SA_RESTORER; include/uapi/asm-generic/signal.h).
// In sys_rt_sigaction's order: the new action is read (EFAULT) before the
// signal is looked at, and the old one written (EFAULT) after the new one
// is in place.
function sysRtSigaction(p: ProcessVM, [sigArg, actPtr, oldPtr, setsize]: bigint[]): bigint {
  if (setsize !== 8n) return -BigInt(EINVAL);
  const act = actPtr !== 0n ? p.user.struct(actPtr, 24) : undefined;
  if (!validSignal(sigArg)) return -BigInt(EINVAL);
  const sig = Number(sigArg);
  const s = signalState(p);
  if (act && (sig === SIGKILL || sig === SIGSTOP)) return -BigInt(EINVAL);
  const old = s.actions[sig];
  if (act) {
    s.actions[sig] = { handler: act.getBigUint64(0, true), flags: act.getBigUint64(8, true), mask: act.getBigUint64(16, true) & ~UNBLOCKABLE };
    // Setting SIG_IGN (or SIG_DFL for a signal ignored by default) discards it if pending.
    const now = s.actions[sig];
    if (now.handler === SIG_IGN || (now.handler === SIG_DFL && defaultAction(sig) === 'ignore')) {
      for (const t of p.threads.all()) takePending(p, signalsOf(p, t), sig);
    }
  }
  if (oldPtr !== 0n) p.user.writeWords(oldPtr, [old.handler, old.flags, old.mask]);
  return 0n;
}

const SIG_BLOCK = 0n, SIG_UNBLOCK = 1n, SIG_SETMASK = 2n;

function sysRtSigprocmask(p: ProcessVM, [how, setPtr, oldPtr, setsize]: bigint[]): bigint {
  if (setsize !== 8n) return -BigInt(EINVAL);
  const cpu = p.cpu;
  const s = signalState(p);
  const old = s.mask;
  if (setPtr !== 0n) {
    const set = p.user.read64(setPtr);
    if (how === SIG_BLOCK) s.mask = old | set;
    else if (how === SIG_UNBLOCK) s.mask = old & ~set;
    else if (how === SIG_SETMASK) s.mask = set;
    else return -BigInt(EINVAL);
    s.mask &= ~UNBLOCKABLE;
  }
  // The new mask is in place before the old one is written: a bad old
  // pointer is EFAULT with the mask changed, as in sys_rt_sigprocmask.
  let result = 0n;
  if (oldPtr !== 0n) {
    try {
      p.user.write64(oldPtr, old);
    } catch (e) {
      if (!(e instanceof UserFault)) throw e;
      result = -BigInt(EFAULT);
    }
  }
  cpu.setX(10, result);
  if (setPtr !== 0n && deliverUnblocked(p)) {
    // A handler was entered: the frame holds this call's result in a0.
    return cpu.x(10);
  }
  return result;
}

function sysRtSigpending(p: ProcessVM, [setPtr, setsize]: bigint[]): bigint {
  if (setsize > 8n) return -BigInt(EINVAL);
  const s = signalState(p);
  // sigsetsize bytes of the set are copied out, as do_sigpending's caller does.
  const set = new Uint8Array(8);
  new DataView(set.buffer).setBigUint64(0, s.pending & s.mask, true);
  p.user.write(setPtr, set.subarray(0, Number(setsize)));
  return 0n;
}

// rt_sigsuspend(mask, sigsetsize): waits with `mask` for a signal that runs a
// handler or ends the process; -EINTR once the handler returns, with the mask
// from before the call back in place (the frame saves that one).
function sysRtSigsuspend(p: ProcessVM, [maskPtr, setsize]: bigint[]): bigint {
  if (setsize !== 8n) return -BigInt(EINVAL);
  const mask = p.user.read64(maskPtr);
  const s = signalState(p);
  const old = s.mask;
  s.mask = mask & ~UNBLOCKABLE;
  p.cpu.setX(10, -BigInt(EINTR));
  if (deliverUnblocked(p)) {
    p.user.write64(p.cpu.x(2) + SIGINFO_BYTES + UC_SIGMASK, old);
    return p.cpu.x(10);
  }
  if (s.ended) return 0n;
  // Another thread may send the signal; with none, block() ends the process.
  if (p.threads.count === 1 && !p.processes.schedules) s.mask = old;
  return p.threads.block({ kind: 'sigsuspend', oldMask: old }, -BigInt(EINTR), 'in rt_sigsuspend');
}

// rt_sigtimedwait(set, info, timeout, sigsetsize): takes a pending signal of
// `set` without running its handler and returns its number; otherwise waits
// out the timeout (EAGAIN), or forever.
// In the kernel's order: the set and the timeout are read (EFAULT) and the
// timeout checked (EINVAL) before any signal is taken; the siginfo is
// written after, so a bad info pointer is EFAULT with the signal consumed.
function sysRtSigtimedwait(p: ProcessVM, [setPtr, infoPtr, timeout, setsize]: bigint[]): bigint {
  if (setsize !== 8n) return -BigInt(EINVAL);
  const set = p.user.read64(setPtr) & ~UNBLOCKABLE;
  let wait: bigint | undefined;
  if (timeout !== 0n) {
    wait = readTimespec(p, timeout);
    if (wait === undefined) return -BigInt(EINVAL);
  }
  const s = signalState(p);
  for (let sig = 1; sig <= NSIG; sig++) {
    if ((s.pending & set & bit(sig)) !== 0n) {
      const taken = takePending(p, s, sig);
      writeSigInfo(p, infoPtr, sig, taken.code, taken.pid ?? p.pid);
      return BigInt(sig);
    }
  }
  const deadline = wait === undefined ? undefined : p.clock.nowNs() + wait;
  return p.threads.block({ kind: 'sigwait', set, info: infoPtr, deadline }, -BigInt(EAGAIN), 'in rt_sigtimedwait');
}

// sigaltstack(ss, old_ss): stack_t is { ss_sp u64, ss_flags i32 (+4 pad), ss_size u64 }.
function sysSigaltstack(p: ProcessVM, [ssPtr, oldPtr]: bigint[]): bigint {
  const cpu = p.cpu;
  const s = signalState(p);
  const alt = s.altStack;
  const sp = cpu.x(2);
  const onAlt = !alt.disabled && sp > alt.sp && sp <= alt.sp + alt.size;
  // As sys_sigaltstack: the new stack is read (EFAULT) first, and the old one
  // written after the new one is in place.
  const ss = ssPtr !== 0n ? p.user.struct(ssPtr, 24) : undefined;
  if (ss) {
    if (onAlt) return -BigInt(EPERM);
    const flags = ss.getUint32(8, true);
    if (flags & ~(SS_DISABLE | SS_ONSTACK | (1 << 31))) return -BigInt(EINVAL);
    if (flags & SS_DISABLE) s.altStack = { sp: 0n, size: 0n, disabled: true };
    else {
      const size = ss.getBigUint64(16, true);
      if (size < MINSIGSTKSZ) return -BigInt(ENOMEM);
      s.altStack = { sp: ss.getBigUint64(0, true), size, disabled: false };
    }
  }
  if (oldPtr !== 0n) p.user.writeWords(oldPtr, [alt.sp, BigInt(alt.disabled ? SS_DISABLE : onAlt ? SS_ONSTACK : 0), alt.size]);
  return 0n;
}

// A signal to this process (its only thread). Returns the system call's
// result, except when a handler was entered: then a0 must hold the signal
// number for the handler, and the saved frame holds the 0 this call returns.
function sendToSelf(p: ProcessVM, sig: bigint, code: number): bigint {
  if (sig === 0n) return 0n;
  if (!validSignal(sig)) return -BigInt(EINVAL);
  p.cpu.setX(10, 0n);
  const entered = raiseSignal(p, Number(sig), { code, pid: p.pid });
  return entered ? p.cpu.x(10) : 0n;
}

// A signal to the whole process goes, as Linux's complete_signal picks, to
// the calling thread unless it blocks the signal, else to a thread waiting
// for it in sigtimedwait, else to one that does not block it; blocked
// everywhere, it stays pending on the caller.
function sysKill(p: ProcessVM, [pid, sig]: bigint[]): bigint {
  const target = Number(BigInt.asIntN(32, pid));
  // -INT_MIN names no group (kill_something_info).
  if (target === -0x8000_0000) return -BigInt(ESRCH);
  // pid > 0: that process; 0: the caller's process group; -1: every
  // process but init and the caller; below -1: the group -pid.
  // (Zombies count as targets, as on Linux, and take nothing.)
  let targets: ProcessVM[];
  const all = p.processes.everyone();
  if (target > 0) targets = all.filter((q) => q.pid === target);
  else if (target === -1) targets = all.filter((q) => q !== p);
  else {
    const group = target === 0 ? p.pgid : -target;
    targets = all.filter((q) => q.pgid === group);
  }
  // Linux finds the targets (ESRCH) before it checks the signal (EINVAL),
  // then the permission (EPERM): kill -1 and a group skip those it may not
  // signal, and fail only if it may signal none.
  if (targets.length === 0) return -BigInt(ESRCH);
  if (!validSignal(sig) && sig !== 0n) return -BigInt(EINVAL);
  const allowed = targets.filter((q) => maySignal(p, q));
  if (allowed.length === 0) return -BigInt(EPERM);
  if (sig === 0n) return 0n;
  const n = Number(sig);
  for (const q of allowed) if (q !== p) signalProcess(p, q, n);
  return allowed.includes(p) ? killSelf(p, n) : 0n;
}

// check_kill_permission: root (effective uid 0) signals anyone; otherwise the
// sender's real or effective uid must be the target's real or saved one.
function maySignal(from: ProcessVM, to: ProcessVM): boolean {
  const a = from.ids, b = to.ids;
  if (a.euid === 0 || from === to) return true;
  return a.euid === b.suid || a.euid === b.ruid || a.ruid === b.suid || a.ruid === b.ruid;
}

// A signal to the whole calling process goes, as Linux's complete_signal
// picks, to the calling thread unless it blocks the signal, else to a thread
// waiting for it in sigtimedwait, else to one that does not block it;
// blocked everywhere, it stays pending on the caller.
function killSelf(p: ProcessVM, n: number): bigint {
  const here = p.threads.current;
  if ((signalState(p).mask & bit(n)) !== 0n) {
    const others = p.threads.all().filter((t) => t !== here);
    const taker = others.find((t) => t.wait?.kind === 'sigwait' && (t.wait.set & bit(n)) !== 0n)
      ?? others.find((t) => (signalsOf(p, t).mask & bit(n)) === 0n);
    if (taker) {
      sendToOther(p, taker, n, SI_USER);
      return 0n;
    }
  }
  return sendToSelf(p, BigInt(n), SI_USER);
}

/** tkill and tgkill: to one thread of this process. */
function sendToThread(p: ProcessVM, tid: bigint, sig: bigint): bigint {
  const t = p.threads.find(Number(tid));
  if (!t) return -BigInt(ESRCH);
  if (t === p.threads.current) return sendToSelf(p, sig, SI_TKILL);
  if (sig === 0n) return 0n;
  if (!validSignal(sig)) return -BigInt(EINVAL);
  sendToOther(p, t, Number(sig), SI_TKILL);
  return 0n;
}

function sysTkill(p: ProcessVM, [tid, sig]: bigint[]): bigint {
  const t = BigInt.asIntN(32, tid);
  if (t <= 0n) return -BigInt(EINVAL);
  return sendToThread(p, t, sig);
}

function sysTgkill(p: ProcessVM, [tgid, tid, sig]: bigint[]): bigint {
  const g = BigInt.asIntN(32, tgid);
  const t = BigInt.asIntN(32, tid);
  if (g <= 0n || t <= 0n) return -BigInt(EINVAL);
  if (g !== BigInt(p.pid)) {
    // A thread of another process: its process gets it (our processes'
    // other threads are not told apart from the process here).
    const q = p.processes.find(Number(g));
    if (!q || q.exitStatus !== undefined || !q.threads.find(Number(t))) return -BigInt(ESRCH);
    if (sig !== 0n && !validSignal(sig)) return -BigInt(EINVAL);
    if (sig !== 0n) signalProcess(p, q, Number(sig), SI_TKILL);
    return 0n;
  }
  return sendToThread(p, t, sig);
}

export const SIGNAL_SYSCALLS: SyscallFamily = [
  [129, { name: 'kill', argc: 2, handler: sysKill }],
  [130, { name: 'tkill', argc: 2, handler: sysTkill }],
  [131, { name: 'tgkill', argc: 3, handler: sysTgkill }],
  [132, { name: 'sigaltstack', argc: 2, handler: sysSigaltstack }],
  [133, { name: 'rt_sigsuspend', argc: 2, handler: sysRtSigsuspend }],
  [134, { name: 'rt_sigaction', argc: 4, handler: sysRtSigaction }],
  [135, { name: 'rt_sigprocmask', argc: 4, handler: sysRtSigprocmask }],
  [136, { name: 'rt_sigpending', argc: 2, handler: sysRtSigpending }],
  [137, { name: 'rt_sigtimedwait', argc: 4, handler: sysRtSigtimedwait }],
  [139, { name: 'rt_sigreturn', argc: 0, handler: (p) => sysRtSigreturn(p) }],
];
