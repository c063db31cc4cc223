// stdin fed by the host as input arrives (src/linux/fs/host-input.ts): a
// guest that waits for input waits as for a pipe, and the host's thread
// stays free meanwhile (timers fire, a control API answers); input, in
// pieces, reaches the guest in order; its end is end-of-file; a lone
// thread waiting for it is not a deadlock; --timeout still bounds the
// wait; runSync() refuses a wait it could never end.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ProcessVM, HostInput } from '../src/index.js';

const CAT = new Uint8Array(readFileSync(new URL('../guests/bin/files-stdin.elf', import.meta.url)));

function start(input: HostInput, extra: { timeoutSeconds?: number } = {}) {
  let out = '', err = '';
  const vm = ProcessVM.create(CAT, {
    argv: ['files-stdin'], stdin: input, jitThreshold: 0,
    stdout: (b) => { out += new TextDecoder().decode(b); },
    stderr: (b) => { err += new TextDecoder().decode(b); },
    ...extra,
  });
  return { vm, out: () => out, err: () => err };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HostInput', () => {
  it('hands bytes over in order, in pieces, then the end', () => {
    const h = new HostInput();
    expect(h.read(4)).toBeUndefined();
    let woken = 0;
    const off = h.onReady(() => woken++);
    h.push('abc'); h.push(Uint8Array.of(0x64, 0x65)); h.push('');
    expect(woken).toBe(2);
    expect(new TextDecoder().decode(h.read(4)!)).toBe('abcd');
    expect(h.available).toBe(1);
    h.end();
    h.push('ignored after the end');
    expect(new TextDecoder().decode(h.read(4)!)).toBe('e');
    expect(h.read(4)).toBeNull();
    expect(woken).toBe(3);
    off();
  });

  it('a guest waiting for input leaves the host free, and reads what comes when it comes', async () => {
    const input = new HostInput();
    const g = start(input);
    const done = g.vm.run();
    // The guest waits; the host's timers still fire, many times.
    let ticks = 0;
    for (let i = 0; i < 10; i++) { await tick(10); ticks++; }
    expect(ticks).toBe(10);
    expect(g.vm.state).toBe('Running');
    input.push('one two\n');
    await tick(50);
    expect(g.out()).toBe('one two\n');
    input.push('three\n');
    input.end();
    expect(await done).toBe(0);
    expect(g.out().startsWith('one two\nthree\nread at EOF again: 0\n')).toBe(true);
    expect(g.err()).toBe('14 bytes, 2 lines, 3 words; last read 0\n');
  });

  it('a wait for input is bounded by --timeout, and runSync refuses to wait for what it could never get', async () => {
    const t = Date.now();
    const g = start(new HostInput(), { timeoutSeconds: 0.3 });
    expect(await g.vm.run()).toBe(124);
    expect(Date.now() - t).toBeLessThan(5000);
    const s = start(new HostInput());
    expect(() => s.vm.runSync()).toThrow(/waits for stdin the host feeds as it arrives/);
  });

  it('a paused VM waiting for input is checkpointed and restored; the input goes to the restored one', async () => {
    const input = new HostInput();
    const g = start(input);
    const done = g.vm.run();
    input.push('before\n');
    await tick(50);
    g.vm.pause();
    const file = g.vm.checkpoint();
    g.vm.halt(0);
    await done;
    const again = new HostInput();
    let out = '';
    const r = ProcessVM.restore(file, { stdin: again, jitThreshold: 0, stdout: (b) => { out += new TextDecoder().decode(b); }, stderr: () => {} });
    const ran = r.run();
    again.push('after\n');
    again.end();
    expect(await ran).toBe(0);
    // Input pushed after the VM has ended (it listens no more) is harmless.
    input.push('for nobody\n');
    expect(g.out()).toBe('before\n');
    expect(out.startsWith('after\nread at EOF again: 0\n')).toBe(true);
  });
});
