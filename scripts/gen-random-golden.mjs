#!/usr/bin/env node
// Records the golden output of the randomized differential tester: builds
// each (group, seed) program of test/support/random-programs.ts, runs it under
// qemu-riscv64 and stores its stdout (the register and memory dumps of every
// block), gzipped, in test/golden/random/<group>-<seed>.bin.gz, with a
// manifest of the ELF and output hashes. test/random.test.ts rebuilds the
// same ELFs and compares ringvisor's output with these files.
//
//   node scripts/gen-random-golden.mjs            record every group
//   node scripts/gen-random-golden.mjs rvc mix    record only these groups
//   node scripts/gen-random-golden.mjs --check    compare QEMU with the files, write nothing
//
// The generator is TypeScript; this script transpiles test/support/*.ts with
// the project's own `typescript` (no other tool needed) into a temporary
// directory and imports it from there.
import ts from 'typescript';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync, gunzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const support = join(root, 'test', 'support');
const outDir = join(root, 'test', 'golden', 'random');

const args = process.argv.slice(2);
const check = args.includes('--check');
const only = args.filter((a) => !a.startsWith('--'));

// Transpile the support modules (they import each other as './x.js').
const tmp = mkdtempSync(join(tmpdir(), 'gen-random-golden-'));
try {
  for (const f of readdirSync(support)) {
    if (!f.endsWith('.ts')) continue;
    const { outputText } = ts.transpileModule(readFileSync(join(support, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: f,
    });
    writeFileSync(join(tmp, f.replace(/\.ts$/, '.js')), outputText);
  }
  const gen = await import(pathToFileURL(join(tmp, 'random-programs.js')).href);
  const qemu = await import(pathToFileURL(join(tmp, 'qemu.js')).href);
  if (!qemu.qemuAvailable()) {
    console.error('gen-random-golden: qemu-riscv64 is not installed (Debian: apt-get install qemu-user)');
    process.exit(1);
  }
  const sha256 = (b) => createHash('sha256').update(b).digest('hex');
  const manifestPath = join(outDir, 'manifest.json');
  const old = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : { programs: [] };
  const programs = [];
  let total = 0, sequences = 0, failed = 0;
  mkdirSync(outDir, { recursive: true });
  for (const [group, seeds] of Object.entries(gen.GOLDEN_SEEDS)) {
    for (const seed of seeds) {
      const file = gen.goldenFile(group, seed);
      if (only.length && !only.includes(group)) {
        const kept = old.programs.find((p) => p.group === group && p.seed === seed);
        if (kept) programs.push(kept);
        continue;
      }
      const p = gen.generateProgram(group, seed, gen.BLOCKS_PER_PROGRAM);
      const r = qemu.runQemu(p.elf);
      if (r.status !== 0 || r.stdout.length !== p.outputBytes) {
        console.error(`${group}/${seed}: qemu exited ${r.status} after ${r.stdout.length} of ${p.outputBytes} bytes\n${r.stderr}`);
        failed++;
        continue;
      }
      const entry = {
        group, seed, file, blocks: gen.BLOCKS_PER_PROGRAM,
        elfSha256: sha256(p.elf), outputBytes: r.stdout.length, outputSha256: sha256(r.stdout),
      };
      if (check) {
        const path = join(outDir, file);
        const same = existsSync(path) && Buffer.compare(gunzipSync(readFileSync(path)), Buffer.from(r.stdout)) === 0;
        console.log(`${same ? 'same   ' : 'DIFFERS'} ${file}`);
        if (!same) failed++;
      } else {
        const gz = gzipSync(r.stdout, { level: 9 });
        writeFileSync(join(outDir, file), gz);
        total += gz.length;
      }
      sequences += gen.BLOCKS_PER_PROGRAM;
      programs.push(entry);
    }
  }
  if (!check) {
    const manifest = {
      about: 'Golden stdout of test/support/random-programs.ts programs under qemu-riscv64; written by scripts/gen-random-golden.mjs',
      generatorVersion: gen.GENERATOR_VERSION,
      qemu: qemu.qemuVersion(),
      qemuCpu: qemu.QEMU_CPU,
      programs,
    };
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 1) + '\n');
    console.log(`recorded ${sequences} sequences in ${programs.length} programs, ${(total / 1024).toFixed(0)} KiB gzipped`);
  }
  if (failed) process.exit(1);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
