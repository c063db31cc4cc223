// The system VM's console as a person (or a script) at the terminal sees it:
// input typed before the guest listens is held until it does, since the
// 8250 driver's probe and FIFO resets would swallow earlier bytes; and a
// panicking kernel ("Kernel panic - not syncing: why", after which it spins
// or reboots) stops the machine, reporting it. Both are heuristics on the
// UART's registers and output, kept apart from the device model, which
// stays a plain 16550A.
import type { AccessSize, MmioDevice } from './devices/bus.js';
import { IER_ERBFI, LCR_DLAB, LSR_DR, MCR_OUT2, UartReg, type Uart16550 } from './devices/uart16550.js';
import { RecordReader, RecordWriter } from '../hypervisor/persist.js';

/** The tag and version of the console's saved record (docs/CHECKPOINTS.md). */
export const CONSOLE_RECORD = 'system-console';
export const CONSOLE_RECORD_VERSION = 1;

/** Guest time (ticks: 1 ms) the UART must have been open before it gets console input. */
export const CONSOLE_SETTLE = 10_000n;
/** Empty line-status reads in a row that mean a guest waits for input. */
export const POLLS_FOR_INPUT = 64;
const PANIC = 'Kernel panic - not syncing';
/** Longest console line looked at for a panic. */
const MAX_LINE = 512;

export class SystemConsole {
  /** The kernel's panic message, once it has panicked. */
  panic: string | undefined;
  /** Console input not yet handed to the UART. */
  private pending: number[] = [];
  private openSince: bigint | undefined;
  /** Line-status reads in a row that found no data (a guest polling for input). */
  private lsrPolls = 0;
  private line = '';
  private uart: Uart16550 | undefined;

  constructor(private readonly onPanic: (message: string) => void) {}

  /** The UART whose input this console feeds (made after the console,
   *  since its output goes through output() here). */
  attach(uart: Uart16550): void {
    this.uart = uart;
  }

  /** The UART as the bus should see it: reads of its line status are
   *  watched for a guest polling for input (U-Boot, early consoles: no
   *  interrupts). */
  watched(uart: Uart16550): MmioDevice {
    return {
      name: uart.name, base: uart.base, size: uart.size,
      read: (offset: number, size: AccessSize) => {
        const v = uart.read(offset, size);
        if (offset === UartReg.Lsr) this.lsrPolls = (v & BigInt(LSR_DR)) ? 0 : this.lsrPolls + 1;
        return v;
      },
      write: (offset: number, size: AccessSize, value: bigint) => uart.write(offset, size, value),
    };
  }

  /** The guest's console output, looked at line by line for a panic. */
  output(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (b === 0x0a) {
        const at = this.line.indexOf(PANIC);
        if (at >= 0 && this.panic === undefined) {
          this.panic = this.line.slice(at).replace(/\r$/, '');
          this.onPanic(this.panic);
        }
        this.line = '';
      } else if (this.line.length < MAX_LINE) {
        this.line += String.fromCharCode(b);
      }
    }
  }

  /** Bytes typed at the console, held until the guest listens. */
  input(bytes: Uint8Array | string): void {
    for (const b of typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes) this.pending.push(b);
  }

  /** One byte of held input for the SBI console, or -1. */
  read(): number {
    return this.pending.shift() ?? -1;
  }

  /** Hands held input to the UART once the guest listens, at `time` `now`. */
  feed(now: bigint): void {
    const uart = this.uart;
    if (this.pending.length === 0 || uart === undefined) return;
    // Open for reading: receive interrupts on (IER.ERBFI) and OUT2 set, which
    // the 8250 driver does when the port is opened, not while it probes; and
    // so for a while, since its start-up reads the receive register once
    // more "for luck" right after enabling them.
    // Or a guest that polls the line status, again and again, for a byte.
    const lcr = Number(uart.read(UartReg.Lcr, 1));
    const open = (lcr & LCR_DLAB) === 0 && (Number(uart.read(UartReg.Ier, 1)) & IER_ERBFI) !== 0 && (Number(uart.read(UartReg.Mcr, 1)) & MCR_OUT2) !== 0;
    if (this.lsrPolls >= POLLS_FOR_INPUT) this.openSince ??= now - CONSOLE_SETTLE;
    else if (!open) { this.openSince = undefined; return; }
    this.openSince ??= now;
    if (now - this.openSince < CONSOLE_SETTLE) return;
    uart.input(new Uint8Array(this.pending));
    this.pending = [];
  }

  /** The console's state as a record: input held for the guest, since
   *  when the UART has been open, the polls counted, the line so far, and
   *  the panic seen. */
  save(): Uint8Array {
    return new RecordWriter(CONSOLE_RECORD, CONSOLE_RECORD_VERSION)
      .bytes(Uint8Array.from(this.pending))
      .bool(this.openSince !== undefined).u64(BigInt.asUintN(64, this.openSince ?? 0n))
      .u32(Math.min(this.lsrPolls, 0xffff_ffff))
      .string(this.line)
      .bool(this.panic !== undefined).string(this.panic ?? '')
      .finish();
  }

  /** Takes a record `save` wrote; throws CheckpointError and changes
   *  nothing if it cannot. A panic in the record is not reported again. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, CONSOLE_RECORD, [CONSOLE_RECORD_VERSION]);
    const pending = r.bytes('the held input');
    const open = r.bool('open'), since = BigInt.asIntN(64, r.u64('open since'));
    const polls = r.u32('the polls'), line = r.string('the line');
    const panicked = r.bool('panicked'), panic = r.string('the panic');
    r.end();
    if (line.length > MAX_LINE) r.invalid(`a line of ${line.length} characters; at most ${MAX_LINE} are kept`);
    this.pending = Array.from(pending);
    this.openSince = open ? since : undefined;
    this.lsrPolls = polls;
    this.line = line;
    this.panic = panicked ? panic : undefined;
  }
}
