// malloc/realloc/calloc/free under stress with a checksum, qsort and
// bsearch, and string.h: glibc's allocator (brk and mmap) and its string
// routines on the guest.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {  // xorshift64*: deterministic, the same on every VM
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dull;
}

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static void stress(void) {
  enum { SLOTS = 256, ROUNDS = 6000 };
  static unsigned char *blocks[SLOTS];
  static size_t sizes[SLOTS];
  uint64_t sum = 0xcbf29ce484222325ull;
  size_t live = 0, peak = 0, big = 0;
  for (int r = 0; r < ROUNDS; r++) {
    int i = next() % SLOTS;
    if (blocks[i]) {
      sum = fnv(blocks[i], sizes[i], sum);
      if (next() % 4 == 0) {
        size_t n = next() % 3000 + 1;
        unsigned char *q = realloc(blocks[i], n);
        if (!q) { puts("realloc failed"); exit(1); }
        if (n > sizes[i]) memset(q + sizes[i], (int)(n & 0xff), n - sizes[i]);
        live += n - sizes[i];
        blocks[i] = q;
        sizes[i] = n;
        continue;
      }
      live -= sizes[i];
      free(blocks[i]);
      blocks[i] = NULL;
    } else {
      // Mostly small, sometimes large enough for glibc to mmap.
      size_t n = next() % 16 == 0 ? next() % 200000 + 1 : next() % 1000 + 1;
      if (n > 128 * 1024) big++;
      int zeroed = next() % 2;
      unsigned char *q = zeroed ? calloc(n, 1) : malloc(n);
      if (!q) { puts("malloc failed"); exit(1); }
      if (zeroed) {
        for (size_t k = 0; k < n; k++) {
          if (q[k]) { printf("calloc: byte %zu of %zu not zero\n", k, n); exit(1); }
        }
      }
      // Every byte written: what malloc leaves in a block (old data,
      // pointers) differs between VMs, and must not reach the checksum.
      memset(q, (int)(r & 0xff), n);
      for (size_t k = 0; k < n; k += 61) q[k] = (unsigned char)(k ^ r);
      q[n - 1] = (unsigned char)r;
      blocks[i] = q;
      sizes[i] = n;
      live += n;
    }
    if (live > peak) peak = live;
  }
  for (int i = 0; i < SLOTS; i++) {
    if (blocks[i]) sum = fnv(blocks[i], sizes[i], sum);
    free(blocks[i]);
  }
  printf("malloc stress: checksum %016llx, peak %zu bytes live, %zu large blocks\n", (unsigned long long)sum, peak, big);
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void sorting(void) {
  enum { N = 10000 };
  int *v = malloc(N * sizeof *v);
  for (int i = 0; i < N; i++) v[i] = (int)(next() % 100000) - 50000;
  qsort(v, N, sizeof *v, cmp_int);
  int sorted = 1;
  for (int i = 1; i < N; i++) sorted &= v[i - 1] <= v[i];
  printf("qsort: %d ints sorted=%d min=%d median=%d max=%d checksum %016llx\n", N, sorted, v[0], v[N / 2], v[N - 1],
         (unsigned long long)fnv(v, N * sizeof *v, 0));
  int hits = 0;
  for (int k = -50000; k < 50000; k += 777) hits += bsearch(&k, v, N, sizeof *v, cmp_int) != NULL;
  printf("bsearch: %d of %d probes found\n", hits, (100000 + 776) / 777);
  free(v);

  const char *words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "elderberry", "grape", "apple pie", "Zebra"};
  size_t n = sizeof words / sizeof words[0];
  qsort(words, n, sizeof words[0], cmp_str);
  for (size_t i = 0; i < n; i++) printf("%s%s", words[i], i + 1 < n ? ", " : "\n");
  const char *key = "date";
  const char **found = bsearch(&key, words, n, sizeof words[0], cmp_str);
  printf("bsearch(\"date\") at %td\n", found ? found - words : (ptrdiff_t)-1);
}

static void strings(void) {
  char buf[256];
  strcpy(buf, "Hello");
  strcat(buf, ", world");
  strncat(buf, "!!!", 8);
  printf("[%s] len %zu\n", buf, strlen(buf));
  printf("strcmp %d %d %d strncmp %d\n", strcmp("abc", "abd") < 0, strcmp("b", "a") > 0, strcmp("x", "x"),
         strncmp("abcdef", "abcxyz", 3));
  printf("strchr [%s] strrchr [%s] strstr [%s] strpbrk [%s]\n", strchr(buf, 'o'), strrchr(buf, 'o'),
         strstr(buf, "wor"), strpbrk(buf, ",!"));
  printf("strspn %zu strcspn %zu\n", strspn("aaabbbccc", "ab"), strcspn("hello world", " "));
  char tok[] = "a,b;;c, d";
  char *save = NULL;
  for (char *t = strtok_r(tok, ",; ", &save); t; t = strtok_r(NULL, ",; ", &save)) printf("<%s>", t);
  putchar('\n');
  unsigned char mem[64];
  for (int i = 0; i < 64; i++) mem[i] = (unsigned char)i;
  memmove(mem + 3, mem, 40);
  memcpy(mem + 50, "xyz", 3);
  printf("memmove/memcpy %016llx memcmp %d memchr %td\n", (unsigned long long)fnv(mem, 64, 0),
         memcmp(mem, mem + 1, 8) != 0, (unsigned char *)memchr(mem, 'y', 64) - mem);
  memset(buf, 'q', 100);
  buf[100] = 0;
  printf("memset %zu strnlen %zu\n", strlen(buf), strnlen(buf, 42));
  char *d = strdup("duplicated");
  char *nd = strndup("duplicated", 3);
  printf("strdup [%s] strndup [%s]\n", d, nd);
  free(d);
  free(nd);
  printf("strtol %ld %ld %lu strtod %g %g atoi %d\n", strtol("-1234xyz", NULL, 10), strtol("ff", NULL, 16),
         strtoul("0777", NULL, 0), strtod("6.02e23", NULL), strtod("-0x1p-2", NULL), atoi("  99 bottles"));
  printf("strerror(2) [%s] strerror(22) [%s]\n", strerror(2), strerror(22));
  // Long strings through the vectorised paths.
  size_t n = 100000;
  char *a = malloc(n + 1), *b = malloc(n + 1);
  for (size_t i = 0; i < n; i++) a[i] = (char)('a' + i % 26);
  a[n] = 0;
  memcpy(b, a, n + 1);
  b[n - 5] = 'Z';
  printf("long: strlen %zu strcmp %d memcmp %d strchr %td\n", strlen(a), strcmp(a, b) > 0, memcmp(a, b, n) > 0,
         strchr(b, 'Z') - b);
  free(a);
  free(b);
}

int main(void) {
  stress();
  sorting();
  strings();
  return 0;
}
