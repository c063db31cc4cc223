// Guest memory accesses. Guest RAM is one flat region of linear memory: the
// guest address RAM_BASE is byte RAM_OFFSET. Every access is bounds-checked
// against RAM_SIZE before wasm touches memory, so a guest can never read or
// write outside its RAM; an access outside RAM raises an access fault. In
// MEMORY_PAGE_PERMS mode each 4 KiB page also carries read/write/execute
// permissions (the process VM's mappings) and an access its pages do not
// allow raises a page fault. Misaligned loads and stores simply work (wasm
// allows them, Linux user mode emulates them), except for atomics (cpu.ts).
import {
  RAM_BASE, RAM_SIZE, RAM_OFFSET, MEMORY_MODE, MEMORY_PAGE_PERMS, PAGE_PERMS, PAGE_SHIFT,
  EXIT_CONTROLS, CTRL_SUPERVISOR, EXIT_MMIO_LOAD, EXIT_MMIO_STORE, EXIT_ADDR, EXIT_SIZE, EXIT_DATA, EXIT_NONE,
  EXIT_MMIO_VADDR, SPLIT_BUFFER, SLOT_TABLE, SLOT_SHIFT, SLOT_BYTES, USER_VA_BITS,
  PERM_R, PERM_W, PERM_X, PERM_WLAZY, PAGE_TOUCHED, TOUCHED_PAGES, TOUCHED_PEAK, TOUCH_LIMIT,
  DIRTY_LOG, DIRTY_MAP, USER_TLB, USER_TLB_ENTRIES, USER_TLB_STORES, USER_TLB_STATE, USER_TLB_EMPTY, USER_TLB_FILLED,
  USER_TLB_MISS, USER_TLB_MISS_KIND, COALESCED_ADDR, COALESCED_COUNT, COALESCED_DATA, COALESCED_MAX,
  CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_ACCESS,
  CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT, CAUSE_FETCH_PAGE_FAULT,
} from './layout';
import { raiseException, requestExit, pendingExit, clearPendingExit } from './trap';
import { mmuOn, translate, tlbHit, splitAddress, splitPair, finishSplitStore, NO_ADDRESS } from './mmu';

// Cached copies of RAM_BASE/RAM_SIZE/MEMORY_MODE, refreshed by `run` on entry
// (the hypervisor may have changed them between runs).
let ramBase: u64 = 0;
let ramSize: u64 = 0;
let pagePerms: bool = false;
// In a system VM, an integer load or store outside RAM exits to ring -1 as
// MMIO (a device, or an access fault ring -1 hands back); elsewhere it is an
// access fault at once.
let mmio: bool = false;
// The dirty-page log is on (DIRTY_LOG; layout.ts, DIRTY_MAP). Only flat
// memory's store path tests it: in page-permission mode the log works
// through withheld W bits and firstStore instead.
let dirtyLog: bool = false;

export function refreshMemoryConfig(): void {
  ramBase = load<u64>(RAM_BASE);
  ramSize = load<u64>(RAM_SIZE);
  pagePerms = load<u32>(MEMORY_MODE) == MEMORY_PAGE_PERMS;
  mmio = (load<u32>(EXIT_CONTROLS) & CTRL_SUPERVISOR) != 0;
  dirtyLog = load<u32>(DIRTY_LOG) != 0;
}

// Marks RAM pages first..last (RAM offsets >> PAGE_SHIFT) in the dirty-page
// log. Slow paths (firstStore, split stores, A/D updates) mark whether or
// not the log is on: ring -1 clears the map when it starts the log, and a
// test there would cost more than the store.
@inline export function markDirty(offset: u64, lastOffset: u64): void {
  store<u8>(<usize>DIRTY_MAP + <usize>(offset >> PAGE_SHIFT), 1);
  store<u8>(<usize>DIRTY_MAP + <usize>(lastOffset >> PAGE_SHIFT), 1);
}

// Linear-memory address of guest bytes [addr, addr+size), or 0 after raising
// `accessCause` (outside RAM) or `pageCause` (a page without all of `need`).
// 0 can never be a RAM address (RAM_OFFSET > 0).
// `mmioReason` (EXIT_MMIO_LOAD or _STORE, or EXIT_NONE) is the exit an
// access outside RAM takes in a system VM instead of the access fault.
// With virtual memory on (a system VM with satp set), `addr` is virtual and
// goes through the TLB first (assembly/mmu.ts). In a process VM (page
// permissions) it is a user address, which goes through the slot table.
@inline export function guestAddress(addr: u64, size: u64, need: u32, accessCause: u32, pageCause: u32, mmioReason: u32 = EXIT_NONE): usize {
  if (pagePerms) return userAddress(addr, size, need, pageCause);
  let pa = addr;
  if (mmuOn) {
    if ((<u32>addr & 0xfff) + <u32>size > 4096) return splitAddress(addr, <u32>size, need, accessCause, pageCause);
    pa = tlbHit(addr, need);
    if (pa == NO_ADDRESS) {
      pa = translate(addr, need, accessCause, pageCause);
      if (pa == NO_ADDRESS) return 0;
    }
  }
  const off = pa - ramBase;
  if (off >= ramSize || ramSize - off < size) {
    if (mmioReason != EXIT_NONE && mmio) {
      requestExit(mmioReason);
      store<u64>(EXIT_ADDR, pa);
      store<u32>(EXIT_SIZE, <u32>size);
      store<u64>(EXIT_MMIO_VADDR, addr);
    } else {
      raiseException(accessCause, addr);
    }
    return 0;
  }
  // A store (or AMO, SC) to RAM while the log is on: its page, and the next
  // when it crosses into it with the MMU off (`need` is a constant in every
  // caller, so loads and fetches never see this test). One global test and,
  // when logging, two byte stores: measured in docs/ARCHITECTURE.md, "The
  // dirty-page log".
  if ((need & PERM_W) && dirtyLog) markDirty(off, off + size - 1);
  return <usize>(RAM_OFFSET + off);
}

// A process VM's access: the slot's RAM, then the permissions of the first
// and last page (an access that leaves its slot, or the user range, takes
// the slow path). A slot without RAM (SLOT_NONE) leads to pages that allow
// nothing. Linux (Sv39) gives a page fault for an address above the user
// range, as for one in no mapping.
@inline function userAddress(addr: u64, size: u64, need: u32, pageCause: u32): usize {
  const within = <u32>addr & (SLOT_BYTES - 1);
  if ((addr >> USER_VA_BITS) != 0 || within + <u32>size > SLOT_BYTES) return userAddressSlow(addr, size, need, pageCause);
  return userPart(addr, within, <u32>size, need, pageCause);
}

// The RAM offset of user address `addr`, `within` its place in its slot:
// the slot's entry plus it (a slot without RAM gives the first 64 KiB).
@inline function slotOffset(addr: u64, within: u32): u32 {
  return load<u32>(<usize>SLOT_TABLE + (<usize>(addr >> SLOT_SHIFT) << 2)) + within;
}

@inline function userPart(addr: u64, within: u32, size: u32, need: u32, pageCause: u32): usize {
  const off = slotOffset(addr, within);
  const first = <u32>load<u8>(<usize>PAGE_PERMS + <usize>(off >> PAGE_SHIFT));
  const last = <u32>load<u8>(<usize>PAGE_PERMS + <usize>((off + size - 1) >> PAGE_SHIFT));
  if ((first & last & need) != need && !firstStore(<u64>off, <u64>size, need)) {
    raiseException(pageCause, addr);
    return 0;
  }
  return <usize>RAM_OFFSET + <usize>off;
}

function userAddressSlow(addr: u64, size: u64, need: u32, pageCause: u32): usize {
  if ((addr >> USER_VA_BITS) != 0) { raiseException(pageCause, addr); return 0; }
  const firstLength = SLOT_BYTES - (<u32>addr & (SLOT_BYTES - 1));
  const a1 = userPart(addr, <u32>addr & (SLOT_BYTES - 1), firstLength, need, pageCause);
  if (!a1) return 0;
  const second = addr + firstLength;
  if ((second >> USER_VA_BITS) != 0) { raiseException(pageCause, second); return 0; }
  const a2 = userPart(second, 0, <u32>size - firstLength, need, pageCause);
  if (!a2) return 0;
  return splitPair(a1, a2, firstLength, <u32>size);
}

// The translations' TLB (layout.ts, USER_TLB): emptied by `run` on entry
// when it may hold stale entries (128 KiB written: ring -1 says so only
// when it has taken something away from a TLB that holds entries).
export function refreshUserTlb(): void {
  const state = load<u32>(USER_TLB_STATE);
  if (state == USER_TLB_EMPTY || state == USER_TLB_FILLED) return;
  memory.fill(<usize>USER_TLB, 0xff, <usize>(USER_TLB_STATE - USER_TLB));
  store<u32>(USER_TLB_STATE, USER_TLB_EMPTY);
  store<u32>(USER_TLB_MISS_KIND, 0);
}

// After a translation stopped short: the entry for the access it missed,
// if any, filled if the interpreter's userAddress would allow the access
// without a slow path (in the user range, in one page, whose permissions
// have all of `need`). Changes nothing else: the interpreter executes the
// access next, faults, first stores and page-crossing accesses included.
export function fillUserTlb(): void {
  const kind = load<u32>(USER_TLB_MISS_KIND);
  if (kind == 0) return;
  store<u32>(USER_TLB_MISS_KIND, 0);
  const addr = load<u64>(USER_TLB_MISS), size = kind & 0xff, need = kind >> 8;
  if ((addr >> USER_VA_BITS) != 0 || (<u32>addr & 0xfff) + size > 0x1000) return;
  const off = slotOffset(addr, <u32>addr & (SLOT_BYTES - 1));
  if ((<u32>load<u8>(<usize>PAGE_PERMS + <usize>(off >> PAGE_SHIFT)) & need) != need) return;
  const entry = <usize>(need & PERM_W ? USER_TLB_STORES : USER_TLB) + ((<usize>(addr >> PAGE_SHIFT) & (USER_TLB_ENTRIES - 1)) << 4);
  store<u64>(entry, addr & ~(<u64>0xfff));
  store<u32>(entry, (off & ~0xfff) - (<u32>addr & ~0xfff), 8);
  store<u32>(USER_TLB_STATE, USER_TLB_FILLED);
}

// The slow path of an access its pages' permissions do not allow: a store
// to pages that are writable but not yet written (PERM_WLAZY) makes them
// PERM_W and PAGE_TOUCHED and is allowed; anything else is refused. So is
// a store that would take the guest's memory past TOUCH_LIMIT pages.
function firstStore(off: u64, size: u64, need: u32): bool {
  if (!(need & PERM_W)) return false;
  const first = <usize>PAGE_PERMS + <usize>(off >> PAGE_SHIFT);
  const last = <usize>PAGE_PERMS + <usize>((off + size - 1) >> PAGE_SHIFT);
  let fresh: u32 = 0;
  for (let p = first; p <= last; p++) {
    const v = <u32>load<u8>(p);
    const allowed = v & PERM_WLAZY ? v | PERM_W : v;
    if ((allowed & need) != need) return false;
    if (!(v & PAGE_TOUCHED)) fresh++;
  }
  if (fresh) {
    const used = load<u32>(TOUCHED_PAGES) + fresh;
    const limit = load<u32>(TOUCH_LIMIT);
    if (limit != 0 && used > limit) return false;
    store<u32>(TOUCHED_PAGES, used);
    if (used > load<u32>(TOUCHED_PEAK)) store<u32>(TOUCHED_PEAK, used);
  }
  for (let p = first; p <= last; p++) {
    store<u8>(p, <u8>((<u32>load<u8>(p) & ~PERM_WLAZY) | PERM_W | PAGE_TOUCHED));
  }
  // The page is writable from now until ring -1 takes the dirty-page log,
  // which withholds W again: this store is the one the log sees.
  markDirty(off, off + size - 1);
  return true;
}

@inline export function loadAddress(addr: u64, size: u64): usize {
  return guestAddress(addr, size, PERM_R, CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE_FAULT, EXIT_MMIO_LOAD);
}

@inline export function storeAddress(addr: u64, size: u64): usize {
  return guestAddress(addr, size, PERM_W, CAUSE_STORE_ACCESS, CAUSE_STORE_PAGE_FAULT, EXIT_MMIO_STORE);
}

// A store that exits as MMIO leaves its value for ring -1; a byte store to
// the coalesced register (layout.ts, COALESCED_ADDR) is buffered instead,
// and retires without an exit.
export function mmioStoreData(v: u64): void {
  if (pendingExit != EXIT_MMIO_STORE) return;
  const n = load<u32>(COALESCED_COUNT);
  const at = load<u64>(COALESCED_ADDR);
  if (at != 0 && load<u64>(EXIT_ADDR) == at && load<u32>(EXIT_SIZE) == 1 && n < COALESCED_MAX) {
    store<u8>(<usize>COALESCED_DATA + <usize>n, <u8>v);
    store<u32>(COALESCED_COUNT, n + 1);
    clearPendingExit();
    return;
  }
  store<u64>(EXIT_DATA, v);
}

// An atomic memory operation reads and writes: it needs both, and faults as a
// store (privileged spec: AMOs raise store/AMO exceptions).
@inline export function amoAddress(addr: u64, size: u64): usize {
  return guestAddress(addr, size, PERM_R | PERM_W, CAUSE_STORE_ACCESS, CAUSE_STORE_PAGE_FAULT);
}

// LR reads only, and faults as a load (never MMIO: atomics need RAM).
@inline export function lrAddress(addr: u64, size: u64): usize {
  return guestAddress(addr, size, PERM_R, CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE_FAULT);
}

// The FP loads and stores (fp.ts; the integer ones translate their width
// themselves, cpu.ts execLoad and execStore). Loads return 0 after raising;
// callers check `pendingExit` before writing the value anywhere.
@inline export function loadU32(addr: u64): u64 {
  const a = loadAddress(addr, 4);
  return a ? <u64>load<u32>(a) : 0;
}
@inline export function loadU64(addr: u64): u64 {
  const a = loadAddress(addr, 8);
  return a ? load<u64>(a) : 0;
}

// Stores do nothing after raising.
@inline export function storeU32(addr: u64, v: u64): void {
  const a = storeAddress(addr, 4);
  if (a) {
    store<u32>(a, <u32>v);
    if (a == SPLIT_BUFFER) finishSplitStore();
  } else mmioStoreData(v & 0xffff_ffff);
}
@inline export function storeU64(addr: u64, v: u64): void {
  const a = storeAddress(addr, 8);
  if (a) {
    store<u64>(a, v);
    if (a == SPLIT_BUFFER) finishSplitStore();
  } else mmioStoreData(v);
}

// Instruction fetch: linear address of the `size` bytes at pc, or 0 after
// raising an instruction access or page fault.
@inline export function fetchAddress(pc: u64, size: u64): usize {
  return guestAddress(pc, size, PERM_X, CAUSE_FETCH_ACCESS, CAUSE_FETCH_PAGE_FAULT);
}

// For run() (cpu.ts), when its straight loop has stopped at another page:
// the linear address of the page holding `pc` when run()'s fetch would find
// it there without a walk, a fault or an exit (a TLB hit for execution, or
// RAM with the MMU off; in a process VM a page that allows execution), else
// 0, and run() fetches at pc itself. Nothing changes here: no walk sets an
// A bit, no fault is raised, so run() takes every other case exactly as
// before.
export function codePageAt(pc: u64): usize {
  const offset = <u32>pc & 0xfff;
  if (pagePerms) {
    if ((pc >> USER_VA_BITS) != 0) return 0;
    const off = slotOffset(pc, <u32>pc & (SLOT_BYTES - 1));
    if ((<u32>load<u8>(<usize>PAGE_PERMS + <usize>(off >> PAGE_SHIFT)) & PERM_X) == 0) return 0;
    return <usize>RAM_OFFSET + <usize>(off - offset);
  }
  let pa = pc;
  if (mmuOn) {
    pa = tlbHit(pc, PERM_X);
    if (pa == NO_ADDRESS) return 0;
  }
  const page = (pa - ramBase) & ~(<u64>0xfff);
  if (page >= ramSize || ramSize - page < 0x1000) return 0;
  return <usize>(RAM_OFFSET + page);
}

// For ring -1: zeroes each 4 KiB page of guest RAM in [offset, offset +
// pages * 4096) (offsets from RAM's start, page-aligned, inside RAM) that
// holds anything, and leaves all-zero pages untouched: a page the guest never
// wrote is not yet backed by host memory, and reading it keeps it so, while
// filling it would commit it. Returns how many pages were cleared. Unmap and
// MADV_DONTNEED call it, often over large, mostly untouched ranges (thread
// stacks), where a scan in JavaScript cost seconds.
export function clearTouchedPages(offset: u64, pages: u32): u32 {
  const size = load<u64>(RAM_SIZE);
  if ((offset & 4095) != 0 || offset > size || (size - offset) >> 12 < <u64>pages) return 0;
  let cleared: u32 = 0;
  let at = <usize>(RAM_OFFSET + offset);
  for (let p: u32 = 0; p < pages; p++, at += 4096) {
    let any: u64 = 0;
    for (let k: usize = 0; k < 4096; k += 64) {
      any |= load<u64>(at + k) | load<u64>(at + k, 8) | load<u64>(at + k, 16) | load<u64>(at + k, 24)
        | load<u64>(at + k, 32) | load<u64>(at + k, 40) | load<u64>(at + k, 48) | load<u64>(at + k, 56);
    }
    if (any != 0) {
      memory.fill(at, 0, 4096);
      cleared++;
    }
  }
  return cleared;
}
