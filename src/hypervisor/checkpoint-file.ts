/**
 * The checkpoint container: a machine's saved parts (one section each, a
 * device's or subsystem's record, guest RAM) in one file with a magic, a
 * format version, the machine it belongs to, a section table, and a CRC-32
 * per section and over the header. docs/CHECKPOINTS.md describes the layout
 * byte by byte; this file is the code of that page.
 *
 * `writeCheckpoint` makes the bytes; `readCheckpoint` checks all of them
 * (magic, version, machine, every length, every checksum, every section's
 * decompression) before it returns anything, and throws a CheckpointError
 * naming what is wrong otherwise: a reader never gets part of a file.
 *
 * No Node import here: the same code runs in a browser page and a worker.
 * Compression is raw DEFLATE (RFC 1951) from fflate, a small pure-JS
 * library, since node:zlib is not there in a browser.
 */

import { deflateSync, inflateSync } from 'fflate';

/** "RVCKPT", then CR LF: a transfer that rewrites line ends breaks the magic. */
export const CHECKPOINT_MAGIC = Uint8Array.of(0x52, 0x56, 0x43, 0x4b, 0x50, 0x54, 0x0d, 0x0a);
/** The format this release writes. */
export const CHECKPOINT_FORMAT_VERSION = 1;
/** The oldest format this release reads. */
export const CHECKPOINT_OLDEST_VERSION = 1;

/** Section flags (the table's flags byte). */
export const SECTION_COMPRESSED = 0x01;
/** A reader that does not know this section must refuse the file. */
export const SECTION_REQUIRED = 0x02;
const SECTION_FLAGS_KNOWN = SECTION_COMPRESSED | SECTION_REQUIRED;

export const MAX_NAME_BYTES = 32;
export const MAX_MACHINE_KIND_BYTES = 64;
export const MAX_FINGERPRINT_BYTES = 4096;
export const MAX_SECTIONS = 65535;
/** DEFLATE cannot expand by more than 1032:1 (a 258-byte match in about 2 bits);
 *  a section claiming more is corrupt, and is refused before anything is allocated. */
const MAX_INFLATE_RATIO = 1032;

export { CheckpointError, type CheckpointProblem } from './checkpoint-error.js';
import { CheckpointError } from './checkpoint-error.js';

/** One part of a checkpoint: a short ASCII tag, its record's version, its bytes. */
export interface Section {
  name: string;
  version: number;
  payload: Uint8Array;
  /** Store it DEFLATE-compressed (default false). Ignored on reading: a read
   *  section says whether it was stored compressed. */
  compress?: boolean;
  /** DEFLATE's level when compressed (1..9, default 6): RAM is written at
   *  1, where most of its gain is had at a fraction of the time. */
  level?: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  /** A reader that does not know the name must refuse the file (default true). */
  required?: boolean;
}

/** Which machine a checkpoint belongs to. */
export interface MachineId {
  /** "system" or "process", say: a short ASCII word. */
  kind: string;
  /** Whatever else must match for the records to mean the same thing (the
   *  CPU module's layout version, the ISA string, the board's shape): bytes
   *  the caller chooses, compared byte for byte on reading. */
  fingerprint: Uint8Array;
}

export interface ReadOptions {
  /** The machine the caller is; a checkpoint of another is refused. */
  machine: MachineId;
  /** The section names the caller understands: a required section not
   *  among them is refused. Undefined: every section is returned. */
  knownSections?: readonly string[];
}

export interface Checkpoint {
  formatVersion: number;
  machine: MachineId;
  /** In file order; optional sections the caller does not know are left out. */
  sections: Section[];
}

// ---- CRC-32 (ISO-HDLC: the one of zlib, PNG and Ethernet, reflected
// polynomial 0xedb88320, initial value and final xor 0xffffffff). Twenty
// lines of our own rather than a dependency: fflate's crc32 is only inside
// its gzip/zip code, and the table is the whole algorithm.
let crcTable: Uint32Array | undefined;
function table(): Uint32Array {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb8_8320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  return crcTable;
}

/** CRC-32 of `bytes` (crc32("123456789") = 0xcbf43926). */
export function crc32(bytes: Uint8Array): number {
  const t = table();
  let c = 0xffff_ffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffff_ffff) >>> 0;
}

// ---- layout (docs/CHECKPOINTS.md)
const OFF_MAGIC = 0;
const OFF_VERSION = 8;
const OFF_HEADER_LENGTH = 12;
const OFF_HEADER_CRC = 16;
/** The fixed part: magic, format version, header length, header CRC. */
const PREAMBLE_BYTES = 20;
/** Per section after its name: flags u8, version u32, stored length u32,
 *  length u32, CRC u32. */
const ENTRY_FIXED_BYTES = 1 + 4 + 4 + 4 + 4;

const NAME_RE = /^[A-Za-z0-9._\-/]+$/;

function ascii(s: string, what: string, max: number): Uint8Array {
  if (s.length === 0 || s.length > max || !NAME_RE.test(s)) {
    throw new CheckpointError('bad-argument', `${what} ${JSON.stringify(s)} must be 1..${max} characters of A-Z a-z 0-9 . _ - /`);
  }
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hexOf(b: Uint8Array): string {
  const s = Array.from(b.subarray(0, 32), (x) => x.toString(16).padStart(2, '0')).join('');
  return b.length > 32 ? `${s}… (${b.length} bytes)` : s || '(empty)';
}

/** Makes a checkpoint file of `sections` for `machine`. */
export function writeCheckpoint(machine: MachineId, sections: readonly Section[]): Uint8Array {
  const kind = ascii(machine.kind, 'machine kind', MAX_MACHINE_KIND_BYTES);
  if (machine.fingerprint.length > MAX_FINGERPRINT_BYTES) {
    throw new CheckpointError('bad-argument', `machine fingerprint is ${machine.fingerprint.length} bytes, at most ${MAX_FINGERPRINT_BYTES}`);
  }
  if (sections.length > MAX_SECTIONS) throw new CheckpointError('bad-argument', `${sections.length} sections, at most ${MAX_SECTIONS}`);
  const seen = new Set<string>();
  const entries = sections.map((s) => {
    const name = ascii(s.name, 'section name', MAX_NAME_BYTES);
    if (seen.has(s.name)) throw new CheckpointError('duplicate-section', `section ${s.name} given twice`, undefined, s.name);
    seen.add(s.name);
    if (!Number.isInteger(s.version) || s.version < 0 || s.version > 0xffff_ffff) {
      throw new CheckpointError('bad-argument', `section ${s.name}: version ${s.version} is not a u32`, undefined, s.name);
    }
    if (s.payload.length > 0xffff_ffff) throw new CheckpointError('bad-argument', `section ${s.name}: payload over 4 GiB`, undefined, s.name);
    const compressed = s.compress === true;
    const stored = compressed ? deflateSync(s.payload, { level: s.level ?? 6 }) : s.payload;
    const flags = (compressed ? SECTION_COMPRESSED : 0) | (s.required === false ? 0 : SECTION_REQUIRED);
    return { name, flags, version: s.version, stored, length: s.payload.length, crc: crc32(stored) };
  });

  let headerLength = PREAMBLE_BYTES + 1 + kind.length + 2 + machine.fingerprint.length + 4;
  for (const e of entries) headerLength += 1 + e.name.length + ENTRY_FIXED_BYTES;
  const total = entries.reduce((n, e) => n + e.stored.length, headerLength);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set(CHECKPOINT_MAGIC, OFF_MAGIC);
  v.setUint32(OFF_VERSION, CHECKPOINT_FORMAT_VERSION, true);
  v.setUint32(OFF_HEADER_LENGTH, headerLength, true);
  let o = PREAMBLE_BYTES;
  out[o++] = kind.length;
  out.set(kind, o); o += kind.length;
  v.setUint16(o, machine.fingerprint.length, true); o += 2;
  out.set(machine.fingerprint, o); o += machine.fingerprint.length;
  v.setUint32(o, entries.length, true); o += 4;
  for (const e of entries) {
    out[o++] = e.name.length;
    out.set(e.name, o); o += e.name.length;
    out[o++] = e.flags;
    v.setUint32(o, e.version, true); o += 4;
    v.setUint32(o, e.stored.length, true); o += 4;
    v.setUint32(o, e.length, true); o += 4;
    v.setUint32(o, e.crc, true); o += 4;
  }
  for (const e of entries) { out.set(e.stored, o); o += e.stored.length; }
  // The header's CRC covers the header with its own field as zero.
  v.setUint32(OFF_HEADER_CRC, crc32(out.subarray(0, headerLength)), true);
  return out;
}

/** Reads the header of a checkpoint with bounds checks; every overrun is a
 *  'truncated' error naming the byte. */
class HeaderCursor {
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array, public pos: number, private readonly end: number, private readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number, field: string): void {
    if (this.pos + n > this.end) {
      throw new CheckpointError(
        'truncated',
        `truncated at byte ${this.end}: ${field} needs bytes ${this.pos}..${this.pos + n - 1} of the ${this.what}`,
        this.end,
      );
    }
  }
  u8(field: string): number { this.need(1, field); return this.bytes[this.pos++]; }
  u16(field: string): number { this.need(2, field); const x = this.view.getUint16(this.pos, true); this.pos += 2; return x; }
  u32(field: string): number { this.need(4, field); const x = this.view.getUint32(this.pos, true); this.pos += 4; return x; }
  take(n: number, field: string): Uint8Array { this.need(n, field); const b = this.bytes.subarray(this.pos, this.pos + n); this.pos += n; return b; }
}

function asciiField(b: Uint8Array, what: string, at: number): string {
  const s = String.fromCharCode(...b);
  if (s.length === 0 || !NAME_RE.test(s)) {
    throw new CheckpointError('bad-section', `${what} at byte ${at} is not a name (${hexOf(b)})`, at);
  }
  return s;
}

/** Reads a checkpoint file: all of it is checked before anything is returned. */
export function readCheckpoint(bytes: Uint8Array, opts: ReadOptions): Checkpoint {
  if (bytes.length < CHECKPOINT_MAGIC.length || !sameBytes(bytes.subarray(0, CHECKPOINT_MAGIC.length), CHECKPOINT_MAGIC)) {
    throw new CheckpointError('bad-magic', `bad magic: ${hexOf(bytes.subarray(0, 8))} is not "RVCKPT\\r\\n" (not a ringvisor checkpoint)`, 0);
  }
  const pre = new HeaderCursor(bytes, OFF_VERSION, bytes.length, 'file');
  const formatVersion = pre.u32('the format version');
  if (formatVersion < CHECKPOINT_OLDEST_VERSION || formatVersion > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      'unsupported-version',
      `unsupported format version ${formatVersion}: this release reads versions ${CHECKPOINT_OLDEST_VERSION}..${CHECKPOINT_FORMAT_VERSION}`,
      OFF_VERSION,
    );
  }
  const headerLength = pre.u32('the header length');
  const headerCrc = pre.u32('the header CRC');
  if (headerLength < PREAMBLE_BYTES) {
    throw new CheckpointError('bad-section', `header length ${headerLength} is shorter than its fixed ${PREAMBLE_BYTES} bytes`, OFF_HEADER_LENGTH);
  }
  if (headerLength > bytes.length) {
    throw new CheckpointError('truncated', `truncated at byte ${bytes.length}: the header is ${headerLength} bytes long`, bytes.length);
  }
  const header = bytes.slice(0, headerLength);
  new DataView(header.buffer).setUint32(OFF_HEADER_CRC, 0, true);
  const actualHeaderCrc = crc32(header);
  if (actualHeaderCrc !== headerCrc) {
    throw new CheckpointError(
      'checksum',
      `checksum mismatch in the header (bytes 0..${headerLength - 1}): CRC-32 is 0x${actualHeaderCrc.toString(16)}, the file says 0x${headerCrc.toString(16)}`,
      OFF_HEADER_CRC,
    );
  }

  const h = new HeaderCursor(bytes, PREAMBLE_BYTES, headerLength, 'header');
  const kindAt = h.pos;
  const kind = asciiField(h.take(h.u8('the machine kind length'), 'the machine kind'), 'the machine kind', kindAt);
  const fingerprint = h.take(h.u16('the fingerprint length'), 'the machine fingerprint').slice();
  if (kind !== opts.machine.kind || !sameBytes(fingerprint, opts.machine.fingerprint)) {
    throw new CheckpointError(
      'wrong-machine',
      `wrong machine: the checkpoint is of a ${JSON.stringify(kind)} machine with fingerprint ${hexOf(fingerprint)}, ` +
        `this is a ${JSON.stringify(opts.machine.kind)} machine with fingerprint ${hexOf(opts.machine.fingerprint)}`,
      kindAt,
    );
  }
  const count = h.u32('the section count');
  if (count > MAX_SECTIONS) throw new CheckpointError('bad-section', `section count ${count} is over ${MAX_SECTIONS}`, h.pos - 4);

  interface Entry { name: string; flags: number; version: number; storedLength: number; length: number; crc: number; at: number }
  const entries: Entry[] = [];
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    const at = h.pos;
    const nameLength = h.u8(`section ${i}'s name length`);
    if (nameLength > MAX_NAME_BYTES) throw new CheckpointError('bad-section', `section ${i} at byte ${at}: name of ${nameLength} bytes, at most ${MAX_NAME_BYTES}`, at);
    const name = asciiField(h.take(nameLength, `section ${i}'s name`), `section ${i}'s name`, at + 1);
    if (names.has(name)) throw new CheckpointError('duplicate-section', `duplicate section ${name} (again at byte ${at})`, at, name);
    names.add(name);
    const flags = h.u8(`section ${name}'s flags`);
    if (flags & ~SECTION_FLAGS_KNOWN) {
      throw new CheckpointError('bad-section', `section ${name}: unknown flags 0x${flags.toString(16)}`, h.pos - 1, name);
    }
    const version = h.u32(`section ${name}'s version`);
    const storedLength = h.u32(`section ${name}'s stored length`);
    const length = h.u32(`section ${name}'s length`);
    const crc = h.u32(`section ${name}'s CRC`);
    if (!(flags & SECTION_COMPRESSED) && storedLength !== length) {
      throw new CheckpointError('bad-section', `section ${name}: stored uncompressed, but ${storedLength} bytes stored for ${length}`, at, name);
    }
    if (flags & SECTION_COMPRESSED && length > storedLength * MAX_INFLATE_RATIO) {
      throw new CheckpointError('bad-section', `section ${name}: ${storedLength} compressed bytes cannot hold ${length}`, at, name);
    }
    entries.push({ name, flags, version, storedLength, length, crc, at });
  }
  if (h.pos !== headerLength) {
    throw new CheckpointError('bad-section', `the header says it is ${headerLength} bytes, its fields end at byte ${h.pos}`, h.pos);
  }
  const known = opts.knownSections === undefined ? undefined : new Set(opts.knownSections);
  for (const e of entries) {
    if (known !== undefined && !known.has(e.name) && e.flags & SECTION_REQUIRED) {
      throw new CheckpointError('unknown-section', `unknown required section ${e.name}: this release cannot restore it`, e.at, e.name);
    }
  }

  let pos = headerLength;
  const sections: Section[] = [];
  for (const e of entries) {
    if (pos + e.storedLength > bytes.length) {
      throw new CheckpointError(
        'truncated',
        `truncated at byte ${bytes.length}: section ${e.name} needs bytes ${pos}..${pos + e.storedLength - 1}`,
        bytes.length,
        e.name,
      );
    }
    const stored = bytes.subarray(pos, pos + e.storedLength);
    const crc = crc32(stored);
    if (crc !== e.crc) {
      throw new CheckpointError(
        'checksum',
        `checksum mismatch in section ${e.name} (bytes ${pos}..${pos + e.storedLength - 1}): CRC-32 is 0x${crc.toString(16)}, the table says 0x${e.crc.toString(16)}`,
        pos,
        e.name,
      );
    }
    pos += e.storedLength;
    if (known !== undefined && !known.has(e.name)) continue; // optional and unknown: skipped
    const compressed = (e.flags & SECTION_COMPRESSED) !== 0;
    const payload = compressed ? inflate(stored, e.length, e.name, pos - e.storedLength) : stored.slice();
    sections.push({ name: e.name, version: e.version, payload, compress: compressed, required: (e.flags & SECTION_REQUIRED) !== 0 });
  }
  if (pos !== bytes.length) {
    throw new CheckpointError('trailing-bytes', `${bytes.length - pos} bytes after the last section (from byte ${pos})`, pos);
  }
  return { formatVersion, machine: { kind, fingerprint }, sections };
}

function inflate(stored: Uint8Array, length: number, name: string, at: number): Uint8Array {
  // One byte more than promised: a stream that fills it is longer than its table entry says.
  const out = new Uint8Array(length + 1);
  let got: Uint8Array;
  try {
    got = inflateSync(stored, { out });
  } catch (e) {
    throw new CheckpointError('bad-section', `section ${name} does not decompress: ${e instanceof Error ? e.message : String(e)}`, at, name);
  }
  if (got.length !== length) {
    throw new CheckpointError('bad-section', `section ${name} decompresses to ${got.length > length ? `more than ${length}` : got.length} bytes, the table says ${length}`, at, name);
  }
  return got.slice();
}
