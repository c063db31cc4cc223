/* sbi: the firmware interface as a kernel sees it: the base extension
 * (spec version, probes), TIME, IPI, RFENCE, HSM hart status, SRST's
 * argument checks, the legacy calls, and the debug console (DBCN).
 *
 * What legitimately differs between the two firmwares is not printed:
 * QEMU 7.2's OpenSBI 1.1 implements SBI 1.0 and has no DBCN (SBI 2.0),
 * ringvisor's ring -1 implements 2.0 with DBCN; their implementation ids
 * differ. The DBCN line reads the same from both: written with DBCN where
 * it is offered, with the legacy putchar otherwise (test/system-baremetal
 * checks that ringvisor took the DBCN path). */
#include "rt/rt.h"

static void result(const char *what, struct sbiret r) { print("%s: error %d value %x\n", what, r.error, (ul)r.value); }
static void error(const char *what, struct sbiret r) { print("%s: error %d\n", what, r.error); }
static long ssip(void) { return (long)((csr_read(sip) >> IRQ_SSI) & 1); }

static const char message[] = "hello from a buffer\n";

static void base(void) {
  struct sbiret r = sbi_call(SBI_EXT_BASE, 0, 0, 0, 0, 0);
  long major = (r.value >> 24) & 0x7f, minor = r.value & 0xffffff;
  print("get_spec_version: error %d, version >= 0.2: %s, >= 1.0: %s\n", r.error, yesno(major > 0 || minor >= 2), yesno(major >= 1));
  static const struct { const char *name; long id; } ext[] = {
    { "BASE", SBI_EXT_BASE }, { "TIME", SBI_EXT_TIME }, { "IPI", SBI_EXT_IPI }, { "RFENCE", SBI_EXT_RFENCE },
    { "HSM", SBI_EXT_HSM }, { "SRST", SBI_EXT_SRST }, { "legacy console_putchar (0x01)", 0x01 },
    { "legacy shutdown (0x08)", 0x08 }, { "bogus 0x12345678", 0x12345678 },
  };
  for (unsigned i = 0; i < sizeof ext / sizeof ext[0]; i++) {
    r = sbi_call(SBI_EXT_BASE, 3, ext[i].id, 0, 0, 0);
    print("probe_extension %s: error %d value %d\n", ext[i].name, r.error, r.value);
  }
  error("BASE function 99 (none)", sbi_call(SBI_EXT_BASE, 99, 0, 0, 0, 0));
  error("extension 0x12345678 (none)", sbi_call(0x12345678, 0, 0, 0, 0, 0));
  error("extension 0x0a000000 (none)", sbi_call(0x0a000000, 0, 0, 0, 0, 0));
}

static void time_ipi_rfence(void) {
  csr_write(sie, 0);
  csr_clear(sstatus, SSTATUS_SIE);
  struct sbiret r = sbi_call(SBI_EXT_TIME, 0, 0, 0, 0, 0);
  print("TIME set_timer(0): error %d, STIP %d\n", r.error, (long)((csr_read(sip) >> IRQ_STI) & 1));
  r = sbi_call(SBI_EXT_TIME, 0, -1L, 0, 0, 0);
  print("TIME set_timer(all ones): error %d, STIP %d\n", r.error, (long)((csr_read(sip) >> IRQ_STI) & 1));
  error("TIME function 1 (none)", sbi_call(SBI_EXT_TIME, 1, 0, 0, 0, 0));

  r = sbi_call(SBI_EXT_IPI, 0, 1, 0, 0, 0);
  print("IPI send_ipi(mask 1, base 0): error %d, SSIP %d\n", r.error, ssip());
  csr_clear(sip, SIP_SSIP);
  r = sbi_call(SBI_EXT_IPI, 0, 0, -1L, 0, 0);
  print("IPI send_ipi(base all ones: every hart): error %d, SSIP %d\n", r.error, ssip());
  csr_clear(sip, SIP_SSIP);
  print("SSIP after csrc sip: %d\n", ssip());

  error("RFENCE remote_fence_i(mask 1, base 0)", sbi_call(SBI_EXT_RFENCE, 0, 1, 0, 0, 0));
  error("RFENCE remote_sfence_vma(mask 1, base 0, everything)", sbi_call(SBI_EXT_RFENCE, 1, 1, 0, 0, -1L));
  error("RFENCE remote_sfence_vma_asid(mask 1, base 0, everything, asid 0)", sbi_call(SBI_EXT_RFENCE, 2, 1, 0, 0, -1L));
}

static void hsm_srst(void) {
  result("HSM hart_get_status(0)", sbi_call(SBI_EXT_HSM, 2, 0, 0, 0, 0));
  error("HSM hart_get_status(1) (no such hart)", sbi_call(SBI_EXT_HSM, 2, 1, 0, 0, 0));
  extern char _start[];
  error("HSM hart_start(0) (already started)", sbi_call(SBI_EXT_HSM, 0, 0, (long)_start, 0, 0));
  error("HSM hart_start(7) (no such hart)", sbi_call(SBI_EXT_HSM, 0, 7, (long)_start, 0, 0));
  error("SRST system_reset(type 5, reason 0) (reserved type)", sbi_call(SBI_EXT_SRST, 0, 5, 0, 0, 0));
  error("SRST system_reset(type 0, reason 2) (reserved reason)", sbi_call(SBI_EXT_SRST, 0, 0, 2, 0, 0));
  error("SRST function 1 (none)", sbi_call(SBI_EXT_SRST, 1, 0, 0, 0, 0));
}

static long legacy(long ext, long a0) {
  register long r0 __asm__("a0") = a0;
  register long r7 __asm__("a7") = ext;
  __asm__ volatile("ecall" : "+r"(r0) : "r"(r7) : "memory", "a1");
  return r0;
}

static void legacy_calls(void) {
  static ul mask = 1;
  print("legacy console_getchar with no input: %d\n", legacy(0x02, 0));
  csr_set(sip, SIP_SSIP);
  long e = legacy(0x03, 0);
  print("legacy clear_ipi: %d, SSIP %d\n", e, ssip());
  e = legacy(0x04, (long)&mask);
  print("legacy send_ipi(&mask 1): %d, SSIP %d\n", e, ssip());
  csr_clear(sip, SIP_SSIP);
  e = legacy(0x00, 0);
  print("legacy set_timer(0): %d, STIP %d\n", e, (long)((csr_read(sip) >> IRQ_STI) & 1));
  legacy(0x00, -1L);
  print("legacy set_timer(all ones): STIP %d\n", (long)((csr_read(sip) >> IRQ_STI) & 1));
}

static void dbcn(void) {
  const char *what = "DBCN console_write (legacy putchar where there is no DBCN): ";
  struct sbiret r = sbi_call(SBI_EXT_BASE, 3, SBI_EXT_DBCN, 0, 0, 0);
  if (r.value != 1) {
    puts_(what);
    puts_(message);
    puts_("DBCN console_write_byte: !\n");
    return;
  }
  puts_(what);
  ul n = sizeof message - 1;
  r = sbi_call(SBI_EXT_DBCN, 0, (long)n, (long)message, 0, 0);
  if (r.error != 0 || (ul)r.value != n) print("(console_write: error %d value %d)\n", r.error, r.value);
  puts_("DBCN console_write_byte: ");
  r = sbi_call(SBI_EXT_DBCN, 2, '!', 0, 0, 0);
  putch('\n');
  if (r.error != 0) print("(console_write_byte: error %d)\n", r.error);
  /* A buffer outside RAM: SBI_ERR_INVALID_PARAM (only where DBCN exists). */
  r = sbi_call(SBI_EXT_DBCN, 0, 4, 0x1000, 0, 0);
  if (r.error != -3) print("(console_write of 0x1000: error %d)\n", r.error);
}

int main(void) {
  start("sbi");
  base();
  time_ipi_rfence();
  hsm_srst();
  legacy_calls();
  dbcn();
  print("== end ==\n");
  return 0;
}
