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
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemVM, type SystemVMOptions } from '../src/system/system-vm.js';
import { loadCpuModule } from '../src/node/load.js';
import '../src/index.js'; // registers the disk opener for disks given by path
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
const mkfs = spawnSync('mkfs.ext2', ['-V']).status === 0 && spawnSync('debugfs', ['-V']).status === 0;

/** The console from the first prompt on, line ends as \n. */
function afterBoot(out: string): string {
  const at = out.indexOf(PROMPT);
  return (at < 0 ? out : out.slice(at)).replace(/\r\n/g, '\n');
}

function session(command: string[], script = sessionScript): { stdout: string; status: number | null } {
  const r = spawnSync(process.execPath, [`${linuxDir}/console.mjs`, '--timeout', '120', '--script', script, '--', ...command], { encoding: 'utf8', timeout: 180_000 });
  return { stdout: r.stdout, status: r.status };
}

describe.skipIf(typeof linux === 'string')('our guest Linux under ringvisor boot', () => {
  const { image, initrd } = linux as { image: string; initrd: string };
  const ringvisor = (script = sessionScript, smp = 1) => session([process.execPath, `${root}dist/bin/ringvisor.js`, 'boot', '--smp', String(smp), '--kernel', image, '--initrd', initrd, '--append', APPEND], script);
  const qemuOnce = (script: string, smp: number) => session(['qemu-system-riscv64', '-M', 'virt', '-smp', String(smp), '-m', '256M', '-nographic', '-bios', 'default', '-no-reboot',
    '-kernel', image, '-initrd', initrd, '-append', APPEND], script);
  // The oracle itself: QEMU 7.2 with several harts on a host whose two cores
  // are busy (the suite's other workers) has been seen to stall past the
  // console's 120 s (status 124) where it otherwise takes about a second. A
  // stalled reference tells nothing of ringvisor, so it gets one more try;
  // its console is kept for the failure message.
  const qemu = (script = sessionScript, smp = 1) => {
    const first = qemuOnce(script, smp);
    if (first.status !== 124) return first;
    const again = qemuOnce(script, smp);
    return { ...again, stdout: again.status === 0 ? again.stdout : `${again.stdout}\n(first try, also timed out:)\n${first.stdout}` };
  };
  const smpScript = `${linuxDir}/session-smp.txt`;

  it('boots to the prompt, runs the session and powers off with status 0; the transcript is QEMU\'s (golden)', () => {
    const r = ringvisor();
    expect(r.status).toBe(0);
    expect(afterBoot(r.stdout)).toBe(readFileSync(golden, 'utf8'));
  });

  it.skipIf(!qemuSystem)('the same transcript as live qemu-system-riscv64 -M virt', () => {
    const q = qemu();
    expect(q.status).toBe(0);
    const r = ringvisor();
    expect(afterBoot(r.stdout)).toBe(afterBoot(q.stdout));
  });

  it('--smp 4: four harts come up (SBI HSM) and the session reads as QEMU\'s (golden)', () => {
    const r = ringvisor(smpScript, 4);
    expect(r.status).toBe(0);
    expect(afterBoot(r.stdout)).toBe(readFileSync(`${root}guests/golden/linux-session-smp4.qemu`, 'utf8'));
  });

  // QEMU runs its harts in parallel host threads, and there the kernel's
  // "reboot: Power down" has been seen to reach the console before the echo
  // of the line end typed after `poweroff` ("poweroffreboot: Power down",
  // the newline after it). Which comes first is a race inside the guest, not
  // something ringvisor gets right or wrong, so from that last command on the
  // text is compared without its white space.
  const settled = (out: string) => {
    const s = afterBoot(out), at = s.lastIndexOf(`${PROMPT}poweroff`);
    return at < 0 ? s : s.slice(0, at) + s.slice(at).replace(/\s+/g, '');
  };

  it.skipIf(!qemuSystem)('--smp 2 and 4: the same transcripts as live qemu-system-riscv64 -smp 2 and 4', () => {
    for (const n of [2, 4]) {
      const q = qemu(smpScript, n);
      expect(q.status, `qemu-system-riscv64 -smp ${n}:\n${q.stdout.slice(-2000)}`).toBe(0);
      expect(settled(ringvisor(smpScript, n).stdout), `-smp ${n}`).toBe(settled(q.stdout));
    }
  });

  it('boots in the library too, deterministically: the same console and instruction count twice', () => {
    const boot = () => {
      let out = '';
      const vm = SystemVM.create({
        kernel: readFileSync(image), initrd: readFileSync(initrd), append: APPEND, cpuModule: loadCpuModule('release'),
        console: (b) => { out += Buffer.from(b).toString(); }, maxInstructions: 2_000_000_000n,
        // The same entropy too: the kernel's hashing and randomised layouts
        // take a different number of instructions for other seed bytes.
        random: (b) => b.fill(7),
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

  it('the console\'s output is coalesced MMIO: the same console as with an exit a byte, in a fraction of the exits', () => {
    const boot = (coalescedMmio: boolean) => {
      let out = '';
      const vm = SystemVM.create({
        kernel: readFileSync(image), initrd: readFileSync(initrd), append: 'console=ttyS0 panic=-1', cpuModule: loadCpuModule('release'),
        console: (b) => { out += Buffer.from(b).toString(); }, maxInstructions: 2_000_000_000n, random: (b) => b.fill(7), coalescedMmio,
      });
      const lines = ['uname -a', 'poweroff'];
      let status: number | undefined;
      while (status === undefined) {
        status = vm.step();
        if (out.endsWith(PROMPT)) { const l = lines.shift(); if (l) vm.input(l + '\n'); out += '\u0000'; }
      }
      return { status, out, stores: vm.exitStats.get('MMIO_STORE') ?? 0, uartWrites: vm.bus.statsFor('uart0')!.writes };
    };
    const each = boot(false), coalesced = boot(true);
    expect(each.status).toBe(0);
    expect(coalesced.status).toBe(0);
    // Without `quiet` the kernel's log goes to the console too: thousands of bytes.
    expect(coalesced.out).toContain('Linux (none) 6.1.192');
    expect(coalesced.out.length).toBeGreaterThan(3000);
    expect(coalesced.out).toBe(each.out);
    // Every byte reached the UART either way; far fewer stores exited.
    expect(coalesced.uartWrites).toBeGreaterThan(coalesced.out.length);
    expect(each.stores).toBeGreaterThan(coalesced.out.length);
    expect(coalesced.stores * 5).toBeLessThan(each.stores);
  });

  /** Boots with `options`, types `lines` at successive prompts; the console and status. */
  function bootSession(lines: string[], options: Partial<SystemVMOptions> = {}): { status: number; out: string; vm: SystemVM } {
    let out = '', sinceInput = '';
    const vm = SystemVM.create({
      kernel: readFileSync(image), initrd: readFileSync(initrd), append: APPEND, cpuModule: loadCpuModule('release'),
      console: (b) => { const t = Buffer.from(b).toString(); out += t; sinceInput += t; },
      diagnostics: (l) => { out += `[ring -1] ${l}\n`; },
      maxInstructions: 2_000_000_000n, random: (b) => b.fill(7), ...options,
    });
    let status: number | undefined;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (status === undefined) {
      status = vm.step();
      if (sinceInput.endsWith(PROMPT)) { sinceInput = ''; const l = lines.shift(); if (l !== undefined) vm.input(l + '\n'); }
      if (vm.idleUntil !== undefined) Atomics.wait(nap, 0, 0, vm.idleMilliseconds());
    }
    return { status, out: out.replace(/\r\n/g, '\n'), vm };
  }

  it('--clock host: an idle guest really waits (sleep 1 takes a second), and console input still wakes it at once', () => {
    const started = performance.now();
    const r = bootSession(['sleep 1', 'echo awake', 'poweroff'], { clock: 'host' });
    const seconds = (performance.now() - started) / 1000;
    expect(r.status).toBe(0);
    expect(r.out).toContain('ringvisor-init# echo awake\nawake\n');
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThan(8);
  });

  it('a kernel panic stops the machine with status 1 and the panic message', () => {
    const r = bootSession([], { append: APPEND + ' rdinit=/nope' });
    expect(r.status).toBe(1);
    expect(r.vm.panic).toMatch(/^Kernel panic - not syncing: /);
    expect(r.out).toContain('[ring -1] ringvisor boot: the guest kernel panicked: Kernel panic - not syncing');
  });

  it.skipIf(!mkfs)('a virtio-blk disk: an ext2 image mounted, read and written; the writes reach the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-disk-'));
    try {
      mkdirSync(join(dir, 'root'));
      writeFileSync(join(dir, 'root', 'hello.txt'), 'a file on the host\n');
      const img = join(dir, 'disk.img');
      const made = spawnSync('mkfs.ext2', ['-q', '-F', '-b', '1024', '-d', join(dir, 'root'), img, '2048']);
      expect(made.status, String(made.stderr)).toBe(0);
      const r = bootSession(['mount -t devtmpfs devtmpfs /dev', 'mount -t ext2 /dev/vda /mnt', 'cat /mnt/hello.txt', 'write /mnt/new.txt written by the guest', 'umount /mnt', 'poweroff'],
        { disk: { path: img } });
      expect(r.status).toBe(0);
      expect(r.out).toContain('ringvisor-init# cat /mnt/hello.txt\na file on the host\n');
      const back = spawnSync('debugfs', ['-R', 'cat /new.txt', img], { encoding: 'utf8' });
      expect(back.stdout).toBe('written by the guest\n');
      // Read-only: the same image refuses writes (EROFS or an I/O error), and stays as it was.
      const ro = bootSession(['mount -t devtmpfs devtmpfs /dev', 'mount -t ext2 -o ro /dev/vda /mnt', 'cat /mnt/new.txt', 'write /mnt/other.txt x', 'poweroff'], { disk: { path: img, readOnly: true } });
      expect(ro.status).toBe(0);
      expect(ro.out).toContain('written by the guest');
      expect(spawnSync('debugfs', ['-R', 'ls /', img], { encoding: 'utf8' }).stdout).not.toContain('other.txt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes itself in the device tree it hands the kernel', () => {
    const vm = SystemVM.create({ kernel: readFileSync(image), initrd: readFileSync(initrd), append: APPEND, cpuModule: loadCpuModule('release') });
    const t = parseFdt(vm.dtb);
    const chosen = findNode(t.root, '/chosen')!;
    expect(Buffer.from(chosen.props.get('bootargs')!).toString()).toBe(APPEND + '\0');
    expect(chosen.props.has('linux,initrd-start')).toBe(true);
    expect(findNode(t.root, '/cpus/cpu@0')).toBeDefined();
    // 32 bytes of rng-seed, as QEMU writes, from the VM's entropy source.
    const seeded = SystemVM.create({ kernel: readFileSync(image), append: APPEND, cpuModule: loadCpuModule('release'), random: (b) => b.fill(0x5a) });
    expect([...findNode(parseFdt(seeded.dtb).root, '/chosen')!.props.get('rng-seed')!]).toEqual(new Array(32).fill(0x5a));
  });
});

if (typeof linux === 'string') {
  describe('our guest Linux under ringvisor boot', () => {
    it.skip(`boot tests skipped: ${linux}`, () => {});
  });
}
