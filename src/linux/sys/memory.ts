// Memory system calls: the program break (and, later, mmap and friends).
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';

// brk(addr): moves the program break within [start, limit] and returns the new
// break, or the unchanged one when the request is refused (Linux semantics;
// libc detects failure by comparing). RAM above the break is kept zeroed, so
// memory handed out again reads as fresh anonymous pages do.
function sysBrk(p: ProcessVM, [addr]: bigint[]): bigint {
  const m = p.memory;
  if (addr < m.brkStart || addr > m.brkLimit) return m.brk;
  if (addr < m.brk) p.cpu.fill(addr, Number(m.brk - addr), 0);
  m.brk = addr;
  return addr;
}

export const MEMORY_SYSCALLS: SyscallFamily = [
  [214, { name: 'brk', argc: 1, handler: sysBrk }],
];
