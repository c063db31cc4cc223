// A TranslationService (src/cpu/jit/jit.ts) that emits and compiles in a
// worker thread, so that the guest's thread only finds regions and installs
// finished modules: translation stops costing the guest its time, on any
// machine with a second core.
//
// Requests go to the worker as messages; results come back on a channel
// of their own, which the guest's thread reads with receiveMessageOnPort
// whenever the CPU stops, without waiting for the event loop (a guest that
// computes for seconds never yields to it). A compiled WebAssembly.Module
// passes between threads with its code.
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { TranslationRequest, TranslationResult, TranslationService } from '../cpu/jit/jit.js';

type Done = (result: TranslationResult | Error) => void;

export class WorkerTranslationService implements TranslationService {
  /** Entries per request (one module each): each goes at once, as an
   *  entry left waiting for others would run interpreted meanwhile. */
  readonly batchSize = 1;
  private worker: Worker | undefined;
  private results: MessagePort | undefined;
  private readonly waiting = new Map<number, Done>();
  private next = 0;
  private failure: Error | undefined;

  /** `cpuModule`: the compiled CPU (the worker expands compressed
   *  instructions with it); `script`: the worker's code
   *  (translation-thread.js beside this file). */
  constructor(private readonly cpuModule: WebAssembly.Module, private readonly script: URL = new URL('./translation-thread.js', import.meta.url)) {}

  /** The thread starts with the first request: a program that ends before
   *  its warm-up (Cpu.jitWarmup) never pays for one. */
  private start(): Worker {
    const { port1, port2 } = new MessageChannel();
    this.results = port1;
    const worker = new Worker(this.script, { workerData: { results: port2, cpuModule: this.cpuModule }, transferList: [port2] });
    // Neither keeps the host process alive: a finished guest ends it.
    worker.unref();
    port1.unref();
    worker.on('error', (e) => { this.failure = e; });
    worker.on('exit', (code) => { this.failure ??= new Error(`translation worker exited (${code})`); });
    return (this.worker = worker);
  }

  get outstanding(): number { return this.waiting.size; }

  /** Why the worker stopped, if it has (its requests are then refused). */
  get failed(): Error | undefined { return this.failure; }

  submit(request: TranslationRequest, done: Done): void {
    if (this.failure) { done(this.failure); return; }
    const id = this.next++;
    this.waiting.set(id, done);
    (this.worker ?? this.start()).postMessage({ id, request });
  }

  pump(): void {
    for (;;) {
      if (this.results === undefined) break;
      const m = receiveMessageOnPort(this.results)?.message as { id: number; result?: TranslationResult; error?: string } | undefined;
      if (m === undefined) break;
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(m.result ?? new Error(`translation worker: ${m.error}`));
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
    await this.worker?.terminate();
  }
}
