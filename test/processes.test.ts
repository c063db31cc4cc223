// The VM's processes at their edges (src/linux/processes.ts), with
// guests/libc/procs.c: a fork bomb is bounded by the VM's process limit and
// reported once; --mem covers every process together (the one that writes
// past it is killed, the others go on); two processes that wait for each
// other forever end the VM as a deadlock, with a message naming both; an
// orphan goes to the virtual init; descriptors are bounded over the VM. Both tiers. (fork, exec and wait against
// qemu-riscv64 and native: guests/manifest-proc.json, test/proc-exec.test.ts,
// test/shell.test.ts.)
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessVM } from '../src/index.js';

const ELF = new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'guests/bin/procs.elf')));

async function run(args: string[], options: { memoryBytes?: number; maxProcesses?: number; jitThreshold: number }) {
  let out = '';
  const diagnostics: string[] = [];
  const vm = ProcessVM.create(ELF, {
    argv: ['procs', ...args], ...options, jitWarmup: 0n,
    // Which child runs when decides which one the memory limit kills: the
    // virtual clock's fixed slices make that the same on every machine.
    clock: 'virtual',
    stdout: (b) => { out += new TextDecoder().decode(b); },
    diagnostics: (line) => diagnostics.push(line),
    timeoutSeconds: 120,
  });
  const status = await vm.run();
  const created = vm.processes.created, peak = vm.processes.peak;
  vm.dispose();
  return { status, out, diagnostics, created, peak };
}

for (const [tier, jitThreshold] of [['translated (--jit 1)', 1], ['interpreted (--jit off)', 0]] as const) {
  describe(`processes at the VM's edges, ${tier}`, () => {
    it('a fork bomb gets EAGAIN at the process limit, reported once, and the host goes on', async () => {
      const r = await run(['bomb'], { maxProcesses: 24, jitThreshold });
      expect(r.out).toBe('fork failed after more than 10 children: EAGAIN\n');
      // kill(0, SIGTERM) ends the whole group, the bomb included.
      expect(r.status).toBe(128 + 15);
      expect(r.peak).toBe(24);
      expect(r.diagnostics.filter((l) => l.includes('processes at once'))).toEqual([
        'ringvisor: procs: 24 processes at once, the VM\'s limit: fork fails with EAGAIN from now on (a fork bomb?)',
      ]);
    });

    it('--mem covers all processes: the child that writes past it is killed, the others go on', async () => {
      const r = await run(['memory', '8'], { memoryBytes: 20 * 1024 * 1024, jitThreshold });
      expect(r.out).toBe('child 0 wrote 8 MiB of 1\nchild 1 wrote 8 MiB of 2\n');
      expect(r.diagnostics.filter((l) => l.startsWith('ringvisor: out of memory'))).toHaveLength(2);
      expect(r.status).toBe(128 + 15);
      expect(r.created).toBe(5);
    });

    it('two processes that wait for each other forever end the VM as a deadlock, both named', async () => {
      const r = await run(['deadlock'], { jitThreshold });
      expect(r.status).toBe(124);
      expect(r.diagnostics).toEqual([
        'ringvisor: deadlock: all 2 processes wait forever: pid 1000 (procs) thread 1000 in I/O; pid 1001 (procs) thread 1001 in I/O',
      ]);
    });

    it('descriptors are bounded over the whole VM: past MAX_VM_FDS a new one is ENFILE', async () => {
      const r = await run(['files'], { jitThreshold });
      // 1024 per process (EMFILE) for the first seven (8 * 1024 = MAX_VM_FDS
      // with the parent's and each child's inherited ones), then ENFILE.
      const lines = r.out.trim().split('\n');
      expect(lines).toHaveLength(10);
      expect(lines[0]).toBe('child 0: EMFILE');
      expect(lines.at(-1)).toBe('child 9: ENFILE');
      expect(lines.every((l) => /: E[MN]FILE$/.test(l))).toBe(true);
      expect(r.status).toBe(128 + 15);
    });

    it('an orphan goes to the virtual init', async () => {
      const r = await run(['orphan'], { jitThreshold });
      expect(r.out).toBe('orphan reparented: yes\n');
      expect(r.status).toBe(0);
    });
  });
}
