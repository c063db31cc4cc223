// The system VM's exits, dispatched in one place: a table keyed by
// ExitReason with one handler per reason (Firecracker's handle_kvm_exit is
// one match with a metric per arm). A Record over the enum makes a new exit
// reason a compile error until it has its arm. Each handler is a function of
// the exit (the CPU's exit block) and the machine's parts, and returns what
// the run loop does next, so the dispatch is tested without a guest
// (test/system-exits.test.ts).
import { ExitReason, EXIT_REASON_NAMES, type ExitInfo, type MmioAccess } from '../cpu/cpu.js';
import type { AccessSize, MmioDevice } from './devices/bus.js';
import type { SbiCall } from './sbi.js';

/** The CPU as an exit handler sees it. */
export interface ExitCpu {
  readonly pc: bigint;
  readonly exit: ExitInfo;
  readonly mmio: MmioAccess;
  completeMmioLoad(value: bigint): void;
  failMmio(): void;
}

/** The machine as an exit handler sees it. */
export interface ExitMachine {
  readonly cpu: ExitCpu;
  readonly bus: {
    load(addr: bigint, size: AccessSize): bigint | undefined;
    store(addr: bigint, size: AccessSize, value: bigint): boolean;
    find(addr: bigint): MmioDevice | undefined;
  };
  /** Instructions the run that exited executed. */
  readonly ran: bigint;
  /** Serves the SBI call in the CPU's registers (sbi.ts). */
  sbiCall(): SbiCall;
  /** The running hart waits for an interrupt (hart-scheduler.ts). */
  waitForInterrupt(): void;
  /** One --trace-exits line (after "kvm_exit: vcpu N "). */
  trace(what: string): void;
}

/** What the run loop does after an exit. */
export type ExitAction =
  | { kind: 'continue' }
  /** The machine stops with `status`, saying why. */
  | { kind: 'stop'; status: number; diagnostic: string };

export type ExitHandler = (m: ExitMachine, reason: ExitReason) => ExitAction;

const CONTINUE: ExitAction = { kind: 'continue' };
const hex = (v: bigint): string => `0x${v.toString(16)}`;

function budget(m: ExitMachine): ExitAction {
  m.trace(`reason BUDGET pc ${hex(m.cpu.pc)} after ${m.ran} instructions`);
  return CONTINUE;
}

function ecallS(m: ExitMachine): ExitAction {
  const pc = m.cpu.exit.pc;
  const call = m.sbiCall();
  m.trace(`reason ECALL_S pc ${hex(pc)} sbi ${call.name} error ${call.error}`);
  return CONTINUE;
}

// Not retired: the device's value completes the load on the next run, or
// an access fault is delivered where no device answers.
function mmioLoad(m: ExitMachine): ExitAction {
  const cpu = m.cpu, a = cpu.mmio, pc = cpu.exit.pc;
  const v = m.bus.load(a.addr, a.size as AccessSize);
  m.trace(`reason MMIO_LOAD pc ${hex(pc)} gpa ${hex(a.addr)} len ${a.size} ${v === undefined ? 'no device: access fault' : `val ${hex(v)} (${m.bus.find(a.addr)?.name})`}`);
  if (v === undefined) cpu.failMmio(); else cpu.completeMmioLoad(v);
  return CONTINUE;
}

function mmioStore(m: ExitMachine): ExitAction {
  const cpu = m.cpu, a = cpu.mmio, pc = cpu.exit.pc;
  const ok = m.bus.store(a.addr, a.size as AccessSize, a.data);
  m.trace(`reason MMIO_STORE pc ${hex(pc)} gpa ${hex(a.addr)} len ${a.size} val ${hex(a.data)} ${ok ? `(${m.bus.find(a.addr)?.name})` : 'no device: access fault'}`);
  if (!ok) cpu.failMmio();
  return CONTINUE;
}

// The hart sits its turns out until an interrupt is pending for it (the
// scheduler skips time ahead when every hart waits).
function wfi(m: ExitMachine): ExitAction {
  m.trace(`reason WFI pc ${hex(m.cpu.exit.pc)}`);
  m.waitForInterrupt();
  return CONTINUE;
}

// Exits a system VM never selects (ECALL_U, EBREAK and faults go to the
// guest's own trap handler; Cpu.run handles HOT; no CSR exit is enabled):
// seeing one is a bug of ring -1, and the machine stops rather than guess.
function unexpected(m: ExitMachine, reason: ExitReason): ExitAction {
  const e = m.cpu.exit;
  const name = EXIT_REASON_NAMES[reason] ?? String(reason);
  return { kind: 'stop', status: 1, diagnostic: `ringvisor boot: unexpected exit ${name} at pc ${hex(e.pc)} (cause ${e.cause}, addr ${hex(e.addr)})` };
}

export const SYSTEM_EXIT_HANDLERS: Readonly<Record<ExitReason, ExitHandler>> = {
  [ExitReason.None]: unexpected,
  [ExitReason.EcallU]: unexpected,
  [ExitReason.Ebreak]: unexpected,
  [ExitReason.Fault]: unexpected,
  [ExitReason.Budget]: budget,
  [ExitReason.Hot]: unexpected,
  [ExitReason.EcallS]: ecallS,
  [ExitReason.Wfi]: wfi,
  [ExitReason.MmioLoad]: mmioLoad,
  [ExitReason.MmioStore]: mmioStore,
  [ExitReason.Csr]: unexpected,
};

/** Counts one exit under its name in `counts` (the VM's exitStats, which
 *  --stats prints) and runs its handler. */
export function handleSystemExit(reason: ExitReason, m: ExitMachine, counts: Map<string, number>): ExitAction {
  const name = EXIT_REASON_NAMES[reason] ?? String(reason);
  counts.set(name, (counts.get(name) ?? 0) + 1);
  const handler = SYSTEM_EXIT_HANDLERS[reason] as ExitHandler | undefined;
  return (handler ?? unexpected)(m, reason);
}
