// The randomized differential tester. Each (group, seed) program from
// test/support/random-programs.ts runs thousands of random instruction
// sequences, each ending in a dump of x1..x31, f0..f31, fcsr and a scratch
// buffer to stdout; in the `trap` group, whose units are reserved encodings
// and accesses that fault, the dump starts with the block's trap record: the
// signal, si_code, si_addr and pc of every SIGILL, SIGBUS and SIGSEGV its
// handler caught, so that the exception the CPU raised is compared as well
// as the state. ringvisor's stdout must equal, byte for byte, what
// qemu-riscv64 printed for the same ELF: recorded in test/golden/random/
// (scripts/gen-random-golden.mjs), and, when qemu-riscv64 is installed,
// also live for a fresh set of seeds derived from the date (override with
// RINGVISOR_RANDOM_SEED=… to replay one).
//
// A mismatch names the group, seed and block, the differing registers with
// both values, the block's initial state and its listing; with QEMU
// available it also runs every prefix of the block on both machines and
// marks the first unit after which they differ.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ProcessVM } from '../src/linux/process-vm.js';
import { loadCpuModule } from '../src/node/load.js';
import {
  GROUPS, GOLDEN_SEEDS, GENERATOR_VERSION, BLOCKS_PER_PROGRAM, goldenFile, generateProgram, prefixProgram,
  firstDifferingBlock, describeMismatch, type Program,
} from './support/random-programs.js';
import { qemuAvailable, runQemu, type RunResult } from './support/qemu.js';

const goldenDir = new URL('./golden/random/', import.meta.url);
interface ManifestEntry { group: string; seed: string; file: string; blocks: number; elfSha256: string; outputBytes: number; outputSha256: string }
const manifest = JSON.parse(readFileSync(new URL('manifest.json', goldenDir), 'utf8')) as {
  generatorVersion: number; qemu: string; programs: ManifestEntry[];
};

const cpuModule = loadCpuModule('release');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function runRingvisor(elf: Uint8Array): RunResult {
  const out: Uint8Array[] = [];
  let stderr = '';
  const vm = ProcessVM.create(elf, {
    cpuModule,
    memoryBytes: 16 * 1024 * 1024,
    maxInstructions: 5_000_000n, // a program runs ~30k; a runaway loop ends here
    stdout: (b) => out.push(b.slice()),
    stderr: (b) => { stderr += Buffer.from(b).toString(); },
  });
  const status = vm.runSync();
  const stdout = new Uint8Array(out.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of out) { stdout.set(b, at); at += b.length; }
  return { stdout, stderr, status };
}

/** Compares ringvisor's run of `p` with the expected stdout; returns a
 *  report of the first differing block, or undefined when they agree. */
function compare(p: Program, expected: Uint8Array, actual: RunResult): string | undefined {
  const bad = firstDifferingBlock(p, expected, actual.stdout);
  if (bad < 0 && actual.status === 0) return undefined;
  if (bad < 0) return `every block matched but ringvisor exited ${actual.status}\n${actual.stderr}`;
  let firstBadUnit: number | undefined;
  if (bad < p.blocks.length && qemuAvailable()) {
    // Bisect: run every prefix of the block on both machines.
    const pp = prefixProgram(p.blocks[bad].block);
    const q = runQemu(pp.elf), r = runRingvisor(pp.elf);
    const k = firstDifferingBlock(pp, q.stdout, r.stdout);
    if (k > 0) firstBadUnit = k - 1;
  }
  return describeMismatch(p, bad, expected, actual.stdout, firstBadUnit)
    + (actual.status !== 0 ? `\nringvisor exited ${actual.status}: ${actual.stderr.trim()}` : '');
}

describe('random differential tests against the recorded QEMU output', () => {
  it('the golden files were recorded from this generator', () => {
    expect(manifest.generatorVersion).toBe(GENERATOR_VERSION);
    for (const [group, seeds] of Object.entries(GOLDEN_SEEDS)) {
      for (const seed of seeds) expect(manifest.programs.some((e) => e.group === group && e.seed === seed), `${group}/${seed} recorded`).toBe(true);
    }
  });

  it('a mismatch report names the block, the differing register and the units writing it', () => {
    const p = generateProgram('rv64i', 'report', 3);
    const run = runRingvisor(p.elf);
    expect(run.status).toBe(0);
    const corrupted = run.stdout.slice();
    const l = p.blocks[1];
    corrupted[l.dumpOffset + l.xAt + 8 * (5 - 1)] ^= 1; // x5 of block 1
    const report = compare(p, corrupted, run) ?? '';
    expect(report).toContain('seed "report", block 1');
    expect(report).toMatch(/x5 \(t0\): expected 0x[0-9a-f]{16}, got 0x[0-9a-f]{16}/);
    expect(report).toContain('units:');
  });

  for (const [group, seeds] of Object.entries(GOLDEN_SEEDS)) {
    it(`${group} (${GROUPS[group].title}): ${seeds.length * BLOCKS_PER_PROGRAM} sequences`, () => {
      const failures: string[] = [];
      for (const seed of seeds) {
        const entry = manifest.programs.find((e) => e.group === group && e.seed === seed)!;
        const p = generateProgram(group, seed, entry.blocks);
        if (sha256(p.elf) !== entry.elfSha256) {
          failures.push(`${group}/${seed}: the generator no longer builds the recorded ELF; run \`node scripts/gen-random-golden.mjs ${group}\` (and bump GENERATOR_VERSION if the change was intended)`);
          continue;
        }
        const expected = new Uint8Array(gunzipSync(readFileSync(new URL(entry.file, goldenDir))));
        const report = compare(p, expected, runRingvisor(p.elf));
        if (report) failures.push(report);
      }
      if (failures.length) throw new Error(`${failures.length} of ${seeds.length} ${group} programs differ from QEMU:\n\n${failures.join('\n\n')}`);
    });
  }
});

// Fresh seeds every day (UTC), so the live run keeps exploring; the seed is
// in every report, and RINGVISOR_RANDOM_SEED replays it.
const liveSeed = process.env.RINGVISOR_RANDOM_SEED ?? `live-${new Date().toISOString().slice(0, 10)}`;
const LIVE_PROGRAMS_PER_GROUP = 3;

describe.skipIf(!qemuAvailable())(`random differential tests live against qemu-riscv64 (seed "${liveSeed}")`, () => {
  for (const group of Object.keys(GROUPS)) {
    it(`${group}: ${LIVE_PROGRAMS_PER_GROUP * BLOCKS_PER_PROGRAM} fresh sequences`, () => {
      const failures: string[] = [];
      for (let n = 0; n < LIVE_PROGRAMS_PER_GROUP; n++) {
        const seed = `${liveSeed}-${n}`;
        const p = generateProgram(group, seed, BLOCKS_PER_PROGRAM);
        const q = runQemu(p.elf);
        if (q.status !== 0 || q.stdout.length !== p.outputBytes) {
          failures.push(`${group}/${seed}: qemu itself exited ${q.status} after ${q.stdout.length} of ${p.outputBytes} bytes: the generator emitted something QEMU rejects\n${q.stderr}`);
          continue;
        }
        const report = compare(p, q.stdout, runRingvisor(p.elf));
        if (report) failures.push(report);
      }
      if (failures.length) throw new Error(failures.join('\n\n'));
    });
  }
});
