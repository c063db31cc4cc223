// Save and restore of the system VM's devices (src/system/devices/): each
// device is driven into a non-trivial state through its registers, saved, and restored into a fresh
// instance; then both are driven by the same long random sequence of
// register reads and writes (and inputs, interrupt lines, clock steps)
// and must answer it identically, byte for byte, down to their interrupt
// lines. A truncated or corrupted
// record is refused with a CheckpointError and leaves the fresh device as
// it was.
import { describe, expect, it } from 'vitest';
import {
  LatchedIrq, Plic, Uart16550, GoldfishRtc, SifiveTest, FINISHER_FAIL, FINISHER_PASS, type Finish,
} from '../src/system/devices/index.js';
import { CheckpointError } from '../src/hypervisor/checkpoint-file.js';
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
