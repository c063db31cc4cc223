// The record encoding of saved state (src/hypervisor/persist.ts): what a
// writer writes a reader reads back, and a reader refuses with a
// CheckpointError anything that is not exactly such a record.
import { describe, expect, it } from 'vitest';
import { RecordReader, RecordWriter } from '../src/hypervisor/persist.js';
import { CheckpointError } from '../src/hypervisor/checkpoint-file.js';

function sample(): Uint8Array {
  return new RecordWriter('part', 2)
    .u8(0xab).u16(0xbeef).u32(0xdead_beef).u64(0xffff_ffff_ffff_fffen).bool(true).bool(false)
    .bytes(Uint8Array.of(1, 2, 3)).string('héllo').u32s([7, 0xffff_ffff]).bytes(new Uint8Array(0))
    .finish();
}

function readAll(b: Uint8Array, versions = [1, 2]): unknown[] {
  const r = new RecordReader(b, 'part', versions);
  const out = [r.version, r.u8(), r.u16(), r.u32(), r.u64(), r.bool(), r.bool(), Array.from(r.bytes()), r.string(), Array.from(r.u32s()), Array.from(r.bytes())];
  r.end();
  return out;
}

function refused(f: () => unknown, message: RegExp): void {
  try { f(); } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).problem).toBe('bad-record');
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error('accepted');
}

describe('records', () => {
  it('round-trip every field type', () => {
    expect(readAll(sample())).toEqual([2, 0xab, 0xbeef, 0xdead_beef, 0xffff_ffff_ffff_fffen, true, false, [1, 2, 3], 'héllo', [7, 0xffff_ffff], []]);
  });

  it('start with the tag and the version', () => {
    const b = new RecordWriter('ab', 258).u8(9).finish();
    expect(Array.from(b)).toEqual([2, 0x61, 0x62, 2, 1, 0, 0, 9]);
  });

  it('a record of another part or version is refused', () => {
    refused(() => new RecordReader(sample(), 'other', [2]), /other record: found a "part" record/);
    refused(() => new RecordReader(sample(), 'part', [1]), /part record: version 2 is not one this release reads \(1\)/);
  });

  it('every truncation is refused, naming the field and the bytes', () => {
    const b = sample();
    for (let n = 0; n < b.length; n++) refused(() => readAll(b.subarray(0, n)), /part record: .* needs bytes \d+\.\.\d+, the record has \d+/);
  });

  it('trailing bytes, a bool that is not 0 or 1, a length past the end, bad UTF-8 are refused', () => {
    refused(() => readAll(Uint8Array.of(...sample(), 0)), /1 bytes left after the last field/);
    const b = sample();
    const boolAt = 1 + 4 + 4 + 1 + 2 + 4 + 8;
    const c = b.slice(); c[boolAt] = 2;
    refused(() => readAll(c), /a bool at byte 24 is 2, not 0 or 1/);
    const d = b.slice(); new DataView(d.buffer).setUint32(boolAt + 2, 0xffff_fff0, true);
    refused(() => readAll(d), /bytes needs bytes/);
    const e = new RecordWriter('part', 1).bytes(Uint8Array.of(0xff, 0xfe)).finish();
    refused(() => { const r = new RecordReader(e, 'part', [1]); r.string('the name'); }, /the name at byte 9 is not UTF-8/);
    const f = new RecordWriter('part', 1).u32(0x4000_0000).finish();
    refused(() => { const r = new RecordReader(f, 'part', [1]); r.u32s('the table'); }, /the table needs bytes/);
  });

  it('the writer refuses values its fields cannot hold', () => {
    const w = new RecordWriter('part', 1);
    expect(() => w.u8(256)).toThrow(CheckpointError);
    expect(() => w.u16(-1)).toThrow(CheckpointError);
    expect(() => w.u32(1.5)).toThrow(CheckpointError);
    expect(() => w.u64(-1n)).toThrow(CheckpointError);
    expect(() => w.u64(1n << 64n)).toThrow(CheckpointError);
    expect(() => new RecordWriter('', 1)).toThrow(CheckpointError);
    expect(() => new RecordWriter('a b', 1)).toThrow(CheckpointError);
  });

  it('grows past its first buffer', () => {
    const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const b = new RecordWriter('part', 1).bytes(big).finish();
    const r = new RecordReader(b, 'part', [1]);
    expect(r.bytes()).toEqual(big);
    r.end();
  });
});
