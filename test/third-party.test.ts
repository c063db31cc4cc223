// Real programs nobody here wrote, built from Debian's source packages by
// guests/third-party/build.sh into a cache outside the repository, run under
// ringvisor (in process, through the library) and under live qemu-riscv64,
// and compared byte for byte: stdout, stderr, exit status and the files they
// write.
//   jq 1.6     an interpreter, with its own test suite (jq --run-tests); also
//              dynamically linked (jq-dyn.elf), with Debian's riscv64 sysroot
//              (ringvisor's sysroot option, qemu-riscv64 -L);
//   7-Zip      a multi-threaded C++ program: archives of generated files made,
//              tested, listed, extracted and hashed; and its CPU benchmark
//              (7zz b), whose ratings are timings, so only its shape is checked;
//   musl 1.2   our own C programs linked with another C library;
//   Go         the tests of some of Go's standard packages, and esbuild (a
//              bundler written in Go), at ringvisor's default settings;
//              sync's and os/exec's tests start processes (their own
//              binary, as children), judged by their own verdicts.
// Both VMs get the same view of the machine: the whole host file system (as
// qemu-riscv64 gives it; glibc reads /sys for the number of CPUs and
// /usr/lib/locale for C.UTF-8), an empty environment, umask 022 and the
// RLIMIT_NOFILE soft limit of a Linux login (1024), which ringvisor models
// and QEMU would otherwise take from whatever the test runner inherited.
//
// jq 1.6 compiles all its builtins again for every test (about 180 million
// instructions each), so its whole suite is some 65 billion instructions:
// minutes under an interpreter. By default each test file runs a fixed
// sample (every n-th test, line numbers kept); RINGVISOR_THIRD_PARTY=full
// runs the whole files, as jq's own `make check` does (10 to 20 minutes), and
// 7-Zip's two-thread benchmark.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir, constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { ProcessVM } from '../src/index.js';
import { sandboxFs, hostSysroot } from '../src/node/host-fs.js';
import { findThirdParty, THIRD_PARTY_BUILD } from './support/third-party.js';
import {
  qemuPath, listFiles, readManifest, comparable, runRingvisor as runGuest, runQemu as runGuestQemu, type RunResult, type GuestCase,
} from './support/guests.js';

const BUILD = THIRD_PARTY_BUILD;
const FULL = process.env.RINGVISOR_THIRD_PARTY === 'full';
const qemu = qemuPath();

interface Build {
  version: string;
  elf: string;
  tests?: string;
  /** jq: the same program dynamically linked. */
  dynElf?: string;
}

/** What build.sh recorded, if its program is there. */
const findBuild = (pkg: string): Build | undefined => findThirdParty<Build>(pkg, ['elf']);

const jq = findBuild('jq');
const sevenZip = findBuild('7zip');

/** Why a group cannot run, or undefined when it can. */
function missing(what: Build | undefined, pkg: string): string | undefined {
  if (!what) return `${pkg} is not built (${BUILD})`;
  if (!qemu) return 'qemu-riscv64 is not on the PATH (apt-get install qemu-user)';
  return undefined;
}

interface Run {
  elf: string;
  args: string[];
  cwd: string;
  /** ringvisor's --jit (undefined: translated after 64 visits from the start; 0: off). */
  jit?: number;
  /** A dynamically linked program's sysroot (-L). */
  sysroot?: string;
}

/** Runs a program under ringvisor with the host's file system at /. */
async function runRingvisor(r: Run): Promise<RunResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const vm = ProcessVM.create(new Uint8Array(readFileSync(r.elf)), {
    argv: [r.elf, ...r.args],
    programName: r.elf,
    fs: sandboxFs({ cwd: r.cwd, hostRoot: true }),
    sysroot: r.sysroot !== undefined ? hostSysroot(r.sysroot) : undefined,
    env: [],
    stdout: (d) => stdout.push(Buffer.from(d)),
    stderr: (d) => stderr.push(Buffer.from(d)),
    // Only a guard against a guest that never ends: jq.test whole is 60 billion.
    maxInstructions: 200_000_000_000n,
    // Translated runs translate much more than the defaults would (64
    // visits, from the first instruction), so that these programs test the
    // translation tier, not only the interpreter.
    jitThreshold: r.jit ?? 64,
    jitWarmup: r.jit === 0 ? undefined : 0n,
  });
  vm.fs.setExecutable(r.elf);
  const status = await vm.run();
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), status };
}

/** Runs a program under qemu-riscv64, concurrently with whatever else runs. */
function runQemu(r: Run): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'ulimit -c 0 && ulimit -Sn 1024 && umask 022 && exec env -i "$@"', 'sh', qemu!, ...(r.sysroot ? ['-L', r.sysroot] : []), r.elf, ...r.args],
      { cwd: r.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const status = code ?? 128 + (signal ? osConstants.signals[signal] : 0);
      resolve({ stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), status });
    });
  });
}

/** Where two outputs first differ, with a little context. */
function difference(what: string, got: Buffer, want: Buffer): string | undefined {
  if (got.equals(want)) return undefined;
  const g = got.toString('latin1').split('\n');
  const w = want.toString('latin1').split('\n');
  let i = 0;
  while (i < g.length && i < w.length && g[i] === w[i]) i++;
  const show = (lines: string[]) => lines.slice(Math.max(0, i - 2), i + 3).map((l, k) => `    ${Math.max(0, i - 2) + k + 1}: ${l}`).join('\n');
  return `${what} differs from line ${i + 1} on (${g.length} lines vs ${w.length}):\n  ringvisor:\n${show(g)}\n  qemu-riscv64:\n${show(w)}`;
}

function expectSame(label: string, got: RunResult, want: RunResult): void {
  const problems = [
    difference('stdout', got.stdout, want.stdout),
    difference('stderr', got.stderr, want.stderr),
    got.status === want.status ? undefined : `exit status ${got.status}, qemu-riscv64 ${want.status}`,
  ].filter((p) => p !== undefined);
  expect(problems.join('\n'), `${label}: ringvisor differs from qemu-riscv64`).toBe('');
}

// ---- jq ----

/**
 * The tests of a jq test file: each is a run of non-blank lines with at least
 * one that is not a comment (jq_test.c reads a program, its input and the
 * expected outputs up to a blank line; "%%FAIL" opens a test that must fail).
 */
function jqTests(lines: string[]): Array<[number, number]> {
  const tests: Array<[number, number]> = [];
  for (let i = 0; i < lines.length;) {
    if (lines[i].trim() === '') { i++; continue; }
    let j = i;
    while (j < lines.length && lines[j].trim() !== '') j++;
    if (lines.slice(i, j).some((l) => !l.trimStart().startsWith('#'))) tests.push([i, j]);
    i = j;
  }
  return tests;
}

/** The file with only every `stride`-th test left; the others become blank
 *  lines, so jq reports the line numbers of the original. */
function sampleOf(text: string, stride: number): { text: string; count: number; total: number } {
  const lines = text.split('\n');
  const tests = jqTests(lines);
  const kept = lines.map(() => '');
  let count = 0;
  tests.forEach(([from, to], k) => {
    if (k % stride !== 0) return;
    for (let i = from; i < to; i++) kept[i] = lines[i];
    count++;
  });
  return { text: kept.join('\n'), count, total: tests.length };
}

const ordinal = (n: number): string => `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;

// Strides chosen so that the sample of all four files is 14 tests (some
// 2.5 billion instructions: half a minute).
const JQ_FILES: Array<{ file: string; stride: number }> = [
  { file: 'jq.test', stride: 34 },
  { file: 'onig.test', stride: 11 },
  { file: 'base64.test', stride: 7 },
  { file: 'optional.test', stride: 3 },
];

const jqMissing = missing(jq, 'jq');
if (jqMissing) {
  describe.skip(`jq's own test suite: skipped, ${jqMissing}`, () => {
    it(`jq --run-tests, ringvisor against qemu-riscv64 (needs ${BUILD} and qemu-riscv64)`, () => {});
  });
} else describe(`jq's own test suite (Debian jq ${jq!.version}), ringvisor against qemu-riscv64`, () => {
  const b = jq!;
  const sampleDir = mkdtempSync(join(tmpdir(), 'ringvisor-jq-'));
  afterAll(() => rmSync(sampleDir, { recursive: true, force: true }));
  const run = (testFile: string): Run => ({ elf: b.elf, args: ['-L', join(b.tests!, 'modules'), '--run-tests', testFile], cwd: b.tests! });

  for (const { file, stride } of JQ_FILES) {
    const source = readFileSync(join(b.tests!, file), 'utf8');
    const sample = sampleOf(source, stride);
    it(`${file}: every ${ordinal(stride)} test (${sample.count} of ${sample.total})`, async () => {
      const path = join(sampleDir, file);
      writeFileSync(path, sample.text);
      const [r, q] = await Promise.all([runRingvisor(run(path)), runQemu(run(path))]);
      expectSame(file, r, q);
      expect(q.stdout.toString('latin1')).toContain(`${sample.count} of ${sample.count} tests passed`);
    }, 300_000);
  }

  for (const { file } of JQ_FILES) {
    it.skipIf(!FULL)(`${file}, the whole file (RINGVISOR_THIRD_PARTY=full)`, async () => {
      const path = join(b.tests!, file);
      const [r, q] = await Promise.all([runRingvisor(run(path)), runQemu(run(path))]);
      expectSame(file, r, q);
      expect(r.stdout.toString('latin1')).toMatch(/(\d+) of \1 tests passed/);
    }, 3_600_000);
  }
});

// The same, dynamically linked: glibc's dynamic linker and shared libraries
// from the sysroot, under both VMs. A smaller sample: what differs from
// jq.elf is the start-up, which every test repeats.
const SYSROOT = '/usr/riscv64-linux-gnu';
const jqDynMissing = jqMissing ?? (jq!.dynElf === undefined || !existsSync(jq!.dynElf) ? `jq-dyn.elf is not built (${BUILD})`
  : !existsSync(join(SYSROOT, 'lib/ld-linux-riscv64-lp64d.so.1')) ? `no riscv64 sysroot at ${SYSROOT} (apt-get install libc6-riscv64-cross)` : undefined);
if (jqDynMissing) {
  describe.skip(`jq dynamically linked: skipped, ${jqDynMissing}`, () => {
    it('jq-dyn.elf --run-tests with -L, ringvisor against qemu-riscv64', () => {});
  });
} else describe(`jq dynamically linked (Debian jq ${jq!.version}, -L ${SYSROOT}), ringvisor against qemu-riscv64`, () => {
  const b = jq!;
  const sampleDir = mkdtempSync(join(tmpdir(), 'ringvisor-jq-dyn-'));
  afterAll(() => rmSync(sampleDir, { recursive: true, force: true }));
  for (const { file, stride } of [{ file: 'jq.test', stride: 68 }, { file: 'onig.test', stride: 11 }]) {
    const sample = sampleOf(readFileSync(join(b.tests!, file), 'utf8'), stride);
    it(`${file}: every ${ordinal(stride)} test (${sample.count} of ${sample.total})`, async () => {
      const path = join(sampleDir, file);
      writeFileSync(path, sample.text);
      const run: Run = { elf: b.dynElf!, args: ['-L', join(b.tests!, 'modules'), '--run-tests', path], cwd: b.tests!, sysroot: SYSROOT };
      const [r, q] = await Promise.all([runRingvisor(run), runQemu(run)]);
      expectSame(file, r, q);
      expect(q.stdout.toString('latin1')).toContain(`${sample.count} of ${sample.count} tests passed`);
    }, 300_000);
  }
});

// ---- 7-Zip ----

/** A deterministic generator (xorshift32) for the input files. */
function generator(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

const WORDS = ['ring', 'visor', 'guest', 'host', 'trap', 'exit', 'page', 'hart', 'csr', 'sbi', 'virtio', 'qemu', 'wasm', 'ecall'];
const FIXED_TIME = new Date('2024-01-02T03:04:05Z');

/** Writes the same few hundred KB of files into dir/data: text that
 *  compresses, bytes that do not, a sparse-looking file, an empty one. */
function writeInputs(dir: string): void {
  const next = generator(0x7a1b);
  const data = join(dir, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  const words: string[] = [];
  let size = 0;
  while (size < 160_000) {
    const w = WORDS[next() % WORDS.length] + (next() % 7 === 0 ? `${next() % 1000}\n` : ' ');
    words.push(w);
    size += w.length;
  }
  const random = Buffer.alloc(100_000);
  for (let i = 0; i < random.length; i += 4) random.writeUInt32LE(next(), i);
  const sparse = Buffer.alloc(64 * 1024);
  for (let i = 0; i < sparse.length; i += 4096) sparse.write(`block ${i / 4096}\n`, i);
  const files: Array<[string, string | Buffer]> = [
    ['text.txt', words.join('')], ['random.bin', random], ['sub/sparse.bin', sparse], ['sub/empty', ''],
  ];
  for (const [name, content] of files) {
    writeFileSync(join(data, name), content);
    chmodSync(join(data, name), 0o644);
    utimesSync(join(data, name), FIXED_TIME, FIXED_TIME);
  }
  for (const d of [join(data, 'sub'), data]) {
    chmodSync(d, 0o755);
    utimesSync(d, FIXED_TIME, FIXED_TIME);
  }
}

/** The correctness steps, in order, in one working directory per VM. */
const SEVEN_ZIP_STEPS: string[][] = [
  ['a', '-t7z', '-mx=5', '-mmt2', 'mx5.7z', 'data'],
  ['a', '-t7z', '-mx=1', '-mmt2', 'mx1.7z', 'data'],
  ['a', '-tzip', '-mx=1', '-mmt2', 'mx1.zip', 'data'],
  ['a', '-tzip', '-mx=5', '-mmt2', 'mx5.zip', 'data'],
  ['t', 'mx5.7z'],
  ['t', 'mx1.zip'],
  ['l', '-slt', 'mx5.7z'],
  ['l', 'mx5.zip'],
  ['x', '-oout7z', 'mx5.7z'],
  ['x', '-ooutzip', 'mx1.zip'],
  ['h', '-scrcSHA256', 'data', 'out7z', 'outzip'],
  ['t', 'missing.7z'],
];

const sevenZipMissing = missing(sevenZip, '7zip');
if (sevenZipMissing) {
  describe.skip(`7-Zip: skipped, ${sevenZipMissing}`, () => {
    it(`7zz archives and benchmark, ringvisor against qemu-riscv64 (needs ${BUILD} and qemu-riscv64)`, () => {});
  });
} else describe(`7-Zip (Debian 7zip ${sevenZip!.version}), ringvisor against qemu-riscv64`, () => {
  const b = sevenZip!;

  it('makes, tests, lists, extracts and hashes 7z and zip archives (-mmt2) as QEMU does', async () => {
    const rDir = mkdtempSync(join(tmpdir(), 'ringvisor-7zz-r-'));
    const qDir = mkdtempSync(join(tmpdir(), 'ringvisor-7zz-q-'));
    try {
      writeInputs(rDir);
      writeInputs(qDir);
      for (const args of SEVEN_ZIP_STEPS) {
        const [r, q] = await Promise.all([runRingvisor({ elf: b.elf, args, cwd: rDir }), runQemu({ elf: b.elf, args, cwd: qDir })]);
        expectSame(`7zz ${args.join(' ')}`, r, q);
        expect(listFiles(rDir), `7zz ${args.join(' ')}: the files written`).toBe(listFiles(qDir));
      }
    } finally {
      rmSync(rDir, { recursive: true, force: true });
      rmSync(qDir, { recursive: true, force: true });
    }
  }, 600_000);

  /** Checks the shape of a `7zz b` report, down to its "Tot:" line (usage %, R/U MIPS, rating MIPS). */
  function benchReport(r: RunResult, who: string): void {
    const out = r.stdout.toString('latin1');
    expect(r.stderr.toString('latin1'), `${who}: stderr`).toBe('');
    expect(r.status, `${who}: exit status`).toBe(0);
    expect(out, `${who}: the table`).toMatch(/^Dict\s+Speed Usage\s+R\/U Rating/m);
    expect(out, `${who}: the dictionary row`).toMatch(/^18:\s+\d+\s+\d+\s+\d+\s+\d+\s+\|\s+\d+\s+\d+\s+\d+\s+\d+$/m);
    expect(out, `${who}: the Tot: line`).toMatch(/^Tot:\s+\d+\s+\d+\s+\d+$/m);
  }

  // The benchmark measures time, so only the shape of its report is compared;
  // ringvisor and QEMU run side by side. It sizes each measured test to take
  // `-mtimems` of the guest's time at the speed it measures first (4 s by
  // default: 36.6 billion instructions and 70-80 s under ringvisor with one
  // thread, and 142-321 s of CI's time); 500 ms is 5.9 billion
  // instructions and 7 s with one thread. Two threads only the full run does.
  for (const threads of [1, 2]) {
    const args = ['b', `-mmt${threads}`, '-md18', '-mtimems=500'];
    it.skipIf(threads > 1 && !FULL)(`7zz ${args.join(' ')} runs to its Tot: line${threads > 1 ? ' (RINGVISOR_THIRD_PARTY=full)' : ''}`, async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'ringvisor-7zz-b-'));
      try {
        const [r, q] = await Promise.all([
          runRingvisor({ elf: b.elf, args, cwd }),
          runQemu({ elf: b.elf, args, cwd }),
        ]);
        benchReport(r, 'ringvisor');
        benchReport(q, 'qemu-riscv64');
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    }, 1_800_000);
  }
});

// ---- musl ----
// Our own guests/libc programs linked with musl instead of glibc (a second C
// library: another start-up, another malloc, another pthread_create, its own
// use of clone, futex and signals), each case of the guest manifests that
// uses them, under ringvisor and live QEMU. The same comparison as
// test/guests.test.ts; there are no golden files, as the ELFs are built here.
const musl = findBuild('musl');

describe.skipIf(missing(musl, 'musl') !== undefined)(`musl: our C programs linked with musl ${musl?.version ?? ''}${missing(musl, 'musl') ? ` (skipped: ${missing(musl, 'musl')})` : ''}`, () => {
  const bin = (musl as Build & { bin: string } | undefined)?.bin ?? '';
  const cases = readManifest().filter((c) => !c.ringvisorOnly && !c.workdir && existsSync(join(bin, c.elf.replace(/^guests\/bin\//, ''))));
  it('has cases to run', () => expect(cases.length).toBeGreaterThan(20));
  for (const c of cases) {
    it(c.name, async () => {
      const mc: GuestCase = { ...c, elf: join(bin, c.elf.replace(/^guests\/bin\//, '')) };
      const [r, q] = await Promise.all([runGuest(mc), Promise.resolve(runGuestQemu(mc))]);
      const got = comparable(r), want = comparable(q);
      expect({ ...got, name: c.name }).toEqual({ ...want, name: c.name });
    }, 120_000);
  }
});

// ---- Go ----
// Static Go programs nobody here wrote, at ringvisor's default settings (no
// memory size given: Go's runtime reserves hundreds of MiB it never touches,
// which must cost nothing; before, they needed --mem 2G): the tests of some
// of Go's own standard packages, run in their source directories, and
// esbuild, a multi-threaded bundler.
const go = findBuild('go') as (Build & { bin: string; src: string }) | undefined;
const esbuild = findBuild('esbuild');

/** What a `-test.v` run says, independent of timing and of the order in
 *  which parallel tests finish: its sorted "--- PASS/FAIL/SKIP: name" lines
 *  without durations, and its last line. */
function goVerdicts(r: RunResult): string {
  const lines = r.stdout.toString('latin1').split('\n').filter((l) => l !== '');
  const verdicts = lines.filter((l) => /^\s*--- (PASS|FAIL|SKIP): /.test(l)).map((l) => l.replace(/ \([\d.]+s\)$/, '')).sort();
  return [...verdicts, `last line: ${lines.at(-1) ?? ''}`, `status ${r.status}`].join('\n');
}

// Small and quick by default (under a minute together); the full run adds
// the packages whose tests take 10 to 40 s each under ringvisor.
const GO_PACKAGES = ['container/list', 'unicode/utf8', 'crypto/sha256', 'sort', 'strings', 'bytes', 'math', 'fmt'];
const GO_FULL_PACKAGES = ['regexp', 'strconv', 'math/big', 'compress/flate'];
const GO_INTERPRETED = ['container/list', 'unicode/utf8'];

const goMissing = missing(go, 'go');
describe.skipIf(goMissing !== undefined)(`Go's standard-library tests (${go?.version ?? 'go'}), default settings, ringvisor against qemu-riscv64${goMissing ? ` (skipped: ${goMissing})` : ''}`, () => {
  const cases = [
    ...GO_PACKAGES.map((pkg) => ({ pkg, jit: undefined as number | undefined, full: false })),
    ...GO_FULL_PACKAGES.map((pkg) => ({ pkg, jit: undefined as number | undefined, full: true })),
    ...GO_INTERPRETED.map((pkg) => ({ pkg, jit: 0 as number | undefined, full: false })),
  ];
  for (const { pkg, jit, full } of cases) {
    it.skipIf(full && !FULL)(`${pkg}${jit === 0 ? ' (--jit off)' : ''}${full ? ' (RINGVISOR_THIRD_PARTY=full)' : ''}`, async () => {
      const run: Run = { elf: join(go!.bin, `${pkg.replace(/\//g, '_')}.test`), args: ['-test.short', '-test.v'], cwd: join(go!.src, pkg), jit };
      const [r, q] = await Promise.all([runRingvisor(run), runQemu(run)]);
      expect(r.stderr.toString('latin1'), 'ringvisor: stderr').toBe(q.stderr.toString('latin1'));
      expect(goVerdicts(r)).toBe(goVerdicts(q));
      expect(goVerdicts(q)).toMatch(/last line: PASS\nstatus 0$/);
    }, 600_000);
  }
});

// Go's tests that start processes: sync's misuse tests run the test binary
// again as a child that must crash, os/exec's run it as a helper process
// for pipes, exit codes, environments and contexts. qemu-riscv64 cannot
// execute a riscv64 program here, so the oracle is the tests' own verdicts
// (each checks what Linux gives it). os/exec's ExtraFiles tests need TCP
// sockets, which process VMs do not have yet: they are left out by name.
const GO_PROCESS_TESTS: Array<{ pkg: string; run?: string }> = [
  { pkg: 'sync' },
  {
    pkg: 'os/exec',
    run: '^(TestDedupEnv|TestPrefixSuffixSaver|TestLookPathNotFound|TestLookPathUnixEmptyPath|TestLookPath|TestCredentialNoSetGroups|TestWaitid|TestImplicitPWD|TestExplicitPWD|TestEcho|TestCommandRelativeName|TestCatStdin|TestEchoFileRace|TestCatGoodAndBadFile|TestNoExistExecutable|TestExitStatus|TestExitCode|TestPipes|TestStdinClose|TestStdinCloseRace|TestPipeLookPathLeak|TestExtraFilesFDShuffle|TestIgnorePipeErrorOnSuccess|TestClosePipeOnCopyError|TestOutputStderrCapture|TestContext|TestContextCancel|TestDedupEnvEcho|TestEnvNULCharacter|TestString|TestStringPathNotResolved|TestNoPath)$',
  },
];
const goProcessMissing = goMissing ?? (go && !existsSync(join(go.bin, 'os_exec.test')) ? `os/exec's tests are not built (${BUILD})` : undefined);
describe.skipIf(goProcessMissing !== undefined)(`Go's tests that start processes (${go?.version ?? 'go'}), ringvisor alone${goProcessMissing ? ` (skipped: ${goProcessMissing})` : ''}`, () => {
  for (const { pkg, run } of GO_PROCESS_TESTS) {
    it(pkg, async () => {
      const r = await runRingvisor({
        elf: join(go!.bin, `${pkg.replace(/\//g, '_')}.test`), args: ['-test.short', '-test.v', ...(run ? [`-test.run=${run}`] : [])], cwd: join(go!.src, pkg),
      });
      const verdicts = goVerdicts(r);
      expect(verdicts, r.stderr.toString('latin1')).not.toMatch(/--- FAIL/);
      expect(verdicts).toMatch(/--- PASS: /);
      expect(verdicts).toMatch(/last line: PASS\nstatus 0$/);
    }, 600_000);
  }
});

const esbuildMissing = missing(esbuild, 'esbuild');
describe.skipIf(esbuildMissing !== undefined)(`esbuild ${esbuild?.version ?? ''} (riscv64), default settings, ringvisor against qemu-riscv64${esbuildMissing ? ` (skipped: ${esbuildMissing})` : ''}`, () => {
  /** A small project: modules importing each other, JSX, TypeScript, a JSON file. */
  function writeProject(dir: string): void {
    mkdirSync(join(dir, 'src', 'lib'), { recursive: true });
    const files: Array<[string, string]> = [
      ['src/app.ts', 'import { greet } from "./lib/greet";\nimport data from "./data.json";\nimport { view } from "./view.jsx";\nexport const main = (): string => greet(data.name) + view(data.items);\nconsole.log(main());\n'],
      ['src/lib/greet.ts', 'export function greet(who: string): string {\n  return `hello, ${who}`;\n}\n'],
      ['src/view.jsx', 'const h = (tag, props, ...children) => `<${tag}>${children.join("")}</${tag}>`;\nexport const view = (items) => <ul>{items.map((i) => <li>{i}</li>)}</ul>;\n'],
      ['src/data.json', '{ "name": "ringvisor", "items": ["a", "b", "c"] }\n'],
    ];
    for (const [name, content] of files) writeFileSync(join(dir, name), content);
  }
  const STEPS: string[][] = [
    ['--version'],
    ['src/app.ts', '--bundle', '--outfile=out/app.js', '--jsx-factory=h', '--log-level=warning'],
    ['src/app.ts', '--bundle', '--minify', '--format=esm', '--outfile=out/app.min.js', '--jsx-factory=h', '--sourcemap', '--metafile=out/meta.json', '--log-level=warning'],
    ['src/missing.ts', '--bundle', '--log-level=error', '--color=false'],
  ];
  for (const jit of [undefined, 0]) {
    it(`bundles a small project as QEMU does${jit === 0 ? ' (--jit off)' : ''}`, async () => {
      const rDir = mkdtempSync(join(tmpdir(), 'ringvisor-esbuild-r-'));
      const qDir = mkdtempSync(join(tmpdir(), 'ringvisor-esbuild-q-'));
      try {
        writeProject(rDir);
        writeProject(qDir);
        for (const args of STEPS) {
          const [r, q] = await Promise.all([runRingvisor({ elf: esbuild!.elf, args, cwd: rDir, jit }), runQemu({ elf: esbuild!.elf, args, cwd: qDir })]);
          // The metafile and source map name the working directory's files
          // relatively, so both runs write the same bytes.
          expectSame(`esbuild ${args.join(' ')}`, r, q);
          expect(listFiles(rDir), `esbuild ${args.join(' ')}: the files written`).toBe(listFiles(qDir));
        }
      } finally {
        rmSync(rDir, { recursive: true, force: true });
        rmSync(qDir, { recursive: true, force: true });
      }
    }, 600_000);
  }

  // A checkpoint of a real multi-threaded Go program (its goroutines'
  // threads, futex waits, its epoll instance and the files it writes),
  // taken half-way, the VM thrown away, and restored in a new one.
  it('checkpointed half-way through a bundle and restored in a new VM, writes what an uninterrupted run writes', () => {
    const args = STEPS[2];
    const dirs = [mkdtempSync(join(tmpdir(), 'ringvisor-esbuild-a-')), mkdtempSync(join(tmpdir(), 'ringvisor-esbuild-b-'))];
    const out: Buffer[][] = [[], []];
    const options = (k: number) => ({
      fs: sandboxFs({ cwd: dirs[k], hostRoot: true }), env: [], clock: 'virtual' as const, random: (b: Uint8Array) => b.fill(0x5a),
      stdout: (d: Uint8Array) => out[k].push(Buffer.from(d)), stderr: (d: Uint8Array) => out[k].push(Buffer.from(d)),
      jitThreshold: 0, maxInstructions: 20_000_000_000n,
    });
    try {
      for (const d of dirs) writeProject(d);
      const elf = new Uint8Array(readFileSync(esbuild!.elf));
      const whole = ProcessVM.create(elf, { argv: [esbuild!.elf, ...args], ...options(0) });
      let total = 0, status: number | undefined;
      while ((status = whole.processes.step(whole.clock)) === undefined) total++;
      whole.dispose();
      const half = ProcessVM.create(elf, { argv: [esbuild!.elf, ...args], ...options(1) });
      for (let i = 0; i < total >> 1; i++) expect(half.processes.step(half.clock)).toBeUndefined();
      expect(half.threads.count).toBeGreaterThan(1);
      const file = half.checkpoint();
      half.dispose();
      const restored = ProcessVM.restore(file, options(1));
      expect(restored.runSync()).toBe(status);
      expect(Buffer.concat(out[1]).toString('latin1')).toBe(Buffer.concat(out[0]).toString('latin1'));
      expect(listFiles(dirs[1])).toBe(listFiles(dirs[0]));
      expect(listFiles(dirs[1])).toMatch(/app\.min\.js/);
      restored.dispose();
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  }, 600_000);
});
