// Times every WebAssembly module compiled and instantiated in the guest's
// thread of a run (the CPU's module first, then one per batch of
// translations), printed to stderr at exit. A preload, not a workload:
//   node --import ./bench/wasm-compile-times.mjs dist/cli/main.js run PROGRAM...
// (docs/PERFORMANCE.md, "What to translate, and where", item 9.)
const compiles = [];
const instances = [];
const tables = []; // the length of the table each instance imports

const Module = WebAssembly.Module;
WebAssembly.Module = class extends Module {
  constructor(bytes) {
    const started = performance.now();
    super(bytes);
    compiles.push({ ms: performance.now() - started, bytes: bytes.byteLength });
  }
};
const Instance = WebAssembly.Instance;
WebAssembly.Instance = class extends Instance {
  constructor(module, imports) {
    const started = performance.now();
    super(module, imports);
    instances.push(performance.now() - started);
    tables.push(imports?.cpu?.table?.length ?? 0);
  }
};

process.on('exit', () => {
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const [cpu, ...regions] = compiles;
  const lines = [
    `wasm-compile-times: CPU module ${cpu ? `${cpu.ms.toFixed(2)} ms (${cpu.bytes} bytes)` : 'none'}`,
    `wasm-compile-times: ${regions.length} translation modules, ${sum(regions.map((c) => c.ms)).toFixed(1)} ms in all, median ${median(regions.map((c) => c.ms)).toFixed(3)} ms, median size ${median(regions.map((c) => c.bytes))} bytes`,
    `wasm-compile-times: ${instances.length} instances, ${sum(instances).toFixed(1)} ms in all`,
  ];
  // V8 (Node 20) copies the table an instance imports into the instance:
  // an instance costs more as the table grows.
  for (const [low, high] of [[1, 256], [257, 1024], [1025, Infinity]]) {
    const ms = instances.filter((_, i) => tables[i] >= low && tables[i] <= high);
    if (ms.length > 0) lines.push(`wasm-compile-times: importing a table of ${low}-${high === Infinity ? '' : high} entries: ${ms.length} instances, median ${(median(ms) * 1000).toFixed(0)} us`);
  }
  process.stderr.write(lines.join('\n') + '\n');
});
