// The device tree ring -1 hands to a Linux built for `qemu-system-riscv64 -M
// virt`: the nodes of QEMU 7.2's virt machine that the VM models, at QEMU's
// addresses, with QEMU's names, compatibles and interrupt wiring, so an
// unmodified kernel binds the same drivers it binds under QEMU.
//
// What it leaves out, on purpose: the CLINT (an M-mode device: timers come
// from Sstc and the SBI timer call, IPIs from SBI IPI; OpenSBI uses it, an
// S-mode kernel does not), PCI, flash, fw-cfg, platform-bus (none of them
// modelled: a kernel with their drivers finds no node and binds nothing),
// and the PMU node (read by OpenSBI for its SBI PMU extension, which ring -1
// does not offer). docs/FIRMWARE.md lists every node against QEMU's.
//
// The test finisher (sifive,test1 and syscon at 0x100000) is there, with the
// syscon-poweroff and syscon-reboot nodes that point at it: a kernel with
// those drivers powers off and reboots by writing it, as under QEMU.
//
// PLIC contexts follow QEMU: hart h has context 2h for M-mode (external
// interrupt 11) and 2h+1 for S-mode (external interrupt 9), which is the order
// of the PLIC's interrupts-extended pairs. Linux uses only the S-mode ones.
//
// A kernel under QEMU does not see QEMU's tree as QEMU wrote it: OpenSBI
// edits it first. withOpenSbiEdits() asks for the edits of OpenSBI 1.1 that
// concern what we model (read back from QEMU's RAM at the kernel's entry,
// test/fixtures/fdt/qemu-7.2-opensbi-1.1-virt-smp2.dtb): a /reserved-memory
// node for the firmware's own memory, the PLIC's M-mode contexts marked
// unusable, and the /pmu node stripped to its compatible.

import { FdtBuilder, FdtError, type FdtReservation } from './fdt.js';

export interface VirtMmioDevice {
  base: bigint;
  /** PLIC source number (1..plic.sources). */
  irq: number;
}

export interface VirtUart extends VirtMmioDevice {
  /** The 16550's input clock in Hz (QEMU: 3686400). */
  clockFrequency: number;
}

export interface VirtPlic {
  base: bigint;
  /** Size of the register window (QEMU: 0x600000). */
  size: bigint;
  /** Wired interrupt sources, ids 1..sources (id 0 means "none"); written as riscv,ndev (QEMU 7.2 writes 96). */
  sources: number;
}

export interface VirtMachineConfig {
  /** Number of harts, 1..8; hart ids (cpu reg) are 0..harts-1. */
  harts: number;
  ramBase: bigint;
  ramSize: bigint;
  /** riscv,isa for every hart, e.g. 'rv64imafdc_zicsr_zifencei_zba_zbb_zbs_sstc'. */
  isa: string;
  mmuType: 'riscv,sv39' | 'riscv,sv48';
  /** /cpus timebase-frequency in Hz (QEMU virt: 10_000_000). */
  timebaseFrequency: number;
  /** /chosen bootargs; left out when empty. */
  bootargs: string;
  /** Physical range [start, end) of the initramfs, inside RAM. */
  initrd?: { start: bigint; end: bigint };
  uart: VirtUart;
  plic: VirtPlic;
  /** virtio-mmio transports to list, in this order (qemuVirtioSlots() gives QEMU's eight). */
  virtio: readonly VirtMmioDevice[];
  /** goldfish RTC; left out when absent. */
  rtc?: VirtMmioDevice;
  /** The test finisher (syscon) and its /poweroff and /reboot nodes; left out when absent. */
  test?: { base: bigint };
  /** Write /cpus/cpu-map (one cluster, one core per hart) as QEMU does. Default true. */
  cpuMap?: boolean;
  /** /chosen rng-seed bytes (QEMU writes 32 random bytes); left out when absent. */
  rngSeed?: Uint8Array;
  /** The root's model string. Default 'riscv-virtio,ringvisor'. */
  model?: string;
  /** Memory reservation block entries. */
  reservations?: readonly FdtReservation[];
  /** boot_cpuid_phys in the header. Default 0. */
  bootHart?: number;
  /** /reserved-memory children, named as OpenSBI names the memory it keeps
   *  for M-mode (mmode_resv<i>@<base>), without no-map (OpenSBI 1.1 leaves
   *  no-map out when PMP protects the region). Left out when absent. */
  reservedMemory?: readonly { base: bigint; size: bigint }[];
  /** The PLIC's M-mode contexts as OpenSBI hands them on: their
   *  interrupts-extended entries name interrupt 0xffffffff (none) instead
   *  of 11, so only the S-mode contexts look usable. Default false (QEMU's
   *  own tree). */
  plicHideMModeContexts?: boolean;
  /** A /pmu node with only compatible "riscv,pmu": QEMU's node after
   *  OpenSBI has read and removed its event map. Default false. */
  pmu?: boolean;
}

export class DeviceTreeConfigError extends Error {
  constructor(message: string) {
    super(`virt device tree: ${message}`);
    this.name = 'DeviceTreeConfigError';
  }
}

/** QEMU 7.2 virt memory map and interrupt numbers for the devices we model. */
export const QEMU_VIRT = {
  ramBase: 0x8000_0000n,
  timebaseFrequency: 10_000_000,
  uart: { base: 0x1000_0000n, size: 0x100n, irq: 10, clockFrequency: 3_686_400 },
  plic: { base: 0x0c00_0000n, size: 0x60_0000n, sources: 96 },
  virtio: { base: 0x1000_1000n, stride: 0x1000n, size: 0x1000n, count: 8, firstIrq: 1 },
  rtc: { base: 0x10_1000n, size: 0x1000n, irq: 11 },
  /** sifive,test1: the values /poweroff and /reboot write (devices/sifive-test.ts). */
  test: { base: 0x10_0000n, size: 0x1000n, poweroff: 0x5555, reboot: 0x7777 },
} as const;

export const MAX_HARTS = 8;
/** riscv,cpu-intc interrupt numbers the PLIC targets. */
export const IRQ_M_EXT = 11;
export const IRQ_S_EXT = 9;
/** PLIC register layout facts used for validating the window size. */
const PLIC_CONTEXT_BASE = 0x20_0000n;
const PLIC_CONTEXT_STRIDE = 0x1000n;
const PLIC_MAX_SOURCES = 1023;
const PAGE = 0x1000n;

/** The PLIC context the tree gives hart `hart` in `mode`: 2*hart (M) or 2*hart+1 (S). */
export function plicContext(hart: number, mode: 'M' | 'S'): number {
  return 2 * hart + (mode === 'S' ? 1 : 0);
}

/** QEMU's virtio-mmio slots 0..count-1: base 0x10001000 + i*0x1000, PLIC source 1+i. */
export function qemuVirtioSlots(count: number = QEMU_VIRT.virtio.count): VirtMmioDevice[] {
  if (!Number.isInteger(count) || count < 0 || count > QEMU_VIRT.virtio.count) {
    throw new DeviceTreeConfigError(`QEMU's virt machine has ${QEMU_VIRT.virtio.count} virtio-mmio slots, not ${count}`);
  }
  return Array.from({ length: count }, (_, i) => ({
    base: QEMU_VIRT.virtio.base + BigInt(i) * QEMU_VIRT.virtio.stride,
    irq: QEMU_VIRT.virtio.firstIrq + i,
  }));
}

/** A config with QEMU's addresses: `{ ...qemuVirtConfig(), harts: 2, ramSize: 256n << 20n }`. */
export function qemuVirtConfig(): VirtMachineConfig {
  return {
    harts: 1,
    ramBase: QEMU_VIRT.ramBase,
    ramSize: 128n << 20n,
    isa: 'rv64imafdc_zicsr_zifencei_zba_zbb_zbs_sstc',
    mmuType: 'riscv,sv39',
    timebaseFrequency: QEMU_VIRT.timebaseFrequency,
    bootargs: '',
    uart: { base: QEMU_VIRT.uart.base, irq: QEMU_VIRT.uart.irq, clockFrequency: QEMU_VIRT.uart.clockFrequency },
    plic: { base: QEMU_VIRT.plic.base, size: QEMU_VIRT.plic.size, sources: QEMU_VIRT.plic.sources },
    virtio: qemuVirtioSlots(),
    rtc: { base: QEMU_VIRT.rtc.base, irq: QEMU_VIRT.rtc.irq },
    test: { base: QEMU_VIRT.test.base },
  };
}

/** What OpenSBI 1.1 (QEMU 7.2's -bios default) keeps for itself: its
 *  firmware (288 KiB on QEMU) in a 512 KiB PMP region at the base of RAM,
 *  which it hands on as /reserved-memory/mmode_resv0@80000000. */
export const OPENSBI_1_1 = {
  reservedMemory: [{ base: 0x8000_0000n, size: 0x8_0000n }],
} as const;

/** `config` with the edits OpenSBI 1.1 makes to QEMU's tree before a
 *  kernel sees it (for the nodes we model): the tree a kernel reads under
 *  `qemu-system-riscv64 -M virt -bios default`. */
export function withOpenSbiEdits(config: VirtMachineConfig): VirtMachineConfig {
  return {
    ...config,
    reservedMemory: OPENSBI_1_1.reservedMemory.filter((r) => r.base >= config.ramBase && r.base + r.size <= config.ramBase + config.ramSize),
    plicHideMModeContexts: true,
    pmu: true,
  };
}

/** The interrupt number OpenSBI writes for a PLIC context it keeps (none). */
export const IRQ_NONE = 0xffff_ffff;

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
/** A unit address as the devicetree spec and dtc want it: lowercase hex, no leading zeros. */
const unit = (v: bigint): string => v.toString(16);
const U64_LIMIT = 1n << 64n;

interface Region { what: string; base: bigint; size: bigint }

function validate(c: VirtMachineConfig): void {
  const fail = (msg: string): never => { throw new DeviceTreeConfigError(msg); };
  if (!Number.isInteger(c.harts) || c.harts < 1 || c.harts > MAX_HARTS) fail(`harts must be an integer in 1..${MAX_HARTS}, not ${c.harts}`);
  const bootHart = c.bootHart ?? 0;
  if (!Number.isInteger(bootHart) || bootHart < 0 || bootHart >= c.harts) fail(`bootHart ${bootHart} is not one of the harts 0..${c.harts - 1}`);

  if (c.ramBase < 0n || c.ramBase % PAGE !== 0n) fail(`ramBase ${hex(c.ramBase)} is not 4 KiB aligned`);
  if (c.ramSize <= 0n || c.ramSize % PAGE !== 0n) fail(`ramSize ${hex(c.ramSize)} is not a positive multiple of 4 KiB`);
  if (c.ramBase + c.ramSize > U64_LIMIT) fail(`RAM ${hex(c.ramBase)} + ${hex(c.ramSize)} runs past the 64-bit address space`);

  if (!/^rv64[a-z]+(?:_[a-z][a-z0-9]*)*$/.test(c.isa)) {
    fail(`isa "${c.isa}" is not a lowercase RV64 ISA string like "rv64imafdc_zicsr_zifencei"`);
  }
  if (!/^rv64[ig]/.test(c.isa)) fail(`isa "${c.isa}" has no base integer ISA ("rv64i..." or "rv64g...")`);
  if (c.mmuType !== 'riscv,sv39' && c.mmuType !== 'riscv,sv48') fail(`mmuType "${String(c.mmuType)}" is not "riscv,sv39" or "riscv,sv48"`);
  if (!Number.isInteger(c.timebaseFrequency) || c.timebaseFrequency <= 0 || c.timebaseFrequency > 0xffff_ffff) {
    fail(`timebaseFrequency ${c.timebaseFrequency} is not a positive 32-bit integer (Hz)`);
  }
  if (c.bootargs.includes('\0')) fail('bootargs contains a NUL character');
  if (c.model !== undefined && (c.model.length === 0 || c.model.includes('\0'))) fail('model must be a non-empty string without NUL');

  if (c.initrd) {
    const { start, end } = c.initrd;
    if (end <= start) fail(`initrd [${hex(start)}, ${hex(end)}) is empty or reversed`);
    if (start < c.ramBase || end > c.ramBase + c.ramSize) {
      fail(`initrd [${hex(start)}, ${hex(end)}) is not inside RAM [${hex(c.ramBase)}, ${hex(c.ramBase + c.ramSize)})`);
    }
  }

  for (const [i, r] of (c.reservedMemory ?? []).entries()) {
    if (r.size <= 0n || r.base % PAGE !== 0n || r.size % PAGE !== 0n) {
      fail(`reservedMemory[${i}] [${hex(r.base)}, +${hex(r.size)}) is not a non-empty, 4 KiB aligned range`);
    }
    if (r.base < c.ramBase || r.base + r.size > c.ramBase + c.ramSize) {
      fail(`reservedMemory[${i}] [${hex(r.base)}, ${hex(r.base + r.size)}) is not inside RAM [${hex(c.ramBase)}, ${hex(c.ramBase + c.ramSize)})`);
    }
  }

  const { plic } = c;
  if (!Number.isInteger(plic.sources) || plic.sources < 1 || plic.sources > PLIC_MAX_SOURCES) {
    fail(`plic.sources must be an integer in 1..${PLIC_MAX_SOURCES}, not ${plic.sources}`);
  }
  if (plic.base % PAGE !== 0n) fail(`plic.base ${hex(plic.base)} is not 4 KiB aligned`);
  const plicNeeded = PLIC_CONTEXT_BASE + BigInt(2 * c.harts) * PLIC_CONTEXT_STRIDE;
  if (plic.size < plicNeeded) {
    fail(`plic.size ${hex(plic.size)} is too small for ${2 * c.harts} contexts (${c.harts} harts, M and S): needs at least ${hex(plicNeeded)}`);
  }

  const irqOwners = new Map<number, string>();
  const checkIrq = (what: string, irq: number): void => {
    if (!Number.isInteger(irq) || irq < 1 || irq > plic.sources) fail(`${what} irq ${irq} is not a PLIC source in 1..${plic.sources}`);
    const owner = irqOwners.get(irq);
    if (owner) fail(`${what} irq ${irq} is already ${owner}'s`);
    irqOwners.set(irq, what);
  };
  const checkAligned = (what: string, base: bigint, align: bigint): void => {
    if (base < 0n || base % align !== 0n) fail(`${what} base ${hex(base)} is not ${hex(align)}-aligned`);
  };

  checkAligned('uart', c.uart.base, QEMU_VIRT.uart.size);
  checkIrq('uart', c.uart.irq);
  if (!Number.isInteger(c.uart.clockFrequency) || c.uart.clockFrequency <= 0 || c.uart.clockFrequency > 0xffff_ffff) {
    fail(`uart.clockFrequency ${c.uart.clockFrequency} is not a positive 32-bit integer (Hz)`);
  }
  c.virtio.forEach((v, i) => {
    checkAligned(`virtio[${i}]`, v.base, QEMU_VIRT.virtio.size);
    checkIrq(`virtio[${i}]`, v.irq);
  });
  if (c.rtc) {
    checkAligned('rtc', c.rtc.base, QEMU_VIRT.rtc.size);
    checkIrq('rtc', c.rtc.irq);
  }
  if (c.test) checkAligned('test', c.test.base, QEMU_VIRT.test.size);

  const regions: Region[] = [
    { what: 'RAM', base: c.ramBase, size: c.ramSize },
    { what: 'plic', base: plic.base, size: plic.size },
    { what: 'uart', base: c.uart.base, size: QEMU_VIRT.uart.size },
    ...c.virtio.map((v, i) => ({ what: `virtio[${i}]`, base: v.base, size: QEMU_VIRT.virtio.size })),
    ...(c.rtc ? [{ what: 'rtc', base: c.rtc.base, size: QEMU_VIRT.rtc.size }] : []),
    ...(c.test ? [{ what: 'test', base: c.test.base, size: QEMU_VIRT.test.size }] : []),
  ];
  for (const r of regions) {
    if (r.base + r.size > U64_LIMIT) fail(`${r.what} [${hex(r.base)}, +${hex(r.size)}) runs past the 64-bit address space`);
  }
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const a = regions[i]!, b = regions[j]!;
      if (a.base < b.base + b.size && b.base < a.base + a.size) {
        fail(`${a.what} [${hex(a.base)}, ${hex(a.base + a.size)}) overlaps ${b.what} [${hex(b.base)}, ${hex(b.base + b.size)})`);
      }
    }
  }
}

/** The DTB for a virt machine with `config`'s harts, RAM and devices. Throws DeviceTreeConfigError on a bad config. */
export function virtDeviceTree(config: VirtMachineConfig): Uint8Array {
  validate(config);
  const c = config;
  const t = new FdtBuilder();
  const cpuPhandles: number[] = [];
  const intcPhandles: number[] = [];
  for (let h = 0; h < c.harts; h++) {
    cpuPhandles.push(t.allocPhandle());
    intcPhandles.push(t.allocPhandle());
  }
  const plicPhandle = t.allocPhandle();
  const testPhandle = c.test ? t.allocPhandle() : 0;
  const plicName = `plic@${unit(c.plic.base)}`;
  const uartPath = `/soc/serial@${unit(c.uart.base)}`;

  t.beginNode('');
  t.propU32('#address-cells', 2);
  t.propU32('#size-cells', 2);
  t.prop('compatible', 'riscv-virtio');
  t.prop('model', c.model ?? 'riscv-virtio,ringvisor');

  // OpenSBI adds /reserved-memory in front of the root's other children.
  const reserved = c.reservedMemory ?? [];
  if (reserved.length > 0) {
    t.beginNode('reserved-memory');
    t.propU32('#address-cells', 2);
    t.propU32('#size-cells', 2);
    t.propEmpty('ranges');
    reserved.forEach((r, i) => {
      t.beginNode(`mmode_resv${i}@${unit(r.base)}`);
      t.propCells('reg', [r.base, r.size], 2);
      t.endNode();
    });
    t.endNode();
  }
  if (c.pmu) {
    t.beginNode('pmu');
    t.prop('compatible', 'riscv,pmu');
    t.endNode();
  }

  t.beginNode('chosen');
  if (c.bootargs.length > 0) t.prop('bootargs', c.bootargs);
  t.prop('stdout-path', uartPath);
  if (c.initrd) {
    t.propU64('linux,initrd-start', c.initrd.start);
    t.propU64('linux,initrd-end', c.initrd.end);
  }
  if (c.rngSeed && c.rngSeed.length > 0) t.propBytes('rng-seed', c.rngSeed);
  t.endNode();

  // Power off and reboot through the test finisher, as QEMU describes them
  // (drivers/power/reset/syscon-poweroff.c and syscon-reboot.c: a 32-bit
  // write of `value` at `offset` in the syscon `regmap`).
  if (c.test) {
    for (const [name, value] of [['poweroff', QEMU_VIRT.test.poweroff], ['reboot', QEMU_VIRT.test.reboot]] as const) {
      t.beginNode(name);
      t.propU32('value', value);
      t.propU32('offset', 0);
      t.propU32('regmap', testPhandle);
      t.prop('compatible', `syscon-${name}`);
      t.endNode();
    }
  }

  t.beginNode(`memory@${unit(c.ramBase)}`);
  t.prop('device_type', 'memory');
  t.propCells('reg', [c.ramBase, c.ramSize], 2);
  t.endNode();

  t.beginNode('cpus');
  t.propU32('#address-cells', 1);
  t.propU32('#size-cells', 0);
  t.propU32('timebase-frequency', c.timebaseFrequency);
  for (let h = 0; h < c.harts; h++) {
    t.beginNode(`cpu@${h.toString(16)}`);
    t.propPhandle(cpuPhandles[h]!);
    t.prop('device_type', 'cpu');
    t.propU32('reg', h);
    t.prop('status', 'okay');
    t.prop('compatible', 'riscv');
    t.prop('riscv,isa', c.isa);
    t.prop('mmu-type', c.mmuType);
    t.beginNode('interrupt-controller');
    // #address-cells = <0> is not in QEMU's tree; the riscv,cpu-intc binding
    // allows it, and it keeps dtc's interrupt_provider check quiet.
    t.propU32('#address-cells', 0);
    t.propU32('#interrupt-cells', 1);
    t.propEmpty('interrupt-controller');
    t.prop('compatible', 'riscv,cpu-intc');
    t.propPhandle(intcPhandles[h]!);
    t.endNode();
    t.endNode();
  }
  if (c.cpuMap ?? true) {
    t.beginNode('cpu-map');
    t.beginNode('cluster0');
    for (let h = 0; h < c.harts; h++) {
      t.beginNode(`core${h}`);
      t.propU32('cpu', cpuPhandles[h]!);
      t.endNode();
    }
    t.endNode();
    t.endNode();
  }
  t.endNode(); // cpus

  t.beginNode('soc');
  t.propU32('#address-cells', 2);
  t.propU32('#size-cells', 2);
  t.prop('compatible', 'simple-bus');
  t.propEmpty('ranges');

  type SocNode = { base: bigint; write: () => void };
  const socNodes: SocNode[] = [];
  const device = (name: string, base: bigint, size: bigint, irq: number, compatible: string, extra?: () => void): SocNode => ({
    base,
    write: () => {
      t.beginNode(`${name}@${unit(base)}`);
      t.propU32('interrupts', irq);
      t.propU32('interrupt-parent', plicPhandle);
      extra?.();
      t.propCells('reg', [base, size], 2);
      t.prop('compatible', compatible);
      t.endNode();
    },
  });
  socNodes.push({
    base: c.plic.base,
    write: () => {
      t.beginNode(plicName);
      t.propPhandle(plicPhandle);
      t.propU32('riscv,ndev', c.plic.sources);
      t.propCells('reg', [c.plic.base, c.plic.size], 2);
      const ext: number[] = [];
      const mExt = c.plicHideMModeContexts ? IRQ_NONE : IRQ_M_EXT;
      for (let h = 0; h < c.harts; h++) ext.push(intcPhandles[h]!, mExt, intcPhandles[h]!, IRQ_S_EXT);
      t.propU32s('interrupts-extended', ext);
      t.propEmpty('interrupt-controller');
      t.prop('compatible', ['sifive,plic-1.0.0', 'riscv,plic0']);
      t.propU32('#address-cells', 0);
      t.propU32('#interrupt-cells', 1);
      t.endNode();
    },
  });
  socNodes.push(device('serial', c.uart.base, QEMU_VIRT.uart.size, c.uart.irq, 'ns16550a',
    () => t.propU32('clock-frequency', c.uart.clockFrequency)));
  for (const v of c.virtio) socNodes.push(device('virtio_mmio', v.base, QEMU_VIRT.virtio.size, v.irq, 'virtio,mmio'));
  if (c.rtc) socNodes.push(device('rtc', c.rtc.base, QEMU_VIRT.rtc.size, c.rtc.irq, 'google,goldfish-rtc'));
  const test = c.test;
  if (test) {
    socNodes.push({
      base: test.base,
      write: () => {
        t.beginNode(`test@${unit(test.base)}`);
        t.propPhandle(testPhandle);
        t.propCells('reg', [test.base, QEMU_VIRT.test.size], 2);
        t.prop('compatible', ['sifive,test1', 'sifive,test0', 'syscon']);
        t.endNode();
      },
    });
  }
  socNodes.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  for (const n of socNodes) n.write();
  t.endNode(); // soc

  t.endNode(); // root
  try {
    return t.finish({ bootCpuId: c.bootHart ?? 0, reservations: c.reservations ?? [] });
  } catch (e) {
    if (e instanceof FdtError) throw new DeviceTreeConfigError(e.message);
    throw e;
  }
}
