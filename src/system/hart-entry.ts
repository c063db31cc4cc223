// The state ring -1, as the firmware, leaves a hart in when it enters the
// kernel: at boot, on SBI HSM hart_start, and on the wake-up from a default
// non-retentive hart_suspend. It follows what OpenSBI (1.1, under QEMU 7.2's
// virt board) hands a kernel, as guests/baremetal/entry.c records it, so
// that a kernel finds the same machine under both; docs/FIRMWARE.md has the
// whole contract and why each value is what it is.
import { Priv, type Cpu, type SupervisorCsr } from '../cpu/cpu.js';

/** How the hart comes to enter the kernel. */
export enum HartEntry { Boot, HartStart, NonRetentiveResume }

/** sstatus at entry: SIE, SPIE, SPP, SUM, MXR all 0; FS Dirty (3), as
 *  OpenSBI turns the FP unit on for every hart it brings up and clears its
 *  registers and fcsr, and a kernel may use F/D before it manages FS. */
export const ENTRY_SSTATUS = 3n << 13n;
/** scounteren at entry: CY, TM, IR. U-mode may read cycle, time and
 *  instret (OpenSBI writes 7); a Linux without a perf driver never writes
 *  scounteren, and its vDSO reads `time` with rdtime in U-mode. */
export const ENTRY_SCOUNTEREN = 7n;
/** stimecmp at entry: no timer armed (all ones), so that STIP is clear as
 *  under QEMU (whose stimecmp reads 0 but raises STIP only once written). */
export const ENTRY_STIMECMP = 0xffff_ffff_ffff_ffffn;

/**
 * Writes the entry state into `state`, a hart's saveHart() block: pc =
 * `addr`, a0 = `hart`, a1 = `a1` (the device tree at boot, the opaque
 * value otherwise), S-mode, satp 0 (no paging), sie 0, sscratch 0, senvcfg
 * 0, sstatus and scounteren as above.
 * - Boot and HartStart: the rest as a hart out of reset (registers, fcsr,
 *   sip zero), stvec = `addr` (OpenSBI points stvec at the entry, so a trap
 *   before the kernel sets its own lands at the entry again rather than at 0),
 *   stimecmp all ones.
 * - NonRetentiveResume: what the hart had otherwise survives (its other
 *   registers, stvec, stimecmp and the pending interrupt that woke it),
 *   as it does under OpenSBI (the SBI specification leaves them undefined);
 *   the FP registers and fcsr are zero again, as at boot.
 */
export function writeEntryState(cpu: Cpu, state: Uint8Array, kind: HartEntry, hart: number, addr: bigint, a1: bigint): void {
  const l = cpu.layout;
  const v = new DataView(state.buffer, state.byteOffset, state.byteLength);
  const set = (offset: number, value: bigint) => v.setBigUint64(offset, value, true);
  const csr = (name: SupervisorCsr, value: bigint) => set(cpu.hartCsrOffset(name), value);
  if (kind !== HartEntry.NonRetentiveResume) {
    state.fill(0);
    csr('stvec', addr);
    csr('stimecmp', ENTRY_STIMECMP);
    // No LR reservation (an address no access can have).
    set(l.RESERVATION - l.X_REGS, 0xffff_ffff_ffff_ffffn);
  }
  set(10 * 8, BigInt(hart));
  set(11 * 8, a1);
  set(l.PC - l.X_REGS, addr);
  v.setUint32(l.PRIV - l.X_REGS, Priv.Supervisor, true);
  csr('sstatus', ENTRY_SSTATUS);
  csr('scounteren', ENTRY_SCOUNTEREN);
  csr('sie', 0n);
  csr('sscratch', 0n);
  csr('satp', 0n);
  csr('senvcfg', 0n);
  if (kind === HartEntry.NonRetentiveResume) {
    // The FP unit comes back as at boot: f0..f31 and fcsr zero.
    state.fill(0, l.F_REGS - l.X_REGS, l.F_REGS - l.X_REGS + 32 * 8);
    set(l.FCSR - l.X_REGS, 0n);
  }
}
