// The exit protocol: ECALL_U and EBREAK exit with their own reason when the
// exit controls select them and become FAULTs with the RISC-V cause when
// they do not; BUDGET after exactly the budgeted number of instructions; the
// exit block's fields; counters per reason; resuming after an ecall.
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { newCpu, load, CODE, ExitReason, ExitControl } from './support/machine.js';

describe('ecall', () => {
  it('selected: ECALL_U exit, exit pc on the ecall, cpu pc after it, the ecall retired', () => {
    const cpu = newCpu();
    load(cpu, [A.addi(17, 0, 64), A.ecall(), A.addi(5, 0, 1), A.ebreak()]);
    expect(cpu.run(100n)).toBe(ExitReason.EcallU);
    const e = cpu.exit;
    expect(e.reason).toBe(ExitReason.EcallU);
    expect(e.pc).toBe(CODE + 4n);
    expect(e.inst).toBe(0x73);
    expect(e.instLength).toBe(4);
    expect(cpu.pc).toBe(CODE + 8n);
    expect(cpu.instret).toBe(2n);
    expect(cpu.x(17)).toBe(64n);
  });

  it('the hypervisor writes a0 and resumes after the ecall', () => {
    const cpu = newCpu();
    load(cpu, [A.ecall(), A.addi(5, 10, 1), A.ebreak()]);
    expect(cpu.run(100n)).toBe(ExitReason.EcallU);
    cpu.setX(10, 41n);
    expect(cpu.run(100n)).toBe(ExitReason.Ebreak);
    expect(cpu.x(5)).toBe(42n);
    expect(cpu.instret).toBe(2n);
  });

  it('not selected: FAULT with cause 8 (ecall from U), pc stays on the ecall', () => {
    const cpu = newCpu();
    cpu.exitControls = ExitControl.Ebreak;
    load(cpu, [A.addi(5, 0, 1), A.ecall()]);
    expect(cpu.run(100n)).toBe(ExitReason.Fault);
    expect(cpu.exit.cause).toBe(8);
    expect(cpu.exit.pc).toBe(CODE + 4n);
    expect(cpu.exit.addr).toBe(0n);
    expect(cpu.pc).toBe(CODE + 4n);
    expect(cpu.instret).toBe(1n);
  });
});

describe('ebreak', () => {
  it('selected: EBREAK exit with pc on the ebreak (not stepped past)', () => {
    const cpu = newCpu();
    load(cpu, [A.addi(5, 0, 1), A.ebreak(), A.addi(5, 0, 2)]);
    expect(cpu.run(100n)).toBe(ExitReason.Ebreak);
    expect(cpu.exit.pc).toBe(CODE + 4n);
    expect(cpu.exit.inst).toBe(0x00100073);
    expect(cpu.exit.instLength).toBe(4);
    expect(cpu.pc).toBe(CODE + 4n);
    expect(cpu.instret).toBe(1n);
    expect(cpu.x(5)).toBe(1n);
  });

  it('not selected: FAULT with cause 3 (breakpoint) and tval = pc', () => {
    const cpu = newCpu();
    cpu.exitControls = ExitControl.EcallU;
    load(cpu, [A.addi(0, 0, 0), A.ebreak()]);
    expect(cpu.run(100n)).toBe(ExitReason.Fault);
    expect(cpu.exit.cause).toBe(3);
    expect(cpu.exit.addr).toBe(CODE + 4n);
    expect(cpu.exit.pc).toBe(CODE + 4n);
  });

  it('no controls at all: both are faults', () => {
    const cpu = newCpu();
    cpu.exitControls = 0;
    load(cpu, [A.ecall()]);
    expect(cpu.run(10n)).toBe(ExitReason.Fault);
    expect(cpu.exit.cause).toBe(8);
  });
});

describe('budget', () => {
  // An endless loop of three instructions that counts in x5.
  const loop = [A.addi(5, 5, 1), A.addi(0, 0, 0), A.jal(0, -8)];

  for (const n of [1n, 2n, 3n, 7n, 1000n, 12345n]) {
    it(`run(${n}) executes exactly ${n} instructions and exits BUDGET`, () => {
      const cpu = newCpu();
      load(cpu, loop);
      expect(cpu.run(n)).toBe(ExitReason.Budget);
      expect(cpu.instret).toBe(n);
      expect(cpu.x(5)).toBe((n + 2n) / 3n);
      expect(cpu.pc).toBe(CODE + 4n * (n % 3n));
      expect(cpu.budgetLeft).toBe(0n);
    });
  }

  it('run(0) executes nothing', () => {
    const cpu = newCpu();
    load(cpu, loop);
    expect(cpu.run(0n)).toBe(ExitReason.Budget);
    expect(cpu.instret).toBe(0n);
    expect(cpu.pc).toBe(CODE);
  });

  it('budgets add up across runs, resuming where the last one stopped', () => {
    const cpu = newCpu();
    load(cpu, loop);
    for (let i = 0; i < 10; i++) expect(cpu.run(7n)).toBe(ExitReason.Budget);
    expect(cpu.instret).toBe(70n);
    expect(cpu.x(5)).toBe(24n);
  });

  it('an exit before the budget runs out leaves the rest in budgetLeft', () => {
    const cpu = newCpu();
    load(cpu, [A.addi(0, 0, 0), A.addi(0, 0, 0), A.ecall()]);
    expect(cpu.run(10n)).toBe(ExitReason.EcallU);
    expect(cpu.budgetLeft).toBe(7n);
  });

  it('an ecall as the last budgeted instruction is an ECALL_U exit, not BUDGET', () => {
    const cpu = newCpu();
    load(cpu, [A.addi(0, 0, 0), A.ecall(), A.ebreak()]);
    expect(cpu.run(2n)).toBe(ExitReason.EcallU);
    expect(cpu.run(1n)).toBe(ExitReason.Ebreak);
  });
});

describe('exit counters', () => {
  it('count every exit by reason', () => {
    const cpu = newCpu();
    load(cpu, [A.ecall(), A.ecall(), A.ecall(), A.addi(0, 0, 0), A.addi(0, 0, 0), A.ebreak()]);
    expect(cpu.run(100n)).toBe(ExitReason.EcallU);
    expect(cpu.run(100n)).toBe(ExitReason.EcallU);
    expect(cpu.run(100n)).toBe(ExitReason.EcallU);
    expect(cpu.run(1n)).toBe(ExitReason.Budget);
    expect(cpu.run(100n)).toBe(ExitReason.Ebreak);
    cpu.exitControls = 0;
    expect(cpu.run(100n)).toBe(ExitReason.Fault);
    expect(cpu.run(100n)).toBe(ExitReason.Fault);
    const counts = cpu.exitCounts();
    expect(counts.get(ExitReason.EcallU)).toBe(3n);
    expect(counts.get(ExitReason.Budget)).toBe(1n);
    expect(counts.get(ExitReason.Ebreak)).toBe(1n);
    expect(counts.get(ExitReason.Fault)).toBe(2n);
    expect(counts.get(ExitReason.None)).toBeUndefined();
  });

  it('are per CPU instance', () => {
    const a = newCpu(), b = newCpu();
    load(a, [A.ecall()]);
    a.run(10n);
    expect(a.exitCounts().get(ExitReason.EcallU)).toBe(1n);
    expect(b.exitCounts().size).toBe(0);
  });
});
