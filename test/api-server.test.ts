// The per-VM control API (src/node/api-server.ts, docs/API.md) against a fake
// ControlTarget that records every call: each route, each refusal (and that a
// refused request never reached the target), the socket's mode and life,
// garbage and slow clients, and the one-at-a-time order of calls.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ControlError, isCheckpointName, type BalloonConfig, type BalloonStatistics, type CheckpointInfo, type ControlTarget, type SnapshotResult, type VmInfo, type VmRunState,
} from '../src/hypervisor/control.js';
import { ControlApiSocketError, serveControlApi, type ControlApiOptions, type ControlApiServer } from '../src/node/api-server.js';
import { apiRequest, faultOf, rawConnect, rawExchange, rawStatus, type ApiResponse } from './support/api-client.js';

/** A VM that keeps its state in fields and writes down every call. */
class FakeTarget implements ControlTarget {
  calls: string[] = [];
  state: VmRunState = 'Running';
  checkpoints: CheckpointInfo[] = [{ name: 'base', created: '2026-12-05T03:00:00.000Z', parent: null, current: true }];
  /** While set, snapshot() waits for it. */
  gate: Promise<void> | undefined;
  /** Calls inside the target at once, now and at most. */
  active = 0;
  maxActive = 0;
  /** Thrown by the next call, when set. */
  failWith: unknown;

  private async enter<T>(what: string, f: () => T | Promise<T>): Promise<T> {
    this.calls.push(what);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.failWith !== undefined) { const e = this.failWith; this.failWith = undefined; throw e; }
      return await f();
    } finally {
      this.active--;
    }
  }

  // The synchronous verbs cannot await; they record the same way.
  private sync<T>(what: string, f: () => T): T {
    this.calls.push(what);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.failWith !== undefined) { const e = this.failWith; this.failWith = undefined; throw e; }
      return f();
    } finally {
      this.active--;
    }
  }

  info(): VmInfo {
    return this.sync('info', () => ({ id: 'vm0', kind: 'process', state: this.state, config: { memoryBytes: 1 << 26 } }));
  }
  pause(): void {
    this.sync('pause', () => {
      if (this.state === 'Stopped') throw new ControlError(409, 'the VM has stopped');
      this.state = 'Paused';
    });
  }
  resume(): void {
    this.sync('resume', () => {
      if (this.state === 'Stopped') throw new ControlError(409, 'the VM has stopped');
      this.state = 'Running';
    });
  }
  snapshot(path: string, type: 'Full' | 'Diff'): Promise<SnapshotResult> {
    return this.enter(`snapshot ${path} ${type}`, async () => {
      // Without a gate it still takes a turn of the event loop, as a real
      // snapshot's file writes do, so that overlapping calls would show.
      await (this.gate ?? new Promise((r) => setTimeout(r, 3)));
      return { path, type, bytes: 4096, milliseconds: 3 };
    });
  }
  listCheckpoints(): CheckpointInfo[] {
    return this.sync('list', () => this.checkpoints);
  }
  takeCheckpoint(name: string): Promise<CheckpointInfo> {
    return this.enter(`take ${name}`, () => {
      if (this.checkpoints.some((c) => c.name === name)) throw new ControlError(409, `checkpoint ${name} exists`);
      for (const c of this.checkpoints) c.current = false;
      const c = { name, created: '2026-12-05T03:30:00.000Z', parent: 'base', current: true };
      this.checkpoints.push(c);
      return c;
    });
  }
  applyCheckpoint(name: string): Promise<void> {
    return this.enter(`apply ${name}`, () => {
      if (!this.checkpoints.some((c) => c.name === name)) throw new ControlError(404, `no checkpoint named ${name}`);
    });
  }
  deleteCheckpoint(name: string): Promise<void> {
    return this.enter(`delete ${name}`, () => {
      const i = this.checkpoints.findIndex((c) => c.name === name);
      if (i < 0) throw new ControlError(404, `no checkpoint named ${name}`);
      this.checkpoints.splice(i, 1);
    });
  }
  metrics(): Record<string, unknown> {
    return this.sync('metrics', () => ({ instret: 12345n, huge: 1n << 64n, exits: { ECALL_U: 7 } }));
  }
  /** The balloon's size in MiB, or undefined for a VM without one. */
  balloonMib: number | undefined = 0;
  balloon(): BalloonConfig {
    return this.sync('balloon', () => {
      if (this.balloonMib === undefined) throw new ControlError(400, 'no balloon device');
      return { amount_mib: this.balloonMib, deflate_on_oom: true, stats_polling_interval_s: 0 };
    });
  }
  setBalloon(amountMib: number): void {
    this.sync(`set-balloon ${amountMib}`, () => {
      if (this.balloonMib === undefined) throw new ControlError(400, 'no balloon device');
      this.balloonMib = amountMib;
    });
  }
  balloonStatistics(): BalloonStatistics {
    return this.sync('balloon-statistics', () => ({ target_pages: (this.balloonMib ?? 0) * 256, actual_pages: 0, target_mib: this.balloonMib ?? 0, actual_mib: 0, free_memory: 1 << 20 }));
  }
}

let dir: string;
let target: FakeTarget;
let server: ControlApiServer | undefined;
let logged: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rv-api-test-'));
  target = new FakeTarget();
  logged = [];
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: ControlApiOptions = {}, path = join(dir, 'api.sock')): Promise<ControlApiServer> {
  server = await serveControlApi(path, target, { log: (m) => logged.push(m), ...options });
  return server;
}

function call(method: string, path: string, opts: Parameters<typeof apiRequest>[3] = {}): Promise<ApiResponse> {
  if (!server) throw new Error('no server');
  return apiRequest(server.socketPath, method, path, opts);
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('the socket', () => {
  it('is created with mode 0600, leaves no private directory behind, and close() removes it', async () => {
    const s = await start();
    const st = statSync(s.socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['api.sock']);
    expect((await call('GET', '/vm')).status).toBe(200);
    await s.close();
    expect(existsSync(s.socketPath)).toBe(false);
    await s.close(); // idempotent
    server = undefined;
  });

  it('is 0600 whatever the umask', async () => {
    const old = process.umask(0);
    try {
      const s = await start();
      expect(statSync(s.socketPath).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it('refuses a path that is a regular file, a directory, or a live socket, and touches none of them', async () => {
    const file = join(dir, 'file');
    writeFileSync(file, 'precious');
    await expect(serveControlApi(file, target)).rejects.toMatchObject({ name: 'ControlApiSocketError', problem: 'exists' });
    expect(readFileSync(file, 'utf8')).toBe('precious');

    const sub = join(dir, 'sub');
    mkdirSync(sub);
    await expect(serveControlApi(sub, target)).rejects.toBeInstanceOf(ControlApiSocketError);
    expect(statSync(sub).isDirectory()).toBe(true);

    const live = await start();
    const err = await serveControlApi(live.socketPath, new FakeTarget()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlApiSocketError);
    expect(err).toMatchObject({ problem: 'in-use', socketPath: live.socketPath });
    expect((err as Error).message).toMatch(/in use/);
    // The first server still answers on it.
    expect((await call('GET', '/vm')).status).toBe(200);
    expect(readdirSync(dir).sort()).toEqual(['api.sock', 'file', 'sub']);
  });

  it('replaces a stale socket of ours (its process died) and says so', async () => {
    const path = join(dir, 'stale.sock');
    // A process that binds the path and dies without closing leaves the socket file.
    const r = spawnSync(process.execPath, ['-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(r.signal).toBe('SIGKILL');
    expect(statSync(path).isSocket()).toBe(true);
    const s = await start({}, path);
    expect(logged.join('\n')).toMatch(/removed the stale API socket/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await call('GET', '/vm')).status).toBe(200);
    expect(s.socketPath).toBe(path);
  });

  it('refuses a path too long for a Unix socket', async () => {
    const path = join(dir, 'x'.repeat(120));
    await expect(serveControlApi(path, target)).rejects.toMatchObject({ problem: 'path-too-long' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves a socket file that is no longer ours in place on close()', async () => {
    const s = await start();
    rmSync(s.socketPath);
    writeFileSync(s.socketPath, 'someone else');
    await s.close();
    server = undefined;
    expect(readFileSync(s.socketPath, 'utf8')).toBe('someone else');
  });

  it('checks its options', async () => {
    await expect(serveControlApi(join(dir, 'a'), target, { maxBodyBytes: 0 })).rejects.toThrow(/maxBodyBytes/);
    await expect(serveControlApi(join(dir, 'a'), target, { headersTimeoutMs: 2000, requestTimeoutMs: 1000 })).rejects.toThrow(/requestTimeoutMs/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the routes', () => {
  beforeEach(async () => { await start(); });

  it('GET /vm answers the VM info', async () => {
    const r = await call('GET', '/vm');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json).toEqual({ id: 'vm0', kind: 'process', state: 'Running', config: { memoryBytes: 1 << 26 } });
    expect(target.calls).toEqual(['info']);
  });

  it('PATCH /vm pauses and resumes', async () => {
    let r = await call('PATCH', '/vm', { body: { state: 'Paused' } });
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(target.state).toBe('Paused');
    r = await call('PATCH', '/vm', { body: { state: 'Resumed' }, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
    expect(r.status).toBe(204);
    expect(target.state).toBe('Running');
    expect(target.calls).toEqual(['pause', 'resume']);
  });

  it("PATCH /vm on a stopped VM passes the target's 409 through", async () => {
    target.state = 'Stopped';
    const r = await call('PATCH', '/vm', { body: { state: 'Paused' } });
    expect(r.status).toBe(409);
    expect(faultOf(r)).toBe('the VM has stopped');
    expect(target.calls).toEqual(['pause']);
  });

  it('PUT /snapshot/create writes a Full snapshot by default, or a Diff', async () => {
    let r = await call('PUT', '/snapshot/create', { body: { snapshot_path: '/tmp/vm.snap' } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ path: '/tmp/vm.snap', type: 'Full', bytes: 4096, milliseconds: 3 });
    r = await call('PUT', '/snapshot/create', { body: { snapshot_path: 'rel/vm.diff', snapshot_type: 'Diff' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ type: 'Diff' });
    expect(target.calls).toEqual(['snapshot /tmp/vm.snap Full', 'snapshot rel/vm.diff Diff']);
  });

  it('checkpoints: list, take, apply, delete, with names percent-decoded', async () => {
    let r = await call('GET', '/checkpoints');
    expect(r.status).toBe(200);
    expect(r.json).toEqual([{ name: 'base', created: '2026-12-05T03:00:00.000Z', parent: null, current: true }]);

    r = await call('POST', '/checkpoints', { body: { name: 'before upgrade' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ name: 'before upgrade', parent: 'base', current: true });

    r = await call('POST', '/checkpoints', { body: { name: 'before upgrade' } });
    expect(r.status).toBe(409);

    r = await call('POST', '/checkpoints/before%20upgrade/apply');
    expect(r.status).toBe(204);
    r = await call('DELETE', '/checkpoints/before%20upgrade');
    expect(r.status).toBe(204);
    r = await call('DELETE', '/checkpoints/base');
    expect(r.status).toBe(204);
    expect(target.calls).toEqual(['list', 'take before upgrade', 'take before upgrade', 'apply before upgrade', 'delete before upgrade', 'delete base']);
  });

  it("an unknown checkpoint is the target's 404", async () => {
    let r = await call('POST', '/checkpoints/ghost/apply');
    expect(r.status).toBe(404);
    expect(faultOf(r)).toBe('no checkpoint named ghost');
    r = await call('DELETE', '/checkpoints/ghost');
    expect(r.status).toBe(404);
    expect(target.calls).toEqual(['apply ghost', 'delete ghost']);
  });

  it('the balloon, in Firecracker\'s words: GET and PATCH /balloon, GET /balloon/statistics; refusals before the target', async () => {
    expect((await call('GET', '/balloon')).json).toEqual({ amount_mib: 0, deflate_on_oom: true, stats_polling_interval_s: 0 });
    expect((await call('PATCH', '/balloon', { body: { amount_mib: 64 } })).status).toBe(204);
    expect((await call('GET', '/balloon/statistics')).json).toMatchObject({ target_pages: 64 * 256, target_mib: 64, free_memory: 1 << 20 });
    for (const body of [{}, { amount_mib: -1 }, { amount_mib: 1.5 }, { amount_mib: '64' }, { amount_mib: 4097 }, { amount_mib: 1, deflate_on_oom: false }]) {
      const r = await call('PATCH', '/balloon', { body });
      expect([JSON.stringify(body), r.status]).toEqual([JSON.stringify(body), 400]);
    }
    expect(target.calls.filter((c) => c.startsWith('set-balloon'))).toEqual(['set-balloon 64']);
    target.balloonMib = undefined;
    const r = await call('GET', '/balloon');
    expect(r.status).toBe(400);
    expect(faultOf(r)).toMatch(/no balloon/);
  });

  it('GET /metrics answers JSON, bigints as numbers or, past 2^53, decimal strings', async () => {
    const r = await call('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ instret: 12345, huge: '18446744073709551616', exits: { ECALL_U: 7 } });
  });

  it('keeps a connection alive across requests, answering pipelined ones in order', async () => {
    const c = await rawConnect(server!.socketPath);
    const body = JSON.stringify({ state: 'Paused' });
    c.socket.write(`GET /vm HTTP/1.1\r\nHost: x\r\n\r\nPATCH /vm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const text = await c.closed;
    expect([...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1])), text).toEqual([200, 204, 200]);
    expect(target.calls).toEqual(['info', 'pause', 'metrics']);
  });

  it('answers Expect: 100-continue with 100 once the headers pass', async () => {
    const c = await rawConnect(server!.socketPath);
    const body = JSON.stringify({ name: 'cont' });
    c.socket.write(`POST /checkpoints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await until(() => c.received().includes('100 Continue'), '100 Continue');
    expect(target.calls).toEqual([]);
    c.socket.end(body);
    const text = await c.closed;
    expect(text).toMatch(/HTTP\/1\.1 201 /);
    expect(target.calls).toEqual(['take cont']);
  });
});

describe('refusals never reach the target', () => {
  beforeEach(async () => { await start({ maxBodyBytes: 1024 }); });

  const json = (body: string) => ({ raw: body, headers: { 'Content-Type': 'application/json' } });
  const cases: [string, string, string, Parameters<typeof apiRequest>[3], number, RegExp][] = [
    ['unknown path', 'GET', '/nope', {}, 404, /no such resource/],
    ['trailing slash', 'GET', '/vm/', {}, 404, /no such resource/],
    ['too deep', 'POST', '/checkpoints/a/b', {}, 404, /no such resource/],
    ['empty checkpoint name', 'DELETE', '/checkpoints/', {}, 404, /no such resource/],
    ['query string', 'GET', '/vm?x=1', {}, 400, /query/],
    ['DELETE /vm', 'DELETE', '/vm', {}, 405, /DELETE is not allowed on \/vm/],
    ['GET /snapshot/create', 'GET', '/snapshot/create', {}, 405, /allowed: PUT/],
    ['HEAD /metrics', 'HEAD', '/metrics', {}, 405, /.*/],
    ['GET /checkpoints/x', 'GET', '/checkpoints/x', {}, 405, /allowed: DELETE/],
    ['GET .../apply', 'GET', '/checkpoints/x/apply', {}, 405, /allowed: POST/],
    ['PUT /checkpoints', 'PUT', '/checkpoints', { body: { name: 'x' } }, 405, /allowed: GET, POST/],
    ['bad JSON', 'PATCH', '/vm', json('{"state":'), 400, /not JSON/],
    ['not UTF-8', 'PATCH', '/vm', { raw: Buffer.from([0x7b, 0xff, 0x7d]), headers: { 'Content-Type': 'application/json' } }, 400, /UTF-8/],
    ['array body', 'PATCH', '/vm', { body: ['Paused'] }, 400, /JSON object/],
    ['null body', 'PATCH', '/vm', json('null'), 400, /JSON object/],
    ['empty body', 'PATCH', '/vm', json(''), 400, /empty/],
    ['unknown field', 'PATCH', '/vm', { body: { state: 'Paused', force: true } }, 400, /unknown field "force"/],
    ['missing field', 'PATCH', '/vm', { body: {} }, 400, /missing field "state"/],
    ['wrong type', 'PATCH', '/vm', { body: { state: 1 } }, 400, /"state" must be/],
    ['unknown state', 'PATCH', '/vm', { body: { state: 'Running' } }, 400, /"Paused" or "Resumed"/],
    ['missing snapshot_path', 'PUT', '/snapshot/create', { body: { snapshot_type: 'Full' } }, 400, /missing field "snapshot_path"/],
    ['empty snapshot_path', 'PUT', '/snapshot/create', { body: { snapshot_path: '' } }, 400, /snapshot_path/],
    ['NUL in snapshot_path', 'PUT', '/snapshot/create', { body: { snapshot_path: 'a\0b' } }, 400, /snapshot_path/],
    ['numeric snapshot_path', 'PUT', '/snapshot/create', { body: { snapshot_path: 7 } }, 400, /snapshot_path/],
    ['bad snapshot_type', 'PUT', '/snapshot/create', { body: { snapshot_path: '/x', snapshot_type: 'Incremental' } }, 400, /snapshot_type/],
    ["Firecracker's mem_file_path", 'PUT', '/snapshot/create', { body: { snapshot_path: '/x', mem_file_path: '/m' } }, 400, /unknown field "mem_file_path"/],
    ['numeric name', 'POST', '/checkpoints', { body: { name: 5 } }, 400, /"name" must be a string/],
    ['name with a slash', 'POST', '/checkpoints', { body: { name: '../x' } }, 400, /bad checkpoint name/],
    ['empty name', 'POST', '/checkpoints', { body: { name: '' } }, 400, /bad checkpoint name/],
    ['name with a leading space', 'POST', '/checkpoints', { body: { name: ' x' } }, 400, /bad checkpoint name/],
    ['name of 65 characters', 'POST', '/checkpoints', { body: { name: 'a'.repeat(65) } }, 400, /bad checkpoint name/],
    ['encoded slash in a name', 'DELETE', '/checkpoints/a%2Fb', {}, 400, /bad checkpoint name "a\/b"/],
    ['encoded dot-dot', 'POST', '/checkpoints/%2E%2E/apply', {}, 400, /bad checkpoint name "\.\."/],
    ['bad percent-encoding', 'DELETE', '/checkpoints/a%zz', {}, 400, /percent-encoding/],
    ['encoded NUL', 'DELETE', '/checkpoints/a%00', {}, 400, /bad checkpoint name/],
    ['a body on GET', 'GET', '/vm', json('{}'), 400, /takes no body/],
    ['a body on apply', 'POST', '/checkpoints/base/apply', json('{}'), 400, /takes no body/],
    ['no Content-Type', 'PATCH', '/vm', { raw: '{"state":"Paused"}' }, 415, /application\/json/],
    ['text/plain', 'PATCH', '/vm', { raw: '{"state":"Paused"}', headers: { 'Content-Type': 'text/plain' } }, 415, /text\/plain/],
    ['a charset other than UTF-8', 'POST', '/checkpoints', { raw: '{"name":"x"}', headers: { 'Content-Type': 'application/json; charset=latin1' } }, 415, /application\/json/],
    ['form data (curl -d without -H)', 'PUT', '/snapshot/create', { raw: 'snapshot_path=/x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }, 415, /application\/json/],
    ['a body over the limit', 'POST', '/checkpoints', { body: { name: 'x'.repeat(2000) } }, 413, /over the limit of 1024/],
  ];

  for (const [what, method, path, opts, status, message] of cases) {
    it(`${what}: ${status}`, async () => {
      const r = await call(method, path, opts);
      expect(r.status).toBe(status);
      if (method !== 'HEAD') {
        expect(r.headers['content-type']).toBe('application/json');
        expect(faultOf(r)).toMatch(message);
      }
      if (status === 405) expect(r.headers.allow).toBeTruthy();
      expect(target.calls).toEqual([]);
    });
  }

  it('405 names the allowed methods in Allow', async () => {
    expect((await call('DELETE', '/vm')).headers.allow).toBe('GET, PATCH');
    expect((await call('POST', '/metrics')).headers.allow).toBe('GET');
    expect((await call('PATCH', '/checkpoints/x')).headers.allow).toBe('DELETE');
  });

  it('413 comes from Content-Length before the body is sent', async () => {
    const c = await rawConnect(server!.socketPath);
    c.socket.write('PUT /snapshot/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"snap');
    const text = await c.closed;
    expect(rawStatus(text)).toBe(413);
    expect(text).toMatch(/over the limit of 1024/);
    expect(target.calls).toEqual([]);
  });

  it('413 instead of 100 Continue for an oversized body announced with Expect', async () => {
    const c = await rawConnect(server!.socketPath);
    c.socket.write('POST /checkpoints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n');
    const text = await c.closed;
    expect(text).not.toMatch(/100 Continue/);
    expect(rawStatus(text)).toBe(413);
    expect(target.calls).toEqual([]);
  });

  it('413 for a chunked body that grows past the limit, without reading the rest', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: server!.socketPath, method: 'POST', path: '/checkpoints', agent: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"name":"');
      // 600 bytes at a time, never ending: the server must answer anyway.
      const timer = setInterval(() => { if (!req.destroyed) req.write('a'.repeat(600)); }, 5);
      req.on('close', () => clearInterval(timer));
      setTimeout(() => { clearInterval(timer); req.destroy(); }, 3000);
    });
    expect(status).toBe(413);
    expect(target.calls).toEqual([]);
  });

  it('a target that throws something other than a ControlError is a logged 500', async () => {
    target.failWith = new TypeError('cannot read x of undefined');
    const r = await call('GET', '/vm');
    expect(r.status).toBe(500);
    expect(faultOf(r)).toMatch(/internal error: cannot read x/);
    expect(logged.join('\n')).toMatch(/control target failed on info: TypeError: cannot read x/);
    target.failWith = new ControlError(200, 'not an error status');
    expect((await call('GET', '/metrics')).status).toBe(500);
    // And the server goes on.
    expect((await call('GET', '/vm')).status).toBe(200);
  });

  it('an answer that is not JSON is a logged 500', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    target.metrics = () => cyclic;
    const r = await call('GET', '/metrics');
    expect(r.status).toBe(500);
    expect(logged.length).toBe(1);
  });
});

describe('hostile and slow clients', () => {
  it('garbage bytes get a 400 or a closed connection, and the server goes on', async () => {
    await start();
    const garbage = [
      'hello\r\n\r\n',
      'GET /vm HTTP/9.9\r\n\r\n',
      'GET /vm HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
      'GET /vm HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'GET /vm HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'GET /vm HTTP/1.1\r\nX: \0\r\n\r\n',
      `GET /vm HTTP/1.1\r\nX: ${'a'.repeat(20000)}\r\n\r\n`,
      'GET vm HTTP/1.1\r\nHost: x\r\n\r\n',
      '\u0000\u0001\u0002\u00ff',
    ];
    for (const g of garbage) {
      const text = await rawExchange(server!.socketPath, Buffer.from(g, 'latin1'));
      const status = rawStatus(text);
      expect([400, 404, 413, 431], `${JSON.stringify(g.slice(0, 40))} -> ${text.slice(0, 80)}`).toContain(status);
    }
    // Random bytes from a fixed seed, some of them after a valid request line.
    let seed = 0x2545f491;
    const next = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) & 0xff; };
    for (let i = 0; i < 100; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + (next() % 200) }, next));
      const prefix = i % 2 ? Buffer.from('PATCH /vm HTTP/1.1\r\n') : Buffer.alloc(0);
      await rawExchange(server!.socketPath, Buffer.concat([prefix, bytes]));
    }
    expect(target.calls).toEqual([]);
    expect((await call('GET', '/vm')).status).toBe(200);
  });

  it('a client that never finishes its headers neither blocks others nor stays for ever', async () => {
    await start({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
    const slow = await rawConnect(server!.socketPath);
    let slowClosed = false;
    void slow.closed.then(() => { slowClosed = true; });
    const t0 = Date.now();
    slow.socket.write('PATCH /vm HTTP/1.1\r\nHost: x\r\n');
    const other = await call('GET', '/vm');
    expect(other.status).toBe(200);
    // Served while the slow client still held its connection.
    expect(slowClosed).toBe(false);
    expect(slow.received()).toBe('');
    // It keeps dribbling a header byte at a time; the headers timeout ends it.
    const dribble = setInterval(() => { if (slow.socket.writable) slow.socket.write('X'); }, 50);
    const text = await slow.closed;
    clearInterval(dribble);
    const lasted = Date.now() - t0;
    expect(rawStatus(text)).toBe(408);
    expect(lasted).toBeGreaterThanOrEqual(900);
    expect(lasted).toBeLessThan(5000);
    expect(target.calls).toEqual(['info']);
  });

  it('a client that never finishes its body holds no place in the queue', async () => {
    await start({ headersTimeoutMs: 500, requestTimeoutMs: 1000 });
    const slow = await rawConnect(server!.socketPath);
    let slowClosed = false;
    void slow.closed.then(() => { slowClosed = true; });
    slow.socket.write('POST /checkpoints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"name":');
    await sleep(50);
    expect(server!.pendingRequests()).toBe(0);
    expect((await call('PATCH', '/vm', { body: { state: 'Paused' } })).status).toBe(204);
    expect(slowClosed).toBe(false);
    const text = await slow.closed;
    expect(rawStatus(text)).toBe(408);
    expect(target.calls).toEqual(['pause']);
  });

  it('the request timeout does not cut a slow answer: it bounds receiving, not the VM', async () => {
    await start({ headersTimeoutMs: 200, requestTimeoutMs: 300 });
    let release!: () => void;
    target.gate = new Promise<void>((r) => { release = r; });
    const a = call('PUT', '/snapshot/create', { body: { snapshot_path: '/slow' } });
    const b = call('GET', '/vm');
    setTimeout(release, 900);
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    expect(target.calls).toEqual(['snapshot /slow Full', 'info']);
  });

  it('connections past maxConnections are dropped, and others served', async () => {
    await start({ maxConnections: 2 });
    const held = [await rawConnect(server!.socketPath), await rawConnect(server!.socketPath)];
    const third = await rawConnect(server!.socketPath);
    third.socket.write('GET /vm HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await third.closed).toBe('');
    held[0].socket.destroy();
    await held[0].closed;
    await sleep(50);
    expect((await call('GET', '/vm')).status).toBe(200);
    held[1].socket.destroy();
    expect(target.calls).toEqual(['info']);
  });

  it('an idle connection is closed', async () => {
    await start({ headersTimeoutMs: 200, requestTimeoutMs: 400, keepAliveTimeoutMs: 200 });
    const idle = await rawConnect(server!.socketPath);
    const t0 = Date.now();
    await idle.closed;
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe('serialisation', () => {
  it('one call at a time, in the order the requests arrived', async () => {
    await start();
    let release!: () => void;
    target.gate = new Promise<void>((r) => { release = r; });
    const snap = call('PUT', '/snapshot/create', { body: { snapshot_path: '/s' } });
    await until(() => target.calls.length === 1, 'the snapshot to start');
    const pause = call('PATCH', '/vm', { body: { state: 'Paused' } });
    await until(() => server!.pendingRequests() === 2, 'the pause to queue');
    const info = call('GET', '/vm');
    await until(() => server!.pendingRequests() === 3, 'the info to queue');
    const take = call('POST', '/checkpoints', { body: { name: 'c1' } });
    await until(() => server!.pendingRequests() === 4, 'the checkpoint to queue');
    // A refused request is answered at once, queue or not.
    expect((await call('PATCH', '/vm', { body: { state: 'Nope' } })).status).toBe(400);
    await sleep(30);
    expect(target.calls).toEqual(['snapshot /s Full']);
    release();
    const [a, b, c, d] = await Promise.all([snap, pause, info, take]);
    expect([a.status, b.status, c.status, d.status]).toEqual([200, 204, 200, 201]);
    expect(c.json).toMatchObject({ state: 'Paused' });
    expect(target.calls).toEqual(['snapshot /s Full', 'pause', 'info', 'take c1']);
    expect(target.maxActive).toBe(1);
    expect(server!.pendingRequests()).toBe(0);
  });

  it('many concurrent clients: every call alone in the target', async () => {
    await start();
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      i % 3 === 0 ? call('PUT', '/snapshot/create', { body: { snapshot_path: `/s${i}` } })
        : i % 3 === 1 ? call('POST', '/checkpoints', { body: { name: `c${i}` } }) : call('GET', '/metrics')));
    expect(rs.every((r) => r.status < 300)).toBe(true);
    expect(target.calls.length).toBe(40);
    expect(target.maxActive).toBe(1);
  });

  it('past maxPendingRequests a request is a 503 and never queued', async () => {
    await start({ maxPendingRequests: 2 });
    let release!: () => void;
    target.gate = new Promise<void>((r) => { release = r; });
    const a = call('PUT', '/snapshot/create', { body: { snapshot_path: '/a' } });
    const b = call('GET', '/vm');
    await until(() => server!.pendingRequests() === 2, 'two queued');
    const c = await call('GET', '/metrics');
    expect(c.status).toBe(503);
    release();
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    expect(target.calls).toEqual(['snapshot /a Full', 'info']);
  });

  it('close() lets queued calls finish and answer, then removes the socket', async () => {
    const s = await start();
    let release!: () => void;
    target.gate = new Promise<void>((r) => { release = r; });
    const a = call('PUT', '/snapshot/create', { body: { snapshot_path: '/a' } });
    await until(() => target.calls.length === 1, 'the snapshot to start');
    const closed = s.close();
    expect(existsSync(s.socketPath)).toBe(false);
    await expect(call('GET', '/vm')).rejects.toThrow();
    release();
    expect((await a).status).toBe(200);
    await closed;
    server = undefined;
    expect(target.calls).toEqual(['snapshot /a Full']);
  });
});

describe('closing', () => {
  it('close() does not wait for a client still sending its request', async () => {
    const s = await start();
    const slow = await rawConnect(s.socketPath);
    slow.socket.write('POST /checkpoints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"na');
    const half = await rawConnect(s.socketPath);
    half.socket.write('GET /vm HTTP/1.1\r\n');
    await sleep(50);
    const t0 = Date.now();
    await s.close();
    server = undefined;
    expect(Date.now() - t0).toBeLessThan(500);
    await slow.closed;
    await half.closed;
    expect(target.calls).toEqual([]);
  });

  it('a request that arrives on an open connection while closing is a 503', async () => {
    const s = await start();
    let release!: () => void;
    target.gate = new Promise<void>((r) => { release = r; });
    const a = call('PUT', '/snapshot/create', { body: { snapshot_path: '/a' } });
    await until(() => target.calls.length === 1, 'the snapshot to start');
    const c = await rawConnect(s.socketPath);
    c.socket.write('GET /vm HTTP/1.1\r\nHost: x\r\n');
    await sleep(20);
    const closed = s.close();
    c.socket.write('\r\n');
    await until(() => c.received().length > 0, 'the 503');
    expect(rawStatus(c.received())).toBe(503);
    expect(c.received()).toMatch(/shutting down/);
    release();
    expect((await a).status).toBe(200);
    await closed;
    server = undefined;
    expect(target.calls).toEqual(['snapshot /a Full']);
  });
});

describe('checkpoint names', () => {
  it('isCheckpointName', () => {
    for (const ok of ['a', 'base', 'before upgrade', '2026-12-05T03:30:00Z', 'v1.2+build@host', 'x'.repeat(64), 'a.', 'A_b-c']) {
      expect(isCheckpointName(ok), ok).toBe(true);
    }
    for (const bad of ['', ' a', 'a ', '.a', '..', '-a', 'a/b', 'a\\b', 'a\0', 'a\nb', 'é', 'x'.repeat(65), 'a\tb']) {
      expect(isCheckpointName(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});
