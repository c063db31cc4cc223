// The process VM: a static riscv64 Linux program in U-mode whose system calls
// exit to ring -1 and are served here. The analogue of qemu-riscv64.
import { Cpu, Cause, ExitReason, ExitControl, MemoryMode, Perm, PAGE_SIZE, EXIT_REASON_NAMES, DEFAULT_JIT_THRESHOLD, DEFAULT_JIT_WARMUP } from '../cpu/cpu.js';
import { checkCacheLimit, DEFAULT_CACHE_LIMIT, type TranslationCacheLimit, type TranslationService } from '../cpu/jit/jit.js';
import { AddressSpace, OutOfChunks, USER_END, pageUp } from './address-space.js';
import { forkSharedMaps, sharedMaps } from './shared-maps.js';
import { defaultCpuModule } from '../cpu/module-registry.js';
import { parseElf, ElfError, PF_R, PF_W, PF_X, type ElfImage } from './elf.js';
import {
  buildInitialStack, HWCAP_RV64GC, type StackString,
  AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY,
  AT_UID, AT_EUID, AT_GID, AT_EGID, AT_HWCAP, AT_CLKTCK, AT_SECURE,
} from './stack.js';
import { SYSCALLS, unknownSyscall } from './syscalls.js';
import { ENOTDIR } from './errno.js';
import { checkMemoryBytes, RunLimits } from '../hypervisor/limits.js';
import { RunLoop, type Sliced } from '../hypervisor/run-loop.js';
import { whenIdle } from '../hypervisor/scheduler.js';
import { UserMemory } from './user-memory.js';
import { ThreadGroup, DEFAULT_THREAD_SLICE, type Thread } from './threads.js';
import { PID, PPID } from './sys/process.js';
import { type Clock, hostClock, virtualClock, timeCsr } from '../hypervisor/clock.js';
import { signalForCause, faultCode, isPastEndOfFile, PAST_EOF_WHAT, SIGNAL_NAMES, CAUSE_NAMES, SIGTRAP, SIGILL, SIGBUS } from './signals.js';
import { deliverFault, terminateBySignal, defaultAction, SIGKILL } from './sys/signals.js';
import { vmcall, vmcallSync, splitCallArgs, type CallArgs } from './vmcall.js';
import { readInterpreter, checkInterpreterRoom, mapInterpreter, type Interpreter } from './loader.js';
import { Processes, INIT_PID } from './processes.js';
import { forkSignals, execSignals, deliverPendingSignals, callEnded } from './sys/signals.js';
import { notifyParent } from './sys/wait.js';
import { ROOT_IDS, type Ids } from './sys/ids.js';
import { processRobustLists } from './sys/threads.js';
import type { RealTimer } from './sys/itimer.js';
import { forkProcessState, processState, RLIMIT_CORE } from './sys/process.js';
import type { FileSystem } from './fs/types.js';

import { HostInput } from './fs/host-input.js';
import { FileTable, FileDescription, InputStream, OutputStream, Pipe, PipeEnd, DirectoryDescription, MAX_FDS, type Description, type Sink, type StdinSource, type TtyInfo } from './fs/file-table.js';
import { GuestFs, privateMounts, joinPath } from './fs/guest-fs.js';
import { FsError, S_IFMT, S_IFDIR, nsToTimespec, nameToBytes, nameToText } from './fs/types.js';
import { MemFs, MemFsSaveError } from './fs/memfs.js';
import { EventFd, Epoll } from './sys/events.js';
import { openPath, PathDescription } from './sys/files.js';
import { saveSignals, restoreSignals, NSIG } from './sys/signals.js';
import { saveProcess, restoreProcess, RLIMIT_NLIMITS } from './sys/process.js';
import { CheckpointError } from '../hypervisor/checkpoint-error.js';
import { writeCheckpoint, type Section } from '../hypervisor/checkpoint-file.js';
import { saveRam, readRam, writeRam } from '../hypervisor/ram-record.js';
import { SnapshotLineage, checkChain } from '../hypervisor/snapshot-chain.js';
import { handleExit, type ExitAction, type Partition } from '../hypervisor/exits.js';
import {
  CheckpointUnsupportedError, processMachineId, readProcessCheckpoint,
  saveProcessVmRecord, readProcessVmRecord, saveThreadsRecord, readThreadsRecord, saveSignalsRecord, readSignalsRecord,
  saveRlimitsRecord, readRlimitsRecord, saveFilesRecord, readFilesRecord, saveMemfsMounts, readMemfsMounts,
  saveClockRecord, readClockRecord, PROCESS_RECORD_VERSION, FILES_RECORD_VERSION,
  type ProcessVmRecord, type FilesRecord, type SavedDescription, type SavedPipe, type ThreadsRecord, type ClockRecord,
} from './process-checkpoint.js';
import type { SignalRecord } from './sys/signals.js';
import type { ProcessRecord } from './sys/process.js';
export { CheckpointUnsupportedError } from './process-checkpoint.js';

const CONTINUE: ExitAction = { kind: 'continue' };
export type { Sink, StdinSource, TtyInfo } from './fs/file-table.js';

export interface ProcessVMOptions {
  /** argv, including argv[0]; defaults to [programName]. */
  argv?: string[];
  /** Environment strings "KEY=VALUE", in the order the guest sees them.
   *  Default: none. The library never reads the host's environment on its
   *  own (a VM gets only what it is handed); `ringvisor run` hands it the
   *  host's, as qemu-riscv64 does, unless told otherwise. */
  env?: string[];
  /** Name used in messages and as AT_EXECFN. */
  programName?: string;
  stdout?: Sink;
  stderr?: Sink;
  /** The guest's stdin (default: empty). */
  stdin?: StdinSource;
  /** Which standard streams are terminals (isatty, TCGETS, TIOCGWINSZ). */
  tty?: TtyInfo;
  /** The guest's file system, one per VM (default: only a private /tmp and
   *  /dev, working directory /). Node: sandboxFs() in node/host-fs.ts. */
  fs?: GuestFs;
  /** A riscv64 sysroot (QEMU's -L): a tree in which every absolute guest
   *  path but /dev and /proc is looked up first, read-only, before the
   *  guest's own view (a guest path /lib/x is the sysroot's lib/x when that
   *  exists). A dynamically linked program's interpreter and libraries come
   *  from it. Node: hostSysroot('/usr/riscv64-linux-gnu') (node/host-fs.ts).
   *  GuestFs.mountSysroot says how links inside it resolve. */
  sysroot?: FileSystem;
  /** ringvisor's own messages (faults, limits); defaults to stderr. */
  diagnostics?: (line: string) => void;
  /** One line per system call, strace-style. */
  strace?: (line: string) => void;
  /** The memory the guest may use, in bytes (default 1 GiB): the pages it
   *  has written (Linux's resident set), not what it has mapped. Mappings,
   *  reservations and pages only read cost nothing. A guest that writes
   *  more is killed with SIGKILL, as Linux's out-of-memory killer would.
   *  The address space is Linux's Sv39 user range whatever this is. */
  memoryBytes?: number;
  /** Stop the guest after this many instructions (exit status 124). */
  maxInstructions?: bigint;
  /** Stop the guest after this many seconds of host time (exit status 124). */
  timeoutSeconds?: number;
  /** Fills AT_RANDOM; defaults to crypto.getRandomValues. */
  random?: (buf: Uint8Array) => void;
  /** Where guest time comes from: the host's clock (default) or a virtual
   *  clock derived from instructions retired (deterministic runs). */
  clock?: 'host' | 'virtual';
  /** The compiled CPU; defaults to the one the host entry registered. */
  cpuModule?: WebAssembly.Module;
  /** Instructions a guest thread runs before the next runnable one gets the
   *  CPU, when there are several (default 200,000). Scheduling is
   *  deterministic for a given slice. */
  threadSlice?: bigint;
  /** Visits after which a jump target's code is translated into
   *  WebAssembly (src/cpu/jit/); 0 runs the interpreter alone. Default
   *  DEFAULT_JIT_THRESHOLD (16384). */
  jitThreshold?: number;
  /** Instructions each program runs before its code is first translated
   *  (DEFAULT_JIT_WARMUP, 4 million: some 50-80 ms of interpreting; a
   *  shorter program never pays for translation); 0n translates from the
   *  first instruction. */
  jitWarmup?: bigint;
  /** Whether jitThreshold falls as a program grows old (Cpu.jitAgeing:
   *  halved at every doubling of its instructions past 64 million, down to
   *  1/64 of it). Default true; false keeps jitThreshold for the whole run. */
  jitAgeing?: boolean;
  /** Whether translations count the calls into them (Cpu.jitCountEntries,
   *  `ringvisor run --stats`): default false, as each call costs more. */
  jitCountEntries?: boolean;
  /** Where translations are emitted and compiled, for every process of the
   *  VM: by default in this thread, while the guest waits; in Node,
   *  WorkerTranslationService (src/node/translation-worker.ts) does it in a
   *  worker thread while the guest runs on. */
  translationService?: TranslationService;
  /** The most translated code each process's CPU keeps before it drops all
   *  of it (Cpu.translationCacheLimit): default DEFAULT_CACHE_LIMIT, 2,048
   *  modules and 16 MiB of WebAssembly. */
  translationCacheLimit?: TranslationCacheLimit;
  /** Processes the VM may hold at once, zombies included (default 256,
   *  DEFAULT_MAX_PROCESSES): each has a CPU instance of its own. A fork
   *  past it fails with EAGAIN, and ringvisor says so once. */
  maxProcesses?: number;
}

/** What a restored VM takes from its embedder (ProcessVM.restore): the
 *  rest (the program, argv and the environment, already in its memory; the
 *  clock's kind) is the checkpoint's. `fs` is the namespace to restore into:
 *  host directories mounted again where they were (descriptors of their
 *  files are opened again through it), and the private in-memory /tmp,
 *  whose content the checkpoint replaces. The limits (memoryBytes,
 *  maxInstructions, threadSlice, maxProcesses) default to the saved ones. */
export type ProcessVMRestoreOptions = Omit<ProcessVMOptions, 'argv' | 'env' | 'programName' | 'clock'> & {
  /** For a Diff snapshot: the Full snapshot it builds on and every Diff
   *  between them, oldest first (hypervisor/snapshot-chain.ts). */
  base?: readonly Uint8Array[];
};

/** Where a VM is in its life, in Firecracker's words: running (or ready
 *  to), paused by its host, or stopped for good. */
export type ProcessVMState = 'Running' | 'Paused' | 'Stopped';

/** The parts of a checkpoint, read and checked, for the constructor. */
interface RestoreFrom {
  cpu: Cpu;
  vm: ProcessVmRecord;
  parts: Map<string, Uint8Array>;
  threads: ThreadsRecord;
  signals: SignalRecord;
  rlimits: ProcessRecord;
  files: FilesRecord;
  trees: { at: string; record: Uint8Array }[];
  clock: ClockRecord;
  ram: ReturnType<typeof readRam>;
}

export const DEFAULT_MEMORY_BYTES = 1024 * 1024 * 1024;
/** CPUs of disposed VMs, per compiled module, kept for the next create. */
const spareCpus = new WeakMap<WebAssembly.Module, Cpu[]>();
const MAX_SPARE_CPUS = 4;
const STACK_BYTES = 8n * 1024n * 1024n;
/** Linux's limits on what execve copies (fs/exec.c: bprm_stack_limits,
 *  MAX_ARG_STRLEN): argv and environment strings and their pointers in a
 *  quarter of the stack, each string at most 32 pages. */
export const MAX_ARG_BYTES = Number(STACK_BYTES / 4n);
export const MAX_ARG_STRLEN = 32 * 4096;

/** argv and the environment are more than Linux's execve would take
 *  (E2BIG): the program cannot be started, as a shell reports it (126). */
export class ArgumentListTooLongError extends ElfError {
  constructor(file: string, why: string) {
    super(file, `Argument list too long (${why})`);
    this.name = 'ArgumentListTooLongError';
  }
}

/** Throws ArgumentListTooLongError where Linux's execve would fail with E2BIG. */
export function checkArgumentSize(file: string, argv: StackString[], env: StackString[]): void {
  const enc = new TextEncoder();
  let bytes = (Math.max(argv.length, 1) + env.length) * 8;
  for (const [what, list] of [['argument', argv], ['environment string', env]] as const) {
    for (const s of list) {
      const n = (typeof s === 'string' ? enc.encode(s) : s).length + 1;
      if (n > MAX_ARG_STRLEN) throw new ArgumentListTooLongError(file, `an ${what} of ${n} bytes, more than ${MAX_ARG_STRLEN}`);
      bytes += n;
    }
  }
  if (bytes > MAX_ARG_BYTES) throw new ArgumentListTooLongError(file, `${bytes} bytes of arguments and environment, more than ${MAX_ARG_BYTES}`);
}
const PAGE = 4096n;
/** Linux's mmap_base(): the stack's rlimit and guard gap, at least MIN_GAP
 *  (128 MiB), between the stack's top and the highest mapping. */
const MMAP_GAP = 128n * 1024n * 1024n;
/** What a process VM's CPU exits on: system calls, ebreak, and reads of
 *  `time` (answered from the VM's clock then, not stored before every run). */
export const PROCESS_EXIT_CONTROLS = ExitControl.EcallU | ExitControl.Ebreak | ExitControl.Time;
/** Instructions per run() call: large, so exits for scheduling are rare. */
const SLICE = 1n << 22n;
/** With the host clock, a run of the CPU is made to take about this long
 *  (ms) at most, whatever the guest's speed: the interpreter runs tens of
 *  MIPS (SLICE would hold the thread for 100 ms), translated code
 *  thousands. The virtual clock keeps SLICE, so that its runs repeat. */
const SLICE_MS = 5;
const MIN_SLICE = 1n << 14n;
/** Exit status when --max-instructions or --timeout stops the guest, as timeout(1) reports. */
export const LIMIT_EXIT_STATUS = 124;
/** The longest a guest's sleep blocks the host's thread at once (ms). A
 *  sleep on the host clock (nanosleep, a futex or poll timeout, every
 *  thread waiting) is waited out in pieces of at most this long, between
 *  which the run loop checks the time limit; run() and call() wait with a
 *  timer instead, so the event loop stays free throughout. */
export const MAX_HOST_BLOCK_MS = 20;

// What execve refuses about a program's layout, before anything is changed:
// every segment below the mappings' top, and room for the interpreter.
function checkLayout(image: ElfImage, interp: Interpreter | undefined, name: string): void {
  const mmapTop = USER_END - MMAP_GAP;
  for (const [i, s] of image.segments.entries()) {
    const segEnd = s.vaddr + s.memSize;
    if (segEnd > mmapTop) {
      throw new ElfError(name, `segment ${i} (0x${s.vaddr.toString(16)}, ${s.memSize} bytes) lies outside the user address space (below 0x${mmapTop.toString(16)}, Sv39)`);
    }
  }
  if (interp) checkInterpreterRoom(interp, programBreak(image), mmapTop, name);
}

// The break starts at the page after the program's highest segment.
function programBreak(image: ElfImage): bigint {
  let end = 0n;
  for (const s of image.segments) if (s.vaddr + s.memSize > end) end = s.vaddr + s.memSize;
  return pageUp(end);
}

/** Checks a program for execve in a process of this VM: its layout, as
 *  ProcessVM.create checks it. Throws ElfError. */
export function checkProgram(image: ElfImage, interp: Interpreter | undefined, name: string, argv: StackString[], env: StackString[]): void {
  checkArgumentSize(name, argv, env);
  checkLayout(image, interp, name);
}

export interface ProcessMemory {
  space: AddressSpace;
  brkStart: bigint;
  brk: bigint;
  /** The break never passes this (nor a mapping in its way). */
  brkLimit: bigint;
  /** mmap places new mappings top-down from here. */
  mmapTop: bigint;
  stackTop: bigint;
}

export class ProcessVM {
  /** The process's CPU instance: its registers and address space. execve
   *  gives it a new one; a vfork child borrows its parent's until then. */
  cpu!: Cpu;
  /** Guest memory as system calls may touch it: what the guest itself could
   *  read or write, else a UserFault (-EFAULT). See user-memory.ts. */
  user!: UserMemory;
  /** The program the process runs (execve replaces it). */
  image!: ElfImage;
  memory!: ProcessMemory;
  readonly syscallCounts: Map<string, number>;
  readonly options: Readonly<ProcessVMOptions>;
  /** The program's name in ringvisor's messages (execve's path). */
  programName: string;
  readonly files: FileTable;
  readonly fs: GuestFs;
  /** The process's exit status once it has ended (exit_group, a fatal
   *  signal, the last thread's exit, a deadlock); undefined while it lives. */
  exitStatus: number | undefined;
  /** The signal that ended it, when one did (wait4's WTERMSIG). */
  termSignal: number | undefined;
  readonly clock: Clock;
  /** The guest's threads and their scheduler. */
  readonly threads: ThreadGroup;
  /** Every process of this VM (processes.ts); the root made it. */
  readonly processes: Processes;
  readonly pid: number;
  /** The parent while it lives; undefined once it has ended (the virtual
   *  init, INIT_PID, is the parent then) and for the root. */
  parent: ProcessVM | undefined;
  /** Children not yet reaped, zombies included. */
  readonly children = new Set<ProcessVM>();
  pgid: number;
  sid: number;
  /** The signal the parent gets when this process ends (clone's CSIGNAL:
   *  SIGCHLD for fork); 0 for none. */
  exitSignal = 17;
  /** User and group ids (sys/ids.ts): root's at first, a parent's copy after fork. */
  ids: Ids = { ...ROOT_IDS };
  /** setitimer(ITIMER_REAL) (sys/itimer.ts); kept across execve, not fork. */
  get realTimer(): RealTimer | undefined { return this.timer; }
  private timer: RealTimer | undefined;
  setRealTimer(t: RealTimer | undefined): void {
    this.timer = t;
    this.processes.timerChanged(this);
  }
  /** Stopped by a stop signal, until SIGCONT (or SIGKILL). */
  stopped = false;
  /** A stop or continue the parent's wait has not reported yet (WUNTRACED, WCONTINUED). */
  stateReport: { kind: 'stopped' | 'continued'; sig: number } | undefined;
  /** prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants come to it. */
  childSubreaper = false;
  /** Whether it has called execve (setpgid on it then fails: EACCES). */
  execed = false;
  /** A vfork child that runs on this process's CPU: until it calls execve
   *  or ends, this process does not run. */
  vforkChild: ProcessVM | undefined;
  /** For a vfork child: the parent's registers while the child borrows its CPU. */
  private vforkSaved: Uint8Array | undefined;
  /** While a library call (call(), vmcall.ts) runs: new processes and
   *  programs cannot be started from it. */
  inCall = false;
  /** Signals another process sent: taken before this one runs again. */
  signalsArrived = false;
  /** The memory limit in pages over the whole VM (0: none). */
  private readonly limitPages: number;
  /** What is left of the time slice of `sliceThread`. A system call does
   *  not renew it: a thread that spins on a cheap call (Go's runtime polls
   *  clock_gettime while it waits for other threads) must still give up the
   *  CPU when its slice is over. */
  private sliceLeft = 0n;
  private sliceThread: Thread | undefined;
  private readonly cpuModule: WebAssembly.Module;
  /** Snapshots written so far, for Diffs (made at the first). */
  private snapshots: SnapshotLineage | undefined;
  private disposed = false;
  /** --max-instructions and --timeout: the whole VM's (a child shares its
   *  parent's, and so the root's). */
  private readonly limits: RunLimits;
  /** While no thread can run before a deadline on the host clock: that
   *  deadline (clock ns), which the run loop waits for (idleTo). */
  private idleUntil: bigint | undefined;
  /** stdin fed by the host as input arrives (options.stdin a HostInput),
   *  and how to stop listening to it (when the VM ends). */
  private hostInput: HostInput | undefined;
  private unlistenHost: (() => void) | undefined;
  /** Every thread waits and none has a deadline: only the host's input can
   *  end a wait (run() naps until it comes). */
  private waitingForHost = false;
  /** Instructions per run of the CPU with one thread: SLICE, or with the
   *  host clock from a small start adapted to SLICE_MS (set in the constructor). */
  private slice = SLICE;
  /** On the root: the process whose run just took a whole slice, for the
   *  run loop's timing of the step (slices().took) to adapt its slice. */
  private wholeSlice: ProcessVM | undefined;

  /** Paused by its host (pause()): run() waits, nothing runs. */
  private pausedByHost = false;
  /** Drives run(), runSync() and call() (the root's serves the VM); woken
   *  by host input, resume(), halt() and dispose(). */
  readonly loop: RunLoop;
  /** The status its host stopped it with (halt()), if it did. */
  private haltedWith: number | undefined;
  /** While runSlice runs (a sink or trace callback may call in): no checkpoint then. */
  private inSlice = false;

  /** A VM running the static or dynamically linked program `elf`. Its
   *  segments go into RAM as the program first reaches them
   *  (AddressSpace.deferContent), so `elf` must not change while the VM
   *  lives. */
  static create(elf: Uint8Array, options: ProcessVMOptions = {}): ProcessVM {
    return new ProcessVM(elf, options);
  }

  /**
   * A VM from a checkpoint `checkpoint()` wrote (in this process or
   * another), ready to run on from where it was saved. Everything is read
   * and checked before anything runs: a truncated, corrupted, wrong-version
   * or wrong-machine file throws CheckpointError, and so does a file of a
   * descriptor that cannot be opened again through `options.fs` (a host
   * file gone) or a namespace without the in-memory tree the VM had.
   */
  static restore(checkpoint: Uint8Array, options: ProcessVMRestoreOptions = {}): ProcessVM {
    const module = options.cpuModule ?? defaultCpuModule();
    const cpu = spareCpus.get(module)?.pop() ?? new Cpu(module);
    try {
      return ProcessVM.restoreOn(cpu, module, checkpoint, options);
    } catch (e) {
      // A refused file leaves the CPU as it was (or, past the checks, a
      // configured one): it goes back scrubbed, for the next VM.
      cpu.reset();
      const spare = spareCpus.get(module) ?? [];
      spareCpus.set(module, spare);
      if (spare.length < MAX_SPARE_CPUS) spare.push(cpu);
      throw e;
    }
  }

  private static restoreOn(cpu: Cpu, module: WebAssembly.Module, checkpoint: Uint8Array, options: ProcessVMRestoreOptions): ProcessVM {
    const chain = [...(options.base ?? []), checkpoint].map((bytes) => ({ bytes, ...readProcessCheckpoint(bytes, processMachineId(cpu)) }));
    checkChain(chain);
    const { parts } = chain[chain.length - 1];
    const vm = readProcessVmRecord(parts.get('process')!);
    if (vm.pid !== PID) throw new CheckpointError('bad-record', `process-vm record: pid ${vm.pid}, a VM's first process is ${PID}`);
    // RAM: the Full file's, each Diff's pages laid over it in order.
    const ram: Section[] = [];
    for (const f of chain) for (const [name, payload] of f.parts) if (name.startsWith('ram.')) ram.push({ name, version: PROCESS_RECORD_VERSION, payload });
    const from: RestoreFrom = {
      cpu, vm, parts,
      threads: readThreadsRecord(parts.get('threads')!, cpu.saveContext().length),
      signals: readSignalsRecord(parts.get('signals')!, NSIG + 1),
      rlimits: readRlimitsRecord(parts.get('rlimits')!, RLIMIT_NLIMITS),
      files: readFilesRecord(parts.get('files')!, MAX_FDS, Pipe.CAPACITY),
      trees: readMemfsMounts(parts.get('memfs')!),
      clock: readClockRecord(parts.get('clock')!),
      ram: readRam(ram, cpu.maxRamBytes),
    };
    if (from.clock.hostClock !== vm.hostClock) throw new CheckpointError('bad-record', 'process-clock record: its kind is not the VM\'s');
    const merged: ProcessVMOptions = {
      ...options, cpuModule: module, programName: vm.programName, clock: vm.hostClock ? 'host' : 'virtual',
      memoryBytes: options.memoryBytes ?? vm.memoryBytes,
      maxInstructions: options.maxInstructions ?? vm.maxInstructions,
      threadSlice: options.threadSlice ?? vm.threadSlice,
      maxProcesses: options.maxProcesses ?? vm.maxProcesses,
    };
    const restored = new ProcessVM(undefined, merged, undefined, false, from);
    restored.lineage.continueFrom(checkpoint);
    return restored;
  }

  private constructor(elf: Uint8Array | undefined, options: ProcessVMOptions, parent?: ProcessVM, shareMemory = false, from?: RestoreFrom) {
    this.options = options;
    if (from) {
      const v = from.vm;
      this.limits = new RunLimits(options.maxInstructions, options.timeoutSeconds);
      this.loop = new RunLoop();
      this.syscallCounts = new Map(v.syscallCounts);
      this.pid = PID;
      this.pgid = v.pgid;
      this.sid = v.sid;
      this.programName = v.programName;
      this.files = new FileTable({ stdin: options.stdin, stdout: options.stdout, stderr: options.stderr, tty: options.tty });
      this.listenToHost(options.stdin);
      this.fs = options.fs ?? new GuestFs(privateMounts({
        random: options.random ?? ((b: Uint8Array) => crypto.getRandomValues(b)),
        now: () => nsToTimespec(this.clock ? this.clock.realtimeNs() : BigInt(Date.now()) * 1_000_000n),
      }));
      if (options.sysroot) this.fs.mountSysroot(options.sysroot);
      this.fs.descriptors = this.descriptorView();
      const memoryBytes = checkMemoryBytes(options.memoryBytes ?? DEFAULT_MEMORY_BYTES);
      const pages = (memoryBytes + PAGE - 1n) / PAGE;
      this.limitPages = pages >= 1n << 20n ? 0 : Number(pages);
      this.cpuModule = options.cpuModule ?? defaultCpuModule();
      this.cpu = this.takeCpu(from.cpu);
      this.user = new UserMemory(this.cpu);
      this.image = v.image;
      this.processes = new Processes(this, options.maxProcesses);
      this.threads = new ThreadGroup(this, PID);
      const c = from.clock;
      this.clock = c.hostClock ? hostClock(c.nowNs) : virtualClock(() => this.processes.instret());
      try {
        this.restoreParts(from);
      } catch (e) {
        // (Host files opened again so far are let go.)
        this.files.closeAll();
        throw e;
      }
      return;
    }
    if (parent) {
      // fork, vfork, clone without CLONE_VM... (forkOf below does the rest).
      this.processes = parent.processes;
      this.pid = this.processes.allocateId();
      this.parent = parent;
      this.pgid = parent.pgid;
      this.sid = parent.sid;
      this.ids = { ...parent.ids };
      this.programName = parent.programName;
      this.syscallCounts = parent.syscallCounts;
      this.files = parent.files.fork();
      this.fs = parent.fs.fork();
      this.clock = parent.clock;
      this.limits = parent.limits;
      this.loop = parent.loop;
      this.limitPages = parent.limitPages;
      this.cpuModule = parent.cpuModule;
      this.slice = parent.slice;
      this.image = parent.image;
      if (shareMemory) {
        this.cpu = parent.cpu;
        this.user = parent.user;
        this.memory = parent.memory;
      } else {
        this.cpu = this.takeCpu();
        this.user = new UserMemory(this.cpu);
        const space = new AddressSpace(this.cpu);
        parent.memory.space.copyInto(space);
        this.memory = { ...parent.memory, space };
        forkSharedMaps(parent, this);
        this.cpu.loadContext(parent.cpu.saveContext());
      }
      this.fs.descriptors = this.descriptorView();
      this.threads = new ThreadGroup(this, this.pid);
      forkSignals(parent, this);
      forkProcessState(parent, this);
      return;
    }
    this.syscallCounts = new Map();
    // A job of the shell that started ringvisor: its own group, in a session
    // it does not lead (as under qemu-riscv64 run from a shell).
    this.pid = PID;
    this.pgid = PID;
    this.sid = PPID;
    this.programName = options.programName ?? options.argv?.[0] ?? 'guest';
    const name = this.programName;
    const image = parseElf(elf!, name);
    // Before any memory is taken: what execve would refuse, refused here.
    checkArgumentSize(name, options.argv ?? [name], options.env ?? []);
    this.files = new FileTable({ stdin: options.stdin, stdout: options.stdout, stderr: options.stderr, tty: options.tty });
    this.listenToHost(options.stdin);
    this.fs = options.fs ?? new GuestFs(privateMounts({
      random: options.random ?? ((b: Uint8Array) => crypto.getRandomValues(b)),
      // (The clock is made below; until then, the host's.)
      now: () => nsToTimespec(this.clock ? this.clock.realtimeNs() : BigInt(Date.now()) * 1_000_000n),
    }));
    this.fs.setExecutable(name);
    if (options.sysroot) this.fs.mountSysroot(options.sysroot);
    // A dynamically linked program's interpreter, found as execve finds it.
    const interp = readInterpreter(this.fs, image, name);
    this.fs.descriptors = this.descriptorView();

    const memoryBytes = checkMemoryBytes(options.memoryBytes ?? DEFAULT_MEMORY_BYTES);
    this.limits = new RunLimits(options.maxInstructions, options.timeoutSeconds);
    this.loop = new RunLoop();
    // A slice of 0 would never let a thread run (run() would spin).
    if (options.threadSlice !== undefined && options.threadSlice < 1n) throw new RangeError(`threadSlice must be at least 1 instruction, not ${options.threadSlice}`);
    if (options.maxProcesses !== undefined && !(Number.isInteger(options.maxProcesses) && options.maxProcesses >= 1)) {
      throw new RangeError(`maxProcesses must be a whole number of at least 1, not ${options.maxProcesses}`);
    }
    if (options.translationCacheLimit !== undefined) checkCacheLimit(options.translationCacheLimit);
    // Every check of the layout comes before a CPU is taken from the spares
    // (a refused program must not cost the next VM a new instance).
    checkLayout(image, interp, name);
    // Pages, rounded up: --mem 1M allows 256 pages. (RAM holds fewer than
    // 2^20 pages, so any larger limit is no limit.)
    const pages = (memoryBytes + PAGE - 1n) / PAGE;
    this.limitPages = pages >= 1n << 20n ? 0 : Number(pages);
    this.cpuModule = options.cpuModule ?? defaultCpuModule();
    this.cpu = this.takeCpu();
    this.load(elf!, image, interp, options.argv ?? [name], options.env ?? [], name);
    this.processes = new Processes(this, options.maxProcesses);
    this.threads = new ThreadGroup(this, PID);
    this.clock = options.clock === 'virtual' ? virtualClock(() => this.processes.instret()) : hostClock();
    if (this.clock.kind === 'host') this.slice = MIN_SLICE * 16n;
  }

  // A CPU instance for a process: a spare one from a disposed VM or a new
  // one, with all the RAM it can hold, from offset 0 (the address space
  // hands it out to slots 64 KiB at a time; linear memory grows as it
  // does, host memory is only committed as the guest writes pages, and
  // --mem counts those).
  private takeCpu(given?: Cpu): Cpu {
    const cpu = given ?? spareCpus.get(this.cpuModule)?.pop() ?? new Cpu(this.cpuModule);
    // (Before prepareCpu: the translator is made with the service.)
    cpu.translationService = this.options.translationService;
    this.prepareCpu(cpu);
    return cpu;
  }

  /** Sets up a new or reset CPU for a program: memory, its limit, the
   *  translation options, the exits. A new program warms up anew. */
  private prepareCpu(cpu: Cpu): void {
    cpu.configureRam(0n, cpu.maxRamBytes, true);
    cpu.memoryMode = MemoryMode.PagePermissions;
    cpu.memoryLimit = this.limitPages;
    cpu.jitThreshold = this.options.jitThreshold ?? DEFAULT_JIT_THRESHOLD;
    cpu.jitWarmup = this.options.jitWarmup ?? DEFAULT_JIT_WARMUP;
    cpu.jitAgeing = this.options.jitAgeing ?? true;
    cpu.jitCountEntries = this.options.jitCountEntries ?? false;
    cpu.translationCacheLimit = this.options.translationCacheLimit ?? DEFAULT_CACHE_LIMIT;
    cpu.exitControls = PROCESS_EXIT_CONTROLS;
  }

  // Gives a CPU instance back, scrubbed, for the next process or VM.
  private giveBackCpu(cpu: Cpu): void {
    cpu.reset();
    let spare = spareCpus.get(this.cpuModule);
    if (spare === undefined) spareCpus.set(this.cpuModule, spare = []);
    if (spare.length < MAX_SPARE_CPUS) spare.push(cpu);
  }

  // What /proc/self/fd shows: this process's descriptors.
  private descriptorView(): GuestFs['descriptors'] {
    return {
      list: () => this.files.open(),
      link: (fd) => this.files.linkOf(fd),
      stat: (fd) => (this.files.has(fd) ? this.files.get(fd).stat() : undefined),
      dir: (fd) => {
        if (!this.files.has(fd)) return undefined;
        try {
          return this.files.get(fd).directory();
        } catch {
          return undefined;
        }
      },
    };
  }

  // Loads a program into this.cpu (fresh, or reset by execve) as Linux's
  // execve lays it out on Sv39 without randomisation: the stack's top at the
  // end of the user range, mappings from mmap_base (MMAP_GAP below it) down,
  // the break after the program; argv, the environment and the auxiliary
  // vector on the stack; pc at the entry (the interpreter's, if any).
  private load(elf: Uint8Array, image: ElfImage, interp: Interpreter | undefined, argv: StackString[], env: StackString[], execfn: StackString): void {
    const cpu = this.cpu;
    this.image = image;
    this.user = new UserMemory(cpu);
    const stackTop = USER_END;
    const stackBottom = stackTop - STACK_BYTES;
    const mmapTop = stackTop - MMAP_GAP;
    const space = new AddressSpace(cpu);
    for (const s of image.segments) {
      const perms = (s.flags & PF_R ? Perm.R : 0) | (s.flags & PF_W ? Perm.R | Perm.W : 0) | (s.flags & PF_X ? Perm.X : 0);
      space.mapMerge(s.vaddr, s.memSize, perms);
      // (Copied into RAM as the program reaches it: AddressSpace.deferContent.)
      space.deferContent(s.vaddr, elf.subarray(s.fileOffset, s.fileOffset + s.fileSize));
    }
    const brkStart = programBreak(image);
    this.memory = { space, brkStart, brk: brkStart, brkLimit: mmapTop, mmapTop, stackTop };
    space.map(stackBottom, STACK_BYTES, Perm.R | Perm.W);
    const start = interp ? mapInterpreter(this.memory, cpu, interp, this.programName) : { base: 0n, entry: image.entry };

    const random = new Uint8Array(16);
    (this.options.random ?? ((b: Uint8Array) => crypto.getRandomValues(b)))(random);
    const sp = buildInitialStack(cpu, stackTop, {
      argv,
      envp: env,
      execfn,
      random,
      auxv: [
        [AT_PHDR, this.phdrAddress()],
        [AT_PHENT, BigInt(image.phentsize)],
        [AT_PHNUM, BigInt(image.phnum)],
        [AT_PAGESZ, PAGE],
        [AT_BASE, start.base],
        [AT_FLAGS, 0n],
        [AT_ENTRY, image.entry],
        [AT_UID, 0n], [AT_EUID, 0n], [AT_GID, 0n], [AT_EGID, 0n],
        [AT_HWCAP, HWCAP_RV64GC],
        [AT_CLKTCK, 100n],
        [AT_SECURE, 0n],
      ],
    });
    cpu.setX(2, sp);
    cpu.pc = start.entry;
  }

  /**
   * A new process from this one (fork, vfork, clone without CLONE_VM): the
   * calling thread's copy, with a copy of the address space, or with
   * `shareMemory` this process's own CPU and memory (vfork: this process
   * then waits until the child calls execve or ends). The caller sets the
   * child's registers (its a0 is the caller's until then) and adds it to
   * the schedule. Throws OutOfChunks when the copy does not fit.
   */
  forkChild(shareMemory: boolean): ProcessVM {
    const child = new ProcessVM(undefined, this.options, this, shareMemory);
    if (shareMemory) {
      child.vforkSaved = this.cpu.saveContext();
      this.vforkChild = child;
    }
    this.children.add(child);
    this.processes.add(child);
    return child;
  }

  /** The process's parent's pid: the virtual init's once the parent has ended. */
  get ppid(): number {
    if (this === this.processes.root) return PPID;
    return this.parent?.pid ?? INIT_PID;
  }

  /**
   * execve, past its point of no return: the other threads end, the
   * address space is replaced by the new program's (on a CPU of its own: a
   * vfork child gives its parent's back), descriptors marked close-on-exec
   * close, handled signals return to their default actions. The program
   * was read and checked by the caller (sys/exec.ts).
   */
  replaceImage(elf: Uint8Array, image: ElfImage, interp: Interpreter | undefined, argv: StackString[], env: StackString[], path: string, found = path): void {
    if (!this.vforkSaved) sharedMaps(this)?.release(); // stores written back before the memory goes
    if (this.vforkSaved) {
      this.releaseVforkParent();
      this.cpu = this.takeCpu();
      this.processes.cpuAdded(this.cpu);
    } else {
      // The same instance, scrubbed: its instructions so far still count.
      this.processes.cpuRemoved(this.cpu);
      this.cpu.reset();
      this.prepareCpu(this.cpu);
      this.processes.cpuAdded(this.cpu);
    }
    this.threads.becomeSingle();
    this.programName = nameToText(path);
    this.execed = true;
    this.fs.setExecutable(nameToText(found));
    this.files.closeOnExec();
    execSignals(this);
    this.load(elf, image, interp, argv, env, nameToBytes(path));
  }

  // The vfork child leaves its parent's CPU (execve or its end): the parent's
  // registers come back and its vfork returns the child's pid.
  private releaseVforkParent(): void {
    const parent = this.parent, saved = this.vforkSaved;
    this.vforkSaved = undefined;
    if (!saved || !parent || parent.vforkChild !== this) return;
    parent.vforkChild = undefined;
    parent.cpu.loadContext(saved);
    parent.cpu.dropReservation();
    parent.threads.wake(parent.threads.current, BigInt(this.pid));
    this.processes.runNext(parent);
  }

  /** Whether the process has a thread that can run now (switching to it). */
  canRun(): boolean {
    if (this.exitStatus !== undefined || this.vforkChild !== undefined || this.stopped) return false;
    return this.threads.poll();
  }

  /**
   * The process has ended and leaves the schedule (processes.ts): its
   * descriptors close (pipes see their end), its CPU goes back, its children
   * go to the virtual init, and its parent learns of it (SIGCHLD, wait4), or
   * nobody does when the parent has gone or ignores SIGCHLD.
   */
  ended(): void {
    this.setRealTimer(undefined);
    // (Before its memory goes: robust mutexes it shares with others.)
    if (this.vforkSaved === undefined) processRobustLists(this);
    this.files.closeAll();
    this.fs.close();
    if (this.vforkSaved) this.releaseVforkParent();
    else if (this.cpu !== this.parent?.cpu) {
      this.processes.cpuRemoved(this.cpu);
      this.giveBackCpu(this.cpu);
    }
    // Orphans go to the nearest living ancestor that is a child subreaper
    // (prctl PR_SET_CHILD_SUBREAPER), else to the virtual init, which reaps.
    let heir = this.parent;
    while (heir && (!heir.childSubreaper || heir.exitStatus !== undefined)) heir = heir.parent;
    for (const c of this.children) {
      c.parent = heir;
      const zombie = c.exitStatus !== undefined && !this.processes.all().includes(c);
      if (heir) {
        heir.children.add(c);
        if (zombie) notifyParent(heir, c);
      } else if (zombie) {
        this.processes.forget(c);
      }
    }
    this.children.clear();
    const parent = this.parent;
    if (parent === undefined || parent.exitStatus !== undefined) {
      this.processes.forget(this);
      return;
    }
    notifyParent(parent, this);
  }

  /** wait4's status word for an ended process. */
  get waitStatus(): number {
    if (this.termSignal !== undefined) return this.termSignal | (this.coreDumped ? 0x80 : 0);
    return ((this.exitStatus ?? 0) & 0xff) << 8;
  }

  /** Whether its end would have dumped core (WCOREDUMP, CLD_DUMPED): a
   *  signal whose default action dumps core, with RLIMIT_CORE above 0
   *  (Linux's default, and a login's, is 0). No file is written. */
  get coreDumped(): boolean {
    const sig = this.termSignal;
    return sig !== undefined && defaultAction(sig) === 'core' && processState(this).limits[RLIMIT_CORE][0] > 0n;
  }


  /**
   * Calls the guest function `target` (a symbol, or an address) with up to 8
   * arguments and resolves to its a0; a last argument `{ budget }` limits its
   * instructions. Yields to the event loop like run(). See vmcall.ts and
   * docs/LIBRARY.md for the rules and the errors.
   */
  async call(target: string | bigint, ...args: CallArgs): Promise<bigint> {
    const { args: values, options } = splitCallArgs(args);
    return (await vmcall(this, target, values, options)).a0;
  }

  /** call() without yielding to the event loop. */
  callSync(target: string | bigint, ...args: CallArgs): bigint {
    const { args: values, options } = splitCallArgs(args);
    return vmcallSync(this, target, values, options).a0;
  }

  // Where the program headers are in guest memory: inside the PT_LOAD that
  // maps their file offset (0 when none does; libc then does without).
  private phdrAddress(): bigint {
    const off = this.image.phoff;
    for (const s of this.image.segments) {
      if (off >= BigInt(s.fileOffset) && off < BigInt(s.fileOffset + s.fileSize)) return s.vaddr + (off - BigInt(s.fileOffset));
    }
    return 0n;
  }

  /** The whole process ends (exit_group, a fatal signal, the last thread's exit). */
  exit(status: number): void {
    this.exitStatus = status;
  }

  /** ringvisor's own message about the guest (faults, limits, deadlocks). */
  diagnose(line: string): void {
    if (this.options.diagnostics) this.options.diagnostics(line);
    else this.files.sink(2)?.(new TextEncoder().encode(line + '\n'));
  }

  /** A line in --strace, when it is on. */
  trace(line: string): void {
    this.options.strace?.(line);
  }

  /** Runs the guest to its end; resolves to its exit status. Gives the
   *  host its thread back between slices, and waits with a timer while the
   *  guest sleeps on the host clock: the host's thread is never blocked
   *  (hypervisor/run-loop.ts). */
  run(): Promise<number> {
    return this.processes.root.loop.run(this.slices());
  }

  /** Runs the guest to its end without yielding; blocks the thread, for at
   *  most MAX_HOST_BLOCK_MS at a time, while the guest sleeps on the host
   *  clock. */
  runSync(): number {
    // (Nothing could resume it: resume() would have to run on this thread.)
    if (this.processes.root.pausedByHost) throw new Error(`ringvisor: ${this.programName}: runSync() on a paused VM`);
    const slices = this.slices();
    return this.processes.root.loop.runSync({
      ...slices,
      paused: false,
      step: () => {
        const status = slices.step();
        // (Nor could input from the host arrive while this thread runs.)
        if (status === undefined && this.processes.root.waitingForHost) throw new Error(`ringvisor: ${this.programName}: the guest waits for stdin the host feeds as it arrives (HostInput): run it with run(), not runSync()`);
        return status;
      },
    });
  }

  // The VM as the run loop drives it: one slice of one of its processes
  // per step, the status once it has ended (or its host halted it), the
  // host's naps counted as time the guest slept.
  private slices(): Sliced<number> {
    const root = this.processes.root;
    return {
      step: () => {
        if (root.haltedWith !== undefined) return this.finished(root.haltedWith);
        if (root.waitingForHost) {
          // (The wait for input is the guest's; --timeout still bounds it.)
          const timedOut = this.checkDeadline();
          if (timedOut !== undefined) return this.finished(timedOut);
        }
        const status = this.processes.step(this.clock);
        return status === undefined ? undefined : this.finished(status);
      },
      idleMilliseconds: () => this.idleMilliseconds(),
      get paused() { return root.pausedByHost && root.exitStatus === undefined && !root.disposed; },
      napped: (ms) => this.clock.slept(BigInt(Math.round(ms * 1e6))),
      took: (ms) => {
        const p = root.wholeSlice;
        if (p === undefined) return;
        root.wholeSlice = undefined;
        p.adaptSlice(ms);
      },
    };
  }

  // The VM's stdin is fed by the host (host-input.ts): input (or its end)
  // ends a wait for it, whichever process waits, and wakes run()'s nap.
  private listenToHost(stdin: StdinSource | undefined): void {
    if (!(stdin instanceof HostInput)) return;
    this.hostInput = stdin;
    this.unlistenHost = stdin.onReady(() => {
      this.files.ioEvents.epoch++;
      this.waitingForHost = false;
      this.idleUntil = undefined;
      this.loop.wake();
    });
  }

  /** Whether input from the host may still end a wait (its stdin is fed
   *  by the host and has not ended): a wait with nothing else to end it
   *  is then an idle VM, not a deadlock. */
  get hostMayWake(): boolean {
    return this.processes.root.hostInput?.open === true;
  }

  /** Every thread waits for what only the host's input can end. */
  waitForHost(): void {
    this.processes.root.waitingForHost = true;
  }

  /**
   * Guest time is to run to `deadline` (clock ns) because no thread can run
   * before it (hypervisor/scheduler.ts): the virtual clock jumps there at
   * once (true); the host clock is waited for by the run loop (false), with
   * the time limit checked between its naps.
   */
  idleTo(deadline: bigint): boolean {
    const idle = whenIdle(this.clock.kind, this.clock.nowNs(), deadline, false);
    if (idle.kind === 'skip') this.clock.skip(idle.by);
    if (idle.kind !== 'wait') return true;
    this.idleUntil = idle.until;
    return false;
  }

  /** How long the host should wait before the guest can go on (ms, at most
   *  MAX_HOST_BLOCK_MS); 0 when it can run now. */
  idleMilliseconds(): number {
    if (this.processes.root.waitingForHost) return MAX_HOST_BLOCK_MS;
    if (this.idleUntil === undefined) return this.processes.idleMilliseconds(this.clock);
    const ms = Number(this.idleUntil - this.clock.nowNs()) / 1e6;
    return ms <= 0 ? 0 : Math.min(ms, MAX_HOST_BLOCK_MS);
  }

  /** While the guest sleeps on the host clock: true until its deadline has
   *  come (the run loop waits meanwhile, idleMilliseconds() at a time);
   *  then false, and the guest can run. */
  stillIdle(): boolean {
    if (this.idleUntil === undefined) return false;
    if (this.idleUntil > this.clock.nowNs()) return true;
    this.idleUntil = undefined;
    return false;
  }

  /**
   * Ends the VM for good and hands its CPU to the next ProcessVM.create
   * from the same compiled module: the CPU is reset, which scrubs every
   * page the guest or ring -1 may have written (Cpu.scrub: mapped or not,
   * whatever wrote it) and drops every page's permissions, so the next VM
   * starts on memory that is all zero but for what it loads itself,
   * without paying for a new one. Descriptors are closed. Running or
   * calling into a disposed VM throws. Optional: a VM never disposed is
   * simply collected.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.idleUntil = undefined;
    this.loop.wake();
    // Other processes still alive end with it (their CPUs go back too).
    if (this.exitStatus === undefined) this.exitStatus = 128 + SIGKILL;
    this.processes.endAll();
    this.files.closeAll();
    this.unlistenHost?.();
    // The namespace is the VM's (options.fs included): its held host
    // directories go with it, or a host that makes VM after VM runs out of
    // descriptors (the syscalls fuzz target did, at about 1,000 VMs).
    this.fs.close();
    this.giveBackCpu(this.cpu);
  }

  /** Throws if dispose() has been called. */
  assertLive(): void {
    if (this.disposed) throw new Error(`ringvisor: ${this.programName}: the VM has been disposed`);
  }

  // The process is gone: its descriptors close (host files among them).
  private finished(status: number): number {
    this.files.closeAll();
    this.unlistenHost?.();
    return status;
  }

  // One run() of the CPU for the current thread and the handling of its
  // exit, then, when that thread cannot go on or its time slice is over, the
  // next thread onto the CPU. Returns the exit status once the guest has ended.
  // While the guest sleeps on the host clock it runs nothing and returns
  // (the run loop waits).
  runSlice(cap?: bigint, calls = 1): number | undefined {
    this.assertLive();
    this.inSlice = true;
    try {
      return this.runSliceNow(cap, calls);
    } finally {
      this.inSlice = false;
    }
  }

  private runSliceNow(cap: bigint | undefined, calls: number): number | undefined {
    const cpu = this.cpu;
    const threads = this.threads;
    const root = this.processes.root;
    if (this.idleUntil !== undefined) {
      if (this.limits.timedOut()) return this.timedOut();
      if (this.stillIdle()) return undefined;
      // The deadline has come: a thread whose wait it ends gets the CPU (or
      // the clock is to run on to a later deadline).
      if (threads.mustSwitch) threads.schedule();
      return this.exitStatus;
    }
    // The thread on the CPU may wait (other processes were to end its wait,
    // and this process is alone now): the thread scheduler decides.
    if (threads.waiting) {
      threads.schedule();
      if (this.exitStatus !== undefined || threads.waiting || this.idleUntil !== undefined) return this.exitStatus;
    }
    // Signals other processes sent while this one was off the CPU.
    if (this.signalsArrived) {
      this.signalsArrived = false;
      deliverPendingSignals(this);
      if (this.exitStatus !== undefined) return this.exitStatus;
    }
    let budget = this.slice;
    if (threads.count > 1) {
      if (this.sliceThread !== threads.current || this.sliceLeft <= 0n) {
        this.sliceThread = threads.current;
        this.sliceLeft = this.options.threadSlice ?? DEFAULT_THREAD_SLICE;
      }
      budget = this.sliceLeft;
    }
    if (cap !== undefined && cap > 0n && cap < budget) budget = cap;
    if (this.limits.any) {
      const executed = this.processes.instret();
      switch (this.limits.reached(executed)) {
        case 'instructions':
          this.diagnose(`ringvisor: ${this.programName}: instruction limit reached (${this.limits.maxInstructions} instructions) at pc 0x${cpu.pc.toString(16)}`);
          return this.endVm(LIMIT_EXIT_STATUS);
        case 'timeout':
          return this.timedOut();
      }
      budget = this.limits.clamp(budget, executed);
    }
    for (let call = 1; ; call++) {
      // The memory limit is the whole VM's: this process may write what the
      // others leave.
      if (this.limitPages !== 0) {
        const others = this.processes.alone ? 0 : this.processes.memoryUsed() - cpu.memoryUsed;
        const limit = Math.max(1, this.limitPages - others);
        if (cpu.memoryLimit !== limit) cpu.memoryLimit = limit;
      }
      // A thread's slice is counted down only while others wait for the CPU
      // (one thread alone reads no instruction count: two BigInts a run).
      const shared = threads.count > 1;
      const started = shared ? cpu.instret : 0n;
      const whole = call === 1 && budget === this.slice;
      const reason = cpu.run(budget);
      // Only a whole slice on the host clock adapts the slice, timed by the
      // run loop (slices().took): a run that a system call ends costs no read
      // of the host's clock of its own.
      if (whole && reason === ExitReason.Budget && this.clock.kind === 'host') this.processes.root.wholeSlice = this;
      if (shared) this.sliceLeft -= cpu.instret - started;
      const action = handleExit(reason, this.partition);
      if (action.kind === 'stop') {
        // A fault's signal ended the process (and said so); an exit the
        // process never selected ends the VM.
        if (action.diagnostic === undefined) return action.status;
        this.diagnose(action.diagnostic);
        return this.endVm(action.status);
      }
      if (this.exitStatus === undefined && threads.mustSwitch) threads.schedule();
      // The slice goes on after a system call (up to `calls` of them) that
      // left the process as the run loop would find it between two steps:
      // alone, on one thread, the same CPU, nothing to wait for or deliver.
      if (call >= calls || reason !== ExitReason.EcallU || !this.goesOn(cpu)) return this.exitStatus;
      budget = cpu.budgetLeft;
      if (budget <= 0n) return this.exitStatus;
    }
  }

  // Whether the step may run the process on after a system call: what
  // runSliceNow, Processes.step and the run loop would look at before the
  // next slice all say it would simply run again.
  private goesOn(cpu: Cpu): boolean {
    const root = this.processes.root, threads = this.threads;
    return this.exitStatus === undefined && this.cpu === cpu && !this.limits.any && this.processes.solo &&
      threads.count === 1 && !threads.waiting && !threads.mustSwitch && this.idleUntil === undefined && !this.signalsArrived &&
      root.haltedWith === undefined && !root.pausedByHost && !root.waitingForHost;
  }

  // ---- checkpoints (docs/CHECKPOINTS.md, "A process VM's checkpoint") ----

  /** Where the VM is: running (or ready to run), paused, stopped. */
  get state(): ProcessVMState {
    const root = this.processes.root;
    return this.disposed || root.exitStatus !== undefined ? 'Stopped' : root.pausedByHost ? 'Paused' : 'Running';
  }

  /** Pauses the VM at the end of the slice it is in (at once when called
   *  between slices, as a handler on the event loop always is): run()
   *  waits, without spinning, and no slice runs until resume(). */
  pause(): void {
    this.processes.root.pausedByHost = true;
  }

  resume(): void {
    const root = this.processes.root;
    root.pausedByHost = false;
    root.loop.wake();
  }

  /** Stops the VM from outside (its host replacing or ending it): run()
   *  returns `status` before the next slice; its processes are ended as
   *  a kill would end them. */
  halt(status: number): void {
    const root = this.processes.root;
    root.haltedWith ??= status;
    root.pausedByHost = false;
    root.loop.wake();
  }

  /** What the VM has used and done so far, for a host's metering:
   *  instructions, exits by reason, system calls, memory, threads, the
   *  translator's work, and the state. */
  metrics(): Record<string, unknown> {
    const cpu = this.cpu;
    const jit = cpu.jitStats;
    return {
      state: this.state,
      instructions: cpu.instret,
      exits: Object.fromEntries([...cpu.exitCounts()].map(([r, n]) => [EXIT_REASON_NAMES[r] ?? String(r), n])),
      syscalls: Object.fromEntries(this.syscallCounts),
      memory: { usedBytes: cpu.memoryUsed * 4096, peakBytes: cpu.memoryPeak * 4096, limitBytes: cpu.memoryLimit * 4096 },
      threads: { created: this.threads.created, peak: this.threads.peak, switches: this.threads.switches },
      processes: this.processes.count,
      translation: jit === undefined ? null : { regions: jit.translated, modules: jit.modules, bytes: jit.bytes },
    };
  }

  /** What it was made with, as plain values (GET /vm's config). */
  configuration(): Record<string, unknown> {
    return {
      program: this.programName, memoryBytes: Number(this.cpu.ramLength),
      clock: this.options.clock ?? 'host', jitThreshold: this.cpu.jitThreshold,
    };
  }

  /**
   * The whole VM as a checkpoint file (docs/CHECKPOINTS.md): its
   * configuration, the CPU, the RAM that holds anything (compressed), the
   * threads, signals, limits, mappings, descriptors (a host file by its
   * path in the sandbox; pipes with their unread bytes), the in-memory /tmp
   * whole, and the clock. Call it between two slices (from the event loop
   * while run() goes on, or after pause()). With the virtual clock a VM
   * restored from it runs on exactly as this one does from here.
   *
   * What this release cannot save is refused with a
   * CheckpointUnsupportedError naming it (more than one process, a shared
   * file mapping, an O_PATH descriptor, a file renamed since it was
   * opened...), and nothing changes.
   */
  checkpoint(): Uint8Array {
    return writeCheckpoint(processMachineId(this.cpu), [...this.sectionsToSave(), ...saveRam(this.cpu)]);
  }

  /**
   * A snapshot for a file (the control API's PUT /snapshot/create): a Full
   * one is checkpoint() and starts the dirty-page log; a Diff holds only
   * the RAM written since the last snapshot (or the restore), and is
   * restored with the files it builds on (`ProcessVMRestoreOptions.base`).
   * A Diff with no snapshot before it throws CheckpointError. What cannot
   * be saved is refused before the dirty-page log is touched.
   */
  snapshot(type: 'Full' | 'Diff' = 'Full'): Uint8Array {
    const sections = this.sectionsToSave();
    return this.lineage.snapshot(type, (ram) => writeCheckpoint(processMachineId(this.cpu), [...sections, ...ram]));
  }

  /** The last snapshot never reached its file: the next one must be Full. */
  forgetSnapshot(): void {
    this.snapshots?.forget();
  }

  // The process as the exit table (hypervisor/exits.ts) sees it: system
  // calls, faults and signals, and threads taking turns.
  private exitPartition: Partition | undefined;
  private get partition(): Partition {
    const vm = this;
    return this.exitPartition ??= {
      name: `ringvisor: ${this.programName}`,
      get cpu() { return vm.cpu; },
      ran: 0n,
      systemCall: () => { this.syscall(); return CONTINUE; },
      breakpoint: () => this.signalled(this.fault(SIGTRAP, 'ebreak')),
      fault: () => {
        if (this.handleMemoryFault()) return CONTINUE;
        const cause = this.cpu.exit.cause;
        return this.signalled(this.fault(signalForCause(cause), CAUSE_NAMES[cause] ?? `exception ${cause}`));
      },
      preempt: () => { if (this.threads.count > 1) this.threads.preempt(); },
      readTime: () => timeCsr(this.clock),
    };
  }

  // A fault's signal: delivered (the process runs on) or its end.
  private signalled(status: number | undefined): ExitAction {
    return status === undefined ? CONTINUE : { kind: 'stop', status };
  }

  private get lineage(): SnapshotLineage {
    return this.snapshots ??= new SnapshotLineage(this.cpu);
  }

  // Every part's record but RAM, checked first: what cannot be saved yet
  // throws CheckpointUnsupportedError.
  private sectionsToSave(): Section[] {
    this.assertLive();
    const refuse = (feature: string, why: string): never => {
      throw new CheckpointUnsupportedError(feature, `${this.programName}: ${why}`);
    };
    const root = this.processes.root;
    if (root.exitStatus !== undefined) refuse('stopped', 'the VM has stopped: there is nothing to run on');
    if (root.inSlice) refuse('mid-slice', 'checkpoint() was called inside a slice (from a sink or trace callback): call it between slices');
    if (root.inCall) refuse('call', 'a library call (call()) is running');
    if (this !== root || this.processes.count > 1 || this.children.size > 0 || this.vforkChild) {
      refuse('processes', `the VM holds ${this.processes.count} processes (after fork): only a VM of one process can be saved yet`);
    }
    if (sharedMaps(this)?.overlaps(0n, USER_END)) refuse('shared-mapping', 'it has a MAP_SHARED file mapping, which cannot be saved yet');
    const files = this.saveFiles(refuse);
    let trees: { at: string; record: Uint8Array }[] = [];
    try {
      trees = this.fs.mountTable
        .filter((m) => m.fs instanceof MemFs && !m.fs.readOnly)
        .map((m) => ({ at: joinPath(m.at), record: (m.fs as MemFs).save() }));
    } catch (e) {
      if (e instanceof MemFsSaveError) refuse('memfs', e.message);
      throw e;
    }
    const cwd = joinPath(this.fs.cwd);
    if (!this.leadsTo(cwd, this.fs.cwdHeld.fs.lstat([]))) {
      refuse('cwd', `its working directory ${nameToText(cwd)} was renamed or removed since it was entered`);
    }
    const threads = saveThreadsRecord({ group: this.threads.save(), switches: this.threads.switches, created: this.threads.created, peak: this.threads.peak });
    // The program's bytes not yet in RAM go there: the record is of RAM.
    this.memory.space.placeDeferred();
    const cpu = this.cpu;
    const sections: Section[] = [
      { name: 'process', version: PROCESS_RECORD_VERSION, payload: saveProcessVmRecord(this.vmRecord()) },
      { name: 'cpu', version: PROCESS_RECORD_VERSION, payload: cpu.saveState(), compress: true },
      { name: 'threads', version: PROCESS_RECORD_VERSION, payload: threads },
      { name: 'signals', version: PROCESS_RECORD_VERSION, payload: saveSignalsRecord(saveSignals(this)) },
      { name: 'rlimits', version: PROCESS_RECORD_VERSION, payload: saveRlimitsRecord(saveProcess(this)) },
      { name: 'memory', version: PROCESS_RECORD_VERSION, payload: this.memory.space.save(), compress: true },
      { name: 'files', version: FILES_RECORD_VERSION, payload: saveFilesRecord(files), compress: true },
      { name: 'memfs', version: PROCESS_RECORD_VERSION, payload: saveMemfsMounts(trees), compress: true },
      { name: 'clock', version: PROCESS_RECORD_VERSION, payload: saveClockRecord({ hostClock: this.clock.kind === 'host', sleptNs: this.clock.save().sleptNs, nowNs: this.clock.nowNs() }) },
    ];
    return sections;
  }

  // The VM's own record: its configuration and the process's state.
  private vmRecord(): ProcessVmRecord {
    const o = this.options, p = this.processes, c = p.saveCounters(), m = this.memory;
    return {
      programName: this.programName, memoryBytes: o.memoryBytes ?? DEFAULT_MEMORY_BYTES, hostClock: this.clock.kind === 'host',
      threadSlice: o.threadSlice, maxProcesses: o.maxProcesses, maxInstructions: o.maxInstructions,
      pid: this.pid, pgid: this.pgid, sid: this.sid, exitSignal: this.exitSignal, ids: this.ids,
      stopped: this.stopped, childSubreaper: this.childSubreaper, execed: this.execed,
      slice: this.slice, sliceLeft: this.sliceLeft, sliceThread: this.sliceThread?.tid ?? 0,
      idleUntil: this.idleUntil, realTimer: this.timer, image: this.image,
      brkStart: m.brkStart, brk: m.brk, brkLimit: m.brkLimit, mmapTop: m.mmapTop, stackTop: m.stackTop,
      syscallCounts: this.syscallCounts,
      nextId: p.nextId, processesCreated: p.created, processesPeak: p.peak,
      retired: c.retired, processSliceLeft: c.sliceLeft, limitReported: c.limitReported,
      umask: this.fs.umask, exePath: this.fs.exePath, cwd: joinPath(this.fs.cwd),
    };
  }

  // Whether the guest path `path` (not following a final link) leads to the
  // object whose status is `st`: a file renamed or removed since it was
  // opened could not be opened again by its path.
  private leadsTo(path: string, st: { dev: bigint; ino: bigint }): boolean {
    try {
      const r = this.fs.walk(undefined, path, { follow: false });
      return r.stat !== undefined && r.stat.dev === st.dev && r.stat.ino === st.ino;
    } catch (e) {
      if (e instanceof FsError) return false;
      throw e;
    } finally {
      this.fs.settle();
    }
  }

  // The descriptors as a record: each open file description once (dup'd
  // descriptors share it), each pipe once with its unread bytes. Every
  // description is numbered first, so that an epoll instance can name
  // those it watches.
  private saveFiles(refuse: (feature: string, why: string) => never): FilesRecord {
    const order: [number, Description][] = [], index = new Map<Description, number>();
    const pipes: SavedPipe[] = [], pipeIndex = new Map<Pipe, number>();
    const fds: FilesRecord['fds'] = [];
    for (const fd of this.files.open()) {
      const d = this.files.get(fd);
      let i = index.get(d);
      if (i === undefined) {
        index.set(d, i = order.length);
        order.push([fd, d]);
      }
      fds.push({ fd, description: i, cloexec: this.files.getCloexec(fd) });
    }
    const descriptions = order.map(([fd, d]) => this.saveDescription(fd, d, { pipes, pipeIndex, index }, refuse));
    return { epoch: this.files.ioEvents.epoch, pipes, descriptions, fds };
  }

  private saveDescription(fd: number, d: Description, { pipes, pipeIndex, index }: { pipes: SavedPipe[]; pipeIndex: Map<Pipe, number>; index: Map<Description, number> }, refuse: (feature: string, why: string) => never): SavedDescription {
    if (d instanceof InputStream) {
      const held = d.available();
      if (held > 0) refuse('stdin', `fd ${fd}: ${held} bytes of stdin were taken from the host but not yet read by the guest`);
      return { kind: 'stdin', flags: d.flags };
    }
    if (d instanceof OutputStream) return { kind: d.stat().ino === 4n ? 'stdout' : 'stderr', flags: d.flags };
    if (d instanceof PipeEnd) {
      let i = pipeIndex.get(d.pipe);
      if (i === undefined) {
        pipeIndex.set(d.pipe, i = pipes.length);
        pipes.push({ ino: d.pipe.ino, version: d.pipe.version, bytes: d.pipe.contents() });
      }
      return { kind: d.end === 'read' ? 'pipe-read' : 'pipe-write', flags: d.flags, pipe: i };
    }
    if (d instanceof FileDescription && d.path !== undefined) {
      const path = joinPath(d.path), st = d.stat();
      if (!this.leadsTo(path, st)) refuse('fd', `fd ${fd}: ${nameToText(path)} was renamed or removed since it was opened, so it could not be opened again`);
      return { kind: 'file', flags: d.flags, offset: d.offset, path, type: st.mode & S_IFMT };
    }
    if (d instanceof DirectoryDescription && d.path !== undefined) {
      const path = joinPath(d.path);
      if (!this.leadsTo(path, d.stat())) refuse('fd', `fd ${fd}: the directory ${nameToText(path)} was renamed or removed since it was opened, so it could not be opened again`);
      return { kind: 'dir', flags: d.flags, offset: d.offset, path };
    }
    if (d instanceof EventFd) return { kind: 'eventfd', flags: d.flags, count: d.count, semaphore: d.semaphore, version: d.version };
    if (d instanceof Epoll) {
      const interests = d.liveInterests().map((i) => {
        const description = index.get(i.description);
        if (description === undefined) return refuse('fd', `fd ${fd}: the epoll instance watches a file that no descriptor refers to any more`);
        return { fd: i.fd, description, events: i.events, data: i.data, reported: i.reported, disarmed: i.disarmed };
      });
      return { kind: 'epoll', flags: d.flags, interests };
    }
    const what = d instanceof PathDescription ? 'an O_PATH descriptor'
      : d instanceof FileDescription ? 'a file the embedder opened (stdin from a file)'
      : 'a descriptor of a kind this release cannot save';
    return refuse('fd', `fd ${fd} is ${what}, which cannot be saved yet`);
  }

  // Takes every part of a checkpoint, RAM first (the CPU's record then says
  // which pages hold data). Called on a VM made for it, so a part refused
  // half-way leaves only a VM nobody will run.
  private restoreParts(from: RestoreFrom): void {
    const v = from.vm, cpu = this.cpu;
    writeRam(cpu, from.ram);
    cpu.restoreState(from.parts.get('cpu')!);
    const space = new AddressSpace(cpu);
    space.restore(from.parts.get('memory')!);
    this.memory = { space, brkStart: v.brkStart, brk: v.brk, brkLimit: v.brkLimit, mmapTop: v.mmapTop, stackTop: v.stackTop };
    const p = this.processes;
    p.nextId = v.nextId;
    p.created = v.processesCreated;
    p.peak = v.processesPeak;
    p.restoreCounters({ retired: v.retired, sliceLeft: v.processSliceLeft, limitReported: v.limitReported });
    try {
      this.threads.restore(from.threads.group);
    } catch (e) {
      throw new CheckpointError('bad-record', `threads record: ${(e as Error).message}`);
    }
    this.threads.switches = from.threads.switches;
    this.threads.created = from.threads.created;
    this.threads.peak = from.threads.peak;
    restoreSignals(this, from.signals);
    restoreProcess(this, from.rlimits);
    this.clock.restore({ version: 1, kind: this.clock.kind, sleptNs: from.clock.sleptNs });
    if (this.clock.kind === 'virtual' && this.clock.nowNs() !== from.clock.nowNs) {
      throw new CheckpointError('bad-record', `process-clock record: the time was ${from.clock.nowNs} ns, the instructions retired make it ${this.clock.nowNs()}`);
    }
    this.pgid = v.pgid;
    this.sid = v.sid;
    this.exitSignal = v.exitSignal;
    this.ids = { ...v.ids };
    this.stopped = v.stopped;
    this.childSubreaper = v.childSubreaper;
    this.execed = v.execed;
    this.slice = v.slice;
    this.sliceLeft = v.sliceLeft;
    this.sliceThread = v.sliceThread === 0 ? undefined : this.threads.find(v.sliceThread);
    this.idleUntil = v.idleUntil;
    if (v.realTimer) this.setRealTimer({ ...v.realTimer });
    // The file system: the in-memory trees, then the working directory in
    // them, then the descriptors (files of those trees among them).
    const fs = this.fs;
    for (const t of from.trees) {
      const m = fs.mountTable.find((x) => joinPath(x.at) === t.at && x.fs instanceof MemFs && !x.fs.readOnly);
      if (!m) throw new CheckpointError('bad-argument', `the saved VM had an in-memory tree at ${nameToText(t.at)}; the file system given has none there`);
      (m.fs as MemFs).restore(t.record);
    }
    fs.umask = v.umask;
    fs.exePath = v.exePath;
    try {
      fs.chdir(fs.walk(undefined, v.cwd, { follow: true }));
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      throw new CheckpointError('bad-argument', `the saved VM's working directory ${nameToText(v.cwd)} is not there (errno ${e.errno})`);
    } finally {
      fs.settle();
    }
    this.restoreFiles(from.files);
  }

  // The descriptors of a files record. The standard streams are the ones
  // the restorer gave (options.stdin, stdout, stderr); every file is opened
  // again by its path through the VM's namespace (never the host's).
  private restoreFiles(rec: FilesRecord): void {
    const files = this.files;
    const std = { stdin: files.get(0), stdout: files.get(1), stderr: files.get(2) };
    const stdUsed = new Set<string>();
    for (const d of Object.values(std)) d.refs++;
    for (const fd of [0, 1, 2]) files.close(fd);
    const pipes = rec.pipes.map((s) => {
      const pipe = new Pipe(files.ioEvents, s.ino);
      if (s.bytes.length > 0) pipe.put(s.bytes);
      pipe.version = s.version;
      return pipe;
    });
    const made: Description[] = [];
    try {
      for (const s of rec.descriptions) {
        let d: Description;
        switch (s.kind) {
          case 'stdin': case 'stdout': case 'stderr':
            if (stdUsed.has(s.kind)) throw new CheckpointError('bad-record', `files record: two ${s.kind} descriptions`);
            stdUsed.add(s.kind);
            d = std[s.kind];
            d.flags = s.flags;
            break;
          case 'pipe-read': case 'pipe-write':
            d = new PipeEnd(pipes[s.pipe], s.kind === 'pipe-read' ? 'read' : 'write', s.flags);
            break;
          case 'file':
            d = this.reopen(s);
            break;
          case 'dir':
            d = this.reopenDirectory(s);
            break;
          case 'eventfd': {
            const e = new EventFd(s.count, s.semaphore, s.flags, files.ioEvents);
            e.version = s.version;
            d = e;
            break;
          }
          case 'epoll':
            d = new Epoll(s.flags);
            break;
        }
        made.push(d);
      }
      // What each epoll instance watches, once every description is made.
      rec.descriptions.forEach((s, k) => {
        if (s.kind !== 'epoll') return;
        const ep = made[k] as Epoll;
        for (const i of s.interests) ep.interests.push({ fd: i.fd, description: made[i.description], events: i.events, data: i.data, reported: i.reported, disarmed: i.disarmed });
      });
      for (const s of rec.fds) files.install(made[s.description], s.fd, s.cloexec);
    } catch (e) {
      for (const d of made) if (d.refs === 0 && !Object.values(std).includes(d)) d.release();
      throw e;
    } finally {
      for (const d of Object.values(std)) if (--d.refs === 0) d.release();
    }
    files.ioEvents.epoch = rec.epoch;
  }

  // A directory of a saved descriptor, held again by its guest path (through
  // the sandbox). Its listing is taken again when it is next read.
  private reopenDirectory(s: Extract<SavedDescription, { kind: 'dir' }>): Description {
    try {
      const r = this.fs.walk(undefined, s.path, { follow: false });
      if (!r.stat || (r.stat.mode & S_IFMT) !== S_IFDIR) throw new FsError(ENOTDIR, s.path);
      const d = new DirectoryDescription(this.fs.hold(r), s.flags);
      d.offset = s.offset;
      return d;
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      throw new CheckpointError('bad-argument', `the directory ${nameToText(s.path)}, open when the checkpoint was taken, cannot be opened again (errno ${e.errno}): is it gone, or not mounted?`);
    } finally {
      this.fs.settle();
    }
  }

  // A file of a saved descriptor, opened again by its guest path (through
  // the sandbox), at the saved offset with the saved status flags.
  private reopen(s: Extract<SavedDescription, { kind: 'file' }>): Description {
    let d: Description;
    try {
      d = openPath(this, undefined, s.path, s.flags, 0);
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      throw new CheckpointError('bad-argument', `${nameToText(s.path)}, open when the checkpoint was taken, cannot be opened again (errno ${e.errno}): is it gone, or its directory not mounted?`);
    } finally {
      this.fs.settle();
    }
    if (!(d instanceof FileDescription) || (d.stat().mode & S_IFMT) !== s.type) {
      if (d.refs === 0) d.release();
      throw new CheckpointError('bad-argument', `${nameToText(s.path)} is not the kind of file it was when the checkpoint was taken`);
    }
    d.flags = s.flags;
    d.offset = s.offset;
    return d;
  }

  /** For the VM's scheduler: ends the VM if --timeout has passed (and
   *  returns its status). */
  checkDeadline(): number | undefined {
    return this.limits.timedOut() ? this.timedOut() : undefined;
  }

  // --timeout has passed: the VM ends (timeout(1)'s status).
  private timedOut(): number {
    this.diagnose(`ringvisor: ${this.programName}: timed out after ${this.options.timeoutSeconds} s at pc 0x${this.cpu.pc.toString(16)}`);
    return this.endVm(LIMIT_EXIT_STATUS);
  }

  // A limit of the whole VM is reached: the root ends with `status`.
  private endVm(status: number): number {
    this.processes.root.exit(status);
    return status;
  }

  // A whole slice took `ms`: halve it when that is too long, double it
  // (up to SLICE) when it is much shorter.
  private adaptSlice(ms: number): void {
    if (ms > SLICE_MS && this.slice > MIN_SLICE) this.slice /= 2n;
    else if (ms < SLICE_MS / 4 && this.slice < SLICE) this.slice *= 2n;
  }

  /** Serves the system call the CPU stopped at (an ECALL_U exit): the
   *  handler from the table by a7, its result into a0, a line in --strace. */
  syscall(): void {
    const cpu = this.cpu;
    const nr = Number(cpu.x(17));
    const args = [cpu.x(10), cpu.x(11), cpu.x(12), cpu.x(13), cpu.x(14), cpu.x(15)];
    const entry = SYSCALLS.get(nr);
    const name = entry?.name ?? `syscall_${nr}`;
    this.syscallCounts.set(name, (this.syscallCounts.get(name) ?? 0) + 1);
    const result = entry ? entry.handler(this, args) : unknownSyscall();
    const threads = this.threads;
    if (this.options.strace) {
      const shown = args.slice(0, entry?.argc ?? 6).map((a) => '0x' + a.toString(16)).join(', ');
      const res = result < 0n ? `-1 errno=${-result}${entry ? '' : ' (ENOSYS: not implemented)'}` : result.toString();
      // With several threads, each line names its thread, as strace -f does.
      const who = threads.count > 1 || threads.current.tid !== PID || !this.processes.alone ? `[pid ${threads.current.tid}] ` : '';
      const shownResult = this.exitStatus !== undefined ? '?' : threads.current.wait ? '? <unfinished: waits>' : res;
      this.options.strace(`${who}${name}(${shown}) = ${shownResult}`);
    }
    // A call waiting for I/O runs again from its ecall with its arguments
    // (after the handler of the signal that interrupted it, for SA_RESTART).
    if (threads.restarting) {
      if (threads.current.restartAfterSignal) {
        threads.current.restartAfterSignal = false;
        callEnded(this);
      }
      return;
    }
    threads.callDone();
    // (execve may have given the process another CPU.)
    this.cpu.setX(10, result);
    callEnded(this);
    // Ring -1's writes for the call (a read() into fresh pages) count too;
    // they are never refused midway, so the limit is checked after it.
    if (this.memoryExceeded() && this.exitStatus === undefined) this.outOfMemory();
  }

  /**
   * Whether the last FAULT exit was memory management's rather than the
   * guest's, and was handled: the first access to a mapped slot of the
   * address space without RAM (given RAM now: the access runs again), or a
   * first store the memory limit refused (the out-of-memory kill, which ends
   * the guest). ProcessVM.run's loop and vmcall's both ask.
   */
  handleMemoryFault(): boolean {
    if (this.pagedIn()) return true;
    if (!this.refusedForMemory()) return false;
    this.outOfMemory();
    return true;
  }

  // Whether the fault was the first access to a mapped slot of the address
  // space without RAM, now given RAM (the CPU runs the access again). RAM
  // all in use ends the guest as the out-of-memory killer would.
  private pagedIn(): boolean {
    const e = this.cpu.exit;
    if (e.cause !== Cause.LoadPageFault && e.cause !== Cause.StorePageFault && e.cause !== Cause.FetchPageFault) return false;
    try {
      return this.memory.space.faultIn(e.addr);
    } catch (err) {
      if (!(err instanceof OutOfChunks)) throw err;
      terminateBySignal(this, SIGKILL, `out of memory: ${this.programName} uses more of its address space at once than the 4 GiB of RAM a WebAssembly memory can hold; killed`);
      return true;
    }
  }

  /** Whether the VM's processes have written more than --mem allows. */
  memoryLimitExceeded(): boolean {
    return this.limitPages !== 0 && this.processes.memoryUsed() > this.limitPages;
  }

  private memoryExceeded(): boolean {
    const limit = this.cpu.memoryLimit;
    return limit !== 0 && this.cpu.memoryUsed > limit;
  }

  // Whether the CPU refused the store it faulted on for the memory limit
  // (assembly/memory.ts firstStore): a store fault on a page mapped
  // writable, with the guest's memory within two pages of the limit (a
  // store that crosses pages may need two).
  private refusedForMemory(): boolean {
    const cpu = this.cpu, e = cpu.exit, limit = cpu.memoryLimit;
    if (limit === 0 || e.cause !== Cause.StorePageFault || cpu.memoryUsed + 2 <= limit) return false;
    return ((this.memory.space.permissions(e.addr) ?? 0) & Perm.W) !== 0;
  }

  // Linux's out-of-memory killer: the process ends by SIGKILL, and the
  // kernel's log line (here ringvisor's diagnostic) says why.
  private outOfMemory(): void {
    const mib = (pages: number) => (pages % 256 === 0 ? `${pages / 256} MiB` : `${pages * (PAGE_SIZE / 1024)} KiB`);
    terminateBySignal(this, SIGKILL, `out of memory: ${this.programName} needs more than the ${mib(this.limitPages)} --mem allows (${mib(this.processes.memoryUsed())} in use); killed`);
  }

  // A synchronous fault goes to the guest's handler for its signal when there
  // is one (the handler may fix the cause and return, or longjmp away);
  // otherwise the default action ends the process. A page fault on a file
  // mapping past the end of its file is SIGBUS there, as Linux sends it.
  private fault(sig: number, what: string): number | undefined {
    const e = this.cpu.exit;
    if (isPastEndOfFile(this, e.cause, e.addr)) [sig, what] = [SIGBUS, PAST_EOF_WHAT];
    if (deliverFault(this, sig, faultCode(this, sig, e.cause, e.addr), sig === SIGTRAP || sig === SIGILL ? e.pc : e.addr)) return this.exitStatus;
    return this.killBySignal(sig, what);
  }

  // The default action ends the process the way a shell would report it,
  // 128 + the signal number, after QEMU's message.
  private killBySignal(sig: number, what: string): number {
    const e = this.cpu.exit;
    // Only the VM's first process is reported, as qemu-riscv64 reports its
    // guest; a process it started dies as quietly as on Linux (as a forked
    // qemu-riscv64 does): its parent's wait tells of it. --strace shows it.
    const inst = e.instLength === 2 ? e.inst.toString(16).padStart(4, '0') : e.inst.toString(16).padStart(8, '0');
    const where = `fault at pc 0x${e.pc.toString(16)} (instruction ${e.instLength ? '0x' + inst : 'unreadable'}): ${what}, address 0x${e.addr.toString(16)}`;
    if (this === this.processes.root) {
      this.diagnose(`ringvisor: uncaught target signal ${sig} (${SIGNAL_NAMES[sig]}) - core dumped`);
      this.diagnose(`ringvisor: ${where}`);
    } else {
      this.trace(`--- pid ${this.pid} killed by signal ${sig} (${SIGNAL_NAMES[sig]}): ${where} ---`);
    }
    this.termSignal = sig;
    this.exit(128 + sig);
    return 128 + sig;
  }
}

export type Process = ProcessVM;
