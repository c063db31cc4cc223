// Shell scripts and a make -j2 build: programs nobody here wrote (dash, GNU
// make, busybox, built from Debian's sources by guests/third-party/build.sh
// into the cache outside the repository) running as many processes that
// fork, exec, wait for, pipe to and signal one another.
//   test/fixtures/shell/*.sh     POSIX scripts run by dash, with busybox's
//                                applets on PATH and $SH naming the dash
//                                under test (for nested shells and #! lines);
//   test/fixtures/make-project/  a small build run by make -j2 with SHELL set
//                                to that dash: a build, a rebuild after one
//                                source changes, nothing to do, a failing
//                                recipe, make clean.
// The oracle is native: qemu-riscv64 cannot run these here (a riscv64
// program exec'd by a riscv64 program under QEMU is not recognised without
// binfmt_misc), so the same Debian sources are also built for this machine
// (dash-x86_64, make-x86_64, busybox-x86_64), and each case runs twice, in
// a fresh working directory of its own: natively, and under ringvisor (in
// process, through the library, the host's file system at / so that host
// paths are guest paths). stdout, stderr, the exit status and the files left
// behind must be the same, after the paths that differ between the two runs
// (the tools directory, busybox's links, the working directory) are replaced
// by names. ringvisor's own messages (ProcessVMOptions.diagnostics) are kept
// apart, as Linux has none. The native run must also match
// test/golden/shell/, which catches a broken native build
// (RINGVISOR_SHELL_GOLDEN=write rewrites those files from the native runs).
//
// Only builtins.sh runs in one process (dash with no pipeline, no $( ), no
// external command); every other case forks, execs and waits, and
// interpreters.sh has an interpreter (busybox awk) start processes through
// popen and system. The last group runs each riscv64 program alone against
// qemu-riscv64.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync, utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessVM } from '../src/index.js';
import { sandboxFs } from '../src/node/host-fs.js';
import { qemuPath } from './support/guests.js';
import { findThirdParty, THIRD_PARTY_BUILD } from './support/third-party.js';

const BUILD = THIRD_PARTY_BUILD;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPTS = join(ROOT, 'test', 'fixtures', 'shell');
const PROJECT = join(ROOT, 'test', 'fixtures', 'make-project');
const GOLDEN = join(ROOT, 'test', 'golden', 'shell');
const WRITE_GOLDEN = process.env.RINGVISOR_SHELL_GOLDEN === 'write';

interface Build {
  version: string;
  /** The riscv64 program. */
  elf: string;
  /** The same source built for this machine. */
  native: string;
  /** busybox: the directories of applet links, riscv64 and native. */
  bin?: string;
  nativeBin?: string;
}

/** What build.sh recorded, if both builds are there. */
const findBuild = (pkg: string): Build | undefined => findThirdParty<Build>(pkg, ['elf', 'native']);

const dash = findBuild('dash');
const make = findBuild('make');
const busybox = findBuild('busybox');
const missingBuilds = [['dash', dash], ['make', make], ['busybox', busybox]].filter(([, b]) => b === undefined).map(([name]) => name);
const MISSING = missingBuilds.length > 0 ? `${missingBuilds.join(', ')} not built (${BUILD})` : undefined;

/** One side of the comparison: which dash, make and applets it runs. */
interface Side {
  name: 'native' | 'ringvisor';
  /** A directory holding `dash` and `make`, links to this side's programs. */
  tools: string;
  /** busybox's applet links, the PATH. */
  bin: string;
}

interface Result {
  stdout: string;
  stderr: string;
  status: number;
  /** ringvisor's own messages (ProcessVMOptions.diagnostics), kept apart
   *  from the guest's stderr: a process killed by a signal gets a line from
   *  ringvisor ("uncaught target signal 15"), where Linux says nothing and
   *  the shell prints its "Terminated". Shown when a comparison fails. */
  diagnostics?: string;
}

/** Makes the tools directory of a side: `dash` and `make` link to its builds,
 *  so that both sides' argv[0], $SH and $(MAKE) have the same shape. */
function toolsDir(name: string, dashPath: string, makePath: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), `ringvisor-shell-tools-${name}-`)));
  symlinkSync(dashPath, join(dir, 'dash'));
  symlinkSync(makePath, join(dir, 'make'));
  return dir;
}

function environment(side: Side): string[] {
  return [`PATH=${side.bin}`, `SH=${join(side.tools, 'dash')}`];
}

/** Runs a riscv64 program (path and argv[0]) under qemu-riscv64, as runNative runs a native one. */
function runQemu(qemu: string, path: string, args: string[], cwd: string, env: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'ulimit -c 0 && umask 022 && exec env -i "$@"', 'sh', ...env, qemu, path, ...args],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const status = code ?? 128 + (signal ? osConstants.signals[signal] : 0);
      resolve({ stdout: Buffer.concat(stdout).toString('latin1'), stderr: Buffer.concat(stderr).toString('latin1'), status });
    });
  });
}

/** Runs tools/<program> natively: a session of its own (no controlling
 *  terminal, as under ringvisor, so dash's `set -m` finds no tty), umask 022,
 *  only the environment given. */
function runNative(side: Side, program: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const path = join(side.tools, program);
    const env = Object.fromEntries(environment(side).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const child = spawn('/bin/sh', ['-c', 'ulimit -c 0 && umask 022 && exec "$@"', 'sh', path, ...args],
      { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const status = code ?? 128 + (signal ? osConstants.signals[signal] : 0);
      resolve({ stdout: Buffer.concat(stdout).toString('latin1'), stderr: Buffer.concat(stderr).toString('latin1'), status });
    });
  });
}

/** Runs tools/<program> under ringvisor, with the host's file system at /. */
function runRingvisor(side: Side, program: string, args: string[], cwd: string): Promise<Result> {
  return runElf(join(side.tools, program), args, cwd, environment(side));
}

// The guest's /bin/sh is the riscv64 dash, as the host's is its dash (dash
// runs a script without #! with /bin/sh, and system() and popen() do too):
// a directory holding a copy of it is shown at /bin.
let guestBin: string | undefined;
function guestBinDir(): string {
  if (!guestBin) {
    guestBin = realpathSync(mkdtempSync(join(tmpdir(), 'ringvisor-shell-bin-')));
    copyFileSync(dash!.elf, join(guestBin, 'sh'));
    chmodSync(join(guestBin, 'sh'), 0o755);
  }
  return guestBin;
}

afterAll(() => {
  if (guestBin) rmSync(guestBin, { recursive: true, force: true });
});

/** Runs a riscv64 program (path and argv[0]) under ringvisor, with the host's file system at / (and /bin/sh the riscv64 dash). */
async function runElf(path: string, args: string[], cwd: string, env: string[]): Promise<Result> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const diagnostics: string[] = [];
  const vm = ProcessVM.create(new Uint8Array(readFileSync(path)), {
    argv: [path, ...args],
    programName: path,
    fs: sandboxFs({ cwd, hostRoot: true, mounts: [{ host: guestBinDir(), guest: '/bin', readOnly: true }] }),
    env,
    stdout: (d) => stdout.push(Buffer.from(d)),
    stderr: (d) => stderr.push(Buffer.from(d)),
    diagnostics: (line) => diagnostics.push(line),
    // Guards against a guest that never ends; a script is some millions.
    maxInstructions: 20_000_000_000n,
    timeoutSeconds: 300,
  });
  vm.fs.setExecutable(path);
  const status = await vm.run();
  return {
    stdout: Buffer.concat(stdout).toString('latin1'), stderr: Buffer.concat(stderr).toString('latin1'), status,
    diagnostics: diagnostics.map((l) => `${l}\n`).join(''),
  };
}

function run(side: Side, program: string, args: string[], cwd: string): Promise<Result> {
  return side.name === 'native' ? runNative(side, program, args, cwd) : runRingvisor(side, program, args, cwd);
}

/** The text with this side's own paths replaced by names. */
function normalise(text: string, side: Side, work: string): string {
  const names: Array<[string, string]> = [[side.tools, 'TOOLS'], [side.bin, 'BIN'], [work, 'WORK']];
  names.sort((a, b) => b[0].length - a[0].length);
  for (const [path, name] of names) text = text.split(path).join(name);
  return text;
}

/** The files a run left, one line each: kind, path, mode, and for a file the
 *  size and hash of its content after normalise (a #! line names the tools). */
function listFiles(dir: string, side: Side, work: string): string {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const st = lstatSync(full);
      const mode = (st.mode & 0o777).toString(8);
      if (st.isDirectory()) {
        lines.push(`dir ${path} ${mode}`);
        walk(path);
      } else if (st.isSymbolicLink()) {
        lines.push(`link ${path} -> ${normalise(readlinkSync(full), side, work)}`);
      } else {
        const content = normalise(readFileSync(full).toString('latin1'), side, work);
        lines.push(`file ${path} ${content.length} ${mode} ${createHash('sha256').update(content, 'latin1').digest('hex').slice(0, 16)}`);
      }
    }
  };
  walk('');
  return lines.join('\n');
}

/** A result as the tests compare it (and as the golden files hold it). */
function render(r: Result, side: Side, work: string, sortLines = false): string {
  const text = (s: string) => {
    const t = normalise(s, side, work);
    return sortLines ? t.split('\n').filter((l) => l !== '').sort().map((l) => `${l}\n`).join('') : t;
  };
  return `status ${r.status}\n--- stdout\n${text(r.stdout)}--- stderr\n${text(r.stderr)}`;
}

/** Where two renderings first differ, with a little context. */
function difference(got: string, want: string, gotName: string, wantName: string): string {
  if (got === want) return '';
  const g = got.split('\n');
  const w = want.split('\n');
  let i = 0;
  while (i < g.length && i < w.length && g[i] === w[i]) i++;
  const show = (lines: string[]) => lines.slice(Math.max(0, i - 3), i + 4).map((l, k) => `    ${Math.max(0, i - 3) + k + 1}: ${l}`).join('\n');
  return `differs from line ${i + 1} on (${g.length} lines vs ${w.length}):\n  ${gotName}:\n${show(g)}\n  ${wantName}:\n${show(w)}`;
}

/** ringvisor's own messages, for a failure's explanation. */
function seeDiagnostics(text: string): string {
  return text ? ` (ringvisor said: ${text.trimEnd().split('\n').join('; ')})` : '';
}

/** Checks (or with RINGVISOR_SHELL_GOLDEN=write, writes) a golden file. */
function expectGolden(name: string, native: string): void {
  const file = join(GOLDEN, name);
  if (WRITE_GOLDEN) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, native);
    return;
  }
  expect(existsSync(file), `${file} is missing (RINGVISOR_SHELL_GOLDEN=write makes it from the native run)`).toBe(true);
  expect(difference(native, readFileSync(file, 'latin1'), 'native', `golden ${name}`), `the native run of ${name} against its golden file`).toBe('');
}

const scripts = readdirSync(SCRIPTS).filter((f) => f.endsWith('.sh')).sort();

if (MISSING) {
  describe.skip(`shell scripts and make -j2, ringvisor against native: skipped, ${MISSING}`, () => {
    it(`dash, make and busybox (needs ${BUILD})`, () => {});
  });
} else describe(`shell scripts and make -j2 (Debian dash ${dash!.version}, make-dfsg ${make!.version}, busybox ${busybox!.version}), ringvisor against native`, () => {
  const native: Side = { name: 'native', tools: toolsDir('native', dash!.native, make!.native), bin: realpathSync(busybox!.nativeBin!) };
  const guest: Side = { name: 'ringvisor', tools: toolsDir('riscv64', dash!.elf, make!.elf), bin: realpathSync(busybox!.bin!) };
  const work: string[] = [];
  const workDir = (label: string) => {
    // The real path: the one dash's $PWD and make's messages show.
    const d = realpathSync(mkdtempSync(join(tmpdir(), `ringvisor-shell-${label}-`)));
    work.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of [native.tools, guest.tools, ...work]) rmSync(d, { recursive: true, force: true });
  });

  it('has its scripts', () => expect(scripts.length).toBeGreaterThanOrEqual(10));

  for (const script of scripts) {
    it(`${script}: dash ${script} as natively`, async () => {
      const runs = await Promise.all([native, guest].map(async (side) => {
        const cwd = workDir(`${side.name}-${script}`);
        cpSync(join(SCRIPTS, script), join(cwd, script));
        const r = await run(side, 'dash', [script], cwd);
        return { text: `${render(r, side, cwd)}--- files\n${listFiles(cwd, side, cwd)}\n`, diagnostics: r.diagnostics ?? '' };
      }));
      const [n, g] = runs.map((r) => r.text);
      expectGolden(script.replace(/\.sh$/, '.txt'), n);
      expect(difference(g, n, 'ringvisor', 'native'), `${script}: ringvisor against native${seeDiagnostics(runs[1].diagnostics)}`).toBe('');
    }, 300_000);
  }

  // make -j2, with the dash under test as SHELL and busybox's tools: a build,
  // a rebuild after one source changes (only what depends on it), a run with
  // nothing to do, a recipe that fails, make clean. Under -j2 the order of
  // make's lines may differ from run to run: they are compared sorted.
  it('make -j2: build, rebuild after touching one source, nothing to do, a failing recipe, clean', async () => {
    const OLD = new Date('2024-01-02T03:04:05Z');
    const steps: Array<{ args: string[]; touch?: string }> = [
      { args: ['-j2'] },
      { args: ['-j2'], touch: 'src/beta.c' },
      { args: ['-j2'] },
      { args: ['-j2', 'fail'] },
      { args: ['clean'] },
    ];
    const runs = await Promise.all([native, guest].map(async (side) => {
      const cwd = workDir(`${side.name}-make`);
      cpSync(PROJECT, cwd, { recursive: true });
      for (const f of ['Makefile', 'config.in', 'sub/Makefile', ...readdirSync(join(cwd, 'src')).map((s) => `src/${s}`)]) utimesSync(join(cwd, f), OLD, OLD);
      let text = '';
      let diagnostics = '';
      for (const step of steps) {
        if (step.touch) {
          // Newer than everything the build wrote, which a coarse file
          // system clock may have stamped a little late.
          await new Promise((r) => setTimeout(r, 50));
          const now = new Date();
          utimesSync(join(cwd, step.touch), now, now);
          text += `=== touch ${step.touch}\n`;
        }
        const args = [`SHELL=${join(side.tools, 'dash')}`, ...step.args];
        const r = await run(side, 'make', args, cwd);
        text += `=== make ${step.args.join(' ')}\n${render(r, side, cwd, true)}--- files\n${listFiles(cwd, side, cwd)}\n`;
        diagnostics += r.diagnostics ?? '';
      }
      return { text, diagnostics };
    }));
    const [n, g] = runs.map((r) => r.text);
    expectGolden('make.txt', n);
    expect(difference(g, n, 'ringvisor', 'native'), `make: ringvisor against native${seeDiagnostics(runs[1].diagnostics)}`).toBe('');
  }, 300_000);
});

// The riscv64 builds on their own, one process each, which ringvisor runs
// today: busybox's applets through the links of bin-riscv64 (argv[0] names
// the applet), make's dry run, question mode and functions, dash with
// builtins only;
// against qemu-riscv64, which can run a program that does not exec.
const qemu = qemuPath();
const oneMissing = MISSING ?? (qemu ? undefined : 'qemu-riscv64 is not on the PATH (apt-get install qemu-user)');
describe.skipIf(oneMissing !== undefined)(`dash, make and busybox alone (one process each), ringvisor against qemu-riscv64${oneMissing ? ` (skipped: ${oneMissing})` : ''}`, () => {
  const steps: Array<{ program: 'busybox' | 'make' | 'dash'; args: string[] }> = [
    { program: 'busybox', args: ['sort', '-k2,2n', '-k1,1', 'data.txt'] },
    { program: 'busybox', args: ['uniq', '-c', 'sorted.txt'] },
    { program: 'busybox', args: ['sed', '-n', 's/^\\(w[0-9]*\\) \\([0-3]\\)$/\\2:\\1/p', 'data.txt'] },
    { program: 'busybox', args: ['awk', '{ n[$2]++ } END { for (k = 0; k < 7; k++) print k, n[k] }', 'data.txt'] },
    { program: 'busybox', args: ['grep', '-c', '^w1', 'data.txt'] },
    { program: 'busybox', args: ['wc', 'data.txt', 'sorted.txt'] },
    { program: 'busybox', args: ['md5sum', 'data.txt'] },
    { program: 'busybox', args: ['cut', '-d', ' ', '-f', '2', 'sorted.txt'] },
    { program: 'busybox', args: ['tr', '-d', '\\n', 'sorted.txt'] },
    { program: 'busybox', args: ['head', '-n', '3', 'data.txt'] },
    { program: 'busybox', args: ['ls', '-1a', '.'] },
    { program: 'busybox', args: ['cat', 'missing.txt'] },
    { program: 'make', args: ['--version'] },
    { program: 'make', args: ['-n', '-C', 'project', 'build/prog'] },
    { program: 'make', args: ['-q', '-C', 'project', 'all'] },
    { program: 'make', args: ['-f', '/dev/null', '--eval', '$(info $(sort c b a) $(words x y) $(patsubst %.c,%.o,a.c b.c) $(sort $(wildcard project/src/*.c)))', 'nothing'] },
    { program: 'make', args: ['-C', 'project', 'no-such-target'] },
    { program: 'dash', args: ['-c', 'x=$((6 * 7)); for i in 1 2 3; do x=$((x + i)); done; printf "%s %x\\n" $x $x; echo "${0##*/} $# $*" >&2; exit 3', 'dash', 'a', 'b'] },
  ];
  for (const step of steps) {
    // A busybox step names its applet first: the link of that name is run.
    const isApplet = step.program === 'busybox';
    const name = isApplet ? step.args[0] : step.program;
    const rest = isApplet ? step.args.slice(1) : step.args;
    it(`${name} ${rest.join(' ')}`, async () => {
      const cwd = realpathSync(mkdtempSync(join(tmpdir(), 'ringvisor-shell-one-')));
      try {
        const lines: string[] = [];
        for (let i = 1; i <= 300; i++) lines.push(`w${(i * 37) % 53} ${i % 7}\n`);
        writeFileSync(join(cwd, 'data.txt'), lines.join(''));
        writeFileSync(join(cwd, 'sorted.txt'), [...lines].sort().join(''));
        cpSync(PROJECT, join(cwd, 'project'), { recursive: true });
        const p = isApplet ? join(busybox!.bin!, name) : step.program === 'make' ? make!.elf : dash!.elf;
        const [r, q] = await Promise.all([runElf(p, rest, cwd, []), runQemu(qemu!, p, rest, cwd, [])]);
        expect(r.stdout).toBe(q.stdout);
        expect(r.stderr).toBe(q.stderr);
        expect(r.status).toBe(q.status);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
