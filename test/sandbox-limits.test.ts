// What a guest may take of the host through its files: the private /tmp's
// bytes (names, link targets and a per-inode overhead included) and inodes,
// and --disk-quota's bytes added to host files. Before these limits a guest
// could exhaust Node's heap with names alone (status 134) and fill the host's
// disk; every test here failed on commit 09d7540.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessVM } from '../src/index.js';
import { sandboxFs, HostFs, DiskQuota, QUOTA_BLOCK } from '../src/node/host-fs.js';
import { MemFs, MEMFS_INODE_BYTES, MEMFS_ENTRY_BYTES } from '../src/linux/fs/memfs.js';
import { O_CREAT, O_WRONLY } from '../src/linux/fs/types.js';
import { errnoOf } from './support/fs-errno.js';
import { EDQUOT, ENOSPC } from '../src/linux/errno.js';
import { ROOT } from './support/guests.js';

let base: string;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'ringvisor-limits-')));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));


/** Runs files-fill.elf with `args` in a sandbox; its output and status. */
async function fill(options: Parameters<typeof sandboxFs>[0], args: string[]): Promise<{ text: string; status: number }> {
  const elf = join(ROOT, 'guests/bin/files-fill.elf');
  const out: Buffer[] = [];
  const vm = ProcessVM.create(new Uint8Array(readFileSync(elf)), {
    argv: [elf, ...args],
    fs: sandboxFs(options),
    stdout: (d) => out.push(Buffer.from(d)),
    stderr: (d) => out.push(Buffer.from(d)),
  });
  const status = await vm.run();
  return { text: Buffer.concat(out).toString(), status };
}

describe('the private /tmp counts everything a guest makes', () => {
  it('names, link targets and inodes count against the byte limit, hard links against the inode limit; ENOSPC beyond', () => {
    const m = new MemFs({ maxBytes: 64 * 1024, maxInodes: 1000 });
    const start = m.usage;
    // Long names: each costs its bytes, an entry and an inode.
    let made = 0;
    const name = (i: number) => `${i}-`.padEnd(255, 'n');
    while (errnoOf(() => m.open([name(made)], O_CREAT | O_WRONLY, 0o644).close()) === 0) made++;
    expect(errnoOf(() => m.open([name(made)], O_CREAT | O_WRONLY, 0o644))).toBe(ENOSPC);
    expect(made).toBe(Math.floor((64 * 1024 - start.bytes) / (MEMFS_INODE_BYTES + MEMFS_ENTRY_BYTES + 255)));
    for (let i = 0; i < made; i++) m.unlink([name(i)]);
    expect(m.usage).toEqual(start);
    // Long link targets.
    const target = 't'.repeat(4000);
    made = 0;
    while (errnoOf(() => m.symlink(target, [`l${made}`])) === 0) made++;
    expect(made).toBeLessThan(16);
    expect(errnoOf(() => m.symlink(target, ['one-more']))).toBe(ENOSPC);
    for (let i = 0; i < made; i++) m.unlink([`l${i}`]);
    expect(m.usage).toEqual(start);
    // Inodes: hard links count one each, as tmpfs counts them.
    const small = new MemFs({ maxInodes: 10 });
    small.open(['f'], O_CREAT | O_WRONLY, 0o644).close();
    made = 0;
    while (errnoOf(() => small.link(['f'], [`h${made}`], small)) === 0) made++;
    expect(small.usage.inodes).toBe(10);
    expect(errnoOf(() => small.mkdir(['d'], 0o755))).toBe(ENOSPC);
    small.unlink(['h0']);
    small.mkdir(['d'], 0o755);
  });

  it('an unlinked file that is still open stays counted until its last descriptor closes', () => {
    const m = new MemFs({ maxBytes: 1 << 20 });
    const start = m.usage.bytes;
    const f = m.open(['big'], O_CREAT | O_WRONLY, 0o644);
    f.write(new Uint8Array(512 * 1024), 0);
    m.unlink(['big']);
    // Not given back: the buffer is still there.
    expect(m.usage.bytes).toBeGreaterThan(start + 512 * 1024);
    const g = m.open(['again'], O_CREAT | O_WRONLY, 0o644);
    expect(errnoOf(() => g.write(new Uint8Array(600 * 1024), 0))).toBe(ENOSPC);
    f.close();
    g.write(new Uint8Array(600 * 1024), 0);
    g.close();
  });

  it('a renamed entry pays for its new name; a directory cannot be moved into itself through a view', () => {
    const m = new MemFs({ maxBytes: 1 << 20 });
    m.mkdir(['a'], 0o755);
    m.mkdir(['a', 'b'], 0o755);
    const before = m.usage.bytes;
    m.rename(['a'], ['a'.repeat(200)], false, m);
    expect(m.usage.bytes).toBe(before + 199);
    const view = m.subtree(['a'.repeat(200), 'b']);
    expect(errnoOf(() => m.rename(['a'.repeat(200)], ['inside'], false, view))).toBe(22 /* EINVAL */);
  });

  // The most there is room for: /tmp's root and the directories leading to
  // the working directory (when it is under /tmp) take a little of it.
  it.each([
    ['links', Math.floor(128 * 1024 / (MEMFS_INODE_BYTES + MEMFS_ENTRY_BYTES + 4000 + 12))],
    ['names', 99],
    ['dirs', 99],
    ['hardlinks', 98],
  ])('a guest filling /tmp with %s meets ENOSPC and gets the room back', async (kind, most) => {
    const { text, status } = await fill({ cwd: base, tmpBytes: 128 * 1024, tmpInodes: 100 }, ['/tmp', kind, '5000']);
    const m = /^made (\d+) (\w+), then No space left on device$/.exec(text.split('\n')[0]);
    expect(m, text).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(most);
    expect(Number(m![1])).toBeGreaterThanOrEqual(most - 4);
    expect(text).toContain('making one more: ok\n');
    expect(text).toContain('free blocks and inodes as before: yes\n');
    expect(status).toBe(0);
  });

  it('a guest writing data into /tmp meets ENOSPC at --tmp-size', async () => {
    const { text } = await fill({ cwd: base, tmpBytes: 1 << 20 }, ['/tmp', 'data', '100']);
    expect(text).toBe('wrote 15 chunks, then No space left on device\nunlink: ok\nwriting again after the unlink: ok\n');
  });
});

describe('--disk-quota: bytes the guest adds to host files', () => {
  it('charges growth and a block per new name, gives back what the guest removes, never more than it was charged', () => {
    const dir = join(base, 'quota-unit');
    mkdirSync(dir);
    writeFileSync(join(dir, 'hosts-own'), 'x'.repeat(100_000));
    const quota = new DiskQuota(64 * 1024);
    const h = new HostFs(dir, { quota });
    const f = h.open(['new'], O_CREAT | O_WRONLY, 0o644);
    expect(quota.used).toBe(QUOTA_BLOCK);
    expect(f.write(new Uint8Array(40_000), 0)).toBe(40_000);
    expect(quota.used).toBe(QUOTA_BLOCK + 40_000);
    // Overwriting what is there costs nothing; growth past the quota is a short write, then EDQUOT.
    expect(f.write(new Uint8Array(40_000), 0)).toBe(40_000);
    expect(f.write(new Uint8Array(40_000), 40_000)).toBe(64 * 1024 - QUOTA_BLOCK - 40_000);
    expect(errnoOf(() => f.write(new Uint8Array(1), 64 * 1024))).toBe(EDQUOT);
    expect(errnoOf(() => h.mkdir(['d'], 0o755))).toBe(EDQUOT);
    // Truncating gives back what was charged.
    f.truncate(10_000);
    expect(quota.used).toBe(QUOTA_BLOCK + 10_000);
    f.close();
    h.mkdir(['d'], 0o755);
    h.symlink('target', ['l']);
    expect(quota.used).toBe(4 * QUOTA_BLOCK + 10_000 - QUOTA_BLOCK);
    // Removing the host's own file earns nothing.
    h.unlink(['hosts-own']);
    expect(quota.used).toBe(3 * QUOTA_BLOCK + 10_000);
    h.unlink(['new']);
    h.rmdir(['d']);
    h.unlink(['l']);
    expect(quota.used).toBe(0);
  });

  it.each([
    ['data', 'wrote 15 chunks, then Disk quota exceeded'],
    ['names', 'made 256 names, then Disk quota exceeded'],
    ['dirs', 'made 256 dirs, then Disk quota exceeded'],
    ['links', 'made 256 links, then Disk quota exceeded'],
  ])('a guest filling its working directory with %s meets EDQUOT at the quota and gets the room back', async (kind, first) => {
    const dir = join(base, `quota-${kind}`);
    mkdirSync(dir);
    const { text, status } = await fill({ cwd: dir, diskQuota: 1 << 20 }, ['.', kind, '100000']);
    const lines = text.split('\n');
    expect(lines[0]).toBe(first);
    expect(lines[1]).toMatch(/^(making one more|unlink): ok$/);
    expect(status).toBe(0);
  });

  it('the command takes --tmp-size, --tmp-inodes and --disk-quota, and refuses bad values', () => {
    const cli = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist/bin/ringvisor.js'), 'run', ...args], { cwd: base, timeout: 60_000 });
    const help = cli(['--help']).stdout.toString();
    for (const flag of ['--tmp-size', '--tmp-inodes', '--disk-quota']) expect(help).toContain(flag);
    const fillElf = join(ROOT, 'guests/bin/files-fill.elf');
    const r = cli(['--tmp-size', '1M', '--tmp-inodes', '50', fillElf, '/tmp', 'dirs', '1000']);
    expect(r.stdout.toString().split('\n')[0]).toMatch(/^made (4[5-9]) dirs, then No space left on device$/);
    const q = cli(['--disk-quota', '64K', fillElf, '.', 'dirs', '1000']);
    expect(q.stdout.toString().split('\n')[0]).toBe('made 16 dirs, then Disk quota exceeded');
    expect(cli(['--tmp-inodes', '0', fillElf]).status).toBe(2);
    expect(cli(['--disk-quota', 'lots', fillElf]).status).toBe(2);
  });
});
