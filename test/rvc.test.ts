// The C extension's expansion (assembly/rvc.ts) against the GNU toolchain.
// test/golden/rvc-expansions.json is recorded by scripts/gen-rvc-golden.mjs:
// gas-assembled pairs of compressed forms and their 32-bit expansions, and the
// whole 16-bit space as objdump decodes it (with the spec's word where the two
// disagree).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadRawCpu } from './wasm.js';

interface Pair { half: number; expected32: number; text: string; expansion: string }
interface Golden {
  specOverrides: { half: number; objdump: string; spec: string; why: string }[];
  illegal: number[];
  exhaustive: { count: number; data: string };
  pairs: Pair[];
}

const golden: Golden = JSON.parse(
  readFileSync(new URL('./golden/rvc-expansions.json', import.meta.url), 'utf8'));

const cpu = loadRawCpu();
const expand = (half: number): number => cpu.exports.expandCompressed(half) >>> 0;
const hex = (v: number, digits = 8) => '0x' + v.toString(16).padStart(digits, '0');

/** All parcels whose low two bits are not 11, in increasing order. */
function compressedParcels(): number[] {
  const parcels: number[] = [];
  for (let h = 0; h < 0x10000; h++) if ((h & 3) !== 3) parcels.push(h);
  return parcels;
}

describe('expandCompressed against gas', () => {
  it(`expands all ${golden.pairs.length} assembled pairs as gas does`, () => {
    const wrong = golden.pairs
      .filter((p) => expand(p.half) !== p.expected32)
      .map((p) => `${p.text} (${hex(p.half, 4)}): got ${hex(expand(p.half))}, want ${hex(p.expected32)} = ${p.expansion}`);
    expect(wrong.slice(0, 20)).toEqual([]);
  });

  it('expands every one of the 49152 compressed parcels as the objdump route does', () => {
    const parcels = compressedParcels();
    const table = Buffer.from(golden.exhaustive.data, 'base64');
    expect(golden.exhaustive.count).toBe(parcels.length);
    expect(table.length).toBe(4 * parcels.length);
    const wrong: string[] = [];
    parcels.forEach((h, i) => {
      const want = table.readUInt32LE(4 * i);
      const got = expand(h);
      if (got !== want) wrong.push(`${hex(h, 4)}: got ${hex(got)}, want ${hex(want)}`);
    });
    expect(wrong.slice(0, 20)).toEqual([]);
  });

  it(`finds exactly the ${golden.illegal.length} illegal or reserved parcels`, () => {
    const illegal = compressedParcels().filter((h) => expand(h) === 0);
    expect(illegal).toEqual(golden.illegal);
  });

  it('follows the spec where objdump is lenient', () => {
    for (const o of golden.specOverrides) expect(expand(o.half), o.why).toBe(0);
  });
});

// Hand-checked against the specification's "RVC Instruction Set Listings".
describe('expandCompressed spec edge cases', () => {
  const cases: [string, number, number][] = [
    ['the all-zero parcel is illegal', 0x0000, 0],
    ['C.ADDI4SPN with nzuimm=0 is reserved for any rd\'', 0x0008, 0],
    ['quadrant 0 funct3=100 is reserved without Zcb', 0x8000, 0],
    ['C.NOP is addi x0, x0, 0', 0x0001, 0x00000013],
    ['C.NOP with an immediate is a HINT: addi x0, x0, 5', 0x0015, 0x00500013],
    ['C.ADDIW with rd=x0 is reserved (RV64 has no C.JAL in this slot)', 0x2001, 0],
    ['C.ADDIW a0, 0 is sext.w: addiw a0, a0, 0', 0x2501, 0x0005051b],
    ['C.ADDI16SP with nzimm=0 is reserved', 0x6101, 0],
    ['C.ADDI16SP sp, -512 is the most negative adjustment', 0x7101, 0xe0010113],
    ['C.LUI with nzimm=0 is reserved', 0x6501, 0],
    ['C.LUI x0 with nzimm=0 is reserved, not a HINT', 0x6001, 0],
    ['C.LUI a0, 0xfffff sign-extends nzimm[17]', 0x757d, 0xfffff537],
    ['C.SRLI with shamt=0 is a HINT: srli a0, a0, 0', 0x8101, 0x00055513],
    ['C.SRAI s0, 63 uses shamt[5] on RV64', 0x947d, 0x43f45413],
    ['C.SUBW s0, s0 is legal on RV64', 0x9c01, 0x4084043b],
    ['C.ADDW s0, s0 is legal on RV64', 0x9c21, 0x0084043b],
    ['funct6=100111 with funct2=10 is reserved', 0x9c41, 0],
    ['funct6=100111 with funct2=11 is reserved', 0x9c61, 0],
    ['C.J -2048 is the most negative jump', 0xb001, 0x801ff06f],
    ['C.SLLI x0, 3 is a HINT: slli x0, x0, 3', 0x000e, 0x00301013],
    ['C.FLDSP f0, 504(sp) is the largest offset', 0x307e, 0x1f813007],
    ['C.LWSP with rd=x0 is reserved', 0x4002, 0],
    ['C.LDSP with rd=x0 is reserved', 0x6002, 0],
    ['C.JR with rs1=x0 is reserved', 0x8002, 0],
    ['C.JR ra (ret) is jalr x0, 0(ra)', 0x8082, 0x00008067],
    ['C.MV x0, t6 is a HINT: add x0, x0, t6', 0x807e, 0x01f00033],
    ['C.EBREAK is ebreak', 0x9002, 0x00100073],
    ['C.JALR ra is jalr x1, 0(ra); the caller links pc + 2', 0x9082, 0x000080e7],
  ];
  for (const [name, half, want] of cases) {
    it(name, () => expect(hex(expand(half))).toBe(hex(want)));
  }

  it('ignores bits above the 16-bit parcel', () => {
    expect(expand(0xffff0001)).toBe(expand(0x0001));
    expect(expand(0x12349002)).toBe(0x00100073);
  });

  it('returns 0 for the low bits of a 32-bit instruction', () => {
    for (const h of [0x0003, 0x0013, 0xffff]) expect(expand(h)).toBe(0);
  });
});
