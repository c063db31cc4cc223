// Whole guest programs (guests/manifest.json) under ringvisor, compared byte
// for byte (stdout, stderr, exit status) with what qemu-riscv64 did: with the
// golden files recorded by scripts/record-golden.mjs, so that npm test needs
// no QEMU, and, when qemu-riscv64 is on the PATH, with live QEMU too. stderr is
// compared without the "<vm>: uncaught target signal" line and ringvisor's
// "fault at pc" detail line (see normaliseStderr); the status carries the
// signal. Plus two runs of the `ringvisor` command itself.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  ROOT, readManifest, qemuPath, runQemu, readGolden, runRingvisor, comparable, reportedSignal, sysrootPresent,
  type GuestCase, type RunResult,
} from './support/guests.js';

const cases = readManifest();
const qemu = qemuPath();

// Each case runs under ringvisor once; both comparisons use that run.
const runs = new Map<string, Promise<RunResult>>();
function ringvisor(c: GuestCase): Promise<RunResult> {
  let run = runs.get(c.name);
  if (!run) {
    run = runRingvisor(c);
    runs.set(c.name, run);
  }
  return run;
}

/** Where two outputs first differ, with a little context; undefined if equal. */
function difference(what: string, got: string, want: string, gotName: string, wantName: string): string | undefined {
  if (got === want) return undefined;
  const g = got.split('\n');
  const w = want.split('\n');
  let i = 0;
  while (i < g.length && i < w.length && g[i] === w[i]) i++;
  const show = (lines: string[]) => lines.slice(Math.max(0, i - 2), i + 3).map((l, k) => `    ${Math.max(0, i - 2) + k + 1}: ${l}`).join('\n');
  return `${what} differs from line ${i + 1} on (${g.length} lines vs ${w.length}):\n  ${gotName}:\n${show(g)}\n  ${wantName}:\n${show(w)}`;
}

function compare(r: RunResult, reference: RunResult, referenceName: string): void {
  const got = comparable(r);
  const want = comparable(reference);
  const problems = [
    difference('stdout', got.stdout, want.stdout, 'ringvisor', referenceName),
    difference('stderr', got.stderr, want.stderr, 'ringvisor', referenceName),
    got.status === want.status ? undefined : `exit status ${got.status}, ${referenceName} ${want.status}` +
      (r.stderr.length ? `\n  ringvisor's stderr:\n${r.stderr.toString('latin1')}` : ''),
  ].filter((p) => p !== undefined);
  expect(problems.join('\n'), 'ringvisor differs').toBe('');
  // The signal ringvisor names must be the one its status reports.
  const sig = reportedSignal(r.stderr);
  if (sig !== undefined) expect(r.status).toBe(128 + sig);
}

describe('guest programs: ringvisor against the golden files', () => {
  for (const c of cases) {
    const expected = c.ringvisorOnly;
    if (expected) {
      it(`${c.name} (ringvisor only: QEMU cannot run it)`, async () => {
        const r = await ringvisor(c);
        expect(r.status).toBe(expected.status);
        if (expected.stdout !== undefined) expect(r.stdout.toString('latin1')).toBe(expected.stdout);
        if (expected.stderrPattern !== undefined) expect(r.stderr.toString('latin1')).toMatch(new RegExp(expected.stderrPattern));
      });
    } else {
      // A dynamically linked case needs its sysroot installed (libc6-riscv64-cross).
      it.skipIf(!sysrootPresent(c))(c.name, async () => {
        compare(await ringvisor(c), readGolden(c.name), 'golden (qemu-riscv64)');
      });
    }
  }
});

describe.skipIf(!qemu)('guest programs: ringvisor against live qemu-riscv64', () => {
  for (const c of cases) {
    if (c.ringvisorOnly) continue;
    it.skipIf(!sysrootPresent(c))(c.name, async () => {
      compare(await ringvisor(c), runQemu(c, qemu), 'qemu-riscv64');
    });
  }
});

describe('the ringvisor command', () => {
  it('runs guests/bin/hello.elf x y like QEMU did', () => {
    const r = spawnSync(process.execPath, ['dist/bin/ringvisor.js', 'run', 'guests/bin/hello.elf', 'x', 'y'], { cwd: ROOT, timeout: 30_000 });
    const golden = readGolden('hello');
    expect(r.stderr.toString('latin1')).toBe('');
    expect(r.stdout.toString('latin1')).toBe(golden.stdout.toString('latin1'));
    expect(r.status).toBe(golden.status);
  });

  it('runs the demo that npm start runs (guests/bin/demo.elf) like QEMU did', () => {
    const r = spawnSync(process.execPath, ['dist/bin/ringvisor.js', 'run', 'guests/bin/demo.elf'], { cwd: ROOT, timeout: 60_000 });
    const golden = readGolden('demo');
    expect(r.stderr.toString('latin1')).toBe('');
    expect(r.stdout.toString('latin1')).toBe(golden.stdout.toString('latin1'));
    expect(r.status).toBe(golden.status);
  });

  it('stops an endless guest at --max-instructions with status 124', () => {
    const r = spawnSync(process.execPath, ['dist/bin/ringvisor.js', 'run', '--max-instructions', '1000000', 'guests/bin/faults.elf', 'loop'],
      { cwd: ROOT, timeout: 30_000 });
    expect(r.stdout.toString('latin1')).toBe('faults: about to loop forever\n');
    expect(r.stderr.toString('latin1')).toMatch(/^ringvisor: guests\/bin\/faults\.elf: instruction limit reached \(1000000 instructions\)/);
    expect(r.status).toBe(124);
  });
});
