// What every benchmark workload shares: its work size from argv[1] (0 is
// valid and measures start-up alone) and the one pseudo-random generator, a
// 32-bit xorshift (Marsaglia, "Xorshift RNGs", 2003, shifts 13/17/5), which
// the JavaScript versions in bench/js repeat exactly.
#ifndef BENCH_H
#define BENCH_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint32_t xorshift32(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

static long size_arg(int argc, char **argv, long fallback) {
  if (argc < 2) return fallback;
  char *end;
  long n = strtol(argv[1], &end, 10);
  if (*end || n < 0) {
    fprintf(stderr, "%s: bad size '%s'\n", argv[0], argv[1]);
    exit(2);
  }
  return n;
}
#endif
