// The system VM: a whole machine shaped like QEMU's `virt` board, with a
// guest kernel in S-mode (ring 0) and its programs in U-mode (ring 3). Ring
// -1 (this file) is the firmware and the board: it loads the kernel, the
// initrd and the device tree it writes itself, serves the SBI on ECALL_S
// exits, routes MMIO exits to the device models, keeps the guest's clock and
// timers, and injects interrupts.
//
// Harts take turns on the one CPU instance (each has its state saved while
// another runs), in rounds: every hart that can run gets a quantum of
// QUANTUM instructions, in hart order. Time is virtual by default: the
// `time` CSR (10 MHz, as on virt) advances by a quantum's worth per round,
// as if each hart ran at INSTRUCTIONS_PER_TICK x 10 MHz in parallel; a hart
// in wfi sits its turns out until an interrupt is pending for it, and when
// every hart waits time jumps to the earliest timer deadline. A boot
// therefore takes the same instructions every time. With the host clock,
// `time` is the host's and an idle machine waits for real (idleUntil).
import { Cpu, ExitControl, ExitReason, EXIT_REASON_NAMES, Irq, MemoryMode } from '../cpu/cpu.js';
import { defaultCpuModule } from '../cpu/module-registry.js';
import { VIRTUAL_EPOCH_NS } from '../hypervisor/clock.js';
import { checkMemoryBytes, checkTimeoutSeconds } from '../hypervisor/limits.js';
import { virtDeviceTree, withOpenSbiEdits, qemuVirtioSlots, QEMU_VIRT, plicContext, type VirtMachineConfig } from './device-tree.js';
import { bootLayout, BootLayoutError } from './boot-layout.js';
import { loadKernel, KernelImageError } from './linux-image.js';
import { HartEntry, writeEntryState } from './hart-entry.js';
import { handleSbi, HartState, ResetType, SbiStats, type SbiMachine } from './sbi.js';
import { MmioBus, type AccessSize } from './devices/bus.js';
import { Plic } from './devices/plic.js';
import { Uart16550 } from './devices/uart16550.js';
import { GoldfishRtc } from './devices/goldfish-rtc.js';
import { SifiveTest, type Finish } from './devices/sifive-test.js';
import { VirtioMmio } from './devices/virtio-mmio.js';
import { VirtioBlk, type BlockBackend } from './devices/virtio-blk.js';
import { VirtioRng } from './devices/virtio-rng.js';
import { platformRandom } from '../hypervisor/random.js';
import { openDiskByPath } from './disk-opener.js';
import { RateLimitedLog, type LogLimits } from './rate-limited-log.js';

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
/** Virtual clock: instructions per tick of the 10 MHz `time`: a 200 MHz
 *  hart, near what the interpreter runs, so that guest time keeps pace with
 *  the host's roughly. */
export const INSTRUCTIONS_PER_TICK = 20n;
/** Instructions a hart runs per turn. */
export const QUANTUM = 100_000n;
const ISA = 'rv64imafdc_zicsr_zifencei_zba_zbb_zbs_sstc';
/** Exit status when the guest stops at a limit, as the process VM's. */
export const SYSTEM_LIMIT_STATUS = 124;
const TIMER_OFF = 0xffff_ffff_ffff_ffffn;
/** Guest time (ticks: 1 ms) the UART must have been open before it gets console input. */
const CONSOLE_SETTLE = 10_000n;
/** Empty line-status reads in a row that mean a guest waits for input. */
const POLLS_FOR_INPUT = 64;

export class SystemVM {
  readonly cpu: Cpu;
  /** Devices' messages about the guest's misuse, rate-limited (every one
   *  counted: deviceLog.counts()); what it suppressed is summed up when
   *  the machine stops. */
  readonly deviceLog: RateLimitedLog;
  readonly bus = new MmioBus({ log: (line) => this.deviceLog.write(line) });
  readonly uart: Uart16550;
  readonly plic: Plic;
  readonly rtc: GoldfishRtc;
  /** The test finisher the device tree's syscon poweroff and reboot nodes write. */
  readonly test: SifiveTest;
  readonly rng: VirtioMmio;
  readonly disk: VirtioMmio | undefined;
  /** The kernel's panic message, once it has panicked. */
  panic: string | undefined;
  readonly dtb: Uint8Array;
  readonly sbiStats = new SbiStats();
  readonly exitStats = new Map<string, number>();
  /** Set when the guest has asked to power off or reset (SBI SRST), or failed. */
  status: number | undefined;
  private readonly options: SystemVMOptions;
  readonly harts: number;
  private readonly hartStates: HartState[];
  /** Saved state of each hart (the running one's is live in the CPU). */
  private readonly saved: (Uint8Array | undefined)[];
  private readonly waiting: boolean[];
  /** A hart in non-retentive suspend: where it starts again when woken. */
  private readonly resumeAt: ({ addr: bigint; opaque: bigint } | undefined)[];
  private readonly pendingFlush: boolean[];
  /** The hart whose state is in the CPU. */
  private running = 0;
  /** Instructions the running hart has used of its quantum. */
  private used = 0n;
  /** `time` at the start of the current round, in ticks. */
  private roundTime = 0n;
  private readonly hostClock: boolean;
  private readonly hostStart = performance.now();
  private readonly deadline: number | undefined;
  /** With the host clock, when every hart waits: the `time` (ticks) of the
   *  earliest timer deadline, or null for none (only a device can wake
   *  them). The caller should sleep until then or until console input; the
   *  next step() looks again. Undefined while some hart can run. */
  idleUntil: bigint | null | undefined;
  /** Console input not yet handed to the UART: it goes there once the
   *  guest listens (the port opened), since the 8250 driver's
   *  probe and FIFO resets would swallow earlier bytes. */
  private consoleInput: number[] = [];
  private consoleOpenSince: bigint | undefined;
  /** Line-status reads in a row that found no data (a guest polling for input). */
  private lsrPolls = 0;
  /** Instructions executed by all harts. */
  private executed = 0n;
  private consoleLine = '';
  /** While run() sleeps on an idle machine: ends the sleep. */
  private wakeIdle: (() => void) | undefined;

  static create(options: SystemVMOptions): SystemVM {
    return new SystemVM(options);
  }

  private constructor(options: SystemVMOptions) {
    this.options = options;
    this.deviceLog = new RateLimitedLog((line) => this.diagnose(`ringvisor boot: ${line}`), options.logLimits);
    this.hostClock = options.clock === 'host';
    const t = options.timeoutSeconds;
    checkTimeoutSeconds(t);
    if (t !== undefined) this.deadline = this.hostStart + t * 1000;
    this.harts = options.harts ?? 1;
    if (!Number.isInteger(this.harts) || this.harts < 1 || this.harts > 8) throw new RangeError(`a system VM has 1 to 8 harts, not ${options.harts}`);
    this.hartStates = Array.from({ length: this.harts }, (_, h) => (h === 0 ? HartState.Started : HartState.Stopped));
    this.saved = Array.from({ length: this.harts }, () => undefined);
    this.waiting = Array.from({ length: this.harts }, () => false);
    this.resumeAt = Array.from({ length: this.harts }, () => undefined);
    this.pendingFlush = Array.from({ length: this.harts }, () => false);
    const ramBase = QEMU_VIRT.ramBase;
    const ramSize = checkMemoryBytes(options.memoryBytes ?? DEFAULT_SYSTEM_MEMORY);
    const name = options.kernelName ?? 'kernel';
    const kernel = loadKernel(options.kernel, ramBase, name, ramSize);
    const cpu = this.cpu = new Cpu(options.cpuModule ?? defaultCpuModule());
    cpu.configureRam(ramBase, ramSize);
    cpu.memoryMode = MemoryMode.Flat;
    cpu.exitControls = ExitControl.Supervisor | ExitControl.EcallS;

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
    const out = (bytes: Uint8Array) => { sink(bytes); this.watchConsole(bytes); };
    this.plic = new Plic({
      base: QEMU_VIRT.plic.base, size: QEMU_VIRT.plic.size, sources: QEMU_VIRT.plic.sources, contexts: 2 * this.harts,
      onContextChange: (context, pending) => {
        const hart = context >> 1;
        if (context === plicContext(hart, 'S')) this.setPending(hart, Irq.SupervisorExternal, pending);
      },
    });
    this.uart = new Uart16550({ base: QEMU_VIRT.uart.base, irq: this.plic.line(QEMU_VIRT.uart.irq), output: out });
    this.rtc = new GoldfishRtc({ base: QEMU_VIRT.rtc.base, irq: this.plic.line(QEMU_VIRT.rtc.irq), nowNs: () => this.wallClockNs() });
    this.bus.add(this.plic);
    // The bus sees the UART through a watcher that notices a guest polling
    // its line status for input (U-Boot, early consoles: no interrupts).
    const uart = this.uart;
    this.bus.add({
      name: uart.name, base: uart.base, size: uart.size,
      read: (offset, size) => {
        const v = uart.read(offset, size);
        if (offset === 5) this.lsrPolls = (v & 1n) ? 0 : this.lsrPolls + 1; // LSR, DR clear
        return v;
      },
      write: (offset, size, value) => uart.write(offset, size, value),
    });
    this.bus.add(this.rtc);
    this.test = new SifiveTest({ base: QEMU_VIRT.test.base, onFinish: (f) => this.finish(f), log: (line) => this.deviceLog.write(line) });
    this.bus.add(this.test);
    // virtio-mmio slot 0: the entropy device; slot 1: the disk, if any.
    const slots = qemuVirtioSlots(2);
    const log = (line: string) => this.deviceLog.write(line);
    this.rng = new VirtioMmio({ base: slots[0].base, irq: this.plic.line(slots[0].irq), mem: cpu, device: new VirtioRng({ random: options.random }), log, name: 'virtio-rng' });
    this.bus.add(this.rng);
    const virtio = [slots[0]];
    if (options.disk !== undefined) {
      const d = options.disk;
      const device = 'path' in d ? new VirtioBlk({ backend: openDiskByPath(d.path, d.readOnly ?? false), readOnly: d.readOnly }) : new VirtioBlk({ backend: d });
      this.disk = new VirtioMmio({ base: slots[1].base, irq: this.plic.line(slots[1].irq), mem: cpu, device, log, name: 'virtio-blk' });
      this.bus.add(this.disk);
      virtio.push(slots[1]);
    }

    // The tree as a kernel finds it under QEMU with OpenSBI 1.1, whose edits
    // (device-tree.ts) include /reserved-memory for the firmware's 512 KiB at
    // the base of RAM: that memory is the kernel's here, but it is kept out
    // of its allocator as under QEMU. (Linux 6.1 ignores RAM below its own
    // load address anyway: "OF: fdt: Ignoring memory range".)
    // QEMU puts 32 random bytes in /chosen/rng-seed; Linux mixes them in (and,
    // with RANDOM_TRUST_BOOTLOADER, as defconfig has, credits them), so its
    // RNG is ready at once instead of when a device has fed it enough.
    const rngSeed = new Uint8Array(32);
    (options.random ?? platformRandom)(rngSeed);
    const tree = (initrd?: { start: bigint; end: bigint }): VirtMachineConfig => withOpenSbiEdits({
      harts: this.harts, ramBase, ramSize, isa: ISA, mmuType: 'riscv,sv48',
      timebaseFrequency: QEMU_VIRT.timebaseFrequency,
      bootargs: options.append ?? 'console=ttyS0',
      initrd,
      uart: { base: QEMU_VIRT.uart.base, irq: QEMU_VIRT.uart.irq, clockFrequency: QEMU_VIRT.uart.clockFrequency },
      plic: { base: QEMU_VIRT.plic.base, size: QEMU_VIRT.plic.size, sources: QEMU_VIRT.plic.sources },
      virtio,
      rtc: { base: QEMU_VIRT.rtc.base, irq: QEMU_VIRT.rtc.irq },
      test: { base: QEMU_VIRT.test.base },
      rngSeed,
    });
    // The tree's size does not depend on where the initrd is (its two
    // properties are fixed-width), so a first tree sizes the layout.
    const initrdSize = options.initrd?.length;
    const sizing = virtDeviceTree(tree(initrdSize === undefined ? undefined : { start: ramBase, end: ramBase + 1n }));
    let layout;
    try {
      layout = bootLayout({ ramBase, ramSize, kernelEntry: kernel.entry, kernelEnd: kernel.end, dtbSize: sizing.length, initrdSize });
    } catch (e) {
      if (e instanceof BootLayoutError) throw new KernelImageError(name, e.message);
      throw e;
    }
    if (options.initrd && layout.initrd) cpu.writeBytes(layout.initrd.start, options.initrd);
    this.dtb = virtDeviceTree(tree(layout.initrd));
    const dtbAt = layout.dtb;
    cpu.writeBytes(dtbAt, this.dtb);

    // Linux's boot protocol: a0 = hart id, a1 = the device tree, S-mode, no
    // paging; the rest of the hart as the firmware leaves it (hart-entry.ts).
    const boot = cpu.saveHart();
    writeEntryState(cpu, boot, HartEntry.Boot, 0, kernel.entry, dtbAt);
    cpu.loadHart(boot);
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

  // A panicking kernel prints "Kernel panic - not syncing: why" and then
  // spins or reboots: the machine stops there, reporting it.
  private watchConsole(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (b === 0x0a) {
        const at = this.consoleLine.indexOf('Kernel panic - not syncing');
        if (at >= 0 && this.panic === undefined) {
          this.panic = this.consoleLine.slice(at).replace(/\r$/, '');
          this.diagnose(`ringvisor boot: the guest kernel panicked: ${this.panic}`);
          this.status = 1;
        }
        this.consoleLine = '';
      } else if (this.consoleLine.length < 512) {
        this.consoleLine += String.fromCharCode(b);
      }
    }
  }

  /** Bytes typed at the console. An idle machine waiting in run() wakes at
   *  once: the UART's interrupt may end a hart's wfi. */
  input(bytes: Uint8Array | string): void {
    for (const b of typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes) this.consoleInput.push(b);
    this.feedConsole();
    this.wakeIdle?.();
  }

  private feedConsole(): void {
    if (this.consoleInput.length === 0) return;
    // Open for reading: receive interrupts on (IER.ERBFI) and OUT2 set, which
    // the 8250 driver does when the port is opened, not while it probes; and
    // so for a while, since its start-up reads the receive register once
    // more "for luck" right after enabling them.
    // Or a guest that polls the line status, again and again, for a byte.
    const lcr = Number(this.uart.read(3, 1));
    const open = (lcr & 0x80) === 0 && (Number(this.uart.read(1, 1)) & 1) !== 0 && (Number(this.uart.read(4, 1)) & 0x08) !== 0;
    const now = this.time;
    if (this.lsrPolls >= POLLS_FOR_INPUT) this.consoleOpenSince ??= now - CONSOLE_SETTLE;
    else if (!open) { this.consoleOpenSince = undefined; return; }
    this.consoleOpenSince ??= now;
    if (now - this.consoleOpenSince < CONSOLE_SETTLE) return;
    this.uart.input(new Uint8Array(this.consoleInput));
    this.consoleInput = [];
  }

  private diagnose(line: string): void {
    (this.options.diagnostics ?? ((l: string) => console.error(l)))(line);
  }

  /** One --trace-exits line, shaped like KVM's kvm_exit trace event. */
  private trace(what: string): void {
    this.options.traceExits?.(`kvm_exit: vcpu ${this.running} ${what}`);
  }

  /** The wall clock the RTC shows: the host's with the host clock; with the
   *  virtual clock, the virtual epoch plus the machine's own time, so that a
   *  boot depends on nothing outside the guest (the kernel reads the RTC at
   *  boot, and turning a date into fields takes more instructions for some
   *  dates than for others). */
  wallClockNs(): bigint {
    if (this.hostClock) return BigInt(Date.now()) * 1_000_000n;
    return VIRTUAL_EPOCH_NS + this.time * (1_000_000_000n / BigInt(QEMU_VIRT.timebaseFrequency));
  }

  /** The `time` CSR now, for the running hart. */
  get time(): bigint {
    if (this.hostClock) return BigInt(Math.floor((performance.now() - this.hostStart) * (QEMU_VIRT.timebaseFrequency / 1000)));
    return this.roundTime + this.used / INSTRUCTIONS_PER_TICK;
  }

  // ---- the harts' state, live or saved ----
  private csrOf(hart: number, name: 'sip' | 'sie' | 'stimecmp'): bigint {
    if (hart === this.running) return this.cpu.csr(name);
    const b = this.saved[hart]!;
    return new DataView(b.buffer, b.byteOffset, b.length).getBigUint64(this.cpu.hartCsrOffset(name), true);
  }

  private setCsrOf(hart: number, name: 'sip' | 'stimecmp', v: bigint): void {
    if (hart === this.running) { this.cpu.setCsr(name, v); return; }
    const b = this.saved[hart]!;
    new DataView(b.buffer, b.byteOffset, b.length).setBigUint64(this.cpu.hartCsrOffset(name), v, true);
  }

  /** Ring -1 raises or lowers an interrupt line of a hart. */
  private setPending(hart: number, irq: number, pending: boolean): void {
    if (this.saved[hart] === undefined && hart !== this.running) return; // never started
    const bit = 1n << BigInt(irq);
    const sip = this.csrOf(hart, 'sip');
    this.setCsrOf(hart, 'sip', pending ? sip | bit : sip & ~bit);
  }

  /** Whether an interrupt is pending and enabled in sie for `hart` (what
   *  ends a wfi, whatever sstatus.SIE says), its timer counted at `time`. */
  private interruptPending(hart: number, time: bigint): boolean {
    let sip = this.csrOf(hart, 'sip');
    if (time >= this.csrOf(hart, 'stimecmp')) sip |= 1n << BigInt(Irq.SupervisorTimer);
    return (sip & this.csrOf(hart, 'sie')) !== 0n;
  }

  private runnable(hart: number, time: bigint): boolean {
    const state = this.hartStates[hart];
    if (state !== HartState.Started && state !== HartState.Suspended) return false;
    if (this.waiting[hart] && this.interruptPending(hart, time)) {
      this.waiting[hart] = false;
      if (state === HartState.Suspended) this.resume(hart);
    }
    return !this.waiting[hart];
  }

  /** The end of an SBI hart_suspend: on after the call, or (non-retentive)
   *  from its resume address, as the firmware leaves a waking hart
   *  (hart-entry.ts: paging, SIE and sie off, a0 = its id, a1 = opaque). */
  private resume(hart: number): void {
    this.hartStates[hart] = HartState.Started;
    const at = this.resumeAt[hart];
    if (at === undefined) return;
    this.resumeAt[hart] = undefined;
    const state = hart === this.running ? this.cpu.saveHart() : this.saved[hart]!;
    writeEntryState(this.cpu, state, HartEntry.NonRetentiveResume, hart, at.addr, at.opaque);
    if (hart === this.running) this.cpu.loadHart(state); else this.saved[hart] = state;
  }

  /** Hands the CPU to the next hart that can run, starting new rounds (and
   *  skipping idle time) as needed. False when the machine has stopped. */
  private nextHart(): boolean {
    let h = this.running;
    this.idleUntil = undefined;
    for (let scanned = 0; ; scanned++) {
      h++;
      if (h === this.harts) { h = 0; this.roundTime += QUANTUM / INSTRUCTIONS_PER_TICK; }
      if (this.runnable(h, this.hostClock ? this.time : this.roundTime)) break;
      if (scanned >= this.harts) {
        // Nobody can run: time jumps to the earliest deadline of a waiting hart.
        let next: bigint | undefined;
        for (let w = 0; w < this.harts; w++) {
          if ((this.hartStates[w] !== HartState.Started && this.hartStates[w] !== HartState.Suspended) || !this.waiting[w]) continue;
          const d = this.csrOf(w, 'stimecmp');
          if ((this.csrOf(w, 'sie') & (1n << BigInt(Irq.SupervisorTimer))) !== 0n && d !== TIMER_OFF && (next === undefined || d < next)) next = d;
        }
        const any = this.hartStates.some((st) => st === HartState.Started || st === HartState.Suspended);
        if (this.hostClock && any) {
          // Really idle: the caller waits (for the deadline or for input).
          this.idleUntil = next ?? null;
          return false;
        }
        if (next === undefined) {
          if (any) this.diagnose(`ringvisor boot: every hart waits for an interrupt that can never come (wfi with no timer and no device to wake them; pc 0x${this.cpu.pc.toString(16)})`);
          else this.diagnose('ringvisor boot: every hart has stopped (SBI HSM hart_stop)');
          this.status = 1;
          return false;
        }
        if (next > this.roundTime) this.roundTime = next;
        scanned = 0;
      }
    }
    if (h !== this.running) {
      this.saved[this.running] = this.cpu.saveHart();
      this.cpu.loadHart(this.saved[h]!);
      this.running = h;
    }
    this.used = 0n;
    return true;
  }

  private machine(): SbiMachine {
    return {
      harts: this.harts,
      current: this.running,
      consoleWrite: (b) => (this.options.console ?? (() => {}))(b),
      consoleRead: () => this.consoleInput.shift() ?? -1,
      setSoftwareInterrupt: (h, p) => this.setPending(h, Irq.SupervisorSoftware, p),
      setTimer: (h, when) => this.setCsrOf(h, 'stimecmp', when),
      remoteSfence: (h) => { if (h === this.running) this.cpu.flushTlb(); else this.pendingFlush[h] = true; },
      hartState: (h) => this.hartStates[h],
      startHart: (h, addr, opaque) => {
        // A hart starts as the boot hart did (hart-entry.ts).
        const state = new Uint8Array(this.cpu.saveHart().length);
        writeEntryState(this.cpu, state, HartEntry.HartStart, h, addr, opaque);
        this.saved[h] = state;
        this.waiting[h] = false;
        this.hartStates[h] = HartState.Started;
      },
      stopHart: () => { this.hartStates[this.running] = HartState.Stopped; },
      suspendHart: (resume) => {
        this.hartStates[this.running] = HartState.Suspended;
        this.waiting[this.running] = true;
        this.resumeAt[this.running] = resume;
      },
      reset: (type, reason) => {
        // The machine's own exit (KVM's SYSTEM_EVENT): counted and traced as SHUTDOWN.
        this.exitStats.set('SHUTDOWN', (this.exitStats.get('SHUTDOWN') ?? 0) + 1);
        this.trace(`reason SHUTDOWN ${['shutdown', 'cold reboot', 'warm reboot'][type] ?? type} (SRST reason ${reason})`);
        if (type === ResetType.Shutdown) this.status = reason === 0 ? 0 : 1;
        else this.status = 0;
        if (reason !== 0) this.diagnose(`ringvisor boot: the guest reset the machine reporting a system failure (SRST reason ${reason})`);
      },
      readPhysical: (addr, length) => (this.cpu.inRam(addr, length) ? this.cpu.guestBytes(addr, length) : undefined),
    };
  }

  /** Runs one slice; returns the exit status once the machine has stopped. */
  step(): number | undefined {
    // Idle is what this step finds, not what an earlier one did: a hart
    // woken by an interrupt runs on at full speed, not a slice per nap.
    this.idleUntil = undefined;
    if (this.status !== undefined) return this.stopped();
    const cpu = this.cpu;
    const limit = this.options.maxInstructions;
    if (limit !== undefined && this.executed >= limit) {
      this.diagnose(`ringvisor boot: instruction limit reached (${limit} instructions) at pc 0x${cpu.pc.toString(16)}`);
      return (this.status = SYSTEM_LIMIT_STATUS);
    }
    if (this.deadline !== undefined && performance.now() >= this.deadline) {
      this.diagnose(`ringvisor boot: timed out after ${this.options.timeoutSeconds} s at pc 0x${cpu.pc.toString(16)} (hart ${this.running})`);
      return (this.status = SYSTEM_LIMIT_STATUS);
    }
    this.feedConsole();
    if (!this.runnable(this.running, this.time) || this.used >= QUANTUM) {
      if (!this.nextHart()) return this.status;
    }
    if (this.pendingFlush[this.running]) { cpu.flushTlb(); this.pendingFlush[this.running] = false; }
    // Run until the timer deadline at most, so that it fires on time.
    const now = this.time;
    cpu.time = now;
    let budget = QUANTUM - this.used;
    const deadline = cpu.csr('stimecmp');
    if (deadline > now) {
      const until = (deadline - now) * INSTRUCTIONS_PER_TICK;
      if (until < budget) budget = until;
    }
    if (limit !== undefined && limit - this.executed < budget) budget = limit - this.executed;
    if (budget <= 0n) budget = 1n;
    const reason = cpu.run(budget);
    this.used += budget - cpu.budgetLeft;
    this.executed += budget - cpu.budgetLeft;
    const name = EXIT_REASON_NAMES[reason] ?? String(reason);
    this.exitStats.set(name, (this.exitStats.get(name) ?? 0) + 1);
    const e = cpu.exit;
    switch (reason) {
      case ExitReason.Budget:
        this.trace(`reason BUDGET pc 0x${cpu.pc.toString(16)} after ${budget - cpu.budgetLeft} instructions`);
        break;
      case ExitReason.EcallS: {
        const call = handleSbi(cpu, this.machine(), this.sbiStats);
        this.trace(`reason ECALL_S pc 0x${e.pc.toString(16)} sbi ${call.name} error ${call.error}`);
        break;
      }
      case ExitReason.MmioLoad: {
        const m = cpu.mmio;
        const v = this.bus.load(m.addr, m.size as AccessSize);
        this.trace(`reason MMIO_LOAD pc 0x${e.pc.toString(16)} gpa 0x${m.addr.toString(16)} len ${m.size} ${v === undefined ? 'no device: access fault' : `val 0x${v.toString(16)} (${this.bus.find(m.addr)?.name})`}`);
        if (v === undefined) cpu.failMmio(); else cpu.completeMmioLoad(v);
        break;
      }
      case ExitReason.MmioStore: {
        const m = cpu.mmio;
        const ok = this.bus.store(m.addr, m.size as AccessSize, m.data);
        this.trace(`reason MMIO_STORE pc 0x${e.pc.toString(16)} gpa 0x${m.addr.toString(16)} len ${m.size} val 0x${m.data.toString(16)} ${ok ? `(${this.bus.find(m.addr)?.name})` : 'no device: access fault'}`);
        if (!ok) cpu.failMmio();
        break;
      }
      case ExitReason.Wfi:
        // The hart sits its turns out until an interrupt is pending for it
        // (nextHart skips time ahead when every hart waits).
        this.trace(`reason WFI pc 0x${e.pc.toString(16)}`);
        this.waiting[this.running] = true;
        break;
      default:
        this.diagnose(`ringvisor boot: unexpected exit ${name} at pc 0x${e.pc.toString(16)} (cause ${e.cause}, addr 0x${e.addr.toString(16)})`);
        return (this.status = 1);
    }
    return this.status;
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
    const ms = Number(this.idleUntil - this.time) / (QEMU_VIRT.timebaseFrequency / 1000);
    return Math.max(0, Math.min(20, ms));
  }
}
