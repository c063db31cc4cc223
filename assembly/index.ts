// The WebAssembly CPU's exports: the run loop, RAM configuration, the layout
// offsets (so TypeScript reads them instead of copying them), and pure helpers
// exported for unit tests.
export * from './layout';
export { run, configureRam } from './cpu';
export { clearTouchedPages } from './memory';
export { expandCompressed } from './rvc';
export * from './fp/exports';
