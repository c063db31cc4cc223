// Synchronous faults caught by the program itself: SIGSEGV, SIGBUS, SIGILL
// and SIGTRAP handlers with SA_SIGINFO, what they are told (si_code, si_addr,
// the pc in the ucontext), returning from a handler that fixed the cause,
// leaving one with siglongjmp, a handler on an alternate signal stack, and the
// cases where the default action still ends the process. One case per run,
// chosen by argv[1]. Addresses differ between runs and VMs: only whether
// si_addr is the expected one is printed, never the address.
//
//   mprotect        store to a read-only page; the handler makes it writable
//                   and returns, and the store completes
//   null            load from address 0, left with siglongjmp (twice: the
//                   signal mask is restored)
//   exec            jump into a page mapped without PROT_EXEC, then into the
//                   same page after mprotect adds it
//   illegal         SIGILL from a 32-bit and a 16-bit illegal instruction;
//                   the handler steps the pc past it
//   ebreak          SIGTRAP from ebreak and c.ebreak (stepped past), and from
//                   __builtin_trap (left with siglongjmp)
//   misaligned-amo  SIGBUS from amoadd.w at an odd address (BUS_ADRALN;
//                   si_addr is the address under qemu-riscv64 and ringvisor,
//                   the pc under Linux 6.1, whose trap handler passes epc)
//   altstack        unbounded recursion; the SIGSEGV handler runs on a
//                   sigaltstack (SA_ONSTACK). Its si_code is not printed:
//                   Linux says SEGV_MAPERR (nothing is mapped below the
//                   stack), qemu-riscv64 SEGV_ACCERR (it maps its guard page
//                   PROT_NONE); ringvisor follows Linux
//   overflow        the same without an alternate stack: no room for the
//                   frame, so the process dies of SIGSEGV (139)
//   unhandled       store to address 0 with no handler (139)
//   blocked         a handler, but SIGSEGV blocked: the fault still kills (139)
//   ignored         SIGSEGV ignored: the fault still kills (139)
//   resethand       SA_RESETHAND: the handler runs once and returns without a
//                   fix; the second fault kills (139)
//   nested          a fault inside the SIGSEGV handler, where SIGSEGV is
//                   blocked (139)
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

// What the last handler saw, printed by main once the handler is done.
static volatile int got_sig, got_code, got_count;
static volatile uintptr_t got_addr, got_pc;
static volatile int got_on_alt, got_ss_flags;
static sigjmp_buf escape;
static volatile int escape_by_jump;

static char *page;
static long page_size;
static char *alt;
static size_t alt_size;

static void record(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  char here;
  got_sig = sig;
  got_code = si->si_code;
  got_addr = (uintptr_t)si->si_addr;
  got_pc = uc->uc_mcontext.__gregs[REG_PC];
  got_on_alt = alt && &here >= alt && &here < alt + alt_size;
  stack_t ss;
  sigaltstack(NULL, &ss);
  got_ss_flags = ss.ss_flags;
  got_count++;
}

// Makes the page writable again: the store that faulted is retried on return.
static void unprotect(int sig, siginfo_t *si, void *ctx) {
  record(sig, si, ctx);
  mprotect(page, page_size, PROT_READ | PROT_WRITE);
}

// Steps over the faulting instruction (2 or 4 bytes, from its low bits).
static void step_over(int sig, siginfo_t *si, void *ctx) {
  record(sig, si, ctx);
  ucontext_t *uc = ctx;
  uint16_t low = *(uint16_t *)uc->uc_mcontext.__gregs[REG_PC];
  uc->uc_mcontext.__gregs[REG_PC] += (low & 3) == 3 ? 4 : 2;
}

static void jump_out(int sig, siginfo_t *si, void *ctx) {
  record(sig, si, ctx);
  siglongjmp(escape, 1);
}

// Where the handler of `nested` stores (a variable, so that the compiler
// does not see the null pointer).
static int *volatile null_page;

static void say(const char *s) { write(1, s, strlen(s)); }

static void returns(int sig, siginfo_t *si, void *ctx) {
  record(sig, si, ctx);
  say("handler ran and returns without fixing anything\n");
}

static void faults_again(int sig, siginfo_t *si, void *ctx) {
  record(sig, si, ctx);
  say("handler ran; now it faults itself\n");
  *null_page = 1;
}

static void on(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) { perror("sigaction"); exit(1); }
}

static void report(const char *what, uintptr_t expect_addr, uintptr_t expect_pc) {
  printf("%s: signal %d (%s), si_code %d, si_addr %s, pc %s, handler runs %d\n", what, got_sig,
         got_sig ? strsignal(got_sig) : "none", got_code,
         got_addr == expect_addr ? "as expected" : got_addr == got_pc ? "is the pc (unexpected)" : "unexpected",
         expect_pc == 0 ? "not checked" : got_pc == expect_pc ? "as expected" : "unexpected", got_count);
  got_sig = got_code = 0;
  got_addr = got_pc = 0;
}

static int blocked_now(int sig) {
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  return sigismember(&cur, sig);
}

static void case_mprotect(void) {
  page = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy(page, "before");
  mprotect(page, page_size, PROT_READ);
  on(SIGSEGV, unprotect, 0);
  volatile char *target = page + 100;
  *target = 'x';
  report("store to a read-only page", (uintptr_t)(page + 100), 0);
  printf("the store completed: %s; page[0..6] = \"%s\"; SIGSEGV blocked after return: %s\n",
         page[100] == 'x' ? "yes" : "no", page, blocked_now(SIGSEGV) ? "yes" : "no");
  // Once more, at another offset: the handler is still installed.
  mprotect(page, page_size, PROT_READ);
  ((volatile uint64_t *)page)[3] = 0x1122334455667788ull;
  report("again, an 8-byte store", (uintptr_t)(page + 24), 0);
  printf("value stored: %s\n", ((uint64_t *)page)[3] == 0x1122334455667788ull ? "yes" : "no");
}

static void case_null(void) {
  on(SIGSEGV, jump_out, 0);
  for (int round = 1; round <= 2; round++) {
    if (sigsetjmp(escape, 1) == 0) {
      volatile int v = *(volatile int *)0;
      printf("the load returned %d (unexpected)\n", v);
    } else {
      report(round == 1 ? "load from address 0" : "and again", 0, 0);
      printf("SIGSEGV blocked after siglongjmp: %s\n", blocked_now(SIGSEGV) ? "yes" : "no");
    }
  }
  // A store one page above 0, also never mapped.
  if (sigsetjmp(escape, 1) == 0) *(volatile long *)4096 = 1;
  else report("store to address 4096", 4096, 0);
}

static void case_exec(void) {
  on(SIGSEGV, jump_out, 0);
  uint32_t *code = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  code[0] = 0x02a00513;  // li a0, 42
  code[1] = 0x00008067;  // ret
  int (*fn)(void) = (int (*)(void))code;
  if (sigsetjmp(escape, 1) == 0) printf("returned %d (unexpected)\n", fn());
  else report("jump into a page without PROT_EXEC", (uintptr_t)code, (uintptr_t)code);
  mprotect(code, page_size, PROT_READ | PROT_EXEC);
  __builtin___clear_cache((char *)code, (char *)code + 8);
  if (sigsetjmp(escape, 1) == 0) printf("after mprotect(PROT_READ | PROT_EXEC) it returns %d\n", fn());
  else report("still faults (unexpected)", 0, 0);
  // And a store into it now faults.
  if (sigsetjmp(escape, 1) == 0) code[2] = 0;
  else report("store into the executable page", (uintptr_t)&code[2], 0);
}

static void case_illegal(void) {
  on(SIGILL, step_over, 0);
  uintptr_t at;
  __asm__ volatile(".option push\n.option norvc\nlla %0, 1f\n1: unimp\n.option pop" : "=&r"(at) :: "memory");
  report("unimp (csrrw x0, cycle, x0)", at, at);
  __asm__ volatile("lla %0, 1f\n1: .2byte 0" : "=&r"(at) :: "memory");
  report("the 16-bit all-zero instruction", at, at);
  __asm__ volatile("lla %0, 1f\n1: csrr t0, sstatus" : "=&r"(at) :: "t0", "memory");
  report("csrr sstatus from user mode", at, at);
  // Registers and FP state come back intact after the handler returns.
  volatile double d = 1.25;
  long before = 12345;
  register long keep __asm__("s3") = before;
  __asm__ volatile(".option push\n.option norvc\nunimp\n.option pop" : "+r"(keep) :: "memory");
  printf("s3 kept: %s, d * 2 = %g, handler runs %d\n", keep == before ? "yes" : "no", d * 2, got_count);
}

static void case_ebreak(void) {
  on(SIGTRAP, step_over, 0);
  uintptr_t at;
  __asm__ volatile(".option push\n.option norvc\nlla %0, 1f\n1: ebreak\n.option pop" : "=&r"(at) :: "memory");
  report("ebreak", at, at);
  __asm__ volatile("lla %0, 1f\n1: c.ebreak" : "=&r"(at) :: "memory");
  report("c.ebreak", at, at);
  on(SIGTRAP, jump_out, 0);
  if (sigsetjmp(escape, 1) == 0) __builtin_trap();
  report("__builtin_trap", got_pc, 0);
}

static uint32_t words[4] __attribute__((aligned(16)));

static void case_misaligned_amo(void) {
  on(SIGBUS, jump_out, 0);
  on(SIGSEGV, jump_out, 0);
  char *odd = (char *)words + 1;
  uintptr_t at = 0;
  if (sigsetjmp(escape, 1) == 0) {
    uint32_t old;
    __asm__ volatile("lla %0, 1f\n1: amoadd.w %1, %2, (%3)" : "=&r"(at), "=&r"(old) : "r"(1u), "r"(odd) : "memory");
    printf("amoadd.w at an odd address completed, old value %u\n", old);
  } else {
    printf("amoadd.w at an odd address: signal %d (%s), si_code %d, si_addr is %s\n", got_sig, strsignal(got_sig),
           got_code, got_addr == (uintptr_t)odd ? "the address" : got_addr == got_pc ? "the pc" : "neither");
  }
  printf("words after: %u %u\n", words[0], words[1]);
}

static int depth;

// Recursion without end is the point.
#pragma GCC diagnostic ignored "-Winfinite-recursion"

static int recurse(int n) {
  volatile char pad[200];
  pad[0] = (char)n;
  depth = n;
  return recurse(n + 1) + pad[0];
}

static void case_altstack(void) {
  alt_size = 64 * 1024;
  alt = malloc(alt_size);
  stack_t ss = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) { perror("sigaltstack"); exit(1); }
  on(SIGSEGV, jump_out, SA_ONSTACK);
  for (int round = 1; round <= 2; round++) {
    if (sigsetjmp(escape, 1) == 0) {
      recurse(0);
    } else {
      printf("stack overflow %d: signal %d (%s), handler on the alternate stack: %s, sigaltstack says %s\n", round,
             got_sig, strsignal(got_sig), got_on_alt ? "yes" : "no",
             got_ss_flags == SS_ONSTACK ? "SS_ONSTACK" : got_ss_flags == 0 ? "0" : "something else");
      stack_t now;
      sigaltstack(NULL, &now);
      printf("after siglongjmp: ss_flags %d, SIGSEGV blocked: %s\n", now.ss_flags, blocked_now(SIGSEGV) ? "yes" : "no");
    }
  }
  printf("deep enough: %s\n", depth > 1000 ? "yes" : "no");
}

static void case_overflow(void) {
  on(SIGSEGV, jump_out, 0);
  if (sigsetjmp(escape, 1) == 0) recurse(0);
  printf("the handler ran (unexpected)\n");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  page_size = sysconf(_SC_PAGESIZE);
  const char *kind = argc > 1 ? argv[1] : "";
  if (!strcmp(kind, "mprotect")) case_mprotect();
  else if (!strcmp(kind, "null")) case_null();
  else if (!strcmp(kind, "exec")) case_exec();
  else if (!strcmp(kind, "illegal")) case_illegal();
  else if (!strcmp(kind, "ebreak")) case_ebreak();
  else if (!strcmp(kind, "misaligned-amo")) case_misaligned_amo();
  else if (!strcmp(kind, "altstack")) case_altstack();
  else if (!strcmp(kind, "overflow")) {
    printf("recursing without an alternate stack\n");
    case_overflow();
  } else if (!strcmp(kind, "unhandled")) {
    printf("store to address 0, no handler\n");
    *(volatile int *)0 = 1;
  } else if (!strcmp(kind, "blocked")) {
    on(SIGSEGV, jump_out, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("store to address 0, SIGSEGV blocked\n");
    if (sigsetjmp(escape, 1) == 0) *(volatile int *)0 = 1;
    printf("the handler ran (unexpected)\n");
  } else if (!strcmp(kind, "ignored")) {
    signal(SIGSEGV, SIG_IGN);
    printf("store to address 0, SIGSEGV ignored\n");
    *(volatile int *)0 = 1;
    printf("the store was skipped (unexpected)\n");
  } else if (!strcmp(kind, "resethand")) {
    on(SIGSEGV, returns, SA_RESETHAND);
    printf("store to address 0, SA_RESETHAND handler\n");
    *(volatile int *)0 = 1;
    printf("the store completed (unexpected)\n");
  } else if (!strcmp(kind, "nested")) {
    on(SIGSEGV, faults_again, 0);
    printf("store to address 0, handler faults too\n");
    *(volatile int *)0 = 1;
    printf("survived (unexpected)\n");
  } else {
    fprintf(stderr, "usage: signals-fault CASE (see the source)\n");
    return 2;
  }
  return 0;
}
