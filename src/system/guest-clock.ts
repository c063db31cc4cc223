// The system VM's `time` (10 MHz, as on virt) and the wall clock its RTC
// shows. Virtual by default: `time` advances a quantum's worth per round of
// the hart scheduler (hart-scheduler.ts), as if every hart ran at
// INSTRUCTIONS_PER_TICK x 10 MHz in parallel, so a boot takes the same
// instructions every time; or the host's monotonic clock, for interactive
// use. It is not the process VM's Clock (hypervisor/clock.ts), whose
// virtual time is one hart's instret: here time is shared by harts that take
// turns, and so belongs to the round, not to any one hart's count.
import { VIRTUAL_EPOCH_NS } from '../hypervisor/clock.js';
import { QEMU_VIRT } from './device-tree.js';
import { RecordReader, RecordWriter } from '../hypervisor/persist.js';

/** The tag and version of the clock's saved record (docs/CHECKPOINTS.md). */
export const GUEST_CLOCK_RECORD = 'guest-clock';
export const GUEST_CLOCK_RECORD_VERSION = 1;

/** Virtual clock: instructions per tick of the 10 MHz `time`: a 200 MHz
 *  hart, near what the interpreter runs, so that guest time keeps pace with
 *  the host's roughly. */
export const INSTRUCTIONS_PER_TICK = 20n;

const TICKS_PER_MS = QEMU_VIRT.timebaseFrequency / 1000;

export class GuestClock {
  readonly host: boolean;
  private hostStart = performance.now();
  /** Virtual: `time` at the start of the current round, in ticks. */
  roundTime = 0n;

  constructor(kind: 'virtual' | 'host' = 'virtual') {
    this.host = kind === 'host';
  }

  /** `time` for the running hart, which has run `used` instructions of its turn. */
  time(used: bigint): bigint {
    if (this.host) return BigInt(Math.floor((performance.now() - this.hostStart) * TICKS_PER_MS));
    return this.roundTime + used / INSTRUCTIONS_PER_TICK;
  }

  /** A new round starts after every hart's turn of `quantum` instructions. */
  nextRound(quantum: bigint): void {
    this.roundTime += quantum / INSTRUCTIONS_PER_TICK;
  }

  /** Every hart waits: virtual time jumps to `ticks` (never back). */
  skipTo(ticks: bigint): void {
    if (ticks > this.roundTime) this.roundTime = ticks;
  }

  /** The wall clock the RTC shows: the host's with the host clock; with the
   *  virtual clock, the virtual epoch plus the machine's own time, so that a
   *  boot depends on nothing outside the guest (the kernel reads the RTC at
   *  boot, and turning a date into fields takes more instructions for some
   *  dates than for others). */
  wallClockNs(used: bigint): bigint {
    if (this.host) return BigInt(Date.now()) * 1_000_000n;
    return VIRTUAL_EPOCH_NS + this.time(used) * (1_000_000_000n / BigInt(QEMU_VIRT.timebaseFrequency));
  }

  /** The clock's state as a record: its kind, the round's virtual time,
   *  and (host clock) `time` now, from which a restored clock goes on. */
  save(): Uint8Array {
    return new RecordWriter(GUEST_CLOCK_RECORD, GUEST_CLOCK_RECORD_VERSION)
      .bool(this.host).u64(this.roundTime).u64(this.host ? this.time(0n) : 0n)
      .finish();
  }

  /** Takes a record `save` wrote for a clock of the same kind: virtual time
   *  as it was; host time going on from where it was (the host's clock is
   *  not the guest's to rewind). Throws CheckpointError and changes nothing
   *  otherwise. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, GUEST_CLOCK_RECORD, [GUEST_CLOCK_RECORD_VERSION]);
    const host = r.bool('host clock'), roundTime = r.u64('the round time'), hostTicks = r.u64('the host clock\'s time');
    r.end();
    if (host !== this.host) r.invalid(`the record is of a ${host ? 'host' : 'virtual'} clock, this one is ${this.host ? 'host' : 'virtual'}`);
    if (!host && hostTicks !== 0n) r.invalid('a virtual clock with a host time');
    this.roundTime = roundTime;
    if (host) this.hostStart = performance.now() - Number(hostTicks) / TICKS_PER_MS;
  }

  /** Host milliseconds from `time` `now` until `ticks`. */
  static msBetween(now: bigint, ticks: bigint): number {
    return Number(ticks - now) / TICKS_PER_MS;
  }
}
