// What the Linux Test Project's process tests found wrong in ringvisor
// (its fork, wait, kill, pselect, execve, execveat and setuid directories,
// run under ringvisor against the same tests built natively), each kept as
// a mode of this program and compared with the same source built natively
// (test/proc-exec.test.ts). One mode per argv[1]; no pids or times printed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static volatile sig_atomic_t got;
static void on_signal(int sig) { (void)sig; got++; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// (Each caller stores the call's result before it reads errno: argument
// order is the compiler's.)
static const char *result(long r, int e) {
  static char buf[64];
  if (r < 0) snprintf(buf, sizeof buf, "-1 %s", strerrorname_np(e));
  else snprintf(buf, sizeof buf, "%ld", r);
  return buf;
}

// SA_RESTART (glibc's signal() sets it): a handled signal from the child
// interrupts the parent's waitpid, which starts again after the handler.
static int mode_restart(void) {
  signal(SIGUSR1, on_signal);
  pid_t p = fork();
  if (p == 0) { kill(getppid(), SIGUSR1); usleep(100000); _exit(42); }
  int st;
  pid_t r = waitpid(p, &st, 0);
  printf("waitpid with SA_RESTART: %s, the child's pid: %s, exit %d, handler ran: %d\n",
    r < 0 ? strerrorname_np(errno) : "ok", r == p ? "yes" : "no", r == p ? WEXITSTATUS(st) : -1, (int)got);
  // Without SA_RESTART the same wait fails with EINTR.
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGUSR1, &sa, 0);
  got = 0;
  p = fork();
  if (p == 0) { kill(getppid(), SIGUSR1); usleep(100000); _exit(43); }
  r = waitpid(p, &st, 0);
  printf("waitpid without SA_RESTART: %s, handler ran: %d\n", result(r, errno), (int)got);
  if (r < 0) waitpid(p, &st, 0);
  return 0;
}

// A signal from a child that then exits interrupts every kind of wait with
// a timeout (EINTR, long before the timeout), poll and select ones even
// with SA_RESTART.
static int mode_interrupt(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, 0);
  for (int k = 0; k < 6; k++) {
    int p[2];
    if (pipe(p) < 0) return 1;
    got = 0;
    pid_t c = fork();
    if (c == 0) { usleep(100000); kill(getppid(), SIGUSR1); _exit(0); }
    double t0 = now();
    long r;
    const char *what;
    struct timespec ts = {2, 0};
    struct pollfd pf = {p[0], POLLIN, 0};
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {2, 0};
    switch (k) {
    case 0: what = "nanosleep"; r = nanosleep(&ts, 0); break;
    case 1: what = "poll"; r = poll(&pf, 1, 2000); break;
    case 2: what = "ppoll"; r = ppoll(&pf, 1, &ts, 0); break;
    case 3: what = "select"; r = select(p[0] + 1, &rs, 0, 0, &tv); break;
    case 4: what = "pselect"; r = pselect(p[0] + 1, &rs, 0, 0, &ts, 0); break;
    default: {
      what = "epoll_wait";
      int ep = epoll_create1(0);
      struct epoll_event ev = {EPOLLIN, {0}};
      epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
      r = epoll_wait(ep, &ev, 1, 2000);
      close(ep);
    }
    }
    int e = errno;
    printf("%-10s interrupted: %s, before its timeout: %s, handler ran: %d\n", what, result(r, e), now() - t0 < 1.5 ? "yes" : "no", (int)got);
    waitpid(c, 0, 0);
    close(p[0]);
    close(p[1]);
  }
  return 0;
}

// A signal pending and blocked that the call's own mask lets through
// interrupts ppoll and pselect at once, with or without other processes.
static int mode_pending(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGUSR1, &sa, 0);
  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &block, 0);
  struct timespec ts = {2, 0};
  raise(SIGUSR1);
  double t0 = now();
  long r = pselect(0, 0, 0, 0, &ts, &empty);
  printf("alone: pselect with SIGUSR1 pending: %s at once: %s, handler ran: %d\n", result(r, errno), now() - t0 < 1 ? "yes" : "no", (int)got);
  got = 0;
  pid_t c = fork();
  if (c == 0) { kill(getppid(), SIGUSR1); _exit(0); }
  waitpid(c, 0, 0);
  t0 = now();
  r = ppoll(0, 0, &ts, &empty);
  printf("after a child: ppoll with SIGUSR1 pending: %s at once: %s, handler ran: %d\n", result(r, errno), now() - t0 < 1 ? "yes" : "no", (int)got);
  sigset_t still;
  sigprocmask(SIG_BLOCK, 0, &still);
  printf("SIGUSR1 blocked again after both: %s\n", sigismember(&still, SIGUSR1) ? "yes" : "no");
  return 0;
}

// A shared futex in MAP_SHARED memory wakes a waiter in another process
// (LTP's checkpoints, process-shared mutexes and semaphores).
static int mode_futex(void) {
  char path[] = "/tmp/proc-ltp-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || ftruncate(fd, 4096) < 0) return 1;
  unlink(path);
  for (int k = 0; k < 2; k++) {
    int *f = k == 0 ? mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
                    : mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    pid_t p = fork();
    if (p == 0) {
      long n = 0;
      for (int i = 0; i < 100 && n == 0; i++) {
        n = syscall(SYS_futex, f, FUTEX_WAKE, 1, 0, 0, 0);
        if (n == 0) usleep(10000);
      }
      _exit(n == 1 ? 0 : 1);
    }
    struct timespec ts = {5, 0};
    long r = syscall(SYS_futex, f, FUTEX_WAIT, 0, &ts, 0, 0);
    int st;
    waitpid(p, &st, 0);
    printf("%s memory: FUTEX_WAIT woken by the child: %s, the child woke one: %s\n", k == 0 ? "anonymous shared" : "file shared",
      r == 0 ? "yes" : result(r, errno), WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
  }
  return 0;
}

// waitpid(INT_MIN) is ESRCH (no group can be -INT_MIN), children or not.
static int mode_intmin(void) {
  long r = waitpid(-2147483647 - 1, 0, 0);
  printf("waitpid(INT_MIN), no children: %s\n", result(r, errno));
  pid_t p = fork();
  if (p == 0) _exit(0);
  r = waitpid(-2147483647 - 1, 0, 0);
  printf("waitpid(INT_MIN) with a child: %s\n", result(r, errno));
  waitpid(p, 0, 0);
  return 0;
}

// kill needs permission: a process that dropped to another uid may not
// signal root's processes.
static int mode_killperm(void) {
  pid_t c = fork();
  if (c == 0) {
    if (setresuid(65534, 65534, 65534) < 0) _exit(2);
    long r = kill(getppid(), 0);
    printf("uid 65534: kill(root's process, 0): %s\n", result(r, errno));
    r = kill(getpid(), 0);
    printf("uid 65534: kill(itself, 0): %s\n", result(r, errno));
    fflush(stdout);
    _exit(0);
  }
  waitpid(c, 0, 0);
  return 0;
}

// execve with an empty argv gives the new program argv[0] = "" (Linux 5.18).
static int mode_emptyargv(int argc, char **argv) {
  if (argc <= 1) {
    printf("after exec: argc %d, argv[0] %s\n", argc, argc ? (argv[0][0] ? "not empty" : "\"\"") : "(null)");
    return 0;
  }
  char *av[] = {NULL}, *ev[] = {NULL};
  execve("/proc/self/exe", av, ev);
  printf("execve: %s\n", strerrorname_np(errno));
  return 1;
}

// execveat's own errors.
static void try_execveat(const char *what, int fd, const char *path, int flags) {
  char *argv[] = {"x", NULL};
  long r = syscall(SYS_execveat, fd, path, argv, environ, flags);
  printf("%s: %s\n", what, result(r, errno));
}

static int mode_execveat(void) {
  char d[] = "/tmp/proc-ltp-XXXXXX";
  if (!mkdtemp(d) || chdir(d) < 0) return 1;
  int f = open("prog", O_CREAT | O_WRONLY, 0755);
  if (write(f, "#!/nonexistent\n", 15) != 15) return 1;
  close(f);
  if (symlink("prog", "link") < 0 || symlink("nowhere", "dangling") < 0) return 1;
  try_execveat("execveat(-1, \"\", AT_EMPTY_PATH)", -1, "", AT_EMPTY_PATH);
  try_execveat("execveat of a link, AT_SYMLINK_NOFOLLOW", AT_FDCWD, "link", AT_SYMLINK_NOFOLLOW);
  try_execveat("execveat of a dangling link, AT_SYMLINK_NOFOLLOW", AT_FDCWD, "dangling", AT_SYMLINK_NOFOLLOW);
  try_execveat("execveat of a script whose interpreter is missing", AT_FDCWD, "prog", 0);
  unlink("link");
  unlink("dangling");
  unlink("prog");
  if (chdir("/") < 0) return 1;
  rmdir(d);
  return 0;
}

// alarm and setitimer (LTP's harness bounds every test with alarm()): a
// handled SIGALRM ends pause() and a read with EINTR, an interval timer
// fires again, getitimer shows the time left, alarm(0) cancels and says
// what was left; an unhandled one ends the process (status 142).
static int mode_alarm(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGALRM, &sa, 0);
  alarm(1);
  long r = pause();
  printf("pause after alarm(1): %s, handler ran: %d\n", result(r, errno), (int)got);
  int p[2];
  if (pipe(p) < 0) return 1;
  got = 0;
  struct itimerval it = {{0, 100000}, {0, 100000}}, left;
  setitimer(ITIMER_REAL, &it, 0);
  char c;
  r = read(p[0], &c, 1);
  printf("read of an empty pipe, interval timer: %s, handler ran: %d\n", result(r, errno), (int)got);
  r = read(p[0], &c, 1);
  printf("again, the timer fires again: %s, handler ran: %d\n", result(r, errno), (int)got);
  getitimer(ITIMER_REAL, &left);
  printf("getitimer: interval 0.1 s: %s, time left at most 0.1 s: %s\n",
    left.it_interval.tv_sec == 0 && left.it_interval.tv_usec == 100000 ? "yes" : "no",
    left.it_value.tv_sec == 0 && left.it_value.tv_usec <= 100000 ? "yes" : "no");
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, 0);
  alarm(100);
  printf("alarm(0) after alarm(100) says: %s\n", alarm(0) >= 99 ? "99 or 100" : "less");
  r = setitimer(5, &off, 0);
  printf("setitimer(5): %s\n", result(r, errno));
  fflush(stdout);
  signal(SIGALRM, SIG_DFL);
  alarm(1);
  pause();
  printf("not reached\n");
  return 0;
}

// With RLIMIT_CORE above 0 a child killed by a core-dumping signal is
// reported dumped (WCOREDUMP, CLD_DUMPED); with 0 (the default) it is not.
// (Natively a core file may be written: in a directory of our own, removed.)
static int mode_coredump(void) {
  char d[] = "/tmp/proc-ltp-XXXXXX";
  if (!mkdtemp(d) || chdir(d) < 0) return 1;
  for (int k = 0; k < 2; k++) {
    struct rlimit r = {k ? 1 << 20 : 0, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &r);
    pid_t c = fork();
    if (c == 0) { pause(); _exit(0); }
    kill(c, SIGQUIT);
    int st;
    waitpid(c, &st, 0);
    printf("RLIMIT_CORE %s: SIGQUIT: signalled %d, signal %d, core dumped %s\n", k ? "1 MiB" : "0", WIFSIGNALED(st), WTERMSIG(st), WCOREDUMP(st) ? "yes" : "no");
    c = fork();
    if (c == 0) { raise(SIGFPE); _exit(0); }
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED);
    printf("RLIMIT_CORE %s: SIGFPE: waitid si_code %s, si_status %d\n", k ? "1 MiB" : "0",
      si.si_code == CLD_DUMPED ? "CLD_DUMPED" : si.si_code == CLD_KILLED ? "CLD_KILLED" : "other", si.si_status);
  }
  unlink("core");
  if (chdir("/") < 0) return 1;
  rmdir(d);
  return 0;
}

// A process-shared robust mutex in MAP_SHARED memory, held by a child that
// ends (exit_group) while a waiter in the parent is blocked on it: the
// waiter gets EOWNERDEAD, makes the mutex consistent and goes on.
static int mode_robust(void) {
  pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &a);
  int go[2];
  if (pipe(go) < 0) return 1;
  pid_t c = fork();
  if (c == 0) {
    pthread_mutex_lock(m);
    char x = 1;
    if (write(go[1], &x, 1) != 1) _exit(2);
    usleep(200000);
    _exit(0); // still holding it
  }
  char x;
  if (read(go[0], &x, 1) != 1) return 1;
  int r = pthread_mutex_lock(m);
  printf("lock after the holder's process ended: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : r == 0 ? "0" : strerrorname_np(r));
  if (r == EOWNERDEAD) printf("consistent: %d\n", pthread_mutex_consistent(m));
  printf("unlock: %d\n", pthread_mutex_unlock(m));
  printf("lock again: %d\n", pthread_mutex_lock(m));
  waitpid(c, 0, 0);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "restart")) return mode_restart();
  if (!strcmp(mode, "interrupt")) return mode_interrupt();
  if (!strcmp(mode, "pending")) return mode_pending();
  if (!strcmp(mode, "futex")) return mode_futex();
  if (!strcmp(mode, "intmin")) return mode_intmin();
  if (!strcmp(mode, "killperm")) return mode_killperm();
  if (argc <= 1 || !strcmp(mode, "emptyargv")) return mode_emptyargv(argc, argv);
  if (!strcmp(mode, "execveat")) return mode_execveat();
  if (!strcmp(mode, "alarm")) return mode_alarm();
  if (!strcmp(mode, "coredump")) return mode_coredump();
  if (!strcmp(mode, "robust")) return mode_robust();
  fprintf(stderr, "usage: proc-ltp restart|interrupt|pending|futex|intmin|killperm|emptyargv|execveat|alarm|coredump|robust\n");
  return 2;
}
