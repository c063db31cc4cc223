// Guest threads: virtual harts that share one guest memory and the one CPU
// instance of their process VM, scheduled on the host's single thread by
// instruction budgets (preemptive round robin in creation order, so a run is
// deterministic for a given slice length).
//
// The thread on the CPU keeps its registers in the CPU's linear memory and its
// signal mask, pending set and alternate stack in the process's SignalState;
// a thread off the CPU keeps copies of both in its Thread record. A switch
// copies one out and the other in (one 528-byte block plus a few fields) and
// breaks the LR/SC reservation, as a context switch does on Linux (the kernel
// issues an SC to a dummy address on every trap return).
//
// A thread that blocks (futex, sleep, sigsuspend, sigtimedwait) leaves the CPU
// with a Wait; whoever wakes it writes the system call's result into its
// saved a0. A thread waiting for I/O (a pipe, ppoll) is different: its pc is
// put back on the `ecall` and the call runs again once any pipe has changed,
// as Linux restarts a call (the deadline it had is kept, restart_block-like).
// When no thread can run, the scheduler lets the clock run to the earliest
// deadline; with none, every thread waits forever: a deadlock, which ends
// the process with a message rather than hanging the host.
import { CONTEXT_X, CONTEXT_PC } from '../cpu/cpu.js';
import type { ProcessVM } from './process-vm.js';
import { earliestOf, nextInTurn } from '../hypervisor/scheduler.js';
import { type ThreadSignalRecord, takeThreadSignals, putThreadSignals, resumeThread, restartsAfterSignal } from './sys/signals.js';

/** Why a thread is off the CPU, as plain data (a checkpoint can hold it). */
export type Wait =
  | { kind: 'futex'; addr: bigint; bitset: number; seq: number; deadline?: bigint; shared?: string }
  | { kind: 'sleep'; deadline: bigint }
  | { kind: 'sigsuspend'; oldMask: bigint }
  | { kind: 'sigwait'; set: bigint; info: bigint; deadline?: bigint }
  | { kind: 'io'; epoch: number; deadline?: bigint }
  /** vfork: until the child calls execve or ends (ProcessVM.releaseVforkParent). */
  | { kind: 'vfork'; child: number };

/** Deadlines are on the clock's monotonic time (Clock.nowNs), in ns. */
export interface Thread {
  readonly tid: number;
  /** Registers (Cpu.saveContext) while off the CPU. */
  context?: Uint8Array;
  /** Signal mask, pending signals and alternate stack while off the CPU. */
  signals?: ThreadSignalRecord;
  /** set_tid_address / CLONE_CHILD_CLEARTID: zeroed and woken at exit. */
  clearChildTid: bigint;
  robustList: bigint;
  robustListLen: bigint;
  /** Why it is not runnable. */
  wait?: Wait;
  /** The result a0 gets when the wait's deadline passes. */
  timeoutResult?: bigint;
  /** sigsuspend: the mask to restore once the waking signal is handled. */
  restoreMask?: bigint;
  /** A call restarted after an I/O wait keeps the deadline it first had. */
  restartDeadline?: bigint;
  /** A signal came while it waited for I/O: its call runs again first (and
   *  fails with EINTR if it would wait again), then the signal is taken, as
   *  Linux returns from the call before it runs the handler. */
  signalled?: boolean;
  /** Its call is to run again after the signal's handler (SA_RESTART). */
  restartAfterSignal?: boolean;
  /** ppoll/pselect6 with a signal mask: the thread's own mask meanwhile. */
  ioMask?: bigint;
  exited: boolean;
}

/** Exit status of a process that would have hung forever: what timeout(1)
 *  reports, as for --timeout and --max-instructions. */
export const DEADLOCK_EXIT_STATUS = 124;

/** Instructions a thread runs before the next runnable one gets the CPU
 *  (about a millisecond at the interpreter's speed: a 1000 Hz tick). */
export const DEFAULT_THREAD_SLICE = 200_000n;

export class ThreadGroup {
  /** Live threads in creation order: the round-robin order. */
  private readonly list: Thread[] = [];
  private waitSeq = 0;
  current: Thread;
  /** The thread group leader's exit status, once it has exited alone. */
  private leaderStatus?: number;
  /** sched_yield asked for the CPU to go to another thread. */
  private yielded = false;
  /** Context switches so far (for --stats). */
  switches = 0;
  /** Threads ever created, the first included. */
  created = 1;
  peak = 1;

  constructor(private readonly p: ProcessVM, readonly pid: number) {
    this.current = { tid: pid, clearChildTid: 0n, robustList: 0n, robustListLen: 0n, exited: false };
    this.list.push(this.current);
  }

  // Whether this is the VM's only thread: then nothing but a deadline can
  // end a wait, and waits are resolved at once (block).
  private get alone(): boolean { return this.list.length === 1 && !this.p.processes.schedules; }

  /** Whether the thread on the CPU waits (it cannot run on as it is). */
  get waiting(): boolean { return this.current.wait !== undefined || this.current.exited; }

  get count(): number { return this.list.length; }
  all(): readonly Thread[] { return this.list; }
  find(tid: number): Thread | undefined { return this.list.find((t) => t.tid === tid); }

  /** A new thread from a copy of the current one's registers, runnable but
   *  not yet on the CPU; `init` fixes up its context (a0, sp, tp). */
  spawn(signals: ThreadSignalRecord, init: (context: DataView) => void): Thread {
    const context = this.p.cpu.saveContext();
    init(new DataView(context.buffer));
    const t: Thread = { tid: this.p.processes.allocateId(), context, signals, clearChildTid: 0n, robustList: 0n, robustListLen: 0n, exited: false };
    this.list.push(t);
    this.created++;
    if (this.list.length > this.peak) this.peak = this.list.length;
    return t;
  }

  /**
   * Takes the current thread off the CPU until `wait` ends. With no other
   * thread in the process nothing could end it but its deadline: then the
   * wait is resolved at once (the clock runs to the deadline and the result
   * is `timeoutResult`), or it is a deadlock (the process ends with a
   * message). Otherwise the thread is marked waiting, and the return value
   * is a placeholder: the waker writes the real result into its saved a0.
   */
  block(wait: Wait, timeoutResult: bigint, what: string): bigint {
    if (this.alone) {
      const deadline = 'deadline' in wait ? wait.deadline : undefined;
      if (deadline === undefined) {
        this.p.diagnose(`ringvisor: deadlock: the only thread waits forever ${what} at pc 0x${this.p.cpu.exit.pc.toString(16)}`);
        this.p.exit(DEADLOCK_EXIT_STATUS);
        return 0n;
      }
      // The result is decided now; with the host clock the run loop waits
      // until the deadline before the thread runs again (ProcessVM.idleTo).
      this.p.idleTo(deadline);
      return timeoutResult;
    }
    if (wait.kind === 'futex') wait.seq = this.waitSeq++;
    this.current.wait = wait;
    this.current.timeoutResult = timeoutResult;
    return 0n;
  }

  /**
   * Takes the current thread off the CPU until a pipe changes or `deadline`
   * passes, for a call that found its descriptors not ready; the call then
   * runs again from its `ecall` (or returns `timeoutResult` at the deadline).
   * Alone in its process, the thread would wait for nothing: as block().
   */
  blockForIo(deadline: bigint | undefined, timeoutResult: bigint, what: string, neverAfterHandler = false): bigint {
    const t = this.current;
    // Run again because of a signal, and still not ready: interrupted. The
    // call starts again once the handler returns when its SA_RESTART asks
    // for that (or no handler runs), as Linux's -ERESTARTSYS does; else EINTR.
    // poll, select and epoll (`neverAfterHandler`, -ERESTARTNOHAND) start
    // again only when no handler runs.
    if (t.signalled) {
      if (!restartsAfterSignal(this.p, neverAfterHandler)) return -4n; // -EINTR
      t.restartAfterSignal = true;
      this.p.cpu.pc = this.p.cpu.pc - 4n; // back onto the ecall, a0 as it was
      return 0n;
    }
    // Alone, only a deadline could end the wait; unless the host feeds
    // stdin as it arrives: then the thread waits for it as for a pipe.
    if (this.alone && !this.p.hostMayWake) return this.block({ kind: 'io', epoch: 0, deadline }, timeoutResult, what);
    t.wait = { kind: 'io', epoch: this.p.files.ioEvents.epoch, deadline };
    t.timeoutResult = timeoutResult;
    t.restartDeadline = deadline;
    this.p.cpu.pc = this.p.cpu.pc - 4n; // back onto the ecall (always 4 bytes)
    return 0n;
  }

  /** The deadline of a wait of `ns` from now, or the one a restarted call
   *  had when it first waited. */
  deadlineAfter(ns: bigint): bigint {
    return this.current.restartDeadline ?? this.p.clock.nowNs() + ns;
  }

  /** Whether the current thread's call is to run again (its a0 still holds
   *  the call's first argument, which the result must not overwrite). */
  get restarting(): boolean { return this.current.wait?.kind === 'io' || this.current.restartAfterSignal === true; }

  /** The call has finished: a later one starts with no remembered deadline. */
  callDone(): void { this.current.restartDeadline = undefined; }

  /** The FIFO sequence number for a futex waiter moved to another queue. */
  requeued(): number { return this.waitSeq++; }

  /** Ends `t`'s wait; its system call returns `result`. */
  wake(t: Thread, result: bigint): void {
    // A call waiting for I/O stands on its ecall: step past it, as a return would.
    const pcStep = t.wait?.kind === 'io' ? 4n : 0n;
    t.wait = undefined;
    t.timeoutResult = undefined;
    t.restartDeadline = undefined;
    if (t === this.current) {
      this.p.cpu.setX(10, result);
      this.p.cpu.pc = this.p.cpu.pc + pcStep;
    } else {
      const c = new DataView(t.context!.buffer);
      c.setBigUint64(CONTEXT_X(10), BigInt.asUintN(64, result), true);
      c.setBigUint64(CONTEXT_PC, c.getBigUint64(CONTEXT_PC, true) + pcStep, true);
    }
  }

  /** sched_yield: let the next runnable thread have the CPU. */
  yield(): void { this.yielded = true; }

  /**
   * The current thread ends (exit, not exit_group). The last thread's end is
   * the process's; its status is the leader's when the leader ended first,
   * as Linux reports the group leader's exit code.
   */
  exitCurrent(status: number): void {
    const t = this.current;
    if (this.list.length === 1) {
      this.p.exit(t.tid === this.pid || this.leaderStatus === undefined ? status : this.leaderStatus);
      return;
    }
    if (t.tid === this.pid) this.leaderStatus = status;
    t.exited = true;
    this.list.splice(this.list.indexOf(t), 1);
  }

  /** Whether the current thread cannot go on, or gave the CPU away. */
  get mustSwitch(): boolean {
    return this.current.exited || this.current.wait !== undefined || this.yielded;
  }

  /** At the end of a time slice: the next runnable thread gets the CPU. */
  preempt(): void {
    // A vfork child has this process's CPU: no thread of it can have it.
    if (this.p.vforkChild) return;
    this.wakeExpired();
    const next = this.nextInTurn();
    if (next) this.switchTo(next);
  }

  /**
   * Puts a runnable thread on the CPU after the current one blocked, exited
   * or yielded: the next in round-robin order, the current one last. When all
   * wait, the clock runs to the earliest deadline; when none has one, the
   * process ends as a deadlock.
   */
  schedule(): void {
    this.yielded = false;
    if (this.p.vforkChild) return;
    for (;;) {
      this.wakeExpired();
      const next = this.nextInTurn();
      if (next) {
        this.switchTo(next);
        return;
      }
      // Other processes or a timer may end the waits: the VM's scheduler
      // decides (processes.ts), this process stays off the CPU meanwhile.
      if (this.p.processes.schedules) return;
      const earliest = this.earliestDeadline();
      if (earliest === undefined) {
        if (this.p.hostMayWake) this.p.waitForHost();
        else this.deadlock();
        return;
      }
      // The virtual clock jumps there at once; the host's is waited for by
      // the run loop, which calls schedule() again when the time has come.
      if (!this.p.idleTo(earliest)) return;
    }
  }

  private runnable(t: Thread): boolean { return !t.exited && t.wait === undefined; }

  /** The earliest deadline among the threads' waits, if any has one. */
  earliestDeadline(): bigint | undefined {
    return earliestOf(this.list.map((t) => (t.wait && 'deadline' in t.wait ? t.wait.deadline : undefined)));
  }

  /**
   * For the VM's scheduler: whether a thread can run now, after expired
   * deadlines and I/O have ended waits; the first runnable one is put on
   * the CPU if the current one cannot run.
   */
  poll(): boolean {
    this.wakeExpired();
    this.yielded = false;
    if (this.runnable(this.current)) return true;
    const next = this.nextInTurn();
    if (!next) return false;
    this.switchTo(next);
    return true;
  }

  /** execve: every thread but the current one ends, and the current one
   *  becomes the leader (its tid the pid), as de_thread makes it. */
  becomeSingle(): void {
    this.list.length = 0;
    this.current = { tid: this.pid, clearChildTid: 0n, robustList: 0n, robustListLen: 0n, exited: false };
    this.list.push(this.current);
    this.leaderStatus = undefined;
    this.yielded = false;
  }

  // The first runnable thread after the current one, wrapping around, the
  // current one last (hypervisor/scheduler.ts).
  private nextInTurn(): Thread | undefined {
    return nextInTurn(this.list, this.current, (t) => this.runnable(t));
  }

  // Deadlines that have passed end their waits; a change to the pipes sends
  // each thread waiting for I/O back to its call.
  private wakeExpired(): void {
    let now: bigint | undefined;
    const epoch = this.p.files.ioEvents.epoch;
    for (const t of this.list) {
      const w = t.wait;
      if (w?.kind === 'io' && w.epoch !== epoch) {
        t.wait = undefined;
        continue;
      }
      const d = w && 'deadline' in w ? w.deadline : undefined;
      if (d === undefined) continue;
      now ??= this.p.clock.nowNs();
      if (d <= now) this.wake(t, t.timeoutResult ?? 0n);
    }
  }

  private switchTo(t: Thread): void {
    if (t === this.current) return;
    const cpu = this.p.cpu;
    const from = this.current;
    if (!from.exited) {
      from.context = cpu.saveContext();
      from.signals = takeThreadSignals(this.p);
    }
    cpu.loadContext(t.context!);
    putThreadSignals(this.p, t.signals!);
    t.context = undefined;
    t.signals = undefined;
    cpu.dropReservation();
    this.current = t;
    this.switches++;
    // Signals sent to it while it was off the CPU are taken now, on its way
    // back to user mode.
    resumeThread(this.p, t);
  }

  private deadlock(): void {
    const lines = this.list.map((t) => {
      const pc = t === this.current ? this.p.cpu.exit.pc
        : new DataView(t.context!.buffer).getBigUint64(CONTEXT_PC, true) - (t.wait?.kind === 'io' ? 0n : 4n);
      return `thread ${t.tid} in ${describeWait(t.wait)} at pc 0x${pc.toString(16)}`;
    });
    this.p.diagnose(`ringvisor: deadlock: all ${this.list.length} threads wait forever: ${lines.join('; ')}`);
    this.p.exit(DEADLOCK_EXIT_STATUS);
  }

  /** Brings back threads saved by save() into a group of the same process
   *  (the current thread's registers and signal state come back with the
   *  CPU and the signal state). */
  restore(r: ThreadGroupRecord): void {
    if (r.version !== 1) throw new Error(`thread state version ${r.version} is not 1`);
    const current = r.threads.find((t) => t.tid === r.current);
    if (!current || current.context !== undefined) throw new Error(`thread state: the current thread ${r.current} must be one without a saved context`);
    this.list.length = 0;
    for (const t of r.threads) {
      if (t.tid !== r.current && (t.context === undefined || t.signals === undefined)) {
        throw new Error(`thread state: thread ${t.tid} is off the CPU but has no saved context`);
      }
      this.list.push({
        tid: t.tid, context: t.context?.slice(), signals: t.signals && { ...t.signals, pendingInfo: { ...t.signals.pendingInfo }, altStack: { ...t.signals.altStack } },
        clearChildTid: t.clearChildTid, robustList: t.robustList, robustListLen: t.robustListLen,
        wait: t.wait && { ...t.wait }, timeoutResult: t.timeoutResult, restoreMask: t.restoreMask,
        restartDeadline: t.restartDeadline, signalled: t.signalled, restartAfterSignal: t.restartAfterSignal, ioMask: t.ioMask, exited: false,
      });
    }
    this.current = this.list.find((t) => t.tid === r.current)!;
    this.p.processes.skipIdsTo(r.nextTid);
    this.waitSeq = r.waitSeq;
    this.leaderStatus = r.leaderStatus;
    this.yielded = false;
  }

  /** The threads as plain, versioned records, for checkpoints. */
  save(): ThreadGroupRecord {
    return {
      version: 1,
      current: this.current.tid,
      nextTid: this.p.processes.nextId,
      waitSeq: this.waitSeq,
      leaderStatus: this.leaderStatus,
      threads: this.list.map((t) => ({
        tid: t.tid, context: t.context?.slice(), signals: t.signals && { ...t.signals, pendingInfo: { ...t.signals.pendingInfo }, altStack: { ...t.signals.altStack } },
        clearChildTid: t.clearChildTid, robustList: t.robustList, robustListLen: t.robustListLen,
        wait: t.wait && { ...t.wait }, timeoutResult: t.timeoutResult, restoreMask: t.restoreMask,
        restartDeadline: t.restartDeadline, signalled: t.signalled, restartAfterSignal: t.restartAfterSignal, ioMask: t.ioMask,
      })),
    };
  }
}

/** A thread as saved: everything but `exited` (saved threads are alive). */
export type ThreadRecord = Omit<Thread, 'exited'>;

export interface ThreadGroupRecord {
  version: 1;
  current: number;
  nextTid: number;
  waitSeq: number;
  leaderStatus?: number;
  threads: ThreadRecord[];
}

export function describeWait(w: Wait | undefined): string {
  switch (w?.kind) {
    case 'futex': return `futex 0x${w.addr.toString(16)}`;
    case 'sleep': return 'a sleep';
    case 'sigsuspend': return 'rt_sigsuspend';
    case 'sigwait': return 'rt_sigtimedwait';
    case 'io': return 'I/O';
    case 'vfork': return `vfork (child ${w.child})`;
    default: return 'nothing';
  }
}
