// Native floating point (the "hardfloat" shortcuts): translations
// (src/cpu/jit/translate.ts, "floating point") run F and D instructions as
// WebAssembly's own f32/f64 operations when the result and the flags
// provably equal what the integer software float computes (for arithmetic:
// fflags.NX already set, round-to-nearest-even, a finite result clear of
// the underflow range), and call the interpreter otherwise; the interpreter
// takes the same shortcut for arithmetic (assembly/fp/softfloat.ts,
// hardArith). Each instruction here runs translated (threshold 1),
// interpreted, and on a reference interpreter with every native shortcut
// off (fpSetFastPaths(0): the pure integer routines), on operands chosen at
// the edges of those conditions and at random; value, fflags and integer
// results must agree bit for bit.
import { describe, expect, it } from 'vitest';
import { Cpu, MemoryMode, Perm, PAGE_SIZE, ExitReason } from '../src/cpu/cpu.js';
import { newCpu, userMode, RAM_BASE } from './support/machine.js';
import { Rng } from './support/prng.js';
import * as A from './support/rvasm.js';

const CODE = RAM_BASE + 0x1000n;
const BOX = 0xffff_ffff_0000_0000n;
const NX = 0x01;
const FRM = (rm: number) => rm << 5;

/** A CPU running `word` then `ebreak` from an R|X page; threshold 0
 *  interprets; `soft`: without native shortcuts. */
function cpuFor(word: number, threshold: number, soft = false): Cpu {
  const cpu = newCpu();
  userMode(cpu);
  const code = A.assemble([word, A.ebreak()]);
  cpu.writeBytes(CODE, code);
  cpu.setPagePermissions(CODE, PAGE_SIZE, Perm.R | Perm.X);
  cpu.jitThreshold = threshold;
  if (soft) {
    // The reference: the integer routines alone, without softfloat's own native shortcuts.
    (cpu as unknown as { exports: { fpSetFastPaths(on: number): void } }).exports.fpSetFastPaths(0);
  }
  return cpu;
}

interface Case { f1: bigint; f2: bigint; x1: bigint; fcsr: number }

function runCase(cpu: Cpu, c: Case): string {
  cpu.setF(1, c.f1); cpu.setF(2, c.f2); cpu.setF(3, 0x1234_5678_9abc_def0n);
  cpu.setX(5, c.x1); cpu.setX(6, 0x5555n);
  cpu.fcsr = c.fcsr;
  cpu.pc = CODE;
  const r = cpu.run(10n);
  return `${ExitReason[r]} pc ${cpu.pc.toString(16)} f3 ${cpu.f(3).toString(16)} x6 ${cpu.x(6).toString(16)} fcsr ${cpu.fcsr.toString(16)}`;
}

const d = (v: number): bigint => { const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, v, true); return b.getBigUint64(0, true); };
const s = (v: number): bigint => { const b = new DataView(new ArrayBuffer(4)); b.setFloat32(0, v, true); return BOX | BigInt(b.getUint32(0, true)); };

// Doubles at the edges of the fast path: zeros, the normal/subnormal
// boundary and the binade above it (2^-1022, 2^-1021), square roots of
// those (so that products land there), the largest finite value and half
// of it, infinities, quiet and signalling NaNs, ordinary values.
const D_EDGES: bigint[] = [
  0n, 1n << 63n, d(1), d(-1), d(1.5), d(3), d(0.1), d(-2.5e-3),
  0x0010_0000_0000_0000n, 0x8010_0000_0000_0000n, 0x0020_0000_0000_0000n, 0x001f_ffff_ffff_ffffn, 0x0020_0000_0000_0001n,
  0x000f_ffff_ffff_ffffn, 0x0000_0000_0000_0001n, 0x8000_0000_0000_0001n, 0x0008_0000_0000_0000n,
  d(2 ** -511), d(2 ** -511 * 1.0000001), d(-(2 ** -511)), d(2 ** -510.5), d(2 ** -512), d(2 ** 511), d(2 ** 512),
  0x7fef_ffff_ffff_ffffn, 0xffef_ffff_ffff_ffffn, 0x7fe0_0000_0000_0000n, d(2 ** 1023 * 1.5),
  0x7ff0_0000_0000_0000n, 0xfff0_0000_0000_0000n, 0x7ff8_0000_0000_0000n, 0xfff8_0000_0000_0000n, 0x7ff4_0000_0000_0000n,
  0x7ff0_0000_0000_0001n, d(2 ** 53), d(2 ** 53 + 2), d(-(2 ** 31)), d(2 ** 31 - 0.5),
  // Conversions to integers: their range ends and ties.
  d(2 ** 31 - 1), d(2 ** 31), d(-(2 ** 31) - 0.5), d(-(2 ** 31) - 1), d(2 ** 32 - 1), d(2 ** 32 - 0.5), d(2 ** 32),
  d(2 ** 63), d(-(2 ** 63)), d(2 ** 64), d(2 ** 64 - 2048), d(-(2 ** 63) - 2048), d(-0.5), d(0.5), d(2.5), d(-2.5), d(3.5), d(-0.25),
];
// Singles likewise, NaN-boxed; and a few that are not boxed.
const S_EDGES: bigint[] = [
  ...[0, -0, 1, -1, 1.5, 3, 0.1, -2.5e-3, 2 ** -126, -(2 ** -126), 2 ** -125, 2 ** -149, 2 ** -127, 2 ** -63, 2 ** -63 * 1.0000001,
    2 ** -62.5, 2 ** 63, 2 ** 64, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 64 - 2 ** 40, -(2 ** 63), -0.5, 2.5, -3.5, 0.75, 3.4028234663852886e38, -3.4028234663852886e38, 2 ** 127, Infinity, -Infinity, 2 ** 24, 2 ** 24 + 2].map(s),
  BOX | 0x7fc0_0000n, BOX | 0xffc0_0000n, BOX | 0x7fa0_0000n, BOX | 0x7f80_0001n, BOX | 0x007f_ffffn,
  0x3f80_0000n, 0x0000_0001_3f80_0000n, 0x7fff_ffff_4040_0000n,
];
const I_EDGES: bigint[] = [
  0n, 1n, 0xffff_ffff_ffff_ffffn, 1n << 24n, (1n << 24n) + 1n, 1n << 53n, (1n << 53n) + 1n, 1n << 63n, (1n << 63n) - 1n,
  BigInt.asUintN(64, -(1n << 53n)), BigInt.asUintN(64, -(1n << 53n) - 1n), BigInt.asUintN(64, -(1n << 24n) - 1n),
  0x8000_0000n, 0x7fff_ffffn, 0xffff_ffffn, 0x1_0000_0001n, 0xffff_ffff_8000_0000n, 123456789n,
];

/** A random double: mostly around the edges (exponents near the ends of the range), some anything. */
function randomDouble(rng: Rng): bigint {
  const sign = rng.chance(0.5) ? 1n << 63n : 0n;
  switch (rng.weighted([[3, 'edge'], [3, 'tiny'], [2, 'huge'], [4, 'ordinary'], [1, 'any']] as const)) {
    case 'edge': return rng.pick(D_EDGES);
    case 'tiny': return sign | (BigInt(rng.range(0, 560)) << 52n) | (rng.u64() & ((1n << 52n) - 1n));
    case 'huge': return sign | (BigInt(rng.range(1500, 2046)) << 52n) | (rng.u64() & ((1n << 52n) - 1n));
    case 'ordinary': return sign | (BigInt(1023 + rng.range(-40, 40)) << 52n) | (rng.u64() & ((1n << 52n) - 1n));
    default: return rng.u64();
  }
}
function randomSingle(rng: Rng): bigint {
  const sign = rng.chance(0.5) ? 0x8000_0000 : 0;
  const frac = () => rng.u32() & 0x7f_ffff;
  switch (rng.weighted([[3, 'edge'], [3, 'tiny'], [2, 'huge'], [4, 'ordinary'], [1, 'any']] as const)) {
    case 'edge': return rng.pick(S_EDGES);
    case 'tiny': return BOX | BigInt((sign | (rng.range(0, 70) << 23) | frac()) >>> 0);
    case 'huge': return BOX | BigInt((sign | (rng.range(190, 254) << 23) | frac()) >>> 0);
    case 'ordinary': return BOX | BigInt((sign | ((127 + rng.range(-20, 20)) << 23) | frac()) >>> 0);
    default: return rng.chance(0.9) ? BOX | BigInt(rng.u32()) : rng.u64();
  }
}
function randomInt(rng: Rng): bigint {
  switch (rng.int(4)) {
    case 0: return rng.pick(I_EDGES);
    case 1: return BigInt.asUintN(64, BigInt(rng.range(-(2 ** 30), 2 ** 30)) << BigInt(rng.int(34)));
    case 2: return BigInt(rng.u32());
    default: return rng.u64();
  }
}

/** fcsr values: NX set or not (with other flags sometimes), frm RNE mostly, others and reserved ones too. */
function randomFcsr(rng: Rng): number {
  const frm = rng.weighted([[6, 0], [1, 1], [1, 2], [1, 3], [1, 4], [1, 5], [1, 7]] as const);
  const flags = rng.chance(0.6) ? NX | (rng.chance(0.3) ? rng.int(32) : 0) : (rng.chance(0.5) ? 0 : rng.int(32) & ~NX);
  return FRM(frm) | flags;
}

type Operands = 'ff' | 'f' | 'x';
const RM = [0, 7, 1, 2, 3, 4]; // RNE, DYN, RTZ, RDN, RUP, RMM
/** [mnemonic, operands, precision, rounding mode operand]. */
const OPS: Array<[string, Operands, 's' | 'd', boolean]> = [
  ...['fadd', 'fsub', 'fmul', 'fdiv'].flatMap((n) => [[`${n}.d`, 'ff', 'd', true], [`${n}.s`, 'ff', 's', true]] as Array<[string, Operands, 's' | 'd', boolean]>),
  ['fsqrt.d', 'f', 'd', true], ['fsqrt.s', 'f', 's', true],
  ...['fsgnj', 'fsgnjn', 'fsgnjx', 'fmin', 'fmax'].flatMap((n) => [[`${n}.d`, 'ff', 'd', false], [`${n}.s`, 'ff', 's', false]] as Array<[string, Operands, 's' | 'd', boolean]>),
  ...['feq', 'flt', 'fle'].flatMap((n) => [[`${n}.d`, 'ff', 'd', false], [`${n}.s`, 'ff', 's', false]] as Array<[string, Operands, 's' | 'd', boolean]>),
  ['fcvt.s.d', 'f', 'd', true], ['fcvt.d.s', 'f', 's', true],
  ...['w', 'wu', 'l', 'lu'].flatMap((t) => [[`fcvt.${t}.d`, 'f', 'd', true], [`fcvt.${t}.s`, 'f', 's', true]] as Array<[string, Operands, 's' | 'd', boolean]>),
  ...['w', 'wu', 'l', 'lu'].flatMap((t) => [[`fcvt.d.${t}`, 'x', 'd', true], [`fcvt.s.${t}`, 'x', 's', true]] as Array<[string, Operands, 's' | 'd', boolean]>),
  ['fmv.x.d', 'f', 'd', false], ['fmv.x.w', 'f', 's', false], ['fmv.d.x', 'x', 'd', false], ['fmv.w.x', 'x', 's', false],
  ['fclass.d', 'f', 'd', false], ['fmadd.d', 'ff', 'd', true],
];

/** The instruction word: destination f3 (or x6 for integer results), sources f1, f2 (f2 again as fmadd's addend) or x5. */
function encode(name: string, operands: Operands, rm: number | undefined): number {
  const intDest = /^(feq|flt|fle|fmv\.x|fclass|fcvt\.[wl])/.test(name);
  const dst = intDest ? 6 : 3;
  const srcs = operands === 'ff' ? [1, 2] : operands === 'f' ? [1] : [5];
  if (name.startsWith('fmadd')) srcs.push(2);
  return A.enc(name, rm === undefined ? [dst, ...srcs] : [dst, ...srcs, rm]);
}

describe('F and D in translated code agree with the integer software float, bit for bit', () => {
  for (const [name, operands, prec, hasRm] of OPS) {
    it(name, () => {
      const rng = new Rng(`jit-float-${name}`);
      const pick = () => prec === 'd' ? randomDouble(rng) : randomSingle(rng);
      const rms = hasRm ? RM : [undefined];
      let translatedRuns = 0;
      for (const rm of rms) {
        const word = encode(name, operands, rm);
        const ref = cpuFor(word, 0, true), interp = cpuFor(word, 0), jit = cpuFor(word, 1);
        // Every pair of edge values with NX set and RNE (the fast path's
        // domain), then random operands and fcsr.
        const edges = prec === 'd' ? D_EDGES : S_EDGES;
        const cases: Case[] = [];
        if (operands === 'x') for (const x1 of I_EDGES) for (const fcsr of [NX, 0, FRM(1) | NX]) cases.push({ f1: 0n, f2: 0n, x1, fcsr });
        else {
          for (const f1 of edges) {
            for (const f2 of operands === 'ff' ? edges : [0n]) cases.push({ f1, f2, x1: 0n, fcsr: NX });
          }
        }
        for (let i = 0; i < 3000; i++) {
          const f1 = pick();
          // Sometimes an operand against itself or its negation (x - x = +0 in RNE, -0 otherwise).
          const f2 = rng.chance(0.1) ? f1 ^ (rng.chance(0.5) ? (prec === 'd' ? 1n << 63n : 1n << 31n) : 0n) : pick();
          cases.push({ f1, f2, x1: randomInt(rng), fcsr: randomFcsr(rng) });
        }
        for (const c of cases) {
          const want = runCase(ref, c);
          for (const [how, cpu] of [['translated', jit], ['interpreted', interp]] as const) {
            const got = runCase(cpu, c);
            if (got !== want) {
              const hex = (v: bigint) => '0x' + v.toString(16);
              expect(got, `${how}: ${A.disasm(word)} f1 ${hex(c.f1)} f2 ${hex(c.f2)} x5 ${hex(c.x1)} fcsr 0x${c.fcsr.toString(16)}`).toBe(want);
            }
          }
        }
        translatedRuns += jit.jitStats?.translated ?? 0;
        expect(ref.jitStats).toBeUndefined();
      }
      expect(translatedRuns).toBeGreaterThan(0);
    });
  }
});

describe('FP CSR accesses in translated code', () => {
  it('frflags, fsflags, frrm, fsrm, fscsr and their immediate forms match the interpreter', () => {
    const rng = new Rng('jit-float-csr');
    for (const [f3, csr] of [1, 2, 3, 5, 6, 7].flatMap((f) => [1, 2, 3].map((c) => [f, c] as const))) {
      for (const src of [0, 5, 17]) {
        // CSRRx rd=x6, csr, rs1/zimm=src
        const word = ((csr << 20) | (src << 15) | (f3 << 12) | (6 << 7) | 0x73) >>> 0;
        const ref = cpuFor(word, 0, true), jit = cpuFor(word, 1);
        for (let i = 0; i < 40; i++) {
          const c: Case = { f1: 0n, f2: 0n, x1: rng.chance(0.5) ? BigInt(rng.int(256)) : rng.u64(), fcsr: rng.int(256) };
          expect(runCase(jit, c), A.disasm(word)).toBe(runCase(ref, c));
        }
        expect(jit.jitStats?.translated ?? 0).toBeGreaterThan(0);
      }
    }
  });
});
