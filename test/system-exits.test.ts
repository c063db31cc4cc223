// The system VM's exit table (src/system/exits.ts) as a function of its
// inputs: an exit reason and the CPU's exit state in, an action and its
// effects (the MMIO completion, a waiting hart, an SBI call, trace lines,
// the count per reason) out, on a fake CPU and bus; and the counts of a
// whole machine.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExitReason, EXIT_REASON_NAMES, type ExitInfo, type MmioAccess } from '../src/cpu/cpu.js';
import { handleSystemExit, SYSTEM_EXIT_HANDLERS, type ExitMachine } from '../src/system/exits.js';
import type { AccessSize, MmioDevice } from '../src/system/devices/bus.js';
import { SystemVM } from '../src/system/system-vm.js';
import { loadCpuModule } from '../src/node/load.js';

const UART = 0x1000_0000n;

function machine(reason: ExitReason, mmio: Partial<MmioAccess> = {}, exit: Partial<ExitInfo> = {}) {
  const log: string[] = [];
  const device = { name: 'uart0', base: UART, size: 0x100n } as MmioDevice;
  const m: ExitMachine = {
    cpu: {
      pc: 0x8020_0004n,
      exit: { reason, pc: 0x8020_0000n, inst: 0, instLength: 4, cause: 0, addr: 0n, ...exit },
      mmio: { addr: UART + 5n, size: 1, data: 0n, store: reason === ExitReason.MmioStore, ...mmio },
      completeMmioLoad: (v) => log.push(`complete 0x${v.toString(16)}`),
      failMmio: () => log.push('fail'),
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

describe('the system exit table', () => {
  it('has an arm for every exit reason', () => {
    const reasons = Object.values(ExitReason).filter((v): v is ExitReason => typeof v === 'number');
    for (const r of reasons) expect(typeof SYSTEM_EXIT_HANDLERS[r], EXIT_REASON_NAMES[r]).toBe('function');
  });

  it('MMIO_LOAD: a device answers and the load completes with its value; none: an access fault', () => {
    const counts = new Map<string, number>();
    const hit = machine(ExitReason.MmioLoad, { addr: UART + 5n, size: 1 });
    expect(handleSystemExit(ExitReason.MmioLoad, hit.m, counts)).toEqual({ kind: 'continue' });
    expect(hit.log).toEqual(['trace reason MMIO_LOAD pc 0x80200000 gpa 0x10000005 len 1 val 0x60 (uart0)', 'complete 0x60']);
    const miss = machine(ExitReason.MmioLoad, { addr: 0x2000_0000n, size: 4 });
    expect(handleSystemExit(ExitReason.MmioLoad, miss.m, counts)).toEqual({ kind: 'continue' });
    expect(miss.log).toEqual(['trace reason MMIO_LOAD pc 0x80200000 gpa 0x20000000 len 4 no device: access fault', 'fail']);
    expect(counts.get('MMIO_LOAD')).toBe(2);
  });

  it('MMIO_STORE: the device takes the value; none: an access fault', () => {
    const counts = new Map<string, number>();
    const hit = machine(ExitReason.MmioStore, { addr: UART, size: 1, data: 0x41n });
    handleSystemExit(ExitReason.MmioStore, hit.m, counts);
    expect(hit.log).toEqual(['store 0x41', 'trace reason MMIO_STORE pc 0x80200000 gpa 0x10000000 len 1 val 0x41 (uart0)']);
    const miss = machine(ExitReason.MmioStore, { addr: 0x10n, size: 8, data: 1n });
    handleSystemExit(ExitReason.MmioStore, miss.m, counts);
    expect(miss.log.slice(1)).toEqual(['trace reason MMIO_STORE pc 0x80200000 gpa 0x10 len 8 val 0x1 no device: access fault', 'fail']);
    expect(counts.get('MMIO_STORE')).toBe(2);
  });

  it('ECALL_S serves the SBI call; WFI parks the hart; BUDGET goes on', () => {
    const counts = new Map<string, number>();
    const sbi = machine(ExitReason.EcallS);
    expect(handleSystemExit(ExitReason.EcallS, sbi.m, counts)).toEqual({ kind: 'continue' });
    expect(sbi.log).toEqual(['sbi', 'trace reason ECALL_S pc 0x80200000 sbi BASE get_spec_version error 0']);
    const wfi = machine(ExitReason.Wfi);
    expect(handleSystemExit(ExitReason.Wfi, wfi.m, counts)).toEqual({ kind: 'continue' });
    expect(wfi.log).toEqual(['trace reason WFI pc 0x80200000', 'wait']);
    const budget = machine(ExitReason.Budget);
    expect(handleSystemExit(ExitReason.Budget, budget.m, counts)).toEqual({ kind: 'continue' });
    expect(budget.log).toEqual(['trace reason BUDGET pc 0x80200004 after 1234 instructions']);
    expect([...counts]).toEqual([['ECALL_S', 1], ['WFI', 1], ['BUDGET', 1]]);
  });

  it('an exit a system VM never selects stops the machine with status 1, saying which', () => {
    for (const r of [ExitReason.None, ExitReason.EcallU, ExitReason.Ebreak, ExitReason.Fault, ExitReason.Hot, ExitReason.Csr]) {
      const counts = new Map<string, number>();
      const { m, log } = machine(r, {}, { cause: 2, addr: 0x1234n });
      expect(handleSystemExit(r, m, counts)).toEqual({
        kind: 'stop', status: 1,
        diagnostic: `ringvisor boot: unexpected exit ${EXIT_REASON_NAMES[r]} at pc 0x80200000 (cause 2, addr 0x1234)`,
      });
      expect(log).toEqual([]);
      expect(counts.get(EXIT_REASON_NAMES[r])).toBe(1);
    }
    const { m } = machine(99 as ExitReason);
    expect(handleSystemExit(99 as ExitReason, m, new Map())).toMatchObject({ kind: 'stop', diagnostic: expect.stringContaining('unexpected exit 99') });
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
