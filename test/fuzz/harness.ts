// The fuzzing harness: seeded, reproducible, no library. A target turns an
// input (bytes) into one run of the code under test and says what, if
// anything, went wrong; the harness replays the committed corpus, then
// mutates inputs (the corpus, the target's seeds, and inputs it generates
// from scratch) for a number of iterations or a time budget.
//
// Every input is bytes, libFuzzer-style: a target decodes what it needs from
// them (ByteReader), so one corpus format, one set of byte mutators and one
// way of saving a failure serve the ELF loader, system calls and devices
// alike; targets add structured mutators that know their format.
//
// What counts as a failure: the target's own verdict (an exception that is
// not the typed error its code must throw, a sandbox escape, a broken
// invariant), an input that takes longer than `slowMs` (a hang bounded by
// the target's own instruction or step limits still shows here), and an
// input after which ArrayBuffer memory stays more than `maxAllocBytes` above
// where it started (an allocation the input sized). A host loop that never
// ends cannot be caught from inside the same thread: `npm run fuzz` runs
// each target in a child process and kills it when its heartbeat stops
// (scripts/fuzz.mjs), saving the input it was on.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../support/prng.js';
import { readCheckpoint, writeCheckpoint, type MachineId, type Section } from '../../src/hypervisor/checkpoint-file.js';

export { Rng };

/** One input to try, with a name for reports. */
export interface NamedInput { name: string; bytes: Uint8Array }

export interface FuzzTarget {
  name: string;
  /** Inputs to start from besides the corpus (real files, generated ones). */
  seeds(rng: Rng): NamedInput[];
  /** A new input from scratch. */
  generate(rng: Rng): Uint8Array;
  /** Structured mutations (the harness adds byte-level ones). */
  mutate?(input: Uint8Array, rng: Rng): Uint8Array;
  /** Runs one input; returns what went wrong, or undefined. Must not throw
   *  (the harness reports a throw as a failure anyway). */
  run(input: Uint8Array): string | undefined;
  /** Called once after the last input (release VMs, temp dirs). */
  close?(): void;
}

export interface FuzzOptions {
  seed: string;
  /** Stop after this many mutated inputs… */
  iterations?: number;
  /** …or after this many milliseconds, whichever comes first. */
  timeMs?: number;
  /** An input slower than this is a failure (default 5000). */
  slowMs?: number;
  /** ArrayBuffer bytes an input may leave allocated (default 256 MiB). */
  maxAllocBytes?: number;
  /** The committed corpus, replayed first: every file in it. */
  corpusDir: string;
  /** A file or directory of inputs to run instead of fuzzing (after the corpus). */
  replay?: string;
  /** Where to save failing inputs (default: not saved). */
  saveDir?: string;
  /** Written before each input: its length (u32) and bytes (`npm run
   *  fuzz`'s watchdog watches it and saves the input of a hang). */
  heartbeatFile?: string;
}

export interface Failure {
  /** "corpus:<file>", "seed:<name>" or "iteration <n>". */
  where: string;
  problem: string;
  input: Uint8Array;
  /** Where it was saved, when it was. */
  file?: string;
}

export interface FuzzReport {
  target: string;
  seed: string;
  corpusRuns: number;
  iterations: number;
  ms: number;
  failures: Failure[];
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** The committed corpus of a target: every file in `dir`, sorted. */
export function readCorpus(dir: string): NamedInput[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) return [{ name: dir, bytes: new Uint8Array(readFileSync(dir)) }];
  // (Notes beside the inputs — README.md, a found input's .txt — are not inputs.)
  return readdirSync(dir).filter((f) => !f.startsWith('.') && !f.endsWith('.md') && !f.endsWith('.txt')).sort()
    .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(dir, f))) }));
}

// The heartbeat: the input about to run, as a u32 length and the bytes, at
// the start of the file (one pwrite per input; its mtime is the beat).
let heartbeat: { file: string; fd: number } | undefined;
function beat(file: string, input: Uint8Array): void {
  if (heartbeat?.file !== file) heartbeat = { file, fd: openSync(file, 'w') };
  const out = new Uint8Array(4 + input.length);
  new DataView(out.buffer).setUint32(0, input.length, true);
  out.set(input, 4);
  writeSync(heartbeat.fd, out, 0, out.length, 0);
}

/** Runs one input under the harness's checks. */
function check(target: FuzzTarget, input: Uint8Array, opts: FuzzOptions): string | undefined {
  if (opts.heartbeatFile !== undefined) beat(opts.heartbeatFile, input);
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  let problem: string | undefined;
  try {
    problem = target.run(input);
  } catch (e) {
    problem = `the harness caught ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e)}`;
  }
  const ms = performance.now() - t0;
  if (problem === undefined && ms > (opts.slowMs ?? 5000)) problem = `slow: ${ms.toFixed(0)} ms for one input`;
  const grew = process.memoryUsage().arrayBuffers - before;
  if (problem === undefined && grew > (opts.maxAllocBytes ?? 256 << 20)) {
    problem = `allocation: ArrayBuffers grew by ${(grew / 2 ** 20).toFixed(0)} MiB during one input`;
  }
  return problem;
}

// ---- byte-level mutators ----------------------------------------------------------------------
const INTERESTING_64: bigint[] = [
  0n, 1n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn,
  0x1_0000_0000n, 0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n, 0xffff_ffff_ffff_ffffn,
  0xffff_ffff_ffff_f000n, 0x20_0000_0000_0001n, 0x1000n, 0xfffn, 0x40n, 0x38n,
];

/** One byte-level mutation of `b` (a new array). */
export function mutateBytes(b: Uint8Array, rng: Rng, pool: readonly Uint8Array[]): Uint8Array {
  const out = Array.from(b);
  const at = () => rng.int(Math.max(out.length, 1));
  switch (rng.int(8)) {
    case 0: if (out.length) out[at()] ^= 1 << rng.int(8); break;                 // flip a bit
    case 1: if (out.length) out[at()] = rng.int(256); break;                       // a random byte
    case 2: {                                                                    // an interesting integer, 1..8 bytes
      const v = rng.pick(INTERESTING_64), n = rng.pick([1, 2, 4, 8]), p = at();
      for (let i = 0; i < n && p + i < out.length; i++) out[p + i] = Number((v >> BigInt(8 * i)) & 0xffn);
      break;
    }
    case 3: if (out.length) out.splice(at(), rng.range(1, Math.min(64, out.length))); break; // delete
    case 4: out.splice(at(), 0, ...Array.from({ length: rng.range(1, 32) }, () => rng.int(256))); break; // insert
    case 5: out.length = at(); break;                                              // truncate
    case 6: {                                                                    // splice from another input
      const o = rng.pick(pool);
      if (o.length === 0) break;
      const from = rng.int(o.length), n = rng.range(1, Math.min(256, o.length - from));
      const p = at();
      for (let i = 0; i < n; i++) { if (p + i < out.length) out[p + i] = o[from + i]; else out.push(o[from + i]); }
      break;
    }
    default: {                                                                   // add a small delta to an integer
      if (out.length < 4) break;
      const p = rng.int(out.length - 3);
      const v = (out[p] | (out[p + 1] << 8) | (out[p + 2] << 16) | (out[p + 3] << 24)) + rng.range(-16, 16);
      for (let i = 0; i < 4; i++) out[p + i] = (v >>> (8 * i)) & 0xff;
    }
  }
  return Uint8Array.from(out);
}

/** Runs a target: the corpus, the seeds, then mutated inputs. */
/** A checkpoint's structured mutation (the machine-checkpoint and
 *  process-checkpoint targets): one section's record bent by the byte
 *  mutators (then `fix`, which may put back what must not change), or,
 *  once in sixteen, the section dropped, and the container written again
 *  around it, so that the records' checks behind the checksums get the
 *  inputs. An input that is no checkpoint gets the byte mutators. */
export function mutateCheckpointSection(input: Uint8Array, rng: Rng, machine: MachineId, fix: (name: string, original: Uint8Array, mutated: Uint8Array) => Uint8Array | undefined = (_n, _o, m) => m): Uint8Array {
  let sections: Section[];
  try {
    sections = readCheckpoint(input, { machine }).sections;
  } catch {
    return mutateBytes(input, rng, [input]);
  }
  if (sections.length === 0) return input;
  const i = rng.int(sections.length), s = sections[i];
  let payload = s.payload;
  for (let k = rng.range(1, 4); k > 0; k--) payload = mutateBytes(payload, rng, [s.payload]);
  const fixed = fix(s.name, s.payload, payload);
  if (fixed === undefined) return input;
  const out = sections.slice();
  if (rng.int(16) === 0) out.splice(i, 1);
  else out[i] = { ...s, payload: fixed };
  return writeCheckpoint(machine, out);
}

/** A file format's structured mutation: the byte mutators one to three
 *  times, then, three times in four, `reseal` (checksums recomputed), so
 *  that most inputs get past the checksums to the checks behind them. */
export function mutateResealed(input: Uint8Array, rng: Rng, reseal: (b: Uint8Array) => Uint8Array): Uint8Array {
  let b = input;
  for (let k = rng.range(1, 4); k > 0; k--) b = mutateBytes(b, rng, [input]);
  return rng.int(4) === 0 ? b : reseal(b);
}

export function fuzz(target: FuzzTarget, opts: FuzzOptions): FuzzReport {
  const rng = new Rng(`${target.name}/${opts.seed}`);
  const failures: Failure[] = [];
  const t0 = performance.now();
  const fail = (where: string, problem: string, input: Uint8Array): void => {
    const f: Failure = { where, problem, input };
    if (opts.saveDir !== undefined) {
      mkdirSync(opts.saveDir, { recursive: true });
      const base = join(opts.saveDir, `${target.name}-${sha(input)}`);
      writeFileSync(base + '.bin', input);
      writeFileSync(base + '.txt', `target ${target.name}, seed ${JSON.stringify(opts.seed)}, ${where}\n${problem}\n`);
      f.file = base + '.bin';
    }
    failures.push(f);
  };
  try {
    const corpus = readCorpus(opts.corpusDir);
    for (const c of corpus) {
      const p = check(target, c.bytes, opts);
      if (p !== undefined) fail(`corpus:${c.name}`, p, c.bytes);
    }
    // Replaying (RINGVISOR_FUZZ_REPLAY): those inputs alone, then stop.
    if (opts.replay !== undefined) {
      for (const c of readCorpus(opts.replay)) {
        const p = check(target, c.bytes, opts);
        if (p !== undefined) fail(`replay:${c.name}`, p, c.bytes);
      }
      return { target: target.name, seed: opts.seed, corpusRuns: corpus.length, iterations: 0, ms: performance.now() - t0, failures };
    }
    const seeds = target.seeds(rng.fork('seeds'));
    for (const s of seeds) {
      const p = check(target, s.bytes, opts);
      if (p !== undefined) fail(`seed:${s.name}`, p, s.bytes);
    }
    const pool: Uint8Array[] = [...corpus.map((c) => c.bytes), ...seeds.map((s) => s.bytes)];
    const limit = opts.iterations ?? Number.POSITIVE_INFINITY;
    const deadline = opts.timeMs !== undefined ? t0 + opts.timeMs : Number.POSITIVE_INFINITY;
    let n = 0;
    for (; n < limit && performance.now() < deadline; n++) {
      // Each iteration has its own generator, so one can be replayed alone
      // from (seed, n) whatever came before it.
      const r = new Rng(`${target.name}/${opts.seed}/${n}`);
      let input = pool.length === 0 || r.chance(0.2) ? target.generate(r) : r.pick(pool);
      for (let k = r.range(1, 4); k > 0; k--) {
        input = target.mutate !== undefined && r.chance(0.5) ? target.mutate(input, r) : mutateBytes(input, r, pool);
      }
      const p = check(target, input, opts);
      if (p !== undefined) {
        fail(`iteration ${n}`, p, input);
        if (failures.length >= 20) { n++; break; }
      }
    }
    return { target: target.name, seed: opts.seed, corpusRuns: corpus.length + seeds.length, iterations: n, ms: performance.now() - t0, failures };
  } finally {
    target.close?.();
  }
}

/** A readable account of a report's failures, for a test's error message. */
export function describeFailures(r: FuzzReport): string {
  return r.failures.map((f) => {
    const hex = Buffer.from(f.input.subarray(0, 64)).toString('hex');
    return `${r.target} (seed ${JSON.stringify(r.seed)}) ${f.where}: ${f.problem.split('\n').slice(0, 6).join('\n    ')}\n    input ${f.input.length} bytes: ${hex}${f.input.length > 64 ? '…' : ''}${f.file ? `\n    saved as ${f.file}` : ''}`;
  }).join('\n\n');
}

/** Reads fixed-width values from an input, zeros once it runs out. */
export class ByteReader {
  private at = 0;
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean { return this.at >= this.bytes.length; }
  u8(): number { return this.at < this.bytes.length ? this.bytes[this.at++] : (this.at++, 0); }
  u16(): number { return this.u8() | (this.u8() << 8); }
  u32(): number { return (this.u16() | (this.u16() << 16)) >>> 0; }
  u64(): bigint { const lo = BigInt(this.u32()); return (BigInt(this.u32()) << 32n) | lo; }
}

/** What a run of a target does, from the environment `npm run fuzz` sets
 *  (scripts/fuzz.mjs): RINGVISOR_FUZZ_TIME (seconds) or _ITERATIONS, _SEED,
 *  _SAVE (a directory for failing inputs), _HEARTBEAT (a file written
 *  before each input, watched for hangs) and _REPLAY (inputs to rerun). Without them: `iterations` with
 *  the seed "ci", which is what `npm test` runs. */
export function budget(iterations: number, seed = 'ci'): Omit<FuzzOptions, 'corpusDir'> {
  const env = process.env;
  const time = env.RINGVISOR_FUZZ_TIME, n = env.RINGVISOR_FUZZ_ITERATIONS;
  return {
    seed: env.RINGVISOR_FUZZ_SEED ?? seed,
    ...(time !== undefined ? { timeMs: Number(time) * 1000 } : { iterations: n !== undefined ? Number(n) : iterations }),
    saveDir: env.RINGVISOR_FUZZ_SAVE,
    heartbeatFile: env.RINGVISOR_FUZZ_HEARTBEAT,
    replay: env.RINGVISOR_FUZZ_REPLAY,
  };
}

/** The vitest timeout for a fuzz test: its time budget and a margin. */
export function fuzzTimeout(): number {
  const time = Number(process.env.RINGVISOR_FUZZ_TIME ?? 0);
  return (time + 120) * 1000;
}
