// The C extension: every RV64 compressed form expanded to its 32-bit equivalent.
//
// The RISC-V unprivileged specification, chapter "C" Standard Extension for
// Compressed Instructions, defines each 16-bit form by the 32-bit instruction it
// expands to; this file is that definition, one case per row of the "RVC
// Instruction Set Listings" table (quadrants 0, 1, 2; RV64 rows only: C.LD,
// C.SD, C.LDSP, C.SDSP and C.ADDIW take the slots RV32 gives to C.FLW, C.FSW,
// C.FLWSP, C.FSWSP and C.JAL).
//
// The result is 0 for every illegal or reserved encoding (0 is itself an
// illegal 32-bit instruction), so the caller raises the illegal-instruction
// exception for it. HINT encodings (C.NOP with an immediate, C.LI / C.LUI /
// C.MV / C.ADD / C.SLLI with rd=x0, shift amounts of 0, C.ADDI with imm 0) are
// legal and expand to an instruction with no architectural effect.
//
// C.JALR's link value is pc + 2, not pc + 4: the caller adds the length of the
// instruction it fetched, so C.JALR expands to plain `jalr x1, 0(rs1)`.
//
// Pure: reads only its argument. Bits 16 and above of `half` are ignored.

// ---- 32-bit major opcodes (spec, "RV32/64G Instruction Set Listings") -------
const LOAD: u32 = 0x03;
const LOAD_FP: u32 = 0x07;
const OP_IMM: u32 = 0x13;
const OP_IMM_32: u32 = 0x1b;
const STORE: u32 = 0x23;
const STORE_FP: u32 = 0x27;
const OP: u32 = 0x33;
const LUI: u32 = 0x37;
const OP_32: u32 = 0x3b;
const BRANCH: u32 = 0x63;
const JALR: u32 = 0x67;
const JAL: u32 = 0x6f;
const EBREAK: u32 = 0x00100073;

// funct3 values used by the expansions.
const F3_ADD: u32 = 0, F3_SLL: u32 = 1, F3_XOR: u32 = 4, F3_SRL: u32 = 5;
const F3_OR: u32 = 6, F3_AND: u32 = 7;
const F3_W: u32 = 2, F3_D: u32 = 3; // load/store width: word, doubleword
const F3_BEQ: u32 = 0, F3_BNE: u32 = 1;
const F7_SUB: u32 = 0x20; // funct7 of SUB/SUBW; as imm[11:5] it marks SRAI
const SP: u32 = 2, RA: u32 = 1;

// ---- compressed fields (spec, "Compressed Instruction Formats") -------------
@inline function quadrant(c: u32): u32 { return c & 3; }
@inline function funct3(c: u32): u32 { return (c >> 13) & 7; }
// Full 5-bit register fields of CR/CI/CSS: rd/rs1 at 11:7, rs2 at 6:2.
@inline function rdFull(c: u32): u32 { return (c >> 7) & 31; }
@inline function rs2Full(c: u32): u32 { return (c >> 2) & 31; }
// 3-bit register fields name x8..x15 (or f8..f15): rs1'/rd' at 9:7, rd'/rs2' at 4:2.
@inline function rs1Prime(c: u32): u32 { return 8 + ((c >> 7) & 7); }
@inline function rs2Prime(c: u32): u32 { return 8 + ((c >> 2) & 7); }

@inline function signExtend(v: u32, bits: i32): i32 {
  return (<i32>(v << (32 - bits))) >> (32 - bits);
}
// CI immediate imm[5] at 12, imm[4:0] at 6:2, signed (C.ADDI, C.LI, C.ANDI, C.LUI...).
@inline function immCI(c: u32): i32 {
  return signExtend(((c >> 7) & 0x20) | ((c >> 2) & 0x1f), 6);
}
// Shift amount shamt[5] at 12, shamt[4:0] at 6:2, unsigned.
@inline function shamtCI(c: u32): u32 { return ((c >> 7) & 0x20) | ((c >> 2) & 0x1f); }
// C.ADDI4SPN: nzuimm[5:4|9:6|2|3] at 12:5.
@inline function uimmAddi4spn(c: u32): u32 {
  return ((c >> 7) & 0x30) | ((c >> 1) & 0x3c0) | ((c >> 4) & 0x4) | ((c >> 2) & 0x8);
}
// C.LW/C.SW: uimm[5:3] at 12:10, uimm[2|6] at 6:5.
@inline function uimmCLW(c: u32): u32 {
  return ((c >> 7) & 0x38) | ((c >> 4) & 0x4) | ((c << 1) & 0x40);
}
// C.LD/C.SD/C.FLD/C.FSD: uimm[5:3] at 12:10, uimm[7:6] at 6:5.
@inline function uimmCLD(c: u32): u32 { return ((c >> 7) & 0x38) | ((c << 1) & 0xc0); }
// C.ADDI16SP: nzimm[9] at 12, nzimm[4|6|8:7|5] at 6:2, signed.
@inline function immAddi16sp(c: u32): i32 {
  return signExtend(
    ((c >> 3) & 0x200) | ((c >> 2) & 0x10) | ((c << 1) & 0x40) | ((c << 4) & 0x180) | ((c << 3) & 0x20),
    10);
}
// C.J: imm[11|4|9:8|10|6|7|3:1|5] at 12:2, signed.
@inline function immCJ(c: u32): i32 {
  return signExtend(
    ((c >> 1) & 0x800) | ((c >> 7) & 0x10) | ((c >> 1) & 0x300) | ((c << 2) & 0x400)
      | ((c >> 1) & 0x40) | ((c << 1) & 0x80) | ((c >> 2) & 0xe) | ((c << 3) & 0x20),
    12);
}
// C.BEQZ/C.BNEZ: offset[8|4:3] at 12:10, offset[7:6|2:1|5] at 6:2, signed.
@inline function immCB(c: u32): i32 {
  return signExtend(
    ((c >> 4) & 0x100) | ((c >> 7) & 0x18) | ((c << 1) & 0xc0) | ((c >> 2) & 0x6) | ((c << 3) & 0x20),
    9);
}
// C.LWSP: uimm[5] at 12, uimm[4:2|7:6] at 6:2.
@inline function uimmLWSP(c: u32): u32 {
  return ((c >> 7) & 0x20) | ((c >> 2) & 0x1c) | ((c << 4) & 0xc0);
}
// C.LDSP/C.FLDSP: uimm[5] at 12, uimm[4:3|8:6] at 6:2.
@inline function uimmLDSP(c: u32): u32 {
  return ((c >> 7) & 0x20) | ((c >> 2) & 0x18) | ((c << 4) & 0x1c0);
}
// C.SWSP: uimm[5:2|7:6] at 12:7.
@inline function uimmSWSP(c: u32): u32 { return ((c >> 7) & 0x3c) | ((c >> 1) & 0xc0); }
// C.SDSP/C.FSDSP: uimm[5:3|8:6] at 12:7.
@inline function uimmSDSP(c: u32): u32 { return ((c >> 7) & 0x38) | ((c >> 1) & 0x1c0); }

// ---- 32-bit encoders (spec, "Base Instruction Formats") ---------------------
@inline function encodeR(funct7: u32, rs2: u32, rs1: u32, funct3: u32, rd: u32, opcode: u32): u32 {
  return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
}
@inline function encodeI(imm: i32, rs1: u32, funct3: u32, rd: u32, opcode: u32): u32 {
  return (<u32>imm << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
}
@inline function encodeS(imm: u32, rs2: u32, rs1: u32, funct3: u32, opcode: u32): u32 {
  return ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | ((imm & 31) << 7) | opcode;
}
@inline function encodeB(imm: i32, rs1: u32, funct3: u32): u32 {
  const u = <u32>imm;
  return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | (rs1 << 15) | (funct3 << 12)
    | ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | BRANCH; // rs2 = x0
}
@inline function encodeJ(imm: i32, rd: u32): u32 {
  const u = <u32>imm;
  return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20
    | (u & 0xff000) | (rd << 7) | JAL;
}

export function expandCompressed(half: u32): u32 {
  const c = half & 0xffff;
  switch ((quadrant(c) << 3) | funct3(c)) {
    // ---- quadrant 0 ----
    case 0x00: { // C.ADDI4SPN: addi rd', x2, nzuimm; nzuimm=0 reserved (so is 0x0000)
      const imm = uimmAddi4spn(c);
      if (imm == 0) return 0;
      return encodeI(imm, SP, F3_ADD, rs2Prime(c), OP_IMM);
    }
    case 0x01: // C.FLD: fld rd', uimm(rs1')
      return encodeI(uimmCLD(c), rs1Prime(c), F3_D, rs2Prime(c), LOAD_FP);
    case 0x02: // C.LW: lw rd', uimm(rs1')
      return encodeI(uimmCLW(c), rs1Prime(c), F3_W, rs2Prime(c), LOAD);
    case 0x03: // C.LD (RV64): ld rd', uimm(rs1')
      return encodeI(uimmCLD(c), rs1Prime(c), F3_D, rs2Prime(c), LOAD);
    case 0x04: // reserved (Zcb's loads and stores, not in RV64GC)
      return 0;
    case 0x05: // C.FSD: fsd rs2', uimm(rs1')
      return encodeS(uimmCLD(c), rs2Prime(c), rs1Prime(c), F3_D, STORE_FP);
    case 0x06: // C.SW: sw rs2', uimm(rs1')
      return encodeS(uimmCLW(c), rs2Prime(c), rs1Prime(c), F3_W, STORE);
    case 0x07: // C.SD (RV64): sd rs2', uimm(rs1')
      return encodeS(uimmCLD(c), rs2Prime(c), rs1Prime(c), F3_D, STORE);

    // ---- quadrant 1 ----
    case 0x08: { // C.ADDI: addi rd, rd, imm (C.NOP when rd=x0; HINTs when rd=x0 or imm=0)
      const rd = rdFull(c);
      return encodeI(immCI(c), rd, F3_ADD, rd, OP_IMM);
    }
    case 0x09: { // C.ADDIW (RV64): addiw rd, rd, imm; rd=x0 reserved
      const rd = rdFull(c);
      if (rd == 0) return 0;
      return encodeI(immCI(c), rd, F3_ADD, rd, OP_IMM_32);
    }
    case 0x0a: // C.LI: addi rd, x0, imm (rd=x0 is a HINT)
      return encodeI(immCI(c), 0, F3_ADD, rdFull(c), OP_IMM);
    case 0x0b: {
      const rd = rdFull(c);
      if (rd == SP) { // C.ADDI16SP: addi x2, x2, nzimm; nzimm=0 reserved
        const imm = immAddi16sp(c);
        if (imm == 0) return 0;
        return encodeI(imm, SP, F3_ADD, SP, OP_IMM);
      }
      // C.LUI: lui rd, nzimm[17:12]; nzimm=0 reserved, rd=x0 a HINT
      const imm = immCI(c);
      if (imm == 0) return 0;
      return (<u32>imm << 12) | (rd << 7) | LUI;
    }
    case 0x0c: { // the arithmetic group on rd' (bits 9:7), chosen by bits 11:10
      const rd = rs1Prime(c);
      switch ((c >> 10) & 3) {
        case 0: // C.SRLI: srli rd', rd', shamt (shamt=0 a HINT)
          return encodeI(shamtCI(c), rd, F3_SRL, rd, OP_IMM);
        case 1: // C.SRAI: srai rd', rd', shamt
          return encodeI((F7_SUB << 5) | shamtCI(c), rd, F3_SRL, rd, OP_IMM);
        case 2: // C.ANDI: andi rd', rd', imm
          return encodeI(immCI(c), rd, F3_AND, rd, OP_IMM);
      }
      const rs2 = rs2Prime(c);
      const funct2 = (c >> 5) & 3;
      if ((c & 0x1000) == 0) {
        switch (funct2) {
          case 0: return encodeR(F7_SUB, rs2, rd, F3_ADD, rd, OP); // C.SUB
          case 1: return encodeR(0, rs2, rd, F3_XOR, rd, OP);      // C.XOR
          case 2: return encodeR(0, rs2, rd, F3_OR, rd, OP);       // C.OR
          default: return encodeR(0, rs2, rd, F3_AND, rd, OP);     // C.AND
        }
      }
      switch (funct2) {
        case 0: return encodeR(F7_SUB, rs2, rd, F3_ADD, rd, OP_32); // C.SUBW (RV64)
        case 1: return encodeR(0, rs2, rd, F3_ADD, rd, OP_32);      // C.ADDW (RV64)
        default: return 0; // reserved (Zcb's C.MUL and C.ZEXT.*, not in RV64GC)
      }
    }
    case 0x0d: // C.J: jal x0, offset
      return encodeJ(immCJ(c), 0);
    case 0x0e: // C.BEQZ: beq rs1', x0, offset
      return encodeB(immCB(c), rs1Prime(c), F3_BEQ);
    case 0x0f: // C.BNEZ: bne rs1', x0, offset
      return encodeB(immCB(c), rs1Prime(c), F3_BNE);

    // ---- quadrant 2 ----
    case 0x10: { // C.SLLI: slli rd, rd, shamt (rd=x0 or shamt=0 a HINT)
      const rd = rdFull(c);
      return encodeI(shamtCI(c), rd, F3_SLL, rd, OP_IMM);
    }
    case 0x11: // C.FLDSP: fld rd, uimm(x2)
      return encodeI(uimmLDSP(c), SP, F3_D, rdFull(c), LOAD_FP);
    case 0x12: { // C.LWSP: lw rd, uimm(x2); rd=x0 reserved
      const rd = rdFull(c);
      if (rd == 0) return 0;
      return encodeI(uimmLWSP(c), SP, F3_W, rd, LOAD);
    }
    case 0x13: { // C.LDSP (RV64): ld rd, uimm(x2); rd=x0 reserved
      const rd = rdFull(c);
      if (rd == 0) return 0;
      return encodeI(uimmLDSP(c), SP, F3_D, rd, LOAD);
    }
    case 0x14: {
      const rd = rdFull(c), rs2 = rs2Full(c);
      if ((c & 0x1000) == 0) {
        if (rs2 != 0) return encodeR(0, rs2, 0, F3_ADD, rd, OP); // C.MV: add rd, x0, rs2
        if (rd == 0) return 0;                                    // C.JR with rs1=x0: reserved
        return encodeI(0, rd, 0, 0, JALR);                        // C.JR: jalr x0, 0(rs1)
      }
      if (rs2 != 0) return encodeR(0, rs2, rd, F3_ADD, rd, OP);  // C.ADD: add rd, rd, rs2
      if (rd == 0) return EBREAK;                                 // C.EBREAK
      return encodeI(0, rd, 0, RA, JALR);                         // C.JALR: jalr x1, 0(rs1)
    }
    case 0x15: // C.FSDSP: fsd rs2, uimm(x2)
      return encodeS(uimmSDSP(c), rs2Full(c), SP, F3_D, STORE_FP);
    case 0x16: // C.SWSP: sw rs2, uimm(x2)
      return encodeS(uimmSWSP(c), rs2Full(c), SP, F3_W, STORE);
    case 0x17: // C.SDSP (RV64): sd rs2, uimm(x2)
      return encodeS(uimmSDSP(c), rs2Full(c), SP, F3_D, STORE);
  }
  return 0; // quadrant 3: not a compressed parcel
}
