// The checkpoint container (src/hypervisor/checkpoint-file.ts): what it
// writes round-trips, its layout is the one docs/CHECKPOINTS.md describes,
// and every kind of bad file is refused with a CheckpointError that names
// what is wrong, before anything is returned.
import { describe, expect, it } from 'vitest';
import {
  readCheckpoint, writeCheckpoint, crc32, CheckpointError, CHECKPOINT_MAGIC, CHECKPOINT_FORMAT_VERSION,
  type MachineId, type Section, type CheckpointProblem,
} from '../src/hypervisor/checkpoint-file.js';

const machine: MachineId = { kind: 'system', fingerprint: new TextEncoder().encode('rv64imafdc_zicsr_zifencei/layout-3') };
const enc = (s: string) => new TextEncoder().encode(s);

function sample(): Section[] {
  const ram = new Uint8Array(64 * 1024);
  for (let i = 0; i < 4096; i++) ram[i] = (i * 7) & 0xff;
  return [
    { name: 'uart0', version: 1, payload: enc('uart registers') },
    { name: 'ram', version: 2, payload: ram, compress: true },
    { name: 'empty', version: 0, payload: new Uint8Array(0) },
    { name: 'stats/optional', version: 3, payload: enc('metering'), required: false },
  ];
}

/** The error readCheckpoint throws for `bytes`, checked to be a CheckpointError. */
function refusal(bytes: Uint8Array, opts = { machine } as Parameters<typeof readCheckpoint>[1]): CheckpointError {
  try {
    readCheckpoint(bytes, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('readCheckpoint accepted the file');
}

function expectRefused(bytes: Uint8Array, problem: CheckpointProblem, message: RegExp, opts?: Parameters<typeof readCheckpoint>[1]): CheckpointError {
  const e = refusal(bytes, opts);
  expect(e.problem).toBe(problem);
  expect(e.message).toMatch(message);
  return e;
}

/** Rewrites the header CRC of a file whose header was edited (so that the
 *  check under test is reached, not the header's checksum). */
function reseal(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  const headerLength = v.getUint32(12, true);
  v.setUint32(16, 0, true);
  v.setUint32(16, crc32(out.subarray(0, headerLength)), true);
  return out;
}

describe('CRC-32', () => {
  it('is the ISO-HDLC CRC (zlib, PNG)', () => {
    expect(crc32(enc('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(enc('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });
});

describe('a checkpoint round-trips', () => {
  it('every section comes back with its name, version and bytes', () => {
    const sections = sample();
    const file = writeCheckpoint(machine, sections);
    const back = readCheckpoint(file, { machine });
    expect(back.formatVersion).toBe(CHECKPOINT_FORMAT_VERSION);
    expect(back.machine.kind).toBe('system');
    expect(back.machine.fingerprint).toEqual(machine.fingerprint);
    expect(back.sections.map((s) => [s.name, s.version, s.compress, s.required])).toEqual([
      ['uart0', 1, false, true], ['ram', 2, true, true], ['empty', 0, false, true], ['stats/optional', 3, false, false],
    ]);
    for (let i = 0; i < sections.length; i++) expect(back.sections[i].payload).toEqual(sections[i].payload);
  });

  it('compression makes mostly-zero RAM small', () => {
    const file = writeCheckpoint(machine, sample());
    expect(file.length).toBeLessThan(4096);
  });

  it('an optional section the reader does not know is skipped, a known one kept', () => {
    const back = readCheckpoint(writeCheckpoint(machine, sample()), { machine, knownSections: ['uart0', 'ram', 'empty'] });
    expect(back.sections.map((s) => s.name)).toEqual(['uart0', 'ram', 'empty']);
  });

  it('has the layout docs/CHECKPOINTS.md describes', () => {
    const file = writeCheckpoint({ kind: 'process', fingerprint: Uint8Array.of(0xaa, 0xbb) }, [{ name: 'ab', version: 7, payload: Uint8Array.of(1, 2, 3) }]);
    const v = new DataView(file.buffer);
    expect(Array.from(file.subarray(0, 8))).toEqual(Array.from(CHECKPOINT_MAGIC));
    expect(new TextDecoder().decode(file.subarray(0, 6))).toBe('RVCKPT');
    expect(v.getUint32(8, true)).toBe(1); // format version
    const headerLength = v.getUint32(12, true);
    // preamble 20, kind 1+7, fingerprint 2+2, count 4, entry 1+2 + 17
    expect(headerLength).toBe(20 + 8 + 4 + 4 + 20);
    expect(file[20]).toBe(7);
    expect(new TextDecoder().decode(file.subarray(21, 28))).toBe('process');
    expect(v.getUint16(28, true)).toBe(2);
    expect(Array.from(file.subarray(30, 32))).toEqual([0xaa, 0xbb]);
    expect(v.getUint32(32, true)).toBe(1); // sections
    expect(file[36]).toBe(2);
    expect(new TextDecoder().decode(file.subarray(37, 39))).toBe('ab');
    expect(file[39]).toBe(0x02); // required, not compressed
    expect(v.getUint32(40, true)).toBe(7);
    expect(v.getUint32(44, true)).toBe(3);
    expect(v.getUint32(48, true)).toBe(3);
    expect(v.getUint32(52, true)).toBe(crc32(Uint8Array.of(1, 2, 3)));
    expect(Array.from(file.subarray(56))).toEqual([1, 2, 3]);
    const h = file.slice(0, headerLength);
    new DataView(h.buffer).setUint32(16, 0, true);
    expect(v.getUint32(16, true)).toBe(crc32(h));
  });

  it('refuses to write what it could not read back', () => {
    expect(() => writeCheckpoint(machine, [{ name: 'a', version: 1, payload: new Uint8Array(1) }, { name: 'a', version: 1, payload: new Uint8Array(1) }]))
      .toThrow(/section a given twice/);
    expect(() => writeCheckpoint(machine, [{ name: 'bad name', version: 1, payload: new Uint8Array(1) }])).toThrow(CheckpointError);
    expect(() => writeCheckpoint(machine, [{ name: 'x'.repeat(33), version: 1, payload: new Uint8Array(1) }])).toThrow(CheckpointError);
    expect(() => writeCheckpoint(machine, [{ name: 'v', version: -1, payload: new Uint8Array(1) }])).toThrow(/not a u32/);
    expect(() => writeCheckpoint({ kind: '', fingerprint: new Uint8Array(0) }, [])).toThrow(/machine kind/);
  });
});

describe('a bad checkpoint is refused, naming what is wrong', () => {
  const good = writeCheckpoint(machine, sample());
  const headerLength = new DataView(good.buffer).getUint32(12, true);

  it('bad magic', () => {
    const b = good.slice(); b[0] = 0x51;
    expectRefused(b, 'bad-magic', /bad magic: 515643.*\(not a ringvisor checkpoint\)/);
    expectRefused(new Uint8Array(0), 'bad-magic', /bad magic: \(empty\)/);
    const crlf = good.slice(0, 6); // a transfer that turned CR LF into LF
    expectRefused(Uint8Array.of(...crlf, 0x0a, ...good.subarray(8)), 'bad-magic', /bad magic/);
  });

  it('an unsupported (later) format version', () => {
    const b = good.slice(); new DataView(b.buffer).setUint32(8, CHECKPOINT_FORMAT_VERSION + 1, true);
    expectRefused(b, 'unsupported-version', /unsupported format version 2: this release reads versions 1\.\.1/);
    new DataView(b.buffer).setUint32(8, 0, true);
    expectRefused(b, 'unsupported-version', /unsupported format version 0/);
  });

  it('a checkpoint of another machine kind or fingerprint', () => {
    expectRefused(good, 'wrong-machine', /wrong machine: the checkpoint is of a "system" machine .* this is a "process" machine/, { machine: { kind: 'process', fingerprint: machine.fingerprint } });
    const other = { kind: 'system', fingerprint: enc('rv64imac/layout-4') };
    const e = expectRefused(good, 'wrong-machine', /fingerprint 72763634696d6166.* this is a "system" machine with fingerprint 72763634696d6163/, { machine: other });
    expect(e.offset).toBe(20);
  });

  it('truncated anywhere: at byte N, and never a partial result', () => {
    for (let n = 8; n < good.length; n++) {
      const e = refusal(good.subarray(0, n));
      expect(e.problem).toBe('truncated');
      expect(e.message).toContain(`truncated at byte ${n}`);
      expect(e.offset).toBe(n);
    }
  });

  it('a corrupted byte anywhere: a checksum mismatch in the header or in that section', () => {
    for (let i = 20; i < good.length; i++) {
      const b = good.slice(); b[i] ^= 0x10;
      const e = refusal(b);
      expect(e.problem).toBe('checksum');
      if (i < headerLength) expect(e.message).toMatch(/checksum mismatch in the header/);
      else expect(e.message).toMatch(/checksum mismatch in section (uart0|ram|stats\/optional)/);
    }
    const b = good.slice(); b[good.length - 1] ^= 1;
    expectRefused(b, 'checksum', /checksum mismatch in section stats\/optional \(bytes \d+\.\.\d+\): CRC-32 is 0x[0-9a-f]+, the table says 0x[0-9a-f]+/);
  });

  it('a duplicate section', () => {
    const file = writeCheckpoint(machine, [{ name: 'aa', version: 1, payload: enc('1') }, { name: 'ab', version: 1, payload: enc('2') }]);
    const at = file.indexOf(0x62, 20); // the "b" of "ab" in the table
    const b = file.slice(); b[at] = 0x61;
    expectRefused(reseal(b), 'duplicate-section', /duplicate section aa \(again at byte \d+\)/);
  });

  it('an unknown required section', () => {
    const e = expectRefused(good, 'unknown-section', /unknown required section ram: this release cannot restore it/, { machine, knownSections: ['uart0', 'empty'] });
    expect(e.section).toBe('ram');
  });

  it('trailing bytes after the last section', () => {
    expectRefused(Uint8Array.of(...good, 0), 'trailing-bytes', /1 bytes after the last section/);
  });

  it('a table that does not hold together (flags, lengths, names, a compressed stream)', () => {
    const file = writeCheckpoint(machine, [{ name: 'zz', version: 1, payload: new Uint8Array(100).fill(1), compress: true }]);
    const v = new DataView(file.buffer);
    const entry = 20 + 1 + 6 + 2 + machine.fingerprint.length + 4; // the section's name length byte
    const flags = entry + 3, stored = flags + 5, length = stored + 4;
    let b = file.slice(); b[flags] |= 0x80;
    expectRefused(reseal(b), 'bad-section', /section zz: unknown flags 0x83/);
    b = file.slice(); new DataView(b.buffer).setUint32(length, 99, true);
    expectRefused(reseal(b), 'bad-section', /section zz decompresses to more than 99 bytes, the table says 99/);
    b = file.slice(); new DataView(b.buffer).setUint32(length, 101, true);
    expectRefused(reseal(b), 'bad-section', /decompresses to 100 bytes, the table says 101/);
    b = file.slice(); new DataView(b.buffer).setUint32(length, 0xffff_ffff, true);
    expectRefused(reseal(b), 'bad-section', /compressed bytes cannot hold 4294967295/);
    b = file.slice(); b[entry + 1] = 0x20;
    expectRefused(reseal(b), 'bad-section', /section 0's name at byte \d+ is not a name/);
    // A compressed stream that is not DEFLATE (its CRC fixed to match).
    const junk = writeCheckpoint(machine, [{ name: 'zz', version: 1, payload: Uint8Array.of(0xff, 0xff, 0xff) }]);
    b = junk.slice(); b[flags] = 0x03; new DataView(b.buffer).setUint32(length, 10, true);
    expectRefused(reseal(b), 'bad-section', /section zz does not decompress/);
    expect(v.getUint32(stored, true)).toBeLessThan(100);
  });
});
