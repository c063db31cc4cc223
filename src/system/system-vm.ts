// The system VM: a whole machine shaped like QEMU's `virt` board, with a
// guest kernel in S-mode (ring 0) and its programs in U-mode (ring 3). Ring
// -1 is the firmware and the board. This file puts the machine together and
// runs it: it loads the kernel, the initrd and the device tree, runs the
// harts in slices and hands each exit of the CPU to the exit table
// (exits.ts), which routes it to the part that serves it (an SBI call, an
// MMIO access, a wfi). The parts are each in a file of their own: the board's devices
// and its tree (board.ts), the harts taking turns on the CPU
// (hart-scheduler.ts), the guest's time (guest-clock.ts), the SBI
// (sbi.ts, sbi-adapter.ts), the console's input and panic watch
// (console.ts), and the run's limits (hypervisor/limits.ts).
import { Cpu, ExitControl, ExitReason, EXIT_REASON_NAMES, MemoryMode } from '../cpu/cpu.js';
import { handleSystemExit, type ExitMachine } from './exits.js';
import { defaultCpuModule } from '../cpu/module-registry.js';
import { checkMemoryBytes, RunLimits } from '../hypervisor/limits.js';
import { platformRandom } from '../hypervisor/random.js';
import { QEMU_VIRT } from './device-tree.js';
import { bootLayout, BootLayoutError } from './boot-layout.js';
import { loadKernel, KernelImageError } from './linux-image.js';
import { HartEntry, writeEntryState } from './hart-entry.js';
import { handleSbi, ResetType, SbiStats } from './sbi.js';
import { sbiMachine } from './sbi-adapter.js';
import { VirtBoard } from './board.js';
import { SystemConsole } from './console.js';
import { GuestClock } from './guest-clock.js';
import { HartScheduler } from './hart-scheduler.js';
import { openDiskByPath } from './disk-opener.js';
import type { MmioBus } from './devices/bus.js';
import type { Plic } from './devices/plic.js';
import type { Uart16550 } from './devices/uart16550.js';
import type { GoldfishRtc } from './devices/goldfish-rtc.js';
import type { SifiveTest, Finish } from './devices/sifive-test.js';
import type { VirtioMmio } from './devices/virtio-mmio.js';
import type { BlockBackend } from './devices/virtio-blk.js';
import { RateLimitedLog, type LogLimits } from './rate-limited-log.js';

export { INSTRUCTIONS_PER_TICK } from './guest-clock.js';
export { QUANTUM } from './hart-scheduler.js';

export interface SystemVMOptions {
  /** The kernel, as qemu-system-riscv64 -kernel takes it (linux-image.ts):
   *  a RISC-V Linux `Image` (arch/riscv/boot/Image) or its vmlinux, an ELF
   *  (a bare-metal S-mode program, uboot.elf) loaded at its physical
   *  addresses, or a raw binary (u-boot.bin) at RAM + 2 MiB. */
  kernel: Uint8Array;
  kernelName?: string;
  initrd?: Uint8Array;
  /** The kernel command line (/chosen bootargs). */
  append?: string;
  /** Guest RAM in bytes (default 256 MiB). */
  memoryBytes?: number;
  /** Console output (the UART's and the SBI console's bytes). */
  console?: (bytes: Uint8Array) => void;
  /** Ring -1's own messages (errors, panics). */
  diagnostics?: (line: string) => void;
  /** One line per VM exit (--trace-exits). */
  traceExits?: (line: string) => void;
  /** Stop after this many guest instructions (status 124). */
  maxInstructions?: bigint;
  /** Stop after this many seconds of host time (status 124): a guest that
   *  hangs, or loops forever, cannot keep ring -1 busy for ever. */
  timeoutSeconds?: number;
  /** A virtio-blk disk: any block backend (openDiskImage in
   *  src/node/block-file.ts opens a raw image file: writes reach it, a flush
   *  is an fsync), or a raw image file by name, opened by the disk opener
   *  the host edge registered (disk-opener.ts; the package entry for Node
   *  registers openDiskImage). */
  disk?: { path: string; readOnly?: boolean } | BlockBackend;
  /** The entropy virtio-rng hands the guest, and the 32 bytes of /chosen's
   *  rng-seed (default: the web platform's crypto.getRandomValues). */
  random?: (buf: Uint8Array) => void;
  /** Harts (1..8; default 1). Hart 0 boots; the others wait for SBI HSM hart_start. */
  harts?: number;
  /** Where guest time comes from: 'virtual' (default), derived from the
   *  instructions run, repeatable; or 'host', the host's monotonic clock,
   *  for interactive use (an idle guest then really waits: see idleUntil). */
  clock?: 'virtual' | 'host';
  cpuModule?: WebAssembly.Module;
  /** How many device messages of one kind are written (default: the first
   *  10, then at most one a second): see rate-limited-log.ts. */
  logLimits?: Partial<LogLimits>;
}

export const DEFAULT_SYSTEM_MEMORY = 256 * 1024 * 1024;
/** Exit status when the guest stops at a limit, as the process VM's. */
export const SYSTEM_LIMIT_STATUS = 124;

export class SystemVM {
  readonly cpu: Cpu;
  /** Devices' messages about the guest's misuse, rate-limited (every one
   *  counted: deviceLog.counts()); what it suppressed is summed up when
   *  the machine stops. */
  readonly deviceLog: RateLimitedLog;
  readonly board: VirtBoard;
  readonly bus: MmioBus;
  readonly uart: Uart16550;
  readonly plic: Plic;
  readonly rtc: GoldfishRtc;
  /** The test finisher the device tree's syscon poweroff and reboot nodes write. */
  readonly test: SifiveTest;
  readonly rng: VirtioMmio;
  readonly disk: VirtioMmio | undefined;
  readonly dtb: Uint8Array;
  readonly sbiStats = new SbiStats();
  /** Exits per reason by name (--stats; SHUTDOWN too: the finisher's and
   *  SRST's stops); exitCount() reads one by ExitReason. */
  readonly exitStats = new Map<string, number>();
  /** What exits.ts's handlers see of this machine; `ran` is set per exit. */
  private readonly exits: ExitMachine & { ran: bigint };
  /** Set when the guest has asked to power off or reset (SBI SRST), or failed. */
  status: number | undefined;
  private readonly options: SystemVMOptions;
  readonly harts: number;
  readonly clock: GuestClock;
  readonly scheduler: HartScheduler;
  readonly console: SystemConsole;
  private readonly limits: RunLimits;
  /** With the host clock, when every hart waits: the `time` (ticks) of the
   *  earliest timer deadline, or null for none (only a device can wake
   *  them). The caller should sleep until then or until console input; the
   *  next step() looks again. Undefined while some hart can run. */
  idleUntil: bigint | null | undefined;
  /** Instructions executed by all harts. */
  private executed = 0n;
  /** While run() sleeps on an idle machine: ends the sleep. */
  private wakeIdle: (() => void) | undefined;

  static create(options: SystemVMOptions): SystemVM {
    return new SystemVM(options);
  }

  private constructor(options: SystemVMOptions) {
    this.options = options;
    this.deviceLog = new RateLimitedLog((line) => this.diagnose(`ringvisor boot: ${line}`), options.logLimits);
    this.limits = new RunLimits(options.maxInstructions, options.timeoutSeconds);
    this.clock = new GuestClock(options.clock);
    this.harts = options.harts ?? 1;
    if (!Number.isInteger(this.harts) || this.harts < 1 || this.harts > 8) throw new RangeError(`a system VM has 1 to 8 harts, not ${options.harts}`);
    const ramBase = QEMU_VIRT.ramBase;
    const ramSize = checkMemoryBytes(options.memoryBytes ?? DEFAULT_SYSTEM_MEMORY);
    const name = options.kernelName ?? 'kernel';
    const kernel = loadKernel(options.kernel, ramBase, name, ramSize);
    const cpu = this.cpu = new Cpu(options.cpuModule ?? defaultCpuModule());
    cpu.configureRam(ramBase, ramSize);
    cpu.memoryMode = MemoryMode.Flat;
    cpu.exitControls = ExitControl.Supervisor | ExitControl.EcallS;
    const scheduler = this.scheduler = new HartScheduler(cpu, this.clock, this.harts);

    // The kernel at RAM + text_offset (an ELF's segments where they say);
    // the device tree and the initrd where QEMU puts them (boot-layout.ts;
    // Linux keeps both out of its allocator).
    for (const p of kernel.pieces) {
      if (p.addr < ramBase || p.addr + p.memSize > ramBase + ramSize) {
        throw new RangeError(`${name}: the kernel occupies 0x${p.addr.toString(16)}..0x${(p.addr + p.memSize).toString(16)}, outside the VM's RAM (0x${ramBase.toString(16)}..0x${(ramBase + ramSize).toString(16)})`);
      }
      cpu.writeBytes(p.addr, p.bytes);
    }

    const sink = options.console ?? (() => {});
    this.console = new SystemConsole((panic) => {
      this.diagnose(`ringvisor boot: the guest kernel panicked: ${panic}`);
      this.status = 1;
    });
    const d = options.disk;
    const board = this.board = new VirtBoard({
      harts: this.harts, ramBase, ramSize, mem: cpu,
      bootargs: options.append ?? 'console=ttyS0',
      random: options.random ?? platformRandom,
      disk: d === undefined ? undefined
        : 'path' in d ? { backend: openDiskByPath(d.path, d.readOnly ?? false), readOnly: d.readOnly }
        : { backend: d },
      console: (bytes) => { sink(bytes); this.console.output(bytes); },
      uartOnBus: (uart) => this.console.watched(uart),
      setExternalInterrupt: (hart, irq, pending) => scheduler.setPending(hart, irq, pending),
      wallClockNs: () => this.wallClockNs(),
      onFinish: (f) => this.finish(f),
      log: (line) => this.deviceLog.write(line),
    });
    this.console.attach(board.uart);
    ({ bus: this.bus, uart: this.uart, plic: this.plic, rtc: this.rtc, test: this.test, rng: this.rng, disk: this.disk } = board);

    // The tree's size does not depend on where the initrd is, so a first
    // tree sizes the layout.
    const initrdSize = options.initrd?.length;
    const sizing = board.deviceTree(initrdSize === undefined ? undefined : { start: ramBase, end: ramBase + 1n });
    let layout;
    try {
      layout = bootLayout({ ramBase, ramSize, kernelEntry: kernel.entry, kernelEnd: kernel.end, dtbSize: sizing.length, initrdSize });
    } catch (e) {
      if (e instanceof BootLayoutError) throw new KernelImageError(name, e.message);
      throw e;
    }
    if (options.initrd && layout.initrd) cpu.writeBytes(layout.initrd.start, options.initrd);
    this.dtb = board.deviceTree(layout.initrd);
    const dtbAt = layout.dtb;
    cpu.writeBytes(dtbAt, this.dtb);

    // Linux's boot protocol: a0 = hart id, a1 = the device tree, S-mode, no
    // paging; the rest of the hart as the firmware leaves it (hart-entry.ts).
    const boot = cpu.saveHart();
    writeEntryState(cpu, boot, HartEntry.Boot, 0, kernel.entry, dtbAt);
    cpu.loadHart(boot);

    this.exits = {
      cpu, bus: this.bus, ran: 0n,
      sbiCall: () => handleSbi(cpu, this.sbiMachine(), this.sbiStats),
      waitForInterrupt: () => scheduler.waitForInterrupt(),
      trace: (what) => this.trace(what),
    };
  }

  /** Exits of one reason so far (kvm_stat's per-reason counts). */
  exitCount(reason: ExitReason): number {
    return this.exitStats.get(EXIT_REASON_NAMES[reason] ?? String(reason)) ?? 0;
  }

  /** The kernel's panic message, once it has panicked. */
  get panic(): string | undefined {
    return this.console.panic;
  }

  /** A write to the test finisher (syscon poweroff or reboot, or a program
   *  of its own): the machine stops as after SBI SRST, a failure with the
   *  code the guest gave (QEMU exits with it), a reset as a reboot does. */
  private finish(f: Finish): void {
    this.exitStats.set('SHUTDOWN', (this.exitStats.get('SHUTDOWN') ?? 0) + 1);
    this.trace(`reason SHUTDOWN test finisher ${f.kind}${f.kind === 'fail' ? ` code ${f.code}` : ''}`);
    if (f.kind === 'fail') {
      this.status = f.code === 0 ? 1 : f.code;
      this.diagnose(`ringvisor boot: the guest reported a failure through the test finisher (code ${f.code})`);
    } else {
      this.status = 0;
    }
  }

  /** SBI SRST or the legacy shutdown: the machine's own exit (KVM's
   *  SYSTEM_EVENT), counted and traced as SHUTDOWN. */
  private reset(type: ResetType, reason: number): void {
    this.exitStats.set('SHUTDOWN', (this.exitStats.get('SHUTDOWN') ?? 0) + 1);
    this.trace(`reason SHUTDOWN ${['shutdown', 'cold reboot', 'warm reboot'][type] ?? type} (SRST reason ${reason})`);
    if (type === ResetType.Shutdown) this.status = reason === 0 ? 0 : 1;
    else this.status = 0;
    if (reason !== 0) this.diagnose(`ringvisor boot: the guest reset the machine reporting a system failure (SRST reason ${reason})`);
  }

  /** Bytes typed at the console. An idle machine waiting in run() wakes at
   *  once: the UART's interrupt may end a hart's wfi. */
  input(bytes: Uint8Array | string): void {
    this.console.input(bytes);
    this.console.feed(this.time);
    this.wakeIdle?.();
  }

  private diagnose(line: string): void {
    (this.options.diagnostics ?? ((l: string) => console.error(l)))(line);
  }

  /** One --trace-exits line, shaped like KVM's kvm_exit trace event. */
  private trace(what: string): void {
    this.options.traceExits?.(`kvm_exit: vcpu ${this.scheduler.running} ${what}`);
  }

  /** The wall clock the RTC shows (guest-clock.ts). */
  wallClockNs(): bigint {
    return this.clock.wallClockNs(this.scheduler.used);
  }

  /** The `time` CSR now, for the running hart. */
  get time(): bigint {
    return this.scheduler.time;
  }

  /** Runs one slice; returns the exit status once the machine has stopped. */
  step(): number | undefined {
    // Idle is what this step finds, not what an earlier one did: a hart
    // woken by an interrupt runs on at full speed, not a slice per nap.
    this.idleUntil = undefined;
    if (this.status !== undefined) return this.stopped();
    const cpu = this.cpu;
    const scheduler = this.scheduler;
    switch (this.limits.reached(this.executed)) {
      case 'instructions':
        this.diagnose(`ringvisor boot: instruction limit reached (${this.limits.maxInstructions} instructions) at pc 0x${cpu.pc.toString(16)}`);
        return (this.status = SYSTEM_LIMIT_STATUS);
      case 'timeout':
        this.diagnose(`ringvisor boot: timed out after ${this.limits.timeoutSeconds} s at pc 0x${cpu.pc.toString(16)} (hart ${scheduler.running})`);
        return (this.status = SYSTEM_LIMIT_STATUS);
    }
    this.console.feed(this.time);
    if (scheduler.turnOver()) {
      const next = scheduler.next();
      if (next.kind === 'idle') { this.idleUntil = next.until; return this.status; }
      if (next.kind === 'stuck') {
        this.diagnose(`ringvisor boot: ${next.why}`);
        return (this.status = 1);
      }
    }
    let budget = this.limits.clamp(scheduler.beginSlice(), this.executed);
    if (budget <= 0n) budget = 1n;
    const reason = cpu.run(budget);
    const ran = budget - cpu.budgetLeft;
    scheduler.ran(ran);
    this.executed += ran;
    this.exits.ran = ran;
    const action = handleSystemExit(reason, this.exits, this.exitStats);
    if (action.kind === 'stop') {
      this.diagnose(action.diagnostic);
      return (this.status = action.status);
    }
    return this.status;
  }

  private sbiMachine() {
    return sbiMachine({
      cpu: this.cpu, scheduler: this.scheduler, console: this.console,
      consoleWrite: (b) => (this.options.console ?? (() => {}))(b),
      reset: (type, reason) => this.reset(type, reason),
    });
  }

  // The machine has stopped: what the device log held back is summed up.
  private stopped(): number | undefined {
    this.deviceLog.flush();
    return this.status;
  }

  /** Stops the machine from outside (a user quitting): the next step()
   *  returns `status`. */
  halt(status: number): void {
    this.status ??= status;
    this.wakeIdle?.();
  }

  /** Runs the machine until it stops; resolves to its exit status. Yields to
   *  the event loop every 10 ms (console input arrives in between) and
   *  sleeps while it is idle on the host clock: until the earliest timer
   *  deadline (at most idleMilliseconds), or until input() or halt() wake it,
   *  whichever comes first, so a guest waiting for a keystroke answers it
   *  as soon as it arrives. */
  async run(): Promise<number> {
    let lastYield = Date.now();
    for (;;) {
      const status = this.step();
      if (status !== undefined) return this.stopped() ?? status;
      if (this.idleUntil !== undefined) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => { this.wakeIdle = undefined; resolve(); }, this.idleMilliseconds());
          this.wakeIdle = () => { this.wakeIdle = undefined; clearTimeout(timer); resolve(); };
        });
        lastYield = Date.now();
      } else if (Date.now() - lastYield > 10) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = Date.now();
      }
    }
  }

  runSync(): number {
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const status = this.step();
      if (status !== undefined) return this.stopped() ?? status;
      if (this.idleUntil !== undefined) Atomics.wait(nap, 0, 0, this.idleMilliseconds());
    }
  }

  /** How long an idle machine may sleep before it must look again (ms, at most 20). */
  idleMilliseconds(): number {
    if (this.idleUntil === undefined) return 0;
    if (this.idleUntil === null) return 20;
    const ms = GuestClock.msBetween(this.time, this.idleUntil);
    return Math.max(0, Math.min(20, ms));
  }
}
