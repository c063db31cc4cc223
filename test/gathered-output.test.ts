// A system VM's console output gathered on its way to stdout
// (src/node/gathered-output.ts): one write for what the guest printed
// while it held the thread, in order, nothing lost, and out at once when
// asked (before a diagnostic, at the end of the run; test/cli-boot.test.ts
// runs it in `ringvisor boot`).
import { describe, expect, it } from 'vitest';
import { GatheredOutput } from '../src/node/gathered-output.js';

const text = (chunks: Uint8Array[]) => chunks.map((c) => Buffer.from(c).toString('latin1'));

describe('GatheredOutput', () => {
  it('hands on the bytes written before its scheduled callback runs as one chunk, and schedules once per chunk', () => {
    const out: Uint8Array[] = [];
    const pending: (() => void)[] = [];
    const g = new GatheredOutput((b) => out.push(b), (f) => pending.push(f));
    for (const c of 'echo rt1\r\n') g.write(new Uint8Array([c.charCodeAt(0)]));
    expect(out).toEqual([]);
    expect(pending.length).toBe(1);
    pending.shift()!();
    expect(text(out)).toEqual(['echo rt1\r\n']);
    g.write(new TextEncoder().encode('# '));
    expect(pending.length).toBe(1);
    pending.shift()!();
    expect(text(out)).toEqual(['echo rt1\r\n', '# ']);
  });

  it('flush() hands on at once; the callback after it has nothing to hand on', () => {
    const out: Uint8Array[] = [];
    const pending: (() => void)[] = [];
    const g = new GatheredOutput((b) => out.push(b), (f) => pending.push(f));
    g.write(new Uint8Array([0x41, 0x42]));
    g.flush();
    expect(text(out)).toEqual(['AB']);
    pending.shift()!();
    expect(out.length).toBe(1);
    g.flush();
    expect(out.length).toBe(1);
  });

  it('grows past its first buffer, keeps what it had, and each chunk is a copy of its own', () => {
    const out: Uint8Array[] = [];
    const pending: (() => void)[] = [];
    const g = new GatheredOutput((b) => out.push(b), (f) => pending.push(f));
    const source = new Uint8Array(10_000).map((_, i) => i & 0xff);
    for (let i = 0; i < source.length; i += 7) g.write(source.subarray(i, i + 7));
    g.flush();
    expect(out.length).toBe(1);
    expect(out[0]).toEqual(source);
    g.write(new Uint8Array([1, 2, 3]));
    g.flush();
    expect(Array.from(out[1])).toEqual([1, 2, 3]);
    expect(out[0]).toEqual(source); // not overwritten by the next chunk
  });

  it('by default hands on when the host has its thread back (setImmediate)', async () => {
    const out: Uint8Array[] = [];
    const g = new GatheredOutput((b) => out.push(b));
    g.write(new Uint8Array([0x31]));
    g.write(new Uint8Array([0x32]));
    expect(out).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(text(out)).toEqual(['12']);
  });
});
