// Fuzz target: the ELF loader (src/linux/elf.ts) and program loading in
// ProcessVM.create (segments into guest memory, the initial stack), then a
// short run of whatever loaded. Inputs are mutated real programs from
// guests/bin and synthetic ELFs whose headers are bent on purpose: program
// header counts, offsets and sizes that overflow, overlapping segments,
// huge p_memsz, bad alignment, PT_INTERP, zero-length and truncated files.
// A second target bends the interpreter of a dynamically linked program
// instead (src/linux/loader.ts): the same mutations applied to the dynamic
// linker, served from an in-memory sysroot. A third bends the program a
// guest runs with execve (an ELF or a `#!` script), inside the VM.
//
// The contract: ProcessVM.create either throws an ElfError (typed, with the
// reason) or makes a VM, which then runs (bounded by instructions) and ends
// with a status; nothing else may be thrown, nothing may take seconds, and
// no allocation may follow the sizes in the file (guest memory is fixed by
// the host's memoryBytes).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ProcessVM } from '../../src/linux/process-vm.js';
import { ElfError, PT_INTERP, PT_LOAD, PT_PHDR } from '../../src/linux/elf.js';
import { loadCpuModule } from '../../src/node/load.js';
import { MemFs } from '../../src/linux/fs/memfs.js';
import { GuestFs } from '../../src/linux/fs/guest-fs.js';
import { existsSync } from 'node:fs';
import * as A from '../support/rvasm.js';
import { writeElf } from '../support/elf-writer.js';
import { fuzz, budget, fuzzTimeout, describeFailures, type FuzzTarget, type NamedInput, type Rng } from './harness.js';

const cpuModule = loadCpuModule('release');
const bin = (name: string) => new URL(`../../guests/bin/${name}`, import.meta.url);
const corpusDir = new URL('./corpus/elf/', import.meta.url).pathname;
/** Small real programs: freestanding ones and a static PIE. */
const REAL = ['exit.elf', 'hello.elf', 'args.elf', 'brk.elf', 'static-pie.elf', 'faults.elf', 'mmap.elf', 'rv64m.elf'];

const EHDR = 64, PHDR = 56;
const EDGE_64: bigint[] = [
  0n, 1n, 0xfffn, 0x1000n, 0x10000n, 0xffff_ffffn, 0x1_0000_0000n, 0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n,
  0xffff_ffff_ffff_ffffn, 0xffff_ffff_ffff_f000n, 0x20_0000_0000_0000n, 0x20_0000_0000_0001n, 0x40_0000_0000n,
  (1n << 38n) / 3n * 2n, 0x3f_ffff_f000n,
];

/** Bytes of a tiny program: exit(status 7). */
const EXIT_CODE = A.assemble([A.addi(10, 0, 7), A.addi(17, 0, 93), A.ecall()]);

function view(b: Uint8Array): DataView { return new DataView(b.buffer, b.byteOffset, b.byteLength); }

/** Where the program headers are, when the header is readable. */
function phdrs(b: Uint8Array): { off: number; n: number } | undefined {
  if (b.length < EHDR) return undefined;
  const v = view(b);
  const off = v.getBigUint64(32, true), n = v.getUint16(56, true);
  if (off > BigInt(b.length)) return undefined;
  return { off: Number(off), n: Math.min(n, Math.floor((b.length - Number(off)) / PHDR)) };
}

/** One structured mutation of an ELF's header or program headers. */
function mutateElf(input: Uint8Array, rng: Rng): Uint8Array {
  const b = input.slice();
  if (b.length < EHDR) return b;
  const v = view(b);
  const ph = phdrs(b);
  const edge = (): bigint => (rng.chance(0.7) ? rng.pick(EDGE_64) : rng.u64());
  switch (rng.int(12)) {
    case 0: v.setUint16(56, rng.pick([0, 1, 2, 0xffff, rng.int(64)]), true); break;              // e_phnum
    case 1: v.setBigUint64(32, rng.pick([0n, 64n, BigInt(b.length), BigInt(b.length - 56), edge()]), true); break; // e_phoff
    case 2: v.setUint16(54, rng.pick([0, 55, 57, 64, 0xffff]), true); break;                    // e_phentsize
    case 3: v.setBigUint64(24, edge(), true); break;                                            // e_entry
    case 4: v.setUint16(16, rng.pick([2, 3, 0, 4, 0xffff]), true); break;                        // e_type
    case 5: {                                                                                    // section headers (symbols)
      v.setBigUint64(40, rng.chance(0.5) ? edge() : BigInt(rng.int(b.length + 1)), true);
      v.setUint16(58, rng.pick([64, 0, 63]), true);
      v.setUint16(60, rng.pick([0, 1, 2, 0xffff, rng.int(16)]), true);
      break;
    }
    case 6: return b.subarray(0, rng.int(b.length + 1)).slice();                                 // truncated
    default: {                                                                                   // a program header field
      if (ph === undefined || ph.n === 0) break;
      const at = ph.off + PHDR * rng.int(ph.n);
      switch (rng.int(8)) {
        case 0: v.setUint32(at, rng.pick([PT_LOAD, PT_INTERP, PT_PHDR, 0, 7, 0x6474e551, 0xffff_ffff]), true); break;
        case 1: v.setUint32(at + 4, rng.int(8), true); break;                                    // p_flags
        case 2: v.setBigUint64(at + 8, edge(), true); break;                                     // p_offset
        case 3: v.setBigUint64(at + 16, edge() & ~(rng.chance(0.5) ? 0xfffn : 0n), true); break; // p_vaddr
        case 4: v.setBigUint64(at + 32, edge(), true); break;                                    // p_filesz
        case 5: v.setBigUint64(at + 40, edge(), true); break;                                    // p_memsz
        case 6: v.setBigUint64(at + 48, rng.pick([0n, 1n, 3n, 0x1000n, 0x20_0000n, edge()]), true); break; // p_align
        default: {                                                                               // a copy of another (overlap)
          const from = ph.off + PHDR * rng.int(ph.n);
          b.copyWithin(at, from, from + PHDR);
          v.setBigUint64(at + 16, v.getBigUint64(at + 16, true) + BigInt(rng.range(-3, 3)) * 0x800n, true);
        }
      }
    }
  }
  return b;
}

/** A synthetic ELF: writeElf's one segment, then a few more program headers
 *  with chosen fields, all pointing into a small file. */
function generateElf(rng: Rng): Uint8Array {
  const extra = rng.int(4);
  const base = writeElf(EXIT_CODE, rng.chance(0.3) ? rng.int(1 << 20) : 0, rng.pick([7, 5, 4, 6, 1]));
  // Room for extra headers after the code: move the table to the end.
  const out = new Uint8Array(base.length + PHDR * (1 + extra));
  out.set(base);
  const v = view(out);
  const table = base.length;
  out.copyWithin(table, EHDR, EHDR + PHDR);
  v.setBigUint64(32, BigInt(table), true);
  v.setUint16(56, 1 + extra, true);
  for (let i = 1; i <= extra; i++) {
    const at = table + PHDR * i;
    v.setUint32(at, rng.pick([PT_LOAD, PT_LOAD, PT_INTERP, PT_PHDR]), true);
    v.setUint32(at + 4, rng.int(8), true);
    v.setBigUint64(at + 8, BigInt(rng.int(out.length)), true);
    v.setBigUint64(at + 16, rng.chance(0.5) ? 0x10000n + BigInt(rng.int(16)) * 0x1000n : rng.pick(EDGE_64), true);
    const file = BigInt(rng.int(256));
    v.setBigUint64(at + 32, file, true);
    v.setBigUint64(at + 40, rng.chance(0.7) ? file + BigInt(rng.int(1 << 16)) : rng.pick(EDGE_64), true);
    v.setBigUint64(at + 48, 0x1000n, true);
  }
  return out;
}

/** How inputs ended, for the summary line: how deep the fuzzing reaches. */
const outcomes = new Map<string, number>();
const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);

/** A verdict on one input. */
function runElf(input: Uint8Array): string | undefined {
  let vm: ProcessVM;
  try {
    vm = ProcessVM.create(input, {
      cpuModule, memoryBytes: 32 << 20, maxInstructions: 20_000n, clock: 'virtual', jitThreshold: 16, jitWarmup: 0n,
      programName: 'fuzz', random: (b) => b.fill(7),
      stdout: () => {}, stderr: () => {}, diagnostics: () => {},
    });
  } catch (e) {
    if (e instanceof ElfError) { count(`refused: ${e.reason.replace(/\b(0x[0-9a-f]+|\d+)\b/g, 'N').slice(0, 40)}`); return undefined; }
    return `ProcessVM.create threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
  }
  try {
    // The layout it made stays inside the 64-bit address space: guest RAM
    // (which starts at the lowest segment) must not wrap past 2^64 into
    // address 0, and neither may a segment.
    const top = 1n << 64n;
    if (vm.memory.stackTop > top) return `guest memory wraps past 2^64: its stack top is 0x${vm.memory.stackTop.toString(16)}`;
    for (const [i, seg] of vm.image.segments.entries()) {
      if (seg.vaddr < 0n || seg.vaddr + seg.memSize > top) return `segment ${i} at 0x${seg.vaddr.toString(16)} (+0x${seg.memSize.toString(16)}) leaves the address space`;
    }
    if (vm.image.entry < 0n || vm.image.entry >= top) return `entry 0x${vm.image.entry.toString(16)} is not a 64-bit address`;
    void vm.image.symbols; // the lazy symbol table is read from the file too
    const status = vm.runSync();
    if (!Number.isInteger(status) || status < 0 || status > 255) return `exit status ${status}`;
    count(`ran: status ${status}`);
    return undefined;
  } catch (e) {
    return `a loaded program's run threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
  } finally {
    vm.dispose();
  }
}

export const elfTarget: FuzzTarget = {
  name: 'elf',
  seeds(rng: Rng): NamedInput[] {
    const real = REAL.map((n) => ({ name: n, bytes: new Uint8Array(readFileSync(bin(n))) }));
    return [...real, { name: 'tiny', bytes: writeElf(EXIT_CODE) }, { name: 'generated', bytes: generateElf(rng) }];
  },
  generate: generateElf,
  mutate: mutateElf,
  run: runElf,
};

describe('ELF inputs fuzzing found (test/fuzz/corpus/elf/found-*)', () => {
  const refused = (file: string): string => {
    try {
      ProcessVM.create(new Uint8Array(readFileSync(new URL(file, `file://${corpusDir}`))), { cpuModule, memoryBytes: 32 << 20, stdout: () => {}, stderr: () => {} }).dispose();
      return 'loaded';
    } catch (e) {
      return e instanceof ElfError ? `ElfError: ${e.reason}` : `threw ${String(e)}`;
    }
  };
  it('a segment whose guest memory would wrap past 2^64 into address 0 is refused', () => {
    // 32 MiB of guest RAM from 0xffff_ffff_ffff_f000: the stack's top was
    // 2^64 + 0x1fff000, in the wrapped-around low addresses.
    expect(refused('found-ram-wraps-past-2e64.bin')).toMatch(/^ElfError: .*64-bit address space/);
    expect(refused('segment-wraps-2e64.bin')).toMatch(/^ElfError: .*64-bit address space/);
    // A segment 16 MiB below the top of the 64-bit space: far above the user range.
    expect(refused('ram-past-2e64.bin')).toMatch(/^ElfError: .*lies outside the user address space/);
  });
  it('an entry point past 2^64 after the load bias wraps, as Linux adds it', () => {
    const vm = ProcessVM.create(new Uint8Array(readFileSync(new URL('found-entry-past-2e64.bin', `file://${corpusDir}`))), { cpuModule, memoryBytes: 32 << 20, stdout: () => {}, stderr: () => {}, diagnostics: () => {} });
    try {
      expect(vm.image.entry).toBeLessThan(1n << 64n);
      expect(vm.image.entry).toBe(BigInt.asUintN(64, 0xffff_ffff_ffff_fff0n + vm.image.loadBias));
    } finally {
      vm.dispose();
    }
  });
});

describe('a refused program costs nothing', () => {
  it('the layout is checked before a spare CPU is taken: the next VM still gets it', () => {
    const opts = { cpuModule, memoryBytes: 32 << 20, stdout: () => {}, stderr: () => {}, diagnostics: () => {} };
    const first = ProcessVM.create(writeElf(EXIT_CODE), opts);
    const cpu = first.cpu;
    first.dispose(); // its CPU goes to the spares
    // 512 GiB of bss: more than the user address space.
    expect(() => ProcessVM.create(writeElf(EXIT_CODE, 2 ** 39), opts)).toThrow(/lies outside the user address space/);
    const next = ProcessVM.create(writeElf(EXIT_CODE), opts);
    try {
      // (A boolean: vitest's diff of two CPUs would print their memory.)
      expect(next.cpu === cpu, 'the next VM got the spare CPU').toBe(true);
    } finally {
      next.dispose();
    }
  });
});

describe('fuzz: the ELF loader and program loading', () => {
  it('gives an ElfError or a VM that runs, for every input', () => {
    const b = budget(300);
    const report = fuzz(elfTarget, { ...b, corpusDir });
    console.log(`fuzz elf: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s (${(report.iterations / (report.ms / 1000)).toFixed(0)}/s), seed ${JSON.stringify(report.seed)}`);
    const top = [...outcomes].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, n]) => `${n} ${k}`).join('; ');
    console.log(`fuzz elf outcomes: ${top}`);
    if (report.failures.length) throw new Error(describeFailures(report));
    if (process.env.RINGVISOR_FUZZ_REPLAY === undefined) expect(report.iterations).toBeGreaterThan(0);
  }, fuzzTimeout());
});

// ---- the interpreter of a dynamically linked program ----

const SYSROOT_INTERP = '/usr/riscv64-linux-gnu/lib/ld-linux-riscv64-lp64d.so.1';
const dynamicProgram = new Uint8Array(readFileSync(bin('libc-printf-dyn.elf')));

/** A verdict on one interpreter: libc-printf-dyn.elf is made with it as
 *  /lib/ld-linux-riscv64-lp64d.so.1 of an in-memory sysroot. */
function runInterpreter(input: Uint8Array): string | undefined {
  const sysroot = new MemFs({ label: 'fuzz-sysroot' });
  sysroot.makeDirs(['lib']);
  sysroot.addFile(['lib', 'ld-linux-riscv64-lp64d.so.1'], input, 0o755);
  let vm: ProcessVM;
  try {
    vm = ProcessVM.create(dynamicProgram, {
      cpuModule, memoryBytes: 32 << 20, maxInstructions: 20_000n, clock: 'virtual', jitThreshold: 16, jitWarmup: 0n, sysroot,
      programName: 'fuzz', random: (b) => b.fill(7), stdout: () => {}, stderr: () => {}, diagnostics: () => {},
    });
  } catch (e) {
    if (e instanceof ElfError) { count(`interp refused: ${e.reason.replace(/\b(0x[0-9a-f]+|\d+)\b/g, 'N').slice(0, 60)}`); return undefined; }
    return `ProcessVM.create threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
  }
  try {
    // (Its entry may lie anywhere, as under Linux: a wild one faults at once.)
    if (vm.cpu.pc >= 1n << 64n) return `entry 0x${vm.cpu.pc.toString(16)} is not a 64-bit address`;
    const status = vm.runSync();
    if (!Number.isInteger(status) || status < 0 || status > 255) return `exit status ${status}`;
    count(`interp ran: status ${status}`);
    return undefined;
  } catch (e) {
    return `a loaded interpreter's run threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
  } finally {
    vm.dispose();
  }
}

export const interpreterTarget: FuzzTarget = {
  name: 'elf-interp',
  seeds(rng: Rng): NamedInput[] {
    const real = existsSync(SYSROOT_INTERP) ? [{ name: 'ld-linux-riscv64-lp64d.so.1', bytes: new Uint8Array(readFileSync(SYSROOT_INTERP)) }] : [];
    return [...real, { name: 'static-pie', bytes: new Uint8Array(readFileSync(bin('static-pie.elf'))) },
      { name: 'hello', bytes: new Uint8Array(readFileSync(bin('hello.elf'))) }, { name: 'generated', bytes: generateElf(rng) }];
  },
  generate: generateElf,
  mutate: mutateElf,
  run: runInterpreter,
};

describe("fuzz: a dynamically linked program's interpreter", () => {
  it('gives an ElfError or a VM that runs, for every interpreter', () => {
    const report = fuzz(interpreterTarget, { ...budget(150), corpusDir: new URL('./corpus/elf-interp/', import.meta.url).pathname });
    console.log(`fuzz elf-interp: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s`);
    const top = [...outcomes].filter(([k]) => k.startsWith('interp')).sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, n]) => `${n} ${k}`).join('; ');
    console.log(`fuzz elf-interp outcomes: ${top}`);
    if (report.failures.length) throw new Error(describeFailures(report));
  }, fuzzTimeout());
});

// ---- a program a guest executes (execve inside the VM) ----
//
// guests/libc/exec-file.c calls execv("/x/prog") on the input, served from
// an in-memory file system beside a real program (/x/hello) and a script
// that runs the input (/x/run-prog): ELF mutations as above, and `#!` lines
// bent on purpose (long, empty, a loop through themselves, arguments,
// interpreters that are the input, a real program, nothing). The contract:
// the guest's execve fails with an errno (and the caller exits 1) or the new
// program runs, bounded by instructions, to a status; nothing is thrown, no
// input takes seconds.
const execCaller = new Uint8Array(readFileSync(bin('exec-file.elf')));
const hello = new Uint8Array(readFileSync(bin('hello.elf')));
const enc = (s: string) => new TextEncoder().encode(s);

function runExecInput(input: Uint8Array): string | undefined {
  const files = new MemFs({ label: 'fuzz-exec' });
  files.addFile(['prog'], input, 0o755);
  files.addFile(['hello'], hello, 0o755);
  files.addFile(['run-prog'], enc('#!/x/prog -a\n'), 0o755);
  let vm: ProcessVM | undefined;
  try {
    vm = ProcessVM.create(execCaller, {
      cpuModule, memoryBytes: 32 << 20, maxInstructions: 2_000_000n, clock: 'virtual', jitThreshold: 16, jitWarmup: 0n,
      fs: new GuestFs([{ guestPath: '/x', fs: files }]), argv: ['exec-file', '/x/prog', 'an argument'],
      programName: 'fuzz', random: (b) => b.fill(7), stdout: () => {}, stderr: () => {}, diagnostics: () => {},
    });
    const status = vm.runSync();
    if (!Number.isInteger(status) || status < 0 || status > 255) return `exit status ${status}`;
    count(`exec: status ${status}`);
    return undefined;
  } catch (e) {
    return `a guest's execve threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
  } finally {
    vm?.dispose();
  }
}

const SHEBANGS = ['#!/x/hello', '#!/x/prog', '#!/x/run-prog', '#!', '#! ', '#!/x/hello arg', '#!/x/hello  a  b  ', '#!\t/x/hello\t',
  '#!/nonexistent', '#!/x', '#!/x/hello\r', '#!' + '/'.repeat(300), '#!/x/hello ' + 'a'.repeat(300)];

function generateExecInput(rng: Rng): Uint8Array {
  if (rng.chance(0.5)) return generateElf(rng);
  const line = rng.pick(SHEBANGS) + (rng.chance(0.8) ? '\n' : '');
  return enc(line + (rng.chance(0.5) ? 'echo hi\n' : ''));
}

export const execTarget: FuzzTarget = {
  name: 'exec',
  seeds(rng: Rng): NamedInput[] {
    return [{ name: 'hello', bytes: hello }, ...SHEBANGS.map((s, i) => ({ name: `shebang-${i}`, bytes: enc(s + '\n') })),
      { name: 'generated', bytes: generateElf(rng) }, { name: 'empty', bytes: new Uint8Array(0) }];
  },
  generate: generateExecInput,
  mutate: (input, rng) => (input[0] === 0x7f ? mutateElf(input, rng) : generateExecInput(rng)),
  run: runExecInput,
};

describe('execve inputs fuzzing found (test/fuzz/corpus/exec/found-*)', () => {
  it('a #! line whose argument holds a carriage return (or any byte but NUL) is read as Linux reads it, not thrown on', () => {
    // "#!/x/he\t|...\r\n": the interpreter /x/he (missing: ENOENT, the caller exits 1).
    expect(runExecInput(enc('#!/x/he\t|\xfac\x89*\x7fllo\r\n'))).toBeUndefined();
    expect(runExecInput(enc('#!/x/hello a\rb\n'))).toBeUndefined();
    expect(outcomes.get('exec: status 1')).toBeGreaterThan(0);
  });
});

describe('fuzz: a program a guest executes (execve, #! scripts)', () => {
  it('gives an errno or a program that runs, for every file', () => {
    const report = fuzz(execTarget, { ...budget(100), corpusDir: new URL('./corpus/exec/', import.meta.url).pathname });
    console.log(`fuzz exec: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s`);
    const top = [...outcomes].filter(([k]) => k.startsWith('exec')).sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, n]) => `${n} ${k}`).join('; ');
    console.log(`fuzz exec outcomes: ${top}`);
    if (report.failures.length) throw new Error(describeFailures(report));
  }, fuzzTimeout());
});
