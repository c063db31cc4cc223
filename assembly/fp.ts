// The F and D extensions (unprivileged spec, chapters "F" and "D"): decode
// and execute. The arithmetic itself is software floating point in
// fp/softfloat.ts; this file reads operands, resolves the rounding mode,
// writes the result and accrues fflags.
//
// Single-precision values live NaN-boxed in the 64-bit f registers: FLW and
// FMV.W.X write the upper 32 bits as ones, FSW and FMV.X.W move the low 32
// bits raw, and everything else treats an improperly boxed operand as the
// canonical NaN (softfloat does that on every single-precision input).
import { raiseException, pendingExit } from './trap';
import {
  CAUSE_ILLEGAL_INSTRUCTION, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, EXIT_NONE, EXIT_MMIO_LOAD, EXIT_MMIO_STORE,
} from './layout';
import { getX, setX, getF, setF, getFrm, getFcsr, raiseFFlags } from './state';
import { loadU32, loadU64, storeU32, storeU64 } from './memory';
import {
  fpExceptionFlags, fpClearExceptionFlags, box32, hardArith, hardResult, RM_RNE, FLAG_NX,
  f32Add, f32Sub, f32Mul, f32Div, f32Sqrt,
  f64Add, f64Sub, f64Mul, f64Div, f64Sqrt,
  f32MulAdd, f32MulSub, f32NegMulSub, f32NegMulAdd,
  f64MulAdd, f64MulSub, f64NegMulSub, f64NegMulAdd,
  f32SignInject, f64SignInject, f32Min, f32Max, f64Min, f64Max,
  f32Eq, f32Lt, f32Le, f64Eq, f64Lt, f64Le, f32Class, f64Class,
  f64ToF32, f32ToF64,
  f32ToI32, f32ToU32, f32ToI64, f32ToU64, f64ToI32, f64ToU32, f64ToI64, f64ToU64,
  i32ToF32, u32ToF32, i64ToF32, u64ToF32, i32ToF64, u32ToF64, i64ToF64, u64ToF64,
} from './fp/softfloat';

// Major opcodes.
const LOAD_FP: u32 = 0x07;
const STORE_FP: u32 = 0x27;
const MADD: u32 = 0x43;
const MSUB: u32 = 0x47;
const NMSUB: u32 = 0x4b;
const NMADD: u32 = 0x4f;
const OP_FP: u32 = 0x53;

// The rm field's "dynamic" value: use fcsr.frm.
const RM_DYN: u32 = 7;

@inline function illegal(inst: u32): void {
  raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
}

/** The rounding mode an instruction uses, or 5..7 when it is reserved
 *  (rm = 5 or 6, or rm = DYN while frm holds 5, 6 or 7): such an
 *  instruction is illegal. */
@inline function roundingMode(inst: u32): u32 {
  const rm = (inst >> 12) & 7;
  return rm == RM_DYN ? getFrm() : rm;
}

/** Writes an arithmetic result and accrues the flags it raised. */
@inline function writeF(rd: u32, v: u64): void {
  setF(rd, v);
  const flags = fpExceptionFlags();
  if (flags != 0) raiseFFlags(flags);
}

@inline function writeX(rd: u32, v: u64): void {
  setX(rd, v);
  const flags = fpExceptionFlags();
  if (flags != 0) raiseFFlags(flags);
}

// Executes one instruction of the opcodes LOAD-FP (0x07), STORE-FP (0x27),
// MADD/MSUB/NMSUB/NMADD (0x43/0x47/0x4b/0x4f) and OP-FP (0x53). Illegal
// encodings raise an illegal-instruction exception and change nothing.
export function execFloat(inst: u32): void {
  const opcode = inst & 0x7f;
  const rd = (inst >> 7) & 31;
  const funct3 = (inst >> 12) & 7;
  const rs1 = (inst >> 15) & 31;
  const rs2 = (inst >> 20) & 31;

  if (opcode == LOAD_FP) {
    // FLW / FLD: f[rd] = M[x[rs1] + sext(imm[11:0])]
    const addr = getX(rs1) + <u64>(<i64>(<i32>inst >> 20));
    if (funct3 == 2) { // FLW
      const v = loadU32(addr);
      if (pendingExit == EXIT_MMIO_LOAD) raiseException(CAUSE_LOAD_ACCESS, addr); // devices take integer accesses only
      if (pendingExit != EXIT_NONE) return;
      setF(rd, box32(<u32>v));
    } else if (funct3 == 3) { // FLD
      const v = loadU64(addr);
      if (pendingExit == EXIT_MMIO_LOAD) raiseException(CAUSE_LOAD_ACCESS, addr);
      if (pendingExit != EXIT_NONE) return;
      setF(rd, v);
    } else {
      illegal(inst);
    }
    return;
  }

  if (opcode == STORE_FP) {
    // FSW / FSD: M[x[rs1] + sext(imm)] = f[rs2]; FSW stores the low 32 bits
    // whatever the boxing.
    const imm = ((<i32>inst >> 25) << 5) | <i32>((inst >> 7) & 31);
    const addr = getX(rs1) + <u64>(<i64>imm);
    if (funct3 == 2) storeU32(addr, getF(rs2) & 0xffff_ffff); // FSW
    else if (funct3 == 3) storeU64(addr, getF(rs2)); // FSD
    else illegal(inst);
    if (pendingExit == EXIT_MMIO_STORE) raiseException(CAUSE_STORE_ACCESS, addr);
    return;
  }

  if (opcode == MADD || opcode == MSUB || opcode == NMSUB || opcode == NMADD) {
    // R4-type: fmt in bits 26:25 (0 = S, 1 = D; H and Q are not supported),
    // rs3 in bits 31:27.
    const fmt = (inst >> 25) & 3;
    const rm = roundingMode(inst);
    if (fmt > 1 || rm > 4) { illegal(inst); return; }
    const a = getF(rs1), b = getF(rs2), c = getF(inst >> 27);
    fpClearExceptionFlags();
    let r: u64;
    if (fmt == 0) {
      if (opcode == MADD) r = f32MulAdd(a, b, c, rm); // FMADD.S:  a*b + c
      else if (opcode == MSUB) r = f32MulSub(a, b, c, rm); // FMSUB.S:  a*b - c
      else if (opcode == NMSUB) r = f32NegMulSub(a, b, c, rm); // FNMSUB.S: -(a*b) + c
      else r = f32NegMulAdd(a, b, c, rm); // FNMADD.S: -(a*b) - c
    } else {
      if (opcode == MADD) r = f64MulAdd(a, b, c, rm);
      else if (opcode == MSUB) r = f64MulSub(a, b, c, rm);
      else if (opcode == NMSUB) r = f64NegMulSub(a, b, c, rm);
      else r = f64NegMulAdd(a, b, c, rm);
    }
    writeF(rd, r);
    return;
  }

  if (opcode == OP_FP) {
    execOpFp(inst, rd, funct3, rs1, rs2);
    return;
  }

  illegal(inst);
}

// OP-FP: funct7 = funct5 (bits 31:27) and fmt (bits 26:25).
function execOpFp(inst: u32, rd: u32, funct3: u32, rs1: u32, rs2: u32): void {
  const funct7 = inst >> 25;
  const a = getF(rs1);
  switch (funct7) {
    // ---- arithmetic: FADD, FSUB, FMUL, FDIV, FSQRT --------------------------
    case 0x00: case 0x01: case 0x04: case 0x05:
    case 0x08: case 0x09: case 0x0c: case 0x0d: {
      const rm = roundingMode(inst);
      if (rm > 4) break;
      const b = getF(rs2);
      // NX already set and RNE: WebAssembly's own arithmetic where it is exact (softfloat.ts, "hardfloat").
      if (rm == RM_RNE && (getFcsr() & FLAG_NX) != 0 && hardArith(funct7 >> 2, (funct7 & 1) != 0, a, b)) { setF(rd, hardResult); return; }
      fpClearExceptionFlags();
      let r: u64;
      switch (funct7) {
        case 0x00: r = f32Add(a, b, rm); break; // FADD.S
        case 0x01: r = f64Add(a, b, rm); break; // FADD.D
        case 0x04: r = f32Sub(a, b, rm); break; // FSUB.S
        case 0x05: r = f64Sub(a, b, rm); break; // FSUB.D
        case 0x08: r = f32Mul(a, b, rm); break; // FMUL.S
        case 0x09: r = f64Mul(a, b, rm); break; // FMUL.D
        case 0x0c: r = f32Div(a, b, rm); break; // FDIV.S
        default: r = f64Div(a, b, rm); // FDIV.D
      }
      writeF(rd, r);
      return;
    }
    case 0x2c: case 0x2d: { // FSQRT.S, FSQRT.D
      const rm = roundingMode(inst);
      if (rs2 != 0 || rm > 4) break;
      if (rm == RM_RNE && (getFcsr() & FLAG_NX) != 0 && hardArith(11, funct7 == 0x2d, a, a)) { setF(rd, hardResult); return; }
      fpClearExceptionFlags();
      writeF(rd, funct7 == 0x2c ? f32Sqrt(a, rm) : f64Sqrt(a, rm));
      return;
    }

    // ---- sign injection, min/max (funct3 selects; no rounding) --------------
    case 0x10: case 0x11: { // FSGNJ, FSGNJN, FSGNJX
      if (funct3 > 2) break;
      const b = getF(rs2);
      setF(rd, funct7 == 0x10 ? f32SignInject(a, b, funct3) : f64SignInject(a, b, funct3));
      return;
    }
    case 0x14: case 0x15: { // FMIN (funct3 0), FMAX (funct3 1)
      if (funct3 > 1) break;
      const b = getF(rs2);
      fpClearExceptionFlags();
      let r: u64;
      if (funct7 == 0x14) r = funct3 == 0 ? f32Min(a, b) : f32Max(a, b);
      else r = funct3 == 0 ? f64Min(a, b) : f64Max(a, b);
      writeF(rd, r);
      return;
    }

    // ---- conversions between S and D ----------------------------------------
    case 0x20: { // FCVT.S.D (rs2 = 1: the source format D)
      const rm = roundingMode(inst);
      if (rs2 != 1 || rm > 4) break;
      fpClearExceptionFlags();
      writeF(rd, f64ToF32(a, rm));
      return;
    }
    case 0x21: { // FCVT.D.S (rs2 = 0: the source format S)
      // Exact, but it has an rm field, and the spec makes any instruction
      // with a reserved static or dynamic rounding mode illegal (Spike
      // agrees). QEMU 7.2 skips the dynamic-frm check for the three exact
      // conversions FCVT.D.S, FCVT.D.W and FCVT.D.WU; we follow the spec.
      const rm = roundingMode(inst);
      if (rs2 != 0 || rm > 4) break;
      fpClearExceptionFlags();
      writeF(rd, f32ToF64(a, rm));
      return;
    }

    // ---- comparisons: FLE (0), FLT (1), FEQ (2) -----------------------------
    case 0x50: case 0x51: {
      if (funct3 > 2) break;
      const b = getF(rs2);
      fpClearExceptionFlags();
      let r: u64;
      if (funct7 == 0x50) r = funct3 == 0 ? f32Le(a, b) : funct3 == 1 ? f32Lt(a, b) : f32Eq(a, b);
      else r = funct3 == 0 ? f64Le(a, b) : funct3 == 1 ? f64Lt(a, b) : f64Eq(a, b);
      writeX(rd, r);
      return;
    }

    // ---- float to integer: FCVT.{W,WU,L,LU}.{S,D} (rs2 selects) -------------
    case 0x60: case 0x61: {
      const rm = roundingMode(inst);
      if (rs2 > 3 || rm > 4) break;
      fpClearExceptionFlags();
      let r: u64;
      if (funct7 == 0x60) {
        r = rs2 == 0 ? f32ToI32(a, rm) : rs2 == 1 ? f32ToU32(a, rm) : rs2 == 2 ? f32ToI64(a, rm) : f32ToU64(a, rm);
      } else {
        r = rs2 == 0 ? f64ToI32(a, rm) : rs2 == 1 ? f64ToU32(a, rm) : rs2 == 2 ? f64ToI64(a, rm) : f64ToU64(a, rm);
      }
      writeX(rd, r);
      return;
    }

    // ---- integer to float: FCVT.{S,D}.{W,WU,L,LU} (rs2 selects) -------------
    case 0x68: case 0x69: {
      const rm = roundingMode(inst);
      if (rs2 > 3 || rm > 4) break;
      const x = getX(rs1);
      fpClearExceptionFlags();
      let r: u64;
      if (funct7 == 0x68) {
        r = rs2 == 0 ? i32ToF32(x, rm) : rs2 == 1 ? u32ToF32(x, rm) : rs2 == 2 ? i64ToF32(x, rm) : u64ToF32(x, rm);
      } else {
        r = rs2 == 0 ? i32ToF64(x, rm) : rs2 == 1 ? u32ToF64(x, rm) : rs2 == 2 ? i64ToF64(x, rm) : u64ToF64(x, rm);
      }
      writeF(rd, r);
      return;
    }

    // ---- moves to integer registers and classification ----------------------
    case 0x70: case 0x71: {
      if (rs2 != 0) break;
      if (funct3 == 0) {
        // FMV.X.W: the low 32 bits, sign-extended, whatever the boxing.
        // FMV.X.D: all 64 bits.
        setX(rd, funct7 == 0x70 ? <u64><i64><i32><u32>a : a);
      } else if (funct3 == 1) {
        setX(rd, funct7 == 0x70 ? f32Class(a) : f64Class(a)); // FCLASS
      } else {
        break;
      }
      return;
    }

    // ---- moves from integer registers: FMV.W.X (boxed), FMV.D.X -------------
    case 0x78: case 0x79: {
      if (rs2 != 0 || funct3 != 0) break;
      const x = getX(rs1);
      setF(rd, funct7 == 0x78 ? box32(<u32>x) : x);
      return;
    }
  }
  illegal(inst);
}
