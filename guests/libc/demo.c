// The demo `npm start` runs: an ordinary C program, statically linked with
// glibc, that uses the C library, the file system sandbox, the clock and
// four POSIX threads, so one run shows the process VM at work. Its output is
// the same on every run and under qemu-riscv64 (guests/golden/demo.*).
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

enum { THREADS = 4, LIMIT = 200000 };
static int primes[THREADS];

// Counts the primes in one stripe of [2, LIMIT) by trial division.
static void *count_primes(void *arg) {
  long k = (long)arg;
  int n = 0;
  for (int v = 2 + (int)k; v < LIMIT; v += THREADS) {
    int prime = 1;
    for (int d = 2; d * d <= v; d++) {
      if (v % d == 0) { prime = 0; break; }
    }
    n += prime;
  }
  primes[k] = n;
  return NULL;
}

int main(int argc, char **argv) {
  struct utsname u;
  uname(&u);
  printf("Hello from a %s guest (%s), running under ringvisor or QEMU.\n", u.machine, u.sysname);
  printf("argv[0] = %s, %d more argument(s)\n", argv[0], argc - 1);

  pthread_t t[THREADS];
  for (long k = 0; k < THREADS; k++) pthread_create(&t[k], NULL, count_primes, (void *)k);
  int total = 0;
  for (int k = 0; k < THREADS; k++) {
    pthread_join(t[k], NULL);
    total += primes[k];
  }
  printf("%d threads counted %d primes below %d\n", THREADS, total, LIMIT);
  printf("sqrt(2) = %.15f, e = %.15f\n", sqrt(2.0), exp(1.0));

  char name[] = "/tmp/ringvisor-demo-XXXXXX";
  int fd = mkstemp(name);
  FILE *f = fdopen(fd, "w+");
  fprintf(f, "written and read back through the guest's /tmp\n");
  rewind(f);
  char line[80];
  if (fgets(line, sizeof line, f)) printf("file: %s", line);
  fclose(f);
  unlink(name);

  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec nap = { 0, 10 * 1000 * 1000 };
  nanosleep(&nap, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  printf("slept 10 ms: the clock moved %s\n", ms >= 10 ? "at least that much" : "too little");
  return 0;
}
