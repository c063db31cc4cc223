// The process VM's address space and memory system calls, called directly:
// the cases a differential program cannot show (QEMU differs from Linux, or
// the host's memory is the limit), and page permissions as the CPU sees them.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ProcessVM, Cause, ExitReason } from '../src/index.js';
import { Cpu, MemoryMode, Perm } from '../src/cpu/cpu.js';
import { AddressSpace } from '../src/linux/address-space.js';
import { loadCpuModule } from '../src/node/load.js';
import { SYSCALLS } from '../src/linux/syscalls.js';
import { GuestScratch } from './support/process.js';
import { parseElf } from '../src/linux/elf.js';

const hello = new Uint8Array(readFileSync(new URL('../guests/bin/hello.elf', import.meta.url)));
const PAGE = 4096n;
const PROT_R = 1n, PROT_W = 2n, PROT_X = 4n;
const MAP_PRIVATE = 0x02n, MAP_FIXED = 0x10n, MAP_ANONYMOUS = 0x20n, MAP_NORESERVE = 0x4000n, MAP_FIXED_NOREPLACE = 0x100000n;
const ENOMEM = -12n, EEXIST = -17n, EINVAL = -22n, EFAULT = -14n;

function vm(memoryBytes = 64 * 1024 * 1024): ProcessVM {
  return ProcessVM.create(hello, { programName: 'hello', memoryBytes });
}

function sys(p: ProcessVM, name: string, ...args: bigint[]): bigint {
  for (const entry of SYSCALLS.values()) {
    if (entry.name === name) return entry.handler(p, [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6));
  }
  throw new Error(`no system call ${name}`);
}

const anon = (p: ProcessVM, len: bigint, prot = PROT_R | PROT_W, flags = 0n, addr = 0n) =>
  sys(p, 'mmap', addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1n, 0n);

// Runs one instruction word at a fresh executable page and returns the exit.
function runAt(p: ProcessVM, code: number[]) {
  const at = anon(p, PAGE, PROT_R | PROT_W | PROT_X);
  code.forEach((w, i) => p.cpu.writeBytes(at + BigInt(i * 4), new Uint8Array(new Uint32Array([w]).buffer)));
  p.cpu.pc = at;
  p.cpu.run(BigInt(code.length));
  return p.cpu.exit;
}

describe('clearing pages (unmap, MADV_DONTNEED)', () => {
  it('zeroes only the pages that hold something, and says how many', () => {
    const p = vm();
    const at = anon(p, 4n * PAGE);
    p.cpu.writeBytes(at + PAGE + 4095n, new Uint8Array([7]));
    p.cpu.writeBytes(at + 3n * PAGE, new Uint8Array([1, 2, 3]));
    expect(p.cpu.clearTouchedPages(at, 4 * 4096)).toBe(2);
    expect(p.cpu.readBytes(at, 4 * 4096).every((b) => b === 0)).toBe(true);
    expect(p.cpu.clearTouchedPages(at, 4 * 4096)).toBe(0);
    expect(() => p.cpu.clearTouchedPages(at + 1n, 4096)).toThrow(RangeError);
    expect(() => p.cpu.clearTouchedPages(p.memory.stackTop, 4096)).toThrow(/outside guest RAM/);
  });

  it('MADV_DONTNEED reads back as zero', () => {
    const p = vm();
    const at = anon(p, 3n * PAGE);
    p.cpu.writeBytes(at + PAGE, new Uint8Array([9, 9]));
    expect(sys(p, 'madvise', at, 3n * PAGE, 4n /* MADV_DONTNEED */)).toBe(0n);
    expect(p.cpu.read8(at + PAGE)).toBe(0);
  });
});

describe('mmap', () => {
  it('places mappings top-down below the stack, page-aligned and zeroed', () => {
    const p = vm();
    const a = anon(p, 10_000n);
    const b = anon(p, PAGE);
    expect(a % PAGE).toBe(0n);
    expect(b).toBe(a - PAGE);
    expect(a + 3n * PAGE).toBeLessThan(p.memory.stackTop);
    expect([...p.cpu.readBytes(a, 10_000)].every((x) => x === 0)).toBe(true);
  });

  it('maps more than --mem, as Linux overcommits, and returns ENOMEM, not a crash, when the address space is full', () => {
    const p = vm(); // 64 MiB of memory
    expect(anon(p, 1n << 40n)).toBe(ENOMEM); // more than the whole address space
    // Linux's heuristic overcommit refuses one writable private mapping
    // larger than RAM, and nothing else: not PROT_NONE, not MAP_NORESERVE.
    expect(anon(p, 65n << 20n)).toBe(ENOMEM);
    expect(anon(p, 64n << 20n)).toBeGreaterThan(0n);
    expect(anon(p, 65n << 20n, 0n)).toBeGreaterThan(0n);
    expect(anon(p, 65n << 20n, PROT_R | PROT_W, MAP_NORESERVE)).toBeGreaterThan(0n);
    // Reservations fill the address space (about 4 GiB), costing nothing.
    let n = 0;
    while (anon(p, 64n << 20n, 0n) > 0n) n++;
    expect(n).toBeGreaterThan(55);
    let pages = 0;
    while (anon(p, PAGE, 0n) > 0n) pages++;
    expect(pages).toBeLessThan(64 * 256);
    expect(anon(p, PAGE)).toBe(ENOMEM);
    expect(sys(p, 'brk', sys(p, 'brk', 0n) + PAGE)).toBe(sys(p, 'brk', 0n)); // nor the break
    expect(p.cpu.memoryUsed).toBeLessThan(64);
  });

  it('MAP_FIXED_NOREPLACE refuses an occupied range with EEXIST (Linux; QEMU 7.2 differs)', () => {
    const p = vm();
    const a = anon(p, 2n * PAGE);
    expect(anon(p, PAGE, PROT_R, MAP_FIXED_NOREPLACE, a + PAGE)).toBe(EEXIST);
    expect(anon(p, PAGE, PROT_R, MAP_FIXED_NOREPLACE, a - 16n * PAGE)).toBe(a - 16n * PAGE);
  });

  it('MAP_FIXED outside guest memory is ENOMEM; a bad offset or protection is EINVAL', () => {
    const p = vm();
    expect(anon(p, PAGE, PROT_R, MAP_FIXED, 0x7000_0000_0000n)).toBe(ENOMEM);
    expect(sys(p, 'mmap', 0n, PAGE, PROT_R, MAP_PRIVATE | MAP_ANONYMOUS, -1n, 123n)).toBe(EINVAL);
    expect(anon(p, PAGE, 8n)).toBe(EINVAL);
  });

  it('mprotect of unmapped memory is ENOMEM; mremap of it is EFAULT', () => {
    const p = vm();
    const a = anon(p, PAGE);
    sys(p, 'munmap', a, PAGE);
    expect(sys(p, 'mprotect', a, PAGE, PROT_R)).toBe(ENOMEM);
    expect(sys(p, 'mremap', a, PAGE, 2n * PAGE, 1n, 0n)).toBe(EFAULT);
  });

  it('mremap without MAYMOVE cannot grow into a neighbour', () => {
    const p = vm();
    const upper = anon(p, PAGE);
    const lower = anon(p, PAGE);
    expect(lower + PAGE).toBe(upper);
    expect(sys(p, 'mremap', lower, PAGE, 2n * PAGE, 0n, 0n)).toBe(ENOMEM);
    p.cpu.write64(lower, 0x1234n);
    const moved = sys(p, 'mremap', lower, PAGE, 2n * PAGE, 1n, 0n);
    expect(moved).toBeGreaterThan(0n);
    expect(p.cpu.read64(moved)).toBe(0x1234n);
    expect(p.memory.space.permissions(lower)).toBeUndefined();
  });

  it('brk stops at a mapping in its way', () => {
    const p = vm();
    const start = sys(p, 'brk', 0n);
    anon(p, PAGE, PROT_R, MAP_FIXED, start + 4n * PAGE);
    expect(sys(p, 'brk', start + 2n * PAGE)).toBe(start + 2n * PAGE);
    expect(sys(p, 'brk', start + 8n * PAGE)).toBe(start + 2n * PAGE);
  });

  it('tracks peak mapped memory', () => {
    const p = vm();
    const before = p.memory.space.peakBytes;
    const a = anon(p, 1n << 20n);
    sys(p, 'munmap', a, 1n << 20n);
    expect(p.memory.space.peakBytes - before).toBe(1 << 20);
  });

  // Go's runtime reserves gigabytes PROT_NONE and unmaps most of it again:
  // whole 2 MiB leaves are mapped and unmapped without a step per page.
  it('maps and unmaps reservations of whole leaves and parts of them, counting each page once', () => {
    const p = vm();
    const s = p.memory.space;
    const before = s.peakBytes;
    const MiB = 1n << 20n;
    // 64 MiB PROT_NONE at 1 MiB past a 2 MiB boundary: partial leaves at both ends.
    const at = anon(p, 66n * MiB, 0n) + MiB;
    expect(sys(p, 'munmap', at - MiB, MiB)).toBe(0n);
    expect(sys(p, 'munmap', at + 64n * MiB, MiB)).toBe(0n);
    expect(s.peakBytes - before).toBe(66 * 1024 * 1024);
    expect(s.isMapped(at, 64n * MiB)).toBe(true);
    // A page in the middle opened, then everything but 3 MiB at the start unmapped.
    expect(sys(p, 'mprotect', at + 10n * MiB, PAGE, PROT_R | PROT_W)).toBe(0n);
    p.cpu.write64(at + 10n * MiB, 7n);
    expect(sys(p, 'munmap', at + 3n * MiB, 61n * MiB)).toBe(0n);
    expect(s.isMapped(at, 3n * MiB)).toBe(true);
    expect(s.permissions(at + 3n * MiB - PAGE)).toBe(0);
    expect(s.permissions(at + 3n * MiB)).toBeUndefined();
    expect(s.permissions(at + 10n * MiB)).toBeUndefined();
    // Mapped again there: fresh, zero pages, and the peak counts the 64 MiB once.
    expect(anon(p, PAGE, PROT_R | PROT_W, MAP_FIXED, at + 10n * MiB)).toBe(at + 10n * MiB);
    expect(p.cpu.read64(at + 10n * MiB)).toBe(0n);
    expect(s.peakBytes - before).toBe(66 * 1024 * 1024);
    // The rest goes.
    expect(sys(p, 'munmap', at, 3n * MiB)).toBe(0n);
    expect(s.isMapped(at, PAGE)).toBe(false);
    expect(s.isMapped(at + 10n * MiB, PAGE)).toBe(true);
  });

  // Go's reservations: whole 2 MiB leaves of one state, then changed whole
  // and in part, copied by fork and saved, through AddressSpace itself.
  it('reserved whole leaves: protected whole, opened in part, copied by fork and saved, read as their state says', () => {
    const module = loadCpuModule('release');
    const space = (): AddressSpace => {
      const cpu = new Cpu(module);
      cpu.configureRam(0n, cpu.maxRamBytes, true);
      cpu.memoryMode = MemoryMode.PagePermissions;
      return new AddressSpace(cpu);
    };
    const s = space(), cpu = (s as unknown as { cpu: Cpu }).cpu;
    const MiB = 1n << 20n, LEAF = 2n * MiB;
    const at = 0x40_0000_0000n - 16n * LEAF; // leaf-aligned, well inside the user range
    s.map(at, 8n * LEAF, 0);
    expect(s.isMapped(at, 8n * LEAF)).toBe(true);
    expect(s.permissions(at + 3n * LEAF + 5n * PAGE)).toBe(0);
    expect(s.peakBytes).toBe(Number(8n * LEAF));
    // A whole leaf made readable, another writable: every page says so.
    expect(s.protect(at + LEAF, LEAF, Perm.R)).toBe(true);
    expect(s.protect(at + 2n * LEAF, LEAF, Perm.R | Perm.W)).toBe(true);
    expect(s.permissions(at + LEAF + 100n * PAGE)).toBe(Perm.R);
    expect(cpu.read64(at + LEAF + 100n * PAGE)).toBe(0n);
    cpu.write64(at + 2n * LEAF + 7n * PAGE, 0x1234n);
    expect(cpu.read64(at + 2n * LEAF + 7n * PAGE)).toBe(0x1234n);
    // One page of another leaf opened: the others keep PROT_NONE.
    expect(s.protect(at + 3n * LEAF + 9n * PAGE, PAGE, Perm.R | Perm.W)).toBe(true);
    expect(s.permissions(at + 3n * LEAF + 9n * PAGE)).toBe(Perm.R | Perm.W);
    expect(s.permissions(at + 3n * LEAF + 8n * PAGE)).toBe(0);
    expect(s.permissions(at + 3n * LEAF + 10n * PAGE)).toBe(0);
    // Fork's copy: the same states, the written page's bytes.
    const child = space(), childCpu = (child as unknown as { cpu: Cpu }).cpu;
    s.copyInto(child);
    for (const [a, p] of [[at, 0], [at + LEAF + 3n * PAGE, Perm.R], [at + 2n * LEAF, Perm.R | Perm.W], [at + 3n * LEAF + 9n * PAGE, Perm.R | Perm.W], [at + 5n * LEAF, 0]] as const) {
      expect(child.permissions(a)).toBe(p);
    }
    expect(childCpu.read64(at + 2n * LEAF + 7n * PAGE)).toBe(0x1234n);
    // Unmapped whole and in part; what is left is still what it was.
    s.unmap(at + 4n * LEAF, 2n * LEAF);
    s.unmap(at + 6n * LEAF + 17n * PAGE, PAGE);
    expect(s.isMapped(at + 4n * LEAF, PAGE)).toBe(false);
    expect(s.isMapped(at + 6n * LEAF + 17n * PAGE, PAGE)).toBe(false);
    expect(s.isMapped(at + 6n * LEAF + 18n * PAGE, PAGE)).toBe(true);
    expect(s.permissions(at + 7n * LEAF)).toBe(0);
    // A checkpoint's record of it restores to the same states.
    const record = s.save();
    const restoredCpu = new Cpu(module);
    restoredCpu.configureRam(0n, restoredCpu.maxRamBytes, true);
    restoredCpu.memoryMode = MemoryMode.PagePermissions;
    restoredCpu.restoreState(cpu.saveState());
    const restored = new AddressSpace(restoredCpu);
    restored.restore(record);
    expect(restored.save()).toEqual(record);
    expect(restored.permissions(at + LEAF)).toBe(Perm.R);
    expect(restored.permissions(at + 5n * LEAF)).toBeUndefined();
  });

  it('mremap that moves keeps the bytes, zeroes the old place and counts the pair once towards the peak', () => {
    const p = vm();
    const a = anon(p, 4n * PAGE);
    anon(p, PAGE, PROT_R, MAP_FIXED, a + 4n * PAGE); // a neighbour: growing must move
    p.cpu.write64(a + 8n, 0x1234n);
    p.cpu.write64(a + 3n * PAGE, 0x5678n);
    const before = p.memory.space.peakBytes;
    const b = sys(p, 'mremap', a, 4n * PAGE, 8n * PAGE, 1n /* MREMAP_MAYMOVE */);
    expect(b).not.toBe(a);
    expect(p.cpu.read64(b + 8n)).toBe(0x1234n);
    expect(p.cpu.read64(b + 3n * PAGE)).toBe(0x5678n);
    expect(p.cpu.read64(b + 5n * PAGE)).toBe(0n);
    expect(p.memory.space.permissions(a)).toBeUndefined();
    expect(p.cpu.read64(a + 8n)).toBe(0n);
    expect(p.memory.space.peakBytes - before).toBeLessThanOrEqual(4 * 4096);
  });
});

describe('file mappings', () => {
  it('show the file in all of the last page, past the length asked for; zero past its end; SIGBUS pages after', () => {
    const p = vm();
    const s = new GuestScratch(p);
    const fd = sys(p, 'openat', -100n, s.str('/tmp/mapped'), 0o102n /* O_RDWR | O_CREAT */, 0o644n);
    expect(fd).toBeGreaterThanOrEqual(0n);
    const data = new Uint8Array(6000).map((_, i) => 97 + (i % 26));
    const buf = s.alloc(data.length);
    p.cpu.writeBytes(buf, data);
    expect(sys(p, 'write', fd, buf, BigInt(data.length))).toBe(6000n);
    // 100 bytes asked for: the whole page holds the file (qemu-riscv64 and Linux agree).
    const a = sys(p, 'mmap', 0n, 100n, PROT_R, MAP_PRIVATE, fd, 0n);
    expect([...p.cpu.readBytes(a, 4096)]).toEqual([...data.subarray(0, 4096)]);
    // From offset 4096: 1904 bytes of file, the rest of that page zero, the next page past the end.
    const b = sys(p, 'mmap', 0n, 5000n, PROT_R, MAP_PRIVATE, fd, 4096n);
    expect([...p.cpu.readBytes(b, 1904)]).toEqual([...data.subarray(4096)]);
    expect(p.cpu.readBytes(b + 1904n, 4096 - 1904).every((x) => x === 0)).toBe(true);
    expect(p.memory.space.isPastEof(b + PAGE)).toBe(true);
    expect(p.memory.space.isPastEof(b)).toBe(false);
  });

  it("refuse what Linux's do_mmap refuses, in its order: O_PATH EBADF, not readable EACCES, not mappable ENODEV", () => {
    const p = vm();
    const s = new GuestScratch(p);
    const EBADF = -9n, EACCES = -13n, ENODEV = -19n, MAP_SHARED = 0x01n;
    const open = (path: string, flags: bigint) => sys(p, 'openat', -100n, s.str(path), flags, 0o644n);
    const map = (fd: bigint, flags = MAP_PRIVATE, prot = PROT_R) => BigInt.asIntN(64, sys(p, 'mmap', 0n, PAGE, prot, flags, fd, 0n));
    const pathFd = open('/tmp', 0o10000000n /* O_PATH */);
    const writeOnly = open('/dev/null', 1n /* O_WRONLY */);
    const dir = open('/tmp', 0o200000n /* O_DIRECTORY */);
    expect(map(pathFd)).toBe(EBADF);
    expect(map(writeOnly)).toBe(EACCES);
    expect(map(writeOnly, MAP_SHARED)).toBe(EACCES);
    expect(map(writeOnly, MAP_SHARED, PROT_R | PROT_W)).toBe(EACCES);
    expect(map(dir)).toBe(ENODEV);
    expect(map(open('/dev/null', 0n), MAP_SHARED)).toBe(ENODEV);
  });

  it('MAP_SHARED_VALIDATE refuses flags it does not know, EOPNOTSUPP (Linux; QEMU 7.2 says EINVAL); MAP_SHARED ignores them', () => {
    const p = vm();
    const s = new GuestScratch(p);
    const fd = sys(p, 'openat', -100n, s.str('/tmp/shared'), 0o102n /* O_RDWR | O_CREAT */, 0o644n);
    sys(p, 'ftruncate', fd, PAGE);
    const EOPNOTSUPP = -95n, MAP_SHARED = 0x01n, MAP_SHARED_VALIDATE = 0x03n, MAP_SYNC = 0x80000n;
    const map = (flags: bigint) => BigInt.asIntN(64, sys(p, 'mmap', 0n, PAGE, PROT_R | PROT_W, flags, fd, 0n));
    expect(map(MAP_SHARED_VALIDATE | 0x200000n)).toBe(EOPNOTSUPP);
    expect(map(MAP_SHARED_VALIDATE | MAP_SYNC)).toBe(EOPNOTSUPP);
    expect(map(MAP_SHARED | 0x200000n) % PAGE).toBe(0n);
    expect(map(MAP_SHARED_VALIDATE | MAP_NORESERVE) % PAGE).toBe(0n);
  });

  it('MAP_SHARED: the first store to a page after each write-back faults once to mark it dirty; pread writes it back', () => {
    const p = vm();
    const s = new GuestScratch(p);
    const fd = sys(p, 'openat', -100n, s.str('/tmp/shared'), 0o102n /* O_RDWR | O_CREAT */, 0o644n);
    sys(p, 'ftruncate', fd, 2n * PAGE);
    const a = sys(p, 'mmap', 0n, 2n * PAGE, PROT_R | PROT_W, 0x01n /* MAP_SHARED */, fd, 0n);
    const SD_A1_0_A0 = 0x00b53023; // sd a1, 0(a0)
    const store = (addr: bigint, v: bigint) => {
      p.cpu.setX(10, addr);
      p.cpu.setX(11, v);
      const e = runAt(p, [SD_A1_0_A0]);
      return e.reason === ExitReason.Fault ? e.cause : 'stored';
    };
    expect(store(a + 8n, 0x1122n)).toBe(Cause.StorePageFault);
    expect(p.handleMemoryFault()).toBe(true);
    expect(store(a + 8n, 0x1122n)).toBe('stored');
    expect(store(a + 16n, 0x3344n)).toBe('stored'); // dirty already
    const buf = s.alloc(16);
    expect(sys(p, 'pread64', fd, buf, 16n, 8n)).toBe(16n);
    expect(p.cpu.read64(buf)).toBe(0x1122n);
    expect(p.cpu.read64(buf + 8n)).toBe(0x3344n);
    expect(store(a + 8n, 0x5566n)).toBe(Cause.StorePageFault); // clean again
    // A read-only mapping of the same file's second page: hidden while `a`
    // holds that page's bytes; the first access takes them over, and a
    // store is then a fault the guest is told of.
    const r = sys(p, 'mmap', 0n, PAGE, PROT_R, 0x01n, fd, PAGE);
    expect(store(a + PAGE, 0x77n)).toBe(Cause.StorePageFault);
    expect(p.handleMemoryFault()).toBe(true);
    expect(store(a + PAGE, 0x77n)).toBe('stored');
    expect(p.memory.space.sharedState(r)).toBe('hidden');
    expect(store(r, 1n)).toBe(Cause.StorePageFault);
    expect(p.handleMemoryFault()).toBe(true); // r takes the page over, with a's store
    expect(p.memory.space.sharedState(a + PAGE)).toBe('hidden');
    expect(p.cpu.read64(r)).toBe(0x77n);
    expect(store(r, 1n)).toBe(Cause.StorePageFault);
    expect(p.handleMemoryFault()).toBe(false);
    // r could not write a's dirty page back, so it was written back first.
    expect(sys(p, 'pread64', fd, buf, 8n, PAGE)).toBe(8n);
    expect(p.cpu.read64(buf)).toBe(0x77n);
  });

  it('MADV_DONTNEED on a private file mapping shows the file again (Linux drops the private copy), even after close', () => {
    const p = vm();
    const s = new GuestScratch(p);
    const fd = sys(p, 'openat', -100n, s.str('/tmp/private'), 0o102n /* O_RDWR | O_CREAT */, 0o644n);
    const data = new Uint8Array(5000).map((_, i) => 1 + (i % 250));
    const buf = s.alloc(data.length);
    p.cpu.writeBytes(buf, data);
    expect(sys(p, 'write', fd, buf, 5000n)).toBe(5000n);
    const a = sys(p, 'mmap', 0n, 3n * PAGE, PROT_R | PROT_W, MAP_PRIVATE, fd, 0n);
    const anonymous = anon(p, PAGE);
    expect(sys(p, 'close', fd)).toBe(0n);
    p.cpu.writeBytes(a, new Uint8Array(8192).fill(0xee));
    p.cpu.writeBytes(anonymous, new Uint8Array(16).fill(0xee));
    expect(sys(p, 'madvise', a, 2n * PAGE, 4n /* MADV_DONTNEED */)).toBe(0n);
    expect([...p.cpu.readBytes(a, 5000)]).toEqual([...data]);
    expect(p.cpu.readBytes(a + 5000n, 8192 - 5000).every((x) => x === 0)).toBe(true);
    expect(sys(p, 'madvise', anonymous, PAGE, 4n)).toBe(0n);
    expect(p.cpu.readBytes(anonymous, 16).every((x) => x === 0)).toBe(true);
    // Unmapped, the mapping lets its file go.
    expect(sys(p, 'munmap', a, 3n * PAGE)).toBe(0n);
  });

  it('/dev/zero maps anonymous memory, private or shared, as its driver does (qemu-riscv64 too)', () => {
    const p = vm();
    const s = new GuestScratch(p);
    const zero = sys(p, 'openat', -100n, s.str('/dev/zero'), 2n /* O_RDWR */, 0n);
    for (const flags of [MAP_PRIVATE, 0x01n /* MAP_SHARED */]) {
      const a = sys(p, 'mmap', 0n, 3n * PAGE, PROT_R | PROT_W, flags, zero, 0n);
      expect(a % PAGE).toBe(0n);
      expect(p.cpu.readBytes(a, 3 * 4096).every((x) => x === 0)).toBe(true);
      expect(p.memory.space.permissions(a)).toBe(3);
      expect(p.memory.space.isPastEof(a + 2n * PAGE)).toBe(false);
    }
    const writeOnly = sys(p, 'openat', -100n, s.str('/dev/zero'), 1n /* O_WRONLY */, 0n);
    expect(BigInt.asIntN(64, sys(p, 'mmap', 0n, PAGE, PROT_R, MAP_PRIVATE, writeOnly, 0n))).toBe(-13n);
  });
});

// mmap-large enomem and use (guests/libc/mmap-large.c) under ringvisor only:
// QEMU has no memory limit, so there is no golden file to compare with.
describe('a guest that runs out of memory', () => {
  const elf = new Uint8Array(readFileSync(new URL('../guests/bin/mmap-large.elf', import.meta.url)));
  const MiB = 1024 * 1024;
  async function run(argv: string[], memoryBytes: number) {
    const out: Buffer[] = [], diagnostics: string[] = [];
    const p = ProcessVM.create(elf, {
      argv, memoryBytes, stdout: (b) => out.push(Buffer.from(b)), stderr: (b) => out.push(Buffer.from(b)),
      diagnostics: (line) => diagnostics.push(line),
    });
    const status = await p.run();
    return { p, status, text: Buffer.concat(out).toString(), diagnostics };
  }

  it('gets ENOMEM from mmap and NULL from malloc only where the 256 GiB address space ends, as Linux overcommits', async () => {
    const { p, status, text } = await run(['mmap-large', 'enomem'], 512 * MiB);
    // 16 MiB mappings with one page of each written fill the user range
    // (less the program, the stack and the gap above mmap_base).
    expect(text).toBe(
      'mmap failed after 262000 MiB: Cannot allocate memory\n' +
      'after munmap of everything, a 16 MiB mmap works again: ok\n' +
      'malloc(16 MiB) returned NULL after 261936 MiB (errno Cannot allocate memory)\n' +
      'then malloc(64 KiB) 20000 times: ok\n');
    expect(status).toBe(0);
    expect(p.memory.space.peakBytes).toBeGreaterThan(255 * 1024 * MiB);
    // What it used: a page of each mapping, and of each 64 KiB block.
    expect(p.cpu.memoryPeak * 4096).toBeLessThan(160 * MiB);
  });

  it('is killed when it writes more than --mem (the out-of-memory kill), and the host goes on', async () => {
    const { status, text, diagnostics } = await run(['mmap-large', 'enomem'], 32 * MiB);
    expect(text).toBe('');
    expect(status).toBe(128 + 9);
    expect(diagnostics).toEqual([
      'ringvisor: uncaught target signal 9 (Killed) - no core',
      'ringvisor: out of memory: mmap-large needs more than the 32 MiB --mem allows (32 MiB in use); killed',
    ]);
  });

  it('reserving and reading cost nothing; writing is what --mem limits', async () => {
    const small = await run(['mmap-large', 'use', '3000'], 64 * MiB);
    expect(small.text).toBe('reserved 3000 MiB\nread every page: sum 0\nwrote 16 MiB\nwrote 32 MiB\nwrote 48 MiB\n');
    expect(small.status).toBe(137);
    expect(small.diagnostics[1]).toMatch(/^ringvisor: out of memory: mmap-large needs more than the 64 MiB --mem allows \(64 MiB in use\); killed$/);
    const enough = await run(['mmap-large', 'use', '100'], 128 * MiB);
    expect(enough.status).toBe(0);
    expect(enough.text).toMatch(/^reserved 100 MiB\nread every page: sum 0\n(wrote \d+ MiB\n)+wrote all 100 MiB\n$/);
    // What it used: the 100 MiB and a few pages of program, stack and heap.
    expect(enough.p.cpu.memoryPeak * 4096).toBeGreaterThan(100 * MiB);
    expect(enough.p.cpu.memoryPeak * 4096).toBeLessThan(101 * MiB);
    expect(enough.p.cpu.memoryUsed).toBe(enough.p.cpu.touchedPages());
  });

  it('the count of used pages follows every write and every clearing', () => {
    const p = vm();
    const used = p.cpu.memoryUsed;
    expect(used).toBe(p.cpu.touchedPages());
    const at = anon(p, 8n * PAGE);
    p.cpu.writeBytes(at + PAGE - 2n, new Uint8Array(4)); // two pages
    expect(p.cpu.memoryUsed).toBe(used + 2);
    expect(sys(p, 'munmap', at, 8n * PAGE)).toBe(0n);
    expect(p.cpu.memoryUsed).toBe(used);
    expect(p.cpu.memoryUsed).toBe(p.cpu.touchedPages());
  });
});

describe('page permissions in the CPU', () => {
  const LD_A0_0_A0 = 0x00053503; // ld a0, 0(a0)
  const SD_A0_0_A0 = 0x00a53023; // sd a0, 0(a0)

  it('a load from a PROT_NONE page is a load page fault with the address', () => {
    const p = vm();
    const a = anon(p, PAGE, 0n);
    p.cpu.setX(10, a + 8n);
    const e = runAt(p, [LD_A0_0_A0]);
    expect(e.cause).toBe(Cause.LoadPageFault);
    expect(e.addr).toBe(a + 8n);
  });

  it('a store to a read-only page is a store page fault; reading it works', () => {
    const p = vm();
    const a = anon(p, PAGE, PROT_R);
    p.cpu.setX(10, a);
    expect(runAt(p, [SD_A0_0_A0]).cause).toBe(Cause.StorePageFault);
    p.cpu.setX(10, a);
    runAt(p, [LD_A0_0_A0]);
    expect(p.cpu.x(10)).toBe(0n);
  });

  it('a misaligned store whose second page is read-only faults and changes nothing', () => {
    const p = vm();
    const a = anon(p, 2n * PAGE);
    sys(p, 'mprotect', a + PAGE, PAGE, PROT_R);
    p.cpu.setX(10, a + PAGE - 4n);
    expect(runAt(p, [SD_A0_0_A0]).cause).toBe(Cause.StorePageFault);
    expect(p.cpu.read64(a + PAGE - 8n)).toBe(0n);
  });

  it('a fetch from a page without PROT_EXEC is a fetch page fault', () => {
    const p = vm();
    const a = anon(p, PAGE);
    p.cpu.pc = a;
    p.cpu.run(1n);
    expect(p.cpu.exit.cause).toBe(Cause.FetchPageFault);
    expect(p.cpu.exit.addr).toBe(a);
  });

  it('program segments get their ELF permissions: text is not writable, data not executable', () => {
    const p = vm();
    const text = p.image.segments.find((s) => s.flags & 1)!;
    expect(p.memory.space.permissions(text.vaddr)).toBe(1 | 4);
    const data = p.image.segments.find((s) => s.flags & 2);
    if (data) expect(p.memory.space.permissions(data.vaddr)).toBe(1 | 2);
    expect(p.memory.space.permissions(p.memory.stackTop - 8n)).toBe(1 | 2);
    expect(p.memory.space.permissions(p.memory.mmapTop)).toBeUndefined(); // the guard page
  });
});

// A program's segments are copied into RAM as it first reaches them
// (AddressSpace.deferContent): esbuild's 10 MB were copied whole before it
// ran, faulting every page in on the host.
describe('the program\'s bytes, placed as it reaches them', () => {
  const image = parseElf(hello, 'hello');
  const withFile = image.segments.filter((s) => s.fileSize > 0n);
  const fileBytes = (s: (typeof withFile)[number], n: number) => hello.subarray(s.fileOffset, s.fileOffset + n);

  it('are not in RAM before they are reached, and are the file\'s when read', () => {
    const p = vm();
    expect(p.memory.space.hasDeferred).toBe(true);
    const used = p.cpu.memoryUsed;
    for (const s of withFile) {
      const n = Math.min(64, s.fileSize);
      expect(Buffer.from(p.cpu.readBytes(s.vaddr, n)).equals(Buffer.from(fileBytes(s, n))), `segment at 0x${s.vaddr.toString(16)}`).toBe(true);
    }
    expect(p.cpu.memoryUsed).toBeGreaterThan(used);
    expect(p.memory.space.hasDeferred).toBe(false);
  });

  it('unmapped before they are reached, are gone: a mapping put there reads as zero', () => {
    // hello's code: one segment of two pages (the first unmapped here).
    const p = vm();
    const code = withFile[0];
    expect(code.vaddr % PAGE).toBe(0n);
    expect(code.fileSize).toBeGreaterThan(Number(PAGE));
    expect(sys(p, 'munmap', code.vaddr, PAGE)).toBe(0n);
    expect(anon(p, PAGE, PROT_R | PROT_W, MAP_FIXED, code.vaddr)).toBe(code.vaddr);
    expect([...p.cpu.readBytes(code.vaddr, Number(PAGE))].every((b) => b === 0)).toBe(true);
    // The rest of the segment is still the file's.
    const rest = code.fileSize - Number(PAGE);
    expect(Buffer.from(p.cpu.readBytes(code.vaddr + PAGE, rest)).equals(Buffer.from(fileBytes(code, code.fileSize).subarray(Number(PAGE))))).toBe(true);
  });

  it('are in a checkpoint taken before the program ran, and the restored VM runs as the original', async () => {
    const outputs: string[] = [];
    for (const restored of [false, true]) {
      const out: Buffer[] = [];
      const options = { programName: 'hello', memoryBytes: 64 * 1024 * 1024, clock: 'virtual' as const, stdout: (d: Uint8Array) => out.push(Buffer.from(d)) };
      let p = ProcessVM.create(hello, options);
      if (restored) {
        const file = p.checkpoint();
        expect(p.memory.space.hasDeferred).toBe(false);
        p = ProcessVM.restore(file, options);
      }
      expect(await p.run()).toBe(0);
      outputs.push(Buffer.concat(out).toString('latin1'));
    }
    expect(outputs[0].length).toBeGreaterThan(0);
    expect(outputs[1]).toBe(outputs[0]);
  });
});
