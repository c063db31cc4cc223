// The F and D extensions executed by the CPU, from the unprivileged spec's
// "F" and "D" chapters: NaN-boxing, rounding modes (static and dynamic,
// reserved ones illegal), the accrued exception flags, canonical NaNs,
// fmin/fmax and compare NaN rules, fclass, conversions with saturation, and
// fused multiply-add rounding once. Expected values come from the spec's
// rules or from JavaScript's IEEE doubles (Math.fround for single).
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { RM } from './support/rvasm.js';
import { exec, execRaw, DATA, CODE, u64, sext32, ExitReason, INT64_MIN, INT64_MAX, ALL_ONES } from './support/machine.js';

// ---- bit patterns --------------------------------------------------------------
const buf = new DataView(new ArrayBuffer(8));
const f32bits = (v: number): number => { buf.setFloat32(0, v, true); return buf.getUint32(0, true); };
const f64bits = (v: number): bigint => { buf.setFloat64(0, v, true); return buf.getBigUint64(0, true); };
const BOX = 0xffff_ffff_0000_0000n;
const S = (v: number): bigint => BOX | BigInt(f32bits(v));          // a boxed single from a value
const SB = (bits: number): bigint => BOX | BigInt(bits >>> 0);      // a boxed single from bits
const D = (v: number): bigint => f64bits(v);

const NV = 0x10, DZ = 0x08, OF = 0x04, UF = 0x02, NX = 0x01;
const CANON_S = SB(0x7fc0_0000);
const CANON_D = 0x7ff8_0000_0000_0000n;
const QNAN_S = SB(0x7fc1_2345), SNAN_S = SB(0x7f80_0001), NEG_QNAN_S = SB(0xffc0_0000);
const QNAN_D = 0x7ff8_0000_0000_1234n, SNAN_D = 0x7ff0_0000_0000_0001n;
const INF_S = SB(0x7f80_0000), NINF_S = SB(0xff80_0000);
const INF_D = 0x7ff0_0000_0000_0000n, NINF_D = 0xfff0_0000_0000_0000n;
const MAX_S = SB(0x7f7f_ffff), MIN_NORMAL_S = SB(0x0080_0000), MIN_SUB_S = SB(0x0000_0001);
const MAX_D = 0x7fef_ffff_ffff_ffffn, MIN_SUB_D = 1n;
const NZERO_S = SB(0x8000_0000), NZERO_D = 0x8000_0000_0000_0000n;

interface Out { f: bigint; x: bigint; flags: number; fcsr: number }
/** Runs one instruction with f1, f2, f3 (and x1) as inputs; result in f10 / x10. */
function run1(word: number, f: bigint[] = [], x1 = 0n, fcsr = 0): Out {
  const cpu = exec([word], { f: { 1: f[0] ?? 0n, 2: f[1] ?? 0n, 3: f[2] ?? 0n, 10: 0x5555n }, x: { 1: x1, 10: 0x5555n }, fcsr });
  return { f: cpu.f(10), x: cpu.x(10), flags: cpu.fcsr & 0x1f, fcsr: cpu.fcsr };
}

describe('loads and stores', () => {
  it('flw NaN-boxes, fld loads 64 bits, fsw/fsd store the low 32/64 bits unchanged', () => {
    const mem = new Uint8Array(16);
    new DataView(mem.buffer).setBigUint64(0, 0x1122_3344_3f80_0000n, true);
    const cpu = exec([A.flw(1, 5, 0), A.fld(2, 5, 0), A.fsw(3, 5, 8), A.fsd(2, 5, 12)], {
      x: { 5: DATA }, f: { 3: 0x0123_4567_89ab_cdefn }, mem: [[DATA, mem]],
    });
    expect(cpu.f(1)).toBe(BOX | 0x3f80_0000n);
    expect(cpu.f(2)).toBe(0x1122_3344_3f80_0000n);
    expect(cpu.read32(DATA + 8n)).toBe(0x89ab_cdef); // no NaN-box check on stores
    expect(cpu.read64(DATA + 12n)).toBe(0x1122_3344_3f80_0000n);
  });

  it('misaligned FP loads and stores work', () => {
    const cpu = exec([A.fsd(2, 5, 3), A.fld(1, 5, 3), A.fsw(2, 5, 17), A.flw(3, 5, 17)], { x: { 5: DATA }, f: { 2: D(Math.PI) } });
    expect(cpu.f(1)).toBe(D(Math.PI));
    expect(cpu.f(3)).toBe(BOX | (D(Math.PI) & 0xffff_ffffn));
  });

  it('FP loads and stores outside RAM fault with cause 5 / 7', () => {
    let r = execRaw([A.fld(1, 5, 0)], { x: { 5: 0x100n } });
    expect([r.reason, r.exit.cause, r.exit.addr]).toEqual([ExitReason.Fault, 5, 0x100n]);
    r = execRaw([A.fsw(1, 5, 0)], { x: { 5: 0x100n } });
    expect([r.reason, r.exit.cause, r.exit.addr]).toEqual([ExitReason.Fault, 7, 0x100n]);
  });
});

describe('arithmetic, round to nearest', () => {
  const pairs: Array<[number, number]> = [[1, 2], [0.1, 0.2], [1e30, 3.7e-5], [-5.5, 2.25], [123456.789, -0.001], [3, 7]];
  it('single: fadd/fsub/fmul/fdiv/fsqrt match Math.fround of the double result', () => {
    for (const [a0, b0] of pairs) {
      const a = Math.fround(a0), b = Math.fround(b0);
      const fa = S(a), fb = S(b);
      expect(run1(A.fadd_s(10, 1, 2, RM.RNE), [fa, fb]).f).toBe(S(Math.fround(a + b)));
      expect(run1(A.fsub_s(10, 1, 2, RM.RNE), [fa, fb]).f).toBe(S(Math.fround(a - b)));
      expect(run1(A.fmul_s(10, 1, 2, RM.RNE), [fa, fb]).f).toBe(S(Math.fround(a * b)));
      expect(run1(A.fdiv_s(10, 1, 2, RM.RNE), [fa, fb]).f).toBe(S(Math.fround(a / b)));
      if (a >= 0) expect(run1(A.fsqrt_s(10, 1, RM.RNE), [fa]).f).toBe(S(Math.fround(Math.sqrt(a))));
    }
  });

  it('double: fadd/fsub/fmul/fdiv/fsqrt match JavaScript', () => {
    for (const [a, b] of pairs) {
      expect(run1(A.fadd_d(10, 1, 2, RM.RNE), [D(a), D(b)]).f).toBe(D(a + b));
      expect(run1(A.fsub_d(10, 1, 2, RM.RNE), [D(a), D(b)]).f).toBe(D(a - b));
      expect(run1(A.fmul_d(10, 1, 2, RM.RNE), [D(a), D(b)]).f).toBe(D(a * b));
      expect(run1(A.fdiv_d(10, 1, 2, RM.RNE), [D(a), D(b)]).f).toBe(D(a / b));
      if (a >= 0) expect(run1(A.fsqrt_d(10, 1, RM.RNE), [D(a)]).f).toBe(D(Math.sqrt(a)));
    }
  });

  it('exact results raise no flag, inexact ones NX', () => {
    expect(run1(A.fadd_s(10, 1, 2, RM.RNE), [S(1), S(2)]).flags).toBe(0);
    expect(run1(A.fdiv_s(10, 1, 2, RM.RNE), [S(1), S(3)]).flags).toBe(NX);
    expect(run1(A.fdiv_d(10, 1, 2, RM.RNE), [D(1), D(3)]).flags).toBe(NX);
    expect(run1(A.fsqrt_d(10, 1, RM.RNE), [D(4)]).flags).toBe(0);
    expect(run1(A.fsqrt_d(10, 1, RM.RNE), [D(2)]).flags).toBe(NX);
  });

  it('sqrt(-0) = -0, sqrt(+inf) = +inf, sqrt(-1) = canonical NaN with NV', () => {
    expect(run1(A.fsqrt_s(10, 1, RM.RNE), [NZERO_S])).toMatchObject({ f: NZERO_S, flags: 0 });
    expect(run1(A.fsqrt_d(10, 1, RM.RNE), [INF_D])).toMatchObject({ f: INF_D, flags: 0 });
    expect(run1(A.fsqrt_s(10, 1, RM.RNE), [S(-1)])).toMatchObject({ f: CANON_S, flags: NV });
    expect(run1(A.fsqrt_d(10, 1, RM.RNE), [D(-1)])).toMatchObject({ f: CANON_D, flags: NV });
  });
});

describe('rounding modes', () => {
  // 1 + 0.75 ulp and 1 + 0.5 ulp (a tie) in each format, positive and negative.
  const ulpS = 2 ** -23, ulpD = 2 ** -52;
  const cases: Array<[string, RM, number, number]> = [
    // mode, 1 + 0.5ulp -> , -(1 + 0.5ulp) ->   (in ulps above 1 in magnitude)
    ['rne', RM.RNE, 0, 0], ['rtz', RM.RTZ, 0, 0], ['rdn', RM.RDN, 0, 1], ['rup', RM.RUP, 1, 0], ['rmm', RM.RMM, 1, 1],
  ];
  for (const [name, rm, pos, neg] of cases) {
    it(`${name} on a tie, single and double, static and dynamic`, () => {
      // single: 1 + 2^-24 is a tie between 1 and 1 + 2^-23
      expect(run1(A.fadd_s(10, 1, 2, rm), [S(1), S(2 ** -24)]).f).toBe(S(1 + pos * ulpS));
      expect(run1(A.fsub_s(10, 1, 2, rm), [S(-1), S(2 ** -24)]).f).toBe(S(-(1 + neg * ulpS)));
      expect(run1(A.fadd_d(10, 1, 2, rm), [D(1), D(2 ** -53)]).f).toBe(D(1 + pos * ulpD));
      expect(run1(A.fsub_d(10, 1, 2, rm), [D(-1), D(2 ** -53)]).f).toBe(D(-(1 + neg * ulpD)));
      // the same through frm
      expect(run1(A.fadd_s(10, 1, 2, RM.DYN), [S(1), S(2 ** -24)], 0n, rm << 5).f).toBe(S(1 + pos * ulpS));
      expect(run1(A.fsub_d(10, 1, 2, RM.DYN), [D(-1), D(2 ** -53)], 0n, rm << 5).f).toBe(D(-(1 + neg * ulpD)));
    });
  }

  it('rne breaks ties to even, also above 1 + ulp', () => {
    // 1 + ulp + 0.5 ulp -> 1 + 2 ulp (even)
    expect(run1(A.fadd_d(10, 1, 2, RM.RNE), [D(1 + ulpD), D(2 ** -53)]).f).toBe(D(1 + 2 * ulpD));
  });

  it('a non-tie rounds to nearest under rne and by direction otherwise', () => {
    const a = S(1), b = S(3 * 2 ** -25); // 1 + 0.75 ulp
    expect(run1(A.fadd_s(10, 1, 2, RM.RNE), [a, b]).f).toBe(S(1 + ulpS));
    expect(run1(A.fadd_s(10, 1, 2, RM.RTZ), [a, b]).f).toBe(S(1));
    expect(run1(A.fadd_s(10, 1, 2, RM.RDN), [a, b]).f).toBe(S(1));
    expect(run1(A.fadd_s(10, 1, 2, RM.RUP), [a, b]).f).toBe(S(1 + ulpS));
  });

  it('the dynamic mode follows frm as it changes', () => {
    const cpu = exec([
      A.csrrwi(0, A.CSR.frm, RM.RUP), A.fdiv_d(10, 1, 2, RM.DYN),
      A.csrrwi(0, A.CSR.frm, RM.RDN), A.fdiv_d(11, 1, 2, RM.DYN),
    ], { f: { 1: D(1), 2: D(3) } });
    expect(cpu.f(10) - cpu.f(11)).toBe(1n);
  });

  it('overflow: rne/rmm give infinity, rtz and the mode toward zero give the largest finite', () => {
    expect(run1(A.fmul_s(10, 1, 2, RM.RNE), [MAX_S, S(2)])).toMatchObject({ f: INF_S, flags: OF | NX });
    expect(run1(A.fmul_s(10, 1, 2, RM.RTZ), [MAX_S, S(2)])).toMatchObject({ f: MAX_S, flags: OF | NX });
    expect(run1(A.fmul_d(10, 1, 2, RM.RDN), [MAX_D, D(2)])).toMatchObject({ f: MAX_D, flags: OF | NX });
    expect(run1(A.fmul_d(10, 1, 2, RM.RDN), [MAX_D, D(-2)])).toMatchObject({ f: NINF_D, flags: OF | NX });
    expect(run1(A.fmul_d(10, 1, 2, RM.RUP), [MAX_D, D(-2)])).toMatchObject({ f: MAX_D | (1n << 63n), flags: OF | NX });
  });

  it('underflow: a tiny inexact result raises UF and NX', () => {
    expect(run1(A.fmul_s(10, 1, 2, RM.RNE), [MIN_SUB_S, S(0.5)])).toMatchObject({ f: SB(0), flags: UF | NX });
    expect(run1(A.fmul_s(10, 1, 2, RM.RUP), [MIN_SUB_S, S(0.5)])).toMatchObject({ f: MIN_SUB_S, flags: UF | NX });
    expect(run1(A.fmul_d(10, 1, 2, RM.RNE), [MIN_SUB_D, D(0.75)])).toMatchObject({ f: MIN_SUB_D, flags: UF | NX });
    // exact subnormal results raise nothing
    expect(run1(A.fmul_s(10, 1, 2, RM.RNE), [MIN_NORMAL_S, S(0.5)])).toMatchObject({ f: SB(0x0040_0000), flags: 0 });
  });

  it('reserved static modes 5 and 6 are illegal instructions', () => {
    for (const rm of [5, 6]) {
      const w = (A.fadd_s(10, 1, 2, 0) | (rm << 12)) >>> 0;
      const r = execRaw([w]);
      expect([r.reason, r.exit.cause, r.exit.inst]).toEqual([ExitReason.Fault, 2, w]);
    }
  });

  it('the dynamic mode with a reserved frm (5, 6, 7) is illegal', () => {
    for (const frm of [5, 6, 7]) {
      const w = A.fmul_d(10, 1, 2, RM.DYN);
      const r = execRaw([w], { fcsr: frm << 5 });
      expect([r.reason, r.exit.cause]).toEqual([ExitReason.Fault, 2]);
    }
  });
});

describe('exception flags', () => {
  it('division by zero: DZ and a correctly signed infinity; 0/0 is NV', () => {
    expect(run1(A.fdiv_s(10, 1, 2, RM.RNE), [S(1), SB(0)])).toMatchObject({ f: INF_S, flags: DZ });
    expect(run1(A.fdiv_d(10, 1, 2, RM.RNE), [D(-1), D(0)])).toMatchObject({ f: NINF_D, flags: DZ });
    expect(run1(A.fdiv_d(10, 1, 2, RM.RNE), [D(0), D(0)])).toMatchObject({ f: CANON_D, flags: NV });
  });

  it('inf - inf and 0 * inf are NV with the canonical NaN', () => {
    expect(run1(A.fsub_s(10, 1, 2, RM.RNE), [INF_S, INF_S])).toMatchObject({ f: CANON_S, flags: NV });
    expect(run1(A.fmul_d(10, 1, 2, RM.RNE), [D(0), INF_D])).toMatchObject({ f: CANON_D, flags: NV });
  });

  it('flags accrue: set bits stay set, frm is untouched', () => {
    const out = run1(A.fdiv_s(10, 1, 2, RM.RNE), [S(1), S(3)], 0n, (RM.RUP << 5) | DZ);
    expect(out.fcsr).toBe((RM.RUP << 5) | DZ | NX);
  });
});

describe('NaNs', () => {
  it('a quiet NaN operand gives the canonical NaN without flags', () => {
    expect(run1(A.fadd_s(10, 1, 2, RM.RNE), [QNAN_S, S(1)])).toMatchObject({ f: CANON_S, flags: 0 });
    expect(run1(A.fmul_d(10, 1, 2, RM.RNE), [D(2), QNAN_D])).toMatchObject({ f: CANON_D, flags: 0 });
  });

  it('a signaling NaN operand gives the canonical NaN and NV', () => {
    expect(run1(A.fadd_s(10, 1, 2, RM.RNE), [SNAN_S, S(1)])).toMatchObject({ f: CANON_S, flags: NV });
    expect(run1(A.fsub_d(10, 1, 2, RM.RNE), [D(1), SNAN_D])).toMatchObject({ f: CANON_D, flags: NV });
  });

  it('an improperly NaN-boxed single operand is the canonical NaN', () => {
    const unboxed = 0x0000_0000_3f80_0000n; // 1.0f without the box
    expect(run1(A.fadd_s(10, 1, 2, RM.RNE), [unboxed, S(1)])).toMatchObject({ f: CANON_S, flags: 0 });
    expect(run1(A.fadd_s(10, 1, 2, RM.RNE), [0xffff_fffe_3f80_0000n, S(1)]).f).toBe(CANON_S);
    // a double is never checked: the same bits are a tiny positive double
    expect(run1(A.fadd_d(10, 1, 2, RM.RNE), [unboxed, D(1)])).toMatchObject({ f: D(1), flags: NX });
  });

  it('fmv.x.w takes the raw low bits, no box check; fsgnj.s does check', () => {
    expect(run1(A.fmv_x_w(10, 1), [0x0000_0000_8000_0001n]).x).toBe(0xffff_ffff_8000_0001n);
    expect(run1(A.fsgnj_s(10, 1, 2), [0x0000_0000_3f80_0000n, S(-1)]).f).toBe(SB(0xffc0_0000));
  });
});

describe('sign injection', () => {
  it('fsgnj/fsgnjn/fsgnjx single and double', () => {
    expect(run1(A.fsgnj_s(10, 1, 2), [S(3), S(-1)]).f).toBe(S(-3));
    expect(run1(A.fsgnjn_s(10, 1, 2), [S(3), S(-1)]).f).toBe(S(3));
    expect(run1(A.fsgnjx_s(10, 1, 2), [S(-3), S(-1)]).f).toBe(S(3));
    expect(run1(A.fsgnjn_s(10, 1, 1), [S(2)]).f).toBe(S(-2)); // fneg
    expect(run1(A.fsgnjx_d(10, 1, 1), [D(-2)]).f).toBe(D(2)); // fabs
    expect(run1(A.fsgnj_d(10, 1, 2), [QNAN_D, D(-0)]).f).toBe(QNAN_D | (1n << 63n)); // NaN payload kept
    expect(run1(A.fsgnj_s(10, 1, 2), [SNAN_S, S(1)])).toMatchObject({ f: SNAN_S, flags: 0 }); // no NV
  });
});

describe('fmin / fmax', () => {
  it('order -0 below +0', () => {
    expect(run1(A.fmin_s(10, 1, 2), [S(0), NZERO_S]).f).toBe(NZERO_S);
    expect(run1(A.fmax_s(10, 1, 2), [NZERO_S, S(0)]).f).toBe(S(0));
    expect(run1(A.fmin_d(10, 1, 2), [D(0), NZERO_D]).f).toBe(NZERO_D);
    expect(run1(A.fmax_d(10, 1, 2), [NZERO_D, D(0)]).f).toBe(D(0));
  });

  it('one NaN operand: the other operand; both NaN: canonical; sNaN raises NV', () => {
    expect(run1(A.fmin_s(10, 1, 2), [QNAN_S, S(5)])).toMatchObject({ f: S(5), flags: 0 });
    expect(run1(A.fmax_d(10, 1, 2), [D(-5), QNAN_D])).toMatchObject({ f: D(-5), flags: 0 });
    expect(run1(A.fmin_s(10, 1, 2), [SNAN_S, S(5)])).toMatchObject({ f: S(5), flags: NV });
    expect(run1(A.fmax_s(10, 1, 2), [QNAN_S, NEG_QNAN_S])).toMatchObject({ f: CANON_S, flags: 0 });
    expect(run1(A.fmin_d(10, 1, 2), [SNAN_D, QNAN_D])).toMatchObject({ f: CANON_D, flags: NV });
  });

  it('ordinary values', () => {
    expect(run1(A.fmin_d(10, 1, 2), [D(-1), D(2)]).f).toBe(D(-1));
    expect(run1(A.fmax_s(10, 1, 2), [NINF_S, S(-1e30)]).f).toBe(S(-1e30));
  });
});

describe('compares', () => {
  it('feq/flt/fle on ordinary values and signed zeros', () => {
    expect(run1(A.feq_s(10, 1, 2), [S(0), NZERO_S]).x).toBe(1n);
    expect(run1(A.flt_d(10, 1, 2), [D(-1), D(1)]).x).toBe(1n);
    expect(run1(A.flt_d(10, 1, 2), [D(1), D(1)]).x).toBe(0n);
    expect(run1(A.fle_d(10, 1, 2), [D(1), D(1)]).x).toBe(1n);
    expect(run1(A.fle_s(10, 1, 2), [INF_S, S(1)]).x).toBe(0n);
  });

  it('quiet NaN: feq is 0 without flags, flt/fle are 0 with NV', () => {
    expect(run1(A.feq_s(10, 1, 2), [QNAN_S, S(1)])).toMatchObject({ x: 0n, flags: 0 });
    expect(run1(A.flt_s(10, 1, 2), [QNAN_S, S(1)])).toMatchObject({ x: 0n, flags: NV });
    expect(run1(A.fle_d(10, 1, 2), [D(1), QNAN_D])).toMatchObject({ x: 0n, flags: NV });
  });

  it('signaling NaN: feq raises NV too', () => {
    expect(run1(A.feq_d(10, 1, 2), [SNAN_D, D(1)])).toMatchObject({ x: 0n, flags: NV });
  });

  it('an unboxed single compares as NaN', () => {
    expect(run1(A.feq_s(10, 1, 2), [0x3f80_0000n, S(1)])).toMatchObject({ x: 0n, flags: 0 });
  });
});

describe('fclass', () => {
  const cls = (b: number) => BigInt(1 << b);
  it('single: the ten classes', () => {
    const cases: Array<[bigint, bigint]> = [
      [NINF_S, cls(0)], [S(-1), cls(1)], [SB(0x8000_0001), cls(2)], [NZERO_S, cls(3)], [SB(0), cls(4)],
      [MIN_SUB_S, cls(5)], [S(1), cls(6)], [INF_S, cls(7)], [SNAN_S, cls(8)], [QNAN_S, cls(9)],
      [0x3f80_0000n, cls(9)], // unboxed: canonical NaN
    ];
    for (const [v, want] of cases) expect([v, run1(A.fclass_s(10, 1), [v]).x]).toEqual([v, want]);
  });

  it('double: the ten classes', () => {
    const cases: Array<[bigint, bigint]> = [
      [NINF_D, cls(0)], [D(-1), cls(1)], [0x800f_ffff_ffff_ffffn, cls(2)], [NZERO_D, cls(3)], [0n, cls(4)],
      [MIN_SUB_D, cls(5)], [D(1), cls(6)], [INF_D, cls(7)], [SNAN_D, cls(8)], [QNAN_D, cls(9)],
    ];
    for (const [v, want] of cases) expect([v, run1(A.fclass_d(10, 1), [v]).x]).toEqual([v, want]);
  });
});

describe('conversions to integers', () => {
  it('round by the rounding mode and set NX when inexact', () => {
    expect(run1(A.fcvt_w_s(10, 1, RM.RNE), [S(2.5)])).toMatchObject({ x: 2n, flags: NX });
    expect(run1(A.fcvt_w_s(10, 1, RM.RMM), [S(2.5)])).toMatchObject({ x: 3n, flags: NX });
    expect(run1(A.fcvt_w_d(10, 1, RM.RDN), [D(-2.5)])).toMatchObject({ x: u64(-3n), flags: NX });
    expect(run1(A.fcvt_l_d(10, 1, RM.RTZ), [D(-2.9)])).toMatchObject({ x: u64(-2n), flags: NX });
    expect(run1(A.fcvt_l_d(10, 1, RM.RUP), [D(-2.1)])).toMatchObject({ x: u64(-2n), flags: NX });
    expect(run1(A.fcvt_lu_s(10, 1, RM.RNE), [S(2 ** 40)])).toMatchObject({ x: 1n << 40n, flags: 0 });
  });

  it('saturate out-of-range values and NaN with NV (spec table "Domains of float-to-integer conversions")', () => {
    expect(run1(A.fcvt_w_s(10, 1, RM.RTZ), [S(3e9)])).toMatchObject({ x: 0x7fff_ffffn, flags: NV });
    expect(run1(A.fcvt_w_s(10, 1, RM.RTZ), [S(-3e9)])).toMatchObject({ x: 0xffff_ffff_8000_0000n, flags: NV });
    expect(run1(A.fcvt_w_s(10, 1, RM.RTZ), [QNAN_S])).toMatchObject({ x: 0x7fff_ffffn, flags: NV });
    expect(run1(A.fcvt_w_d(10, 1, RM.RTZ), [NINF_D])).toMatchObject({ x: 0xffff_ffff_8000_0000n, flags: NV });
    expect(run1(A.fcvt_wu_s(10, 1, RM.RTZ), [S(-1)])).toMatchObject({ x: 0n, flags: NV });
    expect(run1(A.fcvt_wu_d(10, 1, RM.RTZ), [D(5e9)])).toMatchObject({ x: ALL_ONES, flags: NV }); // 2^32-1 sign-extended
    expect(run1(A.fcvt_wu_d(10, 1, RM.RTZ), [QNAN_D])).toMatchObject({ x: ALL_ONES, flags: NV });
    expect(run1(A.fcvt_l_d(10, 1, RM.RTZ), [D(2 ** 63)])).toMatchObject({ x: INT64_MAX, flags: NV });
    expect(run1(A.fcvt_l_s(10, 1, RM.RTZ), [NINF_S])).toMatchObject({ x: INT64_MIN, flags: NV });
    expect(run1(A.fcvt_l_d(10, 1, RM.RTZ), [D(-(2 ** 63))])).toMatchObject({ x: INT64_MIN, flags: 0 });
    expect(run1(A.fcvt_lu_d(10, 1, RM.RTZ), [D(-1)])).toMatchObject({ x: 0n, flags: NV });
    expect(run1(A.fcvt_lu_d(10, 1, RM.RTZ), [D(2 ** 64)])).toMatchObject({ x: ALL_ONES, flags: NV });
    expect(run1(A.fcvt_lu_s(10, 1, RM.RTZ), [SNAN_S])).toMatchObject({ x: ALL_ONES, flags: NV });
  });

  it('a negative value that rounds to zero converts to unsigned 0 with only NX', () => {
    expect(run1(A.fcvt_wu_s(10, 1, RM.RTZ), [S(-0.5)])).toMatchObject({ x: 0n, flags: NX });
    expect(run1(A.fcvt_lu_d(10, 1, RM.RNE), [D(-0.25)])).toMatchObject({ x: 0n, flags: NX });
  });

  it('fcvt.wu results are sign-extended from 32 bits', () => {
    expect(run1(A.fcvt_wu_s(10, 1, RM.RTZ), [S(3e9)])).toMatchObject({ x: sext32(3000000000), flags: 0 });
    expect(run1(A.fcvt_wu_d(10, 1, RM.RTZ), [D(0xffff_fffe)])).toMatchObject({ x: u64(-2n), flags: 0 });
  });
});

describe('conversions from integers and between formats', () => {
  it('fcvt.s.w/l/wu/lu round by the mode', () => {
    expect(run1(A.fcvt_s_w(10, 1, RM.RNE), [], u64(-7n)).f).toBe(S(-7));
    expect(run1(A.fcvt_s_w(10, 1, RM.RNE), [], 0x1234_5678_0000_0010n).f).toBe(S(16)); // only the low word
    expect(run1(A.fcvt_s_wu(10, 1, RM.RNE), [], 0xffff_ffffn)).toMatchObject({ f: S(2 ** 32), flags: NX });
    expect(run1(A.fcvt_s_wu(10, 1, RM.RTZ), [], 0xffff_ffffn)).toMatchObject({ f: S(Math.fround(2 ** 32 - 256)), flags: NX });
    expect(run1(A.fcvt_s_l(10, 1, RM.RNE), [], BigInt(2 ** 24 + 1))).toMatchObject({ f: S(2 ** 24), flags: NX });
    expect(run1(A.fcvt_s_l(10, 1, RM.RUP), [], BigInt(2 ** 24 + 1))).toMatchObject({ f: S(2 ** 24 + 2), flags: NX });
    expect(run1(A.fcvt_s_lu(10, 1, RM.RNE), [], ALL_ONES)).toMatchObject({ f: S(2 ** 64), flags: NX });
    expect(run1(A.fcvt_s_l(10, 1, RM.RNE), [], ALL_ONES)).toMatchObject({ f: S(-1), flags: 0 });
  });

  it('fcvt.d.w/wu are exact; fcvt.d.l/lu round', () => {
    expect(run1(A.fcvt_d_w(10, 1, RM.RNE), [], 0x8000_0000n).f).toBe(D(-(2 ** 31)));
    expect(run1(A.fcvt_d_wu(10, 1, RM.RNE), [], 0xffff_ffff_ffff_ffffn).f).toBe(D(2 ** 32 - 1));
    expect(run1(A.fcvt_d_l(10, 1, RM.RNE), [], INT64_MIN)).toMatchObject({ f: D(-(2 ** 63)), flags: 0 });
    expect(run1(A.fcvt_d_l(10, 1, RM.RTZ), [], INT64_MAX)).toMatchObject({ f: D(2 ** 63 - 1024), flags: NX });
    expect(run1(A.fcvt_d_lu(10, 1, RM.RNE), [], ALL_ONES)).toMatchObject({ f: D(2 ** 64), flags: NX });
  });

  it('fcvt.s.d rounds, overflows to infinity and canonicalises NaNs; fcvt.d.s is exact', () => {
    expect(run1(A.fcvt_s_d(10, 1, RM.RNE), [D(0.1)])).toMatchObject({ f: S(Math.fround(0.1)), flags: NX });
    expect(run1(A.fcvt_s_d(10, 1, RM.RNE), [D(1e300)])).toMatchObject({ f: INF_S, flags: OF | NX });
    expect(run1(A.fcvt_s_d(10, 1, RM.RTZ), [D(-1e300)])).toMatchObject({ f: SB(0xff7f_ffff), flags: OF | NX });
    expect(run1(A.fcvt_s_d(10, 1, RM.RNE), [QNAN_D])).toMatchObject({ f: CANON_S, flags: 0 });
    expect(run1(A.fcvt_s_d(10, 1, RM.RNE), [SNAN_D])).toMatchObject({ f: CANON_S, flags: NV });
    expect(run1(A.fcvt_d_s(10, 1, RM.RNE), [S(Math.fround(0.1))])).toMatchObject({ f: D(Math.fround(0.1)), flags: 0 });
    expect(run1(A.fcvt_d_s(10, 1, RM.RNE), [MIN_SUB_S])).toMatchObject({ f: D(2 ** -149), flags: 0 });
    expect(run1(A.fcvt_d_s(10, 1, RM.RNE), [SNAN_S])).toMatchObject({ f: CANON_D, flags: NV });
    expect(run1(A.fcvt_d_s(10, 1, RM.RNE), [0x3f80_0000n]).f).toBe(CANON_D); // unboxed input
  });

  it('exact conversions accept any valid static rm', () => {
    for (const rm of [RM.RTZ, RM.RDN, RM.RUP, RM.RMM, RM.DYN]) {
      expect(run1(A.fcvt_d_w(10, 1, rm), [], 5n).f).toBe(D(5));
      expect(run1(A.fcvt_d_s(10, 1, rm), [S(1.5)]).f).toBe(D(1.5));
    }
  });
});

describe('moves', () => {
  it('fmv.x.w sign-extends; fmv.w.x NaN-boxes; fmv.x.d / fmv.d.x copy 64 bits', () => {
    expect(run1(A.fmv_x_w(10, 1), [S(-1)]).x).toBe(sext32(0xbf80_0000));
    expect(run1(A.fmv_x_w(10, 1), [S(1)]).x).toBe(0x3f80_0000n);
    expect(run1(A.fmv_w_x(10, 1), [], 0x1234_5678_7fc0_0001n).f).toBe(SB(0x7fc0_0001));
    expect(run1(A.fmv_x_d(10, 1), [SNAN_D]).x).toBe(SNAN_D);
    expect(run1(A.fmv_d_x(10, 1), [], 0xfff0_0000_0000_0001n).f).toBe(0xfff0_0000_0000_0001n);
  });

  it('moves raise no flags, even for signaling NaNs', () => {
    expect(run1(A.fmv_x_d(10, 1), [SNAN_D]).flags).toBe(0);
    expect(run1(A.fmv_w_x(10, 1), [], 0x7f80_0001n).flags).toBe(0);
  });
});

describe('fused multiply-add', () => {
  it('the four sign variants', () => {
    const f = [D(2), D(3), D(1)];
    expect(run1(A.fmadd_d(10, 1, 2, 3, RM.RNE), f).f).toBe(D(7));
    expect(run1(A.fmsub_d(10, 1, 2, 3, RM.RNE), f).f).toBe(D(5));
    expect(run1(A.fnmsub_d(10, 1, 2, 3, RM.RNE), f).f).toBe(D(-5));
    expect(run1(A.fnmadd_d(10, 1, 2, 3, RM.RNE), f).f).toBe(D(-7));
    const g = [S(2), S(3), S(1)];
    expect(run1(A.fmadd_s(10, 1, 2, 3, RM.RNE), g).f).toBe(S(7));
    expect(run1(A.fmsub_s(10, 1, 2, 3, RM.RNE), g).f).toBe(S(5));
    expect(run1(A.fnmsub_s(10, 1, 2, 3, RM.RNE), g).f).toBe(S(-5));
    expect(run1(A.fnmadd_s(10, 1, 2, 3, RM.RNE), g).f).toBe(S(-7));
  });

  it('rounds once: (1+2^-23)(1-2^-23) - 1 = -2^-46 exactly in single', () => {
    const out = run1(A.fmadd_s(10, 1, 2, 3, RM.RNE), [S(1 + 2 ** -23), S(1 - 2 ** -23), S(-1)]);
    expect(out).toMatchObject({ f: S(-(2 ** -46)), flags: 0 });
  });

  it('rounds once in double too', () => {
    // (1+e)(1-e) - 1 = -e^2 exactly; a separate multiply would round to 1 and give 0
    const e = 2 ** -52;
    const out = run1(A.fmsub_d(10, 1, 2, 3, RM.RNE), [D(1 + e), D(1 - e), D(1)]);
    expect(out).toMatchObject({ f: D(-(e * e)), flags: 0 });
  });

  it('inf * 0 + qNaN raises NV (the spec requires it even with a quiet NaN addend)', () => {
    expect(run1(A.fmadd_d(10, 1, 2, 3, RM.RNE), [INF_D, D(0), QNAN_D])).toMatchObject({ f: CANON_D, flags: NV });
    expect(run1(A.fmadd_s(10, 1, 2, 3, RM.RNE), [S(0), NINF_S, QNAN_S])).toMatchObject({ f: CANON_S, flags: NV });
  });

  it('the sign of an exact zero sum follows the rounding mode', () => {
    expect(run1(A.fmadd_d(10, 1, 2, 3, RM.RNE), [D(1), D(1), D(-1)]).f).toBe(D(0));
    expect(run1(A.fmadd_d(10, 1, 2, 3, RM.RDN), [D(1), D(1), D(-1)]).f).toBe(NZERO_D);
    expect(run1(A.fadd_s(10, 1, 2, RM.RDN), [S(1), S(-1)]).f).toBe(NZERO_S);
  });
});

describe('the FP CSRs and instructions together', () => {
  it('frflags after an inexact operation; fsflags clears', () => {
    const cpu = exec([A.fdiv_d(10, 1, 2, RM.RNE), A.csrrw(5, A.CSR.fflags, 0), A.csrr(6, A.CSR.fflags)], { f: { 1: D(1), 2: D(3) } });
    expect(cpu.x(5)).toBe(BigInt(NX));
    expect(cpu.x(6)).toBe(0n);
  });

  it('a faulting FP instruction leaves fcsr unchanged', () => {
    const w = A.fmul_d(10, 1, 2, RM.DYN);
    const r = execRaw([w], { fcsr: (6 << 5) | NX, f: { 1: D(1), 2: D(3) } });
    expect(r.reason).toBe(ExitReason.Fault);
    expect(r.cpu.fcsr).toBe((6 << 5) | NX);
    expect(r.exit.pc).toBe(CODE);
  });
});
