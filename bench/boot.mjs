#!/usr/bin/env node
// Boot time of our guest Linux (guests/linux): from starting the machine to
// its init's first prompt, and to its exit after `poweroff`, under `ringvisor
// boot` and under qemu-system-riscv64 -M virt on the same kernel and initrd,
// alternating, medians of the repetitions. guests/linux/console.mjs drives
// both and times them (each a process of its own: Node's start-up counts for
// ringvisor as QEMU's own start-up counts for QEMU).
//   node bench/boot.mjs [reps=5]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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

export function runBoot({ reps = 5, progress = () => {} } = {}) {
  const linux = guestLinux();
  if (linux.missing) return { missing: `the guest Linux: ${linux.missing}` };
  const peers = {
    ringvisor: [process.execPath, `${ROOT}dist/cli/main.js`, 'boot', '--kernel', linux.image, '--initrd', linux.initrd, '--append', APPEND],
    qemu: ['qemu-system-riscv64', '-M', 'virt', '-smp', '1', '-m', '256M', '-nographic', '-bios', 'default', '-no-reboot',
      '-kernel', linux.image, '-initrd', linux.initrd, '-append', APPEND],
  };
  const qemuThere = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
  const out = { reps, ringvisor: { prompt: [], exit: [] }, qemu: qemuThere ? { prompt: [], exit: [] } : { missing: 'qemu-system-riscv64 is not on the PATH (apt-get install qemu-system-misc)' } };
  for (let i = 0; i < reps; i++) {
    for (const p of i % 2 ? ['qemu', 'ringvisor'] : ['ringvisor', 'qemu']) {
      if (out[p].missing) continue;
      progress(`boot: ${p} ${i + 1}/${reps}`);
      const r = once(peers[p]);
      if (r.error) { out[p] = { missing: `failed: ${r.error}` }; continue; }
      out[p].prompt.push(r.prompt);
      out[p].exit.push(r.exit);
    }
  }
  for (const p of ['ringvisor', 'qemu']) {
    if (out[p].missing) continue;
    out[p].promptSeconds = median(out[p].prompt);
    out[p].exitSeconds = median(out[p].exit);
  }
  out.ratio = out.ringvisor.promptSeconds && out.qemu.promptSeconds ? out.ringvisor.promptSeconds / out.qemu.promptSeconds : null;
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runBoot({ reps: Number(process.argv[2] ?? 5), progress: (s) => process.stderr.write(s + '\n') });
  console.log(JSON.stringify(r, null, 2));
}
