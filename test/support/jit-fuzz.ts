// Random programs for the differential test of the translation tier
// (test/jit.test.ts): the same program runs on an interpreting CPU and on a
// translating one, and every exit must leave them in the same state.
//
// Unlike random-programs.ts (straight-line blocks compared with QEMU), these
// programs have control flow, because translations are made at jump targets:
// counted loops (nested two deep, sometimes empty) that really iterate,
// forward branches that skip a few units, calls and returns to subroutines
// after the program and on a second code page, jumps there and back, code
// that runs off its page into one without permission, straight-line code
// longer than a region, and in the middle of all of it instructions the
// translation tier hands back to the interpreter (ecall, ebreak, CSRs,
// atomics, LR/SC, fence.i, illegal words, FP with a reserved rounding mode)
// and memory accesses that fault (a page without permission, a read-only
// page, straddling into those, outside RAM).
//
// Memory map (RAM 1 MiB at 0x8000_0000, by 4 KiB page):
//   1-2  the main program (R|X), placed at a random offset in page 1 so that
//        it often runs on into page 2 (and sometimes straddles the boundary)
//   7    read only: stores below the data area fault, loads do not
//   8-9  the data area (R|W)
//   10   nothing: accesses past the data area fault
//   33   subroutines and jump targets (R|X), 128 KiB after the main program
//        so that their pcs collide with its pcs in the translation map
//   34   no permission, but full of valid code: running off the code or
//        jumping here must be a fetch fault, never a translation of it
// Registers: x2, x8, x9, x18 point into the data area (x9 near its top, x18
// near its bottom) and are only moved by small steps; x20, x13 (main) and x21
// (subroutines) count loops; x1 links calls; x5 is scratch for computed
// addresses. Random instructions write only the other registers.
import * as A from './rvasm.js';
import { Rng } from './prng.js';
import { randomInt, randomFloat } from './random-programs.js';

export const RAM_BASE = 0x8000_0000n;
export const RAM_SIZE = 0x10_0000n;
export const PAGE = 0x1000n;
export const page = (n: number): bigint => RAM_BASE + BigInt(n) * PAGE;
export const MAIN_PAGE = page(1);
/** 32 pages (128 KiB) after the main program: its pcs share entries of the
 *  translation map (indexed by pc bits 1..16) with the main program's. */
export const SUB_PAGE = page(33);
export const GUARD_PAGE = page(34);
export const RO_PAGE = page(7);
export const DATA = page(8);
export const DATA_END = page(10);

const SP = 2, S0 = 8, S1 = 9, S2 = 18;
const BASES = [SP, S0, S1, S2];
const LOOP_MAIN = [20, 13];
const LOOP_SUB = 21;
const RA = 1, T0 = 5;
const RESERVED = new Set([0, RA, T0, ...BASES, ...LOOP_MAIN, LOOP_SUB]);
export const FREE: readonly number[] = Array.from({ length: 32 }, (_, r) => r).filter((r) => !RESERVED.has(r));
const FREE_C = FREE.filter((r) => r >= 8 && r <= 15); // x10..x12, x14, x15

// ---- a tiny two-pass assembler with labels ------------------------------------------------
type Item =
  | { k: 'w'; w: number }
  | { k: 'label'; id: number }
  /** Words that depend on the distance from the item to a label. */
  | { k: 'rel'; size: number; target: number; make: (delta: number) => number[] };

export interface Program {
  seed: string;
  /** Code bytes by guest address. */
  sections: Array<{ at: bigint; bytes: Uint8Array }>;
  /** The final ebreak. */
  end: bigint;
  entry: bigint;
  x: bigint[];
  f: bigint[];
  fcsr: number;
  /** Initial bytes of RO_PAGE..DATA_END. */
  data: Uint8Array;
  /** Valid code placed in the guard page, which has no permission: executing any of it is wrong. */
  bait: Uint8Array;
  /** Address, size and disassembly of each instruction, for reports. */
  listing: string[];
  /** Permissions other than the usual layout's, by page address (applied last). */
  perms?: Array<[bigint, number]>;
}

const itemSize = (i: Item): number => (i.k === 'w' ? A.insnLength(i.w) : i.k === 'label' ? 0 : i.size);

function layout(sections: Array<{ at: bigint; items: Item[] }>): { labels: Map<number, bigint> } {
  const labels = new Map<number, bigint>();
  for (const s of sections) {
    let pc = s.at;
    for (const i of s.items) {
      if (i.k === 'label') labels.set(i.id, pc);
      pc += BigInt(itemSize(i));
    }
  }
  return { labels };
}

function emit(at: bigint, items: Item[], labels: Map<number, bigint>, listing: string[]): Uint8Array {
  const words: number[] = [];
  let pc = at;
  for (const i of items) {
    if (i.k === 'label') continue;
    const ws = i.k === 'w' ? [i.w] : i.make(Number(labels.get(i.target)! - pc));
    let size = 0;
    for (const w of ws) {
      listing.push(`  ${pc.toString(16)}: ${A.insnLength(w) === 2 ? (w & 0xffff).toString(16).padStart(4, '0') + '    ' : (w >>> 0).toString(16).padStart(8, '0')}  ${A.disasm(w)}`);
      words.push(w);
      pc += BigInt(A.insnLength(w));
      size += A.insnLength(w);
    }
    if (i.k === 'rel' && size !== i.size) throw new Error(`relocation of size ${size}, expected ${i.size}`);
  }
  return A.assemble(words);
}

// ---- instruction groups -------------------------------------------------------------------
const ALU = [
  'lui', 'auipc', 'addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'slli', 'srli', 'srai',
  'addiw', 'slliw', 'srliw', 'sraiw', 'add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and',
  'addw', 'subw', 'sllw', 'srlw', 'sraw',
  'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu', 'mulw', 'divw', 'divuw', 'remw', 'remuw',
  'sh1add', 'sh2add', 'sh3add', 'add.uw', 'sh1add.uw', 'sh2add.uw', 'sh3add.uw', 'slli.uw',
  'andn', 'orn', 'xnor', 'min', 'minu', 'max', 'maxu', 'rol', 'ror', 'rolw', 'rorw',
  'clz', 'ctz', 'cpop', 'sext.b', 'sext.h', 'clzw', 'ctzw', 'cpopw', 'orc.b', 'rev8', 'rori', 'roriw', 'zext.h',
  'bclr', 'bext', 'binv', 'bset', 'bclri', 'bexti', 'binvi', 'bseti',
];
const C_ALU = ['c.addi', 'c.addiw', 'c.li', 'c.lui', 'c.slli', 'c.srli', 'c.srai', 'c.andi',
  'c.sub', 'c.xor', 'c.or', 'c.and', 'c.subw', 'c.addw', 'c.mv', 'c.add', 'c.addi4spn', 'c.nop'];
const LOADS = ['lb', 'lh', 'lw', 'ld', 'lbu', 'lhu', 'lwu'];
const STORES = ['sb', 'sh', 'sw', 'sd'];
const FP_OPS = [
  'fadd.d', 'fsub.d', 'fmul.d', 'fdiv.d', 'fsqrt.d', 'fmadd.d', 'fmsub.d', 'fnmadd.d', 'fnmsub.d',
  'fmin.d', 'fmax.d', 'fsgnj.d', 'fsgnjn.d', 'fsgnjx.d', 'feq.d', 'flt.d', 'fle.d', 'fclass.d',
  'fcvt.w.d', 'fcvt.wu.d', 'fcvt.l.d', 'fcvt.lu.d', 'fcvt.d.w', 'fcvt.d.wu', 'fcvt.d.l', 'fcvt.d.lu',
  'fcvt.s.d', 'fcvt.d.s', 'fmv.x.d', 'fmv.d.x',
  'fadd.s', 'fmul.s', 'fdiv.s', 'fmadd.s', 'fmin.s', 'feq.s', 'flt.s', 'fclass.s', 'fcvt.w.s', 'fcvt.l.s',
  'fcvt.s.w', 'fcvt.s.lu', 'fmv.x.w', 'fmv.w.x', 'fsgnjn.s',
];
const BRANCHES = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'];
/** Words the interpreter rejects as illegal (and the translation tier stops before). */
const ILLEGAL = [
  0x0000_0000, // a zero parcel: c.illegal (2 bytes)
  0xffff_ffff, 0xfe00_00b3 /* OP funct7 0x7f */, 0x0000_500b /* custom-0 */, 0x0000_301b /* OP-IMM-32 funct3 3 */,
  0x1050_0073 /* wfi */, 0x1020_0073 /* sret */, 0x0000_7023 /* store funct3 7 */, 0x0000_7003 /* load funct3 7 */,
  0x0000_2063 /* branch funct3 2 */, 0x0000_1067 /* jalr funct3 1 */, 0x0000_200f /* misc-mem funct3 2 */,
  0x0000_4033 | (0x04 << 25) /* OP funct7 4 funct3 4 in RV64 OP */, 0x0000_1007 /* flh: no Zfh */,
  // Reserved atomics addressing 0 (outside RAM): illegal before any address
  // check (test/cpu-decode.test.ts).
  0x2800_202f /* AMO funct5 5 .w */, 0xf800_302f /* AMO funct5 0x1f .d */, 0x0000_002f /* AMO funct3 0 */,
  0x1010_302f /* lr.d with rs2 = x1 */, 0x0000_4027 /* FP store funct3 4 */, 0x4002 /* c.lwsp x0 */,
];

type Unit = Item[] & { skip?: number };

interface Ctx {
  inSub: boolean;
  depth: number;
}

export class ProgramGen {
  private nextLabel = 0;
  /** Subroutines: label and body items, placed on the sub page or after the main program. */
  private readonly subs: Array<{ label: number; items: Item[]; local: boolean }> = [];
  private readonly hops: Item[][] = [];
  /** Code that runs off the end of the sub page into the guard page. */
  private falloff: { label: number; items: Item[] } | undefined;

  /** Initial values of the base registers (chosen first: accesses aim at their edges). */
  private readonly bases: Record<number, bigint>;

  constructor(private readonly rng: Rng) {
    const g = rng;
    this.bases = {
      [SP]: DATA + 0x800n + BigInt(g.int(0x100) * 8),
      [S0]: DATA + 0x1000n + BigInt(g.range(-0x200, 0x200)),
      [S1]: DATA_END - BigInt(g.int(25)),
      [S2]: DATA + BigInt(g.int(25)),
    };
    if (g.chance(0.5)) { this.bases[S0] &= ~7n; this.bases[S2] &= ~3n; }
  }

  label(): number { return this.nextLabel++; }

  // ---- operands ----
  private freeReg(): number { return this.rng.chance(0.04) ? 0 : this.rng.pick(FREE); }
  private anyReg(): number { return this.rng.int(32); }
  private imm12(): number {
    return this.rng.weighted([
      [3, () => this.rng.range(-16, 16)],
      [2, () => this.rng.pick([0, 1, -1, 2047, -2048, 31, 32, 63, 64, 0x7ff, -0x800, 0x555])],
      [3, () => this.rng.range(-2048, 2047)],
    ] as const)();
  }
  private rm(): number {
    return this.rng.weighted([[20, 7], [12, this.rng.range(0, 4)], [1, this.rng.pick([5, 6])]] as const);
  }

  /** An instruction of `name` with its operands chosen by kind. */
  private inst(name: string, fixed: Record<string, number> = {}): number {
    for (let attempt = 0; attempt < 100; attempt++) {
      const values = A.operandsOf(name).map((o) => {
        if (o in fixed) return fixed[o];
        switch (o) {
          case 'rd': case 'crd': return this.freeReg();
          case 'rdp': return this.rng.pick(FREE_C);
          case 'rs1': case 'rs2': case 'crs2': return this.anyReg();
          case 'rs1p': return this.rng.pick(FREE_C);
          case 'rs2p': return this.rng.range(8, 15);
          case 'fd': case 'fs1': case 'fs2': case 'fs3': case 'cfd': case 'cfs2': return this.rng.int(32);
          case 'fdp': case 'fs2p': return this.rng.range(8, 15);
          case 'imm': case 'simm': return this.imm12();
          case 'sh6': return this.rng.chance(0.3) ? this.rng.pick([0, 1, 31, 32, 63]) : this.rng.int(64);
          case 'sh5': return this.rng.int(32);
          case 'uimm20': return this.rng.chance(0.3) ? this.rng.pick([0, 1, 0x80000, 0xfffff, 0x7ffff]) : this.rng.int(0x100000);
          case 'rm': return this.rm();
          case 'cimm': return this.rng.range(-32, 31);
          case 'cshamt': return this.rng.range(1, 63);
          case 'clui': return this.rng.chance(0.5) ? this.rng.range(1, 31) : this.rng.range(0xfffe0, 0xfffff);
          case 'c4spn': return this.rng.range(1, 255) * 4;
          case 'csr': return this.rng.pick([A.CSR.fflags, A.CSR.frm, A.CSR.fcsr, A.CSR.cycle, A.CSR.instret, A.CSR.time]);
          case 'zimm': return this.rng.int(32);
          case 'pred': case 'succ': return this.rng.int(16);
        }
        throw new Error(`no operand rule for ${o} of ${name}`);
      });
      try {
        return A.enc(name, values);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
      }
    }
    throw new Error(`no encoding of ${name}`);
  }

  // ---- memory operands ----
  /** A base register and an offset for an access of `size` bytes. */
  private access(size: number, wide = true): { base: number; off: number } {
    const base = this.rng.weighted([[3, S0], [3, S1], [3, S2], [1, SP], [1, -1]] as const);
    if (base === -1) {
      // Anything: usually outside RAM (an access fault), sometimes x0-based.
      return { base: this.rng.chance(0.3) ? 0 : this.rng.pick(FREE), off: this.imm12() };
    }
    // Often exactly at the edge of the data area: from just inside to
    // straddling it by 1..size-1 bytes to just outside.
    if (base === S1 && this.rng.chance(0.4)) return { base, off: Number(DATA_END - this.bases[S1]) - size + this.rng.range(-1, size) };
    if (base === S2 && this.rng.chance(0.3)) return { base, off: Number(DATA - this.bases[S2]) - size + this.rng.range(-1, size) };
    if (base === S0 && this.rng.chance(0.2)) return { base, off: Number(DATA + 0x1000n - this.bases[S0]) - size + this.rng.range(-1, size) };
    let off: number;
    if (base === S1) off = this.rng.chance(0.7) ? this.rng.range(-24 - size, 8) : this.rng.range(-2048, 16);
    else if (base === S2) off = this.rng.chance(0.7) ? this.rng.range(-12, 12) : this.rng.range(-64, 2047);
    else off = wide ? this.rng.range(-2048, 2047) : this.rng.range(-64, 64);
    if (this.rng.chance(0.6)) off &= ~(size - 1); // mostly aligned
    return { base, off };
  }

  private memUnit(): Item[] {
    const g = this.rng;
    switch (g.weighted([[6, 'load'], [5, 'store'], [2, 'cmem'], [1, 'code'], [1, 'move']] as const)) {
      case 'load': {
        const name = g.pick(LOADS);
        const size = 1 << ('bhwd'.indexOf(name[1]) >= 0 ? 'bhwd'.indexOf(name[1]) : 2);
        const { base, off } = this.access(size);
        return [{ k: 'w', w: A.enc(name, [this.freeReg(), off, base]) }];
      }
      case 'store': {
        const name = g.pick(STORES);
        const size = 1 << 'bhwd'.indexOf(name[1]);
        const { base, off } = this.access(size);
        return [{ k: 'w', w: A.enc(name, [this.anyReg(), off, base]) }];
      }
      case 'cmem': {
        const name = g.pick(['c.lw', 'c.ld', 'c.sw', 'c.sd', 'c.lwsp', 'c.ldsp', 'c.swsp', 'c.sdsp']);
        const d = name.endsWith('d') || name.endsWith('dsp');
        const off = d ? g.int(32) * 8 : g.int(32) * 4;
        switch (name) {
          case 'c.lw': case 'c.ld': return [{ k: 'w', w: A.enc(name, [g.pick(FREE_C), off, g.pick([S0, S1])]) }];
          case 'c.sw': case 'c.sd': return [{ k: 'w', w: A.enc(name, [g.range(8, 15), off, g.pick([S0, S1])]) }];
          case 'c.lwsp': return [{ k: 'w', w: A.enc(name, [g.pick(FREE.filter((r) => r !== 0)), g.int(64) * 4]) }];
          case 'c.ldsp': return [{ k: 'w', w: A.enc(name, [g.pick(FREE.filter((r) => r !== 0)), g.int(64) * 8]) }];
          case 'c.swsp': return [{ k: 'w', w: A.enc(name, [this.anyReg(), g.int(64) * 4]) }];
          default: return [{ k: 'w', w: A.enc(name, [this.anyReg(), g.int(64) * 8]) }];
        }
      }
      case 'code': {
        // Reads (allowed) and writes (a page fault) of the code page itself.
        const load = g.chance(0.6);
        const off = g.range(-64, 64);
        return [
          { k: 'w', w: A.auipc(T0, 0) },
          { k: 'w', w: load ? A.enc(g.pick(LOADS), [this.freeReg(), off, T0]) : A.enc(g.pick(STORES), [this.anyReg(), off, T0]) },
        ];
      }
      default: {
        // Move a base a little (loops walk it).
        const base = g.pick(BASES);
        return [{ k: 'w', w: A.addi(base, base, g.pick([-16, -8, -4, -1, 1, 4, 8, 16])) }];
      }
    }
  }

  private fpUnit(): Item[] {
    const g = this.rng;
    switch (g.weighted([[5, 'op'], [2, 'load'], [2, 'store'], [1, 'c']] as const)) {
      case 'op': return [{ k: 'w', w: this.inst(g.pick(FP_OPS)) }];
      case 'load': {
        const name = g.pick(['flw', 'fld']);
        const { base, off } = this.access(name === 'fld' ? 8 : 4);
        return [{ k: 'w', w: A.enc(name, [g.int(32), off, base]) }];
      }
      case 'store': {
        const name = g.pick(['fsw', 'fsd']);
        const { base, off } = this.access(name === 'fsd' ? 8 : 4);
        return [{ k: 'w', w: A.enc(name, [g.int(32), off, base]) }];
      }
      default: {
        const name = g.pick(['c.fld', 'c.fsd', 'c.fldsp', 'c.fsdsp']);
        if (name === 'c.fld' || name === 'c.fsd') return [{ k: 'w', w: A.enc(name, [g.range(8, 15), g.int(32) * 8, g.pick([S0, S1])]) }];
        return [{ k: 'w', w: A.enc(name, [g.int(32), g.int(64) * 8]) }];
      }
    }
  }

  /** Something the translation tier does not translate, or that exits. */
  private specialUnit(): Item[] {
    const g = this.rng;
    const w = (x: number): Item[] => [{ k: 'w', w: x }];
    switch (g.weighted([
      [3, 'ecall'], [2, 'ebreak'], [3, 'csr'], [2, 'amo'], [2, 'lrsc'], [2, 'fence'], [2, 'illegal'],
    ] as const)) {
      case 'ecall': return w(A.ecall());
      case 'ebreak': return w(g.chance(0.5) ? A.ebreak() : A.c_ebreak());
      case 'csr': {
        switch (g.int(5)) {
          case 0: return w(A.csrr(this.freeReg(), g.pick([A.CSR.cycle, A.CSR.instret, A.CSR.time])));
          case 1: return w(A.csrr(this.freeReg(), g.pick([A.CSR.fflags, A.CSR.frm, A.CSR.fcsr])));
          case 2: return w(A.csrrw(this.freeReg(), A.CSR.frm, this.anyReg())); // may make frm invalid
          case 3: return w(A.csrrwi(0, A.CSR.fflags, g.int(32)));
          default: return w(A.csrrs(this.freeReg(), 0xc00 + g.int(3), 0));
        }
      }
      case 'amo': {
        const name = g.pick(['amoadd.w', 'amoadd.d', 'amoswap.w', 'amoxor.d', 'amomaxu.w', 'amomin.d', 'amoor.w']);
        return w(A.enc(name, [this.freeReg(), this.anyReg(), g.pick([S0, S1, S2, SP])]));
      }
      case 'lrsc': {
        const sfx = g.pick(['w', 'd']);
        const base = g.pick([S0, S2, SP]);
        return g.chance(0.5)
          ? [{ k: 'w', w: A.enc(`lr.${sfx}`, [this.freeReg(), base]) }, ...this.aluUnit(), { k: 'w', w: A.enc(`sc.${sfx}`, [this.freeReg(), this.anyReg(), base]) }]
          : w(A.enc(`sc.${sfx}`, [this.freeReg(), this.anyReg(), base]));
      }
      case 'fence': return w(g.chance(0.5) ? A.fence_i() : A.fence(g.int(16), g.int(16)));
      default: return w(g.pick(ILLEGAL));
    }
  }

  private aluUnit(): Item[] {
    const g = this.rng;
    if (g.chance(0.2)) {
      const name = g.pick(C_ALU);
      if (name === 'c.nop') return [{ k: 'w', w: A.c_nop() }];
      return [{ k: 'w', w: this.inst(name) }];
    }
    if (g.chance(0.05)) {
      // A 64-bit constant the long way.
      const r = g.pick(FREE);
      return [{ k: 'w', w: A.lui(r, g.int(0x100000)) }, { k: 'w', w: A.addiw(r, r, this.imm12()) }, { k: 'w', w: A.slli(r, r, g.int(64)) }];
    }
    return [{ k: 'w', w: this.inst(g.pick(ALU)) }];
  }

  /** A forward branch over the next `skip` units (resolved in `flatten`). */
  private branchUnit(): Unit {
    const g = this.rng;
    const u: Unit = [];
    u.skip = g.range(0, 3);
    return u;
  }

  /** A forward branch or jump to `target`, `distance` bytes of code ahead (at most). */
  private branchTo(target: number, distance: number): Item {
    const g = this.rng;
    let kind = g.weighted([[6, 'b'], [2, 'cb'], [1, 'j'], [1, 'cj']] as const);
    if (kind === 'cb' && distance > 250) kind = 'b';
    if (kind === 'cj' && distance > 2000) kind = 'j';
    if (kind === 'b' && distance > 4000) kind = 'j';
    if (kind === 'b') {
      const name = g.pick(BRANCHES);
      const rs1 = this.anyReg(), rs2 = g.chance(0.3) ? rs1 : this.anyReg();
      return { k: 'rel', size: 4, target, make: (d) => [A.enc(name, [rs1, rs2, d])] };
    }
    if (kind === 'cb') {
      const name = g.pick(['c.beqz', 'c.bnez']), r = g.range(8, 15);
      return { k: 'rel', size: 2, target, make: (d) => [A.enc(name, [r, d])] };
    }
    if (kind === 'j') return { k: 'rel', size: 4, target, make: (d) => [A.jal(0, d)] };
    return { k: 'rel', size: 2, target, make: (d) => [A.c_j(d)] };
  }

  private loopUnit(ctx: Ctx): Item[] {
    const g = this.rng;
    const counter = ctx.inSub ? LOOP_SUB : LOOP_MAIN[ctx.depth];
    const n = g.range(1, ctx.depth === 0 ? 12 : 6);
    const top = this.label();
    const items: Item[] = [];
    items.push({ k: 'w', w: counter === 13 && g.chance(0.5) ? A.c_li(13, n) : A.addi(counter, 0, n) });
    items.push({ k: 'label', id: top });
    items.push(...this.body({ inSub: ctx.inSub, depth: ctx.depth + 1 }, g.chance(0.1) ? 0 : g.range(1, ctx.depth === 0 ? 10 : 6)));
    const bodySize = items.slice(2).reduce((sum, i) => sum + itemSize(i), 0);
    if (counter === 13 && bodySize + 2 <= 256 && g.chance(0.5)) {
      items.push({ k: 'w', w: A.c_addi(13, -1) });
      items.push({ k: 'rel', size: 2, target: top, make: (d) => [A.c_bnez(13, d)] });
    } else {
      items.push({ k: 'w', w: A.addi(counter, counter, -1) });
      const form = g.int(3);
      items.push({
        k: 'rel', size: 4, target: top,
        make: (d) => [form === 0 ? A.bne(counter, 0, d) : form === 1 ? A.blt(0, counter, d) : A.bltu(0, counter, d)],
      });
    }
    return items;
  }

  private callUnit(): Item[] {
    const g = this.rng;
    const sub = this.subroutine(g.chance(0.7) ? false : true);
    switch (g.int(4)) {
      case 0: case 1: return [{ k: 'rel', size: 4, target: sub, make: (d) => [A.jal(RA, d)] }];
      case 2: return [
        {
          k: 'rel', size: 8, target: sub, make: (d) => {
            const hi = (d + 0x800) >> 12, lo = d - hi * 4096;
            return [A.auipc(T0, hi & 0xfffff), A.addi(T0, T0, lo)];
          },
        },
        { k: 'w', w: g.chance(0.5) ? A.jalr(RA, T0, 0) : A.c_jalr(T0) },
      ];
      default: {
        // A jump to the sub page and back, no link.
        const there = this.label(), back = this.label();
        this.hops.push([
          { k: 'label', id: there },
          ...this.body({ inSub: true, depth: 1 }, g.range(1, 4)),
          { k: 'rel', size: 4, target: back, make: (d) => [A.jal(0, d)] },
        ]);
        return [{ k: 'rel', size: 4, target: there, make: (d) => [A.jal(0, d)] }, { k: 'label', id: back }];
      }
    }
  }

  /** A jump into the guard page: the program ends with a fetch fault. */
  private wildJumpUnit(): Item[] {
    const off = this.rng.int(1024) * 4;
    return [
      {
        k: 'rel', size: 8, target: -1, make: (d) => {
          const hi = (d + off + 0x800) >> 12, lo = d + off - hi * 4096;
          return [A.auipc(T0, hi & 0xfffff), A.addi(T0, T0, lo)];
        },
      },
      { k: 'w', w: this.rng.chance(0.5) ? A.jalr(0, T0, 0) : A.c_jr(T0) },
    ];
  }

  /** A jump to code at the very end of the sub page that runs on into the
   *  guard page (sometimes with its last instruction straddling the boundary). */
  private falloffUnit(): Item[] {
    if (this.falloff === undefined) {
      const label = this.label();
      const items: Item[] = [{ k: 'label', id: label }];
      for (let i = this.rng.range(1, 6); i > 0; i--) items.push(...(this.rng.chance(0.7) ? this.aluUnit() : this.memUnit()));
      if (this.rng.chance(0.5)) items.push({ k: 'w', w: A.addi(this.rng.pick(FREE), this.rng.pick(FREE), 1) }); // straddles when placed 2 bytes early
      this.falloff = { label, items };
    }
    return [{ k: 'rel', size: 4, target: this.falloff.label, make: (d) => [A.jal(0, d)] }];
  }

  private subroutine(local: boolean): number {
    const existing = this.subs.filter((s) => s.local === local);
    if (existing.length >= 3 || (existing.length > 0 && this.rng.chance(0.5))) return this.rng.pick(existing).label;
    const label = this.label();
    const items: Item[] = [{ k: 'label', id: label }, ...this.body({ inSub: true, depth: 0 }, this.rng.range(1, 8))];
    items.push({ k: 'w', w: this.rng.chance(0.5) ? A.jalr(0, RA, 0) : A.c_jr(RA) });
    this.subs.push({ label, items, local });
    return label;
  }

  /** `n` units of code, forward branches resolved inside them. */
  body(ctx: Ctx, n: number): Item[] {
    const g = this.rng;
    const units: Unit[] = [];
    for (let i = 0; i < n; i++) {
      const kind = g.weighted([
        [30, 'alu'], [16, 'mem'], [8, 'fp'], [5, 'special'], [7, 'branch'],
        [ctx.depth < (ctx.inSub ? 1 : 2) ? 5 : 0, 'loop'],
        [ctx.inSub ? 0 : 4, 'call'],
        [ctx.inSub ? 0 : 0.15, 'wild'],
        [ctx.inSub ? 0 : 0.15, 'falloff'],
        [ctx.depth <= 1 && !ctx.inSub ? 0.5 : 0, 'long'],
      ] as const);
      switch (kind) {
        case 'alu': units.push(this.aluUnit()); break;
        case 'mem': units.push(this.memUnit()); break;
        case 'fp': units.push(this.fpUnit()); break;
        case 'special': units.push(this.specialUnit()); break;
        case 'branch': units.push(this.branchUnit()); break;
        case 'loop': units.push(this.loopUnit(ctx)); break;
        case 'call': units.push(this.callUnit()); break;
        case 'wild': units.push(this.wildJumpUnit()); break;
        case 'falloff': units.push(this.falloffUnit()); break;
        case 'long': {
          // Straight-line code longer than a region may be.
          const u: Item[] = [];
          for (let k = g.range(40, 300); k > 0 && u.length < 300; k--) u.push(...(g.chance(0.8) ? this.aluUnit() : this.memUnit()));
          units.push(u);
          break;
        }
      }
    }
    // Flatten: a branch unit jumps to a label before the unit `skip` after it.
    const labelsBefore = new Map<number, number[]>();
    const items: Item[] = [];
    const branchAt: Array<[number, number]> = [];
    units.forEach((u, i) => {
      if (u.skip !== undefined) {
        const id = this.label();
        const at = Math.min(units.length, i + 1 + u.skip);
        labelsBefore.set(at, [...(labelsBefore.get(at) ?? []), id]);
        branchAt.push([i, id]);
      }
    });
    const branchOf = new Map(branchAt);
    for (let i = 0; i <= units.length; i++) {
      for (const id of labelsBefore.get(i) ?? []) items.push({ k: 'label', id });
      if (i === units.length) break;
      const b = branchOf.get(i);
      if (b !== undefined) {
        const skipped = units.slice(i + 1, i + 2 + (units[i].skip ?? 0)).flat().reduce((sum, it) => sum + itemSize(it), 0);
        items.push(this.branchTo(b, skipped + 4));
      }
      else items.push(...units[i]);
    }
    return items;
  }

  /** The whole program. */
  program(seed: string, units: number): Program {
    const g = this.rng;
    const entry = MAIN_PAGE + BigInt(g.chance(0.2) ? 0xf00 + g.int(0x80) * 2 : g.int(0x700) * 2);
    const endLabel = this.label();
    const main: Item[] = [...this.body({ inSub: false, depth: 0 }, units), { k: 'label', id: endLabel }, { k: 'w', w: A.ebreak() }];
    for (const s of this.subs.filter((s) => s.local)) main.push(...s.items);
    const subItems: Item[] = [];
    for (const s of this.subs.filter((s) => !s.local)) subItems.push(...s.items);
    for (const h of this.hops) subItems.push(...h);
    const entryOffset = entry - MAIN_PAGE;
    const subAt = SUB_PAGE + (entryOffset <= 0x600n && g.chance(0.5) ? entryOffset : BigInt(g.int(0x100) * 2));

    // The wild jumps' target is the guard page (label -1).
    const sections = [{ at: entry, items: main }, { at: subAt, items: subItems }];
    if (this.falloff) {
      const size = this.falloff.items.reduce((sum, i) => sum + itemSize(i), 0);
      sections.push({ at: GUARD_PAGE - BigInt(size) - (g.chance(0.5) ? 2n : 0n), items: this.falloff.items });
    }
    const { labels } = layout(sections);
    labels.set(-1, GUARD_PAGE);
    const listing: string[] = [];
    const out = sections.map((s, i) => {
      listing.push(`${['main', 'sub', 'falloff'][i]} at ${s.at.toString(16)}:`);
      return { at: s.at, bytes: emit(s.at, s.items, labels, listing) };
    });
    if (entry + BigInt(out[0].bytes.length) > SUB_PAGE) throw new Error('main program too long');
    if (subAt + BigInt(out[1].bytes.length) > (out[2]?.at ?? GUARD_PAGE)) throw new Error('subroutines too long');

    const x = Array.from({ length: 32 }, () => randomInt(g));
    x[0] = 0n;
    for (const b of BASES) x[b] = this.bases[b];
    const f = Array.from({ length: 32 }, () => randomFloat(g, 'mixed'));
    const fcsr = (g.chance(0.9) ? g.range(0, 4) : g.range(5, 7)) << 5 | g.int(32);
    const data = new Uint8Array(Number(DATA_END - RO_PAGE));
    for (let i = 0; i < data.length; i += 4) new DataView(data.buffer).setUint32(i, g.u32(), true);
    const bait = A.assemble(Array.from({ length: 1024 }, () => A.addi(g.pick(FREE), g.pick(FREE), g.range(-2048, 2047))));
    return { seed, sections: out, end: labels.get(endLabel)!, entry, x, f, fcsr, data, bait, listing };
  }
}

/** A hand-written program: `main` at `entry` (page 1 or 2), `sub` at the sub
 *  page, registers x[r] as given (the base registers as a random program's
 *  would be), f registers and memory zero. `end` is the offset of the final
 *  ebreak in `main`, by default its last instruction. */
export function handProgram(name: string, main: number[], opts: {
  entry?: bigint; sub?: number[]; subAt?: bigint; x?: Record<number, bigint>; f?: Record<number, bigint>;
  fcsr?: number; perms?: Array<[bigint, number]>; extra?: Array<{ at: bigint; words: number[] }>;
} = {}): Program {
  const entry = opts.entry ?? MAIN_PAGE;
  const sections = [{ at: entry, bytes: A.assemble(main) }];
  if (opts.sub) sections.push({ at: opts.subAt ?? SUB_PAGE, bytes: A.assemble(opts.sub) });
  for (const e of opts.extra ?? []) sections.push({ at: e.at, bytes: A.assemble(e.words) });
  const listing: string[] = [];
  for (const s of sections) {
    listing.push(`code at ${s.at.toString(16)}:`);
    for (let off = 0; off < s.bytes.length;) {
      const lo = s.bytes[off] | (s.bytes[off + 1] << 8);
      const w = (lo & 3) === 3 ? (lo | (s.bytes[off + 2] << 16) | (s.bytes[off + 3] << 24)) >>> 0 : lo;
      listing.push(`  ${(s.at + BigInt(off)).toString(16)}: ${A.disasm(w)}`);
      off += A.insnLength(w);
    }
  }
  const x = Array.from({ length: 32 }, () => 0n);
  x[SP] = DATA + 0x800n; x[S0] = DATA + 0x1000n; x[S1] = DATA_END - 8n; x[S2] = DATA;
  for (const [r, v] of Object.entries(opts.x ?? {})) x[Number(r)] = BigInt.asUintN(64, v);
  const f = Array.from({ length: 32 }, (_, r) => opts.f?.[r] ?? 0n);
  const endAt = entry + BigInt(sections[0].bytes.length) - (A.insnLength(main[main.length - 1]) === 2 ? 2n : 4n);
  return {
    seed: name, sections, end: endAt, entry, x, f, fcsr: opts.fcsr ?? 0,
    data: new Uint8Array(Number(DATA_END - RO_PAGE)), bait: new Uint8Array(0), listing, perms: opts.perms,
  };
}

export function generateProgram(seed: string, units?: number): Program {
  const rng = new Rng(seed);
  let n = units ?? rng.range(20, 60);
  for (let attempt = 0; ; attempt++) {
    try {
      return new ProgramGen(rng.fork(`code${attempt}`)).program(seed, n);
    } catch (e) {
      // Too much code for its pages, or a branch too far for its form: again, smaller.
      if (!(e instanceof RangeError || (e instanceof Error && / too long/.test(e.message))) || attempt > 20) throw e;
      n = Math.max(4, n - 8);
    }
  }
}
