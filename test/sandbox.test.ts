// The file-system sandbox: what a guest can and cannot reach. Escape attempts
// ('..', absolute symbolic links, chains of links, links planted by the host)
// must fail with the errno a chroot would give (the outside does not exist:
// ENOENT; the read-only root: EROFS; a loop: ELOOP). QEMU sees the real host,
// so these run under ringvisor only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { accessSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessVM } from '../src/index.js';
import { sandboxFs, parseMountSpec } from '../src/node/host-fs.js';
import { FsError } from '../src/linux/fs/types.js';
import type { GuestFs } from '../src/linux/fs/guest-fs.js';
import { ENOENT, ELOOP, EROFS, EXDEV, ENOTDIR } from '../src/linux/errno.js';
import { ROOT } from './support/guests.js';

let base: string;
let work: string;
let secret: string;
let shared: string;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'ringvisor-sandbox-')));
  work = join(base, 'work');
  shared = join(base, 'shared');
  mkdirSync(work);
  mkdirSync(join(base, 'secretdir'));
  mkdirSync(shared);
  secret = join(base, 'secretdir', 'secret.txt');
  writeFileSync(secret, 'TOP SECRET\n');
  writeFileSync(join(shared, 'data.txt'), 'shared data\n');
  // Links the host planted inside the working directory, pointing out of it.
  symlinkSync(secret, join(work, 'planted-abs'));
  symlinkSync('../secretdir/secret.txt', join(work, 'planted-rel'));
  symlinkSync('/', join(work, 'planted-root'));
  symlinkSync(join(shared, 'data.txt'), join(work, 'to-shared'));
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

/** errno of a GuestFs operation, or 0 when it succeeds. */
function errnoOf(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof FsError) return e.errno;
    throw e;
  }
}

function readGuest(fs: GuestFs, path: string): string {
  const r = fs.resolve(undefined, path);
  const f = fs.open(r, 0, 0);
  const buf = new Uint8Array(256);
  const n = f.read(buf, 0);
  f.close();
  return new TextDecoder().decode(buf.subarray(0, n));
}

describe('escape attempts by a real program (files-escape.elf)', () => {
  it('every attempt fails with the errno a chroot gives', async () => {
    const out: Buffer[] = [];
    const vm = ProcessVM.create(new Uint8Array(readFileSync(join(ROOT, 'guests/bin/files-escape.elf'))), {
      argv: [join(ROOT, 'guests/bin/files-escape.elf'), secret],
      fs: sandboxFs({ cwd: work }),
      stdout: (d) => out.push(Buffer.from(d)),
      stderr: (d) => out.push(Buffer.from(d)),
    });
    const status = await vm.run();
    const top = work.split('/')[1];
    expect(Buffer.concat(out).toString()).toBe([
      'dot-dot to the secret: No such file or directory',
      'dot-dot to /etc/passwd: No such file or directory',
      'absolute secret: No such file or directory',
      'absolute symlink to the secret: No such file or directory',
      'absolute symlink to /etc: No such file or directory',
      'relative symlink with dot-dots: No such file or directory',
      'symlink chain out: No such file or directory',
      'symlink loop: Too many levels of symbolic links',
      `at / after several chdir(".."): entries: ${['.', '..', 'dev', 'proc', 'tmp', top].filter((x, i, a) => a.indexOf(x) === i).sort().join(' ')}`,
      'mkdir /escape: Read-only file system',
      '/proc/self/exe ends with files-escape.elf: yes',
      '',
    ].join('\n'));
    expect(status).toBe(0);
    expect(existsSync('/escape')).toBe(false);
  });
});

describe('the sandbox namespace', () => {
  it('the working directory is at its own path; nothing else of the host is', () => {
    const fs = sandboxFs({ cwd: work });
    expect('/' + fs.cwd.join('/')).toBe(work);
    expect(errnoOf(() => fs.resolve(undefined, secret))).toBe(ENOENT);
    expect(errnoOf(() => fs.resolve(undefined, '/etc/passwd'))).toBe(ENOENT);
    expect(errnoOf(() => fs.resolve(undefined, '/home'))).toBe(ENOENT);
    // The parent directories exist, holding only the way to the mount.
    const parent = fs.resolve(undefined, '..');
    expect(fs.readdir(parent).map((e) => e.name)).toEqual(['work']);
  });

  it("'..' above / stays at /; '..' from a mount's root goes to its mount point's parent", () => {
    const fs = sandboxFs({ cwd: work });
    const deep = '../'.repeat(30);
    expect(fs.resolve(undefined, deep).guest).toEqual([]);
    expect(fs.resolve(undefined, `${deep}tmp`).guest).toEqual(['tmp']);
    expect(fs.resolve(undefined, '..').guest).toEqual(work.split('/').filter(Boolean).slice(0, -1));
    expect(errnoOf(() => fs.resolve(undefined, '../secretdir/secret.txt'))).toBe(ENOENT);
  });

  it('links the host planted are resolved inside the sandbox', () => {
    const fs = sandboxFs({ cwd: work });
    expect(errnoOf(() => fs.resolve(undefined, 'planted-abs'))).toBe(ENOENT);
    expect(errnoOf(() => fs.resolve(undefined, 'planted-rel'))).toBe(ENOENT);
    // '/' through a link is the guest's root, not the host's.
    expect(fs.readdir(fs.resolve(undefined, 'planted-root')).map((e) => e.name).sort()).toEqual([...new Set(['dev', 'proc', 'tmp', work.split('/')[1]])].sort());
    expect(errnoOf(() => fs.resolve(undefined, 'planted-root/etc/passwd'))).toBe(ENOENT);
    // the link itself can be looked at
    expect(fs.readlink(fs.resolve(undefined, 'planted-abs', false))).toBe(secret);
    expect(errnoOf(() => fs.resolve(undefined, 'to-shared'))).toBe(ENOENT);
  });

  it('/tmp is private and starts empty (but for the way to a working directory inside it)', () => {
    const fs = sandboxFs({ cwd: work });
    const names = fs.readdir(fs.resolve(undefined, '/tmp')).map((e) => e.name);
    expect(names.every((n) => work.startsWith('/tmp/' + n))).toBe(true);
    // The checkout itself may live under /tmp (CI clones anywhere): then only
    // the way to it shows there.
    const elsewhere = sandboxFs({ cwd: ROOT });
    const rootPath = ROOT.replace(/\/$/, '');
    const shown = elsewhere.readdir(elsewhere.resolve(undefined, '/tmp')).map((e) => e.name);
    expect(shown).toEqual(rootPath.startsWith('/tmp/') ? [rootPath.split('/')[2]] : []);
  });

  it('--mount adds a host directory; :ro refuses writes with EROFS; links between mounts work', () => {
    const fs = sandboxFs({ cwd: work, mounts: [parseMountSpec(`${shared}:/data:ro`)] });
    expect(readGuest(fs, '/data/data.txt')).toBe('shared data\n');
    const missing = fs.walk(undefined, '/data/new.txt', { follow: true, allowMissing: true });
    expect(errnoOf(() => fs.mkdir(missing, 0o755))).toBe(EROFS);
    expect(errnoOf(() => fs.unlink(fs.resolve(undefined, '/data/data.txt')))).toBe(EROFS);
    const ro = fs.open(fs.resolve(undefined, '/data/data.txt'), 0, 0);
    expect(errnoOf(() => ro.utimes({ sec: 1n, nsec: 0 }, null))).toBe(EROFS);
    expect(errnoOf(() => ro.write(new Uint8Array(1), 0))).not.toBe(0);
    ro.close();
    expect(errnoOf(() => fs.rename(fs.resolve(undefined, '/data/data.txt'), fs.walk(undefined, 'x', { follow: false, allowMissing: true }), false))).toBe(EXDEV);
    // The host's absolute link to shared/ means nothing inside: /data is where it is.
    expect(errnoOf(() => fs.resolve(undefined, 'to-shared'))).toBe(ENOENT);
    const same = sandboxFs({ cwd: work, mounts: [parseMountSpec(shared)] });
    expect(readGuest(same, 'to-shared')).toBe('shared data\n');
  });

  it('a symbolic link chain inside a mount that leaves it ends in ENOENT, a loop in ELOOP', () => {
    const dir = join(work, 'chains');
    mkdirSync(dir);
    symlinkSync('c2', join(dir, 'c1'));
    symlinkSync('../chains/c3', join(dir, 'c2'));
    symlinkSync('../../../../../../../../../..' + secret, join(dir, 'c3'));
    symlinkSync('self', join(dir, 'self'));
    const fs = sandboxFs({ cwd: work });
    expect(errnoOf(() => fs.resolve(undefined, 'chains/c1'))).toBe(ENOENT);
    expect(errnoOf(() => fs.resolve(undefined, 'chains/self'))).toBe(ELOOP);
    expect(errnoOf(() => fs.resolve(undefined, 'chains/c1/x'))).toBe(ENOENT);
    writeFileSync(join(dir, 'file'), 'f');
    expect(errnoOf(() => fs.resolve(undefined, 'chains/file/x'))).toBe(ENOTDIR);
  });

  it('--fs=host sees the host as qemu-riscv64 does', () => {
    const fs = sandboxFs({ cwd: work, hostRoot: true });
    expect(readGuest(fs, secret)).toBe('TOP SECRET\n');
    expect(readGuest(fs, 'planted-rel')).toBe('TOP SECRET\n');
  });

  // qemu-riscv64 passes the host's getdents order on, and programs print it
  // (7zz h did): a host directory is listed in that order, not sorted. `ls -f`
  // lists in directory order too.
  it("lists a host directory in the host's order, as ls -f does", () => {
    const dir = join(work, 'order');
    mkdirSync(dir);
    for (let i = 0; i < 40; i++) writeFileSync(join(dir, `entry-${(i * 7919) % 97}.${i % 3 ? 'txt' : 'bin'}`), '');
    const ls = spawnSync('ls', ['-f', dir], { encoding: 'latin1' });
    expect(ls.status).toBe(0);
    const hostOrder = ls.stdout.split('\n').filter((n) => n !== '' && n !== '.' && n !== '..');
    const fs = sandboxFs({ cwd: work });
    expect(fs.readdir(fs.resolve(undefined, 'order')).map((e) => e.name)).toEqual(hostOrder);
    rmSync(dir, { recursive: true });
  });

  it('parses --mount specifications', () => {
    expect(parseMountSpec('/a:/b:ro')).toEqual({ host: '/a', guest: '/b', readOnly: true });
    expect(parseMountSpec('/a:/b')).toEqual({ host: '/a', guest: '/b', readOnly: false });
    expect(parseMountSpec('/a')).toEqual({ host: '/a', guest: '/a', readOnly: false });
    expect(() => parseMountSpec('/a:rel')).toThrow(/absolute/);
  });
});

describe('the ringvisor command: --cwd, --mount, --fs=host, stdin', () => {
  const run = (args: string[], input = '') =>
    spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'run', ...args], { cwd: work, input, timeout: 60_000 });
  const escape = join(ROOT, 'guests/bin/files-escape.elf');
  const stdinElf = join(ROOT, 'guests/bin/files-stdin.elf');

  it('sandboxes by default and opens up with --fs=host', () => {
    const sandboxed = run([escape, secret]);
    expect(sandboxed.stdout.toString()).toContain('absolute secret: No such file or directory');
    expect(sandboxed.status).toBe(0);
    const open = run(['--fs=host', escape, secret]);
    expect(open.stdout.toString()).toContain('absolute secret: OPENED (TOP SECRET)');
  });

  it('--mount shows a directory read-only; --cwd moves the working directory', () => {
    const r = run(['--mount', `${join(base, 'secretdir')}:/s:ro`, escape, '/s/secret.txt']);
    expect(r.stdout.toString()).toContain('absolute secret: OPENED (TOP SECRET)');
    expect(r.stdout.toString()).toContain('dot-dot to the secret: OPENED (TOP SECRET)');
    const bad = run(['--mount', '/nonexistent-dir-xyz:/x', escape]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.toString()).toContain('/nonexistent-dir-xyz');
    const moved = run(['--cwd', shared, stdinElf], 'abc\n');
    expect(moved.stdout.toString()).toBe('abc\nread at EOF again: 0\ngetchar at EOF: -1\nisatty: stdin 0, stdout 0, stderr 0\nwindow: Inappropriate ioctl for device\n');
  });

  it('gives a stdin redirected from a regular file as that file', () => {
    writeFileSync(join(work, 'input.txt'), 'from a file\n');
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'dist/cli/main.js'))} run ${JSON.stringify(stdinElf)} 4 < input.txt`;
    const r = spawnSync('sh', ['-c', cmd], { cwd: work, timeout: 60_000 });
    expect(r.stdout.toString()).toMatch(/^from a file\nread at EOF again: 0\n/);
    expect(r.stderr.toString()).toBe('12 bytes, 1 lines, 3 words; last read 0\n');
  });

  it('passes stdin through and documents the flags in --help', () => {
    const r = run([stdinElf, '3'], 'one two\nthree\n');
    expect(r.stdout.toString()).toBe('one two\nthree\nread at EOF again: 0\ngetchar at EOF: -1\nisatty: stdin 0, stdout 0, stderr 0\nwindow: Inappropriate ioctl for device\n');
    expect(r.stderr.toString()).toBe('14 bytes, 2 lines, 3 words; last read 0\n');
    const help = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'run', '--help']).stdout.toString();
    for (const flag of ['--mount', '--fs=host', '--cwd']) expect(help).toContain(flag);
  });

  const hasScript = (() => {
    try {
      accessSync('/usr/bin/script');
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!hasScript)('reports a terminal as a terminal (under script(1), a pseudo-terminal)', () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'dist/cli/main.js'))} run ${JSON.stringify(stdinElf)} < /dev/null`;
    const r = spawnSync('/usr/bin/script', ['-qec', cmd, '/dev/null'], { cwd: work, timeout: 60_000 });
    const text = r.stdout.toString().replace(/\r/g, '');
    expect(text).toContain('isatty: stdin 0, stdout 1, stderr 1\n');
    expect(text).toMatch(/window: (has a size|empty)\n/);
  });
});
