// A typed client of the host's API (host-api.ts, docs/HOST.md): what the
// `ringvisor vm` commands use, and what a script in Node can use. Every
// method is one request; an error status rejects with a HostApiError that
// carries it and the server's fault_message.
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { VmSummary, HostEvent } from './vm-host.js';
import type { VmMeasure } from './host-protocol.js';
import type { BalloonConfig, BalloonStatistics, CheckpointInfo, SnapshotResult, VmInfo } from '../hypervisor/control.js';
import { CONSOLE_PROTOCOL } from './host-api.js';

export class HostApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HostApiError';
  }
}

/** Where the host listens: its Unix socket, or TCP with its token. */
export type HostAddress = { socket: string } | { host: string; port: number; token: string };

// A connection per request: a kept-alive one could outlive the host that
// accepted it (a host restarted on the same socket), and a request sent on
// it would fail for nothing. A Unix socket's connection costs little.
const agent = new Agent({ keepAlive: false });

export class HostClient {
  constructor(readonly address: HostAddress) {}

  private options(method: string, path: string, headers: Record<string, string> = {}) {
    const a = this.address;
    return 'socket' in a
      ? { agent, socketPath: a.socket, method, path, headers }
      : { agent, host: a.host, port: a.port, method, path, headers: { ...headers, Authorization: `Bearer ${a.token}` } };
  }

  /** One request; the answer's body as text (JSON unless said otherwise). */
  async raw(method: string, path: string, body?: unknown): Promise<{ status: number; text: string; headers: IncomingMessage['headers'] }> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(this.options(method, path, text === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(text);
    });
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.raw(method, path, body);
    if (r.status >= 400) {
      let message = r.text;
      try { message = (JSON.parse(r.text) as { fault_message: string }).fault_message; } catch { /* not JSON */ }
      throw new HostApiError(r.status, message);
    }
    return (r.text === '' ? undefined : JSON.parse(r.text)) as T;
  }

  private vm(name: string, rest = ''): string {
    return `/vms/${encodeURIComponent(name)}${rest}`;
  }

  host(): Promise<{ vms: number; workers: number | null; memoryBudget: number | null; started: string }> { return this.json('GET', '/host'); }
  list(): Promise<VmSummary[]> { return this.json('GET', '/vms'); }
  create(config: Record<string, unknown>): Promise<VmSummary> { return this.json('POST', '/vms', config); }
  get(name: string): Promise<VmSummary> { return this.json('GET', this.vm(name)); }
  set(name: string, changes: Record<string, unknown>): Promise<VmSummary> { return this.json('PATCH', this.vm(name), changes); }
  remove(name: string): Promise<void> { return this.json('DELETE', this.vm(name)); }
  start(name: string): Promise<VmSummary> { return this.json('POST', this.vm(name, '/start')); }
  stop(name: string): Promise<VmSummary> { return this.json('POST', this.vm(name, '/stop')); }
  pause(name: string): Promise<void> { return this.json('PATCH', this.vm(name, '/vm'), { state: 'Paused' }); }
  resume(name: string): Promise<void> { return this.json('PATCH', this.vm(name, '/vm'), { state: 'Resumed' }); }
  info(name: string): Promise<VmInfo> { return this.json('GET', this.vm(name, '/vm')); }
  measure(name: string): Promise<VmMeasure> { return this.json('GET', this.vm(name, '/measure')); }
  vmMetrics(name: string): Promise<Record<string, unknown>> { return this.json('GET', this.vm(name, '/metrics')); }
  snapshot(name: string, path: string, type: 'Full' | 'Diff' = 'Full'): Promise<SnapshotResult> {
    return this.json('PUT', this.vm(name, '/snapshot/create'), { snapshot_path: path, snapshot_type: type });
  }
  checkpoints(name: string): Promise<CheckpointInfo[]> { return this.json('GET', this.vm(name, '/checkpoints')); }
  checkpoint(name: string, checkpoint: string): Promise<CheckpointInfo> { return this.json('POST', this.vm(name, '/checkpoints'), { name: checkpoint }); }
  restore(name: string, checkpoint: string): Promise<void> { return this.json('POST', this.vm(name, `/checkpoints/${encodeURIComponent(checkpoint)}/apply`)); }
  deleteCheckpoint(name: string, checkpoint: string): Promise<void> { return this.json('DELETE', this.vm(name, `/checkpoints/${encodeURIComponent(checkpoint)}`)); }
  balloon(name: string): Promise<BalloonConfig> { return this.json('GET', this.vm(name, '/balloon')); }
  setBalloon(name: string, amountMib: number): Promise<void> { return this.json('PATCH', this.vm(name, '/balloon'), { amount_mib: amountMib }); }
  balloonStatistics(name: string): Promise<BalloonStatistics> { return this.json('GET', this.vm(name, '/balloon/statistics')); }

  /** What a VM printed lately (its console's last 64 KiB). */
  async consoleLog(name: string): Promise<string> {
    const r = await this.raw('GET', this.vm(name, '/console'));
    if (r.status >= 400) throw new HostApiError(r.status, r.text);
    return r.text;
  }

  /** The whole host's figures, Prometheus' text format. */
  async metrics(): Promise<string> {
    const r = await this.raw('GET', '/metrics');
    if (r.status >= 400) throw new HostApiError(r.status, r.text);
    return r.text;
  }

  /** Follows the host's events until the returned function is called. */
  events(listener: (e: HostEvent) => void): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const req = request(this.options('GET', '/events'), (res) => {
        if ((res.statusCode ?? 0) >= 400) { reject(new HostApiError(res.statusCode ?? 0, 'cannot follow events')); res.resume(); return; }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const e = JSON.parse(line) as HostEvent | { event: 'following' };
            if (e.event === 'following') resolve(() => req.destroy());
            else listener(e);
          }
        });
        res.on('error', () => {});
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Attaches to a VM's console: the socket carries its output and takes input. */
  attach(name: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const req = request(this.options('GET', this.vm(name, '/console'), { Connection: 'Upgrade', Upgrade: CONSOLE_PROTOCOL }));
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let message = Buffer.concat(chunks).toString('utf8');
          try { message = (JSON.parse(message) as { fault_message: string }).fault_message; } catch { /* as it is */ }
          reject(new HostApiError(res.statusCode ?? 0, message));
        });
      });
      req.on('error', reject);
      req.end();
    });
  }
}
