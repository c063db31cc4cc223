// The test encoder (test/support/rvasm.ts) against GNU as: the words gas
// produced for ~700 lines are recorded in test/support/gas-recorded.ts, so
// this runs without the toolchain; when riscv64-linux-gnu-as is installed a
// fresh random sample of every mnemonic (and the random tester's programs)
// is checked against it live.
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { GAS_RECORDED } from './support/gas-recorded.js';
import { gasAvailable, gasWords } from './support/gas.js';
import { Rng } from './support/prng.js';
import { GROUPS, generateBlock } from './support/random-programs.js';

const hex = (w: number) => '0x' + (w >>> 0).toString(16);

describe('well-known encodings', () => {
  it('a few words every RISC-V programmer knows', () => {
    expect(hex(A.addi(A.A0, A.A0, 1))).toBe('0x150513');
    expect(hex(A.addi(0, 0, 0))).toBe('0x13'); // nop
    expect(hex(A.jalr(0, A.RA, 0))).toBe('0x8067'); // ret
    expect(hex(A.ecall())).toBe('0x73');
    expect(hex(A.ebreak())).toBe('0x100073');
    expect(hex(A.fence_i())).toBe('0x100f');
    expect(hex(A.fence())).toBe('0xff0000f'); // fence iorw, iorw
    expect(hex(A.c_nop())).toBe('0x1');
    expect(hex(A.c_jr(A.RA))).toBe('0x8082'); // c.jr ra (ret)
    expect(hex(A.c_ebreak())).toBe('0x9002');
    expect(hex(A.csrr(A.A0, A.CSR.fcsr))).toBe('0x302573'); // frcsr a0
  });

  it('operands out of range and reserved forms are refused', () => {
    expect(() => A.addi(1, 1, 2048)).toThrow(RangeError);
    expect(() => A.beq(1, 2, 3)).toThrow(RangeError); // odd offset
    expect(() => A.slli(1, 1, 64)).toThrow(RangeError);
    expect(() => A.slliw(1, 1, 32)).toThrow(RangeError);
    expect(() => A.c_lw(7, 8, 0)).toThrow(RangeError); // x7 is not an rvc register
    expect(() => A.c_addi4spn(8, 0)).toThrow(RangeError);
    expect(() => A.c_lui(2, 1)).toThrow(RangeError);
    expect(() => A.c_lwsp(0, 4)).toThrow(RangeError);
    expect(() => A.c_ld(8, 9, 4)).toThrow(RangeError); // not a multiple of 8
  });
});

describe('recorded GNU as words', () => {
  it(`${GAS_RECORDED.length} lines: asm(text) gives gas's word and disasm(word) gives the text back`, () => {
    const bad: string[] = [];
    for (const [text, word] of GAS_RECORDED) {
      let mine: number;
      try { mine = A.asm(text); } catch (e) { bad.push(`${text}: ${(e as Error).message}`); continue; }
      if (mine !== word) bad.push(`${text}: encoder ${hex(mine)}, gas ${hex(word)}`);
      if (A.disasm(word) !== text) bad.push(`${hex(word)}: disasm "${A.disasm(word)}", want "${text}"`);
    }
    expect(bad).toEqual([]);
  });

  it('every mnemonic of the table is covered by the recording', () => {
    const seen = new Set(GAS_RECORDED.map(([, w]) => A.mnemonic(w)!.replace(/\.(aqrl|aq|rl)$/, '')));
    expect(A.MNEMONICS.filter((m) => !seen.has(m))).toEqual([]);
  });
});

describe.skipIf(!gasAvailable())('live against riscv64-linux-gnu-as', () => {
  it('random encodings of every mnemonic', () => {
    const rng = new Rng(`gas-live-${new Date().toISOString().slice(0, 10)}`);
    const words: number[] = [];
    for (const m of A.MNEMONICS) {
      for (let n = 0; n < 20;) {
        const w = A.randomEncoding(m, () => rng.u32());
        const f = A.decodeFields(w)!;
        // binutils 2.40 has no syntax for these two corners
        if (A.EXACT_CONVERSIONS.has(m) && f.rm !== 0) continue;
        if (m === 'fence' && (f.pred === 0 || f.succ === 0)) continue;
        words.push(w);
        n++;
      }
    }
    const lines = words.map((w) => A.disasm(w));
    const got = gasWords(lines);
    const bad = lines.flatMap((l, i) => (got[i] !== words[i] ? [`${l}: ours ${hex(words[i])}, gas ${hex(got[i])}`] : []));
    expect(bad).toEqual([]);
  });

  it('the random tester\'s generated instructions', () => {
    const words: number[] = [];
    for (const g of Object.keys(GROUPS)) {
      for (let b = 0; b < 4; b++) {
        for (const u of generateBlock(g, `gas-${g}`, b).units) {
          // jumps and branches built to target the next unit: `.+N` is relative to each line
          for (const w of u.build(0, u.size)) {
            const m = A.mnemonic(w);
            if (m && A.EXACT_CONVERSIONS.has(m) && A.decodeFields(w)!.rm !== 0) continue;
            // The trap group's reserved rounding modes (5, 6): gas refuses to
            // write them, and QEMU's golden dumps check what they raise.
            const rm = m ? A.decodeFields(w)?.rm : undefined;
            if (rm === 5 || rm === 6) continue;
            words.push(w);
          }
        }
      }
    }
    const lines = words.map((w) => A.disasm(w));
    const got = gasWords(lines);
    const bad = lines.flatMap((l, i) => (got[i] !== words[i] ? [`${l}: ours ${hex(words[i])}, gas ${hex(got[i])}`] : []));
    expect(bad).toEqual([]);
  });
});
