#!/usr/bin/env node
// What the host keeps of translations that are gone. One CPU (a process
// VM's memory mode) runs a small loop at threshold 1 over and over, each
// round with a new immediate written over the last round's code in one of
// 64 pages: every round drops a translation and makes a module of a new
// one. Every `every` rounds, after a full collection when Node was started
// with --expose-gc, it prints the process's memory mappings, its resident
// size, the JavaScript heap in use, the modules made so far, how many of
// their instances are still alive (held by WeakRefs: an instance that is
// gone is counted out only after a full collection), and how many times
// the translation cache filled and was emptied.
//
//   npm run build && node --expose-gc bench/translation-churn.mjs [rounds=16001] [every=2000] [--cache MODULES]
//   node --expose-gc bench/translation-churn.mjs --v8 [rounds=20001] [every=5000]
//
// --cache: the CPU's translationCacheLimit in modules (without it, the
// CPU's default: DEFAULT_CACHE_LIMIT).
//
// --v8 shows why without ringvisor: the heap after as many instances of a
// one-function module, dropped at once, with no imports, with an import of
// one table that outlives them, and with an import of a new table each.
// Under Node 20, V8 keeps alive every instance that imports a table for as
// long as the table lives. Modules of translations once imported the
// CPU's function table, and every one ever made stayed in memory with the
// CPU; now they import a generation's table, which goes with them when
// the cache is emptied (src/cpu/jit/jit.ts, "Generations"): the instances
// alive are at most those made since then.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const USAGE = 'usage: node --expose-gc bench/translation-churn.mjs [rounds=16001] [every=2000] [--cache MODULES]\n'
  + '       node --expose-gc bench/translation-churn.mjs --v8 [rounds=20001] [every=5000]\n';
const v8Only = process.argv[2] === '--v8';
const args = process.argv.slice(v8Only ? 3 : 2);
const cacheAt = v8Only ? -1 : args.indexOf('--cache');
const cache = cacheAt >= 0 ? Number(args.splice(cacheAt, 2)[1]) : undefined;
const [rounds, every] = [args[0] ?? (v8Only ? '20001' : '16001'), args[1] ?? (v8Only ? '5000' : '2000')].map(Number);
if (!(Number.isInteger(rounds) && rounds > 0 && Number.isInteger(every) && every > 0 && (cache === undefined || (Number.isInteger(cache) && cache > 0))) || args.length > 2) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const mib = (n) => (n / 2 ** 20).toFixed(0);
/** Heap in use and resident size in MiB, after a full collection if Node allows one. */
function sample() {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap: mib(m.heapUsed), rss: mib(m.rss) };
}

if (v8Only) {
  // (func (export "f") (result i32) i32.const i), i the instance's number
  // (every module's bytes differ, as translations' do; each is called
  // once, so it is compiled), with or without (import "e" "t" (table 1
  // funcref)).
  const shared = new WebAssembly.Table({ initial: 1, element: 'anyfunc' });
  const kinds = {
    'no imports:': undefined,
    'importing one table:': () => shared,
    'importing a new table each:': () => new WebAssembly.Table({ initial: 1, element: 'anyfunc' }),
  };
  for (const [title, table] of Object.entries(kinds)) {
    console.log(title);
    for (let i = 0; i < rounds; i++) {
      const leb = [0x80 | (i & 0x7f), 0x80 | ((i >> 7) & 0x7f), 0x80 | ((i >> 14) & 0x7f), (i >> 21) & 0x7f];
      const bytes = new Uint8Array([
        0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127,
        ...(table ? [2, 9, 1, 1, 101, 1, 116, 1, 112, 0, 1] : []),
        3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 9, 1, 7, 0, 65, ...leb, 11,
      ]);
      const { f } = new WebAssembly.Instance(new WebAssembly.Module(bytes), table ? { e: { t: table() } } : {}).exports;
      if (f() !== i) throw new Error(`instance ${i} answered ${f()}`);
      if (i % every === 0) {
        const { heap, rss } = sample();
        console.log(`  ${String(i).padStart(7)} instances made: heap ${heap} MiB, rss ${rss} MiB`);
      }
    }
  }
  process.exit(0);
}

// Every instance of a module of translations (the only instances that
// import `cpu.table`), held weakly.
let instances = [];
const Instance = WebAssembly.Instance;
WebAssembly.Instance = class extends Instance {
  constructor(module, imports) {
    super(module, imports);
    if (imports?.cpu?.table) instances.push(new WeakRef(this));
  }
};
/** Instances of translations still alive: a WeakRef made in this job
 *  keeps its target to the job's end, so this one ends first. */
async function alive() {
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc?.();
  instances = instances.filter((w) => w.deref() !== undefined);
  return instances.length;
}

const { Cpu, MemoryMode, Perm, ExitControl, ExitReason } = await import(`${ROOT}dist/cpu/cpu.js`);
const { loadCpuModule } = await import(`${ROOT}dist/node/load.js`);

const RAM = 0x8000_0000n;
const cpu = new Cpu(loadCpuModule('release'));
cpu.configureRam(RAM, 0x10_0000n);
cpu.exitControls = ExitControl.EcallU | ExitControl.Ebreak;
cpu.memoryMode = MemoryMode.PagePermissions;
const slot = cpu.slotBytes, first = Number(RAM / BigInt(slot));
for (let i = 0; (i + 2) * slot <= Number(cpu.ramLength); i++) cpu.setSlot(first + i, (i + 1) * slot);
cpu.jitThreshold = 1;
if (cache !== undefined) cpu.translationCacheLimit = { modules: cache, bytes: cpu.translationCacheLimit.bytes };

const mappings = () => readFileSync('/proc/self/maps', 'utf8').trimEnd().split('\n').length;
console.log(`rounds  mappings  rss MiB  heap MiB  modules    alive  flushes${globalThis.gc ? '' : '   (no --expose-gc: heap without a full collection)'}`);
for (let r = 0; r < rounds; r++) {
  // li t0, 50; loop: addi t1, t1, k; addi t0, t0, -1; bnez t0, loop; ebreak
  const k = 1 + (r % 2000);
  const words = new Uint32Array([0x03200293, (k << 20) | (6 << 15) | (6 << 7) | 0x13, 0xfff28293, 0xfe029ce3, 0x00100073]);
  const at = RAM + BigInt((r % 64) * 0x1000);
  cpu.writeBytes(at, new Uint8Array(words.buffer));
  cpu.setPagePermissions(at, words.byteLength, Perm.R | Perm.X);
  cpu.pc = at;
  while (cpu.run(1_000_000n) === ExitReason.Budget); // to the ebreak
  if (r % every === 0) {
    const live = await alive();
    const { heap, rss } = sample();
    console.log([r, mappings(), rss, heap, cpu.jitStats?.modules ?? 0, live, cpu.jitStats?.flushes ?? 0].map((v) => String(v).padStart(7)).join('  '));
  }
}
