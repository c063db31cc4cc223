// RV64I through the WebAssembly CPU: each test writes a few encoded
// instructions into RAM, sets registers, runs to an `ebreak` and checks the
// registers and memory. Cases follow the unprivileged specification's
// "RV32I/RV64I Base Integer Instruction Set" chapters.
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { exec, rr, ri, CODE, DATA, u64, sext32, INT64_MIN, INT64_MAX, ALL_ONES } from './support/machine.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const le64 = (v: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, u64(v), true); return b; };

describe('LUI and AUIPC', () => {
  it('lui places the immediate in bits 31:12 and sign-extends bit 31', () => {
    const cpu = exec([A.lui(1, 0x12345), A.lui(2, 0x80000), A.lui(3, 0xfffff), A.lui(4, 0)], { x: { 4: 99n } });
    expect(cpu.x(1)).toBe(0x12345000n);
    expect(cpu.x(2)).toBe(0xffff_ffff_8000_0000n);
    expect(cpu.x(3)).toBe(0xffff_ffff_ffff_f000n);
    expect(cpu.x(4)).toBe(0n);
  });

  it('auipc adds the sign-extended upper immediate to its own pc', () => {
    const cpu = exec([A.auipc(1, 0), A.auipc(2, 1), A.auipc(3, 0xfffff), A.auipc(4, 0x80000)]);
    expect(cpu.x(1)).toBe(CODE);
    expect(cpu.x(2)).toBe(CODE + 4n + 0x1000n);
    expect(cpu.x(3)).toBe(CODE + 8n - 0x1000n);
    expect(cpu.x(4)).toBe(u64(CODE + 12n - 0x8000_0000n));
  });
});

describe('jumps', () => {
  it('jal links pc+4 and jumps forward and backward', () => {
    // 0: jal x1, +12 -> 12: jal x2, -8 -> 4: jal x0, +12 -> 16 (end)
    const cpu = exec([A.jal(1, 12), A.jal(0, 12), A.addi(5, 0, 1), A.jal(2, -8)]);
    expect(cpu.x(1)).toBe(CODE + 4n);
    expect(cpu.x(2)).toBe(CODE + 16n);
    expect(cpu.x(5)).toBe(0n); // skipped
  });

  it('jalr jumps to (rs1 + imm) with bit 0 cleared and links pc+4', () => {
    const target = CODE + 16n;
    const cpu = exec([A.jalr(1, 5, 7), A.addi(6, 0, 1), A.addi(6, 0, 2), A.addi(6, 0, 3)], { x: { 5: target - 7n + 1n } });
    // rs1 + imm = target + 1: bit 0 cleared -> target (the end of the program)
    expect(cpu.x(1)).toBe(CODE + 4n);
    expect(cpu.x(6)).toBe(0n);
  });

  it('jalr with rd = rs1 uses the old rs1 for the target', () => {
    const cpu = exec([A.jalr(5, 5, 0), A.addi(6, 0, 1)], { x: { 5: CODE + 8n } });
    expect(cpu.x(5)).toBe(CODE + 4n);
    expect(cpu.x(6)).toBe(0n);
  });

  it('jalr with a negative offset', () => {
    const cpu = exec([A.jalr(1, 5, -16), A.addi(6, 0, 1)], { x: { 5: CODE + 24n } });
    expect(cpu.x(6)).toBe(0n);
  });
});

describe('branches', () => {
  const cases: Array<[string, (a: number, b: number, o: number) => number, bigint, bigint, boolean]> = [
    ['beq equal', A.beq, 5n, 5n, true], ['beq differ', A.beq, 5n, 6n, false],
    ['bne differ', A.bne, 1n, 2n, true], ['bne equal', A.bne, 7n, 7n, false],
    ['blt signed -1 < 1', A.blt, ALL_ONES, 1n, true], ['blt 1 < -1', A.blt, 1n, ALL_ONES, false],
    ['blt equal', A.blt, 3n, 3n, false], ['blt INT_MIN < INT_MAX', A.blt, INT64_MIN, INT64_MAX, true],
    ['bge equal', A.bge, 3n, 3n, true], ['bge -1 >= 1', A.bge, ALL_ONES, 1n, false], ['bge 1 >= -1', A.bge, 1n, ALL_ONES, true],
    ['bltu 1 < 0xff..ff', A.bltu, 1n, ALL_ONES, true], ['bltu 0xff..ff < 1', A.bltu, ALL_ONES, 1n, false],
    ['bltu equal', A.bltu, 9n, 9n, false],
    ['bgeu 0xff..ff >= 1', A.bgeu, ALL_ONES, 1n, true], ['bgeu 1 >= 0xff..ff', A.bgeu, 1n, ALL_ONES, false],
    ['bgeu equal', A.bgeu, 0n, 0n, true],
  ];
  for (const [name, op, a, b, taken] of cases) {
    it(`${name}: ${taken ? 'taken' : 'not taken'}`, () => {
      const cpu = exec([op(1, 2, 8), A.addi(5, 0, 1)], { x: { 1: a, 2: b } });
      expect(cpu.x(5)).toBe(taken ? 0n : 1n);
    });
  }

  it('a taken backward branch loops', () => {
    // x1 counts down from 5 to 0, x2 counts iterations
    const cpu = exec([A.addi(2, 2, 1), A.addi(1, 1, -1), A.bne(1, 0, -8)], { x: { 1: 5n } });
    expect(cpu.x(2)).toBe(5n);
  });
});

describe('loads and stores', () => {
  const data = bytes(0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x7f, 0x01, 0x02, 0x03);
  const setup = { x: { 1: DATA }, mem: [[DATA, data]] as Array<[bigint, Uint8Array]> };

  it('sign- and zero-extend each width', () => {
    const cpu = exec([
      A.lb(2, 1, 0), A.lbu(3, 1, 0), A.lh(4, 1, 0), A.lhu(5, 1, 0), A.lw(6, 1, 0), A.lwu(7, 1, 0), A.ld(8, 1, 0),
      A.lb(9, 1, 8), A.lh(10, 1, 8), A.lw(11, 1, 8),
    ], setup);
    expect(cpu.x(2)).toBe(0xffff_ffff_ffff_ff81n);
    expect(cpu.x(3)).toBe(0x81n);
    expect(cpu.x(4)).toBe(0xffff_ffff_ffff_8281n);
    expect(cpu.x(5)).toBe(0x8281n);
    expect(cpu.x(6)).toBe(0xffff_ffff_8483_8281n);
    expect(cpu.x(7)).toBe(0x8483_8281n);
    expect(cpu.x(8)).toBe(0x8887_8685_8483_8281n);
    expect(cpu.x(9)).toBe(0x7fn);
    expect(cpu.x(10)).toBe(0x017fn);
    expect(cpu.x(11)).toBe(0x0302_017fn);
  });

  it('negative offsets', () => {
    const cpu = exec([A.ld(2, 1, -8), A.lbu(3, 1, -1)], { x: { 1: DATA + 8n }, mem: [[DATA, data]] });
    expect(cpu.x(2)).toBe(0x8887_8685_8483_8281n);
    expect(cpu.x(3)).toBe(0x88n);
  });

  it('misaligned loads work, including across an 8-byte boundary', () => {
    const cpu = exec([A.lh(2, 1, 1), A.lw(3, 1, 3), A.ld(4, 1, 1), A.ld(5, 1, 7), A.lhu(6, 1, 7), A.lwu(7, 1, 6)], setup);
    expect(cpu.x(2)).toBe(0xffff_ffff_ffff_8382n);
    expect(cpu.x(3)).toBe(0xffff_ffff_8786_8584n);
    expect(cpu.x(4)).toBe(0x7f88_8786_8584_8382n);
    expect(cpu.x(5)).toBe(0x0302_017f_88n);
    expect(cpu.x(6)).toBe(0x7f88n);
    expect(cpu.x(7)).toBe(0x017f_8887n);
  });

  it('stores write exactly their width', () => {
    const v = 0x1122_3344_5566_7788n;
    const cpu = exec([A.sb(2, 1, 0), A.sh(2, 1, 8), A.sw(2, 1, 16), A.sd(2, 1, 24)], {
      x: { 1: DATA, 2: v }, mem: [[DATA, new Uint8Array(40).fill(0xee)]],
    });
    expect([...cpu.readBytes(DATA, 40)]).toEqual([
      0x88, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
      0x88, 0x77, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
      0x88, 0x77, 0x66, 0x55, 0xee, 0xee, 0xee, 0xee,
      0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
      0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
    ]);
  });

  it('misaligned stores work and a load reads them back', () => {
    const v = 0x0102_0304_0506_0708n;
    const cpu = exec([A.sd(2, 1, 5), A.sw(2, 1, 15), A.sh(2, 1, 21), A.ld(3, 1, 5), A.lw(4, 1, 15), A.lh(5, 1, 21)], {
      x: { 1: DATA, 2: v }, mem: [[DATA, new Uint8Array(32)]],
    });
    expect(cpu.x(3)).toBe(v);
    expect(cpu.x(4)).toBe(0x0506_0708n);
    expect(cpu.x(5)).toBe(0x0708n);
    expect([...cpu.readBytes(DATA, 24)]).toEqual([
      0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 8, 7, 6, 5, 0, 0, 8, 7, 0,
    ]);
  });

  it('a load into x0 is discarded, and a store of x0 writes zeros', () => {
    const cpu = exec([A.ld(0, 1, 0), A.sd(0, 1, 8), A.add(2, 0, 0)], { x: { 1: DATA }, mem: [[DATA, le64(-1n)], [DATA + 8n, le64(-1n)]] });
    expect(cpu.x(0)).toBe(0n);
    expect(cpu.x(2)).toBe(0n);
    expect(cpu.read64(DATA + 8n)).toBe(0n);
  });

  it('a load whose rd is its base register', () => {
    const cpu = exec([A.ld(1, 1, 0)], { x: { 1: DATA }, mem: [[DATA, le64(0x1234n)]] });
    expect(cpu.x(1)).toBe(0x1234n);
  });
});

describe('register-immediate arithmetic', () => {
  it('addi wraps and sign-extends its immediate', () => {
    expect(ri(A.addi, 1n, -2)).toBe(ALL_ONES);
    expect(ri(A.addi, ALL_ONES, 1)).toBe(0n);
    expect(ri(A.addi, INT64_MAX, 1)).toBe(INT64_MIN);
    expect(ri(A.addi, 0n, 2047)).toBe(2047n);
    expect(ri(A.addi, 0n, -2048)).toBe(u64(-2048n));
  });

  it('slti / sltiu compare signed / unsigned against the sign-extended immediate', () => {
    expect(ri(A.slti, ALL_ONES, 0)).toBe(1n);
    expect(ri(A.slti, 0n, -1)).toBe(0n);
    expect(ri(A.slti, INT64_MIN, -2048)).toBe(1n);
    expect(ri(A.sltiu, 5n, -1)).toBe(1n); // -1 is 0xff..ff unsigned
    expect(ri(A.sltiu, ALL_ONES, -1)).toBe(0n);
    expect(ri(A.sltiu, 0n, 1)).toBe(1n); // seqz
    expect(ri(A.sltiu, 7n, 1)).toBe(0n);
  });

  it('xori, ori, andi with sign-extended immediates', () => {
    expect(ri(A.xori, 0x1234n, -1)).toBe(u64(~0x1234n)); // not
    expect(ri(A.ori, 0x100n, 0x0ff)).toBe(0x1ffn);
    expect(ri(A.ori, 0n, -2048)).toBe(0xffff_ffff_ffff_f800n);
    expect(ri(A.andi, ALL_ONES, 0x7ff)).toBe(0x7ffn);
    expect(ri(A.andi, 0x1234_5678_9abc_def0n, -16)).toBe(0x1234_5678_9abc_def0n);
  });

  it('slli / srli / srai by 0, 1, 31, 32 and 63', () => {
    const v = 0x8000_0000_0000_0001n;
    expect(ri(A.slli, v, 0)).toBe(v);
    expect(ri(A.slli, v, 1)).toBe(2n);
    expect(ri(A.slli, 1n, 63)).toBe(INT64_MIN);
    expect(ri(A.slli, 3n, 32)).toBe(0x3_0000_0000n);
    expect(ri(A.srli, v, 63)).toBe(1n);
    expect(ri(A.srli, v, 31)).toBe(0x1_0000_0000n);
    expect(ri(A.srai, v, 63)).toBe(ALL_ONES);
    expect(ri(A.srai, v, 1)).toBe(0xc000_0000_0000_0000n);
    expect(ri(A.srai, INT64_MAX, 63)).toBe(0n);
  });

  it('addiw adds in 32 bits and sign-extends', () => {
    expect(ri(A.addiw, 0x7fff_ffffn, 1)).toBe(0xffff_ffff_8000_0000n);
    expect(ri(A.addiw, 0xffff_ffffn, 1)).toBe(0n);
    expect(ri(A.addiw, 0x1234_5678_0000_0005n, -6)).toBe(ALL_ONES); // upper input bits ignored
    expect(ri(A.addiw, 0xffff_ffff_0000_0000n, 0)).toBe(0n); // sext.w
  });

  it('slliw / srliw / sraiw work on the low 32 bits and sign-extend', () => {
    expect(ri(A.slliw, 1n, 31)).toBe(0xffff_ffff_8000_0000n);
    expect(ri(A.slliw, 0xffff_ffff_0000_0001n, 0)).toBe(1n);
    expect(ri(A.slliw, 3n, 31)).toBe(0xffff_ffff_8000_0000n);
    expect(ri(A.srliw, 0xffff_ffff_8000_0000n, 0)).toBe(0xffff_ffff_8000_0000n); // sext of bit 31
    expect(ri(A.srliw, 0xffff_ffff_8000_0000n, 1)).toBe(0x4000_0000n);
    expect(ri(A.srliw, 0x1234_5678_ffff_ffffn, 31)).toBe(1n);
    expect(ri(A.sraiw, 0x0000_0000_8000_0000n, 31)).toBe(ALL_ONES);
    expect(ri(A.sraiw, 0xffff_ffff_7fff_ffffn, 4)).toBe(0x07ff_ffffn);
  });
});

describe('register-register arithmetic', () => {
  it('add and sub wrap around 64 bits', () => {
    expect(rr(A.add, INT64_MAX, 1n)).toBe(INT64_MIN);
    expect(rr(A.add, ALL_ONES, ALL_ONES)).toBe(u64(-2n));
    expect(rr(A.sub, 0n, 1n)).toBe(ALL_ONES);
    expect(rr(A.sub, INT64_MIN, 1n)).toBe(INT64_MAX);
  });

  it('slt and sltu', () => {
    expect(rr(A.slt, ALL_ONES, 0n)).toBe(1n);
    expect(rr(A.slt, 0n, ALL_ONES)).toBe(0n);
    expect(rr(A.slt, INT64_MIN, INT64_MAX)).toBe(1n);
    expect(rr(A.sltu, ALL_ONES, 0n)).toBe(0n);
    expect(rr(A.sltu, 0n, ALL_ONES)).toBe(1n);
    expect(rr(A.sltu, 4n, 4n)).toBe(0n);
  });

  it('xor, or, and', () => {
    const a = 0xff00_ff00_1234_5678n, b = 0x0ff0_0ff0_ffff_0000n;
    expect(rr(A.xor, a, b)).toBe(a ^ b);
    expect(rr(A.or, a, b)).toBe(a | b);
    expect(rr(A.and, a, b)).toBe(a & b);
  });

  it('sll / srl / sra use only the low 6 bits of rs2 (63, 64, 65, -1)', () => {
    const v = 0x8000_0000_0000_0001n;
    expect(rr(A.sll, 1n, 63n)).toBe(INT64_MIN);
    expect(rr(A.sll, v, 64n)).toBe(v);
    expect(rr(A.sll, v, 65n)).toBe(2n);
    expect(rr(A.sll, 1n, ALL_ONES)).toBe(INT64_MIN);
    expect(rr(A.srl, v, 63n)).toBe(1n);
    expect(rr(A.srl, v, 64n)).toBe(v);
    expect(rr(A.srl, v, 0xffff_ffff_ffff_ff41n)).toBe(0x4000_0000_0000_0000n);
    expect(rr(A.sra, v, 63n)).toBe(ALL_ONES);
    expect(rr(A.sra, v, 64n)).toBe(v);
    expect(rr(A.sra, v, 1n)).toBe(0xc000_0000_0000_0000n);
  });

  it('addw / subw add in 32 bits and sign-extend', () => {
    expect(rr(A.addw, 0x7fff_ffffn, 1n)).toBe(0xffff_ffff_8000_0000n);
    expect(rr(A.addw, 0x1_0000_0000n, 0x1_0000_0000n)).toBe(0n);
    expect(rr(A.addw, 0xdead_beef_0000_0001n, 0xffff_ffffn)).toBe(0n);
    expect(rr(A.subw, 0n, 1n)).toBe(ALL_ONES);
    expect(rr(A.subw, 0x8000_0000n, 1n)).toBe(0x7fff_ffffn);
    expect(rr(A.subw, 0xffff_ffff_0000_0000n, 0n)).toBe(0n);
  });

  it('sllw / srlw / sraw use only the low 5 bits of rs2 (31, 32, 33)', () => {
    expect(rr(A.sllw, 1n, 31n)).toBe(0xffff_ffff_8000_0000n);
    expect(rr(A.sllw, 1n, 32n)).toBe(1n);
    expect(rr(A.sllw, 1n, 33n)).toBe(2n);
    expect(rr(A.sllw, 0xffff_ffffn, 63n)).toBe(0xffff_ffff_8000_0000n); // 63 & 31 = 31
    expect(rr(A.srlw, 0xffff_ffff_8000_0000n, 31n)).toBe(1n);
    expect(rr(A.srlw, 0xffff_ffff_8000_0000n, 32n)).toBe(0xffff_ffff_8000_0000n);
    expect(rr(A.srlw, 0x1234_5678_8000_0000n, 33n)).toBe(0x4000_0000n);
    expect(rr(A.sraw, 0x8000_0000n, 31n)).toBe(ALL_ONES);
    expect(rr(A.sraw, 0x8000_0000n, 32n)).toBe(0xffff_ffff_8000_0000n);
    expect(rr(A.sraw, 0xffff_ffff_4000_0000n, 33n)).toBe(0x2000_0000n);
  });
});

describe('x0 and register aliasing', () => {
  it('writes to x0 are discarded', () => {
    const cpu = exec([A.addi(0, 0, 5), A.add(0, 1, 1), A.lui(0, 0x12345), A.jal(0, 4), A.add(2, 0, 0), A.addi(3, 0, 0)], { x: { 1: 7n } });
    expect(cpu.x(0)).toBe(0n);
    expect(cpu.x(2)).toBe(0n);
    expect(cpu.x(3)).toBe(0n);
  });

  it('rd may equal rs1 and rs2', () => {
    const cpu = exec([A.add(1, 1, 1), A.sub(2, 2, 2), A.slli(3, 3, 4)], { x: { 1: 21n, 2: 99n, 3: 1n } });
    expect(cpu.x(1)).toBe(42n);
    expect(cpu.x(2)).toBe(0n);
    expect(cpu.x(3)).toBe(16n);
  });
});

describe('MISC-MEM', () => {
  it('fence and fence.i do nothing visible and fall through', () => {
    const cpu = exec([A.fence(), A.fence(0b0011, 0b0001), A.fence_i(), A.addi(1, 0, 1)]);
    expect(cpu.x(1)).toBe(1n);
  });

  it('fence.i lets modified code run (a store into the next instruction)', () => {
    // x2 holds the encoding of `addi x5, x0, 42`; it overwrites the instruction
    // after the fence.i, which then runs in its new form.
    const cpu = exec([A.sw(2, 1, 12), A.fence_i(), A.addi(0, 0, 0), A.addi(5, 0, 1)], {
      x: { 1: CODE, 2: BigInt(A.addi(5, 0, 42)) },
    });
    expect(cpu.x(5)).toBe(42n);
  });
});

describe('instret', () => {
  it('counts one per retired instruction', () => {
    const cpu = exec([A.addi(1, 0, 1), A.addi(1, 1, 1), A.addi(1, 1, 1)]);
    expect(cpu.instret).toBe(3n);
  });

  it('sext32 helper sanity', () => {
    expect(sext32(0x8000_0000)).toBe(0xffff_ffff_8000_0000n);
  });
});
