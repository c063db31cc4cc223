#!/usr/bin/env node
// What to translate: each workload's whole time (`ringvisor run`, Node's
// start-up included) with translation off and at several visit thresholds
// (--jit N), alternating, medians of the repetitions. The workloads
// (bench/whole-runs.mjs) are the benchmark's own guests, esbuild bundling
// a small project and jq's oniguruma tests.
// It is how DEFAULT_JIT_THRESHOLD was chosen (docs/PERFORMANCE.md).
//   npm run build && node bench/thresholds.mjs [reps=3] [thresholds=64,1024,4096,16384] [--out FILE]
//   node bench/thresholds.mjs --print FILE      (a saved result's table again)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, median, gitCommit } from './harness.mjs';
import { timeRun, wholeRunWorkloads } from './whole-runs.mjs';

const args = process.argv.slice(2);
const printAt = args.indexOf('--print');
if (printAt >= 0) {
  // Renders a saved result (--out) as the run printed it.
  const saved = JSON.parse(readFileSync(args[printAt + 1], 'utf8'));
  // (Keys like "64" come first in an object, whatever the order written.)
  const keys = Object.keys(saved.rows[0].seconds).filter((k) => k !== 'off').sort((a, b) => a - b);
  process.stdout.write(render(saved.rows, ['off', ...keys], saved.reps));
  process.exit(0);
}
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args.splice(outAt, 2)[1] : undefined;
const reps = Number(args[0] ?? 3);
const thresholds = (args[1] ?? '64,1024,4096,16384').split(',').map(Number);
if (!(reps >= 1) || thresholds.some((t) => !(t >= 1))) {
  process.stderr.write('usage: node bench/thresholds.mjs [reps=3] [thresholds=64,1024,4096,16384] [--out FILE]\n');
  process.exit(2);
}

const CLI = join(ROOT, 'dist/bin/ringvisor.js');
const workloads = wholeRunWorkloads('thresholds');

const settings = ['off', ...thresholds.map(String)];
const times = new Map(workloads.map((w) => [w.name, new Map(settings.map((s) => [s, []]))]));
for (let r = 0; r < reps; r++) {
  for (const w of workloads) {
    for (const s of settings) {
      times.get(w.name).get(s).push(timeRun(CLI, ['--jit', s], w));
    }
  }
}

const rows = workloads.map((w) => ({ workload: w.name, seconds: Object.fromEntries(settings.map((s) => [s, median(times.get(w.name).get(s))])) }));
process.stdout.write(render(rows, settings, reps));
if (out) writeFileSync(out, JSON.stringify({ commit: gitCommit(), date: new Date().toISOString(), reps, rows }, null, 2) + '\n');

function render(rows, settings, reps) {
  const cell = (s) => String(s).padStart(16);
  let table = `whole-process seconds, median of ${reps}; (x) = against --jit off\n`;
  table += 'workload'.padEnd(10) + settings.map((s) => cell(s === 'off' ? '--jit off' : `--jit ${s}`)).join('') + '\n';
  for (const row of rows) {
    const off = row.seconds.off;
    table += row.workload.padEnd(10) + settings.map((s) => cell(s === 'off' ? `${off.toFixed(2)} s` : `${row.seconds[s].toFixed(2)} (${(row.seconds[s] / off).toFixed(2)}x)`)).join('') + '\n';
  }
  return table;
}
