// The system VM's parts on their own (src/system/console.ts, guest-clock.ts,
// sbi.ts's table, hypervisor/limits.ts): what each decides from its inputs,
// without booting anything. The whole machine is tested by the boots.
import { describe, expect, it } from 'vitest';
import { SystemConsole, CONSOLE_SETTLE, POLLS_FOR_INPUT } from '../src/system/console.js';
import { GuestClock, INSTRUCTIONS_PER_TICK } from '../src/system/guest-clock.js';
import { QUANTUM } from '../src/system/hart-scheduler.js';
import { SBI_EXTENSIONS, SBI_EXTENSION_NAMES, EXT_BASE, EXT_DBCN, EXT_HSM, EXT_IPI, EXT_RFENCE, EXT_SRST, EXT_TIME, LEGACY_SHUTDOWN } from '../src/system/sbi.js';
import { RunLimits } from '../src/hypervisor/limits.js';
import { Uart16550 } from '../src/system/devices/uart16550.js';
import { LatchedIrq } from '../src/system/devices/bus.js';
import { VIRTUAL_EPOCH_NS } from '../src/hypervisor/clock.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('SystemConsole', () => {
  it('a panic line stops the machine once, with the message from "Kernel panic" on', () => {
    const panics: string[] = [];
    const c = new SystemConsole((m) => panics.push(m));
    c.output(enc('[    1.0] ok\r\n[    2.0] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n'));
    c.output(enc('Kernel panic - not syncing: again\n'));
    expect(panics).toEqual(['Kernel panic - not syncing: VFS: Unable to mount root fs']);
    expect(c.panic).toBe(panics[0]);
  });

  it('holds input until the port is opened and has settled; a poller gets it at once', () => {
    const received: number[] = [];
    const uart = new Uart16550({ irq: new LatchedIrq(), output: () => {} });
    const c = new SystemConsole(() => {});
    c.attach(uart);
    c.input('ab');
    c.feed(0n);
    expect(uart.pendingInput).toBe(0); // not open: IER.ERBFI and MCR.OUT2 clear
    uart.write(1, 1, 1n); // IER.ERBFI
    uart.write(4, 1, 0x08n); // MCR.OUT2
    c.feed(100n);
    expect(uart.pendingInput).toBe(0); // open, not yet settled
    c.feed(100n + CONSOLE_SETTLE);
    expect(uart.pendingInput).toBe(2);
    while (uart.pendingInput > 0) received.push(Number(uart.read(0, 1)));
    expect(String.fromCharCode(...received)).toBe('ab');

    const polled = new Uart16550({ irq: new LatchedIrq(), output: () => {} });
    const p = new SystemConsole(() => {});
    p.attach(polled);
    const onBus = p.watched(polled);
    for (let i = 0; i < POLLS_FOR_INPUT; i++) onBus.read(5, 1); // LSR, nothing there
    p.input('x');
    p.feed(0n);
    expect(polled.pendingInput).toBe(1);
  });

  it('the SBI console reads held input byte by byte', () => {
    const c = new SystemConsole(() => {});
    c.input('hi');
    expect([c.read(), c.read(), c.read()]).toEqual([0x68, 0x69, -1]);
  });
});

describe('GuestClock', () => {
  it('virtual time: rounds, the running hart\'s share, jumps forward', () => {
    let used = 0n;
    const clock = new GuestClock('virtual', () => used);
    expect(clock.host).toBe(false);
    expect(clock.time()).toBe(0n);
    used = 1000n;
    expect(clock.time()).toBe(1000n / INSTRUCTIONS_PER_TICK);
    used = 0n;
    clock.nextRound(QUANTUM);
    expect(clock.time()).toBe(QUANTUM / INSTRUCTIONS_PER_TICK);
    clock.skip(1_000_000n - clock.time());
    expect(clock.time()).toBe(1_000_000n);
    // A hart's share below a tick is no tick, for `time` and for the RTC.
    used = INSTRUCTIONS_PER_TICK - 1n;
    expect(clock.time()).toBe(1_000_000n);
    expect(clock.wallClockNs()).toBe(VIRTUAL_EPOCH_NS + 1_000_000n * 100n);
    used = INSTRUCTIONS_PER_TICK;
    expect(clock.time()).toBe(1_000_001n);
    expect(GuestClock.msBetween(0n, 10_000n)).toBe(1);
  });

  it('host time: from 0 at power-on, the host\'s own; rounds and jumps do not move it', () => {
    const clock = new GuestClock('host', () => 0n);
    expect(clock.host).toBe(true);
    const t0 = clock.time();
    expect(t0).toBeLessThan(10_000_000n); // under a second since it was made
    clock.nextRound(QUANTUM);
    clock.skip(1_000_000_000n);
    expect(clock.time() - t0).toBeLessThan(10_000_000n);
    expect(Math.abs(Number(clock.wallClockNs() / 1_000_000n) - Date.now())).toBeLessThan(1000);
  });
});

describe('the SBI table', () => {
  it('has one handler per extension, named, and probes exactly what it has', () => {
    const ids = [EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, ...Array.from({ length: LEGACY_SHUTDOWN + 1 }, (_, i) => i)];
    expect([...SBI_EXTENSIONS.keys()].sort((a, b) => a - b)).toEqual(ids.sort((a, b) => a - b));
    const handlers = new Set([...SBI_EXTENSIONS.values()].map((e) => e.handler));
    // The three legacy fences share a maker but are handlers of their own.
    expect(handlers.size).toBe(SBI_EXTENSIONS.size);
    expect(SBI_EXTENSION_NAMES[EXT_HSM]).toBe('HSM');
    expect(SBI_EXTENSION_NAMES[LEGACY_SHUTDOWN]).toBe('legacy shutdown');
  });
});

describe('RunLimits', () => {
  it('an instruction limit, and budgets cut to it', () => {
    const l = new RunLimits(1000n, undefined);
    expect(l.reached(999n)).toBeUndefined();
    expect(l.reached(1000n)).toBe('instructions');
    expect(l.clamp(500n, 800n)).toBe(200n);
    expect(l.clamp(100n, 800n)).toBe(100n);
    expect(new RunLimits(undefined, undefined).clamp(5n, 1n << 62n)).toBe(5n);
  });

  it('a host-time deadline; a bad timeout is a RangeError', () => {
    expect(new RunLimits(undefined, 0).reached(0n)).toBe('timeout');
    expect(new RunLimits(undefined, 60).reached(0n)).toBeUndefined();
    expect(() => new RunLimits(undefined, -1)).toThrow(RangeError);
  });
});
