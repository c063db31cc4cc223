// The system VM's device models (src/system/devices/): the MMIO bus, the
// PLIC, the 16550A UART (with Linux's 8250 probe), the Goldfish RTC, and the
// virtio MMIO transport with its block and entropy devices — driven from the
// driver's side over a fake guest RAM, including malicious descriptor chains.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MmioBus, LatchedIrq, Plic, Uart16550, GoldfishRtc, VirtioMmio, VirtioBlk, VirtioRng, MemoryBlockBackend,
  VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX, STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_FEATURES_OK,
  STATUS_DRIVER_OK, STATUS_DEVICE_NEEDS_RESET, INT_USED_BUFFER, INT_CONFIG_CHANGE,
  type GuestMemory, type MmioDevice, type VirtioDevice,
} from '../src/system/devices/index.js';
import { SifiveTest, FINISHER_PASS, FINISHER_FAIL, FINISHER_RESET, type Finish } from '../src/system/devices/sifive-test.js';
import { CheckpointError } from '../src/hypervisor/checkpoint-file.js';
import { SystemVM } from '../src/system/system-vm.js';
import '../src/index.js'; // registers the CPU module
import { FileBlockBackend, openDiskImage } from '../src/node/block-file.js';
import { QEMU_VIRT } from '../src/system/device-tree.js';
import { VIRTUAL_EPOCH_NS } from '../src/hypervisor/clock.js';

// ---------------------------------------------------------------- fake RAM

const RAM_BASE = 0x8000_0000n;
const RAM_SIZE = 1 << 20;
const GUARD = 4096;

/** Guest RAM over a plain array, with guard bytes on both sides that no
 *  device may touch. */
class FakeRam implements GuestMemory {
  readonly backing = new Uint8Array(GUARD + RAM_SIZE + GUARD).fill(0xa5);
  readonly bytes = this.backing.subarray(GUARD, GUARD + RAM_SIZE);
  readonly view = new DataView(this.bytes.buffer, GUARD, RAM_SIZE);
  writes = 0;
  constructor() { this.bytes.fill(0); }
  inRam(addr: bigint, length: number): boolean {
    const off = addr - RAM_BASE;
    return off >= 0n && off + BigInt(length) <= BigInt(RAM_SIZE);
  }
  guestBytes(addr: bigint, length: number): Uint8Array {
    if (!this.inRam(addr, length)) throw new Error(`outside RAM: ${addr.toString(16)}`);
    const o = Number(addr - RAM_BASE);
    return this.bytes.subarray(o, o + length);
  }
  writeBytes(addr: bigint, data: Uint8Array): void {
    this.writes++;
    this.guestBytes(addr, data.length).set(data);
  }
  off(addr: bigint): number { return Number(addr - RAM_BASE); }
  w16(a: bigint, v: number): void { this.view.setUint16(this.off(a), v, true); }
  w32(a: bigint, v: number): void { this.view.setUint32(this.off(a), v, true); }
  w64(a: bigint, v: bigint): void { this.view.setBigUint64(this.off(a), BigInt.asUintN(64, v), true); }
  r16(a: bigint): number { return this.view.getUint16(this.off(a), true); }
  r32(a: bigint): number { return this.view.getUint32(this.off(a), true); }
  guardsIntact(): boolean {
    return this.backing.subarray(0, GUARD).every((b) => b === 0xa5) &&
      this.backing.subarray(GUARD + RAM_SIZE).every((b) => b === 0xa5);
  }
}

// ---------------------------------------------------------------- bus

describe('MmioBus', () => {
  const dev = (name: string, base: bigint, size: bigint): MmioDevice & { log: string[] } => {
    const log: string[] = [];
    return {
      name, base, size, log,
      read: (o, s) => { log.push(`r${s}@${o}`); return 0x1122_3344_5566_7788n; },
      write: (o, s, v) => { log.push(`w${s}@${o}=${v.toString(16)}`); },
    };
  };

  it('routes by address, masks to the access size, reports holes and straddles, counts', () => {
    const bus = new MmioBus();
    const a = dev('a', 0x1000n, 0x100n), b = dev('b', 0x2000n, 0x1000n);
    bus.add(b);
    bus.add(a);
    expect(bus.devices.map((d) => d.name)).toEqual(['a', 'b']);
    expect(bus.find(0x10ffn)).toBe(a);
    expect(bus.find(0x1100n)).toBeUndefined();
    expect(bus.find(0x2fffn)).toBe(b);
    expect(bus.load(0x1004n, 2)).toBe(0x7788n);
    expect(bus.load(0x1004n, 8)).toBe(0x1122_3344_5566_7788n);
    expect(bus.load(0x1100n, 4)).toBeUndefined();
    expect(bus.load(0x10fen, 4)).toBeUndefined(); // straddles the end of a
    expect(bus.store(0x2008n, 1, 0x1ffn)).toBe(true);
    expect(bus.store(0x3000n, 4, 1n)).toBe(false);
    expect(a.log).toEqual(['r2@4', 'r8@4']);
    expect(b.log).toEqual(['w1@8=ff']);
    expect(bus.statsFor('a')).toMatchObject({ reads: 2, writes: 0 });
    expect(bus.statsFor(b)).toMatchObject({ reads: 0, writes: 1 });
  });

  it('refuses overlapping devices', () => {
    const bus = new MmioBus();
    bus.add(dev('a', 0x1000n, 0x100n));
    expect(() => bus.add(dev('c', 0x10f0n, 0x20n))).toThrow(/overlaps a/);
    expect(() => bus.add(dev('d', 0xf00n, 0x101n))).toThrow(/overlaps a/);
    bus.add(dev('e', 0x1100n, 0x100n)); // adjacent is fine
  });

  it('a device that throws reads 0 and is logged', () => {
    const lines: string[] = [];
    const bus = new MmioBus({ log: (l) => lines.push(l) });
    bus.add({ name: 'bad', base: 0n, size: 16n, read: () => { throw new Error('boom'); }, write: () => { throw new Error('bang'); } });
    expect(bus.load(4n, 4)).toBe(0n);
    expect(bus.store(4n, 4, 0n)).toBe(true);
    expect(lines).toEqual([
      'mmio: bad: read of 4 bytes at 0x4 threw: boom',
      'mmio: bad: write of 4 bytes at 0x4 threw: bang',
    ]);
  });
});

// ---------------------------------------------------------------- PLIC

describe('Plic', () => {
  const PRIO = (s: number) => 4 * s;
  const PENDING = 0x1000;
  const ENABLE = (c: number) => 0x2000 + 0x80 * c;
  const THRESHOLD = (c: number) => 0x200000 + 0x1000 * c;
  const CLAIM = (c: number) => 0x200004 + 0x1000 * c;

  function make(harts = 2) {
    const events: string[] = [];
    const plic = new Plic({ sources: 96, contexts: 2 * harts, onContextChange: (c, p) => events.push(`${c}:${p ? 1 : 0}`) });
    const r = (o: number) => Number(plic.read(o, 4));
    const w = (o: number, v: number) => plic.write(o, 4, BigInt(v >>> 0));
    return { plic, events, r, w };
  }

  it('registers: priorities are 3 bits, source 0 and pending are read-only, enables mask source 0 and beyond 95', () => {
    const { plic, r, w } = make();
    expect(plic.base).toBe(0x0c00_0000n);
    w(PRIO(0), 5); w(PRIO(1), 0xff); w(PRIO(95), 3); w(PRIO(96), 3);
    expect([r(PRIO(0)), r(PRIO(1)), r(PRIO(95)), r(PRIO(96))]).toEqual([0, 7, 3, 0]);
    w(PENDING, 0xffff_ffff);
    expect(r(PENDING)).toBe(0);
    w(ENABLE(1), 0xffff_ffff); w(ENABLE(1) + 8, 0xffff_ffff); w(ENABLE(1) + 12, 0xffff_ffff);
    expect([r(ENABLE(1)), r(ENABLE(1) + 8) >>> 0, r(ENABLE(1) + 12)]).toEqual([0xffff_fffe, 0xffff_ffff, 0]);
    w(THRESHOLD(3), 9);
    expect(r(THRESHOLD(3))).toBe(1);
    expect(r(THRESHOLD(4))).toBe(0); // no context 4
    expect(() => plic.line(0)).toThrow();
    expect(() => plic.line(96)).toThrow();
  });

  it('claim: highest priority above threshold, lowest id on ties; complete re-pends a still-asserted source', () => {
    const { plic, events, r, w } = make();
    const S = 1; // hart 0 S-mode
    for (const s of [3, 5, 10, 33]) w(PRIO(s), 2);
    w(PRIO(10), 5);
    w(ENABLE(S), (1 << 3) | (1 << 5) | (1 << 10));
    w(ENABLE(S) + 4, 1 << 1); // source 33
    expect(events).toEqual([]);
    plic.line(5).set(true);
    expect(events).toEqual(['1:1']);
    plic.line(3).set(true);
    plic.line(33).set(true);
    plic.line(10).set(true);
    expect(r(PENDING)).toBe((1 << 3) | (1 << 5) | (1 << 10));
    expect(r(PENDING + 4)).toBe(2);
    expect(r(CLAIM(S))).toBe(10); // priority 5
    expect(plic.isPending(10)).toBe(false);
    expect(plic.isClaimed(10)).toBe(true);
    expect(r(CLAIM(S))).toBe(3); // ties at 2: lowest id
    expect(r(CLAIM(S))).toBe(5);
    expect(r(CLAIM(S))).toBe(33);
    expect(events).toEqual(['1:1', '1:0']);
    expect(r(CLAIM(S))).toBe(0); // nothing left
    // While claimed, a still-asserted source does not come back...
    plic.line(3).set(false);
    plic.line(3).set(true);
    expect(plic.isPending(3)).toBe(false);
    // ...until completed, when it is pending again at once.
    w(CLAIM(S), 3);
    expect(plic.isPending(3)).toBe(true);
    expect(events).toEqual(['1:1', '1:0', '1:1']);
    expect(r(CLAIM(S))).toBe(3);
    plic.line(3).set(false);
    w(CLAIM(S), 3);
    expect(plic.isPending(3)).toBe(false);
    expect(events.at(-1)).toBe('1:0');
    // A source deasserted before it is claimed withdraws its request.
    w(CLAIM(S), 10);
    expect(plic.isPending(10)).toBe(true);
    plic.line(10).set(false);
    expect(plic.isPending(10)).toBe(false);
    expect(r(CLAIM(S))).toBe(0);
  });

  it('threshold and priority 0 mask; completion of a source not enabled for the context is ignored', () => {
    const { plic, events, r, w } = make();
    w(PRIO(7), 3);
    w(ENABLE(1), 1 << 7);
    w(THRESHOLD(1), 3);
    plic.line(7).set(true);
    expect(events).toEqual([]); // priority must exceed the threshold
    expect(r(CLAIM(1))).toBe(0);
    w(THRESHOLD(1), 2);
    expect(events).toEqual(['1:1']);
    w(PRIO(7), 0);
    expect(events).toEqual(['1:1', '1:0']); // priority 0 never interrupts
    w(PRIO(7), 1);
    w(THRESHOLD(1), 0);
    expect(r(CLAIM(1))).toBe(7);
    w(ENABLE(1), 0);
    w(CLAIM(1), 7); // not enabled for context 1: ignored
    expect(plic.isClaimed(7)).toBe(true);
    w(ENABLE(1), 1 << 7);
    w(CLAIM(1), 99); // no such source: ignored
    w(CLAIM(1), 7);
    expect(plic.isClaimed(7)).toBe(false);
    expect(plic.isPending(7)).toBe(true);
  });

  it('several contexts: each sees its enabled sources; a claim by one hides the source from the other', () => {
    const { plic, events, r, w } = make(2);
    w(PRIO(1), 1); w(PRIO(2), 1);
    w(ENABLE(1), 0b110); // hart 0 S: sources 1, 2
    w(ENABLE(3), 0b100); // hart 1 S: source 2
    w(ENABLE(0), 0b010); // hart 0 M: source 1
    plic.line(1).set(true);
    expect(events.sort()).toEqual(['0:1', '1:1']);
    events.length = 0;
    plic.line(2).set(true);
    expect(events).toEqual(['3:1']);
    events.length = 0;
    expect(r(CLAIM(3))).toBe(2);
    expect(events).toEqual(['3:0']); // context 1 still has source 1
    expect(plic.contextPending(1)).toBe(true);
    expect(r(CLAIM(1))).toBe(1); // not 2: claimed by hart 1
    expect(events.sort()).toEqual(['0:0', '1:0', '3:0']);
    w(CLAIM(1), 2); // source 2 is enabled for context 1 too: the gateway opens
    expect(plic.isPending(2)).toBe(true);
    expect(plic.contextPending(3)).toBe(true);
    expect(plic.contextPending(1)).toBe(true);
    // 8-byte and byte reads
    expect(plic.read(PENDING, 8)).toBe(0b100n);
    expect(plic.read(PRIO(2), 1)).toBe(1n);
  });
});

// ---------------------------------------------------------------- UART

describe('Uart16550', () => {
  const RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7, DLL = 0, DLM = 1, EFR = 2;

  function make() {
    const irq = new LatchedIrq();
    const out: number[] = [];
    const uart = new Uart16550({ irq, output: (b) => out.push(...b) });
    const r = (o: number) => Number(uart.read(o, 1));
    const w = (o: number, v: number) => uart.write(o, 1, BigInt(v & 0xff));
    return { uart, irq, out, r, w };
  }

  it("passes Linux's 8250 autoconfig probe as a 16550A", () => {
    const { r, w } = make();
    // IER test
    const ier0 = r(IER);
    w(IER, 0);
    const s2 = r(IER) & 0x0f;
    w(IER, 0x0f);
    const s3 = r(IER) & 0x0f;
    w(IER, ier0);
    expect([s2, s3]).toEqual([0, 0x0f]);
    // Loopback test: MSR follows MCR (RTS -> CTS, OUT2 -> DCD)
    const saveMcr = r(MCR), saveLcr = r(LCR);
    w(MCR, 0x10 | 0x0a);
    expect(r(MSR) & 0xf0).toBe(0x90);
    w(MCR, saveMcr);
    // FIFO type: EFR at 0xBF is FCR here
    w(LCR, 0xbf); w(EFR, 0); w(LCR, 0);
    w(FCR, 0x01);
    expect(r(IIR) >> 6).toBe(3);
    // autoconfig_16550a: no EFR with DLAB set (nor at 0xBF)
    w(LCR, 0x80);
    expect(r(EFR)).not.toBe(0);
    w(LCR, 0xbf);
    expect(r(EFR)).not.toBe(0);
    // Divisor latch
    w(LCR, 0x80); w(DLL, 0x01); w(DLM, 0x00);
    expect([r(DLL), r(DLM)]).toEqual([1, 0]);
    w(LCR, 0);
    // Not an NS SuperIO: EXCR1 (IIR here) does not follow MCR.LOOP
    const m1 = r(MCR);
    w(LCR, 0xe0);
    expect((r(2) ^ m1) & 0x10).toBe(0);
    w(LCR, 0); w(MCR, m1 ^ 0x10); w(LCR, 0xe0);
    expect((r(2) ^ m1) & 0x10).toBe(0);
    w(LCR, 0); w(MCR, m1);
    // Not a 16750: no 64-byte FIFO bit in IIR
    w(FCR, 0x21);
    expect(r(IIR) >> 5).toBe(6);
    w(FCR, 0x01); w(LCR, 0x80); w(FCR, 0x21);
    expect(r(IIR) >> 5).toBe(6);
    w(FCR, 0x01); w(LCR, 0);
    // Not an XScale: IER bit 6 does not stick
    w(IER, 0x40);
    expect(r(IER) & 0x40).toBe(0);
    w(LCR, saveLcr);
    // Scratch register
    w(SCR, 0x5a);
    expect(r(SCR)).toBe(0x5a);
    expect(r(LSR)).not.toBe(0xff);
  });

  it("passes serial8250_startup's THRE and TXEN tests, and transmits", () => {
    const { irq, out, r, w } = make();
    w(FCR, 0x07); w(FCR, 0); // clear FIFOs
    r(LSR); r(RBR); r(IIR); r(MSR);
    expect(r(LSR) & 0x60).toBe(0x60); // wait_for_xmitr: THRE|TEMT
    // THRE test: the interrupt is re-asserted when ETBEI is set again.
    w(IER, 0x02);
    const iir1 = r(IIR);
    w(IER, 0);
    w(IER, 0x02);
    const iir2 = r(IIR);
    w(IER, 0);
    expect(iir1 & 1).toBe(0);
    expect(iir2 & 0x0f).toBe(0x02);
    w(LCR, 0x03);
    w(MCR, 0x0b); // DTR|RTS|OUT2
    // TXEN test: with ETBEI, IIR shows THRI
    w(IER, 0x02);
    expect(r(LSR) & 0x40).toBe(0x40);
    expect(r(IIR) & 1).toBe(0);
    w(IER, 0);
    expect(irq.level).toBe(false);
    // Normal transmit: enable THRI, write bytes as the interrupt asks
    w(FCR, 0xc1);
    w(IER, 0x05); // RDI | RLSI
    w(IER, 0x07); // start_tx
    expect(irq.level).toBe(true);
    expect(r(IIR)).toBe(0xc2);
    expect(irq.level).toBe(false); // reading IIR cleared THRI
    for (const c of 'hi\n') w(THR, c.charCodeAt(0));
    expect(Buffer.from(out).toString()).toBe('hi\n');
    expect(irq.level).toBe(true); // THR emptied again
    w(IER, 0x05); // stop_tx
    expect(irq.level).toBe(false);
    expect(r(IIR)).toBe(0xc1);
  });

  it('receives through the FIFO from an unbounded host queue, with RDA/timeout interrupts', () => {
    const { uart, irq, r, w } = make();
    w(FCR, 0x01 | 0x80); // FIFO, trigger 8
    w(IER, 0x01);
    expect(irq.level).toBe(false);
    const text = Array.from({ length: 1000 }, (_, i) => String.fromCharCode(33 + (i % 90))).join('');
    uart.input(text);
    expect(irq.level).toBe(true);
    expect(r(IIR)).toBe(0xc4); // 16 >= trigger 8
    expect(r(LSR) & 1).toBe(1);
    let got = '';
    while (r(LSR) & 1) got += String.fromCharCode(r(RBR));
    expect(got).toBe(text); // nothing dropped
    expect(irq.level).toBe(false);
    expect(r(IIR)).toBe(0xc1);
    uart.input(new Uint8Array([1, 2, 3]));
    expect(r(IIR)).toBe(0xcc); // below the trigger: character timeout
    w(FCR, 0x83); // clear the receive FIFO
    expect(r(LSR) & 1).toBe(0);
    expect(irq.level).toBe(false);
    expect(uart.pendingInput).toBe(0);
    // Non-FIFO mode: a single holding register, fed from the host queue
    w(FCR, 0);
    uart.input('ab');
    expect(r(IIR)).toBe(0x04);
    expect(r(RBR)).toBe(0x61);
    expect(r(RBR)).toBe(0x62);
    expect(r(LSR) & 1).toBe(0);
    // DLAB hides RBR/IER
    w(LCR, 0x80);
    w(DLL, 0x0c); w(DLM, 0x00);
    expect(uart.divisor).toBe(12);
    w(LCR, 0x03);
    expect(r(IER)).toBe(0x01);
  });

  it('line status and modem status interrupts, loopback', () => {
    const { uart, irq, out, r, w } = make();
    w(IER, 0x04);
    uart.sendBreak();
    expect(r(IIR)).toBe(0x06);
    expect(r(LSR) & 0x11).toBe(0x11);
    expect(r(IIR)).toBe(0x01); // LSR read cleared BI
    expect(r(RBR)).toBe(0);
    w(IER, 0x08);
    w(MCR, 0x10); // loopback, all outputs low: CTS, DSR and DCD fall
    expect(r(IIR)).toBe(0x00);
    expect(r(MSR)).toBe(0x0b); // DCTS|DDSR|DDCD
    expect(r(IIR)).toBe(0x01);
    w(IER, 0x01);
    w(THR, 0x41); // loopback: to the receiver, not the output
    expect(out).toEqual([]);
    expect(irq.level).toBe(true);
    expect(r(RBR)).toBe(0x41);
    w(MCR, 0);
    expect(r(MSR) & 0xf0).toBe(0xb0);
  });
});

// ---------------------------------------------------------------- RTC

describe('GoldfishRtc', () => {
  it('reads the time in two halves (TIME_LOW latches TIME_HIGH), sets it, and fires alarms', () => {
    let now = 0x1234_5678_9abc_def0n;
    const irq = new LatchedIrq();
    const rtc = new GoldfishRtc({ irq, nowNs: () => now });
    const r = (o: number) => Number(rtc.read(o, 4));
    const w = (o: number, v: number | bigint) => rtc.write(o, 4, BigInt(v) & 0xffff_ffffn);
    expect(rtc.base).toBe(0x101000n);
    expect(r(0x04)).toBe(0); // nothing latched yet
    expect(r(0x00)).toBe(0x9abc_def0);
    now += 0x1_0000_0000n; // the high half moves on, the latch does not
    expect(r(0x04)).toBe(0x1234_5678);
    expect(rtc.read(0, 8)).toBe(now);
    // set the time: TIME_HIGH then TIME_LOW
    w(0x04, 0x10); w(0x00, 0x20);
    expect(rtc.guestNowNs()).toBe(0x10_0000_0020n);
    now += 1000n;
    expect(rtc.guestNowNs()).toBe(0x10_0000_0020n + 1000n);
    // an alarm in the future fires on poll once its time has come
    const t = rtc.guestNowNs() + 5000n;
    w(0x0c, t >> 32n); w(0x08, t);
    expect(r(0x18)).toBe(1);
    expect([r(0x0c), r(0x08)]).toEqual([Number(t >> 32n), Number(t & 0xffff_ffffn)]);
    w(0x10, 1);
    expect(rtc.nextAlarmHostNs()).toBe(now + 5000n);
    rtc.poll();
    expect(irq.level).toBe(false);
    now += 5000n;
    rtc.poll();
    expect(irq.level).toBe(true);
    expect(r(0x18)).toBe(0);
    w(0x1c, 1);
    expect(irq.level).toBe(false);
    // an alarm in the past fires at once, but reaches the line only when enabled
    w(0x10, 0);
    w(0x0c, 0); w(0x08, 1);
    expect(rtc.interruptPending).toBe(true);
    expect(irq.level).toBe(false);
    w(0x10, 1);
    expect(irq.level).toBe(true);
    expect(r(0x10)).toBe(1);
    w(0x1c, 1);
    // CLEAR_ALARM disarms
    const u = rtc.guestNowNs() + 10n;
    w(0x0c, u >> 32n); w(0x08, u);
    w(0x14, 1);
    expect(r(0x18)).toBe(0);
    now += 100n;
    rtc.poll();
    expect(irq.level).toBe(false);
    expect(rtc.nextAlarmHostNs()).toBeUndefined();
  });
});

// ---------------------------------------------------------------- virtio driver side

const DESC = RAM_BASE + 0x1000n;
const AVAIL = RAM_BASE + 0x2000n;
const USED = RAM_BASE + 0x3000n;
const BUF = RAM_BASE + 0x10000n;
const F = { NEXT: 1, WRITE: 2, INDIRECT: 4 };

interface Seg { addr: bigint; len: number; write?: boolean }

/** What a driver (Linux's virtio_mmio + virtio_ring, in spirit) does. */
class Driver {
  availIdx = 0;
  usedSeen = 0;
  nextDesc = 0;
  readonly lines: string[] = [];
  constructor(readonly dev: VirtioMmio, readonly ram: FakeRam, readonly qsize: number) {}
  r(o: number): number { return Number(this.dev.read(o, 4)); }
  w(o: number, v: number): void { this.dev.write(o, 4, BigInt(v >>> 0)); }

  /** Reset, ACK, DRIVER, features, FEATURES_OK, queue 0, DRIVER_OK. */
  handshake(accept: (offered: bigint) => bigint = (f) => f): bigint {
    expect(this.r(0x000)).toBe(0x74726976);
    expect(this.r(0x004)).toBe(2);
    this.w(0x070, 0);
    expect(this.r(0x070)).toBe(0);
    this.w(0x070, STATUS_ACKNOWLEDGE);
    this.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    this.w(0x014, 1);
    const hi = BigInt(this.r(0x010));
    this.w(0x014, 0);
    const offered = (hi << 32n) | BigInt(this.r(0x010));
    const want = accept(offered);
    this.w(0x024, 1); this.w(0x020, Number(want >> 32n));
    this.w(0x024, 0); this.w(0x020, Number(want & 0xffff_ffffn));
    this.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    expect(this.r(0x070) & STATUS_FEATURES_OK).toBe(STATUS_FEATURES_OK);
    this.w(0x030, 0);
    expect(this.r(0x044)).toBe(0);
    expect(this.r(0x034)).toBeGreaterThanOrEqual(this.qsize);
    this.w(0x038, this.qsize);
    this.w(0x080, Number(DESC & 0xffff_ffffn)); this.w(0x084, Number(DESC >> 32n));
    this.w(0x090, Number(AVAIL & 0xffff_ffffn)); this.w(0x094, Number(AVAIL >> 32n));
    this.w(0x0a0, Number(USED & 0xffff_ffffn)); this.w(0x0a4, Number(USED >> 32n));
    this.w(0x044, 1);
    expect(this.r(0x044)).toBe(1);
    this.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    return want;
  }

  desc(table: bigint, i: number, addr: bigint, len: number, flags: number, next: number): void {
    const a = table + BigInt(16 * i);
    this.ram.w64(a, addr);
    this.ram.w32(a + 8n, len);
    this.ram.w16(a + 12n, flags);
    this.ram.w16(a + 14n, next);
  }

  /** Writes a chain into free descriptors; returns its head. */
  chain(segs: Seg[]): number {
    const head = this.nextDesc;
    segs.forEach((s, k) => {
      const i = (head + k) % this.qsize;
      const last = k === segs.length - 1;
      this.desc(DESC, i, s.addr, s.len, (s.write ? F.WRITE : 0) | (last ? 0 : F.NEXT), last ? 0 : (i + 1) % this.qsize);
    });
    this.nextDesc = (head + segs.length) % this.qsize;
    return head;
  }

  /** An indirect chain: the table at `table`, one ring descriptor. */
  indirect(table: bigint, segs: Seg[]): number {
    segs.forEach((s, k) => {
      const last = k === segs.length - 1;
      this.desc(table, k, s.addr, s.len, (s.write ? F.WRITE : 0) | (last ? 0 : F.NEXT), last ? 0 : k + 1);
    });
    const head = this.nextDesc;
    this.desc(DESC, head, table, 16 * segs.length, F.INDIRECT, 0);
    this.nextDesc = (head + 1) % this.qsize;
    return head;
  }

  publish(...heads: number[]): void {
    for (const h of heads) {
      this.ram.w16(AVAIL + 4n + BigInt(2 * (this.availIdx % this.qsize)), h);
      this.availIdx = (this.availIdx + 1) & 0xffff;
    }
    this.ram.w16(AVAIL + 2n, this.availIdx);
  }

  notify(q = 0): void { this.w(0x050, q); }

  /** New used entries. */
  used(): { id: number; len: number }[] {
    const idx = this.ram.r16(USED + 2n);
    const out: { id: number; len: number }[] = [];
    while (this.usedSeen !== idx) {
      const e = USED + 4n + BigInt(8 * (this.usedSeen % this.qsize));
      out.push({ id: this.ram.r32(e), len: this.ram.r32(e + 4n) });
      this.usedSeen = (this.usedSeen + 1) & 0xffff;
    }
    return out;
  }

  /** InterruptStatus, acknowledged. */
  ack(): number {
    const s = this.r(0x060);
    this.w(0x064, s);
    return s;
  }
}

function blkHeader(ram: FakeRam, at: bigint, type: number, sector: bigint): Seg {
  ram.w32(at, type);
  ram.w32(at + 4n, 0);
  ram.w64(at + 8n, sector);
  return { addr: at, len: 16 };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringvisor-devices-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function image(name: string, sectors: number): string {
  const p = path.join(tmp, name);
  const b = Buffer.alloc(sectors * 512);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >> 9)) & 0xff;
  fs.writeFileSync(p, b);
  return p;
}

function setup(device: VirtioDevice, qsize = 8, opts: { indirectDesc?: boolean } = {}) {
  const ram = new FakeRam();
  const irq = new LatchedIrq();
  const lines: string[] = [];
  const dev = new VirtioMmio({ base: 0x1000_1000n, irq, mem: ram, device, log: (l) => lines.push(l), ...opts });
  const drv = new Driver(dev, ram, qsize);
  return { ram, irq, lines, dev, drv };
}

// ---------------------------------------------------------------- virtio transport

describe('VirtioMmio transport', () => {
  it('identifies itself, offers VERSION_1, refuses unoffered features, resets on Status 0', () => {
    const blk = new VirtioBlk({ backend: new MemoryBlockBackend(4096) });
    const { dev, drv, lines, irq } = setup(blk);
    expect(drv.r(0x008)).toBe(2);
    expect(drv.r(0x00c)).not.toBe(0);
    drv.w(0x014, 1);
    expect(drv.r(0x010)).toBe(1); // VIRTIO_F_VERSION_1 is bit 32
    drv.w(0x014, 2);
    expect(drv.r(0x010)).toBe(0);
    // not-32-bit accesses to control registers read 0
    expect(dev.read(0, 2)).toBe(0n);
    expect(dev.read(0, 8)).toBe(0n);
    // no shared memory regions
    expect(drv.r(0x0b0)).toBe(0xffff_ffff);
    expect(drv.r(0x0b4)).toBe(0xffff_ffff);
    // accepting a feature we did not offer: FEATURES_OK does not stick
    drv.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    drv.w(0x024, 0); drv.w(0x020, 1 << 3); // bit 3 is not offered
    drv.w(0x024, 1); drv.w(0x020, 1);
    drv.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    expect(drv.r(0x070)).toBe(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/FEATURES_OK refused: driver features 0x100000008 include 0x8, not offered/);
    // ...nor without VERSION_1
    drv.w(0x024, 1); drv.w(0x020, 0);
    drv.w(0x024, 0); drv.w(0x020, 1 << 9);
    drv.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    expect(drv.r(0x070) & STATUS_FEATURES_OK).toBe(0);
    expect(lines[1]).toMatch(/lack VIRTIO_F_VERSION_1/);
    // queues beyond the device's read max 0
    drv.w(0x030, 1);
    expect(drv.r(0x034)).toBe(0);
    drv.w(0x030, 0);
    expect(drv.r(0x034)).toBe(128);
    // reset
    drv.w(0x070, 0);
    expect(drv.r(0x070)).toBe(0);
    const negotiated = drv.handshake((f) => f & ~VIRTIO_F_INDIRECT_DESC);
    expect(dev.features).toBe(negotiated);
    expect(irq.level).toBe(false);
    drv.w(0x070, 0);
    expect(dev.features).toBe(0n);
    expect(dev.queues[0].ready).toBe(false);
    expect(drv.r(0x044)).toBe(0);
  });

  it('config space: capacity, blk_size, seg_max, size_max; any access width; generation', () => {
    const blk = new VirtioBlk({ backend: new MemoryBlockBackend(0x12345 * 512) });
    const { dev, drv } = setup(blk);
    expect(dev.read(0x100, 8)).toBe(0x12345n);
    expect(dev.read(0x100, 4)).toBe(0x12345n);
    expect(dev.read(0x104, 4)).toBe(0n);
    expect(dev.read(0x101, 1)).toBe(0x23n);
    expect(dev.read(0x100 + 20, 4)).toBe(512n);
    expect(dev.read(0x100 + 12, 4)).toBe(126n);
    expect(dev.read(0x100 + 8, 4)).toBe(128n * 1024n);
    expect(dev.read(0x100 + 1000, 4)).toBe(0n);
    const g = drv.r(0x0fc);
    dev.configChanged();
    expect(drv.r(0x0fc)).toBe(g + 1);
  });
});

// ---------------------------------------------------------------- virtio-blk

describe('VirtioBlk', () => {
  it('a Linux-like driver reads, writes and flushes a temp file', () => {
    const file = image('disk.img', 64);
    const blk = new VirtioBlk({ backend: openDiskImage(file), id: 'disk-serial-0001' });
    const { ram, irq, dev, drv } = setup(blk);
    const features = drv.handshake();
    expect(features & VIRTIO_F_VERSION_1).toBe(VIRTIO_F_VERSION_1);
    for (const f of [VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_F_INDIRECT_DESC]) {
      expect(features & f).toBe(f);
    }
    expect(features & VIRTIO_BLK_F_RO).toBe(0n);
    expect(dev.read(0x100, 8)).toBe(64n);
    const disk = fs.readFileSync(file);

    // IN: sectors 3..5 into two data descriptors (512 + 1024)
    const status = BUF + 0x8000n;
    const h = drv.chain([
      blkHeader(ram, BUF, 0, 3n),
      { addr: BUF + 0x100n, len: 512, write: true },
      { addr: BUF + 0x1000n, len: 1024, write: true },
      { addr: status, len: 1, write: true },
    ]);
    ram.bytes[ram.off(status)] = 0xff;
    drv.publish(h);
    expect(irq.level).toBe(false);
    drv.notify();
    expect(irq.level).toBe(true);
    expect(drv.ack()).toBe(INT_USED_BUFFER);
    expect(irq.level).toBe(false);
    expect(drv.used()).toEqual([{ id: h, len: 1537 }]);
    expect(ram.bytes[ram.off(status)]).toBe(0);
    expect(Buffer.from(ram.guestBytes(BUF + 0x100n, 512))).toEqual(disk.subarray(3 * 512, 4 * 512));
    expect(Buffer.from(ram.guestBytes(BUF + 0x1000n, 1024))).toEqual(disk.subarray(4 * 512, 6 * 512));

    // OUT: 2 sectors at sector 10, then FLUSH — both in one notification
    const data = ram.guestBytes(BUF + 0x2000n, 1024);
    for (let i = 0; i < 1024; i++) data[i] = (255 - i) & 0xff;
    const w = drv.chain([blkHeader(ram, BUF + 0x20n, 1, 10n), { addr: BUF + 0x2000n, len: 1024 }, { addr: status, len: 1, write: true }]);
    const f = drv.chain([blkHeader(ram, BUF + 0x40n, 4, 0n), { addr: status + 1n, len: 1, write: true }]);
    drv.publish(w, f);
    drv.notify();
    expect(drv.used()).toEqual([{ id: w, len: 1 }, { id: f, len: 1 }]);
    expect([ram.bytes[ram.off(status)], ram.bytes[ram.off(status + 1n)]]).toEqual([0, 0]);
    const after = fs.readFileSync(file);
    expect(after.subarray(10 * 512, 12 * 512)).toEqual(Buffer.from(data));
    expect(after.subarray(0, 10 * 512)).toEqual(disk.subarray(0, 10 * 512));
    expect(after.subarray(12 * 512)).toEqual(disk.subarray(12 * 512));
    expect(blk.counts).toMatchObject({ in: 1, out: 1, flush: 1 });

    // GET_ID
    const g = drv.chain([blkHeader(ram, BUF + 0x60n, 8, 0n), { addr: BUF + 0x3000n, len: 20, write: true }, { addr: status, len: 1, write: true }]);
    drv.publish(g);
    drv.notify();
    expect(drv.used()).toEqual([{ id: g, len: 21 }]);
    expect(Buffer.from(ram.guestBytes(BUF + 0x3000n, 20)).toString('latin1')).toBe('disk-serial-0001\0\0\0\0');

    // Out of range -> IOERR (data zeroed); unknown type -> UNSUPP
    ram.bytes.fill(0x77, ram.off(BUF + 0x4000n), ram.off(BUF + 0x4000n) + 1024);
    const o = drv.chain([blkHeader(ram, BUF + 0x80n, 0, 63n), { addr: BUF + 0x4000n, len: 1024, write: true }, { addr: status, len: 1, write: true }]);
    const u = drv.chain([blkHeader(ram, BUF + 0xa0n, 11, 0n), { addr: status + 1n, len: 1, write: true }]);
    drv.publish(o, u);
    drv.notify();
    expect(drv.used()).toEqual([{ id: o, len: 1025 }, { id: u, len: 1 }]);
    expect([ram.bytes[ram.off(status)], ram.bytes[ram.off(status + 1n)]]).toEqual([1, 2]);
    expect(ram.guestBytes(BUF + 0x4000n, 1024).every((b) => b === 0)).toBe(true);
    // an IN at sector 2^55 (sector * 512 beyond 2^64) is just out of range
    const big = drv.chain([blkHeader(ram, BUF + 0xc0n, 0, 1n << 55n), { addr: BUF + 0x4000n, len: 512, write: true }, { addr: status, len: 1, write: true }]);
    drv.publish(big);
    drv.notify();
    expect(drv.used()).toEqual([{ id: big, len: 513 }]);
    expect(ram.bytes[ram.off(status)]).toBe(1);

    // Indirect: a read of sector 0 through an indirect table
    const ind = drv.indirect(BUF + 0x5000n, [
      blkHeader(ram, BUF + 0xe0n, 0, 0n),
      { addr: BUF + 0x6000n, len: 512, write: true },
      { addr: status, len: 1, write: true },
    ]);
    drv.publish(ind);
    drv.notify();
    expect(drv.used()).toEqual([{ id: ind, len: 513 }]);
    expect(Buffer.from(ram.guestBytes(BUF + 0x6000n, 512))).toEqual(after.subarray(0, 512));

    // avail.flags NO_INTERRUPT: used entry, no interrupt
    drv.ack();
    ram.w16(AVAIL, 1);
    const q = drv.chain([blkHeader(ram, BUF + 0x100n, 4, 0n), { addr: status, len: 1, write: true }]);
    drv.publish(q);
    drv.notify();
    expect(drv.used()).toEqual([{ id: q, len: 1 }]);
    expect(irq.level).toBe(false);
    expect(dev.broken).toBe(false);
    expect(ram.guardsIntact()).toBe(true);
    blk.close();
  });

  it('a read-only image offers RO and answers OUT with IOERR, leaving the file alone', () => {
    const file = image('ro.img', 8);
    const before = fs.readFileSync(file);
    const blk = new VirtioBlk({ backend: openDiskImage(file, { readOnly: true }), readOnly: true });
    const { ram, drv } = setup(blk);
    expect(drv.handshake() & VIRTIO_BLK_F_RO).toBe(VIRTIO_BLK_F_RO);
    const status = BUF + 0x8000n;
    const w = drv.chain([blkHeader(ram, BUF, 1, 0n), { addr: BUF + 0x1000n, len: 512 }, { addr: status, len: 1, write: true }]);
    const f = drv.chain([blkHeader(ram, BUF + 0x20n, 4, 0n), { addr: status + 1n, len: 1, write: true }]);
    drv.publish(w, f);
    drv.notify();
    expect(drv.used().map((e) => e.id)).toEqual([w, f]);
    expect([ram.bytes[ram.off(status)], ram.bytes[ram.off(status + 1n)]]).toEqual([1, 0]);
    expect(fs.readFileSync(file)).toEqual(before);
    blk.close();
  });

  it('refuses an image whose size is not a multiple of 512; works from an fd', () => {
    const p = path.join(tmp, 'odd.img');
    fs.writeFileSync(p, Buffer.alloc(1000));
    expect(() => new VirtioBlk({ backend: openDiskImage(p) })).toThrow(/size 1000 bytes is not a multiple of 512/);
    const fd = fs.openSync(image('fd.img', 2), 'r+');
    const blk = new VirtioBlk({ backend: new FileBlockBackend(fd, false) });
    expect(blk.capacity).toBe(2n);
    blk.close(); // not ours to close
    fs.fstatSync(fd);
    fs.closeSync(fd);
  });
});

describe('VirtioBlk request errors', () => {
  it('host I/O errors and odd data lengths answer IOERR without breaking the device', () => {
    const failing = {
      byteLength: 8 * 512, readOnly: false,
      read(): void { throw new Error('EIO'); },
      write(): void { throw new Error('EIO'); },
      flush(): void { throw new Error('EIO'); },
    };
    const { ram, drv, dev } = setup(new VirtioBlk({ backend: failing }), 16);
    drv.handshake();
    const st = BUF + 0x8000n;
    ram.bytes.fill(0x33, ram.off(BUF + 0x1000n), ram.off(BUF + 0x1000n) + 512);
    const heads = [
      drv.chain([blkHeader(ram, BUF, 0, 0n), { addr: BUF + 0x1000n, len: 512, write: true }, { addr: st, len: 1, write: true }]),
      drv.chain([blkHeader(ram, BUF + 0x20n, 1, 0n), { addr: BUF + 0x2000n, len: 512 }, { addr: st + 1n, len: 1, write: true }]),
      drv.chain([blkHeader(ram, BUF + 0x40n, 4, 0n), { addr: st + 2n, len: 1, write: true }]),
      drv.chain([blkHeader(ram, BUF + 0x60n, 0, 0n), { addr: BUF + 0x3000n, len: 100, write: true }, { addr: st + 3n, len: 1, write: true }]),
    ];
    drv.publish(...heads);
    drv.notify();
    expect(drv.used().map((e) => e.id)).toEqual(heads);
    expect(Array.from(ram.guestBytes(st, 4))).toEqual([1, 1, 1, 1]);
    expect(ram.guestBytes(BUF + 0x1000n, 512).every((b) => b === 0)).toBe(true);
    expect(dev.broken).toBe(false);
  });

  it('a memory image: reads and writes, counts flushes', () => {
    const backend = new MemoryBlockBackend(new Uint8Array(4 * 512).map((_, i) => i & 0xff));
    const { ram, drv } = setup(new VirtioBlk({ backend }), 8);
    drv.handshake();
    const st = BUF + 0x8000n;
    ram.guestBytes(BUF + 0x2000n, 512).fill(0xee);
    const heads = [
      drv.chain([blkHeader(ram, BUF, 0, 1n), { addr: BUF + 0x1000n, len: 512, write: true }, { addr: st, len: 1, write: true }]),
      drv.chain([blkHeader(ram, BUF + 0x20n, 1, 3n), { addr: BUF + 0x2000n, len: 512 }, { addr: st + 1n, len: 1, write: true }]),
      drv.chain([blkHeader(ram, BUF + 0x40n, 4, 0n), { addr: st + 2n, len: 1, write: true }]),
    ];
    drv.publish(...heads);
    drv.notify();
    expect(Array.from(ram.guestBytes(st, 3))).toEqual([0, 0, 0]);
    expect(ram.guestBytes(BUF + 0x1000n, 512)).toEqual(backend.bytes.slice(512, 1024));
    expect(backend.bytes.subarray(3 * 512).every((b) => b === 0xee)).toBe(true);
    expect(backend.flushes).toBe(1);
    expect(() => new MemoryBlockBackend(100)).toThrow(/not a multiple of 512/);
  });
});

describe('VirtioMmio register corners', () => {
  it('live queues ignore reconfiguration; features freeze at FEATURES_OK; QueueReady 0 stops a queue', () => {
    const { ram, drv, dev } = setup(new VirtioBlk({ backend: new MemoryBlockBackend(4096) }), 8);
    drv.handshake();
    expect(drv.r(0x038)).toBe(8);
    drv.w(0x038, 4);
    drv.w(0x080, 0x1234);
    expect(drv.r(0x038)).toBe(8);
    expect(drv.r(0x080)).toBe(Number(DESC & 0xffff_ffffn));
    expect(drv.r(0x090)).toBe(Number(AVAIL & 0xffff_ffffn));
    expect(drv.r(0x0a0)).toBe(Number(USED & 0xffff_ffffn));
    const f = dev.features;
    drv.w(0x024, 0); drv.w(0x020, 0);
    expect(dev.features).toBe(f);
    drv.w(0x044, 0);
    expect(drv.r(0x044)).toBe(0);
    const h = drv.chain([blkHeader(ram, BUF, 4, 0n), { addr: BUF + 0x100n, len: 1, write: true }]);
    drv.publish(h);
    drv.notify();
    expect(drv.used()).toEqual([]); // not ready: not processed
    drv.notify(7); // no such queue
    dev.write(0x100, 4, 1n); // config writes: ignored
    expect(dev.read(0x100, 4)).toBe(8n);
    expect(dev.broken).toBe(false);
  });

  it('indirect tables: a bad length, outside RAM', () => {
    for (const [len, addr, msg] of [
      [24, BUF + 0x5000n, /descriptor 0: indirect table length 24 is not a non-zero multiple of 16/],
      [32, RAM_BASE + BigInt(RAM_SIZE) - 16n, /descriptor 0: indirect table at 0x800ffff0, 32 bytes, is outside guest RAM/],
      [32, 0xffff_ffff_ffff_fff0n, /indirect table at 0xfffffffffffffff0 \+ 32 bytes wraps around/],
    ] as const) {
      const { drv, dev, lines, ram } = setup(new VirtioBlk({ backend: new MemoryBlockBackend(4096) }), 8);
      drv.handshake();
      drv.desc(DESC, 0, addr, len, F.INDIRECT, 0);
      drv.publish(0);
      const snap = ram.bytes.slice();
      drv.notify();
      expect(dev.broken).toBe(true);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(msg);
      expect(Buffer.compare(ram.bytes, snap)).toBe(0);
    }
  });
});

describe('register width corners', () => {
  it('PLIC: 8-byte writes, ignored sub-word writes, out-of-range offsets', () => {
    const plic = new Plic({ sources: 96, contexts: 2 });
    plic.write(8, 8, (3n << 32n) | 2n); // priorities of sources 2 and 3
    expect([plic.read(8, 4), plic.read(12, 4)]).toEqual([2n, 3n]);
    plic.write(16, 1, 5n);
    expect(plic.read(16, 4)).toBe(0n);
    expect(plic.read(0x60_0000, 4)).toBe(0n);
    expect(plic.read(0x200000 + 0x1000 * 2, 4)).toBe(0n); // no context 2
    expect(plic.read(2, 4)).toBe(0n); // misaligned
    expect(() => new Plic({ sources: 96, contexts: 4000, size: 0x40_0000n })).toThrow(/do not fit/);
  });

  it('RTC: an 8-byte alarm write commits high then low', () => {
    let now = 1_000n;
    const irq = new LatchedIrq();
    const rtc = new GoldfishRtc({ irq, nowNs: () => now });
    rtc.write(0x10, 4, 1n);
    rtc.write(0x08, 8, 0x1_0000_0000n + 500n);
    expect(rtc.read(0x18, 4)).toBe(1n);
    expect(rtc.read(0x08, 8)).toBe(0x1_0000_0000n + 500n);
    now = 0x1_0000_0000n + 500n;
    rtc.poll();
    expect(irq.level).toBe(true);
  });
});

// ---------------------------------------------------------------- malicious chains

describe('virtio: malicious drivers', () => {
  let env: ReturnType<typeof setup>;
  let backend: MemoryBlockBackend;
  let snapshot: Uint8Array;
  const status = BUF + 0x8000n;

  beforeEach(() => {
    backend = new MemoryBlockBackend(16 * 512);
    env = setup(new VirtioBlk({ backend }), 8);
    env.drv.handshake();
  });

  /** Publishes `head`, notifies, and checks: broken, one precise line, a
   *  config-change interrupt, RAM unchanged, the queue halted. */
  function expectBroken(head: number, message: RegExp): void {
    const { ram, drv, dev, lines, irq } = env;
    lines.length = 0;
    drv.ack();
    drv.publish(head);
    snapshot = ram.bytes.slice();
    const writes = ram.writes;
    drv.notify();
    expect(dev.broken).toBe(true);
    expect(drv.r(0x070) & STATUS_DEVICE_NEEDS_RESET).toBe(STATUS_DEVICE_NEEDS_RESET);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^virtio2@0x10001000: queue 0: /);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toMatch(/device needs reset$/);
    expect(irq.level).toBe(true);
    expect(drv.r(0x060)).toBe(INT_CONFIG_CHANGE);
    expect(ram.writes).toBe(writes);
    expect(Buffer.compare(ram.bytes, snapshot)).toBe(0); // not one byte of RAM changed
    expect(ram.guardsIntact()).toBe(true);
    // the queue stays halted: another (good) request is not served, no new line
    const good = drv.chain([blkHeader(ram, BUF + 0x200n, 4, 0n), { addr: status, len: 1, write: true }]);
    drv.publish(good);
    drv.notify();
    expect(drv.used()).toEqual([]);
    expect(lines).toHaveLength(1);
    // a reset brings the device back
    drv.usedSeen = 0; drv.availIdx = 0; drv.nextDesc = 0;
    ram.w16(AVAIL + 2n, 0);
    ram.w16(USED + 2n, 0);
    drv.handshake();
    expect(dev.broken).toBe(false);
    expect(irq.level).toBe(false);
    const again = drv.chain([blkHeader(ram, BUF + 0x200n, 4, 0n), { addr: status, len: 1, write: true }]);
    drv.publish(again);
    drv.notify();
    expect(drv.used()).toEqual([{ id: again, len: 1 }]);
  }

  it('a descriptor loop', () => {
    const { drv, ram } = env;
    blkHeader(ram, BUF, 0, 0n);
    drv.desc(DESC, 0, BUF, 16, F.NEXT, 1);
    drv.desc(DESC, 1, BUF + 0x100n, 512, F.NEXT | F.WRITE, 2);
    drv.desc(DESC, 2, status, 1, F.NEXT | F.WRITE, 1);
    expectBroken(0, /descriptor loop: chain from descriptor 0 comes back to descriptor 1/);
  });

  it('a buffer outside RAM', () => {
    const { drv, ram } = env;
    const h = drv.chain([blkHeader(ram, BUF, 0, 0n), { addr: RAM_BASE + BigInt(RAM_SIZE) - 256n, len: 512, write: true }, { addr: status, len: 1, write: true }]);
    expectBroken(h, /descriptor 1: buffer at 0x800fff00, 512 bytes, is outside guest RAM/);
  });

  it('a buffer below RAM (the guard)', () => {
    const { drv, ram } = env;
    const h = drv.chain([blkHeader(ram, BUF, 0, 0n), { addr: RAM_BASE - 512n, len: 512, write: true }, { addr: status, len: 1, write: true }]);
    expectBroken(h, /descriptor 1: buffer at 0x7ffffe00, 512 bytes, is outside guest RAM/);
  });

  it('addr + len overflowing 64 bits', () => {
    const { drv, ram } = env;
    const h = drv.chain([blkHeader(ram, BUF, 0, 0n), { addr: 0xffff_ffff_ffff_ff00n, len: 0x1000, write: true }, { addr: status, len: 1, write: true }]);
    expectBroken(h, /descriptor 1: buffer at 0xffffffffffffff00 \+ 4096 bytes wraps around the address space/);
  });

  it('a chain longer than the queue size (through an indirect table)', () => {
    const { drv, ram } = env;
    const segs: Seg[] = [blkHeader(ram, BUF, 0, 0n)];
    for (let i = 0; i < 7; i++) segs.push({ addr: BUF + 0x1000n + BigInt(512 * i), len: 512, write: true });
    segs.push({ addr: status, len: 1, write: true }); // 9 descriptors, queue of 8
    const h = drv.indirect(BUF + 0x5000n, segs);
    expectBroken(h, /chain from descriptor 0 is longer than the queue size 8/);
  });

  it('an available index that jumps by more than the queue size', () => {
    const { drv, ram, dev, lines } = env;
    drv.chain([blkHeader(ram, BUF, 4, 0n), { addr: status, len: 1, write: true }]);
    snapshot = ram.bytes.slice();
    ram.w16(AVAIL + 2n, 9);
    snapshot = ram.bytes.slice();
    drv.notify();
    expect(dev.broken).toBe(true);
    expect(lines).toEqual(['virtio2@0x10001000: queue 0: available ring idx jumped from 0 to 9: 9 new entries in a queue of 8; device needs reset']);
    expect(Buffer.compare(ram.bytes, snapshot)).toBe(0); // not one byte of RAM changed
    expect(ram.guardsIntact()).toBe(true);
  });

  it('a next index beyond the queue size', () => {
    const { drv, ram } = env;
    blkHeader(ram, BUF, 0, 0n);
    drv.desc(DESC, 0, BUF, 16, F.NEXT, 8);
    expectBroken(0, /descriptor 0 has next 8, beyond the queue size 8/);
  });

  it('a head index beyond the queue size', () => {
    expectBroken(200, /available ring slot 0 names descriptor 200, beyond the queue size 8/);
  });

  it('an IN whose data buffer is device-readable', () => {
    const { drv, ram } = env;
    const h = drv.chain([blkHeader(ram, BUF, 0, 0n), { addr: BUF + 0x1000n, len: 512 }, { addr: status, len: 1, write: true }]);
    expectBroken(h, /virtio-blk request at descriptor 0: IN data buffer \(descriptor 1, at 0x80011000\) is device-readable/);
  });

  it('a device-readable descriptor after a device-writable one', () => {
    const { drv, ram } = env;
    const h = drv.chain([blkHeader(ram, BUF, 1, 0n), { addr: status, len: 1, write: true }, { addr: BUF + 0x1000n, len: 512 }]);
    expectBroken(h, /descriptor 2 \(at 0x80011000\) is device-readable but follows a device-writable one/);
  });

  it('no status byte; short header', () => {
    const { drv, ram } = env;
    const h = drv.chain([blkHeader(ram, BUF, 1, 0n), { addr: BUF + 0x1000n, len: 512 }]);
    expectBroken(h, /request at descriptor 0: no device-writable status byte/);
    const h2 = drv.chain([{ addr: BUF, len: 8 }, { addr: status, len: 1, write: true }]);
    expectBroken(h2, /header is 8 device-readable bytes, needs 16/);
  });

  it('nested indirect tables, and indirect with NEXT', () => {
    const { drv, ram } = env;
    const inner = BUF + 0x6000n;
    drv.desc(inner, 0, BUF, 16, 0, 0);
    const h = drv.indirect(BUF + 0x5000n, [{ addr: inner, len: 16 }]);
    ram.w16(BUF + 0x5000n + 12n, F.INDIRECT);
    expectBroken(h, /descriptor 0 of the indirect table of descriptor 0 is itself indirect/);
    const h2 = drv.indirect(BUF + 0x5000n, [blkHeader(ram, BUF, 4, 0n), { addr: status, len: 1, write: true }]);
    ram.w16(DESC + BigInt(16 * h2) + 12n, F.INDIRECT | F.NEXT);
    expectBroken(h2, /has both INDIRECT and NEXT set/);
  });

  it('a chain over the total length limit', () => {
    const { drv, ram, dev } = env;
    // Buffers may alias (only their sum is limited): 16 bytes + 6 x 1 MiB
    // against a limit lowered to 4 MiB.
    dev.queues[0].maxChainBytes = 4 << 20;
    const segs: Seg[] = [blkHeader(ram, BUF, 0, 0n)];
    for (let i = 0; i < 6; i++) segs.push({ addr: RAM_BASE, len: RAM_SIZE, write: true });
    const h = drv.indirect(BUF + 0x5000n, segs);
    expectBroken(h, /chain from descriptor 0 is 4194320\+ bytes long at descriptor 4 of the indirect table of descriptor 0, over the limit of 4194304/);
  });

  it('indirect descriptors when VIRTIO_F_INDIRECT_DESC was not negotiated', () => {
    const { drv, ram } = env;
    drv.w(0x070, 0);
    drv.handshake((f) => f & ~VIRTIO_F_INDIRECT_DESC);
    const h = drv.indirect(BUF + 0x5000n, [blkHeader(ram, BUF, 4, 0n), { addr: status, len: 1, write: true }]);
    expectBroken(h, /descriptor 0 is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated/);
  });

  it('rings outside RAM at QueueReady', () => {
    const { drv, dev, lines } = env;
    drv.w(0x070, 0);
    drv.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    drv.w(0x038, 8);
    drv.w(0x080, 0xffff_f000); drv.w(0x084, 0);
    drv.w(0x090, Number(AVAIL & 0xffff_ffffn));
    drv.w(0x0a0, Number(USED & 0xffff_ffffn));
    drv.w(0x044, 1);
    expect(drv.r(0x044)).toBe(0);
    expect(dev.broken).toBe(true);
    expect(lines).toEqual(['virtio2@0x10001000: queue 0: descriptor table at 0xfffff000, 128 bytes, is outside guest RAM; device needs reset']);
    drv.w(0x070, 0);
    drv.w(0x038, 3);
    drv.w(0x080, Number(DESC & 0xffff_ffffn));
    drv.w(0x044, 1);
    expect(lines[1]).toMatch(/queue 0: queue size 3 is not a power of 2 in 1..128/);
  });
});

// ---------------------------------------------------------------- virtio-rng

describe('VirtioRng', () => {
  it('fills device-writable buffers with random bytes', () => {
    let counter = 0;
    const rng = new VirtioRng({ random: (b) => { for (let i = 0; i < b.length; i++) b[i] = (counter++ * 13 + 1) & 0xff; } });
    const { ram, drv, irq } = setup(rng, 8);
    drv.handshake();
    expect(drv.r(0x008)).toBe(4);
    const h = drv.chain([{ addr: BUF, len: 40, write: true }, { addr: BUF + 0x100n, len: 24, write: true }]);
    drv.publish(h);
    drv.notify();
    expect(drv.used()).toEqual([{ id: h, len: 64 }]);
    expect(irq.level).toBe(true);
    expect(Array.from(ram.guestBytes(BUF, 4))).toEqual([1, 14, 27, 40]);
    expect(ram.bytes[ram.off(BUF + 0x100n)]).toBe((40 * 13 + 1) & 0xff);
    expect(ram.bytes[ram.off(BUF + 40n)]).toBe(0);
    expect(rng.bytesServed).toBe(64);
  });

  it('with crypto by default; a device-readable buffer breaks it', () => {
    const { ram, drv, dev, lines } = setup(new VirtioRng(), 8);
    drv.handshake();
    const h = drv.chain([{ addr: BUF, len: 4096, write: true }]);
    drv.publish(h);
    drv.notify();
    expect(drv.used()).toEqual([{ id: h, len: 4096 }]);
    const got = ram.guestBytes(BUF, 4096);
    expect(new Set(got).size).toBeGreaterThan(200);
    const bad = drv.chain([{ addr: BUF + 0x2000n, len: 16 }]);
    drv.publish(bad);
    drv.notify();
    expect(dev.broken).toBe(true);
    expect(lines).toEqual([
      'virtio4@0x10001000: queue 0: virtio-rng request at descriptor 1: descriptor 1 (at 0x80012000) is device-readable; entropy buffers must be device-writable; device needs reset',
    ]);
  });
});

describe('SifiveTest: the test finisher at 0x100000', () => {
  function finisher() {
    const finishes: Finish[] = [];
    const log: string[] = [];
    const dev = new SifiveTest({ onFinish: (f) => finishes.push(f), log: (l) => log.push(l) });
    return { dev, finishes, log };
  }

  it('sits where QEMU puts it and reads as 0', () => {
    const { dev } = finisher();
    expect([dev.base, dev.size]).toEqual([0x10_0000n, 0x1000n]);
    expect(dev.read(0, 4)).toBe(0n);
  });

  it('0x5555 passes, 0x3333 fails with the code in the high half, 0x7777 resets', () => {
    const { dev, finishes, log } = finisher();
    dev.write(0, 4, BigInt(FINISHER_PASS));
    dev.write(0, 4, (42n << 16n) | BigInt(FINISHER_FAIL));
    dev.write(0, 4, BigInt(FINISHER_RESET));
    expect(finishes).toEqual([{ kind: 'pass' }, { kind: 'fail', code: 42 }, { kind: 'reset' }]);
    expect([FINISHER_PASS, FINISHER_FAIL, FINISHER_RESET]).toEqual([0x5555, 0x3333, 0x7777]);
    expect(log).toEqual([]);
  });

  it('ignores other values and other offsets, and says so for a value', () => {
    const { dev, finishes, log } = finisher();
    dev.write(0, 4, 0x1234n);
    dev.write(4, 4, BigInt(FINISHER_PASS));
    expect(finishes).toEqual([]);
    expect(log).toEqual(['test: unknown finisher value 0x1234 ignored']);
    expect(dev.finished).toBeNull();
  });

  it('saves and restores what it recorded; a bad record is refused with what was wrong', () => {
    const { dev } = finisher();
    expect(dev.save()[1 + 11 + 4]).toBe(0); // nothing recorded
    dev.write(0, 4, (7n << 16n) | BigInt(FINISHER_FAIL));
    const saved = dev.save();
    const other = finisher().dev;
    other.restore(saved);
    expect(other.finished).toEqual({ kind: 'fail', code: 7 });
    expect(other.save()).toEqual(saved);
    const later = saved.slice(); later[1 + 11]++; // a version this release does not read
    expect(() => other.restore(later)).toThrow(CheckpointError);
    expect(() => other.restore(saved.subarray(0, saved.length - 1))).toThrow('sifive-test record: the exit code needs bytes');
    expect(other.finished).toEqual({ kind: 'fail', code: 7 });
  });
});

describe('the RTC follows the machine\'s clock', () => {
  // It read the host's Date.now() even on the virtual clock, so a boot's
  // instruction count depended on the host's date (the kernel turns the
  // RTC's time into fields at boot): test/system-boot's "deterministically"
  // test failed now and then.
  it('on the virtual clock: the virtual epoch at instruction 0, then the machine\'s own time', () => {
    const make = () => SystemVM.create({ kernel: new Uint8Array(64), memoryBytes: 64 * 1024 * 1024, maxInstructions: 5_000n });
    const a = make(), b = make();
    const rtcNow = (vm: SystemVM) => vm.bus.load(QEMU_VIRT.rtc.base, 8);
    expect(rtcNow(a)).toBe(VIRTUAL_EPOCH_NS);
    while (a.step() === undefined) { /* runs to the instruction limit */ }
    while (b.step() === undefined) { /* the same */ }
    expect(rtcNow(a)).toBeGreaterThan(VIRTUAL_EPOCH_NS);
    expect(rtcNow(a)).toBe(VIRTUAL_EPOCH_NS + a.time * 100n);
    expect(rtcNow(b)).toBe(rtcNow(a));
  });

  it('on the host clock: the host\'s wall time', () => {
    const vm = SystemVM.create({ kernel: new Uint8Array(64), memoryBytes: 64 * 1024 * 1024, clock: 'host' });
    const before = BigInt(Date.now()) * 1_000_000n;
    const t = vm.bus.load(QEMU_VIRT.rtc.base, 8)!;
    expect(t >= before && t <= BigInt(Date.now()) * 1_000_000n).toBe(true);
  });
});
