// Virtual memory of a system VM (privileged spec, "Supervisor-Level ISA":
// "Sv39", "Sv48" and "Sv57"): page-table walks, permission checks with SUM and MXR,
// the A and D bits, and a TLB.
//
// A and D: this hart sets them itself during the walk (the behaviour of the
// Svadu extension, which the spec also allowed before it), writing the PTE
// back to memory, rather than raising a page fault for software to set them.
// One hart walks at a time, so the update is atomic.
//
// The TLB is direct-mapped: 4096 entries of { tag: vpn | generation << 52,
// data: physical page | the PTE's low 8 bits }, one per 4 KiB virtual page
// (a superpage fills the entries of the pages actually touched). Permissions
// are checked at every access against the current privilege, SUM and MXR
// through a 128-entry table (MMU_PERM_TABLE), so changing those never
// flushes anything. A flush (sfence.vma, a satp write) bumps the generation
// (TLB_GEN); sfence.vma with an address drops that page's entry alone.
// ASIDs are not told apart: every satp write flushes, which the spec allows.
import {
  SATP, SSTATUS, PRIV, PRIV_U, SSTATUS_SUM, SSTATUS_MXR, RAM_BASE, RAM_SIZE, RAM_OFFSET,
  TLB, TLB_ENTRIES, TLB_GEN, MMU_PERM_TABLE, SPLIT_BUFFER, PERM_R, PERM_W, PERM_X, DIRTY_MAP,
  MMU_PERMS, PAGE_PERMS, CODE_PAGE, CODE_PAGES, CODE_WRITTEN, CODE_WRITTEN_PAGES, CODE_WRITTEN_MAX, CODE_WRITTEN_ALL, TLB_CODE,
  EXIT_NONE, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT,
} from './layout';
import { raiseException, pendingExit, clearPendingExit } from './trap';

// PTE bits.
const PTE_V: u64 = 1 << 0;
const PTE_R: u64 = 1 << 1;
const PTE_W: u64 = 1 << 2;
const PTE_X: u64 = 1 << 3;
const PTE_A: u64 = 1 << 6;
const PTE_D: u64 = 1 << 7;
const PTE_PPN_MASK: u64 = 0xfff_ffff_ffff; // bits 53:10, shifted down
const PTE_RESERVED: u64 = 0xffc0_0000_0000_0000; // bits 63:54: Svpbmt, Svnapot and reserved, none implemented

/** No translation (a fault has been raised). */
export const NO_ADDRESS: u64 = u64.MAX_VALUE;

export let mmuOn: bool = false;
let tlbGen: u64 = 0;
let levels: u32 = 3;
let permissions: usize = <usize>MMU_PERM_TABLE; // the table for the current privilege, SUM and MXR
// Whether an entry filled since the last full flush came from a superpage:
// its other 4 KiB pages may sit in other slots, so flushing one address
// must then flush them all.
let superpages: bool = false;

/** Refreshes what translation depends on: satp (on or off, Sv39, Sv48 or Sv57),
 *  and the permission table for the current privilege, SUM and MXR. Called
 *  on entry to a run and whenever satp, sstatus or the privilege change. */
export function refreshMmu(supervisor: bool): void {
  const mode = load<u64>(SATP) >> 60;
  mmuOn = supervisor && mode != 0;
  levels = mode == 10 ? 5 : mode == 9 ? 4 : 3;
  tlbGen = load<u64>(TLB_GEN);
  if (tlbGen == 0) flushTlb(); // a fresh (or reset) hart: the table may hold anything
  refreshPermissions();
  // Stores with the MMU off do not go through the TLB, where stores to
  // translated code are caught: translations made before may be stale.
  if (supervisor && !mmuOn && load<u32>(CODE_PAGES) != 0) codeWritten(CODE_WRITTEN_ALL);
}

// The permission tables, one per (U-mode, SUM, MXR): for each combination
// of a PTE's R, W, X, U, G, A, D bits (index = PTE bits 7:1), the accesses
// (PERM_R/W/X) allowed. Made once, when the instance starts.
function makePermissionTables(): void {
  for (let ctx: u32 = 0; ctx < 8; ctx++) {
    const user = (ctx & 4) != 0, sum = (ctx & 2) != 0, mxr = (ctx & 1) != 0;
    for (let i: u32 = 0; i < 128; i++) {
      const pte = <u64>i << 1;
      let ok: u32 = 0;
      if (pte & PTE_A) {
        if ((pte & PTE_R) || (mxr && (pte & PTE_X))) ok |= PERM_R;
        if ((pte & PTE_W) && (pte & PTE_D)) ok |= PERM_W;
        if (pte & PTE_X) ok |= PERM_X;
        const userPage = (pte & (1 << 4)) != 0;
        if (user && !userPage) ok = 0;
        // S-mode never executes a U page, and reads or writes one only with SUM.
        if (!user && userPage) ok = sum ? ok & ~PERM_X : 0;
      }
      store<u8>(<usize>MMU_PERM_TABLE + <usize>((ctx << 7) + i), <u8>ok);
    }
  }
}
makePermissionTables();

/** Selects the permission table for the current privilege, SUM and MXR. */
export function refreshPermissions(): void {
  const s = load<u64>(SSTATUS);
  const ctx = (load<u32>(PRIV) == PRIV_U ? 4 : 0) | ((s & SSTATUS_SUM) ? 2 : 0) | ((s & SSTATUS_MXR) ? 1 : 0);
  permissions = <usize>MMU_PERM_TABLE + (<usize>ctx << 7);
  store<u32>(MMU_PERMS, <u32>permissions); // (for translated code)
}

@inline function allows(pte: u64, need: u32): bool {
  return (<u32>load<u8>(permissions + <usize>((pte >> 1) & 127)) & need) == need;
}

export function flushTlb(): void {
  tlbGen = (load<u64>(TLB_GEN) + 1) & 0xfff;
  if (tlbGen == 0 || tlbGen == 1) {
    // Start (or wrap-around) of the generations: no stale tag may survive.
    memory.fill(<usize>TLB, 0, <usize>(TLB_ENTRIES << 4));
    tlbGen = 1;
  }
  store<u64>(TLB_GEN, tlbGen);
  superpages = false;
}

/** sfence.vma with an address: the entries made from that address's leaf
 *  PTE go (that page's alone, unless superpages are cached). */
export function flushTlbPage(va: u64): void {
  if (superpages) { flushTlb(); return; }
  store<u64>(<usize>TLB + ((<usize>(va >> 12) & <usize>(TLB_ENTRIES - 1)) << 4), 0);
}

/** The TLB's hit path, inlined where guestAddress is: the physical address
 *  of `va`, or NO_ADDRESS when its entry is missing, does not allow `need`
 *  or stands for translated code a store reaches (translate then does what
 *  that needs). A call per access cost the boot's interpreter 7% of its
 *  time; all of translate inlined made its loop a third slower. */
@inline export function tlbHit(va: u64, need: u32): u64 {
  const vpn = va >> 12;
  const slot = <usize>TLB + ((<usize>vpn & <usize>(TLB_ENTRIES - 1)) << 4);
  if (load<u64>(slot) != (vpn | (tlbGen << 52))) return NO_ADDRESS;
  const data = load<u64>(slot, 8);
  if (!allows(data, need) || ((data & TLB_CODE) && (need & PERM_W))) return NO_ADDRESS;
  return (data & ~(<u64>0xfff)) | (va & 0xfff);
}

/** The physical address of `va` for an access that needs `need`, or
 *  NO_ADDRESS after raising the page fault `pageCause` (or the access fault
 *  `accessCause` when a page table lies outside RAM). */
export function translate(va: u64, need: u32, accessCause: u32, pageCause: u32): u64 {
  const vpn = va >> 12;
  const slot = <usize>TLB + ((<usize>vpn & <usize>(TLB_ENTRIES - 1)) << 4);
  if (load<u64>(slot) == (vpn | (tlbGen << 52))) {
    const data = load<u64>(slot, 8);
    if (allows(data, need)) {
      if ((data & TLB_CODE) && (need & PERM_W)) codeStore(slot, data);
      return (data & ~(<u64>0xfff)) | (va & 0xfff);
    }
  }
  return walk(va, need, accessCause, pageCause, slot);
}

function walk(va: u64, need: u32, accessCause: u32, pageCause: u32, slot: usize): u64 {
  // The address must be canonical: bits above the top VPN field copy its top bit.
  const vaBits: u64 = 12 + 9 * <u64>levels;
  const top = <i64>va >> <i64>(vaBits - 1);
  if (top != 0 && top != -1) { raiseException(pageCause, va); return NO_ADDRESS; }
  const ramBase = load<u64>(RAM_BASE), ramSize = load<u64>(RAM_SIZE);
  let table = (load<u64>(SATP) & PTE_PPN_MASK) << 12;
  for (let i = <i32>levels - 1; i >= 0; i--) {
    const at = table + (((va >> (12 + 9 * <u64>i)) & 511) << 3);
    const off = at - ramBase;
    if (off >= ramSize || ramSize - off < 8) { raiseException(accessCause, va); return NO_ADDRESS; }
    const lin = <usize>(RAM_OFFSET + off);
    let pte = load<u64>(lin);
    if ((pte & PTE_V) == 0 || ((pte & PTE_R) == 0 && (pte & PTE_W) != 0) || (pte & PTE_RESERVED) != 0) break;
    if ((pte & (PTE_R | PTE_X)) == 0) { // a pointer to the next level
      table = ((pte >> 10) & PTE_PPN_MASK) << 12;
      continue;
    }
    // A leaf: a superpage must be aligned to its size.
    const ppn = (pte >> 10) & PTE_PPN_MASK;
    const lowMask: u64 = ((<u64>1) << (9 * <u64>i)) - 1;
    if (i > 0 && (ppn & lowMask) != 0) break;
    if (!allows(pte | PTE_A | PTE_D, need)) break;
    const updated = pte | PTE_A | ((need & PERM_W) ? PTE_D : 0);
    if (updated != pte) {
      // The A/D update is a store to the page-table page: the dirty-page
      // log must see it (layout.ts, DIRTY_MAP; the walk is a slow path,
      // so it marks whether the log is on or not).
      store<u64>(lin, updated);
      store<u8>(<usize>DIRTY_MAP + <usize>(off >> 12), 1);
      pte = updated;
    }
    const page = (ppn & ~lowMask) << 12 | (va & (lowMask << 12));
    if (i > 0) superpages = true;
    let perms = pte & 0xff;
    // Translated code (layout.ts, CODE_PAGE): a store there ends its
    // translations; any other access marks the entry, so that a store
    // through it later is seen (translate).
    const pageOff = page - ramBase;
    if (pageOff < ramSize && (<u32>load<u8>(<usize>PAGE_PERMS + <usize>(pageOff >> 12)) & CODE_PAGE)) {
      if (need & PERM_W) codeStored(<u32>(pageOff >> 12));
      else perms |= TLB_CODE;
    }
    store<u64>(slot, (va >> 12) | (tlbGen << 52));
    store<u64>(slot, page | perms, 8);
    return page | (va & 0xfff);
  }
  raiseException(pageCause, va);
  return NO_ADDRESS;
}

// ---- the translation tier (src/cpu/jit/) in a system VM ----------------------

/** Set when the guest stored to translated code: no translation is called
 *  for the rest of the run (ring -1 drops the page's translations before
 *  the next, CODE_WRITTEN). Cleared on entry to a run. */
export let jitSuspended: bool = false;

export function resumeJit(): void { jitSuspended = false; }

/** A store through the TLB entry at `slot` (data `data`, with TLB_CODE):
 *  the page's translations end (unless an earlier store, through another
 *  entry, ended them), and the entry lets stores through from now. The
 *  entry is used as it is, never walked again: whether code was translated
 *  must not change which page-table entries the hart reads, or when. */
function codeStore(slot: usize, data: u64): void {
  store<u64>(slot, data & ~(<u64>TLB_CODE), 8);
  const off = (data & ~(<u64>0xfff)) - load<u64>(RAM_BASE);
  if (<u32>load<u8>(<usize>PAGE_PERMS + <usize>(off >> 12)) & CODE_PAGE) codeStored(<u32>(off >> 12));
}

/** The guest stores to RAM page `page`, which has CODE_PAGE. */
function codeStored(page: u32): void {
  const flag = <usize>PAGE_PERMS + <usize>page;
  store<u8>(flag, <u8>(<u32>load<u8>(flag) & ~CODE_PAGE));
  store<u32>(CODE_PAGES, load<u32>(CODE_PAGES) - 1);
  codeWritten(page);
}

/** RAM page `page` (or every page: CODE_WRITTEN_ALL) may hold new code. */
function codeWritten(page: u32): void {
  jitSuspended = true;
  const n = load<u32>(CODE_WRITTEN);
  if (n == CODE_WRITTEN_ALL) return;
  if (page == CODE_WRITTEN_ALL || n >= CODE_WRITTEN_MAX) { store<u32>(CODE_WRITTEN, CODE_WRITTEN_ALL); return; }
  store<u32>(<usize>CODE_WRITTEN_PAGES + (<usize>n << 2), page);
  store<u32>(CODE_WRITTEN, n + 1);
}

/** Whether a system VM looks `pc` up in the translation map at all: with
 *  the MMU on, translations not suspended, and pc a sign-extended 48-bit
 *  address (translate.ts holds pcs as their low 48 bits: under Sv57, code
 *  above those is interpreted). */
@inline export function codeLookups(pc: u64): bool {
  return mmuOn && !jitSuspended && <u64>((<i64>pc << 16) >> 16) == pc;
}

/** 1 + the RAM page the instruction at `pc` would be fetched from, as the
 *  TLB has it for the current privilege; 0 when the TLB has no entry (the
 *  fetch will walk), the page is not RAM, the MMU is off, pc is not a
 *  sign-extended 48-bit address, or translations are suspended. What a
 *  translation in a system VM is keyed by, with pc. A pc in the page the
 *  interpreter fetches from (`fetchPage`, at linear address `fetchBase`)
 *  needs no look in the TLB: that fetch went through it with the current
 *  privilege's permissions, and the interpreter forgets the page whenever
 *  a trap, sret, sfence.vma or satp write could change them. */
@inline export function codePageOf(pc: u64, fetchPage: u64, fetchBase: usize): u32 {
  if (!codeLookups(pc)) return 0;
  if ((pc & ~(<u64>0xfff)) == fetchPage) return <u32>((fetchBase - <usize>RAM_OFFSET) >> 12) + 1;
  const pa = tlbHit(pc, PERM_X);
  if (pa == NO_ADDRESS) return 0;
  const off = (pa & ~(<u64>0xfff)) - load<u64>(RAM_BASE);
  if (off >= load<u64>(RAM_SIZE)) return 0;
  return <u32>(off >> 12) + 1;
}

/** For translated code (src/cpu/jit/translate.ts, tlbAddress): a load
 *  (`need` PERM_R) or store (PERM_W) at `va` that missed the TLB inline,
 *  translated as the interpreter's access translates it (walking, filling
 *  the TLB). NO_ADDRESS when the access would fault (the fault is
 *  forgotten: the interpreter executes the instruction again, and the walk
 *  that faults writes nothing) or stores to translated code (the tier is
 *  suspended: the interpreter executes the store, through the entry just
 *  filled). */
export function jitTranslate(va: u64, need: u32): u64 {
  const store = (need & PERM_W) != 0;
  const pa = translate(va, need, store ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS, store ? CAUSE_STORE_PAGE_FAULT : CAUSE_LOAD_PAGE_FAULT);
  if (pendingExit != EXIT_NONE) { clearPendingExit(); return NO_ADDRESS; }
  return jitSuspended ? NO_ADDRESS : pa;
}

/** For ring -1, when RAM page `page` gets translated code (CODE_PAGE): the
 *  TLB entries for it are marked TLB_CODE. */
export function protectCodeInTlb(page: u32): void {
  const pa = load<u64>(RAM_BASE) + (<u64>page << 12);
  for (let e: usize = 0; e < <usize>TLB_ENTRIES; e++) {
    const at = <usize>TLB + (e << 4);
    const data = load<u64>(at, 8);
    if ((data & ~(<u64>0xfff)) == pa) store<u64>(at, data | TLB_CODE, 8);
  }
}

// ---- accesses that cross a page ------------------------------------------------
// Their two halves may lie in unrelated physical pages: the bytes go through
// SPLIT_BUFFER (loads fill it first, stores are copied out after).
let splitFirst: usize = 0;
let splitSecond: usize = 0;
let splitFirstLength: u32 = 0;
let splitLength: u32 = 0;

/** Linear addresses of both halves of a page-crossing access to RAM, as a
 *  pointer the caller may use for `size` bytes: the first half's own when
 *  they are contiguous, else SPLIT_BUFFER (filled for loads; for stores the
 *  caller calls finishSplitStore). 0 after a fault. */
export function splitAddress(va: u64, size: u32, need: u32, accessCause: u32, pageCause: u32): usize {
  const firstLength = 4096 - (<u32>va & 0xfff);
  const pa1 = translate(va, need, accessCause, pageCause);
  if (pa1 == NO_ADDRESS) return 0;
  const pa2 = translate(va + firstLength, need, accessCause, pageCause);
  if (pa2 == NO_ADDRESS) return 0;
  const ramBase = load<u64>(RAM_BASE), ramSize = load<u64>(RAM_SIZE);
  const o1 = pa1 - ramBase, o2 = pa2 - ramBase;
  // Devices take aligned accesses only: a split one outside RAM is an access
  // fault, at the part that is not RAM (stval: that part's virtual address).
  if (o1 >= ramSize || ramSize - o1 < <u64>firstLength) { raiseException(accessCause, va); return 0; }
  if (o2 >= ramSize || ramSize - o2 < <u64>(size - firstLength)) { raiseException(accessCause, va + firstLength); return 0; }
  if (need & PERM_W) { // the dirty-page log (layout.ts, DIRTY_MAP): both pages
    store<u8>(<usize>DIRTY_MAP + <usize>(o1 >> 12), 1);
    store<u8>(<usize>DIRTY_MAP + <usize>(o2 >> 12), 1);
  }
  return splitPair(<usize>(RAM_OFFSET + o1), <usize>(RAM_OFFSET + o2), firstLength, size);
}

/** The pointer for a `size`-byte access whose first `firstLength` bytes are
 *  at linear address a1 and the rest at a2 (the process VM's slots use it
 *  too): a1 when they are contiguous, else SPLIT_BUFFER, as above. */
export function splitPair(a1: usize, a2: usize, firstLength: u32, size: u32): usize {
  if (a2 == a1 + firstLength) return a1;
  splitFirst = a1; splitSecond = a2; splitFirstLength = firstLength; splitLength = size;
  memory.copy(SPLIT_BUFFER, a1, firstLength);
  memory.copy(SPLIT_BUFFER + firstLength, a2, size - firstLength);
  return SPLIT_BUFFER;
}

/** After a store through SPLIT_BUFFER: its bytes to the two pages. */
export function finishSplitStore(): void {
  memory.copy(splitFirst, SPLIT_BUFFER, splitFirstLength);
  memory.copy(splitSecond, SPLIT_BUFFER + splitFirstLength, splitLength - splitFirstLength);
}
