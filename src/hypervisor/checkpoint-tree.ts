/**
 * The checkpoint tree of one VM, as Hyper-V keeps it: named checkpoints,
 * each with its time, its parent, the VM's saved state and the disk as it
 * was, and "Now", the running state, which descends from one of them (or
 * from none). Take (Checkpoint-VM), list (Get-VMSnapshot), apply
 * (Restore-VMSnapshot) and delete (Remove-VMSnapshot).
 *
 * The disk follows Hyper-V's model (src/system/disk-overlay.ts): taking a
 * checkpoint freezes the layer the VM was writing (the first time, the
 * original image itself, which is never written again) and puts a new,
 * empty differencing layer on top for the VM to go on writing; a
 * checkpoint's disk is its frozen layer read through its ancestors.
 * Applying a checkpoint starts a new layer on the checkpoint's (what the VM
 * wrote since is discarded, as Hyper-V discards the unsaved state);
 * deleting one merges its layer into each layer made on it.
 *
 * The tree's metadata is one JSON file, `tree.json`, replaced atomically by
 * the store; each operation writes its files first and `tree.json` last, so
 * a crash at any point leaves the tree as it was before the operation or
 * as it is after it, never without a checkpoint it had (docs/CHECKPOINTS.md,
 * "The checkpoint tree"). Files no metadata names are leftovers of such a
 * crash and are removed when the tree is opened.
 *
 * Host I/O goes through `CheckpointStore` (src/node/checkpoint-store.ts on
 * a host directory, `MemoryCheckpointStore` here). No Node import.
 *
 * The caller pauses the VM around take and apply: the state it passes to
 * `take` and the disk must be of the same instant, and after `apply` it
 * restores the returned state before the VM runs again.
 */

import type { BlockBackend } from '../system/devices/virtio-blk.js';
import {
  DEFAULT_CLUSTER_SIZE, MemoryLayerFile, OverlayBlockBackend, SwitchableBlockBackend, DiskLayerError, type LayerFile,
} from '../system/disk-overlay.js';

/** Files by name, in one directory of the VM's own. */
export interface CheckpointStore {
  /** The file's bytes, or undefined when there is no such file. */
  read(name: string): Uint8Array | undefined;
  /** Replaces (or creates) the file so that a crash leaves either the old
   *  bytes or the new ones, never a mix, and the new ones are durable when
   *  it returns. */
  writeAtomic(name: string, bytes: Uint8Array): void;
  /** Removes the file; nothing happens if it is not there. */
  remove(name: string): void;
  /** The names of the files there. */
  list(): string[];
  /** Opens an existing layer file for reading and writing. */
  openLayer(name: string): LayerFile;
  /** Makes a new, empty layer file; refuses a name that exists. */
  createLayer(name: string): LayerFile;
}

export type CheckpointTreeProblem =
  | 'bad-name'
  | 'duplicate-name'
  | 'no-such-checkpoint'
  | 'bad-metadata'
  | 'disk-mismatch'
  | 'missing-file';

export class CheckpointTreeError extends Error {
  constructor(
    readonly problem: CheckpointTreeProblem,
    message: string,
    /** The checkpoint (name) or file concerned, when there is one. */
    readonly subject?: string,
  ) {
    super(`checkpoint tree: ${message}`);
    this.name = 'CheckpointTreeError';
  }
}

/** One checkpoint, as `list()` gives it. */
export interface CheckpointInfo {
  /** Stable, never reused: `c1`, `c2`, … */
  id: string;
  name: string;
  /** When it was taken: the injected clock's milliseconds since 1970. */
  created: number;
  /** The id of the checkpoint it descends from, or null (a root). */
  parent: string | null;
  /** The file of the VM's saved state. */
  stateFile: string;
  /** Its disk layer's file; null when its disk is the original image (the
   *  first checkpoint taken) or the VM has no disk. */
  layer: string | null;
}

/** The running state. */
export interface NowInfo {
  /** The checkpoint the running state descends from (taken last or applied last), or null. */
  parent: string | null;
  /** The layer the VM's disk writes go to; null while that is still the
   *  original image (no checkpoint taken yet) or the VM has no disk. */
  layer: string | null;
}

export const TREE_FILE = 'tree.json';
const TREE_FORMAT = 'ringvisor-checkpoint-tree';
const TREE_VERSION = 1;
export const MAX_CHECKPOINT_NAME = 100;
const STATE_FILE_RE = /^c[1-9][0-9]{0,15}\.state$/;
const LAYER_FILE_RE = /^layer-[1-9][0-9]{0,15}\.rvdl$/;
const ID_RE = /^c[1-9][0-9]{0,15}$/;
/** Control and format characters (bidi overrides, zero-width joiners), line
 *  and paragraph separators, surrogates, private use: a name is for people
 *  to read in a list, and must read as what it is. */
const UNPRINTABLE_RE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/u;

/** Throws CheckpointTreeError 'bad-name' unless `name` can name a checkpoint. */
export function checkCheckpointName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new CheckpointTreeError('bad-name', 'a checkpoint name is a string');
  const length = [...name].length;
  if (length === 0 || length > MAX_CHECKPOINT_NAME) {
    throw new CheckpointTreeError('bad-name', `a checkpoint name is 1..${MAX_CHECKPOINT_NAME} characters, not ${length}`, name);
  }
  if (UNPRINTABLE_RE.test(name)) {
    throw new CheckpointTreeError('bad-name', `checkpoint name ${JSON.stringify(name)} has a character that does not print`, name);
  }
  if (name.trim() !== name) throw new CheckpointTreeError('bad-name', `checkpoint name ${JSON.stringify(name)} starts or ends with a space`, name);
}

interface TreeMeta {
  format: string;
  version: number;
  /** The disk's size in bytes, or null: no disk. Fixed by the first take. */
  diskSize: number | null;
  nextId: number;
  nextLayer: number;
  checkpoints: CheckpointInfo[];
  now: NowInfo;
  /** A delete that had begun (its id): finished when the tree is opened. */
  deleting: string | null;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Parses and checks tree.json; every reference must resolve, parents form a forest. */
function parseMeta(bytes: Uint8Array): TreeMeta {
  const bad = (what: string): never => { throw new CheckpointTreeError('bad-metadata', `${TREE_FILE}: ${what}`, TREE_FILE); };
  let j: unknown;
  try { j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)); } catch (e) { bad(`not JSON (${e instanceof Error ? e.message : String(e)})`); }
  if (!isObj(j)) return bad('not an object');
  if (j.format !== TREE_FORMAT) bad(`format ${JSON.stringify(j.format)}, not ${TREE_FORMAT}`);
  if (j.version !== TREE_VERSION) bad(`version ${JSON.stringify(j.version)}: this release reads version ${TREE_VERSION}`);
  if (!(j.diskSize === null || (isCount(j.diskSize) && j.diskSize > 0))) bad('diskSize is not null or a size');
  if (!isCount(j.nextId) || j.nextId < 1 || !isCount(j.nextLayer) || j.nextLayer < 1) bad('nextId or nextLayer is not a positive integer');
  if (!Array.isArray(j.checkpoints)) return bad('checkpoints is not an array');
  const ids = new Set<string>(), names = new Set<string>(), layers = new Set<string>();
  const checkpoints: CheckpointInfo[] = [];
  for (const c of j.checkpoints as unknown[]) {
    if (!isObj(c)) return bad('a checkpoint is not an object');
    const { id, name, created, parent, stateFile, layer } = c;
    if (typeof id !== 'string' || !ID_RE.test(id) || ids.has(id)) bad(`checkpoint id ${JSON.stringify(id)} is not one, or is repeated`);
    try { checkCheckpointName(name); } catch { bad(`checkpoint ${String(id)}: bad name ${JSON.stringify(name)}`); }
    if (names.has(name as string)) bad(`checkpoint name ${JSON.stringify(name)} is repeated`);
    if (!isCount(created)) bad(`checkpoint ${String(id)}: created is not a time`);
    if (!(parent === null || (typeof parent === 'string' && ID_RE.test(parent)))) bad(`checkpoint ${String(id)}: bad parent`);
    if (stateFile !== `${String(id)}.state`) bad(`checkpoint ${String(id)}: state file ${JSON.stringify(stateFile)} is not ${String(id)}.state`);
    if (!(layer === null || (typeof layer === 'string' && LAYER_FILE_RE.test(layer) && !layers.has(layer)))) bad(`checkpoint ${String(id)}: bad layer ${JSON.stringify(layer)}`);
    if (Number((id as string).slice(1)) >= (j.nextId as number)) bad(`checkpoint id ${String(id)} is not below nextId`);
    if (typeof layer === 'string') {
      if (Number(layer.slice(6, -5)) >= (j.nextLayer as number)) bad(`layer ${layer} is not below nextLayer`);
      layers.add(layer);
    }
    ids.add(id as string); names.add(name as string);
    checkpoints.push({ id: id as string, name: name as string, created: created as number, parent: parent as string | null, stateFile: stateFile as string, layer: layer as string | null });
  }
  const byId = new Map(checkpoints.map((c) => [c.id, c]));
  for (const c of checkpoints) {
    // Follow parents: each must exist, and the walk must end (no cycle).
    let p = c.parent, steps = 0;
    while (p !== null) {
      const pc = byId.get(p);
      if (pc === undefined) return bad(`checkpoint ${c.id}'s parent ${p} does not exist`);
      if (++steps > checkpoints.length) bad(`checkpoint ${c.id}'s parents form a cycle`);
      p = pc.parent;
    }
  }
  if (!isObj(j.now)) return bad('now is not an object');
  const now = j.now;
  if (!(now.parent === null || (typeof now.parent === 'string' && byId.has(now.parent)))) bad(`now's parent ${JSON.stringify(now.parent)} does not exist`);
  if (!(now.layer === null || (typeof now.layer === 'string' && LAYER_FILE_RE.test(now.layer) && !layers.has(now.layer)))) bad(`now's layer ${JSON.stringify(now.layer)} is not one`);
  if (typeof now.layer === 'string' && Number(now.layer.slice(6, -5)) >= (j.nextLayer as number)) bad(`now's layer ${now.layer} is not below nextLayer`);
  if (!(j.deleting === null || (typeof j.deleting === 'string' && byId.has(j.deleting)))) bad(`deleting ${JSON.stringify(j.deleting)} does not exist`);
  // The disk's shape: with a disk, every checkpoint but the first taken has a layer, and once one was taken Now has one too.
  if (j.diskSize === null) {
    if (checkpoints.some((c) => c.layer !== null) || now.layer !== null) bad('layers named, but no disk');
  } else {
    if (checkpoints.filter((c) => c.layer === null).length > 1) bad('more than one checkpoint on the original image');
    if (now.layer === null) bad('a disk and checkpoints, but no layer for Now');
  }
  return {
    format: TREE_FORMAT, version: TREE_VERSION, diskSize: j.diskSize as number | null, nextId: j.nextId as number, nextLayer: j.nextLayer as number,
    checkpoints, now: { parent: now.parent as string | null, layer: now.layer as string | null }, deleting: j.deleting as string | null,
  };
}

export interface CheckpointTreeOptions {
  store: CheckpointStore;
  /** The VM's disk as it is opened before any checkpoint (the original
   *  image): undefined for a VM without one. Once a checkpoint is taken it
   *  is only ever read; the caller keeps it open while the tree is and
   *  closes it after `close()`. */
  base?: BlockBackend;
  /** Milliseconds since 1970 (default Date.now): the checkpoints' times. */
  clock?: () => number;
  /** New layers' cluster size (default 64 KiB); a layer made on another
   *  layer takes its parent's. */
  clusterSize?: number;
}

/** What `take` and `apply` give back. */
export interface TreeStep {
  checkpoint: CheckpointInfo;
  /** The layer the VM's disk now writes to (already `tree.disk`'s target);
   *  undefined without a disk. */
  disk: OverlayBlockBackend | undefined;
}

export class CheckpointTree {
  private meta: TreeMeta;
  private readonly store: CheckpointStore;
  private readonly base: BlockBackend | undefined;
  private readonly clock: () => number;
  private readonly clusterSize: number;
  /** Every layer opened, by file name: one object per file, since a merge
   *  changes the object its children read through. */
  private readonly layers = new Map<string, OverlayBlockBackend>();
  /** The backend to give the VM's virtio-blk device: the original image
   *  until the first take, then Now's layer. Take and apply switch it. */
  readonly disk: SwitchableBlockBackend | undefined;
  private closed = false;

  private constructor(opts: CheckpointTreeOptions, meta: TreeMeta) {
    this.store = opts.store;
    this.base = opts.base;
    this.clock = opts.clock ?? Date.now;
    this.clusterSize = opts.clusterSize ?? DEFAULT_CLUSTER_SIZE;
    this.meta = meta;
    if (meta.diskSize !== null && (this.base === undefined || this.base.byteLength !== meta.diskSize)) {
      throw new CheckpointTreeError(
        'disk-mismatch',
        `the tree's checkpoints are of a ${meta.diskSize}-byte disk; the VM's disk is ${this.base === undefined ? 'absent' : `${this.base.byteLength} bytes`}`,
      );
    }
    if (meta.diskSize === null && this.base !== undefined && meta.checkpoints.length > 0) {
      throw new CheckpointTreeError('disk-mismatch', 'the tree\'s checkpoints are of a VM without a disk; this VM has one');
    }
    if (meta.deleting !== null) this.finishDelete(meta.deleting, true);
    this.removeLeftovers();
    this.disk = this.base === undefined ? undefined : new SwitchableBlockBackend(this.backendOf(this.meta.now.layer, this.meta.now.parent, false));
  }

  /** Opens the tree in `store` (an empty store is an empty tree), finishing
   *  a delete a crash interrupted and removing files no checkpoint names.
   *  Every layer of Now's chain is opened and checked (DiskLayerError). */
  static open(opts: CheckpointTreeOptions): CheckpointTree {
    const bytes = opts.store.read(TREE_FILE);
    const meta: TreeMeta = bytes === undefined
      ? { format: TREE_FORMAT, version: TREE_VERSION, diskSize: null, nextId: 1, nextLayer: 1, checkpoints: [], now: { parent: null, layer: null }, deleting: null }
      : parseMeta(bytes);
    return new CheckpointTree(opts, meta);
  }

  /** The checkpoints, oldest first. */
  list(): CheckpointInfo[] { return this.meta.checkpoints.map((c) => ({ ...c })); }
  get now(): NowInfo { return { ...this.meta.now }; }

  /** The checkpoint named `name`. */
  get(name: string): CheckpointInfo {
    const c = this.meta.checkpoints.find((x) => x.name === name);
    if (c === undefined) throw new CheckpointTreeError('no-such-checkpoint', `no checkpoint named ${JSON.stringify(name)}`, name);
    return { ...c };
  }

  private byId(id: string): CheckpointInfo {
    const c = this.meta.checkpoints.find((x) => x.id === id);
    if (c === undefined) throw new CheckpointTreeError('bad-metadata', `no checkpoint ${id}`, id);
    return c;
  }

  /** The layer a checkpoint's (or Now's) layer is made on: its parent
   *  checkpoint's layer; the original image for a root. */
  private parentLayerOf(parent: string | null): string | null {
    return parent === null ? null : this.byId(parent).layer;
  }

  /** The disk as seen through layer `layer` (null: the original image),
   *  whose checkpoint descends from `parent`. */
  private backendOf(layer: string | null, parent: string | null, readOnly: boolean): BlockBackend {
    if (this.base === undefined) throw new CheckpointTreeError('disk-mismatch', 'this VM has no disk');
    if (layer === null) return this.base;
    const open = this.layers.get(layer);
    if (open !== undefined) return open;
    const under = this.parentLayerOf(parent);
    const parentBackend = this.backendOf(under, under === null ? null : this.checkpointOfLayer(under).parent, true);
    const file = this.store.openLayer(layer);
    let b: OverlayBlockBackend;
    try {
      b = OverlayBlockBackend.open(file, parentBackend, { readOnly: readOnly || this.base.readOnly });
    } catch (e) {
      file.close();
      throw e;
    }
    this.layers.set(layer, b);
    return b;
  }

  private checkpointOfLayer(layer: string): CheckpointInfo {
    const c = this.meta.checkpoints.find((x) => x.layer === layer);
    if (c === undefined) throw new CheckpointTreeError('bad-metadata', `no checkpoint has layer ${layer}`, layer);
    return c;
  }

  private writeMeta(meta: TreeMeta): void {
    this.store.writeAtomic(TREE_FILE, new TextEncoder().encode(JSON.stringify(meta, null, 1) + '\n'));
    this.meta = meta;
  }

  private copyMeta(): TreeMeta {
    return { ...this.meta, checkpoints: this.meta.checkpoints.map((c) => ({ ...c })), now: { ...this.meta.now } };
  }

  private newLayer(on: BlockBackend, name: string): OverlayBlockBackend {
    const file = this.store.createLayer(name);
    try {
      const clusterSize = on instanceof OverlayBlockBackend ? on.clusterSize : this.clusterSize;
      return OverlayBlockBackend.create(file, on, { clusterSize, readOnly: this.base?.readOnly ?? false });
    } catch (e) {
      file.close();
      this.store.remove(name);
      throw e;
    }
  }

  private checkOpen(): void { if (this.closed) throw new Error('checkpoint tree: closed'); }

  /**
   * Takes a checkpoint named `name` of the running VM, whose saved state is
   * `state`: the disk layer Now writes to becomes the checkpoint's (frozen),
   * and a new layer on it becomes Now's, already `tree.disk`'s target.
   */
  take(name: string, state: Uint8Array): TreeStep {
    this.checkOpen();
    checkCheckpointName(name);
    if (this.meta.checkpoints.some((c) => c.name === name)) {
      throw new CheckpointTreeError('duplicate-name', `a checkpoint named ${JSON.stringify(name)} exists`, name);
    }
    const id = `c${this.meta.nextId}`;
    const checkpoint: CheckpointInfo = { id, name, created: Math.max(0, Math.floor(this.clock())), parent: this.meta.now.parent, stateFile: `${id}.state`, layer: this.meta.now.layer };
    const meta = this.copyMeta();
    meta.nextId++;
    let next: OverlayBlockBackend | undefined;
    let nextName: string | undefined;
    try {
      this.store.writeAtomic(checkpoint.stateFile, state);
      if (this.base !== undefined) {
        const active = this.backendOf(this.meta.now.layer, this.meta.now.parent, false);
        active.flush(); // the frozen disk is durable before anything is made on it
        nextName = `layer-${meta.nextLayer++}.rvdl`;
        next = this.newLayer(active, nextName);
        meta.diskSize = this.base.byteLength;
      }
      meta.checkpoints.push(checkpoint);
      meta.now = { parent: id, layer: nextName ?? null };
      this.writeMeta(meta); // the commit point
    } catch (e) {
      next?.close();
      if (nextName !== undefined) this.store.remove(nextName);
      this.store.remove(checkpoint.stateFile);
      throw e;
    }
    if (checkpoint.layer !== null) this.layers.get(checkpoint.layer)?.freeze();
    if (next !== undefined && nextName !== undefined) {
      this.layers.set(nextName, next);
      this.disk!.target = next;
    }
    return { checkpoint: { ...checkpoint }, disk: next };
  }

  /**
   * Applies checkpoint `name`: Now descends from it and gets a new, empty
   * layer on its disk (already `tree.disk`'s target); the layer Now had is
   * discarded. Returns the checkpoint's saved state, for the caller to
   * restore before the VM runs again.
   */
  apply(name: string): TreeStep & { state: Uint8Array } {
    this.checkOpen();
    const c = this.get(name);
    const state = this.store.read(c.stateFile);
    if (state === undefined) throw new CheckpointTreeError('missing-file', `checkpoint ${JSON.stringify(name)}'s state file ${c.stateFile} is missing`, c.stateFile);
    const meta = this.copyMeta();
    const old = this.meta.now.layer;
    let next: OverlayBlockBackend | undefined;
    let nextName: string | undefined;
    try {
      if (this.base !== undefined) {
        nextName = `layer-${meta.nextLayer++}.rvdl`;
        next = this.newLayer(this.backendOf(c.layer, c.parent, true), nextName);
      }
      meta.now = { parent: c.id, layer: nextName ?? null };
      this.writeMeta(meta);
    } catch (e) {
      next?.close();
      if (nextName !== undefined) this.store.remove(nextName);
      throw e;
    }
    if (next !== undefined && nextName !== undefined) {
      this.layers.set(nextName, next);
      this.disk!.target = next;
    }
    if (old !== null) this.dropLayer(old);
    return { checkpoint: c, state, disk: next };
  }

  /**
   * Deletes checkpoint `name`: its disk differences are merged into each
   * layer made on its layer (its child checkpoints', and Now's when Now
   * descends from it directly), its children get its parent, and its files
   * are removed. What every other checkpoint and Now read is unchanged.
   */
  delete(name: string): void {
    this.checkOpen();
    const c = this.get(name);
    // Journal the delete first: a crash during the merges is finished by the next open.
    const journal = this.copyMeta();
    journal.deleting = c.id;
    this.writeMeta(journal);
    this.finishDelete(c.id, false);
  }

  /** The merges, then the metadata, then the files; `recovering`: after a
   *  crash, when a child may already have been re-pointed. */
  private finishDelete(id: string, recovering: boolean): void {
    const c = this.byId(id);
    if (c.layer !== null && this.base !== undefined) {
      const children: { layer: string; parent: string | null }[] = this.meta.checkpoints
        .filter((k) => k.parent === c.id && k.layer !== null).map((k) => ({ layer: k.layer!, parent: k.parent }));
      if (this.meta.now.parent === c.id && this.meta.now.layer !== null) children.push({ layer: this.meta.now.layer, parent: c.id });
      for (const child of children) {
        const isNow = child.layer === this.meta.now.layer;
        let b: BlockBackend;
        try {
          b = this.backendOf(child.layer, child.parent, !isNow);
        } catch (e) {
          // After a crash a child may have been merged and re-pointed
          // already: then it opens on the layer under the deleted one.
          if (!(recovering && e instanceof DiskLayerError && e.problem === 'wrong-parent')) throw e;
          this.backendOf(child.layer, c.parent, !isNow);
          continue;
        }
        (b as OverlayBlockBackend).absorbParent();
      }
    }
    const meta = this.copyMeta();
    meta.checkpoints = meta.checkpoints.filter((k) => k.id !== c.id);
    for (const k of meta.checkpoints) if (k.parent === c.id) k.parent = c.parent;
    if (meta.now.parent === c.id) meta.now.parent = c.parent;
    meta.deleting = null;
    this.writeMeta(meta);
    if (c.layer !== null) this.dropLayer(c.layer);
    this.store.remove(c.stateFile);
  }

  private dropLayer(layer: string): void {
    this.layers.get(layer)?.close();
    this.layers.delete(layer);
    this.store.remove(layer);
  }

  /** Removes state and layer files that no checkpoint or Now names: what a
   *  crash between an operation's first file and its metadata left. */
  private removeLeftovers(): void {
    const named = new Set<string>();
    for (const c of this.meta.checkpoints) { named.add(c.stateFile); if (c.layer !== null) named.add(c.layer); }
    if (this.meta.now.layer !== null) named.add(this.meta.now.layer);
    for (const f of this.store.list()) {
      if ((STATE_FILE_RE.test(f) || LAYER_FILE_RE.test(f)) && !named.has(f)) this.store.remove(f);
    }
  }

  /** Commits and closes every layer (not the original image, the caller's). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.layers.values()) l.close();
    this.layers.clear();
  }
}

/** A store in memory (tests, a browser page without storage). */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly files = new Map<string, Uint8Array>();
  readonly layerFiles = new Map<string, MemoryLayerFile>();
  read(name: string): Uint8Array | undefined {
    const l = this.layerFiles.get(name);
    if (l !== undefined) return l.bytes();
    return this.files.get(name)?.slice();
  }
  writeAtomic(name: string, bytes: Uint8Array): void { this.layerFiles.delete(name); this.files.set(name, bytes.slice()); }
  remove(name: string): void { this.files.delete(name); this.layerFiles.delete(name); }
  list(): string[] { return [...this.files.keys(), ...this.layerFiles.keys()].sort(); }
  openLayer(name: string): LayerFile {
    const l = this.layerFiles.get(name);
    if (l === undefined) throw new CheckpointTreeError('missing-file', `layer file ${name} is missing`, name);
    l.closed = false;
    return l;
  }
  createLayer(name: string): LayerFile {
    if (this.files.has(name) || this.layerFiles.has(name)) throw new Error(`memory store: ${name} exists`);
    const l = new MemoryLayerFile();
    this.layerFiles.set(name, l);
    return l;
  }
}
