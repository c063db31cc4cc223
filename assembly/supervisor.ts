// The supervisor side of the hart (privileged specification, "Supervisor-Level
// ISA"): the S-mode CSRs, trap delivery into S-mode, `sret`, and which
// interrupt to take. Used when the exit controls include CTRL_SUPERVISOR (a
// system VM, ring 0 present); a process VM has none of it and every trap
// exits to ring -1 instead.
//
// There is no M-mode inside the guest: ring -1 is the firmware. What M-mode
// CSRs would decide is fixed here as a machine with an SBI would set it:
// every exception and every S-level interrupt delegated to S
// (medeleg/mideleg), Sstc enabled (menvcfg.STCE: `stimecmp` drives STIP),
// the counters readable by S (mcounteren all ones).
import {
  PRIV, TIME, SSTATUS, SIE, SIP, STVEC, SSCRATCH, SEPC, SCAUSE, STVAL, SATP,
  SCOUNTEREN, SENVCFG, STIMECMP,
  PRIV_U, PRIV_S,
  SSTATUS_SIE, SSTATUS_SPIE, SSTATUS_SPP, SSTATUS_FS, SSTATUS_SUM, SSTATUS_MXR, SSTATUS_UXL, SSTATUS_SD,
  IRQ_SSI, IRQ_STI, IRQ_SEI,
} from './layout';

// ---- CSR numbers (privileged spec, "Supervisor-level CSRs") -----------------
export const CSR_SSTATUS: u32 = 0x100;
export const CSR_SIE: u32 = 0x104;
export const CSR_STVEC: u32 = 0x105;
export const CSR_SCOUNTEREN: u32 = 0x106;
export const CSR_SENVCFG: u32 = 0x10a;
export const CSR_SSCRATCH: u32 = 0x140;
export const CSR_SEPC: u32 = 0x141;
export const CSR_SCAUSE: u32 = 0x142;
export const CSR_STVAL: u32 = 0x143;
export const CSR_SIP: u32 = 0x144;
export const CSR_STIMECMP: u32 = 0x14d;
export const CSR_SATP: u32 = 0x180;

// Bits of sstatus software can write; the rest read as fixed (UXL = 2:
// 64-bit U-mode; UBE, VS, XS zero) or are derived (SD).
const SSTATUS_WRITABLE: u64 = SSTATUS_SIE | SSTATUS_SPIE | SSTATUS_SPP | SSTATUS_FS | SSTATUS_SUM | SSTATUS_MXR;
// sie: the three S-level interrupts. sip: only SSIP is writable by S;
// STIP follows stimecmp (Sstc), SEIP the external interrupt line ring -1 drives.
const SIE_WRITABLE: u64 = (<u64>1 << IRQ_SSI) | (<u64>1 << IRQ_STI) | (<u64>1 << IRQ_SEI);
const SIP_WRITABLE: u64 = <u64>1 << IRQ_SSI;
// senvcfg: FIOM only (no Zicbom, Zicboz, pointer masking).
const SENVCFG_WRITABLE: u64 = 1;
// satp modes this hart translates with: Bare, Sv39, Sv48, Sv57 (QEMU's
// rv64 harts have all three, and Linux 6.1 picks the largest that a satp
// write keeps: its whole memory layout depends on it).
const SATP_BARE: u64 = 0;
const SATP_SV39: u64 = 8;
const SATP_SV48: u64 = 9;
const SATP_SV57: u64 = 10;

export let csrValid: bool = true;

@inline export function priv(): u32 { return load<u32>(PRIV); }

/** sstatus as read: SD set when FS is dirty, UXL fixed. */
export function readSstatus(): u64 {
  let v = (load<u64>(SSTATUS) & SSTATUS_WRITABLE) | SSTATUS_UXL;
  if ((v & SSTATUS_FS) == SSTATUS_FS) v |= SSTATUS_SD;
  return v;
}

/** The timer comparison of Sstc, folded into sip.STIP. */
export function updateTimerPending(): void {
  const sip = load<u64>(SIP);
  const stip = <u64>1 << IRQ_STI;
  store<u64>(SIP, load<u64>(TIME) >= load<u64>(STIMECMP) ? sip | stip : sip & ~stip);
}

/** Reads an S-mode CSR; sets csrValid to false for one that does not exist. */
export function readSupervisorCsr(csr: u32): u64 {
  csrValid = true;
  switch (csr) {
    case CSR_SSTATUS: return readSstatus();
    case CSR_SIE: return load<u64>(SIE);
    case CSR_STVEC: return load<u64>(STVEC);
    case CSR_SCOUNTEREN: return load<u64>(SCOUNTEREN);
    case CSR_SENVCFG: return load<u64>(SENVCFG);
    case CSR_SSCRATCH: return load<u64>(SSCRATCH);
    case CSR_SEPC: return load<u64>(SEPC);
    case CSR_SCAUSE: return load<u64>(SCAUSE);
    case CSR_STVAL: return load<u64>(STVAL);
    case CSR_SIP: return load<u64>(SIP);
    case CSR_STIMECMP: return load<u64>(STIMECMP);
    case CSR_SATP: return load<u64>(SATP);
  }
  csrValid = false;
  return 0;
}

/** Writes an S-mode CSR (WARL fields keep their legal values). Returns true
 *  when the write may change which interrupts are pending or enabled. */
export function writeSupervisorCsr(csr: u32, v: u64): bool {
  switch (csr) {
    case CSR_SSTATUS:
      store<u64>(SSTATUS, v & SSTATUS_WRITABLE);
      return true;
    case CSR_SIE: store<u64>(SIE, v & SIE_WRITABLE); return true;
    case CSR_SIP:
      store<u64>(SIP, (load<u64>(SIP) & ~SIP_WRITABLE) | (v & SIP_WRITABLE));
      return true;
    // MODE 0 (direct) and 1 (vectored); the reserved modes leave stvec as it was.
    case CSR_STVEC: if ((v & 3) < 2) store<u64>(STVEC, v); return false;
    case CSR_SCOUNTEREN: store<u64>(SCOUNTEREN, v & 0xffff_ffff); return false;
    case CSR_SENVCFG: store<u64>(SENVCFG, v & SENVCFG_WRITABLE); return false;
    case CSR_SSCRATCH: store<u64>(SSCRATCH, v); return false;
    // IALIGN is 16 (C is implemented): bit 0 of sepc is always zero.
    case CSR_SEPC: store<u64>(SEPC, v & ~(<u64>1)); return false;
    case CSR_SCAUSE: store<u64>(SCAUSE, v); return false;
    case CSR_STVAL: store<u64>(STVAL, v); return false;
    case CSR_STIMECMP:
      store<u64>(STIMECMP, v);
      updateTimerPending();
      return true;
    case CSR_SATP: {
      // A mode this hart lacks makes the whole write have no effect.
      const mode = v >> 60;
      // (All 16 ASID bits are kept.)
      if (mode == SATP_BARE) store<u64>(SATP, 0);
      else if (mode == SATP_SV39 || mode == SATP_SV48 || mode == SATP_SV57) store<u64>(SATP, v);
      return false;
    }
  }
  return false;
}

/** Whether the FP unit is off (sstatus.FS == Off): F and D instructions and
 *  their CSRs are illegal then. */
@inline export function fpOff(): bool {
  return (load<u64>(SSTATUS) & SSTATUS_FS) == 0;
}

/** An FP instruction may have changed FP state: FS becomes Dirty. */
@inline export function markFpDirty(): void {
  store<u64>(SSTATUS, load<u64>(SSTATUS) | SSTATUS_FS);
}

/** Takes a trap into S-mode: `cause` (bit 63 set for an interrupt), `tval`,
 *  `epc` the pc to return to. Returns the pc of the handler. */
export function trapToSupervisor(cause: u64, tval: u64, epc: u64): u64 {
  const s = load<u64>(SSTATUS);
  const from = priv();
  let v = s & ~(SSTATUS_SPIE | SSTATUS_SPP | SSTATUS_SIE);
  if (s & SSTATUS_SIE) v |= SSTATUS_SPIE;
  if (from == PRIV_S) v |= SSTATUS_SPP;
  store<u64>(SSTATUS, v);
  store<u64>(SEPC, epc);
  store<u64>(SCAUSE, cause);
  store<u64>(STVAL, tval);
  store<u32>(PRIV, PRIV_S);
  const tvec = load<u64>(STVEC);
  const base = tvec & ~(<u64>3);
  // Vectored mode sends interrupts to base + 4 * cause; exceptions to base.
  if ((tvec & 3) == 1 && (cause >> 63) != 0) return base + ((cause & 0x3f) << 2);
  return base;
}

/** sret: back to the privilege in SPP with SIE from SPIE. Returns the new pc. */
export function supervisorReturn(): u64 {
  const s = load<u64>(SSTATUS);
  let v = s & ~(SSTATUS_SIE | SSTATUS_SPP);
  if (s & SSTATUS_SPIE) v |= SSTATUS_SIE;
  v |= SSTATUS_SPIE;
  store<u64>(SSTATUS, v);
  store<u32>(PRIV, (s & SSTATUS_SPP) ? PRIV_S : PRIV_U);
  return load<u64>(SEPC);
}

/** The interrupt to take now, as its cause number, or -1 for none: pending
 *  and enabled in sie, and S-mode interrupts globally enabled (always in
 *  U-mode, in S-mode when sstatus.SIE). Priority SEI > SSI > STI. */
export function pendingInterrupt(): i32 {
  const ready = load<u64>(SIP) & load<u64>(SIE);
  if (ready == 0) return -1;
  if (priv() == PRIV_S && (load<u64>(SSTATUS) & SSTATUS_SIE) == 0) return -1;
  if (ready & (<u64>1 << IRQ_SEI)) return IRQ_SEI;
  if (ready & (<u64>1 << IRQ_SSI)) return IRQ_SSI;
  if (ready & (<u64>1 << IRQ_STI)) return IRQ_STI;
  return -1;
}

/** Whether U-mode may read counter `index` (0 cycle, 1 time, 2 instret). */
@inline export function counterAllowed(index: u32): bool {
  return priv() != PRIV_U || ((load<u64>(SCOUNTEREN) >> index) & 1) != 0;
}
