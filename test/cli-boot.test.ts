// The `ringvisor boot` command: its errors for bad input (each a message
// and a non-zero status, never a crash), and --dump-dtb, --trace-exits and
// --stats on a small bare-metal-free boot: our guest Linux when it is built,
// else those checks are skipped with the reason.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFdt, findNode } from '../src/system/fdt.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = (args: string[], input = '') =>
  spawnSync(process.execPath, ['dist/bin/ringvisor.js', 'boot', ...args], { encoding: 'utf8', cwd: root, input, timeout: 120_000 });

function guestLinux(): { image: string; initrd: string } | undefined {
  if (spawnSync('bash', [`${root}guests/linux/build.sh`, '--check-deps']).status !== 0) return undefined;
  const dir = spawnSync('bash', [`${root}guests/linux/build.sh`, '--print-path'], { encoding: 'utf8' }).stdout.trim();
  return existsSync(`${dir}/Image`) ? { image: `${dir}/Image`, initrd: `${dir}/initramfs.cpio.gz` } : undefined;
}
const linux = guestLinux();
const haveScript = spawnSync('script', ['--version']).status === 0;

describe('ringvisor boot: bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringvisor-cli-boot-'));
  const file = (name: string, bytes: Uint8Array | string) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };

  it('no kernel, unknown options and bad values: usage errors, status 2', () => {
    expect(cli([]).stderr).toMatch(/^ringvisor: boot: no kernel given \(--kernel IMAGE\)/);
    expect(cli([]).status).toBe(2);
    expect(cli(['--kernel', 'x', '--bogus']).stderr).toMatch(/unknown option --bogus/);
    expect(cli(['--kernel', 'x', '--smp', '9']).stderr).toMatch(/bad --smp '9' \(1 to 8 harts\)/);
    expect(cli(['--kernel', 'x', '--mem', 'lots']).stderr).toMatch(/bad size 'lots'/);
    expect(cli(['--kernel', 'x', '--clock', 'sundial']).stderr).toMatch(/bad --clock 'sundial'/);
  });

  it('a missing file, a text file (a raw binary), an empty file, a truncated ELF, a kernel larger than RAM: one line each', () => {
    const missing = cli(['--kernel', join(dir, 'nope')]);
    expect(missing.stderr).toMatch(/kernel .*nope: No such file or directory/);
    expect(missing.status).not.toBe(0);
    // A file that is neither an ELF nor a Linux Image is a raw binary, as
    // under qemu-system-riscv64: text runs into a trap loop there too.
    const junk = cli(['--kernel', file('junk', 'hello, I am not a kernel '.repeat(10)), '--max-instructions', '100000']);
    expect(junk.stderr).toMatch(/instruction limit reached \(100000 instructions\)/);
    expect(junk.status).toBe(124);
    const empty = cli(['--kernel', file('empty', '')]);
    expect(empty.stderr).toMatch(/empty: is empty \(0 bytes\)/);
    expect(empty.status).toBe(1);
    const elf = new Uint8Array(80);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
    const trunc = cli(['--kernel', file('trunc.elf', elf)]);
    expect(trunc.stderr).toMatch(/not a RISC-V ELF file|program headers run past/);
    expect(trunc.status).toBe(1);
    if (linux) {
      const big = cli(['--kernel', linux.image, '--mem', '1M']);
      expect(big.stderr).toMatch(/larger than the VM's RAM|needs|outside the VM's RAM|does not fit/);
      expect(big.status).toBe(1);
    }
    if (linux) {
      const disk = cli(['--kernel', linux.image, '--disk', join(dir, 'no-disk.img')]);
      expect(disk.stderr).toMatch(/^ringvisor: --disk .*no-disk\.img: No such file or directory$/m);
      expect(disk.status).toBe(1);
      const odd = cli(['--kernel', linux.image, '--disk', file('odd.img', 'three')]);
      expect(odd.stderr).toMatch(/size 5 bytes is not a multiple of 512/);
      expect(odd.status).toBe(1);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a guest that loops forever: --timeout and --max-instructions stop it with status 124 and where it was', () => {
    // A bare-metal "kernel" that is one jump to itself.
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-loop-'));
    try {
      const elf = new Uint8Array(0x1000 + 4);
      const v = new DataView(elf.buffer);
      elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
      v.setUint16(16, 2, true); v.setUint16(18, 243, true); v.setUint32(20, 1, true);
      v.setBigUint64(24, 0x8020_0000n, true); v.setBigUint64(32, 64n, true);
      v.setUint16(52, 64, true); v.setUint16(54, 56, true); v.setUint16(56, 1, true);
      v.setUint32(64, 1, true); v.setUint32(68, 5, true); v.setBigUint64(72, 0x1000n, true);
      v.setBigUint64(80, 0x8020_0000n, true); v.setBigUint64(88, 0x8020_0000n, true);
      v.setBigUint64(96, 4n, true); v.setBigUint64(104, 4n, true); v.setBigUint64(112, 0x1000n, true);
      v.setUint32(0x1000, 0x0000006f, true); // jal x0, 0
      const loop = join(dir, 'loop.elf');
      writeFileSync(loop, elf);
      const started = Date.now();
      const t = cli(['--kernel', loop, '--timeout', '0.5']);
      expect(t.status).toBe(124);
      expect(t.stderr).toMatch(/^ringvisor boot: timed out after 0\.5 s at pc 0x80200000 \(hart 0\)$/m);
      expect(Date.now() - started).toBeLessThan(20_000);
      const m = cli(['--kernel', loop, '--max-instructions', '1000000']);
      expect(m.status).toBe(124);
      expect(m.stderr).toMatch(/instruction limit reached \(1000000 instructions\) at pc 0x80200000/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!linux)('ringvisor boot: what it shows of ring -1', () => {
  const { image, initrd } = linux ?? { image: '', initrd: '' };

  it.skipIf(!haveScript)('on a terminal: raw mode, what is typed reaches the guest, Ctrl-A x quits with status 0', async () => {
    // script(1) gives the command a pseudo-terminal as its stdin and stdout.
    const command = `${process.execPath} ${root}dist/bin/ringvisor.js boot --kernel ${image} --initrd ${initrd} --append 'console=ttyS0 quiet'`;
    const p = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let typed = false;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!typed && out.includes('ringvisor-init# ')) {
        typed = true;
        p.stdin.write('echo typed on a tty\r');
        setTimeout(() => p.stdin.write('\x01x'), 300);
      }
    });
    const status = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => { p.kill(); resolve(null); }, 60_000);
      p.on('exit', (code) => { clearTimeout(timer); resolve(code); });
    });
    expect(status).toBe(0);
    expect(out).toMatch(/echo typed on a tty\r*\n\r*typed on a tty/);
    expect(out).toContain('ringvisor: quit (Ctrl-A x)');
  });

  it('the console\'s output, gathered (node/gathered-output.ts), all comes out, before the diagnostic that ends the run', () => {
    // stdout and stderr into one pipe, to see their order.
    const r = spawnSync('bash', ['-c', `"${process.execPath}" dist/bin/ringvisor.js boot --kernel ${image} --initrd ${initrd} --append console=ttyS0 --clock virtual --max-instructions 60000000 2>&1`],
      { encoding: 'latin1', cwd: root, timeout: 120_000 });
    expect(r.status).toBe(124);
    expect(r.stdout).toMatch(/Linux version [^]*Run \/init as init process\r?\nringvisor-init: PID 1 shell, type help for commands\r?\nringvisor-init# ringvisor boot: instruction limit reached \(60000000 instructions\) at pc 0x[0-9a-f]+\n$/);
  });

  it('--dump-dtb writes the tree the kernel gets; --stats counts exits, SBI calls and devices; --trace-exits prints each exit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-dtb-'));
    try {
      const dtb = join(dir, 'virt.dtb');
      const r = cli(['--kernel', image, '--initrd', initrd, '--append', 'console=ttyS0 quiet', '--smp', '2', '--dump-dtb', dtb, '--stats', '--trace-exits'], 'poweroff\n');
      expect(r.status).toBe(0);
      const t = parseFdt(new Uint8Array(readFileSync(dtb)));
      expect(findNode(t.root, '/cpus/cpu@1')).toBeDefined();
      expect(Buffer.from(findNode(t.root, '/chosen')!.props.get('bootargs')!).toString()).toBe('console=ttyS0 quiet\0');
      expect(r.stderr).toMatch(/^ringvisor: exits ECALL_S: \d+$/m);
      expect(r.stderr).toMatch(/^ringvisor: exits MMIO_STORE: \d+$/m);
      expect(r.stderr).toMatch(/^ringvisor: sbi HSM hart_start: 1$/m);
      expect(r.stderr).toMatch(/^ringvisor: sbi SRST system_reset: 1$/m);
      expect(r.stderr).toMatch(/^ringvisor: exits SHUTDOWN: 1$/m);
      expect(r.stderr).toMatch(/^kvm_exit: vcpu \d reason SHUTDOWN shutdown \(SRST reason 0\)$/m);
      expect(r.stderr).toMatch(/^ringvisor: device uart0: \d+ reads, \d+ writes$/m);
      expect(r.stderr).toMatch(/^kvm_exit: vcpu 1 reason /m);
      expect(r.stderr).toMatch(/^kvm_exit: vcpu 0 reason MMIO_STORE pc 0x[0-9a-f]+ gpa 0x1000000[1-7] len 1 val 0x[0-9a-f]+ \(uart0\)$/m);
      // The console's bytes are coalesced MMIO (SystemVMOptions.coalescedMmio): no exit of their own.
      expect(r.stderr).not.toMatch(/reason MMIO_STORE pc 0x[0-9a-f]+ gpa 0x10000000 /);
      expect(r.stdout).toContain('reboot: Power down');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
