/* entry: the state the firmware hands a kernel, on the boot hart (from
 * _start, saved before the runtime changes anything), on a hart started
 * with SBI HSM hart_start, and after a default non-retentive hart_suspend:
 * a0/a1, sstatus's fields, sie, sip, stvec, sscratch, satp, scounteren,
 * senvcfg, stimecmp (against time), fcsr, scause/sepc/stval; then whether U-mode may read the
 * counters with scounteren as the firmware left it (a Linux without a perf
 * driver never writes scounteren, and its vDSO reads `time` from U-mode).
 * Runs with two harts (QEMU: -smp 2). Under OpenSBI the boot hart is
 * whichever wins its lottery, so hart ids are printed relative to it. */
#include "rt/rt.h"
#include "rt/user.h"

__asm__(".globl secondary_entry\n"
        "secondary_entry:\n"
        "  la t0, secondary_state\n"
        "  jal t1, save_entry_state\n"
        "  la sp, secondary_stack_top\n"
        "  tail secondary_main\n"
        ".globl resume_entry\n"
        "resume_entry:\n"
        "  la t0, resume_state\n"
        "  jal t1, save_entry_state\n"
        "  la sp, resume_stack_top\n"
        "  tail resumed\n");
extern char secondary_entry[], resume_entry[], _start[];
char secondary_stack[4096] __attribute__((aligned(16)));
char resume_stack[4096] __attribute__((aligned(16)));
__asm__(".set secondary_stack_top, secondary_stack + 4096\n"
        ".set resume_stack_top, resume_stack + 4096");
struct entry_state secondary_state, resume_state;
static volatile int secondary_done;
static ul boot_hart;

#define OPAQUE_START 0x5a5a1234UL
#define OPAQUE_RESUME 0xc0ffee00UL
#define FDT_MAGIC_LE 0xedfe0dd0U /* 0xd00dfeed, big-endian */

static void print_state(const char *who, const struct entry_state *s, const char *a0_is, const char *a1_is, ul entry) {
  ul st = s->sstatus;
  print("%s:\n", who);
  print("  a0 %s, a1 %s\n", a0_is, a1_is);
  print("  sstatus: SIE %d SPIE %d SPP %d FS %d SUM %d MXR %d UXL %d SD %d\n",
        (long)((st >> 1) & 1), (long)((st >> 5) & 1), (long)((st >> 8) & 1), (long)((st >> 13) & 3),
        (long)((st >> 18) & 1), (long)((st >> 19) & 1), (long)((st >> 32) & 3), (long)(st >> 63));
  print("  sie %x, sip.SSIP %d, sip.SEIP %d\n", s->sie, (long)((s->sip >> IRQ_SSI) & 1), (long)((s->sip >> IRQ_SEI) & 1));
  /* Sstc: STIP is time >= stimecmp. */
  const char *cmp = s->stimecmp == ~0UL ? "all ones" : s->stimecmp == 0 ? "0" : s->stimecmp <= s->time ? "reached" : "in the future";
  print("  timer: sip.STIP %d, stimecmp %s\n", (long)((s->sip >> IRQ_STI) & 1), cmp);
  if (s->stvec == entry) print("  stvec: the entry address\n");
  else print("  stvec %x\n", s->stvec);
  print("  sscratch %x, satp %x, scounteren %x, senvcfg %x\n", s->sscratch, s->satp, s->scounteren, s->senvcfg);
  if ((st >> 13) & 3) print("  fcsr %x\n", s->fcsr);
  print("  scause %x, sepc %x, stval %x\n", s->scause, s->sepc, s->stval);
}

void secondary_main(ul hartid, ul opaque) {
  (void)hartid; (void)opaque;
  __asm__ volatile("fence rw, rw" ::: "memory");
  secondary_done = 1;
  sbi_call(SBI_EXT_HSM, 1, 0, 0, 0, 0); /* hart_stop */
  for (;;) __asm__ volatile("wfi");
}

void resumed(ul hartid, ul opaque) {
  (void)hartid; (void)opaque;
  print_state("after a default non-retentive hart_suspend", &resume_state,
              resume_state.a0 == boot_hart ? "the hart's id" : "wrong",
              resume_state.a1 == OPAQUE_RESUME ? "the opaque value" : "wrong", (ul)resume_entry);
  print("== end ==\n");
  shutdown();
}

int main(void) {
  start("entry");
  const struct entry_state *b = &entry_state;
  boot_hart = b->a0;
  int dtb = b->a1 >= 0x80000000UL && *(volatile u32 *)b->a1 == FDT_MAGIC_LE;
  print_state("boot hart", b, b->a0 < 2 ? "a hart id" : "wrong", dtb ? "a device tree" : "wrong", (ul)_start);

  /* The counters from U-mode, scounteren as the firmware left it. */
  static const struct { const char *name; long (*fn)(long); } c[] = {
    { "rdcycle", u_rdcycle }, { "rdtime", u_rdtime }, { "rdinstret", u_rdinstret },
  };
  for (int i = 0; i < 3; i++) {
    clear_traps();
    run_user(c[i].fn, 0);
    print("U-mode %s, scounteren as at entry: %s\n", c[i].name, ntraps ? "trap" : "reads");
  }

  ul other = boot_hart ^ 1;
  struct sbiret r = sbi_call(SBI_EXT_HSM, 0, (long)other, (long)secondary_entry, (long)OPAQUE_START, 0);
  print("hart_start(the other hart): error %d\n", r.error);
  ul until = rdtime() + 10000000; /* 1 s */
  while (!secondary_done && rdtime() < until) {}
  while (sbi_call(SBI_EXT_HSM, 2, (long)other, 0, 0, 0).value != 1 && rdtime() < until) {}
  if (!secondary_done) print("the other hart never ran\n");
  else print_state("hart started by hart_start", &secondary_state,
                   secondary_state.a0 == other ? "the hart's id" : "wrong",
                   secondary_state.a1 == OPAQUE_START ? "the opaque value" : "wrong", (ul)secondary_entry);

  /* Non-retentive suspend, woken by the timer; sstatus.SIE off and the
   * FP unit on, to see what the firmware resets. */
  csr_clear(sstatus, SSTATUS_SIE);
  csr_set(sstatus, 1UL << 13); /* FS Initial */
  csr_write(sscratch, 0x1234);
  csr_write(sie, 1UL << IRQ_STI);
  csr_write(CSR_STIMECMP, rdtime() + 2000);
  r = sbi_call(SBI_EXT_HSM, 3, 0x80000000UL, (long)resume_entry, (long)OPAQUE_RESUME, 0);
  print("hart_suspend(default non-retentive) returned: error %d\n", r.error);
  print("== end ==\n");
  return 0;
}
