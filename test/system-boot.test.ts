// Our guest Linux (guests/linux) booted by `ringvisor boot` and by
// qemu-system-riscv64 -M virt, the same scripted console session typed at
// both (guests/linux/console.mjs types each line after the prompt), and the
// transcripts from the first prompt on compared byte for byte: with the one
// QEMU gave when it was recorded (guests/golden/linux-session.qemu), and
// with live QEMU where it is installed. Without the built kernel the tests
// are skipped, saying how to build it. Re-record the golden transcript with
// scripts/record-linux-golden.sh after changing the session or the guest.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SystemVM } from '../src/system/system-vm.js';
import { loadCpuModule } from '../src/node/load.js';
import { parseFdt, findNode } from '../src/system/fdt.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const linuxDir = `${root}guests/linux`;
const sessionScript = `${linuxDir}/session.txt`;
const golden = `${root}guests/golden/linux-session.qemu`;
const APPEND = 'console=ttyS0 quiet panic=-1';
const PROMPT = 'ringvisor-init# ';

/** The cached kernel and initrd, or why they are not there. */
function guestLinux(): { image: string; initrd: string } | string {
  const deps = spawnSync('bash', [`${linuxDir}/build.sh`, '--check-deps']);
  if (deps.status !== 0) {
    const list = spawnSync('bash', [`${linuxDir}/build.sh`, '--print-deps'], { encoding: 'utf8' }).stdout.trim();
    return `the guest Linux needs Debian packages to build (apt-get install ${list}), then: bash guests/linux/build.sh`;
  }
  const dir = spawnSync('bash', [`${linuxDir}/build.sh`, '--print-path'], { encoding: 'utf8' }).stdout.trim();
  const image = `${dir}/Image`, initrd = `${dir}/initramfs.cpio.gz`;
  if (!existsSync(image) || !existsSync(initrd)) return `the guest Linux is not built: bash guests/linux/build.sh (a few minutes, once; cached in ${dir})`;
  return { image, initrd };
}

const linux = guestLinux();
const qemuSystem = spawnSync('qemu-system-riscv64', ['--version']).status === 0;

/** The console from the first prompt on, line ends as \n. */
function afterBoot(out: string): string {
  const at = out.indexOf(PROMPT);
  return (at < 0 ? out : out.slice(at)).replace(/\r\n/g, '\n');
}

function session(command: string[]): { stdout: string; status: number | null } {
  const r = spawnSync(process.execPath, [`${linuxDir}/console.mjs`, '--timeout', '120', '--script', sessionScript, '--', ...command], { encoding: 'utf8', timeout: 180_000 });
  return { stdout: r.stdout, status: r.status };
}

describe.skipIf(typeof linux === 'string')('our guest Linux under ringvisor boot', () => {
  const { image, initrd } = linux as { image: string; initrd: string };
  const ringvisor = () => session([process.execPath, `${root}dist/cli/main.js`, 'boot', '--kernel', image, '--initrd', initrd, '--append', APPEND]);

  it('boots to the prompt, runs the session and powers off with status 0; the transcript is QEMU\'s (golden)', () => {
    const r = ringvisor();
    expect(r.status).toBe(0);
    expect(afterBoot(r.stdout)).toBe(readFileSync(golden, 'utf8'));
  });

  it.skipIf(!qemuSystem)('the same transcript as live qemu-system-riscv64 -M virt', () => {
    const q = session(['qemu-system-riscv64', '-M', 'virt', '-smp', '1', '-m', '256M', '-nographic', '-bios', 'default', '-no-reboot',
      '-kernel', image, '-initrd', initrd, '-append', APPEND]);
    expect(q.status).toBe(0);
    const r = ringvisor();
    expect(afterBoot(r.stdout)).toBe(afterBoot(q.stdout));
  });

  it('boots in the library too, deterministically: the same console and instruction count twice', () => {
    const boot = () => {
      let out = '';
      const vm = SystemVM.create({
        kernel: readFileSync(image), initrd: readFileSync(initrd), append: APPEND, cpuModule: loadCpuModule('release'),
        console: (b) => { out += Buffer.from(b).toString(); }, maxInstructions: 2_000_000_000n,
      });
      const lines = ['uname -a', 'poweroff'];
      let status: number | undefined;
      while (status === undefined) {
        status = vm.step();
        if (out.endsWith(PROMPT)) { const l = lines.shift(); if (l) vm.input(l + '\n'); out += '\u0000'; }
      }
      return { status, out, instret: vm.cpu.instret, sbi: vm.sbiStats.calls };
    };
    const a = boot(), b = boot();
    expect(a.status).toBe(0);
    expect(a.out).toContain('Linux (none) 6.1.192');
    expect(b.out).toBe(a.out);
    expect(b.instret).toBe(a.instret);
    expect(a.sbi.get('SRST system_reset')).toBe(1);
  });

  it('describes itself in the device tree it hands the kernel', () => {
    const vm = SystemVM.create({ kernel: readFileSync(image), initrd: readFileSync(initrd), append: APPEND, cpuModule: loadCpuModule('release') });
    const t = parseFdt(vm.dtb);
    const chosen = findNode(t.root, '/chosen')!;
    expect(Buffer.from(chosen.props.get('bootargs')!).toString()).toBe(APPEND + '\0');
    expect(chosen.props.has('linux,initrd-start')).toBe(true);
    expect(findNode(t.root, '/cpus/cpu@0')).toBeDefined();
  });
});

if (typeof linux === 'string') {
  describe('our guest Linux under ringvisor boot', () => {
    it.skip(`boot tests skipped: ${linux}`, () => {});
  });
}
