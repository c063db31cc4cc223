// The benchmark harness (bench/run.mjs) in its quickest form: that every peer
// prints the same checksum, that a wrong answer fails the run loudly, and
// that the JSON and the SVG come out with their shape. Never its speed.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findThirdParty } from './support/third-party.js';

const ROOT = new URL('..', import.meta.url).pathname;

function bench(...args: string[]) {
  const out = mkdtempSync(join(tmpdir(), 'ringvisor-bench-'));
  const r = spawnSync(process.execPath, ['bench/run.mjs', '--quick', '--reps', '1', '--quiet', '--out', out, ...args], { cwd: ROOT, encoding: 'utf8' });
  const read = (name: string) => readFileSync(join(out, name), 'utf8');
  return { ...r, out, read, cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

describe('bench/run.mjs', () => {
  it('runs two tiny workloads on every peer, agrees on the checksums, writes JSON and SVG', () => {
    const r = bench('--only', 'integer,syscalls', '--scale', '0.25', '--micro-time', '0.03');
    try {
      expect(r.stderr).not.toMatch(/FAILED/);
      expect(r.status).toBe(0);
      const j = JSON.parse(r.read('partial.json'));
      expect(j.schema).toBe(1);
      expect(j.partial).toBe(true);
      expect(j.failures).toEqual([]);
      expect(j.workloads.map((w: { name: string }) => w.name)).toEqual(['integer', 'syscalls']);
      for (const w of j.workloads) {
        expect(w.agreed).toBe(true);
        expect(w.output).toMatch(w.name === 'integer' ? /^iterations 100 crc 0x[0-9a-f]{8}$/ : /^writes 5000 bytes 42468$/);
        for (const p of ['ringvisor', 'qemu', 'native', 'js']) {
          const e = w.peers[p];
          // A peer that is not installed is reported, not dropped.
          if (e.missing !== undefined) {
            expect(p).not.toBe('ringvisor');
            expect(typeof e.missing).toBe('string');
            expect(w.ratios[p]).toBeNull();
            continue;
          }
          expect(e.seconds).toBeGreaterThan(0);
          expect(e.times).toHaveLength(1);
          expect(e.startup).toBeGreaterThanOrEqual(0);
          if (p !== 'ringvisor') expect(w.ratios[p]).toBeGreaterThan(0);
        }
        expect(w.peers.ringvisor.instructions).toBeGreaterThan(0);
      }
      expect(j.micro.rows.map((m: { name: string }) => m.name)).toEqual([
        'exit round trip', 'write(2) x1000', 'vmcall callSync', 'vmcall call (async)', 'ProcessVM.create',
        'ProcessVM.create + dispose', 'tight loop x1000000', 'ProcessVM.create (recycled CPU)', 'ProcessVM.dispose',
      ]);
      for (const m of j.micro.rows) expect(m.nsPerOp).toBeGreaterThan(0);
      expect(j.headline.mips.ringvisor).toBeGreaterThan(0);
      expect(j.headline.iterationsPerSecond.ringvisor).toBeGreaterThan(0);
      expect(j.headline.exitRoundTripNs).toBeGreaterThan(0);
      expect(j.headline.syscallNs.ringvisor).toBeGreaterThan(0);
      // The boot time of the guest Linux: measured, or missing with the reason.
      if (j.boot.missing) expect(j.boot.missing).toMatch(/guest Linux/);
      else {
        expect(j.boot.ringvisor.promptSeconds).toBeGreaterThan(0);
        expect(j.headline.boot.ringvisor).toBe(j.boot.ringvisor.promptSeconds);
      }
      // The idle guest's console round trip (bench/console.mjs): the same.
      if (j.console.missing) expect(j.console.missing).toMatch(/guest Linux/);
      else {
        expect(j.console.ringvisor.times.length).toBeGreaterThan(0);
        expect(j.headline.consoleMs.ringvisor).toBe(j.console.ringvisor.medianMs);
      }

      const svg = r.read('partial.svg');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg.trimEnd()).toMatch(/<\/svg>$/);
      expect(svg).toContain('>integer mix<');
      expect(svg).toContain('>system calls<');
      // One bar per peer that ran, of the two the chart compares with.
      const bars = (svg.match(/<rect [^>]*><title>/g) ?? []).length;
      const ran = j.workloads.flatMap((w: { ratios: Record<string, number | null> }) => [w.ratios.native, w.ratios.qemu]).filter((x: number | null) => x !== null).length;
      expect(bars).toBe(ran);

      expect(r.stdout).toMatch(/^integer mix\s+100 iterations\s/m);
      expect(r.stdout).toMatch(/exit round trip/);
    } finally {
      r.cleanup();
    }
  }, 30_000);

  it('fails loudly when a peer computes another answer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-badjs-'));
    writeFileSync(join(dir, 'integer.mjs'), 'export function run(n) { return `iterations ${n} crc 0xdeadbeef\\n`; }\n');
    const r = bench('--only', 'integer', '--scale', '0.1', '--no-micro', '--no-boot', '--without', 'qemu,native', '--js-dir', dir);
    try {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/BENCHMARK FAILED/);
      expect(r.stderr).toMatch(/integer: size 40: the peers disagree: ringvisor printed "iterations 40 crc 0x[0-9a-f]{8}"; js printed "iterations 40 crc 0xdeadbeef"/);
      const j = JSON.parse(r.read('partial.json'));
      expect(j.workloads[0].agreed).toBe(false);
      expect(j.workloads[0].ratios.js).toBeNull();
      expect(j.failures.some((f: { kind: string }) => f.kind === 'checksum')).toBe(true);
      expect(j.peers.qemu).toMatchObject({ available: false, reason: 'left out (--without qemu)' });
      expect(r.read('partial.svg')).toContain('checksums differ');
    } finally {
      r.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  // The real programs (bench/programs.mjs, test/bench-programs.test.ts):
  // hooked in, peers left out passed on, and missing builds one line.
  it('runs the real programs it is asked for (--programs), or says in one line that they are not built', () => {
    const busybox = findThirdParty('busybox', ['elf', 'native']);
    const r = bench('--only', 'integer', '--scale', '0.1', '--no-micro', '--no-boot', '--without', 'qemu,native,js', '--programs', 'busybox-echo');
    try {
      expect(r.stderr).not.toMatch(/FAILED/);
      expect(r.status).toBe(0);
      const j = JSON.parse(r.read('partial.json'));
      if (!busybox) expect(j.programs.missing).toMatch(/busybox/);
      else {
        expect(j.programs.workloads.map((w: { name: string }) => w.name)).toEqual(['busybox-echo']);
        const w = j.programs.workloads[0];
        expect(w.agreed).toBe(true);
        expect(w.peers.ringvisor.seconds).toBeGreaterThan(0);
        expect(w.peers.jitOff.seconds).toBeGreaterThan(0);
        expect(w.peers.qemu.missing).toBe('left out (--without qemu)');
        expect(r.stdout).toMatch(/^busybox echo\s/m);
      }
    } finally {
      r.cleanup();
    }
    const empty = mkdtempSync(join(tmpdir(), 'ringvisor-bench-nocache-'));
    try {
      const m = spawnSync(process.execPath, ['bench/run.mjs', '--quick', '--reps', '1', '--quiet', '--only', 'integer', '--scale', '0.1', '--no-micro', '--no-boot', '--without', 'qemu,native,js', '--programs', 'busybox-echo', '--out', empty],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RINGVISOR_CACHE: empty } });
      expect(m.status).toBe(0);
      expect(m.stdout).toMatch(/^programs: missing: not built: jq \(bash guests\/third-party\/build\.sh\), busybox .*$/m);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 30_000);

  it('is what `ringvisor bench` runs, options passed on', () => {
    const r = spawnSync(process.execPath, ['dist/bin/ringvisor.js', 'bench', '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: node bench\/run\.mjs \[options\]/);
    const bad = spawnSync(process.execPath, ['dist/bin/ringvisor.js', 'bench', '--reps', 'x'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^bench: bad --reps 'x'/);
  });
});

describe('bench/node-env.mjs', () => {
  it('takes NODE_EXTRA_CA_CERTS out of the environment the scripts pass on, and says it did', () => {
    // The child removes it, then starts a grandchild that prints what it inherited.
    const script = `import { removeNodeStartVariables } from './bench/node-env.mjs';
      import { spawnSync } from 'node:child_process';
      const removed = removeNodeStartVariables();
      const seen = spawnSync(process.execPath, ['-p', 'process.env.NODE_EXTRA_CA_CERTS ?? "unset"'], { encoding: 'utf8' }).stdout.trim();
      console.log(JSON.stringify({ removed, seen, again: removeNodeStartVariables(), kept: process.env.RINGVISOR_TEST_KEPT }));`;
    const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env });
    const set = run({ ...process.env, NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt', RINGVISOR_TEST_KEPT: 'yes' });
    expect(set.status, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ removed: ['NODE_EXTRA_CA_CERTS'], seen: 'unset', again: [], kept: 'yes' });
    expect(set.stderr.match(/Node runs without/g)).toEqual(['Node runs without']); // said once, not again
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const unset = run(env);
    expect(unset.status, unset.stderr).toBe(0);
    expect(JSON.parse(unset.stdout)).toMatchObject({ removed: [], seen: 'unset' });
    expect(unset.stderr).not.toMatch(/Node runs without/);
  });
});

describe('bench/builds.mjs', () => {
  it('times two builds alternately, prints both and their ratio, and writes what --print shows again', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ringvisor-builds-')), 'r.json');
    try {
      // This checkout as both builds: one workload, one run each.
      const scratch = () => readdirSync(tmpdir()).filter((f) => f.startsWith('ringvisor-whole-runs-'));
      const before = scratch();
      const r = spawnSync(process.execPath, ['bench/builds.mjs', '.', '.', '1', '--only', 'syscalls', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      // (The esbuild project bench/whole-runs.mjs writes is removed as it ends.)
      expect(scratch().filter((f) => !before.includes(f))).toEqual([]);
      expect(r.stdout).toMatch(/^whole-process seconds, alternating, 1 runs each; base \S+, new \S+$/m);
      expect(r.stdout).toMatch(/^syscalls +\d+\.\d{3} s +\d+\.\d{3} s +\d+\.\d\dx +\d+\.\d{3} s +\d+\.\d{3} s +\d+\.\d\dx$/m);
      const saved = JSON.parse(readFileSync(out, 'utf8'));
      expect(saved.rows.map((row: { workload: string }) => row.workload)).toEqual(['syscalls']);
      expect(saved.rows[0].all.base).toHaveLength(1);
      expect(saved.rows[0].all.new).toHaveLength(1);
      const again = spawnSync(process.execPath, ['bench/builds.mjs', '--print', out], { cwd: ROOT, encoding: 'utf8' });
      expect(again.stdout).toBe(r.stdout);
    } finally {
      rmSync(join(out, '..'), { recursive: true, force: true });
    }
  }, 120_000);

  it('passes --options to both builds\' runs, and says so in its table and its file', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ringvisor-builds-')), 'r.json');
    try {
      const r = spawnSync(process.execPath, ['bench/builds.mjs', '.', '.', '1', '--only', 'syscalls', '--options', '--jit off --stats', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^whole-process seconds, alternating, 1 runs each; base \S+, new \S+; ringvisor run --jit off --stats$/m);
      expect(JSON.parse(readFileSync(out, 'utf8')).options).toEqual(['--jit', 'off', '--stats']);
      // An option `ringvisor run` refuses fails the comparison, with its status.
      const bad = spawnSync(process.execPath, ['bench/builds.mjs', '.', '.', '1', '--only', 'syscalls', '--options', '--jit nonsense'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/syscalls \(.*ringvisor\.js --jit nonsense\): status 2/);
    } finally {
      rmSync(join(out, '..'), { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a checkout without a build, a bad count and a workload it does not have, with its usage', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ringvisor-builds-empty-'));
    try {
      const missing = spawnSync(process.execPath, ['bench/builds.mjs', empty, '.'], { cwd: ROOT, encoding: 'utf8' });
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/^builds: .*dist\/bin\/ringvisor\.js is missing \(npm run build there\)$/m);
      const bad = spawnSync(process.execPath, ['bench/builds.mjs', '.', '.', 'x'], { cwd: ROOT, encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/^usage: node bench\/builds\.mjs/);
      const unknown = spawnSync(process.execPath, ['bench/builds.mjs', '.', '.', '1', '--only', 'syscalls,nonesuch'], { cwd: ROOT, encoding: 'utf8' });
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toMatch(/^builds: no workload nonesuch \(there are integer, .*syscalls/m);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('bench/alternate.mjs', () => {
  const alternate = (...args: string[]) => spawnSync(process.execPath, ['bench/alternate.mjs', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

  it('runs a guest under each build in turn and prints each median and its ratio to the first, and --json keeps every time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-alternate-'));
    try {
      // This checkout as both builds: the warm-up round and two counted.
      const r = alternate('2', '.,.', 'guests/bin/bench-integer.elf', '20', '--json', join(dir, 'r.json'));
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('2 rounds, bench-integer.elf 20');
      expect(lines.slice(1)).toHaveLength(2);
      for (const l of lines.slice(1)) expect(l).toMatch(/^\/\S+ {2}\d+\.\d ms {2}\d+\.\d{3}x$/);
      expect(lines[1]).toMatch(/ 1\.000x$/);
      const saved = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
      expect(saved).toMatchObject({ args: ['20'], jit: 'on', rounds: 2 });
      expect(saved.rows.map((row: { times: number[] }) => row.times.length)).toEqual([2, 2]);
      const off = alternate('1', '.,.', 'guests/bin/bench-integer.elf', '20', '--jit', 'off');
      expect(off.status, off.stderr).toBe(0);
      expect(off.stdout).toMatch(/^1 rounds, bench-integer\.elf 20 --jit off$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('fails when a run does not exit with status 0', () => {
    const r = alternate('1', '.,.', 'guests/bin/faults.elf');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/exit status \d+/);
  }, 120_000);

  it('refuses a bad count, a bad --jit and a checkout without a build, with its usage and status 2', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ringvisor-alternate-empty-'));
    try {
      for (const args of [['x', '.,.', 'guests/bin/exit.elf'], ['0', '.,.', 'guests/bin/exit.elf'], ['1', '.,.'], ['1', '.,.', 'guests/bin/exit.elf', '--jit', '64']]) {
        const r = alternate(...args);
        expect(r.status, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(/^usage: node bench\/alternate\.mjs/m);
      }
      const missing = alternate('1', `.,${empty}`, 'guests/bin/exit.elf');
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/^alternate: .*dist\/index\.js is missing \(npm run build there\)$/m);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('bench/thresholds.mjs', () => {
  it('shows a saved result of another option against --jit off, and refuses a bad count with its usage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-thresholds-'));
    try {
      const saved = join(dir, 'saved.json');
      writeFileSync(saved, JSON.stringify({
        commit: 'abc', date: '2026-12-05', reps: 3, option: '--jit-worker', values: ['=0', '=50', '=off'],
        rows: [{ workload: 'esbuild-version', seconds: { 'off': 0.4, '=0': 0.36, '=50': 0.34, '=off': 0.38 } }],
      }));
      const r = spawnSync(process.execPath, ['bench/thresholds.mjs', '--print', saved], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^workload\s+--jit off\s+--jit-worker 0\s+--jit-worker 50\s+--jit-worker off$/m);
      expect(r.stdout).toMatch(/^esbuild-version\s+0\.40 s\s+0\.36 \(0\.90x\)\s+0\.34 \(0\.85x\)\s+0\.38 \(0\.95x\)$/m);
      const bad = spawnSync(process.execPath, ['bench/thresholds.mjs', '0'], { cwd: ROOT, encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/^usage: node bench\/thresholds\.mjs .*--option --jit/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench/boot-library.mjs', () => {
  const built = spawnSync('bash', [join(ROOT, 'guests/linux/build.sh'), '--print-path'], { encoding: 'utf8' }).stdout.trim();
  const haveLinux = built !== '' && existsSync(join(built, 'Image'));
  it.skipIf(!haveLinux)('boots our guest Linux to its prompt in the library, for this checkout and another, and writes what it measured', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-boot-library-'));
    try {
      const out = join(dir, 'boot.json');
      // (This checkout twice: the second path is "another" build.)
      const r = spawnSync(process.execPath, ['bench/boot-library.mjs', '1', '.', '--json', out], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/median \d+ ms, fastest \d+ ms, [\d.]+ MIPS, \d+ instructions, [1-9]\d* page faults$/m);
      const j = JSON.parse(readFileSync(out, 'utf8')) as { builds: { instructions: number; ms: number[] }[] };
      expect(j.builds).toHaveLength(2);
      // The same boot, instruction for instruction, in both.
      expect(j.builds[0].instructions).toBeGreaterThan(10_000_000);
      expect(j.builds[1].instructions).toBe(j.builds[0].instructions);
      // Translated: the same instructions, some of them run by regions.
      const jitOut = join(dir, 'jit.json');
      const t = spawnSync(process.execPath, ['bench/boot-library.mjs', '1', '--jit', '16384', '--json', jitOut], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
      expect(t.status, t.stderr).toBe(0);
      expect(t.stdout).toMatch(/^ {2}--jit 16384: running \d+ ms, translating \d+ ms \(medians\), [1-9]\d* regions, [1-9]\d* calls into translations$/m);
      const jj = JSON.parse(readFileSync(jitOut, 'utf8')) as { jit: number; builds: { instructions: number; regions: number; entries: number }[] };
      expect(jj.jit).toBe(16384);
      expect(jj.builds[0].instructions).toBe(j.builds[0].instructions);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad count or threshold with its usage', () => {
    for (const args of [['x'], ['1', '--jit', 'lots']]) {
      const bad = spawnSync(process.execPath, ['bench/boot-library.mjs', ...args], { cwd: ROOT, encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/^usage: node bench\/boot-library\.mjs/);
    }
  });
});

describe('bench/console.mjs', () => {
  it('consoleBulk times a command\'s output to the next prompt and counts its bytes, against a fake shell', () => {
    // A stand-in for the guest's shell: the prompt, the setup line answered
    // with nothing, 100,000 bytes for the bulk command, ^D ends it.
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-console-'));
    const shell = join(dir, 'shell.mjs');
    writeFileSync(shell, [
      "const prompt = 'ringvisor-init# ';",
      'process.stdout.write(prompt);',
      "let buf = '';",
      "process.stdin.on('data', (c) => {",
      "  buf += c.toString('latin1');",
      "  if (buf.includes('\\x04')) process.exit(0);",
      "  let i; while ((i = buf.indexOf('\\n')) >= 0) {",
      '    const line = buf.slice(0, i); buf = buf.slice(i + 1);',
      "    process.stdout.write(line + '\\r\\n' + (line === 'cat /proc/kallsyms' ? 'x'.repeat(99_999) + '\\n' : '') + prompt);",
      '  }',
      '});',
    ].join('\n'));
    const driver = [
      `const { consoleBulk, BULK_COMMAND } = await import(${JSON.stringify(join(ROOT, 'bench/console.mjs'))});`,
      `const r = await consoleBulk([process.execPath, ${JSON.stringify(shell)}], { timeoutSeconds: 20 });`,
      `const gone = await consoleBulk([process.execPath, '-e', "process.stdout.write('ringvisor-init# ')"], { timeoutSeconds: 20 });`,
      'console.log(JSON.stringify({ command: BULK_COMMAND, r, gone }));',
    ].join('\n');
    try {
      const p = spawnSync(process.execPath, ['--input-type=module', '-e', driver], { encoding: 'utf8', timeout: 60_000 });
      expect(p.status, p.stderr).toBe(0);
      const { command, r, gone } = JSON.parse(p.stdout);
      expect(command).toBe('cat /proc/kallsyms');
      expect(r.error).toBeUndefined();
      expect(r.seconds).toBeGreaterThan(0);
      // The echoed command, the output and the next prompt.
      expect(r.bytes).toBe(command.length + 2 + 100_000 + 'ringvisor-init# '.length);
      expect(gone.error).toMatch(/exited .* before the bulk output was read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
