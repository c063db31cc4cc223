// GNU as as an oracle for the encoder: assembles lines of text with
// riscv64-linux-gnu-as and returns the instruction words it produced. Used
// only when the toolchain is installed (test/cpu-encoding.test.ts records
// the expected words so that the test also runs without it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insnLength } from './rvasm.js';

const AS = 'riscv64-linux-gnu-as';
const OBJCOPY = 'riscv64-linux-gnu-objcopy';
export const GAS_MARCH = 'rv64gc_zba_zbb_zbs_zicsr_zifencei';

function has(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

let available: boolean | undefined;
export function gasAvailable(): boolean {
  available ??= has(AS) && has(OBJCOPY);
  return available;
}

/** Assembles `lines` (one instruction each; names starting `c.` are assembled
 *  with RVC on, every other line with it off, so gas never compresses them)
 *  and returns one word per line. */
export function gasWords(lines: string[]): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'rvasm-gas-'));
  try {
    const src = ['.text', '.option norelax'];
    for (const l of lines) src.push(l.startsWith('c.') ? '.option rvc' : '.option norvc', l);
    writeFileSync(join(dir, 'a.s'), src.join('\n') + '\n');
    const as = spawnSync(AS, [`-march=${GAS_MARCH}`, '-mno-relax', '-o', join(dir, 'a.o'), join(dir, 'a.s')], { encoding: 'utf8' });
    if (as.status !== 0) throw new Error(`gas failed:\n${as.stderr}`);
    const oc = spawnSync(OBJCOPY, ['-O', 'binary', '-j', '.text', join(dir, 'a.o'), join(dir, 'a.bin')], { encoding: 'utf8' });
    if (oc.status !== 0) throw new Error(`objcopy failed:\n${oc.stderr}`);
    const b = readFileSync(join(dir, 'a.bin'));
    const words: number[] = [];
    for (let i = 0; i < b.length;) {
      const lo = b[i] | (b[i + 1] << 8);
      if (insnLength(lo) === 2) { words.push(lo); i += 2; } else { words.push((lo | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0); i += 4; }
    }
    if (words.length !== lines.length) throw new Error(`gas produced ${words.length} instructions for ${lines.length} lines`);
    return words;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
