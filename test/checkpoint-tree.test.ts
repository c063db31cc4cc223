// The checkpoint tree (src/hypervisor/checkpoint-tree.ts): take, list,
// apply and delete with the disk's bytes following, Now, crashes between
// steps, bad names and metadata; over a memory store and over a host
// directory (src/node/checkpoint-store.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckpointTree, CheckpointTreeError, MemoryCheckpointStore, TREE_FILE, checkCheckpointName, type CheckpointStore,
} from '../src/hypervisor/checkpoint-tree.js';
import { DirectoryCheckpointStore, CheckpointStoreError } from '../src/node/checkpoint-store.js';
import { DiskLayerError, OverlayBlockBackend } from '../src/system/disk-overlay.js';
import { MemoryBlockBackend, type BlockBackend } from '../src/system/devices/virtio-blk.js';

const CS = 4096;
const SIZE = 16 * CS;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function patterned(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + seed + (i >> 10)) & 0xff;
  return b;
}
function readAll(d: BlockBackend): Uint8Array {
  const b = new Uint8Array(d.byteLength);
  d.read(0, b);
  return b;
}
function expectBytes(got: Uint8Array, want: Uint8Array): void {
  if (got.length === want.length && Buffer.from(got).equals(Buffer.from(want))) return;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  expect.fail(`bytes differ at ${i} (lengths ${got.length} and ${want.length}): got ${got[i]}, want ${want[i]}`);
}
function write(d: BlockBackend, pos: number, len: number, fill: number): void { d.write(pos, new Uint8Array(len).fill(fill)); }
function problemOf(f: () => unknown): string | undefined {
  try { f(); } catch (e) { if (e instanceof CheckpointTreeError || e instanceof DiskLayerError) return e.problem; throw e; }
  return undefined;
}

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ringvisor-ckpt-'));
  dirs.push(d);
  return join(d, 'vm'); // not there yet: the store makes it
}

interface Kind { label: string; make(): { store: () => CheckpointStore } }
const kinds: Kind[] = [
  { label: 'memory store', make: () => { const s = new MemoryCheckpointStore(); return { store: () => s }; } },
  { label: 'host directory', make: () => { const d = tempDir(); return { store: () => new DirectoryCheckpointStore(d) }; } },
];

for (const kind of kinds) {
  describe(`the checkpoint tree over a ${kind.label}`, () => {
    it('take, list, apply, delete: the disk follows, Now follows, and a reopen sees the same', () => {
      const { store } = kind.make();
      const base = new MemoryBlockBackend(patterned(SIZE, 1));
      let t = 1000;
      const clock = () => (t += 1000);
      let tree = CheckpointTree.open({ store: store(), base, clock, clusterSize: CS });
      expect(tree.list()).toEqual([]);
      expect(tree.now).toEqual({ parent: null, layer: null });
      const disk = tree.disk!;
      expect(disk.target).toBe(base); // before any checkpoint the VM writes its image

      write(disk, 0, 512, 1);
      const atA = readAll(disk);
      const a = tree.take('A', enc('state A'));
      expect(a.checkpoint).toMatchObject({ id: 'c1', name: 'A', created: 2000, parent: null, layer: null, stateFile: 'c1.state' });
      expect(disk.target).toBe(a.disk);
      const baseAfterA = base.bytes.slice();

      write(disk, CS + 100, 3000, 2); // crosses into cluster 2
      const atB = readAll(disk);
      const b = tree.take('B', enc('state B'));
      expect(b.checkpoint).toMatchObject({ id: 'c2', name: 'B', parent: 'c1', layer: 'layer-1.rvdl' });
      expect(a.disk!.readOnly).toBe(true); // A's new layer is B's now: frozen
      expect(() => a.disk!.write(0, new Uint8Array(512))).toThrow(/read-only/);
      write(disk, 5 * CS, 512, 3);
      expect(tree.now).toEqual({ parent: 'c2', layer: 'layer-2.rvdl' });
      expect(tree.list().map((c) => [c.name, c.parent, c.created])).toEqual([['A', null, 2000], ['B', 'c1', 3000]]);

      // Apply A, write, apply B: the content is B's.
      const ra = tree.apply('A');
      expect(dec(ra.state)).toBe('state A');
      expect(tree.now).toEqual({ parent: 'c1', layer: 'layer-3.rvdl' });
      expectBytes(readAll(disk), atA);
      write(disk, 7 * CS, 100, 4);
      const rb = tree.apply('B');
      expect(dec(rb.state)).toBe('state B');
      expectBytes(readAll(disk), atB);
      expect(tree.now.parent).toBe('c2');
      expectBytes(base.bytes, baseAfterA); // the original image is never written after the first take

      // C on B, then D on C with Now on D; delete C (a middle one): D and Now read the same.
      write(disk, 9 * CS, 512, 5);
      const atC = readAll(disk);
      tree.take('C', enc('state C'));
      write(disk, 9 * CS + 256, 512, 6);
      write(disk, 11 * CS, 512, 6);
      const atD = readAll(disk);
      tree.take('D', enc('state D'));
      write(disk, 12 * CS, 512, 7);
      const atNow = readAll(disk);
      tree.delete('C');
      expect(tree.list().map((c) => [c.name, c.parent])).toEqual([['A', null], ['B', 'c1'], ['D', 'c2']]);
      expectBytes(readAll(disk), atNow);
      expect(tree.now.parent).toBe('c4');

      // Delete the checkpoint Now descends from: Now's layer takes its differences.
      tree.delete('D');
      expectBytes(readAll(disk), atNow);
      expect(tree.now.parent).toBe('c2');
      // Delete the root, whose disk is the original image: nothing to merge.
      tree.delete('A');
      expect(tree.list().map((c) => [c.name, c.parent])).toEqual([['B', null]]);
      expectBytes(readAll(disk), atNow);
      expect(problemOf(() => tree.apply('C'))).toBe('no-such-checkpoint');
      void atC; void atD;

      // Only the files the tree names are left.
      const s = store();
      expect(s.list().filter((f) => f !== TREE_FILE).sort()).toEqual(['c2.state', 'layer-1.rvdl', tree.now.layer!].sort());

      // Reopen: the same tree, Now's disk the same.
      const listed = tree.list(), now = tree.now;
      tree.close();
      tree = CheckpointTree.open({ store: store(), base, clock, clusterSize: CS });
      expect(tree.list()).toEqual(listed);
      expect(tree.now).toEqual(now);
      expectBytes(readAll(tree.disk!), atNow);
      expectBytes(readAll(tree.apply('B').disk!), atB);
      tree.close();
    });

    it('deleting a checkpoint with two children (branches) merges into both; after a reopen too', () => {
      const { store } = kind.make();
      const base = new MemoryBlockBackend(patterned(SIZE, 3));
      let tree = CheckpointTree.open({ store: store(), base, clusterSize: CS });
      const disk = tree.disk!;
      tree.take('A', enc('A'));
      write(disk, 0, 2 * CS, 1);
      tree.take('B', enc('B'));
      write(disk, CS, 512, 2);
      const atC = readAll(disk);
      tree.take('C', enc('C'));
      tree.apply('B');
      write(disk, 3 * CS, 512, 3);
      const atD = readAll(disk);
      tree.take('D', enc('D'));
      tree.apply('B');
      write(disk, 6 * CS, 512, 4);
      const atNow = readAll(disk);
      tree.close();
      // Reopened, only Now's chain is open: the delete opens the branches itself.
      tree = CheckpointTree.open({ store: store(), base, clusterSize: CS });
      tree.delete('B');
      expect(tree.list().map((c) => [c.name, c.parent])).toEqual([['A', null], ['C', 'c1'], ['D', 'c1']]);
      expect(tree.now.parent).toBe('c1');
      expectBytes(readAll(tree.disk!), atNow);
      expectBytes(readAll(tree.apply('C').disk!), atC);
      expectBytes(readAll(tree.apply('D').disk!), atD);
      tree.close();
      tree = CheckpointTree.open({ store: store(), base, clusterSize: CS });
      expectBytes(readAll(tree.apply('C').disk!), atC);
      tree.close();
    });

    it('a VM without a disk has a tree of states only', () => {
      const { store } = kind.make();
      const tree = CheckpointTree.open({ store: store(), clock: () => 5 });
      expect(tree.disk).toBeUndefined();
      const a = tree.take('first', enc('1'));
      expect(a.disk).toBeUndefined();
      expect(a.checkpoint.layer).toBeNull();
      tree.take('second', enc('2'));
      expect(dec(tree.apply('first').state)).toBe('1');
      tree.take('third', enc('3'));
      tree.delete('first');
      expect(tree.list().map((c) => [c.name, c.parent])).toEqual([['second', null], ['third', null]]);
      tree.close();
      const again = CheckpointTree.open({ store: store() });
      expect(dec(again.apply('third').state)).toBe('3');
      // A disk the checkpoints were not taken with is refused.
      expect(problemOf(() => CheckpointTree.open({ store: store(), base: new MemoryBlockBackend(SIZE) }))).toBe('disk-mismatch');
    });

    it('refuses bad and repeated names, and another disk than the checkpoints were taken of', () => {
      const { store } = kind.make();
      const base = new MemoryBlockBackend(SIZE);
      const tree = CheckpointTree.open({ store: store(), base, clusterSize: CS });
      tree.take('ok name: 1 (été)', enc('x'));
      for (const bad of ['', ' lead', 'trail ', 'a\nb', 'tab\there', 'bell\u0007', 'rtl\u202eoverride', 'zero\u200bwidth', '\ud800', 'x'.repeat(101)]) {
        expect(problemOf(() => tree.take(bad, enc('y')))).toBe('bad-name');
      }
      expect(() => checkCheckpointName(42)).toThrow(CheckpointTreeError);
      expect(() => checkCheckpointName('x'.repeat(100))).not.toThrow();
      expect(problemOf(() => tree.take('ok name: 1 (été)', enc('y')))).toBe('duplicate-name');
      expect(problemOf(() => tree.delete('nope'))).toBe('no-such-checkpoint');
      expect(tree.list()).toHaveLength(1);
      tree.close();
      expect(problemOf(() => CheckpointTree.open({ store: store(), base: new MemoryBlockBackend(2 * SIZE) }))).toBe('disk-mismatch');
      expect(problemOf(() => CheckpointTree.open({ store: store() }))).toBe('disk-mismatch');
      // Another image of the same size: the first layer's parent check refuses it.
      const other = new MemoryBlockBackend(SIZE); other.bytes[0] = 1;
      expect(problemOf(() => CheckpointTree.open({ store: store(), base: other }))).toBe('wrong-parent');
    });

    it('files no metadata names (a crash\'s leftovers) are removed on opening; others are left', () => {
      const { store } = kind.make();
      const s = store();
      s.writeAtomic('c7.state', enc('orphan'));
      s.writeAtomic('layer-9.rvdl', enc('orphan layer'));
      s.writeAtomic('notes.txt', enc('mine'));
      CheckpointTree.open({ store: s }).close();
      expect(store().list()).toEqual(['notes.txt']);
    });
  });
}

/** A memory store whose process "crashes" at a chosen write of tree.json:
 *  before it is stored, or right after. */
class FailingStore extends MemoryCheckpointStore {
  private countdown = 0;
  private when: 'before' | 'after' = 'before';
  crashAt(n: number, when: 'before' | 'after'): void { this.countdown = n; this.when = when; }
  override writeAtomic(name: string, bytes: Uint8Array): void {
    if (name === TREE_FILE && this.countdown > 0 && --this.countdown === 0) {
      if (this.when === 'after') super.writeAtomic(name, bytes);
      throw new Error('crash');
    }
    super.writeAtomic(name, bytes);
  }
}

describe('crashes between the steps', () => {
  function setup(): { store: FailingStore; base: MemoryBlockBackend; tree: CheckpointTree } {
    const store = new FailingStore();
    const base = new MemoryBlockBackend(patterned(SIZE, 2));
    const tree = CheckpointTree.open({ store, base, clusterSize: CS });
    write(tree.disk!, 0, 512, 1);
    tree.take('A', enc('A'));
    write(tree.disk!, 2 * CS, 512, 2);
    tree.take('B', enc('B'));
    write(tree.disk!, 2 * CS + 100, 512, 3);
    tree.take('C', enc('C'));
    write(tree.disk!, 4 * CS, 512, 4);
    return { store, base, tree };
  }

  it('a take whose metadata is not written leaves the tree as it was, and Now writable', () => {
    const { store, tree } = setup();
    const before = tree.list(), now = tree.now, target = tree.disk!.target;
    store.crashAt(1, 'before');
    expect(() => tree.take('D', enc('D'))).toThrow('crash');
    expect(tree.list()).toEqual(before);
    expect(tree.now).toEqual(now);
    expect(tree.disk!.target).toBe(target);
    write(tree.disk!, 0, 512, 9); // still writable
    expect(store.list().filter((f) => f !== TREE_FILE)).toEqual(['c1.state', 'c2.state', 'c3.state', 'layer-1.rvdl', 'layer-2.rvdl', 'layer-3.rvdl']);
    tree.take('D', enc('D'));
    expect(tree.list().map((c) => c.name)).toEqual(['A', 'B', 'C', 'D']);
  });

  for (const [what, n, when] of [
    ['after the journal, before any merge', 1, 'after'],
    ['after the merges, before the final metadata', 2, 'before'],
  ] as const) {
    it(`a delete interrupted ${what} is finished by the next open`, () => {
      const { store, base, tree } = setup();
      const atNow = readAll(tree.disk!);
      const atC = (() => { const r = tree.apply('C'); return readAll(r.disk!); })();
      write(tree.disk!, 4 * CS, 512, 4);
      const now = readAll(tree.disk!);
      void atNow;
      tree.disk!.flush();
      store.crashAt(n, when);
      expect(() => tree.delete('B')).toThrow('crash');
      // The process is gone; a new one opens the store.
      const again = CheckpointTree.open({ store, base, clusterSize: CS });
      expect(again.list().map((c) => [c.name, c.parent])).toEqual([['A', null], ['C', 'c1']]);
      expectBytes(readAll(again.disk!), now);
      expectBytes(readAll(again.apply('C').disk!), atC);
      expect(store.list().filter((f) => f.endsWith('.state'))).toEqual(['c1.state', 'c3.state']);
      expect(store.list()).not.toContain('layer-1.rvdl');
    });
  }
});

describe('the metadata and the host directory', () => {
  it('bad tree.json is refused with bad-metadata', () => {
    const good = (() => {
      const s = new MemoryCheckpointStore();
      const t = CheckpointTree.open({ store: s, base: new MemoryBlockBackend(SIZE), clusterSize: CS });
      t.take('A', enc('a')); t.take('B', enc('b'));
      return JSON.parse(dec(s.read(TREE_FILE)!));
    })();
    const variants: unknown[] = [
      'not json',
      { ...good, format: 'other' },
      { ...good, version: 2 },
      { ...good, checkpoints: [{ ...good.checkpoints[0], parent: 'c2' }, { ...good.checkpoints[1] }] }, // a cycle
      { ...good, checkpoints: [good.checkpoints[1]] }, // parent c1 missing
      { ...good, checkpoints: [good.checkpoints[0], { ...good.checkpoints[1], name: 'A' }] },
      { ...good, checkpoints: [good.checkpoints[0], { ...good.checkpoints[1], stateFile: '../../etc/passwd' }] },
      { ...good, checkpoints: [good.checkpoints[0], { ...good.checkpoints[1], layer: '/etc/passwd' }] },
      { ...good, now: { parent: 'c9', layer: good.now.layer } },
      { ...good, now: { parent: 'c2', layer: null } },
      { ...good, nextId: 2 },
      { ...good, deleting: 'c7' },
    ];
    for (const v of variants) {
      const s = new MemoryCheckpointStore();
      s.writeAtomic(TREE_FILE, enc(typeof v === 'string' ? v : JSON.stringify(v)));
      expect(problemOf(() => CheckpointTree.open({ store: s, base: new MemoryBlockBackend(SIZE) }))).toBe('bad-metadata');
    }
  });

  it('is made mode 0700, writes atomically, refuses names that leave it, does not follow links', () => {
    const dir = tempDir();
    const s = new DirectoryCheckpointStore(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    s.writeAtomic('a', enc('one'));
    s.writeAtomic('a', enc('two'));
    expect(dec(s.read('a')!)).toBe('two');
    expect(readdirSync(dir)).toEqual(['a']); // no temporary file left
    expect(s.read('missing')).toBeUndefined();
    for (const bad of ['../x', 'a/b', '..', '.', '', 'nul\0x', '.hidden', 'back\\slash']) {
      expect(() => s.writeAtomic(bad, enc('x'))).toThrow(CheckpointStoreError);
      expect(() => s.read(bad)).toThrow(CheckpointStoreError);
      expect(() => s.remove(bad)).toThrow(CheckpointStoreError);
      expect(() => s.createLayer(bad)).toThrow(CheckpointStoreError);
    }
    writeFileSync(join(dir, '..', 'outside'), 'secret');
    symlinkSync(join(dir, '..', 'outside'), join(dir, 'link'));
    expect(() => s.read('link')).toThrow(/ELOOP/);
    expect(() => s.openLayer('link')).toThrow(/ELOOP/);
    s.remove('link');
    // A temporary file a crash left is removed by the next opening.
    writeFileSync(join(dir, '.tmp-1-1-tree.json'), 'half');
    new DirectoryCheckpointStore(dir);
    expect(readdirSync(dir)).toEqual(['a']);
    expect(() => s.createLayer('a')).toThrow(/EEXIST/);
    const l = s.createLayer('l');
    l.write(10, Uint8Array.of(1, 2));
    expect(l.size).toBe(12);
    l.close();
    const l2 = s.openLayer('l');
    const got = new Uint8Array(2); l2.read(10, got);
    expect([...got]).toEqual([1, 2]);
    expect(() => l2.read(11, new Uint8Array(2))).toThrow(CheckpointStoreError);
    l2.close();
    // A layer a tree made reopens through the store.
    const base = new MemoryBlockBackend(SIZE);
    const layer = OverlayBlockBackend.create(s.createLayer('x.rvdl'), base, { clusterSize: CS });
    write(layer, 0, 100, 5);
    layer.close();
    const reopened = OverlayBlockBackend.open(s.openLayer('x.rvdl'), base);
    expect(readAll(reopened)[50]).toBe(5);
    reopened.close();
  });
});
