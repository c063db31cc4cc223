// Ring -1's translation cache: turns hot guest code into WebAssembly
// functions (translate.ts), installs them in the CPU's function table and in
// the translation map the interpreter looks up at jump targets
// (assembly/layout.ts, JIT_MAP), and drops them when the code they were made
// from may have changed.
//
// Code is translated only from pages the guest can execute and cannot write
// (page-permission mode: a process VM's text). A guest store can therefore
// never change translated code; what can is ring -1 itself: new permissions
// on a page (mprotect, munmap, mmap over it) or a write by the hypervisor
// into guest memory (the ELF loader, signal trampolines, vmcall). Cpu calls
// `pagesChanged` for both, and the translations made from those pages go.
// That is also why FENCE.I needs no work: a guest that writes code writes it
// into a writable page, whose code is interpreted.
import { translate, HELPERS, type TranslateEnv } from './translate.js';

export interface JitHost {
  memory: WebAssembly.Memory;
  table: WebAssembly.Table;
  helpers: Record<string, unknown>;
  expand(parcel: number): number;
  layout: {
    X_REGS: number; F_REGS: number; PC: number; FCSR: number; RAM_OFFSET: number; PAGE_PERMS: number;
    JIT_MAP: number; JIT_MAP_ENTRIES: number; JIT_NEVER: number; SLOT_TABLE: number; SLOT_SHIFT: number; USER_VA_BITS: number;
  };
  /** The offset in RAM of the parcel at user address `pc`, if it is RAM. */
  ramOffset(pc: bigint): number | undefined;
  pagePermissions(): boolean;
}

export interface JitStats {
  /** Regions translated and installed. */
  translated: number;
  /** Hot entries that could not be translated (their first instruction is not translatable). */
  refused: number;
  /** Translations dropped because their page changed. */
  dropped: number;
  /** Guest instructions in the translations made (a region's blocks summed). */
  instructions: number;
  /** Bytes of WebAssembly made. */
  bytes: number;
  /** Milliseconds spent translating and compiling. */
  ms: number;
}

const PAGE_BYTES = 4096;
const PERM_W = 2, PERM_X = 4, PERM_WLAZY = 8; // assembly/layout.ts
/** An empty slot: no pc is odd. */
const NO_PC = 1n;

export class Jit {
  stats: JitStats = { translated: 0, refused: 0, dropped: 0, instructions: 0, bytes: 0, ms: 0 };
  /** Live translations: entry pc -> function-table index. */
  private readonly byPc = new Map<bigint, number>();
  /** RAM page index -> entry pcs translated from that page. */
  private readonly byPage = new Map<number, bigint[]>();
  /** RAM page index -> entry pcs there marked JIT_NEVER: when the page
   *  changes (it may have become code) they are counted afresh. */
  private readonly refusedByPage = new Map<number, bigint[]>();
  private readonly freeIndices: number[] = [];
  private readonly imports: { cpu: Record<string, unknown> };
  private view: DataView;

  constructor(private readonly host: JitHost) {
    const cpu: Record<string, unknown> = { memory: host.memory };
    for (const h of HELPERS) cpu[h] = host.helpers[h];
    this.imports = { cpu };
    this.view = new DataView(host.memory.buffer);
  }

  private dv(): DataView {
    if (this.view.buffer !== this.host.memory.buffer) this.view = new DataView(this.host.memory.buffer);
    return this.view;
  }

  private slot(pc: bigint): number {
    const l = this.host.layout;
    return l.JIT_MAP + Number((pc >> 1n) & BigInt(l.JIT_MAP_ENTRIES - 1)) * 16;
  }

  private setSlot(pc: bigint, fn: number): void {
    const v = this.dv(), s = this.slot(pc);
    v.setBigUint64(s, pc, true);
    v.setUint32(s + 8, fn, true);
    v.setUint32(s + 12, 0, true);
  }

  /** The interpreter found `pc` hot: translate it (or reinstall the
   *  translation a colliding entry pushed out), or mark it untranslatable.
   *  Always leaves the slot of `pc` non-zero, so the CPU can run on. */
  translate(pc: bigint): void {
    const known = this.byPc.get(pc);
    if (known !== undefined) { this.setSlot(pc, known); return; }
    const fn = this.make(pc);
    this.setSlot(pc, fn ?? this.host.layout.JIT_NEVER);
    if (fn === undefined) {
      const off = this.host.ramOffset(pc);
      if (off !== undefined) {
        const page = Math.floor(off / PAGE_BYTES);
        const list = this.refusedByPage.get(page);
        if (list) list.push(pc); else this.refusedByPage.set(page, [pc]);
      }
    }
  }

  resetStats(): void {
    this.stats = { translated: 0, refused: 0, dropped: 0, instructions: 0, bytes: 0, ms: 0 };
  }

  private make(pc: bigint): number | undefined {
    const h = this.host;
    if (!h.pagePermissions()) { this.stats.refused++; return undefined; }
    if (h.ramOffset(pc) === undefined) { this.stats.refused++; return undefined; }
    const bytes = new Uint8Array(h.memory.buffer);
    const started = performance.now();
    const env: TranslateEnv = {
      isCode: (a) => {
        const o = h.ramOffset(a);
        if (o === undefined) return false;
        const perms = bytes[h.layout.PAGE_PERMS + Math.floor(o / PAGE_BYTES)];
        // (Writable on its first store, PERM_WLAZY, is writable too.)
        return (perms & PERM_X) !== 0 && (perms & (PERM_W | PERM_WLAZY)) === 0;
      },
      parcel: (a) => {
        const i = h.layout.RAM_OFFSET + h.ramOffset(a)!;
        return bytes[i] | (bytes[i + 1] << 8);
      },
      expand: h.expand,
      userEnd: 1n << BigInt(h.layout.USER_VA_BITS),
      layout: h.layout,
    };
    const t = translate(env, pc);
    if (t === undefined) { this.stats.refused++; return undefined; }
    const instance = new WebAssembly.Instance(new WebAssembly.Module(t.bytes), this.imports as WebAssembly.Imports);
    const index = this.freeIndices.pop() ?? h.table.grow(1);
    h.table.set(index, instance.exports.f as WebAssembly.ExportValue);
    this.byPc.set(pc, index);
    for (const p of t.pages) {
      const page = Math.floor(h.ramOffset(p)! / PAGE_BYTES);
      const list = this.byPage.get(page);
      if (list) list.push(pc); else this.byPage.set(page, [pc]);
    }
    const s = this.stats;
    s.translated++; s.instructions += t.instructions; s.bytes += t.bytes.length;
    s.ms += performance.now() - started;
    return index;
  }

  /** Guest RAM pages [first, last] (indices from RAM's start) changed
   *  permissions or bytes: drop the translations made from them. */
  pagesChanged(first: number, last: number): void {
    for (const [map, drop] of [[this.byPage, this.dropPage], [this.refusedByPage, this.forgetRefused]] as const) {
      if (map.size === 0) continue;
      if (last - first + 1 > map.size) {
        for (const page of [...map.keys()]) if (page >= first && page <= last) drop.call(this, page);
      } else {
        for (let p = first; p <= last; p++) if (map.has(p)) drop.call(this, p);
      }
    }
  }

  private forgetRefused(page: number): void {
    const v = this.dv();
    for (const pc of this.refusedByPage.get(page)!) {
      const s = this.slot(pc);
      if (v.getBigUint64(s, true) === pc && v.getUint32(s + 8, true) === this.host.layout.JIT_NEVER) {
        v.setBigUint64(s, NO_PC, true);
        v.setBigUint64(s + 8, 0n, true);
      }
    }
    this.refusedByPage.delete(page);
  }

  private dropPage(page: number): void {
    const v = this.dv();
    for (const pc of this.byPage.get(page)!) {
      // A region spanning several pages is listed under each: the first drop takes it.
      const index = this.byPc.get(pc);
      if (index === undefined) continue;
      const s = this.slot(pc);
      if (v.getBigUint64(s, true) === pc) { v.setBigUint64(s, NO_PC, true); v.setBigUint64(s + 8, 0n, true); }
      this.host.table.set(index, null);
      this.freeIndices.push(index);
      this.byPc.delete(pc);
      this.stats.dropped++;
    }
    this.byPage.delete(page);
  }

  /** Drops every translation (RAM moved or the memory mode changed). */
  flush(): void {
    for (const page of [...this.byPage.keys()]) this.dropPage(page);
    this.refusedByPage.clear();
    const l = this.host.layout;
    new Uint8Array(this.host.memory.buffer, l.JIT_MAP, l.JIT_MAP_ENTRIES * 16).fill(0);
  }
}
