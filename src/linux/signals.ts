// Synchronous faults as Linux would signal them, and how a guest that does not
// handle the signal ends (the status a shell sees: 128 + signal number).
import { Cause } from '../cpu/cpu.js';
import type { ProcessVM } from './process-vm.js';

export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGBUS = 7;
export const SIGSEGV = 11;

/** Names as glibc's strsignal() gives them, which is what QEMU prints. */
export const SIGNAL_NAMES: Record<number, string> = {
  [SIGILL]: 'Illegal instruction',
  [SIGTRAP]: 'Trace/breakpoint trap',
  [SIGBUS]: 'Bus error',
  [SIGSEGV]: 'Segmentation fault',
};

/** The signal Linux riscv64 sends for a synchronous exception (arch/riscv/kernel/traps.c). */
export function signalForCause(cause: number): number {
  switch (cause) {
    case Cause.IllegalInstruction: return SIGILL;
    case Cause.Breakpoint: return SIGTRAP;
    case Cause.MisalignedFetch:
    case Cause.MisalignedLoad:
    case Cause.MisalignedStore: return SIGBUS;
    default: return SIGSEGV;
  }
}

export const CAUSE_NAMES: Record<number, string> = {
  [Cause.MisalignedFetch]: 'misaligned instruction fetch',
  [Cause.FetchAccess]: 'instruction fetch from outside guest memory',
  [Cause.IllegalInstruction]: 'illegal instruction',
  [Cause.Breakpoint]: 'breakpoint',
  [Cause.MisalignedLoad]: 'misaligned atomic load',
  [Cause.LoadAccess]: 'load from outside guest memory',
  [Cause.MisalignedStore]: 'misaligned atomic memory operation',
  [Cause.StoreAccess]: 'store to outside guest memory',
  [Cause.EcallU]: 'environment call',
  [Cause.FetchPageFault]: 'instruction fetch from a page not mapped executable',
  [Cause.LoadPageFault]: 'load from a page not mapped readable',
  [Cause.StorePageFault]: 'store to a page not mapped writable',
};

/** si_code of a synchronous fault (include/uapi/asm-generic/siginfo.h). */
export const SEGV_MAPERR = 1, SEGV_ACCERR = 2, BUS_ADRALN = 1, BUS_ADRERR = 2, ILL_ILLOPC = 1, TRAP_BRKPT = 1;

function isPageFault(cause: number): boolean {
  return cause === Cause.FetchPageFault || cause === Cause.LoadPageFault || cause === Cause.StorePageFault;
}

/** Whether a fault is an access to a page of a file mapping that lies past
 *  the end of the file: Linux sends SIGBUS (BUS_ADRERR) for it, not SIGSEGV. */
export function isPastEndOfFile(p: ProcessVM, cause: number, addr: bigint): boolean {
  return isPageFault(cause) && p.memory.space.isPastEof(addr);
}

export const PAST_EOF_WHAT = 'access to a file mapping past the end of the file';

/** The si_code Linux gives a fault: for SIGSEGV, whether the address was
 *  mapped at all (SEGV_MAPERR) or mapped without the right (SEGV_ACCERR);
 *  for SIGBUS, a misaligned atomic (BUS_ADRALN) or a page past the end of
 *  a mapped file (BUS_ADRERR). */
export function faultCode(p: ProcessVM, sig: number, cause: number, addr: bigint): number {
  switch (sig) {
    case SIGSEGV:
      return isPageFault(cause) && p.memory.space.permissions(addr) !== undefined ? SEGV_ACCERR : SEGV_MAPERR;
    case SIGBUS: return isPastEndOfFile(p, cause, addr) ? BUS_ADRERR : BUS_ADRALN;
    case SIGILL: return ILL_ILLOPC;
    default: return TRAP_BRKPT;
  }
}
