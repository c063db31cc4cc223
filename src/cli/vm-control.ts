// The control API's verbs (hypervisor/control.ts) for the one VM a
// `ringvisor boot` or `ringvisor run` process keeps: pause and resume,
// snapshots written to files, and the checkpoint tree of --checkpoint-dir
// (hypervisor/checkpoint-tree.ts), whose take and apply save and restore
// the whole VM with its disk. Applying a checkpoint makes a new VM from the
// checkpoint's state; the command's run loop then runs that one instead
// (`current` and `replaced`).
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { ControlError, type BalloonConfig, type BalloonStatistics, type CheckpointInfo, type ControlTarget, type SnapshotResult, type VmInfo, type VmRunState } from '../hypervisor/control.js';
import { CheckpointTree, CheckpointTreeError, type CheckpointInfo as TreeCheckpoint, type CheckpointStore } from '../hypervisor/checkpoint-tree.js';
import { CheckpointError } from '../hypervisor/checkpoint-error.js';
import { CheckpointUnsupportedError } from '../linux/process-checkpoint.js';
import type { SystemVM } from '../system/system-vm.js';
import type { BalloonInfo } from '../system/devices/virtio-balloon.js';

const MiB = 1024 * 1024;
/** The driver's statistics (virtio's names) as Firecracker's fields. */
const STAT_FIELDS: Record<string, string> = {
  SWAP_IN: 'swap_in', SWAP_OUT: 'swap_out', MAJFLT: 'major_faults', MINFLT: 'minor_faults', MEMFREE: 'free_memory',
  MEMTOT: 'total_memory', AVAIL: 'available_memory', CACHES: 'disk_caches', HTLB_PGALLOC: 'hugetlb_allocations', HTLB_PGFAIL: 'hugetlb_failures',
};

/** What a VM offers its controller (SystemVM and ProcessVM have these). */
export interface ControlledVM {
  readonly state: VmRunState;
  pause(): void;
  resume(): void;
  /** The whole VM, for the checkpoint tree. */
  checkpoint(): Uint8Array;
  /** A snapshot for a file: Full, or a Diff of the last snapshot. */
  snapshot(type: 'Full' | 'Diff'): Uint8Array;
  /** The last snapshot never reached its file. */
  forgetSnapshot(): void;
  metrics(): Record<string, unknown>;
  configuration(): Record<string, unknown>;
  /** Stops it for good (its run loop returns `status`). */
  halt(status: number): void;
}

export interface VmControlOptions<V extends ControlledVM> {
  id: string;
  kind: 'system' | 'process';
  vm: V;
  /** The checkpoint tree, with the store it keeps its files in. */
  tree?: { tree: CheckpointTree; store: CheckpointStore };
  /** A VM from a checkpoint's state (its disk is the tree's). */
  restore(state: Uint8Array): V;
}

/** What a halted VM's run() returns when it was replaced, not stopped. */
export const REPLACED = -1;

export class VmControl<V extends ControlledVM> implements ControlTarget {
  private vm: V;
  private readonly options: VmControlOptions<V>;
  /** Resolved when apply replaces the VM (the run loop waits on it). */
  replaced: V | undefined;

  constructor(options: VmControlOptions<V>) {
    this.options = options;
    this.vm = options.vm;
  }

  /** The VM that runs now. */
  get current(): V { return this.vm; }

  info(): VmInfo {
    return { id: this.options.id, kind: this.options.kind, state: this.vm.state, config: this.vm.configuration() };
  }

  pause(): void {
    if (this.vm.state === 'Stopped') throw new ControlError(409, 'the VM has stopped: there is nothing to pause');
    this.vm.pause();
  }

  resume(): void {
    if (this.vm.state === 'Stopped') throw new ControlError(409, 'the VM has stopped: it cannot be resumed');
    this.vm.resume();
  }

  /** Writes the VM's checkpoint to `path` (a temporary file beside it,
   *  synced, then renamed: a crash never leaves half a snapshot under the
   *  name). Calls run between two slices, so the VM is already still; it
   *  is paused only for the copy. */
  async snapshot(path: string, type: 'Full' | 'Diff'): Promise<SnapshotResult> {
    const t = performance.now();
    let bytes: Uint8Array;
    try {
      bytes = this.vm.snapshot(type);
    } catch (e) {
      if (e instanceof CheckpointError || e instanceof CheckpointUnsupportedError) throw new ControlError(409, e.message);
      throw e;
    }
    const milliseconds = performance.now() - t;
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    let fd: number | undefined;
    try {
      fd = openSync(tmp, 'wx', 0o600);
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      renameSync(tmp, path);
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      try { unlinkSync(tmp); } catch { /* not made */ }
      this.vm.forgetSnapshot();
      throw new ControlError(400, `cannot write ${path}: ${(e as Error).message}`);
    }
    return { path, type, bytes: bytes.length, milliseconds };
  }

  private tree(): { tree: CheckpointTree; store: CheckpointStore } {
    if (this.options.tree === undefined) throw new ControlError(409, 'this VM keeps no checkpoints: start it with --checkpoint-dir DIR');
    return this.options.tree;
  }

  private checkpointInfo(c: TreeCheckpoint, all: TreeCheckpoint[], now: string | null): CheckpointInfo {
    const byId = new Map(all.map((x) => [x.id, x]));
    let current = false;
    for (let at = now; at !== null; at = byId.get(at)?.parent ?? null) if (at === c.id) { current = true; break; }
    return { name: c.name, created: new Date(c.created).toISOString(), parent: c.parent === null ? null : byId.get(c.parent)?.name ?? null, current };
  }

  listCheckpoints(): CheckpointInfo[] {
    const { tree } = this.tree();
    const all = tree.list();
    return all.map((c) => this.checkpointInfo(c, all, tree.now.parent));
  }

  async takeCheckpoint(name: string): Promise<CheckpointInfo> {
    const { tree } = this.tree();
    if (tree.list().some((c) => c.name === name)) throw new ControlError(409, `there is a checkpoint named ${JSON.stringify(name)} already`);
    try {
      const step = tree.take(name, this.vm.checkpoint());
      const all = tree.list();
      return this.checkpointInfo(step.checkpoint, all, tree.now.parent);
    } catch (e) {
      throw treeError(e);
    }
  }

  /** The VM becomes the checkpoint's: its state is read and a VM made from
   *  it before the tree moves the disk, so a state that cannot be restored
   *  leaves everything as it was. The new VM keeps the old one's run state
   *  (a paused VM stays paused). */
  async applyCheckpoint(name: string): Promise<void> {
    const { tree, store } = this.tree();
    let next: V;
    try {
      const c = tree.get(name);
      const state = store.read(c.stateFile);
      if (state === undefined) throw new ControlError(409, `checkpoint ${JSON.stringify(name)} has lost its state file ${c.stateFile}`);
      next = this.options.restore(state);
      tree.apply(name);
    } catch (e) {
      throw treeError(e);
    }
    this.replace(next);
  }

  /** The VM made again from its own checkpoint (into a fresh CPU
   *  instance): what a host does to take back memory a guest has freed.
   *  Throws what checkpoint() and restore throw (nothing changed then). */
  rebuild(): V {
    return this.options.restore(this.vm.checkpoint());
  }

  /** Puts `next` in the VM's place (a checkpoint applied, a machine
   *  compacted): the old one halts with REPLACED, and the run loop runs
   *  `next` (paused if the old one was). */
  replace(next: V): void {
    const old = this.vm;
    if (old.state === 'Paused') next.pause();
    this.vm = next;
    this.replaced = next;
    old.halt(REPLACED);
  }

  async deleteCheckpoint(name: string): Promise<void> {
    const { tree } = this.tree();
    try {
      tree.delete(name);
    } catch (e) {
      throw treeError(e);
    }
  }

  balloon(): BalloonConfig {
    const b = this.balloonOf('GET /balloon');
    return { amount_mib: Math.round((b.ramBytes - b.targetBytes) / MiB), deflate_on_oom: true, stats_polling_interval_s: 0 };
  }

  setBalloon(amountMib: number): void {
    const vm = this.vm as ControlledVM & Partial<Pick<SystemVM, 'setBalloonTarget'>>;
    const b = this.balloonOf('PATCH /balloon');
    if (amountMib * MiB > b.ramBytes) throw new ControlError(400, `"amount_mib" ${amountMib} is more than the VM's ${b.ramBytes / MiB} MiB of RAM`);
    vm.setBalloonTarget!(b.ramBytes - amountMib * MiB);
  }

  balloonStatistics(): BalloonStatistics {
    const vm = this.vm as ControlledVM & Partial<Pick<SystemVM, 'requestBalloonStats'>>;
    const b = this.balloonOf('GET /balloon/statistics');
    // Fresh figures are asked for now; these are the last the driver sent.
    vm.requestBalloonStats?.();
    const s = b.stats ?? {};
    const n = (k: string) => (s[k] === undefined ? {} : { [STAT_FIELDS[k]]: Number(s[k]) });
    const targetPages = (b.ramBytes - b.targetBytes) / 4096, actualPages = (b.ramBytes - b.actualBytes) / 4096;
    return {
      target_pages: targetPages, actual_pages: actualPages, target_mib: Math.round(targetPages / 256), actual_mib: Math.round(actualPages / 256),
      ...Object.keys(STAT_FIELDS).reduce((o, k) => ({ ...o, ...n(k) }), {}),
    };
  }

  private balloonOf(what: string): BalloonInfo {
    const vm = this.vm as ControlledVM & Partial<Pick<SystemVM, 'balloon'>>;
    const b = vm.balloon?.();
    if (b === undefined) throw new ControlError(400, `${what}: this VM has no balloon device (boot it with --balloon)`);
    return b;
  }

  metrics(): Record<string, unknown> {
    return this.vm.metrics();
  }
}

function treeError(e: unknown): unknown {
  if (e instanceof ControlError) return e;
  if (e instanceof CheckpointTreeError) return new ControlError(e.problem === 'no-such-checkpoint' ? 404 : e.problem === 'bad-name' ? 400 : 409, e.message);
  if (e instanceof CheckpointError || e instanceof CheckpointUnsupportedError) return new ControlError(409, e.message);
  return e;
}
