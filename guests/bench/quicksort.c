// Sorting: quicksort (Hoare's partition around a median of three, insertion
// sort below 16 elements, the smaller side first so the stack stays
// logarithmic) on arrays of up to a million pseudo-random 32-bit integers,
// as many arrays as it takes to sort COUNT integers in all. Checks the order
// and prints an FNV-1a hash of the sorted arrays.
//   bench-quicksort.elf COUNT
#include "bench.h"

static void insertion_sort(uint32_t *a, long lo, long hi) {
  for (long i = lo + 1; i <= hi; i++) {
    uint32_t v = a[i];
    long j = i - 1;
    while (j >= lo && a[j] > v) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
}

static void quicksort(uint32_t *a, long lo, long hi) {
  while (hi - lo >= 16) {
    long mid = lo + (hi - lo) / 2;
    // Median of three: a[lo] <= a[mid] <= a[hi], the pivot the middle one.
    if (a[mid] < a[lo]) { uint32_t t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
    if (a[hi] < a[lo]) { uint32_t t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
    if (a[hi] < a[mid]) { uint32_t t = a[hi]; a[hi] = a[mid]; a[mid] = t; }
    uint32_t pivot = a[mid];
    long i = lo - 1, j = hi + 1;
    for (;;) {
      do i++; while (a[i] < pivot);
      do j--; while (a[j] > pivot);
      if (i >= j) break;
      uint32_t t = a[i]; a[i] = a[j]; a[j] = t;
    }
    if (j - lo < hi - j) { quicksort(a, lo, j); lo = j + 1; }
    else { quicksort(a, j + 1, hi); hi = j; }
  }
  insertion_sort(a, lo, hi);
}

#define ARRAY_MAX 1000000

int main(int argc, char **argv) {
  long total = size_arg(argc, argv, 3000000);
  uint32_t *a = malloc(sizeof(uint32_t) * ARRAY_MAX);
  if (!a) { perror("malloc"); return 1; }
  uint32_t s = 0x6b43a9b5, hash = 2166136261u;
  long unsorted = 0;
  for (long done = 0; done < total;) {
    long n = total - done < ARRAY_MAX ? total - done : ARRAY_MAX;
    for (long i = 0; i < n; i++) a[i] = xorshift32(&s);
    quicksort(a, 0, n - 1);
    for (long i = 0; i < n; i++) {
      if (i > 0 && a[i - 1] > a[i]) unsorted++;
      for (int b = 0; b < 4; b++) hash = (hash ^ ((a[i] >> (8 * b)) & 0xff)) * 16777619u;
    }
    done += n;
  }
  printf("sorted %ld out-of-order %ld fnv 0x%08x\n", total, unsorted, hash);
  free(a);
  return unsorted != 0;
}
