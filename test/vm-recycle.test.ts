// ProcessVM.dispose and the CPUs it hands on: a VM made from a recycled CPU
// must be indistinguishable from one made from a new instance — same state
// bytes, every byte of guest RAM it did not load itself zero, same output —
// and a disposed VM refuses to run.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ProcessVM } from '../src/index.js';
import { Cpu } from '../src/cpu/cpu.js';
import { loadCpuModule } from '../src/node/load.js';

const elf = (name: string) => new Uint8Array(readFileSync(new URL(`../guests/bin/${name}`, import.meta.url)));
const MEMORY = 64 * 1024 * 1024;

const output = new WeakMap<ProcessVM, string[]>();

function make(module: WebAssembly.Module, program: string, argv: string[]): ProcessVM {
  const out: string[] = [];
  const vm = ProcessVM.create(elf(program), {
    cpuModule: module, memoryBytes: MEMORY, argv, stdout: (b) => { out.push(Buffer.from(b).toString()); },
    // Translating early and often, so that a recycled CPU's translations are tested.
    jitThreshold: 64, jitWarmup: 0n,
  });
  output.set(vm, out);
  return vm;
}

function run(vm: ProcessVM): { status: number; out: string } {
  const status = vm.runSync();
  return { status, out: output.get(vm)!.join('') };
}

/** The CPU's state bytes below its caches (registers to exit counters). */
function stateBytes(cpu: Cpu): Uint8Array {
  const l = cpu.layout;
  const exports = (cpu as unknown as { exports: { memory: WebAssembly.Memory } }).exports;
  return new Uint8Array(exports.memory.buffer, 0, l.EXIT_COUNTS + l.EXIT_REASON_COUNT * 8).slice();
}

describe('ProcessVM.dispose', () => {
  it('hands its CPU to the next VM, which starts as a new one would', () => {
    const module = loadCpuModule('release');
    // A guest that writes much of its memory (heap, stack, mmap) and is translated.
    const first = make(module, 'libc-alloc.elf', ['libc-alloc']);
    const firstRun = run(first);
    const cpu = first.cpu;
    first.dispose();

    const again = make(module, 'hello.elf', ['hello', 'x']);
    expect(again.cpu).toBe(cpu);
    const fresh = make(loadCpuModule('release'), 'hello.elf', ['hello', 'x']);
    expect(fresh.cpu).not.toBe(cpu);
    // Same state bytes as a VM on a new instance (before either runs).
    expect(Buffer.from(stateBytes(again.cpu)).equals(Buffer.from(stateBytes(fresh.cpu)))).toBe(true);
    // Guest RAM: byte for byte what a new VM holds (its loader's writes and
    // the initial stack, whose random bytes differ: compared outside them).
    // (By RAM offset: the same program gets the same RAM for the same addresses.)
    const a = again.cpu.ramView(0, MEMORY);
    const b = fresh.cpu.ramView(0, MEMORY);
    const stackTop = again.cpu.ramOffsetOf(again.memory.stackTop - 1n)! + 1;
    let differing = 0;
    for (let i = 0; i < MEMORY; i++) {
      if (a[i] !== b[i] && (i < stackTop - 4096 || i >= stackTop)) differing++;
    }
    expect(differing).toBe(0);
    const freshRun = run(fresh);
    expect(freshRun.status).toBe(0);
    expect(run(again)).toEqual(freshRun);
    expect(firstRun.status).toBe(0);
  });

  it('a recycled CPU runs translated code as a new one does', () => {
    const module = loadCpuModule('release');
    const outs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const vm = make(module, 'workload.elf', ['workload', '3']);
      const r = run(vm);
      expect(r.status).toBe(0);
      expect(vm.cpu.jitStats?.translated ?? 0).toBeGreaterThan(0);
      outs.push(r.out);
      vm.dispose();
    }
    expect(new Set(outs).size).toBe(1);
  });

  it('a disposed VM refuses to run or be called', async () => {
    const vm = make(loadCpuModule('release'), 'vmcall.elf', ['vmcall']);
    vm.dispose();
    vm.dispose(); // twice is harmless
    expect(() => vm.runSync()).toThrow(/disposed/);
    await expect(vm.run()).rejects.toThrow(/disposed/);
    expect(() => vm.callSync('add', 1, 2)).toThrow(/disposed/);
  });
});
