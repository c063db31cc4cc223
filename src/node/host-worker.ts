// A worker thread of a host (vm-host.ts): runs the VMs the host gives it,
// each on its own run loop (hypervisor/run-loop.ts) on this thread's event
// loop, so that VMs of one worker take turns in slices of a few
// milliseconds, in proportion to their CPU weight and within their limit.
// Nothing a guest does reaches the host's thread: a guest that loops holds
// this thread for a slice at a time, a VM whose ring -1 throws is reported
// crashed and the others run on, and a worker that dies takes only its own
// VMs with it.
import { parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessVM } from '../linux/process-vm.js';
import { HostInput } from '../linux/fs/host-input.js';
import { SystemVM } from '../system/system-vm.js';
import { registerDiskImageOpener } from '../system/disk-opener.js';
import type { BlockBackend } from '../system/devices/virtio-blk.js';
import { CheckpointTree } from '../hypervisor/checkpoint-tree.js';
import { ControlError } from '../hypervisor/control.js';
import type { RunLoop } from '../hypervisor/run-loop.js';
import { VmControl, REPLACED } from '../cli/vm-control.js';
import { CheckpointUnsupportedError } from '../linux/process-checkpoint.js';
import { askVm, toJson } from './api-server.js';
import { DirectoryCheckpointStore } from './checkpoint-store.js';
import { FileBlockBackend } from './block-file.js';
import { loadCpuModule } from './load.js';
import { registerDefaultCpuModule } from '../cpu/module-registry.js';
import { sandboxFs } from './host-fs.js';
import { hostRandom } from './random.js';
import type { FromWorker, StartVm, ToWorker, VmMeasure } from './host-protocol.js';
import type { CpuResources } from '../hypervisor/host-config.js';

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

registerDiskImageOpener((path, readOnly) => FileBlockBackend.open(path, readOnly));
registerDefaultCpuModule(() => loadCpuModule());

/** A disk's traffic, for metering. */
class CountingDisk implements BlockBackend {
  readBytes = 0; writtenBytes = 0; reads = 0; writes = 0;
  constructor(private readonly inner: BlockBackend) {}
  get byteLength(): number { return this.inner.byteLength; }
  get readOnly(): boolean { return this.inner.readOnly; }
  read(position: number, dst: Uint8Array): void { this.inner.read(position, dst); this.reads++; this.readBytes += dst.length; }
  write(position: number, src: Uint8Array): void { this.inner.write(position, src); this.writes++; this.writtenBytes += src.length; }
  flush(): void { this.inner.flush(); }
  close(): void { this.inner.close?.(); }
}

type AnyVM = ProcessVM | SystemVM;

class WorkerVm {
  control!: VmControl<AnyVM>;
  private tree!: { tree: CheckpointTree; store: DirectoryCheckpointStore };
  private disk: CountingDisk | undefined;
  private stdin: HostInput | undefined;
  private cpu: CpuResources;
  private consoleOut = 0;
  private consoleIn = 0;
  private samples = { n: 0, sum: 0, min: Infinity, max: 0 };
  private stopped = false;

  constructor(readonly start: StartVm) {
    this.cpu = start.config.cpu;
  }

  private consoleSink = (b: Uint8Array) => {
    this.consoleOut += b.length;
    const copy = b.slice();
    post({ type: 'console', name: this.start.config.name, bytes: copy }, [copy.buffer]);
  };

  /** Makes the VM (throws when its files cannot be read or make no VM). */
  create(): void {
    const { config, paths, dir } = this.start;
    const store = new DirectoryCheckpointStore(join(dir, 'checkpoints'));
    if (config.kind === 'process') {
      this.tree = { tree: CheckpointTree.open({ store }), store };
      this.stdin = new HostInput();
      const common = {
        stdin: this.stdin, stdout: this.consoleSink, stderr: this.consoleSink,
        diagnostics: (l: string) => this.consoleSink(new TextEncoder().encode(`${l}\n`)),
        fs: sandboxFs({ cwd: join(dir, 'files') }),
        memoryBytes: config.memory.startup, random: hostRandom,
      };
      const p = config.process!;
      const vm = ProcessVM.create(new Uint8Array(readFileSync(paths.program!)), {
        ...common, argv: [p.program.split('/').at(-1)!, ...p.args], env: p.env, programName: config.name, clock: config.clock,
      });
      this.control = new VmControl<AnyVM>({
        id: config.name, kind: 'process', vm, tree: this.tree,
        restore: (state) => ProcessVM.restore(state, { ...common, fs: sandboxFs({ cwd: join(dir, 'files') }) }),
      });
    } else {
      const base = paths.disk === undefined ? undefined : FileBlockBackend.open(paths.disk, false);
      this.tree = { tree: CheckpointTree.open({ store, base }), store };
      const treeDisk = this.tree.tree.disk;
      this.disk = treeDisk === undefined ? undefined : new CountingDisk(treeDisk);
      const s = config.system!;
      const common = {
        random: hostRandom, disk: this.disk, console: this.consoleSink,
        diagnostics: (l: string) => this.consoleSink(new TextEncoder().encode(`${l}\r\n`)),
      };
      const vm = SystemVM.create({
        ...common,
        kernel: new Uint8Array(readFileSync(paths.kernel!)), kernelName: s.kernel,
        initrd: paths.initrd === undefined ? undefined : new Uint8Array(readFileSync(paths.initrd)),
        append: s.append, memoryBytes: config.memory.startup, harts: s.harts, clock: config.clock, balloon: s.balloon,
      });
      this.control = new VmControl<AnyVM>({
        id: config.name, kind: 'system', vm, tree: this.tree,
        restore: (state) => SystemVM.restore(state, common),
      });
    }
    this.share(this.control.current.loop);
  }

  private share(loop: RunLoop): void {
    loop.setShare({ weight: this.cpu.weight, limit: this.cpu.limit });
  }

  setCpu(cpu: CpuResources): void {
    this.cpu = cpu;
    this.share(this.control.current.loop);
  }

  /** Runs the VM until it stops (a checkpoint applied replaces it: run that one). */
  async run(): Promise<void> {
    const name = this.start.config.name;
    post({ type: 'event', name, event: 'started' });
    try {
      let status: number;
      do {
        this.share(this.control.current.loop);
        status = await this.control.current.run();
      } while (status === REPLACED && this.control.current.state !== 'Stopped');
      this.stopped = true;
      post({ type: 'event', name, event: 'stopped', detail: { status, measure: this.measure() } });
    } catch (e) {
      this.stopped = true;
      post({ type: 'event', name, event: 'crashed', detail: { message: e instanceof Error ? e.message : String(e), measure: this.measure() } });
    } finally {
      this.tree.tree.close();
      this.disk?.close();
    }
  }

  stop(): void {
    // Halting a stopped VM does nothing; its run() then returns.
    this.control.current.halt(137);
    this.stdin?.end();
  }

  input(bytes: Uint8Array): void {
    this.consoleIn += bytes.length;
    const vm = this.control.current;
    if (vm instanceof SystemVM) vm.input(bytes);
    else this.stdin?.push(bytes);
  }

  /** Memory the guest holds now, in bytes: a process VM's pages written,
   *  a system VM's RAM less what its balloon has given back. */
  private memoryBytes(): number {
    const vm = this.control.current;
    if (vm instanceof ProcessVM) return vm.cpu.memoryUsed * 4096;
    const b = vm.balloon();
    return b === undefined ? Number(vm.cpu.ramLength) : b.ramBytes - b.givenPages * 4096;
  }

  /** What the guest needs (the balancer's demand): a process VM's pages
   *  written; a system VM's RAM in use by its own account (its balloon's
   *  statistics: total less available, less what the balloon holds), else
   *  all it holds. */
  private demandBytes(): number {
    const vm = this.control.current;
    if (vm instanceof ProcessVM) return vm.cpu.memoryUsed * 4096;
    const b = vm.balloon();
    const total = b?.stats?.MEMTOT, avail = b?.stats?.AVAIL;
    // Without fresh figures, the last ones (what it holds is no measure of
    // what it needs: that would feed the balancer its own targets back).
    if (b === undefined || total === undefined || avail === undefined) return this.lastDemand ?? this.memoryBytes();
    // (Pages in the balloon count as used in the guest's own figures.)
    return (this.lastDemand = Math.max(0, Number(total - avail) - b.givenPages * 4096));
  }

  private lastDemand: number | undefined;
  private compactions = 0;

  /** A system VM: pages its balloon held at the last compaction. */
  private compactedAt = 0;
  /** A process VM: the most pages it held (sampled) since it was last
   *  compacted; and whether it cannot be (what it holds cannot be saved). */
  private heldSince = 0;
  private peakAtRebuild = 0;
  private cannotCompact = false;

  sample(): void {
    if (this.stopped) return;
    const b = this.memoryBytes();
    const s = this.samples;
    s.n++; s.sum += b; s.min = Math.min(s.min, b); s.max = Math.max(s.max, b);
    const vm = this.control.current;
    if (vm instanceof ProcessVM) { this.compactProcess(vm); return; }
    const info = vm.balloon();
    if (info === undefined || !info.driverReady) return;
    vm.requestBalloonStats();
    // Once the guest has given back what it was asked for, and 16 MiB more
    // than at the last compaction, the machine is rebuilt from its own
    // checkpoint so that the host gets that memory back (a WebAssembly
    // memory cannot shrink: docs/PERFORMANCE.md, "Dynamic memory").
    if (info.actualBytes === info.targetBytes && info.givenPages - this.compactedAt >= 4096 && vm.state === 'Running') {
      try {
        this.control.replace(vm.compact());
        this.compactedAt = info.givenPages;
        this.compactions++;
      } catch (e) {
        this.consoleSink(new TextEncoder().encode(`ringvisor host: compaction failed: ${e instanceof Error ? e.message : String(e)}\r\n`));
      }
    }
  }

  // A process VM that has freed 16 MiB or more of what it held (munmap,
  // MADV_DONTNEED, a shrunk brk) is rebuilt from its own checkpoint into a
  // fresh CPU instance, so that the host gets those pages back: freed
  // pages go back to the instance's own pool of RAM, which a WebAssembly
  // memory never gives the operating system. A VM that cannot be saved
  // (more than one process, a shared mapping: CheckpointUnsupportedError)
  // is left as it is, and not tried again.
  private compactProcess(vm: ProcessVM): void {
    const held = vm.cpu.memoryUsed;
    // The CPU's own high-water mark catches what a second's samples miss;
    // it is part of the VM's state, so only a peak above the one it had
    // when it was last rebuilt counts.
    const peak = vm.cpu.memoryPeak;
    this.heldSince = Math.max(this.heldSince, held, peak > this.peakAtRebuild ? peak : 0);
    if (this.cannotCompact || this.heldSince - held < 4096 || vm.state !== 'Running') return;
    try {
      const next = this.control.rebuild();
      this.control.replace(next);
      this.compactions++;
      this.heldSince = held;
      this.peakAtRebuild = next.cpu.memoryPeak;
    } catch (e) {
      if (!(e instanceof CheckpointUnsupportedError)) throw e;
      this.cannotCompact = true;
    }
  }

  measure(): VmMeasure {
    const vm = this.control.current;
    const balloon = vm instanceof SystemVM ? vm.balloon() : undefined;
    const m = vm.metrics() as { exits?: Record<string, number> };
    const s = this.samples;
    const now = this.memoryBytes();
    const exits: Record<string, number> = {};
    if (vm instanceof SystemVM) for (const [r, n] of vm.exitStats) exits[r] = n;
    else for (const [r, n] of Object.entries(m.exits ?? {})) exits[r] = Number(n);
    return {
      name: this.start.config.name,
      state: this.stopped ? 'Stopped' : vm.state,
      instructions: String(vm.cpu.instret),
      exits,
      cpuSeconds: vm.loop.busyMs / 1000,
      memory: {
        // (A process VM's CPU keeps its own high-water mark, which a second's samples may miss.)
        bytes: now, average: s.n === 0 ? now : Math.round(s.sum / s.n), minimum: s.n === 0 ? now : s.min,
        maximum: Math.max(s.max, now, vm instanceof ProcessVM ? vm.cpu.memoryPeak * 4096 : 0),
        limit: vm instanceof ProcessVM ? vm.cpu.memoryLimit * 4096 : (balloon?.targetBytes ?? Number(vm.cpu.ramLength)),
        demand: this.demandBytes(),
      },
      compactions: this.compactions,
      ...(balloon ? { balloon: { targetBytes: balloon.targetBytes, actualBytes: balloon.actualBytes } } : {}),
      disk: { readBytes: this.disk?.readBytes ?? 0, writtenBytes: this.disk?.writtenBytes ?? 0, reads: this.disk?.reads ?? 0, writes: this.disk?.writes ?? 0 },
      console: { bytesOut: this.consoleOut, bytesIn: this.consoleIn },
    };
  }

  /** The balancer's new target: a process VM's memory limit, a system
   *  VM's balloon target (a machine without a balloon keeps its RAM). */
  setMemory(bytes: number): void {
    const vm = this.control.current;
    if (vm instanceof ProcessVM) vm.cpu.memoryLimit = Math.max(1, Math.floor(bytes / 4096));
    else if (vm.balloon() !== undefined) vm.setBalloonTarget(Math.min(bytes, Number(vm.cpu.ramLength)));
  }
}

const vms = new Map<string, WorkerVm>();

// Memory is sampled once a second for the average, minimum and maximum.
setInterval(() => { for (const v of vms.values()) v.sample(); }, 1000).unref();

function reply(seq: number, f: () => unknown | Promise<unknown>): void {
  Promise.resolve().then(f).then(
    (value) => post({ type: 'reply', seq, ok: true, value }),
    (e: unknown) => {
      if (e instanceof ControlError) post({ type: 'reply', seq, ok: false, status: e.status, message: e.message });
      else post({ type: 'reply', seq, ok: false, status: 500, message: e instanceof Error ? e.message : String(e) });
    },
  );
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'start': {
      const v = new WorkerVm(m);
      try {
        v.create();
      } catch (e) {
        post({ type: 'event', name: m.config.name, event: 'crashed', detail: { message: `cannot start: ${e instanceof Error ? e.message : String(e)}` } });
        return;
      }
      vms.set(m.config.name, v);
      void v.run().finally(() => vms.delete(m.config.name));
      return;
    }
    case 'call': {
      const v = vms.get(m.name);
      reply(m.seq, async () => {
        if (!v) throw new ControlError(409, `VM ${m.name} is not running`);
        const answer = await askVm(v.control, m.call);
        if (!Array.isArray(answer)) throw new Error('a VM call answered with a stream');
        const [status, value] = answer;
        if (m.call.op === 'take') post({ type: 'event', name: m.name, event: 'checkpointed', detail: { checkpoint: m.call.name } });
        if (m.call.op === 'pause' || m.call.op === 'resume') post({ type: 'event', name: m.name, event: m.call.op === 'pause' ? 'paused' : 'resumed' });
        // (As the API will write it: a message carries no bigints.)
        return { status, value: JSON.parse(toJson(value ?? null)) as unknown };
      });
      return;
    }
    case 'stop': {
      const v = vms.get(m.name);
      reply(m.seq, () => { v?.stop(); return null; });
      return;
    }
    case 'input': vms.get(m.name)?.input(m.bytes); return;
    case 'cpu': vms.get(m.name)?.setCpu(m.cpu); return;
    case 'memory': vms.get(m.name)?.setMemory(m.bytes); return;
    case 'measure':
      post({ type: 'measures', seq: m.seq, vms: [...vms.values()].map((v) => v.measure()) });
      return;
  }
});
