#!/usr/bin/env node
// Console round trip of an idle booted guest: our guest Linux (guests/linux)
// booted with `ringvisor boot --clock host` and under qemu-system-riscv64
// -M virt, its shell at the prompt; a line `echo rtN` is typed and the time
// from writing it to seeing its output (`rtN` on a line of its own, after the
// tty's echo of the command) is measured, N lines each, one at a time after
// the next prompt. Between lines the guest is idle (wfi with no timer soon),
// so this is how fast an idle machine wakes for input. Medians and the ratio.
// `--jit N,...` adds `ringvisor boot --jit N` for each N (`--jit off`:
// interpreted; the plain `ringvisor` peer is boot's default, --jit 16384).
// Then the console's throughput: the time from typing `cat /proc/kallsyms`
// (some 465 KiB of text) to the next prompt, once a repetition for each.
//   node bench/console.mjs [lines=20] [reps=1] [--jit N,...] [--json FILE]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { guestLinux } from './boot.mjs';
import { takeOption } from './harness.mjs';
import { removeNodeStartVariables } from './node-env.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APPEND = 'console=ttyS0 quiet panic=-1';
const PROMPT = 'ringvisor-init# ';
/** Idle time before each line: the guest has settled into wfi by then. */
const SETTLE_MS = 50;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? null : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Starts `command` for one measure, which ends with finish(result) (the
 * first call counts): the child is killed and `resolvePromise` gets the
 * result. After `timeoutSeconds` it ends with timedOut()'s.
 */
function session(command, timeoutSeconds, resolvePromise, timedOut) {
  const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let finished = false;
  const finish = (result) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    child.kill('SIGKILL');
    resolvePromise(result);
  };
  const timer = setTimeout(() => finish(timedOut()), timeoutSeconds * 1000);
  child.stdin.on('error', () => {});
  return { child, finish };
}

/**
 * Boots `command`, waits for the prompt, types `lines` lines and returns the
 * round trip of each in milliseconds (or { error }). The machine is powered
 * off at the end (^D at the prompt: our init's poweroff).
 */
export function consoleRoundTrips(command, { lines = 20, timeoutSeconds = 180 } = {}) {
  return new Promise((resolvePromise) => {
    let out = '', stderr = '';
    let sent = 0, sentAt = 0n, waitingFor = null;
    const times = [];
    const { child, finish } = session(command, timeoutSeconds, resolvePromise,
      () => ({ error: `timed out after ${timeoutSeconds}s (${times.length} of ${lines} lines; output ends ${JSON.stringify(out.slice(-200))})` }));
    const next = () => {
      if (sent === lines) { child.stdin.write('\x04'); return; }
      // Let the guest go idle first: the measure is an idle machine's wake-up.
      setTimeout(() => {
        const token = `rt${sent++}`;
        waitingFor = `\n${token}\r\n`;
        out = '';
        sentAt = process.hrtime.bigint();
        child.stdin.write(`echo ${token}\n`);
      }, SETTLE_MS);
    };
    child.stdout.on('data', (chunk) => {
      out += chunk.toString('latin1');
      if (waitingFor !== null) {
        if (!out.includes(waitingFor)) return;
        times.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
        waitingFor = null;
      }
      if (out.endsWith(PROMPT)) { out = ''; next(); }
    });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('exit', (code, signal) => {
      if (times.length === lines) finish({ times });
      else finish({ error: `exited (${signal ?? code}) after ${times.length} of ${lines} lines: ${stderr.trim().split('\n').pop() ?? ''}` });
    });
  });
}

/** Calls `each(peer, rep)` for every peer `reps` times, the order reversed
 *  every other repetition, one call at a time. */
async function alternating(names, reps, each) {
  for (let i = 0; i < reps; i++) for (const p of i % 2 ? [...names].reverse() : names) await each(p, i);
}

/** The command whose output the throughput measure reads, and what it needs first. */
export const BULK_COMMAND = 'cat /proc/kallsyms';
const BULK_SETUP = 'mount -t proc proc /proc';

/**
 * Boots `command`, waits for the prompt, mounts /proc, types BULK_COMMAND
 * and returns the seconds from writing it to the next prompt and the bytes
 * read meanwhile (or { error }); then powers the machine off.
 */
export function consoleBulk(command, { timeoutSeconds = 300 } = {}) {
  return new Promise((resolvePromise) => {
    let tail = '', bytes = 0, prompts = 0, sentAt = 0n, result;
    const { child, finish } = session(command, timeoutSeconds, resolvePromise,
      () => ({ error: `timed out after ${timeoutSeconds}s (output ends ${JSON.stringify(tail.slice(-200))})` }));
    child.stdout.on('data', (chunk) => {
      bytes += chunk.length;
      // (The prompt may come split across chunks: the last few bytes are kept.)
      tail = (tail + chunk.toString('latin1')).slice(-64);
      if (!tail.endsWith(PROMPT)) return;
      tail = '';
      prompts++;
      if (prompts === 1) child.stdin.write(`${BULK_SETUP}\n`);
      else if (prompts === 2) { bytes = 0; sentAt = process.hrtime.bigint(); child.stdin.write(`${BULK_COMMAND}\n`); }
      else if (prompts === 3) { result = { seconds: Number(process.hrtime.bigint() - sentAt) / 1e9, bytes }; child.stdin.write('\x04'); }
    });
    child.on('exit', (code, signal) => finish(result ?? { error: `exited (${signal ?? code}) before the bulk output was read` }));
  });
}

export async function runConsole({ lines = 20, reps = 1, jit = [], bulk: withBulk = true, progress = () => {} } = {}) {
  const linux = guestLinux();
  if (linux.missing) return { missing: `the guest Linux: ${linux.missing}` };
  const ringvisor = [process.execPath, `${ROOT}dist/bin/ringvisor.js`, 'boot', '--clock', 'host', '--kernel', linux.image, '--initrd', linux.initrd, '--append', APPEND];
  const peers = {
    ringvisor,
    ...Object.fromEntries(jit.map((n) => [`ringvisor --jit ${n}`, [...ringvisor, '--jit', String(n)]])),
    qemu: ['qemu-system-riscv64', '-M', 'virt', '-smp', '1', '-m', '256M', '-nographic', '-bios', 'default', '-no-reboot',
      '-kernel', linux.image, '-initrd', linux.initrd, '-append', APPEND],
  };
  const { spawnSync } = await import('node:child_process');
  const qemuThere = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
  const names = Object.keys(peers);
  const out = { lines, reps, ...Object.fromEntries(names.filter((p) => p !== 'qemu').map((p) => [p, { times: [] }])), qemu: qemuThere ? { times: [] } : { missing: 'qemu-system-riscv64 is not on the PATH (apt-get install qemu-system-misc)' } };
  await alternating(names, reps, async (p, i) => {
    if (out[p].missing) return;
    progress(`console: ${p} ${i + 1}/${reps}`);
    const r = await consoleRoundTrips(peers[p], { lines });
    if (r.error) { out[p] = { missing: `failed: ${r.error}` }; return; }
    out[p].times.push(...r.times.map((t) => +t.toFixed(2)));
  });
  for (const p of names) {
    if (out[p].missing) continue;
    out[p].medianMs = median(out[p].times);
    out[p].maxMs = Math.max(...out[p].times);
  }
  for (const p of names) if (p !== 'qemu' && !out[p].missing && out.qemu.medianMs) out[p].ratio = out[p].medianMs / out.qemu.medianMs;
  out.ratio = out.ringvisor.medianMs && out.qemu.medianMs ? out.ringvisor.medianMs / out.qemu.medianMs : null;
  if (!withBulk) return out;
  // Throughput: the peers that booted, once a repetition each, alternating.
  const bulk = { command: BULK_COMMAND, ...Object.fromEntries(names.filter((p) => !out[p].missing).map((p) => [p, { seconds: [], bytes: null }])) };
  await alternating(names, reps, async (p, i) => {
    if (bulk[p] === undefined || bulk[p].missing) return;
    progress(`console: ${BULK_COMMAND}, ${p} ${i + 1}/${reps}`);
    const r = await consoleBulk(peers[p]);
    if (r.error) { bulk[p] = { missing: `failed: ${r.error}` }; return; }
    bulk[p].seconds.push(+r.seconds.toFixed(3));
    bulk[p].bytes = r.bytes;
  });
  for (const p of names) if (bulk[p] && !bulk[p].missing) bulk[p].medianSeconds = median(bulk[p].seconds);
  bulk.ratio = bulk.ringvisor?.medianSeconds && bulk.qemu?.medianSeconds ? bulk.ringvisor.medianSeconds / bulk.qemu.medianSeconds : null;
  out.bulk = bulk;
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  removeNodeStartVariables(); // (what every Node process would pay at its start)
  const args = process.argv.slice(2);
  const jit = takeOption(args, '--jit')?.split(',') ?? [];
  const json = takeOption(args, '--json');
  const r = await runConsole({ lines: Number(args[0] ?? 20), reps: Number(args[1] ?? 1), jit, progress: (s) => process.stderr.write(s + '\n') });
  const fmt = (p) => (r[p].missing ? `missing (${r[p].missing})` : `median ${r[p].medianMs.toFixed(1)} ms, max ${r[p].maxMs.toFixed(1)} ms over ${r[p].times.length} lines`);
  if (r.missing) console.log(`console round trip: ${r.missing}`);
  else {
    console.log(`console round trip, idle guest Linux (--clock host), ${r.lines} lines x ${r.reps}:`);
    console.log(`  ringvisor: ${fmt('ringvisor')}`);
    for (const n of jit) console.log(`  ringvisor --jit ${n}: ${fmt(`ringvisor --jit ${n}`)}`);
    console.log(`  qemu:      ${fmt('qemu')}`);
    if (r.ratio !== null) console.log(`  ratio ringvisor/qemu: ${r.ratio.toFixed(1)}`);
    const b = r.bulk;
    const fb = (p) => (b[p] === undefined ? 'missing' : b[p].missing ? `missing (${b[p].missing})` : `median ${b[p].medianSeconds.toFixed(2)} s for ${(b[p].bytes / 1024).toFixed(0)} KiB (${(b[p].bytes / 1024 / b[p].medianSeconds).toFixed(0)} KiB/s) over ${b[p].seconds.length}`);
    console.log(`console output, \`${b.command}\` to the next prompt:`);
    console.log(`  ringvisor: ${fb('ringvisor')}`);
    for (const n of jit) console.log(`  ringvisor --jit ${n}: ${fb(`ringvisor --jit ${n}`)}`);
    console.log(`  qemu:      ${fb('qemu')}`);
    if (b.ratio !== null) console.log(`  ratio ringvisor/qemu: ${b.ratio.toFixed(2)}`);
  }
  if (json !== undefined) {
    r.date = new Date().toISOString();
    r.command = `node bench/console.mjs ${process.argv.slice(2).join(' ')}`;
    (await import('node:fs')).writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  }
}
