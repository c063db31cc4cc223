// Clocks, sleeping and randomness. Time comes from the hypervisor's chosen
// clock (p.clock), never from the host directly.
import type { SyscallFamily } from '../syscalls.js';

export const TIME_SYSCALLS: SyscallFamily = [];
