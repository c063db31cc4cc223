// Every pointer argument of every system call ringvisor implements, handed
// a read-only page, a PROT_NONE page, an unmapped page and NULL, through raw
// syscall(): one line per (call, argument, kind) with the result, its errno,
// and whether the page's bytes changed. Linux refuses what the guest could
// not access itself (EFAULT), except where a call's own semantics say
// otherwise (an optional pointer, a failure Linux ignores); the lines are
// compared with qemu-riscv64 and, where QEMU departs from Linux, with Linux
// (test/guest-memory.test.ts, docs/SECURITY.md "Guest memory from ring -1").
//
// Then code in a read-only page is run until it is translated, system calls
// are asked to write over it (EFAULT), and it must still compute what it did.
//
// The same source builds natively (gcc on the host) to see what real Linux
// does: the riscv64-only calls are left out there.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { K_RO, K_NONE, K_UNMAPPED, K_NULL, KINDS };
static const char *const KIND_NAMES[KINDS] = { "ro", "none", "unmapped", "null" };

/** A result that differs from run to run (a tid, a tick count): printed as "+" when not an error. */
#define VARIABLE 1

struct pcase {
  const char *name;
  /** Which raw argument is the pointer: "a1"; "a1.base" for the buffer an iovec names. */
  const char *arg;
  long (*call)(char *p);
  /** Fills the page (zeroed first) with what the call should find there. */
  void (*init)(char *page);
  void (*before)(void);
  void (*after)(long result);
  int flags;
};

static long pagesize;
static char *ro_page, *none_page, *hole_page;
static char ro_copy[65536], none_copy[65536];
static char good[8192] __attribute__((aligned(64)));

static int fd_f, fd_w, dir_fd, pipe_r, pipe_w, ep_ready, ep_ctl;
static struct timespec ts0 = { 0, 0 }, ts1ns = { 0, 1 };
static uint64_t sigusr1_set = 1ull << (SIGUSR1 - 1);
static uint32_t word0;

// ---- the calls: each gets the pointer under test, everything else sane ----

#define CALL(id, expr) static long id(char *p) { return (long)(expr); }

CALL(c_getcwd, syscall(SYS_getcwd, p, 4096))
CALL(c_fcntl_getlk, syscall(SYS_fcntl, fd_f, F_GETLK, p))
CALL(c_fcntl_setlk, syscall(SYS_fcntl, fd_f, F_SETLK, p))
CALL(c_ioctl_fionread, syscall(SYS_ioctl, pipe_r, FIONREAD, p))
CALL(c_ioctl_fionbio, syscall(SYS_ioctl, pipe_r, FIONBIO, p))
CALL(c_mkdirat, syscall(SYS_mkdirat, AT_FDCWD, p, 0755))
CALL(c_unlinkat, syscall(SYS_unlinkat, AT_FDCWD, p, 0))
CALL(c_symlinkat_target, syscall(SYS_symlinkat, p, AT_FDCWD, "newlink"))
CALL(c_symlinkat_path, syscall(SYS_symlinkat, "f", AT_FDCWD, p))
CALL(c_linkat_old, syscall(SYS_linkat, AT_FDCWD, p, AT_FDCWD, "newlink", 0))
CALL(c_linkat_new, syscall(SYS_linkat, AT_FDCWD, "f", AT_FDCWD, p, 0))
CALL(c_renameat2_old, syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, "g", 0))
CALL(c_renameat2_new, syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, p, 0))
CALL(c_statfs_path, syscall(SYS_statfs, p, good))
CALL(c_statfs_buf, syscall(SYS_statfs, ".", p))
CALL(c_fstatfs, syscall(SYS_fstatfs, fd_f, p))
CALL(c_truncate, syscall(SYS_truncate, p, 64))
CALL(c_faccessat, syscall(SYS_faccessat, AT_FDCWD, p, F_OK))
CALL(c_faccessat2, syscall(SYS_faccessat2, AT_FDCWD, p, F_OK, 0))
CALL(c_chdir, syscall(SYS_chdir, p))
CALL(c_fchmodat, syscall(SYS_fchmodat, AT_FDCWD, p, 0644))
CALL(c_fchownat, syscall(SYS_fchownat, AT_FDCWD, p, 0, 0, 0))
CALL(c_openat, syscall(SYS_openat, AT_FDCWD, p, O_RDONLY))
CALL(c_pipe2, syscall(SYS_pipe2, p, 0))
CALL(c_getdents64, syscall(SYS_getdents64, dir_fd, p, 4096))
CALL(c_read, syscall(SYS_read, fd_f, p, 16))
CALL(c_write, syscall(SYS_write, fd_w, p, 16))
CALL(c_pread64, syscall(SYS_pread64, fd_f, p, 16, 0))
CALL(c_pwrite64, syscall(SYS_pwrite64, fd_w, p, 16, 0))
CALL(c_readv, syscall(SYS_readv, fd_f, p, 1))
CALL(c_writev, syscall(SYS_writev, fd_w, p, 1))
CALL(c_preadv, syscall(SYS_preadv, fd_f, p, 1, 0, 0))
CALL(c_pwritev, syscall(SYS_pwritev, fd_w, p, 1, 0, 0))

static struct iovec iov_at(char *p) { struct iovec v = { p, 16 }; return v; }
static long c_readv_base(char *p) { struct iovec v = iov_at(p); return syscall(SYS_readv, fd_f, &v, 1); }
static long c_writev_base(char *p) { struct iovec v = iov_at(p); return syscall(SYS_writev, fd_w, &v, 1); }
static long c_preadv_base(char *p) { struct iovec v = iov_at(p); return syscall(SYS_preadv, fd_f, &v, 1, 0, 0); }
static long c_pwritev_base(char *p) { struct iovec v = iov_at(p); return syscall(SYS_pwritev, fd_w, &v, 1, 0, 0); }

CALL(c_sendfile, syscall(SYS_sendfile, fd_w, fd_f, p, 16))

static struct pollfd ready_pollfd(void) { struct pollfd f = { pipe_w, POLLOUT, 0 }; return f; }
CALL(c_ppoll_fds, syscall(SYS_ppoll, p, 1, &ts0, NULL, 8))
static long c_ppoll_tmo(char *p) { struct pollfd f = ready_pollfd(); return syscall(SYS_ppoll, &f, 1, p, NULL, 8); }
static long c_ppoll_mask(char *p) { struct pollfd f = ready_pollfd(); return syscall(SYS_ppoll, &f, 1, &ts0, p, 8); }
static void init_pollfd(char *page) { struct pollfd f = ready_pollfd(); memcpy(page, &f, sizeof f); }

CALL(c_readlinkat_path, syscall(SYS_readlinkat, AT_FDCWD, p, good, 64))
CALL(c_readlinkat_buf, syscall(SYS_readlinkat, AT_FDCWD, "l", p, 64))
CALL(c_newfstatat_path, syscall(SYS_newfstatat, AT_FDCWD, p, good, 0))
CALL(c_newfstatat_buf, syscall(SYS_newfstatat, AT_FDCWD, "f", p, 0))
CALL(c_fstat, syscall(SYS_fstat, fd_f, p))
CALL(c_utimensat_path, syscall(SYS_utimensat, AT_FDCWD, p, NULL, 0))
CALL(c_utimensat_times, syscall(SYS_utimensat, AT_FDCWD, "f", p, 0))
CALL(c_statx_path, syscall(SYS_statx, AT_FDCWD, p, 0, 0x7ff, good))
CALL(c_statx_buf, syscall(SYS_statx, AT_FDCWD, "f", 0, 0x7ff, p))

CALL(c_sched_setaffinity, syscall(SYS_sched_setaffinity, 0, 8, p))
static void init_all_cpus(char *page) { memset(page, 0xff, 8); }
CALL(c_sched_getaffinity, syscall(SYS_sched_getaffinity, 0, 128, p))
CALL(c_uname, syscall(SYS_uname, p))
CALL(c_getrlimit, syscall(SYS_getrlimit, RLIMIT_CORE, p))
CALL(c_setrlimit, syscall(SYS_setrlimit, RLIMIT_CORE, p))
CALL(c_prlimit64_new, syscall(SYS_prlimit64, 0, RLIMIT_CORE, p, NULL))
CALL(c_prlimit64_old, syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, p))
CALL(c_getgroups, syscall(SYS_getgroups, 64, p))
CALL(c_getrusage, syscall(SYS_getrusage, RUSAGE_SELF, p))
CALL(c_getcpu_cpu, syscall(SYS_getcpu, p, NULL, NULL))
CALL(c_getcpu_node, syscall(SYS_getcpu, NULL, p, NULL))
CALL(c_sysinfo, syscall(SYS_sysinfo, p))
CALL(c_wait4_status, syscall(SYS_wait4, -1, p, 0, NULL))
CALL(c_wait4_rusage, syscall(SYS_wait4, -1, NULL, 0, p))
CALL(c_waitid_info, syscall(SYS_waitid, P_ALL, 0, p, WEXITED, NULL))
CALL(c_waitid_rusage, syscall(SYS_waitid, P_ALL, 0, NULL, WEXITED, p))
// pselect6 with a zero timeout (or a descriptor that is ready): it never waits.
static fd_set wset;
static long ready_wset(void) { FD_ZERO(&wset); FD_SET(pipe_w, &wset); return pipe_w + 1; }
CALL(c_pselect6_read, syscall(SYS_pselect6, pipe_w + 1, p, NULL, NULL, &ts0, NULL))
CALL(c_pselect6_write, syscall(SYS_pselect6, pipe_w + 1, NULL, p, NULL, &ts0, NULL))
CALL(c_pselect6_except, syscall(SYS_pselect6, pipe_w + 1, NULL, NULL, p, &ts0, NULL))
CALL(c_pselect6_tmo, syscall(SYS_pselect6, ready_wset(), NULL, &wset, NULL, p, NULL))
CALL(c_pselect6_sig, syscall(SYS_pselect6, ready_wset(), NULL, &wset, NULL, &ts0, p))
// The real-time timer, left off: a zero new value reads as "off".
static struct itimerval itv;
CALL(c_getitimer, syscall(SYS_getitimer, ITIMER_REAL, p))
CALL(c_setitimer_new, syscall(SYS_setitimer, ITIMER_REAL, p, NULL))
CALL(c_setitimer_old, syscall(SYS_setitimer, ITIMER_REAL, &itv, p))
static unsigned ids3[3];
CALL(c_getresuid_r, syscall(SYS_getresuid, p, &ids3[1], &ids3[2]))
CALL(c_getresuid_e, syscall(SYS_getresuid, &ids3[0], p, &ids3[2]))
CALL(c_getresuid_s, syscall(SYS_getresuid, &ids3[0], &ids3[1], p))
CALL(c_getresgid_r, syscall(SYS_getresgid, p, &ids3[1], &ids3[2]))
CALL(c_getresgid_e, syscall(SYS_getresgid, &ids3[0], p, &ids3[2]))
CALL(c_getresgid_s, syscall(SYS_getresgid, &ids3[0], &ids3[1], p))
CALL(c_prctl_get_subreaper, syscall(SYS_prctl, 37 /* PR_GET_CHILD_SUBREAPER */, p, 0, 0, 0))
// execve of a path that does not exist: each pointer is read (EFAULT)
// before the file is looked for (ENOENT), so nothing is ever run.
static char *const no_args[] = { "missing", NULL };
CALL(c_execve_path, syscall(SYS_execve, p, no_args, no_args))
CALL(c_execve_argv, syscall(SYS_execve, "/nonexistent/missing", p, no_args))
CALL(c_execve_envp, syscall(SYS_execve, "/nonexistent/missing", no_args, p))
CALL(c_execveat_path, syscall(SYS_execveat, AT_FDCWD, p, no_args, no_args, 0))
CALL(c_execveat_argv, syscall(SYS_execveat, AT_FDCWD, "/nonexistent/missing", p, no_args, 0))
CALL(c_execveat_envp, syscall(SYS_execveat, AT_FDCWD, "/nonexistent/missing", no_args, p, 0))
CALL(c_rseq, syscall(SYS_rseq, p, 32, 0, 0x53053053))
#ifdef __riscv
#ifndef SYS_riscv_hwprobe
#define SYS_riscv_hwprobe 258 // Linux 6.4; newer than the cross glibc's headers
#endif
CALL(c_hwprobe_pairs, syscall(SYS_riscv_hwprobe, p, 1, 0, NULL, 0))
static long c_hwprobe_cpus(char *p) { uint64_t pair[2] = { 0, 0 }; return syscall(SYS_riscv_hwprobe, pair, 1, 8, p, 0); }
static void init_cpu0(char *page) { page[0] = 1; }
#endif

CALL(c_nanosleep_req, syscall(SYS_nanosleep, p, NULL))
CALL(c_nanosleep_rem, syscall(SYS_nanosleep, &ts1ns, p))
CALL(c_clock_gettime, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p))
CALL(c_clock_getres, syscall(SYS_clock_getres, CLOCK_MONOTONIC, p))
CALL(c_clock_nanosleep_req, syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p, NULL))
CALL(c_clock_nanosleep_rem, syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts1ns, p))
CALL(c_times, syscall(SYS_times, p))
CALL(c_gettimeofday_tv, syscall(SYS_gettimeofday, p, NULL))
CALL(c_gettimeofday_tz, syscall(SYS_gettimeofday, NULL, p))
CALL(c_getrandom, syscall(SYS_getrandom, p, 16, 0))

CALL(c_sigaltstack_ss, syscall(SYS_sigaltstack, p, NULL))
// SS_DISABLE: a change (Linux 5.16 on returns 0 early for a stack_t equal
// to the current one, which all zeros is), and a valid one.
static void init_ss_disable(char *page) { stack_t ss = { NULL, SS_DISABLE, 0 }; memcpy(page, &ss, sizeof ss); }
CALL(c_sigaltstack_old, syscall(SYS_sigaltstack, NULL, p))
CALL(c_rt_sigsuspend, syscall(SYS_rt_sigsuspend, p, 8))
CALL(c_rt_sigaction_act, syscall(SYS_rt_sigaction, SIGUSR2, p, NULL, 8))
CALL(c_rt_sigaction_old, syscall(SYS_rt_sigaction, SIGUSR2, NULL, p, 8))
CALL(c_rt_sigprocmask_set, syscall(SYS_rt_sigprocmask, SIG_BLOCK, p, NULL, 8))
CALL(c_rt_sigprocmask_old, syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, p, 8))
CALL(c_rt_sigpending, syscall(SYS_rt_sigpending, p, 8))
CALL(c_rt_sigtimedwait_set, syscall(SYS_rt_sigtimedwait, p, NULL, &ts0, 8))
CALL(c_rt_sigtimedwait_info, syscall(SYS_rt_sigtimedwait, &sigusr1_set, p, &ts0, 8))
CALL(c_rt_sigtimedwait_tmo, syscall(SYS_rt_sigtimedwait, &sigusr1_set, NULL, p, 8))

CALL(c_futex_wait, syscall(SYS_futex, p, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0))
CALL(c_futex_wait_tmo, syscall(SYS_futex, &word0, FUTEX_WAIT_PRIVATE, 1, p, NULL, 0))
CALL(c_futex_wake, syscall(SYS_futex, p, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0))
CALL(c_futex_wake_shared, syscall(SYS_futex, p, FUTEX_WAKE, 1, NULL, NULL, 0))
CALL(c_futex_wake_op, syscall(SYS_futex, &word0, FUTEX_WAKE_OP_PRIVATE, 1, 1, p, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)))
CALL(c_futex_cmp_requeue, syscall(SYS_futex, p, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, good, 0))
static uint64_t robust_head, robust_len;
static long c_get_robust_list_head(char *p) { size_t len; return syscall(SYS_get_robust_list, 0, p, &len); }
static long c_get_robust_list_len(char *p) { void *head; return syscall(SYS_get_robust_list, 0, &head, p); }
CALL(c_set_robust_list, syscall(SYS_set_robust_list, p, 24))
static void restore_robust_list(long r) { (void)r; if (robust_len) syscall(SYS_set_robust_list, robust_head, robust_len); }
CALL(c_set_tid_address, syscall(SYS_set_tid_address, p))

// A thread that only says it ran: each clone gets a stack of its own, so
// that a thread still on its way out never shares one with the next.
static volatile int thread_ran;
static char thread_stacks[8][16384] __attribute__((aligned(16)));
static int next_stack;
static int thread_main(void *arg) { (void)arg; thread_ran = 1; return 0; }
static const int THREAD = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
static long spawn(int flags, char *ptid, char *ctid) {
  thread_ran = 0;
  char *stack = thread_stacks[next_stack++ % 8] + sizeof thread_stacks[0];
  long r = clone(thread_main, stack, THREAD | flags, NULL, ptid, NULL, ctid);
  if (r > 0) while (!thread_ran) sched_yield();
  return r;
}
static long c_clone_ptid(char *p) { return spawn(CLONE_PARENT_SETTID, p, NULL); }
static long c_clone_ctid(char *p) { return spawn(CLONE_CHILD_SETTID, NULL, p); }
CALL(c_clone3, syscall(SYS_clone3, p, 64))
static void init_clone3(char *page) { uint64_t flags = CLONE_THREAD; memcpy(page, &flags, 8); }

CALL(c_epoll_ctl, syscall(SYS_epoll_ctl, ep_ctl, 1 /* EPOLL_CTL_ADD */, pipe_r, p))
static void epoll_ctl_undo(long r) { if (r == 0) syscall(SYS_epoll_ctl, ep_ctl, 2 /* EPOLL_CTL_DEL */, pipe_r, NULL); }
CALL(c_epoll_pwait_events, syscall(SYS_epoll_pwait, ep_ready, p, 4, 0, NULL, 8))
CALL(c_epoll_pwait_mask, syscall(SYS_epoll_pwait, ep_ready, good, 4, 0, p, 8))
CALL(c_epoll_pwait2_events, syscall(SYS_epoll_pwait2, ep_ready, p, 4, &ts0, NULL, 8))
CALL(c_epoll_pwait2_tmo, syscall(SYS_epoll_pwait2, ep_ready, good, 4, p, NULL, 8))
CALL(c_epoll_pwait2_mask, syscall(SYS_epoll_pwait2, ep_ready, good, 4, &ts0, p, 8))

// ---- what some calls need around them ----

static void rewind_files(void) { lseek(fd_f, 0, SEEK_SET); lseek(dir_fd, 0, SEEK_SET); }
static void close_if_opened(long r) { if (r >= 0) close((int)r); }

static void on_usr1(int sig) { (void)sig; }
/** SIGUSR1 blocked and pending, with a handler that returns. */
static void usr1_pending(void) {
  signal(SIGUSR1, on_usr1);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
}
/** Whatever is left pending is taken, and SIGUSR1 unblocked. */
static void usr1_drain(long r) {
  (void)r;
  syscall(SYS_rt_sigtimedwait, &sigusr1_set, NULL, &ts0, 8);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
}
/** rt_sigprocmask(SIG_BLOCK) with a set read from the page blocks nothing (it is zero), but undo anyway. */
static void unblock_all(long r) { (void)r; sigset_t s; sigemptyset(&s); sigprocmask(SIG_SETMASK, &s, NULL); }

static const struct pcase CASES[] = {
  { "getcwd", "a0", c_getcwd, 0, 0, 0, 0 },
  { "fcntl.F_GETLK", "a2", c_fcntl_getlk, 0, 0, 0, 0 },
  { "fcntl.F_SETLK", "a2", c_fcntl_setlk, 0, 0, 0, 0 },
  { "ioctl.FIONREAD", "a2", c_ioctl_fionread, 0, 0, 0, 0 },
  { "ioctl.FIONBIO", "a2", c_ioctl_fionbio, 0, 0, 0, 0 },
  { "mkdirat", "a1", c_mkdirat, 0, 0, 0, 0 },
  { "unlinkat", "a1", c_unlinkat, 0, 0, 0, 0 },
  { "symlinkat", "a0", c_symlinkat_target, 0, 0, 0, 0 },
  { "symlinkat", "a2", c_symlinkat_path, 0, 0, 0, 0 },
  { "linkat", "a1", c_linkat_old, 0, 0, 0, 0 },
  { "linkat", "a3", c_linkat_new, 0, 0, 0, 0 },
  { "renameat2", "a1", c_renameat2_old, 0, 0, 0, 0 },
  { "renameat2", "a3", c_renameat2_new, 0, 0, 0, 0 },
  { "statfs", "a0", c_statfs_path, 0, 0, 0, 0 },
  { "statfs", "a1", c_statfs_buf, 0, 0, 0, 0 },
  { "fstatfs", "a1", c_fstatfs, 0, 0, 0, 0 },
  { "truncate", "a0", c_truncate, 0, 0, 0, 0 },
  { "faccessat", "a1", c_faccessat, 0, 0, 0, 0 },
  { "faccessat2", "a1", c_faccessat2, 0, 0, 0, 0 },
  { "chdir", "a0", c_chdir, 0, 0, 0, 0 },
  { "fchmodat", "a1", c_fchmodat, 0, 0, 0, 0 },
  { "fchownat", "a1", c_fchownat, 0, 0, 0, 0 },
  { "openat", "a1", c_openat, 0, 0, close_if_opened, 0 },
  { "pipe2", "a0", c_pipe2, 0, 0, 0, 0 },
  { "getdents64", "a1", c_getdents64, 0, rewind_files, 0, 0 },
  { "read", "a1", c_read, 0, rewind_files, 0, 0 },
  { "write", "a1", c_write, 0, 0, 0, 0 },
  { "pread64", "a1", c_pread64, 0, 0, 0, 0 },
  { "pwrite64", "a1", c_pwrite64, 0, 0, 0, 0 },
  { "readv", "a1", c_readv, 0, rewind_files, 0, 0 },
  { "readv", "a1.base", c_readv_base, 0, rewind_files, 0, 0 },
  { "writev", "a1", c_writev, 0, 0, 0, 0 },
  { "writev", "a1.base", c_writev_base, 0, 0, 0, 0 },
  { "preadv", "a1", c_preadv, 0, 0, 0, 0 },
  { "preadv", "a1.base", c_preadv_base, 0, 0, 0, 0 },
  { "pwritev", "a1", c_pwritev, 0, 0, 0, 0 },
  { "pwritev", "a1.base", c_pwritev_base, 0, 0, 0, 0 },
  { "sendfile", "a2", c_sendfile, 0, rewind_files, 0, 0 },
  { "ppoll", "a0", c_ppoll_fds, init_pollfd, 0, 0, 0 },
  { "ppoll", "a2", c_ppoll_tmo, 0, 0, 0, 0 },
  { "ppoll", "a3", c_ppoll_mask, 0, 0, 0, 0 },
  { "readlinkat", "a1", c_readlinkat_path, 0, 0, 0, 0 },
  { "readlinkat", "a2", c_readlinkat_buf, 0, 0, 0, 0 },
  { "newfstatat", "a1", c_newfstatat_path, 0, 0, 0, 0 },
  { "newfstatat", "a2", c_newfstatat_buf, 0, 0, 0, 0 },
  { "fstat", "a1", c_fstat, 0, 0, 0, 0 },
  { "utimensat", "a1", c_utimensat_path, 0, 0, 0, 0 },
  { "utimensat", "a2", c_utimensat_times, 0, 0, 0, 0 },
  { "statx", "a1", c_statx_path, 0, 0, 0, 0 },
  { "statx", "a4", c_statx_buf, 0, 0, 0, 0 },
  { "sched_setaffinity", "a2", c_sched_setaffinity, init_all_cpus, 0, 0, 0 },
  { "sched_getaffinity", "a2", c_sched_getaffinity, 0, 0, 0, VARIABLE },
  { "uname", "a0", c_uname, 0, 0, 0, 0 },
  { "getrlimit", "a1", c_getrlimit, 0, 0, 0, 0 },
  { "setrlimit", "a1", c_setrlimit, 0, 0, 0, 0 },
  { "prlimit64", "a2", c_prlimit64_new, 0, 0, 0, 0 },
  { "prlimit64", "a3", c_prlimit64_old, 0, 0, 0, 0 },
  { "getgroups", "a1", c_getgroups, 0, 0, 0, 0 },
  { "getrusage", "a1", c_getrusage, 0, 0, 0, 0 },
  { "getcpu", "a0", c_getcpu_cpu, 0, 0, 0, 0 },
  { "getcpu", "a1", c_getcpu_node, 0, 0, 0, 0 },
  { "sysinfo", "a0", c_sysinfo, 0, 0, 0, 0 },
  { "wait4", "a1", c_wait4_status, 0, 0, 0, 0 },
  { "wait4", "a3", c_wait4_rusage, 0, 0, 0, 0 },
  { "waitid", "a2", c_waitid_info, 0, 0, 0, 0 },
  { "waitid", "a4", c_waitid_rusage, 0, 0, 0, 0 },
  { "getitimer", "a1", c_getitimer, 0, 0, 0, 0 },
  { "setitimer", "a1", c_setitimer_new, 0, 0, 0, 0 },
  { "setitimer", "a2", c_setitimer_old, 0, 0, 0, 0 },
  { "pselect6", "a1", c_pselect6_read, 0, 0, 0, 0 },
  { "pselect6", "a2", c_pselect6_write, 0, 0, 0, 0 },
  { "pselect6", "a3", c_pselect6_except, 0, 0, 0, 0 },
  { "pselect6", "a4", c_pselect6_tmo, 0, 0, 0, 0 },
  { "pselect6", "a5", c_pselect6_sig, 0, 0, 0, 0 },
  { "getresuid", "a0", c_getresuid_r, 0, 0, 0, 0 },
  { "getresuid", "a1", c_getresuid_e, 0, 0, 0, 0 },
  { "getresuid", "a2", c_getresuid_s, 0, 0, 0, 0 },
  { "getresgid", "a0", c_getresgid_r, 0, 0, 0, 0 },
  { "getresgid", "a1", c_getresgid_e, 0, 0, 0, 0 },
  { "getresgid", "a2", c_getresgid_s, 0, 0, 0, 0 },
  { "prctl.PR_GET_CHILD_SUBREAPER", "a1", c_prctl_get_subreaper, 0, 0, 0, 0 },
  { "execve", "a0", c_execve_path, 0, 0, 0, 0 },
  { "execve", "a1", c_execve_argv, 0, 0, 0, 0 },
  { "execve", "a2", c_execve_envp, 0, 0, 0, 0 },
  { "execveat", "a1", c_execveat_path, 0, 0, 0, 0 },
  { "execveat", "a2", c_execveat_argv, 0, 0, 0, 0 },
  { "execveat", "a3", c_execveat_envp, 0, 0, 0, 0 },
  { "rseq", "a0", c_rseq, 0, 0, 0, 0 },
#ifdef __riscv
  { "riscv_hwprobe", "a0", c_hwprobe_pairs, 0, 0, 0, 0 },
  { "riscv_hwprobe", "a3", c_hwprobe_cpus, init_cpu0, 0, 0, 0 },
#endif
  { "nanosleep", "a0", c_nanosleep_req, 0, 0, 0, 0 },
  { "nanosleep", "a1", c_nanosleep_rem, 0, 0, 0, 0 },
  { "clock_gettime", "a1", c_clock_gettime, 0, 0, 0, 0 },
  { "clock_getres", "a1", c_clock_getres, 0, 0, 0, 0 },
  { "clock_nanosleep", "a2", c_clock_nanosleep_req, 0, 0, 0, 0 },
  { "clock_nanosleep", "a3", c_clock_nanosleep_rem, 0, 0, 0, 0 },
  { "times", "a0", c_times, 0, 0, 0, VARIABLE },
  { "gettimeofday", "a0", c_gettimeofday_tv, 0, 0, 0, 0 },
  { "gettimeofday", "a1", c_gettimeofday_tz, 0, 0, 0, 0 },
  { "getrandom", "a0", c_getrandom, 0, 0, 0, 0 },
  { "sigaltstack", "a0", c_sigaltstack_ss, init_ss_disable, 0, 0, 0 },
  { "sigaltstack", "a1", c_sigaltstack_old, 0, 0, 0, 0 },
  { "rt_sigsuspend", "a0", c_rt_sigsuspend, 0, usr1_pending, usr1_drain, 0 },
  { "rt_sigaction", "a1", c_rt_sigaction_act, 0, 0, 0, 0 },
  { "rt_sigaction", "a2", c_rt_sigaction_old, 0, 0, 0, 0 },
  { "rt_sigprocmask", "a1", c_rt_sigprocmask_set, 0, 0, unblock_all, 0 },
  { "rt_sigprocmask", "a2", c_rt_sigprocmask_old, 0, 0, 0, 0 },
  { "rt_sigpending", "a0", c_rt_sigpending, 0, 0, 0, 0 },
  { "rt_sigtimedwait", "a0", c_rt_sigtimedwait_set, 0, 0, 0, 0 },
  { "rt_sigtimedwait", "a1", c_rt_sigtimedwait_info, 0, usr1_pending, usr1_drain, 0 },
  { "rt_sigtimedwait", "a2", c_rt_sigtimedwait_tmo, 0, usr1_pending, usr1_drain, 0 },
  { "futex.FUTEX_WAIT", "a0", c_futex_wait, 0, 0, 0, 0 },
  { "futex.FUTEX_WAIT", "a3", c_futex_wait_tmo, 0, 0, 0, 0 },
  { "futex.FUTEX_WAKE_PRIVATE", "a0", c_futex_wake, 0, 0, 0, 0 },
  { "futex.FUTEX_WAKE", "a0", c_futex_wake_shared, 0, 0, 0, 0 },
  { "futex.FUTEX_WAKE_OP", "a4", c_futex_wake_op, 0, 0, 0, 0 },
  { "futex.FUTEX_CMP_REQUEUE", "a0", c_futex_cmp_requeue, 0, 0, 0, 0 },
  { "get_robust_list", "a1", c_get_robust_list_head, 0, 0, 0, 0 },
  { "get_robust_list", "a2", c_get_robust_list_len, 0, 0, 0, 0 },
  { "set_robust_list", "a0", c_set_robust_list, 0, 0, restore_robust_list, 0 },
  { "set_tid_address", "a0", c_set_tid_address, 0, 0, 0, VARIABLE },
  { "clone", "a2", c_clone_ptid, 0, 0, 0, VARIABLE },
  { "clone", "a4", c_clone_ctid, 0, 0, 0, VARIABLE },
  { "clone3", "a0", c_clone3, init_clone3, 0, 0, 0 },
  { "epoll_ctl", "a3", c_epoll_ctl, 0, 0, epoll_ctl_undo, 0 },
  { "epoll_pwait", "a1", c_epoll_pwait_events, 0, 0, 0, 0 },
  { "epoll_pwait", "a4", c_epoll_pwait_mask, 0, 0, 0, 0 },
  { "epoll_pwait2", "a1", c_epoll_pwait2_events, 0, 0, 0, 0 },
  { "epoll_pwait2", "a3", c_epoll_pwait2_tmo, 0, 0, 0, 0 },
  { "epoll_pwait2", "a4", c_epoll_pwait2_mask, 0, 0, 0, 0 },
};

// ---- the three kinds of page ----

/** Sets up the page of `kind` (zeroed, filled by init, then protected) and
 *  returns the pointer to hand the call. */
static char *prepare(int kind, void (*init)(char *)) {
  char *page = kind == K_RO ? ro_page : kind == K_NONE ? none_page : NULL;
  if (kind == K_UNMAPPED) return hole_page;
  if (!page) return NULL;
  mprotect(page, pagesize, PROT_READ | PROT_WRITE);
  memset(page, 0, pagesize);
  if (init) init(page);
  memcpy(kind == K_RO ? ro_copy : none_copy, page, pagesize);
  mprotect(page, pagesize, kind == K_RO ? PROT_READ : PROT_NONE);
  return page;
}

/** Whether the call changed the page's bytes ("-" where there are none to see). */
static const char *changed(int kind) {
  if (kind == K_RO) return memcmp(ro_page, ro_copy, pagesize) ? "changed" : "same";
  if (kind != K_NONE) return "-";
  mprotect(none_page, pagesize, PROT_READ);
  int diff = memcmp(none_page, none_copy, pagesize) != 0;
  mprotect(none_page, pagesize, PROT_NONE);
  return diff ? "changed" : "same";
}

static void result(const char *what, long r, int err, int variable) {
  if (r == -1) printf("%s -1 %s", what, strerrorname_np(err));
  else if (variable) printf("%s +", what);
  else printf("%s %ld", what, r);
}

static void run_case(const struct pcase *c, int kind) {
  char *p = prepare(kind, c->init);
  if (c->before) c->before();
  errno = 0;
  long r = c->call(p);
  int err = errno;
  if (c->after) c->after(r);
  char what[96];
  snprintf(what, sizeof what, "%s %s %s", c->name, c->arg, KIND_NAMES[kind]);
  result(what, r, err, c->flags & VARIABLE);
  printf(" mem=%s\n", changed(kind));
}

// ---- buffers that start accessible and run into a bad page ----

// Linux copies up to the first bad byte and counts what it copied (a file,
// getrandom), or drops the chunk that faulted (a pipe): 16 bytes from 8
// before the bad page. And two calls that never touch their buffer at all
// (a read at end of file, a write to /dev/null).
static int devnull;
static void rewind_f(void) { lseek(fd_f, 0, SEEK_SET); }
static void end_of_f(void) { lseek(fd_f, 0, SEEK_END); }
CALL(s_read, syscall(SYS_read, fd_f, p, 16))
CALL(s_pread64, syscall(SYS_pread64, fd_f, p, 16, 0))
static long s_readv(char *p) { struct iovec v[2] = { { p, 8 }, { p + 8, 8 } }; return syscall(SYS_readv, fd_f, v, 2); }
CALL(s_getrandom, syscall(SYS_getrandom, p, 16, 0))
CALL(s_getdents64, syscall(SYS_getdents64, dir_fd, p, 4096))
CALL(s_write_file, syscall(SYS_write, fd_w, p, 16))
CALL(s_write_pipe, syscall(SYS_write, pipe_w, p, 16))
CALL(s_write_null, syscall(SYS_write, devnull, p, 16))

struct straddle {
  const char *name, *arg;
  long (*call)(char *p);
  /** K_RO or K_NONE: the page the buffer runs into. */
  int kind;
  /** Where the buffer starts: 8 bytes before the bad page, or on it. */
  int offset;
  void (*before)(void);
};

static const struct straddle STRADDLES[] = {
  { "read", "a1", s_read, K_RO, -8, rewind_f },
  { "pread64", "a1", s_pread64, K_RO, -8, 0 },
  { "readv", "a1.base", s_readv, K_RO, -8, rewind_f },
  { "getrandom", "a0", s_getrandom, K_RO, -8, 0 },
  { "getdents64", "a1", s_getdents64, K_RO, -8, rewind_files },
  { "write", "a1", s_write_file, K_NONE, -8, 0 },
  { "write.pipe", "a1", s_write_pipe, K_NONE, -8, 0 },
  { "read.eof", "a1", s_read, K_NONE, 0, end_of_f },
  { "write.devnull", "a1", s_write_null, K_NONE, 0, 0 },
};

static void run_straddle(const struct straddle *c) {
  char *bad = prepare(c->kind, NULL);
  if (c->before) c->before();
  errno = 0;
  long r = c->call(bad + c->offset);
  int err = errno;
  char what[96];
  snprintf(what, sizeof what, "%s %s %s-%s", c->name, c->arg, c->offset ? "straddle" : "at", KIND_NAMES[c->kind]);
  result(what, r, err, 0);
  printf(" mem=%s\n", changed(c->kind));
}

// ---- setting up ----

static void die(const char *what) { printf("setup: %s: %s\n", what, strerror(errno)); exit(1); }

static void setup(void) {
  pagesize = sysconf(_SC_PAGESIZE);
  // Five pages, so that each kind has neighbours of its own: read-write,
  // read-only, read-write, PROT_NONE, and a hole where a page was unmapped.
  // The read-write pages let a buffer start writable and run into the next.
  char *base = mmap(NULL, 5 * pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) die("mmap");
  // A first signal now, so that ringvisor maps its signal trampoline page
  // (its vDSO's part) before the hole exists: it goes in the highest free
  // page, which the hole would be.
  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1);
  ro_page = base + pagesize;
  none_page = base + 3 * pagesize;
  hole_page = base + 4 * pagesize;
  if (munmap(hole_page, pagesize)) die("munmap");

  char dir[] = "/tmp/guestmem-XXXXXX";
  if (!mkdtemp(dir) || chdir(dir)) die("mkdtemp");
  fd_f = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd_f < 0 || write(fd_f, "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 72) != 72) die("f");
  fd_w = open("w", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd_w < 0 || symlink("f", "l")) die("w, l");
  dir_fd = open(".", O_RDONLY | O_DIRECTORY);
  int fds[2];
  if (dir_fd < 0 || pipe(fds)) die("pipe");
  pipe_r = fds[0];
  pipe_w = fds[1];
  if (write(pipe_w, "pipe", 4) != 4) die("pipe write");
  devnull = open("/dev/null", O_WRONLY);
  if (devnull < 0) die("/dev/null");
  // One epoll instance where something is always ready (a pipe's write
  // end), one to add to.
  ep_ready = (int)syscall(SYS_epoll_create1, 0);
  ep_ctl = (int)syscall(SYS_epoll_create1, 0);
  uint64_t ev[2] = { 0x4 /* EPOLLOUT */, 7 };
  if (ep_ready < 0 || ep_ctl < 0 || syscall(SYS_epoll_ctl, ep_ready, 1 /* EPOLL_CTL_ADD */, pipe_w, ev)) die("epoll");
  void *head = 0;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &head, &len) == 0) {
    robust_head = (uint64_t)(uintptr_t)head;
    robust_len = len;
  }
}

static void cleanup(void) {
  unlink("f");
  unlink("w");
  unlink("l");
  char dir[4096];
  if (getcwd(dir, sizeof dir)) {
    if (chdir("/") == 0) rmdir(dir);
  }
}

// ---- read-only code that has been translated ----

// In .text (read and execute), called often enough to be translated
// (ringvisor --jit 1, or QEMU's own translator).
__attribute__((noinline)) static long code(long x) { return x * 3 + 1; }

static void translated_code(void) {
  long before = 0, after = 0;
  for (long i = 0; i < 2000; i++) before += code(i);
  char *at = (char *)(uintptr_t)code;
  unsigned char bytes[32];
  memcpy(bytes, at, sizeof bytes);
  rewind_files();
  errno = 0;
  long r = syscall(SYS_read, fd_f, at, 16);
  result("code read", r, errno, 0);
  errno = 0;
  r = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, at);
  result(" clock_gettime", r, errno, 0);
  errno = 0;
  r = syscall(SYS_getrandom, at, 16, 0);
  result(" getrandom", r, errno, 0);
  errno = 0;
  r = syscall(SYS_pipe2, at, 0);
  result(" pipe2", r, errno, 0);
  for (long i = 0; i < 2000; i++) after += code(i);
  printf(" bytes=%s sum=%s\n", memcmp(bytes, at, sizeof bytes) ? "changed" : "same", before == after && before == 5999000 ? "same" : "DIFFERENT");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  setup();
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    for (int kind = 0; kind < KINDS; kind++) run_case(&CASES[i], kind);
  }
  for (size_t i = 0; i < sizeof STRADDLES / sizeof STRADDLES[0]; i++) run_straddle(&STRADDLES[i]);
  translated_code();
  cleanup();
  return 0;
}
