#!/usr/bin/env node
// What compiling a small module costs with the 13 helper imports a module of
// translations once had, and with none (what it has now: helpers are called
// through the table). Each module's bytes differ (V8 caches a module by its
// bytes), each holds two functions of the regions' type.
//   npm run build && node bench/module-imports.mjs [modules=300]
// (docs/PERFORMANCE.md, "What to translate, and where", item 9.)
import { moduleBytes, I32, I64 } from '../dist/cpu/jit/wasm-writer.js';

const count = Number(process.argv[2] ?? 300);
if (!Number.isInteger(count) || count < 10) {
  process.stderr.write('usage: node bench/module-imports.mjs [modules=300]\n');
  process.exit(2);
}
const binary = { params: [I64, I64], results: [I64] }, unary = { params: [I64], results: [I64] };
const signatures = [...Array(9).fill(binary), unary, unary, { params: [I32], results: [I32] }, { params: [I64, I32], results: [I64] }];
const helperImports = signatures.map((s, i) => ({ module: 'cpu', name: `h${i}`, ...s }));

/** A function body of one i64 local: `i64.const k; drop; local.get 0`. */
const body = (k) => new Uint8Array([0x01, 0x01, 0x7e, 0x42, k & 0x3f, 0x1a, 0x20, 0x00, 0x0b]);

function medianCompileMs(functions, salt) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const n = i + salt * count;
    const bytes = moduleBytes({
      memory: { module: 'cpu', name: 'memory' }, table: { module: 'cpu', name: 'table' }, functions,
      params: [I64], results: [I64], bodies: [body(n), body(n >> 6), body(n >> 12)],
    });
    const started = performance.now();
    new WebAssembly.Module(bytes);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[count >> 1];
}

// Alternating, twice each, so that drift falls on both.
const rows = [];
for (let round = 0; round < 2; round++) {
  rows.push(['13 imported functions', medianCompileMs(helperImports, 2 * round)]);
  rows.push(['no imported functions', medianCompileMs([], 2 * round + 1)]);
}
for (const [what, ms] of rows) process.stdout.write(`${what}: median ${ms.toFixed(3)} ms a module (${count} modules)\n`);
