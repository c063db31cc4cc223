// The worker thread of translation-worker.ts: translates the hot entries it
// is sent (finding each region in the code copies that came with it,
// emitting, compiling), every request waiting at that moment in one module,
// and has V8 compile every function before sending the module back, so
// that the guest's thread finds the code ready.
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { translateBatch, type TranslationRequest } from '../cpu/jit/jit.js';
import type { BatchReply, ReadyReply } from './translation-worker.js';

const { results, requests, cpuModule } = workerData as { results: MessagePort; requests: MessagePort; cpuModule: WebAssembly.Module };

// Compressed instructions are expanded by the CPU's own code: an instance of
// the same module, whose memory (two pages to start) nothing else uses.
const cpu = new WebAssembly.Instance(cpuModule, { env: { abort: () => { throw new Error('CPU assertion failed'); } } });
const expand = cpu.exports.expandCompressed as (parcel: number) => number;

// V8 compiles a function of a module on its first call (lazy compilation),
// in the thread that calls it, and the compiled code belongs to the module
// wherever it goes. So each function is called here once, on a memory of
// its own with no budget: it loads registers, finds no budget for its
// first block and stores them back, all in this scratch page.
// (Nothing is called through its table: no helper, no chained region.)
// Each instance gets an empty table of its own: an instance that imports a
// table lives as long as the table does (jit.ts, "Generations").
const scratch = new WebAssembly.Memory({ initial: 1 });

type Message = { id: number; request: TranslationRequest };

/** The requests are for the same machine (their config): one batch. */
function sameConfig(a: TranslationRequest, b: TranslationRequest): boolean {
  return JSON.stringify(a.config) === JSON.stringify(b.config);
}

function answer(batch: Message[]): void {
  const reply: BatchReply = { ids: batch.map((m) => m.id), counts: batch.map((m) => m.request.entries.length) };
  try {
    const request = { config: batch[0].request.config, entries: batch.flatMap((m) => m.request.entries) };
    const result = translateBatch(request, expand);
    if (result.module) {
      const started = performance.now();
      const table = new WebAssembly.Table({ initial: 0, element: 'anyfunc' });
      const exports = new WebAssembly.Instance(result.module, { cpu: { memory: scratch, table } }).exports;
      for (const e of result.entries) if (e) (exports[String(e.function)] as (left: bigint) => bigint)(0n);
      result.ms += performance.now() - started;
    }
    reply.result = result;
  } catch (e) {
    reply.error = e instanceof Error ? e.message : String(e);
  }
  results.postMessage(reply);
}

// The guest's thread translates in its own until it hears this.
results.postMessage({ ready: true } satisfies ReadyReply);

requests.on('message', (first: Message) => {
  // Every request that came while the last batch was made goes in this one.
  const waiting: Message[] = [first];
  for (let m; (m = receiveMessageOnPort(requests)); ) waiting.push(m.message as Message);
  while (waiting.length > 0) {
    const batch = waiting.filter((m) => sameConfig(m.request, waiting[0].request));
    answer(batch);
    for (const m of batch) waiting.splice(waiting.indexOf(m), 1);
  }
});
