// The one scheduling policy (hypervisor/scheduler.ts) as a function of its
// inputs: the order of turns and the decision when nothing can run.
import { describe, expect, it } from 'vitest';
import { earliestOf, nextInTurn, whenIdle } from '../src/hypervisor/scheduler.js';

describe('nextInTurn', () => {
  const list = ['a', 'b', 'c', 'd'];
  const all = () => true;

  it('takes the next after the current one, wrapping round', () => {
    expect(nextInTurn(list, 'a', all)).toBe('b');
    expect(nextInTurn(list, 'd', all)).toBe('a');
  });

  it('passes over those that cannot run, and comes to the current one last', () => {
    expect(nextInTurn(list, 'b', (t) => t === 'a' || t === 'b')).toBe('a');
    expect(nextInTurn(list, 'b', (t) => t === 'b')).toBe('b');
    expect(nextInTurn(list, 'b', () => false)).toBeUndefined();
  });

  it('looks at each one once: every one when the current one has left the list', () => {
    const seen: string[] = [];
    expect(nextInTurn(list, 'c', (t) => { seen.push(t); return false; })).toBeUndefined();
    expect(seen).toEqual(['d', 'a', 'b', 'c']);
    seen.length = 0;
    expect(nextInTurn(list, 'gone', (t) => { seen.push(t); return t === 'd'; })).toBe('d');
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(nextInTurn([], 'a', all)).toBeUndefined();
  });

  it('is fair: every one that can run gets a turn within a round', () => {
    const turns = new Map<string, number>();
    let cur: string | undefined = 'a';
    for (let i = 0; i < 400; i++) {
      cur = nextInTurn(list, cur, (t) => t !== 'c');
      turns.set(cur!, (turns.get(cur!) ?? 0) + 1);
    }
    expect([...turns.entries()].sort()).toEqual([['a', 133], ['b', 134], ['d', 133]]);
  });
});

describe('earliestOf', () => {
  it('the least deadline, none counted for undefined', () => {
    expect(earliestOf([5n, undefined, 3n, 9n])).toBe(3n);
    expect(earliestOf([undefined, undefined])).toBeUndefined();
    expect(earliestOf([])).toBeUndefined();
    expect(earliestOf([0n])).toBe(0n);
  });
});

describe('whenIdle', () => {
  it('a virtual clock jumps to the deadline; the host clock waits for it', () => {
    expect(whenIdle('virtual', 100n, 250n, false)).toEqual({ kind: 'skip', by: 150n });
    expect(whenIdle('host', 100n, 250n, true)).toEqual({ kind: 'wait', until: 250n });
  });

  it('a deadline already come: look again, on either clock', () => {
    for (const kind of ['virtual', 'host'] as const) {
      expect(whenIdle(kind, 100n, 100n, false)).toEqual({ kind: 'again' });
      expect(whenIdle(kind, 100n, 7n, true)).toEqual({ kind: 'again' });
    }
  });

  it('no deadline: the host may still end a wait, or it is a deadlock', () => {
    expect(whenIdle('host', 0n, undefined, true)).toEqual({ kind: 'host' });
    expect(whenIdle('virtual', 0n, undefined, true)).toEqual({ kind: 'host' });
    expect(whenIdle('host', 0n, undefined, false)).toEqual({ kind: 'stuck' });
    expect(whenIdle('virtual', 0n, undefined, false)).toEqual({ kind: 'stuck' });
  });
});
