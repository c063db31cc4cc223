/* compute: a CPU-bound loop (a multiply-add generator XORed into a 1 KiB
 * buffer: 11 instructions an iteration, a load and a store among them) run
 * in S-mode and then in U-mode under Sv39, for measuring how fast a system
 * VM runs such code, interpreted and translated (bench/system-compute.mjs):
 * 2 million iterations each. */
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
#define ITERATIONS 2000000L

typedef ul table[512] __attribute__((aligned(4096)));
static table root, l1_id, l0_id;
static unsigned long buffer[128];

/* work(iterations, buffer): the loop, once in S-mode's text and once in
 * the U page; returns the generator's last value. */
#define WORK(name) \
  ".globl " #name "\n" #name ":\n" \
  "  li t0, 0x5851f42d4c957f2d\n  li t1, 0\n  li t2, 0\n" \
  "1: mul t1, t1, t0\n  add t1, t1, t2\n  andi t3, t2, 127\n  slli t3, t3, 3\n  add t3, t3, a1\n" \
  "  ld t4, 0(t3)\n  srli t5, t1, 33\n  xor t4, t4, t5\n  sd t4, 0(t3)\n  addi t2, t2, 1\n  bne t2, a0, 1b\n" \
  "  mv a0, t1\n  ret\n"
extern long s_work(long n, unsigned long *buf);
extern long u_work(long n);
__asm__(".pushsection .text\n" WORK(s_work) ".popsection\n");
/* U-mode gets one argument: its buffer is the bottom of the user stack page. */
__asm__(".pushsection .user, \"ax\"\n"
        "u_work:\n  la a1, __user_data_start\n  j u_work_loop\n"
        WORK(u_work_loop) ".popsection\n");

static ul pte(ul pa, ul flags) { return ((pa >> 12) << 10) | flags; }

int main(void) {
  start("compute");
  root[2] = pte((ul)l1_id, PTE_V);
  for (ul i = 0; i < 512; i++) l1_id[i] = pte(RAM + i * MEGA, RWX);
  l1_id[1] = pte((ul)l0_id, PTE_V);
  for (ul i = 0; i < 512; i++) {
    ul pa = RAM + MEGA + i * PAGE, flags = RWX;
    if (pa >= (ul)__user_start && pa < (ul)__user_end) flags = PTE_V | PTE_R | PTE_X | PTE_U | PTE_A;
    if (pa >= (ul)__user_data_start && pa < (ul)__user_data_end) flags = PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;
    l0_id[i] = pte(pa, flags);
  }
  csr_write(satp, SATP_SV39 | ((ul)root >> 12));
  sfence_vma();
  long n = ITERATIONS;
  print("S-mode: %x\n", (ul)s_work(n, buffer));
  print("U-mode: %x\n", (ul)run_user(u_work, n));
  print("== end ==\n");
  return 0;
}
