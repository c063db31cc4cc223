// The run loop every VM and vmcall share (hypervisor/run-loop.ts), as a
// function of what the driven thing says between slices.
import { describe, expect, it } from 'vitest';
import { RunLoop, blockHost, yieldToHost, type Sliced } from '../src/hypervisor/run-loop.js';

/** A fake VM: each step burns `stepMs` of host time; it ends after `steps`. */
function fake(steps: number, stepMs = 1): Sliced<string> & { ran: number; idle: number; naps: number[]; pausedNow: boolean } {
  const f = {
    ran: 0, idle: 0, naps: [] as number[], pausedNow: false,
    step(): string | undefined {
      const until = performance.now() + stepMs;
      while (performance.now() < until) { /* burn */ }
      return ++f.ran >= steps ? 'done' : undefined;
    },
    idleMilliseconds: () => f.idle,
    get paused() { return f.pausedNow; },
    napped(ms: number) { f.naps.push(ms); f.idle = 0; },
  };
  return f;
}

describe('RunLoop', () => {
  it('runs to the result and gives the host its thread back every yieldMs', async () => {
    const f = fake(200, 1);
    let ticks = 0, last = performance.now(), worst = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      ticks++;
    }, 2);
    expect(await new RunLoop(10).run(f)).toBe('done');
    clearInterval(timer);
    expect(f.ran).toBe(200);
    expect(ticks).toBeGreaterThan(5);
    // A slice of 1 ms past a 10 ms budget, and room for a loaded machine.
    expect(worst).toBeLessThan(150);
  });

  it('waits out an idle guest with a timer and counts the nap', async () => {
    const f = fake(2, 0);
    f.idle = 30;
    const t0 = performance.now();
    expect(await new RunLoop().run(f)).toBe('done');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(28);
    expect(f.naps).toHaveLength(1);
    expect(f.naps[0]).toBeGreaterThanOrEqual(28);
  });

  it('wake() cuts a nap short (input has come)', async () => {
    const f = fake(2, 0);
    f.idle = 5_000;
    const loop = new RunLoop();
    setTimeout(() => loop.wake(), 20);
    const t0 = performance.now();
    expect(await loop.run(f)).toBe('done');
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(f.naps[0]).toBeLessThan(2_000);
  });

  it('runs nothing while paused, without spinning, until woken', async () => {
    const f = fake(3, 0);
    f.pausedNow = true;
    const loop = new RunLoop();
    const done = loop.run(f);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.ran).toBe(0);
    f.pausedNow = false;
    loop.wake();
    expect(await done).toBe('done');
    expect(f.ran).toBe(3);
  });

  it('wake() with nothing waiting changes nothing', async () => {
    const loop = new RunLoop();
    loop.wake();
    expect(await loop.run(fake(1, 0))).toBe('done');
  });

  it('runSync blocks the thread for an idle guest and refuses a paused one', () => {
    const f = fake(2, 0);
    f.idle = 25;
    const t0 = performance.now();
    expect(new RunLoop().runSync(f)).toBe('done');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(24);
    expect(f.naps).toHaveLength(1);
    const p = fake(1, 0);
    p.pausedNow = true;
    expect(() => new RunLoop().runSync(p)).toThrow(/paused/);
    expect(p.ran).toBe(0);
  });

  it('yields without setImmediate, as in a browser page', async () => {
    const saved = globalThis.setImmediate;
    // @ts-expect-error: a host without setImmediate
    delete globalThis.setImmediate;
    try {
      let timerRan = false;
      setTimeout(() => { timerRan = true; }, 0);
      const t0 = performance.now();
      for (let i = 0; i < 100; i++) await yieldToHost();
      // A message per yield, not a clamped 4 ms timer each.
      expect(performance.now() - t0).toBeLessThan(300);
      await new Promise((r) => setTimeout(r, 5));
      expect(timerRan).toBe(true);
      const f = fake(30, 1);
      expect(await new RunLoop(5).run(f)).toBe('done');
    } finally {
      globalThis.setImmediate = saved;
    }
  });

  it('blockHost blocks for about the time asked', () => {
    const t0 = performance.now();
    blockHost(15);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(14.5);
    expect(took).toBeLessThan(500);
    blockHost(0);
    blockHost(-3);
  });
});
