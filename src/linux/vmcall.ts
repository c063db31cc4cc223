// Calls into the guest by symbol, the way libriscv's vmcall does: the host
// picks a function of the program (usually after run() has let main return,
// so that libc is initialised), passes integer arguments in a0..a7 (strings
// and byte buffers on the guest's stack), runs it under an instruction
// budget, and gets a0 and a1 back. The called function may make system calls
// (printf is a write), which are served as the run loop serves them.
//
// The function returns to `ra`, which points at an `ebreak` on a read+execute
// page that ringvisor maps for the purpose: an EBREAK exit at exactly that pc
// is the return, precise and distinct from any ebreak of the guest's own.
// Every register, pc and fcsr are saved before and restored after (also when
// the call fails), so calls can be repeated and run() can go on afterwards.
import { handleExit, type ExitAction, type Partition } from '../hypervisor/exits.js';
import { Cause, ExitReason, Perm, EXIT_REASON_NAMES, GuestMemoryError, PAGE_SIZE } from '../cpu/cpu.js';
import { PROCESS_EXIT_CONTROLS, type ProcessVM } from './process-vm.js';
import { describeWait } from './threads.js';
import { timeCsr } from '../hypervisor/clock.js';
import type { Sliced } from '../hypervisor/run-loop.js';
import { pageDown, pageUp } from './address-space.js';
import { signalForCause, faultCode, CAUSE_NAMES, SIGTRAP, SIGILL } from './signals.js';
import { deliverFault } from './sys/signals.js';

/** An argument: an integer (number or bigint, as a 64-bit register value,
 *  negative ones in two's complement), or a string (UTF-8, NUL-terminated) or
 *  byte buffer copied onto the guest's stack for the call, passed as a
 *  pointer. A Uint8Array is copied back after the call returns, so the guest
 *  can fill it in. */
export type CallArg = bigint | number | string | Uint8Array;

export interface CallOptions {
  /** Most instructions the call may execute (default DEFAULT_CALL_BUDGET). */
  budget?: bigint;
}

/** The arguments of ProcessVM.call: up to 8 CallArgs, optionally followed by CallOptions. */
export type CallArgs = CallArg[] | [...CallArg[], CallOptions];

export interface CallResult {
  /** a0 as the guest left it (unsigned; BigInt.asIntN(64, a0) for a signed result). */
  a0: bigint;
  /** a1: the second word of a two-word result (a struct of two longs, __int128). */
  a1: bigint;
  /** Instructions the call executed. */
  instructions: bigint;
}

/** About 5 s of guest time at the interpreter's speed: stops a runaway call. */
export const DEFAULT_CALL_BUDGET = 1_000_000_000n;
/** Integer registers for arguments: a0..a7 (RISC-V psABI). */
export const MAX_CALL_ARGS = 8;
// Instructions per cpu.run, between looks at the run loop.
const SLICE = 1n << 22n;
const CONTINUE: ExitAction = { kind: 'continue' };
const EBREAK = 0x00100073;
const RA = 1, SP = 2, GP = 3, A0 = 10, A1 = 11;

/** Why a call into the guest failed. `target` is the symbol (or address) called. */
export class VmCallError extends Error {
  constructor(readonly target: string, message: string) {
    super(message);
    this.name = 'VmCallError';
  }
}

/** The program's symbol table has no such symbol (`symbols` is its size: 0 for a stripped program). */
export class UnknownSymbolError extends VmCallError {
  constructor(readonly symbol: string, readonly symbols: number) {
    super(symbol, symbols === 0
      ? `call ${symbol}: the program has no symbol table (stripped?)`
      : `call ${symbol}: no symbol '${symbol}' among the program's ${symbols} symbols`);
    this.name = 'UnknownSymbolError';
  }
}

/** An argument cannot be passed: too many, not an integer, out of range, or no room on the stack. */
export class CallArgumentError extends VmCallError {
  constructor(target: string, readonly index: number, readonly reason: string) {
    super(target, `call ${target}: argument ${index}: ${reason}`);
    this.name = 'CallArgumentError';
  }
}

/** The guest's sp (where the call's stack would start) is not in writable memory. */
export class CallStackError extends VmCallError {
  constructor(target: string, readonly sp: bigint) {
    super(target, `call ${target}: the stack pointer 0x${sp.toString(16)} is not in writable guest memory`);
    this.name = 'CallStackError';
  }
}

/** The call did not return within its instruction budget. */
export class CallBudgetError extends VmCallError {
  constructor(target: string, readonly instructions: bigint, readonly pc: bigint) {
    super(target, `call ${target}: did not return within ${instructions} instructions (pc 0x${pc.toString(16)})`);
    this.name = 'CallBudgetError';
  }
}

/** The called code faulted (or hit an ebreak) and had no handler for the signal;
 *  `trapCause` is the RISC-V exception cause (scause), `addr` its tval. */
export class CallFaultError extends VmCallError {
  constructor(target: string, readonly signal: number, readonly trapCause: number, readonly pc: bigint, readonly addr: bigint, readonly what: string) {
    super(target, `call ${target}: signal ${signal} (${what}) at pc 0x${pc.toString(16)}, address 0x${addr.toString(16)}`);
    this.name = 'CallFaultError';
  }
}

/** The called code ended the process: exit or exit_group, or a signal's default action (status 128 + signal). */
export class CallExitError extends VmCallError {
  constructor(target: string, readonly status: number, readonly pc: bigint) {
    super(target, `call ${target}: the guest exited with status ${status} (pc 0x${pc.toString(16)}) instead of returning`);
    this.name = 'CallExitError';
  }
}

/** Another call is running on this VM (an async call yields; calls do not nest). */
export class CallBusyError extends VmCallError {
  constructor(target: string) {
    super(target, `call ${target}: another call is running on this VM`);
    this.name = 'CallBusyError';
  }
}

interface CallState {
  /** The page holding the return `ebreak`, once mapped. */
  returnPage?: bigint;
  busy: boolean;
}
const states = new WeakMap<ProcessVM, CallState>();

function stateOf(vm: ProcessVM): CallState {
  let s = states.get(vm);
  if (!s) states.set(vm, (s = { busy: false }));
  return s;
}

/** Splits ProcessVM.call's rest arguments into arguments and options. */
export function splitCallArgs(args: CallArgs): { args: CallArg[]; options: CallOptions } {
  const last = args[args.length - 1];
  if (last !== undefined && typeof last === 'object' && !(last instanceof Uint8Array)) {
    return { args: args.slice(0, -1) as CallArg[], options: last };
  }
  return { args: args as CallArg[], options: {} };
}

/** Calls `target` (a symbol or an address) and resolves to a0, a1 and the
 *  instruction count; gives the host its thread back between slices, like
 *  run() (hypervisor/run-loop.ts). */
export async function vmcall(vm: ProcessVM, target: string | bigint, args: CallArg[], options: CallOptions = {}): Promise<CallResult> {
  const call = begin(vm, target, args, options);
  try {
    return await vm.processes.root.loop.run(sliced(vm, call));
  } finally {
    call.end();
  }
}

/** The same, without yielding. */
export function vmcallSync(vm: ProcessVM, target: string | bigint, args: CallArg[], options: CallOptions = {}): CallResult {
  const call = begin(vm, target, args, options);
  try {
    return vm.processes.root.loop.runSync(sliced(vm, call));
  } finally {
    call.end();
  }
}

// A call as the run loop drives it: its result once it has returned; a
// guest sleeping on the host clock is waited for by the loop, as the
// guest's sleep.
function sliced(vm: ProcessVM, call: ActiveCall): Sliced<CallResult> {
  return {
    step: () => (call.step(SLICE) ? call.result() : undefined),
    idleMilliseconds: () => vm.idleMilliseconds(),
    paused: false,
    napped: (ms) => vm.clock.slept(BigInt(Math.round(ms * 1e6))),
  };
}

interface ActiveCall {
  /** Runs up to `slice` instructions; true once the call has returned.
   *  While the guest sleeps on the host clock it runs none (the run loop
   *  waits). Throws a VmCallError. */
  step(slice: bigint): boolean;
  result(): CallResult;
  /** Restores the caller's registers and lets the next call in. */
  end(): void;
}

// Prepares the CPU for a call: registers saved, arguments in place, ra at the
// return page, pc at the function.
function begin(vm: ProcessVM, target: string | bigint, args: CallArg[], options: CallOptions): ActiveCall {
  const name = typeof target === 'string' ? target : `0x${target.toString(16)}`;
  const state = stateOf(vm);
  if (state.busy) throw new CallBusyError(name);
  vm.assertLive();
  const entry = typeof target === 'string' ? vm.image.symbols.get(target) : target;
  if (entry === undefined) throw new UnknownSymbolError(name, vm.image.symbols.size);
  if (args.length > MAX_CALL_ARGS) throw new CallArgumentError(name, MAX_CALL_ARGS, `at most ${MAX_CALL_ARGS} arguments fit in a0..a7 (got ${args.length})`);
  const budget = options.budget ?? DEFAULT_CALL_BUDGET;
  if (budget <= 0n) throw new RangeError(`call ${name}: budget must be positive (got ${budget})`);

  const cpu = vm.cpu;
  const saved = saveRegisters(vm);
  const ret = returnAddress(vm, state);

  // Below the caller's stack: the region under sp is free (the psABI has no
  // red zone), whether the program has not started (sp at argc) or has
  // exited (sp deep in exit()).
  let sp = cpu.x(SP) & ~15n;
  if (!writableStack(vm, sp - 16n, saved.sp)) throw new CallStackError(name, saved.sp);
  const values: bigint[] = [];
  const buffers: Array<{ addr: bigint; bytes: Uint8Array }> = [];
  const encoder = new TextEncoder();
  for (const [i, a] of args.entries()) {
    if (typeof a === 'string' || a instanceof Uint8Array) {
      const bytes = typeof a === 'string' ? encoder.encode(a + '\0') : a;
      sp = (sp - BigInt(bytes.length)) & ~15n;
      if (!writableStack(vm, sp - 16n, saved.sp)) {
        throw new CallArgumentError(name, i, `${bytes.length} bytes do not fit on the guest's stack below sp 0x${saved.sp.toString(16)}`);
      }
      vm.user.write(sp, bytes);
      if (a instanceof Uint8Array) buffers.push({ addr: sp, bytes: a });
      values.push(sp);
    } else {
      values.push(integerArg(name, i, a));
    }
  }

  state.busy = true;
  vm.inCall = true;
  values.forEach((v, i) => cpu.setX(A0 + i, v));
  cpu.setX(SP, sp);
  cpu.setX(RA, ret);
  // A program that has not started has no gp yet; its _start would set it.
  const gp = vm.image.symbols.get('__global_pointer$');
  if (cpu.x(GP) === 0n && gp !== undefined) cpu.setX(GP, gp);
  cpu.pc = entry;
  cpu.exitControls = PROCESS_EXIT_CONTROLS;
  // The process may have exited (run() closes every descriptor): give the
  // function its standard streams back so that it can print.
  if (vm.files.open().length === 0) vm.files.reopenStandardStreams();

  const start = cpu.instret;
  let returned: CallResult | undefined;
  // The call as the exit table (hypervisor/exits.ts) sees it: the run
  // loop's system calls and faults, and the ebreak at `ret` ending it.
  const partition: Partition = {
    name: `call ${name}`, cpu, ran: 0n,
    systemCall: () => { syscall(vm, name); return CONTINUE; },
    breakpoint: () => {
      if (cpu.exit.pc === ret) {
        returned = { a0: cpu.x(A0), a1: cpu.x(A1), instructions: cpu.instret - start };
        // The caller's buffers come back as the guest left them. Ring -1
        // put them there itself, so it reads them back as its own even
        // if the function took the guest's permissions away.
        for (const b of buffers) b.bytes.set(cpu.readBytes(b.addr, b.bytes.length));
        return { kind: 'done' };
      }
      fault(vm, name, SIGTRAP, 'ebreak');
      return CONTINUE;
    },
    readTime: () => timeCsr(vm.clock),
    fault: () => {
      if (!memoryFault(vm, name)) fault(vm, name, signalForCause(cpu.exit.cause), CAUSE_NAMES[cpu.exit.cause] ?? `exception ${cpu.exit.cause}`);
      return CONTINUE;
    },
  };
  return {
    step(slice) {
      vm.assertLive();
      if (vm.stillIdle()) return false;
      const used = cpu.instret - start;
      const left = budget - used;
      if (left <= 0n) throw new CallBudgetError(name, budget, cpu.pc);
      const action = handleExit(cpu.run(left < slice ? left : slice), partition);
      if (action.kind === 'stop') throw new Error(action.diagnostic ?? `call ${name}: stopped (${action.status})`);
      return action.kind === 'done';
    },
    result() {
      if (!returned) throw new Error(`call ${name}: no result before the call returned`);
      return returned;
    },
    end() {
      restoreRegisters(vm, saved);
      state.busy = false;
      vm.inCall = false;
    },
  };
}

function integerArg(name: string, i: number, a: bigint | number): bigint {
  if (typeof a === 'number') {
    if (!Number.isSafeInteger(a)) throw new CallArgumentError(name, i, `${a} is not a safe integer (pass a bigint)`);
    a = BigInt(a);
  }
  if (a < -(1n << 63n) || a >= 1n << 64n) throw new CallArgumentError(name, i, `${a} does not fit in 64 bits`);
  return BigInt.asUintN(64, a);
}

// Whether [low, high) is writable by the guest, as its stack must be.
function writableStack(vm: ProcessVM, low: bigint, high: bigint): boolean {
  return high > low && vm.user.canWrite(low, Number(high - low));
}

// The return page: mapped once per VM, in the mmap area as the signal
// trampoline is, and mapped again should the guest have unmapped or
// overwritten it.
function returnAddress(vm: ProcessVM, state: CallState): bigint {
  const m = vm.memory;
  const page = state.returnPage;
  if (page !== undefined && m.space.permissions(page) === (Perm.R | Perm.X) && vm.cpu.read32(page) === EBREAK) return page;
  const at = m.space.findFree(BigInt(PAGE_SIZE), pageUp(m.brk), m.mmapTop);
  if (at === undefined) throw new GuestMemoryError(m.mmapTop, PAGE_SIZE);
  m.space.map(at, BigInt(PAGE_SIZE), Perm.R | Perm.X);
  // Ring -1's own page, read-only to the guest: written as the loader writes.
  vm.cpu.writeBytes(at, new Uint8Array(new Uint32Array([EBREAK]).buffer));
  state.returnPage = at;
  return at;
}

// A system call inside the call, served as the run loop serves it. exit,
// exit_group, a fatal signal and a deadlock end the process by setting its
// exit status: the call then fails instead, and the status the process had
// before the call (undefined, or what run() ended with) is left alone. Calls
// run on the calling thread only: a call that would block it fails.
function syscall(vm: ProcessVM, name: string): void {
  const before = vm.exitStatus;
  vm.exitStatus = undefined;
  try {
    vm.syscall();
    const t = vm.threads.current;
    if (vm.exitStatus !== undefined) throw new CallExitError(name, vm.exitStatus, vm.cpu.exit.pc);
    if (t.exited) throw new VmCallError(name, `call ${name}: the called function ended its thread (exit) at pc 0x${vm.cpu.exit.pc.toString(16)}`);
    if (t.wait) {
      const what = describeWait(t.wait);
      t.wait = undefined;
      throw new VmCallError(name, `call ${name}: the called function blocked its thread (${what}) at pc 0x${vm.cpu.exit.pc.toString(16)}; calls run on one thread and cannot wait for another`);
    }
  } finally {
    vm.exitStatus = before;
  }
}

// A fault or ebreak: to the guest's handler for the signal when it has one
// (as in the run loop), else the call fails with the facts of the fault.
// Demand paging and the memory limit, as in ProcessVM.run: true when the
// fault was theirs and the function runs on; the out-of-memory kill ends
// the call as an exit inside it does.
function memoryFault(vm: ProcessVM, name: string): boolean {
  const before = vm.exitStatus;
  vm.exitStatus = undefined;
  try {
    if (!vm.handleMemoryFault()) return false;
    if (vm.exitStatus !== undefined) throw new CallExitError(name, vm.exitStatus, vm.cpu.exit.pc);
    return true;
  } finally {
    vm.exitStatus = before;
  }
}

function fault(vm: ProcessVM, name: string, sig: number, what: string): void {
  const e = vm.cpu.exit;
  const code = faultCode(vm, sig, e.cause, e.addr);
  if (deliverFault(vm, sig, code, sig === SIGTRAP || sig === SIGILL ? e.pc : e.addr)) return;
  throw new CallFaultError(name, sig, e.reason === ExitReason.Ebreak ? Cause.Breakpoint : e.cause, e.pc, e.addr, what);
}

interface SavedRegisters {
  x: bigint[];
  f: bigint[];
  pc: bigint;
  fcsr: number;
  sp: bigint;
  exitControls: number;
}

function saveRegisters(vm: ProcessVM): SavedRegisters {
  const cpu = vm.cpu;
  const x: bigint[] = [], f: bigint[] = [];
  for (let r = 0; r < 32; r++) { x.push(cpu.x(r)); f.push(cpu.f(r)); }
  return { x, f, pc: cpu.pc, fcsr: cpu.fcsr, sp: x[SP], exitControls: cpu.exitControls };
}

function restoreRegisters(vm: ProcessVM, s: SavedRegisters): void {
  const cpu = vm.cpu;
  for (let r = 1; r < 32; r++) { cpu.setX(r, s.x[r]); cpu.setF(r, s.f[r]); }
  cpu.setF(0, s.f[0]);
  cpu.pc = s.pc;
  cpu.fcsr = s.fcsr;
  cpu.exitControls = s.exitControls;
}
