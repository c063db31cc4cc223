#!/usr/bin/env node
// Real programs nobody here wrote (built from Debian's sources by
// guests/third-party/build.sh into the cache), each timed as a user would
// time it: the whole process from the shell's point of view (Node's start,
// compiling the CPU module, loading, translating, running, exiting), under
//   ringvisor         `ringvisor run --fs=host` with its default translation
//   ringvisor --jit off   the same, interpreted only
//   qemu-riscv64      the same ELF
//   native            the same program built for this machine, where one is
// with the same arguments, standard input, working directory contents and an
// empty environment for every peer; interleaved (the peer that goes first
// rotates), medians. Every peer must give the same answer (stdout, stderr,
// exit status, the files it writes; for 7-Zip's benchmark, whose figures are
// timings, the shape of its report): one that does not fails the run loudly.
//   node bench/programs.mjs [--quick] [--reps N] [--only A,B] [--without P,Q] [--out FILE]
// Part of `npm run bench` (bench/harness.mjs); --no-programs leaves it out.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, platform, arch } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { qemuPath } from '../scripts/record-golden.mjs';
import { removeNodeStartVariables } from './node-env.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/bin/ringvisor.js');
const BUILD = 'bash guests/third-party/build.sh';
/** Debian's riscv64 sysroot (libc6-riscv64-cross), for the dynamically linked jq. */
export const SYSROOT = '/usr/riscv64-linux-gnu';
/** Scratch directories of the runs that write files (git ignores it). */
const SCRATCH = join(ROOT, 'bench/results/tmp');
const RUN_TIMEOUT_MS = 30 * 60 * 1000;

export const PROGRAM_PEERS = ['ringvisor', 'jitOff', 'qemu', 'native'];
/** The programs' names, for --only (what programWorkloads makes when every build is there). */
export const PROGRAM_NAMES = ['jq-suite', 'jq-short', 'jq-dyn-short', 'busybox-echo', '7zz-bench', 'esbuild-version', 'esbuild-bundle'];
export const PROGRAM_PEER_LABELS = { ringvisor: 'ringvisor', jitOff: 'ringvisor --jit off', qemu: 'qemu-riscv64', native: 'native x86-64' };

/** What guests/third-party/build.sh recorded for `pkg` (<cache>/third-party/<pkg>.json, as
 *  test/support/third-party.ts reads it), if the files named by `fields` are all there. */
export function findThirdParty(pkg, fields) {
  const index = join(process.env.RINGVISOR_CACHE ?? join(homedir(), '.cache', 'ringvisor'), 'third-party', `${pkg}.json`);
  if (!existsSync(index)) return undefined;
  const b = JSON.parse(readFileSync(index, 'utf8'));
  return fields.every((f) => typeof b[f] === 'string' && existsSync(b[f])) ? b : undefined;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? null : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const sha256 = (data) => createHash('sha256').update(data).digest('hex').slice(0, 16);

/** Every file under dir with a hash of its bytes, sorted: what a run wrote. */
function filesOf(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)} ${sha256(readFileSync(p))}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

/** What a run printed and how it ended, byte for byte. */
const exactly = (r) => `status ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** A small project for esbuild (test/third-party.test.ts bundles the same):
 *  TypeScript modules importing each other, JSX, a JSON file. */
/** The small TypeScript + JSX + JSON project esbuild bundles, written into `dir`. */
export function writeEsbuildProject(dir) {
  mkdirSync(join(dir, 'src', 'lib'), { recursive: true });
  const files = [
    ['src/app.ts', 'import { greet } from "./lib/greet";\nimport data from "./data.json";\nimport { view } from "./view.jsx";\nexport const main = (): string => greet(data.name) + view(data.items);\nconsole.log(main());\n'],
    ['src/lib/greet.ts', 'export function greet(who: string): string {\n  return `hello, ${who}`;\n}\n'],
    ['src/view.jsx', 'const h = (tag, props, ...children) => `<${tag}>${children.join("")}</${tag}>`;\nexport const view = (items) => <ul>{items.map((i) => <li>{i}</li>)}</ul>;\n'],
    ['src/data.json', '{ "name": "ringvisor", "items": ["a", "b", "c"] }\n'],
  ];
  for (const [name, content] of files) writeFileSync(join(dir, name), content);
}

/** 7-Zip's benchmark prints timings and ratings (which differ from run to
 *  run) around a fixed shape: its option line, one row per dictionary size,
 *  Avr and Tot. It checks its own decompression (a CRC error ends it with an
 *  error), so the shape and the exit status are the answer. */
function sevenZipShape(r) {
  const rows = r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^(mt\d+|\d+:|Avr:|Tot:)/.test(l)).map((l) => l.split(/\s+/)[0] + (l.startsWith('mt') ? ` ${l.split(/\s+/)[1] ?? ''}` : ''));
  return `status ${r.status}\n${rows.join('\n')}\nstderr:\n${r.stderr}`;
}

/** The rating ("Tot:" line, last column, MIPS) of a `7zz b` report. */
function sevenZipRating(stdout) {
  const m = /^Tot:\s+(?:\d+\s+)*?(\d+)\s*$/m.exec(stdout);
  return m ? Number(m[1]) : undefined;
}

/**
 * The workloads, for the builds found. Each is one or more processes run
 * one after the other (`steps`); one sample is their whole time. Short ones
 * take several samples per repetition (`samples`). `notFor` names a peer
 * that is not run, with the reason.
 */
export function programWorkloads({ quick = false } = {}) {
  const ws = [];
  const missing = [];
  const jq = findThirdParty('jq', ['elf', 'tests']);
  const sevenZip = findThirdParty('7zip', ['elf']);
  const busybox = findThirdParty('busybox', ['elf']);
  const esbuild = findThirdParty('esbuild', ['elf']);
  const nativeOf = (b, pkg) => (b.native && existsSync(b.native) ? { native: b.native } : { nativeMissing: `no x86-64 build of ${pkg} (${BUILD})` });

  if (!jq) missing.push(`jq (${BUILD})`);
  else {
    // The native jq is build.sh's x86-64 build of the same sources (the
    // host's /usr/bin/jq, if any, is another Debian revision: 1.6-2.1+deb12u1
    // aborts on jq.test).
    const native = nativeOf(jq, 'jq');
    const files = quick ? ['base64.test'] : ['jq.test', 'onig.test'];
    ws.push({
      name: 'jq-suite', title: `jq ${quick ? 'base64.test' : 'test suite'}`, package: `jq ${jq.version}`,
      what: quick ? 'jq --run-tests base64.test' : 'jq --run-tests on jq.test and onig.test, as `make check` runs them (its jqtest and onigtest)',
      elf: jq.elf, ...native, samples: 1,
      steps: files.map((f) => ({ args: ['-L', 'modules', '--run-tests', f], cwd: jq.tests })),
      compare: exactly,
      summary: (rs) => rs.map((r) => r.stdout.trim().split('\n').pop()).join('; '),
      notFor: quick ? {} : { jitOff: 'interpreted, the whole suite takes some 20 minutes (1,237 s on 2026-12-04, 60 G instructions): measured by hand, not each run' },
    });
    ws.push({
      name: 'jq-short', title: "jq '.a'", package: `jq ${jq.version}`, what: "jq '.a' of {\"a\":1} on stdin, static: a short-lived process",
      elf: jq.elf, ...native, samples: quick ? 1 : 5,
      steps: [{ args: ['.a'], stdin: '{"a":1}\n' }],
      compare: exactly, summary: (rs) => rs[0].stdout.trim(),
    });
    if (!jq.dynElf || !existsSync(jq.dynElf)) missing.push(`jq-dyn.elf (${BUILD})`);
    else if (!existsSync(join(SYSROOT, 'lib/ld-linux-riscv64-lp64d.so.1'))) missing.push(`the riscv64 sysroot ${SYSROOT} (apt-get install libc6-riscv64-cross)`);
    else {
      ws.push({
        name: 'jq-dyn-short', title: "jq '.a', dynamic", package: `jq ${jq.version}`, what: `the same, dynamically linked, its ld.so and libc from ${SYSROOT} (-L)`,
        elf: jq.dynElf, sysroot: SYSROOT, ...native, samples: quick ? 1 : 5,
        steps: [{ args: ['.a'], stdin: '{"a":1}\n' }],
        compare: exactly, summary: (rs) => rs[0].stdout.trim(),
      });
    }
  }

  if (!busybox) missing.push(`busybox (${BUILD})`);
  else {
    ws.push({
      name: 'busybox-echo', title: 'busybox echo', package: `busybox ${busybox.version}`, what: 'busybox echo hello: about the least a program can do',
      elf: busybox.elf, ...nativeOf(busybox, 'busybox'), samples: quick ? 1 : 10,
      steps: [{ args: ['echo', 'hello'] }],
      compare: exactly, summary: (rs) => rs[0].stdout.trim(),
    });
  }

  if (!sevenZip) missing.push(`7-Zip (${BUILD})`);
  else {
    // A fixed amount of work: -mtic=N is 2^N instructions of LZMA for
    // compressing and as many for decompressing (without it 7-Zip sizes the
    // work by the CPU frequency it measures, so a slower peer would do less).
    // The frequency measurement before it is fixed work too.
    const tic = quick ? 20 : 30;
    const args = ['b', '1', '-mmt1', '-md18', `-mtic=${tic}`];
    ws.push({
      name: '7zz-bench', title: `7zz b -mtic=${tic}`, package: `7-Zip ${sevenZip.version}`, what: `7zz ${args.join(' ')}: one thread, a 256 KiB dictionary, fixed work`,
      elf: sevenZip.elf, ...nativeOf(sevenZip, '7-Zip'), samples: 1,
      steps: [{ args }],
      compare: sevenZipShape, summary: (rs) => `rating ${sevenZipRating(rs[0].stdout) ?? '?'} MIPS`,
      rating: (rs) => sevenZipRating(rs[0].stdout),
      notFor: { jitOff: 'interpreted, 7-Zip\'s CPU-frequency calibration (fixed work, some 4 G loop steps) alone takes over 30 s, and then it cuts that short ("(Cmplx)"), so it would not do the same work as the other peers' },
    });
  }

  if (!esbuild) missing.push(`esbuild (${BUILD})`);
  else {
    const notFor = { native: 'esbuild is riscv64 only here (no x86-64 esbuild on this host)' };
    ws.push({
      name: 'esbuild-version', title: 'esbuild --version', package: `esbuild ${esbuild.version}`, what: 'esbuild --version: a Go program\'s start-up (its runtime starts its threads)',
      elf: esbuild.elf, samples: quick ? 1 : 10, notFor,
      steps: [{ args: ['--version'] }],
      compare: exactly, summary: (rs) => rs[0].stdout.trim(),
    });
    ws.push({
      name: 'esbuild-bundle', title: 'esbuild bundle', package: `esbuild ${esbuild.version}`,
      what: 'esbuild bundles and minifies a small TypeScript + JSX + JSON project with a source map (multi-threaded Go)',
      elf: esbuild.elf, samples: quick ? 1 : 2, notFor,
      project: writeEsbuildProject,
      steps: [{ args: ['src/app.ts', '--bundle', '--minify', '--sourcemap', '--outfile=out/app.js', '--jsx-factory=h', '--log-level=warning'] }],
      compare: (r, dir) => `${exactly(r)}\nfiles:\n${filesOf(join(dir, 'out'))}`,
      summary: (rs, dir) => `out/app.js ${sha256(readFileSync(join(dir, 'out/app.js')))}`,
    });
  }
  return { workloads: ws, missing };
}

/** The command line of one step under one peer; `options` go to
 *  `ringvisor run` after this harness's own. */
export function commandFor(peer, w, step, peers, options = []) {
  const sysroot = w.sysroot ? ['-L', w.sysroot] : [];
  switch (peer) {
    case 'ringvisor':
    case 'jitOff':
      return [process.execPath, CLI, 'run', '--fs=host', '--env-clear', ...(peer === 'jitOff' ? ['--jit', 'off'] : []), ...options, ...sysroot, w.elf, ...step.args];
    case 'qemu': return [peers.qemu, ...sysroot, w.elf, ...step.args];
    case 'native': return [w.native, ...step.args];
  }
  throw new Error(`unknown peer ${peer}`);
}

/** One sample: the workload's steps, one process each, under one peer. */
function runSample(peer, w, peers) {
  let dir;
  if (w.project) {
    mkdirSync(SCRATCH, { recursive: true });
    dir = mkdtempSync(join(SCRATCH, `${w.name}-${peer}-`));
    w.project(dir);
  }
  try {
    let seconds = 0;
    const results = [];
    const compared = [];
    for (const step of w.steps) {
      const [cmd, ...args] = commandFor(peer, w, step, peers);
      // Node (ringvisor's host) keeps its environment; the guest gets none
      // under every peer (--env-clear; qemu-riscv64 passes on its own).
      const env = peer === 'ringvisor' || peer === 'jitOff' ? process.env : {};
      const started = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { cwd: dir ?? step.cwd ?? ROOT, env, input: step.stdin ?? '', timeout: RUN_TIMEOUT_MS, maxBuffer: 64 << 20, encoding: 'latin1' });
      seconds += Number(process.hrtime.bigint() - started) / 1e9;
      if (r.error) return { error: r.error.code === 'ETIMEDOUT' ? `timed out after ${RUN_TIMEOUT_MS / 1000} s` : r.error.message };
      const result = { status: r.status ?? `signal ${r.signal}`, stdout: r.stdout, stderr: r.stderr };
      results.push(result);
      compared.push(w.compare(result, dir));
    }
    return { seconds, output: compared.join('\n----\n'), summary: w.summary(results, dir), rating: w.rating?.(results) };
  } catch (e) {
    return { error: e.message };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Which peers can run; a missing one carries the reason. */
function findProgramPeers(without) {
  const peers = { available: {}, missing: {} };
  if (!existsSync(CLI) || !existsSync(join(ROOT, 'build/ringvisor.wasm'))) throw new Error('ringvisor is not built (npm run build)');
  peers.available.ringvisor = true;
  peers.available.jitOff = !without.includes('jitOff');
  if (!peers.available.jitOff) peers.missing.jitOff = 'left out (--without jitOff)';
  const qemu = qemuPath();
  if (without.includes('qemu')) peers.missing.qemu = 'left out (--without qemu)';
  else if (!qemu) peers.missing.qemu = 'qemu-riscv64 is not on the PATH (apt-get install qemu-user)';
  else { peers.available.qemu = true; peers.qemu = qemu; peers.qemuVersion = spawnSync(qemu, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim(); }
  peers.available.native = !without.includes('native');
  if (!peers.available.native) peers.missing.native = 'left out (--without native)';
  return peers;
}

/**
 * Runs the programs. Resolves to the report (`missing` alone when no build
 * is there); `failures` gets what went wrong (a run that failed, peers that
 * disagree), in the harness's shape.
 */
export function runPrograms({ reps = 3, quick = false, only, without = [], progress = () => {}, failures = [] } = {}) {
  const found = programWorkloads({ quick });
  const selected = found.workloads.filter((w) => !only || only.includes(w.name));
  const missingLine = found.missing.length ? `not built: ${found.missing.join(', ')}` : undefined;
  if (selected.length === 0) return { missing: missingLine ?? 'no program selected' };
  const peers = findProgramPeers(without);
  const key = (w, p) => `${w.name}/${p}`;
  const times = new Map(), outputs = new Map(), summaries = new Map(), ratings = new Map(), failed = new Set();
  const push = (map, k, v) => (map.get(k) ?? map.set(k, []).get(k)).push(v);
  const runs = (w) => PROGRAM_PEERS.filter((p) => peers.available[p] && !w.notFor?.[p] && (p !== 'native' || w.native));

  for (let rep = 0; rep < reps; rep++) {
    for (const [wi, w] of selected.entries()) {
      const ps = runs(w);
      for (let k = 0; k < w.samples; k++) {
        // The peer that goes first rotates, so that a burst of load from
        // elsewhere does not always land on the same one.
        const order = ps.map((_, i) => ps[(i + rep + wi + k) % ps.length]);
        for (const p of order) {
          if (failed.has(key(w, p))) continue;
          progress(`programs: rep ${rep + 1}/${reps} ${w.name} ${PROGRAM_PEER_LABELS[p]}${w.samples > 1 ? ` ${k + 1}/${w.samples}` : ''}`);
          const r = runSample(p, w, peers);
          if (r.error) {
            failed.add(key(w, p));
            failures.push({ workload: w.name, peer: p, rep: rep + 1, kind: 'run', message: r.error });
            continue;
          }
          push(times, key(w, p), r.seconds);
          push(outputs, key(w, p), r.output);
          summaries.set(key(w, p), r.summary);
          if (r.rating !== undefined) push(ratings, key(w, p), r.rating);
        }
      }
    }
  }

  const workloads = selected.map((w) => {
    const entry = { name: w.name, title: w.title, package: w.package, what: w.what, command: w.steps.map((s) => [...(w.sysroot ? ['-L', w.sysroot] : []), w.elf.split('/').pop(), ...s.args].join(' ')).join('; '), samplesPerRep: w.samples, output: undefined, agreed: true, peers: {}, ratios: {} };
    // The answers: every run of every peer must give the same.
    const seen = new Map();
    for (const p of PROGRAM_PEERS) for (const out of outputs.get(key(w, p)) ?? []) (seen.get(out) ?? seen.set(out, new Set()).get(out)).add(p);
    if (seen.size > 1) {
      entry.agreed = false;
      const shown = [...seen].map(([out, ps]) => `${[...ps].map((p) => PROGRAM_PEER_LABELS[p]).join(', ')} gave ${JSON.stringify(out.length > 400 ? `${out.slice(0, 400)}...` : out)}`);
      failures.push({ workload: w.name, kind: 'output', message: `the peers disagree: ${shown.join('; ')}` });
    }
    entry.output = summaries.get(key(w, 'qemu')) ?? summaries.get(key(w, 'ringvisor'));
    for (const p of PROGRAM_PEERS) {
      if (w.notFor?.[p]) { entry.peers[p] = { notApplicable: w.notFor[p] }; continue; }
      if (!peers.available[p]) { entry.peers[p] = { missing: peers.missing[p] }; continue; }
      if (p === 'native' && !w.native) { entry.peers[p] = { missing: w.nativeMissing }; continue; }
      const ts = times.get(key(w, p));
      if (!ts?.length || failed.has(key(w, p))) { entry.peers[p] = { failed: true }; continue; }
      const m = median(ts);
      entry.peers[p] = { seconds: m, min: Math.min(...ts), max: Math.max(...ts), spread: m > 0 ? median(ts.map((t) => Math.abs(t - m))) / m : 0, times: ts };
      const rt = ratings.get(key(w, p));
      if (rt?.length) entry.peers[p].rating = median(rt);
    }
    const ratio = (a, b) => (entry.agreed && entry.peers[a]?.seconds && entry.peers[b]?.seconds ? entry.peers[a].seconds / entry.peers[b].seconds : null);
    entry.ratios = { qemu: ratio('ringvisor', 'qemu'), native: ratio('ringvisor', 'native') };
    entry.jitOffRatios = { qemu: ratio('jitOff', 'qemu'), native: ratio('jitOff', 'native') };
    return entry;
  });
  return {
    reps, quick,
    peers: Object.fromEntries(PROGRAM_PEERS.map((p) => [p, { label: PROGRAM_PEER_LABELS[p], ...(peers.missing[p] ? { missing: peers.missing[p] } : {}) }])),
    qemu: peers.qemuVersion ?? null,
    ...(missingLine ? { notBuilt: missingLine } : {}),
    workloads,
  };
}

// ---- the table ----

const fmtSeconds = (s) => (s >= 10 ? s.toFixed(1) : s >= 1 ? s.toFixed(2) : `${(s * 1000).toFixed(s >= 0.1 ? 0 : 1)} m`) + 's';
const fmtRatio = (r) => (r === null || r === undefined ? '-' : `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`);

function cell(e) {
  if (!e) return '-';
  if (e.missing) return 'missing';
  if (e.notApplicable) return 'n/a';
  if (e.failed) return 'FAILED';
  return `${fmtSeconds(e.seconds)} ±${(e.spread * 100).toFixed(0)}%`;
}

export function renderProgramsTable(report) {
  if (report.missing) return `programs: missing: ${report.missing}`;
  const rows = [['program', ...PROGRAM_PEERS.map((p) => PROGRAM_PEER_LABELS[p]), 'rv/qemu', 'rv/native', 'off/qemu', 'answer']];
  for (const w of report.workloads) {
    rows.push([w.title, ...PROGRAM_PEERS.map((p) => cell(w.peers[p])), fmtRatio(w.ratios.qemu), fmtRatio(w.ratios.native), fmtRatio(w.jitOffRatios.qemu), w.agreed ? 'agree' : 'DIFFER']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const out = [`real programs, whole process (median of ${report.reps} repetition(s), short ones sampled more${report.quick ? '; quick settings' : ''})`];
  out.push(...rows.map((r) => r.map((x, c) => (c === 0 ? String(x).padEnd(widths[c]) : String(x).padStart(widths[c]))).join('  ').trimEnd()));
  out.push('(rv/P: ringvisor\'s time / P\'s time, lower is better; off/qemu: ringvisor --jit off\'s time / qemu-riscv64\'s)');
  for (const w of report.workloads) {
    const notes = PROGRAM_PEERS.filter((p) => w.peers[p]?.notApplicable || w.peers[p]?.missing).map((p) => `${PROGRAM_PEER_LABELS[p]} ${w.peers[p].notApplicable ? 'n/a' : 'missing'}: ${w.peers[p].notApplicable ?? w.peers[p].missing}`);
    const ratings = PROGRAM_PEERS.filter((p) => w.peers[p]?.rating !== undefined).map((p) => `${PROGRAM_PEER_LABELS[p]} ${w.peers[p].rating}`);
    if (ratings.length) notes.unshift(`7-Zip's own rating (MIPS): ${ratings.join(', ')}`);
    for (const n of notes) out.push(`  ${w.name}: ${n}`);
  }
  if (report.notBuilt) out.push(`programs: missing: ${report.notBuilt}`);
  return out.join('\n');
}

// ---- the command line ----

function gitCommit() {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  return r.stdout.trim() + (dirty ? '+changes' : '');
}

const USAGE = `usage: node bench/programs.mjs [--quick] [--reps N] [--only A,B] [--without P,Q] [--out FILE]
  --quick       small settings (jq's base64.test, 7zz -mtic=20, one sample of the short ones)
  --reps N      repetitions (default 3)
  --only A,B    only these programs (${PROGRAM_NAMES.join(', ')})
  --without P   leave out peers (jitOff, qemu, native)
  --out FILE    the JSON report (default bench/results/programs/latest.json; partial.json for a --quick, --only or --without run)
`;

async function main(argv) {
  const o = { reps: 3, quick: false, only: undefined, without: [], out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--reps') { o.reps = Number(value()); if (!(Number.isInteger(o.reps) && o.reps > 0)) throw new Error(`bad --reps '${argv[i]}'`); }
    else if (a === '--only') {
      o.only = value().split(',').filter(Boolean);
      for (const n of o.only) if (!PROGRAM_NAMES.includes(n)) throw new Error(`unknown program '${n}'`);
    }
    else if (a === '--without') o.without = value().split(',').filter(Boolean);
    else if (a === '--out') o.out = value();
    else if (a === '-h' || a === '--help') { process.stdout.write(USAGE); return 0; }
    else throw new Error(`unknown option ${a}`);
  }
  for (const p of o.without) if (!PROGRAM_PEERS.includes(p) || p === 'ringvisor') throw new Error(`cannot leave out '${p}'`);
  const partial = o.quick || o.only !== undefined || o.without.length > 0;
  const out = o.out ?? join(ROOT, 'bench/results/programs', partial ? 'partial.json' : 'latest.json');
  const failures = [];
  const loadBefore = loadavg();
  const startedAt = new Date();
  const tty = process.stderr.isTTY;
  const report = runPrograms({ ...o, failures, progress: (s) => process.stderr.write(tty ? `\r\x1b[K${s}` : `${s}\n`) });
  if (tty) process.stderr.write('\r\x1b[K');
  const results = {
    schema: 1,
    command: `node bench/programs.mjs ${argv.join(' ')}`.trim(),
    date: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    commit: gitCommit(),
    partial,
    host: {
      cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, platform: `${platform()} ${arch()}`, node: process.version,
      loadavg: { before: loadBefore.map((x) => +x.toFixed(2)), after: loadavg().map((x) => +x.toFixed(2)) },
    },
    programs: report,
    failures,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`${renderProgramsTable(report)}\nresults: ${out}\n`);
  if (failures.length) {
    const bar = '!'.repeat(72);
    process.stderr.write(`\n${bar}\nBENCHMARK FAILED: ${failures.length} problem(s); the figures above are not to be trusted\n`);
    for (const f of failures) process.stderr.write(`  ${f.workload}${f.peer ? ` (${PROGRAM_PEER_LABELS[f.peer]}${f.rep ? `, rep ${f.rep}` : ''})` : ''}: ${f.message}\n`);
    process.stderr.write(`${bar}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  removeNodeStartVariables(); // (what every Node process would pay at its start)
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`programs: ${e.message}\n${USAGE}`);
    process.exitCode = 2;
  }
}
