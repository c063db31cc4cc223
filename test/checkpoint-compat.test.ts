// Checkpoints written by this release must restore in every later one:
// test/golden/checkpoint-v1.bin is a checkpoint as this release writes it
// (the container, format 1, with the records, version 1, of a small
// machine's devices and its clock, and some RAM compressed). Every later
// release must read it and restore each part from it. And what this
// release writes for the same machine must be the same sections, so that
// a record whose layout changes without a new version shows up here.
// The file was made once with RINGVISOR_UPDATE_GOLDEN=1 (which writes it
// only where there is none) and is never rewritten: a new format or record
// version adds checkpoint-v<N>.bin, and this file's tests stay.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readCheckpoint, writeCheckpoint, type MachineId, type Section } from '../src/hypervisor/checkpoint-file.js';
import {
  LatchedIrq, Plic, Uart16550, GoldfishRtc, SifiveTest, VirtioMmio, VirtioBlk, MemoryBlockBackend, FINISHER_FAIL,
  STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_FEATURES_OK, STATUS_DRIVER_OK, type GuestMemory,
} from '../src/system/devices/index.js';
import { GuestClock } from '../src/system/guest-clock.js';

const golden = new URL('./golden/checkpoint-v1.bin', import.meta.url).pathname;
const machine: MachineId = { kind: 'system', fingerprint: new TextEncoder().encode('ringvisor-compat-test') };
const RAM_BASE = 0x8000_0000n;
const NOW = 1_700_000_000_000_000_000n;

function ram(bytes = new Uint8Array(64 * 1024)): GuestMemory & { bytes: Uint8Array } {
  return {
    bytes,
    inRam: (a, n) => a >= RAM_BASE && a - RAM_BASE + BigInt(n) <= BigInt(bytes.length),
    guestBytes: (a, n) => bytes.subarray(Number(a - RAM_BASE), Number(a - RAM_BASE) + n),
  };
}

/** The parts of a small machine, fresh. */
function parts(mem = ram()) {
  return {
    mem,
    uart: new Uart16550({ irq: new LatchedIrq(), output: () => {} }),
    plic: new Plic({ sources: 33, contexts: 2 }),
    rtc: new GoldfishRtc({ irq: new LatchedIrq(), nowNs: () => NOW }),
    test: new SifiveTest({ onFinish: () => {} }),
    blk: new VirtioMmio({
      base: 0x1000_1000n, irq: new LatchedIrq(), mem, log: () => {},
      device: new VirtioBlk({ backend: new MemoryBlockBackend(8 * 512), queueSize: 8 }),
    }),
    clock: new GuestClock('virtual', () => 0n),
  };
}

/** The same machine, driven into a state with something in every record. */
function busyMachine() {
  const p = parts();
  const u = (o: number, v: number) => p.uart.write(o, 1, BigInt(v));
  u(2, 0xc1); u(1, 0x05); u(7, 0x42); p.uart.input('pending input, longer than the sixteen-byte FIFO');
  for (let s = 1; s < 33; s++) p.plic.write(4 * s, 4, BigInt(s % 8));
  p.plic.write(0x2080, 4, 0xffff_fffen); p.plic.write(0x201000, 4, 2n);
  for (const s of [1, 10, 20]) p.plic.line(s).set(true);
  p.plic.read(0x201004, 4);
  p.rtc.write(0x04, 4, 0x11n); p.rtc.write(0x00, 4, 0x2222n); p.rtc.write(0x10, 4, 1n); p.rtc.write(0x0c, 4, 0x7fn); p.rtc.write(0x08, 4, 5n);
  p.test.write(0, 4, (3n << 16n) | BigInt(FINISHER_FAIL));
  const w = (o: number, v: bigint) => p.blk.write(o, 4, v);
  w(0x070, BigInt(STATUS_ACKNOWLEDGE | STATUS_DRIVER));
  w(0x024, 1n); w(0x020, 1n); w(0x024, 0n); w(0x020, 0n);
  w(0x070, BigInt(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK));
  w(0x038, 8n); w(0x080, RAM_BASE + 0x1000n); w(0x090, RAM_BASE + 0x2000n); w(0x0a0, RAM_BASE + 0x3000n); w(0x044, 1n);
  w(0x070, BigInt(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK));
  const v = new DataView(p.mem.bytes.buffer);
  // One GET_ID request: header, 20 bytes, status.
  v.setUint32(0x4000, 8, true);
  const desc = (i: number, addr: bigint, len: number, flags: number, next: number) => {
    v.setBigUint64(0x1000 + 16 * i, addr, true); v.setUint32(0x1000 + 16 * i + 8, len, true);
    v.setUint16(0x1000 + 16 * i + 12, flags, true); v.setUint16(0x1000 + 16 * i + 14, next, true);
  };
  desc(0, RAM_BASE + 0x4000n, 16, 1, 1); desc(1, RAM_BASE + 0x4100n, 20, 3, 2); desc(2, RAM_BASE + 0x4200n, 1, 2, 0);
  v.setUint16(0x2004, 0, true); v.setUint16(0x2002, 1, true);
  w(0x050, 0n);
  p.clock.nextRound(100_000n); p.clock.skip(99_999n - p.clock.time());
  return p;
}

function sectionsOf(p: ReturnType<typeof parts>): Section[] {
  return [
    { name: 'uart0', version: 1, payload: p.uart.save() },
    { name: 'plic', version: 1, payload: p.plic.save() },
    { name: 'rtc', version: 1, payload: p.rtc.save() },
    { name: 'test', version: 1, payload: p.test.save() },
    { name: 'virtio-blk0', version: 1, payload: p.blk.save() },
    { name: 'guest-clock', version: 1, payload: p.clock.save() },
    { name: 'ram', version: 1, payload: p.mem.bytes, compress: true },
  ];
}

if (process.env.RINGVISOR_UPDATE_GOLDEN === '1' && !existsSync(golden)) writeFileSync(golden, writeCheckpoint(machine, sectionsOf(busyMachine())));

describe('checkpoints of this release restore in later ones', () => {
  it('the committed checkpoint reads, and every part restores from it', () => {
    expect(existsSync(golden)).toBe(true);
    const file = readCheckpoint(new Uint8Array(readFileSync(golden)), { machine });
    expect(file.formatVersion).toBe(1);
    const s = new Map(file.sections.map((x) => [x.name, x.payload]));
    const p = parts(ram(s.get('ram')!.slice()));
    p.uart.restore(s.get('uart0')!);
    p.plic.restore(s.get('plic')!);
    p.rtc.restore(s.get('rtc')!);
    p.test.restore(s.get('test')!);
    p.blk.restore(s.get('virtio-blk0')!);
    p.clock.restore(s.get('guest-clock')!);
    expect(p.uart.pendingInput).toBeGreaterThan(16);
    expect(p.test.finished).toEqual({ kind: 'fail', code: 3 });
    expect(p.blk.queues[0].lastAvail).toBe(1);
    expect(p.blk.read(0x070, 4)).toBe(BigInt(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK));
    expect(p.clock.time()).toBe(99_999n);
    expect(p.rtc.guestNowNs()).toBe(0x11_0000_2222n);
  });

  it('this release writes the same sections for the same machine (a changed record needs a new version)', () => {
    const now = readCheckpoint(writeCheckpoint(machine, sectionsOf(busyMachine())), { machine });
    const then = readCheckpoint(new Uint8Array(readFileSync(golden)), { machine });
    expect(now.sections.map((x) => [x.name, x.version, x.compress, x.required, Buffer.from(x.payload).toString('hex')]))
      .toEqual(then.sections.map((x) => [x.name, x.version, x.compress, x.required, Buffer.from(x.payload).toString('hex')]));
  });
});
