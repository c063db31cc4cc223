// An encoder (and a matching disassembler) for RV64GC + Zicsr + Zifencei +
// Zba + Zbb + Zbs, written from the RISC-V unprivileged specification
// ("RV32/64G Instruction Set Listings", "RVC Instruction Set Listings", and
// the Zb* chapter) for the CPU tests. No toolchain needed.
//
// One table drives both directions: each instruction is a name, its fixed
// bits (match) and an operand template such as "rd, rs1, imm". The encoder
// puts operand values into the fields the template names; the disassembler
// finds the row whose fixed bits match and prints the operands in GNU as
// syntax, so `disasm(word)` can be fed back to `riscv64-linux-gnu-as`
// (test/cpu-encoding.test.ts does, when the toolchain is installed).
//
// Named encoders follow the spec's mnemonics with `.` spelled `_`:
// `addi(rd, rs1, imm)`, `fadd_s(rd, rs1, rs2, rm)`, `amoadd_w(rd, rs2, rs1,
// aq, rl)`, `c_addi(rd, imm)`. They return the instruction word as an
// unsigned number (16-bit forms: 0..0xffff) and throw RangeError for an
// operand that does not fit its field or for a reserved encoding.

// ---- registers ------------------------------------------------------------------
export const X_ABI = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
];
export const F_ABI = [
  'ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5',
  'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11',
];
export const ZERO = 0, RA = 1, SP = 2, GP = 3, TP = 4, T0 = 5, T1 = 6, T2 = 7, S0 = 8, S1 = 9;
export const A0 = 10, A1 = 11, A2 = 12, A3 = 13, A4 = 14, A5 = 15, A6 = 16, A7 = 17;
export const S2 = 18, S3 = 19, S4 = 20, S5 = 21, S6 = 22, S7 = 23, S8 = 24, S9 = 25, S10 = 26, S11 = 27;
export const T3 = 28, T4 = 29, T5 = 30, T6 = 31;

/** Rounding modes (spec, "Rounding Mode encoding"); 5 and 6 are reserved. */
export enum RM { RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4, DYN = 7 }
export const RM_NAMES = ['rne', 'rtz', 'rdn', 'rup', 'rmm', 'rm5', 'rm6', 'dyn'];

/** The unprivileged CSRs by number. */
export const CSR = { fflags: 0x001, frm: 0x002, fcsr: 0x003, cycle: 0xc00, time: 0xc01, instret: 0xc02,
  // The supervisor CSRs (privileged spec, "Supervisor-Level ISA"; stimecmp from Sstc), for system VMs.
  sstatus: 0x100, sie: 0x104, stvec: 0x105, scounteren: 0x106, senvcfg: 0x10a,
  sscratch: 0x140, sepc: 0x141, scause: 0x142, stval: 0x143, sip: 0x144, stimecmp: 0x14d, satp: 0x180 } as const;
const CSR_NAMES = new Map<number, string>(Object.entries(CSR).map(([k, v]) => [v, k]));

// ---- operand fields ----------------------------------------------------------------
// Each field knows its bits in the word, how to put a value there (range
// checked) and get it back, and how to print it.
interface Field {
  bits: number;
  put(v: number, name: string): number;
  get(w: number): number;
  show(v: number): string;
}

function fail(name: string, what: string, v: number): never {
  throw new RangeError(`${name}: ${what} ${v} does not fit`);
}

// A contiguous field of `width` bits at `lo`.
function plain(lo: number, width: number, show: (v: number) => string = String): Field {
  const max = 2 ** width;
  return {
    bits: ((max - 1) * 2 ** lo) >>> 0,
    put(v, name) {
      if (!Number.isInteger(v) || v < 0 || v >= max) fail(name, `field of ${width} bits at ${lo}:`, v);
      return (v * 2 ** lo) >>> 0;
    },
    get: (w) => Math.floor((w >>> 0) / 2 ** lo) % max,
    show,
  };
}

const xreg = (v: number) => X_ABI[v];
const freg = (v: number) => F_ABI[v];
const hex = (v: number) => '0x' + v.toString(16);
const pcrel = (v: number) => (v < 0 ? `.${v}` : `.+${v}`);

// A scattered immediate: `map` lists, for each immediate bit from the lowest
// `first` upward, the word bit it lives in (from the spec's bit diagrams).
function scattered(opts: {
  map: number[]; first: number; signed: boolean; show?: (v: number) => string; nonzero?: boolean;
}): Field {
  const { map, first, signed } = opts;
  const width = first + map.length;
  let bits = 0;
  for (const b of map) bits |= 1 << b;
  const lo = signed ? -(2 ** (width - 1)) : 0;
  const hi = signed ? 2 ** (width - 1) - 1 : 2 ** width - 1;
  const align = 2 ** first;
  return {
    bits: bits >>> 0,
    put(v, name) {
      if (!Number.isInteger(v) || v < lo || v > hi || v % align !== 0) fail(name, `immediate (range ${lo}..${hi}, multiple of ${align})`, v);
      if (opts.nonzero && v === 0) fail(name, 'immediate must be non-zero:', v);
      const u = v < 0 ? v + 2 ** width : v;
      let w = 0;
      map.forEach((b, i) => { if (Math.floor(u / 2 ** (first + i)) % 2) w |= 1 << b; });
      return w >>> 0;
    },
    get(w) {
      let u = 0;
      map.forEach((b, i) => { if ((w >>> b) & 1) u += 2 ** (first + i); });
      return signed && u >= 2 ** (width - 1) ? u - 2 ** width : u;
    },
    show: opts.show ?? String,
  };
}
// Bits of a field from a spec diagram: `spec` lists immediate bit numbers
// from the field's top word bit `top` downward, e.g. C.LW's "5:3" at 12:10 is
// [5,4,3] at top 12.
function diagram(parts: Array<[top: number, immBits: number[]]>): Map<number, number> {
  const m = new Map<number, number>();
  for (const [top, imm] of parts) imm.forEach((b, i) => m.set(b, top - i));
  return m;
}
function immField(parts: Array<[number, number[]]>, opts: { signed: boolean; show?: (v: number) => string; nonzero?: boolean }): Field {
  const m = diagram(parts);
  const first = Math.min(...m.keys());
  const last = Math.max(...m.keys());
  const map: number[] = [];
  for (let b = first; b <= last; b++) {
    const at = m.get(b);
    if (at === undefined) throw new Error(`immediate diagram misses bit ${b}`);
    map.push(at);
  }
  return scattered({ map, first, ...opts });
}
const range = (hi: number, lo: number) => Array.from({ length: hi - lo + 1 }, (_, i) => hi - i);

// Register fields.
const regField = (lo: number, show: (v: number) => string, base = 0, width = 5): Field => {
  const f = plain(lo, width);
  return {
    bits: f.bits,
    put: (v, name) => {
      if (!Number.isInteger(v) || v - base < 0 || v - base >= 2 ** width) fail(name, 'register', v);
      return f.put(v - base, name);
    },
    get: (w) => f.get(w) + base,
    show,
  };
};

const FIELDS: Record<string, Field> = {
  // 32-bit formats
  rd: regField(7, xreg), rs1: regField(15, xreg), rs2: regField(20, xreg),
  fd: regField(7, freg), fs1: regField(15, freg), fs2: regField(20, freg), fs3: regField(27, freg),
  imm: immField([[31, range(11, 0)]], { signed: true }),
  simm: immField([[31, range(11, 5)], [11, range(4, 0)]], { signed: true }),
  boff: immField([[31, [12]], [30, range(10, 5)], [11, range(4, 1)], [7, [11]]], { signed: true, show: pcrel }),
  joff: immField([[31, [20]], [30, range(10, 1)], [20, [11]], [19, range(19, 12)]], { signed: true, show: pcrel }),
  uimm20: plain(12, 20, hex),
  sh6: plain(20, 6), sh5: plain(20, 5),
  csr: plain(20, 12, (v) => CSR_NAMES.get(v) ?? hex(v)),
  zimm: plain(15, 5),
  rm: plain(12, 3, (v) => RM_NAMES[v]),
  pred: plain(24, 4, fenceSet), succ: plain(20, 4, fenceSet),
  aqrl: plain(25, 2),
  // 16-bit formats (spec, "Compressed Instruction Formats")
  crd: regField(7, xreg), crs2: regField(2, xreg), cfd: regField(7, freg), cfs2: regField(2, freg),
  rdp: regField(2, xreg, 8, 3), rs1p: regField(7, xreg, 8, 3), rs2p: regField(2, xreg, 8, 3),
  fdp: regField(2, freg, 8, 3), fs2p: regField(2, freg, 8, 3),
  cimm: immField([[12, [5]], [6, range(4, 0)]], { signed: true }),
  cshamt: immField([[12, [5]], [6, range(4, 0)]], { signed: false }),
  // C.LUI's operand is written as gas does: the 20-bit lui immediate,
  // 1..0x1f or 0xfffe0..0xfffff. Stored as nzimm[17:12].
  clui: cluiField(),
  c16sp: immField([[12, [9]], [6, [4, 6, 8, 7, 5]]], { signed: true, nonzero: true }),
  c4spn: immField([[12, [5, 4, 9, 8, 7, 6, 2, 3]]], { signed: false, nonzero: true }),
  clw: immField([[12, [5, 4, 3]], [6, [2, 6]]], { signed: false }),
  cld: immField([[12, [5, 4, 3]], [6, [7, 6]]], { signed: false }),
  clwsp: immField([[12, [5]], [6, [4, 3, 2, 7, 6]]], { signed: false }),
  cldsp: immField([[12, [5]], [6, [4, 3, 8, 7, 6]]], { signed: false }),
  cswsp: immField([[12, [5, 4, 3, 2, 7, 6]]], { signed: false }),
  csdsp: immField([[12, [5, 4, 3, 8, 7, 6]]], { signed: false }),
  cboff: immField([[12, [8, 4, 3]], [6, [7, 6, 2, 1, 5]]], { signed: true, show: pcrel }),
  cjoff: immField([[12, [11, 4, 9, 8, 10, 6, 7, 3, 2, 1, 5]]], { signed: true, show: pcrel }),
};

function fenceSet(v: number): string {
  const s = (v & 8 ? 'i' : '') + (v & 4 ? 'o' : '') + (v & 2 ? 'r' : '') + (v & 1 ? 'w' : '');
  return s || '0';
}

function cluiField(): Field {
  const f = immField([[12, [17]], [6, range(16, 12)]], { signed: true });
  return {
    bits: f.bits,
    put(v, name) {
      // accept the 20-bit form (gas) or the signed nzimm[17:12] value >> 12
      const s = v >= 0xfffe0 && v <= 0xfffff ? v - 0x100000 : v;
      if (s === 0 || s < -32 || s > 31) fail(name, 'c.lui immediate (1..0x1f or 0xfffe0..0xfffff)', v);
      return f.put(s * 4096, name);
    },
    get(w) { const s = f.get(w) / 4096; return s < 0 ? s + 0x100000 : s; },
    show: hex,
  };
}

// ---- the instruction table --------------------------------------------------------
interface Op {
  name: string;
  match: number;
  length: 2 | 4;
  /** Operand names in order, and the template they print in. */
  operands: string[];
  template: string;
  mask: number;
  /** Extra validity rule for encodings (reserved forms) and for decoding. */
  valid?: (w: number) => boolean;
  amo?: boolean;
}

const OPS: Op[] = [];
const BY_NAME = new Map<string, Op>();

function def(name: string, match: number, template: string, valid?: (w: number) => boolean, length?: 2 | 4): void {
  const operands = template.match(/[a-z0-9_]+/gi)?.filter((t) => t in FIELDS) ?? [];
  const len: 2 | 4 = length ?? ((match & 3) === 3 ? 4 : 2);
  let mask = len === 4 ? 0xffffffff : 0xffff;
  for (const o of operands) mask &= ~FIELDS[o].bits;
  const op: Op = { name, match: match >>> 0, length: len, operands, template, mask: mask >>> 0, valid, amo: operands.includes('aqrl') };
  if (op.amo) op.template = template.replace(/,?\s*aqrl/, '');
  OPS.push(op);
  BY_NAME.set(name, op);
}

// Fixed-bit builders for the 32-bit formats.
const R = (opcode: number, f3: number, f7: number) => ((f7 << 25) | (f3 << 12) | opcode) >>> 0;
const I = (opcode: number, f3: number) => ((f3 << 12) | opcode) >>> 0;
const IMM12 = (opcode: number, f3: number, imm12: number) => ((imm12 << 20) | (f3 << 12) | opcode) >>> 0;

const OP = 0x33, OP32 = 0x3b, OPIMM = 0x13, OPIMM32 = 0x1b, LOAD = 0x03, STORE = 0x23, BRANCH = 0x63;
const AMO = 0x2f, SYSTEM = 0x73, LOADFP = 0x07, STOREFP = 0x27, OPFP = 0x53;

// RV64I
def('lui', 0x37, 'rd, uimm20');
def('auipc', 0x17, 'rd, uimm20');
def('jal', 0x6f, 'rd, joff');
def('jalr', I(0x67, 0), 'rd, imm(rs1)');
for (const [n, f3] of [['beq', 0], ['bne', 1], ['blt', 4], ['bge', 5], ['bltu', 6], ['bgeu', 7]] as const) def(n, I(BRANCH, f3), 'rs1, rs2, boff');
for (const [n, f3] of [['lb', 0], ['lh', 1], ['lw', 2], ['ld', 3], ['lbu', 4], ['lhu', 5], ['lwu', 6]] as const) def(n, I(LOAD, f3), 'rd, imm(rs1)');
for (const [n, f3] of [['sb', 0], ['sh', 1], ['sw', 2], ['sd', 3]] as const) def(n, I(STORE, f3), 'rs2, simm(rs1)');
for (const [n, f3] of [['addi', 0], ['slti', 2], ['sltiu', 3], ['xori', 4], ['ori', 6], ['andi', 7]] as const) def(n, I(OPIMM, f3), 'rd, rs1, imm');
def('slli', R(OPIMM, 1, 0), 'rd, rs1, sh6');
def('srli', R(OPIMM, 5, 0), 'rd, rs1, sh6');
def('srai', R(OPIMM, 5, 0x20), 'rd, rs1, sh6');
def('addiw', I(OPIMM32, 0), 'rd, rs1, imm');
def('slliw', R(OPIMM32, 1, 0), 'rd, rs1, sh5');
def('srliw', R(OPIMM32, 5, 0), 'rd, rs1, sh5');
def('sraiw', R(OPIMM32, 5, 0x20), 'rd, rs1, sh5');
for (const [n, f3, f7] of [
  ['add', 0, 0], ['sub', 0, 0x20], ['sll', 1, 0], ['slt', 2, 0], ['sltu', 3, 0], ['xor', 4, 0],
  ['srl', 5, 0], ['sra', 5, 0x20], ['or', 6, 0], ['and', 7, 0],
  // M
  ['mul', 0, 1], ['mulh', 1, 1], ['mulhsu', 2, 1], ['mulhu', 3, 1], ['div', 4, 1], ['divu', 5, 1], ['rem', 6, 1], ['remu', 7, 1],
  // Zba, Zbb, Zbs
  ['sh1add', 2, 0x10], ['sh2add', 4, 0x10], ['sh3add', 6, 0x10],
  ['andn', 7, 0x20], ['orn', 6, 0x20], ['xnor', 4, 0x20],
  ['min', 4, 0x05], ['minu', 5, 0x05], ['max', 6, 0x05], ['maxu', 7, 0x05],
  ['rol', 1, 0x30], ['ror', 5, 0x30],
  ['bclr', 1, 0x24], ['bext', 5, 0x24], ['binv', 1, 0x34], ['bset', 1, 0x14],
] as const) def(n, R(OP, f3, f7), 'rd, rs1, rs2');
for (const [n, f3, f7] of [
  ['addw', 0, 0], ['subw', 0, 0x20], ['sllw', 1, 0], ['srlw', 5, 0], ['sraw', 5, 0x20],
  ['mulw', 0, 1], ['divw', 4, 1], ['divuw', 5, 1], ['remw', 6, 1], ['remuw', 7, 1],
  ['add.uw', 0, 0x04], ['sh1add.uw', 2, 0x10], ['sh2add.uw', 4, 0x10], ['sh3add.uw', 6, 0x10],
  ['rolw', 1, 0x30], ['rorw', 5, 0x30],
] as const) def(n, R(OP32, f3, f7), 'rd, rs1, rs2');
def('zext.h', R(OP32, 4, 0x04), 'rd, rs1');
// Zb* with immediates or a fixed rs2 field
def('slli.uw', R(OPIMM32, 1, 0x04), 'rd, rs1, sh6');
def('clz', IMM12(OPIMM, 1, 0x600), 'rd, rs1');
def('ctz', IMM12(OPIMM, 1, 0x601), 'rd, rs1');
def('cpop', IMM12(OPIMM, 1, 0x602), 'rd, rs1');
def('sext.b', IMM12(OPIMM, 1, 0x604), 'rd, rs1');
def('sext.h', IMM12(OPIMM, 1, 0x605), 'rd, rs1');
def('clzw', IMM12(OPIMM32, 1, 0x600), 'rd, rs1');
def('ctzw', IMM12(OPIMM32, 1, 0x601), 'rd, rs1');
def('cpopw', IMM12(OPIMM32, 1, 0x602), 'rd, rs1');
def('orc.b', IMM12(OPIMM, 5, 0x287), 'rd, rs1');
def('rev8', IMM12(OPIMM, 5, 0x6b8), 'rd, rs1');
def('rori', R(OPIMM, 5, 0x30), 'rd, rs1, sh6');
def('roriw', R(OPIMM32, 5, 0x30), 'rd, rs1, sh5');
def('bclri', R(OPIMM, 1, 0x24), 'rd, rs1, sh6');
def('bexti', R(OPIMM, 5, 0x24), 'rd, rs1, sh6');
def('binvi', R(OPIMM, 1, 0x34), 'rd, rs1, sh6');
def('bseti', R(OPIMM, 1, 0x14), 'rd, rs1, sh6');
// MISC-MEM, SYSTEM, Zicsr, Zifencei
def('fence', I(0x0f, 0), 'pred, succ');
def('fence.i', I(0x0f, 1), '');
def('ecall', 0x00000073, '');
def('ebreak', 0x00100073, '');
for (const [n, f3] of [['csrrw', 1], ['csrrs', 2], ['csrrc', 3]] as const) def(n, I(SYSTEM, f3), 'rd, csr, rs1');
for (const [n, f3] of [['csrrwi', 5], ['csrrsi', 6], ['csrrci', 7]] as const) def(n, I(SYSTEM, f3), 'rd, csr, zimm');
// A
for (const [sfx, f3] of [['w', 2], ['d', 3]] as const) {
  def(`lr.${sfx}`, R(AMO, f3, 0x02 << 2), 'rd, aqrl, (rs1)');
  def(`sc.${sfx}`, R(AMO, f3, 0x03 << 2), 'rd, rs2, aqrl, (rs1)');
  for (const [n, f5] of [
    ['amoswap', 0x01], ['amoadd', 0x00], ['amoxor', 0x04], ['amoand', 0x0c], ['amoor', 0x08],
    ['amomin', 0x10], ['amomax', 0x14], ['amominu', 0x18], ['amomaxu', 0x1c],
  ] as const) def(`${n}.${sfx}`, R(AMO, f3, f5 << 2), 'rd, rs2, aqrl, (rs1)');
}
// F and D: fmt is bit 25 (S = 0, D = 1)
def('flw', I(LOADFP, 2), 'fd, imm(rs1)');
def('fld', I(LOADFP, 3), 'fd, imm(rs1)');
def('fsw', I(STOREFP, 2), 'fs2, simm(rs1)');
def('fsd', I(STOREFP, 3), 'fs2, simm(rs1)');
for (const [p, fmt] of [['s', 0], ['d', 1]] as const) {
  for (const [n, opc] of [['fmadd', 0x43], ['fmsub', 0x47], ['fnmsub', 0x4b], ['fnmadd', 0x4f]] as const) {
    def(`${n}.${p}`, (opc | (fmt << 25)) >>> 0, 'fd, fs1, fs2, fs3, rm');
  }
  const f7 = (base: number) => base | fmt;
  for (const [n, base] of [['fadd', 0x00], ['fsub', 0x04], ['fmul', 0x08], ['fdiv', 0x0c]] as const) {
    def(`${n}.${p}`, R(OPFP, 0, f7(base)), 'fd, fs1, fs2, rm');
  }
  def(`fsqrt.${p}`, R(OPFP, 0, f7(0x2c)), 'fd, fs1, rm');
  for (const [n, base, f3] of [
    ['fsgnj', 0x10, 0], ['fsgnjn', 0x10, 1], ['fsgnjx', 0x10, 2], ['fmin', 0x14, 0], ['fmax', 0x14, 1],
  ] as const) def(`${n}.${p}`, R(OPFP, f3, f7(base)), 'fd, fs1, fs2');
  for (const [n, f3] of [['feq', 2], ['flt', 1], ['fle', 0]] as const) def(`${n}.${p}`, R(OPFP, f3, f7(0x50)), 'rd, fs1, fs2');
  def(`fclass.${p}`, R(OPFP, 1, f7(0x70)), 'rd, fs1');
  ['w', 'wu', 'l', 'lu'].forEach((t, i) => {
    def(`fcvt.${t}.${p}`, (R(OPFP, 0, f7(0x60)) | (i << 20)) >>> 0, 'rd, fs1, rm');
    def(`fcvt.${p}.${t}`, (R(OPFP, 0, f7(0x68)) | (i << 20)) >>> 0, 'fd, rs1, rm');
  });
}
def('fcvt.s.d', (R(OPFP, 0, 0x20) | (1 << 20)) >>> 0, 'fd, fs1, rm');
def('fcvt.d.s', R(OPFP, 0, 0x21), 'fd, fs1, rm');
def('fmv.x.w', R(OPFP, 0, 0x70), 'rd, fs1');
def('fmv.w.x', R(OPFP, 0, 0x78), 'fd, rs1');
def('fmv.x.d', R(OPFP, 0, 0x71), 'rd, fs1');
def('fmv.d.x', R(OPFP, 0, 0x79), 'fd, rs1');

// C (RV64C). Fixed bits: funct3 at 15:13 and the quadrant at 1:0.
const C = (q: number, f3: number, more = 0) => ((f3 << 13) | more | q) >>> 0;
const rdBits = (w: number) => (w >> 7) & 31;
const rs2Bits = (w: number) => (w >> 2) & 31;
const ciImm = (w: number) => ((w >> 7) & 0x20) | ((w >> 2) & 0x1f);
// quadrant 0
def('c.addi4spn', C(0, 0), 'rdp, sp, c4spn');
def('c.fld', C(0, 1), 'fdp, cld(rs1p)');
def('c.lw', C(0, 2), 'rdp, clw(rs1p)');
def('c.ld', C(0, 3), 'rdp, cld(rs1p)');
def('c.fsd', C(0, 5), 'fs2p, cld(rs1p)');
def('c.sw', C(0, 6), 'rs2p, clw(rs1p)');
def('c.sd', C(0, 7), 'rs2p, cld(rs1p)');
// quadrant 1
def('c.nop', C(1, 0), '');
def('c.addi', C(1, 0), 'crd, cimm', (w) => rdBits(w) !== 0);
def('c.addiw', C(1, 1), 'crd, cimm', (w) => rdBits(w) !== 0);
def('c.li', C(1, 2), 'crd, cimm', (w) => rdBits(w) !== 0);
def('c.addi16sp', C(1, 3, 2 << 7), 'sp, c16sp');
def('c.lui', C(1, 3), 'crd, clui', (w) => rdBits(w) !== 0 && rdBits(w) !== 2);
def('c.srli', C(1, 4, 0 << 10), 'rs1p, cshamt', (w) => ciImm(w) !== 0);
def('c.srai', C(1, 4, 1 << 10), 'rs1p, cshamt', (w) => ciImm(w) !== 0);
def('c.andi', C(1, 4, 2 << 10), 'rs1p, cimm');
for (const [n, b12, f2] of [
  ['c.sub', 0, 0], ['c.xor', 0, 1], ['c.or', 0, 2], ['c.and', 0, 3], ['c.subw', 1, 0], ['c.addw', 1, 1],
] as const) def(n, C(1, 4, (b12 << 12) | (3 << 10) | (f2 << 5)), 'rs1p, rs2p');
def('c.j', C(1, 5), 'cjoff');
def('c.beqz', C(1, 6), 'rs1p, cboff');
def('c.bnez', C(1, 7), 'rs1p, cboff');
// quadrant 2
def('c.slli', C(2, 0), 'crd, cshamt', (w) => rdBits(w) !== 0 && ciImm(w) !== 0);
def('c.fldsp', C(2, 1), 'cfd, cldsp(sp)');
def('c.lwsp', C(2, 2), 'crd, clwsp(sp)', (w) => rdBits(w) !== 0);
def('c.ldsp', C(2, 3), 'crd, cldsp(sp)', (w) => rdBits(w) !== 0);
def('c.jr', C(2, 4), 'crd', (w) => rdBits(w) !== 0);
def('c.mv', C(2, 4), 'crd, crs2', (w) => rdBits(w) !== 0 && rs2Bits(w) !== 0);
def('c.ebreak', C(2, 4, 1 << 12), '');
def('c.jalr', C(2, 4, 1 << 12), 'crd', (w) => rdBits(w) !== 0);
def('c.add', C(2, 4, 1 << 12), 'crd, crs2', (w) => rdBits(w) !== 0 && rs2Bits(w) !== 0);
def('c.fsdsp', C(2, 5), 'cfs2, csdsp(sp)');
def('c.swsp', C(2, 6), 'crs2, cswsp(sp)');
def('c.sdsp', C(2, 7), 'crs2, csdsp(sp)');

/** Every mnemonic the table knows. */
export const MNEMONICS: readonly string[] = OPS.map((o) => o.name);

// The supervisor's instructions (privileged spec, "Supervisor Instructions"),
// for the system-VM tests. Defined after MNEMONICS on purpose: that list is
// what the GNU as recording must cover (test/cpu-encoding.test.ts), and these
// are checked against their words in test/cpu-supervisor.test.ts instead
// (gas 2.40 agrees: sret 0x10200073, wfi 0x10500073, sfence.vma a0, a1 0x12b50073).
def('sret', 0x10200073, '');
def('wfi', 0x10500073, '');
def('sfence.vma', 0x12000073, 'rs1, rs2');
/** The privileged mnemonics above (not part of MNEMONICS). */
export const PRIVILEGED_MNEMONICS: readonly string[] = ['sret', 'wfi', 'sfence.vma'];

/** The operand names of a mnemonic in order (e.g. ['rd', 'rs1', 'imm']). */
export function operandsOf(name: string): readonly string[] {
  const op = BY_NAME.get(name);
  if (!op) throw new Error(`unknown instruction ${name}`);
  return op.operands.filter((o) => o !== 'aqrl');
}

/** Encodes `name` with operand values in the order of its template. */
export function enc(name: string, values: number[], aq = false, rl = false): number {
  const op = BY_NAME.get(name);
  if (!op) throw new Error(`unknown instruction ${name}`);
  const names = op.operands.filter((o) => o !== 'aqrl');
  if (values.length !== names.length) throw new Error(`${name} takes ${names.length} operands (${names.join(', ')}), got ${values.length}`);
  let w = op.match;
  names.forEach((o, i) => { w |= FIELDS[o].put(values[i], `${name} ${o}`); });
  if (op.amo) w |= ((aq ? 2 : 0) | (rl ? 1 : 0)) << 25;
  else if (aq || rl) throw new Error(`${name} has no aq/rl bits`);
  w >>>= 0;
  if (op.valid && !op.valid(w)) throw new RangeError(`${name} ${values.join(', ')}: reserved encoding`);
  return w;
}

/** A random valid encoding of `name`: operand values decoded from random
 *  words (so each is in its field's range), retried past reserved forms. */
export function randomEncoding(name: string, rand: () => number): number {
  const op = BY_NAME.get(name);
  if (!op) throw new Error(`unknown instruction ${name}`);
  const names = op.operands.filter((o) => o !== 'aqrl');
  for (let attempt = 0; attempt < 1000; attempt++) {
    const values = names.map((o) => FIELDS[o].get(rand() >>> 0));
    // rounding modes 5 and 6 are reserved: gas refuses them
    const rmAt = names.indexOf('rm');
    if (rmAt >= 0 && (values[rmAt] === 5 || values[rmAt] === 6)) continue;
    try {
      const bits = rand();
      return enc(name, values, op.amo ? (bits & 2) !== 0 : false, op.amo ? (bits & 1) !== 0 : false);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  throw new Error(`no valid random encoding of ${name}`);
}

/** Length in bytes of the instruction whose first 16-bit parcel is `w`. */
export function insnLength(w: number): 2 | 4 {
  return (w & 3) === 3 ? 4 : 2;
}

/** Finds the table row for `w`, or undefined. */
function lookup(w: number): Op | undefined {
  const len = insnLength(w);
  const word = len === 2 ? w & 0xffff : w >>> 0;
  return OPS.find((o) => o.length === len && ((word & o.mask) >>> 0) === o.match && (!o.valid || o.valid(word)));
}

/** The mnemonic of `w`, or undefined when the table does not know it. */
export function mnemonic(w: number): string | undefined {
  const op = lookup(w);
  if (!op) return undefined;
  if (!op.amo) return op.name;
  const aqrl = (w >>> 25) & 3;
  return op.name + ['', '.rl', '.aq', '.aqrl'][aqrl];
}

/** Operand values of `w` by field name (for tests and reports). */
export function decodeFields(w: number): Record<string, number> | undefined {
  const op = lookup(w);
  if (!op) return undefined;
  const out: Record<string, number> = {};
  for (const o of op.operands) out[o] = FIELDS[o].get(w);
  return out;
}

/** Conversions that cannot round (their rm field only has to be valid). */
export const EXACT_CONVERSIONS: ReadonlySet<string> = new Set(['fcvt.d.w', 'fcvt.d.wu', 'fcvt.d.s']);

/** GNU as syntax for `w` (ABI register names, pc-relative targets as `.+N`). */
export function disasm(w: number): string {
  const op = lookup(w);
  if (!op) return insnLength(w) === 2 ? `.insn 0x${(w & 0xffff).toString(16).padStart(4, '0')}` : `.insn 0x${(w >>> 0).toString(16).padStart(8, '0')}`;
  let template = op.template;
  // Conversions that are always exact print no rounding mode when it is the
  // default rne, as objdump does (binutils 2.40 accepts no other).
  if (EXACT_CONVERSIONS.has(op.name) && FIELDS.rm.get(w) === RM.RNE) template = template.replace(/, rm$/, '');
  const text = template.replace(/[a-z0-9_]+/gi, (t) => (t in FIELDS ? FIELDS[t].show(FIELDS[t].get(w)) : t));
  const name = mnemonic(w)!;
  return text ? `${name} ${text}` : name;
}

/** Assembles one line in the syntax `disasm` prints (a subset of GNU as:
 *  ABI or xN/fN register names, decimal or 0x immediates, `.+N` targets,
 *  rounding-mode, CSR and fence-set names, `.aq`/`.rl` suffixes). */
export function asm(line: string): number {
  const m = /^\s*(\S+)\s*(.*)$/.exec(line);
  if (!m) throw new Error(`cannot parse "${line}"`);
  let name = m[1];
  let aq = false, rl = false;
  const sfx = /\.(aqrl|aq|rl)$/.exec(name);
  if (sfx && !BY_NAME.has(name)) {
    name = name.slice(0, -sfx[0].length);
    aq = sfx[1] !== 'rl';
    rl = sfx[1] !== 'aq';
  }
  const op = BY_NAME.get(name);
  if (!op) throw new Error(`unknown instruction in "${line}"`);
  const template = op.template;
  const texts = m[2].split(/[\s,()]+/).filter((t) => t !== '');
  if (EXACT_CONVERSIONS.has(name) && texts.length === 2) texts.push('rne');
  const slots = template.match(/[a-z0-9_]+/gi) ?? [];
  if (slots.length !== texts.length) throw new Error(`"${line}": expected operands ${template}`);
  const values: number[] = [];
  slots.forEach((slot, i) => {
    const t = texts[i];
    if (!(slot in FIELDS)) {
      if (t !== slot) throw new Error(`"${line}": expected ${slot}, got ${t}`);
      return;
    }
    values.push(parseOperand(slot, t, line));
  });
  return enc(name, values, aq, rl);
}

function parseOperand(slot: string, t: string, line: string): number {
  const bad = (): never => { throw new Error(`"${line}": bad operand ${t} for ${slot}`); };
  const reg = (names: string[], prefix: string) => {
    const i = names.indexOf(t);
    if (i >= 0) return i;
    if (prefix === 'x' && t === 'fp') return 8;
    const n = new RegExp(`^${prefix}(\\d+)$`).exec(t);
    return n && Number(n[1]) < 32 ? Number(n[1]) : bad();
  };
  if (['rd', 'rs1', 'rs2', 'crd', 'crs2', 'rdp', 'rs1p', 'rs2p'].includes(slot)) return reg(X_ABI, 'x');
  if (['fd', 'fs1', 'fs2', 'fs3', 'cfd', 'cfs2', 'fdp', 'fs2p'].includes(slot)) return reg(F_ABI, 'f');
  if (slot === 'rm') { const i = RM_NAMES.indexOf(t); return i >= 0 ? i : bad(); }
  if (slot === 'csr') { const c = (CSR as Record<string, number>)[t]; if (c !== undefined) return c; }
  if (slot === 'pred' || slot === 'succ') {
    if (!/^[iorw]+$/.test(t)) return bad();
    return (t.includes('i') ? 8 : 0) | (t.includes('o') ? 4 : 0) | (t.includes('r') ? 2 : 0) | (t.includes('w') ? 1 : 0);
  }
  const rel = /^\.([+-])(\d+)$/.exec(t);
  if (rel) return rel[1] === '-' ? -Number(rel[2]) : Number(rel[2]);
  const n = /^(-?)(0x[0-9a-f]+|\d+)$/i.exec(t);
  if (!n) return bad();
  const v = Number(n[2]);
  return n[1] ? -v : v;
}

// ---- named encoders ------------------------------------------------------------------
type N3 = (a: number, b: number, c: number) => number;
type N2 = (a: number, b: number) => number;
type N1 = (a: number) => number;
type WithRm3 = (rd: number, rs1: number, rs2: number, rm?: number) => number;
type WithRm2 = (rd: number, rs1: number, rm?: number) => number;
type WithRm4 = (rd: number, rs1: number, rs2: number, rs3: number, rm?: number) => number;
type Amo = (rd: number, rs2: number, rs1: number, aq?: boolean, rl?: boolean) => number;
type Lr = (rd: number, rs1: number, aq?: boolean, rl?: boolean) => number;

const n3 = (name: string): N3 => (a, b, c) => enc(name, [a, b, c]);
const n2 = (name: string): N2 => (a, b) => enc(name, [a, b]);
const n1 = (name: string): N1 => (a) => enc(name, [a]);
const n0 = (name: string) => () => enc(name, []);
// Memory forms take (reg, base, offset), the order of their operands in
// assembly text would be (reg, offset(base)).
const mem = (name: string) => (r: number, base: number, offset = 0) => enc(name, [r, offset, base]);
const rm3 = (name: string): WithRm3 => (rd, rs1, rs2, rm = RM.DYN) => enc(name, [rd, rs1, rs2, rm]);
const rm2 = (name: string): WithRm2 => (rd, rs1, rm = RM.DYN) => enc(name, [rd, rs1, rm]);
const rm4 = (name: string): WithRm4 => (rd, rs1, rs2, rs3, rm = RM.DYN) => enc(name, [rd, rs1, rs2, rs3, rm]);
const amo = (name: string): Amo => (rd, rs2, rs1, aq = false, rl = false) => enc(name, [rd, rs2, rs1], aq, rl);
const lr = (name: string): Lr => (rd, rs1, aq = false, rl = false) => enc(name, [rd, rs1], aq, rl);

// RV64I
export const lui = n2('lui'), auipc = n2('auipc'), jal = n2('jal');
export const jalr = (rd: number, rs1: number, imm = 0) => enc('jalr', [rd, imm, rs1]);
export const beq = n3('beq'), bne = n3('bne'), blt = n3('blt'), bge = n3('bge'), bltu = n3('bltu'), bgeu = n3('bgeu');
export const lb = mem('lb'), lh = mem('lh'), lw = mem('lw'), ld = mem('ld'), lbu = mem('lbu'), lhu = mem('lhu'), lwu = mem('lwu');
export const sb = mem('sb'), sh = mem('sh'), sw = mem('sw'), sd = mem('sd');
export const addi = n3('addi'), slti = n3('slti'), sltiu = n3('sltiu'), xori = n3('xori'), ori = n3('ori'), andi = n3('andi');
export const slli = n3('slli'), srli = n3('srli'), srai = n3('srai');
export const addiw = n3('addiw'), slliw = n3('slliw'), srliw = n3('srliw'), sraiw = n3('sraiw');
export const add = n3('add'), sub = n3('sub'), sll = n3('sll'), slt = n3('slt'), sltu = n3('sltu'), xor = n3('xor');
export const srl = n3('srl'), sra = n3('sra'), or = n3('or'), and = n3('and');
export const addw = n3('addw'), subw = n3('subw'), sllw = n3('sllw'), srlw = n3('srlw'), sraw = n3('sraw');
export const fence = (pred = 0xf, succ = 0xf) => enc('fence', [pred, succ]);
export const fence_i = n0('fence.i'), ecall = n0('ecall'), ebreak = n0('ebreak');
// M
export const mul = n3('mul'), mulh = n3('mulh'), mulhsu = n3('mulhsu'), mulhu = n3('mulhu');
export const div = n3('div'), divu = n3('divu'), rem = n3('rem'), remu = n3('remu');
export const mulw = n3('mulw'), divw = n3('divw'), divuw = n3('divuw'), remw = n3('remw'), remuw = n3('remuw');
// A
export const lr_w = lr('lr.w'), lr_d = lr('lr.d'), sc_w = amo('sc.w'), sc_d = amo('sc.d');
export const amoswap_w = amo('amoswap.w'), amoadd_w = amo('amoadd.w'), amoxor_w = amo('amoxor.w');
export const amoand_w = amo('amoand.w'), amoor_w = amo('amoor.w'), amomin_w = amo('amomin.w');
export const amomax_w = amo('amomax.w'), amominu_w = amo('amominu.w'), amomaxu_w = amo('amomaxu.w');
export const amoswap_d = amo('amoswap.d'), amoadd_d = amo('amoadd.d'), amoxor_d = amo('amoxor.d');
export const amoand_d = amo('amoand.d'), amoor_d = amo('amoor.d'), amomin_d = amo('amomin.d');
export const amomax_d = amo('amomax.d'), amominu_d = amo('amominu.d'), amomaxu_d = amo('amomaxu.d');
// Zicsr
export const csrrw = n3('csrrw'), csrrs = n3('csrrs'), csrrc = n3('csrrc');
export const csrrwi = n3('csrrwi'), csrrsi = n3('csrrsi'), csrrci = n3('csrrci');
export const csrr = (rd: number, csr: number) => csrrs(rd, csr, 0);
export const csrw = (csr: number, rs1: number) => csrrw(0, csr, rs1);
// Zba
export const add_uw = n3('add.uw'), sh1add = n3('sh1add'), sh2add = n3('sh2add'), sh3add = n3('sh3add');
export const sh1add_uw = n3('sh1add.uw'), sh2add_uw = n3('sh2add.uw'), sh3add_uw = n3('sh3add.uw'), slli_uw = n3('slli.uw');
// Zbb
export const andn = n3('andn'), orn = n3('orn'), xnor = n3('xnor');
export const clz = n2('clz'), clzw = n2('clzw'), ctz = n2('ctz'), ctzw = n2('ctzw'), cpop = n2('cpop'), cpopw = n2('cpopw');
export const max = n3('max'), maxu = n3('maxu'), min = n3('min'), minu = n3('minu');
export const sext_b = n2('sext.b'), sext_h = n2('sext.h'), zext_h = n2('zext.h');
export const rol = n3('rol'), rolw = n3('rolw'), ror = n3('ror'), rori = n3('rori'), roriw = n3('roriw'), rorw = n3('rorw');
export const orc_b = n2('orc.b'), rev8 = n2('rev8');
// Zbs
export const bclr = n3('bclr'), bclri = n3('bclri'), bext = n3('bext'), bexti = n3('bexti');
export const binv = n3('binv'), binvi = n3('binvi'), bset = n3('bset'), bseti = n3('bseti');
// F
export const flw = mem('flw'), fsw = mem('fsw');
export const fmadd_s = rm4('fmadd.s'), fmsub_s = rm4('fmsub.s'), fnmsub_s = rm4('fnmsub.s'), fnmadd_s = rm4('fnmadd.s');
export const fadd_s = rm3('fadd.s'), fsub_s = rm3('fsub.s'), fmul_s = rm3('fmul.s'), fdiv_s = rm3('fdiv.s');
export const fsqrt_s = rm2('fsqrt.s');
export const fsgnj_s = n3('fsgnj.s'), fsgnjn_s = n3('fsgnjn.s'), fsgnjx_s = n3('fsgnjx.s');
export const fmin_s = n3('fmin.s'), fmax_s = n3('fmax.s');
export const feq_s = n3('feq.s'), flt_s = n3('flt.s'), fle_s = n3('fle.s'), fclass_s = n2('fclass.s');
export const fcvt_w_s = rm2('fcvt.w.s'), fcvt_wu_s = rm2('fcvt.wu.s'), fcvt_l_s = rm2('fcvt.l.s'), fcvt_lu_s = rm2('fcvt.lu.s');
export const fcvt_s_w = rm2('fcvt.s.w'), fcvt_s_wu = rm2('fcvt.s.wu'), fcvt_s_l = rm2('fcvt.s.l'), fcvt_s_lu = rm2('fcvt.s.lu');
export const fmv_x_w = n2('fmv.x.w'), fmv_w_x = n2('fmv.w.x');
// D
export const fld = mem('fld'), fsd = mem('fsd');
export const fmadd_d = rm4('fmadd.d'), fmsub_d = rm4('fmsub.d'), fnmsub_d = rm4('fnmsub.d'), fnmadd_d = rm4('fnmadd.d');
export const fadd_d = rm3('fadd.d'), fsub_d = rm3('fsub.d'), fmul_d = rm3('fmul.d'), fdiv_d = rm3('fdiv.d');
export const fsqrt_d = rm2('fsqrt.d');
export const fsgnj_d = n3('fsgnj.d'), fsgnjn_d = n3('fsgnjn.d'), fsgnjx_d = n3('fsgnjx.d');
export const fmin_d = n3('fmin.d'), fmax_d = n3('fmax.d');
export const feq_d = n3('feq.d'), flt_d = n3('flt.d'), fle_d = n3('fle.d'), fclass_d = n2('fclass.d');
export const fcvt_w_d = rm2('fcvt.w.d'), fcvt_wu_d = rm2('fcvt.wu.d'), fcvt_l_d = rm2('fcvt.l.d'), fcvt_lu_d = rm2('fcvt.lu.d');
export const fcvt_d_w = rm2('fcvt.d.w'), fcvt_d_wu = rm2('fcvt.d.wu'), fcvt_d_l = rm2('fcvt.d.l'), fcvt_d_lu = rm2('fcvt.d.lu');
export const fcvt_s_d = rm2('fcvt.s.d'), fcvt_d_s = rm2('fcvt.d.s');
export const fmv_x_d = n2('fmv.x.d'), fmv_d_x = n2('fmv.d.x');
// C
export const c_addi4spn = (rd: number, imm: number) => enc('c.addi4spn', [rd, imm]);
export const c_fld = mem('c.fld'), c_lw = mem('c.lw'), c_ld = mem('c.ld');
export const c_fsd = mem('c.fsd'), c_sw = mem('c.sw'), c_sd = mem('c.sd');
export const c_nop = n0('c.nop'), c_addi = n2('c.addi'), c_addiw = n2('c.addiw'), c_li = n2('c.li');
export const c_addi16sp = n1('c.addi16sp'), c_lui = n2('c.lui');
export const c_srli = n2('c.srli'), c_srai = n2('c.srai'), c_andi = n2('c.andi');
export const c_sub = n2('c.sub'), c_xor = n2('c.xor'), c_or = n2('c.or'), c_and = n2('c.and');
export const c_subw = n2('c.subw'), c_addw = n2('c.addw');
export const c_j = n1('c.j'), c_beqz = n2('c.beqz'), c_bnez = n2('c.bnez');
export const c_slli = n2('c.slli');
export const c_fldsp = (rd: number, offset: number) => enc('c.fldsp', [rd, offset]);
export const c_lwsp = (rd: number, offset: number) => enc('c.lwsp', [rd, offset]);
export const c_ldsp = (rd: number, offset: number) => enc('c.ldsp', [rd, offset]);
export const c_fsdsp = (rs2: number, offset: number) => enc('c.fsdsp', [rs2, offset]);
export const c_swsp = (rs2: number, offset: number) => enc('c.swsp', [rs2, offset]);
export const c_sdsp = (rs2: number, offset: number) => enc('c.sdsp', [rs2, offset]);
export const c_jr = n1('c.jr'), c_jalr = n1('c.jalr'), c_mv = n2('c.mv'), c_add = n2('c.add'), c_ebreak = n0('c.ebreak');
// Privileged (S-mode; see PRIVILEGED_MNEMONICS)
export const sret = n0('sret'), wfi = n0('wfi');
export const sfence_vma = (rs1 = 0, rs2 = 0) => enc('sfence.vma', [rs1, rs2]);

/** Little-endian bytes of a list of instruction words (16-bit forms by their length). */
export function assemble(words: number[]): Uint8Array {
  const out: number[] = [];
  for (const w of words) {
    out.push(w & 0xff, (w >>> 8) & 0xff);
    if (insnLength(w) === 4) out.push((w >>> 16) & 0xff, (w >>> 24) & 0xff);
  }
  return Uint8Array.from(out);
}
