// The SBI as ring -1 serves it (src/system/sbi.ts), call by call, on a CPU
// whose registers hold the call and a fake machine that records what the
// calls asked of it: results in a0/a1 (a0 alone for the legacy calls), and
// the error codes of the SBI v2.0 specification for bad arguments.
import { describe, expect, it } from 'vitest';
import { newCpu, RAM_BASE } from './support/machine.js';
import {
  handleSbi, HartState, ResetType, SbiStats, type SbiMachine,
  EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, IMPL_ID,
  SBI_SUCCESS, SBI_ERR_NOT_SUPPORTED, SBI_ERR_INVALID_PARAM, SBI_ERR_ALREADY_AVAILABLE, SBI_ERR_INVALID_ADDRESS,
  LEGACY_CONSOLE_PUTCHAR, LEGACY_CONSOLE_GETCHAR, LEGACY_SET_TIMER, LEGACY_SHUTDOWN, LEGACY_CLEAR_IPI,
} from '../src/system/sbi.js';

function fakeMachine(harts = 4) {
  const log: string[] = [];
  const states = Array.from({ length: harts }, (_, h) => (h === 0 ? HartState.Started : HartState.Stopped));
  const input = [...'ok'].map((c) => c.charCodeAt(0));
  let cpuRef: ReturnType<typeof newCpu> | undefined;
  const machine: SbiMachine = {
    harts, current: 0,
    consoleWrite: (b) => log.push(`write ${Buffer.from(b).toString()}`),
    consoleRead: () => input.shift() ?? -1,
    setSoftwareInterrupt: (h, p) => log.push(`ssip ${h} ${p}`),
    setTimer: (h, when) => log.push(`timer ${h} ${when}`),
    remoteSfence: (h) => log.push(`sfence ${h}`),
    hartState: (h) => states[h],
    startHart: (h, addr, opaque) => { states[h] = HartState.Started; log.push(`start ${h} 0x${addr.toString(16)} ${opaque}`); },
    stopHart: () => { states[0] = HartState.Stopped; log.push('stop'); },
    suspendHart: (resume) => log.push(resume ? `suspend non-retentive 0x${resume.addr.toString(16)} ${resume.opaque}` : 'suspend retentive'),
    reset: (type, reason) => log.push(`reset ${type} ${reason}`),
    readPhysical: (addr, length) => (cpuRef!.inRam(addr, length) ? cpuRef!.guestBytes(addr, length) : undefined),
  };
  return { machine, log, states, bind: (cpu: ReturnType<typeof newCpu>) => { cpuRef = cpu; } };
}

function call(ext: number, fid: number, args: bigint[] = [], harts = 4) {
  const cpu = newCpu();
  const m = fakeMachine(harts);
  m.bind(cpu);
  cpu.setX(17, BigInt(ext));
  cpu.setX(16, BigInt(fid));
  cpu.setX(11, 0xdeadn); // (a1 when no argument sets it: legacy calls must leave it)
  args.forEach((v, i) => cpu.setX(10 + i, v));
  const stats = new SbiStats();
  const r = handleSbi(cpu, m.machine, stats);
  return { error: BigInt.asIntN(64, cpu.x(10)), value: cpu.x(11), log: m.log, cpu, r, stats };
}

describe('SBI base extension', () => {
  it('spec version 2.0, our implementation id, probes', () => {
    expect(call(EXT_BASE, 0)).toMatchObject({ error: 0n, value: 2n << 24n });
    expect(call(EXT_BASE, 1).value).toBe(IMPL_ID);
    for (const ext of [EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, LEGACY_SHUTDOWN]) {
      expect(call(EXT_BASE, 3, [BigInt(ext)]).value, `probe 0x${ext.toString(16)}`).toBe(1n);
    }
    expect(call(EXT_BASE, 3, [0x12345678n]).value).toBe(0n);
    expect(call(EXT_BASE, 4).value).toBe(0n);
    expect(call(EXT_BASE, 99).error).toBe(SBI_ERR_NOT_SUPPORTED);
    expect(call(0x0bad_f00d, 0).error).toBe(SBI_ERR_NOT_SUPPORTED);
  });
});

describe('SBI TIME, IPI, RFENCE', () => {
  it('set_timer goes to the calling hart', () => {
    expect(call(EXT_TIME, 0, [12345n]).log).toEqual(['timer 0 12345']);
  });

  it('hart masks: bits from a base, all harts with base -1, and harts that do not exist', () => {
    expect(call(EXT_IPI, 0, [0b101n, 0n]).log).toEqual(['ssip 0 true', 'ssip 2 true']);
    expect(call(EXT_IPI, 0, [0b1n, 3n]).log).toEqual(['ssip 3 true']);
    expect(call(EXT_IPI, 0, [0n, 0xffff_ffff_ffff_ffffn]).log).toEqual(['ssip 0 true', 'ssip 1 true', 'ssip 2 true', 'ssip 3 true']);
    const bad = call(EXT_IPI, 0, [0b1n, 4n]);
    expect(bad.error).toBe(SBI_ERR_INVALID_PARAM);
    expect(bad.log).toEqual([]);
  });

  it('remote sfence.vma reaches the harts named; remote fence.i needs nothing; hypervisor fences are not offered', () => {
    expect(call(EXT_RFENCE, 1, [0b11n, 0n, 0n, 0n]).log).toEqual(['sfence 0', 'sfence 1']);
    expect(call(EXT_RFENCE, 2, [0b10n, 0n, 0n, 0n, 1n]).log).toEqual(['sfence 1']);
    expect(call(EXT_RFENCE, 0, [0b11n, 0n]).log).toEqual([]);
    expect(call(EXT_RFENCE, 3, [1n, 0n]).error).toBe(SBI_ERR_NOT_SUPPORTED);
  });
});

describe('SBI HSM', () => {
  it('hart_start: starts a stopped hart at an address in RAM with its opaque value', () => {
    const r = call(EXT_HSM, 0, [2n, RAM_BASE + 0x1000n, 77n]);
    expect(r.error).toBe(SBI_SUCCESS);
    expect(r.log).toEqual([`start 2 0x${(RAM_BASE + 0x1000n).toString(16)} 77`]);
  });

  it('hart_start errors: a hart that does not exist, one already started, an address outside RAM', () => {
    expect(call(EXT_HSM, 0, [9n, RAM_BASE, 0n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(call(EXT_HSM, 0, [0n, RAM_BASE, 0n]).error).toBe(SBI_ERR_ALREADY_AVAILABLE);
    expect(call(EXT_HSM, 0, [1n, 0x1000n, 0n]).error).toBe(SBI_ERR_INVALID_ADDRESS);
  });

  it('hart_get_status and hart_stop', () => {
    expect(call(EXT_HSM, 2, [0n]).value).toBe(BigInt(HartState.Started));
    expect(call(EXT_HSM, 2, [1n]).value).toBe(BigInt(HartState.Stopped));
    expect(call(EXT_HSM, 2, [4n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(call(EXT_HSM, 1).log).toEqual(['stop']);
  });

  it('hart_suspend: the two default types; reserved types refused, platform-specific ones not offered; a resume address in RAM', () => {
    expect(call(EXT_HSM, 3, [0n, 0n, 0n])).toMatchObject({ error: 0n, log: ['suspend retentive'] });
    expect(call(EXT_HSM, 3, [0x8000_0000n, RAM_BASE + 0x40n, 5n])).toMatchObject({ error: 0n, log: [`suspend non-retentive 0x${(RAM_BASE + 0x40n).toString(16)} 5`] });
    expect(call(EXT_HSM, 3, [0x8000_0000n, 0x1000n, 5n]).error).toBe(SBI_ERR_INVALID_ADDRESS);
    for (const t of [1n, 0x0fff_ffffn, 0x8000_0001n, 0x8fff_ffffn]) expect(call(EXT_HSM, 3, [t, 0n, 0n]).error, `type 0x${t.toString(16)}`).toBe(SBI_ERR_INVALID_PARAM);
    for (const t of [0x1000_0000n, 0x7fff_ffffn, 0x9000_0000n]) expect(call(EXT_HSM, 3, [t, 0n, 0n]).error, `type 0x${t.toString(16)}`).toBe(SBI_ERR_NOT_SUPPORTED);
  });
});

describe('SBI SRST and DBCN', () => {
  it('system_reset: shutdown, reboots, the system-failure reason; reserved types and reasons refused', () => {
    expect(call(EXT_SRST, 0, [BigInt(ResetType.Shutdown), 0n]).log).toEqual(['reset 0 0']);
    expect(call(EXT_SRST, 0, [BigInt(ResetType.ColdReboot), 1n]).log).toEqual(['reset 1 1']);
    expect(call(EXT_SRST, 0, [3n, 0n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(call(EXT_SRST, 0, [0n, 2n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(call(EXT_SRST, 0, [0n, 0xe000_0001n]).log).toEqual([`reset 0 ${0xe000_0001}`]);
  });

  it('console_write and console_read take physical buffers, checked against RAM; console_write_byte', () => {
    const cpu = newCpu();
    const m = fakeMachine();
    m.bind(cpu);
    cpu.writeBytes(RAM_BASE + 0x100n, new TextEncoder().encode('hello'));
    const run = (fid: number, args: bigint[]) => {
      cpu.setX(17, BigInt(EXT_DBCN)); cpu.setX(16, BigInt(fid));
      args.forEach((v, i) => cpu.setX(10 + i, v));
      handleSbi(cpu, m.machine);
      return { error: BigInt.asIntN(64, cpu.x(10)), value: cpu.x(11) };
    };
    expect(run(0, [5n, RAM_BASE + 0x100n, 0n])).toEqual({ error: 0n, value: 5n });
    expect(m.log).toEqual(['write hello']);
    expect(run(0, [5n, 0x10n, 0n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(run(1, [8n, RAM_BASE + 0x200n, 0n])).toEqual({ error: 0n, value: 2n });
    expect(Buffer.from(cpu.readBytes(RAM_BASE + 0x200n, 2)).toString()).toBe('ok');
    expect(run(2, [0x21n])).toEqual({ error: 0n, value: 0n });
    expect(m.log.at(-1)).toBe('write !');
  });
});

describe('legacy (v0.1) calls: a0 is the result, a1 untouched', () => {
  it('putchar, getchar, set_timer, clear_ipi, shutdown', () => {
    const put = call(LEGACY_CONSOLE_PUTCHAR, 0, [0x41n]);
    expect(put.log).toEqual(['write A']);
    expect(put.value).toBe(0xdeadn);
    const get = call(LEGACY_CONSOLE_GETCHAR, 0);
    expect(get.error).toBe(BigInt('o'.charCodeAt(0)));
    expect(call(LEGACY_SET_TIMER, 0, [99n]).log).toEqual(['timer 0 99']);
    expect(call(LEGACY_CLEAR_IPI, 0).log).toEqual(['ssip 0 false']);
    expect(call(LEGACY_SHUTDOWN, 0).log).toEqual(['reset 0 0']);
  });

  it('counts calls by name for --stats', () => {
    expect([...call(EXT_TIME, 0, [1n]).stats.calls]).toEqual([['TIME set_timer', 1]]);
  });
});
