// Process system calls: identity, limits, scheduling, system information,
// and the RISC-V specific calls (threads, futex and exit: sys/threads.ts).
// The VM's first process has pid PID (also its first thread's tid) and
// parent PPID; processes it starts are numbered after it (processes.ts).
// Every process runs as user and group 0 (as the auxv says), on one CPU.
import { EACCES, EFAULT, EINVAL, EPERM, ENOSYS, ESRCH } from '../errno.js';
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';
import { TIMEBASE_HZ } from '../../hypervisor/clock.js';

/** Deterministic identities (QEMU shows the host's; tests do not print them). */
export const PID = 1000;
export const PPID = 999;

export interface ProcessState {
  /** Resource limits by RLIMIT_* number: [soft, hard]. */
  limits: Array<[bigint, bigint]>;
}

const RLIM_INFINITY = (1n << 64n) - 1n;
export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_NLIMITS = 16;

/** Limits as a default Linux login has them (ulimit -a on Debian). */
function defaultLimits(): Array<[bigint, bigint]> {
  const inf: [bigint, bigint] = [RLIM_INFINITY, RLIM_INFINITY];
  const l: Array<[bigint, bigint]> = Array.from({ length: RLIMIT_NLIMITS }, () => [...inf] as [bigint, bigint]);
  l[RLIMIT_STACK] = [8n * 1024n * 1024n, RLIM_INFINITY];
  l[RLIMIT_CORE] = [0n, RLIM_INFINITY];
  l[RLIMIT_NPROC] = [4096n, 4096n];
  l[RLIMIT_NOFILE] = [1024n, 1048576n];
  l[8] = [8n * 1024n * 1024n, 8n * 1024n * 1024n]; // RLIMIT_MEMLOCK
  l[11] = [4096n, 4096n]; // RLIMIT_SIGPENDING
  l[12] = [819200n, 819200n]; // RLIMIT_MSGQUEUE
  l[13] = [0n, 0n]; // RLIMIT_NICE
  l[14] = [0n, 0n]; // RLIMIT_RTPRIO
  return l;
}

const states = new WeakMap<ProcessVM, ProcessState>();

export function processState(p: ProcessVM): ProcessState {
  let s = states.get(p);
  if (!s) {
    s = { limits: defaultLimits() };
    states.set(p, s);
  }
  return s;
}

/** The process state as a plain, versioned record, for checkpoints. */
export interface ProcessRecord {
  version: 2;
  limits: Array<[bigint, bigint]>;
}

export function saveProcess(p: ProcessVM): ProcessRecord {
  const s = processState(p);
  return { version: 2, limits: s.limits.map(([a, b]) => [a, b]) };
}

/** A new process's limits: its parent's (fork). */
export function forkProcessState(parent: ProcessVM, child: ProcessVM): void {
  states.set(child, { limits: processState(parent).limits.map(([a, b]) => [a, b]) });
}

export function restoreProcess(p: ProcessVM, r: ProcessRecord): void {
  if (r.version !== 2) throw new Error(`process state version ${r.version} is not 2 (threads are saved with the thread group since 2)`);
  if (r.limits.length !== RLIMIT_NLIMITS) throw new Error(`process state has ${r.limits.length} limits, not ${RLIMIT_NLIMITS}`);
  const s = processState(p);
  s.limits = r.limits.map(([a, b]) => [a, b]);
}

const enosys = () => -BigInt(ENOSYS);

// uname(buf): struct new_utsname, six fields of 65 bytes. Guests compared
// with QEMU must not print release, version or nodename: QEMU shows the host's.
export const UTSNAME = {
  sysname: 'Linux',
  nodename: 'ringvisor',
  release: '6.1.0-ringvisor',
  version: '#1 SMP PREEMPT_DYNAMIC',
  machine: 'riscv64',
  domainname: '(none)',
};
const UTS_FIELD = 65;

function sysUname(p: ProcessVM, [buf]: bigint[]): bigint {
  const out = new Uint8Array(UTS_FIELD * 6);
  const enc = new TextEncoder();
  [UTSNAME.sysname, UTSNAME.nodename, UTSNAME.release, UTSNAME.version, UTSNAME.machine, UTSNAME.domainname]
    .forEach((s, i) => out.set(enc.encode(s).subarray(0, UTS_FIELD - 1), i * UTS_FIELD));
  p.user.write(buf, out);
  return 0n;
}


// ---- limits ----

function readLimit(p: ProcessVM, ptr: bigint): [bigint, bigint] {
  const v = p.user.struct(ptr, 16);
  return [v.getBigUint64(0, true), v.getBigUint64(8, true)];
}

// prlimit64(pid, resource, new, old): struct rlimit64 { u64 cur, max }.
function sysPrlimit64(p: ProcessVM, [pid, resource, newPtr, oldPtr]: bigint[]): bigint {
  const who = BigInt.asIntN(32, pid);
  if (who !== 0n && who !== BigInt(p.pid)) {
    const q = p.processes.find(Number(who));
    if (!q || q.exitStatus !== undefined) return -BigInt(ESRCH);
    return limit(q, resource, newPtr, oldPtr, p);
  }
  return limit(p, resource, newPtr, oldPtr);
}

// The limits of `p`, read from and written to the memory of `caller` (the
// process that asked, prlimit64 on another process).
function limit(p: ProcessVM, resource: bigint, newPtr: bigint, oldPtr: bigint, caller = p): bigint {
  if (resource >= BigInt(RLIMIT_NLIMITS)) return -BigInt(EINVAL);
  const limits = processState(p).limits;
  const r = Number(resource);
  const old = limits[r];
  let next: [bigint, bigint] | undefined;
  // As sys_prlimit64: the new limit is read first and takes effect before
  // the old one is written, so a bad old pointer fails the call (EFAULT)
  // with the new limit already in place.
  if (newPtr !== 0n) {
    next = readLimit(caller, newPtr);
    if (next[0] > next[1]) return -BigInt(EINVAL);
    // RLIMIT_NOFILE cannot exceed fs.nr_open (1048576 by default).
    if (r === RLIMIT_NOFILE && next[1] > 1048576n) return -BigInt(EPERM);
  }
  if (next) limits[r] = next;
  if (oldPtr !== 0n) caller.user.writeWords(oldPtr, old);
  return 0n;
}

// getrlimit/setrlimit: struct rlimit has two unsigned longs, the same layout on riscv64.
const sysGetrlimit = (p: ProcessVM, [resource, ptr]: bigint[]) => (ptr === 0n ? -BigInt(EFAULT) : limit(p, resource, 0n, ptr));
const sysSetrlimit = (p: ProcessVM, [resource, ptr]: bigint[]) => (ptr === 0n ? -BigInt(EFAULT) : limit(p, resource, ptr, 0n));

// ---- system information ----

// sysinfo(info): struct sysinfo on a 64-bit kernel (112 bytes): uptime, loads[3],
// totalram, freeram, sharedram, bufferram, totalswap, freeswap (longs), procs
// (u16 at 80), totalhigh (88), freehigh (96), mem_unit (u32 at 104).
function sysSysinfo(p: ProcessVM, [ptr]: bigint[]): bigint {
  const cpu = p.cpu;
  const v = new DataView(new ArrayBuffer(112));
  v.setBigUint64(0, p.clock.nowNs() / 1_000_000_000n, true);
  // RAM is what --mem allows; free is what the guest has not yet used.
  const total = cpu.memoryLimit === 0 ? cpu.ramLength / 4096n : BigInt(cpu.memoryLimit);
  const used = BigInt(cpu.memoryUsed);
  v.setBigUint64(32, total * 4096n, true);
  v.setBigUint64(40, used < total ? (total - used) * 4096n : 0n, true);
  v.setUint16(80, 1, true);
  v.setUint32(104, 1, true);
  p.user.write(ptr, new Uint8Array(v.buffer));
  return 0n;
}

// sched_getaffinity(pid, len, mask): one CPU. The kernel copies
// min(len, sizeof(cpumask)) = 8 bytes and returns that size; len must hold a
// whole number of longs covering nr_cpu_ids.
function sysSchedGetaffinity(p: ProcessVM, [pid, len, mask]: bigint[]): bigint {
  const who = BigInt.asIntN(32, pid);
  if (who !== 0n && !p.threads.find(Number(who))) return -BigInt(ESRCH);
  if (len < 8n || (len & 7n) !== 0n) return -BigInt(EINVAL);
  p.user.write64(mask, 1n);
  return 8n;
}

function sysSchedSetaffinity(p: ProcessVM, [pid, len, mask]: bigint[]): bigint {
  const who = BigInt.asIntN(32, pid);
  if (who !== 0n && !p.threads.find(Number(who))) return -BigInt(ESRCH);
  if (len < 8n) return -BigInt(EINVAL);
  return (p.user.read64(mask) & 1n) !== 0n ? 0n : -BigInt(EINVAL);
}

// getrusage(who, usage): struct rusage is two timevals (user, system time)
// and fourteen longs, ru_maxrss (KiB) the first of them.
const RUSAGE_SELF = 0n, RUSAGE_CHILDREN = BigInt.asUintN(64, -1n), RUSAGE_THREAD = 1n;

function sysGetrusage(p: ProcessVM, [who, usage]: bigint[]): bigint {
  if (who !== RUSAGE_SELF && who !== RUSAGE_CHILDREN && who !== RUSAGE_THREAD) return -BigInt(EINVAL);
  const words = new Array<bigint>(18).fill(0n);
  if (who !== RUSAGE_CHILDREN) { // no children: all zero
    const cpu = p.clock.cpuNs();
    words[0] = cpu / 1_000_000_000n;
    words[1] = (cpu % 1_000_000_000n) / 1000n;
    words[4] = BigInt(p.cpu.memoryPeak) * 4n; // KiB of the most pages in use
  }
  p.user.writeWords(usage, words);
  return 0n;
}

// getcpu(cpu, node, cache): always CPU 0 on node 0.
// Each is written in turn, as Linux's put_user calls are.
function sysGetcpu(p: ProcessVM, [cpu, node]: bigint[]): bigint {
  if (cpu !== 0n) p.user.write32(cpu, 0);
  if (node !== 0n) p.user.write32(node, 0);
  return 0n;
}

// The process `pid` names for getpgid, getsid and setpgid: 0 is the caller.
function processOf(p: ProcessVM, pid: bigint): ProcessVM | undefined {
  const who = Number(BigInt.asIntN(32, pid));
  if (who === 0) return p;
  const q = p.processes.find(who);
  return q && q.exitStatus === undefined ? q : undefined;
}

function sysGetpgid(p: ProcessVM, [pid]: bigint[]): bigint {
  const q = processOf(p, pid);
  return q ? BigInt(q.pgid) : -BigInt(ESRCH);
}

function sysGetsid(p: ProcessVM, [pid]: bigint[]): bigint {
  const q = processOf(p, pid);
  return q ? BigInt(q.sid) : -BigInt(ESRCH);
}

// setpgid(pid, pgid), as kernel/sys.c checks it: the caller or a child of
// it (ESRCH) that has not called execve (EACCES), in the caller's session
// and not its leader (EPERM); the group must exist in that session unless
// it is the process's own pid (EPERM).
function sysSetpgid(p: ProcessVM, [pid, pgid]: bigint[]): bigint {
  const group = Number(BigInt.asIntN(32, pgid));
  if (group < 0) return -BigInt(EINVAL);
  const q = processOf(p, pid);
  if (!q || (q !== p && q.parent !== p)) return -BigInt(ESRCH);
  if (q !== p && q.execed) return -BigInt(EACCES);
  if (q.sid === q.pid || q.sid !== p.sid) return -BigInt(EPERM);
  const to = group === 0 ? q.pid : group;
  if (to !== q.pid && !p.processes.all().some((r) => r.pgid === to && r.sid === p.sid && r.exitStatus === undefined)) return -BigInt(EPERM);
  q.pgid = to;
  return 0n;
}

// setsid(): a new session and group led by the caller, unless it already
// leads a group (EPERM).
function sysSetsid(p: ProcessVM): bigint {
  if (p.processes.all().some((r) => r.pgid === p.pid && r.exitStatus === undefined)) return -BigInt(EPERM);
  p.sid = p.pid;
  p.pgid = p.pid;
  return BigInt(p.sid);
}

// getgroups(size, list): no supplementary groups.
const sysGetgroups = (_p: ProcessVM, [size]: bigint[]) => (BigInt.asIntN(32, size) < 0n ? -BigInt(EINVAL) : 0n);

// prctl(option, arg2, ...): the child subreaper flag (which a service
// manager or a test runner sets to collect orphaned descendants). Other
// options are EINVAL, as for an option the kernel does not know.
const PR_SET_CHILD_SUBREAPER = 36n, PR_GET_CHILD_SUBREAPER = 37n;
function sysPrctl(p: ProcessVM, [option, arg2]: bigint[]): bigint {
  switch (option & 0xffffffffn) {
    case PR_SET_CHILD_SUBREAPER:
      p.childSubreaper = arg2 !== 0n;
      return 0n;
    case PR_GET_CHILD_SUBREAPER:
      p.user.write32(arg2, p.childSubreaper ? 1 : 0);
      return 0n;
    default:
      return -BigInt(EINVAL);
  }
}

/** Reads a struct timespec { i64 sec, i64 nsec } as nanoseconds; undefined when invalid. */
export function readTimespec(p: ProcessVM, ptr: bigint): bigint | undefined {
  const v = p.user.struct(ptr, 16);
  const sec = v.getBigInt64(0, true);
  const nsec = v.getBigInt64(8, true);
  if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n) return undefined;
  return sec * 1_000_000_000n + nsec;
}

// ---- RISC-V ----

// riscv_hwprobe(pairs, pair_count, cpusetsize, cpus, flags): fills in the value
// of each known key (Documentation/arch/riscv/hwprobe.rst); an unknown key is
// set to -1 with value 0.
export const HWPROBE = {
  MVENDORID: 0n, MARCHID: 1n, MIMPID: 2n, BASE_BEHAVIOR: 3n, IMA_EXT_0: 4n, CPUPERF_0: 5n,
  ZICBOZ_BLOCK_SIZE: 6n, HIGHEST_VIRT_ADDRESS: 7n, TIME_CSR_FREQ: 8n, MISALIGNED_SCALAR_PERF: 9n,
};
const BASE_BEHAVIOR_IMA = 1n;
const IMA_FD = 1n << 0n, IMA_C = 1n << 1n, EXT_ZBA = 1n << 3n, EXT_ZBB = 1n << 4n, EXT_ZBS = 1n << 5n;
/** Misaligned scalar accesses are done by the CPU itself, as fast as aligned ones. */
const MISALIGNED_FAST = 3n;

function hwprobeValue(p: ProcessVM, key: bigint): bigint | undefined {
  switch (key) {
    case HWPROBE.MVENDORID: case HWPROBE.MARCHID: case HWPROBE.MIMPID: return 0n;
    case HWPROBE.BASE_BEHAVIOR: return BASE_BEHAVIOR_IMA;
    case HWPROBE.IMA_EXT_0: return IMA_FD | IMA_C | EXT_ZBA | EXT_ZBB | EXT_ZBS;
    case HWPROBE.CPUPERF_0: case HWPROBE.MISALIGNED_SCALAR_PERF: return MISALIGNED_FAST;
    case HWPROBE.ZICBOZ_BLOCK_SIZE: return undefined; // no Zicboz
    case HWPROBE.HIGHEST_VIRT_ADDRESS: return p.memory.stackTop - 1n;
    case HWPROBE.TIME_CSR_FREQ: return TIMEBASE_HZ;
    default: return undefined;
  }
}

// The pairs are done one at a time, as hwprobe_get_values does: a fault at
// pair k is EFAULT with the pairs before it already answered.
function sysRiscvHwprobe(p: ProcessVM, [pairs, count, cpusetsize, cpus, flags]: bigint[]): bigint {
  if (flags !== 0n) return -BigInt(EINVAL);
  if (cpusetsize !== 0n || cpus !== 0n) {
    // A size with no set is copied from NULL: EFAULT, as copy_from_user gives.
    if (cpus === 0n) return -BigInt(EFAULT);
    // The only CPU, 0, must be in the set (an empty set means all CPUs).
    if (cpusetsize === 0n) return -BigInt(EINVAL);
    const set = p.user.read(cpus, Number(cpusetsize > 128n ? 128n : cpusetsize));
    if (set.some((b) => b !== 0) && (set[0] & 1) === 0) return -BigInt(EINVAL);
  }
  if (count > 1n << 20n) return -BigInt(EFAULT);
  for (let i = 0n; i < count; i++) {
    const at = pairs + i * 16n;
    const key = BigInt.asIntN(64, p.user.read64(at));
    const value = hwprobeValue(p, key);
    p.user.writeWords(at, value === undefined ? [-1n, 0n] : [key, value]);
  }
  return 0n;
}

// riscv_flush_icache(start, end, flags): the interpreter fetches from memory
// as it is, so there is nothing to flush; flags other than
// SYS_RISCV_FLUSH_ICACHE_LOCAL (1) are invalid.
function sysRiscvFlushIcache(_p: ProcessVM, [, , flags]: bigint[]): bigint {
  return (flags & ~1n) !== 0n ? -BigInt(EINVAL) : 0n;
}

export const PROCESS_SYSCALLS: SyscallFamily = [
  [122, { name: 'sched_setaffinity', argc: 3, handler: sysSchedSetaffinity }],
  [123, { name: 'sched_getaffinity', argc: 3, handler: sysSchedGetaffinity }],
  [160, { name: 'uname', argc: 1, handler: sysUname }],
  [163, { name: 'getrlimit', argc: 2, handler: sysGetrlimit }],
  [164, { name: 'setrlimit', argc: 2, handler: sysSetrlimit }],
  [154, { name: 'setpgid', argc: 2, handler: sysSetpgid }],
  [155, { name: 'getpgid', argc: 1, handler: sysGetpgid }],
  [156, { name: 'getsid', argc: 1, handler: sysGetsid }],
  [157, { name: 'setsid', argc: 0, handler: sysSetsid }],
  [158, { name: 'getgroups', argc: 2, handler: sysGetgroups }],
  [165, { name: 'getrusage', argc: 2, handler: sysGetrusage }],
  [168, { name: 'getcpu', argc: 3, handler: sysGetcpu }],
  [172, { name: 'getpid', argc: 0, handler: (p) => BigInt(p.pid) }],
  [173, { name: 'getppid', argc: 0, handler: (p) => BigInt(p.ppid) }],
  [167, { name: 'prctl', argc: 5, handler: sysPrctl }],
  [179, { name: 'sysinfo', argc: 1, handler: sysSysinfo }],
  [258, { name: 'riscv_hwprobe', argc: 5, handler: sysRiscvHwprobe }],
  [259, { name: 'riscv_flush_icache', argc: 3, handler: sysRiscvFlushIcache }],
  [261, { name: 'prlimit64', argc: 4, handler: sysPrlimit64 }],
  // rseq(2): glibc registers one when the kernel offers it and does without otherwise.
  [293, { name: 'rseq', argc: 4, handler: enosys }],
];
