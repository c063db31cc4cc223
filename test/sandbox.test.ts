// The file-system sandbox: what a guest can and cannot reach. Escape attempts
// ('..', absolute symbolic links, chains of links, links planted by the host)
// must fail with the errno a chroot would give (the outside does not exist:
// ENOENT; the read-only root: EROFS; a loop: ELOOP). QEMU sees the real host,
// so these run under ringvisor only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync, lstatSync, readdirSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessVM } from '../src/index.js';
import { sandboxFs, parseMountSpec, HostFs, hostSysroot } from '../src/node/host-fs.js';
import { FsError } from '../src/linux/fs/types.js';
import { errnoOf } from './support/fs-errno.js';
import type { GuestFs } from '../src/linux/fs/guest-fs.js';
import { ENOENT, ELOOP, EROFS, EXDEV, ENOTDIR, EACCES } from '../src/linux/errno.js';
import type { FileSystem } from '../src/linux/fs/types.js';
import { DirectoryDescription } from '../src/linux/fs/file-table.js';
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


function readGuest(fs: GuestFs, path: string): string {
  const r = fs.resolve(undefined, path);
  try {
    const f = fs.open(r, 0, 0);
    const buf = new Uint8Array(256);
    const n = f.read(buf, 0);
    f.close();
    return new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    fs.settle?.(); // (?.: the same tests run against older code, which had no settle)
  }
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
    spawnSync(process.execPath, [join(ROOT, 'dist/bin/ringvisor.js'), 'run', ...args], { cwd: work, input, timeout: 60_000 });
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
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'dist/bin/ringvisor.js'))} run ${JSON.stringify(stdinElf)} 4 < input.txt`;
    const r = spawnSync('sh', ['-c', cmd], { cwd: work, timeout: 60_000 });
    expect(r.stdout.toString()).toMatch(/^from a file\nread at EOF again: 0\n/);
    expect(r.stderr.toString()).toBe('12 bytes, 1 lines, 3 words; last read 0\n');
  });

  it('passes stdin through and documents the flags in --help', () => {
    const r = run([stdinElf, '3'], 'one two\nthree\n');
    expect(r.stdout.toString()).toBe('one two\nthree\nread at EOF again: 0\ngetchar at EOF: -1\nisatty: stdin 0, stdout 0, stderr 0\nwindow: Inappropriate ioctl for device\n');
    expect(r.stderr.toString()).toBe('14 bytes, 2 lines, 3 words; last read 0\n');
    const help = spawnSync(process.execPath, [join(ROOT, 'dist/bin/ringvisor.js'), 'run', '--help']).stdout.toString();
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
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'dist/bin/ringvisor.js'))} run ${JSON.stringify(stdinElf)} < /dev/null`;
    const r = spawnSync('/usr/bin/script', ['-qec', cmd, '/dev/null'], { cwd: work, timeout: 60_000 });
    const text = r.stdout.toString().replace(/\r/g, '');
    expect(text).toContain('isatty: stdin 0, stdout 1, stderr 1\n');
    expect(text).toMatch(/window: (has a size|empty)\n/);
  });
});

// Issue 11: escapes that change names under the sandbox's feet. A marker
// secret lies outside the sandbox; no output may ever contain it. Each of
// these succeeded before host paths were walked from held descriptors
// (checked against commit 09d7540).
describe('names changed under the sandbox (issue 11)', () => {
  const SECRET = 'TOP SECRET';
  let fresh: string;
  let outside: string;
  let secretdir: string;

  beforeAll(() => {
    fresh = realpathSync(mkdtempSync(join(tmpdir(), 'ringvisor-races-')));
    secretdir = join(fresh, 'secretdir');
    outside = join(fresh, 'outside');
    mkdirSync(secretdir);
    writeFileSync(join(secretdir, 'secret.txt'), `${SECRET}\n`);
    mkdirSync(join(outside, 'b'), { recursive: true });
    writeFileSync(join(outside, 'b', 'secret.txt'), `${SECRET}\n`);
  });
  afterAll(() => rmSync(fresh, { recursive: true, force: true }));

  /** A fresh working directory with a/b/inside.txt and c/b/ for the mount attacks. */
  function workdir(name: string): string {
    const w = join(fresh, name);
    mkdirSync(join(w, 'a', 'b'), { recursive: true });
    writeFileSync(join(w, 'a', 'b', 'inside.txt'), 'inside\n');
    mkdirSync(join(w, 'c', 'b'), { recursive: true });
    return w;
  }

  it('files-escape-races: a renamed directory, an O_PATH link, a swapped mount component, moved directories, hard links, and two racing threads see nothing of the host', async () => {
    const w = workdir('guest');
    const elf = join(ROOT, 'guests/bin/files-escape-races.elf');
    const out: Buffer[] = [];
    const vm = ProcessVM.create(new Uint8Array(readFileSync(elf)), {
      argv: [elf, secretdir, outside, '200'],
      fs: sandboxFs({ cwd: w, mounts: [parseMountSpec(`${join(w, 'a', 'b')}:/deep:ro`), parseMountSpec(`${join(w, 'c', 'b')}:/deepw`)] }),
      stdout: (d) => out.push(Buffer.from(d)),
      stderr: (d) => out.push(Buffer.from(d)),
    });
    const status = await vm.run();
    const text = Buffer.concat(out).toString();
    expect(text).not.toContain(SECRET);
    expect(text).toBe([
      'renamed directory: getdents64 lists: . .. mine',
      'renamed directory: openat secret.txt: No such file or directory',
      'renamed directory: openat mine: read "guest file"',
      'renamed directory: O_PATH descriptor, openat mine: read "guest file"',
      'renamed directory: fstat is of: the moved directory',
      'renamed directory: /proc/self/fd/N/mine: read "guest file"',
      'renamed directory: /proc/self/fd/N/secret.txt: No such file or directory',
      'renamed directory: /proc/self/fd/N/../../secret: No such file or directory',
      'renamed directory: openat ../../secret: No such file or directory',
      'renamed directory: after fchdir, mine: read "guest file"',
      'renamed directory: after fchdir, secret.txt: No such file or directory',
      'O_PATH link: fstatfs answers: the same for a missing and an existing host path',
      'O_PATH link: fstatat AT_EMPTY_PATH: the link itself',
      'O_PATH link: linkat AT_EMPTY_PATH: No such file or directory',
      'O_PATH link: open through it: No such file or directory',
      'mount: before, /deep/inside.txt: read "inside"',
      'mount: after swapping a, /deep/secret.txt: No such file or directory',
      'mount: after swapping a, /deep lists: . .. inside.txt',
      'mount: after swapping c, create /deepw/planted.txt: created',
      'mount: it is in c.old/b: read "guest"',
      'moved directory: openat ../../secret: No such file or directory',
      'moved working directory: mine: read "guest file"',
      'moved working directory: secret.txt: No such file or directory',
      'moved working directory: . lists: . .. mine',
      'hard link to the host secret: No such file or directory',
      'hard link across mounts: Invalid cross-device link',
      'renameat2 RENAME_EXCHANGE: Invalid argument',
      'race: never saw the host (guest data read too)',
      '',
    ].join('\n'));
    expect(status).toBe(0);
    // The read-write mount wrote where it was mounted, not through the link.
    expect(existsSync(join(outside, 'b', 'planted.txt'))).toBe(false);
    expect(readdirSync(outside).sort()).toEqual(['b']);
    expect(readdirSync(join(outside, 'b'))).toEqual(['secret.txt']);
    expect(readFileSync(join(secretdir, 'secret.txt'), 'utf8')).toBe(`${SECRET}\n`);
  });

  it('a host tree walks every path from the descriptors it holds: a directory replaced by a link fails every operation, and nothing outside changes', () => {
    const w = workdir('hostfs');
    mkdirSync(join(w, 'd'));
    writeFileSync(join(w, 'd', 'mine'), 'mine\n');
    const h = new HostFs(w);
    expect(h.lstat(['d', 'mine']).size).toBe(5n);
    renameSync(join(w, 'd'), join(w, 'd.old'));
    symlinkSync(secretdir, join(w, 'd'));
    const refused = (f: () => unknown): number => {
      const e = errnoOf(f);
      expect([ELOOP, ENOTDIR]).toContain(e);
      return e;
    };
    const ops: [string, (fs: FileSystem) => unknown][] = [
      ['lstat', (fs) => fs.lstat(['d', 'secret.txt'])],
      ['open', (fs) => fs.open(['d', 'secret.txt'], 0, 0)],
      ['readdir', (fs) => fs.readdir(['d'])],
      ['create', (fs) => fs.open(['d', 'new'], 0o101, 0o644)],
      ['mkdir', (fs) => fs.mkdir(['d', 'newdir'], 0o755)],
      ['symlink', (fs) => fs.symlink('x', ['d', 'newlink'])],
      ['unlink', (fs) => fs.unlink(['d', 'secret.txt'])],
      ['rename', (fs) => fs.rename(['d', 'secret.txt'], ['stolen'], false, fs)],
      ['link', (fs) => fs.link(['d', 'secret.txt'], ['stolen'], fs)],
      ['truncate', (fs) => fs.truncate(['d', 'secret.txt'], 0)],
      ['chmod', (fs) => fs.chmod(['d', 'secret.txt'], 0o777)],
      ['utimes', (fs) => fs.utimes(['d', 'secret.txt'], { sec: 1n, nsec: 0 }, null)],
      ['access', (fs) => fs.access(['d', 'secret.txt'], 4)],
      ['readlink', (fs) => fs.readlink(['d', 'secret.txt'])],
      ['statfs', (fs) => fs.statfs?.(['d', 'secret.txt'])],
    ];
    for (const [, op] of ops) refused(() => op(h));
    expect(readdirSync(secretdir)).toEqual(['secret.txt']);
    expect(readFileSync(join(secretdir, 'secret.txt'), 'utf8')).toBe(`${SECRET}\n`);
    expect(lstatSync(join(secretdir, 'secret.txt')).mode & 0o777).toBe(0o644);
    expect(existsSync(join(w, 'stolen'))).toBe(false);
  });

  it('a --mount keeps the directory it was mounted on when a component of its host path is replaced by a link', () => {
    const w = workdir('mount');
    const fs = sandboxFs({ cwd: w, mounts: [parseMountSpec(`${join(w, 'a', 'b')}:/deep:ro`)] });
    expect(readGuest(fs, '/deep/inside.txt')).toBe('inside\n');
    // The host (or the guest, through the working directory) swaps a for a link.
    renameSync(join(w, 'a'), join(w, 'a.old'));
    symlinkSync(outside, join(w, 'a'));
    expect(readGuest(fs, '/deep/inside.txt')).toBe('inside\n');
    expect(errnoOf(() => fs.resolve(undefined, '/deep/secret.txt'))).toBe(ENOENT);
    expect(fs.readdir(fs.resolve(undefined, '/deep')).map((e) => e.name)).toEqual(['inside.txt']);
  });

  it("statfs of a guest-made link is the link's file system's, whatever it points to (no host oracle)", () => {
    const w = workdir('statfs');
    const fs = sandboxFs({ cwd: w });
    const missing = fs.walk(undefined, 'probe-missing', { follow: false, allowMissing: true });
    fs.symlink('/nonexistent-ringvisor-probe/x', missing);
    const present = fs.walk(undefined, 'probe-present', { follow: false, allowMissing: true });
    fs.symlink(join(secretdir, 'secret.txt'), present);
    const a = fs.statfs(fs.resolve(undefined, 'probe-missing', false));
    const b = fs.statfs(fs.resolve(undefined, 'probe-present', false));
    expect(a.type).toBe(b.type);
    expect(a.blocks).toBe(b.blocks);
  });

  it('a host process swapping a directory for a link in a loop while the guest reads through it never shows the host', async () => {
    const w = workdir('host-race');
    mkdirSync(join(w, 'r'));
    writeFileSync(join(w, 'r', 'mine.txt'), 'guest data\n');
    const fs = sandboxFs({ cwd: w });
    // A process group of its own, so that it can be stopped whole (below).
    const swapper = spawn('sh', ['-c', `cd '${w}' && while :; do mv r r.tmp; ln -s '${secretdir}' r; rm r; mv r.tmp r; done`], { stdio: 'ignore', detached: true });
    const seen: string[] = [];
    let guest = 0;
    try {
      const until = Date.now() + 2500;
      let rounds = 0;
      while (Date.now() < until) {
        for (const path of ['r/secret.txt', 'r/mine.txt']) {
          try {
            const text = readGuest(fs, path);
            if (text === 'guest data\n') guest++;
            else seen.push(text);
          } catch (e) {
            if (!(e instanceof FsError)) throw e;
          }
          try {
            seen.push(...fs.readdir(fs.resolve(undefined, 'r')).map((d) => d.name).filter((n) => n !== 'mine.txt'));
          } catch (e) {
            if (!(e instanceof FsError)) throw e;
          } finally {
            fs.settle?.(); // (?.: the same tests run against older code, which had no settle)
          }
        }
        // (Yielding now and then lets collected views be closed; not too often,
        // for many walks in the time.)
        if (++rounds % 20 === 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      // The shell and the mv or ln it may be running, which would
      // otherwise go on changing the directory while afterAll removes it
      // (ENOTEMPTY); waited for.
      const exited = swapper.exitCode !== null || swapper.signalCode !== null ? Promise.resolve() : new Promise((r) => swapper.once('exit', r));
      try { process.kill(-swapper.pid!, 'SIGKILL'); } catch { /* already gone */ }
      await exited;
    }
    expect(seen.join(' ')).not.toContain('secret');
    expect(seen).toEqual([]);
    expect(guest).toBeGreaterThan(0);
  });
});

// Without /proc/self/fd there is no safe way to resolve host names from held
// directories: the sandbox refuses to start rather than fall back to paths.
// (A private mount namespace with an empty /proc needs root and unshare(1).)
const canHideProc = process.getuid?.() === 0 && spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0;
describe('the sandbox fails closed', () => {
  it.skipIf(!canHideProc)('without /proc/self/fd, ringvisor run says why and runs nothing', () => {
    const main = join(ROOT, 'dist/bin/ringvisor.js');
    const hello = join(ROOT, 'guests/bin/hello.elf');
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs none /proc && exec '${process.execPath}' '${main}' run '${hello}'`], { cwd: ROOT, timeout: 60_000 });
    expect(r.stderr.toString()).toMatch(/^ringvisor: cannot mount host directory .*: \/proc\/self\/fd is not available/);
    expect(r.stdout.toString()).toBe('');
    expect(r.status).toBe(1);
  });
});

describe('held directories keep the rules of the mount they are in', () => {
  it('a directory held from a :ro mount refuses changes made relative to it; renames and links from it stay inside its mount', () => {
    const fs = sandboxFs({ cwd: work, mounts: [parseMountSpec(`${shared}:/data:ro`)] });
    const held = fs.hold(fs.resolve(undefined, '/data'));
    try {
      expect(readGuest(fs, '/data/data.txt')).toBe('shared data\n');
      const r = fs.walk(held, 'new', { follow: false, allowMissing: true });
      expect(errnoOf(() => fs.mkdir(r, 0o755))).toBe(EROFS);
      expect(errnoOf(() => fs.open(fs.walk(held, 'new', { follow: false, allowMissing: true }), 0o101, 0o644))).not.toBe(0);
      expect(errnoOf(() => held.fs.mkdir(['new'], 0o755))).toBe(EROFS);
      expect(errnoOf(() => held.fs.chmod([], 0o777))).toBe(EROFS);
      // From the held /data to the working directory: another mount.
      const into = fs.walk(undefined, 'stolen', { follow: false, allowMissing: true });
      expect(errnoOf(() => fs.link(fs.resolve(held, 'data.txt'), into))).toBe(EXDEV);
      expect(errnoOf(() => fs.rename(fs.resolve(held, 'data.txt'), into, false))).toBe(EXDEV);
      // '..' from it is the guest's '..' (the parent of the mount point), never the host's.
      expect(fs.resolve(held, '..').guest).toEqual([]);
      expect(errnoOf(() => fs.resolve(held, '../secretdir/secret.txt'))).toBe(ENOENT);
    } finally {
      held.release();
      fs.settle?.(); // (?.: the same tests run against older code, which had no settle)
    }
    expect(existsSync(join(work, 'stolen'))).toBe(false);
    expect(existsSync(join(shared, 'new'))).toBe(false);
  });
});

describe('held directories work as their directory', () => {
  it('renames and links between a held directory and the working directory, fchmod, futimens and fstatfs of a directory descriptor', () => {
    const dir = join(work, 'held-ops');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a'), 'a\n');
    const fs = sandboxFs({ cwd: work });
    const d = new DirectoryDescription(fs.hold(fs.resolve(undefined, 'held-ops')), 0);
    try {
      renameSync(dir, join(work, 'held-ops.moved'));
      fs.rename(fs.resolve(d.directory(), 'a'), fs.walk(undefined, 'from-held', { follow: false, allowMissing: true }), false);
      expect(readFileSync(join(work, 'from-held'), 'utf8')).toBe('a\n');
      fs.link(fs.resolve(undefined, 'from-held'), fs.walk(d.directory(), 'b', { follow: false, allowMissing: true }));
      expect(readFileSync(join(work, 'held-ops.moved', 'b'), 'utf8')).toBe('a\n');
      expect(d.entries().map((e) => e.name).sort()).toEqual(['.', '..', 'b']);
      d.chmod(0o700);
      expect(lstatSync(join(work, 'held-ops.moved')).mode & 0o777).toBe(0o700);
      d.utimes({ sec: 1000n, nsec: 0 }, { sec: 2000n, nsec: 0 });
      expect(lstatSync(join(work, 'held-ops.moved')).mtimeMs).toBe(2_000_000);
      expect(d.statfs().bsize).toBeGreaterThan(0n);
      expect(d.stat().ino).toBe(BigInt(lstatSync(join(work, 'held-ops.moved')).ino));
    } finally {
      d.release();
      fs.settle();
    }
  });
});

describe('the sysroot (-L): looked in first, read-only, nothing in it leads out', () => {
  let sysroot: string;
  beforeAll(() => {
    sysroot = join(base, 'sysroot');
    mkdirSync(join(sysroot, 'lib'), { recursive: true });
    mkdirSync(join(sysroot, 'usr'), { recursive: true });
    writeFileSync(join(sysroot, 'lib', 'libfake.so.1'), 'SYSROOT LIB\n');
    // Links as a sysroot has them, and links that try to leave it.
    symlinkSync('/lib/libfake.so.1', join(sysroot, 'lib', 'abs-in'));
    symlinkSync('libfake.so.1', join(sysroot, 'lib', 'rel-in'));
    symlinkSync(secret, join(sysroot, 'lib', 'abs-out'));
    symlinkSync('../../secretdir/secret.txt', join(sysroot, 'lib', 'rel-out'));
    symlinkSync('../'.repeat(20) + 'etc/passwd', join(sysroot, 'lib', 'deep-out'));
    symlinkSync('/', join(sysroot, 'usr', 'root'));
    symlinkSync('/etc', join(sysroot, 'etc'));
    // A name also in the working directory: the sysroot's wins, as under QEMU.
    writeFileSync(join(work, 'both.txt'), 'WORK\n');
    mkdirSync(join(sysroot, work), { recursive: true });
    writeFileSync(join(sysroot, work, 'both.txt'), 'SYSROOT\n');
  });

  const withSysroot = (): GuestFs => {
    const fs = sandboxFs({ cwd: work });
    fs.mountSysroot(hostSysroot(sysroot));
    return fs;
  };

  it("an absolute path is the sysroot's file when it has one, else the guest's as given; a relative path never", () => {
    const fs = withSysroot();
    expect(readGuest(fs, '/lib/libfake.so.1')).toBe('SYSROOT LIB\n');
    expect(readGuest(fs, join(work, 'both.txt'))).toBe('SYSROOT\n');
    expect(readGuest(fs, 'both.txt')).toBe('WORK\n');
    expect(readGuest(fs, '/dev/null')).toBe('');
    fs.close();
  });

  it("links in the sysroot resolve inside it ('..' stops at its root, '/' is its root); what they miss is not the host's", () => {
    const fs = withSysroot();
    expect(readGuest(fs, '/lib/abs-in')).toBe('SYSROOT LIB\n');
    expect(readGuest(fs, '/lib/rel-in')).toBe('SYSROOT LIB\n');
    for (const p of ['/lib/abs-out', '/lib/rel-out', '/lib/deep-out', '/etc/passwd', '/usr/root/etc/passwd', secret]) {
      expect(errnoOf(() => fs.resolve(undefined, p)), p).toBe(ENOENT);
    }
    // '/usr/root' is the sysroot's own root, not the host's.
    expect(fs.readdir(fs.resolve(undefined, '/usr/root')).map((e) => e.name).sort()).toEqual(['etc', 'lib', 'usr', work.split('/')[1]].sort());
    fs.close();
  });

  it('is read-only: writes, creations, removals and renames into it fail; nothing on the host changes', () => {
    const fs = withSysroot();
    const lib = fs.resolve(undefined, '/lib/libfake.so.1');
    expect(errnoOf(() => fs.open(lib, 1 /* O_WRONLY */, 0))).toBe(EROFS);
    expect(errnoOf(() => fs.unlink(fs.resolve(undefined, '/lib/libfake.so.1', false)))).toBe(EROFS);
    expect(errnoOf(() => fs.truncate(lib, 0))).toBe(EROFS);
    expect(errnoOf(() => fs.chmod(lib, 0o777))).toBe(EROFS);
    // A new name under the sysroot's /lib is not there: the guest's own /lib is looked at (none).
    expect(errnoOf(() => fs.mkdir(fs.walk(undefined, '/lib/new', { follow: false, allowMissing: true }), 0o755))).toBe(ENOENT);
    const from = fs.resolve(undefined, 'both.txt', false);
    expect([EXDEV, EROFS]).toContain(errnoOf(() => fs.rename(from, fs.walk(undefined, '/lib/libfake.so.1', { follow: false, allowMissing: true }), false)));
    expect(readFileSync(join(sysroot, 'lib', 'libfake.so.1'), 'utf8')).toBe('SYSROOT LIB\n');
    expect(readFileSync(join(work, 'both.txt'), 'utf8')).toBe('WORK\n');
    fs.close();
  });

  it('keeps the directory it was given when the host replaces the sysroot path by a link to /', () => {
    const fs = withSysroot();
    const moved = sysroot + '-moved';
    renameSync(sysroot, moved);
    symlinkSync('/', sysroot);
    try {
      expect(readGuest(fs, '/lib/libfake.so.1')).toBe('SYSROOT LIB\n');
      expect(errnoOf(() => fs.resolve(undefined, '/etc/passwd'))).toBe(ENOENT);
    } finally {
      rmSync(sysroot);
      renameSync(moved, sysroot);
      fs.close();
    }
  });

  it('a real program (files-escape.elf) escapes no more with a sysroot of escaping links than without', async () => {
    const run = async (withRoot: boolean): Promise<string> => {
      const out: Buffer[] = [];
      const vm = ProcessVM.create(new Uint8Array(readFileSync(join(ROOT, 'guests/bin/files-escape.elf'))), {
        argv: [join(ROOT, 'guests/bin/files-escape.elf'), secret],
        fs: sandboxFs({ cwd: work }),
        sysroot: withRoot ? hostSysroot(sysroot) : undefined,
        stdout: (d) => out.push(Buffer.from(d)),
        stderr: (d) => out.push(Buffer.from(d)),
      });
      expect(await vm.run()).toBe(0);
      vm.dispose();
      return Buffer.concat(out).toString();
    };
    expect(await run(true)).toBe(await run(false));
  });

  it("never shadows the process's /dev and /proc, and opens nothing but regular files from the sysroot", () => {
    mkdirSync(join(sysroot, 'dev'), { recursive: true });
    mkdirSync(join(sysroot, 'proc', 'self'), { recursive: true });
    writeFileSync(join(sysroot, 'dev', 'null'), 'FAKE DEVICE\n');
    writeFileSync(join(sysroot, 'proc', 'self', 'exe'), 'FAKE EXE\n');
    const fifo = join(sysroot, 'lib', 'fifo');
    const made = spawnSync('mkfifo', [fifo]).status === 0;
    try {
      const fs = withSysroot();
      expect(readGuest(fs, '/dev/null')).toBe('');
      expect(fs.resolve(undefined, '/proc/self/exe', false).stat.mode & 0o170000).toBe(0o120000);
      if (made) {
        // By absolute path a FIFO in the sysroot is as if absent...
        expect(errnoOf(() => fs.resolve(undefined, '/lib/fifo'))).toBe(ENOENT);
        // ...and through a directory of the sysroot it cannot be opened (nor block the host).
        const lib = fs.hold(fs.resolve(undefined, '/lib'));
        expect(errnoOf(() => fs.open(fs.resolve(lib, 'fifo'), 0, 0))).toBe(EACCES);
        lib.release();
      }
      fs.close();
    } finally {
      rmSync(join(sysroot, 'dev'), { recursive: true, force: true });
      rmSync(join(sysroot, 'proc'), { recursive: true, force: true });
      rmSync(fifo, { force: true });
    }
  });

  it('hostSysroot refuses what is not a directory, in one line', () => {
    expect(() => hostSysroot(secret)).toThrow(/^sysroot .*secret\.txt: not a directory$/);
    expect(() => hostSysroot(join(base, 'nowhere'))).toThrow(/^sysroot .*nowhere: no such directory$/);
  });
});
