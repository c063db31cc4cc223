// Save and restore of the system VM's devices (src/system/devices/): each
// device is driven into a non-trivial state through its registers (the
// virtio ones through a virtqueue in guest memory, with requests still
// waiting in the available ring), saved, and restored into a fresh
// instance; then both are driven by the same long random sequence of
// register reads and writes (and inputs, interrupt lines, clock steps,
// notifications) and must answer it identically, byte for byte, down to
// their interrupt lines, guest memory and disks. A truncated or corrupted
// record is refused with a CheckpointError and leaves the fresh device as
// it was.
import { describe, expect, it } from 'vitest';
import {
  LatchedIrq, Plic, Uart16550, GoldfishRtc, SifiveTest, VirtioMmio, VirtioBlk, VirtioRng, MemoryBlockBackend, Virtqueue,
  STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_FEATURES_OK, STATUS_DRIVER_OK, FINISHER_FAIL, FINISHER_PASS,
  type AccessSize, type GuestMemory, type Finish,
} from '../src/system/devices/index.js';
import { CheckpointError } from '../src/hypervisor/checkpoint-file.js';
import { RecordWriter } from '../src/hypervisor/persist.js';
import { GuestClock } from '../src/system/guest-clock.js';
import { HartScheduler, QUANTUM } from '../src/system/hart-scheduler.js';
import { HartState } from '../src/system/sbi.js';
import { Cpu, ExitControl, MemoryMode } from '../src/cpu/cpu.js';
import { defaultCpuModule } from '../src/cpu/module-registry.js';
import '../src/index.js'; // registers the CPU module
import { Rng } from './support/prng.js';

// ---------------------------------------------------------------- helpers

interface Saveable { save(): Uint8Array; restore(record: Uint8Array): void }

/** A record bent every way a file can be: each truncation, a byte more, a
 *  bumped version, another tag, every byte flipped. Truncations and the
 *  first three must be refused; a flipped byte may be a valid other state,
 *  but if it is refused it is with a CheckpointError. Either way a refused
 *  record leaves the device as it was. */
function expectBadRecordsRefused(record: Uint8Array, fresh: () => Saveable & { irqLevel?: () => boolean }): void {
  const tagLength = record[0];
  const bent: [Uint8Array, boolean][] = [];
  for (let n = 0; n < record.length; n++) bent.push([record.subarray(0, n), true]);
  bent.push([Uint8Array.of(...record, 0), true]);
  const v = record.slice(); v[1 + tagLength]++; bent.push([v, true]);
  const t = record.slice(); t[1] ^= 0x20; bent.push([t, true]);
  for (let i = 0; i < record.length; i++) { const b = record.slice(); b[i] ^= 0xff; bent.push([b, false]); }
  for (const [bytes, mustFail] of bent) {
    const dev = fresh();
    const before = dev.save();
    const level = dev.irqLevel?.();
    let failed = false;
    try {
      dev.restore(bytes);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw new Error(`restore threw ${String(e)}, not a CheckpointError`);
      failed = true;
      expect(dev.save()).toEqual(before);
      expect(dev.irqLevel?.()).toBe(level);
    }
    if (mustFail) expect(failed).toBe(true);
  }
}

type Op = (which: 0 | 1) => unknown;

/** Runs the same operations on both sides and requires the same answers. */
function expectSameAnswers(ops: Op[], state: (which: 0 | 1) => unknown): void {
  for (let i = 0; i < ops.length; i++) {
    const a = ops[i](0), b = ops[i](1);
    if (a !== b) expect({ op: i, answer: b }).toEqual({ op: i, answer: a });
  }
  expect(state(1)).toEqual(state(0));
}

// ---------------------------------------------------------------- UART

describe('Uart16550 save/restore', () => {
  function uart() {
    const irq = new LatchedIrq();
    const out: number[] = [];
    const dev = new Uart16550({ irq, output: (b) => out.push(...b) });
    return { dev, irq, out };
  }

  function busy() {
    const u = uart();
    const w = (o: number, v: number) => u.dev.write(o, 1, BigInt(v));
    w(3, 0x83); w(0, 0x0c); w(1, 0x00); w(3, 0x03); // 9600 baud, 8N1
    w(2, 0x81); // FIFO on, trigger 8
    w(1, 0x0f); w(4, 0x0b); w(7, 0x5a);
    u.dev.input('the quick brown fox jumps over the lazy dog');
    u.dev.sendBreak();
    u.dev.read(0, 1); u.dev.read(0, 1); u.dev.read(2, 1);
    w(0, 0x41);
    return u;
  }

  it('a restored UART answers a random sequence as the saved one does', () => {
    const a = busy();
    const record = a.dev.save();
    const b = uart();
    b.dev.restore(record);
    expect(b.irq.level).toBe(a.irq.level);
    expect(b.dev.save()).toEqual(record);
    expect(b.dev.pendingInput).toBe(a.dev.pendingInput);
    const rng = new Rng('uart');
    const sides = [a, b];
    const ops: Op[] = [];
    for (let i = 0; i < 3000; i++) {
      const k = rng.int(20), o = rng.int(9), v = rng.int(256);
      if (k < 10) ops.push((s) => sides[s].dev.read(o, 1));
      else if (k < 18) ops.push((s) => { sides[s].dev.write(o, 1, BigInt(o === 2 ? v & 0xc7 : v)); return sides[s].irq.level; });
      else if (k < 19) ops.push((s) => { sides[s].dev.input(`in${i}`); return sides[s].dev.pendingInput; });
      else ops.push((s) => { sides[s].dev.sendBreak(); return sides[s].irq.level; });
    }
    const outBefore = a.out.length;
    expectSameAnswers(ops, (s) => ({ out: sides[s].out.slice(s === 0 ? outBefore : 0), save: sides[s].dev.save(), irq: sides[s].irq.level }));
    expect(a.out.length).toBeGreaterThan(outBefore);
  });

  it('a truncated or corrupted record is refused and changes nothing', () => {
    expectBadRecordsRefused(busy().dev.save(), () => { const u = uart(); return Object.assign(u.dev, { irqLevel: () => u.irq.level }); });
  });

  it('names what is wrong in a record that is whole but impossible', () => {
    const rec = busy().dev.save();
    const bad = rec.slice(); bad[1 + 9 + 4 + 10] = 3; // the trigger level
    expect(() => uart().dev.restore(bad)).toThrow(/uart16550 record: trigger level 3 is not one of 1, 4, 8, 14/);
  });
});

// ---------------------------------------------------------------- PLIC

describe('Plic save/restore', () => {
  function plic() {
    const changes: string[] = [];
    const dev = new Plic({ sources: 40, contexts: 4, onContextChange: (c, p) => changes.push(`${c}:${p}`) });
    return { dev, changes };
  }
  const CTX = 0x200000;

  function busy() {
    const p = plic();
    const w = (o: number, v: number) => p.dev.write(o, 4, BigInt(v));
    for (let s = 1; s < 40; s++) w(4 * s, (s * 3) % 8);
    w(0x2000, 0xffff_fffe); w(0x2004, 0xff); w(0x2080, 0x0000_f0f0); w(0x2100 + 4, 0x3);
    w(CTX, 1); w(CTX + 0x1000, 2); w(CTX + 0x2000, 0);
    for (const s of [3, 5, 9, 33, 34, 37]) p.dev.line(s).set(true);
    p.dev.read(CTX + 4, 4); // claims one
    p.dev.line(5).set(false);
    return p;
  }

  it('a restored PLIC answers a random sequence as the saved one does, its outputs reported', () => {
    const a = busy();
    const record = a.dev.save();
    const b = plic();
    b.dev.restore(record);
    expect(b.changes).toEqual([0, 1, 2, 3].map((c) => `${c}:${a.dev.contextPending(c)}`));
    expect(b.dev.save()).toEqual(record);
    a.changes.length = 0; b.changes.length = 0;
    const rng = new Rng('plic');
    const sides = [a, b];
    const ops: Op[] = [];
    for (let i = 0; i < 4000; i++) {
      const c = rng.int(4), s = rng.range(1, 39), v = rng.u32(), word = rng.int(2);
      switch (rng.int(8)) {
        case 0: ops.push((x) => sides[x].dev.read(4 * s, 4)); break;
        case 1: ops.push((x) => { sides[x].dev.write(4 * s, 4, BigInt(v & 7)); }); break;
        case 2: ops.push((x) => { sides[x].dev.write(0x2000 + 0x80 * c + 4 * word, 4, BigInt(v)); }); break;
        case 3: ops.push((x) => { sides[x].dev.write(CTX + 0x1000 * c, 4, BigInt(v & 7)); }); break;
        case 4: ops.push((x) => sides[x].dev.read(CTX + 0x1000 * c + 4, 4)); break;
        case 5: ops.push((x) => { sides[x].dev.write(CTX + 0x1000 * c + 4, 4, BigInt(s)); }); break;
        case 6: { const lv = rng.int(2) === 0; ops.push((x) => { sides[x].dev.line(s).set(lv); }); break; }
        default: ops.push((x) => sides[x].dev.read(0x1000 + 4 * word, 4));
      }
    }
    expectSameAnswers(ops, (x) => ({ save: sides[x].dev.save(), changes: sides[x].changes }));
    expect(a.changes.length).toBeGreaterThan(10);
  });

  it('a truncated or corrupted record is refused and changes nothing; another shape is refused by name', () => {
    const rec = busy().dev.save();
    expectBadRecordsRefused(rec, () => plic().dev);
    expect(() => new Plic({ sources: 40, contexts: 2 }).restore(rec)).toThrow(/plic record: the record is of a PLIC with 40 sources and 4 contexts, this one has 40 and 2/);
  });
});

// ---------------------------------------------------------------- RTC

describe('GoldfishRtc save/restore', () => {
  let now = 1_700_000_000_000_000_000n;
  function rtc() {
    const irq = new LatchedIrq();
    return { dev: new GoldfishRtc({ irq, nowNs: () => now }), irq };
  }
  function busy() {
    const r = rtc();
    const w = (o: number, v: number) => r.dev.write(o, 4, BigInt(v));
    w(0x04, 0x1234); w(0x00, 0x5678_9abc); // the guest sets its clock
    w(0x10, 1);
    w(0x0c, 0x1234); w(0x08, 0x6000_0000); // an alarm ahead
    r.dev.read(0x00, 4); // latches TIME_HIGH
    return r;
  }

  it('a restored RTC answers a random sequence as the saved one does (the clock injected, not saved)', () => {
    const a = busy();
    const record = a.dev.save();
    const b = rtc();
    b.dev.restore(record);
    expect(b.dev.save()).toEqual(record);
    expect(b.dev.guestNowNs()).toBe(a.dev.guestNowNs());
    expect(b.dev.nextAlarmHostNs()).toBe(a.dev.nextAlarmHostNs());
    const rng = new Rng('rtc');
    const sides = [a, b];
    const ops: Op[] = [];
    let fired = 0;
    for (let i = 0; i < 3000; i++) {
      const o = 4 * rng.int(8), v = rng.u32(), k = rng.int(10);
      if (k < 5) ops.push((x) => sides[x].dev.read(o, 4));
      else if (k < 8) ops.push((x) => { sides[x].dev.write(o, 4, BigInt(o === 0 ? v & 0xff : v)); return sides[x].irq.level; });
      else if (k < 9) { const step = BigInt(rng.int(1 << 30)) * 16n; ops.push((x) => { if (x === 0) now += step; return 0; }); }
      else ops.push((x) => { sides[x].dev.poll(); if (x === 0 && sides[0].dev.interruptPending) fired++; return sides[x].irq.level; });
    }
    expectSameAnswers(ops, (x) => ({ save: sides[x].dev.save(), irq: sides[x].irq.level }));
    expect(fired).toBeGreaterThan(0);
  });

  it('a truncated or corrupted record is refused and changes nothing', () => {
    expectBadRecordsRefused(busy().dev.save(), () => { const r = rtc(); return Object.assign(r.dev, { irqLevel: () => r.irq.level }); });
  });
});

// ---------------------------------------------------------------- test finisher

describe('SifiveTest save/restore', () => {
  function finisher() {
    const finishes: Finish[] = [];
    return { dev: new SifiveTest({ onFinish: (f) => finishes.push(f) }), finishes };
  }

  it('keeps what the guest wrote, and answers later writes the same', () => {
    const a = finisher();
    expect(Array.from(a.dev.save())).toEqual([11, ...new TextEncoder().encode('sifive-test'), 1, 0, 0, 0, 0]);
    a.dev.write(0, 4, (7n << 16n) | BigInt(FINISHER_FAIL));
    const b = finisher();
    b.dev.restore(a.dev.save());
    expect(b.dev.finished).toEqual({ kind: 'fail', code: 7 });
    for (const v of [0x1234n, BigInt(FINISHER_PASS), 0x7777n, (0xffffn << 16n) | BigInt(FINISHER_FAIL)]) {
      a.dev.write(0, 4, v); b.dev.write(0, 4, v);
      expect(b.dev.save()).toEqual(a.dev.save());
    }
    expect(b.finishes).toEqual(a.finishes.slice(1));
  });

  it('a truncated or corrupted record is refused and changes nothing', () => {
    const a = finisher();
    a.dev.write(0, 4, (0x1234n << 16n) | BigInt(FINISHER_FAIL));
    expectBadRecordsRefused(a.dev.save(), () => finisher().dev);
    const bad = a.dev.save(); bad[1 + 11 + 4] = 9;
    expect(() => finisher().dev.restore(bad)).toThrow(/sifive-test record: finish 9 is not one the device records/);
  });
});

// ---------------------------------------------------------------- virtio

const RAM_BASE = 0x8000_0000n;
const RAM_SIZE = 256 * 1024;
const DESC = RAM_BASE + 0x1000n, AVAIL = RAM_BASE + 0x2000n, USED = RAM_BASE + 0x3000n, BUF = RAM_BASE + 0x10000n;
const QSIZE = 16;

class Ram implements GuestMemory {
  readonly view: DataView;
  constructor(readonly bytes = new Uint8Array(RAM_SIZE)) { this.view = new DataView(bytes.buffer); }
  inRam(addr: bigint, length: number): boolean {
    const off = addr - RAM_BASE;
    return length >= 0 && off >= 0n && off + BigInt(length) <= BigInt(RAM_SIZE);
  }
  guestBytes(addr: bigint, length: number): Uint8Array {
    if (!this.inRam(addr, length)) throw new Error('outside RAM');
    const o = Number(addr - RAM_BASE);
    return this.bytes.subarray(o, o + length);
  }
  o(a: bigint): number { return Number(a - RAM_BASE); }
}

/** A driver with its own bookkeeping, in the guest (so it is copied with RAM). */
class Driver {
  avail = 0;
  next = 0;
  constructor(readonly dev: VirtioMmio, readonly ram: Ram) {}
  w(o: number, v: number | bigint): void { this.dev.write(o, 4, BigInt(v) & 0xffff_ffffn); }
  r(o: number): number { return Number(this.dev.read(o, 4)); }
  handshake(): void {
    this.w(0x070, 0);
    this.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    this.w(0x024, 1); this.w(0x020, 1); // VIRTIO_F_VERSION_1
    this.w(0x024, 0); this.w(0x020, 1 << 28); // INDIRECT_DESC
    this.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    this.w(0x030, 0); this.w(0x038, QSIZE);
    this.w(0x080, DESC); this.w(0x084, DESC >> 32n);
    this.w(0x090, AVAIL); this.w(0x094, AVAIL >> 32n);
    this.w(0x0a0, USED); this.w(0x0a4, USED >> 32n);
    this.w(0x044, 1);
    this.w(0x070, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  }
  /** Writes a chain of (addr, len, writable) into free descriptors and makes it available. */
  offer(segs: [bigint, number, boolean][]): void {
    const v = this.ram.view;
    const head = this.next;
    segs.forEach(([addr, len, wr], k) => {
      const i = (head + k) % QSIZE, last = k === segs.length - 1;
      const d = this.ram.o(DESC) + 16 * i;
      v.setBigUint64(d, addr, true); v.setUint32(d + 8, len, true);
      v.setUint16(d + 12, (wr ? 2 : 0) | (last ? 0 : 1), true); v.setUint16(d + 14, last ? 0 : (i + 1) % QSIZE, true);
    });
    this.next = (head + segs.length) % QSIZE;
    v.setUint16(this.ram.o(AVAIL) + 4 + 2 * (this.avail % QSIZE), head, true);
    this.avail = (this.avail + 1) & 0xffff;
    v.setUint16(this.ram.o(AVAIL) + 2, this.avail, true);
  }
  usedIdx(): number { return this.ram.view.getUint16(this.ram.o(USED) + 2, true); }
}

function blkRequest(drv: Driver, slot: number, type: number, sector: bigint, sectors: number): void {
  const v = drv.ram.view;
  const h = BUF + BigInt(slot * 0x2000);
  v.setUint32(drv.ram.o(h), type, true); v.setUint32(drv.ram.o(h) + 4, 0, true); v.setBigUint64(drv.ram.o(h) + 8, sector, true);
  const data = h + 0x100n, status = h + 0x1f00n;
  if (type === 1) for (let i = 0; i < 512 * sectors; i++) v.setUint8(drv.ram.o(data) + i, (i * 31 + slot) & 0xff);
  drv.offer([[h, 16, false], [data, 512 * sectors, type !== 1], [status, 1, true]]);
}

describe('VirtioMmio with virtio-blk save/restore', () => {
  const SECTORS = 64;
  function machine(ram = new Ram(), disk = new MemoryBlockBackend(SECTORS * 512)) {
    const irq = new LatchedIrq();
    const lines: string[] = [];
    const blk = new VirtioBlk({ backend: disk, queueSize: QSIZE });
    const dev = new VirtioMmio({ base: 0x1000_1000n, irq, mem: ram, device: blk, log: (l) => lines.push(l) });
    return { ram, disk, irq, dev, blk, lines, drv: new Driver(dev, ram) };
  }

  /** Requests served, one more made available but not yet notified: a
   *  queue saved mid-flight. */
  function busy() {
    const m = machine();
    for (let i = 0; i < m.disk.bytes.length; i++) m.disk.bytes[i] = (i * 7) & 0xff;
    m.drv.handshake();
    blkRequest(m.drv, 0, 1, 3n, 2); // OUT
    blkRequest(m.drv, 1, 0, 0n, 4); // IN
    blkRequest(m.drv, 2, 8, 0n, 1); // GET_ID
    m.drv.w(0x050, 0);
    expect(m.drv.usedIdx()).toBe(3);
    blkRequest(m.drv, 3, 0, 3n, 2); // waiting in the available ring
    return m;
  }

  function restoredCopy(a: ReturnType<typeof busy>) {
    const b = machine(new Ram(a.ram.bytes.slice()), new MemoryBlockBackend(a.disk.bytes.slice()));
    b.drv.avail = a.drv.avail; b.drv.next = a.drv.next;
    b.dev.restore(a.dev.save());
    return b;
  }

  it('a queue saved mid-flight goes on where it was, and both answer the same from then on', () => {
    const a = busy();
    const b = restoredCopy(a);
    expect(b.dev.save()).toEqual(a.dev.save());
    expect(b.irq.level).toBe(a.irq.level);
    expect(b.dev.queues[0].lastAvail).toBe(3);
    const rng = new Rng('virtio-blk');
    const sides = [a, b];
    const ops: Op[] = [];
    let slot = 0;
    ops.push((x) => { sides[x].drv.w(0x050, 0); return sides[x].drv.usedIdx(); }); // the waiting request
    for (let i = 0; i < 400; i++) {
      const k = rng.int(10);
      if (k < 4) {
        const type = rng.pick([0, 1, 4, 8, 99]), sector = BigInt(rng.int(SECTORS + 2)), n = rng.range(1, 3), s = slot++ % 6;
        ops.push((x) => { blkRequest(sides[x].drv, s, type, sector, n); sides[x].drv.w(0x050, 0); return sides[x].drv.usedIdx(); });
      } else if (k < 6) ops.push((x) => { sides[x].drv.w(0x050, 0); return sides[x].drv.usedIdx(); });
      else if (k < 7) ops.push((x) => { const s = sides[x].drv.r(0x060); sides[x].drv.w(0x064, s); return s; });
      else {
        const o = rng.pick([0x000, 0x008, 0x010, 0x034, 0x038, 0x044, 0x060, 0x070, 0x0fc, 0x100, 0x108, 0x114]);
        ops.push((x) => sides[x].drv.r(o));
      }
    }
    expectSameAnswers(ops, (x) => ({
      save: sides[x].dev.save(), irq: sides[x].irq.level, ram: sides[x].ram.bytes, disk: sides[x].disk.bytes, lines: sides[x].lines,
      counts: sides[x].blk.counts,
    }));
    expect(a.lines).toEqual([]);
    expect(a.blk.counts.out).toBeGreaterThan(10);
    expect(a.blk.counts.ioErrors).toBeGreaterThan(0);
    expect(a.drv.usedIdx()).toBeGreaterThan(100);
  });

  it('a truncated or corrupted record is refused and changes nothing (the device model\'s part included)', () => {
    const rec = busy().dev.save();
    expectBadRecordsRefused(rec, () => { const m = machine(); return Object.assign(m.dev, { irqLevel: () => m.irq.level }); });
  });

  it('a record of another disk, device or queue layout is refused by name', () => {
    const rec = busy().dev.save();
    const other = machine(new Ram(), new MemoryBlockBackend(SECTORS * 1024));
    expect(() => other.dev.restore(rec)).toThrow(/virtio-blk record: the record is of a writable disk of 64 sectors with a queue of 16, this one is writable with 128 sectors/);
    const rng = new VirtioMmio({ base: 0x1000_2000n, irq: new LatchedIrq(), mem: new Ram(), device: new VirtioRng({ queueSize: QSIZE }) });
    expect(() => rng.restore(rec)).toThrow(/virtio-mmio record: the record is of device 2 with 1 queues, this is device 4 with 1/);
    // A ready queue whose rings are outside this guest's RAM.
    const q = new Virtqueue(new Ram(), 0, QSIZE);
    const small = new Virtqueue({ inRam: () => false, guestBytes: () => new Uint8Array(0) }, 0, QSIZE);
    q.size = QSIZE; q.descAddr = DESC; q.driverAddr = AVAIL; q.deviceAddr = USED; q.validate(); q.ready = true;
    expect(() => small.restore(q.save())).toThrow(/virtqueue record: queue 0 is ready with a configuration QueueReady refuses: descriptor table .* is outside guest RAM/);
  });
});

describe('VirtioMmio with virtio-rng save/restore', () => {
  function machine(ram = new Ram(), start = 0) {
    let counter = start;
    const irq = new LatchedIrq();
    const rng = new VirtioRng({ queueSize: QSIZE, random: (b) => { for (let i = 0; i < b.length; i++) b[i] = (counter++ * 13) & 0xff; } });
    const dev = new VirtioMmio({ base: 0x1000_2000n, irq, mem: ram, device: rng, log: () => {} });
    return { ram, irq, dev, rng, drv: new Driver(dev, ram), counter: () => counter };
  }

  it('a restored entropy device answers the same (the random source injected, not saved)', () => {
    const a = machine();
    a.drv.handshake();
    a.drv.offer([[BUF, 100, true]]);
    a.drv.w(0x050, 0);
    a.drv.offer([[BUF + 0x100n, 50, true], [BUF + 0x200n, 20, true]]);
    const b = machine(new Ram(a.ram.bytes.slice()), a.counter());
    b.drv.avail = a.drv.avail; b.drv.next = a.drv.next;
    b.dev.restore(a.dev.save());
    expect(b.rng.bytesServed).toBe(100);
    const sides = [a, b];
    const ops: Op[] = [];
    for (let i = 0; i < 60; i++) {
      ops.push((x) => { sides[x].drv.w(0x050, 0); return sides[x].drv.usedIdx(); });
      ops.push((x) => { const s = sides[x].drv.r(0x060); sides[x].drv.w(0x064, s); return s; });
      ops.push((x) => { sides[x].drv.offer([[BUF + BigInt(0x400 + 0x100 * (i % 8)), 1 + i, true]]); return 0; });
    }
    expectSameAnswers(ops, (x) => ({ save: sides[x].dev.save(), ram: sides[x].ram.bytes, served: sides[x].rng.bytesServed }));
    expect(a.rng.bytesServed).toBeGreaterThan(1000);
  });

  it('a truncated or corrupted record is refused and changes nothing', () => {
    const a = machine();
    a.drv.handshake();
    a.drv.offer([[BUF, 100, true]]);
    a.drv.w(0x050, 0);
    expectBadRecordsRefused(a.dev.save(), () => { const m = machine(); return Object.assign(m.dev, { irqLevel: () => m.irq.level }); });
  });
});

// Unused-import guard for AccessSize (the type documents the ops' sizes).
export type { AccessSize };

// ---------------------------------------------------------------- the guest clock and the hart scheduler

describe('GuestClock save/restore', () => {
  it('a restored virtual clock answers as the saved one does', () => {
    const used = [0n, 0n];
    const a = new GuestClock('virtual', () => used[0]);
    a.nextRound(QUANTUM); a.skip(123_456n); a.nextRound(QUANTUM);
    const b = new GuestClock('virtual', () => used[1]);
    b.restore(a.save());
    const rng = new Rng('clock');
    const sides = [a, b];
    const ops: Op[] = [];
    for (let i = 0; i < 500; i++) {
      const n = BigInt(rng.int(100_000)), by = BigInt(rng.int(1 << 30));
      // (Rounds and jumps come between turns, when the scheduler's count is 0.)
      switch (rng.int(4)) {
        case 0: ops.push((x) => { used[x] = n; return sides[x].time(); }); break;
        case 1: ops.push((x) => { used[x] = n; return sides[x].wallClockNs(); }); break;
        case 2: ops.push((x) => { used[x] = 0n; sides[x].nextRound(QUANTUM); return sides[x].time(); }); break;
        default: ops.push((x) => { used[x] = 0n; sides[x].skip(by); return sides[x].time(); });
      }
    }
    expectSameAnswers(ops, (x) => sides[x].save());
  });

  it('a restored host clock goes on from where the saved one was', () => {
    const a = new GuestClock('host', () => 0n);
    const b = new GuestClock('host', () => 0n);
    const rec = new RecordWriter('guest-clock', 1).bool(true).u64(0n).u64(50_000_000n).finish(); // 5000 s in
    b.restore(rec);
    expect(b.time()).toBeGreaterThanOrEqual(50_000_000n);
    expect(b.time()).toBeLessThan(50_000_000n + 10_000_000n);
    expect(a.time()).toBeLessThan(50_000_000n);
    // Its own record says where it was, and a clock restored from it goes on from there.
    const c = new GuestClock('host', () => 0n);
    c.restore(b.save());
    expect(c.time()).toBeGreaterThanOrEqual(50_000_000n);
  });

  it('a record of the other kind, truncated or corrupted, is refused and changes nothing', () => {
    const a = new GuestClock('virtual', () => 0n);
    a.skip(77n);
    expectBadRecordsRefused(a.save(), () => new GuestClock('virtual', () => 0n));
    expect(() => new GuestClock('host', () => 0n).restore(a.save())).toThrow(/guest-clock record: the record is of a virtual clock, this one is host/);
  });
});

describe('HartScheduler save/restore', () => {
  const SIE_ALL = (1n << 1n) | (1n << 5n) | (1n << 9n);
  function machine(harts = 3) {
    const cpu = new Cpu(defaultCpuModule());
    cpu.configureRam(RAM_BASE, 1n << 20n);
    cpu.memoryMode = MemoryMode.Flat;
    cpu.exitControls = ExitControl.Supervisor | ExitControl.EcallS;
    const sched = new HartScheduler(cpu, 'virtual', harts);
    return { cpu, clock: sched.clock, sched };
  }

  function busy() {
    const m = machine();
    m.cpu.setCsr('sie', SIE_ALL);
    m.sched.startHart(1, RAM_BASE + 0x1000n, 11n);
    m.sched.startHart(2, RAM_BASE + 0x2000n, 22n);
    m.sched.setTimer(0, 5_000n);
    m.sched.beginSlice(); m.sched.ran(30_000n);
    m.sched.waitForInterrupt();
    m.sched.next(); // hart 1
    m.cpu.setCsr('sie', SIE_ALL);
    m.sched.setTimer(1, 1_000_000n);
    m.sched.suspendHart({ addr: RAM_BASE + 0x3000n, opaque: 33n });
    m.sched.remoteSfence(2);
    m.sched.next(); // hart 2
    m.sched.beginSlice(); m.sched.ran(1234n);
    m.sched.remoteSfence(0); // a fence waiting for a parked hart
    return m;
  }

  it('a restored scheduler (its CPU given the running hart) answers as the saved one does', () => {
    const a = busy();
    const b = machine();
    b.clock.restore(a.clock.save());
    b.cpu.loadHart(a.cpu.saveHart()); // the CPU's own record, in a whole checkpoint
    b.sched.restore(a.sched.save());
    expect(b.sched.save()).toEqual(a.sched.save());
    expect(b.sched.running).toBe(2);
    const rng = new Rng('harts');
    const sides = [a, b];
    const ops: Op[] = [];
    for (let i = 0; i < 3000; i++) {
      const h = rng.int(3), irq = rng.pick([1, 5, 9]), on = rng.int(2) === 0, when = BigInt(rng.int(2_000_000)), n = BigInt(rng.int(120_000));
      switch (rng.int(12)) {
        case 0: ops.push((x) => { sides[x].sched.setPending(h, irq, on); return 0; }); break;
        case 1: ops.push((x) => { sides[x].sched.setTimer(h, when); return 0; }); break;
        case 2: ops.push((x) => { sides[x].sched.remoteSfence(h); return 0; }); break;
        case 3: case 4: ops.push((x) => JSON.stringify(sides[x].sched.next())); break;
        case 5: ops.push((x) => sides[x].sched.beginSlice()); break;
        case 6: ops.push((x) => { sides[x].sched.ran(n); return sides[x].sched.turnOver(); }); break;
        case 7: ops.push((x) => { sides[x].sched.waitForInterrupt(); return sides[x].sched.time; }); break;
        case 8: ops.push((x) => { sides[x].cpu.setCsr('sie', on ? SIE_ALL : 0n); return sides[x].cpu.csr('sip'); }); break;
        case 9: ops.push((x) => { if (sides[x].sched.states[h] === HartState.Stopped) sides[x].sched.startHart(h, RAM_BASE + when, n); return sides[x].sched.states.join(); }); break;
        case 10: ops.push((x) => { sides[x].sched.suspendHart(on ? { addr: RAM_BASE + when, opaque: n } : undefined); return 0; }); break;
        default: ops.push((x) => { if (on) sides[x].sched.stopHart(); return sides[x].sched.running; });
      }
    }
    expectSameAnswers(ops, (x) => ({ sched: sides[x].sched.save(), clock: sides[x].clock.save(), cpu: sides[x].cpu.saveHart() }));
    expect(a.clock.time()).toBeGreaterThan(0n);
  });

  it('a truncated or corrupted record is refused and changes nothing; another machine\'s by name', () => {
    const rec = busy().sched.save();
    const { cpu } = machine(); // restore reads no CPU state: one CPU serves every fresh scheduler
    expectBadRecordsRefused(rec, () => new HartScheduler(cpu, 'virtual', 3));
    expect(() => machine(2).sched.restore(rec)).toThrow(/hart-scheduler record: the record is of 3 harts, this machine has 2/);
  });
});
