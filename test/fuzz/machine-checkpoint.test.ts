// Fuzz target: SystemVM.restore on mutated checkpoints of real machines
// (bare-metal programs of guests/baremetal, one of them with two harts and
// one with a disk, saved at several points of their runs). The contract:
// restore either builds a machine or throws a CheckpointError, never
// anything else; a machine it builds runs a few slices without ring -1
// throwing (whatever the guest then does is the guest's business); no input
// takes long.
//
// A mutated byte almost always breaks a checksum, which the container's own
// target (checkpoint.test.ts) covers; so the structured mutator mutates one
// section's record and writes the container again around it, and the
// records' checks behind the checksums get the inputs. The system record's
// RAM size is left alone: a file may ask for up to 4 GiB of RAM, as --mem
// may, and the fuzzer is not to allocate it thousands of times.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SystemVM } from '../../src/system/system-vm.js';
import { CheckpointError } from '../../src/hypervisor/checkpoint-file.js';
import { systemMachineId } from '../../src/system/system-checkpoint.js';
import { MemoryBlockBackend } from '../../src/system/devices/virtio-blk.js';
import { loadCpuModule } from '../../src/node/load.js';
import { fuzz, budget, fuzzTimeout, describeFailures, mutateCheckpointSection, type FuzzTarget, type NamedInput, type Rng } from './harness.js';

const corpusDir = fileURLToPath(new URL('./corpus/machine-checkpoint/', import.meta.url));
const baremetal = fileURLToPath(new URL('../../guests/baremetal/bin/', import.meta.url));
const cpuModule = loadCpuModule('release');
const DISK_BYTES = 64 * 1024;
/** Bytes of the system record before its RAM size ends: tag length, tag, version, u64. */
const SYSTEM_RAM_FIELD_END = 1 + 'system-vm'.length + 4 + 8;

function machineId() {
  const probe = SystemVM.create({ kernel: readFileSync(`${baremetal}poweroff.elf`), memoryBytes: 16 << 20, cpuModule, random: (b) => b.fill(1) });
  return systemMachineId(probe.cpu.saveHart().length, probe.cpu.layout.EXIT_CONTROLS - probe.cpu.layout.EXIT_REASON);
}
const machine = machineId();

function seedsOf(): NamedInput[] {
  const out: NamedInput[] = [];
  for (const [name, harts, disk] of [['interrupts', 1, false], ['paging', 1, false], ['entry', 2, false], ['sbi', 1, true]] as const) {
    for (const at of [3, 12, 40]) {
      const vm = SystemVM.create({
        kernel: readFileSync(`${baremetal}${name}.elf`), memoryBytes: 16 << 20, harts, cpuModule,
        random: (b) => b.fill(7), console: () => {}, diagnostics: () => {},
        disk: disk ? new MemoryBlockBackend(DISK_BYTES) : undefined,
      });
      for (let i = 0; i < at && vm.step() === undefined; i++);
      out.push({ name: `${name}-${at}`, bytes: vm.checkpoint() });
    }
  }
  return out;
}

function runOne(input: Uint8Array): string | undefined {
  let vm: SystemVM;
  try {
    vm = SystemVM.restore(input, {
      cpuModule, random: (b) => b.fill(7), console: () => {}, diagnostics: () => {}, maxInstructions: 2_000_000n,
      disk: new MemoryBlockBackend(DISK_BYTES),
    });
  } catch (e) {
    if (e instanceof CheckpointError) return undefined;
    return `restore threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not a CheckpointError`;
  }
  try {
    for (let i = 0; i < 20 && vm.step() === undefined; i++);
  } catch (e) {
    return `a restored machine's slice threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  return undefined;
}

export const machineCheckpointTarget: FuzzTarget = {
  name: 'machine-checkpoint',
  seeds: (): NamedInput[] => seedsOf(),
  generate: (rng: Rng): Uint8Array => {
    const seeds = generated ??= seedsOf().map((s) => s.bytes);
    return seeds[rng.int(seeds.length)];
  },
  // Keep the RAM size (see the top of this file); RAM and CPU sections stay compressed.
  mutate: (input: Uint8Array, rng: Rng): Uint8Array => mutateCheckpointSection(input, rng, machine, (name, original, mutated) => {
    if (name !== 'system') return mutated;
    if (mutated.length < SYSTEM_RAM_FIELD_END) return undefined;
    const out = mutated.slice();
    out.set(original.subarray(0, SYSTEM_RAM_FIELD_END));
    return out;
  }),
  run: runOne,
};
let generated: Uint8Array[] | undefined;

describe('fuzz: system VM checkpoints', () => {
  it('restore() builds a machine that runs, or throws CheckpointError; never anything else, never hangs', () => {
    const report = fuzz(machineCheckpointTarget, { ...budget(300), corpusDir });
    console.log(`fuzz machine-checkpoint: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s, seed ${JSON.stringify(report.seed)}`);
    if (report.failures.length) throw new Error(describeFailures(report));
    if (process.env.RINGVISOR_FUZZ_REPLAY === undefined) expect(report.iterations).toBeGreaterThan(0);
  }, fuzzTimeout());
});
