// The ELF loader refuses what it cannot run with a one-line error naming the
// file and the problem, and the CLI exits like a shell would (126/127).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseElf, loadBias, ElfError, ProcessVM, ELF_ET_DYN_BASE, MMAP_MIN_ADDR } from '../src/index.js';

const hello = new Uint8Array(readFileSync(new URL('../guests/bin/hello.elf', import.meta.url)));
const pie = new Uint8Array(readFileSync(new URL('../guests/bin/static-pie.elf', import.meta.url)));
const ET_EXEC = 2, ET_DYN = 3;
const AT_PHDR = 3n, AT_BASE = 7n, AT_ENTRY = 9n;

function patched(edit: (v: DataView, b: Uint8Array) => void, bytes = hello): Uint8Array {
  const b = bytes.slice();
  edit(new DataView(b.buffer), b);
  return b;
}

function elfError(bytes: Uint8Array): string {
  try {
    parseElf(bytes, 'prog');
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    return (e as Error).message;
  }
  throw new Error('parseElf accepted a bad file');
}

describe('parseElf', () => {
  it('reads the bundled hello program', () => {
    const img = parseElf(hello, 'hello');
    expect(img.segments.length).toBeGreaterThan(0);
    expect(img.symbols.get('main')).toBeDefined();
    expect(img.symbols.get('_start')).toBe(img.entry);
  });

  it('rejects files that are not ELF', () => {
    expect(elfError(new TextEncoder().encode('#!/bin/sh\necho hi\n'.padEnd(80, ' ')))).toBe('prog: not an ELF file (bad magic)');
    expect(elfError(new Uint8Array(10))).toMatch(/^prog: truncated ELF header \(10 bytes/);
  });

  it('rejects 32-bit, big-endian and non-RISC-V files', () => {
    expect(elfError(patched((_, b) => { b[4] = 1; }))).toMatch(/not a 64-bit ELF/);
    expect(elfError(patched((_, b) => { b[5] = 2; }))).toMatch(/not a little-endian ELF/);
    expect(elfError(patched((v) => v.setUint16(18, 62, true)))).toBe('prog: not a RISC-V ELF (e_machine 62, expected 243)');
  });

  it('rejects relocatable objects and core files', () => {
    expect(elfError(patched((v) => v.setUint16(16, 1, true)))).toBe('prog: not an executable (e_type 1)');
  });

  it("reads a dynamically linked program's PT_INTERP, and refuses a malformed one as Linux does", () => {
    const dyn = new Uint8Array(readFileSync(new URL('../guests/bin/libc-printf-dyn.elf', import.meta.url)));
    expect(parseElf(dyn, 'prog').interpreter).toBe('/lib/ld-linux-riscv64-lp64d.so.1');
    expect(parseElf(hello, 'hello').interpreter).toBeUndefined();
    // The PT_INTERP header's own fields: p_offset at 8, p_filesz at 32.
    const interpAt = (v: DataView): number => {
      const phoff = Number(v.getBigUint64(32, true));
      for (let i = 0; ; i++) if (v.getUint32(phoff + i * 56, true) === 3) return phoff + i * 56;
    };
    expect(elfError(patched((v) => v.setBigUint64(interpAt(v) + 32, 1n, true), dyn))).toMatch(/PT_INTERP .* is 1 bytes long \(2 to 4096\)/);
    expect(elfError(patched((v) => v.setBigUint64(interpAt(v) + 32, 5000n, true), dyn))).toMatch(/is 5000 bytes long/);
    expect(elfError(patched((v) => v.setBigUint64(interpAt(v) + 8, BigInt(dyn.length - 4), true), dyn))).toMatch(/PT_INTERP .* runs past the end of the file/);
    expect(elfError(patched((v, b) => { b[Number(v.getBigUint64(interpAt(v) + 8, true)) + 32] = 0x41; }, dyn))).toMatch(/PT_INTERP .* is not NUL-terminated/);
  });

  it('rejects a truncated file, naming the segment', () => {
    expect(elfError(hello.subarray(0, 200))).toMatch(/runs past the end of the file|program headers/);
    const img = parseElf(hello, 'hello');
    // Cut the file inside the last segment that has bytes in the file.
    const last = img.segments.filter((s) => s.fileSize > 1).pop()!;
    const cut = hello.subarray(0, last.fileOffset + last.fileSize - 1);
    expect(elfError(cut)).toMatch(/segment \d+ .* runs past the end of the file .*truncated/);
  });

  it('rejects p_filesz larger than p_memsz', () => {
    const bad = patched((v) => {
      const phoff = Number(v.getBigUint64(32, true));
      for (let i = 0; i < v.getUint16(56, true); i++) {
        const at = phoff + i * 56;
        if (v.getUint32(at, true) === 1) { v.setBigUint64(at + 40, 0n, true); v.setBigUint64(at + 32, 1n, true); break; }
      }
    });
    expect(elfError(bad)).toMatch(/p_filesz 1 > p_memsz 0/);
  });
});

describe('static PIE (ET_DYN without PT_INTERP)', () => {
  const header = new DataView(pie.buffer, pie.byteOffset, pie.byteLength);
  const fileEntry = header.getBigUint64(24, true);
  const phoff = header.getBigUint64(32, true);

  it('places it where Linux puts a PIE: ELF_ET_DYN_BASE rounded down to a page', () => {
    expect(ELF_ET_DYN_BASE).toBe(0x2aaaaaaaaan);
    expect(loadBias(ET_DYN, 0n)).toBe(0x2aaaaaa000n);
    expect(loadBias(ET_DYN, 0x1000n)).toBe(0x2aaaaa9000n);
    expect(loadBias(ET_EXEC, 0x10000n)).toBe(0n);
  });

  it('biases the entry, the segments and the symbols alike', () => {
    const img = parseElf(pie, 'pie');
    expect(img.type).toBe(ET_DYN);
    expect(img.loadBias).toBe(0x2aaaaaa000n);
    expect(img.entry).toBe(img.loadBias + fileEntry);
    expect(img.segments[0].vaddr).toBe(img.loadBias); // linked at 0
    expect(img.symbols.get('_start')).toBe(img.entry);
    for (const s of img.segments) expect(s.vaddr >= img.loadBias).toBe(true);
  });

  it('takes another page-aligned bias, and refuses one that maps page 0', () => {
    const img = parseElf(pie, 'pie', { loadBias: 0x100000n });
    expect(img.entry).toBe(0x100000n + fileEntry);
    expect(() => parseElf(pie, 'pie', { loadBias: 0x100800n })).toThrow(/load bias 0x100800 is not page-aligned/);
    expect(() => parseElf(pie, 'pie', { loadBias: 0n })).toThrow(
      new ElfError('pie', `segment 0 at 0x0 is below 0x${MMAP_MIN_ADDR.toString(16)}, the lowest address a program may map`));
    // An ET_EXEC runs where it was linked.
    expect(parseElf(hello, 'hello', { loadBias: 0x100000n }).loadBias).toBe(0n);
  });

  it('loads with AT_PHDR and AT_ENTRY biased, AT_BASE 0 and nothing at address 0', () => {
    const vm = ProcessVM.create(pie, { programName: 'pie', memoryBytes: 16 * 1024 * 1024 });
    const bias = vm.image.loadBias;
    expect(vm.cpu.pc).toBe(bias + fileEntry);
    expect(vm.memory.space.permissions(bias)).toBeDefined();
    expect(vm.cpu.inRam(0n, 1)).toBe(false);
    expect(vm.memory.brkStart > bias).toBe(true);
    // The auxv, after argc, argv, NULL, envp, NULL.
    const sp = vm.cpu.x(2);
    let p = sp + 8n * (vm.cpu.read64(sp) + 2n);
    while (vm.cpu.read64(p) !== 0n) p += 8n;
    const auxv = new Map<bigint, bigint>();
    for (p += 8n; vm.cpu.read64(p) !== 0n; p += 16n) auxv.set(vm.cpu.read64(p), vm.cpu.read64(p + 8n));
    expect(auxv.get(AT_PHDR)).toBe(bias + phoff);
    expect(auxv.get(AT_ENTRY)).toBe(bias + fileEntry);
    expect(auxv.get(AT_BASE)).toBe(0n);
  });
});

describe('ProcessVM loading', () => {
  it('refuses a program that does not fit in the address space', () => {
    // A bss of 1 TiB: more than the 256 GiB address space, whatever --mem says.
    const huge = patched((v) => {
      const phoff = Number(v.getBigUint64(32, true)), phentsize = v.getUint16(54, true);
      for (let i = 0; i < v.getUint16(56, true); i++) {
        const at = phoff + i * phentsize;
        if (v.getUint32(at, true) === 1) v.setBigUint64(at + 40, 1n << 40n, true); // PT_LOAD: p_memsz
      }
    });
    expect(() => ProcessVM.create(huge, { programName: 'huge' })).toThrow(/lies outside the user address space/);
  });

  it('a --mem too small for the program ends it with the out-of-memory kill, not a host error', async () => {
    const lines: string[] = [];
    // hello (guests/src, no libc) needs 4 pages: its code, its data, its stack.
    const vm = ProcessVM.create(hello, { programName: 'hello', memoryBytes: 8 * 1024, diagnostics: (l) => lines.push(l), stdout: () => {} });
    expect(await vm.run()).toBe(137);
    expect(lines.at(-1)).toMatch(/^ringvisor: out of memory: hello needs more than the 8 KiB --mem allows \(\d+ KiB in use\); killed$/);
  });
});

describe('ringvisor run (CLI errors)', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['dist/bin/ringvisor.js', ...args], { encoding: 'utf8', cwd: new URL('..', import.meta.url) });

  it('exits 127 for a missing program', () => {
    const r = cli('run', 'no/such/prog');
    expect(r.status).toBe(127);
    expect(r.stderr).toBe('ringvisor: no/such/prog: No such file or directory\n');
  });

  it('exits 126 for a file that is not a RISC-V executable', () => {
    const r = cli('run', 'package.json');
    expect(r.status).toBe(126);
    expect(r.stderr).toBe('ringvisor: package.json: not an ELF file (bad magic)\n');
  });

  it('exits 2 with usage for bad options', () => {
    const r = cli('run', '--bogus', 'x');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ringvisor: unknown option --bogus\nusage: ringvisor run/);
  });
});
