// What the SBI (sbi.ts) asks of the machine, answered by the system VM's
// parts: harts, timers, IPIs and fences by the hart scheduler, the console
// by the console, memory by the CPU, and a reset by the VM itself (which
// stops). sbi.ts stays a table of pure handlers that a test can drive with
// a fake machine (test/system-sbi.test.ts).
import { Irq, type Cpu } from '../cpu/cpu.js';
import type { HartScheduler } from './hart-scheduler.js';
import type { SystemConsole } from './console.js';
import type { ResetType, SbiMachine } from './sbi.js';

export interface SbiAdapterParts {
  cpu: Cpu;
  scheduler: HartScheduler;
  console: SystemConsole;
  /** The SBI console's output (the same sink as the UART's). */
  consoleWrite: (bytes: Uint8Array) => void;
  /** SRST or the legacy shutdown. */
  reset: (type: ResetType, reason: number) => void;
}

/** The machine as the SBI sees it during one call, made by the running hart. */
export function sbiMachine({ cpu, scheduler, console, consoleWrite, reset }: SbiAdapterParts): SbiMachine {
  return {
    harts: scheduler.harts,
    current: scheduler.running,
    consoleWrite,
    consoleRead: () => console.read(),
    setSoftwareInterrupt: (h, p) => scheduler.setPending(h, Irq.SupervisorSoftware, p),
    setTimer: (h, when) => scheduler.setTimer(h, when),
    remoteSfence: (h) => scheduler.remoteSfence(h),
    hartState: (h) => scheduler.states[h],
    startHart: (h, addr, opaque) => scheduler.startHart(h, addr, opaque),
    stopHart: () => scheduler.stopHart(),
    suspendHart: (resume) => scheduler.suspendHart(resume),
    reset,
    readPhysical: (addr, length) => (cpu.inRam(addr, length) ? cpu.guestBytes(addr, length) : undefined),
  };
}
