#!/usr/bin/env node
// What the dirty-page log (Cpu.startDirtyLog, docs/ARCHITECTURE.md "The
// dirty-page log") costs: the benchmark's workloads (bench/workloads.mjs,
// process VMs: page-permission mode) interpreted (--jit off) and translated
// (--jit 64 --jit-warmup 0, so that most of the run is translated code), and
// the boot of our guest Linux (a system VM: flat memory, the MMU on) to its
// first prompt, each with the log off and on. "On" starts the log before
// the guest's first instruction and takes it (reads and clears it, which
// re-arms every page written) whenever PERIOD ms have passed at the end of
// a run of the CPU, as live migration's pre-copy rounds would: every 5 ms is
// about every time slice of a process VM. Settings alternate within each
// repetition; medians; ratios against off.
//
// Each run is a process of its own: this script, as a child (--child), wraps
// Cpu.prototype.run of the built library (dist/) to start and take the log,
// then runs the `ringvisor` command line in the same process. The time is
// the process's CPU time (all its threads, the translation worker's too)
// from the guest's first run to its exit: on a shared machine it varies far
// less than the time on the clock, which is recorded too (Node's start-up
// and the CPU module's compilation are the host's, the same for every
// setting). The boot runs under guests/linux/console.mjs, which types ^D at
// the first prompt: its CPU time is to the machine's exit after poweroff
// (console.mjs's clock time to the prompt is recorded too).
//
// Then the store path alone (flat memory, interpreted: what a system VM's
// every store pays), in this process: a loop of 64-bit stores (4 in each 9
// instructions, a worst case) and one of loads, on the CPU as built, with
// the log off and on (taken every slice of 1M instructions), against two
// variants compiled from assembly/ for the purpose: without the log's test
// on the store path (the CPU before the log: what "off" costs) and with an
// unconditional mark (no test of DIRTY_LOG: what the test saves or costs).
//   npm run build && node bench/dirty-log.mjs [--reps N=7] [--periods 100,5] [--scale-jit F=1] [--scale-interp F=0.1]
//                                             [--only W,...] [--no-boot] [--no-workloads] [--no-micro] [--out DIR]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, median, gitCommit } from './harness.mjs';
import { WORKLOADS } from './workloads.mjs';
import { guestLinux } from './boot.mjs';

const SELF = join(ROOT, 'bench/dirty-log.mjs');
const CLI = join(ROOT, 'dist/cli/main.js');

/** In the child: `setting` is "off" or "on:PERIOD"; `cli` the command line's arguments. */
async function child(setting, cli) {
  const { Cpu } = await import('../dist/cpu/cpu.js');
  const period = setting === 'off' ? undefined : Number(setting.slice(3));
  const cpus = new Set();
  let first, cpu0, last = 0, takes = 0, pages = 0, takeMs = 0;
  const run = Cpu.prototype.run;
  // The same work around every run whatever the setting (a clock read:
  // 1M system calls are 1M runs), so that only the log's own calls differ.
  Cpu.prototype.run = function (budget) {
    if (first === undefined) { first = last = performance.now(); cpu0 = process.cpuUsage(); }
    // (A reset turns the log off: a VM made again on this CPU starts it anew.)
    if (period !== undefined && !this.dirtyLogging) { this.startDirtyLog(); cpus.add(this); }
    const reason = run.call(this, budget);
    const now = performance.now();
    if (now - last >= (period ?? 5)) {
      for (const cpu of cpus) if (cpu.dirtyLogging) { pages += cpu.takeDirtyPages().length; takes++; }
      last = performance.now();
      takeMs += last - now;
    }
    return reason;
  };
  process.on('exit', () => {
    const wall = first === undefined ? 0 : (performance.now() - first) / 1000;
    const used = process.cpuUsage(cpu0);
    const seconds = (used.user + used.system) / 1e6;
    process.stderr.write(`\ndirty-log-timing ${JSON.stringify({ seconds, wall, takes, pages, takeMs })}\n`);
  });
  process.argv = [process.argv[0], CLI, ...cli];
  await import('../dist/cli/main.js');
}

async function main(argv) {
  const o = { reps: 7, periods: [100, 5], scaleJit: 1, scaleInterp: 0.1, boot: true, workloads: true, micro: true, out: join(ROOT, 'bench/results/dirty-log') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = () => argv[++i];
    if (a === '--reps') o.reps = Number(v());
    else if (a === '--periods') o.periods = v().split(',').map(Number);
    else if (a === '--scale-jit') o.scaleJit = Number(v());
    else if (a === '--scale-interp') o.scaleInterp = Number(v());
    else if (a === '--no-boot') o.boot = false;
    else if (a === '--no-workloads') o.workloads = false;
    else if (a === '--no-micro') o.micro = false;
    else if (a === '--only') o.only = v().split(',');
    else if (a === '--out') o.out = v();
    else {
      process.stderr.write(`usage: node bench/dirty-log.mjs [--reps N] [--periods 100,5] [--scale-jit F] [--scale-interp F] [--only W,...] [--no-boot] [--no-workloads] [--no-micro] [--out DIR]\n`);
      process.exit(2);
    }
  }
  const settings = ['off', ...o.periods.map((p) => `on:${p}`)];
  const cases = [];
  for (const tier of o.workloads ? ['translated', 'interpreted'] : []) {
    for (const w of WORKLOADS.filter((w) => !o.only || o.only.includes(w.name))) {
      const size = Math.max(1, Math.round(w.size * (tier === 'translated' ? o.scaleJit : o.scaleInterp)));
      const jit = tier === 'translated' ? ['--jit', '64', '--jit-warmup', '0'] : ['--jit', 'off'];
      cases.push({ name: `${w.name} (${tier}, ${size} ${w.unit})`, kind: 'process', args: ['run', ...jit, join(ROOT, `guests/bin/bench-${w.name}.elf`), String(size)] });
    }
  }
  const linux = o.boot ? guestLinux() : { missing: 'left out (--no-boot)' };
  if (!linux.missing) {
    cases.push({ name: 'Linux boot, prompt, poweroff (system VM)', kind: 'boot', args: ['boot', '--kernel', linux.image, '--initrd', linux.initrd, '--append', 'console=ttyS0 quiet panic=-1'] });
  } else process.stderr.write(`dirty-log: the boot: ${linux.missing}\n`);

  const results = cases.map((c) => ({ name: c.name, runs: Object.fromEntries(settings.map((s) => [s, []])) }));
  for (let r = 0; r < o.reps; r++) {
    cases.forEach((c, i) => {
      // Alternate the order of the settings between repetitions.
      const order = r % 2 ? [...settings].reverse() : settings;
      for (const s of order) {
        process.stderr.write(`dirty-log: ${c.name} ${s} ${r + 1}/${o.reps}\n`);
        results[i].runs[s].push(once(c, s));
      }
    });
  }
  const rows = results.map((res) => {
    const row = { name: res.name, seconds: {}, ratio: {}, takes: {}, pagesPerTake: {}, msPerTake: {} };
    for (const s of settings) {
      const runs = res.runs[s];
      row.seconds[s] = median(runs.map((x) => x.seconds));
      row.ratio[s] = row.seconds[s] / median(res.runs.off.map((x) => x.seconds));
      row.takes[s] = median(runs.map((x) => x.takes));
      row.pagesPerTake[s] = row.takes[s] ? median(runs.map((x) => x.pages)) / row.takes[s] : 0;
      row.msPerTake[s] = row.takes[s] ? median(runs.map((x) => x.takeMs ?? 0)) / row.takes[s] : 0;
    }
    return row;
  });
  let text = rows.length ? render(rows, settings, o) : '';
  process.stdout.write(text);
  const micro = o.micro ? await storePath(o.reps) : undefined;
  if (micro) {
    const m = renderMicro(micro, o.reps);
    process.stdout.write((text ? '\n' : '') + m);
    text += (text ? '\n' : '') + m;
  }
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'latest.txt'), text);
  writeFileSync(join(o.out, 'latest.json'), JSON.stringify({ commit: gitCommit(), date: new Date().toISOString(), options: o, settings, rows, runs: results, storePath: micro }, null, 2) + '\n');
}

// ---- the store path alone -------------------------------------------------------------------
const MARK_LINE = '  if ((need & PERM_W) && dirtyLog) markDirty(off, off + size - 1);\n';
const VARIANTS = {
  'without the log': '',
  'unconditional mark': '  if (need & PERM_W) markDirty(off, off + size - 1);\n',
};

/** The CPU compiled from assembly/ with memory.ts's mark line replaced. */
function buildVariant(dir, replacement) {
  const src = join(dir, 'assembly');
  cpSync(join(ROOT, 'assembly'), src, { recursive: true });
  const memory = readFileSync(join(src, 'memory.ts'), 'utf8');
  if (!memory.includes(MARK_LINE)) throw new Error('assembly/memory.ts no longer has the mark line this benchmark replaces');
  writeFileSync(join(src, 'memory.ts'), memory.replace(MARK_LINE, replacement));
  const out = join(dir, 'cpu.wasm');
  const p = spawnSync(join(ROOT, 'node_modules/.bin/asc'), [join(src, 'index.ts'), '--config', join(ROOT, 'asconfig.json'), '--target', 'release', '--outFile', out], { cwd: ROOT, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`asc: ${p.stderr}`);
  rmSync(src, { recursive: true });
  return new WebAssembly.Module(readFileSync(out));
}

// RV64I encodings for the loops (unprivileged spec, "Base Instruction Formats").
const T0 = 5, T1 = 6, T2 = 7, A0 = 10, A1 = 11, A2 = 12;
const iType = (op, f3, rd, rs1, imm) => (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const sd = (rs2, rs1, imm) => ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | ((imm & 31) << 7) | 0x23) >>> 0;
const ld = (rd, rs1, imm) => iType(0x03, 3, rd, rs1, imm);
const addi = (rd, rs1, imm) => iType(0x13, 0, rd, rs1, imm);
const rType = (f3, rd, rs1, rs2) => ((rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x33) >>> 0;
const bne = (rs1, rs2, off) => {
  const i = off & 0x1fff;
  return ((((i >> 12) & 1) << 31) | (((i >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (1 << 12) | (((i >> 1) & 0xf) << 8) | (((i >> 11) & 1) << 7) | 0x63) >>> 0;
};
const EBREAK = 0x00100073;
/** 4 accesses, then t1 = (t1 + 32) & a1, a0 = a2 + t1, t2--, loop: over a 1 MiB buffer (256 pages). */
const loop = (access) => [access(0), access(8), access(16), access(24), addi(T1, T1, 32), rType(7, T1, T1, A1), rType(0, A0, A2, T1), addi(T2, T2, -1), bne(T2, 0, -32), EBREAK];

async function storePath(reps) {
  const { Cpu } = await import('../dist/cpu/cpu.js');
  const { loadCpuModule } = await import('../dist/node/load.js');
  const dir = mkdtempSync(join(tmpdir(), 'ringvisor-dirty-log-'));
  const modules = { 'as built': loadCpuModule() };
  try {
    for (const [name, line] of Object.entries(VARIANTS)) modules[name] = buildVariant(join(dir, name.replace(/ /g, '-')), line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const RAM = 0x8000_0000n, ITERATIONS = 2_000_000n, SLICE = 1_000_000n;
  const settings = [
    ['without the log', 'off'], ['as built', 'off'], ['as built', 'on'], ['unconditional mark', 'off'], ['unconditional mark', 'on'],
  ];
  const out = {};
  for (const [kind, access] of [['stores', (k) => sd(T0, A0, k)], ['loads', (k) => ld(T0, A0, k)]]) {
    const code = new Uint8Array(new Uint32Array(loop(access)).buffer);
    const times = Object.fromEntries(settings.map(([m, s]) => [`${m}, log ${s}`, []]));
    for (let r = 0; r < reps; r++) {
      for (const [m, s] of r % 2 ? [...settings].reverse() : settings) {
        const cpu = new Cpu(modules[m]);
        cpu.configureRam(RAM, 4n << 20n);
        cpu.exitControls = 1 << 1; // EBREAK exits
        cpu.writeBytes(RAM, code);
        cpu.setX(A1, 0xf_ffffn); cpu.setX(A2, RAM + 0x10_0000n); cpu.setX(A0, RAM + 0x10_0000n); cpu.setX(T2, ITERATIONS);
        cpu.pc = RAM;
        if (s === 'on') cpu.startDirtyLog();
        let pages = 0;
        const started = performance.now();
        for (;;) {
          const reason = cpu.run(SLICE);
          if (s === 'on') pages += cpu.takeDirtyPages().length;
          if (reason !== 4 /* Budget */) break;
        }
        const ms = performance.now() - started;
        if (cpu.x(T2) !== 0n) throw new Error(`the ${kind} loop stopped early: ${cpu.exit.reason}`);
        if (s === 'on' && kind === 'stores' && pages < 256) throw new Error(`the log saw ${pages} pages of 256 written`);
        times[`${m}, log ${s}`].push(ms);
      }
    }
    const base = median(times['without the log, log off']);
    out[kind] = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { ms: median(v), ratio: median(v) / base, runs: v }]));
  }
  out.instructions = Number(ITERATIONS) * 9;
  return out;
}

function renderMicro(m, reps) {
  let t = `the store path alone: flat memory, interpreted, ${m.instructions / 1e6}M instructions (4 of each 9 access memory), ms, median of ${reps};\n`;
  t += '(x) = against the CPU without the log; "on" takes the log every 1M instructions\n';
  const keys = Object.keys(m.stores);
  t += 'loop'.padEnd(8) + keys.map((k) => k.padStart(30)).join('') + '\n';
  for (const kind of ['stores', 'loads']) {
    t += kind.padEnd(8) + keys.map((k) => `${m[kind][k].ms.toFixed(1)} (${m[kind][k].ratio.toFixed(3)}x)`.padStart(30)).join('') + '\n';
  }
  return t;
}

function once(c, setting) {
  const node = [process.execPath, SELF, '--child', setting, '--'];
  if (c.kind === 'process') {
    const p = spawnSync(node[0], [...node.slice(1), ...c.args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
    const m = /dirty-log-timing (\{.*\})/.exec(p.stderr ?? '');
    if (p.status !== 0 || !m) throw new Error(`${c.name} ${setting}: status ${p.status}: ${(p.stderr ?? '').trim().split('\n').pop()}`);
    return JSON.parse(m[1]);
  }
  const p = spawnSync(process.execPath, [join(ROOT, 'guests/linux/console.mjs'), '--timeout', '120', '--script', '/dev/null', '--', ...node, ...c.args],
    { cwd: ROOT, encoding: 'utf8', input: '', timeout: 180_000 });
  const m = /first prompt after ([\d.]+)s/.exec(p.stderr ?? '');
  const t = /dirty-log-timing (\{.*\})/.exec(p.stderr ?? '');
  if (p.status !== 0 || !m) throw new Error(`${c.name} ${setting}: status ${p.status}: ${(p.stderr ?? '').trim().split('\n').pop()}`);
  if (!t) throw new Error(`${c.name} ${setting}: no timing from the machine`);
  return { ...JSON.parse(t[1]), prompt: Number(m[1]) };
}

function render(rows, settings, o) {
  const label = (s) => (s === 'off' ? 'log off' : `on, take/${s.slice(3)} ms`);
  const cell = (x) => String(x).padStart(30);
  let t = `dirty-page log: CPU seconds from the guest's first run to its exit, median of ${o.reps};\n`;
  t += '(x) = against the log off; Np Tms = pages each take reported and milliseconds each took, on average\n';
  t += 'case'.padEnd(52) + settings.map((s) => cell(label(s))).join('') + '\n';
  for (const r of rows) {
    t += r.name.padEnd(52) + settings.map((s) => cell(s === 'off'
      ? `${r.seconds[s].toFixed(3)} s`
      : `${r.seconds[s].toFixed(3)} (${r.ratio[s].toFixed(3)}x) ${Math.round(r.pagesPerTake[s])}p ${r.msPerTake[s].toFixed(2)}ms`)).join('') + '\n';
  }
  return t;
}

// (Last: the functions above use constants declared after them.)
if (process.argv[2] === '--child') await child(process.argv[3], process.argv.slice(5));
else await main(process.argv.slice(2));
