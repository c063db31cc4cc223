// A raw disk image on the host as a virtio-blk backend. It lives at the
// Node edge so that the device model (src/system/devices/virtio-blk.ts)
// reads and writes through BlockBackend only and runs wherever the core
// does; `ringvisor boot --disk` and library users with a file name open
// their image here.
import * as fs from 'node:fs';
import { checkImageSize, type BlockBackend } from '../system/devices/virtio-blk.js';

/** A host file, read and written at positions through node:fs. */
export class FileBlockBackend implements BlockBackend {
  readonly byteLength: number;
  private closed = false;

  constructor(
    readonly fd: number,
    readonly readOnly: boolean,
    private readonly ownsFd = false,
    what = `fd ${fd}`,
  ) {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`virtio-blk: ${what} is not a regular file`);
    checkImageSize(st.size, what);
    this.byteLength = st.size;
  }

  static open(path: string, readOnly = false): FileBlockBackend {
    const fd = fs.openSync(path, readOnly ? 'r' : 'r+');
    try {
      return new FileBlockBackend(fd, readOnly, true, path);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  read(position: number, dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      const n = fs.readSync(this.fd, dst, done, dst.length - done, position + done);
      if (n <= 0) throw new Error(`short read at ${position + done}`);
      done += n;
    }
  }

  write(position: number, src: Uint8Array): void {
    if (this.readOnly) throw new Error('read-only');
    let done = 0;
    while (done < src.length) {
      const n = fs.writeSync(this.fd, src, done, src.length - done, position + done);
      if (n <= 0) throw new Error(`short write at ${position + done}`);
      done += n;
    }
  }

  flush(): void {
    if (!this.readOnly) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.ownsFd && !this.closed) { this.closed = true; fs.closeSync(this.fd); }
  }
}

/** Opens a raw disk image (read-write unless `readOnly`) for
 *  `SystemVMOptions.disk`: writes reach the file, a flush is an fsync. */
export function openDiskImage(path: string, options: { readOnly?: boolean } = {}): FileBlockBackend {
  return FileBlockBackend.open(path, options.readOnly ?? false);
}
