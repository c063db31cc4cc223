// One of Node's own modules, loaded when first asked for rather than
// imported: what a short run never uses it never loads (docs/PERFORMANCE.md,
// "Start-up"). Node caches it, so later calls cost a lookup.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function builtin<M>(name: string): M {
  return require(name) as M;
}
