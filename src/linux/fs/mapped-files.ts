// Files some process maps MAP_SHARED (../shared-maps.ts), as the open file
// descriptions that read and write them must know of them. Linux keeps one
// page cache per file, so a store to a shared mapping is at once what
// read(2) sees and a write(2) is at once what the mapping sees. Here a
// mapping is the guest's own RAM, which the CPU stores to without asking:
// so each read, write, seek, stat, truncate, fsync and last close of a
// mapped file first has its mappings write back what was stored to them
// (`use`), and a write or truncate then updates the mapped bytes
// (`written`). With no file mapped shared anywhere, each is one test of an
// empty set.
import type { OpenFile } from './types.js';

/** What a process's shared mappings do around another access to a file. */
export interface MappedFileWatcher {
  /** Before the file is read, written, sought, statted, truncated or closed. */
  use(file: OpenFile): void;
  /** After bytes [offset, offset+length) were written, or (length
   *  undefined) the file's size changed. */
  written(file: OpenFile, offset: number, length: number | undefined): void;
}

const watchers = new Set<MappedFileWatcher>();

export function watchMappedFiles(w: MappedFileWatcher): void { watchers.add(w); }
export function unwatchMappedFiles(w: MappedFileWatcher): void { watchers.delete(w); }

/** The file is about to be accessed other than through a mapping. */
export function fileUse(file: OpenFile): void {
  if (watchers.size === 0) return;
  for (const w of watchers) w.use(file);
}

/** The file's bytes [offset, offset+length) changed (length undefined: its
 *  size); `by`, a watcher that wrote them itself, is not told. */
export function fileWritten(file: OpenFile, offset: number, length?: number, by?: MappedFileWatcher): void {
  if (watchers.size === 0) return;
  for (const w of watchers) if (w !== by) w.written(file, offset, length);
}

const keys = new WeakMap<OpenFile, string>();

/** The file's identity (device and inode): every open of one file has the same. */
export function fileKey(file: OpenFile): string | undefined {
  let key = keys.get(file);
  if (key === undefined) {
    try {
      const st = file.stat();
      key = `${st.dev}:${st.ino}`;
    } catch {
      return undefined;
    }
    keys.set(file, key);
  }
  return key;
}
