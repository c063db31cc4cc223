#!/usr/bin/env node
// Two builds of ringvisor side by side: each workload of bench/whole-runs.mjs
// as a whole process under each build, alternating (the one that goes
// first alternates too), medians of the repetitions, and the new build's
// time against the base's. It is how a change is measured against its
// parent on a shared machine, where runs made one after the other drift
// apart (docs/PERFORMANCE.md, "What to translate, and where").
//   node bench/builds.mjs BASE NEW [reps=5] [--only a,b] [--options '--jit off'] [--out FILE]
// --options: what both builds' `ringvisor run` gets before the program
// (e.g. `--jit off`, to measure the interpreter alone).
// BASE and NEW are checkouts with `npm run build` done (dist/bin/ and
// build/), e.g. `git worktree add --detach ../base HEAD~1`, then
// `npm ci && npm run build` there. The guests are this checkout's.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median, gitCommit, takeOption } from './harness.mjs';
import { onlyWorkloads, timeRun, wholeRunWorkloads } from './whole-runs.mjs';

const USAGE = 'usage: node bench/builds.mjs BASE NEW [reps=5] [--only a,b] [--options \'--jit off\'] [--out FILE]\n       node bench/builds.mjs --print FILE      (a saved result\'s table again)\n';
const args = process.argv.slice(2);
if (args[0] === '--print') {
  const saved = JSON.parse(readFileSync(args[1], 'utf8'));
  process.stdout.write(render(saved.rows, saved.reps, saved.commits, saved.options ?? []));
  process.exit(0);
}
const out = takeOption(args, '--out');
const only = takeOption(args, '--only')?.split(',');
const runOptions = takeOption(args, '--options')?.split(' ').filter((o) => o !== '') ?? [];
const [baseDir, newDir, repsArg] = args;
const reps = Number(repsArg ?? 5);
const cli = (dir) => join(resolve(dir), 'dist/bin/ringvisor.js');
if (baseDir === undefined || newDir === undefined || !(reps >= 1)) {
  process.stderr.write(USAGE);
  process.exit(2);
}
for (const dir of [baseDir, newDir]) {
  if (!existsSync(cli(dir))) {
    process.stderr.write(`builds: ${cli(dir)} is missing (npm run build there)\n${USAGE}`);
    process.exit(2);
  }
}

const workloads = onlyWorkloads(wholeRunWorkloads('builds'), only, 'builds', USAGE);
const builds = { base: cli(baseDir), new: cli(newDir) };
const times = new Map(workloads.map((w) => [w.name, { base: [], new: [] }]));
for (let r = 0; r < reps; r++) {
  workloads.forEach((w, i) => {
    const order = (r + i) % 2 === 0 ? ['base', 'new'] : ['new', 'base'];
    for (const b of order) {
      times.get(w.name)[b].push(timeRun(builds[b], runOptions, w));
      process.stderr.write(`builds: rep ${r + 1}/${reps} ${w.name} ${b}\n`);
    }
  });
}

const rows = workloads.map((w) => {
  const t = times.get(w.name);
  return { workload: w.name, seconds: { base: median(t.base), new: median(t.new) }, all: t };
});
const commits = { base: gitCommit(resolve(baseDir)), new: gitCommit(resolve(newDir)) };
process.stdout.write(render(rows, reps, commits, runOptions));
if (out) writeFileSync(out, JSON.stringify({ commits, date: new Date().toISOString(), reps, options: runOptions, rows }, null, 2) + '\n');

// Medians, and minimums: on a shared machine a burst of load from
// elsewhere lengthens some runs and never shortens one, so the fastest
// run of each is the steadier figure.
function render(rows, reps, commits, options) {
  let table = `whole-process seconds, alternating, ${reps} runs each; base ${commits.base}, new ${commits.new}${options.length ? `; ringvisor run ${options.join(' ')}` : ''}\n`;
  const width = Math.max('workload'.length, ...rows.map((r) => r.workload.length)) + 2;
  table += 'workload'.padEnd(width) + ['base median', 'new median', 'new/base', 'base min', 'new min', 'new/base'].map((h) => h.padStart(12)).join('') + '\n';
  for (const row of rows) {
    const { base, new: now } = row.seconds;
    const min = { base: Math.min(...row.all.base), new: Math.min(...row.all.new) };
    table += row.workload.padEnd(width) + [`${base.toFixed(3)} s`, `${now.toFixed(3)} s`, `${(now / base).toFixed(2)}x`,
      `${min.base.toFixed(3)} s`, `${min.new.toFixed(3)} s`, `${(min.new / min.base).toFixed(2)}x`].map((c) => c.padStart(12)).join('') + '\n';
  }
  return table;
}
