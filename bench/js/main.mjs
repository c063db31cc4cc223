#!/usr/bin/env node
// Runs one JavaScript workload as a program of its own, as the C versions
// run: prints what the C program prints on stdout, and on stderr one line
// of JSON with the seconds the work took, timed here so that Node's own
// start-up (which a C program does not pay) is left out and reported apart.
// NAME is a workload of this folder, or the path of another module with the
// same run(size) (bench/run.mjs --js-dir).
//   node bench/js/main.mjs NAME|MODULE.mjs SIZE
import { pathToFileURL } from 'node:url';

const [name, size] = process.argv.slice(2);
if (!name || !/^\d+$/.test(size ?? '')) {
  process.stderr.write('usage: node bench/js/main.mjs NAME|MODULE.mjs SIZE\n');
  process.exit(2);
}
const { run } = await import(name.endsWith('.mjs') ? pathToFileURL(name).href : `./${name}.mjs`);
const started = process.hrtime.bigint();
const output = run(Number(size));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(output);
process.stderr.write(`\nbench-timing ${JSON.stringify({ seconds })}\n`);
