// A TranslationService (src/cpu/jit/jit.ts) that emits and compiles in a
// worker thread, so that the guest's thread only finds regions and installs
// finished modules: translation stops costing the guest its time, on any
// machine with a second core.
//
// Requests go to the worker one entry each, as they come; the worker takes
// every request waiting when it gets to them and makes them one module (so
// a burst of hot entries costs one module, not one each). Results come back
// on a channel of their own, which the guest's thread reads with
// receiveMessageOnPort whenever the CPU stops, without waiting for the event
// loop (a guest that computes for seconds never yields to it). A compiled
// WebAssembly.Module passes between threads with its code.
import { builtin } from './builtin.js';
import type { Worker, MessagePort } from 'node:worker_threads';
import type { TranslationRequest, TranslationResult, TranslationService } from '../cpu/jit/jit.js';

// node:worker_threads is loaded with the first request: a program that ends
// before its warm-up never loads it (some 5 ms of a short program's start).
let threads: typeof import('node:worker_threads') | undefined;
const workerThreads = () => threads ??= builtin<typeof import('node:worker_threads')>('node:worker_threads');

type Done = (result: TranslationResult | Error) => void;

/** WorkerTranslationService's startAfterMs. Against 0 and 150 it measured
 *  within the noise (bench/thresholds.mjs --option --jit-worker;
 *  docs/PERFORMANCE.md, "What to translate, and where", item 8): what
 *  counts is that the guest's thread translates while the worker starts. */
export const DEFAULT_START_AFTER_MS = 50;

/** The service a `--jit-worker` setting (cli/options.ts parseJitWorker)
 *  asks for, with `jitThreshold` visits (0: translation off; undefined:
 *  the default, on): none for `off` or no translation; `cpuModule` is
 *  called only when one is made. */
export function workerServiceFor(setting: 'on' | 'off' | number, jitThreshold: number | undefined, cpuModule: () => WebAssembly.Module): WorkerTranslationService | undefined {
  if (setting === 'off' || jitThreshold === 0) return undefined;
  return new WorkerTranslationService(cpuModule(), undefined, setting === 'on' ? undefined : setting);
}

/** What the worker sends first, once it can translate. */
export interface ReadyReply { ready: true }

/** The worker's answer to the requests `ids`, which had `counts` entries. */
export interface BatchReply {
  ids: number[];
  counts: number[];
  result?: TranslationResult;
  error?: string;
}

export class WorkerTranslationService implements TranslationService {
  /** Entries per request: each goes at once, as an entry left waiting for
   *  others would run interpreted meanwhile (the worker batches). */
  readonly batchSize = 1;
  private worker: Worker | undefined;
  private requests: MessagePort | undefined;
  private results: MessagePort | undefined;
  private readonly waiting = new Map<number, Done>();
  private next = 0;
  private failure: Error | undefined;
  /** The worker has said it can translate (ReadyReply). */
  private workerReady = false;

  /** `cpuModule`: the compiled CPU (the worker expands compressed
   *  instructions with it); `script`: the worker's code
   *  (translation-thread.js beside this file); `startAfterMs`: how long
   *  the Jit translates in its own thread before the worker is started
   *  (ready). */
  constructor(
    private readonly cpuModule: WebAssembly.Module,
    private readonly script: URL = new URL('./translation-thread.js', import.meta.url),
    private readonly startAfterMs = DEFAULT_START_AFTER_MS,
  ) {}

  /** The thread starts with the first request: a program that ends before
   *  its warm-up (Cpu.jitWarmup) never pays for one. */
  private start(): Worker {
    const { Worker, MessageChannel } = workerThreads();
    const results = new MessageChannel(), requests = new MessageChannel();
    this.results = results.port1;
    this.requests = requests.port1;
    const worker = new Worker(this.script, {
      workerData: { results: results.port2, requests: requests.port2, cpuModule: this.cpuModule },
      transferList: [results.port2, requests.port2],
    });
    // None keeps the host process alive: a finished guest ends it.
    worker.unref();
    results.port1.unref();
    requests.port1.unref();
    worker.on('error', (e) => { this.failure = e; });
    worker.on('exit', (code) => { this.failure ??= new Error(`translation worker exited (${code})`); });
    return (this.worker = worker);
  }

  get outstanding(): number { return this.waiting.size; }

  /** The Jit translates in the guest's thread until it has spent
   *  `startAfterMs` there; then the worker starts, and is ready once it has
   *  loaded its code (some 50-100 ms, the Jit translating meanwhile). A
   *  worker costs its start and a translator whose code is cold, and a
   *  short program's first hot code waited for both, running interpreted
   *  (docs/PERFORMANCE.md, "What to translate, and where", item 8). A worker that
   *  failed is "ready": its requests are refused at once. */
  ready(msHere: number): boolean {
    if (this.workerReady || this.failure) return true;
    if (msHere < this.startAfterMs) return false;
    if (this.worker === undefined) this.start();
    const m = workerThreads().receiveMessageOnPort(this.results!)?.message as ReadyReply | undefined;
    if (m?.ready) this.workerReady = true;
    return this.workerReady;
  }

  /** Why the worker stopped, if it has (its requests are then refused). */
  get failed(): Error | undefined { return this.failure; }

  submit(request: TranslationRequest, done: Done): void {
    if (this.failure) { done(this.failure); return; }
    const id = this.next++;
    this.waiting.set(id, done);
    if (this.worker === undefined) this.start();
    // The code copies go over without being copied again.
    const buffers = new Set(request.entries.flatMap((e) => e.pages.map((p) => p.bytes.buffer as ArrayBuffer)));
    this.requests!.postMessage({ id, request }, [...buffers]);
  }

  pump(): void {
    if (this.results === undefined) return;
    const { receiveMessageOnPort } = workerThreads();
    for (;;) {
      if (this.results === undefined) break;
      const m = receiveMessageOnPort(this.results)?.message as BatchReply | ReadyReply | undefined;
      if (m === undefined) break;
      if ('ready' in m) { this.workerReady = true; continue; }
      // One module for several requests: each gets its own entries.
      let from = 0;
      m.ids.forEach((id, i) => {
        const done = this.waiting.get(id);
        this.waiting.delete(id);
        const n = m.counts[i];
        const r = m.result && { ...m.result, entries: m.result.entries.slice(from, from + n), bytes: i === 0 ? m.result.bytes : 0, ms: i === 0 ? m.result.ms : 0 };
        from += n;
        done?.(r ?? new Error(`translation worker: ${m.error}`));
      });
    }
    // A worker that died leaves nothing to wait for: the interpreter runs on.
    if (this.failure && this.waiting.size > 0) {
      const all = [...this.waiting.values()];
      this.waiting.clear();
      for (const done of all) done(this.failure);
    }
  }

  /** Stops the worker (what it still has out is not used). */
  async close(): Promise<void> {
    this.waiting.clear();
    this.results?.close();
    this.requests?.close();
    await this.worker?.terminate();
  }
}
