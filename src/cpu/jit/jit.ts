// Ring -1's translation cache: turns hot guest code into WebAssembly
// functions (translate.ts), installs them in the CPU's function table and in
// the translation map the interpreter looks up at jump targets
// (assembly/layout.ts, JIT_MAP), and drops them when the code they were made
// from may have changed.
//
// Translation is off the interpreter's way as far as it can be. At a hot
// entry this thread only copies the entry's code page and the next one and
// queues them; the entry's slot says "pending" (JIT_NEVER) meanwhile, so the
// interpreter runs that code on without exiting again. Queued entries go
// out in batches to a TranslationService, which finds each region in its
// copies (translate.ts, discover), emits the batch as one module and
// compiles it: in this thread as the batch is sent (compileHere, the
// default, and what a page without workers has), or in a worker thread
// while the guest runs on (src/node/translation-worker.ts). Finished
// modules are installed when the CPU next stops (a hot exit, or the end of
// a run). A batch goes when it has the service's batchSize entries or the
// run ends: a module of many functions costs far less than as many modules.
// (Hot exits and run ends come at the same instructions every time on the
// virtual clock, so with compileHere the same regions are made every time.)
//
// In a system VM (flat memory, S-mode, the MMU) see hotUnderMmu and
// docs/ARCHITECTURE.md, "Translated system VMs". In a process VM code is
// translated only from pages the guest can execute (page permissions). Most cannot be written (a program's text); what can
// change their code is ring -1 itself: new permissions on a page (mprotect,
// munmap, mmap over it) or a write by the hypervisor into guest memory (the
// ELF loader, signal trampolines, vmcall). Cpu calls `pagesChanged` for
// both, and the translations made from those pages go, pending ones
// included (a module that comes back for them is not used). Code in a
// writable page (a JIT inside the guest, a trampoline on a stack) is
// translated too, and its page loses W meanwhile (protectCode): the
// guest's next store there faults to Cpu, which gives W back and calls
// `codeWritten` before the store runs. Either way no translation ever runs
// code that has changed, which is why FENCE.I needs no work.
//
// Generations. The interpreter calls a translation through the CPU's
// function table; translations call helpers and chain to each other
// through a table their module imports. That is not the CPU's table,
// because Node 20's V8 keeps an instance that imports a table alive for as
// long as the table lives: every module ever made, dropped or not, stayed
// in memory with its CPU (18 KiB a module, without bound:
// bench/translation-churn.mjs). It is a generation's table, which holds
// what the CPU's holds at the same indices (the helpers, and every live
// translation: setFunction). When every translation is dropped (flush: the
// cache full, a reset, RAM moved), a new generation begins, and the old
// table and every module made in it are garbage together. So the modules
// alive are at most those made since the last flush, which the cache
// limit bounds (TranslationCacheLimit). (A table of its own per module, with
// a trampoline that alone imported the CPU's table, freed each module at
// once, but the extra hop cost 3 ns a chained call: docs/PERFORMANCE.md,
// "What translated code keeps".)
import {
  discover, emitRegion, moduleOf, snapshotEnv, foldPc, foldable, pcConst, HELPERS,
  type CodeSnapshot, type EmitConfig, type RegionCode,
} from './translate.js';

export interface JitHost {
  memory: WebAssembly.Memory;
  table: WebAssembly.Table;
  helpers: Record<string, unknown>;
  expand(parcel: number): number;
  layout: EmitConfig['layout'] & Omit<NonNullable<EmitConfig['system']>, 'SSTATUS'> & {
    csr: { sstatus: number };
    JIT_MAP: number; JIT_MAP_ENTRIES: number; JIT_NEVER: number; USER_VA_BITS: number; JIT_HOT_PAGE: number;
    CODE_PAGE: number; CODE_PAGES: number; JIT_ENTRIES: number; PAGE_PERMS: number;
  };
  /** The offset in RAM of user address `pc` if RAM backs it now (no RAM is
   *  given to it for asking); a number, as user addresses are below 2^38. */
  codeOffset(pc: number): number | undefined;
  pagePermissions(): boolean;
  /** Withholds W from RAM page `page` (a writable page with translated
   *  code): the guest's next store to it faults to Cpu, which gives W back
   *  and calls codeWritten. */
  protectCode(page: number): void;
  /** Whether the CPU is a system VM's (flat memory, S-mode, the MMU):
   *  translations are then keyed by pc and RAM page ("Under the MMU"). */
  systemMode(): boolean;
  /** Marks the TLB's entries for RAM page `page` TLB_CODE
   *  (assembly/mmu.ts protectCodeInTlb). */
  protectCodeInTlb(page: number): void;
}

/** A batch of hot entries to translate into one module, each with copies
 *  of the code pages its region may take (its own page and the next). */
export interface TranslationRequest {
  config: EmitConfig;
  entries: ({ pc: number } & CodeSnapshot)[];
}

/** What came of a request: per entry, in order, its function (exported
 *  from `module` as `${function}`) or undefined when its first instruction
 *  is not one the translator takes. */
export interface TranslationResult {
  module?: WebAssembly.Module;
  entries: ({ function: number; instructions: number; blocks: number; pages: number[] } | undefined)[];
  bytes: number;
  /** Milliseconds spent finding, emitting and compiling, wherever that ran. */
  ms: number;
}

/**
 * Where batches are translated. `submit` hands one over; `pump` calls the
 * `done` of every batch finished since (never blocking for one that is
 * not). A service may serve many CPUs (the processes of a VM).
 */
export interface TranslationService {
  /** Entries to gather into one request before sending it. */
  readonly batchSize: number;
  /** The request is the service's from now: it may transfer its code
   *  copies' buffers to another thread. */
  submit(request: TranslationRequest, done: (result: TranslationResult | Error) => void): void;
  pump(): void;
  /** Batches submitted and not yet passed to their `done`. */
  readonly outstanding: number;
  /** Whether it takes the next request (asked before each one), the Jit
   *  having spent `msHere` translating in its own thread so far. A service
   *  that must first start (a worker thread) may leave the first requests
   *  to the Jit, and answers false until it can work: the Jit then
   *  translates in its own thread, as an entry left waiting would run
   *  interpreted. Absent: always. */
  ready?(msHere: number): boolean;
}

/** Whether this engine has WebAssembly's tail calls (a module whose one
 *  function is `return_call_indirect` through a table validates): chained
 *  translations need them. */
const TAIL_CALLS = WebAssembly.validate(new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7e, 0x01, 0x7e, // type 0: (i64) -> i64
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x04, 0x04, 0x01, 0x70, 0x00, 0x01, // a table of funcref, at least 1
  0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x41, 0x00, 0x13, 0x00, 0x00, 0x0b, // local.get 0, i32.const 0, return_call_indirect
]));

/** Finds, emits and compiles a batch, in the calling thread. `expand`: the
 *  CPU's own expansion of compressed instructions. */
export function translateBatch(request: TranslationRequest, expand: (parcel: number) => number): TranslationResult {
  const started = performance.now();
  const functions: RegionCode[] = [];
  const entries = request.entries.map((e) => {
    const region = discover(snapshotEnv(request.config, e, expand), e.pc);
    if (region === undefined) return undefined;
    const f = emitRegion(request.config, region);
    functions.push(f);
    return { function: functions.length - 1, instructions: f.instructions, blocks: f.blocks, pages: region.pages };
  });
  if (functions.length === 0) return { entries, bytes: 0, ms: performance.now() - started };
  const bytes = moduleOf(functions);
  const module = new WebAssembly.Module(bytes);
  return { module, entries, bytes: bytes.length, ms: performance.now() - started };
}

/** The service that translates in this thread, as a batch is sent: the
 *  default, and what a page without workers has. */
export function compileHere(expand: (parcel: number) => number): TranslationService {
  const finished: (() => void)[] = [];
  return {
    // Each entry at once: an entry left waiting for others, or for the run
    // to end (runs can be long), runs interpreted meanwhile.
    batchSize: 1,
    submit(request, done) {
      let result: TranslationResult | Error;
      try { result = translateBatch(request, expand); } catch (e) { result = e instanceof Error ? e : new Error(String(e)); }
      finished.push(() => done(result));
    },
    pump() {
      while (finished.length > 0) finished.shift()!();
    },
    get outstanding() { return finished.length; },
  };
}

export interface JitStats {
  /** Regions translated and installed. */
  translated: number;
  /** Hot entries that could not be translated (their first instruction is not translatable). */
  refused: number;
  /** Translations dropped because their page changed (pending ones included). */
  dropped: number;
  /** Guest instructions in the translations made (a region's blocks summed). */
  instructions: number;
  /** Bytes of WebAssembly made. */
  bytes: number;
  /** Modules made (each holds a batch of regions). */
  modules: number;
  /** Of those, modules made in this thread while the service was not
   *  ready (TranslationService.ready). */
  modulesHere: number;
  /** Milliseconds this thread spent on translation: finding regions, and
   *  emitting and compiling them when the service is compileHere. */
  ms: number;
  /** Milliseconds the service spent emitting and compiling (in a worker,
   *  beside the guest rather than in its way). */
  compileMs: number;
  /** Times every translation was dropped because the cache was full
   *  (TranslationCacheLimit). */
  flushes: number;
}

/**
 * The most translated code a CPU keeps: modules and bytes of WebAssembly
 * made since every translation was last dropped. The host memory a
 * translation costs (its module's instance and compiled code, some 18 KiB
 * for a module of one small region) is guest-controlled: when a module
 * would take the cache past either figure, every translation is dropped
 * instead (a module alone in the cache is kept, however large), as QEMU
 * drops its whole translation buffer when it is full, and the interpreter
 * finds what is still hot again. The modules made before are then freed
 * ("Generations"), so a guest that keeps making code (a JIT,
 * self-modifying code) costs the host at most this much. jq's whole test
 * suite made 720 modules (6.1 MiB); the default is three times that and
 * more.
 */
export interface TranslationCacheLimit { modules: number; bytes: number }
export const DEFAULT_CACHE_LIMIT: Readonly<TranslationCacheLimit> = Object.freeze({ modules: 2048, bytes: 16 * 2 ** 20 });

/** `limit`, checked (each figure a whole number of at least 1, else a
 *  RangeError) and frozen. */
export function checkCacheLimit(limit: Readonly<TranslationCacheLimit>): Readonly<TranslationCacheLimit> {
  for (const key of ['modules', 'bytes'] as const) {
    const n = limit?.[key];
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`translation cache limit: ${key} must be a whole number of at least 1, not ${n}`);
  }
  return Object.freeze({ modules: limit.modules, bytes: limit.bytes });
}

/** `--stats`'s lines for `s` (`ringvisor run` and `boot`), without their prefix. */
export function jitStatsLines(s: JitStats): { made: string; time: string } {
  const here = s.modulesHere > 0 ? `, ${s.modulesHere} of them made in the guest's thread while the worker started` : '';
  const full = s.flushes > 0 ? `; all dropped ${s.flushes} times, the cache full` : '';
  return {
    made: `translation: ${s.translated} regions (${s.instructions} instructions) in ${s.modules} modules (${(s.bytes / 1024).toFixed(0)} KiB of wasm${here}); ${s.refused} refused, ${s.dropped} dropped${full}`,
    time: `translation time: ${s.ms.toFixed(1)} ms in the guest's thread, ${s.compileMs.toFixed(1)} ms emitting and compiling`,
  };
}

const PAGE_BYTES = 4096;
const PERM_W = 2, PERM_X = 4, PERM_WLAZY = 8; // assembly/layout.ts
/** Stores into a writable page's translated code after which its code is
 *  left to the interpreter: data written beside code (or code rewritten
 *  all the time) would otherwise be translated over and over. */
const MAX_CODE_WRITES = 8;
/** Function-table entries added at once (Jit.growTable). */
const TABLE_STEP = 64;
/** An empty slot: no pc is odd. */
const NO_PC = 1n;

function listAdd(map: Map<number, number[]>, key: number, pc: number): void {
  const list = map.get(key);
  if (list) list.push(pc); else map.set(key, [pc]);
}

function listRemove(map: Map<number, number[]>, key: number, pc: number): void {
  const list = map.get(key);
  if (list === undefined) return;
  const i = list.indexOf(pc);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}

const emptyStats = (): JitStats => ({ translated: 0, refused: 0, dropped: 0, instructions: 0, bytes: 0, modules: 0, modulesHere: 0, ms: 0, compileMs: 0, flushes: 0 });

export class Jit {
  stats: JitStats = emptyStats();
  cacheLimit: Readonly<TranslationCacheLimit> = DEFAULT_CACHE_LIMIT;
  /** What the cache holds against cacheLimit: made since the last flush. */
  private cached = { modules: 0, bytes: 0 };
  /** Live translations: entry pc -> function-table index. */
  private readonly byPc = new Map<number, number>();
  /** RAM page index -> entry pcs translated from that page. */
  private readonly byPage = new Map<number, number[]>();
  /** RAM page index -> entry pcs there marked JIT_NEVER: when the page
   *  changes (it may have become code) they are counted afresh. */
  private readonly refusedByPage = new Map<number, number[]>();
  /** Entries queued or out at the service: pc -> its batch, and the RAM
   *  pages (by guest base) its snapshot was taken from. */
  private readonly pending = new Map<number, { batch: number; pages: Map<number, number> }>();
  /** RAM page index -> pending entry pcs whose copies came from it. */
  private readonly pendingByPage = new Map<number, number[]>();
  /** The batch being gathered. */
  private queue: TranslationRequest['entries'] = [];
  private batches = 0;
  /** RAM page index -> stores into its translated code so far (writable pages). */
  private readonly codeWrites = new Map<number, number>();
  private readonly freeIndices: number[] = [];
  /** This generation's instance of each module. */
  private instances = new WeakMap<WebAssembly.Module, WebAssembly.Exports>();
  /** Translates in this thread while the service is not ready. */
  private readonly here: TranslationService;
  /** Milliseconds `here` has spent (TranslationService.ready). */
  private hereMs = 0;
  /** The table this generation's modules import ("Generations"). */
  private generation: WebAssembly.Table;
  /** Where the helpers are in the CPU's table and in every generation's. */
  private readonly helperSlots: number[];
  private config: EmitConfig;
  private systemConfig: EmitConfig;
  /** System mode: the RAM page each live translation was made from. */
  private readonly pageOfPc = new Map<number, number>();
  /** System mode: RAM pages marked CODE_PAGE by this side. */
  private readonly codePages = new Set<number>();
  private view: DataView;
  private bytes: Uint8Array;
  /** The translation map's words (visited). */
  private mapWords: Uint32Array | undefined;

  constructor(private readonly host: JitHost, private service: TranslationService = compileHere(host.expand)) {
    // The helpers go into the table, where translations call them
    // (EmitConfig.helpers).
    const firstHelper = host.table.grow(HELPERS.length);
    this.helperSlots = HELPERS.map((_, i) => firstHelper + i);
    HELPERS.forEach((h, i) => host.table.set(firstHelper + i, host.helpers[h] as WebAssembly.ExportValue));
    this.generation = this.newGeneration();
    this.here = compileHere(host.expand);
    this.view = new DataView(host.memory.buffer);
    this.bytes = new Uint8Array(host.memory.buffer);
    const l = host.layout;
    this.config = {
      layout: {
        X_REGS: l.X_REGS, F_REGS: l.F_REGS, PC: l.PC, FCSR: l.FCSR, RAM_OFFSET: l.RAM_OFFSET,
        USER_TLB: l.USER_TLB, USER_TLB_STORES: l.USER_TLB_STORES, USER_TLB_ENTRIES: l.USER_TLB_ENTRIES,
        USER_TLB_MISS: l.USER_TLB_MISS, USER_TLB_MISS_KIND: l.USER_TLB_MISS_KIND,
      },
      userEnd: 2 ** l.USER_VA_BITS,
      helpers: this.helperSlots,
      chain: TAIL_CALLS ? { JIT_MAP: l.JIT_MAP, JIT_MAP_ENTRIES: l.JIT_MAP_ENTRIES, JIT_NEVER: l.JIT_NEVER } : undefined,
    };
    this.systemConfig = {
      ...this.config,
      // A system VM's lookup also checks the RAM page (assembly/cpu.ts).
      chain: undefined,
      system: {
        TLB: l.TLB, TLB_ENTRIES: l.TLB_ENTRIES, TLB_GEN: l.TLB_GEN, MMU_PERMS: l.MMU_PERMS,
        RAM_BASE: l.RAM_BASE, RAM_SIZE: l.RAM_SIZE, DIRTY_MAP: l.DIRTY_MAP, TLB_CODE: l.TLB_CODE, SSTATUS: l.csr.sstatus,
      },
    };
  }

  /** Whether regions made from now count the calls into them (layout.ts,
   *  JIT_ENTRIES). */
  countEntries(on: boolean): void {
    const at = on ? this.host.layout.JIT_ENTRIES : undefined;
    this.config = { ...this.config, countEntries: at };
    this.systemConfig = { ...this.systemConfig, countEntries: at };
  }

  private mem(): Uint8Array {
    if (this.bytes.buffer !== this.host.memory.buffer) this.bytes = new Uint8Array(this.host.memory.buffer);
    return this.bytes;
  }

  private dv(): DataView {
    if (this.view.buffer !== this.host.memory.buffer) this.view = new DataView(this.host.memory.buffer);
    return this.view;
  }

  /** The jump targets in [base, base + bytes) the interpreter has been to
   *  (their map entries say so: every visit to a target makes or keeps
   *  one, until a colliding target takes its place). */
  private visited(base: number, bytes: number): number[] {
    const l = this.host.layout;
    if (this.mapWords?.buffer !== this.host.memory.buffer) this.mapWords = new Uint32Array(this.host.memory.buffer, l.JIT_MAP, l.JIT_MAP_ENTRIES * 4);
    const words = this.mapWords;
    // The slots of consecutive pcs are consecutive (wrapping at the end):
    // integer steps, not a division per pc (a hot entry's two pages are
    // 4096 of them, and this runs in the guest's thread).
    const mask = l.JIT_MAP_ENTRIES - 1, first = (base / 2) % l.JIT_MAP_ENTRIES;
    const baseLow = base % 2 ** 32, baseHigh = Math.floor(base / 2 ** 32);
    const out: number[] = [];
    for (let k = 0; k < bytes / 2; k++) {
      const i = ((first + k) & mask) * 4;
      let low = baseLow + 2 * k, high = baseHigh;
      if (low >= 2 ** 32) { low -= 2 ** 32; high++; }
      if (words[i] === low && words[i + 1] === high) out.push(base + 2 * k);
    }
    return out;
  }

  private slot(pc: number): number {
    const l = this.host.layout;
    return l.JIT_MAP + ((pc / 2) % l.JIT_MAP_ENTRIES) * 16;
  }

  /** `page`: in a system VM, the RAM page the translation `fn` was made
   *  from, which the interpreter checks the TLB's against (cpu.ts). */
  private setSlot(pc: number, fn: number, page = -1): void {
    const v = this.dv(), s = this.slot(pc);
    v.setBigUint64(s, BigInt.asUintN(64, pcConst(pc)), true);
    v.setUint32(s + 8, fn, true);
    v.setUint32(s + 12, page + 1, true);
  }

  /** Clears the slot of `pc` if it still says `fn` for it. */
  private clearSlot(pc: number, fn: number): void {
    const v = this.dv(), s = this.slot(pc);
    if (v.getBigUint64(s, true) === BigInt.asUintN(64, pcConst(pc)) && v.getUint32(s + 8, true) === fn) {
      v.setBigUint64(s, NO_PC, true);
      v.setBigUint64(s + 8, 0n, true);
    }
  }

  /** The RAM page index of the page at guest `base` if its code may be
   *  translated: executable, and if writable (PERM_WLAZY, writable on its
   *  first store, is writable too), not rewritten MAX_CODE_WRITES times
   *  already. A writable one is write-protected (protectCode) when an
   *  entry is taken from it, so that no store can change code unseen. */
  private codePage(base: number): number | undefined {
    if (!(base >= 0 && base < this.config.userEnd)) return undefined;
    const off = this.host.codeOffset(base);
    if (off === undefined) return undefined;
    const page = off / PAGE_BYTES;
    const perms = this.mem()[this.host.layout.PAGE_PERMS + page];
    if ((perms & PERM_X) === 0) return undefined;
    if ((perms & (PERM_W | PERM_WLAZY)) !== 0 && (this.codeWrites.get(page) ?? 0) >= MAX_CODE_WRITES) return undefined;
    return page;
  }

  /** The guest stored into RAM page `page`, a writable one whose W was
   *  withheld for its translated code (Cpu has given W back): the code
   *  there may have changed, so its translations go. */
  codeWritten(page: number): void {
    this.codeWrites.set(page, (this.codeWrites.get(page) ?? 0) + 1);
    this.codePages.delete(page); // (the CPU cleared its CODE_PAGE)
    this.pagesChanged(page, page);
  }

  /** The interpreter found `pc` hot: reinstall its translation (a colliding
   *  entry pushed it out), or queue it, or mark it untranslatable. Always
   *  leaves the slot of `pc` non-zero, so the CPU can run on. */
  hot(at: bigint): void {
    if (this.host.systemMode()) { this.hotUnderMmu(at); return; }
    const pc = Number(at);
    const known = this.byPc.get(pc);
    if (known !== undefined) { this.setSlot(pc, known); return; }
    this.setSlot(pc, this.host.layout.JIT_NEVER);
    if (this.pending.has(pc)) return;
    const started = performance.now();
    const base = pc - (pc % PAGE_BYTES);
    const page = this.host.pagePermissions() ? this.codePage(base) : undefined;
    if (page === undefined) {
      this.refuse(pc);
    } else {
      // Its page and the next, copied: code pages cannot change without
      // pagesChanged, which drops the entry if it is still out.
      const pages = new Map([[base, page]]);
      const next = this.codePage(base + PAGE_BYTES);
      if (next !== undefined) pages.set(base + PAGE_BYTES, next);
      const ram = this.mem(), at0 = this.host.layout.RAM_OFFSET;
      for (const p of pages.values()) {
        if (ram[this.host.layout.PAGE_PERMS + p] & (PERM_W | PERM_WLAZY)) this.host.protectCode(p);
      }
      // One buffer for both copies (a worker's service can transfer it
      // whole: TranslationService.submit).
      const copy = new Uint8Array(pages.size * PAGE_BYTES);
      const snapshot = [...pages].map(([b, p], i) => {
        copy.set(ram.subarray(at0 + p * PAGE_BYTES, at0 + (p + 1) * PAGE_BYTES), i * PAGE_BYTES);
        return { base: b, bytes: copy.subarray(i * PAGE_BYTES, (i + 1) * PAGE_BYTES) };
      });
      this.queue.push({ pc, pages: snapshot, visited: this.visited(base, pages.size * PAGE_BYTES) });
      this.pending.set(pc, { batch: this.batches, pages });
      for (const p of pages.values()) listAdd(this.pendingByPage, p, pc);
      if (this.queue.length >= this.service.batchSize) this.send();
    }
    this.stats.ms += performance.now() - started;
    this.install();
  }

  /**
   * hot() in a system VM. The code at `at` comes from the RAM page the CPU
   * left in JIT_HOT_PAGE (what its TLB fetches it from now): the
   * translation for that pc and that page is reinstalled, or made from a
   * copy of that page alone (the only one whose mapping the interpreter
   * checked). One translation per pc: another page's (another process's
   * code at the same address) is dropped for it.
   */
  private hotUnderMmu(at: bigint): void {
    const pc = foldPc(at), l = this.host.layout;
    const page = this.dv().getUint32(l.JIT_HOT_PAGE, true) - 1;
    const known = this.byPc.get(pc);
    if (known !== undefined) {
      if (this.pageOfPc.get(pc) === page) { this.setSlot(pc, known, page); return; }
      this.dropTranslation(pc);
    }
    this.setSlot(pc, l.JIT_NEVER);
    const base = pc - (pc % PAGE_BYTES);
    const out = this.pending.get(pc);
    if (out !== undefined) {
      if (out.pages.get(base) === page) return;
      this.unpend(pc);
      this.queue = this.queue.filter((e) => e.pc !== pc);
    }
    const started = performance.now();
    if (page < 0 || !foldable(pc) || (this.codeWrites.get(page) ?? 0) >= MAX_CODE_WRITES) {
      this.stats.refused++;
      if (page >= 0) listAdd(this.refusedByPage, page, pc);
    } else {
      this.markCode(page);
      const ram = this.mem(), at0 = l.RAM_OFFSET + page * PAGE_BYTES;
      this.queue.push({ pc, pages: [{ base, bytes: ram.slice(at0, at0 + PAGE_BYTES) }] });
      this.pending.set(pc, { batch: this.batches, pages: new Map([[base, page]]) });
      listAdd(this.pendingByPage, page, pc);
      if (this.queue.length >= this.service.batchSize) this.send();
    }
    this.stats.ms += performance.now() - started;
    this.install();
  }

  /** RAM page `page` holds translated code from now: the CPU's stores
   *  there are seen (layout.ts, CODE_PAGE). */
  private markCode(page: number): void {
    if (this.codePages.has(page)) return;
    const l = this.host.layout, v = this.dv(), ram = this.mem();
    this.codePages.add(page);
    ram[l.PAGE_PERMS + page] |= l.CODE_PAGE;
    v.setUint32(l.CODE_PAGES, v.getUint32(l.CODE_PAGES, true) + 1, true);
    this.host.protectCodeInTlb(page);
  }

  /** Drops the live translation at `pc`. */
  private dropTranslation(pc: number): void {
    const index = this.byPc.get(pc);
    if (index === undefined) return;
    this.clearSlot(pc, index);
    this.setFunction(index, null);
    this.freeIndices.push(index);
    this.byPc.delete(pc);
    const page = this.pageOfPc.get(pc);
    if (page !== undefined) { listRemove(this.byPage, page, pc); this.pageOfPc.delete(pc); }
    this.stats.dropped++;
  }

  private refuse(pc: number): void {
    this.stats.refused++;
    const off = this.host.codeOffset(pc);
    if (off === undefined) return;
    listAdd(this.refusedByPage, Math.floor(off / PAGE_BYTES), pc);
  }

  /** `pc` is no longer pending. */
  private unpend(pc: number): void {
    const p = this.pending.get(pc);
    if (p === undefined) return;
    this.pending.delete(pc);
    for (const page of p.pages.values()) listRemove(this.pendingByPage, page, pc);
  }

  /** The CPU stopped (its run ended): what is queued goes out, and what is
   *  finished goes in. */
  stopped(): void {
    if (this.queue.length > 0) {
      const started = performance.now();
      this.send();
      this.stats.ms += performance.now() - started;
    }
    this.install();
  }

  private send(): void {
    const entries = this.queue, batch = this.batches++;
    this.queue = [];
    const request = { config: this.host.systemMode() ? this.systemConfig : this.config, entries };
    if (this.service.ready?.(this.hereMs) === false) {
      const started = performance.now();
      this.here.submit(request, (r) => this.finish(batch, request, r, true));
      this.hereMs += performance.now() - started;
    } else {
      this.service.submit(request, (r) => this.finish(batch, request, r));
    }
  }

  private install(): void {
    if (this.service.outstanding === 0 && this.here.outstanding === 0) return;
    const started = performance.now();
    this.here.pump();
    this.service.pump();
    this.stats.ms += performance.now() - started;
  }

  /** A batch came back (from `here`, in this thread, if `here`): its
   *  entries still wanted are installed. */
  private finish(batch: number, request: TranslationRequest, result: TranslationResult | Error, here = false): void {
    const pcs = request.entries.map((e) => e.pc);
    const never = this.host.layout.JIT_NEVER;
    const wanted = pcs.map((pc) => {
      const p = this.pending.get(pc);
      if (p?.batch !== batch) return undefined;
      this.unpend(pc);
      return p;
    });
    const s = this.stats;
    if (result instanceof Error) {
      // A translator bug must not stop the guest: the interpreter runs these.
      pcs.forEach((pc, i) => { if (wanted[i]) { this.clearSlot(pc, never); s.refused++; } });
      return;
    }
    s.bytes += result.bytes; s.compileMs += result.ms;
    if (result.module && !this.instances.has(result.module)) { s.modules++; if (here) s.modulesHere++; }
    if (!wanted.some((w) => w !== undefined)) return;
    let exports = result.module && this.instances.get(result.module);
    if (result.module && exports === undefined) {
      const limit = this.cacheLimit, c = this.cached;
      if (c.modules > 0 && (c.modules + 1 > limit.modules || c.bytes + result.bytes > limit.bytes)) {
        // Full (TranslationCacheLimit): everything goes, this batch too;
        // its entries' slots are cleared with the map, so they heat again.
        // (A module alone in the cache stays, however large: else a batch
        // larger than the limit would never run.)
        this.flush();
        s.flushes++;
        return;
      }
      exports = this.instantiate(result.module);
      c.modules++;
      c.bytes += result.bytes;
    }
    pcs.forEach((pc, i) => {
      const w = wanted[i], e = result.entries[i];
      if (w === undefined) return;
      if (e === undefined || exports === undefined) { this.refuse(pc); return; }
      const index = this.freeIndices.pop() ?? this.growTable();
      this.setFunction(index, exports[String(e.function)] as WebAssembly.ExportValue);
      this.byPc.set(pc, index);
      if (request.config.system !== undefined) {
        const page = w.pages.values().next().value!;
        this.pageOfPc.set(pc, page);
        this.setSlot(pc, index, page);
      } else {
        this.setSlot(pc, index);
      }
      for (const base of e.pages) listAdd(this.byPage, w.pages.get(base)!, pc);
      s.translated++; s.instructions += e.instructions;
    });
  }

  /** A new index in the function table: it grows by TABLE_STEP at a time
   *  (growing it costs the same for one entry as for many), the rest kept
   *  free. */
  private growTable(): number {
    const first = this.host.table.grow(TABLE_STEP);
    this.generation.grow(this.host.table.length - this.generation.length);
    for (let i = first + TABLE_STEP - 1; i > first; i--) this.freeIndices.push(i);
    return first;
  }

  /** Entry `index` of the CPU's table, where the interpreter calls it, and
   *  of this generation's, where translations chain to it. */
  private setFunction(index: number, fn: WebAssembly.ExportValue | null): void {
    this.host.table.set(index, fn);
    this.generation.set(index, fn);
  }

  /** A new generation's table ("Generations"): the CPU's table's size, with
   *  the helpers and no translation. */
  private newGeneration(): WebAssembly.Table {
    const table = new WebAssembly.Table({ element: 'anyfunc', initial: this.host.table.length });
    this.helperSlots.forEach((slot) => table.set(slot, this.host.table.get(slot)));
    return table;
  }

  /** An instance of `module` for this CPU in this generation: one per
   *  module, which a service may hand back for several requests. */
  private instantiate(module: WebAssembly.Module): WebAssembly.Exports {
    const exports = new WebAssembly.Instance(module, { cpu: { memory: this.host.memory, table: this.generation } }).exports;
    this.instances.set(module, exports);
    return exports;
  }

  /** Translations are made by `service` from now on; what the old one
   *  still has out will not be used. */
  setService(service: TranslationService): void {
    if (service === this.service) return;
    for (const pc of [...this.pending.keys()]) this.clearSlot(pc, this.host.layout.JIT_NEVER);
    this.pending.clear();
    this.pendingByPage.clear();
    this.queue = [];
    this.service = service;
  }

  resetStats(): void {
    this.stats = emptyStats();
  }

  /** Guest RAM pages [first, last] (indices from RAM's start) changed
   *  permissions or bytes: drop the translations made from them, and
   *  forget entries still out whose copies were taken from them. */
  pagesChanged(first: number, last: number): void {
    // Called for every write ring -1 makes into guest memory (a read(2)'s
    // data, a futex word), mostly to pages that hold no code: the test per
    // map is by page when the range is short, by entry when it is long.
    this.forPagesIn(this.byPage, first, last, this.dropPage);
    this.forPagesIn(this.refusedByPage, first, last, this.forgetRefused);
    if (this.forPagesIn(this.pendingByPage, first, last, this.forgetPending)) {
      this.queue = this.queue.filter((e) => this.pending.has(e.pc));
    }
  }

  /** Calls `drop` for each page of `map` in [first, last]; whether any was. */
  private forPagesIn(map: Map<number, number[]>, first: number, last: number, drop: (this: Jit, page: number) => void): boolean {
    if (map.size === 0) return false;
    let any = false;
    if (last - first + 1 > map.size) {
      for (const page of [...map.keys()]) if (page >= first && page <= last) { drop.call(this, page); any = true; }
    } else {
      for (let p = first; p <= last; p++) if (map.has(p)) { drop.call(this, p); any = true; }
    }
    return any;
  }

  private forgetPending(page: number): void {
    for (const pc of [...this.pendingByPage.get(page)!]) {
      this.unpend(pc);
      this.clearSlot(pc, this.host.layout.JIT_NEVER);
      this.stats.dropped++;
    }
    this.pendingByPage.delete(page);
  }

  private forgetRefused(page: number): void {
    for (const pc of this.refusedByPage.get(page)!) this.clearSlot(pc, this.host.layout.JIT_NEVER);
    this.refusedByPage.delete(page);
  }

  private dropPage(page: number): void {
    for (const pc of this.byPage.get(page)!) {
      // A region spanning several pages is listed under each: the first drop takes it.
      const index = this.byPc.get(pc);
      if (index === undefined) continue;
      this.clearSlot(pc, index);
      this.setFunction(index, null);
      this.freeIndices.push(index);
      this.byPc.delete(pc);
      this.pageOfPc.delete(pc);
      this.stats.dropped++;
    }
    this.byPage.delete(page);
  }

  /** Drops every translation, pending ones too (RAM moved, the memory
   *  mode changed, or the cache is full). */
  flush(): void {
    this.cached = { modules: 0, bytes: 0 };
    for (const page of [...this.byPage.keys()]) this.dropPage(page);
    const lay = this.host.layout, ram = this.mem();
    for (const page of this.codePages) ram[lay.PAGE_PERMS + page] &= ~lay.CODE_PAGE;
    if (this.codePages.size > 0) this.dv().setUint32(lay.CODE_PAGES, 0, true);
    this.codePages.clear();
    this.codeWrites.clear();
    this.refusedByPage.clear();
    this.pending.clear();
    this.pendingByPage.clear();
    this.queue = [];
    const l = this.host.layout;
    new Uint8Array(this.host.memory.buffer, l.JIT_MAP, l.JIT_MAP_ENTRIES * 16).fill(0);
    // No translation is left: the modules made so far, and the table that
    // kept them alive, are garbage from here ("Generations").
    this.generation = this.newGeneration();
    this.instances = new WeakMap();
  }
}
