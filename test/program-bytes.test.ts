// A program read as it is needed (src/linux/program-bytes.ts, `ringvisor
// run`'s openProgramFile): the ELF parser reads only its headers, a
// segment's bytes go from the file into guest RAM when the program first
// reaches them, and everything the program sees is the file's. Checked with
// a reader that counts and records what it is asked for, against the same
// program read whole; then the descriptor-backed reader of the CLI, and a
// file that shrinks under a running program.
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lazyProgram, openProgramFile, parseElf, ProcessVM, ProgramFileError } from '../src/index.js';
import { programBytes, copyProgramPiece } from '../src/linux/program-bytes.js';
import { loadCpuModule } from '../src/node/load.js';
import { findThirdParty } from './support/third-party.js';

const ROOT = new URL('..', import.meta.url).pathname;
const demo = new Uint8Array(readFileSync(new URL('../guests/bin/demo.elf', import.meta.url)));
const busybox = findThirdParty('busybox', ['elf']);

/** A lazy copy of `file` whose reads are recorded as [offset, length]. */
function recorded(file: Uint8Array): { bytes: Uint8Array; reads: [number, number][] } {
  const reads: [number, number][] = [];
  const bytes = lazyProgram(file.length, (dst, offset) => {
    reads.push([offset, dst.length]);
    dst.set(file.subarray(offset, offset + dst.length));
  });
  return { bytes, reads };
}

const total = (reads: [number, number][]): number => reads.reduce((n, [, len]) => n + len, 0);

function runDemo(elf: Uint8Array): { status: number; out: string } {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const vm = ProcessVM.create(elf, {
    cpuModule: loadCpuModule('release'), programName: 'demo', argv: ['demo'], env: [],
    stdout: (b) => chunks.push(decoder.decode(b)), stderr: () => {},
  });
  const status = vm.runSync();
  vm.dispose();
  return { status, out: chunks.join('') };
}

describe('a program read as it is needed', () => {
  it('gives the parser only its headers, read from the file', () => {
    const { bytes, reads } = recorded(demo);
    const image = parseElf(bytes, 'demo');
    // The header's chunk (the program headers follow it in this file), not the file.
    expect(total(reads)).toBeLessThanOrEqual(64 * 1024);
    const { symbols: _s, ...fields } = image;
    const { symbols: _w, ...wholeFields } = parseElf(demo, 'demo');
    expect(fields).toEqual(wholeFields);
    // Symbols, when asked for, are the file's.
    expect(image.symbols).toEqual(parseElf(demo, 'demo').symbols);
  });

  it('runs as the program read whole does, without reading all of it', () => {
    const whole = runDemo(demo);
    const { bytes, reads } = recorded(demo);
    const lazy = runDemo(bytes);
    expect(lazy).toEqual(whole);
    expect(whole.status).toBe(0);
    expect(total(reads)).toBeLessThan(demo.length);
  });

  it('copies a piece from the file until the buffer holds it, then from the buffer', () => {
    const { bytes, reads } = recorded(demo);
    const piece = bytes.subarray(70_000, 70_100);
    const dst = new Uint8Array(100);
    copyProgramPiece(piece, dst);
    expect(dst).toEqual(demo.subarray(70_000, 70_100));
    expect(reads).toEqual([[70_000, 100]]);
    expect(programBytes(bytes, 70_000, 70_100)).toEqual(demo.subarray(70_000, 70_100));
    const again = new Uint8Array(100);
    copyProgramPiece(piece, again);
    expect(again).toEqual(dst);
    expect(reads.length).toBe(2); // the chunk, once
    // Plain buffers are plain views and copies.
    expect(programBytes(demo, 10, 20)).toEqual(demo.subarray(10, 20));
    expect(programBytes(demo, -5, 1e12).length).toBe(demo.length);
  });

  it('reads from its descriptor, and a file that shrinks is a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-program-bytes-'));
    try {
      const path = join(dir, 'demo.elf');
      copyFileSync(new URL('../guests/bin/demo.elf', import.meta.url), path);
      const bytes = openProgramFile(path);
      expect(bytes.length).toBe(demo.length);
      expect(programBytes(bytes, 100_000, 100_016)).toEqual(demo.subarray(100_000, 100_016));
      truncateSync(path, 4096);
      let error: unknown;
      try { programBytes(bytes, 300_000, 300_016); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(ProgramFileError);
      expect((error as ProgramFileError).exitStatus).toBe(135);
      expect((error as Error).message).toMatch(/demo\.elf: changed while it ran/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // busybox (built from Debian's sources) truncates its own file, then runs
  // an applet whose code it has not reached yet: as under qemu-riscv64,
  // which maps the file and gets SIGBUS there, the run ends with 135.
  it.skipIf(!busybox)('a program that truncates its own file ends with status 135 and one line, when it next reaches code it had not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-program-bytes-'));
    try {
      copyFileSync(busybox!.elf, join(dir, 'busybox'));
      const r = spawnSync(process.execPath, [join(ROOT, 'dist/bin/ringvisor.js'), 'run', '--fs=host', './busybox', 'sh', '-c', ': > ./busybox; ./busybox md5sum /dev/null; echo after'],
        { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(135);
      expect(r.stdout).not.toContain('after');
      expect(r.stderr.trim()).toMatch(/^ringvisor: \.\/busybox: changed while it ran: no bytes at offset \d+ of the \d+ it had$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ringvisor run reads its program this way and runs it', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/bin/ringvisor.js'), 'run', 'guests/bin/demo.elf'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(runDemo(demo).out.replace('argv[0] = demo,', 'argv[0] = guests/bin/demo.elf,'));
  });
});
