/**
 * The Goldfish real-time clock (DT compatible "google,goldfish-rtc"), as on
 * QEMU virt. Time is nanoseconds since the Unix epoch, 64 bits, read as two
 * 32-bit halves. Registers (32 bits each):
 *
 *   0x00 TIME_LOW        read: low half of now, and latches the high half
 *                        write: sets the clock to (TIME_HIGH written):(value)
 *   0x04 TIME_HIGH       read: the half latched by the last TIME_LOW read
 *                        write: high half for the next TIME_LOW write
 *   0x08 ALARM_LOW       write: arms the alarm at (ALARM_HIGH):(value)
 *   0x0c ALARM_HIGH      high half of the alarm
 *   0x10 IRQ_ENABLED     bit 0: the alarm interrupt reaches the IRQ line
 *   0x14 CLEAR_ALARM     write: disarms the alarm
 *   0x18 ALARM_STATUS    read: 1 while an alarm is armed and has not fired
 *   0x1c CLEAR_INTERRUPT write: clears the interrupt
 *
 * An alarm fires (disarms itself and raises the interrupt) when the clock
 * reaches it: at once if it is armed in the past, otherwise at the first
 * `poll()` (ring -1 calls it, e.g. on its timer tick; `nextAlarmHostNs()`
 * tells it when) or register access at or after that moment. The IRQ line is
 * high while the interrupt is pending and enabled.
 */

import { read32Wide, type AccessSize, type IrqLine, type MmioDevice } from './bus.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

/** The tag and version of the RTC's saved record (docs/CHECKPOINTS.md). */
export const GOLDFISH_RTC_RECORD = 'goldfish-rtc';
export const GOLDFISH_RTC_RECORD_VERSION = 1;

export interface GoldfishRtcOptions {
  base?: bigint;
  size?: bigint;
  irq: IrqLine;
  /** Host wall-clock time, ns since the epoch. */
  nowNs?: () => bigint;
  name?: string;
}

const M32 = 0xffff_ffffn;

/** Register offsets, as Linux's rtc-goldfish.c and QEMU's goldfish_rtc.c name them. */
export enum GoldfishRtcReg {
  TimeLow = 0x00,
  TimeHigh = 0x04,
  AlarmLow = 0x08,
  AlarmHigh = 0x0c,
  IrqEnabled = 0x10,
  ClearAlarm = 0x14,
  AlarmStatus = 0x18,
  ClearInterrupt = 0x1c,
}

export class GoldfishRtc implements MmioDevice {
  readonly name: string;
  readonly base: bigint;
  readonly size: bigint;
  private readonly irq: IrqLine;
  private readonly nowNs: () => bigint;
  /** Guest time minus host time. */
  private offsetNs = 0n;
  private timeHighLatch = 0;
  private timeHighWrite = 0;
  private alarmLow = 0;
  private alarmHigh = 0;
  private alarmArmed = false;
  private irqPending = false;
  private irqEnabled = false;
  private irqLevel = false;

  constructor(opts: GoldfishRtcOptions) {
    this.name = opts.name ?? 'rtc';
    this.base = opts.base ?? 0x10_1000n;
    this.size = opts.size ?? 0x1000n;
    this.irq = opts.irq;
    this.nowNs = opts.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.irq.set(false);
  }

  /** The guest's clock, ns since the epoch. */
  guestNowNs(): bigint {
    return BigInt.asUintN(64, this.nowNs() + this.offsetNs);
  }

  private get alarmNs(): bigint {
    return (BigInt(this.alarmHigh) << 32n) | BigInt(this.alarmLow);
  }

  /** When (host clock, ns since the epoch) the armed alarm fires; undefined
   *  when none is armed. */
  nextAlarmHostNs(): bigint | undefined {
    return this.alarmArmed ? this.alarmNs - this.offsetNs : undefined;
  }

  /** Fires the alarm if its time has come. */
  poll(): void {
    if (this.alarmArmed && this.guestNowNs() >= this.alarmNs) {
      this.alarmArmed = false;
      this.irqPending = true;
      this.update();
    }
  }

  get interruptPending(): boolean {
    return this.irqPending;
  }

  private update(): void {
    const level = this.irqPending && this.irqEnabled;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  private read32(offset: number): number {
    switch (offset) {
      case GoldfishRtcReg.TimeLow: {
        const now = this.guestNowNs();
        this.timeHighLatch = Number(now >> 32n);
        return Number(now & M32);
      }
      case GoldfishRtcReg.TimeHigh: return this.timeHighLatch;
      case GoldfishRtcReg.AlarmLow: return this.alarmLow;
      case GoldfishRtcReg.AlarmHigh: return this.alarmHigh;
      case GoldfishRtcReg.IrqEnabled: return this.irqEnabled ? 1 : 0;
      case GoldfishRtcReg.AlarmStatus: return this.alarmArmed ? 1 : 0;
    }
    return 0;
  }

  private write32(offset: number, v: number): void {
    switch (offset) {
      case GoldfishRtcReg.TimeLow: {
        const t = (BigInt(this.timeHighWrite) << 32n) | BigInt(v >>> 0);
        this.offsetNs = t - this.nowNs();
        break;
      }
      case GoldfishRtcReg.TimeHigh: this.timeHighWrite = v >>> 0; break;
      case GoldfishRtcReg.AlarmLow: this.alarmLow = v >>> 0; this.alarmArmed = true; break;
      case GoldfishRtcReg.AlarmHigh: this.alarmHigh = v >>> 0; break;
      case GoldfishRtcReg.IrqEnabled: this.irqEnabled = (v & 1) === 1; this.update(); break;
      case GoldfishRtcReg.ClearAlarm: this.alarmArmed = false; break;
      case GoldfishRtcReg.ClearInterrupt: this.irqPending = false; this.update(); break;
    }
  }

  /** The device's state as a record: the guest's offset from the wall
   *  clock, the latches, the alarm and the interrupt. The wall clock itself
   *  is not in it: it stays the source the machine injects. */
  save(): Uint8Array {
    return new RecordWriter(GOLDFISH_RTC_RECORD, GOLDFISH_RTC_RECORD_VERSION)
      .u64(BigInt.asUintN(64, this.offsetNs)).u32(this.timeHighLatch).u32(this.timeHighWrite)
      .u32(this.alarmLow).u32(this.alarmHigh).bool(this.alarmArmed).bool(this.irqPending).bool(this.irqEnabled)
      .finish();
  }

  /** Takes the state of a record `save` wrote; the IRQ line is driven to
   *  match it. Throws CheckpointError (and changes nothing) if the record
   *  is not one. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, GOLDFISH_RTC_RECORD, [GOLDFISH_RTC_RECORD_VERSION]);
    const offsetNs = BigInt.asIntN(64, r.u64('the clock offset'));
    const timeHighLatch = r.u32('TIME_HIGH latched'), timeHighWrite = r.u32('TIME_HIGH written');
    const alarmLow = r.u32('ALARM_LOW'), alarmHigh = r.u32('ALARM_HIGH');
    const alarmArmed = r.bool('alarm armed'), irqPending = r.bool('interrupt pending'), irqEnabled = r.bool('interrupt enabled');
    r.end();
    this.offsetNs = offsetNs;
    this.timeHighLatch = timeHighLatch;
    this.timeHighWrite = timeHighWrite;
    this.alarmLow = alarmLow;
    this.alarmHigh = alarmHigh;
    this.alarmArmed = alarmArmed;
    this.irqPending = irqPending;
    this.irqEnabled = irqEnabled;
    this.irqLevel = irqPending && irqEnabled;
    this.irq.set(this.irqLevel);
  }

  read(offset: number, size: AccessSize): bigint {
    this.poll();
    return read32Wide(offset, size, (o) => this.read32(o));
  }

  write(offset: number, size: AccessSize, value: bigint): void {
    if (size === 4 && (offset & 3) === 0) this.write32(offset, Number(value & M32));
    else if (size === 8 && (offset & 7) === 0) {
      this.write32(offset + 4, Number((value >> 32n) & M32)); // high half first: TIME and ALARM commit on the low one
      this.write32(offset, Number(value & M32));
    }
    this.poll();
  }
}
