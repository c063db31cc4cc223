// `ringvisor boot`: a system VM on the terminal, like qemu-system-riscv64
// -M virt -nographic. The console is the host's stdin and stdout: raw mode
// when stdin is a terminal (Ctrl-A x quits, Ctrl-A Ctrl-A sends a Ctrl-A),
// and piped input is typed at the guest as it arrives.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SystemVM, DEFAULT_SYSTEM_MEMORY } from '../system/system-vm.js';
import { resolve } from 'node:path';
import { FileBlockBackend } from '../node/block-file.js';
import { registerDiskImageOpener } from '../system/disk-opener.js';
import { CheckpointError } from '../hypervisor/checkpoint-error.js';
import { CheckpointTree, CheckpointTreeError } from '../hypervisor/checkpoint-tree.js';
import { DiskLayerError } from '../system/disk-overlay.js';
import { DirectoryCheckpointStore, CheckpointStoreError } from '../node/checkpoint-store.js';
import type { ControlApiServer } from '../node/api-server.js';
import { VmControl, REPLACED } from './vm-control.js';
import type { BlockBackend } from '../system/devices/virtio-blk.js';
import { hostRandom } from '../node/random.js';
import { KernelImageError } from '../system/linux-image.js';
import { parseSize, parseInstructionCount, parseSeconds, parseJitWorker, type Fail } from './options.js';
import { workerServiceFor } from '../node/translation-worker.js';
import { loadCpuModule } from '../node/load.js';
import { jitStatsLines } from '../cpu/jit/jit.js';
import { GatheredOutput } from '../node/gathered-output.js';

export const BOOT_USAGE = `usage: ringvisor boot --kernel IMAGE [options]

Boots a RISC-V Linux kernel built for qemu-system-riscv64 -M virt (or any
S-mode program: U-Boot, a bare-metal ELF) with ringvisor as the firmware and
the board. Exits 0 when the guest powers off, 1 with the reason when it
fails, 124 at a limit.

options:
  --kernel FILE         the kernel, as qemu-system-riscv64 -kernel takes it:
                        a Linux Image (arch/riscv/boot/Image) or vmlinux; an
                        ELF, loaded at its physical addresses and entered at
                        the lowest; an uncompressed U-Boot uImage; else a raw
                        binary (u-boot.bin), loaded and entered at 0x80200000
  --bios default        the firmware: ringvisor itself (SBI from ring -1), the
                        only choice; QEMU's -bios none or a firmware file would
                        need an M-mode, which ringvisor does not have
  --initrd FILE         an initramfs, placed in RAM and named in /chosen
  --append CMDLINE      the kernel command line (default: console=ttyS0)
  --mem SIZE            guest RAM, e.g. 256M (default ${DEFAULT_SYSTEM_MEMORY / 1024 / 1024}M; 1M to 4032M)
  --clock host|virtual  guest time from the host's clock (default on a
                        terminal: an idle guest waits) or derived from the
                        instructions run (default otherwise: repeatable)
  --smp N               harts (1 to 8, default 1), taking turns on one thread
  --disk FILE[,ro]      a raw disk image as virtio-blk (/dev/vda); writes
                        reach the file, a flush is an fsync; ,ro: read-only
  --balloon             a virtio-balloon device (dynamic memory: the host
                        can ask the guest for RAM back; docs/LIBRARY.md)
  --max-instructions N  stop after N guest instructions (exit status 124)
  --timeout SECONDS     stop after SECONDS of host time (exit status 124)
  --dump-dtb FILE       write the device tree the VM was given, then boot
  --restore FILE        resume a machine saved in a checkpoint file (the
                        control API's PUT /snapshot/create) where it was:
                        RAM, harts, clock, command line and devices are the
                        file's; its disk is reopened from the path it
                        records, or from --disk; --kernel, --initrd,
                        --append, --mem, --smp, --clock and --balloon
                        cannot be given;
                        a Diff snapshot is restored with the Full one it
                        builds on and the Diffs between, oldest first:
                        --restore FULL --restore DIFF1 --restore DIFF2
  --api PATH            serve the VM's control API on a Unix socket at PATH
                        (mode 0600; docs/API.md): state, pause and resume,
                        snapshots, checkpoints, metrics
  --checkpoint-dir DIR  keep the VM's checkpoint tree in DIR (made if
                        missing, mode 0700): a checkpoint holds the VM's
                        state and its disk as it was (the image becomes a
                        read-only base under differencing layers in DIR);
                        the VM's disk is DIR's current state from then on,
                        across runs
  --jit N|off           translate a jump target's code into WebAssembly after
                        N visits, kernel and user code alike (default 16384;
                        a visit counts one more for every 32 instructions
                        run from it); off: interpret only
                        (docs/PERFORMANCE.md, "Translated system VMs")
  --jit-warmup N        instructions the machine runs before its code is
                        first translated (default 0)
  --jit-worker on|off|MS
                        compile translations in a worker thread while the
                        guest runs on (default on), or in the guest's own
                        thread while it waits (off); the worker starts once
                        the guest's thread has translated for MS
                        milliseconds (on: 50), which translates until the
                        worker is ready
  --trace-exits         print each VM exit on stderr (the console's bytes are
                        coalesced MMIO: no exit each, docs/ARCHITECTURE.md)
  --stats               print exits per reason and SBI calls per function at the end
  -h, --help            this text

On a terminal, Ctrl-A x quits.
`;

/** A command line boot cannot use (status 2); `brief` as in main.ts. */
export class BootUsageError extends Error {
  constructor(message: string, readonly brief = false) { super(message); }
}
/** A file that cannot be read: its message alone, status 1. */
class BootInputError extends Error {}

const usageError: Fail = (message) => { throw new BootUsageError(message, true); };

/**
 * Reads a regular file of at most `limit` bytes (the guest's RAM: nothing
 * larger could be loaded), deciding on its size before reading a byte, so
 * that /dev/zero, a FIFO or a file of many gigabytes is one clear error.
 */
function readInput(path: string, what: string, limit: number): Uint8Array {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new BootInputError(`${what} ${path}: Is a directory`);
    if (!st.isFile()) throw new BootInputError(`${what} ${path}: not a regular file`);
    if (st.size > limit) throw new BootInputError(`${what} ${path}: ${st.size} bytes, larger than the VM's RAM (${limit} bytes; raise --mem)`);
    const bytes = new Uint8Array(st.size);
    for (let off = 0; off < bytes.length;) {
      const n = readSync(fd, bytes, off, bytes.length - off, off);
      if (n === 0) throw new BootInputError(`${what} ${path}: shrank while it was read`);
      off += n;
    }
    return bytes;
  } catch (e) {
    if (e instanceof BootInputError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'EISDIR' ? 'Is a directory' : err.code === 'EACCES' ? 'Permission denied' : err.message;
    throw new BootInputError(`${what} ${path}: ${why}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export async function cmdBoot(args: string[]): Promise<number> {
  let kernel: string | undefined, initrd: string | undefined, append: string | undefined;
  let mem: number | undefined, maxInstructions: bigint | undefined, dumpDtb: string | undefined;
  let timeoutSeconds: number | undefined;
  let traceExits = false, stats = false;
  let disk: { path: string; readOnly: boolean } | undefined;
  let harts: number | undefined;
  let balloon: true | undefined;
  let clock: 'host' | 'virtual' | undefined;
  const restores: string[] = [];
  let api: string | undefined, checkpointDir: string | undefined;
  let jitThreshold = 16384, jitWarmup: bigint | undefined, jitWorker: 'on' | 'off' | number = 'on';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      if (i + 1 >= args.length) throw new BootUsageError(`${a} needs a value`);
      return args[++i];
    };
    if (a === '--kernel') kernel = value();
    else if (a === '--bios') {
      // QEMU's -bios: `default` is its OpenSBI, here ring -1. `none` runs the
      // kernel in M-mode from 0x80000000 and a file is an M-mode firmware
      // (OpenSBI, M-mode U-Boot): the guest has no M-mode to run them in.
      const v = value();
      if (v === 'none') usageError(`--bios none is not possible: QEMU then runs the kernel in M-mode from 0x80000000, and ringvisor has no M-mode (ring -1 is the firmware); boot S-mode code with --bios default`);
      else if (v !== 'default') usageError(`--bios '${v}' is not possible: a firmware file runs in M-mode, and ringvisor has no M-mode (ring -1 is the firmware, serving the SBI); boot its S-mode payload with --kernel (e.g. u-boot.bin or uboot.elf from /usr/lib/u-boot/qemu-riscv64_smode)`);
    }
    else if (a === '--initrd') initrd = value();
    else if (a === '--append') append = value();
    else if (a === '--mem') mem = parseSize(value(), usageError, '256M or 1G');
    else if (a === '--max-instructions') maxInstructions = parseInstructionCount(value(), usageError);
    else if (a === '--timeout') timeoutSeconds = parseSeconds(value(), usageError);
    else if (a === '--dump-dtb') dumpDtb = value();
    else if (a === '--clock') {
      const v = value();
      if (v !== 'host' && v !== 'virtual') usageError(`bad --clock '${v}' (host or virtual)`);
      clock = v;
    } else if (a === '--smp') {
      const v = value();
      if (!/^[1-8]$/.test(v)) usageError(`bad --smp '${v}' (1 to 8 harts)`);
      harts = Number(v);
    } else if (a === '--disk') {
      const v = value();
      const m = /^(.*?)(,ro)?$/.exec(v)!;
      if (!m[1]) usageError(`bad --disk '${v}' (FILE or FILE,ro)`);
      disk = { path: m[1], readOnly: m[2] !== undefined };
    }
    else if (a === '--balloon') balloon = true;
    else if (a === '--restore') restores.push(value());
    else if (a === '--api') api = value();
    else if (a === '--checkpoint-dir') checkpointDir = value();
    else if (a === '--jit') {
      const v = value();
      if (v !== 'off' && !/^[1-9]\d{0,8}$/.test(v)) usageError(`bad --jit '${v}' (visits, at least 1, or off)`);
      jitThreshold = v === 'off' ? 0 : Number(v);
    } else if (a === '--jit-warmup') jitWarmup = parseInstructionCount(value(), usageError, true);
    else if (a === '--jit-worker') jitWorker = parseJitWorker(value(), usageError);
    else if (a === '--trace-exits') traceExits = true;
    else if (a === '--stats') stats = true;
    else if (a === '-h' || a === '--help') { process.stdout.write(BOOT_USAGE); return 0; }
    else throw new BootUsageError(`unknown option ${a}`);
  }
  const restore = restores.at(-1);
  if (restore !== undefined) {
    const given = [['--kernel', kernel], ['--initrd', initrd], ['--append', append], ['--mem', mem], ['--smp', harts], ['--clock', clock], ['--balloon', balloon]].filter(([, v]) => v !== undefined);
    if (given.length > 0) usageError(`--restore takes the machine from the checkpoint: ${given.map(([o]) => o).join(', ')} cannot be given with it`);
  } else if (kernel === undefined) throw new BootUsageError('no kernel given (--kernel IMAGE)');
  // The console's bytes go out together (node/gathered-output.ts), and
  // always before a line of ours on stderr, as the guest printed them.
  const consoleOut = new GatheredOutput((b) => process.stdout.write(b));
  const stderr = (line: string) => { consoleOut.flush(); process.stderr.write(line + '\n'); };
  // Disks are given by absolute path, so that a checkpoint records where to
  // reopen them from whatever directory it is restored in.
  registerDiskImageOpener((path, readOnly) => FileBlockBackend.open(path, readOnly));
  // With a checkpoint tree the disk is the tree's (the image as its base,
  // under the layers of DIR), given to the VM as a backend.
  let tree: { tree: CheckpointTree; store: DirectoryCheckpointStore } | undefined;
  let base: BlockBackend | undefined;
  const closeTree = () => { tree?.tree.close(); base?.close?.(); };
  if (checkpointDir !== undefined) {
    try {
      if (disk !== undefined) base = FileBlockBackend.open(resolve(disk.path), false);
      const store = new DirectoryCheckpointStore(checkpointDir);
      tree = { tree: CheckpointTree.open({ store, base }), store };
    } catch (e) {
      closeTree();
      if (e instanceof CheckpointTreeError || e instanceof DiskLayerError || e instanceof CheckpointStoreError) { stderr(`ringvisor: boot: --checkpoint-dir ${checkpointDir}: ${e.message}`); return 1; }
      if (disk !== undefined && e instanceof Error && 'code' in e) { stderr(`ringvisor: --disk ${disk.path}: ${e.message}`); return 1; }
      throw e;
    }
  }
  const common = {
    maxInstructions, timeoutSeconds, random: hostRandom, jitThreshold, jitWarmup,
    translationService: workerServiceFor(jitWorker, jitThreshold, loadCpuModule),
    disk: tree?.tree.disk ?? (disk === undefined ? undefined : { path: resolve(disk.path), readOnly: disk.readOnly }),
    console: (b: Uint8Array) => consoleOut.write(b),
    diagnostics: stderr,
    traceExits: traceExits ? stderr : undefined,
  };
  let vm: SystemVM;
  try {
    vm = restore !== undefined
      ? SystemVM.restore(readInput(restore, 'checkpoint', 0x1_0000_0000), {
        ...common, base: restores.slice(0, -1).map((f) => readInput(f, 'checkpoint', 0x1_0000_0000)),
      })
      : SystemVM.create({
        ...common,
        kernel: readInput(kernel!, 'kernel', mem ?? DEFAULT_SYSTEM_MEMORY), kernelName: kernel,
        initrd: initrd === undefined ? undefined : readInput(initrd, 'initrd', mem ?? DEFAULT_SYSTEM_MEMORY),
        append, memoryBytes: mem, harts, balloon,
        clock: clock ?? (process.stdin.isTTY ? 'host' : 'virtual'),
      });
  } catch (e) {
    closeTree();
    if (e instanceof BootInputError) { stderr(`ringvisor: boot: ${e.message}`); return 1; }
    if (e instanceof CheckpointError) { stderr(`ringvisor: boot: --restore ${restore}: ${e.message}`); return 1; }
    if (e instanceof KernelImageError || e instanceof RangeError) { stderr(`ringvisor: ${e.message}`); return 1; }
    if (disk !== undefined && e instanceof Error && /virtio-blk|ENOENT|EACCES|EISDIR/.test(e.message)) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : code === 'EISDIR' ? 'Is a directory' : e.message;
      stderr(`ringvisor: --disk ${disk.path}: ${why}`);
      return 1;
    }
    throw e;
  }
  if (dumpDtb !== undefined) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(dumpDtb, vm.dtb);
  }

  const control = new VmControl<SystemVM>({
    id: kernel ?? restore ?? 'vm', kind: 'system', vm, tree,
    restore: (state) => SystemVM.restore(state, common),
  });
  let server: ControlApiServer | undefined;
  if (api !== undefined) {
    // The API's server, and node:http and crypto under it, only when asked
    // for: loading them was some 7 ms of every boot's start.
    const { serveControlApi, ControlApiSocketError } = await import('../node/api-server.js');
    try {
      server = await serveControlApi(api, control, { log: (line) => stderr(`ringvisor: api: ${line}`) });
    } catch (e) {
      closeTree();
      if (e instanceof ControlApiSocketError) { stderr(`ringvisor: boot: --api ${api}: ${e.message}`); return 1; }
      throw e;
    }
  }

  // The console: raw terminal input, Ctrl-A x to quit; or a pipe.
  const stdin = process.stdin;
  let escape = false;
  const onData = (chunk: Buffer) => {
    const vm = control.current;
    if (!stdin.isTTY) { vm.input(chunk); return; }
    const out: number[] = [];
    for (const c of chunk) {
      if (escape) {
        escape = false;
        if (c === 0x78 /* x */) { stderr('\nringvisor: quit (Ctrl-A x)'); vm.halt(0); return; }
        if (c === 0x01) out.push(0x01);
        continue;
      }
      if (c === 0x01) { escape = true; continue; }
      out.push(c);
    }
    if (out.length) vm.input(new Uint8Array(out));
  };
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.on('error', () => {});
  let status: number;
  try {
    // A checkpoint applied through the API replaces the VM: run that one.
    do status = await control.current.run();
    while (status === REPLACED && control.current.state !== 'Stopped');
    vm = control.current;
  } finally {
    consoleOut.flush();
    stdin.off('data', onData);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    await server?.close();
    closeTree();
  }
  if (stats) {
    stderr(`ringvisor: instructions: ${vm.cpu.instret}`);
    for (const [r, n] of vm.exitStats) stderr(`ringvisor: exits ${r}: ${n}`);
    for (const [c, n] of [...vm.sbiStats.calls].sort()) stderr(`ringvisor: sbi ${c}: ${n}`);
    for (const d of vm.bus.stats()) stderr(`ringvisor: device ${d.name}: ${d.reads} reads, ${d.writes} writes`);
    for (const k of vm.deviceLog.counts()) stderr(`ringvisor: device messages "${k.kind}": ${k.count} (${k.suppressed} suppressed)`);
    const j = vm.cpu.jitStats;
    if (j === undefined) stderr('ringvisor: translation: off');
    else {
      const { made, time } = jitStatsLines(j);
      stderr(`ringvisor: ${made}`);
      stderr(`ringvisor: ${time}`);
    }
  }
  return status;
}
