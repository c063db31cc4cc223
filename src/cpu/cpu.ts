// A typed view of one WebAssembly CPU instance: registers, pc, CSRs, the exit
// block and the exit counters, read at the offsets the module itself exports
// (assembly/layout.ts is the single source of truth for them).
import { RecordReader, RecordWriter } from '../hypervisor/persist.js';
import {
  Jit, compileHere, checkCacheLimit, DEFAULT_CACHE_LIMIT, type JitStats, type TranslationCacheLimit, type TranslationService,
} from './jit/jit.js';

/** Why `run` returned (assembly/layout.ts, EXIT_*). */
export enum ExitReason {
  None = 0,
  EcallU = 1,
  Ebreak = 2,
  Fault = 3,
  Budget = 4,
  /** A jump target became hot (handled inside Cpu.run: callers never see it). */
  Hot = 5,
  /** An ecall from S-mode: an SBI call (retired; pc is after it). */
  EcallS = 6,
  /** wfi in S-mode: the hart waits for an interrupt (retired). */
  Wfi = 7,
  /** A load outside RAM (not retired: completeMmioLoad or failMmio, then run). */
  MmioLoad = 8,
  /** A store outside RAM (not retired: run completes it, or failMmio). */
  MmioStore = 9,
  /** A selected satp write, sfence.vma or sret (retired). */
  Csr = 10,
}

export const EXIT_REASON_NAMES: Record<number, string> = {
  [ExitReason.None]: 'NONE',
  [ExitReason.EcallU]: 'ECALL_U',
  [ExitReason.Ebreak]: 'EBREAK',
  [ExitReason.Fault]: 'FAULT',
  [ExitReason.Budget]: 'BUDGET',
  [ExitReason.Hot]: 'HOT',
  [ExitReason.EcallS]: 'ECALL_S',
  [ExitReason.Wfi]: 'WFI',
  [ExitReason.MmioLoad]: 'MMIO_LOAD',
  [ExitReason.MmioStore]: 'MMIO_STORE',
  [ExitReason.Csr]: 'CSR',
};

/** Bytes in a WebAssembly memory page, the unit memory.grow counts in. */
const WASM_PAGE = 65536;
/** The least lazy RAM grows by (holdRam): most short programs fit. */
const MIN_RAM_GROWTH = 16 * 1024 * 1024;

/** The tag and version of the CPU's saved record (docs/CHECKPOINTS.md). */
export const CPU_RECORD_TAG = 'cpu';
export const CPU_RECORD_VERSION = 1;

/** Visits that make a jump target hot enough to translate (Cpu.jitThreshold).
 *  Measured (docs/PERFORMANCE.md, "What to translate"): at 16384 every
 *  workload and real program measured takes at most --jit off's time;
 *  esbuild's bundle (much warm code) is 1.3 times slower at 1024 and 1.06
 *  times at 4096 on a quiet machine. Long programs get lower thresholds
 *  as they age (JIT_AGE_FROM). */
export const DEFAULT_JIT_THRESHOLD = 16384;
/** Instructions a program runs before any of its code is translated
 *  (Cpu.jitWarmup, as a process VM sets it): some 50-80 ms of interpreting.
 *  A program that ends sooner would not win back what translating costs
 *  (a worker thread to start, regions to make), so it is never slower
 *  than with translation off. */
export const DEFAULT_JIT_WARMUP = 4_000_000n;
/** Threshold ageing (Cpu.jitAgeing): from this many instructions of a
 *  program's the threshold halves at every doubling, until it is this many
 *  times smaller (16384 -> 256 at 4 G instructions). Measured
 *  (docs/PERFORMANCE.md, "What to translate"): 7-Zip's benchmark 6.05 ->
 *  4.45 s; esbuild's bundle (17 M instructions) never ages. */
export const JIT_AGE_FROM = 64_000_000n;
export const JIT_AGE_MAX_DIVISOR = 64;

/** Exit controls: which events exit to the hypervisor (assembly/layout.ts, EXIT_ON_*). */
export const ExitControl = {
  EcallU: 1 << 0,
  Ebreak: 1 << 1,
  EcallS: 1 << 2,
  /** The hart has S-mode (a system VM): traps not selected are delivered to
   *  it, interrupts are taken, accesses outside RAM exit as MMIO. */
  Supervisor: 1 << 3,
  Satp: 1 << 4,
  Sfence: 1 << 5,
  Sret: 1 << 6,
  /** A read of the `time` CSR retires, then exits as CSR: the hypervisor
   *  puts the time of the moment into its register (Partition.readTime),
   *  so that no run needs the host's clock read before it (VT-x's "RDTSC
   *  exiting"). */
  Time: 1 << 7,
} as const;

/** Privilege modes (PRIV). */
export enum Priv { User = 0, Supervisor = 1 }

/** S-level interrupt numbers: bits of sip/sie, scause codes with bit 63. */
export const Irq = { SupervisorSoftware: 1, SupervisorTimer: 5, SupervisorExternal: 9 } as const;

/** The supervisor CSRs kept in the CPU's state, by name. */
export const SUPERVISOR_CSRS = ['sstatus', 'sie', 'sip', 'stvec', 'sscratch', 'sepc', 'scause', 'stval', 'satp', 'scounteren', 'senvcfg', 'stimecmp'] as const;
export type SupervisorCsr = typeof SUPERVISOR_CSRS[number];

/** What an MMIO exit asks for. */
export interface MmioAccess {
  addr: bigint;
  size: number;
  /** For a store: its value (the low `size` bytes). */
  data: bigint;
  store: boolean;
}

/** Page permission bits (assembly/layout.ts, PERM_*). */
export const Perm = { R: 1, W: 2, X: 4 } as const;

/** How the CPU checks guest memory (assembly/layout.ts, MEMORY_*). */
export enum MemoryMode {
  /** Every byte of RAM readable, writable and executable. */
  Flat = 0,
  /** Each 4 KiB page of RAM has its own R/W/X permissions. */
  PagePermissions = 1,
}

export const PAGE_SIZE = 4096;

/** A thread context (Cpu.saveContext): x0..x31, f0..f31, pc, fcsr. */
export const CONTEXT_BYTES = 0x210;
export const CONTEXT_X = (r: number): number => r * 8;
export const CONTEXT_PC = 0x200;

/** RISC-V exception causes (privileged spec, scause). */
export enum Cause {
  MisalignedFetch = 0,
  FetchAccess = 1,
  IllegalInstruction = 2,
  Breakpoint = 3,
  MisalignedLoad = 4,
  LoadAccess = 5,
  MisalignedStore = 6,
  StoreAccess = 7,
  EcallU = 8,
  EcallS = 9,
  FetchPageFault = 12,
  LoadPageFault = 13,
  StorePageFault = 15,
}

/** The exit block after `run` returned. */
export interface ExitInfo {
  reason: ExitReason;
  /** pc of the instruction that exited. */
  pc: bigint;
  /** Its instruction bits (a compressed instruction's 16 bits), 0 if the fetch failed. */
  inst: number;
  /** 2 or 4; 0 when the fetch itself failed. */
  instLength: number;
  /** RISC-V exception cause (FAULT only). */
  cause: number;
  /** Faulting address, the RISC-V tval (FAULT only). */
  addr: bigint;
}

interface CpuExports {
  memory: WebAssembly.Memory;
  table: WebAssembly.Table;
  run(budget: bigint): number;
  configureRam(base: bigint, size: bigint, grown: bigint): number;
  expandCompressed(parcel: number): number;
  protectCodeInTlb(page: number): void;
  [name: string]: unknown;
}

function offset(exports: CpuExports, name: string): number {
  const g = exports[name];
  if (!(g instanceof WebAssembly.Global)) throw new Error(`CPU module lacks layout export ${name}`);
  return g.value as number;
}

/** Layout offsets read once per module. */
class Layout {
  readonly X_REGS: number; readonly F_REGS: number; readonly PC: number; readonly FCSR: number;
  readonly INSTRET: number; readonly TIME: number; readonly RESERVATION: number;
  readonly EXIT_REASON: number; readonly EXIT_CAUSE: number; readonly EXIT_PC: number;
  readonly EXIT_INST: number; readonly EXIT_INST_LEN: number; readonly EXIT_ADDR: number;
  readonly EXIT_CONTROLS: number; readonly RAM_BASE: number; readonly RAM_SIZE: number;
  readonly BUDGET_LEFT: number; readonly EXIT_COUNTS: number; readonly EXIT_REASON_COUNT: number;
  readonly RAM_OFFSET: number;
  readonly MEMORY_MODE: number; readonly PAGE_PERMS: number;
  readonly TOUCHED_PAGES: number; readonly TOUCHED_PEAK: number; readonly TOUCH_LIMIT: number; readonly RAM_MAX: number;
  readonly SLOT_TABLE: number; readonly SLOT_NONE: number; readonly SLOT_SHIFT: number; readonly SLOT_COUNT: number; readonly USER_VA_BITS: number;
  readonly JIT_THRESHOLD: number; readonly JIT_MAP: number; readonly JIT_MAP_ENTRIES: number; readonly JIT_NEVER: number;
  readonly PRIV: number; readonly EXIT_SIZE: number; readonly EXIT_DATA: number; readonly MMIO_PENDING: number;
  readonly MMIO_FAILED: number; readonly TLB_GEN: number;
  readonly PERM_WLAZY: number; readonly PAGE_TOUCHED: number; readonly PERM_CODE_W: number; readonly PERM_CODE_WLAZY: number;
  readonly DIRTY_LOG: number; readonly DIRTY_MAP: number;
  readonly TLB: number; readonly TLB_ENTRIES: number; readonly MMU_PERMS: number; readonly JIT_HOT_PAGE: number;
  readonly CODE_PAGE: number; readonly CODE_PAGES: number; readonly CODE_WRITTEN: number; readonly CODE_WRITTEN_PAGES: number;
  readonly CODE_WRITTEN_ALL: number; readonly TLB_CODE: number; readonly JIT_ENTRIES: number;
  readonly COALESCED_ADDR: number; readonly COALESCED_COUNT: number; readonly COALESCED_DATA: number; readonly COALESCED_MAX: number;
  readonly USER_TLB: number; readonly USER_TLB_STORES: number; readonly USER_TLB_ENTRIES: number;
  readonly USER_TLB_STATE: number; readonly USER_TLB_FILLED: number; readonly USER_TLB_MISS: number; readonly USER_TLB_MISS_KIND: number;
  readonly csr: Record<SupervisorCsr, number>;
  constructor(e: CpuExports) {
    this.PRIV = offset(e, 'PRIV'); this.TLB_GEN = offset(e, 'TLB_GEN'); this.EXIT_SIZE = offset(e, 'EXIT_SIZE'); this.EXIT_DATA = offset(e, 'EXIT_DATA');
    this.MMIO_PENDING = offset(e, 'MMIO_PENDING'); this.MMIO_FAILED = offset(e, 'MMIO_FAILED');
    this.csr = Object.fromEntries(SUPERVISOR_CSRS.map((n) => [n, offset(e, n.toUpperCase())])) as Record<SupervisorCsr, number>;
    this.JIT_THRESHOLD = offset(e, 'JIT_THRESHOLD'); this.JIT_MAP = offset(e, 'JIT_MAP');
    this.JIT_MAP_ENTRIES = offset(e, 'JIT_MAP_ENTRIES'); this.JIT_NEVER = offset(e, 'JIT_NEVER') >>> 0;
    this.MEMORY_MODE = offset(e, 'MEMORY_MODE'); this.PAGE_PERMS = offset(e, 'PAGE_PERMS');
    this.TOUCHED_PAGES = offset(e, 'TOUCHED_PAGES'); this.TOUCHED_PEAK = offset(e, 'TOUCHED_PEAK');
    this.TOUCH_LIMIT = offset(e, 'TOUCH_LIMIT'); this.RAM_MAX = offset(e, 'RAM_MAX') >>> 0; // a u32 past 2 GiB
    this.SLOT_TABLE = offset(e, 'SLOT_TABLE'); this.SLOT_NONE = offset(e, 'SLOT_NONE') >>> 0;
    this.SLOT_SHIFT = offset(e, 'SLOT_SHIFT'); this.SLOT_COUNT = offset(e, 'SLOT_COUNT'); this.USER_VA_BITS = offset(e, 'USER_VA_BITS');
    this.PERM_WLAZY = offset(e, 'PERM_WLAZY'); this.PAGE_TOUCHED = offset(e, 'PAGE_TOUCHED');
    this.PERM_CODE_W = offset(e, 'PERM_CODE_W'); this.PERM_CODE_WLAZY = offset(e, 'PERM_CODE_WLAZY');
    this.DIRTY_LOG = offset(e, 'DIRTY_LOG'); this.DIRTY_MAP = offset(e, 'DIRTY_MAP');
    this.TLB = offset(e, 'TLB'); this.TLB_ENTRIES = offset(e, 'TLB_ENTRIES'); this.MMU_PERMS = offset(e, 'MMU_PERMS');
    this.JIT_HOT_PAGE = offset(e, 'JIT_HOT_PAGE'); this.CODE_PAGE = offset(e, 'CODE_PAGE'); this.CODE_PAGES = offset(e, 'CODE_PAGES');
    this.CODE_WRITTEN = offset(e, 'CODE_WRITTEN'); this.CODE_WRITTEN_PAGES = offset(e, 'CODE_WRITTEN_PAGES');
    this.CODE_WRITTEN_ALL = offset(e, 'CODE_WRITTEN_ALL') >>> 0; this.TLB_CODE = offset(e, 'TLB_CODE');
    this.JIT_ENTRIES = offset(e, 'JIT_ENTRIES');
    this.COALESCED_ADDR = offset(e, 'COALESCED_ADDR'); this.COALESCED_COUNT = offset(e, 'COALESCED_COUNT');
    this.COALESCED_DATA = offset(e, 'COALESCED_DATA'); this.COALESCED_MAX = offset(e, 'COALESCED_MAX');
    this.USER_TLB = offset(e, 'USER_TLB'); this.USER_TLB_STORES = offset(e, 'USER_TLB_STORES'); this.USER_TLB_ENTRIES = offset(e, 'USER_TLB_ENTRIES');
    this.USER_TLB_STATE = offset(e, 'USER_TLB_STATE'); this.USER_TLB_FILLED = offset(e, 'USER_TLB_FILLED'); this.USER_TLB_MISS = offset(e, 'USER_TLB_MISS'); this.USER_TLB_MISS_KIND = offset(e, 'USER_TLB_MISS_KIND');
    this.X_REGS = offset(e, 'X_REGS'); this.F_REGS = offset(e, 'F_REGS'); this.PC = offset(e, 'PC');
    this.FCSR = offset(e, 'FCSR'); this.INSTRET = offset(e, 'INSTRET'); this.TIME = offset(e, 'TIME');
    this.RESERVATION = offset(e, 'RESERVATION');
    this.EXIT_REASON = offset(e, 'EXIT_REASON'); this.EXIT_CAUSE = offset(e, 'EXIT_CAUSE');
    this.EXIT_PC = offset(e, 'EXIT_PC'); this.EXIT_INST = offset(e, 'EXIT_INST');
    this.EXIT_INST_LEN = offset(e, 'EXIT_INST_LEN'); this.EXIT_ADDR = offset(e, 'EXIT_ADDR');
    this.EXIT_CONTROLS = offset(e, 'EXIT_CONTROLS'); this.RAM_BASE = offset(e, 'RAM_BASE');
    this.RAM_SIZE = offset(e, 'RAM_SIZE'); this.BUDGET_LEFT = offset(e, 'BUDGET_LEFT');
    this.EXIT_COUNTS = offset(e, 'EXIT_COUNTS'); this.EXIT_REASON_COUNT = offset(e, 'EXIT_REASON_COUNT');
    this.RAM_OFFSET = offset(e, 'RAM_OFFSET');
    // Thread contexts copy registers, pc and fcsr as one block.
    if (this.F_REGS !== this.X_REGS + 0x100 || this.PC !== this.X_REGS + CONTEXT_PC || this.FCSR !== this.PC + 8) {
      throw new Error('CPU module layout: x, f, pc and fcsr are not one contiguous block');
    }
  }
}

/** Thrown when the host cannot give a VM the memory it asks for. */
export class RamAllocationError extends Error {
  constructor(readonly bytes: bigint) {
    super(`cannot allocate ${bytes} bytes of guest RAM (WebAssembly memory is limited to 4 GiB)`);
    this.name = 'RamAllocationError';
  }
}

/** Thrown when ring -1 touches guest memory outside guest RAM. */
export class GuestMemoryError extends Error {
  constructor(readonly addr: bigint, readonly length: number) {
    super(`guest address range 0x${addr.toString(16)}+${length} is outside guest RAM`);
    this.name = 'GuestMemoryError';
  }
}

// Cpu.offsetOf's answers for bytes that are not one piece of RAM.
const NOT_RAM = -1, SPANS_SLOTS = -2;

/** A page's permission byte with the W or PERM_WLAZY the translator
 *  withheld given back (layout.ts, PERM_CODE_W). */
function unprotectCode(v: number, l: { PERM_CODE_W: number; PERM_CODE_WLAZY: number; PERM_WLAZY: number }): number {
  if (!(v & (l.PERM_CODE_W | l.PERM_CODE_WLAZY))) return v;
  return (v & ~(l.PERM_CODE_W | l.PERM_CODE_WLAZY)) | (v & l.PERM_CODE_W ? Perm.W : 0) | (v & l.PERM_CODE_WLAZY ? l.PERM_WLAZY : 0);
}

export class Cpu {
  private readonly exports: CpuExports;
  readonly layout: Layout;
  private view: DataView;
  private bytes: Uint8Array;
  private ramBase = 0n;
  private ramSize = 0n;
  /** ramSize as a number (RAM is at most 4 GiB). */
  private ramBytes = 0;
  /** In page-permission mode guest addresses are user addresses, mapped to
   *  RAM by 64 KiB slots (assembly/layout.ts SLOT_TABLE): this is that table. */
  private slots: Uint32Array | undefined;
  /** Slots whose entry is not SLOT_NONE: the ones a reset clears (the
   *  table is otherwise all SLOT_NONE, 0, and never written, so it costs
   *  the host nothing). */
  private readonly backedSlots = new Set<number>();
  /** The end of the highest RAM any slot has had since the last reset (in
   *  page-permission mode nothing else is ever touched): scrubbing a
   *  process's CPU reads that much, not all 4 GiB (a fork's child that
   *  exits at once costs microseconds, not milliseconds). */
  private slotHighWater = 0;
  /** Ring -1's hook for a slot without RAM that an accessor reaches: it may
   *  back the slot (setSlot) and return true, as a page fault would. */
  onMissingSlot: ((index: number) => boolean) | undefined;
  private translator: Jit | undefined;
  private service: TranslationService | undefined;
  private cacheLimit: Readonly<TranslationCacheLimit> = DEFAULT_CACHE_LIMIT;
  private threshold = 0;
  private warmup = 0n;
  private warmUntil = 0n;
  /** Translation is on and waiting for the warm-up to end. */
  private warming = false;
  /** The threshold ages (jitAgeing), counted from programStart (when
   *  jitWarmup was set: a program's start); nextAge is the instruction
   *  count at which it next halves, 0n when it no longer changes. */
  private ageing = false;
  private countEntries = false;
  private programStart = 0n;
  private nextAge = 0n;
  /** Whether the CPU has run since translations were last flushed (until
   *  it has, the translation map holds nothing to clear). */
  private ran = false;
  /** Whether a flat-memory guest has run since the last reset (it can
   *  store anywhere in its RAM: all of it counts as touched). */
  private flatTouched = false;
  /** Pages handed to the module's clearTouchedPages (read, and zeroed when
   *  not zero) since the instance was made: what freeing memory and
   *  scrubbing cost, and proof that untouched pages are left alone. */
  pagesScanned = 0;
  /** The dirty-page log is on (startDirtyLog): ring -1's writes mark their
   *  pages, and in page-permission mode W stays withheld from pages not yet
   *  written in the interval. */
  private logging = false;

  constructor(module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort(_msg: number, _file: number, line: number, column: number): never {
          throw new Error(`CPU assertion failed at ${line}:${column}`);
        },
      },
    });
    this.exports = instance.exports as unknown as CpuExports;
    this.layout = new Layout(this.exports);
    this.view = new DataView(this.exports.memory.buffer);
    this.bytes = new Uint8Array(this.exports.memory.buffer);
  }

  /** Views must be remade after linear memory grows (its buffer is replaced). */
  private refresh(): void {
    if (this.view.buffer !== this.exports.memory.buffer) {
      this.view = new DataView(this.exports.memory.buffer);
      this.bytes = new Uint8Array(this.exports.memory.buffer);
      if (this.slots) this.slots = this.slotView();
    }
  }

  /**
   * Gives the CPU `size` bytes of guest RAM at guest address `base`. With
   * `lazy` (page-permission mode only: every access there goes through a
   * slot) linear memory holds only what slots have been given so far and
   * grows as setSlot gives more: a program that uses a few MiB of a 4 GiB
   * RAM then costs the host a few MiB of buffer. V8 counts a WebAssembly
   * memory's buffer as external memory, and growing one to gigabytes at
   * once costs two full garbage collections, some 15 ms of every process's
   * start (docs/PERFORMANCE.md, "Start-up").
   */
  configureRam(base: bigint, size: bigint, lazy = false): void {
    if ((base | size) % BigInt(PAGE_SIZE) !== 0n) {
      throw new RangeError(`guest RAM must start and end on a 4 KiB page (base 0x${base.toString(16)}, size ${size})`);
    }
    // Lazy RAM starts at MIN_RAM_GROWTH: one buffer, not one now and a
    // larger one at the first slot (V8 counts both until it collects).
    const grown = lazy && size > BigInt(MIN_RAM_GROWTH) ? BigInt(MIN_RAM_GROWTH) : size;
    if (!this.exports.configureRam(base, size, grown)) throw new RamAllocationError(size);
    this.ramBase = base;
    this.ramSize = size;
    this.ramBytes = Number(size);
    this.refresh();
    this.flushTranslations();
  }

  /**
   * Grows linear memory, if it must, to hold RAM bytes [0, end) (lazy RAM,
   * configureRam): false when the host refuses. It at least doubles what it
   * holds, so a guest that grows to gigabytes replaces the buffer (and
   * every view of it) a dozen times, not once per slot.
   */
  holdRam(end: number): boolean {
    const have = this.bytes.length - this.layout.RAM_OFFSET;
    if (end <= have) return true;
    if (end > this.ramBytes) return false;
    const want = Math.min(this.ramBytes, Math.max(end, 2 * have, MIN_RAM_GROWTH));
    const pages = (n: number) => Math.ceil((this.layout.RAM_OFFSET + n - this.bytes.length) / WASM_PAGE);
    try {
      this.exports.memory.grow(pages(want));
    } catch {
      try { this.exports.memory.grow(pages(end)); } catch { return false; }
    }
    this.refresh();
    return true;
  }

  /** holdRam, or RamAllocationError when the host refuses. */
  private mustHoldRam(end: number): void {
    if (!this.holdRam(end)) throw new RamAllocationError(BigInt(end));
  }

  // ---- the slot table (page-permission mode) ----
  /** The translations' TLB (assembly/layout.ts, USER_TLB) may hold a page
   *  that has lost a permission or its RAM: the next run empties it if it
   *  holds anything. Every change of a page's permissions or of a slot
   *  here says so. */
  private userTlbStale(): void {
    this.refresh();
    const at = this.layout.USER_TLB_STATE;
    // (Before configureRam linear memory may end below it: grown, it is zeros.)
    if (this.view.byteLength >= at + 4 && this.view.getUint32(at, true) === this.layout.USER_TLB_FILLED) this.view.setUint32(at, 0, true);
  }

  private slotView(): Uint32Array {
    return new Uint32Array(this.exports.memory.buffer, this.layout.SLOT_TABLE, this.layout.SLOT_COUNT);
  }

  private clearSlots(): void {
    if (this.backedSlots.size === 0) return;
    this.userTlbStale();
    const table = this.slots ?? this.slotView();
    for (const index of this.backedSlots) table[index] = this.layout.SLOT_NONE;
    this.backedSlots.clear();
  }

  /** Bytes of guest address space one slot maps (64 KiB). */
  get slotBytes(): number { return 1 << this.layout.SLOT_SHIFT; }

  /**
   * Backs slot `index` (user addresses index * slotBytes and up) with the
   * slotBytes of RAM that start `offset` bytes into it, or with nothing
   * (undefined): every access there then faults. The first slotBytes of RAM
   * are never a slot's (they stand for "nothing"). Translations made from
   * the RAM it had go. Page-permission mode only.
   */
  setSlot(index: number, offset: number | undefined): void {
    const slots = this.slots, size = this.slotBytes;
    if (!slots) throw new Error('setSlot: the CPU is not in page-permission mode');
    if (!Number.isInteger(index) || index < 0 || index >= slots.length) throw new RangeError(`no slot ${index}`);
    if (offset !== undefined && (!Number.isInteger(offset) || offset <= 0 || offset % size !== 0 || offset + size > this.ramBytes)) {
      throw new RangeError(`slot ${index}: 0x${offset.toString(16)} is not the start of ${size} bytes of RAM after the first`);
    }
    if (offset !== undefined) this.mustHoldRam(offset + size);
    const table = this.slots!; // a new view if holdRam grew the memory
    const old = table[index];
    if (old !== this.layout.SLOT_NONE) this.translator?.pagesChanged(old / PAGE_SIZE, (old + size) / PAGE_SIZE - 1);
    table[index] = offset ?? this.layout.SLOT_NONE;
    this.userTlbStale();
    if (offset === undefined) this.backedSlots.delete(index); else this.backedSlots.add(index);
    if (offset !== undefined && offset + size > this.slotHighWater) this.slotHighWater = offset + size;
  }

  // The RAM offset of guest bytes [addr, addr+length): NOT_RAM when some of
  // them are not RAM, SPANS_SLOTS when they are user addresses in more than
  // one slot (forPieces walks those).
  private offsetOf(addr: bigint, length: number): number {
    if (!this.slots) {
      const off = addr - this.ramBase;
      return off < 0n || off + BigInt(length) > this.ramSize ? NOT_RAM : Number(off);
    }
    // User addresses are below 2^38: exact as numbers; anything larger is refused.
    return this.userOffset(Number(addr), length);
  }

  // offsetOf for a user address as a number (page-permission mode): the
  // system-call path asks often, so no BigInt here.
  private userOffset(a: number, length: number): number {
    const slots = this.slots!, size = 1 << this.layout.SLOT_SHIFT;
    const index = Math.floor(a / size);
    if (length < 0 || index >= slots.length) return NOT_RAM;
    const within = a - index * size;
    if (within + length > size) return a + length > slots.length * size ? NOT_RAM : SPANS_SLOTS;
    let base = slots[index];
    if (base === this.layout.SLOT_NONE) {
      if (!this.onMissingSlot?.(index)) return NOT_RAM;
      base = this.slots![index]; // a new view if backing the slot grew the memory
    }
    return base + within;
  }

  // Calls f(offset, n, done) for each run of [addr, addr+length) that is
  // contiguous in RAM, in order; throws GuestMemoryError before calling it
  // at all when some byte is not RAM.
  private forPieces(addr: bigint, length: number, f: (offset: number, n: number, done: number) => void): void {
    if (length === 0) return;
    const off = this.offsetOf(addr, length);
    if (off >= 0) { f(off, length, 0); return; }
    if (off === NOT_RAM) throw new GuestMemoryError(addr, length);
    const pieces: number[] = [];
    const size = this.slotBytes;
    for (let done = 0; done < length;) {
      const a = addr + BigInt(done);
      const n = Math.min(length - done, size - Number(a % BigInt(size)));
      const o = this.offsetOf(a, n);
      if (o < 0) throw new GuestMemoryError(addr, length);
      pieces.push(o, n, done);
      done += n;
    }
    for (let i = 0; i < pieces.length; i += 3) f(pieces[i], pieces[i + 1], pieces[i + 2]);
  }

  /** The offset in RAM of user address `a` (page-permission mode) if a
   *  slot of RAM backs it already: the translator's reads of code, which
   *  must not give a slot to an address by asking. */
  private codeOffset(a: number): number | undefined {
    const slots = this.slots, size = 1 << this.layout.SLOT_SHIFT;
    if (!slots) return undefined;
    const index = Math.floor(a / size);
    if (!(index >= 0 && index < slots.length) || slots[index] === this.layout.SLOT_NONE) return undefined;
    return slots[index] + (a - index * size);
  }

  /** The offset in RAM of the byte at guest address `addr`, or undefined
   *  when it is not RAM. */
  ramOffsetOf(addr: bigint): number | undefined {
    const off = this.offsetOf(addr, 1);
    return off >= 0 ? off : undefined;
  }

  /** A view of RAM by offset from its start, not by guest address: all of
   *  it, whatever maps it (for checks of scrubbing, and checkpoints). With
   *  lazy RAM, linear memory first grows to hold it (earlier views empty). */
  ramView(offset: number, length: number): Uint8Array {
    if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.ramBytes)) {
      throw new RangeError(`ramView: ${offset}+${length} is not inside ${this.ramBytes} bytes of RAM`);
    }
    this.mustHoldRam(offset + length);
    const i = this.layout.RAM_OFFSET + offset;
    return this.bytes.subarray(i, i + length);
  }

  /** Whether guest bytes [addr, addr+length) are RAM and lie in one piece
   *  of it, as views (guestBytes, peekBytes) need. */
  isContiguous(addr: bigint, length: number): boolean { return this.offsetOf(addr, length) >= 0; }

  // ---- touched pages (assembly/layout.ts, PAGE_TOUCHED) ----
  // A page holds nothing but zeros until a store of the guest or a write of
  // ring -1 reaches it; the CPU sets PAGE_TOUCHED on the first store (see
  // PERM_WLAZY), ring -1's accessors set it here. Freeing memory and
  // scrubbing a VM read and clear touched pages only: a page never touched
  // is never read or written by them, so the host never commits it.

  /** Pages [first, last] of RAM (indices from its start) may hold data now. */
  private touch(first: number, last: number): void {
    if (this.logging) this.logWrites(first, last);
    const b = this.bytes, base = this.layout.PAGE_PERMS, t = this.layout.PAGE_TOUCHED;
    let fresh = 0;
    for (let p = first; p <= last; p++) {
      if (b[base + p] & t) continue;
      b[base + p] |= t;
      fresh++;
    }
    if (fresh === 0) return;
    // Ring -1's writes count as the guest's memory, but are never refused
    // here: the system call that made them finishes, and the process VM
    // checks the limit after it (Linux would kill the task meanwhile).
    const used = this.memoryUsed + fresh, l = this.layout;
    this.view.setUint32(l.TOUCHED_PAGES, used, true);
    if (used > this.view.getUint32(l.TOUCHED_PEAK, true)) this.view.setUint32(l.TOUCHED_PEAK, used, true);
  }

  /** Pages of RAM marked touched (PAGE_TOUCHED), as the CPU and ring -1
   *  count them: the memory the guest uses (Linux's resident set). */
  get memoryUsed(): number { return this.view.getUint32(this.layout.TOUCHED_PAGES, true); }
  /** The most pages memoryUsed has been since the RAM was configured. */
  get memoryPeak(): number { return this.view.getUint32(this.layout.TOUCHED_PEAK, true); }
  /** Pages the guest's own first stores may take memoryUsed to (0: no
   *  limit); a store past it is a store page fault on a writable page. */
  get memoryLimit(): number { return this.view.getUint32(this.layout.TOUCH_LIMIT, true); }
  set memoryLimit(pages: number) {
    if (!Number.isInteger(pages) || pages < 0 || pages > 0xffff_ffff) throw new RangeError(`memory limit must be a whole number of pages, not ${pages}`);
    this.view.setUint32(this.layout.TOUCH_LIMIT, pages, true);
  }
  /** The most bytes of guest RAM configureRam accepts. */
  get maxRamBytes(): bigint { return BigInt(this.layout.RAM_MAX); }

  private touchRange(addr: bigint, length: number): void {
    if (length === 0) return;
    this.forPieces(addr, length, (off, n) => this.touch(Math.floor(off / PAGE_SIZE), Math.floor((off + n - 1) / PAGE_SIZE)));
  }

  /** Whether the page holding `addr` may hold something other than zeros. */
  isTouched(addr: bigint): boolean {
    const off = this.offsetOf(addr, 1);
    return off >= 0 && (this.bytes[this.layout.PAGE_PERMS + Math.floor(off / PAGE_SIZE)] & this.layout.PAGE_TOUCHED) !== 0;
  }

  /** How many pages of RAM may hold something other than zeros. */
  touchedPages(): number {
    const b = this.bytes, base = this.layout.PAGE_PERMS, t = this.layout.PAGE_TOUCHED;
    let n = 0;
    for (let p = 0, pages = Number(this.ramSize / BigInt(PAGE_SIZE)); p < pages; p++) if (b[base + p] & t) n++;
    return n;
  }

  // Zeroes the touched pages among RAM pages [first, last) and marks them
  // untouched again (a writable one becomes writable-on-first-store, so the
  // next store marks it anew); untouched pages are skipped without being
  // read. Returns how many pages held something.
  private clearTouched(first: number, last: number): number {
    const b = this.bytes, base = this.layout.PAGE_PERMS, t = this.layout.PAGE_TOUCHED;
    const W = Perm.W, lazy = this.layout.PERM_WLAZY;
    const clear = this.exports.clearTouchedPages as (offset: bigint, pages: number) => number;
    // Four permission bytes at a time while none is touched (a large
    // untouched range is passed over quickly).
    const words = new Uint32Array(b.buffer, 0, b.length >>> 2);
    const t4 = t * 0x0101_0101;
    let cleared = 0, untouched = 0;
    for (let p = first; p < last;) {
      if ((((base + p) & 3) === 0) && p + 4 <= last && (words[(base + p) >>> 2] & t4) === 0) { p += 4; continue; }
      if (!(b[base + p] & t)) { p++; continue; }
      let q = p + 1;
      while (q < last && b[base + q] & t) q++;
      cleared += clear(BigInt(p) * BigInt(PAGE_SIZE), q - p);
      if (this.logging) this.logWrites(p, q - 1);
      this.pagesScanned += q - p;
      untouched += q - p;
      for (let k = p; k < q; k++) {
        const v = unprotectCode(b[base + k], this.layout) & ~t;
        b[base + k] = v & W ? (v & ~W) | lazy : v;
      }
      p = q;
    }
    if (untouched) {
      this.userTlbStale();
      this.view.setUint32(this.layout.TOUCHED_PAGES, this.memoryUsed - untouched, true);
    }
    return cleared;
  }

  /**
   * Zeroes every touched page of RAM (scrubbing it for the next VM on this
   * instance) and returns how many held something. Untouched pages are not
   * read. (A flat-memory guest that has run has touched all of its RAM.)
   */
  scrub(): number {
    const pages = this.pagesInUse();
    if (this.flatTouched) this.touch(0, pages - 1);
    this.flatTouched = false;
    return this.clearTouched(0, pages);
  }

  // Pages of RAM that may hold something or have permissions: all of it in
  // flat mode, up to the slots' high-water mark in page-permission mode.
  private pagesInUse(): number {
    const pages = Number(this.ramSize / BigInt(PAGE_SIZE));
    return this.slots ? Math.min(pages, Math.ceil(this.slotHighWater / PAGE_SIZE)) : pages;
  }

  /**
   * Makes this instance what a new one would be, keeping its linear memory
   * (growing a large memory costs milliseconds; a reset costs microseconds):
   * registers, pc, CSRs, exit block, controls, counters and translations
   * cleared, RAM forgotten (configureRam again before running). Guest RAM
   * is scrubbed first: every page the guest or ring -1 may have touched is
   * zeroed (scrub), and every page's permissions dropped.
   */
  reset(): void {
    const l = this.layout;
    this.stopDirtyLog();
    this.scrub();
    const pages = this.pagesInUse();
    this.bytes.fill(0, l.PAGE_PERMS, l.PAGE_PERMS + pages);
    this.userTlbStale();
    this.slotHighWater = 0;
    this.flushTranslations();
    this.translator?.resetStats();
    this.threshold = 0;
    this.translationCacheLimit = DEFAULT_CACHE_LIMIT;
    this.warmup = this.warmUntil = 0n;
    this.warming = false;
    this.ageing = false;
    this.programStart = this.nextAge = 0n;
    this.bytes.fill(0, 0, l.EXIT_COUNTS + l.EXIT_REASON_COUNT * 8);
    this.dropReservation();
    this.clearSlots();
    this.slots = undefined;
    this.onMissingSlot = undefined;
    this.ramBase = 0n;
    this.ramSize = 0n;
    this.ramBytes = 0;
  }

  get ramStart(): bigint { return this.ramBase; }
  /** Bytes of RAM linear memory holds now: all of it, or with lazy RAM
   *  (configureRam) what the slots have needed so far, rounded up. */
  get ramHeld(): number { return Math.min(this.ramBytes, this.bytes.length - this.layout.RAM_OFFSET); }
  get ramLength(): bigint { return this.ramSize; }

  /** Runs at most `budget` instructions; returns why it stopped. Hot code
   *  is translated on the way (HOT exits never reach the caller). */
  run(budget: bigint): ExitReason {
    this.ran = true;
    if ((this.warming && this.instret >= this.warmUntil) || (this.nextAge !== 0n && this.instret >= this.nextAge)) this.applyThreshold();
    // A flat-memory guest can store anywhere in its RAM.
    if (!this.flatTouched && this.memoryMode === MemoryMode.Flat) this.flatTouched = true;
    // A store into translated code in a writable page exits (codeWritten),
    // and the exit block must read afterwards as if it had not: what a
    // fault writes and later exits do not is its cause and address.
    // (The address as two halves: a BigInt a run would be garbage.)
    const l = this.layout, v = this.view;
    const cause = v.getUint32(l.EXIT_CAUSE, true), addrLo = v.getUint32(l.EXIT_ADDR, true), addrHi = v.getUint32(l.EXIT_ADDR + 4, true);
    let reason = this.exports.run(budget) as ExitReason;
    this.codeStored();
    while (reason === ExitReason.Hot || (reason === ExitReason.Fault && this.codeWritten(cause, addrLo, addrHi))) {
      this.refresh();
      // (The faulting store used a unit of budget and retired nothing.)
      const left = reason === ExitReason.Hot ? this.budgetLeft : this.budgetLeft + 1n;
      if (reason === ExitReason.Hot) this.translator!.hot(this.pc);
      reason = this.exports.run(left) as ExitReason;
      this.codeStored();
    }
    this.refresh();
    this.translator?.stopped();
    return reason;
  }

  /** A system VM's guest stored to RAM pages holding translated code
   *  during the last run (layout.ts, CODE_WRITTEN): their translations go
   *  before it runs again (the CPU called none since). */
  private codeStored(): void {
    const l = this.layout, v = this.view, n = v.getUint32(l.CODE_WRITTEN, true);
    if (n === 0) return;
    v.setUint32(l.CODE_WRITTEN, 0, true);
    const t = this.translator;
    if (t === undefined) return;
    if (n === l.CODE_WRITTEN_ALL) { t.flush(); return; }
    for (let i = 0; i < n; i++) t.codeWritten(v.getUint32(l.CODE_WRITTEN_PAGES + 4 * i, true));
  }

  /**
   * The last exit was a store fault: if it hit a page whose W the
   * translator withheld (PERM_CODE_W, PERM_CODE_WLAZY: code in a writable
   * page, translated), the page's translations go, its bit comes back, and
   * true says the store may run again (it retired nothing). The exit is
   * then not counted, as the guest never sees it: a run with translations
   * takes exactly the exits of one without.
   */
  private codeWritten(oldCause: number, oldAddrLo: number, oldAddrHi: number): boolean {
    const l = this.layout, v = this.view;
    const cause = v.getUint32(l.EXIT_CAUSE, true);
    if (this.translator === undefined || (cause !== Cause.StorePageFault && cause !== Cause.StoreAccess)) return false;
    const addr = v.getBigUint64(l.EXIT_ADDR, true);
    // (A store that crosses a page may have faulted on either. The
    // fault may also be the first store to a slot not yet given RAM, which
    // ring -1 gives it: codeOffset does not, as offsetOf would.)
    let unprotected = false;
    for (const a of [addr, addr + 7n]) {
      const off = a < 1n << 53n ? this.codeOffset(Number(a)) : undefined;
      if (off === undefined) continue;
      const page = Math.floor(off / PAGE_SIZE), i = l.PAGE_PERMS + page, perms = this.bytes[i];
      if (!(perms & (l.PERM_CODE_W | l.PERM_CODE_WLAZY))) continue;
      this.bytes[i] = unprotectCode(perms, l);
      this.translator.codeWritten(page);
      unprotected = true;
    }
    if (!unprotected) return false;
    const counter = l.EXIT_COUNTS + ExitReason.Fault * 8;
    v.setBigUint64(counter, v.getBigUint64(counter, true) - 1n, true);
    v.setUint32(l.EXIT_CAUSE, oldCause, true);
    v.setUint32(l.EXIT_ADDR, oldAddrLo, true);
    v.setUint32(l.EXIT_ADDR + 4, oldAddrHi, true);
    return true;
  }

  // ---- the translation tier (src/cpu/jit/) ----
  /** Visits after which a jump target is translated into WebAssembly; 0
   *  turns translation off (the interpreter alone runs the guest). Only
   *  page-permission mode translates. */
  get jitThreshold(): number { return this.threshold; }
  set jitThreshold(n: number) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`JIT threshold must be a whole number of visits, not ${n}`);
    this.threshold = n;
    if (n !== 0 && this.translator === undefined) {
      const e = this.exports, l = this.layout;
      this.translator = new Jit({
        memory: e.memory, table: e.table, helpers: e, layout: l,
        expand: (p) => e.expandCompressed(p),
        // (A parcel is 2-aligned: never across two slots.)
        codeOffset: (pc: number) => this.codeOffset(pc),
        protectCode: (page: number) => {
          const i = l.PAGE_PERMS + page, perms = this.bytes[i];
          this.bytes[i] = (perms & ~(Perm.W | l.PERM_WLAZY))
            | (perms & Perm.W ? l.PERM_CODE_W : 0) | (perms & l.PERM_WLAZY ? l.PERM_CODE_WLAZY : 0);
          this.userTlbStale();
        },
        pagePermissions: () => this.memoryMode === MemoryMode.PagePermissions,
        systemMode: () => this.memoryMode === MemoryMode.Flat && (this.exitControls & ExitControl.Supervisor) !== 0,
        protectCodeInTlb: (page: number) => e.protectCodeInTlb(page),
      }, this.service);
      this.translator.countEntries(this.countEntries);
      this.translator.cacheLimit = this.cacheLimit;
    }
    this.applyThreshold();
  }

  /** Instructions the guest retires, from now, before the interpreter
   *  starts counting visits (translation's warm-up; 0: at once). Until
   *  then it runs as with translation off, without even the lookups. */
  get jitWarmup(): bigint { return this.warmup; }
  set jitWarmup(n: bigint) {
    if (n < 0n) throw new RangeError(`JIT warm-up must be a whole number of instructions, not ${n}`);
    this.warmup = n;
    this.programStart = this.instret;
    this.warmUntil = this.instret + n;
    this.applyThreshold();
  }

  /** Whether the threshold falls as the program grows old (jitThreshold
   *  is then the threshold of a young program): halved each time the
   *  program's instructions double past JIT_AGE_FROM, down to
   *  jitThreshold / JIT_AGE_MAX_DIVISOR (at least 1). A program that has
   *  run for long is likely to run long enough to win back the translation
   *  of its warm code; a short one (esbuild's bundle, 17 M instructions)
   *  translates only its hottest code, if any. */
  get jitAgeing(): boolean { return this.ageing; }
  set jitAgeing(on: boolean) {
    this.ageing = on;
    this.applyThreshold();
  }

  /** The threshold in force now: jitThreshold, aged. */
  get jitThresholdNow(): number { return this.aged().threshold; }

  /** jitThreshold aged to now, and the instruction count at which it next
   *  halves (0n: it falls no further). */
  private aged(): { threshold: number; next: bigint } {
    if (!this.ageing || this.threshold === 0) return { threshold: this.threshold, next: 0n };
    const floor = Math.max(1, Math.floor(this.threshold / JIT_AGE_MAX_DIVISOR));
    const age = this.instret - this.programStart;
    let threshold = this.threshold, at = JIT_AGE_FROM;
    while (threshold > floor && age >= at) { threshold = Math.max(floor, Math.floor(threshold / 2)); at *= 2n; }
    return { threshold, next: threshold > floor ? this.programStart + at : 0n };
  }

  /** Writes the threshold the interpreter uses (0 while warming up), and
   *  when run() must look at it again for ageing. */
  private applyThreshold(): void {
    this.warming = this.threshold !== 0 && this.instret < this.warmUntil;
    const { threshold, next } = this.aged();
    this.view.setUint32(this.layout.JIT_THRESHOLD, this.warming ? 0 : threshold, true);
    this.nextAge = next;
  }

  /** Where translations are emitted and compiled: by default in this
   *  thread, as the guest waits (compileHere); a worker thread's service
   *  (src/node/translation-worker.ts) lets the guest run on meanwhile. */
  get translationService(): TranslationService | undefined { return this.service; }
  set translationService(s: TranslationService | undefined) {
    this.service = s;
    this.translator?.setService(s ?? compileHere((p) => this.exports.expandCompressed(p)));
  }

  /** The most translated code this CPU keeps (modules, and bytes of
   *  WebAssembly) before it drops all of it (jit.ts, TranslationCacheLimit):
   *  the host memory a guest can make translations take. */
  get translationCacheLimit(): Readonly<TranslationCacheLimit> { return this.cacheLimit; }
  set translationCacheLimit(limit: Readonly<TranslationCacheLimit>) {
    this.cacheLimit = checkCacheLimit(limit);
    if (this.translator) this.translator.cacheLimit = this.cacheLimit;
  }

  private flushTranslations(): void {
    if (this.translator === undefined || !this.ran) return;
    this.translator.flush();
    this.ran = false;
  }

  /** The pcs the translation map calls a translation at now (its live
   *  entries: a colliding pc may have pushed one out until it is hot again). */
  translatedEntries(): bigint[] {
    const l = this.layout, v = this.view, out: bigint[] = [];
    for (let i = 0; i < l.JIT_MAP_ENTRIES; i++) {
      const s = l.JIT_MAP + i * 16, fn = v.getUint32(s + 8, true);
      if (fn !== 0 && fn !== l.JIT_NEVER) out.push(v.getBigUint64(s, true));
    }
    return out;
  }

  /** What the translation tier has done, or undefined while it is off. */
  get jitStats(): JitStats | undefined { return this.jitThreshold === 0 ? undefined : this.translator?.stats; }

  /** Whether translations made from now count the calls into them
   *  (jitEntries, from 0 when this is turned on): a load and a store more
   *  per call, so off by default. */
  get jitCountEntries(): boolean { return this.countEntries; }
  set jitCountEntries(on: boolean) {
    if (on && !this.countEntries) this.view.setBigUint64(this.layout.JIT_ENTRIES, 0n, true);
    this.countEntries = on;
    this.translator?.countEntries(on);
  }

  /** Coalesced MMIO (assembly/layout.ts, COALESCED_ADDR), as KVM's
   *  KVM_REGISTER_COALESCED_MMIO: the guest physical address of the one
   *  device register whose byte stores do not exit but are kept for ring
   *  -1 (takeCoalesced), or undefined for none. Only for a register whose
   *  writes the guest can observe through other registers alone: every
   *  other device access exits, and ring -1 must hand the kept bytes to the
   *  device after each run, before it handles the exit. */
  get coalescedMmio(): bigint | undefined {
    const at = this.view.getBigUint64(this.layout.COALESCED_ADDR, true);
    return at === 0n ? undefined : at;
  }
  set coalescedMmio(at: bigint | undefined) {
    if (at !== undefined && (at <= 0n || at >= 1n << 64n)) throw new RangeError(`a coalesced MMIO register at 0x${at.toString(16)}`);
    this.view.setBigUint64(this.layout.COALESCED_ADDR, at ?? 0n, true);
  }

  /** The bytes the guest stored to the coalesced register (coalescedMmio)
   *  since the last call, in order, or undefined if none; forgets them. */
  takeCoalesced(): Uint8Array | undefined {
    const l = this.layout, v = this.view, n = v.getUint32(l.COALESCED_COUNT, true);
    if (n === 0) return undefined;
    v.setUint32(l.COALESCED_COUNT, 0, true);
    return this.bytes.slice(l.COALESCED_DATA, l.COALESCED_DATA + Math.min(n, l.COALESCED_MAX));
  }

  /** Calls into translations counted (jitCountEntries). */
  get jitEntries(): bigint { return this.view.getBigUint64(this.layout.JIT_ENTRIES, true); }

  /** RAM pages overlapping [addr, addr+length) changed: they are touched
   *  now, and their translations go. */
  private changed(addr: bigint, length: number): void {
    this.touchRange(addr, length);
    this.dropTranslations(addr, length);
  }

  private dropTranslations(addr: bigint, length: number): void {
    const t = this.translator;
    if (t === undefined || length === 0) return;
    this.forPieces(addr, length, (off, n) => t.pagesChanged(Math.floor(off / PAGE_SIZE), Math.floor((off + n - 1) / PAGE_SIZE)));
  }

  // ---- registers ----
  x(r: number): bigint { return r === 0 ? 0n : this.view.getBigUint64(this.layout.X_REGS + r * 8, true); }
  setX(r: number, v: bigint): void {
    if (r !== 0) this.view.setBigUint64(this.layout.X_REGS + r * 8, BigInt.asUintN(64, v), true);
  }
  f(r: number): bigint { return this.view.getBigUint64(this.layout.F_REGS + r * 8, true); }
  setF(r: number, v: bigint): void { this.view.setBigUint64(this.layout.F_REGS + r * 8, BigInt.asUintN(64, v), true); }
  get pc(): bigint { return this.view.getBigUint64(this.layout.PC, true); }
  set pc(v: bigint) { this.view.setBigUint64(this.layout.PC, BigInt.asUintN(64, v), true); }
  get fcsr(): number { return this.view.getUint32(this.layout.FCSR, true); }
  set fcsr(v: number) { this.view.setUint32(this.layout.FCSR, v & 0xff, true); }
  get instret(): bigint { return this.view.getBigUint64(this.layout.INSTRET, true); }
  set time(v: bigint) { this.view.setBigUint64(this.layout.TIME, v, true); }
  get exitControls(): number { return this.view.getUint32(this.layout.EXIT_CONTROLS, true); }
  set exitControls(v: number) { this.view.setUint32(this.layout.EXIT_CONTROLS, v, true); }
  get memoryMode(): MemoryMode { return this.view.getUint32(this.layout.MEMORY_MODE, true); }
  set memoryMode(v: MemoryMode) {
    this.view.setUint32(this.layout.MEMORY_MODE, v, true);
    this.userTlbStale();
    // Page-permission mode maps user addresses by slots, none backed yet.
    if (v === MemoryMode.PagePermissions && !this.slots) {
      if (this.ramBytes === 0) throw new Error('page-permission mode needs RAM: configureRam first');
      this.clearSlots();
      this.slots = this.slotView();
    } else if (v !== MemoryMode.PagePermissions) {
      this.clearSlots();
      this.slots = undefined;
      // Flat mode reaches all of RAM by address: lazy RAM is held whole.
      this.mustHoldRam(this.ramBytes);
    }
    this.flushTranslations();
  }

  // ---- the supervisor side (system VMs) ----
  get priv(): Priv { return this.view.getUint32(this.layout.PRIV, true); }
  set priv(p: Priv) { this.view.setUint32(this.layout.PRIV, p, true); }
  /** A supervisor CSR as the CPU keeps it (sstatus without its derived SD). */
  csr(name: SupervisorCsr): bigint { return this.view.getBigUint64(this.layout.csr[name], true); }
  setCsr(name: SupervisorCsr, v: bigint): void {
    this.view.setBigUint64(this.layout.csr[name], BigInt.asUintN(64, v), true);
    if (name === 'satp') this.flushTlb();
  }
  /** Forgets every cached translation (the next run starts with an empty TLB). */
  flushTlb(): void { this.view.setBigUint64(this.layout.TLB_GEN, 0n, true); }
  /** Ring -1 raises or lowers an interrupt line (sip.SSIP for IPIs, sip.SEIP
   *  for the PLIC); the CPU takes it at its next run when enabled. */
  setInterruptPending(irq: number, pending: boolean): void {
    const bit = 1n << BigInt(irq);
    const sip = this.csr('sip');
    this.setCsr('sip', pending ? sip | bit : sip & ~bit);
  }

  /** The access of the last MMIO_LOAD / MMIO_STORE exit. */
  get mmio(): MmioAccess {
    const l = this.layout, v = this.view;
    return {
      addr: v.getBigUint64(l.EXIT_ADDR, true),
      size: v.getUint32(l.EXIT_SIZE, true),
      data: v.getBigUint64(l.EXIT_DATA, true),
      store: v.getUint32(l.EXIT_REASON, true) === ExitReason.MmioStore,
    };
  }

  /** The device's answer to an MMIO_LOAD: the next run writes it (extended
   *  as the load instruction says) and steps past the load. */
  completeMmioLoad(value: bigint): void {
    this.view.setBigUint64(this.layout.EXIT_DATA, BigInt.asUintN(64, value), true);
  }

  /** No device answered the last MMIO exit: the next run delivers a load or
   *  store access fault to S-mode instead of completing it. */
  failMmio(): void {
    const l = this.layout;
    const pending = this.view.getUint32(l.MMIO_PENDING, true);
    if (pending === 0) throw new Error('failMmio: the last exit was not an MMIO access');
    this.view.setUint32(l.MMIO_PENDING, pending | l.MMIO_FAILED, true);
  }

  /** Sets the permissions (Perm bits) of every page that overlaps [addr, addr+length). */
  setPagePermissions(addr: bigint, length: number, perms: number): void {
    if (length === 0) return;
    // Each page keeps PAGE_TOUCHED. A writable page not yet touched is
    // writable on its first store (PERM_WLAZY), which touches it.
    const b = this.bytes, base = this.layout.PAGE_PERMS, t = this.layout.PAGE_TOUCHED;
    const rx = perms & (Perm.R | Perm.X), lazy = perms & Perm.W ? rx | this.layout.PERM_WLAZY : rx, now = perms & Perm.W ? rx | Perm.W | t : rx | t;
    this.forPieces(addr, length, (off, n) => {
      const first = Math.floor(off / PAGE_SIZE), last = Math.floor((off + n - 1) / PAGE_SIZE);
      for (let p = base + first, end = base + last; p <= end; p++) b[p] = b[p] & t ? now : lazy;
      this.userTlbStale();
      if (this.logging && this.slots) this.withholdWrites(first, last, true);
      this.translator?.pagesChanged(first, last);
    });
  }

  /** The permissions of the page holding `addr` (Perm bits; 0 outside
   *  RAM). A page writable on its first store is writable. */
  pagePermissions(addr: bigint): number {
    const off = this.offsetOf(addr, 1);
    if (off < 0) return 0;
    const v = unprotectCode(this.bytes[this.layout.PAGE_PERMS + Math.floor(off / PAGE_SIZE)], this.layout);
    return (v & (Perm.R | Perm.W | Perm.X)) | (v & this.layout.PERM_WLAZY ? Perm.W : 0);
  }

  /** Instructions left of the last run's budget. */
  get budgetLeft(): bigint { return this.view.getBigUint64(this.layout.BUDGET_LEFT, true); }

  get exit(): ExitInfo {
    const l = this.layout, v = this.view;
    return {
      reason: v.getUint32(l.EXIT_REASON, true),
      pc: v.getBigUint64(l.EXIT_PC, true),
      inst: v.getUint32(l.EXIT_INST, true),
      instLength: v.getUint32(l.EXIT_INST_LEN, true),
      cause: v.getUint32(l.EXIT_CAUSE, true),
      addr: v.getBigUint64(l.EXIT_ADDR, true),
    };
  }

  /** Exits counted per reason since the instance was made (kvm_stat). */
  exitCounts(): Map<ExitReason, bigint> {
    const counts = new Map<ExitReason, bigint>();
    for (let r = 0; r < this.layout.EXIT_REASON_COUNT; r++) {
      const n = this.view.getBigUint64(this.layout.EXIT_COUNTS + r * 8, true);
      if (n > 0n) counts.set(r, n);
    }
    return counts;
  }

  // ---- the dirty-page log (assembly/layout.ts, DIRTY_MAP) ----
  // One byte per 4 KiB page of RAM, set when a write may have reached the
  // page since the log was last taken: for incremental checkpoints, and
  // later live migration's pre-copy rounds and replication. The CPU marks
  // guest stores (flat memory: on the store path while DIRTY_LOG is set;
  // page permissions: on the slow path of the first store to a page whose
  // W this side withheld), ring -1's writes are marked in touch() and
  // clearTouched(). Invariant while logging in page-permission mode: a page
  // has PERM_W or PERM_CODE_W only if its byte is set in the map, so that
  // a store that takes the fast path (interpreted or translated) never
  // needs marking. docs/ARCHITECTURE.md, "The dirty-page log".

  /** Turns the log on, empty: every page written from now is reported by
   *  the next takeDirtyPages. In page-permission mode, set the memory mode
   *  first (a mode change does not re-arm the log). */
  startDirtyLog(): void {
    const l = this.layout, pages = this.pagesInUse();
    this.bytes.fill(0, l.DIRTY_MAP, l.DIRTY_MAP + this.mapPages());
    this.logging = true;
    this.view.setUint32(l.DIRTY_LOG, 1, true);
    if (this.slots && pages > 0) this.withholdWrites(0, pages - 1, false);
  }

  /** Turns the log off (Cpu.reset does too). What it held is dropped;
   *  pages whose W it withheld get it back on their next store, as
   *  writable-on-first-store pages do, without a report. */
  stopDirtyLog(): void {
    const l = this.layout;
    this.logging = false;
    this.view.setUint32(l.DIRTY_LOG, 0, true);
    this.bytes.fill(0, l.DIRTY_MAP, l.DIRTY_MAP + this.mapPages());
  }

  /** Whether the log is on. */
  get dirtyLogging(): boolean { return this.logging; }

  /**
   * The pages written since the log was started or last taken, as indices
   * from RAM's start (page n holds RAM offsets n * 4096 ..), ascending; the
   * log is empty afterwards, and the next write to each of them is logged
   * again. A superset: a store that wrote what the page held already, or a
   * failed SC, still counts. Empty while the log is off.
   */
  takeDirtyPages(): Uint32Array {
    if (!this.logging) return new Uint32Array(0);
    const pages = this.dirtyPages(true);
    if (this.slots) for (const p of pages) this.withholdWrites(p, p, false);
    return pages;
  }

  /** How many pages the log holds now (a scan of one byte per page of
   *  RAM: 32 KiB for 128 MiB); 0 while it is off. */
  dirtyPageCount(): number {
    return this.logging ? this.dirtyPages(false).length : 0;
  }

  /** Pages of RAM the map may hold marks for: all of it in flat mode,
   *  the pages slots have reached in page-permission mode (a process VM's
   *  RAM is 4 GiB, mostly never used: its map is neither read nor written
   *  past them, so the host never commits it). The CPU's slow paths mark
   *  pages with the log off too; stopDirtyLog (and so reset) clears them. */
  private mapPages(): number { return this.pagesInUse(); }

  /** The marked pages, ascending; `clear` empties the map as it goes. A
   *  word at a time while all four bytes are clear (most pages, mostly). */
  private dirtyPages(clear: boolean): Uint32Array {
    const b = this.bytes, map = this.layout.DIRTY_MAP, n = this.mapPages();
    const words = new Uint32Array(b.buffer, map, n >>> 2);
    const found: number[] = [];
    for (let w = 0; w < words.length; w++) {
      if (words[w] === 0) continue;
      for (let p = w * 4; p < w * 4 + 4; p++) if (b[map + p]) found.push(p);
      if (clear) words[w] = 0;
    }
    for (let p = words.length * 4; p < n; p++) {
      if (!b[map + p]) continue;
      found.push(p);
      if (clear) b[map + p] = 0;
    }
    return Uint32Array.from(found);
  }

  /** Ring -1 wrote RAM pages [first, last]: into the log. */
  private logWrites(first: number, last: number): void {
    const map = this.layout.DIRTY_MAP;
    this.bytes.fill(1, map + first, map + last + 1);
  }

  /** Takes W from pages [first, last] (page-permission mode) so that their
   *  next store takes the CPU's slow path, which logs it: PERM_W becomes
   *  PERM_WLAZY (the page stays touched, so memoryUsed does not change),
   *  translated code's withheld PERM_CODE_W becomes PERM_CODE_WLAZY.
   *  `unloggedOnly`: leave pages the log holds already as they are. */
  private withholdWrites(first: number, last: number, unloggedOnly: boolean): void {
    const b = this.bytes, l = this.layout, base = l.PAGE_PERMS, map = l.DIRTY_MAP;
    const W = Perm.W, lazy = l.PERM_WLAZY, codeW = l.PERM_CODE_W, codeLazy = l.PERM_CODE_WLAZY;
    for (let p = first; p <= last; p++) {
      const v = b[base + p];
      if (!(v & (W | codeW)) || (unloggedOnly && b[map + p])) continue;
      b[base + p] = v & W ? (v & ~W) | lazy : (v & ~codeW) | codeLazy;
    }
    this.userTlbStale();
  }

  // ---- thread contexts ----
  /** A copy of what one guest thread owns of the CPU (x0..x31, f0..f31, pc,
   *  fcsr: one contiguous block of the layout), for a context switch. Offsets
   *  inside it are CONTEXT_X(r), CONTEXT_PC. */
  saveContext(): Uint8Array {
    return this.bytes.slice(this.layout.X_REGS, this.layout.X_REGS + CONTEXT_BYTES);
  }

  loadContext(context: Uint8Array): void {
    if (context.length !== CONTEXT_BYTES) throw new RangeError(`a thread context is ${CONTEXT_BYTES} bytes, not ${context.length}`);
    this.bytes.set(context, this.layout.X_REGS);
  }

  /** Everything a hart owns of the CPU's state (registers, pc, fcsr,
   *  instret, privilege, the supervisor CSRs: the layout up to the TLB
   *  generation), for a system VM that runs several harts on this one. */
  saveHart(): Uint8Array {
    return this.bytes.slice(this.layout.X_REGS, this.layout.TLB_GEN);
  }

  /** Makes `hart` (from saveHart) the one that runs: its state in place,
   *  its TLB empty, no reservation (another hart may have written since). */
  loadHart(hart: Uint8Array): void {
    if (hart.length !== this.layout.TLB_GEN - this.layout.X_REGS) throw new RangeError(`a hart's state is ${this.layout.TLB_GEN - this.layout.X_REGS} bytes, not ${hart.length}`);
    this.bytes.set(hart, this.layout.X_REGS);
    this.flushTlb();
    this.dropReservation();
  }

  /** Byte offset of a supervisor CSR inside a saveHart() block. */
  hartCsrOffset(name: SupervisorCsr): number { return this.layout.csr[name] - this.layout.X_REGS; }

  /** Forgets an LR reservation: a context switch breaks it, so that an SC in
   *  the next thread cannot succeed on the last one's reservation. */
  dropReservation(): void {
    this.view.setBigUint64(this.layout.RESERVATION, 0xffff_ffff_ffff_ffffn, true);
  }

  // ---- guest memory, for ring -1 ----
  // These accessors are ring -1's own view of guest RAM: they check only that
  // the bytes are RAM, never the guest's page permissions, so that the ELF
  // loader, the address space, devices' DMA and ring -1's own pages (the
  // signal trampoline, vmcall's return page) can use them. A system call
  // touches guest memory only through src/linux/user-memory.ts (UserMemory,
  // `ProcessVM.user`), which checks what the guest itself may access;
  // test/guest-memory.test.ts fails if a system-call module calls these.

  /**
   * How many bytes from `addr` (at most `length`) the guest could access with
   * all of `perms` (Perm bits): the run of bytes that are in RAM and on pages
   * whose permissions include `perms`. In flat mode every byte of RAM counts.
   */
  accessiblePrefix(addr: bigint, length: number, perms: number): number {
    if (length <= 0) return 0;
    if (!this.slots) {
      const off = addr - this.ramBase;
      if (off < 0n || off >= this.ramSize) return 0;
      return this.ramSize - off < BigInt(length) ? Number(this.ramSize - off) : length;
    }
    const table = this.layout.PAGE_PERMS;
    // A page writable on its first store (PERM_WLAZY) is writable: the
    // write that follows through Cpu's accessors touches it.
    const lazy = this.layout.PERM_WLAZY;
    // Page by page: each page of RAM it reaches through its slot. (As a
    // number: exact below 2^53, and anything at 2^38 or above is refused.)
    const start = Number(addr);
    let done = 0;
    while (done < length) {
      const a = start + done;
      const inPage = PAGE_SIZE - (a % PAGE_SIZE);
      const off = this.userOffset(a, 1);
      if (off < 0) break;
      const v = unprotectCode(this.bytes[table + Math.floor(off / PAGE_SIZE)], this.layout);
      if (((v & lazy ? v | Perm.W : v) & perms) !== perms) break;
      done += inPage;
    }
    return Math.min(done, length);
  }

  /** Ring -1 wrote guest bytes through a view (guestBytes): translations
   *  made from those pages go, as writeBytes would drop them. */
  wrote(addr: bigint, length: number): void {
    this.changed(addr, length);
  }

  /** Linear-memory index of guest bytes [addr, addr+length) in one piece
   *  of RAM, or throws GuestMemoryError. */
  private index(addr: bigint, length: number): number {
    const off = this.offsetOf(addr, length);
    if (off < 0) throw new GuestMemoryError(addr, length);
    return this.layout.RAM_OFFSET + off;
  }

  /** Whether [addr, addr+length) lies inside guest RAM. */
  inRam(addr: bigint, length: number): boolean {
    const off = this.offsetOf(addr, length);
    if (off !== SPANS_SLOTS) return off >= 0;
    try {
      this.forPieces(addr, length, () => {});
      return true;
    } catch (e) {
      if (e instanceof GuestMemoryError) return false;
      throw e;
    }
  }

  /** A view (not a copy) of guest bytes; valid until memory grows. The
   *  caller may write through it: its pages count as touched. */
  guestBytes(addr: bigint, length: number): Uint8Array {
    const i = this.index(addr, length);
    this.touchRange(addr, length);
    // A device's DMA into a system VM's RAM goes through such views: it
    // may be code (a page read from disk into the page cache).
    if (this.memoryMode === MemoryMode.Flat) this.dropTranslations(addr, length);
    return this.bytes.subarray(i, i + length);
  }
  /** A view of guest bytes for reading only: unlike guestBytes it marks no
   *  page touched (a system call that reads a buffer, as write(2) does). */
  peekBytes(addr: bigint, length: number): Uint8Array {
    const i = this.index(addr, length);
    return this.bytes.subarray(i, i + length);
  }
  readBytes(addr: bigint, length: number): Uint8Array {
    const off = this.offsetOf(addr, length);
    if (off >= 0) {
      const i = this.layout.RAM_OFFSET + off;
      return this.bytes.slice(i, i + length);
    }
    const out = new Uint8Array(length), base = this.layout.RAM_OFFSET;
    this.forPieces(addr, length, (o, n, done) => out.set(this.bytes.subarray(base + o, base + o + n), done));
    return out;
  }
  writeBytes(addr: bigint, data: Uint8Array): void {
    const base = this.layout.RAM_OFFSET;
    this.forPieces(addr, data.length, (o, n, done) => this.bytes.set(data.subarray(done, done + n), base + o));
    this.changed(addr, data.length);
  }
  fill(addr: bigint, length: number, value: number): void {
    const base = this.layout.RAM_OFFSET;
    this.forPieces(addr, length, (o, n) => this.bytes.fill(value, base + o, base + o + n));
    this.changed(addr, length);
  }
  // Words are read and written in place when they lie in one piece of RAM,
  // else (a word across two slots) through readBytes and writeBytes.
  read64(addr: bigint): bigint {
    const off = this.offsetOf(addr, 8);
    if (off >= 0) return this.view.getBigUint64(this.layout.RAM_OFFSET + off, true);
    return new DataView(this.readBytes(addr, 8).buffer).getBigUint64(0, true);
  }
  write64(addr: bigint, v: bigint): void { this.writeWords64(addr, [v]); }
  /** Stores 64-bit words at addr, addr+8, ... (one bounds check, one
   *  translation drop: system calls write small structs often). */
  writeWords64(addr: bigint, words: readonly bigint[]): void {
    const off = this.offsetOf(addr, words.length * 8);
    if (off < 0) {
      const v = new DataView(new ArrayBuffer(words.length * 8));
      for (let k = 0; k < words.length; k++) v.setBigUint64(k * 8, BigInt.asUintN(64, words[k]), true);
      this.writeBytes(addr, new Uint8Array(v.buffer));
      return;
    }
    const i = this.layout.RAM_OFFSET + off;
    for (let k = 0; k < words.length; k++) this.view.setBigUint64(i + k * 8, BigInt.asUintN(64, words[k]), true);
    this.changed(addr, words.length * 8);
  }
  read32(addr: bigint): number {
    const off = this.offsetOf(addr, 4);
    if (off >= 0) return this.view.getUint32(this.layout.RAM_OFFSET + off, true);
    return new DataView(this.readBytes(addr, 4).buffer).getUint32(0, true);
  }
  write32(addr: bigint, v: number): void {
    const off = this.offsetOf(addr, 4);
    if (off < 0) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, v >>> 0, true);
      this.writeBytes(addr, b);
      return;
    }
    this.view.setUint32(this.layout.RAM_OFFSET + off, v >>> 0, true);
    this.changed(addr, 4);
  }
  read8(addr: bigint): number { return this.bytes[this.index(addr, 1)]; }
  /** Zeroes the touched pages of [addr, addr+length) (page-aligned) and
   *  marks them untouched; never-touched pages are neither read nor
   *  written, so the host never commits them. Returns how many pages held
   *  something. */
  clearTouchedPages(addr: bigint, length: number): number {
    if (length === 0) return 0;
    if ((addr - this.ramBase) % BigInt(PAGE_SIZE) !== 0n || length % PAGE_SIZE !== 0) {
      throw new RangeError(`clearTouchedPages: 0x${addr.toString(16)}+${length} is not whole pages`);
    }
    this.dropTranslations(addr, length);
    let cleared = 0;
    this.forPieces(addr, length, (off, n) => {
      const first = off / PAGE_SIZE;
      cleared += this.clearTouched(first, first + n / PAGE_SIZE);
    });
    return cleared;
  }

  /** A NUL-terminated string of at most `max` bytes; throws if unterminated or outside RAM. */
  readCString(addr: bigint, max = 4096): Uint8Array {
    for (let n = 0; n < max; n++) {
      if (this.read8(addr + BigInt(n)) === 0) return this.readBytes(addr, n);
    }
    throw new GuestMemoryError(addr, max);
  }

  // ---- checkpoints (docs/CHECKPOINTS.md, "The CPU and its RAM") ----
  // The CPU's record holds what the layout keeps below RAM that is the
  // guest's or the hypervisor's state; RAM itself goes in sections of its
  // own (src/hypervisor/ram-record.ts), read by offset with ramView. What
  // the record leaves out is cache, rebuilt on demand: the TLB, the
  // translations and the translation map, the RVC expansions.

  /** The CPU's state as a record: the live hart (registers, pc, fcsr,
   *  instret, time, the LR reservation, privilege, supervisor CSRs), the
   *  exit block (an MMIO access the next run completes is in it), the
   *  exit controls, the memory counters and limit, the exit counters, the
   *  pages' permission bytes (W given back where translations withheld
   *  it: none are saved) and the slot table's backed entries. */
  saveState(): Uint8Array {
    const l = this.layout, b = this.bytes;
    const pages = this.pagesInUse();
    const perms = b.slice(l.PAGE_PERMS, l.PAGE_PERMS + pages);
    // Translations' and the dirty-page log's withheld W is given back: a
    // touched page writable on its first store is writable (that store
    // would only mark it touched, which it is), so the record is the same
    // whether a log was running or code was translated.
    const W = Perm.W, lazy = l.PERM_WLAZY, t = l.PAGE_TOUCHED;
    // (In flat memory the bit is a system VM's CODE_PAGE, which no record keeps.)
    const flat = this.memoryMode === MemoryMode.Flat;
    for (let i = 0; i < perms.length; i++) {
      const v = flat ? perms[i] & ~l.CODE_PAGE : unprotectCode(perms[i], l);
      perms[i] = (v & t) && (v & lazy) ? (v & ~lazy) | W : v;
    }
    const slots: number[] = [];
    if (this.slots) for (const index of [...this.backedSlots].sort((x, y) => x - y)) slots.push(index, this.slots[index]);
    return new RecordWriter(CPU_RECORD_TAG, CPU_RECORD_VERSION)
      .u64(this.ramBase).u64(this.ramSize).u32(this.memoryMode)
      .bytes(b.slice(l.X_REGS, l.TLB_GEN))
      .bytes(b.slice(l.EXIT_REASON, l.EXIT_CONTROLS))
      .u32(this.exitControls).u32(this.memoryUsed).u32(this.memoryPeak).u32(this.memoryLimit)
      .bytes(b.slice(l.EXIT_COUNTS, l.EXIT_COUNTS + l.EXIT_REASON_COUNT * 8))
      .bool(this.flatTouched)
      .bytes(perms)
      .u32s(slots).u32(this.slotHighWater)
      .finish();
  }

  /**
   * Takes the state of a record saveState wrote, onto a CPU whose RAM is
   * configured as it was (same base, size and memory mode) and holds the
   * saved RAM already (ram-record.ts restores it first). Everything is
   * read and checked before anything changes: a record that does not fit
   * this CPU throws CheckpointError and leaves it as it was. Translations
   * and the TLB are dropped.
   */
  restoreState(record: Uint8Array): void {
    const l = this.layout;
    const r = new RecordReader(record, CPU_RECORD_TAG, [CPU_RECORD_VERSION]);
    const ramBase = r.u64('the RAM base'), ramSize = r.u64('the RAM size'), mode = r.u32('the memory mode');
    const hart = r.bytes('the hart'), exitBlock = r.bytes('the exit block');
    const controls = r.u32('the exit controls'), used = r.u32('the pages used'), peak = r.u32('the peak'), limit = r.u32('the limit');
    const counts = r.bytes('the exit counts');
    const flatTouched = r.bool('flat RAM touched');
    const perms = r.bytes('the page permissions');
    const slots = r.u32s('the slots'), highWater = r.u32('the slots\' high-water mark');
    r.end();
    if (ramBase !== this.ramBase || ramSize !== this.ramSize) {
      r.invalid(`the CPU had ${ramSize} bytes of RAM at 0x${ramBase.toString(16)}; this one has ${this.ramSize} at 0x${this.ramBase.toString(16)}`);
    }
    if (mode !== this.memoryMode) r.invalid(`memory mode ${mode}, this CPU is in mode ${this.memoryMode}`);
    if (hart.length !== l.TLB_GEN - l.X_REGS) r.invalid(`a hart of ${hart.length} bytes; this CPU's are ${l.TLB_GEN - l.X_REGS}`);
    if (exitBlock.length !== l.EXIT_CONTROLS - l.EXIT_REASON) r.invalid(`an exit block of ${exitBlock.length} bytes; this CPU's is ${l.EXIT_CONTROLS - l.EXIT_REASON}`);
    if (counts.length !== l.EXIT_REASON_COUNT * 8) r.invalid(`${counts.length / 8} exit counters; this CPU has ${l.EXIT_REASON_COUNT}`);
    const pages = this.ramBytes / PAGE_SIZE;
    if (perms.length > pages) r.invalid(`permissions for ${perms.length} pages; RAM has ${pages}`);
    const known = Perm.R | Perm.W | Perm.X | l.PERM_WLAZY | l.PAGE_TOUCHED;
    for (let i = 0; i < perms.length; i++) if (perms[i] & ~known) r.invalid(`page ${i}'s permissions 0x${perms[i].toString(16)} have unknown bits`);
    const size = this.slotBytes;
    if (slots.length % 2 !== 0) r.invalid('the slots are not (index, offset) pairs');
    if (slots.length > 0 && !this.slots) r.invalid('slots in a CPU without page-permission mode');
    let top = 0;
    for (let i = 0; i < slots.length; i += 2) {
      const index = slots[i], off = slots[i + 1];
      if (index >= l.SLOT_COUNT || (i > 0 && index <= slots[i - 2])) r.invalid(`slot ${index} is out of range or out of order`);
      if (off === 0 || off % size !== 0 || off + size > this.ramBytes) r.invalid(`slot ${index} at RAM offset 0x${off.toString(16)} is not a slot of RAM`);
      top = Math.max(top, off + size);
    }
    if (highWater < top || highWater > this.ramBytes) r.invalid(`the slots' high-water mark 0x${highWater.toString(16)} does not cover them`);
    this.mustHoldRam(highWater);

    const b = this.bytes;
    b.set(hart, l.X_REGS);
    b.set(exitBlock, l.EXIT_REASON);
    this.exitControls = controls;
    b.set(counts, l.EXIT_COUNTS);
    const old = this.pagesInUse();
    b.set(perms, l.PAGE_PERMS);
    if (old > perms.length) b.fill(0, l.PAGE_PERMS + perms.length, l.PAGE_PERMS + old);
    this.userTlbStale();
    this.clearSlots();
    for (let i = 0; i < slots.length; i += 2) { this.slots![slots[i]] = slots[i + 1]; this.backedSlots.add(slots[i]); }
    this.slotHighWater = highWater;
    this.flatTouched = flatTouched;
    this.view.setUint32(l.TOUCHED_PAGES, used, true);
    this.view.setUint32(l.TOUCHED_PEAK, peak, true);
    this.memoryLimit = limit;
    this.flushTlb();
    this.flushTranslations();
  }

  /** Whether page `index` of RAM (from its start) may hold something other
   *  than zeros: what a checkpoint saves of RAM. */
  pageMayHoldData(index: number): boolean {
    if (this.flatTouched && !this.slots) return true;
    return (this.bytes[this.layout.PAGE_PERMS + index] & this.layout.PAGE_TOUCHED) !== 0;
  }

}
