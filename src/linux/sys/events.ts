// Event descriptors: eventfd2, and epoll (epoll_create1, epoll_ctl,
// epoll_pwait, epoll_pwait2) over the process's descriptors. Go's runtime
// waits for timers and non-blocking descriptors in epoll_pwait (its
// netpoller), and wakes it through a pipe (Go 1.19) or an eventfd (later).
//
// Readiness is what each description's poll() says: pipes and eventfds
// change, the standard streams are always ready. As on Linux, regular files
// and directories cannot be watched (EPERM: programs, Go's os package among
// them, then do blocking I/O on them). An epoll_pwait with nothing ready
// waits for I/O (threads.ts): any change to a pipe or eventfd runs it again,
// its deadline kept. Edge-triggered interests (EPOLLET) report a descriptor
// again only once it has changed since it was last reported (a pipe or an
// eventfd counts its changes; a stream that is always ready reports once).
// Ready descriptors are reported in the order they were added (Linux: in the
// order they became ready), a level-triggered one going to the back once
// reported.
import { EAGAIN, EBADF, EEXIST, EINVAL, ENOENT, EPERM, ESPIPE } from '../errno.js';
import type { SyscallFamily, SyscallHandler } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';
import {
  Description, DirectoryDescription, FileDescription, PipeEnd, WouldBlock, POLLIN, POLLOUT, POLLPRI, type IoEvents,
} from '../fs/file-table.js';
import { FsError, O_CLOEXEC, O_NONBLOCK, O_RDWR, type Stat, type Timespec } from '../fs/types.js';
import { guarded, PathDescription } from './files.js';
import { readTimespec } from './process.js';

// include/uapi/linux/eventpoll.h
const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
const EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLRDNORM = 0x40, EPOLLWRNORM = 0x100;
const EPOLLEXCLUSIVE = 1 << 28, EPOLLWAKEUP = 1 << 29, EPOLLONESHOT = 1 << 30, EPOLLET = 1 << 31;
/** The flags EPOLLEXCLUSIVE may come with (fs/eventpoll.c EPOLLEXCLUSIVE_OK_BITS). */
const EXCLUSIVE_OK = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/** struct epoll_event on riscv64: u32 events, 4 bytes of padding, u64 data
 *  (only x86-64 packs it into 12). */
const EVENT_BYTES = 16;
/** EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event). */
const MAX_EVENTS = Math.floor(0x7fffffff / EVENT_BYTES);
/** EP_MAX_NESTS: how deep epoll instances may watch each other. */
const MAX_NESTS = 4;
const ELOOP = 40;
// include/uapi/linux/eventfd.h
const EFD_SEMAPHORE = 1;
const EFD_CLOEXEC = O_CLOEXEC, EFD_NONBLOCK = O_NONBLOCK;
/** An eventfd's counter never exceeds this (ULLONG_MAX - 1). */
const EVENTFD_MAX = 0xfffffffffffffffen;

const EPOCH: Timespec = { sec: 0n, nsec: 0 };
let nextAnonIno = 0x4000n;

/** What fstat says of an anonymous inode (eventfd, eventpoll): no file type, mode 0600. */
function anonStat(ino: bigint): Stat {
  return {
    dev: 0xen, ino, mode: 0o600, nlink: 1, uid: 0, gid: 0, rdev: 0n, size: 0n, blksize: 4096, blocks: 0n,
    atime: EPOCH, mtime: EPOCH, ctime: EPOCH,
  };
}

/** An eventfd: a 64-bit counter that write adds to and read takes (all of
 *  it, or one in semaphore mode). */
export class EventFd extends Description {
  /** Counts changes, for edge-triggered epoll. */
  version = 0;
  private readonly ino = nextAnonIno++;

  constructor(public count: bigint, readonly semaphore: boolean, flags: number, private readonly events: IoEvents) {
    super(flags);
  }

  override read(buf: Uint8Array, pos?: number): number {
    if (pos !== undefined) throw new FsError(ESPIPE, undefined, 'pread');
    if (buf.length < 8) throw new FsError(EINVAL, undefined, 'read');
    if (this.count === 0n) throw this.flags & O_NONBLOCK ? new FsError(EAGAIN, undefined, 'read') : new WouldBlock('read', 'an eventfd');
    const value = this.semaphore ? 1n : this.count;
    this.count -= value;
    new DataView(buf.buffer, buf.byteOffset, 8).setBigUint64(0, value, true);
    this.changed();
    return 8;
  }

  override write(data: Uint8Array, pos?: number): number {
    if (pos !== undefined) throw new FsError(ESPIPE, undefined, 'pwrite');
    if (data.length < 8) throw new FsError(EINVAL, undefined, 'write');
    const value = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
    if (value === 0xffffffffffffffffn) throw new FsError(EINVAL, undefined, 'write');
    if (EVENTFD_MAX - this.count < value) {
      throw this.flags & O_NONBLOCK ? new FsError(EAGAIN, undefined, 'write') : new WouldBlock('write', 'an eventfd');
    }
    this.count += value;
    this.changed();
    return 8;
  }

  override poll(events: number): number {
    return events & ((this.count > 0n ? POLLIN : 0) | (this.count < EVENTFD_MAX ? POLLOUT : 0));
  }
  override stat(): Stat { return anonStat(this.ino); }
  override linkName(): string { return 'anon_inode:[eventfd]'; }

  private changed(): void {
    this.version++;
    this.events.epoch++;
  }
}

/** One watched descriptor: Linux keys it by the descriptor number and the
 *  open file behind it, and drops it when that file's last descriptor closes. */
export interface Interest {
  fd: number;
  description: Description;
  events: number;
  data: bigint;
  /** The description's version when last reported (edge-triggered), -1 for never. */
  reported: number;
  /** EPOLLONESHOT has fired: nothing more until EPOLL_CTL_MOD. */
  disarmed: boolean;
}

/** How many changes a description has had (0 for one that never changes). */
function versionOf(d: Description): number {
  if (d instanceof PipeEnd) return d.pipe.version;
  if (d instanceof EventFd) return d.version;
  return 0;
}

/** What the description is ready for, as epoll bits (EPOLLRDNORM beside
 *  EPOLLIN, EPOLLWRNORM beside EPOLLOUT, as pipe_poll and eventfd_poll say). */
function readiness(d: Description): number {
  const r = d.poll(POLLIN | POLLOUT | POLLPRI);
  return r | (r & POLLIN ? EPOLLRDNORM : 0) | (r & POLLOUT ? EPOLLWRNORM : 0);
}

/** An epoll instance: the interest list, in the order descriptors were added
 *  (a level-triggered one that was reported goes to the back, so that a
 *  small maxevents still sees every ready descriptor in turn). */
export class Epoll extends Description {
  readonly interests: Interest[] = [];
  private readonly ino = nextAnonIno++;

  constructor(flags: number) {
    super(flags);
  }

  /** The interest list as it stands, closed files forgotten (a checkpoint). */
  liveInterests(): readonly Interest[] {
    this.forgetClosed();
    return this.interests;
  }

  find(fd: number, d: Description): Interest | undefined {
    return this.interests.find((i) => i.fd === fd && i.description === d);
  }

  /** Takes up to `max` ready events: [events, data] pairs. */
  collect(max: number): [number, bigint][] {
    this.forgetClosed();
    const out: [number, bigint][] = [];
    const again: Interest[] = [];
    for (const i of [...this.interests]) {
      if (out.length >= max) break;
      const revents = this.revents(i);
      if (revents === 0) continue;
      out.push([revents, i.data]);
      i.reported = versionOf(i.description);
      if (i.events & EPOLLONESHOT) i.disarmed = true;
      else if (!(i.events & EPOLLET)) again.push(i);
    }
    for (const i of again) {
      this.interests.splice(this.interests.indexOf(i), 1);
      this.interests.push(i);
    }
    return out;
  }

  /** Whether anything is ready, without taking it (poll of the epoll
   *  itself; `depth` counts the instances watching this one). */
  anyReady(depth = 0): boolean {
    this.forgetClosed();
    return this.interests.some((i) => this.revents(i, depth) !== 0);
  }

  private revents(i: Interest, depth = 0): number {
    if (i.disarmed) return 0;
    if (i.events & EPOLLET && i.reported === versionOf(i.description)) return 0;
    const d = i.description;
    const ready = d instanceof Epoll ? (depth < MAX_NESTS && d.anyReady(depth + 1) ? EPOLLIN | EPOLLRDNORM : 0) : readiness(d);
    return ready & (i.events | EPOLLERR | EPOLLHUP) & ~(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP);
  }

  // A description whose every descriptor has closed is no longer watched.
  private forgetClosed(): void {
    for (let k = this.interests.length - 1; k >= 0; k--) if (this.interests[k].description.refs === 0) this.interests.splice(k, 1);
  }

  /** Whether this instance watches `other`, directly or through others. */
  watches(other: Epoll, depth = 0): boolean {
    if (depth > MAX_NESTS) return true;
    return this.interests.some((i) => i.description === other || (i.description instanceof Epoll && i.description.watches(other, depth + 1)));
  }

  override poll(events: number): number { return this.anyReady() ? events & POLLIN : 0; }
  override stat(): Stat { return anonStat(this.ino); }
  override linkName(): string { return 'anon_inode:[eventpoll]'; }
  override release(): void { this.interests.length = 0; }
}

const intArg = (a: bigint): number => Number(BigInt.asIntN(32, a));
const err = (errno: number): bigint => -BigInt(errno);

// eventfd2(initval, flags)
function sysEventfd2(p: ProcessVM, [initval, flagsArg]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  if (flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK)) return err(EINVAL);
  const d = new EventFd(initval & 0xffffffffn, (flags & EFD_SEMAPHORE) !== 0, O_RDWR | (flags & EFD_NONBLOCK), p.files.ioEvents);
  return BigInt(p.files.install(d, undefined, (flags & EFD_CLOEXEC) !== 0));
}

// epoll_create1(flags): EPOLL_CLOEXEC is O_CLOEXEC.
function sysEpollCreate1(p: ProcessVM, [flagsArg]: bigint[]): bigint {
  const flags = intArg(flagsArg);
  if (flags & ~O_CLOEXEC) return err(EINVAL);
  return BigInt(p.files.install(new Epoll(O_RDWR), undefined, flags !== 0));
}

/** Whether epoll can watch the description (file_can_poll): regular files,
 *  directories and devices without a poll method cannot be. */
function watchable(d: Description): boolean {
  if (d instanceof FileDescription) return d.isTty();
  return !(d instanceof DirectoryDescription);
}

// epoll_ctl(epfd, op, fd, event*), checked in fs/eventpoll.c's order.
function sysEpollCtl(p: ProcessVM, [epfdArg, opArg, fdArg, eventPtr]: bigint[]): bigint {
  const op = intArg(opArg);
  let events = 0, data = 0n;
  if (op !== EPOLL_CTL_DEL) {
    const v = p.user.struct(eventPtr, EVENT_BYTES);
    events = v.getUint32(0, true);
    data = v.getBigUint64(8, true);
  }
  const epfd = intArg(epfdArg), fd = intArg(fdArg);
  const ep = p.files.get(epfd);
  const target = p.files.get(fd);
  if (ep instanceof PathDescription || target instanceof PathDescription) return err(EBADF);
  if (!watchable(target)) return err(EPERM);
  if (!(ep instanceof Epoll) || ep === target) return err(EINVAL);
  if (events & EPOLLEXCLUSIVE) {
    if (op === EPOLL_CTL_MOD) return err(EINVAL);
    if (op === EPOLL_CTL_ADD && (target instanceof Epoll || (events & ~EXCLUSIVE_OK) !== 0)) return err(EINVAL);
  }
  const existing = ep.find(fd, target);
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (existing) return err(EEXIST);
      if (target instanceof Epoll && target.watches(ep)) return err(ELOOP);
      ep.interests.push({ fd, description: target, events: (events | EPOLLERR | EPOLLHUP) >>> 0, data, reported: -1, disarmed: false });
      return 0n;
    }
    case EPOLL_CTL_MOD:
      if (!existing) return err(ENOENT);
      if (existing.events & EPOLLEXCLUSIVE) return err(EINVAL);
      existing.events = (events | EPOLLERR | EPOLLHUP) >>> 0;
      existing.data = data;
      existing.reported = -1;
      existing.disarmed = false;
      return 0n;
    case EPOLL_CTL_DEL:
      if (!existing) return err(ENOENT);
      ep.interests.splice(ep.interests.indexOf(existing), 1);
      return 0n;
    default:
      return err(EINVAL);
  }
}

/**
 * The common part of epoll_pwait and epoll_pwait2: ready events into the
 * guest's array, or a wait for I/O until `timeoutNs` (undefined: forever)
 * passes. The signal mask is read (EFAULT) but not applied: a signal
 * interrupts the wait (EINTR) whatever it says. As in do_epoll_pwait, the
 * array is only written when something is ready, and events are copied
 * until one meets a byte the guest cannot write: those before it count,
 * the rest stay ready, and a first one that cannot be written is EFAULT.
 */
function epollWait(p: ProcessVM, epfdArg: bigint, eventsPtr: bigint, maxArg: bigint, timeoutNs: bigint | undefined,
  sigmask: bigint, sigsetsize: bigint): bigint {
  if (sigmask !== 0n) {
    if (sigsetsize !== 8n) return err(EINVAL);
    p.user.read(sigmask, 8);
  }
  const max = intArg(maxArg);
  if (max <= 0 || max > MAX_EVENTS) return err(EINVAL);
  const ep = p.files.get(intArg(epfdArg));
  if (!(ep instanceof Epoll)) return err(EINVAL);
  if (ep.anyReady()) {
    const room = Math.floor(p.user.writablePrefix(eventsPtr, max * EVENT_BYTES) / EVENT_BYTES);
    if (room === 0) p.user.check(eventsPtr, EVENT_BYTES, 'write');
    const ready = ep.collect(Math.min(max, room));
    const out = new DataView(new ArrayBuffer(ready.length * EVENT_BYTES));
    ready.forEach(([events, data], k) => {
      out.setUint32(k * EVENT_BYTES, events >>> 0, true);
      out.setBigUint64(k * EVENT_BYTES + 8, data, true);
    });
    p.user.write(eventsPtr, new Uint8Array(out.buffer));
    return BigInt(ready.length);
  }
  if (timeoutNs === 0n) return 0n;
  const deadline = timeoutNs === undefined ? undefined : p.threads.deadlineAfter(timeoutNs);
  return p.threads.blockForIo(deadline, 0n, 'in epoll_pwait', true);
}

// epoll_pwait(epfd, events*, maxevents, timeout ms (negative: forever), sigmask*, sigsetsize)
function sysEpollPwait(p: ProcessVM, [epfd, events, max, timeout, sigmask, sigsetsize]: bigint[]): bigint {
  const ms = intArg(timeout);
  return epollWait(p, epfd, events, max, ms < 0 ? undefined : BigInt(ms) * 1_000_000n, sigmask, sigsetsize);
}

// epoll_pwait2(epfd, events*, maxevents, timeout timespec* (NULL: forever), sigmask*, sigsetsize)
function sysEpollPwait2(p: ProcessVM, [epfd, events, max, timeout, sigmask, sigsetsize]: bigint[]): bigint {
  let ns: bigint | undefined;
  if (timeout !== 0n) {
    ns = readTimespec(p, timeout);
    if (ns === undefined) return err(EINVAL);
  }
  return epollWait(p, epfd, events, max, ns, sigmask, sigsetsize);
}

const entry = (name: string, argc: number, handler: SyscallHandler) => ({ name, argc, handler: guarded(handler) });

export const EVENT_SYSCALLS: SyscallFamily = [
  [19, entry('eventfd2', 2, sysEventfd2)],
  [20, entry('epoll_create1', 1, sysEpollCreate1)],
  [21, entry('epoll_ctl', 4, sysEpollCtl)],
  [22, entry('epoll_pwait', 6, sysEpollPwait)],
  [441, entry('epoll_pwait2', 6, sysEpollPwait2)],
];
