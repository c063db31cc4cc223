/**
 * The virtio MMIO transport, version 2 only (Virtual I/O Device (VIRTIO)
 * 1.1/1.2, "Virtio Over MMIO"; the legacy version 1 layout is not offered).
 * Registers, 32 bits, at offsets from the device base:
 *
 *   0x000 MagicValue 0x74726976 ("virt")   0x004 Version 2
 *   0x008 DeviceID   0x00c VendorID
 *   0x010 DeviceFeatures (R)  0x014 DeviceFeaturesSel (W)
 *   0x020 DriverFeatures (W)  0x024 DriverFeaturesSel (W)
 *   0x030 QueueSel (W)  0x034 QueueNumMax (R)  0x038 QueueNum (W)
 *   0x044 QueueReady (RW)  0x050 QueueNotify (W)
 *   0x060 InterruptStatus (R: bit 0 used buffer, bit 1 config change)
 *   0x064 InterruptACK (W)  0x070 Status (RW)
 *   0x080/0x084 QueueDescLow/High   0x090/0x094 QueueDriverLow/High
 *   0x0a0/0x0a4 QueueDeviceLow/High
 *   0x0ac SHMSel, 0x0b0.. SHMLen/SHMBase (no shared memory regions: -1)
 *   0x0fc ConfigGeneration   0x100.. device configuration space
 *
 * Control registers take aligned 32-bit accesses only (others read 0 and are
 * ignored); the configuration space takes any size at any offset.
 *
 * Feature negotiation: the device offers its own features plus
 * VIRTIO_F_VERSION_1 (and VIRTIO_F_INDIRECT_DESC unless disabled). When the
 * driver sets FEATURES_OK, the features it accepted are checked: if it took
 * any we did not offer, or not VIRTIO_F_VERSION_1, FEATURES_OK is not set
 * (the driver sees it clear when it reads Status back).
 *
 * Writing 0 to Status resets the device. Queues are processed on
 * QueueNotify once DRIVER_OK is set (and all at once when it gets set).
 *
 * A malformed request (a VirtioError from the virtqueue or the device model,
 * or any other exception) halts that queue, sets DEVICE_NEEDS_RESET (0x40)
 * in Status, sends a configuration-change interrupt if DRIVER_OK is set, and
 * logs one line through `log` naming the device, the queue and the fault.
 * Nothing ever throws out of `read`/`write`.
 */

import { hex, SIZE_MASK, type AccessSize, type GuestMemory, type IrqLine, type MmioDevice } from './bus.js';
import { Virtqueue, VirtioError, VIRTQ_AVAIL_F_NO_INTERRUPT, DEFAULT_MAX_CHAIN_BYTES, type VirtqueueState } from './virtqueue.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

/** The tag and version of the transport's saved record (docs/CHECKPOINTS.md). */
export const VIRTIO_MMIO_RECORD = 'virtio-mmio';
export const VIRTIO_MMIO_RECORD_VERSION = 1;

export { Virtqueue, DescChain, VirtioError } from './virtqueue.js';
export type { Segment } from './virtqueue.js';

export const VIRTIO_MMIO_MAGIC = 0x74726976;
/** The register layout's version: 2, the virtio 1.x ("modern") one. */
export const VIRTIO_MMIO_VERSION = 2;

/** Register offsets of the virtio-mmio transport (virtio 1.2, section
 *  4.2.2 "MMIO Device Register Layout"), named as the specification names them. */
export enum VirtioMmioReg {
  MagicValue = 0x000,
  Version = 0x004,
  DeviceID = 0x008,
  VendorID = 0x00c,
  DeviceFeatures = 0x010,
  DeviceFeaturesSel = 0x014,
  DriverFeatures = 0x020,
  DriverFeaturesSel = 0x024,
  QueueSel = 0x030,
  QueueNumMax = 0x034,
  QueueNum = 0x038,
  QueueReady = 0x044,
  QueueNotify = 0x050,
  InterruptStatus = 0x060,
  InterruptACK = 0x064,
  Status = 0x070,
  QueueDescLow = 0x080,
  QueueDescHigh = 0x084,
  QueueDriverLow = 0x090,
  QueueDriverHigh = 0x094,
  QueueDeviceLow = 0x0a0,
  QueueDeviceHigh = 0x0a4,
  SHMSel = 0x0ac,
  SHMLenLow = 0x0b0,
  SHMLenHigh = 0x0b4,
  SHMBaseLow = 0x0b8,
  SHMBaseHigh = 0x0bc,
  ConfigGeneration = 0x0fc,
  /** The device-specific configuration space starts here. */
  Config = 0x100,
}
export const VIRTIO_F_INDIRECT_DESC = 1n << 28n;
export const VIRTIO_F_EVENT_IDX = 1n << 29n;
export const VIRTIO_F_VERSION_1 = 1n << 32n;

export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 0x40;
export const STATUS_FAILED = 0x80;

export const INT_USED_BUFFER = 1;
export const INT_CONFIG_CHANGE = 2;

/** A device model behind the transport. */
export interface VirtioDevice {
  /** Virtio device id (2 block, 4 entropy, ...). */
  readonly deviceId: number;
  /** Device-specific feature bits offered (the transport adds its own). */
  readonly features: bigint;
  /** Maximum size of each queue (powers of 2); the count is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Upper bound of one chain's total length (default 16 MiB). */
  readonly maxChainBytes?: number;
  configRead(offset: number, size: AccessSize): bigint;
  configWrite?(offset: number, size: AccessSize, value: bigint): void;
  /** Called on a notification of a ready queue: take chains with
   *  queue.pop(), return them with queue.push(). May throw VirtioError. */
  process(queue: Virtqueue): void;
  /** The features the driver accepted (at FEATURES_OK). */
  negotiated?(features: bigint): void;
  /** The model's own state as a record (the transport's record holds it). */
  save?(): Uint8Array;
  /** Takes a record `save` wrote; throws CheckpointError and changes
   *  nothing if it cannot. */
  restore?(record: Uint8Array): void;
  /** Device reset (Status written 0). */
  reset?(): void;
}

export interface VirtioMmioOptions {
  base: bigint;
  size?: bigint;
  irq: IrqLine;
  mem: GuestMemory;
  device: VirtioDevice;
  /** One line per fault. */
  log?: (line: string) => void;
  name?: string;
  vendorId?: number;
  /** Offer VIRTIO_F_INDIRECT_DESC (default true). */
  indirectDesc?: boolean;
}

const M32 = 0xffff_ffffn;

export class VirtioMmio implements MmioDevice {
  readonly name: string;
  readonly base: bigint;
  readonly size: bigint;
  readonly device: VirtioDevice;
  readonly queues: readonly Virtqueue[];
  readonly offered: bigint;
  private readonly irq: IrqLine;
  private readonly log: (line: string) => void;
  private readonly vendorId: number;

  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private negotiatedFeatures = 0n;
  private queueSel = 0;
  private interruptStatus = 0;
  private configGeneration = 0;
  private shmSel = 0;
  private irqLevel = false;
  /** Faults logged since the last reset. */
  faults = 0;

  constructor(opts: VirtioMmioOptions) {
    this.base = opts.base;
    this.size = opts.size ?? 0x1000n;
    this.device = opts.device;
    this.name = opts.name ?? `virtio${opts.device.deviceId}@${hex(opts.base)}`;
    this.irq = opts.irq;
    this.log = opts.log ?? ((line) => console.error(line));
    this.vendorId = opts.vendorId ?? 0x5256_4953; // "SIVR"
    this.offered = opts.device.features | VIRTIO_F_VERSION_1 | (opts.indirectDesc === false ? 0n : VIRTIO_F_INDIRECT_DESC);
    const maxChainBytes = opts.device.maxChainBytes ?? DEFAULT_MAX_CHAIN_BYTES;
    this.queues = opts.device.queueMaxSizes.map((n, i) => new Virtqueue(opts.mem, i, n, { maxChainBytes }));
    this.irq.set(false);
  }

  /** The Status register. */
  get deviceStatus(): number { return this.status; }
  /** The features accepted at FEATURES_OK (0 before). */
  get features(): bigint { return this.negotiatedFeatures; }
  get broken(): boolean { return (this.status & STATUS_DEVICE_NEEDS_RESET) !== 0; }

  private setInterrupt(bits: number): void {
    this.interruptStatus |= bits;
    this.updateIrq();
  }

  private updateIrq(): void {
    const level = this.interruptStatus !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  /** The device's configuration changed (a device model calls this). */
  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.status & STATUS_DRIVER_OK) this.setInterrupt(INT_CONFIG_CHANGE);
  }

  private fault(queue: number | undefined, e: unknown): void {
    const what = e instanceof VirtioError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
    if (queue !== undefined) this.queues[queue].halted = true;
    this.faults++;
    this.log(`${this.name}: ${queue !== undefined ? `queue ${queue}: ` : ''}${what}; device needs reset`);
    const was = this.status & STATUS_DEVICE_NEEDS_RESET;
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    if (!was && this.status & STATUS_DRIVER_OK) this.setInterrupt(INT_CONFIG_CHANGE);
  }

  private reset(): void {
    this.status = 0;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.driverFeatures = 0n;
    this.negotiatedFeatures = 0n;
    this.queueSel = 0;
    this.interruptStatus = 0;
    this.shmSel = 0;
    for (const q of this.queues) q.reset();
    this.device.reset?.();
    this.updateIrq();
  }

  /** Processes a queue now (as a notification would). */
  kick(index: number): void {
    const q = this.queues[index];
    if (q === undefined || !q.ready || q.halted || !(this.status & STATUS_DRIVER_OK)) return;
    try {
      this.device.process(q);
    } catch (e) {
      this.fault(index, e);
    }
    if (q.pushed > 0) {
      q.pushed = 0;
      let flags = 0;
      try { flags = q.availFlags(); } catch { /* validated at QueueReady: cannot happen */ }
      if (!(flags & VIRTQ_AVAIL_F_NO_INTERRUPT)) this.setInterrupt(INT_USED_BUFFER);
    }
  }

  private setStatus(v: number): void {
    if (v === 0) { this.reset(); return; }
    const old = this.status;
    let next = (v & 0xff & ~STATUS_DEVICE_NEEDS_RESET) | (old & STATUS_DEVICE_NEEDS_RESET);
    if (next & STATUS_FEATURES_OK && !(old & STATUS_FEATURES_OK)) {
      const f = this.driverFeatures;
      const extra = f & ~this.offered;
      if (extra !== 0n || !(f & VIRTIO_F_VERSION_1)) {
        next &= ~STATUS_FEATURES_OK;
        this.log(
          `${this.name}: FEATURES_OK refused: driver features ${hex(f)}` +
            (extra !== 0n ? ` include ${hex(extra)}, not offered (offered ${hex(this.offered)})` : ' lack VIRTIO_F_VERSION_1'),
        );
      } else {
        this.negotiatedFeatures = f;
        const indirect = (f & VIRTIO_F_INDIRECT_DESC) !== 0n;
        for (const q of this.queues) q.indirect = indirect;
        this.device.negotiated?.(f);
      }
    }
    this.status = next;
    if (next & STATUS_DRIVER_OK && !(old & STATUS_DRIVER_OK)) {
      for (let i = 0; i < this.queues.length; i++) this.kick(i);
    }
  }

  private get selected(): Virtqueue | undefined {
    return this.queues[this.queueSel];
  }

  private read32(offset: number): number {
    const q = this.selected;
    switch (offset) {
      case VirtioMmioReg.MagicValue: return VIRTIO_MMIO_MAGIC;
      case VirtioMmioReg.Version: return VIRTIO_MMIO_VERSION;
      case VirtioMmioReg.DeviceID: return this.device.deviceId;
      case VirtioMmioReg.VendorID: return this.vendorId;
      case VirtioMmioReg.DeviceFeatures:
        return this.deviceFeaturesSel < 2 ? Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & M32) : 0;
      case VirtioMmioReg.QueueNumMax: return q?.maxSize ?? 0;
      case VirtioMmioReg.QueueNum: return q?.size ?? 0;
      case VirtioMmioReg.QueueReady: return q?.ready ? 1 : 0;
      case VirtioMmioReg.InterruptStatus: return this.interruptStatus;
      case VirtioMmioReg.Status: return this.status;
      case VirtioMmioReg.QueueDescLow: return Number((q?.descAddr ?? 0n) & M32);
      case VirtioMmioReg.QueueDescHigh: return Number((q?.descAddr ?? 0n) >> 32n);
      case VirtioMmioReg.QueueDriverLow: return Number((q?.driverAddr ?? 0n) & M32);
      case VirtioMmioReg.QueueDriverHigh: return Number((q?.driverAddr ?? 0n) >> 32n);
      case VirtioMmioReg.QueueDeviceLow: return Number((q?.deviceAddr ?? 0n) & M32);
      case VirtioMmioReg.QueueDeviceHigh: return Number((q?.deviceAddr ?? 0n) >> 32n);
      case VirtioMmioReg.SHMSel: return this.shmSel;
      case VirtioMmioReg.SHMLenLow: case VirtioMmioReg.SHMLenHigh: case VirtioMmioReg.SHMBaseLow: case VirtioMmioReg.SHMBaseHigh:
        return 0xffff_ffff; // no shared memory region with any id
      case VirtioMmioReg.ConfigGeneration: return this.configGeneration;
    }
    return 0;
  }

  private setAddr(field: 'descAddr' | 'driverAddr' | 'deviceAddr', high: boolean, v: number): void {
    const q = this.selected;
    if (q === undefined || q.ready) return; // the driver must not change a live queue
    const cur = q[field];
    q[field] = high ? (cur & M32) | (BigInt(v >>> 0) << 32n) : (cur & ~M32) | BigInt(v >>> 0);
  }

  private write32(offset: number, v: number): void {
    v >>>= 0;
    const q = this.selected;
    switch (offset) {
      case VirtioMmioReg.DeviceFeaturesSel: this.deviceFeaturesSel = v; break;
      case VirtioMmioReg.DriverFeatures:
        if (this.status & STATUS_FEATURES_OK) break; // features are fixed once accepted
        if (this.driverFeaturesSel < 2) {
          const sh = BigInt(32 * this.driverFeaturesSel);
          this.driverFeatures = (this.driverFeatures & ~(M32 << sh)) | (BigInt(v) << sh);
        } else if (v !== 0) {
          this.driverFeatures |= 1n << 64n; // a feature we cannot have offered: FEATURES_OK will be refused
        }
        break;
      case VirtioMmioReg.DriverFeaturesSel: this.driverFeaturesSel = v; break;
      case VirtioMmioReg.QueueSel: this.queueSel = v; break;
      case VirtioMmioReg.QueueNum: if (q !== undefined && !q.ready) q.size = v; break;
      case VirtioMmioReg.QueueReady:
        if (q === undefined) break;
        if ((v & 1) === 0) { q.ready = false; break; }
        if (q.ready) break;
        try {
          q.validate();
          q.ready = true;
        } catch (e) {
          this.fault(q.index, e);
        }
        break;
      case VirtioMmioReg.QueueNotify: this.kick(v & 0xffff); break;
      case VirtioMmioReg.InterruptACK:
        this.interruptStatus &= ~v;
        this.updateIrq();
        break;
      case VirtioMmioReg.Status: this.setStatus(v); break;
      case VirtioMmioReg.QueueDescLow: this.setAddr('descAddr', false, v); break;
      case VirtioMmioReg.QueueDescHigh: this.setAddr('descAddr', true, v); break;
      case VirtioMmioReg.QueueDriverLow: this.setAddr('driverAddr', false, v); break;
      case VirtioMmioReg.QueueDriverHigh: this.setAddr('driverAddr', true, v); break;
      case VirtioMmioReg.QueueDeviceLow: this.setAddr('deviceAddr', false, v); break;
      case VirtioMmioReg.QueueDeviceHigh: this.setAddr('deviceAddr', true, v); break;
      case VirtioMmioReg.SHMSel: this.shmSel = v; break;
    }
  }

  /** The transport's state as a record: its registers, each queue's record,
   *  and the device model's record. */
  save(): Uint8Array {
    const w = new RecordWriter(VIRTIO_MMIO_RECORD, VIRTIO_MMIO_RECORD_VERSION)
      .u32(this.device.deviceId).u32(this.queues.length)
      .u8(this.status).u32(this.deviceFeaturesSel).u32(this.driverFeaturesSel)
      .u64(this.driverFeatures & 0xffff_ffff_ffff_ffffn).bool(this.driverFeatures >> 64n !== 0n)
      .u64(this.negotiatedFeatures).u32(this.queueSel).u32(this.interruptStatus).u32(this.configGeneration)
      .u32(this.shmSel).u32(this.faults);
    for (const q of this.queues) w.bytes(q.save());
    return w.bytes(this.device.save?.() ?? new Uint8Array(0)).finish();
  }

  /** Takes the state of a record `save` wrote (of the same device, with the
   *  same queues), the device model's included; the IRQ line is driven to
   *  match it. Throws CheckpointError, and changes nothing, if it cannot. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, VIRTIO_MMIO_RECORD, [VIRTIO_MMIO_RECORD_VERSION]);
    const deviceId = r.u32('the device id'), queueCount = r.u32('the queue count');
    if (deviceId !== this.device.deviceId || queueCount !== this.queues.length) {
      r.invalid(`the record is of device ${deviceId} with ${queueCount} queues, this is device ${this.device.deviceId} with ${this.queues.length}`);
    }
    const status = r.u8('Status'), deviceFeaturesSel = r.u32('DeviceFeaturesSel'), driverFeaturesSel = r.u32('DriverFeaturesSel');
    const driverLow = r.u64('DriverFeatures'), driverBeyond = r.bool('a DriverFeatures bit beyond 63');
    const negotiated = r.u64('the negotiated features'), queueSel = r.u32('QueueSel');
    const interruptStatus = r.u32('InterruptStatus'), configGeneration = r.u32('ConfigGeneration');
    const shmSel = r.u32('SHMSel'), faults = r.u32('the faults');
    const queueRecords = this.queues.map((_, i) => r.bytes(`queue ${i}'s record`));
    const deviceRecord = r.bytes("the device model's record");
    r.end();
    if (interruptStatus & ~(INT_USED_BUFFER | INT_CONFIG_CHANGE)) r.invalid(`InterruptStatus 0x${interruptStatus.toString(16)} has bits that do not exist`);
    if (negotiated & ~this.offered) r.invalid(`negotiated features ${hex(negotiated)} include some not offered (${hex(this.offered)})`);
    const states: VirtqueueState[] = this.queues.map((q, i) => q.check(queueRecords[i]));
    if (this.device.restore !== undefined) this.device.restore(deviceRecord);
    else if (deviceRecord.length !== 0) r.invalid(`the device model has no state, the record holds ${deviceRecord.length} bytes of it`);
    // Nothing can fail from here on.
    this.status = status;
    this.deviceFeaturesSel = deviceFeaturesSel;
    this.driverFeaturesSel = driverFeaturesSel;
    this.driverFeatures = driverLow | (driverBeyond ? 1n << 64n : 0n);
    this.negotiatedFeatures = negotiated;
    this.queueSel = queueSel;
    this.interruptStatus = interruptStatus;
    this.configGeneration = configGeneration;
    this.shmSel = shmSel;
    this.faults = faults;
    this.queues.forEach((q, i) => q.apply(states[i]));
    this.irqLevel = this.interruptStatus !== 0;
    this.irq.set(this.irqLevel);
  }

  read(offset: number, size: AccessSize): bigint {
    try {
      if (offset >= VirtioMmioReg.Config) return this.device.configRead(offset - VirtioMmioReg.Config, size) & SIZE_MASK[size];
      if (size !== 4 || offset & 3) return 0n;
      return BigInt(this.read32(offset) >>> 0);
    } catch (e) {
      this.fault(undefined, e);
      return 0n;
    }
  }

  write(offset: number, size: AccessSize, value: bigint): void {
    try {
      if (offset >= VirtioMmioReg.Config) { this.device.configWrite?.(offset - VirtioMmioReg.Config, size, value & SIZE_MASK[size]); return; }
      if (size !== 4 || offset & 3) return;
      this.write32(offset, Number(value & M32));
    } catch (e) {
      this.fault(undefined, e);
    }
  }
}

/** Reads `size` bytes little-endian from a configuration-space image
 *  (0 past its end): a helper for device models. */
export function configBytesRead(config: Uint8Array, offset: number, size: AccessSize): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) {
    const o = offset + i;
    v = (v << 8n) | BigInt(o >= 0 && o < config.length ? config[o] : 0);
  }
  return v;
}
