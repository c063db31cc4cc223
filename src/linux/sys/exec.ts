// New processes and new programs: clone for a process (fork, vfork,
// posix_spawn), execve and execveat.
//
// fork copies the calling process into a new one with a CPU instance of its
// own (ProcessVM.forkChild: registers, the address space's mappings and the
// bytes of every page written so far, descriptors sharing their open file
// descriptions, signal actions, limits, working directory). vfork, and
// clone(CLONE_VM | CLONE_VFORK) as glibc's posix_spawn makes it, lends the
// child the parent's own CPU and memory instead, as Linux shares them, and
// the parent waits until the child calls execve or ends; nothing is copied.
//
// execve reads the program through the guest's file view (the sandbox, and
// a sysroot first for absolute paths), follows `#!` lines as binfmt_script
// does, checks everything a failure could be reported for, and only then
// replaces the process's image (ProcessVM.replaceImage).
import { EACCES, EAGAIN, E2BIG, EBADF, EFAULT, EINVAL, ELIBBAD, ELOOP, ENOEXEC, ENOENT, ENOMEM, ENOSYS } from '../errno.js';
import type { ProcessVM } from '../process-vm.js';
import { checkProgram, ArgumentListTooLongError } from '../process-vm.js';
import { OutOfChunks } from '../address-space.js';
import { parseElf, ElfError, MAX_PROGRAM_BYTES, type ElfImage } from '../elf.js';
import { readInterpreter, type Interpreter } from '../loader.js';
import { FsError, O_RDONLY, S_IFLNK, S_IFMT, isRegular, bytesToName } from '../fs/types.js';
import { pathArg, baseOf } from './files.js';
import { processState, RLIMIT_NPROC } from './process.js';
import type { SyscallFamily } from '../syscalls.js';

import {
  CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT,
  CLONE_THREAD, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID,
} from './threads.js';

export interface ProcessCloneRequest {
  flags: bigint;
  exitSignal: number;
  stack: bigint;
  parentTid: bigint;
  childTid: bigint;
  tls: bigint;
}

/**
 * clone for a new process. Supported: a copy (fork), or the parent's memory
 * lent until execve (CLONE_VM with CLONE_VFORK). A process that would share
 * its descriptor table, file-system state or signal handlers with its
 * parent, or run beside it in the same memory, cannot be made here: ENOSYS
 * (CLONE_VM without CLONE_VFORK, CLONE_FILES, CLONE_FS, CLONE_SIGHAND,
 * CLONE_PARENT, CLONE_PTRACE, CLONE_PIDFD).
 */
export function cloneProcess(p: ProcessVM, r: ProcessCloneRequest): bigint {
  const f = r.flags;
  const lend = (f & CLONE_VM) !== 0n;
  if ((lend && (f & CLONE_VFORK) === 0n) || (f & (CLONE_FILES | CLONE_FS | CLONE_SIGHAND | CLONE_PARENT | CLONE_PTRACE | CLONE_PIDFD | CLONE_THREAD)) !== 0n) {
    return -BigInt(ENOSYS);
  }
  if (p.inCall) return -BigInt(ENOSYS);
  if (!p.processes.mayCreate()) return -BigInt(EAGAIN);
  // RLIMIT_NPROC: the processes of the caller's real uid, unless root's.
  const uid = p.ids.ruid;
  if (uid !== 0 && BigInt(p.processes.all().filter((q) => q.ids.ruid === uid).length) >= processState(p).limits[RLIMIT_NPROC][0]) return -BigInt(EAGAIN);
  let child: ProcessVM;
  try {
    child = p.forkChild(lend);
  } catch (e) {
    if (e instanceof OutOfChunks) return -BigInt(ENOMEM);
    throw e;
  }
  if (!lend && p.memoryLimitExceeded()) {
    // The copy does not fit in --mem: the child never runs (fork's ENOMEM).
    child.exit(0);
    p.children.delete(child);
    child.parent = undefined;
    p.processes.drop(child);
    return -BigInt(ENOMEM);
  }
  child.exitSignal = r.exitSignal;
  const cpu = child.cpu;
  cpu.setX(10, 0n); // the child's clone returns 0
  if (r.stack !== 0n) cpu.setX(2, r.stack);
  if ((f & CLONE_SETTLS) !== 0n) cpu.setX(4, r.tls);
  if ((f & CLONE_CHILD_CLEARTID) !== 0n) child.threads.current.clearChildTid = r.childTid;
  if ((f & CLONE_CHILD_SETTID) !== 0n && child.user.canWrite(r.childTid, 4)) child.user.write32(r.childTid, child.pid);
  if ((f & CLONE_PARENT_SETTID) !== 0n && p.user.canWrite(r.parentTid, 4)) p.user.write32(r.parentTid, child.pid);
  if (!lend) return BigInt(child.pid);
  // The parent waits, its registers saved by forkChild; the result written
  // now lands in the child's a0 (0), the parent's comes at its release.
  p.threads.block({ kind: 'vfork', child: child.pid }, 0n, `in vfork (child ${child.pid})`);
  return 0n;
}

// ---- execve ----

/** Linux's BINPRM_BUF_SIZE: a `#!` line longer than this is cut (ENOEXEC if
 *  the interpreter's name does not fit). */
const BINPRM_BUF_SIZE = 256;
/** How many `#!` interpreters may lead to one another (binfmt's depth). */
const MAX_SCRIPT_DEPTH = 4;
/** argv or envp entries at most (MAX_ARG_STRINGS). */
const MAX_ARG_STRINGS = 0x7fffffff;

class ExecError extends Error {
  constructor(readonly errno: number) {
    super(`execve: errno ${errno}`);
  }
}

// A NULL-terminated array of string pointers (argv, envp): each string's
// bytes without the NUL.
function stringArray(p: ProcessVM, ptr: bigint): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (ptr === 0n) return out;
  let total = 0;
  for (let i = 0; ; i++) {
    if (i >= MAX_ARG_STRINGS) throw new ExecError(E2BIG);
    const s = p.user.read64(ptr + BigInt(i * 8));
    if (s === 0n) return out;
    const bytes = readCString(p, s);
    total += bytes.length + 1 + 8;
    // Past the whole argument space: E2BIG before reading further.
    if (total > 2 * 1024 * 1024) throw new ExecError(E2BIG);
    out.push(bytes);
  }
}

// A NUL-terminated string from the guest, page by page as pathArg reads.
function readCString(p: ProcessVM, addr: bigint): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (let a = addr; ;) {
    const pageEnd = (a & ~4095n) + 4096n;
    const k = p.user.readablePrefix(a, Number(pageEnd - a));
    if (k === 0) throw new ExecError(EFAULT);
    const bytes = p.user.read(a, k);
    const nul = bytes.indexOf(0);
    parts.push(nul < 0 ? bytes : bytes.subarray(0, nul));
    n += nul < 0 ? bytes.length : nul;
    if (n > 128 * 1024) throw new ExecError(E2BIG);
    if (nul >= 0) break;
    if (k < Number(pageEnd - a)) throw new ExecError(EFAULT);
    a = pageEnd;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

// The bytes of the file `path` names for execve (a regular file the guest
// may execute), and the guest path it was found at (/proc/self/exe then).
function readProgram(p: ProcessVM, dirfd: number, path: string, follow: boolean): { bytes: Uint8Array; at: string } {
  const r = p.fs.resolve(baseOf(p, dirfd, path), path, follow);
  // AT_SYMLINK_NOFOLLOW on a link: ELOOP, as open(O_NOFOLLOW) gives.
  if (!follow && (r.stat.mode & S_IFMT) === S_IFLNK) throw new ExecError(ELOOP);
  if (!isRegular(r.stat)) throw new ExecError(EACCES);
  p.fs.access(r, 1);
  if (r.stat.size > BigInt(MAX_PROGRAM_BYTES)) throw new ExecError(ENOMEM);
  const file = p.fs.open(r, O_RDONLY, 0);
  try {
    const buf = new Uint8Array(Number(r.stat.size));
    let n = 0;
    while (n < buf.length) {
      const k = file.read(buf.subarray(n), n);
      if (k === 0) break;
      n += k;
    }
    return { bytes: buf.subarray(0, n), at: '/' + r.guest.join('/') };
  } finally {
    file.close();
  }
}

// binfmt_script: "#!interpreter [one argument]" in the first line.
function parseShebang(bytes: Uint8Array): { interp: string; arg?: string } | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x23 || bytes[1] !== 0x21) return undefined;
  const head = bytes.subarray(2, BINPRM_BUF_SIZE);
  const nl = head.indexOf(0x0a);
  const line = bytesToName(nl < 0 ? head : head.subarray(0, nl)).replace(/^[ \t]+|[ \t]+$/g, '');
  // A line cut by the buffer whose interpreter name does not fit in it.
  if (nl < 0 && !/[ \t]/.test(line) && bytes.length > BINPRM_BUF_SIZE) throw new ExecError(ENOEXEC);
  if (line === '') throw new ExecError(ENOEXEC);
  // The name ends at a space, a tab or a NUL; the argument is the rest
  // (any byte but NUL, a carriage return included), spaces and tabs first
  // skipped, as binfmt_script reads it.
  const nameEnd = line.search(/[ \t\0]/);
  const interp = nameEnd < 0 ? line : line.slice(0, nameEnd);
  if (interp === '') throw new ExecError(ENOEXEC);
  const rest = nameEnd < 0 ? '' : line.slice(nameEnd).replace(/^[ \t]+/, '');
  const arg = rest.split('\0')[0];
  return { interp, arg: arg === '' ? undefined : arg };
}

interface Program {
  /** The guest path the program was found at. */
  at: string;
  bytes: Uint8Array;
  image: ElfImage;
  interp: Interpreter | undefined;
  argv: Uint8Array[];
  path: string;
}

// Finds the program execve runs: scripts lead to their interpreters.
function findProgram(p: ProcessVM, first: { bytes: Uint8Array; at: string }, path: string, argv: Uint8Array[]): Program {
  for (let depth = 0; ; depth++) {
    const { bytes, at } = depth === 0 ? first : readProgram(p, AT_FDCWD, path, true);
    const script = parseShebang(bytes);
    if (!script) {
      let image: ElfImage;
      try {
        image = parseElf(bytes, path);
      } catch (e) {
        if (e instanceof ElfError) throw new ExecError(ENOEXEC);
        throw e;
      }
      let interp: Interpreter | undefined;
      try {
        interp = readInterpreter(p.fs, image, path);
      } catch (e) {
        if (e instanceof ElfError) throw new ExecError(e.exitStatus === 127 ? ENOENT : ELIBBAD);
        throw e;
      }
      return { at, bytes, image, interp, argv, path };
    }
    if (depth >= MAX_SCRIPT_DEPTH) throw new ExecError(ELOOP);
    // argv[0] gives way to the interpreter, its argument and the script's path.
    const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    argv = [enc(script.interp), ...(script.arg !== undefined ? [enc(script.arg)] : []), enc(path), ...argv.slice(1)];
    path = script.interp;
  }
}

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;

function execveat(p: ProcessVM, dirfd: number, pathPtr: bigint, argvPtr: bigint, envpPtr: bigint, flags: number): bigint {
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return -BigInt(EINVAL);
  if (p.inCall) return -BigInt(ENOSYS);
  let program: Program, env: Uint8Array[];
  try {
    // Linux's order: the name, the file (alloc_bprm opens it), then argv
    // and the environment.
    const path = pathArg(p, pathPtr);
    if (path === '' && !(flags & AT_EMPTY_PATH)) return -BigInt(ENOENT);
    // AT_EMPTY_PATH: the file dirfd is open on (EBADF when none).
    if (path === '' && !p.files.has(dirfd)) return -BigInt(EBADF);
    const target = path === '' ? `/proc/self/fd/${dirfd}` : path;
    const first = readProgram(p, path === '' ? AT_FDCWD : dirfd, target, path === '' || !(flags & AT_SYMLINK_NOFOLLOW));
    const argv = stringArray(p, argvPtr);
    // An empty argv gets an empty argv[0] (Linux 5.18 and later), so that
    // no program sees argc 0 (CVE-2021-4034).
    if (argv.length === 0) argv.push(new Uint8Array(0));
    env = stringArray(p, envpPtr);
    program = findProgram(p, first, target, argv);
    checkProgram(program.image, program.interp, program.path, program.argv, env);
  } catch (e) {
    if (e instanceof ExecError) return -BigInt(e.errno);
    if (e instanceof FsError) return -BigInt(e.errno);
    if (e instanceof ArgumentListTooLongError) return -BigInt(E2BIG);
    if (e instanceof ElfError) return -BigInt(ENOEXEC);
    throw e;
  } finally {
    p.fs.settle();
  }
  // The point of no return.
  p.replaceImage(program.bytes, program.image, program.interp, program.argv, env, program.path, program.at);
  return 0n;
}

function sysExecve(p: ProcessVM, [path, argv, envp]: bigint[]): bigint {
  return execveat(p, AT_FDCWD, path, argv, envp, 0);
}

function sysExecveat(p: ProcessVM, [dirfd, path, argv, envp, flags]: bigint[]): bigint {
  return execveat(p, Number(BigInt.asIntN(32, dirfd)), path, argv, envp, Number(flags & 0xffffffffn));
}

export const EXEC_SYSCALLS: SyscallFamily = [
  [221, { name: 'execve', argc: 3, handler: sysExecve }],
  [281, { name: 'execveat', argc: 5, handler: sysExecveat }],
];
