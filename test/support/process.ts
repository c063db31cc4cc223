// A process VM on the bundled hello program for tests that call system
// calls directly (the handlers from the table, as the run loop would).
import { readFileSync } from 'node:fs';
import { ProcessVM, type ProcessVMOptions } from '../../src/index.js';
import { SYSCALLS } from '../../src/linux/syscalls.js';

export const hello = new Uint8Array(readFileSync(new URL('../../guests/bin/hello.elf', import.meta.url)));

export interface Made {
  p: ProcessVM;
  diagnostics: string[];
}

/** A VM with 64 MiB of memory whose diagnostics are collected. */
export function make(options: ProcessVMOptions = {}, elf = hello): Made {
  const diagnostics: string[] = [];
  const p = ProcessVM.create(elf, { programName: 'test', memoryBytes: 64 * 1024 * 1024, diagnostics: (l) => diagnostics.push(l), ...options });
  return { p, diagnostics };
}

/** Calls system call `name` with up to six arguments; its result as a signed value. */
export function sys(p: ProcessVM, name: string, ...args: bigint[]): bigint {
  for (const entry of SYSCALLS.values()) {
    if (entry.name === name) return BigInt.asIntN(64, entry.handler(p, [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6)));
  }
  throw new Error(`no system call ${name}`);
}

/** Scratch memory on the guest's stack, well below its top (mapped read/write). */
export const scratch = (p: ProcessVM, offset = 0n): bigint => p.memory.stackTop - 64n * 1024n + offset;

/** Guest memory for a test's arguments, handed out upwards from 1 MiB below
 *  the top of the stack (mapped read/write), 16-byte aligned. */
export class GuestScratch {
  private next: bigint;

  constructor(private readonly vm: ProcessVM) {
    this.next = vm.memory.stackTop - 1024n * 1024n;
  }

  /** Room for `n` bytes. */
  alloc(n: number): bigint {
    const a = this.next;
    this.next += BigInt((n + 15) & ~15);
    return a;
  }

  /** A NUL-terminated copy of `s`. */
  str(s: string): bigint {
    const b = new TextEncoder().encode(s + '\0');
    const a = this.alloc(b.length);
    this.vm.cpu.writeBytes(a, b);
    return a;
  }
}
