// Records what qemu-riscv64 prints for guests/bin/guestmem.elf (every
// pointer argument of every system call, handed bad addresses) into
// test/golden/guestmem-qemu.txt, so that test/guest-memory.test.ts runs
// without QEMU. Where QEMU departs from Linux the test, not this file, says
// what Linux does (docs/SECURITY.md lists those places).
//
//   node scripts/record-guestmem-golden.mjs
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync('qemu-riscv64', ['-cpu', 'rv64,zba=true,zbb=true,zbs=true', resolve(ROOT, 'guests/bin/guestmem.elf')],
  { encoding: 'latin1', timeout: 120_000 });
if (r.error) throw r.error;
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  throw new Error(`guestmem.elf under qemu-riscv64 ended with status ${r.status}`);
}
writeFileSync(resolve(ROOT, 'test/golden/guestmem-qemu.txt'), r.stdout, 'latin1');
console.log(`test/golden/guestmem-qemu.txt: ${r.stdout.split('\n').length - 1} lines`);
