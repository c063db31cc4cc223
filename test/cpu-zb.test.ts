// Zba, Zbb and Zbs through the CPU, every instruction against a BigInt model
// of its definition in the bit-manipulation chapter, over edge operands
// (shift/bit indices 0, 31, 32, 63, 64 and beyond exercise the masking).
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { rr, ri, r1, u64, s64, sext32, INT64_MIN, INT64_MAX, ALL_ONES } from './support/machine.js';

const M64 = ALL_ONES;
const zext32 = (v: bigint) => v & 0xffff_ffffn;
const rotl64 = (v: bigint, n: bigint) => { n &= 63n; return ((v << n) | (v >> ((64n - n) & 63n))) & M64; };
const rotr64 = (v: bigint, n: bigint) => rotl64(v, (64n - (n & 63n)) & 63n);
const rotl32 = (v: bigint, n: bigint) => { v = zext32(v); n &= 31n; return ((v << n) | (v >> ((32n - n) & 31n))) & 0xffff_ffffn; };
const rotr32 = (v: bigint, n: bigint) => rotl32(v, (32n - (n & 31n)) & 31n);
const clz = (v: bigint, bits: number) => { let n = 0; for (let i = bits - 1; i >= 0 && !((v >> BigInt(i)) & 1n); i--) n++; return BigInt(n); };
const ctz = (v: bigint, bits: number) => { let n = 0; for (let i = 0; i < bits && !((v >> BigInt(i)) & 1n); i++) n++; return BigInt(n); };
const cpop = (v: bigint, bits: number) => { let n = 0n; for (let i = 0; i < bits; i++) n += (v >> BigInt(i)) & 1n; return n; };
const bit = (b: bigint) => 1n << (b & 63n);

const RR: Record<string, [(rd: number, rs1: number, rs2: number) => number, (a: bigint, b: bigint) => bigint]> = {
  // Zba
  'add.uw': [A.add_uw, (a, b) => (zext32(a) + b) & M64],
  sh1add: [A.sh1add, (a, b) => ((a << 1n) + b) & M64],
  sh2add: [A.sh2add, (a, b) => ((a << 2n) + b) & M64],
  sh3add: [A.sh3add, (a, b) => ((a << 3n) + b) & M64],
  'sh1add.uw': [A.sh1add_uw, (a, b) => ((zext32(a) << 1n) + b) & M64],
  'sh2add.uw': [A.sh2add_uw, (a, b) => ((zext32(a) << 2n) + b) & M64],
  'sh3add.uw': [A.sh3add_uw, (a, b) => ((zext32(a) << 3n) + b) & M64],
  // Zbb
  andn: [A.andn, (a, b) => a & ~b & M64],
  orn: [A.orn, (a, b) => (a | (~b & M64))],
  xnor: [A.xnor, (a, b) => ~(a ^ b) & M64],
  max: [A.max, (a, b) => (s64(a) > s64(b) ? a : b)],
  maxu: [A.maxu, (a, b) => (a > b ? a : b)],
  min: [A.min, (a, b) => (s64(a) < s64(b) ? a : b)],
  minu: [A.minu, (a, b) => (a < b ? a : b)],
  rol: [A.rol, (a, b) => rotl64(a, b)],
  ror: [A.ror, (a, b) => rotr64(a, b)],
  rolw: [A.rolw, (a, b) => sext32(rotl32(a, b))],
  rorw: [A.rorw, (a, b) => sext32(rotr32(a, b))],
  // Zbs
  bclr: [A.bclr, (a, b) => a & ~bit(b) & M64],
  bext: [A.bext, (a, b) => (a >> (b & 63n)) & 1n],
  binv: [A.binv, (a, b) => a ^ bit(b)],
  bset: [A.bset, (a, b) => a | bit(b)],
};

const UNARY: Record<string, [(rd: number, rs1: number) => number, (a: bigint) => bigint]> = {
  clz: [A.clz, (a) => clz(a, 64)],
  clzw: [A.clzw, (a) => clz(zext32(a), 32)],
  ctz: [A.ctz, (a) => ctz(a, 64)],
  ctzw: [A.ctzw, (a) => ctz(zext32(a), 32)],
  cpop: [A.cpop, (a) => cpop(a, 64)],
  cpopw: [A.cpopw, (a) => cpop(zext32(a), 32)],
  'sext.b': [A.sext_b, (a) => u64(BigInt.asIntN(8, a))],
  'sext.h': [A.sext_h, (a) => u64(BigInt.asIntN(16, a))],
  'zext.h': [A.zext_h, (a) => a & 0xffffn],
  'orc.b': [A.orc_b, (a) => { let r = 0n; for (let i = 0n; i < 64n; i += 8n) if ((a >> i) & 0xffn) r |= 0xffn << i; return r; }],
  rev8: [A.rev8, (a) => { let r = 0n; for (let i = 0n; i < 8n; i++) r |= ((a >> (8n * i)) & 0xffn) << (8n * (7n - i)); return r; }],
};

const IMM: Record<string, [(rd: number, rs1: number, sh: number) => number, (a: bigint, sh: bigint) => bigint, number]> = {
  'slli.uw': [A.slli_uw, (a, s) => (zext32(a) << s) & M64, 63],
  rori: [A.rori, (a, s) => rotr64(a, s), 63],
  roriw: [A.roriw, (a, s) => sext32(rotr32(a, s)), 31],
  bclri: [A.bclri, (a, s) => a & ~bit(s) & M64, 63],
  bexti: [A.bexti, (a, s) => (a >> s) & 1n, 63],
  binvi: [A.binvi, (a, s) => a ^ bit(s), 63],
  bseti: [A.bseti, (a, s) => a | bit(s), 63],
};

const VALUES: bigint[] = [
  0n, 1n, ALL_ONES, INT64_MIN, INT64_MAX, 0x8000_0000n, 0x7fff_ffffn, 0xffff_ffffn, 0xffff_ffff_0000_0000n,
  0x1234_5678_9abc_def0n, 0x0000_0080_0000_ff00n, 0x8080_0001_0000_0080n, 0x0100_0000_0000_0000n,
];
const AMOUNTS: bigint[] = [0n, 1n, 7n, 31n, 32n, 33n, 63n, 64n, 65n, 0xffff_ffff_ffff_ffc1n, ALL_ONES];

function sweep(name: string, got: (a: bigint, b: bigint) => bigint, want: (a: bigint, b: bigint) => bigint, as: bigint[], bs: bigint[]): string[] {
  const bad: string[] = [];
  for (const a of as) for (const b of bs) {
    const g = got(a, b), w = want(a, b);
    if (g !== w) bad.push(`${name}(0x${a.toString(16)}, 0x${b.toString(16)}) = 0x${g.toString(16)}, want 0x${w.toString(16)}`);
  }
  return bad;
}

describe('register-register Zb* ops against the spec model', () => {
  for (const [name, [enc, model]] of Object.entries(RR)) {
    it(name, () => {
      expect(sweep(name, (a, b) => rr(enc, a, b), model, VALUES, [...VALUES, ...AMOUNTS])).toEqual([]);
    });
  }
});

describe('unary Zbb ops against the spec model', () => {
  for (const [name, [enc, model]] of Object.entries(UNARY)) {
    it(name, () => {
      expect(sweep(name, (a) => r1(enc, a), (a) => model(a), VALUES, [0n])).toEqual([]);
    });
  }
});

describe('immediate Zb* ops against the spec model, every shift amount', () => {
  for (const [name, [enc, model, maxSh]] of Object.entries(IMM)) {
    it(name, () => {
      const shs = Array.from({ length: maxSh + 1 }, (_, i) => BigInt(i));
      expect(sweep(name, (a, s) => ri(enc, a, Number(s)), model, VALUES, shs)).toEqual([]);
    });
  }
});

describe('the spec\'s worked cases', () => {
  it('clz/ctz/cpop of 0 count every bit', () => {
    expect(r1(A.clz, 0n)).toBe(64n);
    expect(r1(A.ctz, 0n)).toBe(64n);
    expect(r1(A.clzw, 0xffff_ffff_0000_0000n)).toBe(32n);
    expect(r1(A.ctzw, 0xffff_ffff_0000_0000n)).toBe(32n);
    expect(r1(A.cpopw, 0xffff_ffff_0000_0000n)).toBe(0n);
    expect(r1(A.cpop, ALL_ONES)).toBe(64n);
  });

  it('zext.w is add.uw with rs2 = x0; slli.uw shifts the zero-extended word', () => {
    expect(rr((rd, rs1) => A.add_uw(rd, rs1, 0), 0xffff_ffff_8000_0000n, 0n)).toBe(0x8000_0000n);
    expect(ri(A.slli_uw, 0xffff_ffff_ffff_ffffn, 32)).toBe(0xffff_ffff_0000_0000n);
    expect(ri(A.slli_uw, 0xffff_ffff_8000_0001n, 63)).toBe(INT64_MIN);
  });

  it('orc.b and rev8', () => {
    expect(r1(A.orc_b, 0x0001_0200_0080_0000n)).toBe(0x00ff_ff00_00ff_0000n);
    expect(r1(A.rev8, 0x0102_0304_0506_0708n)).toBe(0x0807_0605_0403_0201n);
  });

  it('rolw/rorw sign-extend the rotated word', () => {
    expect(rr(A.rolw, 0x4000_0000n, 1n)).toBe(0xffff_ffff_8000_0000n);
    expect(rr(A.rorw, 1n, 1n)).toBe(0xffff_ffff_8000_0000n);
    expect(rr(A.rolw, 0x1234_5678n, 32n)).toBe(0x1234_5678n); // amount masked to 5 bits
    expect(ri(A.roriw, 0xffff_ffff_0000_0001n, 31)).toBe(2n);
  });

  it('bit-index ops use rs2 mod 64', () => {
    expect(rr(A.bset, 0n, 64n)).toBe(1n);
    expect(rr(A.bext, INT64_MIN, 127n)).toBe(1n);
    expect(rr(A.binv, 0n, 63n)).toBe(INT64_MIN);
    expect(rr(A.bclr, ALL_ONES, 0xffff_ffff_ffff_ffc0n)).toBe(u64(-2n));
  });

  it('min/max compare signed, minu/maxu unsigned', () => {
    expect(rr(A.min, ALL_ONES, 1n)).toBe(ALL_ONES);
    expect(rr(A.minu, ALL_ONES, 1n)).toBe(1n);
    expect(rr(A.max, INT64_MIN, INT64_MAX)).toBe(INT64_MAX);
    expect(rr(A.maxu, INT64_MIN, INT64_MAX)).toBe(INT64_MIN);
  });
});
