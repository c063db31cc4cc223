// src/node/malloc-threshold.ts: with glibc's trim threshold raised, the
// modules the Jit compiles reuse the memory V8 compiled the last one in
// instead of faulting fresh pages in for each. Counted, not timed: the
// host's minor page faults over the same translated run, in two fresh
// processes, one with the threshold raised and one without.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const glibc = process.platform === 'linux'
  && Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime);

// The CPU module is compiled here from its file (loadCpuModule would raise
// the threshold itself); the integer mix, translated from its first
// instruction at a low threshold, makes some 40 modules.
const CHILD = `
const [root, raise] = process.argv.slice(1);
const { ProcessVM } = await import(root + 'dist/index.js');
const { raiseMallocTrimThreshold } = await import(root + 'dist/node/malloc-threshold.js');
const { readFileSync } = await import('node:fs');
const cpuModule = new WebAssembly.Module(readFileSync(root + 'build/ringvisor.wasm'));
if (raise === 'yes') raiseMallocTrimThreshold();
globalThis.gc(); // frees the dropped block now, as a collection would soon
const elf = readFileSync(root + 'guests/bin/bench-integer.elf');
const before = process.resourceUsage().minorPageFault;
let out = '';
const vm = ProcessVM.create(elf, { cpuModule, argv: ['integer', '300'], jitThreshold: 64, jitWarmup: 0n,
  stdout: (b) => { out += new TextDecoder().decode(b); } });
const status = vm.runSync();
process.stdout.write(JSON.stringify({ status, out, modules: vm.cpu.jitStats.modules, faults: process.resourceUsage().minorPageFault - before }));
`;

function translatedRun(raise: boolean): { status: number; out: string; modules: number; faults: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD, ROOT, raise ? 'yes' : 'no'], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('glibc trim threshold (malloc-threshold.ts)', () => {
  it.runIf(glibc)('a translated run takes far fewer page faults with it raised', () => {
    const plain = translatedRun(false), raised = translatedRun(true);
    for (const r of [plain, raised]) {
      expect(r.status).toBe(0);
      expect(r.out).toMatch(/^iterations 300 crc 0x[0-9a-f]{8}\n$/);
      expect(r.modules).toBeGreaterThan(20);
    }
    expect(raised.out).toBe(plain.out);
    // Measured: 6,800-7,900 against 3,200-3,300.
    expect(raised.faults).toBeLessThan(plain.faults * 0.75);
  });
});
