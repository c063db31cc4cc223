// The process around a C program: argv and the environment, setjmp/longjmp,
// clocks and sleeping, randomness, identity and limits, signals raised to
// itself (handlers, masks, pending, ignored), and how it ends: exit codes,
// _exit, abort(), a fatal signal. Only what is the same on every host is
// printed: values that depend on time, randomness, the host's kernel or
// addresses are checked, and the checks' outcomes printed.
//
//   libc-misc                 everything that returns
//   libc-misc exit N          exit(N)
//   libc-misc _exit N         _exit(N) (stdio buffers are not flushed)
//   libc-misc return N        return N from main
//   libc-misc abort           abort(): SIGABRT, status 134
//   libc-misc raise N         raise(N) with the default action
//   libc-misc deadlock        sem_wait on a semaphore nobody posts: waits
//                             forever (ringvisor ends it: status 124)
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void arguments(int argc, char **argv) {
  printf("argc %d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d] = \"%s\"\n", i, argv[i]);
  printf("argv[argc] is %s\n", argv[argc] ? "not NULL" : "NULL");
  int n = 0;
  for (char **e = environ; *e; e++) printf("env[%d] = \"%s\"\n", n++, *e);
  const char *home = getenv("RINGVISOR_TEST");
  printf("getenv(RINGVISOR_TEST) = %s\n", home ? home : "(unset)");
  setenv("ADDED", "yes", 1);
  unsetenv("RINGVISOR_TEST");
  printf("after setenv/unsetenv: ADDED=%s RINGVISOR_TEST=%s\n", getenv("ADDED"), getenv("RINGVISOR_TEST") ? "set" : "(unset)");
}

static jmp_buf jb;
static int depth_reached;

static void dive(int depth) {
  volatile char pad[64];
  pad[0] = (char)depth;
  depth_reached = depth + pad[0] - depth;
  if (depth > 1000) return;  // never: the jump comes first
  if (depth >= 50) longjmp(jb, depth);
  dive(depth + 1);
}

static void jumps(void) {
  volatile int round = 0;
  int v = setjmp(jb);
  printf("setjmp returned %d (round %d)\n", v, round);
  if (round++ < 3) {
    if (v == 0) dive(0);
    else longjmp(jb, 0);  // longjmp with 0 makes setjmp return 1
  }
  printf("deepest %d\n", depth_reached);
  sigjmp_buf sj;
  volatile double d = 1.5;
  if (sigsetjmp(sj, 1) == 0) {
    d *= 2;
    siglongjmp(sj, 7);
  }
  printf("sigsetjmp/siglongjmp: d = %g\n", d);
}

static long long ns(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

static void clocks(void) {
  struct timespec a, b, res, rt;
  clock_gettime(CLOCK_MONOTONIC, &a);
  volatile unsigned long spin = 0;
  for (int i = 0; i < 100000; i++) spin += i;
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("monotonic: non-decreasing %d\n", ns(&b) >= ns(&a));
  printf("clock_getres(MONOTONIC): %d, resolution <= 1 ms %d\n", clock_getres(CLOCK_MONOTONIC, &res),
         res.tv_sec == 0 && res.tv_nsec <= 1000000);
  clock_gettime(CLOCK_REALTIME, &rt);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  time_t t = time(NULL);
  // After 2020-01-01 and before 2200: a wall clock, not an uptime.
  printf("realtime plausible %d, gettimeofday plausible %d, time() plausible %d\n",
         rt.tv_sec > 1577836800 && rt.tv_sec < 7258118400LL, tv.tv_sec > 1577836800 && tv.tv_usec < 1000000,
         t > 1577836800);
  struct timespec sleep = {0, 20 * 1000000}, c, d;
  clock_gettime(CLOCK_MONOTONIC, &c);
  int r = nanosleep(&sleep, NULL);
  clock_gettime(CLOCK_MONOTONIC, &d);
  printf("nanosleep(20 ms) = %d, slept at least 20 ms %d\n", r, ns(&d) - ns(&c) >= 20000000);
  clock_gettime(CLOCK_MONOTONIC, &c);
  struct timespec until = {c.tv_sec, c.tv_nsec + 5000000};
  if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
  r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
  clock_gettime(CLOCK_MONOTONIC, &d);
  printf("clock_nanosleep(absolute +5 ms) = %d, reached %d\n", r, ns(&d) >= ns(&until));
  usleep(1000);
  struct timespec cpu;
  printf("process cputime: %d\n", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu));
  struct tms tm;
  clock_t ticks = times(&tm);
  printf("times: %d, clock() >= 0 %d, sysconf(_SC_CLK_TCK) = %ld\n", ticks != (clock_t)-1, clock() >= 0, sysconf(_SC_CLK_TCK));
  errno = 0;
  printf("clock_gettime(bad clock) = %d errno %s\n", clock_gettime(12345, &a), strerror(errno));
  sleep.tv_nsec = 2000000000;
  errno = 0;
  printf("nanosleep(bad) = %d errno %s\n", nanosleep(&sleep, NULL), strerror(errno));
}

static void randomness(void) {
  unsigned char buf[300];
  memset(buf, 0, sizeof buf);
  ssize_t n = getrandom(buf, sizeof buf, 0);
  int zeros = 0;
  for (size_t i = 0; i < sizeof buf; i++) zeros += buf[i] == 0;
  printf("getrandom: %zd bytes, mostly non-zero %d\n", n, zeros < 20);
  printf("getrandom(GRND_NONBLOCK): %zd\n", getrandom(buf, 16, GRND_NONBLOCK));
  errno = 0;
  printf("getrandom(bad flags): %zd errno %s\n", getrandom(buf, 16, 0x100), strerror(errno));
  printf("getentropy: %d\n", getentropy(buf, 32));
}

static void identity(void) {
  struct utsname u;
  printf("uname: %d sysname %s machine %s\n", uname(&u), u.sysname, u.machine);
  printf("getpid stable %d, gettid == getpid %d, getppid > 0 %d\n", getpid() == getpid(), gettid() == getpid(),
         getppid() > 0);
  printf("getuid == geteuid %d, getgid == getegid %d\n", getuid() == geteuid(), getgid() == getegid());
  struct rlimit rl;
  getrlimit(RLIMIT_STACK, &rl);
  printf("RLIMIT_STACK: soft >= 1 MiB or unlimited %d, soft <= hard %d\n",
         rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 1 << 20, rl.rlim_max == RLIM_INFINITY || rl.rlim_cur <= rl.rlim_max);
  // (QEMU ignores setrlimit of RLIMIT_STACK, so NOFILE is the one set here.)
  getrlimit(RLIMIT_NOFILE, &rl);
  struct rlimit lower = {64, rl.rlim_max};
  printf("setrlimit(RLIMIT_NOFILE) %d", setrlimit(RLIMIT_NOFILE, &lower));
  struct rlimit now;
  getrlimit(RLIMIT_NOFILE, &now);
  printf(", reads back %d\n", now.rlim_cur == lower.rlim_cur);
  errno = 0;
  printf("getrlimit(bad) = %d errno %s\n", getrlimit(1000, &rl), strerror(errno));
  cpu_set_t set;
  CPU_ZERO(&set);
  printf("sched_getaffinity %d, at least one CPU %d, sched_yield %d\n", sched_getaffinity(0, sizeof set, &set),
         CPU_COUNT(&set) >= 1, sched_yield());
  printf("sysconf(_SC_NPROCESSORS_ONLN) >= 1 %d, _SC_PAGESIZE %ld\n", sysconf(_SC_NPROCESSORS_ONLN) >= 1, sysconf(_SC_PAGESIZE));
}

static volatile sig_atomic_t got[65];
static volatile int seen_code;

static void on_signal(int sig) { got[sig]++; }

static void on_siginfo(int sig, siginfo_t *info, void *uc) {
  got[sig]++;
  seen_code = info->si_signo == sig && info->si_code == SI_TKILL && uc != NULL;
}

static void signals(void) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  printf("sigaction(SIGUSR1) %d\n", sigaction(SIGUSR1, &sa, &old));
  printf("old action was SIG_DFL %d\n", old.sa_handler == SIG_DFL);
  volatile double keep = 2.25;
  long long keep_int = 0x1122334455667788LL;
  printf("raise(SIGUSR1) %d, handled %d times\n", raise(SIGUSR1), got[SIGUSR1]);
  printf("state kept across the handler: %g %llx\n", keep, keep_int);
  sigaction(SIGUSR1, NULL, &old);
  printf("sigaction reads back the handler %d\n", old.sa_handler == on_signal);

  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_siginfo;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR2, &sa, NULL);
  sigset_t block, pending, prev;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, &prev);
  raise(SIGUSR2);
  sigpending(&pending);
  printf("while blocked: handled %d, pending %d\n", got[SIGUSR2], sigismember(&pending, SIGUSR2));
  sigprocmask(SIG_SETMASK, &prev, NULL);
  printf("after unblocking: handled %d, siginfo right %d\n", got[SIGUSR2], seen_code);

  signal(SIGUSR1, SIG_IGN);
  printf("raise(SIGUSR1) while ignored %d, handled %d times\n", raise(SIGUSR1), got[SIGUSR1]);
  printf("raise(SIGCHLD) with the default action (ignore) %d\n", raise(SIGCHLD));
  printf("kill(getpid(), 0) %d\n", kill(getpid(), 0));
  errno = 0;
  printf("sigaction(SIGKILL) %d errno %s\n", sigaction(SIGKILL, &sa, NULL), strerror(errno));
  signal(SIGUSR1, SIG_DFL);

  stack_t ss = {.ss_sp = malloc(SIGSTKSZ), .ss_size = SIGSTKSZ, .ss_flags = 0}, oss;
  printf("sigaltstack %d", sigaltstack(&ss, &oss));
  printf(", old one disabled %d\n", (oss.ss_flags & SS_DISABLE) != 0);
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, NULL);
}

static struct timespec in_ms(int ms) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  t.tv_nsec += ms * 1000000L;
  t.tv_sec += t.tv_nsec / 1000000000L;
  t.tv_nsec %= 1000000000L;
  return t;
}

// Waits that time out with one thread: glibc's futex waits with timeouts.
static void waits(void) {
  sem_t sem;
  sem_init(&sem, 0, 0);
  struct timespec t = in_ms(10);
  errno = 0;
  int r = sem_timedwait(&sem, &t);
  printf("sem_timedwait on 0: %d %s\n", r, strerror(errno));
  sem_post(&sem);
  printf("sem_trywait after sem_post: %d\n", sem_trywait(&sem));
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  pthread_mutex_lock(&m);
  t = in_ms(10);
  printf("pthread_cond_timedwait: %s\n", strerror(pthread_cond_timedwait(&c, &m, &t)));
  t = in_ms(10);
  printf("pthread_mutex_timedlock on a locked mutex: %s\n", strerror(pthread_mutex_timedlock(&m, &t)));
  printf("pthread_mutex_trylock: %s\n", strerror(pthread_mutex_trylock(&m)));
  pthread_mutex_unlock(&m);
  printf("pthread_cond_signal with no waiter: %d\n", pthread_cond_signal(&c));
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "deadlock")) {
    sem_t sem;
    sem_init(&sem, 0, 0);
    printf("waiting for a post that never comes\n");
    fflush(stdout);
    sem_wait(&sem);
    return 1;
  }
  if (argc == 3 && !strcmp(argv[1], "exit")) {
    printf("exit(%s)\n", argv[2]);
    exit(atoi(argv[2]));
  }
  if (argc == 3 && !strcmp(argv[1], "_exit")) {
    printf("_exit(%s): this line stays in the buffer\n", argv[2]);
    _exit(atoi(argv[2]));
  }
  if (argc == 3 && !strcmp(argv[1], "return")) {
    printf("return %s\n", argv[2]);
    return atoi(argv[2]);
  }
  if (argc == 2 && !strcmp(argv[1], "abort")) {
    printf("about to abort\n");
    fflush(stdout);
    abort();
  }
  if (argc == 3 && !strcmp(argv[1], "raise")) {
    printf("about to raise %s\n", argv[2]);
    fflush(stdout);
    raise(atoi(argv[2]));
    printf("still here after raise\n");
    return 0;
  }
  arguments(argc, argv);
  jumps();
  clocks();
  randomness();
  identity();
  signals();
  waits();
  fflush(stdout);
  fprintf(stderr, "libc-misc: done\n");
  return 0;
}
