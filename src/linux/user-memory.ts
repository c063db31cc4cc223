// Guest memory as a system call may touch it: the one checked accessor of the
// process VM, the analogue of Linux's copy_from_user / copy_to_user.
//
// The rule (docs/SECURITY.md, "Guest memory from ring -1"): ring -1 reads
// only bytes the guest itself could load (user R) and writes only bytes it
// could store (user W), on pages that are mapped; anything else is a
// UserFault, which the system-call dispatch (syscalls.ts) turns into -EFAULT
// unless the call has its own semantics (a short count, a SIGSEGV). Writes
// drop the translations made from the pages written, so a translated copy of
// guest code can never outlive a change ring -1 made to it.
//
// The permissions are the ones the CPU enforces (Cpu.accessiblePrefix over
// its page-permission table), so a page of a file mapping past the end of its
// file, which the CPU refuses, is refused here too, as Linux refuses it.
import { type Cpu, GuestMemoryError, Perm } from '../cpu/cpu.js';

export type Access = 'read' | 'write';

/** A system call named guest memory the guest could not access that way. */
export class UserFault extends GuestMemoryError {
  constructor(addr: bigint, length: number, readonly access: Access, readonly firstBad: bigint) {
    super(addr, length);
    this.name = 'UserFault';
    this.message = `guest ${access} of 0x${addr.toString(16)}+${length}: 0x${firstBad.toString(16)} is not ${access === 'read' ? 'readable' : 'writable'} by the guest`;
  }
}

const permFor = (access: Access): number => (access === 'read' ? Perm.R : Perm.W);

export class UserMemory {
  /** Copies handed out by writeView for buffers that are not one piece of
   *  RAM (they span two slots of the address space), written back by flush(). */
  private readonly pending: { addr: bigint; data: Uint8Array }[] = [];

  /** A page the CPU refuses may be one of a shared file mapping whose
   *  permissions are withheld until the guest's first access
   *  (shared-maps.ts): this serves it as the guest's fault would, true when
   *  it changed something (the page is asked about again). */
  onInaccessible: ((addr: bigint) => boolean) | undefined;
  /** Told, when each system call ends (flush), of the guest bytes it wrote:
   *  a shared file mapping's pages written by ring -1 are dirty even if a
   *  write-back came between the check and the write (read(2) from a file
   *  into a mapping of the same file writes it back first). */
  onCallWrote: ((addr: bigint, length: number) => void) | undefined;
  // [addr, length] pairs for onCallWrote.
  private readonly wrote: [bigint, number][] = [];

  constructor(private readonly cpu: Cpu) {}

  // Cpu.accessiblePrefix, with the pages onInaccessible serves served.
  private prefix(addr: bigint, length: number, perms: number): number {
    let ok = this.cpu.accessiblePrefix(addr, length, perms);
    while (ok < length && this.onInaccessible?.(addr + BigInt(ok))) ok = this.cpu.accessiblePrefix(addr, length, perms);
    return ok;
  }

  // check(), and for a write the bytes noted for onCallWrote.
  private checkWrite(addr: bigint, length: number): void {
    this.check(addr, length, 'write');
    if (this.onCallWrote) this.wrote.push([addr, length]);
  }

  /** How many bytes from `addr` (at most `length`) the guest could read. */
  readablePrefix(addr: bigint, length: number): number { return this.prefix(addr, length, Perm.R); }
  /** How many bytes from `addr` (at most `length`) the guest could write. */
  writablePrefix(addr: bigint, length: number): number { return this.prefix(addr, length, Perm.W); }
  canRead(addr: bigint, length: number): boolean { return length <= 0 || this.readablePrefix(addr, length) === length; }
  canWrite(addr: bigint, length: number): boolean { return length <= 0 || this.writablePrefix(addr, length) === length; }

  /** Throws UserFault unless the guest could access all of [addr, addr+length). */
  check(addr: bigint, length: number, access: Access): void {
    if (length <= 0) return;
    const ok = this.prefix(addr, length, permFor(access));
    if (ok < length) throw new UserFault(addr, length, access, addr + BigInt(ok));
  }

  // ---- reads (copy_from_user) ----

  /** A copy of guest bytes the guest could read. */
  read(addr: bigint, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    this.check(addr, length, 'read');
    return this.cpu.readBytes(addr, length);
  }

  /** A view (not a copy) of readable guest bytes, for a call that uses them
   *  at once and keeps nothing (write(2) hands it to the file). */
  readView(addr: bigint, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    this.check(addr, length, 'read');
    return this.view(addr, length);
  }

  /** A view (or, across two slots, a copy) of the readable start of
   *  [addr, addr+length): what write(2) takes of a buffer readable only in
   *  part. UserFault when not even its first byte is readable. */
  readablePrefixView(addr: bigint, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    const n = this.readablePrefix(addr, length);
    if (n === 0) throw new UserFault(addr, length, 'read', addr);
    return this.view(addr, n);
  }

  // Checked bytes, as a view; a buffer across two slots is not one piece
  // of RAM: a copy then.
  private view(addr: bigint, length: number): Uint8Array {
    return this.cpu.isContiguous(addr, length) ? this.cpu.peekBytes(addr, length) : this.cpu.readBytes(addr, length);
  }

  /** A copy of readable guest bytes as a DataView (a struct the call decodes). */
  struct(addr: bigint, length: number): DataView {
    return new DataView(this.read(addr, length).buffer);
  }

  // Words straight from the checked bytes, without a copy: clock_gettime,
  // rt_sigprocmask and futex are among the most frequent calls.
  read8(addr: bigint): number { this.check(addr, 1, 'read'); return this.cpu.read8(addr); }
  read32(addr: bigint): number { this.check(addr, 4, 'read'); return this.cpu.read32(addr); }
  read64(addr: bigint): bigint { this.check(addr, 8, 'read'); return this.cpu.read64(addr); }

  // ---- writes (copy_to_user) ----

  /** Copies `data` into guest memory the guest could write. */
  write(addr: bigint, data: Uint8Array): void {
    if (data.length === 0) return;
    this.checkWrite(addr, data.length);
    this.cpu.writeBytes(addr, data);
  }

  /** A view of writable guest bytes for a call that fills them (read(2)
   *  reads into it); their translations are dropped now, before the call
   *  writes, which is the same as after since the guest does not run between. */
  writeView(addr: bigint, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    this.checkWrite(addr, length);
    if (!this.cpu.isContiguous(addr, length)) {
      // Across two slots: a copy of the bytes there now (a call may fill
      // only part of it), written back when the call ends (flush).
      const data = this.cpu.readBytes(addr, length);
      this.pending.push({ addr, data });
      return data;
    }
    this.cpu.wrote(addr, length);
    return this.cpu.guestBytes(addr, length);
  }

  /** Writes back the copies writeView handed out (the system-call
   *  dispatch calls it when each call ends). */
  flush(): void {
    if (this.pending.length !== 0) {
      for (const { addr, data } of this.pending) this.cpu.writeBytes(addr, data);
      this.pending.length = 0;
    }
    if (this.wrote.length !== 0) {
      for (const [addr, length] of this.wrote) this.onCallWrote?.(addr, length);
      this.wrote.length = 0;
    }
  }

  write32(addr: bigint, v: number): void {
    this.checkWrite(addr, 4);
    this.cpu.write32(addr, v);
  }

  write64(addr: bigint, v: bigint): void {
    this.checkWrite(addr, 8);
    this.cpu.write64(addr, v);
  }

  /** Writes 64-bit words at addr, addr+8, ... as one access (all or nothing). */
  writeWords(addr: bigint, words: readonly bigint[]): void {
    if (words.length === 0) return;
    this.checkWrite(addr, words.length * 8);
    this.cpu.writeWords64(addr, words);
  }
}
