// Workloads timed as whole `ringvisor run` processes (Node's start-up and
// translation included, as a user times them), shared by the scripts that
// compare alternately: bench/thresholds.mjs (--jit settings of one build)
// and bench/builds.mjs (two builds, e.g. a change and its parent).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

/** The benchmark's own guests at their default sizes, and, where
 *  guests/third-party/build.sh has built them, esbuild bundling a small
 *  project (a Go program: much code, little of it hot) and jq's oniguruma
 *  tests (an interpreter, a medium-length run). `who` names the caller in
 *  what it says of those left out. */
export function wholeRunWorkloads(who) {
  const bin = (name) => join(ROOT, 'guests/bin', name);
  const cache = join(process.env.RINGVISOR_CACHE ?? join(homedir(), '.cache', 'ringvisor'), 'third-party');
  const build = (name) => {
    const index = join(cache, `${name}.json`);
    return existsSync(index) ? JSON.parse(readFileSync(index, 'utf8')) : undefined;
  };
  const workloads = ['integer', 'quicksort', 'strings', 'sha256', 'syscalls', 'nbody'].map((w) => ({ name: w, run: [bin(`bench-${w}.elf`)] }));
  const esbuild = build('esbuild');
  if (esbuild && existsSync(esbuild.elf)) {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-whole-runs-'));
    mkdirSync(join(dir, 'src', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'src/app.ts'), 'import { greet } from "./lib/greet";\nimport data from "./data.json";\nimport { view } from "./view.jsx";\nexport const main = (): string => greet(data.name) + view(data.items);\nconsole.log(main());\n');
    writeFileSync(join(dir, 'src/lib/greet.ts'), 'export function greet(who: string): string {\n  return `hello, ${who}`;\n}\n');
    writeFileSync(join(dir, 'src/view.jsx'), 'const h = (tag, props, ...children) => `<${tag}>${children.join("")}</${tag}>`;\nexport const view = (items) => <ul>{items.map((i) => <li>{i}</li>)}</ul>;\n');
    writeFileSync(join(dir, 'src/data.json'), '{ "name": "ringvisor", "items": ["a", "b", "c"] }\n');
    workloads.push({ name: 'esbuild', cwd: dir, run: [esbuild.elf, 'src/app.ts', '--bundle', '--minify', '--outfile=out/app.js', '--jsx-factory=h', '--log-level=warning'] });
  } else process.stderr.write(`${who}: esbuild is not built (bash guests/third-party/build.sh): left out\n`);
  const jq = build('jq');
  if (jq && existsSync(jq.elf)) {
    workloads.push({ name: 'jq-onig', run: ['--mount', `${jq.tests}:/t:ro`, jq.elf, '--run-tests', '/t/onig.test'] });
  } else process.stderr.write(`${who}: jq is not built (bash guests/third-party/build.sh): left out\n`);
  return workloads;
}

/** Seconds of one whole `node CLI run OPTIONS... WORKLOAD` (throws if it fails). */
export function timeRun(cli, options, w) {
  const started = process.hrtime.bigint();
  const p = spawnSync(process.execPath, [cli, 'run', ...options, ...w.run], { cwd: w.cwd ?? ROOT, encoding: 'utf8', timeout: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (p.status !== 0) throw new Error(`${w.name} (${cli} ${options.join(' ')}): status ${p.status}: ${(p.stderr ?? '').trim().split('\n').pop()}`);
  return seconds;
}
