// The system VM: a whole machine shaped like QEMU's `virt` board, with a
// guest kernel in S-mode (ring 0) and its programs in U-mode (ring 3). Ring
// -1 is the firmware and the board. This file puts the machine together and
// runs it: it loads the kernel, the initrd and the device tree, runs the
// harts in slices and hands each exit of the CPU to the exit table
// (hypervisor/exits.ts), which routes it to the part that serves it (an SBI call, an
// MMIO access, a wfi). The parts are each in a file of their own: the board's devices
// and its tree (board.ts), the harts taking turns on the CPU
// (hart-scheduler.ts), the guest's time (guest-clock.ts), the SBI
// (sbi.ts, sbi-adapter.ts), the console's input and panic watch
// (console.ts), and the run's limits (hypervisor/limits.ts).
import { Cpu, ExitControl, ExitReason, EXIT_REASON_NAMES, MemoryMode } from '../cpu/cpu.js';
import type { TranslationService } from '../cpu/jit/jit.js';
import { handleExit, type Partition } from '../hypervisor/exits.js';
import { defaultCpuModule } from '../cpu/module-registry.js';
import { checkMemoryBytes, RunLimits } from '../hypervisor/limits.js';
import { platformRandom } from '../hypervisor/random.js';
import { RunLoop, type Sliced } from '../hypervisor/run-loop.js';
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
import { NoBalloonError, type BalloonControl, type BalloonInfo } from './devices/virtio-balloon.js';
import { RateLimitedLog, type LogLimits } from './rate-limited-log.js';
import { CheckpointError } from '../hypervisor/checkpoint-error.js';
import { writeCheckpoint, type Section } from '../hypervisor/checkpoint-file.js';
import { readRam, saveRam, writeRam } from '../hypervisor/ram-record.js';
import { SnapshotLineage, checkChain } from '../hypervisor/snapshot-chain.js';
import {
  readSystemCheckpoint, saveSystemRecord, systemMachineId,
  type SavedDisk, type SystemRecord,
} from './system-checkpoint.js';

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
  /** A virtio-balloon in virtio-mmio slot 2 (default false), for dynamic
   *  memory: setBalloonTarget, balloon(), compact(). */
  balloon?: boolean;
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
  /** Translation into WebAssembly (src/cpu/jit/, "Translated system VMs"
   *  in docs/ARCHITECTURE.md): visits that make a jump target hot, 0 (the
   *  default) for none, as ProcessVMOptions.jitThreshold; instructions
   *  before counting starts (default 0); where translations are compiled
   *  (default: in this thread, as the guest waits). */
  jitThreshold?: number;
  jitWarmup?: bigint;
  translationService?: TranslationService;
  /** How many device messages of one kind are written (default: the first
   *  10, then at most one a second): see rate-limited-log.ts. */
  logLimits?: Partial<LogLimits>;
  /** Whether the UART's transmit holding register is coalesced MMIO
   *  (default true; Cpu.coalescedMmio): the guest's console output then
   *  exits to ring -1 once for the bytes written between two other exits,
   *  not once a byte. False: every byte is an exit of its own (as
   *  `--trace-exits` then shows). The console is the same either way. */
  coalescedMmio?: boolean;
}

/** What a restored machine takes from its embedder; the rest (RAM, harts,
 *  clock, command line, device tree) is the checkpoint's. */
export interface SystemVMRestoreOptions extends Omit<SystemVMOptions, 'kernel' | 'kernelName' | 'initrd' | 'append' | 'memoryBytes' | 'harts' | 'clock' | 'disk' | 'balloon'> {
  /** For a Diff snapshot: the Full snapshot it builds on and every Diff
   *  between them, oldest first (snapshot-chain.ts). */
  base?: readonly Uint8Array[];
  /** The disk, when the saved machine had one: by default the image the
   *  checkpoint names is opened again; a path or a backend given here is
   *  used instead (a backend is required when the saved machine's was one).
   *  Its size must be the saved disk's. */
  disk?: { path: string; readOnly?: boolean } | BlockBackend;
}

/** Where a machine is in its life, in Firecracker's words: running (or
 *  ready to), paused by its host, or stopped for good. */
export type SystemVMState = 'Running' | 'Paused' | 'Stopped';

export const DEFAULT_SYSTEM_MEMORY = 256 * 1024 * 1024;
/** The coalesced MMIO register (SystemVMOptions.coalescedMmio): the UART's
 *  transmit holding register (its divisor latch's low byte while LCR.DLAB
 *  is set, whose writes the guest can read back only through the same
 *  register, an exit). */
const COALESCED_REGISTER = QEMU_VIRT.uart.base;
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
  private readonly exits: Partition & { ran: bigint };
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
  /** Drives run() and runSync(); woken by input, resume() and halt(). */
  readonly loop = new RunLoop();
  /** Bytes the guest wrote to its console and bytes typed at it. */
  private consoleBytesOut = 0;
  private consoleBytesIn = 0;
  /** Paused by its host (pause()): run() waits, step() runs nothing. */
  private pausedByHost = false;
  /** Snapshots written so far, for Diffs (snapshot-chain.ts). */
  private readonly lineage: SnapshotLineage;
  /** The configuration a checkpoint records (system-checkpoint.ts). */
  private readonly saved: { memoryBytes: number; append: string; kernelName: string; disk: SavedDisk };

  static create(options: SystemVMOptions): SystemVM {
    return new SystemVM(options);
  }

  /**
   * A machine from a checkpoint `checkpoint()` wrote (in this process or
   * another, by this release or an earlier one), ready to run on from where
   * it was saved. Everything is checked first: a truncated, corrupted,
   * wrong-version or wrong-machine file, or one whose disk does not fit,
   * throws a CheckpointError (or the disk opener's error) and nothing runs.
   */
  static restore(checkpoint: Uint8Array, options: SystemVMRestoreOptions = {}): SystemVM {
    const probe = new Cpu(options.cpuModule ?? defaultCpuModule());
    const machine = systemMachineId(probe.saveHart().length, probe.layout.EXIT_CONTROLS - probe.layout.EXIT_REASON);
    const chain = [...(options.base ?? []), checkpoint].map((bytes) => ({ bytes, ...readSystemCheckpoint(bytes, machine) }));
    checkChain(chain);
    const { parts, system } = chain[chain.length - 1];
    // RAM: the Full file's, each Diff's pages laid over it in order.
    const ram = chain.flatMap((f) => [...f.parts].filter(([name]) => name.startsWith('ram.')));
    const d = options.disk ?? (system.disk.kind === 'path' ? { path: system.disk.path, readOnly: system.disk.readOnly } : undefined);
    if (system.disk.kind === 'backend' && options.disk === undefined) {
      throw new CheckpointError('bad-argument', 'the saved machine\'s disk was a backend its embedder passed: pass one again (SystemVMRestoreOptions.disk)');
    }
    const vm = new SystemVM({
      ...options, kernel: new Uint8Array(0), kernelName: system.kernelName, append: system.append,
      memoryBytes: system.memoryBytes, harts: system.harts, clock: system.hostClock ? 'host' : 'virtual',
      disk: system.disk.kind === 'none' ? undefined : d, balloon: parts.has('balloon'),
    }, { system, parts, ram, cpu: probe });
    vm.lineage.continueFrom(checkpoint);
    return vm;
  }

  private constructor(options: SystemVMOptions, from?: { system: SystemRecord; parts: Map<string, Uint8Array>; ram: [string, Uint8Array][]; cpu: Cpu }) {
    this.options = options;
    this.deviceLog = new RateLimitedLog((line) => this.diagnose(`ringvisor boot: ${line}`), options.logLimits);
    this.limits = new RunLimits(options.maxInstructions, options.timeoutSeconds);
    this.harts = options.harts ?? 1;
    if (!Number.isInteger(this.harts) || this.harts < 1 || this.harts > 8) throw new RangeError(`a system VM has 1 to 8 harts, not ${options.harts}`);
    const ramBase = QEMU_VIRT.ramBase;
    const ramSize = checkMemoryBytes(options.memoryBytes ?? DEFAULT_SYSTEM_MEMORY);
    const name = options.kernelName ?? 'kernel';
    const kernel = from ? undefined : loadKernel(options.kernel, ramBase, name, ramSize);
    const cpu = this.cpu = from?.cpu ?? new Cpu(options.cpuModule ?? defaultCpuModule());
    cpu.configureRam(ramBase, ramSize);
    cpu.memoryMode = MemoryMode.Flat;
    cpu.exitControls = ExitControl.Supervisor | ExitControl.EcallS;
    cpu.translationService = options.translationService;
    cpu.jitThreshold = options.jitThreshold ?? 0;
    cpu.jitWarmup = options.jitWarmup ?? 0n;
    const scheduler = this.scheduler = new HartScheduler(cpu, options.clock ?? 'virtual', this.harts);
    this.clock = scheduler.clock;
    this.lineage = new SnapshotLineage(cpu);

    // The kernel at RAM + text_offset (an ELF's segments where they say);
    // the device tree and the initrd where QEMU puts them (boot-layout.ts;
    // Linux keeps both out of its allocator).
    for (const p of kernel?.pieces ?? []) {
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
      balloon: options.balloon,
      console: (bytes) => { this.consoleBytesOut += bytes.length; sink(bytes); this.console.output(bytes); },
      uartOnBus: (uart) => this.console.watched(uart),
      setExternalInterrupt: (hart, irq, pending) => scheduler.setPending(hart, irq, pending),
      wallClockNs: () => this.wallClockNs(),
      onFinish: (f) => this.finish(f),
      log: (line) => this.deviceLog.write(line),
    });
    this.console.attach(board.uart);
    ({ bus: this.bus, uart: this.uart, plic: this.plic, rtc: this.rtc, test: this.test, rng: this.rng, disk: this.disk } = board);
    const backend = board.diskBackend;
    this.saved = {
      memoryBytes: Number(ramSize), append: options.append ?? 'console=ttyS0', kernelName: name,
      disk: d === undefined || backend === undefined ? { kind: 'none' }
        : 'path' in d ? { kind: 'path', path: d.path, readOnly: d.readOnly ?? false, bytes: backend.byteLength }
        : { kind: 'backend', readOnly: d.readOnly, bytes: d.byteLength },
    };
    this.exits = {
      name: 'ringvisor boot', cpu, bus: this.bus, ran: 0n,
      sbiCall: () => handleSbi(cpu, this.sbiMachine(), this.sbiStats),
      waitForInterrupt: () => scheduler.waitForInterrupt(),
      trace: options.traceExits && ((what) => this.trace(what)),
    };
    cpu.coalescedMmio = options.coalescedMmio === false ? undefined : COALESCED_REGISTER;
    if (kernel === undefined) { // (made by restore())
      this.dtb = from!.system.dtb;
      this.restoreParts(from!.system, from!.parts, from!.ram);
      return;
    }

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
  }

  // ---- checkpoints ----

  /** The parts of this machine with a record, by section name. */
  private parts(): [string, { save(): Uint8Array; restore(record: Uint8Array): void }][] {
    const parts: [string, { save(): Uint8Array; restore(record: Uint8Array): void }][] = [
      ['cpu', { save: () => this.cpu.saveState(), restore: (r) => this.cpu.restoreState(r) }],
      ['scheduler', this.scheduler], ['clock', this.clock], ['console', this.console],
      ['plic', this.plic], ['uart', this.uart], ['rtc', this.rtc], ['test', this.test], ['rng', this.rng],
    ];
    if (this.disk) parts.push(['disk', this.disk]);
    if (this.board.balloon) parts.push(['balloon', this.board.balloon]);
    return parts;
  }

  /**
   * The whole machine as a checkpoint file (docs/CHECKPOINTS.md): its
   * configuration, every hart, the RAM that holds anything (compressed),
   * every device with its queues, the clock and the console. Taken between
   * two slices, so nothing is half-done: an MMIO access the next slice
   * completes is in the CPU's record. The disk's bytes are not: they are
   * the backend's (a checkpoint tree freezes them in a layer). With the
   * virtual clock, a machine restored from it runs on exactly as this one
   * does from here.
   */
  checkpoint(): Uint8Array {
    return this.write(saveRam(this.cpu));
  }

  /**
   * A snapshot for a file (the control API's PUT /snapshot/create): a Full
   * one is checkpoint() and starts the dirty-page log; a Diff holds RAM
   * written since the last snapshot only (or since the restore), and is
   * restored with the files it builds on (`SystemVMRestoreOptions.base`).
   * A Diff with no snapshot before it throws CheckpointError.
   */
  snapshot(type: 'Full' | 'Diff' = 'Full'): Uint8Array {
    return this.lineage.snapshot(type, (ram) => this.write(ram));
  }

  /** The last snapshot never reached its file: the next one must be Full. */
  forgetSnapshot(): void {
    this.lineage.forget();
  }

  // The file: every part's record, and `ram` (with a Diff's own section).
  private write(ram: Section[]): Uint8Array {
    const cpu = this.cpu;
    const sections: Section[] = [{ name: 'system', version: 1, payload: saveSystemRecord(this.systemRecord()) }];
    for (const [name, part] of this.parts()) sections.push({ name, version: 1, payload: part.save(), compress: name === 'cpu' });
    sections.push(...ram);
    return writeCheckpoint(systemMachineId(cpu.saveHart().length, cpu.layout.EXIT_CONTROLS - cpu.layout.EXIT_REASON), sections);
  }

  private systemRecord(): SystemRecord {
    return {
      ...this.saved, harts: this.harts, hostClock: this.options.clock === 'host', dtb: this.dtb,
      executed: this.executed, status: this.status, exitStats: this.exitStats, sbiCalls: this.sbiStats.calls,
    };
  }

  // Takes every part's record, RAM first (the CPU's record then says which
  // pages hold data). Called on a machine made for it, so a record refused
  // half-way leaves only a machine nobody will run.
  private restoreParts(system: SystemRecord, parts: Map<string, Uint8Array>, ramParts: [string, Uint8Array][]): void {
    const saved = this.saved.disk;
    if (system.disk.kind !== 'none' && saved.kind !== 'none' && saved.bytes !== system.disk.bytes) {
      throw new CheckpointError('bad-argument', `the disk is ${saved.bytes} bytes; the saved machine's was ${system.disk.bytes}`);
    }
    const ram: Section[] = ramParts.map(([name, payload]) => ({ name, version: 1, payload }));
    writeRam(this.cpu, readRam(ram, this.cpu.ramLength));
    for (const [name, part] of this.parts()) part.restore(parts.get(name)!);
    this.executed = system.executed;
    this.status = system.status;
    for (const [k, v] of system.exitStats) this.exitStats.set(k, v);
    for (const [k, v] of system.sbiCalls) this.sbiStats.calls.set(k, v);
  }

  /** What the machine has used and done so far, for a host's metering:
   *  instructions, exits by reason, SBI calls, device accesses, console
   *  bytes, guest time, and the state. */
  metrics(): Record<string, unknown> {
    return {
      state: this.state,
      instructions: this.executed,
      guestTimeTicks: this.time,
      exits: Object.fromEntries(this.exitStats),
      sbiCalls: Object.fromEntries(this.sbiStats.calls),
      devices: Object.fromEntries(this.bus.stats().map((d) => [d.name, { reads: d.reads, writes: d.writes }])),
      console: { bytesOut: this.consoleBytesOut, bytesIn: this.consoleBytesIn },
      memoryBytes: this.saved.memoryBytes,
      harts: this.harts,
      ...(this.board.balloon ? { balloon: this.balloon() } : {}),
    };
  }

  /** What it was made with, as plain values (GET /vm's config). */
  configuration(): Record<string, unknown> {
    const d = this.saved.disk;
    return {
      kernel: this.saved.kernelName, append: this.saved.append, memoryBytes: this.saved.memoryBytes, harts: this.harts,
      clock: this.options.clock ?? 'virtual', balloon: this.board.balloon !== undefined,
      disk: d.kind === 'none' ? null : { path: d.kind === 'path' ? d.path : null, readOnly: d.readOnly, bytes: d.bytes },
    };
  }

  // ---- dynamic memory (the balloon: devices/virtio-balloon.ts) ----

  /** Asks the guest to give back RAM until `bytes` are left to it:
   *  num_pages = (RAM - bytes) / 4096 (rounded down), and a configuration-
   *  change interrupt. The driver follows as the guest runs (balloon()'s
   *  actualBytes); a page it gives is zeroed here, and compact() gives its
   *  host memory back. Throws BalloonTargetError for an amount that is not
   *  0..RAM bytes, NoBalloonError without a balloon. */
  setBalloonTarget(bytes: number): void {
    this.balloonControl('setBalloonTarget').setTargetBytes(bytes);
    this.loop.wake(); // an idle guest takes the interrupt now
  }

  /** The balloon's target, the guest's answer, the pages given and the
   *  driver's last statistics; undefined without a balloon. */
  balloon(): BalloonInfo | undefined {
    return this.board.balloonControl?.info();
  }

  /** Asks the guest's driver for fresh statistics (balloon().stats once it
   *  has answered, as the guest runs); false when it has no statistics
   *  buffer with the device yet or a request is under way. Throws
   *  NoBalloonError without a balloon. */
  requestBalloonStats(): boolean {
    const asked = this.balloonControl('requestBalloonStats').requestStats();
    if (asked) this.loop.wake();
    return asked;
  }

  private balloonControl(operation: string): BalloonControl {
    const c = this.board.balloonControl;
    if (c === undefined) throw new NoBalloonError(operation);
    return c;
  }

  /**
   * This machine rebuilt from its own checkpoint into a fresh CPU instance,
   * so that its host memory is what its RAM holds: a WebAssembly memory
   * never shrinks, and pages once written stay committed however many the
   * guest gave back, while a new instance commits only the pages the
   * checkpoint keeps (those that are not all zeros). The new machine is
   * this one (paused if this one is), with the same console, limits, console
   * byte counts and disk (a disk opened by path is reopened, this one's
   * handle closed);
   * its next snapshot is Full. As with a checkpoint applied
   * (VmControl.applyCheckpoint), the caller puts it in this one's place,
   * halts this one and drops it: this one must not run again, and its
   * memory goes when nothing refers to it (the garbage collector's time).
   * Throws what restore() would (e.g. the disk cannot be reopened), this
   * machine then unchanged.
   */
  compact(): SystemVM {
    const { kernel: _kernel, kernelName: _name, initrd: _initrd, append: _append, memoryBytes: _memory, harts: _harts, clock: _clock, balloon: _balloon, disk, ...rest } = this.options;
    const byPath = disk !== undefined && 'path' in disk;
    const next = SystemVM.restore(this.checkpoint(), { ...rest, disk: byPath ? undefined : disk });
    next.forgetSnapshot();
    next.consoleBytesOut = this.consoleBytesOut; // (a checkpoint does not keep them: metering does)
    next.consoleBytesIn = this.consoleBytesIn;
    if (this.pausedByHost) next.pause();
    if (byPath) this.board.diskBackend?.close?.();
    return next;
  }

  /** Where the machine is: running (or ready to run), paused, stopped. */
  get state(): SystemVMState {
    return this.status !== undefined ? 'Stopped' : this.pausedByHost ? 'Paused' : 'Running';
  }

  /** Pauses the machine at the end of the slice it is in (at once when
   *  called between slices, as a handler on the event loop always is):
   *  run() waits and step() runs nothing until resume(). */
  pause(): void {
    this.pausedByHost = true;
    this.loop.wake();
  }

  resume(): void {
    this.pausedByHost = false;
    this.loop.wake();
  }

  /** Paused by its host and not stopped: what the run loop waits out. */
  get paused(): boolean {
    return this.pausedByHost && this.status === undefined;
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
    this.consoleBytesIn += typeof bytes === 'string' ? new TextEncoder().encode(bytes).length : bytes.length;
    this.console.input(bytes);
    this.console.feed(this.time);
    this.loop.wake();
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
    return this.clock.wallClockNs();
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
    if (this.pausedByHost) return undefined;
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
    // What the guest stored to the coalesced register reaches its device
    // before the exit is handled (an access to the device is one).
    const coalesced = cpu.takeCoalesced();
    if (coalesced !== undefined) for (const b of coalesced) this.bus.store(COALESCED_REGISTER, 1, BigInt(b));
    const ran = budget - cpu.budgetLeft;
    scheduler.ran(ran);
    this.executed += ran;
    this.exits.ran = ran;
    const action = handleExit(reason, this.exits, this.exitStats);
    if (action.kind === 'stop') {
      if (action.diagnostic !== undefined) this.diagnose(action.diagnostic);
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
    this.loop.wake();
  }

  /** Runs the machine until it stops; resolves to its exit status. Gives
   *  the host its thread back every few ms (console input arrives in
   *  between) and sleeps while it is idle on the host clock: until the
   *  earliest timer deadline (at most idleMilliseconds), or until input() or
   *  halt() wake it, whichever comes first, so a guest waiting for a
   *  keystroke answers it as soon as it arrives (hypervisor/run-loop.ts). */
  run(): Promise<number> {
    return this.loop.run(this.slices());
  }

  runSync(): number {
    return this.loop.runSync(this.slices());
  }

  // The machine as the run loop drives it: a step that returns the status
  // once the machine has stopped (what the device log held back summed up).
  private slices(): Sliced<number> {
    const vm = this;
    return {
      step: () => (vm.step() === undefined ? undefined : vm.stopped()),
      idleMilliseconds: () => vm.idleMilliseconds(),
      get paused() { return vm.paused; },
    };
  }

  /** How long an idle machine may sleep before it must look again (ms, at most 20). */
  idleMilliseconds(): number {
    if (this.idleUntil === undefined) return 0;
    if (this.idleUntil === null) return 20;
    const ms = GuestClock.msBetween(this.time, this.idleUntil);
    return Math.max(0, Math.min(20, ms));
  }
}
