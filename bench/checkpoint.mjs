#!/usr/bin/env node
// What a checkpoint of a 128 MiB system VM costs: our guest Linux booted to
// its shell prompt, then (a) at the prompt and (b) after a few commands
// (its 5.9 MiB of non-zero RAM is mostly the kernel and the unpacked
// initramfs; the guest's shell has no way to fill more), checkpointed (SystemVM.checkpoint) and
// restored (SystemVM.restore) again and again: the milliseconds each takes
// (medians) and the file's size, against the guest's RAM. Also the whole
// `ringvisor boot --restore FILE` process to the guest's next prompt, as a
// user would time resuming a saved machine.
//   npm run build && node bench/checkpoint.mjs [reps=5] [--out FILE]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, median, gitCommit, takeOption } from './harness.mjs';

const args = process.argv.slice(2);
const out = takeOption(args, '--out');
const reps = Number(args[0] ?? 5);
if (!(reps >= 1)) { process.stderr.write('usage: node bench/checkpoint.mjs [reps=5] [--out FILE]\n'); process.exit(2); }

const { SystemVM } = await import(join(ROOT, 'dist/index.js'));
const where = spawnSync('bash', [join(ROOT, 'guests/linux/build.sh'), '--print-path'], { encoding: 'utf8' }).stdout.trim();
let image, initrd;
try {
  image = readFileSync(join(where, 'Image'));
  initrd = readFileSync(join(where, 'initramfs.cpio.gz'));
} catch {
  process.stderr.write('bench/checkpoint.mjs: the guest Linux is not built (bash guests/linux/build.sh)\n');
  process.exit(1);
}
const PROMPT = 'ringvisor-init# ';
const MEMORY = 128 * 1024 * 1024;

let text = '';
const vm = SystemVM.create({
  kernel: image, initrd, append: 'console=ttyS0 quiet panic=-1', memoryBytes: MEMORY,
  console: (b) => { text += Buffer.from(b).toString('latin1'); },
});
const untilPrompt = () => { const n = text.length; while (!(text.length > n && text.endsWith(PROMPT)) && vm.step() === undefined); };
while (!text.endsWith(PROMPT) && vm.step() === undefined);

function measure(label) {
  const save = [], load = [];
  let file;
  for (let i = 0; i < reps; i++) {
    let t = performance.now();
    file = vm.checkpoint();
    save.push(performance.now() - t);
    t = performance.now();
    SystemVM.restore(file);
    load.push(performance.now() - t);
  }
  return { label, checkpointMs: median(save), restoreMs: median(load), bytes: file.length, ramBytes: MEMORY, file };
}

const rows = [measure('at the prompt')];
vm.input('mount -t proc proc /proc\n');
untilPrompt();
for (const command of ['ls /proc', 'cat /proc/meminfo', 'dmesg']) {
  vm.input(`${command}\n`);
  untilPrompt();
}
rows.push(measure('after ls, cat, dmesg'));

// The whole process: `ringvisor boot --restore` to the next prompt (an
// `echo` typed at the restored shell).
const dir = mkdtempSync(join(tmpdir(), 'ringvisor-bench-ckpt-'));
const processMs = [];
try {
  writeFileSync(join(dir, 'vm.ckpt'), rows[0].file);
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/bin/ringvisor.js'), 'boot', '--restore', join(dir, 'vm.ckpt')], { input: 'echo resumed\npoweroff\n', encoding: 'latin1' });
    processMs.push(performance.now() - t);
    if (r.status !== 0 || !r.stdout.includes('resumed')) throw new Error(`boot --restore failed (${r.status}): ${r.stderr}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const lines = [
  `checkpoint of a ${MEMORY >> 20} MiB system VM (our guest Linux), medians of ${reps}`,
  `${'state'.padEnd(30)} ${'checkpoint'.padStart(11)} ${'restore'.padStart(9)} ${'file'.padStart(10)} ${'of RAM'.padStart(7)}`,
  ...rows.map((r) => `${r.label.padEnd(30)} ${`${r.checkpointMs.toFixed(0)} ms`.padStart(11)} ${`${r.restoreMs.toFixed(0)} ms`.padStart(9)} ${`${(r.bytes / 1048576).toFixed(2)} MiB`.padStart(10)} ${`${((100 * r.bytes) / r.ramBytes).toFixed(1)}%`.padStart(7)}`),
  `ringvisor boot --restore, whole process to a command's answer and poweroff: ${median(processMs).toFixed(0)} ms`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (out) {
  writeFileSync(`${out}.json`, `${JSON.stringify({ commit: gitCommit(), date: new Date().toISOString(), reps, rows: rows.map(({ file, ...r }) => r), restoreProcessMs: median(processMs) }, null, 2)}\n`);
  writeFileSync(`${out}.txt`, `${lines.join('\n')}\n`);
}
