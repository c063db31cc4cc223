// The RISC-V Linux `Image` header (Documentation/riscv/boot-image-header.rst):
// 64 bytes at the start of the kernel image that say where it wants to be
// loaded (text_offset from the start of RAM, 2 MiB on RV64) and how much
// memory it spans from there (image_size, bss included).

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

/** Where a kernel goes: the pieces to copy into RAM and the entry point. */
export interface KernelLayout {
  pieces: { addr: bigint; bytes: Uint8Array; memSize: bigint }[];
  entry: bigint;
  /** The lowest and highest physical address the kernel occupies. */
  start: bigint;
  end: bigint;
}

/**
 * A kernel for a machine whose RAM starts at `ramBase`: a Linux `Image`
 * (loaded at RAM + text_offset, entered at its first byte), or a static ELF
 * (a bare-metal program: its segments at their physical addresses, entered
 * at e_entry), as qemu-system-riscv64 -kernel accepts both.
 */
export function loadKernel(bytes: Uint8Array, ramBase: bigint, file = 'kernel'): KernelLayout {
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) return loadElfKernel(bytes, file);
  const image = parseKernelImage(bytes, file);
  const at = ramBase + image.textOffset;
  return { pieces: [{ addr: at, bytes: image.bytes, memSize: image.imageSize }], entry: at, start: at, end: at + image.imageSize };
}

function loadElfKernel(bytes: Uint8Array, file: string): KernelLayout {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const fail = (why: string): never => { throw new KernelImageError(file, why); };
  if (bytes.length < 64) fail('truncated ELF header');
  if (bytes[4] !== 2 || bytes[5] !== 1) fail('not a 64-bit little-endian ELF file');
  if (v.getUint16(18, true) !== 243) fail(`not a RISC-V ELF file (e_machine ${v.getUint16(18, true)})`);
  const entry = v.getBigUint64(24, true);
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true), phnum = v.getUint16(56, true);
  if (phentsize < 56 || phoff + phnum * phentsize > bytes.length) fail('program headers run past the end of the file');
  const pieces: KernelLayout['pieces'] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (v.getUint32(at, true) !== 1) continue; // PT_LOAD
    const offset = Number(v.getBigUint64(at + 8, true));
    const paddr = v.getBigUint64(at + 24, true);
    const fileSize = Number(v.getBigUint64(at + 32, true));
    const memSize = v.getBigUint64(at + 40, true);
    if (offset + fileSize > bytes.length) fail(`segment ${i} runs past the end of the file`);
    if (BigInt(fileSize) > memSize) fail(`segment ${i} has p_filesz > p_memsz`);
    pieces.push({ addr: paddr, bytes: bytes.subarray(offset, offset + fileSize), memSize });
  }
  if (pieces.length === 0) fail('no loadable segments');
  const start = pieces.reduce((m, p) => (p.addr < m ? p.addr : m), pieces[0].addr);
  const end = pieces.reduce((m, p) => (p.addr + p.memSize > m ? p.addr + p.memSize : m), 0n);
  return { pieces, entry, start, end };
}
