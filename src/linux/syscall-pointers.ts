// Which arguments of each system call in the table (syscalls.ts) are guest
// pointers, and what the call does through them. Every such argument is
// handed a read-only, a PROT_NONE and an unmapped page and NULL by
// guests/libc/guestmem.c; test/guest-memory.test.ts fails when a call of
// SYSCALLS is missing here, or a pointer listed here is missing there.

/** What a call does through a pointer. */
export type PointerUse =
  /** reads a struct or buffer (copy_from_user): the guest must be able to read it */
  | 'read'
  /** writes a struct or buffer (copy_to_user): the guest must be able to write it */
  | 'write'
  /** reads then writes back (poll's array, sendfile's offset, hwprobe's pairs) */
  | 'read-write'
  /** reads a NUL-terminated path (strncpy_from_user) */
  | 'string'
  /** an address kept, or written where Linux ignores a failure: never EFAULT */
  | 'kept';

export interface PointerArg {
  /** Argument index, a0 = 0. */
  arg: number;
  use: PointerUse;
  /** What it points at, in the kernel's words. */
  what: string;
  /** NULL means "none" (no EFAULT for NULL). */
  optional?: boolean;
  /** The commands or operations through which the test reaches it. */
  variants?: readonly string[];
}

const p = (arg: number, use: PointerUse, what: string, extra: Partial<PointerArg> = {}): PointerArg => ({ arg, use, what, ...extra });

/** By system-call name; an empty list: the call takes no pointer (or, for
 *  the memory calls, takes addresses it maps but never dereferences). */
export const SYSCALL_POINTERS: Readonly<Record<string, readonly PointerArg[]>> = {
  // ---- files (sys/files.ts) ----
  getcwd: [p(0, 'write', 'buf')],
  fcntl: [p(2, 'read-write', 'struct flock', { variants: ['F_GETLK', 'F_SETLK'] })],
  ioctl: [p(2, 'read-write', 'argp', { variants: ['FIONREAD', 'FIONBIO'] })],
  mkdirat: [p(1, 'string', 'pathname')],
  unlinkat: [p(1, 'string', 'pathname')],
  symlinkat: [p(0, 'string', 'target'), p(2, 'string', 'linkpath')],
  linkat: [p(1, 'string', 'oldpath'), p(3, 'string', 'newpath')],
  renameat2: [p(1, 'string', 'oldpath'), p(3, 'string', 'newpath')],
  statfs: [p(0, 'string', 'path'), p(1, 'write', 'struct statfs')],
  fstatfs: [p(1, 'write', 'struct statfs')],
  truncate: [p(0, 'string', 'path')],
  faccessat: [p(1, 'string', 'pathname')],
  faccessat2: [p(1, 'string', 'pathname')],
  chdir: [p(0, 'string', 'path')],
  fchmodat: [p(1, 'string', 'pathname')],
  fchownat: [p(1, 'string', 'pathname')],
  openat: [p(1, 'string', 'pathname')],
  pipe2: [p(0, 'write', 'int pipefd[2]')],
  getdents64: [p(1, 'write', 'dirp')],
  read: [p(1, 'write', 'buf')],
  write: [p(1, 'read', 'buf')],
  pread64: [p(1, 'write', 'buf')],
  pwrite64: [p(1, 'read', 'buf')],
  readv: [p(1, 'read', 'struct iovec[] (and each iov_base: write)')],
  writev: [p(1, 'read', 'struct iovec[] (and each iov_base: read)')],
  preadv: [p(1, 'read', 'struct iovec[] (and each iov_base: write)')],
  pwritev: [p(1, 'read', 'struct iovec[] (and each iov_base: read)')],
  sendfile: [p(2, 'read-write', 'loff_t *offset', { optional: true })],
  ppoll: [p(0, 'read-write', 'struct pollfd[]'), p(2, 'read', 'struct timespec', { optional: true }), p(3, 'read', 'sigset_t', { optional: true })],
  readlinkat: [p(1, 'string', 'pathname'), p(2, 'write', 'buf')],
  newfstatat: [p(1, 'string', 'pathname'), p(2, 'write', 'struct stat')],
  fstat: [p(1, 'write', 'struct stat')],
  utimensat: [p(1, 'string', 'pathname (NULL: the descriptor itself)'), p(2, 'read', 'struct timespec[2]', { optional: true })],
  statx: [p(1, 'string', 'pathname'), p(4, 'write', 'struct statx')],
  dup: [], dup3: [], close: [], close_range: [], lseek: [], ftruncate: [], fallocate: [], fsync: [], fdatasync: [],
  sync: [], syncfs: [], fadvise64: [], flock: [], fchdir: [], fchmod: [], fchown: [], umask: [],

  // ---- memory (sys/memory.ts): addresses of mappings, never dereferenced ----
  brk: [], mmap: [], munmap: [], mremap: [], mprotect: [], madvise: [], msync: [],

  // ---- process (sys/process.ts) ----
  sched_setaffinity: [p(2, 'read', 'cpu_set_t')],
  sched_getaffinity: [p(2, 'write', 'cpu_set_t')],
  uname: [p(0, 'write', 'struct new_utsname')],
  getrlimit: [p(1, 'write', 'struct rlimit')],
  setrlimit: [p(1, 'read', 'struct rlimit')],
  prlimit64: [p(2, 'read', 'struct rlimit64 new', { optional: true }), p(3, 'write', 'struct rlimit64 old', { optional: true })],
  // With no supplementary groups nothing is copied, as on Linux.
  getgroups: [p(1, 'write', 'gid_t list[] (none to copy)')],
  getrusage: [p(1, 'write', 'struct rusage')],
  getcpu: [p(0, 'write', 'unsigned cpu', { optional: true }), p(1, 'write', 'unsigned node', { optional: true })],
  sysinfo: [p(0, 'write', 'struct sysinfo')],
  wait4: [p(1, 'write', 'int wstatus (no child: untouched)', { optional: true }), p(3, 'write', 'struct rusage (no child: untouched)', { optional: true })],
  waitid: [p(2, 'write', 'siginfo_t (written even with no child)', { optional: true }), p(4, 'write', 'struct rusage (no child: untouched)', { optional: true })],
  getitimer: [p(1, 'write', 'struct itimerval curr_value')],
  setitimer: [p(1, 'read', 'struct itimerval new_value', { optional: true }), p(2, 'write', 'struct itimerval old_value', { optional: true })],
  pselect6: [p(1, 'read-write', 'fd_set readfds', { optional: true }), p(2, 'read-write', 'fd_set writefds', { optional: true }), p(3, 'read-write', 'fd_set exceptfds', { optional: true }),
    p(4, 'read', 'struct timespec timeout', { optional: true }), p(5, 'read', '{ sigset_t *, size_t } sigmask', { optional: true })],
  getresuid: [p(0, 'write', 'uid_t *ruid'), p(1, 'write', 'uid_t *euid'), p(2, 'write', 'uid_t *suid')],
  getresgid: [p(0, 'write', 'gid_t *rgid'), p(1, 'write', 'gid_t *egid'), p(2, 'write', 'gid_t *sgid')],
  setresuid: [], setresgid: [], setreuid: [], setregid: [], setuid: [], setgid: [],
  prctl: [p(1, 'write', 'int *(PR_GET_CHILD_SUBREAPER)', { variants: ['PR_GET_CHILD_SUBREAPER'] })],
  // (A path that does not exist: what was read decides EFAULT before ENOENT.)
  execve: [p(0, 'string', 'const char *filename'), p(1, 'read', 'const char *argv[]', { optional: true }), p(2, 'read', 'const char *envp[]', { optional: true })],
  execveat: [p(1, 'string', 'const char *filename'), p(2, 'read', 'const char *argv[]', { optional: true }), p(3, 'read', 'const char *envp[]', { optional: true })],
  riscv_hwprobe: [p(0, 'read-write', 'struct riscv_hwprobe[]'), p(3, 'read', 'cpu_set_t', { optional: true })],
  // Not implemented (ENOSYS, as under QEMU): the pointer is never looked at.
  rseq: [p(0, 'kept', 'struct rseq')],
  riscv_flush_icache: [],
  getpid: [], getppid: [], getuid: [], geteuid: [], getgid: [], getegid: [], setpgid: [], getpgid: [], getsid: [], setsid: [],

  // ---- time (sys/time.ts) ----
  nanosleep: [p(0, 'read', 'struct timespec req'), p(1, 'kept', 'struct timespec rem (written only on EINTR)', { optional: true })],
  clock_gettime: [p(1, 'write', 'struct timespec')],
  clock_getres: [p(1, 'write', 'struct timespec', { optional: true })],
  clock_nanosleep: [p(2, 'read', 'struct timespec request'), p(3, 'kept', 'struct timespec remain (written only on EINTR)', { optional: true })],
  times: [p(0, 'write', 'struct tms', { optional: true })],
  gettimeofday: [p(0, 'write', 'struct timeval', { optional: true }), p(1, 'write', 'struct timezone', { optional: true })],
  getrandom: [p(0, 'write', 'buf')],

  // ---- signals (sys/signals.ts) ----
  sigaltstack: [p(0, 'read', 'stack_t ss', { optional: true }), p(1, 'write', 'stack_t old_ss', { optional: true })],
  rt_sigsuspend: [p(0, 'read', 'sigset_t mask')],
  rt_sigaction: [p(1, 'read', 'struct sigaction act', { optional: true }), p(2, 'write', 'struct sigaction oldact', { optional: true })],
  rt_sigprocmask: [p(1, 'read', 'sigset_t set', { optional: true }), p(2, 'write', 'sigset_t oldset', { optional: true })],
  rt_sigpending: [p(0, 'write', 'sigset_t set')],
  rt_sigtimedwait: [p(0, 'read', 'sigset_t set'), p(1, 'write', 'siginfo_t', { optional: true }), p(2, 'read', 'struct timespec', { optional: true })],
  // The frame at sp, not an argument: a frame the guest cannot read is
  // SIGSEGV (test/guest-memory.test.ts checks it directly).
  rt_sigreturn: [],
  kill: [], tkill: [], tgkill: [],

  // ---- threads (sys/threads.ts) ----
  futex: [
    p(0, 'read', 'u32 *uaddr (private wake: only an address)', { variants: ['FUTEX_WAIT', 'FUTEX_WAKE_PRIVATE', 'FUTEX_WAKE', 'FUTEX_CMP_REQUEUE'] }),
    p(3, 'read', 'struct timespec timeout', { optional: true, variants: ['FUTEX_WAIT'] }),
    p(4, 'read-write', 'u32 *uaddr2', { variants: ['FUTEX_WAKE_OP'] }),
  ],
  get_robust_list: [p(1, 'write', 'struct robust_list_head **'), p(2, 'write', 'size_t *len')],
  set_robust_list: [p(0, 'kept', 'struct robust_list_head')],
  set_tid_address: [p(0, 'kept', 'int *tidptr')],
  clone: [p(2, 'kept', 'parent_tid (a failed write is ignored)', { optional: true }), p(4, 'kept', 'child_tid (a failed write is ignored)', { optional: true })],
  clone3: [p(0, 'read', 'struct clone_args')],
  exit: [], exit_group: [], gettid: [], sched_yield: [],

  // ---- events (sys/events.ts) ----
  epoll_ctl: [p(3, 'read', 'struct epoll_event')],
  epoll_pwait: [p(1, 'write', 'struct epoll_event[] (only when something is ready)'), p(4, 'read', 'sigset_t', { optional: true })],
  epoll_pwait2: [p(1, 'write', 'struct epoll_event[] (only when something is ready)'), p(3, 'read', 'struct timespec', { optional: true }),
    p(4, 'read', 'sigset_t', { optional: true })],
  eventfd2: [], epoll_create1: [],
};
