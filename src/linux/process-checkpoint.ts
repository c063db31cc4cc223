// A whole process VM in one checkpoint file (docs/CHECKPOINTS.md, "A process
// VM's checkpoint"): the VM's own record (its configuration and the
// process's identity, program, layout and counters), the CPU and its RAM,
// the threads, the signals, the resource limits, the address space, the
// descriptors (with the pipes' unread bytes), the private in-memory trees
// (/tmp) whole, and the clock, one section each, in the container of
// hypervisor/checkpoint-file.ts. This file says which sections there are
// and turns the parts' object-shaped state into plain versioned records
// and back; ProcessVM.checkpoint() and ProcessVM.restore() gather and
// apply them.
//
// What cannot be saved yet is refused by checkpoint() with a
// CheckpointUnsupportedError naming it, before anything is written: more
// than one process, a shared file mapping, a descriptor of a kind not
// covered here (an O_PATH descriptor, stdin from a file). A checkpoint is
// never silently wrong.
import { CheckpointError } from '../hypervisor/checkpoint-error.js';
import { readCheckpoint, type Checkpoint, type MachineId } from '../hypervisor/checkpoint-file.js';
import { DIFF_SECTION } from '../hypervisor/snapshot-chain.js';
import { RecordReader, RecordWriter } from '../hypervisor/persist.js';
import { RAM_SECTION_NAMES } from '../hypervisor/ram-record.js';
import type { Cpu } from '../cpu/cpu.js';
import type { ElfImage, Segment } from './elf.js';
import type { Ids } from './sys/ids.js';
import type { RealTimer } from './sys/itimer.js';
import type { ThreadGroupRecord, ThreadRecord, Wait } from './threads.js';
import type { PendingInfo, SignalRecord, ThreadSignalRecord, AltStack } from './sys/signals.js';
import type { ProcessRecord } from './sys/process.js';

/** The sections every process VM's checkpoint has (and 'ram.N' for each
 *  64 MiB of RAM that holds anything). */
export const PROCESS_SECTIONS = ['process', 'cpu', 'threads', 'signals', 'rlimits', 'memory', 'files', 'memfs', 'clock'] as const;
export const PROCESS_KNOWN_SECTIONS: readonly string[] = [...PROCESS_SECTIONS, DIFF_SECTION, ...RAM_SECTION_NAMES];

export const PROCESS_VM_RECORD = 'process-vm';
export const THREADS_RECORD = 'threads';
export const SIGNALS_RECORD = 'signals';
export const RLIMITS_RECORD = 'rlimits';
export const FILES_RECORD = 'files';
/** Version 2 added eventfds and epoll instances; version 1 records still read. */
export const FILES_RECORD_VERSION = 2;
export const MEMFS_MOUNTS_RECORD = 'memfs-mounts';
export const PROCESS_CLOCK_RECORD = 'process-clock';
/** Every record of a process VM's checkpoint is at version 1 (but 'files': FILES_RECORD_VERSION). */
export const PROCESS_RECORD_VERSION = 1;

/**
 * checkpoint() was asked for in a state this release cannot save: `feature`
 * names what (e.g. 'processes', 'shared-mapping', 'fd'); the message says
 * where. Nothing was written and nothing changed.
 */
export class CheckpointUnsupportedError extends Error {
  constructor(readonly feature: string, message: string) {
    super(`checkpoint: ${message}`);
    this.name = 'CheckpointUnsupportedError';
  }
}

/** What the restoring release must share with the writing one for the
 *  records to mean the same: the CPU module's hart, context and exit block
 *  sizes, the slot size and the RAM it holds. */
export function processMachineId(cpu: Cpu): MachineId {
  const l = cpu.layout;
  return {
    kind: 'process',
    fingerprint: new TextEncoder().encode(
      `linux-riscv64 sv39-user hart-state=${cpu.saveHart().length} context=${cpu.saveContext().length} ` +
        `exit-block=${l.EXIT_CONTROLS - l.EXIT_REASON} slot=${cpu.slotBytes} ram=${cpu.maxRamBytes}`,
    ),
  };
}

// ---- small field helpers ----

function optU64(w: RecordWriter, v: bigint | undefined): void {
  w.bool(v !== undefined).u64(BigInt.asUintN(64, v ?? 0n));
}
function readOptU64(r: RecordReader, what: string, signed = false): bigint | undefined {
  const has = r.bool(`whether ${what} is there`), v = r.u64(what);
  if (!has) {
    if (v !== 0n) r.invalid(`${what} absent but ${v}`);
    return undefined;
  }
  return signed ? BigInt.asIntN(64, v) : v;
}
function optU32(w: RecordWriter, v: number | undefined): void {
  w.bool(v !== undefined).u32(v ?? 0);
}
function readOptU32(r: RecordReader, what: string): number | undefined {
  const has = r.bool(`whether ${what} is there`), v = r.u32(what);
  if (!has && v !== 0) r.invalid(`${what} absent but ${v}`);
  return has ? v : undefined;
}
function optString(w: RecordWriter, v: string | undefined): void {
  w.bool(v !== undefined).string(v ?? '');
}
function readOptString(r: RecordReader, what: string): string | undefined {
  const has = r.bool(`whether ${what} is there`), v = r.string(what);
  if (!has && v !== '') r.invalid(`${what} absent but ${JSON.stringify(v)}`);
  return has ? v : undefined;
}
function safeNumber(r: RecordReader, v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) r.invalid(`${what} ${v}`);
  return Number(v);
}

// ---- the VM's own record ----

/** The VM's configuration and the process's own state. */
export interface ProcessVmRecord {
  programName: string;
  /** --mem, in bytes as given (the default when none was). */
  memoryBytes: number;
  hostClock: boolean;
  threadSlice: bigint | undefined;
  maxProcesses: number | undefined;
  maxInstructions: bigint | undefined;
  pid: number;
  pgid: number;
  sid: number;
  exitSignal: number;
  ids: Ids;
  stopped: boolean;
  childSubreaper: boolean;
  execed: boolean;
  /** Instructions per run of the CPU, its thread's slice left, that thread (0: none). */
  slice: bigint;
  sliceLeft: bigint;
  sliceThread: number;
  idleUntil: bigint | undefined;
  realTimer: RealTimer | undefined;
  image: ElfImage;
  brkStart: bigint;
  brk: bigint;
  brkLimit: bigint;
  mmapTop: bigint;
  stackTop: bigint;
  syscallCounts: Map<string, number>;
  /** The VM's scheduler: the next id, processes made and most at once,
   *  instructions of CPUs gone, the slice left, the process limit reported. */
  nextId: number;
  processesCreated: number;
  processesPeak: number;
  retired: bigint;
  processSliceLeft: bigint;
  limitReported: boolean;
  umask: number;
  exePath: string;
  cwd: string;
}

export function saveProcessVmRecord(s: ProcessVmRecord): Uint8Array {
  const w = new RecordWriter(PROCESS_VM_RECORD, PROCESS_RECORD_VERSION)
    .string(s.programName).u64(BigInt(s.memoryBytes)).bool(s.hostClock);
  optU64(w, s.threadSlice); optU32(w, s.maxProcesses); optU64(w, s.maxInstructions);
  w.u32(s.pid).u32(s.pgid).u32(s.sid).u32(s.exitSignal);
  const ids = s.ids;
  w.u32(ids.ruid).u32(ids.euid).u32(ids.suid).u32(ids.rgid).u32(ids.egid).u32(ids.sgid);
  w.bool(s.stopped).bool(s.childSubreaper).bool(s.execed);
  w.u64(s.slice).u64(BigInt.asUintN(64, s.sliceLeft)).u32(s.sliceThread);
  optU64(w, s.idleUntil);
  w.bool(s.realTimer !== undefined).u64(s.realTimer?.deadline ?? 0n).u64(s.realTimer?.interval ?? 0n);
  const im = s.image;
  w.u32(im.type).u64(im.loadBias).u64(im.entry).u64(im.phoff).u32(im.phentsize).u32(im.phnum);
  optString(w, im.interpreter);
  w.u32(im.segments.length);
  for (const g of im.segments) w.u64(g.vaddr).u64(g.memSize).u64(BigInt(g.fileOffset)).u64(BigInt(g.fileSize)).u32(g.flags);
  w.u32(im.symbols.size);
  for (const [name, value] of im.symbols) w.string(name).u64(value);
  w.u64(s.brkStart).u64(s.brk).u64(s.brkLimit).u64(s.mmapTop).u64(s.stackTop);
  w.u32(s.syscallCounts.size);
  for (const [name, n] of s.syscallCounts) w.string(name).u64(BigInt(n));
  w.u32(s.nextId).u32(s.processesCreated).u32(s.processesPeak).u64(s.retired).u64(BigInt.asUintN(64, s.processSliceLeft)).bool(s.limitReported);
  w.u32(s.umask).string(s.exePath).string(s.cwd);
  return w.finish();
}

export function readProcessVmRecord(record: Uint8Array): ProcessVmRecord {
  const r = new RecordReader(record, PROCESS_VM_RECORD, [PROCESS_RECORD_VERSION]);
  const programName = r.string('the program name');
  const memoryBytes = safeNumber(r, r.u64('the memory size'), 'a memory size of');
  const hostClock = r.bool('host clock');
  const threadSlice = readOptU64(r, 'the thread slice'), maxProcesses = readOptU32(r, 'the process limit');
  const maxInstructions = readOptU64(r, 'the instruction limit');
  const pid = r.u32('the pid'), pgid = r.u32('the process group'), sid = r.u32('the session'), exitSignal = r.u32('the exit signal');
  const ids: Ids = {
    ruid: r.u32('ruid'), euid: r.u32('euid'), suid: r.u32('suid'),
    rgid: r.u32('rgid'), egid: r.u32('egid'), sgid: r.u32('sgid'),
  };
  const stopped = r.bool('stopped'), childSubreaper = r.bool('child subreaper'), execed = r.bool('execed');
  const slice = r.u64('the slice'), sliceLeft = BigInt.asIntN(64, r.u64('the slice left')), sliceThread = r.u32('the slice\'s thread');
  const idleUntil = readOptU64(r, 'the idle deadline');
  const hasTimer = r.bool('a real-time timer'), deadline = r.u64('its deadline'), interval = r.u64('its interval');
  const type = r.u32('the ELF type'), loadBias = r.u64('the load bias'), entry = r.u64('the entry');
  const phoff = r.u64('phoff'), phentsize = r.u32('phentsize'), phnum = r.u32('phnum');
  const interpreter = readOptString(r, 'the interpreter');
  const segments: Segment[] = [];
  for (let i = 0, n = r.u32('the segment count'); i < n; i++) {
    segments.push({
      vaddr: r.u64('a segment\'s address'), memSize: r.u64('a segment\'s size'),
      fileOffset: safeNumber(r, r.u64('a segment\'s offset'), 'a segment offset'),
      fileSize: safeNumber(r, r.u64('a segment\'s file size'), 'a segment size'), flags: r.u32('a segment\'s flags'),
    });
  }
  const symbols = new Map<string, bigint>();
  for (let i = 0, n = r.u32('the symbol count'); i < n; i++) {
    const name = r.string('a symbol'), value = r.u64('a symbol\'s value');
    symbols.set(name, value);
  }
  const brkStart = r.u64('the break\'s start'), brk = r.u64('the break'), brkLimit = r.u64('the break\'s limit');
  const mmapTop = r.u64('the mappings\' top'), stackTop = r.u64('the stack\'s top');
  const syscallCounts = new Map<string, number>();
  for (let i = 0, n = r.u32('the system call count'); i < n; i++) {
    const name = r.string('a system call'), v = r.u64('its count');
    if (syscallCounts.has(name)) r.invalid(`system call ${name} counted twice`);
    syscallCounts.set(name, safeNumber(r, v, `system call ${name} counted`));
  }
  const nextId = r.u32('the next id'), processesCreated = r.u32('processes created'), processesPeak = r.u32('the most processes');
  const retired = r.u64('instructions retired'), processSliceLeft = BigInt.asIntN(64, r.u64('the process slice left'));
  const limitReported = r.bool('the process limit reported');
  const umask = r.u32('the umask'), exePath = r.string('/proc/self/exe'), cwd = r.string('the working directory');
  r.end();
  if (memoryBytes === 0) r.invalid('a memory limit of 0 bytes');
  if (slice === 0n) r.invalid('a slice of 0 instructions');
  if (threadSlice === 0n) r.invalid('a thread slice of 0 instructions');
  if (maxProcesses === 0) r.invalid('a process limit of 0');
  if (nextId <= pid) r.invalid(`next id ${nextId} not past pid ${pid}`);
  if (umask > 0o777) r.invalid(`umask 0o${umask.toString(8)}`);
  if (!cwd.startsWith('/')) r.invalid(`working directory ${JSON.stringify(cwd)}`);
  if (brkStart > brk || brk > brkLimit || mmapTop > stackTop) r.invalid('a memory layout that does not hold together');
  return {
    programName, memoryBytes, hostClock, threadSlice, maxProcesses, maxInstructions, pid, pgid, sid, exitSignal, ids,
    stopped, childSubreaper, execed, slice, sliceLeft, sliceThread, idleUntil,
    realTimer: hasTimer ? { deadline, interval } : undefined,
    image: { type, loadBias, entry, phoff, phentsize, phnum, segments, symbols, interpreter },
    brkStart, brk, brkLimit, mmapTop, stackTop, syscallCounts,
    nextId, processesCreated, processesPeak, retired, processSliceLeft, limitReported, umask, exePath, cwd,
  };
}

// ---- threads ----

export interface ThreadsRecord {
  group: ThreadGroupRecord;
  switches: number;
  created: number;
  peak: number;
}

function pendingInfo(w: RecordWriter, info: PendingInfo): void {
  const sigs = Object.keys(info).map(Number).sort((a, b) => a - b);
  w.u32(sigs.length);
  for (const sig of sigs) {
    const e = info[sig];
    w.u8(sig).u32(e.code >>> 0);
    optU32(w, e.pid);
    optU32(w, e.status === undefined ? undefined : e.status >>> 0);
  }
}
function readPendingInfo(r: RecordReader): PendingInfo {
  const info: PendingInfo = {};
  for (let i = 0, n = r.u32('the pending signals\' count'); i < n; i++) {
    const sig = r.u8('a pending signal'), code = r.u32('its si_code') | 0;
    const pid = readOptU32(r, 'its si_pid'), status = readOptU32(r, 'its si_status');
    if (sig < 1 || sig > 64 || info[sig] !== undefined) r.invalid(`pending signal ${sig}`);
    info[sig] = { code, ...(pid !== undefined ? { pid } : {}), ...(status !== undefined ? { status: status | 0 } : {}) };
  }
  return info;
}
function altStack(w: RecordWriter, a: AltStack): void {
  w.u64(a.sp).u64(a.size).bool(a.disabled);
}
function readAltStack(r: RecordReader): AltStack {
  return { sp: r.u64('the alternate stack'), size: r.u64('its size'), disabled: r.bool('disabled') };
}
function threadSignals(w: RecordWriter, s: ThreadSignalRecord | undefined): void {
  w.bool(s !== undefined);
  if (!s) return;
  w.u64(s.mask).u64(s.pending);
  pendingInfo(w, s.pendingInfo);
  altStack(w, s.altStack);
  w.u32(s.depth);
}
function readThreadSignals(r: RecordReader): ThreadSignalRecord | undefined {
  if (!r.bool('whether the signal state is there')) return undefined;
  const mask = r.u64('the mask'), pending = r.u64('the pending set');
  return { mask, pending, pendingInfo: readPendingInfo(r), altStack: readAltStack(r), depth: r.u32('the handler depth') };
}

const WAIT_KINDS = ['none', 'futex', 'sleep', 'sigsuspend', 'sigwait', 'io'] as const;

function wait(w: RecordWriter, x: Wait | undefined): void {
  const kind = x?.kind ?? 'none';
  const k = WAIT_KINDS.indexOf(kind as typeof WAIT_KINDS[number]);
  if (k < 0) throw new CheckpointUnsupportedError('wait', `a thread waits in ${kind}`);
  w.u8(k);
  switch (x?.kind) {
    case 'futex': w.u64(x.addr).u32(x.bitset >>> 0).u32(x.seq); optU64(w, x.deadline); optString(w, x.shared); break;
    case 'sleep': w.u64(x.deadline); break;
    case 'sigsuspend': w.u64(x.oldMask); break;
    case 'sigwait': w.u64(x.set).u64(x.info); optU64(w, x.deadline); break;
    case 'io': w.u64(BigInt(x.epoch)); optU64(w, x.deadline); break;
    default: break;
  }
}
function readWait(r: RecordReader): Wait | undefined {
  const k = r.u8('the wait kind');
  switch (WAIT_KINDS[k]) {
    case 'none': return undefined;
    case 'futex': {
      const addr = r.u64('the futex'), bitset = r.u32('the bitset') | 0, seq = r.u32('the wait order');
      const deadline = readOptU64(r, 'the deadline'), shared = readOptString(r, 'the shared key');
      return { kind: 'futex', addr, bitset, seq, ...(deadline !== undefined ? { deadline } : {}), ...(shared !== undefined ? { shared } : {}) };
    }
    case 'sleep': return { kind: 'sleep', deadline: r.u64('the deadline') };
    case 'sigsuspend': return { kind: 'sigsuspend', oldMask: r.u64('the old mask') };
    case 'sigwait': {
      const set = r.u64('the set'), info = r.u64('the siginfo'), deadline = readOptU64(r, 'the deadline');
      return { kind: 'sigwait', set, info, ...(deadline !== undefined ? { deadline } : {}) };
    }
    case 'io': {
      const epoch = safeNumber(r, r.u64('the I/O epoch'), 'an I/O epoch'), deadline = readOptU64(r, 'the deadline');
      return { kind: 'io', epoch, ...(deadline !== undefined ? { deadline } : {}) };
    }
    default: return r.invalid(`wait kind ${k}`);
  }
}

export function saveThreadsRecord(t: ThreadsRecord): Uint8Array {
  const g = t.group;
  const w = new RecordWriter(THREADS_RECORD, PROCESS_RECORD_VERSION)
    .u32(g.current).u32(g.nextTid).u32(g.waitSeq);
  optU32(w, g.leaderStatus);
  w.u64(BigInt(t.switches)).u32(t.created).u32(t.peak).u32(g.threads.length);
  for (const th of g.threads) {
    w.u32(th.tid).bool(th.context !== undefined).bytes(th.context ?? new Uint8Array(0));
    threadSignals(w, th.signals);
    w.u64(th.clearChildTid).u64(th.robustList).u64(th.robustListLen);
    wait(w, th.wait);
    optU64(w, th.timeoutResult);
    optU64(w, th.restoreMask);
    optU64(w, th.restartDeadline);
    w.bool(th.signalled === true).bool(th.restartAfterSignal === true);
    optU64(w, th.ioMask);
  }
  return w.finish();
}

export function readThreadsRecord(record: Uint8Array, contextBytes: number): ThreadsRecord {
  const r = new RecordReader(record, THREADS_RECORD, [PROCESS_RECORD_VERSION]);
  const current = r.u32('the current thread'), nextTid = r.u32('the next tid'), waitSeq = r.u32('the wait order');
  const leaderStatus = readOptU32(r, 'the leader\'s status');
  const switches = safeNumber(r, r.u64('the switches'), 'switches'), created = r.u32('threads created'), peak = r.u32('the most threads');
  const threads: ThreadRecord[] = [];
  const tids = new Set<number>();
  for (let i = 0, n = r.u32('the thread count'); i < n; i++) {
    const tid = r.u32('a tid'), hasContext = r.bool('whether its registers are saved'), context = r.bytes('its registers');
    const signals = readThreadSignals(r);
    const clearChildTid = r.u64('clear_child_tid'), robustList = r.u64('the robust list'), robustListLen = r.u64('its length');
    const wt = readWait(r);
    const timeoutResult = readOptU64(r, 'the timeout result', true), restoreMask = readOptU64(r, 'the mask to restore');
    const restartDeadline = readOptU64(r, 'the restart deadline');
    const signalled = r.bool('signalled'), restartAfterSignal = r.bool('restart after the signal');
    const ioMask = readOptU64(r, 'the I/O mask');
    if (tids.has(tid) || tid >= nextTid) r.invalid(`thread ${tid} twice or past the next id ${nextTid}`);
    tids.add(tid);
    if (hasContext ? context.length !== contextBytes : context.length !== 0) r.invalid(`thread ${tid}'s registers are ${context.length} bytes; this CPU's are ${contextBytes}`);
    if ((tid === current) === hasContext) r.invalid(`thread ${tid} ${hasContext ? 'on the CPU with saved registers' : 'off the CPU without its registers'}`);
    if ((tid === current) !== (signals === undefined)) r.invalid(`thread ${tid}'s signal state is ${signals ? 'saved while on the CPU' : 'missing'}`);
    threads.push({
      tid, context: hasContext ? context : undefined, signals, clearChildTid, robustList, robustListLen, wait: wt,
      timeoutResult, restoreMask, restartDeadline, signalled, restartAfterSignal, ioMask,
    });
  }
  r.end();
  if (!tids.has(current)) r.invalid(`current thread ${current} is not one of them`);
  if (threads.length > peak || peak > created) r.invalid(`${threads.length} threads, a peak of ${peak}, ${created} created`);
  return { group: { version: 1, current, nextTid, waitSeq, leaderStatus, threads }, switches, created, peak };
}

// ---- signals and limits ----

export function saveSignalsRecord(s: SignalRecord): Uint8Array {
  const w = new RecordWriter(SIGNALS_RECORD, PROCESS_RECORD_VERSION).u32(s.actions.length);
  for (const a of s.actions) w.u64(a.handler).u64(a.flags).u64(a.mask);
  w.u64(s.mask).u64(s.pending);
  pendingInfo(w, s.pendingInfo);
  altStack(w, s.altStack);
  w.u32(s.depth);
  optU64(w, s.trampoline);
  return w.finish();
}

export function readSignalsRecord(record: Uint8Array, actions: number): SignalRecord {
  const r = new RecordReader(record, SIGNALS_RECORD, [PROCESS_RECORD_VERSION]);
  const n = r.u32('the action count');
  if (n !== actions) r.invalid(`${n} signal actions, not ${actions}`);
  const list = Array.from({ length: n }, () => ({ handler: r.u64('a handler'), flags: r.u64('its flags'), mask: r.u64('its mask') }));
  const mask = r.u64('the mask'), pending = r.u64('the pending set');
  const info = readPendingInfo(r), alt = readAltStack(r), depth = r.u32('the handler depth');
  const trampoline = readOptU64(r, 'the trampoline');
  r.end();
  return { version: 2, actions: list, mask, pending, pendingInfo: info, altStack: alt, depth, trampoline };
}

export function saveRlimitsRecord(p: ProcessRecord): Uint8Array {
  const w = new RecordWriter(RLIMITS_RECORD, PROCESS_RECORD_VERSION).u32(p.limits.length);
  for (const [soft, hard] of p.limits) w.u64(soft).u64(hard);
  return w.finish();
}

export function readRlimitsRecord(record: Uint8Array, count: number): ProcessRecord {
  const r = new RecordReader(record, RLIMITS_RECORD, [PROCESS_RECORD_VERSION]);
  const n = r.u32('the limit count');
  if (n !== count) r.invalid(`${n} resource limits, not ${count}`);
  const limits = Array.from({ length: n }, (): [bigint, bigint] => [r.u64('a soft limit'), r.u64('a hard limit')]);
  r.end();
  for (const [i, [soft, hard]] of limits.entries()) if (soft > hard) r.invalid(`limit ${i}: soft ${soft} above hard ${hard}`);
  return { version: 2, limits };
}

// ---- descriptors ----

/** An open file description as saved. */
export type SavedDescription =
  | { kind: 'stdin' | 'stdout' | 'stderr'; flags: number }
  /** A file or device of a mount, by its guest path (reopened through the
   *  namespace on restore); `type` is its st_mode's file type. */
  | { kind: 'file'; flags: number; offset: number; path: string; type: number }
  | { kind: 'pipe-read' | 'pipe-write'; flags: number; pipe: number }
  /** A directory, by its guest path (held again through the namespace);
   *  `offset` counts getdents64's entries, of a listing taken again. */
  | { kind: 'dir'; flags: number; offset: number; path: string }
  /** An eventfd: its count, mode, and change count (edge-triggered epoll). */
  | { kind: 'eventfd'; flags: number; count: bigint; semaphore: boolean; version: number }
  /** An epoll instance: its interest list in order, each watching a
   *  description of this record (by index). */
  | { kind: 'epoll'; flags: number; interests: SavedInterest[] };

/** One watched descriptor of an epoll instance (sys/events.ts, Interest). */
export interface SavedInterest { fd: number; description: number; events: number; data: bigint; reported: number; disarmed: boolean }

export interface SavedPipe { ino: bigint; version: number; bytes: Uint8Array }

export interface FilesRecord {
  /** The I/O events' count (threads waiting for I/O compare it). */
  epoch: number;
  pipes: SavedPipe[];
  descriptions: SavedDescription[];
  fds: { fd: number; description: number; cloexec: boolean }[];
}

const DESCRIPTION_KINDS = ['stdin', 'stdout', 'stderr', 'file', 'pipe-read', 'pipe-write', 'dir', 'eventfd', 'epoll'] as const;
/** Kinds a version 1 record may hold. */
const V1_KINDS = 7;
/** An eventfd's count never reaches 2^64 - 1 (eventfd(2)). */
const EVENTFD_MAX = 0xffff_ffff_ffff_fffen;

export function saveFilesRecord(f: FilesRecord): Uint8Array {
  const w = new RecordWriter(FILES_RECORD, FILES_RECORD_VERSION).u64(BigInt(f.epoch)).u32(f.pipes.length);
  for (const p of f.pipes) w.u64(p.ino).u64(BigInt(p.version)).bytes(p.bytes);
  w.u32(f.descriptions.length);
  for (const d of f.descriptions) {
    w.u8(DESCRIPTION_KINDS.indexOf(d.kind)).u32(d.flags >>> 0);
    if (d.kind === 'file') w.u64(BigInt(d.offset)).string(d.path).u32(d.type);
    else if (d.kind === 'pipe-read' || d.kind === 'pipe-write') w.u32(d.pipe);
    else if (d.kind === 'dir') w.u64(BigInt(d.offset)).string(d.path);
    else if (d.kind === 'eventfd') w.u64(d.count).bool(d.semaphore).u64(BigInt(d.version));
    else if (d.kind === 'epoll') {
      w.u32(d.interests.length);
      for (const i of d.interests) w.u32(i.fd).u32(i.description).u32(i.events >>> 0).u64(i.data).u64(BigInt(i.reported + 1)).bool(i.disarmed);
    }
  }
  w.u32(f.fds.length);
  for (const s of f.fds) w.u32(s.fd).u32(s.description).bool(s.cloexec);
  return w.finish();
}

export function readFilesRecord(record: Uint8Array, maxFds: number, pipeCapacity: number): FilesRecord {
  const r = new RecordReader(record, FILES_RECORD, [1, FILES_RECORD_VERSION]);
  const epoch = safeNumber(r, r.u64('the I/O epoch'), 'an I/O epoch');
  const pipes: SavedPipe[] = [];
  for (let i = 0, n = r.u32('the pipe count'); i < n; i++) {
    const ino = r.u64('a pipe\'s inode'), version = safeNumber(r, r.u64('its version'), 'a pipe version'), bytes = r.bytes('its bytes');
    if (bytes.length > pipeCapacity) r.invalid(`a pipe holding ${bytes.length} bytes, more than ${pipeCapacity}`);
    pipes.push({ ino, version, bytes });
  }
  const descriptions: SavedDescription[] = [];
  const usedPipes = new Set<number>();
  for (let i = 0, n = r.u32('the description count'); i < n; i++) {
    const k = r.u8('a description\'s kind'), flags = r.u32('its flags');
    const kind = r.version === 1 && k >= V1_KINDS ? undefined : DESCRIPTION_KINDS[k];
    if (kind === 'file') {
      const offset = safeNumber(r, r.u64('its offset'), 'a file offset'), path = r.string('its path'), type = r.u32('its file type');
      if (!path.startsWith('/')) r.invalid(`a file at ${JSON.stringify(path)}`);
      descriptions.push({ kind, flags, offset, path, type });
    } else if (kind === 'pipe-read' || kind === 'pipe-write') {
      const pipe = r.u32('its pipe');
      if (pipe >= pipes.length) r.invalid(`pipe ${pipe} of ${pipes.length}`);
      usedPipes.add(pipe);
      descriptions.push({ kind, flags, pipe });
    } else if (kind === 'dir') {
      const offset = safeNumber(r, r.u64('its offset'), 'a directory offset'), path = r.string('its path');
      if (!path.startsWith('/')) r.invalid(`a directory at ${JSON.stringify(path)}`);
      descriptions.push({ kind, flags, offset, path });
    } else if (kind === 'eventfd') {
      const count = r.u64('its count'), semaphore = r.bool('semaphore mode'), version = safeNumber(r, r.u64('its change count'), 'an eventfd version');
      if (count > EVENTFD_MAX) r.invalid(`an eventfd counting ${count}`);
      descriptions.push({ kind, flags, count, semaphore, version });
    } else if (kind === 'epoll') {
      const interests: SavedInterest[] = [];
      for (let j = 0, m = r.u32('the interest count'); j < m; j++) {
        const fd = r.u32('a watched descriptor'), description = r.u32('its description'), events = r.u32('its events') | 0, data = r.u64('its data');
        // (The version it was last reported at, plus one: -1 is never.)
        const reported = safeNumber(r, r.u64('its reported version'), 'a reported version') - 1, disarmed = r.bool('disarmed');
        interests.push({ fd, description, events, data, reported, disarmed });
      }
      descriptions.push({ kind, flags, interests });
    } else if (kind !== undefined) {
      descriptions.push({ kind, flags });
    } else {
      r.invalid(`description kind ${k}`);
    }
  }
  const fds: FilesRecord['fds'] = [];
  const usedDescriptions = new Set<number>();
  let last = -1;
  for (let i = 0, n = r.u32('the descriptor count'); i < n; i++) {
    const fd = r.u32('a descriptor'), description = r.u32('its description'), cloexec = r.bool('close-on-exec');
    if (fd <= last || fd >= maxFds) r.invalid(`descriptor ${fd} out of range or out of order`);
    if (description >= descriptions.length) r.invalid(`descriptor ${fd}'s description ${description} of ${descriptions.length}`);
    last = fd;
    usedDescriptions.add(description);
    fds.push({ fd, description, cloexec });
  }
  r.end();
  for (const d of descriptions) {
    if (d.kind !== 'epoll') continue;
    for (const i of d.interests) {
      if (i.description >= descriptions.length) r.invalid(`an epoll instance watching description ${i.description} of ${descriptions.length}`);
      if (i.fd >= maxFds) r.invalid(`an epoll instance watching descriptor ${i.fd}`);
    }
  }
  if (usedDescriptions.size !== descriptions.length) r.invalid('a description no descriptor refers to');
  if (usedPipes.size !== pipes.length) r.invalid('a pipe no descriptor refers to');
  return { epoch, pipes, descriptions, fds };
}

// ---- in-memory trees and the clock ----

/** The writable in-memory trees (the private /tmp), by mount point. */
export function saveMemfsMounts(trees: { at: string; record: Uint8Array }[]): Uint8Array {
  const w = new RecordWriter(MEMFS_MOUNTS_RECORD, PROCESS_RECORD_VERSION).u32(trees.length);
  for (const t of trees) w.string(t.at).bytes(t.record);
  return w.finish();
}

export function readMemfsMounts(record: Uint8Array): { at: string; record: Uint8Array }[] {
  const r = new RecordReader(record, MEMFS_MOUNTS_RECORD, [PROCESS_RECORD_VERSION]);
  const out: { at: string; record: Uint8Array }[] = [];
  for (let i = 0, n = r.u32('the tree count'); i < n; i++) {
    const at = r.string('a mount point'), tree = r.bytes('its tree');
    if (!at.startsWith('/') || out.some((t) => t.at === at)) r.invalid(`mount point ${JSON.stringify(at)}`);
    out.push({ at, record: tree });
  }
  r.end();
  return out;
}

export interface ClockRecord { hostClock: boolean; sleptNs: bigint; nowNs: bigint }

export function saveClockRecord(c: ClockRecord): Uint8Array {
  return new RecordWriter(PROCESS_CLOCK_RECORD, PROCESS_RECORD_VERSION).bool(c.hostClock).u64(c.sleptNs).u64(c.nowNs).finish();
}

export function readClockRecord(record: Uint8Array): ClockRecord {
  const r = new RecordReader(record, PROCESS_CLOCK_RECORD, [PROCESS_RECORD_VERSION]);
  const c = { hostClock: r.bool('host clock'), sleptNs: r.u64('the time slept'), nowNs: r.u64('the time') };
  r.end();
  return c;
}

// ---- the file ----

/** Reads and checks a process VM's checkpoint: the container (every
 *  checksum, the machine) and that every part a process VM has is there. */
export function readProcessCheckpoint(bytes: Uint8Array, machine: MachineId): { file: Checkpoint; parts: Map<string, Uint8Array> } {
  const file = readCheckpoint(bytes, { machine, knownSections: PROCESS_KNOWN_SECTIONS });
  const parts = new Map(file.sections.map((s) => [s.name, s.payload]));
  const missing = PROCESS_SECTIONS.filter((n) => !parts.has(n));
  if (missing.length > 0) throw new CheckpointError('bad-section', `a process VM's checkpoint without ${missing.join(', ')}`);
  return { file, parts };
}
