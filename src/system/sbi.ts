// The Supervisor Binary Interface, served by ring -1 (RISC-V SBI
// specification v2.0): what OpenSBI is to a kernel under qemu-system-riscv64,
// the hypervisor is here. A guest kernel's `ecall` from S-mode exits
// ECALL_S; `handleSbi` reads the call from a7 (extension), a6 (function) and
// a0..a5, finds the extension in SBI_EXTENSIONS (a table by extension id, as
// system calls are by number in linux/syscalls.ts), runs its handler, and
// writes the result back (a0 error, a1 value; a0 alone for the legacy v0.1
// calls Linux 6.1 still has as fallbacks).
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

/** One call as its extension's handler sees it. */
export interface SbiContext {
  readonly cpu: Cpu;
  readonly machine: SbiMachine;
  readonly ext: number;
  readonly fid: number;
  /** Argument register a0..a5. */
  a(i: number): bigint;
}

/** An extension's answer: a0 (the error; a legacy call's result) and a1. */
export interface SbiResult { error: bigint; value?: bigint }

export interface SbiExtension {
  readonly name: string;
  /** Function names by fid (for --stats and --trace-exits); a legacy
   *  extension is one function, named as the extension. */
  readonly functions?: readonly string[];
  readonly handler: (c: SbiContext) => SbiResult;
}

const OK: SbiResult = { error: SBI_SUCCESS };
const NOT_SUPPORTED: SbiResult = { error: SBI_ERR_NOT_SUPPORTED };

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

// ---- BASE ----
function sbiBase({ fid, a }: SbiContext): SbiResult {
  switch (fid) {
    case 0: return { error: SBI_SUCCESS, value: SPEC_VERSION };
    case 1: return { error: SBI_SUCCESS, value: IMPL_ID };
    case 2: return { error: SBI_SUCCESS, value: IMPL_VERSION };
    case 3: return { error: SBI_SUCCESS, value: SBI_EXTENSIONS.has(Number(a(0) & 0xffff_ffffn)) ? 1n : 0n };
    case 4: case 5: case 6: return OK; // mvendorid, marchid, mimpid: 0
    default: return NOT_SUPPORTED;
  }
}

// ---- TIME ----
function sbiTime({ fid, a, machine }: SbiContext): SbiResult {
  if (fid !== 0) return NOT_SUPPORTED;
  machine.setTimer(machine.current, a(0));
  return OK;
}

// ---- IPI ----
function sbiIpi({ fid, a, machine }: SbiContext): SbiResult {
  if (fid !== 0) return NOT_SUPPORTED;
  const harts = hartMask(machine, a(0), a(1));
  if (harts === undefined) return { error: SBI_ERR_INVALID_PARAM };
  for (const h of harts) machine.setSoftwareInterrupt(h, true);
  return OK;
}

// ---- RFENCE ----
function sbiRfence({ fid, a, machine }: SbiContext): SbiResult {
  if (fid > 2) return NOT_SUPPORTED; // the hypervisor-extension fences: no H extension
  const harts = hartMask(machine, a(0), a(1));
  if (harts === undefined) return { error: SBI_ERR_INVALID_PARAM };
  // remote_fence_i: instruction caches are always coherent here.
  if (fid !== 0) for (const h of harts) machine.remoteSfence(h);
  return OK;
}

// ---- HSM ----
function sbiHsm({ fid, a, machine }: SbiContext): SbiResult {
  switch (fid) {
    case 0: { // hart_start
      const h = a(0);
      if (h >= BigInt(machine.harts)) return { error: SBI_ERR_INVALID_PARAM };
      if (machine.hartState(Number(h)) !== HartState.Stopped) return { error: SBI_ERR_ALREADY_AVAILABLE };
      if (machine.readPhysical(a(1), 2) === undefined) return { error: SBI_ERR_INVALID_ADDRESS };
      machine.startHart(Number(h), a(1), a(2));
      return OK;
    }
    case 1: machine.stopHart(); return OK;
    case 2: { // hart_get_status
      const h = a(0);
      if (h >= BigInt(machine.harts)) return { error: SBI_ERR_INVALID_PARAM };
      return { error: SBI_SUCCESS, value: BigInt(machine.hartState(Number(h))) };
    }
    case 3: { // hart_suspend(type, resume_addr, opaque)
      const type = Number(a(0) & 0xffff_ffffn);
      if (type === 0) { machine.suspendHart(); return OK; } // default retentive
      if (type === 0x8000_0000) { // default non-retentive
        if (machine.readPhysical(a(1), 2) === undefined) return { error: SBI_ERR_INVALID_ADDRESS };
        machine.suspendHart({ addr: a(1), opaque: a(2) });
        return OK;
      }
      if (type < 0x1000_0000 || (type > 0x8000_0000 && type < 0x9000_0000)) return { error: SBI_ERR_INVALID_PARAM }; // reserved
      return NOT_SUPPORTED; // platform-specific types: none
    }
    default: return NOT_SUPPORTED;
  }
}

// ---- SRST ----
function sbiSrst({ fid, a, machine }: SbiContext): SbiResult {
  if (fid !== 0) return NOT_SUPPORTED;
  const type = Number(a(0) & 0xffff_ffffn), reason = Number(a(1) & 0xffff_ffffn);
  if (type > 2 || (reason > 1 && reason < 0xe000_0000)) return { error: SBI_ERR_INVALID_PARAM };
  machine.reset(type, reason);
  return OK;
}

// ---- DBCN ----
function sbiDbcn({ fid, a, machine }: SbiContext): SbiResult {
  switch (fid) {
    case 0: { // console_write(num_bytes, base_lo, base_hi)
      const n = Number(a(0) > 0x10_0000n ? 0x10_0000n : a(0));
      const bytes = machine.readPhysical(a(1) | (a(2) << 32n), n);
      if (bytes === undefined) return { error: SBI_ERR_INVALID_PARAM };
      machine.consoleWrite(bytes);
      return { error: SBI_SUCCESS, value: BigInt(n) };
    }
    case 1: { // console_read: into a buffer, as many as there are
      const n = Number(a(0) > 0x1000n ? 0x1000n : a(0));
      const buf = machine.readPhysical(a(1) | (a(2) << 32n), n);
      if (buf === undefined) return { error: SBI_ERR_INVALID_PARAM };
      let got = 0;
      while (got < n) {
        const c = machine.consoleRead();
        if (c < 0) break;
        buf[got++] = c;
      }
      return { error: SBI_SUCCESS, value: BigInt(got) };
    }
    case 2: machine.consoleWrite(new Uint8Array([Number(a(0) & 0xffn)])); return OK;
    default: return NOT_SUPPORTED;
  }
}

// ---- legacy (v0.1): one function each; a0 is the result ----
function legacySetTimer({ a, machine }: SbiContext): SbiResult {
  machine.setTimer(machine.current, a(0));
  return OK;
}

function legacyConsolePutchar({ a, machine }: SbiContext): SbiResult {
  machine.consoleWrite(new Uint8Array([Number(a(0) & 0xffn)]));
  return OK;
}

function legacyConsoleGetchar({ machine }: SbiContext): SbiResult {
  return { error: BigInt(machine.consoleRead()) };
}

function legacyClearIpi({ machine }: SbiContext): SbiResult {
  machine.setSoftwareInterrupt(machine.current, false);
  return OK;
}

// send_ipi and the remote fences: a0 points at an unsigned long hart mask in
// guest (virtual) memory; Linux passes 0 for "all harts" in practice only
// through the v0.2 calls.
function legacyHartsCall(what: (machine: SbiMachine, hart: number) => void): (c: SbiContext) => SbiResult {
  return ({ a, machine }) => {
    const harts = legacyHarts(machine, a(0));
    if (harts === undefined) return { error: SBI_ERR_INVALID_ADDRESS };
    for (const h of harts) what(machine, h);
    return OK;
  };
}

function legacyShutdown({ machine }: SbiContext): SbiResult {
  machine.reset(ResetType.Shutdown, 0);
  return OK;
}

/** The extensions ring -1 implements, by extension id (a7). */
export const SBI_EXTENSIONS: ReadonlyMap<number, SbiExtension> = new Map<number, SbiExtension>([
  [EXT_BASE, { name: 'BASE', handler: sbiBase, functions: ['get_spec_version', 'get_impl_id', 'get_impl_version', 'probe_extension', 'get_mvendorid', 'get_marchid', 'get_mimpid'] }],
  [EXT_TIME, { name: 'TIME', handler: sbiTime, functions: ['set_timer'] }],
  [EXT_IPI, { name: 'IPI', handler: sbiIpi, functions: ['send_ipi'] }],
  [EXT_RFENCE, { name: 'RFENCE', handler: sbiRfence, functions: ['remote_fence_i', 'remote_sfence_vma', 'remote_sfence_vma_asid', 'remote_hfence_gvma_vmid', 'remote_hfence_gvma', 'remote_hfence_vvma_asid', 'remote_hfence_vvma'] }],
  [EXT_HSM, { name: 'HSM', handler: sbiHsm, functions: ['hart_start', 'hart_stop', 'hart_get_status', 'hart_suspend'] }],
  [EXT_SRST, { name: 'SRST', handler: sbiSrst, functions: ['system_reset'] }],
  [EXT_DBCN, { name: 'DBCN', handler: sbiDbcn, functions: ['console_write', 'console_read', 'console_write_byte'] }],
  [LEGACY_SET_TIMER, { name: 'legacy set_timer', handler: legacySetTimer }],
  [LEGACY_CONSOLE_PUTCHAR, { name: 'legacy console_putchar', handler: legacyConsolePutchar }],
  [LEGACY_CONSOLE_GETCHAR, { name: 'legacy console_getchar', handler: legacyConsoleGetchar }],
  [LEGACY_CLEAR_IPI, { name: 'legacy clear_ipi', handler: legacyClearIpi }],
  [LEGACY_SEND_IPI, { name: 'legacy send_ipi', handler: legacyHartsCall((m, h) => m.setSoftwareInterrupt(h, true)) }],
  // remote_fence_i: instruction caches are always coherent here.
  [LEGACY_REMOTE_FENCE_I, { name: 'legacy remote_fence_i', handler: legacyHartsCall(() => {}) }],
  [LEGACY_REMOTE_SFENCE_VMA, { name: 'legacy remote_sfence_vma', handler: legacyHartsCall((m, h) => m.remoteSfence(h)) }],
  [LEGACY_REMOTE_SFENCE_VMA_ASID, { name: 'legacy remote_sfence_vma_asid', handler: legacyHartsCall((m, h) => m.remoteSfence(h)) }],
  [LEGACY_SHUTDOWN, { name: 'legacy shutdown', handler: legacyShutdown }],
]);

/** Extension names by id. */
export const SBI_EXTENSION_NAMES: Record<number, string> = Object.fromEntries([...SBI_EXTENSIONS].map(([id, e]) => [id, e.name]));

function functionName(ext: number, fid: number): string {
  const e = SBI_EXTENSIONS.get(ext);
  if (e === undefined) return `0x${ext.toString(16)}/${fid}`;
  if (ext < 0x10) return e.name;
  return `${e.name} ${e.functions?.[fid] ?? fid}`;
}

/** Serves the SBI call the CPU exited on (ECALL_S). */
export function handleSbi(cpu: Cpu, machine: SbiMachine, stats?: SbiStats): SbiCall {
  const ext = Number(cpu.x(A7) & 0xffff_ffffn);
  const fid = Number(cpu.x(A6) & 0xffff_ffffn);
  const name = functionName(ext, fid);
  stats?.count(name);
  const extension = SBI_EXTENSIONS.get(ext);
  const { error, value = 0n } = extension === undefined
    ? NOT_SUPPORTED
    : extension.handler({ cpu, machine, ext, fid, a: (i) => cpu.x(A0 + i) });
  cpu.setX(A0, error);
  // Legacy calls return a0 alone (ids below 0x10 are the v0.1 range).
  if (ext >= 0x10) cpu.setX(A1, value);
  return { ext, fid, name, error };
}

// The legacy calls' hart mask: a pointer to it, or 0 for all harts. Read
// physically when it lies in RAM (the kernel's own data is identity-offset
// from its physical address only through its page tables, so this is a best
// effort; Linux 6.1 uses the v0.2 extensions whenever they are offered).
function legacyHarts(machine: SbiMachine, ptr: bigint): number[] | undefined {
  if (ptr === 0n) return Array.from({ length: machine.harts }, (_, i) => i);
  const bytes = machine.readPhysical(ptr, 8);
  if (bytes === undefined) return undefined;
  const mask = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return hartMask(machine, mask, 0n);
}
