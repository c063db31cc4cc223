// Flattened devicetree (DTB) writer and reader, written from the Devicetree
// Specification v0.4, chapter 5 ("Flattened Devicetree (DTB) Format").
//
// Layout of a blob this builder writes (every field big-endian):
//
//   header            40 bytes, ten u32 words (below)
//   memory reservation block   8-aligned; {u64 address, u64 size} pairs ending in {0, 0}
//   structure block   4-aligned tokens: FDT_BEGIN_NODE name\0 (padded), FDT_PROP
//                     {u32 len, u32 nameoff, value (padded)}, FDT_END_NODE, FDT_NOP, FDT_END
//   strings block     NUL-terminated property names, no alignment
//
// Header words: magic 0xd00dfeed, totalsize, off_dt_struct, off_dt_strings,
// off_mem_rsvmap, version (17), last_comp_version (16), boot_cpuid_phys,
// size_dt_strings, size_dt_struct.
//
// FdtBuilder writes one tree top-down (properties of a node before its
// subnodes, as the structure block requires) and refuses anything that would
// make an invalid blob. parseFdt reads any v16/v17 blob back into plain
// objects and refuses malformed ones with an FdtError naming the offset.

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;
export const FDT_HEADER_SIZE = 40;
/** The spec's limit for a node name's or a property name's length (without the unit address). */
export const FDT_MAX_NAME_LENGTH = 31;

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

export class FdtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FdtError';
  }
}

export interface FdtReservation {
  address: bigint;
  size: bigint;
}

export interface FdtFinishOptions {
  /** boot_cpuid_phys: the physical id (the cpu node's reg) of the boot hart. Default 0. */
  bootCpuId?: number;
  /** Entries of the memory reservation block (the terminating {0, 0} is added). */
  reservations?: readonly FdtReservation[];
}

// Spec table 2.1 (node names) and 2.2 (property names).
const NODE_NAME_CHARS = /^[0-9A-Za-z,._+-]+$/;
const UNIT_ADDRESS_CHARS = /^[0-9A-Za-z,._+-]+$/;
const PROP_NAME_CHARS = /^[0-9A-Za-z,._+?#-]+$/;

/** Why `name` is not a valid non-root node name, or null if it is. */
export function nodeNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty (only the root node has an empty name)';
  const at = name.indexOf('@');
  const base = at < 0 ? name : name.slice(0, at);
  if (base.length === 0) return 'has an empty node-name before "@"';
  if (base.length > FDT_MAX_NAME_LENGTH) return `has a node-name of ${base.length} characters (at most ${FDT_MAX_NAME_LENGTH})`;
  if (!NODE_NAME_CHARS.test(base)) return 'has a character outside [0-9A-Za-z,._+-] in its node-name';
  if (!/^[A-Za-z]/.test(base)) return 'does not start with a letter';
  if (at >= 0) {
    const unit = name.slice(at + 1);
    if (unit.length === 0) return 'has an empty unit address after "@"';
    if (!UNIT_ADDRESS_CHARS.test(unit)) return 'has a character outside [0-9A-Za-z,._+-] in its unit address';
  }
  return null;
}

/** Why `name` is not a valid property name, or null if it is. */
export function propNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > FDT_MAX_NAME_LENGTH) return `has ${name.length} characters (at most ${FDT_MAX_NAME_LENGTH})`;
  if (!PROP_NAME_CHARS.test(name)) return 'has a character outside [0-9A-Za-z,._+?#-]';
  return null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** A growable big-endian byte buffer. */
class ByteSink {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v >>> 0, false);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Zero bytes up to a multiple of `n`. */
  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  contents(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function checkU32(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) {
    throw new FdtError(`${what}: ${v} is not a 32-bit unsigned integer`);
  }
}

function checkU64(what: string, v: bigint): void {
  if (v < 0n || v > U64_MAX) throw new FdtError(`${what}: ${v} is not a 64-bit unsigned integer`);
}

/** Big-endian cells: each value written as `cells` 32-bit cells (1 or 2). */
export function encodeCells(what: string, values: readonly (bigint | number)[], cells: 1 | 2): Uint8Array {
  if (cells !== 1 && cells !== 2) throw new FdtError(`${what}: cells per value must be 1 or 2, not ${String(cells)}`);
  const out = new Uint8Array(values.length * cells * 4);
  const view = new DataView(out.buffer);
  values.forEach((raw, i) => {
    if (typeof raw === 'number' && !Number.isSafeInteger(raw)) {
      throw new FdtError(`${what}: value ${i} (${raw}) is not an integer`);
    }
    const v = BigInt(raw);
    const limit = cells === 1 ? 0xffff_ffffn : U64_MAX;
    if (v < 0n || v > limit) {
      throw new FdtError(`${what}: value ${i} (0x${v.toString(16)}) does not fit in ${cells} cell${cells === 1 ? '' : 's'}`);
    }
    if (cells === 2) {
      view.setUint32(i * 8, Number(v >> 32n), false);
      view.setUint32(i * 8 + 4, Number(v & 0xffff_ffffn), false);
    } else {
      view.setUint32(i * 4, Number(v), false);
    }
  });
  return out;
}

function encodeStrings(what: string, strings: readonly string[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  strings.forEach((s, i) => {
    if (s.includes('\0')) throw new FdtError(`${what}: string ${i} contains a NUL character`);
    const b = encoder.encode(s);
    parts.push(b);
    total += b.length + 1;
  });
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + 1; // the NUL is already zero
  }
  return out;
}

interface OpenNode {
  path: string;
  props: Set<string>;
  children: Set<string>;
  hasChildren: boolean;
}

/**
 * Writes one devicetree as a DTB, top-down:
 *
 *   const t = new FdtBuilder();
 *   t.beginNode('');                       // the root
 *   t.prop('compatible', ['a', 'b']);
 *   t.beginNode('cpus'); ... t.endNode();
 *   t.endNode();
 *   const dtb = t.finish({ bootCpuId: 0 });
 *
 * A node's properties must all come before its first subnode.
 */
export class FdtBuilder {
  private readonly struct = new ByteSink();
  private readonly strings = new ByteSink();
  private readonly stringOffsets = new Map<string, number>();
  private readonly stack: OpenNode[] = [];
  private rootDone = false;
  private finished = false;
  private nextPhandle = 1;
  private readonly usedPhandles = new Set<number>();
  private readonly phandleOwners = new Map<number, string>();

  /** The path of the node being written ('' before the root and after it ends). */
  get currentPath(): string {
    const top = this.stack[this.stack.length - 1];
    return top ? top.path : '';
  }

  get depth(): number {
    return this.stack.length;
  }

  private assertOpen(op: string): void {
    if (this.finished) throw new FdtError(`${op}: the tree is already finished`);
  }

  beginNode(name: string): this {
    this.assertOpen(`beginNode("${name}")`);
    const parent = this.stack[this.stack.length - 1];
    if (!parent) {
      if (this.rootDone) throw new FdtError(`beginNode("${name}"): the root node is already closed; a tree has one root`);
      if (name !== '') throw new FdtError(`beginNode("${name}"): the first node must be the root, named ""`);
      this.stack.push({ path: '/', props: new Set(), children: new Set(), hasChildren: false });
    } else {
      const problem = nodeNameProblem(name);
      if (problem) throw new FdtError(`beginNode("${name}") under ${parent.path}: the name ${problem}`);
      if (parent.children.has(name)) throw new FdtError(`beginNode("${name}"): ${parent.path} already has a node named "${name}"`);
      parent.children.add(name);
      parent.hasChildren = true;
      const path = parent.path === '/' ? `/${name}` : `${parent.path}/${name}`;
      this.stack.push({ path, props: new Set(), children: new Set(), hasChildren: false });
    }
    this.struct.u32(FDT_BEGIN_NODE);
    this.struct.bytes(encoder.encode(name));
    this.struct.bytes(new Uint8Array(1));
    this.struct.align(4);
    return this;
  }

  endNode(): this {
    this.assertOpen('endNode()');
    const node = this.stack.pop();
    if (!node) {
      throw new FdtError(this.rootDone
        ? 'endNode(): no node is open (the root is already closed)'
        : 'endNode(): no node is open (beginNode("") first)');
    }
    if (this.stack.length === 0) this.rootDone = true;
    this.struct.u32(FDT_END_NODE);
    return this;
  }

  /** A property with raw bytes as its value. */
  propBytes(name: string, value: Uint8Array): this {
    this.assertOpen(`property "${name}"`);
    const node = this.stack[this.stack.length - 1];
    if (!node) throw new FdtError(`property "${name}": outside any node (beginNode first)`);
    const problem = propNameProblem(name);
    if (problem) throw new FdtError(`property "${name}" in ${node.path}: the name ${problem}`);
    if (node.hasChildren) throw new FdtError(`property "${name}" in ${node.path}: comes after a subnode; a node's properties must precede its subnodes`);
    if (node.props.has(name)) throw new FdtError(`property "${name}" in ${node.path}: the node already has it`);
    node.props.add(name);
    this.struct.u32(FDT_PROP);
    this.struct.u32(value.length);
    this.struct.u32(this.stringOffset(name));
    this.struct.bytes(value);
    this.struct.align(4);
    return this;
  }

  /** A string (one value) or a string list (`['a', 'b']` is "a\0b\0"). */
  prop(name: string, value: string | readonly string[]): this {
    const list = typeof value === 'string' ? [value] : value;
    if (list.length === 0) throw new FdtError(`property "${name}": an empty string list (use propEmpty for a property without a value)`);
    return this.propBytes(name, encodeStrings(`property "${name}"`, list));
  }

  propEmpty(name: string): this {
    return this.propBytes(name, new Uint8Array(0));
  }

  propU32(name: string, value: number): this {
    checkU32(`property "${name}"`, value);
    return this.propBytes(name, encodeCells(`property "${name}"`, [value], 1));
  }

  propU32s(name: string, values: readonly number[]): this {
    values.forEach((v, i) => checkU32(`property "${name}" value ${i}`, v));
    return this.propBytes(name, encodeCells(`property "${name}"`, values, 1));
  }

  propU64(name: string, value: bigint): this {
    checkU64(`property "${name}"`, value);
    return this.propBytes(name, encodeCells(`property "${name}"`, [value], 2));
  }

  /** Each value as `cellsPerValue` cells: reg = <addr size> with #address-cells = #size-cells = 2 is propCells('reg', [addr, size], 2). */
  propCells(name: string, values: readonly (bigint | number)[], cellsPerValue: 1 | 2): this {
    return this.propBytes(name, encodeCells(`property "${name}"`, values, cellsPerValue));
  }

  /** A fresh phandle number (1, 2, ...), not yet attached to a node. */
  allocPhandle(): number {
    while (this.usedPhandles.has(this.nextPhandle)) this.nextPhandle++;
    if (this.nextPhandle >= U32_MAX) throw new FdtError('allocPhandle(): phandles exhausted');
    const p = this.nextPhandle++;
    this.usedPhandles.add(p);
    return p;
  }

  /** The current node's "phandle" property. Each phandle names one node. */
  propPhandle(phandle: number): this {
    if (!Number.isInteger(phandle) || phandle <= 0 || phandle >= U32_MAX) {
      throw new FdtError(`phandle ${phandle} in ${this.currentPath || '(no node)'}: must be in 1..0xfffffffe`);
    }
    if (this.phandleOwners.has(phandle)) {
      throw new FdtError(`phandle ${phandle} in ${this.currentPath}: already the phandle of ${this.phandleOwners.get(phandle)}`);
    }
    this.propU32('phandle', phandle);
    this.phandleOwners.set(phandle, this.currentPath);
    this.usedPhandles.add(phandle);
    return this;
  }

  /**
   * The name's offset in the strings block. Each name is stored once, and a
   * name that is the tail of one already stored ("phandle" after
   * "linux,phandle") points into it, as dtc does, so the blob is the same
   * as dtc's for the same tree.
   */
  private stringOffset(name: string): number {
    let off = this.stringOffsets.get(name);
    if (off !== undefined) return off;
    const want = encoder.encode(name + '\0');
    const have = this.strings.contents();
    off = -1;
    search: for (let i = 0; i + want.length <= have.length; i++) {
      for (let j = 0; j < want.length; j++) if (have[i + j] !== want[j]) continue search;
      off = i;
      break;
    }
    if (off < 0) {
      off = have.length;
      this.strings.bytes(want);
    }
    this.stringOffsets.set(name, off);
    return off;
  }

  /** Closes the tree and returns the blob. The builder cannot be used afterwards. */
  finish(options: FdtFinishOptions = {}): Uint8Array {
    this.assertOpen('finish()');
    if (this.stack.length > 0) {
      throw new FdtError(`finish(): ${this.stack.length} node${this.stack.length === 1 ? '' : 's'} still open (innermost ${this.currentPath})`);
    }
    if (!this.rootDone) throw new FdtError('finish(): the tree has no root node');
    const bootCpuId = options.bootCpuId ?? 0;
    checkU32('finish(): bootCpuId', bootCpuId);
    const reservations = options.reservations ?? [];
    reservations.forEach((r, i) => {
      checkU64(`finish(): reservation ${i} address`, r.address);
      checkU64(`finish(): reservation ${i} size`, r.size);
      if (r.size === 0n) throw new FdtError(`finish(): reservation ${i} has size 0`);
      if (r.address + r.size - 1n > U64_MAX) throw new FdtError(`finish(): reservation ${i} runs past the end of the 64-bit address space`);
    });
    this.finished = true;

    this.struct.u32(FDT_END);
    const struct = this.struct.contents();
    const strings = this.strings.contents();
    const offRsv = FDT_HEADER_SIZE; // 40: already 8-aligned
    const rsvSize = (reservations.length + 1) * 16;
    const offStruct = offRsv + rsvSize; // 8-aligned, so 4-aligned
    const offStrings = offStruct + struct.length;
    const total = offStrings + strings.length;
    if (total > U32_MAX) throw new FdtError(`finish(): the blob would be ${total} bytes, over 4 GiB`);

    const out = new Uint8Array(total);
    const v = new DataView(out.buffer);
    const header = [FDT_MAGIC, total, offStruct, offStrings, offRsv, FDT_VERSION, FDT_LAST_COMP_VERSION,
      bootCpuId, strings.length, struct.length];
    header.forEach((word, i) => v.setUint32(i * 4, word, false));
    reservations.forEach((r, i) => {
      v.setBigUint64(offRsv + i * 16, r.address, false);
      v.setBigUint64(offRsv + i * 16 + 8, r.size, false);
    });
    out.set(struct, offStruct);
    out.set(strings, offStrings);
    return out;
  }
}

// ---------------------------------------------------------------------------
// Reader

export interface FdtHeader {
  magic: number;
  totalsize: number;
  offDtStruct: number;
  offDtStrings: number;
  offMemRsvmap: number;
  version: number;
  lastCompVersion: number;
  bootCpuidPhys: number;
  sizeDtStrings: number;
  sizeDtStruct: number;
}

export interface FdtNode {
  /** The node's name with its unit address ('' for the root). */
  name: string;
  /** Properties in blob order (a Map keeps insertion order). */
  props: Map<string, Uint8Array>;
  children: FdtNode[];
}

export interface FdtTree {
  header: FdtHeader;
  reservations: FdtReservation[];
  root: FdtNode;
}

/**
 * Decodes a DTB (version 16 or 17, or later versions that stay compatible
 * with 16). Throws FdtError on anything malformed; never reads past the blob
 * and always terminates (every step consumes at least 4 bytes).
 */
export function parseFdt(bytes: Uint8Array): FdtTree {
  const fail = (msg: string): never => { throw new FdtError(`invalid DTB: ${msg}`); };
  if (bytes.length < FDT_HEADER_SIZE) fail(`${bytes.length} bytes is shorter than the ${FDT_HEADER_SIZE}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const word = (i: number): number => view.getUint32(i * 4, false);
  const header: FdtHeader = {
    magic: word(0),
    totalsize: word(1),
    offDtStruct: word(2),
    offDtStrings: word(3),
    offMemRsvmap: word(4),
    version: word(5),
    lastCompVersion: word(6),
    bootCpuidPhys: word(7),
    sizeDtStrings: word(8),
    sizeDtStruct: word(9),
  };
  const hex = (n: number): string => `0x${n.toString(16)}`;
  if (header.magic !== FDT_MAGIC) fail(`bad magic ${hex(header.magic)} (expected 0xd00dfeed)`);
  if (header.version < 16) fail(`version ${header.version} is older than 16, the oldest this reader knows`);
  if (header.lastCompVersion > FDT_VERSION) fail(`last_comp_version ${header.lastCompVersion} is newer than ${FDT_VERSION}`);
  const total = header.totalsize;
  if (total < FDT_HEADER_SIZE) fail(`totalsize ${total} is smaller than the header`);
  if (total > bytes.length) fail(`totalsize ${total} is larger than the ${bytes.length} bytes given`);
  const headerEnd = header.version >= 17 ? 40 : 36;
  if (header.version < 17) {
    // No size_dt_struct before v17: the structure block runs to the strings
    // block if that follows it, else to the end of the blob.
    const off = Math.min(total, header.offDtStruct);
    const end = header.offDtStrings >= off && header.offDtStrings <= total ? header.offDtStrings : total;
    header.sizeDtStruct = (end - off) & ~3;
  }

  const block = (what: string, off: number, size: number, align: number): void => {
    if (off % align !== 0) fail(`${what} offset ${hex(off)} is not ${align}-byte aligned`);
    if (off < headerEnd) fail(`${what} offset ${hex(off)} overlaps the header`);
    if (off > total || size > total - off) fail(`${what} (offset ${hex(off)}, size ${size}) lies outside the ${total}-byte blob`);
  };
  block('memory reservation block', header.offMemRsvmap, 16, 8);
  block('structure block', header.offDtStruct, header.sizeDtStruct, 4);
  block('strings block', header.offDtStrings, header.sizeDtStrings, 1);
  if (header.sizeDtStruct % 4 !== 0) fail(`size_dt_struct ${header.sizeDtStruct} is not a multiple of 4`);
  const overlaps = (a: number, as: number, b: number, bs: number): boolean => as > 0 && bs > 0 && a < b + bs && b < a + as;
  if (overlaps(header.offDtStruct, header.sizeDtStruct, header.offDtStrings, header.sizeDtStrings)) {
    fail('the structure block and the strings block overlap');
  }

  // Memory reservation block: pairs until {0, 0}.
  const reservations: FdtReservation[] = [];
  for (let at = header.offMemRsvmap; ; at += 16) {
    if (at + 16 > total) fail(`memory reservation block at ${hex(header.offMemRsvmap)} has no {0, 0} terminator before the end of the blob`);
    const address = view.getBigUint64(at, false);
    const size = view.getBigUint64(at + 8, false);
    if (address === 0n && size === 0n) {
      if (overlaps(header.offMemRsvmap, at + 16 - header.offMemRsvmap, header.offDtStruct, header.sizeDtStruct)) {
        fail('the memory reservation block overlaps the structure block');
      }
      break;
    }
    reservations.push({ address, size });
  }

  const strBase = header.offDtStrings;
  const strEnd = strBase + header.sizeDtStrings;
  const nameCache = new Map<number, string>();
  const stringAt = (nameoff: number, at: number): string => {
    const cached = nameCache.get(nameoff);
    if (cached !== undefined) return cached;
    if (nameoff >= header.sizeDtStrings) fail(`property at ${hex(at)}: name offset ${nameoff} is outside the ${header.sizeDtStrings}-byte strings block`);
    const start = strBase + nameoff;
    const nul = bytes.indexOf(0, start);
    if (nul < 0 || nul >= strEnd) fail(`property at ${hex(at)}: name at strings offset ${nameoff} is not NUL-terminated inside the strings block`);
    const name = decoder.decode(bytes.subarray(start, nul));
    if (name.length === 0) fail(`property at ${hex(at)}: empty property name`);
    nameCache.set(nameoff, name);
    return name;
  };

  const sBase = header.offDtStruct;
  const sEnd = sBase + header.sizeDtStruct;
  const stack: { node: FdtNode; path: string; hasChildren: boolean; childNames: Set<string> }[] = [];
  let root: FdtNode | null = null;
  let at = sBase;
  for (;;) {
    if (at + 4 > sEnd) fail(`structure block ends at ${hex(sEnd)} without FDT_END`);
    const token = view.getUint32(at, false);
    const tokenAt = at;
    at += 4;
    switch (token) {
      case FDT_NOP:
        break;
      case FDT_BEGIN_NODE: {
        const nul = bytes.indexOf(0, at);
        if (nul < 0 || nul >= sEnd) fail(`node name at ${hex(at)} is not NUL-terminated inside the structure block`);
        const name = decoder.decode(bytes.subarray(at, nul));
        at = (nul + 1 + 3) & ~3;
        if (at > sEnd) fail(`node name at ${hex(tokenAt + 4)}: its padding runs past the structure block`);
        const node: FdtNode = { name, props: new Map(), children: [] };
        const parent = stack[stack.length - 1];
        if (!parent) {
          if (root) fail(`second root node at ${hex(tokenAt)}`);
          if (name !== '') fail(`root node at ${hex(tokenAt)} is named "${name}" (expected "")`);
          root = node;
          stack.push({ node, path: '/', hasChildren: false, childNames: new Set() });
        } else {
          // Looser than the builder: any printable name without '/' is readable.
          if (name.length === 0) fail(`node at ${hex(tokenAt)} under ${parent.path} has an empty name`);
          if (!/^[\x21-\x7e]+$/.test(name) || name.includes('/')) fail(`node at ${hex(tokenAt)} under ${parent.path}: name ${JSON.stringify(name)} has a character that is not printable ASCII or is '/'`);
          if (parent.childNames.has(name)) fail(`node at ${hex(tokenAt)}: ${parent.path} has two nodes named "${name}"`);
          parent.childNames.add(name);
          parent.hasChildren = true;
          parent.node.children.push(node);
          stack.push({ node, path: parent.path === '/' ? `/${name}` : `${parent.path}/${name}`, hasChildren: false, childNames: new Set() });
        }
        break;
      }
      case FDT_END_NODE:
        if (!stack.pop()) fail(`FDT_END_NODE at ${hex(tokenAt)} with no node open`);
        break;
      case FDT_PROP: {
        const top = stack[stack.length - 1];
        if (!top) fail(`FDT_PROP at ${hex(tokenAt)} outside any node`);
        if (at + 8 > sEnd) fail(`FDT_PROP at ${hex(tokenAt)}: its header runs past the structure block`);
        const len = view.getUint32(at, false);
        const nameoff = view.getUint32(at + 4, false);
        at += 8;
        if (len > sEnd - at) fail(`FDT_PROP at ${hex(tokenAt)}: value of ${len} bytes runs past the structure block`);
        const name = stringAt(nameoff, tokenAt);
        const t = top!;
        if (t.hasChildren) fail(`property "${name}" at ${hex(tokenAt)} in ${t.path} comes after a subnode`);
        if (t.node.props.has(name)) fail(`property "${name}" at ${hex(tokenAt)}: ${t.path} has it twice`);
        t.node.props.set(name, bytes.slice(at, at + len));
        at = (at + len + 3) & ~3;
        if (at > sEnd) fail(`FDT_PROP at ${hex(tokenAt)}: its padding runs past the structure block`);
        break;
      }
      case FDT_END:
        if (stack.length > 0) fail(`FDT_END at ${hex(tokenAt)} with ${stack.length} node${stack.length === 1 ? '' : 's'} still open (innermost ${stack[stack.length - 1]!.path})`);
        if (!root) fail(`FDT_END at ${hex(tokenAt)} before any node`);
        return { header, reservations, root: root! };
      default:
        fail(`unknown token ${hex(token)} at ${hex(tokenAt)} (struct offset ${hex(tokenAt - sBase)})`);
    }
  }
}

// ---------------------------------------------------------------------------
// Helpers for reading values

/** The node at an absolute path such as '/soc/serial@10000000', or undefined. */
export function findNode(root: FdtNode, path: string): FdtNode | undefined {
  if (path === '/') return root;
  if (!path.startsWith('/')) return undefined;
  let node: FdtNode | undefined = root;
  for (const part of path.slice(1).split('/')) {
    node = node.children.find((c) => c.name === part);
    if (!node) return undefined;
  }
  return node;
}

/** Every node with its absolute path, parents before children. */
export function walkFdt(root: FdtNode): { path: string; node: FdtNode }[] {
  const out: { path: string; node: FdtNode }[] = [];
  const todo: { path: string; node: FdtNode }[] = [{ path: '/', node: root }];
  while (todo.length > 0) {
    const item = todo.shift()!;
    out.push(item);
    for (const c of item.node.children) {
      todo.push({ path: item.path === '/' ? `/${c.name}` : `${item.path}/${c.name}`, node: c });
    }
  }
  return out;
}

/** The value as a list of NUL-terminated strings (throws if it is not one). */
export function fdtStrings(value: Uint8Array): string[] {
  if (value.length === 0 || value[value.length - 1] !== 0) throw new FdtError('value is not a NUL-terminated string list');
  return decoder.decode(value.subarray(0, value.length - 1)).split('\0');
}

export function fdtString(value: Uint8Array): string {
  const list = fdtStrings(value);
  if (list.length !== 1) throw new FdtError(`value is a list of ${list.length} strings, not one string`);
  return list[0]!;
}

/** The value as big-endian 32-bit cells (throws if its length is not a multiple of 4). */
export function fdtU32s(value: Uint8Array): number[] {
  if (value.length % 4 !== 0) throw new FdtError(`value of ${value.length} bytes is not a whole number of cells`);
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: number[] = [];
  for (let i = 0; i < value.length; i += 4) out.push(v.getUint32(i, false));
  return out;
}

/** The value as numbers of `cells` cells each. */
export function fdtCells(value: Uint8Array, cells: number): bigint[] {
  const words = fdtU32s(value);
  if (cells <= 0 || words.length % cells !== 0) throw new FdtError(`value of ${words.length} cells is not a whole number of ${cells}-cell values`);
  const out: bigint[] = [];
  for (let i = 0; i < words.length; i += cells) {
    let v = 0n;
    for (let j = 0; j < cells; j++) v = (v << 32n) | BigInt(words[i + j]!);
    out.push(v);
  }
  return out;
}

/** A phandle → path map for the tree (nodes with a 'phandle' or legacy 'linux,phandle'). */
export function fdtPhandles(root: FdtNode): Map<number, string> {
  const out = new Map<number, string>();
  for (const { path, node } of walkFdt(root)) {
    const p = node.props.get('phandle') ?? node.props.get('linux,phandle');
    if (p && p.length === 4) out.set(fdtU32s(p)[0]!, path);
  }
  return out;
}

function looksLikeStrings(v: Uint8Array): boolean {
  if (v.length === 0 || v[v.length - 1] !== 0 || v[0] === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === 0) {
      if (i > 0 && v[i - 1] === 0) return false; // empty string in the middle
    } else if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

/**
 * The tree as devicetree source text, the way a human reads it (values
 * guessed from their bytes: strings, cells, or bytes; phandles stay numbers).
 */
export function formatDts(tree: FdtTree): string {
  const lines: string[] = ['/dts-v1/;', ''];
  for (const r of tree.reservations) lines.push(`/memreserve/ 0x${r.address.toString(16)} 0x${r.size.toString(16)};`);
  if (tree.reservations.length > 0) lines.push('');
  const value = (v: Uint8Array): string => {
    if (v.length === 0) return '';
    if (looksLikeStrings(v)) return ' = ' + fdtStrings(v).map((s) => JSON.stringify(s)).join(', ');
    if (v.length % 4 === 0) return ` = <${fdtU32s(v).map((w) => `0x${w.toString(16)}`).join(' ')}>`;
    return ` = [${Array.from(v, (b) => b.toString(16).padStart(2, '0')).join(' ')}]`;
  };
  const emit = (node: FdtNode, indent: string): void => {
    lines.push(`${indent}${node.name === '' ? '/' : node.name} {`);
    for (const [k, v] of node.props) lines.push(`${indent}\t${k}${value(v)};`);
    for (const c of node.children) {
      lines.push('');
      emit(c, indent + '\t');
    }
    lines.push(`${indent}};`);
  };
  emit(tree.root, '');
  return lines.join('\n') + '\n';
}
