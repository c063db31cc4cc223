// The host's API (`ringvisor host --api PATH`, docs/HOST.md, docs/openapi.json):
// the VM API of docs/API.md one level up, under /vms/{name}, plus the host's
// own resources: the VMs' configurations (/vms), starting and stopping,
// Measure-VM, consoles, Prometheus' /metrics and a stream of events. The
// rules a request must pass are api-server.ts's; calls of one VM run one at
// a time, calls of different VMs side by side, so a VM that is slow to
// answer (a big checkpoint) holds up only its own requests.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Refusal, vmRoute, type Answer, type ApiRoutes, type Route, type VmCall } from './api-server.js';
import { isVmName } from '../hypervisor/host-config.js';
import { ControlError } from '../hypervisor/control.js';
import type { VmHost } from './vm-host.js';

/** A host API request that passed every check. */
export type HostCall =
  | { op: 'host' }
  | { op: 'list' }
  | { op: 'create'; config: unknown }
  | { op: 'get'; name: string }
  | { op: 'patch'; name: string; changes: unknown }
  | { op: 'remove'; name: string }
  | { op: 'start'; name: string }
  | { op: 'stop'; name: string }
  | { op: 'measure'; name: string }
  | { op: 'console'; name: string }
  | { op: 'metrics' }
  | { op: 'events' }
  | { op: 'vm'; name: string; call: VmCall };

/** The protocol name a console attach upgrades to. */
export const CONSOLE_PROTOCOL = 'ringvisor-console';

export function hostRoutes(host: VmHost): ApiRoutes<HostCall> {
  // A stream of events holds its queue while it lasts: each has its own.
  let streams = 0;
  return {
    route: hostRoute,
    queue: (c) => ('name' in c ? `vm:${c.name}` : c.op === 'events' ? `events:${++streams}` : 'host'),
    ask: (c) => { host.countRequest(); return askHost(host, c); },
    upgrade: (path, req, socket, head) => attachConsole(host, path, req, socket, head),
  };
}

const noBody = <C>(call: () => C) => ({ body: false, call: () => call() });

function vmName(encoded: string): string {
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    throw new Refusal(400, `bad percent-encoding in VM name ${JSON.stringify(encoded)}`);
  }
  if (!isVmName(name)) throw new Refusal(400, `bad VM name ${JSON.stringify(name)}: 1..63 characters of a-z 0-9 . _ -, starting with a letter or digit`);
  return name;
}

export function hostRoute(path: string): Route<HostCall> | undefined {
  switch (path) {
    case '/host': return { methods: { GET: noBody(() => ({ op: 'host' })) } };
    case '/vms': return { methods: { GET: noBody(() => ({ op: 'list' })), POST: { body: true, call: (b) => ({ op: 'create', config: b }) } } };
    case '/metrics': return { methods: { GET: noBody(() => ({ op: 'metrics' })) } };
    case '/events': return { methods: { GET: noBody(() => ({ op: 'events' })) } };
  }
  const m = /^\/vms\/([^/]+)(\/.*)?$/.exec(path);
  if (!m) return undefined;
  const name = () => vmName(m[1]);
  const rest = m[2] ?? '';
  switch (rest) {
    case '': return {
      methods: {
        GET: noBody(() => ({ op: 'get', name: name() })),
        PATCH: { body: true, call: (b) => ({ op: 'patch', name: name(), changes: b }) },
        DELETE: noBody(() => ({ op: 'remove', name: name() })),
      },
    };
    case '/start': return { methods: { POST: noBody(() => ({ op: 'start', name: name() })) } };
    case '/stop': return { methods: { POST: noBody(() => ({ op: 'stop', name: name() })) } };
    case '/measure': return { methods: { GET: noBody(() => ({ op: 'measure', name: name() })) } };
    case '/console': return { methods: { GET: noBody(() => ({ op: 'console', name: name() })) } };
  }
  // The VM's own API (docs/API.md), under its name.
  const inner = vmRoute(rest);
  if (!inner) return undefined;
  return {
    methods: Object.fromEntries(Object.entries(inner.methods).map(([method, h]) => [method, {
      body: h.body,
      call: (b: unknown): HostCall => { const n = name(); return { op: 'vm', name: n, call: h.call(b) }; },
    }])),
  };
}

async function askHost(host: VmHost, c: HostCall): Promise<Answer> {
  switch (c.op) {
    case 'host': return [200, { vms: host.list().length, workers: host.options.workers ?? null, memoryBudget: host.options.memoryBudget ?? null, started: new Date(host.started).toISOString() }];
    case 'list': return [200, host.list()];
    case 'create': return [201, host.create(c.config)];
    case 'get': return [200, host.get(c.name)];
    case 'patch': return [200, host.patch(c.name, c.changes)];
    case 'remove': host.remove(c.name); return [204, undefined];
    case 'start': return [200, await host.start(c.name)];
    case 'stop': return [200, await host.stop(c.name)];
    case 'measure': return [200, await host.measure(c.name)];
    case 'console': {
      const chunks: Uint8Array[] = [];
      host.attach(c.name, (b) => chunks.push(b))();
      return { status: 200, contentType: 'text/plain; charset=latin1', text: Buffer.concat(chunks).toString('latin1') };
    }
    case 'metrics': return { status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', text: await host.prometheus() };
    case 'events': return {
      status: 200, contentType: 'application/x-ndjson',
      stream: (write, onClose) => {
        const off = host.subscribe((e) => { write(`${JSON.stringify(e)}\n`); });
        onClose(off);
        // A first line at once, so that a client knows it is following.
        write(`${JSON.stringify({ time: new Date().toISOString(), vm: null, event: 'following' })}\n`);
      },
    };
    case 'vm': return host.call(c.name, c.call);
  }
}

// `GET /vms/{name}/console` with `Upgrade: ringvisor-console`: after the 101
// the connection is the console both ways (what it printed lately first),
// until either side closes it; the VM runs on.
function attachConsole(host: VmHost, path: string, req: IncomingMessage, socket: Socket, head: Buffer): boolean {
  const m = /^\/vms\/([^/]+)\/console$/.exec(path);
  if (!m || req.method !== 'GET') return false;
  if ((req.headers.upgrade ?? '').toLowerCase() !== CONSOLE_PROTOCOL) throw new Refusal(400, `upgrade to ${CONSOLE_PROTOCOL}`);
  const name = vmName(m[1]);
  const vm = host.get(name);
  if (vm.state !== 'Running' && vm.state !== 'Paused') throw new ControlError(409, `VM ${name} is ${vm.state}: no console to attach to`);
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${CONSOLE_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`);
  const detach = host.attach(name, (b) => { if (!socket.destroyed) socket.write(b); });
  const onData = (b: Buffer) => {
    try { host.input(name, new Uint8Array(b)); } catch { socket.end(); }
  };
  if (head.length > 0) onData(head);
  socket.on('data', onData);
  const done = () => detach();
  socket.once('close', done);
  // The client is done sending: so is this side (it detaches).
  socket.once('end', () => socket.end());
  const offEvents = host.subscribe((e) => { if (e.vm === name && (e.event === 'stopped' || e.event === 'crashed')) { offEvents(); socket.end(); } });
  socket.once('close', offEvents);
  return true;
}

