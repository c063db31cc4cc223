// The core runs wherever WebAssembly does (a browser page, a worker): Node's
// modules are used only at the edge, src/node/ and src/cli/, which pass
// files, randomness and logs in through interfaces. This scan fails when a
// file elsewhere under src/ imports a Node builtin, with or without `node:`.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));
const EDGE = ['node', 'cli'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Every module specifier a file names: import/export ... from, bare
 *  import 'x', dynamic import('x'), require('x'). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

const builtins = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]]));
function isNodeBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtins.has(spec) || builtins.has(spec.split('/')[0]);
}

describe('the host edge', () => {
  it('no file under src/ outside src/node and src/cli imports a Node builtin', () => {
    const offenders: string[] = [];
    for (const file of sources(src)) {
      const rel = relative(src, file);
      if (EDGE.includes(rel.split(sep)[0])) continue;
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (isNodeBuiltin(spec)) offenders.push(`${rel}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the scan sees every form of import', () => {
    const text = [
      "import * as fs from 'node:fs';", "import { webcrypto } from 'crypto';", "export { x } from 'node:path';",
      "import 'os';", "const m = await import('node:worker_threads');", "const c = require('child_process');",
      "import type { Foo } from './foo.js';", "import {\n  a,\n  b,\n} from 'fs/promises';",
    ].join('\n');
    expect(specifiers(text).filter(isNodeBuiltin).sort()).toEqual(
      ['child_process', 'crypto', 'fs/promises', 'node:fs', 'node:path', 'node:worker_threads', 'os'].sort());
    expect(specifiers(text)).toContain('./foo.js');
  });
});
