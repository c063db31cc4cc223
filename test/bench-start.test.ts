// bench/start.mjs at its smallest: that ringvisor's start (run to its
// first guest instruction, status 124) and the whole runs are timed for a
// short program, the report has its shape, and a bad option or a missing
// build is said. Never its speed.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findThirdParty, THIRD_PARTY_BUILD } from './support/third-party.js';
import { qemuPath } from './support/guests.js';

const ROOT = new URL('..', import.meta.url).pathname;

interface Program { name: string; times: Record<string, number[]>; median: Record<string, number>; startOverQemu: number; nodeOverQemu: number }

const busybox = findThirdParty<{ elf: string }>('busybox', ['elf']);
const missing = !qemuPath() ? 'qemu-riscv64 is not on the PATH (apt-get install qemu-user)'
  : !busybox ? `busybox is not built (${THIRD_PARTY_BUILD})` : undefined;

function start(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, ['bench/start.mjs', ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 120_000 });
}

describe('bench/start.mjs', () => {
  it.skipIf(missing !== undefined)(`times ringvisor's start, its whole run and qemu-riscv64's${missing ? ` (skipped: ${missing})` : ''}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-bench-start-'));
    try {
      const out = join(dir, 'start.json');
      // Node's certificate bundle is left out of every peer's start (bench/node-env.mjs).
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '/dev/null' };
      const r = start(['1', '--only', 'busybox-echo', '--json', out], env);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^Node runs without NODE_EXTRA_CA_CERTS, set here \(bench\/node-env\.mjs\)$/m);
      expect(r.stdout).toMatch(/^busybox echo +[\d.]+ ms +[\d.]+ ms +[\d.]+ ms +[\d.]+ ms +[\d.]+x$/m);
      const j = JSON.parse(readFileSync(out, 'utf8')) as { reps: number; command: string; programs: Program[]; nodeVariablesRemoved: string[] };
      expect(j.reps).toBe(1);
      expect(j.nodeVariablesRemoved).toEqual(['NODE_EXTRA_CA_CERTS']);
      expect(j.command).toBe(`node bench/start.mjs 1 --only busybox-echo --json ${out}`);
      expect(j.programs.map((p) => p.name)).toEqual(['busybox-echo']);
      const [p] = j.programs;
      for (const peer of ['node', 'start', 'ringvisor', 'qemu']) {
        expect(p.times[peer]).toHaveLength(1);
        expect(p.median[peer]).toBeGreaterThan(0);
      }
      expect(p.startOverQemu).toBeCloseTo(p.median.start / p.median.qemu, 10);
      expect(p.nodeOverQemu).toBeCloseTo(p.median.node / p.median.qemu, 10);
      // --keep-node-env: as the environment has it.
      const kept = start(['1', '--only', 'busybox-echo', '--keep-node-env', '--json', out], env);
      expect(kept.status, kept.stderr).toBe(0);
      expect(kept.stderr).not.toMatch(/Node runs without/);
      expect((JSON.parse(readFileSync(out, 'utf8')) as { nodeVariablesRemoved: string[] }).nodeVariablesRemoved).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a program it does not time and a bad count', () => {
    for (const args of [['1', '--only', 'jq-suite'], ['0'], ['x']]) {
      const r = start(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^usage: node bench\/start\.mjs \[reps=11\] \[--only jq-short,busybox-echo,esbuild-version\]/);
    }
  });

  it('says when the programs are not built', () => {
    const cache = mkdtempSync(join(tmpdir(), 'ringvisor-bench-start-cache-'));
    try {
      const r = start(['1'], { ...process.env, RINGVISOR_CACHE: cache });
      if (!qemuPath()) expect(r.stderr).toMatch(/qemu-riscv64 is not on the PATH/);
      else expect(r.stderr).toMatch(/^start: none of jq-short, busybox-echo, esbuild-version is built \(bash guests\/third-party\/build\.sh\)$/m);
      expect(r.status).toBe(1);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
