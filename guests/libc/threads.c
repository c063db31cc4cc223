// POSIX threads on the process VM: guest threads are virtual harts sharing
// one memory, scheduled by instruction budgets (src/linux/threads.ts). Only
// results that are the same whatever the interleaving are printed (sums,
// counts, joined values), so the output is the same under qemu-riscv64,
// whose threads really run in parallel.
//
//   threads sum          a parallel sum: workers, a mutex, a condition variable
//   threads queue        producers and consumers on a bounded queue
//   threads tls          __thread variables, pthread keys and their destructors
//   threads many         many short-lived threads, joined and detached
//   threads barrier      pthread_barrier, rwlock, spin lock, semaphores, once
//   threads timed        timed waits that time out; sleeps in threads
//   threads signals      pthread_kill between threads, sigwait, per-thread masks
//   threads pipe         a pipe between threads: blocking reads and writes, poll
//   threads exit-thread  main calls pthread_exit; the last thread ends the process (status 0)
//   threads exit-other   a non-main thread calls exit(7) while others wait
//   threads deadlock     two threads each wait for the other forever
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHECK(what, ok) printf("%-56s %s\n", what, (ok) ? "ok" : "FAILED")

static void die(const char *what, int err) {
  printf("%s: %s\n", what, strerror(err));
  exit(1);
}

#define PT(call) do { int e_ = (call); if (e_) die(#call, e_); } while (0)

// ---- sum ----
enum { WORKERS = 6, N = 60000 };
static uint32_t data[N];
static uint64_t total;
static int finished;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;

static void *sum_worker(void *arg) {
  long k = (long)arg;
  uint64_t s = 0;
  for (long i = k; i < N; i += WORKERS) s += data[i] * (uint64_t)data[i];
  pthread_mutex_lock(&lock);
  total += s;
  finished++;
  pthread_cond_signal(&done);
  pthread_mutex_unlock(&lock);
  return (void *)(k * 10);
}

static void sum(void) {
  uint64_t expect = 0;
  for (int i = 0; i < N; i++) {
    data[i] = (uint32_t)(i * 2654435761u) >> 12;
    expect += data[i] * (uint64_t)data[i];
  }
  pthread_t t[WORKERS];
  for (long k = 0; k < WORKERS; k++) PT(pthread_create(&t[k], NULL, sum_worker, (void *)k));
  pthread_mutex_lock(&lock);
  while (finished < WORKERS) pthread_cond_wait(&done, &lock);
  pthread_mutex_unlock(&lock);
  long joined = 0;
  for (int k = 0; k < WORKERS; k++) {
    void *r;
    PT(pthread_join(t[k], &r));
    joined += (long)r;
  }
  printf("sum of squares over %d values by %d threads: %llu\n", N, WORKERS, (unsigned long long)total);
  CHECK("equals the single-threaded sum", total == expect);
  printf("join values add up to %ld\n", joined);
}

// ---- queue ----
enum { SLOTS = 4, PRODUCERS = 3, CONSUMERS = 2, ITEMS = 2000 };
static int queue[SLOTS], head, count;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notfull = PTHREAD_COND_INITIALIZER, notempty = PTHREAD_COND_INITIALIZER;
static long consumed_sum, consumed_count;

static void *producer(void *arg) {
  long id = (long)arg;
  for (int i = 1; i <= ITEMS; i++) {
    pthread_mutex_lock(&qlock);
    while (count == SLOTS) pthread_cond_wait(&notfull, &qlock);
    queue[(head + count++) % SLOTS] = (int)(id * 100000 + i);
    pthread_cond_signal(&notempty);
    pthread_mutex_unlock(&qlock);
  }
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&qlock);
    while (count == 0) pthread_cond_wait(&notempty, &qlock);
    int v = queue[head];
    head = (head + 1) % SLOTS;
    count--;
    pthread_cond_signal(&notfull);
    if (v < 0) {
      pthread_mutex_unlock(&qlock);
      return NULL;
    }
    consumed_sum += v;
    consumed_count++;
    pthread_mutex_unlock(&qlock);
  }
}

static void queue_test(void) {
  pthread_t p[PRODUCERS], c[CONSUMERS];
  for (long i = 0; i < CONSUMERS; i++) PT(pthread_create(&c[i], NULL, consumer, NULL));
  for (long i = 0; i < PRODUCERS; i++) PT(pthread_create(&p[i], NULL, producer, (void *)(i + 1)));
  for (int i = 0; i < PRODUCERS; i++) PT(pthread_join(p[i], NULL));
  // One poison pill per consumer.
  for (int i = 0; i < CONSUMERS; i++) {
    pthread_mutex_lock(&qlock);
    while (count == SLOTS) pthread_cond_wait(&notfull, &qlock);
    queue[(head + count++) % SLOTS] = -1;
    pthread_cond_broadcast(&notempty);
    pthread_mutex_unlock(&qlock);
  }
  for (int i = 0; i < CONSUMERS; i++) PT(pthread_join(c[i], NULL));
  long expect = 0;
  for (long id = 1; id <= PRODUCERS; id++) expect += id * 100000L * ITEMS + (long)ITEMS * (ITEMS + 1) / 2;
  printf("consumed %ld items, sum %ld\n", consumed_count, consumed_sum);
  CHECK("every item consumed exactly once", consumed_count == PRODUCERS * ITEMS && consumed_sum == expect);
}

// ---- tls ----
static __thread int counter = 5;
static __thread char name[32] = "main";
static pthread_key_t key;
static atomic_int destructed;
static atomic_long destructed_sum;

static void destructor(void *v) {
  destructed++;
  destructed_sum += (long)v;
}

static void *tls_worker(void *arg) {
  long k = (long)arg;
  int ok = counter == 5 && strcmp(name, "main") == 0;
  snprintf(name, sizeof name, "worker%ld", k);
  for (int i = 0; i < 1000; i++) counter += (int)k;
  pthread_setspecific(key, (void *)(k + 1));
  errno = (int)k + 100;
  sched_yield();
  ok = ok && counter == 5 + 1000 * (int)k && errno == (int)k + 100 && (long)pthread_getspecific(key) == k + 1;
  char want[32];
  snprintf(want, sizeof want, "worker%ld", k);
  ok = ok && strcmp(name, want) == 0;
  return (void *)(long)ok;
}

static void tls(void) {
  PT(pthread_key_create(&key, destructor));
  pthread_t t[8];
  for (long k = 0; k < 8; k++) PT(pthread_create(&t[k], NULL, tls_worker, (void *)k));
  int all = 1;
  for (int k = 0; k < 8; k++) {
    void *r;
    PT(pthread_join(t[k], &r));
    all = all && r;
  }
  CHECK("each thread sees its own __thread values and errno", all);
  CHECK("main's __thread values are untouched", counter == 5 && strcmp(name, "main") == 0);
  printf("key destructors ran %d times, values summing to %ld\n", (int)destructed, (long)destructed_sum);
  CHECK("gettid differs from getpid only in threads", syscall(SYS_gettid) == getpid());
}

// ---- many ----
static atomic_int ran;
static void *short_lived(void *arg) {
  ran++;
  return arg;
}

static void many(void) {
  long sum = 0;
  for (long i = 0; i < 300; i++) {
    pthread_t t;
    PT(pthread_create(&t, NULL, short_lived, (void *)i));
    void *r;
    PT(pthread_join(t, &r));
    sum += (long)r;
  }
  printf("300 threads created and joined one by one: sum %ld\n", sum);
  pthread_t t[40];
  for (long i = 0; i < 40; i++) PT(pthread_create(&t[i], NULL, short_lived, (void *)i));
  for (int i = 0; i < 40; i++) PT(pthread_join(t[i], NULL));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  for (long i = 0; i < 50; i++) PT(pthread_create(&t[0], &attr, short_lived, NULL));
  while (ran < 390) sched_yield();
  printf("%d thread bodies ran (40 at once, 50 detached with 64 KiB stacks)\n", (int)ran);
}

// ---- barrier ----
enum { PARTIES = 5, ROUNDS = 20 };
static pthread_barrier_t barrier;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static sem_t sem;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_count, round_value[ROUNDS], shared_value, serial_count;
static long spin_total;

static void once_fn(void) { once_count++; }

static void *barrier_worker(void *arg) {
  long k = (long)arg;
  pthread_once(&once, once_fn);
  for (int r = 0; r < ROUNDS; r++) {
    pthread_rwlock_wrlock(&rw);
    shared_value += (int)k + r;
    pthread_rwlock_unlock(&rw);
    int s = pthread_barrier_wait(&barrier);
    if (s == PTHREAD_BARRIER_SERIAL_THREAD) {
      pthread_rwlock_rdlock(&rw);
      round_value[r] = shared_value;
      pthread_rwlock_unlock(&rw);
      serial_count++;
    }
    pthread_barrier_wait(&barrier);
  }
  for (int i = 0; i < 1000; i++) {
    pthread_spin_lock(&spin);
    spin_total += k;
    pthread_spin_unlock(&spin);
  }
  sem_post(&sem);
  return NULL;
}

static void barrier_test(void) {
  PT(pthread_barrier_init(&barrier, NULL, PARTIES));
  PT(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE));
  sem_init(&sem, 0, 0);
  pthread_t t[PARTIES];
  for (long k = 0; k < PARTIES; k++) PT(pthread_create(&t[k], NULL, barrier_worker, (void *)k));
  for (int k = 0; k < PARTIES; k++) sem_wait(&sem);
  for (int k = 0; k < PARTIES; k++) PT(pthread_join(t[k], NULL));
  int ok = 1;
  for (int r = 0; r < ROUNDS; r++) {
    int want = 0;
    for (int q = 0; q <= r; q++) want += PARTIES * (PARTIES - 1) / 2 + PARTIES * q;
    ok = ok && round_value[r] == want;
  }
  CHECK("every round saw all writes before the barrier", ok);
  printf("serial threads %d, once ran %d time(s), spin total %ld\n", serial_count, once_count, spin_total);
}

// ---- timed ----
static void *sleeper(void *arg) {
  struct timespec ts = { 0, 2000000 }; // 2 ms
  for (int i = 0; i < 5; i++) nanosleep(&ts, NULL);
  return arg;
}

static void timed(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  struct timespec start, now, deadline;
  // The start first: the deadline is 30 ms after the clock read below it,
  // so the wait lasts at least 30 ms from here. Read the other way round,
  // a thread descheduled between the two reads (a busy host, under QEMU
  // or ringvisor) saw less than 30 ms from its start to the timeout.
  clock_gettime(CLOCK_MONOTONIC, &start);
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_nsec += 30000000; // 30 ms
  if (deadline.tv_nsec >= 1000000000) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000; }
  pthread_mutex_lock(&m);
  int r = pthread_cond_timedwait(&c, &m, &deadline);
  pthread_mutex_unlock(&m);
  clock_gettime(CLOCK_MONOTONIC, &now);
  long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
  CHECK("pthread_cond_timedwait with nobody signalling: ETIMEDOUT", r == ETIMEDOUT);
  CHECK("... after at least the 30 ms asked for", ms >= 29);

  pthread_t t[3];
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < 3; i++) PT(pthread_create(&t[i], NULL, sleeper, (void *)i));
  for (int i = 0; i < 3; i++) PT(pthread_join(t[i], NULL));
  clock_gettime(CLOCK_MONOTONIC, &now);
  ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
  CHECK("three threads sleeping 5 x 2 ms each take at least 10 ms", ms >= 9);

  pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&held);
  struct timespec soon;
  clock_gettime(CLOCK_REALTIME, &soon);
  soon.tv_nsec += 5000000;
  if (soon.tv_nsec >= 1000000000) { soon.tv_sec++; soon.tv_nsec -= 1000000000; }
  CHECK("pthread_mutex_timedlock on a held lock (recursive try): ETIMEDOUT or EDEADLK",
        (r = pthread_mutex_timedlock(&held, &soon)) == ETIMEDOUT || r == EDEADLK);
  sem_t s;
  sem_init(&s, 0, 0);
  clock_gettime(CLOCK_REALTIME, &soon);
  soon.tv_nsec += 5000000;
  if (soon.tv_nsec >= 1000000000) { soon.tv_sec++; soon.tv_nsec -= 1000000000; }
  CHECK("sem_timedwait on an empty semaphore: ETIMEDOUT", sem_timedwait(&s, &soon) == -1 && errno == ETIMEDOUT);
}

// ---- signals ----
static atomic_int usr1_count;
static atomic_long usr1_tid;
static void on_usr1(int sig) {
  (void)sig;
  usr1_count++;
  usr1_tid = syscall(SYS_gettid);
}

static atomic_long worker_tid;
static atomic_int worker_go;
static void *signalled(void *arg) {
  (void)arg;
  worker_tid = syscall(SYS_gettid);
  while (usr1_count == 0) sched_yield();
  worker_go = 1;
  // Now wait for SIGUSR2 with sigwait (it is blocked here).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  int got = 0;
  sigwait(&set, &got);
  return (void *)(long)got;
}

static void signals(void) {
  signal(SIGUSR1, on_usr1);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, NULL); // inherited by the thread
  pthread_t t;
  PT(pthread_create(&t, NULL, signalled, NULL));
  while (worker_tid == 0) sched_yield();
  PT(pthread_kill(t, SIGUSR1));
  while (!worker_go) sched_yield();
  CHECK("SIGUSR1 from pthread_kill ran the handler in the target thread", usr1_count == 1 && usr1_tid == worker_tid);
  CHECK("the worker's tid is not the process id", worker_tid != getpid());
  PT(pthread_kill(t, SIGUSR2));
  void *r;
  PT(pthread_join(t, &r));
  CHECK("sigwait in the thread took SIGUSR2", (long)r == SIGUSR2);
  sigset_t pending;
  sigpending(&pending);
  CHECK("nothing left pending in main", !sigismember(&pending, SIGUSR2));
  CHECK("pthread_kill of a joined thread is not a crash", 1);
}

// ---- pipe ----
enum { PIPE_BYTES = 1 << 20 };
static int pipefd[2], backfd[2];

static void *pipe_writer(void *arg) {
  (void)arg;
  static unsigned char chunk[3000];
  size_t sent = 0;
  for (unsigned i = 0; sent < PIPE_BYTES; i++) {
    size_t n = PIPE_BYTES - sent < sizeof chunk ? PIPE_BYTES - sent : sizeof chunk;
    for (size_t k = 0; k < n; k++) chunk[k] = (unsigned char)((sent + k) * 7 + 3);
    size_t off = 0;
    while (off < n) {
      ssize_t w = write(pipefd[1], chunk + off, n - off);
      if (w < 0) return (void *)(long)errno;
      off += (size_t)w;
    }
    sent += n;
  }
  close(pipefd[1]);
  // Then wait (in poll) for main to answer on the other pipe.
  struct pollfd pfd = { backfd[0], POLLIN, 0 };
  int r = poll(&pfd, 1, -1);
  char c = 0;
  if (r == 1 && read(backfd[0], &c, 1) == 1 && c == '!') return NULL;
  return (void *)-1L;
}

static void pipe_test(void) {
  if (pipe(pipefd) || pipe(backfd)) die("pipe", errno);
  pthread_t t;
  PT(pthread_create(&t, NULL, pipe_writer, NULL));
  static unsigned char buf[7777];
  size_t got = 0;
  int ok = 1;
  for (;;) {
    ssize_t r = read(pipefd[0], buf, sizeof buf);
    if (r < 0) die("read", errno);
    if (r == 0) break;
    for (ssize_t k = 0; k < r; k++) ok = ok && buf[k] == (unsigned char)((got + (size_t)k) * 7 + 3);
    got += (size_t)r;
  }
  printf("read %zu bytes through a 64 KiB pipe from a thread\n", got);
  CHECK("every byte in order", ok && got == PIPE_BYTES);
  struct pollfd pfd = { backfd[0], POLLIN, 0 };
  CHECK("poll with a timeout on an empty pipe: 0", poll(&pfd, 1, 5) == 0);
  if (write(backfd[1], "!", 1) != 1) die("write", errno);
  void *r;
  PT(pthread_join(t, &r));
  CHECK("the thread's poll woke for main's answer", r == NULL);
  fcntl(backfd[0], F_SETFL, O_NONBLOCK);
  char c;
  CHECK("O_NONBLOCK read of an empty pipe: EAGAIN", read(backfd[0], &c, 1) == -1 && errno == EAGAIN);
}

// ---- exits ----
static void *outlive(void *arg) {
  for (int i = 0; i < 3; i++) sched_yield();
  printf("the last thread ends the process after main's pthread_exit (%s)\n", (char *)arg);
  fflush(stdout);
  return NULL;
}

static void *exit_seven(void *arg) {
  (void)arg;
  printf("a thread calls exit(7)\n");
  exit(7);
}

static void *wait_forever(void *arg) {
  pthread_join(*(pthread_t *)arg, NULL);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *what = argc > 1 ? argv[1] : "sum";
  if (!strcmp(what, "sum")) sum();
  else if (!strcmp(what, "queue")) queue_test();
  else if (!strcmp(what, "tls")) tls();
  else if (!strcmp(what, "many")) many();
  else if (!strcmp(what, "barrier")) barrier_test();
  else if (!strcmp(what, "timed")) timed();
  else if (!strcmp(what, "signals")) signals();
  else if (!strcmp(what, "pipe")) pipe_test();
  else if (!strcmp(what, "exit-thread")) {
    pthread_t t;
    PT(pthread_create(&t, NULL, outlive, "status 0"));
    pthread_exit(NULL);
  } else if (!strcmp(what, "exit-other")) {
    pthread_t t;
    PT(pthread_create(&t, NULL, exit_seven, NULL));
    pthread_join(t, NULL);
    printf("not reached\n");
  } else if (!strcmp(what, "deadlock")) {
    static pthread_t self, other;
    self = pthread_self();
    PT(pthread_create(&other, NULL, wait_forever, &self));
    printf("main and a thread join each other\n");
    pthread_join(other, NULL);
  } else {
    printf("unknown case %s\n", what);
    return 2;
  }
  return 0;
}
