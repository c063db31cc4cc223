// The F and D extensions against QEMU.
//
// test/golden/fp-{s,d,int}.json are recorded by scripts/gen-fp-golden.mjs:
// for several hundred thousand operand tuples (edge values, their cross
// products and seeded random values) and every rounding mode, the result bits
// and fflags qemu-riscv64 computes. This file checks
//   1. the softfloat entry points (assembly/fp/softfloat.ts, exported through
//      assembly/fp/exports.ts) on every golden case, with the native-float
//      fast paths on and off;
//   2. execFloat through the CPU's run loop on a sample of the golden cases,
//      with static and dynamic rounding modes, checking the destination
//      register and fcsr (fflags accrue, frm untouched);
//   3. what the golden files do not cover: loads and stores, NaN boxing by
//      moves, illegal encodings (reserved rounding modes, H/Q formats, bad
//      funct3/rs2 fields) that must trap and change nothing.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { loadRawCpu } from './wasm.js';
import * as A from './support/rvasm.js';
import { enc, operandsOf, RM } from './support/rvasm.js';
import { newCpu, load, ExitReason, DATA, CODE, type Cpu } from './support/machine.js';

// ---- golden files ------------------------------------------------------------
interface GoldenOp { op: string; rms: number[]; resultBytes: number; results: string }
interface GoldenGroup { name: string; arity: number; count: number; operands: string; ops: GoldenOp[] }
interface Golden { groups: GoldenGroup[] }

const unpack = (b64: string): Buffer => inflateRawSync(Buffer.from(b64, 'base64'));
// FP_GOLDEN_DIR points at another recording (e.g. a larger soak set made with
// `node scripts/gen-fp-golden.mjs --scale 20 --seed 7 --out DIR`).
const GOLDEN_DIR = process.env.FP_GOLDEN_DIR;
const loadGolden = (name: string): Golden => JSON.parse(readFileSync(
  GOLDEN_DIR ? `${GOLDEN_DIR}/${name}` : new URL(`./golden/${name}`, import.meta.url), 'utf8'));

const BOX = 0xffff_ffff_0000_0000n;
const hex = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');

/** One golden case: operands, rounding mode, expected destination and flags. */
interface Case { args: bigint[]; rm: number; want: bigint; flags: number }

function* cases(g: GoldenGroup, o: GoldenOp): Generator<Case> {
  const ops = unpack(g.operands);
  const res = unpack(o.results);
  const stride = o.resultBytes + 1;
  if (res.length !== stride * g.count * o.rms.length) throw new Error(`${o.op}: bad results length`);
  let i = 0;
  for (const rm of o.rms) {
    for (let c = 0; c < g.count; c++, i++) {
      const args: bigint[] = [];
      for (let j = 0; j < g.arity; j++) args.push(ops.readBigUInt64LE(8 * (g.arity * c + j)));
      const at = stride * i;
      let want: bigint;
      if (o.resultBytes === 4) want = BOX | BigInt(res.readUInt32LE(at)); // a NaN-boxed single
      else if (o.resultBytes === 2) want = BigInt(res.readUInt16LE(at));
      else want = res.readBigUInt64LE(at);
      yield { args, rm, want, flags: res[at + o.resultBytes] };
    }
  }
}

const GOLDEN = ['fp-s.json', 'fp-d.json', 'fp-int.json'].map((f) => ({ file: f, golden: loadGolden(f) }));

// ---- the softfloat entry points ------------------------------------------------
const wasm = loadRawCpu().exports;
const fn = (name: string): ((...a: any[]) => bigint) => {
  const f = wasm[name];
  if (typeof f !== 'function') throw new Error(`the wasm module does not export ${name} (see assembly/fp/exports.ts)`);
  return f as (...a: any[]) => bigint;
};
const u64 = (v: bigint) => BigInt.asUintN(64, v);

/** How each golden operation maps onto a softfloat export: (operands, rm) -> result. */
const SOFT: Record<string, (a: bigint[], rm: number) => bigint> = {};
for (const [p, w] of [['s', 'f32'], ['d', 'f64']] as const) {
  const other = p === 's' ? 'd' : 's';
  const rm2 = (name: string) => (a: bigint[], rm: number) => fn(name)(a[0], a[1], rm);
  const rm1 = (name: string) => (a: bigint[], rm: number) => fn(name)(a[0], rm);
  const rm3 = (name: string) => (a: bigint[], rm: number) => fn(name)(a[0], a[1], a[2], rm);
  const two = (name: string) => (a: bigint[]) => fn(name)(a[0], a[1]);
  SOFT[`fadd.${p}`] = rm2(`${w}Add`); SOFT[`fsub.${p}`] = rm2(`${w}Sub`);
  SOFT[`fmul.${p}`] = rm2(`${w}Mul`); SOFT[`fdiv.${p}`] = rm2(`${w}Div`);
  SOFT[`fsqrt.${p}`] = rm1(`${w}Sqrt`);
  SOFT[`fmadd.${p}`] = rm3(`${w}MulAdd`); SOFT[`fmsub.${p}`] = rm3(`${w}MulSub`);
  SOFT[`fnmsub.${p}`] = rm3(`${w}NegMulSub`); SOFT[`fnmadd.${p}`] = rm3(`${w}NegMulAdd`);
  SOFT[`fmin.${p}`] = two(`${w}Min`); SOFT[`fmax.${p}`] = two(`${w}Max`);
  SOFT[`fsgnj.${p}`] = (a) => fn(`${w}SignInject`)(a[0], a[1], 0);
  SOFT[`fsgnjn.${p}`] = (a) => fn(`${w}SignInject`)(a[0], a[1], 1);
  SOFT[`fsgnjx.${p}`] = (a) => fn(`${w}SignInject`)(a[0], a[1], 2);
  SOFT[`feq.${p}`] = two(`${w}Eq`); SOFT[`flt.${p}`] = two(`${w}Lt`); SOFT[`fle.${p}`] = two(`${w}Le`);
  SOFT[`fclass.${p}`] = (a) => fn(`${w}Class`)(a[0]);
  SOFT[`fcvt.${other}.${p}`] = rm1(p === 's' ? 'f32ToF64' : 'f64ToF32');
  SOFT[`fcvt.w.${p}`] = rm1(`${w}ToI32`); SOFT[`fcvt.wu.${p}`] = rm1(`${w}ToU32`);
  SOFT[`fcvt.l.${p}`] = rm1(`${w}ToI64`); SOFT[`fcvt.lu.${p}`] = rm1(`${w}ToU64`);
  SOFT[`fcvt.${p}.w`] = rm1(`i32To${w.toUpperCase()}`); SOFT[`fcvt.${p}.wu`] = rm1(`u32To${w.toUpperCase()}`);
  SOFT[`fcvt.${p}.l`] = rm1(`i64To${w.toUpperCase()}`); SOFT[`fcvt.${p}.lu`] = rm1(`u64To${w.toUpperCase()}`);
}
// Pure moves have no softfloat function; they are checked through the CPU.
const MOVES = new Set(['fmv.x.w', 'fmv.x.d', 'fmv.w.x', 'fmv.d.x']);

function checkSoft(g: GoldenGroup, o: GoldenOp): { count: number; wrong: string[] } {
  const f = SOFT[o.op];
  const clear = fn('fpClearExceptionFlags'), flags = fn('fpExceptionFlags');
  const wrong: string[] = [];
  let count = 0;
  for (const c of cases(g, o)) {
    count++;
    clear();
    const got = u64(f(c.args, c.rm));
    const gotFlags = Number(flags());
    if (got !== c.want || gotFlags !== c.flags) {
      if (wrong.length < 20) {
        wrong.push(`${o.op} rm=${c.rm} (${c.args.map(hex).join(', ')}): got ${hex(got)} flags ${gotFlags.toString(16)}, ` +
          `want ${hex(c.want)} flags ${c.flags.toString(16)}`);
      }
    }
  }
  return { count, wrong };
}

for (const { file, golden } of GOLDEN) {
  describe(`softfloat against QEMU: ${file}`, () => {
    for (const g of golden.groups) {
      for (const o of g.ops) {
        if (MOVES.has(o.op)) continue;
        const n = g.count * o.rms.length;
        for (const fast of [true, false]) {
          it(`${o.op} (${g.name}, ${n} cases, fast paths ${fast ? 'on' : 'off'})`, () => {
            fn('fpSetFastPaths')(fast ? 1 : 0);
            try {
              const { count, wrong } = checkSoft(g, o);
              expect(count).toBe(n);
              expect(wrong).toEqual([]);
            } finally {
              fn('fpSetFastPaths')(1);
            }
          });
        }
      }
    }
  });
}

// ---- execFloat through the CPU -------------------------------------------------------
let shared: Cpu | undefined;
const cpu = (): Cpu => (shared ??= newCpu());

/** Runs `words` then an ebreak on the shared CPU; returns the exit reason. */
function runWords(words: number[], setup: Parameters<typeof load>[2]): ExitReason {
  const c = cpu();
  load(c, [...words, A.ebreak()], setup);
  return c.run(100n);
}

// Register roles for a golden op: f operands in f1, f2, f4; an integer
// operand in x1; the destination is x3 or f3.
function encodeOp(op: string, rm: number): { word: number; intDest: boolean } {
  const names = operandsOf(op);
  const values = names.map((n) => {
    switch (n) {
      case 'fd': case 'rd': return 3;
      case 'fs1': case 'rs1': return 1;
      case 'fs2': return 2;
      case 'fs3': return 4;
      case 'rm': return rm;
      default: throw new Error(`${op}: unexpected operand ${n}`);
    }
  });
  return { word: enc(op, values), intDest: names[0] === 'rd' };
}

describe('execFloat against QEMU (golden samples through the CPU)', () => {
  for (const { file, golden } of GOLDEN) {
    for (const g of golden.groups) {
      for (const o of g.ops) {
        const hasRm = operandsOf(o.op).includes('rm');
        it(`${o.op} (${file} ${g.name}) with ${hasRm ? 'static and dynamic rounding' : 'no rounding mode'}`, () => {
          const intOperand = operandsOf(o.op)[1] === 'rs1';
          const wrong: string[] = [];
          let i = 0;
          for (const c of cases(g, o)) {
            if (i++ % 23 !== 0) continue; // a sample: every 23rd case of every rounding mode
            const f: Record<number, bigint> = intOperand ? {} : { 1: c.args[0], 2: c.args[1] ?? 0n, 4: c.args[2] ?? 0n };
            const x: Record<number, bigint> = intOperand ? { 1: c.args[0] } : {};
            const modes = hasRm
              ? [{ rm: c.rm, frm: (c.rm + 2) % 5 }, { rm: RM.DYN, frm: c.rm }]
              : [{ rm: 0, frm: 3 }];
            for (const { rm, frm } of modes) {
              const { word, intDest } = encodeOp(o.op, rm);
              const sticky = 0x01; // a flag already set must stay set (flags accrue)
              const reason = runWords([word], { f: { ...f, 3: 0x1234n }, x: { ...x, 3: 0x1234n }, fcsr: (frm << 5) | sticky });
              const got = intDest ? cpu().x(3) : cpu().f(3);
              const fcsr = cpu().fcsr;
              const wantFcsr = (frm << 5) | sticky | c.flags;
              if (reason !== ExitReason.Ebreak || got !== c.want || fcsr !== wantFcsr) {
                if (wrong.length < 10) {
                  wrong.push(`${A.disasm(word)} (${c.args.map(hex).join(', ')}) frm=${frm}: exit ${reason}, got ${hex(got)} ` +
                    `fcsr ${fcsr.toString(16)}, want ${hex(c.want)} fcsr ${wantFcsr.toString(16)}`);
                }
              }
            }
          }
          expect(wrong).toEqual([]);
        });
      }
    }
  }
});

// ---- what the golden files do not cover ------------------------------------------------
const le = (v: bigint, n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
};

describe('FLW, FLD, FSW, FSD', () => {
  it('flw NaN-boxes the loaded word; fld loads all 64 bits; negative offsets work', () => {
    const reason = runWords([A.flw(1, 5, 8), A.fld(2, 5, -8), A.flw(3, 5, -8)], {
      x: { 5: DATA + 16n },
      f: { 1: 0n, 2: 0n, 3: 0n },
      mem: [[DATA + 8n, le(0x1122_3344_5566_7788n, 8)], [DATA + 24n, le(0xbf80_0000n, 4)]],
    });
    expect(reason).toBe(ExitReason.Ebreak);
    expect(cpu().f(1)).toBe(0xffff_ffff_bf80_0000n);
    expect(cpu().f(2)).toBe(0x1122_3344_5566_7788n);
    expect(cpu().f(3)).toBe(0xffff_ffff_5566_7788n);
  });

  it('fsw stores the low 32 bits even of an unboxed value; fsd stores 64 bits', () => {
    const reason = runWords([A.fsw(1, 5, 0), A.fsd(2, 5, -16), A.ld(6, 5, 0), A.ld(7, 5, -16)], {
      x: { 5: DATA + 32n },
      f: { 1: 0x0123_4567_89ab_cdefn, 2: 0xfedc_ba98_7654_3210n },
      mem: [[DATA + 32n, le(0xaaaa_aaaa_aaaa_aaaan, 8)]],
    });
    expect(reason).toBe(ExitReason.Ebreak);
    expect(cpu().x(6)).toBe(0xaaaa_aaaa_89ab_cdefn);
    expect(cpu().x(7)).toBe(0xfedc_ba98_7654_3210n);
  });

  it('the compressed forms c.fld, c.fsd, c.fldsp, c.fsdsp', () => {
    // x8/x9 are the compressed register set's s0/s1; f8/f9 likewise.
    const reason = runWords([A.c_fld(8, 9, 8), A.c_fsd(8, 9, 16), A.c_fldsp(10, 24), A.c_fsdsp(10, 32), A.ld(6, 9, 16), A.ld(7, 2, 32)], {
      x: { 9: DATA, 2: DATA + 64n },
      f: { 8: 0n, 10: 0n },
      mem: [[DATA + 8n, le(0x4009_21fb_5444_2d18n, 8)], [DATA + 88n, le(0xc000_0000_0000_0000n, 8)]],
    });
    expect(reason).toBe(ExitReason.Ebreak);
    expect(cpu().f(8)).toBe(0x4009_21fb_5444_2d18n);
    expect(cpu().x(6)).toBe(0x4009_21fb_5444_2d18n);
    expect(cpu().f(10)).toBe(0xc000_0000_0000_0000n);
    expect(cpu().x(7)).toBe(0xc000_0000_0000_0000n);
  });

  it('a load outside RAM faults and leaves the register unchanged', () => {
    for (const word of [A.flw(1, 5, 0), A.fld(1, 5, 0)]) {
      const reason = runWords([word], { x: { 5: 0x10n }, f: { 1: 0x5555n } });
      expect(reason).toBe(ExitReason.Fault);
      expect(cpu().exit.cause).toBe(5); // load access fault
      expect(cpu().exit.addr).toBe(0x10n);
      expect(cpu().f(1)).toBe(0x5555n);
      expect(cpu().pc).toBe(CODE);
    }
  });

  it('a store outside RAM faults', () => {
    const reason = runWords([A.fsd(1, 5, 4)], { x: { 5: 0x10n } });
    expect(reason).toBe(ExitReason.Fault);
    expect(cpu().exit.cause).toBe(7); // store access fault
    expect(cpu().exit.addr).toBe(0x14n);
  });
});

describe('moves and NaN boxing', () => {
  it('fmv.x.w sign-extends the low 32 bits whatever the boxing; fmv.w.x boxes', () => {
    const reason = runWords([A.fmv_x_w(6, 1), A.fmv_x_w(7, 2), A.fmv_w_x(3, 8), A.fmv_x_d(9, 3), A.fmv_d_x(4, 8)], {
      f: { 1: 0x0000_0000_8000_0001n, 2: 0xffff_ffff_7fff_ffffn },
      x: { 8: 0x1234_5678_9abc_def0n },
    });
    expect(reason).toBe(ExitReason.Ebreak);
    expect(cpu().x(6)).toBe(0xffff_ffff_8000_0001n);
    expect(cpu().x(7)).toBe(0x7fff_ffffn);
    expect(cpu().f(3)).toBe(0xffff_ffff_9abc_def0n);
    expect(cpu().x(9)).toBe(0xffff_ffff_9abc_def0n);
    expect(cpu().f(4)).toBe(0x1234_5678_9abc_def0n);
  });

  it('single-precision results are boxed, unboxed operands read as the canonical NaN', () => {
    const one = 0xffff_ffff_3f80_0000n;
    const reason = runWords([A.fadd_s(3, 1, 1, RM.RNE), A.fadd_s(4, 1, 2, RM.RNE), A.fsgnjn_s(5, 2, 1)], {
      f: { 1: one, 2: 0x0000_0000_3f80_0000n }, fcsr: 0,
    });
    expect(reason).toBe(ExitReason.Ebreak);
    expect(cpu().f(3)).toBe(0xffff_ffff_4000_0000n);
    expect(cpu().f(4)).toBe(0xffff_ffff_7fc0_0000n);
    expect(cpu().f(5)).toBe(0xffff_ffff_ffc0_0000n);
    expect(cpu().fcsr).toBe(0);
  });

  it('fcvt.wu.s sign-extends its 32-bit result', () => {
    const reason = runWords([A.fcvt_wu_s(6, 1, RM.RTZ)], { f: { 1: 0xffff_ffff_4f40_0000n } }); // 3221225472.0
    expect(reason).toBe(ExitReason.Ebreak);
    expect(cpu().x(6)).toBe(0xffff_ffff_c000_0000n);
  });

  it('writes to x0 are dropped', () => {
    const reason = runWords([A.fmv_x_d(0, 1), A.feq_d(0, 1, 1)], { f: { 1: 0x7ff0_0000_0000_0001n }, fcsr: 0 });
    expect(reason).toBe(ExitReason.Ebreak);
    expect(cpu().x(0)).toBe(0n);
    expect(cpu().fcsr).toBe(0x10); // feq on a signalling NaN still raises NV
  });
});

describe('illegal encodings trap and change nothing', () => {
  const F7 = (w: number, funct7: number) => ((w & 0x01ff_ffff) | (funct7 << 25)) >>> 0;
  const withRm = (w: number, rm: number) => ((w & ~0x7000) | (rm << 12)) >>> 0;
  const withRs2 = (w: number, rs2: number) => ((w & ~0x01f0_0000) | (rs2 << 20)) >>> 0;
  const withF3 = withRm;

  function expectIllegal(word: number, fcsr = 0) {
    const before = { f3: 0x1111n, x3: 0x2222n };
    const reason = runWords([word], { f: { 1: 0x3ff0_0000_0000_0000n, 2: 0x4000_0000_0000_0000n, 3: before.f3 }, x: { 1: 7n, 3: before.x3 }, fcsr });
    expect(reason, A.disasm(word)).toBe(ExitReason.Fault);
    expect(cpu().exit.cause).toBe(2);
    expect(cpu().exit.addr).toBe(BigInt(word));
    expect(cpu().pc).toBe(CODE);
    expect(cpu().f(3)).toBe(before.f3);
    expect(cpu().x(3)).toBe(before.x3);
    expect(cpu().fcsr).toBe(fcsr);
  }

  const withRmOps = [
    A.fadd_s(3, 1, 2), A.fsub_d(3, 1, 2), A.fmul_s(3, 1, 2), A.fdiv_d(3, 1, 2), A.fsqrt_s(3, 1), A.fsqrt_d(3, 1),
    A.fmadd_s(3, 1, 2, 4), A.fnmadd_d(3, 1, 2, 4), A.fcvt_s_d(3, 1), A.fcvt_d_s(3, 1), A.fcvt_w_s(3, 1),
    A.fcvt_lu_d(3, 1), A.fcvt_s_w(3, 1), A.fcvt_d_lu(3, 1), A.fcvt_d_w(3, 1),
  ];

  it('rounding modes 5 and 6 in the instruction', () => {
    for (const w of withRmOps) for (const rm of [5, 6]) expectIllegal(withRm(w, rm));
  });

  // Also the exact conversions fcvt.d.s, fcvt.d.w and fcvt.d.wu: the spec (and Spike) make them illegal
  // with rm = DYN and a reserved frm; QEMU 7.2 executes them. We follow the spec.
  it('the dynamic rounding mode while frm holds 5, 6 or 7', () => {
    for (const w of withRmOps) for (const frm of [5, 6, 7]) expectIllegal(withRm(w, 7), frm << 5);
  });

  it('a valid static rounding mode works while frm is invalid', () => {
    const reason = runWords([A.fadd_d(3, 1, 2, RM.RTZ)], { f: { 1: 0x3ff0_0000_0000_0000n, 2: 0x3ff0_0000_0000_0000n }, fcsr: 7 << 5 });
    expect(reason).toBe(ExitReason.Ebreak);
    expect(cpu().f(3)).toBe(0x4000_0000_0000_0000n);
  });

  it('the H and Q formats (fmt 2 and 3)', () => {
    for (const w of [A.fadd_s(3, 1, 2, 0), A.fsqrt_s(3, 1, 0), A.fmin_s(3, 1, 2), A.feq_s(3, 1, 2), A.fclass_s(3, 1),
      A.fcvt_w_s(3, 1, 0), A.fcvt_s_w(3, 1, 0), A.fmv_x_w(3, 1), A.fmv_w_x(3, 1), A.fsgnj_s(3, 1, 2)]) {
      expectIllegal(F7(w, (w >>> 25) | 2));
      expectIllegal(F7(w, (w >>> 25) | 3));
    }
    for (const w of [A.fmadd_s(3, 1, 2, 4, 0), A.fmsub_s(3, 1, 2, 4, 0), A.fnmsub_s(3, 1, 2, 4, 0), A.fnmadd_s(3, 1, 2, 4, 0)]) {
      expectIllegal((w | (2 << 25)) >>> 0);
      expectIllegal((w | (3 << 25)) >>> 0);
    }
  });

  it('FLH/FLQ/FSH/FSQ widths and vector loads/stores', () => {
    for (const f3 of [0, 1, 4, 5, 6, 7]) {
      expectIllegal(withF3(A.flw(3, 1, 0), f3));
      expectIllegal(withF3(A.fsw(3, 1, 0), f3));
    }
  });

  it('funct3 values outside FSGNJ/FMIN/FMAX/FEQ/FLT/FLE/FMV/FCLASS', () => {
    for (const f3 of [3, 4, 5, 6, 7]) { expectIllegal(withF3(A.fsgnj_s(3, 1, 2), f3)); expectIllegal(withF3(A.feq_d(3, 1, 2), f3)); }
    for (const f3 of [2, 3, 4, 5, 6, 7]) { expectIllegal(withF3(A.fmin_d(3, 1, 2), f3)); expectIllegal(withF3(A.fmv_x_d(3, 1), f3)); }
    for (const f3 of [1, 2, 3, 4, 5, 6, 7]) expectIllegal(withF3(A.fmv_d_x(3, 1), f3));
  });

  it('rs2 values outside FSQRT, FCVT, FMV and FCLASS', () => {
    for (const rs2 of [1, 2, 5, 31]) expectIllegal(withRs2(A.fsqrt_d(3, 1, 0), rs2));
    for (const rs2 of [4, 5, 8, 31]) { expectIllegal(withRs2(A.fcvt_w_d(3, 1, 0), rs2)); expectIllegal(withRs2(A.fcvt_s_l(3, 1, 0), rs2)); }
    for (const rs2 of [0, 2, 3]) expectIllegal(withRs2(A.fcvt_s_d(3, 1, 0), rs2));
    for (const rs2 of [1, 2, 3]) expectIllegal(withRs2(A.fcvt_d_s(3, 1, 0), rs2));
    for (const rs2 of [1, 2]) {
      expectIllegal(withRs2(A.fmv_x_w(3, 1), rs2)); expectIllegal(withRs2(A.fclass_d(3, 1), rs2));
      expectIllegal(withRs2(A.fmv_w_x(3, 1), rs2)); expectIllegal(withRs2(A.fmv_d_x(3, 1), rs2));
    }
  });

  it('unassigned OP-FP funct7 values', () => {
    const base = A.fadd_s(3, 1, 2, 0);
    const assigned = new Set([0x00, 0x01, 0x04, 0x05, 0x08, 0x09, 0x0c, 0x0d, 0x2c, 0x2d, 0x10, 0x11, 0x14, 0x15,
      0x20, 0x21, 0x50, 0x51, 0x60, 0x61, 0x68, 0x69, 0x70, 0x71, 0x78, 0x79]);
    for (let f7 = 0; f7 < 128; f7++) if (!assigned.has(f7)) expectIllegal(F7(base, f7));
  });
});
