#!/usr/bin/env node
// Does the host's memory fall when a guest gives memory back? Our guest
// Linux booted with 256 MiB and a balloon (SystemVMOptions.balloon), in this
// process; a guest program (bench/balloon-fill.c, on an ext2 disk) writes
// FILL MiB and exits, so the guest has that memory free again but the host
// still holds it; then the balloon is inflated to leave the guest 64 MiB
// (ring -1 zeroes every page given), and the machine compacted
// (SystemVM.compact: rebuilt from its checkpoint, which keeps no zero page,
// into a fresh CPU instance; the old one dropped and collected). The
// process's resident memory (process.memoryUsage().rss and /proc/self/status
// VmRSS) after each step, the garbage collector run first. As a control,
// the machine is also compacted before the balloon is inflated: the memory
// the guest freed still holds its data then, and nothing falls. Last, the
// balloon deflated again: the guest has its 256 MiB, the host still only
// what holds data.
//   npm run build && node --expose-gc bench/balloon.mjs [FILL_MIB=192] [--out DIR]
// Needs riscv64-linux-gnu-gcc and mkfs.ext2 (as the guest Linux's build and
// the system tests do).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, gitCommit, takeOption } from './harness.mjs';

if (typeof globalThis.gc !== 'function') {
  // Resident memory is only worth reading after a collection: run again with one.
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const args = process.argv.slice(2);
const outDir = takeOption(args, '--out');
const FILL_MIB = Number(args[0] ?? 192);
if (!(Number.isInteger(FILL_MIB) && FILL_MIB > 0 && FILL_MIB <= 224)) {
  process.stderr.write('usage: node --expose-gc bench/balloon.mjs [FILL_MIB=192 (1..224)] [--out DIR]\n');
  process.exit(2);
}
const MiB = 1024 * 1024;
const MEMORY = 256 * MiB;
const TARGET = 64 * MiB;
const PROMPT = 'ringvisor-init# ';

const { SystemVM } = await import(join(ROOT, 'dist/index.js'));
const where = spawnSync('bash', [join(ROOT, 'guests/linux/build.sh'), '--print-path'], { encoding: 'utf8' }).stdout.trim();
let image, initrd;
try {
  image = readFileSync(join(where, 'Image'));
  initrd = readFileSync(join(where, 'initramfs.cpio.gz'));
} catch {
  process.stderr.write('bench/balloon.mjs: the guest Linux is not built (bash guests/linux/build.sh)\n');
  process.exit(1);
}

// The guest program on a disk.
const dir = mkdtempSync(join(tmpdir(), 'ringvisor-bench-balloon-'));
const must = (what, r) => { if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr || r.error?.message}`); };
mkdirSync(join(dir, 'root'));
must('riscv64-linux-gnu-gcc', spawnSync('riscv64-linux-gnu-gcc', ['-static', '-O2', '-Wall', '-o', join(dir, 'root', 'fill'), join(ROOT, 'bench/balloon-fill.c')], { encoding: 'utf8' }));
const disk = join(dir, 'disk.img');
must('mkfs.ext2', spawnSync('mkfs.ext2', ['-q', '-F', '-b', '1024', '-d', join(dir, 'root'), disk, '4096'], { encoding: 'utf8' }));

// V8 frees large ArrayBuffers' (and WebAssembly memories') backing stores
// on a background thread after a collection: give it a moment, twice.
async function rss() {
  for (let i = 0; i < 2; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const status = readFileSync('/proc/self/status', 'utf8');
  const vmRss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]) * 1024;
  const { rss, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, vmRss, wasmRss: wasmMemoryResident(), heapTotal, external, arrayBuffers };
}

let console_ = '';
let vm = SystemVM.create({
  kernel: image, initrd, append: 'console=ttyS0 quiet panic=-1', memoryBytes: MEMORY, balloon: true,
  disk: { path: disk }, console: (b) => { console_ += Buffer.from(b).toString('latin1'); },
});
function runUntil(what, done) {
  while (!done()) {
    const status = vm.step();
    if (status !== undefined) throw new Error(`the guest stopped (status ${status}) waiting for ${what}; console ends:\n${console_.slice(-2000)}`);
  }
}
function type(line) {
  console_ = '';
  vm.input(`${line}\n`);
  runUntil(`the prompt after ${line}`, () => console_.endsWith(PROMPT));
  return console_;
}

const steps = [];
// The resident part of the machine's WebAssembly memory: the mapping in
// /proc/self/smaps as large as its buffer (V8 maps a memory's accessible
// part on its own, read-write, inside a larger reservation).
function wasmMemoryResident() {
  const bytes = vm.cpu.ramView(0, 1).buffer.byteLength;
  let found;
  let size = 0;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);
    if (m) { size = parseInt(m[2], 16) - parseInt(m[1], 16); continue; }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r && size === bytes) {
      if (found !== undefined) return undefined; // two such mappings: cannot tell which
      found = Number(r[1]) * 1024;
    }
    if (r) size = 0;
  }
  return found;
}

// Guest RAM that holds anything but zeros (reading a page the host never
// committed commits nothing).
function ramHoldingData() {
  const ram = vm.cpu.ramView(0, MEMORY);
  const words = new Int32Array(ram.buffer, ram.byteOffset, MEMORY / 4);
  let pages = 0;
  for (let p = 0; p < words.length; p += 1024) {
    for (let i = p; i < p + 1024; i++) if (words[i] !== 0) { pages++; break; }
  }
  return pages * 4096;
}

async function record(label, extra = {}) {
  const m = await rss();
  const b = vm.balloon();
  steps.push({ label, ...m, guestActualBytes: b.actualBytes, givenPages: b.givenPages, ramWithDataBytes: ramHoldingData(), ...extra });
  process.stderr.write(`  ${label}: RSS ${(m.rss / MiB).toFixed(0)} MiB\n`);
}

try {
  await record('node, the VM made, not run');
  runUntil('the first prompt', () => console_.endsWith(PROMPT));
  await record('booted, at the prompt');
  type('mount -t devtmpfs dev /dev');
  const mounted = type('mount -t ext2 /dev/vda /mnt');
  if (/mount:/.test(mounted.split('\n').slice(1).join('\n'))) throw new Error(`mount failed:\n${mounted}`);
  const filled = type(`/mnt/fill ${FILL_MIB}`);
  if (!filled.includes(`wrote ${FILL_MIB} MiB`)) throw new Error(`the fill program failed:\n${filled}`);
  await record(`the guest wrote ${FILL_MIB} MiB and freed it`);

  // The control: compacted now, the freed memory still holds its data.
  let t = performance.now();
  vm = vm.compact();
  const controlMs = performance.now() - t;
  await record('compacted without the balloon (control)', { compactMs: controlMs, checkpointBytes: vm.checkpoint().length });

  t = performance.now();
  vm.setBalloonTarget(TARGET);
  runUntil('the balloon inflated', () => vm.balloon().actualBytes === TARGET);
  const inflateMs = performance.now() - t;
  await record(`balloon inflated: the guest left ${TARGET / MiB} MiB`, { inflateMs });

  t = performance.now();
  vm = vm.compact();
  const compactMs = performance.now() - t;
  await record('compacted', { compactMs, checkpointBytes: vm.checkpoint().length });
  if (!type('echo still here').includes('still here')) throw new Error('the guest did not answer after compact()');

  t = performance.now();
  vm.setBalloonTarget(MEMORY);
  runUntil('the balloon deflated', () => vm.balloon().actualBytes === MEMORY && vm.balloon().givenPages === 0);
  await record('balloon deflated: the guest has its 256 MiB again', { deflateMs: performance.now() - t });
  vm.input('poweroff\n');
  let status;
  while ((status = vm.step()) === undefined);
  if (status !== 0) throw new Error(`the guest powered off with status ${status}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (bytes) => (bytes === undefined ? '?' : `${(bytes / MiB).toFixed(0)} MiB`);
const at = (label) => steps.find((s) => s.label === label);
const fell = at(`balloon inflated: the guest left ${TARGET / MiB} MiB`).rss - at('compacted').rss;
const lines = [
  `host memory of a 256 MiB system VM with a balloon (our guest Linux, ${FILL_MIB} MiB written and freed by the guest, then ${TARGET / MiB} MiB left to it)`,
  `${'step'.padEnd(52)} ${'rss'.padStart(9)} ${'VmRSS'.padStart(9)} ${'VM memory'.padStart(10)} ${'guest has'.padStart(10)} ${'given'.padStart(7)} ${'RAM not 0'.padStart(10)}  time`,
  ...steps.map((s) => `${s.label.padEnd(52)} ${`${(s.rss / MiB).toFixed(0)} MiB`.padStart(9)} ${`${(s.vmRss / MiB).toFixed(0)} MiB`.padStart(9)} ${(s.wasmRss === undefined ? '?' : `${(s.wasmRss / MiB).toFixed(0)} MiB`).padStart(10)} ${`${(s.guestActualBytes / MiB).toFixed(0)} MiB`.padStart(10)} ${String(s.givenPages).padStart(7)} ${`${(s.ramWithDataBytes / MiB).toFixed(0)} MiB`.padStart(10)}  ${
    s.compactMs !== undefined ? `compact ${s.compactMs.toFixed(0)} ms, checkpoint ${(s.checkpointBytes / MiB).toFixed(1)} MiB` : s.inflateMs !== undefined ? `inflate ${s.inflateMs.toFixed(0)} ms` : s.deflateMs !== undefined ? `deflate ${s.deflateMs.toFixed(0)} ms` : ''}`),
  `the process's resident memory fell by ${(fell / MiB).toFixed(0)} MiB when the machine was compacted after the balloon inflated` +
    ` (the VM's WebAssembly memory: ${fmt(at(`balloon inflated: the guest left ${TARGET / MiB} MiB`).wasmRss)} -> ${fmt(at('compacted').wasmRss)})`,
  'rss: process.memoryUsage().rss; VmRSS: /proc/self/status; VM memory: the resident part of the machine\'s WebAssembly memory (/proc/self/smaps);',
  'guest has: RAM less the balloon (actual); given: pages in the balloon; RAM not 0: guest RAM pages holding anything but zeros',
];
process.stdout.write(`${lines.join('\n')}\n`);
if (outDir) {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify({ commit: gitCommit(), date: new Date().toISOString(), node: process.version, fillMiB: FILL_MIB, memoryBytes: MEMORY, targetBytes: TARGET, steps, fellBytes: fell }, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.txt'), `${lines.join('\n')}\n`);
}
