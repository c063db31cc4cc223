// The translation tier (src/cpu/jit/): its WebAssembly encoder, and the
// contract that a translated run is indistinguishable from an interpreted
// one — registers, fcsr, pc, instret, exit reasons and exit blocks, memory —
// at every budget, with translations dropped whenever ring -1 changes the
// bytes or permissions of the code they came from.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Cpu, ExitReason, MemoryMode, Perm, EXIT_REASON_NAMES, PAGE_SIZE } from '../src/cpu/cpu.js';
import { Bytes, Code, Op, I32, I64, functionBody, moduleBytes } from '../src/cpu/jit/wasm-writer.js';
import { discover, emitRegion, moduleOf, HELPERS, type EmitConfig } from '../src/cpu/jit/translate.js';
import { ProcessVM, WorkerTranslationService, loadCpuModule, DEFAULT_CACHE_LIMIT, type TranslationService, type TranslationCacheLimit } from '../src/index.js';
import type { TranslationRequest } from '../src/cpu/jit/jit.js';
import { newCpu, describeExit, userMode } from './support/machine.js';
import * as A from './support/rvasm.js';
import {
  generateProgram, handProgram, type Program, RAM_BASE, page, MAIN_PAGE, SUB_PAGE, GUARD_PAGE, RO_PAGE, DATA, DATA_END,
} from './support/jit-fuzz.js';

// ---- 1. the encoder ---------------------------------------------------------------------------

/** LEB128 the long way, as the spec defines it. */
function refUnsigned(v: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}
function refSigned(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}
const bytesOf = (f: (b: Bytes) => Bytes): number[] => [...f(new Code()).view()];

describe('wasm-writer', () => {
  it('writes unsigned LEB128', () => {
    expect(bytesOf((b) => b.u32(0))).toEqual([0x00]);
    expect(bytesOf((b) => b.u32(63))).toEqual([0x3f]);
    expect(bytesOf((b) => b.u32(64))).toEqual([0x40]);
    expect(bytesOf((b) => b.u32(127))).toEqual([0x7f]);
    expect(bytesOf((b) => b.u32(128))).toEqual([0x80, 0x01]);
    expect(bytesOf((b) => b.u32(624485))).toEqual([0xe5, 0x8e, 0x26]);
    expect(bytesOf((b) => b.u32(0x7fff_ffff))).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
    expect(bytesOf((b) => b.u32(0x8000_0000))).toEqual([0x80, 0x80, 0x80, 0x80, 0x08]);
    expect(bytesOf((b) => b.u32(0xffff_ffff))).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    for (const v of [1, 2, 0x3fff, 0x4000, 0x1f_ffff, 0x20_0000, 0xfff_ffff, 0x1000_0000, 0xdead_beef]) {
      expect(bytesOf((b) => b.u32(v)), `u32 ${v}`).toEqual(refUnsigned(BigInt(v)));
    }
  });

  it('writes signed 32-bit LEB128', () => {
    expect(bytesOf((b) => b.s32(0))).toEqual([0x00]);
    expect(bytesOf((b) => b.s32(63))).toEqual([0x3f]);
    expect(bytesOf((b) => b.s32(64))).toEqual([0xc0, 0x00]);
    expect(bytesOf((b) => b.s32(-64))).toEqual([0x40]);
    expect(bytesOf((b) => b.s32(-65))).toEqual([0xbf, 0x7f]);
    expect(bytesOf((b) => b.s32(-1))).toEqual([0x7f]);
    expect(bytesOf((b) => b.s32(-123456))).toEqual([0xc0, 0xbb, 0x78]);
    expect(bytesOf((b) => b.s32(0x7fff_ffff))).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
    expect(bytesOf((b) => b.s32(-0x8000_0000))).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
    for (let k = 0; k < 32; k++) {
      for (const v of [2 ** k - 1, 2 ** k, -(2 ** k), -(2 ** k) - 1]) {
        if (v > 0x7fff_ffff || v < -0x8000_0000) continue;
        expect(bytesOf((b) => b.s32(v)), `s32 ${v}`).toEqual(refSigned(BigInt(v)));
      }
    }
  });

  it('writes signed 64-bit LEB128 on both paths (32-bit values and BigInt)', () => {
    const max = (1n << 63n) - 1n, min = -(1n << 63n);
    expect(bytesOf((b) => b.s64(0n))).toEqual([0x00]);
    expect(bytesOf((b) => b.s64(-64n))).toEqual([0x40]);
    expect(bytesOf((b) => b.s64(-65n))).toEqual([0xbf, 0x7f]);
    expect(bytesOf((b) => b.s64(max))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]);
    expect(bytesOf((b) => b.s64(min))).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]);
    expect(bytesOf((b) => b.s64(0x8000_0000n))).toEqual([0x80, 0x80, 0x80, 0x80, 0x08]);
    expect(bytesOf((b) => b.s64(-0x8000_0001n))).toEqual([0xff, 0xff, 0xff, 0xff, 0x77]);
    for (let k = 0n; k < 64n; k++) {
      for (const v of [(1n << k) - 1n, 1n << k, -(1n << k), -(1n << k) - 1n, (1n << k) + 0x55n]) {
        if (v > max || v < min) continue;
        expect(bytesOf((b) => b.s64(v)), `s64 ${v}`).toEqual(refSigned(v));
      }
    }
  });

  it('grows its buffer past the initial size, byte by byte and in slices', () => {
    const b = new Bytes();
    for (let i = 0; i < 3000; i++) b.byte(i & 0xff);
    b.bytes(new Uint8Array(5000).fill(7));
    b.u32(0xffff_ffff);
    expect(b.length).toBe(8005);
    const v = b.view();
    expect(v[2999]).toBe(2999 & 0xff);
    expect(v[3000]).toBe(7);
    expect([...v.subarray(8000)]).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  /** A module exporting f(): i64 = i64.const v, run. */
  function constant(v: bigint): bigint {
    const body = new Code().i64(v);
    const bytes = moduleBytes({ memory: { module: 'm', name: 'mem' }, functions: [], params: [], results: [I64], bodies: [functionBody([], body)] });
    expect(WebAssembly.validate(bytes)).toBe(true);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { mem: new WebAssembly.Memory({ initial: 1 }) } });
    return (inst.exports['0'] as () => bigint)();
  }

  it('i64 constants survive the trip through a real module at every edge', () => {
    const edges = [0n, 1n, -1n, 63n, 64n, -64n, -65n, 0x7fff_ffffn, 0x8000_0000n, -0x8000_0000n, -0x8000_0001n,
      0xffff_ffffn, 0x1_0000_0000n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n, 0x8000_0000_0000_0001n, 0x0123_4567_89ab_cdefn];
    for (let k = 0n; k < 64n; k += 5n) edges.push(1n << k, -(1n << k), (1n << k) - 1n);
    for (const v of edges) expect(constant(v), `i64.const ${v}`).toBe(BigInt.asIntN(64, v));
  });

  it('i64 constants given as numbers (the translator\'s addresses) encode as their BigInt would, up to 2^53', () => {
    const edges = [0, 1, -1, 63, 64, -64, -65, 0x7fff_ffff, 0x8000_0000, -0x8000_0000, -0x8000_0001, 0xffff_ffff, 2 ** 32,
      2 ** 38, 2 ** 38 - 1, -(2 ** 38), 2 ** 39 + 0x7ff, 2 ** 52, -(2 ** 52), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (let k = 0; k < 53; k += 3) edges.push(2 ** k, -(2 ** k), 2 ** k - 1, 1 - 2 ** k);
    for (const v of edges) {
      expect(bytesOf((b) => (b as Code).i64(v)), `i64.const ${v}`).toEqual(bytesOf((b) => (b as Code).i64(BigInt(v))));
      expect(constant(BigInt(v))).toBe(BigInt(v));
    }
    expect(() => new Code().i64(2 ** 53)).toThrow(RangeError);
    expect(() => new Code().i64(0.5)).toThrow(RangeError);
  });

  it('puts many functions in one module, each exported by its index', () => {
    const bodies = [5n, -7n, 1n << 40n].map((v) => functionBody([{ count: 1, type: I64 }], new Code().get(0).i64(v).op(Op.i64_add)));
    const bytes = moduleBytes({ memory: { module: 'm', name: 'mem' }, functions: [{ module: 'm', name: 'h', params: [I64], results: [I64] }], params: [I64], results: [I64], bodies });
    expect(WebAssembly.validate(bytes)).toBe(true);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { mem: new WebAssembly.Memory({ initial: 1 }), h: (x: bigint) => x } });
    const call = (i: number, x: bigint) => (inst.exports[String(i)] as (x: bigint) => bigint)(x);
    expect([call(0, 10n), call(1, 10n), call(2, 0n)]).toEqual([15n, 3n, 1n << 40n]);
    expect(Object.keys(inst.exports)).toEqual(['0', '1', '2']);
  });

  it('makes a module with imports, locals, memory and control flow that validates and runs', () => {
    // f(n: i64) -> i64: sum of twice(k) + mem64[8] for k in 0..n, through a loop,
    // an imported helper and a br_table on the parity of n.
    const body = new Code();
    body.i64(0n).set(1); // acc
    body.block().loop();
    body.get(0).op(Op.i64_eqz).op(Op.i32_eqz).op(Op.i32_eqz).if().br(2).end();
    body.get(1).get(0).call(0).op(Op.i64_add).set(1);
    body.get(0).i64(1n).op(Op.i64_sub).set(0);
    body.br(0).end().end();
    body.i32(0).mem(Op.i64_load, 3, 8).get(1).op(Op.i64_add).set(1);
    // br_table on the low bit of acc: 0 (even) runs `acc |= 1`, 1 (odd) skips it
    body.block().block();
    body.get(1).op(Op.i32_wrap_i64).i32(1).op(Op.i32_and).brTable([0, 1], 1).end();
    body.get(1).i64(1n).op(Op.i64_or).set(1).end();
    body.get(1);
    const bytes = moduleBytes({
      memory: { module: 'cpu', name: 'memory' },
      functions: [{ module: 'cpu', name: 'twice', params: [I64], results: [I64] }],
      params: [I64], results: [I64],
      bodies: [functionBody([{ count: 1, type: I64 }, { count: 2, type: I32 }], body)],
    });
    expect(WebAssembly.validate(bytes)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    new DataView(memory.buffer).setBigUint64(8, 1000n, true);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { cpu: { memory, twice: (k: bigint) => 2n * k } });
    const f = inst.exports['0'] as (n: bigint) => bigint;
    expect(f(0n)).toBe(1001n);
    expect(f(10n)).toBe(1111n);
    expect(f(3n)).toBe(1013n);
    new DataView(memory.buffer).setBigUint64(8, 1001n, true);
    expect(f(3n)).toBe(1013n);
    expect(f(4n)).toBe(1021n);
  });
});

// ---- the differential harness -------------------------------------------------------------------

/** Pages the fuzz programs use (1..34); everything else stays without permission. */
const USED_PAGES = 35;

/** Loads `p`'s code, permissions and initial state. With `flush`, every
 *  translation and the translation map go first (the memory mode is set
 *  again); without, only ring -1's writes and permission changes remove the
 *  last program's translations. With `warm`, the code (and so its
 *  translations) stays as it is and only the state is loaded again. */
function setupMachine(cpu: Cpu, p: Program, threshold: number, flush: boolean, warm = false): void {
  cpu.jitThreshold = 0;
  if (!warm) {
    if (flush || cpu.memoryMode !== MemoryMode.PagePermissions) {
      cpu.memoryMode = MemoryMode.Flat;
      userMode(cpu);
    }
    cpu.setPagePermissions(RAM_BASE, USED_PAGES * PAGE_SIZE, Perm.R | Perm.W);
    cpu.fill(RAM_BASE, USED_PAGES * PAGE_SIZE, 0);
    cpu.setPagePermissions(RAM_BASE, USED_PAGES * PAGE_SIZE, 0);
    for (const s of p.sections) cpu.writeBytes(s.at, s.bytes);
    cpu.writeBytes(GUARD_PAGE, p.bait);
    cpu.setPagePermissions(MAIN_PAGE, 2 * PAGE_SIZE, Perm.R | Perm.X);
    cpu.setPagePermissions(SUB_PAGE, PAGE_SIZE, Perm.R | Perm.X);
    cpu.setPagePermissions(RO_PAGE, PAGE_SIZE, Perm.R);
    cpu.setPagePermissions(DATA, Number(DATA_END - DATA), Perm.R | Perm.W);
    for (const [at, perms] of p.perms ?? []) cpu.setPagePermissions(at, PAGE_SIZE, perms);
  }
  cpu.writeBytes(RO_PAGE, p.data);
  for (let r = 1; r < 32; r++) cpu.setX(r, p.x[r]);
  for (let r = 0; r < 32; r++) cpu.setF(r, p.f[r]);
  cpu.fcsr = p.fcsr;
  cpu.pc = p.entry;
  cpu.dropReservation();
  cpu.jitThreshold = threshold;
}

const hex = (v: bigint | number) => '0x' + v.toString(16);

/** Differences between the architectural states of two CPUs, as text. */
function stateDiff(a: Cpu, b: Cpu, aBase: bigint, bBase: bigint): string[] {
  const d: string[] = [];
  for (let r = 1; r < 32; r++) if (a.x(r) !== b.x(r)) d.push(`x${r} (${A.X_ABI[r]}): ${hex(a.x(r))} vs ${hex(b.x(r))}`);
  for (let r = 0; r < 32; r++) if (a.f(r) !== b.f(r)) d.push(`f${r}: ${hex(a.f(r))} vs ${hex(b.f(r))}`);
  if (a.fcsr !== b.fcsr) d.push(`fcsr: ${hex(a.fcsr)} vs ${hex(b.fcsr)}`);
  if (a.pc !== b.pc) d.push(`pc: ${hex(a.pc)} vs ${hex(b.pc)}`);
  if (a.instret - aBase !== b.instret - bBase) d.push(`instret: ${a.instret - aBase} vs ${b.instret - bBase}`);
  if (a.budgetLeft !== b.budgetLeft) d.push(`budget left: ${a.budgetLeft} vs ${b.budgetLeft}`);
  return d;
}

function exitDiff(ra: ExitReason, rb: ExitReason, a: Cpu, b: Cpu): string[] {
  const d: string[] = [];
  if (ra !== rb) return [`exit reason: ${EXIT_REASON_NAMES[ra]} vs ${EXIT_REASON_NAMES[rb]}`];
  const ea = a.exit, eb = b.exit;
  if (ea.pc !== eb.pc) d.push(`exit pc: ${hex(ea.pc)} vs ${hex(eb.pc)}`);
  if (ea.inst !== eb.inst) d.push(`exit inst: ${hex(ea.inst)} vs ${hex(eb.inst)}`);
  if (ea.instLength !== eb.instLength) d.push(`exit inst length: ${ea.instLength} vs ${eb.instLength}`);
  // Only a fault sets cause and addr; after other exits they still hold the
  // last fault's, which must be the same too.
  if (ea.cause !== eb.cause) d.push(`exit cause: ${ea.cause} vs ${eb.cause}`);
  if (ea.addr !== eb.addr) d.push(`exit addr: ${hex(ea.addr)} vs ${hex(eb.addr)}`);
  return d;
}

function memoryDiff(a: Cpu, b: Cpu, from: bigint, to: bigint): string[] {
  const ma = a.readBytes(from, Number(to - from)), mb = b.readBytes(from, Number(to - from));
  if (Buffer.compare(ma, mb) === 0) return [];
  for (let i = 0; i < ma.length; i++) {
    if (ma[i] !== mb[i]) return [`memory first differs at ${hex(from + BigInt(i))}: ${hex(ma[i])} vs ${hex(mb[i])}`];
  }
  return [];
}

/** Each CPU has its own counts; reset-free comparison of the non-HOT ones. */
function exitCountsDiff(a: Cpu, b: Cpu, aBase: Map<ExitReason, bigint>, bBase: Map<ExitReason, bigint>): string[] {
  const d: string[] = [];
  for (const r of [ExitReason.EcallU, ExitReason.Ebreak, ExitReason.Fault, ExitReason.Budget]) {
    const na = (a.exitCounts().get(r) ?? 0n) - (aBase.get(r) ?? 0n), nb = (b.exitCounts().get(r) ?? 0n) - (bBase.get(r) ?? 0n);
    if (na !== nb) d.push(`exits ${EXIT_REASON_NAMES[r]}: ${na} vs ${nb}`);
  }
  return d;
}

type BudgetMode = 'tiny' | 'mixed' | 'large';
const BUDGET_SCHEDULES: Record<BudgetMode, bigint[]> = {
  tiny: [1n, 2n, 3n, 7n, 1n, 1n, 2n, 5n, 3n],
  mixed: [1n, 13n, 2n, 64n, 3n, 7n, 100n, 31n, 1000n, 4n, 257n, 9n],
  large: [1_000_000n],
};

interface PairResult {
  /** Translations made while running this program. */
  translated: number;
  dynamic: bigint;
  exits: number;
  endedBy: string;
}

/** Runs `p` on both CPUs with the same budgets; throws with a report at the first difference. */
function runPair(
  p: Program, interp: Cpu, jit: Cpu, threshold: number, mode: BudgetMode | bigint[],
  options: { flush?: boolean; warm?: boolean } = {},
): PairResult {
  const { flush = true, warm = false } = options;
  setupMachine(interp, p, 0, true, warm);
  setupMachine(jit, p, threshold, flush, warm);
  const before = jit.jitStats!.translated;
  const aBase = interp.instret, bBase = jit.instret;
  const aCounts = interp.exitCounts(), bCounts = jit.exitCounts();
  const budgets = typeof mode === 'string' ? BUDGET_SCHEDULES[mode] : mode;
  let exits = 0;
  let endedBy = 'limit';
  const fail = (what: string[], step: number, budget: bigint): never => {
    throw new Error([
      `JIT (threshold ${threshold}${flush ? '' : ', translations of the previous program dropped by invalidation only'}) and interpreter differ: program ${p.seed}${warm ? ' (run again on its translations)' : ''}, budgets ${mode}, run #${step} with budget ${budget}`,
      `  interpreter: ${describeExit(interp)}`,
      `  translated:  ${describeExit(jit)}`,
      ...what.map((w) => '  ' + w),
      ...p.listing,
    ].join('\n'));
  };
  for (let step = 0; step < 20_000; step++) {
    const budget = budgets[step % budgets.length];
    const ra = interp.run(budget), rb = jit.run(budget);
    const d = [...exitDiff(ra, rb, interp, jit), ...stateDiff(interp, jit, aBase, bBase)];
    if (ra !== ExitReason.Budget) d.push(...memoryDiff(interp, jit, RO_PAGE, DATA_END));
    if (d.length > 0) fail(d, step, budget);
    if (ra !== ExitReason.Budget) exits++;
    const e = interp.exit;
    if (ra === ExitReason.Ebreak && e.pc === p.end) { endedBy = 'ebreak'; break; }
    if (ra === ExitReason.Fault && e.instLength === 0) { endedBy = 'fetch fault'; break; }
    if (ra === ExitReason.Fault || ra === ExitReason.Ebreak) {
      // As a signal handler that skips the instruction would.
      interp.pc = e.pc + BigInt(e.instLength);
      jit.pc = e.pc + BigInt(e.instLength);
    }
    if (interp.instret - aBase > 30_000n || exits > 500) break;
  }
  const d = [...memoryDiff(interp, jit, RAM_BASE, RAM_BASE + BigInt(USED_PAGES * PAGE_SIZE)), ...exitCountsDiff(interp, jit, aCounts, bCounts)];
  if (d.length > 0) fail(d, -1, 0n);
  return { translated: jit.jitStats!.translated - before, dynamic: interp.instret - aBase, exits, endedBy };
}

// ---- 2. the differential fuzzer -----------------------------------------------------------------

// RINGVISOR_JIT_FUZZ=n runs n programs; RINGVISOR_JIT_FUZZ_FIRST=i starts at
// program i (a program loaded without a flush runs after the one before it:
// start one earlier to reproduce it).
const PROGRAMS = Number(process.env.RINGVISOR_JIT_FUZZ ?? 300);
const FIRST = Number(process.env.RINGVISOR_JIT_FUZZ_FIRST ?? 0);

describe('translated runs match interpreted runs (random programs)', () => {
  it(`${PROGRAMS} random programs, thresholds 1 and 3, budgets tiny to large`, () => {
    const interp = newCpu(), jit = newCpu();
    let translated = 0, dynamic = 0n, programs = 0, withTranslations = 0;
    const ended = new Map<string, number>();
    const perMode = new Map<string, number>();
    const modes: BudgetMode[] = ['tiny', 'mixed', 'mixed', 'large'];
    for (let i = FIRST; i < FIRST + PROGRAMS; i++) {
      const p = generateProgram(`jit-fuzz-${i}`);
      const threshold = i % 3 === 0 ? 1 : 3;
      const r = runPair(p, interp, jit, threshold, modes[i % modes.length], { flush: i % 2 === 0 });
      translated += r.translated;
      const key = `${modes[i % modes.length]}/${threshold}`;
      perMode.set(key, (perMode.get(key) ?? 0) + r.translated);
      dynamic += r.dynamic;
      programs++;
      if (r.translated > 0) withTranslations++;
      ended.set(r.endedBy, (ended.get(r.endedBy) ?? 0) + 1);
    }
    if (process.env.RINGVISOR_JIT_FUZZ_STATS) console.log({ programs, translated, withTranslations, dynamic, ended, perMode, stats: jit.jitStats });
    // Not vacuous: the programs ran a lot, were translated, and most reached their end.
    expect(translated).toBeGreaterThan(programs);
    expect(withTranslations).toBeGreaterThan(programs * 0.8);
    expect(ended.get('ebreak') ?? 0).toBeGreaterThan(programs * 0.5);
    expect(dynamic).toBeGreaterThan(BigInt(programs) * 100n);
  });
});

// ---- 2b. corner cases, each at every small budget --------------------------------------------------

const RM5 = 5; // a reserved rounding mode: the instruction is illegal
const CORNERS: Array<[string, () => Program]> = [
  ['jalr with rd == rs1 to an odd address', () => handProgram('jalr-rd-rs1', [
    A.addi(5, 0, 6),
    A.auipc(1, 0), // 4: loop
    A.addi(1, 1, 15), // x1 = 0x13 past the start
    A.jalr(1, 1, 1), // c: to 0x14 (bit 0 cleared), x1 = 0x10
    A.addi(7, 7, 100), // 10: never executed
    A.addi(6, 6, 1), // 14
    A.addi(5, 5, -1),
    A.bne(5, 0, -24),
    A.ebreak(),
  ])],
  ['branches and jumps to the next instruction', () => handProgram('next', [
    A.addi(5, 0, 7),
    A.beq(0, 0, 4), // 4: loop
    A.bne(5, 0, 4),
    A.jal(0, 4),
    A.c_j(2), // 10
    A.c_beqz(10, 2), // 12
    A.addi(6, 6, 1), // 14
    A.addi(5, 5, -1),
    A.bne(5, 0, -24),
    A.ebreak(),
  ])],
  ['an instruction straddling two code pages', () => handProgram('straddle', [
    A.addi(5, 0, 9), // page 1 + 0xff6
    A.addi(6, 6, 3), // 0xffa: loop
    A.xor(7, 7, 6), // 0xffe: straddles
    A.c_addi(5, -1), // page 2 + 2
    A.bne(5, 0, -10),
    A.ebreak(),
  ], { entry: page(2) - 10n })],
  ['a loop running on into a writable, executable page that it rewrites', () => handProgram('rwx', [
    A.addi(5, 0, 8), // page 2 - 16
    A.lui(13, 0x100),
    A.sw(10, 11, 8), // page 2 - 8: loop
    A.add(10, 10, 13),
    A.addi(6, 6, 1), // page 2 (R|W|X)
    A.addi(7, 7, 1),
    A.addi(12, 12, 1), // page 2 + 8: rewritten each time round
    A.addi(5, 5, -1),
    A.bne(5, 0, -24),
    A.ebreak(),
  ], { entry: page(2) - 16n, perms: [[page(2), Perm.R | Perm.W | Perm.X]], x: { 10: BigInt(A.addi(12, 12, 1)), 11: page(2) } })],
  ['straight-line code longer than a region, in a loop', () => {
    const body: number[] = [];
    for (let i = 0; i < 300; i++) {
      body.push(i % 7 === 3 ? A.sd(10 + (i % 5), 8, (i % 32) * 8) : i % 11 === 5 ? A.ld(11, 8, (i % 16) * 8) : A.addi(10 + (i % 5), 10 + ((i + 1) % 5), i % 50));
    }
    return handProgram('long', [A.addi(5, 0, 3), ...body, A.addi(5, 5, -1), A.bne(5, 0, -(body.length * 4 + 4)), A.ebreak()]);
  }],
  ['faults and a trapping FP instruction after writes in the same block', () => handProgram('faults', [
    A.addi(5, 0, 5),
    A.addi(10, 10, 1), // 4: loop
    A.sd(10, 8, 0),
    A.ld(11, 9, 8), // page fault: past the data area
    A.addi(12, 12, 3),
    A.enc('fadd.d', [1, 1, 2, RM5]), // illegal
    A.sd(12, 8, 8),
    A.fmv_x_d(13, 1),
    A.sd(12, 9, 4), // straddles into the page without permission
    A.fadd_d(1, 1, 2),
    A.addi(5, 5, -1),
    A.bne(5, 0, -40),
    A.ebreak(),
  ], { f: { 1: 0x3ff0_0000_0000_0000n, 2: 0x4000_0000_0000_0000n } })],
  ['calls: return points, a callee returning elsewhere, a jal to the next instruction', () => {
    const sub = SUB_PAGE - MAIN_PAGE;
    return handProgram('calls', [
      A.addi(5, 0, 6),
      A.jal(1, Number(sub) - 4), // 4: loop; sub1
      A.addi(6, 6, 1),
      A.jal(1, Number(sub) + 8 - 0xc), // c: sub2 returns 4 bytes further on
      A.addi(7, 7, 100), // 10: skipped
      A.jal(1, 4), // 14
      A.addi(10, 10, 1), // 18
      A.addi(5, 5, -1),
      A.bne(5, 0, -28),
      A.ebreak(),
    ], { sub: [A.addi(11, 11, 2), A.jalr(0, 1, 0), A.addi(1, 1, 4), A.c_jr(1)] });
  }],
  ['ecall and counters in a loop', () => handProgram('ecall', [
    A.addi(5, 0, 5),
    A.addi(6, 6, 1), // 4: loop
    A.ecall(),
    A.csrr(7, A.CSR.instret),
    A.csrr(10, A.CSR.cycle),
    A.add(11, 11, 7),
    A.addi(5, 5, -1),
    A.bne(5, 0, -24),
    A.ebreak(),
  ])],
  ['x0 as a destination, and a load into x0 that faults', () => handProgram('x0', [
    A.addi(5, 0, 4),
    A.lui(0, 0x12345), // 4: loop
    A.addi(0, 6, 7),
    A.ld(0, 8, 0),
    A.ld(0, 9, 8), // page fault
    A.add(6, 6, 0),
    A.addi(6, 6, 1),
    A.addi(5, 5, -1),
    A.bne(5, 0, -28),
    A.ebreak(),
  ])],
  // A block that loops on itself (its own wasm loop), with a fault and a
  // page-crossing store inside it on its last time round, branches forward
  // over blocks (plain branches out of the blocks around them) and back
  // across them (the dispatch loop): each depth counts from a different
  // structure.
  ['a self-looping block that stops on its last round, forward branches over blocks, a loop around them', () => handProgram('shapes', [
    A.addi(5, 0, 4),
    A.addi(6, 0, 3), // 4: outer loop
    A.ld(11, 8, 0), // 8: inner loop, a block of its own
    A.slli(15, 6, 4),
    A.sub(15, 9, 15),
    A.ld(14, 15, 24), // x9 + 24 - 16 * x6: a page fault when x6 is 1
    A.add(10, 10, 11),
    A.sd(10, 8, 8),
    A.sd(10, 15, 20), // straddles into the page without permission when x6 is 1
    A.addi(6, 6, -1),
    A.bne(6, 0, -32),
    A.andi(7, 5, 1), // 2c
    A.beq(7, 0, 16), // to 40, over two blocks
    A.addi(12, 12, 5),
    A.jal(0, 12), // 38: to 44, over one
    A.addi(12, 12, 100), // never executed
    A.addi(12, 12, 7), // 40
    A.addi(5, 5, -1), // 44
    A.bne(5, 0, -68), // back to 4, across every block
    A.ebreak(),
  ])],
  // Accesses through one base register in a block: the same page (checked
  // once), the next page, one straddling both, one a byte into a page
  // without permission, past the data area, a base the block has just
  // loaded (its new value counts), a store after loads.
  ['accesses near the first one through the same base, and a base changed in between', () => handProgram('same-base', [
    A.addi(5, 0, 4),
    A.ld(10, 8, -8), // 4: loop; the last doubleword of the first data page
    A.ld(11, 8, -16), // the same page
    A.ld(12, 8, 0), // the next page
    A.ld(13, 8, -4), // straddles the two
    A.ld(17, 9, 0), // the last doubleword of the data area
    A.ld(18, 9, 1), // one byte further: into the page without permission
    A.sd(10, 9, 8), // page fault: past the data area
    A.sd(11, 9, 0),
    A.addi(15, 8, 0),
    A.ld(15, 15, -8), // 28: x15 is now what it read (0 the first time round)
    A.ld(16, 15, -16), // so this is a page fault above the user range, not the data page
    A.sd(12, 8, -8), // a store where only loads were checked
    A.addi(5, 5, -1),
    A.bne(5, 0, -52),
    A.ebreak(),
  ])],
  // Loops walking memory, for any rule that lets an access reuse the
  // check of an earlier one (in the block, or in the round before: tried,
  // docs/PERFORMANCE.md): x8 walks up over a page into the one past the
  // data area, x6 down into the read-only page (its store faults there)
  // and below it, with an access that straddles a page in one round; a
  // base the loop never moves, as a byte and as a doubleword.
  ['a self-looping block walking memory through bases it moves by constants', () => handProgram('walk', [
    A.addi(5, 0, 200),
    A.ld(10, 8, 0), // 4: loop
    A.sd(5, 8, 8),
    A.ld(13, 8, 12), // straddles into the page past the data area in the round before x8 gets there (x8 = its start - 16)
    A.lbu(11, 18, 0),
    A.ld(15, 18, 16),
    A.lw(12, 6, 0),
    A.sw(14, 6, 4), // a page fault in the read-only page
    A.addi(8, 8, 24),
    A.addi(6, 6, -28),
    A.add(14, 14, 10),
    A.add(14, 14, 13),
    A.add(14, 14, 12),
    A.sd(14, 8, -8), // through the moved base
    A.sb(14, 18, 0),
    A.sd(14, 18, 16),
    A.c_addi(9, 0), // 40: a compressed hint (c.addi x9, 0)
    A.addi(5, 5, -1),
    A.bne(5, 0, -66), // 46
    A.ebreak(),
  ], { x: { 6: DATA + 0x40n } })],
  // The same, but the base moved by a register and then by a constant, in
  // either order, a base loaded from memory, and a byte through a base
  // the loop never moves at the immediate it was checked at.
  ['a self-looping block whose bases move by registers or are loaded', () => handProgram('walk-moved', [
    A.addi(5, 0, 120),
    A.addi(7, 0, 40),
    A.sb(5, 19, 0),
    A.ld(10, 8, 0), // c: loop
    A.add(8, 8, 7),
    A.ld(11, 8, 0),
    A.sd(5, 8, 8),
    A.addi(8, 8, -16),
    A.sd(11, 6, 0),
    A.addi(6, 6, 8),
    A.add(6, 6, 7),
    A.ld(16, 18, 0), // x16: whatever the data area holds, 0 at first
    A.ld(17, 16, 8), // through it: a page fault while it is 0
    A.sd(6, 18, 0),
    A.lbu(11, 19, 0),
    A.add(12, 12, 11),
    A.addi(5, 5, -1),
    A.bne(5, 0, -60),
    A.ebreak(),
  ], { x: { 6: DATA + 0x100n, 19: DATA + 0x200n } })],
  // An inner loop walking x8; the block before it checked x8 too, then
  // moved it by a register: that check says nothing about the loop's.
  ['a loop entered from a block that checked its base and then moved it by a register', () => handProgram('walk-entered', [
    A.addi(5, 0, 100),
    A.addi(7, 0, 24),
    A.ld(10, 8, 0), // 8: outer loop
    A.add(8, 8, 7),
    A.ld(11, 8, 0), // 10: inner loop
    A.sd(5, 8, 8),
    A.add(13, 13, 11),
    A.addi(8, 8, 16),
    A.addi(5, 5, -1),
    A.andi(12, 5, 7),
    A.bne(12, 0, -24), // 28: to the inner loop
    A.bne(5, 0, -36), // 2c: to the outer
    A.ebreak(),
  ])],
  ['compressed stack, integer and FP memory forms', () => handProgram('rvc-mem', [
    A.addi(5, 0, 5),
    A.c_addi4spn(10, 16), // 4: loop
    A.c_sdsp(10, 8),
    A.c_ldsp(11, 8),
    A.c_fsdsp(3, 16),
    A.c_fldsp(4, 16),
    A.c_fld(9, 8, 0),
    A.c_fsd(9, 9, 8), // page fault
    A.c_lw(12, 8, 4),
    A.c_sw(12, 9, 0),
    A.c_ld(13, 8, 16),
    A.c_addi(10, 1),
    A.addi(5, 5, -1), // 1a
    A.bne(5, 0, -26),
    A.ebreak(),
  ], { f: { 3: 0x4000_0000_0000_0000n } })],
];

describe('corner cases run the same translated, at every small budget', () => {
  const interp = newCpu(), jit = newCpu();
  for (const [name, make] of CORNERS) {
    it(name, () => {
      const p = make();
      let translated = 0;
      for (const threshold of [1, 2, 3]) {
        for (const mode of ['large', 'tiny', 'mixed'] as const) translated += runPair(p, interp, jit, threshold, mode).translated;
      }
      expect(translated).toBeGreaterThan(0);
      // Every budget from 1 up, entering the translations the last run made.
      const rwx = p.perms !== undefined; // rewrites its code: load it again each time
      const r = runPair(p, interp, jit, 1, 'large');
      expect(r.endedBy).toBe('ebreak');
      expect(r.dynamic).toBeGreaterThan(20n);
      for (let k = 1n; k <= 40n; k++) runPair(p, interp, jit, 1, [k], { warm: !rwx });
    });
  }
});

// ---- 3. invalidation ----------------------------------------------------------------------------

const CODE = page(1);

/** A CPU in page-permission mode with `words` at `at` (R|X) and a data page. */
function codeCpu(threshold: number, words: number[], at = CODE, perms: number = Perm.R | Perm.X): Cpu {
  const cpu = newCpu();
  userMode(cpu);
  cpu.writeBytes(at, A.assemble(words));
  cpu.setPagePermissions(at, A.assemble(words).length, perms);
  cpu.setPagePermissions(DATA, 2 * PAGE_SIZE, Perm.R | Perm.W);
  cpu.jitThreshold = threshold;
  cpu.pc = at;
  return cpu;
}

/** Runs to the next exit that is not a budget exit (or gives up). */
function runToExit(cpu: Cpu, budget = 1_000_000n): ExitReason {
  for (let i = 0; i < 100; i++) {
    const r = cpu.run(budget);
    if (r !== ExitReason.Budget) return r;
  }
  return ExitReason.Budget;
}

// x6 += step, 40 times; x7 ^= x6; ends with an ebreak.
const loop = (step: number) => [
  A.addi(5, 0, 40),
  A.addi(6, 6, step), A.xor(7, 7, 6), A.addi(5, 5, -1), A.bne(5, 0, -12),
  A.ebreak(),
];

function expectSameAsInterpreter(jit: Cpu, words: number[], at = CODE, perms: number = Perm.R | Perm.X): void {
  const ref = codeCpu(0, words, at, perms);
  for (let r = 1; r < 32; r++) ref.setX(r, jit.x(r));
  ref.pc = jit.pc;
  expect(EXIT_REASON_NAMES[runToExit(ref)]).toBe(EXIT_REASON_NAMES[runToExit(jit)]);
  expect(stateDiff(ref, jit, 0n, 0n).filter((l) => !l.startsWith('instret') && !l.startsWith('budget'))).toEqual([]);
  expect(describeExit(jit)).toBe(describeExit(ref));
}

describe('what a request for a translation carries', () => {
  it('the jump targets in its pages the interpreter went to, and not those it did not', () => {
    // A loop whose head is jumped to 40 times; its beq is never taken.
    const words = [
      A.addi(5, 0, 40),
      A.addi(6, 6, 1), A.beq(6, 0, 0x20), A.addi(5, 5, -1), A.bne(5, 0, -12),
      A.ebreak(),
    ];
    const requests: TranslationRequest[] = [];
    const cpu = codeCpu(8, words);
    cpu.translationService = {
      batchSize: 1, outstanding: 0, pump: () => {},
      submit: (request, done) => { requests.push(request); done(new Error('not translating')); },
    };
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    const head = Number(CODE) + 4;
    const entry = requests.flatMap((r) => r.entries).find((e) => e.pc === head);
    expect(entry?.visited).toContain(head);
    expect(entry?.visited).not.toContain(head + 4 + 0x20);
  });
});

describe('a service that is not ready (TranslationService.ready)', () => {
  // Three loops, each a hot entry of its own (a csrr, left to the
  // interpreter, ends the region of the loop before it): three requests.
  const words = [
    A.addi(5, 0, 40), A.addi(6, 6, 1), A.addi(5, 5, -1), A.bne(5, 0, -8), A.csrr(9, A.CSR.cycle),
    A.addi(5, 0, 40), A.addi(7, 7, 1), A.addi(5, 5, -1), A.bne(5, 0, -8), A.csrr(9, A.CSR.cycle),
    A.addi(5, 0, 40), A.addi(8, 8, 1), A.addi(5, 5, -1), A.bne(5, 0, -8),
    A.ebreak(),
  ];

  it('leaves the requests to the Jit, which translates them in its own thread, until it is', () => {
    const asked: number[] = [];
    const submitted: TranslationRequest[] = [];
    const readyAfter = 2;
    const cpu = codeCpu(8, words);
    cpu.translationService = {
      batchSize: 1, outstanding: 0, pump: () => {},
      ready: (msHere) => { asked.push(msHere); return asked.length > readyAfter; },
      // (Never answered: the entry stays with the interpreter.)
      submit: (request) => { submitted.push(request); },
    };
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect([cpu.x(6), cpu.x(7), cpu.x(8)]).toEqual([40n, 40n, 40n]);
    // Asked before each request, with the time spent in the thread growing.
    expect(asked.length).toBe(3);
    expect(asked[0]).toBe(0);
    expect(asked[1]).toBeGreaterThan(0);
    expect(asked[2]).toBeGreaterThanOrEqual(asked[1]);
    // The first two made here, the third sent.
    const s = cpu.jitStats!;
    expect(s.modulesHere).toBe(2);
    expect(s.modules).toBe(2);
    expect(s.translated).toBe(2);
    expect(submitted.map((r) => r.entries.map((e) => e.pc))).toEqual([[Number(CODE) + 44]]);
  });

  it('and one never ready leaves them all to the Jit, with the interpreter\'s results', () => {
    const cpu = codeCpu(8, words);
    let sent = 0;
    cpu.translationService = { batchSize: 1, outstanding: 0, pump: () => {}, ready: () => false, submit: () => { sent++; } };
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect([cpu.x(6), cpu.x(7), cpu.x(8)]).toEqual([40n, 40n, 40n]);
    expect(sent).toBe(0);
    expect(cpu.jitStats!.translated).toBe(3);
    expect(cpu.jitStats!.modulesHere).toBe(3);
  });
});

describe('calls into translations, counted (Cpu.jitCountEntries)', () => {
  // A loop of 40 turns whose csrr (left to the interpreter) stops every
  // region: the run's start calls the region at CODE once (it stops at the
  // first csrr), and each turn the region after the csrr once (the
  // interpreter looks up the instruction after one it ran for a
  // translation that stopped short): 41 calls.
  const words = [
    A.addi(5, 0, 40),
    A.addi(6, 6, 1), A.csrr(7, A.CSR.cycle), A.addi(5, 5, -1), A.bne(5, 0, -12),
    A.ebreak(),
  ];

  it('counts each call when asked, from 0', () => {
    const cpu = codeCpu(1, words);
    cpu.jitCountEntries = true;
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(40n);
    expect(cpu.jitEntries).toBe(41n);
  });

  // Above 1, the interpreter counts the visits to a jump's target without
  // leaving its straight path (assembly/cpu.ts, runStraight) while the
  // target is not translated; a jump there once it is must go into the
  // translation. F (x6 += 1) is called 20 times from a loop whose head, a
  // csrr, the interpreter runs, and becomes hot; after the loop (which
  // ends at another csrr), straight code calls F once more, or does not:
  // the difference is that one call.
  const calls = (lastCall: boolean) => [
    A.addi(5, 0, 20),
    A.csrr(7, A.CSR.cycle),                   // L
    A.jal(1, 28),                             // -> F
    A.addi(5, 5, -1), A.bne(5, 0, -12),       // -> L
    A.csrr(7, A.CSR.cycle),
    A.addi(9, 0, 1),
    lastCall ? A.jal(1, 8) : A.addi(0, 0, 0), // -> F
    A.ebreak(),
    A.addi(6, 6, 1), A.jalr(0, 1, 0),         // F
  ];

  it('a jump from straight code to a translated target goes into it', () => {
    const entries = (lastCall: boolean): bigint => {
      const cpu = codeCpu(4, calls(lastCall));
      cpu.jitCountEntries = true;
      expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
      expect(cpu.x(6)).toBe(lastCall ? 21n : 20n);
      return cpu.jitEntries;
    };
    const without = entries(false);
    expect(without).toBeGreaterThan(0n);
    expect(entries(true)).toBe(without + 1n);
  });

  it('counts nothing by default: the translations have no counter', () => {
    const cpu = codeCpu(1, words);
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.jitStats!.translated).toBeGreaterThan(0);
    expect(cpu.jitEntries).toBe(0n);
  });
});

describe('translations are dropped when their code changes', () => {
  it('a write by ring -1 into the code page takes effect at once', () => {
    const cpu = codeCpu(1, loop(3));
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(120n);
    expect(cpu.jitStats!.translated).toBeGreaterThan(0);
    const dropped = cpu.jitStats!.dropped;
    cpu.writeBytes(CODE, A.assemble(loop(5)));
    expect(cpu.jitStats!.dropped).toBeGreaterThan(dropped);
    cpu.setX(6, 0n); cpu.setX(7, 0n); cpu.pc = CODE;
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(200n);
    cpu.setX(6, 0n); cpu.setX(7, 0n); cpu.pc = CODE;
    expectSameAsInterpreter(cpu, loop(5));
  });

  it('write32, write64 and fill on code drop its translations too', () => {
    const cpu = codeCpu(1, loop(3));
    runToExit(cpu);
    // addi x6, x6, 3 -> addi x6, x6, 9 (the second instruction)
    let d = cpu.jitStats!.dropped;
    cpu.write32(CODE + 4n, A.addi(6, 6, 9));
    expect(cpu.jitStats!.dropped).toBeGreaterThan(d);
    cpu.setX(6, 0n); cpu.pc = CODE;
    runToExit(cpu);
    expect(cpu.x(6)).toBe(360n);
    d = cpu.jitStats!.dropped;
    const two = A.assemble([A.addi(6, 6, 1), A.addi(0, 0, 0)]);
    cpu.write64(CODE + 4n, new DataView(two.buffer).getBigUint64(0, true));
    expect(cpu.jitStats!.dropped).toBeGreaterThan(d);
    cpu.setX(6, 0n); cpu.pc = CODE;
    runToExit(cpu);
    expect(cpu.x(6)).toBe(40n); // the xor became a nop
    d = cpu.jitStats!.dropped;
    cpu.fill(CODE + 4n, 8, 0); // zero parcels: illegal instructions
    expect(cpu.jitStats!.dropped).toBeGreaterThan(d);
    cpu.setX(6, 0n); cpu.pc = CODE;
    const words = [A.addi(5, 0, 40), 0, 0, 0, 0, A.addi(5, 5, -1), A.bne(5, 0, -12), A.ebreak()];
    expectSameAsInterpreter(cpu, words);
    expect(cpu.exit.cause).toBe(2);
    expect(cpu.exit.pc).toBe(CODE + 4n);
  });

  it('new permissions drop translations: code rewritten by the guest while writable runs once executable again', () => {
    // Page 1: the loop. Page 2: a patcher that stores a new `addi x6, x6, 7`
    // over the loop's second instruction, then returns via ebreak.
    const patch = A.addi(6, 6, 7);
    const patcher = [A.lui(10, ((patch + 0x800) >>> 12) & 0xfffff), A.addiw(10, 10, ((patch & 0xfff) << 20) >> 20), A.sw(10, 11, 4), A.fence_i(), A.ebreak()];
    const cpu = codeCpu(1, loop(3));
    cpu.writeBytes(page(2), A.assemble(patcher));
    cpu.setPagePermissions(page(2), PAGE_SIZE, Perm.R | Perm.X);
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(120n);
    const translated = cpu.jitStats!.translated, dropped = cpu.jitStats!.dropped;
    expect(translated).toBeGreaterThan(0);

    // While R|X the guest cannot write its code: a store page fault.
    cpu.setX(11, CODE); cpu.pc = page(2);
    expect(runToExit(cpu)).toBe(ExitReason.Fault);
    expect(cpu.exit.cause).toBe(15);
    expect(cpu.exit.pc).toBe(page(2) + 8n);
    // mprotect(RW), the guest patches, mprotect(RX).
    cpu.setPagePermissions(CODE, PAGE_SIZE, Perm.R | Perm.W);
    expect(cpu.jitStats!.dropped).toBeGreaterThan(dropped);
    cpu.pc = page(2);
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    cpu.setPagePermissions(CODE, PAGE_SIZE, Perm.R | Perm.X);
    cpu.setX(6, 0n); cpu.pc = CODE;
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(280n);
  });

  it('taking execute permission away makes the next entry a fetch fault, not a stale translation', () => {
    const cpu = codeCpu(1, loop(3));
    runToExit(cpu);
    expect(cpu.jitStats!.translated).toBeGreaterThan(0);
    cpu.setPagePermissions(CODE, PAGE_SIZE, Perm.R);
    cpu.setX(6, 0n); cpu.pc = CODE;
    expect(runToExit(cpu)).toBe(ExitReason.Fault);
    expect(cpu.exit.cause).toBe(12);
    expect(cpu.exit.pc).toBe(CODE);
    expect(cpu.x(6)).toBe(0n);
    expect(cpu.instret).toBe(1n + 40n * 4n);
  });

  it('a region that runs on into a second page is dropped when that page changes', () => {
    // The loop straddles the boundary between pages 1 and 2.
    const at = page(2) - 8n;
    const cpu = codeCpu(1, loop(3), at);
    cpu.setPagePermissions(page(1), 2 * PAGE_SIZE, Perm.R | Perm.X);
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(120n);
    expect(cpu.jitStats!.translated).toBeGreaterThan(0);
    // Ring -1 rewrites only the part in page 2 (the decrement becomes -2: 20 iterations).
    const d = cpu.jitStats!.dropped;
    cpu.writeBytes(page(2) + 4n, A.assemble([A.addi(5, 5, -2)]));
    expect(cpu.jitStats!.dropped).toBeGreaterThan(d);
    cpu.setX(6, 0n); cpu.pc = at;
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(60n);
    // Page 2 loses execute permission: the fetch there faults.
    cpu.setPagePermissions(page(2), PAGE_SIZE, Perm.R);
    cpu.setX(6, 0n); cpu.pc = at;
    expect(runToExit(cpu)).toBe(ExitReason.Fault);
    expect(cpu.exit.cause).toBe(12);
    expect(cpu.exit.pc).toBe(page(2));
    expect(cpu.x(6)).toBe(3n);
  });

  it('a jump into another code page is followed, and that page changing drops the region', () => {
    // Page 1: x5 = 30; loop: jal ra, f (page 2); x5--; bnez x5, loop; ebreak.
    // Page 2: f: x6 += 3; ret.
    const main = [A.addi(5, 0, 30), A.jal(1, PAGE_SIZE - 4), A.addi(5, 5, -1), A.bne(5, 0, -8), A.ebreak()];
    const f = (step: number) => [A.addi(6, 6, step), A.jalr(0, 1, 0)];
    const cpu = codeCpu(1, main);
    cpu.writeBytes(page(2), A.assemble(f(3)));
    cpu.setPagePermissions(page(2), PAGE_SIZE, Perm.R | Perm.X);
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(90n);
    expect(cpu.jitStats!.translated).toBeGreaterThan(0);
    const d = cpu.jitStats!.dropped;
    cpu.writeBytes(page(2), A.assemble(f(5)));
    expect(cpu.jitStats!.dropped).toBeGreaterThan(d);
    cpu.setX(6, 0n); cpu.pc = CODE;
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(150n);
  });

  it('a writable and executable page is translated, and a store into its code drops the translation before it runs', () => {
    const cpu = codeCpu(1, loop(3), CODE, Perm.R | Perm.W | Perm.X);
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(120n);
    expect(cpu.jitStats!.translated).toBeGreaterThan(0);
    // Ring -1 still reports the page writable while its W is withheld.
    expect(cpu.pagePermissions(CODE)).toBe(Perm.R | Perm.W | Perm.X);
    // Self-modifying: the loop rewrites its own step from 3 to 7 after the first iteration.
    const patch = A.addi(6, 6, 7);
    const words = [
      A.lui(10, ((patch + 0x800) >>> 12) & 0xfffff), A.addiw(10, 10, ((patch & 0xfff) << 20) >> 20), A.auipc(11, 0),
      A.addi(5, 0, 10),
      A.addi(6, 6, 3), A.sw(10, 11, 8), A.fence_i(), A.addi(5, 5, -1), A.bne(5, 0, -16),
      A.ebreak(),
    ];
    const smc = codeCpu(1, words, CODE, Perm.R | Perm.W | Perm.X);
    expect(runToExit(smc)).toBe(ExitReason.Ebreak);
    expect(smc.x(6)).toBe(3n + 9n * 7n);
    expect(smc.jitStats!.dropped).toBeGreaterThan(0);
    const ref = codeCpu(0, words, CODE, Perm.R | Perm.W | Perm.X);
    runToExit(ref);
    expect(stateDiff(ref, smc, 0n, 0n)).toEqual([]);
    // Stored into every iteration: after MAX_CODE_WRITES (8) drops the page's code is left to the interpreter.
    expect(smc.jitStats!.dropped).toBeLessThanOrEqual(9);
    const guestExits = (c: Cpu) => [...c.exitCounts()].filter(([r]) => r !== ExitReason.Hot);
    expect(guestExits(smc)).toEqual(guestExits(ref));
  });

  it('flat memory mode never translates', () => {
    const cpu = newCpu();
    cpu.writeBytes(CODE, A.assemble(loop(3)));
    cpu.jitThreshold = 1;
    cpu.pc = CODE;
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(120n);
    expect(cpu.jitStats!.translated).toBe(0);
  });
});

describe('the translations\' TLB forgets what ring -1 takes away (assembly/layout.ts, USER_TLB)', () => {
  // x5 = 40; loop: x6 = [x10]; [x10 + 8] = x6; x5 -= 1; ebreak after it.
  const copy = [A.addi(5, 0, 40), A.ld(6, 10, 0), A.sd(6, 10, 8), A.addi(5, 5, -1), A.bne(5, 0, -12), A.ebreak()];
  /** A CPU that has run `copy` translated over `at` (its entries filled). */
  function warm(at = DATA): Cpu {
    const cpu = codeCpu(1, copy);
    cpu.setPagePermissions(at, PAGE_SIZE, Perm.R | Perm.W);
    cpu.write64(at, 7n);
    cpu.setX(10, at);
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.jitStats!.translated).toBeGreaterThan(0);
    expect(cpu.read64(at + 8n)).toBe(7n);
    cpu.write64(at, 9n);
    cpu.pc = CODE;
    return cpu;
  }
  /** The same change on an interpreter that has run nothing: its exit. */
  function interpreted(change: (cpu: Cpu) => void): string {
    const ref = codeCpu(0, copy);
    ref.setPagePermissions(DATA, PAGE_SIZE, Perm.R | Perm.W);
    ref.write64(DATA, 9n);
    ref.setX(10, DATA);
    change(ref);
    runToExit(ref);
    return describeExit(ref);
  }

  it('a page that loses read permission faults on the next translated load, as interpreted', () => {
    const cpu = warm();
    const change = (c: Cpu) => c.setPagePermissions(DATA, PAGE_SIZE, 0);
    change(cpu);
    expect(runToExit(cpu)).toBe(ExitReason.Fault);
    expect(cpu.exit.cause).toBe(13);
    expect(describeExit(cpu)).toBe(interpreted(change));
  });

  it('a page made read-only faults on the next translated store, as interpreted', () => {
    const cpu = warm();
    const change = (c: Cpu) => c.setPagePermissions(DATA, PAGE_SIZE, Perm.R);
    change(cpu);
    expect(runToExit(cpu)).toBe(ExitReason.Fault);
    expect(cpu.exit.cause).toBe(15);
    expect(cpu.exit.addr).toBe(DATA + 8n);
    expect(describeExit(cpu)).toBe(interpreted(change));
  });

  it('a slot given other RAM is read there at once', () => {
    // Data in a slot of its own (the code's stays where it is): the slot
    // of ELSEWHERE's RAM backs it from now.
    const size = BigInt(PAGE_SIZE) * 16n, AWAY = RAM_BASE + 2n * size, ELSEWHERE = RAM_BASE + 4n * size;
    const cpu = warm(AWAY);
    cpu.setPagePermissions(ELSEWHERE, PAGE_SIZE, Perm.R | Perm.W);
    cpu.write64(ELSEWHERE, 11n);
    cpu.setSlot(Number(AWAY / size), Number(5n * size));
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect(cpu.x(6)).toBe(11n);
    expect(cpu.read64(ELSEWHERE + 8n)).toBe(11n);
  });

  it('the dirty-page log sees every page a translated store writes, at each interval', () => {
    const cpu = warm();
    // DATA's RAM page (userMode: the first slot's RAM is no slot's).
    const page = (cpu.slotBytes + Number(DATA - RAM_BASE)) / PAGE_SIZE;
    cpu.startDirtyLog();
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect([...cpu.takeDirtyPages()]).toEqual([page]);
    cpu.pc = CODE;
    expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
    expect([...cpu.takeDirtyPages()]).toEqual([page]);
  });
});

describe('the translation cache is bounded (Cpu.translationCacheLimit)', () => {
  /** A CPU with loop(i + 1) in each of `n` pages of its own (from page 40),
   *  and a cache of `limit`. */
  function loopsCpu(n: number, limit: { modules: number; bytes: number }) {
    const pages = Array.from({ length: n }, (_, i) => page(40 + i));
    const cpu = codeCpu(1, loop(1), pages[0]);
    pages.forEach((at, i) => {
      cpu.writeBytes(at, A.assemble(loop(i + 1)));
      cpu.setPagePermissions(at, PAGE_SIZE, Perm.R | Perm.X);
    });
    cpu.translationCacheLimit = limit;
    return { cpu, pages };
  }

  /** Runs every loop `rounds` times over: each adds what it should, and no
   *  more than `live` translations are ever in the map. */
  function runLoops(cpu: Cpu, pages: bigint[], rounds: number, live: number): void {
    for (let round = 0; round < rounds; round++) {
      pages.forEach((at, i) => {
        cpu.setX(6, 0n); cpu.setX(7, 0n); cpu.pc = at;
        expect(runToExit(cpu)).toBe(ExitReason.Ebreak);
        expect(cpu.x(6), `loop ${i}, round ${round}`).toBe(40n * BigInt(i + 1));
        expect(cpu.translatedEntries().length).toBeLessThanOrEqual(live);
      });
    }
  }

  it('drops every translation when a module would take it past its modules, and runs on the same', () => {
    // Twelve loops, all live at once, each run again after all have run:
    // a cache of four modules fills twice a round.
    const { cpu, pages } = loopsCpu(12, { modules: 4, bytes: 2 ** 20 });
    runLoops(cpu, pages, 2, 4);
    const s = cpu.jitStats!;
    expect(s.flushes).toBeGreaterThanOrEqual(4);
    expect(s.translated).toBeGreaterThan(12);
    // Where it stopped, it runs as the interpreter does.
    cpu.setX(6, 0n); cpu.setX(7, 0n); cpu.pc = pages[5];
    expectSameAsInterpreter(cpu, loop(6), pages[5]);
  });

  it('and past its bytes, keeping a module alone in the cache however large', () => {
    // A limit of one byte: every module is larger, so each goes in only
    // when the cache is empty, and the next one empties it.
    const { cpu, pages } = loopsCpu(6, { modules: 1000, bytes: 1 });
    runLoops(cpu, pages, 3, 1);
    const s = cpu.jitStats!;
    expect(s.flushes).toBeGreaterThanOrEqual(6);
    expect(s.translated).toBeGreaterThanOrEqual(6);
  });

  it('refuses a limit below the least, or not a whole number, and reset() restores the default', () => {
    const cpu = codeCpu(1, loop(1));
    for (const bad of [{ modules: 0, bytes: 2 ** 20 }, { modules: 1, bytes: 0 }, { modules: 1.5, bytes: 2 ** 20 }, { modules: 8, bytes: Number.NaN }, { modules: -1, bytes: 1 }]) {
      expect(() => { cpu.translationCacheLimit = bad; }, JSON.stringify(bad)).toThrow(RangeError);
    }
    cpu.translationCacheLimit = { modules: 1, bytes: 2 ** 20 };
    expect(cpu.translationCacheLimit).toEqual({ modules: 1, bytes: 2 ** 20 });
    cpu.reset();
    expect(cpu.translationCacheLimit).toEqual(DEFAULT_CACHE_LIMIT);
  });
});

// ---- 4. budgets are exact -----------------------------------------------------------------------

describe('budgets stop translated code exactly where the interpreter stops', () => {
  // A loop of 7 instructions with a load, a store and a call to a function
  // on the next page (return point inside the region), 200 iterations.
  const main = [
    A.addi(5, 0, 200), // 0
    A.ld(7, 9, 0), // 4: loop
    A.add(7, 7, 5), // 8
    A.sd(7, 9, 0), // c
    A.jal(1, PAGE_SIZE - 0x10), // 10: call f at page(2)
    A.addi(5, 5, -1), // 14
    A.bne(5, 0, -20), // 18
    A.ebreak(), // 1c
  ];
  const f = [A.xori(6, 6, 0x55), A.slli(6, 6, 1), A.c_jr(1)];

  function make(threshold: number): Cpu {
    const cpu = codeCpu(threshold, main);
    cpu.writeBytes(page(2), A.assemble(f));
    cpu.setPagePermissions(page(2), PAGE_SIZE, Perm.R | Perm.X);
    return cpu;
  }
  function reset(cpu: Cpu): void {
    cpu.pc = CODE;
    for (const r of [1, 5, 6, 7]) cpu.setX(r, 0n);
    cpu.setX(9, DATA);
    cpu.write64(DATA, 0n);
  }

  it('run(k) from the start retires exactly k instructions, for many k', () => {
    const interp = make(0), jit = make(1);
    // Warm up: everything hot is translated.
    reset(jit);
    expect(runToExit(jit)).toBe(ExitReason.Ebreak);
    const total = jit.instret;
    expect(total).toBe(1n + 200n * 9n);
    expect(jit.jitStats!.translated).toBeGreaterThan(0);
    const ks = [...Array.from({ length: 80 }, (_, i) => BigInt(i + 1)), 97n, 127n, 128n, 255n, 256n, 257n, 500n, 999n, 1000n, 1799n, 1800n, 1801n, 1802n];
    for (const k of ks) {
      reset(interp); reset(jit);
      const i0 = interp.instret, j0 = jit.instret;
      const ra = interp.run(k), rb = jit.run(k);
      expect(EXIT_REASON_NAMES[rb], `k=${k}`).toBe(EXIT_REASON_NAMES[ra]);
      expect(jit.instret - j0, `k=${k}`).toBe(interp.instret - i0);
      if (ra === ExitReason.Budget) expect(jit.instret - j0, `k=${k}`).toBe(k);
      expect(stateDiff(interp, jit, i0, j0), `k=${k}`).toEqual([]);
      expect(jit.read64(DATA), `k=${k}`).toBe(interp.read64(DATA));
    }
  });

  it('running in slices of k reaches the end with the same state at every slice', () => {
    const interp = make(0), jit = make(3);
    for (const k of [1n, 2n, 3n, 5n, 8n, 9n, 10n, 17n, 64n]) {
      reset(interp); reset(jit);
      const i0 = interp.instret, j0 = jit.instret;
      for (let n = 0; n < 5000; n++) {
        const ra = interp.run(k), rb = jit.run(k);
        expect(rb, `k=${k} slice ${n}`).toBe(ra);
        expect(stateDiff(interp, jit, i0, j0), `k=${k} slice ${n}`).toEqual([]);
        if (ra === ExitReason.Budget) expect(jit.instret - j0).toBe(k * BigInt(n + 1));
        else break;
      }
      expect(interp.exit.reason).toBe(ExitReason.Ebreak);
    }
    expect(jit.jitStats!.translated).toBeGreaterThan(0);
  });

  it('budgets of 2^63 and more: the same instret and budget left as the interpreter', () => {
    // The translation returns the budget left with its bit 63 as the "stopped
    // early" flag: a budget that large must still come back whole.
    const problems: string[] = [];
    for (const budget of [0n, (1n << 63n) - 1n, 1n << 63n, (1n << 63n) + 1000n, (1n << 64n) - 1n]) {
      const interp = codeCpu(0, loop(3)), jit = codeCpu(1, loop(3));
      const ra = interp.run(budget), rb = jit.run(budget);
      const d = [...exitDiff(ra, rb, interp, jit), ...stateDiff(interp, jit, 0n, 0n)];
      if (d.length) problems.push(`budget ${hex(budget)}: ${d.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  it('the exit block of a budget exit names the same instruction as the interpreter\'s', () => {
    // The interpreter reports the last instruction it executed; the
    // translated run must report the same one.
    const interp = make(0), jit = make(1);
    reset(jit);
    runToExit(jit);
    const problems: string[] = [];
    for (const k of [7n, 20n, 100n]) {
      reset(interp); reset(jit);
      interp.run(k); jit.run(k);
      const d = exitDiff(interp.exit.reason, jit.exit.reason, interp, jit);
      if (d.length) problems.push(`k=${k}: ${d.join(', ')} (interpreter: ${describeExit(interp)}; translated: ${describeExit(jit)})`);
    }
    expect(problems).toEqual([]);
  });
});

// ---- 5. whole programs through the process VM ---------------------------------------------------

const GUEST = (name: string) => new Uint8Array(readFileSync(new URL(`../guests/bin/${name}`, import.meta.url)));

interface GuestOptions { maxInstructions?: bigint; env?: string[]; memoryBytes?: number; translationCacheLimit?: TranslationCacheLimit }

async function runGuest(elf: Uint8Array, argv: string[], jitThreshold: number, o: GuestOptions = {}) {
  const out: Buffer[] = [], err: Buffer[] = [];
  const vm = ProcessVM.create(elf, {
    argv, programName: argv[0], memoryBytes: o.memoryBytes ?? 64 * 1024 * 1024, jitThreshold, jitWarmup: 0n, clock: 'virtual',
    maxInstructions: o.maxInstructions, env: o.env, translationCacheLimit: o.translationCacheLimit,
    random: (b) => b.fill(7),
    stdout: (d) => out.push(Buffer.from(d)), stderr: (d) => err.push(Buffer.from(d)), diagnostics: (l) => err.push(Buffer.from(l + '\n')),
  });
  // A CPU handed on by a disposed VM keeps its translator's counts: count from here.
  const before = vm.cpu.jitStats?.translated ?? 0;
  const status = await vm.run();
  return {
    status, stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1'),
    translated: (vm.cpu.jitStats?.translated ?? 0) - before, instret: vm.cpu.instret, flushes: vm.cpu.jitStats?.flushes ?? 0,
  };
}

describe('whole programs under a small translation cache (ProcessVM translationCacheLimit)', () => {
  it('run as interpreted, their translations dropped whenever the cache fills', async () => {
    for (const [name, argv] of [['workload.elf', ['workload', '20']], ['jit-selfmod.elf', ['jit-selfmod']]] as const) {
      const elf = GUEST(name);
      const reference = await runGuest(elf, [...argv], 0);
      const small = await runGuest(elf, [...argv], 1, { translationCacheLimit: { modules: 8, bytes: 64 * 1024 } });
      expect(small.stdout, name).toBe(reference.stdout);
      expect(small.status, name).toBe(reference.status);
      expect(small.instret, name).toBe(reference.instret);
      expect(small.flushes, name).toBeGreaterThan(0);
    }
  });

  it('refuses a limit that is not a whole number of at least 1 when the VM is made', () => {
    for (const bad of [{ modules: 0, bytes: 1 }, { modules: 1, bytes: 0.5 }]) {
      expect(() => ProcessVM.create(GUEST('workload.elf'), { translationCacheLimit: bad }), JSON.stringify(bad))
        .toThrow(/translation cache limit: (modules|bytes) must be a whole number of at least 1/);
    }
  });
});

describe('guest programs run the same translated', () => {
  it.skipIf(typeof (ProcessVM.prototype as { dispose?: unknown }).dispose !== 'function')(
    'a CPU handed on by dispose() runs the next program as a fresh one would', async () => {
      const elf = GUEST('workload.elf'), argv = ['workload', '5'];
      const reference = await runGuest(elf, argv, 0);
      const made: ProcessVM[] = [];
      const run = async (jitThreshold: number) => {
        const out: Buffer[] = [];
        const vm = ProcessVM.create(elf, {
          argv, memoryBytes: 64 * 1024 * 1024, jitThreshold, jitWarmup: 0n, clock: 'virtual', random: (b) => b.fill(7),
          stdout: (d) => out.push(Buffer.from(d)), diagnostics: () => {},
        });
        made.push(vm);
        const status = await vm.run();
        const result = { status, stdout: Buffer.concat(out).toString('latin1'), instret: vm.cpu.instret, translated: vm.cpu.jitStats?.translated ?? 0 };
        (vm as unknown as { dispose(): void }).dispose();
        return result;
      };
      const first = await run(1);
      const second = await run(1);
      const third = await run(0);
      const fourth = await run(64);
      for (const r of [first, second, third, fourth]) {
        expect(r.stdout).toBe(reference.stdout);
        expect(r.status).toBe(reference.status);
        expect(r.instret).toBe(reference.instret);
      }
      expect(made[1].cpu).toBe(made[0].cpu); // the CPU was reused
      expect(first.translated).toBeGreaterThan(0);
      expect(second.translated).toBeGreaterThan(0);
    });

  it.skipIf(typeof (ProcessVM.prototype as { dispose?: unknown }).dispose !== 'function')(
    'the translation counts of a VM on a CPU handed on by dispose() are its own (none with the JIT off)', async () => {
      // The virtual clock: on the host clock the run loop sizes each run of
      // the CPU by elapsed time, so where budget exits fall (and with them
      // which regions get translated) depends on the host's speed.
      const elf = GUEST('workload.elf'), argv = ['workload', '2'];
      const vm1 = ProcessVM.create(elf, { argv, clock: 'virtual', memoryBytes: 64 * 1024 * 1024, jitThreshold: 1, jitWarmup: 0n, stdout: () => {}, diagnostics: () => {} });
      await vm1.run();
      const own = vm1.cpu.jitStats!.translated;
      expect(own).toBeGreaterThan(0);
      (vm1 as unknown as { dispose(): void }).dispose();
      const vm2 = ProcessVM.create(elf, { argv, memoryBytes: 64 * 1024 * 1024, jitThreshold: 0, stdout: () => {}, diagnostics: () => {} });
      await vm2.run();
      // Cpu.jitStats: "what the translation tier has done, or undefined while it is off".
      expect(vm2.cpu.jitStats).toBeUndefined();
      (vm2 as unknown as { dispose(): void }).dispose();
      const vm3 = ProcessVM.create(elf, { argv, clock: 'virtual', memoryBytes: 64 * 1024 * 1024, jitThreshold: 1, jitWarmup: 0n, stdout: () => {}, diagnostics: () => {} });
      await vm3.run();
      expect(vm3.cpu.jitStats!.translated).toBe(own);
    });

  const cases: Array<[string, string[], GuestOptions?]> = [
    ['workload.elf', ['workload', '20']],
    ['bench-sha256.elf', ['bench-sha256', '16']],
    ['rvc.elf', ['rvc']],
    ['zb.elf', ['zb']],
    ['rv64d.elf', ['rv64d']],
    ['libc-math.elf', ['libc-math']],
    // Thread slices end on exact instruction counts: the interleaving and so the output depend on them.
    ['threads.elf', ['threads', 'sum']],
    ['threads.elf', ['threads', 'queue']],
    // A fault handler that mprotects and returns; faults at text.
    ['signals-fault.elf', ['signals-fault', 'mprotect']],
    ['faults.elf', ['faults', 'write-text']],
    // A JIT in the guest: code in a writable page, rewritten in place by stores (and fence.i).
    ['jit-selfmod.elf', ['jit-selfmod']],
    // The instruction limit's message names the pc where it stopped.
    ['faults.elf', ['faults', 'loop'], { maxInstructions: 1_000_003n }],
    // Go: goroutines on threads, SIGURG preemption, timers, stack growth.
    ['go-goroutines.elf', ['go-goroutines', 'args', 'preempt', 'timers', 'stack'], { env: ['GOMAXPROCS=2', 'GREETING=x'], memoryBytes: 1024 * 1024 * 1024 }],
  ];
  for (const [name, argv, options] of cases) {
    it(`${name} ${argv.slice(1).join(' ')}: same output and status with --jit off, 1 and 64`, async () => {
      const elf = GUEST(name);
      const off = await runGuest(elf, argv, 0, options);
      const one = await runGuest(elf, argv, 1, options);
      const many = await runGuest(elf, argv, 64, options);
      expect(off.translated).toBe(0);
      for (const r of [one, many]) {
        expect(r.stdout).toBe(off.stdout);
        expect(r.stderr).toBe(off.stderr);
        expect(r.status).toBe(off.status);
        expect(r.instret).toBe(off.instret);
      }
      expect(off.stdout.length + off.stderr.length).toBeGreaterThan(0);
      expect(one.translated).toBeGreaterThan(0);
      if (options?.maxInstructions !== undefined) {
        expect(off.status).toBe(124);
        expect(off.stderr).toMatch(/instruction limit reached \(1000003 instructions\) at pc 0x[0-9a-f]+/);
      }
    });
  }
});

// ---- 5. translation in a worker thread ----------------------------------------------------------

describe('translation in a worker thread (WorkerTranslationService)', () => {
  // The worker runs the built code (npm test builds dist/ first).
  const script = new URL('../dist/node/translation-thread.js', import.meta.url);

  async function run(elf: Uint8Array, argv: string[], service: TranslationService | undefined, jitThreshold = 16) {
    const out: Buffer[] = [];
    const vm = ProcessVM.create(elf, {
      argv, memoryBytes: 64 * 1024 * 1024, jitThreshold, jitWarmup: 0n, clock: 'virtual', random: (b) => b.fill(7), translationService: service,
      stdout: (d) => out.push(Buffer.from(d)), stderr: (d) => out.push(Buffer.from(d)), diagnostics: () => {},
    });
    const status = await vm.run();
    return { status, stdout: Buffer.concat(out).toString('latin1'), instret: vm.cpu.instret, stats: vm.cpu.jitStats! };
  }

  it('gives the interpreter\'s results while it compiles beside the guest, and its modules are installed', async () => {
    // (Started at the first request: the worker, not the guest's thread, makes most.)
    const service = new WorkerTranslationService(loadCpuModule(), script, 0);
    let fromWorker = 0;
    try {
      // (sha256 runs long enough for the worker to start and answer.)
      for (const [name, argv] of [['bench-sha256.elf', ['sha256', '400']], ['signals-fault.elf', ['signals-fault', 'mprotect']], ['libc-math.elf', ['libc-math']], ['go-goroutines.elf', ['go', 'args']]] as const) {
        const elf = GUEST(name);
        const reference = await run(elf, [...argv], undefined, 0);
        const r = await run(elf, [...argv], service);
        expect(r.stdout, name).toBe(reference.stdout);
        expect(r.status, name).toBe(reference.status);
        expect(r.instret, name).toBe(reference.instret);
        if (name === 'bench-sha256.elf') {
          expect(r.stats.translated).toBeGreaterThan(0);
          expect(r.stats.modules).toBeGreaterThan(0);
          expect(r.stats.compileMs).toBeGreaterThan(0);
        }
        fromWorker += r.stats.modules - r.stats.modulesHere;
      }
      expect(fromWorker).toBeGreaterThan(0);
    } finally {
      await service.close();
    }
  });

  it('is started once the guest\'s thread has translated for startAfterMs, and ready once it has loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-worker-'));
    const broken = pathToFileURL(join(dir, 'broken.mjs'));
    writeFileSync(broken, 'throw new Error("started");\n');
    const unstarted = new WorkerTranslationService(loadCpuModule(), broken, 50);
    const service = new WorkerTranslationService(loadCpuModule(), script, 50);
    try {
      // Below startAfterMs: not ready, and no worker (the broken one would fail).
      expect(unstarted.ready(49)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unstarted.failed).toBeUndefined();
      expect(unstarted.ready(10)).toBe(false);
      // At it: started, and not ready until the worker says so.
      expect(service.ready(49)).toBe(false);
      expect(service.ready(50)).toBe(false);
      let polls = 1;
      while (!service.ready(50) && polls < 200) { polls++; await new Promise((resolve) => setTimeout(resolve, 20)); }
      expect(service.ready(50)).toBe(true);
      expect(polls).toBeGreaterThan(1);
      expect(service.failed).toBeUndefined();
    } finally {
      await unstarted.close();
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker that fails leaves the guest to the interpreter: the same results, its entries refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-worker-'));
    const broken = pathToFileURL(join(dir, 'broken.mjs'));
    writeFileSync(broken, 'throw new Error("no translator here");\n');
    const service = new WorkerTranslationService(loadCpuModule(), broken, 0);
    try {
      const elf = GUEST('bench-sha256.elf');
      const reference = await run(elf, ['sha256', '40'], undefined, 0);
      // The first run starts the worker, which fails on its own time ...
      const first = await run(elf, ['sha256', '40'], service);
      expect(first.stdout).toBe(reference.stdout);
      for (let i = 0; i < 100 && !service.failed; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(service.failed?.message).toMatch(/no translator here/);
      // ... and a run after that has every request refused at once.
      const r = await run(elf, ['sha256', '40'], service);
      expect(r.stdout).toBe(reference.stdout);
      expect(r.instret).toBe(reference.instret);
      expect(r.stats.translated).toBe(0);
      expect(r.stats.refused).toBeGreaterThan(0);
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('code in writable pages', () => {
  it('is translated, and a store into it drops its translations before the store runs (the guest\'s own JIT)', async () => {
    const golden = readFileSync(new URL('../guests/golden/jit-selfmod.stdout', import.meta.url), 'latin1');
    const elf = GUEST('jit-selfmod.elf');
    const interpreted = await runGuest(elf, ['jit-selfmod'], 0);
    const out: Buffer[] = [];
    const vm = ProcessVM.create(elf, {
      argv: ['jit-selfmod'], memoryBytes: 64 * 1024 * 1024, jitThreshold: 16, jitWarmup: 0n, clock: 'virtual', random: (b) => b.fill(7),
      stdout: (d) => out.push(Buffer.from(d)), diagnostics: () => {},
    });
    expect(await vm.run()).toBe(0);
    expect(Buffer.concat(out).toString('latin1')).toBe(golden);
    expect(interpreted.stdout).toBe(golden);
    // The same instructions and the same exits as the interpreter: the
    // faults of stores into translated code never reach the guest.
    expect(vm.cpu.instret).toBe(interpreted.instret);
    const s = vm.cpu.jitStats!;
    expect(s.translated).toBeGreaterThan(40);
    expect(s.dropped).toBeGreaterThan(10);
  });
});

// ---- 6. chaining --------------------------------------------------------------------------------

describe('a translation tail-calls the next one (EmitConfig.chain)', () => {
  // One region, `addi x1, x1, 1; jalr x0, 0(x5)`, on a memory of its own:
  // x5 holds the target, and the translation map (16 entries at MAP) says
  // what the target has. Table entry 1 is a spy: it records the budget it
  // is given and returns 1000 + that.
  const ENTRY = 0x1000, TARGET = 0x2468, MAP = 0x100, ENTRIES = 16, NEVER = 0xffff_ffff;
  const X_REGS = 0x400, PC = 0x600;
  const config: EmitConfig = {
    userEnd: 2 ** 38,
    layout: { X_REGS, F_REGS: 0x500, PC, FCSR: 0x608, RAM_OFFSET: 0x1000, USER_TLB: 0x800, USER_TLB_STORES: 0xc00, USER_TLB_ENTRIES: 64, USER_TLB_MISS: 0x700, USER_TLB_MISS_KIND: 0x708 },
    chain: { JIT_MAP: MAP, JIT_MAP_ENTRIES: ENTRIES, JIT_NEVER: NEVER },
    helpers: HELPERS.map(() => 0), // (none is called: table entry 0 is null)
  };
  const code = A.assemble([A.addi(1, 1, 1), A.jalr(0, 5, 0)]);
  const region = discover({
    ...config, expand: () => 0,
    isCode: (pc) => pc >= ENTRY && pc < ENTRY + PAGE_SIZE,
    parcel: (pc) => pc - ENTRY + 1 < code.length ? code[pc - ENTRY] | (code[pc - ENTRY + 1] << 8) : 0x0073, // ebreak's low half: a stop
  }, ENTRY)!;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const table = new WebAssembly.Table({ initial: 2, element: 'anyfunc' });
  const given: bigint[] = [];
  // A module whose export forwards to the JS spy: a function of the table's type.
  const spyModule = new WebAssembly.Module(moduleBytes({
    memory: { module: 'cpu', name: 'memory' },
    functions: [{ module: 'cpu', name: 'spy', params: [I64], results: [I64] }],
    params: [I64], results: [I64], bodies: [functionBody([], new Code().get(0).call(0))],
  }));
  const spyExports = new WebAssembly.Instance(spyModule, { cpu: { memory, spy: (left: bigint) => { given.push(left); return 1000n + left; } } }).exports;
  table.set(1, spyExports['0'] as (left: bigint) => bigint);
  const translated = new WebAssembly.Instance(new WebAssembly.Module(moduleOf([emitRegion(config, region)])), { cpu: { memory, table } })
    .exports['0'] as (left: bigint) => bigint;
  const view = new DataView(memory.buffer);
  const BAIL = 1n << 63n;

  /** Calls the translation (`fn`) with `left` after putting `entry` in the map's entry for the target. */
  function call(left: bigint, entry: { pc: number; fn: number } | undefined, fn = translated): bigint {
    new Uint8Array(memory.buffer, MAP, ENTRIES * 16).fill(0);
    if (entry) {
      const slot = MAP + ((TARGET >> 1) & (ENTRIES - 1)) * 16;
      view.setBigUint64(slot, BigInt(entry.pc), true);
      view.setUint32(slot + 8, entry.fn, true);
    }
    view.setBigUint64(X_REGS + 8, 41n, true);
    view.setBigUint64(X_REGS + 5 * 8, BigInt(TARGET), true);
    given.length = 0;
    return fn(left);
  }

  it('calls the target\'s translation with the budget left, after storing the registers and pc', () => {
    expect(region.blocks.length).toBe(1);
    expect(call(100n, { pc: TARGET, fn: 1 })).toBe(1098n);
    expect(given).toEqual([98n]);
    expect(view.getBigUint64(X_REGS + 8, true)).toBe(42n);
    expect(view.getBigUint64(PC, true)).toBe(BigInt(TARGET));
  });

  it('returns to the interpreter when the target has no translation, cannot have one, or is another pc', () => {
    for (const entry of [undefined, { pc: TARGET, fn: 0 }, { pc: TARGET, fn: NEVER }, { pc: TARGET + 2 * ENTRIES, fn: 1 }]) {
      expect(call(100n, entry), JSON.stringify(entry)).toBe(98n);
      expect(given).toEqual([]);
      expect(view.getBigUint64(PC, true)).toBe(BigInt(TARGET));
      expect(view.getBigUint64(X_REGS + 8, true)).toBe(42n);
    }
  });

  it('returns when the budget is used up, or stops short, without calling', () => {
    expect(call(2n, { pc: TARGET, fn: 1 })).toBe(0n);
    expect(BigInt.asUintN(64, call(1n, { pc: TARGET, fn: 1 }))).toBe(BAIL | 1n); // (an i64 comes back signed)
    expect(view.getBigUint64(PC, true)).toBe(BigInt(ENTRY));
    expect(view.getBigUint64(X_REGS + 8, true)).toBe(41n);
    expect(given).toEqual([]);
  });

  it('is left out of a system VM\'s regions and of engines without tail calls: the target\'s translation is not called', () => {
    const plain = moduleOf([emitRegion({ ...config, chain: undefined }, region)]);
    const unchained = new WebAssembly.Instance(new WebAssembly.Module(plain), { cpu: { memory, table } }).exports['0'] as (left: bigint) => bigint;
    expect(call(100n, { pc: TARGET, fn: 1 }, unchained)).toBe(98n);
    expect(given).toEqual([]);
    expect(view.getBigUint64(PC, true)).toBe(BigInt(TARGET));
  });
});

describe('helpers are called through the CPU\'s table (EmitConfig.helpers)', () => {
  it('a module of translations imports no functions, and `mulh` calls the function in its helper\'s slot', () => {
    // `mulh x3, x1, x2; jalr x0, 0(x5)`; the table's slot 2 holds a stand-in
    // for mulh that gives a * 1000 + b.
    const ENTRY = 0x1000, X_REGS = 0x400, PC = 0x600;
    const slots = HELPERS.map(() => 0);
    slots[HELPERS.indexOf('mulh')] = 2;
    const config: EmitConfig = {
      userEnd: 2 ** 38,
      layout: { X_REGS, F_REGS: 0x500, PC, FCSR: 0x608, RAM_OFFSET: 0x1000, USER_TLB: 0x800, USER_TLB_STORES: 0xc00, USER_TLB_ENTRIES: 64, USER_TLB_MISS: 0x700, USER_TLB_MISS_KIND: 0x708 },
      helpers: slots,
    };
    const code = A.assemble([A.mulh(3, 1, 2), A.jalr(0, 5, 0)]);
    const region = discover({
      ...config, expand: () => 0,
      isCode: (pc) => pc >= ENTRY && pc < ENTRY + PAGE_SIZE,
      parcel: (pc) => pc - ENTRY + 1 < code.length ? code[pc - ENTRY] | (code[pc - ENTRY + 1] << 8) : 0x0073,
    }, ENTRY)!;
    const module = new WebAssembly.Module(moduleOf([emitRegion(config, region)]));
    expect(WebAssembly.Module.imports(module).map((i) => i.kind)).toEqual(['memory', 'table']);

    const memory = new WebAssembly.Memory({ initial: 1 });
    const table = new WebAssembly.Table({ initial: 3, element: 'anyfunc' });
    const standIn = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes({
      memory: { module: 'm', name: 'mem' }, functions: [], params: [I64, I64], results: [I64],
      bodies: [functionBody([], new Code().get(0).i64(1000n).op(Op.i64_mul).get(1).op(Op.i64_add))],
    })), { m: { mem: memory } }).exports;
    table.set(2, standIn['0'] as WebAssembly.ExportValue);
    const view = new DataView(memory.buffer);
    view.setBigUint64(X_REGS + 8, 7n, true);
    view.setBigUint64(X_REGS + 16, 5n, true);
    view.setBigUint64(X_REGS + 40, 0x2000n, true);
    const run = new WebAssembly.Instance(module, { cpu: { memory, table } }).exports['0'] as (left: bigint) => bigint;
    expect(run(10n)).toBe(8n);
    expect(view.getBigUint64(X_REGS + 24, true)).toBe(7005n);
    expect(view.getBigUint64(PC, true)).toBe(0x2000n);
  });
});

describe('which blocks a region takes (discover)', () => {
  it('the loop around its entry before a path out of it, however long that path', () => {
    // A loop nest: the entry's block runs on into the inner loop's body,
    // whose branch leaves for a chain of 12 blocks far off; the inner loop
    // closes at 0x0c, the outer at 0x10. Taken depth first, the far chain
    // filled the region and the loops' other blocks were left out.
    const ENTRY = 0x1000, FAR = 0x108;
    const words: number[] = [];
    const put = (at: number, w: number) => { while (words.length < at / 4) words.push(A.ebreak()); words[at / 4] = w; };
    put(0x00, A.addi(1, 1, 1));
    put(0x04, A.addi(2, 2, 1));
    put(0x08, A.bne(2, 5, FAR - 0x08));
    put(0x0c, A.blt(2, 3, 0x04 - 0x0c));
    put(0x10, A.blt(1, 4, 0x00 - 0x10));
    put(0x14, A.ebreak());
    for (let k = 0; k < 12; k++) {
      put(FAR + 12 * k, A.addi(6, 6, 1));
      put(FAR + 12 * k + 4, A.jal(0, 8));
    }
    put(FAR + 12 * 12, A.ebreak());
    const code = A.assemble(words);
    const region = discover({
      userEnd: 2 ** 38,
      layout: { X_REGS: 0, F_REGS: 0x100, PC: 0x200, FCSR: 0x208, RAM_OFFSET: 0x1000, USER_TLB: 0x800, USER_TLB_STORES: 0xc00, USER_TLB_ENTRIES: 64, USER_TLB_MISS: 0x700, USER_TLB_MISS_KIND: 0x708 },
      expand: () => 0,
      isCode: (pc) => pc >= ENTRY && pc < ENTRY + PAGE_SIZE,
      parcel: (pc) => code[pc - ENTRY] | (code[pc - ENTRY + 1] << 8),
    }, ENTRY)!;
    const starts = region.blocks.map((b) => b.pc - ENTRY);
    expect(starts).toEqual(expect.arrayContaining([0x00, 0x04, 0x0c, 0x10]));
    // Its other blocks are the far chain's first ones.
    expect(starts.length).toBe(10);
    expect(starts.filter((pc) => pc >= FAR)).toEqual(expect.arrayContaining([FAR, FAR + 12]));
  });

  it('a jump target the interpreter never went to only when the others leave room', () => {
    // The entry's branch leaves for a chain of blocks at COLD, never taken;
    // its fall-through runs on into a chain of blocks at WARM, each reached
    // by a jump the interpreter took. Both chains are 12 blocks long.
    const ENTRY = 0x1000, WARM = 0x100, COLD = 0x400;
    const words: number[] = [];
    const put = (at: number, w: number) => { while (words.length < at / 4) words.push(A.ebreak()); words[at / 4] = w; };
    put(0x00, A.addi(1, 1, 1));
    put(0x04, A.bne(1, 2, COLD - 0x04));
    put(0x08, A.jal(0, WARM - 0x08));
    const warm: number[] = [];
    for (const [chain, at] of [[warm, WARM], [[] as number[], COLD]] as const) {
      for (let k = 0; k < 12; k++) {
        put(at + 12 * k, A.addi(6, 6, 1));
        put(at + 12 * k + 4, A.jal(0, 8));
        chain.push(ENTRY + at + 12 * k);
      }
    }
    const code = A.assemble(words);
    const env = (visited?: (pc: number) => boolean) => ({
      userEnd: 2 ** 38,
      layout: { X_REGS: 0, F_REGS: 0x100, PC: 0x200, FCSR: 0x208, RAM_OFFSET: 0x1000, USER_TLB: 0x800, USER_TLB_STORES: 0xc00, USER_TLB_ENTRIES: 64, USER_TLB_MISS: 0x700, USER_TLB_MISS_KIND: 0x708 },
      expand: () => 0, visited,
      isCode: (pc: number) => pc >= ENTRY && pc < ENTRY + PAGE_SIZE,
      parcel: (pc: number) => code[pc - ENTRY] | (code[pc - ENTRY + 1] << 8),
    });
    const cold = (r: ReturnType<typeof discover>) => r!.blocks.filter((b) => b.pc >= ENTRY + COLD).length;
    // Knowing what ran, the region is the entry, its fall-through and the warm chain.
    const known = discover(env((pc) => pc === ENTRY || warm.includes(pc)), ENTRY)!;
    expect(known.blocks.length).toBe(10);
    expect(cold(known)).toBe(0);
    // Without it, both chains are as near.
    expect(cold(discover(env(), ENTRY))).toBeGreaterThan(2);
  });
});

// ---- 7. what gets translated: heat, warm-up and ageing ------------------------------------------

describe('heat: a target counts the instructions run from it, not only its visits', () => {
  // A loop entered 39 times (its head is a jump target 39 times), its body
  // `body` instructions long; at threshold 100 only a long body makes it hot
  // (each visit 1, plus 1 for every 32 instructions run from the head).
  const program = (body: number) => [
    A.addi(5, 0, 40),
    ...Array.from({ length: body }, () => A.addi(6, 6, 1)), A.addi(5, 5, -1), A.bne(5, 0, -4 * (body + 1)),
    A.ebreak(),
  ];
  function run(body: number): Cpu {
    const cpu = codeCpu(100, program(body));
    cpu.jitWarmup = 0n;
    expect(EXIT_REASON_NAMES[runToExit(cpu)]).toBe('EBREAK');
    expect(cpu.x(6)).toBe(40n * BigInt(body));
    return cpu;
  }
  const head = CODE + 4n;

  it('translates a long loop body entered fewer times than the threshold', () => {
    // 96 + 2 instructions a visit: 1 + 3 a visit, hot at the 25th.
    expect(run(96).translatedEntries()).toContain(head);
  });

  it('leaves a short one entered as often to the interpreter', () => {
    // 30 + 2 instructions a visit: 1 + 1 a visit, 78 in all.
    expect(run(30).translatedEntries()).not.toContain(head);
    // 29 + 2: under 32, each visit counts 1 (39 in all).
    expect(run(29).translatedEntries()).not.toContain(head);
  });
});

describe('a visit is counted once when the budget ends at the jump', () => {
  // A loop of 12 instructions entered 60 times (59 jumps to its head), at
  // threshold 100: never hot, however the run is sliced. Slices that end
  // right after the jump leave its lookup to the next run's entry, as
  // run() does; counted in the straight loop as well, each visit was two
  // and the loop hot by its 50th turn.
  const program = [
    A.addi(5, 0, 60),
    ...Array.from({ length: 10 }, () => A.addi(6, 6, 1)), A.addi(5, 5, -1), A.bne(5, 0, -4 * 11),
    A.ebreak(),
  ];
  const head = CODE + 4n;

  it('in one run and in slices ending at each jump alike', () => {
    const whole = codeCpu(100, program);
    whole.jitWarmup = 0n;
    expect(EXIT_REASON_NAMES[runToExit(whole)]).toBe('EBREAK');
    const sliced = codeCpu(100, program);
    sliced.jitWarmup = 0n;
    let reason = EXIT_REASON_NAMES[sliced.run(13n)];
    while (reason === 'BUDGET') reason = EXIT_REASON_NAMES[sliced.run(12n)];
    expect(reason).toBe('EBREAK');
    expect(sliced.x(6)).toBe(whole.x(6));
    expect(whole.translatedEntries()).not.toContain(head);
    expect(sliced.translatedEntries()).not.toContain(head);
  });
});

// ---- 7b. warm-up and ageing ---------------------------------------------------------------------

describe('the threshold ages with the program (Cpu.jitAgeing)', () => {
  // An inner loop of 499,712 rounds, then an indirect call to B (a
  // function pointer: no region reaches it by itself), once per some 1 M
  // instructions. At threshold 1000, B is hot after about 1 G instructions;
  // ageing halves the threshold at 64 M, 128 M and 256 M, to 125.
  const B = 36;
  const program = [
    A.auipc(8, 0), A.addi(8, 8, B), // x8 = B
    A.lui(6, 0x7a), // outer: x6 = 0x7a000
    A.addi(6, 6, -1), A.bne(6, 0, -4), // inner
    A.jalr(1, 8, 0), // call B
    A.jal(0, -16), // to outer
    A.ebreak(), A.ebreak(),
    A.addi(7, 7, 1), A.jalr(0, 1, 0), // B
  ];
  function run(ageing: boolean): Cpu {
    const cpu = codeCpu(1000, program);
    cpu.jitWarmup = 0n;
    cpu.jitAgeing = ageing;
    // In slices, as a VM runs it: the threshold changes between runs.
    for (let i = 0; i < 30; i++) expect(EXIT_REASON_NAMES[cpu.run(10_000_000n)]).toBe('BUDGET');
    return cpu;
  }

  it('translates warm code once the program is old enough, and not without ageing', () => {
    const aged = run(true), fixed = run(false);
    expect(aged.jitThresholdNow).toBe(125);
    expect(fixed.jitThresholdNow).toBe(1000);
    expect(aged.translatedEntries()).toContain(CODE + BigInt(B));
    expect(fixed.translatedEntries()).not.toContain(CODE + BigInt(B));
    // Both ran the same program.
    expect(aged.x(7)).toBe(fixed.x(7));
    expect(aged.instret).toBe(fixed.instret);
  });

  it('halves at each doubling past 64 M instructions, never to 0, and starts again with a new program (jitWarmup)', () => {
    const cpu = codeCpu(16384, program);
    cpu.jitWarmup = 0n;
    cpu.jitAgeing = true;
    const seen: number[] = [];
    for (const at of [63_999_999n, 64_000_000n, 127_999_999n, 128_000_000n, 256_000_000n]) {
      cpu.run(at - cpu.instret);
      seen.push(cpu.jitThresholdNow);
    }
    expect(seen).toEqual([16384, 8192, 8192, 4096, 2048]);
    cpu.jitThreshold = 4;
    expect(cpu.jitThresholdNow).toBe(1); // 4/8, at least 1: translation stays on
    cpu.jitWarmup = 0n; // what execve does: a new program
    expect(cpu.jitThresholdNow).toBe(4);
    cpu.jitThreshold = 0;
    expect(cpu.jitThresholdNow).toBe(0);
  });
});
