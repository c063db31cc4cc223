/**
 * A National Semiconductor 16550A UART (DT compatible "ns16550a"), registers
 * one byte apart (reg-shift 0) as on QEMU virt. Offsets:
 *
 *   0  RBR (read) / THR (write); DLL when LCR.DLAB
 *   1  IER (ERBFI 0x01, ETBEI 0x02, ELSI 0x04, EDSSI 0x08); DLM when LCR.DLAB
 *   2  IIR (read) / FCR (write)
 *   3  LCR (bit 7 DLAB)
 *   4  MCR (DTR 0x01, RTS 0x02, OUT1 0x04, OUT2 0x08, LOOP 0x10)
 *   5  LSR (DR 0x01, OE 0x02, PE 0x04, FE 0x08, BI 0x10, THRE 0x20, TEMT 0x40)
 *   6  MSR (DCTS, DDSR, TERI, DDCD, CTS, DSR, RI, DCD)
 *   7  SCR
 *
 * The transmitter is infinitely fast: a byte written to THR goes straight to
 * `output` (or, in loopback mode, to the receiver), so THR and the shift
 * register are always empty (LSR.THRE and LSR.TEMT always read 1).
 *
 * THR-empty interrupt: the condition is latched when THR becomes empty (after
 * every transmitted byte) and when ETBEI goes from 0 to 1 (THR being empty);
 * it is cleared by a read of IIR that reports it, or by a write to THR (which
 * empties again at once, so it is re-latched). This is what Linux's 8250
 * driver probes for at start-up (the UART_BUG_THRE and UART_BUG_TXEN tests).
 *
 * Receiver: bytes given to `input()` go to an unbounded host-side queue that
 * feeds the receive FIFO (16 bytes in FIFO mode, 1 otherwise), so nothing is
 * ever dropped. "Received data available" (IIR 0x4) is reported when the FIFO
 * holds at least the trigger level, "character timeout" (IIR 0xc) when it
 * holds fewer (there is no clock: the timeout is taken to have expired).
 *
 * IIR priorities: line status (0x6) > received data (0x4 / 0xc) > THR empty
 * (0x2) > modem status (0x0); bit 0 set = nothing pending; bits 7:6 = 11 when
 * the FIFOs are enabled. The IRQ line is high while IIR has something to
 * report (OUT2 does not gate it, as on QEMU).
 */

import type { AccessSize, IrqLine, MmioDevice } from './bus.js';
import { RecordReader, RecordWriter } from '../../hypervisor/persist.js';

/** The tag and version of the UART's saved record (docs/CHECKPOINTS.md). */
export const UART16550_RECORD = 'uart16550';
export const UART16550_RECORD_VERSION = 1;

export interface Uart16550Options {
  base?: bigint;
  size?: bigint;
  irq: IrqLine;
  output: (bytes: Uint8Array) => void;
  name?: string;
}

/** Register offsets (reg-shift 0), as the 16550A data sheet names them; the
 *  same offset is another register for reads and writes, or with LCR.DLAB. */
export enum UartReg {
  /** RBR (read), THR (write); DLL when LCR.DLAB. */
  RbrThr = 0,
  /** IER; DLM when LCR.DLAB. */
  Ier = 1,
  /** IIR (read), FCR (write). */
  IirFcr = 2,
  Lcr = 3,
  Mcr = 4,
  Lsr = 5,
  Msr = 6,
  Scr = 7,
}

export const IER_ERBFI = 0x01, IER_ETBEI = 0x02, IER_ELSI = 0x04, IER_EDSSI = 0x08;
/** The IER bits that exist (the rest read 0). */
const IER_MASK = IER_ERBFI | IER_ETBEI | IER_ELSI | IER_EDSSI;
export const LCR_DLAB = 0x80;
export const MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
/** The MCR bits that exist (the rest read 0). */
const MCR_MASK = MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2 | MCR_LOOP;
export const LSR_DR = 0x01, LSR_OE = 0x02, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40, LSR_FIFOERR = 0x80;
const LSR_ERRORS = 0x1e;
const MSR_DCTS = 0x01, MSR_DDSR = 0x02, MSR_TERI = 0x04, MSR_DDCD = 0x08;
const MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;
const IIR_NONE = 0x01, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06, IIR_TIMEOUT = 0x0c;
const IIR_FIFO = 0xc0;
const FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02;
/** FCR bits 7:6: the receive FIFO's trigger level, an index into TRIGGER. */
const FCR_TRIGGER_SHIFT = 6;
const FIFO_DEPTH = 16;
const TRIGGER = [1, 4, 8, 14];

export class Uart16550 implements MmioDevice {
  readonly name: string;
  readonly base: bigint;
  readonly size: bigint;
  private readonly irq: IrqLine;
  private readonly output: (bytes: Uint8Array) => void;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0;
  private msrDelta = 0;
  private msrLines = MSR_CTS | MSR_DSR | MSR_DCD;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  private fifoEnabled = false;
  private trigger = 1;
  private thrPending = false;
  private irqLevel = false;

  /** The receive FIFO (or holding register), oldest first. */
  private rx: number[] = [];
  /** Host-side input not yet in the FIFO. */
  private hostQueue: Uint8Array[] = [];
  private hostHead = 0; // read position in hostQueue[0]
  private hostBytes = 0;

  constructor(opts: Uart16550Options) {
    this.name = opts.name ?? 'uart0';
    this.base = opts.base ?? 0x1000_0000n;
    this.size = opts.size ?? 0x100n;
    this.irq = opts.irq;
    this.output = opts.output;
    this.irq.set(false);
  }

  /** Queue bytes for the guest to receive (copied; never dropped). */
  input(bytes: Uint8Array | string): void {
    const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes.slice();
    if (b.length === 0) return;
    this.hostQueue.push(b);
    this.hostBytes += b.length;
    this.refill();
    this.update();
  }

  /** Bytes received but not yet read by the guest (FIFO + host queue). */
  get pendingInput(): number {
    return this.rx.length + this.hostBytes;
  }

  /** The divisor latch (DLM:DLL). */
  get divisor(): number {
    return (this.dlm << 8) | this.dll;
  }

  private get depth(): number {
    return this.fifoEnabled ? FIFO_DEPTH : 1;
  }

  private refill(): void {
    const depth = this.depth;
    while (this.rx.length < depth && this.hostBytes > 0) {
      const chunk = this.hostQueue[0];
      this.rx.push(chunk[this.hostHead++]);
      this.hostBytes--;
      if (this.hostHead === chunk.length) { this.hostQueue.shift(); this.hostHead = 0; }
    }
  }

  private msr(): number {
    if (this.mcr & MCR_LOOP) {
      let v = 0;
      if (this.mcr & MCR_RTS) v |= MSR_CTS;
      if (this.mcr & MCR_DTR) v |= MSR_DSR;
      if (this.mcr & MCR_OUT1) v |= MSR_RI;
      if (this.mcr & MCR_OUT2) v |= MSR_DCD;
      return v;
    }
    return this.msrLines;
  }

  /** The interrupt IIR would report now (low 4 bits), IIR_NONE if none. */
  private source(): number {
    if (this.ier & IER_ELSI && this.lsrErrors & LSR_ERRORS) return IIR_RLSI;
    if (this.ier & IER_ERBFI && this.rx.length > 0) {
      return this.fifoEnabled && this.rx.length < this.trigger ? IIR_TIMEOUT : IIR_RDI;
    }
    if (this.ier & IER_ETBEI && this.thrPending) return IIR_THRI;
    if (this.ier & IER_EDSSI && this.msrDelta) return IIR_MSI;
    return IIR_NONE;
  }

  private update(): void {
    const level = this.source() !== IIR_NONE;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  private transmit(byte: number): void {
    this.thrPending = false;
    if (this.mcr & MCR_LOOP) {
      if (this.rx.length < this.depth) this.rx.push(byte);
      else this.lsrErrors |= LSR_OE;
    } else {
      this.output(Uint8Array.of(byte));
    }
    // The byte left at once: THR is empty again.
    this.thrPending = true;
  }

  private setMcr(v: number): void {
    const before = this.msr();
    this.mcr = v & MCR_MASK;
    const after = this.msr();
    const changed = before ^ after;
    if (changed & MSR_CTS) this.msrDelta |= MSR_DCTS;
    if (changed & MSR_DSR) this.msrDelta |= MSR_DDSR;
    if (before & MSR_RI && !(after & MSR_RI)) this.msrDelta |= MSR_TERI; // trailing edge of RI
    if (changed & MSR_DCD) this.msrDelta |= MSR_DDCD;
  }

  private readReg(reg: number): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (reg) {
      case UartReg.RbrThr: {
        if (dlab) return this.dll;
        const b = this.rx.length > 0 ? (this.rx.shift() as number) : 0;
        this.refill();
        this.update();
        return b;
      }
      case UartReg.Ier:
        return dlab ? this.dlm : this.ier;
      case UartReg.IirFcr: {
        const src = this.source();
        if (src === IIR_THRI) { this.thrPending = false; this.update(); }
        return src | (this.fifoEnabled ? IIR_FIFO : 0);
      }
      case UartReg.Lcr:
        return this.lcr;
      case UartReg.Mcr:
        return this.mcr;
      case UartReg.Lsr: {
        let v = LSR_THRE | LSR_TEMT | this.lsrErrors;
        if (this.rx.length > 0) v |= LSR_DR;
        if (this.fifoEnabled && this.lsrErrors & (LSR_ERRORS & ~LSR_OE)) v |= LSR_FIFOERR;
        if (this.lsrErrors) { this.lsrErrors = 0; this.update(); }
        return v;
      }
      case UartReg.Msr: {
        const v = this.msr() | this.msrDelta;
        if (this.msrDelta) { this.msrDelta = 0; this.update(); }
        return v;
      }
      case UartReg.Scr:
        return this.scr;
    }
    return 0;
  }

  private writeReg(reg: number, v: number): void {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (reg) {
      case UartReg.RbrThr:
        if (dlab) this.dll = v;
        else this.transmit(v);
        break;
      case UartReg.Ier:
        if (dlab) { this.dlm = v; break; }
        {
          const old = this.ier;
          this.ier = v & IER_MASK;
          // THR is always empty: enabling ETBEI raises the THRE interrupt.
          if (this.ier & IER_ETBEI && !(old & IER_ETBEI)) this.thrPending = true;
        }
        break;
      case UartReg.IirFcr: {
        const enable = (v & FCR_ENABLE) !== 0;
        if (enable !== this.fifoEnabled) {
          this.fifoEnabled = enable;
          this.rx = []; // changing the FIFO mode clears both FIFOs
        } else if (v & FCR_CLEAR_RX) {
          this.rx = [];
        }
        if (enable) this.trigger = TRIGGER[(v >> FCR_TRIGGER_SHIFT) & 3];
        this.refill();
        break;
      }
      case UartReg.Lcr:
        this.lcr = v; // word length, parity, break control: nothing on a virtual wire
        break;
      case UartReg.Mcr:
        this.setMcr(v);
        break;
      case UartReg.Lsr:
      case UartReg.Msr:
        break; // LSR and MSR are read-only here (factory test writes ignored)
      case UartReg.Scr:
        this.scr = v;
        break;
    }
    this.update();
  }

  /** Signal a break condition on the receive line (LSR.BI, a line status
   *  interrupt if enabled) with a zero byte, as a terminal's break does. */
  sendBreak(): void {
    this.lsrErrors |= LSR_BI;
    this.hostQueue.push(Uint8Array.of(0));
    this.hostBytes++;
    this.refill();
    this.update();
  }

  /** The device's state as a record: registers, the receive FIFO, and the
   *  host's input not yet in it. */
  save(): Uint8Array {
    const host = new Uint8Array(this.hostBytes);
    let at = 0;
    this.hostQueue.forEach((chunk, i) => {
      const part = i === 0 ? chunk.subarray(this.hostHead) : chunk;
      host.set(part, at);
      at += part.length;
    });
    return new RecordWriter(UART16550_RECORD, UART16550_RECORD_VERSION)
      .u8(this.ier).u8(this.lcr).u8(this.mcr).u8(this.lsrErrors).u8(this.msrDelta).u8(this.msrLines)
      .u8(this.scr).u8(this.dll).u8(this.dlm).bool(this.fifoEnabled).u8(this.trigger).bool(this.thrPending)
      .bytes(Uint8Array.from(this.rx)).bytes(host)
      .finish();
  }

  /** Takes the state of a record `save` wrote; the IRQ line is driven to
   *  match it. Throws CheckpointError (and changes nothing) if the record
   *  is not one, or holds what the device could not have been in. */
  restore(record: Uint8Array): void {
    const r = new RecordReader(record, UART16550_RECORD, [UART16550_RECORD_VERSION]);
    const ier = r.u8('IER'), lcr = r.u8('LCR'), mcr = r.u8('MCR'), lsrErrors = r.u8('the line-status errors');
    const msrDelta = r.u8('the modem-status deltas'), msrLines = r.u8('the modem lines');
    const scr = r.u8('SCR'), dll = r.u8('DLL'), dlm = r.u8('DLM');
    const fifoEnabled = r.bool('FIFO enabled'), trigger = r.u8('the trigger level'), thrPending = r.bool('THR-empty latched');
    const rx = r.bytes('the receive FIFO'), host = r.bytes('the pending input');
    r.end();
    if (ier & ~IER_MASK) r.invalid(`IER 0x${ier.toString(16)} has bits that do not exist`);
    if (mcr & ~MCR_MASK) r.invalid(`MCR 0x${mcr.toString(16)} has bits that do not exist`);
    if (lsrErrors & ~LSR_ERRORS) r.invalid(`line-status errors 0x${lsrErrors.toString(16)} are not error bits`);
    if (msrDelta & ~(MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD)) r.invalid(`modem-status deltas 0x${msrDelta.toString(16)} are not delta bits`);
    if (msrLines & ~(MSR_CTS | MSR_DSR | MSR_RI | MSR_DCD)) r.invalid(`modem lines 0x${msrLines.toString(16)} are not line bits`);
    if (!TRIGGER.includes(trigger)) r.invalid(`trigger level ${trigger} is not one of ${TRIGGER.join(', ')}`);
    const depth = fifoEnabled ? FIFO_DEPTH : 1;
    if (rx.length > depth) r.invalid(`${rx.length} bytes in a receive FIFO of ${depth}`);
    if (host.length > 0 && rx.length < depth) r.invalid(`pending input waits while the receive FIFO has room`);
    this.ier = ier; this.lcr = lcr; this.mcr = mcr; this.lsrErrors = lsrErrors; this.msrDelta = msrDelta;
    this.msrLines = msrLines; this.scr = scr; this.dll = dll; this.dlm = dlm;
    this.fifoEnabled = fifoEnabled; this.trigger = trigger; this.thrPending = thrPending;
    this.rx = Array.from(rx);
    this.hostQueue = host.length > 0 ? [host] : [];
    this.hostHead = 0;
    this.hostBytes = host.length;
    this.irqLevel = this.source() !== IIR_NONE;
    this.irq.set(this.irqLevel);
  }

  read(offset: number, _size: AccessSize): bigint {
    if (offset < UartReg.RbrThr || offset > UartReg.Scr) return 0n;
    return BigInt(this.readReg(offset) & 0xff);
  }

  write(offset: number, _size: AccessSize, value: bigint): void {
    if (offset < UartReg.RbrThr || offset > UartReg.Scr) return;
    this.writeReg(offset, Number(value & 0xffn));
  }
}
