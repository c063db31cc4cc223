// The C extension executed by the CPU: every RV64C form does what the
// 32-bit instruction it expands to does (spec, "C" Standard Extension, "RVC
// Instruction Set Listings"), 16- and 32-bit instructions mix at any 2-byte
// alignment, jumps link pc + 2, and reserved encodings are illegal with the
// 16-bit parcel as tval. (c.fld/c.fsd/c.fldsp/c.fsdsp also need the D
// extension.)
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { exec, execRaw, newCpu, load, CODE, DATA, RAM_BASE, RAM_SIZE, ExitReason, ExitControl, u64, ALL_ONES, INT64_MIN } from './support/machine.js';

const le64 = (v: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, u64(v), true); return b; };

describe('quadrant 0: c.addi4spn and the register-based loads and stores', () => {
  it('c.addi4spn adds a scaled unsigned immediate to sp', () => {
    const cpu = exec([A.c_addi4spn(8, 4), A.c_addi4spn(15, 1020)], { x: { 2: DATA } });
    expect(cpu.x(8)).toBe(DATA + 4n);
    expect(cpu.x(15)).toBe(DATA + 1020n);
  });

  it('c.lw sign-extends, c.ld loads 64 bits, at the largest offsets', () => {
    const cpu = exec([A.c_lw(8, 9, 124), A.c_ld(10, 9, 248), A.c_lw(11, 9, 0)], {
      x: { 9: DATA }, mem: [[DATA + 124n, le64(0x8000_0001n)], [DATA + 248n, le64(INT64_MIN + 5n)], [DATA, le64(0x7fff_ffffn)]],
    });
    expect(cpu.x(8)).toBe(0xffff_ffff_8000_0001n);
    expect(cpu.x(10)).toBe(INT64_MIN + 5n);
    expect(cpu.x(11)).toBe(0x7fff_ffffn);
  });

  it('c.sw and c.sd store their width', () => {
    const cpu = exec([A.c_sw(8, 9, 4), A.c_sd(8, 9, 16)], { x: { 8: 0x1122_3344_5566_7788n, 9: DATA } });
    expect(cpu.read64(DATA)).toBe(0x5566_7788_0000_0000n);
    expect(cpu.read64(DATA + 16n)).toBe(0x1122_3344_5566_7788n);
  });

  it('c.fld and c.fsd move 64 bits between memory and f8..f15', () => {
    const cpu = exec([A.c_fld(8, 9, 8), A.c_fsd(8, 9, 32)], { x: { 9: DATA }, mem: [[DATA + 8n, le64(0x4009_21fb_5444_2d18n)]] });
    expect(cpu.f(8)).toBe(0x4009_21fb_5444_2d18n);
    expect(cpu.read64(DATA + 32n)).toBe(0x4009_21fb_5444_2d18n);
  });
});

describe('quadrant 1: immediates, arithmetic, jumps and branches', () => {
  it('c.nop does nothing', () => {
    const cpu = exec([A.c_nop(), A.c_nop()], { x: { 5: 3n } });
    expect(cpu.x(5)).toBe(3n);
    expect(cpu.instret).toBe(2n);
  });

  it('c.addi with positive and negative immediates', () => {
    const cpu = exec([A.c_addi(5, 31), A.c_addi(6, -32), A.c_addi(7, -1)], { x: { 5: 1n, 6: 0n, 7: 0n } });
    expect(cpu.x(5)).toBe(32n);
    expect(cpu.x(6)).toBe(u64(-32n));
    expect(cpu.x(7)).toBe(ALL_ONES);
  });

  it('c.addiw adds in 32 bits and sign-extends (c.addiw rd, 0 is sext.w)', () => {
    const cpu = exec([A.c_addiw(5, 1), A.c_addiw(6, 0)], { x: { 5: 0x7fff_ffffn, 6: 0x1234_5678_8000_0000n } });
    expect(cpu.x(5)).toBe(0xffff_ffff_8000_0000n);
    expect(cpu.x(6)).toBe(0xffff_ffff_8000_0000n);
  });

  it('c.li loads a sign-extended 6-bit immediate', () => {
    const cpu = exec([A.c_li(5, -32), A.c_li(6, 31), A.c_li(7, 0)], { x: { 7: 9n } });
    expect(cpu.x(5)).toBe(u64(-32n));
    expect(cpu.x(6)).toBe(31n);
    expect(cpu.x(7)).toBe(0n);
  });

  it('c.addi16sp adds a multiple of 16 to sp', () => {
    const cpu = exec([A.c_addi16sp(496), A.c_addi16sp(-512), A.c_addi16sp(16)], { x: { 2: DATA } });
    expect(cpu.x(2)).toBe(DATA + 496n - 512n + 16n);
  });

  it('c.lui loads bits 17:12 sign-extended', () => {
    const cpu = exec([A.c_lui(5, 1), A.c_lui(6, 0x1f), A.c_lui(7, 0xfffe0), A.c_lui(8, 0xfffff)]);
    expect(cpu.x(5)).toBe(0x1000n);
    expect(cpu.x(6)).toBe(0x1f000n);
    expect(cpu.x(7)).toBe(0xffff_ffff_fffe_0000n);
    expect(cpu.x(8)).toBe(0xffff_ffff_ffff_f000n);
  });

  it('c.srli / c.srai with 6-bit shift amounts', () => {
    const v = 0x8000_0000_0000_0010n;
    const cpu = exec([A.c_srli(8, 63), A.c_srai(9, 63), A.c_srli(10, 4), A.c_srai(11, 32)], { x: { 8: v, 9: v, 10: v, 11: v } });
    expect(cpu.x(8)).toBe(1n);
    expect(cpu.x(9)).toBe(ALL_ONES);
    expect(cpu.x(10)).toBe(0x0800_0000_0000_0001n);
    expect(cpu.x(11)).toBe(0xffff_ffff_8000_0000n);
  });

  it('c.andi with a sign-extended immediate', () => {
    const cpu = exec([A.c_andi(8, -16), A.c_andi(9, 0x1f), A.c_andi(10, 0)], { x: { 8: ALL_ONES, 9: 0xffn, 10: 0xffn } });
    expect(cpu.x(8)).toBe(u64(-16n));
    expect(cpu.x(9)).toBe(0x1fn);
    expect(cpu.x(10)).toBe(0n);
  });

  it('c.sub, c.xor, c.or, c.and', () => {
    const a = 0xf0f0_0000_ffff_1234n, b = 0x0ff0_1111_0000_4321n;
    const cpu = exec([A.c_sub(8, 12), A.c_xor(9, 12), A.c_or(10, 12), A.c_and(11, 12)], { x: { 8: a, 9: a, 10: a, 11: a, 12: b } });
    expect(cpu.x(8)).toBe(u64(a - b));
    expect(cpu.x(9)).toBe(a ^ b);
    expect(cpu.x(10)).toBe(a | b);
    expect(cpu.x(11)).toBe(a & b);
  });

  it('c.subw and c.addw sign-extend the 32-bit result', () => {
    const cpu = exec([A.c_addw(8, 12), A.c_subw(9, 13)], { x: { 8: 0x7fff_ffffn, 12: 1n, 9: 0n, 13: 0x1_0000_0001n } });
    expect(cpu.x(8)).toBe(0xffff_ffff_8000_0000n);
    expect(cpu.x(9)).toBe(ALL_ONES);
  });

  it('c.j jumps forward and backward (no link)', () => {
    // 0: c.j +6 -> 6: c.j -4 -> 2: c.j +6 -> 8: end
    const cpu = exec([A.c_j(6), A.c_j(6), A.c_nop(), A.c_j(-4)], { x: { 1: 5n } });
    expect(cpu.pc).toBe(CODE + 8n);
    expect(cpu.x(1)).toBe(5n);
    expect(cpu.instret).toBe(3n);
  });

  it('c.beqz / c.bnez', () => {
    const cpu = exec([A.c_beqz(8, 4), A.c_li(5, 1), A.c_bnez(9, 4), A.c_li(6, 1), A.c_beqz(9, 4), A.c_li(7, 1)], { x: { 8: 0n, 9: 3n } });
    expect([cpu.x(5), cpu.x(6), cpu.x(7)]).toEqual([0n, 0n, 1n]);
  });
});

describe('quadrant 2: sp-based loads and stores, moves, jumps', () => {
  it('c.slli by 1 and 63', () => {
    const cpu = exec([A.c_slli(5, 63), A.c_slli(6, 1)], { x: { 5: 3n, 6: ALL_ONES } });
    expect(cpu.x(5)).toBe(INT64_MIN);
    expect(cpu.x(6)).toBe(u64(-2n));
  });

  it('c.lwsp / c.ldsp at the largest offsets', () => {
    const cpu = exec([A.c_lwsp(5, 252), A.c_ldsp(6, 504)], {
      x: { 2: DATA }, mem: [[DATA + 252n, le64(0xffff_fffen)], [DATA + 504n, le64(0x0123_4567_89ab_cdefn)]],
    });
    expect(cpu.x(5)).toBe(u64(-2n));
    expect(cpu.x(6)).toBe(0x0123_4567_89ab_cdefn);
  });

  it('c.swsp / c.sdsp at the largest offsets', () => {
    const cpu = exec([A.c_swsp(5, 252), A.c_sdsp(5, 504)], { x: { 2: DATA, 5: 0x1122_3344_5566_7788n } });
    expect(cpu.read32(DATA + 252n)).toBe(0x5566_7788);
    expect(cpu.read64(DATA + 504n)).toBe(0x1122_3344_5566_7788n);
  });

  it('c.fldsp / c.fsdsp', () => {
    const cpu = exec([A.c_fldsp(20, 8), A.c_fsdsp(20, 504)], { x: { 2: DATA }, mem: [[DATA + 8n, le64(0x3ff0_0000_0000_0000n)]] });
    expect(cpu.f(20)).toBe(0x3ff0_0000_0000_0000n);
    expect(cpu.read64(DATA + 504n)).toBe(0x3ff0_0000_0000_0000n);
  });

  it('c.mv and c.add', () => {
    const cpu = exec([A.c_mv(5, 6), A.c_add(7, 6)], { x: { 6: 40n, 7: 2n } });
    expect(cpu.x(5)).toBe(40n);
    expect(cpu.x(7)).toBe(42n);
  });

  it('c.jr jumps to rs1 without linking', () => {
    const cpu = exec([A.c_jr(5), A.c_li(6, 1)], { x: { 5: CODE + 4n, 1: 7n } });
    expect(cpu.x(6)).toBe(0n);
    expect(cpu.x(1)).toBe(7n);
  });

  it('c.jalr links pc + 2 in ra', () => {
    const cpu = exec([A.c_jalr(5), A.c_li(6, 1)], { x: { 5: CODE + 4n } });
    expect(cpu.x(1)).toBe(CODE + 2n);
    expect(cpu.x(6)).toBe(0n);
  });

  it('c.jalr with rs1 = ra jumps to the old ra', () => {
    const cpu = exec([A.c_jalr(1), A.c_li(6, 1)], { x: { 1: CODE + 4n } });
    expect(cpu.x(1)).toBe(CODE + 2n);
    expect(cpu.x(6)).toBe(0n);
  });

  it('c.ebreak exits EBREAK with the 16-bit instruction', () => {
    const { reason, exit, cpu } = execRaw([A.c_nop(), A.c_ebreak()]);
    expect(reason).toBe(ExitReason.Ebreak);
    expect(exit.pc).toBe(CODE + 2n);
    expect(exit.inst).toBe(0x9002);
    expect(exit.instLength).toBe(2);
    expect(cpu.pc).toBe(CODE + 2n);
  });

  it('c.ebreak not selected: FAULT cause 3', () => {
    const cpu = newCpu();
    cpu.exitControls = ExitControl.EcallU;
    load(cpu, [A.c_ebreak()]);
    expect(cpu.run(10n)).toBe(ExitReason.Fault);
    expect([cpu.exit.cause, cpu.exit.addr]).toEqual([3, CODE]);
  });
});

describe('mixing 16- and 32-bit instructions', () => {
  it('32-bit instructions at pc % 4 == 2 and jal/jalr links after a 32-bit instruction', () => {
    const cpu = exec([A.c_li(5, 1), A.addi(5, 5, 10), A.c_addi(5, 1), A.jal(1, 4), A.lui(6, 1)]);
    expect(cpu.x(5)).toBe(12n);
    expect(cpu.x(1)).toBe(CODE + 12n);
    expect(cpu.x(6)).toBe(0x1000n);
  });

  it('a compressed instruction in the last two bytes of RAM runs', () => {
    const cpu = newCpu();
    const end = RAM_BASE + RAM_SIZE;
    load(cpu, [A.c_li(5, 9)], {}, end - 2n);
    const reason = cpu.run(10n);
    expect(cpu.x(5)).toBe(9n);
    expect(reason).toBe(ExitReason.Fault);
    expect([cpu.exit.cause, cpu.exit.addr]).toEqual([1, end]);
  });

  it('a branch to a 2-byte aligned 32-bit instruction', () => {
    const cpu = exec([A.beq(0, 0, 6), A.c_li(5, 1), A.addi(6, 0, 2)]);
    expect(cpu.x(5)).toBe(0n);
    expect(cpu.x(6)).toBe(2n);
  });
});

describe('HINTs are legal and do nothing', () => {
  const hints: Array<[string, number]> = [
    ['c.nop with an immediate', 0x0005],
    ['c.addi with imm 0', 0x0281],
    ['c.li x0, 5', 0x4015],
    ['c.lui x0, 1', 0x6005],
    ['c.mv x0, a0', 0x802a],
    ['c.add x0, a0', 0x902a],
    ['c.slli x0, 1', 0x0006],
  ];
  for (const [name, half] of hints) {
    it(name, () => {
      const cpu = exec([half], { x: { 5: 77n, 10: 3n } });
      expect(cpu.x(0)).toBe(0n);
      expect(cpu.x(5)).toBe(77n);
      expect(cpu.instret).toBe(1n);
    });
  }
});

describe('reserved compressed encodings: cause 2, tval = the 16-bit parcel', () => {
  const reserved: Array<[string, number]> = [
    ['the all-zero parcel', 0x0000],
    ['c.addi4spn with imm 0', 0x0004],
    ['quadrant 0 funct3 4', 0x8000],
    ['c.addiw with rd = x0', 0x2001],
    ['c.addi16sp with imm 0', 0x6101],
    ['c.lui with imm 0', 0x6281],
    ['quadrant 1 c.subw group, funct2 2', 0x9c41],
    ['quadrant 1 c.subw group, funct2 3', 0x9c61],
    ['c.lwsp with rd = x0', 0x4002],
    ['c.ldsp with rd = x0', 0x6002],
    ['c.jr with rs1 = x0', 0x8002],
  ];
  for (const [name, half] of reserved) {
    it(name, () => {
      const { reason, exit, cpu } = execRaw([half, A.c_nop()], { x: { 5: 1n } });
      expect(reason).toBe(ExitReason.Fault);
      expect({ cause: exit.cause, addr: exit.addr, inst: exit.inst, len: exit.instLength, pc: exit.pc })
        .toEqual({ cause: 2, addr: BigInt(half), inst: half, len: 2, pc: CODE });
      expect(cpu.instret).toBe(0n);
    });
  }
});
