// Fuzz target: system calls from a hostile guest. Each input is decoded into
// up to 64 system calls (a number, mostly one ringvisor implements, and six
// arguments drawn from edge integers, descriptors, sizes, flags, and
// pointers into a read-write page, across its end into an unmapped one, into
// read-only and code pages, into unmapped memory, to path strings that try
// to leave the sandbox, and to iovecs that do). A generated static guest
// issues them one after the other from a table in its memory, in a
// ProcessVM with 16 MiB of memory whose file system is a sandbox over a
// temporary directory (the `ringvisor run` default, `sandboxFs`).
//
// The contract: the run ends with a status, the host never throws, no input
// takes seconds (instructions are bounded by maxInstructions, time by
// timeoutSeconds and the harness's clock), and the guest never reaches
// outside its sandbox: a directory next to it, holding a secret, is
// unchanged, the secret appears in nothing the guest wrote, and nothing
// appears on the host outside the sandbox.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, lstatSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessVM } from '../../src/linux/process-vm.js';
import { SYSCALLS } from '../../src/linux/syscalls.js';
import { sandboxFs } from '../../src/node/host-fs.js';
import { loadCpuModule } from '../../src/node/load.js';
import * as A from '../support/rvasm.js';
import { fuzz, budget, fuzzTimeout, describeFailures, ByteReader, type FuzzTarget, type NamedInput, type Rng } from './harness.js';

const cpuModule = loadCpuModule('release');
const corpusDir = new URL('./corpus/syscalls/', import.meta.url).pathname;

// ---- the guest's memory -----------------------------------------------------------------------
const CODE = 0x10000n;       // R|X: the ELF header, the program headers, the loop
const TABLE = 0x20000n;      // R|W: the calls, 7 u64 each (a7, a0..a5)
const UNMAPPED = 0x30000n;   // nothing
const SCRATCH = 0x40000n;    // R|W, 2 pages: strings, iovecs, buffers; 0x42000 is unmapped
const SCRATCH_BYTES = 0x2000;
const RODATA = 0x50000n;     // R: strings again
const MAX_CALLS = 64;
const RECORD = 7 * 8;

const SECRET = 'ringvisor-fuzz-secret-0f1e2d3c';

/** Path strings, placed in the scratch page and the read-only page. The
 *  sandbox's own (host) paths are filled in per run. */
function pathStrings(root: string, outside: string): string[] {
  return [
    'secret', '../outside/secret', '../../outside/secret', '/', '.', '..', 'link', 'link/secret', 'dir', 'dir/../../outside/secret',
    '/proc/self/exe', '/proc/self/cwd/../outside/secret', '/dev/null', '/dev/urandom', '/tmp/x', 'file', 'a'.repeat(300),
    'a/'.repeat(2100), '', `${outside}/secret`, root, `${root}/../outside/secret`, `${root}/link/secret`, outside, '/proc/self/fd/3',
    'dir/sub', '../outside', 'file2', `${root}/..`, '/etc/passwd',
  ];
}
const STRING_COUNT = 30;
const STRINGS_AT = 0x100; // offset of the string table in scratch and rodata: u64 pointers, then the strings
const IOVECS_AT = 0x1000; // iovecs in scratch
const BUFFER_AT = 0x1400; // a buffer in scratch

const EDGES: bigint[] = [
  0n, 1n, 2n, 3n, 0xffn, 0x100n, 0x1000n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n,
  0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n, 0xffff_ffff_ffff_ffffn, 0xffff_ffff_ffff_ff9cn /* AT_FDCWD */,
  0xffff_ffff_ffff_f000n, 4096n * 4096n, 1n << 40n,
];
const SIZES: bigint[] = [0n, 1n, 8n, 16n, 64n, 255n, 4096n, 8192n, 65536n, 1n << 20n, 1n << 31n, 1n << 32n, 0xffff_ffff_ffff_ffffn];
/** Calls that end the process at once: rare, or nothing after them runs. */
const ENDERS = new Set([93, 94]);
const NUMBERS = [...SYSCALLS.keys()].filter((n) => !ENDERS.has(n)).sort((a, b) => a - b);

/** The argument an input byte pair selects. */
function argument(r: ByteReader): bigint {
  const k = r.u8();
  switch (k & 15) {
    case 0: return BigInt.asUintN(64, BigInt(r.u8() - 8));                       // small, negatives too
    case 1: return BigInt([0, 1, 2, 3, 4, 5, 6, 7, 8, 100, 1023, 1024, -1, -100][r.u8() % 14]) & 0xffff_ffff_ffff_ffffn; // descriptors
    case 2: return EDGES[r.u8() % EDGES.length];
    case 3: return r.u64();                                                      // anything
    case 4: return SCRATCH + BigInt(r.u16() % SCRATCH_BYTES);                    // read-write memory
    case 5: return SCRATCH + BigInt(SCRATCH_BYTES - 1 - (r.u8() % 64));          // runs into the unmapped page
    case 6: return RODATA + BigInt(r.u16() % 0x1000);                            // read-only
    case 7: return CODE + BigInt(r.u16() % 0x1000);                              // code
    case 8: return UNMAPPED + BigInt(r.u16());                                   // unmapped
    case 9: return SCRATCH + BigInt(STRINGS_AT) + 8n * BigInt(r.u8() % STRING_COUNT); // a string (its slot, replaced below)
    case 10: return SIZES[r.u8() % SIZES.length];
    case 11: return BigInt(r.u32());                                             // flags
    case 12: return 0n;
    case 13: return SCRATCH + BigInt(BUFFER_AT);                                 // a buffer
    case 14: return SCRATCH + BigInt(IOVECS_AT + 16 * (r.u8() % 8));             // iovecs, some bad
    default: return RODATA + BigInt(STRINGS_AT) + 8n * BigInt(r.u8() % STRING_COUNT); // the read-only copy
  }
}

/** The calls an input makes: [a7, a0..a5] each. */
export function decodeCalls(input: Uint8Array, strings: { scratch: bigint[]; rodata: bigint[] }): bigint[][] {
  const r = new ByteReader(input);
  const calls: bigint[][] = [];
  while (!r.done && calls.length < MAX_CALLS) {
    const s = r.u8();
    const nr = s < 224 ? BigInt(NUMBERS[s % NUMBERS.length]) : BigInt(r.u16());
    const args: bigint[] = [];
    for (let i = 0; i < 6; i++) {
      let a = argument(r);
      // A string's slot stands for the string: pass its address.
      for (const [base, table] of [[SCRATCH, strings.scratch], [RODATA, strings.rodata]] as const) {
        const slot = a - (base + BigInt(STRINGS_AT));
        if (slot >= 0n && slot < 8n * BigInt(STRING_COUNT) && slot % 8n === 0n) a = table[Number(slot / 8n)];
      }
      args.push(a);
    }
    calls.push([nr, ...args]);
  }
  return calls;
}

// ---- the ELF ---------------------------------------------------------------------------------
const PF_X = 1, PF_W = 2, PF_R = 4;

function buildElf(calls: bigint[][], root: string, outside: string): { elf: Uint8Array } {
  const file = new Uint8Array(0x5000);
  const v = new DataView(file.buffer);
  // header
  file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  v.setUint16(16, 2, true); v.setUint16(18, 243, true); v.setUint32(20, 1, true);
  v.setBigUint64(24, CODE + 0x200n, true); v.setBigUint64(32, 64n, true);
  v.setUint32(48, 5, true); v.setUint16(52, 64, true); v.setUint16(54, 56, true); v.setUint16(56, 4, true); v.setUint16(58, 64, true);
  const segs: Array<[bigint, number, number, number]> = [
    [CODE, 0, 0x1000, PF_R | PF_X], [TABLE, 0x1000, 0x1000, PF_R | PF_W], [SCRATCH, 0x2000, SCRATCH_BYTES, PF_R | PF_W], [RODATA, 0x4000, 0x1000, PF_R],
  ];
  segs.forEach(([addr, off, size, flags], i) => {
    const p = 64 + 56 * i;
    v.setUint32(p, 1, true); v.setUint32(p + 4, flags, true); v.setBigUint64(p + 8, BigInt(off), true);
    v.setBigUint64(p + 16, addr, true); v.setBigUint64(p + 24, addr, true);
    v.setBigUint64(p + 32, BigInt(size), true); v.setBigUint64(p + 40, BigInt(size), true); v.setBigUint64(p + 48, 0x1000n, true);
  });
  // the loop: s0 walks the table, s1 counts down
  const code = A.assemble([
    A.lui(8, Number(TABLE >> 12n)), A.addi(9, 0, calls.length),
    A.beq(9, 0, 4 * 12),                                   // loop: done?
    A.ld(17, 8, 0), A.ld(10, 8, 8), A.ld(11, 8, 16), A.ld(12, 8, 24), A.ld(13, 8, 32), A.ld(14, 8, 40), A.ld(15, 8, 48),
    A.ecall(),
    A.addi(8, 8, RECORD), A.addi(9, 9, -1), A.jal(0, -4 * 11),
    A.addi(10, 0, 0), A.addi(17, 0, 94), A.ecall(),          // done: exit_group(0)
  ]);
  file.set(code, 0x200);
  calls.forEach((c, i) => c.forEach((x, k) => v.setBigUint64(0x1000 + RECORD * i + 8 * k, x, true)));
  // strings: a table of pointers, then the bytes, in scratch and in rodata
  const enc = new TextEncoder();
  for (const [base, off] of [[SCRATCH, 0x2000], [RODATA, 0x4000]] as const) {
    let at = STRINGS_AT + 8 * STRING_COUNT;
    pathStrings(root, outside).slice(0, STRING_COUNT).forEach((s, i) => {
      const b = enc.encode(s);
      if (at + b.length + 1 > 0xf00) return; // (the longest ones only in scratch's second page, below)
      v.setBigUint64(off + STRINGS_AT + 8 * i, base + BigInt(at), true);
      file.set(b, off + at);
      at += b.length + 1;
    });
  }
  // the long paths (over NAME_MAX and PATH_MAX) in scratch's second page
  let at = 0x1800;
  for (const i of [16, 17]) {
    // (The second, over PATH_MAX, runs unterminated to the end of the page.)
    const b = enc.encode(pathStrings(root, outside)[i]).subarray(0, i === 17 ? 0x2000 - at : 0x1fff - at);
    v.setBigUint64(0x2000 + STRINGS_AT + 8 * i, SCRATCH + BigInt(at), true);
    file.set(b, 0x2000 + at);
    at += b.length + 1;
  }
  // iovecs: good, empty, unmapped, read-only, crossing the end, huge
  const iov: Array<[bigint, bigint]> = [
    [SCRATCH + BigInt(BUFFER_AT), 64n], [SCRATCH, 0n], [UNMAPPED, 16n], [RODATA, 64n], [SCRATCH + BigInt(SCRATCH_BYTES - 8), 64n],
    [SCRATCH + BigInt(BUFFER_AT), 0xffff_ffff_ffff_ffffn], [SCRATCH + BigInt(BUFFER_AT), 1n << 31n], [CODE, 32n],
  ];
  iov.forEach(([b, l], i) => { v.setBigUint64(0x2000 + IOVECS_AT + 16 * i, b, true); v.setBigUint64(0x2000 + IOVECS_AT + 16 * i + 8, l, true); });
  return { elf: file };
}

/** The string addresses the guest will have (0 for a string not placed). */
function stringAddresses(elf: Uint8Array): { scratch: bigint[]; rodata: bigint[] } {
  const v = new DataView(elf.buffer);
  const table = (off: number) => Array.from({ length: STRING_COUNT }, (_, i) => v.getBigUint64(off + STRINGS_AT + 8 * i, true));
  return { scratch: table(0x2000), rodata: table(0x4000) };
}

// ---- the sandbox and the escape checks ----------------------------------------------------------
interface Sandbox { top: string; root: string; outside: string }

function makeSandbox(): Sandbox {
  const top = mkdtempSync(join(tmpdir(), 'ringvisor-fuzz-sys-'));
  const root = join(top, 'root'), outside = join(top, 'outside');
  mkdirSync(root); mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), SECRET);
  return { top, root, outside };
}

/** Empties the sandbox for the next input, from the host side. */
function resetSandbox(s: Sandbox): void {
  for (const f of readdirSync(s.root)) rmSync(join(s.root, f), { recursive: true, force: true });
  mkdirSync(join(s.root, 'dir'));
  writeFileSync(join(s.root, 'file'), 'inside the sandbox\n');
}

/** Everything under `dir` (names, symlink targets, file contents), for comparison. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string, depth: number): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.push(`${p} -> ${readlinkSync(p)}`);
      else if (st.isDirectory()) { out.push(`${p}/ ${(st.mode & 0o7777).toString(8)}`); if (depth < 8) walk(p, depth + 1); }
      else out.push(`${p} ${st.size} ${(st.mode & 0o7777).toString(8)} ${st.isFile() && st.size < 4096 ? readFileSync(p, 'latin1') : ''}`);
    }
  };
  walk(dir, 0);
  return out.join('\n');
}

/** Whether the secret is in any file the guest left in its sandbox. Names
 *  are bytes (a guest may make any name; one that is not UTF-8 would not
 *  survive a round trip through a string). */
function secretInside(dir: Buffer, depth = 0): string | undefined {
  for (const f of readdirSync(dir, { encoding: 'buffer' })) {
    const p = Buffer.concat([dir, Buffer.from('/'), f]);
    const st = lstatSync(p);
    if (st.isDirectory() && depth < 8) { const r = secretInside(p, depth + 1); if (r) return r; }
    else if (st.isFile() && st.size < 1 << 20 && readFileSync(p, 'latin1').includes(SECRET)) return p.toString('latin1');
  }
  return undefined;
}

/** `hostRoot`: the whole host at / (`--fs=host`), for the self-test of the escape checks. */
function makeTarget(hostRoot = false): FuzzTarget & { outcomes: Map<string, number>; results: Map<string, number> } {
  const sandbox = makeSandbox();
  const outsideBefore = snapshot(sandbox.outside);
  // The host's working directory is an empty directory of the sandbox's
  // own for the run, which must stay empty: a relative path resolved
  // against the host's cwd instead of the guest's would land there. (Not the
  // real cwd: anything else writing there would look like an escape.)
  const hostCwd = join(sandbox.top, 'host-cwd');
  mkdirSync(hostCwd);
  const cwdBefore = process.cwd();
  process.chdir(hostCwd);
  const outcomes = new Map<string, number>();
  const results = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);

  const run = (input: Uint8Array): string | undefined => {
    resetSandbox(sandbox);
    const probe = buildElf([], sandbox.root, sandbox.outside).elf;
    const calls = decodeCalls(input, stringAddresses(probe));
    const { elf } = buildElf(calls, sandbox.root, sandbox.outside);
    let written = '';
    const sink = (b: Uint8Array) => { if (written.length < 1 << 20) written += Buffer.from(b).toString('latin1'); };
    let vm: ProcessVM;
    try {
      vm = ProcessVM.create(elf, {
        cpuModule, memoryBytes: 16 << 20, maxInstructions: 200_000n, timeoutSeconds: 5, clock: 'virtual', jitThreshold: 0,
        programName: 'fuzz', random: (b) => b.fill(7), fs: sandboxFs({ cwd: sandbox.root, hostRoot, random: (b) => b.fill(7) }),
        stdout: sink, stderr: sink, diagnostics: () => {},
        // Results by kind, for the summary line: how many calls got past
        // their argument checks, how many were refused and why.
        strace: (line) => {
          const m = / = (-1 errno=(\d+)|\S+)/.exec(line);
          if (m) results.set(m[2] !== undefined ? `errno ${m[2]}` : 'ok', (results.get(m[2] !== undefined ? `errno ${m[2]}` : 'ok') ?? 0) + 1);
        },
      });
    } catch (e) {
      return `ProcessVM.create threw on the harness's own ELF: ${e instanceof Error ? e.stack : String(e)}`;
    }
    try {
      const status = vm.runSync();
      count(`status ${status}`);
    } catch (e) {
      const last = vm.syscallCounts.size ? [...vm.syscallCounts.keys()].pop() : 'none';
      return `the run threw (last call family seen: ${last}): ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
    } finally {
      vm.dispose();
    }
    if (written.includes(SECRET)) return 'escape: the secret outside the sandbox reached the guest\'s output';
    const leaked = secretInside(Buffer.from(sandbox.root));
    if (leaked !== undefined) return `escape: the secret outside the sandbox was copied into ${leaked}`;
    if (snapshot(sandbox.outside) !== outsideBefore) return `escape: the directory next to the sandbox changed:\n${snapshot(sandbox.outside)}`;
    const top = readdirSync(sandbox.top).sort().join(',');
    if (top !== 'host-cwd,outside,root') return `escape: the sandbox's parent now holds ${top}`;
    if (readdirSync(hostCwd).length !== 0) return `escape: the host's working directory now holds ${readdirSync(hostCwd).join(', ')}`;
    if (process.cwd() !== hostCwd) return `escape: the host's working directory moved to ${process.cwd()}`;
    return undefined;
  };

  return {
    name: 'syscalls',
    outcomes,
    results,
    seeds: (rng: Rng): NamedInput[] => [0, 1, 2, 3].map((i) => ({ name: `generated-${i}`, bytes: generateCalls(rng) })),
    generate: generateCalls,
    run,
    close: () => {
      process.chdir(cwdBefore);
      rmSync(sandbox.top, { recursive: true, force: true });
    },
  };
}

/** Raw bytes, sometimes with a known escape attempt spliced in: the
 *  symlink and `..` sequences that random bytes would rarely spell. */
function generateCalls(rng: Rng): Uint8Array {
  const out: number[] = [];
  const n = rng.range(1, 24);
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.15)) { out.push(...rng.pick(ESCAPES)); continue; }
    for (let k = 0; k < 1 + 6 * 3; k++) out.push(rng.int(256));
  }
  return Uint8Array.from(out);
}

/** Encodes one call for decodeCalls: a number from NUMBERS and six arguments
 *  as [selector, bytes…]. */
function call(nr: number, ...args: number[][]): number[] {
  const idx = NUMBERS.indexOf(nr);
  if (idx < 0) throw new Error(`syscall ${nr} is not implemented`);
  return [idx, ...args.flat(), ...Array.from({ length: 6 - args.length }, () => [12]).flat()];
}
const str = (i: number) => [9, i];        // a path string from the table
const fd = (i: number) => [1, i];         // 0..8, 100, 1023, 1024, -1 (12), AT_FDCWD (13)
const num = (v: number) => [0, v + 8];    // a small integer
const buf = () => [13];
const size = (i: number) => [10, i];
const AT_FDCWD = fd(13);
const ESCAPES: number[][] = [
  // symlinkat("<outside>", AT_FDCWD, "link"); openat(AT_FDCWD, "link/secret", 0); read(3, buf, 64); write(1, buf, 64)
  [...call(36, str(23), AT_FDCWD, str(6)), ...call(56, AT_FDCWD, str(7), num(0)), ...call(63, fd(3), buf(), size(4)), ...call(64, fd(1), buf(), size(4))],
  // openat(AT_FDCWD, "../outside/secret"); read; write
  [...call(56, AT_FDCWD, str(1), num(0)), ...call(63, fd(3), buf(), size(4)), ...call(64, fd(1), buf(), size(4))],
  // mkdirat("dir/sub"); chdir("dir/sub"); openat(AT_FDCWD, "../../../outside/secret")
  [...call(34, AT_FDCWD, str(25), num(0)), ...call(49, str(25)), ...call(56, AT_FDCWD, str(2), num(0)), ...call(63, fd(3), buf(), size(4)), ...call(64, fd(1), buf(), size(4))],
  // openat(AT_FDCWD, "..", O_DIRECTORY); openat(3, "outside/secret")… via "../outside"
  [...call(56, AT_FDCWD, str(5), num(0)), ...call(56, fd(3), str(26), num(0)), ...call(61, fd(4), buf(), size(6))],
  // symlinkat("<outside>/secret", AT_FDCWD, "file2"); openat("file2", O_WRONLY|O_TRUNC); write(3, "x")
  [...call(36, str(19), AT_FDCWD, str(27)), ...call(56, AT_FDCWD, str(27), [11, 0x01, 0x02, 0, 0]), ...call(64, fd(3), buf(), size(2))],
  // renameat2(AT_FDCWD, "file", AT_FDCWD, "../outside/secret")
  [...call(276, AT_FDCWD, str(15), AT_FDCWD, str(1), num(0))],
  // linkat(AT_FDCWD, "<outside>/secret", AT_FDCWD, "file2", AT_SYMLINK_FOLLOW)
  [...call(37, AT_FDCWD, str(19), AT_FDCWD, str(27), [11, 0x00, 0x04, 0, 0])],
];

describe('fuzz: system calls from a hostile guest', () => {
  it('never throws on the host, never hangs, never leaves the sandbox', () => {
    const target = makeTarget();
    const b = budget(150);
    const report = fuzz(target, { ...b, corpusDir, slowMs: 8000 });
    const top = [...target.outcomes].sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, n]) => `${n} ${k}`).join('; ');
    const calls = [...target.results].sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, n]) => `${n} ${k}`).join('; ');
    console.log(`fuzz syscalls results: ${calls} (14 EFAULT, 9 EBADF, 22 EINVAL, 2 ENOENT, 38 ENOSYS)`);
    console.log(`fuzz syscalls: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s (${(report.iterations / (report.ms / 1000)).toFixed(0)}/s), seed ${JSON.stringify(report.seed)}; ${top}`);
    if (report.failures.length) throw new Error(describeFailures(report));
    if (process.env.RINGVISOR_FUZZ_REPLAY === undefined) expect(report.iterations).toBeGreaterThan(0);
  }, fuzzTimeout());

  it('its escape checks fire when there is no sandbox (the whole host at /)', () => {
    const target = makeTarget(true);
    try {
      // openat(AT_FDCWD, "<outside>/secret"); read(3, buf, 64); write(1, buf, 64)
      const input = Uint8Array.from([...call(56, AT_FDCWD, str(19), num(0)), ...call(63, fd(3), buf(), size(4)), ...call(64, fd(1), buf(), size(4))]);
      expect(target.run(input)).toMatch(/^escape: the secret/);
    } finally {
      target.close?.();
    }
    // The same calls in the sandbox find nothing there.
    const sandboxed = makeTarget();
    try {
      const input = Uint8Array.from([...call(56, AT_FDCWD, str(19), num(0)), ...call(63, fd(3), buf(), size(4)), ...call(64, fd(1), buf(), size(4))]);
      expect(sandboxed.run(input)).toBeUndefined();
    } finally {
      sandboxed.close?.();
    }
  });
});
