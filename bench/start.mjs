#!/usr/bin/env node
// How much of a short program's time is ringvisor's own start, against
// qemu-riscv64's whole run of it. For each short real program (those of
// bench/programs.mjs with one step, run as it runs them), alternating, the
// whole processes of:
//   node -e 0            Node's own start and exit, which ringvisor cannot go under
//   ringvisor's start    `ringvisor run --max-instructions 1`: Node, loading
//                        ringvisor and the CPU, making the VM and loading the
//                        program, its first instruction, and the exit (status 124)
//   ringvisor            the whole run, as bench/programs.mjs times it
//   qemu-riscv64         the whole run
// and the medians. Where ringvisor's start alone takes longer than
// qemu-riscv64's whole run, no speed of the guest's code can bring the
// program to qemu-riscv64's time.
//   node bench/start.mjs [reps=11] [--only a,b] [--keep-node-env] [--json FILE]
// --keep-node-env: Node keeps NODE_EXTRA_CA_CERTS (node-env.mjs), if set.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median, takeOption } from './harness.mjs';
import { removeNodeStartVariables } from './node-env.mjs';
import { commandFor, programWorkloads } from './programs.mjs';
import { qemuPath } from '../scripts/record-golden.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHORT = ['jq-short', 'busybox-echo', 'esbuild-version'];
const LIMIT_STATUS = 124; // ringvisor's exit status at --max-instructions

/** Seconds of one whole process; throws if it fails or ends with another status. */
function timed(command, { input = '', cwd = ROOT, env = process.env, status = 0 } = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(command[0], command.slice(1), { cwd, env, input, encoding: 'latin1', timeout: 120_000, maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.error) throw new Error(`${command.join(' ')}: ${r.error.message}`);
  if (r.status !== status) throw new Error(`${command.join(' ')}: exit status ${r.status ?? `signal ${r.signal}`}, not ${status}: ${(r.stderr || '').trim().split('\n').pop()}`);
  return seconds;
}

export function runStart({ reps = 11, only = SHORT, progress = () => {} } = {}) {
  const qemu = qemuPath();
  if (!qemu) return { missing: 'qemu-riscv64 is not on the PATH (apt-get install qemu-user)' };
  const { workloads } = programWorkloads();
  const chosen = workloads.filter((w) => only.includes(w.name) && w.steps.length === 1);
  if (chosen.length === 0) return { missing: `none of ${only.join(', ')} is built (bash guests/third-party/build.sh)` };
  // The commands bench/programs.mjs runs, and ringvisor's stopped at its first instruction.
  const peers = (w) => {
    const step = w.steps[0], run = { input: step.stdin ?? '', cwd: step.cwd ?? ROOT };
    return {
      node: [[process.execPath, '-e', '0'], {}],
      start: [commandFor('ringvisor', w, step, {}, ['--max-instructions', '1']), { ...run, status: LIMIT_STATUS }],
      ringvisor: [commandFor('ringvisor', w, step, {}), run],
      qemu: [commandFor('qemu', w, step, { qemu }), { ...run, env: {} }],
    };
  };
  const out = [];
  for (const w of chosen) {
    const ps = peers(w), names = Object.keys(ps), times = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < reps; i++) {
      for (const n of i % 2 ? [...names].reverse() : names) {
        times[n].push(timed(...ps[n]));
      }
      progress(`start: ${w.name} ${i + 1}/${reps}`);
    }
    const m = Object.fromEntries(names.map((n) => [n, median(times[n])]));
    out.push({ name: w.name, title: w.title, times, median: m, startOverQemu: m.start / m.qemu, nodeOverQemu: m.node / m.qemu });
  }
  return { reps, programs: out };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  // (node-env.mjs: what every Node process would pay at its start; kept with
  // --keep-node-env, to measure what it costs.)
  const keep = args.includes('--keep-node-env');
  if (keep) args.splice(args.indexOf('--keep-node-env'), 1);
  const json = takeOption(args, '--json');
  const only = takeOption(args, '--only')?.split(',');
  const reps = Number(args[0] ?? 11);
  if (!Number.isInteger(reps) || reps < 1 || args.length > 1 || (only && only.some((n) => !SHORT.includes(n)))) {
    process.stderr.write(`usage: node bench/start.mjs [reps=11] [--only ${SHORT.join(',')}] [--keep-node-env] [--json FILE]\n`);
    process.exit(2);
  }
  const removed = keep ? [] : removeNodeStartVariables();
  const r = runStart({ reps, only, progress: (s) => process.stderr.write(s + '\n') });
  if (r.missing) { process.stderr.write(`start: ${r.missing}\n`); process.exit(1); }
  const ms = (s) => `${(s * 1000).toFixed(1)} ms`;
  process.stdout.write(`medians of ${reps}, alternating\nprogram            node -e 0   ringvisor's start   ringvisor   qemu-riscv64   start/qemu\n`);
  for (const p of r.programs) {
    const m = p.median;
    process.stdout.write(`${p.title.padEnd(18)} ${ms(m.node).padStart(9)}   ${ms(m.start).padStart(17)}   ${ms(m.ringvisor).padStart(9)}   ${ms(m.qemu).padStart(12)}   ${p.startOverQemu.toFixed(2)}x\n`);
  }
  if (json) writeFileSync(json, JSON.stringify({ ...r, nodeVariablesRemoved: removed, date: new Date().toISOString(), command: `node bench/start.mjs ${process.argv.slice(2).join(' ')}` }, null, 2) + '\n');
}
