#!/usr/bin/env node
// Longer fuzzing runs of the targets in test/fuzz/ (elf, syscalls, virtio, kernel, checkpoint, disk-layer, machine-checkpoint, process-checkpoint, host-api):
//
//   npm run fuzz -- elf --time 600             ten minutes of the ELF loader
//   npm run fuzz -- all --time 60 --seed s1    a minute of each, seed "s1"
//   npm run fuzz -- virtio --iterations 100000
//   npm run fuzz -- syscalls --replay test/fuzz/found/   rerun saved inputs
//
// Options: --time SECONDS (per target), --iterations N, --seed S (default:
// one derived from the clock, printed, so that a run can be repeated),
// --watchdog SECONDS (default 30: a target whose heartbeat stops that long
// is hung in host code, which no in-process check can catch: it is killed
// and the input it was on saved), --no-build (use build/ and dist/ as they
// are; by default `npm run build` runs first), --replay FILE|DIR (run those
// inputs, after the corpus, instead of fuzzing).
//
// Each target runs as its vitest file (the same code `npm test` runs with a
// small fixed budget) in a child process, with the budget, the seed and the
// directory for failures passed in the environment. A failing input is
// saved in test/fuzz/found/<target>-<hash>.bin with a .txt saying what went
// wrong and how it was found; once understood, it moves into
// test/fuzz/corpus/<target>/ (so every later run replays it) and gets a
// test of its own. Exit status: 0 when every target passed, 1 otherwise.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = ['elf', 'syscalls', 'virtio', 'kernel', 'checkpoint', 'disk-layer', 'machine-checkpoint', 'process-checkpoint', 'host-api'];

function usage(message) {
  if (message) console.error(`fuzz: ${message}`);
  console.error(`usage: npm run fuzz -- <${TARGETS.join('|')}|all> [--time SECONDS] [--iterations N] [--seed S] [--watchdog SECONDS] [--no-build] [--replay FILE|DIR]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const opts = { time: undefined, iterations: undefined, seed: undefined, watchdog: 30, build: true, replay: undefined };
const targets = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => { if (i + 1 >= args.length) usage(`${a} needs a value`); return args[++i]; };
  if (a === '--time') opts.time = Number(value());
  else if (a === '--iterations') opts.iterations = Number(value());
  else if (a === '--seed') opts.seed = value();
  else if (a === '--watchdog') opts.watchdog = Number(value());
  else if (a === '--no-build') opts.build = false;
  else if (a === '--replay') opts.replay = resolve(value());
  else if (a === '-h' || a === '--help') usage();
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else if (a === 'all') targets.push(...TARGETS);
  else if (TARGETS.includes(a)) targets.push(a);
  else usage(`no target ${a}`);
}
if (targets.length === 0) usage('which target?');
for (const [k, v] of [['--time', opts.time], ['--iterations', opts.iterations], ['--watchdog', opts.watchdog]]) {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) usage(`${k} must be a positive number`);
}
if (opts.time === undefined && opts.iterations === undefined) opts.time = 60;
opts.seed ??= `run-${new Date().toISOString().replace(/[:.]/g, '-')}`;

if (opts.build) {
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

const found = join(root, 'test', 'fuzz', 'found');
const work = mkdtempSync(join(tmpdir(), 'ringvisor-fuzz-'));
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');

/** Runs one target; resolves to true when it passed. */
function runTarget(target) {
  return new Promise((resolve) => {
    const heartbeat = join(work, `${target}.current`);
    const env = {
      ...process.env,
      RINGVISOR_FUZZ_SEED: opts.seed,
      RINGVISOR_FUZZ_SAVE: found,
      RINGVISOR_FUZZ_HEARTBEAT: heartbeat,
    };
    if (opts.time !== undefined) env.RINGVISOR_FUZZ_TIME = String(opts.time);
    if (opts.iterations !== undefined) env.RINGVISOR_FUZZ_ITERATIONS = String(opts.iterations);
    if (opts.replay !== undefined) env.RINGVISOR_FUZZ_REPLAY = opts.replay;
    console.log(opts.replay !== undefined ? `fuzz ${target}: replaying ${opts.replay}`
      : `fuzz ${target}: seed ${JSON.stringify(opts.seed)}, ${opts.time !== undefined ? `${opts.time} s` : `${opts.iterations} inputs`}`);
    // Only the fuzzing test of the file (its name starts "fuzz:"), not the
    // regression tests beside it.
    const child = spawn(process.execPath, [vitest, 'run', `test/fuzz/${target}.test.ts`, '-t', '^fuzz:'], {
      cwd: root, env, stdio: 'inherit', detached: true,
    });
    let hung = false;
    const started = Date.now();
    const timer = setInterval(() => {
      // Before the first input (vitest starting, transforming, loading the
      // corpus) there is no heartbeat yet: a minute more is allowed then.
      const beating = existsSync(heartbeat);
      const last = beating ? statSync(heartbeat).mtimeMs : started + 60_000;
      if (Date.now() - Math.max(last, started) > opts.watchdog * 1000) {
        hung = true;
        clearInterval(timer);
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }, 1000);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (hung) {
        mkdirSync(found, { recursive: true });
        if (existsSync(heartbeat)) {
          // The heartbeat file holds the input's length (u32) and its bytes.
          const beat = readFileSync(heartbeat);
          const input = beat.subarray(4, 4 + beat.readUInt32LE(0));
          const file = join(found, `${target}-hang-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`);
          writeFileSync(file, input);
          console.error(`fuzz ${target}: no progress for ${opts.watchdog} s: hung on the input saved as ${file}`);
        } else {
          console.error(`fuzz ${target}: no first input after ${opts.watchdog + 60} s: hung while starting`);
        }
      }
      resolve(!hung && code === 0);
    });
  });
}

let failed = 0;
for (const t of targets) {
  if (!(await runTarget(t))) failed++;
}
rmSync(work, { recursive: true, force: true });
if (failed) console.error(`fuzz: ${failed} of ${targets.length} targets failed; inputs are in test/fuzz/found/`);
process.exit(failed ? 1 : 0);
