/**
 * Diff snapshots (the control API's `"snapshot_type": "Diff"`): a snapshot
 * whose RAM is only the pages written since the snapshot before it, from
 * the CPU's dirty-page log, on a chain that starts with a Full one. Every
 * other part is whole in each file, so the last file of a chain says
 * everything but RAM, and RAM is the first file's with each later file's
 * pages laid over it in order.
 *
 * A Diff file names its parent by the parent file's CRC-32 and length (a
 * `diff` section, REQUIRED, so an older release refuses a Diff rather than
 * restoring a machine with half its RAM), and restoring a chain checks every
 * link: a missing, reordered or wrong file is refused (`wrong-base`) before
 * anything is built. The parent is named by its bytes rather than by a name
 * or path because files are copied and renamed; bytes are what must match.
 * Live migration's pre-copy rounds will be the same stream: a Full and then
 * Diffs until the last, small one is sent with the VM paused.
 *
 * No Node import.
 */
import { crc32, type Section } from './checkpoint-file.js';
import { CheckpointError } from './checkpoint-error.js';
import { RecordReader, RecordWriter } from './persist.js';
import { saveRam } from './ram-record.js';

export const DIFF_SECTION = 'diff';
export const DIFF_RECORD = 'diff';
export const DIFF_RECORD_VERSION = 1;

/** Which file a Diff builds on. */
export interface Lineage { crc: number; length: number }

export function lineageOf(file: Uint8Array): Lineage {
  return { crc: crc32(file), length: file.length };
}

function diffSection(parent: Lineage): Section {
  const payload = new RecordWriter(DIFF_RECORD, DIFF_RECORD_VERSION).u32(parent.crc).u64(BigInt(parent.length)).finish();
  return { name: DIFF_SECTION, version: DIFF_RECORD_VERSION, payload };
}

/** The parent a file's `diff` section names, or undefined for a Full file. */
export function diffParent(parts: ReadonlyMap<string, Uint8Array>): Lineage | undefined {
  const record = parts.get(DIFF_SECTION);
  if (record === undefined) return undefined;
  const r = new RecordReader(record, DIFF_RECORD, [DIFF_RECORD_VERSION]);
  const crc = r.u32('the parent\'s CRC-32'), length = r.u64('the parent\'s length');
  r.end();
  if (length > BigInt(Number.MAX_SAFE_INTEGER)) r.invalid(`a parent of ${length} bytes`);
  return { crc, length: Number(length) };
}

/**
 * Checks that `chain` (each file's bytes and its sections by name, oldest
 * first) is one: the first is Full, and each later one is a Diff of the
 * file before it. Throws CheckpointError('wrong-base') naming the link.
 */
export function checkChain(chain: readonly { bytes: Uint8Array; parts: ReadonlyMap<string, Uint8Array> }[]): void {
  chain.forEach((f, i) => {
    const parent = diffParent(f.parts);
    const what = i === chain.length - 1 ? 'the snapshot' : `base ${i + 1}`;
    if (i === 0) {
      if (parent !== undefined) {
        throw new CheckpointError('wrong-base', `${what} is a Diff snapshot: restore it with the Full snapshot it builds on (and every Diff between them), oldest first`);
      }
      return;
    }
    if (parent === undefined) throw new CheckpointError('wrong-base', `${what} is a Full snapshot, not a Diff of the file before it`);
    const prev = lineageOf(chain[i - 1].bytes);
    if (prev.crc !== parent.crc || prev.length !== parent.length) {
      throw new CheckpointError('wrong-base', `${what} is a Diff of a file of ${parent.length} bytes with CRC-32 ${hex(parent.crc)}; the file before it has ${prev.length} bytes, CRC-32 ${hex(prev.crc)}`);
    }
  });
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** What Diff snapshots need of a CPU. */
export interface LoggingCpu {
  readonly ramLength: bigint;
  ramView(offset: number, length: number): Uint8Array;
  pageMayHoldData(index: number): boolean;
  startDirtyLog(): void;
  takeDirtyPages(): Uint32Array;
  readonly dirtyLogging: boolean;
}

/**
 * One VM's snapshots: the last one written, and the dirty-page log running
 * since it. The log is started by the first snapshot (or a restore), so a
 * VM that is never snapshotted never pays for it.
 */
export class SnapshotLineage {
  private last: Lineage | undefined;

  constructor(private readonly cpu: LoggingCpu) {}

  /** A VM restored from `file` (the last of its chain): a Diff may build on it. */
  continueFrom(file: Uint8Array): void {
    this.cpu.startDirtyLog();
    this.last = lineageOf(file);
  }

  /** The last snapshot never reached its file: the next must be Full. */
  forget(): void {
    this.last = undefined;
  }

  /**
   * A snapshot: `write` gets the RAM sections (all of RAM that holds
   * anything for a Full one; the pages written since the last snapshot for
   * a Diff, which also gets its `diff` section) and returns the file.
   */
  snapshot(type: 'Full' | 'Diff', write: (sections: Section[]) => Uint8Array): Uint8Array {
    let file: Uint8Array;
    if (type === 'Diff') {
      if (this.last === undefined || !this.cpu.dirtyLogging) {
        throw new CheckpointError('bad-argument', 'a Diff snapshot holds what changed since the last snapshot of this VM, and there is none: take a Full one first');
      }
      const parent = this.last;
      this.last = undefined; // (until this one is made: a failure leaves no base)
      file = write([diffSection(parent), ...saveRam(this.cpu, this.cpu.takeDirtyPages())]);
    } else {
      file = write(saveRam(this.cpu));
      // Between slices: nothing is written between the copy and the start.
      this.cpu.startDirtyLog();
    }
    this.last = lineageOf(file);
    return file;
  }
}
