// The virtio memory balloon (src/system/devices/virtio-balloon.ts) driven
// from the driver's side, as Linux's virtio_balloon does it, over a fake
// guest RAM: the configuration space (num_pages set by the host with a
// configuration-change interrupt, actual written by the driver), the
// inflate and deflate queues (pages given are zeroed, and a page already
// zero is not written: the host never commits it), the statistics queue
// (a buffer held until the host asks), malformed frames and descriptors
// refused through the transport's error path, reset, and the record: a
// round trip, and bent records refused with nothing changed. Then the
// balloon on a SystemVM: optional, in the device tree and the checkpoint
// only when asked for, and compact().
import { describe, expect, it } from 'vitest';
import {
  LatchedIrq, VirtioMmio, VirtioBalloon, BalloonControl, BalloonTargetError, NoBalloonError,
  VIRTIO_F_VERSION_1, VIRTIO_BALLOON_F_STATS_VQ, VIRTIO_BALLOON_F_DEFLATE_ON_OOM, VIRTIO_BALLOON_F_MUST_TELL_HOST,
  STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_FEATURES_OK, STATUS_DRIVER_OK, STATUS_DEVICE_NEEDS_RESET,
  INT_USED_BUFFER, INT_CONFIG_CHANGE, VirtioMmioReg, VirtioBalloonConfig, BalloonQueue,
  type GuestMemory,
} from '../src/system/devices/index.js';
import { CheckpointError, readCheckpoint } from '../src/hypervisor/checkpoint-file.js';
import { SystemVM } from '../src/system/system-vm.js';
import { parseFdt, findNode } from '../src/system/fdt.js';
import { loadCpuModule } from '../src/node/load.js';
import { systemMachineId } from '../src/system/system-checkpoint.js';

const RAM_BASE = 0x8000_0000n;
const RAM_SIZE = 1 << 20; // 256 pages
const PAGES = RAM_SIZE / 4096;
const GUARD = 4096;

/** Guest RAM over an array, guard bytes on both sides; counts writes
 *  through writeBytes (what would commit host memory). */
class FakeRam implements GuestMemory {
  readonly backing = new Uint8Array(GUARD + RAM_SIZE + GUARD).fill(0xa5);
  readonly bytes = this.backing.subarray(GUARD, GUARD + RAM_SIZE);
  readonly view = new DataView(this.bytes.buffer, GUARD, RAM_SIZE);
  written: bigint[] = [];
  constructor() { this.bytes.fill(0); }
  inRam(addr: bigint, length: number): boolean {
    const off = addr - RAM_BASE;
    return length >= 0 && off >= 0n && off + BigInt(length) <= BigInt(RAM_SIZE);
  }
  guestBytes(addr: bigint, length: number): Uint8Array {
    if (!this.inRam(addr, length)) throw new Error(`outside RAM: ${addr.toString(16)}`);
    const o = Number(addr - RAM_BASE);
    return this.bytes.subarray(o, o + length);
  }
  writeBytes(addr: bigint, data: Uint8Array): void {
    this.written.push(addr);
    this.guestBytes(addr, data.length).set(data);
  }
  off(addr: bigint): number { return Number(addr - RAM_BASE); }
  w16(a: bigint, v: number): void { this.view.setUint16(this.off(a), v, true); }
  w32(a: bigint, v: number): void { this.view.setUint32(this.off(a), v, true); }
  w64(a: bigint, v: bigint): void { this.view.setBigUint64(this.off(a), BigInt.asUintN(64, v), true); }
  r16(a: bigint): number { return this.view.getUint16(this.off(a), true); }
  r32(a: bigint): number { return this.view.getUint32(this.off(a), true); }
  page(index: number): Uint8Array { return this.bytes.subarray(index * 4096, (index + 1) * 4096); }
  guardsIntact(): boolean {
    return this.backing.subarray(0, GUARD).every((b) => b === 0xa5) && this.backing.subarray(GUARD + RAM_SIZE).every((b) => b === 0xa5);
  }
}

/** Each queue's rings: 16 descriptors in pages 1..6 of RAM; buffers from page 16. */
const QSIZE = 16;
const ring = (q: number) => ({ desc: RAM_BASE + BigInt(0x1000 + 0x2000 * q), avail: RAM_BASE + BigInt(0x1400 + 0x2000 * q), used: RAM_BASE + BigInt(0x1800 + 0x2000 * q) });
const BUF = RAM_BASE + 0x10000n;
const pfnOf = (page: number) => Number((RAM_BASE >> 12n) + BigInt(page));

/** Linux's virtio_balloon in spirit: handshake, three queues, PFN arrays. */
class BalloonDriver {
  readonly avail = [0, 0, 0];
  readonly seen = [0, 0, 0];
  readonly next = [0, 0, 0];
  bufAt = BUF;
  constructor(readonly dev: VirtioMmio, readonly ram: FakeRam) {}
  r(o: number): number { return Number(this.dev.read(o, 4)); }
  w(o: number, v: number): void { this.dev.write(o, 4, BigInt(v >>> 0)); }

  handshake(accept: (offered: bigint) => bigint = (f) => f, queues = 3): bigint {
    this.w(VirtioMmioReg.Status, 0);
    this.w(VirtioMmioReg.Status, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    this.w(VirtioMmioReg.DeviceFeaturesSel, 1);
    const hi = BigInt(this.r(VirtioMmioReg.DeviceFeatures));
    this.w(VirtioMmioReg.DeviceFeaturesSel, 0);
    const want = accept((hi << 32n) | BigInt(this.r(VirtioMmioReg.DeviceFeatures)));
    this.w(VirtioMmioReg.DriverFeaturesSel, 1); this.w(VirtioMmioReg.DriverFeatures, Number(want >> 32n));
    this.w(VirtioMmioReg.DriverFeaturesSel, 0); this.w(VirtioMmioReg.DriverFeatures, Number(want & 0xffff_ffffn));
    this.w(VirtioMmioReg.Status, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    for (let q = 0; q < queues; q++) {
      const { desc, avail, used } = ring(q);
      this.w(VirtioMmioReg.QueueSel, q);
      this.w(VirtioMmioReg.QueueNum, QSIZE);
      this.w(VirtioMmioReg.QueueDescLow, Number(desc & 0xffff_ffffn)); this.w(VirtioMmioReg.QueueDescHigh, Number(desc >> 32n));
      this.w(VirtioMmioReg.QueueDriverLow, Number(avail & 0xffff_ffffn)); this.w(VirtioMmioReg.QueueDriverHigh, Number(avail >> 32n));
      this.w(VirtioMmioReg.QueueDeviceLow, Number(used & 0xffff_ffffn)); this.w(VirtioMmioReg.QueueDeviceHigh, Number(used >> 32n));
      this.w(VirtioMmioReg.QueueReady, 1);
    }
    this.w(VirtioMmioReg.Status, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    return want;
  }

  /** A buffer of `bytes` at a fresh place in RAM. */
  buffer(bytes: Uint8Array): bigint {
    const at = this.bufAt;
    this.ram.bytes.set(bytes, this.ram.off(at));
    this.bufAt += BigInt((bytes.length + 15) & ~15) || 16n;
    return at;
  }

  /** One chain of the given segments on queue q, published and notified. */
  send(q: number, segs: { addr: bigint; len: number; write?: boolean }[], notify = true): number {
    const { desc, avail } = ring(q);
    const head = this.next[q];
    segs.forEach((s, k) => {
      const i = (head + k) % QSIZE, last = k === segs.length - 1;
      const a = desc + BigInt(16 * i);
      this.ram.w64(a, s.addr); this.ram.w32(a + 8n, s.len);
      this.ram.w16(a + 12n, (s.write ? 2 : 0) | (last ? 0 : 1)); this.ram.w16(a + 14n, last ? 0 : (i + 1) % QSIZE);
    });
    this.next[q] = (head + segs.length) % QSIZE;
    this.ram.w16(avail + 4n + BigInt(2 * (this.avail[q] % QSIZE)), head);
    this.avail[q] = (this.avail[q] + 1) & 0xffff;
    this.ram.w16(avail + 2n, this.avail[q]);
    if (notify) this.w(VirtioMmioReg.QueueNotify, q);
    return head;
  }

  /** PFNs (le32) through the inflate or deflate queue. */
  pfns(q: BalloonQueue, frames: number[]): number {
    const b = new Uint8Array(4 * frames.length);
    const v = new DataView(b.buffer);
    frames.forEach((f, i) => v.setUint32(4 * i, f >>> 0, true));
    return this.send(q, [{ addr: this.buffer(b), len: b.length }]);
  }

  /** A statistics buffer of (tag, value) pairs. */
  stats(pairs: [number, bigint][]): number {
    const b = new Uint8Array(10 * pairs.length);
    const v = new DataView(b.buffer);
    pairs.forEach(([tag, val], i) => { v.setUint16(10 * i, tag, true); v.setBigUint64(10 * i + 2, val, true); });
    return this.send(BalloonQueue.Stats, [{ addr: this.buffer(b), len: b.length }]);
  }

  used(q: number): { id: number; len: number }[] {
    const { used } = ring(q);
    const idx = this.ram.r16(used + 2n);
    const out: { id: number; len: number }[] = [];
    while (this.seen[q] !== idx) {
      const e = used + 4n + BigInt(8 * (this.seen[q] % QSIZE));
      out.push({ id: this.ram.r32(e), len: this.ram.r32(e + 4n) });
      this.seen[q] = (this.seen[q] + 1) & 0xffff;
    }
    return out;
  }

  ack(): number {
    const s = this.r(VirtioMmioReg.InterruptStatus);
    this.w(VirtioMmioReg.InterruptACK, s);
    return s;
  }

  config(field: VirtioBalloonConfig): number { return this.r(VirtioMmioReg.Config + field); }
  writeActual(pages: number): void { this.w(VirtioMmioReg.Config + VirtioBalloonConfig.Actual, pages); }
}

function setup(opts: { stats?: boolean; deflateOnOom?: boolean } = {}) {
  const ram = new FakeRam();
  const irq = new LatchedIrq();
  const lines: string[] = [];
  const device = new VirtioBalloon({ mem: ram, ramBase: RAM_BASE, ramSize: BigInt(RAM_SIZE), queueSize: QSIZE, ...opts });
  const dev = new VirtioMmio({ base: 0x1000_3000n, irq, mem: ram, device, log: (l) => lines.push(l), name: 'virtio-balloon' });
  const control = new BalloonControl(dev, device);
  const drv = new BalloonDriver(dev, ram);
  return { ram, irq, lines, device, dev, control, drv };
}

/** Fills page `index` with a non-zero pattern (the guest used it). */
function dirty(ram: FakeRam, index: number): void {
  ram.page(index).fill(0x5a);
  ram.page(index)[4095] = index & 0xff | 1;
}

describe('virtio-balloon: identity and configuration', () => {
  it('is device 5 with VERSION_1, STATS_VQ and DEFLATE_ON_OOM offered, MUST_TELL_HOST not; three queues, two without stats', () => {
    const { drv } = setup();
    expect(drv.r(VirtioMmioReg.DeviceID)).toBe(5);
    let offered = 0n;
    drv.handshake((f) => (offered = f));
    expect(offered & VIRTIO_F_VERSION_1).toBe(VIRTIO_F_VERSION_1);
    expect(offered & VIRTIO_BALLOON_F_STATS_VQ).toBe(VIRTIO_BALLOON_F_STATS_VQ);
    expect(offered & VIRTIO_BALLOON_F_DEFLATE_ON_OOM).toBe(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
    expect(offered & VIRTIO_BALLOON_F_MUST_TELL_HOST).toBe(0n);
    for (const [q, max] of [[0, QSIZE], [1, QSIZE], [2, QSIZE], [3, 0]]) {
      drv.w(VirtioMmioReg.QueueSel, q);
      expect(drv.r(VirtioMmioReg.QueueNumMax)).toBe(max);
    }
    const bare = setup({ stats: false, deflateOnOom: false });
    bare.drv.handshake((f) => (offered = f), 2);
    expect(offered & (VIRTIO_BALLOON_F_STATS_VQ | VIRTIO_BALLOON_F_DEFLATE_ON_OOM)).toBe(0n);
    bare.drv.w(VirtioMmioReg.QueueSel, 2);
    expect(bare.drv.r(VirtioMmioReg.QueueNumMax)).toBe(0);
  });

  it('a target set by the host is num_pages, with a configuration-change interrupt and a new generation; the same target again is no change', () => {
    const { drv, control, irq } = setup();
    drv.handshake();
    drv.ack();
    const generation = drv.r(VirtioMmioReg.ConfigGeneration);
    control.setTargetBytes(RAM_SIZE - 100 * 4096);
    expect(irq.level).toBe(true);
    expect(drv.ack()).toBe(INT_CONFIG_CHANGE);
    expect(drv.r(VirtioMmioReg.ConfigGeneration)).toBe(generation + 1);
    expect(drv.config(VirtioBalloonConfig.NumPages)).toBe(100);
    // Any width at any offset, little-endian.
    expect(drv.dev.read(VirtioMmioReg.Config + VirtioBalloonConfig.NumPages, 1)).toBe(100n);
    expect(drv.dev.read(VirtioMmioReg.Config + VirtioBalloonConfig.NumPages, 8)).toBe(100n);
    expect(drv.config(VirtioBalloonConfig.FreePageHintCmdId)).toBe(0);
    expect(drv.config(VirtioBalloonConfig.PoisonVal)).toBe(0);
    control.setTargetBytes(RAM_SIZE - 100 * 4096);
    expect(irq.level).toBe(false);
    expect(drv.r(VirtioMmioReg.ConfigGeneration)).toBe(generation + 1);
    // A target not on a page boundary leaves the guest at least that much.
    control.setTargetBytes(RAM_SIZE - 100 * 4096 + 1);
    expect(drv.config(VirtioBalloonConfig.NumPages)).toBe(99);
    expect(control.info().targetBytes).toBe(RAM_SIZE - 99 * 4096);
    expect(control.info().targetBytes).toBeGreaterThan(RAM_SIZE - 100 * 4096 + 1);
    control.setTargetBytes(RAM_SIZE);
    expect(drv.config(VirtioBalloonConfig.NumPages)).toBe(0);
    control.setTargetBytes(0);
    expect(drv.config(VirtioBalloonConfig.NumPages)).toBe(PAGES);
  });

  it('a target that is not 0..RAM bytes is a BalloonTargetError and changes nothing', () => {
    const { control, drv } = setup();
    drv.handshake();
    control.setTargetBytes(RAM_SIZE - 8 * 4096);
    for (const bad of [-1, RAM_SIZE + 1, 1.5, NaN, Infinity, -Infinity]) {
      expect(() => control.setTargetBytes(bad)).toThrow(BalloonTargetError);
    }
    expect(drv.config(VirtioBalloonConfig.NumPages)).toBe(8);
  });

  it('actual is the driver\'s to write, at any width; num_pages and the rest are not', () => {
    const { drv, control } = setup();
    drv.handshake();
    drv.writeActual(0x1234);
    expect(drv.config(VirtioBalloonConfig.Actual)).toBe(0x1234);
    drv.dev.write(VirtioMmioReg.Config + VirtioBalloonConfig.Actual + 1, 1, 0xabn);
    expect(drv.config(VirtioBalloonConfig.Actual)).toBe(0xab34);
    // An 8-byte write from num_pages covers actual's four bytes too.
    drv.dev.write(VirtioMmioReg.Config + VirtioBalloonConfig.NumPages, 8, 0x0000_0007_0000_0999n);
    expect(drv.config(VirtioBalloonConfig.NumPages)).toBe(0);
    expect(drv.config(VirtioBalloonConfig.Actual)).toBe(7);
    drv.dev.write(VirtioMmioReg.Config + VirtioBalloonConfig.PoisonVal, 4, 0xffn);
    expect(drv.config(VirtioBalloonConfig.PoisonVal)).toBe(0);
    drv.writeActual(PAGES - 10);
    expect(control.info().actualBytes).toBe(10 * 4096);
    drv.writeActual(0xffff_ffff); // more than RAM: the guest keeps nothing, not less
    expect(control.info().actualBytes).toBe(0);
  });
});

describe('virtio-balloon: inflate and deflate', () => {
  it('pages given are zeroed (a page already zero is not written), counted, and given back by deflate', () => {
    const { drv, device, ram, control, irq } = setup();
    drv.handshake();
    control.setTargetBytes(RAM_SIZE - 4 * 4096);
    drv.ack();
    for (const p of [100, 101, 102]) dirty(ram, p);
    ram.written = [];
    const head = drv.pfns(BalloonQueue.Inflate, [pfnOf(100), pfnOf(101), pfnOf(102), pfnOf(200)]);
    expect(drv.used(BalloonQueue.Inflate)).toEqual([{ id: head, len: 0 }]);
    expect(irq.level).toBe(true);
    expect(drv.ack()).toBe(INT_USED_BUFFER);
    for (const p of [100, 101, 102, 200]) expect(ram.page(p).every((b) => b === 0)).toBe(true);
    // The three that held data were written; page 200, zero already, was not.
    expect(ram.written.filter((a) => a >= RAM_BASE + 0x10000n && a < BUF).length).toBe(0);
    expect(ram.written.map((a) => Number((a - RAM_BASE) / 4096n)).filter((p) => p >= 100)).toEqual([100, 101, 102]);
    expect(device.counts).toMatchObject({ inflated: 4, zeroed: 3, ignored: 0 });
    drv.writeActual(4);
    expect(control.info()).toMatchObject({ targetBytes: RAM_SIZE - 4 * 4096, actualBytes: RAM_SIZE - 4 * 4096, givenPages: 4, driverReady: true });
    expect([...device.givenIndices()]).toEqual([100, 101, 102, 200]);

    // Given twice, taken back when not given: nothing changes.
    drv.pfns(BalloonQueue.Inflate, [pfnOf(100)]);
    drv.pfns(BalloonQueue.Deflate, [pfnOf(5)]);
    expect(device.givenPages).toBe(4);
    expect(device.counts.ignored).toBe(2);

    // The host raises the target: the driver deflates.
    control.setTargetBytes(RAM_SIZE - 1 * 4096);
    expect(drv.config(VirtioBalloonConfig.NumPages)).toBe(1);
    drv.pfns(BalloonQueue.Deflate, [pfnOf(101), pfnOf(102), pfnOf(200)]);
    expect(drv.used(BalloonQueue.Deflate).map((u) => u.len)).toEqual([0, 0]);
    drv.writeActual(1);
    expect(control.info()).toMatchObject({ actualBytes: RAM_SIZE - 4096, givenPages: 1 });
    expect([...device.givenIndices()]).toEqual([100]);
    expect(device.isGiven(100) && !device.isGiven(101)).toBe(true);
    expect(ram.guardsIntact()).toBe(true);
  });

  it('a buffer split over several descriptors is read whole', () => {
    const { drv, device } = setup();
    drv.handshake();
    const b = new Uint8Array(12);
    new DataView(b.buffer).setUint32(0, pfnOf(7), true);
    new DataView(b.buffer).setUint32(4, pfnOf(8), true);
    new DataView(b.buffer).setUint32(8, pfnOf(9), true);
    const at = drv.buffer(b);
    // Split mid-frame: 6 bytes, then 6.
    drv.send(BalloonQueue.Inflate, [{ addr: at, len: 6 }, { addr: at + 6n, len: 6 }]);
    expect([...device.givenIndices()]).toEqual([7, 8, 9]);
  });
});

describe('virtio-balloon: malformed input breaks the device, never the host', () => {
  const cases: [string, (d: BalloonDriver) => void, RegExp][] = [
    ['a frame below RAM', (d) => d.pfns(BalloonQueue.Inflate, [pfnOf(50), pfnOf(0) - 1]), /inflate request at descriptor \d+: frame 1 is 0x7ffff \(page 0x7ffff000\), outside guest RAM/],
    ['a frame past RAM', (d) => d.pfns(BalloonQueue.Inflate, [pfnOf(PAGES)]), /frame 0 is 0x80100 .* outside guest RAM/],
    ['frame 0xffffffff', (d) => d.pfns(BalloonQueue.Deflate, [0xffff_ffff]), /deflate request .* frame 0 is 0xffffffff \(page 0xffffffff000\), outside guest RAM/],
    ['frame 0', (d) => d.pfns(BalloonQueue.Inflate, [0]), /frame 0 is 0x0 \(page 0x0\), outside guest RAM/],
    ['a length that is not whole frames', (d) => d.send(BalloonQueue.Inflate, [{ addr: d.buffer(new Uint8Array(6)), len: 6 }]), /6 bytes is not a whole number of 4-byte frame numbers/],
    ['a device-writable frame buffer', (d) => d.send(BalloonQueue.Inflate, [{ addr: d.buffer(new Uint8Array(4)), len: 4, write: true }]), /is device-writable; frame numbers are device-readable/],
    ['a buffer outside RAM', (d) => d.send(BalloonQueue.Deflate, [{ addr: RAM_BASE + BigInt(RAM_SIZE) - 2n, len: 4 }]), /buffer at 0x800ffffe, 4 bytes, is outside guest RAM/],
    ['a chain over 64 KiB', (d) => d.send(BalloonQueue.Inflate, [{ addr: RAM_BASE, len: 65536 }, { addr: RAM_BASE, len: 4 }]), /over the limit of 65536/],
    ['a statistics buffer of part of a statistic', (d) => d.send(BalloonQueue.Stats, [{ addr: d.buffer(new Uint8Array(15)), len: 15 }]), /15 bytes is not a whole number of 10-byte statistics/],
    ['a device-writable statistics buffer', (d) => d.send(BalloonQueue.Stats, [{ addr: d.buffer(new Uint8Array(10)), len: 10, write: true }]), /statistics are device-readable/],
  ];
  for (const [name, send, message] of cases) {
    it(name, () => {
      const { drv, device, lines, ram, dev } = setup();
      drv.handshake();
      dirty(ram, 50);
      drv.ack();
      send(drv);
      expect(lines.join('\n')).toMatch(message);
      expect(lines.join('\n')).toMatch(/device needs reset/);
      expect(dev.broken).toBe(true);
      expect(drv.r(VirtioMmioReg.Status) & STATUS_DEVICE_NEEDS_RESET).toBe(STATUS_DEVICE_NEEDS_RESET);
      expect(drv.ack() & INT_CONFIG_CHANGE).toBe(INT_CONFIG_CHANGE);
      // A buffer is checked whole first: nothing of it was given or zeroed.
      expect(device.givenPages).toBe(0);
      expect(ram.page(50)[0]).toBe(0x5a);
      expect(ram.guardsIntact()).toBe(true);
      // The driver resets and the device works again.
      drv.avail.fill(0); drv.seen.fill(0); drv.next.fill(0);
      ram.bytes.fill(0, 0x1000, 0x7000); // fresh rings
      drv.handshake();
      expect(dev.broken).toBe(false);
      drv.pfns(BalloonQueue.Inflate, [pfnOf(50)]);
      expect(device.givenPages).toBe(1);
      expect(ram.page(50).every((b) => b === 0)).toBe(true);
    });
  }
});

describe('virtio-balloon: statistics', () => {
  it('the first buffer is read and held; requestStats returns it, the driver answers with fresh figures', () => {
    const { drv, control, device } = setup();
    drv.handshake();
    expect(control.requestStats()).toBe(false); // no buffer held yet
    expect(control.info().stats).toBeUndefined();
    const first = drv.stats([[4, 100n << 20n], [5, 256n << 20n], [6, 120n << 20n], [7, 1n << 20n], [0x99, 5n], [2, 7n]]);
    expect(drv.used(BalloonQueue.Stats)).toEqual([]); // held, not returned
    expect(control.info().stats).toEqual({ MEMFREE: 100n << 20n, MEMTOT: 256n << 20n, AVAIL: 120n << 20n, CACHES: 1n << 20n, MAJFLT: 7n });
    drv.ack();
    expect(control.requestStats()).toBe(true);
    expect(drv.used(BalloonQueue.Stats)).toEqual([{ id: first, len: 0 }]);
    expect(drv.ack()).toBe(INT_USED_BUFFER);
    expect(control.requestStats()).toBe(false); // under way: the driver has the buffer
    drv.stats([[4, 90n << 20n], [0, 0n], [1, 0n], [3, 12345n], [8, 0n], [9, 0n], [5, 256n << 20n]]);
    expect(control.info().stats).toEqual({ MEMFREE: 90n << 20n, SWAP_IN: 0n, SWAP_OUT: 0n, MINFLT: 12345n, HTLB_PGALLOC: 0n, HTLB_PGFAIL: 0n, MEMTOT: 256n << 20n });
    expect(device.counts.statsUpdates).toBe(2);
    expect(control.requestStats()).toBe(true);
    expect(drv.used(BalloonQueue.Stats)).toHaveLength(1);
  });

  it('a second buffer while one is held sends the older back; a request made before the queue is up is served when it is', () => {
    const { drv, control } = setup();
    drv.handshake();
    const a = drv.stats([[4, 1n]]);
    drv.stats([[4, 2n]]);
    expect(drv.used(BalloonQueue.Stats)).toEqual([{ id: a, len: 0 }]);
    expect(control.info().stats).toEqual({ MEMFREE: 2n });
    // Reset: the held buffer and the figures are the old driver's.
    drv.w(VirtioMmioReg.Status, 0);
    expect(control.info().stats).toBeUndefined();
    expect(control.requestStats()).toBe(false);
  });
});

describe('virtio-balloon: reset', () => {
  it('Status 0 gives the guest all its RAM again (actual 0, nothing given); the host\'s target stays', () => {
    const { drv, device, control } = setup();
    drv.handshake();
    control.setTargetBytes(RAM_SIZE - 3 * 4096);
    drv.pfns(BalloonQueue.Inflate, [pfnOf(20), pfnOf(21), pfnOf(22)]);
    drv.writeActual(3);
    drv.w(VirtioMmioReg.Status, 0);
    expect(device.givenPages).toBe(0);
    expect(control.info()).toMatchObject({ actualBytes: RAM_SIZE, targetBytes: RAM_SIZE - 3 * 4096, givenPages: 0, driverReady: false });
    expect(drv.config(VirtioBalloonConfig.NumPages)).toBe(3);
  });
});

// ---------------------------------------------------------------- records

/** A device in a state with everything in it: pages given, a target,
 *  actual, a held statistics buffer with a request pending on a queue not
 *  yet notified, figures. */
function busy() {
  const s = setup();
  s.drv.handshake();
  s.control.setTargetBytes(RAM_SIZE - 5 * 4096);
  s.drv.pfns(BalloonQueue.Inflate, [pfnOf(30), pfnOf(31), pfnOf(40), pfnOf(255)]);
  s.drv.writeActual(4);
  s.drv.stats([[4, 1000n], [5, 2000n]]);
  s.device.requestStats(); // asked, not yet kicked: the buffer is still held
  return s;
}

describe('virtio-balloon: save and restore', () => {
  it('a record restores into a fresh device, which saves the same record and goes on as the first', () => {
    const a = busy();
    const record = a.dev.save();
    const b = setup();
    b.ram.bytes.set(a.ram.bytes);
    b.dev.restore(record);
    expect(b.dev.save()).toEqual(record);
    expect(b.control.info()).toEqual(a.control.info());
    expect([...b.device.givenIndices()]).toEqual([30, 31, 40, 255]);
    // Both go on alike: the pending request returns the held buffer.
    b.drv.avail.splice(0, 3, ...a.drv.avail); b.drv.next.splice(0, 3, ...a.drv.next); b.drv.seen.splice(0, 3, ...a.drv.seen); b.drv.bufAt = a.drv.bufAt;
    for (const s of [a, b]) {
      s.dev.kick(BalloonQueue.Stats);
      s.drv.pfns(BalloonQueue.Deflate, [pfnOf(31)]);
    }
    expect(b.dev.save()).toEqual(a.dev.save());
    expect(Buffer.from(b.ram.bytes).equals(Buffer.from(a.ram.bytes))).toBe(true);
    const returned = a.drv.used(BalloonQueue.Stats);
    expect(returned).toHaveLength(1);
    expect(b.drv.used(BalloonQueue.Stats)).toEqual(returned);
  });

  it('a record bent every way is refused with a CheckpointError, the device unchanged; one for other RAM too', () => {
    const record = busy().device.save();
    const tagLength = record[0];
    const bent: [Uint8Array, boolean][] = [];
    for (let n = 0; n < record.length; n++) bent.push([record.subarray(0, n), true]);
    bent.push([Uint8Array.of(...record, 0), true]);
    const v = record.slice(); v[1 + tagLength]++; bent.push([v, true]);
    for (let i = 0; i < record.length; i++) { const b = record.slice(); b[i] ^= 0xff; bent.push([b, false]); }
    let refused = 0;
    for (const [bytes, mustFail] of bent) {
      const fresh = setup().device;
      const before = fresh.save();
      try {
        fresh.restore(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(CheckpointError);
        expect(fresh.save()).toEqual(before);
        refused++;
        continue;
      }
      expect(mustFail).toBe(false);
    }
    expect(refused).toBeGreaterThan(record.length);
    const other = new VirtioBalloon({ mem: new FakeRam(), ramBase: RAM_BASE, ramSize: BigInt(RAM_SIZE / 2) });
    expect(() => other.restore(record)).toThrow(/a balloon over 256 pages of RAM, this one has 128/);
    const noStats = new VirtioBalloon({ mem: new FakeRam(), ramBase: RAM_BASE, ramSize: BigInt(RAM_SIZE), stats: false });
    expect(() => noStats.restore(record)).toThrow(CheckpointError);
  });

  it('the faults the record can hold: a target past RAM, pages past RAM, a held buffer outside RAM, a request with no buffer', () => {
    const base = setup().device;
    const forge = (edit: (d: DataView, bytes: Uint8Array) => void): Uint8Array => {
      const s = busy();
      const r = s.device.save();
      edit(new DataView(r.buffer), r);
      return r;
    };
    const tag = 1 + 'virtio-balloon'.length + 4;
    // Fields: ramPages u32, num_pages u32, actual u32, bitmap (u32 length + 32 bytes), requested, held, head u16, count u32, addr u64, len u32...
    const bitmap = tag + 12 + 4;
    const requested = bitmap + PAGES / 8, held = requested + 1, segAddr = held + 1 + 2 + 4;
    expect(() => base.restore(forge((d) => d.setUint32(tag + 4, PAGES + 1, true)))).toThrow(/num_pages 257 is more than the RAM's 256 pages/);
    expect(() => base.restore(forge((d) => d.setBigUint64(segAddr, 0x1000n, true)))).toThrow(/a statistics segment at 0x1000, 20 bytes, outside guest RAM/);
    expect(() => base.restore(forge((d) => d.setUint16(held + 1, QSIZE, true)))).toThrow(/beyond the statistics queue's 16/);
    // Requested, but no buffer held: the held flag cleared and its fields cut out.
    const noHeld = forge(() => {});
    const cut = Uint8Array.of(...noHeld.subarray(0, held), 0, ...noHeld.subarray(held + 1 + 2 + 4 + 12));
    expect(() => base.restore(cut)).toThrow(/statistics requested with no buffer held/);
    expect(base.givenPages).toBe(0);
    expect(base.save()).toEqual(setup().device.save());
  });
});

// ---------------------------------------------------------------- on a SystemVM

describe('the balloon on a SystemVM', () => {
  const cpuModule = loadCpuModule('release');
  const MiB = 1 << 20;
  const sectionsOf = (vm: SystemVM, file: Uint8Array): string[] =>
    readCheckpoint(file, { machine: systemMachineId(vm.cpu.saveHart().length, vm.cpu.layout.EXIT_CONTROLS - vm.cpu.layout.EXIT_REASON) }).sections.map((s) => s.name);
  const make = (balloon?: boolean) => SystemVM.create({ kernel: new Uint8Array(64), memoryBytes: 16 * MiB, cpuModule, balloon, diagnostics: () => {}, random: (b) => b.fill(1) });

  it('is off by default: no node in the tree, no section in the checkpoint, balloon() undefined, the operations a NoBalloonError', () => {
    const vm = make();
    expect(findNode(parseFdt(vm.dtb).root, '/soc/virtio_mmio@10003000')).toBeUndefined();
    expect(vm.balloon()).toBeUndefined();
    expect(() => vm.setBalloonTarget(MiB)).toThrow(NoBalloonError);
    expect(() => vm.requestBalloonStats()).toThrow(/requestBalloonStats: this VM has no balloon/);
    expect(sectionsOf(vm, vm.checkpoint())).not.toContain('balloon');
    expect(vm.configuration().balloon).toBe(false);
    expect('balloon' in vm.metrics()).toBe(false);
  });

  it('balloon: true puts it in virtio-mmio slot 2 (PLIC source 3), in the tree and in the checkpoint, which restores it', () => {
    const vm = make(true);
    const node = findNode(parseFdt(vm.dtb).root, '/soc/virtio_mmio@10003000');
    expect(node).toBeDefined();
    expect(vm.bus.load(0x1000_3000n + BigInt(VirtioMmioReg.DeviceID), 4)).toBe(5n);
    expect(vm.balloon()).toEqual({ ramBytes: 16 * MiB, targetBytes: 16 * MiB, actualBytes: 16 * MiB, givenPages: 0, stats: undefined, driverReady: false });
    vm.setBalloonTarget(4 * MiB);
    expect(vm.balloon()!.targetBytes).toBe(4 * MiB);
    expect(() => vm.setBalloonTarget(17 * MiB)).toThrow(BalloonTargetError);
    expect(vm.requestBalloonStats()).toBe(false);
    expect(vm.configuration().balloon).toBe(true);
    expect(vm.metrics().balloon).toEqual(vm.balloon());
    const file = vm.checkpoint();
    expect(sectionsOf(vm, file)).toContain('balloon');
    const back = SystemVM.restore(file, { cpuModule, diagnostics: () => {} });
    expect(back.balloon()).toEqual(vm.balloon());
    expect(back.dtb).toEqual(vm.dtb);
  });

  it('compact(): a fresh machine from the checkpoint, with RAM, balloon and pause state; given pages hold nothing', () => {
    const vm = make(true);
    // A driver in guest RAM, driven from here: pages 1000..1003 of RAM get
    // data, then 1001 and 1002 are given.
    const ramBase = 0x8000_0000n;
    for (const p of [1000, 1001, 1002, 1003]) vm.cpu.writeBytes(ramBase + BigInt(p) * 4096n, new Uint8Array(4096).fill(p & 0xff));
    const reg = (o: number, v: number) => vm.bus.store(0x1000_3000n + BigInt(o), 4, BigInt(v));
    const desc = ramBase + 0x10_0000n, avail = desc + 0x1000n, used = desc + 0x2000n, buf = desc + 0x3000n;
    reg(VirtioMmioReg.Status, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    reg(VirtioMmioReg.DriverFeaturesSel, 1); reg(VirtioMmioReg.DriverFeatures, 1);
    reg(VirtioMmioReg.Status, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    reg(VirtioMmioReg.QueueSel, 0); reg(VirtioMmioReg.QueueNum, 4);
    reg(VirtioMmioReg.QueueDescLow, Number(desc & 0xffff_ffffn)); reg(VirtioMmioReg.QueueDriverLow, Number(avail & 0xffff_ffffn)); reg(VirtioMmioReg.QueueDeviceLow, Number(used & 0xffff_ffffn));
    reg(VirtioMmioReg.QueueReady, 1);
    reg(VirtioMmioReg.Status, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    const w = (a: bigint, b: Uint8Array) => vm.cpu.writeBytes(a, b);
    const le = (v: bigint, n: number) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn); return b; };
    w(buf, Uint8Array.of(...le((ramBase >> 12n) + 1001n, 4), ...le((ramBase >> 12n) + 1002n, 4)));
    w(desc, Uint8Array.of(...le(buf, 8), ...le(8n, 4), 0, 0, 0, 0));
    w(avail + 4n, le(0n, 2)); w(avail + 2n, le(1n, 2));
    reg(VirtioMmioReg.QueueNotify, 0);
    expect(vm.balloon()!.givenPages).toBe(2);
    const page = (m: SystemVM, p: number) => m.cpu.ramView(p * 4096, 4096);
    expect(page(vm, 1001).every((b) => b === 0) && page(vm, 1002).every((b) => b === 0)).toBe(true);
    expect(page(vm, 1000)[0]).toBe(1000 & 0xff);

    vm.input('typed');
    vm.pause();
    const next = vm.compact();
    expect(next).not.toBe(vm);
    expect(next.cpu).not.toBe(vm.cpu);
    expect(next.state).toBe('Paused');
    expect(next.balloon()).toEqual(vm.balloon());
    expect(next.metrics().console).toEqual({ bytesOut: 0, bytesIn: 5 });
    for (const p of [1000, 1003]) expect(page(next, p)).toEqual(page(vm, p));
    expect(page(next, 1001).every((b) => b === 0)).toBe(true);
    // The checkpoint the new machine was made from kept no given page.
    expect(next.checkpoint()).toEqual(vm.checkpoint());
    // Its next snapshot is Full: a Diff would build on a file nobody has.
    expect(() => next.snapshot('Diff')).toThrow(CheckpointError);
  });
});
