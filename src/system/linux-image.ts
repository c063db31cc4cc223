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
    throw new KernelImageError(file, 'is an ELF file (vmlinux?): ringvisor boot wants the flat Image (arch/riscv/boot/Image)');
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
