// Fuzz target: the board's device models through their MMIO registers and
// the memory they DMA from: virtio-mmio with virtio-blk, virtio-rng and
// virtio-balloon (src/system/devices/virtqueue.ts, virtio-*.ts), the PLIC, the 16550A UART
// and the Goldfish RTC. Each input is a driver's script, decoded op by op:
// register reads and writes at any offset, size and value (inside, at the
// edge of and past each device), bus accesses at any address, raw writes to
// guest RAM, and the moves of a driver — a queue set up (sizes that are no
// power of two, rings outside RAM or misaligned), descriptors with any
// address, length, flags and next (loops, indirect tables, chains past the
// table), available-ring entries and indices, block-request headers,
// notifications, resets, and the balloon's frame numbers (in RAM and not)
// through whichever of its queues was set up.
//
// The contract: no exception leaves a device's read/write (the bus would
// log one), a device model never fails with anything but its typed
// VirtioError (the transport logs "internal error" for anything else),
// nothing is written outside guest RAM (guard bytes on both sides stay
// intact), no input takes seconds (descriptor-loop and chain limits), no
// allocation follows a length the driver wrote, and whatever state a script
// leaves each device in, its record restores into a fresh one unchanged.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MmioBus, LatchedIrq, Plic, Uart16550, GoldfishRtc, VirtioMmio, VirtioBlk, VirtioRng, VirtioBalloon, MemoryBlockBackend,
  type GuestMemory, type MmioDevice, type AccessSize,
} from '../../src/system/devices/index.js';
import { fuzz, budget, fuzzTimeout, describeFailures, ByteReader, type FuzzTarget, type NamedInput, type Rng } from './harness.js';

const corpusDir = new URL('./corpus/virtio/', import.meta.url).pathname;
const RAM_BASE = 0x8000_0000n;
const RAM_SIZE = 64 * 1024;
const GUARD = 4096;

/** Guest RAM over an array with guard bytes on both sides. */
class GuardedRam implements GuestMemory {
  readonly backing = new Uint8Array(GUARD + RAM_SIZE + GUARD).fill(0xa5);
  readonly bytes = this.backing.subarray(GUARD, GUARD + RAM_SIZE);
  constructor() { this.bytes.fill(0); }
  inRam(addr: bigint, length: number): boolean {
    const off = addr - RAM_BASE;
    return length >= 0 && off >= 0n && off + BigInt(length) <= BigInt(RAM_SIZE);
  }
  guestBytes(addr: bigint, length: number): Uint8Array {
    if (!this.inRam(addr, length)) throw new Error(`guestBytes outside RAM: ${addr.toString(16)}+${length}`);
    const o = Number(addr - RAM_BASE);
    return this.bytes.subarray(o, o + length);
  }
  writeBytes(addr: bigint, data: Uint8Array): void { this.guestBytes(addr, data.length).set(data); }
  private static readonly pattern = Buffer.alloc(GUARD, 0xa5);
  guardsIntact(): boolean {
    return GuardedRam.pattern.equals(this.backing.subarray(0, GUARD)) && GuardedRam.pattern.equals(this.backing.subarray(GUARD + RAM_SIZE));
  }
}

interface Board {
  ram: GuardedRam;
  bus: MmioBus;
  devices: MmioDevice[];
  virtio: VirtioMmio[];
  problems: string[];
}

function makeBoard(): Board {
  const ram = new GuardedRam();
  const problems: string[] = [];
  const bus = new MmioBus({ log: (line) => problems.push(`bus: ${line}`) });
  lastLog.length = 0;
  const log = (line: string) => {
    lastLog.push(line);
    if (/internal error/.test(line)) problems.push(`device: ${line}`);
  };
  const blk = new VirtioMmio({
    base: 0x1000_1000n, irq: new LatchedIrq(), mem: ram, log, name: 'virtio-blk',
    device: new VirtioBlk({ backend: new MemoryBlockBackend(16 * 1024), queueSize: 16 }),
  });
  let counter = 0;
  const rng = new VirtioMmio({
    base: 0x1000_2000n, irq: new LatchedIrq(), mem: ram, log, name: 'virtio-rng',
    device: new VirtioRng({ random: (b) => { for (let i = 0; i < b.length; i++) b[i] = counter++ & 0xff; } }),
  });
  const ro = new VirtioMmio({
    base: 0x1000_3000n, irq: new LatchedIrq(), mem: ram, log, name: 'virtio-blk-ro', indirectDesc: false,
    device: new VirtioBlk({ backend: new MemoryBlockBackend(4096, true), queueSize: 4 }),
  });
  const balloon = new VirtioMmio({
    base: 0x1000_4000n, irq: new LatchedIrq(), mem: ram, log, name: 'virtio-balloon',
    device: new VirtioBalloon({ mem: ram, ramBase: RAM_BASE, ramSize: BigInt(RAM_SIZE), queueSize: 16 }),
  });
  const devices: MmioDevice[] = [
    blk, rng, ro,
    new Plic({ base: 0x0c00_0000n, sources: 96, contexts: 2 }),
    new Uart16550({ base: 0x1000_0000n, irq: new LatchedIrq(), output: () => {} }),
    new GoldfishRtc({ base: 0x10_1000n, irq: new LatchedIrq(), nowNs: () => 1_700_000_000_000_000_000n }),
    balloon,
  ];
  for (const d of devices) bus.add(d);
  return { ram, bus, devices, virtio: [blk, rng, ro, balloon], problems };
}

const SIZES: AccessSize[] = [1, 2, 4, 8];
const VALUES: bigint[] = [
  0n, 1n, 2n, 3n, 4n, 7n, 8n, 0xfn, 0x10n, 0x80n, 0xffn, 0x100n, 0x8000n, 0xffffn, 0x1_0000n, 0x7fff_ffffn, 0x8000_0000n,
  0xffff_ffffn, 0x1_0000_0000n, 0x8000_0000_0000_0000n, 0xffff_ffff_ffff_ffffn, RAM_BASE, RAM_BASE + BigInt(RAM_SIZE) - 16n,
];
const VIRTIO_REGS = [0x000, 0x004, 0x008, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044, 0x050, 0x060, 0x064, 0x070,
  0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0, 0x0fc, 0x100, 0x108, 0x114];

/** The devices' fault lines of the last input (for the corpus checks). */
const lastLog: string[] = [];

/** The balloon's counts after the last input (for the corpus checks). */
let lastBalloon: VirtioBalloon['counts'] & { given: number } = { inflated: 0, deflated: 0, zeroed: 0, ignored: 0, statsUpdates: 0, given: 0 };

/** How deep the inputs reach, for the summary line. */
const stats = { requests: 0, faults: 0, pagesGiven: 0 };

interface Persisting { save(): Uint8Array; restore(record: Uint8Array): void }

interface QueueLayout { desc: bigint; avail: bigint; used: bigint; size: number; /** the driver's avail idx */ next: number; /** QueueSel when it was set up */ queue: number }

/** Runs one input's script; returns what went wrong. */
function runScript(input: Uint8Array): string | undefined {
  const b = makeBoard();
  const r = new ByteReader(input);
  const layouts: Array<QueueLayout | undefined> = [undefined, undefined, undefined, undefined];
  const value = (): bigint => (r.u8() < 160 ? VALUES[r.u8() % VALUES.length] : r.u64());
  const ramAddr = (align: number): bigint => RAM_BASE + BigInt((r.u16() % RAM_SIZE) & ~(align - 1));
  const reg = (d: VirtioMmio, off: number, v: bigint) => d.write(off, 4, v & 0xffff_ffffn);
  const le = (addr: bigint, v: bigint, n: number) => {
    if (!b.ram.inRam(addr, n)) return;
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = Number((v >> BigInt(8 * i)) & 0xffn);
    b.ram.writeBytes(addr, bytes);
  };
  for (let ops = 0; !r.done && ops < 256; ops++) {
    const op = r.u8() % 11;
    try {
      switch (op) {
        case 0: case 1: {                                   // a register access, at any offset and size
          const d = b.devices[r.u8() % b.devices.length];
          const size = SIZES[r.u8() & 3];
          const span = Number(d.size > 0x10000n ? 0x10000n : d.size);
          const k = r.u8();
          const offset = d instanceof VirtioMmio && k < 128 ? VIRTIO_REGS[k % VIRTIO_REGS.length] + (r.u8() & 3) * (k & 1)
            : k < 250 ? r.u16() % (span + 64) : r.u16() + (k & 3) * span;
          if (op === 0) d.write(offset, size, value() & (size === 8 ? 0xffff_ffff_ffff_ffffn : (1n << BigInt(8 * size)) - 1n));
          else d.read(offset, size);
          break;
        }
        case 2: {                                           // a bus access at any address
          const addr = r.u8() < 128 ? b.devices[r.u8() % b.devices.length].base + BigInt(r.u16()) - 8n : r.u64();
          const size = SIZES[r.u8() & 3];
          if (r.u8() & 1) b.bus.store(addr, size, value()); else b.bus.load(addr, size);
          break;
        }
        case 3: {                                           // raw bytes into RAM
          const at = ramAddr(1);
          const n = r.u8() % 32;
          for (let i = 0; i < n; i++) le(at + BigInt(i), BigInt(r.u8()), 1);
          break;
        }
        case 4: {                                           // a driver sets a queue up
          const i = r.u8() % b.virtio.length;
          const d = b.virtio[i];
          // The balloon's queue comes first: a queue other than inflateq is
          // added to a running balloon as it is (no reset), so that pages
          // given can be taken back and statistics come and go.
          const balloon = d.device instanceof VirtioBalloon;
          const balloonQueue = balloon ? r.u8() % 4 : 0;
          const running = balloon && balloonQueue !== 0 && (d.deviceStatus & 4) !== 0;
          const size = [1, 2, 4, 8, 16, 3, 0, 32, 65536, 16][r.u8() % 10];
          const desc = r.u8() < 200 ? ramAddr(16) : value();
          const avail = r.u8() < 200 ? desc + BigInt(16 * size) : value();
          const used = r.u8() < 200 ? (avail + BigInt(6 + 2 * size) + 3n) & ~3n : value();
          const layout: QueueLayout = layouts[i] = { desc, avail, used, size, next: 0, queue: balloonQueue };
          const features = r.u8() < 200 ? (1n << 32n) | (1n << 28n) | BigInt(r.u8() & 0x7f) : value();
          if (!running) {
            reg(d, 0x070, 0n); reg(d, 0x070, 1n); reg(d, 0x070, 3n);
            reg(d, 0x024, 0n); reg(d, 0x020, features); reg(d, 0x024, 1n); reg(d, 0x020, features >> 32n);
            reg(d, 0x070, 11n);
          }
          if (!balloon) layout.queue = r.u8() < 230 ? 0 : r.u8();
          reg(d, 0x030, BigInt(layout.queue));
          reg(d, 0x038, BigInt(size));
          reg(d, 0x080, desc); reg(d, 0x084, desc >> 32n);
          reg(d, 0x090, avail); reg(d, 0x094, avail >> 32n);
          reg(d, 0x0a0, used); reg(d, 0x0a4, used >> 32n);
          reg(d, 0x044, 1n);
          reg(d, 0x070, 15n);
          break;
        }
        case 5: {                                           // a descriptor
          const q = layouts[r.u8() % layouts.length];
          if (q === undefined) break;
          const idx = r.u8() % Math.max(1, Math.min(q.size, 64) + 1);
          const at = q.desc + BigInt(16 * idx);
          const addr = r.u8() < 180 ? ramAddr(1) : value();
          const len = r.u8() < 180 ? BigInt(r.u16() % 4096) : value() & 0xffff_ffffn;
          le(at, addr, 8); le(at + 8n, len, 4); le(at + 12n, BigInt(r.u8() & 7), 2); le(at + 14n, BigInt(r.u8() < 200 ? r.u8() % 20 : r.u16()), 2);
          break;
        }
        case 6: {                                           // an available-ring entry and index
          const q = layouts[r.u8() % layouts.length];
          if (q === undefined) break;
          const slot = r.u8() % Math.max(1, Math.min(q.size, 64));
          le(q.avail + 4n + BigInt(2 * slot), BigInt(r.u8() < 220 ? r.u8() % 20 : r.u16()), 2);
          le(q.avail + 2n, BigInt(r.u8() < 200 ? r.u8() % 8 : r.u16()), 2);
          le(q.avail, BigInt(r.u8() & 1), 2);
          break;
        }
        case 7: {                                           // a block request header: type, sector
          const at = ramAddr(8);
          le(at, BigInt([0, 1, 4, 8, 2, 11, 0xffff_ffff][r.u8() % 7]), 4);
          le(at + 8n, r.u8() < 200 ? BigInt(r.u8()) : value(), 8);
          break;
        }
        case 8: {                                           // a notification
          const d = b.virtio[r.u8() % b.virtio.length];
          d.write(0x050, 4, BigInt(r.u8() < 230 ? 0 : r.u16()));
          break;
        }
        case 10: {                                          // a whole request, made available and notified
          const i = r.u8() % layouts.length;
          const q = layouts[i];
          if (q === undefined || q.size === 0) break;
          const d = b.virtio[i];
          const bent = r.u8();                             // < 48: one field gets an edge value
          const pick = (good: bigint, k: number): bigint => (bent < 48 && bent % 6 === k ? value() : good);
          const head = r.u8() % Math.min(q.size, 64);
          const buf = RAM_BASE + 0xc000n + BigInt((r.u8() % 48) * 256);
          const isBlk = d.device instanceof VirtioBlk;
          const dataLen = BigInt([512, 1024, 0, 1, 4096, 511, 8192][r.u8() % 7]);
          const flip = r.u8() & 0x80;                      // the data buffer the wrong way round
          const type = [0, 1, 4, 8, 5][r.u8() % 5];        // IN, OUT, FLUSH, GET_ID, unsupported
          // IN and GET_ID fill the data buffer: device-writable.
          const dataWritable = (type === 0 || type === 8) !== (flip !== 0);
          const isBalloon = d.device instanceof VirtioBalloon;
          let segs: Array<[bigint, bigint, number]> = isBlk
            ? [[buf, 16n, 0], [buf + 0x20n, dataLen, dataWritable ? 2 : 0], [buf + 0x20n + dataLen, 1n, 2]]
            : [[buf, dataLen, 2]];
          if (isBlk) { le(buf, BigInt(type), 4); le(buf + 8n, pick(BigInt(r.u8() % 40), 0), 8); }
          if (isBalloon) {                                 // frame numbers: pages of RAM, or anything
            const frames = r.u8() % 9;
            for (let k = 0; k < frames; k++) le(buf + BigInt(4 * k), r.u8() < 200 ? (RAM_BASE >> 12n) + BigInt(r.u8() % 16) : value() & 0xffff_ffffn, 4);
            // type 4 sizes the buffer as statistics (10 bytes each), else as frames.
            segs = [[buf, BigInt(type === 4 ? 10 * frames : 4 * frames), flip ? 2 : 0]];
          }
          segs.forEach(([addr, len, flags], k) => {
            const idx = (head + k) % q.size;
            const at = q.desc + BigInt(16 * idx);
            const last = k === segs.length - 1;
            le(at, pick(addr, 1), 8); le(at + 8n, pick(len, 2), 4);
            le(at + 12n, pick(BigInt(flags | (last ? 0 : 1)), 3) & 0xffffn, 2);
            le(at + 14n, pick(BigInt((head + k + 1) % q.size), 4) & 0xffffn, 2);
          });
          le(q.avail + 4n + BigInt(2 * (q.next % q.size)), BigInt(head), 2);
          q.next = (q.next + 1) & 0xffff;
          le(q.avail + 2n, pick(BigInt(q.next), 5) & 0xffffn, 2);
          d.write(0x050, 4, BigInt(isBalloon ? q.queue : 0));
          break;
        }
        default: {                                          // interrupt ack, reset, or queue ready again
          const d = b.virtio[r.u8() % b.virtio.length];
          const k = r.u8() % 3;
          if (k === 0) d.write(0x064, 4, BigInt(r.u8() & 3));
          else if (k === 1) d.write(0x070, 4, 0n);
          else { d.write(0x044, 4, 0n); d.write(0x044, 4, 1n); }
        }
      }
    } catch (e) {
      return `op ${ops} (kind ${op}) threw out of a device: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
    }
    if (b.problems.length) return `op ${ops} (kind ${op}): ${b.problems.join('\n')}`;
  }
  if (!b.ram.guardsIntact()) return 'a device wrote outside guest RAM';
  // Whatever state the script left, each device saves it and the same
  // device of a fresh board takes it back unchanged (a checkpoint can be
  // taken at any moment).
  const log = [...lastLog];
  const fresh = makeBoard();
  lastLog.length = 0;
  lastLog.push(...log);
  for (let i = 0; i < b.devices.length; i++) {
    const saved = (b.devices[i] as unknown as Persisting).save();
    try {
      (fresh.devices[i] as unknown as Persisting).restore(saved);
    } catch (e) {
      return `${b.devices[i].name}: its own record is refused: ${e instanceof Error ? e.message : String(e)}`;
    }
    const again = (fresh.devices[i] as unknown as Persisting).save();
    if (!Buffer.from(again).equals(Buffer.from(saved))) return `${b.devices[i].name}: a restored device saves another record`;
  }
  for (const d of b.virtio) {
    stats.faults += d.faults;
    const blk = d.device instanceof VirtioBlk ? d.device.counts : undefined;
    if (blk) stats.requests += blk.in + blk.out + blk.flush + blk.getId + blk.unsupported + blk.ioErrors;
    if (d.device instanceof VirtioBalloon) {
      stats.pagesGiven += d.device.counts.inflated;
      lastBalloon = { ...d.device.counts, given: d.device.givenPages };
    }
  }
  return undefined;
}

/** A script that sets a queue up properly and sends requests through it,
 *  so mutations start from code paths deep inside the devices. */
function generateScript(rng: Rng): Uint8Array {
  // Start with the queues set up (sizes 1..16, the rings in RAM), so that
  // requests reach the device models.
  const out: number[] = [];
  for (const dev of [0, 1, 2]) out.push(4, dev, rng.int(5), rng.int(160), rng.int(256), rng.int(200), rng.int(200), rng.int(200), 1, rng.int(128), 0);
  // The balloon's inflate queue (its queue number comes first), STATS_VQ taken.
  out.push(4, 3, 0, rng.int(5), rng.int(160), rng.int(256), rng.int(200), rng.int(200), rng.int(200), 1, 2 | rng.int(128));
  const n = rng.range(2, 40);
  for (let i = 0; i < n; i++) {
    switch (rng.weighted([[3, 'setup'], [3, 'desc'], [2, 'avail'], [1, 'header'], [2, 'notify'], [6, 'request'], [3, 'any']] as const)) {
      case 'setup': out.push(4, rng.int(4), rng.int(5), rng.int(200), rng.int(256), rng.int(256), rng.int(200), rng.int(200), rng.int(200), rng.int(128), rng.int(230)); break;
      case 'desc': out.push(5, rng.int(4), rng.int(16), rng.int(180), rng.int(256), rng.int(256), rng.int(180), rng.int(256), rng.int(16), rng.int(8), rng.int(200), rng.int(16)); break;
      case 'avail': out.push(6, rng.int(4), rng.int(16), rng.int(220), rng.int(16), rng.int(200), rng.int(8), rng.int(2)); break;
      case 'header': out.push(7, rng.int(256), rng.int(256), rng.int(4), rng.int(200), rng.int(64)); break;
      case 'notify': out.push(8, rng.int(4), rng.int(230)); break;
      case 'request': {
        const dev = rng.int(4);
        out.push(10, dev, rng.int(256), rng.int(16), rng.int(48), rng.int(7), rng.int(2), rng.int(5));
        if (dev !== 3) { out.push(rng.int(40)); break; }
        const frames = rng.int(9);                        // the balloon's frame numbers, mostly pages of RAM
        out.push(frames);
        for (let k = 0; k < frames; k++) out.push(rng.int(220), rng.int(16));
        break;
      }
      default: for (let k = rng.range(1, 12); k > 0; k--) out.push(rng.int(256));
    }
  }
  return Uint8Array.from(out);
}

export const virtioTarget: FuzzTarget = {
  name: 'virtio',
  seeds: (rng: Rng): NamedInput[] => [0, 1, 2, 3, 4, 5].map((i) => ({ name: `generated-${i}`, bytes: generateScript(rng) })),
  generate: generateScript,
  run: runScript,
};

describe('the virtio corpus does what its names say', () => {
  const run = (name: string): string[] => {
    expect(runScript(new Uint8Array(readFileSync(join(corpusDir, name))))).toBeUndefined();
    return [...lastLog];
  };
  it('loops and cycles of descriptors are refused, the device marked for reset', () => {
    expect(run('descriptor-loop.bin').join('\n')).toMatch(/virtio-blk: queue 0: descriptor loop: chain from descriptor 0 comes back to descriptor 0/);
    expect(run('descriptor-cycle.bin').join('\n')).toMatch(/descriptor loop: chain from descriptor 0 comes back to descriptor 0/);
  });
  it('an indirect descriptor without VIRTIO_F_INDIRECT_DESC is refused', () => {
    expect(run('indirect-not-negotiated.bin').join('\n')).toMatch(/is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated/);
  });
  it('balloon: three pages given through inflateq, two taken back through deflateq added to the running device', () => {
    expect(run('balloon-give-and-take-back.bin').filter((l) => l.startsWith('virtio-balloon'))).toEqual([]);
    expect(lastBalloon).toMatchObject({ inflated: 3, deflated: 2, ignored: 0, given: 1 });
  });
  it('balloon: a frame outside RAM is refused whole, the device marked for reset', () => {
    expect(run('balloon-frame-outside-ram.bin').join('\n')).toMatch(/virtio-balloon: queue 0: virtio-balloon inflate request at descriptor 0: frame 1 is 0x0 \(page 0x0\), outside guest RAM .*; device needs reset/);
    expect(lastBalloon).toMatchObject({ inflated: 0, given: 0 });
  });
  it('a request is served; an available index that then jumps past the queue size is refused', () => {
    const log = run('request-then-index-jump.bin').join('\n');
    expect(log).not.toMatch(/request at descriptor/);
    expect(log).toMatch(/available ring idx jumped/);
  });
});

describe('fuzz: virtio descriptor chains and MMIO accesses to every device', () => {
  it('no exception escapes, no internal error, no write outside RAM, no hang', () => {
    const report = fuzz(virtioTarget, { ...budget(2000), corpusDir });
    console.log(`fuzz virtio: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s (${(report.iterations / (report.ms / 1000)).toFixed(0)}/s), seed ${JSON.stringify(report.seed)}; ${stats.requests} block requests served, ${stats.pagesGiven} pages given to the balloon, ${stats.faults} malformed-driver faults refused`);
    if (report.failures.length) throw new Error(describeFailures(report));
    if (process.env.RINGVISOR_FUZZ_REPLAY === undefined) expect(report.iterations).toBeGreaterThan(0);
  }, fuzzTimeout());
});
