// Synchronous exceptions as FAULT exits: instruction fetch outside RAM (cause
// 1), loads and stores outside RAM (5 and 7), illegal instructions (2, with
// the instruction bits as tval). Exits are precise: the faulting instruction
// changes nothing, pc stays on it and instret does not count it.
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { execRaw, newCpu, load, RAM_BASE, RAM_SIZE, DATA, CODE, ExitReason, Cpu } from './support/machine.js';

const END = RAM_BASE + RAM_SIZE;

function expectFault(cpu: Cpu, reason: ExitReason, want: { cause: number; pc: bigint; addr: bigint; inst?: number; len?: number }): void {
  const e = cpu.exit;
  expect(reason).toBe(ExitReason.Fault);
  expect({ cause: e.cause, pc: e.pc, addr: e.addr }).toEqual({ cause: want.cause, pc: want.pc, addr: want.addr });
  if (want.inst !== undefined) expect(e.inst >>> 0).toBe(want.inst >>> 0);
  if (want.len !== undefined) expect(e.instLength).toBe(want.len);
  expect(cpu.pc).toBe(want.pc);
}

describe('instruction fetch outside RAM: cause 1 with the address', () => {
  it('a jump below RAM', () => {
    const { reason, cpu } = execRaw([A.jalr(0, 1, 0)], { x: { 1: 0x1000n } });
    expectFault(cpu, reason, { cause: 1, pc: 0x1000n, addr: 0x1000n, inst: 0, len: 0 });
    expect(cpu.instret).toBe(1n); // the jump itself retired
  });

  // The straight path's page test must not take "no page fetched from yet"
  // for a page: taken for one, a pc in the first 4 KiB read the CPU's own
  // state as code (at pc + 1: here x2's bytes, which hold an addi).
  it('a run that begins below RAM, in the first page, before any fetch', () => {
    const cpu = newCpu();
    cpu.setX(2, BigInt(A.addi(5, 0, 1) >>> 0) << 8n);
    cpu.pc = 0x10n;
    const reason = cpu.run(10n);
    expectFault(cpu, reason, { cause: 1, pc: 0x10n, addr: 0x10n, len: 0 });
    expect([cpu.instret, cpu.x(5)]).toEqual([0n, 0n]);
  });

  it('a jump past the end of RAM', () => {
    const { reason, cpu } = execRaw([A.jalr(0, 1, 0)], { x: { 1: END } });
    expectFault(cpu, reason, { cause: 1, pc: END, addr: END, len: 0 });
  });

  it('running off the end of RAM', () => {
    const cpu = newCpu();
    load(cpu, [A.addi(1, 1, 1)], {}, END - 4n);
    const reason = cpu.run(10n);
    expectFault(cpu, reason, { cause: 1, pc: END, addr: END });
    expect(cpu.x(1)).toBe(1n);
  });

  it('a 32-bit instruction whose second half lies outside RAM: tval is that half', () => {
    // privileged spec, "mtval": on variable-length instructions tval holds the
    // address of the portion that faulted, epc the start of the instruction.
    const cpu = newCpu();
    cpu.writeBytes(END - 2n, Uint8Array.of(0x93, 0x00)); // low parcel of an addi
    cpu.pc = END - 2n;
    const reason = cpu.run(10n);
    expectFault(cpu, reason, { cause: 1, pc: END - 2n, addr: END, len: 0 });
  });
});

describe('loads and stores outside RAM: cause 5 / 7 with the address', () => {
  const loads: Array<[string, (rd: number, rs1: number, off?: number) => number, number]> = [
    ['lb', A.lb, 1], ['lh', A.lh, 2], ['lw', A.lw, 4], ['ld', A.ld, 8], ['lbu', A.lbu, 1], ['lhu', A.lhu, 2], ['lwu', A.lwu, 4],
  ];
  for (const [name, op, size] of loads) {
    it(`${name} below RAM, past the end, and straddling the end`, () => {
      for (const addr of new Set([0n, RAM_BASE - 1n, END, END - BigInt(size) + 1n, 0xffff_ffff_ffff_fff8n])) {
        const { reason, cpu } = execRaw([op(2, 1, 0)], { x: { 1: addr, 2: 0x1234n } });
        expectFault(cpu, reason, { cause: 5, pc: CODE, addr });
        expect(cpu.x(2)).toBe(0x1234n);
        expect(cpu.instret).toBe(0n);
      }
    });
  }

  it('the address is rs1 + offset (a negative offset from the start of RAM)', () => {
    const { reason, cpu } = execRaw([A.ld(2, 1, -8)], { x: { 1: RAM_BASE } });
    expectFault(cpu, reason, { cause: 5, pc: CODE, addr: RAM_BASE - 8n });
  });

  it('the last bytes of RAM are readable', () => {
    const { reason, cpu } = execRaw([A.ld(2, 1, -8), A.lbu(3, 1, -1), A.ebreak()], { x: { 1: END } });
    expect(reason).toBe(ExitReason.Ebreak);
    expect(cpu.x(2)).toBe(0n);
  });

  const stores: Array<[string, (rs2: number, rs1: number, off?: number) => number, number]> = [
    ['sb', A.sb, 1], ['sh', A.sh, 2], ['sw', A.sw, 4], ['sd', A.sd, 8],
  ];
  for (const [name, op, size] of stores) {
    it(`${name} outside RAM faults and a straddling one writes nothing`, () => {
      for (const addr of new Set([0x10n, END, END - BigInt(size) + 1n])) {
        const cpu = newCpu();
        cpu.fill(END - 16n, 16, 0xee);
        load(cpu, [op(2, 1, 0)], { x: { 1: addr, 2: -1n } });
        const reason = cpu.run(10n);
        expectFault(cpu, reason, { cause: 7, pc: CODE, addr });
        expect([...cpu.readBytes(END - 16n, 16)]).toEqual(new Array(16).fill(0xee));
      }
    });
  }

  it('a load into x0 outside RAM still faults', () => {
    const { reason, cpu } = execRaw([A.ld(0, 1, 0)], { x: { 1: 8n } });
    expectFault(cpu, reason, { cause: 5, pc: CODE, addr: 8n });
  });
});

describe('illegal instructions: cause 2, tval = the instruction bits', () => {
  const ill = (name: string, word: number) => it(name, () => {
    const { reason, cpu } = execRaw([word], { x: { 1: DATA, 2: 3n, 3: 0x77n } });
    expectFault(cpu, reason, { cause: 2, pc: CODE, addr: BigInt(word >>> 0), inst: word, len: 4 });
    expect(cpu.x(3)).toBe(0x77n);
    expect(cpu.instret).toBe(0n);
  });
  const set = (w: number, mask: number, v: number) => ((w & ~mask) | v) >>> 0;

  ill('all ones (0xffffffff)', 0xffffffff);
  ill('an unused major opcode (0x0b custom-0)', 0x0000_008b | (3 << 7));
  ill('OP-IMM with an unknown funct6 for shifts (slli with bit 30 set)', set(A.slli(3, 1, 1), 0xfc00_0000, 0x4000_0000));
  ill('slliw with shamt[5] set (reserved in RV64)', (A.slliw(3, 1, 1) | (1 << 25)) >>> 0);
  ill('srliw with shamt[5] set', (A.srliw(3, 1, 1) | (1 << 25)) >>> 0);
  ill('sraiw with shamt[5] set', (A.sraiw(3, 1, 1) | (1 << 25)) >>> 0);
  ill('OP with an unknown funct7 (0x02)', set(A.add(3, 1, 2), 0xfe00_0000, 0x02 << 25));
  ill('OP-32 with an unknown funct7', set(A.addw(3, 1, 2), 0xfe00_0000, 0x02 << 25));
  ill('OP-32 with funct7 1 and funct3 1 (no mulhw)', set(A.mulw(3, 1, 2), 0x7000, 1 << 12));
  ill('a load with funct3 7', set(A.ld(3, 1, 0), 0x7000, 7 << 12));
  ill('a store with funct3 4', set(A.sd(3, 1, 0), 0x7000, 4 << 12));
  ill('a branch with funct3 2', set(A.beq(1, 2, 8), 0x7000, 2 << 12));
  ill('a branch with funct3 3', set(A.beq(1, 2, 8), 0x7000, 3 << 12));
  ill('jalr with funct3 1', set(A.jalr(3, 1, 0), 0x7000, 1 << 12));
  ill('MISC-MEM with funct3 2', set(A.fence(), 0x7000, 2 << 12));
  ill('sret (privileged)', 0x10200073);
  ill('mret (privileged)', 0x30200073);
  ill('wfi (privileged)', 0x10500073);
  ill('sfence.vma (privileged)', 0x12000073);
  ill('zext.h with rs2 != 0', (A.zext_h(3, 1) | (1 << 20)) >>> 0);
  ill('clz-family with an unknown rs2 (0x603)', set(A.clz(3, 1), 0xfff0_0000, 0x603 << 20));
  ill('sext.b in OP-IMM-32 (0x604 has no W form)', set(A.clzw(3, 1), 0xfff0_0000, 0x604 << 20));
  ill('rev8 in its RV32 form (0x698)', set(A.rev8(3, 1), 0xfff0_0000, 0x698 << 20));
  ill('bexti/binvi etc. in OP-IMM-32 (no W forms)', set(A.bseti(3, 1, 3), 0x7f, 0x1b));
  ill('zext.h in its RV32 encoding (OP, not OP-32)', set(A.zext_h(3, 1), 0x7f, 0x33));

  it('the all-zero parcel (a defined illegal 16-bit instruction)', () => {
    const { reason, cpu } = execRaw([0x0000]);
    expectFault(cpu, reason, { cause: 2, pc: CODE, addr: 0n, inst: 0, len: 2 });
  });

  it('exits are precise: earlier instructions completed, later ones did not run', () => {
    const { reason, cpu } = execRaw([A.addi(5, 0, 1), A.addi(6, 0, 2), 0xffffffff, A.addi(7, 0, 3)]);
    expectFault(cpu, reason, { cause: 2, pc: CODE + 8n, addr: 0xffffffffn });
    expect([cpu.x(5), cpu.x(6), cpu.x(7)]).toEqual([1n, 2n, 0n]);
    expect(cpu.instret).toBe(2n);
  });
});
