// The A extension through the CPU: LR/SC reservation rules, every AMO in both
// widths (the .W forms sign-extend the loaded word and use only the low 32
// bits of rs2), aq/rl bits, and the faults for misaligned or out-of-RAM
// atomics. Spec: "A" Standard Extension for Atomic Instructions.
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { exec, execRaw, newCpu, load, DATA, RAM_BASE, RAM_SIZE, u64, s64, sext32, ExitReason, INT64_MIN, ALL_ONES } from './support/machine.js';

const le64 = (v: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, u64(v), true); return b; };
const mem = (v: bigint, at = DATA): Array<[bigint, Uint8Array]> => [[at, le64(v)]];

describe('LR/SC', () => {
  it('lr.w sign-extends the loaded word; sc.w to the reserved address stores and writes 0', () => {
    const cpu = exec([A.lr_w(2, 1), A.sc_w(3, 4, 1)], { x: { 1: DATA, 4: 0x1111_2222_3333_4444n }, mem: mem(0x5555_5555_8000_0001n) });
    expect(cpu.x(2)).toBe(0xffff_ffff_8000_0001n);
    expect(cpu.x(3)).toBe(0n);
    expect(cpu.read64(DATA)).toBe(0x5555_5555_3333_4444n); // only the word
  });

  it('lr.d / sc.d', () => {
    const cpu = exec([A.lr_d(2, 1), A.addi(4, 2, 1), A.sc_d(3, 4, 1)], { x: { 1: DATA }, mem: mem(0x8000_0000_0000_0000n) });
    expect(cpu.x(2)).toBe(INT64_MIN);
    expect(cpu.x(3)).toBe(0n);
    expect(cpu.read64(DATA)).toBe(INT64_MIN + 1n);
  });

  it('sc without a preceding lr fails: rd = 1, memory unchanged', () => {
    const cpu = exec([A.sc_d(3, 4, 1)], { x: { 1: DATA, 4: 7n }, mem: mem(99n) });
    expect(cpu.x(3)).toBe(1n);
    expect(cpu.read64(DATA)).toBe(99n);
  });

  it('a second sc after a successful one fails (sc always invalidates the reservation)', () => {
    const cpu = exec([A.lr_d(2, 1), A.sc_d(3, 4, 1), A.sc_d(5, 6, 1)], { x: { 1: DATA, 4: 7n, 6: 8n }, mem: mem(1n) });
    expect(cpu.x(3)).toBe(0n);
    expect(cpu.x(5)).toBe(1n);
    expect(cpu.read64(DATA)).toBe(7n);
  });

  it('sc to another address fails and also invalidates the reservation', () => {
    const cpu = exec([A.lr_d(2, 1), A.sc_d(3, 4, 7), A.sc_d(5, 4, 1)], {
      x: { 1: DATA, 7: DATA + 64n, 4: 7n }, mem: [...mem(1n), ...mem(2n, DATA + 64n)],
    });
    expect(cpu.x(3)).toBe(1n);
    expect(cpu.x(5)).toBe(1n);
    expect(cpu.read64(DATA)).toBe(1n);
    expect(cpu.read64(DATA + 64n)).toBe(2n);
  });

  it('a later lr moves the reservation', () => {
    const cpu = exec([A.lr_d(2, 1), A.lr_d(2, 7), A.sc_d(3, 4, 1), A.lr_d(2, 7), A.sc_d(5, 4, 7)], {
      x: { 1: DATA, 7: DATA + 64n, 4: 7n },
    });
    expect(cpu.x(3)).toBe(1n);
    expect(cpu.x(5)).toBe(0n);
    expect(cpu.read64(DATA + 64n)).toBe(7n);
  });

  it('sc with rd = rs2 reads the value before writing the result', () => {
    const cpu = exec([A.lr_d(2, 1), A.sc_d(4, 4, 1)], { x: { 1: DATA, 4: 0x77n } });
    expect(cpu.read64(DATA)).toBe(0x77n);
    expect(cpu.x(4)).toBe(0n);
  });

  it('a fresh CPU holds no reservation, even for guest address 0', () => {
    // RAM at guest address 0: an sc.d there without an lr must still fail.
    const cpu = newCpu(0n, RAM_SIZE);
    load(cpu, [A.sc_d(3, 4, 0), A.ebreak()], { x: { 4: 7n } }, 0x1000n);
    expect(cpu.run(10n)).toBe(ExitReason.Ebreak);
    expect(cpu.x(3)).toBe(1n);
    expect(cpu.read64(0n)).toBe(0n);
  });

  it('aq and rl bits do not change the result', () => {
    const cpu = exec([A.lr_w(2, 1, true, true), A.sc_w(3, 4, 1, true, false), A.amoadd_w(5, 4, 1, false, true)], {
      x: { 1: DATA, 4: 5n }, mem: mem(10n),
    });
    expect(cpu.x(2)).toBe(10n);
    expect(cpu.x(3)).toBe(0n);
    expect(cpu.x(5)).toBe(5n);
    expect(cpu.read64(DATA)).toBe(10n);
  });
});

describe('AMOs', () => {
  type Amo = (rd: number, rs2: number, rs1: number, aq?: boolean, rl?: boolean) => number;
  const s32 = (v: bigint) => BigInt.asIntN(32, v);
  const u32 = (v: bigint) => BigInt.asUintN(32, v);
  const D: Array<[string, Amo, (m: bigint, r: bigint) => bigint]> = [
    ['amoswap.d', A.amoswap_d, (_m, r) => r],
    ['amoadd.d', A.amoadd_d, (m, r) => u64(m + r)],
    ['amoxor.d', A.amoxor_d, (m, r) => m ^ r],
    ['amoand.d', A.amoand_d, (m, r) => m & r],
    ['amoor.d', A.amoor_d, (m, r) => m | r],
    ['amomin.d', A.amomin_d, (m, r) => (s64(m) < s64(r) ? m : r)],
    ['amomax.d', A.amomax_d, (m, r) => (s64(m) > s64(r) ? m : r)],
    ['amominu.d', A.amominu_d, (m, r) => (m < r ? m : r)],
    ['amomaxu.d', A.amomaxu_d, (m, r) => (m > r ? m : r)],
  ];
  const W: Array<[string, Amo, (m: bigint, r: bigint) => bigint]> = [
    ['amoswap.w', A.amoswap_w, (_m, r) => u32(r)],
    ['amoadd.w', A.amoadd_w, (m, r) => u32(m + r)],
    ['amoxor.w', A.amoxor_w, (m, r) => u32(m ^ r)],
    ['amoand.w', A.amoand_w, (m, r) => u32(m & r)],
    ['amoor.w', A.amoor_w, (m, r) => u32(m | r)],
    ['amomin.w', A.amomin_w, (m, r) => u32(s32(m) < s32(r) ? m : r)],
    ['amomax.w', A.amomax_w, (m, r) => u32(s32(m) > s32(r) ? m : r)],
    ['amominu.w', A.amominu_w, (m, r) => (u32(m) < u32(r) ? u32(m) : u32(r))],
    ['amomaxu.w', A.amomaxu_w, (m, r) => (u32(m) > u32(r) ? u32(m) : u32(r))],
  ];
  const MEMS = [0n, 1n, ALL_ONES, INT64_MIN, 0x7fff_ffffn, 0x8000_0000n, 0x1234_5678_9abc_def0n, 0xffff_ffff_0000_0001n];
  const REGS = [0n, 5n, ALL_ONES, 0x8000_0000n, 0xdead_beef_7fff_ffffn, 0x0000_0001_ffff_fffen, INT64_MIN, 0xfedc_ba98_0000_0000n];

  for (const [name, op, model] of D) {
    it(`${name}: rd gets the old doubleword, memory the result`, () => {
      for (const m of MEMS) for (const r of REGS) {
        const cpu = exec([op(3, 2, 1)], { x: { 1: DATA, 2: r }, mem: mem(m) });
        expect([name, m, r, cpu.x(3)]).toEqual([name, m, r, m]);
        expect([name, m, r, cpu.read64(DATA)]).toEqual([name, m, r, model(m, r)]);
      }
    });
  }

  for (const [name, op, model] of W) {
    it(`${name}: rd gets the sign-extended old word, only the word is written, rs2's upper half is ignored`, () => {
      const above = 0xa5a5_a5a5n;
      for (const m of MEMS) for (const r of REGS) {
        const word = u32(m);
        const cpu = exec([op(3, 2, 1)], { x: { 1: DATA, 2: r }, mem: mem((above << 32n) | word) });
        expect([name, m, r, cpu.x(3)]).toEqual([name, m, r, sext32(word)]);
        expect([name, m, r, cpu.read64(DATA)]).toEqual([name, m, r, (above << 32n) | model(word, r)]);
      }
    });
  }

  it('rd = x0 discards the old value but still writes memory', () => {
    const cpu = exec([A.amoadd_d(0, 2, 1)], { x: { 1: DATA, 2: 3n }, mem: mem(4n) });
    expect(cpu.read64(DATA)).toBe(7n);
  });

  it('rd = rs2: memory gets the old rs2, rd the old memory value', () => {
    const cpu = exec([A.amoswap_d(2, 2, 1)], { x: { 1: DATA, 2: 11n }, mem: mem(22n) });
    expect(cpu.x(2)).toBe(22n);
    expect(cpu.read64(DATA)).toBe(11n);
  });

  it('rd = rs1: the address is read before rd is written', () => {
    const cpu = exec([A.amoadd_d(1, 2, 1)], { x: { 1: DATA, 2: 1n }, mem: mem(5n) });
    expect(cpu.x(1)).toBe(5n);
    expect(cpu.read64(DATA)).toBe(6n);
  });
});

describe('faults', () => {
  const cases: Array<[string, number, bigint, number]> = [
    ['lr.w at +2', A.lr_w(2, 1), DATA + 2n, 4],
    ['lr.d at +4', A.lr_d(2, 1), DATA + 4n, 4],
    ['sc.w at +1', A.sc_w(2, 3, 1), DATA + 1n, 6],
    ['sc.d at +4', A.sc_d(2, 3, 1), DATA + 4n, 6],
    ['amoadd.w at +2', A.amoadd_w(2, 3, 1), DATA + 2n, 6],
    ['amoswap.d at +4', A.amoswap_d(2, 3, 1), DATA + 4n, 6],
    ['amomaxu.d at +1', A.amomaxu_d(2, 3, 1), DATA + 1n, 6],
  ];
  for (const [name, word, addr, cause] of cases) {
    it(`misaligned ${name}: FAULT cause ${cause} with the address, nothing changed`, () => {
      const { reason, cpu, exit } = execRaw([word, A.ebreak()], { x: { 1: addr, 2: 0x55n, 3: 0x66n }, mem: mem(0x1122_3344_5566_7788n) });
      expect(reason).toBe(ExitReason.Fault);
      expect(exit.cause).toBe(cause);
      expect(exit.addr).toBe(addr);
      expect(exit.pc).toBe(RAM_BASE);
      expect(exit.inst).toBe(word);
      expect(cpu.x(2)).toBe(0x55n);
      expect(cpu.read64(DATA)).toBe(0x1122_3344_5566_7788n);
    });
  }

  it('lr outside RAM: load access fault (5)', () => {
    const { reason, exit } = execRaw([A.lr_d(2, 1)], { x: { 1: RAM_BASE + RAM_SIZE } });
    expect(reason).toBe(ExitReason.Fault);
    expect([exit.cause, exit.addr]).toEqual([5, RAM_BASE + RAM_SIZE]);
  });

  it('sc and amo outside RAM: store/AMO access fault (7)', () => {
    for (const w of [A.sc_w(2, 3, 1), A.amoor_d(2, 3, 1)]) {
      const { reason, exit } = execRaw([w], { x: { 1: 0x1000n } });
      expect(reason).toBe(ExitReason.Fault);
      expect([exit.cause, exit.addr]).toEqual([7, 0x1000n]);
    }
  });

  it('an AMO straddling the end of RAM faults without writing', () => {
    const end = RAM_BASE + RAM_SIZE;
    const { reason, exit } = execRaw([A.amoadd_w(2, 3, 1)], { x: { 1: end - 2n } });
    expect(reason).toBe(ExitReason.Fault);
    expect(exit.cause).toBe(6); // misaligned comes first here: end - 2 is not word-aligned
  });

  it('reserved encodings are illegal: lr with rs2 != 0, funct3 other than .w/.d, unknown funct5', () => {
    const lrBad = (A.lr_d(2, 1) | (5 << 20)) >>> 0;
    const amoB = (A.amoadd_w(2, 3, 1) & ~(7 << 12)) >>> 0; // funct3 = 0
    const amoH = ((A.amoadd_w(2, 3, 1) & ~(7 << 12)) | (1 << 12)) >>> 0; // funct3 = 1
    const f5 = ((A.amoadd_d(2, 3, 1) & ~(0x1f << 27)) | (0x05 << 27)) >>> 0; // funct5 00101
    for (const w of [lrBad, amoB, amoH, f5]) {
      const { reason, exit } = execRaw([w], { x: { 1: DATA } });
      expect(reason).toBe(ExitReason.Fault);
      expect([exit.cause, exit.inst.toString(16)]).toEqual([2, w.toString(16)]);
    }
  });
});
