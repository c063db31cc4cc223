#!/usr/bin/env node
// What to translate: each workload's whole time (`ringvisor run`, Node's
// start-up included) with translation off and at several visit thresholds
// (--jit N), alternating, medians of the repetitions. The workloads are the
// benchmark's own guests and, where guests/third-party/build.sh has built
// them, esbuild bundling a small project (a Go program: much code, little
// of it hot) and jq's oniguruma tests (an interpreter, medium-length run).
// It is how DEFAULT_JIT_THRESHOLD was chosen (docs/PERFORMANCE.md).
//   npm run build && node bench/thresholds.mjs [reps=3] [thresholds=64,1024,4096,16384] [--out FILE]
//   node bench/thresholds.mjs --print FILE      (a saved result's table again)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, median, gitCommit } from './harness.mjs';

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
const bin = (name) => join(ROOT, 'guests/bin', name);
const cache = join(process.env.RINGVISOR_CACHE ?? join(homedir(), '.cache', 'ringvisor'), 'third-party');
const build = (name) => {
  const index = join(cache, `${name}.json`);
  return existsSync(index) ? JSON.parse(readFileSync(index, 'utf8')) : undefined;
};

const workloads = [
  ...['quicksort', 'strings', 'sha256', 'syscalls', 'nbody'].map((w) => ({ name: w, run: [bin(`bench-${w}.elf`)] })),
];
const esbuild = build('esbuild');
if (esbuild && existsSync(esbuild.elf)) {
  const dir = mkdtempSync(join(tmpdir(), 'ringvisor-thresholds-'));
  mkdirSync(join(dir, 'src', 'lib'), { recursive: true });
  writeFileSync(join(dir, 'src/app.ts'), 'import { greet } from "./lib/greet";\nimport data from "./data.json";\nimport { view } from "./view.jsx";\nexport const main = (): string => greet(data.name) + view(data.items);\nconsole.log(main());\n');
  writeFileSync(join(dir, 'src/lib/greet.ts'), 'export function greet(who: string): string {\n  return `hello, ${who}`;\n}\n');
  writeFileSync(join(dir, 'src/view.jsx'), 'const h = (tag, props, ...children) => `<${tag}>${children.join("")}</${tag}>`;\nexport const view = (items) => <ul>{items.map((i) => <li>{i}</li>)}</ul>;\n');
  writeFileSync(join(dir, 'src/data.json'), '{ "name": "ringvisor", "items": ["a", "b", "c"] }\n');
  workloads.push({ name: 'esbuild', cwd: dir, run: [esbuild.elf, 'src/app.ts', '--bundle', '--minify', '--outfile=out/app.js', '--jsx-factory=h', '--log-level=warning'] });
} else process.stderr.write('thresholds: esbuild is not built (bash guests/third-party/build.sh): left out\n');
const jq = build('jq');
if (jq && existsSync(jq.elf)) {
  workloads.push({ name: 'jq-onig', run: ['--mount', `${jq.tests}:/t:ro`, jq.elf, '--run-tests', '/t/onig.test'] });
} else process.stderr.write('thresholds: jq is not built (bash guests/third-party/build.sh): left out\n');

const settings = ['off', ...thresholds.map(String)];
const times = new Map(workloads.map((w) => [w.name, new Map(settings.map((s) => [s, []]))]));
for (let r = 0; r < reps; r++) {
  for (const w of workloads) {
    for (const s of settings) {
      const started = process.hrtime.bigint();
      const p = spawnSync(process.execPath, [CLI, 'run', '--jit', s, ...w.run], { cwd: w.cwd ?? ROOT, encoding: 'utf8', timeout: 600_000 });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (p.status !== 0) throw new Error(`${w.name} --jit ${s}: status ${p.status}: ${(p.stderr ?? '').trim().split('\n').pop()}`);
      times.get(w.name).get(s).push(seconds);
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
