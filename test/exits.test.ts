// The exit table (src/hypervisor/exits.ts), one for every kind of
// partition, as a function of its inputs: an exit reason, the CPU's exit
// state and the services a partition has in, an action and its effects
// (the MMIO completion, a waiting hart, an SBI call, a system call, a
// fault, trace lines, the count per reason) out, on a fake CPU and bus; and
// the counts of a whole machine.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExitReason, EXIT_REASON_NAMES, type ExitInfo, type MmioAccess } from '../src/cpu/cpu.js';
import type { ExitAction } from '../src/hypervisor/exits.js';
import { handleExit, EXIT_HANDLERS, type Partition } from '../src/hypervisor/exits.js';
import type { AccessSize, MmioDevice } from '../src/system/devices/bus.js';
import { SystemVM } from '../src/system/system-vm.js';
import { loadCpuModule } from '../src/node/load.js';

const UART = 0x1000_0000n;

function machine(reason: ExitReason, mmio: Partial<MmioAccess> = {}, exit: Partial<ExitInfo> = {}) {
  const log: string[] = [];
  const device = { name: 'uart0', base: UART, size: 0x100n } as MmioDevice;
  const m: Partition = {
    name: 'ringvisor boot',
    cpu: {
      pc: 0x8020_0004n,
      exit: { reason, pc: 0x8020_0000n, inst: 0, instLength: 4, cause: 0, addr: 0n, ...exit },
      mmio: { addr: UART + 5n, size: 1, data: 0n, store: reason === ExitReason.MmioStore, ...mmio },
      completeMmioLoad: (v) => log.push(`complete 0x${v.toString(16)}`),
      failMmio: () => log.push('fail'),
      setX: (r, v) => log.push(`x${r} = 0x${v.toString(16)}`),
    },
    bus: {
      load: (addr: bigint, size: AccessSize) => (addr >= UART && addr < UART + 0x100n ? 0x60n + BigInt(size - 1) : undefined),
      store: (addr: bigint, _size: AccessSize, value: bigint) => { log.push(`store 0x${value.toString(16)}`); return addr >= UART && addr < UART + 0x100n; },
      find: (addr: bigint) => (addr >= UART && addr < UART + 0x100n ? device : undefined),
    },
    ran: 1234n,
    sbiCall: () => { log.push('sbi'); return { ext: 0x10, fid: 0, name: 'BASE get_spec_version', error: 0n }; },
    waitForInterrupt: () => log.push('wait'),
    trace: (what) => log.push(`trace ${what}`),
  };
  return { m, log };
}

describe('the exit table, for a system VM', () => {
  it('has an arm for every exit reason', () => {
    const reasons = Object.values(ExitReason).filter((v): v is ExitReason => typeof v === 'number');
    for (const r of reasons) expect(typeof EXIT_HANDLERS[r], EXIT_REASON_NAMES[r]).toBe('function');
  });

  it('MMIO_LOAD: a device answers and the load completes with its value; none: an access fault', () => {
    const counts = new Map<string, number>();
    const hit = machine(ExitReason.MmioLoad, { addr: UART + 5n, size: 1 });
    expect(handleExit(ExitReason.MmioLoad, hit.m, counts)).toEqual({ kind: 'continue' });
    expect(hit.log).toEqual(['trace reason MMIO_LOAD pc 0x80200000 gpa 0x10000005 len 1 val 0x60 (uart0)', 'complete 0x60']);
    const miss = machine(ExitReason.MmioLoad, { addr: 0x2000_0000n, size: 4 });
    expect(handleExit(ExitReason.MmioLoad, miss.m, counts)).toEqual({ kind: 'continue' });
    expect(miss.log).toEqual(['trace reason MMIO_LOAD pc 0x80200000 gpa 0x20000000 len 4 no device: access fault', 'fail']);
    expect(counts.get('MMIO_LOAD')).toBe(2);
  });

  it('untraced (no trace()), an MMIO exit makes no trace line: the device is not even looked up by name', () => {
    for (const reason of [ExitReason.MmioLoad, ExitReason.MmioStore]) {
      const { m, log } = machine(reason);
      delete m.trace;
      m.bus!.find = () => { throw new Error('find() called for a trace nobody reads'); };
      expect(handleExit(reason, m, new Map())).toEqual({ kind: 'continue' });
      expect(log).toEqual(reason === ExitReason.MmioLoad ? ['complete 0x60'] : ['store 0x0']);
    }
  });

  it('MMIO_STORE: the device takes the value; none: an access fault', () => {
    const counts = new Map<string, number>();
    const hit = machine(ExitReason.MmioStore, { addr: UART, size: 1, data: 0x41n });
    handleExit(ExitReason.MmioStore, hit.m, counts);
    expect(hit.log).toEqual(['store 0x41', 'trace reason MMIO_STORE pc 0x80200000 gpa 0x10000000 len 1 val 0x41 (uart0)']);
    const miss = machine(ExitReason.MmioStore, { addr: 0x10n, size: 8, data: 1n });
    handleExit(ExitReason.MmioStore, miss.m, counts);
    expect(miss.log.slice(1)).toEqual(['trace reason MMIO_STORE pc 0x80200000 gpa 0x10 len 8 val 0x1 no device: access fault', 'fail']);
    expect(counts.get('MMIO_STORE')).toBe(2);
  });

  it('ECALL_S serves the SBI call; WFI parks the hart; BUDGET goes on', () => {
    const counts = new Map<string, number>();
    const sbi = machine(ExitReason.EcallS);
    expect(handleExit(ExitReason.EcallS, sbi.m, counts)).toEqual({ kind: 'continue' });
    expect(sbi.log).toEqual(['sbi', 'trace reason ECALL_S pc 0x80200000 sbi BASE get_spec_version error 0']);
    const wfi = machine(ExitReason.Wfi);
    expect(handleExit(ExitReason.Wfi, wfi.m, counts)).toEqual({ kind: 'continue' });
    expect(wfi.log).toEqual(['trace reason WFI pc 0x80200000', 'wait']);
    const budget = machine(ExitReason.Budget);
    expect(handleExit(ExitReason.Budget, budget.m, counts)).toEqual({ kind: 'continue' });
    expect(budget.log).toEqual(['trace reason BUDGET pc 0x80200004 after 1234 instructions']);
    expect([...counts]).toEqual([['ECALL_S', 1], ['WFI', 1], ['BUDGET', 1]]);
  });

  it('an exit a system VM never selects stops the machine with status 1, saying which', () => {
    for (const r of [ExitReason.None, ExitReason.EcallU, ExitReason.Ebreak, ExitReason.Fault, ExitReason.Hot, ExitReason.Csr]) {
      const counts = new Map<string, number>();
      const { m, log } = machine(r, {}, { cause: 2, addr: 0x1234n });
      expect(handleExit(r, m, counts)).toEqual({
        kind: 'stop', status: 1,
        diagnostic: `ringvisor boot: unexpected exit ${EXIT_REASON_NAMES[r]} at pc 0x80200000 (cause 2, addr 0x1234)`,
      });
      expect(log).toEqual([]);
      expect(counts.get(EXIT_REASON_NAMES[r])).toBe(1);
    }
    const { m } = machine(99 as ExitReason);
    expect(handleExit(99 as ExitReason, m, new Map())).toMatchObject({ kind: 'stop', diagnostic: expect.stringContaining('unexpected exit 99') });
  });
});

/** A process (a process VM, or a call into one) as its exits see it. */
function process(reason: ExitReason, exit: Partial<ExitInfo> = {}, answers: { syscall?: ExitAction; fault?: ExitAction; breakpoint?: ExitAction; time?: bigint } = {}) {
  const log: string[] = [];
  const p: Partition = {
    name: 'ringvisor: prog',
    cpu: {
      pc: 0x1_0004n,
      exit: { reason, pc: 0x1_0000n, inst: 0, instLength: 4, cause: 13, addr: 0x40n, ...exit },
      mmio: { addr: 0n, size: 0, data: 0n, store: false },
      completeMmioLoad: () => log.push('complete'),
      failMmio: () => log.push('fail'),
      setX: (r, v) => log.push(`x${r} = 0x${v.toString(16)}`),
    },
    ran: 99n,
    trace: (what) => log.push(`trace ${what}`),
    systemCall: () => { log.push('syscall'); return answers.syscall ?? { kind: 'continue' }; },
    breakpoint: () => { log.push('breakpoint'); return answers.breakpoint ?? { kind: 'continue' }; },
    fault: () => { log.push('fault'); return answers.fault ?? { kind: 'continue' }; },
    preempt: () => log.push('preempt'),
    ...(answers.time === undefined ? {} : { readTime: () => { log.push('time'); return answers.time!; } }),
  };
  return { p, log };
}

describe('the exit table, for a process', () => {
  it('ECALL_U serves the system call; EBREAK and FAULT go to the process; BUDGET lets another thread run', () => {
    const counts = new Map<string, number>();
    const e = process(ExitReason.EcallU);
    expect(handleExit(ExitReason.EcallU, e.p, counts)).toEqual({ kind: 'continue' });
    expect(e.log).toEqual(['syscall']);
    const f = process(ExitReason.Fault, {}, { fault: { kind: 'stop', status: 139 } });
    expect(handleExit(ExitReason.Fault, f.p, counts)).toEqual({ kind: 'stop', status: 139 });
    expect(f.log).toEqual(['fault']);
    const b = process(ExitReason.Ebreak, {}, { breakpoint: { kind: 'done' } });
    expect(handleExit(ExitReason.Ebreak, b.p, counts)).toEqual({ kind: 'done' });
    const t = process(ExitReason.Budget);
    expect(handleExit(ExitReason.Budget, t.p, counts)).toEqual({ kind: 'continue' });
    expect(t.log).toEqual(['trace reason BUDGET pc 0x10004 after 99 instructions', 'preempt']);
    expect([...counts]).toEqual([['ECALL_U', 1], ['FAULT', 1], ['EBREAK', 1], ['BUDGET', 1]]);
  });

  it('CSR after a read of time (ExitControl.Time): the time of the moment into its register, none for x0', () => {
    const csrr = (rd: number, f3: number) => (0xc01 << 20) | (f3 << 12) | (rd << 7) | 0x73;
    // rdtime a5 (csrrs a5, time, x0), csrrc, csrrsi and csrrci with 0.
    for (const f3 of [2, 3, 6, 7]) {
      const t = process(ExitReason.Csr, { inst: csrr(15, f3) }, { time: 0x1234n });
      expect(handleExit(ExitReason.Csr, t.p)).toEqual({ kind: 'continue' });
      expect(t.log).toEqual(['time', 'x15 = 0x1234']);
    }
    const none = process(ExitReason.Csr, { inst: csrr(0, 2) }, { time: 1n });
    expect(handleExit(ExitReason.Csr, none.p)).toEqual({ kind: 'continue' });
    expect(none.log).toEqual([]);
    // Any other CSR exit (cycle, a write of time, sfence.vma) is one the process never selected.
    for (const inst of [(0xc00 << 20) | (2 << 12) | (15 << 7) | 0x73, csrr(15, 1), csrr(15, 5), 0x12000073]) {
      const other = process(ExitReason.Csr, { inst }, { time: 1n });
      expect(handleExit(ExitReason.Csr, other.p)).toMatchObject({ kind: 'stop', status: 1 });
      expect(other.log).toEqual([]);
    }
  });

  it('a machine\'s exits (SBI, WFI, MMIO) and HOT, CSR, NONE stop a process, saying which, and call none of its services', () => {
    for (const r of [ExitReason.EcallS, ExitReason.Wfi, ExitReason.MmioLoad, ExitReason.MmioStore, ExitReason.Hot, ExitReason.Csr, ExitReason.None]) {
      const { p, log } = process(r, { cause: 0, addr: 0x10000000n });
      expect(handleExit(r, p)).toEqual({
        kind: 'stop', status: 1,
        diagnostic: `ringvisor: prog: unexpected exit ${EXIT_REASON_NAMES[r]} at pc 0x10000 (cause 0, addr 0x10000000)`,
      });
      expect(log).toEqual([]);
    }
  });
});

describe('a system VM counts its exits per reason', () => {
  it('guests/baremetal/sbi.elf: ECALL_S, MMIO and BUDGET exits, by ExitReason and by name alike', () => {
    const vm = SystemVM.create({
      kernel: readFileSync(new URL('../guests/baremetal/bin/sbi.elf', import.meta.url)), memoryBytes: 128 << 20,
      cpuModule: loadCpuModule('release'), maxInstructions: 200_000_000n, console: () => {}, diagnostics: () => {},
    });
    let status: number | undefined;
    while ((status = vm.step()) === undefined);
    expect(status).toBe(0);
    expect(vm.exitCount(ExitReason.EcallS)).toBeGreaterThan(0);
    for (const r of [ExitReason.EcallS, ExitReason.MmioLoad, ExitReason.MmioStore, ExitReason.Budget, ExitReason.Fault]) {
      expect(vm.exitCount(r)).toBe(vm.exitStats.get(EXIT_REASON_NAMES[r]) ?? 0);
    }
    expect(vm.exitCount(ExitReason.Fault)).toBe(0);
    const sbiCalls = [...vm.sbiStats.calls.values()].reduce((a, b) => a + b, 0);
    expect(vm.exitCount(ExitReason.EcallS)).toBe(sbiCalls);
  });
});
