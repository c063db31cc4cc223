#!/usr/bin/env node
// Two or more builds of ringvisor in one Node process, alternating: each
// round runs the guest once under each build's library (dist/index.js),
// the build that goes first alternating, and the script prints each
// build's median time and the median of its per-round ratio to the first
// build's. Timed from ProcessVM.create to the guest's exit, as
// bench/ringvisor-child.mjs times a run, and without a process start per
// run, whose noise on a busy machine is larger than the few percent a
// change to translated code makes (bench/builds.mjs times whole
// processes, as a user would).
//   node bench/alternate.mjs ROUNDS BUILD,BUILD[,...] ELF [ARG...] [--jit off] [--json FILE]
// A BUILD is a checkout with `npm run build` done. The first round is a
// warm-up and not counted. Every run must exit with status 0 and print
// what the first build's first run printed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, takeOption } from './harness.mjs';

const USAGE = 'usage: node bench/alternate.mjs ROUNDS BUILD,BUILD[,...] ELF [ARG...] [--jit off] [--json FILE]\n';
const args = process.argv.slice(2);
const jit = takeOption(args, '--jit');
const json = takeOption(args, '--json');
const [roundsArg, buildsArg, elf, ...guestArgs] = args;
const rounds = Number(roundsArg);
if (!(Number.isInteger(rounds) && rounds >= 1) || buildsArg === undefined || elf === undefined || (jit !== undefined && jit !== 'off')) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const builds = buildsArg.split(',').map((b) => resolve(b));
for (const b of builds) {
  if (!existsSync(`${b}/dist/index.js`)) {
    process.stderr.write(`alternate: ${b}/dist/index.js is missing (npm run build there)\n${USAGE}`);
    process.exit(2);
  }
}
const libraries = await Promise.all(builds.map((b) => import(pathToFileURL(`${b}/dist/index.js`).href)));
const bytes = new Uint8Array(readFileSync(elf));
const options = jit === 'off' ? { jitThreshold: 0 } : {};

let expected;
/** Milliseconds of one run of the guest under build i. */
function once(i) {
  const chunks = [];
  const started = performance.now();
  const vm = libraries[i].ProcessVM.create(bytes, { argv: [elf, ...guestArgs], stdout: (b) => { chunks.push(Buffer.from(b)); }, ...options });
  const status = vm.runSync();
  const ms = performance.now() - started;
  const out = Buffer.concat(chunks).toString('latin1');
  if (status !== 0) throw new Error(`${builds[i]}: exit status ${status}`);
  expected ??= out;
  if (out !== expected) throw new Error(`${builds[i]}: printed ${JSON.stringify(out.slice(0, 80))}, not ${JSON.stringify(expected.slice(0, 80))}`);
  return ms;
}

const times = builds.map(() => []);
try {
  for (let r = 0; r <= rounds; r++) {
    const order = builds.map((_, i) => (r % 2 === 0 ? i : builds.length - 1 - i));
    for (const i of order) {
      const ms = once(i);
      if (r > 0) times[i].push(ms);
    }
    process.stderr.write(`alternate: round ${r}/${rounds}\n`);
  }
} catch (e) {
  process.stderr.write(`alternate: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
}
const rows = builds.map((b, i) => ({
  build: b,
  medianMs: median(times[i]),
  ratio: median(times[i].map((t, k) => t / times[0][k])),
  times: times[i],
}));
process.stdout.write(`${rounds} rounds, ${[elf.split('/').pop(), ...guestArgs].join(' ')}${jit ? ` --jit ${jit}` : ''}\n`);
for (const row of rows) process.stdout.write(`${row.build}  ${row.medianMs.toFixed(1)} ms  ${row.ratio.toFixed(3)}x\n`);
if (json !== undefined) writeFileSync(json, `${JSON.stringify({ elf, args: guestArgs, jit: jit ?? 'on', rounds, rows }, null, 2)}\n`);
