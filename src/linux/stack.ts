// The initial process stack exactly as Linux lays it out for a new program
// (fs/binfmt_elf.c, create_elf_tables): strings at the top, then AT_RANDOM
// bytes, then, 16-byte aligned, argc, argv[], NULL, envp[], NULL, auxv pairs.
import type { Cpu } from '../cpu/cpu.js';

export const AT_NULL = 0n;
export const AT_PHDR = 3n;
export const AT_PHENT = 4n;
export const AT_PHNUM = 5n;
export const AT_PAGESZ = 6n;
export const AT_BASE = 7n;
export const AT_FLAGS = 8n;
export const AT_ENTRY = 9n;
export const AT_UID = 11n;
export const AT_EUID = 12n;
export const AT_GID = 13n;
export const AT_EGID = 14n;
export const AT_HWCAP = 16n;
export const AT_CLKTCK = 17n;
export const AT_SECURE = 23n;
export const AT_RANDOM = 25n;
export const AT_EXECFN = 31n;

/** AT_HWCAP for RV64GC: one bit per single-letter extension, 'a' = bit 0 (I, M, A, F, D, C). */
export const HWCAP_RV64GC = [...'imafdc'].reduce((m, c) => m | (1n << BigInt(c.charCodeAt(0) - 97)), 0n);

/** A string for the new program: text (written as UTF-8), or the bytes a
 *  guest's execve passed (without their NUL). */
export type StackString = string | Uint8Array;

export interface StackImage {
  argv: StackString[];
  envp: StackString[];
  execfn: StackString;
  auxv: Array<[bigint, bigint]>;
  random: Uint8Array; // 16 bytes for AT_RANDOM
}

/** Writes the stack below `top` and returns the initial sp (pointing at argc). */
export function buildInitialStack(cpu: Cpu, top: bigint, img: StackImage): bigint {
  const enc = new TextEncoder();
  let p = top;
  const pushBytes = (b: Uint8Array): bigint => {
    p -= BigInt(b.length);
    cpu.writeBytes(p, b);
    return p;
  };
  const pushString = (s: StackString): bigint => {
    const b = typeof s === 'string' ? enc.encode(s) : s;
    const z = new Uint8Array(b.length + 1);
    z.set(b);
    return pushBytes(z);
  };
  p -= 8n; // a NULL word at the very top, as Linux leaves
  const execfnAddr = pushString(img.execfn);
  const envAddrs = img.envp.map(pushString);
  const argAddrs = img.argv.map(pushString);
  p &= ~15n;
  const randomAddr = pushBytes(img.random);
  const auxv: Array<[bigint, bigint]> = [
    ...img.auxv,
    [AT_RANDOM, randomAddr],
    [AT_EXECFN, execfnAddr],
    [AT_NULL, 0n],
  ];
  const words: bigint[] = [
    BigInt(img.argv.length),
    ...argAddrs, 0n,
    ...envAddrs, 0n,
    ...auxv.flat(),
  ];
  p -= BigInt(words.length * 8);
  p &= ~15n;
  words.forEach((w, i) => cpu.write64(p + BigInt(i * 8), w));
  return p;
}
