// Clocks, sleeping and randomness. Time comes from the hypervisor's chosen
// clock (p.clock: the host's, or a virtual one that makes runs
// deterministic), never from the host directly; sleeping lets that clock's
// time pass (the host clock waits, the virtual clock jumps).
import { EINVAL } from '../errno.js';
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';
import { readTimespec } from './process.js';

export const CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3,
  CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5, CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7,
  CLOCK_REALTIME_ALARM = 8, CLOCK_BOOTTIME_ALARM = 9, CLOCK_TAI = 11;
const TIMER_ABSTIME = 1n;
/** The coarse clocks tick with the scheduler: one jiffy at HZ=250. */
const COARSE_RESOLUTION_NS = 4_000_000n;
/** CLK_TCK: times() counts in hundredths of a second (AT_CLKTCK). */
const CLK_TCK = 100n;
const NS = 1_000_000_000n;

/** The time of a clock, or undefined for a clock the process cannot read. */
export function clockNs(p: ProcessVM, clock: number): bigint | undefined {
  const c = p.clock;
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_TAI: // TAI's offset from UTC is 0 until someone sets it
      return c.realtimeNs();
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_BOOTTIME_ALARM:
      return c.nowNs();
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      return c.cpuNs();
    default:
      return undefined;
  }
}

/** Writes a struct timespec (or, with unit 1000, a struct timeval): one
 *  access, so a bad pointer leaves all of it unwritten. */
function writeTimespec(p: ProcessVM, ptr: bigint, ns: bigint, unit: bigint = 1n): void {
  p.user.writeWords(ptr, [ns / NS, (ns % NS) / unit]);
}

// clock_gettime(clockid, tp): struct timespec { i64 tv_sec, i64 tv_nsec }.
function sysClockGettime(p: ProcessVM, [clockid, tp]: bigint[]): bigint {
  const ns = clockNs(p, Number(BigInt.asIntN(32, clockid)));
  if (ns === undefined) return -BigInt(EINVAL);
  writeTimespec(p, tp, ns);
  return 0n;
}

function sysClockGetres(p: ProcessVM, [clockid, res]: bigint[]): bigint {
  const clock = Number(BigInt.asIntN(32, clockid));
  if (clockNs(p, clock) === undefined) return -BigInt(EINVAL);
  if (res === 0n) return 0n;
  const coarse = clock === CLOCK_REALTIME_COARSE || clock === CLOCK_MONOTONIC_COARSE;
  writeTimespec(p, res, coarse ? COARSE_RESOLUTION_NS : 1n);
  return 0n;
}

// gettimeofday(tv, tz): struct timeval { i64 sec, i64 usec }; the time zone
// (struct timezone { i32 minuteswest, i32 dsttime }) is UTC.
// Each is written in turn, as Linux does: a bad tz leaves tv written.
function sysGettimeofday(p: ProcessVM, [tv, tz]: bigint[]): bigint {
  if (tv !== 0n) writeTimespec(p, tv, p.clock.realtimeNs(), 1000n);
  if (tz !== 0n) p.user.write64(tz, 0n);
  return 0n;
}

// nanosleep(req, rem): the thread leaves the CPU until the time has passed
// (threads.ts). A signal to another thread can interrupt it (EINTR); rem is
// then not written.
function sysNanosleep(p: ProcessVM, [req]: bigint[]): bigint {
  const ns = readTimespec(p, req);
  if (ns === undefined) return -BigInt(EINVAL);
  return sleepFor(p, ns);
}

function sleepFor(p: ProcessVM, ns: bigint): bigint {
  return p.threads.block({ kind: 'sleep', deadline: p.clock.nowNs() + ns }, 0n, 'in a sleep');
}

// clock_nanosleep(clockid, flags, req, rem): relative, or until an absolute
// time of the clock with TIMER_ABSTIME. The thread's CPU clock cannot be slept on.
function sysClockNanosleep(p: ProcessVM, [clockid, flags, req]: bigint[]): bigint {
  const clock = Number(BigInt.asIntN(32, clockid));
  if (clock === CLOCK_THREAD_CPUTIME_ID) return -BigInt(EINVAL);
  const now = clockNs(p, clock);
  if (now === undefined || clock === CLOCK_MONOTONIC_RAW || clock === CLOCK_REALTIME_COARSE || clock === CLOCK_MONOTONIC_COARSE) {
    return -BigInt(EINVAL);
  }
  const ns = readTimespec(p, req);
  if (ns === undefined) return -BigInt(EINVAL);
  return sleepFor(p, (flags & TIMER_ABSTIME) !== 0n ? ns - now : ns);
}

// times(buf): struct tms { clock_t utime, stime, cutime, cstime } in CLK_TCK
// ticks; returns the ticks since boot.
function sysTimes(p: ProcessVM, [buf]: bigint[]): bigint {
  if (buf !== 0n) p.user.writeWords(buf, [(p.clock.cpuNs() * CLK_TCK) / NS, 0n, 0n, 0n]);
  return (p.clock.nowNs() * CLK_TCK) / NS;
}

// ---- randomness ----

const GRND_NONBLOCK = 1n, GRND_RANDOM = 2n, GRND_INSECURE = 4n;
/** crypto.getRandomValues fills at most 64 KiB at a time. */
const RANDOM_CHUNK = 65536;

/** The random source the embedder chose (ProcessVMOptions.random), else the host's. */
function randomSource(p: ProcessVM): (buf: Uint8Array) => void {
  return p.options.random ?? ((b: Uint8Array) => crypto.getRandomValues(b));
}

// getrandom(buf, len, flags): fills up to MAX_RW_COUNT bytes and returns the
// count; the source never runs dry, so GRND_NONBLOCK and GRND_RANDOM change nothing.
function sysGetrandom(p: ProcessVM, [buf, len, flags]: bigint[]): bigint {
  if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) !== 0n) return -BigInt(EINVAL);
  if ((flags & GRND_INSECURE) !== 0n && (flags & GRND_RANDOM) !== 0n) return -BigInt(EINVAL);
  const max = 0x7ffff000n; // MAX_RW_COUNT
  const n = Number(len > max ? max : len);
  if (n === 0) return 0n;
  // Linux fills the buffer in chunks and stops at the first that faults:
  // what it wrote counts, and only a fault before any byte is EFAULT.
  const room = p.user.writablePrefix(buf, n);
  if (room === 0) p.user.check(buf, n, 'write');
  const fill = randomSource(p);
  const out = p.user.writeView(buf, room);
  for (let off = 0; off < room; off += RANDOM_CHUNK) fill(out.subarray(off, Math.min(room, off + RANDOM_CHUNK)));
  return BigInt(room);
}

export const TIME_SYSCALLS: SyscallFamily = [
  [101, { name: 'nanosleep', argc: 2, handler: sysNanosleep }],
  [113, { name: 'clock_gettime', argc: 2, handler: sysClockGettime }],
  [114, { name: 'clock_getres', argc: 2, handler: sysClockGetres }],
  [115, { name: 'clock_nanosleep', argc: 4, handler: sysClockNanosleep }],
  [153, { name: 'times', argc: 1, handler: sysTimes }],
  [169, { name: 'gettimeofday', argc: 2, handler: sysGettimeofday }],
  [278, { name: 'getrandom', argc: 3, handler: sysGetrandom }],
];
