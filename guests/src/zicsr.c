/* Zicsr: fflags, frm and fcsr through all six CSR instructions (csrrw, csrrs,
 * csrrc, csrrwi, csrrsi, csrrci): the old value returned, the new value kept,
 * bits beyond each register's width dropped, rd = x0 and rs1 = x0 forms, frm
 * and fflags seen through fcsr and back; cycle, time and instret readable and
 * non-decreasing (their values differ between VMs, so they are not printed).
 * Exit status 0 when all pass. */
#include "insn.h"

/* old = csrXX rd, csr, rs1/imm; then read the CSR back with csrr. */
#define CSR_R(insn, csr, v) ({ u64 o_; __asm__ volatile(NORVC insn " %0, " csr ", %1" POPRVC : "=r"(o_) : "r"((u64)(v)) : "memory"); o_; })
#define CSR_I(insn, csr, imm) ({ u64 o_; __asm__ volatile(NORVC insn " %0, " csr ", %1" POPRVC : "=r"(o_) : "i"(imm) : "memory"); o_; })
#define CSR_X0(insn, csr) ({ u64 o_; __asm__ volatile(NORVC insn " %0, " csr ", x0" POPRVC : "=r"(o_) :: "memory"); o_; })
#define CSR_READ(csr) ({ u64 v_; __asm__ volatile(NORVC "csrr %0, " csr POPRVC : "=r"(v_) :: "memory"); v_; })

static void fcsr_group(void) {
  rt_section("csrrw csrrs csrrc on fflags (5 bits)");
  CSR_X0("csrrw", "fcsr");
  rt_check_u64("csrrw fflags, 0x1f: old", CSR_R("csrrw", "fflags", 0x1f), 0);
  rt_check_u64("  fflags", CSR_READ("fflags"), 0x1f);
  rt_check_u64("csrrw fflags, 0xffffffffffffffe1: old", CSR_R("csrrw", "fflags", 0xffffffffffffffe1ul), 0x1f);
  rt_check_u64("  fflags keeps 5 bits", CSR_READ("fflags"), 0x01);
  rt_check_u64("  fcsr", CSR_READ("fcsr"), 0x01);
  rt_check_u64("csrrs fflags, 0x12: old", CSR_R("csrrs", "fflags", 0x12), 0x01);
  rt_check_u64("  fflags", CSR_READ("fflags"), 0x13);
  rt_check_u64("csrrc fflags, 0x03: old", CSR_R("csrrc", "fflags", 0x03), 0x13);
  rt_check_u64("  fflags", CSR_READ("fflags"), 0x10);
  rt_check_u64("csrrs fflags, x0 reads only", CSR_X0("csrrs", "fflags"), 0x10);
  rt_check_u64("csrrc fflags, x0 reads only", CSR_X0("csrrc", "fflags"), 0x10);
  rt_check_u64("  fflags", CSR_READ("fflags"), 0x10);
  rt_check_u64("  frm untouched", CSR_READ("frm"), 0);

  rt_section("csrrwi csrrsi csrrci on fflags");
  rt_check_u64("csrrwi fflags, 5: old", CSR_I("csrrwi", "fflags", 5), 0x10);
  rt_check_u64("  fflags", CSR_READ("fflags"), 5);
  rt_check_u64("csrrsi fflags, 0x1a: old", CSR_I("csrrsi", "fflags", 0x1a), 5);
  rt_check_u64("  fflags", CSR_READ("fflags"), 0x1f);
  rt_check_u64("csrrci fflags, 0x0c: old", CSR_I("csrrci", "fflags", 0x0c), 0x1f);
  rt_check_u64("  fflags", CSR_READ("fflags"), 0x13);
  rt_check_u64("csrrsi fflags, 0 reads only", CSR_I("csrrsi", "fflags", 0), 0x13);
  rt_check_u64("csrrci fflags, 0 reads only", CSR_I("csrrci", "fflags", 0), 0x13);
  rt_check_u64("csrrwi fflags, 0: old", CSR_I("csrrwi", "fflags", 0), 0x13);
  rt_check_u64("  fflags", CSR_READ("fflags"), 0);

  rt_section("frm (3 bits) and its view in fcsr");
  rt_check_u64("csrrw frm, 3: old", CSR_R("csrrw", "frm", 3), 0);
  rt_check_u64("  frm", CSR_READ("frm"), 3);
  rt_check_u64("  fcsr = frm << 5", CSR_READ("fcsr"), 3 << 5);
  rt_check_u64("csrrw frm, 0xfc: old", CSR_R("csrrw", "frm", 0xfc), 3);
  rt_check_u64("  frm keeps 3 bits", CSR_READ("frm"), 4);
  rt_check_u64("csrrs frm, 3: old", CSR_R("csrrs", "frm", 3), 4);
  rt_check_u64("  frm (7 is stored; only using it is illegal)", CSR_READ("frm"), 7);
  rt_check_u64("csrrc frm, 5: old", CSR_R("csrrc", "frm", 5), 7);
  rt_check_u64("  frm", CSR_READ("frm"), 2);
  rt_check_u64("csrrwi frm, 1: old", CSR_I("csrrwi", "frm", 1), 2);
  rt_check_u64("csrrsi frm, 0x1e: old", CSR_I("csrrsi", "frm", 0x1e), 1);
  rt_check_u64("  frm", CSR_READ("frm"), 7);
  rt_check_u64("csrrci frm, 6: old", CSR_I("csrrci", "frm", 6), 7);
  rt_check_u64("  frm", CSR_READ("frm"), 1);
  rt_check_u64("csrrsi fflags, 0x11 with frm = 1: old", CSR_I("csrrsi", "fflags", 0x11), 0);
  rt_check_u64("  fcsr", CSR_READ("fcsr"), 0x31);
  rt_check_u64("  frm", CSR_READ("frm"), 1);

  rt_section("fcsr (8 bits)");
  rt_check_u64("csrrw fcsr, 0xfff: old", CSR_R("csrrw", "fcsr", 0xfff), 0x31);
  rt_check_u64("  fcsr keeps 8 bits", CSR_READ("fcsr"), 0xff);
  rt_check_u64("  frm", CSR_READ("frm"), 7);
  rt_check_u64("  fflags", CSR_READ("fflags"), 0x1f);
  rt_check_u64("csrrc fcsr, 0x81: old", CSR_R("csrrc", "fcsr", 0x81), 0xff);
  rt_check_u64("  fcsr", CSR_READ("fcsr"), 0x7e);
  rt_check_u64("csrrs fcsr, 0x100: old", CSR_R("csrrs", "fcsr", 0x100), 0x7e);
  rt_check_u64("  fcsr", CSR_READ("fcsr"), 0x7e);
  rt_check_u64("csrrwi fcsr, 0x1f: old", CSR_I("csrrwi", "fcsr", 0x1f), 0x7e);
  rt_check_u64("  frm cleared", CSR_READ("frm"), 0);
  rt_check_u64("csrrci fcsr, 0x1f: old", CSR_I("csrrci", "fcsr", 0x1f), 0x1f);
  rt_check_u64("csrrsi fcsr, 0x10: old", CSR_I("csrrsi", "fcsr", 0x10), 0);
  rt_check_u64("  fcsr", CSR_READ("fcsr"), 0x10);
  rt_check_u64("csrrw fcsr, 0x40: old", CSR_R("csrrw", "fcsr", 0x40), 0x10);
  rt_check_u64("  frm", CSR_READ("frm"), 2);
  rt_check_u64("  fflags", CSR_READ("fflags"), 0);

  rt_section("rd = x0 forms write without reading");
  __asm__ volatile(NORVC "csrrw x0, fcsr, %0" POPRVC :: "r"(0xe5ul) : "memory");
  rt_check_u64("csrrw x0, fcsr, 0xe5", CSR_READ("fcsr"), 0xe5);
  __asm__ volatile(NORVC "csrrwi x0, fflags, 2" POPRVC ::: "memory");
  rt_check_u64("csrrwi x0, fflags, 2", CSR_READ("fcsr"), 0xe2);
  __asm__ volatile(NORVC "csrrs x0, frm, x0" POPRVC ::: "memory");
  rt_check_u64("csrrs x0, frm, x0", CSR_READ("fcsr"), 0xe2);
  __asm__ volatile(NORVC "csrrc x0, frm, %0" POPRVC :: "r"(7ul) : "memory");
  rt_check_u64("csrrc x0, frm, 7", CSR_READ("fcsr"), 0x02);
  rt_section("pseudo-instructions fsflags frflags fsrm frrm fscsr frcsr");
  u64 old;
  __asm__ volatile(NORVC "fsflags %0, %1" POPRVC : "=r"(old) : "r"(0x1ful) : "memory");
  rt_check_u64("fsflags 0x1f: old", old, 0x02);
  __asm__ volatile(NORVC "fsrm %0, %1" POPRVC : "=r"(old) : "r"(4ul) : "memory");
  rt_check_u64("fsrm 4: old", old, 0);
  __asm__ volatile(NORVC "frrm %0" POPRVC : "=r"(old) :: "memory");
  rt_check_u64("frrm", old, 4);
  __asm__ volatile(NORVC "frflags %0" POPRVC : "=r"(old) :: "memory");
  rt_check_u64("frflags", old, 0x1f);
  __asm__ volatile(NORVC "fscsr %0, x0" POPRVC : "=r"(old) :: "memory");
  rt_check_u64("fscsr x0: old", old, 0x9f);
  __asm__ volatile(NORVC "frcsr %0" POPRVC : "=r"(old) :: "memory");
  rt_check_u64("frcsr", old, 0);
}

static void counters(void) {
  u64 c0, c1, t0, t1, i0, i1;
  rt_section("cycle time instret");
  __asm__ volatile(NORVC "rdcycle %0\n rdtime %1\n rdinstret %2" POPRVC : "=r"(c0), "=r"(t0), "=r"(i0));
  for (volatile int i = 0; i < 1000; i++) {}
  __asm__ volatile(NORVC "csrrs %0, cycle, x0\n csrrs %1, time, x0\n csrrs %2, instret, x0" POPRVC : "=r"(c1), "=r"(t1), "=r"(i1));
  rt_check_u64("cycle non-decreasing: yes", c1 >= c0, 1);
  rt_check_u64("time non-decreasing: yes", t1 >= t0, 1);
  rt_check_u64("instret non-decreasing: yes", i1 >= i0, 1);
  u64 d;
  __asm__ volatile(NORVC "csrrsi %0, instret, 0" POPRVC : "=r"(d));
  rt_check_u64("csrrsi instret, 0 (read only form) non-decreasing: yes", d >= i1, 1);
  __asm__ volatile(NORVC "csrrci %0, cycle, 0" POPRVC : "=r"(d));
  rt_check_u64("csrrci cycle, 0 non-decreasing: yes", d >= c1, 1);
}

int main(void) {
  fcsr_group();
  counters();
  return rt_done();
}
