// The system VM's `time` (10 MHz, as on virt) and the wall clock its RTC
// shows, on the one Clock of hypervisor/clock.ts. Virtual by default: the
// instruction count the virtual clock follows is the place the harts have
// reached in their round (hart-scheduler.ts): a round of one quantum per
// hart adds a quantum's worth of time, as if every hart ran at
// INSTRUCTIONS_PER_TICK x 10 MHz in parallel, and the running hart adds
// what it has used of its turn; so a boot takes the same instructions every
// time. Or the host's monotonic clock, from 0 at power-on, for interactive
// use. (A process VM's virtual clock follows its processes' instructions
// instead: time there belongs to one CPU's count, here to the round the
// harts share.)
import { hostClock, timeCsr, virtualClock, TIMEBASE_HZ, type Clock } from '../hypervisor/clock.js';
import { RecordReader, RecordWriter } from '../hypervisor/persist.js';

/** The tag and version of the clock's saved record (docs/CHECKPOINTS.md). */
export const GUEST_CLOCK_RECORD = 'guest-clock';
export const GUEST_CLOCK_RECORD_VERSION = 1;

/** Virtual clock: instructions per tick of the 10 MHz `time`: a 200 MHz
 *  hart, near what the interpreter runs, so that guest time keeps pace with
 *  the host's roughly. */
export const INSTRUCTIONS_PER_TICK = 20n;

const NS_PER_TICK = 1_000_000_000n / TIMEBASE_HZ;
const NS_PER_INSTRUCTION = NS_PER_TICK / INSTRUCTIONS_PER_TICK;
const TICKS_PER_MS = Number(TIMEBASE_HZ) / 1000;

export class GuestClock {
  /** The clock itself (hypervisor/clock.ts); replaced when a host clock is
   *  restored, to go on from the saved time. */
  private clock: Clock;

  /** `used`: the instructions the running hart has used of its turn. */
  constructor(kind: 'virtual' | 'host', private readonly used: () => bigint) {
    this.clock = kind === 'host' ? hostClock(0n, 'start') : virtualClock(used, NS_PER_INSTRUCTION);
  }

  get host(): boolean {
    return this.clock.kind === 'host';
  }

  /** `time` now, for the running hart (ticks). */
  time(): bigint {
    return timeCsr(this.clock);
  }

  /** A new round starts after every hart's turn of `quantum` instructions
   *  (the host's clock goes its own way). */
  nextRound(quantum: bigint): void {
    this.clock.skip(quantum * NS_PER_INSTRUCTION);
  }

  /** Every hart waits: virtual time jumps `ticks` forward. */
  skip(ticks: bigint): void {
    this.clock.skip(ticks * NS_PER_TICK);
  }

  /** The wall clock the RTC shows, in the timebase's ticks: the host's with
   *  the host clock; with the virtual clock, the virtual epoch plus the
   *  machine's own time, so that a boot depends on nothing outside the
   *  guest (the kernel reads the RTC at boot, and turning a date into
   *  fields takes more instructions for some dates than for others). */
  wallClockNs(): bigint {
    // (The host's as Date tells it, as QEMU's RTC does: never ahead of what
    // the host's own programs read at the same moment.)
    if (this.host) return BigInt(Date.now()) * 1_000_000n;
    return this.clock.realtimeNs() / NS_PER_TICK * NS_PER_TICK;
  }

  /** The clock's state as a record: its kind, virtual time at the start of
   *  the round (ticks: all the virtual clock keeps, besides the running
   *  hart's count, which is the scheduler's), and (host clock) `time` now,
   *  from which a restored clock goes on. Only the scheduler calls it
   *  between turns, but the running hart's count is left out in any case. */
  save(): Uint8Array {
    const host = this.host;
    const roundTime = host ? 0n : this.clock.save().sleptNs / NS_PER_TICK;
    return new RecordWriter(GUEST_CLOCK_RECORD, GUEST_CLOCK_RECORD_VERSION)
      .bool(host).u64(roundTime).u64(host ? this.time() : 0n)
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
    if (host) this.clock = hostClock(hostTicks * NS_PER_TICK, 'start');
    else this.clock.restore({ version: 1, kind: 'virtual', sleptNs: roundTime * NS_PER_TICK });
  }

  /** Host milliseconds from `time` `now` until `ticks`. */
  static msBetween(now: bigint, ticks: bigint): number {
    return Number(ticks - now) / TICKS_PER_MS;
  }
}
