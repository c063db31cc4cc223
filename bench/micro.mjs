#!/usr/bin/env node
// Micro-benchmarks of ringvisor's host-facing costs, with the `benchmark`
// package (many timed cycles per figure; we report the median of its
// samples, which a busy machine disturbs less than the mean):
//   - one exit round trip: the CPU leaves run() on an ecall (ECALL_U), the
//     TypeScript side sees it and enters again;
//   - one write(2) through the system-call layer;
//   - one vmcall into a guest function (ProcessVM.callSync and .call);
//   - making a VM from an already compiled CPU module (ProcessVM.create):
//     on a new CPU instance, and on the CPU of a disposed VM (timed by hand,
//     one create at a time, the dispose between them untimed);
//   - guest MIPS on a two-instruction loop: dispatch and nothing else.
// The guest is guests/bin/bench-micro.elf (guests/bench/micro.c).
//   node bench/micro.mjs [SECONDS-PER-BENCHMARK]
import { readFileSync } from 'node:fs';
import Benchmark from 'benchmark';
import { ProcessVM, ExitReason, loadCpuModule, vmcallSync } from '../dist/index.js';

const ELF = new URL('../guests/bin/bench-micro.elf', import.meta.url);
const WRITES_PER_CALL = 1000;
const SPIN_ITERATIONS = 1_000_000;

function medianOf(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function runMicro({ maxTime = 2, progress = () => {} } = {}) {
  const elf = new Uint8Array(readFileSync(ELF));
  const cpuModule = loadCpuModule();
  const make = () => ProcessVM.create(elf, { argv: ['bench-micro'], cpuModule });

  // Each VM is used by one benchmark only; none runs main (see micro.c).
  const callVm = make();
  const writeVm = make();
  const nullFd = Number(writeVm.callSync('bench_open_null'));
  if (nullFd < 0) throw new Error(`bench_open_null failed: ${nullFd}`);
  const spinVm = make();
  const spinInstructions = Number(vmcallSync(spinVm, 'bench_spin', [SPIN_ITERATIONS]).instructions);
  // The exit round trip drives the CPU directly: pc on an ecall loop, each
  // run() one exit. Checked once, so a change in the CPU cannot make this
  // quietly measure something else.
  const exitVm = make();
  const cpu = exitVm.cpu;
  cpu.pc = exitVm.image.symbols.get('bench_ecall_loop');
  // (The program's code reaches RAM as it is first fetched: faults that
  // the VM's run loop pages in, AddressSpace.faultIn.)
  let reason = cpu.run(1000n);
  while (reason === ExitReason.Fault && exitVm.memory.space.faultIn(cpu.exit.addr)) reason = cpu.run(1000n);
  if (reason !== ExitReason.EcallU) throw new Error('bench_ecall_loop did not exit with ECALL_U');

  const suite = new Benchmark.Suite('ringvisor micro');
  const opts = { maxTime, minSamples: 5 };
  suite.add('exit round trip', () => { cpu.run(1000n); }, opts);
  suite.add(`write(2) x${WRITES_PER_CALL}`, () => { writeVm.callSync('bench_write_loop', nullFd, WRITES_PER_CALL); }, opts);
  suite.add('vmcall callSync', () => { callVm.callSync('bench_add', 2, 40); }, opts);
  suite.add('vmcall call (async)', {
    defer: true,
    fn: (deferred) => { callVm.call('bench_add', 2, 40).then(() => deferred.resolve()); },
    ...opts,
  });
  suite.add('ProcessVM.create', () => { make(); }, opts);
  suite.add('ProcessVM.create + dispose', () => { make().dispose(); }, opts);
  suite.add(`tight loop x${SPIN_ITERATIONS}`, () => { spinVm.callSync('bench_spin', SPIN_ITERATIONS); }, opts);

  const rows = [];
  suite.on('start', () => progress(`micro: ${suite[0].name} ...`));
  suite.on('cycle', (event) => {
    const b = event.target;
    if (b.error) throw b.error;
    const ns = medianOf(b.stats.sample) * 1e9;
    rows.push({ name: b.name, nsPerOp: ns, meanNs: b.stats.mean * 1e9, rme: b.stats.rme, samples: b.stats.sample.length, cycles: b.cycles });
    const next = suite[rows.length];
    progress(`micro: ${b.name} ${ns.toFixed(0)} ns${next ? `; ${next.name} ...` : ''}`);
  });
  await new Promise((resolve, reject) => {
    suite.on('complete', resolve);
    suite.on('error', (e) => reject(e.target.error));
    suite.run({ async: true });
  });

  // create on a recycled CPU, and dispose, each timed alone.
  progress('micro: ProcessVM.create on a recycled CPU ...');
  const recycled = [], disposed = [];
  make().dispose();
  for (let i = 0; i < Math.max(20, Math.round(maxTime * 100)); i++) {
    let t = process.hrtime.bigint();
    const vm = make();
    recycled.push(Number(process.hrtime.bigint() - t));
    t = process.hrtime.bigint();
    vm.dispose();
    disposed.push(Number(process.hrtime.bigint() - t));
  }
  rows.push({ name: 'ProcessVM.create (recycled CPU)', nsPerOp: medianOf(recycled), samples: recycled.length });
  rows.push({ name: 'ProcessVM.dispose', nsPerOp: medianOf(disposed), samples: disposed.length });

  const ns = (name) => rows.find((r) => r.name === name).nsPerOp;
  const derived = {
    exitRoundTripNs: ns('exit round trip'),
    // A call of n writes minus a call of nothing, per write.
    writeNs: (ns(`write(2) x${WRITES_PER_CALL}`) - ns('vmcall callSync')) / WRITES_PER_CALL,
    vmcallSyncNs: ns('vmcall callSync'),
    vmcallAsyncNs: ns('vmcall call (async)'),
    createNs: ns('ProcessVM.create'),
    createRecycledNs: ns('ProcessVM.create (recycled CPU)'),
    disposeNs: ns('ProcessVM.dispose'),
    tightLoopMips: spinInstructions / (ns(`tight loop x${SPIN_ITERATIONS}`) / 1e9) / 1e6,
  };
  return { rows, derived, notes: { writesPerCall: WRITES_PER_CALL, spinIterations: SPIN_ITERATIONS, spinInstructions } };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runMicro({ maxTime: Number(process.argv[2] ?? 2), progress: (s) => process.stderr.write(s + '\n') });
  console.log(JSON.stringify(r, null, 2));
}
