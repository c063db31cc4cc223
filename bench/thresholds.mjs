#!/usr/bin/env node
// What to translate: each workload's whole time (`ringvisor run`, Node's
// start-up included) with translation off and at several visit thresholds
// (--jit N), alternating, medians of the repetitions. The workloads
// (bench/whole-runs.mjs) are the benchmark's own guests, esbuild and jq at
// work and in short runs.
// It is how DEFAULT_JIT_THRESHOLD was chosen (docs/PERFORMANCE.md). With
// --option NAME the values are another option's (e.g. --option
// --jit-worker: when the worker starts), still against --jit off.
//   npm run build && node bench/thresholds.mjs [reps=3] [values=64,1024,4096,16384] [--option --jit] [--only a,b] [--out FILE]
//   node bench/thresholds.mjs --print FILE      (a saved result's table again)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, median, gitCommit, takeOption } from './harness.mjs';
import { onlyWorkloads, timeRun, wholeRunWorkloads } from './whole-runs.mjs';

const args = process.argv.slice(2);
const printAt = args.indexOf('--print');
if (printAt >= 0) {
  // Renders a saved result (--out) as the run printed it.
  const saved = JSON.parse(readFileSync(args[printAt + 1], 'utf8'));
  // (Keys like "64" come first in an object, whatever the order written.)
  const keys = saved.values ?? Object.keys(saved.rows[0].seconds).filter((k) => k !== 'off').sort((a, b) => a - b);
  process.stdout.write(render(saved.rows, ['off', ...keys], saved.reps, saved.option ?? '--jit'));
  process.exit(0);
}
const out = takeOption(args, '--out');
const option = takeOption(args, '--option') ?? '--jit';
const only = takeOption(args, '--only')?.split(',');
const USAGE = 'usage: node bench/thresholds.mjs [reps=3] [values=64,1024,4096,16384] [--option --jit] [--only a,b] [--out FILE]\n';
const reps = Number(args[0] ?? 3);
const values = (args[1] ?? '64,1024,4096,16384').split(',');
if (!(reps >= 1) || option === undefined || (option === '--jit' && values.some((t) => !(Number(t) >= 1)))) {
  process.stderr.write(USAGE);
  process.exit(2);
}

const CLI = join(ROOT, 'dist/bin/ringvisor.js');
const workloads = onlyWorkloads(wholeRunWorkloads('thresholds'), only, 'thresholds', USAGE);

// 'off' is --jit off; the values are the option's (their keys are prefixed
// so that an option's own "off" is not --jit off).
const settings = ['off', ...values.map((v) => `=${v}`)];
const times = new Map(workloads.map((w) => [w.name, new Map(settings.map((s) => [s, []]))]));
for (let r = 0; r < reps; r++) {
  for (const w of workloads) {
    // (The setting that goes first rotates: a burst of load from elsewhere
    // falls on each in turn.)
    for (let j = 0; j < settings.length; j++) {
      const s = settings[(j + r) % settings.length];
      times.get(w.name).get(s).push(timeRun(CLI, s === 'off' ? ['--jit', 'off'] : [option, s.slice(1)], w));
    }
  }
}

const key = (s) => (s === 'off' || option === '--jit' ? s.replace(/^=/, '') : s);
const rows = workloads.map((w) => ({ workload: w.name, seconds: Object.fromEntries(settings.map((s) => [key(s), median(times.get(w.name).get(s))])) }));
process.stdout.write(render(rows, settings.map(key), reps, option));
if (out) {
  const extra = option === '--jit' ? {} : { option, values: settings.slice(1).map(key) };
  writeFileSync(out, JSON.stringify({ commit: gitCommit(), date: new Date().toISOString(), reps, ...extra, rows }, null, 2) + '\n');
}

function render(rows, settings, reps, option) {
  const heads = settings.map((s) => (s === 'off' ? '--jit off' : `${option} ${s.replace(/^=/, '')}`));
  // Columns as wide as their longest heading (--jit-warmup 1000000 ran into its neighbour).
  const cellWidth = Math.max(16, ...heads.map((h) => h.length)) + 2;
  const cell = (s) => String(s).padStart(cellWidth);
  const width = Math.max('workload'.length, ...rows.map((r) => r.workload.length)) + 2;
  let table = `whole-process seconds, median of ${reps}; (x) = against --jit off\n`;
  table += 'workload'.padEnd(width) + heads.map(cell).join('') + '\n';
  for (const row of rows) {
    const off = row.seconds.off;
    table += row.workload.padEnd(width) + settings.map((s) => cell(s === 'off' ? `${off.toFixed(2)} s` : `${row.seconds[s].toFixed(2)} (${(row.seconds[s] / off).toFixed(2)}x)`)).join('') + '\n';
  }
  return table;
}
