// The `ringvisor run` command's options that change how a guest is run or
// observed: limits, --stats and --strace.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8', cwd: new URL('..', import.meta.url) });

describe('ringvisor run', () => {
  it('stops a guest that loops forever after --timeout, with status 124', () => {
    const started = Date.now();
    const r = cli('run', '--timeout', '0.3', 'guests/bin/faults.elf', 'loop');
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/^ringvisor: guests\/bin\/faults\.elf: timed out after 0\.3 s at pc 0x[0-9a-f]+\n$/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('stops it after --max-instructions, naming the limit', () => {
    const r = cli('run', '--max-instructions', '100000', 'guests/bin/faults.elf', 'loop');
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/instruction limit reached \(100000 instructions\) at pc 0x/);
  });

  it('--stats counts instructions, exits per reason and system calls', () => {
    const r = cli('run', '--stats', 'guests/bin/hello.elf');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^ringvisor: instructions: \d+$/m);
    expect(r.stderr).toMatch(/^ringvisor: MIPS: [\d.]+$/m);
    expect(r.stderr).toMatch(/^ringvisor: exits ECALL_U: 2$/m);
    expect(r.stderr).toMatch(/^ringvisor: syscall write: 1$/m);
    expect(r.stderr).toMatch(/^ringvisor: syscall exit_group: 1$/m);
  });

  it('--strace shows each system call and its result', () => {
    const r = cli('run', '--strace', 'guests/bin/hello.elf');
    expect(r.stderr).toMatch(/^write\(0x1, 0x[0-9a-f]+, 0x[0-9a-f]+\) = \d+$/m);
    expect(r.stderr).toMatch(/^exit_group\(0x0\) = \?$/m);
  });

  it('rejects a malformed --timeout', () => {
    const r = cli('run', '--timeout', 'soon', 'guests/bin/hello.elf');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ringvisor: bad timeout 'soon' \(seconds\)/);
  });
});
