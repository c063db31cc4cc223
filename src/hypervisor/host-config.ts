// A VM's configuration in a host (`ringvisor host`, src/node/vm-host.ts):
// what it runs and the resources it may use, in Hyper-V's terms (CPU weight,
// reserve and limit; memory startup, minimum, maximum and buffer). Checked
// here, one way, for the API, the command line and the files of the state
// directory alike: a bad value is a HostConfigError naming the field, never
// a VM that fails later. Paths are relative to the host's state directory
// and may not leave it (the host checks again, with the file system, when it
// opens them). No Node import.

/** Why a configuration was refused: `field` is its path, like `cpu.limit`. */
export class HostConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'HostConfigError';
  }
}

/** Hyper-V's processor settings: `weight` 1..10000 (relative share when
 *  VMs compete, default 100), `reserve` and `limit` in percent of one host
 *  core (what the VM is guaranteed at least / may use at most). */
export interface CpuResources { weight: number; reserve: number; limit: number }

/** Hyper-V's memory settings, in bytes: `startup` (what the VM starts with:
 *  a system VM's RAM, a process VM's limit), `minimum` and `maximum` (what
 *  the balancer may move it between), `buffer` (percent kept free above what
 *  the guest uses). */
export interface MemoryResources { startup: number; minimum: number; maximum: number; buffer: number }

export interface ProcessSpec {
  /** The program, relative to the state directory. */
  program: string;
  args: string[];
  env: string[];
}

export interface SystemSpec {
  /** The kernel, relative to the state directory. */
  kernel: string;
  initrd?: string;
  append?: string;
  /** A disk image, relative to the state directory. */
  disk?: string;
  harts: number;
  /** The virtio-balloon device, for the balancer (Dynamic Memory). */
  balloon: boolean;
}

export interface VmConfig {
  /** The VM's name: its id in the API and its directory in the state directory. */
  name: string;
  kind: 'process' | 'system';
  process?: ProcessSpec;
  system?: SystemSpec;
  clock: 'host' | 'virtual';
  cpu: CpuResources;
  memory: MemoryResources;
  /** Start it when the host starts. */
  autostart: boolean;
}

const MiB = 1024 * 1024;
const PAGE = 4096;
/** A VM's RAM: a WebAssembly memory holds at most 4 GiB, with the CPU's state beside it. */
export const MAX_VM_MEMORY = 4032 * MiB;
export const MIN_VM_MEMORY = MiB;
const MAX_ARGS = 256, MAX_ARG = 4096, MAX_PATH = 1024, MAX_APPEND = 2048;

/** A VM's name: 1..63 of a-z 0-9 . _ -, starting with a letter or digit. */
export function isVmName(name: unknown): name is string {
  return typeof name === 'string' && /^[a-z0-9][a-z0-9._-]{0,62}$/.test(name);
}

/** Whether `p` is a path inside the state directory, written plainly:
 *  relative, no empty, `.` or `..` part, no NUL or backslash. */
export function isStatePath(p: unknown): p is string {
  if (typeof p !== 'string' || p.length === 0 || p.length > MAX_PATH || p.startsWith('/')) return false;
  if (p.includes('\0') || p.includes('\\')) return false;
  return p.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

type Json = Record<string, unknown>;

function object(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HostConfigError(field, 'must be a JSON object');
  return v as Json;
}

function only(o: Json, field: string, allowed: string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new HostConfigError(field === '' ? k : `${field}.${k}`, `unknown field (${field || 'a VM'} takes ${allowed.join(', ')})`);
  }
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new HostConfigError(field, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  return v;
}

function bytes(v: unknown, field: string): number {
  const n = int(v, field, MIN_VM_MEMORY, MAX_VM_MEMORY);
  if (n % PAGE !== 0) throw new HostConfigError(field, `must be a whole number of 4 KiB pages, not ${n}`);
  return n;
}

function statePath(v: unknown, field: string): string {
  if (!isStatePath(v)) throw new HostConfigError(field, `must be a path inside the state directory (relative, no '..', '.' or empty parts), not ${JSON.stringify(v)}`);
  return v;
}

function strings(v: unknown, field: string, max: number): string[] {
  if (!Array.isArray(v) || v.length > MAX_ARGS) throw new HostConfigError(field, `must be a list of at most ${MAX_ARGS} strings`);
  return v.map((s, i) => {
    if (typeof s !== 'string' || s.length > max || s.includes('\0')) throw new HostConfigError(`${field}[${i}]`, `must be a string of at most ${max} characters without NUL`);
    return s;
  });
}

/** Default resources for a VM of `startup` bytes. */
export function defaultResources(startup: number): { cpu: CpuResources; memory: MemoryResources } {
  return { cpu: { weight: 100, reserve: 0, limit: 100 }, memory: { startup, minimum: startup, maximum: startup, buffer: 20 } };
}

/** The CPU settings, each field optional over `base`. */
export function checkCpu(v: unknown, base: CpuResources, field = 'cpu'): CpuResources {
  const o = object(v, field);
  only(o, field, ['weight', 'reserve', 'limit']);
  const cpu = {
    weight: o.weight === undefined ? base.weight : int(o.weight, `${field}.weight`, 1, 10_000),
    reserve: o.reserve === undefined ? base.reserve : int(o.reserve, `${field}.reserve`, 0, 100),
    limit: o.limit === undefined ? base.limit : int(o.limit, `${field}.limit`, 1, 100),
  };
  if (cpu.reserve > cpu.limit) throw new HostConfigError(`${field}.reserve`, `${cpu.reserve}% is above the limit of ${cpu.limit}%`);
  return cpu;
}

/** The memory settings, each field optional over `base`. */
export function checkMemory(v: unknown, base: MemoryResources, field = 'memory'): MemoryResources {
  const o = object(v, field);
  only(o, field, ['startup', 'minimum', 'maximum', 'buffer']);
  const m = {
    startup: o.startup === undefined ? base.startup : bytes(o.startup, `${field}.startup`),
    minimum: o.minimum === undefined ? base.minimum : bytes(o.minimum, `${field}.minimum`),
    maximum: o.maximum === undefined ? base.maximum : bytes(o.maximum, `${field}.maximum`),
    buffer: o.buffer === undefined ? base.buffer : int(o.buffer, `${field}.buffer`, 5, 2000),
  };
  // A new startup moves the ends of the range that were at the old one
  // (unless they are given too): a VM configured with one size keeps one.
  if (o.startup !== undefined && o.minimum === undefined && base.minimum === base.startup) m.minimum = m.startup;
  if (o.startup !== undefined && o.maximum === undefined && base.maximum === base.startup) m.maximum = m.startup;
  if (!(m.minimum <= m.startup && m.startup <= m.maximum)) {
    throw new HostConfigError(field, `minimum (${m.minimum}) <= startup (${m.startup}) <= maximum (${m.maximum}) does not hold`);
  }
  return m;
}

/** A whole configuration, as the API's `POST /vms` takes it (or as a state
 *  directory's file holds it): checked, defaults filled in. */
export function checkVmConfig(v: unknown): VmConfig {
  const o = object(v, 'VM');
  only(o, '', ['name', 'kind', 'process', 'system', 'clock', 'cpu', 'memory', 'autostart']);
  if (!isVmName(o.name)) throw new HostConfigError('name', `must be 1..63 characters of a-z 0-9 . _ -, starting with a letter or digit, not ${JSON.stringify(o.name)}`);
  if (o.kind !== 'process' && o.kind !== 'system') throw new HostConfigError('kind', `must be "process" or "system", not ${JSON.stringify(o.kind)}`);
  const clock = o.clock ?? 'host';
  if (clock !== 'host' && clock !== 'virtual') throw new HostConfigError('clock', `must be "host" or "virtual", not ${JSON.stringify(clock)}`);
  const autostart = o.autostart ?? false;
  if (typeof autostart !== 'boolean') throw new HostConfigError('autostart', 'must be true or false');
  const config: VmConfig = { name: o.name, kind: o.kind, clock, autostart, ...defaultResources(o.kind === 'system' ? 256 * MiB : 64 * MiB) };
  if (o.kind === 'process') {
    if (o.system !== undefined) throw new HostConfigError('system', 'a process VM takes "process", not "system"');
    const p = object(o.process, 'process');
    only(p, 'process', ['program', 'args', 'env']);
    config.process = { program: statePath(p.program, 'process.program'), args: strings(p.args ?? [], 'process.args', MAX_ARG), env: strings(p.env ?? [], 'process.env', MAX_ARG) };
    for (const [i, e] of config.process.env.entries()) if (e.indexOf('=') <= 0) throw new HostConfigError(`process.env[${i}]`, `must be NAME=VALUE, not ${JSON.stringify(e)}`);
  } else {
    if (o.process !== undefined) throw new HostConfigError('process', 'a system VM takes "system", not "process"');
    const s = object(o.system, 'system');
    only(s, 'system', ['kernel', 'initrd', 'append', 'disk', 'harts', 'balloon']);
    if (s.append !== undefined && (typeof s.append !== 'string' || s.append.length > MAX_APPEND || s.append.includes('\0'))) {
      throw new HostConfigError('system.append', `must be a string of at most ${MAX_APPEND} characters without NUL`);
    }
    if (s.balloon !== undefined && typeof s.balloon !== 'boolean') throw new HostConfigError('system.balloon', 'must be true or false');
    config.system = {
      kernel: statePath(s.kernel, 'system.kernel'),
      ...(s.initrd !== undefined ? { initrd: statePath(s.initrd, 'system.initrd') } : {}),
      ...(s.append !== undefined ? { append: s.append as string } : {}),
      ...(s.disk !== undefined ? { disk: statePath(s.disk, 'system.disk') } : {}),
      harts: s.harts === undefined ? 1 : int(s.harts, 'system.harts', 1, 8),
      balloon: (s.balloon as boolean | undefined) ?? false,
    };
  }
  if (o.memory !== undefined) config.memory = checkMemory(o.memory, config.memory);
  if (o.cpu !== undefined) config.cpu = checkCpu(o.cpu, config.cpu);
  return config;
}

/** `PATCH /vms/{name}` (Set-VM, Set-VMProcessor, Set-VMMemory): what may
 *  change, over `config`. The CPU settings apply at once to a running VM;
 *  memory startup and what it runs, at its next start; minimum and maximum
 *  are the balancer's at once. */
export function patchVmConfig(config: VmConfig, v: unknown): VmConfig {
  const o = object(v, 'PATCH');
  only(o, '', ['cpu', 'memory', 'autostart']);
  const next = { ...config };
  if (o.cpu !== undefined) next.cpu = checkCpu(o.cpu, config.cpu);
  if (o.memory !== undefined) next.memory = checkMemory(o.memory, config.memory);
  if (o.autostart !== undefined) {
    if (typeof o.autostart !== 'boolean') throw new HostConfigError('autostart', 'must be true or false');
    next.autostart = o.autostart;
  }
  return next;
}
