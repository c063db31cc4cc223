// Bare-metal S-mode programs of ours (guests/baremetal: traps, interrupts,
// paging, FP state, the SBI, hart suspend) run as the kernel of a system VM and of
// qemu-system-riscv64 -M virt -bios default, and their consoles compared byte
// for byte from each program's "== name ==" marker on (under QEMU, OpenSBI's
// banner comes first): ringvisor's with the golden transcript recorded from
// QEMU (guests/baremetal/record-golden.sh), and with live QEMU where it is
// installed. Where QEMU 7.2 (or its OpenSBI 1.1) departs from the RISC-V
// specification, guests/baremetal/qemu-deviations.txt lists the line it
// prints and the line the specification calls for; the golden files hold the
// latter, and live QEMU's output gets the same replacement (each listed line
// must still appear there, so the list cannot go stale). OpenSBI's console
// writes \r\n for \n: QEMU's output is read with \n.
//
// The committed ELFs are checked against their sources by
// `bash guests/baremetal/build.sh --check` (CI), not here.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SystemVM } from '../src/system/system-vm.js';
import { loadCpuModule } from '../src/node/load.js';

const dir = fileURLToPath(new URL('../guests/baremetal/', import.meta.url));
const PROGRAMS = ['traps', 'interrupts', 'paging', 'fp-state', 'sbi', 'suspend', 'entry', 'poweroff'] as const;
/** Harts of the machine each program runs on (default 1; record-golden.sh says the same). */
const HARTS: Partial<Record<typeof PROGRAMS[number], number>> = { entry: 2 };
const MEMORY = 128 * 1024 * 1024;
const QEMU = 'qemu-system-riscv64';
const qemuMissing = spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status === 0
  ? undefined : `${QEMU} is not installed (apt-get install qemu-system-misc): compared with the golden file only`;

/** qemu-deviations.txt: per program, QEMU's line -> the specification's. */
function deviations(): Map<string, Map<string, string>> {
  const all = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  let from: string | undefined;
  for (const line of readFileSync(`${dir}qemu-deviations.txt`, 'utf8').split('\n')) {
    const head = /^\[(.+)\]$/.exec(line);
    if (head) { section = new Map(); all.set(head[1], section); continue; }
    if (line.startsWith('- ')) from = line.slice(2);
    else if (line.startsWith('+ ') && section && from !== undefined) { section.set(from, line.slice(2)); from = undefined; }
  }
  return all;
}
const DEVIATIONS = deviations();

/** The console from the program's marker on. */
function fromMarker(out: string, name: string): string {
  const marker = `== ${name} ==\n`;
  const at = out.indexOf(marker);
  return at < 0 ? `(no "== ${name} ==" marker in:)\n${out}` : out.slice(at);
}

function ringvisor(name: typeof PROGRAMS[number]) {
  let out = '';
  const diagnostics: string[] = [];
  const vm = SystemVM.create({
    kernel: readFileSync(`${dir}bin/${name}.elf`), kernelName: `${name}.elf`, memoryBytes: MEMORY,
    cpuModule: loadCpuModule('release'), maxInstructions: 200_000_000n, harts: HARTS[name] ?? 1,
    console: (b) => { out += Buffer.from(b).toString('latin1'); },
    diagnostics: (l) => diagnostics.push(l),
  });
  let status: number | undefined;
  while ((status = vm.step()) === undefined);
  return { status, console: fromMarker(out, name), diagnostics, vm };
}

function qemu(name: typeof PROGRAMS[number]): { status: number | null; console: string; raw: string } {
  const r = spawnSync(QEMU, ['-M', 'virt', '-smp', String(HARTS[name] ?? 1), '-m', '128M', '-nographic', '-bios', 'default', '-kernel', `${dir}bin/${name}.elf`],
    { input: '', encoding: 'latin1', timeout: 60_000 });
  const raw = fromMarker(r.stdout.replace(/\r\n/g, '\n'), name);
  const fixes = DEVIATIONS.get(name) ?? new Map<string, string>();
  const lines = raw.split('\n').map((l) => fixes.get(l) ?? l);
  return { status: r.status, console: lines.join('\n'), raw };
}

describe('bare-metal S-mode programs (guests/baremetal) under ringvisor and qemu-system-riscv64 -M virt', () => {
  for (const name of PROGRAMS) {
    it(`${name}: ringvisor shuts it down with status 0, its console the golden transcript`, () => {
      const r = ringvisor(name);
      expect(r.diagnostics).toEqual([]);
      expect(r.status).toBe(0);
      expect(r.console).toBe(readFileSync(`${dir}golden/${name}.txt`, 'latin1'));
      if (name === 'sbi') {
        // The DBCN line went through DBCN here (QEMU's OpenSBI 1.1 has none):
        // the buffer, the byte, and the buffer outside RAM that fails.
        expect(r.vm.sbiStats.calls.get('DBCN console_write')).toBe(2);
        expect(r.vm.sbiStats.calls.get('DBCN console_write_byte')).toBe(1);
      }
      if (name === 'poweroff') {
        // Off through the device tree's syscon-poweroff node and the test
        // finisher it names, not through the SBI.
        expect(r.vm.sbiStats.calls.has('SRST system_reset')).toBe(false);
        expect(r.vm.sbiStats.calls.has('legacy shutdown')).toBe(false);
        expect(r.vm.test.finished).toEqual({ kind: 'pass' });
      }
    });

    it.skipIf(qemuMissing !== undefined)(`${name}: live QEMU prints the same${qemuMissing ? ` (skipped: ${qemuMissing})` : ''}`, () => {
      const q = qemu(name);
      expect(q.status).toBe(0);
      for (const line of DEVIATIONS.get(name)?.keys() ?? []) {
        expect(q.raw.split('\n'), `qemu-deviations.txt [${name}]: QEMU no longer prints this line; drop the entry`).toContain(line);
      }
      expect(ringvisor(name).console).toBe(q.console);
    });
  }
});
