// Typed access to the architectural state at the offsets in layout.ts.
import { X_REGS, F_REGS, FCSR } from './layout';

@inline export function getX(r: u32): u64 {
  return load<u64>(X_REGS + (r << 3));
}

// x0 is hard-wired to zero: writes to it are dropped here, in one place.
@inline export function setX(r: u32, v: u64): void {
  if (r != 0) store<u64>(X_REGS + (r << 3), v);
}

@inline export function getF(r: u32): u64 {
  return load<u64>(F_REGS + (r << 3));
}

@inline export function setF(r: u32, v: u64): void {
  store<u64>(F_REGS + (r << 3), v);
}

// fcsr: fflags in bits 4:0, frm in bits 7:5 (unprivileged spec, "F" chapter).
@inline export function getFcsr(): u32 {
  return load<u32>(FCSR);
}

@inline export function setFcsr(v: u32): void {
  store<u32>(FCSR, v & 0xff);
}

// Accrue exception flags: fflags bits are sticky, only ever ORed in.
@inline export function raiseFFlags(flags: u32): void {
  store<u32>(FCSR, load<u32>(FCSR) | (flags & 0x1f));
}

@inline export function getFrm(): u32 {
  return (load<u32>(FCSR) >> 5) & 7;
}
