// The benchmark harness behind `npm run bench`, `node bench/run.mjs` and
// `ringvisor bench`: every workload of workloads.mjs under each peer,
// interleaved, several repetitions, medians, checksums compared, then the
// micro-benchmarks; results as a table, JSON and an SVG chart.
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, arch } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKLOADS, PEERS, PEER_LABELS } from './workloads.mjs';
import { renderTable, renderSvg } from './report.mjs';
import { PROGRAM_NAMES, PROGRAM_PEER_LABELS } from './programs.mjs';
import { removeNodeStartVariables } from './node-env.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN_TIMEOUT_MS = 20 * 60 * 1000;
/** A peer's start-up above this share of its time makes the figure suspect. */
export const STARTUP_LIMIT = 0.05;

export const USAGE = `usage: node bench/run.mjs [options]      (npm run bench, ringvisor bench)

Runs the benchmark workloads (guests/bench, bench/js) under ringvisor,
qemu-riscv64, natively (gcc -O2) and as JavaScript on Node, interleaved;
then the micro-benchmarks, then the boot time of our guest Linux and its
console round trip when idle (ringvisor boot against qemu-system-riscv64), then
real programs nobody here wrote (jq, 7-Zip, busybox, esbuild: whole processes;
with --quick, their small settings and one repetition). Writes a table, bench/results/latest.json and
bench/results/latest.svg (partial.* for a --quick, --only, --scale or
--without run).

options:
  --quick             small sizes, 3 repetitions, short micro-benchmarks
  --reps N            repetitions of each workload (default 5; --quick 3)
  --only A,B          only these workloads (${WORKLOADS.map((w) => w.name).join(', ')})
  --scale F           multiply the work sizes by F
  --without P,Q       leave out these peers (${PEERS.filter((p) => p !== 'ringvisor').join(', ')}): reported as missing
  --no-micro          skip the micro-benchmarks
  --micro-only        only the micro-benchmarks (and the boot)
  --no-boot           skip booting the guest Linux (boot time, console round trip)
  --no-shell          skip the shell script (bench/shell.mjs: Debian's dash, needs guests/third-party/build.sh)
  --no-programs       skip the real programs (bench/programs.mjs: jq, 7-Zip, busybox, esbuild, needs
                      guests/third-party/build.sh), whole processes under ringvisor, --jit off, qemu, native
  --programs A,B      only these real programs (${PROGRAM_NAMES.join(', ')}); with --only too
  --micro-time S      seconds each micro-benchmark may take (default 2; --quick 0.25)
  --out DIR           where results go (default bench/results)
  --js-dir DIR        the JavaScript versions from DIR/NAME.mjs (default bench/js)
  --quiet             no progress lines
  -h, --help          this text
`;

export class UsageError extends Error {}

export function parseArgs(argv) {
  const o = { quick: false, reps: undefined, only: undefined, scale: 1, without: [], micro: true, workloads: true, boot: true, shell: true, programs: true, programNames: undefined, microTime: undefined, out: join(ROOT, 'bench/results'), jsDir: join(ROOT, 'bench/js'), quiet: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--reps') {
      const v = value();
      if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`bad --reps '${v}'`);
      o.reps = Number(v);
    } else if (a === '--only') {
      o.only = value().split(',').filter(Boolean);
      for (const n of o.only) if (!WORKLOADS.some((w) => w.name === n)) throw new UsageError(`unknown workload '${n}'`);
    } else if (a === '--scale') {
      const v = Number(value());
      if (!(v > 0)) throw new UsageError(`bad --scale '${argv[i]}'`);
      o.scale = v;
    } else if (a === '--without') {
      o.without = value().split(',').filter(Boolean);
      for (const p of o.without) if (!PEERS.includes(p) || p === 'ringvisor') throw new UsageError(`cannot leave out '${p}'`);
    } else if (a === '--no-micro') o.micro = false;
    else if (a === '--micro-only') o.workloads = false;
    else if (a === '--no-boot') o.boot = false;
    else if (a === '--no-shell') o.shell = false;
    else if (a === '--no-programs') o.programs = false;
    else if (a === '--programs') {
      o.programNames = value().split(',').filter(Boolean);
      for (const n of o.programNames) if (!PROGRAM_NAMES.includes(n)) throw new UsageError(`unknown program '${n}'`);
    }
    else if (a === '--micro-time') {
      const v = Number(value());
      if (!(v > 0)) throw new UsageError(`bad --micro-time '${argv[i]}'`);
      o.microTime = v;
    } else if (a === '--out') o.out = value();
    else if (a === '--js-dir') o.jsDir = value();
    else if (a === '--quiet') o.quiet = true;
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new UsageError(`unknown option ${a}`);
  }
  o.reps ??= o.quick ? 3 : 5;
  o.microTime ??= o.quick ? 0.25 : 2;
  return o;
}

// ---- command lines ----

/** Takes `name` and the value after it out of `args` (the scripts' own
 *  options, before their positional arguments are read): the value, or
 *  undefined when `name` is not there. */
export function takeOption(args, name) {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args.splice(at, 2)[1];
}

// ---- statistics ----

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summary(times) {
  const m = median(times);
  return {
    seconds: m,
    min: Math.min(...times),
    max: Math.max(...times),
    // Median absolute deviation relative to the median: the spread that one
    // slow run on a busy machine does not inflate.
    spread: m > 0 ? median(times.map((t) => Math.abs(t - m))) / m : 0,
    times,
  };
}

// ---- the peers ----

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return join(dir, name);
    } catch { /* not here */ }
  }
  return undefined;
}

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : undefined;
}

/** Which peers can run, and how; a missing one carries the reason. */
export function findPeers(options) {
  const peers = {};
  const built = existsSync(join(ROOT, 'dist/index.js')) && existsSync(join(ROOT, 'build/ringvisor.wasm'));
  peers.ringvisor = built
    ? { available: true, version: 'this tree', command: `node bench/ringvisor-child.mjs` }
    : { available: false, reason: 'not built (npm run build)' };
  const without = (p) => ({ available: false, reason: `left out (--without ${p})` });

  if (options.without.includes('qemu')) peers.qemu = without('qemu');
  else {
    const qemu = onPath('qemu-riscv64');
    peers.qemu = qemu
      ? { available: true, path: qemu, version: firstLine(qemu, ['--version']) }
      : { available: false, reason: 'qemu-riscv64 is not on the PATH (apt-get install qemu-user)' };
  }

  if (options.without.includes('native')) peers.native = without('native');
  else {
    // Built on demand into the cache; a no-op when it is up to date.
    const r = spawnSync('bash', [join(ROOT, 'guests/bench/build.sh'), '--native'], { encoding: 'utf8' });
    if (r.status === 0) {
      const dir = r.stdout.trim().split('\n').pop();
      const flags = spawnSync('cat', [join(dir, 'FLAGS')], { encoding: 'utf8' }).stdout.trim();
      peers.native = { available: true, dir, version: firstLine(process.env.HOST_CC ?? 'gcc', ['--version']), flags };
    } else {
      peers.native = { available: false, reason: (r.stderr || r.error?.message || 'guests/bench/build.sh --native failed').trim().split('\n').pop() };
    }
  }

  peers.js = options.without.includes('js') ? without('js') : { available: true, version: `Node ${process.version}` };
  return peers;
}

// One run of one workload under one peer: its seconds (as the peer reports
// them, see below), its wall time from here, its stdout, and for ringvisor
// the guest instructions it retired.
function runOnce(peer, peers, workload, size, options) {
  const elf = join(ROOT, `guests/bin/bench-${workload.name}.elf`);
  let cmd, args;
  switch (peer) {
    case 'ringvisor': cmd = process.execPath; args = [join(ROOT, 'bench/ringvisor-child.mjs'), ...(workload.programFiles ? ['--program-dir'] : []), elf, String(size)]; break;
    case 'js': cmd = process.execPath; args = [join(ROOT, 'bench/js/main.mjs'), resolve(options.jsDir, `${workload.name}.mjs`), String(size)]; break;
    case 'qemu': cmd = peers.qemu.path; args = [elf, String(size)]; break;
    case 'native': cmd = join(peers.native.dir, workload.name); args = [String(size)]; break;
  }
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: ROOT, timeout: RUN_TIMEOUT_MS, maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const stdout = r.stdout?.toString() ?? '';
  const stderr = r.stderr?.toString() ?? '';
  const fail = (message) => ({ ok: false, wall, stdout, message });
  if (r.error) return fail(r.error.code === 'ETIMEDOUT' ? `timed out after ${RUN_TIMEOUT_MS / 1000} s` : r.error.message);
  if (r.signal) return fail(`killed by ${r.signal}`);
  if (r.status !== 0) return fail(`exit status ${r.status}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  // ringvisor and JavaScript time themselves inside their Node process:
  // Node's own start-up (~40 ms) is not the guest's. qemu and native are
  // timed from here, whole processes.
  if (peer === 'ringvisor' || peer === 'js') {
    const m = /^bench-timing (.*)$/m.exec(stderr);
    if (!m) return fail('no timing line on stderr');
    const t = JSON.parse(m[1]);
    return { ok: true, wall, stdout, seconds: t.seconds, instructions: t.instructions };
  }
  return { ok: true, wall, stdout, seconds: wall };
}

// ---- progress ----

function progressReporter(options) {
  const tty = process.stderr.isTTY;
  let last = '';
  return {
    line(text) {
      if (options.quiet) return;
      if (tty) {
        process.stderr.write(`\r\x1b[K${text}`);
        last = text;
      } else process.stderr.write(text + '\n');
    },
    done() {
      if (tty && last) process.stderr.write('\r\x1b[K');
      last = '';
    },
  };
}

const fmtDuration = (s) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);

// ---- the run ----

/** The commit checked out in `dir` (this checkout by default), +changes
 *  when tracked files differ from it. */
export function gitCommit(dir = ROOT) {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: dir, encoding: 'utf8' }).stdout.trim() !== '';
  return r.stdout.trim() + (dirty ? '+changes' : '');
}

function runWorkloads(options, peers, progress, failures) {
  const selected = WORKLOADS.filter((w) => !options.only || options.only.includes(w.name));
  const available = PEERS.filter((p) => peers[p].available);
  const size = (w) => Math.max(1, Math.round((options.quick ? w.quick : w.size) * options.scale));
  const times = new Map(), startups = new Map(), outputs = new Map(), instructions = new Map();
  const key = (w, p) => `${w.name}/${p}`;
  const push = (map, k, v) => (map.get(k) ?? map.set(k, []).get(k)).push(v);
  const total = options.reps * selected.reduce((n, w) => n + available.filter((p) => !w.notFor?.[p]).length, 0) * 2;
  let done = 0;
  const started = Date.now();

  for (let rep = 0; rep < options.reps; rep++) {
    for (const [wi, w] of selected.entries()) {
      // A different peer goes first in each repetition and workload, so that
      // a burst of load from elsewhere does not always land on the same one.
      const runs = available.filter((p) => !w.notFor?.[p]);
      const order = runs.map((_, i) => runs[(i + rep + wi) % runs.length]);
      for (const peer of order) {
        for (const kind of ['startup', 'work']) {
          const n = kind === 'startup' ? 0 : size(w);
          const r = runOnce(peer, peers, w, n, options);
          done++;
          if (!r.ok) {
            failures.push({ workload: w.name, peer, rep: rep + 1, kind: 'run', message: `${kind === 'startup' ? 'start-up run (size 0)' : 'run'}: ${r.message}` });
            continue;
          }
          push(outputs, `${key(w, peer)}/${kind}`, r.stdout);
          if (kind === 'startup') push(startups, key(w, peer), r.seconds);
          else {
            push(times, key(w, peer), r.seconds);
            if (r.instructions !== undefined) instructions.set(w.name, r.instructions);
          }
          if (kind === 'work') {
            // Every repetition is the same mix, so after the first the time
            // per run so far predicts the rest.
            const elapsed = (Date.now() - started) / 1000;
            const eta = rep > 0 ? `, ~${fmtDuration((elapsed / done) * (total - done))} left` : '';
            progress.line(`rep ${rep + 1}/${options.reps}  ${w.name.padEnd(10)} ${PEER_LABELS[peer].padEnd(18)} ${r.seconds.toFixed(3)} s   [${done}/${total}, ${fmtDuration(elapsed)}${eta}]`);
          }
        }
      }
    }
  }
  progress.done();

  return selected.map((w) => {
    const n = size(w);
    const result = { name: w.name, title: w.title, what: w.what, unit: w.unit, size: n, output: undefined, agreed: true, peers: {}, ratios: {} };
    // The checksums: every run of every peer must print the same, both at
    // size 0 and at the full size.
    for (const kind of ['startup', 'work']) {
      const seen = new Map();
      for (const p of available) for (const out of outputs.get(`${key(w, p)}/${kind}`) ?? []) (seen.get(out) ?? seen.set(out, new Set()).get(out)).add(p);
      if (seen.size > 1) {
        result.agreed = false;
        failures.push({
          workload: w.name, kind: 'checksum',
          message: `${kind === 'startup' ? 'size 0' : `size ${n}`}: the peers disagree: ` +
            [...seen].map(([out, ps]) => `${[...ps].join(', ')} printed ${JSON.stringify(out.trim())}`).join('; '),
        });
      }
      if (kind === 'work' && seen.size >= 1) result.output = [...seen.keys()][0].trim();
    }
    const insn = instructions.get(w.name);
    for (const p of PEERS) {
      if (!peers[p].available) { result.peers[p] = { missing: peers[p].reason }; continue; }
      if (w.notFor?.[p]) { result.peers[p] = { notApplicable: w.notFor[p] }; continue; }
      const ts = times.get(key(w, p));
      if (!ts?.length) { result.peers[p] = { failed: true }; continue; }
      const s = summary(ts);
      const startup = startups.get(key(w, p));
      const entry = { ...s };
      if (startup?.length) {
        entry.startup = median(startup);
        entry.startupShare = entry.startup / s.seconds;
      }
      // The guest's instruction count is ringvisor's; qemu runs the same ELF.
      if (insn !== undefined && (p === 'ringvisor' || p === 'qemu')) {
        entry.instructions = insn;
        entry.mips = insn / s.seconds / 1e6;
      }
      result.peers[p] = entry;
    }
    const rv = result.peers.ringvisor?.seconds;
    for (const p of PEERS.filter((q) => q !== 'ringvisor')) {
      const other = result.peers[p]?.seconds;
      result.ratios[p] = rv !== undefined && other ? rv / other : null;
    }
    if (!result.agreed) result.ratios = { qemu: null, native: null, js: null };
    return result;
  });
}

// The design card's headline figures that need no boot: guest MIPS,
// CoreMark-style iterations per second, one exit round trip, one system call.
function headline(workloads, micro) {
  const h = {};
  const integer = workloads.find((w) => w.name === 'integer' && w.agreed);
  if (integer) {
    h.mips = {
      ringvisor: integer.peers.ringvisor.mips ?? null,
      qemu: integer.peers.qemu?.mips ?? null,
      what: 'guest instructions per second on the integer workload, whole program',
    };
    h.iterationsPerSecond = { what: 'integer workload iterations per second' };
    for (const p of PEERS) h.iterationsPerSecond[p] = integer.peers[p]?.seconds ? integer.size / integer.peers[p].seconds : null;
  }
  const sys = workloads.find((w) => w.name === 'syscalls' && w.agreed);
  if (sys) {
    h.syscallNs = { what: 'one write(2) to /dev/null, from the syscalls workload: (time - start-up) / writes' };
    for (const p of PEERS) {
      const e = sys.peers[p];
      h.syscallNs[p] = e?.seconds ? ((e.seconds - (e.startup ?? 0)) / sys.size) * 1e9 : null;
    }
  }
  if (micro) {
    h.tightLoopMips = micro.derived.tightLoopMips;
    h.exitRoundTripNs = micro.derived.exitRoundTripNs;
    h.writeSyscallNs = micro.derived.writeNs;
  }
  return h;
}

/** Runs the benchmark; resolves to the results (also written to options.out) and an exit code. */
export async function runBench(options) {
  const progress = progressReporter(options);
  const failures = [];
  const peers = findPeers(options);
  const log = (s) => process.stdout.write(s + '\n');
  if (!peers.ringvisor.available) throw new Error(`ringvisor is ${peers.ringvisor.reason}`);
  for (const w of WORKLOADS) {
    if (!existsSync(join(ROOT, `guests/bin/bench-${w.name}.elf`))) throw new Error(`guests/bin/bench-${w.name}.elf is missing (bash guests/bench/build.sh)`);
  }
  for (const p of PEERS) if (!peers[p].available) log(`${PEER_LABELS[p]}: missing: ${peers[p].reason}`);

  const nodeVariablesRemoved = removeNodeStartVariables(log);
  const loadBefore = loadavg();
  const startedAt = new Date();
  const workloads = options.workloads ? runWorkloads(options, peers, progress, failures) : [];
  let micro;
  if (options.micro) {
    const { runMicro } = await import('./micro.mjs');
    micro = await runMicro({ maxTime: options.microTime, progress: (s) => progress.line(s) });
    progress.done();
  }
  let boot;
  if (options.boot) {
    const { runBoot } = await import('./boot.mjs');
    boot = runBoot({ reps: options.reps, progress: (s) => progress.line(s) });
    progress.done();
  }
  // The console round trip of the idle booted guest (bench/console.mjs),
  // with the boot: it needs the same kernel.
  let consoleTrip;
  if (options.boot) {
    const { runConsole } = await import('./console.mjs');
    consoleTrip = await runConsole({ lines: options.quick ? 5 : 20, bulk: !options.quick, progress: (s) => progress.line(s) });
    progress.done();
  }
  // A shell script's whole time (bench/shell.mjs), against qemu-riscv64 and
  // native, when the workloads run.
  let shell;
  if (options.shell && options.workloads && options.only === undefined) {
    const { runShell } = await import('./shell.mjs');
    shell = runShell({ reps: options.reps, iterations: options.quick ? 20 : 200, progress: (s) => progress.line(s) });
    progress.done();
  }
  // Real programs nobody here wrote (bench/programs.mjs), whole processes,
  // when the workloads run (--only leaves them out unless --programs names some).
  let programs;
  if (options.programs && options.workloads && (options.only === undefined || options.programNames !== undefined)) {
    const { runPrograms } = await import('./programs.mjs');
    programs = runPrograms({ reps: options.quick ? 1 : options.reps, quick: options.quick, only: options.programNames, without: options.without.filter((p) => p === 'qemu' || p === 'native'), failures, progress: (s) => progress.line(s) });
    progress.done();
  }
  const partial = options.quick || options.only !== undefined || options.programNames !== undefined || !options.programs || options.scale !== 1 || options.without.length > 0 || !options.workloads || !options.micro || !options.boot || !options.shell
    || resolve(options.jsDir) !== join(ROOT, 'bench/js');
  const results = {
    schema: 1,
    date: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    commit: gitCommit(),
    partial,
    options: { quick: options.quick, reps: options.reps, only: options.only ?? null, scale: options.scale, without: options.without, microTime: options.microTime },
    host: {
      cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, platform: `${platform()} ${arch()}`, node: process.version,
      // The load from other work when the run began and ended: timings on a
      // busy machine are slower and noisier.
      loadavg: { before: loadBefore.map((x) => +x.toFixed(2)), after: loadavg().map((x) => +x.toFixed(2)) },
      nodeVariablesRemoved,
    },
    peers: Object.fromEntries(PEERS.map((p) => [p, { label: PEER_LABELS[p], ...peers[p] }])),
    startupLimit: STARTUP_LIMIT,
    workloads,
    micro: micro ?? null,
    boot: boot ?? null,
    console: consoleTrip ?? null,
    shell: shell ?? null,
    programs: programs ?? null,
    headline: {
      ...headline(workloads, micro),
      ...(boot && !boot.missing ? { boot: { ringvisor: boot.ringvisor.promptSeconds ?? null, qemu: boot.qemu.promptSeconds ?? null, what: 'seconds from start to the guest Linux init\'s first prompt' } } : {}),
      ...(shell && !shell.missing ? { shellSeconds: { ringvisor: shell.ringvisor.medianSeconds ?? null, qemu: shell.qemu.medianSeconds ?? null, native: shell.native.medianSeconds ?? null, what: `seconds for dash to run bench/shell/work.sh (${shell.forks} forks), whole process` } } : {}),
      ...(consoleTrip && !consoleTrip.missing ? { consoleMs: { ringvisor: consoleTrip.ringvisor.medianMs ?? null, qemu: consoleTrip.qemu.medianMs ?? null, what: 'ms from typing a line at the idle guest Linux (--clock host) to its output, median' } } : {}),
      ...(consoleTrip?.bulk ? { consoleOutputSeconds: { ringvisor: consoleTrip.bulk.ringvisor?.medianSeconds ?? null, qemu: consoleTrip.bulk.qemu?.medianSeconds ?? null, what: `seconds from typing \`${consoleTrip.bulk.command}\` at the guest Linux to its next prompt, median` } } : {}),
    },
    failures,
  };

  mkdirSync(options.out, { recursive: true });
  const base = join(options.out, partial ? 'partial' : 'latest');
  writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(`${base}.svg`, renderSvg(results));
  log(renderTable(results));
  log(`results: ${base}.json, ${base}.svg`);
  if (failures.length) {
    const bar = '!'.repeat(72);
    process.stderr.write(`\n${bar}\nBENCHMARK FAILED: ${failures.length} problem(s); the figures above are not to be trusted\n`);
    for (const f of failures) process.stderr.write(`  ${f.workload}${f.peer ? ` (${PEER_LABELS[f.peer] ?? PROGRAM_PEER_LABELS[f.peer]}${f.rep ? `, rep ${f.rep}` : ''})` : ''}: ${f.message}\n`);
    process.stderr.write(`${bar}\n`);
  }
  return { results, exitCode: failures.length ? 1 : 0, files: { json: `${base}.json`, svg: `${base}.svg` } };
}
