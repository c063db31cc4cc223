// The harts of a system VM taking turns on its one CPU instance: each hart's
// state is saved while another runs (Cpu.saveHart/loadHart), in rounds in
// which every hart that can run gets a quantum of QUANTUM instructions, in
// hart order. A hart in wfi (or suspended by SBI HSM) sits its turns out
// until an interrupt is pending for it; when every hart waits, virtual time
// jumps to the earliest timer deadline (guest-clock.ts), as ring -1's one
// scheduling policy decides for threads too (hypervisor/scheduler.ts). The
// scan for the next hart goes on round and round from where it stopped,
// since passing the last hart is also what makes a round's time pass. Also here: what
// reaches a hart whether it is live in the CPU or saved (its interrupt lines,
// timer, TLB flushes) and its HSM state.
import { Irq, type Cpu } from '../cpu/cpu.js';
import { HartEntry, writeEntryState } from './hart-entry.js';
import { HartState } from './sbi.js';
import { GuestClock, INSTRUCTIONS_PER_TICK } from './guest-clock.js';
import { RecordReader, RecordWriter } from '../hypervisor/persist.js';
import { earliestOf, whenIdle } from '../hypervisor/scheduler.js';

/** The tag and version of the scheduler's saved record (docs/CHECKPOINTS.md). */
export const HART_SCHEDULER_RECORD = 'hart-scheduler';
export const HART_SCHEDULER_RECORD_VERSION = 1;
const HART_STATES = new Set<number>([HartState.Started, HartState.Stopped, HartState.StartPending, HartState.StopPending, HartState.Suspended]);

/** Instructions a hart runs per turn. */
export const QUANTUM = 100_000n;
const TIMER_OFF = 0xffff_ffff_ffff_ffffn;

/** What the scheduler found when the running hart's turn ended. */
export type NextHart =
  | { kind: 'run' }
  /** Host clock, every hart waits: sleep until `time` reaches `until` (null:
   *  no timer, only a device can wake them) or until input. */
  | { kind: 'idle'; until: bigint | null }
  /** No hart can ever run again. */
  | { kind: 'stuck'; why: string };

export class HartScheduler {
  readonly states: HartState[];
  /** Saved state of each hart (the running one's is live in the CPU). */
  private readonly saved: (Uint8Array | undefined)[];
  private readonly waiting: boolean[];
  /** A hart in non-retentive suspend: where it starts again when woken. */
  private readonly resumeAt: ({ addr: bigint; opaque: bigint } | undefined)[];
  private readonly pendingFlush: boolean[];
  /** The hart whose state is in the CPU. */
  running = 0;
  /** Instructions the running hart has used of its quantum. */
  used = 0n;

  /** The machine's time, which counts the running hart's instructions. */
  readonly clock: GuestClock;

  constructor(private readonly cpu: Cpu, clock: 'virtual' | 'host', readonly harts: number) {
    this.clock = new GuestClock(clock, () => this.used);
    this.states = Array.from({ length: harts }, (_, h) => (h === 0 ? HartState.Started : HartState.Stopped));
    this.saved = Array.from({ length: harts }, () => undefined);
    this.waiting = Array.from({ length: harts }, () => false);
    this.resumeAt = Array.from({ length: harts }, () => undefined);
    this.pendingFlush = Array.from({ length: harts }, () => false);
  }

  /** The `time` CSR now, for the running hart. */
  get time(): bigint {
    return this.clock.time();
  }

  // ---- the harts' state, live or saved ----
  private csrOf(hart: number, name: 'sip' | 'sie' | 'stimecmp'): bigint {
    if (hart === this.running) return this.cpu.csr(name);
    const b = this.saved[hart]!;
    return new DataView(b.buffer, b.byteOffset, b.length).getBigUint64(this.cpu.hartCsrOffset(name), true);
  }

  private setCsrOf(hart: number, name: 'sip' | 'stimecmp', v: bigint): void {
    if (hart === this.running) { this.cpu.setCsr(name, v); return; }
    const b = this.saved[hart]!;
    new DataView(b.buffer, b.byteOffset, b.length).setBigUint64(this.cpu.hartCsrOffset(name), v, true);
  }

  /** Ring -1 raises or lowers an interrupt line of a hart. */
  setPending(hart: number, irq: number, pending: boolean): void {
    if (this.saved[hart] === undefined && hart !== this.running) return; // never started
    const bit = 1n << BigInt(irq);
    const sip = this.csrOf(hart, 'sip');
    this.setCsrOf(hart, 'sip', pending ? sip | bit : sip & ~bit);
  }

  /** A hart's timer deadline (stimecmp), in `time` ticks. */
  setTimer(hart: number, when: bigint): void {
    this.setCsrOf(hart, 'stimecmp', when);
  }

  /** A remote sfence.vma: at once for the running hart, else before it next runs. */
  remoteSfence(hart: number): void {
    if (hart === this.running) this.cpu.flushTlb(); else this.pendingFlush[hart] = true;
  }

  /** HSM hart_start: the hart starts as the boot hart did (hart-entry.ts). */
  startHart(hart: number, addr: bigint, opaque: bigint): void {
    const state = new Uint8Array(this.cpu.saveHart().length);
    writeEntryState(this.cpu, state, HartEntry.HartStart, hart, addr, opaque);
    this.saved[hart] = state;
    this.waiting[hart] = false;
    this.states[hart] = HartState.Started;
  }

  /** HSM hart_stop of the running hart. */
  stopHart(): void {
    this.states[this.running] = HartState.Stopped;
  }

  /** HSM hart_suspend of the running hart (non-retentive with `resume`). */
  suspendHart(resume?: { addr: bigint; opaque: bigint }): void {
    this.states[this.running] = HartState.Suspended;
    this.waiting[this.running] = true;
    this.resumeAt[this.running] = resume;
  }

  /** The running hart executed wfi: it sits its turns out until an
   *  interrupt is pending for it (next() skips time ahead when every hart
   *  waits). */
  waitForInterrupt(): void {
    this.waiting[this.running] = true;
  }

  /** Whether an interrupt is pending and enabled in sie for `hart` (what
   *  ends a wfi, whatever sstatus.SIE says), its timer counted at `time`. */
  private interruptPending(hart: number, time: bigint): boolean {
    let sip = this.csrOf(hart, 'sip');
    if (time >= this.csrOf(hart, 'stimecmp')) sip |= 1n << BigInt(Irq.SupervisorTimer);
    return (sip & this.csrOf(hart, 'sie')) !== 0n;
  }

  runnable(hart: number, time: bigint): boolean {
    const state = this.states[hart];
    if (state !== HartState.Started && state !== HartState.Suspended) return false;
    if (this.waiting[hart] && this.interruptPending(hart, time)) {
      this.waiting[hart] = false;
      if (state === HartState.Suspended) this.resume(hart);
    }
    return !this.waiting[hart];
  }

  /** Whether the running hart's turn is over (it waits, or used its quantum). */
  turnOver(): boolean {
    return !this.runnable(this.running, this.time) || this.used >= QUANTUM;
  }

  /** The end of an SBI hart_suspend: on after the call, or (non-retentive)
   *  from its resume address, as the firmware leaves a waking hart
   *  (hart-entry.ts: paging, SIE and sie off, a0 = its id, a1 = opaque). */
  private resume(hart: number): void {
    this.states[hart] = HartState.Started;
    const at = this.resumeAt[hart];
    if (at === undefined) return;
    this.resumeAt[hart] = undefined;
    const state = hart === this.running ? this.cpu.saveHart() : this.saved[hart]!;
    writeEntryState(this.cpu, state, HartEntry.NonRetentiveResume, hart, at.addr, at.opaque);
    if (hart === this.running) this.cpu.loadHart(state); else this.saved[hart] = state;
  }

  /** Hands the CPU to the next hart that can run, starting new rounds (and
   *  skipping idle time) as needed. */
  next(): NextHart {
    // The running hart's turn is over: time is the round's until the next
    // one starts (the virtual clock counts the running hart's instructions).
    this.used = 0n;
    let h = this.running;
    for (let scanned = 0; ; scanned++) {
      h++;
      if (h === this.harts) { h = 0; this.clock.nextRound(QUANTUM); }
      if (this.runnable(h, this.time)) break;
      if (scanned >= this.harts) {
        // Nobody can run: time jumps to the earliest deadline of a waiting hart.
        const live = (w: number) => this.states[w] === HartState.Started || this.states[w] === HartState.Suspended;
        const deadlines = Array.from({ length: this.harts }, (_, w) => {
          if (!live(w) || !this.waiting[w] || (this.csrOf(w, 'sie') & (1n << BigInt(Irq.SupervisorTimer))) === 0n) return undefined;
          const d = this.csrOf(w, 'stimecmp');
          return d === TIMER_OFF ? undefined : d;
        });
        const any = this.states.some((_, w) => live(w));
        // On the host clock a device (console input) may still wake a hart.
        const idle = whenIdle(this.clock.host ? 'host' : 'virtual', this.time, earliestOf(deadlines), this.clock.host && any);
        switch (idle.kind) {
          case 'wait': return { kind: 'idle', until: idle.until };
          case 'host': return { kind: 'idle', until: null };
          case 'stuck':
            return {
              kind: 'stuck',
              why: any
                ? `every hart waits for an interrupt that can never come (wfi with no timer and no device to wake them; pc 0x${this.cpu.pc.toString(16)})`
                : 'every hart has stopped (SBI HSM hart_stop)',
            };
          case 'skip': this.clock.skip(idle.by); break;
          case 'again': break;
        }
        scanned = 0;
      }
    }
    if (h !== this.running) {
      this.saved[this.running] = this.cpu.saveHart();
      this.cpu.loadHart(this.saved[h]!);
      this.running = h;
    }
    return { kind: 'run' };
  }

  /** Readies the running hart for a slice: a remote fence it was sent, its
   *  `time`; returns the instructions it may run, up to its timer deadline
   *  at most so that the timer fires on time. */
  beginSlice(): bigint {
    const cpu = this.cpu;
    if (this.pendingFlush[this.running]) { cpu.flushTlb(); this.pendingFlush[this.running] = false; }
    const now = this.time;
    cpu.time = now;
    let budget = QUANTUM - this.used;
    const deadline = cpu.csr('stimecmp');
    if (deadline > now) {
      const until = (deadline - now) * INSTRUCTIONS_PER_TICK;
      if (until < budget) budget = until;
    }
    return budget;
  }

  /** The scheduler's state as a record: which hart runs and how much of its
   *  turn it used, and per hart its HSM state, whether it waits, a pending
   *  remote fence, its resume point and its parked state. The running
   *  hart's registers are live in the CPU: they are the CPU's record, not
   *  this one (what `saved` holds for it is kept as it is). */
  save(): Uint8Array {
    const w = new RecordWriter(HART_SCHEDULER_RECORD, HART_SCHEDULER_RECORD_VERSION)
      .u32(this.harts).u32(this.running).u64(this.used);
    for (let h = 0; h < this.harts; h++) {
      const at = this.resumeAt[h], saved = this.saved[h];
      w.u8(this.states[h]).bool(this.waiting[h]).bool(this.pendingFlush[h])
        .bool(at !== undefined).u64(at?.addr ?? 0n).u64(at?.opaque ?? 0n)
        .bool(saved !== undefined).bytes(saved ?? new Uint8Array(0));
    }
    return w.finish();
  }

  /** Takes a record `save` wrote for as many harts on this CPU module
   *  (the CPU's own record restores the running hart's registers). Throws
   *  CheckpointError and changes nothing if it cannot. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, HART_SCHEDULER_RECORD, [HART_SCHEDULER_RECORD_VERSION]);
    const harts = r.u32('the hart count');
    if (harts !== this.harts) r.invalid(`the record is of ${harts} harts, this machine has ${this.harts}`);
    const running = r.u32('the running hart'), used = r.u64('the instructions used');
    const hartBytes = this.cpu.saveHart().length;
    const per = Array.from({ length: harts }, (_, h) => {
      const state = r.u8(`hart ${h}'s state`), waiting = r.bool(`hart ${h} waiting`), flush = r.bool(`hart ${h}'s pending fence`);
      const hasResume = r.bool(`hart ${h} resuming`), addr = r.u64(`hart ${h}'s resume address`), opaque = r.u64(`hart ${h}'s resume opaque`);
      const hasSaved = r.bool(`hart ${h} saved`), saved = r.bytes(`hart ${h}'s state`);
      return { state, waiting, flush, resume: hasResume ? { addr, opaque } : undefined, hasResume, hasSaved, saved };
    });
    r.end();
    if (running >= harts) r.invalid(`running hart ${running} of ${harts}`);
    per.forEach((p, h) => {
      if (!HART_STATES.has(p.state)) r.invalid(`hart ${h}'s state ${p.state} is not an HSM state`);
      if (p.hasSaved ? p.saved.length !== hartBytes : p.saved.length !== 0) {
        r.invalid(`hart ${h}'s saved state is ${p.saved.length} bytes, a hart's state is ${hartBytes} on this CPU module`);
      }
      const live = p.state === HartState.Started || p.state === HartState.Suspended;
      if (live && h !== running && !p.hasSaved) r.invalid(`hart ${h} is started but has no saved state`);
    });
    this.running = running;
    this.used = used;
    per.forEach((p, h) => {
      this.states[h] = p.state;
      this.waiting[h] = p.waiting;
      this.pendingFlush[h] = p.flush;
      this.resumeAt[h] = p.resume;
      this.saved[h] = p.hasSaved ? p.saved : undefined;
    });
  }

  /** The running hart ran `n` instructions of its turn. */
  ran(n: bigint): void {
    this.used += n;
  }
}
