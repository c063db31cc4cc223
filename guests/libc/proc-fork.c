// New processes without exec: fork, vfork, clone without CLONE_VM, wait4 and
// waitid, pipes and descriptors shared across fork, copy-on-write memory,
// SIGCHLD, kill between processes, process groups and sessions, fork in a
// threaded process, /proc/self in the child, orphans, a bounded fork bomb.
// One mode per argv[1] (guests/manifest-proc.json). qemu-riscv64 forks, so
// it is the reference for these (goldens in guests/golden); the modes it
// cannot judge (vfork, which QEMU runs as a plain fork) are compared with
// this source built natively instead (test/proc-exec.test.ts).
//
// No pid is printed: only relations (the child's getppid() is the parent's
// getpid()), statuses and errno names, so that every run prints the same.
// Output goes through out(), one write(2) per line and no stdio buffer that a
// fork would copy (except in the mode "stdio", which is about exactly that).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void out(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
  for (int done = 0; done < n;) {
    ssize_t w = write(1, buf + done, n - done);
    if (w <= 0) _exit(90);
    done += w;
  }
}

static const char *errname(int e) {
  switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EPIPE: return "EPIPE";
    default: return "E?";
  }
}

static const char *yes(int b) { return b ? "yes" : "no"; }

/** fork() or end the test: a fork that fails here is the finding. */
static pid_t must_fork(void) {
  pid_t p = fork();
  if (p < 0) {
    out("fork: %s\n", errname(errno));
    exit(1);
  }
  return p;
}

static void must_pipe(int fd[2]) {
  if (pipe(fd) != 0) {
    out("pipe: %s\n", errname(errno));
    exit(1);
  }
}

static void describe(const char *what, int status) {
  if (WIFEXITED(status)) out("%s: exited %d\n", what, WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) out("%s: killed by signal %d%s\n", what, WTERMSIG(status), WCOREDUMP(status) ? " (core)" : "");
  else if (WIFSTOPPED(status)) out("%s: stopped by signal %d\n", what, WSTOPSIG(status));
  else if (WIFCONTINUED(status)) out("%s: continued\n", what);
  else out("%s: status %#x\n", what, status);
}

/** Waits for that child and says how it ended. */
static void reap(const char *what, pid_t pid) {
  int status;
  pid_t r = waitpid(pid, &status, 0);
  if (r != pid) {
    out("%s: waitpid: %s\n", what, r < 0 ? errname(errno) : "other pid");
    return;
  }
  describe(what, status);
}

static void full_read(int fd, void *buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd, (char *)buf + done, n - done);
    if (r <= 0) {
      out("short read (%s)\n", r < 0 ? errname(errno) : "EOF");
      exit(1);
    }
    done += r;
  }
}

static void full_write(int fd, const void *buf, size_t n) {
  if (write(fd, buf, n) != (ssize_t)n) {
    out("write: %s\n", errname(errno));
    exit(1);
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/** Waits until the child is a zombie, without reaping it. */
static void await_zombie(pid_t pid) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) != 0) out("waitid WNOWAIT: %s\n", errname(errno));
}

// ---- basic: fork's two returns and the relations between the two processes ----

static int mode_basic(void) {
  pid_t parent = getpid();
  int fd[2];
  must_pipe(fd);
  pid_t pid = must_fork();
  if (pid == 0) {
    close(fd[0]);
    pid_t ids[4] = {getpid(), getppid(), (pid_t)syscall(SYS_gettid), getpgrp()};
    full_write(fd[1], ids, sizeof ids);
    _exit(0);
  }
  close(fd[1]);
  pid_t ids[4];
  full_read(fd[0], ids, sizeof ids);
  out("fork returned a positive pid in the parent: %s\n", yes(pid > 0));
  out("child's getpid() is what fork returned: %s\n", yes(ids[0] == pid));
  out("child's getpid() differs from the parent's: %s\n", yes(ids[0] != parent));
  out("child's getppid() is the parent's getpid(): %s\n", yes(ids[1] == parent));
  out("child's gettid() is its getpid(): %s\n", yes(ids[2] == ids[0]));
  out("child is in the parent's process group: %s\n", yes(ids[3] == getpgrp()));
  out("parent's getpid() unchanged: %s\n", yes(getpid() == parent));
  reap("child", pid);
  return 0;
}

// ---- wait: wait4/waitpid statuses, any child, WNOHANG, ECHILD ----

static int mode_wait(void) {
  struct rlimit nocore = {0, 0};
  setrlimit(RLIMIT_CORE, &nocore);  // no core files, and WCOREDUMP the same everywhere
  static const int codes[] = {0, 1, 7, 42, 255, 256 + 3};
  for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    pid_t p = must_fork();
    if (p == 0) _exit(codes[i]);
    char what[32];
    snprintf(what, sizeof what, "_exit(%d)", codes[i]);
    reap(what, p);
  }
  // exit() rather than _exit(): the same status.
  pid_t p = must_fork();
  if (p == 0) exit(9);
  reap("exit(9)", p);
  // return from main is exit: a child that returns from a function here.
  p = must_fork();
  if (p == 0) {
    raise(SIGKILL);
    _exit(99);
  }
  reap("raise(SIGKILL)", p);
  p = must_fork();
  if (p == 0) {
    int *volatile bad = (int *)16;
    *bad = 1;
    _exit(99);
  }
  reap("store to address 16", p);
  p = must_fork();
  if (p == 0) abort();
  reap("abort()", p);

  // wait4 with a struct rusage: the child's pid back.
  p = must_fork();
  if (p == 0) _exit(4);
  struct rusage ru;
  int status = -1;
  pid_t r = wait4(p, &status, 0, &ru);
  out("wait4 with rusage returned the pid: %s, exited %d\n", yes(r == p), WEXITSTATUS(status));

  // WNOHANG: 0 while the child runs (it waits on a pipe), its pid once it ended.
  int fd[2];
  must_pipe(fd);
  p = must_fork();
  if (p == 0) {
    char c;
    close(fd[1]);
    ssize_t n = read(fd[0], &c, 1);
    _exit(n == 1 ? c : 100);
  }
  close(fd[0]);
  r = waitpid(p, &status, WNOHANG);
  out("WNOHANG while running: %d\n", r);
  r = waitpid(-1, &status, WNOHANG);
  out("WNOHANG any while running: %d\n", r);
  full_write(fd[1], "\x11", 1);
  close(fd[1]);
  await_zombie(p);
  r = waitpid(-1, &status, WNOHANG);
  out("WNOHANG after exit returned the pid: %s\n", yes(r == p));
  describe("  status", status);

  // wait() for any child: three children, each reaped once.
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    kids[i] = must_fork();
    if (kids[i] == 0) _exit(20 + i);
  }
  int seen = 0;
  for (int i = 0; i < 3; i++) {
    r = wait(&status);
    for (int k = 0; k < 3; k++)
      if (r == kids[k] && WEXITSTATUS(status) == 20 + k) seen |= 1 << k;
  }
  out("wait() reaped all three, each with its own status: %s\n", yes(seen == 7));

  // No children left.
  errno = 0;
  r = wait(&status);
  out("wait() with no children: %d %s\n", r, errname(errno));
  errno = 0;
  r = waitpid(-1, &status, WNOHANG);
  out("waitpid(-1, WNOHANG) with no children: %d %s\n", r, errname(errno));
  errno = 0;
  r = waitpid(getppid(), &status, 0);
  out("waitpid(parent): %d %s\n", r, errname(errno));
  errno = 0;
  r = waitpid(p, &status, 0);
  out("waitpid(a child already reaped): %d %s\n", r, errname(errno));
  errno = 0;
  r = waitpid(-1, &status, 0x00100000 /* no such option */);
  out("waitpid with an unknown option: %d %s\n", r, errname(errno));
  return 0;
}

// ---- waitid: P_PID, P_ALL, P_PGID, WNOHANG, WNOWAIT, CLD_KILLED ----

static void show_siginfo(const char *what, const siginfo_t *si, pid_t want) {
  const char *code = si->si_code == CLD_EXITED ? "CLD_EXITED" : si->si_code == CLD_KILLED ? "CLD_KILLED"
                   : si->si_code == CLD_DUMPED ? "CLD_DUMPED" : si->si_code == CLD_STOPPED ? "CLD_STOPPED"
                   : si->si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other";
  out("%s: si_signo %d si_code %s si_status %d si_pid matches %s si_uid matches %s\n", what, si->si_signo, code,
      si->si_status, yes(si->si_pid == want), yes(si->si_uid == getuid()));
}

static int mode_waitid(void) {
  struct rlimit nocore = {0, 0};
  setrlimit(RLIMIT_CORE, &nocore);
  siginfo_t si;
  pid_t p = must_fork();
  if (p == 0) _exit(5);
  memset(&si, 0, sizeof si);
  int r = waitid(P_PID, p, &si, WEXITED);
  out("waitid P_PID: %d\n", r);
  show_siginfo("  info", &si, p);

  p = must_fork();
  if (p == 0) {
    raise(SIGTERM);
    _exit(99);
  }
  memset(&si, 0, sizeof si);
  r = waitid(P_ALL, 0, &si, WEXITED);
  out("waitid P_ALL (killed child): %d\n", r);
  show_siginfo("  info", &si, p);

  // WNOWAIT leaves the child waitable: the same answer twice, then gone.
  p = must_fork();
  if (p == 0) _exit(6);
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, p, &si, WEXITED | WNOWAIT);
  out("waitid WNOWAIT: %d\n", r);
  show_siginfo("  info", &si, p);
  memset(&si, 0, sizeof si);
  r = waitid(P_ALL, 0, &si, WEXITED | WNOWAIT);
  out("waitid WNOWAIT again (P_ALL): %d\n", r);
  show_siginfo("  info", &si, p);
  int status;
  pid_t w = waitpid(p, &status, 0);
  out("waitpid after WNOWAIT got it: %s\n", yes(w == p));
  describe("  status", status);

  // WNOHANG with a running child: 0, and si_pid cleared.
  int fd[2];
  must_pipe(fd);
  p = must_fork();
  if (p == 0) {
    char c;
    close(fd[1]);
    _exit(read(fd[0], &c, 1) == 0 ? 8 : 100);
  }
  close(fd[0]);
  memset(&si, 0xff, sizeof si);
  r = waitid(P_PID, p, &si, WEXITED | WNOHANG);
  out("waitid WNOHANG while running: %d, si_pid %d si_signo %d\n", r, si.si_pid, si.si_signo);
  close(fd[1]);  // EOF: the child ends
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, p, &si, WEXITED);
  out("waitid after EOF: %d\n", r);
  show_siginfo("  info", &si, p);

  // P_PGID: a child in a group of its own.
  p = must_fork();
  if (p == 0) {
    setpgid(0, 0);
    _exit(11);
  }
  setpgid(p, p);
  memset(&si, 0, sizeof si);
  r = waitid(P_PGID, p, &si, WEXITED);
  out("waitid P_PGID: %d\n", r);
  show_siginfo("  info", &si, p);

  // Errors.
  errno = 0;
  r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
  out("waitid with no children: %d %s\n", r, errname(errno));
  errno = 0;
  r = waitid(P_ALL, 0, &si, 0);
  out("waitid with no WEXITED/WSTOPPED/WCONTINUED: %d %s\n", r, errname(errno));
  errno = 0;
  r = waitid((idtype_t)99, 0, &si, WEXITED);
  out("waitid with a bad idtype: %d %s\n", r, errname(errno));
  return 0;
}

// ---- stop: WUNTRACED and WCONTINUED, waitid WSTOPPED/WCONTINUED ----

static int mode_stop(void) {
  int fd[2];
  must_pipe(fd);
  pid_t p = must_fork();
  if (p == 0) {
    char c;
    close(fd[1]);
    _exit(read(fd[0], &c, 1) == 0 ? 3 : 100);
  }
  close(fd[0]);
  int status;
  kill(p, SIGSTOP);
  pid_t r = waitpid(p, &status, WUNTRACED);
  out("WUNTRACED got it: %s\n", yes(r == p));
  describe("  status", status);
  kill(p, SIGCONT);
  r = waitpid(p, &status, WCONTINUED);
  out("WCONTINUED got it: %s\n", yes(r == p));
  describe("  status", status);
  kill(p, SIGSTOP);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int ri = waitid(P_PID, p, &si, WSTOPPED);
  out("waitid WSTOPPED: %d si_code CLD_STOPPED %s si_status %d\n", ri, yes(si.si_code == CLD_STOPPED), si.si_status);
  kill(p, SIGCONT);
  memset(&si, 0, sizeof si);
  ri = waitid(P_PID, p, &si, WCONTINUED);
  out("waitid WCONTINUED: %d si_code CLD_CONTINUED %s si_status %d\n", ri, yes(si.si_code == CLD_CONTINUED), si.si_status);
  close(fd[1]);
  reap("child", p);
  return 0;
}

// ---- order: several zombies are reaped oldest first, whatever their exit order ----

static int mode_order(void) {
  enum { N = 4 };
  int go[N][2];
  pid_t kids[N];
  for (int i = 0; i < N; i++) {
    must_pipe(go[i]);
    kids[i] = must_fork();
    if (kids[i] == 0) {
      char c;
      for (int k = 0; k <= i; k++) close(go[k][1]);
      _exit(read(go[i][0], &c, 1) == 0 ? 30 + i : 100);
    }
    close(go[i][0]);
  }
  // Child 2 alone ends: wait() gets it.
  close(go[2][1]);
  int status;
  pid_t r = wait(&status);
  for (int i = 0; i < N; i++) if (r == kids[i]) out("first reaped: child %d, exited %d\n", i, WEXITSTATUS(status));
  // Then 3, 1 and 0 end in that order and are all zombies before the next wait.
  static const int order[] = {3, 1, 0};
  for (int k = 0; k < 3; k++) {
    close(go[order[k]][1]);
    await_zombie(kids[order[k]]);
  }
  for (int k = 0; k < 3; k++) {
    r = wait(&status);
    for (int i = 0; i < N; i++) if (r == kids[i]) out("then reaped: child %d, exited %d\n", i, WEXITSTATUS(status));
  }
  return 0;
}

// ---- vfork: the parent waits until the child has called _exit; memory is shared ----
// (QEMU runs vfork as fork: judged against the native build, not qemu.)

static volatile int vfork_mark;

static int mode_vfork(void) {
  vfork_mark = 1;
  struct timespec before, after;
  clock_gettime(CLOCK_MONOTONIC, &before);
  pid_t p = vfork();
  if (p < 0) {
    out("vfork: %s\n", errname(errno));
    return 1;
  }
  if (p == 0) {
    // The child runs on the parent's memory and stack until it _exits.
    struct timespec ts = {0, 100 * 1000000};
    nanosleep(&ts, NULL);
    vfork_mark = 2;
    _exit(12);
  }
  clock_gettime(CLOCK_MONOTONIC, &after);
  long ms = (after.tv_sec - before.tv_sec) * 1000 + (after.tv_nsec - before.tv_nsec) / 1000000;
  out("parent resumed after the child's 100 ms sleep: %s\n", yes(ms >= 90));
  out("parent sees the child's store (shared memory): %s\n", yes(vfork_mark == 2));
  int status;
  pid_t r = waitpid(p, &status, WNOHANG);
  out("child already a zombie when the parent resumed: %s\n", yes(r == p));
  if (r == 0) r = waitpid(p, &status, 0);
  describe("child", status);
  return 0;
}

// ---- clone: clone(2) without CLONE_VM, with SIGCHLD or no exit signal ----

static int clone_global = 10;

static long raw_clone(unsigned long flags) {
  // riscv64: clone(flags, newsp, parent_tid, tls, child_tid); newsp 0 keeps the stack (a copy).
  return syscall(SYS_clone, flags, 0L, 0L, 0L, 0L);
}

static int mode_clone(void) {
  pid_t parent = getpid();
  long p = raw_clone(SIGCHLD);
  if (p < 0) {
    out("clone(SIGCHLD): %s\n", errname(errno));
    return 1;
  }
  if (p == 0) {
    clone_global = 11;
    _exit(getppid() == parent ? 13 : 14);
  }
  int status;
  pid_t r = waitpid(p, &status, 0);
  out("clone(SIGCHLD) child reaped by waitpid: %s\n", yes(r == p));
  describe("  status (13: its getppid() was the parent)", status);
  out("  parent's global unchanged: %d\n", clone_global);

  return 0;
}

// ---- clone-flags: clone(2) with no exit signal (QEMU refuses it: EINVAL),
// CLONE_PARENT_SETTID and CLONE_CHILD_SETTID (QEMU does not store the former) ----

static int mode_clone_flags(void) {
  int status;
  pid_t r;
  // No exit signal: a "clone" child, waited for only with __WALL or __WCLONE.
  long p = raw_clone(0);
  if (p < 0) {
    out("clone(0): %s\n", errname(errno));
    return 1;
  }
  if (p == 0) _exit(15);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  waitid(P_PID, p, &si, WEXITED | WNOWAIT | __WALL);  // until it is a zombie
  errno = 0;
  r = waitpid(p, &status, WNOHANG);
  out("clone(0) child, waitpid without __WALL: %d %s\n", r, errname(errno));
  r = waitpid(p, &status, __WALL);
  out("clone(0) child, waitpid with __WALL: %s\n", yes(r == p));
  describe("  status", status);
  // __WCLONE finds it too, and a SIGCHLD child it does not.
  p = raw_clone(0);
  if (p == 0) _exit(18);
  r = waitpid(p, &status, __WCLONE);
  out("clone(0) child, waitpid with __WCLONE: %s\n", yes(r == p));
  describe("  status", status);
  p = must_fork();
  if (p == 0) _exit(19);
  siginfo_t si2;
  waitid(P_PID, p, &si2, WEXITED | WNOWAIT);
  errno = 0;
  r = waitpid(p, &status, __WCLONE | WNOHANG);
  out("fork child, waitpid with __WCLONE: %d %s\n", r, errname(errno));
  reap("  fork child", p);

  // clone with CLONE_PARENT_SETTID and CLONE_CHILD_SETTID: both see the child's tid.
  static pid_t ptid, ctid;
#ifdef __x86_64__
  p = syscall(SYS_clone, CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, 0L, &ptid, &ctid, 0L);
#else
  p = syscall(SYS_clone, CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, 0L, &ptid, 0L, &ctid);
#endif
  if (p == 0) _exit(ctid == getpid() ? 16 : 17);
  r = waitpid(p, &status, 0);
  out("CLONE_PARENT_SETTID wrote the child's pid in the parent: %s\n", yes(ptid == p));
  out("CLONE_CHILD_SETTID in the parent's copy untouched: %s\n", yes(ctid == 0));
  describe("  status (16: the child's copy held its pid)", status);
  return 0;
}

// ---- pipe: both directions, EOF once every write end is closed, a pipeline ----

static int mode_pipe(void) {
  int down[2], up[2];
  must_pipe(down);
  must_pipe(up);
  pid_t p = must_fork();
  if (p == 0) {
    close(down[1]);
    close(up[0]);
    char buf[64];
    size_t total = 0;
    ssize_t n;
    // Reads until EOF: the parent's write end and ours (closed above) are the only ones.
    while ((n = read(down[0], buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
      full_write(up[1], buf, n);
      total += n;
    }
    char line[64];
    int len = snprintf(line, sizeof line, "[child read %zu bytes, then EOF]\n", total);
    full_write(up[1], line, len);
    _exit(0);
  }
  close(down[0]);
  close(up[1]);
  const char *msg = "hello through a pipe\n";
  full_write(down[1], msg, strlen(msg));
  close(down[1]);
  char buf[256];
  size_t have = 0;
  ssize_t n;
  while ((n = read(up[0], buf + have, sizeof buf - 1 - have)) > 0) have += n;
  buf[have] = 0;
  out("parent read back until EOF:\n%s", buf);
  reap("child", p);

  // A write end left open in another process holds EOF back: the reader sees
  // EOF only when the last holder (a second child) closes it.
  int fd[2], ctl[2];
  must_pipe(fd);
  must_pipe(ctl);
  pid_t holder = must_fork();
  if (holder == 0) {
    char c;
    close(fd[0]);
    close(ctl[1]);
    read(ctl[0], &c, 1);  // until told
    full_write(fd[1], "late", 4);
    _exit(0);
  }
  close(ctl[0]);
  close(fd[1]);
  full_write(ctl[1], "x", 1);
  char got[16] = {0};
  size_t have2 = 0;
  while ((n = read(fd[0], got + have2, sizeof got - 1 - have2)) > 0) have2 += n;
  out("reader got '%s' from the last writer, then EOF\n", got);
  reap("holder", holder);

  // SIGPIPE across processes: the reader (a child) has gone.
  int dead[2];
  must_pipe(dead);
  p = must_fork();
  if (p == 0) _exit(0);
  close(dead[0]);
  reap("reader", p);
  signal(SIGPIPE, SIG_IGN);
  errno = 0;
  ssize_t w = write(dead[1], "x", 1);
  out("write with no reader left: %zd %s\n", w, errname(errno));
  close(dead[1]);
  signal(SIGPIPE, SIG_DFL);

  // A pipeline of three processes: producer | upcase | counter, the
  // counter's report back to the parent through a fourth pipe.
  int a[2], b[2], c[2];
  must_pipe(a);
  must_pipe(b);
  must_pipe(c);
  pid_t prod = must_fork();
  if (prod == 0) {
    close(a[0]); close(b[0]); close(b[1]); close(c[0]); close(c[1]);
    for (int i = 0; i < 100; i++) {
      char line[32];
      int len = snprintf(line, sizeof line, "line %d of the producer\n", i);
      full_write(a[1], line, len);
    }
    _exit(0);
  }
  pid_t upc = must_fork();
  if (upc == 0) {
    close(a[1]); close(b[0]); close(c[0]); close(c[1]);
    while ((n = read(a[0], buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
      full_write(b[1], buf, n);
    }
    _exit(0);
  }
  pid_t cnt = must_fork();
  if (cnt == 0) {
    close(a[0]); close(a[1]); close(b[1]); close(c[0]);
    long bytes = 0, lines = 0, upper = 0;
    unsigned hash = 5381;
    while ((n = read(b[0], buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) {
        bytes++;
        lines += buf[i] == '\n';
        upper += buf[i] >= 'A' && buf[i] <= 'Z';
        hash = hash * 33 + (unsigned char)buf[i];
      }
    }
    char line[128];
    int len = snprintf(line, sizeof line, "pipeline: %ld bytes, %ld lines, %ld capitals, hash %08x\n", bytes, lines, upper, hash);
    full_write(c[1], line, len);
    _exit(0);
  }
  close(a[0]); close(a[1]); close(b[0]); close(b[1]); close(c[1]);
  have = 0;
  while ((n = read(c[0], buf + have, sizeof buf - 1 - have)) > 0) have += n;
  buf[have] = 0;
  out("%s", buf);
  reap("producer", prod);
  reap("upcase", upc);
  reap("counter", cnt);
  return 0;
}

// ---- copy: the child's stores stay in the child (global, heap, stack, private mappings) ----

static int copy_global = 100;

static int mode_copy(void) {
  int *heap = malloc(64 * 1024);
  for (int i = 0; i < 16 * 1024; i++) heap[i] = i;
  volatile int stack_var = 300;
  int *anon = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  anon[0] = 400;
  anon[1024] = 401;
  // A private mapping of a file: its pages copied too.
  char path[] = "/tmp/proc-fork-copy-XXXXXX";
  int fd = mkstemp(path);
  int contents[1024];
  for (int i = 0; i < 1024; i++) contents[i] = 500 + i;
  full_write(fd, contents, sizeof contents);
  int *filemap = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (anon == MAP_FAILED || filemap == MAP_FAILED) {
    out("mmap failed\n");
    return 1;
  }
  int fd2[2];
  must_pipe(fd2);
  int ctl[2];
  must_pipe(ctl);
  pid_t p = must_fork();
  if (p == 0) {
    // First what the child sees: the parent's values at fork time...
    int ok = copy_global == 100 && heap[1000] == 1000 && stack_var == 300 && anon[0] == 400 && anon[1024] == 401
             && filemap[7] == 507;
    // ...and then, after the parent changed its own copies, still those.
    char c;
    close(ctl[1]);
    read(ctl[0], &c, 1);
    int still = copy_global == 100 && heap[1000] == 1000 && stack_var == 300 && anon[0] == 400 && filemap[7] == 507;
    copy_global = 111;
    heap[1000] = -1;
    stack_var = 333;
    anon[0] = 444;
    anon[1024] = 445;
    filemap[7] = 555;
    int mine = copy_global == 111 && heap[1000] == -1 && stack_var == 333 && anon[0] == 444 && filemap[7] == 555;
    char r[3] = {(char)ok, (char)still, (char)mine};
    full_write(fd2[1], r, 3);
    _exit(0);
  }
  close(ctl[0]);
  // The parent writes after the fork: the child must not see this either.
  copy_global = 101;
  heap[1000] = 1001;
  stack_var = 301;
  anon[0] = 402;
  filemap[7] = 508;
  full_write(ctl[1], "g", 1);
  char r[3];
  full_read(fd2[0], r, 3);
  reap("child", p);
  out("child saw the parent's values at fork: %s\n", yes(r[0]));
  out("child did not see the parent's later stores: %s\n", yes(r[1]));
  out("child saw its own stores: %s\n", yes(r[2]));
  out("parent after the child's stores: global %d heap %d stack %d anon %d %d file mapping %d\n",
      copy_global, heap[1000], stack_var, anon[0], anon[1024], filemap[7]);
  // The file itself is untouched by either private mapping.
  int back[8];
  pread(fd, back, sizeof back, 0);
  out("file still holds %d\n", back[7]);
  close(fd);
  unlink(path);
  return 0;
}

// ---- shared: MAP_SHARED | MAP_ANONYMOUS is one memory for both processes ----

static int mode_shared(void) {
  atomic_long *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    out("mmap: %s\n", errname(errno));
    return 1;
  }
  page[0] = 1;
  page[1] = 0;
  pid_t p = must_fork();
  if (p == 0) {
    int saw = page[0] == 1;
    page[0] = 2;
    for (int i = 0; i < 100000; i++) atomic_fetch_add(&page[1], 1);
    _exit(saw ? 0 : 1);
  }
  for (int i = 0; i < 100000; i++) atomic_fetch_add(&page[1], 1);
  reap("child (0: it saw the parent's value)", p);
  out("parent sees the child's store: %ld\n", (long)page[0]);
  out("atomic counter from both: %ld\n", (long)page[1]);
  // A private anonymous mapping next to it stays private.
  int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  priv[0] = 7;
  p = must_fork();
  if (p == 0) {
    priv[0] = 8;
    page[2] = 9;
    _exit(0);
  }
  reap("second child", p);
  out("private page %d, shared page %ld\n", priv[0], (long)page[2]);
  return 0;
}

// ---- sigchld: a handler sees the child's pid and how it ended ----

static volatile sig_atomic_t chld_count;
static siginfo_t chld_info;

static void on_chld(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)ctx;
  chld_info = *si;
  chld_count++;
}

static int mode_sigchld(void) {
  struct rlimit nocore = {0, 0};
  setrlimit(RLIMIT_CORE, &nocore);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);

  pid_t p = must_fork();
  if (p == 0) _exit(5);
  while (chld_count == 0) sigsuspend(&old);
  show_siginfo("SIGCHLD for _exit(5)", &chld_info, p);
  reap("  child", p);

  chld_count = 0;
  p = must_fork();
  if (p == 0) {
    for (;;) pause();
  }
  kill(p, SIGTERM);
  while (chld_count == 0) sigsuspend(&old);
  show_siginfo("SIGCHLD for SIGTERM", &chld_info, p);
  reap("  child", p);

  // The child's own SIGCHLD disposition is the parent's (copied), its pending set empty.
  chld_count = 0;
  p = must_fork();
  if (p == 0) {
    struct sigaction cur;
    sigaction(SIGCHLD, NULL, &cur);
    sigset_t pending, mask;
    sigpending(&pending);
    sigprocmask(SIG_SETMASK, NULL, &mask);
    _exit((cur.sa_sigaction == on_chld ? 1 : 0) | (sigismember(&pending, SIGCHLD) ? 2 : 0) | (sigismember(&mask, SIGCHLD) ? 4 : 0));
  }
  while (chld_count == 0) sigsuspend(&old);
  reap("child with handler copied, nothing pending, SIGCHLD still blocked (5)", p);

  // A blocked SIGCHLD stays pending until unblocked.
  chld_count = 0;
  p = must_fork();
  if (p == 0) _exit(0);
  await_zombie(p);
  sigset_t pending;
  sigpending(&pending);
  out("SIGCHLD pending while blocked: %s, handler ran: %s\n", yes(sigismember(&pending, SIGCHLD)), yes(chld_count));
  sigprocmask(SIG_SETMASK, &old, NULL);
  out("after unblocking, handler ran: %s\n", yes(chld_count == 1));
  reap("  child", p);

  return 0;
}

// ---- nocldstop: SIGCHLD for a stop, and none with SA_NOCLDSTOP (which QEMU does not honour) ----

static int mode_nocldstop(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t block, old, pending;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  int status;
  chld_count = 0;
  pid_t p = must_fork();
  if (p == 0) {
    for (;;) pause();
  }
  kill(p, SIGSTOP);
  while (chld_count == 0) sigsuspend(&old);
  show_siginfo("SIGCHLD for SIGSTOP", &chld_info, p);
  waitpid(p, &status, WUNTRACED);
  kill(p, SIGKILL);
  reap("  child", p);
  sigsuspend(&old);  // the SIGCHLD of the kill, pending meanwhile

  // SA_NOCLDSTOP: no SIGCHLD when a child stops.
  sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  chld_count = 0;
  p = must_fork();
  if (p == 0) {
    for (;;) pause();
  }
  kill(p, SIGSTOP);
  waitpid(p, &status, WUNTRACED);
  sigpending(&pending);
  out("SA_NOCLDSTOP: SIGCHLD pending after a stop: %s\n", yes(sigismember(&pending, SIGCHLD)));
  kill(p, SIGKILL);
  while (chld_count == 0) sigsuspend(&old);
  show_siginfo("SIGCHLD for SIGKILL", &chld_info, p);
  reap("  child", p);
  return 0;
}

// ---- sigchld-ign: SIGCHLD ignored (or SA_NOCLDWAIT) reaps children at once ----

static int mode_sigchld_ign(void) {
  signal(SIGCHLD, SIG_IGN);
  pid_t p = must_fork();
  if (p == 0) _exit(3);
  // wait blocks until the child has gone, then has nothing to report.
  int status;
  errno = 0;
  pid_t r = waitpid(-1, &status, 0);
  out("SIG_IGN: waitpid: %d %s\n", r, errname(errno));
  errno = 0;
  int k = kill(p, 0);
  out("SIG_IGN: the child is gone (kill 0): %d %s\n", k, errname(errno));

  // Back to SIG_DFL: children are zombies again.
  signal(SIGCHLD, SIG_DFL);
  p = must_fork();
  if (p == 0) _exit(6);
  reap("SIG_DFL again", p);
  return 0;
}

// ---- nocldwait: SA_NOCLDWAIT with a handler (QEMU does not honour it) ----

static int mode_nocldwait(void) {
  pid_t p, r;
  int status;
  // SA_NOCLDWAIT with a handler: reaped at once, the handler still runs.
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | SA_NOCLDWAIT;
  sigaction(SIGCHLD, &sa, NULL);
  chld_count = 0;
  p = must_fork();
  if (p == 0) _exit(4);
  errno = 0;
  r = waitpid(p, &status, 0);
  int e = errno;
  while (chld_count == 0) sleep_ms(1);
  out("SA_NOCLDWAIT: waitpid: %d %s, handler ran: %s\n", r, errname(e), yes(chld_count == 1));
  show_siginfo("  info", &chld_info, p);
  return 0;
}

// ---- kill: between processes, to a process group, to our own group ----

static int report_fd = -1;
static int my_index;

static void on_usr1(int sig) {
  char msg[2] = {(char)('0' + my_index), (char)sig};
  write(report_fd, msg, 2);
}

/** Collects n two-byte reports and prints which indices sent which signal, in index order. */
static void collect(const char *what, int fd, int n) {
  int got[10] = {0};
  for (int i = 0; i < n; i++) {
    char msg[2];
    full_read(fd, msg, 2);
    got[msg[0] - '0'] = msg[1];
  }
  out("%s:", what);
  for (int i = 0; i < 10; i++) if (got[i]) out(" %d got %d", i, got[i]);
  out("\n");
}

static int mode_kill(void) {
  // kill(child, SIGTERM) with the default action.
  pid_t p = must_fork();
  if (p == 0) {
    for (;;) pause();
  }
  out("kill(child, SIGTERM): %d\n", kill(p, SIGTERM));
  reap("  child", p);

  // kill(pid, 0): the child exists while it runs and while it is a zombie, not after.
  p = must_fork();
  if (p == 0) _exit(0);
  await_zombie(p);
  out("kill(zombie, 0): %d\n", kill(p, 0));
  reap("  zombie", p);
  errno = 0;
  int k = kill(p, 0);
  out("kill(reaped, 0): %d %s\n", k, errname(errno));
  errno = 0;
  k = kill(p, 99);
  out("kill(reaped, 99): %d %s\n", k, errname(errno));
  errno = 0;
  k = kill(getpid(), 99);
  out("kill(self, 99): %d %s\n", k, errname(errno));

  // A handled signal in the child: it reports through a pipe.
  int rep[2], ready[2];
  must_pipe(rep);
  must_pipe(ready);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  report_fd = rep[1];

  // Three children in a new process group (the first leads it), one outside.
  pid_t kids[4];
  for (int i = 0; i < 4; i++) {
    kids[i] = must_fork();
    if (kids[i] == 0) {
      my_index = i + 1;
      if (i < 3) setpgid(0, i == 0 ? 0 : kids[0]);
      full_write(ready[1], "r", 1);
      for (;;) pause();
    }
    if (i < 3) setpgid(kids[i], kids[0]);  // both sides set it: no race
  }
  for (int i = 0; i < 4; i++) {
    char c;
    full_read(ready[0], &c, 1);
  }
  out("getpgid(child 2) is child 1: %s, child 4 in ours: %s\n", yes(getpgid(kids[1]) == kids[0]), yes(getpgid(kids[3]) == getpgrp()));
  out("kill(-pgid, SIGUSR1): %d\n", kill(-kids[0], SIGUSR1));
  collect("  reports", rep[0], 3);
  out("killpg(pgid, SIGUSR2): %d\n", killpg(kids[0], SIGUSR2));
  collect("  reports", rep[0], 3);
  // kill(0, sig): everyone in the sender's group, the sender included. A
  // fifth child joins the group of children 1-3 and sends it (in our own
  // group it would reach whoever started us too).
  pid_t sender = must_fork();
  if (sender == 0) {
    my_index = 5;
    setpgid(0, kids[0]);
    _exit(kill(0, SIGUSR1) == 0 ? 0 : 1);
  }
  setpgid(sender, kids[0]);
  reap("kill(0, SIGUSR1) from a fifth child in that group", sender);
  collect("  reports", rep[0], 4);
  errno = 0;
  k = kill(-kids[0] - 100000, SIGUSR1);
  out("kill(-no such group): %d %s\n", k, errname(errno));
  for (int i = 0; i < 4; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < 4; i++) {
    char what[16];
    snprintf(what, sizeof what, "child %d", i + 1);
    reap(what, kids[i]);
  }
  return 0;
}

// ---- pgrp: process groups and sessions, and their errors ----

static int mode_pgrp(void) {
  int rep[2], release[2];
  must_pipe(rep);
  must_pipe(release);
  pid_t parent_sid = getsid(0);
  out("getpgid(0) is getpgrp(): %s, getsid(0) is getsid(getpid()): %s\n", yes(getpgid(0) == getpgrp()), yes(parent_sid == getsid(getpid())));

  pid_t p = must_fork();
  if (p == 0) {
    char line[512];
    int n = 0;
    pid_t me = getpid();
    n += snprintf(line + n, sizeof line - n, "child: in the parent's session %s, group %s\n", yes(getsid(0) == parent_sid), yes(getpgrp() == getpgid(getppid())));
    int r = setpgid(0, 0);
    n += snprintf(line + n, sizeof line - n, "child: setpgid(0, 0) %d, now leads its group %s\n", r, yes(getpgrp() == me));
    errno = 0;
    r = setsid();
    n += snprintf(line + n, sizeof line - n, "child: setsid() as a group leader: %d %s\n", r, errname(errno));
    // Back into the parent's group (same session), then setsid works.
    r = setpgid(0, getpgid(getppid()));
    n += snprintf(line + n, sizeof line - n, "child: setpgid back to the parent's group: %d\n", r);
    pid_t s = setsid();
    n += snprintf(line + n, sizeof line - n, "child: setsid() returned its pid %s; getsid %s getpgrp %s\n", yes(s == me), yes(getsid(0) == me), yes(getpgrp() == me));
    errno = 0;
    r = setpgid(0, getpgid(getppid()));
    n += snprintf(line + n, sizeof line - n, "child: setpgid into a group of another session: %d %s\n", r, errname(errno));
    errno = 0;
    r = setsid();
    n += snprintf(line + n, sizeof line - n, "child: setsid() again: %d %s\n", r, errname(errno));
    full_write(rep[1], line, n);
    char c;
    close(release[1]);
    read(release[0], &c, 1);  // stays alive until the parent has looked
    _exit(0);
  }
  char buf[1024];
  ssize_t n = read(rep[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  out("%s", buf);
  out("parent: getsid(child) is the child: %s, getpgid(child) is the child: %s\n", yes(getsid(p) == p), yes(getpgid(p) == p));
  errno = 0;
  int r = setpgid(p, getpgrp());
  out("parent: setpgid(child in another session): %d %s\n", r, errname(errno));
  full_write(release[1], "x", 1);
  reap("child", p);

  // Errors with a pid that is not there.
  errno = 0;
  r = getpgid(p);
  out("getpgid(reaped child): %d %s\n", r, errname(errno));
  errno = 0;
  r = getsid(p);
  out("getsid(reaped child): %d %s\n", r, errname(errno));
  errno = 0;
  r = setpgid(p, p);
  out("setpgid(reaped child): %d %s\n", r, errname(errno));
  errno = 0;
  r = setpgid(0, -1);
  out("setpgid(0, -1): %d %s\n", r, errname(errno));
  errno = 0;
  r = setpgid(getppid(), 0);
  out("setpgid(our parent): %d %s\n", r, errname(errno));

  // A child may join a group only in its own session; a group that does not
  // exist may not be named.
  p = must_fork();
  if (p == 0) {
    errno = 0;
    int x = setpgid(0, getpid() + 100000 > 4000000 ? 1 : getpid() + 100000);
    _exit(x == -1 && errno == EPERM ? 0 : 1);
  }
  reap("child joining a group that does not exist (0: EPERM)", p);
  return 0;
}

// ---- threads: fork in a threaded process keeps only the caller ----

static atomic_long spins;
static atomic_int stop_spinning;

static void *spinner(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_spinning)) atomic_fetch_add(&spins, 1);
  return NULL;
}

static void *child_thread(void *arg) {
  return (void *)((long)arg + 1);
}

static int mode_threads(void) {
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, spinner, NULL);
  while (atomic_load(&spins) < 1000) sched_yield();
  int rep[2];
  must_pipe(rep);
  pid_t p = must_fork();
  if (p == 0) {
    long before = atomic_load(&spins);
    sleep_ms(100);
    long after = atomic_load(&spins);
    // The child can make threads of its own, and allocate (malloc's locks were reset).
    pthread_t t2;
    void *ret = NULL;
    int made = pthread_create(&t2, NULL, child_thread, (void *)41) == 0 && pthread_join(t2, &ret) == 0;
    void *m = malloc(100000);
    char r[3] = {(char)(before == after), (char)(made && (long)ret == 42), (char)(m != NULL)};
    full_write(rep[1], r, 3);
    _exit(0);
  }
  char r[3];
  full_read(rep[0], r, 3);
  reap("child", p);
  out("in the child the other threads are gone (counter still): %s\n", yes(r[0]));
  out("the child made and joined a thread of its own: %s\n", yes(r[1]));
  out("the child allocated: %s\n", yes(r[2]));
  long before = atomic_load(&spins);
  sleep_ms(20);
  out("in the parent the threads still run: %s\n", yes(atomic_load(&spins) != before));
  atomic_store(&stop_spinning, 1);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  // fork from a thread other than the main one: the child is that thread.
  return 0;
}

// ---- offset: parent and child share open file descriptions ----

static int mode_offset(void) {
  char path[] = "/tmp/proc-fork-offset-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    out("mkstemp: %s\n", errname(errno));
    return 1;
  }
  full_write(fd, "abc", 3);
  pid_t p = must_fork();
  if (p == 0) {
    full_write(fd, "def", 3);
    // File status flags are the description's: the parent sees O_APPEND.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND);
    // Descriptor flags are the descriptor's: the parent's stays clear.
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    // Closing ours leaves the parent's open.
    close(fd);
    _exit(0);
  }
  reap("child", p);
  out("parent's offset after the child wrote: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  out("O_APPEND set by the child seen by the parent: %s\n", yes(fcntl(fd, F_GETFL) & O_APPEND));
  out("FD_CLOEXEC set by the child seen by the parent: %s\n", yes(fcntl(fd, F_GETFD) & FD_CLOEXEC));
  lseek(fd, 0, SEEK_SET);
  full_write(fd, "ghi", 3);  // O_APPEND: at the end
  p = must_fork();
  if (p == 0) {
    lseek(fd, 2, SEEK_SET);
    _exit(0);
  }
  reap("child", p);
  out("offset after the child's lseek: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  char buf[32] = {0};
  pread(fd, buf, sizeof buf - 1, 0);
  out("file: %s\n", buf);
  // dup'd descriptors across fork: still one description.
  int d = dup(fd);
  p = must_fork();
  if (p == 0) {
    lseek(d, 0, SEEK_SET);
    _exit(0);
  }
  reap("child", p);
  out("offset of the original after the child moved the dup: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  close(d);
  close(fd);
  unlink(path);
  return 0;
}

// ---- stdio: a stdio buffer not flushed before fork is flushed twice ----

static int mode_stdio(void) {
  printf("written before the fork, not flushed\n");  // stdout is a pipe or file: fully buffered
  pid_t p = fork();
  if (p < 0) return 1;
  if (p == 0) {
    printf("child\n");
    exit(0);  // flushes its copy of the buffer
  }
  waitpid(p, NULL, 0);
  printf("parent\n");
  return 0;
}

// ---- proc: /proc/self in the child is the child ----

static int mode_proc(void) {
  char self[64] = {0}, exe[4096] = {0};
  ssize_t n = readlink("/proc/self", self, sizeof self - 1);
  ssize_t e = readlink("/proc/self/exe", exe, sizeof exe - 1);
  out("parent: /proc/self names getpid(): %s\n", yes(n > 0 && atoi(self) == getpid()));
  int rep[2];
  must_pipe(rep);
  pid_t p = must_fork();
  if (p == 0) {
    char cself[64] = {0}, cexe[4096] = {0}, path[64];
    ssize_t cn = readlink("/proc/self", cself, sizeof cself - 1);
    ssize_t ce = readlink("/proc/self/exe", cexe, sizeof cexe - 1);
    // And /proc/self/fd shows the pipe's write end we hold.
    snprintf(path, sizeof path, "/proc/self/fd/%d", rep[1]);
    char link[128] = {0};
    readlink(path, link, sizeof link - 1);
    char r[5] = {(char)(cn > 0 && atoi(cself) == getpid()), (char)(cn > 0 && atoi(cself) != getppid()),
                 (char)(ce == e && memcmp(cexe, exe, e > 0 ? e : 0) == 0), (char)(strncmp(link, "pipe:[", 6) == 0)};
    full_write(rep[1], r, 4);
    _exit(0);
  }
  char r[4];
  full_read(rep[0], r, 4);
  reap("child", p);
  out("child: /proc/self names the child's getpid(): %s\n", yes(r[0]));
  out("child: /proc/self is not the parent: %s\n", yes(r[1]));
  out("child: /proc/self/exe is the parent's: %s\n", yes(r[2]));
  out("child: /proc/self/fd shows the inherited pipe: %s\n", yes(r[3]));
  return 0;
}

// ---- orphan: a child whose parent has exited gets another parent ----

static int mode_orphan(void) {
  int rep[2];
  must_pipe(rep);
  pid_t middle = must_fork();
  if (middle == 0) {
    pid_t me = getpid();
    int go[2], ready[2];
    must_pipe(go);
    must_pipe(ready);
    pid_t g = must_fork();
    if (g == 0) {
      char c;
      close(go[1]);
      int before = getppid() == me;
      full_write(ready[1], "r", 1);
      read(go[0], &c, 1);  // EOF when the middle process has gone
      int changed = 0;
      for (int i = 0; i < 5000 && !changed; i++) {
        changed = getppid() != me;
        if (!changed) sleep_ms(1);
      }
      char r[2] = {(char)before, (char)changed};
      full_write(rep[1], r, 2);
      _exit(0);
    }
    char c;
    full_read(ready[0], &c, 1);
    _exit(0);  // leaves g an orphan; its go[1] closes with us
  }
  close(rep[1]);
  reap("middle process", middle);
  char r[2];
  full_read(rep[0], r, 2);
  out("grandchild's parent was the middle process: %s\n", yes(r[0]));
  out("grandchild's getppid() changed when the middle process exited: %s\n", yes(r[1]));
  char c;
  out("report pipe at EOF once the grandchild is gone: %s\n", yes(read(rep[0], &c, 1) == 0));
  return 0;
}

// ---- subreaper: PR_SET_CHILD_SUBREAPER makes us the orphan's new parent ----

static int mode_subreaper(void) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    out("PR_SET_CHILD_SUBREAPER: %s\n", errname(errno));
    return 1;
  }
  int flag = -1;
  prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0);
  out("PR_GET_CHILD_SUBREAPER: %d\n", flag);
  pid_t top = getpid();
  int rep[2];
  must_pipe(rep);
  pid_t middle = must_fork();
  if (middle == 0) {
    pid_t me = getpid();
    int go[2];
    must_pipe(go);
    pid_t g = must_fork();
    if (g == 0) {
      char c;
      close(go[1]);
      read(go[0], &c, 1);
      int adopted = 0;
      for (int i = 0; i < 5000 && !adopted; i++) {
        adopted = getppid() == top;
        if (!adopted) sleep_ms(1);
      }
      char r[2] = {(char)(getppid() != me), (char)adopted};
      full_write(rep[1], r, 2);
      _exit(21);
    }
    _exit(0);
  }
  close(rep[1]);
  reap("middle process", middle);
  char r[2];
  full_read(rep[0], r, 2);
  out("grandchild re-parented: %s, to us: %s\n", yes(r[0]), yes(r[1]));
  int status;
  pid_t w = wait(&status);
  out("we reap the grandchild: %s\n", yes(w > 0 && w != middle));
  describe("  grandchild", status);
  errno = 0;
  w = wait(&status);
  out("then no children: %d %s\n", w, errname(errno));
  return 0;
}

// ---- bomb: fork until fork fails under RLIMIT_NPROC, then reap them all ----
// RLIMIT_NPROC counts the processes of the real user and root is exempt, so
// a root caller first becomes uid 65534 in a child of its own. QEMU's
// children have threads of their own, which count, so only "more than 10" is
// printed.

static int mode_bomb(void) {
  pid_t boss = must_fork();
  if (boss == 0) {
    if (getuid() == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0) {
        out("dropping root: %s\n", errname(errno));
        _exit(1);
      }
    }
    struct rlimit lim = {50, 50};
    if (setrlimit(RLIMIT_NPROC, &lim) != 0) {
      out("setrlimit(RLIMIT_NPROC): %s\n", errname(errno));
      _exit(1);
    }
    int hold[2];
    must_pipe(hold);
    enum { CAP = 1000 };
    int count = 0, err = 0;
    while (count < CAP) {
      pid_t p = fork();
      if (p < 0) {
        err = errno;
        break;
      }
      if (p == 0) {
        char c;
        close(hold[1]);
        read(hold[0], &c, 1);  // until every write end is closed
        _exit(0);
      }
      count++;
    }
    out("fork failed: %s with %s\n", yes(count < CAP), errname(err));
    out("more than 10 forks before that: %s\n", yes(count > 10));
    close(hold[1]);
    int reaped = 0, status;
    while (wait(&status) > 0) reaped += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    out("reaped them all: %s\n", yes(reaped == count));
    _exit(0);
  }
  reap("bomb", boss);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "basic";
  static const struct {
    const char *name;
    int (*run)(void);
  } modes[] = {
    {"basic", mode_basic}, {"wait", mode_wait}, {"waitid", mode_waitid}, {"stop", mode_stop},
    {"order", mode_order}, {"vfork", mode_vfork}, {"clone", mode_clone}, {"clone-flags", mode_clone_flags},
    {"pipe", mode_pipe}, {"copy", mode_copy}, {"shared", mode_shared}, {"sigchld", mode_sigchld},
    {"nocldstop", mode_nocldstop}, {"sigchld-ign", mode_sigchld_ign}, {"nocldwait", mode_nocldwait}, {"kill", mode_kill}, {"pgrp", mode_pgrp},
    {"threads", mode_threads}, {"offset", mode_offset}, {"stdio", mode_stdio}, {"proc", mode_proc},
    {"orphan", mode_orphan}, {"subreaper", mode_subreaper}, {"bomb", mode_bomb},
  };
  for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    if (strcmp(mode, modes[i].name) == 0) {
      if (strcmp(mode, "stdio") != 0) out("proc-fork %s\n", mode);
      return modes[i].run();
    }
  }
  fprintf(stderr, "proc-fork: unknown mode '%s'\n", mode);
  return 2;
}
