// A VM's checkpoint tree on a host directory (src/hypervisor/checkpoint-tree.ts
// is the tree; this is its files): tree.json, the saved states and the
// disk layers, each a plain file in the one directory. Names are confined
// to it: the tree makes its own names, but a name with a slash, a `..`, a
// NUL or a leading dot is refused here too, so that nothing reaches
// outside the directory or its temporary files whatever asks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CheckpointStore } from '../hypervisor/checkpoint-tree.js';
import type { LayerFile } from '../system/disk-overlay.js';

const TEMP_PREFIX = '.tmp-';

export class CheckpointStoreError extends Error {
  constructor(readonly file: string, message: string) {
    super(`checkpoint store: ${message}`);
    this.name = 'CheckpointStoreError';
  }
}

function checkName(name: string): void {
  if (
    typeof name !== 'string' || name.length === 0 || name.length > 255 || name.includes('/') || name.includes('\\') ||
    name.includes('\0') || name === '.' || name === '..' || name.startsWith('.')
  ) {
    throw new CheckpointStoreError(String(name), `${JSON.stringify(name)} is not a file name of the store (no /, \\, NUL, leading dot, .. or empty)`);
  }
}

/** A layer file over a descriptor: positioned reads and writes, fsync. */
export class FileLayerFile implements LayerFile {
  private length: number;
  private closed = false;
  constructor(readonly fd: number, readonly name = `fd ${fd}`) {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new CheckpointStoreError(name, `${name} is not a regular file`);
    this.length = st.size;
  }
  get size(): number { return this.length; }
  read(position: number, dst: Uint8Array): void {
    if (position + dst.length > this.length) throw new CheckpointStoreError(this.name, `${this.name}: read of ${dst.length} bytes at ${position} past its end ${this.length}`);
    let done = 0;
    while (done < dst.length) {
      const n = fs.readSync(this.fd, dst, done, dst.length - done, position + done);
      if (n <= 0) throw new CheckpointStoreError(this.name, `${this.name}: short read at ${position + done}`);
      done += n;
    }
  }
  write(position: number, src: Uint8Array): void {
    let done = 0;
    while (done < src.length) {
      const n = fs.writeSync(this.fd, src, done, src.length - done, position + done);
      if (n <= 0) throw new CheckpointStoreError(this.name, `${this.name}: short write at ${position + done}`);
      done += n;
    }
    this.length = Math.max(this.length, position + src.length);
  }
  flush(): void { fs.fsyncSync(this.fd); }
  close(): void {
    if (!this.closed) { this.closed = true; fs.closeSync(this.fd); }
  }
}

/** The store of one VM's checkpoints in `dir`. */
export class DirectoryCheckpointStore implements CheckpointStore {
  private tempCount = 0;

  /** Opens `dir`, creating it (mode 0700: saved states hold the guest's
   *  memory) if it is not there, and removes temporary files a crash left. */
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!fs.statSync(dir).isDirectory()) throw new CheckpointStoreError(dir, `${dir} is not a directory`);
    for (const f of fs.readdirSync(dir)) if (f.startsWith(TEMP_PREFIX)) fs.rmSync(path.join(dir, f), { force: true });
  }

  private at(name: string): string {
    checkName(name);
    return path.join(this.dir, name);
  }

  read(name: string): Uint8Array | undefined {
    const p = this.at(name);
    try {
      // O_NOFOLLOW: a symbolic link put in the directory is not followed out of it.
      const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try { return new Uint8Array(fs.readFileSync(fd)); } finally { fs.closeSync(fd); }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** A temporary file, fsynced, renamed over the name, and the directory
   *  fsynced so that the rename itself is durable. */
  writeAtomic(name: string, bytes: Uint8Array): void {
    const p = this.at(name);
    const tmp = path.join(this.dir, `${TEMP_PREFIX}${process.pid}-${++this.tempCount}-${name}`);
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
      fs.fsyncSync(fd);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, p);
    this.syncDir();
  }

  private syncDir(): void {
    const d = fs.openSync(this.dir, 'r');
    try { fs.fsyncSync(d); } finally { fs.closeSync(d); }
  }

  remove(name: string): void {
    fs.rmSync(this.at(name), { force: true });
  }

  list(): string[] {
    return fs.readdirSync(this.dir).filter((f) => !f.startsWith('.')).sort();
  }

  openLayer(name: string): LayerFile {
    const p = this.at(name);
    const fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
    try {
      return new FileLayerFile(fd, name);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  createLayer(name: string): LayerFile {
    const p = this.at(name);
    const fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      const f = new FileLayerFile(fd, name);
      this.syncDir();
      return f;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }
}
