// Reading the program a process VM is to run, from the host's files, with
// the checks that keep a bad path from hurting the host: `ringvisor run
// /dev/zero` would otherwise read without end (host memory grows until Node
// dies), and a FIFO would block the host thread until some writer appeared.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

import { MAX_PROGRAM_BYTES } from '../linux/elf.js';
import { lazyProgram } from '../linux/program-bytes.js';

// (In the core, which checks a program's interpreter against it too.)
export { MAX_PROGRAM_BYTES };

/** Why a program file cannot be read; `exitStatus` is what a shell reports
 *  (127: there is no such file; 126: there is one, but it cannot be run). */
export class ProgramFileError extends Error {
  constructor(readonly file: string, readonly reason: string, readonly exitStatus: number) {
    super(`${file}: ${reason}`);
    this.name = 'ProgramFileError';
  }
}

function kind(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'Is a directory';
  if (st.isFIFO()) return 'not a regular file (a FIFO)';
  if (st.isCharacterDevice()) return 'not a regular file (a character device)';
  if (st.isBlockDevice()) return 'not a regular file (a block device)';
  if (st.isSocket()) return 'not a regular file (a socket)';
  return 'not a regular file';
}

// Opens the regular file at `path` for reading, without blocking (O_NONBLOCK:
// opening a FIFO for reading would otherwise wait for a writer), and checks
// its type and size on the open descriptor: the descriptor and its size.
function openRegular(path: string, maxBytes: number): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : code === 'ENXIO' ? 'not a regular file' : (e as Error).message;
    throw new ProgramFileError(path, why, code === 'ENOENT' ? 127 : 126);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ProgramFileError(path, kind(st), 126);
    if (st.size > maxBytes) throw new ProgramFileError(path, `too large (${st.size} bytes; a program may have at most ${maxBytes})`, 126);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * The bytes of the regular file at `path`, at most `maxBytes` of them, read
 * whole (a checkpoint's file). The file's type and size are checked first
 * (openRegular), and no more than the size it had then is read (plus one
 * byte, to notice a file that grows while it is read).
 */
export function readProgramFile(path: string, maxBytes = MAX_PROGRAM_BYTES): Uint8Array {
  const { fd, size } = openRegular(path, maxBytes);
  try {
    const bytes = new Uint8Array(size + 1);
    let n = 0;
    while (n < bytes.length) {
      const got = readSync(fd, bytes, n, bytes.length - n, n);
      if (got === 0) break;
      n += got;
    }
    if (n > size) throw new ProgramFileError(path, 'changed while it was read', 126);
    return bytes.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * The program at `path` (checked as readProgramFile checks it) as a lazy
 * program (src/linux/program-bytes.ts): read as the ELF parser and the
 * program's first touches of its segments need it, from a descriptor kept
 * open for the rest of the process (so a file replaced by another under its
 * name keeps running, as under Linux). A file that no longer has the bytes
 * asked for, because it shrank while the program ran, throws
 * ProgramFileError with the status of a process killed by SIGBUS (135),
 * which is what Linux gives a program whose file is truncated under it.
 */
export function openProgramFile(path: string, maxBytes = MAX_PROGRAM_BYTES): Uint8Array {
  const { fd, size } = openRegular(path, maxBytes);
  return lazyProgram(size, (dst, offset) => {
    let n = 0;
    while (n < dst.length) {
      const got = readSync(fd, dst, n, dst.length - n, offset + n);
      if (got === 0) throw new ProgramFileError(path, `changed while it ran: no bytes at offset ${offset + n} of the ${size} it had`, 135);
      n += got;
    }
  });
}
