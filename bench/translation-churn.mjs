#!/usr/bin/env node
// What the host keeps of translations that are gone. One CPU (a process
// VM's memory mode) runs a small loop at threshold 1 over and over, each
// round with a new immediate written over the last round's code in one of
// 64 pages: every round drops a translation and makes a module of a new
// one. Every `every` rounds, after a full collection when Node was started
// with --expose-gc, it prints the process's memory mappings, its resident
// size, the JavaScript heap in use, and the modules made so far.
//
//   npm run build && node --expose-gc bench/translation-churn.mjs [rounds=16001] [every=2000]
//   node --expose-gc bench/translation-churn.mjs --v8 [rounds=20001] [every=5000]
//
// --v8 shows the cause without ringvisor: the heap after as many
// instances of a one-function module, dropped at once, with and without
// an import of one table.
//
// Under Node 20 the heap and the resident size grow with the modules made
// (docs/SECURITY.md, "What is not promised yet"): V8 keeps alive every
// instance that imports a table, and each module of translations imports
// the CPU's function table.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const USAGE = 'usage: node --expose-gc bench/translation-churn.mjs [rounds=16001] [every=2000]\n'
  + '       node --expose-gc bench/translation-churn.mjs --v8 [rounds=20001] [every=5000]\n';
const v8Only = process.argv[2] === '--v8';
const args = process.argv.slice(v8Only ? 3 : 2);
const [rounds, every] = [args[0] ?? (v8Only ? '20001' : '16001'), args[1] ?? (v8Only ? '5000' : '2000')].map(Number);
if (!(Number.isInteger(rounds) && rounds > 0 && Number.isInteger(every) && every > 0) || args.length > 2) {
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
  // (func (export "f") (result i32) i32.const 1), with or without
  // (import "e" "t" (table 1 funcref)).
  const head = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127];
  const rest = [3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 6, 1, 4, 0, 65, 1, 11];
  const table = new WebAssembly.Table({ initial: 1, element: 'anyfunc' });
  for (const imports of [false, true]) {
    const bytes = new Uint8Array([...head, ...(imports ? [2, 9, 1, 1, 101, 1, 116, 1, 112, 0, 1] : []), ...rest]);
    console.log(imports ? 'importing a table:' : 'no imports:');
    for (let i = 0; i < rounds; i++) {
      new WebAssembly.Instance(new WebAssembly.Module(bytes), imports ? { e: { t: table } } : {});
      if (i % every === 0) {
        const { heap, rss } = sample();
        console.log(`  ${String(i).padStart(7)} instances made: heap ${heap} MiB, rss ${rss} MiB`);
      }
    }
  }
  process.exit(0);
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

const mappings = () => readFileSync('/proc/self/maps', 'utf8').trimEnd().split('\n').length;
console.log(`rounds  mappings  rss MiB  heap MiB  modules${globalThis.gc ? '' : '   (no --expose-gc: heap without a full collection)'}`);
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
    const { heap, rss } = sample();
    console.log([r, mappings(), rss, heap, cpu.jitStats?.modules ?? 0].map((v) => String(v).padStart(7)).join('  '));
  }
}
