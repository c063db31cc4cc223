// Fuzz target: the differencing disk layer's reader (src/system/
// disk-overlay.ts) on mutated layer files. The contract: OverlayBlockBackend.open
// either returns a disk or throws a DiskLayerError, never anything else, and
// changes nothing in the file either way; a disk it returns reads all its
// bytes, takes writes that read back (a write never lands on a cluster the
// table already gives another virtual cluster), and after a flush reopens
// with the same bytes. The table is allocated only once the file is known
// to hold it, so no claimed size allocates more than the input's length.
//
// Input: one byte choosing the parent (bit 0: a raw image, or a layer on
// it), then the layer file. Most byte mutations only break a checksum, so
// the structured mutator reseals both header copies and every table entry's
// check: the checks behind them (sizes, offsets, shared clusters, the
// parent's identity) get inputs too.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiskLayerError, LAYER_TABLE_OFFSET, MemoryLayerFile, OverlayBlockBackend } from '../../src/system/disk-overlay.js';
import { MemoryBlockBackend, type BlockBackend } from '../../src/system/devices/virtio-blk.js';
import { crc32 } from '../../src/hypervisor/checkpoint-file.js';
import { fuzz, budget, fuzzTimeout, describeFailures, mutateResealed, ByteReader, type FuzzTarget, type NamedInput, type Rng } from './harness.js';

const corpusDir = new URL('./corpus/disk-layer/', import.meta.url).pathname;
const CS = 4096;
const SIZE = 16 * CS;

const baseBytes = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7 + (i >> 12)) & 0xff);
const base = new MemoryBlockBackend(baseBytes.slice(), true);
/** A fixed layer on the base, the parent of inputs whose first byte is odd. */
const middle = (() => {
  const l = OverlayBlockBackend.create(new MemoryLayerFile(), base, { clusterSize: CS, id: Uint8Array.from({ length: 16 }, (_, i) => i + 1) });
  l.write(0, new Uint8Array(CS).fill(0x5a));
  l.write(5 * CS + 10, new Uint8Array(100).fill(0xa5));
  l.freeze();
  return l;
})();
const parentOf = (selector: number): BlockBackend => (selector & 1 ? middle : base);

/** A layer made by the writer, with some clusters written. */
function generate(rng: Rng): Uint8Array {
  const selector = rng.int(2);
  const f = new MemoryLayerFile();
  const l = OverlayBlockBackend.create(f, parentOf(selector), { clusterSize: CS });
  // Few clusters: every input byte costs the byte mutators time.
  for (let n = rng.int(4); n > 0; n--) {
    const pos = rng.int(SIZE / 512) * 512;
    const len = Math.min(rng.range(1, 4) * 512, SIZE - pos);
    l.write(pos, Uint8Array.from({ length: len }, () => rng.int(256)));
  }
  l.close();
  const out = new Uint8Array(1 + f.size);
  out[0] = selector;
  out.set(f.bytes(), 1);
  return out;
}

/** Recomputes both header copies' CRCs and every table entry's check, as far as the file goes. */
export function reseal(input: Uint8Array): Uint8Array {
  const out = input.slice();
  const file = out.subarray(1);
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length >= 4096 + 128) {
    const entries = Math.min(v.getUint32(48, true), Math.floor((file.length - LAYER_TABLE_OFFSET) / 8), 1 << 16);
    const e = new Uint8Array(8), ev = new DataView(e.buffer);
    for (let i = 0; i < entries; i++) {
      const fc = v.getUint32(LAYER_TABLE_OFFSET + i * 8, true);
      if (fc === 0) continue;
      ev.setUint32(0, i, true); ev.setUint32(4, fc, true);
      v.setUint32(LAYER_TABLE_OFFSET + i * 8 + 4, crc32(e), true);
    }
    for (const at of [0, 4096]) {
      v.setUint32(at + 12, 0, true);
      v.setUint32(at + 12, crc32(file.subarray(at, at + 128)), true);
    }
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

function runOne(input: Uint8Array): string | undefined {
  if (input.length === 0) return undefined;
  const parent = parentOf(input[0]);
  const bytes = input.subarray(1);
  const file = new MemoryLayerFile(bytes);
  let disk: OverlayBlockBackend;
  try {
    disk = OverlayBlockBackend.open(file, parent);
  } catch (e) {
    if (!(e instanceof DiskLayerError)) return `open threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not a DiskLayerError`;
    if (!same(file.bytes(), bytes) || file.flushes !== 0) return 'a refused layer was changed';
    return undefined;
  }
  if (!same(file.bytes(), bytes)) return 'opening changed the file';
  // The whole disk reads; writes read back; a flushed layer reopens the same.
  const model = new Uint8Array(SIZE);
  disk.read(0, model);
  const r = new ByteReader(bytes.subarray(bytes.length - Math.min(64, bytes.length)));
  for (let n = 0; n < 6; n++) {
    const pos = (r.u16() % (SIZE / 512)) * 512;
    const len = Math.min(((r.u8() % 16) + 1) * 512, SIZE - pos);
    const src = new Uint8Array(len).fill(n + 1);
    disk.write(pos, src);
    model.set(src, pos);
  }
  const now = new Uint8Array(SIZE);
  disk.read(0, now);
  if (!same(now, model)) return 'writes do not read back: an allocation overlapped a cluster in use';
  disk.flush();
  const again = new Uint8Array(SIZE);
  OverlayBlockBackend.open(new MemoryLayerFile(file.bytes()), parent).read(0, again);
  if (!same(again, model)) return 'a flushed layer does not reopen with the same bytes';
  return undefined;
}

export const diskLayerTarget: FuzzTarget = {
  name: 'disk-layer',
  seeds: (rng: Rng): NamedInput[] => [0, 1, 2, 3, 4, 5].map((i) => ({ name: `generated-${i}`, bytes: generate(rng) })),
  generate,
  mutate: (input: Uint8Array, rng: Rng): Uint8Array => mutateResealed(input, rng, reseal),
  run: runOne,
};

describe('the disk-layer corpus does what its names say', () => {
  const read = (name: string) => new Uint8Array(readFileSync(join(corpusDir, name)));
  it('a good layer opens; resealed bad tables are refused by the checks behind the checksums', () => {
    const good = read('good.bin');
    expect(OverlayBlockBackend.open(new MemoryLayerFile(good.subarray(1)), base).clusterCount).toBe(2);
    expect(() => OverlayBlockBackend.open(new MemoryLayerFile(read('shared-cluster.bin').subarray(1)), base)).toThrow(/share file cluster/);
    expect(() => OverlayBlockBackend.open(new MemoryLayerFile(read('entry-past-end.bin').subarray(1)), base)).toThrow(/outside the data clusters/);
    for (const f of ['good.bin', 'shared-cluster.bin', 'entry-past-end.bin']) expect(runOne(read(f))).toBeUndefined();
  });
});

describe('fuzz: disk layers', () => {
  it('open() returns a working disk or throws DiskLayerError, never anything else, never changes a file it refuses', () => {
    const report = fuzz(diskLayerTarget, { ...budget(1500), corpusDir });
    console.log(`fuzz disk-layer: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s, seed ${JSON.stringify(report.seed)}`);
    if (report.failures.length) throw new Error(describeFailures(report));
    if (process.env.RINGVISOR_FUZZ_REPLAY === undefined) expect(report.iterations).toBeGreaterThan(0);
  }, fuzzTimeout());
});
