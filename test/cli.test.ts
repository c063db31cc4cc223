// The `ringvisor run` command's options that change how a guest is run or
// observed: limits, --stats and --strace.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readProgramFile } from '../src/node/read-program.js';
import { ROOT, qemuPath } from './support/guests.js';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['dist/bin/ringvisor.js', ...args], { encoding: 'utf8', cwd: new URL('..', import.meta.url) });

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
    // hello uses a few pages, and maps nothing but its stack (8 MiB) and its program.
    expect(r.stderr).toMatch(/^ringvisor: peak memory: 0\.\d MiB used of 1024\.0 MiB, 8\.0 MiB mapped of 262143\.9 MiB$/m);
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

  it('--stats reports the peak of used and of mapped guest memory', () => {
    const r = cli('run', '--stats', '--mem', '768M', '--cwd', tmpdir(), 'guests/bin/mmap-large.elf');
    expect(r.status).toBe(0);
    // Its largest moment: the 512 MiB mapping and the 8 MiB stack, mapped;
    // of those it writes a page in every 64 KiB and a 16 MiB file mapping.
    const m = /^ringvisor: peak memory: ([\d.]+) MiB used of 768\.0 MiB, ([\d.]+) MiB mapped of 262143\.9 MiB$/m.exec(r.stderr);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(520);
    expect(Number(m![2])).toBeLessThan(530);
    expect(Number(m![1])).toBeGreaterThan(1);
    expect(Number(m![1])).toBeLessThan(Number(m![2]));
  });

  it('names a guest memory size WebAssembly cannot provide, with status 2', () => {
    const r = cli('run', '--mem', '8G', 'guests/bin/hello.elf');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("ringvisor: bad size '8G' for --mem: at most 4032M (WebAssembly memory is limited to 4 GiB)\n");
  });

  // Issue 11: `--mem 12345` ended in an uncaught RangeError and its stack.
  it('every bad numeric value of run and boot is one line and status 2, never a stack trace', () => {
    const bad: [string[], RegExp][] = [
      [['--mem', '12345'], /^ringvisor: bad size '12345' for --mem: not a whole number of 4 KiB pages/],
      [['--mem', '0'], /^ringvisor: bad size '0' for --mem: at least 1M/],
      [['--mem', '-1M'], /^ringvisor: bad size '-1M' for --mem/],
      [['--mem', 'NaN'], /^ringvisor: bad size 'NaN' for --mem/],
      [['--mem', '4095M'], /^ringvisor: bad size '4095M' for --mem: at most 4032M/],
      [['--mem', '99999999999999999999G'], /^ringvisor: bad size '99999999999999999999G' for --mem/],
      [['--timeout', '0'], /^ringvisor: bad timeout '0' \(seconds, more than 0/],
      [['--timeout', '-1'], /^ringvisor: bad timeout '-1'/],
      [['--timeout', '1e999'], /^ringvisor: bad timeout '1e999'/],
      [['--timeout', '9'.repeat(400)], /^ringvisor: bad timeout '9+'/],
      [['--max-instructions', '0'], /^ringvisor: bad instruction count '0' \(1 to 18446744073709551615\)/],
      [['--max-instructions', '18446744073709551616'], /^ringvisor: bad instruction count/],
      [['--max-instructions', '-5'], /^ringvisor: bad instruction count '-5'/],
      [['--thread-slice', '99999999999999999999'], /^ringvisor: bad thread slice '99999999999999999999'/],
      [['--jit', '-1'], /^ringvisor: bad --jit '-1'/],
      [['--jit-ageing', 'yes'], /^ringvisor: bad --jit-ageing 'yes' \(on or off\)/],
      [['--jit-worker', '-1'], /^ringvisor: bad --jit-worker '-1' \(on, off, or milliseconds\)/],
      [['--jit-worker', '1.5'], /^ringvisor: bad --jit-worker '1.5'/],
      [['--jit-worker', '99999999'], /^ringvisor: bad --jit-worker '99999999'/],
    ];
    for (const [options, message] of bad) {
      for (const command of ['run', 'boot'] as const) {
        if (command === 'boot' && ['--thread-slice', '--jit', '--jit-ageing'].includes(options[0])) continue;
        const r = command === 'run'
          ? cli('run', ...options, 'guests/bin/hello.elf')
          : cli('boot', '--kernel', 'guests/bin/hello.elf', ...options);
        const expected = command === 'run' ? message : new RegExp(message.source.replace('^ringvisor: ', '^ringvisor: boot: '));
        expect(r.stderr, `${command} ${options.join(' ')}`).toMatch(expected);
        expect(r.stderr.split('\n'), `${command} ${options.join(' ')}: one line`).toHaveLength(2);
        expect(r.status, `${command} ${options.join(' ')}`).toBe(2);
      }
    }
  });

  // Issue 11: `ringvisor run /dev/zero` read until host memory ran out, and
  // a FIFO blocked the host forever. QEMU refuses both too (status 1, "Error
  // while loading"); ringvisor keeps its shell-like 126 for any file it
  // cannot run, as for a file that is not an ELF.
  it('refuses a program that is not a regular file, or is too large, at once and in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-cli-'));
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const cases: [string, string][] = [
      ['/dev/zero', 'ringvisor: /dev/zero: not a regular file (a character device)\n'],
      [fifo, `ringvisor: ${fifo}: not a regular file (a FIFO)\n`],
      [dir, `ringvisor: ${dir}: Is a directory\n`],
    ];
    for (const [path, message] of cases) {
      const started = Date.now();
      const r = spawnSync(process.execPath, ['dist/bin/ringvisor.js', 'run', path], { encoding: 'utf8', cwd: ROOT, timeout: 20_000 });
      expect(r.stderr).toBe(message);
      expect(r.status).toBe(126);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    // The size limit, through the library function the command uses.
    const big = join(dir, 'big');
    writeFileSync(big, new Uint8Array(8192));
    expect(() => readProgramFile(big, 4096)).toThrow(/too large \(8192 bytes; a program may have at most 4096\)/);
    expect(readProgramFile(big, 8192)).toHaveLength(8192);
  });

  it('a guest whose stdout reader goes away gets SIGPIPE (status 141), as under qemu-riscv64', async () => {
    const run = (command: string, args: string[]) => new Promise<{ code: number | null; signal: string | null }>((done) => {
      const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
      // Close the reading end after the first bytes, as `| head -1` would.
      child.stdout.once('data', () => child.stdout.destroy());
      child.on('exit', (code, signal) => done({ code, signal }));
    });
    const r = await run(process.execPath, ['dist/bin/ringvisor.js', 'run', 'guests/bin/files-pipe.elf', 'stdout']);
    expect(r).toEqual({ code: 141, signal: null });
    const qemu = qemuPath();
    // QEMU dies of the host's SIGPIPE, which a shell reports as 141. (Run
    // through sh, as record-golden.mjs runs it: spawned straight from Node it
    // would inherit Node's ignored SIGPIPE and pass that on to the guest.)
    // QEMU takes the host's SIGPIPE asynchronously: on a loaded machine its
    // guest now and then sees the EPIPE first and exits 3. Three tries.
    if (qemu) {
      const tries = [];
      for (let i = 0; i < 3 && tries.at(-1)?.signal !== 'SIGPIPE'; i++) tries.push(await run('sh', ['-c', 'exec "$0" "$@"', qemu, 'guests/bin/files-pipe.elf', 'stdout']));
      expect(tries.at(-1)).toEqual({ code: null, signal: 'SIGPIPE' });
    }
  });

  it('--strace shows each system call and its result', () => {
    const r = cli('run', '--strace', 'guests/bin/hello.elf');
    expect(r.stderr).toMatch(/^write\(0x1, 0x[0-9a-f]+, 0x[0-9a-f]+\) = \d+$/m);
    expect(r.stderr).toMatch(/^exit_group\(0x0\) = \?$/m);
  });

  // Issue 11: a guest reading a terminal or a pipe with nothing to read
  // held ringvisor for ever, --timeout or not.
  it('--timeout also ends a guest waiting for input on a stdin that never comes', () => {
    const started = Date.now();
    // stdin: a FIFO that stays open (the shell holds a writer on fd 3, which
    // ringvisor inherits) and empty.
    const fifo = join(mkdtempSync(join(tmpdir(), 'ringvisor-cli-')), 'stdin');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const script = `exec 3<>"$1"; exec "$2" dist/bin/ringvisor.js run --timeout 1 guests/bin/files-stdin.elf <"$1"`;
    const r = spawnSync('sh', ['-c', script, 'sh', fifo, process.execPath], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('ringvisor: guests/bin/files-stdin.elf: timed out after 1 s waiting for input on stdin\n');
    expect(r.status).toBe(124);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('rejects a malformed --timeout', () => {
    const r = cli('run', '--timeout', 'soon', 'guests/bin/hello.elf');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ringvisor: bad timeout 'soon' \(seconds\)/);
  });
});

// package.json's bin is the bundle scripts/bundle.mjs makes (dist/bin/), not
// tsc's dist/cli/main.js: what a user runs must find the CPU module and start
// its translation worker from there, and load none of tsc's modules.
describe('the ringvisor command, as packaged', () => {
  it('is the bundle, and translates in its worker thread', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.ringvisor).toBe('dist/bin/ringvisor.js');
    // A hook that names every file module loaded, in this thread or another.
    const hook = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent("export async function load(u, c, next) { if (u.startsWith('file:')) process.stderr.write('loaded ' + u + '\\\\n'); return next(u, c); }"));`)}`;
    // (--jit-worker 0: the worker starts with the first translation. The
    // run must outlast the worker's start, a Node in a thread of its own,
    // which takes longer on a loaded machine: 20,000 rounds, about 0.6 s of
    // guest time here; 2,000 ended first once in a loaded CI run.)
    const r = spawnSync(process.execPath, ['--import', hook, join(ROOT, pkg.bin.ringvisor), 'run', '--stats', '--jit-warmup', '0', '--jit', '64', '--jit-worker', '0',
      'guests/bin/bench-integer.elf', '20000'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const translated = /^ringvisor: translation: (\d+) regions .* in (\d+) modules/m.exec(r.stderr);
    expect(translated, r.stderr).not.toBeNull();
    expect(Number(translated![1])).toBeGreaterThan(0);
    // --stats has the translations count the calls into them.
    expect(Number(/^ringvisor: translation entries: (\d+) calls/m.exec(r.stderr)?.[1])).toBeGreaterThan(0);
    const loaded = [...r.stderr.matchAll(/^loaded file:\/\/(.*)$/gm)].map((m) => m[1]);
    expect(loaded).toContain(join(ROOT, 'dist/bin/ringvisor.js'));
    expect(loaded).toContain(join(ROOT, 'dist/bin/translation-thread.js'));
    expect(loaded.filter((f) => !f.startsWith(join(ROOT, 'dist/bin/')))).toEqual([]);
  });

  // The command with `args` on pipes, and Node's own modules it loaded.
  function withBuiltins(...args: string[]) {
    const hook = `data:text/javascript,${encodeURIComponent(`import { writeSync } from 'node:fs';
process.on('exit', () => writeSync(2, 'builtins ' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' ') + '\\n'));`)}`;
    const r = spawnSync(process.execPath, ['--import', hook, join(ROOT, 'dist/bin/ringvisor.js'), ...args],
      { cwd: ROOT, encoding: 'utf8', input: '', timeout: 60_000 });
    return { ...r, builtins: /^builtins (.*)$/m.exec(r.stderr)?.[1].split(' ') };
  }

  // What a short program does not need is not loaded at start: node:tty
  // (with node:net and streams) unless a standard stream is a character
  // device, node:worker_threads until the first translation, node:crypto
  // and node:child_process not at all (docs/PERFORMANCE.md, "Start-up").
  it('runs a short program on pipes without loading node:tty, worker_threads, crypto or child_process', () => {
    const { builtins, ...r } = withBuiltins('run', 'guests/bin/hello.elf');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Hello from a RISC-V guest');
    expect(builtins).toContain('fs');
    for (const m of ['tty', 'net', 'worker_threads', 'internal/crypto/random', 'internal/crypto/webcrypto', 'child_process']) expect(builtins, m).not.toContain(m);
  });

  // The control API's server (node:http and crypto: some 7 ms of a boot's
  // start) is loaded only for --api. (node:net comes anyway: the console
  // reads stdin, a pipe here, which Node makes a socket.)
  it('boots without loading node:http or crypto unless --api is given', () => {
    const { builtins, ...r } = withBuiltins('boot', '--kernel', 'guests/bin/hello.elf', '--max-instructions', '1000');
    expect(builtins, r.stderr).toContain('fs');
    for (const m of ['http', 'crypto']) expect(builtins, m).not.toContain(m);
  });
});
