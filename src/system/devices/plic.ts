/**
 * The RISC-V Platform-Level Interrupt Controller, as the `virt` machine has
 * it (compatible "sifive,plic-1.0.0" / "riscv,plic0").
 *
 * Register map (offsets from base, all registers 32 bits):
 *   0x000000 + 4*s        priority of source s (s = 1..sources-1; 0 reserved)
 *   0x001000 + 4*w        pending bits, sources 32w..32w+31 (read-only)
 *   0x002000 + 0x80*c     enable bits of context c, 32 sources a word
 *   0x200000 + 0x1000*c   priority threshold of context c
 *   0x200004 + 0x1000*c   claim (read) / complete (write) of context c
 *
 * Sources are level-triggered. A source's gateway forwards a request when its
 * line is high and it is neither pending nor claimed; a line going low before
 * the claim withdraws the request (pending clears). A claim takes the
 * pending, enabled source of highest priority above the context's threshold
 * (lowest id on ties), clears its pending bit and holds the gateway closed
 * until a completion of that id (from any context the source is enabled
 * for, as the gateway is per source); if the line is still high then, the
 * source is pending again at once. A completion naming a source that is not
 * enabled for the context, or not claimed, is ignored (as the specification
 * says). Priority 0 means "never interrupt".
 *
 * Contexts follow QEMU virt: context 2h is hart h's M-mode, 2h+1 its S-mode.
 * `onContextChange(c, pending)` reports each change of a context's output
 * (ring -1 mirrors it into the hart's mip.MEIP / sip.SEIP).
 *
 * Accesses are meant to be aligned 32-bit ones; an aligned 8-byte access is
 * two registers; 1- and 2-byte reads extract from the register (a byte read
 * of a claim register does claim), 1- and 2-byte writes are ignored.
 */

import type { AccessSize, IrqLine, MmioDevice } from './bus.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

/** The tag and version of the PLIC's saved record (docs/CHECKPOINTS.md). */
export const PLIC_RECORD = 'plic';
export const PLIC_RECORD_VERSION = 1;

export interface PlicOptions {
  base?: bigint;
  size?: bigint;
  /** Number of source ids, including the reserved 0: ids 1..sources-1 usable. */
  sources: number;
  contexts: number;
  /** Writable priority bits (QEMU virt: 7 levels, i.e. 3 bits). */
  priorityBits?: number;
  onContextChange?: (context: number, pending: boolean) => void;
  name?: string;
}

// The register map of the RISC-V PLIC specification (riscv-plic.adoc,
// "Memory Map"), as the header above lists it.
const PRIORITY_BASE = 0x000000;
const PENDING_BASE = 0x001000;
const ENABLE_BASE = 0x002000;
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x200000;
const CONTEXT_STRIDE = 0x1000;
/** Within a context's block: its priority threshold and claim/complete. */
const CONTEXT_THRESHOLD = 0x0;
const CONTEXT_CLAIM = 0x4;

export class Plic implements MmioDevice {
  readonly name: string;
  readonly base: bigint;
  readonly size: bigint;
  readonly sources: number;
  readonly contexts: number;
  private readonly words: number;
  private readonly priorityMask: number;
  private readonly priority: Uint32Array;
  private readonly pendingBits: Uint32Array;
  private readonly claimedBits: Uint32Array;
  private readonly levelBits: Uint32Array;
  private readonly enable: Uint32Array; // contexts * words
  private readonly threshold: Uint32Array;
  private readonly output: Uint8Array;
  private readonly onContextChange: (context: number, pending: boolean) => void;
  private readonly lines: (IrqLine | undefined)[] = [];

  constructor(opts: PlicOptions) {
    this.name = opts.name ?? 'plic';
    this.base = opts.base ?? 0x0c00_0000n;
    this.size = opts.size ?? 0x60_0000n;
    this.sources = opts.sources;
    this.contexts = opts.contexts;
    if (!Number.isInteger(this.sources) || this.sources < 2 || this.sources > 1024) {
      throw new Error(`Plic: sources must be 2..1024 (got ${this.sources})`);
    }
    if (!Number.isInteger(this.contexts) || this.contexts < 1 || this.contexts > 15872) {
      throw new Error(`Plic: contexts must be 1..15872 (got ${this.contexts})`);
    }
    if (BigInt(CONTEXT_BASE + CONTEXT_STRIDE * this.contexts) > this.size) {
      throw new Error(`Plic: ${this.contexts} contexts do not fit in size 0x${this.size.toString(16)}`);
    }
    const bits = opts.priorityBits ?? 3;
    if (!(bits >= 1 && bits <= 32)) throw new Error(`Plic: priorityBits must be 1..32`);
    this.priorityMask = bits === 32 ? 0xffff_ffff : (1 << bits) - 1;
    this.words = (this.sources + 31) >>> 5;
    this.priority = new Uint32Array(this.sources);
    this.pendingBits = new Uint32Array(this.words);
    this.claimedBits = new Uint32Array(this.words);
    this.levelBits = new Uint32Array(this.words);
    this.enable = new Uint32Array(this.contexts * this.words);
    this.threshold = new Uint32Array(this.contexts);
    this.output = new Uint8Array(this.contexts);
    this.onContextChange = opts.onContextChange ?? (() => {});
  }

  /** The interrupt line of source `source` (1..sources-1), for a device. */
  line(source: number): IrqLine {
    if (!Number.isInteger(source) || source < 1 || source >= this.sources) {
      throw new Error(`Plic: no source ${source} (usable: 1..${this.sources - 1})`);
    }
    let l = this.lines[source];
    if (l === undefined) {
      l = { set: (level: boolean) => this.setLevel(source, level) };
      this.lines[source] = l;
    }
    return l;
  }

  /** The bits of word `w` that name a source (not 0, not past the last). */
  private wordMask(w: number): number {
    let mask = 0xffff_ffff;
    if (w === 0) mask &= ~1;
    const top = this.sources - (w << 5);
    if (top < 32) mask &= (1 << top) - 1;
    return mask >>> 0;
  }

  /** The controller's state as a record: priorities, pending, claimed and
   *  line-level bits, enables, thresholds. */
  save(): Uint8Array {
    return new RecordWriter(PLIC_RECORD, PLIC_RECORD_VERSION)
      .u32(this.sources).u32(this.contexts)
      .u32s(this.priority).u32s(this.pendingBits).u32s(this.claimedBits).u32s(this.levelBits)
      .u32s(this.enable).u32s(this.threshold)
      .finish();
  }

  /** Takes the state of a record `save` wrote (of a PLIC of the same
   *  shape), then reports every context's output through onContextChange.
   *  Throws CheckpointError (and changes nothing) if the record is not one. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, PLIC_RECORD, [PLIC_RECORD_VERSION]);
    const sources = r.u32('the source count'), contexts = r.u32('the context count');
    if (sources !== this.sources || contexts !== this.contexts) {
      r.invalid(`the record is of a PLIC with ${sources} sources and ${contexts} contexts, this one has ${this.sources} and ${this.contexts}`);
    }
    const priority = r.u32s('the priorities'), pending = r.u32s('the pending bits'), claimed = r.u32s('the claimed bits');
    const level = r.u32s('the line levels'), enable = r.u32s('the enables'), threshold = r.u32s('the thresholds');
    r.end();
    const lengths: [Uint32Array, number, string][] = [
      [priority, this.sources, 'priorities'], [pending, this.words, 'pending words'], [claimed, this.words, 'claimed words'],
      [level, this.words, 'line-level words'], [enable, this.contexts * this.words, 'enable words'], [threshold, this.contexts, 'thresholds'],
    ];
    for (const [a, n, what] of lengths) if (a.length !== n) r.invalid(`${a.length} ${what}, the PLIC has ${n}`);
    if (priority[0] !== 0) r.invalid('source 0 has a priority');
    for (let s = 0; s < this.sources; s++) if (priority[s] & ~this.priorityMask) r.invalid(`source ${s}'s priority ${priority[s]} is over the maximum ${this.priorityMask}`);
    for (let c = 0; c < this.contexts; c++) if (threshold[c] & ~this.priorityMask) r.invalid(`context ${c}'s threshold ${threshold[c]} is over the maximum ${this.priorityMask}`);
    for (let w = 0; w < this.words; w++) {
      const mask = this.wordMask(w);
      if ((pending[w] | claimed[w] | level[w]) & ~mask) r.invalid(`bits of sources that do not exist are set in word ${w}`);
      if (pending[w] & claimed[w]) r.invalid(`sources both pending and claimed in word ${w}`);
      for (let c = 0; c < this.contexts; c++) if (enable[c * this.words + w] & ~mask) r.invalid(`context ${c} enables sources that do not exist`);
    }
    this.priority.set(priority);
    this.pendingBits.set(pending);
    this.claimedBits.set(claimed);
    this.levelBits.set(level);
    this.enable.set(enable);
    this.threshold.set(threshold);
    for (let c = 0; c < this.contexts; c++) {
      this.output[c] = this.best(c) !== 0 ? 1 : 0;
      this.onContextChange(c, this.output[c] === 1);
    }
  }

  /** The current level of a context's interrupt output. */
  contextPending(context: number): boolean {
    return this.output[context] === 1;
  }

  isPending(source: number): boolean { return this.bit(this.pendingBits, source); }
  isClaimed(source: number): boolean { return this.bit(this.claimedBits, source); }

  private bit(a: Uint32Array, s: number): boolean {
    return ((a[s >>> 5] >>> (s & 31)) & 1) === 1;
  }
  private setBit(a: Uint32Array, s: number, v: boolean): void {
    if (v) a[s >>> 5] |= 1 << (s & 31);
    else a[s >>> 5] &= ~(1 << (s & 31));
  }

  private setLevel(source: number, level: boolean): void {
    if (this.bit(this.levelBits, source) === level) return;
    this.setBit(this.levelBits, source, level);
    if (level) {
      if (!this.bit(this.claimedBits, source)) this.setBit(this.pendingBits, source, true);
    } else {
      this.setBit(this.pendingBits, source, false);
    }
    this.update();
  }

  /** The best claimable source for a context, or 0. */
  private best(context: number): number {
    const th = this.threshold[context];
    let best = 0, bestPrio = th;
    const en = context * this.words;
    for (let w = 0; w < this.words; w++) {
      let m = this.pendingBits[w] & this.enable[en + w];
      while (m !== 0) {
        const b = 31 - Math.clz32(m & -m);
        m &= m - 1;
        const s = (w << 5) | b;
        const p = this.priority[s];
        if (p > bestPrio) { best = s; bestPrio = p; }
      }
    }
    return best;
  }

  private update(): void {
    for (let c = 0; c < this.contexts; c++) {
      const now = this.best(c) !== 0 ? 1 : 0;
      if (now !== this.output[c]) {
        this.output[c] = now;
        this.onContextChange(c, now === 1);
      }
    }
  }

  /** Claim for a context (what reading its claim register does). */
  claim(context: number): number {
    const s = this.best(context);
    if (s !== 0) {
      this.setBit(this.pendingBits, s, false);
      this.setBit(this.claimedBits, s, true);
      this.update();
    }
    return s;
  }

  /** Complete for a context (what writing its claim register does). */
  complete(context: number, source: number): void {
    if (source < 1 || source >= this.sources) return;
    if (((this.enable[context * this.words + (source >>> 5)] >>> (source & 31)) & 1) === 0) return;
    if (!this.bit(this.claimedBits, source)) return;
    this.setBit(this.claimedBits, source, false);
    if (this.bit(this.levelBits, source)) this.setBit(this.pendingBits, source, true);
    this.update();
  }

  private read32(offset: number): number {
    if (offset < PENDING_BASE) {
      const s = (offset - PRIORITY_BASE) >>> 2;
      return s < this.sources ? this.priority[s] : 0;
    }
    if (offset < ENABLE_BASE) {
      const w = (offset - PENDING_BASE) >>> 2;
      return w < this.words ? this.pendingBits[w] : 0;
    }
    if (offset < CONTEXT_BASE) {
      const c = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >>> 2;
      return c < this.contexts && w < this.words ? this.enable[c * this.words + w] : 0;
    }
    const c = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    if (c >= this.contexts) return 0;
    const r = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (r === CONTEXT_THRESHOLD) return this.threshold[c];
    if (r === CONTEXT_CLAIM) return this.claim(c);
    return 0;
  }

  private write32(offset: number, v: number): void {
    v >>>= 0;
    if (offset < PENDING_BASE) {
      const s = (offset - PRIORITY_BASE) >>> 2;
      if (s >= 1 && s < this.sources) { this.priority[s] = v & this.priorityMask; this.update(); }
      return;
    }
    if (offset < ENABLE_BASE) return; // pending bits are read-only
    if (offset < CONTEXT_BASE) {
      const c = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >>> 2;
      if (c >= this.contexts || w >= this.words) return;
      this.enable[c * this.words + w] = (v & this.wordMask(w)) >>> 0;
      this.update();
      return;
    }
    const c = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    if (c >= this.contexts) return;
    const r = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (r === CONTEXT_THRESHOLD) { this.threshold[c] = v & this.priorityMask; this.update(); }
    else if (r === CONTEXT_CLAIM) this.complete(c, v);
  }

  read(offset: number, size: AccessSize): bigint {
    if (offset < 0 || offset + size > Number(this.size)) return 0n;
    if (size === 4) return offset & 3 ? 0n : BigInt(this.read32(offset));
    if (size === 8) {
      if (offset & 7) return 0n;
      const lo = BigInt(this.read32(offset));
      return (BigInt(this.read32(offset + 4)) << 32n) | lo;
    }
    if (offset & (size - 1)) return 0n;
    const word = this.read32(offset & ~3);
    return BigInt((word >>> ((offset & 3) * 8)) & (size === 1 ? 0xff : 0xffff));
  }

  write(offset: number, size: AccessSize, value: bigint): void {
    if (offset < 0 || offset + size > Number(this.size)) return;
    if (size === 4) { if ((offset & 3) === 0) this.write32(offset, Number(value & 0xffff_ffffn)); return; }
    if (size === 8) {
      if (offset & 7) return;
      this.write32(offset, Number(value & 0xffff_ffffn));
      this.write32(offset + 4, Number((value >> 32n) & 0xffff_ffffn));
    }
  }
}
