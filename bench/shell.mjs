#!/usr/bin/env node
// A shell script's whole time: Debian's dash (built from its source package
// by guests/third-party/build.sh, for riscv64 and for this machine) running
// bench/shell/work.sh under ringvisor (`ringvisor run --fs=host`, Node's
// start-up included), under qemu-riscv64 and natively, alternating, medians
// of the repetitions. The script uses builtins only (every command
// substitution and pipeline is a fork) because qemu-riscv64 cannot execute
// a riscv64 program here; fork + exec is the `spawn` workload.
//   node bench/shell.mjs [reps=3] [iterations=200]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findThirdParty } from './programs.mjs';
import { removeNodeStartVariables } from './node-env.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = join(ROOT, 'bench/shell/work.sh');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : null;
}

/** Where the third-party dash is, or the reason it is not there. */
export function thirdPartyDash() {
  const b = findThirdParty('dash', ['elf', 'native']);
  if (!b) return { missing: 'dash is not built (bash guests/third-party/build.sh)' };
  return { elf: b.elf, native: b.native, version: b.version };
}

function once(command) {
  const started = process.hrtime.bigint();
  const r = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: 300_000, cwd: ROOT });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || `status ${r.status}`).trim().split('\n').pop() };
  return { seconds, out: r.stdout };
}

export function runShell({ reps = 3, iterations = 200, progress = () => {} } = {}) {
  const dash = thirdPartyDash();
  if (dash.missing) return { missing: dash.missing };
  const peers = {
    ringvisor: [process.execPath, join(ROOT, 'dist/bin/ringvisor.js'), 'run', '--fs=host', dash.elf, SCRIPT, String(iterations)],
    qemu: ['qemu-riscv64', dash.elf, SCRIPT, String(iterations)],
    native: [dash.native, SCRIPT, String(iterations)],
  };
  const qemuThere = spawnSync('qemu-riscv64', ['--version']).status === 0;
  const out = { reps, iterations, dash: dash.version, forks: iterations * 2 + 1 };
  for (const p of Object.keys(peers)) out[p] = p === 'qemu' && !qemuThere ? { missing: 'qemu-riscv64 is not on the PATH (apt-get install qemu-user)' } : { seconds: [] };
  let expected;
  for (let i = 0; i < reps; i++) {
    for (const p of i % 2 ? ['native', 'qemu', 'ringvisor'] : ['ringvisor', 'qemu', 'native']) {
      if (out[p].missing) continue;
      progress(`shell: ${p} ${i + 1}/${reps}`);
      const r = once(peers[p]);
      if (r.error) { out[p] = { missing: `failed: ${r.error}` }; continue; }
      // Every peer must print the same line, or the times mean nothing.
      expected ??= r.out;
      if (r.out !== expected) { out[p] = { missing: `printed ${JSON.stringify(r.out)}, not ${JSON.stringify(expected)}` }; continue; }
      out[p].seconds.push(r.seconds);
    }
  }
  for (const p of Object.keys(peers)) if (!out[p].missing) out[p].medianSeconds = median(out[p].seconds);
  const r = out.ringvisor.medianSeconds;
  out.ratio = { qemu: r && out.qemu.medianSeconds ? r / out.qemu.medianSeconds : null, native: r && out.native.medianSeconds ? r / out.native.medianSeconds : null };
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  removeNodeStartVariables(); // (what every Node process would pay at its start)
  const r = runShell({ reps: Number(process.argv[2] ?? 3), iterations: Number(process.argv[3] ?? 200), progress: (s) => process.stderr.write(s + '\n') });
  console.log(JSON.stringify(r, null, 2));
}
