// The Linux system calls of the process VM: one short function per call, in a
// table by riscv64 number (include/uapi/asm-generic/unistd.h). A guest's
// `ecall` exits to ring -1 with the number in a7 and arguments in a0..a5; the
// result (or -errno) goes back into a0.
import { EBADF, EFAULT, ENOSYS } from './errno.js';
import type { Process } from './process-vm.js';

export type SyscallHandler = (p: Process, args: bigint[]) => bigint;

export interface SyscallEntry {
  name: string;
  /** How many arguments --strace shows. */
  argc: number;
  handler: SyscallHandler;
}

function sysWrite(p: Process, [fd, buf, count]: bigint[]): bigint {
  const sink = p.fd(Number(fd));
  if (!sink) return -BigInt(EBADF);
  if (count === 0n) return 0n;
  if (!p.cpu.inRam(buf, Number(count))) return -BigInt(EFAULT);
  sink(p.cpu.guestBytes(buf, Number(count)));
  return count;
}

// brk(addr): moves the program break within [start, limit] and returns the new
// break, or the unchanged one when the request is refused (Linux semantics;
// libc detects failure by comparing). RAM above the break is kept zeroed, so
// memory handed out again reads as fresh anonymous pages do.
function sysBrk(p: Process, [addr]: bigint[]): bigint {
  const m = p.memory;
  if (addr < m.brkStart || addr > m.brkLimit) return m.brk;
  if (addr < m.brk) p.cpu.fill(addr, Number(m.brk - addr), 0);
  m.brk = addr;
  return addr;
}

function sysExit(p: Process, [status]: bigint[]): bigint {
  p.exit(Number(status & 0xffn));
  return 0n;
}

export const SYSCALLS: ReadonlyMap<number, SyscallEntry> = new Map([
  [64, { name: 'write', argc: 3, handler: sysWrite }],
  [93, { name: 'exit', argc: 1, handler: sysExit }],
  [94, { name: 'exit_group', argc: 1, handler: sysExit }],
  [214, { name: 'brk', argc: 1, handler: sysBrk }],
]);

export function unknownSyscall(): bigint {
  return -BigInt(ENOSYS);
}
