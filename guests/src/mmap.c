/* The process VM's memory system calls, through raw system calls: anonymous
 * mmap (zeroed, readable and writable), MAP_FIXED,
 * munmap, mprotect, mremap (grow in place, move, shrink),
 * madvise(DONTNEED), brk, and argument errors. Prints nothing that depends on
 * addresses. With an argument, ends by touching memory it may not: "unmapped"
 * (after munmap), "readonly" (after mprotect PROT_READ), "noexec" (jump into
 * a PROT_READ|PROT_WRITE page), all SIGSEGV. */
#include "rt.h"

#define SYS_brk 214
#define SYS_munmap 215
#define SYS_mremap 216
#define SYS_mmap 222
#define SYS_mprotect 226
#define SYS_madvise 233
#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MREMAP_MAYMOVE 1
#define MADV_DONTNEED 4
#define PAGE 4096L

static long mmap_(void *addr, long len, int prot, int flags) {
  return rt_syscall6(SYS_mmap, (long)addr, len, prot, flags, -1, 0);
}

static int streq(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return *a == *b;
}

static u64 sum(const unsigned char *p, long n) {
  u64 s = 0;
  for (long i = 0; i < n; i++) s = s * 31 + p[i];
  return s;
}

int main(int argc, char **argv) {
  /* Anonymous memory is zeroed, readable and writable. */
  long len = 3 * PAGE + 100;
  long a = mmap_(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  rt_check_u64("mmap anon ok", a > 0 && (a & (PAGE - 1)) == 0, 1);
  unsigned char *p = (unsigned char *)a;
  rt_check_u64("fresh pages read zero", sum(p, 4 * PAGE), 0);
  for (long i = 0; i < 4 * PAGE; i++) p[i] = (unsigned char)(i * 13);
  rt_check_u64("written and read back", sum(p, 4 * PAGE), sum(p, 4 * PAGE));
  rt_check_u64("byte 10000", p[10000], (unsigned char)(10000 * 13));

  /* madvise(DONTNEED) gives zero pages back. */
  rt_check_u64("madvise", rt_syscall(SYS_madvise, a + PAGE, PAGE, MADV_DONTNEED), 0);
  rt_check_u64("after DONTNEED page 1 is zero", sum(p + PAGE, PAGE), 0);
  rt_check_u64("page 0 kept", p[1], 13);

  /* mremap: shrink, grow (in place or moved), contents kept. */
  long b = rt_syscall6(SYS_mremap, a, 4 * PAGE, 2 * PAGE, 0, 0, 0);
  rt_check_u64("mremap shrink keeps address", b == a, 1);
  long c = rt_syscall6(SYS_mremap, a, 2 * PAGE, 64 * PAGE, MREMAP_MAYMOVE, 0, 0);
  rt_check_u64("mremap grow ok", c > 0, 1);
  unsigned char *q = (unsigned char *)c;
  rt_check_u64("grown keeps byte 1", q[1], 13);
  rt_check_u64("grown tail is zero", sum(q + 2 * PAGE, 62 * PAGE), 0);

  /* MAP_FIXED replaces. (MAP_FIXED_NOREPLACE on an occupied range is -EEXIST
   * on Linux, but qemu-riscv64 7.2 gets it wrong, so test/linux-memory.test.ts
   * checks it instead of this differential program.) */
  q[0] = 99;
  long d = mmap_(q, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  rt_check_u64("MAP_FIXED at the same address", d == c, 1);
  rt_check_u64("MAP_FIXED page is fresh", q[0], 0);

  /* Argument errors. */
  rt_check_u64("mmap length 0: -EINVAL", (u64)mmap_(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS), (u64)-22);
  rt_check_u64("mmap without a type: -EINVAL", (u64)mmap_(0, PAGE, PROT_READ, MAP_ANONYMOUS), (u64)-22);
  rt_check_u64("MAP_FIXED unaligned: -EINVAL", (u64)mmap_(q + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), (u64)-22);
  rt_check_u64("munmap unaligned: -EINVAL", (u64)rt_syscall(SYS_munmap, c + 1, PAGE, 0), (u64)-22);
  rt_check_u64("mprotect unaligned: -EINVAL", (u64)rt_syscall(SYS_mprotect, c + 1, PAGE, PROT_READ), (u64)-22);

  /* mprotect to read-only still reads. */
  q[5000] = 7;
  rt_check_u64("mprotect read-only", rt_syscall(SYS_mprotect, c + PAGE, PAGE, PROT_READ), 0);
  rt_check_u64("read-only page reads", q[5000], 7);

  /* brk grows with zeroed memory and shrinks. */
  long brk0 = rt_syscall(SYS_brk, 0, 0, 0);
  long brk1 = rt_syscall(SYS_brk, brk0 + 100000, 0, 0);
  rt_check_u64("brk grows", brk1 - brk0, 100000);
  rt_check_u64("new break memory is zero", sum((unsigned char *)brk0, 100000), 0);
  ((unsigned char *)brk0)[99999] = 1;
  rt_check_u64("brk shrinks", rt_syscall(SYS_brk, brk0, 0, 0) == brk0, 1);

  /* A large mapping (256 MiB) works and is zero where sampled. */
  long big = mmap_(0, 256L << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  rt_check_u64("256 MiB mapping ok", big > 0, 1);
  unsigned char *g = (unsigned char *)big;
  g[(256L << 20) - 1] = 5;
  rt_check_u64("its last byte", g[(256L << 20) - 1], 5);
  rt_check_u64("munmap it", rt_syscall(SYS_munmap, big, 256L << 20, 0), 0);

  if (argc > 1) {
    rt_puts("about to misbehave: "); rt_puts(argv[1]); rt_putc('\n');
    rt_flush();
    if (streq(argv[1], "unmapped")) {
      rt_syscall(SYS_munmap, c, PAGE, 0);
      q[0] = 1;
    } else if (streq(argv[1], "readonly")) {
      q[PAGE] = 1;
    } else if (streq(argv[1], "noexec")) {
      unsigned int *code = (unsigned int *)(q + 2 * PAGE);
      code[0] = 0x00008067; /* ret */
      ((void (*)(void))code)();
    }
    rt_puts("still alive\n");
  }
  return rt_done();
}
