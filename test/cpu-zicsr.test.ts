// Zicsr through the CPU: the read/modify/write rules of the six CSR
// instructions (spec, "Zicsr" chapter: which forms read, which write), the
// fcsr/frm/fflags views of one register, the counters, and the illegal
// instruction for unknown CSRs and for writes to read-only ones.
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { CSR } from './support/rvasm.js';
import { exec, execRaw, newCpu, load, RAM_BASE, ExitReason, ALL_ONES } from './support/machine.js';

const { fflags: FFLAGS, frm: FRM, fcsr: FCSR, cycle: CYCLE, time: TIME, instret: INSTRET } = CSR;

describe('csrrw / csrrs / csrrc and their immediate forms', () => {
  it('csrrw returns the old value and writes rs1', () => {
    const cpu = exec([A.csrrw(2, FCSR, 1)], { x: { 1: 0xa5n }, fcsr: 0x3c });
    expect(cpu.x(2)).toBe(0x3cn);
    expect(cpu.fcsr).toBe(0xa5);
  });

  it('csrrs sets and csrrc clears the bits of rs1', () => {
    const cpu = exec([A.csrrs(2, FCSR, 1), A.csrrc(3, FCSR, 4)], { x: { 1: 0x81n, 4: 0x03n }, fcsr: 0x12 });
    expect(cpu.x(2)).toBe(0x12n);
    expect(cpu.x(3)).toBe(0x93n);
    expect(cpu.fcsr).toBe(0x90);
  });

  it('csrrwi / csrrsi / csrrci use the 5-bit zero-extended immediate', () => {
    const cpu = exec([A.csrrwi(2, FCSR, 31), A.csrrci(3, FCSR, 0x15), A.csrrsi(4, FCSR, 0x04)], { fcsr: 0xe0 });
    expect(cpu.x(2)).toBe(0xe0n);
    expect(cpu.x(3)).toBe(0x1fn);
    expect(cpu.x(4)).toBe(0x0an);
    expect(cpu.fcsr).toBe(0x0e);
  });

  it('rd = x0 discards the old value; rd = rs1 swaps', () => {
    const cpu = exec([A.csrrw(0, FCSR, 1), A.csrrw(2, FCSR, 2)], { x: { 1: 0x21n, 2: 0x42n } });
    expect(cpu.x(2)).toBe(0x21n);
    expect(cpu.fcsr).toBe(0x42);
  });

  it('csrrs/csrrc with rs1 = x0 only read', () => {
    const cpu = exec([A.csrrs(2, FCSR, 0), A.csrrc(3, FCSR, 0), A.csrrsi(4, FCSR, 0), A.csrrci(5, FCSR, 0)], { fcsr: 0x77 });
    for (const r of [2, 3, 4, 5]) expect(cpu.x(r)).toBe(0x77n);
    expect(cpu.fcsr).toBe(0x77);
  });
});

describe('fcsr, frm and fflags are views of one register', () => {
  it('frm is bits 7:5 and fflags bits 4:0 of fcsr', () => {
    const cpu = exec([A.csrr(1, FRM), A.csrr(2, FFLAGS), A.csrr(3, FCSR)], { fcsr: 0b101_10011 });
    expect(cpu.x(1)).toBe(0b101n);
    expect(cpu.x(2)).toBe(0b10011n);
    expect(cpu.x(3)).toBe(0b101_10011n);
  });

  it('writing fflags leaves frm alone and keeps only 5 bits', () => {
    const cpu = exec([A.csrrw(2, FFLAGS, 1)], { x: { 1: ALL_ONES }, fcsr: 0b011_00000 });
    expect(cpu.x(2)).toBe(0n);
    expect(cpu.fcsr).toBe(0b011_11111);
  });

  it('writing frm leaves fflags alone and keeps only 3 bits', () => {
    const cpu = exec([A.csrrw(2, FRM, 1), A.csrrsi(3, FRM, 0)], { x: { 1: 0xfen }, fcsr: 0b000_10101 });
    expect(cpu.x(2)).toBe(0n);
    expect(cpu.x(3)).toBe(0b110n);
    expect(cpu.fcsr).toBe(0b110_10101);
  });

  it('fcsr keeps 8 bits; the rest reads as zero', () => {
    const cpu = exec([A.csrrw(0, FCSR, 1), A.csrr(2, FCSR)], { x: { 1: 0xffff_ffffn } });
    expect(cpu.x(2)).toBe(0xffn);
  });

  it('csrrsi/csrrci on frm and fflags', () => {
    const cpu = exec([A.csrrsi(0, FRM, 0b100), A.csrrci(0, FFLAGS, 0b00011)], { fcsr: 0b001_11111 });
    expect(cpu.fcsr).toBe(0b101_11100);
  });
});

describe('counters', () => {
  it('instret counts instructions retired before the reading one', () => {
    const cpu = exec([A.csrr(1, INSTRET), A.addi(0, 0, 0), A.csrr(2, INSTRET), A.csrr(3, INSTRET)]);
    expect(cpu.x(1)).toBe(0n);
    expect(cpu.x(2)).toBe(2n);
    expect(cpu.x(3)).toBe(3n);
  });

  it('instret carries across runs', () => {
    const cpu = newCpu();
    load(cpu, [A.addi(0, 0, 0), A.addi(0, 0, 0), A.addi(0, 0, 0), A.csrr(1, INSTRET), A.ebreak()]);
    expect(cpu.run(2n)).toBe(ExitReason.Budget);
    expect(cpu.run(100n)).toBe(ExitReason.Ebreak);
    expect(cpu.x(1)).toBe(3n);
  });

  it('cycle is readable and does not go backwards', () => {
    const cpu = exec([A.csrr(1, CYCLE), A.addi(0, 0, 0), A.csrr(2, CYCLE)]);
    expect(cpu.x(2)).toBeGreaterThan(cpu.x(1));
  });

  it('time reads the value the hypervisor keeps', () => {
    const cpu = newCpu();
    load(cpu, [A.csrr(1, TIME), A.ebreak()]);
    cpu.time = 0x1234_5678_9an;
    expect(cpu.run(10n)).toBe(ExitReason.Ebreak);
    expect(cpu.x(1)).toBe(0x1234_5678_9an);
  });
});

describe('illegal CSR accesses: FAULT cause 2, tval = the instruction, nothing changed', () => {
  const illegal = (name: string, word: number) => it(name, () => {
    const { reason, cpu, exit } = execRaw([word], { x: { 1: 5n, 2: 0x99n } });
    expect(reason).toBe(ExitReason.Fault);
    expect(exit.cause).toBe(2);
    expect(exit.inst).toBe(word);
    expect(exit.addr).toBe(BigInt(word));
    expect(exit.pc).toBe(RAM_BASE);
    expect(cpu.pc).toBe(RAM_BASE);
    expect(cpu.x(2)).toBe(0x99n);
    expect(cpu.instret).toBe(0n);
  });
  illegal('csrrw to cycle (read-only)', A.csrrw(2, CYCLE, 1));
  illegal('csrrw x0 to instret (read-only, even without a read)', A.csrrw(0, INSTRET, 1));
  illegal('csrrs to time with rs1 != x0', A.csrrs(2, TIME, 1));
  illegal('csrrc to cycle with rs1 != x0', A.csrrc(2, CYCLE, 1));
  illegal('csrrwi to cycle, even with zimm 0', A.csrrwi(2, CYCLE, 0));
  illegal('csrrsi to instret with zimm != 0', A.csrrsi(2, INSTRET, 1));
  illegal('an unknown user CSR (0x004)', A.csrr(2, 0x004));
  illegal('an unimplemented counter (hpmcounter3, 0xc03)', A.csrr(2, 0xc03));
  illegal('a supervisor CSR from U-mode (sstatus, 0x100)', A.csrr(2, 0x100));
  illegal('a machine CSR (mstatus, 0x300)', A.csrr(2, 0x300));
  illegal('a custom read-only CSR (0xcc0)', A.csrr(2, 0xcc0));
  illegal('SYSTEM funct3 4 (reserved)', (A.csrrw(2, FCSR, 1) & ~(7 << 12) | (4 << 12)) >>> 0);
});

describe('reads of read-only CSRs are fine', () => {
  it('csrrs/csrrc with x0 and csrrsi/csrrci with zimm 0 on cycle/time/instret', () => {
    const cpu = exec([A.csrrs(1, CYCLE, 0), A.csrrc(2, TIME, 0), A.csrrsi(3, INSTRET, 0), A.csrrci(4, INSTRET, 0)]);
    expect(cpu.x(3)).toBe(2n);
    expect(cpu.x(4)).toBe(3n);
  });
});
