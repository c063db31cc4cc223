#!/usr/bin/env node
// The `ringvisor` command.
import { constants, existsSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sandboxFs, parseMountSpec, hostHandle, hostSysroot, HostFsUnavailable, SysrootError, QUOTA_BLOCK, type HostMount } from '../node/host-fs.js';
import { openProgramFile, readProgramFile, ProgramFileError } from '../node/read-program.js';
import { hostRandom } from '../node/random.js';
import { isTerminal } from '../node/terminal.js';
import { MEMFS_INODE_BYTES, TMP_DEFAULT_BYTES, TMP_DEFAULT_INODES } from '../linux/fs/memfs.js';
// Only what `run` needs is imported here, and from its own module rather
// than the package's index (which loads the system VM too): a short program
// pays for every module Node compiles before it starts (busybox echo took
// 204 ms with them all, 163 ms without). boot, host and vm, and run's
// checkpoint tree and control API, are imported when they are asked for.
import { ProcessVM, DEFAULT_MEMORY_BYTES, LIMIT_EXIT_STATUS } from '../linux/process-vm.js';
import { ElfError } from '../linux/elf.js';
import { RamAllocationError, EXIT_REASON_NAMES } from '../cpu/cpu.js';
import { registerDefaultCpuModule } from '../cpu/module-registry.js';
import { loadCpuModule } from '../node/load.js';
import { jitStatsLines, type JitStats } from '../cpu/jit/jit.js';
import { workerServiceFor } from '../node/translation-worker.js';
import { HostInput } from '../linux/fs/host-input.js';
import { CheckpointError } from '../hypervisor/checkpoint-error.js';
import type { CheckpointTree } from '../hypervisor/checkpoint-tree.js';
import type { DirectoryCheckpointStore } from '../node/checkpoint-store.js';
import type { ControlApiServer } from '../node/api-server.js';
import { parseSize, parseByteCount, parseInstructionCount, parseSeconds, parseThreadSlice, parseJitWorker, MAX_TMP_BYTES, MAX_DISK_QUOTA_BYTES, type Fail } from './options.js';

registerDefaultCpuModule(() => loadCpuModule());

const RUN_USAGE = `usage: ringvisor run [options] PROGRAM [ARGS...]
       ringvisor run [options] --restore FILE

Runs a riscv64 Linux program in a process VM: a static one, or a dynamically
linked one with its interpreter and libraries from a sysroot (-L).

options:
  -L SYSROOT, --sysroot SYSROOT
                        look every absolute path the guest uses up in the
                        riscv64 sysroot SYSROOT first, read-only, as
                        qemu-riscv64 -L does: a dynamically linked program's
                        interpreter and libraries come from there (Debian:
                        -L /usr/riscv64-linux-gnu). Default: the environment
                        variable RINGVISOR_LD_PREFIX, else QEMU_LD_PREFIX
  --max-instructions N  stop the guest after N instructions (exit status 124)
  --timeout SECONDS     stop the guest after SECONDS of host time (exit status 124),
                        sleeping or waiting for stdin included
  --mem SIZE            guest memory, e.g. 64M, 1G (default ${DEFAULT_MEMORY_BYTES / 1024 ** 3}G; 1M to 4032M)
  --env KEY=VALUE       set an environment variable, replacing one of that
                        name (repeatable); -E KEY=VALUE[,KEY=VALUE...] as
                        qemu-riscv64's -E (a comma separates variables)
  --unset-env KEY       remove an environment variable (repeatable); -U
                        KEY[,KEY...] as qemu-riscv64's -U
  --env-clear, -i       start from an empty environment, not the host's
  --cwd DIR             start the guest in DIR (default: the current directory)
  --mount HOST:GUEST[:ro]
                        also show host directory HOST at GUEST, read-only
                        with :ro (repeatable)
  --fs=host             show the guest the whole host file system, as
                        qemu-riscv64 does (default: a sandbox, see below)
  --tmp-size SIZE       host memory the private /tmp may take: file data,
                        names, link targets and ${MEMFS_INODE_BYTES} bytes per file
                        (default ${TMP_DEFAULT_BYTES / 1024 ** 3}G); beyond it, ENOSPC
  --tmp-inodes N        files, directories and links /tmp may hold (default
                        ${TMP_DEFAULT_INODES}); beyond it, ENOSPC
  --disk-quota SIZE     bytes the guest may add to host files through the
                        working directory and read-write mounts (growth of
                        files, ${QUOTA_BLOCK} per new file, directory or link; what it
                        removes again is given back); beyond it, EDQUOT
                        (default: no quota)
  --thread-slice N      instructions a guest thread runs before the next one
                        gets the CPU (default 200000); a run is deterministic
                        for a given slice
  --jit N|off           translate a jump target's code into WebAssembly after
                        N visits (default 16384; a visit counts one more for
                        every 32 instructions run from it); off: interpret
                        only
  --jit-ageing on|off   halve N each time a program's instructions double
                        past 64 million, down to N/64 (default on): a long
                        run translates its warm code too
  --jit-warmup N        instructions a program runs before its code is first
                        translated (default 4000000); 0: from the start
  --jit-worker on|off|MS
                        compile translations in a worker thread while the
                        guest runs on (default on), or in the guest's own
                        thread while it waits (off); the worker starts once
                        the guest's thread has translated for MS
                        milliseconds (on: 50), which translates until the
                        worker is ready
  --clock host|virtual  guest time from the host's clocks (default), or from
                        instructions retired: deterministic runs
  --restore FILE        resume a process VM saved in a checkpoint file (the
                        control API's PUT /snapshot/create) where it was:
                        no PROGRAM or environment; its files are reopened in
                        the sandbox these options make (the same --cwd and
                        --mount as it had); a Diff snapshot is restored
                        after the Full one it builds on and the Diffs
                        between: --restore FULL --restore DIFF
  --api PATH            serve the VM's control API on a Unix socket at PATH
                        (mode 0600; docs/API.md); stdin is then read as it
                        arrives, so the API answers while the guest waits
  --checkpoint-dir DIR  keep the VM's checkpoint tree in DIR (made if
                        missing, mode 0700)
  --strace              print each system call on stderr
  --stats               print instructions, MIPS, peak guest memory, exits per
                        reason and system calls per name on stderr
  -h, --help            this text

files: by default the guest sees only its working directory (read-write, at
the same path as on the host), a private empty /tmp, /dev (null, zero, full,
random, urandom, stdin, stdout, stderr), /proc/self (exe, fd) and what
--mount adds; with a sysroot, a path found in it first. Links in the sysroot
resolve inside it.
'..', absolute symbolic links and chains of them are resolved inside that
view and cannot leave it; every host path is walked one name at a time from
directories ringvisor holds open, so renaming or replacing directories
(even racing from another guest thread) cannot lead outside it, and an open
directory keeps naming the directory it was opened on (docs/SECURITY.md).
stdin, stdout and stderr are the host's.
environment: the host's, in its order, as qemu-riscv64 passes it (QEMU
reverses the order; ringvisor keeps the host's, as a native exec does);
--env-clear starts from none; then --env/-E and --unset-env/-U apply in
the order given.
PROGRAM must be a regular file of at most 1 GiB.

usage: ringvisor bench [options]

Runs the benchmark: workloads under ringvisor, qemu-riscv64, native and
JavaScript, then micro-benchmarks (bench/run.mjs; needs a source checkout;
ringvisor bench --help lists its options).
`;

/** The whole usage text: run's, then boot's and host's from their modules. */
async function usage(): Promise<string> {
  const [{ BOOT_USAGE }, { HOST_USAGE }] = await Promise.all([import('./boot.js'), import('./host.js')]);
  return `${RUN_USAGE}\n${BOOT_USAGE}\n${HOST_USAGE}`;
}

/** A command line the command cannot use (status 2). `brief`: a bad value
 *  of a known option, told in one line without the whole usage text. */
class UsageError extends Error {
  constructor(message: string, readonly brief = false) { super(message); }
}

function jitLines(s: JitStats | undefined, entries: bigint): string[] {
  if (s === undefined) return ['translation: off'];
  const { made, time } = jitStatsLines(s);
  // Each call stores and loads the registers: fewer is faster.
  return [made, `translation entries: ${entries} calls into translations`, time];
}

const usageError: Fail = (message) => { throw new UsageError(message, true); };

// A host stream for the guest's output. A non-blocking one that is full
// (EAGAIN: its reader is slow) is waited on in naps of 1 ms, not spun on,
// and not past --timeout (`deadline`).
function out(fd: number, deadline?: number): (data: Uint8Array) => void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  return (data) => {
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(fd, data, off, data.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        if (deadline !== undefined && Date.now() >= deadline) throw new HostWaitTimeout(`writing to ${fd === 1 ? 'stdout' : 'stderr'}`);
        Atomics.wait(nap, 0, 0, 1);
      }
    }
  };
}

/** The guest waited for the host's stdin or stdout past --timeout. */
class HostWaitTimeout extends Error {
  constructor(readonly what: string) { super(`timed out ${what}`); }
}

// The guest's stdin: the host's fd 0, read when the guest reads. A read waits
// for input, as the guest asked, but not past --timeout: where the host can
// (Linux), fd 0 is opened again as a non-blocking description of its own
// (/proc/self/fd/0), polled every 10 ms, so that a terminal or a pipe with
// nothing to read cannot hold ringvisor for ever. Elsewhere (a socket, no
// /proc) the read blocks as before. A non-blocking fd 0 (EAGAIN) is waited
// on the same way.
function stdinReader(deadline: number | undefined): (max: number) => Uint8Array | null {
  let fd = 0;
  if (deadline !== undefined) {
    try {
      fd = openSync('/proc/self/fd/0', constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      fd = 0;
    }
  }
  const nap = new Int32Array(new SharedArrayBuffer(4));
  return (max) => {
    const buf = new Uint8Array(Math.min(max, 1 << 20));
    for (;;) {
      try {
        const n = readSync(fd, buf, 0, buf.length, null);
        return n === 0 ? null : buf.subarray(0, n);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          if (deadline !== undefined && Date.now() >= deadline) throw new HostWaitTimeout('waiting for input on stdin');
          Atomics.wait(nap, 0, 0, 10);
          continue;
        }
        if (code === 'EOF') return null;
        throw e;
      }
    }
  };
}

function stdinIsFile(): boolean {
  try {
    return fstatSync(0).isFile();
  } catch {
    return false;
  }
}

function windowSize(): { rows: number; columns: number } {
  const stream = isTerminal(1) ? process.stdout : isTerminal(2) ? process.stderr : undefined;
  return { rows: stream?.rows ?? 24, columns: stream?.columns ?? 80 };
}

/** One change to the guest's environment from the command line. */
type EnvEdit = { set: string; name: string } | { unset: string };

// A name is what comes before the first '='; Linux's execve takes any
// string, but a variable without a name or '=' could not be looked up, and
// qemu-riscv64 refuses both too.
function parseEnvSet(v: string, option: string): EnvEdit {
  const eq = v.indexOf('=');
  if (eq <= 0) usageError(`bad ${option} '${v}' (KEY=VALUE)`);
  return { set: v, name: v.slice(0, eq) };
}

function parseEnvUnset(v: string, option: string): EnvEdit {
  if (v === '' || v.includes('=')) usageError(`bad ${option} '${v}' (a variable's name)`);
  return { unset: v };
}

/** The host's environment as KEY=VALUE strings, in the host's order. */
function hostEnvironment(): string[] {
  return Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
}

/** `base` with the edits applied in order: a set replaces the variable in
 *  its place (as setenv does) or appends it; an unset removes it. */
function editEnvironment(base: string[], edits: EnvEdit[]): string[] {
  const env = [...base];
  const nameOf = (s: string) => { const eq = s.indexOf('='); return eq < 0 ? s : s.slice(0, eq); };
  for (const e of edits) {
    if ('set' in e) {
      const at = env.findIndex((s) => nameOf(s) === e.name);
      if (at < 0) env.push(e.set); else env[at] = e.set;
      // Any later duplicate of the name goes, so the guest sees one value.
      for (let i = env.length - 1; i > at && at >= 0; i--) if (nameOf(env[i]) === e.name) env.splice(i, 1);
    } else {
      for (let i = env.length - 1; i >= 0; i--) if (nameOf(env[i]) === e.unset) env.splice(i, 1);
    }
  }
  return env;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

async function cmdRun(args: string[]): Promise<number> {
  let maxInstructions: bigint | undefined;
  let memoryBytes: number | undefined;
  let timeoutSeconds: number | undefined;
  let strace = false, stats = false;
  let threadSlice: bigint | undefined;
  let clock: 'host' | 'virtual' | undefined;
  let jitThreshold: number | undefined;
  let jitWorker: 'on' | 'off' | number = 'on';
  let jitWarmup: bigint | undefined;
  let jitAgeing: boolean | undefined;
  const envEdits: EnvEdit[] = [];
  let envClear = false;
  const mounts: HostMount[] = [];
  let cwd: string | undefined;
  let hostRoot = false;
  let tmpBytes: number | undefined, tmpInodes: number | undefined, diskQuota: number | undefined;
  let sysroot: string | undefined;
  const restores: string[] = [];
  let api: string | undefined, checkpointDir: string | undefined;
  let i = 0;
  for (; i < args.length && args[i].startsWith('-'); i++) {
    const a = args[i];
    const value = (): string => {
      if (i + 1 >= args.length) throw new UsageError(`${a} needs a value`);
      return args[++i];
    };
    if (a === '--') { i++; break; }
    else if (a === '--max-instructions') maxInstructions = parseInstructionCount(value(), usageError);
    else if (a === '--timeout') timeoutSeconds = parseSeconds(value(), usageError);
    else if (a === '--thread-slice') {
      threadSlice = parseThreadSlice(value(), usageError);
    } else if (a === '--jit') {
      const v = value();
      if (v !== 'off' && !/^[1-9]\d{0,8}$/.test(v)) usageError(`bad --jit '${v}' (visits, at least 1, or off)`);
      jitThreshold = v === 'off' ? 0 : Number(v);
    } else if (a === '--jit-warmup') {
      jitWarmup = parseInstructionCount(value(), usageError, true);
    } else if (a === '--jit-worker') {
      jitWorker = parseJitWorker(value(), usageError);
    } else if (a === '--jit-ageing') {
      const v = value();
      if (v !== 'on' && v !== 'off') usageError(`bad ${a} '${v}' (on or off)`);
      jitAgeing = v === 'on';
    } else if (a === '--clock') {
      const v = value();
      if (v !== 'host' && v !== 'virtual') usageError(`bad --clock '${v}' (host or virtual)`);
      clock = v;
    } else if (a === '--mem') memoryBytes = parseSize(value(), usageError);
    else if (a === '--env') envEdits.push(parseEnvSet(value(), a));
    else if (a === '-E') for (const v of value().split(',')) envEdits.push(parseEnvSet(v, a));
    else if (a === '--unset-env') envEdits.push(parseEnvUnset(value(), a));
    else if (a === '-U') for (const v of value().split(',')) envEdits.push(parseEnvUnset(v, a));
    else if (a === '--env-clear' || a === '-i') envClear = true;
    else if (a === '--cwd') cwd = value();
    else if (a === '-L' || a === '--sysroot') sysroot = value();
    else if (a === '--mount') {
      try {
        mounts.push(parseMountSpec(value()));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    } else if (a === '--fs=host') hostRoot = true;
    else if (a === '--fs') {
      const v = value();
      if (v !== 'host' && v !== 'sandbox') usageError(`bad --fs '${v}' (host or sandbox)`);
      hostRoot = v === 'host';
    } else if (a === '--fs=sandbox') hostRoot = false;
    else if (a === '--tmp-size') tmpBytes = parseByteCount(value(), usageError, '--tmp-size', MAX_TMP_BYTES);
    else if (a === '--tmp-inodes') {
      const v = value();
      if (!/^[1-9]\d{0,9}$/.test(v)) usageError(`bad --tmp-inodes '${v}' (a count, at least 1)`);
      tmpInodes = Number(v);
    } else if (a === '--disk-quota') diskQuota = parseByteCount(value(), usageError, '--disk-quota', MAX_DISK_QUOTA_BYTES);
    else if (a === '--restore') restores.push(value());
    else if (a === '--api') api = value();
    else if (a === '--checkpoint-dir') checkpointDir = value();
    else if (a === '--strace') strace = true;
    else if (a === '--stats') stats = true;
    else if (a === '-h' || a === '--help') { out(1)(new TextEncoder().encode(await usage())); return 0; }
    else throw new UsageError(`unknown option ${a}`);
  }
  let program = args[i];
  const restore = restores.at(-1);
  if (restore !== undefined) {
    if (program !== undefined) throw new UsageError(`--restore resumes the program it saved: no PROGRAM (${program}) with it`);
    if (envClear || envEdits.length > 0 || memoryBytes !== undefined || clock !== undefined) {
      throw new UsageError('--restore takes the environment, memory and clock from the checkpoint: --env, -E, --unset-env, -U, --env-clear, --mem and --clock cannot be given with it');
    }
    program = restore;
  } else if (!program) throw new UsageError('no program given');
  let elf: Uint8Array;
  try {
    // A regular file of at most MAX_PROGRAM_BYTES: never /dev/zero or a FIFO.
    // A program is read as it runs (a checkpoint whole).
    elf = restore !== undefined ? readProgramFile(program) : openProgramFile(program);
  } catch (e) {
    if (!(e instanceof ProgramFileError)) throw e;
    process.stderr.write(`ringvisor: ${e.message}\n`);
    return e.exitStatus;
  }
  // --timeout also bounds the host's waits for the guest's stdin and stdout.
  const deadline = timeoutSeconds === undefined ? undefined : Date.now() + timeoutSeconds * 1000;
  const stderr = out(2, deadline);
  const enc = new TextEncoder();
  let guestFs;
  try {
    guestFs = sandboxFs({ cwd, mounts, hostRoot, tmpBytes, tmpInodes, diskQuota, random: hostRandom });
  } catch (e) {
    // No safe way to show host directories here: say so, no usage text.
    if (e instanceof HostFsUnavailable) {
      process.stderr.write(`ringvisor: ${e.message}\n`);
      return 1;
    }
    throw new UsageError((e as Error).message);
  }
  // -L, else the environment, as qemu-riscv64 takes QEMU_LD_PREFIX (ours
  // first: a QEMU_LD_PREFIX set for another target must not win over it).
  const sysrootFrom = sysroot !== undefined ? '-L' : process.env.RINGVISOR_LD_PREFIX ? 'RINGVISOR_LD_PREFIX' : process.env.QEMU_LD_PREFIX ? 'QEMU_LD_PREFIX' : undefined;
  sysroot ??= process.env.RINGVISOR_LD_PREFIX || process.env.QEMU_LD_PREFIX || undefined;
  let sysrootFs;
  try {
    sysrootFs = sysroot === undefined ? undefined : hostSysroot(sysroot);
  } catch (e) {
    guestFs.close();
    if (!(e instanceof SysrootError || e instanceof HostFsUnavailable)) throw e;
    process.stderr.write(`ringvisor: ${e.message}${sysrootFrom === '-L' ? '' : ` (from ${sysrootFrom})`}\n`);
    return 2;
  }
  const translationService = workerServiceFor(jitWorker, jitThreshold, loadCpuModule);
  // With a control API the host's thread must stay free while the guest
  // waits for input: stdin is read as it arrives (HostInput) instead of
  // with blocking reads.
  let hostInput: HostInput | undefined;
  if (api !== undefined && !stdinIsFile()) {
    const input = hostInput = new HostInput();
    process.stdin.on('data', (b: Buffer) => input.push(b));
    process.stdin.on('end', () => input.end());
    process.stdin.on('error', () => input.end());
  }
  const common = {
    translationService,
    fs: guestFs,
    sysroot: sysrootFs,
    // stdin from a regular file stays one (seekable, with a size), as under qemu-riscv64.
    stdin: stdinIsFile() ? { ...hostHandle(0, '<stdin>', true), close: () => {} } : hostInput ?? stdinReader(deadline),
    tty: { stdin: isTerminal(0), stdout: isTerminal(1), stderr: isTerminal(2), windowSize },
    random: hostRandom,
    stdout: out(1, deadline),
    stderr,
    maxInstructions,
    timeoutSeconds,
    threadSlice,
    jitThreshold,
    jitWarmup,
    jitAgeing,
    jitCountEntries: stats,
    strace: strace ? (line: string) => stderr(enc.encode(line + '\n')) : undefined,
  };
  const fail = (message: string, status = 1): number => {
    void translationService?.close();
    guestFs.close();
    process.stderr.write(`ringvisor: ${message}\n`);
    return status;
  };
  let vm: ProcessVM;
  if (restore !== undefined) {
    try {
      const base = restores.slice(0, -1).map((f) => readProgramFile(f));
      vm = ProcessVM.restore(elf, { ...common, base });
    } catch (e) {
      if (e instanceof CheckpointError) return fail(`run: --restore ${restore}: ${e.message}`);
      if (e instanceof ProgramFileError) return fail(e.message, e.exitStatus);
      throw e;
    }
  } else {
    vm = ProcessVM.create(elf, {
      ...common,
      argv: [program, ...args.slice(i + 1)],
      programName: program,
      env: editEnvironment(envClear ? [] : hostEnvironment(), envEdits),
      memoryBytes,
      clock,
    });
    // /proc/self/exe: the program as the host found it, relative to the host's directory.
    vm.fs.setExecutable(resolve(program));
  }
  // The control API and the checkpoint tree (a process VM's has no disk).
  let tree: { tree: CheckpointTree; store: DirectoryCheckpointStore } | undefined;
  if (checkpointDir !== undefined) {
    const [{ CheckpointTree, CheckpointTreeError }, { DirectoryCheckpointStore, CheckpointStoreError }] = await Promise.all([
      import('../hypervisor/checkpoint-tree.js'), import('../node/checkpoint-store.js'),
    ]);
    try {
      const store = new DirectoryCheckpointStore(checkpointDir);
      tree = { tree: CheckpointTree.open({ store }), store };
    } catch (e) {
      if (e instanceof CheckpointTreeError || e instanceof CheckpointStoreError) return fail(`run: --checkpoint-dir ${checkpointDir}: ${e.message}`);
      throw e;
    }
  }
  // Without a tree or an API nothing can pause, save or replace the VM: it
  // runs alone, without the control layer's modules.
  const controls = api === undefined && tree === undefined ? undefined : await import('./vm-control.js');
  const control = controls && new controls.VmControl<ProcessVM>({
    id: program, kind: 'process', vm, tree,
    restore: (state) => ProcessVM.restore(state, common),
  });
  let server: ControlApiServer | undefined;
  if (api !== undefined && control) {
    const { serveControlApi, ControlApiSocketError } = await import('../node/api-server.js');
    try {
      server = await serveControlApi(api, control, { log: (line) => stderr(enc.encode(`ringvisor: api: ${line}\n`)) });
    } catch (e) {
      tree?.tree.close();
      if (e instanceof ControlApiSocketError) return fail(`run: --api ${api}: ${e.message}`);
      throw e;
    }
  }
  const started = process.hrtime.bigint();
  let status: number;
  try {
    // A checkpoint applied through the API replaces the VM: run that one.
    if (controls && control) {
      do status = await control.current.run();
      while (status === controls.REPLACED && control.current.state !== 'Stopped');
      vm = control.current;
    } else status = await vm.run();
  } catch (e) {
    // (A program file that shrinks under the run, ProgramFileError, ends it
    // through main's handler, as one that shrinks before it does.)
    if (!(e instanceof HostWaitTimeout)) throw e;
    process.stderr.write(`ringvisor: ${program}: timed out after ${timeoutSeconds} s ${e.what}\n`);
    status = LIMIT_EXIT_STATUS;
  } finally {
    void translationService?.close();
    await server?.close();
    tree?.tree.close();
    if (hostInput) process.stdin.destroy();
  }
  if (stats) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const n = vm.cpu.instret;
    const lines = [
      `instructions: ${n}`,
      `seconds: ${seconds.toFixed(3)}`,
      `MIPS: ${(Number(n) / seconds / 1e6).toFixed(1)}`,
      // Used: pages written (what --mem limits); mapped: what mmap reserved.
      `peak memory: ${mebibytes(vm.cpu.memoryPeak * 4096)} used of ${vm.cpu.memoryLimit ? mebibytes(vm.cpu.memoryLimit * 4096) : 'no limit'}, ${mebibytes(vm.memory.space.peakBytes)} mapped of ${mebibytes(Number(vm.memory.space.end - vm.memory.space.base))}`,
      `threads: ${vm.threads.created} created, at most ${vm.threads.peak} at once, ${vm.threads.switches} context switches`,
      ...jitLines(vm.cpu.jitStats, vm.cpu.jitEntries),
      ...(vm.cpu.jitThreshold === 0 ? [] : [`translation threshold: ${vm.cpu.jitThreshold} visits at the start, ${vm.cpu.jitThresholdNow} at the end`]),
      ...[...vm.cpu.exitCounts()].map(([r, c]) => `exits ${EXIT_REASON_NAMES[r] ?? r}: ${c}`),
      ...[...vm.syscallCounts].map(([name, c]) => `syscall ${name}: ${c}`),
    ];
    stderr(enc.encode(lines.map((l) => `ringvisor: ${l}\n`).join('')));
  }
  return status;
}

// The benchmark is plain Node scripts beside the sources (bench/), not part
// of the package: run it as a child with this Node, passing the options on.
// (node:child_process and node:os are imported here, not by every command:
// child_process alone brings net, dgram and their bindings.)
async function cmdBench(args: string[]): Promise<number> {
  const script = fileURLToPath(new URL('../../bench/run.mjs', import.meta.url));
  if (!existsSync(script)) {
    process.stderr.write(`ringvisor: bench: ${script} not found (the benchmark needs a source checkout of ringvisor)\n`);
    return 2;
  }
  const [{ spawnSync }, { constants: osConstants }] = await Promise.all([import('node:child_process'), import('node:os')]);
  const r = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 128 + (r.signal ? osConstants.signals[r.signal] : 0);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'run') return await cmdRun(rest);
    if (command === 'bench') return await cmdBench(rest);
    if (command === 'boot') {
      const { cmdBoot, BootUsageError, BOOT_USAGE } = await import('./boot.js');
      try {
        return await cmdBoot(rest);
      } catch (e) {
        if (!(e instanceof BootUsageError)) throw e;
        process.stderr.write(`ringvisor: boot: ${e.message}\n${e.brief ? '' : BOOT_USAGE}`);
        return 2;
      }
    }
    if (command === 'host' || command === 'vm') {
      const { cmdHost, cmdVm, HostUsageError } = await import('./host.js');
      try {
        return await (command === 'host' ? cmdHost(rest) : cmdVm(rest));
      } catch (e) {
        if (!(e instanceof HostUsageError)) throw e;
        process.stderr.write(`ringvisor: ${command}: ${e.message}\n`);
        return 2;
      }
    }
    if (command === undefined || command === '-h' || command === '--help') {
      process.stdout.write(await usage());
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command '${command}'`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`ringvisor: ${e.message}\n${e.brief ? '' : await usage()}`);
      return 2;
    }
    if (e instanceof RamAllocationError) {
      process.stderr.write(`ringvisor: ${e.message}\n`);
      return 2;
    }
    // (A lazily read program that shrinks under the parser or the run: ProgramFileError.)
    if (e instanceof ElfError || e instanceof ProgramFileError) {
      process.stderr.write(`ringvisor: ${e.message}\n`);
      return e.exitStatus;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
