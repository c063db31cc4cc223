// Node-only: reads the compiled CPU from the package's build/ folder.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { raiseMallocTrimThreshold } from './malloc-threshold.js';

let cached: WebAssembly.Module | undefined;

/** The release build of the CPU, compiled once per process. */
export function loadCpuModule(flavour: 'release' | 'debug' = 'release'): WebAssembly.Module {
  if (flavour === 'release' && cached) return cached;
  // Whoever loads the CPU in Node may translate: the modules V8 compiles
  // then reuse their memory (malloc-threshold.ts).
  raiseMallocTrimThreshold();
  const name = flavour === 'release' ? 'ringvisor.wasm' : 'ringvisor-debug.wasm';
  // Same relative path from src/node (vitest) and dist/node (built package).
  const path = fileURLToPath(new URL(`../../build/${name}`, import.meta.url));
  const module = new WebAssembly.Module(readFileSync(path));
  if (flavour === 'release') cached = module;
  return module;
}
