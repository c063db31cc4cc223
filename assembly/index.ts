// The WebAssembly CPU's exports: the run loop, RAM configuration, the layout
// offsets (so TypeScript reads them instead of copying them), and pure helpers
// exported for unit tests.
export * from './layout';
export { run, configureRam } from './cpu';
// Helpers that translations (src/cpu/jit/) import instead of inlining.
export { mulhu, mulh, mulhsu, div64, rem64, div32, rem32, divu32, remu32, orcb, bswap64, jitFloat } from './cpu';
export { clearTouchedPages } from './memory';
export { protectCodeInTlb, jitTranslate } from './mmu';
export { expandCompressed } from './rvc';
export * from './fp/exports';
