/* interrupts: S-level interrupts with stvec in vectored mode. The timer
 * through stimecmp (Sstc) and through SBI set_timer, software interrupts
 * through SBI send_ipi to this hart and through sip.SSIP, an external
 * interrupt (the UART's THR-empty interrupt through the PLIC), their
 * priorities, wfi with SIE off, interrupts in U-mode whatever SIE says, and
 * sie masking. Nothing time-dependent is printed: only what was taken, in
 * which order, where. */
#include "rt/rt.h"
#include "rt/user.h"

#define LABEL(name) ".globl " #name "\n" #name ":\n"

/* The virt board's PLIC and UART (16550A, irq 10). */
#define PLIC 0x0c000000UL
#define PLIC_PRIORITY(s) (PLIC + 4 * (s))
#define PLIC_ENABLE(c) (PLIC + 0x2000 + 0x80 * (c))
#define PLIC_THRESHOLD(c) (PLIC + 0x200000 + 0x1000 * (c))
#define PLIC_CLAIM(c) (PLIC + 0x200004 + 0x1000 * (c))
#define PLIC_S_CONTEXT 1 /* hart 0, S-mode */
#define UART 0x10000000UL
#define UART_IRQ 10
#define UART_IER 1
#define UART_IIR 2

static inline void mmio_write32(ul addr, u32 v) { *(volatile u32 *)addr = v; }
static inline u32 mmio_read32(ul addr) { return *(volatile u32 *)addr; }
static inline void mmio_write8(ul addr, u8 v) { *(volatile u8 *)addr = v; }
static inline u8 mmio_read8(ul addr) { return *(volatile u8 *)addr; }

static volatile int flag;
static volatile int timer_via_sbi;
static volatile u32 claimed, iir;

static void handler(ul code) {
  switch (code) {
    case IRQ_SSI: csr_clear(sip, SIP_SSIP); break;
    case IRQ_STI:
      if (timer_via_sbi) sbi_set_timer(-1UL); else csr_write(CSR_STIMECMP, -1UL);
      break;
    case IRQ_SEI: {
      u32 id = mmio_read32(PLIC_CLAIM(PLIC_S_CONTEXT));
      claimed = id;
      if (id == UART_IRQ) {
        iir = mmio_read8(UART + UART_IIR); /* reading IIR clears THR-empty */
        mmio_write8(UART + UART_IER, 0);
      }
      mmio_write32(PLIC_CLAIM(PLIC_S_CONTEXT), id);
      break;
    }
    default:
      print("unexpected interrupt %x\n", code);
      shutdown();
  }
  flag = 1;
}

static const char *name(ul code) {
  return code == IRQ_SSI ? "SSI" : code == IRQ_STI ? "STI" : code == IRQ_SEI ? "SEI" : "other";
}

static void reset(void) {
  csr_clear(sstatus, SSTATUS_SIE);
  csr_write(sie, 0);
  csr_clear(sip, SIP_SSIP);
  csr_write(CSR_STIMECMP, -1UL);
  timer_via_sbi = 0;
  flag = 0;
  clear_traps();
}

/* Waits for `flag` with wfi, without the race between testing it and
 * sleeping: SIE is off around the wfi (which still wakes on a pending
 * interrupt enabled in sie), and the interrupt is taken once it is on. */
static void wait_flag(void) {
  csr_clear(sstatus, SSTATUS_SIE);
  while (!flag) {
    __asm__ volatile("wfi");
    csr_set(sstatus, SSTATUS_SIE);
    csr_clear(sstatus, SSTATUS_SIE);
  }
}

/* One line: the interrupts taken, in order, with their vector and mode. */
static void report(const char *what, ul epc_expected) {
  print("%s:", what);
  if (nirqs == 0) print(" none");
  for (int i = 0; i < nirqs && i < IRQ_LOG; i++) {
    volatile struct irq *q = &irq_log[i];
    print(" %s (vector %d, from %s)", name(q->code), q->vector, q->spp ? "S" : "U");
  }
  if (epc_expected) {
    int ok = nirqs > 0;
    for (int i = 0; i < nirqs && i < IRQ_LOG; i++) ok &= irq_log[i].epc == epc_expected;
    print(", sepc %s", ok ? "ok" : "wrong");
  }
  if (ntraps) print(", and %d exceptions", (long)ntraps);
  print("\n");
}

extern char at_vec_ill[], at_ssip_write[], at_ipi_enable[], at_prio_enable[], at_prio3_enable[], at_stimecmp0[];
extern char at_sie_unmask[], at_stie_unmask[];

static void check_vectored(void) {
  csr_write(stvec, (ul)trap_vectors | 1);
  print("stvec vectored mode: %s\n", csr_read(stvec) == ((ul)trap_vectors | 1) ? "ok" : "wrong");
  clear_traps();
  /* An ebreak: QEMU delivers it to S itself (medeleg). An exception that
   * OpenSBI 1.1 redirects to S (an illegal instruction) would not come
   * back under QEMU 7.2 in vectored mode: OpenSBI sets mepc = stvec, mode
   * bit included, and QEMU 7.2 keeps mepc[0], so mret goes to BASE + 1. */
  __asm__ volatile(".option push\n.option norvc\n" LABEL(at_vec_ill) "ebreak\n.option pop" ::: "memory");
  print("an exception in vectored mode: scause %x, taken at BASE (vector %d), sepc %s\n", last.cause, last.vector,
        last.epc == (ul)at_vec_ill ? "ok" : "wrong");
}

static void check_sie_sip_bits(void) {
  reset();
  csr_write(sie, -1UL);
  print("sie after writing all ones: %x\n", csr_read(sie));
  csr_write(sie, 0);
  csr_write(sip, -1UL);
  print("sip after writing all ones (only SSIP is writable): %x\n", csr_read(sip));
  csr_write(sip, 0);
  print("sip after writing 0: %x\n", csr_read(sip));
}

static void check_stimecmp(void) {
  reset();
  csr_write(CSR_STIMECMP, 0);
  print("sip.STIP with stimecmp 0 (in the past): %d\n", (long)((csr_read(sip) >> IRQ_STI) & 1));
  csr_write(CSR_STIMECMP, -1UL);
  print("sip.STIP with stimecmp all ones: %d\n", (long)((csr_read(sip) >> IRQ_STI) & 1));
  csr_write(CSR_STIMECMP, rdtime() + 1000000000UL);
  print("sip.STIP with stimecmp far ahead: %d\n", (long)((csr_read(sip) >> IRQ_STI) & 1));

  reset();
  csr_write(sie, SIE_STIE);
  csr_write(CSR_STIMECMP, rdtime() + 2000);
  wait_flag();
  report("stimecmp 200 us ahead, wfi", 0);
  print("  scause of the last: %x, STIP now: %d\n", csr_read(scause), (long)((csr_read(sip) >> IRQ_STI) & 1));

  /* A deadline already passed, with the interrupt enabled: taken right after the write. */
  reset();
  csr_write(sie, SIE_STIE);
  csr_set(sstatus, SSTATUS_SIE);
  __asm__ volatile("csrw 0x14d, zero\n" LABEL(at_stimecmp0) "nop" ::: "memory");
  csr_clear(sstatus, SSTATUS_SIE);
  report("stimecmp written 0 with STIE and SIE on", (ul)at_stimecmp0);
}

static void check_sbi_timer(void) {
  reset();
  timer_via_sbi = 1;
  sbi_set_timer(0);
  print("sip.STIP after SBI set_timer(0): %d\n", (long)((csr_read(sip) >> IRQ_STI) & 1));
  sbi_set_timer(-1UL);
  print("sip.STIP after SBI set_timer(all ones): %d\n", (long)((csr_read(sip) >> IRQ_STI) & 1));
  csr_write(sie, SIE_STIE);
  sbi_set_timer(rdtime() + 2000);
  wait_flag();
  report("SBI set_timer 200 us ahead, wfi", 0);
}

static void check_software(void) {
  /* SBI send_ipi to this hart, SIE off: SSIP pends; taken once SIE is on. */
  reset();
  csr_write(sie, SIE_SSIE);
  struct sbiret r = sbi_call(SBI_EXT_IPI, 0, 1, 0, 0, 0);
  print("SBI send_ipi(mask 1, base 0): error %d\n", r.error);
  print("sip.SSIP after it, SIE off: %d, taken: %d\n", (long)((csr_read(sip) >> IRQ_SSI) & 1), (long)nirqs);
  __asm__ volatile("csrs sstatus, 2\n" LABEL(at_ipi_enable) "nop" ::: "memory");
  csr_clear(sstatus, SSTATUS_SIE);
  report("then SIE on", (ul)at_ipi_enable);
  print("sip.SSIP after the handler cleared it: %d\n", (long)((csr_read(sip) >> IRQ_SSI) & 1));

  /* A write to sip.SSIP with SSIE and SIE on: taken right after it. */
  reset();
  csr_write(sie, SIE_SSIE);
  csr_set(sstatus, SSTATUS_SIE);
  __asm__ volatile("csrs sip, 2\n" LABEL(at_ssip_write) "nop" ::: "memory");
  csr_clear(sstatus, SSTATUS_SIE);
  report("csrs sip.SSIP with SSIE and SIE on", (ul)at_ssip_write);
}

/* The UART's THR-empty interrupt through the PLIC: SEIP. */
static void uart_interrupt_on(void) {
  mmio_write32(PLIC_PRIORITY(UART_IRQ), 1);
  mmio_write32(PLIC_THRESHOLD(PLIC_S_CONTEXT), 0);
  mmio_write32(PLIC_ENABLE(PLIC_S_CONTEXT), 1u << UART_IRQ);
  mmio_write8(UART + UART_IER, 0x02); /* ETBEI: THR is empty, so it fires */
}

static void check_external(void) {
  reset();
  claimed = iir = 0;
  uart_interrupt_on();
  print("sip.SEIP after enabling the UART's THR-empty interrupt in the PLIC: %d\n", (long)((csr_read(sip) >> IRQ_SEI) & 1));
  csr_write(sie, SIE_SEIE);
  wait_flag();
  report("then SEIE and SIE on", 0);
  print("  claimed source %d, UART IIR interrupt id %x, SEIP now %d\n", (long)claimed, (ul)(iir & 0xf), (long)((csr_read(sip) >> IRQ_SEI) & 1));
  mmio_write32(PLIC_ENABLE(PLIC_S_CONTEXT), 0);
}

static void check_priorities(void) {
  /* SSI and STI pending together, then SIE on: SSI first (it has priority), then STI. */
  reset();
  csr_set(sip, SIP_SSIP);
  csr_write(CSR_STIMECMP, 0);
  csr_write(sie, SIE_SSIE | SIE_STIE);
  __asm__ volatile("csrs sstatus, 2\n" LABEL(at_prio_enable) "nop" ::: "memory");
  csr_clear(sstatus, SSTATUS_SIE);
  report("SSIP and STIP pending, then SIE on", (ul)at_prio_enable);

  /* All three: SEI, SSI, STI. */
  reset();
  claimed = iir = 0;
  uart_interrupt_on();
  csr_set(sip, SIP_SSIP);
  csr_write(CSR_STIMECMP, 0);
  csr_write(sie, SIE_SSIE | SIE_STIE | SIE_SEIE);
  /* SEIP may need the PLIC's update to arrive: wait for it with SIE off. */
  while (!(csr_read(sip) & SIP_SEIP)) __asm__ volatile("wfi");
  __asm__ volatile("csrs sstatus, 2\n" LABEL(at_prio3_enable) "nop" ::: "memory");
  csr_clear(sstatus, SSTATUS_SIE);
  report("SEIP, SSIP and STIP pending, then SIE on", (ul)at_prio3_enable);
  mmio_write32(PLIC_ENABLE(PLIC_S_CONTEXT), 0);
}

static void check_wfi(void) {
  reset();
  csr_write(sie, SIE_SSIE);
  csr_set(sip, SIP_SSIP);
  __asm__ volatile("wfi");
  print("wfi with SSIP pending and enabled, SIE off: returned, interrupts taken: %d\n", (long)nirqs);
  reset();
  csr_write(sie, SIE_STIE);
  csr_write(CSR_STIMECMP, rdtime() + 2000);
  while (!(csr_read(sip) & SIP_STIP)) __asm__ volatile("wfi");
  print("wfi until the timer, SIE off: STIP %d, interrupts taken: %d\n", (long)((csr_read(sip) >> IRQ_STI) & 1), (long)nirqs);
  reset();
}

static void check_user(void) {
  /* SSIP pending (SIE off in S); U-mode runs with SIE 0: taken at once, in U. */
  reset();
  csr_write(sie, SIE_SSIE);
  csr_set(sip, SIP_SSIP);
  long r = run_user(u_return, 5);
  report("SSIP pending, then U-mode with SIE 0", (ul)u_return);
  print("  U-mode then returned %d\n", r);

  /* The timer while U-mode spins on a flag the handler sets. */
  reset();
  csr_write(sie, SIE_STIE);
  csr_write(CSR_STIMECMP, rdtime() + 2000);
  r = run_user(u_spin, (long)&flag);
  report("timer while U-mode (SIE 0) spins", 0);
  print("  U-mode saw the flag and returned: %s\n", yesno(r == (long)&flag));
  reset();
}

static void check_masking(void) {
  reset();
  csr_set(sstatus, SSTATUS_SIE);
  csr_set(sip, SIP_SSIP);
  print("SSIP pending with SIE on and sie 0: taken %d, SSIP %d\n", (long)nirqs, (long)((csr_read(sip) >> IRQ_SSI) & 1));
  __asm__ volatile("csrs sie, 2\n" LABEL(at_sie_unmask) "nop" ::: "memory");
  report("then sie.SSIE on", (ul)at_sie_unmask);
  csr_write(sie, SIE_SSIE);
  clear_traps();
  csr_write(CSR_STIMECMP, 0);
  print("STIP pending with SIE on and only SSIE in sie: taken %d, STIP %d\n", (long)nirqs, (long)((csr_read(sip) >> IRQ_STI) & 1));
  __asm__ volatile("csrs sie, %0\n" LABEL(at_stie_unmask) "nop" :: "r"(SIE_STIE) : "memory");
  csr_clear(sstatus, SSTATUS_SIE);
  report("then sie.STIE on", (ul)at_stie_unmask);
  reset();
}

int main(void) {
  start("interrupts");
  on_interrupt = handler;
  check_vectored();
  check_sie_sip_bits();
  check_stimecmp();
  check_sbi_timer();
  check_software();
  check_external();
  check_priorities();
  check_wfi();
  check_user();
  check_masking();
  print("== end ==\n");
  return 0;
}
