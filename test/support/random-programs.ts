// The randomized differential tester's program generator: seeded, pure
// TypeScript, deterministic. A *block* is a random straight-line sequence of
// *units* (one instruction, or a few that belong together such as
// `addi a, x31, off; amoadd.w rd, rs2, (a)`), preceded by code that loads
// x1..x30, f0..f31 and fcsr from a per-block table and followed by code that
// stores them all back and writes them, with the block's scratch buffer, to
// stdout with write(1, …). Many blocks make one static ELF (elf-writer.ts)
// that ends with exit_group(0); qemu-riscv64 and ringvisor run the same file
// and their stdout must be identical byte for byte.
//
// x31 is reserved: it points at the block's scratch buffer and is never
// written by the random units, so memory units address the buffer through it
// and the dump code finds the register table at negative offsets from it.
// Control flow only goes forward (branches and jumps skip 0..3 units), so
// every block terminates.
import * as A from './rvasm.js';
import { RM } from './rvasm.js';
import { Rng } from './prng.js';
import { writeElf, PAYLOAD_ADDRESS } from './elf-writer.js';

// ---- blocks and units -----------------------------------------------------------------
export interface Unit {
  /** Bytes of code. */
  size: number;
  /** Following units a forward jump skips (its target is the unit after them). */
  skip: number;
  /** Registers (x5, f3), 'fcsr' or 'mem' the unit may change, for reports. */
  writes: string[];
  /** The words, given the unit's offset in the block and its target's. */
  build(at: number, target: number): number[];
}

export interface Block {
  group: string;
  seed: string;
  index: number;
  usesF: boolean;
  /** x[1..30] initial values (x[0], x[31] unused). */
  x: bigint[];
  /** f[0..31] initial bit patterns. */
  f: bigint[];
  fcsr: number;
  scratch: Uint8Array;
  units: Unit[];
}

const fixed = (words: number[], writes: string[]): Unit => ({
  size: words.reduce((s, w) => s + A.insnLength(w), 0), skip: 0, writes, build: () => words,
});

// ---- value generators --------------------------------------------------------------------
const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint) => v & M64;
const INT_EDGES: bigint[] = [
  0n, 1n, 2n, u64(-1n), u64(-2n), 1n << 63n, (1n << 63n) - 1n, (1n << 63n) + 1n,
  0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0xffff_ffff_8000_0000n, 0x1_0000_0000n, 0xffff_ffff_0000_0000n,
  31n, 32n, 33n, 63n, 64n, 65n, 0xffn, 0x80n, 0x7fffn, 0x8000n, 0xffffn, u64(-0x8000_0001n),
];
export function randomInt(rng: Rng): bigint {
  switch (rng.weighted([[30, 'edge'], [20, 'small'], [15, 'word'], [35, 'any']] as const)) {
    case 'edge': return rng.pick(INT_EDGES);
    case 'small': return u64(BigInt(rng.range(-64, 64)));
    case 'word': { const w = BigInt(rng.u32()); return rng.chance(0.5) ? w : u64(BigInt.asIntN(32, w)); }
    default: return rng.u64();
  }
}

const S_EDGES = [
  0x0000_0000, 0x8000_0000, 0x3f80_0000, 0xbf80_0000, 0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 0xffc0_0000,
  0x7f80_0001, 0x7fa0_0000, 0xffbf_ffff, 0x7fc1_2345, 0x0000_0001, 0x807f_ffff, 0x0080_0000, 0x8080_0000,
  0x7f7f_ffff, 0xff7f_ffff, 0x3f00_0000, 0x3fc0_0000, 0x4020_0000, 0xc020_0000, 0x4b80_0000, 0x4b80_0001,
  0x4f00_0000, 0xcf00_0000, 0x4eff_ffff, 0x4f80_0000, 0x5f00_0000, 0xdf00_0000, 0x5f80_0000, 0x3eff_ffff,
  0x3400_0000, 0x3380_0000, 0x0040_0000, 0x4040_0000, 0xcf00_0001,
];
const D_EDGES = [
  0x0000_0000_0000_0000n, 0x8000_0000_0000_0000n, 0x3ff0_0000_0000_0000n, 0xbff0_0000_0000_0000n,
  0x7ff0_0000_0000_0000n, 0xfff0_0000_0000_0000n, 0x7ff8_0000_0000_0000n, 0xfff8_0000_0000_0000n,
  0x7ff0_0000_0000_0001n, 0x7ff4_0000_0000_0000n, 0x7ff8_0000_dead_beefn, 0x0000_0000_0000_0001n,
  0x000f_ffff_ffff_ffffn, 0x0010_0000_0000_0000n, 0x8010_0000_0000_0000n, 0x7fef_ffff_ffff_ffffn,
  0xffef_ffff_ffff_ffffn, 0x3fe0_0000_0000_0000n, 0x3ff8_0000_0000_0000n, 0x4004_0000_0000_0000n,
  0xc004_0000_0000_0000n, 0x41e0_0000_0000_0000n, 0xc1e0_0000_0000_0000n, 0x41df_ffff_ffc0_0000n,
  0x41f0_0000_0000_0000n, 0x43e0_0000_0000_0000n, 0xc3e0_0000_0000_0000n, 0x43f0_0000_0000_0000n,
  0x43df_ffff_ffff_ffffn, 0x3fdf_ffff_ffff_ffffn, 0x3ca0_0000_0000_0000n, 0x47ef_ffff_e000_0000n,
  0x47ef_ffff_f000_0000n, 0x3810_0000_0000_0000n, 0x36a0_0000_0000_0000n, 0xc1e0_0000_0020_0000n,
];
const BOX = 0xffff_ffff_0000_0000n;

function randomSingleBits(rng: Rng): number {
  switch (rng.weighted([[35, 'edge'], [25, 'near'], [20, 'int'], [20, 'any']] as const)) {
    case 'edge': return rng.pick(S_EDGES);
    case 'near': return ((rng.u32() & 0x8000_0000) | ((127 + rng.range(-24, 24)) << 23) | (rng.u32() & 0x7f_ffff)) >>> 0;
    case 'int': { const b = new DataView(new ArrayBuffer(4)); b.setFloat32(0, rng.range(-70000, 70000) / (rng.chance(0.5) ? 1 : 4)); return b.getUint32(0); }
    default: return rng.u32();
  }
}
function randomDoubleBits(rng: Rng): bigint {
  switch (rng.weighted([[35, 'edge'], [25, 'near'], [20, 'int'], [20, 'any']] as const)) {
    case 'edge': return rng.pick(D_EDGES);
    case 'near': {
      const exp = BigInt(1023 + rng.range(-60, 70));
      return (rng.chance(0.5) ? 1n << 63n : 0n) | (exp << 52n) | (rng.u64() & ((1n << 52n) - 1n));
    }
    case 'int': { const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, rng.range(-3_000_000, 3_000_000) / (rng.chance(0.5) ? 1 : 8)); return b.getBigUint64(0); }
    default: return rng.u64();
  }
}
/** An FP register value: a NaN-boxed single, a double, or (rarely) a
 *  single that is not properly NaN-boxed. */
export function randomFloat(rng: Rng, kind: 's' | 'd' | 'mixed'): bigint {
  const pick = kind === 'mixed' ? (rng.chance(0.5) ? 's' : 'd') : kind;
  if (pick === 's') {
    const bits = BigInt(randomSingleBits(rng));
    if (rng.chance(0.06)) return (rng.u64() & ~0xffff_ffffn & M64) | bits; // broken box
    return BOX | bits;
  }
  return randomDoubleBits(rng);
}

// ---- the generator context ----------------------------------------------------------------
export const SCRATCH_BYTES = 256;

class Gen {
  readonly units: Unit[] = [];
  private recent: number[] = [];
  private recentF: number[] = [];
  constructor(readonly rng: Rng, readonly group: GroupDef) {}

  /** A destination integer register: x1..x30 (x2 kept as sp where the group needs it), rarely x0. */
  rd(): number {
    const r = this.rng;
    if (r.chance(0.03)) return 0;
    for (;;) {
      const v = r.range(1, 30);
      if (!(this.group.keepSp && v === 2)) { this.recent.push(v); if (this.recent.length > 6) this.recent.shift(); return v; }
    }
  }
  /** A source integer register, biased to recently written ones. */
  rs(): number {
    const r = this.rng;
    if (this.recent.length && r.chance(0.4)) return r.pick(this.recent);
    if (r.chance(0.04)) return 0;
    return r.range(1, 30);
  }
  fd(): number { const v = this.rng.range(0, 31); this.recentF.push(v); if (this.recentF.length > 6) this.recentF.shift(); return v; }
  fs(): number { return this.recentF.length && this.rng.chance(0.4) ? this.rng.pick(this.recentF) : this.rng.range(0, 31); }
  /** An rvc register x8..x15 (destination): also marked recent. */
  rdc(): number { const v = this.rng.range(8, 15); this.recent.push(v); if (this.recent.length > 6) this.recent.shift(); return v; }
  /** A 12-bit immediate, often an edge. */
  imm12(): number {
    const r = this.rng;
    return r.weighted([[20, () => r.pick([0, 1, -1, 2047, -2048, 2, -2])], [40, () => r.range(-64, 64)], [40, () => r.range(-2048, 2047)]] as const)();
  }
  /** A rounding mode: static 0..4 or dynamic. */
  rm(): number { return this.rng.chance(0.3) ? RM.DYN : this.rng.range(0, 4); }
  /** A branch/jump skip count. */
  skip(): number { return this.rng.weighted([[30, 0], [35, 1], [20, 2], [15, 3]] as const); }

  emit(words: number[], writes: string[]): void { this.units.push(fixed(words, writes)); }
  jump(size: number, skip: number, writes: string[], build: (at: number, target: number) => number[]): void {
    this.units.push({ size, skip, writes, build });
  }
}

// ---- instruction choices per group ----------------------------------------------------------
type Choice = (g: Gen) => void;
type R3 = (rd: number, rs1: number, rs2: number) => number;
const x = (r: number) => `x${r}`;
const f = (r: number) => `f${r}`;

const rr = (op: R3): Choice => (g) => { const d = g.rd(); g.emit([op(d, g.rs(), g.rs())], [x(d)]); };
const ri = (op: R3): Choice => (g) => { const d = g.rd(); g.emit([op(d, g.rs(), g.imm12())], [x(d)]); };
const sh = (op: R3, max: number): Choice => (g) => {
  const d = g.rd();
  const s = g.rng.chance(0.4) ? g.rng.pick([0, 1, max, max - 1, 31, 32].filter((v) => v <= max)) : g.rng.range(0, max);
  g.emit([op(d, g.rs(), s)], [x(d)]);
};
const r1 = (op: (rd: number, rs1: number) => number): Choice => (g) => { const d = g.rd(); g.emit([op(d, g.rs())], [x(d)]); };

const BRANCHES = [A.beq, A.bne, A.blt, A.bge, A.bltu, A.bgeu];
const RV64I: Choice[] = [
  ...[A.add, A.sub, A.sll, A.slt, A.sltu, A.xor, A.srl, A.sra, A.or, A.and, A.addw, A.subw, A.sllw, A.srlw, A.sraw].map(rr),
  ...[A.addi, A.slti, A.sltiu, A.xori, A.ori, A.andi, A.addiw].map(ri),
  sh(A.slli, 63), sh(A.srli, 63), sh(A.srai, 63), sh(A.slliw, 31), sh(A.srliw, 31), sh(A.sraiw, 31),
  (g) => { const d = g.rd(); g.emit([A.lui(d, g.rng.chance(0.3) ? g.rng.pick([0, 0x80000, 0xfffff, 0x7ffff, 1]) : g.rng.int(1 << 20))], [x(d)]); },
  (g) => { const d = g.rd(); g.emit([A.auipc(d, g.rng.int(1 << 20))], [x(d)]); },
  (g) => { // a forward conditional branch
    const op = g.rng.pick(BRANCHES), a = g.rs(), b = g.rng.chance(0.2) ? a : g.rs();
    g.jump(4, g.skip(), [], (at, target) => [op(a, b, target - at)]);
  },
  (g) => { const d = g.rd(); g.jump(4, g.skip(), [x(d)], (at, target) => [A.jal(d, target - at)]); },
  (g) => g.emit([g.rng.chance(0.5) ? A.fence(g.rng.range(1, 15), g.rng.range(1, 15)) : A.fence_i()], []),
  (g) => { // auipc t, 0; jalr rd, off(t)
    const t = g.rd() || 5, d = g.rd();
    g.jump(8, g.skip(), [x(t), x(d)], (at, target) => [A.auipc(t, 0), A.jalr(d, t, target - at)]);
  },
];

const M: Choice[] = [A.mul, A.mulh, A.mulhsu, A.mulhu, A.div, A.divu, A.rem, A.remu, A.mulw, A.divw, A.divuw, A.remw, A.remuw].map(rr);

const ZB: Choice[] = [
  ...[A.add_uw, A.sh1add, A.sh2add, A.sh3add, A.sh1add_uw, A.sh2add_uw, A.sh3add_uw,
    A.andn, A.orn, A.xnor, A.max, A.maxu, A.min, A.minu, A.rol, A.ror, A.rolw, A.rorw,
    A.bclr, A.bext, A.binv, A.bset].map(rr),
  ...[A.clz, A.clzw, A.ctz, A.cpop, A.cpopw, A.sext_b, A.sext_h, A.zext_h, A.orc_b, A.rev8].map(r1),
  // qemu-riscv64 7.2 (the oracle) computes ctzw of a value whose low word is
  // zero as ctz of all 64 bits (1 << 45 gives 45, the spec says 32), so the
  // random ctzw always sees a set bit in the low word: t = bseti(rs, k < 32).
  // test/cpu-zb.test.ts covers the zero-low-word case against the spec.
  (g) => { const t = g.rd() || 5, d = g.rd(); g.emit([A.bseti(t, g.rs(), g.rng.range(0, 31)), A.ctzw(d, t)], [x(t), x(d)]); },
  sh(A.slli_uw, 63), sh(A.rori, 63), sh(A.roriw, 31), sh(A.bclri, 63), sh(A.bexti, 63), sh(A.binvi, 63), sh(A.bseti, 63),
];

// Memory: addresses inside the scratch buffer at x31, any alignment.
type MemOp = (r: number, base: number, off: number) => number;
const LOADS: Array<[MemOp, number]> = [[A.lb, 1], [A.lh, 2], [A.lw, 4], [A.ld, 8], [A.lbu, 1], [A.lhu, 2], [A.lwu, 4]];
const STORES: Array<[MemOp, number]> = [[A.sb, 1], [A.sh, 2], [A.sw, 4], [A.sd, 8]];
const FLOADS: Array<[MemOp, number]> = [[A.flw, 4], [A.fld, 8]];
const FSTORES: Array<[MemOp, number]> = [[A.fsw, 4], [A.fsd, 8]];
function memOffset(g: Gen, size: number, aligned: boolean): number {
  const n = SCRATCH_BYTES - size;
  const off = g.rng.range(0, n);
  return aligned ? off & ~(size - 1) : (g.rng.chance(0.5) ? off & ~(size - 1) : off);
}
const memAccess = (ops: Array<[MemOp, number]>, kind: 'load' | 'store' | 'fload' | 'fstore'): Choice => (g) => {
  const [op, size] = g.rng.pick(ops);
  const off = memOffset(g, size, false);
  const reg = kind === 'load' ? g.rd() : kind === 'fload' ? g.fd() : kind === 'store' ? g.rs() : g.fs();
  const writes = kind === 'load' ? [x(reg)] : kind === 'fload' ? [f(reg)] : ['mem'];
  if (g.rng.chance(0.6)) { g.emit([op(reg, 31, off)], writes); return; }
  // through another base register: b = x31 + off1; access at off - off1
  const b = g.rd() || 6;
  const off1 = g.rng.range(-200, 200 + SCRATCH_BYTES);
  g.emit([A.addi(b, 31, off1), op(reg === b && kind === 'load' ? reg : reg, b, off - off1)], [x(b), ...writes]);
};
const MEM: Choice[] = [memAccess(LOADS, 'load'), memAccess(LOADS, 'load'), memAccess(STORES, 'store'), memAccess(STORES, 'store'),
  memAccess(FLOADS, 'fload'), memAccess(FSTORES, 'fstore')];

// A: an aligned address in a scratch register, then the atomic.
type AmoOp = (rd: number, rs2: number, rs1: number, aq?: boolean, rl?: boolean) => number;
const AMOS_W: AmoOp[] = [A.amoswap_w, A.amoadd_w, A.amoxor_w, A.amoand_w, A.amoor_w, A.amomin_w, A.amomax_w, A.amominu_w, A.amomaxu_w];
const AMOS_D: AmoOp[] = [A.amoswap_d, A.amoadd_d, A.amoxor_d, A.amoand_d, A.amoor_d, A.amomin_d, A.amomax_d, A.amominu_d, A.amomaxu_d];
function address(g: Gen, size: number): [number, number] {
  const a = g.rd() || 7;
  return [a, A.addi(a, 31, memOffset(g, size, true))];
}
const ATOMIC: Choice[] = [
  (g) => {
    const wide = g.rng.chance(0.5);
    const [a, setA] = address(g, wide ? 8 : 4);
    const d = g.rd();
    g.emit([setA, g.rng.pick(wide ? AMOS_D : AMOS_W)(d, g.rs(), a, g.rng.chance(0.3), g.rng.chance(0.3))], [x(a), x(d), 'mem']);
  },
  (g) => { // lr; a few ALU ops not touching the address register; sc to the same address (mostly) or another
    const wide = g.rng.chance(0.5), size = wide ? 8 : 4;
    const [a, setA] = address(g, size);
    let d = g.rd();
    if (d === a) d = 0; // the sc needs the address
    const words = [setA, (wide ? A.lr_d : A.lr_w)(d, a, g.rng.chance(0.3), g.rng.chance(0.3))];
    const writes = [x(a), x(d), 'mem'];
    for (let i = g.rng.range(0, 2); i > 0; i--) {
      let t = g.rd(); if (t === a) t = 0;
      words.push(A.addi(t, g.rs(), g.imm12()));
      writes.push(x(t));
    }
    let b = a;
    if (g.rng.chance(0.25)) {
      const other = address(g, size);
      if (other[0] !== a) { b = other[0]; words.push(other[1]); writes.push(x(b)); }
    }
    const s = g.rd();
    words.push((wide ? A.sc_d : A.sc_w)(s, g.rs(), b, g.rng.chance(0.3), g.rng.chance(0.3)));
    writes.push(x(s));
    g.emit(words, writes);
  },
  (g) => { // an sc with no reservation fails
    const wide = g.rng.chance(0.5);
    const [a, setA] = address(g, wide ? 8 : 4);
    const s = g.rd();
    g.emit([setA, (wide ? A.sc_d : A.sc_w)(s, g.rs(), a)], [x(a), x(s)]);
  },
  memAccess([[A.ld, 8], [A.lw, 4]], 'load'),
];

// F and D
type F3op = (rd: number, rs1: number, rs2: number, rm?: number) => number;
type F2op = (rd: number, rs1: number, rm?: number) => number;
type F4op = (rd: number, rs1: number, rs2: number, rs3: number, rm?: number) => number;
const frr = (op: F3op, rmArg = true): Choice => (g) => { const d = g.fd(); g.emit([rmArg ? op(d, g.fs(), g.fs(), g.rm()) : op(d, g.fs(), g.fs())], [f(d), 'fcsr']); };
const fr4 = (op: F4op): Choice => (g) => { const d = g.fd(); g.emit([op(d, g.fs(), g.fs(), g.fs(), g.rm())], [f(d), 'fcsr']); };
const fsqrt = (op: F2op): Choice => (g) => { const d = g.fd(); g.emit([op(d, g.fs(), g.rm())], [f(d), 'fcsr']); };
const fcmp = (op: R3): Choice => (g) => { const d = g.rd(); g.emit([op(d, g.fs(), g.fs())], [x(d), 'fcsr']); };
const f2x = (op: (rd: number, rs1: number) => number): Choice => (g) => { const d = g.rd(); g.emit([op(d, g.fs())], [x(d)]); };
const x2f = (op: (rd: number, rs1: number) => number): Choice => (g) => { const d = g.fd(); g.emit([op(d, g.rs())], [f(d)]); };
const cvtToX = (op: F2op): Choice => (g) => { const d = g.rd(); g.emit([op(d, g.fs(), g.rm())], [x(d), 'fcsr']); };
const cvtToF = (op: F2op): Choice => (g) => { const d = g.fd(); g.emit([op(d, g.rs(), g.rm())], [f(d), 'fcsr']); };

const FSINGLE: Choice[] = [
  ...[A.fadd_s, A.fsub_s, A.fmul_s, A.fdiv_s].map((o) => frr(o)), frr(A.fadd_s), frr(A.fmul_s),
  fsqrt(A.fsqrt_s),
  ...[A.fsgnj_s, A.fsgnjn_s, A.fsgnjx_s, A.fmin_s, A.fmax_s].map((o) => frr(o as F3op, false)),
  ...[A.fmadd_s, A.fmsub_s, A.fnmsub_s, A.fnmadd_s].map(fr4),
  ...[A.feq_s, A.flt_s, A.fle_s].map(fcmp),
  f2x(A.fclass_s), f2x(A.fmv_x_w), x2f(A.fmv_w_x),
];
const FDOUBLE: Choice[] = [
  ...[A.fadd_d, A.fsub_d, A.fmul_d, A.fdiv_d].map((o) => frr(o)), frr(A.fadd_d), frr(A.fmul_d),
  fsqrt(A.fsqrt_d),
  ...[A.fsgnj_d, A.fsgnjn_d, A.fsgnjx_d, A.fmin_d, A.fmax_d].map((o) => frr(o as F3op, false)),
  ...[A.fmadd_d, A.fmsub_d, A.fnmsub_d, A.fnmadd_d].map(fr4),
  ...[A.feq_d, A.flt_d, A.fle_d].map(fcmp),
  f2x(A.fclass_d), f2x(A.fmv_x_d), x2f(A.fmv_d_x),
];
const FCVT: Choice[] = [
  ...[A.fcvt_w_s, A.fcvt_wu_s, A.fcvt_l_s, A.fcvt_lu_s, A.fcvt_w_d, A.fcvt_wu_d, A.fcvt_l_d, A.fcvt_lu_d].map(cvtToX),
  ...[A.fcvt_s_w, A.fcvt_s_wu, A.fcvt_s_l, A.fcvt_s_lu, A.fcvt_d_w, A.fcvt_d_wu, A.fcvt_d_l, A.fcvt_d_lu].map(cvtToF),
  fsqrt(A.fcvt_s_d), fsqrt(A.fcvt_d_s), fsqrt(A.fcvt_s_d),
  f2x(A.fmv_x_w), f2x(A.fmv_x_d), x2f(A.fmv_w_x), x2f(A.fmv_d_x), f2x(A.fclass_s), f2x(A.fclass_d),
  fcmp(A.feq_s), fcmp(A.flt_d), frr(A.fsgnj_s as F3op, false), frr(A.fsgnjn_d as F3op, false),
];
// fcsr manipulation that keeps frm valid (0..4), so dynamic rounding stays legal.
const { fflags: FFLAGS, frm: FRM, fcsr: FCSR } = A.CSR;
const FCSR_OPS: Choice[] = [
  (g) => { const d = g.rd(); g.emit([A.csrrwi(d, FRM, g.rng.range(0, 4))], [x(d), 'fcsr']); },
  (g) => { const d = g.rd(); g.emit([A.csrrw(d, FFLAGS, g.rs())], [x(d), 'fcsr']); },
  (g) => { const d = g.rd(); g.emit([A.csrrs(d, FFLAGS, g.rs())], [x(d), 'fcsr']); },
  (g) => { const d = g.rd(); g.emit([A.csrrc(d, FCSR, g.rs())], [x(d), 'fcsr']); },
  (g) => { const d = g.rd(); g.emit([A.csrrwi(d, FCSR, g.rng.range(0, 31))], [x(d), 'fcsr']); },
  (g) => { const d = g.rd(); g.emit([A.csrrsi(d, FFLAGS, g.rng.range(0, 31))], [x(d), 'fcsr']); },
  (g) => { const d = g.rd(); g.emit([A.csrrci(d, FCSR, g.rng.range(0, 31))], [x(d), 'fcsr']); },
  (g) => { const d = g.rd(); g.emit([A.csrr(d, g.rng.pick([FFLAGS, FRM, FCSR]))], [x(d)]); },
  // dynamic-rounding arithmetic, both precisions
  (g) => { const d = g.fd(); g.emit([g.rng.pick([A.fadd_s, A.fdiv_s, A.fmul_d, A.fsub_d, A.fdiv_d])(d, g.fs(), g.fs(), RM.DYN)], [f(d), 'fcsr']); },
  (g) => { const d = g.fd(); g.emit([g.rng.pick([A.fmadd_s, A.fnmsub_d])(d, g.fs(), g.fs(), g.fs(), RM.DYN)], [f(d), 'fcsr']); },
  (g) => { const d = g.rd(); g.emit([g.rng.pick([A.fcvt_w_s, A.fcvt_lu_d, A.fcvt_l_s])(d, g.fs(), RM.DYN)], [x(d), 'fcsr']); },
  (g) => { const d = g.fd(); g.emit([g.rng.pick([A.fcvt_s_l, A.fcvt_d_lu, A.fcvt_s_d])(d, g.rng.range(0, 31), RM.DYN)], [f(d), 'fcsr']); },
];

// C: every RV64C form except c.ebreak. Registers x8..x15 for the 3-bit fields;
// sp (x2) keeps pointing at the scratch buffer (the group keeps it).
const nz = (g: Gen, lo: number, hi: number) => { for (;;) { const v = g.rng.range(lo, hi); if (v !== 0) return v; } };
const RVC: Choice[] = [
  (g) => { const d = g.rdc(); g.emit([A.c_addi4spn(d, 4 * g.rng.range(1, 255))], [x(d)]); },
  (g) => { const d = g.rd(); if (d) g.emit([A.c_addi(d, nz(g, -32, 31))], [x(d)]); },
  (g) => { const d = g.rd(); if (d) g.emit([A.c_addiw(d, g.rng.range(-32, 31))], [x(d)]); },
  (g) => { const d = g.rd(); if (d) g.emit([A.c_li(d, g.rng.range(-32, 31))], [x(d)]); },
  (g) => { const d = g.rd(); if (d) { const v = nz(g, -32, 31); g.emit([A.c_lui(d, v < 0 ? v + 0x100000 : v)], [x(d)]); } },
  (g) => { const d = g.rdc(); g.emit([A.c_srli(d, g.rng.range(1, 63))], [x(d)]); },
  (g) => { const d = g.rdc(); g.emit([A.c_srai(d, g.rng.range(1, 63))], [x(d)]); },
  (g) => { const d = g.rdc(); g.emit([A.c_andi(d, g.rng.range(-32, 31))], [x(d)]); },
  (g) => { const d = g.rdc(); g.emit([g.rng.pick([A.c_sub, A.c_xor, A.c_or, A.c_and, A.c_subw, A.c_addw])(d, g.rng.range(8, 15))], [x(d)]); },
  (g) => { const d = g.rd(); if (d) g.emit([A.c_slli(d, g.rng.range(1, 63))], [x(d)]); },
  (g) => { const d = g.rd(); const s = g.rs(); if (d && s) g.emit([A.c_mv(d, s)], [x(d)]); },
  (g) => { const d = g.rd(); const s = g.rs(); if (d && s) g.emit([A.c_add(d, s)], [x(d)]); },
  // sp-relative loads and stores
  (g) => { const d = g.rd(); if (d) g.emit([A.c_lwsp(d, 4 * g.rng.range(0, SCRATCH_BYTES / 4 - 1))], [x(d)]); },
  (g) => { const d = g.rd(); if (d) g.emit([A.c_ldsp(d, 8 * g.rng.range(0, SCRATCH_BYTES / 8 - 1))], [x(d)]); },
  (g) => { const d = g.fd(); g.emit([A.c_fldsp(d, 8 * g.rng.range(0, SCRATCH_BYTES / 8 - 1))], [f(d)]); },
  (g) => g.emit([A.c_swsp(g.rs(), 4 * g.rng.range(0, SCRATCH_BYTES / 4 - 1))], ['mem']),
  (g) => g.emit([A.c_sdsp(g.rs(), 8 * g.rng.range(0, SCRATCH_BYTES / 8 - 1))], ['mem']),
  (g) => g.emit([A.c_fsdsp(g.fs(), 8 * g.rng.range(0, SCRATCH_BYTES / 8 - 1))], ['mem']),
  // register-based loads and stores: base = x31 + off (a 32-bit addi), then the access
  (g) => {
    const b = g.rdc();
    const kind = g.rng.pick(['lw', 'ld', 'sw', 'sd', 'fld', 'fsd'] as const);
    const size = kind.endsWith('w') ? 4 : 8;
    const maxOff = size === 4 ? 124 : 248;
    const off = size * g.rng.range(0, Math.min(maxOff, SCRATCH_BYTES - size) / size);
    const base = g.rng.range(0, SCRATCH_BYTES - size - off) & ~(size - 1);
    const setB = A.addi(b, 31, base);
    switch (kind) {
      case 'lw': { const d = g.rdc(); g.emit([setB, A.c_lw(d, b, off)], [x(b), x(d)]); break; }
      case 'ld': { const d = g.rdc(); g.emit([setB, A.c_ld(d, b, off)], [x(b), x(d)]); break; }
      case 'fld': { const d = g.rng.range(8, 15); g.emit([setB, A.c_fld(d, b, off)], [x(b), f(d)]); break; }
      case 'sw': g.emit([setB, A.c_sw(g.rng.range(8, 15), b, off)], [x(b), 'mem']); break;
      case 'sd': g.emit([setB, A.c_sd(g.rng.range(8, 15), b, off)], [x(b), 'mem']); break;
      case 'fsd': g.emit([setB, A.c_fsd(g.rng.range(8, 15), b, off)], [x(b), 'mem']); break;
    }
  },
  // sp moves up and back down around an sp-relative access
  (g) => {
    const up = 16 * g.rng.range(1, 8);
    const d = g.rd() || 5;
    const off = 8 * g.rng.range(0, (SCRATCH_BYTES - up) / 8 - 1);
    g.emit([A.c_addi16sp(up), A.c_ldsp(d === 2 ? 5 : d, off), A.c_addi16sp(-up)], [x(d === 2 ? 5 : d)]);
  },
  // control flow
  (g) => g.jump(2, g.skip(), [], (at, target) => [A.c_j(target - at)]),
  (g) => { const r = g.rng.range(8, 15); const beq = g.rng.chance(0.5); g.jump(2, g.skip(), [], (at, target) => [(beq ? A.c_beqz : A.c_bnez)(r, target - at)]); },
  (g) => { // auipc t, 0; addi t, t, off; c.jr t / c.jalr t
    const t = g.rd() || 5; const link = g.rng.chance(0.5);
    g.jump(10, g.skip(), link ? [x(t), 'x1'] : [x(t)], (at, target) => [A.auipc(t, 0), A.addi(t, t, target - at), link ? A.c_jalr(t) : A.c_jr(t)]);
  },
  (g) => g.emit([A.c_nop()], []),
];

// Traps: reserved encodings and accesses that fault, each with its address
// register pointing somewhere bad. The program has a handler for SIGILL,
// SIGBUS and SIGSEGV (on an alternate stack: x2 may hold anything) that
// records the signal, si_code, si_addr and pc in the block's trap record and
// steps over the instruction, so the comparison covers which signal the CPU
// raised as well as the state (docs/SECURITY.md, "The CPU's exceptions").
const raw = (f7: number, rs2: number, rs1: number, f3: number, rd: number, opcode: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode) >>> 0;
const AMO_FUNCT5 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c];
const RESERVED_FUNCT5 = Array.from({ length: 32 }, (_, k) => k).filter((k) => !AMO_FUNCT5.includes(k));
/** Words that put a bad (or, sometimes, a good) address into `a`: below the
 *  program (never mapped, under QEMU either), misaligned inside the scratch
 *  buffer, the top of the address space, or an
 *  aligned scratch address (then only the encoding can trap). Stack and
 *  heap addresses are avoided: their layout differs between the machines. */
function trapAddress(g: Gen, a: number, align: number): number[] {
  // (Not non-canonical ones: qemu-riscv64 7.2 reports si_addr 0 for those.)
  switch (g.rng.weighted([[30, 'low'], [25, 'misaligned'], [20, 'top'], [25, 'good']] as const)) {
    case 'low': return [A.addi(a, 0, g.rng.pick([0, 8, 0x10, 0x7f8, 0x7ff, 1]))];
    case 'misaligned': return [A.addi(a, 31, 8 * g.rng.range(0, 29) + g.rng.range(1, align - 1))]; // (+8 bytes stays in the buffer)
    case 'top': return [A.addi(a, 0, g.rng.pick([-8, -1, -4, -2048]))];
    default: return [A.addi(a, 31, memOffset(g, 8, true))];
  }
}
const trapUnit = (make: (g: Gen, a: number) => number): Choice => (g) => {
  const a = g.rd() || 7;
  const word = make(g, a);
  g.emit([...trapAddress(g, a, 8), word], [x(a), 'trap', 'mem']);
};
const TRAPS: Choice[] = [
  // A: reserved funct5, widths other than .W/.D, LR with rs2 != 0
  trapUnit((g, a) => raw((g.rng.pick(RESERVED_FUNCT5) << 2) | g.rng.range(0, 3), g.rs(), a, g.rng.range(2, 3), g.rd(), 0x2f)),
  trapUnit((g, a) => raw((g.rng.pick(AMO_FUNCT5) << 2) | g.rng.range(0, 3), g.rs(), a, g.rng.pick([0, 1, 4, 5, 6, 7]), g.rd(), 0x2f)),
  trapUnit((g, a) => raw((0x02 << 2) | g.rng.range(0, 3), g.rng.range(1, 31), a, g.rng.range(2, 3), g.rd(), 0x2f)),
  // A, valid: the address decides (SIGSEGV, or SIGBUS when misaligned). SC
  // is left out: QEMU's failing SC never touches memory (no fault at all),
  // where ringvisor checks the address first, as the spec allows.
  trapUnit((g, a) => (g.rng.chance(0.2) ? (g.rng.chance(0.5) ? A.lr_w : A.lr_d)(g.rd(), a) : g.rng.pick([...AMOS_W, ...AMOS_D])(g.rd(), g.rs(), a))),
  // loads and stores: reserved funct3, and valid ones at the address
  trapUnit((g, a) => raw(0, 0, a, 7, g.rd(), 0x03)),
  trapUnit((g, a) => raw(0, g.rs(), a, g.rng.range(4, 7), 0, 0x23)),
  trapUnit((g, a) => g.rng.pick(LOADS)[0](g.rd(), a, 0)),
  trapUnit((g, a) => g.rng.pick(STORES)[0](g.rs(), a, 0)),
  // FP loads and stores: reserved widths (H and Q absent, V absent), valid ones
  trapUnit((g, a) => raw(0, 0, a, g.rng.pick([0, 1, 4, 5, 6, 7]), g.fd(), 0x07)),
  trapUnit((g, a) => raw(0, g.fs(), a, g.rng.pick([0, 1, 4, 5, 6, 7]), 0, 0x27)),
  trapUnit((g, a) => g.rng.pick([...FLOADS, ...FSTORES])[0](g.fd(), a, 0)),
  // MISC-MEM funct3 2..7 (no Zicbom/Zicboz in the oracle's CPU)
  trapUnit((g, a) => raw(0, g.rng.range(0, 4), a, g.rng.range(2, 7), 0, 0x0f)),
  // CSR and SYSTEM: CSRs that do not exist, writes to read-only ones, funct3 4, ecall/ebreak with fields set
  trapUnit((g, a) => ((g.rng.pick([0x7c0, 0x800, 0x105, 0x180, 0x3a0, 0xfff]) << 20) | (a << 15) | (g.rng.range(1, 3) << 12) | (g.rd() << 7) | 0x73) >>> 0),
  // (rs1 holds a non-zero value: QEMU 7.2 lets CSRRS/CSRRC write a read-only
  // CSR when the value is 0, where the spec says the write is attempted
  // anyway; and a read that succeeded would differ: the counters are the
  // hosts'.)
  (g) => {
    const a = g.rd() || 7;
    const word = ((g.rng.pick([0xc00, 0xc01, 0xc02]) << 20) | (a << 15) | (g.rng.pick([1, 2, 3]) << 12) | (g.rd() << 7) | 0x73) >>> 0;
    g.emit([A.addi(a, 31, g.rng.range(0, 255)), word], [x(a), 'trap']);
  },
  trapUnit((g, a) => raw(g.rng.range(0, 127), g.rng.range(0, 31), a, 4, g.rd(), 0x73)),
  trapUnit((g, a) => raw(0, g.rng.range(0, 1), a, 0, 0, 0x73)),
  // FP operations with a reserved rounding mode (5, 6) or format (H, Q)
  trapUnit((g) => raw(g.rng.pick([0x00, 0x01, 0x04, 0x09, 0x0d]), g.fs(), g.fs(), g.rng.range(5, 6), g.fd(), 0x53)),
  trapUnit((g) => raw(g.rng.pick([0x02, 0x03, 0x06, 0x07]), g.fs(), g.fs(), 0, g.fd(), 0x53)),
  trapUnit((g) => raw((g.fs() << 2) | g.rng.range(2, 3), g.fs(), g.fs(), 0, g.fd(), g.rng.pick([0x43, 0x47, 0x4b, 0x4f]))),
  // custom opcodes: nothing there
  trapUnit((g, a) => raw(g.rng.range(0, 127), g.rs(), a, g.rng.range(0, 7), g.rd(), g.rng.pick([0x0b, 0x2b, 0x5b, 0x7b]))),
  // compressed: c.lwsp/c.ldsp with rd = 0 are reserved; sp bad around it
  (g) => {
    const word = g.rng.pick([0x4002, 0x6002]) | (g.rng.range(0, 31) << 2) | (g.rng.range(0, 1) << 12); // rd (bits 11:7) = 0
    g.emit([A.addi(2, 0, g.rng.pick([0, 8, -8, 0x7ff])), word, A.addi(2, 31, 0)], ['trap']);
  },
];

// ---- groups ------------------------------------------------------------------------------------
export interface GroupDef {
  /** What the group exercises, for reports. */
  title: string;
  choices: Choice[];
  usesF: boolean;
  /** The initial FP values. */
  floats: 's' | 'd' | 'mixed';
  /** Whether the block has (and dumps) a scratch buffer. */
  memory: boolean;
  /** x2 stays the scratch pointer. */
  keepSp?: boolean;
  /** Signals are caught and recorded in each block's trap record (TRAPS). */
  traps?: boolean;
  /** Units per block. */
  units: number;
}

export const GROUPS: Record<string, GroupDef> = {
  rv64i: { title: 'RV64I ALU, immediates, shifts, forward branches and jumps', choices: RV64I, usesF: false, floats: 's', memory: false, units: 64 },
  m: { title: 'M extension', choices: [...M, ...M, ...RV64I.slice(0, 8)], usesF: false, floats: 's', memory: false, units: 64 },
  a: { title: 'A extension on a scratch buffer', choices: [...ATOMIC, ...ATOMIC.slice(0, 2), ...RV64I.slice(0, 6)], usesF: false, floats: 's', memory: true, units: 64 },
  zb: { title: 'Zba, Zbb, Zbs', choices: [...ZB, ...RV64I.slice(0, 6)], usesF: false, floats: 's', memory: false, units: 64 },
  mem: { title: 'loads and stores of every width, misaligned included', choices: [...MEM, ...RV64I.slice(0, 4)], usesF: true, floats: 'mixed', memory: true, units: 64 },
  f: { title: 'F arithmetic, compares, classify, moves, static and dynamic rounding', choices: FSINGLE, usesF: true, floats: 's', memory: false, units: 64 },
  d: { title: 'D arithmetic, compares, classify, moves, static and dynamic rounding', choices: FDOUBLE, usesF: true, floats: 'd', memory: false, units: 64 },
  fcvt: { title: 'F/D conversions, moves, classify', choices: FCVT, usesF: true, floats: 'mixed', memory: false, units: 64 },
  fcsr: { title: 'fcsr/frm/fflags writes with dynamic rounding', choices: FCSR_OPS, usesF: true, floats: 'mixed', memory: false, units: 64 },
  rvc: { title: 'compressed forms', choices: RVC, usesF: true, floats: 'd', memory: true, keepSp: true, units: 64 },
  trap: {
    title: 'reserved encodings and faulting accesses: the signal, si_code, si_addr and pc of each',
    choices: [...TRAPS, ...TRAPS, ...RV64I.slice(0, 8), ...MEM, ...ATOMIC.slice(0, 1)],
    usesF: true, floats: 'mixed', memory: true, keepSp: true, traps: true, units: 48,
  },
  mix: {
    title: 'everything together',
    choices: [...RV64I, ...M, ...ZB, ...MEM, ...ATOMIC, ...FSINGLE, ...FDOUBLE, ...FCVT, ...FCSR_OPS, ...RVC],
    usesF: true, floats: 'mixed', memory: true, keepSp: true, units: 64,
  },
};

/** Generates block `index` of a (group, seed) program. */
export function generateBlock(group: string, seed: string, index: number, units?: number): Block {
  const def = GROUPS[group];
  if (!def) throw new Error(`unknown random-test group ${group}`);
  const rng = new Rng(`${group}/${seed}/${index}`);
  const init = rng.fork('init');
  const xs: bigint[] = [0n];
  for (let r = 1; r <= 30; r++) xs.push(randomInt(init));
  xs.push(0n);
  const fs: bigint[] = [];
  for (let r = 0; r < 32; r++) fs.push(randomFloat(init, def.floats));
  const fcsr = (init.range(0, 4) << 5) | (init.chance(0.5) ? 0 : init.range(0, 31));
  const scratch = new Uint8Array(def.memory ? SCRATCH_BYTES : 0);
  for (let i = 0; i < scratch.length; i += 4) {
    new DataView(scratch.buffer).setUint32(i, init.chance(0.2) ? randomSingleBits(init) : init.u32(), true);
  }
  const g = new Gen(rng.fork('code'), def);
  const want = units ?? def.units;
  while (g.units.length < want) g.rng.pick(def.choices)(g);
  return { group, seed, index, usesF: def.usesF, x: xs, f: fs, fcsr, scratch, units: g.units.slice(0, want) };
}

// ---- program layout --------------------------------------------------------------------------
const F_AREA = 264; // f0..f31, fcsr
const X_AREA = 248; // x1..x31
/** Signals recorded per block (more are only counted). */
export const TRAP_RECORDS = 16;
/** The trap record: a count (u64), then per signal si_signo (u32), si_code
 *  (u32), si_addr (u64) and the pc (u64). */
const TRAP_ENTRY = 24;
const TRAP_AREA = 8 + TRAP_RECORDS * TRAP_ENTRY;
const ALT_STACK_BYTES = 16 * 1024;
// Linux riscv64: struct ucontext's uc_mcontext (pc, then x1..x31) is at 176.
const UC_PC = 176;
const SA_SIGINFO = 4, SA_ONSTACK = 0x0800_0000;
const SYS_SIGALTSTACK = 132, SYS_RT_SIGACTION = 134;
const CAUGHT_SIGNALS = [4, 7, 11]; // SIGILL, SIGBUS, SIGSEGV

/** rd = v for 0 <= v < 2 GiB: lui and addi, always two words. */
function li32(rd: number, v: bigint): number[] {
  const hi = ((v + 0x800n) >> 12n) & 0xfffffn;
  return [A.lui(rd, Number(hi)), A.addi(rd, rd, Number(v - (((v + 0x800n) >> 12n) << 12n)))];
}

/** Installs the handler for CAUGHT_SIGNALS on an alternate stack; `ss` and
 *  `act` are the addresses of the stack_t and struct sigaction. */
function trapPrologue(ss: bigint, act: bigint): number[] {
  const words = [...li32(10, ss), A.addi(11, 0, 0), A.addi(17, 0, SYS_SIGALTSTACK), A.ecall()];
  for (const sig of CAUGHT_SIGNALS) {
    words.push(A.addi(10, 0, sig), ...li32(11, act), A.addi(12, 0, 0), A.addi(13, 0, 8), A.addi(17, 0, SYS_RT_SIGACTION), A.ecall());
  }
  return words;
}

/** The handler (a0 = signal, a1 = siginfo, a2 = ucontext): appends the
 *  signal to the trap record of the block running (found from x31 in the
 *  ucontext: the scratch buffer, which the record precedes) and resumes
 *  after the instruction (2 or 4 bytes, from its first parcel). */
function trapHandler(recordOffset: number): number[] {
  const T0 = 5, T1 = 6, T2 = 7, T3 = 28;
  return [
    A.ld(T0, 12, UC_PC + 31 * 8), A.addi(T0, T0, recordOffset), // t0 = the record
    A.ld(T1, T0, 0), A.addi(T2, T1, 1), A.sd(T2, T0, 0),          // count++
    A.addi(T3, 0, TRAP_RECORDS), A.bgeu(T1, T3, 4 * 13),          // full: only counted
    A.slli(T2, T1, 4), A.slli(T3, T1, 3), A.add(T2, T2, T3), A.add(T2, T2, T0), // t2 = t0 + 24 * n
    A.lw(T3, 11, 0), A.sw(T3, T2, 8),                              // si_signo
    A.lw(T3, 11, 8), A.sw(T3, T2, 12),                             // si_code
    A.ld(T3, 11, 16), A.sd(T3, T2, 16),                            // si_addr
    A.ld(T3, 12, UC_PC), A.sd(T3, T2, 24),                         // pc
    // (the branch above lands here)
    A.ld(T3, 12, UC_PC), A.lhu(T1, T3, 0), A.andi(T1, T1, 3), A.addi(T2, 0, 3),
    A.addi(T3, T3, 2), A.bne(T1, T2, 8), A.addi(T3, T3, 2), A.sd(T3, 12, UC_PC),
    A.jalr(0, 1, 0),
  ];
}

export interface BlockLayout {
  block: Block;
  /** Where this block's dump starts in the program's stdout, and its length. */
  dumpOffset: number;
  dumpLength: number;
  /** Offsets in the dump of the trap record and register areas (-1 when absent) and of the scratch buffer. */
  trapAt: number;
  fAt: number;
  xAt: number;
  scratchAt: number;
  /** The units as built: offset in the block's code and disassembly. */
  listing: Array<{ at: number; text: string; writes: string[] }>;
}

export interface Program {
  elf: Uint8Array;
  blocks: BlockLayout[];
  /** Total bytes the program writes to stdout. */
  outputBytes: number;
}

/** Builds one ELF running `blocks` in order. With `prefix`, each block only
 *  runs its first `prefix[i]` units (used to find the first differing one). */
export function buildProgram(blocks: Block[], prefix?: number[]): Program {
  // Pass 1: code sizes, so data addresses are known.
  const traps = blocks.some((b) => GROUPS[b.group].traps);
  if (traps && !blocks.every((b) => b.usesF && GROUPS[b.group].traps)) throw new Error('trap blocks need F and cannot mix with others');
  const trapRecordOffset = -(X_AREA + F_AREA + TRAP_AREA);
  const prologueBytes = traps ? trapPrologue(0n, 0n).length * 4 : 0;
  const codes = blocks.map((b, i) => blockCode(b, 0n, prefix?.[i]));
  const exitCode = [A.addi(10, 0, 0), A.addi(17, 0, 94), A.ecall()];
  const handler = traps ? trapHandler(trapRecordOffset) : [];
  const blocksBytes = codes.reduce((s, c) => s + c.bytes, 0);
  const codeBytes = prologueBytes + blocksBytes + exitCode.length * 4 + handler.length * 4;
  const handlerAddr = PAYLOAD_ADDRESS + BigInt(prologueBytes + blocksBytes + exitCode.length * 4);
  let dataAt = PAYLOAD_ADDRESS + BigInt(codeBytes);
  dataAt = (dataAt + 15n) & ~15n;
  const dataStart = dataAt;
  const data: number[] = [];
  // With traps: struct sigaction { handler, flags, mask } and stack_t
  // { ss_sp, ss_flags, ss_size } first; the alternate stack is the bss.
  const actAddr = dataStart, ssAddr = dataStart + 24n;
  if (traps) {
    const header = new DataView(new ArrayBuffer(48));
    header.setBigUint64(0, handlerAddr, true);
    header.setBigUint64(8, BigInt(SA_SIGINFO | SA_ONSTACK), true);
    header.setBigUint64(40, BigInt(ALT_STACK_BYTES), true); // ss_sp is filled below
    for (let i = 0; i < 48; i++) data.push(header.getUint8(i));
  }
  const scratchAddrs: bigint[] = [];
  const layouts: BlockLayout[] = [];
  let out = 0;
  for (const b of blocks) {
    const trapBytes = traps ? TRAP_AREA : 0;
    const area = new Uint8Array(trapBytes + (b.usesF ? F_AREA : 0) + X_AREA + b.scratch.length);
    const v = new DataView(area.buffer, trapBytes);
    let p = 0;
    if (b.usesF) {
      for (let r = 0; r < 32; r++) v.setBigUint64(8 * r, b.f[r], true);
      v.setBigUint64(256, BigInt(b.fcsr), true);
      p = F_AREA;
    }
    const scratchAddr = dataAt + BigInt(data.length + trapBytes + p + X_AREA);
    // where the group keeps sp as a second pointer to the scratch buffer
    if (GROUPS[b.group].keepSp) b.x[2] = scratchAddr;
    for (let r = 1; r <= 30; r++) v.setBigUint64(p + 8 * (r - 1), b.x[r], true);
    area.set(b.scratch, trapBytes + p + X_AREA);
    scratchAddrs.push(scratchAddr);
    const dumpLength = area.length;
    layouts.push({
      block: b, dumpOffset: out, dumpLength,
      trapAt: traps ? 0 : -1, fAt: b.usesF ? trapBytes : -1, xAt: trapBytes + p, scratchAt: trapBytes + p + X_AREA, listing: [],
    });
    out += dumpLength;
    for (const byte of area) data.push(byte);
    while (data.length % 16) data.push(0);
  }
  // Pass 2: the code with the real addresses.
  const code: number[] = traps ? trapPrologue(ssAddr, actAddr) : [];
  const altStack = (dataStart + BigInt(data.length) + 15n) & ~15n;
  for (let i = 0; traps && i < 8; i++) data[24 + i] = Number((altStack >> BigInt(8 * i)) & 0xffn);
  blocks.forEach((b, i) => {
    const c = blockCode(b, scratchAddrs[i], prefix?.[i]);
    layouts[i].listing = c.listing;
    for (const w of c.words) code.push(w);
  });
  code.push(...exitCode, ...handler);
  const payload: number[] = [...A.assemble(code)];
  while (PAYLOAD_ADDRESS + BigInt(payload.length) < dataStart) payload.push(0);
  payload.push(...data);
  const bss = traps ? Number(altStack - (dataStart + BigInt(data.length))) + ALT_STACK_BYTES : 0;
  return { elf: writeElf(Uint8Array.from(payload), bss), blocks: layouts, outputBytes: out };
}

function blockCode(b: Block, scratch: bigint, prefix?: number): { words: number[]; bytes: number; listing: BlockLayout['listing'] } {
  const words: number[] = [];
  // x31 = scratch (lui + addi; scratch < 2 GiB)
  const hi = Number(((scratch + 0x800n) >> 12n) & 0xfffffn);
  const lo = Number(scratch - (((scratch + 0x800n) >> 12n) << 12n));
  words.push(A.lui(31, hi), A.addi(31, 31, lo));
  const xBase = -X_AREA, fBase = -(X_AREA + F_AREA);
  if (b.usesF) {
    words.push(A.ld(1, 31, fBase + 256), A.csrw(A.CSR.fcsr, 1));
    for (let r = 0; r < 32; r++) words.push(A.fld(r, 31, fBase + 8 * r));
  }
  for (let r = 1; r <= 30; r++) words.push(A.ld(r, 31, xBase + 8 * (r - 1)));
  // the random units, laid out
  const units = prefix === undefined ? b.units : b.units.slice(0, prefix);
  const offsets: number[] = [];
  let at = 0;
  for (const u of units) { offsets.push(at); at += u.size; }
  const end = at;
  const listing: BlockLayout['listing'] = [];
  units.forEach((u, i) => {
    const t = i + 1 + u.skip;
    const target = t < units.length ? offsets[t] : end;
    const ws = u.build(offsets[i], target);
    const size = ws.reduce((s, w) => s + A.insnLength(w), 0);
    if (size !== u.size) throw new Error(`unit ${i} of ${b.group}/${b.seed}/${b.index} is ${size} bytes, declared ${u.size}`);
    listing.push({ at: offsets[i], text: ws.map((w) => A.disasm(w)).join('; ') + (u.skip ? `  -> #${Math.min(t, units.length)}` : ''), writes: u.writes });
    words.push(...ws);
  });
  // the dump
  for (let r = 1; r <= 31; r++) words.push(A.sd(r, 31, xBase + 8 * (r - 1)));
  if (b.usesF) {
    words.push(A.csrr(1, A.CSR.fcsr), A.sd(1, 31, fBase + 256));
    for (let r = 0; r < 32; r++) words.push(A.fsd(r, 31, fBase + 8 * r));
  }
  const traps = GROUPS[b.group].traps === true;
  const len = (traps ? TRAP_AREA : 0) + (b.usesF ? F_AREA : 0) + X_AREA + b.scratch.length;
  const dumpFrom = traps ? fBase - TRAP_AREA : b.usesF ? fBase : xBase;
  words.push(A.addi(10, 0, 1), A.addi(11, 31, dumpFrom), A.addi(12, 0, len), A.addi(17, 0, 64), A.ecall());
  const bytes = words.reduce((s, w) => s + A.insnLength(w), 0);
  return { words, bytes, listing };
}

/** A whole (group, seed) program of `count` blocks. */
export function generateProgram(group: string, seed: string, count: number): Program {
  const blocks: Block[] = [];
  for (let i = 0; i < count; i++) blocks.push(generateBlock(group, seed, i));
  return buildProgram(blocks);
}

// ---- comparing dumps ---------------------------------------------------------------------------
const SIGNAL_NAMES: Record<number, string> = { 4: 'SIGILL', 5: 'SIGTRAP', 7: 'SIGBUS', 11: 'SIGSEGV' };

export interface Difference { where: string; expected: string; actual: string }

/** Names the differing registers / bytes of one block's dump. */
export function diffBlock(layout: BlockLayout, expected: Uint8Array, actual: Uint8Array): Difference[] {
  const diffs: Difference[] = [];
  const ev = new DataView(expected.buffer, expected.byteOffset, expected.byteLength);
  const av = new DataView(actual.buffer, actual.byteOffset, actual.byteLength);
  const q = (v: DataView, at: number) => (at + 8 <= v.byteLength ? '0x' + v.getBigUint64(at, true).toString(16).padStart(16, '0') : '(missing)');
  if (layout.trapAt >= 0) {
    const count = (v: DataView) => (layout.trapAt + 8 <= v.byteLength ? Number(v.getBigUint64(layout.trapAt, true)) : -1);
    const entry = (v: DataView, k: number): string => {
      const at = layout.trapAt + 8 + k * TRAP_ENTRY;
      if (k >= count(v)) return '(none)';
      if (at + TRAP_ENTRY > v.byteLength) return '(missing)';
      const sig = v.getUint32(at, true);
      return `${SIGNAL_NAMES[sig] ?? `signal ${sig}`} si_code ${v.getInt32(at + 4, true)} si_addr 0x${v.getBigUint64(at + 8, true).toString(16)} pc 0x${v.getBigUint64(at + 16, true).toString(16)}`;
    };
    if (count(ev) !== count(av)) diffs.push({ where: 'trap count', expected: String(count(ev)), actual: String(count(av)) });
    for (let k = 0; k < Math.min(TRAP_RECORDS, Math.max(count(ev), count(av))); k++) {
      if (entry(ev, k) !== entry(av, k)) diffs.push({ where: `trap ${k}`, expected: entry(ev, k), actual: entry(av, k) });
    }
  }
  if (layout.fAt >= 0) {
    for (let r = 0; r < 32; r++) {
      const at = layout.fAt + 8 * r;
      if (q(ev, at) !== q(av, at)) diffs.push({ where: `f${r} (${A.F_ABI[r]})`, expected: q(ev, at), actual: q(av, at) });
    }
    if (q(ev, layout.fAt + 256) !== q(av, layout.fAt + 256)) diffs.push({ where: 'fcsr', expected: q(ev, layout.fAt + 256), actual: q(av, layout.fAt + 256) });
  }
  for (let r = 1; r <= 31; r++) {
    const at = layout.xAt + 8 * (r - 1);
    if (q(ev, at) !== q(av, at)) diffs.push({ where: `x${r} (${A.X_ABI[r]})`, expected: q(ev, at), actual: q(av, at) });
  }
  for (let i = layout.scratchAt; i < layout.dumpLength; i += 8) {
    if (q(ev, i) !== q(av, i)) diffs.push({ where: `scratch+${i - layout.scratchAt}`, expected: q(ev, i), actual: q(av, i) });
  }
  if (expected.length !== actual.length) diffs.push({ where: 'dump length', expected: String(expected.length), actual: String(actual.length) });
  return diffs;
}

/** The first block whose dump differs, or -1. */
export function firstDifferingBlock(p: Program, expected: Uint8Array, actual: Uint8Array): number {
  for (let i = 0; i < p.blocks.length; i++) {
    const l = p.blocks[i];
    const e = expected.subarray(l.dumpOffset, l.dumpOffset + l.dumpLength);
    const a = actual.subarray(l.dumpOffset, l.dumpOffset + l.dumpLength);
    if (e.length !== a.length || !e.every((v, k) => v === a[k])) return i;
  }
  return expected.length === actual.length ? -1 : p.blocks.length;
}

/** A readable account of a differing block: the differences, the units that
 *  write each differing location, and the block's listing. */
export function describeMismatch(p: Program, blockIndex: number, expected: Uint8Array, actual: Uint8Array, firstBadUnit?: number): string {
  if (blockIndex >= p.blocks.length) return `stdout length differs: expected ${expected.length} bytes, got ${actual.length} (extra output after the last block)`;
  const l = p.blocks[blockIndex];
  const b = l.block;
  const e = expected.subarray(l.dumpOffset, l.dumpOffset + l.dumpLength);
  const a = actual.subarray(l.dumpOffset, l.dumpOffset + l.dumpLength);
  const lines: string[] = [];
  lines.push(`random group ${b.group}, seed "${b.seed}", block ${b.index} (stdout bytes ${l.dumpOffset}..${l.dumpOffset + l.dumpLength})`);
  if (a.length < e.length) lines.push(`  ringvisor's output ends inside or before this block (${a.length} of ${e.length} bytes): the block faulted or exited early`);
  const diffs = diffBlock(l, e, a);
  const locs = new Set<string>();
  for (const d of diffs) {
    lines.push(`  ${d.where}: expected ${d.expected}, got ${d.actual}`);
    const m = /^([xf]\d+)/.exec(d.where);
    locs.add(m ? m[1] : d.where.startsWith('scratch') ? 'mem' : d.where.startsWith('trap') ? 'trap' : d.where);
  }
  const writers = l.listing.flatMap((u, i) => (u.writes.some((w) => locs.has(w)) ? [i] : []));
  if (firstBadUnit !== undefined) lines.push(`  first differing prefix: after unit #${firstBadUnit} (${l.listing[firstBadUnit]?.text ?? '?'})`);
  else if (writers.length) lines.push(`  units writing the differing locations: #${writers.join(', #')} (range #${writers[0]}..#${writers[writers.length - 1]})`);
  lines.push('  initial state:');
  for (let r = 1; r <= 30; r += 3) lines.push('    ' + [r, r + 1, r + 2].map((k) => `x${k}=0x${b.x[k].toString(16)}`).join('  '));
  if (b.usesF) {
    for (let r = 0; r < 32; r += 4) lines.push('    ' + [r, r + 1, r + 2, r + 3].map((k) => `f${k}=0x${b.f[k].toString(16)}`).join('  '));
    lines.push(`    fcsr=0x${b.fcsr.toString(16)}`);
  }
  lines.push('  units:');
  l.listing.forEach((u, i) => {
    const mark = i === firstBadUnit ? '>>' : writers.includes(i) ? ' *' : '  ';
    lines.push(`  ${mark} #${String(i).padStart(2)} +${String(u.at).padStart(3)}  ${u.text}`);
  });
  return lines.join('\n');
}

// ---- the recorded (golden) programs ------------------------------------------------------------
/** Blocks (sequences) per generated ELF. */
export const BLOCKS_PER_PROGRAM = 100;
/** Seeds recorded in test/golden/random/ per group: one ELF of
 *  BLOCKS_PER_PROGRAM blocks each. */
export const GOLDEN_SEEDS: Record<string, string[]> = {
  rv64i: ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'],
  m: ['1', '2', '3', '4', '5', '6', '7', '8'],
  a: ['1', '2', '3', '4', '5', '6', '7', '8'],
  zb: ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'],
  mem: ['1', '2', '3', '4', '5', '6', '7', '8'],
  f: ['1', '2', '3', '4', '5', '6', '7', '8'],
  d: ['1', '2', '3', '4', '5', '6', '7', '8'],
  fcvt: ['1', '2', '3', '4', '5', '6', '7', '8'],
  fcsr: ['1', '2', '3', '4', '5', '6'],
  rvc: ['1', '2', '3', '4', '5', '6', '7', '8'],
  mix: ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'],
  trap: ['1', '2', '3', '4', '5', '6', '7', '8'],
};

/** The golden file of a (group, seed) program. */
export const goldenFile = (group: string, seed: string) => `${group}-${seed}.bin.gz`;

/** Bumped whenever the generator changes what it emits (the golden files
 *  then have to be recorded again). */
export const GENERATOR_VERSION = 2;

/** Builds a program whose block k runs only the first k units of `block`
 *  (k = 0 … all): the first k whose dump differs between two machines names
 *  unit k - 1 as the first one that went wrong. */
export function prefixProgram(block: Block): Program {
  const n = block.units.length;
  const copies = Array.from({ length: n + 1 }, () => block);
  return buildProgram(copies, copies.map((_, k) => k));
}
