// Our guest Linux (guests/linux) with the balloon (SystemVMOptions.balloon,
// `ringvisor boot --balloon`): the driver binds as under
// `qemu-system-riscv64 -device virtio-balloon-device` (the same console
// session typed at both, the transcripts compared from the first prompt on);
// in the library the host lowers the target and the guest's `actual`
// follows (the driver inflates), every page it gives is zero on the host's
// side, statistics arrive when asked for, the machine compacts into a
// fresh instance and goes on, and a raised target deflates the balloon.
// Without the built kernel those tests are skipped, saying how to build it;
// the command line's --balloon (usage, the device tree) is tested without.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemVM } from '../src/system/system-vm.js';
import { VirtioBalloon } from '../src/system/devices/virtio-balloon.js';
import { loadCpuModule } from '../src/node/load.js';
import { parseFdt, findNode } from '../src/system/fdt.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const linuxDir = `${root}guests/linux`;
const APPEND = 'console=ttyS0 quiet panic=-1';
const PROMPT = 'ringvisor-init# ';
const MiB = 1024 * 1024;

/** The cached kernel and initrd, or why they are not there. */
function guestLinux(): { image: string; initrd: string } | string {
  if (spawnSync('bash', [`${linuxDir}/build.sh`, '--check-deps']).status !== 0) return 'the guest Linux needs Debian packages to build: bash guests/linux/build.sh --print-deps';
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

describe.skipIf(typeof linux === 'string')('our guest Linux with a balloon', () => {
  const { image, initrd } = linux as { image: string; initrd: string };

  // The guest's own view of its devices: what the drivers bound, and the
  // balloon's device id. (Not its feature bits or status: QEMU's
  // virtio-mmio is the legacy version 1 by default, ours version 2.)
  const SESSION = [
    'mount -t sysfs sys /sys', 'ls /sys/bus/virtio/devices', 'ls /sys/bus/virtio/drivers',
    'ls /sys/bus/virtio/drivers/virtio_balloon', 'cat /sys/bus/virtio/devices/virtio1/device', 'poweroff',
  ];

  it.skipIf(!qemuSystem)('boot --balloon: the driver binds as under qemu-system-riscv64 -device virtio-balloon-device', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-balloon-'));
    try {
      const script = join(dir, 'session.txt');
      writeFileSync(script, SESSION.join('\n') + '\n');
      const session = (command: string[]) => spawnSync(process.execPath, [`${linuxDir}/console.mjs`, '--timeout', '120', '--script', script, '--', ...command], { encoding: 'utf8', timeout: 180_000 });
      const ours = session([process.execPath, `${root}dist/bin/ringvisor.js`, 'boot', '--balloon', '--kernel', image, '--initrd', initrd, '--append', APPEND]);
      // Ours has virtio-rng in slot 0 and the balloon in slot 2: QEMU takes
      // its -device's in that order when they are given in that order.
      const qemu = session(['qemu-system-riscv64', '-M', 'virt', '-smp', '1', '-m', '256M', '-nographic', '-bios', 'default', '-no-reboot',
        '-kernel', image, '-initrd', initrd, '-append', APPEND, '-device', 'virtio-rng-device', '-device', 'virtio-balloon-device,deflate-on-oom=on']);
      expect(qemu.status, qemu.stdout.slice(-2000)).toBe(0);
      expect(ours.status, ours.stdout.slice(-2000) + ours.stderr).toBe(0);
      const transcript = afterBoot(ours.stdout);
      expect(transcript).toContain('ls /sys/bus/virtio/drivers/virtio_balloon\nbind\nuevent\nunbind\nvirtio1\n');
      expect(transcript).toContain('cat /sys/bus/virtio/devices/virtio1/device\n0x0005\n');
      expect(transcript).toBe(afterBoot(qemu.stdout));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 400_000);

  it('the host lowers the target, the driver inflates, given pages are zero; statistics; compact; raised again, it deflates', () => {
    let out = '', sinceInput = '';
    const console_ = (b: Uint8Array) => { const t = Buffer.from(b).toString(); out += t; sinceInput += t; };
    const diagnostics: string[] = [];
    let vm = SystemVM.create({
      kernel: readFileSync(image), initrd: readFileSync(initrd), append: APPEND, cpuModule: loadCpuModule('release'),
      memoryBytes: 256 * MiB, balloon: true, console: console_, diagnostics: (l) => diagnostics.push(l),
      maxInstructions: 20_000_000_000n, random: (b) => b.fill(7),
    });
    /** Steps until `done` or the machine stops (a failure either way). */
    const runUntil = (what: string, done: () => boolean): void => {
      for (let steps = 0; !done(); steps++) {
        const status = vm.step();
        if (status !== undefined) throw new Error(`the machine stopped (status ${status}) waiting for ${what}:\n${out.slice(-3000)}\n${diagnostics.join('\n')}`);
        if (steps > 5_000_000) throw new Error(`no ${what} after ${steps} slices`);
      }
    };
    const type = (line: string): string => {
      sinceInput = '';
      vm.input(line + '\n');
      runUntil(`the prompt after ${line}`, () => sinceInput.endsWith(PROMPT));
      return sinceInput.replace(/\r\n/g, '\n');
    };
    runUntil('the first prompt', () => sinceInput.endsWith(PROMPT));
    const b0 = vm.balloon()!;
    expect(b0).toMatchObject({ ramBytes: 256 * MiB, targetBytes: 256 * MiB, actualBytes: 256 * MiB, givenPages: 0, driverReady: true });
    // The driver primed the statistics queue at probe: figures are there.
    expect(b0.stats?.MEMTOT).toBeGreaterThan(200n * BigInt(MiB));
    expect(b0.stats?.MEMFREE).toBeGreaterThan(150n * BigInt(MiB));

    // Lowered: 192 MiB back to the host, 64 MiB left to the guest.
    vm.setBalloonTarget(64 * MiB);
    runUntil('the balloon inflated', () => vm.balloon()!.actualBytes === 64 * MiB);
    const inflated = vm.balloon()!;
    expect(inflated.givenPages).toBe(192 * MiB / 4096);
    const device = vm.board.balloon!.device as VirtioBalloon;
    let nonZero = 0;
    for (const p of device.givenIndices()) if (!vm.cpu.ramView(p * 4096, 4096).every((x) => x === 0)) nonZero++;
    expect(nonZero).toBe(0);
    // Some of what the guest gave had held data (the unpacked initrd, freed,
    // at least): ring -1 zeroed it.
    expect(device.counts.zeroed).toBeGreaterThan(0);
    expect(device.counts.ignored).toBe(0);

    // Fresh figures on request: free memory has gone into the balloon.
    expect(vm.requestBalloonStats()).toBe(true);
    runUntil('fresh statistics', () => device.counts.statsUpdates >= 2);
    expect(vm.balloon()!.stats!.MEMFREE).toBeLessThan(64n * BigInt(MiB));
    expect(type('echo still here')).toContain('still here\n');

    // Compacted: a fresh instance from the checkpoint, which holds none of
    // the given pages; the guest goes on in it.
    const before = vm.checkpoint().length;
    vm = vm.compact();
    expect(vm.balloon()).toMatchObject({ actualBytes: 64 * MiB, givenPages: 192 * MiB / 4096 });
    expect(vm.checkpoint().length).toBe(before);
    expect(type('echo after compact')).toContain('after compact\n');

    // Raised: the driver takes it all back.
    vm.setBalloonTarget(256 * MiB);
    runUntil('the balloon deflated', () => vm.balloon()!.actualBytes === 256 * MiB && vm.balloon()!.givenPages === 0);
    expect(type('echo deflated')).toContain('deflated\n');
    expect(diagnostics).toEqual([]);
    vm.input('poweroff\n');
    let status: number | undefined;
    while ((status = vm.step()) === undefined);
    expect(status).toBe(0);
  }, 600_000);

  it('asked for all its RAM, the guest gives what it can spare and stays alive', () => {
    let since = '';
    const vm = SystemVM.create({
      kernel: readFileSync(image), initrd: readFileSync(initrd), append: APPEND, cpuModule: loadCpuModule('release'),
      memoryBytes: 64 * MiB, balloon: true, console: (b) => { since += Buffer.from(b).toString(); }, diagnostics: () => {},
      maxInstructions: 20_000_000_000n, random: (b) => b.fill(7),
    });
    const steps = (n: number, done = () => false): boolean => {
      for (let i = 0; i < n && !done(); i++) expect(vm.step()).toBeUndefined();
      return done();
    };
    expect(steps(5_000_000, () => since.endsWith(PROMPT))).toBe(true);
    vm.setBalloonTarget(0);
    // The driver inflates until the guest's allocator says no, then retries
    // now and then: run until `actual` stops moving.
    let last = -1;
    for (let round = 0; round < 100 && vm.balloon()!.actualBytes !== last; round++) {
      last = vm.balloon()!.actualBytes;
      steps(20_000);
    }
    const b = vm.balloon()!;
    expect(b.targetBytes).toBe(0);
    expect(b.actualBytes).toBeGreaterThan(0);
    expect(b.actualBytes).toBeLessThan(16 * MiB);
    expect(b.givenPages * 4096 + b.actualBytes).toBe(64 * MiB);
    since = '';
    vm.input('echo alive\n');
    expect(steps(5_000_000, () => since.endsWith(PROMPT))).toBe(true);
    expect(since.replace(/\r\n/g, '\n')).toBe('echo alive\nalive\n' + PROMPT);
  }, 300_000);
});

describe('ringvisor boot --balloon', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['dist/bin/ringvisor.js', 'boot', ...args], { encoding: 'utf8', cwd: root, timeout: 120_000 });

  it('is in --help; with --restore it is a usage error (the checkpoint says whether there is a balloon)', () => {
    expect(cli(['--help']).stdout).toMatch(/--balloon +a virtio-balloon device/);
    const r = cli(['--restore', 'some.ckpt', '--balloon']);
    expect(r.stderr).toMatch(/--restore takes the machine from the checkpoint: --balloon cannot be given with it/);
    expect(r.status).toBe(2);
  });

  it('--dump-dtb: the balloon is virtio-mmio slot 2 with --balloon, absent without', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-balloon-dtb-'));
    try {
      const kernel = join(dir, 'k.bin');
      writeFileSync(kernel, new Uint8Array(64)); // a raw binary; the tree is written before it runs
      const nodes = (extra: string[]) => {
        const dtb = join(dir, 'vm.dtb');
        rmSync(dtb, { force: true });
        cli(['--kernel', kernel, '--max-instructions', '1000', '--dump-dtb', dtb, ...extra]);
        const soc = findNode(parseFdt(new Uint8Array(readFileSync(dtb))).root, '/soc')!;
        return soc.children.map((n) => n.name).filter((n) => n.startsWith('virtio_mmio'));
      };
      expect(nodes([])).toEqual(['virtio_mmio@10001000']);
      expect(nodes(['--balloon'])).toEqual(['virtio_mmio@10001000', 'virtio_mmio@10003000']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
