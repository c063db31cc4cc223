// A whole system VM in one checkpoint file (docs/CHECKPOINTS.md, "A system
// VM's checkpoint"): the machine's configuration, the CPU, its RAM, the
// hart scheduler, the clock, the console and every device, one section
// each, in the container of hypervisor/checkpoint-file.ts. This file says
// which sections a system VM has and what its own record (the
// configuration and the run's counters) holds; each part saves and
// restores itself.
import { CheckpointError } from '../hypervisor/checkpoint-error.js';
import { readCheckpoint, type Checkpoint, type MachineId } from '../hypervisor/checkpoint-file.js';
import { RecordReader, RecordWriter } from '../hypervisor/persist.js';
import { RAM_SECTION_NAMES } from '../hypervisor/ram-record.js';
import { DIFF_SECTION } from '../hypervisor/snapshot-chain.js';
import { ISA } from './board.js';

/** The tag and version of the system VM's own record. */
export const SYSTEM_VM_RECORD = 'system-vm';
export const SYSTEM_VM_RECORD_VERSION = 1;

/** The sections every system VM's checkpoint has (and 'disk' with a disk,
 *  'balloon' with a balloon, 'ram.N' for each 64 MiB of RAM that holds
 *  anything). The balloon's section is how a checkpoint says the machine
 *  had one: the system record stays as it was before balloons. */
export const SYSTEM_SECTIONS = ['system', 'cpu', 'scheduler', 'clock', 'console', 'plic', 'uart', 'rtc', 'test', 'rng'] as const;
export const SYSTEM_KNOWN_SECTIONS: readonly string[] = [...SYSTEM_SECTIONS, 'disk', 'balloon', DIFF_SECTION, ...RAM_SECTION_NAMES];

/** What the restoring release must share with the writing one for the
 *  records to mean the same: the board, the ISA, the CPU module's hart
 *  state and exit block sizes. */
export function systemMachineId(hartBytes: number, exitBlockBytes: number): MachineId {
  return {
    kind: 'system',
    fingerprint: new TextEncoder().encode(`qemu-virt ${ISA} hart-state=${hartBytes} exit-block=${exitBlockBytes}`),
  };
}

/** How the disk was given: by a path (reopened from it on restore unless
 *  overridden) or as a backend the embedder passed (which the restorer
 *  must pass again). */
export type SavedDisk =
  | { kind: 'none' }
  | { kind: 'path'; path: string; readOnly: boolean; bytes: number }
  | { kind: 'backend'; readOnly: boolean; bytes: number };

/** The system VM's own record: its configuration and the run's counters. */
export interface SystemRecord {
  memoryBytes: number;
  harts: number;
  hostClock: boolean;
  append: string;
  kernelName: string;
  dtb: Uint8Array;
  disk: SavedDisk;
  /** Instructions all harts have run. */
  executed: bigint;
  status: number | undefined;
  exitStats: Map<string, number>;
  sbiCalls: Map<string, number>;
}

function counts(w: RecordWriter, m: Map<string, number>): void {
  w.u32(m.size);
  for (const [name, n] of m) w.string(name).u64(BigInt(n));
}

function readCounts(r: RecordReader, what: string): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0, n = r.u32(`the ${what} count`); i < n; i++) {
    const name = r.string(`a ${what} name`), v = r.u64(`a ${what} count`);
    if (m.has(name)) r.invalid(`${what} ${name} counted twice`);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) r.invalid(`${what} ${name} counted ${v} times`);
    m.set(name, Number(v));
  }
  return m;
}

export function saveSystemRecord(s: SystemRecord): Uint8Array {
  const w = new RecordWriter(SYSTEM_VM_RECORD, SYSTEM_VM_RECORD_VERSION)
    .u64(BigInt(s.memoryBytes)).u32(s.harts).bool(s.hostClock)
    .string(s.append).string(s.kernelName).bytes(s.dtb)
    .u8(['none', 'path', 'backend'].indexOf(s.disk.kind))
    .string(s.disk.kind === 'path' ? s.disk.path : '')
    .bool(s.disk.kind !== 'none' && s.disk.readOnly)
    .u64(BigInt(s.disk.kind === 'none' ? 0 : s.disk.bytes))
    .u64(s.executed)
    .bool(s.status !== undefined).u32(s.status ?? 0);
  counts(w, s.exitStats);
  counts(w, s.sbiCalls);
  return w.finish();
}

export function readSystemRecord(record: Uint8Array): SystemRecord {
  const r = new RecordReader(record, SYSTEM_VM_RECORD, [SYSTEM_VM_RECORD_VERSION]);
  const memory = r.u64('the memory size'), harts = r.u32('the hart count'), hostClock = r.bool('host clock');
  const append = r.string('the command line'), kernelName = r.string('the kernel name'), dtb = r.bytes('the device tree');
  const diskKind = r.u8('the disk kind'), diskPath = r.string('the disk path'), diskReadOnly = r.bool('the disk read-only');
  const diskBytes = r.u64('the disk size');
  const executed = r.u64('the instructions run');
  const stopped = r.bool('stopped'), status = r.u32('the status');
  const exitStats = readCounts(r, 'exit');
  const sbiCalls = readCounts(r, 'SBI call');
  r.end();
  if (memory === 0n || memory % 4096n !== 0n || memory > 0x1_0000_0000n) r.invalid(`${memory} bytes of RAM`);
  if (harts < 1 || harts > 8) r.invalid(`${harts} harts`);
  if (diskKind > 2) r.invalid(`disk kind ${diskKind}`);
  if (diskBytes > BigInt(Number.MAX_SAFE_INTEGER)) r.invalid(`a disk of ${diskBytes} bytes`);
  if (diskKind === 1 && diskPath === '') r.invalid('a disk opened by path without one');
  const bytes = Number(diskBytes);
  const disk: SavedDisk = diskKind === 0 ? { kind: 'none' }
    : diskKind === 1 ? { kind: 'path', path: diskPath, readOnly: diskReadOnly, bytes }
    : { kind: 'backend', readOnly: diskReadOnly, bytes };
  return {
    memoryBytes: Number(memory), harts, hostClock, append, kernelName, dtb, disk, executed,
    status: stopped ? status : undefined, exitStats, sbiCalls,
  };
}

/** Reads and checks a system VM's checkpoint: the container (every
 *  checksum, the machine) and that every part a system VM has is there.
 *  The parts' records are checked by the parts as they are restored. */
export function readSystemCheckpoint(bytes: Uint8Array, machine: MachineId): { file: Checkpoint; parts: Map<string, Uint8Array>; system: SystemRecord } {
  const file = readCheckpoint(bytes, { machine, knownSections: SYSTEM_KNOWN_SECTIONS });
  const parts = new Map(file.sections.map((s) => [s.name, s.payload]));
  const missing = SYSTEM_SECTIONS.filter((n) => !parts.has(n));
  if (missing.length > 0) throw new CheckpointError('bad-section', `a system VM's checkpoint without ${missing.join(', ')}`);
  const system = readSystemRecord(parts.get('system')!);
  if (parts.has('disk') !== (system.disk.kind !== 'none')) {
    throw new CheckpointError('bad-section', system.disk.kind === 'none' ? 'a disk section for a machine without a disk' : 'a machine with a disk without its disk section');
  }
  return { file, parts, system };
}
