// bench/translation-churn.mjs at its smallest: each round makes a module
// of a new translation (the count it prints is the CPU's own), its lines
// have their shape, the --v8 part runs both kinds of module, and a bad
// argument is said. Never how much memory anything takes.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

const ROOT = new URL('..', import.meta.url).pathname;

function churn(args: string[]) {
  return spawnSync(process.execPath, ['--expose-gc', 'bench/translation-churn.mjs', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}

describe('bench/translation-churn.mjs', () => {
  it('makes a module a round and prints mappings, resident size, heap and modules', () => {
    const r = churn(['201', '100']);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^rounds +mappings +rss MiB +heap MiB +modules$/);
    const cells = rows.slice(1).map((l) => l.trim().split(/ +/).map(Number));
    expect(cells.map((c) => c[0])).toEqual([0, 100, 200]);
    for (const c of cells) {
      expect(c).toHaveLength(5);
      expect(c[1]).toBeGreaterThan(0);
      expect(c[2]).toBeGreaterThan(0);
    }
    // Round r has made r + 1 translations, each a module of its own.
    expect(cells.map((c) => c[4])).toEqual([1, 101, 201]);
  });

  it('shows instances with and without a table import (--v8)', () => {
    const r = churn(['--v8', '11', '5']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^no imports:\n( +\d+ instances made: heap \d+ MiB, rss \d+ MiB\n){3}importing a table:\n( +\d+ instances made: heap \d+ MiB, rss \d+ MiB\n){3}$/);
  });

  it('refuses a bad count with its usage and status 2', () => {
    for (const args of [['0'], ['x'], ['10', '-1'], ['10', '5', '1'], ['--v8', '1.5']]) {
      const r = churn(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^usage: node --expose-gc bench\/translation-churn\.mjs/);
      expect(r.stdout).toBe('');
    }
  });
});
