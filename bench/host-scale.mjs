// How far one `ringvisor host` goes (issue 15, "Scale, measured"):
//
// 1. Many small process VMs alive at once: N VMs (default 1000) created
//    and started through the host's API, each a guest that writes a page
//    and then sleeps for ever; reported: VMs created and started per
//    second, and the host's memory per VM (the whole process's resident
//    memory, workers included, before and after, divided by N).
// 2. System VMs across worker threads: our guest Linux booted to its
//    prompt M times (default 8) with 1 and then 2 workers, all started at
//    once; reported: boots per second (throughput) for each.
//
//   node bench/host-scale.mjs [--vms N] [--boots M] [--out FILE]
//
// Needs `npm run build` (the host runs dist/) and, for part 2, our guest
// Linux (bash guests/linux/build.sh).
import { mkdtempSync, mkdirSync, writeFileSync, copyFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { VmHost } from '../dist/node/vm-host.js';
import { hostRoutes } from '../dist/node/host-api.js';
import { serveApi } from '../dist/node/api-server.js';
import { HostClient } from '../dist/node/host-client.js';

const arg = (name, d) => { const i = process.argv.indexOf(name); return i < 0 ? d : process.argv[i + 1]; };
const N = Number(arg('--vms', 1000));
const M = Number(arg('--boots', 8));
const out = arg('--out', undefined);
const MiB = 1024 * 1024;

// A static riscv64 program: mmap a page, write it, then nanosleep(1 s) for ever.
function sleeper() {
  const w = [
    0x00000513, 0x000015b7, 0x00300613, 0x02200693, 0xfff00713, 0x00000793, 0x0de00893, 0x00000073, // mmap(0, 4096, RW, PRIVATE|ANON, -1, 0)
    0x00050293, 0x00100313, 0x0062b023, 0x0002b423, // t0 = a0; t1 = 1; sd t1, 0(t0); sd zero, 8(t0)
    0x00028513, 0x00000593, 0x06500893, 0x00000073, 0xff1ff06f, // a0 = t0; a1 = 0; a7 = 101; ecall; j -16
  ];
  const code = new Uint8Array(new Uint32Array(w).buffer);
  const EH = 64, PH = 56, base = 0x10000;
  const elf = new Uint8Array(EH + PH + code.length);
  const v = new DataView(elf.buffer);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  v.setUint16(16, 2, true); v.setUint16(18, 243, true); v.setUint32(20, 1, true);
  v.setBigUint64(24, BigInt(base + EH + PH), true); v.setBigUint64(32, BigInt(EH), true);
  v.setUint32(48, 5, true); v.setUint16(52, EH, true); v.setUint16(54, PH, true); v.setUint16(56, 1, true);
  v.setUint32(EH, 1, true); v.setUint32(EH + 4, 7, true);
  v.setBigUint64(EH + 16, BigInt(base), true); v.setBigUint64(EH + 24, BigInt(base), true);
  v.setBigUint64(EH + 32, BigInt(elf.length), true); v.setBigUint64(EH + 40, BigInt(elf.length), true); v.setBigUint64(EH + 48, 4096n, true);
  elf.set(code, EH + PH);
  return elf;
}

function rss() {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

async function withHost(workers, f) {
  const dir = mkdtempSync(join(tmpdir(), 'rv-scale-'));
  mkdirSync(join(dir, 'images'));
  const host = await VmHost.open({ stateDir: dir, workers, log: () => {} });
  const server = await serveApi({ socket: join(dir, 'api.sock') }, hostRoutes(host), { log: () => {} });
  try {
    return await f(dir, new HostClient({ socket: join(dir, 'api.sock') }), host);
  } finally {
    await server.close();
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const result = { date: new Date().toISOString(), cores: cpus().length, node: process.version };

// 1. Many process VMs.
await withHost(cpus().length, async (dir, client) => {
  writeFileSync(join(dir, 'images', 'sleeper.elf'), sleeper());
  globalThis.gc?.();
  const before = rss();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const name = `p${i}`;
    await client.create({ name, kind: 'process', memory: { startup: 4 * MiB }, process: { program: 'images/sleeper.elf' } });
    await client.start(name);
    if ((i + 1) % 100 === 0) process.stderr.write(`  ${i + 1} VMs alive, ${((i + 1) / ((performance.now() - t0) / 1000)).toFixed(1)}/s, rss ${(rss() / MiB).toFixed(0)} MiB\n`);
  }
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 3000));
  const list = await client.list();
  const running = list.filter((v) => v.state === 'Running').length;
  const after = rss();
  result.processVms = { vms: N, running, seconds, perSecond: N / seconds, rssBefore: before, rssAfter: after, bytesPerVm: (after - before) / N };
  console.log(`process VMs: ${running} of ${N} running; created and started ${(N / seconds).toFixed(1)}/s; host memory ${(after / MiB).toFixed(0)} MiB (${((after - before) / N / 1024).toFixed(0)} KiB a VM)`);
});

// 2. System VMs over 1 and 2 workers.
const built = spawnSync('bash', [new URL('../guests/linux/build.sh', import.meta.url).pathname, '--print-path'], { encoding: 'utf8' }).stdout.trim();
if (built && existsSync(join(built, 'Image'))) {
  result.systemVms = [];
  for (const workers of [1, 2]) {
    await withHost(workers, async (dir, client) => {
      copyFileSync(join(built, 'Image'), join(dir, 'images', 'Image'));
      copyFileSync(join(built, 'initramfs.cpio.gz'), join(dir, 'images', 'initramfs.cpio.gz'));
      for (let i = 0; i < M; i++) {
        await client.create({ name: `s${i}`, kind: 'system', memory: { startup: 64 * MiB }, system: { kernel: 'images/Image', initrd: 'images/initramfs.cpio.gz', append: 'console=ttyS0 quiet panic=-1' } });
      }
      const t0 = performance.now();
      await Promise.all(Array.from({ length: M }, (_, i) => client.start(`s${i}`)));
      const done = new Set();
      while (done.size < M) {
        for (let i = 0; i < M; i++) if (!done.has(i) && (await client.consoleLog(`s${i}`)).includes('ringvisor-init# ')) done.add(i);
        await new Promise((r) => setTimeout(r, 20));
      }
      const seconds = (performance.now() - t0) / 1000;
      result.systemVms.push({ workers, boots: M, seconds, bootsPerSecond: M / seconds });
      console.log(`system VMs, ${workers} worker${workers > 1 ? 's' : ''}: ${M} Linux boots to the prompt in ${seconds.toFixed(2)} s (${(M / seconds).toFixed(2)}/s)`);
    });
  }
} else {
  console.log('system VMs: skipped (our guest Linux is not built: bash guests/linux/build.sh)');
}
if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
