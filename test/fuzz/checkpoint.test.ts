// Fuzz target: the checkpoint container's reader (src/hypervisor/
// checkpoint-file.ts) on mutated files. The contract: readCheckpoint either
// returns sections or throws a CheckpointError, never anything else; what it
// returns is whole (every section's payload as long as its table says); no
// input takes long (every loop is bounded by the header's length) and no
// allocation follows a length the file claims (a compressed section's
// length is checked against DEFLATE's ratio before anything is allocated).
//
// Most byte mutations only break a checksum, so the structured mutator
// reseals a mutated file (recomputes the header's CRC and, where the table
// can be walked, each section's CRC): the checks behind the checksums, the
// table's fields and decompression, get inputs too.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint, crc32, CheckpointError, type MachineId, type Section } from '../../src/hypervisor/checkpoint-file.js';
import { fuzz, budget, fuzzTimeout, describeFailures, mutateResealed, type FuzzTarget, type NamedInput, type Rng } from './harness.js';

const corpusDir = new URL('./corpus/checkpoint/', import.meta.url).pathname;
const machine: MachineId = { kind: 'system', fingerprint: new TextEncoder().encode('fuzz-machine') };
const KNOWN = ['uart0', 'plic', 'ram', 'rtc', 'virtio-blk', 'e'];

function generate(rng: Rng): Uint8Array {
  const n = rng.int(5);
  const sections: Section[] = [];
  const names = [...KNOWN, 'extra', 'opt'];
  for (let i = 0; i < n; i++) {
    const name = names[(i + rng.int(names.length)) % names.length];
    if (sections.some((s) => s.name === name)) continue;
    const payload = new Uint8Array(rng.int(3) === 0 ? rng.int(5000) : rng.int(40));
    const fill = rng.int(3);
    for (let j = 0; j < payload.length; j++) payload[j] = fill === 0 ? 0 : fill === 1 ? j & 0xff : rng.int(256);
    sections.push({ name, version: rng.int(4), payload, compress: rng.int(2) === 0, required: rng.int(4) !== 0 });
  }
  return writeCheckpoint(rng.int(8) === 0 ? { kind: 'process', fingerprint: machine.fingerprint } : machine, sections);
}

/** Recomputes the checksums of a (mutated) file as far as its table can be walked. */
export function reseal(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  if (out.length < 20) return out;
  const v = new DataView(out.buffer);
  const headerLength = v.getUint32(12, true);
  if (headerLength < 20 || headerLength > out.length) return out;
  // Section CRCs first (they are in the header the header CRC covers).
  try {
    let o = 20;
    o += 1 + out[o];
    o += 2 + v.getUint16(o, true);
    const count = v.getUint32(o, true); o += 4;
    let data = headerLength;
    for (let i = 0; i < count && o < headerLength; i++) {
      o += 1 + out[o] + 1 + 4;
      const stored = v.getUint32(o, true); o += 8;
      if (data + stored <= out.length) v.setUint32(o, crc32(out.subarray(data, data + stored)), true);
      o += 4;
      data += stored;
    }
  } catch { /* a table that runs off the file: leave the rest as it is */ }
  v.setUint32(16, 0, true);
  v.setUint32(16, crc32(out.subarray(0, headerLength)), true);
  return out;
}

function runOne(input: Uint8Array): string | undefined {
  for (const knownSections of [undefined, KNOWN]) {
    let got;
    try {
      got = readCheckpoint(input, { machine, knownSections });
    } catch (e) {
      if (e instanceof CheckpointError) continue;
      return `readCheckpoint threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not a CheckpointError`;
    }
    // Whatever it returned must be the file's whole story: write it back and read it again.
    const again = readCheckpoint(writeCheckpoint(got.machine, got.sections), { machine });
    if (again.sections.length !== got.sections.length) return 'a returned checkpoint does not write back the same';
    for (let i = 0; i < got.sections.length; i++) {
      const a = got.sections[i], b = again.sections[i];
      if (a.name !== b.name || a.version !== b.version || a.payload.length !== b.payload.length || crc32(a.payload) !== crc32(b.payload)) {
        return `section ${a.name} does not survive a write and a read`;
      }
    }
  }
  return undefined;
}

export const checkpointTarget: FuzzTarget = {
  name: 'checkpoint',
  seeds: (rng: Rng): NamedInput[] => [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ name: `generated-${i}`, bytes: generate(rng) })),
  generate,
  mutate: (input: Uint8Array, rng: Rng): Uint8Array => mutateResealed(input, rng, reseal),
  run: runOne,
};

describe('the checkpoint corpus does what its names say', () => {
  const read = (name: string) => new Uint8Array(readFileSync(join(corpusDir, name)));
  it('a good file reads; a resealed bad table is refused by the check behind the checksum', () => {
    expect(readCheckpoint(read('good.bin'), { machine }).sections.map((s) => s.name)).toEqual(['uart0', 'ram', 'e']);
    expect(() => readCheckpoint(read('inflate-bomb-length.bin'), { machine })).toThrow(/compressed bytes cannot hold/);
    expect(() => readCheckpoint(read('section-count-huge.bin'), { machine })).toThrow(/section count 4294967295 is over 65535/);
    for (const f of ['good.bin', 'inflate-bomb-length.bin', 'section-count-huge.bin']) expect(runOne(read(f))).toBeUndefined();
  });
});

describe('fuzz: checkpoint files', () => {
  it('read() returns whole sections or throws CheckpointError, never anything else, never hangs', () => {
    const report = fuzz(checkpointTarget, { ...budget(3000), corpusDir });
    console.log(`fuzz checkpoint: ${report.corpusRuns} corpus and seed inputs, ${report.iterations} mutated in ${(report.ms / 1000).toFixed(1)} s, seed ${JSON.stringify(report.seed)}`);
    if (report.failures.length) throw new Error(describeFailures(report));
    if (process.env.RINGVISOR_FUZZ_REPLAY === undefined) expect(report.iterations).toBeGreaterThan(0);
  }, fuzzTimeout());
});
