// Every VM exit, dispatched in one place: one table keyed by ExitReason, one
// handler per reason (Firecracker's handle_kvm_exit is one match with a
// metric per arm), for every kind of partition: a system VM, a process VM
// and a call into a process VM (vmcall). A Record over the enum makes a new
// exit reason a compile error until it has its arm.
//
// A handler sees the partition only through `Partition`: the CPU's exit
// block and the services the partition offers. A service a partition does
// not have (a system VM serves no Linux system calls; a process VM has no
// bus) makes its exit "unexpected": the partition never selected that exit,
// so seeing one is a bug of ring -1, and the partition stops saying so
// rather than guess. Each handler is a function of its inputs, so the
// dispatch is tested without a guest (test/exits.test.ts).
//
// No Node import: this runs wherever the machine does.
import { ExitReason, EXIT_REASON_NAMES, type ExitInfo, type MmioAccess } from '../cpu/cpu.js';

/** The CPU as an exit handler sees it. */
export interface ExitCpu {
  readonly pc: bigint;
  readonly exit: ExitInfo;
  readonly mmio: MmioAccess;
  completeMmioLoad(value: bigint): void;
  failMmio(): void;
  setX(r: number, value: bigint): void;
}

/** An MMIO bus (a system VM's devices). */
export interface ExitBus {
  load(addr: bigint, size: 1 | 2 | 4 | 8): bigint | undefined;
  store(addr: bigint, size: 1 | 2 | 4 | 8, value: bigint): boolean;
  /** The device's name at `addr`, for traces. */
  find(addr: bigint): { name: string } | undefined;
}

/** What the run loop does after an exit. */
export type ExitAction =
  | { kind: 'continue' }
  /** The partition's work is done (a call into the guest has returned). */
  | { kind: 'done' }
  /** The partition stops with `status`, saying why (unless the service
   *  that stopped it has said so already). */
  | { kind: 'stop'; status: number; diagnostic?: string };

/** A partition as its exits see it: the CPU, and the services it has. */
export interface Partition {
  readonly cpu: ExitCpu;
  /** Instructions the run that exited executed (for traces). */
  readonly ran: bigint;
  /** One --trace-exits line (after "kvm_exit: vcpu N "); absent when
   *  exits are not traced, and then the line is not even made (an MMIO
   *  exit's has three numbers in hex and looks the device's name up). */
  trace?(what: string): void;
  /** What an unexpected exit's message starts with ("ringvisor boot", "call f"). */
  readonly name: string;

  // A Linux process (process VMs, vmcall): ECALL_U, EBREAK, FAULT.
  /** Serves the system call in the CPU's registers. */
  systemCall?(): ExitAction;
  /** An ebreak (a vmcall's return, or SIGTRAP). */
  breakpoint?(): ExitAction;
  /** A fault the guest has no kernel to take: a page fault ring -1
   *  serves, or a signal. */
  fault?(): ExitAction;
  /** The running thread's budget is spent: another may run. */
  preempt?(): void;
  /** The `time` CSR's value now (for ExitControl.Time: a CSR exit after
   *  a read of `time`). */
  readTime?(): bigint;

  // A machine (system VMs): ECALL_S, WFI, MMIO_LOAD, MMIO_STORE.
  /** Serves the SBI call in the CPU's registers; its name and error, for traces. */
  sbiCall?(): { name: string; error: bigint };
  /** The running hart waits for an interrupt. */
  waitForInterrupt?(): void;
  readonly bus?: ExitBus;
}

export type ExitHandler = (p: Partition, reason: ExitReason) => ExitAction;

const CONTINUE: ExitAction = { kind: 'continue' };
const hex = (v: bigint): string => `0x${v.toString(16)}`;

// An exit the partition never selected (or has no service for): the
// partition stops rather than guess.
function unexpected(p: Partition, reason: ExitReason): ExitAction {
  const e = p.cpu.exit;
  const name = EXIT_REASON_NAMES[reason] ?? String(reason);
  return { kind: 'stop', status: 1, diagnostic: `${p.name}: unexpected exit ${name} at pc ${hex(e.pc)} (cause ${e.cause}, addr ${hex(e.addr)})` };
}

function budget(p: Partition): ExitAction {
  p.trace?.(`reason BUDGET pc ${hex(p.cpu.pc)} after ${p.ran} instructions`);
  p.preempt?.();
  return CONTINUE;
}

function ecallU(p: Partition, reason: ExitReason): ExitAction {
  return p.systemCall ? p.systemCall() : unexpected(p, reason);
}

function ebreak(p: Partition, reason: ExitReason): ExitAction {
  return p.breakpoint ? p.breakpoint() : unexpected(p, reason);
}

function fault(p: Partition, reason: ExitReason): ExitAction {
  return p.fault ? p.fault() : unexpected(p, reason);
}

function ecallS(p: Partition, reason: ExitReason): ExitAction {
  if (!p.sbiCall) return unexpected(p, reason);
  const pc = p.cpu.exit.pc;
  const call = p.sbiCall();
  p.trace?.(`reason ECALL_S pc ${hex(pc)} sbi ${call.name} error ${call.error}`);
  return CONTINUE;
}

// Not retired: the device's value completes the load on the next run, or
// an access fault is delivered where no device answers.
function mmioLoad(p: Partition, reason: ExitReason): ExitAction {
  const bus = p.bus;
  if (!bus) return unexpected(p, reason);
  const cpu = p.cpu, a = cpu.mmio, pc = cpu.exit.pc;
  const v = bus.load(a.addr, a.size as 1 | 2 | 4 | 8);
  p.trace?.(`reason MMIO_LOAD pc ${hex(pc)} gpa ${hex(a.addr)} len ${a.size} ${v === undefined ? 'no device: access fault' : `val ${hex(v)} (${bus.find(a.addr)?.name})`}`);
  if (v === undefined) cpu.failMmio(); else cpu.completeMmioLoad(v);
  return CONTINUE;
}

function mmioStore(p: Partition, reason: ExitReason): ExitAction {
  const bus = p.bus;
  if (!bus) return unexpected(p, reason);
  const cpu = p.cpu, a = cpu.mmio, pc = cpu.exit.pc;
  const ok = bus.store(a.addr, a.size as 1 | 2 | 4 | 8, a.data);
  p.trace?.(`reason MMIO_STORE pc ${hex(pc)} gpa ${hex(a.addr)} len ${a.size} val ${hex(a.data)} ${ok ? `(${bus.find(a.addr)?.name})` : 'no device: access fault'}`);
  if (!ok) cpu.failMmio();
  return CONTINUE;
}

// The hart sits its turns out until an interrupt is pending for it (the
// scheduler skips time ahead when every hart waits).
function wfi(p: Partition, reason: ExitReason): ExitAction {
  if (!p.waitForInterrupt) return unexpected(p, reason);
  p.trace?.(`reason WFI pc ${hex(p.cpu.exit.pc)}`);
  p.waitForInterrupt();
  return CONTINUE;
}

// A read of `time` under ExitControl.Time retired with the value the CPU
// last held; its register gets the time of the moment instead. The CSR
// exits of a system VM's SATP, SFENCE and SRET controls no partition
// selects yet: unexpected.
function csr(p: Partition, reason: ExitReason): ExitAction {
  const inst = p.cpu.exit.inst;
  if (!p.readTime || !isTimeRead(inst)) return unexpected(p, reason);
  const rd = (inst >>> 7) & 31;
  if (rd !== 0) p.cpu.setX(rd, p.readTime());
  return CONTINUE;
}

// CSRRS/CSRRC(I) of `time` (0xc01): the instructions that read it (they
// retire only with x0 or zimm 0 as their source: a write of a read-only
// CSR is illegal, a FAULT exit instead).
function isTimeRead(inst: number): boolean {
  return (inst & 0x7f) === 0x73 && inst >>> 20 === 0xc01 && ((inst >>> 12) & 3) >= 2;
}

/** The exit table. HOT never leaves Cpu.run. */
export const EXIT_HANDLERS: Readonly<Record<ExitReason, ExitHandler>> = {
  [ExitReason.None]: unexpected,
  [ExitReason.EcallU]: ecallU,
  [ExitReason.Ebreak]: ebreak,
  [ExitReason.Fault]: fault,
  [ExitReason.Budget]: budget,
  [ExitReason.Hot]: unexpected,
  [ExitReason.EcallS]: ecallS,
  [ExitReason.Wfi]: wfi,
  [ExitReason.MmioLoad]: mmioLoad,
  [ExitReason.MmioStore]: mmioStore,
  [ExitReason.Csr]: csr,
};

/** Runs the handler of `reason`, counting the exit under its name in
 *  `counts` when given (a system VM's exitStats; a process VM's CPU counts
 *  its exits itself). */
export function handleExit(reason: ExitReason, p: Partition, counts?: Map<string, number>): ExitAction {
  if (counts) {
    const name = EXIT_REASON_NAMES[reason] ?? String(reason);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const handler = EXIT_HANDLERS[reason] as ExitHandler | undefined;
  return (handler ?? unexpected)(p, reason);
}
