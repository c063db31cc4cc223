// The M extension through the CPU, against a BigInt model of the
// specification ("M" Standard Extension: multiplication and the table
// "Semantics for division by zero and division overflow"), over operand pairs
// that include every edge the table names.
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { rr, u64, s64, sext32, INT64_MIN, INT64_MAX, ALL_ONES } from './support/machine.js';

const s32 = (v: bigint) => BigInt.asIntN(32, v);
const u32 = (v: bigint) => BigInt.asUintN(32, v);
// BigInt division truncates toward zero, as RISC-V does.
const MODEL: Record<string, [(rd: number, rs1: number, rs2: number) => number, (a: bigint, b: bigint) => bigint]> = {
  mul: [A.mul, (a, b) => u64(a * b)],
  mulh: [A.mulh, (a, b) => u64((s64(a) * s64(b)) >> 64n)],
  mulhsu: [A.mulhsu, (a, b) => u64((s64(a) * b) >> 64n)],
  mulhu: [A.mulhu, (a, b) => u64((a * b) >> 64n)],
  div: [A.div, (a, b) => (b === 0n ? ALL_ONES : a === INT64_MIN && b === ALL_ONES ? INT64_MIN : u64(s64(a) / s64(b)))],
  divu: [A.divu, (a, b) => (b === 0n ? ALL_ONES : a / b)],
  rem: [A.rem, (a, b) => (b === 0n ? a : a === INT64_MIN && b === ALL_ONES ? 0n : u64(s64(a) % s64(b)))],
  remu: [A.remu, (a, b) => (b === 0n ? a : a % b)],
  mulw: [A.mulw, (a, b) => sext32(a * b)],
  divw: [A.divw, (a, b) => {
    const x = s32(a), y = s32(b);
    if (y === 0n) return ALL_ONES;
    if (x === -(2n ** 31n) && y === -1n) return sext32(x);
    return sext32(x / y);
  }],
  divuw: [A.divuw, (a, b) => (u32(b) === 0n ? ALL_ONES : sext32(u32(a) / u32(b)))],
  remw: [A.remw, (a, b) => {
    const x = s32(a), y = s32(b);
    if (y === 0n) return sext32(x);
    if (x === -(2n ** 31n) && y === -1n) return 0n;
    return sext32(x % y);
  }],
  remuw: [A.remuw, (a, b) => (u32(b) === 0n ? sext32(a) : sext32(u32(a) % u32(b)))],
};

const EDGES: bigint[] = [
  0n, 1n, 2n, 3n, 7n, ALL_ONES, u64(-2n), u64(-7n), INT64_MIN, INT64_MAX, INT64_MIN + 1n,
  0x8000_0000n, 0x7fff_ffffn, 0xffff_ffffn, 0xffff_ffff_8000_0000n, 0x1_0000_0000n, 0x1_0000_0001n,
  0x1234_5678_9abc_def0n, 0xfedc_ba98_7654_3210n, 0xdead_beef_ffff_ffffn, 0x0000_0001_8000_0000n,
];

describe('M: every op over the edge operand pairs matches the spec model', () => {
  for (const [name, [encode, model]] of Object.entries(MODEL)) {
    it(name, () => {
      const bad: string[] = [];
      for (const a of EDGES) for (const b of EDGES) {
        const got = rr(encode, a, b), want = model(a, b);
        if (got !== want) bad.push(`${name}(0x${a.toString(16)}, 0x${b.toString(16)}) = 0x${got.toString(16)}, want 0x${want.toString(16)}`);
      }
      expect(bad).toEqual([]);
    });
  }
});

describe('M: the cases the spec spells out', () => {
  it('division by zero: div/divu give all ones, rem/remu give the dividend', () => {
    expect(rr(A.div, 42n, 0n)).toBe(ALL_ONES);
    expect(rr(A.divu, 42n, 0n)).toBe(ALL_ONES);
    expect(rr(A.rem, u64(-42n), 0n)).toBe(u64(-42n));
    expect(rr(A.remu, 42n, 0n)).toBe(42n);
    expect(rr(A.divw, 42n, 0xffff_ffff_0000_0000n)).toBe(ALL_ONES); // only the low 32 bits of rs2 count
    expect(rr(A.divuw, 42n, 0n)).toBe(ALL_ONES);
    expect(rr(A.remw, 0x1234_5678_8000_0000n, 0n)).toBe(0xffff_ffff_8000_0000n);
    expect(rr(A.remuw, 0x1234_5678_8000_0000n, 0n)).toBe(0xffff_ffff_8000_0000n); // sign-extended
  });

  it('overflow: INT_MIN / -1 = INT_MIN and INT_MIN % -1 = 0', () => {
    expect(rr(A.div, INT64_MIN, ALL_ONES)).toBe(INT64_MIN);
    expect(rr(A.rem, INT64_MIN, ALL_ONES)).toBe(0n);
    expect(rr(A.divw, 0x8000_0000n, ALL_ONES)).toBe(0xffff_ffff_8000_0000n);
    expect(rr(A.remw, 0x8000_0000n, 0xffff_ffffn)).toBe(0n);
  });

  it('division truncates toward zero and the remainder takes the dividend\'s sign', () => {
    expect(rr(A.div, u64(-7n), 2n)).toBe(u64(-3n));
    expect(rr(A.rem, u64(-7n), 2n)).toBe(u64(-1n));
    expect(rr(A.rem, 7n, u64(-2n))).toBe(1n);
    expect(rr(A.divw, u64(-7n), 2n)).toBe(u64(-3n));
    expect(rr(A.remw, 7n, u64(-2n))).toBe(1n);
  });

  it('mulh* signs', () => {
    expect(rr(A.mulh, ALL_ONES, ALL_ONES)).toBe(0n); // (-1)(-1) = 1
    expect(rr(A.mulhu, ALL_ONES, ALL_ONES)).toBe(u64(-2n));
    expect(rr(A.mulhsu, ALL_ONES, ALL_ONES)).toBe(ALL_ONES); // (-1)(2^64-1) = -(2^64-1)
    expect(rr(A.mulh, INT64_MIN, INT64_MIN)).toBe(0x4000_0000_0000_0000n);
    expect(rr(A.mulhsu, INT64_MIN, ALL_ONES)).toBe(INT64_MIN); // -2^127 + 2^63, high half -2^63
    expect(rr(A.mulh, INT64_MIN, 1n)).toBe(ALL_ONES);
    expect(rr(A.mulhu, INT64_MIN, 2n)).toBe(1n);
  });

  it('mulw multiplies the low 32 bits and sign-extends', () => {
    expect(rr(A.mulw, 0x1_0000_0001n, 0x1_0000_0003n)).toBe(3n);
    expect(rr(A.mulw, 0x10000n, 0x8000n)).toBe(0xffff_ffff_8000_0000n);
    expect(rr(A.mulw, 0xffff_ffffn, 0xffff_ffffn)).toBe(1n);
  });

  it('divuw / remuw divide the unsigned low words', () => {
    expect(rr(A.divuw, 0xffff_ffffn, 1n)).toBe(ALL_ONES); // 0xffffffff sign-extended
    expect(rr(A.divuw, 0xffff_ffff_ffff_fffen, 2n)).toBe(0x7fff_ffffn);
    expect(rr(A.remuw, 0xffff_ffffn, 0x10n)).toBe(0xfn);
  });
});
