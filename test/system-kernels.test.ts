// What users bring as `ringvisor boot --kernel`, taken as
// qemu-system-riscv64 -M virt -bios default -kernel takes it: a Linux Image,
// an ELF (its segments at their physical addresses, entered at the lowest),
// a Linux vmlinux (booted as its Image; QEMU itself refuses ours: its
// physical addresses start at 0, over the boot ROM), a U-Boot uImage (an
// uncompressed kernel at its load address), and a raw binary at 0x80200000
// (Debian's u-boot.bin, a bare-metal program flattened). Bad
// files are one line on stderr and status 1 or 2, never a stack trace.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemVM, type SystemVMOptions } from '../src/system/system-vm.js';
import { loadKernel, KernelImageError, KERNEL_OFFSET } from '../src/system/linux-image.js';
import { loadCpuModule } from '../src/node/load.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const UBOOT_BIN = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const haveUboot = existsSync(UBOOT_BIN);
const qemuSystem = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
const RAM = 0x8000_0000n;
const APPEND = 'console=ttyS0 quiet panic=-1';
const PROMPT = 'ringvisor-init# ';

function guestLinux(): { dir: string } | undefined {
  if (spawnSync('bash', [`${root}guests/linux/build.sh`, '--check-deps']).status !== 0) return undefined;
  const dir = spawnSync('bash', [`${root}guests/linux/build.sh`, '--print-path'], { encoding: 'utf8' }).stdout.trim();
  return existsSync(`${dir}/Image`) && existsSync(`${dir}/vmlinux`) ? { dir } : undefined;
}
const linux = guestLinux();

const cli = (args: string[]) => spawnSync(process.execPath, [`${root}dist/bin/ringvisor.js`, 'boot', ...args], { encoding: 'utf8', input: '', timeout: 120_000 });

/** A static ELF's PT_LOAD bytes laid out from its lowest physical address,
 *  as `objcopy -O binary` writes them. */
function flatten(elf: Uint8Array): { bytes: Uint8Array; base: bigint } {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.length);
  const phoff = Number(v.getBigUint64(32, true)), phentsize = v.getUint16(54, true), phnum = v.getUint16(56, true);
  const segs: { paddr: bigint; bytes: Uint8Array }[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (v.getUint32(at, true) !== 1) continue;
    const off = Number(v.getBigUint64(at + 8, true)), filesz = Number(v.getBigUint64(at + 32, true));
    if (filesz > 0) segs.push({ paddr: v.getBigUint64(at + 24, true), bytes: elf.subarray(off, off + filesz) });
  }
  const base = segs.reduce((m, s) => (s.paddr < m ? s.paddr : m), segs[0].paddr);
  const end = segs.reduce((m, s) => Math.max(m, Number(s.paddr - base) + s.bytes.length), 0);
  const bytes = new Uint8Array(end);
  for (const s of segs) bytes.set(s.bytes, Number(s.paddr - base));
  return { bytes, base };
}

/** A U-Boot legacy uImage (include/image.h; big-endian) of `payload`:
 *  type 2 (kernel), compression `comp`, loaded and entered at `load`. The
 *  CRCs are left 0: QEMU does not check them either. */
function uImage(payload: Uint8Array, load: number, comp = 0, type = 2): Uint8Array {
  const u = new Uint8Array(64 + payload.length);
  const v = new DataView(u.buffer);
  v.setUint32(0, 0x27051956); v.setUint32(12, payload.length); v.setUint32(16, load); v.setUint32(20, load);
  u[28] = 5; u[29] = 26; u[30] = type; u[31] = comp;
  u.set(payload, 64);
  return u;
}

/** A minimal RISC-V ELF with one PT_LOAD of `code` at `paddr` and e_entry `entry`. */
function tinyElf(paddr: bigint, entry: bigint, code: Uint8Array): Uint8Array {
  const elf = new Uint8Array(0x1000 + code.length);
  const v = new DataView(elf.buffer);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true); v.setUint16(18, 243, true); v.setUint32(20, 1, true);
  v.setBigUint64(24, entry, true); v.setBigUint64(32, 64n, true);
  v.setUint16(52, 64, true); v.setUint16(54, 56, true); v.setUint16(56, 1, true);
  v.setUint32(64, 1, true); v.setUint32(68, 5, true); v.setBigUint64(72, 0x1000n, true);
  v.setBigUint64(80, paddr, true); v.setBigUint64(88, paddr, true);
  v.setBigUint64(96, BigInt(code.length), true); v.setBigUint64(104, BigInt(code.length), true); v.setBigUint64(112, 0x1000n, true);
  elf.set(code, 0x1000);
  return elf;
}

/** Runs a machine to its end with the virtual clock; its console and status. */
function runVm(options: Partial<SystemVMOptions> & { kernel: Uint8Array }, lines: string[] = []): { status: number; out: string; diagnostics: string[] } {
  let out = '', sinceInput = '';
  const diagnostics: string[] = [];
  const vm = SystemVM.create({
    cpuModule: loadCpuModule('release'), maxInstructions: 2_000_000_000n, random: (b) => b.fill(7),
    console: (b) => { const t = Buffer.from(b).toString('latin1'); out += t; sinceInput += t; },
    diagnostics: (l) => diagnostics.push(l), ...options,
  });
  let status: number | undefined;
  while ((status = vm.step()) === undefined) {
    if (sinceInput.endsWith(PROMPT)) { sinceInput = ''; const l = lines.shift(); if (l !== undefined) vm.input(l + '\n'); }
  }
  return { status, out: out.replace(/\r\n/g, '\n'), diagnostics };
}

describe('loadKernel: how a file is understood, as qemu-system-riscv64 -kernel does', () => {
  it('an ELF in RAM: its segments at their physical addresses, entered at the lowest (not e_entry), as QEMU does', () => {
    const k = loadKernel(tinyElf(0x8030_0000n, 0x8030_0010n, new Uint8Array(32)), RAM, 'k.elf', 0x1000_0000n);
    expect(k.format).toBe('elf');
    expect(k.entry).toBe(0x8030_0000n);
    expect(k.pieces).toHaveLength(1);
    expect(k.pieces[0].addr).toBe(0x8030_0000n);
  });

  it('anything else is a raw binary at RAM + 2 MiB, entered at its first byte', () => {
    const k = loadKernel(new Uint8Array([0x6f, 0, 0, 0]), RAM, 'k.bin', 0x1000_0000n);
    expect(k).toMatchObject({ format: 'raw', entry: RAM + KERNEL_OFFSET, start: 0x8020_0000n, end: 0x8020_0004n });
  });

  it.skipIf(linux === undefined)('a vmlinux is loaded as the Image it flattens to: the same bytes at the same place', () => {
    const image = loadKernel(readFileSync(`${linux!.dir}/Image`), RAM, 'Image', 0x1000_0000n);
    const vmlinux = loadKernel(readFileSync(`${linux!.dir}/vmlinux`), RAM, 'vmlinux', 0x1000_0000n);
    expect(image.format).toBe('image');
    expect(vmlinux.format).toBe('vmlinux');
    expect(vmlinux.entry).toBe(image.entry);
    expect(vmlinux.end).toBe(image.end);
    expect(Buffer.from(vmlinux.pieces[0].bytes).equals(Buffer.from(image.pieces[0].bytes))).toBe(true);
  });

  it('refuses, naming what is wrong: empty, truncated headers, segments outside RAM, more than RAM', () => {
    const refuse = (bytes: Uint8Array, ramSize = 0x1000_0000n) => {
      try { loadKernel(bytes, RAM, 'k', ramSize); } catch (e) { expect(e).toBeInstanceOf(KernelImageError); return (e as Error).message; }
      return 'accepted';
    };
    expect(refuse(new Uint8Array(0))).toBe('k: is empty (0 bytes): no kernel to load');
    expect(refuse(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1]))).toBe('k: truncated ELF header (6 bytes of 64)');
    const cut = new Uint8Array(60);
    cut.set(new TextEncoder().encode('RISCV\0\0\0RSC\x05'), 48);
    expect(refuse(cut)).toBe('k: truncated RISC-V Linux Image header (60 bytes of 64)');
    const ui = uImage(new Uint8Array(16), 0x8020_0000);
    expect(refuse(ui.subarray(0, 40))).toBe('k: truncated uImage header (40 bytes of 64)');
    expect(refuse(ui.subarray(0, 70))).toBe('k: truncated uImage: its header says 16 bytes of kernel, the file holds 6');
    expect(refuse(uImage(new Uint8Array(16), 0x8020_0000, 1))).toMatch(/^k: a compressed uImage \(compression 1\): boot the kernel inside it/);
    expect(refuse(uImage(new Uint8Array(16), 0x8020_0000, 0, 3))).toBe('k: a uImage of type 3, not a kernel (type 2)');
    expect(refuse(uImage(new Uint8Array(16), 0x1000))).toMatch(/^k: the kernel \(a uImage\) occupies 0x1000\.\.0x1010, outside the VM's RAM/);
    expect(refuse(tinyElf(0x1000n, 0x1000n, new Uint8Array(8)))).toMatch(/^k: the kernel \(an ELF file\) occupies 0x1000\.\.0x1008, outside the VM's RAM \(0x80000000\.\.0x90000000\)$/);
    expect(refuse(new Uint8Array(3 * 1024 * 1024), 4n * 1024n * 1024n)).toMatch(/^k: the kernel \(a raw binary\) needs 3145728 bytes from 0x80200000, more than the VM's RAM holds there \(2097152 of 4194304; raise --mem\)$/);
  });
});

describe('ringvisor boot --kernel: what qemu-system-riscv64 -kernel accepts', () => {
  it('a raw binary: a bare-metal program flattened runs from 0x80200000 and prints what its ELF prints; so does a uImage of it', () => {
    const elf = readFileSync(`${root}guests/baremetal/bin/traps.elf`);
    const flat = flatten(elf);
    expect(flat.base).toBe(0x8020_0000n);
    const fromElf = runVm({ kernel: elf, memoryBytes: 128 << 20, maxInstructions: 200_000_000n });
    const fromRaw = runVm({ kernel: flat.bytes, memoryBytes: 128 << 20, maxInstructions: 200_000_000n });
    expect(fromRaw.diagnostics).toEqual([]);
    expect(fromRaw.status).toBe(0);
    expect(fromRaw.out).toContain('== traps ==');
    expect(fromRaw.out).toBe(fromElf.out);
    // The same bytes in a uImage that loads them where they were linked.
    const fromUImage = runVm({ kernel: uImage(flat.bytes, 0x8020_0000), memoryBytes: 128 << 20, maxInstructions: 200_000_000n });
    expect(fromUImage.status).toBe(0);
    expect(fromUImage.out).toBe(fromElf.out);
  });

  it.skipIf(!qemuSystem)('qemu-system-riscv64 too runs that raw binary and uImage as it runs the ELF (the ELF against QEMU: system-baremetal)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-raw-'));
    try {
      const elf = `${root}guests/baremetal/bin/traps.elf`, bin = join(dir, 'traps.bin'), uimg = join(dir, 'traps.uimg');
      const flat = flatten(readFileSync(elf)).bytes;
      writeFileSync(bin, flat);
      writeFileSync(uimg, uImage(flat, 0x8020_0000));
      const qemu = (kernel: string) => {
        const q = spawnSync('qemu-system-riscv64', ['-M', 'virt', '-smp', '1', '-m', '128M', '-nographic', '-bios', 'default', '-kernel', kernel], { input: '', encoding: 'latin1', timeout: 60_000 });
        expect(q.status).toBe(0);
        const out = q.stdout.replace(/\r\n/g, '\n');
        return out.slice(out.indexOf('== traps =='));
      };
      const raw = qemu(bin);
      expect(raw).toMatch(/^== traps ==\n/);
      expect(raw).toBe(qemu(elf));
      expect(qemu(uimg)).toBe(raw);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(linux === undefined)('a vmlinux boots our guest Linux exactly as its Image does (the same console, instruction for instruction)', () => {
    const initrd = readFileSync(`${linux!.dir}/initramfs.cpio.gz`);
    const image = runVm({ kernel: readFileSync(`${linux!.dir}/Image`), initrd, append: APPEND }, ['uname -a', 'poweroff']);
    const vmlinux = runVm({ kernel: readFileSync(`${linux!.dir}/vmlinux`), initrd, append: APPEND }, ['uname -a', 'poweroff']);
    expect(vmlinux.status).toBe(0);
    expect(vmlinux.out).toContain('ringvisor-init# uname -a\nLinux (none) 6.1');
    expect(vmlinux.out).toBe(image.out);
  });

  it.skipIf(!haveUboot)('Debian\'s raw u-boot.bin comes up to its prompt, runs `version` and powers off, as under qemu-system-riscv64', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-uboot-'));
    try {
      writeFileSync(join(dir, 'script'), 'version\npoweroff\n');
      const session = (command: string[]) => spawnSync(process.execPath, [`${root}guests/linux/console.mjs`, '--prompt', '=> ', '--timeout', '100', '--script', join(dir, 'script'), '--', ...command],
        { encoding: 'utf8', timeout: 120_000 });
      const r = session([process.execPath, `${root}dist/bin/ringvisor.js`, 'boot', '--kernel', UBOOT_BIN]);
      expect(r.status, r.stderr).toBe(0);
      const out = r.stdout.replace(/\r\n/g, '\n');
      expect(out).toContain('Model: riscv-virtio,ringvisor');
      expect(out).toMatch(/=> version\nU-Boot 2023\.01/);
      expect(out).toContain('poweroff ...');
      if (qemuSystem) {
        const q = session(['qemu-system-riscv64', '-M', 'virt', '-smp', '1', '-m', '256M', '-nographic', '-bios', 'default', '-no-reboot', '-kernel', UBOOT_BIN]);
        expect(q.status).toBe(0);
        const version = (s: string) => { const at = s.indexOf('=> version\n'); return s.slice(at, s.indexOf('=> ', at + 3)); };
        expect(version(out)).toBe(version(q.stdout.replace(/\r\n/g, '\n')));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('bad files and --bios values: one line on stderr, status 1 or 2, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-badkernel-'));
    const file = (name: string, bytes: Uint8Array | string) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
    try {
      const cases: [string[], RegExp, number][] = [
        [['--kernel', file('empty', '')], /^ringvisor: .*empty: is empty \(0 bytes\): no kernel to load$/, 1],
        [['--kernel', file('trunc.elf', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]))], /^ringvisor: .*trunc\.elf: truncated ELF header \(8 bytes of 64\)$/, 1],
        [['--kernel', file('big.bin', new Uint8Array(3 << 20)), '--mem', '4M'], /^ringvisor: .*big\.bin: the kernel \(a raw binary\) needs 3145728 bytes from 0x80200000, more than the VM's RAM holds there/, 1],
        [['--kernel', file('mid.bin', new Uint8Array((2 << 20) - 0x800)), '--mem', '4M'], /^ringvisor: .*mid\.bin: the kernel ends at 0x803ff800, too near the top of RAM \(0x80400000\) to leave the device tree its \d+ bytes \(raise --mem\)$/, 1],
        [['--kernel', file('huge.bin', new Uint8Array(5 << 20)), '--mem', '4M'], /^ringvisor: boot: kernel .*huge\.bin: 5242880 bytes, larger than the VM's RAM \(4194304 bytes; raise --mem\)$/, 1],
        [['--kernel', '/dev/zero'], /^ringvisor: boot: kernel \/dev\/zero: not a regular file$/, 1],
        [['--kernel', dir], /^ringvisor: boot: kernel .*: Is a directory$/, 1],
        [['--kernel', file('ok.bin', 'x'), '--bios', 'none'], /^ringvisor: boot: --bios none is not possible: .*M-mode/, 2],
        [['--kernel', file('ok2.bin', 'x'), '--bios', '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf'], /^ringvisor: boot: --bios '.*fw_jump\.elf' is not possible: .*--kernel/, 2],
      ];
      for (const [args, message, status] of cases) {
        const r = cli(args);
        expect(r.stderr.trimEnd(), args.join(' ')).toMatch(message);
        expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
        expect(r.status, args.join(' ')).toBe(status);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
