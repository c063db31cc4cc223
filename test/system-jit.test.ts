// Translated system VMs (docs/ARCHITECTURE.md, "Translated system VMs"):
// S- and U-mode code under Sv39 translated into WebAssembly must be
// indistinguishable from the interpreter: the same console, the same
// instruction count, the same traps. Each guest here runs with translation
// off and on (at thresholds low enough that nearly everything hot is
// translated) and the two runs are compared.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SystemVM, type SystemVMOptions } from '../src/system/system-vm.js';
import { loadCpuModule } from '../src/node/load.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const baremetal = `${root}guests/baremetal/`;
const cpuModule = loadCpuModule('release');

interface Run { status: number; out: string; instret: bigint; vm: SystemVM }

/** Runs `vm` to its end, typing `lines` at successive `prompt`s (and
 *  calling `atPrompt` there first). */
function runToEnd(vm: SystemVM, read: () => string, lines: string[] = [], prompt?: string, atPrompt = () => {}): number {
  let status: number | undefined, seen = 0;
  while ((status = vm.step()) === undefined) {
    if (prompt === undefined) continue;
    const prompts = read().split(prompt).length - 1;
    if (prompts > seen) {
      seen = prompts;
      atPrompt();
      const l = lines.shift();
      if (l !== undefined) vm.input(l + '\n');
    }
  }
  return status;
}

function bareMetal(name: string, options: Partial<SystemVMOptions> = {}): Run {
  let out = '';
  const vm = SystemVM.create({
    kernel: readFileSync(`${baremetal}bin/${name}.elf`), kernelName: `${name}.elf`, memoryBytes: 128 * 1024 * 1024,
    cpuModule, maxInstructions: 200_000_000n, harts: name === 'entry' ? 2 : 1,
    console: (b) => { out += Buffer.from(b).toString('latin1'); },
    diagnostics: (l) => { out += `[ring -1] ${l}\n`; },
    ...options,
  });
  const status = runToEnd(vm, () => out);
  return { status, out, instret: vm.cpu.instret, vm };
}

describe('translation in a system VM: bare-metal guests', () => {
  it('jit.elf: code written, rewritten, remapped (sfence.vma, satp), write-protected without sfence.vma, faulting, F/D under each sstatus.FS, and a timer interrupt in a hot loop runs as interpreted, translated', () => {
    const off = bareMetal('jit');
    const on = bareMetal('jit', { jitThreshold: 16 });
    expect(off.status).toBe(0);
    // What the interpreter computes is what the program must compute.
    expect(off.out).toContain('kernel code: 1500, rewritten: 1800, again: 2100\n');
    expect(off.out).toContain('remapped code: 300, after sfence.vma: 600, other satp: 900, back: 600\n');
    expect(off.out).toContain('self: 3300, store with the old entry: traps 0, after sfence.vma: traps 1 scause 0xf\n');
    expect(off.out).toContain('fp: 117000, FS off: traps 1 scause 0x2, FS initial: 390, then FS 0x3\n');
    expect(off.out).toMatch(/timer: fired after [1-9]\d* spins, irqs 1\n/);
    expect(off.out).toContain('user code: 1200012300\n');
    expect(off.out).toContain('past the page: 4082, traps 4, scause 0xd stval 0x1000003018 sepc in sum_words yes\n');
    expect(on.status).toBe(0);
    expect(on.out).toBe(off.out);
    expect(on.instret).toBe(off.instret);
    // Translations were made, and some were dropped (code rewritten).
    const stats = on.vm.cpu.jitStats!;
    expect(stats.translated).toBeGreaterThan(5);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(off.vm.cpu.jitStats).toBeUndefined();
  });

  it('ring -1 writing into translated code (the loader, a device\'s DMA through a view) drops its translations', () => {
    let out = '';
    const vm = SystemVM.create({
      kernel: readFileSync(`${baremetal}bin/compute.elf`), memoryBytes: 128 * 1024 * 1024, cpuModule, jitThreshold: 16,
      console: (b) => { out += Buffer.from(b).toString('latin1'); },
    });
    // Until the S-mode loop (identity-mapped: its pc is its physical address) runs translated.
    const kernelPcs = () => vm.cpu.translatedEntries().filter((pc) => pc >= 0x8020_0000n && pc < 0x8040_0000n);
    while (kernelPcs().length === 0) expect(vm.step()).toBeUndefined();
    for (const write of [(pc: bigint) => vm.cpu.guestBytes(pc, 4), (pc: bigint) => vm.cpu.writeBytes(pc, vm.cpu.readBytes(pc, 4))]) {
      const pc = kernelPcs()[0], dropped = vm.cpu.jitStats!.dropped;
      write(pc);
      expect(vm.cpu.jitStats!.dropped).toBeGreaterThan(dropped);
      expect(vm.cpu.translatedEntries()).not.toContain(pc);
      while (kernelPcs().length === 0) expect(vm.step()).toBeUndefined();
    }
    let status: number | undefined;
    while ((status = vm.step()) === undefined);
    expect(status).toBe(0);
    expect(out).toContain('S-mode: 0xf37ee11221293dc0\nU-mode: 0xf37ee11221293dc0\n');
  });

  // The programs of test/system-baremetal.test.ts (traps, interrupts and
  // timers, paging, FP state, the SBI, hart suspend, two harts): their
  // golden consoles with translation at almost every jump target.
  for (const name of ['traps', 'interrupts', 'paging', 'fp-state', 'sbi', 'suspend', 'entry', 'poweroff']) {
    it(`${name}.elf: the golden console and the interpreter's instruction count with translation on`, () => {
      const off = bareMetal(name);
      const on = bareMetal(name, { jitThreshold: 2 });
      const golden = readFileSync(`${baremetal}golden/${name}.txt`, 'latin1');
      expect(on.status).toBe(0);
      expect(on.out.slice(on.out.indexOf(`== ${name} ==\n`))).toBe(golden);
      expect(on.out).toBe(off.out);
      expect(on.instret).toBe(off.instret);
    });
  }
});

/** The cached guest Linux, or why it is not there (test/system-boot.test.ts). */
function guestLinux(): { image: string; initrd: string } | string {
  const dir = spawnSync('bash', [`${root}guests/linux/build.sh`, '--print-path'], { encoding: 'utf8' }).stdout.trim();
  const image = `${dir}/Image`, initrd = `${dir}/initramfs.cpio.gz`;
  if (!dir || !existsSync(image) || !existsSync(initrd)) return `the guest Linux is not built: bash guests/linux/build.sh`;
  return { image, initrd };
}
const linux = guestLinux();

describe.skipIf(typeof linux === 'string')('translation in a system VM: our guest Linux', () => {
  const { image, initrd } = linux as { image: string; initrd: string };
  const session = readFileSync(`${root}guests/linux/session.txt`, 'utf8').split('\n').filter((l) => l !== '');

  /** Also: the pcs translations were called at, seen at each prompt. */
  function boot(options: Partial<SystemVMOptions>): Run & { entries: Set<bigint> } {
    let out = '';
    const entries = new Set<bigint>();
    const vm = SystemVM.create({
      kernel: readFileSync(image), initrd: readFileSync(initrd), append: 'console=ttyS0 quiet panic=-1', cpuModule,
      console: (b) => { out += Buffer.from(b).toString('latin1'); },
      diagnostics: (l) => { out += `[ring -1] ${l}\n`; },
      maxInstructions: 2_000_000_000n, random: (b) => b.fill(7), ...options,
    });
    const status = runToEnd(vm, () => out, [...session], 'ringvisor-init# ', () => { for (const pc of vm.cpu.translatedEntries()) entries.add(pc); });
    return { status, out, instret: vm.cpu.instret, vm, entries };
  }

  it('boots and runs the console session with the same console and instruction count, translated or not', () => {
    const off = boot({});
    const on = boot({ jitThreshold: 64 });
    expect(off.status).toBe(0);
    expect(off.out).toMatch(/hello from the guest\r?\n/);
    expect(on.status).toBe(0);
    expect(on.out).toBe(off.out);
    expect(on.instret).toBe(off.instret);
    // Both the kernel's code (the top half of the address space) and its
    // user programs' (the bottom half) ran translated.
    const entries = [...on.entries];
    expect(entries.filter((pc) => pc >= 1n << 63n).length).toBeGreaterThan(50);
    expect(entries.filter((pc) => pc < 1n << 38n).length).toBeGreaterThan(3);
    expect(on.vm.cpu.jitStats!.translated).toBeGreaterThan(50);
  });

  it('a checkpoint taken translated restores and runs on translated, to the console and instruction count of one taken interpreted', () => {
    // Both machines at their first prompt, at the same instruction.
    const atPrompt = (jitThreshold: number) => {
      let out = '';
      const vm = SystemVM.create({
        kernel: readFileSync(image), initrd: readFileSync(initrd), append: 'console=ttyS0 quiet panic=-1', cpuModule,
        console: (b) => { out += Buffer.from(b).toString('latin1'); }, random: (b) => b.fill(7), jitThreshold,
      });
      while (!out.includes('ringvisor-init# ')) expect(vm.step()).toBeUndefined();
      return vm;
    };
    const on = atPrompt(64), off = atPrompt(0);
    expect(on.cpu.instret).toBe(off.cpu.instret);
    expect(on.cpu.jitStats!.translated).toBeGreaterThan(50);
    const runOn = (file: Uint8Array, jitThreshold: number) => {
      let out = '';
      const vm = SystemVM.restore(file, { cpuModule, console: (b) => { out += Buffer.from(b).toString('latin1'); }, random: (b) => b.fill(7), jitThreshold });
      vm.input('uname -a\n');
      const status = runToEnd(vm, () => out, ['ls /', 'poweroff'], 'ringvisor-init# ');
      return { status, out, instret: vm.cpu.instret };
    };
    const a = runOn(on.checkpoint(), 64), b = runOn(off.checkpoint(), 0);
    expect(b.status).toBe(0);
    expect(b.out).toMatch(/Linux/);
    expect(a.status).toBe(0);
    expect(a.out).toBe(b.out);
    expect(a.instret).toBe(b.instret);
  });

  it('with two harts taking turns on one CPU (each switch empties the TLB), the same console and instruction count', () => {
    const off = boot({ harts: 2 });
    const on = boot({ harts: 2, jitThreshold: 64 });
    expect(off.status).toBe(0);
    expect(on.status).toBe(0);
    expect(on.out).toBe(off.out);
    expect(on.instret).toBe(off.instret);
    expect(on.vm.cpu.jitStats!.translated).toBeGreaterThan(50);
  });
});

describe('ringvisor boot --jit', () => {
  const main = `${root}dist/bin/ringvisor.js`;
  const cli = (args: string[]) => spawnSync(process.execPath, [main, 'boot', '--clock', 'virtual', ...args], { encoding: 'latin1', input: '', timeout: 60_000 });

  it('translates with --jit N (in a worker or not), prints the same console and instruction count as --jit off, and says so in --stats', () => {
    const kernel = ['--kernel', `${baremetal}bin/jit.elf`, '--mem', '128M', '--stats'];
    const off = cli([...kernel, '--jit', 'off']);
    const here = cli([...kernel, '--jit', '16', '--jit-worker', 'off']);
    const worker = cli([...kernel, '--jit', '16', '--jit-worker', '0']);
    expect(off.status).toBe(0);
    expect(off.stdout).toContain('user code: 1200012300');
    expect(off.stderr).toContain('ringvisor: translation: off');
    const instructions = (r: { stderr: string }) => /ringvisor: instructions: (\d+)/.exec(r.stderr)?.[1];
    for (const on of [here, worker]) {
      expect(on.status).toBe(0);
      expect(on.stdout).toBe(off.stdout);
      expect(instructions(on)).toBe(instructions(off));
    }
    // (The worker's first module may come back after so short a guest has ended.)
    expect(here.stderr).toMatch(/ringvisor: translation: [1-9]\d* regions/);
    expect(worker.stderr).toMatch(/ringvisor: translation: \d+ regions/);
  });

  it('refuses a bad --jit or --jit-worker value with status 2', () => {
    for (const bad of [['--jit', '0'], ['--jit', 'fast'], ['--jit-worker', 'maybe'], ['--jit-worker', '-5']]) {
      const r = cli(['--kernel', `${baremetal}bin/jit.elf`, ...bad]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`bad ${bad[0]}`);
    }
  });
});
