// Differently configured kernels from guests/linux (build.sh --variant:
// the default tinyconfig kernel, "minimal" from allnoconfig without perf
// events, "nosmp" without SMP) booted by ringvisor and by
// qemu-system-riscv64 -M virt with OpenSBI, each running /bin/clocks
// (guests/linux/clocks.c, session-clocks.txt), which reads the clocks
// through the vDSO: rdtime in U-mode, allowed only by the scounteren the
// firmware sets at entry (docs/FIRMWARE.md). And "syscon", with the syscon
// power-off and reboot drivers, showing which device-tree nodes they bound
// (session-syscon.txt). The transcripts from the first prompt on are compared
// with the golden ones recorded from QEMU (scripts/record-linux-golden.sh)
// and with live QEMU where it is installed. A variant that is not built is
// skipped, saying how to build it.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SystemVM } from '../src/system/system-vm.js';
import { loadCpuModule } from '../src/node/load.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const linuxDir = `${root}guests/linux`;
const APPEND = 'console=ttyS0 quiet panic=-1';
const PROMPT = 'ringvisor-init# ';
const qemuSystem = spawnSync('qemu-system-riscv64', ['--version']).status === 0;

/** Each kernel, the hart counts it boots with (SMP kernels: 1, 2, 4), and
 *  the session typed at it (guests/linux/session-NAME.txt). */
const CASES: { variant: string; harts: number[]; session: 'clocks' | 'syscon' }[] = [
  { variant: 'default', harts: [1], session: 'clocks' },
  { variant: 'minimal', harts: [1, 2, 4], session: 'clocks' },
  { variant: 'nosmp', harts: [1], session: 'clocks' },
  { variant: 'syscon', harts: [1], session: 'syscon' },
];

/** The variant's cached kernel and initrd, or why they are not there. */
function built(variant: string): { image: string; initrd: string } | string {
  const args = [`${linuxDir}/build.sh`, ...(variant === 'default' ? [] : ['--variant', variant])];
  if (spawnSync('bash', [`${linuxDir}/build.sh`, '--check-deps']).status !== 0) return 'the guest Linux needs Debian packages to build (bash guests/linux/build.sh --print-deps)';
  const dir = spawnSync('bash', [...args, '--print-path'], { encoding: 'utf8' }).stdout.trim();
  const image = `${dir}/Image`, initrd = `${dir}/initramfs.cpio.gz`;
  if (!existsSync(`${dir}/stamp`)) return `not built: bash ${args.slice(0).join(' ').replace(root, '')} (a few minutes, once)`;
  return { image, initrd };
}

const golden = (session: string, variant: string, harts: number) => `${root}guests/golden/linux-${session}-${variant}-smp${harts}.qemu`;

/** The console from the first prompt on, line ends as \n. */
function afterBoot(out: string): string {
  const at = out.indexOf(PROMPT);
  return (at < 0 ? out : out.slice(at)).replace(/\r\n/g, '\n');
}

/** Boots under ringvisor in this process, typing the session's lines at successive prompts. */
function ringvisor(k: { image: string; initrd: string }, harts: number, script: string): { status: number; out: string; boot: string; vm: SystemVM } {
  const lines = readFileSync(script, 'utf8').split('\n').filter((l) => l !== '');
  let out = '', sinceInput = '';
  const vm = SystemVM.create({
    kernel: readFileSync(k.image), initrd: readFileSync(k.initrd), append: APPEND, cpuModule: loadCpuModule('release'), harts,
    console: (b) => { const t = Buffer.from(b).toString('latin1'); out += t; sinceInput += t; },
    diagnostics: (l) => { out += `[ring -1] ${l}\n`; },
    maxInstructions: 3_000_000_000n, random: (b) => b.fill(7),
  });
  let status: number | undefined;
  while (status === undefined) {
    status = vm.step();
    if (sinceInput.endsWith(PROMPT)) { sinceInput = ''; const l = lines.shift(); if (l !== undefined) vm.input(l + '\n'); }
  }
  return { status, out: afterBoot(out), boot: out, vm };
}

function qemu(k: { image: string; initrd: string }, harts: number, script: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [`${linuxDir}/console.mjs`, '--timeout', '120', '--script', script, '--',
    'qemu-system-riscv64', '-M', 'virt', '-smp', String(harts), '-m', '256M', '-nographic', '-bios', 'default', '-no-reboot',
    '-kernel', k.image, '-initrd', k.initrd, '-append', APPEND], { encoding: 'latin1', timeout: 180_000 });
  return { status: r.status, out: afterBoot(r.stdout) };
}

for (const { variant, harts, session } of CASES) {
  const k = built(variant);
  const script = `${linuxDir}/session-${session}.txt`;
  const what = session === 'clocks' ? 'the vDSO clocks from user mode' : 'the syscon poweroff and reboot nodes bound';
  describe.skipIf(typeof k === 'string')(`guest Linux variant "${variant}": ${what}`, () => {
    const kernel = k as { image: string; initrd: string };
    for (const n of harts) {
      it(`${n} hart${n > 1 ? 's' : ''}: session-${session}.txt ends with status 0, the transcript QEMU's (golden)`, () => {
        const r = ringvisor(kernel, n, script);
        expect(r.out).not.toContain('unhandled signal');
        expect(r.status).toBe(0);
        expect(r.out).toBe(readFileSync(golden(session, variant, n), 'latin1'));
        if (session === 'syscon') {
          // The driver found /poweroff's regmap (the test finisher) and
          // stopped only because the SBI claimed power-off first, as under QEMU.
          expect(r.boot).toContain('syscon-poweroff poweroff: pm_power_off already claimed for sbi_srst_power_off');
          expect(r.vm.sbiStats.calls.get('SRST system_reset')).toBe(1);
        }
      });
      it.skipIf(!qemuSystem)(`${n} hart${n > 1 ? 's' : ''}: the same transcript as live qemu-system-riscv64 -smp ${n}`, () => {
        const q = qemu(kernel, n, script);
        expect(q.status).toBe(0);
        expect(ringvisor(kernel, n, script).out).toBe(q.out);
      });
    }
  });
  if (typeof k === 'string') {
    describe(`guest Linux variant "${variant}"`, () => { it.skip(`skipped: ${k}`, () => {}); });
  }
}
