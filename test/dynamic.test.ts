// Dynamically linked programs (src/linux/loader.ts): our guests/libc programs
// linked against glibc's shared libraries (guests/manifest-dynamic.json) run
// with Debian's riscv64 sysroot, in both tiers (translation after 1 visit,
// and the interpreter alone), byte for byte against what qemu-riscv64 -L did
// (the golden files) and, when it is installed, against live QEMU; then the
// command's -L and its environment variables, and every way the interpreter
// or the sysroot can be wrong: one line, a shell's status, no stack trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessVM, ElfError, hostSysroot, ELF_ET_DYN_BASE, UnknownSymbolError } from '../src/index.js';
import { Perm } from '../src/cpu/cpu.js';
import { sandboxFs } from '../src/node/host-fs.js';
import {
  ROOT, readManifest, qemuPath, runQemu, readGolden, runRingvisor, comparable, sysrootPresent, type GuestCase, type RunResult,
} from './support/guests.js';

const SYSROOT = '/usr/riscv64-linux-gnu';
const INTERP = '/lib/ld-linux-riscv64-lp64d.so.1';
const haveSysroot = existsSync(join(SYSROOT, INTERP));
const cases = readManifest().filter((c) => c.sysroot !== undefined);
const qemu = qemuPath();
const TIERS = [{ name: '--jit 1', threshold: 1 }, { name: '--jit off', threshold: 0 }];

const runs = new Map<string, Promise<RunResult>>();
function ringvisor(c: GuestCase, threshold: number): Promise<RunResult> {
  const key = `${c.name}@${threshold}`;
  let run = runs.get(key);
  if (!run) runs.set(key, run = runRingvisor(c, threshold));
  return run;
}

it('the dynamic manifest has cases, each with a committed dynamically linked ELF', () => {
  expect(cases.length).toBeGreaterThan(30);
  for (const c of cases) {
    const elf = readFileSync(join(ROOT, c.elf));
    // PT_INTERP present: the loader is what this exercises.
    expect(elf.includes(Buffer.from(INTERP + '\0')), c.elf).toBe(true);
  }
});

describe.skipIf(!haveSysroot)('dynamically linked guests against the golden files (qemu-riscv64 -L)', () => {
  for (const tier of TIERS) {
    for (const c of cases) {
      it.skipIf(!sysrootPresent(c))(`${c.name} (${tier.name})`, async () => {
        expect(comparable(await ringvisor(c, tier.threshold))).toEqual(comparable(readGolden(c.name)));
      });
    }
  }
});

describe.skipIf(!haveSysroot || !qemu)('dynamically linked guests against live qemu-riscv64 -L', () => {
  for (const c of cases) {
    it(c.name, async () => {
      expect(comparable(await ringvisor(c, 1))).toEqual(comparable(runQemu(c, qemu)));
    });
  }
});

describe.skipIf(!haveSysroot)('the library: ProcessVMOptions.sysroot', () => {
  const elf = new Uint8Array(readFileSync(join(ROOT, 'guests/bin/libc-printf-dyn.elf')));

  it('starts at the interpreter, with AT_BASE its ELF header, AT_ENTRY the PIE program where Linux puts it', () => {
    const vm = ProcessVM.create(elf, { sysroot: hostSysroot(SYSROOT), memoryBytes: 256 * 1024 * 1024 });
    try {
      // The initial stack: argc, argv..., 0, envp..., 0, then the auxv pairs.
      let at = vm.cpu.x(2);
      const argc = vm.cpu.read64(at);
      at += (argc + 2n) * 8n;
      while (vm.cpu.read64(at) !== 0n) at += 8n;
      at += 8n;
      const auxv = new Map<bigint, bigint>();
      for (; vm.cpu.read64(at) !== 0n; at += 16n) auxv.set(vm.cpu.read64(at), vm.cpu.read64(at + 8n));
      const AT_PHDR = 3n, AT_BASE = 7n, AT_ENTRY = 9n;
      const base = auxv.get(AT_BASE)!;
      expect(Buffer.from(vm.cpu.readBytes(base, 4)).toString('latin1')).toBe('\x7fELF');
      expect(auxv.get(AT_ENTRY)).toBe(vm.image.entry);
      expect(vm.image.loadBias).toBe(ELF_ET_DYN_BASE & ~0xfffn);
      expect(auxv.get(AT_PHDR)).toBe(vm.image.loadBias + vm.image.phoff);
      // The interpreter sits between the program's break and the mappings' top.
      expect(vm.cpu.pc > base && base >= vm.memory.brkStart && vm.cpu.pc < vm.memory.mmapTop).toBe(true);
      expect(vm.memory.space.permissions(vm.cpu.pc)! & Perm.X).toBe(Perm.X);
      expect(vm.image.interpreter).toBe(INTERP);
    } finally {
      vm.dispose();
    }
  });

  it('one sysroot tree serves VM after VM (each VM holds a view of its own)', async () => {
    const sysroot = hostSysroot(SYSROOT);
    for (let i = 0; i < 3; i++) {
      const out: Buffer[] = [];
      const vm = ProcessVM.create(elf, { sysroot, stdout: (d) => out.push(Buffer.from(d)), stderr: () => {} });
      expect(await vm.run()).toBe(0);
      vm.dispose();
      expect(Buffer.concat(out).toString('latin1')).toBe(readGolden('libc-printf-dyn').stdout.toString('latin1'));
    }
  });

  it('without a sysroot, a dynamically linked program is refused by an ElfError that names the option (127)', () => {
    let err: unknown;
    try {
      ProcessVM.create(elf, { programName: 'prog' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ElfError);
    expect((err as ElfError).message).toMatch(/^prog: interpreter \/lib\/ld-linux-riscv64-lp64d\.so\.1: not in the guest's files: .*-L SYSROOT/);
    expect((err as ElfError).exitStatus).toBe(127);
  });

  it('runs the dynamic linker itself as the program (ld.so PROGRAM ARGS), which then maps the program with mmap', async () => {
    const c = cases.find((k) => k.name === 'libc-misc-dyn')!;
    const out: Buffer[] = [];
    const ldso = new Uint8Array(readFileSync(join(SYSROOT, INTERP)));
    const vm = ProcessVM.create(ldso, {
      argv: [INTERP, c.elf, ...(c.args ?? [])], env: c.env, sysroot: hostSysroot(SYSROOT), fs: sandboxFs({ cwd: ROOT }),
      stdout: (d) => out.push(Buffer.from(d)), stderr: (d) => out.push(Buffer.from(d)),
    });
    expect(await vm.run()).toBe(0);
    vm.dispose();
    const golden = readGolden(c.name);
    expect(Buffer.concat(out).toString('latin1')).toBe(golden.stdout.toString('latin1') + golden.stderr.toString('latin1'));
  });

  it("takes a sysroot laid out like a riscv64 system's root (merged /usr, absolute links), whose links resolve inside it (QEMU's -L follows them on the host and fails)", async () => {
    const root = mkdtempSync(join(tmpdir(), 'ringvisor-debroot-'));
    try {
      const multiarch = join(root, 'usr/lib/riscv64-linux-gnu');
      mkdirSync(multiarch, { recursive: true });
      for (const f of ['ld-linux-riscv64-lp64d.so.1', 'libc.so.6']) copyFileSync(join(SYSROOT, 'lib', f), join(multiarch, f));
      symlinkSync('usr/lib', join(root, 'lib'));
      symlinkSync('/usr/lib/riscv64-linux-gnu/ld-linux-riscv64-lp64d.so.1', join(root, 'usr/lib/ld-linux-riscv64-lp64d.so.1'));
      const out: Buffer[] = [];
      const vm = ProcessVM.create(elf, { sysroot: hostSysroot(root), stdout: (d) => out.push(Buffer.from(d)), stderr: () => {} });
      expect(await vm.run()).toBe(0);
      vm.dispose();
      expect(Buffer.concat(out).toString('latin1')).toBe(readGolden('libc-printf-dyn').stdout.toString('latin1'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an interpreter that is refused is refused before a CPU is taken from the spares', () => {
    const hello = new Uint8Array(readFileSync(join(ROOT, 'guests/bin/hello.elf')));
    const first = ProcessVM.create(hello, { memoryBytes: 16 << 20 });
    const cpu = first.cpu;
    first.dispose();
    // (Memory no longer bounds where it goes: the address space is Sv39's
    // 256 GiB whatever memoryBytes is. A script in its place is refused.)
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'ringvisor-dyn-spare-')));
    try {
      mkdirSync(join(root, 'lib'));
      writeFileSync(join(root, 'lib/ld-linux-riscv64-lp64d.so.1'), '#!/bin/sh\n# a script where the dynamic linker should be, longer than an ELF header\n');
      expect(() => ProcessVM.create(elf, { sysroot: hostSysroot(root), programName: 'prog', memoryBytes: 16 << 20 })).toThrow(/^prog: /);
      const next = ProcessVM.create(hello, { memoryBytes: 16 << 20 });
      expect(next.cpu === cpu, 'the next VM got the spare CPU').toBe(true);
      next.dispose();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("calls a dynamically linked program's functions by symbol after run (libc through the PLT, malloc, a fault)", async () => {
    const out: Buffer[] = [];
    const vm = ProcessVM.create(new Uint8Array(readFileSync(join(ROOT, 'guests/bin/vmcall-dyn.elf'))), {
      sysroot: hostSysroot(SYSROOT), stdout: (d) => out.push(Buffer.from(d)), diagnostics: () => {},
    });
    try {
      expect(await vm.run()).toBe(0);
      expect(await vm.call('add', 2, 40)).toBe(42n);
      expect(await vm.call('greet', 'world')).toBe(13n);
      const p = await vm.call('make_greeting', 'dyn');
      expect(Buffer.from(vm.cpu.readBytes(p, 8)).toString('latin1')).toBe('hi, dyn!');
      // Symbols are the program's own (.symtab): libc's free is not among them.
      await expect(vm.call('free', p)).rejects.toThrow(UnknownSymbolError);
      await expect(vm.call('fault')).rejects.toThrow(/SIGSEGV|signal 11/);
      expect(Buffer.concat(out).toString('latin1')).toBe('vmcall guest: main ran\nhello, world\n');
    } finally {
      vm.dispose();
    }
  });

  it("finds the interpreter in the guest's own files when they hold it (a mount at /lib), without a sysroot", async () => {
    const out: Buffer[] = [];
    const fs = sandboxFs({ cwd: ROOT, mounts: [{ host: join(SYSROOT, 'lib'), guest: '/lib', readOnly: true }] });
    const vm = ProcessVM.create(elf, { fs, stdout: (d) => out.push(Buffer.from(d)), stderr: () => {} });
    expect(await vm.run()).toBe(0);
    vm.dispose();
    expect(Buffer.concat(out).toString('latin1')).toBe(readGolden('libc-printf-dyn').stdout.toString('latin1'));
  });
});

// ---- the command ----

function ringvisorRun(args: string[], env: Record<string, string | undefined> = {}): { stdout: string; stderr: string; status: number | null } {
  const clean = { ...process.env };
  delete clean.RINGVISOR_LD_PREFIX;
  delete clean.QEMU_LD_PREFIX;
  const r = spawnSync(process.execPath, ['dist/bin/ringvisor.js', 'run', ...args], { cwd: ROOT, timeout: 60_000, env: { ...clean, ...env } });
  return { stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1'), status: r.status };
}

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): void {
  expect(stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe.skipIf(!haveSysroot)('ringvisor run -L', () => {
  const golden = (): RunResult => readGolden('libc-printf-dyn');
  let bad: string;

  beforeAll(() => {
    bad = realpathSync(mkdtempSync(join(tmpdir(), 'ringvisor-dyn-')));
    for (const d of ['text', 'x86', 'dir', 'loop', 'static', 'empty']) mkdirSync(join(bad, d, 'lib'), { recursive: true });
    writeFileSync(join(bad, 'text/lib/ld-linux-riscv64-lp64d.so.1'), '#!/bin/sh\n# a script where the dynamic linker should be, longer than an ELF header\n');
    copyFileSync(process.execPath, join(bad, 'x86/lib/ld-linux-riscv64-lp64d.so.1'));
    mkdirSync(join(bad, 'dir/lib/ld-linux-riscv64-lp64d.so.1'));
    writeFileSync(join(bad, 'file'), 'a file, not a directory\n');
  });
  afterAll(() => rmSync(bad, { recursive: true, force: true }));

  it('runs a dynamically linked program as qemu-riscv64 -L does (-L and --sysroot)', () => {
    for (const opt of ['-L', '--sysroot']) {
      const r = ringvisorRun([opt, SYSROOT, 'guests/bin/libc-printf-dyn.elf']);
      expect(r.stdout).toBe(golden().stdout.toString('latin1'));
      expect(r.stderr).toBe(golden().stderr.toString('latin1'));
      expect(r.status).toBe(golden().status);
    }
  });

  it('takes the sysroot from RINGVISOR_LD_PREFIX, else QEMU_LD_PREFIX; -L wins over both', () => {
    const want = golden().stdout.toString('latin1');
    expect(ringvisorRun(['guests/bin/libc-printf-dyn.elf'], { RINGVISOR_LD_PREFIX: SYSROOT }).stdout).toBe(want);
    expect(ringvisorRun(['guests/bin/libc-printf-dyn.elf'], { QEMU_LD_PREFIX: SYSROOT }).stdout).toBe(want);
    expect(ringvisorRun(['guests/bin/libc-printf-dyn.elf'], { RINGVISOR_LD_PREFIX: SYSROOT, QEMU_LD_PREFIX: join(bad, 'text') }).stdout).toBe(want);
    expect(ringvisorRun(['-L', SYSROOT, 'guests/bin/libc-printf-dyn.elf'], { RINGVISOR_LD_PREFIX: join(bad, 'text') }).stdout).toBe(want);
  });

  it('without a sysroot: one line naming -L, status 127', () => {
    const r = ringvisorRun(['guests/bin/libc-printf-dyn.elf']);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^ringvisor: guests\/bin\/libc-printf-dyn\.elf: interpreter \/lib\/ld-linux-riscv64-lp64d\.so\.1: not in the guest's files: .*-L SYSROOT.*RINGVISOR_LD_PREFIX/);
    expect(r.status).toBe(127);
    expect(r.stdout).toBe('');
  });

  it('a sysroot without the interpreter: one line, 127', () => {
    const r = ringvisorRun(['-L', join(bad, 'empty'), 'guests/bin/libc-printf-dyn.elf']);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/interpreter \/lib\/ld-linux-riscv64-lp64d\.so\.1: neither in the sysroot \(host:.*empty\) nor in the guest's files/);
    expect(r.status).toBe(127);
  });

  it('an interpreter that is not an ELF, is for another machine, or is a directory: one line, 126', () => {
    const expectations: Array<[string, RegExp]> = [
      ['text', /interpreter \/lib\/ld-linux-riscv64-lp64d\.so\.1: not an ELF file \(bad magic\)$/],
      ['x86', /interpreter \/lib\/ld-linux-riscv64-lp64d\.so\.1: not a RISC-V ELF \(e_machine 62, expected 243\)$/],
      ['dir', /interpreter \/lib\/ld-linux-riscv64-lp64d\.so\.1: not a regular file$/],
    ];
    for (const [dir, want] of expectations) {
      const r = ringvisorRun(['-L', join(bad, dir), 'guests/bin/libc-printf-dyn.elf']);
      oneLine(r.stderr);
      expect(r.stderr.trimEnd(), dir).toMatch(want);
      expect(r.status, dir).toBe(126);
    }
  });

  it('a sysroot that is not a directory, or not there: one line, status 2, naming where it came from', () => {
    let r = ringvisorRun(['-L', join(bad, 'file'), 'guests/bin/libc-printf-dyn.elf']);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^ringvisor: sysroot .*file: not a directory$/m);
    expect(r.status).toBe(2);
    r = ringvisorRun(['-L', join(bad, 'nowhere'), 'guests/bin/libc-printf-dyn.elf']);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^ringvisor: sysroot .*nowhere: no such directory$/m);
    expect(r.status).toBe(2);
    r = ringvisorRun(['guests/bin/libc-printf-dyn.elf'], { RINGVISOR_LD_PREFIX: join(bad, 'file') });
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/not a directory \(from RINGVISOR_LD_PREFIX\)$/m);
    expect(r.status).toBe(2);
  });

  it('a static program runs the same with a sysroot', () => {
    const r = ringvisorRun(['-L', SYSROOT, 'guests/bin/hello.elf', 'x', 'y']);
    expect(r.stdout).toBe(readGolden('hello').stdout.toString('latin1'));
    expect(r.status).toBe(readGolden('hello').status);
  });
});
