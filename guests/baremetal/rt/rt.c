/* The runtime of the bare-metal S-mode programs: see rt.h. */
#include <stdarg.h>
#include "rt.h"

struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2, long a3) {
  register long r0 __asm__("a0") = a0;
  register long r1 __asm__("a1") = a1;
  register long r2 __asm__("a2") = a2;
  register long r3 __asm__("a3") = a3;
  register long r6 __asm__("a6") = fid;
  register long r7 __asm__("a7") = ext;
  __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r3), "r"(r6), "r"(r7) : "memory");
  return (struct sbiret){ r0, r1 };
}

void sbi_set_timer(ul when) { sbi_call(SBI_EXT_TIME, 0, (long)when, 0, 0, 0); }

void putch(int c) {
  register long r0 __asm__("a0") = c;
  register long r7 __asm__("a7") = 1; /* legacy console_putchar */
  __asm__ volatile("ecall" : "+r"(r0) : "r"(r7) : "memory", "a1");
}

void shutdown(void) {
  sbi_call(SBI_EXT_SRST, 0, 0, 0, 0, 0); /* system_reset(shutdown, no reason) */
  register long r7 __asm__("a7") = 8;    /* legacy shutdown, should SRST be missing */
  __asm__ volatile("ecall" :: "r"(r7) : "memory", "a0", "a1");
  for (;;) __asm__ volatile("wfi");
}

void puts_(const char *s) { while (*s) putch(*s++); }

static void print_hex(ul v) {
  char buf[17];
  int n = 0;
  do { buf[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
  while (n) putch(buf[--n]);
}

static void print_dec(long v) {
  char buf[21];
  int n = 0;
  ul u = v < 0 ? -(ul)v : (ul)v;
  if (v < 0) putch('-');
  do { buf[n++] = '0' + u % 10; u /= 10; } while (u);
  while (n) putch(buf[--n]);
}

void print(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (; *fmt; fmt++) {
    if (*fmt != '%') { putch(*fmt); continue; }
    switch (*++fmt) {
      case 's': puts_(va_arg(ap, const char *)); break;
      case 'd': print_dec(va_arg(ap, long)); break;
      case 'x': putch('0'); putch('x'); print_hex(va_arg(ap, ul)); break;
      case 'c': putch(va_arg(ap, int)); break;
      case '%': putch('%'); break;
      case 0: va_end(ap); return;
    }
  }
  va_end(ap);
}

void start(const char *name) { print("== %s ==\n", name); }

const char *yesno(int v) { return v ? "yes" : "no"; }

/* ---- traps ---- */
volatile struct trap last;
volatile int ntraps;
volatile ul resume_at;
volatile struct irq irq_log[IRQ_LOG];
volatile int nirqs;
void (*on_interrupt)(ul code);

extern char user_return[];
extern long run_user_asm(user_fn fn, long arg, ul sp);

void clear_traps(void) {
  ntraps = 0;
  nirqs = 0;
  last.cause = last.tval = last.epc = last.status = 0;
  last.vector = -2;
}

/* The length of the instruction at `pc`, read with SUM and MXR on (it may
 * sit in a U page or an execute-only page). */
static ul insn_length(ul pc) {
  ul old = csr_read(sstatus) & (SSTATUS_SUM | SSTATUS_MXR);
  csr_set(sstatus, SSTATUS_SUM | SSTATUS_MXR);
  u16 parcel = *(volatile u16 *)pc;
  csr_clear(sstatus, (SSTATUS_SUM | SSTATUS_MXR) & ~old);
  return (parcel & 3) == 3 ? 4 : 2;
}

void trap_handler(struct frame *f) {
  ul cause = csr_read(scause), epc = csr_read(sepc), status = csr_read(sstatus);
  if (cause & CAUSE_INTERRUPT) {
    ul code = cause & ~CAUSE_INTERRUPT;
    if (nirqs < IRQ_LOG) {
      volatile struct irq *i = &irq_log[nirqs];
      i->code = code; i->epc = epc; i->spp = (status & SSTATUS_SPP) != 0; i->vector = f->vector;
    }
    nirqs++;
    if (on_interrupt) on_interrupt(code);
    else { print("unexpected interrupt %x at %x\n", code, epc); shutdown(); }
    return;
  }
  if (cause == 8 && f->a7 == USER_EXIT) {
    /* Back to S-mode, where run_user_asm left off. */
    csr_write(sepc, user_return);
    csr_set(sstatus, SSTATUS_SPP);
    return;
  }
  last.cause = cause;
  last.tval = csr_read(stval);
  last.epc = epc;
  last.status = status;
  last.vector = f->vector;
  ntraps++;
  if (ntraps > 100) { print("trap loop: cause %x at %x\n", cause, epc); shutdown(); }
  if (resume_at) { csr_write(sepc, resume_at); resume_at = 0; }
  else if (cause == 1 || cause == 12) csr_write(sepc, f->ra); /* a fetch: back to the caller */
  else csr_write(sepc, epc + insn_length(epc));
}

void print_trap(const char *what, ul epc_expected, int show_tval) {
  print("%s: ", what);
  if (ntraps == 0) { print("no trap\n"); return; }
  print("scause %x", last.cause);
  if (show_tval) print(" stval %x", last.tval);
  if (epc_expected) print(" sepc %s", last.epc == epc_expected ? "ok" : "wrong");
  if (ntraps != 1) print(" (%d traps)", (long)ntraps);
  print("\n");
}

/* ---- U-mode ---- */
long run_user(user_fn fn, long arg) {
  ul sie = csr_read(sstatus) & SSTATUS_SIE;
  csr_clear(sstatus, SSTATUS_SIE);
  long r = run_user_asm(fn, arg, (ul)user_stack_top);
  csr_set(sstatus, sie);
  return r;
}
