// The board: QEMU's `virt` machine as far as ring -1 models it. It makes the
// devices at virt's addresses (PLIC, 16550A, Goldfish RTC, the sifive,test
// finisher, virtio-mmio slot 0 with virtio-rng, slot 1 with virtio-blk
// when there is a disk, slot 2 with virtio-balloon when asked for), puts them on the MMIO bus, wires their interrupt
// lines to the PLIC, and writes the device tree that describes exactly them
// (device-tree.ts). What the devices need from the machine around them (a
// hart's interrupt line, the console, the wall clock, the finisher's verdict,
// guest memory) comes in as callbacks, so the board knows no scheduler.
import { Irq } from '../cpu/cpu.js';
import { virtDeviceTree, withOpenSbiEdits, qemuVirtioSlots, QEMU_VIRT, plicContext, type VirtMachineConfig, type VirtMmioDevice } from './device-tree.js';
import { MmioBus, type GuestMemory, type MmioDevice } from './devices/bus.js';
import { Plic } from './devices/plic.js';
import { Uart16550 } from './devices/uart16550.js';
import { GoldfishRtc } from './devices/goldfish-rtc.js';
import { SifiveTest, type Finish } from './devices/sifive-test.js';
import { VirtioMmio } from './devices/virtio-mmio.js';
import { VirtioBlk, type BlockBackend } from './devices/virtio-blk.js';
import { VirtioRng } from './devices/virtio-rng.js';
import { VirtioBalloon, BalloonControl } from './devices/virtio-balloon.js';

export const ISA = 'rv64imafdc_zicsr_zifencei_zba_zbb_zbs_sstc';

export interface BoardOptions {
  harts: number;
  ramBase: bigint;
  ramSize: bigint;
  /** Guest RAM, for the virtio devices' queues and buffers. */
  mem: GuestMemory;
  /** The kernel command line (/chosen bootargs). */
  bootargs: string;
  /** virtio-rng's entropy and /chosen's rng-seed. */
  random: (buf: Uint8Array) => void;
  disk?: { backend: BlockBackend; readOnly?: boolean };
  /** A virtio-balloon (off by default: the board is then exactly what it
   *  was before there was one). */
  balloon?: boolean;
  /** The UART's output. */
  console: (bytes: Uint8Array) => void;
  /** The UART as the bus should see it (console.ts watches its reads). */
  uartOnBus?: (uart: Uart16550) => MmioDevice;
  /** A hart's S-mode external interrupt line (the PLIC's S context for it). */
  setExternalInterrupt: (hart: number, irq: number, pending: boolean) => void;
  /** What the RTC shows, in ns since the Unix epoch. */
  wallClockNs: () => bigint;
  /** The test finisher was written (poweroff, reboot, or a failure code). */
  onFinish: (f: Finish) => void;
  /** The devices' messages about a guest's misuse. */
  log: (line: string) => void;
}

export class VirtBoard {
  readonly bus: MmioBus;
  readonly plic: Plic;
  readonly uart: Uart16550;
  readonly rtc: GoldfishRtc;
  /** The test finisher the device tree's syscon poweroff and reboot nodes write. */
  readonly test: SifiveTest;
  readonly rng: VirtioMmio;
  readonly disk: VirtioMmio | undefined;
  /** The balloon's transport, and the host's handle on it. */
  readonly balloon: VirtioMmio | undefined;
  readonly balloonControl: BalloonControl | undefined;
  /** What the disk reads and writes (a checkpoint records its size). */
  readonly diskBackend: BlockBackend | undefined;
  /** The virtio-mmio slots the tree lists. */
  private readonly virtio: VirtMmioDevice[];
  private readonly rngSeed = new Uint8Array(32);

  constructor(private readonly options: BoardOptions) {
    const { harts, mem, log } = options;
    this.bus = new MmioBus({ log });
    this.plic = new Plic({
      base: QEMU_VIRT.plic.base, size: QEMU_VIRT.plic.size, sources: QEMU_VIRT.plic.sources, contexts: 2 * harts,
      onContextChange: (context, pending) => {
        const hart = context >> 1;
        if (context === plicContext(hart, 'S')) options.setExternalInterrupt(hart, Irq.SupervisorExternal, pending);
      },
    });
    this.uart = new Uart16550({ base: QEMU_VIRT.uart.base, irq: this.plic.line(QEMU_VIRT.uart.irq), output: options.console });
    this.rtc = new GoldfishRtc({ base: QEMU_VIRT.rtc.base, irq: this.plic.line(QEMU_VIRT.rtc.irq), nowNs: options.wallClockNs });
    this.bus.add(this.plic);
    this.bus.add(options.uartOnBus?.(this.uart) ?? this.uart);
    this.bus.add(this.rtc);
    this.test = new SifiveTest({ base: QEMU_VIRT.test.base, onFinish: options.onFinish, log });
    this.bus.add(this.test);
    // virtio-mmio slot 0: the entropy device; slot 1: the disk, if any;
    // slot 2: the balloon, if any (at the same address with or without a
    // disk, so a checkpoint's tree and devices always agree).
    const slots = qemuVirtioSlots(3);
    this.rng = new VirtioMmio({ base: slots[0].base, irq: this.plic.line(slots[0].irq), mem, device: new VirtioRng({ random: options.random }), log, name: 'virtio-rng' });
    this.bus.add(this.rng);
    this.virtio = [slots[0]];
    this.diskBackend = options.disk?.backend;
    if (options.disk !== undefined) {
      const device = new VirtioBlk({ backend: options.disk.backend, readOnly: options.disk.readOnly });
      this.disk = new VirtioMmio({ base: slots[1].base, irq: this.plic.line(slots[1].irq), mem, device, log, name: 'virtio-blk' });
      this.bus.add(this.disk);
      this.virtio.push(slots[1]);
    }
    if (options.balloon) {
      const device = new VirtioBalloon({ mem, ramBase: options.ramBase, ramSize: options.ramSize });
      this.balloon = new VirtioMmio({ base: slots[2].base, irq: this.plic.line(slots[2].irq), mem, device, log, name: 'virtio-balloon' });
      this.balloonControl = new BalloonControl(this.balloon, device);
      this.bus.add(this.balloon);
      this.virtio.push(slots[2]);
    }
    // QEMU puts 32 random bytes in /chosen/rng-seed; Linux mixes them in (and,
    // with RANDOM_TRUST_BOOTLOADER, as defconfig has, credits them), so its
    // RNG is ready at once instead of when a device has fed it enough.
    options.random(this.rngSeed);
  }

  /** The flattened device tree, with the initrd where it was put. The tree
   *  is the one a kernel finds under QEMU with OpenSBI 1.1, whose edits
   *  (device-tree.ts) include /reserved-memory for the firmware's 512 KiB at
   *  the base of RAM: that memory is the kernel's here, but it is kept out
   *  of its allocator as under QEMU. (Linux 6.1 ignores RAM below its own
   *  load address anyway: "OF: fdt: Ignoring memory range".) Its size does
   *  not depend on where the initrd is (the two properties are fixed-width),
   *  so a tree with any initrd range sizes the boot layout. */
  deviceTree(initrd?: { start: bigint; end: bigint }): Uint8Array {
    const { harts, ramBase, ramSize, bootargs } = this.options;
    const config: VirtMachineConfig = withOpenSbiEdits({
      harts, ramBase, ramSize, isa: ISA, mmuType: 'riscv,sv48',
      timebaseFrequency: QEMU_VIRT.timebaseFrequency,
      bootargs,
      initrd,
      uart: { base: QEMU_VIRT.uart.base, irq: QEMU_VIRT.uart.irq, clockFrequency: QEMU_VIRT.uart.clockFrequency },
      plic: { base: QEMU_VIRT.plic.base, size: QEMU_VIRT.plic.size, sources: QEMU_VIRT.plic.sources },
      virtio: this.virtio,
      rtc: { base: QEMU_VIRT.rtc.base, irq: QEMU_VIRT.rtc.irq },
      test: { base: QEMU_VIRT.test.base },
      rngSeed: this.rngSeed,
    });
    return virtDeviceTree(config);
  }
}
