// File and file-descriptor system calls.
import { EBADF, EFAULT } from '../errno.js';
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';

function sysWrite(p: ProcessVM, [fd, buf, count]: bigint[]): bigint {
  const sink = p.files.sink(Number(fd));
  if (!sink) return -BigInt(EBADF);
  if (count === 0n) return 0n;
  if (!p.cpu.inRam(buf, Number(count))) return -BigInt(EFAULT);
  sink(p.cpu.guestBytes(buf, Number(count)));
  return count;
}

export const FILE_SYSCALLS: SyscallFamily = [
  [64, { name: 'write', argc: 3, handler: sysWrite }],
];
