// Differencing disk layers (src/system/disk-overlay.ts) against a plain
// byte-array model: reads, writes, partial clusters, chains, random
// sequences, crash points, merging, every corruption a reader must refuse.
import { describe, expect, it } from 'vitest';
import {
  DiskLayerError, LAYER_TABLE_OFFSET, MemoryLayerFile, OverlayBlockBackend, SwitchableBlockBackend, readLayerHeader,
  type DiskLayerProblem,
} from '../src/system/disk-overlay.js';
import { MemoryBlockBackend } from '../src/system/devices/virtio-blk.js';
import { crc32 } from '../src/hypervisor/checkpoint-file.js';
import { Rng } from './support/prng.js';

const CS = 4096; // small clusters keep the tests' disks small

function patterned(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}
function readAll(d: { byteLength: number; read(p: number, b: Uint8Array): void }): Uint8Array {
  const b = new Uint8Array(d.byteLength);
  d.read(0, b);
  return b;
}
/** Byte arrays equal (vitest's deep equality is slow on large typed arrays):
 *  the first difference is what a failure reports. */
function expectBytes(got: Uint8Array, want: Uint8Array): void {
  if (got.length === want.length && Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(want.buffer, want.byteOffset, want.length))) return;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  expect.fail(`bytes differ at ${i} (lengths ${got.length} and ${want.length}): got ${got[i]}, want ${want[i]}`);
}
const id = (n: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? n : i));

/** Reseals both header copies of a (changed) layer file. */
function reseal(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  for (const at of [0, 4096]) {
    v.setUint32(at + 12, 0, true);
    v.setUint32(at + 12, crc32(out.subarray(at, at + 128)), true);
  }
  return out;
}
function setBoth(bytes: Uint8Array, f: (v: DataView, at: number) => void): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  for (const at of [0, 4096]) f(v, at);
  return reseal(out);
}
function setEntry(bytes: Uint8Array, i: number, fc: number, check?: number): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  const e = new Uint8Array(8);
  new DataView(e.buffer).setUint32(0, i, true);
  new DataView(e.buffer).setUint32(4, fc, true);
  v.setUint32(LAYER_TABLE_OFFSET + i * 8, fc, true);
  v.setUint32(LAYER_TABLE_OFFSET + i * 8 + 4, check ?? crc32(e), true);
  return out;
}

describe('a layer over a raw image', () => {
  it('reads the parent until written, then the writes; the parent never changes', () => {
    const baseBytes = patterned(10 * CS + 1024, 1); // a last cluster only partly inside the disk
    const base = new MemoryBlockBackend(baseBytes.slice());
    const file = new MemoryLayerFile();
    const d = OverlayBlockBackend.create(file, base, { clusterSize: CS, id: id(1) });
    expectBytes(readAll(d), baseBytes);
    const model = baseBytes.slice();
    const w = (pos: number, len: number, fill: number) => {
      const src = new Uint8Array(len).fill(fill);
      d.write(pos, src);
      model.set(src, pos);
    };
    w(100, 512, 0xaa); // inside cluster 0
    w(CS - 512, 1024, 0xbb); // across clusters 0 and 1
    const reads = d.stats.parentReads;
    w(3 * CS, CS, 0xcc); // a whole cluster: no parent read needed
    expect(d.stats.parentReads).toBe(reads);
    w(10 * CS, 1024, 0xdd); // the partial last cluster
    expectBytes(readAll(d), model);
    expectBytes(base.bytes, baseBytes);
    expect(d.clusterCount).toBe(4);
    // A read spanning written and unwritten clusters.
    const mid = new Uint8Array(5 * CS);
    d.read(CS / 2, mid);
    expectBytes(mid, model.subarray(CS / 2, CS / 2 + 5 * CS));
    // Rewrites go in place: no new cluster.
    w(120, 64, 0xee);
    expect(d.clusterCount).toBe(4);
    expectBytes(readAll(d), model);
    expect(() => d.write(d.byteLength - 10, new Uint8Array(20))).toThrow(RangeError);
    expect(() => d.read(-1, new Uint8Array(1))).toThrow(RangeError);
  });

  it('a read-only layer refuses writes', () => {
    const base = new MemoryBlockBackend(8 * CS);
    const d = OverlayBlockBackend.create(new MemoryLayerFile(), base, { clusterSize: CS, readOnly: true });
    expect(d.readOnly).toBe(true);
    expect(() => d.write(0, new Uint8Array(512))).toThrow(/read-only/);
  });

  it('table entries reach the file only at a flush, after the data: a crash before it reads the old bytes', () => {
    const baseBytes = patterned(8 * CS, 2);
    const base = new MemoryBlockBackend(baseBytes.slice());
    const file = new MemoryLayerFile();
    const d = OverlayBlockBackend.create(file, base, { clusterSize: CS, id: id(2) });
    d.write(CS, new Uint8Array(512).fill(7));
    // "Crash": reopen what the file holds now.
    const crashed = OverlayBlockBackend.open(new MemoryLayerFile(file.bytes()), base);
    expectBytes(readAll(crashed), baseBytes);
    const flushesBefore = file.flushes;
    d.flush();
    expect(file.flushes - flushesBefore).toBe(2); // data, then the entries
    const model = baseBytes.slice();
    model.fill(7, CS, CS + 512);
    expectBytes(readAll(OverlayBlockBackend.open(new MemoryLayerFile(file.bytes()), base)), model);
    // Reopened after the crash, it allocates over the unreferenced cluster a crash left.
    const c2 = OverlayBlockBackend.open(new MemoryLayerFile(file.bytes()), base);
    const sizeBefore = file.size;
    d.write(5 * CS, new Uint8Array(512).fill(9)); // not flushed: an orphan
    const after = new MemoryLayerFile(file.bytes());
    const reopened = OverlayBlockBackend.open(after, base);
    reopened.write(6 * CS, new Uint8Array(512).fill(1));
    reopened.flush();
    expect(after.size).toBe(sizeBefore + CS);
    expect(c2.clusterCount).toBe(1);
  });

  it('random writes and reads through a chain of three layers match the model, and survive a reopen', () => {
    const rng = new Rng('disk-overlay/chain');
    const size = 24 * CS;
    const baseBytes = patterned(size, 3);
    const base = new MemoryBlockBackend(baseBytes.slice());
    const model = baseBytes.slice();
    const files: MemoryLayerFile[] = [];
    let parent: MemoryBlockBackend | OverlayBlockBackend = base;
    let top!: OverlayBlockBackend;
    for (let layer = 0; layer < 3; layer++) {
      const f = new MemoryLayerFile();
      files.push(f);
      if (layer > 0) top.freeze();
      top = OverlayBlockBackend.create(f, parent, { clusterSize: CS, id: id(10 + layer) });
      parent = top;
      for (let op = 0; op < 300; op++) {
        const pos = rng.int(size / 512) * 512;
        const len = Math.min(rng.range(1, 24) * 512, size - pos);
        if (rng.chance(0.6)) {
          const src = Uint8Array.from({ length: len }, () => rng.int(256));
          top.write(pos, src);
          model.set(src, pos);
        } else {
          const got = new Uint8Array(len);
          top.read(pos, got);
          expectBytes(got, model.subarray(pos, pos + len));
        }
        if (rng.chance(0.05)) top.flush();
      }
      expectBytes(readAll(top), model);
    }
    top.flush();
    // Reopen the chain from the files' bytes.
    let p: MemoryBlockBackend | OverlayBlockBackend = base;
    for (const f of files) p = OverlayBlockBackend.open(new MemoryLayerFile(f.bytes()), p, { readOnly: true });
    expectBytes(readAll(p), model);
    expectBytes(base.bytes, baseBytes);
  });
});

describe('merging a layer into its child (deleting a checkpoint)', () => {
  it('the child reads the same, then opens on the grandparent and no longer on the parent', () => {
    const size = 16 * CS;
    const baseBytes = patterned(size, 4);
    const base = new MemoryBlockBackend(baseBytes.slice());
    const f1 = new MemoryLayerFile(), f2 = new MemoryLayerFile();
    const l1 = OverlayBlockBackend.create(f1, base, { clusterSize: CS, id: id(21) });
    l1.write(0, new Uint8Array(3 * CS).fill(1)); // clusters 0..2
    l1.write(8 * CS + 100, new Uint8Array(10).fill(2)); // cluster 8
    l1.freeze();
    const l2 = OverlayBlockBackend.create(f2, l1, { clusterSize: CS, id: id(22) });
    l2.write(CS, new Uint8Array(512).fill(3)); // cluster 1, which l1 has too
    l2.write(12 * CS, new Uint8Array(512).fill(4)); // cluster 12
    const before = readAll(l2);
    l2.absorbParent();
    expect(l2.parent).toBe(base);
    expectBytes(readAll(l2), before);
    expect(l2.clusterCount).toBe(5); // 0, 1, 2, 8, 12
    expect(readLayerHeader(f2).sequence).toBe(2n);
    l2.close();
    expectBytes(readAll(OverlayBlockBackend.open(new MemoryLayerFile(f2.bytes()), base)), before);
    expect(() => OverlayBlockBackend.open(new MemoryLayerFile(f2.bytes()), l1)).toThrow(DiskLayerError);
    // A raw image is no layer to merge.
    const lone = OverlayBlockBackend.create(new MemoryLayerFile(), base, { clusterSize: CS });
    expect(() => lone.absorbParent()).toThrow(/raw image/);
  });

  it('a merge done twice (a crash before the metadata) changes nothing more; the older header copy is the one rewritten', () => {
    const base = new MemoryBlockBackend(patterned(8 * CS, 5));
    const f1 = new MemoryLayerFile(), f2 = new MemoryLayerFile();
    const l1 = OverlayBlockBackend.create(f1, base, { clusterSize: CS, id: id(31) });
    l1.write(2 * CS, new Uint8Array(100).fill(5));
    l1.freeze();
    const l2 = OverlayBlockBackend.create(f2, l1, { clusterSize: CS, id: id(32) });
    const want = readAll(l2);
    l2.absorbParent();
    const once = f2.bytes();
    // Slot 0 now holds sequence 2, slot 1 still sequence 1 (the old parent).
    expect(new DataView(once.buffer).getBigUint64(16, true)).toBe(2n);
    expect(new DataView(once.buffer).getBigUint64(4096 + 16, true)).toBe(1n);
    // A torn rewrite of slot 0: the reader falls back to slot 1, on the old parent.
    const torn = once.slice();
    torn[40] ^= 0xff;
    expectBytes(readAll(OverlayBlockBackend.open(new MemoryLayerFile(torn), l1)), want);
    // Merging again from there copies nothing new.
    const again = OverlayBlockBackend.open(new MemoryLayerFile(torn), l1);
    again.absorbParent();
    expect(again.clusterCount).toBe(1);
    expectBytes(readAll(again), want);
  });
});

describe('a bad layer is refused with DiskLayerError and nothing changes', () => {
  const size = 8 * CS;
  const baseBytes = patterned(size, 6);
  const base = new MemoryBlockBackend(baseBytes.slice());
  const goodFile = new MemoryLayerFile();
  const good = OverlayBlockBackend.create(goodFile, base, { clusterSize: CS, id: id(41) });
  good.write(CS, new Uint8Array(512).fill(1));
  good.write(3 * CS, new Uint8Array(512).fill(2));
  good.close();
  const g = goodFile.bytes();
  const firstData = LAYER_TABLE_OFFSET / CS + 1; // the table fits in one cluster after it

  const cases: [string, Uint8Array, DiskLayerProblem, RegExp][] = [
    ['empty', new Uint8Array(0), 'truncated', /truncated/],
    ['shorter than the headers', g.slice(0, 5000), 'truncated', /truncated/],
    ['not a layer', new TextEncoder().encode('hello, this is a text file'.repeat(400)), 'bad-magic', /bad magic/],
    ['both header copies damaged', (() => { const b = g.slice(); b[30] ^= 1; b[4096 + 30] ^= 1; return b; })(), 'checksum', /both header copies/],
    ['a later version', setBoth(g, (v, at) => v.setUint32(at + 8, 2, true)), 'unsupported-version', /version 2/],
    ['cluster size not a power of two', setBoth(g, (v, at) => v.setUint32(at + 24, 5000, true)), 'bad-header', /cluster size 5000/],
    ['cluster size too large', setBoth(g, (v, at) => v.setUint32(at + 24, 1 << 21, true)), 'bad-header', /cluster size/],
    ['unknown flags', setBoth(g, (v, at) => v.setUint32(at + 28, 1, true)), 'bad-header', /flags/],
    ['reserved bytes', setBoth(g, (v, at) => v.setUint8(at + 120, 1)), 'bad-header', /reserved/],
    ['reserved bytes after the entry count', setBoth(g, (v, at) => v.setUint8(at + 53, 1)), 'bad-header', /reserved/],
    ['virtual size not in sectors', setBoth(g, (v, at) => v.setBigUint64(at + 32, BigInt(size - 1), true)), 'bad-header', /virtual size/],
    ['table entries wrong', setBoth(g, (v, at) => v.setUint32(at + 48, 9, true)), 'bad-header', /table entries/],
    ['huge disk', setBoth(g, (v, at) => { v.setBigUint64(at + 32, 1n << 40n, true); v.setUint32(at + 48, 2 ** 28, true); v.setBigUint64(at + 88, 1n << 40n, true); }), 'bad-header', /at most/],
    ['table offset moved', setBoth(g, (v, at) => v.setBigUint64(at + 40, 4096n, true)), 'bad-header', /table offset/],
    ['parent size differs', setBoth(g, (v, at) => v.setBigUint64(at + 88, BigInt(size * 2), true)), 'bad-header', /parent size/],
    ['zero layer id', setBoth(g, (v, at) => { for (let i = 0; i < 16; i++) v.setUint8(at + 56 + i, 0); }), 'bad-header', /id is zero/],
    ['its own parent', setBoth(g, (v, at) => { for (let i = 0; i < 16; i++) v.setUint8(at + 72 + i, v.getUint8(at + 56 + i)); }), 'bad-header', /own parent/],
    ['table cut short', g.slice(0, LAYER_TABLE_OFFSET + 20), 'truncated', /cluster table/],
    ['an entry with a bad check', setEntry(g, 5, firstData, 0x1234), 'checksum', /table entry 5/],
    ['an entry moved to another slot', (() => { const b = g.slice(); b.copyWithin(LAYER_TABLE_OFFSET + 5 * 8, LAYER_TABLE_OFFSET + 8, LAYER_TABLE_OFFSET + 16); return b; })(), 'checksum', /table entry 5/],
    ['an entry pointing into the table', setEntry(g, 5, 1), 'bad-table', /outside the data clusters/],
    ['an entry pointing past the end', setEntry(g, 5, 1000), 'bad-table', /outside the data clusters/],
    ['an entry pointing at a cluster only partly there', setEntry(g.slice(0, g.length - 1), 5, firstData + 1), 'bad-table', /outside/],
    ['two entries sharing a cluster', setEntry(g, 5, firstData), 'bad-table', /share file cluster/],
  ];
  for (const [what, bytes, problem, message] of cases) {
    it(what, () => {
      const f = new MemoryLayerFile(bytes);
      let err: unknown;
      try { OverlayBlockBackend.open(f, base); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(DiskLayerError);
      expect((err as DiskLayerError).problem).toBe(problem);
      expect((err as DiskLayerError).message).toMatch(message);
      expectBytes(f.bytes(), bytes);
      expect(f.flushes).toBe(0);
      expectBytes(base.bytes, baseBytes);
    });
  }

  it('one damaged header copy: the other is used', () => {
    for (const at of [0, 4096]) {
      const b = g.slice();
      b[at + 30] ^= 1;
      expectBytes(readAll(OverlayBlockBackend.open(new MemoryLayerFile(b), base)), readAll(OverlayBlockBackend.open(new MemoryLayerFile(g), base)));
    }
  });

  it('the wrong parent: another size, another image of the same size, another layer', () => {
    const wrong = (parent: MemoryBlockBackend | OverlayBlockBackend, msg: RegExp) => {
      let err: unknown;
      try { OverlayBlockBackend.open(new MemoryLayerFile(g), parent); } catch (e) { err = e; }
      expect((err as DiskLayerError).problem).toBe('wrong-parent');
      expect((err as DiskLayerError).message).toMatch(msg);
    };
    wrong(new MemoryBlockBackend(size * 2), /the layer is of a 32768-byte disk, the parent has 65536 bytes/);
    const other = patterned(size, 6); other[5] ^= 1;
    wrong(new MemoryBlockBackend(other), /raw image whose first cluster has CRC-32/);
    const aLayer = OverlayBlockBackend.create(new MemoryLayerFile(), base, { clusterSize: CS, id: id(99) });
    wrong(aLayer, /opened on layer 63/);
    // The same image's bytes beyond the first cluster are not checked (documented):
    const sameFirst = baseBytes.slice(); sameFirst[size - 1] ^= 1;
    expect(() => OverlayBlockBackend.open(new MemoryLayerFile(g), new MemoryBlockBackend(sameFirst))).not.toThrow();
  });

  it('bad arguments to create', () => {
    expect(() => OverlayBlockBackend.create(new MemoryLayerFile(), base, { clusterSize: 3000 })).toThrow(DiskLayerError);
    expect(() => OverlayBlockBackend.create(new MemoryLayerFile(), base, { id: new Uint8Array(16) })).toThrow(/not all zero/);
  });
});

describe('SwitchableBlockBackend', () => {
  it('sends reads and writes to its target; refuses a target of another size or writability', () => {
    const a = new MemoryBlockBackend(4 * CS), b = new MemoryBlockBackend(4 * CS);
    const s = new SwitchableBlockBackend(a);
    s.write(0, Uint8Array.of(1, 2, 3));
    s.target = b;
    s.write(0, Uint8Array.of(9));
    expect(a.bytes[0]).toBe(1);
    expect(b.bytes[0]).toBe(9);
    const got = new Uint8Array(1); s.read(0, got); expect(got[0]).toBe(9);
    s.flush();
    expect(b.flushes).toBe(1);
    expect(() => { s.target = new MemoryBlockBackend(8 * CS); }).toThrow(DiskLayerError);
    expect(() => { s.target = new MemoryBlockBackend(4 * CS, true); }).toThrow(/read-only/);
    expect(s.target).toBe(b);
  });
});
