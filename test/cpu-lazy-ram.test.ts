// Lazy RAM (Cpu.configureRam's `lazy`, Cpu.holdRam): in page-permission
// mode linear memory holds only the RAM that slots have been given, and grows
// as ring -1 gives more, so a short program does not make V8 collect
// garbage for a 4 GiB buffer. Checked: what is held, that the guest and ring
// -1 reach RAM given after the memory grew (interpreted and translated),
// that views by offset, flat mode and a restored CPU record hold what they
// reach, that a process VM holds what its program uses, and that a system
// call gathering several buffers survives the memory growing between two
// of them.
import { describe, expect, it } from 'vitest';
import { asm, assemble } from './support/rvasm.js';
import { debugModule, describeExit, ExitControl, ExitReason } from './support/machine.js';
import { Cpu, MemoryMode, Perm } from '../src/cpu/cpu.js';
import { ProcessVM } from '../src/index.js';
import { hello, make, sys, GuestScratch } from './support/process.js';

const MiB = 1024 * 1024;
const CODE_SLOT = 0x100, DATA_SLOT = 0x300;

function lazyCpu(): Cpu {
  const cpu = new Cpu(debugModule());
  cpu.configureRam(0n, cpu.maxRamBytes, true);
  cpu.memoryMode = MemoryMode.PagePermissions;
  cpu.exitControls = ExitControl.EcallU | ExitControl.Ebreak;
  return cpu;
}

const addressOf = (cpu: Cpu, slot: number): bigint => BigInt(slot * cpu.slotBytes);

describe('lazy RAM', () => {
  it('holds little until a slot needs more, then grows to cover it, not to all of RAM', () => {
    const cpu = lazyCpu();
    expect(cpu.ramLength).toBe(cpu.maxRamBytes);
    expect(cpu.ramHeld).toBeLessThanOrEqual(16 * MiB);
    const high = 1024 * MiB;
    cpu.setSlot(DATA_SLOT, high);
    expect(cpu.ramHeld).toBeGreaterThanOrEqual(high + cpu.slotBytes);
    expect(cpu.ramHeld).toBeLessThan(Number(cpu.ramLength));
    // Beyond RAM is refused as before, without growing.
    const held = cpu.ramHeld;
    expect(() => cpu.setSlot(DATA_SLOT + 1, Number(cpu.ramLength))).toThrow(RangeError);
    expect(cpu.ramHeld).toBe(held);
  });

  for (const tier of ['interpreted', 'translated'] as const) {
    it(`the guest (${tier}) and ring -1 reach RAM given after the memory grew`, () => {
      const cpu = lazyCpu();
      if (tier === 'translated') { cpu.jitWarmup = 0n; cpu.jitThreshold = 8; }
      const code = addressOf(cpu, CODE_SLOT), data = addressOf(cpu, DATA_SLOT);
      cpu.setSlot(CODE_SLOT, cpu.slotBytes);
      // A loop that loads a word and stores it 8 bytes on, 20 times.
      cpu.writeBytes(code, assemble([
        asm('addi t0, zero, 20'),
        asm('ld a0, 0(a1)'),
        asm('sd a0, 8(a1)'),
        asm('addi t0, t0, -1'),
        asm('bne t0, zero, -12'),
        asm('ebreak'),
      ]));
      cpu.setPagePermissions(code, 4096, Perm.R | Perm.X);
      const before = cpu.ramHeld;
      const offset = 3 * 1024 * MiB;
      cpu.setSlot(DATA_SLOT, offset);
      expect(cpu.ramHeld).toBeGreaterThan(before);
      cpu.setPagePermissions(data, 4096, Perm.R | Perm.W);
      cpu.writeBytes(data, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      cpu.pc = code;
      cpu.setX(11, data);
      const reason = cpu.run(10_000n);
      expect(reason, describeExit(cpu)).toBe(ExitReason.Ebreak);
      expect(cpu.x(10)).toBe(0x0807060504030201n);
      expect([...cpu.readBytes(data + 8n, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      // The same bytes, by their offset in RAM.
      expect([...cpu.ramView(offset + 8, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });
  }

  it('a view by offset of RAM not yet held grows the memory to it, and reads zeros', () => {
    const cpu = lazyCpu();
    const offset = 2048 * MiB;
    expect(cpu.ramHeld).toBeLessThan(offset);
    const view = cpu.ramView(offset, 4096);
    expect(view.length).toBe(4096);
    expect(view.every((b) => b === 0)).toBe(true);
    expect(cpu.ramHeld).toBeGreaterThanOrEqual(offset + 4096);
  });

  it('flat mode holds all of RAM', () => {
    const cpu = lazyCpu();
    cpu.memoryMode = MemoryMode.Flat;
    expect(cpu.ramHeld).toBe(Number(cpu.ramLength));
  });

  it('a CPU record restored onto a fresh lazy CPU holds the RAM of its slots', () => {
    const cpu = lazyCpu();
    const offset = 1536 * MiB;
    cpu.setSlot(DATA_SLOT, offset);
    cpu.setPagePermissions(addressOf(cpu, DATA_SLOT), 4096, Perm.R | Perm.W);
    const record = cpu.saveState();
    const fresh = lazyCpu();
    expect(fresh.ramHeld).toBeLessThan(offset);
    fresh.restoreState(record);
    expect(fresh.ramHeld).toBeGreaterThanOrEqual(offset + fresh.slotBytes);
    fresh.writeBytes(addressOf(fresh, DATA_SLOT), new Uint8Array([9]));
    expect(fresh.ramView(offset, 1)[0]).toBe(9);
  });

  it('a process VM holds what its program uses, not its 4 GiB', () => {
    const out: string[] = [];
    const vm = ProcessVM.create(hello, { cpuModule: debugModule(), programName: 'hello', stdout: (b) => out.push(new TextDecoder().decode(b)) });
    expect(vm.runSync()).toBe(0);
    expect(out.join('')).toMatch(/hello/i);
    expect(vm.cpu.ramHeld).toBeLessThanOrEqual(16 * MiB);
    vm.dispose();
  });

  it('writev gathers its buffers whole when one of them grows the memory', () => {
    const { p } = make();
    const s = new GuestScratch(p);
    const fds = s.alloc(8), iov = s.alloc(32), got = s.alloc(16), first = s.alloc(8);
    expect(sys(p, 'pipe2', fds, 0n)).toBe(0n);
    const [rd, wr] = [BigInt(p.cpu.read32(fds)), BigInt(p.cpu.read32(fds + 4n))];
    const marker = new TextEncoder().encode('gathered');
    p.cpu.writeBytes(first, marker);
    // Fresh pages, one per slot: reading each gives its slot RAM, and one
    // of them needs more than the memory holds.
    const SLOTS = 384, len = BigInt(SLOTS * p.cpu.slotBytes);
    const region = sys(p, 'mmap', 0n, len, 3n /* PROT_READ | PROT_WRITE */, 0x22n /* MAP_PRIVATE | MAP_ANONYMOUS */, -1n, 0n);
    expect(region).toBeGreaterThan(0n);
    const held = p.cpu.ramHeld;
    for (let k = 0; k < SLOTS; k++) {
      const fresh = region + BigInt(k * p.cpu.slotBytes);
      const v = new DataView(new ArrayBuffer(32));
      v.setBigUint64(0, first, true); v.setBigUint64(8, 8n, true);
      v.setBigUint64(16, fresh, true); v.setBigUint64(24, 8n, true);
      p.cpu.writeBytes(iov, new Uint8Array(v.buffer));
      expect(sys(p, "writev", wr, iov, 2n), `slot ${k} of 0x${region.toString(16)}`).toBe(16n);
      expect(sys(p, 'read', rd, got, 16n)).toBe(16n);
      expect(new TextDecoder().decode(p.cpu.readBytes(got, 8)), `slot ${k}`).toBe('gathered');
      expect([...p.cpu.readBytes(got + 8n, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    }
    expect(p.cpu.ramHeld).toBeGreaterThan(held);
  });
});
