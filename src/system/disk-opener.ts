// A disk given by file name (`SystemVMOptions.disk: { path }`) needs the
// host's files, which the core does not touch: the host edge registers how
// to open one (src/index.ts, with src/node/block-file.ts), as it registers
// the compiled CPU (cpu/module-registry.ts). An embedder without files (a
// browser page) passes a BlockBackend instead.
import type { BlockBackend } from './devices/virtio-blk.js';

export type DiskImageOpener = (path: string, readOnly: boolean) => BlockBackend;

let opener: DiskImageOpener | undefined;

export function registerDiskImageOpener(open: DiskImageOpener): void {
  opener = open;
}

export function openDiskByPath(path: string, readOnly: boolean): BlockBackend {
  if (opener === undefined) {
    throw new Error(`virtio-blk: cannot open ${path}: no disk opener; pass a BlockBackend (openDiskImage) or import ringvisor from its package entry`);
  }
  return opener(path, readOnly);
}
