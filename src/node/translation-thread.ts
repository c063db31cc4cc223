// The worker thread of translation-worker.ts: translates each batch of hot
// entries it is sent (finding each region in the code copies that came
// with it, emitting, compiling), and has V8 compile every function before
// sending the module back, so that the guest's thread finds the code ready.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { translateBatch, type TranslationRequest } from '../cpu/jit/jit.js';
import { HELPERS } from '../cpu/jit/translate.js';

const { results, cpuModule } = workerData as { results: MessagePort; cpuModule: WebAssembly.Module };

// Compressed instructions are expanded by the CPU's own code: an instance of
// the same module, whose memory (two pages to start) nothing else uses.
const cpu = new WebAssembly.Instance(cpuModule, { env: { abort: () => { throw new Error('CPU assertion failed'); } } });
const expand = cpu.exports.expandCompressed as (parcel: number) => number;

// V8 compiles a function of a module on its first call (lazy compilation),
// in the thread that calls it, and the compiled code belongs to the module
// wherever it goes. So each function is called here once, on a memory of
// its own with no budget: it loads registers, finds no budget for its
// first block and stores them back, all in this scratch page.
const scratch: WebAssembly.Imports = { cpu: { memory: new WebAssembly.Memory({ initial: 1 }) } };
for (const h of HELPERS) (scratch.cpu as Record<string, unknown>)[h] = () => { throw new Error(`translation-thread: ${h} called with no budget`); };

parentPort!.on('message', (m: { id: number; request: TranslationRequest }) => {
  try {
    const result = translateBatch(m.request, expand);
    if (result.module) {
      const started = performance.now();
      const exports = new WebAssembly.Instance(result.module, scratch).exports;
      for (const e of result.entries) if (e) (exports[String(e.function)] as (left: bigint) => bigint)(0n);
      result.ms += performance.now() - started;
    }
    results.postMessage({ id: m.id, result });
  } catch (e) {
    results.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
