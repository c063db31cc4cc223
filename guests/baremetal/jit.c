/* jit: code that a translating hart (ringvisor boot --jit N) must not get
 * wrong, each piece run often enough to be translated, then changed:
 * - S-mode code written into RAM, run, rewritten (fence.i), run again;
 * - the same in U-mode, in a U page the program writes its code into;
 * - one virtual address remapped to other physical code (sfence.vma), and
 *   a satp switch to a table that maps it to yet other code;
 * - a hot loop whose loads run off the end of a mapped page into an
 *   unmapped one: each load page-faults with the same scause, stval and
 *   sepc as interpreted.
 * Each line prints what the code returned; the test (test/system-jit.test.ts)
 * runs it with translation on and off and wants the same console and the
 * same instruction count. */
#include "rt/rt.h"

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define SATP_SV39 (8UL << 60)
#define PAGE 4096UL
#define MEGA (1UL << 21)
#define RAM 0x80000000UL
#define RWX (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define VA_TEST 0x1000000000UL /* VPN[2] = 64 */
#define VA_CODE (VA_TEST + 0 * PAGE)  /* remapped code */
#define VA_USER (VA_TEST + 1 * PAGE)  /* U-mode code written by U-mode */
#define VA_DATA (VA_TEST + 2 * PAGE)  /* mapped data; the page after it is not mapped */
#define VA_SELF (VA_TEST + 4 * PAGE)  /* code and data in one page, write-protected without sfence.vma */
#define CALLS 300

typedef ul table[512] __attribute__((aligned(4096)));
static table root_a, root_b, l1_id, l0_id, test_l1_a, test_l1_b, test_l0_a, test_l0_b;
static u32 frames[7][1024] __attribute__((aligned(4096)));
enum { F_KERNEL, F_CODE_A, F_CODE_B, F_CODE_C, F_USER, F_DATA, F_SELF };

static ul pte(ul pa, ul flags) { return ((pa >> 12) << 10) | flags; }
static ul pointer(ul *t) { return pte((ul)t, PTE_V); }

/* li a0, n; ret (n: 12 bits, signed) */
static void put_code(volatile u32 *at, long n) {
  at[0] = 0x00000513u | ((u32)n << 20);
  at[1] = 0x00008067u;
}

static void build_tables(void) {
  /* The program's gigabyte: megapages, and 4 KiB pages for its own 2 MiB,
   * the U-mode code and stack in U pages (as paging.c). */
  root_a[2] = root_b[2] = pointer(l1_id);
  for (ul i = 0; i < 512; i++) l1_id[i] = pte(RAM + i * MEGA, RWX);
  l1_id[1] = pointer(l0_id);
  for (ul i = 0; i < 512; i++) {
    ul pa = RAM + MEGA + i * PAGE, flags = RWX;
    if (pa >= (ul)__user_start && pa < (ul)__user_end) flags = PTE_V | PTE_R | PTE_X | PTE_U | PTE_A;
    if (pa >= (ul)__user_data_start && pa < (ul)__user_data_end) flags = PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;
    l0_id[i] = pte(pa, flags);
  }
  root_a[64] = pointer(test_l1_a);
  root_b[64] = pointer(test_l1_b);
  test_l1_a[0] = pointer(test_l0_a);
  test_l1_b[0] = pointer(test_l0_b);
  test_l0_a[0] = pte((ul)frames[F_CODE_A], PTE_V | PTE_R | PTE_X | PTE_A);
  test_l0_b[0] = pte((ul)frames[F_CODE_C], PTE_V | PTE_R | PTE_X | PTE_A);
  test_l0_a[1] = test_l0_b[1] = pte((ul)frames[F_USER], RWX | PTE_U);
  test_l0_a[2] = test_l0_b[2] = pte((ul)frames[F_DATA], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  test_l0_a[4] = pte((ul)frames[F_SELF], RWX);
}

/* Calls the code at `fn` CALLS times; the sum of what it returned. */
static long __attribute__((noinline)) call_many(ul fn) {
  long sum = 0;
  for (int i = 0; i < CALLS; i++) sum += ((long (*)(void))fn)();
  return sum;
}

/* U-mode (in assembly: the U page may not read the program's constants):
 * writes `li a0, arg; ret` into its own page VA_USER, runs it CALLS times,
 * rewrites it to return arg + 1 and runs it again; returns both sums as
 * first * 100000 + second. */
extern long u_selfmod(long);
__asm__(
  ".pushsection .user, \"ax\"\n"
  "u_selfmod:\n"
  "  addi sp, sp, -48\n  sd ra, 0(sp)\n  sd s0, 8(sp)\n  sd s1, 16(sp)\n  sd s2, 24(sp)\n  sd s3, 32(sp)\n  sd a0, 40(sp)\n"
  "  li s2, 0x1000001000\n"
  "  slliw t0, a0, 20\n  li t1, 0x513\n  or t0, t0, t1\n  sw t0, 0(s2)\n"
  "  li t1, 0x8067\n  sw t1, 4(s2)\n  fence.i\n"
  "  li s0, 300\n  li s1, 0\n"
  "1: jalr s2\n  add s1, s1, a0\n  addi s0, s0, -1\n  bnez s0, 1b\n"
  "  ld t0, 40(sp)\n  addi t0, t0, 1\n  slliw t0, t0, 20\n  li t1, 0x513\n  or t0, t0, t1\n  sw t0, 0(s2)\n  fence.i\n"
  "  li s0, 300\n  li s3, 0\n"
  "2: jalr s2\n  add s3, s3, a0\n  addi s0, s0, -1\n  bnez s0, 2b\n"
  "  li t0, 100000\n  mul a0, s1, t0\n  add a0, a0, s3\n"
  "  ld ra, 0(sp)\n  ld s0, 8(sp)\n  ld s1, 16(sp)\n  ld s2, 24(sp)\n  ld s3, 32(sp)\n  addi sp, sp, 48\n  ret\n"
  ".popsection\n");

/* fp_loop(n): the sum of 0.5 * i for i < n, as a long (F and D in a hot
 * loop). fp_loop_ret: its ret, where the handler resumes it when sstatus.FS
 * is Off and its first FP instruction traps. */
extern long fp_loop(long n);
extern char fp_loop_ret[];
__asm__(
  ".pushsection .text\n"
  "fp_loop:\n"
  "  fcvt.d.l fa0, zero\n  li t0, 1\n  fcvt.d.l fa1, t0\n  li t1, 2\n  fcvt.d.l fa2, t1\n  fdiv.d fa1, fa1, fa2\n  li t0, 0\n"
  "1: fcvt.d.l fa3, t0\n  fmul.d fa3, fa3, fa1\n  fadd.d fa0, fa0, fa3\n  addi t0, t0, 1\n  bne t0, a0, 1b\n"
  "  fcvt.l.d a0, fa0, rtz\n"
  "fp_loop_ret:\n  ret\n"
  ".popsection\n");

/* The timer: its interrupt ends a hot loop (on_timer). */
static volatile long timer_fired;
static void on_timer(ul code) {
  if (code == IRQ_STI) { csr_write(CSR_STIMECMP, -1UL); timer_fired = 1; }
}

/* Sums n words from p: a hot loop, then one that runs into an unmapped page. */
static long __attribute__((noinline)) sum_words(volatile long *p, long n) {
  long s = 0;
  for (long i = 0; i < n; i++) s += p[i];
  return s;
}

int main(void) {
  start("jit");
  /* S-mode code in RAM, identity-mapped through the megapages. */
  build_tables();
  csr_write(satp, SATP_SV39 | ((ul)root_a >> 12));
  sfence_vma();
  volatile u32 *k = frames[F_KERNEL];
  put_code(k, 5);
  fence_i();
  print("kernel code: %d", call_many((ul)k));
  put_code(k, 6);
  fence_i();
  print(", rewritten: %d", call_many((ul)k));
  k[0] = 0x00700513u; /* only the li: li a0, 7 */
  fence_i();
  print(", again: %d\n", call_many((ul)k));

  /* One virtual address, other physical code. */
  put_code(frames[F_CODE_A], 1);
  put_code(frames[F_CODE_B], 2);
  put_code(frames[F_CODE_C], 3);
  fence_i();
  print("remapped code: %d", call_many(VA_CODE));
  test_l0_a[0] = pte((ul)frames[F_CODE_B], PTE_V | PTE_R | PTE_X | PTE_A);
  sfence_vma();
  print(", after sfence.vma: %d", call_many(VA_CODE));
  csr_write(satp, SATP_SV39 | ((ul)root_b >> 12));
  sfence_vma();
  print(", other satp: %d", call_many(VA_CODE));
  csr_write(satp, SATP_SV39 | ((ul)root_a >> 12));
  sfence_vma();
  print(", back: %d\n", call_many(VA_CODE));

  /* A page of translated code made read-only without sfence.vma: the
   * hart may still use its old TLB entry (the spec allows either), and
   * must use it the same way translated or not: the store goes through.
   * After sfence.vma it faults. */
  put_code(frames[F_SELF], 11);
  fence_i();
  print("self: %d", call_many(VA_SELF));
  test_l0_a[4] = pte((ul)frames[F_SELF], PTE_V | PTE_R | PTE_X | PTE_A | PTE_D);
  clear_traps();
  *(volatile u32 *)(VA_SELF + 0x800) = 0x1234;
  print(", store with the old entry: traps %d", (long)ntraps);
  sfence_vma();
  clear_traps();
  *(volatile u32 *)(VA_SELF + 0x804) = 0x5678;
  print(", after sfence.vma: traps %d scause %x\n", (long)ntraps, last.cause);

  /* F and D in translated code: legal only while sstatus.FS is not Off,
   * and they make it Dirty. */
  csr_set(sstatus, SSTATUS_FS); /* Dirty */
  long f = 0;
  for (int i = 0; i < CALLS; i++) f += fp_loop(40);
  print("fp: %d", f);
  csr_clear(sstatus, SSTATUS_FS); /* Off */
  clear_traps();
  resume_at = (ul)fp_loop_ret;
  fp_loop(40);
  print(", FS off: traps %d scause %x", (long)ntraps, last.cause);
  csr_set(sstatus, 1UL << 13); /* Initial */
  print(", FS initial: %d", fp_loop(40));
  print(", then FS %x\n", (csr_read(sstatus) & SSTATUS_FS) >> 13);

  /* A timer interrupt during a translated loop: taken where the
   * interpreter takes it (the instruction count is the test's to compare). */
  on_interrupt = on_timer;
  csr_set(sie, SIE_STIE);
  csr_write(CSR_STIMECMP, rdtime() + 20000);
  csr_set(sstatus, SSTATUS_SIE);
  long spins = 0;
  while (!timer_fired) spins++;
  csr_clear(sstatus, SSTATUS_SIE);
  print("timer: fired after %d spins, irqs %d\n", spins, (long)nirqs);

  /* U-mode code written by U-mode. */
  print("user code: %d\n", run_user(u_selfmod, 40));

  /* A page fault inside translated code. */
  volatile long *data = (volatile long *)VA_DATA;
  for (int i = 0; i < 512; i++) data[i] = i;
  long s = 0;
  for (int i = 0; i < CALLS; i++) s += sum_words(data + 500, 12);
  print("loads: %d", s);
  clear_traps();
  s = sum_words(data + 508, 8); /* 4 in the page, 4 past it */
  print(", past the page: %d, traps %d, scause %x stval %x sepc in sum_words %s\n", s, (long)ntraps, last.cause, last.tval,
        yesno(last.epc >= (ul)sum_words && last.epc < (ul)sum_words + 64));
  print("== end ==\n");
  return 0;
}
