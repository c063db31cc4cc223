// The ELF loader refuses what it cannot run with a one-line error naming the
// file and the problem, and the CLI exits like a shell would (126/127).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseElf, ElfError, ProcessVM } from '../src/index.js';

const hello = new Uint8Array(readFileSync(new URL('../guests/bin/hello.elf', import.meta.url)));

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

  it('rejects a dynamically linked program', () => {
    const PT_INTERP = 3;
    const bad = patched((v) => {
      const phoff = Number(v.getBigUint64(32, true));
      v.setUint32(phoff, PT_INTERP, true);
    });
    expect(elfError(bad)).toMatch(/dynamically linked/);
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

describe('ProcessVM loading', () => {
  it('refuses a program that does not fit in guest memory', () => {
    expect(() => ProcessVM.create(hello, { programName: 'hello', memoryBytes: 16 * 1024 })).toThrow(/leaves no room for a stack|does not fit/);
  });
});

describe('ringvisor run (CLI errors)', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8', cwd: new URL('..', import.meta.url) });

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
