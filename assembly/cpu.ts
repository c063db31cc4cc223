// The interpreter: fetch, expand compressed forms, decode, execute, and the
// run loop that returns to the hypervisor with an exit reason.
//
// One `switch` on the major opcode, each case a few lines, names from the
// RISC-V unprivileged specification. Floating point lives in fp.ts, the C
// extension's expansion in rvc.ts, guest memory in memory.ts.
import {
  PC, INSTRET, TIME, RESERVATION, RAM_BASE, RAM_SIZE, RAM_OFFSET, RAM_MAX, RVC_CACHE, RVC_ILLEGAL, SPLIT_BUFFER,
  EXIT_PC, EXIT_INST, EXIT_INST_LEN,
  EXIT_CONTROLS, EXIT_COUNTS, EXIT_REASON_COUNT, BUDGET_LEFT,
  EXIT_NONE, EXIT_ECALL_U, EXIT_EBREAK, EXIT_BUDGET, EXIT_HOT, EXIT_FAULT,
  EXIT_ECALL_S, EXIT_WFI, EXIT_MMIO_LOAD, EXIT_MMIO_STORE, EXIT_CSR,
  EXIT_CAUSE, EXIT_ADDR, EXIT_SIZE, EXIT_DATA, EXIT_MMIO_RD, EXIT_MMIO_SIGNED, EXIT_MMIO_VADDR,
  MMIO_PENDING, MMIO_NONE, MMIO_LOAD_PENDING, MMIO_STORE_PENDING, MMIO_FAILED,
  JIT_THRESHOLD, JIT_MAP, JIT_MAP_ENTRIES, JIT_NEVER, JIT_BAIL, JIT_HOT_PAGE,
  EXIT_ON_ECALL_U, EXIT_ON_EBREAK, EXIT_ON_ECALL_S, CTRL_SUPERVISOR, EXIT_ON_SATP, EXIT_ON_SFENCE, EXIT_ON_SRET, EXIT_ON_TIME,
  PRIV_U,
  CAUSE_ILLEGAL_INSTRUCTION, CAUSE_BREAKPOINT, CAUSE_ECALL_U, CAUSE_ECALL_S,
  CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
} from './layout';
import { getX, setX, getFcsr, setFcsr } from './state';
import { pendingExit, clearPendingExit, requestExit, raiseException } from './trap';
import {
  refreshMemoryConfig, refreshUserTlb, fillUserTlb, amoAddress, lrAddress, fetchAddress, codePageAt,
  loadAddress, storeAddress, mmioStoreData,
} from './memory';
import { expandCompressed } from './rvc';
import { execFloat } from './fp';
import {
  priv, readSupervisorCsr, writeSupervisorCsr, csrValid, fpOff, markFpDirty, counterAllowed,
  trapToSupervisor, supervisorReturn, pendingInterrupt, updateTimerPending, CSR_SATP,
} from './supervisor';
import { refreshMmu, refreshPermissions, flushTlb, flushTlbPage, codePageOf, codeLookups, resumeJit, finishSplitStore } from './mmu';

// ---- field extraction (unprivileged spec, "Base Instruction Formats") ------
@inline function rd(i: u32): u32 { return (i >> 7) & 31; }
@inline function rs1(i: u32): u32 { return (i >> 15) & 31; }
@inline function rs2(i: u32): u32 { return (i >> 20) & 31; }
@inline function funct3(i: u32): u32 { return (i >> 12) & 7; }
@inline function funct7(i: u32): u32 { return i >> 25; }
@inline function immI(i: u32): u64 { return <u64>(<i64>(<i32>i >> 20)); }
@inline function immS(i: u32): u64 {
  return <u64>(<i64>(((<i32>i >> 20) & ~31) | ((i >> 7) & 31)));
}
@inline function immB(i: u32): u64 {
  const v = ((<i32>i >> 19) & ~0xfff) // imm[12] (sign) into bit 12 and up
    | ((i << 4) & 0x800)               // imm[11] from bit 7
    | ((i >> 20) & 0x7e0)              // imm[10:5]
    | ((i >> 7) & 0x1e);               // imm[4:1]
  return <u64>(<i64>v);
}
@inline function immU(i: u32): u64 { return <u64>(<i64>(<i32>(i & 0xfffff000))); }
@inline function immJ(i: u32): u64 {
  const v = ((<i32>i >> 11) & ~0xfffff) // imm[20] (sign)
    | (i & 0xff000)                      // imm[19:12]
    | ((i >> 9) & 0x800)                 // imm[11]
    | ((i >> 20) & 0x7fe);               // imm[10:1]
  return <u64>(<i64>v);
}
@inline function sext32(v: u64): u64 { return <u64>(<i64>(<i32>v)); }

// ---- M extension helpers ----------------------------------------------------
// High 64 bits of the unsigned 128-bit product, from 32-bit halves.
export function mulhu(a: u64, b: u64): u64 {
  const aLo = a & 0xffffffff, aHi = a >> 32;
  const bLo = b & 0xffffffff, bHi = b >> 32;
  const ll = aLo * bLo, lh = aLo * bHi, hl = aHi * bLo, hh = aHi * bHi;
  const mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
// Signed variants by correcting the unsigned product for negative operands.
export function mulh(a: u64, b: u64): u64 {
  let h = mulhu(a, b);
  if (<i64>a < 0) h -= b;
  if (<i64>b < 0) h -= a;
  return h;
}
export function mulhsu(a: u64, b: u64): u64 {
  let h = mulhu(a, b);
  if (<i64>a < 0) h -= b;
  return h;
}
// Division never traps in RISC-V (spec table "Semantics for division by zero
// and division overflow"); wasm's would, so both cases are decided here.
export function div64(a: u64, b: u64): u64 {
  if (b == 0) return u64.MAX_VALUE;
  if (a == 0x8000000000000000 && b == u64.MAX_VALUE) return a;
  return <u64>(<i64>a / <i64>b);
}
export function rem64(a: u64, b: u64): u64 {
  if (b == 0) return a;
  if (a == 0x8000000000000000 && b == u64.MAX_VALUE) return 0;
  return <u64>(<i64>a % <i64>b);
}
export function div32(a: u64, b: u64): u64 {
  const x = <i32>a, y = <i32>b;
  if (y == 0) return u64.MAX_VALUE;
  if (x == i32.MIN_VALUE && y == -1) return sext32(<u64>x);
  return sext32(<u64>(x / y));
}
export function rem32(a: u64, b: u64): u64 {
  const x = <i32>a, y = <i32>b;
  if (y == 0) return sext32(<u64>x);
  if (x == i32.MIN_VALUE && y == -1) return 0;
  return sext32(<u64>(x % y));
}
export function divu32(a: u64, b: u64): u64 {
  const x = <u32>a, y = <u32>b;
  if (y == 0) return u64.MAX_VALUE;
  return sext32(<u64>(x / y));
}
export function remu32(a: u64, b: u64): u64 {
  const x = <u32>a, y = <u32>b;
  if (y == 0) return sext32(<u64>x);
  return sext32(<u64>(x % y));
}

// ---- Zbb helpers ---------------------------------------------------------------
// orc.b: each byte becomes 0xff if it had any bit set, else 0x00.
export function orcb(v: u64): u64 {
  let r: u64 = 0;
  for (let i: u64 = 0; i < 64; i += 8) {
    if ((v >> i) & 0xff) r |= (<u64>0xff) << i;
  }
  return r;
}
@inline function rev8(v: u64): u64 { return bswap<u64>(v); }
export function bswap64(v: u64): u64 { return bswap<u64>(v); }

// ---- OP and OP-32 (register-register) ------------------------------------------
// Returns the result, or raises an illegal instruction.
function opReg(inst: u32, a: u64, b: u64): u64 {
  const f3 = funct3(inst);
  switch (funct7(inst)) {
    case 0x00:
      switch (f3) {
        case 0: return a + b;                                   // ADD
        case 1: return a << (b & 63);                           // SLL
        case 2: return <i64>a < <i64>b ? 1 : 0;                 // SLT
        case 3: return a < b ? 1 : 0;                           // SLTU
        case 4: return a ^ b;                                   // XOR
        case 5: return a >> (b & 63);                           // SRL
        case 6: return a | b;                                   // OR
        default: return a & b;                                  // AND
      }
    case 0x20:
      switch (f3) {
        case 0: return a - b;                                   // SUB
        case 4: return ~(a ^ b);                                // XNOR (Zbb)
        case 5: return <u64>(<i64>a >> (b & 63));               // SRA
        case 6: return a | ~b;                                  // ORN (Zbb)
        case 7: return a & ~b;                                  // ANDN (Zbb)
      }
      break;
    case 0x01:
      switch (f3) {
        case 0: return a * b;                                   // MUL
        case 1: return mulh(a, b);                              // MULH
        case 2: return mulhsu(a, b);                            // MULHSU
        case 3: return mulhu(a, b);                             // MULHU
        case 4: return div64(a, b);                             // DIV
        case 5: return b == 0 ? u64.MAX_VALUE : a / b;          // DIVU
        case 6: return rem64(a, b);                             // REM
        default: return b == 0 ? a : a % b;                     // REMU
      }
    case 0x05:
      switch (f3) {
        case 4: return <i64>a < <i64>b ? a : b;                 // MIN (Zbb)
        case 5: return a < b ? a : b;                           // MINU
        case 6: return <i64>a > <i64>b ? a : b;                 // MAX
        case 7: return a > b ? a : b;                           // MAXU
      }
      break;
    case 0x10:
      switch (f3) {
        case 2: return (a << 1) + b;                            // SH1ADD (Zba)
        case 4: return (a << 2) + b;                            // SH2ADD
        case 6: return (a << 3) + b;                            // SH3ADD
      }
      break;
    case 0x30:
      if (f3 == 1) return rotl<u64>(a, b & 63);                 // ROL (Zbb)
      if (f3 == 5) return rotr<u64>(a, b & 63);                 // ROR
      break;
    case 0x24:
      if (f3 == 1) return a & ~((<u64>1) << (b & 63));          // BCLR (Zbs)
      if (f3 == 5) return (a >> (b & 63)) & 1;                  // BEXT
      break;
    case 0x34:
      if (f3 == 1) return a ^ ((<u64>1) << (b & 63));           // BINV
      break;
    case 0x14:
      if (f3 == 1) return a | ((<u64>1) << (b & 63));           // BSET
      break;
  }
  raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
  return 0;
}

function opReg32(inst: u32, a: u64, b: u64): u64 {
  const f3 = funct3(inst);
  const sh = <u32>b & 31;
  switch (funct7(inst)) {
    case 0x00:
      if (f3 == 0) return sext32(a + b);                        // ADDW
      if (f3 == 1) return sext32(a << sh);                      // SLLW
      if (f3 == 5) return sext32(<u64>(<u32>a >> sh));          // SRLW
      break;
    case 0x20:
      if (f3 == 0) return sext32(a - b);                        // SUBW
      if (f3 == 5) return sext32(<u64>(<i32>a >> sh));          // SRAW
      break;
    case 0x01:
      switch (f3) {
        case 0: return sext32(a * b);                           // MULW
        case 4: return div32(a, b);                             // DIVW
        case 5: return divu32(a, b);                            // DIVUW
        case 6: return rem32(a, b);                             // REMW
        case 7: return remu32(a, b);                            // REMUW
      }
      break;
    case 0x04:
      if (f3 == 0) return (a & 0xffffffff) + b;                 // ADD.UW (Zba)
      if (f3 == 4 && rs2(inst) == 0) return a & 0xffff;         // ZEXT.H (Zbb)
      break;
    case 0x10:
      switch (f3) {
        case 2: return ((a & 0xffffffff) << 1) + b;             // SH1ADD.UW
        case 4: return ((a & 0xffffffff) << 2) + b;             // SH2ADD.UW
        case 6: return ((a & 0xffffffff) << 3) + b;             // SH3ADD.UW
      }
      break;
    case 0x30:
      if (f3 == 1) return sext32(<u64>rotl<u32>(<u32>a, sh));   // ROLW
      if (f3 == 5) return sext32(<u64>rotr<u32>(<u32>a, sh));   // RORW
      break;
  }
  raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
  return 0;
}

// ---- OP-IMM and OP-IMM-32 ------------------------------------------------------------
function opImm(inst: u32, a: u64): u64 {
  const imm = immI(inst);
  const sh = <u32>(imm & 63);
  const f6 = inst >> 26;
  switch (funct3(inst)) {
    case 0: return a + imm;                                     // ADDI
    case 2: return <i64>a < <i64>imm ? 1 : 0;                   // SLTI
    case 3: return a < imm ? 1 : 0;                             // SLTIU
    case 4: return a ^ imm;                                     // XORI
    case 6: return a | imm;                                     // ORI
    case 7: return a & imm;                                     // ANDI
    case 1:
      if (f6 == 0x00) return a << sh;                           // SLLI
      if (f6 == 0x12) return a & ~((<u64>1) << sh);             // BCLRI (Zbs)
      if (f6 == 0x1a) return a ^ ((<u64>1) << sh);              // BINVI
      if (f6 == 0x0a) return a | ((<u64>1) << sh);              // BSETI
      if ((inst >> 20) == 0x600) return clz<u64>(a);            // CLZ (Zbb)
      if ((inst >> 20) == 0x601) return ctz<u64>(a);            // CTZ
      if ((inst >> 20) == 0x602) return popcnt<u64>(a);         // CPOP
      if ((inst >> 20) == 0x604) return <u64>(<i64>(<i8>a));    // SEXT.B
      if ((inst >> 20) == 0x605) return <u64>(<i64>(<i16>a));   // SEXT.H
      break;
    case 5:
      if (f6 == 0x00) return a >> sh;                           // SRLI
      if (f6 == 0x10) return <u64>(<i64>a >> sh);               // SRAI
      if (f6 == 0x18) return rotr<u64>(a, sh);                  // RORI (Zbb)
      if (f6 == 0x12) return (a >> sh) & 1;                     // BEXTI (Zbs)
      if ((inst >> 20) == 0x287) return orcb(a);                // ORC.B
      if ((inst >> 20) == 0x6b8) return rev8(a);                // REV8
      break;
  }
  raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
  return 0;
}

function opImm32(inst: u32, a: u64): u64 {
  const imm = immI(inst);
  const sh = <u32>(imm & 31);
  const f7 = funct7(inst);
  switch (funct3(inst)) {
    case 0: return sext32(a + imm);                             // ADDIW
    case 1:
      if (f7 == 0x00) return sext32(a << sh);                   // SLLIW
      if ((inst >> 26) == 0x02) return (a & 0xffffffff) << (imm & 63); // SLLI.UW (Zba)
      if ((inst >> 20) == 0x600) return <u64>clz<u32>(<u32>a);  // CLZW (Zbb)
      if ((inst >> 20) == 0x601) return <u64>ctz<u32>(<u32>a);  // CTZW
      if ((inst >> 20) == 0x602) return <u64>popcnt<u32>(<u32>a); // CPOPW
      break;
    case 5:
      if (f7 == 0x00) return sext32(<u64>(<u32>a >> sh));       // SRLIW
      if (f7 == 0x20) return sext32(<u64>(<i32>a >> sh));       // SRAIW
      if (f7 == 0x30) return sext32(<u64>rotr<u32>(<u32>a, sh)); // RORIW (Zbb)
      break;
  }
  raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
  return 0;
}

// ---- LOAD and STORE -----------------------------------------------------------------
// One address translation for each width (1 << (funct3 & 3) bytes), then
// the load or store of that width: the seven loads and four stores share
// one copy of the inlined translation (memory.ts, guestAddress), which
// keeps both small enough to inline into the loop.
@inline function execLoad(inst: u32): void {
  const f3 = funct3(inst);
  if (f3 == 7) { raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst); return; }
  const a = loadAddress(getX(rs1(inst)) + immI(inst), <u64>1 << (f3 & 3));
  if (a == 0) {
    if (pendingExit == EXIT_MMIO_LOAD) {
      // The next run writes what the device returned (MMIO_PENDING).
      store<u32>(EXIT_MMIO_RD, rd(inst));
      store<u32>(EXIT_MMIO_SIGNED, f3 < 3 ? 1 : 0);
    }
    return;
  }
  let v: u64;
  switch (f3) {
    case 0: v = <u64>(<i64>load<i8>(a)); break;                 // LB
    case 1: v = <u64>(<i64>load<i16>(a)); break;                // LH
    case 2: v = <u64>(<i64>load<i32>(a)); break;                // LW
    case 3: v = load<u64>(a); break;                            // LD
    case 4: v = <u64>load<u8>(a); break;                        // LBU
    case 5: v = <u64>load<u16>(a); break;                       // LHU
    default: v = <u64>load<u32>(a);                             // LWU
  }
  setX(rd(inst), v);
}

@inline function execStore(inst: u32): void {
  const f3 = funct3(inst);
  if (f3 > 3) { raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst); return; }
  const size: u64 = <u64>1 << f3;
  const v = getX(rs2(inst));
  const a = storeAddress(getX(rs1(inst)) + immS(inst), size);
  if (a == 0) { mmioStoreData(f3 == 3 ? v : v & ((<u64>1 << (size << 3)) - 1)); return; }
  switch (f3) {
    case 0: store<u8>(a, <u8>v); break;                         // SB
    case 1: store<u16>(a, <u16>v); break;                       // SH
    case 2: store<u32>(a, <u32>v); break;                       // SW
    default: store<u64>(a, v);                                  // SD
  }
  if (a == SPLIT_BUFFER) finishSplitStore();
}

// ---- A extension ------------------------------------------------------------------------
// One hart per instance: every access is atomic by construction. The
// reservation is a single address; SC succeeds only on the reserved address and
// always clears it. Misaligned atomics raise address-misaligned exceptions (the
// spec allows this; Linux delivers SIGBUS).
//
// The encoding is decoded in full before the address is looked at: a
// reserved width, funct5 or LR with rs2 != 0 is an illegal instruction
// whatever rs1 holds, never a misaligned-address or access fault
// (docs/SECURITY.md, "The CPU's exceptions"; QEMU agrees).
@inline function amoOpValid(op: u32): bool {
  // LR, SC, and the nine AMOs: funct5 00000 00001 00010 00011 00100 01000
  // 01100 10000 10100 11000 11100.
  return op <= 0x04 || ((op & 3) == 0 && op != 0);
}

function execAmo(inst: u32): void {
  const f3 = funct3(inst);
  const op = inst >> 27;
  if ((f3 != 2 && f3 != 3) || !amoOpValid(op) || (op == 0x02 && rs2(inst) != 0)) {
    raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
    return;
  }
  const size: u64 = f3 == 2 ? 4 : 8;
  const addr = getX(rs1(inst));
  if (op == 0x02) { // LR
    if (addr & (size - 1)) { raiseException(CAUSE_MISALIGNED_LOAD, addr); return; }
    const a = lrAddress(addr, size);
    if (a == 0) return;
    setX(rd(inst), size == 4 ? sext32(<u64>load<u32>(a)) : load<u64>(a));
    store<u64>(RESERVATION, addr);
    return;
  }
  if (addr & (size - 1)) { raiseException(CAUSE_MISALIGNED_STORE, addr); return; }
  const a = amoAddress(addr, size);
  if (a == 0) return;
  const b = getX(rs2(inst));
  if (op == 0x03) { // SC
    const ok = load<u64>(RESERVATION) == addr;
    store<u64>(RESERVATION, u64.MAX_VALUE);
    if (ok) {
      if (size == 4) store<u32>(a, <u32>b); else store<u64>(a, b);
    }
    setX(rd(inst), ok ? 0 : 1);
    return;
  }
  const old: u64 = size == 4 ? sext32(<u64>load<u32>(a)) : load<u64>(a);
  let v: u64;
  // Comparisons of the W forms use the sign-extended (MIN/MAX) or the
  // zero-extended (MINU/MAXU) 32-bit values.
  const x = old, y = size == 4 ? sext32(b) : b;
  const xu = size == 4 ? old & 0xffffffff : old, yu = size == 4 ? b & 0xffffffff : b;
  switch (op) {
    case 0x01: v = b; break;                                   // AMOSWAP
    case 0x00: v = old + b; break;                             // AMOADD
    case 0x04: v = old ^ b; break;                             // AMOXOR
    case 0x0c: v = old & b; break;                             // AMOAND
    case 0x08: v = old | b; break;                             // AMOOR
    case 0x10: v = <i64>x < <i64>y ? x : y; break;             // AMOMIN
    case 0x14: v = <i64>x > <i64>y ? x : y; break;             // AMOMAX
    case 0x18: v = xu < yu ? xu : yu; break;                   // AMOMINU
    default: v = xu > yu ? xu : yu;                            // AMOMAXU (0x1c; amoOpValid)
  }
  if (size == 4) store<u32>(a, <u32>v); else store<u64>(a, v);
  setX(rd(inst), old);
}

// ---- Zicsr: the unprivileged CSRs -------------------------------------------------------
const CSR_FFLAGS: u32 = 0x001;
const CSR_FRM: u32 = 0x002;
const CSR_FCSR: u32 = 0x003;
const CSR_CYCLE: u32 = 0xc00;
const CSR_TIME: u32 = 0xc01;
const CSR_INSTRET: u32 = 0xc02;

// Whether the last readCsr found its CSR (and may access it from here).
let csrOk: bool = true;

// The CSR's value; csrOk false for one that does not exist or that the
// current privilege may not access. `supervisor`: the hart has S-mode.
function readCsr(csr: u32, instret: u64, supervisor: bool): u64 {
  csrOk = true;
  switch (csr) {
    case CSR_FFLAGS: case CSR_FRM: case CSR_FCSR:
      if (supervisor && fpOff()) break; // sstatus.FS Off: the FP CSRs are illegal too
      if (csr == CSR_FFLAGS) return getFcsr() & 0x1f;
      if (csr == CSR_FRM) return (getFcsr() >> 5) & 7;
      return getFcsr() & 0xff;
    case CSR_CYCLE: if (supervisor && !counterAllowed(0)) break; return instret;
    case CSR_TIME:
      if (supervisor && !counterAllowed(1)) break;
      if (load<u32>(EXIT_CONTROLS) & EXIT_ON_TIME) requestExit(EXIT_CSR);
      return load<u64>(TIME);
    case CSR_INSTRET: if (supervisor && !counterAllowed(2)) break; return instret;
    default:
      // csr[9:8] is the lowest privilege that may access it: 1 is S.
      if (supervisor && ((csr >> 8) & 3) == 1 && priv() != PRIV_U) {
        const v = readSupervisorCsr(csr);
        csrOk = csrValid;
        return v;
      }
  }
  csrOk = false;
  return 0;
}

// Effects of a CSR write the run loop must act on.
const CSR_EFFECT_INTERRUPTS: u32 = 1; // sstatus, sie, sip, stimecmp: look for an interrupt
const CSR_EFFECT_SATP: u32 = 2;

function writeCsr(csr: u32, v: u64, supervisor: bool): u32 {
  switch (csr) {
    case CSR_FFLAGS: setFcsr((getFcsr() & ~0x1f) | (<u32>v & 0x1f)); break;
    case CSR_FRM: setFcsr((getFcsr() & 0x1f) | ((<u32>v & 7) << 5)); break;
    case CSR_FCSR: setFcsr(<u32>v & 0xff); break;
    default:
      if (supervisor) {
        if (writeSupervisorCsr(csr, v)) return CSR_EFFECT_INTERRUPTS;
        return csr == CSR_SATP ? CSR_EFFECT_SATP : 0;
      }
      return 0;
  }
  if (supervisor) markFpDirty();
  return 0;
}

function execCsr(inst: u32, instret: u64, supervisor: bool): u32 {
  const csr = inst >> 20;
  const f3 = funct3(inst);
  const src: u64 = f3 >= 5 ? <u64>rs1(inst) : getX(rs1(inst)); // CSRR*I: zimm
  // CSRRS/CSRRC with x0 (or zimm 0) read without writing (spec, "CSR Instructions").
  const writes = f3 == 1 || f3 == 5 || rs1(inst) != 0;
  const old = readCsr(csr, instret, supervisor);
  // Unknown CSRs and writes to read-only ones (csr[11:10] == 3) are illegal.
  if (!csrOk || (writes && (csr >> 10) == 3)) {
    raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
    return 0;
  }
  let effect: u32 = 0;
  if (writes) {
    let v: u64;
    switch (f3 & 3) {
      case 1: v = src; break;                                   // CSRRW(I)
      case 2: v = old | src; break;                             // CSRRS(I)
      case 3: v = old & ~src; break;                            // CSRRC(I)
      default: raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst); return 0;
    }
    effect = writeCsr(csr, v, supervisor);
  }
  setX(rd(inst), old);
  return effect;
}

// For translations (src/cpu/jit/): one floating-point instruction on the
// state in memory, as the interpreter would execute it. Returns 1, and
// forgets the exception, when it would trap: the translation then stops
// before it and the interpreter executes it again, raising the exception
// with the right pc and instruction bits.
export function jitFloat(op: u32): u32 {
  execFloat(op);
  if (pendingExit == EXIT_NONE) return 0;
  clearPendingExit();
  return 1;
}

// A fresh virtual processor holds no reservation (runs once, when the
// instance starts: an SC before any LR must fail, even at address 0).
store<u64>(RESERVATION, u64.MAX_VALUE);

// ---- the run loop ------------------------------------------------------------------------

// Makes `size` bytes of guest RAM at guest address `base`, and grows linear
// memory to hold the first `grown` of them now (ring -1 grows it further
// before it hands out more; only page-permission mode, where every access
// goes through the slots ring -1 gives, can start with less than all). Both
// must be multiples of 4 KiB (pages are the unit of permissions and of the
// fetch cache). Returns false when the host refuses the memory.
export function configureRam(base: u64, size: u64, grown: u64): bool {
  if ((base | size) & 0xfff) return false;
  if (size > <u64>RAM_MAX || grown > size) return false;
  const end = <u64>RAM_OFFSET + grown;
  const needPages = <i32>((end + 0xffff) >> 16);
  const havePages = memory.size();
  if (needPages > havePages && memory.grow(needPages - havePages) < 0) return false;
  store<u64>(RAM_BASE, base);
  store<u64>(RAM_SIZE, size);
  return true;
}

// The exception just raised at `pc`, delivered to S-mode instead of exiting;
// returns the handler's pc.
function deliverFault(pc: u64): u64 {
  const handler = trapToSupervisor(<u64>load<u32>(EXIT_CAUSE), load<u64>(EXIT_ADDR), pc);
  refreshPermissions();
  clearPendingExit();
  return handler;
}

// What the run loop does before the next instruction (`events`).
const EV_LOOKUP: u32 = 1;
const EV_IRQ: u32 = 2;

// Heat: a jump target's count in the translation map grows by one a visit
// and by one more for every 2^HEAT_SHIFT instructions interpreted from it
// before the next lookup, so that code that runs long between jumps (an
// unrolled hash, a long straight-line block) gets hot by the work it does,
// not only by how often it is entered; branchy code, whose runs are
// shorter, counts as before. The target last counted and the budget left
// then are kept here, not in the loop's locals (the loop's values already
// crowd the host's registers); a translation's call or a new run forgets
// it. Module globals: never part of the CPU's state or a checkpoint.
const HEAT_SHIFT: u32 = 5;
let heatSlot: usize = 0;
let heatLeft: u64 = 0;

// The run since the last target counted (with `left` of the budget left
// now) is its heat, unless that entry has since been translated: its
// fourth word then counts nothing, and in a system VM holds the code's page.
@inline function settleHeat(left: u64): void {
  if (heatSlot != 0) {
    const ran = heatLeft - left;
    if (ran >> HEAT_SHIFT != 0 && load<u32>(heatSlot, 8) == 0) store<u32>(heatSlot, load<u32>(heatSlot, 12) + <u32>(ran >> HEAT_SHIFT), 12);
    heatSlot = 0;
  }
}

// The translation map's entry for a jump target.
@inline function jitSlot(pc: u64): usize {
  return <usize>JIT_MAP + ((<usize>(pc >> 1) & (JIT_MAP_ENTRIES - 1)) << 4);
}

// Exits after which the guest resumes past the instruction (it retired).
@inline function retiresOnExit(reason: u32): bool {
  return reason == EXIT_ECALL_U || reason == EXIT_ECALL_S || reason == EXIT_WFI || reason == EXIT_CSR;
}

// Completes the MMIO access the last run exited on (MMIO_PENDING): a load
// writes what ring -1 left in EXIT_DATA into its register, extended as the
// instruction says; either retires and steps past the instruction. A failed
// one (no device there) becomes the access fault, delivered to S-mode.
// Returns the pc to resume at.
function completeMmio(pc: u64, supervisor: bool): u64 {
  const pending = load<u32>(MMIO_PENDING);
  store<u32>(MMIO_PENDING, MMIO_NONE);
  const isLoad = (pending & 3) == MMIO_LOAD_PENDING;
  if (pending & MMIO_FAILED) {
    if (!supervisor) return pc;
    return trapToSupervisor(isLoad ? CAUSE_LOAD_ACCESS : CAUSE_STORE_ACCESS, load<u64>(EXIT_MMIO_VADDR), pc);
  }
  if (isLoad) {
    const size = load<u32>(EXIT_SIZE);
    let v = load<u64>(EXIT_DATA);
    if (size < 8) {
      const shift = <u64>(64 - size * 8);
      v = load<u32>(EXIT_MMIO_SIGNED) ? <u64>(<i64>(v << shift) >> shift) : (v << shift) >> shift;
    }
    setX(load<u32>(EXIT_MMIO_RD), v);
  }
  store<u64>(INSTRET, load<u64>(INSTRET) + 1);
  return pc + <u64>load<u32>(EXIT_INST_LEN);
}

// ---- the straight path ---------------------------------------------------------------
// Most of what a guest runs is integer arithmetic, loads, stores, branches
// and jumps: the major opcodes below, "straight" instructions. Nothing
// else in the run has to be looked at for them: they change no privilege,
// no CSR, no translation of addresses, and whatever they raise is a
// pending exit like any other.

// execStraight's answer for any other instruction (no pc is odd).
const NOT_STRAIGHT: u64 = 1;

// Executes `op` (its bits as fetched: `inst`) at `pc` if it is a straight
// instruction, and returns the pc after it (`next` unless it jumped); what
// it raises is left pending, its register not written. Any other
// instruction (an RVC_CACHE entry not yet filled, 0, or RVC_ILLEGAL
// included) is left alone: NOT_STRAIGHT.
@inline function execStraight(op: u32, inst: u32, pc: u64, next: u64): u64 {
  switch (op & 0x7f) {
    // The cases in the order of how often our guest Linux's boot runs them
    // (OP 21%, OP-IMM 18%, LOAD 15%, BRANCH 12%, OP-IMM-32 12%, STORE 9%,
    // OP-32 6%, JAL 3.5%): V8 tests them one after another. ADD, ADDI,
    // ADDIW and ADDW, a third of the boot's instructions, come first; the
    // rest of RV64I's OP and OP-IMM is done here too, without a call (a
    // call makes V8 spill the loop's values around it).
    case 0x33: {
      if ((op & 0xfe007000) == 0) { setX(rd(op), getX(rs1(op)) + getX(rs2(op))); break; }
      const a = getX(rs1(op)), b = getX(rs2(op));
      const f7 = funct7(op), f3 = funct3(op);
      let v: u64;
      if (f7 == 0) {
        switch (f3) {
          case 1: v = a << (b & 63); break;                               // SLL
          case 2: v = <i64>a < <i64>b ? 1 : 0; break;                     // SLT
          case 3: v = a < b ? 1 : 0; break;                               // SLTU
          case 4: v = a ^ b; break;                                       // XOR
          case 5: v = a >> (b & 63); break;                               // SRL
          case 6: v = a | b; break;                                       // OR
          default: v = a & b;                                             // AND
        }
      } else if (f7 == 0x20 && f3 == 0) v = a - b;                        // SUB
      else if (f7 == 0x20 && f3 == 5) v = <u64>(<i64>a >> (b & 63));      // SRA
      else {
        v = opReg(op, a, b);                                              // M, Zba, Zbb, Zbc, Zbs
        if (pendingExit != EXIT_NONE) return next;
      }
      setX(rd(op), v);
      break;
    }
    case 0x13: {
      if ((op & 0x7000) == 0) { setX(rd(op), getX(rs1(op)) + immI(op)); break; }
      const a = getX(rs1(op)), imm = immI(op);
      let v: u64;
      switch (funct3(op)) {
        case 2: v = <i64>a < <i64>imm ? 1 : 0; break;                     // SLTI
        case 3: v = a < imm ? 1 : 0; break;                               // SLTIU
        case 4: v = a ^ imm; break;                                       // XORI
        case 6: v = a | imm; break;                                       // ORI
        case 7: v = a & imm; break;                                       // ANDI
        default:
          if ((op >> 26) == 0) { v = funct3(op) == 1 ? a << (imm & 63) : a >> (imm & 63); break; } // SLLI, SRLI
          if ((op >> 26) == 0x10 && funct3(op) == 5) { v = <u64>(<i64>a >> (imm & 63)); break; } // SRAI
          v = opImm(op, a);                                               // Zbb, Zbs
          if (pendingExit != EXIT_NONE) return next;
      }
      setX(rd(op), v);
      break;
    }
    case 0x03: execLoad(op); break;
    case 0x63: {                                                          // BRANCH
      const x = getX(rs1(op)), y = getX(rs2(op));
      let taken: bool;
      switch (funct3(op)) {
        case 0: taken = x == y; break;                                    // BEQ
        case 1: taken = x != y; break;                                    // BNE
        case 4: taken = <i64>x < <i64>y; break;                           // BLT
        case 5: taken = <i64>x >= <i64>y; break;                          // BGE
        case 6: taken = x < y; break;                                     // BLTU
        case 7: taken = x >= y; break;                                    // BGEU
        default: raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst); taken = false;
      }
      if (taken) return pc + immB(op);
      break;
    }
    case 0x1b: {
      if ((op & 0x7000) == 0) { setX(rd(op), sext32(getX(rs1(op)) + immI(op))); break; }
      const v = opImm32(op, getX(rs1(op)));
      if (pendingExit == EXIT_NONE) setX(rd(op), v);
      break;
    }
    case 0x23: execStore(op); break;
    case 0x3b: {
      if ((op & 0xfe007000) == 0) { setX(rd(op), sext32(getX(rs1(op)) + getX(rs2(op)))); break; }
      const v = opReg32(op, getX(rs1(op)), getX(rs2(op)));
      if (pendingExit == EXIT_NONE) setX(rd(op), v);
      break;
    }
    case 0x6f:                                                            // JAL
      setX(rd(op), next);
      return pc + immJ(op);
    case 0x67: {                                                          // JALR
      if (funct3(op) != 0) { raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst); break; }
      const target = (getX(rs1(op)) + immI(op)) & ~(<u64>1);
      setX(rd(op), next);
      return target;
    }
    case 0x17: setX(rd(op), pc + immU(op)); break;                        // AUIPC
    case 0x37: setX(rd(op), immU(op)); break;                             // LUI
    default: return NOT_STRAIGHT;
  }
  return next;
}

// run()'s loop carries a dozen values (the budget, the events, the traps,
// the fetch page, the exit's fields), more than the host has registers
// for, and V8 spills them to the stack at every instruction. runStraight
// runs straight instructions in a loop of its own, which carries five:
// some 15% fewer host instructions a guest instruction (docs/PERFORMANCE.md,
// "The straight path"). It must stay a function of its own: binaryen does
// not inline a function with a loop, as it does others called once.
//
// From `pc`, at most `left` instructions, while they are straight and in
// the page `page` (at linear address `base`). It stops before an
// instruction it does not run: in another page (or crossing its end), a
// compressed form not yet expanded, one that is not straight. Returns how
// many instructions it counted down, one that raised an exit included;
// where it stopped is in the globals below.
//
// With `threshold` (run()'s JIT_THRESHOLD; 0, translation off) it also
// stops after a taken jump or branch, for run() to look its target up,
// unless the lookup would only count a visit: a target known, not
// translated and not hot after this visit (or never to be translated).
// Then it counts it here, its heat as run() would, and goes on. In a
// system VM (`system`) lookups are keyed by the code's RAM page too
// (codePageOf), which the loop knows only for a target in its own page
// (the fetch's); it stops for a target in another page, and run() looks
// that one up. (A branch or jump to the instruction after it is not taken
// here, nor in run(): no lookup there.)
//
// The loop is made twice, without the jump's test (translation off) and
// with it: testing `threshold` at every instruction cost some 14 host
// instructions a guest instruction in an ALU loop (docs/PERFORMANCE.md,
// "The straight path").
const STRAIGHT_BEFORE: u32 = 0;  // before the instruction at straightPc
const STRAIGHT_JUMPED: u32 = 1;  // after a taken jump to straightPc
const STRAIGHT_EXITED: u32 = 2;  // the instruction at straightPc raised an exit: its bits and length below
let straightPc: u64 = 0;
let straightStop: u32 = STRAIGHT_BEFORE;
let straightInst: u32 = 0;
let straightLen: u32 = 0;

@inline function runStraight(pc: u64, left: u64, page: u64, base: usize, threshold: u32, system: bool): u64 {
  return threshold == 0 ? straightPlain(pc, left, page, base) : straightLooking(pc, left, page, base, threshold, system);
}
function straightPlain(pc: u64, left: u64, page: u64, base: usize): u64 {
  return straightLoop(pc, left, page, base, 0, false, false);
}
function straightLooking(pc: u64, left: u64, page: u64, base: usize, threshold: u32, system: bool): u64 {
  return straightLoop(pc, left, page, base, threshold, system, true);
}
// (`looking`, a constant in each, folds away.)
@inline function straightLoop(pc: u64, left: u64, page: u64, base: usize, threshold: u32, system: bool, looking: bool): u64 {
  let n: u64 = 0;
  let stop = STRAIGHT_BEFORE;
  // No page fetched from yet: nothing runs here (below, a pc outside the
  // page must give an offset over 0xffc, which only a page's base does).
  if (page & 0xfff) left = 0;
  while (n < left) {
    // In the page, and not crossing its end, in one unsigned comparison: a
    // pc below the page wraps to an offset of 2^64 less at most its base.
    const offset = pc - page;
    if (offset > 0xffc) break;
    let inst = load<u32>(base + <usize>offset);
    let op = inst;
    let len: u32 = 4;
    if ((inst & 3) != 3) {
      inst &= 0xffff;
      op = load<u32>(<usize>RVC_CACHE + (<usize>inst << 2));
      len = 2;
    }
    const next = pc + len;
    const after = execStraight(op, inst, pc, next);
    if (after == NOT_STRAIGHT) break;
    n++;
    if (pendingExit != EXIT_NONE) {
      straightInst = inst;
      straightLen = len;
      stop = STRAIGHT_EXITED;
      break;
    }
    pc = after;
    if (looking && after != next) {
      // With the budget spent, run() ends the run before its lookup, and
      // the next run looks pc up on entry: so does this.
      if (n == left) { stop = STRAIGHT_JUMPED; break; }
      if (system) {
        // Where run() would not look the target up, neither does this.
        if (!codeLookups(pc)) continue;
        // A target in another page (or crossing its end) has its RAM page
        // from the TLB: run() looks it up.
        if (pc - page > 0xffc) { stop = STRAIGHT_JUMPED; break; }
      }
      settleHeat(left - n);
      const slot = jitSlot(pc);
      if (load<u64>(slot) != pc) { stop = STRAIGHT_JUMPED; break; }
      const fn = load<u32>(slot, 8);
      if (fn == 0) {
        const visits = load<u32>(slot, 12) + 1;
        if (visits >= threshold) { stop = STRAIGHT_JUMPED; break; }
        store<u32>(slot, visits, 12);
        heatSlot = slot;
        heatLeft = left - n;
      } else if (fn != JIT_NEVER) {
        stop = STRAIGHT_JUMPED;
        break;
      }
    }
  }
  straightPc = pc;
  straightStop = stop;
  return n;
}

// Executes guest instructions until an event the hypervisor asked to see, at
// most `budget` of them. Returns the exit reason; details are in the exit block.
export function run(budget: u64): u32 {
  refreshMemoryConfig();
  refreshUserTlb();
  clearPendingExit();
  const controls = load<u32>(EXIT_CONTROLS);
  const supervisor = (controls & CTRL_SUPERVISOR) != 0;
  let pc = load<u64>(PC);
  resumeJit(); // (ring -1 has dropped what the last run's stores made stale)
  refreshMmu(supervisor);
  if (load<u32>(MMIO_PENDING) != MMIO_NONE) pc = completeMmio(pc, supervisor);
  if (supervisor) refreshPermissions(); // (a failed MMIO access may have trapped)
  let left = budget;
  heatSlot = 0;
  // Instructions retired so far are budget - left, less the one that is
  // executing (left is counted down before it runs) and less the traps
  // delivered to S-mode (below): no counter per instruction.
  const instretBase = load<u64>(INSTRET);
  let inst: u32 = 0;
  let len: u32 = 0;
  let fetchPage: u64 = u64.MAX_VALUE; // guest address of the page last fetched from
  let fetchBase: usize = 0;           // its linear address
  // Work before the next instruction, one test per instruction for all of
  // it: EV_LOOKUP, look for a translation (src/cpu/jit/) at pc, set by taken
  // jumps and branches, on entry, and one instruction after a translation
  // stopped short; EV_IRQ, with S-mode, look for an interrupt to take (on
  // entry, and after whatever may have changed sip, sie or sstatus).
  const threshold = load<u32>(JIT_THRESHOLD);
  const lookupEvent: u32 = threshold != 0 ? EV_LOOKUP : 0;
  let events: u32 = lookupEvent | (supervisor ? EV_IRQ : 0);
  if (supervisor) updateTimerPending();
  // Instructions that trapped into S-mode: each used its unit of budget
  // (so that a handler that traps again and again still ends the run) but
  // retired nothing.
  let traps: u64 = 0;
  // Whether to try runStraight before the next instruction.
  let straight = true;

  while (true) {
    if (left == 0) { requestExit(EXIT_BUDGET); break; }
    if (events != 0) {
      const look = events & EV_LOOKUP;
      if (events & EV_IRQ) {
        const irq = pendingInterrupt();
        if (irq >= 0) {
          pc = trapToSupervisor((<u64>1 << 63) | <u64>irq, 0, pc);
          refreshPermissions();
          fetchPage = u64.MAX_VALUE;
        }
      }
      events = 0;
      // In a system VM a translation is for the code of one RAM page seen
      // at one virtual address: pc and the page the TLB fetches it from
      // (1 + its index; 0, no lookup: a TLB miss, the MMU off). An entry's
      // fourth word, its visits until it is translated, holds that page
      // after (jit.ts).
      const codePage: u32 = look && supervisor ? codePageOf(pc, fetchPage, fetchBase) : 0;
      if (look && (!supervisor || codePage != 0)) {
      settleHeat(left);
      const slot = jitSlot(pc);
      if (load<u64>(slot) == pc) {
        const fn = load<u32>(slot, 8);
        if (fn == 0) {
          const visits = load<u32>(slot, 12) + 1;
          store<u32>(slot, visits, 12);
          if (visits >= threshold) { store<u32>(JIT_HOT_PAGE, codePage); requestExit(EXIT_HOT); break; }
          heatSlot = slot; heatLeft = left;
        } else if (supervisor && fn != JIT_NEVER && load<u32>(slot, 12) != codePage) {
          // Other code at this address now (another process, a remapped
          // page): ring -1 finds or makes the translation for this page.
          store<u32>(JIT_HOT_PAGE, codePage); requestExit(EXIT_HOT); break;
        } else if (fn != JIT_NEVER) {
          // The flag bit is the budget's top bit: a budget that large is
          // handed over in part (it cannot run out inside one call anyway).
          const over = left > JIT_BAIL - 1 ? left - (JIT_BAIL - 1) : 0;
          const r = call_indirect<u64>(fn, left - over);
          left = (r & ~JIT_BAIL) + over;
          if (supervisor) {
            // The interpreter would have fetched from the region's page
            // last: the next fetch takes the TLB (and may walk) exactly
            // when it would have (a walk reads page tables, which the guest
            // may have changed without sfence.vma, and sets A bits).
            fetchPage = pc & ~(<u64>0xfff);
            fetchBase = <usize>RAM_OFFSET + (<usize>(codePage - 1) << 12);
          }
          pc = load<u64>(PC);
          events = lookupEvent;
          // Stopped short: the instruction it left is interpreted now, and
          // the next one looked up again. If that is an access the
          // translations' TLB missed, its entry is filled first.
          if ((r & JIT_BAIL) == 0) continue;
          if (!supervisor) fillUserTlb();
          if (left == 0) { requestExit(EXIT_BUDGET); break; }
        }
      } else {
        store<u64>(slot, pc);
        store<u64>(slot, 1 << 32, 8); // no translation, one visit
        if (threshold == 1) { store<u32>(JIT_HOT_PAGE, codePage); requestExit(EXIT_HOT); break; }
        heatSlot = slot; heatLeft = left;
      }
      }
    }
    // Straight instructions first, unless a lookup or an interrupt is due
    // before the next one, or the last instruction was not straight (code
    // dense with others, floating point, runs them here one at a time
    // without a call to runStraight for each).
    let exited = false;
    if (events == 0 && straight) {
      left -= runStraight(pc, left, fetchPage, fetchBase, threshold, supervisor);
      pc = straightPc;
      if (straightStop == STRAIGHT_JUMPED) { events = lookupEvent; continue; }
      exited = straightStop == STRAIGHT_EXITED;
      if (!exited && left == 0) continue;
      // Into another page (a call or return, the code running off its
      // page's end): when the fetch below would find that page at once,
      // the straight loop goes on there without it.
      if (!exited && pc - fetchPage > 0xffc && (<u32>pc & 0xfff) <= 0xffc) {
        const at = codePageAt(pc);
        if (at != 0) {
          fetchPage = pc & ~(<u64>0xfff);
          fetchBase = at;
          continue;
        }
      }
    }
    let next: u64;
    if (exited) {
      // It raised an exit, taken below as if this loop had run it.
      inst = straightInst;
      len = straightLen;
      next = pc + len;
    } else {
      left--;

      // Fetch. The page of the last fetch is remembered for the whole run (the
      // hypervisor changes permissions only between runs): inside it, an
      // instruction is read with no checks at all. Reading 4 bytes for a 2-byte
      // instruction stays inside the page (offset <= 4092).
      len = 0;
      inst = 0;
      const pageOffset = <u32>pc & 0xfff;
      if ((pc & ~(<u64>0xfff)) == fetchPage && pageOffset <= 0xffc) {
        inst = load<u32>(fetchBase + pageOffset);
      } else {
        // A fetch fault goes to S-mode when there is one, else out.
        const a = fetchAddress(pc, 2);
        if (a == 0) {
          if (controls & CTRL_SUPERVISOR) { pc = deliverFault(pc); traps++; fetchPage = u64.MAX_VALUE; continue; }
          break;
        }
        inst = <u32>load<u16>(a);
        if ((inst & 3) == 3) {
          const b = fetchAddress(pc + 2, 2);
          if (b == 0) {
            inst = 0;
            if (controls & CTRL_SUPERVISOR) { pc = deliverFault(pc); traps++; fetchPage = u64.MAX_VALUE; continue; }
            break;
          }
          inst |= (<u32>load<u16>(b)) << 16;
        }
        if (pageOffset <= 0xffc) {
          fetchPage = pc & ~(<u64>0xfff);
          fetchBase = a - pageOffset;
        }
      }
      let op: u32;
      if ((inst & 3) == 3) {
        len = 4;
        op = inst;
      } else {
        inst &= 0xffff;
        len = 2;
        // Each parcel is expanded once, then read back from RVC_CACHE.
        const slot = <usize>RVC_CACHE + (<usize>inst << 2);
        op = load<u32>(slot);
        if (op == 0) {
          op = expandCompressed(inst);
          if (op == 0) op = RVC_ILLEGAL;
          store<u32>(slot, op);
        }
        if (op == RVC_ILLEGAL) {
          raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
          if (controls & CTRL_SUPERVISOR) { pc = deliverFault(pc); traps++; continue; }
          break;
        }
      }

      next = pc + len;
      straight = false;
      switch (op & 0x7f) {
        // Floating point first: of what comes here, code dense with it runs most.
        case 0x07: case 0x27: case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53:
          if (controls & CTRL_SUPERVISOR) {
            // sstatus.FS: Off makes every FP instruction illegal; any other
            // state becomes Dirty (an FP instruction may write FP state).
            if (fpOff()) { raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst); break; }
            markFpDirty();
          }
          execFloat(op);
          break;
        case 0x2f: execAmo(op); break;
        case 0x0f:                                                          // MISC-MEM
          // FENCE orders nothing on one in-order hart. FENCE.I has nothing to
          // flush: a store to a page with translations is seen as it happens
          // (a withheld W in a process VM; CODE_PAGE and the TLB in a system
          // VM, mmu.ts), and ring -1 drops them when a page's permissions or
          // bytes change (src/cpu/jit/).
          if (funct3(op) > 1) raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
          break;
        case 0x73:                                                          // SYSTEM
          if (funct3(op) == 0) {
            const user = (controls & CTRL_SUPERVISOR) == 0 || priv() == PRIV_U;
            if (op == 0x00000073) {                                         // ECALL
              if (user) {
                if (controls & EXIT_ON_ECALL_U) requestExit(EXIT_ECALL_U);
                else raiseException(CAUSE_ECALL_U, 0);
              } else if (controls & EXIT_ON_ECALL_S) requestExit(EXIT_ECALL_S); // an SBI call
              else raiseException(CAUSE_ECALL_S, 0);
            } else if (op == 0x00100073) {                                  // EBREAK
              if (controls & EXIT_ON_EBREAK) requestExit(EXIT_EBREAK);
              else raiseException(CAUSE_BREAKPOINT, pc);
            } else if (user) {
              // SRET, WFI, SFENCE.VMA, … are privileged: illegal in U-mode.
              raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
            } else if (op == 0x10200073) {                                  // SRET
              next = supervisorReturn();
              refreshPermissions();
              events |= EV_IRQ;
              fetchPage = u64.MAX_VALUE;
              if (controls & EXIT_ON_SRET) requestExit(EXIT_CSR);
            } else if (op == 0x10500073) {                                  // WFI
              requestExit(EXIT_WFI);
            } else if ((op >> 25) == 0x09 && rd(op) == 0) {                 // SFENCE.VMA
              // By address: that page's translation; else all of them.
              if (rs1(op) != 0) flushTlbPage(getX(rs1(op)));
              else flushTlb();
              fetchPage = u64.MAX_VALUE;
              if (controls & EXIT_ON_SFENCE) requestExit(EXIT_CSR);
            } else {
              raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
            }
          } else if (funct3(op) == 4) {
            raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
          } else {
            const effect = execCsr(op, instretBase + (budget - left - traps - 1), (controls & CTRL_SUPERVISOR) != 0);
            if (effect == CSR_EFFECT_INTERRUPTS) {
              events |= EV_IRQ;
              refreshPermissions(); // sstatus.SUM or MXR may have changed
            } else if (effect == CSR_EFFECT_SATP) {
              flushTlb();
              refreshMmu(true);
              fetchPage = u64.MAX_VALUE;
              if (controls & EXIT_ON_SATP) requestExit(EXIT_CSR);
            }
          }
          break;
        default:
          // A straight instruction here: one that was fetched across a page,
          // or just expanded, or must run alone before a lookup.
          const after = execStraight(op, inst, pc, next);
          if (after == NOT_STRAIGHT) raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
          else {
            straight = true;
            if (after != next) { next = after; events |= lookupEvent; }
          }
      }
    }

    if (pendingExit != EXIT_NONE) {
      const why = pendingExit;
      if (why == EXIT_FAULT && (controls & CTRL_SUPERVISOR) != 0) {
        // Delivered to S-mode: the instruction did not retire, the handler runs next.
        pc = deliverFault(pc);
        traps++;
        fetchPage = u64.MAX_VALUE;
        continue;
      }
      // These exits retire their instruction: the guest resumes after it.
      if (retiresOnExit(why)) { store<u64>(EXIT_PC, pc); pc = next; }
      break;
    }
    pc = next;
  }

  // Complete the exit block. `pc` is where the guest resumes; EXIT_PC is the
  // instruction that exited (the ecall itself for ECALL_U).
  const reason = pendingExit;
  // Every exit but the budget's and a hot target's counted down its own
  // instruction; of those, the retiring ones retired it.
  const retired = budget - left - traps - (reason == EXIT_BUDGET || reason == EXIT_HOT || retiresOnExit(reason) ? 0 : 1);
  if (!retiresOnExit(reason)) store<u64>(EXIT_PC, pc); // (a retiring exit stored its instruction's)
  // A budget exit is about no instruction (the one at pc has not been
  // fetched); its bits and length read 0, whoever ran the last one.
  if (reason == EXIT_BUDGET || reason == EXIT_HOT) { inst = 0; len = 0; }
  store<u32>(EXIT_INST, inst);
  store<u32>(EXIT_INST_LEN, len);
  store<u64>(PC, pc);
  store<u64>(INSTRET, instretBase + retired);
  // An MMIO exit is completed by the next run, once ring -1 has answered.
  if (reason == EXIT_MMIO_LOAD) store<u32>(MMIO_PENDING, MMIO_LOAD_PENDING);
  else if (reason == EXIT_MMIO_STORE) store<u32>(MMIO_PENDING, MMIO_STORE_PENDING);
  store<u64>(BUDGET_LEFT, left);
  if (reason < EXIT_REASON_COUNT) {
    const counter = EXIT_COUNTS + (reason << 3);
    store<u64>(counter, load<u64>(counter) + 1);
  }
  return reason;
}
