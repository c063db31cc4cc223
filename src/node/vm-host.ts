// `ringvisor host`: the parent partition of many VMs. It keeps their
// configurations in a state directory (one directory per VM: config.json,
// written atomically, its files, its checkpoint tree), runs them in a pool
// of worker threads (host-worker.ts), and speaks for them: the API
// (host-api.ts), metering, events, consoles, and Dynamic Memory
// (hypervisor/balancer.ts). The host's own thread runs no guest code, so a
// guest that loops, crashes its VM or fills its memory cannot stall the
// API; docs/HOST.md says why workers and how VMs are placed on them.
import { Worker } from 'node:worker_threads';
import { availableParallelism, freemem } from 'node:os';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join, sep } from 'node:path';
import { checkVmConfig, patchVmConfig, HostConfigError, isVmName, type VmConfig } from '../hypervisor/host-config.js';
import { balance } from '../hypervisor/balancer.js';
import { ControlError } from '../hypervisor/control.js';
import type { VmCall } from './api-server.js';
import type { FromWorker, StartVm, ToWorker, VmMeasure } from './host-protocol.js';

/** Where a VM is, as the host sees it. `Off`: configured, not running
 *  (`lastExit` says how it last ended); `Crashed`: ring -1 failed under it
 *  (its worker, or the VM's own code), and it is off. */
export type HostVmState = 'Off' | 'Starting' | 'Running' | 'Paused' | 'Stopping' | 'Crashed';

export interface VmSummary {
  name: string;
  kind: 'process' | 'system';
  state: HostVmState;
  config: VmConfig;
  /** The worker thread it runs on (an index), while it runs. */
  worker: number | null;
  /** When it last started, ISO 8601. */
  startedAt: string | null;
  lastExit: { status?: number; message?: string; at: string } | null;
}

export type HostEventKind = 'created' | 'changed' | 'started' | 'paused' | 'resumed' | 'stopped' | 'crashed' | 'checkpointed' | 'removed' | 'memory';

export interface HostEvent {
  time: string;
  vm: string;
  event: HostEventKind;
  detail?: Record<string, unknown>;
}

export interface HostOptions {
  /** The state directory (made if missing). */
  stateDir: string;
  /** Worker threads (default: the host's cores). */
  workers?: number;
  /** Memory the balancer may give all running VMs together, in bytes
   *  (default: none; then every VM keeps its startup memory). */
  memoryBudget?: number;
  /** How often the balancer and the memory samples run, in ms (default 2000). */
  balanceMs?: number;
  log?: (line: string) => void;
  /** The worker's code (default: host-worker.js beside this module; tests
   *  running the sources pass the built one). */
  workerScript?: URL;
}

/** Bytes of console output a VM keeps for clients that attach later. */
const CONSOLE_HISTORY = 64 * 1024;

interface VmRecord {
  config: VmConfig;
  state: HostVmState;
  worker: PoolWorker | undefined;
  startedAt: string | null;
  lastExit: VmSummary['lastExit'];
  console: Uint8Array[];
  consoleBytes: number;
  listeners: Set<(bytes: Uint8Array) => void>;
  /** Waiting for the VM's start or stop to be reported. */
  waiters: ((e: FromWorker & { type: 'event' }) => void)[];
  /** The balancer's last target (bytes). */
  memoryTarget: number;
  lastMeasure: VmMeasure | undefined;
}

interface PoolWorker {
  index: number;
  worker: Worker;
  vms: Set<string>;
  replies: Map<number, (m: FromWorker) => void>;
  alive: boolean;
}

export class VmHost {
  private readonly vms = new Map<string, VmRecord>();
  private readonly pool: (PoolWorker | undefined)[];
  private readonly eventListeners = new Set<(e: HostEvent) => void>();
  private seq = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  private closed = false;
  readonly stateDir: string;
  private readonly realState: string;
  private readonly log: (line: string) => void;
  /** Figures of the host for /metrics. */
  readonly started = Date.now();
  private apiRequests = 0;

  private constructor(readonly options: HostOptions) {
    this.stateDir = options.stateDir;
    mkdirSync(join(this.stateDir, 'vms'), { recursive: true, mode: 0o700 });
    this.realState = realpathSync(this.stateDir);
    this.log = options.log ?? ((l) => console.error(l));
    const n = options.workers ?? availableParallelism();
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`workers must be 1 to 256, not ${n}`);
    this.pool = Array.from({ length: n }, () => undefined);
    this.timer = setInterval(() => void this.tick(), options.balanceMs ?? 2000);
    this.timer.unref();
  }

  /** Opens a host on its state directory: the configurations found there
   *  come back (a bad one is logged and left out), and the VMs marked
   *  autostart are started (in the background: their state says when). */
  static async open(options: HostOptions): Promise<VmHost> {
    const host = new VmHost(options);
    const dir = join(host.stateDir, 'vms');
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name, 'config.json');
      if (!isVmName(name) || !existsSync(file)) continue;
      try {
        const config = checkVmConfig(JSON.parse(readFileSync(file, 'utf8')));
        if (config.name !== name) throw new HostConfigError('name', `is ${config.name}, in the directory of ${name}`);
        host.vms.set(name, host.record(config));
      } catch (e) {
        host.log(`ringvisor host: ${file}: left out: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    // Started beside the API, not before it: a client may follow them.
    for (const r of host.vms.values()) {
      if (!r.config.autostart) continue;
      host.start(r.config.name).catch((e: unknown) => {
        host.log(`ringvisor host: autostart of ${r.config.name} failed: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
    return host;
  }

  private record(config: VmConfig): VmRecord {
    return {
      config, state: 'Off', worker: undefined, startedAt: null, lastExit: null, console: [], consoleBytes: 0,
      listeners: new Set(), waiters: [], memoryTarget: config.memory.startup, lastMeasure: undefined,
    };
  }

  // ---- configurations ----

  list(): VmSummary[] {
    return [...this.vms.values()].sort((a, b) => (a.config.name < b.config.name ? -1 : 1)).map((r) => this.summary(r));
  }

  get(name: string): VmSummary {
    return this.summary(this.find(name));
  }

  private find(name: string): VmRecord {
    const r = this.vms.get(name);
    if (!r) throw new ControlError(404, `no VM named ${JSON.stringify(name)}`);
    return r;
  }

  private summary(r: VmRecord): VmSummary {
    return { name: r.config.name, kind: r.config.kind, state: r.state, config: r.config, worker: r.worker?.index ?? null, startedAt: r.startedAt, lastExit: r.lastExit };
  }

  /** New-VM: a configuration (checked) saved in the state directory. */
  create(json: unknown): VmSummary {
    const config = this.checked(() => checkVmConfig(json));
    if (this.vms.has(config.name)) throw new ControlError(409, `a VM named ${config.name} exists`);
    this.pathsOf(config, false); // (paths that lead out are refused now)
    mkdirSync(join(this.vmDir(config.name), 'files'), { recursive: true, mode: 0o700 });
    this.saveConfig(config);
    const r = this.record(config);
    this.vms.set(config.name, r);
    this.emit(config.name, 'created');
    return this.summary(r);
  }

  /** Set-VM: CPU settings apply at once to a running VM; memory startup
   *  at its next start; the balancer's range at once. */
  patch(name: string, json: unknown): VmSummary {
    const r = this.find(name);
    const next = this.checked(() => patchVmConfig(r.config, json));
    this.saveConfig(next);
    r.config = next;
    if (r.worker) this.send(r.worker, { type: 'cpu', name, cpu: next.cpu });
    this.emit(name, 'changed');
    return this.summary(r);
  }

  /** Remove-VM: only when it is off; its directory (files, checkpoints) goes. */
  remove(name: string): void {
    const r = this.find(name);
    if (r.state !== 'Off' && r.state !== 'Crashed') throw new ControlError(409, `VM ${name} is ${r.state}: stop it first`);
    this.vms.delete(name);
    rmSync(this.vmDir(name), { recursive: true, force: true });
    this.emit(name, 'removed');
  }

  private checked<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof HostConfigError) throw new ControlError(400, e.message);
      throw e;
    }
  }

  private vmDir(name: string): string {
    return join(this.stateDir, 'vms', name);
  }

  // Written whole or not at all: a temporary file, synced, renamed over
  // the old one, and the directory synced.
  private saveConfig(config: VmConfig): void {
    const dir = this.vmDir(config.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.config.json.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(config, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, 'config.json'));
    const d = openSync(dir, 'r');
    try { fsyncSync(d); } finally { closeSync(d); }
  }

  /** The host paths of a configuration's files, each confined to the state
   *  directory (symbolic links followed: one that leads out is refused).
   *  With `mustExist`, a missing file is refused too. */
  private pathsOf(config: VmConfig, mustExist: boolean): StartVm['paths'] {
    const rel: StartVm['paths'] = config.kind === 'process'
      ? { program: config.process!.program }
      : { kernel: config.system!.kernel, initrd: config.system!.initrd, disk: config.system!.disk };
    return Object.fromEntries(Object.entries(rel).filter(([, p]) => p !== undefined).map(([k, p]) => [k, this.confined(p!, mustExist)]));
  }

  private confined(rel: string, mustExist: boolean): string {
    const path = join(this.stateDir, rel);
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      if (mustExist) throw new ControlError(409, `${rel}: no such file in the state directory`);
      return path;
    }
    if (real !== this.realState && !real.startsWith(this.realState + sep)) throw new ControlError(400, `${rel} leads out of the state directory`);
    if (mustExist && !statSync(real).isFile()) throw new ControlError(409, `${rel}: not a regular file`);
    return real;
  }

  // ---- running ----

  /** Start-VM: resolves once it runs (or rejects with why it could not). */
  async start(name: string): Promise<VmSummary> {
    const r = this.find(name);
    if (r.state !== 'Off' && r.state !== 'Crashed') throw new ControlError(409, `VM ${name} is ${r.state}`);
    const c = r.config;
    const paths = this.pathsOf(c, true);
    const w = this.place(c);
    r.state = 'Starting';
    r.worker = w;
    r.console = [];
    r.consoleBytes = 0;
    r.memoryTarget = c.memory.startup;
    w.vms.add(name);
    const reported = this.waitEvent(r);
    this.send(w, { type: 'start', config: c, dir: this.vmDir(name), paths });
    const e = await reported;
    if (e.event === 'crashed') throw new ControlError(409, `VM ${name} could not start: ${String(e.detail?.message ?? 'unknown')}`);
    return this.summary(r);
  }

  /** Stop-VM (turn off): resolves once it has stopped. */
  async stop(name: string): Promise<VmSummary> {
    const r = this.find(name);
    if (r.state === 'Off' || r.state === 'Crashed') throw new ControlError(409, `VM ${name} is not running`);
    if (r.state === 'Starting') await this.waitEvent(r);
    if (r.worker === undefined) return this.summary(r);
    r.state = 'Stopping';
    const stopped = this.waitEvent(r);
    await this.request(r.worker, (seq) => ({ type: 'stop', name, seq }));
    await stopped;
    return this.summary(r);
  }

  /** A control API call of a running VM (its worker answers). */
  async call(name: string, call: VmCall): Promise<[number, unknown]> {
    const r = this.find(name);
    if (!r.worker || r.state === 'Starting') throw new ControlError(409, `VM ${name} is ${r.state}: it is not running`);
    const m = await this.request(r.worker, (seq) => ({ type: 'call', name, seq, call }));
    if (m.type !== 'reply') throw new Error('worker answered a call with something else');
    if (!m.ok) throw new ControlError(m.status, m.message);
    const { status, value } = m.value as { status: number; value: unknown };
    return [status, value === null ? undefined : value];
  }

  /** Bytes typed at a VM's console. */
  input(name: string, bytes: Uint8Array): void {
    const r = this.find(name);
    if (!r.worker) throw new ControlError(409, `VM ${name} is not running`);
    this.send(r.worker, { type: 'input', name, bytes });
  }

  /** Follows a VM's console: what it printed lately, then what it prints. */
  attach(name: string, listener: (bytes: Uint8Array) => void): () => void {
    const r = this.find(name);
    for (const b of r.console) listener(b);
    r.listeners.add(listener);
    return () => r.listeners.delete(listener);
  }

  /** Measure-VM: the latest figures of a running VM. */
  async measure(name: string): Promise<VmMeasure> {
    const r = this.find(name);
    if (r.worker) await this.measureWorker(r.worker);
    if (!r.lastMeasure) throw new ControlError(409, `VM ${name} has never run`);
    return r.lastMeasure;
  }

  private async measureWorker(w: PoolWorker): Promise<void> {
    const m = await this.request(w, (seq) => ({ type: 'measure', seq }));
    if (m.type !== 'measures') return;
    for (const v of m.vms) {
      const r = this.vms.get(v.name);
      if (r) r.lastMeasure = v;
    }
  }

  // ---- events ----

  /** Follows the host's events (VM created, started, stopped, crashed...). */
  subscribe(listener: (e: HostEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private emit(vm: string, event: HostEventKind, detail?: Record<string, unknown>): void {
    const e: HostEvent = { time: new Date().toISOString(), vm, event, ...(detail ? { detail } : {}) };
    for (const l of this.eventListeners) l(e);
  }

  // ---- workers ----

  // The worker for a new VM: the one with the least weight among those
  // whose reserves leave room for its reserve (Hyper-V refuses a start
  // that cannot have its reserve).
  private place(c: VmConfig): PoolWorker {
    let best: { i: number; weight: number } | undefined;
    for (let i = 0; i < this.pool.length; i++) {
      const w = this.pool[i];
      const names = w?.alive ? [...w.vms] : [];
      const configs = names.map((n) => this.vms.get(n)?.config).filter((x): x is VmConfig => x !== undefined);
      const reserved = configs.reduce((a, x) => a + x.cpu.reserve, 0);
      if (reserved + c.cpu.reserve > 100) continue;
      const weight = configs.reduce((a, x) => a + x.cpu.weight, 0);
      if (!best || weight < best.weight) best = { i, weight };
    }
    if (!best) throw new ControlError(409, `no worker has ${c.cpu.reserve}% of a core left to reserve for VM ${c.name}`);
    const existing = this.pool[best.i];
    if (existing?.alive) return existing;
    return (this.pool[best.i] = this.spawn(best.i));
  }

  private spawn(index: number): PoolWorker {
    // The worker runs the compiled module beside this one (dist/node/).
    const worker = new Worker(this.options.workerScript ?? new URL('./host-worker.js', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: 4096 } });
    const w: PoolWorker = { index, worker, vms: new Set(), replies: new Map(), alive: true };
    worker.on('message', (m: FromWorker) => this.fromWorker(w, m));
    worker.on('error', (e) => this.log(`ringvisor host: worker ${index}: ${e.stack ?? e.message}`));
    worker.on('exit', (code) => this.workerGone(w, code));
    worker.unref();
    return w;
  }

  private workerGone(w: PoolWorker, code: number): void {
    w.alive = false;
    if (this.pool[w.index] === w) this.pool[w.index] = undefined;
    for (const [, reply] of w.replies) reply({ type: 'reply', seq: -1, ok: false, status: 503, message: `the VM's worker thread ended (exit code ${code})` });
    w.replies.clear();
    for (const name of w.vms) {
      const r = this.vms.get(name);
      if (!r || r.worker !== w) continue;
      this.ended(r, 'crashed', { message: `its worker thread ended (exit code ${code})` });
    }
    w.vms.clear();
  }

  private fromWorker(w: PoolWorker, m: FromWorker): void {
    switch (m.type) {
      case 'reply':
      case 'measures': {
        const reply = w.replies.get(m.seq);
        w.replies.delete(m.seq);
        reply?.(m);
        return;
      }
      case 'console': {
        const r = this.vms.get(m.name);
        if (!r) return;
        r.console.push(m.bytes);
        r.consoleBytes += m.bytes.length;
        while (r.consoleBytes > CONSOLE_HISTORY && r.console.length > 1) r.consoleBytes -= r.console.shift()!.length;
        for (const l of r.listeners) l(m.bytes);
        return;
      }
      case 'event': {
        const r = this.vms.get(m.name);
        if (!r) return;
        if (m.event === 'started') {
          r.state = 'Running';
          r.startedAt = new Date().toISOString();
        } else if (m.event === 'paused') r.state = 'Paused';
        else if (m.event === 'resumed') r.state = 'Running';
        if (m.event === 'stopped' || m.event === 'crashed') {
          w.vms.delete(m.name);
          this.ended(r, m.event, m.detail);
          return;
        }
        for (const f of r.waiters.splice(0)) f(m);
        this.emit(m.name, m.event, m.detail);
      }
    }
  }

  private ended(r: VmRecord, how: 'stopped' | 'crashed', detail?: Record<string, unknown>): void {
    // Its last figures come with the news (Measure-VM of a VM that has ended).
    if (detail?.measure !== undefined) {
      r.lastMeasure = detail.measure as VmMeasure;
      const { measure: _measure, ...rest } = detail;
      detail = rest;
    }
    r.state = how === 'crashed' ? 'Crashed' : 'Off';
    r.worker = undefined;
    r.lastExit = { ...(typeof detail?.status === 'number' ? { status: detail.status } : {}), ...(typeof detail?.message === 'string' ? { message: detail.message } : {}), at: new Date().toISOString() };
    for (const f of r.waiters.splice(0)) f({ type: 'event', name: r.config.name, event: how, detail });
    this.emit(r.config.name, how, detail);
  }

  private waitEvent(r: VmRecord): Promise<FromWorker & { type: 'event' }> {
    return new Promise((resolve) => r.waiters.push(resolve));
  }

  private send(w: PoolWorker, m: ToWorker): void {
    if (w.alive) w.worker.postMessage(m);
  }

  private request(w: PoolWorker, make: (seq: number) => ToWorker): Promise<FromWorker> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      if (!w.alive) { resolve({ type: 'reply', seq, ok: false, status: 503, message: 'the VM\'s worker thread has ended' }); return; }
      w.replies.set(seq, resolve);
      w.worker.postMessage(make(seq));
    });
  }

  // ---- metering and Dynamic Memory ----

  /** Fresh figures from every worker that runs VMs. */
  private measureAll(): Promise<unknown> {
    return Promise.all(this.pool.filter((w): w is PoolWorker => w?.alive === true && w.vms.size > 0).map((w) => this.measureWorker(w)));
  }

  // Every balanceMs: fresh figures, then the balancer.
  private async tick(): Promise<void> {
    if (this.closed) return;
    await this.measureAll();
    const budget = this.options.memoryBudget;
    if (budget === undefined) return;
    const running = [...this.vms.values()].filter((r) => r.worker && r.lastMeasure && r.lastMeasure.state !== 'Stopped');
    const result = balance(running.map((r) => ({
      name: r.config.name, demand: r.lastMeasure!.memory.demand,
      minimum: r.config.memory.minimum, maximum: r.config.memory.maximum, buffer: r.config.memory.buffer,
    })), budget);
    for (const r of running) {
      const t = result.targets.get(r.config.name)!;
      if (t === r.memoryTarget) continue;
      const from = r.memoryTarget;
      r.memoryTarget = t;
      this.send(r.worker!, { type: 'memory', name: r.config.name, bytes: t });
      this.emit(r.config.name, 'memory', { from, to: t, fits: result.fits });
    }
  }

  /** The memory the balancer gives a VM now (bytes). */
  memoryTarget(name: string): number {
    return this.find(name).memoryTarget;
  }

  /** Counts an API request (for /metrics). */
  countRequest(): void {
    this.apiRequests++;
  }

  /** The whole host's figures in Prometheus' text format (version 0.0.4). */
  async prometheus(): Promise<string> {
    await this.measureAll();
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, rows: [Record<string, string>, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) {
        const l = Object.entries(labels).map(([k, x]) => `${k}="${x.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
        lines.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(v) ? v : 0}`);
      }
    };
    const rs = [...this.vms.values()];
    const measured = rs.filter((r) => r.lastMeasure !== undefined);
    const per = (f: (m: VmMeasure) => number): [Record<string, string>, number][] => measured.map((r) => [{ vm: r.config.name }, f(r.lastMeasure!)]);
    metric('ringvisor_host_vms', 'gauge', 'VMs configured in the host, by state.',
      (['Off', 'Starting', 'Running', 'Paused', 'Stopping', 'Crashed'] as HostVmState[]).map((s) => [{ state: s }, rs.filter((r) => r.state === s).length]));
    metric('ringvisor_host_workers', 'gauge', 'Worker threads running VMs.', [[{}, this.pool.filter((w) => w?.alive).length]]);
    metric('ringvisor_host_resident_memory_bytes', 'gauge', 'The host process\'s resident memory.', [[{}, process.memoryUsage().rss]]);
    metric('ringvisor_host_free_memory_bytes', 'gauge', 'The machine\'s free memory.', [[{}, freemem()]]);
    metric('ringvisor_host_api_requests_total', 'counter', 'API requests served.', [[{}, this.apiRequests]]);
    metric('ringvisor_vm_up', 'gauge', 'Whether the VM runs (1) or not (0).', rs.map((r) => [{ vm: r.config.name, kind: r.config.kind }, r.worker ? 1 : 0]));
    metric('ringvisor_vm_instructions_total', 'counter', 'Guest instructions retired.', per((m) => Number(m.instructions)));
    metric('ringvisor_vm_cpu_seconds_total', 'counter', 'Host CPU time the VM\'s slices took.', per((m) => m.cpuSeconds));
    metric('ringvisor_vm_exits_total', 'counter', 'Exits to ring -1, by reason.', measured.flatMap((r) => Object.entries(r.lastMeasure!.exits).map(([reason, n]): [Record<string, string>, number] => [{ vm: r.config.name, reason }, n])));
    metric('ringvisor_vm_memory_bytes', 'gauge', 'Memory the guest holds now.', per((m) => m.memory.bytes));
    metric('ringvisor_vm_memory_average_bytes', 'gauge', 'Average memory held since the VM started (sampled each second).', per((m) => m.memory.average));
    metric('ringvisor_vm_memory_minimum_bytes', 'gauge', 'Least memory held since the VM started.', per((m) => m.memory.minimum));
    metric('ringvisor_vm_memory_maximum_bytes', 'gauge', 'Most memory held since the VM started.', per((m) => m.memory.maximum));
    metric('ringvisor_vm_memory_target_bytes', 'gauge', 'Memory the balancer gives the VM.', rs.filter((r) => r.worker).map((r) => [{ vm: r.config.name }, r.memoryTarget]));
    metric('ringvisor_vm_disk_read_bytes_total', 'counter', 'Bytes read from the VM\'s disk.', per((m) => m.disk.readBytes));
    metric('ringvisor_vm_disk_written_bytes_total', 'counter', 'Bytes written to the VM\'s disk.', per((m) => m.disk.writtenBytes));
    metric('ringvisor_vm_disk_reads_total', 'counter', 'Read operations on the VM\'s disk.', per((m) => m.disk.reads));
    metric('ringvisor_vm_disk_writes_total', 'counter', 'Write operations on the VM\'s disk.', per((m) => m.disk.writes));
    metric('ringvisor_vm_console_out_bytes_total', 'counter', 'Bytes the guest wrote to its console.', per((m) => m.console.bytesOut));
    metric('ringvisor_vm_console_in_bytes_total', 'counter', 'Bytes typed at the guest\'s console.', per((m) => m.console.bytesIn));
    return `${lines.join('\n')}\n`;
  }

  /** Stops every VM (halted) and the workers; the configurations stay. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // (Workers do not keep the process alive while it serves; until their
    // VMs have stopped, they must.)
    for (const w of this.pool) if (w?.alive) w.worker.ref();
    await Promise.all([...this.vms.values()].filter((r) => r.worker).map((r) => this.stop(r.config.name).catch(() => undefined)));
    await Promise.all(this.pool.filter((w): w is PoolWorker => w !== undefined).map((w) => w.worker.terminate()));
  }
}
