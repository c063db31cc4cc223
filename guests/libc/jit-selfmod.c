// A JIT inside the guest: RISC-V code written into a writable and
// executable mapping, run until it is hot (ringvisor translates it), then
// changed in place by plain stores and fence.i, with no mprotect or munmap,
// and run again: every run must see the code as it is at that moment. Also
// code that shares its page with data written all the time, and code that
// stores into its own page while it runs. Compared with qemu-riscv64.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

enum { ZERO = 0, RA = 1, A0 = 10, A1 = 11, A2 = 12 };

static uint32_t addi(int rd, int rs1, int imm) { return ((uint32_t)(imm & 0xfff) << 20) | (uint32_t)rs1 << 15 | (uint32_t)rd << 7 | 0x13; }
static uint32_t sd(int rs2, int rs1, int imm) {
  return ((uint32_t)(imm >> 5 & 0x7f) << 25) | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | 3u << 12 | (uint32_t)(imm & 0x1f) << 7 | 0x23;
}
static uint32_t beq(int rs1, int rs2, int off) {
  uint32_t o = (uint32_t)off;
  return (o >> 12 & 1) << 31 | (o >> 5 & 0x3f) << 25 | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | (o >> 1 & 0xf) << 8 | (o >> 11 & 1) << 7 | 0x63;
}
static uint32_t jal(int rd, int off) {
  uint32_t o = (uint32_t)off;
  return (o >> 20 & 1) << 31 | (o >> 1 & 0x3ff) << 21 | (o >> 11 & 1) << 20 | (o >> 12 & 0xff) << 12 | (uint32_t)rd << 7 | 0x6f;
}
static const uint32_t RET = 0x00008067; // jalr x0, 0(ra)

static void fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }

// long f(long n): a1 = 0; while (n) { a1 += k; n--; } return a1
// (with `store`, each turn also stores n at a2, inside the code's own page)
static void emit_sum(uint32_t *p, int k, int store) {
  int i = 0;
  p[i++] = addi(A1, ZERO, 0);
  int loop = i;
  p[i++] = beq(A0, ZERO, (store ? 5 : 4) * 4);
  p[i++] = addi(A1, A1, k);
  if (store) p[i++] = sd(A0, A2, 0);
  p[i++] = addi(A0, A0, -1);
  p[i] = jal(ZERO, (loop - i) * 4);
  i++;
  p[i++] = addi(A0, A1, 0);
  p[i++] = RET;
}

typedef long (*fn)(long, long, void *);

int main(void) {
  uint32_t *code = mmap(0, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) { perror("mmap"); return 1; }
  fn f = (fn)(void *)code;

  // 1. Rewritten in place, many times, each after it has run hot.
  long total = 0;
  for (int k = 1; k <= 12; k++) {
    emit_sum(code, k, 0);
    fence_i();
    long r = 0;
    for (int rep = 0; rep < 200; rep++) r += f(100, 0, 0);
    printf("k=%d: %ld\n", k, r);
    total += r;
  }

  // 2. One immediate patched (a single 32-bit store) between calls.
  emit_sum(code, 3, 0);
  fence_i();
  long before = 0, after = 0;
  for (int rep = 0; rep < 300; rep++) before += f(50, 0, 0);
  code[2] = addi(A1, A1, 5);
  fence_i();
  for (int rep = 0; rep < 300; rep++) after += f(50, 0, 0);
  printf("patched: %ld then %ld\n", before, after);

  // 3. Data beside the code: a counter in the same page, written between calls.
  volatile long *counter = (volatile long *)(void *)(code + 512);
  emit_sum(code, 2, 0);
  fence_i();
  long mixed = 0;
  for (int rep = 0; rep < 2000; rep++) { mixed += f(20, 0, 0); (*counter)++; }
  printf("beside data: %ld, counter %ld\n", mixed, *counter);

  // 4. Code that stores into its own page as it runs (the word after it).
  emit_sum(code, 7, 1);
  fence_i();
  long self = 0;
  for (int rep = 0; rep < 300; rep++) self += f(40, 0, code + 64);
  printf("self-storing: %ld, last stored %ld\n", self, *(long *)(void *)(code + 64));

  // 5. Code on the second page, copied there from the first and changed.
  uint32_t *second = code + 1024;
  emit_sum(code, 4, 0);
  emit_sum(second, 9, 0);
  fence_i();
  fn g = (fn)(void *)second;
  long two = 0;
  for (int rep = 0; rep < 300; rep++) two += g(30, 0, 0) + f(30, 0, 0);
  memcpy(code, second, 64);
  fence_i();
  for (int rep = 0; rep < 300; rep++) two += f(30, 0, 0);
  printf("two pages: %ld\n", two);
  printf("total %ld\n", total + before + after + mixed + self + two);
  return 0;
}
