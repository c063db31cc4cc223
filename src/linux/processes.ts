// The processes of one process VM: the program it was created with (the
// root, which stands where a container's first process stands) and every
// process that descends from it by fork, vfork or clone. Each process is a
// ProcessVM of its own, with its own CPU instance (so its own address space
// and registers), threads, signals, descriptor table and working directory;
// they share the file system, the pipes' I/O events, the clock, the
// instruction and time limits and the memory limit.
//
// One process runs at a time on the host's thread: round robin in creation
// order, a slice of instructions each, as the thread scheduler does among a
// process's threads (threads.ts). A process none of whose threads can run
// (a pipe read, wait4, a sleep) is passed over; when no process can run, the
// clock runs to the earliest deadline, and without one every process waits
// forever: a deadlock, which ends the VM with a message rather than hang.
//
// The VM ends when the root ends (as a PID namespace ends with its init):
// processes still alive then are killed. A process whose parent has ended is
// reparented to a virtual init (pid 1) that reaps it when it ends.
import type { Cpu } from '../cpu/cpu.js';
import { MAX_HOST_BLOCK_MS, type ProcessVM } from './process-vm.js';
import type { IoEvents } from './fs/file-table.js';
import type { Clock } from '../hypervisor/clock.js';
import { DEADLOCK_EXIT_STATUS, describeWait } from './threads.js';
import { earliestOf, nextInTurn, whenIdle } from '../hypervisor/scheduler.js';
import { sharedMaps } from './shared-maps.js';
import { fireRealTimer } from './sys/itimer.js';

/** The pid of the virtual init, every orphan's parent. */
export const INIT_PID = 1;
/** Processes a VM may hold at once (zombies included) unless told otherwise:
 *  each is a CPU instance of its own. A fork past it fails with EAGAIN, as
 *  RLIMIT_NPROC makes it fail, and the first refusal is reported once. */
export const DEFAULT_MAX_PROCESSES = 256;
/** Instructions a process runs before the next runnable one gets the CPU. */
export const PROCESS_SLICE = 200_000n;

/** System calls one step of a lone process may serve before the run loop
 *  looks at the host again (docs/PERFORMANCE.md, "System calls"): the loop's
 *  clock read and bookkeeping are paid once for them all, and a step stays
 *  short (each call ends a run; the slice's budget bounds them all). */
export const CALLS_PER_STEP = 32;

export class Processes {
  /** Live processes (not yet ended), in creation order: the round-robin order. */
  private readonly list: ProcessVM[];
  /** Every process by pid while it exists: live ones and zombies. */
  private readonly byPid = new Map<number, ProcessVM>();
  /** The process on the CPU. */
  current: ProcessVM;
  /** The next pid or tid to try (allocateId). */
  nextId: number;
  /** Changes to pipes, eventfds and children, shared by every process's
   *  descriptor table: a thread waiting for I/O or for a child tries again
   *  when it moves. */
  get events(): IoEvents { return this.root.files.ioEvents; }
  /** Instructions retired by processes whose CPU has gone (ended, or
   *  replaced by execve), for the VM-wide count. */
  private retired = 0n;
  /** While no process can run before a deadline on the host clock: that deadline. */
  idleUntil: bigint | undefined;
  /** The process that ran last (its shared-memory stores are written
   *  back when another is to run). */
  private lastRun: ProcessVM | undefined;
  /** Instructions left of the current process's slice. */
  private sliceLeft = PROCESS_SLICE;
  private limitReported = false;
  /** Processes ever created, the root included; the most alive at once. */
  created = 1;
  peak = 1;
  /** CPU instances of the processes, each counted once (a vfork child
   *  borrows its parent's): for the VM-wide instruction and memory counts. */
  private readonly cpus = new Set<Cpu>();

  constructor(readonly root: ProcessVM, readonly maxProcesses = DEFAULT_MAX_PROCESSES) {
    this.list = [root];
    this.current = root;
    this.byPid.set(root.pid, root);
    this.nextId = root.pid + 1;
    this.cpus.add(root.cpu);
  }

  /** Whether the root is the only process: the single-process shortcuts
   *  (a lone thread's wait resolved at once, a deadlock found at once) hold. */
  get alone(): boolean { return this.list.length === 1; }
  /** One process, with no deadline of the VM's and no timer to fire
   *  between its slices. */
  get solo(): boolean { return this.list.length === 1 && this.idleUntil === undefined && this.timers.size === 0; }
  get count(): number { return this.byPid.size; }
  all(): readonly ProcessVM[] { return this.list; }
  find(pid: number): ProcessVM | undefined { return this.byPid.get(pid); }
  /** Every process that exists: live ones and zombies. */
  everyone(): ProcessVM[] { return [...this.byPid.values()]; }

  /** What a checkpoint keeps of the scheduler besides the ids and counts
   *  (it saves a VM of one process only: process-checkpoint.ts). */
  saveCounters(): { retired: bigint; sliceLeft: bigint; limitReported: boolean } {
    return { retired: this.retired, sliceLeft: this.sliceLeft, limitReported: this.limitReported };
  }
  restoreCounters(c: { retired: bigint; sliceLeft: bigint; limitReported: boolean }): void {
    this.retired = c.retired;
    this.sliceLeft = c.sliceLeft;
    this.limitReported = c.limitReported;
  }

  /** A new pid or tid: Linux numbers both from one space. */
  allocateId(): number {
    while (this.byPid.has(this.nextId)) this.nextId++;
    return this.nextId++;
  }

  /** Ids below `id` are not handed out again (a restored thread group's). */
  skipIdsTo(id: number): void {
    if (id > this.nextId) this.nextId = id;
  }

  /** Whether another process may be made; the first refusal is reported. */
  mayCreate(): boolean {
    if (this.byPid.size < this.maxProcesses) return true;
    if (!this.limitReported) {
      this.limitReported = true;
      this.root.diagnose(`ringvisor: ${this.root.programName}: ${this.maxProcesses} processes at once, the VM's limit: fork fails with EAGAIN from now on (a fork bomb?)`);
    }
    return false;
  }

  add(p: ProcessVM): void {
    this.list.push(p);
    this.byPid.set(p.pid, p);
    this.cpus.add(p.cpu);
    this.created++;
    if (this.byPid.size > this.peak) this.peak = this.byPid.size;
  }

  /** `p` has a CPU of its own now (execve after vfork) or gives one back. */
  cpuAdded(cpu: Cpu): void { this.cpus.add(cpu); }
  cpuRemoved(cpu: Cpu): void {
    if (!this.cpus.delete(cpu)) return;
    this.retired += cpu.instret;
  }

  /** Instructions retired by every process of the VM (the virtual clock's
   *  and --max-instructions' count). */
  instret(): bigint {
    let n = this.retired;
    for (const cpu of this.cpus) n += cpu.instret;
    return n;
  }

  /** Pages written by every process (what --mem limits). */
  memoryUsed(): number {
    let n = 0;
    for (const cpu of this.cpus) n += cpu.memoryUsed;
    return n;
  }

  /** `p` gets the CPU next, for a whole slice (a vfork parent released:
   *  it resumes as soon as its child has called execve, as on Linux, where
   *  it runs on while the new program starts). */
  runNext(p: ProcessVM): void {
    this.current = p;
    this.sliceLeft = PROCESS_SLICE;
  }

  /** Processes with a real-time timer set (sys/itimer.ts). */
  private readonly timers = new Set<ProcessVM>();

  /** `p`'s timer was set or cleared. */
  timerChanged(p: ProcessVM): void {
    if (p.realTimer && p.exitStatus === undefined) this.timers.add(p);
    else this.timers.delete(p);
  }

  /** Whether the VM's scheduler decides when waits end (other processes
   *  or a timer may end them), rather than a lone thread's wait being
   *  resolved at once. */
  get schedules(): boolean { return this.list.length > 1 || this.timers.size > 0; }

  /** A child that never ran goes (fork undone). */
  drop(p: ProcessVM): void {
    this.list.splice(this.list.indexOf(p), 1);
    this.forget(p);
    p.ended();
  }

  /** A zombie has been reaped (wait4) or needs no reaping: its pid is free. */
  forget(p: ProcessVM): void {
    this.byPid.delete(p.pid);
  }

  /**
   * Runs the processes on for one slice of one of them; returns the root's
   * exit status once the VM has ended. While every process sleeps on the
   * host clock it runs nothing and returns (the run loop waits, for
   * idleMilliseconds()).
   */
  step(clock: Clock): number | undefined {
    // Paused by its host (ProcessVM.pause): nothing runs, no timer fires.
    if (this.root.state === 'Paused') return undefined;
    if (this.timers.size > 0) {
      const now = clock.nowNs();
      for (const p of [...this.timers]) fireRealTimer(p, now);
    }
    if (this.solo) {
      // One process: its own loop, shortcuts and all (several system
      // calls in one step among them).
      const status = this.root.runSlice(undefined, CALLS_PER_STEP);
      if (status === undefined) return undefined;
      this.root.exitStatus ??= status;
      return this.endAll();
    }
    const timedOut = this.root.checkDeadline();
    if (timedOut !== undefined) return this.endAll();
    if (this.idleUntil !== undefined) {
      const left = this.idleUntil - clock.nowNs();
      if (left > 0n) return undefined;
      this.idleUntil = undefined;
    }
    const p = this.pick();
    if (p === undefined) return this.idle(clock);
    // What the last process stored to shared memory reaches the others'
    // mappings before another runs: one process runs at a time, so memory
    // shared this way is as coherent as Linux's.
    const last = this.lastRun;
    if (last !== undefined && last !== p && last.exitStatus === undefined) sharedMaps(last)?.syncAll();
    this.lastRun = p;
    const cpu = p.cpu, before = cpu.instret;
    p.runSlice(this.sliceLeft);
    if (p.cpu === cpu) this.sliceLeft -= cpu.instret - before;
    return this.reapEnded();
  }

  /** Milliseconds the host should wait before the guest can go on (0: now). */
  idleMilliseconds(clock: Clock): number {
    if (this.idleUntil === undefined) return 0;
    const ms = Number(this.idleUntil - clock.nowNs()) / 1e6;
    return ms <= 0 ? 0 : Math.min(ms, MAX_HOST_BLOCK_MS);
  }

  // The process to run next: the current one while its slice lasts and it
  // can run, else the next runnable one in round-robin order.
  private pick(): ProcessVM | undefined {
    const cur = this.current;
    if (this.sliceLeft > 0n && this.list.includes(cur) && cur.canRun()) return cur;
    const p = nextInTurn(this.list, cur, (q) => q.canRun());
    if (p !== undefined) {
      this.current = p;
      this.sliceLeft = PROCESS_SLICE;
    }
    return p;
  }

  // No process can run: the clock runs to the earliest deadline (the
  // virtual one at once, the host's waited for by the run loop), or, with
  // none, the VM has deadlocked (hypervisor/scheduler.ts).
  private idle(clock: Clock): number | undefined {
    const earliest = earliestOf([
      ...this.list.map((p) => p.threads.earliestDeadline()),
      ...[...this.timers].map((p) => p.realTimer!.deadline),
    ]);
    const idle = whenIdle(clock.kind, clock.nowNs(), earliest, this.root.hostMayWake);
    if (idle.kind === 'host') {
      // Only the host's input can end a wait: the VM idles until it comes.
      this.root.waitForHost();
      return undefined;
    }
    if (idle.kind === 'stuck') {
      const waits = this.list.map((p) => `pid ${p.pid} (${p.programName}) ${p.stopped ? 'stopped' : p.threads.all().map((t) => `thread ${t.tid} in ${describeWait(t.wait)}`).join(', ')}`);
      this.root.diagnose(`ringvisor: deadlock: all ${this.list.length} processes wait forever: ${waits.join('; ')}`);
      this.root.exit(DEADLOCK_EXIT_STATUS);
      return this.endAll();
    }
    if (idle.kind === 'skip') clock.skip(idle.by);
    if (idle.kind === 'wait') this.idleUntil = idle.until;
    return undefined;
  }

  // Processes that have ended leave the schedule (their parents learn of it);
  // the root's end is the VM's.
  private reapEnded(): number | undefined {
    for (const p of [...this.list]) {
      if (p.exitStatus === undefined) continue;
      if (p === this.root) return this.endAll();
      this.list.splice(this.list.indexOf(p), 1);
      p.ended();
      this.events.epoch++;
    }
    return undefined;
  }

  /** The VM ends with its root: every other process is killed, its CPU and
   *  descriptors given back. Returns the root's status. */
  endAll(): number {
    const status = this.root.exitStatus!;
    for (const p of this.list) {
      if (p === this.root) continue;
      if (p.exitStatus === undefined) p.exit(128 + 9);
      p.ended();
    }
    this.list.length = 0;
    this.list.push(this.root);
    return status;
  }
}
