// A CPU on a bench for the per-instruction unit tests: the debug build of the
// WebAssembly CPU with 1 MiB of RAM at 0x8000_0000, a helper that writes
// encoded instructions there, sets registers and runs to an `ebreak`, and
// small helpers that run one ALU instruction on given operands.
import { Cpu, ExitReason, ExitControl, MemoryMode, EXIT_REASON_NAMES, type ExitInfo } from '../../src/cpu/cpu.js';
import { loadCpuModule } from '../../src/node/load.js';
import { assemble, disasm, ebreak } from './rvasm.js';

export { Cpu, ExitReason, ExitControl };
export const RAM_BASE = 0x8000_0000n;
export const RAM_SIZE = 0x10_0000n;
/** Where programs are written. */
export const CODE = RAM_BASE;
/** A data area well away from the code. */
export const DATA = RAM_BASE + 0x8_0000n;

let module: WebAssembly.Module | undefined;
export function debugModule(): WebAssembly.Module {
  module ??= loadCpuModule('debug');
  return module;
}

/** A fresh CPU with RAM configured and ECALL_U and EBREAK selected to exit. */
export function newCpu(ramBase = RAM_BASE, ramSize = RAM_SIZE): Cpu {
  const cpu = new Cpu(debugModule());
  cpu.configureRam(ramBase, ramSize);
  cpu.exitControls = ExitControl.EcallU | ExitControl.Ebreak;
  return cpu;
}

/** Page-permission mode (a process VM's), with the bench's RAM seen at its
 *  own addresses: the user addresses from RAM_BASE up, slot by slot, backed
 *  by the RAM after its first slot (which stands for "no RAM"). */
export function userMode(cpu: Cpu): void {
  cpu.memoryMode = MemoryMode.PagePermissions;
  const size = cpu.slotBytes, first = Number(RAM_BASE / BigInt(size));
  for (let i = 0; (i + 2) * size <= Number(cpu.ramLength); i++) cpu.setSlot(first + i, (i + 1) * size);
}

export interface Setup {
  /** Integer registers by number. */
  x?: Record<number, bigint | number>;
  /** FP registers by number (raw 64-bit patterns). */
  f?: Record<number, bigint>;
  fcsr?: number;
  /** Bytes to place in RAM before running. */
  mem?: Array<[addr: bigint, bytes: Uint8Array]>;
}

export function describeExit(cpu: Cpu): string {
  const e: ExitInfo = cpu.exit;
  const inst = e.instLength === 2 ? e.inst.toString(16).padStart(4, '0') : e.inst.toString(16).padStart(8, '0');
  return `${EXIT_REASON_NAMES[e.reason] ?? e.reason} at pc 0x${e.pc.toString(16)} inst 0x${inst} (${e.instLength ? disasm(e.inst) : 'no fetch'}) cause ${e.cause} addr 0x${e.addr.toString(16)}`;
}

/** Writes `words` at `at`, applies `setup` and points pc at the first one. */
export function load(cpu: Cpu, words: number[], setup: Setup = {}, at = CODE): void {
  cpu.writeBytes(at, assemble(words));
  for (const [r, v] of Object.entries(setup.x ?? {})) cpu.setX(Number(r), BigInt(v));
  for (const [r, v] of Object.entries(setup.f ?? {})) cpu.setF(Number(r), v);
  if (setup.fcsr !== undefined) cpu.fcsr = setup.fcsr;
  for (const [addr, bytes] of setup.mem ?? []) cpu.writeBytes(addr, bytes);
  cpu.pc = at;
}

/** Runs `words` followed by an `ebreak` on a fresh CPU and returns it,
 *  failing with the exit's details unless it stopped at that `ebreak`. */
export function exec(words: number[], setup: Setup = {}): Cpu {
  const cpu = newCpu();
  load(cpu, [...words, ebreak()], setup);
  const reason = cpu.run(10_000n);
  const end = CODE + BigInt(assemble(words).length);
  if (reason !== ExitReason.Ebreak || cpu.exit.pc !== end) {
    throw new Error(`expected to reach the ebreak at 0x${end.toString(16)}, got ${describeExit(cpu)}`);
  }
  return cpu;
}

/** Runs `words` (nothing appended) and returns the exit reason with the CPU. */
export function execRaw(words: number[], setup: Setup = {}, budget = 10_000n): { reason: ExitReason; cpu: Cpu; exit: ExitInfo } {
  const cpu = newCpu();
  load(cpu, words, setup);
  const reason = cpu.run(budget);
  return { reason, cpu, exit: cpu.exit };
}

// One reusable CPU for the many one-instruction checks: creating an instance
// grows its memory to hold RAM, which costs more than the check itself.
let shared: Cpu | undefined;
function sharedCpu(): Cpu {
  shared ??= newCpu();
  return shared;
}

/** Runs one instruction on a reused CPU: x1 = a, x2 = b; returns x3.
 *  `encode(3, 1, 2)` makes the instruction (rd = x3, rs1 = x1, rs2 = x2). */
export function rr(encode: (rd: number, rs1: number, rs2: number) => number, a: bigint, b: bigint): bigint {
  return runOne(encode(3, 1, 2), a, b);
}
/** x3 = op(x1, imm). */
export function ri(encode: (rd: number, rs1: number, imm: number) => number, a: bigint, imm: number): bigint {
  return runOne(encode(3, 1, imm), a, 0n);
}
/** x3 = op(x1). */
export function r1(encode: (rd: number, rs1: number) => number, a: bigint): bigint {
  return runOne(encode(3, 1), a, 0n);
}

function runOne(word: number, a: bigint, b: bigint): bigint {
  const cpu = sharedCpu();
  load(cpu, [word, ebreak()], { x: { 1: a, 2: b, 3: 0xdead_beefn } });
  const reason = cpu.run(10n);
  if (reason !== ExitReason.Ebreak) throw new Error(`${disasm(word)}: ${describeExit(cpu)}`);
  return cpu.x(3);
}

/** Unsigned 64-bit view of a signed value. */
export const u64 = (v: bigint | number): bigint => BigInt.asUintN(64, BigInt(v));
/** Signed 64-bit view. */
export const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
/** Sign-extends the low 32 bits to 64 (as an unsigned 64-bit pattern). */
export const sext32 = (v: bigint | number): bigint => u64(BigInt.asIntN(32, BigInt(v)));

export const INT64_MIN = 0x8000_0000_0000_0000n;
export const INT64_MAX = 0x7fff_ffff_ffff_ffffn;
export const ALL_ONES = 0xffff_ffff_ffff_ffffn;
