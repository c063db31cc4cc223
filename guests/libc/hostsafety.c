// The guest side of the host-safety tests (test/host-safety.test.ts, issue
// 11): a program that leaves a marker in every kind of memory it can reach
// and then frees much of it, one that looks for another run's marker in all
// the memory it can read, sleeps of every kind, and a huge mapping that is
// never touched.
//
//   hostsafety mark HEX          the 64-bit marker HEX everywhere
//   hostsafety scan HEX BYTES    map all free memory, then read every page of
//                                [program start, + BYTES) and count HEX
//   hostsafety sleep SECONDS HOW nanosleep, clock, futex, ppoll, epoll, threads
//   hostsafety untouched MIB     mmap MIB read-write, touch nothing, munmap;
//                                the same with brk
// and sleep_ms(ms), for ProcessVM.call.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

extern char __executable_start[];

static void fill(void *p, size_t n, uint64_t m) {
  volatile uint64_t *q = p;
  for (size_t i = 0; i < n / 8; i++) q[i] = m;
}

// Fills a deep stack frame: the pages below the caller's stay marked.
static __attribute__((noinline)) void mark_stack(uint64_t m) {
  size_t n = 2 << 20;
  void *frame = alloca(n);
  fill(frame, n, m);
  __asm__ volatile("" ::"r"(frame) : "memory");
}

static void *thread_marks(void *arg) {
  uint64_t m = *(uint64_t *)arg;
  char local[64 * 1024];
  fill(local, sizeof local, m);
  __asm__ volatile("" ::"r"(local) : "memory");
  return NULL;
}

static void *map(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); exit(1); }
  return p;
}

static int mark(uint64_t m) {
  // The heap, grown through brk, then partly given back.
  char *heap = sbrk(0);
  if (sbrk(4 << 20) == (void *)-1) { perror("sbrk"); return 1; }
  fill(heap, 4 << 20, m);
  if (sbrk(-(2 << 20) - 100) == (void *)-1) { perror("sbrk"); return 1; }
  // malloc's own mappings, one freed.
  void *big = malloc(3 << 20), *gone = malloc(3 << 20);
  fill(big, 3 << 20, m);
  fill(gone, 3 << 20, m);
  free(gone);
  // Anonymous mappings: one kept, one unmapped, one half unmapped, one
  // released with MADV_DONTNEED, one moved and grown by mremap, one left
  // read-only and one PROT_NONE.
  char *kept = map(8 << 20), *unmapped = map(4 << 20), *half = map(4 << 20), *dontneed = map(2 << 20);
  fill(kept, 8 << 20, m);
  fill(unmapped, 4 << 20, m);
  fill(half, 4 << 20, m);
  fill(dontneed, 2 << 20, m);
  munmap(unmapped, 4 << 20);
  munmap(half + (2 << 20), 2 << 20);
  madvise(dontneed, 2 << 20, MADV_DONTNEED);
  char *moved = map(1 << 20);
  fill(moved, 1 << 20, m);
  map(PAGE); // in the way of growing in place
  moved = mremap(moved, 1 << 20, 16 << 20, MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) { perror("mremap"); return 1; }
  fill(moved + (1 << 20), 15 << 20, m);
  char *ro = map(1 << 20), *none = map(1 << 20);
  fill(ro, 1 << 20, m);
  fill(none, 1 << 20, m);
  mprotect(ro, 1 << 20, PROT_READ);
  mprotect(none, 1 << 20, PROT_NONE);
  // The stack, and a thread's stack (its thread then ends).
  mark_stack(m);
  pthread_t t;
  if (pthread_create(&t, NULL, thread_marks, &m) != 0 || pthread_join(t, NULL) != 0) { perror("pthread"); return 1; }
  // Memory ring -1 writes for the guest: the old action of a signal whose
  // handler is the marker, asked for into pages that are no longer mapped.
  // (Linux fails such a call with EFAULT; a host that wrote there anyway
  // would leave the marker behind where no mapping owns it.)
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = (void (*)(int))(uintptr_t)m;
  sigaction(SIGUSR2, &sa, NULL);
  long planted = 0;
  for (size_t off = 0; off < (4 << 20); off += PAGE) {
    if (syscall(SYS_rt_sigaction, SIGUSR2, NULL, unmapped + off, 8) == 0) planted++;
  }
  sa.sa_handler = SIG_DFL;
  sigaction(SIGUSR2, &sa, NULL);
  printf("marked (host wrote %ld old actions into unmapped pages)\n", planted);
  fflush(stdout);
  return 0;
}

static sigjmp_buf probe;
static void on_fault(int sig) { (void)sig; siglongjmp(probe, 1); }

// Counts the words equal to the marker in one page. The marker is kept
// only as `wanted ^ KEY`, so that this program's own memory never holds
// the value it looks for (its stack is scanned too).
#define KEY 0x0123456789abcdefULL
static __attribute__((noinline)) long count_page(const volatile uint64_t *page, uint64_t hidden) {
  long n = 0;
  for (size_t i = 0; i < PAGE / 8; i++) n += (page[i] ^ KEY) == hidden;
  return n;
}

static int scan(uint64_t hidden, size_t bytes) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fault;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  uintptr_t base = (uintptr_t)__executable_start & ~(PAGE - 1);
  // One fault first (below the program nothing is mapped), so that what
  // the handler needs (ringvisor's signal return page) is in place before
  // all free memory is taken.
  if (!sigsetjmp(probe, 0)) (void)*(volatile char *)(base - PAGE);
  // Everything a fresh VM can be given: the largest possible break and
  // every free range, mapped.
  size_t step = 64 << 20;
  volatile long mapped = 0;
  while (step >= PAGE) {
    if (sbrk(step) == (void *)-1) step /= 2;
  }
  for (size_t n = 1UL << 31; n >= PAGE;) {
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) n /= 2;
    else mapped += n;
  }
  volatile long readable = 0, found = 0;
  for (volatile uintptr_t a = base; a < base + bytes; a += PAGE) {
    if (sigsetjmp(probe, 0)) continue; // not readable
    found += count_page((const volatile uint64_t *)a, hidden);
    readable++;
  }
  printf("scanned %ld readable pages (%ld MiB freshly mapped): %ld markers\n", readable, mapped >> 20, found);
  return found != 0;
}

static int futex_word;
static void *sleeper(void *arg) {
  struct timespec ts = {*(long *)arg, 0};
  nanosleep(&ts, NULL);
  return NULL;
}

static int sleep_for(long s, const char *how) {
  struct timespec ts = {s, 0};
  long r;
  if (!strcmp(how, "nanosleep")) r = nanosleep(&ts, NULL);
  else if (!strcmp(how, "clock")) r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
  else if (!strcmp(how, "futex")) r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
  else if (!strcmp(how, "ppoll")) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    struct pollfd pfd = {fds[0], POLLIN, 0};
    r = ppoll(&pfd, 1, &ts, NULL);
  }
  else if (!strcmp(how, "epoll")) {
    struct epoll_event ev;
    r = epoll_wait(epoll_create1(0), &ev, 1, (int)(s * 1000));
  } else if (!strcmp(how, "threads")) {
    pthread_t t;
    r = pthread_create(&t, NULL, sleeper, &s) || pthread_join(t, NULL);
  } else {
    fprintf(stderr, "unknown sleep %s\n", how);
    return 2;
  }
  printf("slept (%s) = %ld%s\n", how, r, r < 0 ? strerror(errno) : "");
  return 0;
}

// For ProcessVM.call: sleeps `ms` milliseconds.
long sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  return nanosleep(&ts, NULL);
}

static int untouched(size_t mib) {
  void *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  if (munmap(p, mib << 20) != 0) { perror("munmap"); return 1; }
  // The same through the break: grown by MIB (ending inside a page), then
  // shrunk back.
  if (sbrk((mib << 20) + 100) == (void *)-1) { perror("sbrk"); return 1; }
  if (sbrk(-(long)(mib << 20) - 50) == (void *)-1) { perror("sbrk"); return 1; }
  printf("mapped and unmapped %zu MiB untouched\n", mib);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "mark")) return mark(strtoull(argv[2], NULL, 16));
  if (argc >= 4 && !strcmp(argv[1], "scan")) return scan(strtoull(argv[2], NULL, 16) ^ KEY, strtoull(argv[3], NULL, 0));
  if (argc >= 4 && !strcmp(argv[1], "sleep")) return sleep_for(atol(argv[2]), argv[3]);
  if (argc >= 3 && !strcmp(argv[1], "untouched")) return untouched(strtoul(argv[2], NULL, 0));
  fprintf(stderr, "usage: hostsafety mark HEX | scan HEX BYTES | sleep SECONDS HOW | untouched MIB\n");
  return 2;
}
