// The real-programs part of the benchmark (bench/programs.mjs) at its
// smallest: that every peer gives the same answer, that the report has its
// shape, that a peer giving another answer fails the run loudly, and that
// missing builds are one line, not a failure. Never its speed.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findThirdParty, THIRD_PARTY_BUILD } from './support/third-party.js';
import { qemuPath } from './support/guests.js';

const ROOT = new URL('..', import.meta.url).pathname;

interface Peer { seconds?: number; times?: number[]; missing?: string; notApplicable?: string; failed?: boolean; rating?: number }
interface Workload { name: string; agreed: boolean; output: string; peers: Record<string, Peer>; ratios: Record<string, number | null>; jitOffRatios: Record<string, number | null> }
interface Report { schema: number; command: string; partial: boolean; failures: Array<{ workload: string; kind: string; message: string }>; programs: { missing?: string; workloads: Workload[] } }

function programs(args: string[], cache?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ringvisor-bench-programs-'));
  const out = join(dir, 'report.json');
  const r = spawnSync(process.execPath, ['bench/programs.mjs', '--quick', '--reps', '1', '--out', out, ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...(cache ? { RINGVISOR_CACHE: cache } : {}) },
  });
  return { ...r, report: () => JSON.parse(readFileSync(out, 'utf8')) as Report, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const busybox = findThirdParty<{ elf: string; native: string }>('busybox', ['elf', 'native']);
const jq = findThirdParty<{ elf: string; tests: string; native?: string }>('jq', ['elf', 'tests']);
const esbuild = findThirdParty<{ elf: string }>('esbuild', ['elf']);
const qemu = qemuPath();
const missing = !qemu ? 'qemu-riscv64 is not on the PATH (apt-get install qemu-user)'
  : !busybox || !jq || !esbuild ? `the third-party builds are missing (${THIRD_PARTY_BUILD})` : undefined;

describe('bench/programs.mjs', () => {
  it.skipIf(missing !== undefined)(`runs busybox, jq and esbuild under every peer, and they agree${missing ? ` (skipped: ${missing})` : ''}`, () => {
    const r = programs(['--only', 'busybox-echo,jq-short,esbuild-version']);
    try {
      expect(r.stderr).not.toMatch(/FAILED/);
      expect(r.status).toBe(0);
      const j = r.report();
      expect(j.schema).toBe(1);
      expect(j.partial).toBe(true);
      expect(j.command).toMatch(/^node bench\/programs\.mjs --quick --reps 1 /);
      expect(j.failures).toEqual([]);
      expect(j.programs.workloads.map((w) => w.name)).toEqual(['jq-short', 'busybox-echo', 'esbuild-version']);
      const outputs: Record<string, string> = { 'jq-short': '1', 'busybox-echo': 'hello', 'esbuild-version': '0.28.2' };
      for (const w of j.programs.workloads) {
        expect(w.agreed).toBe(true);
        expect(w.output).toBe(outputs[w.name]);
        for (const p of ['ringvisor', 'jitOff', 'qemu']) {
          expect(w.peers[p].seconds, `${w.name} ${p}`).toBeGreaterThan(0);
          expect(w.peers[p].times).toHaveLength(1);
        }
        expect(w.ratios.qemu).toBeGreaterThan(0);
        expect(w.jitOffRatios.qemu).toBeGreaterThan(0);
      }
      const [jqShort, bb, es] = j.programs.workloads;
      // busybox has an x86-64 build, jq one since build.sh makes it (an
      // older cache has none: then it is missing); esbuild is riscv64 only.
      expect(bb.peers.native.seconds).toBeGreaterThan(0);
      expect(bb.ratios.native).toBeGreaterThan(0);
      if (jq!.native !== undefined && existsSync(jq!.native)) expect(jqShort.ratios.native).toBeGreaterThan(0);
      else {
        expect(jqShort.peers.native.missing).toMatch(/no x86-64 build of jq/);
        expect(jqShort.ratios.native).toBeNull();
      }
      expect(es.peers.native.notApplicable).toMatch(/riscv64 only/);
      expect(r.stdout).toMatch(/^busybox echo\s+\S+ ms/m);
    } finally {
      r.cleanup();
    }
  }, 60_000);

  it.skipIf(!busybox || !qemu)('fails loudly when a peer gives another answer', () => {
    // A cache whose "native busybox" prints something else.
    const cache = mkdtempSync(join(tmpdir(), 'ringvisor-bench-cache-'));
    try {
      const liar = join(cache, 'busybox-liar');
      writeFileSync(liar, '#!/bin/sh\necho goodbye\n');
      chmodSync(liar, 0o755);
      spawnSync('mkdir', [join(cache, 'third-party')]);
      writeFileSync(join(cache, 'third-party', 'busybox.json'), JSON.stringify({ package: 'busybox', version: 'test', elf: busybox!.elf, native: liar }));
      const r = programs(['--only', 'busybox-echo', '--without', 'jitOff'], cache);
      try {
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/BENCHMARK FAILED/);
        expect(r.stderr).toMatch(/busybox-echo: the peers disagree: .*native x86-64 gave "status 0\\nstdout:\\ngoodbye/);
        const j = r.report();
        const w = j.programs.workloads[0];
        expect(w.agreed).toBe(false);
        expect(w.ratios).toEqual({ qemu: null, native: null });
        expect(j.failures.map((f) => f.kind)).toEqual(['output']);
        // Programs not built are reported on one line, not failed.
        expect(r.stdout).toMatch(/^programs: missing: not built: jq \(bash guests\/third-party\/build\.sh\), 7-Zip .*esbuild/m);
      } finally {
        r.cleanup();
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 30_000);

  it('says which builds are missing, in one line, and does not fail', () => {
    const cache = mkdtempSync(join(tmpdir(), 'ringvisor-bench-empty-'));
    const r = programs([], cache);
    try {
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^programs: missing: not built: jq \(bash guests\/third-party\/build\.sh\), busybox .*, 7-Zip .*, esbuild .*$/m);
      expect(r.stdout.match(/missing/g)).toHaveLength(1);
      expect(r.report().programs.missing).toMatch(/^not built: /);
    } finally {
      r.cleanup();
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
