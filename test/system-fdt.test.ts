// The flattened devicetree writer and reader (src/system/fdt.ts) and the virt
// machine's tree (src/system/device-tree.ts): blobs round-trip through
// parseFdt, the header and layout follow the DTB format, malformed blobs are
// refused with precise errors, dtc reads our tree without a warning and
// re-serializes it byte for byte, and the nodes we model agree with QEMU 7.2's
// own virt tree (a recorded one always; a live `dumpdtb` when QEMU is here),
// and, with OpenSBI's edits, the tree a kernel is handed under QEMU with
// OpenSBI 1.1 (recorded, and read back live by scripts/qemu-opensbi-dtb.sh),
// at the address QEMU puts it (src/system/boot-layout.ts).
import { describe, expect, it } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FdtBuilder, FdtError, parseFdt, findNode, walkFdt, fdtStrings, fdtString, fdtU32s, fdtCells, fdtPhandles, formatDts,
  FDT_MAGIC, FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END,
  type FdtNode, type FdtTree,
} from '../src/system/fdt.js';
import {
  virtDeviceTree, qemuVirtConfig, qemuVirtioSlots, plicContext, DeviceTreeConfigError, QEMU_VIRT, withOpenSbiEdits, IRQ_NONE,
  type VirtMachineConfig,
} from '../src/system/device-tree.js';
import { bootLayout, BootLayoutError } from '../src/system/boot-layout.js';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`./fixtures/fdt/${name}`, import.meta.url)));

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}
const DTC = which('dtc');
const QEMU = which('qemu-system-riscv64');
const dtcMissing = 'dtc is not installed (apt-get install -y device-tree-compiler)';
const qemuMissing = 'qemu-system-riscv64 is not installed (apt-get install -y qemu-system-misc)';

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ringvisor-fdt-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function dtc(args: string[], input?: Uint8Array): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(DTC!, args, { input, maxBuffer: 16 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const be32 = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, false);
const cstr = (b: Uint8Array, off: number): string => {
  let end = off;
  while (b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(off, end));
};

function config(over: Partial<VirtMachineConfig> = {}): VirtMachineConfig {
  return { ...qemuVirtConfig(), harts: 2, ramSize: 256n << 20n, bootargs: 'console=ttyS0 earlycon=sbi', ...over };
}

function fdtFail(bytes: Uint8Array): string {
  try {
    parseFdt(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(FdtError);
    return (e as Error).message;
  }
  throw new Error('parseFdt accepted a malformed blob');
}

/** A hand-assembled blob: header words from the parts, overridable. */
interface RawParts {
  struct: Uint8Array;
  strings?: Uint8Array;
  rsv?: bigint[]; // address,size pairs; the terminator is added
  header?: Partial<Record<'magic' | 'totalsize' | 'offStruct' | 'offStrings' | 'offRsv' | 'version' | 'lastComp' | 'boot' | 'sizeStrings' | 'sizeStruct', number>>;
}
function rawBlob(p: RawParts): Uint8Array {
  const rsv = [...(p.rsv ?? []), 0n, 0n];
  const strings = p.strings ?? new Uint8Array(0);
  const offRsv = 40;
  const offStruct = offRsv + rsv.length * 8;
  const offStrings = offStruct + p.struct.length;
  const total = offStrings + strings.length;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const h = {
    magic: FDT_MAGIC, totalsize: total, offStruct, offStrings, offRsv, version: 17, lastComp: 16, boot: 0,
    sizeStrings: strings.length, sizeStruct: p.struct.length, ...p.header,
  };
  [h.magic, h.totalsize, h.offStruct, h.offStrings, h.offRsv, h.version, h.lastComp, h.boot, h.sizeStrings, h.sizeStruct]
    .forEach((w, i) => v.setUint32(i * 4, w >>> 0, false));
  rsv.forEach((x, i) => v.setBigUint64(offRsv + i * 8, x, false));
  out.set(p.struct, offStruct);
  out.set(strings, offStrings);
  return out;
}
/** Structure-block bytes: numbers are u32 tokens/words, strings are NUL-terminated names padded to 4 (a '!' prefix: unpadded, '~': no NUL). */
function st(...parts: (number | string)[]): Uint8Array {
  const bytes: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') {
      bytes.push((p >>> 24) & 255, (p >>> 16) & 255, (p >>> 8) & 255, p & 255);
    } else if (p.startsWith('~')) {
      for (const c of p.slice(1)) bytes.push(c.charCodeAt(0));
    } else {
      const pad = !p.startsWith('!');
      for (const c of pad ? p : p.slice(1)) bytes.push(c.charCodeAt(0));
      bytes.push(0);
      while (pad && bytes.length % 4 !== 0) bytes.push(0);
    }
  }
  return new Uint8Array(bytes);
}
const strs = (...names: string[]): Uint8Array => new TextEncoder().encode(names.map((n) => n + '\0').join(''));

describe('FdtBuilder: the blob', () => {
  function sample(): Uint8Array {
    const t = new FdtBuilder();
    t.beginNode('');
    t.propU32('#address-cells', 2);
    t.prop('compatible', ['acme,a', 'acme,b']);
    t.beginNode('node@1000');
    t.propCells('reg', [0x1000n, 0x100n], 2);
    t.propEmpty('interrupt-controller');
    t.endNode();
    t.endNode();
    return t.finish({ bootCpuId: 3, reservations: [{ address: 0x8000_0000n, size: 0x20_0000n }] });
  }

  it('has a v17 header whose offsets and sizes describe the blob', () => {
    const b = sample();
    const h = parseFdt(b).header;
    expect(be32(b, 0)).toBe(0xd00dfeed);
    expect(h).toEqual({
      magic: 0xd00dfeed,
      totalsize: b.length,
      offMemRsvmap: 40,
      offDtStruct: 40 + 2 * 16,
      offDtStrings: 40 + 2 * 16 + h.sizeDtStruct,
      version: 17,
      lastCompVersion: 16,
      bootCpuidPhys: 3,
      sizeDtStrings: h.sizeDtStrings,
      sizeDtStruct: h.sizeDtStruct,
    });
    expect(h.offMemRsvmap % 8).toBe(0);
    expect(h.offDtStruct % 4).toBe(0);
    expect(h.sizeDtStruct % 4).toBe(0);
    expect(h.offDtStrings + h.sizeDtStrings).toBe(b.length);
    expect(new TextDecoder().decode(b.subarray(h.offDtStrings))).toBe('#address-cells\0compatible\0reg\0interrupt-controller\0');
    expect(parseFdt(b).reservations).toEqual([{ address: 0x8000_0000n, size: 0x20_0000n }]);
    // The reservation block: one entry, then the {0, 0} terminator.
    const v = new DataView(b.buffer);
    expect([v.getBigUint64(40), v.getBigUint64(48), v.getBigUint64(56), v.getBigUint64(64)]).toEqual([0x8000_0000n, 0x20_0000n, 0n, 0n]);
  });

  it('writes every token on a 4-byte boundary, the root first and FDT_END last', () => {
    const b = sample();
    const { offDtStruct: s, sizeDtStruct: n, offDtStrings: strOff } = parseFdt(b).header;
    const seen: string[] = [];
    let at = s;
    while (at < s + n) {
      expect(at % 4).toBe(0);
      const tok = be32(b, at);
      at += 4;
      if (tok === FDT_BEGIN_NODE) {
        const name = cstr(b, at);
        seen.push(`begin(${name})`);
        at += (name.length + 1 + 3) & ~3;
      } else if (tok === FDT_PROP) {
        const len = be32(b, at);
        seen.push(`prop(${cstr(b, strOff + be32(b, at + 4))},${len})`);
        at += 8 + ((len + 3) & ~3);
      } else if (tok === FDT_END_NODE) {
        seen.push('end');
      } else {
        expect(tok).toBe(FDT_END);
        seen.push('END');
      }
    }
    expect(at).toBe(s + n);
    expect(seen).toEqual([
      'begin()', 'prop(#address-cells,4)', 'prop(compatible,14)',
      'begin(node@1000)', 'prop(reg,16)', 'prop(interrupt-controller,0)', 'end', 'end', 'END',
    ]);
  });

  it('round-trips every kind of value through parseFdt', () => {
    const t = new FdtBuilder();
    const ph = t.allocPhandle();
    t.beginNode('');
    t.prop('model', 'one string');
    t.prop('compatible', ['a', 'b', 'c']);
    t.propU32('u32', 0xdeadbeef);
    t.propU32s('u32s', [1, 2, 0xffffffff]);
    t.propU64('u64', 0x1234_5678_9abc_def0n);
    t.propCells('reg1', [1n, 0xffff_ffffn], 1);
    t.propCells('reg2', [0x1_0000_0000n, 5], 2);
    t.propEmpty('flag');
    t.propBytes('bytes', new Uint8Array([1, 2, 3, 4, 5]));
    t.beginNode('a@1');
    t.propPhandle(ph);
    t.beginNode('deep');
    t.propU32('ref', ph);
    t.endNode();
    t.endNode();
    t.beginNode('b');
    t.endNode();
    t.endNode();
    const tree = parseFdt(t.finish());
    const root = tree.root;
    expect(root.name).toBe('');
    expect([...root.props.keys()]).toEqual(['model', 'compatible', 'u32', 'u32s', 'u64', 'reg1', 'reg2', 'flag', 'bytes']);
    expect(fdtString(root.props.get('model')!)).toBe('one string');
    expect(fdtStrings(root.props.get('compatible')!)).toEqual(['a', 'b', 'c']);
    expect(fdtU32s(root.props.get('u32')!)).toEqual([0xdeadbeef]);
    expect(fdtU32s(root.props.get('u32s')!)).toEqual([1, 2, 0xffffffff]);
    expect(fdtCells(root.props.get('u64')!, 2)).toEqual([0x1234_5678_9abc_def0n]);
    expect(fdtCells(root.props.get('reg1')!, 1)).toEqual([1n, 0xffff_ffffn]);
    expect(fdtCells(root.props.get('reg2')!, 2)).toEqual([0x1_0000_0000n, 5n]);
    expect(root.props.get('flag')!.length).toBe(0);
    expect([...root.props.get('bytes')!]).toEqual([1, 2, 3, 4, 5]);
    expect(walkFdt(root).map((n) => n.path)).toEqual(['/', '/a@1', '/b', '/a@1/deep']);
    expect(fdtPhandles(root)).toEqual(new Map([[1, '/a@1']]));
    expect(fdtU32s(findNode(root, '/a@1/deep')!.props.get('ref')!)).toEqual([1]);
    expect(findNode(root, '/nope')).toBeUndefined();
    expect(tree.reservations).toEqual([]);
    expect(tree.header.bootCpuidPhys).toBe(0);
  });

  it('stores each property name once, and a name that ends another inside it', () => {
    const t = new FdtBuilder();
    t.beginNode('');
    t.propU32('linux,phandle', 1);
    t.propU32('phandle', 1);
    for (let i = 0; i < 20; i++) {
      t.beginNode(`n@${i}`);
      t.propU32('reg', i);
      t.prop('status', 'okay');
      t.endNode();
    }
    t.endNode();
    const b = t.finish();
    const h = parseFdt(b).header;
    const block = new TextDecoder().decode(b.subarray(h.offDtStrings, h.offDtStrings + h.sizeDtStrings));
    expect(block).toBe('linux,phandle\0reg\0status\0');
    // 'phandle' points at the tail of 'linux,phandle'.
    const tree = parseFdt(b);
    expect([...tree.root.props.keys()]).toEqual(['linux,phandle', 'phandle']);
    expect(tree.root.children.every((c) => c.props.has('reg') && c.props.has('status'))).toBe(true);
  });

  it('encodes cells big-endian and refuses values that do not fit', () => {
    const t = new FdtBuilder();
    t.beginNode('');
    t.propCells('r', [0x0102_0304_0506_0708n], 2);
    expect(() => t.propCells('x', [0x1_0000_0000n], 1)).toThrow('property "x": value 0 (0x100000000) does not fit in 1 cell');
    expect(() => t.propCells('x', [1n << 64n], 2)).toThrow('property "x": value 0 (0x10000000000000000) does not fit in 2 cells');
    expect(() => t.propCells('x', [-1n], 2)).toThrow('does not fit in 2 cells');
    expect(() => t.propCells('x', [1.5], 1)).toThrow('property "x": value 0 (1.5) is not an integer');
    expect(() => t.propCells('x', [1n], 3 as 1)).toThrow('property "x": cells per value must be 1 or 2, not 3');
    expect(() => t.propU32('x', 2 ** 32)).toThrow('property "x": 4294967296 is not a 32-bit unsigned integer');
    expect(() => t.propU32s('x', [1, -1])).toThrow('property "x" value 1: -1 is not a 32-bit unsigned integer');
    expect(() => t.propU64('x', 1n << 64n)).toThrow('is not a 64-bit unsigned integer');
    t.endNode();
    const r = parseFdt(t.finish()).root.props.get('r')!;
    expect([...r]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('FdtBuilder: refusals', () => {
  const open = (): FdtBuilder => new FdtBuilder().beginNode('');

  it('refuses properties outside a node and unbalanced nodes', () => {
    expect(() => new FdtBuilder().propU32('x', 1)).toThrow('property "x": outside any node (beginNode first)');
    expect(() => new FdtBuilder().endNode()).toThrow('endNode(): no node is open (beginNode("") first)');
    expect(() => new FdtBuilder().finish()).toThrow('finish(): the tree has no root node');
    expect(() => open().beginNode('a').finish()).toThrow('finish(): 2 nodes still open (innermost /a)');
    expect(() => open().finish()).toThrow('finish(): 1 node still open (innermost /)');
    const closed = open().endNode();
    expect(() => closed.endNode()).toThrow('endNode(): no node is open (the root is already closed)');
    expect(() => closed.beginNode('')).toThrow('beginNode(""): the root node is already closed; a tree has one root');
    expect(() => closed.propU32('x', 1)).toThrow('property "x": outside any node');
    expect(() => new FdtBuilder().beginNode('cpus')).toThrow('beginNode("cpus"): the first node must be the root, named ""');
  });

  it('refuses bad node names', () => {
    expect(() => open().beginNode('')).toThrow('beginNode("") under /: the name is empty (only the root node has an empty name)');
    expect(() => open().beginNode('a/b')).toThrow('beginNode("a/b") under /: the name has a character outside [0-9A-Za-z,._+-] in its node-name');
    expect(() => open().beginNode('a'.repeat(32))).toThrow('has a node-name of 32 characters (at most 31)');
    expect(() => open().beginNode('@10')).toThrow('has an empty node-name before "@"');
    expect(() => open().beginNode('uart@')).toThrow('has an empty unit address after "@"');
    expect(() => open().beginNode('uart@1@2')).toThrow('has a character outside [0-9A-Za-z,._+-] in its unit address');
    expect(() => open().beginNode('1uart')).toThrow('does not start with a letter');
    expect(() => open().beginNode('ab cd')).toThrow('in its node-name');
    expect(() => open().beginNode('soc').beginNode('x').endNode().beginNode('x')).toThrow('beginNode("x"): /soc already has a node named "x"');
    // Allowed: the spec's whole character set, and a 31-character name with a long unit address.
    expect(() => open().beginNode('A,b._+-z@1,2.f_').beginNode('c'.repeat(31) + '@ffffffffffffffff')).not.toThrow();
  });

  it('refuses bad property names, duplicates and properties after a subnode', () => {
    expect(() => open().propEmpty('')).toThrow('property "" in /: the name is empty');
    expect(() => open().propEmpty('a b')).toThrow('property "a b" in /: the name has a character outside [0-9A-Za-z,._+?#-]');
    expect(() => open().propEmpty('p'.repeat(32))).toThrow('has 32 characters (at most 31)');
    expect(() => open().propEmpty('x').propU32('x', 1)).toThrow('property "x" in /: the node already has it');
    expect(() => open().beginNode('a').endNode().propEmpty('late')).toThrow('property "late" in /: comes after a subnode; a node\'s properties must precede its subnodes');
    expect(() => open().prop('s', 'a\0b')).toThrow('property "s": string 0 contains a NUL character');
    expect(() => open().prop('s', [])).toThrow('property "s": an empty string list (use propEmpty for a property without a value)');
    expect(() => open().propEmpty('#size-cells?,._+-')).not.toThrow();
  });

  it('hands out phandles once and refuses reusing one', () => {
    const t = open();
    const a = t.allocPhandle();
    const b = t.allocPhandle();
    expect([a, b]).toEqual([1, 2]);
    t.beginNode('x').propPhandle(a);
    expect(() => t.propPhandle(b)).toThrow('property "phandle" in /x: the node already has it');
    t.endNode();
    expect(() => t.beginNode('y').propPhandle(a)).toThrow('phandle 1 in /y: already the phandle of /x');
    expect(() => t.propPhandle(0)).toThrow('phandle 0 in /y: must be in 1..0xfffffffe');
    expect(() => t.propPhandle(0xffffffff)).toThrow('must be in 1..0xfffffffe');
    t.propPhandle(5);
    t.endNode();
    expect([t.allocPhandle(), t.allocPhandle(), t.allocPhandle()]).toEqual([3, 4, 6]);
  });

  it('refuses bad reservations and any use after finish', () => {
    const done = (): FdtBuilder => open().endNode();
    expect(() => done().finish({ reservations: [{ address: 0x1000n, size: 0n }] })).toThrow('finish(): reservation 0 has size 0');
    expect(() => done().finish({ reservations: [{ address: 1n, size: 1n }, { address: -1n, size: 1n }] })).toThrow('finish(): reservation 1 address: -1 is not a 64-bit unsigned integer');
    expect(() => done().finish({ reservations: [{ address: (1n << 64n) - 1n, size: 2n }] })).toThrow('finish(): reservation 0 runs past the end of the 64-bit address space');
    expect(() => done().finish({ bootCpuId: -1 })).toThrow('finish(): bootCpuId: -1 is not a 32-bit unsigned integer');
    const t = done();
    t.finish();
    expect(() => t.finish()).toThrow('finish(): the tree is already finished');
    expect(() => t.beginNode('')).toThrow('beginNode(""): the tree is already finished');
  });
});

describe('parseFdt: malformed blobs', () => {
  const okStruct = st(FDT_BEGIN_NODE, '', FDT_PROP, 4, 0, 7, FDT_END_NODE, FDT_END);
  const ok = (): Uint8Array => rawBlob({ struct: okStruct, strings: strs('reg') });

  it('accepts the hand-assembled baseline, with NOPs anywhere', () => {
    expect(fdtU32s(parseFdt(ok()).root.props.get('reg')!)).toEqual([7]);
    const nops = st(FDT_NOP, FDT_BEGIN_NODE, '', FDT_NOP, FDT_PROP, 4, 0, 7, FDT_NOP, FDT_BEGIN_NODE, 'a', FDT_NOP, FDT_END_NODE, FDT_NOP, FDT_END_NODE, FDT_NOP, FDT_END);
    const t = parseFdt(rawBlob({ struct: nops, strings: strs('reg') }));
    expect(t.root.children.map((c) => c.name)).toEqual(['a']);
  });

  it('refuses a bad header', () => {
    expect(fdtFail(new Uint8Array(10))).toBe('invalid DTB: 10 bytes is shorter than the 40-byte header');
    expect(fdtFail(rawBlob({ struct: okStruct, header: { magic: 0xedfe0dd0 } }))).toBe('invalid DTB: bad magic 0xedfe0dd0 (expected 0xd00dfeed)');
    expect(fdtFail(rawBlob({ struct: okStruct, header: { version: 15 } }))).toBe('invalid DTB: version 15 is older than 16, the oldest this reader knows');
    expect(fdtFail(rawBlob({ struct: okStruct, header: { lastComp: 18 } }))).toBe('invalid DTB: last_comp_version 18 is newer than 17');
    const b = ok();
    expect(fdtFail(b.subarray(0, b.length - 1))).toBe(`invalid DTB: totalsize ${b.length} is larger than the ${b.length - 1} bytes given`);
    expect(fdtFail(rawBlob({ struct: okStruct, header: { totalsize: 12 } }))).toBe('invalid DTB: totalsize 12 is smaller than the header');
  });

  it('refuses blocks that are misaligned, overlap the header or lie outside the blob', () => {
    expect(fdtFail(rawBlob({ struct: okStruct, header: { offStruct: 58 } }))).toBe('invalid DTB: structure block offset 0x3a is not 4-byte aligned');
    expect(fdtFail(rawBlob({ struct: okStruct, header: { offRsv: 44 } }))).toBe('invalid DTB: memory reservation block offset 0x2c is not 8-byte aligned');
    expect(fdtFail(rawBlob({ struct: okStruct, header: { offRsv: 16 } }))).toBe('invalid DTB: memory reservation block offset 0x10 overlaps the header');
    expect(fdtFail(rawBlob({ struct: okStruct, header: { offStruct: 0x1000 } }))).toMatch(/^invalid DTB: structure block \(offset 0x1000, size \d+\) lies outside the \d+-byte blob$/);
    expect(fdtFail(rawBlob({ struct: okStruct, header: { sizeStruct: 0x10000 } }))).toMatch(/^invalid DTB: structure block \(offset 0x38, size 65536\) lies outside/);
    expect(fdtFail(rawBlob({ struct: okStruct, strings: strs('reg'), header: { sizeStrings: 0xffffffff } }))).toMatch(/^invalid DTB: strings block \(offset 0x[0-9a-f]+, size 4294967295\) lies outside/);
    expect(fdtFail(rawBlob({ struct: okStruct, header: { sizeStruct: okStruct.length - 2 } }))).toBe(`invalid DTB: size_dt_struct ${okStruct.length - 2} is not a multiple of 4`);
    expect(fdtFail(rawBlob({ struct: okStruct, strings: strs('reg'), header: { offStrings: 56 } }))).toBe('invalid DTB: the structure block and the strings block overlap');
  });

  it('refuses a memory reservation block without its terminator', () => {
    // Point the reservation block at the structure block: no {0, 0} pair before the end.
    expect(fdtFail(rawBlob({ struct: okStruct, strings: strs('reg'), header: { offRsv: 56 } })))
      .toBe('invalid DTB: memory reservation block at 0x38 has no {0, 0} terminator before the end of the blob');
    // A terminator found only inside the structure block.
    expect(fdtFail(rawBlob({ struct: okStruct, strings: strs('reg'), header: { offStruct: 48 } })))
      .toBe('invalid DTB: the memory reservation block overlaps the structure block');
    expect(parseFdt(rawBlob({ struct: okStruct, strings: strs('reg'), rsv: [0x8000_0000n, 0x1000n, 0n, 0x10n] })).reservations)
      .toEqual([{ address: 0x8000_0000n, size: 0x1000n }, { address: 0n, size: 0x10n }]);
  });

  it('refuses unterminated names and out-of-range property values', () => {
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '~abcd') }))).toBe('invalid DTB: node name at 0x3c is not NUL-terminated inside the structure block');
    // 'reg' with no NUL at the end of the strings block (and of the blob).
    expect(fdtFail(rawBlob({ struct: okStruct, strings: new TextEncoder().encode('reg') })))
      .toBe('invalid DTB: property at 0x40: name at strings offset 0 is not NUL-terminated inside the strings block');
    // A NUL after the strings block does not count.
    const b = rawBlob({ struct: okStruct, strings: strs('reg') });
    const h = new DataView(b.buffer);
    h.setUint32(32, 3, false); // size_dt_strings = 3: the NUL is outside
    expect(fdtFail(b)).toBe('invalid DTB: property at 0x40: name at strings offset 0 is not NUL-terminated inside the strings block');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_PROP, 4, 100, 7, FDT_END_NODE, FDT_END), strings: strs('reg') })))
      .toBe('invalid DTB: property at 0x40: name offset 100 is outside the 4-byte strings block');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_PROP, 1000, 0, 7, FDT_END_NODE, FDT_END), strings: strs('reg') })))
      .toBe('invalid DTB: FDT_PROP at 0x40: value of 1000 bytes runs past the structure block');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_PROP, 4), strings: strs('reg') })))
      .toBe('invalid DTB: FDT_PROP at 0x40: its header runs past the structure block');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_PROP, 4, 0, 7, FDT_END_NODE, FDT_END), strings: strs('') })))
      .toBe('invalid DTB: property at 0x40: empty property name');
  });

  it('refuses bad tokens, misaligned tokens and a missing FDT_END', () => {
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', 5, FDT_END_NODE, FDT_END) })))
      .toBe('invalid DTB: unknown token 0x5 at 0x40 (struct offset 0x8)');
    // A writer that forgot the padding after a node name: the next token is read from the wrong place.
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_BEGIN_NODE, '!a', FDT_END_NODE, FDT_END_NODE, FDT_END, '~\0\0') })))
      .toBe('invalid DTB: unknown token 0x20000 at 0x48 (struct offset 0x10)');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_END_NODE) }))).toBe('invalid DTB: structure block ends at 0x44 without FDT_END');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_BEGIN_NODE, 'a', FDT_END) })))
      .toBe('invalid DTB: FDT_END at 0x48 with 2 nodes still open (innermost /a)');
    expect(fdtFail(rawBlob({ struct: st(FDT_END) }))).toBe('invalid DTB: FDT_END at 0x38 before any node');
    expect(fdtFail(rawBlob({ struct: new Uint8Array(0) }))).toBe('invalid DTB: structure block ends at 0x38 without FDT_END');
  });

  it('refuses a broken node structure', () => {
    expect(fdtFail(rawBlob({ struct: st(FDT_END_NODE, FDT_END) }))).toBe('invalid DTB: FDT_END_NODE at 0x38 with no node open');
    expect(fdtFail(rawBlob({ struct: st(FDT_PROP, 0, 0, FDT_END), strings: strs('x') }))).toBe('invalid DTB: FDT_PROP at 0x38 outside any node');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_END_NODE, FDT_BEGIN_NODE, '', FDT_END_NODE, FDT_END) })))
      .toBe('invalid DTB: second root node at 0x44');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, 'x', FDT_END_NODE, FDT_END) }))).toBe('invalid DTB: root node at 0x38 is named "x" (expected "")');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_BEGIN_NODE, '', FDT_END_NODE, FDT_END_NODE, FDT_END) })))
      .toBe('invalid DTB: node at 0x40 under / has an empty name');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_BEGIN_NODE, 'a/b', FDT_END_NODE, FDT_END_NODE, FDT_END) })))
      .toBe('invalid DTB: node at 0x40 under /: name "a/b" has a character that is not printable ASCII or is \'/\'');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_BEGIN_NODE, 'a', FDT_END_NODE, FDT_BEGIN_NODE, 'a', FDT_END_NODE, FDT_END_NODE, FDT_END) })))
      .toBe('invalid DTB: node at 0x4c: / has two nodes named "a"');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_PROP, 0, 0, FDT_PROP, 0, 0, FDT_END_NODE, FDT_END), strings: strs('x') })))
      .toBe('invalid DTB: property "x" at 0x4c: / has it twice');
    expect(fdtFail(rawBlob({ struct: st(FDT_BEGIN_NODE, '', FDT_BEGIN_NODE, 'a', FDT_END_NODE, FDT_PROP, 0, 0, FDT_END_NODE, FDT_END), strings: strs('x') })))
      .toBe('invalid DTB: property "x" at 0x4c in / comes after a subnode');
  });

  it('reads a version-16 blob (no size_dt_struct)', () => {
    const b = virtDeviceTree(config());
    const v16 = b.slice();
    const v = new DataView(v16.buffer);
    v.setUint32(20, 16, false);
    v.setUint32(36, 0xdeadbeef, false); // not a field in v16
    const a = parseFdt(b), c = parseFdt(v16);
    expect(c.header.version).toBe(16);
    expect(c.header.sizeDtStruct).toBe(a.header.sizeDtStruct);
    expect(formatDts(c)).toBe(formatDts(a));
  });

  it('never crashes or loops on truncated or corrupted blobs: FdtError or a tree', () => {
    const good = virtDeviceTree(config({ harts: 1, virtio: qemuVirtioSlots(2), initrd: { start: 0x8800_0000n, end: 0x8810_0000n } }));
    // Truncation at every length, with totalsize patched to match (so the walk itself meets the end).
    for (let n = 0; n < good.length; n++) {
      const cut = good.slice(0, n);
      if (n >= 8) new DataView(cut.buffer).setUint32(4, n, false);
      expect(() => parseFdt(cut)).toThrow(FdtError);
    }
    // Random byte corruption, from a fixed seed.
    let seed = 0x2545f491;
    const rand = (): number => {
      seed ^= seed << 13; seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5; seed >>>= 0;
      return seed;
    };
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const b = good.slice();
      const flips = 1 + (rand() % 4);
      for (let k = 0; k < flips; k++) b[rand() % b.length] = rand() & 0xff;
      try {
        parseFdt(b);
      } catch (e) {
        if (!(e instanceof FdtError)) throw e;
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------------------
// The virt tree

const str = (n: FdtNode, p: string): string => fdtString(n.props.get(p)!);
const u32s = (n: FdtNode, p: string): number[] => fdtU32s(n.props.get(p)!);
const node = (t: FdtTree, path: string): FdtNode => {
  const n = findNode(t.root, path);
  if (!n) throw new Error(`no node ${path}`);
  return n;
};

describe('virtDeviceTree', () => {
  it('describes the harts, RAM, PLIC, UART, virtio and RTC at QEMU\'s addresses', () => {
    const tree = parseFdt(virtDeviceTree(config({ initrd: { start: 0x8800_0000n, end: 0x8812_3400n } })));
    const ph = fdtPhandles(tree.root);
    const at = (n: FdtNode, p: string): string => ph.get(u32s(n, p)[0]!)!;
    const root = tree.root;
    expect(u32s(root, '#address-cells')).toEqual([2]);
    expect(u32s(root, '#size-cells')).toEqual([2]);
    expect(str(root, 'compatible')).toBe('riscv-virtio');
    expect(str(root, 'model')).toBe('riscv-virtio,ringvisor');
    expect(root.children.map((c) => c.name)).toEqual(['chosen', 'poweroff', 'reboot', 'memory@80000000', 'cpus', 'soc']);

    const chosen = node(tree, '/chosen');
    expect(str(chosen, 'bootargs')).toBe('console=ttyS0 earlycon=sbi');
    expect(str(chosen, 'stdout-path')).toBe('/soc/serial@10000000');
    expect(fdtCells(chosen.props.get('linux,initrd-start')!, 2)).toEqual([0x8800_0000n]);
    expect(fdtCells(chosen.props.get('linux,initrd-end')!, 2)).toEqual([0x8812_3400n]);

    const mem = node(tree, '/memory@80000000');
    expect(str(mem, 'device_type')).toBe('memory');
    expect(fdtCells(mem.props.get('reg')!, 2)).toEqual([0x8000_0000n, 0x1000_0000n]);

    const cpus = node(tree, '/cpus');
    expect(u32s(cpus, '#address-cells')).toEqual([1]);
    expect(u32s(cpus, '#size-cells')).toEqual([0]);
    expect(u32s(cpus, 'timebase-frequency')).toEqual([10_000_000]);
    expect(cpus.children.map((c) => c.name)).toEqual(['cpu@0', 'cpu@1', 'cpu-map']);
    for (const h of [0, 1]) {
      const cpu = node(tree, `/cpus/cpu@${h}`);
      expect(str(cpu, 'device_type')).toBe('cpu');
      expect(u32s(cpu, 'reg')).toEqual([h]);
      expect(str(cpu, 'status')).toBe('okay');
      expect(str(cpu, 'compatible')).toBe('riscv');
      expect(str(cpu, 'riscv,isa')).toBe('rv64imafdc_zicsr_zifencei_zba_zbb_zbs_sstc');
      expect(str(cpu, 'mmu-type')).toBe('riscv,sv39');
      const intc = node(tree, `/cpus/cpu@${h}/interrupt-controller`);
      expect(str(intc, 'compatible')).toBe('riscv,cpu-intc');
      expect(u32s(intc, '#interrupt-cells')).toEqual([1]);
      expect(intc.props.get('interrupt-controller')!.length).toBe(0);
      expect(at(node(tree, `/cpus/cpu-map/cluster0/core${h}`), 'cpu')).toBe(`/cpus/cpu@${h}`);
    }

    const soc = node(tree, '/soc');
    expect(str(soc, 'compatible')).toBe('simple-bus');
    expect(soc.props.get('ranges')!.length).toBe(0);
    expect(u32s(soc, '#address-cells')).toEqual([2]);
    expect(u32s(soc, '#size-cells')).toEqual([2]);
    expect(soc.children.map((c) => c.name)).toEqual([
      'test@100000', 'rtc@101000', 'plic@c000000', 'serial@10000000',
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => `virtio_mmio@1000${i}000`),
    ]);

    // The test finisher, and the syscon poweroff and reboot nodes that write it.
    const test = node(tree, '/soc/test@100000');
    expect(fdtStrings(test.props.get('compatible')!)).toEqual(['sifive,test1', 'sifive,test0', 'syscon']);
    expect(fdtCells(test.props.get('reg')!, 2)).toEqual([0x10_0000n, 0x1000n]);
    for (const [name, value] of [['poweroff', 0x5555], ['reboot', 0x7777]] as const) {
      const n = node(tree, `/${name}`);
      expect(str(n, 'compatible')).toBe(`syscon-${name}`);
      expect(at(n, 'regmap')).toBe('/soc/test@100000');
      expect(u32s(n, 'offset')).toEqual([0]);
      expect(u32s(n, 'value')).toEqual([value]);
    }

    const plic = node(tree, '/soc/plic@c000000');
    expect(fdtStrings(plic.props.get('compatible')!)).toEqual(['sifive,plic-1.0.0', 'riscv,plic0']);
    expect(fdtCells(plic.props.get('reg')!, 2)).toEqual([0x0c00_0000n, 0x60_0000n]);
    expect(u32s(plic, 'riscv,ndev')).toEqual([96]);
    expect(u32s(plic, '#interrupt-cells')).toEqual([1]);
    expect(u32s(plic, '#address-cells')).toEqual([0]);
    expect(plic.props.has('interrupt-controller')).toBe(true);
    // Context i of the PLIC is the i-th pair: M then S for each hart.
    const ext = u32s(plic, 'interrupts-extended');
    const pairs = [];
    for (let i = 0; i < ext.length; i += 2) pairs.push([ph.get(ext[i]!), ext[i + 1]]);
    expect(pairs).toEqual([
      ['/cpus/cpu@0/interrupt-controller', 11], ['/cpus/cpu@0/interrupt-controller', 9],
      ['/cpus/cpu@1/interrupt-controller', 11], ['/cpus/cpu@1/interrupt-controller', 9],
    ]);
    expect([plicContext(0, 'M'), plicContext(0, 'S'), plicContext(1, 'M'), plicContext(1, 'S')]).toEqual([0, 1, 2, 3]);
    expect(pairs[plicContext(1, 'S')]).toEqual(['/cpus/cpu@1/interrupt-controller', 9]);

    const uart = node(tree, '/soc/serial@10000000');
    expect(str(uart, 'compatible')).toBe('ns16550a');
    expect(fdtCells(uart.props.get('reg')!, 2)).toEqual([0x1000_0000n, 0x100n]);
    expect(u32s(uart, 'clock-frequency')).toEqual([3_686_400]);
    expect(u32s(uart, 'interrupts')).toEqual([10]);
    expect(at(uart, 'interrupt-parent')).toBe('/soc/plic@c000000');

    for (let i = 0; i < 8; i++) {
      const v = node(tree, `/soc/virtio_mmio@${(0x1000_1000 + i * 0x1000).toString(16)}`);
      expect(str(v, 'compatible')).toBe('virtio,mmio');
      expect(fdtCells(v.props.get('reg')!, 2)).toEqual([0x1000_1000n + BigInt(i) * 0x1000n, 0x1000n]);
      expect(u32s(v, 'interrupts')).toEqual([i + 1]);
      expect(at(v, 'interrupt-parent')).toBe('/soc/plic@c000000');
    }

    const rtc = node(tree, '/soc/rtc@101000');
    expect(str(rtc, 'compatible')).toBe('google,goldfish-rtc');
    expect(fdtCells(rtc.props.get('reg')!, 2)).toEqual([0x10_1000n, 0x1000n]);
    expect(u32s(rtc, 'interrupts')).toEqual([11]);
    expect(at(rtc, 'interrupt-parent')).toBe('/soc/plic@c000000');

    // Nothing the VM does not model.
    const names = walkFdt(tree.root).map((n) => n.path);
    for (const absent of ['clint', 'pci', 'flash', 'fw-cfg', 'platform-bus', 'pmu']) {
      expect(names.filter((p) => p.includes(absent))).toEqual([]);
    }
    expect(tree.reservations).toEqual([]);
    expect(tree.header.bootCpuidPhys).toBe(0);
  });

  it('follows the caller\'s choices: devices, sv48, no cpu-map, 8 harts, rng-seed, reservations', () => {
    const seed = new Uint8Array(32).map((_, i) => i);
    const tree = parseFdt(virtDeviceTree(config({
      harts: 8, mmuType: 'riscv,sv48', bootargs: '', virtio: [{ base: 0x1000_3000n, irq: 3 }], rtc: undefined,
      cpuMap: false, rngSeed: seed, model: 'riscv-virtio,qemu', bootHart: 5,
      reservations: [{ address: 0x8000_0000n, size: 0x4_0000n }],
    })));
    const chosen = node(tree, '/chosen');
    expect([...chosen.props.keys()]).toEqual(['stdout-path', 'rng-seed']);
    expect([...chosen.props.get('rng-seed')!]).toEqual([...seed]);
    expect(node(tree, '/cpus').children.map((c) => c.name)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((h) => `cpu@${h}`));
    expect(str(node(tree, '/cpus/cpu@7'), 'mmu-type')).toBe('riscv,sv48');
    expect(node(tree, '/soc').children.map((c) => c.name)).toEqual(['test@100000', 'plic@c000000', 'serial@10000000', 'virtio_mmio@10003000']);
    expect(u32s(node(tree, '/soc/plic@c000000'), 'interrupts-extended').length).toBe(8 * 4);
    expect(str(tree.root, 'model')).toBe('riscv-virtio,qemu');
    expect(tree.reservations).toEqual([{ address: 0x8000_0000n, size: 0x4_0000n }]);
    expect(tree.header.bootCpuidPhys).toBe(5);
    expect(findNode(tree.root, '/cpus/cpu-map')).toBeUndefined();
  });

  it('puts RAM anywhere it is told, with the unit address spelled as dtc wants', () => {
    const tree = parseFdt(virtDeviceTree(config({ ramBase: 0x1_0000_0000n, ramSize: 0x2_0000_0000n })));
    const mem = node(tree, '/memory@100000000');
    expect(fdtCells(mem.props.get('reg')!, 2)).toEqual([0x1_0000_0000n, 0x2_0000_0000n]);
  });

  it('refuses a bad config with a precise error', () => {
    const bad = (over: Partial<VirtMachineConfig>): string => {
      try {
        virtDeviceTree(config(over));
      } catch (e) {
        expect(e).toBeInstanceOf(DeviceTreeConfigError);
        return (e as Error).message;
      }
      throw new Error('virtDeviceTree accepted a bad config');
    };
    const p = 'virt device tree: ';
    expect(bad({ harts: 0 })).toBe(p + 'harts must be an integer in 1..8, not 0');
    expect(bad({ harts: 9 })).toBe(p + 'harts must be an integer in 1..8, not 9');
    expect(bad({ harts: 1.5 })).toBe(p + 'harts must be an integer in 1..8, not 1.5');
    expect(bad({ bootHart: 2 })).toBe(p + 'bootHart 2 is not one of the harts 0..1');
    expect(bad({ ramBase: 0x8000_0800n })).toBe(p + 'ramBase 0x80000800 is not 4 KiB aligned');
    expect(bad({ ramSize: 0n })).toBe(p + 'ramSize 0x0 is not a positive multiple of 4 KiB');
    expect(bad({ ramSize: 0x1234n })).toBe(p + 'ramSize 0x1234 is not a positive multiple of 4 KiB');
    expect(bad({ ramBase: 0xffff_ffff_ffff_f000n, ramSize: 0x2000n })).toBe(p + 'RAM 0xfffffffffffff000 + 0x2000 runs past the 64-bit address space');
    expect(bad({ isa: 'RV64IMAC' })).toBe(p + 'isa "RV64IMAC" is not a lowercase RV64 ISA string like "rv64imafdc_zicsr_zifencei"');
    expect(bad({ isa: 'rv32imac' })).toMatch(/isa "rv32imac" is not a lowercase RV64 ISA string/);
    expect(bad({ isa: 'rv64imac__zba' })).toMatch(/is not a lowercase RV64 ISA string/);
    expect(bad({ isa: 'rv64mac' })).toBe(p + 'isa "rv64mac" has no base integer ISA ("rv64i..." or "rv64g...")');
    expect(bad({ mmuType: 'riscv,sv57' as 'riscv,sv48' })).toBe(p + 'mmuType "riscv,sv57" is not "riscv,sv39" or "riscv,sv48"');
    expect(bad({ timebaseFrequency: 0 })).toBe(p + 'timebaseFrequency 0 is not a positive 32-bit integer (Hz)');
    expect(bad({ bootargs: 'a\0b' })).toBe(p + 'bootargs contains a NUL character');
    expect(bad({ model: '' })).toBe(p + 'model must be a non-empty string without NUL');
    expect(bad({ initrd: { start: 0x8800_0000n, end: 0x8800_0000n } })).toBe(p + 'initrd [0x88000000, 0x88000000) is empty or reversed');
    expect(bad({ initrd: { start: 0x8fff_f000n, end: 0x9000_1000n } })).toBe(p + 'initrd [0x8ffff000, 0x90001000) is not inside RAM [0x80000000, 0x90000000)');
    expect(bad({ initrd: { start: 0x7000_0000n, end: 0x8000_1000n } })).toMatch(/initrd \[0x70000000, 0x80001000\) is not inside RAM/);
    expect(bad({ plic: { base: 0x0c00_0000n, size: 0x60_0000n, sources: 0 } })).toBe(p + 'plic.sources must be an integer in 1..1023, not 0');
    expect(bad({ plic: { base: 0x0c00_0800n, size: 0x60_0000n, sources: 96 } })).toBe(p + 'plic.base 0xc000800 is not 4 KiB aligned');
    expect(bad({ harts: 4, plic: { base: 0x0c00_0000n, size: 0x20_4000n, sources: 96 } }))
      .toBe(p + 'plic.size 0x204000 is too small for 8 contexts (4 harts, M and S): needs at least 0x208000');
    expect(bad({ uart: { base: 0x1000_0010n, irq: 10, clockFrequency: 3_686_400 } })).toBe(p + 'uart base 0x10000010 is not 0x100-aligned');
    expect(bad({ uart: { base: 0x1000_0000n, irq: 10, clockFrequency: 0 } })).toBe(p + 'uart.clockFrequency 0 is not a positive 32-bit integer (Hz)');
    expect(bad({ uart: { base: 0x1000_0000n, irq: 97, clockFrequency: 3_686_400 } })).toBe(p + 'uart irq 97 is not a PLIC source in 1..96');
    expect(bad({ uart: { base: 0x1000_0000n, irq: 0, clockFrequency: 3_686_400 } })).toBe(p + 'uart irq 0 is not a PLIC source in 1..96');
    expect(bad({ virtio: [{ base: 0x1000_1000n, irq: 10 }] })).toBe(p + "virtio[0] irq 10 is already uart's");
    expect(bad({ virtio: [{ base: 0x1000_1000n, irq: 1 }, { base: 0x1000_2000n, irq: 1 }] })).toBe(p + "virtio[1] irq 1 is already virtio[0]'s");
    expect(bad({ virtio: [{ base: 0x1000_1800n, irq: 1 }] })).toBe(p + 'virtio[0] base 0x10001800 is not 0x1000-aligned');
    expect(bad({ virtio: [{ base: 0x1000_1000n, irq: 1 }, { base: 0x1000_1000n, irq: 2 }] }))
      .toBe(p + 'virtio[0] [0x10001000, 0x10002000) overlaps virtio[1] [0x10001000, 0x10002000)');
    expect(bad({ virtio: [{ base: 0x8000_0000n, irq: 1 }] })).toBe(p + 'RAM [0x80000000, 0x90000000) overlaps virtio[0] [0x80000000, 0x80001000)');
    expect(bad({ rtc: { base: 0x0c00_1000n, irq: 11 } })).toBe(p + 'plic [0xc000000, 0xc600000) overlaps rtc [0xc001000, 0xc002000)');
    expect(bad({ rtc: { base: 0x10_1000n, irq: 1 } })).toBe(p + "rtc irq 1 is already virtio[0]'s");
    expect(bad({ reservations: [{ address: 0n, size: 0n }] })).toBe(p + 'finish(): reservation 0 has size 0');
    expect(() => qemuVirtioSlots(9)).toThrow("virt device tree: QEMU's virt machine has 8 virtio-mmio slots, not 9");
  });
});

// ---------------------------------------------------------------------------
// QEMU's tree, structurally: phandles become paths, order does not matter.

type Summary = Record<string, Record<string, unknown>>;
const STRING_PROPS = new Set(['compatible', 'device_type', 'status', 'mmu-type', 'stdout-path']);
const PHANDLE_PROPS = new Set(['interrupt-parent', 'cpu', 'regmap']);

function summarize(tree: FdtTree, paths: string[]): Summary {
  const ph = fdtPhandles(tree.root);
  const out: Summary = {};
  for (const path of paths) {
    const n = findNode(tree.root, path);
    if (!n) {
      out[path] = { missing: true };
      continue;
    }
    const props: Record<string, unknown> = {};
    for (const [k, v] of n.props) {
      if (k === 'phandle' || k === 'riscv,isa' || k === 'bootargs' || k === 'rng-seed' || k === 'model') continue;
      if (STRING_PROPS.has(k)) props[k] = fdtStrings(v);
      else if (PHANDLE_PROPS.has(k)) props[k] = ph.get(fdtU32s(v)[0]!) ?? 'dangling';
      else if (k === 'interrupts-extended') {
        const w = fdtU32s(v);
        const pairs: string[] = [];
        for (let i = 0; i < w.length; i += 2) pairs.push(`${ph.get(w[i]!) ?? 'dangling'} ${w[i + 1]}`);
        props[k] = pairs;
      } else if (v.length === 0) props[k] = true;
      else props[k] = fdtU32s(v);
    }
    out[path] = props;
  }
  return out;
}

function modeledPaths(harts: number): string[] {
  const paths = ['/', '/chosen', '/memory@80000000', '/cpus', '/soc', '/soc/plic@c000000', '/soc/serial@10000000', '/soc/rtc@101000',
    '/cpus/cpu-map', '/cpus/cpu-map/cluster0', '/poweroff', '/reboot', '/soc/test@100000'];
  for (let h = 0; h < harts; h++) {
    paths.push(`/cpus/cpu@${h}`, `/cpus/cpu@${h}/interrupt-controller`, `/cpus/cpu-map/cluster0/core${h}`);
  }
  for (const v of qemuVirtioSlots()) paths.push(`/soc/virtio_mmio@${v.base.toString(16)}`);
  return paths;
}

/** Our tree against QEMU's: as QEMU writes it (dumpdtb), or (opensbi) as
 *  OpenSBI 1.1 hands it to the kernel, against withOpenSbiEdits(). */
function expectLikeQemu(qemu: FdtTree, harts: number, ramSize: bigint, opensbi = false): void {
  const base = config({ harts, ramSize, mmuType: 'riscv,sv48', bootargs: '' });
  const ours = parseFdt(virtDeviceTree(opensbi ? withOpenSbiEdits(base) : base));
  const paths = [...modeledPaths(harts), ...(opensbi ? ['/reserved-memory', '/reserved-memory/mmode_resv0@80000000', '/pmu'] : [])];
  const a = summarize(ours, paths);
  const b = summarize(qemu, paths);
  // Our deliberate additions, checked and then set aside.
  for (let h = 0; h < harts; h++) {
    const intc = a[`/cpus/cpu@${h}/interrupt-controller`]!;
    expect(intc['#address-cells']).toEqual([0]);
    delete intc['#address-cells'];
  }
  for (const s of [a, b]) {
    // The root's and /soc's children differ on purpose (see below); compare the nodes themselves.
    expect(s['/']!['compatible']).toEqual(['riscv-virtio']);
  }
  expect(a).toEqual(b);
  // The nodes of QEMU's tree we leave out on purpose, and nothing else.
  const ourPaths = new Set(walkFdt(ours.root).map((n) => n.path));
  const extra = walkFdt(qemu.root).map((n) => n.path).filter((p) => !ourPaths.has(p));
  expect(extra.map((p) => p.replace(/@.*/, '')).sort()).toEqual(
    ['/flash', '/fw-cfg', '/platform-bus', ...(opensbi ? [] : ['/pmu']), '/soc/clint', '/soc/pci'].sort());
  expect(walkFdt(ours.root).map((n) => n.path).filter((p) => !walkFdt(qemu.root).some((q) => q.path === p))).toEqual([]);
}

describe('virtDeviceTree against QEMU 7.2', () => {
  it('agrees with a recorded `qemu-system-riscv64 -M virt -smp 2 -m 256M` tree for every node we model', () => {
    const qemu = parseFdt(fixture('qemu-7.2-virt-smp2.dtb'));
    expect(str(qemu.root, 'model')).toBe('riscv-virtio,qemu');
    expectLikeQemu(qemu, 2, 256n << 20n);
  });

  if (!QEMU) {
    describe.skip(`a live dumpdtb: skipped, ${qemuMissing}`, () => { it('compares', () => {}); });
  } else {
    it.each([[1, 128n], [2, 256n], [8, 1024n]])('agrees with the installed QEMU at -smp %i -m %sMiB', (harts, mib) => {
      withTmp((dir) => {
        const out = join(dir, 'virt.dtb');
        const r = spawnSync(QEMU, ['-M', `virt,dumpdtb=${out}`, '-smp', String(harts), '-m', `${mib}M`, '-nographic'],
          { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
        expect(r.status, r.stderr.toString()).toBe(0);
        const qemu = parseFdt(new Uint8Array(readFileSync(out)));
        expectLikeQemu(qemu, harts, BigInt(mib) << 20n);
      });
    });
  }
});

describe('virtDeviceTree with OpenSBI 1.1\'s edits, against the tree a kernel gets under QEMU', () => {
  it('adds /reserved-memory for the firmware, hides the PLIC\'s M-mode contexts, keeps /pmu\'s compatible', () => {
    const tree = parseFdt(virtDeviceTree(withOpenSbiEdits(config())));
    expect(tree.root.children.map((c) => c.name)).toEqual(['reserved-memory', 'pmu', 'chosen', 'poweroff', 'reboot', 'memory@80000000', 'cpus', 'soc']);
    const resv = node(tree, '/reserved-memory');
    expect(u32s(resv, '#address-cells')).toEqual([2]);
    expect(u32s(resv, '#size-cells')).toEqual([2]);
    expect(resv.props.get('ranges')!.length).toBe(0);
    expect(resv.children.map((c) => c.name)).toEqual(['mmode_resv0@80000000']);
    const r0 = node(tree, '/reserved-memory/mmode_resv0@80000000');
    expect(fdtCells(r0.props.get('reg')!, 2)).toEqual([0x8000_0000n, 0x8_0000n]);
    // OpenSBI 1.1 protects the region with PMP, so it writes no no-map:
    // Linux keeps the memory out of its allocator but maps it.
    expect([...r0.props.keys()]).toEqual(['reg']);
    expect(str(node(tree, '/pmu'), 'compatible')).toBe('riscv,pmu');
    const ext = u32s(node(tree, '/soc/plic@c000000'), 'interrupts-extended');
    expect(ext.filter((_, i) => i % 4 === 1)).toEqual([IRQ_NONE, IRQ_NONE]);
    expect(ext.filter((_, i) => i % 4 === 3)).toEqual([9, 9]);
    // Without the edits, QEMU's own tree: none of them.
    const plain = parseFdt(virtDeviceTree(config()));
    expect(findNode(plain.root, '/reserved-memory')).toBeUndefined();
    expect(findNode(plain.root, '/pmu')).toBeUndefined();
    expect(u32s(node(plain, '/soc/plic@c000000'), 'interrupts-extended').filter((_, i) => i % 4 === 1)).toEqual([11, 11]);
  });

  it('refuses a reserved region outside RAM or unaligned, and leaves out OpenSBI\'s when RAM is elsewhere', () => {
    expect(() => virtDeviceTree(config({ reservedMemory: [{ base: 0x7000_0000n, size: 0x1000n }] }))).toThrow(
      'virt device tree: reservedMemory[0] [0x70000000, 0x70001000) is not inside RAM [0x80000000, 0x90000000)');
    expect(() => virtDeviceTree(config({ reservedMemory: [{ base: 0x8000_0800n, size: 0x1000n }] }))).toThrow(
      'virt device tree: reservedMemory[0] [0x80000800, +0x1000) is not a non-empty, 4 KiB aligned range');
    const elsewhere = parseFdt(virtDeviceTree(withOpenSbiEdits(config({ ramBase: 0x1_0000_0000n }))));
    expect(findNode(elsewhere.root, '/reserved-memory')).toBeUndefined();
  });

  it('agrees with the recorded tree OpenSBI 1.1 handed on under QEMU 7.2 -smp 2 -m 256M', () => {
    const qemu = parseFdt(fixture('qemu-7.2-opensbi-1.1-virt-smp2.dtb'));
    expectLikeQemu(qemu, 2, 256n << 20n, true);
  });

  if (!QEMU) {
    describe.skip(`a live read-back: skipped, ${qemuMissing}`, () => { it('compares', () => {}); });
  } else {
    it.each([[1, 128], [2, 256], [4, 1024], [1, 2048]])('agrees with the installed QEMU and OpenSBI at -smp %i -m %iMiB, at the same address', (harts, mib) => {
      const ramSize = BigInt(mib) << 20n;
      withTmp((dir) => {
        const out = join(dir, 'tree.dtb');
        const r = spawnSync('bash', [join(fileURLToPath(new URL('..', import.meta.url)), 'scripts/qemu-opensbi-dtb.sh'), out, String(harts), `${mib}M`],
          { encoding: 'utf8', timeout: 90_000 });
        expect(r.status, r.stderr).toBe(0);
        const qemu = parseFdt(new Uint8Array(readFileSync(out)));
        expectLikeQemu(qemu, harts, ramSize, true);
        // Where: the same rule with our tree's size (QEMU's 4-byte payload ends at 0x80200004).
        const ours = virtDeviceTree(withOpenSbiEdits(config({ harts, ramSize })));
        const at = bootLayout({ ramBase: 0x8000_0000n, ramSize, kernelEntry: 0x8020_0000n, kernelEnd: 0x8020_0004n, dtbSize: ours.length }).dtb;
        expect(BigInt(r.stdout.trim())).toBe(at);
      });
    }, 120_000);
  }
});

describe('bootLayout: where the device tree and the initrd go', () => {
  const K = { ramBase: 0x8000_0000n, kernelEntry: 0x8020_0000n, kernelEnd: 0x8100_0000n, dtbSize: 3000 };
  it('puts them where QEMU 7.2 does: the tree 2 MiB-aligned below the top of RAM or 3 GiB, the initrd at the entry + min(RAM/2, 128 MiB)', () => {
    expect(bootLayout({ ...K, ramSize: 256n << 20n, initrdSize: 500_000 })).toEqual({ dtb: 0x8fe0_0000n, initrd: { start: 0x8820_0000n, end: 0x8820_0000n + 500_000n } });
    expect(bootLayout({ ...K, ramSize: 128n << 20n, initrdSize: 1 })).toEqual({ dtb: 0x87e0_0000n, initrd: { start: 0x8420_0000n, end: 0x8420_0001n } });
    // Above 1 GiB of RAM the tree stays below 3 GiB, as QEMU keeps it.
    expect(bootLayout({ ...K, ramSize: 4032n << 20n }).dtb).toBe(0xbfe0_0000n);
    expect(bootLayout({ ...K, ramSize: 1024n << 20n }).dtb).toBe(0xbfe0_0000n);
    expect(bootLayout({ ...K, ramSize: 256n << 20n })).toEqual({ dtb: 0x8fe0_0000n });
  });

  it('packs them at the top of RAM where QEMU\'s places would overlap the kernel or each other', () => {
    // 4 MiB of RAM: QEMU's tree address (0x80200000) is the kernel's.
    expect(bootLayout({ ...K, kernelEnd: 0x8030_0000n, ramSize: 4n << 20n, initrdSize: 0x1800 }))
      .toEqual({ dtb: 0x803f_f000n, initrd: { start: 0x803f_d000n, end: 0x803f_e800n } });
    // An initrd too large for the entry + 128 MiB: it ends below the tree.
    expect(bootLayout({ ...K, ramSize: 256n << 20n, initrdSize: 0x7d0_0000 }).initrd).toEqual({ start: 0x8810_0000n, end: 0x8fe0_0000n });
  });

  it('refuses a kernel or an initrd that leaves the other no room', () => {
    expect(() => bootLayout({ ...K, kernelEnd: 0x803f_f800n, ramSize: 4n << 20n })).toThrow(BootLayoutError);
    expect(() => bootLayout({ ...K, kernelEnd: 0x803f_f800n, ramSize: 4n << 20n })).toThrow(
      'the kernel ends at 0x803ff800, too near the top of RAM (0x80400000) to leave the device tree its 3000 bytes (raise --mem)');
    expect(() => bootLayout({ ...K, ramSize: 32n << 20n, initrdSize: 31 << 20 })).toThrow(
      'the initrd (32505856 bytes) does not fit in RAM beside the kernel (which ends at 0x81000000) and the device tree (raise --mem)');
  });
});

// ---------------------------------------------------------------------------
// dtc

describe('FdtBuilder and parseFdt against dtc output', () => {
  it('read the checked-in dtc-compiled fixture, and the builder writes the same bytes', () => {
    const dtb = fixture('sample.dtb');
    const tree = parseFdt(dtb);
    expect(tree.reservations).toEqual([{ address: 0x8000_0000n, size: 0x20_0000n }, { address: 0x1_0000_0000n, size: 0x1000n }]);
    expect(formatDts(tree)).toBe([
      '/dts-v1/;', '',
      '/memreserve/ 0x80000000 0x200000;',
      '/memreserve/ 0x100000000 0x1000;', '',
      '/ {',
      '\t#address-cells = <0x2>;',
      '\t#size-cells = <0x2>;',
      '\tcompatible = "acme,board", "acme,soc";',
      '\tmodel = "Sample board";',
      '\tdma-coherent;',
      '\tmac-address = [de ad be ef 00 01];', '',
      '\tbus@1000 {',
      '\t\tlinux,phandle = <0x7>;',
      '\t\tphandle = <0x7>;',
      '\t\treg = <0x0 0x1000 0x0 0x100>;', '',
      '\t\tleaf {',
      '\t\t\tref = <0x7>;',
      '\t\t\twide = <0x12345678 0x9abcdef0>;',
      '\t\t\tstatus = "okay";',
      '\t\t};',
      '\t};', '',
      '\tempty-node {',
      '\t};',
      '};', '',
    ].join('\n'));

    const t = new FdtBuilder();
    t.beginNode('');
    t.propU32('#address-cells', 2).propU32('#size-cells', 2);
    t.prop('compatible', ['acme,board', 'acme,soc']).prop('model', 'Sample board').propEmpty('dma-coherent');
    t.propBytes('mac-address', new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1]));
    t.beginNode('bus@1000');
    t.propU32('linux,phandle', 7).propPhandle(7).propCells('reg', [0x1000n, 0x100n], 2);
    t.beginNode('leaf').propU32('ref', 7).propU64('wide', 0x1234_5678_9abc_def0n).prop('status', 'okay').endNode();
    t.endNode();
    t.beginNode('empty-node').endNode();
    t.endNode();
    const ours = t.finish({ reservations: tree.reservations });
    expect(Buffer.from(ours).equals(Buffer.from(dtb))).toBe(true);
  });

  it('reads QEMU\'s recorded tree with its rng-seed, pmu and pci nodes', () => {
    const tree = parseFdt(fixture('qemu-7.2-virt-smp2.dtb'));
    expect(walkFdt(tree.root).length).toBe(33);
    expect(node(tree, '/chosen').props.get('rng-seed')!.length).toBe(32);
    expect(fdtStrings(node(tree, '/soc/test@100000').props.get('compatible')!)).toEqual(['sifive,test1', 'sifive,test0', 'syscon']);
  });
});

if (!DTC) {
  describe.skip(`dtc checks: skipped, ${dtcMissing}`, () => { it('decodes', () => {}); });
} else {
  describe('dtc checks', () => {
    const configs: [string, VirtMachineConfig][] = [
      ['2 harts, all eight virtio slots, initrd', config({ initrd: { start: 0x8800_0000n, end: 0x8810_0000n } })],
      ['1 hart, one virtio slot, no rtc, no cpu-map', config({ harts: 1, virtio: qemuVirtioSlots(1), rtc: undefined, cpuMap: false })],
      ['8 harts, sv48, reservations, rng-seed, RAM above 4 GiB', config({
        harts: 8, mmuType: 'riscv,sv48', ramBase: 0x1_0000_0000n, ramSize: 0x4000_0000n, rngSeed: new Uint8Array(32).fill(7),
        reservations: [{ address: 0x1_0000_0000n, size: 0x20_0000n }], bootHart: 3,
      })],
    ];

    it.each(configs)('dtc decodes the virt tree (%s) without a warning and re-encodes it byte for byte', (_name, cfg) => {
      const dtb = virtDeviceTree(cfg);
      const dts = dtc(['-I', 'dtb', '-O', 'dts', '-o', '-', '-'], dtb);
      expect(dts.status).toBe(0);
      expect(dts.stderr).toBe('');
      const re = dtc(['-I', 'dtb', '-O', 'dtb', '-o', '-', '-'], dtb);
      expect(re.status).toBe(0);
      expect(re.stderr).toBe('');
      expect(Buffer.from(dtb).equals(re.stdout)).toBe(true);
      // And back from source: dtc's own dts → dtb parses to the same tree.
      // (Decompiled source has plain numbers where phandle references were: dtc warns about that on the way back.)
      const fromSource = dtc(['-I', 'dts', '-O', 'dtb', '-W', 'no-interrupts_extended_property', '-o', '-', '-'], dts.stdout);
      expect(fromSource.stderr).toBe('');
      expect(formatDts(parseFdt(new Uint8Array(fromSource.stdout)))).toBe(formatDts(parseFdt(dtb)));
    });

    it('dtc\'s text has the expected nodes and properties', () => {
      const text = dtc(['-I', 'dtb', '-O', 'dts', '-o', '-', '-'], virtDeviceTree(configs[0]![1])).stdout.toString();
      expect(text).not.toContain('/memreserve/');
      const expected = [
        'compatible = "riscv-virtio";',
        'bootargs = "console=ttyS0 earlycon=sbi";',
        'stdout-path = "/soc/serial@10000000";',
        'linux,initrd-start = <0x00 0x88000000>;',
        'linux,initrd-end = <0x00 0x88100000>;',
        'memory@80000000 {', 'device_type = "memory";', 'reg = <0x00 0x80000000 0x00 0x10000000>;',
        'timebase-frequency = <0x989680>;',
        'cpu@0 {', 'cpu@1 {', 'riscv,isa = "rv64imafdc_zicsr_zifencei_zba_zbb_zbs_sstc";', 'mmu-type = "riscv,sv39";',
        'compatible = "riscv,cpu-intc";', 'compatible = "simple-bus";', 'ranges;',
        'plic@c000000 {', 'compatible = "sifive,plic-1.0.0\\0riscv,plic0";', 'riscv,ndev = <0x60>;',
        'interrupts-extended = <0x02 0x0b 0x02 0x09 0x04 0x0b 0x04 0x09>;',
        'serial@10000000 {', 'compatible = "ns16550a";', 'reg = <0x00 0x10000000 0x00 0x100>;',
        'virtio_mmio@10001000 {', 'virtio_mmio@10008000 {', 'compatible = "virtio,mmio";',
        'rtc@101000 {', 'compatible = "google,goldfish-rtc";',
      ];
      for (const line of expected) expect(text, line).toContain(line);
    });

    it('the only strict-mode warnings are QEMU\'s "virtio_mmio" node names', () => {
      const r = dtc(['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', '-W', 'node_name_chars_strict', '-W', 'property_name_chars_strict', '-'],
        virtDeviceTree(configs[0]![1]));
      expect(r.status).toBe(0);
      const warnings = r.stderr.trim().split('\n').map((l) => l.replace(/^[^:]*: /, ''));
      expect(warnings).toEqual(qemuVirtioSlots().map((v) =>
        `Warning (node_name_chars_strict): /soc/virtio_mmio@${v.base.toString(16)}: Character '_' not recommended in node name`));
    });

    it('the fixture compiles to the checked-in blob', () => {
      const r = spawnSync(DTC, ['-I', 'dts', '-O', 'dtb', '-o', '-', new URL('./fixtures/fdt/sample.dts', import.meta.url).pathname]);
      expect(r.stderr.toString()).toBe('');
      expect(r.stdout.equals(Buffer.from(fixture('sample.dtb')))).toBe(true);
    });

    it('parseFdt reads dtc\'s padded, version-16 and size-forced blobs', () => {
      const src = dtc(['-I', 'dtb', '-O', 'dts', '-o', '-', '-'], virtDeviceTree(configs[2]![1])).stdout;
      const want = formatDts(parseFdt(virtDeviceTree(configs[2]![1])));
      for (const extra of [['-p', '1000'], ['-S', '65536'], ['-V', '16'], ['-R', '4'], ['-a', '64']]) {
        const r = dtc(['-I', 'dts', '-O', 'dtb', '-o', '-', ...extra, '-'], src);
        expect(r.status, r.stderr).toBe(0);
        // (-R adds empty reservation slots after the real one: they read as the terminator.)
        expect(formatDts(parseFdt(new Uint8Array(r.stdout))), extra.join(' ')).toBe(want);
      }
    });
  });
}

describe('reference values', () => {
  it('QEMU_VIRT holds the virt machine\'s map', () => {
    expect(QEMU_VIRT.plic.sources).toBe(96);
    expect(qemuVirtioSlots().map((s) => [s.base, s.irq])).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => [0x1000_0000n + BigInt(i) * 0x1000n, i]));
    expect(walkFdt(parseFdt(virtDeviceTree(qemuVirtConfig())).root).length).toBeGreaterThan(10);
  });
});
