/* fp-state: sstatus.FS and SD. With FS Off every F/D instruction and the
 * FP CSRs are illegal (in S and in U); Initial and Clean let them run, and
 * what writes FP state (arithmetic, loads, fcsr writes) makes FS Dirty,
 * which SD reports; FS Off keeps the registers. (What FS becomes after an
 * instruction that only reads FP state, fsd or fmv.x.d, is left out: an
 * implementation may set Dirty there too, and QEMU does not.) */
#include "rt/rt.h"
#include "rt/user.h"

#define LABEL(name) ".globl " #name "\n" #name ":\n"

static void set_fs(ul fs) {
  csr_clear(sstatus, SSTATUS_FS);
  csr_set(sstatus, fs << 13);
}
static long fs(void) { return (long)((csr_read(sstatus) >> 13) & 3); }
static long sd(void) { return (long)(csr_read(sstatus) >> 63); }

extern char at_fadd_off[], at_fld_off[], at_fmv_off[], at_fcsr_off[], at_frm_off[];
static double one = 1.0, three = 3.0;
static double result;

static void off(void) {
  set_fs(0);
  print("FS Off: FS %d SD %d\n", fs(), sd());
  clear_traps();
  __asm__ volatile(".option push\n.option norvc\n" LABEL(at_fadd_off) "fadd.d ft0, ft1, ft2\n.option pop" ::: "memory");
  print_trap("fadd.d with FS Off", (ul)at_fadd_off, 1);
  clear_traps();
  __asm__ volatile(".option push\n.option norvc\n" LABEL(at_fld_off) "fld ft0, 0(%0)\n.option pop" :: "r"(&one) : "memory");
  print_trap("fld with FS Off", (ul)at_fld_off, 1);
  clear_traps();
  __asm__ volatile(LABEL(at_fmv_off) "fmv.x.d a0, ft0" ::: "a0", "memory");
  print_trap("fmv.x.d with FS Off", (ul)at_fmv_off, 1);
  clear_traps();
  __asm__ volatile(LABEL(at_fcsr_off) "csrr a0, fcsr" ::: "a0", "memory");
  print_trap("csrr fcsr with FS Off", (ul)at_fcsr_off, 1);
  clear_traps();
  __asm__ volatile(LABEL(at_frm_off) "fsrmi 1" ::: "memory");
  print_trap("fsrmi with FS Off", (ul)at_frm_off, 1);
  print("FS after those: %d\n", fs());
  clear_traps();
  run_user(u_fadd, 0);
  print_trap("fadd.d in U-mode with FS Off", (ul)u_fadd_at, 1);
  print("  from U: %s\n", yesno((last.status & SSTATUS_SPP) == 0));
}

static void initial(void) {
  set_fs(1);
  print("FS Initial: FS %d SD %d\n", fs(), sd());
  clear_traps();
  ul fcsr;
  __asm__ volatile("csrr %0, fcsr" : "=r"(fcsr));
  print("csrr fcsr with FS Initial: %s, FS %d\n", ntraps ? "trap" : "no trap", fs());
  /* (FP registers only inside the asm: the compiler must not save or use
   * any where FS may be Off.) */
  __asm__ volatile("fld ft1, 0(%0)\n fld ft2, 0(%1)\n fdiv.d ft3, ft1, ft2\n fsd ft3, 0(%2)"
                   :: "r"(&one), "r"(&three), "r"(&result) : "ft1", "ft2", "ft3", "memory");
  print("fld, fld, fdiv.d with FS Initial: %s, FS %d SD %d\n", ntraps ? "trap" : "no trap", fs(), sd());
  __asm__ volatile("csrr %0, fflags" : "=r"(fcsr));
  print("  fflags after 1/3: %x\n", fcsr);
  ul bits;
  __asm__ volatile("fmv.x.d %0, ft3" : "=r"(bits));
  print("  1/3 is %x\n", bits);
  __asm__ volatile("csrw fflags, zero");

  set_fs(1);
  __asm__ volatile("fadd.d ft3, ft1, ft2" ::: "ft3");
  print("fadd.d with FS Initial: FS %d SD %d\n", fs(), sd());
  set_fs(1);
  __asm__ volatile("fld ft4, 0(%0)" :: "r"(&three) : "ft4", "memory");
  print("fld with FS Initial: FS %d\n", fs());
  set_fs(2);
  print("FS Clean: FS %d SD %d\n", fs(), sd());
  __asm__ volatile("fsrmi 0" ::: "memory");
  print("fsrmi (an fcsr write) with FS Clean: FS %d SD %d\n", fs(), sd());
  set_fs(2);
  __asm__ volatile("fmv.d.x ft5, %0" :: "r"(0x4010000000000000UL) : "ft5");
  print("fmv.d.x with FS Clean: FS %d\n", fs());
  set_fs(2);
  __asm__ volatile("csrw fcsr, %0" :: "r"(0x20UL) : "memory");
  print("csrw fcsr with FS Clean: FS %d\n", fs());
  __asm__ volatile("csrr %0, frm" : "=r"(fcsr));
  print("  frm now: %d\n", (long)fcsr);
  __asm__ volatile("csrw fcsr, zero");
}

static void kept(void) {
  set_fs(3);
  __asm__ volatile("fmv.d.x ft6, %0" :: "r"(0x1234567812345678UL) : "ft6");
  set_fs(0);
  set_fs(1);
  ul bits;
  __asm__ volatile("fmv.x.d %0, ft6" : "=r"(bits));
  print("ft6 across FS Off and back to Initial: %x\n", bits);
  clear_traps();
  set_fs(1);
  run_user(u_fadd, 0);
  print("fadd.d in U-mode with FS Initial: %s, FS %d SD %d\n", ntraps ? "trap" : "no trap", fs(), sd());
}

int main(void) {
  start("fp-state");
  off();
  initial();
  kept();
  set_fs(0);
  print("FS Off again: FS %d SD %d\n", fs(), sd());
  print("== end ==\n");
  return 0;
}
