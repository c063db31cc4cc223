// Bundles the `ringvisor` command into dist/bin/ (run by `npm run build`,
// after tsc has written dist/).
//
// Why: a command is timed start-up and all. Loaded as tsc writes it, `run`
// resolves, reads and links 54 modules before the guest's first
// instruction; as a bundle it loads a handful of files (docs/PERFORMANCE.md,
// "Start-up"). What only some commands need (boot, host, the control API,
// checkpoints) stays in chunks of its own, loaded when asked for.
//
// The bundle is made from tsc's output, not from src/, so that it holds the
// very code the library (dist/index.js) and the tests run. Its files sit two
// directories below the package, as dist/cli/main.js does, so the paths the
// code finds beside itself (../../build/ringvisor.wasm, ../../bench/run.mjs,
// ./translation-thread.js, ./host-worker.js) name the same files: hence the
// worker threads' scripts are entry points of their own, in dist/bin/ too.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bin`;
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    ringvisor: 'dist/cli/main.js',
    'translation-thread': 'dist/node/translation-thread.js',
    'host-worker': 'dist/node/host-worker.js',
  },
  outdir,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  // Shared code in chunks, and a dynamic import() stays lazy.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Maps to src/ through tsc's own maps, for `node --enable-source-maps`.
  sourcemap: true,
  // fflate's build for Node loads node:worker_threads as it is imported (for
  // its asynchronous API, which ringvisor does not use): some 5 ms of every
  // start. Its build for browsers has the same synchronous deflate and inflate.
  alias: { fflate: 'fflate/browser' },
  logLevel: 'warning',
});
