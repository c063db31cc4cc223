#!/usr/bin/env node
// A CPU-bound loop in a system VM (guests/baremetal/compute.c: 2 million
// iterations of 11 instructions in S-mode under Sv39, then in U-mode), run
// by the library with translation off and on (--jit N) and by
// qemu-system-riscv64 -M virt -bios default: the guest's MIPS (instructions
// retired over the host time of the run, the machine made beforehand), and
// whole processes of `ringvisor boot` against qemu-system-riscv64's. Medians
// of the repetitions, alternating.
//   npm run build && node bench/system-compute.mjs [reps=5] [--jit N,...] [--json FILE]
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SystemVM, loadCpuModule } from '../dist/index.js';
import { takeOption } from './harness.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ELF = `${ROOT}guests/baremetal/bin/compute.elf`;
const args = process.argv.slice(2);
const jits = (takeOption(args, '--jit') ?? '16384').split(',').map(Number);
const json = takeOption(args, '--json');
const reps = Number(args[0] ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuModule = loadCpuModule();
const kernel = readFileSync(ELF);

function inProcess(jitThreshold) {
  let out = '';
  const vm = SystemVM.create({ kernel, memoryBytes: 128 * 1024 * 1024, cpuModule, jitThreshold, console: (b) => { out += Buffer.from(b).toString('latin1'); } });
  const t = process.hrtime.bigint();
  let status;
  while ((status = vm.step()) === undefined);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (status !== 0 || !out.includes('== end ==')) throw new Error(`compute.elf: status ${status}: ${out}`);
  return { seconds, mips: Number(vm.cpu.instret) / seconds / 1e6, instructions: Number(vm.cpu.instret) };
}

function wholeProcess(command) {
  const t = process.hrtime.bigint();
  const r = spawnSync(command[0], command.slice(1), { encoding: 'latin1', input: '', timeout: 120_000 });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0 || !r.stdout.includes('== end ==')) return { error: `${command[0]}: status ${r.status}` };
  return { seconds };
}

const peers = { off: 0, ...Object.fromEntries(jits.map((n) => [`jit ${n}`, n])) };
const out = { reps, date: new Date().toISOString(), command: `node bench/system-compute.mjs ${process.argv.slice(2).join(' ')}`, library: {}, process: {} };
const qemu = ['qemu-system-riscv64', '-M', 'virt', '-m', '128M', '-nographic', '-bios', 'default', '-kernel', ELF];
const ringvisor = (jit) => [process.execPath, `${ROOT}dist/bin/ringvisor.js`, 'boot', '--clock', 'virtual', '--mem', '128M', '--kernel', ELF, '--jit', jit === 0 ? 'off' : String(jit)];
const qemuThere = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
const samples = { library: {}, process: {} };
for (let i = 0; i < reps; i++) {
  for (const [name, jit] of Object.entries(peers)) {
    (samples.library[name] ??= []).push(inProcess(jit));
    const w = wholeProcess(ringvisor(jit));
    if (!w.error) (samples.process[`ringvisor ${name}`] ??= []).push(w.seconds);
  }
  if (qemuThere) { const q = wholeProcess(qemu); if (!q.error) (samples.process.qemu ??= []).push(q.seconds); }
}
for (const [name, runs] of Object.entries(samples.library)) {
  out.library[name] = { instructions: runs[0].instructions, seconds: median(runs.map((r) => r.seconds)), mips: median(runs.map((r) => r.mips)) };
}
for (const [name, secs] of Object.entries(samples.process)) out.process[name] = { seconds: median(secs) };
if (out.process.qemu) for (const [name, p] of Object.entries(out.process)) if (name !== 'qemu') p.ratio = p.seconds / out.process.qemu.seconds;
console.log(JSON.stringify(out, null, 2));
if (json) writeFileSync(json, JSON.stringify(out, null, 2) + '\n');
