// Where ring -1 puts the device tree and the initrd in guest RAM: where
// QEMU 7.2's virt board puts them for `-kernel`, so that a kernel finds them
// at the addresses it would find under QEMU (OpenSBI 1.1 hands the tree on
// where QEMU left it: "Domain0 Next Arg1" in its banner).
//
// QEMU (hw/riscv/boot.c) puts the tree 2 MiB-aligned just below the top of
// RAM or 3 GiB, whichever is lower (so a 32-bit kernel can reach it), and
// the initrd at the kernel's entry plus half of RAM, at most 128 MiB. QEMU
// checks neither against the kernel; here a layout that would overlap the
// kernel (a tiny RAM, a large initrd) falls back to packing them at the top
// of RAM, and fails only when they cannot fit at all.

export class BootLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootLayoutError';
  }
}

export interface BootLayoutInput {
  ramBase: bigint;
  ramSize: bigint;
  /** Where the kernel is entered (QEMU measures the initrd's offset from it). */
  kernelEntry: bigint;
  /** The first byte after everything the kernel image occupies. */
  kernelEnd: bigint;
  /** The device tree's size in bytes (its header's totalsize). */
  dtbSize: number;
  /** The initrd's size in bytes, if there is one. */
  initrdSize?: number;
}

export interface BootLayout {
  dtb: bigint;
  initrd?: { start: bigint; end: bigint };
}

const MiB = 1n << 20n;
const PAGE = 0x1000n;
/** QEMU keeps the tree below 3 GiB (hw/riscv/boot.c). */
const DTB_LIMIT = 3072n * MiB;
const DTB_ALIGN = 2n * MiB;
/** QEMU's initrd offset from the kernel entry: half of RAM, at most 128 MiB. */
const INITRD_MAX_OFFSET = 128n * MiB;

const alignDown = (v: bigint, a: bigint): bigint => v - (v % a);
const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** QEMU's places for the tree and the initrd, or the top of RAM where
 *  QEMU's would overlap the kernel or each other. */
export function bootLayout(i: BootLayoutInput): BootLayout {
  const top = i.ramBase + i.ramSize;
  const dtbSize = BigInt(i.dtbSize);
  const ceiling = i.ramBase < DTB_LIMIT && top > DTB_LIMIT ? DTB_LIMIT : top;
  let dtb = alignDown(ceiling - dtbSize, DTB_ALIGN);
  if (dtb < i.kernelEnd) dtb = alignDown(top - dtbSize, PAGE);
  if (dtb < i.kernelEnd) {
    throw new BootLayoutError(`the kernel ends at ${hex(i.kernelEnd)}, too near the top of RAM (${hex(top)}) to leave the device tree its ${i.dtbSize} bytes (raise --mem)`);
  }
  if (i.initrdSize === undefined) return { dtb };

  const size = BigInt(i.initrdSize);
  const offset = i.ramSize / 2n < INITRD_MAX_OFFSET ? i.ramSize / 2n : INITRD_MAX_OFFSET;
  const fits = (start: bigint): boolean => start >= i.kernelEnd && start >= i.ramBase &&
    (start + size <= dtb || start >= dtb + dtbSize) && start + size <= top;
  let start = i.kernelEntry + offset;
  if (!fits(start)) start = alignDown(dtb - size, PAGE);
  if (!fits(start)) {
    throw new BootLayoutError(`the initrd (${i.initrdSize} bytes) does not fit in RAM beside the kernel (which ends at ${hex(i.kernelEnd)}) and the device tree (raise --mem)`);
  }
  return { dtb, initrd: { start, end: start + size } };
}
