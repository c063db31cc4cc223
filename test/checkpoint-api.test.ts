// Checkpoints end to end, through the command line and the control API
// (docs/API.md), on our guest Linux with an ext2 disk, as a user would do
// it: a machine paused and saved while a command runs, its process killed,
// and the machine resumed in a new process by `ringvisor boot --restore`,
// the session going on and the disk's content checked on the host; and a
// checkpoint tree (--checkpoint-dir) applied back and forth with the disk
// following it. Skipped, saying why, without the guest Linux or e2fsprogs.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiRequest, faultOf } from './support/api-client.js';
import { findThirdParty } from './support/third-party.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'dist/bin/ringvisor.js');
const built = spawnSync('bash', [join(root, 'guests/linux/build.sh'), '--print-path'], { encoding: 'utf8' }).stdout.trim();
const linux = existsSync(join(built, 'Image')) && existsSync(join(built, 'initramfs.cpio.gz'));
const e2fs = spawnSync('mkfs.ext2', ['-V']).status === 0 && spawnSync('debugfs', ['-V']).status === 0;
const PROMPT = 'ringvisor-init# ';
const GUEST = ['--kernel', join(built, 'Image'), '--initrd', join(built, 'initramfs.cpio.gz'), '--append', 'console=ttyS0 quiet panic=-1'];

/** Every ringvisor process a test started: none outlives its test, even a failed one. */
const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A `ringvisor boot` process with its console driven line by line. */
class Console {
  readonly child: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [main, 'boot', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(this.child);
    this.child.stdout!.on('data', (b: Buffer) => { this.out += b.toString('latin1'); });
    this.child.stderr!.on('data', (b: Buffer) => { this.err += b.toString('latin1'); });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Waits until the console has shown `text` after offset `from`. */
  async waitFor(text: string, from = 0, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    while (this.out.indexOf(text, from) < 0) {
      if (Date.now() > end) throw new Error(`no ${JSON.stringify(text)} on the console after ${ms} ms:\n${this.out}\n${this.err}`);
      if (this.child.exitCode !== null) throw new Error(`ringvisor exited (${this.child.exitCode}) before ${JSON.stringify(text)}:\n${this.out}\n${this.err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Types a line; with `wait`, waits for the next prompt. */
  async type(line: string, wait = true): Promise<string> {
    const from = this.out.length;
    this.child.stdin!.write(`${line}\n`);
    if (wait) await this.waitFor(PROMPT, from + line.length);
    return this.out.slice(from);
  }

  async waitForSocket(path: string): Promise<void> {
    for (let i = 0; i < 3000 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
  }
}

function ext2(dir: string): string {
  mkdirSync(join(dir, 'root'));
  writeFileSync(join(dir, 'root', 'hello.txt'), 'hello from the host\n');
  const img = join(dir, 'disk.img');
  const made = spawnSync('mkfs.ext2', ['-q', '-F', '-b', '1024', '-d', join(dir, 'root'), img, '2048']);
  if (made.status !== 0) throw new Error(`mkfs.ext2: ${made.stderr}`);
  return img;
}

const debugfsCat = (img: string, file: string) => spawnSync('debugfs', ['-R', `cat ${file}`, img], { encoding: 'utf8' }).stdout;

describe.skipIf(!linux || !e2fs)('checkpoints of our guest Linux through the CLI and the control API', () => {
  it('paused with a command typed, snapshot, process killed, resumed in a new one: the command runs once, the session goes on, the disk has every write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-ckpt-e2e-'));
    try {
      const img = ext2(dir);
      const sock = join(dir, 'api.sock');
      const a = new Console([...GUEST, '--disk', img, '--api', sock]);
      await a.waitFor(PROMPT);
      await a.waitForSocket(sock);
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      await a.type('mount -t devtmpfs devtmpfs /dev');
      await a.type('mount -t ext2 /dev/vda /mnt');
      await a.type('write /mnt/first.txt written before the snapshot');
      // The machine paused, a command typed at it (the console holds it: the
      // metrics show the bytes arrive), and the machine saved: the command
      // runs only after the restore, in the other process.
      expect((await apiRequest(sock, 'PATCH', '/vm', { body: { state: 'Paused' } })).status).toBe(204);
      expect(((await apiRequest(sock, 'GET', '/vm')).json as { state: string }).state).toBe('Paused');
      const typedBefore = (((await apiRequest(sock, 'GET', '/metrics')).json as { console: { bytesIn: number } }).console.bytesIn);
      const line = 'cat /mnt/hello.txt\n';
      a.child.stdin!.write(line);
      for (let i = 0; ; i++) {
        const m = (await apiRequest(sock, 'GET', '/metrics')).json as { console: { bytesIn: number }; instructions: number };
        if (m.console.bytesIn === typedBefore + line.length) break;
        if (i > 500) throw new Error(`the typed line never reached the console: ${JSON.stringify(m)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const snap = await apiRequest(sock, 'PUT', '/snapshot/create', { body: { snapshot_path: join(dir, 'vm.snap'), snapshot_type: 'Full' } });
      expect(snap.status).toBe(200);
      expect((snap.json as { bytes: number }).bytes).toBe(statSync(join(dir, 'vm.snap')).size);
      const shown = a.out.length;
      a.child.kill('SIGKILL');
      await a.exited;

      const b = new Console(['--restore', join(dir, 'vm.snap')]);
      await b.waitFor(`hello from the host\r\n${PROMPT}`);
      // The restored console begins where the first one was cut: nothing
      // the guest had printed comes again, and the command ran once.
      expect(a.out.slice(0, shown)).not.toContain('hello from the host');
      expect(b.out).toBe(`cat /mnt/hello.txt\r\nhello from the host\r\n${PROMPT}`);
      await b.type('write /mnt/second.txt written after the restore');
      await b.type('cat /mnt/first.txt');
      expect(b.out).toContain('written before the snapshot');
      await b.type('umount /mnt');
      await b.type('poweroff', false);
      expect(await b.exited).toBe(0);
      expect(b.err).toBe('');
      expect(debugfsCat(img, '/first.txt')).toBe('written before the snapshot\n');
      expect(debugfsCat(img, '/second.txt')).toBe('written after the restore\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('a checkpoint tree applied back and forth, the disk following it; deleting one keeps the others; the image stays as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-tree-e2e-'));
    try {
      const img = ext2(dir);
      const sock = join(dir, 'api.sock');
      const c = new Console([...GUEST, '--disk', img, '--api', sock, '--checkpoint-dir', join(dir, 'checkpoints')]);
      await c.waitFor(PROMPT);
      await c.waitForSocket(sock);
      const post = (path: string, body?: unknown) => apiRequest(sock, 'POST', path, body === undefined ? {} : { body });
      await c.type('mount -t devtmpfs devtmpfs /dev');
      await c.type('mount -t ext2 /dev/vda /mnt');
      await c.type('write /mnt/state.txt one');
      await c.type('umount /mnt'); // (written through to the disk)
      expect((await post('/checkpoints', { name: 'one' })).status).toBe(201);
      await c.type('mount -t ext2 /dev/vda /mnt');
      await c.type('write /mnt/state.txt two');
      await c.type('umount /mnt');
      expect((await post('/checkpoints', { name: 'two' })).status).toBe(201);
      expect((await post('/checkpoints', { name: 'two' })).status).toBe(409);

      const list = (await apiRequest(sock, 'GET', '/checkpoints')).json as { name: string; parent: string | null; current: boolean }[];
      expect(list.map((x) => [x.name, x.parent, x.current])).toEqual([['one', null, true], ['two', 'one', true]]);

      const cat = async () => (await c.type('mount -t ext2 /dev/vda /mnt')) + (await c.type('cat /mnt/state.txt')) + (await c.type('umount /mnt'));
      expect((await post('/checkpoints/one/apply')).status).toBe(204);
      expect(await cat()).toMatch(/\r\none\r\n/);
      expect((await post('/checkpoints/two/apply')).status).toBe(204);
      expect(await cat()).toMatch(/\r\ntwo\r\n/);
      expect((await post('/checkpoints/one/apply')).status).toBe(204);
      expect(await cat()).toMatch(/\r\none\r\n/);
      expect(faultOf(await post('/checkpoints/nope/apply'))).toMatch(/no checkpoint named "nope"/);

      // Deleting "one" merges its disk into "two", which still reads "two".
      expect((await apiRequest(sock, 'DELETE', '/checkpoints/one')).status).toBe(204);
      expect((await post('/checkpoints/two/apply')).status).toBe(204);
      expect(await cat()).toMatch(/\r\ntwo\r\n/);
      const after = (await apiRequest(sock, 'GET', '/checkpoints')).json as { name: string }[];
      expect(after.map((x) => x.name)).toEqual(['two']);

      await c.type('poweroff', false);
      expect(await c.exited).toBe(0);
      // The image became the tree's read-only base when the first checkpoint was taken.
      expect(debugfsCat(img, '/state.txt')).toBe('one\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('a process VM checkpointed through the CLI and the control API', () => {
  const nbody = join(root, 'guests/bin/bench-nbody.elf');
  const run = (args: string[]) => {
    const child = spawn(process.execPath, [main, 'run', '--clock', 'virtual', '--jit-worker', 'off', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    return child;
  };
  const collect = (child: ChildProcess) => {
    let out = '', err = '';
    child.stdout!.on('data', (b: Buffer) => { out += b.toString('latin1'); });
    child.stderr!.on('data', (b: Buffer) => { err += b.toString('latin1'); });
    return { out: () => out, err: () => err, exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))) };
  };

  it('paused and saved mid-run, killed, resumed by run --restore: the output is the uninterrupted run\'s', async () => {
    const whole = spawnSync(process.execPath, [main, 'run', '--clock', 'virtual', '--jit-worker', 'off', nbody], { encoding: 'latin1' });
    expect(whole.status).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-run-ckpt-'));
    try {
      const sock = join(dir, 'api.sock');
      const child = run(['--api', sock, nbody]);
      const a = collect(child);
      for (let i = 0; i < 3000 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 200));
      expect((await apiRequest(sock, 'PATCH', '/vm', { body: { state: 'Paused' } })).status).toBe(204);
      const info = (await apiRequest(sock, 'GET', '/vm')).json as { kind: string; state: string };
      expect(info).toMatchObject({ kind: 'process', state: 'Paused' });
      const snap = await apiRequest(sock, 'PUT', '/snapshot/create', { body: { snapshot_path: join(dir, 'vm.snap') } });
      expect(snap.status).toBe(200);
      const metrics = (await apiRequest(sock, 'GET', '/metrics')).json as { instructions: number };
      child.kill('SIGKILL');
      await a.exited;
      const r = spawnSync(process.execPath, [main, 'run', '--jit-worker', 'off', '--restore', join(dir, 'vm.snap')], { encoding: 'latin1' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(a.out() + r.stdout).toBe(whole.stdout);
      // (Some of it ran before the pause, and the rest after the restore.)
      expect(metrics.instructions).toBeGreaterThan(0);

      const bad = spawnSync(process.execPath, [main, 'run', '--restore', join(dir, 'vm.snap'), '--env', 'A=1'], { encoding: 'latin1' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--restore takes the environment/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

// A shell from Debian's sources (guests/third-party/build.sh builds dash)
// waiting at its input: with --api, stdin is read as it arrives, so the API
// answers while the guest waits, and a checkpoint of the waiting shell,
// applied later, brings its variables back.
const dash = findThirdParty<{ elf: string }>('dash', ['elf']);

describe.skipIf(dash === undefined)('a shell waiting for input, driven through the control API', () => {
  it('answers while the shell waits; a checkpoint applied brings the shell\'s state back; the session goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-dash-api-'));
    try {
      const sock = join(dir, 'api.sock');
      const child = spawn(process.execPath, [main, 'run', '--api', sock, '--checkpoint-dir', join(dir, 'ck'), dash!.elf], { stdio: ['pipe', 'pipe', 'pipe'] });
      started.push(child);
      let out = '', err = '';
      child.stdout!.on('data', (b: Buffer) => { out += b.toString('latin1'); });
      child.stderr!.on('data', (b: Buffer) => { err += b.toString('latin1'); });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const waitFor = async (text: string) => {
        for (let i = 0; i < 3000 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 10));
        expect(out).toContain(text);
      };
      try {
        child.stdin!.write('x=one; echo set $x\n');
        await waitFor('set one\n');
        for (let i = 0; i < 3000 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 5));
        // The shell waits in read(0): the API answers at once all the same.
        const t = Date.now();
        expect(((await apiRequest(sock, 'GET', '/vm')).json as { state: string }).state).toBe('Running');
        expect(Date.now() - t).toBeLessThan(2000);
        expect((await apiRequest(sock, 'POST', '/checkpoints', { body: { name: 'A' } })).status).toBe(201);
        child.stdin!.write('x=two; echo set $x\n');
        await waitFor('set two\n');
        expect((await apiRequest(sock, 'POST', '/checkpoints/A/apply')).status).toBe(204);
        child.stdin!.write('echo now $x\n');
        await waitFor('now one\n');
        child.stdin!.end('exit 3\n');
        expect(await exited).toBe(3);
        expect(out).toBe('set one\nset two\nnow one\n');
        expect(err).toBe('');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
