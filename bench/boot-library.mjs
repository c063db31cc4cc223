#!/usr/bin/env node
// Our guest Linux booted to its first prompt in this process, by the library
// (SystemVM.create and step(), interpreted, a fixed entropy source): the
// guest's MIPS with no process start-up around it, which is what a change to
// the interpreter's system side moves. With other checkouts' paths (each
// built: dist/ and build/), their builds run too, alternating run by run, so
// that the machine's drift falls on all of them alike.
// `--jit N` boots translated (SystemVMOptions.jitThreshold N, the
// translations made in the guest's thread) and reports, beside the time,
// the time inside Cpu.run less the translating, and the calls into
// translations. Every boot also counts the host's page faults it took (a
// fresh page costs this machine 11-13 us: docs/PERFORMANCE.md, "Start-up").
//   npm run build && node bench/boot-library.mjs [reps=5] [CHECKOUT...] [--jit N] [--json FILE]
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { guestLinux } from './boot.mjs';
import { takeOption } from './harness.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const json = takeOption(args, '--json');
const jit = args.includes('--jit') ? Number(takeOption(args, '--jit')) : 0;
const reps = Number(args[0] ?? 5);
if (!Number.isInteger(reps) || reps < 1 || !Number.isInteger(jit) || jit < 0) {
  process.stderr.write('usage: node bench/boot-library.mjs [reps=5] [CHECKOUT...] [--jit N] [--json FILE]\n');
  process.exit(2);
}
const checkouts = [ROOT, ...args.slice(1).map((d) => resolve(d))];
const linux = guestLinux();
if (linux.missing) {
  process.stderr.write(`boot-library: the guest Linux: ${linux.missing}\n`);
  process.exit(1);
}

// One boot in a child process of its own (a checkout's modules and CPU
// module, nothing warm from another run): its milliseconds and instructions.
const child = `
const [root, image, initrd, jit] = process.argv.slice(1);
const { SystemVM, loadCpuModule } = await import(root + 'dist/index.js');
const { readFileSync } = await import('node:fs');
const kernel = readFileSync(image), rd = readFileSync(initrd), cpuModule = loadCpuModule();
let out = '';
const faults = process.resourceUsage().minorPageFault;
const t = performance.now();
const vm = SystemVM.create({ kernel, initrd: rd, append: 'console=ttyS0 quiet panic=-1', cpuModule, random: (b) => b.fill(7),
  jitThreshold: Number(jit), console: (b) => { out += Buffer.from(b).toString('latin1'); } });
const cpu = vm.cpu, run = cpu.run;
let runMs = 0;
cpu.run = (budget) => { const s = performance.now(); try { return run.call(cpu, budget); } finally { runMs += performance.now() - s; } };
if (Number(jit) > 0) cpu.jitCountEntries = true;
while (!out.includes('# ') && vm.step() === undefined);
const stats = cpu.jitStats;
process.stdout.write(JSON.stringify({ ms: performance.now() - t, instructions: String(cpu.instret), prompt: out.includes('# '),
  faults: process.resourceUsage().minorPageFault - faults,
  runMs: runMs - (stats?.ms ?? 0), translateMs: stats?.ms ?? 0, regions: stats?.translated ?? 0, entries: Number(jit) > 0 ? String(cpu.jitEntries) : '0' }));
`;
const runs = new Map(checkouts.map((c) => [c, []]));
for (let i = 0; i < reps; i++) {
  for (const c of i % 2 ? [...checkouts].reverse() : checkouts) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child, pathToFileURL(c).href + '/', linux.image, linux.initrd, String(jit)], { encoding: 'utf8', timeout: 300_000 });
    const got = r.status === 0 ? JSON.parse(r.stdout) : undefined;
    if (!got?.prompt) {
      process.stderr.write(`boot-library: ${c}: no prompt (${(r.stderr || r.stdout || '').trim().split('\n').pop()})\n`);
      process.exit(1);
    }
    runs.get(c).push(got);
    process.stderr.write(`boot-library: ${i + 1}/${reps} ${c}: ${got.ms.toFixed(0)} ms\n`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {
  reps, jit, date: new Date().toISOString(), command: `node bench/boot-library.mjs ${process.argv.slice(2).join(' ')}`,
  builds: checkouts.map((c) => {
    const rs = runs.get(c), ms = rs.map((r) => r.ms), instructions = Number(rs[0].instructions);
    const commit = spawnSync('git', ['-C', c, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    const runMs = rs.map((r) => r.runMs), translateMs = rs.map((r) => r.translateMs), faults = rs.map((r) => r.faults);
    return { checkout: c, commit, instructions, ms, medianMs: median(ms), fastestMs: Math.min(...ms), mips: instructions / median(ms) / 1000,
      runMs, medianRunMs: median(runMs), translateMs, medianTranslateMs: median(translateMs), regions: rs[0].regions, entries: Number(rs[0].entries),
      faults, medianFaults: median(faults) };
  }),
};
for (const b of result.builds) {
  process.stdout.write(`${b.checkout} (${b.commit}): median ${b.medianMs.toFixed(0)} ms, fastest ${b.fastestMs.toFixed(0)} ms, ${b.mips.toFixed(1)} MIPS, ${b.instructions} instructions, ${b.medianFaults} page faults\n`);
  if (jit > 0) process.stdout.write(`  --jit ${jit}: running ${b.medianRunMs.toFixed(0)} ms, translating ${b.medianTranslateMs.toFixed(0)} ms (medians), ${b.regions} regions, ${b.entries} calls into translations\n`);
  else process.stdout.write(`  running ${b.medianRunMs.toFixed(0)} ms (median, inside Cpu.run)\n`);
}
if (json) writeFileSync(json, JSON.stringify(result, null, 2) + '\n');
