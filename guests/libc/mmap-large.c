// Large and many mappings: hundreds of MiB of anonymous memory touched
// sparsely, munmap and mremap (growing in place and by moving, shrinking),
// MAP_FIXED over an existing mapping, private mappings of a file the program
// wrote, and running out of memory. Addresses are never printed, only what
// the program checked about them.
//
//   mmap-large           everything that is the same under Linux, QEMU and
//                        ringvisor (a workdir case: it writes map.bin)
//   mmap-large past-eof  touches a mapped page past the end of its file with
//                        no handler: SIGBUS, status 135
//   mmap-large enomem    maps 16 MiB at a time, writing a page of each,
//                        until mmap fails, and says how far it got; then
//                        frees it all, maps again, and does the same with
//                        malloc. Linux with overcommit (and ringvisor, whose
//                        user range is Sv39's 256 GiB) fails only when the
//                        address space is full; QEMU's is larger: ringvisor
//                        only (test/linux-memory.test.ts)
//   mmap-large use N     what costs memory and what does not, in one N MiB
//                        mapping: reserve it PROT_NONE, make it writable,
//                        read every page (all zero), then write every page,
//                        saying how far it got every 16 MiB. Under a memory
//                        limit smaller than N the writes end in the
//                        out-of-memory kill (SIGKILL), never before them.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MiB (1024ul * 1024ul)

static long page;

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "WRONG"); }

static void *anon(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    printf("mmap of %zu MiB failed: %s\n", len / MiB, strerror(errno));
    exit(1);
  }
  return p;
}

// 512 MiB, one byte written per MiB, and reads of untouched bytes.
static void sparse(void) {
  size_t len = 512 * MiB;
  unsigned char *m = anon(len);
  for (size_t off = 0; off < len; off += MiB) m[off + (off / MiB) % page] = (unsigned char)(off / MiB + 1);
  unsigned long sum = 0, zeros = 0;
  for (size_t off = 0; off < len; off += MiB) {
    sum += m[off + (off / MiB) % page];
    zeros += m[off + MiB / 2] == 0;
  }
  printf("512 MiB mapped, 512 bytes touched: sum %lu, untouched bytes read as zero %lu of 512\n", sum, zeros);
  check("munmap of 512 MiB", munmap(m, len) == 0);
  // The same range can be had again, and it reads zero again.
  unsigned char *again = anon(len);
  int clean = 1;
  for (size_t off = 0; off < len; off += MiB) clean &= again[off + (off / MiB) % page] == 0;
  check("a new 512 MiB mapping reads as zero where the old one was written", clean);
  // Punch a hole in the middle, unmap the rest in two pieces.
  check("munmap of a 100 MiB hole", munmap(again + 200 * MiB, 100 * MiB) == 0);
  check("munmap of the first 200 MiB", munmap(again, 200 * MiB) == 0);
  check("munmap of the last 212 MiB", munmap(again + 300 * MiB, 212 * MiB) == 0);
  check("munmap of what is already unmapped", munmap(again, len) == 0);
}

static void remap(void) {
  size_t len = 64 * MiB;
  unsigned char *m = anon(len);
  for (size_t off = 0; off < len; off += 4 * MiB) m[off] = (unsigned char)(off / MiB);
  m[len - 1] = 0xee;
  unsigned char *g = mremap(m, len, 256 * MiB, MREMAP_MAYMOVE);
  check("mremap 64 MiB -> 256 MiB (may move)", g != MAP_FAILED);
  int kept = 1, fresh = 1;
  for (size_t off = 0; off < len; off += 4 * MiB) kept &= g[off] == (unsigned char)(off / MiB);
  kept &= g[len - 1] == 0xee;
  for (size_t off = len; off < 256 * MiB; off += MiB) fresh &= g[off] == 0;
  check("the first 64 MiB kept their bytes", kept);
  check("the new 192 MiB read as zero", fresh);
  g[200 * MiB] = 7;
  unsigned char *s = mremap(g, 256 * MiB, 32 * MiB, 0);
  check("mremap 256 MiB -> 32 MiB shrinks in place", s == g);
  check("the kept part still holds its bytes", s[0] == 0 && s[4 * MiB] == 4 && s[28 * MiB] == 28);
  munmap(s, 32 * MiB);

  // Growing in place: a mapping whose upper half was unmapped grows back
  // without MREMAP_MAYMOVE, and the regrown half reads as zero.
  unsigned char *h = anon(16 * MiB);
  memset(h, 0x5a, 16 * MiB);
  munmap(h + 8 * MiB, 8 * MiB);
  unsigned char *back = mremap(h, 8 * MiB, 16 * MiB, 0);
  check("mremap 8 MiB -> 16 MiB in place", back == h);
  check("old half kept, regrown half zero", back != MAP_FAILED && h[8 * MiB - 1] == 0x5a && h[8 * MiB] == 0 && h[16 * MiB - 1] == 0);
  // It cannot grow into a neighbour without moving.
  unsigned char *next = mmap(h + 16 * MiB, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  errno = 0;
  void *blocked = mremap(h, 16 * MiB, 32 * MiB, 0);
  printf("mremap into a neighbour without MAYMOVE: %s (%s)\n", blocked == MAP_FAILED ? "failed" : "succeeded", strerror(errno));
  munmap(next, page);
  munmap(h, 16 * MiB);
}

static void fixed(void) {
  size_t len = 8 * page;
  unsigned char *m = anon(len);
  memset(m, 'A', len);
  unsigned char *mid = mmap(m + 2 * page, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  check("MAP_FIXED over the middle of a mapping lands where asked", mid == m + 2 * page);
  int zero = 1;
  for (long i = 0; i < 4 * page; i++) zero &= mid[i] == 0;
  check("the replaced pages read as zero", zero);
  check("the pages around them kept their bytes", m[0] == 'A' && m[2 * page - 1] == 'A' && m[6 * page] == 'A' && m[len - 1] == 'A');
  // Read-only over the top: a store there would fault; mprotect makes it writable again.
  unsigned char *ro = mmap(m + 6 * page, 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  check("MAP_FIXED read-only over the top two pages", ro == m + 6 * page && ro[0] == 0);
  check("mprotect back to read-write", mprotect(ro, 2 * page, PROT_READ | PROT_WRITE) == 0);
  ro[0] = 'B';
  check("and the store works", ro[0] == 'B');
  munmap(m, len);
}

static sigjmp_buf escape;
static volatile int bus_sig, bus_code;
static volatile uintptr_t bus_addr;

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  bus_sig = sig;
  bus_code = si->si_code;
  bus_addr = (uintptr_t)si->si_addr;
  siglongjmp(escape, 1);
}

// Touches p (a load, or a store of 1) and says what happened.
static void touch(const char *what, volatile unsigned char *p, int store) {
  bus_sig = 0;
  if (sigsetjmp(escape, 1) == 0) {
    if (store) *p = 1;
    else (void)*p;
    printf("%s: no fault\n", what);
  } else {
    printf("%s: signal %d (%s), si_code %d, si_addr %s\n", what, bus_sig, strsignal(bus_sig), bus_code,
           bus_addr == (uintptr_t)p ? "as expected" : "unexpected");
  }
}

// Pages of a mapping past the end of the file: any access is SIGBUS.
static void past_eof(int fd, size_t size) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGSEGV, &sa, NULL);
  size_t len = 6 * page;  // the file has 4 pages (the last one partly)
  unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  touch("load from the file's last page, past its last byte", m + size + 10, 0);
  touch("load from the first page past the file", m + 4 * page, 0);
  touch("store to the last page past the file", m + 5 * page + 8, 1);
  mprotect(m, len, PROT_READ);
  touch("after mprotect(PROT_READ), a load past the file", m + 4 * page + 1, 0);
  touch("and a store inside it", m + 8, 1);
  munmap(m, len);
  // A mapping that starts past the end of the file.
  unsigned char *beyond = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 8 * page);
  if (beyond == MAP_FAILED) printf("a mapping at an offset past the file: failed (%s)\n", strerror(errno));
  else touch("a mapping at an offset past the file, loaded from", beyond, 0);
  munmap(beyond, page);
  // The same range as an anonymous mapping is ordinary memory again.
  unsigned char *a = mmap(m, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  touch("the same pages mapped anonymously, stored to", a + 5 * page, 1);
  munmap(a, len);
  signal(SIGBUS, SIG_DFL);
  signal(SIGSEGV, SIG_DFL);
}

static void file_mappings(void) {
  const char *name = "map.bin";
  size_t size = 3 * page + 100;
  unsigned char *data = malloc(size);
  for (size_t i = 0; i < size; i++) data[i] = (unsigned char)(i * 7 + i / 4096);
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
    perror(name);
    exit(1);
  }
  unsigned char *whole = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  check("MAP_PRIVATE of the whole file", whole != MAP_FAILED);
  check("its bytes are the file's", memcmp(whole, data, size) == 0);
  int tail = 1;
  for (size_t i = size; i < 4 * (size_t)page; i++) tail &= whole[i] == 0;
  check("the rest of the last page reads as zero", tail);
  unsigned char *second = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, page);
  check("a mapping at offset one page", second != MAP_FAILED && memcmp(second, data + page, page) == 0);
  errno = 0;
  void *odd = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 100);
  printf("a mapping at offset 100: %s (%s)\n", odd == MAP_FAILED ? "failed" : "succeeded", strerror(errno));
  // A private writable mapping: the program's copy changes, the file does not.
  unsigned char *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  memset(rw, 'Z', 16);
  unsigned char first[16];
  pread(fd, first, sizeof first, 0);
  check("a write to a private mapping changes the mapping", rw[0] == 'Z' && rw[15] == 'Z');
  check("but not the file", memcmp(first, data, sizeof first) == 0);
  check("nor another mapping of it", whole[0] == data[0]);
  // Closing the descriptor keeps the mappings.
  close(fd);
  check("the mapping outlives close()", memcmp(whole + 2 * page, data + 2 * page, page) == 0);
  // MAP_FIXED of the file over an anonymous mapping.
  unsigned char *anonymous = anon(4 * page);
  memset(anonymous, 'Q', 4 * page);
  fd = open(name, O_RDONLY);
  unsigned char *over = mmap(anonymous + page, page, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 2 * page);
  check("MAP_FIXED of the file's third page over an anonymous page",
        over == anonymous + page && memcmp(over, data + 2 * page, page) == 0 && anonymous[0] == 'Q' && anonymous[2 * page] == 'Q');
  errno = 0;
  void *wr = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("MAP_SHARED writable of a read-only descriptor: %s (%s)\n", wr == MAP_FAILED ? "failed" : "succeeded", strerror(errno));
  past_eof(fd, size);
  close(fd);
  munmap(whole, size);
  munmap(second, page);
  munmap(rw, size);
  munmap(anonymous, 4 * page);
  free(data);
  check("unlink", unlink(name) == 0);
}

// Many small mappings, then all freed: nothing is lost track of.
static void many(void) {
  enum { N = 2000 };
  static void *maps[N];
  for (int i = 0; i < N; i++) {
    maps[i] = anon(page * (1 + i % 4));
    ((volatile char *)maps[i])[0] = (char)i;
  }
  int ok = 1;
  for (int i = 0; i < N; i++) ok &= ((char *)maps[i])[0] == (char)i;
  for (int i = 0; i < N; i += 2) munmap(maps[i], page * (1 + i % 4));
  for (int i = 1; i < N; i += 2) munmap(maps[i], page * (1 + i % 4));
  check("2000 small mappings made, checked and unmapped", ok);
}

static void enomem(void) {
  enum { MAX = 20000 };
  static void *chunks[MAX];
  int n = 0;
  for (; n < MAX; n++) {
    void *p = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      printf("mmap failed after %d MiB: %s\n", n * 16, strerror(errno));
      break;
    }
    chunks[n] = p;
    ((volatile char *)p)[16 * MiB - 1] = 1;  // the last page of each, touched
  }
  if (n == MAX) printf("mmap did not fail in %d MiB\n", MAX * 16);
  for (int i = 0; i < n; i++) munmap(chunks[i], 16 * MiB);
  void *p = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check("after munmap of everything, a 16 MiB mmap works again", p != MAP_FAILED);
  munmap(p, 16 * MiB);

  // malloc: glibc takes large blocks from mmap and small ones from brk.
  static void *blocks[MAX];
  int m = 0;
  for (; m < MAX; m++) {
    blocks[m] = malloc(16 * MiB);
    if (!blocks[m]) break;
  }
  printf("malloc(16 MiB) returned NULL after %d MiB (errno %s)\n", m * 16, strerror(errno));
  for (int i = 0; i < m; i++) free(blocks[i]);
  int small = 0;
  while (small < 20000 && malloc(64 * 1024)) small++;
  printf("then malloc(64 KiB) %s\n", small < 20000 ? "ran out" : "20000 times: ok");
}

static void use(size_t mib) {
  char *p = mmap(NULL, mib * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    printf("reserving %zu MiB failed: %s\n", mib, strerror(errno));
    exit(1);
  }
  printf("reserved %zu MiB\n", mib);
  if (mprotect(p, mib * MiB, PROT_READ | PROT_WRITE)) {
    printf("mprotect failed: %s\n", strerror(errno));
    exit(1);
  }
  unsigned long sum = 0;
  for (size_t i = 0; i < mib * MiB; i += page) sum += ((volatile char *)p)[i];
  printf("read every page: sum %lu\n", sum);
  for (size_t i = 0; i < mib * MiB; i += page) {
    p[i] = 1;
    if ((i + page) % (16 * MiB) == 0) printf("wrote %zu MiB\n", (i + page) / MiB);
  }
  printf("wrote all %zu MiB\n", mib);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  page = sysconf(_SC_PAGESIZE);
  if (argc > 2 && !strcmp(argv[1], "use")) {
    use(strtoul(argv[2], NULL, 10));
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "enomem")) {
    enomem();
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "past-eof")) {
    int fd = open("short.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "short", 5);
    unlink("short.bin");
    volatile char *m = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("first page: '%c'; now the second page\n", m[0]);
    printf("read %d (unexpected)\n", m[page]);
    return 0;
  }
  sparse();
  remap();
  fixed();
  file_mappings();
  many();
  return 0;
}
