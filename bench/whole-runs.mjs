// Workloads timed as whole `ringvisor run` processes (Node's start-up and
// translation included, as a user times them), shared by the scripts that
// compare alternately: bench/thresholds.mjs (--jit settings of one build)
// and bench/builds.mjs (two builds, e.g. a change and its parent).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';
import { findThirdParty, writeEsbuildProject } from './programs.mjs';

/** The benchmark's own guests at their default sizes, and, where
 *  guests/third-party/build.sh has built them, esbuild bundling a small
 *  project (a Go program: much code, little of it hot) and printing its
 *  version (a short run), jq's oniguruma tests (an interpreter, a
 *  medium-length run), jq '.a' (a short run that is mostly jq's start) and
 *  busybox echo (almost nothing but ringvisor's own start).
 *  `who` names the caller in what it says of those left out. */
export function wholeRunWorkloads(who) {
  const bin = (name) => join(ROOT, 'guests/bin', name);
  const workloads = ['integer', 'quicksort', 'strings', 'sha256', 'syscalls', 'nbody'].map((w) => ({ name: w, run: [bin(`bench-${w}.elf`)] }));
  const esbuild = findThirdParty('esbuild', ['elf']);
  if (esbuild) {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-whole-runs-'));
    // (Gone when the script ends, however it ends short of a signal.)
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    writeEsbuildProject(dir);
    workloads.push({ name: 'esbuild', cwd: dir, run: [esbuild.elf, 'src/app.ts', '--bundle', '--minify', '--outfile=out/app.js', '--jsx-factory=h', '--log-level=warning'] });
    workloads.push({ name: 'esbuild-version', run: [esbuild.elf, '--version'] });
  } else process.stderr.write(`${who}: esbuild is not built (bash guests/third-party/build.sh): left out\n`);
  const jq = findThirdParty('jq', ['elf', 'tests']);
  if (jq) {
    workloads.push({ name: 'jq-onig', run: ['--mount', `${jq.tests}:/t:ro`, jq.elf, '--run-tests', '/t/onig.test'] });
    workloads.push({ name: 'jq-short', run: [jq.elf, '.a'], input: '{"a":1}\n' });
  } else process.stderr.write(`${who}: jq is not built (bash guests/third-party/build.sh): left out\n`);
  const busybox = findThirdParty('busybox', ['elf']);
  if (busybox) workloads.push({ name: 'busybox-echo', run: [busybox.elf, 'echo', 'hello'] });
  else process.stderr.write(`${who}: busybox is not built (bash guests/third-party/build.sh): left out\n`);
  return workloads;
}

/** The workloads named in `only` (all when undefined); a name there is
 *  none of them: the usage error `usage`, status 2. */
export function onlyWorkloads(all, only, who, usage) {
  const unknown = (only ?? []).filter((name) => !all.some((w) => w.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`${who}: no workload ${unknown.join(', ')} (there are ${all.map((w) => w.name).join(', ')})\n${usage}`);
    process.exit(2);
  }
  return all.filter((w) => only === undefined || only.includes(w.name));
}

/** Seconds of one whole `node CLI run OPTIONS... WORKLOAD`, its standard
 *  input the workload's `input` or empty (throws if it fails). */
export function timeRun(cli, options, w) {
  const started = process.hrtime.bigint();
  const p = spawnSync(process.execPath, [cli, 'run', ...options, ...w.run], { cwd: w.cwd ?? ROOT, input: w.input ?? '', encoding: 'utf8', timeout: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (p.status !== 0) throw new Error(`${w.name} (${cli} ${options.join(' ')}): status ${p.status}: ${(p.stderr ?? '').trim().split('\n').pop()}`);
  return seconds;
}
