#!/usr/bin/env node
// Records test/golden/fp-s.json, fp-d.json and fp-int.json: what QEMU
// computes (result bits and fflags) for the F and D instructions on a large
// set of operands in every rounding mode, so test/fp.test.ts can check
// assembly/fp/softfloat.ts without the toolchain or QEMU installed.
//
//   node scripts/gen-fp-golden.mjs
//   node scripts/gen-fp-golden.mjs --scale 20 --seed 7 --out /tmp/fp-soak
//       (a larger, differently seeded set elsewhere, for soak testing:
//        FP_GOLDEN_DIR=/tmp/fp-soak npx vitest run test/fp.test.ts)
//
// Needs riscv64-linux-gnu-gcc and qemu-riscv64 (Debian: gcc-riscv64-linux-gnu,
// qemu-user). The oracle is scripts/gen-fp-golden.c: each record executes one
// instruction under qemu-riscv64 with frm set to the rounding mode.
//
// Operands (all seeded, so the files are reproducible):
//   - edge values: +-0, +-smallest and largest subnormals, +-smallest normal,
//     +-largest finite, +-inf, quiet and signalling NaNs with and without
//     payloads and of both signs, 1, values one ulp around 1 and 2, exact
//     halfway points, powers of two that overflow or underflow when
//     multiplied or divided;
//   - cross products of a subset of those (pairs, and triples for the fused
//     multiply-adds);
//   - seeded random values from several distributions: raw bit patterns,
//     exponents near the bias, near the bottom (subnormals) and the top of
//     the range, sparse significands (halfway cases); pairs with equal or
//     adjacent exponents (cancellation), pairs whose product or quotient
//     lands at the overflow or underflow threshold, fused multiply-adds whose
//     addend nearly cancels the product;
//   - for conversions, values around every integer range's ends and around
//     small integers and halves, and integers of every bit length.
//
// File format (blobs are little-endian binary, raw-deflated, then base64):
//   { groups: [ { name, arity, count, operands: blob(count * arity u64),
//                 ops: [ { op, rms: [..], resultBytes,
//                          results: blob(for each rm, for each case:
//                                        result (resultBytes) + fflags (1 byte)) } ] } ] }
// Single-precision f results are stored as their low 32 bits; the script
// checks QEMU returned them NaN-boxed (upper 32 bits all ones).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('./gen-fp-golden.c', import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const OUT_DIR = option('out', fileURLToPath(new URL('../test/golden/', import.meta.url)));
const SCALE = Number(option('scale', '1'));
const scaled = (n) => Math.round(n * SCALE);
const RMS = [0, 1, 2, 3, 4];

// ---- seeded PRNG (splitmix64) -------------------------------------------------
let state = 0x5eed_f00d_cafe_1234n ^ BigInt(option('seed', '0'));
function next64() {
  state = (state + 0x9e37_79b9_7f4a_7c15n) & 0xffff_ffff_ffff_ffffn;
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & 0xffff_ffff_ffff_ffffn;
  z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & 0xffff_ffff_ffff_ffffn;
  return z ^ (z >> 31n);
}
const randInt = (n) => Number(next64() % BigInt(n)); // 0..n-1
const randRange = (lo, hi) => lo + randInt(hi - lo + 1);
const pick = (arr) => arr[randInt(arr.length)];
const chance = (p) => randInt(1_000_000) < p * 1_000_000;

// ---- formats ---------------------------------------------------------------------
const BOX = 0xffff_ffff_0000_0000n;
const F = {
  s: { bits: 32, expBits: 8, fracBits: 23, bias: 127 },
  d: { bits: 64, expBits: 11, fracBits: 52, bias: 1023 },
};
for (const f of Object.values(F)) {
  f.expMax = (1 << f.expBits) - 1;
  f.fracMask = (1n << BigInt(f.fracBits)) - 1n;
  f.signBit = 1n << BigInt(f.bits - 1);
}
/** Bits of a value from sign, biased exponent and fraction. */
const make = (f, sign, exp, frac) =>
  (sign ? f.signBit : 0n) | (BigInt(exp) << BigInt(f.fracBits)) | (frac & f.fracMask);
const expOf = (f, x) => Number((x >> BigInt(f.fracBits)) & BigInt(f.expMax));
const randFrac = (f) => next64() & f.fracMask;

const buf8 = new DataView(new ArrayBuffer(8));
const f64Bits = (v) => { buf8.setFloat64(0, v, true); return buf8.getBigUint64(0, true); };
const bitsF64 = (b) => { buf8.setBigUint64(0, b, true); return buf8.getFloat64(0, true); };
const f32Bits = (v) => { buf8.setFloat32(0, v, true); return BigInt(buf8.getUint32(0, true)); };
const bitsF32 = (b) => { buf8.setUint32(0, Number(b), true); return buf8.getFloat32(0, true); };
const toBits = (f, v) => (f === F.d ? f64Bits(v) : f32Bits(v));
const fromBits = (f, b) => (f === F.d ? bitsF64(b) : bitsF32(b));
/** The register value holding a value of format f (singles NaN-boxed). */
const reg = (f, bits) => (f === F.s ? BOX | bits : bits);

function edgeValues(f) {
  const e = [];
  const both = (x) => { e.push(x, x | f.signBit); };
  const one = (exp, frac = 0n) => make(f, 0, exp, frac);
  const B = f.bias;
  both(0n); // zero
  both(1n); // smallest subnormal
  both(f.fracMask); // largest subnormal
  both(1n << BigInt(f.fracBits - 1)); // a subnormal with one bit
  both(one(1)); // smallest normal
  both(one(1, 1n)); // smallest normal + ulp
  both(one(1, f.fracMask)); // just below 2 * smallest normal
  both(one(f.expMax - 1, f.fracMask)); // largest finite
  both(one(f.expMax - 1)); // largest power of two
  both(one(f.expMax)); // infinity
  e.push(one(f.expMax, 1n << BigInt(f.fracBits - 1))); // canonical quiet NaN
  e.push(one(f.expMax, (1n << BigInt(f.fracBits - 1)) | 0x123n)); // quiet NaN with payload
  e.push(one(f.expMax, (1n << BigInt(f.fracBits - 1))) | f.signBit); // negative quiet NaN
  e.push(one(f.expMax, 1n)); // signalling NaN
  e.push(one(f.expMax, 1n << BigInt(f.fracBits - 2)) | f.signBit); // negative signalling NaN with payload
  both(one(B)); // 1
  both(one(B, 1n)); // 1 + ulp
  both(one(B - 1, f.fracMask)); // 1 - ulp/2
  both(one(B + 1)); // 2
  both(one(B, 1n << BigInt(f.fracBits - 1))); // 1.5
  both(one(B + 1, 1n << BigInt(f.fracBits - 1))); // 3
  both(one(B - f.fracBits - 1)); // half an ulp of 1: 1 + this is a halfway case
  both(one(B - f.fracBits - 1, 1n)); // just above that
  both(one(B - f.fracBits)); // one ulp of 1
  both(one(B + f.fracBits + 1)); // large: integers stop being representable
  both(one(B, f.fracMask)); // just below 2
  both(one(B - 2, 0x5555_5555_5555_5555n)); // about 1/3
  both(one(Math.floor(B * 1.5))); // overflows when squared
  both(one(Math.floor(B * 0.5))); // underflows when squared
  both(one(B + 3, 0x4n)); // an exact small value with a short significand
  return e;
}

/** A random value of format f from a mix of distributions. */
function randomValue(f, edges) {
  const sign = randInt(2);
  switch (randInt(12)) {
    case 0: case 1: return next64() & ((1n << BigInt(f.bits)) - 1n); // raw bits
    case 2: case 3: case 4: case 5: // near 1
      return make(f, sign, f.bias + randRange(-40, 40), randFrac(f));
    case 6: return make(f, sign, randRange(0, 2 * f.fracBits + 4), randFrac(f)); // bottom
    case 7: return make(f, sign, randRange(f.expMax - 2 * f.fracBits - 4, f.expMax - 1), randFrac(f)); // top
    case 8: { // sparse or dense significands: halfway and carry cases
      const kinds = [0n, f.fracMask, 1n, 1n << BigInt(randInt(f.fracBits)),
        f.fracMask ^ (1n << BigInt(randInt(f.fracBits))), randFrac(f) & ~((1n << BigInt(randInt(f.fracBits))) - 1n)];
      return make(f, sign, f.bias + randRange(-60, 60), pick(kinds));
    }
    case 9: return make(f, sign, randRange(1, f.expMax - 1), randFrac(f)); // any normal
    case 10: return make(f, sign, 0, randFrac(f)); // subnormal
    default: return pick(edges);
  }
}

/** b related to a: same or adjacent exponent, or a's neighbourhood. */
function relatedValue(f, a) {
  const e = expOf(f, a);
  if (e === f.expMax) return randomValue(f, [a, f.signBit]);
  const sign = randInt(2);
  switch (randInt(4)) {
    case 0: return make(f, sign, Math.max(0, Math.min(f.expMax - 1, e + randRange(-2, 2))), randFrac(f));
    case 1: return (a ^ (next64() & 0xffn)) ^ (chance(0.5) ? f.signBit : 0n); // low bits perturbed
    case 2: return BigInt.asUintN(f.bits, a + BigInt(randRange(-3, 3))) ^ f.signBit; // nearly cancels
    default: return make(f, sign, Math.max(0, Math.min(f.expMax - 1, e + randRange(-f.fracBits - 3, f.fracBits + 3))), randFrac(f));
  }
}

/** A pair whose product or quotient lands near the overflow or underflow threshold. */
function thresholdPair(f, forDivision) {
  const ea = randRange(1, f.expMax - 1);
  // exponent sum (or difference) of the unbiased values near emin-ish or emax
  const targets = [1 - f.bias, -f.bias - f.fracBits, -f.bias + randRange(-f.fracBits, 2), f.bias, f.bias + 1, f.bias - 1];
  const target = pick(targets) + randRange(-1, 1);
  const ua = ea - f.bias;
  const ub = forDivision ? ua - target : target - ua;
  const eb = ub + f.bias;
  if (eb < 1 || eb > f.expMax - 1) return [make(f, randInt(2), ea, randFrac(f)), make(f, randInt(2), Math.max(1, Math.min(f.expMax - 1, eb)), randFrac(f))];
  const fracA = chance(0.3) ? f.fracMask - BigInt(randInt(4)) : randFrac(f);
  const fracB = chance(0.3) ? BigInt(randInt(4)) : randFrac(f);
  return [make(f, randInt(2), ea, fracA), make(f, randInt(2), eb, fracB)];
}

function binaryOperands(f, nRandom) {
  const edges = edgeValues(f);
  const pairs = [];
  for (const a of edges) for (const b of edges) pairs.push([a, b]);
  for (let i = 0; i < nRandom; i++) {
    const r = randInt(10);
    if (r < 4) { const a = randomValue(f, edges); pairs.push([a, randomValue(f, edges)]); }
    else if (r < 7) { const a = randomValue(f, edges); pairs.push([a, relatedValue(f, a)]); }
    else pairs.push(thresholdPair(f, r === 9));
  }
  return pairs.map(([a, b]) => [reg(f, a), reg(f, b)]);
}

function fmaOperands(f, nRandom) {
  const edges = edgeValues(f);
  const pos = (exp, frac = 0n) => make(f, 0, exp, frac);
  const few = [0n, 1n, pos(1), pos(f.expMax - 1, f.fracMask), pos(f.expMax), pos(f.expMax, 1n << BigInt(f.fracBits - 1)),
    pos(f.expMax, 1n), pos(f.bias), pos(f.bias, 1n), pos(f.bias - f.fracBits - 1)];
  const fewSigned = [...few, ...[0n, 1n, pos(f.expMax - 1, f.fracMask), pos(f.expMax), pos(f.bias)].map((x) => x | f.signBit)];
  const triples = [];
  for (const a of fewSigned) for (const b of few) for (const c of fewSigned) triples.push([a, b, c]);
  const round = f === F.d ? (x) => x : Math.fround;
  for (let i = 0; i < nRandom; i++) {
    const r = randInt(8);
    let a, b, c;
    if (r < 2) { a = randomValue(f, edges); b = randomValue(f, edges); c = randomValue(f, edges); }
    else if (r < 5) {
      // c close to -(a*b): massive cancellation
      a = make(f, randInt(2), f.bias + randRange(-30, 30), randFrac(f));
      b = make(f, randInt(2), f.bias + randRange(-30, 30), randFrac(f));
      const p = round(fromBits(f, a) * fromBits(f, b));
      c = BigInt.asUintN(f.bits, toBits(f, -p) + BigInt(randRange(-2, 2)));
      if (chance(0.3)) c ^= next64() & 0xfffn;
    } else if (r < 7) {
      // c near the product's magnitude, shifted by a random amount
      a = make(f, randInt(2), f.bias + randRange(-30, 30), randFrac(f));
      b = make(f, randInt(2), f.bias + randRange(-30, 30), randFrac(f));
      const pe = expOf(f, a) + expOf(f, b) - f.bias;
      c = make(f, randInt(2), Math.max(0, Math.min(f.expMax - 1, pe + randRange(-2 * f.fracBits - 8, 2 * f.fracBits + 8))), randFrac(f));
    } else {
      // products near the overflow or underflow threshold, small addends
      [a, b] = thresholdPair(f, false);
      c = chance(0.5) ? make(f, randInt(2), randRange(0, 3), randFrac(f)) : randomValue(f, edges);
    }
    triples.push([a, b, c]);
  }
  if (f === F.s) {
    // Double-rounding traps for a binary64 route: a*b = 2^e * (1 - 2^-2k)
    // is just below (or above) half an ulp of c, so c + a*b rounded to
    // binary64 lands exactly on a binary32 halfway point while the exact sum
    // is not on it.
    for (let i = 0; i < scaled(300); i++) {
      const k = randRange(15, 23);
      const ce = randRange(30, 220);
      const c = make(f, randInt(2), ce, randFrac(f));
      const a = make(f, randInt(2), f.bias, 1n << BigInt(f.fracBits - k)); // 1 + 2^-k
      const eb = ce - 24 - 1 + randRange(0, 1); // b = 2^(eb - bias) * (1 - 2^-k) (the significand 1.11..1 one binade lower)
      const b = make(f, randInt(2), eb, ((1n << BigInt(k - 1)) - 1n) << BigInt(f.fracBits - k + 1));
      triples.push([a, b, c]);
    }
  }
  return triples.map((t) => t.map((x) => reg(f, x)));
}

function unaryOperands(f, nRandom) {
  const edges = edgeValues(f);
  const vals = [...edges];
  const round = f === F.d ? (x) => x : Math.fround;
  // Around the ends of the integer ranges and around small integers.
  const anchors = [0, 1, 2, 3, 4, 5, 2 ** 23, 2 ** 24, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 52, 2 ** 53,
    2 ** 63, 2 ** 64, 2 ** 62, 1e10];
  for (const k of anchors) {
    for (const d of [0, 0.25, 0.5, 0.75, -0.25, -0.5, -0.75, 1, -1]) {
      for (const s of [1, -1]) {
        const v = round(s * (k + d));
        vals.push(toBits(f, v));
        // neighbours one ulp away
        const bv = toBits(f, v);
        if (expOf(f, bv) < f.expMax) { vals.push(bv + 1n); if ((bv & ~f.signBit) > 0n) vals.push(bv - 1n); }
      }
    }
  }
  if (f === F.d) {
    // FCVT.S.D around binary32's smallest normal (2^-126 = 0x3810000000000000)
    // and largest finite: one binary32 ulp there is 2^29 binary64 ulps, a
    // binary32 subnormal step 2^30, so these straddle the tininess-after-
    // rounding and overflow boundaries in every rounding mode.
    for (const base of [0x3810_0000_0000_0000n, 0x47f0_0000_0000_0000n /* 2^128 */]) {
      for (const k of [1n, 2n, 1n << 27n, (1n << 28n) - 1n, 1n << 28n, (1n << 28n) + 1n, (1n << 29n) - 1n, 1n << 29n,
        (1n << 29n) + 1n, (3n << 28n), (1n << 30n) - 1n, 1n << 30n, (1n << 30n) + 1n]) {
        for (const s of [0n, f.signBit]) vals.push(s | (base - k), s | (base + k));
      }
    }
  }
  for (let i = 0; i < nRandom; i++) {
    const r = randInt(4);
    if (r === 0) vals.push(make(f, randInt(2), f.bias + randRange(-3, 66), randFrac(f))); // integer-ish range
    else if (r === 1) { // values with a fraction of exactly .5 or small fractions
      const e = f.bias + randRange(0, Math.min(f.fracBits, 62));
      const shift = BigInt(Math.max(0, f.fracBits - (e - f.bias) - 1));
      const frac = (randFrac(f) & ~((1n << (shift + 1n)) - 1n)) | (1n << shift);
      vals.push(make(f, randInt(2), e, frac));
    } else vals.push(randomValue(f, edges));
  }
  return vals.map((x) => [reg(f, x)]);
}

function integerOperands(nRandom) {
  const vals = [0n, 1n, 2n, 3n, 0xffff_ffff_ffff_ffffn, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n,
    0xffff_ffff_8000_0000n, 0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n, 0x8000_0000_0000_0001n,
    0xffff_ffff_ffff_fffen, 0x100_0001n, 0x100_0003n, 0xff_ffffn, 0x20_0000_0000_0001n, 0x20_0000_0000_0003n,
    0x1f_ffff_ffff_ffffn, 0x7fff_ffbfn, 0x7fff_ffc0n, 0xffff_ff80n, 0xffff_ff7fn, 0x1234_5678_9abc_def0n,
    0xffff_ffff_0000_0001n, 0x0000_0001_ffff_ffffn, 0xffff_fc00_0000_0400n, 0x7fff_ffff_ffff_fe00n, 0x7fff_ffff_ffff_fdffn];
  for (let i = 0; i < nRandom; i++) {
    const bitsLen = randRange(1, 64);
    let v = next64() & ((1n << BigInt(bitsLen)) - 1n);
    v |= 1n << BigInt(bitsLen - 1);
    if (chance(0.3)) v = (v | ((1n << BigInt(randRange(0, bitsLen - 1))) - 1n)); // a run of ones: carries
    if (chance(0.4)) v = (-v) & 0xffff_ffff_ffff_ffffn;
    if (chance(0.3)) v = BigInt.asUintN(64, BigInt.asIntN(32, v)); // a sign-extended 32-bit value
    vals.push(v);
  }
  return vals.map((x) => [x]);
}

/** Single operands that are not properly NaN-boxed, with boxed partners. */
function unboxedOperands() {
  const f = F.s;
  const raw = [0x3f80_0000n, 0x0000_0000_0000_0000n, 0x7fff_ffff_3f80_0000n, 0xffff_fffe_4000_0000n,
    0x0000_0001_ff80_0000n, 0x8000_0000_7f80_0001n, 0x3ff0_0000_0000_0000n];
  const boxed = [f32Bits(1), f32Bits(-2.5), 0x7f80_0001n, 0x7fc0_0000n, 0n, 0x8000_0000n, 0x7f80_0000n].map((x) => BOX | x);
  const pairs = [];
  for (const a of raw) for (const b of [...boxed, ...raw]) { pairs.push([a, b, BOX | f32Bits(1)]); pairs.push([b, a, a]); }
  return pairs;
}

// ---- running the oracle ----------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'fp-golden-'));
const exe = join(work, 'gen-fp-golden');
execFileSync('riscv64-linux-gnu-gcc', ['-O2', '-static', '-march=rv64gc', '-o', exe, SRC], { stdio: 'inherit' });
const opIds = new Map(execFileSync('qemu-riscv64', [exe, '--list'], { encoding: 'utf8' }).trim().split('\n').map((n, i) => [n, i]));

/** Runs op on every operand tuple for every rm; returns [{result, flags}] in (rm, case) order. */
function oracle(op, rms, operands) {
  const id = opIds.get(op);
  if (id === undefined) throw new Error(`unknown op ${op}`);
  const n = rms.length * operands.length;
  const input = Buffer.alloc(32 * n);
  let o = 0;
  for (const rm of rms) {
    for (const t of operands) {
      input.writeUInt32LE(id, o); input.writeUInt32LE(rm, o + 4);
      input.writeBigUInt64LE(t[0] ?? 0n, o + 8); input.writeBigUInt64LE(t[1] ?? 0n, o + 16); input.writeBigUInt64LE(t[2] ?? 0n, o + 24);
      o += 32;
    }
  }
  const inFile = join(work, 'in.bin');
  writeFileSync(inFile, input);
  const out = execFileSync('sh', ['-c', `qemu-riscv64 ${exe} < ${inFile}`], { maxBuffer: 1 << 30 });
  if (out.length !== 16 * n) throw new Error(`${op}: oracle returned ${out.length} bytes, want ${16 * n}`);
  const res = [];
  for (let i = 0; i < n; i++) res.push({ result: out.readBigUInt64LE(16 * i), flags: out.readUInt32LE(16 * i + 8) });
  return res;
}

/** Result width in the golden file: singles 4 (checked boxed), compares and classes 2, else 8. */
function resultBytes(op) {
  if (/^f(eq|lt|le|class)\./.test(op)) return 2;
  if (/^fcvt\.s\.|^fmv\.w\.x$/.test(op) || (/\.s$/.test(op) && !/^f(mv\.x|cvt\.[wl]u?)\./.test(op) && op !== 'fcvt.d.s')) return 4;
  return 8;
}

/** Blobs are stored deflated (raw deflate, RFC 1951), then base64. */
const pack = (b) => deflateRawSync(b, { level: 9 }).toString('base64');

function encodeGroup(name, operands, opSpecs) {
  const arity = operands[0].length;
  const opBuf = Buffer.alloc(8 * arity * operands.length);
  operands.forEach((t, i) => t.forEach((x, j) => opBuf.writeBigUInt64LE(x, 8 * (arity * i + j))));
  const ops = [];
  for (const [op, rms] of opSpecs) {
    const width = resultBytes(op);
    const res = oracle(op, rms, operands);
    const rb = Buffer.alloc((width + 1) * res.length);
    res.forEach(({ result, flags }, i) => {
      const at = (width + 1) * i;
      if (width === 4) {
        if ((result & BOX) !== BOX) throw new Error(`${op}: QEMU result 0x${result.toString(16)} not NaN-boxed`);
        rb.writeUInt32LE(Number(result & 0xffff_ffffn), at);
      } else if (width === 2) {
        if (result > 0xffffn) throw new Error(`${op}: result 0x${result.toString(16)} wider than 16 bits`);
        rb.writeUInt16LE(Number(result), at);
      } else {
        rb.writeBigUInt64LE(result, at);
      }
      rb[at + width] = flags;
    });
    ops.push({ op, rms, resultBytes: width, results: pack(rb) });
  }
  return { name, arity, count: operands.length, operands: pack(opBuf), ops };
}

const ALL = RMS, ONE = [0];
function formatFile(p) {
  const f = F[p];
  const bin = binaryOperands(f, scaled(p === 'd' ? 2400 : 3500));
  const fma = fmaOperands(f, scaled(p === 'd' ? 2200 : 3500));
  const un = unaryOperands(f, scaled(p === 'd' ? 2000 : 2500));
  const other = p === 'd' ? 's' : 'd';
  const groups = [
    encodeGroup('binary', bin, [
      [`fadd.${p}`, ALL], [`fsub.${p}`, ALL], [`fmul.${p}`, ALL], [`fdiv.${p}`, ALL],
      [`fmin.${p}`, ONE], [`fmax.${p}`, ONE], [`fsgnj.${p}`, ONE], [`fsgnjn.${p}`, ONE], [`fsgnjx.${p}`, ONE],
      [`feq.${p}`, ONE], [`flt.${p}`, ONE], [`fle.${p}`, ONE],
    ]),
    encodeGroup('unary', un, [
      [`fsqrt.${p}`, ALL], [`fcvt.${other}.${p}`, ALL],
      [`fcvt.w.${p}`, ALL], [`fcvt.wu.${p}`, ALL], [`fcvt.l.${p}`, ALL], [`fcvt.lu.${p}`, ALL],
      [`fclass.${p}`, ONE], [p === 'd' ? 'fmv.x.d' : 'fmv.x.w', ONE],
    ]),
    encodeGroup('fused', fma, [
      [`fmadd.${p}`, ALL], [`fmsub.${p}`, ALL], [`fnmsub.${p}`, ALL], [`fnmadd.${p}`, ALL],
    ]),
  ];
  if (p === 's') {
    groups.push(encodeGroup('unboxed', unboxedOperands(), [
      ['fadd.s', ONE], ['fmul.s', [1]], ['fmadd.s', ONE], ['fsqrt.s', ONE], ['fsgnj.s', ONE], ['fsgnjn.s', ONE],
      ['fsgnjx.s', ONE], ['fmin.s', ONE], ['fmax.s', ONE], ['feq.s', ONE], ['flt.s', ONE], ['fle.s', ONE],
      ['fclass.s', ONE], ['fcvt.d.s', ONE], ['fcvt.w.s', ONE], ['fmv.x.w', ONE],
    ]));
  }
  return groups;
}

function intFile() {
  const ints = integerOperands(scaled(3000));
  return [encodeGroup('integer', ints, [
    ['fcvt.s.w', ALL], ['fcvt.s.wu', ALL], ['fcvt.s.l', ALL], ['fcvt.s.lu', ALL],
    ['fcvt.d.w', ALL], ['fcvt.d.wu', ALL], ['fcvt.d.l', ALL], ['fcvt.d.lu', ALL],
    ['fmv.w.x', ONE], ['fmv.d.x', ONE],
  ])];
}

try {
  const header = {
    generator: 'scripts/gen-fp-golden.mjs (oracle: scripts/gen-fp-golden.c under qemu-riscv64)',
    qemu: execFileSync('qemu-riscv64', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    format: 'blobs are raw deflate (RFC 1951) then base64; operands: count*arity little-endian u64 register values; results: for each rm in rms ' +
      'and each case, resultBytes little-endian bytes of the destination (singles: low 32 bits of a NaN-boxed ' +
      'register) followed by one byte of fflags',
  };
  mkdirSync(OUT_DIR, { recursive: true });
  let total = 0;
  for (const [file, groups] of [['fp-s.json', formatFile('s')], ['fp-d.json', formatFile('d')], ['fp-int.json', intFile()]]) {
    const text = JSON.stringify({ ...header, groups }, null, 1) + '\n';
    writeFileSync(join(OUT_DIR, file), text);
    total += text.length;
    const cases = groups.reduce((n, g) => n + g.ops.reduce((m, o) => m + o.rms.length * g.count, 0), 0);
    console.log(`${file}: ${cases} cases, ${(text.length / 1024).toFixed(0)} KiB`);
  }
  console.log(`total ${(total / 1024).toFixed(0)} KiB`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
