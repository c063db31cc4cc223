#!/usr/bin/env node
// Records guests/golden/<case>.stdout, .stderr and .status: what each case in
// guests/manifest.json does under qemu-riscv64, the reference. test/guests.test.ts
// compares ringvisor with these files (and with live QEMU when it is installed).
//
//   node scripts/record-golden.mjs            record every case
//   node scripts/record-golden.mjs rv64i args record the named cases only
//
// Needs qemu-riscv64 (Debian's qemu-user). No npm dependencies. The test
// imports runQemu and readManifest from here, so that the live comparison runs
// QEMU exactly as the recording did.
//
// How a case is run, so that the recording is the same on every machine:
//   - from the repository root, with argv[0] the manifest's relative `elf` path;
//   - with exactly the case's environment (env -i), listed in reverse: QEMU
//     hands its environment to the guest in reverse order (linux-user's
//     envlist prepends), and the guest must see the manifest's order, as
//     ringvisor gives it;
//   - with core dumps off (ulimit -c 0): QEMU dies of the guest's signal and
//     must not leave a core file of itself behind;
//   - a case with `workdir` runs in a fresh, empty temporary directory
//     (argv[0] is then the absolute path of the ELF), and what it leaves
//     there is recorded as <case>.files (see listFiles);
//   - a case with `stdin` gets that text on its stdin (else an empty stdin);
//   - a case with `sysroot` (a dynamically linked program) runs with
//     qemu-riscv64 -L SYSROOT; a case whose sysroot is not installed
//     cannot be recorded (or compared) here, and is skipped;
//   - the status recorded is what a shell reports: the exit code, or 128 +
//     the signal number when QEMU was killed by a signal (it re-raises the
//     guest's fatal signal on itself).
// stderr is recorded exactly as QEMU printed it. (QEMU 7.2 prints no
// "qemu: uncaught target signal" line for riscv64 guests: it prints that
// line only after writing a guest core dump, which it cannot do for riscv64.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, accessSync, constants as fsConstants, lstatSync, readlinkSync, mkdtempSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { delimiter, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const MANIFEST = join(ROOT, 'guests', 'manifest.json');
export const GOLDEN_DIR = join(ROOT, 'guests', 'golden');

/**
 * @typedef {{ status: number, stdoutPattern?: string, stdout?: string, stderrPattern?: string }} Expectation
 * @typedef {{ name: string, elf: string, args?: string[], env?: string[],
 *             maxInstructions?: number, ringvisorOnly?: Expectation,
 *             stdin?: string, workdir?: boolean, sysroot?: string }} GuestCase
 * @typedef {{ stdout: Buffer, stderr: Buffer, status: number, files?: string }} RunResult
 */

/** The cases of guests/manifest.json and of every guests/manifest-*.json
 * (one per family of programs, so that each can grow on its own).
 * @returns {GuestCase[]} */
export function readManifest() {
  const files = [MANIFEST, ...readdirSync(join(ROOT, 'guests'))
    .filter((f) => /^manifest-[a-z0-9-]+\.json$/.test(f)).sort().map((f) => join(ROOT, 'guests', f))];
  const cases = files.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).cases);
  const names = new Set();
  for (const c of cases) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(c.name)) throw new Error(`manifest: bad case name '${c.name}'`);
    if (names.has(c.name)) throw new Error(`manifest: duplicate case '${c.name}'`);
    names.add(c.name);
    if (!existsSync(join(ROOT, c.elf))) throw new Error(`manifest: case ${c.name}: ${c.elf} does not exist (bash guests/build.sh)`);
  }
  return cases;
}

/** Absolute path of qemu-riscv64 on the PATH, or undefined. */
export function qemuPath() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'qemu-riscv64');
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * What a directory holds, one line per entry in sorted order: "dir PATH",
 * "file PATH SIZE MODE SHA256" or "link PATH -> TARGET" (no times or inodes).
 * @param {string} dir @returns {string}
 */
export function listFiles(dir) {
  const lines = [];
  const walk = (rel) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const st = lstatSync(full);
      const mode = (st.mode & 0o777).toString(8);
      if (st.isDirectory()) {
        lines.push(`dir ${path} ${mode}`);
        walk(path);
      } else if (st.isSymbolicLink()) {
        lines.push(`link ${path} -> ${readlinkSync(full)}`);
      } else {
        lines.push(`file ${path} ${st.size} ${mode} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
      }
    }
  };
  walk('');
  return lines.map((l) => l + '\n').join('');
}

/** A fresh empty directory for a `workdir` case. */
export function makeWorkdir(name) {
  return mkdtempSync(join(tmpdir(), `ringvisor-${name}-`));
}

/** Runs one case under QEMU as described above. @param {GuestCase} c @returns {RunResult} */
export function runQemu(c, qemu = qemuPath()) {
  if (!qemu) throw new Error('qemu-riscv64 is not on the PATH (apt-get install qemu-user)');
  const env = [...(c.env ?? [])].reverse();
  const workdir = c.workdir ? makeWorkdir(c.name) : undefined;
  const elf = workdir ? join(ROOT, c.elf) : c.elf;
  let r;
  try {
    const prefix = c.sysroot ? ['-L', c.sysroot] : [];
    r = spawnSync('sh', ['-c', 'ulimit -c 0 && exec env -i "$@"', 'sh', ...env, qemu, ...prefix, elf, ...(c.args ?? [])], {
      cwd: workdir ?? ROOT,
      input: c.stdin ?? '',
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    if (workdir) r.files = listFiles(workdir);
  } finally {
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  }
  let status = r.status;
  if (status === null) {
    const signo = osConstants.signals[/** @type {NodeJS.Signals} */ (r.signal)];
    if (signo === undefined) throw new Error(`case ${c.name}: qemu-riscv64 ended without a status or a known signal (${r.signal})`);
    status = 128 + signo;
  }
  return { stdout: r.stdout, stderr: r.stderr, status, ...(r.files !== undefined ? { files: r.files } : {}) };
}

/** Whether a case can run here: its sysroot, if it names one, is installed.
 * @param {GuestCase} c */
export function sysrootPresent(c) {
  return !c.sysroot || existsSync(c.sysroot);
}

/** The golden files of a case. @param {string} name @returns {RunResult} */
export function readGolden(name) {
  const file = (ext) => join(GOLDEN_DIR, `${name}.${ext}`);
  return {
    stdout: readFileSync(file('stdout')),
    stderr: readFileSync(file('stderr')),
    status: Number(readFileSync(file('status'), 'utf8').trim()),
    ...(existsSync(file('files')) ? { files: readFileSync(file('files'), 'utf8') } : {}),
  };
}

function record(c, qemu) {
  const r = runQemu(c, qemu);
  writeFileSync(join(GOLDEN_DIR, `${c.name}.stdout`), r.stdout);
  writeFileSync(join(GOLDEN_DIR, `${c.name}.stderr`), r.stderr);
  writeFileSync(join(GOLDEN_DIR, `${c.name}.status`), `${r.status}\n`);
  if (r.files !== undefined) writeFileSync(join(GOLDEN_DIR, `${c.name}.files`), r.files);
  return r;
}

function main(argv) {
  const qemu = qemuPath();
  if (!qemu) {
    console.error('record-golden: qemu-riscv64 is not on the PATH (apt-get install qemu-user)');
    return 1;
  }
  const cases = readManifest();
  const unknown = argv.filter((n) => !cases.some((c) => c.name === n));
  if (unknown.length) {
    console.error(`record-golden: no such case: ${unknown.join(', ')}`);
    return 2;
  }
  mkdirSync(GOLDEN_DIR, { recursive: true });
  const chosen = argv.length ? cases.filter((c) => argv.includes(c.name)) : cases;
  for (const c of chosen) {
    if (c.ringvisorOnly) {
      console.log(`${c.name}: ringvisor only, not recorded`);
      continue;
    }
    if (!sysrootPresent(c)) {
      console.log(`${c.name}: sysroot ${c.sysroot} not installed (apt-get install libc6-riscv64-cross), not recorded`);
      continue;
    }
    const r = record(c, qemu);
    console.log(`${c.name}: status ${r.status}, ${r.stdout.length} bytes of stdout, ${r.stderr.length} of stderr`);
  }
  if (!argv.length) {
    // Golden files of cases that left the manifest (or became ringvisor-only).
    const recorded = new Set(cases.filter((c) => !c.ringvisorOnly).map((c) => c.name));
    for (const f of readdirSync(GOLDEN_DIR)) {
      const m = /^(.*)\.(stdout|stderr|status|files)$/.exec(f);
      if (m && !recorded.has(m[1])) {
        rmSync(join(GOLDEN_DIR, f));
        console.log(`removed stale ${f}`);
      }
    }
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
