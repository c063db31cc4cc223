/* traps: synchronous exceptions into S-mode, stvec in direct mode.
 * Illegal instructions, breakpoints, ecall from U-mode, misaligned and
 * faulting accesses, sstatus around a trap and sret, privileged instructions
 * and CSRs from U-mode, scounteren. Each check prints one line. */
#include "rt/rt.h"
#include "rt/user.h"

#define LABEL(name) ".globl " #name "\n" #name ":\n"
#define NORVC(insns) ".option push\n.option norvc\n" insns "\n.option pop\n"

extern char at_ill32[], at_ill16[], at_csr_ro[], at_csr_m[], at_ebreak[], at_cebreak[];
extern char at_sbi_ebreak[], at_ill_sie[];
extern char at_lr[], at_amo[], at_sc[], at_load_nodev[], at_store_nodev[];

static u8 buf[64] __attribute__((aligned(64)));
static u8 pages[2][4096] __attribute__((aligned(4096)));

#define NO_DEVICE 0x12000000UL /* nothing there on virt: between fw_cfg and the flash */

static void sstatus_bits(const char *what, ul s) {
  print("%s: SPP %d SPIE %d SIE %d\n", what, (long)((s >> 8) & 1), (long)((s >> 5) & 1), (long)((s >> 1) & 1));
}

static void check_stvec(void) {
  print("stvec direct mode: %s\n", csr_read(stvec) == (ul)trap_direct ? "ok" : "wrong");
  csr_write(stvec, (ul)trap_direct | 2);
  print("stvec write with the reserved mode 2 has no effect: %s\n", yesno(csr_read(stvec) == (ul)trap_direct));
  csr_write(stvec, trap_direct);
}

static void check_illegal(void) {
  clear_traps();
  __asm__ volatile(LABEL(at_ill32) ".4byte 0x00007003" ::: "memory"); /* LOAD with funct3 7: reserved */
  print_trap("illegal instruction (32-bit, 0x00007003)", (ul)at_ill32, 1);
  clear_traps();
  __asm__ volatile(LABEL(at_ill16) ".2byte 0x0004" ::: "memory"); /* C.ADDI4SPN with nzuimm 0: reserved */
  print_trap("illegal instruction (16-bit, 0x0004)", (ul)at_ill16, 1);
  clear_traps();
  __asm__ volatile(LABEL(at_csr_ro) "csrw cycle, zero" ::: "memory");
  print_trap("csrw to the read-only cycle", (ul)at_csr_ro, 1);
  clear_traps();
  __asm__ volatile(LABEL(at_csr_m) "csrr a0, mstatus" ::: "a0", "memory");
  print_trap("csrr of M-mode mstatus from S", (ul)at_csr_m, 1);
}

static void check_breakpoints(void) {
  /* stval for an EBREAK: zero or the pc, the implementation's choice
   * (QEMU 7.2 writes 0, ringvisor the pc): only that it is one of them. */
  clear_traps();
  __asm__ volatile(NORVC(LABEL(at_ebreak) "ebreak") ::: "memory");
  print_trap("ebreak", (ul)at_ebreak, 0);
  print("  stval is 0 or the pc: %s\n", yesno(last.tval == (ul)at_ebreak || last.tval == 0));
  clear_traps();
  __asm__ volatile(LABEL(at_cebreak) ".2byte 0x9002" ::: "memory"); /* c.ebreak */
  print_trap("c.ebreak", (ul)at_cebreak, 0);
  print("  stval is 0 or the pc: %s\n", yesno(last.tval == (ul)at_cebreak || last.tval == 0));
}

static void check_user_ecall(void) {
  clear_traps();
  long r = run_user(u_ecall, 41);
  print_trap("ecall from U-mode", (ul)u_ecall_at, 1);
  sstatus_bits("sstatus at the trap from U-mode", last.status);
  print("U-mode went on after sret to sepc + 4 and returned via ecall: a0 = %d\n", r);
  clear_traps();
  (void)csr_read(sstatus);
  print("back in S-mode after U-mode's exit ecall (an S CSR reads without a trap): %s\n", yesno(ntraps == 0));
}

static void check_sstatus(void) {
  /* From S with SIE = 1 (sie is 0: nothing can interrupt). */
  csr_write(sie, 0);
  csr_set(sstatus, SSTATUS_SIE);
  clear_traps();
  __asm__ volatile(NORVC(LABEL(at_sbi_ebreak) "ebreak") ::: "memory");
  sstatus_bits("sstatus in the handler, ebreak from S with SIE 1", last.status);
  sstatus_bits("sstatus after sret", csr_read(sstatus));
  clear_traps();
  __asm__ volatile(LABEL(at_ill_sie) ".4byte 0x00007003" ::: "memory");
  sstatus_bits("sstatus in the handler, illegal instruction from S with SIE 1", last.status);
  sstatus_bits("sstatus after sret", csr_read(sstatus));
  csr_clear(sstatus, SSTATUS_SIE);
  clear_traps();
  __asm__ volatile(NORVC("ebreak") ::: "memory");
  sstatus_bits("sstatus in the handler, ebreak from S with SIE 0", last.status);
  sstatus_bits("sstatus after sret", csr_read(sstatus));
  /* sret from S to S: SPP 1, SPIE 1 -> S-mode, SIE 1, SPIE 1, SPP 0. */
  csr_set(sstatus, SSTATUS_SPP | SSTATUS_SPIE);
  ul after;
  __asm__ volatile("la t0, 1f\n csrw sepc, t0\n sret\n1: csrr %0, sstatus" : "=r"(after) :: "t0", "memory");
  sstatus_bits("sret with SPP 1 SPIE 1, then", after);
  print("ran on in S-mode after that sret (an S CSR read): yes\n");
  csr_clear(sstatus, SSTATUS_SIE);
  print("sstatus.UXL: %d\n", (long)((csr_read(sstatus) >> 32) & 3));
  ul old = csr_read(sepc);
  csr_write(sepc, 0x80200123UL);
  print("sepc after writing 0x80200123: %x\n", csr_read(sepc));
  csr_write(sepc, old);
  old = csr_swap(sscratch, 0x1234567890abcdefUL);
  print("sscratch holds what was written: %s\n", yesno(csr_read(sscratch) == 0x1234567890abcdefUL));
  csr_write(sscratch, old);
}

static void check_misaligned(void) {
  for (int i = 0; i < 64; i++) buf[i] = (u8)(0x10 + i * 7);
  long v;
  clear_traps();
  __asm__ volatile("lh %0, 1(%1)" : "=r"(v) : "r"(buf) : "memory");
  print("misaligned lh at +1: %x\n", (ul)v);
  __asm__ volatile("lw %0, 1(%1)" : "=r"(v) : "r"(buf) : "memory");
  print("misaligned lw at +1: %x\n", (ul)v);
  __asm__ volatile("lwu %0, 6(%1)" : "=r"(v) : "r"(buf) : "memory");
  print("misaligned lwu at +6 (across 8 bytes): %x\n", (ul)v);
  __asm__ volatile("ld %0, 3(%1)" : "=r"(v) : "r"(buf) : "memory");
  print("misaligned ld at +3: %x\n", (ul)v);
  __asm__ volatile("sd %0, 21(%1)" :: "r"(0x1122334455667788UL), "r"(buf) : "memory");
  __asm__ volatile("sh %0, 41(%1)" :: "r"(0xabcdUL), "r"(buf) : "memory");
  print("bytes 20..29 after a misaligned sd at +21:");
  for (int i = 20; i < 30; i++) print(" %x", (ul)buf[i]);
  print("\nbytes 40..43 after a misaligned sh at +41: %x %x %x %x\n", (ul)buf[40], (ul)buf[41], (ul)buf[42], (ul)buf[43]);
  for (int i = 0; i < 16; i++) { pages[0][4088 + (i & 7)] = (u8)(0xa0 + i); pages[1][i] = (u8)(0xb0 + i); }
  __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(&pages[0][4093]) : "memory");
  print("misaligned ld across a page boundary: %x\n", (ul)v);
  print("traps taken by S for the misaligned loads and stores: %d\n", (long)ntraps);
  /* LR/SC and AMOs must be aligned: address-misaligned exceptions (an SC
   * too, with or without a reservation; an AMO's is a Store/AMO one). */
  struct { const char *what; ul addr; } m[3] = { { "lr.d at +4", (ul)(buf + 4) }, { "sc.d at +4", (ul)(buf + 4) }, { "amoadd.w at +2", (ul)(buf + 2) } };
  for (int i = 0; i < 3; i++) {
    clear_traps();
    v = 0x77;
    if (i == 0) __asm__ volatile(LABEL(at_lr) "lr.d %0, (%1)" : "+r"(v) : "r"(m[i].addr) : "memory");
    if (i == 1) __asm__ volatile(LABEL(at_sc) "sc.d %0, %0, (%1)" : "+r"(v) : "r"(m[i].addr) : "memory");
    if (i == 2) __asm__ volatile(LABEL(at_amo) "amoadd.w %0, %0, (%1)" : "+r"(v) : "r"(m[i].addr) : "memory");
    char *at = i == 0 ? at_lr : i == 1 ? at_sc : at_amo;
    print("misaligned %s: ", m[i].what);
    if (ntraps == 0) print("no trap\n");
    else print("scause %x, stval the address: %s, sepc %s, rd unchanged: %s\n", last.cause, yesno(last.tval == m[i].addr),
               last.epc == (ul)at ? "ok" : "wrong", yesno(v == 0x77));
  }
}

static void check_access_faults(void) {
  long v = 0x99;
  clear_traps();
  __asm__ volatile(LABEL(at_load_nodev) "ld %0, 0(%1)" : "+r"(v) : "r"(NO_DEVICE) : "memory");
  print_trap("load from 0x12000000 (no device)", (ul)at_load_nodev, 1);
  print("  rd unchanged: %s\n", yesno(v == 0x99));
  clear_traps();
  __asm__ volatile(LABEL(at_store_nodev) "sw %0, 4(%1)" :: "r"(v), "r"(NO_DEVICE) : "memory");
  print_trap("store to 0x12000004 (no device)", (ul)at_store_nodev, 1);
  clear_traps();
  ((void (*)(void))NO_DEVICE)();
  print_trap("fetch from 0x12000000 (no device)", NO_DEVICE, 1);
}

static void check_user_privilege(void) {
  clear_traps();
  run_user(u_csr_sstatus, 0);
  print_trap("csrr sstatus from U-mode", (ul)u_csr_sstatus_at, 1);
  clear_traps();
  run_user(u_sret, 0);
  print_trap("sret from U-mode", (ul)u_sret_at, 1);
  clear_traps();
  run_user(u_wfi, 0);
  print_trap("wfi from U-mode", (ul)u_wfi_at, 1);
  clear_traps();
  run_user(u_sfence, 0);
  print_trap("sfence.vma from U-mode", (ul)u_sfence_at, 1);
  sstatus_bits("  sstatus at that trap", last.status);
}

static void counters(const char *setting) {
  static const struct { const char *name; long (*fn)(long); char *at; } c[] = {
    { "rdcycle", u_rdcycle, u_rdcycle_at }, { "rdtime", u_rdtime, u_rdtime_at }, { "rdinstret", u_rdinstret, u_rdinstret_at },
  };
  for (int i = 0; i < 3; i++) {
    clear_traps();
    run_user(c[i].fn, 0);
    print("U-mode %s with scounteren %s: ", c[i].name, setting);
    if (ntraps == 0) print("no trap\n");
    else print("scause %x stval %x sepc %s\n", last.cause, last.tval, last.epc == (ul)c[i].at ? "ok" : "wrong");
  }
}

static void check_counters(void) {
  csr_write(scounteren, 0);
  counters("0");
  csr_write(scounteren, 2);
  counters("2 (TM)");
  csr_write(scounteren, 7);
  counters("7");
  csr_write(scounteren, 0);
  clear_traps();
  ul a, b, c;
  __asm__ volatile("rdcycle %0\n rdtime %1\n rdinstret %2" : "=r"(a), "=r"(b), "=r"(c));
  (void)a; (void)b; (void)c;
  print("S-mode rdcycle, rdtime, rdinstret with scounteren 0: %s\n", ntraps ? "trap" : "no trap");
}

int main(void) {
  start("traps");
  check_stvec();
  check_illegal();
  check_breakpoints();
  check_user_ecall();
  check_sstatus();
  check_misaligned();
  check_access_faults();
  check_user_privilege();
  check_counters();
  print("== end ==\n");
  return 0;
}
