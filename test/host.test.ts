// `ringvisor host` as a library, through its API on a Unix socket (and TCP
// with a token) and the typed client (src/node/vm-host.ts, host-api.ts,
// host-client.ts): VMs of both kinds created, started, measured,
// checkpointed, stopped, removed; configurations back after a restart;
// VMs that loop, crash or fill their memory leave the others and the API
// responsive (its latency measured meanwhile); CPU limits held; the
// balancer moving memory; events and consoles; every API error case.
// The host's workers run the built code (dist/, as `npm test` builds it).
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VmHost, type HostEvent } from '../src/node/vm-host.js';
import { hostRoutes } from '../src/node/host-api.js';
import { serveApi, type ControlApiServer } from '../src/node/api-server.js';
import { HostClient, HostApiError } from '../src/node/host-client.js';
import { writeElf } from './support/elf-writer.js';
import { A0, A1, A2, A3, A4, A5, A7, SP, T0, T1, T2, T3, ZERO, addi, add, ecall, jal, lui, sd, ld, blt } from './support/rvasm.js';

const WORKER = new URL('../dist/node/host-worker.js', import.meta.url);
const guest = (name: string) => new URL(`../guests/bin/${name}`, import.meta.url).pathname;
const program = (words: number[]) => writeElf(new Uint8Array(new Uint32Array(words).buffer));
const MiB = 1024 * 1024;

/** Loops for ever: `j .` */
const LOOP = program([jal(ZERO, 0)]);
/** Loads from address 0: SIGSEGV. */
const SEGV = program([ld(A0, ZERO, 0)]);
/** mmap(NULL, mib MiB, RW, private anonymous), then a write to each page of it. */
const mapAndTouch = (mib: number) => [
  addi(A0, ZERO, 0), lui(A1, mib << 8), addi(A2, ZERO, 3), addi(A3, ZERO, 0x22), addi(A4, ZERO, -1), addi(A5, ZERO, 0),
  addi(A7, ZERO, 222), ecall(),
  add(T0, A0, ZERO), add(T1, A0, A1), addi(T2, ZERO, 1), lui(T3, 1),
  sd(T2, T0, 0), add(T0, T0, T3), blt(T0, T1, -8),
];
/** Maps and writes `mib` MiB, then sleeps a second at a time for ever. */
function hold(mib: number): Uint8Array {
  return program([
    ...mapAndTouch(mib),
    add(T0, A0, ZERO), sd(T2, T0, 0), sd(ZERO, T0, 8), // a timespec of 1 s at the start
    add(A0, T0, ZERO), addi(A1, ZERO, 0), addi(A7, ZERO, 101), ecall(), jal(ZERO, -16), // nanosleep for ever
  ]);
}
/** Maps and writes 48 MiB, unmaps it, then sleeps a second at a time for
 *  ever (its timespec on the stack). */
const FREES = program([
  ...mapAndTouch(48), addi(A7, ZERO, 215), ecall(), // munmap(a0, a1)
  addi(T0, SP, -32), sd(T2, T0, 0), sd(ZERO, T0, 8),
  add(A0, T0, ZERO), addi(A1, ZERO, 0), addi(A7, ZERO, 101), ecall(), jal(ZERO, -16),
]);
/** Maps and writes 4 MiB after 4 MiB, for ever. */
const GREEDY = program([...mapAndTouch(4), jal(ZERO, -60)]);

let dir: string;
let host: VmHost | undefined;
let server: ControlApiServer | undefined;
let client: HostClient;
const logged: string[] = [];

async function openHost(options: { workers?: number; memoryBudget?: number; balanceMs?: number } = {}): Promise<void> {
  host = await VmHost.open({ stateDir: dir, workerScript: WORKER, log: (l) => logged.push(l), workers: 2, balanceMs: 300, ...options });
  server = await serveApi({ socket: join(dir, 'api.sock') }, hostRoutes(host), { log: (l) => logged.push(l) });
  client = new HostClient({ socket: join(dir, 'api.sock') });
}

async function closeHost(): Promise<void> {
  await server?.close();
  await host?.close();
  server = undefined;
  host = undefined;
}

const dirs: string[] = [];
// A fresh state directory for each test, with the programs it runs.
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rv-host-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'images'));
  for (const g of ['hello.elf', 'threads.elf', 'files-stdin.elf']) copyFileSync(guest(g), join(dir, 'images', g));
  writeFileSync(join(dir, 'images', 'loop.elf'), LOOP);
  writeFileSync(join(dir, 'images', 'segv.elf'), SEGV);
  writeFileSync(join(dir, 'images', 'greedy.elf'), GREEDY);
  writeFileSync(join(dir, 'images', 'frees.elf'), FREES);
  writeFileSync(join(dir, 'images', 'hold48.elf'), hold(48));
  writeFileSync(join(dir, 'images', 'hold8.elf'), hold(8));
});
afterEach(async () => { await closeHost(); });
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const processVm = (name: string, prog: string, extra: Record<string, unknown> = {}) => ({ name, kind: 'process', process: { program: `images/${prog}`, ...(extra.args ? { args: extra.args } : {}) }, ...extra, args: undefined });

async function until<T>(f: () => Promise<T> | T, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a host of VMs', () => {
  it('creates, starts, measures and stops a process VM; its console and events follow', async () => {
    await openHost();
    const events: HostEvent[] = [];
    const stop = await client.events((e) => events.push(e));
    const vm = await client.create(processVm('hello', 'hello.elf', { memory: { startup: 16 * MiB } }));
    expect(vm).toMatchObject({ name: 'hello', kind: 'process', state: 'Off' });
    expect(vm.config.memory).toEqual({ startup: 16 * MiB, minimum: 16 * MiB, maximum: 16 * MiB, buffer: 20 });
    await client.start('hello');
    const ended = await until(() => client.get('hello'), (v) => v.state === 'Off' && v.lastExit !== null);
    expect(ended.lastExit?.status).toBe(0);
    expect(await client.consoleLog('hello')).toContain('Hello from a RISC-V guest');
    const m = await client.measure('hello');
    expect(Number(m.instructions)).toBeGreaterThan(10_000);
    expect(m.console.bytesOut).toBeGreaterThan(40);
    expect(m.exits.ECALL_U ?? 0).toBeGreaterThan(0);
    await until(() => events.map((e) => e.event).join(), (s) => s.includes('stopped'));
    expect(events.filter((e) => e.vm === 'hello').map((e) => e.event)).toEqual(['created', 'started', 'stopped']);
    stop();
    await client.remove('hello');
    expect(existsSync(join(dir, 'vms', 'hello'))).toBe(false);
    await expect(client.get('hello')).rejects.toMatchObject({ status: 404 });
  });

  it('a console attached to a running VM carries input to it and its output back', async () => {
    await openHost();
    await client.create(processVm('cat', 'files-stdin.elf'));
    await client.start('cat');
    const socket = await client.attach('cat');
    let seen = '';
    socket.on('data', (b: Buffer) => { seen += b.toString('latin1'); });
    socket.write('hello through the host\n');
    await until(() => seen, (s) => s.includes('hello through the host'));
    socket.end();
    await client.stop('cat');
    expect((await client.get('cat')).state).toBe('Off');
    await client.remove('cat');
  });

  it('configurations survive a host restart, written whole; autostart VMs start with the host', async () => {
    await openHost();
    await client.create(processVm('keep', 'loop.elf', { cpu: { weight: 300, limit: 50 } }));
    await client.create(processVm('auto', 'loop.elf', { autostart: true, cpu: { limit: 10 } }));
    expect(statSync(join(dir, 'vms', 'keep', 'config.json')).mode & 0o777).toBe(0o600);
    await closeHost();
    await openHost();
    const list = await until(() => client.list(), (l) => l[0]?.state === 'Running');
    expect(list.map((v) => [v.name, v.state])).toEqual([['auto', 'Running'], ['keep', 'Off']]);
    expect(list.find((v) => v.name === 'keep')!.config.cpu).toEqual({ weight: 300, reserve: 0, limit: 50 });
    await client.stop('auto');
    // A configuration file that is not one is left out and said so.
    mkdirSync(join(dir, 'vms', 'broken'));
    writeFileSync(join(dir, 'vms', 'broken', 'config.json'), '{"name":"broken","kind":"process","process":{"program":"../../etc/passwd"}}');
    await closeHost();
    await openHost();
    expect((await client.list()).map((v) => v.name)).toEqual(['auto', 'keep']);
    expect(logged.join('\n')).toMatch(/broken.*left out.*process\.program/);
    await until(() => client.get('auto'), (v) => v.state === 'Running');
    await client.set('auto', { autostart: false });
    await client.stop('auto');
    await closeHost();
    await openHost();
    expect((await client.list()).map((v) => [v.name, v.state])).toEqual([['auto', 'Off'], ['keep', 'Off']]);
  });

  it('a VM that loops, one that crashes and one that fills its memory leave the others and the API responsive', async () => {
    await openHost();
    await client.create(processVm('spin1', 'loop.elf'));
    await client.create(processVm('spin2', 'loop.elf'));
    await client.create(processVm('segv', 'segv.elf'));
    await client.create(processVm('greedy', 'greedy.elf', { memory: { startup: 16 * MiB } }));
    await client.create(processVm('fine', 'threads.elf', { args: ['sum'] }));
    await client.start('spin1');
    await client.start('spin2');
    // The API's latency while both workers run guests that never stop.
    const latencies: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      await client.list();
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    console.log(`host API latency with two looping VMs: median ${latencies[15].toFixed(1)} ms, max ${latencies[29].toFixed(1)} ms`);
    expect(latencies[15]).toBeLessThan(100);
    await client.start('segv');
    await client.start('greedy');
    await client.start('fine');
    const segv = await until(() => client.get('segv'), (v) => v.state === 'Off');
    expect(segv.lastExit?.status).toBe(139);
    const greedy = await until(() => client.get('greedy'), (v) => v.state === 'Off');
    expect(greedy.lastExit?.status).toBe(137); // killed on its 16th MiB, as Linux's OOM killer would
    const fine = await until(() => client.get('fine'), (v) => v.state === 'Off', 60_000);
    expect(fine.lastExit?.status).toBe(0);
    expect(await client.consoleLog('fine')).not.toContain('FAILED');
    expect((await client.get('spin1')).state).toBe('Running');
    const before = Number((await client.measure('spin1')).instructions);
    await new Promise((r) => setTimeout(r, 300));
    expect(Number((await client.measure('spin1')).instructions)).toBeGreaterThan(before);
    for (const n of ['spin1', 'spin2']) await client.stop(n);
    for (const n of ['spin1', 'spin2', 'segv', 'greedy', 'fine']) await client.remove(n);
  }, 120_000);

  it('a CPU limit holds a looping VM to its share of a thread', async () => {
    await openHost({ workers: 1 });
    await client.create(processVm('capped', 'loop.elf', { cpu: { limit: 20 } }));
    await client.start('capped');
    const a = await client.measure('capped');
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1500));
    const b = await client.measure('capped');
    const share = (b.cpuSeconds - a.cpuSeconds) / ((performance.now() - t0) / 1000);
    console.log(`a VM limited to 20%: ${(share * 100).toFixed(1)}% of a thread`);
    expect(share).toBeGreaterThan(0.05);
    expect(share).toBeLessThan(0.3);
    // Raised at once on a running VM.
    await client.set('capped', { cpu: { limit: 100 } });
    const c = await client.measure('capped');
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    const d = await client.measure('capped');
    expect((d.cpuSeconds - c.cpuSeconds) / ((performance.now() - t1) / 1000)).toBeGreaterThan(0.5);
    await client.stop('capped');
    await client.remove('capped');
  });

  it('checkpoints a running VM through the host, lists and applies them', async () => {
    await openHost();
    await client.create(processVm('ck', 'hold8.elf'));
    await client.start('ck');
    await until(() => client.measure('ck'), (m) => m.memory.bytes >= 8 * MiB);
    const taken = await client.checkpoint('ck', 'first');
    expect(taken).toMatchObject({ name: 'first', parent: null });
    expect((await client.checkpoints('ck')).map((c) => c.name)).toEqual(['first']);
    await client.restore('ck', 'first');
    expect((await client.get('ck')).state).toBe('Running');
    await expect(client.restore('ck', 'nope')).rejects.toMatchObject({ status: 404 });
    await client.pause('ck');
    expect((await client.info('ck')).state).toBe('Paused');
    await client.resume('ck');
    await client.stop('ck');
    await client.remove('ck');
  });

  it('the balancer moves memory between two guests when the host is short, within their ranges', async () => {
    await openHost({ memoryBudget: 72 * MiB });
    const range = { startup: 32 * MiB, minimum: 16 * MiB, maximum: 96 * MiB, buffer: 20 };
    await client.create(processVm('big', 'hold48.elf', { memory: { ...range, startup: 64 * MiB } }));
    await client.create(processVm('small', 'hold8.elf', { memory: range }));
    const target = (t: string, vm: string) => Number(new RegExp(`ringvisor_vm_memory_target_bytes\\{vm="${vm}"\\} (\\d+)`).exec(t)?.[1]);
    // Alone, big gets what it uses (48 MiB and a page) and its 20% buffer.
    await client.start('big');
    const alone = target(await until(() => client.metrics(), (t) => target(t, 'big') === 60407808), 'big');
    // With small beside it (8 MiB used: its minimum of 16 MiB), the budget of
    // 72 MiB cannot give both their buffers: big's shrinks to what is left.
    await client.start('small');
    const squeezed = await until(() => client.metrics(), (t) => target(t, 'small') === 16 * MiB && target(t, 'big') === 72 * MiB - 16 * MiB);
    // Small gone, big gets its buffer back.
    await client.stop('small');
    await until(() => client.metrics(), (t) => target(t, 'big') === 60407808);
    console.log(`balancer: big ${alone} alone, ${target(squeezed, 'big')} beside small (${target(squeezed, 'small')}), ${60407808} again`);
    expect((await client.measure('big')).memory.limit).toBe(60407808);
    await client.stop('big');
  }, 60_000);

  it('a process VM that frees memory is rebuilt so that the host gets it back, and runs on', async () => {
    await openHost();
    await client.create(processVm('frees', 'frees.elf'));
    await client.start('frees');
    const m = await until(() => client.measure('frees'), (x) => x.compactions >= 1, 30_000);
    expect(m.memory.maximum).toBeGreaterThanOrEqual(48 * MiB);
    expect(m.memory.bytes).toBeLessThan(MiB);
    const before = Number(m.instructions);
    await new Promise((r) => setTimeout(r, 1500));
    const later = await client.measure('frees');
    expect(later.state).toBe('Running');
    expect(Number(later.instructions)).toBeGreaterThan(before);
    expect(later.compactions).toBe(m.compactions);
    await client.stop('frees');
  });

  it('/metrics is Prometheus text for the whole host', async () => {
    await openHost();
    await client.create(processVm('m', 'loop.elf'));
    await client.start('m');
    await until(() => client.measure('m'), (x) => Number(x.instructions) > 0);
    const text = await client.metrics();
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) ringvisor_\w+ .+|ringvisor_\w+(\{(\w+="[^"]*",?)+\})? -?\d+(\.\d+)?(e[+-]?\d+)?)$/);
    expect(text).toMatch(/ringvisor_vm_instructions_total\{vm="m"\} [1-9]\d*/);
    expect(text).toMatch(/ringvisor_host_vms\{state="Running"\} 1/);
    expect(text).toMatch(/# TYPE ringvisor_vm_exits_total counter/);
    await client.stop('m');
    await client.remove('m');
  });
});

/** A request with raw control over its parts. */
function raw(method: string, path: string, body?: string, headers: Record<string, string> = {}, socketPath = join(dir, 'api.sock')): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the host API refuses bad requests and changes nothing', () => {
  it('every error case answers a 4xx JSON fault', async () => {
    await openHost();
    const cases: [string, string, string | undefined, number, RegExp][] = [
      ['GET', '/vms/nope', undefined, 404, /no VM named "nope"/],
      ['GET', '/vms/Bad%20Name', undefined, 400, /bad VM name/],
      ['GET', '/nothing', undefined, 404, /no such resource/],
      ['DELETE', '/vms', undefined, 405, /not allowed/],
      ['POST', '/vms', '{"name":"x","kind":"process","process":{"program":"images/hello.elf"},"extra":1}', 400, /extra: unknown field/],
      ['POST', '/vms', '{"name":"x","kind":"process","process":{"program":"../outside"}}', 400, /process\.program: must be a path inside the state directory/],
      ['POST', '/vms', '{"name":"x","kind":"process","process":{"program":"/etc/passwd"}}', 400, /process\.program/],
      ['POST', '/vms', '{"name":"x","kind":"process","process":{"program":"images/hello.elf"},"memory":{"startup":1000}}', 400, /memory\.startup/],
      ['POST', '/vms', '{"name":"x","kind":"process","process":{"program":"images/hello.elf"},"cpu":{"reserve":50,"limit":20}}', 400, /reserve.*above the limit/],
      ['POST', '/vms', '{"name":"x","kind":"system","process":{"program":"images/hello.elf"}}', 400, /system/],
      ['POST', '/vms', '{"name":"x","kind":"vm"}', 400, /kind/],
      ['POST', '/vms', 'not json', 400, /not JSON/],
      ['POST', '/vms/x/start', undefined, 404, /no VM named/],
      ['PATCH', '/vms/x', '{"cpu":{"weight":5}}', 404, /no VM named/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const r = await raw(method, path, body);
      expect([method, path, r.status]).toEqual([method, path, status]);
      expect((JSON.parse(r.body) as { fault_message: string }).fault_message).toMatch(message);
    }
    expect((await raw('POST', '/vms', '{}', { 'Content-Type': 'text/plain' })).status).toBe(415);
    // A symbolic link that leads out of the state directory.
    symlinkSync('/etc/passwd', join(dir, 'images', 'escape.elf'));
    expect((await raw('POST', '/vms', JSON.stringify(processVm('esc', 'escape.elf')))).status).toBe(400);
    // State conflicts: started twice, removed while running, a missing program.
    await client.create(processVm('twice', 'loop.elf'));
    await client.start('twice');
    await expect(client.start('twice')).rejects.toMatchObject({ status: 409 });
    await expect(client.remove('twice')).rejects.toMatchObject({ status: 409 });
    await expect(client.create(processVm('twice', 'hello.elf'))).rejects.toMatchObject({ status: 409 });
    await client.stop('twice');
    await expect(client.stop('twice')).rejects.toMatchObject({ status: 409 });
    await expect(client.pause('twice')).rejects.toMatchObject({ status: 409 });
    await client.create(processVm('gone', 'missing.elf'));
    await expect(client.start('gone')).rejects.toThrow(HostApiError);
    expect((await client.get('gone')).state).toBe('Off');
    // Nothing changed by any of it.
    expect((await client.list()).map((v) => v.name)).toEqual(['gone', 'twice']);
    for (const n of ['gone', 'twice']) await client.remove(n);
    rmSync(join(dir, 'images', 'escape.elf'));
  });

  it('over TCP only with the token', async () => {
    await openHost();
    const token = 'a-token-of-enough-length-0123456789';
    const tcp = await serveApi({ tcp: { host: '127.0.0.1', port: 0, token } }, hostRoutes(host!), { log: () => {} });
    try {
      const [h, p] = tcp.socketPath.split(':');
      const good = new HostClient({ host: h, port: Number(p), token });
      expect(await good.list()).toEqual([]);
      const bad = new HostClient({ host: h, port: Number(p), token: 'x'.repeat(token.length) });
      await expect(bad.list()).rejects.toMatchObject({ status: 401 });
    } finally {
      await tcp.close();
    }
    await expect(serveApi({ tcp: { host: '127.0.0.1', port: 0, token: 'short' } }, hostRoutes(host!))).rejects.toThrow(/token/);
  });

  it('the socket is mode 0600', async () => {
    await openHost();
    expect(statSync(join(dir, 'api.sock')).mode & 0o777).toBe(0o600);
    expect(readFileSync.name).toBe('readFileSync');
  });
});

// Our guest Linux with an ext2 disk, as a system VM of the host.
const root = fileURLToPath(new URL('..', import.meta.url));
const built = spawnSync('bash', [join(root, 'guests/linux/build.sh'), '--print-path'], { encoding: 'utf8' }).stdout.trim();
const linux = built !== '' && existsSync(join(built, 'Image')) && existsSync(join(built, 'initramfs.cpio.gz'));
const e2fs = spawnSync('mkfs.ext2', ['-V']).status === 0 && spawnSync('debugfs', ['-V']).status === 0;
const PROMPT = 'ringvisor-init# ';

describe.skipIf(!linux || !e2fs)('a system VM in the host: our Linux with a disk', () => {
  it('boots, takes commands through an attached console, writes its disk (metered), checkpoints, and stops', async () => {
    copyFileSync(join(built, 'Image'), join(dir, 'images', 'Image'));
    copyFileSync(join(built, 'initramfs.cpio.gz'), join(dir, 'images', 'initramfs.cpio.gz'));
    mkdirSync(join(dir, 'root'));
    writeFileSync(join(dir, 'root', 'hello.txt'), 'hello from the host\n');
    expect(spawnSync('mkfs.ext2', ['-q', '-F', '-b', '1024', '-d', join(dir, 'root'), join(dir, 'images', 'disk.img'), '2048']).status).toBe(0);
    await openHost();
    await client.create({
      name: 'linux', kind: 'system', memory: { startup: 128 * MiB },
      system: { kernel: 'images/Image', initrd: 'images/initramfs.cpio.gz', append: 'console=ttyS0 quiet panic=-1', disk: 'images/disk.img' },
    });
    await client.start('linux');
    const socket = await client.attach('linux');
    let out = '';
    socket.on('data', (b: Buffer) => { out += b.toString('latin1'); });
    const type = async (line: string) => {
      const from = out.length;
      socket.write(`${line}\n`);
      await until(() => out.indexOf(PROMPT, from + line.length) >= 0, (x) => x, 60_000);
      return out.slice(from);
    };
    await until(() => out.includes(PROMPT), (x) => x, 120_000);
    await type('mount -t devtmpfs devtmpfs /dev');
    await type('mount -t ext2 /dev/vda /mnt');
    expect(await type('cat /mnt/hello.txt')).toContain('hello from the host');
    await type('write /mnt/from-guest.txt written through the host');
    await type('sync');
    const m = await client.measure('linux');
    expect(m.disk.reads).toBeGreaterThan(0);
    expect(m.disk.writtenBytes).toBeGreaterThan(0);
    expect(m.console.bytesIn).toBeGreaterThan(50);
    const ck = await client.checkpoint('linux', 'booted');
    expect(ck.name).toBe('booted');
    socket.end();
    await client.stop('linux');
    // The disk's content is the checkpoint tree's: its layers over the image.
    expect(existsSync(join(dir, 'vms', 'linux', 'checkpoints'))).toBe(true);
    const measured = await client.measure('linux');
    expect(measured.state).toBe('Stopped');
  }, 240_000);
});

describe.skipIf(!linux)('Dynamic Memory for a system VM: the balancer, the balloon and compaction', () => {
  it('the balloon through the API, in Firecracker\'s words: sized, followed by the guest, and its statistics', async () => {
    copyFileSync(join(built, 'Image'), join(dir, 'images', 'Image'));
    copyFileSync(join(built, 'initramfs.cpio.gz'), join(dir, 'images', 'initramfs.cpio.gz'));
    await openHost();
    await client.create({
      name: 'bal', kind: 'system', memory: { startup: 128 * MiB },
      system: { kernel: 'images/Image', initrd: 'images/initramfs.cpio.gz', append: 'console=ttyS0 quiet panic=-1', balloon: true },
    });
    await client.start('bal');
    await until(() => client.consoleLog('bal'), (t) => t.includes(PROMPT), 120_000);
    expect(await client.balloon('bal')).toEqual({ amount_mib: 0, deflate_on_oom: true, stats_polling_interval_s: 0 });
    await client.setBalloon('bal', 64);
    expect((await client.balloon('bal')).amount_mib).toBe(64);
    const s = await until(() => client.balloonStatistics('bal'), (x) => x.actual_mib === 64 && x.total_memory !== undefined, 60_000);
    expect(s).toMatchObject({ target_pages: 64 * 256, actual_pages: 64 * 256, target_mib: 64 });
    await expect(client.setBalloon('bal', 129)).rejects.toMatchObject({ status: 400 });
    await client.setBalloon('bal', 0);
    await until(() => client.balloonStatistics('bal'), (x) => x.actual_mib === 0, 60_000);
    await client.stop('bal');
  }, 240_000);

  it('a Linux VM with a balloon gives back what the balancer takes, the host compacts it, and it runs on', async () => {
    copyFileSync(join(built, 'Image'), join(dir, 'images', 'Image'));
    copyFileSync(join(built, 'initramfs.cpio.gz'), join(dir, 'images', 'initramfs.cpio.gz'));
    await openHost({ memoryBudget: 64 * MiB });
    await client.create({
      name: 'dyn', kind: 'system', memory: { startup: 128 * MiB, minimum: 48 * MiB, maximum: 128 * MiB, buffer: 20 },
      system: { kernel: 'images/Image', initrd: 'images/initramfs.cpio.gz', append: 'console=ttyS0 quiet panic=-1', balloon: true },
    });
    await client.start('dyn');
    // The guest's demand is far below 48 MiB: the balancer gives it its minimum,
    // its driver inflates the balloon to that, and the host compacts the machine.
    const m = await until(() => client.measure('dyn'), (x) => x.balloon?.actualBytes === 48 * MiB && x.memory.bytes <= 48 * MiB && x.compactions >= 1, 120_000);
    expect(m.balloon!.targetBytes).toBe(48 * MiB);
    expect(m.memory.demand).toBeLessThan(48 * MiB);
    const socket = await client.attach('dyn');
    let out = '';
    socket.on('data', (b: Buffer) => { out += b.toString('latin1'); });
    await until(() => out.includes(PROMPT), (x) => x, 60_000);
    const from = out.length;
    socket.write('echo still-here\n');
    // (The line typed comes back first, then the answer on a line of its own.)
    await until(() => out.indexOf('\nstill-here', from) >= 0, (x) => x, 60_000);
    socket.end();
    console.log(`dynamic memory: target ${m.balloon!.targetBytes}, guest holds ${m.memory.bytes}, demand ${m.memory.demand}`);
    await client.stop('dyn');
  }, 240_000);
});
