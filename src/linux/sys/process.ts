// Process system calls: exit, identity, limits, scheduling.
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';

function sysExit(p: ProcessVM, [status]: bigint[]): bigint {
  p.exit(Number(status & 0xffn));
  return 0n;
}

export const PROCESS_SYSCALLS: SyscallFamily = [
  [93, { name: 'exit', argc: 1, handler: sysExit }],
  [94, { name: 'exit_group', argc: 1, handler: sysExit }],
];
