// What `--kernel` may be, as qemu-system-riscv64 -M virt -bios default takes
// it (hw/riscv/boot.c, riscv_load_kernel), in its order: an ELF file, its
// PT_LOAD segments at their physical addresses; a U-Boot uImage of an
// uncompressed kernel, at its load address; anything else as a raw binary
// at the kernel's address, 2 MiB into RAM on RV64 (the first 2 MiB-aligned
// address after the firmware), entered at its first byte. A Linux `Image` is
// such a raw binary whose header (Documentation/riscv/boot-image-header.rst,
// 64 bytes) also says where it wants to be (text_offset from the start of
// RAM, 2 MiB on RV64) and how much memory it spans from there (image_size,
// bss included), which is checked against RAM.

export class KernelImageError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'KernelImageError';
  }
}

export interface KernelImage {
  /** Offset from the start of RAM the kernel must be loaded at. */
  textOffset: bigint;
  /** Bytes the kernel occupies from there, bss included (at least the file's size). */
  imageSize: bigint;
  /** Header version (major << 16 | minor). */
  version: number;
  bytes: Uint8Array;
}

const MAGIC = 0x5643534952n; // "RISCV\0\0\0", little-endian u64
const MAGIC2 = 0x05435352; // "RSC\x05"
const HEADER_BYTES = 64;

export function parseKernelImage(bytes: Uint8Array, file = 'kernel'): KernelImage {
  if (bytes.length < HEADER_BYTES) throw new KernelImageError(file, `${bytes.length} bytes: too short for a RISC-V Linux Image (its header is ${HEADER_BYTES})`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (v.getUint32(0, true) === 0x464c457f) {
    throw new KernelImageError(file, 'is an ELF file: load it with loadKernel (a vmlinux is better booted as its flat Image, arch/riscv/boot/Image)');
  }
  const magic = v.getBigUint64(48, true), magic2 = v.getUint32(56, true);
  if (magic !== MAGIC || magic2 !== MAGIC2) {
    throw new KernelImageError(file, `not a RISC-V Linux Image: no "RISCV" / "RSC\\x05" magic at offsets 48 and 56`);
  }
  const textOffset = v.getBigUint64(8, true);
  const imageSize = v.getBigUint64(16, true);
  if (textOffset % 4096n !== 0n) throw new KernelImageError(file, `text_offset 0x${textOffset.toString(16)} is not page-aligned`);
  return {
    textOffset,
    imageSize: imageSize > BigInt(bytes.length) ? imageSize : BigInt(bytes.length),
    version: v.getUint32(32, true),
    bytes,
  };
}

/** How a kernel file was understood. */
export type KernelFormat =
  /** A RISC-V Linux Image (its header). */
  | 'image'
  /** An ELF file whose segments are in RAM (a bare-metal program, uboot.elf). */
  | 'elf'
  /** A Linux vmlinux: an ELF whose segments are numbered from 0 and begin
   *  with the Image header; loaded as the Image it flattens to. */
  | 'vmlinux'
  /** A U-Boot legacy uImage of an uncompressed kernel: its payload at the
   *  header's load address, entered at its entry point. */
  | 'uimage'
  /** Anything else: raw bytes at the kernel address (u-boot.bin). */
  | 'raw';

/** Where a kernel goes: the pieces to copy into RAM and the entry point. */
export interface KernelLayout {
  format: KernelFormat;
  pieces: { addr: bigint; bytes: Uint8Array; memSize: bigint }[];
  entry: bigint;
  /** The lowest and highest physical address the kernel occupies. */
  start: bigint;
  end: bigint;
}

/** Where a raw binary (and a Linux Image, by its text_offset) goes: 2 MiB
 *  into RAM, as QEMU places a kernel after the firmware on RV64. */
export const KERNEL_OFFSET = 0x20_0000n;

const hex = (n: bigint) => `0x${n.toString(16)}`;

function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

function hasImageMagic(bytes: Uint8Array): boolean {
  if (bytes.length < HEADER_BYTES) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return v.getBigUint64(48, true) === MAGIC && v.getUint32(56, true) === MAGIC2;
}

/**
 * A kernel for a machine whose RAM is `ramSize` bytes from `ramBase`,
 * understood as qemu-system-riscv64 -kernel understands it (the file's
 * header comment): an ELF at its physical addresses, entered at its lowest
 * one (QEMU's choice: OpenSBI jumps to the load address, so a kernel may
 * keep its SBI entry apart from e_entry); a Linux vmlinux as its Image; a
 * Linux Image at RAM + text_offset; anything else raw at RAM + 2 MiB. Every
 * piece is checked against RAM before anything is copied.
 */
export function loadKernel(bytes: Uint8Array, ramBase: bigint, file = 'kernel', ramSize?: bigint): KernelLayout {
  if (bytes.length === 0) throw new KernelImageError(file, 'is empty (0 bytes): no kernel to load');
  const layout = isElf(bytes) ? loadElfKernel(bytes, ramBase, ramSize, file)
    : isUImage(bytes) ? loadUImage(bytes, file)
    : loadFlatKernel(bytes, ramBase, file);
  if (ramSize !== undefined) {
    const top = ramBase + ramSize;
    if (layout.start < ramBase || layout.end > top) {
      const size = layout.end - layout.start;
      const why = layout.start >= ramBase && size > ramSize - (layout.start - ramBase)
        ? `needs ${size} bytes from ${hex(layout.start)}, more than the VM's RAM holds there (${ramSize - (layout.start - ramBase)} of ${ramSize}; raise --mem)`
        : `occupies ${hex(layout.start)}..${hex(layout.end)}, outside the VM's RAM (${hex(ramBase)}..${hex(top)})`;
      throw new KernelImageError(file, `the kernel (${FORMAT_NAMES[layout.format]}) ${why}`);
    }
    // Only a uImage names its entry apart from where it loads: one outside
    // RAM would fault at the first fetch, with no trap handler yet.
    if (layout.entry < ramBase || layout.entry >= top) {
      throw new KernelImageError(file, `the kernel (${FORMAT_NAMES[layout.format]}) is entered at ${hex(layout.entry)}, outside the VM's RAM (${hex(ramBase)}..${hex(top)})`);
    }
  }
  return layout;
}

const FORMAT_NAMES: Record<KernelFormat, string> = {
  image: 'a Linux Image', elf: 'an ELF file', vmlinux: 'a Linux vmlinux', uimage: 'a uImage', raw: 'a raw binary',
};

// U-Boot's legacy image header (include/image.h): 64 bytes, big-endian.
const UIMAGE_MAGIC = 0x27051956;
const IH_TYPE_KERNEL = 2;
const IH_COMP_NONE = 0;

function isUImage(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(0, false) === UIMAGE_MAGIC;
}

/** A uImage as QEMU's load_uimage_as takes it for -kernel: a kernel image
 *  (not a ramdisk or script), its payload at ih_load, entered at ih_ep. */
function loadUImage(bytes: Uint8Array, file: string): KernelLayout {
  const fail = (why: string): never => { throw new KernelImageError(file, why); };
  if (bytes.length < HEADER_BYTES) fail(`truncated uImage header (${bytes.length} bytes of ${HEADER_BYTES})`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const size = v.getUint32(12, false), load = BigInt(v.getUint32(16, false)), ep = BigInt(v.getUint32(20, false));
  const type = bytes[30], comp = bytes[31];
  if (type !== IH_TYPE_KERNEL) fail(`a uImage of type ${type}, not a kernel (type ${IH_TYPE_KERNEL})`);
  // QEMU would gunzip a compressed one; the core has no decompressor (and no
  // Node-only dependency), so it says what to do instead.
  if (comp !== IH_COMP_NONE) fail(`a compressed uImage (compression ${comp}): boot the kernel inside it (mkimage -l shows it; dumpimage extracts it)`);
  if (size > bytes.length - HEADER_BYTES) fail(`truncated uImage: its header says ${size} bytes of kernel, the file holds ${bytes.length - HEADER_BYTES}`);
  const payload = bytes.subarray(HEADER_BYTES, HEADER_BYTES + size);
  const end = load + BigInt(size);
  return { format: 'uimage', pieces: [{ addr: load, bytes: payload, memSize: BigInt(size) }], entry: ep, start: load, end };
}

/** A Linux Image at RAM + text_offset, or raw bytes at RAM + 2 MiB. */
function loadFlatKernel(bytes: Uint8Array, ramBase: bigint, file: string): KernelLayout {
  // An Image cut short inside its header still shows its first magic.
  if (bytes.length < HEADER_BYTES && bytes.length >= 56 && new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(48, true) === MAGIC) {
    throw new KernelImageError(file, `truncated RISC-V Linux Image header (${bytes.length} bytes of ${HEADER_BYTES})`);
  }
  if (hasImageMagic(bytes)) {
    const image = parseKernelImage(bytes, file);
    const at = ramBase + image.textOffset;
    return { format: 'image', pieces: [{ addr: at, bytes: image.bytes, memSize: image.imageSize }], entry: at, start: at, end: at + image.imageSize };
  }
  const at = ramBase + KERNEL_OFFSET;
  const size = BigInt(bytes.length);
  return { format: 'raw', pieces: [{ addr: at, bytes, memSize: size }], entry: at, start: at, end: at + size };
}

function loadElfKernel(bytes: Uint8Array, ramBase: bigint, ramSize: bigint | undefined, file: string): KernelLayout {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const fail = (why: string): never => { throw new KernelImageError(file, why); };
  if (bytes.length < 64) fail(`truncated ELF header (${bytes.length} bytes of 64)`);
  if (bytes[4] !== 2 || bytes[5] !== 1) fail('not a 64-bit little-endian ELF file');
  if (v.getUint16(18, true) !== 243) fail(`not a RISC-V ELF file (e_machine ${v.getUint16(18, true)})`);
  const phoff = v.getBigUint64(32, true);
  const phentsize = v.getUint16(54, true), phnum = v.getUint16(56, true);
  if (phentsize < 56 || phoff + BigInt(phnum * phentsize) > BigInt(bytes.length)) fail('program headers run past the end of the file');
  const pieces: KernelLayout['pieces'] = [];
  for (let i = 0; i < phnum; i++) {
    const at = Number(phoff) + i * phentsize;
    if (v.getUint32(at, true) !== 1) continue; // PT_LOAD
    const offset = v.getBigUint64(at + 8, true);
    const paddr = v.getBigUint64(at + 24, true);
    const fileSize = v.getBigUint64(at + 32, true);
    const memSize = v.getBigUint64(at + 40, true);
    if (offset + fileSize > BigInt(bytes.length)) fail(`segment ${i} runs past the end of the file`);
    if (fileSize > memSize) fail(`segment ${i} has p_filesz > p_memsz`);
    if (paddr + memSize >= 1n << 64n) fail(`segment ${i} wraps around the address space`);
    if (memSize === 0n) continue;
    pieces.push({ addr: paddr, bytes: bytes.subarray(Number(offset), Number(offset + fileSize)), memSize });
  }
  if (pieces.length === 0) fail('no loadable segments');
  const start = pieces.reduce((m, p) => (p.addr < m ? p.addr : m), pieces[0].addr);
  const end = pieces.reduce((m, p) => (p.addr + p.memSize > m ? p.addr + p.memSize : m), 0n);
  const inRam = start >= ramBase && (ramSize === undefined || end <= ramBase + ramSize);
  // Linux's vmlinux numbers its physical addresses from 0 (AT(ADDR - LOAD_OFFSET)),
  // which is no RAM on virt (QEMU refuses it: its segments overlap the boot
  // ROM). Its bytes from there on are the Image (objcopy -O binary makes
  // the one from the other), header first: it boots as that Image would.
  const first = pieces.find((p) => p.addr === start)!;
  if (!inRam && start < ramBase && hasImageMagic(first.bytes)) {
    const span = end - start;
    // Checked before the flat copy is made: its size comes from the file.
    const room = ramSize ?? 0x4000_0000n;
    if (span > room) fail(`the kernel (a Linux vmlinux) spans ${span} bytes, more than the VM's RAM (${room}; raise --mem)`);
    const flat = new Uint8Array(Number(pieces.reduce((m, p) => { const e = p.addr - start + BigInt(p.bytes.length); return e > m ? e : m; }, 0n)));
    for (const p of pieces) flat.set(p.bytes, Number(p.addr - start));
    const image = parseKernelImage(flat, file);
    const at = ramBase + image.textOffset;
    const memSize = image.imageSize > span ? image.imageSize : span;
    return { format: 'vmlinux', pieces: [{ addr: at, bytes: flat, memSize }], entry: at, start: at, end: at + memSize };
  }
  // QEMU enters an ELF kernel at its lowest load address, not e_entry.
  return { format: 'elf', pieces, entry: start, start, end };
}
