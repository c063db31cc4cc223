/**
 * The test finisher of QEMU's virt board (DT compatible "sifive,test1",
 * "sifive,test0", "syscon", at 0x100000): one 32-bit register at offset 0
 * whose low 16 bits say how the machine ends and whose high 16 bits carry
 * an exit code. The device tree's syscon-poweroff and syscon-reboot nodes
 * point at it (regmap, offset 0, value), so a kernel's syscon drivers power
 * off and reboot by writing it; OpenSBI's SRST does the same on QEMU.
 *
 *   FINISHER_PASS  0x5555  power off, success (exit status 0)
 *   FINISHER_FAIL  0x3333  power off, failure: exit status the high 16 bits
 *   FINISHER_RESET 0x7777  reset the machine
 *
 * Any other value is ignored (and reported); reads give 0. Narrower stores
 * reach the register too, as the kernel's regmap writes 32 bits only.
 */

import { type AccessSize, type MmioDevice } from './bus.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

/** The one register (QEMU's hw/misc/sifive_test.c). */
export const FINISHER_REG = 0x0;
/** The register's fields: how the machine ends (low 16 bits), the exit code (high 16). */
const FINISHER_STATUS_MASK = 0xffff;
const FINISHER_CODE_SHIFT = 16;

export const FINISHER_FAIL = 0x3333;
export const FINISHER_PASS = 0x5555;
export const FINISHER_RESET = 0x7777;

/** How the guest asked the machine to end. */
export type Finish = { kind: 'pass' } | { kind: 'fail'; code: number } | { kind: 'reset' };

/** The tag and version of the finisher's saved record (docs/CHECKPOINTS.md). */
export const SIFIVE_TEST_RECORD = 'sifive-test';
export const SIFIVE_TEST_RECORD_VERSION = 1;
/** How the record says which finish was recorded. */
const FINISH_NONE = 0, FINISH_PASS = 1, FINISH_FAIL = 2, FINISH_RESET = 3;

export interface SifiveTestOptions {
  base?: bigint;
  /** Called once per finishing write: the machine stops (or resets). */
  onFinish: (finish: Finish) => void;
  /** A value the device does not know (QEMU logs it as a guest error). */
  log?: (line: string) => void;
  name?: string;
}

export class SifiveTest implements MmioDevice {
  readonly name: string;
  readonly base: bigint;
  readonly size = 0x1000n;
  private readonly onFinish: (finish: Finish) => void;
  private readonly log: (line: string) => void;
  finished: Finish | null = null;

  constructor(opts: SifiveTestOptions) {
    this.name = opts.name ?? 'test';
    this.base = opts.base ?? 0x10_0000n;
    this.onFinish = opts.onFinish;
    this.log = opts.log ?? (() => {});
  }

  read(_offset: number, _size: AccessSize): bigint {
    return 0n;
  }

  write(offset: number, _size: AccessSize, value: bigint): void {
    if (offset !== FINISHER_REG) return;
    const v = Number(value & 0xffff_ffffn);
    let finish: Finish;
    switch (v & FINISHER_STATUS_MASK) {
      case FINISHER_PASS: finish = { kind: 'pass' }; break;
      case FINISHER_FAIL: finish = { kind: 'fail', code: v >>> FINISHER_CODE_SHIFT }; break;
      case FINISHER_RESET: finish = { kind: 'reset' }; break;
      default:
        this.log(`${this.name}: unknown finisher value 0x${v.toString(16)} ignored`);
        return;
    }
    this.finished = finish;
    this.onFinish(finish);
  }

  /** What the guest wrote last that ends the machine, as a record. */
  save(): Uint8Array {
    const w = new RecordWriter(SIFIVE_TEST_RECORD, SIFIVE_TEST_RECORD_VERSION);
    const f = this.finished;
    if (f === null) w.u8(FINISH_NONE);
    else if (f.kind === 'pass') w.u8(FINISH_PASS);
    else if (f.kind === 'fail') w.u8(FINISH_FAIL).u16(f.code);
    else w.u8(FINISH_RESET);
    return w.finish();
  }

  /** Takes what a record `save` wrote. Throws CheckpointError (and changes
   *  nothing) if the record is not one. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, SIFIVE_TEST_RECORD, [SIFIVE_TEST_RECORD_VERSION]);
    const kind = r.u8('the finish');
    let finished: Finish | null = null;
    switch (kind) {
      case FINISH_NONE: finished = null; break;
      case FINISH_PASS: finished = { kind: 'pass' }; break;
      case FINISH_FAIL: finished = { kind: 'fail', code: r.u16('the exit code') }; break;
      case FINISH_RESET: finished = { kind: 'reset' }; break;
      default: r.invalid(`finish ${kind} is not one the device records`);
    }
    r.end();
    this.finished = finished;
  }
}
