#!/usr/bin/env node
// Runs one guest program under ringvisor for bench/run.mjs, in a Node process
// of its own (so no run inherits another's heap, JIT state or guest memory):
// the guest's stdout on stdout, and on stderr a last line of JSON with the
// seconds from ProcessVM.create to the guest's exit, its instructions and
// its status. Node's start-up and the compilation of the CPU module happen
// before the clock starts: they are the host's start-up, not the guest's,
// and a library user pays them once per process (see the micro-benchmarks).
// With --program-dir the guest's files are a sandbox of the program's
// directory, its working directory, so that it can execute its own file
// (/proc/self/exe); else the private /tmp, /dev and /proc/self alone.
//   node bench/ringvisor-child.mjs [--program-dir] PROGRAM.elf [ARGS...]
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ProcessVM, loadCpuModule } from '../dist/index.js';
import { sandboxFs } from '../dist/node/host-fs.js';

const programDir = process.argv[2] === '--program-dir';
const [program, ...args] = process.argv.slice(programDir ? 3 : 2);
const elf = new Uint8Array(readFileSync(program));
const cpuModule = loadCpuModule();
const fs = programDir ? sandboxFs({ cwd: dirname(program) }) : undefined;
const stdout = [];
const started = process.hrtime.bigint();
const vm = ProcessVM.create(elf, {
  argv: [basename(program), ...args],
  cpuModule,
  fs,
  stdout: (bytes) => stdout.push(Buffer.from(bytes)),
  stderr: (bytes) => process.stderr.write(Buffer.from(bytes)),
});
const status = vm.runSync();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(Buffer.concat(stdout));
process.stderr.write(`\nbench-timing ${JSON.stringify({ seconds, instructions: Number(vm.cpu.instret), status })}\n`);
process.exitCode = status;
