// Fuzz target: the system VM's kernel loader (src/system/linux-image.ts,
// loadKernel) and SystemVM.create around it, then a short run of whatever
// loaded. Inputs are mutated kernels of every format `--kernel` takes: a
// bare-metal ELF of ours and its raw bytes, synthetic Linux Image headers
// (text_offset, image_size at their edges), uImage headers (sizes, load
// address, entry, type, compression), ELFs whose segments sit anywhere, a
// vmlinux-shaped ELF (segments from 0, an Image header first), and
// truncations of all of them.
//
// The contract: SystemVM.create either throws a KernelImageError (typed,
// naming the file and the reason) or makes a machine whose kernel lies
// inside its RAM and is entered there; the machine then runs (bounded by
// instructions) to a status. Nothing else may be thrown, nothing may take
// seconds, and no allocation may follow a size in the file.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SystemVM } from '../../src/system/system-vm.js';
import { KernelImageError, loadKernel } from '../../src/system/linux-image.js';
import { loadCpuModule } from '../../src/node/load.js';
import { fuzz, budget, fuzzTimeout, describeFailures, type FuzzTarget, type NamedInput, type Rng } from './harness.js';

const cpuModule = loadCpuModule('release');
const corpusDir = new URL('./corpus/kernel/', import.meta.url).pathname;
const RAM_BASE = 0x8000_0000n;
const RAM_BYTES = 8 << 20;
const EDGE_64: bigint[] = [0n, 1n, 0x1000n, 0x20_0000n, 0x40_0000n, 0x7f_ffffn, 0x80_0000n, 0xffff_ffffn, 0x8000_0000n, 0x8020_0000n, 0x807f_ffffn,
  0x8080_0000n, 0x7fff_ffff_ffff_ffffn, 0xffff_ffff_ffff_f000n, 0xffff_ffff_ffff_ffffn];
const EDGE_32 = [0, 1, 64, 0x1000, 0x7fff_ffff, 0x8000_0000, 0x801f_ffff, 0x8020_0000, 0x807f_fffc, 0x8080_0000, 0xffff_ffff];

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** `jal x0, 0` and friends: a few instructions that end by looping. */
const CODE = new Uint8Array([0x13, 0, 0, 0, 0x13, 0, 0, 0, 0x6f, 0, 0, 0]);

function linuxImage(textOffset: bigint, imageSize: bigint, body = 256): Uint8Array {
  const b = new Uint8Array(64 + body);
  const v = view(b);
  b.set(CODE.subarray(0, 8)); // code0/code1: where Linux's Image jumps over its header
  v.setBigUint64(8, textOffset, true);
  v.setBigUint64(16, imageSize, true);
  v.setUint32(32, 2, true);
  b.set(new TextEncoder().encode('RISCV\0\0\0RSC\x05'), 48);
  b.set(CODE.subarray(0, body), 64);
  return b;
}

function uImage(load: number, entry: number, size: number, body: Uint8Array, type = 2, comp = 0): Uint8Array {
  const b = new Uint8Array(64 + body.length);
  const v = view(b);
  v.setUint32(0, 0x2705_1956); v.setUint32(12, size); v.setUint32(16, load); v.setUint32(20, entry);
  b[28] = 5; b[29] = 26; b[30] = type; b[31] = comp;
  b.set(body, 64);
  return b;
}

/** An ELF with `n` PT_LOADs at chosen physical addresses. */
function elf(segments: { paddr: bigint; filesz: bigint; memsz: bigint; offset?: bigint }[], payload: Uint8Array = CODE): Uint8Array {
  const b = new Uint8Array(0x1000 + Math.max(64, payload.length));
  const v = view(b);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true); v.setUint16(18, 243, true); v.setUint32(20, 1, true);
  v.setBigUint64(24, segments[0]?.paddr ?? 0n, true); v.setBigUint64(32, 64n, true);
  v.setUint16(52, 64, true); v.setUint16(54, 56, true); v.setUint16(56, segments.length, true);
  segments.forEach((s, i) => {
    const at = 64 + 56 * i;
    v.setUint32(at, 1, true); v.setUint32(at + 4, 7, true);
    v.setBigUint64(at + 8, s.offset ?? 0x1000n, true);
    v.setBigUint64(at + 16, s.paddr, true); v.setBigUint64(at + 24, s.paddr, true);
    v.setBigUint64(at + 32, s.filesz, true); v.setBigUint64(at + 40, s.memsz, true);
  });
  b.set(payload, 0x1000);
  return b;
}

function generate(rng: Rng): Uint8Array {
  const edge = () => (rng.chance(0.7) ? rng.pick(EDGE_64) : rng.u64());
  switch (rng.int(4)) {
    case 0: return linuxImage(rng.chance(0.5) ? 0x20_0000n : edge(), rng.chance(0.5) ? BigInt(rng.int(1 << 24)) : edge(), rng.int(512));
    case 1: {
      const body = CODE.slice();
      return uImage(rng.pick(EDGE_32), rng.pick(EDGE_32), rng.chance(0.7) ? body.length : rng.pick(EDGE_32), body, rng.pick([2, 2, 2, 1, 3, 14]), rng.pick([0, 0, 0, 1, 2]));
    }
    case 2: return elf(Array.from({ length: rng.int(4) }, () => ({
      paddr: rng.chance(0.6) ? RAM_BASE + BigInt(rng.int(RAM_BYTES * 2)) : edge(),
      filesz: rng.chance(0.7) ? BigInt(rng.int(16)) : edge(),
      memsz: rng.chance(0.7) ? BigInt(rng.int(1 << 24)) : edge(),
      offset: rng.chance(0.8) ? 0x1000n : edge(),
    })));
    default: {
      const raw = new Uint8Array(rng.int(64));
      for (let i = 0; i < raw.length; i++) raw[i] = rng.int(256);
      return raw;
    }
  }
}

/** Structured mutations: header fields of whichever format the input is. */
function mutate(input: Uint8Array, rng: Rng): Uint8Array {
  const b = input.slice();
  if (rng.chance(0.15)) return b.subarray(0, rng.int(b.length + 1)).slice();
  if (b.length < 64) return b;
  const v = view(b);
  if (v.getUint32(0, false) === 0x2705_1956) {
    const at = rng.pick([12, 16, 20]);
    v.setUint32(at, rng.pick(EDGE_32));
  } else if (b[0] === 0x7f && b[1] === 0x45) {
    const phoff = Number(v.getBigUint64(32, true) & 0xffffn), n = v.getUint16(56, true);
    if (n > 0 && phoff + 56 * n <= b.length) {
      const at = phoff + 56 * rng.int(n) + rng.pick([8, 24, 32, 40]);
      v.setBigUint64(at, rng.chance(0.5) ? rng.pick(EDGE_64) : v.getBigUint64(at, true) + BigInt(rng.range(-8, 8)) * 0x1000n, true);
    } else v.setUint16(56, rng.int(8), true);
  } else {
    v.setBigUint64(rng.pick([8, 16]), rng.pick(EDGE_64), true);
  }
  return b;
}

const outcomes = new Map<string, number>();
const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);

function run(input: Uint8Array): string | undefined {
  let vm: SystemVM;
  try {
    vm = SystemVM.create({ kernel: input, kernelName: 'k', memoryBytes: RAM_BYTES, cpuModule, maxInstructions: 20_000n, console: () => {}, diagnostics: () => {} });
  } catch (e) {
    if (e instanceof KernelImageError) { count(`refused: ${e.message.replace(/\b(0x[0-9a-f]+|\d+)\b/g, 'N').slice(3, 48)}`); return undefined; }
    return `SystemVM.create threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
  }
  try {
    const k = loadKernel(input, RAM_BASE, 'k', BigInt(RAM_BYTES));
    const top = RAM_BASE + BigInt(RAM_BYTES);
    for (const p of k.pieces) if (p.addr < RAM_BASE || p.addr + p.memSize > top) return `a piece at 0x${p.addr.toString(16)} (+0x${p.memSize.toString(16)}) is outside RAM`;
    if (k.entry < RAM_BASE || k.entry >= top) return `entry 0x${k.entry.toString(16)} is outside RAM`;
    let status: number | undefined;
    for (let steps = 0; status === undefined; steps++) {
      if (steps > 100_000) return 'the machine did not stop within its instruction limit';
      status = vm.step();
    }
    count(`ran: status ${status}`);
    return undefined;
  } catch (e) {
    return `a loaded kernel's run threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`;
  }
}

export const kernelTarget: FuzzTarget = {
  name: 'kernel',
  seeds(rng: Rng): NamedInput[] {
    const traps = new Uint8Array(readFileSync(new URL('../../guests/baremetal/bin/traps.elf', import.meta.url)));
    return [
      { name: 'traps.elf', bytes: traps },
      { name: 'image', bytes: linuxImage(0x20_0000n, 0x1000n) },
      { name: 'uimage', bytes: uImage(0x8020_0000, 0x8020_0000, CODE.length, CODE) },
      { name: 'elf', bytes: elf([{ paddr: 0x8020_0000n, filesz: 12n, memsz: 0x1000n }]) },
      // A vmlinux: physical addresses from 0, the Image header first; a second segment after it.
      { name: 'vmlinux', bytes: elf([{ paddr: 0n, filesz: 320n, memsz: 320n }, { paddr: 0x1000n, filesz: 64n, memsz: 0x2000n }], linuxImage(0x20_0000n, 0x3000n)) },
      { name: 'generated', bytes: generate(rng) },
    ];
  },
  generate,
  mutate,
  run,
};

describe('kernel inputs the fuzz target is built around', () => {
  const vmlinux = (second: bigint) => elf([{ paddr: 0n, filesz: 320n, memsz: 320n }, { paddr: second, filesz: 64n, memsz: 64n }], linuxImage(0x20_0000n, 0x3000n));
  it('a vmlinux-shaped ELF loads as its Image would', () => {
    const k = loadKernel(vmlinux(0x1000n), RAM_BASE, 'k', BigInt(RAM_BYTES));
    expect(k.format).toBe('vmlinux');
    expect(k.entry).toBe(0x8020_0000n);
    expect(k.pieces[0].bytes.length).toBe(0x1000 + 64);
  });
  it('a vmlinux whose segments lie far apart is refused before its flat copy is made (no allocation from the file\'s sizes)', () => {
    const before = process.memoryUsage().arrayBuffers;
    expect(() => loadKernel(vmlinux(0x3000_0000n), RAM_BASE, 'k', BigInt(RAM_BYTES))).toThrow(/^k: the kernel \(a Linux vmlinux\) spans 805306432 bytes, more than the VM's RAM \(8388608; raise --mem\)$/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });
});

describe('fuzz: the system VM\'s kernel loader', () => {
  it('gives a KernelImageError or a machine whose kernel is in RAM and runs, for every input', () => {
    const b = budget(300);
    const report = fuzz(kernelTarget, { ...b, corpusDir });
    console.log(`fuzz kernel: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s (${(report.iterations / (report.ms / 1000)).toFixed(0)}/s), seed ${JSON.stringify(report.seed)}`);
    const top = [...outcomes].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, n]) => `${n} ${k}`).join('; ');
    console.log(`fuzz kernel outcomes: ${top}`);
    if (report.failures.length) throw new Error(describeFailures(report));
    if (process.env.RINGVISOR_FUZZ_REPLAY === undefined) expect(report.iterations).toBeGreaterThan(0);
  }, fuzzTimeout());
});
