// bench/translation-churn.mjs at its smallest: each round makes a module
// of a new translation (the count it prints is the CPU's own), no more
// instances stay alive than the translation cache holds, its lines have
// their shape, the --v8 part runs every kind of module, and a bad argument
// is said. Never how much memory anything takes.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

const ROOT = new URL('..', import.meta.url).pathname;

function churn(args: string[]) {
  return spawnSync(process.execPath, ['--expose-gc', 'bench/translation-churn.mjs', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}

describe('bench/translation-churn.mjs', () => {
  it('makes a module a round and prints mappings, resident size, heap, modules, instances alive and flushes', () => {
    const r = churn(['201', '100']);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^rounds +mappings +rss MiB +heap MiB +modules +alive +flushes$/);
    const cells = rows.slice(1).map((l) => l.trim().split(/ +/).map(Number));
    expect(cells.map((c) => c[0])).toEqual([0, 100, 200]);
    for (const c of cells) {
      expect(c).toHaveLength(7);
      expect(c[1]).toBeGreaterThan(0);
      expect(c[2]).toBeGreaterThan(0);
    }
    // Round r has made r + 1 translations, each a module of its own; with
    // the cache far from full, every module made is alive (the generation's
    // table keeps them: jit.ts, "Generations").
    expect(cells.map((c) => c[4])).toEqual([1, 101, 201]);
    expect(cells.map((c) => c[5])).toEqual([1, 101, 201]);
    expect(cells.map((c) => c[6])).toEqual([0, 0, 0]);
  });

  it('with a cache of 64 modules, empties it when full and keeps no more than 64 instances alive (--cache)', () => {
    // Once every module made stayed alive with its CPU: here 201.
    const r = churn(['201', '100', '--cache', '64']);
    expect(r.status, r.stderr).toBe(0);
    const cells = r.stdout.trimEnd().split('\n').slice(1).map((l) => l.trim().split(/ +/).map(Number));
    expect(cells.map((c) => c[0])).toEqual([0, 100, 200]);
    for (const c of cells) {
      expect(c[5]).toBeGreaterThan(0);
      expect(c[5]).toBeLessThanOrEqual(64);
    }
    // A module made as the cache fills is dropped with it, so more are made
    // than rounds run.
    expect(cells[2][4]).toBeGreaterThan(201);
    expect(cells[2][6]).toBeGreaterThanOrEqual(3);
  });

  it('shows instances with no imports, importing one table, and importing a new table each (--v8)', () => {
    const r = churn(['--v8', '11', '5']);
    expect(r.status, r.stderr).toBe(0);
    const rows = '( +\\d+ instances made: heap \\d+ MiB, rss \\d+ MiB\\n){3}';
    expect(r.stdout).toMatch(new RegExp(`^no imports:\\n${rows}importing one table:\\n${rows}importing a new table each:\\n${rows}$`));
  });

  it('refuses a bad count with its usage and status 2', () => {
    for (const args of [['0'], ['x'], ['10', '-1'], ['10', '5', '1'], ['--v8', '1.5'], ['10', '5', '--cache', '0'], ['--cache']]) {
      const r = churn(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^usage: node --expose-gc bench\/translation-churn\.mjs/);
      expect(r.stdout).toBe('');
    }
  });
});

// bench/chain-hop.mjs at its smallest: each way of chaining runs its
// chain to the end (the script checks the result) and gets a row; a bad
// argument is said. Never how long anything takes.
describe('bench/chain-hop.mjs', () => {
  const hop = (args: string[]) => spawnSync(process.execPath, ['bench/chain-hop.mjs', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

  it('times a chain of calls each way, alternating, and prints a row for each', () => {
    const r = hop(['1000', '3']);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^1000 chained calls, 3 alternating rounds, node v\d+\.\d+\.\d+: ns per call \(median, each round\)$/);
    expect(rows.slice(1).map((l) => l.split(/ +/)[0])).toEqual(['direct', 'trampoline', 'imported']);
    for (const l of rows.slice(1)) expect(l).toMatch(/^\w+ +\d+\.\d\d( +\d+\.\d\d){3}$/); // the median, then each round
  });

  it('refuses a bad count with its usage and status 2', () => {
    for (const args of [['0'], ['x'], ['10', '0'], ['10', '2', '3']]) {
      const r = hop(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toBe('usage: node bench/chain-hop.mjs [calls=20000000] [rounds=4]\n');
    }
  });
});
