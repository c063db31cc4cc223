// Translation of guest code into WebAssembly: the second tier under the
// interpreter of assembly/cpu.ts.
//
// A region is the code reachable from one hot entry pc: basic blocks found by
// following fall-through, branch and `jal` targets through pages that hold
// code (executable, not writable), at most MAX_INSTRUCTIONS of them, and the
// return points of the calls among them, where a `jalr` that returns there
// continues inside the region instead of leaving it. It becomes one
// function `(left: i64) -> i64` that keeps the guest registers it touches in
// wasm locals (which the engine keeps in host registers), goes from block to
// block by plain branches (forward, and a block's own loop) or, back to an
// earlier block, through a `br_table` loop, and returns the budget left (with
// JIT_BAIL set when it stopped before an instruction the interpreter must
// execute) after storing the registers and the next pc back into the CPU's
// state. It never raises anything itself: every instruction that could trap
// (a load or store outside RAM or its page's permissions, an access that
// crosses a page) makes it stop *before* that instruction, with the
// registers as they were, so the interpreter executes it again and the
// exception is exactly the interpreter's. Instructions it does not translate
// (system, atomics, most CSRs) end a block the same way. Floating point runs
// as WebAssembly's own f32/f64 arithmetic where that provably gives the
// RISC-V result and flags ("Floating point", below), else the interpreter's
// code through a helper.
//
// Each block counts its instructions down at once, and the blocks that
// begin a run (the entry, loop heads) check first that the budget covers
// the longest run to the next such block, so a translation retires exactly
// the instructions the interpreter would have: budgets, `instret` and
// thread slices stay exact.
//
// Under the MMU (a system VM: EmitConfig.system) a region is the code of
// one page, whose mapping the interpreter checked before the call (pc and
// RAM page, assembly/cpu.ts); loads and stores take the TLB's hit path
// inline (tlbAddress), their misses through the interpreter's slow path;
// CSRs other than the FP ones stop the block, and a region with F or D runs
// only while sstatus.FS is Dirty (where they are legal and change nothing
// of it).
//
// Chaining (a process VM's regions, EmitConfig.chain): a region that leaves
// for a pc outside it, with budget left and not stopped short, looks that
// pc up in the interpreter's translation map itself and tail-calls its
// translation (return_call_indirect through its module's table, which
// holds every live translation at its index in the CPU's: jit.ts,
// "Generations"), after storing its registers as it would to return.
// Without it every jump out of a region, and every `jalr` whose target
// the region does not hold (an interpreter's dispatch on its bytecode, a
// virtual call), went back through the interpreter's loop to find the
// next translation. The interpreter still sees every untranslated target
// (a map miss returns to it, and it counts the visit), every budget exit
// and every stop.
import { Code, Op, TruncSat, I32, I64, F32, F64, functionBody, moduleBytes } from './wasm-writer.js';

// Limits of a region. What a call into a translation costs grows with the
// guest registers it holds in locals (each is loaded on entry and stored on
// exit) and with its blocks (the engine's register allocation across the
// dispatch loop); long straight-line blocks (SHA-256's rounds) gain the most.
export const MAX_INSTRUCTIONS = 256;
const MAX_BLOCKS = 10;
const MAX_REGISTERS = 16;
const PAGE = 0x1000;

// Guest addresses are numbers here, not BigInts: translation runs while the
// guest waits (or beside it), and user addresses (below 2^38) are exact as
// doubles. A target computed from one (pc + offset) may fall outside the
// user range, even below 0; it is then no code, and as an i64 constant
// (two's complement) it is the 64-bit address the guest would jump to.

/** The machine a translation is emitted for (plain data: a worker thread
 *  can be given it). */
export interface EmitConfig {
  /** The end of the user range (assembly/layout.ts USER_VA_BITS). */
  userEnd: number;
  layout: {
    X_REGS: number; F_REGS: number; PC: number; FCSR: number; RAM_OFFSET: number;
    /** A process VM's translated accesses go through these (assembly/layout.ts, USER_TLB). */
    USER_TLB: number; USER_TLB_STORES: number; USER_TLB_ENTRIES: number; USER_TLB_MISS: number; USER_TLB_MISS_KIND: number;
  };
  /** A system VM's code (S and U mode under the MMU): addresses go through
   *  the interpreter's TLB ("Under the MMU", below), and a region is the
   *  code of one page. Absent: a process VM's (page permissions). */
  system?: { TLB: number; TLB_ENTRIES: number; TLB_GEN: number; MMU_PERMS: number; RAM_BASE: number; RAM_SIZE: number; DIRTY_MAP: number; TLB_CODE: number; SSTATUS: number };
  /** Translations call the next one themselves ("Chaining", below): where
   *  the interpreter's translation map is (assembly/layout.ts). Absent: each
   *  returns to the interpreter, which looks the next pc up (a system VM's
   *  regions, and engines without WebAssembly's tail calls). */
  chain?: { JIT_MAP: number; JIT_MAP_ENTRIES: number; JIT_NEVER: number };
  /** Where each call into a translation is counted (a u64: assembly/layout.ts
   *  JIT_ENTRIES); absent, it is not. */
  countEntries?: number;
  /** The indices of the helpers (HELPERS order) in the CPU's function
   *  table and in the table a module imports (jit.ts, "Generations"). A
   *  translation calls them through that table, so that its module
   *  imports no functions: V8 compiles a wrapper for every imported
   *  function's signature with each module, which was two thirds of what a
   *  small module cost to compile (docs/PERFORMANCE.md, "What to translate,
   *  and where"). */
  helpers: readonly number[];
}

/** In a system VM, pcs are numbers holding an address's low 48 bits (the
 *  interpreter looks up only pcs that are their low 48 bits sign-extended:
 *  all of Sv39's and Sv48's, and Sv57's kernel image and user programs):
 *  kernel addresses (0xffffffff8...) are not exact as doubles. `pcConst` turns
 *  one back into the 64-bit address; for a process VM's addresses (below
 *  2^38, or a target computed from one, which may be negative) it is the
 *  number itself. Code within 2 MiB of 2^47 is never translated, so that a
 *  target (pc + an offset of at most 1 MiB) never crosses from one half
 *  to the other in the 48-bit form. */
export const FOLD_BITS = 48;
export const pcConst = (pc: number): bigint => BigInt.asIntN(FOLD_BITS, BigInt(pc));
export const foldPc = (pc: bigint): number => Number(BigInt.asUintN(FOLD_BITS, pc));
/** Whether a region at folded `pc` may be translated in a system VM. */
export const foldable = (pc: number): boolean => Math.abs(pc - 2 ** (FOLD_BITS - 1)) > 2 * 1024 * 1024;

/** What finding a region needs: the guest's code. */
export interface TranslateEnv extends Omit<EmitConfig, 'helpers'> {
  /** Whether the page of `pc` holds code that may be translated. */
  isCode(pc: number): boolean;
  /** The 16-bit parcel at guest address `pc` (in a page isCode accepts). */
  parcel(pc: number): number;
  /** The 32-bit form of a compressed parcel, or 0 if it is illegal. */
  expand(parcel: number): number;
  /** Whether the interpreter has jumped to `pc`; without it, every target
   *  counts as visited. */
  visited?(pc: number): boolean;
}

/** CPU helpers a translation may import (assembly/index.ts exports them),
 *  with their wasm signatures. */
const BINARY = { params: [I64, I64], results: [I64] };
const UNARY = { params: [I64], results: [I64] };
const SIGNATURES = {
  mulhu: BINARY, mulh: BINARY, mulhsu: BINARY, div64: BINARY, rem64: BINARY,
  div32: BINARY, rem32: BINARY, divu32: BINARY, remu32: BINARY,
  orcb: UNARY, bswap64: UNARY,
  jitFloat: { params: [I32], results: [I32] },
  jitTranslate: { params: [I64, I32], results: [I64] },
} as const;
export type Helper = keyof typeof SIGNATURES;
export const HELPERS = Object.keys(SIGNATURES) as Helper[];
/** A region's type in its module: after one type per helper (moduleBytes). */
const REGION_TYPE = HELPERS.length;

/** One region's function, ready to go into a module with others (moduleOf). */
export interface RegionCode {
  /** The function's entry in a code section: its locals and its code. */
  body: Uint8Array;
  /** Guest instructions translated (across all blocks). */
  instructions: number;
  blocks: number;
}

interface Inst { pc: number; len: number; op: number }

type Terminator =
  | { kind: 'fall'; next: number }              // falls into `next` (page end, size limit, or another block)
  | { kind: 'stop'; at: number }                // an instruction the interpreter must execute
  | { kind: 'branch'; inst: Inst }
  | { kind: 'jal'; inst: Inst }
  | { kind: 'jalr'; inst: Inst };

interface Block { pc: number; body: Inst[]; end: Terminator; count: number }
/** The code reachable from a hot entry: plain data, so that it can be
 *  emitted elsewhere (a worker thread) than where it was found. */
export interface Region {
  entry: number;
  blocks: Block[];
  returns: number[];
  /** Base addresses of the pages the region's code was read from. */
  pages: number[];
}

// ---- decoding (unprivileged spec, "Base Instruction Formats") ----------------
const rd = (i: number) => (i >>> 7) & 31;
const rs1 = (i: number) => (i >>> 15) & 31;
const rs2 = (i: number) => (i >>> 20) & 31;
const funct3 = (i: number) => (i >>> 12) & 7;
const funct7 = (i: number) => i >>> 25;
const immI = (i: number) => i >> 20;
const immS = (i: number) => ((i >> 20) & ~31) | ((i >>> 7) & 31);
const immB = (i: number) => ((i >> 19) & ~0xfff) | ((i << 4) & 0x800) | ((i >>> 20) & 0x7e0) | ((i >>> 7) & 0x1e);
const immU = (i: number) => i & 0xfffff000 | 0;
const immJ = (i: number) => ((i >> 11) & ~0xfffff) | (i & 0xff000) | ((i >>> 9) & 0x800) | ((i >>> 20) & 0x7fe);
const FS_DIRTY = 3n << 13n; // sstatus.FS
const RM_RNE = 0; // round to nearest, ties to even
const RM_DYN = 7; // the rm field's "use frm"

/** Whether `op` (a 32-bit instruction) is one this tier translates: exactly
 *  the encodings the interpreter accepts for these opcodes, nothing more. */
export function translatable(op: number): boolean {
  const f3 = funct3(op), f7 = funct7(op), f6 = op >>> 26, i12 = op >>> 20;
  switch (op & 0x7f) {
    case 0x37: case 0x17: case 0x6f: return true;
    case 0x67: return f3 === 0;
    case 0x63: return f3 !== 2 && f3 !== 3;
    case 0x03: return f3 !== 7;
    case 0x23: return f3 <= 3;
    case 0x0f: return f3 <= 1;
    case 0x07: case 0x27: return f3 === 2 || f3 === 3;                // FLW, FLD, FSW, FSD
    case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53: return true; // the rest of F and D: native or a helper
    case 0x73: return isFpCsrAccess(op);                                 // fflags, frm, fcsr
    case 0x13:
      if (f3 === 1) return f6 === 0 || f6 === 0x12 || f6 === 0x1a || f6 === 0x0a || [0x600, 0x601, 0x602, 0x604, 0x605].includes(i12);
      if (f3 === 5) return f6 === 0 || f6 === 0x10 || f6 === 0x18 || f6 === 0x12 || i12 === 0x287 || i12 === 0x6b8;
      return true;
    case 0x1b:
      if (f3 === 0) return true;
      if (f3 === 1) return f7 === 0 || f6 === 0x02 || i12 === 0x600 || i12 === 0x601 || i12 === 0x602;
      if (f3 === 5) return f7 === 0 || f7 === 0x20 || f7 === 0x30;
      return false;
    case 0x33:
      switch (f7) {
        case 0x00: case 0x01: return true;
        case 0x20: return f3 === 0 || f3 === 4 || f3 === 5 || f3 === 6 || f3 === 7;
        case 0x05: return f3 >= 4;
        case 0x10: return f3 === 2 || f3 === 4 || f3 === 6;
        case 0x30: return f3 === 1 || f3 === 5;
        case 0x24: return f3 === 1 || f3 === 5;
        case 0x34: case 0x14: return f3 === 1;
      }
      return false;
    case 0x3b:
      switch (f7) {
        case 0x00: return f3 === 0 || f3 === 1 || f3 === 5;
        case 0x20: return f3 === 0 || f3 === 5;
        case 0x01: return f3 === 0 || f3 >= 4;
        case 0x04: return f3 === 0 || (f3 === 4 && rs2(op) === 0);
        case 0x10: return f3 === 2 || f3 === 4 || f3 === 6;
        case 0x30: return f3 === 1 || f3 === 5;
      }
      return false;
  }
  return false;
}

/** The integer registers (other than x0) an instruction keeps in locals. */
function registersOf(op: number, into: Set<number>): void {
  const add = (r: number) => { if (r !== 0) into.add(r); };
  switch (op & 0x7f) {
    case 0x37: case 0x17: case 0x6f: add(rd(op)); return;
    case 0x63: case 0x23: add(rs1(op)); add(rs2(op)); return;
    case 0x33: case 0x3b: add(rd(op)); add(rs1(op)); add(rs2(op)); return;
    case 0x07: case 0x27: add(rs1(op)); return;
    case 0x0f: case 0x43: case 0x47: case 0x4b: case 0x4f: return;
    case 0x53: { const { src, dst } = fpIntegerRegisters(op); if (src !== undefined) add(src); if (dst !== undefined) add(dst); return; }
    case 0x73: add(rd(op)); if (funct3(op) < 5) add(rs1(op)); return;
    default: add(rd(op)); add(rs1(op)); // JALR, LOAD, OP-IMM(-32)
  }
}

/** F and D instructions and the FP CSRs: in a system VM they depend on
 *  sstatus.FS (illegal when Off, make it Dirty). A region with any runs
 *  only while FS is Dirty (checked on entry: no instruction of a region
 *  can change it), where they are legal and change nothing more. */
function usesFloat(op: number): boolean {
  switch (op & 0x7f) {
    case 0x07: case 0x27: case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53: case 0x73: return true;
  }
  return false;
}

/** CSRRW/CSRRS/CSRRC and their immediate forms on fflags, frm or fcsr:
 *  always legal where translations run (process VMs: no sstatus.FS, as for
 *  jitFloat), and only fcsr changes. Hot loops have them: gcc brackets a
 *  signalling flt.d with frflags/fsflags to make it a quiet comparison
 *  (the domain check before an inline sqrt, for errno). */
function isFpCsrAccess(op: number): boolean {
  const csr = op >>> 20;
  return funct3(op) !== 0 && funct3(op) !== 4 && csr >= 1 && csr <= 3;
}

/** The f registers an F or D instruction (other than a load or store)
 *  reads and the one it writes, for the helper's flushes; an illegal
 *  encoding traps in the helper, whatever is listed. */
function fpFloatRegisters(op: number): { src: number[]; dst?: number } {
  const a = rs1(op), b = rs2(op), d = rd(op);
  if ((op & 0x7f) !== 0x53) return { src: [...new Set([a, b, op >>> 27])], dst: d }; // FMADD, FMSUB, FNMSUB, FNMADD
  switch (funct7(op) >> 2) {
    case 0x0b: case 0x08: return { src: [a], dst: d };   // FSQRT, FCVT.S.D / FCVT.D.S
    case 0x14: return { src: [...new Set([a, b])] };      // FEQ, FLT, FLE
    case 0x18: case 0x1c: return { src: [a] };            // FCVT to integers, FMV.X.*, FCLASS
    case 0x1a: case 0x1e: return { src: [], dst: d };     // FCVT from integers, FMV.*.X
  }
  return { src: [...new Set([a, b])], dst: d };           // FADD.. FDIV, FSGNJ*, FMIN/FMAX (and illegal ones)
}

/** The integer registers an OP-FP instruction reads (`src`: conversions
 *  from integers, FMV.W.X, FMV.D.X) or writes (`dst`: comparisons,
 *  conversions to integers, FMV.X.W, FMV.X.D, FCLASS). */
function fpIntegerRegisters(op: number): { src?: number; dst?: number } {
  switch (funct7(op) >> 2) {
    case 0x14: case 0x18: case 0x1c: return { dst: rd(op) };
    case 0x1a: case 0x1e: return { src: rs1(op) };
  }
  return {};
}

/** Reads the instruction at pc, or undefined if it does not lie wholly in its page. */
function fetch(env: TranslateEnv, pc: number): Inst | undefined {
  const offset = pc % PAGE;
  if (offset > 0xffe) return undefined;
  const low = env.parcel(pc);
  if ((low & 3) !== 3) {
    const op = env.expand(low);
    return { pc, len: 2, op: op >>> 0 };
  }
  if (offset > 0xffc) return undefined;
  return { pc, len: 4, op: (low | (env.parcel(pc + 2) << 16)) >>> 0 };
}

/** The blocks of the region at `entry` (in address order) and the return
 *  points of its calls that are blocks too; undefined when its first
 *  instruction is not one this tier translates. Blocks are taken breadth
 *  first, nearest the entry first, so that the few a region holds are the
 *  loop around the entry and the code next to it: depth first, a region
 *  followed one path far out of a loop nest and left the loop's other
 *  blocks to regions of their own, each hop between them a store and a
 *  load of the registers. Jump targets the interpreter never went to
 *  (TranslateEnv.visited: an error path, a rare case) come after all the
 *  others, so that they do not take the places of code that runs. */
export function discover(env: TranslateEnv, entry: number): Region | undefined {
  const blocks = new Map<number, Block>();
  const pages = new Set<number>();
  const returnPoints = new Set<number>();
  const work = [entry];
  // Targets the interpreter never jumped to (an error path, a rare case):
  // taken only when nothing else is left.
  const cold: number[] = [];
  const add = (pc: number) => { if (env.visited === undefined || env.visited(pc)) work.push(pc); else cold.push(pc); };
  const registers = new Set<number>();
  let total = 0;
  while ((work.length > 0 || cold.length > 0) && blocks.size < MAX_BLOCKS && total < MAX_INSTRUCTIONS) {
    const start = (work.length > 0 ? work : cold).shift()!;
    if (blocks.has(start) || !env.isCode(start)) continue;
    const blockPages = [start - (start % PAGE)];
    const successors: number[] = [];
    const calls: number[] = [];
    const body: Inst[] = [];
    const regs = new Set(registers);
    let n = 0;
    let pc = start;
    let end: Terminator | undefined;
    while (end === undefined) {
      if (pc !== start && blocks.has(pc)) { end = { kind: 'fall', next: pc }; break; }
      if (total + n >= MAX_INSTRUCTIONS) { end = { kind: 'fall', next: pc }; break; }
      if (pc % PAGE === 0 && pc !== start) {
        if (!env.isCode(pc)) { end = { kind: 'fall', next: pc }; break; }
        blockPages.push(pc);
      }
      const inst = fetch(env, pc);
      if (inst === undefined || inst.op === 0 || !translatable(inst.op)) { end = { kind: 'stop', at: pc }; break; }
      n++;
      registersOf(inst.op, regs);
      const major = inst.op & 0x7f;
      if (major === 0x63) {
        end = { kind: 'branch', inst };
        successors.push(pc + inst.len, pc + immB(inst.op));
      } else if (major === 0x6f || major === 0x67) {
        end = major === 0x6f ? { kind: 'jal', inst } : { kind: 'jalr', inst };
        // A call's return point comes after its callee, searched first.
        if (rd(inst.op) !== 0) calls.push(pc + inst.len);
        if (major === 0x6f) successors.push(pc + immJ(inst.op));
      } else {
        body.push(inst);
        pc += inst.len;
      }
    }
    // A block that needs too many registers stays outside (but never the entry's).
    if (blocks.size > 0 && regs.size > MAX_REGISTERS) continue;
    for (const r of regs) registers.add(r);
    for (const p of blockPages) pages.add(p);
    total += n;
    // (The interpreter counts jumps taken: a branch's fall-through is never
    // in the map, visited or not.)
    if (end.kind === 'branch') { work.push(successors[0]); add(successors[1]); } else successors.forEach(add);
    for (const back of calls) { returnPoints.add(back); add(back); }
    const count = body.length + (end.kind === 'branch' || end.kind === 'jal' || end.kind === 'jalr' ? 1 : 0);
    blocks.set(start, { pc: start, body, end, count });
  }
  const first = blocks.get(entry);
  if (first === undefined || first.count === 0) return undefined;
  return {
    entry,
    blocks: [...blocks.values()].sort((a, b) => a.pc - b.pc),
    returns: [...returnPoints].filter((pc) => blocks.has(pc)),
    pages: [...pages],
  };
}

// ---- locals ------------------------------------------------------------------
// 0 is the parameter (budget left); 1..31 hold x1..x31.
const LEFT = 0;
const NEXT_PC = 32; // i64: where the guest continues
const ADDR = 33;    // i64: a guest (user) address
const BAIL = 34;    // i32: 1 when stopping before an instruction
const BLOCK = 35;   // i32: the block the dispatch loop enters next
const OFFSET = 36;  // i32: ADDR's offset in RAM; also an FP CSR's old value
const FRESULT = 37; // f64: a native binary64 result
const SRESULT = 38; // f32: a native binary32 result
const F_LOCALS = 39; // f64: f0..f31 (their bits, NaN-boxed singles too)
const BAIL_CODE = 71; // i32: where a shared bail stops, (pc - base) << 9 | instructions undone
// A system VM's (the TLB's state cannot change inside a region: only
// sfence.vma, satp writes and the interpreter's walks change it).
const GEN_TAG = 72;   // i64: the TLB's generation, as its tags hold it
const RAM_START = 73; // i64: RAM's guest physical address
const RAM_BYTES = 74; // i64: RAM's size
const ENTRY = 75;     // i64: a TLB entry's data, then the access's offset in RAM
const PERMS = 76;     // i32: the permission table for the current privilege, SUM and MXR
// A process VM's block: the offsets in RAM of accesses later ones in the
// same page may reuse (address()).
const CHECKED = 77;
const CHECKED_COUNT = 8;
const TLB_INDEX = CHECKED + CHECKED_COUNT; // i32: an access's entry in the translations' TLB, times 16
const LOCALS = [{ count: 33, type: I64 }, { count: 3, type: I32 }, { count: 1, type: F64 }, { count: 1, type: F32 }, { count: 32, type: F64 }, { count: 1, type: I32 },
  { count: 4, type: I64 }, { count: 1, type: I32 }, { count: CHECKED_COUNT + 1, type: I32 }];

// A bail site sets BAIL_CODE and branches to one handler per function,
// which turns it into NEXT_PC and the budget given back: 11 bytes a site
// instead of some 20 (loads and stores have one each). Its fields bound it.
const UNDONE_BITS = 9;          // instructions given back: at most MAX_INSTRUCTIONS
const BAIL_SPAN = 1 << 22;      // pc - base, so that the code stays a positive i32

/** The function (its body for a code section) for a region found by discover. */
export function emitRegion(config: EmitConfig, region: Region): RegionCode {
  return new Emitter(config, region).function();
}

/** Copies of the code pages a region may be found in (the guest's memory
 *  stays where it is): each 4 KiB page at `base` is code. */
export interface CodeSnapshot {
  pages: { base: number; bytes: Uint8Array }[];
  /** The jump targets in them the interpreter has been to (TranslateEnv.visited). */
  visited?: number[];
}

/** A TranslateEnv reading a snapshot instead of guest memory. */
export function snapshotEnv(config: EmitConfig, snapshot: CodeSnapshot, expand: (parcel: number) => number): TranslateEnv {
  const page = (pc: number) => snapshot.pages.find((p) => pc >= p.base && pc < p.base + PAGE);
  const visited = snapshot.visited && new Set(snapshot.visited);
  return {
    ...config, expand,
    visited: visited && ((pc) => visited.has(pc)),
    isCode: (pc) => page(pc) !== undefined,
    parcel: (pc) => {
      const p = page(pc)!, i = pc - p.base;
      return p.bytes[i] | (p.bytes[i + 1] << 8);
    },
  };
}

/** A module of translations: it imports the CPU's memory and a function
 *  table (`cpu.table`: a generation's, jit.ts; helpers and chained regions
 *  are called through it), declares each helper's type (HELPERS order),
 *  and exports function i, of type (i64) -> i64 (type REGION_TYPE), as
 *  `${i}`. */
export function moduleOf(functions: readonly RegionCode[]): Uint8Array<ArrayBuffer> {
  return moduleBytes({
    memory: { module: 'cpu', name: 'memory' }, functions: [],
    types: HELPERS.map((h) => SIGNATURES[h]),
    table: { module: 'cpu', name: 'table' },
    params: [I64], results: [I64], bodies: functions.map((f) => f.body),
  });
}

class Emitter {
  private c = new Code();
  private readonly index = new Map<number, number>();
  private readonly used = new Set<number>();
  private readonly written = new Set<number>();
  private readonly fUsed = new Set<number>();
  private readonly fWritten = new Set<number>();
  // Branch depths from the current point to the dispatch loop and the
  // bail handler's block; the exit block is one further out.
  private toLoop = 0;
  private toBail = 0;
  /** From the current block's top level to the end of the structure
   *  before the next block's code: 1 in a block that is its own loop. */
  private toNext = 0;
  /** Accesses checked earlier in the current block (address()), by base
   *  register and permission (base * 4 + perm): the immediate and the local
   *  holding the offset in RAM. */
  private readonly checked = new Map<number, { imm: number; local: number }>();
  private nextChecked = 0;
  /** Some access goes through the TLB (a system VM's): the prologue loads its state. */
  private tlbUsed = false;

  private readonly blocks: Block[];
  /** For each block, the budget tested on entry (budgetTests), 0 for none. */
  private readonly budgetTest: number[];
  /** The lowest pc of the region: bail codes count from it. */
  private readonly base: number;
  private readonly sharedBail: boolean;

  constructor(private readonly env: EmitConfig, private readonly region: Region) {
    this.blocks = region.blocks;
    this.blocks.forEach((b, i) => this.index.set(b.pc, i));
    this.base = this.blocks[0].pc;
    this.sharedBail = this.blocks[this.blocks.length - 1].pc + 4 * MAX_INSTRUCTIONS - this.base < BAIL_SPAN;
    this.budgetTest = this.budgetTests();
  }

  /** Where the budget is tested, and for how much. A block entered only
   *  from earlier blocks of the region (plain forward branches) is covered
   *  by the test of the block that began the path to it: the region's
   *  entry, or a block some block at or after it continues at (a loop's
   *  head, reached through the dispatch loop or a loop of its own). Such a
   *  head tests for the longest run of instructions from it to the next
   *  head or out of the region, so that every block on the way only
   *  subtracts its length. A head without that much budget stops before
   *  its first instruction, as a block without its own length did, and the
   *  interpreter takes over: the same instructions retire either way, the
   *  last few hundred of a slice interpreted. */
  private budgetTests(): number[] {
    const n = this.blocks.length;
    const next = this.blocks.map((b) => this.targets(b).map((pc) => this.index.get(pc)).filter((j) => j !== undefined));
    const head = this.blocks.map((b) => b.pc === this.region.entry);
    next.forEach((js, k) => { for (const j of js) if (j <= k) head[j] = true; });
    // Blocks in address order: forward edges go to higher indices, so one
    // pass from the last block gives every block its longest run.
    const run = new Array<number>(n).fill(0);
    for (let k = n - 1; k >= 0; k--) {
      const after = next[k].filter((j) => j > k && !head[j]).map((j) => run[j]);
      run[k] = this.blocks[k].count + Math.max(0, ...after);
    }
    return run.map((r, k) => (head[k] ? r : 0));
  }

  function(): RegionCode {
    const body = this.c;
    const n = this.blocks.length;
    const entryIndex = this.index.get(this.region.entry)!;
    // The code, first into a buffer of its own: the prologue needs to know
    // which registers it uses.
    const main = new Code();
    const saved = this.swap(main);
    if (entryIndex !== 0) this.c.i32(entryIndex).set(BLOCK);
    this.c.block().block().loop(); // exit, bail handler, dispatch
    for (let i = n - 1; i >= 0; i--) this.c.block();
    this.c.get(BLOCK).brTable(this.blocks.map((_, i) => i), 0).end();
    this.blocks.forEach((b, k) => {
      // A block that branches to itself (a loop's body) is a loop of its
      // own, so that its back edge is a plain branch.
      const own = this.targets(b).includes(b.pc) ? 1 : 0;
      if (own) this.c.loop();
      this.toNext = own;
      this.toLoop = n - 1 - k + own;
      this.toBail = n - k + own;
      this.emitBlock(b, k);
      if (own) this.c.end();
      if (k < n - 1) this.c.end();
    });
    this.c.end(); // loop (never falls out: every block ends in a branch)
    this.c.end(); // the bail handler's block
    if (this.sharedBail) {
      this.c.i32(1).set(BAIL);
      this.c.get(BAIL_CODE).i32(UNDONE_BITS).op(Op.i32_shr_u).op(Op.i64_extend_i32_u).i64(pcConst(this.base)).op(Op.i64_add).set(NEXT_PC);
      this.c.get(LEFT).get(BAIL_CODE).i32((1 << UNDONE_BITS) - 1).op(Op.i32_and).op(Op.i64_extend_i32_u).op(Op.i64_add).set(LEFT);
    }
    this.c.end(); // exit block
    this.swap(saved);

    // Prologue: in a system VM, F and D need sstatus.FS Dirty (usesFloat);
    // else nothing runs, and the interpreter takes the first instruction.
    const { X_REGS, F_REGS, PC } = this.env.layout;
    const sys = this.env.system;
    if (sys !== undefined && this.blocks.some((b) => b.body.some((i) => usesFloat(i.op)))) {
      body.i32(0).mem(Op.i64_load, 3, sys.SSTATUS).i64(FS_DIRTY).op(Op.i64_and).i64(FS_DIRTY).op(Op.i64_ne).if();
      body.i32(0).i64(pcConst(this.region.entry)).mem(Op.i64_store, 3, PC).get(LEFT).i64(1n << 63n).op(Op.i64_or).op(Op.return).end();
    }
    // The registers the region uses, from the CPU's state.
    const sorted = (set: Set<number>) => [...set].sort((a, b) => a - b);
    for (const r of sorted(this.used)) body.i32(0).mem(Op.i64_load, 3, X_REGS + r * 8).set(r);
    for (const r of sorted(this.fUsed)) body.i32(0).mem(Op.f64_load, 3, F_REGS + r * 8).set(F_LOCALS + r);
    if (sys !== undefined && this.tlbUsed) {
      body.i32(0).mem(Op.i64_load, 3, sys.TLB_GEN).i64(52n).op(Op.i64_shl).set(GEN_TAG);
      body.i32(0).mem(Op.i64_load, 3, sys.RAM_BASE).set(RAM_START);
      body.i32(0).mem(Op.i64_load, 3, sys.RAM_SIZE).set(RAM_BYTES);
      body.i32(0).mem(Op.i32_load, 2, sys.MMU_PERMS).set(PERMS);
    }
    const counter = this.env.countEntries;
    if (counter !== undefined) body.i32(0).i32(0).mem(Op.i64_load, 3, counter).i64(1n).op(Op.i64_add).mem(Op.i64_store, 3, counter);
    body.bytes(main.view());
    // Epilogue: registers written, the next pc, the budget left.
    for (const r of sorted(this.written)) body.i32(0).get(r).mem(Op.i64_store, 3, X_REGS + r * 8);
    for (const r of sorted(this.fWritten)) body.i32(0).get(F_LOCALS + r).mem(Op.f64_store, 3, F_REGS + r * 8);
    body.i32(0).get(NEXT_PC).mem(Op.i64_store, 3, PC);
    if (this.env.chain) this.chainTo(body, this.env.chain);
    body.get(LEFT).get(BAIL).op(Op.i64_extend_i32_u).i64(63n).op(Op.i64_shl).op(Op.i64_or);

    return { body: functionBody(LOCALS, body), instructions: this.blocks.reduce((s, b) => s + b.count, 0), blocks: n };
  }

  /** The epilogue's tail call ("Chaining"): with budget left and not
   *  stopped short, the translation of NEXT_PC if the map holds one (the
   *  interpreter's lookup, assembly/cpu.ts: entry (pc >> 1) & mask, 16
   *  bytes of { u64 pc, u32 function, u32 visits }). BLOCK and OFFSET are
   *  free by now: they hold the entry's address and its function. */
  private chainTo(body: Code, chain: NonNullable<EmitConfig['chain']>): void {
    // Each test a branch of its own (V8 would compute and combine the
    // values of tests joined by i32.and before branching once).
    body.get(BAIL).op(Op.i32_eqz).if().get(LEFT).op(Op.i64_eqz).op(Op.i32_eqz).if();
    body.get(NEXT_PC).i64(1).op(Op.i64_shr_u).op(Op.i32_wrap_i64).i32(chain.JIT_MAP_ENTRIES - 1).op(Op.i32_and).i32(4).op(Op.i32_shl).set(BLOCK);
    body.get(BLOCK).mem(Op.i64_load, 3, chain.JIT_MAP).get(NEXT_PC).op(Op.i64_eq).if();
    body.get(BLOCK).mem(Op.i32_load, 2, chain.JIT_MAP + 8).tee(OFFSET).if();
    body.get(OFFSET).i32(chain.JIT_NEVER).op(Op.i32_ne).if();
    body.get(LEFT).get(OFFSET).returnCallIndirect(REGION_TYPE, 0);
    body.end().end().end().end().end();
  }

  private swap(c: Code): Code {
    const old = this.c;
    this.c = c;
    return old;
  }

  /** Calls helper `h` (its arguments on the stack) through the CPU's table;
   *  its type's index in a module is its place in HELPERS (moduleOf). */
  private callHelper(h: Helper): void {
    const i = HELPERS.indexOf(h);
    this.c.i32(this.env.helpers[i]).callIndirect(i, 0);
  }

  // ---- registers ----
  private read(r: number): void {
    if (r === 0) this.c.i64(0n);
    else { this.used.add(r); this.c.get(r); }
  }

  /** Stores the value on the stack into x[r] (dropped for x0). */
  private write(r: number): void {
    if (r === 0) this.c.op(Op.drop);
    else {
      this.used.add(r); this.written.add(r); this.c.set(r);
      // Accesses through r (loads, perm 1, and stores, 2) no longer say where r points.
      this.checked.delete(r * 4 + 1);
      this.checked.delete(r * 4 + 2);
    }
  }

  // ---- control ----
  /** Leaves the region for `pc` (the interpreter looks it up). `nest` is how
   *  many structures deeper than the block's top level the code is. */
  private exitTo(pc: number, nest: number): void {
    this.c.i64(pcConst(pc)).set(NEXT_PC).br(this.toBail + 1 + nest);
  }

  /** Continues at `pc`: inside the region through the dispatch loop (or by
   *  falling into the next block), else by leaving it. */
  private goto(pc: number, k: number, nest: number, atEnd: boolean): void {
    const j = this.index.get(pc);
    if (j === undefined) { this.exitTo(pc, nest); return; }
    if (atEnd && nest === 0 && j === k + 1) return;
    // Later blocks are reached by a plain branch out of the blocks around
    // them (block j's code follows the end of the (j - k)th structure out),
    // the block itself by its own loop; earlier ones by the dispatch loop.
    if (j > k) this.c.br(this.toNext + j - k - 1 + nest);
    else if (j === k && this.toNext === 1) this.c.br(nest);
    else this.c.i32(j).set(BLOCK).br(this.toLoop + nest);
  }

  /** With a condition on the stack: if it holds, stop before the instruction
   *  at `pc`, giving back the `undone` instructions already counted. `nest`
   *  as for exitTo. */
  private bailIf(pc: number, undone: number, nest = 0): void {
    this.c.if();
    this.bail(pc, undone, nest);
    this.c.end();
  }

  /** bailIf's stop, inside an `if` of the caller's own at the depth of
   *  bailIf's. */
  private bail(pc: number, undone: number, nest: number): void {
    const c = this.c;
    if (this.sharedBail) {
      c.i32((pc - this.base) * (1 << UNDONE_BITS) + undone).set(BAIL_CODE).br(this.toBail + 1 + nest);
      return;
    }
    c.i64(pcConst(pc)).set(NEXT_PC).i32(1).set(BAIL);
    if (undone > 0) c.get(LEFT).i64(undone).op(Op.i64_add).set(LEFT);
    c.br(this.toBail + 2 + nest);
  }

  /** The pcs a block's end may continue at (inside the region or not). */
  private targets(b: Block): number[] {
    const end = b.end;
    switch (end.kind) {
      case 'fall': return [end.next];
      case 'stop': return [];
      case 'jal': return [end.inst.pc + immJ(end.inst.op)];
      case 'jalr': return this.region.returns;
      case 'branch': return [end.inst.pc + immB(end.inst.op), end.inst.pc + end.inst.len];
    }
  }

  private emitBlock(b: Block, k: number): void {
    const c = this.c;
    this.checked.clear();
    this.nextChecked = 0;
    // Enough budget for the run this block begins (budgetTests), or the
    // interpreter goes on alone.
    const test = this.budgetTest[k];
    if (test > 0) {
      c.get(LEFT).i64(test).op(Op.i64_lt_u);
      this.bailIf(b.pc, 0);
    }
    if (b.count > 0) c.get(LEFT).i64(b.count).op(Op.i64_sub).set(LEFT);
    b.body.forEach((inst, i) => this.emitInst(inst, b.count - i));
    const end = b.end;
    switch (end.kind) {
      case 'fall': this.goto(end.next, k, 0, true); break;
      case 'stop': c.i64(pcConst(end.at)).set(NEXT_PC).i32(1).set(BAIL).br(this.toBail + 1); break;
      case 'jal': {
        const { pc, len, op } = end.inst;
        if (rd(op) !== 0) { c.i64(pcConst(pc + len)); this.write(rd(op)); }
        this.goto(pc + immJ(op), k, 0, true);
        break;
      }
      case 'jalr': {
        const { pc, len, op } = end.inst;
        this.read(rs1(op));
        c.i64(immI(op)).op(Op.i64_add).i64(-2).op(Op.i64_and).set(NEXT_PC);
        if (rd(op) !== 0) { c.i64(pcConst(pc + len)); this.write(rd(op)); }
        // Returns to a call made inside the region stay inside it.
        for (const back of this.region.returns) {
          c.get(NEXT_PC).i64(pcConst(back)).op(Op.i64_eq).if();
          this.goto(back, k, 1, false);
          c.end();
        }
        c.br(this.toBail + 1);
        break;
      }
      case 'branch': {
        const { pc, len, op } = end.inst;
        this.read(rs1(op));
        this.read(rs2(op));
        c.op([Op.i64_eq, Op.i64_ne, 0, 0, Op.i64_lt_s, Op.i64_ge_s, Op.i64_lt_u, Op.i64_ge_u][funct3(op)]);
        c.if();
        this.goto(pc + immB(op), k, 1, false);
        c.end();
        this.goto(pc + len, k, 0, true);
        break;
      }
    }
  }

  /** One instruction of a block's body; `remaining` counts it and those after it. */
  private emitInst(inst: Inst, remaining: number): void {
    const { op, pc } = inst;
    const c = this.c;
    switch (op & 0x7f) {
      case 0x37: c.i64(immU(op)); this.write(rd(op)); return;                    // LUI
      case 0x17: c.i64(BigInt.asIntN(64, pcConst(pc) + BigInt(immU(op)))); this.write(rd(op)); return; // AUIPC
      case 0x0f: return;                                                         // FENCE, FENCE.I
      case 0x03: this.emitLoad(inst, remaining); return;
      case 0x23: this.emitStore(inst, remaining); return;
      case 0x13: this.emitOpImm(op); this.write(rd(op)); return;
      case 0x1b: this.emitOpImm32(op); this.write(rd(op)); return;
      case 0x33: this.emitOp(op); this.write(rd(op)); return;
      case 0x3b: this.emitOp32(op); this.write(rd(op)); return;
      case 0x07: this.emitLoadFp(inst, remaining); return;
      case 0x27: this.emitStoreFp(inst, remaining); return;
      case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53: this.emitFloat(inst, remaining); return;
      case 0x73: this.emitFpCsr(op); return;
    }
    throw new Error(`translate: no emitter for 0x${op.toString(16)}`);
  }

  // ---- memory ----
  /** Leaves the access's offset in RAM on the stack, after stopping before
   *  the instruction if the access leaves the user range, crosses a page
   *  (the interpreter handles both) or its page's permissions lack `perm`.
   *  An access in the page of one made earlier in the block from the same
   *  base register (unchanged since), with at least its permission, needs
   *  only to be in that page: its offset is that access's plus the
   *  difference of their immediates (pages keep their RAM and permissions
   *  for the whole block: only system calls, which end blocks, and ring -1,
   *  between runs, change them). Function prologues and epilogues, and
   *  structures read through one pointer, are runs of such accesses. */
  private address(inst: Inst, base: number, imm: number, size: number, perm: number, remaining: number): void {
    if (this.env.system !== undefined) { this.tlbAddress(inst, base, imm, size, perm, remaining, this.env.system); return; }
    const c = this.c;
    const key = base * 4 + perm;
    const earlier = base === 0 ? undefined : this.checked.get(key);
    if (earlier === undefined) {
      this.checkedAddress(inst, base, imm, size, perm, remaining, 0);
    } else {
      const d = imm - earlier.imm;
      c.get(earlier.local).i32(0xfff).op(Op.i32_and).i32(d).op(Op.i32_add).i32(0x1000 - size).op(Op.i32_le_u).if();
      c.get(earlier.local).i32(d).op(Op.i32_add).set(OFFSET);
      c.op(Op.else);
      this.checkedAddress(inst, base, imm, size, perm, remaining, 1);
      c.end();
    }
    // This access is the one later ones compare with (x0 is no base worth
    // a local: such accesses are rare).
    const local = base === 0 ? undefined : earlier?.local ?? (this.nextChecked < CHECKED_COUNT ? CHECKED + this.nextChecked++ : undefined);
    if (local !== undefined) {
      c.get(OFFSET).set(local);
      this.checked.set(key, { imm, local });
    }
    c.get(OFFSET);
  }

  /** address()'s whole test, leaving the offset in OFFSET; `nest` as for
   *  bailIf. The translations' TLB (assembly/layout.ts, USER_TLB) holds, for
   *  loads and for stores apart, pages that allow them: an access hits
   *  when the entry at its page's index has the page of its last byte
   *  (which no address outside the user range, or crossing a page, can
   *  match), and its offset is its address plus the entry's addend. A miss
   *  writes the access to USER_TLB_MISS and stops before it: the
   *  interpreter fills the entry (if the page allows the access) and makes
   *  the access. No call here: V8 would keep every live value (the guest's
   *  registers) in memory around one. */
  private checkedAddress(inst: Inst, base: number, imm: number, size: number, perm: number, remaining: number, nest: number): void {
    const { layout } = this.env;
    const c = this.c;
    const table = perm & 2 ? layout.USER_TLB_STORES : layout.USER_TLB;
    this.read(base);
    if (imm !== 0) c.i64(imm).op(Op.i64_add);
    c.tee(ADDR).op(Op.i32_wrap_i64).i32(8).op(Op.i32_shr_u).i32((layout.USER_TLB_ENTRIES - 1) << 4).op(Op.i32_and).tee(TLB_INDEX);
    c.mem(Op.i64_load, 3, table);
    c.get(ADDR);
    if (size > 1) c.i64(size - 1).op(Op.i64_add);
    c.i64(~0xfffn).op(Op.i64_and).op(Op.i64_ne);
    c.if().i32(0).get(ADDR).mem(Op.i64_store, 3, layout.USER_TLB_MISS).i32(0).i32(size | perm << 8).mem(Op.i32_store, 2, layout.USER_TLB_MISS_KIND);
    this.bail(inst.pc, remaining, nest);
    c.end();
    c.get(ADDR).op(Op.i32_wrap_i64).get(TLB_INDEX).mem(Op.i32_load, 2, table + 8).op(Op.i32_add).set(OFFSET);
  }

  /** Under the MMU (a system VM): address() through the interpreter's TLB
   *  (assembly/mmu.ts translate: its hit path inline, the entry's tag with
   *  the current generation and its permissions in the current table; on
   *  a miss its slow path, jitTranslate), and the physical bytes must be
   *  RAM and not cross the page. Anything else (a fault, MMIO, a store to
   *  translated code: an entry with TLB_CODE) stops before the
   *  instruction, and the interpreter faults, exits or splits as ever. A
   *  store marks its page in the dirty-page log, as the slow paths do
   *  (layout.ts, DIRTY_MAP: marking with the log off is harmless). */
  private tlbAddress(inst: Inst, base: number, imm: number, size: number, perm: number, remaining: number, sys: NonNullable<EmitConfig['system']>): void {
    const c = this.c;
    this.tlbUsed = true;
    this.read(base);
    if (imm !== 0) c.i64(imm).op(Op.i64_add);
    c.set(ADDR);
    // An access that crosses a page: the interpreter's (its halves may lie anywhere).
    if (size > 1) {
      c.get(ADDR).op(Op.i32_wrap_i64).i32(0xfff).op(Op.i32_and).i32(0x1000 - size).op(Op.i32_gt_u);
      this.bailIf(inst.pc, remaining);
    }
    // A hit: the entry has the tag of this page and generation,
    c.get(ADDR).i64(12n).op(Op.i64_shr_u).get(GEN_TAG).op(Op.i64_or);
    c.get(ADDR).op(Op.i32_wrap_i64).i32(12).op(Op.i32_shr_u).i32(sys.TLB_ENTRIES - 1).op(Op.i32_and).i32(4).op(Op.i32_shl).tee(OFFSET);
    c.mem(Op.i64_load, 3, sys.TLB).op(Op.i64_eq);
    // allows the access (a stale entry's bits are read too, harmlessly: any byte of the table),
    c.get(OFFSET).mem(Op.i64_load, 3, sys.TLB + 8).tee(ENTRY).i64(1n).op(Op.i64_shr_u).op(Op.i32_wrap_i64).i32(127).op(Op.i32_and)
      .get(PERMS).op(Op.i32_add).mem(Op.i32_load8_u, 0, 0).i32(perm).op(Op.i32_and).i32(perm).op(Op.i32_eq).op(Op.i32_and);
    // and, for a store, is not for translated code (TLB_CODE).
    if (perm & 2) c.get(ENTRY).i64(sys.TLB_CODE).op(Op.i64_and).op(Op.i64_eqz).op(Op.i32_and);
    // The physical address: the entry's, or the interpreter's slow path's
    // (jitTranslate: a walk, where the interpreter would walk).
    c.if().get(ENTRY).i64(~0xfffn).op(Op.i64_and).get(ADDR).i64(0xfffn).op(Op.i64_and).op(Op.i64_or).set(ENTRY);
    c.op(Op.else).get(ADDR).i32(perm); this.callHelper('jitTranslate'); c.set(ENTRY).end();
    // Its offset in RAM, with room for the access (none: a fault, MMIO or
    // a store to translated code, left to the interpreter).
    c.get(ENTRY).get(RAM_START).op(Op.i64_sub).tee(ENTRY).get(RAM_BYTES).i64(size).op(Op.i64_sub).op(Op.i64_gt_u);
    this.bailIf(inst.pc, remaining);
    if (perm & 2) c.get(ENTRY).i64(12n).op(Op.i64_shr_u).op(Op.i32_wrap_i64).i32(1).mem(Op.i32_store8, 0, sys.DIRTY_MAP);
    c.get(ENTRY).op(Op.i32_wrap_i64);
  }

  private emitLoad(inst: Inst, remaining: number): void {
    const f3 = funct3(inst.op);
    const size = 1 << (f3 & 3);
    this.address(inst, rs1(inst.op), immI(inst.op), size, 1, remaining);
    const o = [Op.i64_load8_s, Op.i64_load16_s, Op.i64_load32_s, Op.i64_load, Op.i64_load8_u, Op.i64_load16_u, Op.i64_load32_u][f3];
    this.c.mem(o, f3 & 3, this.env.layout.RAM_OFFSET);
    this.write(rd(inst.op));
  }

  private emitStore(inst: Inst, remaining: number): void {
    const f3 = funct3(inst.op);
    this.address(inst, rs1(inst.op), immS(inst.op), 1 << f3, 2, remaining);
    this.read(rs2(inst.op));
    this.c.mem([Op.i64_store8, Op.i64_store16, Op.i64_store32, Op.i64_store][f3], f3, this.env.layout.RAM_OFFSET);
  }

  // ---- f registers: in f64 locals, like the x registers (loaded in the
  // prologue if used, stored in the epilogue if written). WebAssembly's
  // locals, loads, stores and reinterpretations keep every bit, NaN
  // payloads included (core spec, "Numerics": only arithmetic may change a
  // NaN), so a NaN-boxed single or a signalling NaN passes through intact.
  private fget(r: number): void { this.fUsed.add(r); this.c.get(F_LOCALS + r); }
  private fset(r: number): void { this.fUsed.add(r); this.fWritten.add(r); this.c.set(F_LOCALS + r); }
  /** f[r]'s 64 bits as an i64. */
  private fbits(r: number): void { this.fget(r); this.c.op(Op.i64_reinterpret_f64); }
  private setFbits(r: number): void { this.c.op(Op.f64_reinterpret_i64); this.fset(r); }
  /** f[r]'s low 32 bits, as an i32 and as an f32. */
  private fword(r: number): void { this.fbits(r); this.c.op(Op.i32_wrap_i64); }
  private fsingle(r: number): void { this.fword(r); this.c.op(Op.f32_reinterpret_i32); }

  private emitLoadFp(inst: Inst, remaining: number): void {
    const c = this.c, double = funct3(inst.op) === 3;
    this.address(inst, rs1(inst.op), immI(inst.op), double ? 8 : 4, 1, remaining);
    if (double) c.mem(Op.i64_load, 3, this.env.layout.RAM_OFFSET);
    else c.mem(Op.i64_load32_u, 2, this.env.layout.RAM_OFFSET).i64(0xffff_ffff_0000_0000n).op(Op.i64_or); // NaN-boxed
    this.setFbits(rd(inst.op));
  }

  private emitStoreFp(inst: Inst, remaining: number): void {
    const c = this.c, double = funct3(inst.op) === 3;
    this.address(inst, rs1(inst.op), immS(inst.op), double ? 8 : 4, 2, remaining);
    this.fbits(rs2(inst.op));
    c.mem(double ? Op.i64_store : Op.i64_store32, double ? 3 : 2, this.env.layout.RAM_OFFSET);
  }

  // ---- F and D arithmetic (unprivileged spec, "F" and "D") ----
  /** The instruction through the interpreter's own code (jitFloat), on the
   *  state in memory: its sources (integer and f registers) and its integer
   *  destination go to memory first, its destination comes back after.
   *  `nest` as for bailIf. */
  private callFloat(inst: Inst, remaining: number, nest: number): void {
    const c = this.c, { X_REGS, F_REGS } = this.env.layout;
    const { src, dst } = fpIntegerRegisters(inst.op);
    const f = fpFloatRegisters(inst.op);
    for (const r of new Set([src, dst])) {
      if (r !== undefined && r !== 0) { c.i32(0); this.read(r); c.mem(Op.i64_store, 3, X_REGS + r * 8); }
    }
    for (const r of f.src) { c.i32(0); this.fget(r); c.mem(Op.f64_store, 3, F_REGS + r * 8); }
    c.i32(inst.op); this.callHelper('jitFloat');
    this.bailIf(inst.pc, remaining, nest);
    if (dst !== undefined && dst !== 0) { c.i32(0).mem(Op.i64_load, 3, X_REGS + dst * 8); this.write(dst); }
    if (f.dst !== undefined) { c.i32(0).mem(Op.f64_load, 3, F_REGS + f.dst * 8); this.fset(f.dst); }
  }

  /** F and D: natively when nativeFloat has a plan for the instruction,
   *  under its condition, else (or when the condition fails at run time)
   *  through the helper. */
  private emitFloat(inst: Inst, remaining: number): void {
    const c = this.c;
    const plan = (inst.op & 0x7f) === 0x53 ? this.nativeFloat(inst.op) : undefined;
    if (plan === undefined) { this.callFloat(inst, remaining, 0); return; }
    if (plan.when === undefined) { plan.then(); return; }
    plan.when();
    c.if();
    plan.then();
    c.op(Op.else);
    this.callFloat(inst, remaining, 1);
    c.end();
  }

  /** i32: 1 when f[r] holds a properly NaN-boxed single (its upper half all
   *  ones); any other value reads as the canonical NaN ("NaN Boxing of
   *  Narrower Values"), which the helper handles. */
  private boxed(...regs: number[]): void {
    const c = this.c;
    regs.forEach((r, i) => { this.fbits(r); if (i > 0) c.op(Op.i64_and); });
    c.i64(32n).op(Op.i64_shr_u).i64(0xffff_ffffn).op(Op.i64_eq);
  }

  /** i32: 1 when fflags.NX is already set and the rounding mode is
   *  round-to-nearest-even (rm 0, or rm DYN with frm 0). Then a native
   *  WebAssembly result (IEEE 754 roundTiesToEven) is the RISC-V result,
   *  and the only flags left to decide are OF, UF, NV and DZ, which the
   *  result checks exclude. */
  private nearestEvenAndInexact(rm: number): void {
    this.c.i32(0).mem(Op.i32_load, 2, this.env.layout.FCSR).i32(rm === RM_DYN ? 0xe1 : 0x01).op(Op.i32_and).i32(1).op(Op.i32_eq);
  }

  /** i32: 1 when fflags.NX is already set. */
  private inexactSet(): void {
    this.c.i32(0).mem(Op.i32_load, 2, this.env.layout.FCSR).i32(1).op(Op.i32_and);
  }

  /** i32: 1 when the rounding mode is a legal one (rm <= 4, or DYN with
   *  frm <= 4); for a static rm 0-4 it pushes nothing (`false` returned). */
  private legalRm(rm: number): boolean {
    if (rm !== RM_DYN) return false;
    this.c.i32(0).mem(Op.i32_load, 2, this.env.layout.FCSR).i32(0xe0).op(Op.i32_and).i32(0xa0).op(Op.i32_lt_u);
    return true;
  }

  /** i32 on the stack: whether the native result in FRESULT (`single`:
   *  SRESULT) is finite and, with `normal`, at least 2^(emin+1): the
   *  smallest normal's binade is left out, where a value rounded up to
   *  2^emin may still be tiny before rounding and raise UF. */
  private resultCheck(single: boolean, normal: boolean): void {
    const c = this.c;
    if (single) {
      c.get(SRESULT).op(Op.f32_abs).f32(Infinity).op(Op.f32_lt);
      if (normal) c.get(SRESULT).op(Op.f32_abs).f32(2 ** -125).op(Op.f32_ge).op(Op.i32_and);
    } else {
      c.get(FRESULT).op(Op.f64_abs).f64(Infinity).op(Op.f64_lt);
      if (normal) c.get(FRESULT).op(Op.f64_abs).f64(2 ** -1021).op(Op.f64_ge).op(Op.i32_and);
    }
  }

  /** Writes the native result to f[r], NaN-boxed for a single. */
  private storeResult(r: number, single: boolean): void {
    const c = this.c;
    if (single) {
      c.get(SRESULT).op(Op.i32_reinterpret_f32).op(Op.i64_extend_i32_u).i64(0xffff_ffff_0000_0000n).op(Op.i64_or);
      this.setFbits(r);
    } else {
      c.get(FRESULT); this.fset(r);
    }
  }

  /**
   * How to run an OP-FP instruction natively: `when` pushes an i32
   * condition (computing the result into FRESULT / SRESULT on the way), and
   * `then` writes the result; undefined sends it to the helper always.
   *
   * Arithmetic (the hardfloat idea): WebAssembly's f32/f64 add, sub, mul,
   * div and sqrt are IEEE 754 operations rounded to nearest-even (core spec,
   * "Floating-Point Operations"), so with rm = RNE their finite, non-NaN
   * results are the RISC-V results, bit for bit, including the sign of an
   * exact zero (x - x = +0). What they do not give is the flags, so they are
   * used only when fflags.NX is already set (the common state of a program
   * after its first inexact operation, which the helper performs) and the
   * result rules out every other flag:
   *   - add, sub: a finite result means finite operands (an infinite or NaN
   *     operand gives inf or NaN), so no NV and no OF (RNE overflows to inf);
   *     a sum below the smallest normal is exact (both operands are
   *     multiples of the smallest subnormal), so never UF.
   *   - mul, div: finite and >= 2^(emin+1) (twice the smallest normal): no
   *     NV, DZ (x/0 is inf), OF, and not tiny, so no UF. Zero and tiny
   *     results go to the helper.
   *   - sqrt: finite means the operand was +0, -0 (exact, sign kept) or
   *     positive finite (a negative gives NaN); a root of a non-zero is
   *     never tiny; so no flag but NX.
   * Sign injection, moves, comparisons, min/max and the exact conversions
   * need no flag state: they are native whenever the operands are not NaN
   * (and singles are NaN-boxed), when the helper would raise nothing either.
   * Conversions to integers are native when the rounded value is in range
   * (no NV) and either exact or NX is already set.
   */
  private nativeFloat(op: number): { when?: () => void; then: () => void } | undefined {
    const c = this.c;
    const f7 = funct7(op), f3 = funct3(op), a = rs1(op), b = rs2(op), d = rd(op);
    const single = (f7 & 3) === 0;
    if ((f7 & 3) > 1) return undefined; // H and Q: illegal
    const load = (r: number) => single ? this.fsingle(r) : this.fget(r);
    const notNaN = (...regs: number[]) => {
      if (single) this.boxed(...regs);
      regs.forEach((r, i) => {
        load(r); load(r); c.op(single ? Op.f32_eq : Op.f64_eq);
        if (i > 0 || single) c.op(Op.i32_and);
      });
    };
    switch (f7 >> 2) {
      case 0x00: case 0x01: case 0x02: case 0x03: case 0x0b: { // FADD, FSUB, FMUL, FDIV, FSQRT
        const sqrt = (f7 >> 2) === 0x0b;
        if (f3 !== RM_RNE && f3 !== RM_DYN) return undefined;
        if (sqrt && b !== 0) return undefined; // illegal
        const arith = single
          ? [Op.f32_add, Op.f32_sub, Op.f32_mul, Op.f32_div][f7 >> 2] ?? Op.f32_sqrt
          : [Op.f64_add, Op.f64_sub, Op.f64_mul, Op.f64_div][f7 >> 2] ?? Op.f64_sqrt;
        const normal = (f7 >> 2) === 0x02 || (f7 >> 2) === 0x03;
        return {
          when: () => {
            load(a);
            if (!sqrt) load(b);
            c.op(arith).set(single ? SRESULT : FRESULT);
            this.resultCheck(single, normal);
            this.nearestEvenAndInexact(f3);
            c.op(Op.i32_and);
            if (single) { if (sqrt) this.boxed(a); else this.boxed(a, b); c.op(Op.i32_and); }
          },
          then: () => this.storeResult(d, single),
        };
      }
      case 0x04: { // FSGNJ, FSGNJN, FSGNJX: rs1's magnitude, a sign from rs2
        if (f3 > 2) return undefined;
        const [and, xor, or, mag, sign] = single
          ? [Op.i32_and, Op.i32_xor, Op.i32_or, 0x7fff_ffff, 0x8000_0000]
          : [Op.i64_and, Op.i64_xor, Op.i64_or, 0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n];
        const konst = (v: number | bigint) => typeof v === 'bigint' ? c.i64(v) : c.i32(v);
        const word = (r: number) => single ? this.fword(r) : this.fbits(r);
        const then = () => {
          word(a); konst(mag); c.op(and);
          word(b);
          if (f3 === 1) { konst(single ? -1 : -1n); c.op(xor); }
          if (f3 === 2) { word(a); c.op(xor); }
          konst(sign); c.op(and).op(or);
          if (single) c.op(Op.i64_extend_i32_u).i64(0xffff_ffff_0000_0000n).op(Op.i64_or);
          this.setFbits(d);
        };
        return single ? { when: () => this.boxed(a, b), then } : { then };
      }
      case 0x05: // FMIN, FMAX: without NaNs, WebAssembly's min and max (-0 below +0) are minimumNumber and maximumNumber
        if (f3 > 1) return undefined;
        return {
          when: () => notNaN(a, b),
          then: () => {
            load(a); load(b);
            c.op(single ? (f3 === 0 ? Op.f32_min : Op.f32_max) : (f3 === 0 ? Op.f64_min : Op.f64_max));
            c.set(single ? SRESULT : FRESULT);
            this.storeResult(d, single);
          },
        };
      case 0x14: // FLE, FLT, FEQ: without NaNs, no flags (NV is for NaN operands only)
        if (f3 > 2) return undefined;
        return {
          when: () => notNaN(a, b),
          then: () => {
            load(a); load(b);
            c.op(single ? [Op.f32_le, Op.f32_lt, Op.f32_eq][f3] : [Op.f64_le, Op.f64_lt, Op.f64_eq][f3]).op(Op.i64_extend_i32_u);
            this.write(d);
          },
        };
      case 0x08: { // FCVT.S.D (rs2 1), FCVT.D.S (rs2 0)
        if (b !== (single ? 1 : 0) || f3 === 5 || f3 === 6) return undefined;
        if (!single) {
          // Widening is exact: only a NaN (canonical result, NV if signalling) needs the helper.
          return {
            when: () => {
              this.fsingle(a); c.op(Op.f64_promote_f32).tee(FRESULT).get(FRESULT).op(Op.f64_eq);
              this.boxed(a); c.op(Op.i32_and);
              if (this.legalRm(f3)) c.op(Op.i32_and);
            },
            then: () => this.storeResult(d, false),
          };
        }
        // Narrowing rounds: as arithmetic, a normal result not in the
        // smallest binade, with NX set and RNE.
        if (f3 !== RM_RNE && f3 !== RM_DYN) return undefined;
        return {
          when: () => {
            this.fget(a); c.op(Op.f32_demote_f64).set(SRESULT);
            this.resultCheck(true, true);
            this.nearestEvenAndInexact(f3); c.op(Op.i32_and);
          },
          then: () => this.storeResult(d, true),
        };
      }
      case 0x18: { // FCVT.{W,WU,L,LU}.{S,D}: static rm RNE, RTZ, RDN, RUP (RMM and DYN: the helper)
        if (b > 3 || f3 > 3) return undefined;
        // The operand rounded to an integer in binary64 (a single widens
        // exactly); in range, the conversion is exact, and the only flag is
        // NX when the rounding changed the value: native when it did not or
        // NX is already set. NaN fails every comparison, so it goes to the
        // helper, as infinities and out-of-range values (NV) do.
        const round = [Op.f64_nearest, Op.f64_trunc, Op.f64_floor, Op.f64_ceil][f3];
        const [lo, hi] = [[-(2 ** 31), 2 ** 31 - 1], [0, 2 ** 32 - 1], [-(2 ** 63), 2 ** 63], [0, 2 ** 64]][b];
        const hiOp = b >= 2 ? Op.f64_lt : Op.f64_le; // 2^63 and 2^64 are just out of range
        const operand = () => { if (single) { this.fsingle(a); c.op(Op.f64_promote_f32); } else this.fget(a); };
        return {
          when: () => {
            operand(); c.op(round).tee(FRESULT);
            c.f64(lo).op(Op.f64_ge);
            c.get(FRESULT).f64(hi).op(hiOp).op(Op.i32_and);
            operand(); c.get(FRESULT).op(Op.f64_eq);
            this.inexactSet(); c.op(Op.i32_or).op(Op.i32_and);
            if (single) { this.boxed(a); c.op(Op.i32_and); }
          },
          then: () => {
            c.get(FRESULT).truncSat((b & 1) === 1 ? TruncSat.i64_f64_u : TruncSat.i64_f64_s);
            if (b < 2) c.op(Op.i64_extend32_s); // 32-bit results live sign-extended (WU too)
            this.write(d);
          },
        };
      }
      case 0x1a: { // FCVT.{S,D}.{W,WU,L,LU}: exact when the integer fits the significand
        if (b > 3 || f3 === 5 || f3 === 6) return undefined;
        const bits = single ? 24 : 53;
        const wide = b >= 2, unsigned = (b & 1) === 1;
        // Every 32-bit integer is a binary64: always exact.
        const alwaysExact = !single && !wide;
        const value = () => {
          this.read(a);
          if (!wide) { c.i64(32n).op(Op.i64_shl).i64(32n).op(unsigned ? Op.i64_shr_u : Op.i64_shr_s); }
        };
        const when = alwaysExact ? (f3 === RM_DYN ? () => { this.legalRm(f3); } : undefined) : () => {
          // |v| <= 2^bits: exact. (Signed: v + 2^bits <= 2^(bits+1) unsigned.)
          value();
          if (!unsigned) c.i64(1n << BigInt(bits)).op(Op.i64_add);
          c.i64(1n << BigInt(unsigned ? bits : bits + 1)).op(Op.i64_le_u);
          if (this.legalRm(f3)) c.op(Op.i32_and);
          // Otherwise rounded, and a native conversion rounds to nearest-even.
          if (f3 === RM_RNE || f3 === RM_DYN) { this.nearestEvenAndInexact(f3); c.op(Op.i32_or); }
        };
        const conv = single
          ? [Op.f32_convert_i32_s, Op.f32_convert_i32_u, Op.f32_convert_i64_s, Op.f32_convert_i64_u][b]
          : [Op.f64_convert_i32_s, Op.f64_convert_i32_u, Op.f64_convert_i64_s, Op.f64_convert_i64_u][b];
        return {
          when,
          then: () => {
            this.read(a);
            if (!wide) c.op(Op.i32_wrap_i64);
            c.op(conv).set(single ? SRESULT : FRESULT);
            this.storeResult(d, single);
          },
        };
      }
      case 0x1c: // FMV.X.W (sign-extended, whatever the boxing), FMV.X.D; FCLASS stays with the helper
        if (b !== 0 || f3 !== 0) return undefined;
        return { then: () => { this.fbits(a); if (single) c.op(Op.i64_extend32_s); this.write(d); } };
      case 0x1e: // FMV.W.X (boxed), FMV.D.X
        if (b !== 0 || f3 !== 0) return undefined;
        return {
          then: () => {
            this.read(a);
            if (single) c.i64(0xffff_ffffn).op(Op.i64_and).i64(0xffff_ffff_0000_0000n).op(Op.i64_or);
            this.setFbits(d);
          },
        };
    }
    return undefined;
  }

  /** CSRRW/S/C(I) on fflags, frm, fcsr (isFpCsrAccess), as execCsr does
   *  them: the old value to x[rd], the new one written unless CSRRS/CSRRC
   *  has x0 (or zimm 0) as its source (Zicsr, "CSR Instructions"). */
  private emitFpCsr(op: number): void {
    const c = this.c, { FCSR } = this.env.layout;
    const csr = op >>> 20, f3 = funct3(op), a = rs1(op);
    const fcsr = () => c.i32(0).mem(Op.i32_load, 2, FCSR);
    fcsr();
    if (csr === 1) c.i32(0x1f).op(Op.i32_and);                            // fflags
    else if (csr === 2) c.i32(5).op(Op.i32_shr_u).i32(7).op(Op.i32_and);  // frm
    c.set(OFFSET);
    if (f3 === 1 || f3 === 5 || a !== 0) {
      const src = () => { if (f3 >= 5) c.i32(a); else { this.read(a); c.op(Op.i32_wrap_i64); } };
      c.i32(0);
      if ((f3 & 3) === 1) src();                                                      // CSRRW
      else if ((f3 & 3) === 2) { c.get(OFFSET); src(); c.op(Op.i32_or); }            // CSRRS
      else { c.get(OFFSET); src(); c.i32(-1).op(Op.i32_xor).op(Op.i32_and); }        // CSRRC
      if (csr === 1) { c.i32(0x1f).op(Op.i32_and); fcsr(); c.i32(0xe0).op(Op.i32_and).op(Op.i32_or); }
      else if (csr === 2) { c.i32(7).op(Op.i32_and).i32(5).op(Op.i32_shl); fcsr(); c.i32(0x1f).op(Op.i32_and).op(Op.i32_or); }
      else c.i32(0xff).op(Op.i32_and);
      c.mem(Op.i32_store, 2, FCSR);
    }
    c.get(OFFSET).op(Op.i64_extend_i32_u);
    this.write(rd(op));
  }

  // ---- arithmetic: each leaves its result on the stack ----
  private bool(): void { this.c.op(Op.i64_extend_i32_u); }

  /** 1 << (value on the stack) */
  private bit(): void {
    const c = this.c;
    // stack: shift amount; wasm masks 64-bit shift counts by 63, as RISC-V does.
    c.set(ADDR).i64(1n).get(ADDR).op(Op.i64_shl);
  }

  private emitOpImm(op: number): void {
    const c = this.c;
    const a = rs1(op), imm = immI(op), sh = immI(op) & 63, f6 = op >>> 26, i12 = op >>> 20;
    this.read(a);
    switch (funct3(op)) {
      case 0: if (imm !== 0) c.i64(imm).op(Op.i64_add); return;                  // ADDI
      case 2: c.i64(imm).op(Op.i64_lt_s); this.bool(); return;                   // SLTI
      case 3: c.i64(imm).op(Op.i64_lt_u); this.bool(); return;                   // SLTIU
      case 4: c.i64(imm).op(Op.i64_xor); return;                                 // XORI
      case 6: c.i64(imm).op(Op.i64_or); return;                                  // ORI
      case 7: c.i64(imm).op(Op.i64_and); return;                                 // ANDI
      case 1:
        if (f6 === 0x00) { c.i64(sh).op(Op.i64_shl); return; }                   // SLLI
        if (f6 === 0x12) { c.i64(~(1n << BigInt(sh))).op(Op.i64_and); return; }  // BCLRI
        if (f6 === 0x1a) { c.i64(1n << BigInt(sh)).op(Op.i64_xor); return; }     // BINVI
        if (f6 === 0x0a) { c.i64(1n << BigInt(sh)).op(Op.i64_or); return; }      // BSETI
        if (i12 === 0x600) { c.op(Op.i64_clz); return; }                         // CLZ
        if (i12 === 0x601) { c.op(Op.i64_ctz); return; }                         // CTZ
        if (i12 === 0x602) { c.op(Op.i64_popcnt); return; }                      // CPOP
        if (i12 === 0x604) { c.op(Op.i64_extend8_s); return; }                   // SEXT.B
        if (i12 === 0x605) { c.op(Op.i64_extend16_s); return; }                  // SEXT.H
        break;
      case 5:
        if (f6 === 0x00) { c.i64(sh).op(Op.i64_shr_u); return; }                 // SRLI
        if (f6 === 0x10) { c.i64(sh).op(Op.i64_shr_s); return; }                 // SRAI
        if (f6 === 0x18) { c.i64(sh).op(Op.i64_rotr); return; }                  // RORI
        if (f6 === 0x12) { c.i64(sh).op(Op.i64_shr_u).i64(1n).op(Op.i64_and); return; } // BEXTI
        if (i12 === 0x287) { this.callHelper('orcb'); return; }                   // ORC.B
        if (i12 === 0x6b8) { this.callHelper('bswap64'); return; }                // REV8
        break;
    }
    throw new Error(`translate: OP-IMM 0x${op.toString(16)}`);
  }

  private emitOpImm32(op: number): void {
    const c = this.c;
    const imm = immI(op), sh = immI(op) & 31, f7 = funct7(op), i12 = op >>> 20;
    this.read(rs1(op));
    switch (funct3(op)) {
      case 0: c.i64(imm).op(Op.i64_add).op(Op.i64_extend32_s); return;            // ADDIW
      case 1:
        if (f7 === 0x00) { c.i64(sh).op(Op.i64_shl).op(Op.i64_extend32_s); return; } // SLLIW
        if ((op >>> 26) === 0x02) { c.i64(0xffffffff).op(Op.i64_and).i64(imm & 63).op(Op.i64_shl); return; } // SLLI.UW
        c.op(Op.i32_wrap_i64);
        if (i12 === 0x600) c.op(Op.i32_clz);                                       // CLZW
        else if (i12 === 0x601) c.op(Op.i32_ctz);                                  // CTZW
        else c.op(Op.i32_popcnt);                                                  // CPOPW
        c.op(Op.i64_extend_i32_u);
        return;
      case 5:
        c.op(Op.i32_wrap_i64).i32(sh);
        if (f7 === 0x00) c.op(Op.i32_shr_u);                                       // SRLIW
        else if (f7 === 0x20) c.op(Op.i32_shr_s);                                  // SRAIW
        else c.op(Op.i32_rotr);                                                    // RORIW
        c.op(Op.i64_extend_i32_s);
        return;
    }
    throw new Error(`translate: OP-IMM-32 0x${op.toString(16)}`);
  }

  private emitOp(op: number): void {
    const c = this.c;
    const a = rs1(op), b = rs2(op), f3 = funct3(op);
    const ab = () => { this.read(a); this.read(b); };
    switch (funct7(op)) {
      case 0x00:
        ab();
        c.op([Op.i64_add, Op.i64_shl, Op.i64_lt_s, Op.i64_lt_u, Op.i64_xor, Op.i64_shr_u, Op.i64_or, Op.i64_and][f3]);
        if (f3 === 2 || f3 === 3) this.bool();
        return;
      case 0x20:
        if (f3 === 0) { ab(); c.op(Op.i64_sub); return; }                          // SUB
        if (f3 === 5) { ab(); c.op(Op.i64_shr_s); return; }                        // SRA
        this.read(a);
        if (f3 === 4) { this.read(b); c.op(Op.i64_xor).i64(-1n).op(Op.i64_xor); return; } // XNOR
        this.read(b); c.i64(-1n).op(Op.i64_xor);
        c.op(f3 === 6 ? Op.i64_or : Op.i64_and);                                   // ORN, ANDN
        return;
      case 0x01:
        switch (f3) {
          case 0: ab(); c.op(Op.i64_mul); return;                                  // MUL
          case 1: ab(); this.callHelper('mulh'); return;
          case 2: ab(); this.callHelper('mulhsu'); return;
          case 3: ab(); this.callHelper('mulhu'); return;
          case 4: ab(); this.callHelper('div64'); return;
          case 6: ab(); this.callHelper('rem64'); return;
          case 5:                                                                  // DIVU: b == 0 gives all ones
            c.i64(-1n);
            this.read(a); this.divisor(b); c.op(Op.i64_div_u);
            this.read(b); c.op(Op.i64_eqz).op(Op.select);
            return;
          default:                                                                 // REMU: b == 0 gives a
            this.read(a);
            this.read(a); this.divisor(b); c.op(Op.i64_rem_u);
            this.read(b); c.op(Op.i64_eqz).op(Op.select);
            return;
        }
      case 0x05: {                                                                 // MIN, MINU, MAX, MAXU
        ab(); ab();
        c.op([Op.i64_lt_s, Op.i64_lt_u, Op.i64_gt_s, Op.i64_gt_u][f3 - 4]).op(Op.select);
        return;
      }
      case 0x10:                                                                   // SH1ADD, SH2ADD, SH3ADD
        this.read(a); c.i64(f3 >> 1).op(Op.i64_shl); this.read(b); c.op(Op.i64_add);
        return;
      case 0x30: ab(); c.op(f3 === 1 ? Op.i64_rotl : Op.i64_rotr); return;         // ROL, ROR
      case 0x24:
        if (f3 === 5) { ab(); c.op(Op.i64_shr_u).i64(1n).op(Op.i64_and); return; } // BEXT
        this.read(a); this.read(b); this.bit(); c.i64(-1n).op(Op.i64_xor).op(Op.i64_and); // BCLR
        return;
      case 0x34: this.read(a); this.read(b); this.bit(); c.op(Op.i64_xor); return; // BINV
      case 0x14: this.read(a); this.read(b); this.bit(); c.op(Op.i64_or); return;  // BSET
    }
    throw new Error(`translate: OP 0x${op.toString(16)}`);
  }

  /** x[b], or 1 in its place when it is 0 (the result is then selected away). */
  private divisor(b: number): void {
    this.read(b);
    this.read(b); this.c.op(Op.i64_eqz).op(Op.i64_extend_i32_u).op(Op.i64_or);
  }

  private emitOp32(op: number): void {
    const c = this.c;
    const a = rs1(op), b = rs2(op), f3 = funct3(op);
    const ab32 = () => { this.read(a); c.op(Op.i32_wrap_i64); this.read(b); c.op(Op.i32_wrap_i64); };
    switch (funct7(op)) {
      case 0x00:
        if (f3 === 0) { this.read(a); this.read(b); c.op(Op.i64_add).op(Op.i64_extend32_s); return; } // ADDW
        ab32(); c.op(f3 === 1 ? Op.i32_shl : Op.i32_shr_u).op(Op.i64_extend_i32_s); return;          // SLLW, SRLW
      case 0x20:
        if (f3 === 0) { this.read(a); this.read(b); c.op(Op.i64_sub).op(Op.i64_extend32_s); return; } // SUBW
        ab32(); c.op(Op.i32_shr_s).op(Op.i64_extend_i32_s); return;                                  // SRAW
      case 0x01:
        this.read(a); this.read(b);
        if (f3 === 0) { c.op(Op.i64_mul).op(Op.i64_extend32_s); return; }                            // MULW
        this.callHelper((['div32', 'divu32', 'rem32', 'remu32'] as const)[f3 - 4]);
        return;
      case 0x04:
        this.read(a);
        if (f3 === 4) { c.i64(0xffffn).op(Op.i64_and); return; }                                     // ZEXT.H
        c.i64(0xffffffffn).op(Op.i64_and); this.read(b); c.op(Op.i64_add); return;                   // ADD.UW
      case 0x10:                                                                                     // SHnADD.UW
        this.read(a); c.i64(0xffffffff).op(Op.i64_and).i64(f3 >> 1).op(Op.i64_shl);
        this.read(b); c.op(Op.i64_add);
        return;
      case 0x30: ab32(); c.op(f3 === 1 ? Op.i32_rotl : Op.i32_rotr).op(Op.i64_extend_i32_s); return; // ROLW, RORW
    }
    throw new Error(`translate: OP-32 0x${op.toString(16)}`);
  }
}
