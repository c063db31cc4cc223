// The Linux system calls of the process VM: one short function per call, in a
// table by riscv64 number (include/uapi/asm-generic/unistd.h), gathered from
// one module per family in sys/. A guest's `ecall` exits to ring -1 with the
// number in a7 and arguments in a0..a5; the result (or -errno) goes back into a0.
import { EFAULT, ENOMEM, ENOSYS } from './errno.js';
import { UserFault } from './user-memory.js';
import { OutOfChunks } from './address-space.js';
import type { ProcessVM } from './process-vm.js';
import { FILE_SYSCALLS } from './sys/files.js';
import { MEMORY_SYSCALLS } from './sys/memory.js';
import { PROCESS_SYSCALLS } from './sys/process.js';
import { TIME_SYSCALLS } from './sys/time.js';
import { SIGNAL_SYSCALLS } from './sys/signals.js';
import { THREAD_SYSCALLS } from './sys/threads.js';
import { EVENT_SYSCALLS } from './sys/events.js';
import { WAIT_SYSCALLS } from './sys/wait.js';
import { EXEC_SYSCALLS } from './sys/exec.js';
import { ID_SYSCALLS } from './sys/ids.js';
import { ITIMER_SYSCALLS } from './sys/itimer.js';

export type SyscallHandler = (p: ProcessVM, args: bigint[]) => bigint;

export interface SyscallEntry {
  name: string;
  /** How many arguments --strace shows. */
  argc: number;
  handler: SyscallHandler;
}

export type SyscallFamily = ReadonlyArray<readonly [number, SyscallEntry]>;

/** A guest pointer the guest could not access that way (UserFault) ends the
 *  call with -EFAULT, as copy_from_user / copy_to_user failing does in Linux.
 *  Calls with other semantics (a short count, a signal) catch it themselves. */
function faultIsEfault(handler: SyscallHandler): SyscallHandler {
  return (p, args) => {
    try {
      return handler(p, args);
    } catch (e) {
      if (e instanceof UserFault) return -BigInt(EFAULT);
      // Every chunk of RAM backs a slot of the address space already.
      if (e instanceof OutOfChunks) return -BigInt(ENOMEM);
      throw e;
    } finally {
      p.user.flush();
    }
  };
}

function gather(...families: SyscallFamily[]): ReadonlyMap<number, SyscallEntry> {
  const table = new Map<number, SyscallEntry>();
  for (const family of families) {
    for (const [nr, entry] of family) {
      if (table.has(nr)) throw new Error(`system call ${nr} (${entry.name}) defined twice`);
      table.set(nr, { ...entry, handler: faultIsEfault(entry.handler) });
    }
  }
  return table;
}

export const SYSCALLS = gather(FILE_SYSCALLS, MEMORY_SYSCALLS, PROCESS_SYSCALLS, TIME_SYSCALLS, SIGNAL_SYSCALLS, THREAD_SYSCALLS,
  EVENT_SYSCALLS, WAIT_SYSCALLS, EXEC_SYSCALLS, ID_SYSCALLS, ITIMER_SYSCALLS);

export function unknownSyscall(): bigint {
  return -BigInt(ENOSYS);
}
