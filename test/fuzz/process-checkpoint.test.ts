// Fuzz target: ProcessVM.restore on mutated checkpoints of real process VMs
// (threads in futex waits, a Go program with its epoll instance, a program
// with host files, a /tmp file and a pipe open, saved at several points of
// their runs). The contract: restore either builds a VM or throws a
// CheckpointError, never anything else; a VM it builds runs a few slices
// without ring -1 throwing (what the guest then does is its own business);
// no input takes long.
//
// As for system VMs (machine-checkpoint.test.ts), the structured mutator
// mutates one section's record and writes the container again around it,
// so that the records' own checks, behind the checksums, get the inputs.
// The process record's memory size is left alone, so that a file does not
// make the fuzzer allocate gigabytes time after time.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessVM, type ProcessVMOptions } from '../../src/index.js';
import { CheckpointError, type MachineId } from '../../src/hypervisor/checkpoint-file.js';
import { sandboxFs } from '../../src/node/host-fs.js';
import { processMachineId } from '../../src/linux/process-checkpoint.js';
import { loadCpuModule } from '../../src/node/load.js';
import { fuzz, budget, fuzzTimeout, describeFailures, mutateCheckpointSection, type FuzzTarget, type NamedInput, type Rng } from './harness.js';

const corpusDir = fileURLToPath(new URL('./corpus/process-checkpoint/', import.meta.url));
const guest = (name: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../../guests/bin/${name}`, import.meta.url))));
const cpuModule = loadCpuModule('release');
// A host directory for the programs that open files: restores reopen them there.
const dir = mkdtempSync(join(tmpdir(), 'rv-fuzz-pckpt-'));
writeFileSync(join(dir, 'input.txt'), 'some host file\n'.repeat(40));

const common = (): Partial<ProcessVMOptions> => ({
  clock: 'virtual', memoryBytes: 32 << 20, cpuModule, random: (b) => b.fill(7), jitThreshold: 0,
  stdout: () => {}, stderr: () => {}, diagnostics: () => {}, maxInstructions: 200_000_000n,
  fs: sandboxFs({ cwd: dir, mounts: [{ host: dir, guest: '/data' }] }),
});

const PROGRAMS: [string, string[]][] = [
  ['threads.elf', ['threads', 'queue']],
  ['threads.elf', ['threads', 'timed']],
  ['go-goroutines.elf', ['go-goroutines', 'timers']],
  ['checkpoint-files.elf', ['checkpoint-files', '/data']],
];

// The machine kind this CPU module's checkpoints are of.
const machine: MachineId = (() => {
  const probe = ProcessVM.create(guest('hello.elf'), common());
  const id = processMachineId(probe.cpu);
  probe.dispose();
  return id;
})();

function seedsOf(): NamedInput[] {
  const out: NamedInput[] = [];
  for (const [elf, argv] of PROGRAMS) {
    for (const at of [5, 30, 120]) {
      const vm = ProcessVM.create(guest(elf), { argv, ...common() });
      let ended = false;
      for (let i = 0; i < at && !ended; i++) ended = vm.processes.step(vm.clock) !== undefined;
      if (ended) { vm.dispose(); continue; }
      const bytes = vm.checkpoint();
      out.push({ name: `${argv.join('-')}-${at}`, bytes });
      vm.dispose();
    }
  }
  return out;
}

function runOne(input: Uint8Array): string | undefined {
  let vm: ProcessVM;
  try {
    vm = ProcessVM.restore(input, common());
  } catch (e) {
    if (e instanceof CheckpointError) return undefined;
    return `restore threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not a CheckpointError`;
  }
  try {
    for (let i = 0; i < 20 && vm.processes.step(vm.clock) === undefined; i++);
  } catch (e) {
    return `a restored VM's slice threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
  } finally {
    vm.dispose();
  }
  return undefined;
}

// The process record with its memory size as it was.
function keepMemorySize(original: Uint8Array, mutated: Uint8Array): Uint8Array {
  // The record starts: u8 tag length, tag, u32 version, string program
  // name (u32 length, bytes), u64 memoryBytes.
  const view = new DataView(original.buffer, original.byteOffset, original.length);
  const tagEnd = 1 + original[0];
  const nameLength = view.getUint32(tagEnd + 4, true);
  const end = tagEnd + 4 + 4 + nameLength + 8;
  if (mutated.length < end) return original;
  const out = mutated.slice();
  out.set(original.subarray(0, end));
  return out;
}

export const processCheckpointTarget: FuzzTarget = {
  name: 'process-checkpoint',
  seeds: (): NamedInput[] => seedsOf(),
  generate: (rng: Rng): Uint8Array => {
    const seeds = generated ??= seedsOf().map((s) => s.bytes);
    return seeds[rng.int(seeds.length)];
  },
  mutate: (input: Uint8Array, rng: Rng): Uint8Array => mutateCheckpointSection(input, rng, machine, (name, original, mutated) => (name === 'process' ? keepMemorySize(original, mutated) : mutated)),
  run: runOne,
};
let generated: Uint8Array[] | undefined;

describe('fuzz: process VM checkpoints', () => {
  it('restore() builds a VM that runs, or throws CheckpointError; never anything else, never hangs', () => {
    try {
      const report = fuzz(processCheckpointTarget, { ...budget(120), corpusDir });
      console.log(`fuzz process-checkpoint: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s, seed ${JSON.stringify(report.seed)}`);
      if (report.failures.length) throw new Error(describeFailures(report));
      if (process.env.RINGVISOR_FUZZ_REPLAY === undefined) expect(report.iterations).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, fuzzTimeout());
});
