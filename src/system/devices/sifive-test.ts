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

/** The device's saved state (versioned, plain data). */
export interface SifiveTestState {
  version: 1;
  /** What the guest wrote last that ends the machine, if anything. */
  finished: Finish | null;
}

export class SifiveTestStateError extends Error {
  constructor(message: string) {
    super(`sifive,test state: ${message}`);
    this.name = 'SifiveTestStateError';
  }
}

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

  save(): SifiveTestState {
    return { version: 1, finished: this.finished === null ? null : { ...this.finished } };
  }

  restore(state: SifiveTestState): void {
    if (state.version !== 1) throw new SifiveTestStateError(`version ${String(state.version)} is not 1`);
    const f = state.finished;
    if (f !== null && f.kind !== 'pass' && f.kind !== 'reset' && !(f.kind === 'fail' && Number.isInteger(f.code) && f.code >= 0 && f.code <= 0xffff)) {
      throw new SifiveTestStateError(`finished ${JSON.stringify(f)} is not a finish the device can record`);
    }
    this.finished = f === null ? null : { ...f };
  }
}
