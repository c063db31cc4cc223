#!/usr/bin/env node
// The benchmark's command line: npm run bench, ringvisor bench.
//   node bench/run.mjs [--quick] [--only NAME,...] [--reps N] ...   (--help)
import { parseArgs, runBench, UsageError, USAGE } from './harness.mjs';

let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`bench: ${e.message}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(USAGE);
} else {
  try {
    process.exitCode = (await runBench(options)).exitCode;
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exitCode = 1;
  }
}
