// Reading the program a process VM is to run, from the host's files, with
// the checks that keep a bad path from hurting the host: `ringvisor run
// /dev/zero` would otherwise read without end (host memory grows until Node
// dies), and a FIFO would block the host thread until some writer appeared.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

import { MAX_PROGRAM_BYTES } from '../linux/elf.js';

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

/**
 * The bytes of the regular file at `path`, at most `maxBytes` of them. The
 * file is opened without blocking (O_NONBLOCK: opening a FIFO for reading
 * would otherwise wait for a writer), its type and size are checked on the
 * open descriptor, and no more than the size it had then is read (plus one
 * byte, to notice a file that grows while it is read).
 */
export function readProgramFile(path: string, maxBytes = MAX_PROGRAM_BYTES): Uint8Array {
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
    const bytes = new Uint8Array(st.size + 1);
    let n = 0;
    while (n < bytes.length) {
      const got = readSync(fd, bytes, n, bytes.length - n, n);
      if (got === 0) break;
      n += got;
    }
    if (n > st.size) throw new ProgramFileError(path, 'changed while it was read', 126);
    return bytes.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
