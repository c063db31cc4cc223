// Just enough of the WebAssembly binary format (core spec, "Binary Format")
// to write the translations of src/cpu/jit/translate.ts: modules of
// functions of one type, importing the CPU's memory, helpers and (for tail
// calls between translations) its function table. Bytes go
// into a growing buffer; opcodes are named as in the spec's text format.

export enum Op {
  block = 0x02, loop = 0x03, if = 0x04, else = 0x05, end = 0x0b,
  br = 0x0c, br_if = 0x0d, br_table = 0x0e, return = 0x0f, call = 0x10,
  call_indirect = 0x11,
  return_call_indirect = 0x13,
  drop = 0x1a, select = 0x1b,
  local_get = 0x20, local_set = 0x21, local_tee = 0x22,
  i32_load = 0x28, i64_load = 0x29, i32_load8_u = 0x2d,
  i64_load8_s = 0x30, i64_load8_u = 0x31, i64_load16_s = 0x32, i64_load16_u = 0x33,
  i64_load32_s = 0x34, i64_load32_u = 0x35,
  i64_store = 0x37, i32_store8 = 0x3a, i64_store8 = 0x3c, i64_store16 = 0x3d, i64_store32 = 0x3e,
  i32_const = 0x41, i64_const = 0x42,
  i32_eqz = 0x45, i32_eq = 0x46, i32_ne = 0x47, i32_lt_u = 0x49, i32_gt_u = 0x4b, i32_le_u = 0x4d,
  i64_eqz = 0x50, i64_eq = 0x51, i64_ne = 0x52, i64_lt_s = 0x53, i64_lt_u = 0x54,
  i64_gt_s = 0x55, i64_gt_u = 0x56, i64_le_s = 0x57, i64_le_u = 0x58, i64_ge_s = 0x59, i64_ge_u = 0x5a,
  i32_clz = 0x67, i32_ctz = 0x68, i32_popcnt = 0x69, i32_add = 0x6a, i32_sub = 0x6b, i32_mul = 0x6c,
  i32_div_s = 0x6d, i32_div_u = 0x6e, i32_rem_s = 0x6f, i32_rem_u = 0x70,
  i32_and = 0x71, i32_or = 0x72, i32_xor = 0x73, i32_shl = 0x74, i32_shr_s = 0x75, i32_shr_u = 0x76,
  i32_rotl = 0x77, i32_rotr = 0x78,
  i64_clz = 0x79, i64_ctz = 0x7a, i64_popcnt = 0x7b, i64_add = 0x7c, i64_sub = 0x7d, i64_mul = 0x7e,
  i64_div_s = 0x7f, i64_div_u = 0x80, i64_rem_s = 0x81, i64_rem_u = 0x82,
  i64_and = 0x83, i64_or = 0x84, i64_xor = 0x85, i64_shl = 0x86, i64_shr_s = 0x87, i64_shr_u = 0x88,
  i64_rotl = 0x89, i64_rotr = 0x8a,
  i32_wrap_i64 = 0xa7, i64_extend_i32_s = 0xac, i64_extend_i32_u = 0xad,
  i64_extend8_s = 0xc2, i64_extend16_s = 0xc3, i64_extend32_s = 0xc4,
  // Floating point (the translations of F and D, src/cpu/jit/translate.ts).
  f32_load = 0x2a, f64_load = 0x2b, i32_store = 0x36, f32_store = 0x38, f64_store = 0x39,
  f32_eq = 0x5b, f32_lt = 0x5d, f32_le = 0x5f, f32_ge = 0x60, f64_eq = 0x61, f64_lt = 0x63, f64_le = 0x65, f64_ge = 0x66,
  f32_abs = 0x8b, f32_sqrt = 0x91, f32_add = 0x92, f32_sub = 0x93, f32_mul = 0x94, f32_div = 0x95,
  f32_min = 0x96, f32_max = 0x97,
  f64_abs = 0x99, f64_ceil = 0x9b, f64_floor = 0x9c, f64_trunc = 0x9d, f64_nearest = 0x9e, f64_sqrt = 0x9f, f64_add = 0xa0, f64_sub = 0xa1, f64_mul = 0xa2, f64_div = 0xa3,
  f64_min = 0xa4, f64_max = 0xa5,
  f32_convert_i32_s = 0xb2, f32_convert_i32_u = 0xb3, f32_convert_i64_s = 0xb4, f32_convert_i64_u = 0xb5,
  f32_demote_f64 = 0xb6,
  f64_convert_i32_s = 0xb7, f64_convert_i32_u = 0xb8, f64_convert_i64_s = 0xb9, f64_convert_i64_u = 0xba,
  f64_promote_f32 = 0xbb,
  i32_reinterpret_f32 = 0xbc, i64_reinterpret_f64 = 0xbd, f32_reinterpret_i32 = 0xbe, f64_reinterpret_i64 = 0xbf,
}

/** The 0xfc-prefixed saturating truncations used (core spec, "Numeric Instructions"). */
export enum TruncSat { i64_f64_s = 6, i64_f64_u = 7 }

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
const VOID = 0x40;
const FUNC = 0x60;
const FUNCREF = 0x70;

const utf8 = new TextEncoder();

/** A growing byte buffer with LEB128 writers. */
export class Bytes {
  private buf: Uint8Array;
  length = 0;

  /** `capacity`: the bytes expected (it grows past them). */
  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  byte(b: number): this {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = b;
    return this;
  }

  bytes(b: Uint8Array | readonly number[]): this {
    if (this.length + b.length > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + b.length));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
    }
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  u32(v: number): this {
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }

  s32(v: number): this {
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  /** A signed LEB128 of a whole number within +-2^53 (exact as a double):
   *  the translator's addresses and constants, with no BigInt. */
  sInt(v: number): this {
    if (v >= -0x8000_0000 && v < 0x8000_0000) return this.s32(v);
    for (;;) {
      const b = v - Math.floor(v / 128) * 128; // v mod 128, in 0..127
      v = (v - b) / 128;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  s64(v: bigint): this {
    // Most constants (immediates, addresses of a process's code) fit in 32
    // bits, whose LEB128 is the same at either width and needs no BigInt.
    if (v >= -0x8000_0000n && v < 0x8000_0000n) return this.s32(Number(v));
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  name(s: string): this {
    const b = utf8.encode(s);
    return this.u32(b.length).bytes(b);
  }

  /** A section or body: its length, then its bytes. */
  sized(inner: Bytes): this {
    return this.u32(inner.length).bytes(inner.view());
  }

  view(): Uint8Array { return this.buf.subarray(0, this.length); }
}

/** A function body under construction: typed helpers over Bytes. */
export class Code extends Bytes {
  op(o: Op): this { return this.byte(o); }
  get(local: number): this { return this.byte(Op.local_get).u32(local); }
  set(local: number): this { return this.byte(Op.local_set).u32(local); }
  tee(local: number): this { return this.byte(Op.local_tee).u32(local); }
  i32(v: number): this { return this.byte(Op.i32_const).s32(v | 0); }
  /** i64.const: a BigInt (read as 64 bits, two's complement), or a whole
   *  number within +-2^53. */
  i64(v: bigint | number): this {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`i64.const of ${v}: not a whole number within 2^53`);
      return this.byte(Op.i64_const).sInt(v);
    }
    return this.byte(Op.i64_const).s64(BigInt.asIntN(64, v));
  }
  /** f32.const / f64.const: the IEEE bits, little-endian. */
  f32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.byte(0x43).bytes(b);
  }
  f64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    return this.byte(0x44).bytes(b);
  }
  /** A load or store with its alignment hint (log2 bytes) and constant offset. */
  mem(o: Op, alignLog2: number, offset: number): this { return this.byte(o).u32(alignLog2).u32(offset); }
  block(): this { return this.byte(Op.block).byte(VOID); }
  loop(): this { return this.byte(Op.loop).byte(VOID); }
  if(): this { return this.byte(Op.if).byte(VOID); }
  end(): this { return this.byte(Op.end); }
  br(depth: number): this { return this.byte(Op.br).u32(depth); }
  brTable(depths: readonly number[], otherwise: number): this {
    this.byte(Op.br_table).u32(depths.length);
    for (const d of depths) this.u32(d);
    return this.u32(otherwise);
  }
  call(fn: number): this { return this.byte(Op.call).u32(fn); }
  /** A call through table `table` to a function of type `type` (the index
   *  on the stack). */
  callIndirect(type: number, table: number): this { return this.byte(Op.call_indirect).u32(type).u32(table); }
  /** A tail call through table `table` to a function of type `type` (the
   *  index on the stack): the caller's frame is gone before the callee runs. */
  returnCallIndirect(type: number, table: number): this { return this.byte(Op.return_call_indirect).u32(type).u32(table); }
  /** A saturating float-to-integer truncation (the 0xfc prefix; never traps). */
  truncSat(which: TruncSat): this { return this.byte(0xfc).u32(which); }
}

export interface FunctionImport { module: string; name: string; params: number[]; results: number[] }

/** A function's entry in the code section (without its size): its locals,
 *  then `code` and the final `end`. */
export function functionBody(locals: readonly { count: number; type: number }[], code: Code): Uint8Array {
  const fn = new Bytes(code.length + 2 * locals.length + 2);
  fn.u32(locals.length);
  for (const l of locals) fn.u32(l.count).byte(l.type);
  return fn.bytes(code.view()).byte(Op.end).view();
}

/**
 * A module that imports `memory`, `functions` and optionally `table`, and
 * exports functions of type (params) -> (results), one per entry of
 * `bodies` (functionBody), the i-th as `${i}`. Each import has a type of its
 * own, then come `types` (for calls through the table), then that type:
 * its index is `functions.length + types.length`.
 */
export function moduleBytes(spec: {
  memory: { module: string; name: string };
  /** A table of funcref imported as table 0 (of at least 0 entries). */
  table?: { module: string; name: string };
  functions: readonly FunctionImport[];
  types?: readonly { params: readonly number[]; results: readonly number[] }[];
  params: number[]; results: number[];
  bodies: readonly Uint8Array[];
}): Uint8Array<ArrayBuffer> {
  const n = spec.bodies.length;
  const out = new Bytes(spec.bodies.reduce((s, b) => s + b.length + 5, 64 + 32 * spec.functions.length + 8 * n));
  out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  // Types: one per imported function, then `types`, then the exported function's.
  const types = new Bytes(16 * (spec.functions.length + (spec.types?.length ?? 0)) + 16);
  const sigs = [...spec.functions.map((f) => [f.params, f.results]), ...(spec.types ?? []).map((t) => [t.params, t.results]), [spec.params, spec.results]];
  types.u32(sigs.length);
  for (const [params, results] of sigs) {
    types.byte(FUNC).u32(params.length).bytes(params).u32(results.length).bytes(results);
  }
  out.byte(1).sized(types);

  const imports = new Bytes(24 * spec.functions.length + 24);
  imports.u32(spec.functions.length + 1 + (spec.table ? 1 : 0));
  spec.functions.forEach((f, i) => { imports.name(f.module).name(f.name).byte(0x00).u32(i); });
  imports.name(spec.memory.module).name(spec.memory.name).byte(0x02).byte(0x00).u32(0);
  if (spec.table) imports.name(spec.table.module).name(spec.table.name).byte(0x01).byte(FUNCREF).byte(0x00).u32(0);
  out.byte(2).sized(imports);

  const type = spec.functions.length + (spec.types?.length ?? 0);
  const funcs = new Bytes(8 + 2 * n);
  funcs.u32(n);
  for (let i = 0; i < n; i++) funcs.u32(type);
  out.byte(3).sized(funcs);

  const exports = new Bytes(8 + 8 * n);
  exports.u32(n);
  for (let i = 0; i < n; i++) exports.name(String(i)).byte(0x00).u32(spec.functions.length + i);
  out.byte(7).sized(exports);

  const code = new Bytes(spec.bodies.reduce((s, b) => s + b.length + 5, 8));
  code.u32(n);
  for (const body of spec.bodies) code.u32(body.length).bytes(body);
  out.byte(10).sized(code);
  const result = new Uint8Array(out.length);
  result.set(out.view());
  return result;
}
