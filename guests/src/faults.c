/* Faults: one per run, chosen by argv[1], each ending the process with the
 * signal Linux would send (the status a shell sees is 128 + signal):
 *   null-load, store-unmapped, jump-unmapped        SIGSEGV (139)
 *   illegal, illegal-c, csr-write-ro, csr-priv,
 *   csr-unknown, bad-frm, bad-rm                    SIGILL  (132)
 *   ebreak, c.ebreak                                SIGTRAP (133)
 *   misaligned-amo, misaligned-lr                   SIGBUS  (135)
 *   exec-data, write-text                          SIGSEGV (139) under QEMU,
 *          which maps each PT_LOAD with its permissions; not in the manifest
 *          while ringvisor's process VM has no page permissions
 *   loop   an endless loop, for --max-instructions (ringvisor only: 124)
 * Each prints what it is about to do and flushes first, so that the output
 * before the fault is part of what is compared. */
#include "insn.h"

static u64 word[2] __attribute__((aligned(16)));
/* li a0, 7; li a7, 93; ecall: exit(7) if data were executable. */
static u32 data_code[4] __attribute__((aligned(4))) = {0x00700513, 0x05d00893, 0x00000073, 0};

static void about(const char *what) {
  rt_puts("faults: about to ");
  rt_puts(what);
  rt_putc('\n');
  rt_flush();
}

int main(int argc, char **argv) {
  const char *kind = argc > 1 ? argv[1] : "";
  u64 r = 0;
  if (rt_streq(kind, "null-load")) {
    about("load from address 0");
    __asm__ volatile("ld %0, 0(%1)" : "=r"(r) : "r"(0ul) : "memory");
  } else if (rt_streq(kind, "store-unmapped")) {
    about("store to 0xfff8, just below the program");
    __asm__ volatile("sd %0, 0(%1)" :: "r"(r), "r"(0xfff8ul) : "memory");
  } else if (rt_streq(kind, "jump-unmapped")) {
    about("jump to 0x1000");
    __asm__ volatile("jalr ra, 0(%0)" :: "r"(0x1000ul) : "ra", "memory");
  } else if (rt_streq(kind, "illegal")) {
    about("execute unimp (csrrw x0, cycle, x0)");
    __asm__ volatile(NORVC "unimp" POPRVC ::: "memory");
  } else if (rt_streq(kind, "illegal-c")) {
    about("execute the 16-bit all-zero instruction");
    __asm__ volatile(".2byte 0" ::: "memory");
  } else if (rt_streq(kind, "csr-write-ro")) {
    about("write the read-only CSR cycle (csrrs with rs1 != x0)");
    __asm__ volatile("csrrs %0, cycle, %1" : "=r"(r) : "r"(1ul) : "memory");
  } else if (rt_streq(kind, "csr-priv")) {
    about("read the supervisor CSR sstatus from user mode");
    __asm__ volatile("csrr %0, sstatus" : "=r"(r) :: "memory");
  } else if (rt_streq(kind, "csr-unknown")) {
    about("read CSR 0x0ff, which does not exist");
    __asm__ volatile("csrr %0, 0x0ff" : "=r"(r) :: "memory");
  } else if (rt_streq(kind, "bad-frm")) {
    about("set frm to 5 and execute fadd.s with the dynamic rounding mode");
    __asm__ volatile("fsrm %0\n fadd.s ft0, ft0, ft0, dyn" :: "r"(5ul) : "ft0", "memory");
  } else if (rt_streq(kind, "bad-rm")) {
    about("execute fadd.s with the reserved static rounding mode 5");
    __asm__ volatile(".4byte 0x00005053   /* fadd.s f0, f0, f0, rm=5 */" ::: "ft0", "memory");
  } else if (rt_streq(kind, "ebreak")) {
    about("execute ebreak");
    __asm__ volatile(NORVC "ebreak" POPRVC ::: "memory");
  } else if (rt_streq(kind, "c.ebreak")) {
    about("execute c.ebreak");
    __asm__ volatile("c.ebreak" ::: "memory");
  } else if (rt_streq(kind, "misaligned-amo")) {
    about("amoadd.w at an odd address");
    __asm__ volatile("amoadd.w %0, %1, (%2)" : "=r"(r) : "r"(1ul), "r"((char *)word + 1) : "memory");
  } else if (rt_streq(kind, "misaligned-lr")) {
    about("lr.d at an address 4 bytes past alignment");
    __asm__ volatile("lr.d %0, (%1)" : "=r"(r) : "r"((char *)word + 4) : "memory");
  } else if (rt_streq(kind, "exec-data")) {
    about("jump into .data (code that would exit with 7)");
    __asm__ volatile("jalr ra, 0(%0)" :: "r"(data_code) : "ra", "a0", "a7", "memory");
  } else if (rt_streq(kind, "write-text")) {
    about("store into .text");
    __asm__ volatile("sw zero, 0(%0)" :: "r"((u64)main) : "memory");
  } else if (rt_streq(kind, "loop")) {
    about("loop forever");
    for (;;) __asm__ volatile("" ::: "memory");
  } else {
    rt_puts("usage: faults KIND (see the source for the kinds)\n");
    return 2;
  }
  rt_puts("faults: FAIL: still running after the fault, r = 0x");
  rt_put_hex(r, 16);
  rt_putc('\n');
  return 1;
}
