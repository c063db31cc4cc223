// Guest memory accesses. Guest RAM is one flat region of linear memory: the
// guest address RAM_BASE is byte RAM_OFFSET. Every access is bounds-checked
// against RAM_SIZE before wasm touches memory, so a guest can never read or
// write outside its RAM. An access outside RAM raises an access fault; a
// misaligned load or store simply works (wasm allows it, Linux user mode
// emulates it), except for atomics (see the A extension in cpu.ts).
import {
  RAM_BASE, RAM_SIZE, RAM_OFFSET,
  CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_ACCESS,
} from './layout';
import { raiseException } from './trap';

// Cached copies of RAM_BASE/RAM_SIZE, refreshed by `run` on entry (the
// hypervisor may have changed them between runs).
let ramBase: u64 = 0;
let ramSize: u64 = 0;

export function refreshMemoryConfig(): void {
  ramBase = load<u64>(RAM_BASE);
  ramSize = load<u64>(RAM_SIZE);
}

// Linear-memory address of guest bytes [addr, addr+size), or 0 when any of
// them lies outside RAM. 0 can never be a RAM address (RAM_OFFSET > 0).
@inline export function ramAddress(addr: u64, size: u64): usize {
  const off = addr - ramBase;
  if (off >= ramSize || ramSize - off < size) return 0;
  return <usize>(RAM_OFFSET + off);
}

@inline function loadAddress(addr: u64, size: u64): usize {
  const a = ramAddress(addr, size);
  if (a == 0) raiseException(CAUSE_LOAD_ACCESS, addr);
  return a;
}

@inline function storeAddress(addr: u64, size: u64): usize {
  const a = ramAddress(addr, size);
  if (a == 0) raiseException(CAUSE_STORE_ACCESS, addr);
  return a;
}

// Loads return 0 after raising; callers check `pendingExit` before writing
// the value anywhere.
@inline export function loadU8(addr: u64): u64 {
  const a = loadAddress(addr, 1);
  return a ? <u64>load<u8>(a) : 0;
}
@inline export function loadU16(addr: u64): u64 {
  const a = loadAddress(addr, 2);
  return a ? <u64>load<u16>(a) : 0;
}
@inline export function loadU32(addr: u64): u64 {
  const a = loadAddress(addr, 4);
  return a ? <u64>load<u32>(a) : 0;
}
@inline export function loadU64(addr: u64): u64 {
  const a = loadAddress(addr, 8);
  return a ? load<u64>(a) : 0;
}

// Stores do nothing after raising.
@inline export function storeU8(addr: u64, v: u64): void {
  const a = storeAddress(addr, 1);
  if (a) store<u8>(a, <u8>v);
}
@inline export function storeU16(addr: u64, v: u64): void {
  const a = storeAddress(addr, 2);
  if (a) store<u16>(a, <u16>v);
}
@inline export function storeU32(addr: u64, v: u64): void {
  const a = storeAddress(addr, 4);
  if (a) store<u32>(a, <u32>v);
}
@inline export function storeU64(addr: u64, v: u64): void {
  const a = storeAddress(addr, 8);
  if (a) store<u64>(a, v);
}

// Instruction fetch: linear address of the 16-bit parcel at pc, or 0 after
// raising an instruction access fault.
@inline export function fetchAddress(pc: u64, size: u64): usize {
  const a = ramAddress(pc, size);
  if (a == 0) raiseException(CAUSE_FETCH_ACCESS, pc);
  return a;
}
