// Whole process VMs checkpointed and restored (ProcessVM.checkpoint,
// ProcessVM.restore): a VM restored from a checkpoint runs on exactly as
// the original does from that point (the virtual clock and a fixed random
// source make both repeatable): the same stdout from there on, byte for
// byte, and the same exit status; and a checkpoint of the restored VM is
// the same file. Multi-threaded guests are checkpointed at several points,
// in both tiers; a guest with a host file, a /tmp file and a pipe open is
// restored onto a copy of its host directory. Bad files restore nothing and
// say why; what cannot be saved yet is refused by name.
import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessVM, type ProcessVMOptions } from '../src/index.js';
import { CheckpointUnsupportedError } from '../src/linux/process-vm.js';
import { CheckpointError, readCheckpoint, writeCheckpoint } from '../src/hypervisor/checkpoint-file.js';
import { processMachineId } from '../src/linux/process-checkpoint.js';
import { sandboxFs } from '../src/node/host-fs.js';
import { hostClock } from '../src/hypervisor/clock.js';
import { GuestFs } from '../src/linux/fs/guest-fs.js';
import { MemFs } from '../src/linux/fs/memfs.js';
import { DirectoryDescription, Pipe, PipeEnd } from '../src/linux/fs/file-table.js';
import { scratch, sys } from './support/process.js';
import { EventFd, Epoll } from '../src/linux/sys/events.js';
import { sharedMaps } from '../src/linux/shared-maps.js';

const GUEST = (name: string) => new Uint8Array(readFileSync(new URL(`../guests/bin/${name}`, import.meta.url)));

const TIERS = [
  { name: 'interpreter', jitThreshold: 0, jitWarmup: 0n },
  { name: 'translated', jitThreshold: 64, jitWarmup: 0n },
] as const;

interface Run { vm: ProcessVM; out: () => Buffer }

function sinks(): { out: Buffer[]; options: Partial<ProcessVMOptions> } {
  const out: Buffer[] = [];
  return {
    out,
    options: {
      // The sinks get views of guest memory: copy before the guest runs on.
      stdout: (d) => out.push(Buffer.from(d)), stderr: (d) => out.push(Buffer.from(d)), diagnostics: (l) => out.push(Buffer.from(`[${l}]\n`)),
      random: (b) => b.fill(0x5a), maxInstructions: 2_000_000_000n,
    },
  };
}

function start(elf: Uint8Array, argv: string[], extra: Partial<ProcessVMOptions> = {}): Run {
  const s = sinks();
  const vm = ProcessVM.create(elf, { argv, clock: 'virtual', memoryBytes: 64 * 1024 * 1024, ...s.options, ...extra });
  return { vm, out: () => Buffer.concat(s.out) };
}

function restore(file: Uint8Array, extra: Partial<ProcessVMOptions> & { base?: readonly Uint8Array[] } = {}): Run {
  const s = sinks();
  const vm = ProcessVM.restore(file, { ...s.options, ...extra });
  return { vm, out: () => Buffer.concat(s.out) };
}

/** Runs `n` slices (each a system call or a budget); the status if it ended. */
function steps(vm: ProcessVM, n: number): number | undefined {
  for (let i = 0; i < n; i++) {
    const status = vm.processes.step(vm.clock);
    if (status !== undefined) return status;
  }
  return undefined;
}

/** Slices a whole run takes. */
function countSteps(elf: Uint8Array, argv: string[], extra: Partial<ProcessVMOptions>): number {
  const { vm } = start(elf, argv, extra);
  let n = 0;
  while (vm.processes.step(vm.clock) === undefined) n++;
  vm.dispose();
  return n;
}

interface Point { file: Uint8Array; outAt: number }

/** Checkpoints a run at `fractions` of its slices; returns them, the whole
 *  output and the status. */
function checkpointedRun(elf: Uint8Array, argv: string[], extra: Partial<ProcessVMOptions>, fractions: number[]): { points: Point[]; out: Buffer; status: number; instret: bigint; threads: number } {
  const total = countSteps(elf, argv, extra);
  expect(total).toBeGreaterThan(20);
  const run = start(elf, argv, extra);
  const points: Point[] = [];
  let done = 0, threads = 0;
  for (const f of fractions) {
    const at = Math.floor(total * f);
    expect(steps(run.vm, at - done)).toBeUndefined();
    done = at;
    threads = Math.max(threads, run.vm.threads.count);
    points.push({ file: run.vm.checkpoint(), outAt: run.out().length });
  }
  const status = run.vm.runSync();
  return { points, out: run.out(), status, instret: run.vm.cpu.instret, threads };
}

const THREAD_CASES: [string, string[]][] = [
  ['threads.elf', ['threads', 'sum']],
  ['threads.elf', ['threads', 'queue']],
  ['threads.elf', ['threads', 'timed']],
  ['threads.elf', ['threads', 'signals']],
  ['threads.elf', ['threads', 'pipe']],
  ['threads.elf', ['threads', 'barrier']],
  ['cxx-threads.elf', ['cxx-threads']],
  // Go's runtime: threads, futexes, signals, and its timers' epoll instance and eventfd.
  ['go-goroutines.elf', ['go-goroutines', 'args', 'preempt', 'timers', 'stack']],
];

describe('a multi-threaded process VM restored from a checkpoint runs on exactly as the original', () => {
  for (const tier of TIERS) {
    for (const [bin, argv] of THREAD_CASES) {
      it(`${argv.join(' ')} (${tier.name}): checkpointed at a quarter, half and three quarters of its run`, () => {
        const elf = GUEST(bin);
        const extra = { jitThreshold: tier.jitThreshold, jitWarmup: tier.jitWarmup };
        const whole = checkpointedRun(elf, argv, extra, [0.25, 0.5, 0.75]);
        expect(whole.out.toString('latin1')).not.toContain('FAILED');
        // Saved with several threads alive at one point at least.
        expect(whole.threads).toBeGreaterThan(1);
        for (const p of whole.points) {
          const r = restore(p.file, extra);
          // Its own checkpoint, taken before it runs, is the same file.
          expect(Buffer.from(r.vm.checkpoint()).equals(Buffer.from(p.file))).toBe(true);
          const status = r.vm.runSync();
          expect(r.out().toString('latin1')).toBe(whole.out.subarray(p.outAt).toString('latin1'));
          expect(status).toBe(whole.status);
          // Not one instruction more or less.
          expect(r.vm.cpu.instret).toBe(whole.instret);
          r.vm.dispose();
        }
      });
    }
  }

  it('a checkpoint taken while a thread sleeps and others wait on futexes holds those waits', () => {
    const elf = GUEST('threads.elf');
    const whole = checkpointedRun(elf, ['threads', 'timed'], { jitThreshold: 0 }, [0.1, 0.3, 0.6, 0.9]);
    const waiting = whole.points.filter((p) => {
      const r = restore(p.file, { jitThreshold: 0 });
      const waits = r.vm.threads.all().filter((t) => t.wait !== undefined).length;
      r.vm.dispose();
      return waits > 0;
    });
    expect(waiting.length).toBeGreaterThan(0);
  });
});

describe('a process VM with files open', () => {
  function hostDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'rv-ckpt-'));
    writeFileSync(join(dir, 'input.txt'), 'The quick brown fox jumps over the lazy dog, twice over.\n');
    return dir;
  }
  const fsFor = (dir: string) => sandboxFs({ cwd: dir, mounts: [{ host: dir, guest: '/data' }], random: (b) => b.fill(0x5a) });

  for (const tier of TIERS) {
    it(`a host file, a /tmp file, a file appended to and a pipe with unread bytes come back (${tier.name})`, () => {
      const elf = GUEST('checkpoint-files.elf');
      const argv = ['checkpoint-files', '/data'];
      const extra = { jitThreshold: tier.jitThreshold, jitWarmup: tier.jitWarmup };
      const dirs: string[] = [];
      try {
        // The whole run, for its step count and output.
        const ref = hostDir();
        dirs.push(ref);
        const total = countSteps(elf, argv, { ...extra, fs: fsFor(ref) });
        const original = hostDir();
        dirs.push(original);
        const run = start(elf, argv, { ...extra, fs: fsFor(original) });
        const points: (Point & { dir: string })[] = [];
        let done = 0;
        for (const f of [0.3, 0.55, 0.8]) {
          const at = Math.floor(total * f);
          expect(steps(run.vm, at - done)).toBeUndefined();
          done = at;
          // The host directory as it is now, for the restored VM (its
          // files are the host's, not the checkpoint's).
          const copy = mkdtempSync(join(tmpdir(), 'rv-ckpt-copy-'));
          dirs.push(copy);
          cpSync(original, copy, { recursive: true });
          points.push({ file: run.vm.checkpoint(), outAt: run.out().length, dir: copy });
        }
        const status = run.vm.runSync();
        const out = run.out().toString('latin1');
        expect(status).toBe(3);
        expect(out).toContain('/tmp/notes holds');
        expect(out).toContain('left in the pipe: "mnopqrstuvwxyz"');
        const outFile = readFileSync(join(original, 'out.txt'), 'latin1');
        expect(outFile).toContain('out 11 ');
        for (const p of points) {
          const r = restore(p.file, { ...extra, fs: fsFor(p.dir) });
          expect(Buffer.from(r.vm.checkpoint()).equals(Buffer.from(p.file))).toBe(true);
          expect(r.vm.runSync()).toBe(status);
          expect(r.out().toString('latin1')).toBe(run.out().subarray(p.outAt).toString('latin1'));
          expect(readFileSync(join(p.dir, 'out.txt'), 'latin1')).toBe(outFile);
          r.vm.dispose();
        }
      } finally {
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      }
    });
  }

  it('a directory being listed (opendir) comes back, its place in the listing kept', () => {
    const elf = GUEST('files-dir.elf');
    const dir = mkdtempSync(join(tmpdir(), 'rv-ckpt-dir-'));
    const backup = `${dir}-at-checkpoint`, final = `${dir}-final`;
    const tree = (d: string) => (readdirSync(d, { recursive: true }) as string[]).sort()
      .map((f) => { const st = statSync(join(d, f)); return `${f} ${st.isFile() ? readFileSync(join(d, f), 'latin1') : '(dir)'}`; }).join('\n');
    try {
      const run = start(elf, ['files-dir'], { jitThreshold: 0, fs: sandboxFs({ cwd: dir }) });
      // Into a listing: a directory open and read from.
      const listing = (vm: ProcessVM) => vm.files.open().some((fd) => { const d = vm.files.get(fd); return d instanceof DirectoryDescription && d.offset > 0; });
      while (!listing(run.vm)) expect(steps(run.vm, 1)).toBeUndefined();
      const file = run.vm.checkpoint(), outAt = run.out().length;
      cpSync(dir, backup, { recursive: true });
      const status = run.vm.runSync();
      const after = tree(dir);
      // The host directory as it was at the checkpoint, where it was.
      renameSync(dir, final);
      renameSync(backup, dir);
      const r = restore(file, { jitThreshold: 0, fs: sandboxFs({ cwd: dir }) });
      expect(Buffer.from(r.vm.checkpoint()).equals(Buffer.from(file))).toBe(true);
      expect(r.vm.runSync()).toBe(status);
      expect(r.out().toString('latin1')).toBe(run.out().subarray(outAt).toString('latin1'));
      expect(tree(dir)).toBe(after);
    } finally {
      for (const d of [dir, backup, final]) rmSync(d, { recursive: true, force: true });
    }
  });

  it('a host file that is gone when the VM is restored is refused by name', () => {
    const elf = GUEST('checkpoint-files.elf');
    const dir = hostDir();
    try {
      const run = start(elf, ['checkpoint-files', '/data'], { fs: fsFor(dir), jitThreshold: 0 });
      // Past the opens and the first round.
      while (!run.out().toString().includes('round 1')) expect(steps(run.vm, 1)).toBeUndefined();
      const file = run.vm.checkpoint();
      unlinkSync(join(dir, 'input.txt'));
      expect(() => restore(file, { fs: fsFor(dir) })).toThrow(CheckpointError);
      expect(() => restore(file, { fs: fsFor(dir) })).toThrow(/input\.txt.*cannot be opened again/);
      // Back again, the same file restores (on a CPU a refusal gave back).
      writeFileSync(join(dir, 'input.txt'), 'The quick brown fox jumps over the lazy dog, twice over.\n');
      const r = restore(file, { fs: fsFor(dir) });
      expect(r.vm.runSync()).toBe(3);
      expect(r.out().toString('latin1')).toContain('left in the pipe');
      r.vm.dispose();
      run.vm.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an in-memory tree saved whole', () => {
  const T = { sec: 1_700_000_000n, nsec: 5 };
  function tree(): MemFs {
    const fs = new MemFs({ label: 'tmp', now: () => T });
    fs.mkdir(['a'], 0o755);
    fs.mkdir(['a', 'b'], 0o700);
    const f = fs.open(['a', 'b', 'file'], 0o102 /* O_RDWR | O_CREAT */, 0o640);
    f.write(new TextEncoder().encode('hello, tree'), 0);
    f.truncate(5);
    f.close();
    fs.link(['a', 'b', 'file'], ['hard'], fs);
    fs.symlink('/tmp/a/b/file', ['link']);
    return fs;
  }

  it('comes back the same: names, inodes, hard links, link targets, bytes, counts', () => {
    const a = tree(), record = a.save();
    const b = new MemFs({ label: 'tmp', now: () => T });
    b.restore(record);
    expect(b.save()).toEqual(record);
    expect(b.lstat(['hard']).ino).toBe(a.lstat(['a', 'b', 'file']).ino);
    expect(b.lstat(['hard']).nlink).toBe(2);
    expect(b.readlink(['link'])).toBe('/tmp/a/b/file');
    expect(b.readdir(['a']).map((e) => e.name)).toEqual(['b']);
    const buf = new Uint8Array(16);
    const n = b.open(['a', 'b', 'file'], 0, 0).read(buf, 0);
    expect(new TextDecoder().decode(buf.subarray(0, n))).toBe('hello');
    expect(b.usage).toEqual(a.usage);
  });

  it('a record that does not hold together changes nothing', () => {
    const record = tree().save();
    const b = tree();
    b.mkdir(['mine'], 0o755);
    const before = b.save();
    for (const cut of [1, 9, record.length >> 1]) expect(() => b.restore(record.subarray(0, record.length - cut))).toThrow(CheckpointError);
    expect(b.save()).toEqual(before);
  });
});

describe('the host clock', () => {
  it('hostClock(from) goes on from at least `from`, never back', () => {
    const from = 10n ** 15n;
    const c = hostClock(from);
    const a = c.nowNs();
    expect(a).toBeGreaterThanOrEqual(from);
    expect(a - from).toBeLessThan(10n ** 9n);
    expect(c.nowNs()).toBeGreaterThanOrEqual(a);
    // A start in the past changes nothing.
    expect(hostClock(1n).nowNs()).toBeLessThan(from);
  });

  it('a VM on the host clock restores onto the host clock, its time going on from the saved one', () => {
    const elf = GUEST('threads.elf');
    const run = start(elf, ['threads', 'sum'], { clock: 'host', jitThreshold: 0 });
    expect(steps(run.vm, 60)).toBeUndefined();
    const file = run.vm.checkpoint(), outAt = run.out().length;
    const saved = run.vm.clock.nowNs();
    const status = run.vm.runSync();
    const r = restore(file, { jitThreshold: 0 });
    expect(r.vm.clock.kind).toBe('host');
    expect(r.vm.clock.nowNs()).toBeGreaterThanOrEqual(saved);
    expect(r.vm.runSync()).toBe(status);
    // (What threads sum prints does not depend on the interleaving.)
    expect(r.out().toString('latin1')).toBe(run.out().subarray(outAt).toString('latin1'));
  });
});

describe('pause, resume and state', () => {
  it('run() waits while paused, runs nothing, and goes on after resume()', async () => {
    const elf = GUEST('threads.elf');
    const run = start(elf, ['threads', 'sum'], { jitThreshold: 0 });
    expect(run.vm.state).toBe('Running');
    run.vm.pause();
    expect(run.vm.state).toBe('Paused');
    const done = run.vm.run();
    await new Promise((r) => setTimeout(r, 30));
    expect(run.vm.cpu.instret).toBe(0n);
    expect(steps(run.vm, 5)).toBeUndefined();
    expect(run.vm.cpu.instret).toBe(0n);
    // A checkpoint of a paused VM, then on.
    const file = run.vm.checkpoint();
    run.vm.resume();
    expect(run.vm.state).toBe('Running');
    const status = await done;
    expect(run.vm.state).toBe('Stopped');
    const r = restore(file, { jitThreshold: 0 });
    expect(await r.vm.run()).toBe(status);
    expect(r.out().toString('latin1')).toBe(run.out().toString('latin1'));
    expect(() => run.vm.checkpoint()).toThrow(CheckpointUnsupportedError);
  });

  it('a checkpoint taken from the event loop while run() goes on restores', async () => {
    const elf = GUEST('threads.elf');
    const run = start(elf, ['threads', 'queue'], { jitThreshold: 0 });
    const done = run.vm.run();
    let file: Uint8Array | undefined, outAt = 0;
    await new Promise<void>((resolve) => setImmediate(() => {
      file = run.vm.checkpoint();
      outAt = run.out().length;
      resolve();
    }));
    const status = await done;
    const r = restore(file!, { jitThreshold: 0 });
    expect(await r.vm.run()).toBe(status);
    expect(r.out().toString('latin1')).toBe(run.out().subarray(outAt).toString('latin1'));
  });
});

describe('checkpoints refused', () => {
  it('from inside a slice (a stdout sink), by name', () => {
    let seen: unknown;
    let vm: ProcessVM | undefined = undefined;
    vm = ProcessVM.create(GUEST('threads.elf'), {
      argv: ['threads', 'sum'], clock: 'virtual', jitThreshold: 0,
      stdout: () => {
        if (seen === undefined) {
          try { vm!.checkpoint(); seen = 'no error'; } catch (e) { seen = e; }
        }
      },
    });
    vm.runSync();
    expect(seen).toBeInstanceOf(CheckpointUnsupportedError);
    expect((seen as CheckpointUnsupportedError).feature).toBe('mid-slice');
  });

  // Runs `elf` in a fresh directory until `when` holds, asks for a
  // checkpoint there (refused), and runs on: the output must be a run's
  // that was never asked.
  function refusedWhen(elf: Uint8Array, argv: string[], when: (vm: ProcessVM) => boolean): CheckpointUnsupportedError {
    const dirs = [mkdtempSync(join(tmpdir(), 'rv-ckpt-')), mkdtempSync(join(tmpdir(), 'rv-ckpt-'))];
    try {
      const clean = start(elf, argv, { jitThreshold: 0, fs: sandboxFs({ cwd: dirs[0] }) });
      const cleanStatus = clean.vm.runSync();
      const run = start(elf, argv, { jitThreshold: 0, fs: sandboxFs({ cwd: dirs[1] }) });
      let refused: unknown;
      while (refused === undefined) {
        expect(steps(run.vm, 1)).toBeUndefined();
        if (!when(run.vm)) continue;
        try { run.vm.checkpoint(); refused = 'no error'; } catch (e) { refused = e; }
      }
      expect(run.vm.runSync()).toBe(cleanStatus);
      // (The directory's path is in what it prints: each ran in its own.)
      expect(run.out().toString('latin1').replaceAll(dirs[1], 'DIR')).toBe(clean.out().toString('latin1').replaceAll(dirs[0], 'DIR'));
      expect(refused).toBeInstanceOf(CheckpointUnsupportedError);
      return refused as CheckpointUnsupportedError;
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  }

  it('an eventfd and an epoll instance come back as they were: count, mode, interests in order, what was reported', () => {
    const run = start(GUEST('threads.elf'), ['threads', 'sum'], { jitThreshold: 0 });
    expect(steps(run.vm, 30)).toBeUndefined();
    const files = run.vm.files;
    const efd = files.install(new EventFd(3n, true, 0o4002, files.ioEvents));
    const pipe = new Pipe(files.ioEvents);
    const [rfd, wfd] = [files.install(new PipeEnd(pipe, 'read', 0)), files.install(new PipeEnd(pipe, 'write', 1))];
    const ep = new Epoll(2), inner = new Epoll(2);
    const [epfd, innerFd] = [files.install(ep), files.install(inner, undefined, true)];
    inner.interests.push({ fd: rfd, description: files.get(rfd), events: 1, data: 7n, reported: -1, disarmed: false });
    ep.interests.push(
      { fd: efd, description: files.get(efd), events: 1 | (1 << 31), data: 0xdead_beefn, reported: 0, disarmed: false },
      { fd: innerFd, description: inner, events: 1, data: 2n, reported: -1, disarmed: false },
      { fd: wfd, description: files.get(wfd), events: 4 | (1 << 30), data: 3n, reported: -1, disarmed: true },
    );
    const file = run.vm.checkpoint();
    const r = ProcessVM.restore(file);
    expect(r.files.open()).toEqual(files.open());
    const e = r.files.get(efd) as EventFd;
    expect([e.count, e.semaphore, e.flags, e.version]).toEqual([3n, true, 0o4002, 0]);
    const rep = r.files.get(epfd) as Epoll, rinner = r.files.get(innerFd) as Epoll;
    expect(r.files.getCloexec(innerFd)).toBe(true);
    expect(rep.interests.map((i) => [i.fd, i.events, i.data, i.reported, i.disarmed])).toEqual(ep.interests.map((i) => [i.fd, i.events, i.data, i.reported, i.disarmed]));
    expect(rep.interests.map((i) => i.description)).toEqual([e, rinner, r.files.get(wfd)]);
    expect(rinner.interests[0].description).toBe(r.files.get(rfd));
    // The same state, so the same file again.
    expect(Buffer.from(r.checkpoint()).equals(Buffer.from(file))).toBe(true);
    r.dispose();
    run.vm.dispose();
  });

  it('an O_PATH descriptor, by name, changing nothing; without it, saved', () => {
    const run = start(GUEST('threads.elf'), ['threads', 'sum'], { jitThreshold: 0 });
    expect(steps(run.vm, 30)).toBeUndefined();
    // openat(AT_FDCWD, "/tmp", O_PATH), as the guest would call it.
    const path = scratch(run.vm);
    run.vm.user.write(path, new TextEncoder().encode('/tmp\0'));
    const fd = Number(sys(run.vm, 'openat', BigInt.asUintN(64, -100n), path, 0o10000000n, 0n));
    expect(fd).toBeGreaterThan(2);
    const instret = run.vm.cpu.instret;
    let refused: unknown;
    try { run.vm.checkpoint(); } catch (e) { refused = e; }
    expect(refused).toBeInstanceOf(CheckpointUnsupportedError);
    expect((refused as CheckpointUnsupportedError).feature).toBe('fd');
    expect((refused as Error).message).toMatch(new RegExp(`fd ${fd} is an O_PATH descriptor`));
    expect(run.vm.cpu.instret).toBe(instret);
    run.vm.files.close(fd);
    expect(ProcessVM.restore(run.vm.checkpoint()).files.open()).toEqual(run.vm.files.open());
    run.vm.dispose();
  });

  it('with a MAP_SHARED file mapping, by name, changing nothing', () => {
    const e = refusedWhen(GUEST('mmap-shared.elf'), ['mmap-shared'], (vm) => sharedMaps(vm)?.overlaps(0n, 1n << 38n) === true);
    expect(e.feature).toBe('shared-mapping');
  });

  it('after fork (several processes), by name, changing nothing', () => {
    const elf = GUEST('proc-fork.elf');
    const run = start(elf, ['proc-fork'], { jitThreshold: 0 });
    let refused: CheckpointUnsupportedError | undefined;
    for (let i = 0; i < 100_000 && refused === undefined; i++) {
      if (steps(run.vm, 1) !== undefined) break;
      if (run.vm.processes.count > 1) {
        const before = run.vm.cpu.instret;
        try { run.vm.checkpoint(); } catch (e) { refused = e as CheckpointUnsupportedError; }
        expect(run.vm.cpu.instret).toBe(before);
      }
    }
    expect(refused).toBeInstanceOf(CheckpointUnsupportedError);
    expect(refused!.feature).toBe('processes');
    expect(refused!.message).toMatch(/processes \(after fork\)/);
    run.vm.dispose();
  });
});

describe('bad checkpoint files restore nothing and say why', () => {
  const elf = GUEST('threads.elf');
  const run = start(elf, ['threads', 'sum'], { jitThreshold: 0 });
  steps(run.vm, 40);
  const good = run.vm.checkpoint();

  it('a truncated file', () => {
    for (const n of [0, 7, 30, good.length >> 1, good.length - 1]) {
      expect(() => restore(good.subarray(0, n))).toThrow(CheckpointError);
    }
  });

  it('a corrupted byte anywhere', () => {
    for (const at of [3, 12, 40, good.length >> 2, good.length >> 1, good.length - 3]) {
      const bad = good.slice();
      bad[at] ^= 0x40;
      expect(() => restore(bad)).toThrow(CheckpointError);
    }
  });

  it('a later format version', () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(8, 99, true);
    try { restore(bad); expect.unreachable(); } catch (e) { expect((e as CheckpointError).problem).toBe('unsupported-version'); }
  });

  it('another machine\'s file (a system VM\'s, or another CPU layout)', () => {
    const file = readCheckpoint(good, { machine: processMachineId(run.vm.cpu) });
    const system = writeCheckpoint({ kind: 'system', fingerprint: file.machine.fingerprint }, file.sections);
    try { restore(system); expect.unreachable(); } catch (e) { expect((e as CheckpointError).problem).toBe('wrong-machine'); }
    const other = writeCheckpoint({ kind: 'process', fingerprint: new TextEncoder().encode('another cpu') }, file.sections);
    try { restore(other); expect.unreachable(); } catch (e) { expect((e as CheckpointError).problem).toBe('wrong-machine'); }
  });

  it('an unknown required section, or bytes after the last one', () => {
    const file = readCheckpoint(good, { machine: processMachineId(run.vm.cpu) });
    const extra = writeCheckpoint(file.machine, [...file.sections, { name: 'futures', version: 1, payload: new Uint8Array(3) }]);
    try { restore(extra); expect.unreachable(); } catch (e) { expect((e as CheckpointError).problem).toBe('unknown-section'); }
    const longer = new Uint8Array(good.length + 2);
    longer.set(good);
    try { restore(longer); expect.unreachable(); } catch (e) { expect((e as CheckpointError).problem).toBe('trailing-bytes'); }
  });

  it('a namespace without the in-memory /tmp the VM had', () => {
    const bare = new GuestFs([{ guestPath: '/', fs: new MemFs({ readOnly: true }), readOnly: true }]);
    expect(() => restore(good, { fs: bare })).toThrow(/in-memory tree at \/tmp/);
  });

  it('a file without one of its sections, or with a record that does not hold together', () => {
    const file = readCheckpoint(good, { machine: processMachineId(run.vm.cpu) });
    for (const name of ['process', 'cpu', 'threads', 'signals', 'rlimits', 'memory', 'files', 'memfs', 'clock']) {
      const without = writeCheckpoint(file.machine, file.sections.filter((s) => s.name !== name));
      expect(() => restore(without)).toThrow(CheckpointError);
      // The record cut short by one byte, with a valid container around it.
      const cut = writeCheckpoint(file.machine, file.sections.map((s) => (s.name === name ? { ...s, payload: s.payload.subarray(0, s.payload.length - 1) } : s)));
      try { restore(cut); expect.unreachable(); } catch (e) { expect((e as CheckpointError).problem).toBe('bad-record'); }
    }
  });
});

describe('Diff snapshots of a process VM (the pages written since the snapshot before)', () => {
  for (const tier of TIERS) {
    it(`threads queue, ${tier.name}: a Full and two Diffs restore as a chain to the machine of the last one`, () => {
      const elf = GUEST('threads.elf');
      const total = countSteps(elf, ['threads', 'queue'], tier);
      const a = start(elf, ['threads', 'queue'], tier);
      steps(a.vm, total >> 2);
      const full = a.vm.snapshot('Full');
      steps(a.vm, total >> 3);
      const d1 = a.vm.snapshot('Diff');
      steps(a.vm, total >> 3);
      const d2 = a.vm.snapshot('Diff');
      expect(d1.length).toBeLessThan(full.length);
      expect(d2.length).toBeLessThan(full.length);
      const outAt = a.out().length;
      const b = restore(d2, { ...tier, base: [full, d1] });
      expect(Buffer.from(b.vm.checkpoint()).equals(Buffer.from(a.vm.checkpoint()))).toBe(true);
      let sa: number | undefined, sb: number | undefined;
      while ((sa = steps(a.vm, 1000)) === undefined);
      while ((sb = steps(b.vm, 1000)) === undefined);
      expect(sb).toBe(sa);
      expect(b.out().equals(a.out().subarray(outAt))).toBe(true);
      expect(b.vm.cpu.instret).toBe(a.vm.cpu.instret);
      expect(() => restore(d2, { ...tier, base: [full] })).toThrow(CheckpointError);
      expect(() => start(elf, ['threads', 'queue'], tier).vm.snapshot('Diff')).toThrow(/take a Full one first/);
    });
  }
});

// ---- a checkpoint this release wrote restores in every later one ----
// test/golden/process-checkpoint-v1.bin is `threads queue` (several threads,
// futex waits) saved half-way through its run by this release, on the
// virtual clock, interpreted; the .json beside it is what the VM did from
// there. Made once with RINGVISOR_UPDATE_GOLDEN=1 (which writes them only
// where there are none) and never rewritten: a new format or record
// version adds a -v<N> fixture beside it.
describe('the process VM checkpoint of release 1 (test/golden/process-checkpoint-v1.bin)', () => {
  const fixture = new URL('./golden/process-checkpoint-v1.bin', import.meta.url).pathname;
  const fixtureRun = fixture.replace(/\.bin$/, '.json');
  const tier = { jitThreshold: 0, jitWarmup: 0n };
  if (process.env.RINGVISOR_UPDATE_GOLDEN === '1' && !existsSync(fixture)) {
    const elf = GUEST('threads.elf');
    const total = countSteps(elf, ['threads', 'queue'], tier);
    const a = start(elf, ['threads', 'queue'], tier);
    steps(a.vm, total >> 1);
    const outAt = a.out().length;
    writeFileSync(fixture, a.vm.checkpoint());
    let status: number | undefined;
    while ((status = steps(a.vm, 1000)) === undefined);
    writeFileSync(fixtureRun, `${JSON.stringify({ status, instret: String(a.vm.cpu.instret), stdout: a.out().subarray(outAt).toString('latin1') }, null, 2)}\n`);
  }

  it('restores, and runs on to the same output, status and instruction count', () => {
    const expected = JSON.parse(readFileSync(fixtureRun, 'utf8')) as { status: number; instret: string; stdout: string };
    const b = restore(new Uint8Array(readFileSync(fixture)), tier);
    expect(b.vm.state).toBe('Running');
    let status: number | undefined;
    while ((status = steps(b.vm, 1000)) === undefined);
    expect(status).toBe(expected.status);
    expect(b.out().toString('latin1')).toBe(expected.stdout);
    expect(String(b.vm.cpu.instret)).toBe(expected.instret);
  });
});
