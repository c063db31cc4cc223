// A minimal static ELF64 executable for RISC-V, written byte by byte (ELF
// specification, "ELF Header" and "Program Header"; RISC-V psABI for the
// machine number and flags): one ELF header, one program header, and one
// read/write/execute PT_LOAD segment that maps the whole file at 0x10000. No
// sections, no symbols: enough for qemu-riscv64 and for ringvisor's loader.

export const ELF_BASE = 0x10000n;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
/** Offset of the payload in the file, and so its address minus ELF_BASE. */
export const PAYLOAD_OFFSET = EHDR_SIZE + PHDR_SIZE;
/** Guest address of the payload's first byte (the entry point). */
export const PAYLOAD_ADDRESS = ELF_BASE + BigInt(PAYLOAD_OFFSET);

const ET_EXEC = 2, EM_RISCV = 243, PT_LOAD = 1, PF_RWX = 7;
const EF_RISCV_RVC = 0x1, EF_RISCV_FLOAT_ABI_DOUBLE = 0x4;

/** Wraps `payload` (code first: the entry point is its first byte) in an ELF.
 *  `bssBytes` of zeroed memory follow it in the segment, whose permissions
 *  are `flags` (PF_X 1, PF_W 2, PF_R 4; read, write and execute by default). */
export function writeElf(payload: Uint8Array, bssBytes = 0, flags = PF_RWX): Uint8Array<ArrayBuffer> {
  const size = PAYLOAD_OFFSET + payload.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  // e_ident
  out.set([0x7f, 0x45, 0x4c, 0x46], 0); // \x7fELF
  out[4] = 2; // ELFCLASS64
  out[5] = 1; // ELFDATA2LSB
  out[6] = 1; // EV_CURRENT
  out[7] = 0; // ELFOSABI_SYSV
  v.setUint16(16, ET_EXEC, true);
  v.setUint16(18, EM_RISCV, true);
  v.setUint32(20, 1, true); // e_version
  v.setBigUint64(24, PAYLOAD_ADDRESS, true); // e_entry
  v.setBigUint64(32, BigInt(EHDR_SIZE), true); // e_phoff
  v.setBigUint64(40, 0n, true); // e_shoff: no section headers
  v.setUint32(48, EF_RISCV_RVC | EF_RISCV_FLOAT_ABI_DOUBLE, true); // e_flags
  v.setUint16(52, EHDR_SIZE, true); // e_ehsize
  v.setUint16(54, PHDR_SIZE, true); // e_phentsize
  v.setUint16(56, 1, true); // e_phnum
  v.setUint16(58, 64, true); // e_shentsize
  v.setUint16(60, 0, true); // e_shnum
  v.setUint16(62, 0, true); // e_shstrndx
  // the one program header
  const p = EHDR_SIZE;
  v.setUint32(p + 0, PT_LOAD, true);
  v.setUint32(p + 4, flags, true);
  v.setBigUint64(p + 8, 0n, true); // p_offset
  v.setBigUint64(p + 16, ELF_BASE, true); // p_vaddr
  v.setBigUint64(p + 24, ELF_BASE, true); // p_paddr
  v.setBigUint64(p + 32, BigInt(size), true); // p_filesz
  v.setBigUint64(p + 40, BigInt(size + bssBytes), true); // p_memsz
  v.setBigUint64(p + 48, 0x1000n, true); // p_align
  out.set(payload, PAYLOAD_OFFSET);
  return out;
}
