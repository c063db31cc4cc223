// Where the core finds the compiled CPU when a caller does not pass one. The
// host edge (src/index.ts for Node; later a browser entry) registers it, so
// nothing in the core reads files itself.
let defaultModule: (() => WebAssembly.Module) | undefined;

export function registerDefaultCpuModule(load: () => WebAssembly.Module): void {
  defaultModule = load;
}

export function defaultCpuModule(): WebAssembly.Module {
  if (!defaultModule) {
    throw new Error('no CPU module: pass options.cpuModule or import ringvisor from its package entry');
  }
  return defaultModule();
}
