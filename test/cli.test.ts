// The `ringvisor run` command's options that change how a guest is run or
// observed: limits, --stats and --strace.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { ROOT, qemuPath } from './support/guests.js';

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
    // hello maps nothing but its stack (8 MiB) and its program.
    expect(r.stderr).toMatch(/^ringvisor: peak memory: 8\.0 MiB mapped of 1024\.0 MiB$/m);
  });

  it('--thread-slice and --clock virtual make a threaded run repeatable; --stats counts threads and switches', () => {
    const run = () => cli('run', '--stats', '--thread-slice', '997', '--clock', 'virtual', 'guests/bin/threads.elf', 'queue');
    const a = run(), b = run();
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/every item consumed exactly once +ok/);
    const threads = /^ringvisor: threads: 6 created, at most 6 at once, (\d+) context switches$/m;
    expect(a.stderr).toMatch(threads);
    // Same slice, same virtual time: the same schedule, down to the last switch.
    expect(threads.exec(b.stderr)![1]).toBe(threads.exec(a.stderr)![1]);
    expect(/^ringvisor: instructions: \d+$/m.exec(b.stderr)![0]).toBe(/^ringvisor: instructions: \d+$/m.exec(a.stderr)![0]);
    expect(cli('run', '--thread-slice', '0', 'guests/bin/hello.elf').stderr).toMatch(/bad thread slice '0'/);
  });

  it('--stats reports the peak of mapped guest memory', () => {
    const r = cli('run', '--stats', '--mem', '768M', '--cwd', tmpdir(), 'guests/bin/mmap-large.elf');
    expect(r.status).toBe(0);
    // Its largest moment: the 512 MiB mapping and the 8 MiB stack.
    const m = /^ringvisor: peak memory: ([\d.]+) MiB mapped of 768\.0 MiB$/m.exec(r.stderr);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(520);
    expect(Number(m![1])).toBeLessThan(530);
  });

  it('names a guest memory size WebAssembly cannot provide, with status 2', () => {
    const r = cli('run', '--mem', '8G', 'guests/bin/hello.elf');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('ringvisor: cannot allocate 8589934592 bytes of guest RAM (WebAssembly memory is limited to 4 GiB)\n');
  });

  it('a guest whose stdout reader goes away gets SIGPIPE (status 141), as under qemu-riscv64', async () => {
    const run = (command: string, args: string[]) => new Promise<{ code: number | null; signal: string | null }>((done) => {
      const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
      // Close the reading end after the first bytes, as `| head -1` would.
      child.stdout.once('data', () => child.stdout.destroy());
      child.on('exit', (code, signal) => done({ code, signal }));
    });
    const r = await run(process.execPath, ['dist/cli/main.js', 'run', 'guests/bin/files-pipe.elf', 'stdout']);
    expect(r).toEqual({ code: 141, signal: null });
    const qemu = qemuPath();
    // QEMU dies of the host's SIGPIPE, which a shell reports as 141. (Run
    // through sh, as record-golden.mjs runs it: spawned straight from Node it
    // would inherit Node's ignored SIGPIPE and pass that on to the guest.)
    if (qemu) {
      expect(await run('sh', ['-c', 'exec "$0" "$@"', qemu, 'guests/bin/files-pipe.elf', 'stdout'])).toEqual({ code: null, signal: 'SIGPIPE' });
    }
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
