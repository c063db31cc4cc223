// Fuzz target: what the host's API makes of a request before any VM is
// touched (src/node/host-api.ts's routes, src/hypervisor/host-config.ts's
// checks), on requests bent from valid ones: odd paths and names, JSON
// bodies with fields of every wrong type, edge numbers, paths that try to
// leave the state directory. The contract: a route either refuses with a
// Refusal or makes a call; a configuration is either refused with a
// HostConfigError or comes out whole: its name and paths valid, its
// numbers in range, its memory range ordered, and the same configuration
// again when read back from the JSON the host would write.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { hostRoute, type HostCall } from '../../src/node/host-api.js';
import { Refusal } from '../../src/node/api-server.js';
import { checkVmConfig, patchVmConfig, HostConfigError, isStatePath, isVmName, MAX_VM_MEMORY, MIN_VM_MEMORY, type VmConfig } from '../../src/hypervisor/host-config.js';
import { fuzz, budget, fuzzTimeout, describeFailures, type FuzzTarget, type NamedInput, type Rng } from './harness.js';

const corpusDir = fileURLToPath(new URL('./corpus/host-api/', import.meta.url));
const enc = new TextEncoder(), dec = new TextDecoder();

const CONFIGS: unknown[] = [
  { name: 'web', kind: 'process', process: { program: 'images/a.elf', args: ['x'], env: ['A=1'] }, memory: { startup: 16 << 20, minimum: 8 << 20, maximum: 64 << 20, buffer: 20 }, cpu: { weight: 200, reserve: 10, limit: 50 }, autostart: true },
  { name: 'linux', kind: 'system', system: { kernel: 'images/Image', initrd: 'images/i.gz', append: 'console=ttyS0', disk: 'd/disk.img', harts: 2, balloon: true }, clock: 'virtual' },
  { name: 'p', kind: 'process', process: { program: 'p' } },
];
const PATCHES: unknown[] = [{ cpu: { weight: 5 } }, { memory: { startup: 32 << 20 } }, { autostart: false, memory: { minimum: 1 << 20 } }];
const PATHS = ['/vms', '/vms/web', '/vms/web/start', '/vms/web/stop', '/vms/web/measure', '/vms/web/console', '/vms/web/vm', '/vms/web/snapshot/create',
  '/vms/web/checkpoints', '/vms/web/checkpoints/c1', '/vms/web/checkpoints/c1/apply', '/vms/web/metrics', '/metrics', '/events', '/host'];
const METHODS = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'];
const ODD_STRINGS = ['', '.', '..', '../x', '/etc/passwd', 'a/../b', 'a//b', 'a\0b', 'a\\b', 'x'.repeat(5000), '%2e%2e', 'Web', 'ok', 'images/a.elf', 'ü'];
const ODD_NUMBERS = [0, -1, 1, 4095, 4096, 1 << 20, (1 << 20) + 1, 4032 * 1048576, 4033 * 1048576, 2 ** 53, 1.5, NaN, 1e308, -0, 100, 101, 10000, 10001];

function oddValue(rng: Rng): unknown {
  switch (rng.int(7)) {
    case 0: return rng.pick(ODD_STRINGS);
    case 1: return rng.pick(ODD_NUMBERS);
    case 2: return rng.int(2) === 0;
    case 3: return null;
    case 4: return [rng.pick(ODD_STRINGS), rng.pick(ODD_NUMBERS)];
    case 5: return {};
    default: return { [rng.pick(['weight', 'program', 'startup', 'x'])]: rng.pick(ODD_NUMBERS) };
  }
}

// Bends one field somewhere in a JSON value (or adds, or removes one).
function bend(v: unknown, rng: Rng, depth = 0): unknown {
  if (v === null || typeof v !== 'object' || depth > 4) return oddValue(rng);
  if (Array.isArray(v)) {
    const a = v.slice();
    if (a.length === 0 || rng.int(4) === 0) a.push(oddValue(rng)); else { const i = rng.int(a.length); a[i] = bend(a[i], rng, depth + 1); }
    return a;
  }
  const o = { ...(v as Record<string, unknown>) };
  const keys = Object.keys(o);
  const r = rng.int(8);
  if (keys.length === 0 || r === 0) o[rng.pick(['name', 'kind', 'extra', 'memory', 'cpu', 'process', 'system', 'clock'])] = oddValue(rng);
  else if (r === 1) delete o[rng.pick(keys)];
  else { const k = rng.pick(keys); o[k] = bend(o[k], rng, depth + 1); }
  return o;
}

const request = (method: string, path: string, body: unknown) => enc.encode(`${method} ${path}\n${body === undefined ? '' : JSON.stringify(body)}`);

/** Problems of a configuration that passed the checks. */
function whole(c: VmConfig): string | undefined {
  if (!isVmName(c.name)) return `name ${JSON.stringify(c.name)} passed`;
  const paths = c.kind === 'process' ? [c.process?.program] : [c.system?.kernel, c.system?.initrd, c.system?.disk].filter((p) => p !== undefined);
  for (const p of paths) if (!isStatePath(p)) return `path ${JSON.stringify(p)} passed`;
  const m = c.memory;
  for (const [k, v] of Object.entries({ startup: m.startup, minimum: m.minimum, maximum: m.maximum })) {
    if (!Number.isSafeInteger(v) || v % 4096 !== 0 || v < MIN_VM_MEMORY || v > MAX_VM_MEMORY) return `memory.${k} ${v} passed`;
  }
  if (!(m.minimum <= m.startup && m.startup <= m.maximum)) return `memory range ${m.minimum}..${m.startup}..${m.maximum} passed`;
  if (!(c.cpu.weight >= 1 && c.cpu.weight <= 10000 && c.cpu.reserve >= 0 && c.cpu.reserve <= c.cpu.limit && c.cpu.limit <= 100)) return `cpu ${JSON.stringify(c.cpu)} passed`;
  if ((c.kind === 'process') !== (c.process !== undefined) || (c.kind === 'system') !== (c.system !== undefined)) return 'kind and spec disagree';
  const again = checkVmConfig(JSON.parse(JSON.stringify(c)));
  if (JSON.stringify(again) !== JSON.stringify(c)) return `read back differently: ${JSON.stringify(again)}`;
  return undefined;
}

function runOne(input: Uint8Array): string | undefined {
  const text = dec.decode(input);
  const nl = text.indexOf('\n');
  const [method, path] = (nl < 0 ? text : text.slice(0, nl)).split(' ');
  const bodyText = nl < 0 ? '' : text.slice(nl + 1);
  let body: unknown;
  if (bodyText !== '') {
    try { body = JSON.parse(bodyText); } catch { return undefined; } // (the server refuses it before the routes)
  }
  let call: HostCall;
  try {
    const route = hostRoute(path ?? '');
    const m = route?.methods[method ?? ''];
    if (!m) return undefined;
    call = m.call(body);
  } catch (e) {
    return e instanceof Refusal && e.status >= 400 && e.status < 500 ? undefined : `the route threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  try {
    if (call.op === 'create') return whole(checkVmConfig(call.config));
    if (call.op === 'patch') return whole(patchVmConfig(checkVmConfig(CONFIGS[0]), call.changes));
  } catch (e) {
    return e instanceof HostConfigError ? undefined : `a configuration check threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  return undefined;
}

export const hostApiTarget: FuzzTarget = {
  name: 'host-api',
  seeds: (): NamedInput[] => [
    ...CONFIGS.map((c, i) => ({ name: `create-${i}`, bytes: request('POST', '/vms', c) })),
    ...PATCHES.map((p, i) => ({ name: `patch-${i}`, bytes: request('PATCH', '/vms/web', p) })),
    ...PATHS.map((p, i) => ({ name: `path-${i}`, bytes: request('GET', p, undefined) })),
  ],
  generate: (rng: Rng): Uint8Array => {
    if (rng.int(3) === 0) return request(rng.pick(METHODS), rng.pick(PATHS).replace('web', rng.pick(ODD_STRINGS)), rng.int(2) ? oddValue(rng) : undefined);
    return rng.int(2) ? request('POST', '/vms', bend(rng.pick(CONFIGS), rng)) : request('PATCH', '/vms/web', bend(rng.pick(PATCHES), rng));
  },
  mutate: (input: Uint8Array, rng: Rng): Uint8Array => {
    const text = dec.decode(input);
    const nl = text.indexOf('\n');
    if (nl < 0) return input;
    try {
      return enc.encode(`${text.slice(0, nl)}\n${JSON.stringify(bend(JSON.parse(text.slice(nl + 1)), rng))}`);
    } catch {
      return input;
    }
  },
  run: runOne,
};

describe('fuzz: host API requests and VM configurations', () => {
  it('a refusal or a whole configuration that reads back the same; never anything else', () => {
    const report = fuzz(hostApiTarget, { ...budget(3000), corpusDir });
    console.log(`fuzz host-api: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s, seed ${JSON.stringify(report.seed)}`);
    if (report.failures.length) throw new Error(describeFailures(report));
    if (process.env.RINGVISOR_FUZZ_REPLAY === undefined) expect(report.iterations).toBeGreaterThan(0);
  }, fuzzTimeout());
});
