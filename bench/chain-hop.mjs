#!/usr/bin/env node
// What a chained call between translations costs, three ways, in
// nanoseconds per call: a function `(left: i64) -> i64` that counts `left`
// down and tail-calls the next "region" (another instance of its module,
// as translations are) until it reaches 0.
//
//   direct      return_call_indirect through a table the module imports
//               (what translations do: their generation's table,
//               src/cpu/jit/jit.ts, "Generations")
//   trampoline  return_call_indirect through a table of the module's own
//               to a trampoline, one instance that alone imports the
//               shared table and makes the same tail call through it
//   imported    return_call to the same trampoline, imported as a function
//
// The second and third free each module as soon as its translation goes
// (no module imports a shared table), at the price of the extra hop.
//
//   npm run build && node bench/chain-hop.mjs [calls=20000000] [rounds=4]
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { Code, Op, functionBody, moduleBytes, I64, I32 } = await import(`${ROOT}dist/cpu/jit/wasm-writer.js`);

const [calls, rounds] = [process.argv[2] ?? '20000000', process.argv[3] ?? '4'].map(Number);
if (!(Number.isInteger(calls) && calls > 0 && Number.isInteger(rounds) && rounds > 0) || process.argv.length > 4) {
  process.stderr.write('usage: node bench/chain-hop.mjs [calls=20000000] [rounds=4]\n');
  process.exit(2);
}

const memory = new WebAssembly.Memory({ initial: 1 });
const shared = new WebAssembly.Table({ initial: 2, element: 'anyfunc' });
const REGION = { params: [I64], results: [I64] };
const CHAIN = { params: [I64, I32], results: [I64] };
/** if left == 0: return 0; else left - 1, then `chain` (entry 1 of the shared table). */
function region(chain) {
  const c = new Code().get(0).op(Op.i64_eqz).if().i64(0n).op(Op.return).end().get(0).i64(1n).op(Op.i64_sub);
  chain(c);
  return functionBody([], c);
}
const compile = (spec) => new WebAssembly.Module(moduleBytes({ memory: { module: 'cpu', name: 'memory' }, functions: [], ...spec }));

const trampoline = new WebAssembly.Instance(compile({
  types: [REGION], table: { module: 'cpu', name: 'table' }, ...CHAIN,
  bodies: [functionBody([], new Code().get(0).get(1).returnCallIndirect(0, 0))],
}), { cpu: { memory, table: shared } }).exports['0'];

const modules = {
  direct: compile({ table: { module: 'cpu', name: 'table' }, ...REGION, bodies: [region((c) => c.i32(1).returnCallIndirect(0, 0))] }),
  trampoline: compile({
    types: [CHAIN], table: { module: 'own', name: 'table' }, ...REGION,
    bodies: [region((c) => c.i32(1).i32(0).returnCallIndirect(0, 0))],
  }),
  imported: compile({
    functions: [{ module: 'own', name: 'chain', ...CHAIN }], ...REGION,
    bodies: [region((c) => c.i32(1).byte(0x12).u32(0))], // return_call 0
  }),
};
function instance(kind) {
  let own;
  if (kind === 'direct') own = {};
  else if (kind === 'trampoline') {
    const table = new WebAssembly.Table({ initial: 1, element: 'anyfunc' });
    table.set(0, trampoline);
    own = { own: { table } };
  } else own = { own: { chain: trampoline } };
  return new WebAssembly.Instance(modules[kind], { cpu: { memory, table: shared }, ...own }).exports['0'];
}

const kinds = Object.keys(modules);
const pairs = Object.fromEntries(kinds.map((k) => [k, [instance(k), instance(k)]]));
const times = Object.fromEntries(kinds.map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const k of r % 2 ? [...kinds].reverse() : kinds) {
    // The first instance chains to the second (entry 1), which chains to itself.
    shared.set(1, pairs[k][1]);
    const started = performance.now();
    if (pairs[k][0](BigInt(calls)) !== 0n) throw new Error(`${k}: a chain did not end at 0`);
    times[k].push(((performance.now() - started) * 1e6) / calls);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`${calls} chained calls, ${rounds} alternating rounds, node ${process.version}: ns per call (median, each round)`);
for (const k of kinds) console.log(`${k.padEnd(11)} ${median(times[k]).toFixed(2).padStart(6)}   ${times[k].map((t) => t.toFixed(2)).join(' ')}`);
