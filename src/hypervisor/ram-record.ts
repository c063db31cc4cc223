/**
 * Guest RAM in a checkpoint: one section per 64 MiB of RAM that holds
 * anything ("ram.0", "ram.1", …), each a record of which pages of its
 * chunk are stored (a bitmap) and their bytes, back to back. A full
 * checkpoint stores the pages that may hold data (the CPU's PAGE_TOUCHED,
 * or all of a flat RAM that ran) less those that are all zeros; a diff
 * stores exactly the pages it is given (from the dirty-page log), zeros
 * included, since a page that became zero must become zero again.
 * Chunks keep every section (and every array made on the way) far below
 * the container's 4 GiB field and the host's largest buffer, and let a
 * stream (live migration) send RAM in pieces. docs/CHECKPOINTS.md has the
 * layout.
 *
 * No Node import: this runs wherever the machine does.
 */
import type { Section } from './checkpoint-file.js';
import { RecordReader, RecordWriter } from './persist.js';

export const RAM_RECORD_TAG = 'ram';
export const RAM_RECORD_VERSION = 1;
/** Pages per section: 64 MiB of RAM. */
export const RAM_CHUNK_PAGES = 16384;
const PAGE = 4096;
/** RAM of at most 4 GiB: at most 64 chunks. */
export const RAM_MAX_CHUNKS = 64;
export const RAM_SECTION_NAMES: readonly string[] = Array.from({ length: RAM_MAX_CHUNKS }, (_, i) => `ram.${i}`);

/** What these functions need of a CPU: its RAM by offset. */
export interface RamHolder {
  readonly ramLength: bigint;
  ramView(offset: number, length: number): Uint8Array;
  pageMayHoldData(index: number): boolean;
}

function isZero(page: Uint8Array): boolean {
  const words = new Int32Array(page.buffer, page.byteOffset, PAGE / 4);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/**
 * The RAM sections of a checkpoint. Without `pages`, a full one: every
 * page that may hold data and is not all zeros. With `pages` (indices from
 * RAM's start, e.g. the dirty-page log's), exactly those.
 */
export function saveRam(cpu: RamHolder, pages?: Iterable<number>): Section[] {
  const total = Number(cpu.ramLength) / PAGE;
  const chosen = new Uint8Array(total);
  if (pages === undefined) {
    for (let p = 0; p < total; p++) if (cpu.pageMayHoldData(p) && !isZero(cpu.ramView(p * PAGE, PAGE))) chosen[p] = 1;
  } else {
    for (const p of pages) {
      if (!(Number.isInteger(p) && p >= 0 && p < total)) throw new RangeError(`saveRam: page ${p} is not one of RAM's ${total}`);
      chosen[p] = 1;
    }
  }
  const sections: Section[] = [];
  for (let chunk = 0; chunk * RAM_CHUNK_PAGES < total; chunk++) {
    const first = chunk * RAM_CHUNK_PAGES, count = Math.min(RAM_CHUNK_PAGES, total - first);
    const bitmap = new Uint8Array(Math.ceil(count / 8));
    let stored = 0;
    for (let i = 0; i < count; i++) if (chosen[first + i]) { bitmap[i >> 3] |= 1 << (i & 7); stored++; }
    if (stored === 0) continue;
    const data = new Uint8Array(stored * PAGE);
    for (let i = 0, k = 0; i < count; i++) if (chosen[first + i]) data.set(cpu.ramView((first + i) * PAGE, PAGE), PAGE * k++);
    const payload = new RecordWriter(RAM_RECORD_TAG, RAM_RECORD_VERSION).u32(first).u32(count).bytes(bitmap).bytes(data).finish();
    sections.push({ name: `ram.${chunk}`, version: RAM_RECORD_VERSION, payload, compress: true, level: 1 });
  }
  return sections;
}

interface Chunk { first: number; count: number; bitmap: Uint8Array; data: Uint8Array }

/** Reads and checks every RAM section of `sections` (others are ignored)
 *  against a RAM of `ramLength` bytes, changing nothing. */
export function readRam(sections: readonly Section[], ramLength: bigint): Chunk[] {
  const total = Number(ramLength) / PAGE;
  const chunks: Chunk[] = [];
  for (const s of sections) {
    if (!s.name.startsWith('ram.')) continue;
    const r = new RecordReader(s.payload, RAM_RECORD_TAG, [RAM_RECORD_VERSION]);
    const first = r.u32('the first page'), count = r.u32('the page count');
    const bitmap = r.bytes('the bitmap'), data = r.bytes('the pages');
    r.end();
    if (s.name !== `ram.${first / RAM_CHUNK_PAGES}`) r.invalid(`section ${s.name} holds the chunk from page ${first}`);
    if (count === 0 || count > RAM_CHUNK_PAGES || first + count > total) r.invalid(`pages ${first}..${first + count - 1} are not a chunk of RAM's ${total} pages`);
    if (first + count < total && count !== RAM_CHUNK_PAGES) r.invalid(`a chunk of ${count} pages that is not RAM's last`);
    if (bitmap.length !== Math.ceil(count / 8)) r.invalid(`a bitmap of ${bitmap.length} bytes for ${count} pages`);
    let stored = 0;
    for (let i = 0; i < count; i++) if (bitmap[i >> 3] & (1 << (i & 7))) stored++;
    if (count % 8 !== 0 && bitmap[bitmap.length - 1] >> (count % 8)) r.invalid('bits set past the chunk\'s last page');
    if (data.length !== stored * PAGE) r.invalid(`${data.length} bytes of pages for ${stored} pages marked`);
    chunks.push({ first, count, bitmap, data });
  }
  return chunks;
}

/** Writes the pages readRam checked into RAM (by offset). RAM not in them
 *  is left as it is: a full checkpoint is restored onto zeroed RAM, a
 *  diff onto the RAM of the checkpoint it follows. */
export function writeRam(cpu: RamHolder, chunks: readonly Chunk[]): void {
  for (const c of chunks) {
    for (let i = 0, k = 0; i < c.count; i++) {
      if (c.bitmap[i >> 3] & (1 << (i & 7))) cpu.ramView((c.first + i) * PAGE, PAGE).set(c.data.subarray(PAGE * k, PAGE * ++k));
    }
  }
}
