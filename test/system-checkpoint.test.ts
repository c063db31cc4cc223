// Whole system VMs checkpointed and restored (SystemVM.checkpoint,
// SystemVM.restore): a machine restored from a checkpoint runs on exactly
// as the original does from that point (the virtual clock makes both
// repeatable): the same console bytes, the same exit status, the same
// instruction count, and a checkpoint of the restored machine is the same
// file, byte for byte. Every bare-metal program of guests/baremetal is
// checkpointed at several points of its run (multi-hart `entry` too); our
// guest Linux is checkpointed in the middle of a command typed at its
// shell. Bad files restore nothing and say why.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SystemVM, type SystemVMOptions } from '../src/system/system-vm.js';
import { CheckpointError, readCheckpoint, writeCheckpoint } from '../src/hypervisor/checkpoint-file.js';
import { MemoryBlockBackend } from '../src/system/devices/virtio-blk.js';
import { loadCpuModule } from '../src/node/load.js';
import { systemMachineId } from '../src/system/system-checkpoint.js';

const dir = fileURLToPath(new URL('../guests/baremetal/', import.meta.url));
const cpuModule = loadCpuModule('release');
const PROGRAMS = ['traps', 'interrupts', 'paging', 'fp-state', 'sbi', 'suspend', 'entry', 'poweroff'] as const;

interface Run { vm: SystemVM; out: () => string }

function boot(options: Partial<SystemVMOptions> & { kernel: Uint8Array }): Run {
  let out = '';
  const vm = SystemVM.create({
    cpuModule, memoryBytes: 32 * 1024 * 1024, maxInstructions: 400_000_000n, random: (b) => b.fill(0x5a),
    console: (b) => { out += Buffer.from(b).toString('latin1'); }, diagnostics: () => {},
    ...options,
  });
  return { vm, out: () => out };
}

function restore(file: Uint8Array, disk?: MemoryBlockBackend, base?: Uint8Array[]): Run {
  let out = '';
  const vm = SystemVM.restore(file, {
    cpuModule, maxInstructions: 400_000_000n, random: (b) => b.fill(0x5a), disk, base,
    console: (b) => { out += Buffer.from(b).toString('latin1'); }, diagnostics: () => {},
  });
  return { vm, out: () => out };
}

/** Steps until the machine stops; returns its status and the slices run. */
function finish(vm: SystemVM, most = 1_000_000): { status: number | undefined; steps: number } {
  let status: number | undefined, steps = 0;
  while ((status = vm.step()) === undefined && steps < most) steps++;
  return { status, steps };
}

describe('a system VM restored from a checkpoint runs on exactly as the original', () => {
  for (const name of PROGRAMS) {
    it(`${name}: checkpointed at a quarter, half and three quarters of its run`, () => {
      const kernel = readFileSync(`${dir}bin/${name}.elf`);
      const harts = name === 'entry' ? 2 : 1;
      const whole = boot({ kernel, harts });
      const all = finish(whole.vm);
      expect(all.status).toBeDefined();
      expect(all.steps).toBeGreaterThan(8);
      for (const at of [all.steps >> 2, all.steps >> 1, (3 * all.steps) >> 2]) {
        const a = boot({ kernel, harts });
        for (let i = 0; i < at; i++) expect(a.vm.step()).toBeUndefined();
        const file = a.vm.checkpoint();
        const before = a.out().length;
        const b = restore(file);
        // The same machine, to the byte: its own checkpoint is the same file.
        expect(Buffer.from(b.vm.checkpoint()).equals(Buffer.from(file))).toBe(true);
        const ra = finish(a.vm), rb = finish(b.vm);
        expect(rb).toEqual(ra);
        expect(ra.status).toBe(all.status);
        expect(b.out()).toBe(a.out().slice(before));
        expect(a.out()).toBe(whole.out());
        expect(b.vm.cpu.instret).toBe(a.vm.cpu.instret);
      }
    });
  }

  it('keeps the disk a backend served, and asks for it again on restore', () => {
    const kernel = readFileSync(`${dir}bin/traps.elf`);
    const disk = new MemoryBlockBackend(1 << 20);
    const a = boot({ kernel, disk });
    for (let i = 0; i < 3; i++) a.vm.step();
    const file = a.vm.checkpoint();
    expect(() => restore(file)).toThrow(/pass one again/);
    expect(() => restore(file, new MemoryBlockBackend(2 << 20))).toThrow(/disk is 2097152 bytes; the saved machine's was 1048576/);
    const b = restore(file, new MemoryBlockBackend(1 << 20));
    expect(finish(b.vm)).toEqual(finish(a.vm));
  });
});

describe('a bad checkpoint restores nothing and says why', () => {
  const kernel = readFileSync(`${dir}bin/interrupts.elf`);
  const a = boot({ kernel });
  for (let i = 0; i < 5; i++) a.vm.step();
  const file = a.vm.checkpoint();

  const problem = (bytes: Uint8Array): string => {
    try { restore(bytes); } catch (e) { if (e instanceof CheckpointError) return e.problem; throw e; }
    return 'restored';
  };

  it('truncated at any of 64 points, or with a byte more', () => {
    for (let i = 0; i < 64; i++) expect(problem(file.subarray(0, Math.floor((file.length * i) / 64)))).toMatch(/truncated|bad-magic/);
    expect(problem(Uint8Array.of(...file, 0))).toBe('trailing-bytes');
  });

  it('a flipped byte in any section, a later format version, another machine, a missing part', () => {
    const machine = systemMachineId(a.vm.cpu.saveHart().length, a.vm.cpu.layout.EXIT_CONTROLS - a.vm.cpu.layout.EXIT_REASON);
    const c = readCheckpoint(file, { machine });
    for (let i = 0; i < 200; i++) {
      const at = Math.floor(((file.length - 1) * i) / 199);
      const bent = file.slice(); bent[at] ^= 0x41;
      expect(problem(bent)).toMatch(/checksum|bad-magic|unsupported-version|truncated|bad-section|wrong-machine|trailing-bytes/);
    }
    const v = file.slice(); v[8] = 2;
    expect(problem(v)).toBe('unsupported-version');
    const other = writeCheckpoint({ kind: 'system', fingerprint: new TextEncoder().encode('another board') }, c.sections);
    expect(problem(other)).toBe('wrong-machine');
    const process = writeCheckpoint({ kind: 'process', fingerprint: machine.fingerprint }, c.sections);
    expect(problem(process)).toBe('wrong-machine');
    const noClock = writeCheckpoint(machine, c.sections.filter((s) => s.name !== 'clock'));
    expect(() => restore(noClock)).toThrow(/without clock/);
    const badRecord = writeCheckpoint(machine, c.sections.map((s) => s.name === 'uart' ? { ...s, payload: s.payload.subarray(0, s.payload.length - 1) } : s));
    expect(problem(badRecord)).toBe('bad-record');
  });
});

// ---- our guest Linux, checkpointed in the middle of a shell command ----

const linuxDir = fileURLToPath(new URL('../guests/linux/', import.meta.url));
const linuxBuilt = ((): { image: string; initrd: string } | undefined => {
  const r = spawnSync('bash', [`${linuxDir}build.sh`, '--print-path'], { encoding: 'utf8' });
  const at = r.stdout.trim();
  return r.status === 0 && existsSync(`${at}/Image`) && existsSync(`${at}/initramfs.cpio.gz`)
    ? { image: `${at}/Image`, initrd: `${at}/initramfs.cpio.gz` } : undefined;
})();
const PROMPT = 'ringvisor-init# ';

/** Types each line at the next prompt, as a person would; steps until the
 *  machine stops or `until` says so. */
function drive(run: Run, lines: string[], until: () => boolean = () => false): number | undefined {
  let typedAt = run.out().length;
  for (let steps = 0; steps < 2_000_000; steps++) {
    if (until()) return undefined;
    const out = run.out();
    if (lines.length > 0 && out.length > typedAt && out.endsWith(PROMPT)) {
      run.vm.input(`${lines.shift()}\n`);
      typedAt = out.length;
    }
    const status = run.vm.step();
    if (status !== undefined) return status;
  }
  throw new Error('the guest did not stop');
}

describe.skipIf(linuxBuilt === undefined)('our guest Linux checkpointed while a command runs', () => {
  it('gives the same console from the checkpoint on, and the same status and instruction count', () => {
    const { image, initrd } = linuxBuilt!;
    const start = () => boot({
      kernel: readFileSync(image), initrd: readFileSync(initrd), append: 'console=ttyS0 quiet panic=-1',
      memoryBytes: 128 * 1024 * 1024, maxInstructions: 20_000_000_000n,
    });
    const session = ['mount -t proc proc /proc', 'cat /proc/version', 'ls /', 'cat /proc/interrupts', 'echo $?', 'poweroff'];
    const a = start();
    // Checkpointed just after `ls /` was typed: mid-command.
    drive(a, session.slice(0, 3), () => a.out().includes('ls /\r\n') || a.out().includes('ls /\n'));
    const before = a.out().length;
    const file = a.vm.checkpoint();
    const b = restore(file);
    const rest = session.slice(3);
    const sa = drive(a, [...rest]), sb = drive(b, [...rest]);
    expect(sa).toBe(0);
    expect(sb).toBe(sa);
    expect(b.out()).toBe(a.out().slice(before));
    expect(b.out()).toContain('ringvisor-init# poweroff');
    expect(b.vm.cpu.instret).toBe(a.vm.cpu.instret);
    // A 128 MiB guest's checkpoint holds its touched RAM only, compressed.
    expect(file.length).toBeLessThan(32 * 1024 * 1024);
  }, 300_000);
});

// ---- a checkpoint this release wrote restores in every later one ----
// test/golden/system-checkpoint-v1.bin is `entry` (two harts, one parked)
// saved half-way through its run by this release; the .json beside it is
// what the machine did from there. Made once with RINGVISOR_UPDATE_GOLDEN=1
// (which writes them only where there are none) and never rewritten: a
// new format or record version adds a -v<N> fixture beside it.

const fixture = fileURLToPath(new URL('./golden/system-checkpoint-v1.bin', import.meta.url));
const fixtureRun = fixture.replace(/\.bin$/, '.json');

describe('the system VM checkpoint of release 1 (test/golden/system-checkpoint-v1.bin)', () => {
  if (process.env.RINGVISOR_UPDATE_GOLDEN === '1' && !existsSync(fixture)) {
    const a = boot({ kernel: readFileSync(`${dir}bin/entry.elf`), kernelName: 'entry.elf', harts: 2 });
    const all = finish(boot({ kernel: readFileSync(`${dir}bin/entry.elf`), harts: 2 }).vm).steps;
    for (let i = 0; i < all >> 1; i++) a.vm.step();
    const before = a.out().length;
    writeFileSync(fixture, a.vm.checkpoint());
    const { status } = finish(a.vm);
    writeFileSync(fixtureRun, `${JSON.stringify({ status, instret: String(a.vm.cpu.instret), console: a.out().slice(before) }, null, 2)}\n`);
  }

  it('restores, and runs on to the same console, status and instruction count', () => {
    const expected = JSON.parse(readFileSync(fixtureRun, 'utf8')) as { status: number; instret: string; console: string };
    const b = restore(readFileSync(fixture));
    expect(b.vm.state).toBe('Running');
    expect(finish(b.vm).status).toBe(expected.status);
    expect(b.out()).toBe(expected.console);
    expect(String(b.vm.cpu.instret)).toBe(expected.instret);
    expect(b.vm.state).toBe('Stopped');
  });
});

describe('ringvisor boot --restore', () => {
  const main = fileURLToPath(new URL('../dist/bin/ringvisor.js', import.meta.url));
  const cli = (args: string[]) => spawnSync(process.execPath, [main, 'boot', ...args], { encoding: 'latin1', input: '', timeout: 60_000 });

  it('resumes a saved machine in a new process, where it was', () => {
    const kernel = readFileSync(`${dir}bin/interrupts.elf`);
    const a = boot({ kernel });
    for (let i = 0; i < 20; i++) a.vm.step();
    const before = a.out().length;
    const tmp = mkdtempSync(join(tmpdir(), 'ringvisor-restore-'));
    try {
      writeFileSync(join(tmp, 'vm.ckpt'), a.vm.checkpoint());
      const status = finish(a.vm).status;
      const r = cli(['--restore', join(tmp, 'vm.ckpt')]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(status);
      expect(r.stdout).toBe(a.out().slice(before));

      expect(cli(['--restore', join(tmp, 'vm.ckpt'), '--smp', '2']).stderr).toMatch(/--smp cannot be given with it/);
      writeFileSync(join(tmp, 'short.ckpt'), readFileSync(join(tmp, 'vm.ckpt')).subarray(0, 1000));
      const bad = cli(['--restore', join(tmp, 'short.ckpt')]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/^ringvisor: boot: --restore .*short\.ckpt: checkpoint: truncated at byte 1000/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('Diff snapshots (the pages written since the snapshot before, from the dirty-page log)', () => {
  const kernel = readFileSync(`${dir}bin/paging.elf`);

  it('a Full and two Diffs restore, as a chain, to the machine of the last one; each Diff holds less', () => {
    const whole = boot({ kernel });
    const steps = finish(whole.vm).steps;
    const a = boot({ kernel });
    const at = (n: number) => { while (n-- > 0) a.vm.step(); };
    at(steps >> 2);
    const full = a.vm.snapshot('Full');
    expect(Buffer.from(full).equals(Buffer.from(a.vm.checkpoint()))).toBe(true);
    at(steps >> 3);
    const diff1 = a.vm.snapshot('Diff');
    at(steps >> 3);
    const diff2 = a.vm.snapshot('Diff');
    expect(diff1.length).toBeLessThan(full.length);
    expect(diff2.length).toBeLessThan(full.length);
    const before = a.out().length;
    const b = restore(diff2, undefined, [full, diff1]);
    // The chain's machine is the machine: its Full checkpoint is the one the original would take.
    expect(Buffer.from(b.vm.checkpoint()).equals(Buffer.from(a.vm.checkpoint()))).toBe(true);
    const ra = finish(a.vm), rb = finish(b.vm);
    expect(rb).toEqual(ra);
    expect(b.out()).toBe(a.out().slice(before));
    expect(b.vm.cpu.instret).toBe(a.vm.cpu.instret);
  });

  it('a Diff taken after a restore builds on the file restored', () => {
    const a = boot({ kernel });
    for (let i = 0; i < 10; i++) a.vm.step();
    const full = a.vm.snapshot('Full');
    const b = restore(full);
    for (let i = 0; i < 10; i++) { a.vm.step(); b.vm.step(); }
    const da = a.vm.snapshot('Diff'), db = b.vm.snapshot('Diff');
    expect(Buffer.from(db).equals(Buffer.from(da))).toBe(true);
    const c = restore(db, undefined, [full]);
    expect(finish(c.vm)).toEqual(finish(a.vm));
  });

  it('a broken chain restores nothing and says which link; a Diff with nothing before it is refused', () => {
    const a = boot({ kernel });
    expect(() => a.vm.snapshot('Diff')).toThrow(/take a Full one first/);
    for (let i = 0; i < 5; i++) a.vm.step();
    const full = a.vm.snapshot('Full');
    for (let i = 0; i < 5; i++) a.vm.step();
    const d1 = a.vm.snapshot('Diff');
    for (let i = 0; i < 5; i++) a.vm.step();
    const d2 = a.vm.snapshot('Diff');
    const problem = (file: Uint8Array, base: Uint8Array[]) => {
      try { restore(file, undefined, base); } catch (e) { if (e instanceof CheckpointError) return `${e.problem}: ${e.message}`; throw e; }
      return 'restored';
    };
    expect(problem(d2, [])).toMatch(/^wrong-base: .*the snapshot is a Diff snapshot: restore it with the Full snapshot it builds on/);
    expect(problem(d2, [full])).toMatch(/^wrong-base: .*the snapshot is a Diff of a file of \d+ bytes/);
    expect(problem(d2, [d1, full])).toMatch(/^wrong-base: .*base 1 is a Diff snapshot/);
    expect(problem(d1, [full, full])).toMatch(/^wrong-base: .*base 2 is a Full snapshot/);
    expect(problem(full, [full])).toMatch(/^wrong-base: .*the snapshot is a Full snapshot/);
    expect(problem(d2, [full, d1])).toBe('restored');
  });
});
