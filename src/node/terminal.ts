// Whether a host descriptor is a terminal, without loading node:tty unless
// it may be one: node:tty brings node:net and Node's streams with it, some
// 27 of Node's own modules a short program would load and compile at every
// start (docs/PERFORMANCE.md, "Start-up"). A terminal is a character device;
// a pipe, a file or a socket is not, and fstat says so for nothing.
import { fstatSync } from 'node:fs';
import { builtin } from './builtin.js';

export function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  // (/dev/null is a character device too: isatty tells them apart.)
  const { isatty } = builtin<typeof import('node:tty')>('node:tty');
  return isatty(fd);
}
