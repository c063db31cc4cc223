// A program's file read as it is needed. `ringvisor run` used to read the
// whole file before the first instruction, and on a host where a fresh page
// of memory costs some 13 us to fault in, reading esbuild's 10 MB took 35 ms
// of its 0.35 s `--version` (docs/PERFORMANCE.md, "Start-up"); its segments
// then went into RAM as the program reached them (AddressSpace.deferContent),
// and `--version` never reaches 4 MB of the file.
//
// A lazy program is a buffer of the file's size that holds only what has
// been asked for (a fresh buffer's pages cost nothing until written), with
// the function that reads the file. The ELF parser asks for the headers it
// reads (programBytes); a segment's piece goes from the file straight into
// guest RAM when its slot gets RAM (copyProgramPiece), without passing
// through the buffer. Any other buffer is a whole file already, and both
// functions are then plain views and copies.

/** Reads the file's bytes [offset, offset + dst.length) into dst; throws
 *  when the file no longer has them. */
export type ReadAt = (dst: Uint8Array, offset: number) => void;

/** What programBytes reads at least at once (and its alignment). */
const CHUNK = 64 * 1024;

interface Lazy {
  read: ReadAt;
  /** Per CHUNK bytes of the buffer: 1 once the file's bytes are in it. */
  filled: Uint8Array;
}

// By the buffer, so that any view of it (a segment's piece) finds it.
const lazyFiles = new WeakMap<ArrayBufferLike, Lazy>();

/** A buffer for a file of `size` bytes, read by `read` as programBytes and
 *  copyProgramPiece need its parts. */
export function lazyProgram(size: number, read: ReadAt): Uint8Array {
  const bytes = new Uint8Array(size);
  lazyFiles.set(bytes.buffer, { read, filled: new Uint8Array(Math.ceil(size / CHUNK)) });
  return bytes;
}

/** Bytes [from, to) of program `bytes` (clamped to it), read from the file
 *  first where a lazy program does not hold them yet. */
export function programBytes(bytes: Uint8Array, from: number, to: number): Uint8Array {
  from = Math.max(0, Math.min(from, bytes.length));
  to = Math.max(from, Math.min(to, bytes.length));
  const lazy = lazyFiles.get(bytes.buffer);
  if (lazy !== undefined && to > from) {
    const base = bytes.byteOffset;
    for (let c = Math.floor((base + from) / CHUNK); c * CHUNK < base + to; c++) {
      if (lazy.filled[c]) continue;
      const start = c * CHUNK, end = Math.min(start + CHUNK, bytes.buffer.byteLength);
      lazy.read(new Uint8Array(bytes.buffer, start, end - start), start);
      lazy.filled[c] = 1;
    }
  }
  return bytes.subarray(from, to);
}

/** Copies `piece` (a view of a program's buffer) into `dst`, of its length:
 *  from the file itself when a lazy program does not hold all of it. */
export function copyProgramPiece(piece: Uint8Array, dst: Uint8Array): void {
  const lazy = lazyFiles.get(piece.buffer);
  if (lazy !== undefined) {
    const first = Math.floor(piece.byteOffset / CHUNK), last = Math.floor((piece.byteOffset + piece.length - 1) / CHUNK);
    for (let c = first; c <= last; c++) {
      if (lazy.filled[c]) continue;
      lazy.read(dst, piece.byteOffset);
      return;
    }
  }
  dst.set(piece);
}
