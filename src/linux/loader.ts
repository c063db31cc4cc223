// The program interpreter of a dynamically linked program (PT_INTERP: the
// dynamic linker, e.g. /lib/ld-linux-riscv64-lp64d.so.1), loaded as Linux's
// execve loads it (fs/binfmt_elf.c: load_elf_binary and load_elf_interp):
//
// - its path is looked up in the guest's own file view (the process's mount
//   namespace in Linux), where a sysroot (-L, GuestFs.mountSysroot) is
//   looked in first, as under qemu-riscv64 -L; it must be a regular file
//   and an ELF for this machine;
// - the program itself is mapped as a static one is (ET_EXEC at its
//   addresses, a PIE at ELF_ET_DYN_BASE), and the break starts after it;
// - the interpreter, position-independent, goes where an mmap of its size
//   would go (the highest free room below the mappings' top), and the
//   process starts at its entry, with AT_BASE its load address and AT_ENTRY,
//   AT_PHDR and AT_PHNUM the program's, from which it finds and relocates
//   the program and opens the shared libraries through ordinary system calls.
import { type Cpu, Perm } from '../cpu/cpu.js';
import type { ProcessMemory } from './process-vm.js';
import { pageDown, pageUp } from './address-space.js';
import { ElfError, ET_DYN, MAX_PROGRAM_BYTES, PF_R, PF_W, PF_X, parseElf, type ElfImage } from './elf.js';
import type { GuestFs } from './fs/guest-fs.js';
import { FsError, O_RDONLY, isRegular } from './fs/types.js';
import { ENOENT, ENOTDIR, ELOOP, EACCES } from './errno.js';

/** A shell's statuses for a program that cannot be started: 127 when a file
 *  it needs is not there (execve's ENOENT), 126 when it cannot be used. */
const NOT_FOUND = 127;
const CANNOT_RUN = 126;

/** A dynamically linked program's interpreter, read and checked. */
export interface Interpreter {
  /** The path PT_INTERP names (a byte string). */
  path: string;
  bytes: Uint8Array;
  /** As parsed at its default place (loadBias() for ET_DYN). */
  image: ElfImage;
  /** Bytes from its lowest page to the end of its highest segment. */
  span: bigint;
}

/** Where a program starts: the interpreter's entry, or the program's own. */
export interface ProgramStart {
  /** AT_BASE: where the interpreter is loaded (0 without one). */
  base: bigint;
  /** The first pc. */
  entry: bigint;
}

// What to tell the user when the interpreter is not there: which option
// gives it (ringvisor run -L, RINGVISOR_LD_PREFIX, ProcessVMOptions.sysroot).
function missingHint(fs: GuestFs): string {
  return fs.hasSysroot
    ? `neither in the sysroot (${fs.sysrootLabel}) nor in the guest's files`
    : "not in the guest's files: a dynamically linked program needs a riscv64 sysroot that holds it " +
      '(ringvisor run -L SYSROOT, e.g. -L /usr/riscv64-linux-gnu, or RINGVISOR_LD_PREFIX)';
}

/**
 * Reads the interpreter `image` names through the guest's file view `fs`,
 * or returns undefined for a static program. Throws ElfError (naming the
 * program and the interpreter) for a missing, unreadable, oversized or
 * foreign interpreter, with a shell's status.
 */
export function readInterpreter(fs: GuestFs, image: ElfImage, programName: string): Interpreter | undefined {
  const path = image.interpreter;
  if (path === undefined) return undefined;
  const fail = (reason: string, status: number): never => { throw new ElfError(programName, `interpreter ${path}: ${reason}`, status); };
  let bytes: Uint8Array;
  try {
    const r = fs.resolve(undefined, path);
    // Linux's open_exec: a regular file only (a directory, a device or a
    // FIFO is EACCES; reading a FIFO would block the host besides).
    if (!isRegular(r.stat)) fail('not a regular file', CANNOT_RUN);
    if (r.stat.size > BigInt(MAX_PROGRAM_BYTES)) fail(`too large (${r.stat.size} bytes; at most ${MAX_PROGRAM_BYTES})`, CANNOT_RUN);
    const file = fs.open(r, O_RDONLY, 0);
    try {
      // No more than the size it had when looked at, plus a byte to notice
      // one that grows while it is read.
      const buf = new Uint8Array(Number(r.stat.size) + 1);
      let n = 0;
      while (n < buf.length) {
        const k = file.read(buf.subarray(n), n);
        if (k === 0) break;
        n += k;
      }
      if (n > Number(r.stat.size)) fail('changed while it was read', CANNOT_RUN);
      bytes = buf.subarray(0, n);
    } finally {
      file.close();
    }
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    if (e.errno === ENOENT) fail(missingHint(fs), NOT_FOUND);
    const why = e.errno === ENOTDIR ? 'a component of the path is not a directory'
      : e.errno === ELOOP ? 'too many levels of symbolic links'
        : e.errno === EACCES ? 'permission denied' : `cannot be read (errno ${e.errno})`;
    fail(why, e.errno === ENOTDIR ? NOT_FOUND : CANNOT_RUN);
  } finally {
    fs.settle();
  }
  let interp: ElfImage;
  try {
    interp = parseElf(bytes!, path);
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    fail(e.reason, CANNOT_RUN);
  }
  if (interp!.interpreter !== undefined) fail(`itself names an interpreter (${interp!.interpreter}): not a dynamic linker`, CANNOT_RUN);
  const lowest = interp!.segments.reduce((m, s) => (s.vaddr < m ? s.vaddr : m), interp!.segments[0].vaddr);
  const end = interp!.segments.reduce((m, s) => (s.vaddr + s.memSize > m ? s.vaddr + s.memSize : m), 0n);
  return { path, bytes: bytes!, image: interp!, span: pageUp(end) - pageDown(lowest) };
}

/** Fails (before a CPU is taken: a refused program costs the next VM
 *  nothing) when the interpreter cannot fit between the program's break
 *  and the mappings' top, [low, high). */
export function checkInterpreterRoom(interp: Interpreter, low: bigint, high: bigint, programName: string): void {
  if (interp.image.type === ET_DYN ? interp.span > high - low : !fitsFixed(interp.image, low, high)) {
    throw new ElfError(programName, `interpreter ${interp.path} (${interp.span} bytes) does not fit in guest memory beside the program and its stack`);
  }
}

function fitsFixed(image: ElfImage, low: bigint, high: bigint): boolean {
  return image.segments.every((s) => s.vaddr >= low && s.vaddr + s.memSize <= high);
}

/**
 * Maps the interpreter into the process's address space: an ET_DYN one where
 * an mmap of its size would go (the highest free room between the break and
 * the mappings' top, as sys/memory.ts chooses), an ET_EXEC one at its own
 * addresses. Each segment gets its flags' permissions and its file bytes;
 * the rest reads as zero (.bss). Returns AT_BASE and the entry.
 */
export function mapInterpreter(memory: ProcessMemory, cpu: Cpu, interp: Interpreter, programName: string): ProgramStart {
  const space = memory.space, low = pageUp(memory.brk), high = memory.mmapTop;
  let image = interp.image;
  if (image.type === ET_DYN) {
    const at = space.findFree(interp.span, low, high);
    if (at === undefined) throw new ElfError(programName, `interpreter ${interp.path} (${interp.span} bytes): no room for it in guest memory`);
    // The bias that puts its lowest page (as the file numbers it) at `at`.
    const lowestInFile = image.segments.reduce((m, s) => (s.vaddr < m ? s.vaddr : m), image.segments[0].vaddr) - image.loadBias;
    image = parseElf(interp.bytes, interp.path, { loadBias: at - pageDown(lowestInFile) });
  } else if (!fitsFixed(image, low, high) || image.segments.some((s) => !space.isFree(pageDown(s.vaddr), pageUp(s.vaddr + s.memSize) - pageDown(s.vaddr)))) {
    throw new ElfError(programName, `interpreter ${interp.path} is linked at addresses the program or its stack already use`);
  }
  for (const s of image.segments) {
    const perms = (s.flags & PF_R ? Perm.R : 0) | (s.flags & PF_W ? Perm.R | Perm.W : 0) | (s.flags & PF_X ? Perm.X : 0);
    space.mapMerge(s.vaddr, s.memSize, perms);
    space.deferContent(s.vaddr, interp.bytes.subarray(s.fileOffset, s.fileOffset + s.fileSize));
  }
  // AT_BASE: the interpreter's load bias, 0 for one linked at fixed
  // addresses (load_elf_interp's load_addr).
  return { base: image.type === ET_DYN ? image.loadBias : 0n, entry: image.entry };
}
