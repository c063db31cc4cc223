// docs/openapi.json against the host's server: every path and method it
// describes is one the server routes (and no other method there), and each
// operation, called on a live host, answers with a status it documents and
// a body its schema allows; a documented error of each is produced too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { VmHost } from '../src/node/vm-host.js';
import { hostRoute, hostRoutes } from '../src/node/host-api.js';
import { serveApi, type ControlApiServer } from '../src/node/api-server.js';
import { writeElf } from './support/elf-writer.js';
import { jal, ZERO } from './support/rvasm.js';

interface Schema {
  $ref?: string; type?: string | string[]; required?: string[]; properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema; items?: Schema; enum?: unknown[]; minimum?: number; maximum?: number;
}
interface Operation { operationId: string; responses: Record<string, { content?: Record<string, { schema: Schema }>; $ref?: string }>; requestBody?: unknown }
const spec = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema>; responses: Record<string, { content: Record<string, { schema: Schema }> }> };
};

/** Problems of `v` against `s` (a subset of JSON Schema: what the document uses). */
function check(v: unknown, s: Schema, at = '$'): string[] {
  if (s.$ref) return check(v, spec.components.schemas[s.$ref.split('/').at(-1)!], at);
  const out: string[] = [];
  if (s.enum && !s.enum.includes(v)) out.push(`${at}: ${JSON.stringify(v)} not in ${JSON.stringify(s.enum)}`);
  if (s.type) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const t = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [`${at}: a ${t}, not ${types.join(' or ')}`];
  }
  if (typeof v === 'number' && s.minimum !== undefined && v < s.minimum) out.push(`${at}: below ${s.minimum}`);
  if (typeof v === 'number' && s.maximum !== undefined && v > s.maximum) out.push(`${at}: above ${s.maximum}`);
  if (Array.isArray(v) && s.items) v.forEach((x, i) => out.push(...check(x, s.items!, `${at}[${i}]`)));
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) out.push(`${at}: no ${r}`);
    for (const [k, x] of Object.entries(o)) {
      const p = s.properties?.[k];
      if (p) out.push(...check(x, p, `${at}.${k}`));
      else if (s.additionalProperties === false) out.push(`${at}: ${k} is not described`);
      else if (typeof s.additionalProperties === 'object') out.push(...check(x, s.additionalProperties, `${at}.${k}`));
    }
  }
  return out;
}

describe('docs/openapi.json describes the routes the server has', () => {
  const example = (path: string) => path.replace('{name}', 'vm1').replace('{checkpoint}', 'c1');
  for (const [path, methods] of Object.entries(spec.paths)) {
    it(path, () => {
      const route = hostRoute(example(path));
      expect(route, `no route for ${path}`).toBeDefined();
      expect(Object.keys(route!.methods).sort()).toEqual(Object.keys(methods).map((m) => m.toUpperCase()).sort());
    });
  }
  it('the schema check used below finds what is wrong', () => {
    expect(check({ name: 1 }, { $ref: '#/components/schemas/VmSummary' })).toEqual(expect.arrayContaining(['$.name: a integer, not string', '$: no kind']));
    expect(check({ fault_message: 'x', extra: 1 }, { $ref: '#/components/schemas/Fault' })).toEqual([]);
    expect(check({ name: 'a', kind: 'process', nonsense: true }, { $ref: '#/components/schemas/VmConfig' })).toEqual(['$: nonsense is not described']);
  });

  it('and nothing else: neighbours of the documented paths are not routes', () => {
    for (const p of ['/', '/vm', '/vms/', '/vms/vm1/', '/vms/vm1/start/x', '/vms/vm1/checkpoints/c1/apply/x', '/host/x', '/metricsx', '/vms/vm1/snapshot']) {
      expect(hostRoute(p), p).toBeUndefined();
    }
  });
});

let dir: string, host: VmHost, server: ControlApiServer;

function call(method: string, path: string, body?: unknown): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath: join(dir, 'api.sock'), method, path, headers: text === undefined ? {} : { 'Content-Type': 'application/json' } }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: b }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

describe('each operation, called on a live host, answers as documented', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rv-openapi-'));
    mkdirSync(join(dir, 'images'));
    writeFileSync(join(dir, 'images', 'loop.elf'), writeElf(new Uint8Array(new Uint32Array([jal(ZERO, 0)]).buffer)));
    copyFileSync(new URL('../guests/bin/hello.elf', import.meta.url), join(dir, 'images', 'hello.elf'));
    host = await VmHost.open({ stateDir: dir, workerScript: new URL('../dist/node/host-worker.js', import.meta.url), workers: 1, log: () => {} });
    server = await serveApi({ socket: join(dir, 'api.sock') }, hostRoutes(host), { log: () => {} });
  });
  afterAll(async () => {
    await server.close();
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // In order: each may need what the ones before it made.
  // (A step with a status expects that documented error: the balloon's
  // operations on a process VM, which has none; test/host.test.ts has them
  // answering on a system VM's.)
  const steps: [string, string, unknown?, number?][] = [
    ['GET', '/host'],
    ['POST', '/vms', { name: 'vm1', kind: 'process', process: { program: 'images/loop.elf' } }],
    ['GET', '/vms'],
    ['GET', '/vms/vm1'],
    ['PATCH', '/vms/vm1', { cpu: { weight: 150 } }],
    ['POST', '/vms/vm1/start'],
    ['GET', '/vms/vm1/vm'],
    ['PATCH', '/vms/vm1/vm', { state: 'Paused' }],
    ['PATCH', '/vms/vm1/vm', { state: 'Resumed' }],
    ['GET', '/vms/vm1/measure'],
    ['GET', '/vms/vm1/metrics'],
    ['GET', '/vms/vm1/console'],
    ['PUT', '/vms/vm1/snapshot/create', { snapshot_path: 'SNAP', snapshot_type: 'Full' }],
    ['POST', '/vms/vm1/checkpoints', { name: 'c1' }],
    ['GET', '/vms/vm1/checkpoints'],
    ['POST', '/vms/vm1/checkpoints/c1/apply'],
    ['DELETE', '/vms/vm1/checkpoints/c1'],
    ['GET', '/vms/vm1/balloon', undefined, 400],
    ['PATCH', '/vms/vm1/balloon', { amount_mib: 8 }, 400],
    ['GET', '/vms/vm1/balloon/statistics', undefined, 400],
    ['GET', '/metrics'],
    ['POST', '/vms/vm1/stop'],
    ['DELETE', '/vms/vm1'],
  ];
  const templateOf = (path: string) => path.replace(/^\/vms\/vm1/, '/vms/{name}').replace(/\/checkpoints\/c1/, '/checkpoints/{checkpoint}');

  it('every documented operation is called', () => {
    const called = new Set(steps.map(([m, p]) => `${m} ${templateOf(p)}`));
    const documented = Object.entries(spec.paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m.toUpperCase()} ${p}`)).filter((o) => o !== 'GET /events');
    expect([...called].sort()).toEqual(documented.sort());
  });

  it('each answers a documented status with a body its schema allows', async () => {
    for (const [method, path, body, expected] of steps) {
      const b = body !== null && typeof body === 'object' && 'snapshot_path' in body ? { ...body, snapshot_path: join(dir, 'vm1.snap') } : body;
      const r = await call(method, path, b);
      const op = spec.paths[templateOf(path)][method.toLowerCase()];
      const doc = op.responses[String(r.status)];
      expect(doc, `${method} ${path}: ${r.status} is not documented (${r.text.slice(0, 200)})`).toBeDefined();
      if (expected !== undefined) {
        expect(r.status, `${method} ${path}: ${r.text.slice(0, 200)}`).toBe(expected);
        expect(check(JSON.parse(r.text), spec.components.responses.Fault.content['application/json'].schema)).toEqual([]);
        continue;
      }
      expect(r.status, `${method} ${path}: ${r.text.slice(0, 200)}`).toBeLessThan(300);
      const content = doc.content;
      if (content === undefined) { expect(r.text).toBe(''); continue; }
      const [type, { schema }] = Object.entries(content)[0];
      expect(r.type.startsWith(type === 'text/plain' ? 'text/plain' : type), `${method} ${path}: ${r.type}`).toBe(true);
      if (type === 'application/json') expect(check(JSON.parse(r.text), schema), `${method} ${path}`).toEqual([]);
    }
  }, 60_000);

  it('each documented error comes as a fault the schema allows', async () => {
    const fault = spec.components.responses.Fault.content['application/json'].schema;
    const errors: [string, string, unknown, number][] = [
      ['POST', '/vms', { name: 'x' }, 400],
      ['GET', '/vms/nope', undefined, 404],
      ['PATCH', '/vms/nope', { cpu: { weight: 2 } }, 404],
      ['DELETE', '/vms/nope', undefined, 404],
      ['POST', '/vms/nope/start', undefined, 404],
      ['POST', '/vms/nope/stop', undefined, 404],
      ['GET', '/vms/nope/measure', undefined, 404],
      ['GET', '/vms/nope/console', undefined, 404],
      ['GET', '/vms/nope/vm', undefined, 404],
      ['PATCH', '/vms/nope/vm', { state: 'Sleeping' }, 400],
      ['PUT', '/vms/nope/snapshot/create', { snapshot_path: '' }, 400],
      ['GET', '/vms/nope/checkpoints', undefined, 404],
      ['POST', '/vms/nope/checkpoints', { name: '../x' }, 400],
      ['DELETE', '/vms/nope/checkpoints/c1', undefined, 404],
      ['POST', '/vms/nope/checkpoints/c1/apply', undefined, 404],
      ['GET', '/vms/nope/metrics', undefined, 404],
    ];
    for (const [method, path, body, status] of errors) {
      const r = await call(method, path, body);
      expect([method, path, r.status]).toEqual([method, path, status]);
      const template = path.replace('/vms/nope', '/vms/{name}').replace('/checkpoints/c1', '/checkpoints/{checkpoint}');
      expect(spec.paths[template]?.[method.toLowerCase()]?.responses[String(status)], `${method} ${template} ${status} undocumented`).toBeDefined();
      expect(check(JSON.parse(r.text), fault)).toEqual([]);
    }
  });
});
