// ProcessVM.call: the host calling guest functions by symbol (src/linux/vmcall.ts),
// mostly on guests/libc/vmcall.c after its main has run (glibc initialised),
// also before run() on freestanding code and on a static PIE: results, a
// two-word result, repeated calls with state kept between them, strings and
// buffers in and out, printf reaching the stdout sink, malloc, the registers
// restored, and each way a call fails.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  ProcessVM, vmcall, VmCallError, UnknownSymbolError, CallArgumentError, CallBudgetError,
  CallFaultError, CallExitError, CallBusyError, CallStackError, Cause, type ProcessVMOptions,
} from '../src/index.js';

const guest = (name: string) => new Uint8Array(readFileSync(new URL(`../guests/bin/${name}.elf`, import.meta.url)));
const vmcallElf = guest('vmcall');

interface Made {
  vm: ProcessVM;
  stdout: () => string;
  stderr: () => string;
}

function make(elf = vmcallElf, options: ProcessVMOptions = {}): Made {
  const out: Buffer[] = [], err: Buffer[] = [];
  const vm = ProcessVM.create(elf, {
    programName: 'vmcall',
    memoryBytes: 64 * 1024 * 1024,
    stdout: (b) => out.push(Buffer.from(b)),
    stderr: (b) => err.push(Buffer.from(b)),
    ...options,
  });
  return { vm, stdout: () => Buffer.concat(out).toString(), stderr: () => Buffer.concat(err).toString() };
}

/** A VM whose main has run and returned (exit_group called): glibc is initialised. */
async function ran(): Promise<Made> {
  const m = make();
  expect(await m.vm.run()).toBe(0);
  expect(m.stdout()).toBe('vmcall guest: main ran\n');
  return m;
}

function registers(vm: ProcessVM): bigint[] {
  const r: bigint[] = [vm.cpu.pc, BigInt(vm.cpu.fcsr)];
  for (let i = 1; i < 32; i++) r.push(vm.cpu.x(i), vm.cpu.f(i));
  return r;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('the call did not fail');
}

describe('ProcessVM.call after run()', () => {
  it('returns a0 of integer functions, with up to 8 arguments', async () => {
    const { vm } = await ran();
    expect(await vm.call('add', 2, 40)).toBe(42n);
    expect(await vm.call('add', 1n << 40n, 5n)).toBe((1n << 40n) + 5n);
    expect(await vm.call('sum8', 1, 1, 1, 1, 1, 1, 1, 1)).toBe(36n);
    expect(await vm.call('fib', 20)).toBe(6765n);
    // a0 is unsigned; the psABI sign-extends a negative long into it.
    expect(BigInt.asIntN(64, await vm.call('negate', 5))).toBe(-5n);
    expect(await vm.call('negate', -7)).toBe(7n);
    expect(vm.callSync('add', 3, 4)).toBe(7n);
  });

  it('gives a1 and the instruction count through vmcall()', async () => {
    const { vm } = await ran();
    const r = await vmcall(vm, 'divide', [17, 5]);
    expect([r.a0, r.a1]).toEqual([3n, 2n]);
    const add = await vmcall(vm, 'add', [1, 2]);
    expect(add.instructions).toBeGreaterThan(0n);
    expect(add.instructions).toBeLessThan(10n);
  });

  it('keeps guest state between calls and restores every register', async () => {
    const { vm } = await ran();
    const before = registers(vm);
    expect(await vm.call('next_count')).toBe(1n);
    expect(await vm.call('next_count')).toBe(2n);
    expect(vm.callSync('next_count')).toBe(3n);
    expect(registers(vm)).toEqual(before);
    await rejection(vm.call('fault'));
    await rejection(vm.call('spin', { budget: 10_000n }));
    expect(registers(vm)).toEqual(before);
    expect(await vm.call('next_count')).toBe(4n);
  });

  it('passes strings and buffers on the stack, and copies buffers back', async () => {
    const { vm } = await ran();
    const bytes = new Uint8Array(1000).map((_, i) => i & 0xff);
    expect(await vm.call('sum_bytes', bytes, bytes.length)).toBe(BigInt(bytes.reduce((a, b) => a + b, 0)));
    const text = new TextEncoder().encode('hello, world');
    await vm.call('upcase', text, text.length);
    expect(new TextDecoder().decode(text)).toBe('HELLO, WORLD');
    // A string is NUL-terminated UTF-8.
    expect(await vm.call('strlen', 'grüße')).toBe(7n);
  });

  it('lets the function print (stdout reopened after exit) and use malloc', async () => {
    const { vm, stdout } = await ran();
    expect(await vm.call('greet', 'world')).toBe(13n);
    expect(await vm.call('greet', 'again')).toBe(13n);
    expect(stdout()).toBe('vmcall guest: main ran\nhello, world\nhello, again\n');
    const p = await vm.call('make_greeting', 'ringvisor');
    expect(p).not.toBe(0n);
    expect(new TextDecoder().decode(vm.cpu.readCString(p))).toBe('hi, ringvisor!');
    await vm.call('free', p);
    // Host-written data through guest malloc, for data that outlives a call.
    const q = await vm.call('malloc', 4);
    vm.cpu.writeBytes(q, new Uint8Array([1, 2, 3, 250]));
    expect(await vm.call('sum_bytes', q, 4)).toBe(256n);
    expect(vm.syscallCounts.get('write')).toBeGreaterThanOrEqual(3);
  });
});

describe('ProcessVM.call errors', () => {
  it('names an unknown symbol', async () => {
    const { vm } = await ran();
    const e = await rejection(vm.call('no_such_function'));
    expect(e).toBeInstanceOf(UnknownSymbolError);
    expect(e).toBeInstanceOf(VmCallError);
    expect((e as UnknownSymbolError).symbol).toBe('no_such_function');
    expect(e.message).toMatch(/no symbol 'no_such_function' among the program's \d+ symbols/);
  });

  it('stops at the budget, saying how many instructions and where', async () => {
    const { vm } = await ran();
    const e = await rejection(vm.call('spin', { budget: 100_000n }));
    expect(e).toBeInstanceOf(CallBudgetError);
    const b = e as CallBudgetError;
    expect(b.instructions).toBe(100_000n);
    const spin = vm.image.symbols.get('spin')!;
    expect(b.pc >= spin && b.pc < spin + 16n).toBe(true);
    expect(e.message).toBe(`call spin: did not return within 100000 instructions (pc 0x${b.pc.toString(16)})`);
    expect(() => vm.callSync('spin', { budget: 1000n })).toThrow(CallBudgetError);
  });

  it('reports a fault with its signal, pc and address', async () => {
    const { vm } = await ran();
    const e = await rejection(vm.call('fault'));
    expect(e).toBeInstanceOf(CallFaultError);
    const f = e as CallFaultError;
    expect(f.signal).toBe(11);
    // (Address 16 is in the user range, unmapped: a page fault, as on Linux.)
    expect(f.trapCause).toBe(Cause.LoadPageFault);
    expect(f.addr).toBe(16n);
    const fault = vm.image.symbols.get('fault')!;
    expect(f.pc >= fault && f.pc < fault + 32n).toBe(true);
    expect(e.message).toMatch(/^call fault: signal 11 \(load from a page not mapped readable\) at pc 0x[0-9a-f]+, address 0x10$/);
  });

  it('reports exit, and a fatal signal, inside the call', async () => {
    const { vm, stderr } = await ran();
    const e = await rejection(vm.call('quit', 7));
    expect(e).toBeInstanceOf(CallExitError);
    expect((e as CallExitError).status).toBe(7);
    // abort(): SIGABRT's default action, status 128 + 6.
    const a = await rejection(vm.call('die'));
    expect(a).toBeInstanceOf(CallExitError);
    expect((a as CallExitError).status).toBe(134);
    expect(stderr()).toMatch(/uncaught target signal 6 \(Aborted\)/);
    // The VM is still usable.
    expect(await vm.call('add', 1, 1)).toBe(2n);
  });

  it('refuses arguments that do not fit', async () => {
    const { vm } = await ran();
    expect(() => vm.callSync('add', 1, 2, 3, 4, 5, 6, 7, 8, 9)).toThrow(CallArgumentError);
    expect(() => vm.callSync('add', 1.5, 2)).toThrow(/argument 0: 1.5 is not a safe integer/);
    expect(() => vm.callSync('add', 1n << 64n, 2)).toThrow(/does not fit in 64 bits/);
    expect(() => vm.callSync('sum_bytes', new Uint8Array(16 * 1024 * 1024), 1)).toThrow(/do not fit on the guest's stack/);
    expect(await vm.call('add', -1, 1)).toBe(0n);
  });

  it('refuses to call on a stack pointer outside writable memory', async () => {
    const { vm } = await ran();
    const sp = vm.cpu.x(2);
    vm.cpu.setX(2, 0x1000n);
    const e = await rejection(vm.call('add', 1, 2));
    expect(e).toBeInstanceOf(CallStackError);
    expect((e as CallStackError).sp).toBe(0x1000n);
    vm.cpu.setX(2, sp);
    expect(await vm.call('add', 1, 2)).toBe(3n);
  });

  it('does not nest or overlap calls', async () => {
    const { vm } = await ran();
    // Enough instructions that even translated code cannot finish them
    // before the call first yields (after 20 ms).
    const long = vm.call('spin', { budget: 1_000_000_000n });
    expect(() => vm.callSync('add', 1, 2)).toThrow(CallBusyError);
    expect(await rejection(long)).toBeInstanceOf(CallBudgetError);
    expect(vm.callSync('add', 1, 2)).toBe(3n);
  });
});

describe('ProcessVM.call without run()', () => {
  it('calls freestanding code before the program has started', () => {
    const { vm } = make(guest('hello'));
    const pc = vm.cpu.pc;
    expect(vm.callSync('rt_strlen', 'freestanding')).toBe(12n);
    expect(vm.cpu.pc).toBe(pc);
  });

  it('calls pure functions of a glibc program before main, then runs it', async () => {
    const { vm, stdout } = make();
    expect(vm.callSync('fib', 10)).toBe(55n);
    expect(await vm.run()).toBe(0);
    expect(stdout()).toBe('vmcall guest: main ran\n');
  });

  it('finds symbols of a static PIE where the loader put them', async () => {
    const { vm } = make(guest('static-pie'));
    const add = vm.image.symbols.get('add')!;
    expect(add > vm.image.loadBias).toBe(true);
    expect(vm.callSync('add', 7, 3)).toBe(10n);
    expect(await vm.run()).toBe(0);
    expect(await vm.call('mul', 6, 7)).toBe(42n);
  });
});
