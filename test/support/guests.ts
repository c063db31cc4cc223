// Runs the guest programs of guests/manifest.json under ringvisor (in process,
// through the library) and under qemu-riscv64 (exactly as
// scripts/record-golden.mjs recorded them), and puts both results in the one
// form the tests compare.
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ProcessVM } from '../../src/index.js';
import { sandboxFs, hostSysroot } from '../../src/node/host-fs.js';
// @ts-expect-error: a plain Node ESM script without type declarations
import * as recorder from '../../scripts/record-golden.mjs';

export interface Expectation {
  status: number;
  stdout?: string;
  stderrPattern?: string;
}

export interface GuestCase {
  name: string;
  /** From the repository root; also argv[0]. */
  elf: string;
  args?: string[];
  env?: string[];
  maxInstructions?: number;
  /** Set for a case QEMU cannot run (it never ends): what ringvisor must do. */
  ringvisorOnly?: Expectation;
  /** Text on the guest's stdin (default: empty). */
  stdin?: string;
  /** Run in a fresh empty directory and record what it leaves there (RunResult.files). */
  workdir?: boolean;
  /** A dynamically linked program's sysroot (qemu-riscv64 -L, ProcessVMOptions.sysroot). */
  sysroot?: string;
}

export interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  status: number;
  /** For a `workdir` case: listFiles of the directory afterwards. */
  files?: string;
}

export const ROOT: string = recorder.ROOT;
export const readManifest: () => GuestCase[] = recorder.readManifest;
export const qemuPath: () => string | undefined = recorder.qemuPath;
export const runQemu: (c: GuestCase, qemu?: string) => RunResult = recorder.runQemu;
export const readGolden: (name: string) => RunResult = recorder.readGolden;
export const listFiles: (dir: string) => string = recorder.listFiles;
export const makeWorkdir: (name: string) => string = recorder.makeWorkdir;
/** Whether the case's sysroot (if any) is installed here. */
export const sysrootPresent: (c: GuestCase) => boolean = recorder.sysrootPresent;

/** A guest that should end but loops stops here instead of hanging the test
 *  (it then ends with status 124 and a message, which fails the comparison). */
const DEFAULT_MAX_INSTRUCTIONS = 500_000_000n;

/** Runs a case under ringvisor in this process (with the default
 *  translation threshold unless `jitThreshold` is given; 0: interpreter only). */
export async function runRingvisor(c: GuestCase, jitThreshold?: number): Promise<RunResult> {
  const elf = new Uint8Array(readFileSync(resolve(ROOT, c.elf)));
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  // A workdir case runs in a fresh directory, the sandbox's working directory.
  const workdir = c.workdir ? makeWorkdir(c.name) : undefined;
  const vm = ProcessVM.create(elf, {
    argv: [workdir ? resolve(ROOT, c.elf) : c.elf, ...(c.args ?? [])],
    stdin: c.stdin ?? '',
    fs: sandboxFs({ cwd: workdir ?? ROOT }),
    env: c.env ?? [],
    // The sinks get views of guest memory: copy before the guest runs on.
    stdout: (data) => stdout.push(Buffer.from(data)),
    stderr: (data) => stderr.push(Buffer.from(data)),
    maxInstructions: c.maxInstructions !== undefined ? BigInt(c.maxInstructions) : DEFAULT_MAX_INSTRUCTIONS,
    sysroot: c.sysroot !== undefined ? hostSysroot(c.sysroot) : undefined,
    // The tier under test from the first instruction (no warm-up), so that
    // short guests are translated too.
    jitThreshold, jitWarmup: 0n,
  });
  let status: number;
  let files: string | undefined;
  try {
    status = await vm.run();
    if (workdir) files = listFiles(workdir);
  } finally {
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  }
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), status, ...(files !== undefined ? { files } : {}) };
}

const SIGNAL_LINE = /^(qemu|ringvisor): uncaught target signal (\d+) \(([^)]*)\) - (core dumped|no core)$/;
const FAULT_DETAIL = /^ringvisor: fault at pc /;

/** The signal a VM said it died of ("uncaught target signal N"), if it said so. */
export function reportedSignal(stderr: Buffer): number | undefined {
  for (const line of stderr.toString('latin1').split('\n')) {
    const m = SIGNAL_LINE.exec(line);
    if (m) return Number(m[2]);
  }
  return undefined;
}

/**
 * stderr as the comparison sees it: without the "<vm>: uncaught target signal"
 * line and ringvisor's "fault at pc" detail line after it. Whether QEMU prints
 * the signal line depends on its version and target (7.2 prints it only after
 * writing a guest core dump, which it cannot do for riscv64), so it is left
 * out of the byte comparison; the exit status (128 + signal) carries the
 * signal, and the tests check ringvisor's own line against that status.
 */
export function normaliseStderr(stderr: Buffer): string {
  const lines = stderr.toString('latin1').split('\n');
  return lines.filter((l) => !SIGNAL_LINE.test(l) && !FAULT_DETAIL.test(l)).join('\n');
}

/** The comparable form of a result: byte-exact strings (latin1) and the status. */
export function comparable(r: RunResult): { status: number; stdout: string; stderr: string } {
  return { status: r.status, stdout: r.stdout.toString('latin1'), stderr: normaliseStderr(r.stderr) };
}
