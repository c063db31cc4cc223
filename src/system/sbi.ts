// The Supervisor Binary Interface, served by ring -1 (RISC-V SBI
// specification v2.0): what OpenSBI is to a kernel under qemu-system-riscv64,
// the hypervisor is here. A guest kernel's `ecall` from S-mode exits
// ECALL_S; `handleSbi` reads the call from a7 (extension), a6 (function) and
// a0..a5, does it, and writes the result back (a0 error, a1 value; a0 alone
// for the legacy v0.1 calls Linux 6.1 still has as fallbacks).
import type { Cpu } from '../cpu/cpu.js';

export const SBI_SUCCESS = 0n;
export const SBI_ERR_FAILED = -1n;
export const SBI_ERR_NOT_SUPPORTED = -2n;
export const SBI_ERR_INVALID_PARAM = -3n;
export const SBI_ERR_INVALID_ADDRESS = -5n;
export const SBI_ERR_ALREADY_AVAILABLE = -6n;
export const SBI_ERR_ALREADY_STARTED = -7n;
export const SBI_ERR_ALREADY_STOPPED = -8n;

// Extension ids.
export const EXT_BASE = 0x10;
export const EXT_TIME = 0x5449_4d45; // "TIME"
export const EXT_IPI = 0x0073_5049; // "sPI"
export const EXT_RFENCE = 0x5246_4e43; // "RFNC"
export const EXT_HSM = 0x0048_534d; // "HSM"
export const EXT_SRST = 0x5352_5354; // "SRST"
export const EXT_DBCN = 0x4442_434e; // "DBCN"
// Legacy (v0.1) extensions: the extension id is the function.
export const LEGACY_SET_TIMER = 0x00;
export const LEGACY_CONSOLE_PUTCHAR = 0x01;
export const LEGACY_CONSOLE_GETCHAR = 0x02;
export const LEGACY_CLEAR_IPI = 0x03;
export const LEGACY_SEND_IPI = 0x04;
export const LEGACY_REMOTE_FENCE_I = 0x05;
export const LEGACY_REMOTE_SFENCE_VMA = 0x06;
export const LEGACY_REMOTE_SFENCE_VMA_ASID = 0x07;
export const LEGACY_SHUTDOWN = 0x08;

/** SBI spec version 2.0 (major in bits 30:24). */
const SPEC_VERSION = 2n << 24n;
/** Implementation id: none of the registered ones (0 BBL ... 10); ours. */
export const IMPL_ID = 0x7276n; // "rv"
const IMPL_VERSION = 1n;

export const SBI_EXTENSION_NAMES: Record<number, string> = {
  [EXT_BASE]: 'BASE', [EXT_TIME]: 'TIME', [EXT_IPI]: 'IPI', [EXT_RFENCE]: 'RFENCE', [EXT_HSM]: 'HSM',
  [EXT_SRST]: 'SRST', [EXT_DBCN]: 'DBCN',
  [LEGACY_SET_TIMER]: 'legacy set_timer', [LEGACY_CONSOLE_PUTCHAR]: 'legacy console_putchar',
  [LEGACY_CONSOLE_GETCHAR]: 'legacy console_getchar', [LEGACY_CLEAR_IPI]: 'legacy clear_ipi',
  [LEGACY_SEND_IPI]: 'legacy send_ipi', [LEGACY_REMOTE_FENCE_I]: 'legacy remote_fence_i',
  [LEGACY_REMOTE_SFENCE_VMA]: 'legacy remote_sfence_vma', [LEGACY_REMOTE_SFENCE_VMA_ASID]: 'legacy remote_sfence_vma_asid',
  [LEGACY_SHUTDOWN]: 'legacy shutdown',
};

/** HSM hart states. */
export enum HartState { Started = 0, Stopped = 1, StartPending = 2, StopPending = 3, Suspended = 4 }

/** SRST reset types. */
export enum ResetType { Shutdown = 0, ColdReboot = 1, WarmReboot = 2 }

/** What the SBI needs from the machine around it. */
export interface SbiMachine {
  readonly harts: number;
  /** The hart making the call. */
  readonly current: number;
  /** Console bytes (the SBI console and the legacy putchar). */
  consoleWrite(bytes: Uint8Array): void;
  /** One byte of console input, or -1. */
  consoleRead(): number;
  /** sip.SSIP of a hart (IPIs). */
  setSoftwareInterrupt(hart: number, pending: boolean): void;
  /** The hart's timer deadline (stimecmp), in `time` ticks. */
  setTimer(hart: number, when: bigint): void;
  /** Flush a hart's TLB before it next runs (remote sfence.vma). */
  remoteSfence(hart: number): void;
  hartState(hart: number): HartState;
  /** HSM hart_start: the hart starts in S-mode at `addr` with a0 = hartid, a1 = opaque. */
  startHart(hart: number, addr: bigint, opaque: bigint): void;
  /** HSM hart_stop of the calling hart. */
  stopHart(): void;
  /** HSM hart_suspend of the calling hart, until an interrupt enabled in its
   *  sie is pending: then it goes on after the call (retentive), or starts
   *  afresh at `resume` with a0 = hart id, a1 = opaque (non-retentive). */
  suspendHart(resume?: { addr: bigint; opaque: bigint }): void;
  /** SRST and the legacy shutdown: the machine stops; `reason` as the spec numbers it. */
  reset(type: ResetType, reason: number): void;
  /** Guest physical memory, for DBCN (its buffers are physical addresses). */
  readPhysical(addr: bigint, length: number): Uint8Array | undefined;
}

export interface SbiCall { ext: number; fid: number; name: string; error: bigint }

/** Per call counts, for --stats. */
export class SbiStats {
  readonly calls = new Map<string, number>();
  count(name: string): void { this.calls.set(name, (this.calls.get(name) ?? 0) + 1); }
}

const A0 = 10, A1 = 11, A6 = 16, A7 = 17;

function hartMask(machine: SbiMachine, mask: bigint, base: bigint): number[] | undefined {
  // hart_mask_base of -1 (all ones) means every hart.
  if (base === 0xffff_ffff_ffff_ffffn) return Array.from({ length: machine.harts }, (_, i) => i);
  const harts: number[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (((mask >> BigInt(bit)) & 1n) === 0n) continue;
    const h = base + BigInt(bit);
    if (h >= BigInt(machine.harts)) return undefined;
    harts.push(Number(h));
  }
  return harts;
}

function functionName(ext: number, fid: number): string {
  const e = SBI_EXTENSION_NAMES[ext];
  if (e === undefined) return `0x${ext.toString(16)}/${fid}`;
  if (ext < 0x10) return e;
  const names: Record<number, string[]> = {
    [EXT_BASE]: ['get_spec_version', 'get_impl_id', 'get_impl_version', 'probe_extension', 'get_mvendorid', 'get_marchid', 'get_mimpid'],
    [EXT_TIME]: ['set_timer'],
    [EXT_IPI]: ['send_ipi'],
    [EXT_RFENCE]: ['remote_fence_i', 'remote_sfence_vma', 'remote_sfence_vma_asid', 'remote_hfence_gvma_vmid', 'remote_hfence_gvma', 'remote_hfence_vvma_asid', 'remote_hfence_vvma'],
    [EXT_HSM]: ['hart_start', 'hart_stop', 'hart_get_status', 'hart_suspend'],
    [EXT_SRST]: ['system_reset'],
    [EXT_DBCN]: ['console_write', 'console_read', 'console_write_byte'],
  };
  return `${e} ${names[ext]?.[fid] ?? fid}`;
}

/** Serves the SBI call the CPU exited on (ECALL_S). */
export function handleSbi(cpu: Cpu, machine: SbiMachine, stats?: SbiStats): SbiCall {
  const ext = Number(cpu.x(A7) & 0xffff_ffffn);
  const fid = Number(cpu.x(A6) & 0xffff_ffffn);
  const a = (i: number) => cpu.x(A0 + i);
  const name = functionName(ext, fid);
  stats?.count(name);
  let error = SBI_SUCCESS, value = 0n;
  const legacy = ext < 0x10;
  const me = machine.current;

  switch (ext) {
    case EXT_BASE:
      switch (fid) {
        case 0: value = SPEC_VERSION; break;
        case 1: value = IMPL_ID; break;
        case 2: value = IMPL_VERSION; break;
        case 3: value = probe(Number(a(0) & 0xffff_ffffn)) ? 1n : 0n; break;
        case 4: case 5: case 6: value = 0n; break; // mvendorid, marchid, mimpid
        default: error = SBI_ERR_NOT_SUPPORTED;
      }
      break;
    case EXT_TIME:
      if (fid === 0) machine.setTimer(me, a(0));
      else error = SBI_ERR_NOT_SUPPORTED;
      break;
    case EXT_IPI: {
      if (fid !== 0) { error = SBI_ERR_NOT_SUPPORTED; break; }
      const harts = hartMask(machine, a(0), a(1));
      if (harts === undefined) error = SBI_ERR_INVALID_PARAM;
      else for (const h of harts) machine.setSoftwareInterrupt(h, true);
      break;
    }
    case EXT_RFENCE: {
      if (fid > 2) { error = SBI_ERR_NOT_SUPPORTED; break; } // the hypervisor-extension fences: no H extension
      const harts = hartMask(machine, a(0), a(1));
      if (harts === undefined) { error = SBI_ERR_INVALID_PARAM; break; }
      // remote_fence_i: instruction caches are always coherent here.
      if (fid !== 0) for (const h of harts) machine.remoteSfence(h);
      break;
    }
    case EXT_HSM:
      switch (fid) {
        case 0: { // hart_start
          const h = a(0);
          if (h >= BigInt(machine.harts)) { error = SBI_ERR_INVALID_PARAM; break; }
          if (machine.hartState(Number(h)) !== HartState.Stopped) { error = SBI_ERR_ALREADY_AVAILABLE; break; }
          if (machine.readPhysical(a(1), 2) === undefined) { error = SBI_ERR_INVALID_ADDRESS; break; }
          machine.startHart(Number(h), a(1), a(2));
          break;
        }
        case 1: machine.stopHart(); break;
        case 2: {
          const h = a(0);
          if (h >= BigInt(machine.harts)) error = SBI_ERR_INVALID_PARAM;
          else value = BigInt(machine.hartState(Number(h)));
          break;
        }
        case 3: { // hart_suspend(type, resume_addr, opaque)
          const type = Number(a(0) & 0xffff_ffffn);
          if (type === 0) machine.suspendHart(); // default retentive
          else if (type === 0x8000_0000) { // default non-retentive
            if (machine.readPhysical(a(1), 2) === undefined) { error = SBI_ERR_INVALID_ADDRESS; break; }
            machine.suspendHart({ addr: a(1), opaque: a(2) });
          } else if (type < 0x1000_0000 || (type > 0x8000_0000 && type < 0x9000_0000)) error = SBI_ERR_INVALID_PARAM; // reserved
          else error = SBI_ERR_NOT_SUPPORTED; // platform-specific types: none
          break;
        }
        default: error = SBI_ERR_NOT_SUPPORTED;
      }
      break;
    case EXT_SRST: {
      if (fid !== 0) { error = SBI_ERR_NOT_SUPPORTED; break; }
      const type = Number(a(0) & 0xffff_ffffn), reason = Number(a(1) & 0xffff_ffffn);
      if (type > 2 || (reason > 1 && reason < 0xe000_0000)) { error = SBI_ERR_INVALID_PARAM; break; }
      machine.reset(type, reason);
      break;
    }
    case EXT_DBCN:
      switch (fid) {
        case 0: { // console_write(num_bytes, base_lo, base_hi)
          const n = Number(a(0) > 0x10_0000n ? 0x10_0000n : a(0));
          const bytes = machine.readPhysical(a(1) | (a(2) << 32n), n);
          if (bytes === undefined) { error = SBI_ERR_INVALID_PARAM; break; }
          machine.consoleWrite(bytes);
          value = BigInt(n);
          break;
        }
        case 1: { // console_read: into a buffer, as many as there are
          const n = Number(a(0) > 0x1000n ? 0x1000n : a(0));
          const buf = machine.readPhysical(a(1) | (a(2) << 32n), n);
          if (buf === undefined) { error = SBI_ERR_INVALID_PARAM; break; }
          let got = 0;
          while (got < n) {
            const c = machine.consoleRead();
            if (c < 0) break;
            buf[got++] = c;
          }
          value = BigInt(got);
          break;
        }
        case 2: machine.consoleWrite(new Uint8Array([Number(a(0) & 0xffn)])); break;
        default: error = SBI_ERR_NOT_SUPPORTED;
      }
      break;
    // ---- legacy (v0.1): a0 is the result ----
    case LEGACY_SET_TIMER:
      machine.setTimer(me, a(0));
      break;
    case LEGACY_CONSOLE_PUTCHAR:
      machine.consoleWrite(new Uint8Array([Number(a(0) & 0xffn)]));
      break;
    case LEGACY_CONSOLE_GETCHAR:
      error = BigInt(machine.consoleRead());
      break;
    case LEGACY_CLEAR_IPI:
      machine.setSoftwareInterrupt(me, false);
      break;
    case LEGACY_SEND_IPI: case LEGACY_REMOTE_FENCE_I: case LEGACY_REMOTE_SFENCE_VMA: case LEGACY_REMOTE_SFENCE_VMA_ASID: {
      // a0 points at an unsigned long hart mask in guest (virtual) memory;
      // Linux passes 0 for "all harts" in practice only through the v0.2 calls.
      const harts = legacyHarts(cpu, machine, a(0));
      if (harts === undefined) { error = SBI_ERR_INVALID_ADDRESS; break; }
      for (const h of harts) {
        if (ext === LEGACY_SEND_IPI) machine.setSoftwareInterrupt(h, true);
        else if (ext !== LEGACY_REMOTE_FENCE_I) machine.remoteSfence(h);
      }
      break;
    }
    case LEGACY_SHUTDOWN:
      machine.reset(ResetType.Shutdown, 0);
      break;
    default:
      error = SBI_ERR_NOT_SUPPORTED;
  }
  cpu.setX(A0, error);
  if (!legacy) cpu.setX(A1, value);
  return { ext, fid, name, error };
}

function probe(ext: number): boolean {
  return [EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN].includes(ext)
    || (ext >= 0 && ext <= LEGACY_SHUTDOWN);
}

// The legacy calls' hart mask: a pointer to it, or 0 for all harts. Read
// physically when it lies in RAM (the kernel's own data is identity-offset
// from its physical address only through its page tables, so this is a best
// effort; Linux 6.1 uses the v0.2 extensions whenever they are offered).
function legacyHarts(_cpu: Cpu, machine: SbiMachine, ptr: bigint): number[] | undefined {
  if (ptr === 0n) return Array.from({ length: machine.harts }, (_, i) => i);
  const bytes = machine.readPhysical(ptr, 8);
  if (bytes === undefined) return undefined;
  const mask = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return hartMask(machine, mask, 0n);
}

