/**
 * The physical MMIO bus of the system VM: ring -1 routes every guest access
 * outside RAM (an MMIO_LOAD / MMIO_STORE exit) here, and the device at that
 * address emulates it.
 *
 * Conventions shared by every device model under src/system/devices/:
 *  - `offset` is relative to the device's base, `size` is 1, 2, 4 or 8;
 *  - `read` returns the value zero-extended to 64 bits (the bus masks it
 *    again), `write` receives `value` already truncated to `size` bytes;
 *  - a device never throws out of `read`/`write`: a guest doing something odd
 *    reads 0 / has its write ignored, and a guest doing something malicious
 *    breaks only the device it talks to.
 */

export type AccessSize = 1 | 2 | 4 | 8;

export interface MmioDevice {
  readonly name: string;
  readonly base: bigint;
  readonly size: bigint;
  read(offset: number, size: AccessSize): bigint;
  write(offset: number, size: AccessSize, value: bigint): void;
}

/** Guest RAM, as far as DMA is concerned. The project's Cpu (src/cpu/cpu.ts)
 *  has all three methods with exactly these signatures. */
export interface GuestMemory {
  /** [addr, addr+length) lies entirely inside guest RAM. */
  inRam(addr: bigint, length: number): boolean;
  /** A view (not a copy) of guest RAM; throws outside RAM. Devices never keep
   *  it past the call that fetched it (RAM may grow and move). */
  guestBytes(addr: bigint, length: number): Uint8Array;
  /** Optional: when present, devices write into guest RAM through it rather
   *  than through a `guestBytes` view, so that the owner learns of the write
   *  (the Cpu drops its translations of the pages written: DMA may load
   *  code). */
  writeBytes?(addr: bigint, data: Uint8Array): void;
}

/** An interrupt request line, level-triggered. */
export interface IrqLine {
  set(level: boolean): void;
}

/** An IrqLine that goes nowhere (and remembers its level): for tests and
 *  for devices wired to nothing. */
export class LatchedIrq implements IrqLine {
  level = false;
  /** How many times the level rose 0 -> 1. */
  raised = 0;
  set(level: boolean): void {
    if (level && !this.level) this.raised++;
    this.level = level;
  }
}

/** Copies `data` into guest RAM at `addr` (the caller has checked the range). */
export function writeGuest(mem: GuestMemory, addr: bigint, data: Uint8Array): void {
  if (data.length === 0) return;
  if (mem.writeBytes !== undefined) mem.writeBytes(addr, data);
  else mem.guestBytes(addr, data.length).set(data);
}

export const SIZE_MASK: Record<AccessSize, bigint> = {
  1: 0xffn,
  2: 0xffffn,
  4: 0xffff_ffffn,
  8: 0xffff_ffff_ffff_ffffn,
};

export function hex(v: bigint | number): string {
  return '0x' + (typeof v === 'bigint' ? BigInt.asUintN(64, v) : v >>> 0).toString(16);
}

export interface DeviceStats {
  readonly name: string;
  readonly base: bigint;
  readonly size: bigint;
  reads: number;
  writes: number;
}

interface Slot {
  readonly device: MmioDevice;
  readonly end: bigint; // exclusive
  readonly stats: DeviceStats;
}

export interface MmioBusOptions {
  /** Where the bus reports a device that threw out of read/write (a bug in
   *  the device model: the access then reads 0 / is dropped). */
  log?: (line: string) => void;
}

/**
 * The devices, sorted by base, with no two overlapping. An access must lie
 * entirely inside one device; anything else is "no device there" and ring -1
 * injects an access fault.
 */
export class MmioBus {
  private readonly slots: Slot[] = [];
  private last: Slot | undefined;
  private readonly log: (line: string) => void;

  constructor(opts: MmioBusOptions = {}) {
    this.log = opts.log ?? ((line) => console.error(line));
  }

  add(d: MmioDevice): void {
    if (d.size <= 0n) throw new Error(`MmioBus: device ${d.name} has size ${d.size}`);
    if (d.base < 0n || d.base + d.size > 1n << 64n) {
      throw new Error(`MmioBus: device ${d.name} at ${hex(d.base)}+${hex(d.size)} leaves the 64-bit address space`);
    }
    const end = d.base + d.size;
    for (const s of this.slots) {
      if (d.base < s.end && s.device.base < end) {
        throw new Error(
          `MmioBus: ${d.name} [${hex(d.base)}, ${hex(end)}) overlaps ${s.device.name} [${hex(s.device.base)}, ${hex(s.end)})`,
        );
      }
    }
    const slot: Slot = { device: d, end, stats: { name: d.name, base: d.base, size: d.size, reads: 0, writes: 0 } };
    this.slots.push(slot);
    this.slots.sort((a, b) => (a.device.base < b.device.base ? -1 : a.device.base > b.device.base ? 1 : 0));
  }

  get devices(): readonly MmioDevice[] {
    return this.slots.map((s) => s.device);
  }

  private slotAt(addr: bigint): Slot | undefined {
    const last = this.last;
    if (last !== undefined && addr >= last.device.base && addr < last.end) return last;
    let lo = 0, hi = this.slots.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.slots[mid];
      if (addr < s.device.base) hi = mid - 1;
      else if (addr >= s.end) lo = mid + 1;
      else { this.last = s; return s; }
    }
    return undefined;
  }

  find(addr: bigint): MmioDevice | undefined {
    return this.slotAt(addr)?.device;
  }

  /** The slot holding all of [addr, addr+size), if any. */
  private slotFor(addr: bigint, size: number): Slot | undefined {
    const s = this.slotAt(addr);
    return s !== undefined && addr + BigInt(size) <= s.end ? s : undefined;
  }

  /** undefined: no device there. */
  load(addr: bigint, size: AccessSize): bigint | undefined {
    const s = this.slotFor(addr, size);
    if (s === undefined) return undefined;
    s.stats.reads++;
    try {
      return s.device.read(Number(addr - s.device.base), size) & SIZE_MASK[size];
    } catch (e) {
      this.log(`mmio: ${s.device.name}: read of ${size} bytes at ${hex(addr)} threw: ${(e as Error).message}`);
      return 0n;
    }
  }

  /** false: no device there. */
  store(addr: bigint, size: AccessSize, value: bigint): boolean {
    const s = this.slotFor(addr, size);
    if (s === undefined) return false;
    s.stats.writes++;
    try {
      s.device.write(Number(addr - s.device.base), size, value & SIZE_MASK[size]);
    } catch (e) {
      this.log(`mmio: ${s.device.name}: write of ${size} bytes at ${hex(addr)} threw: ${(e as Error).message}`);
    }
    return true;
  }

  /** Access counts, one entry per device, by address. */
  stats(): readonly DeviceStats[] {
    return this.slots.map((s) => s.stats);
  }

  statsFor(d: MmioDevice | string): DeviceStats | undefined {
    return this.slots.find((s) => (typeof d === 'string' ? s.device.name === d : s.device === d))?.stats;
  }
}

/**
 * For devices whose registers are 32 bits wide: turns an access of any size
 * into 32-bit register accesses. An aligned 8-byte access is two registers
 * (low word first); a 1- or 2-byte access reads the enclosing register and
 * extracts its bytes. Sub-word writes are handed to `write32` with a byte
 * mask so the device can decide (most ignore them or read-modify-write).
 */
export function read32Wide(offset: number, size: AccessSize, read32: (offset: number) => number): bigint {
  if (size === 4) return offset & 3 ? 0n : BigInt(read32(offset) >>> 0);
  if (size === 8) {
    if (offset & 7) return 0n;
    const lo = BigInt(read32(offset) >>> 0);
    const hi = BigInt(read32(offset + 4) >>> 0);
    return (hi << 32n) | lo;
  }
  const shift = (offset & 3) * 8;
  if ((offset & (size - 1)) !== 0) return 0n;
  return (BigInt(read32(offset & ~3) >>> 0) >> BigInt(shift)) & SIZE_MASK[size];
}
