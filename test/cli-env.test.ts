// The guest's environment under `ringvisor run`: the host's by default, as
// qemu-riscv64 passes it; --env-clear (-i) for none; --env / -E to set,
// --unset-env / -U to remove, -E and -U taking qemu-riscv64's comma lists.
// Each run gets a controlled environment (never the test machine's own), and
// guests/bin/args.elf prints the envp it was given. qemu-riscv64 hands the
// environment over in reverse (linux-user's envlist prepends); ringvisor
// keeps the host's order, as a native exec does, so the comparisons with
// QEMU are of the variables, sorted, and the order is checked on ours.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProcessVM, ArgumentListTooLongError } from '../src/linux/process-vm.js';
import { loadCpuModule } from '../src/node/load.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const ARGS = 'guests/bin/args.elf';
const haveQemu = spawnSync('qemu-riscv64', ['--version']).status === 0;
/** The host environment every run here gets. */
const HOST_ENV = { HOME: '/home/guest', PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', EMPTY: '', 'WITH=EQUALS': 'x' };

/** The envp lines args.elf printed, as the strings themselves. */
function envp(stdout: string): string[] {
  return [...stdout.matchAll(/^envp\[\d+\] = "(.*)"$/gm)].map((m) => m[1]);
}

function ringvisor(options: string[], env: Record<string, string> = HOST_ENV) {
  const r = spawnSync(process.execPath, [`${root}dist/bin/ringvisor.js`, 'run', ...options, ARGS], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  return { env: envp(r.stdout), status: r.status, stderr: r.stderr };
}

function qemu(options: string[], env: Record<string, string> = HOST_ENV) {
  const r = spawnSync('qemu-riscv64', [...options, ARGS], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  return { env: envp(r.stdout), status: r.status };
}

const sorted = (xs: string[]) => [...xs].sort();

describe('ringvisor run: the guest\'s environment', () => {
  it('is the host\'s by default, in the host\'s order (PATH and HOME there for programs that read them)', () => {
    const r = ringvisor([]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.env).toEqual(['HOME=/home/guest', 'PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8', 'EMPTY=', 'WITH=EQUALS=x']);
  });

  it('--env sets or replaces in place, --unset-env removes, in the order given', () => {
    const r = ringvisor(['--env', 'LANG=fr_FR', '--env', 'NEW=1', '--unset-env', 'EMPTY', '--env', 'EMPTY=back', '--unset-env', 'NEW']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.env).toEqual(['HOME=/home/guest', 'PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=fr_FR', 'WITH=EQUALS=x', 'EMPTY=back']);
  });

  it('--env-clear and -i start from an empty environment; --env still adds', () => {
    expect(ringvisor(['--env-clear']).env).toEqual([]);
    expect(ringvisor(['-i', '--env', 'ONLY=this']).env).toEqual(['ONLY=this']);
  });

  it('-E and -U take qemu-riscv64\'s comma-separated lists', () => {
    expect(ringvisor(['-E', 'A=1,B=2', '-U', 'HOME,PATH', '-i']).env).toEqual(['A=1', 'B=2']);
  });

  it.skipIf(!haveQemu)('holds the same variables as under qemu-riscv64, for the same host environment and options', () => {
    const cases: [string[], string[], Record<string, string>?][] = [
      [[], []],
      [['-E', 'LANG=fr_FR,NEW=1', '-U', 'EMPTY'], ['-E', 'LANG=fr_FR,NEW=1', '-U', 'EMPTY']],
      [['--env', 'HOME=/elsewhere', '--unset-env', 'PATH'], ['-E', 'HOME=/elsewhere', '-U', 'PATH']],
      // --env-clear against QEMU started with nothing (env -i).
      [['--env-clear', '--env', 'A=1'], ['-E', 'A=1'], {}],
    ];
    for (const [ours, theirs, qemuEnv] of cases) {
      const r = ringvisor(ours), q = qemu(theirs, qemuEnv ?? HOST_ENV);
      expect(q.status).toBe(0);
      expect(r.status, r.stderr).toBe(0);
      expect(sorted(r.env), ours.join(' ')).toEqual(sorted(q.env));
    }
  });

  it('bad values are usage errors (status 2), one line each; more than execve takes is E2BIG', () => {
    const bad: [string[], RegExp][] = [
      [['--env', 'NOEQUALS'], /^ringvisor: bad --env 'NOEQUALS' \(KEY=VALUE\)$/],
      [['-E', 'A=1,=2'], /^ringvisor: bad -E '=2' \(KEY=VALUE\)$/],
      [['--unset-env', 'A=1'], /^ringvisor: bad --unset-env 'A=1' \(a variable's name\)$/],
      [['-U', 'A,'], /^ringvisor: bad -U '' \(a variable's name\)$/],
    ];
    for (const [options, message] of bad) {
      const r = ringvisor(options);
      expect(r.stderr.trimEnd(), options.join(' ')).toMatch(message);
      expect(r.status).toBe(2);
    }
    // Past Linux's limits only a library caller can get: the host's own
    // execve of ringvisor has the same ones (E2BIG there).
    const elf = readFileSync(`${root}${ARGS}`);
    expect(() => ProcessVM.create(elf, { env: [`BIG=${'x'.repeat(200_000)}`], cpuModule: loadCpuModule('release') }))
      .toThrow(new ArgumentListTooLongError('guest', 'an environment string of 200005 bytes, more than 131072'));
    const many = Array.from({ length: 40 }, (_, i) => `V${i}=${'y'.repeat(60_000)}`);
    expect(() => ProcessVM.create(elf, { env: many, cpuModule: loadCpuModule('release') }))
      .toThrow(/^guest: Argument list too long \(\d+ bytes of arguments and environment, more than 2097152\)$/);
  });
});
