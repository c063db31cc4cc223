/* The runtime of the bare-metal S-mode test programs (guests/baremetal):
 * SBI calls, console printing, the trap handler's records, U-mode entry.
 * The programs run as the kernel qemu-system-riscv64 -M virt -bios default
 * -kernel would start after OpenSBI: S-mode, paging off, a0 = hart id,
 * a1 = the device tree. */
#ifndef BAREMETAL_RT_H
#define BAREMETAL_RT_H

typedef unsigned long ul;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* (Two levels, so that a CSR given as a macro, CSR_STIMECMP, expands first.) */
#define csr_read(csr) csr_read_(csr)
#define csr_write(csr, v) csr_write_(csr, v)
#define csr_set(csr, v) csr_set_(csr, v)
#define csr_clear(csr, v) csr_clear_(csr, v)
#define csr_swap(csr, v) csr_swap_(csr, v)
#define csr_read_(csr) ({ ul __v; __asm__ volatile("csrr %0, " #csr : "=r"(__v) :: "memory"); __v; })
#define csr_write_(csr, v) __asm__ volatile("csrw " #csr ", %0" :: "r"((ul)(v)) : "memory")
#define csr_set_(csr, v) __asm__ volatile("csrs " #csr ", %0" :: "r"((ul)(v)) : "memory")
#define csr_clear_(csr, v) __asm__ volatile("csrc " #csr ", %0" :: "r"((ul)(v)) : "memory")
#define csr_swap_(csr, v) ({ ul __v; __asm__ volatile("csrrw %0, " #csr ", %1" : "=r"(__v) : "r"((ul)(v)) : "memory"); __v; })
/* stimecmp (Sstc) by number: older assemblers do not know its name. */
#define CSR_STIMECMP 0x14d

/* sstatus */
#define SSTATUS_SIE (1UL << 1)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SPP (1UL << 8)
#define SSTATUS_FS (3UL << 13)
#define SSTATUS_SUM (1UL << 18)
#define SSTATUS_MXR (1UL << 19)
#define SSTATUS_SD (1UL << 63)
/* sie / sip */
#define IRQ_SSI 1
#define IRQ_STI 5
#define IRQ_SEI 9
#define SIP_SSIP (1UL << IRQ_SSI)
#define SIP_STIP (1UL << IRQ_STI)
#define SIP_SEIP (1UL << IRQ_SEI)
#define SIE_SSIE SIP_SSIP
#define SIE_STIE SIP_STIP
#define SIE_SEIE SIP_SEIP
#define CAUSE_INTERRUPT (1UL << 63)

/* ---- SBI ---- */
struct sbiret { long error; long value; };
struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2, long a3);
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494d45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_RFENCE 0x52464e43
#define SBI_EXT_HSM 0x48534d
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_DBCN 0x4442434e
void sbi_set_timer(ul when);
void shutdown(void) __attribute__((noreturn));

/* ---- console (SBI legacy console_putchar: OpenSBI 1.1 has no DBCN) ---- */
void putch(int c);
void puts_(const char *s);
/* A minimal printf: %s, %d (long), %x (unsigned long, as 0x...), %c, %%. */
void print(const char *fmt, ...);
/* The start marker: "== name ==". */
void start(const char *name);
const char *yesno(int v);

/* ---- the state at entry ----
 * save_entry_state (rt/entry.S) fills one: what the firmware handed over at
 * an entry point, before any code of ours changed it. _start fills
 * entry_state for the boot hart. */
struct entry_state { ul a0, a1, a2, sstatus, sie, sip, stvec, sscratch, satp, scounteren, senvcfg, stimecmp, time, fcsr, scause, sepc, stval; };
extern struct entry_state entry_state;

/* ---- traps ---- */
/* What the trap entry saves: x0's slot holds the vector taken (-1: direct mode). */
struct frame { long vector; ul ra, sp, gp, tp, t0, t1, t2, s0, s1, a0, a1, a2, a3, a4, a5, a6, a7,
               s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, t3, t4, t5, t6; };
/* The last exception taken (interrupts are in irq_log). */
struct trap { ul cause, tval, epc, status; long vector; };
extern volatile struct trap last;
extern volatile int ntraps;
/* Where the handler resumes after the next exception (0: after the faulting
 * instruction; for fetch faults: at the faulting call's return address). */
extern volatile ul resume_at;
/* Interrupts: each one's cause code, vector, sepc and sstatus.SPP, in order. */
#define IRQ_LOG 16
struct irq { ul code, epc, spp; long vector; };
extern volatile struct irq irq_log[IRQ_LOG];
extern volatile int nirqs;
/* The program's interrupt handler: it must clear the source. */
extern void (*on_interrupt)(ul code);
/* Forget the traps and interrupts seen so far. */
void clear_traps(void);
/* "scause 0x2 stval 0x... sepc ok" for the last exception, or "no trap". */
void print_trap(const char *what, ul epc_expected, int show_tval);

extern char trap_direct[];   /* stvec, direct mode */
extern char trap_vectors[];  /* stvec base, vectored mode (| 1) */

/* ---- U-mode ----
 * run_user runs fn(arg) in U-mode (sret with SPP = 0) on the user stack and
 * returns what it returns: fn returns to user_exit, which leaves U-mode with
 * an ecall the handler recognises (a7 = USER_EXIT). U-mode runs with
 * sstatus.SIE = 0; S gets its SIE back afterwards. */
#define USER_EXIT 0x55534552 /* "USER" */
typedef long (*user_fn)(long);
long run_user(user_fn fn, long arg);
extern char user_stack_top[];
extern char __user_start[], __user_end[], __user_data_start[], __user_data_end[];

static inline void fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }
static inline void sfence_vma(void) { __asm__ volatile("sfence.vma" ::: "memory"); }
static inline ul rdtime(void) { ul t; __asm__ volatile("rdtime %0" : "=r"(t)); return t; }

#endif
