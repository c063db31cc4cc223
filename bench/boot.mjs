#!/usr/bin/env node
// Boot time of our guest Linux (guests/linux): from starting the machine to
// its init's first prompt, and to its exit after `poweroff`, under `ringvisor
// boot` and under qemu-system-riscv64 -M virt on the same kernel and initrd,
// alternating, medians of the repetitions. guests/linux/console.mjs drives
// both and times them (each a process of its own: Node's start-up counts for
// ringvisor as QEMU's own start-up counts for QEMU). `--jit N,M,...` adds
// `ringvisor boot --jit N` for each N (`--jit off`: interpreted; the plain
// `ringvisor` peer is boot's default, --jit 16384).
//   node bench/boot.mjs [reps=5] [--jit N,...] [--json FILE]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { takeOption } from './harness.mjs';
import { removeNodeStartVariables } from './node-env.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APPEND = 'console=ttyS0 quiet panic=-1';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : null;
}

/** Paths of the built guest Linux, or the reason there is none. */
export function guestLinux() {
  const build = `${ROOT}guests/linux/build.sh`;
  if (spawnSync('bash', [build, '--check-deps']).status !== 0) return { missing: `its build needs packages: apt-get install ${spawnSync('bash', [build, '--print-deps'], { encoding: 'utf8' }).stdout.trim()}` };
  const dir = spawnSync('bash', [build, '--print-path'], { encoding: 'utf8' }).stdout.trim();
  if (!existsSync(`${dir}/Image`)) return { missing: 'not built (bash guests/linux/build.sh)' };
  return { image: `${dir}/Image`, initrd: `${dir}/initramfs.cpio.gz` };
}

function once(command) {
  const r = spawnSync(process.execPath, [`${ROOT}guests/linux/console.mjs`, '--timeout', '120', '--script', '/dev/null', '--', ...command],
    { encoding: 'utf8', input: '', timeout: 180_000 });
  // "console.mjs: first prompt after 0.35s, N prompts, 0 lines unsent, machine exited after 0.52s with status 0"
  const m = /first prompt after ([\d.]+)s.*machine exited after ([\d.]+)s with status (\d+)/.exec(r.stderr ?? '');
  if (!m || m[3] !== '0') return { error: (r.stderr || r.error?.message || 'no output').trim().split('\n').pop() };
  return { prompt: Number(m[1]), exit: Number(m[2]) };
}

export function runBoot({ reps = 5, jit = [], progress = () => {} } = {}) {
  const linux = guestLinux();
  if (linux.missing) return { missing: `the guest Linux: ${linux.missing}` };
  const ringvisor = [process.execPath, `${ROOT}dist/bin/ringvisor.js`, 'boot', '--kernel', linux.image, '--initrd', linux.initrd, '--append', APPEND];
  const peers = {
    ringvisor,
    ...Object.fromEntries(jit.map((n) => [`ringvisor --jit ${n}`, [...ringvisor, '--jit', String(n)]])),
    qemu: ['qemu-system-riscv64', '-M', 'virt', '-smp', '1', '-m', '256M', '-nographic', '-bios', 'default', '-no-reboot',
      '-kernel', linux.image, '-initrd', linux.initrd, '-append', APPEND],
  };
  const qemuThere = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
  const names = Object.keys(peers);
  const out = { reps, ...Object.fromEntries(names.filter((p) => p !== 'qemu').map((p) => [p, { prompt: [], exit: [] }])), qemu: qemuThere ? { prompt: [], exit: [] } : { missing: 'qemu-system-riscv64 is not on the PATH (apt-get install qemu-system-misc)' } };
  for (let i = 0; i < reps; i++) {
    for (const p of i % 2 ? [...names].reverse() : names) {
      if (out[p].missing) continue;
      progress(`boot: ${p} ${i + 1}/${reps}`);
      const r = once(peers[p]);
      if (r.error) { out[p] = { missing: `failed: ${r.error}` }; continue; }
      out[p].prompt.push(r.prompt);
      out[p].exit.push(r.exit);
    }
  }
  for (const p of names) {
    if (out[p].missing) continue;
    out[p].promptSeconds = median(out[p].prompt);
    out[p].exitSeconds = median(out[p].exit);
  }
  for (const p of names) if (p !== 'qemu' && !out[p].missing && out.qemu.promptSeconds) out[p].ratio = out[p].promptSeconds / out.qemu.promptSeconds;
  out.ratio = out.ringvisor.promptSeconds && out.qemu.promptSeconds ? out.ringvisor.promptSeconds / out.qemu.promptSeconds : null;
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  removeNodeStartVariables(); // (what every Node process would pay at its start)
  const args = process.argv.slice(2);
  const jit = takeOption(args, '--jit')?.split(',') ?? [];
  const json = takeOption(args, '--json');
  const r = runBoot({ reps: Number(args[0] ?? 5), jit, progress: (s) => process.stderr.write(s + '\n') });
  r.date = new Date().toISOString();
  r.command = `node bench/boot.mjs ${process.argv.slice(2).join(' ')}`;
  console.log(JSON.stringify(r, null, 2));
  if (json) (await import('node:fs')).writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
}
