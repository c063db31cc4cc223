#!/usr/bin/env node
// Interpreter speed on guests/bin/workload.elf: ringvisor's MIPS and its time
// as a ratio to qemu-riscv64 (a JIT), in the same run. Medians of several
// repetitions. The full benchmark suite (native host, JavaScript, charts) is
// a later step; this one is what changes to the hot loop are measured with.
//   npm run build && node bench/mips.mjs [reps=400] [runs=5] [--jit off|N]
// (--jit off measures the interpreter alone; the default translates hot code).
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ProcessVM } from '../dist/index.js';
import { takeOption } from './harness.mjs';

const args = process.argv.slice(2);
const jit = takeOption(args, '--jit');
const jitThreshold = jit === undefined ? undefined : jit === 'off' ? 0 : Number(jit);
const reps = args[0] ?? '400';
const runs = Number(args[1] ?? 5);
const elfPath = new URL('../guests/bin/workload.elf', import.meta.url).pathname;
const elf = readFileSync(elfPath);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function ringvisor() {
  const vm = ProcessVM.create(elf, { argv: ['workload', reps], jitThreshold });
  const t = process.hrtime.bigint();
  const status = vm.runSync();
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (status !== 0) throw new Error(`workload exited ${status}`);
  return { seconds, instructions: Number(vm.cpu.instret) };
}

function qemu() {
  const t = process.hrtime.bigint();
  const r = spawnSync('qemu-riscv64', [elfPath, reps]);
  if (r.error) return undefined;
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const ours = [], theirs = [];
let instructions = 0;
for (let i = 0; i < runs; i++) {
  const r = ringvisor();
  ours.push(r.seconds);
  instructions = r.instructions;
  const q = qemu();
  if (q !== undefined) theirs.push(q);
}
const t = median(ours);
console.log(`workload x${reps}: ${instructions} guest instructions`);
console.log(`ringvisor     ${t.toFixed(3)} s  ${(instructions / t / 1e6).toFixed(1)} MIPS`);
if (theirs.length) {
  const q = median(theirs);
  console.log(`qemu-riscv64  ${q.toFixed(3)} s  ${(instructions / q / 1e6).toFixed(1)} MIPS`);
  console.log(`ringvisor speed / qemu speed = ${(q / t).toFixed(3)}x`);
} else {
  console.log('qemu-riscv64  missing (apt-get install qemu-user)');
}
