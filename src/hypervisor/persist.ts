/**
 * Plain records for the state of a machine's parts (Firecracker's
 * `persist.rs` idea): a part writes its fields with a RecordWriter into a
 * record tagged with what it is and the version of its layout, and reads
 * them back with a RecordReader. docs/CHECKPOINTS.md ("Records") has the
 * layout.
 *
 * The reader is strict: a record of another tag, a version it was not told
 * it reads, a field that runs past the end, a bool that is not 0 or 1, a
 * length longer than what is left, or a byte left after the last field
 * throws a CheckpointError ('bad-record'). A part's restore reads and checks
 * the whole record into locals first and changes itself only after
 * `end()`, so a refused record leaves it as it was.
 *
 * No Node import: this runs wherever the machine does.
 */

import { CheckpointError } from './checkpoint-error.js';

const MAX_TAG_BYTES = 32;
const TAG_RE = /^[A-Za-z0-9._\-/]+$/;

/** Writes one record: its tag and version, then the fields in order. */
export class RecordWriter {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private n = 0;

  constructor(tag: string, version: number) {
    if (tag.length === 0 || tag.length > MAX_TAG_BYTES || !TAG_RE.test(tag)) {
      throw new CheckpointError('bad-argument', `record tag ${JSON.stringify(tag)} must be 1..${MAX_TAG_BYTES} characters of A-Z a-z 0-9 . _ - /`);
    }
    this.u8(tag.length);
    for (let i = 0; i < tag.length; i++) this.u8(tag.charCodeAt(i));
    this.u32(version);
  }

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  private int(v: number, max: number, what: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new CheckpointError('bad-argument', `record field ${v} is not a ${what}`);
  }

  u8(v: number): this { this.int(v, 0xff, 'u8'); this.room(1); this.buf[this.n++] = v; return this; }
  u16(v: number): this { this.int(v, 0xffff, 'u16'); this.room(2); this.view.setUint16(this.n, v, true); this.n += 2; return this; }
  u32(v: number): this { this.int(v, 0xffff_ffff, 'u32'); this.room(4); this.view.setUint32(this.n, v, true); this.n += 4; return this; }
  /** An unsigned 64-bit value (a negative or wider one is refused: use BigInt.asUintN first). */
  u64(v: bigint): this {
    if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new CheckpointError('bad-argument', `record field ${v} is not a u64`);
    this.room(8); this.view.setBigUint64(this.n, v, true); this.n += 8; return this;
  }
  bool(v: boolean): this { return this.u8(v ? 1 : 0); }
  /** A u32 length, then the bytes. */
  bytes(b: Uint8Array): this { this.u32(b.length); this.room(b.length); this.buf.set(b, this.n); this.n += b.length; return this; }
  /** A u32 length, then UTF-8. */
  string(s: string): this { return this.bytes(new TextEncoder().encode(s)); }
  /** A u32 count, then the values. */
  u32s(a: ArrayLike<number>): this { this.u32(a.length); for (let i = 0; i < a.length; i++) this.u32(a[i]); return this; }

  /** The record's bytes. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

/** Reads one record written by a RecordWriter, strictly. */
export class RecordReader {
  readonly tag: string;
  /** The version the record was written with (one of those `open` allowed). */
  readonly version: number;
  private readonly view: DataView;
  private pos = 0;

  /** Opens a record of `tag` whose version is among `versions` (a part lists
   *  every version it still reads). */
  constructor(private readonly data: Uint8Array, tag: string, versions: readonly number[]) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.tag = tag;
    const len = this.u8('the tag length');
    const t = String.fromCharCode(...this.take(len, 'the tag'));
    if (t !== tag) throw this.error(`found a ${JSON.stringify(t)} record`, 0);
    this.version = this.u32('the version');
    if (!versions.includes(this.version)) {
      throw this.error(`version ${this.version} is not one this release reads (${versions.join(', ')})`, 1 + len);
    }
  }

  private error(message: string, at: number): CheckpointError {
    return new CheckpointError('bad-record', `${this.tag} record: ${message}`, at);
  }

  private need(k: number, field: string): void {
    if (this.pos + k > this.data.length) {
      throw this.error(`${field} needs bytes ${this.pos}..${this.pos + k - 1}, the record has ${this.data.length}`, this.pos);
    }
  }

  private take(k: number, field: string): Uint8Array {
    this.need(k, field);
    const b = this.data.subarray(this.pos, this.pos + k);
    this.pos += k;
    return b;
  }

  u8(field = 'a u8'): number { this.need(1, field); return this.data[this.pos++]; }
  u16(field = 'a u16'): number { this.need(2, field); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(field = 'a u32'): number { this.need(4, field); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(field = 'a u64'): bigint { this.need(8, field); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  bool(field = 'a bool'): boolean {
    const at = this.pos;
    const v = this.u8(field);
    if (v > 1) throw this.error(`${field} at byte ${at} is ${v}, not 0 or 1`, at);
    return v === 1;
  }
  bytes(field = 'bytes'): Uint8Array {
    const n = this.u32(`${field}'s length`);
    return this.take(n, field).slice();
  }
  string(field = 'a string'): string {
    const at = this.pos;
    const b = this.bytes(field);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      throw this.error(`${field} at byte ${at} is not UTF-8`, at);
    }
  }
  u32s(field = 'u32 values'): Uint32Array {
    const n = this.u32(`${field}' count`);
    this.need(4 * n, field);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32(field);
    return out;
  }

  /** Fails unless the whole record has been read. */
  end(): void {
    if (this.pos !== this.data.length) {
      throw this.error(`${this.data.length - this.pos} bytes left after the last field (from byte ${this.pos})`, this.pos);
    }
  }

  /** Fails with what is wrong with a value the record holds. */
  invalid(message: string): never {
    throw this.error(message, this.pos);
  }
}
