/* suspend: SBI HSM hart_suspend. Default retentive (type 0): the call
 * returns 0 once an interrupt enabled in sie is pending, with sstatus.SIE
 * off so that none is taken. A reserved type refused. Default
 * non-retentive (0x80000000): the hart wakes at the resume address with
 * a0 = its id, a1 = the opaque value, paging and SIE off, its registers
 * otherwise lost. (A bad resume address is not tried: QEMU's OpenSBI does
 * not check it.) */
#include "rt/rt.h"

/* Where the non-retentive suspend resumes: nothing but a0 and a1 survives,
 * so a stack of its own first. */
__asm__(".globl resume_entry\n"
        "resume_entry:\n"
        "  la sp, resume_stack_top\n"
        "  tail resumed\n");
char resume_stack[4096] __attribute__((aligned(16)));
__asm__(".set resume_stack_top, resume_stack + 4096");
extern char resume_entry[];

void resumed(ul hartid, ul opaque) {
  print("non-retentive: resumed at the resume address, a0 (hart id) %d, a1 (opaque) %x, sstatus.SIE %d, satp %x\n",
        (long)hartid, opaque, (long)((csr_read(sstatus) & SSTATUS_SIE) != 0), csr_read(satp));
  print("== end ==\n");
  shutdown();
}

int main(void) {
  start("suspend");
  csr_clear(sstatus, SSTATUS_SIE);
  csr_write(sie, 1UL << IRQ_STI);
  csr_write(CSR_STIMECMP, rdtime() + 2000); /* 200 us from now */
  struct sbiret r = sbi_call(SBI_EXT_HSM, 3, 0, 0, 0, 0);
  print("hart_suspend(default retentive): error %d, timer pending: %s, time reached: %s\n",
        r.error, yesno((csr_read(sip) >> IRQ_STI) & 1), yesno(rdtime() >= csr_read(CSR_STIMECMP)));
  csr_write(CSR_STIMECMP, -1UL);
  print("after moving the timer away, STIP: %d\n", (long)((csr_read(sip) >> IRQ_STI) & 1));
  r = sbi_call(SBI_EXT_HSM, 3, 0x00000001, 0, 0, 0);
  print("hart_suspend(type 1, reserved): error %d\n", r.error);
  print("hart_get_status(0) after: %d\n", sbi_call(SBI_EXT_HSM, 2, 0, 0, 0, 0).value);
  csr_write(CSR_STIMECMP, rdtime() + 2000);
  r = sbi_call(SBI_EXT_HSM, 3, 0x80000000UL, (long)resume_entry, 0x1234, 0);
  print("hart_suspend(default non-retentive) returned: error %d\n", r.error); /* only on failure */
  print("== end ==\n");
  return 0;
}
