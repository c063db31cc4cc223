// qemu-riscv64, the oracle of the differential tests: runs an ELF given as
// bytes and returns its stdout and exit status. Node-only; used by
// test/random.test.ts (live seeds, bisection) and scripts/gen-random-golden.mjs.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const QEMU = 'qemu-riscv64';
/** The CPU model: RV64GC with the Zb* extensions ringvisor implements. */
export const QEMU_CPU = 'rv64,zba=true,zbb=true,zbs=true';

let available: boolean | undefined;
export function qemuAvailable(): boolean {
  available ??= spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status === 0;
  return available;
}

export function qemuVersion(): string {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : 'unavailable';
}

export interface RunResult {
  stdout: Uint8Array;
  stderr: string;
  /** Exit status, or 128 + signal number. */
  status: number;
}

/** Runs `elf` under qemu-riscv64 (the file must be executable for it). */
export function runQemu(elf: Uint8Array, timeoutMs = 60_000): RunResult {
  const dir = mkdtempSync(join(tmpdir(), 'ringvisor-qemu-'));
  try {
    const file = join(dir, 'prog.elf');
    writeFileSync(file, elf);
    chmodSync(file, 0o755);
    const r = spawnSync(QEMU, ['-cpu', QEMU_CPU, file], { maxBuffer: 1 << 30, timeout: timeoutMs });
    if (r.error) throw r.error;
    const signals: Record<string, number> = { SIGILL: 4, SIGTRAP: 5, SIGBUS: 7, SIGSEGV: 11, SIGKILL: 9, SIGTERM: 15 };
    const status = r.status ?? 128 + (signals[r.signal ?? ''] ?? 0);
    return { stdout: new Uint8Array(r.stdout), stderr: r.stderr.toString(), status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
