// Firmware and kernels nobody here wrote, booted by `ringvisor boot` as
// qemu-system-riscv64 -M virt -bios default boots them. Debian's S-mode
// U-Boot for QEMU (package u-boot-qemu): it probes the board from our device
// tree, counts its autoboot down on the timer, polls the UART for its
// console, and powers off through SBI SRST. Its `version` output is compared
// with QEMU's; the rest of its output describes the board (memory
// reservations, addresses), where ringvisor's board legitimately differs.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf';
const haveUboot = existsSync(UBOOT);
const qemuSystem = spawnSync('qemu-system-riscv64', ['--version']).status === 0;

function session(lines: string[], command: string[]): { stdout: string; status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ringvisor-fw-'));
  try {
    writeFileSync(join(dir, 'script'), lines.join('\n') + '\n');
    const r = spawnSync(process.execPath, [`${root}guests/linux/console.mjs`, '--prompt', '=> ', '--timeout', '100', '--script', join(dir, 'script'), '--', ...command],
      { encoding: 'utf8', timeout: 120_000 });
    return { stdout: r.stdout.replace(/\r\n/g, '\n'), status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What `version` printed: from its echo to the next prompt. */
function versionOutput(out: string): string {
  const at = out.indexOf('=> version\n');
  const end = out.indexOf('=> ', at + 3);
  return at < 0 || end < 0 ? `(no version output in: ${out.slice(-400)})` : out.slice(at, end);
}

describe.skipIf(!haveUboot)('Debian\'s S-mode U-Boot (u-boot-qemu) under ringvisor boot', () => {
  it('comes up on our board, takes commands at its prompt and powers off through SBI', () => {
    const r = session(['version', 'poweroff'], [process.execPath, `${root}dist/bin/ringvisor.js`, 'boot', '--kernel', UBOOT]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Model: riscv-virtio,ringvisor');
    expect(r.stdout).toMatch(/DRAM: +256 MiB/);
    expect(r.stdout).toContain('In:    serial@10000000');
    expect(versionOutput(r.stdout)).toMatch(/^=> version\nU-Boot 2023\.01/);
    expect(r.stdout).toContain('poweroff ...');
  });

  it.skipIf(!qemuSystem)('prints the same version text as under qemu-system-riscv64', () => {
    const q = session(['version', 'poweroff'], ['qemu-system-riscv64', '-M', 'virt', '-smp', '1', '-m', '256M', '-nographic', '-bios', 'default', '-no-reboot', '-kernel', UBOOT]);
    expect(q.status).toBe(0);
    const r = session(['version', 'poweroff'], [process.execPath, `${root}dist/bin/ringvisor.js`, 'boot', '--kernel', UBOOT]);
    expect(versionOutput(r.stdout)).toBe(versionOutput(q.stdout));
  });
});

if (!haveUboot) {
  describe('Debian\'s S-mode U-Boot (u-boot-qemu) under ringvisor boot', () => {
    it.skip(`skipped: ${UBOOT} is not installed (apt-get install u-boot-qemu)`, () => {});
  });
}
