// IEEE 754 binary32 and binary64 arithmetic on integers, as the RISC-V F and
// D extensions define it (unprivileged spec, chapters "F" and "D").
//
// WebAssembly's own float instructions only round to nearest-even and report
// no exception flags, so every operation here is computed exactly (or with a
// "sticky" bit standing for everything below the guard bits) on integer
// significands, then rounded once by `roundPack`, which implements all five
// RISC-V rounding modes, overflow, subnormals and the flags. A few operations
// take a native-float fast path first when the native result is provably the
// correctly rounded one and its flags are known (see "Fast paths" below).
//
// Values are passed as f-register bit patterns (u64). Single-precision
// operands are NaN-boxed: an operand whose upper 32 bits are not all ones
// reads as the canonical NaN, and single-precision results come back boxed.
// The RISC-V NaN rules: every NaN an operation produces is the canonical NaN
// (payloads are never propagated); a signalling NaN operand raises NV.
//
// Exception flags accumulate in `exceptionFlags` (fflags layout: NV DZ OF UF
// NX = bits 4..0); the caller clears them before an instruction and ORs them
// into fcsr after it.

// ---- rounding modes (the frm / rm encoding) ---------------------------------
export const RM_RNE: u32 = 0; // to nearest, ties to even
export const RM_RTZ: u32 = 1; // toward zero
export const RM_RDN: u32 = 2; // down (toward -inf)
export const RM_RUP: u32 = 3; // up (toward +inf)
export const RM_RMM: u32 = 4; // to nearest, ties to max magnitude

// ---- fflags bits ------------------------------------------------------------
export const FLAG_NX: u32 = 0x01; // inexact
export const FLAG_UF: u32 = 0x02; // underflow
export const FLAG_OF: u32 = 0x04; // overflow
export const FLAG_DZ: u32 = 0x08; // divide by zero
export const FLAG_NV: u32 = 0x10; // invalid operation

let exceptionFlags: u32 = 0;

/** The flags accumulated since the last `fpClearExceptionFlags`. */
export function fpExceptionFlags(): u32 {
  return exceptionFlags;
}

export function fpClearExceptionFlags(): void {
  exceptionFlags = 0;
}

/** Fast paths on (default) or off, so tests can check both routes. */
let fastPaths: bool = true;
export function fpSetFastPaths(on: bool): void {
  fastPaths = on;
}

// ---- formats ----------------------------------------------------------------
// `d` selects the format everywhere: true = binary64 (D), false = binary32 (F).

const BOX: u64 = 0xffff_ffff_0000_0000; // upper half of a NaN-boxed single
const F64_SIGN: u64 = 0x8000_0000_0000_0000;
const F64_DEFAULT_NAN: u64 = 0x7ff8_0000_0000_0000;
const F32_DEFAULT_NAN: u32 = 0x7fc0_0000;
const F64_INF: u64 = 0x7ff0_0000_0000_0000;
const F32_INF: u32 = 0x7f80_0000;
const F64_MAX: u64 = 0x7fef_ffff_ffff_ffff;
const F32_MAX: u32 = 0x7f7f_ffff;

@inline export function box32(w: u32): u64 {
  return BOX | <u64>w;
}

/** The single in a register, or the canonical NaN if it is not NaN-boxed. */
@inline export function unbox32(x: u64): u32 {
  return (x & BOX) == BOX ? <u32>x : F32_DEFAULT_NAN;
}

@inline function defaultNaN(d: bool): u64 {
  return d ? F64_DEFAULT_NAN : box32(F32_DEFAULT_NAN);
}

@inline function infinity(sign: u32, d: bool): u64 {
  return d ? (<u64>sign << 63) | F64_INF : box32((sign << 31) | F32_INF);
}

@inline function zero(sign: u32, d: bool): u64 {
  return d ? <u64>sign << 63 : box32(sign << 31);
}

// ---- unpacking --------------------------------------------------------------
// A finite non-zero operand unpacks to (sign, exp, sig) with sig in
// [2^52, 2^53) (the leading one at bit 52, also for binary32 and for
// subnormals, which are normalised here) and value = sig * 2^(exp - 52).

const KIND_ZERO: u32 = 0;
const KIND_FINITE: u32 = 1;
const KIND_INF: u32 = 2;
const KIND_QNAN: u32 = 3;
const KIND_SNAN: u32 = 4;

// The unpacked operand (AssemblyScript has no multiple return values).
let uKind: u32 = 0;
let uSign: u32 = 0;
let uExp: i32 = 0;
let uSig: u64 = 0;

function unpack(x: u64, d: bool): void {
  if (d) {
    uSign = <u32>(x >> 63);
    const e = <i32>((x >> 52) & 0x7ff);
    const frac = x & 0x000f_ffff_ffff_ffff;
    if (e == 0x7ff) {
      uKind = frac == 0 ? KIND_INF : (frac >> 51) != 0 ? KIND_QNAN : KIND_SNAN;
    } else if (e != 0) {
      uKind = KIND_FINITE; uExp = e - 1023; uSig = frac | (<u64>1 << 52);
    } else if (frac != 0) {
      const s = <i32>clz(frac) - 11;
      uKind = KIND_FINITE; uExp = -1022 - s; uSig = frac << s;
    } else {
      uKind = KIND_ZERO;
    }
  } else {
    const w = unbox32(x);
    uSign = w >> 31;
    const e = <i32>((w >> 23) & 0xff);
    const frac = w & 0x7f_ffff;
    if (e == 0xff) {
      uKind = frac == 0 ? KIND_INF : (frac >> 22) != 0 ? KIND_QNAN : KIND_SNAN;
    } else if (e != 0) {
      uKind = KIND_FINITE; uExp = e - 127; uSig = <u64>(frac | 0x80_0000) << 29;
    } else if (frac != 0) {
      const s = <i32>clz(frac) - 8;
      uKind = KIND_FINITE; uExp = -126 - s; uSig = <u64>(frac << s) << 29;
    } else {
      uKind = KIND_ZERO;
    }
  }
}

@inline function isNaNKind(k: u32): bool {
  return k >= KIND_QNAN;
}

// ---- 64- and 128-bit helpers ------------------------------------------------

/** x >> n, with every bit shifted out ORed into bit 0 ("jamming"), so the
 *  result is inexact exactly when x had bits below the cut. */
@inline function shiftRightJam64(x: u64, n: i32): u64 {
  if (n <= 0) return x;
  if (n >= 64) return x != 0 ? 1 : 0;
  return (x >> <u64>n) | ((x << <u64>(64 - n)) != 0 ? 1 : 0);
}

// A 128-bit result as two halves.
let hi128: u64 = 0;
let lo128: u64 = 0;

/** hi128:lo128 = a * b (full 128-bit product of two u64). */
function mul64To128(a: u64, b: u64): void {
  const a0 = a & 0xffff_ffff, a1 = a >> 32;
  const b0 = b & 0xffff_ffff, b1 = b >> 32;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >> 32) + (p01 & 0xffff_ffff) + (p10 & 0xffff_ffff);
  lo128 = (mid << 32) | (p00 & 0xffff_ffff);
  hi128 = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/** hi128:lo128 = (hi:lo) >> n with jamming, for any n >= 0. */
function shiftRightJam128(hi: u64, lo: u64, n: i32): void {
  if (n <= 0) {
    hi128 = hi; lo128 = lo;
  } else if (n < 64) {
    const k = <u64>n;
    const sticky: u64 = (lo << (64 - k)) != 0 ? 1 : 0;
    lo128 = (hi << (64 - k)) | (lo >> k) | sticky;
    hi128 = hi >> k;
  } else if (n == 64) {
    lo128 = hi | (lo != 0 ? 1 : 0);
    hi128 = 0;
  } else if (n < 128) {
    const k = <u64>(n - 64);
    lo128 = (hi >> k) | (((hi << (64 - k)) | lo) != 0 ? 1 : 0);
    hi128 = 0;
  } else {
    lo128 = (hi | lo) != 0 ? 1 : 0;
    hi128 = 0;
  }
}

/** hi128:lo128 = (hi:lo) << n, 0 <= n < 128 (bits shifted out are lost). */
function shiftLeft128(hi: u64, lo: u64, n: i32): void {
  if (n == 0) {
    hi128 = hi; lo128 = lo;
  } else if (n < 64) {
    const k = <u64>n;
    hi128 = (hi << k) | (lo >> (64 - k));
    lo128 = lo << k;
  } else {
    hi128 = lo << <u64>(n - 64);
    lo128 = 0;
  }
}

// ---- rounding ---------------------------------------------------------------

/** Whether to add one unit to a truncated magnitude `q` whose discarded
 *  bits are `rest`, where `half` is the weight of half a unit. */
@inline function roundUp(sign: u32, q: u64, rest: u64, half: u64, rm: u32): bool {
  switch (rm) {
    case RM_RNE: return rest > half || (rest == half && (q & 1) != 0);
    case RM_RTZ: return false;
    case RM_RDN: return sign != 0 && rest != 0;
    case RM_RUP: return sign == 0 && rest != 0;
    default: return rest >= half; // RM_RMM
  }
}

/** The result of an overflow: infinity, or the largest finite number when
 *  the rounding mode rounds toward zero for this sign (IEEE 754 7.4). */
function overflow(sign: u32, d: bool, rm: u32): u64 {
  exceptionFlags |= FLAG_OF | FLAG_NX;
  const toMax = rm == RM_RTZ || (rm == RM_RDN && sign == 0) || (rm == RM_RUP && sign != 0);
  if (d) return (<u64>sign << 63) | (toMax ? F64_MAX : F64_INF);
  return box32((sign << 31) | (toMax ? F32_MAX : F32_INF));
}

/**
 * Rounds the exact value sig * 2^(exp - 62) to the format and packs it.
 * `sig` has its leading one at bit 62; bit 0 may be a sticky bit standing
 * for any non-zero bits below it. This is the only place results are
 * rounded, so it owns NX, UF and OF.
 *
 * Underflow follows RISC-V (and IEEE 754's "after rounding" option): the
 * result is tiny when the value rounded to the format's precision with an
 * unbounded exponent range is below the smallest normal; UF is raised when a
 * tiny result is also inexact.
 */
function roundPack(sign: u32, exp: i32, sig: u64, d: bool, rm: u32): u64 {
  const p: i32 = d ? 53 : 24;
  const emin: i32 = d ? -1022 : -126;
  const emax: i32 = d ? 1023 : 127;
  const cut = <u64>(63 - p); // bits below the kept p bits: 10 (D) or 39 (F)
  const restMask: u64 = (<u64>1 << cut) - 1;
  const half: u64 = <u64>1 << (cut - 1);

  if (exp < emin) {
    // Tiny unless it sits just below 2^emin and rounding it to p bits
    // (unbounded exponent) would carry up to 2^emin.
    const allOnes: u64 = (<u64>1 << <u64>p) - 1;
    const tiny = !(exp == emin - 1 && (sig >> cut) == allOnes &&
      roundUp(sign, allOnes, sig & restMask, half, rm));
    sig = shiftRightJam64(sig, emin - exp);
    const rest = sig & restMask;
    let q = sig >> cut;
    if (roundUp(sign, q, rest, half, rm)) q++;
    if (rest != 0) exceptionFlags |= tiny ? FLAG_UF | FLAG_NX : FLAG_NX;
    // q < 2^(p-1) is a subnormal (exponent field 0); q == 2^(p-1) carries
    // into the exponent field, giving the smallest normal: the plain
    // concatenation encodes both.
    return d ? (<u64>sign << 63) | q : box32((sign << 31) | <u32>q);
  }

  const rest = sig & restMask;
  let q = sig >> cut;
  if (roundUp(sign, q, rest, half, rm)) {
    q++;
    if (q == <u64>1 << <u64>p) { q >>= 1; exp++; }
  }
  if (exp > emax) return overflow(sign, d, rm);
  if (rest != 0) exceptionFlags |= FLAG_NX;
  const fracMask: u64 = (<u64>1 << <u64>(p - 1)) - 1;
  if (d) return (<u64>sign << 63) | (<u64>(exp + 1023) << 52) | (q & fracMask);
  return box32((sign << 31) | (<u32>(exp + 127) << 23) | <u32>(q & fracMask));
}

/** Rounds an unpacked finite operand (leading one at bit 52) to the
 *  format: exact when it came from the same or a narrower format. */
@inline function repack(sign: u32, exp: i32, sig52: u64, d: bool, rm: u32): u64 {
  return roundPack(sign, exp, sig52 << 10, d, rm);
}

/** NaN operands: NV if any is signalling; the result is the canonical NaN. */
@inline function nanResult(k1: u32, k2: u32, d: bool): u64 {
  if (k1 == KIND_SNAN || k2 == KIND_SNAN) exceptionFlags |= FLAG_NV;
  return defaultNaN(d);
}

@inline function invalid(d: bool): u64 {
  exceptionFlags |= FLAG_NV;
  return defaultNaN(d);
}

// ---- addition and subtraction -----------------------------------------------

function add(a: u64, b: u64, subtract: bool, d: bool, rm: u32): u64 {
  unpack(a, d);
  let ak = uKind, as = uSign, ae = uExp, asig = uSig;
  unpack(b, d);
  let bk = uKind, bs = uSign ^ <u32>subtract, be = uExp, bsig = uSig;

  if (isNaNKind(ak) || isNaNKind(bk)) return nanResult(ak, bk, d);
  if (ak == KIND_INF) {
    if (bk == KIND_INF && as != bs) return invalid(d); // inf - inf
    return infinity(as, d);
  }
  if (bk == KIND_INF) return infinity(bs, d);
  if (ak == KIND_ZERO) {
    // An exact zero sum of opposite signs is +0, except -0 when rounding down.
    if (bk == KIND_ZERO) return zero(as == bs ? as : <u32>(rm == RM_RDN), d);
    return repack(bs, be, bsig, d, rm);
  }
  if (bk == KIND_ZERO) return repack(as, ae, asig, d, rm);

  // Order by magnitude so that a is the larger.
  if (ae < be || (ae == be && asig < bsig)) {
    let t: u64 = asig; asig = bsig; bsig = t;
    let e: i32 = ae; ae = be; be = e;
    let s: u32 = as; as = bs; bs = s;
  }
  // Leading ones at bit 62: 10 guard bits below binary64's last bit.
  let sig = asig << 10;
  const other = shiftRightJam64(bsig << 10, ae - be);
  let exp = ae;
  if (as == bs) {
    sig += other;
    if ((sig >> 63) != 0) { sig = (sig >> 1) | (sig & 1); exp++; }
  } else {
    sig -= other;
    if (sig == 0) return zero(<u32>(rm == RM_RDN), d);
    const shift = <i32>clz(sig) - 1;
    sig <<= <u64>shift;
    exp -= shift;
  }
  return roundPack(as, exp, sig, d, rm);
}

// ---- multiplication ---------------------------------------------------------

function mul(a: u64, b: u64, d: bool, rm: u32): u64 {
  unpack(a, d);
  const ak = uKind, as = uSign, ae = uExp, asig = uSig;
  unpack(b, d);
  const bk = uKind, bs = uSign, be = uExp, bsig = uSig;
  const sign = as ^ bs;

  if (isNaNKind(ak) || isNaNKind(bk)) return nanResult(ak, bk, d);
  if (ak == KIND_INF || bk == KIND_INF) {
    if (ak == KIND_ZERO || bk == KIND_ZERO) return invalid(d); // inf * 0
    return infinity(sign, d);
  }
  if (ak == KIND_ZERO || bk == KIND_ZERO) return zero(sign, d);

  // The product of two [2^52, 2^53) significands lies in [2^104, 2^106).
  mul64To128(asig, bsig);
  let exp = ae + be;
  let shift = 42;
  if ((hi128 >> 41) != 0) { exp++; shift = 43; }
  shiftRightJam128(hi128, lo128, shift);
  return roundPack(sign, exp, lo128, d, rm);
}

// ---- division ---------------------------------------------------------------

function div(a: u64, b: u64, d: bool, rm: u32): u64 {
  unpack(a, d);
  const ak = uKind, as = uSign, ae = uExp, asig = uSig;
  unpack(b, d);
  const bk = uKind, bs = uSign, be = uExp, bsig = uSig;
  const sign = as ^ bs;

  if (isNaNKind(ak) || isNaNKind(bk)) return nanResult(ak, bk, d);
  if (ak == KIND_INF) {
    if (bk == KIND_INF) return invalid(d); // inf / inf
    return infinity(sign, d);
  }
  if (bk == KIND_INF) return zero(sign, d);
  if (bk == KIND_ZERO) {
    if (ak == KIND_ZERO) return invalid(d); // 0 / 0
    exceptionFlags |= FLAG_DZ;
    return infinity(sign, d);
  }
  if (ak == KIND_ZERO) return zero(sign, d);

  // Long division, 11 quotient bits per step: the remainder stays below the
  // divisor (< 2^53), so remainder << 11 fits in 64 bits.
  let x = asig;
  let exp = ae - be;
  if (x < bsig) { x <<= 1; exp--; } // now 1 <= x / bsig < 2
  let q: u64 = 1;
  let r = x - bsig;
  for (let i = 0; i < 5; i++) {
    r <<= 11;
    q = (q << 11) | (r / bsig);
    r = r % bsig;
  }
  // q has 56 bits (leading one at bit 55); the remainder is the sticky bit.
  return roundPack(sign, exp, (q << 7) | (r != 0 ? 1 : 0), d, rm);
}

// ---- square root ------------------------------------------------------------

function sqrt(a: u64, d: bool, rm: u32): u64 {
  unpack(a, d);
  const ak = uKind, as = uSign;
  let e = uExp, m = uSig;

  if (isNaNKind(ak)) return nanResult(ak, ak, d);
  if (ak == KIND_ZERO) return zero(as, d); // sqrt(-0) = -0
  if (as != 0) return invalid(d); // negative, including -inf
  if (ak == KIND_INF) return infinity(0, d);

  // Make the exponent even: value = m * 2^(e - 52), m in [2^52, 2^54).
  if ((e & 1) != 0) { m <<= 1; e--; }
  // Integer square root of R = m * 2^68 (< 2^122), digit by digit (two
  // radicand bits per result bit). root ends in [2^60, 2^61) and
  // value^(1/2) = root * 2^(e/2 - 60); the remainder is the sticky bit.
  // R's top 64 bits are m << 4 and its low 64 bits are zero.
  const top = m << 4;
  let root: u64 = 0;
  let rem: u64 = 0;
  for (let i = 28; i >= 0; i--) {
    rem = (rem << 2) | ((top >> <u64>(i << 1)) & 3);
    const t = (root << 2) | 1;
    root <<= 1;
    if (rem >= t) { rem -= t; root |= 1; }
  }
  for (let i = 0; i < 32; i++) {
    rem <<= 2;
    const t = (root << 2) | 1;
    root <<= 1;
    if (rem >= t) { rem -= t; root |= 1; }
  }
  return roundPack(0, e >> 1, (root << 2) | (rem != 0 ? 1 : 0), d, rm);
}

// ---- fused multiply-add -----------------------------------------------------

/** (a * b) + c with one rounding; `negProduct` and `negAddend` flip the
 *  signs of a*b and c first (FMSUB, FNMSUB, FNMADD). */
function fma(a: u64, b: u64, c: u64, negProduct: bool, negAddend: bool, d: bool, rm: u32): u64 {
  unpack(a, d);
  const ak = uKind, ae = uExp, asig = uSig;
  let ps = uSign;
  unpack(b, d);
  const bk = uKind, be = uExp, bsig = uSig;
  ps ^= uSign ^ <u32>negProduct;
  unpack(c, d);
  const ck = uKind, ce = uExp, csig = uSig, cs = uSign ^ <u32>negAddend;

  const infTimesZero = (ak == KIND_INF && bk == KIND_ZERO) || (ak == KIND_ZERO && bk == KIND_INF);
  if (isNaNKind(ak) || isNaNKind(bk) || isNaNKind(ck)) {
    // The spec: inf * 0 raises NV even when the addend is a quiet NaN.
    if (ak == KIND_SNAN || bk == KIND_SNAN || ck == KIND_SNAN || infTimesZero) exceptionFlags |= FLAG_NV;
    return defaultNaN(d);
  }
  if (infTimesZero) return invalid(d);
  if (ak == KIND_INF || bk == KIND_INF) {
    if (ck == KIND_INF && cs != ps) return invalid(d); // inf - inf
    return infinity(ps, d);
  }
  if (ck == KIND_INF) return infinity(cs, d);
  if (ak == KIND_ZERO || bk == KIND_ZERO) {
    if (ck == KIND_ZERO) return zero(ps == cs ? ps : <u32>(rm == RM_RDN), d);
    return repack(cs, ce, csig, d, rm);
  }

  // The exact product, normalised so its leading one is at bit 125:
  // value = P * 2^(pe - 125).
  mul64To128(asig, bsig);
  let pe = ae + be;
  if ((hi128 >> 41) != 0) { pe++; shiftLeft128(hi128, lo128, 20); }
  else shiftLeft128(hi128, lo128, 21);
  let phi = hi128, plo = lo128;

  if (ck == KIND_ZERO) {
    // x + 0 = x (the product is non-zero, so the zero's sign is irrelevant).
    shiftRightJam128(phi, plo, 63);
    return roundPack(ps, pe, lo128, d, rm);
  }

  // The addend with its leading one at bit 125 too: value = C * 2^(ce - 125).
  let chi = csig << 9, clo: u64 = 0;

  // Align the smaller magnitude to the larger one's exponent.
  let exp: i32, sign: u32, xhi: u64, xlo: u64, yhi: u64, ylo: u64;
  if (pe > ce || (pe == ce && (phi > chi || (phi == chi && plo >= clo)))) {
    shiftRightJam128(chi, clo, pe - ce);
    exp = pe; sign = ps; xhi = phi; xlo = plo; yhi = hi128; ylo = lo128;
  } else {
    shiftRightJam128(phi, plo, ce - pe);
    exp = ce; sign = cs; xhi = chi; xlo = clo; yhi = hi128; ylo = lo128;
  }
  let shi: u64, slo: u64;
  if (ps == cs) {
    slo = xlo + ylo;
    shi = xhi + yhi + (slo < xlo ? 1 : 0);
  } else {
    slo = xlo - ylo;
    shi = xhi - yhi - (xlo < ylo ? 1 : 0);
    if ((shi | slo) == 0) return zero(<u32>(rm == RM_RDN), d); // exact cancellation
  }
  // Normalise the sum's leading one to bit 126, then keep the top 64 bits
  // (leading one at 62) with the rest as the sticky bit.
  const lz = shi != 0 ? <i32>clz(shi) : 64 + <i32>clz(slo);
  const k = lz - 1; // left shift taking the leading one to bit 126 (k >= 0: sum < 2^127)
  shiftLeft128(shi, slo, k);
  const sig = hi128 | (lo128 != 0 ? 1 : 0);
  return roundPack(sign, exp + 1 - k, sig, d, rm);
}

// ---- conversions between formats --------------------------------------------

/** FCVT.S.D and FCVT.D.S: `toD` is the destination format. */
function convertFormat(a: u64, toD: bool, rm: u32): u64 {
  const fromD = !toD;
  unpack(a, fromD);
  const k = uKind, s = uSign;
  if (isNaNKind(k)) return nanResult(k, k, toD);
  if (k == KIND_INF) return infinity(s, toD);
  if (k == KIND_ZERO) return zero(s, toD);
  return repack(s, uExp, uSig, toD, rm);
}

// ---- conversions from integers ----------------------------------------------

/** A magnitude and sign to the format: exact when it fits, else rounded. */
function fromInteger(mag: u64, negative: bool, d: bool, rm: u32): u64 {
  if (mag == 0) return zero(0, d);
  const lz = <i32>clz(mag);
  const sign = <u32>negative;
  if (lz == 0) return roundPack(sign, 63, (mag >> 1) | (mag & 1), d, rm);
  return roundPack(sign, 63 - lz, mag << <u64>(lz - 1), d, rm);
}

// ---- conversions to integers ------------------------------------------------

// Integer destinations of FCVT.{W,WU,L,LU}.{S,D}: the rs2 field's value.
export const INT_W: u32 = 0;
export const INT_WU: u32 = 1;
export const INT_L: u32 = 2;
export const INT_LU: u32 = 3;

/**
 * Rounds to an integer of the given kind. Out-of-range values, infinities
 * and NaNs raise NV (never NX) and saturate as the spec's table for FCVT
 * says: NaN and too large positive values give the largest integer, too
 * large negative values give the smallest (0 for the unsigned kinds). The
 * 32-bit kinds return their result sign-extended to 64 bits (also WU).
 */
function toInteger(a: u64, d: bool, rm: u32, kind: u32): u64 {
  unpack(a, d);
  const k = uKind, sign = uSign, exp = uExp, sig = uSig;
  const unsigned = (kind & 1) != 0;
  const wide = kind >= INT_L;
  // Largest magnitudes per sign: signed 2^31 / 2^63 below zero and
  // 2^31-1 / 2^63-1 above; unsigned 0 below and 2^32-1 / 2^64-1 above.
  const maxPos: u64 = wide ? (unsigned ? 0xffff_ffff_ffff_ffff : 0x7fff_ffff_ffff_ffff)
                           : (unsigned ? 0xffff_ffff : 0x7fff_ffff);
  const maxNeg: u64 = unsigned ? 0 : wide ? 0x8000_0000_0000_0000 : 0x8000_0000;

  let mag: u64 = 0;
  let inexact = false;
  let outOfRange = false;
  if (isNaNKind(k)) {
    exceptionFlags |= FLAG_NV;
    return sext(maxPos, wide);
  } else if (k == KIND_INF) {
    outOfRange = true;
  } else if (k == KIND_FINITE) {
    if (exp >= 64) {
      outOfRange = true;
    } else if (exp >= 52) {
      mag = sig << <u64>(exp - 52); // an integer already
    } else {
      // Split sig at the binary point: q integer part, rest the fraction
      // in units where `half` is one half.
      let q: u64, rest: u64, half: u64;
      if (exp >= -1) {
        const n = <u64>(52 - exp); // 1..53
        q = sig >> n;
        rest = sig & ((<u64>1 << n) - 1);
        half = <u64>1 << (n - 1);
      } else {
        // Below one half: all that matters is "non-zero, less than half".
        q = 0; rest = 1; half = 2;
      }
      inexact = rest != 0;
      if (roundUp(sign, q, rest, half, rm)) q++;
      mag = q;
    }
    if (!outOfRange) outOfRange = sign != 0 ? mag > maxNeg : mag > maxPos;
  }
  if (outOfRange) {
    exceptionFlags |= FLAG_NV;
    return sext(sign != 0 ? 0 - maxNeg : maxPos, wide);
  }
  if (inexact) exceptionFlags |= FLAG_NX;
  return sext(sign != 0 ? 0 - mag : mag, wide);
}

/** 32-bit results live sign-extended in 64-bit registers. */
@inline function sext(v: u64, wide: bool): u64 {
  return wide ? v : <u64><i64><i32><u32>v;
}

// ---- comparisons, min/max, classification -----------------------------------

/** A signed integer that orders non-NaN values as the reals do (-0 == +0). */
@inline function orderKey(x: u64, d: bool): i64 {
  if (d) {
    const m = <i64>(x & 0x7fff_ffff_ffff_ffff);
    return (x >> 63) != 0 ? -m : m;
  }
  const w = <u32>x;
  const m = <i64>(w & 0x7fff_ffff);
  return (w >> 31) != 0 ? -m : m;
}

const CMP_LE: u32 = 0; // the funct3 values of FLE, FLT, FEQ
const CMP_LT: u32 = 1;
const CMP_EQ: u32 = 2;

/** FEQ, FLT, FLE: 1 or 0. FEQ is a quiet comparison (NV only for a
 *  signalling NaN); FLT and FLE are signalling (NV for any NaN). */
function compare(a: u64, b: u64, d: bool, op: u32): u64 {
  unpack(a, d);
  const ak = uKind;
  unpack(b, d);
  const bk = uKind;
  if (isNaNKind(ak) || isNaNKind(bk)) {
    if (op != CMP_EQ || ak == KIND_SNAN || bk == KIND_SNAN) exceptionFlags |= FLAG_NV;
    return 0;
  }
  const x = orderKey(a, d), y = orderKey(b, d);
  if (op == CMP_EQ) return x == y ? 1 : 0;
  if (op == CMP_LT) return x < y ? 1 : 0;
  return x <= y ? 1 : 0;
}

/** FMIN and FMAX (IEEE 754-2019 minimumNumber / maximumNumber): a NaN
 *  operand is ignored in favour of the other; two NaNs give the canonical
 *  NaN; a signalling NaN raises NV; -0 is less than +0. */
function minMax(a: u64, b: u64, d: bool, max: bool): u64 {
  unpack(a, d);
  const ak = uKind, as = uSign;
  unpack(b, d);
  const bk = uKind;
  if (ak == KIND_SNAN || bk == KIND_SNAN) exceptionFlags |= FLAG_NV;
  if (isNaNKind(ak)) return isNaNKind(bk) ? defaultNaN(d) : b;
  if (isNaNKind(bk)) return a;
  const x = orderKey(a, d), y = orderKey(b, d);
  // Equal keys with different bits are -0 and +0: pick by sign.
  const aFirst = x < y || (x == y && as != 0); // a is the minimum
  return aFirst != max ? a : b;
}

/** FCLASS: one bit of ten (the spec's table): 0 -inf, 1 negative normal,
 *  2 negative subnormal, 3 -0, 4 +0, 5 positive subnormal, 6 positive
 *  normal, 7 +inf, 8 signalling NaN, 9 quiet NaN. */
function classify(x: u64, d: bool): u64 {
  let sign: u32, expAllOnes: bool, expZero: bool, fracZero: bool, quiet: bool;
  if (d) {
    const e = <u32>(x >> 52) & 0x7ff;
    const frac = x & 0x000f_ffff_ffff_ffff;
    sign = <u32>(x >> 63); expAllOnes = e == 0x7ff; expZero = e == 0;
    fracZero = frac == 0; quiet = (frac >> 51) != 0;
  } else {
    const w = unbox32(x);
    const e = (w >> 23) & 0xff;
    const frac = w & 0x7f_ffff;
    sign = w >> 31; expAllOnes = e == 0xff; expZero = e == 0;
    fracZero = frac == 0; quiet = (frac >> 22) != 0;
  }
  let bit: u32;
  if (expAllOnes) bit = fracZero ? (sign ? 0 : 7) : (quiet ? 9 : 8);
  else if (expZero) bit = fracZero ? (sign ? 3 : 4) : (sign ? 2 : 5);
  else bit = sign ? 1 : 6;
  return <u64>1 << <u64>bit;
}

/** FSGNJ, FSGNJN, FSGNJX (funct3 0, 1, 2): rs1's magnitude with a sign
 *  taken from rs2. Single operands that are not NaN-boxed read as the
 *  canonical NaN. No flags. */
function signInject(a: u64, b: u64, d: bool, op: u32): u64 {
  if (d) {
    const s = op == 0 ? b : op == 1 ? ~b : a ^ b;
    return (a & ~F64_SIGN) | (s & F64_SIGN);
  }
  const x = unbox32(a), y = unbox32(b);
  const s = op == 0 ? y : op == 1 ? ~y : x ^ y;
  return box32((x & 0x7fff_ffff) | (s & 0x8000_0000));
}

// ---- fast paths -------------------------------------------------------------
// Native binary64 operations round to nearest-even. Where the native result
// is that correctly rounded value and the flags can be derived exactly from
// error-free transformations, RNE operations use it. Anything near overflow,
// underflow or a special value falls back to the integer routines above.

/** Exponent field of a binary64 (0..2047). */
@inline function expField(x: u64): u32 {
  return <u32>(x >> 52) & 0x7ff;
}

/** True when |x| is normal and comfortably away from both ends of the
 *  exponent range (2^-900 <= |x| < 2^900), so that products, quotients and
 *  the TwoProduct splitting below cannot overflow or lose bits to underflow. */
@inline function moderate(x: u64): bool {
  return expField(x) - 123 < 1800; // biased exponent in [123, 1922]: 2^-900 <= |x| < 2^900
}

/** Error-free TwoSum (Knuth): a + b = s + err exactly, for finite a, b
 *  whose sum does not overflow. Returns err. */
@inline function twoSumError(a: f64, b: f64, s: f64): f64 {
  const bb = s - a;
  return (a - (s - bb)) + (b - bb);
}

/** Error-free product (Dekker/Veltkamp splitting): a * b = p + err exactly
 *  when no intermediate leaves the normal range. Returns err. */
@inline function twoProductError(a: f64, b: f64, p: f64): f64 {
  const SPLIT: f64 = 134217729.0; // 2^27 + 1
  let t = SPLIT * a;
  const ahi = t - (t - a), alo = a - ahi;
  t = SPLIT * b;
  const bhi = t - (t - b), blo = b - bhi;
  return ((ahi * bhi - p) + ahi * blo + alo * bhi) + alo * blo;
}

/** binary64 a + b in RNE, with NX from TwoSum. Returns true and sets
 *  `fastResult` on success. Both operands are multiples of 2^-1074, so a
 *  sum below the smallest normal is exact: addition never raises UF, and
 *  only overflow has to be kept away. */
let fastResult: u64 = 0;
@inline function fastAddF64(a: u64, b: u64): bool {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  const s = x + y;
  const rs = reinterpret<u64>(s);
  // Both operands and the sum well inside the finite range (the sum's
  // exponent may be small: cancellation is exact).
  if (expField(a) >= 0x7fe || expField(b) >= 0x7fe || expField(rs) >= 0x7fe) return false;
  const err = twoSumError(x, y, s);
  if (err != 0) exceptionFlags |= FLAG_NX;
  fastResult = rs;
  return true;
}

@inline function fastMulF64(a: u64, b: u64): bool {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  const p = x * y;
  const rp = reinterpret<u64>(p);
  if (!moderate(a) || !moderate(b) || !moderate(rp)) return false;
  if (twoProductError(x, y, p) != 0) exceptionFlags |= FLAG_NX;
  fastResult = rp;
  return true;
}

@inline function fastDivF64(a: u64, b: u64): bool {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  const q = x / y;
  const rq = reinterpret<u64>(q);
  if (!moderate(a) || !moderate(b) || !moderate(rq)) return false;
  // The remainder x - q*y of a correctly rounded quotient is exactly
  // representable; with p + e = q*y exact, (x - p) is exact (Sterbenz:
  // p is within a factor 2 of x) and so is (x - p) - e.
  const p = q * y;
  const e = twoProductError(q, y, p);
  if ((x - p) - e != 0) exceptionFlags |= FLAG_NX;
  fastResult = rq;
  return true;
}

/** binary64 sqrt in RNE. A square root is never exactly halfway between
 *  two binary64 numbers, so the native (RNE) result is inexact exactly when
 *  s*s != x, which the TwoProduct residual decides. */
@inline function fastSqrtF64(a: u64): bool {
  if (!moderate(a) || (a >> 63) != 0) return false;
  const x = reinterpret<f64>(a);
  const s = Math.sqrt(x);
  const p = s * s;
  if (p != x || twoProductError(s, s, p) != 0) exceptionFlags |= FLAG_NX;
  fastResult = reinterpret<u64>(s);
  return true;
}

/** binary32 results of +, -, *, / and sqrt computed in binary64 and then
 *  rounded to binary32 are correctly rounded (double rounding is innocuous
 *  for these operations since 53 >= 2*24 + 2). The binary64 intermediate is
 *  exact for products and, when TwoSum says so, for sums; quotients and
 *  roots are decided by a residual. This helper rounds an intermediate that
 *  is known to be exact or known to be inexact (`wideInexact`) to binary32
 *  when the result is a normal number not at the edges of the range. */
@inline function fastNarrow(r: f64, wideInexact: bool): bool {
  const n = <f32>r;
  const bits = reinterpret<u32>(n);
  const e = (bits >> 23) & 0xff;
  if (e < 2 || e > 253) return false; // subnormal, near underflow or overflow
  if (wideInexact || <f64>n != r) exceptionFlags |= FLAG_NX;
  fastResult = box32(bits);
  return true;
}

@inline function isBoxedOrdinary32(x: u64): bool {
  // Boxed, and not NaN or infinity (exponent field below 255).
  return (x & BOX) == BOX && ((<u32>x >> 23) & 0xff) != 0xff;
}

/** binary32 fused multiply-add in RNE through binary64. The product of two
 *  binary32 values is exact in binary64, and TwoSum gives the binary64 sum
 *  s of product and addend with its rounding error. Rounding s to binary32
 *  then gives the correctly rounded exact sum, except when s lies exactly
 *  halfway between two binary32 neighbours while the error is non-zero (the
 *  error then decides the direction): that case takes the slow path. */
@inline function fastFma32(a: u64, b: u64, c: u64, negProduct: bool, negAddend: bool): bool {
  if (!isBoxedOrdinary32(a) || !isBoxedOrdinary32(b) || !isBoxedOrdinary32(c)) return false;
  let p = <f64>reinterpret<f32>(<u32>a) * <f64>reinterpret<f32>(<u32>b);
  let z = <f64>reinterpret<f32>(<u32>c);
  if (negProduct) p = -p;
  if (negAddend) z = -z;
  const s = p + z;
  const inexact = twoSumError(p, z, s) != 0;
  // A binary32 halfway point has exactly 1 << 28 in the 29 binary64
  // significand bits below binary32's last bit.
  if (inexact && (reinterpret<u64>(s) & 0x1fff_ffff) == 0x1000_0000) return false;
  return fastNarrow(s, inexact);
}

// ---- hardfloat: when fflags.NX is already set ------------------------------
// The fast paths above work out NX themselves (error-free transformations).
// Most programs set NX with their first inexact operation and never clear
// it; from then on a caller that sees NX set and RNE only has to know that
// no other flag can arise, which the native result itself tells. The same
// rules as the translator's (src/cpu/jit/translate.ts, nativeFloat), where
// the reasoning is spelled out: add/sub, sqrt: a finite result; mul/div: a
// finite result of at least 2^(emin+1) (no OF, NV, DZ, and not tiny, so no
// UF). WebAssembly's arithmetic is IEEE 754 roundTiesToEven (core spec,
// "Floating-Point Operations").

/** The native result when hardArith returns true. */
export let hardResult: u64 = 0;

/** FADD, FSUB, FMUL, FDIV, FSQRT (`op` = funct5: 0, 1, 2, 3, 11) in
 *  binary64 (`d`) or binary32, for a caller that has checked fflags.NX is
 *  set and the rounding mode is RNE: true, with `hardResult`, when the
 *  native result is the RISC-V result and raises no flag but NX. */
export function hardArith(op: u32, d: bool, a: u64, b: u64): bool {
  if (!fastPaths) return false;
  if (d) {
    const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
    let r: f64;
    switch (op) {
      case 0: r = x + y; break;
      case 1: r = x - y; break;
      case 2: r = x * y; break;
      case 3: r = x / y; break;
      default: r = Math.sqrt(x);
    }
    const m = Math.abs(r);
    if (!(m < Infinity)) return false;
    if ((op == 2 || op == 3) && !(m >= 4.450147717014403e-308)) return false; // 2^-1021
    hardResult = reinterpret<u64>(r);
    return true;
  }
  // Singles must be NaN-boxed (else they read as the canonical NaN).
  if (((op == 11 ? a : a & b) & BOX) != BOX) return false;
  const x = reinterpret<f32>(<u32>a), y = reinterpret<f32>(<u32>b);
  let r: f32;
  switch (op) {
    case 0: r = x + y; break;
    case 1: r = x - y; break;
    case 2: r = x * y; break;
    case 3: r = x / y; break;
    default: r = Mathf.sqrt(x);
  }
  const m = Mathf.abs(r);
  if (!(m < Infinity)) return false;
  if ((op == 2 || op == 3) && !(m >= <f32>2.3509887e-38)) return false; // 2^-125
  hardResult = box32(reinterpret<u32>(r));
  return true;
}

// ---- public entry points ----------------------------------------------------
// One function per instruction, on f-register bit patterns; `rm` is a
// resolved rounding mode (0..4). Exported for unit tests against the golden
// files; execFloat (assembly/fp.ts) calls them.

export function f64Add(a: u64, b: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && fastAddF64(a, b)) return fastResult;
  return add(a, b, false, true, rm);
}
export function f64Sub(a: u64, b: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && fastAddF64(a, b ^ F64_SIGN)) return fastResult;
  return add(a, b, true, true, rm);
}
export function f64Mul(a: u64, b: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && fastMulF64(a, b)) return fastResult;
  return mul(a, b, true, rm);
}
export function f64Div(a: u64, b: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && fastDivF64(a, b)) return fastResult;
  return div(a, b, true, rm);
}
export function f64Sqrt(a: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && fastSqrtF64(a)) return fastResult;
  return sqrt(a, true, rm);
}
export function f64MulAdd(a: u64, b: u64, c: u64, rm: u32): u64 { return fma(a, b, c, false, false, true, rm); }
export function f64MulSub(a: u64, b: u64, c: u64, rm: u32): u64 { return fma(a, b, c, false, true, true, rm); }
export function f64NegMulSub(a: u64, b: u64, c: u64, rm: u32): u64 { return fma(a, b, c, true, false, true, rm); }
export function f64NegMulAdd(a: u64, b: u64, c: u64, rm: u32): u64 { return fma(a, b, c, true, true, true, rm); }

export function f32Add(a: u64, b: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && isBoxedOrdinary32(a) && isBoxedOrdinary32(b)) {
    const x = <f64>reinterpret<f32>(<u32>a), y = <f64>reinterpret<f32>(<u32>b);
    const s = x + y;
    if (s != 0 && fastNarrow(s, twoSumError(x, y, s) != 0)) return fastResult;
  }
  return add(a, b, false, false, rm);
}
export function f32Sub(a: u64, b: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && isBoxedOrdinary32(a) && isBoxedOrdinary32(b)) {
    const x = <f64>reinterpret<f32>(<u32>a), y = -<f64>reinterpret<f32>(<u32>b);
    const s = x + y;
    if (s != 0 && fastNarrow(s, twoSumError(x, y, s) != 0)) return fastResult;
  }
  return add(a, b, true, false, rm);
}
export function f32Mul(a: u64, b: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && isBoxedOrdinary32(a) && isBoxedOrdinary32(b)) {
    // A product of two 24-bit significands is exact in binary64.
    const p = <f64>reinterpret<f32>(<u32>a) * <f64>reinterpret<f32>(<u32>b);
    if (p != 0 && fastNarrow(p, false)) return fastResult;
  }
  return mul(a, b, false, rm);
}
export function f32Div(a: u64, b: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && isBoxedOrdinary32(a) && isBoxedOrdinary32(b)) {
    const x = <f64>reinterpret<f32>(<u32>a), y = <f64>reinterpret<f32>(<u32>b);
    if (x != 0 && y != 0) {
      const q = x / y;
      // q is exact when x == q*y. TwoProduct gives q*y = p + e exactly, and
      // p = RN(q*y) differs from x whenever q*y does.
      const p = q * y;
      const inexact = p != x || twoProductError(q, y, p) != 0;
      if (fastNarrow(q, inexact)) return fastResult;
    }
  }
  return div(a, b, false, rm);
}
export function f32Sqrt(a: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && isBoxedOrdinary32(a) && (<u32>a >> 31) == 0) {
    const x = <f64>reinterpret<f32>(<u32>a);
    if (x != 0) {
      const s = Math.sqrt(x);
      const p = s * s;
      const inexact = p != x || twoProductError(s, s, p) != 0;
      if (fastNarrow(s, inexact)) return fastResult;
    }
  }
  return sqrt(a, false, rm);
}
export function f32MulAdd(a: u64, b: u64, c: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && fastFma32(a, b, c, false, false)) return fastResult;
  return fma(a, b, c, false, false, false, rm);
}
export function f32MulSub(a: u64, b: u64, c: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && fastFma32(a, b, c, false, true)) return fastResult;
  return fma(a, b, c, false, true, false, rm);
}
export function f32NegMulSub(a: u64, b: u64, c: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && fastFma32(a, b, c, true, false)) return fastResult;
  return fma(a, b, c, true, false, false, rm);
}
export function f32NegMulAdd(a: u64, b: u64, c: u64, rm: u32): u64 {
  if (fastPaths && rm == RM_RNE && fastFma32(a, b, c, true, true)) return fastResult;
  return fma(a, b, c, true, true, false, rm);
}

export function f64ToF32(a: u64, rm: u32): u64 { return convertFormat(a, false, rm); }
export function f32ToF64(a: u64, rm: u32): u64 { return convertFormat(a, true, rm); }

export function f64ToI32(a: u64, rm: u32): u64 { return toInteger(a, true, rm, INT_W); }
export function f64ToU32(a: u64, rm: u32): u64 { return toInteger(a, true, rm, INT_WU); }
export function f64ToI64(a: u64, rm: u32): u64 { return toInteger(a, true, rm, INT_L); }
export function f64ToU64(a: u64, rm: u32): u64 { return toInteger(a, true, rm, INT_LU); }
export function f32ToI32(a: u64, rm: u32): u64 { return toInteger(a, false, rm, INT_W); }
export function f32ToU32(a: u64, rm: u32): u64 { return toInteger(a, false, rm, INT_WU); }
export function f32ToI64(a: u64, rm: u32): u64 { return toInteger(a, false, rm, INT_L); }
export function f32ToU64(a: u64, rm: u32): u64 { return toInteger(a, false, rm, INT_LU); }

/** FCVT.{S,D}.{W,WU,L,LU}: `x` is the integer register's 64 bits; the
 *  32-bit kinds use its low half. */
function intToFloat(x: u64, kind: u32, d: bool, rm: u32): u64 {
  switch (kind) {
    case INT_W: { const v = <i64><i32><u32>x; return fromInteger(v < 0 ? <u64>(0 - v) : <u64>v, v < 0, d, rm); }
    case INT_WU: return fromInteger(x & 0xffff_ffff, false, d, rm);
    case INT_L: { const v = <i64>x; return fromInteger(v < 0 ? 0 - x : x, v < 0, d, rm); }
    default: return fromInteger(x, false, d, rm);
  }
}
export function i32ToF64(x: u64, rm: u32): u64 { return intToFloat(x, INT_W, true, rm); }
export function u32ToF64(x: u64, rm: u32): u64 { return intToFloat(x, INT_WU, true, rm); }
export function i64ToF64(x: u64, rm: u32): u64 { return intToFloat(x, INT_L, true, rm); }
export function u64ToF64(x: u64, rm: u32): u64 { return intToFloat(x, INT_LU, true, rm); }
export function i32ToF32(x: u64, rm: u32): u64 { return intToFloat(x, INT_W, false, rm); }
export function u32ToF32(x: u64, rm: u32): u64 { return intToFloat(x, INT_WU, false, rm); }
export function i64ToF32(x: u64, rm: u32): u64 { return intToFloat(x, INT_L, false, rm); }
export function u64ToF32(x: u64, rm: u32): u64 { return intToFloat(x, INT_LU, false, rm); }

export function f64Eq(a: u64, b: u64): u64 { return compare(a, b, true, CMP_EQ); }
export function f64Lt(a: u64, b: u64): u64 { return compare(a, b, true, CMP_LT); }
export function f64Le(a: u64, b: u64): u64 { return compare(a, b, true, CMP_LE); }
export function f32Eq(a: u64, b: u64): u64 { return compare(a, b, false, CMP_EQ); }
export function f32Lt(a: u64, b: u64): u64 { return compare(a, b, false, CMP_LT); }
export function f32Le(a: u64, b: u64): u64 { return compare(a, b, false, CMP_LE); }

export function f64Min(a: u64, b: u64): u64 { return minMax(a, b, true, false); }
export function f64Max(a: u64, b: u64): u64 { return minMax(a, b, true, true); }
export function f32Min(a: u64, b: u64): u64 { return minMax(a, b, false, false); }
export function f32Max(a: u64, b: u64): u64 { return minMax(a, b, false, true); }

export function f64Class(a: u64): u64 { return classify(a, true); }
export function f32Class(a: u64): u64 { return classify(a, false); }

export function f64SignInject(a: u64, b: u64, op: u32): u64 { return signInject(a, b, true, op); }
export function f32SignInject(a: u64, b: u64, op: u32): u64 { return signInject(a, b, false, op); }
