// ELF64 parsing for the process VM: what the loader needs and precise errors
// for everything it refuses (ELF specification, "ELF Header" and "Program
// Header"; RISC-V psABI for EM_RISCV).
import { programBytes } from './program-bytes.js';

export const EM_RISCV = 243;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_PHDR = 6;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

/** Where Linux riscv64 puts a position-independent program (arch/riscv/include/
 *  asm/elf.h: ELF_ET_DYN_BASE, two thirds of the Sv39 user address space,
 *  DEFAULT_MAP_WINDOW = 1 << 38; fs/binfmt_elf.c rounds the bias down to a
 *  page). */
export const ELF_ET_DYN_BASE = ((1n << 38n) / 3n) * 2n;
/** The lowest address a program may map (Linux's default vm.mmap_min_addr):
 *  below it, in particular at 0, every access faults. */
export const MMAP_MIN_ADDR = 0x10000n;
/** The largest program file ringvisor reads (a program, or the interpreter
 *  of a dynamically linked one): 1 GiB. A program's loaded segments must fit
 *  in its guest memory (at most 4032 MiB) anyway; a file bigger than this is
 *  debug information or not a program at all. */
export const MAX_PROGRAM_BYTES = 1024 * 1024 * 1024;
const PAGE_MASK = 0xfffn;
/** One past the highest 64-bit address. */
const ADDRESS_SPACE_END = 1n << 64n;
const SHN_ABS = 0xfff1;

/** A file ringvisor cannot run, and why. `exitStatus` is what a shell would report. */
export class ElfError extends Error {
  constructor(readonly file: string, readonly reason: string, readonly exitStatus = 126) {
    super(`${file}: ${reason}`);
    this.name = 'ElfError';
  }
}

export interface Segment {
  vaddr: bigint;
  memSize: bigint;
  fileOffset: number;
  fileSize: number;
  flags: number;
}

/**
 * The program as it is placed in guest memory. Every address in it (segment
 * vaddr, entry, symbol values) is where the program runs: the file's value plus
 * `loadBias`.
 */
export interface ElfImage {
  type: number;
  /** Added to the file's addresses: 0 for ET_EXEC, see loadBias() for ET_DYN. */
  loadBias: bigint;
  entry: bigint;
  phoff: bigint;
  phentsize: number;
  phnum: number;
  segments: Segment[];
  /** Symbol table (name -> value), when the file has one. */
  symbols: Map<string, bigint>;
  /** PT_INTERP: the path of the program interpreter (the dynamic linker,
   *  e.g. /lib/ld-linux-riscv64-lp64d.so.1) of a dynamically linked
   *  program; loader.ts loads it. Undefined for a static program. */
  interpreter?: string;
}

/** The longest PT_INTERP path Linux accepts (fs/binfmt_elf.c: p_filesz
 *  between 2 and PATH_MAX, NUL included). */
const PATH_MAX = 4096;

export interface ParseOptions {
  /** Place an ET_DYN program here instead of where Linux would (page-aligned;
   *  ignored for ET_EXEC, which runs where it was linked). */
  loadBias?: bigint;
}

/**
 * Where an ET_DYN program goes, given the lowest p_vaddr of its PT_LOADs (0 for
 * what `gcc -static-pie` links): the bias that puts that segment at
 * ELF_ET_DYN_BASE, rounded down to a page (fs/binfmt_elf.c, load_elf_binary).
 * Linux puts an ET_DYN with PT_INTERP (a PIE) there and one without (a static
 * PIE, which Linux treats like ld.so itself) in the mmap region instead;
 * ringvisor's address space is one window with the program at its bottom, so
 * both go where a PIE goes, well away from 0. 0 for ET_EXEC.
 */
export function loadBias(type: number, lowestVaddr: bigint): bigint {
  return type === ET_DYN ? (ELF_ET_DYN_BASE - lowestVaddr) & ~PAGE_MASK : 0n;
}

export function parseElf(bytes: Uint8Array, file: string, options: ParseOptions = {}): ElfImage {
  const fail = (reason: string): never => { throw new ElfError(file, reason); };
  if (bytes.length < 64) fail(`truncated ELF header (${bytes.length} bytes, need 64)`);
  // (A lazily read program holds only what is asked for: program-bytes.ts.)
  programBytes(bytes, 0, 64);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) fail('not an ELF file (bad magic)');
  if (bytes[4] !== 2) fail(`not a 64-bit ELF (EI_CLASS ${bytes[4]})`);
  if (bytes[5] !== 1) fail(`not a little-endian ELF (EI_DATA ${bytes[5]})`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = v.getUint16(16, true);
  const machine = v.getUint16(18, true);
  if (machine !== EM_RISCV) fail(`not a RISC-V ELF (e_machine ${machine}, expected ${EM_RISCV})`);
  if (type !== ET_EXEC && type !== ET_DYN) fail(`not an executable (e_type ${type})`);
  const entry = v.getBigUint64(24, true);
  const phoff = v.getBigUint64(32, true);
  const shoff = v.getBigUint64(40, true);
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  const shentsize = v.getUint16(58, true);
  const shnum = v.getUint16(60, true);
  if (phnum === 0) fail('no program headers');
  if (phentsize !== 56) fail(`unexpected program header size ${phentsize} (expected 56)`);
  if (phoff + BigInt(phnum * phentsize) > BigInt(bytes.length)) {
    fail(`program headers at offset ${phoff} run past the end of the file (${bytes.length} bytes)`);
  }
  programBytes(bytes, Number(phoff), Number(phoff) + phnum * phentsize);
  const segments: Segment[] = [];
  let interpreter: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const at = Number(phoff) + i * phentsize;
    const pType = v.getUint32(at, true);
    // The first PT_INTERP counts, as in load_elf_binary.
    if (pType === PT_INTERP && interpreter === undefined) interpreter = readInterp(bytes, v, at, i, fail);
    if (pType !== PT_LOAD) continue;
    const seg: Segment = {
      flags: v.getUint32(at + 4, true),
      fileOffset: Number(v.getBigUint64(at + 8, true)),
      vaddr: v.getBigUint64(at + 16, true),
      fileSize: Number(v.getBigUint64(at + 32, true)),
      memSize: v.getBigUint64(at + 40, true),
    };
    if (seg.fileOffset + seg.fileSize > bytes.length) {
      fail(`segment ${i} (file offset ${seg.fileOffset}, ${seg.fileSize} bytes) runs past the end of the file (${bytes.length} bytes): truncated?`);
    }
    if (BigInt(seg.fileSize) > seg.memSize) fail(`segment ${i} has p_filesz ${seg.fileSize} > p_memsz ${seg.memSize}`);
    segments.push(seg);
  }
  if (segments.length === 0) fail('no loadable segments');
  const lowest = segments.reduce((m, s) => (s.vaddr < m ? s.vaddr : m), segments[0].vaddr);
  let bias = loadBias(type, lowest);
  if (type === ET_DYN && options.loadBias !== undefined) {
    if ((options.loadBias & PAGE_MASK) !== 0n) fail(`load bias 0x${options.loadBias.toString(16)} is not page-aligned`);
    bias = options.loadBias;
  }
  for (const [i, s] of segments.entries()) {
    s.vaddr += bias;
    // A segment must lie inside the 64-bit address space: a bigint has no
    // wrap-around, and one past 2^64 would alias address 0 in the CPU.
    if (s.vaddr < 0n || s.vaddr + s.memSize > ADDRESS_SPACE_END) {
      fail(`segment ${i} at 0x${BigInt.asUintN(64, s.vaddr).toString(16)} (${s.memSize} bytes) does not fit in the 64-bit address space`);
    }
    // Linux refuses to map below vm.mmap_min_addr; a program there would have
    // a readable null page.
    if (s.vaddr < MMAP_MIN_ADDR) {
      fail(`segment ${i} at 0x${s.vaddr.toString(16)} is below 0x${MMAP_MIN_ADDR.toString(16)}, the lowest address a program may map`);
    }
  }
  let symbols: Map<string, bigint> | undefined;
  return {
    // Linux adds the bias to e_entry in unsigned arithmetic: it wraps.
    type, loadBias: bias, entry: BigInt.asUintN(64, entry + bias), phoff, phentsize, phnum, segments, interpreter,
    // Read when first asked for (vmcall, fault reports): a VM that never
    // needs them should not pay for a large program's symbol table.
    get symbols() { return symbols ??= readSymbols(v, bytes, shoff, shentsize, shnum, bias); },
  };
}

// The interpreter's path from a PT_INTERP header: a NUL-terminated string of
// 2 to PATH_MAX bytes inside the file, as load_elf_binary requires (ENOEXEC
// otherwise). Kept as a byte string (one char per byte), as guest paths are.
function readInterp(bytes: Uint8Array, v: DataView, at: number, i: number, fail: (reason: string) => never): string {
  const off = v.getBigUint64(at + 8, true);
  const size = v.getBigUint64(at + 32, true);
  if (size < 2n || size > BigInt(PATH_MAX)) fail(`PT_INTERP (program header ${i}) is ${size} bytes long (2 to ${PATH_MAX})`);
  if (off + size > BigInt(bytes.length)) fail(`PT_INTERP (program header ${i}, file offset ${off}, ${size} bytes) runs past the end of the file (${bytes.length} bytes): truncated?`);
  const path = programBytes(bytes, Number(off), Number(off + size));
  if (path[path.length - 1] !== 0) fail(`PT_INTERP (program header ${i}) is not NUL-terminated`);
  // (Linux then uses it as a C string: a NUL inside ends it early.)
  const end = path.indexOf(0);
  let s = '';
  for (let k = 0; k < end; k++) s += String.fromCharCode(path[k]);
  return s;
}

// The static symbol table (.symtab), used by `call(symbol)` and fault messages.
// A missing or malformed one is not an error: stripped programs still run.
// Values are biased like the segments, except absolute symbols (SHN_ABS),
// which name numbers, not places.
function readSymbols(v: DataView, bytes: Uint8Array, shoff: bigint, shentsize: number, shnum: number, bias: bigint): Map<string, bigint> {
  const symbols = new Map<string, bigint>();
  if (shoff === 0n || shentsize !== 64 || shoff + BigInt(shnum * 64) > BigInt(bytes.length)) return symbols;
  programBytes(bytes, Number(shoff), Number(shoff) + shnum * 64);
  const SHT_SYMTAB = 2;
  const decoder = new TextDecoder();
  for (let i = 0; i < shnum; i++) {
    const sh = Number(shoff) + i * 64;
    if (v.getUint32(sh + 4, true) !== SHT_SYMTAB) continue;
    const off = Number(v.getBigUint64(sh + 24, true));
    const size = Number(v.getBigUint64(sh + 32, true));
    const link = v.getUint32(sh + 40, true);
    if (link >= shnum || off + size > bytes.length) return symbols;
    const strSh = Number(shoff) + link * 64;
    const strOff = Number(v.getBigUint64(strSh + 24, true));
    const strSize = Number(v.getBigUint64(strSh + 32, true));
    if (strOff + strSize > bytes.length) return symbols;
    programBytes(bytes, off, off + size);
    programBytes(bytes, strOff, strOff + strSize);
    for (let s = off; s + 24 <= off + size; s += 24) {
      const nameAt = v.getUint32(s, true);
      if (nameAt === 0 || nameAt >= strSize) continue;
      let end = strOff + nameAt;
      while (end < strOff + strSize && bytes[end] !== 0) end++;
      const name = decoder.decode(bytes.subarray(strOff + nameAt, end));
      const value = v.getBigUint64(s + 8, true);
      const shndx = v.getUint16(s + 6, true);
      if (value !== 0n && !symbols.has(name)) symbols.set(name, shndx === SHN_ABS ? value : value + bias);
    }
  }
  return symbols;
}
