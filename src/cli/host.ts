// `ringvisor host` (a long-running host of many VMs: src/node/vm-host.ts)
// and `ringvisor vm VERB` (its command-line client, with Hyper-V's verbs:
// New-VM, Get-VM, Start-VM, Stop-VM, Suspend-VM, Resume-VM, Remove-VM,
// Set-VM, Checkpoint-VM, Restore-VMSnapshot, Measure-VM, and a console).
// Tables for people, --json for scripts. docs/HOST.md.
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { VmHost } from '../node/vm-host.js';
import { hostRoutes } from '../node/host-api.js';
import { serveApi, ControlApiSocketError, type ApiListen } from '../node/api-server.js';
import { HostClient, HostApiError, type HostAddress } from '../node/host-client.js';
import { parseSize } from './options.js';

export const HOST_USAGE = `usage: ringvisor host --state DIR [--api PATH] [--tcp HOST:PORT] [--workers N] [--memory-budget SIZE]

Keeps the VMs configured in DIR (DIR/vms/NAME/config.json) and runs them in
worker threads, serving the host API (docs/HOST.md) on a Unix socket of
mode 0600 (default DIR/api.sock). --tcp also serves it on TCP (loopback
unless HOST says otherwise) with a token, written to DIR/api.token (mode
0600) if it is not there. --workers: worker threads (default: the cores).
--memory-budget: memory the balancer shares among running VMs (Dynamic
Memory; default: none, each VM keeps its startup memory). Runs until
SIGINT or SIGTERM, which stop the VMs (their configurations stay).

usage: ringvisor vm [--api PATH | --tcp HOST:PORT --token-file FILE] [--json] VERB ...

  new NAME --program FILE [--arg A]...    a process VM (FILE inside the state directory)
  new NAME --kernel FILE [--initrd FILE] [--append S] [--disk FILE] [--smp N] [--balloon]
           a system VM; both take [--mem SIZE] [--memory-min SIZE] [--memory-max SIZE]
           [--memory-buffer PCT] [--cpu-weight N] [--cpu-reserve PCT] [--cpu-limit PCT]
           [--clock host|virtual] [--autostart] [--env NAME=VALUE]...
  list | get NAME | start NAME | stop NAME | pause NAME | resume NAME | remove NAME
  set NAME [--mem ...] [--memory-min ...] [--memory-max ...] [--memory-buffer ...]
           [--cpu-weight ...] [--cpu-reserve ...] [--cpu-limit ...] [--autostart on|off]
  checkpoint NAME CHECKPOINT | restore NAME CHECKPOINT | checkpoints NAME
  measure NAME | console NAME (Ctrl-A x detaches) | events | metrics

The API socket: --api, else $RINGVISOR_API, else ./api.sock.
`;

export class HostUsageError extends Error {}

const usage = (m: string): never => { throw new HostUsageError(m); };

export async function cmdHost(args: string[]): Promise<number> {
  let state: string | undefined, api: string | undefined, tcp: string | undefined, workers: number | undefined, budget: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => (i + 1 < args.length ? args[++i] : usage(`${a} needs a value`));
    if (a === '--state') state = value();
    else if (a === '--api') api = value();
    else if (a === '--tcp') tcp = value();
    else if (a === '--workers') {
      const v = value();
      if (!/^[1-9]\d{0,2}$/.test(v) || Number(v) > 256) usage(`bad --workers '${v}' (1 to 256)`);
      workers = Number(v);
    } else if (a === '--memory-budget') budget = parseSize(value(), usage, '1G', '--memory-budget');
    else if (a === '-h' || a === '--help') { process.stdout.write(HOST_USAGE); return 0; }
    else usage(`unknown option ${a}`);
  }
  if (state === undefined) usage('no state directory (--state DIR)');
  const stderr = (l: string) => process.stderr.write(`${l}\n`);
  const host = await VmHost.open({ stateDir: state!, workers, memoryBudget: budget, log: stderr });
  const listens: ApiListen[] = [{ socket: api ?? join(state!, 'api.sock') }];
  if (tcp !== undefined) {
    const m = /^(?:(.+):)?(\d{1,5})$/.exec(tcp);
    if (!m || Number(m[2]) > 65535) usage(`bad --tcp '${tcp}' (HOST:PORT or PORT)`);
    const tokenFile = join(state!, 'api.token');
    if (!existsSync(tokenFile)) {
      writeFileSync(tokenFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
      chmodSync(tokenFile, 0o600);
    }
    listens.push({ tcp: { host: m![1] ?? '127.0.0.1', port: Number(m![2]), token: readFileSync(tokenFile, 'utf8').trim() } });
  }
  const servers = [];
  try {
    for (const l of listens) servers.push(await serveApi(l, hostRoutes(host), { log: (line) => stderr(`ringvisor host: api: ${line}`) }));
  } catch (e) {
    await host.close();
    for (const s of servers) await s.close();
    if (e instanceof ControlApiSocketError) { stderr(`ringvisor host: ${e.message}`); return 1; }
    throw e;
  }
  stderr(`ringvisor host: ${host.list().length} VMs configured; API on ${servers.map((s) => s.socketPath).join(' and ')}`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  stderr('ringvisor host: stopping');
  for (const s of servers) await s.close();
  await host.close();
  return 0;
}

// ---- the client ----

interface Flags { [k: string]: string | string[] | boolean | undefined }

// The options of `vm new` and `vm set`: values, repeatable ones, switches.
const VALUE_OPTIONS = ['--program', '--kernel', '--initrd', '--append', '--disk', '--smp', '--mem', '--memory-min', '--memory-max', '--memory-buffer', '--cpu-weight', '--cpu-reserve', '--cpu-limit', '--clock'];
const LIST_OPTIONS = ['--arg', '--env'];
const SWITCHES = ['--balloon'];

function parseFlags(args: string[], allowed: string[], autostartValue: boolean): { positional: string[]; flags: Flags } {
  const positional: string[] = [];
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) { positional.push(a); continue; }
    if (!allowed.includes(a)) usage(`unknown option ${a}`);
    if (a === '--autostart') {
      if (!autostartValue) { flags[a] = true; continue; }
      const v = args[++i];
      if (v !== 'on' && v !== 'off') usage(`bad --autostart '${v}' (on or off)`);
      flags[a] = v === 'on';
      continue;
    }
    if (SWITCHES.includes(a)) { flags[a] = true; continue; }
    if (i + 1 >= args.length) usage(`${a} needs a value`);
    const v = args[++i];
    if (LIST_OPTIONS.includes(a)) flags[a] = [...((flags[a] as string[] | undefined) ?? []), v];
    else flags[a] = v;
  }
  return { positional, flags };
}

function percent(v: string, option: string, min: number): number {
  if (!/^\d{1,3}$/.test(v) || Number(v) < min || Number(v) > 100) usage(`bad ${option} '${v}' (${min} to 100)`);
  return Number(v);
}

/** The resources options as the API's cpu and memory objects (only those given). */
function resources(f: Flags): { cpu?: Record<string, number>; memory?: Record<string, number> } {
  const cpu: Record<string, number> = {}, memory: Record<string, number> = {};
  const s = (k: string) => f[k] as string | undefined;
  if (s('--cpu-weight') !== undefined) {
    const v = s('--cpu-weight')!;
    if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 10000) usage(`bad --cpu-weight '${v}' (1 to 10000)`);
    cpu.weight = Number(v);
  }
  if (s('--cpu-reserve') !== undefined) cpu.reserve = percent(s('--cpu-reserve')!, '--cpu-reserve', 0);
  if (s('--cpu-limit') !== undefined) cpu.limit = percent(s('--cpu-limit')!, '--cpu-limit', 1);
  if (s('--mem') !== undefined) memory.startup = parseSize(s('--mem')!, usage, '64M or 1G', '--mem');
  if (s('--memory-min') !== undefined) memory.minimum = parseSize(s('--memory-min')!, usage, '64M', '--memory-min');
  if (s('--memory-max') !== undefined) memory.maximum = parseSize(s('--memory-max')!, usage, '1G', '--memory-max');
  if (s('--memory-buffer') !== undefined) {
    const v = s('--memory-buffer')!;
    if (!/^\d{1,4}$/.test(v) || Number(v) < 5 || Number(v) > 2000) usage(`bad --memory-buffer '${v}' (5 to 2000 percent)`);
    memory.buffer = Number(v);
  }
  return { ...(Object.keys(cpu).length ? { cpu } : {}), ...(Object.keys(memory).length ? { memory } : {}) };
}

const mib = (b: number) => `${(b / 1048576).toFixed(b % 1048576 === 0 ? 0 : 1)} MiB`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c]))).join('  ')).join('\n') + '\n';
}

export async function cmdVm(args: string[]): Promise<number> {
  let api: string | undefined, tcp: string | undefined, tokenFile: string | undefined, json = false;
  let i = 0;
  for (; i < args.length && args[i].startsWith('--'); i++) {
    const a = args[i];
    const value = () => (i + 1 < args.length ? args[++i] : usage(`${a} needs a value`));
    if (a === '--api') api = value();
    else if (a === '--tcp') tcp = value();
    else if (a === '--token-file') tokenFile = value();
    else if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') { process.stdout.write(HOST_USAGE); return 0; }
    else usage(`unknown option ${a}`);
  }
  const [verb, ...rest] = args.slice(i);
  // --json may also follow the verb.
  const restArgs = rest.filter((a) => (a === '--json' ? ((json = true), false) : true));
  if (verb === undefined) usage('no verb (ringvisor vm --help lists them)');
  let address: HostAddress;
  if (tcp !== undefined) {
    const m = /^(.+):(\d{1,5})$/.exec(tcp);
    if (!m) usage(`bad --tcp '${tcp}' (HOST:PORT)`);
    if (tokenFile === undefined) usage('--tcp needs --token-file FILE (the host writes it as STATE/api.token)');
    address = { host: m![1], port: Number(m![2]), token: readFileSync(tokenFile!, 'utf8').trim() };
  } else {
    address = { socket: resolve(api ?? process.env.RINGVISOR_API ?? 'api.sock') };
  }
  const client = new HostClient(address);
  const out = (v: unknown, text: () => string) => process.stdout.write(json ? `${JSON.stringify(v, null, 2)}\n` : text());
  const one = (n: number) => {
    if (restArgs.length !== n) usage(`${verb} takes ${n === 1 ? 'a VM name' : 'a VM name and a checkpoint name'}`);
    return restArgs;
  };
  try {
    switch (verb) {
      case 'new': {
        const { positional, flags } = parseFlags(restArgs, [...VALUE_OPTIONS, ...LIST_OPTIONS, ...SWITCHES, '--autostart'], false);
        if (positional.length !== 1) usage('new takes one VM name');
        const kernel = flags['--kernel'] as string | undefined, program = flags['--program'] as string | undefined;
        if ((kernel === undefined) === (program === undefined)) usage('new takes --program FILE (a process VM) or --kernel FILE (a system VM)');
        let smp: number | undefined;
        if (flags['--smp'] !== undefined) {
          if (!/^[1-8]$/.test(flags['--smp'] as string)) usage(`bad --smp '${String(flags['--smp'])}' (1 to 8)`);
          smp = Number(flags['--smp']);
        }
        const clock = flags['--clock'] as string | undefined;
        if (clock !== undefined && clock !== 'host' && clock !== 'virtual') usage(`bad --clock '${clock}' (host or virtual)`);
        const config: Record<string, unknown> = {
          name: positional[0], kind: program !== undefined ? 'process' : 'system',
          ...(clock ? { clock } : {}), ...(flags['--autostart'] ? { autostart: true } : {}), ...resources(flags),
          ...(program !== undefined
            ? { process: { program, args: flags['--arg'] ?? [], env: flags['--env'] ?? [] } }
            : {
              system: {
                kernel, ...(flags['--initrd'] ? { initrd: flags['--initrd'] } : {}), ...(flags['--append'] ? { append: flags['--append'] } : {}),
                ...(flags['--disk'] ? { disk: flags['--disk'] } : {}), ...(smp ? { harts: smp } : {}), ...(flags['--balloon'] ? { balloon: true } : {}),
              },
            }),
        };
        const vm = await client.create(config);
        out(vm, () => `created ${vm.name} (${vm.kind})\n`);
        return 0;
      }
      case 'list': {
        const vms = await client.list();
        out(vms, () => table([['NAME', 'KIND', 'STATE', 'CPU', 'MEMORY', 'STARTED'],
          ...vms.map((v) => [v.name, v.kind, v.state, `w${v.config.cpu.weight} r${v.config.cpu.reserve}% l${v.config.cpu.limit}%`,
            `${mib(v.config.memory.startup)} (${mib(v.config.memory.minimum)}..${mib(v.config.memory.maximum)})`, v.startedAt ?? '-'])]));
        return 0;
      }
      case 'get': { const v = await client.get(one(1)[0]); out(v, () => `${JSON.stringify(v, null, 2)}\n`); return 0; }
      case 'start': { const v = await client.start(one(1)[0]); out(v, () => `${v.name}: ${v.state}\n`); return 0; }
      case 'stop': { const v = await client.stop(one(1)[0]); out(v, () => `${v.name}: ${v.state}${v.lastExit?.status !== undefined ? ` (status ${v.lastExit.status})` : ''}\n`); return 0; }
      case 'pause': { const [n] = one(1); await client.pause(n); out({ name: n, state: 'Paused' }, () => `${n}: Paused\n`); return 0; }
      case 'resume': { const [n] = one(1); await client.resume(n); out({ name: n, state: 'Running' }, () => `${n}: Running\n`); return 0; }
      case 'remove': { const [n] = one(1); await client.remove(n); out({ name: n, removed: true }, () => `removed ${n}\n`); return 0; }
      case 'set': {
        const { positional, flags } = parseFlags(restArgs, ['--mem', '--memory-min', '--memory-max', '--memory-buffer', '--cpu-weight', '--cpu-reserve', '--cpu-limit', '--autostart'], true);
        if (positional.length !== 1) usage('set takes one VM name');
        const changes: Record<string, unknown> = { ...resources(flags), ...(flags['--autostart'] !== undefined ? { autostart: flags['--autostart'] } : {}) };
        if (Object.keys(changes).length === 0) usage('set: nothing to change');
        const v = await client.set(positional[0], changes);
        out(v, () => `${v.name}: cpu weight ${v.config.cpu.weight}, reserve ${v.config.cpu.reserve}%, limit ${v.config.cpu.limit}%; memory ${mib(v.config.memory.startup)} (${mib(v.config.memory.minimum)}..${mib(v.config.memory.maximum)}, buffer ${v.config.memory.buffer}%)\n`);
        return 0;
      }
      case 'checkpoint': { const [n, c] = one(2); const info = await client.checkpoint(n, c); out(info, () => `${n}: checkpoint ${info.name} taken\n`); return 0; }
      case 'restore': { const [n, c] = one(2); await client.restore(n, c); out({ name: n, checkpoint: c }, () => `${n}: checkpoint ${c} applied\n`); return 0; }
      case 'checkpoints': {
        const list = await client.checkpoints(one(1)[0]);
        out(list, () => (list.length === 0 ? 'no checkpoints\n' : table([['NAME', 'CREATED', 'PARENT', 'CURRENT'], ...list.map((c) => [c.name, c.created, c.parent ?? '-', c.current ? 'yes' : ''])])));
        return 0;
      }
      case 'measure': {
        const m = await client.measure(one(1)[0]);
        out(m, () => table([['FIGURE', 'VALUE'],
          ['state', m.state], ['instructions', m.instructions], ['cpu seconds', m.cpuSeconds.toFixed(3)],
          ['memory now', mib(m.memory.bytes)], ['memory average', mib(m.memory.average)], ['memory minimum', mib(m.memory.minimum)], ['memory maximum', mib(m.memory.maximum)],
          ['disk read', `${m.disk.readBytes} bytes in ${m.disk.reads} operations`], ['disk written', `${m.disk.writtenBytes} bytes in ${m.disk.writes} operations`],
          ['console', `${m.console.bytesOut} bytes out, ${m.console.bytesIn} in`],
          ...Object.entries(m.exits).map(([r, n]) => [`exits ${r}`, String(n)])]));
        return 0;
      }
      case 'metrics': process.stdout.write(await client.metrics()); return 0;
      case 'events': {
        await client.events((e) => process.stdout.write(`${json ? JSON.stringify(e) : `${e.time} ${e.vm} ${e.event}${e.detail ? ` ${JSON.stringify(e.detail)}` : ''}`}\n`));
        await new Promise<void>((done) => { process.once('SIGINT', done); process.once('SIGTERM', done); });
        return 0;
      }
      case 'console': return await consoleOf(client, one(1)[0]);
      default: return usage(`unknown verb '${verb}'`);
    }
  } catch (e) {
    if (e instanceof HostApiError) { process.stderr.write(`ringvisor vm ${verb}: ${e.message} (${e.status})\n`); return 1; }
    if (e instanceof Error && 'code' in e && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')) {
      process.stderr.write(`ringvisor vm: no host answers at ${'socket' in address ? address.socket : `${address.host}:${address.port}`} (${String(e.code)}): is ringvisor host running? (--api PATH)\n`);
      return 1;
    }
    throw e;
  }
}

// Attached to a VM's console: its output to stdout, stdin to it, raw when a
// terminal; Ctrl-A x detaches (the VM runs on), Ctrl-A Ctrl-A sends Ctrl-A.
async function consoleOf(client: HostClient, name: string): Promise<number> {
  const socket = await client.attach(name);
  const stdin = process.stdin;
  process.stderr.write(`ringvisor vm: attached to ${name}'s console (Ctrl-A x detaches)\n`);
  socket.pipe(process.stdout, { end: false });
  let escape = false;
  const onData = (chunk: Buffer) => {
    const outb: number[] = [];
    for (const c of chunk) {
      if (escape) {
        escape = false;
        if (c === 0x78) { socket.end(); return; }
        if (c === 0x01) outb.push(1);
        continue;
      }
      if (c === 0x01 && stdin.isTTY) { escape = true; continue; }
      outb.push(c);
    }
    if (outb.length) socket.write(Buffer.from(outb));
  };
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onData);
  // The end of piped input detaches, once the guest's answer has had time
  // to come (output quiet for 300 ms).
  let lastOutput = Date.now();
  socket.on('data', () => { lastOutput = Date.now(); });
  stdin.once('end', () => {
    const timer = setInterval(() => {
      if (Date.now() - lastOutput < 300) return;
      clearInterval(timer);
      socket.end();
    }, 50);
  });
  await new Promise<void>((done) => socket.once('close', () => done()));
  stdin.off('data', onData);
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  process.stderr.write('\nringvisor vm: detached\n');
  return 0;
}
