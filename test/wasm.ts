// Loads the debug build of the WebAssembly CPU for unit tests that call its
// exports directly. `npm test` builds it first (pretest).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const path = fileURLToPath(new URL('../build/ringvisor-debug.wasm', import.meta.url));

export interface RawCpu {
  exports: Record<string, any>;
  memory: WebAssembly.Memory;
}

export function loadRawCpu(): RawCpu {
  const module = new WebAssembly.Module(readFileSync(path));
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`wasm abort at ${line}:${col}`);
      },
    },
  });
  const exports = instance.exports as Record<string, any>;
  return { exports, memory: exports.memory as WebAssembly.Memory };
}
