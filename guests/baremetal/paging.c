/* paging: Sv39 (and Sv48) page tables built in RAM. The program identity-
 * mapped by a gigapage (table A), then by megapages and 4 KiB pages with
 * the U-mode code and stack in U pages (table B); test pages at VA_TEST with
 * every interesting combination of permissions; page faults (12, 13, 15,
 * stval = the virtual address) for unmapped pages, missing permissions, U
 * pages from S with and without SUM, MXR, S pages from U, reserved
 * encodings, a misaligned superpage and non-canonical addresses; A and D
 * set by the hart; sfence.vma after a remap; satp switches; Sv48. */
#include "rt/rt.h"
#include "rt/user.h"

#define LABEL(name) ".globl " #name "\n" #name ":\n"

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define SATP_SV39 (8UL << 60)
#define SATP_SV48 (9UL << 60)

#define PAGE 4096UL
#define MEGA (1UL << 21)
#define GIGA (1UL << 30)
#define RAM 0x80000000UL
#define VA_TEST 0x1000000000UL      /* VPN[2] = 64 */
#define VA_SWITCH 0x1040000000UL    /* VPN[2] = 65: a megapage, different in tables A and B */
#define VA_GIGA_MISALIGNED 0x1080000000UL /* VPN[2] = 66 */
#define VA_SV48 0x8000000000UL      /* VPN[3] = 1: only Sv48 reaches it */
#define SWITCH_A (RAM + 0x4000000UL) /* 2 MiB-aligned frames for VA_SWITCH */
#define SWITCH_B (RAM + 0x4200000UL)

typedef ul table[512] __attribute__((aligned(4096)));
static table root_a, root_b, l1_id, l0_id, test_l1, test_l0, sw_a, sw_b, root48, hi_l2, hi_l1, hi_l0;
static u8 frames[16][4096] __attribute__((aligned(4096)));

enum { P_UNMAPPED, P_RO, P_RW_FRESH, P_XONLY, P_USER, P_RWX_FRESH, P_WONLY, P_RESERVED, P_REMAP, P_USER_RO,
       P_STORE_FRESH, P_USER_XONLY, P_COUNT };
#define VA(p) (VA_TEST + (ul)(p) * PAGE)
#define FRAME(i) ((ul)frames[i])
#define F_REMAP_B 14
#define F_SV48 15

static ul pte(ul pa, ul flags) { return ((pa >> 12) << 10) | flags; }
static ul pointer(ul *t) { return pte((ul)t, PTE_V); }
static ul satp_of(ul mode, ul *root) { return mode | ((ul)root >> 12); }

/* Code for a frame: li a0, n; ret. */
static void put_code(ul frame, long n) {
  ((u32 *)frame)[0] = 0x00000513u | ((u32)n << 20);
  ((u32 *)frame)[1] = 0x00008067u;
}

static void build_tables(void) {
  /* Table A: one gigapage, the whole first GiB of RAM, S-mode RWX. */
  root_a[2] = pte(RAM, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
  /* Table B: megapages, and 4 KiB pages for the program's own 2 MiB. */
  root_b[2] = pointer(l1_id);
  for (ul i = 0; i < 512; i++) l1_id[i] = pte(RAM + i * MEGA, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
  l1_id[1] = pointer(l0_id);
  for (ul i = 0; i < 512; i++) {
    ul pa = RAM + MEGA + i * PAGE, flags = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    if (pa >= (ul)__user_start && pa < (ul)__user_end) flags = PTE_V | PTE_R | PTE_X | PTE_U | PTE_A;
    if (pa >= (ul)__user_data_start && pa < (ul)__user_data_end) flags = PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;
    l0_id[i] = pte(pa, flags);
  }
  /* The test pages, in both tables. */
  root_a[64] = root_b[64] = pointer(test_l1);
  test_l1[0] = pointer(test_l0);
  test_l1[1] = pte(FRAME(0), PTE_V | PTE_R | PTE_W | PTE_A | PTE_D); /* a megapage whose PPN is not 2 MiB-aligned */
  root_b[66] = pte(RAM + MEGA, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D); /* a gigapage whose PPN is not 1 GiB-aligned */
  static const ul flags[P_COUNT] = {
    [P_UNMAPPED] = 0,
    [P_RO] = PTE_V | PTE_R | PTE_A,
    [P_RW_FRESH] = PTE_V | PTE_R | PTE_W,
    [P_XONLY] = PTE_V | PTE_X | PTE_A,
    [P_USER] = PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D,
    [P_RWX_FRESH] = PTE_V | PTE_R | PTE_W | PTE_X,
    [P_WONLY] = PTE_V | PTE_W | PTE_A | PTE_D,
    [P_RESERVED] = PTE_V | PTE_R | PTE_A | (1UL << 54),
    [P_REMAP] = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D,
    [P_USER_RO] = PTE_V | PTE_R | PTE_U | PTE_A,
    [P_STORE_FRESH] = PTE_V | PTE_R | PTE_W,
    [P_USER_XONLY] = PTE_V | PTE_X | PTE_U | PTE_A,
  };
  for (int p = 0; p < P_COUNT; p++) {
    test_l0[p] = flags[p] ? pte(FRAME(p), flags[p]) : 0;
    ((volatile ul *)FRAME(p))[8] = 0x1000 + p; /* a value to read at offset 64 */
    put_code(FRAME(p), 0x100 + p);
  }
  ((volatile ul *)FRAME(F_REMAP_B))[8] = 0xb0b0;
  /* VA_SWITCH: a megapage, another frame in each table. */
  root_a[65] = pointer(sw_a);
  root_b[65] = pointer(sw_b);
  sw_a[0] = pte(SWITCH_A, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  sw_b[0] = pte(SWITCH_B, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  *(volatile ul *)SWITCH_A = 0xaaaa;
  *(volatile ul *)SWITCH_B = 0xbbbb;
  /* Sv48: the level-3 table's entry 0 is table B (a level-2 table there). */
  root48[0] = pointer(root_b);
  root48[1] = pointer(hi_l2);
  hi_l2[0] = pointer(hi_l1);
  hi_l1[0] = pointer(hi_l0);
  hi_l0[0] = pte(FRAME(F_SV48), PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  ((volatile ul *)FRAME(F_SV48))[8] = 0x48;
  fence_i();
}

/* Accesses that may fault: the value, or 0xdead when the access trapped. */
extern char at_load[], at_store[];
__attribute__((noinline)) static ul load(ul va) {
  ul v = 0xdead;
  clear_traps();
  __asm__ volatile(LABEL(at_load) "ld %0, 64(%1)" : "+r"(v) : "r"(va) : "memory");
  return v;
}
__attribute__((noinline)) static void store(ul va, ul v) {
  clear_traps();
  __asm__ volatile(LABEL(at_store) "sd %0, 64(%1)" :: "r"(v), "r"(va) : "memory");
}
__attribute__((noinline)) static long fetch(ul va) {
  clear_traps();
  long r = ((long (*)(void))va)();
  __asm__ volatile("" ::: "memory");
  return ntraps ? 0xdead : r;
}

/* "what: value 0x..." or "what: scause 0xd stval 0x... sepc ok". */
static void show(const char *what, ul value, ul va, char *at) {
  if (ntraps == 0) { print("%s: %x\n", what, value); return; }
  print("%s: scause %x stval %x%s sepc %s\n", what, last.cause, last.tval, last.tval == va ? " (the address)" : "",
        (at ? last.epc == (ul)at : last.epc == va) ? "ok" : "wrong");
}
#define LOAD(what, va) do { ul _v = load(va); show(what, _v, (va) + 64, at_load); } while (0)
#define STORE(what, va, v) do { store(va, v); if (ntraps == 0) print("%s: stored\n", what); else show(what, 0, (va) + 64, at_store); } while (0)
#define FETCH(what, va) do { long _r = fetch(va); show(what, (ul)_r, va, 0); } while (0)

static void user_access(const char *what, long (*fn)(long), ul va, ul arg_offset, char *at) {
  clear_traps();
  long r = run_user(fn, (long)(va + arg_offset));
  if (ntraps == 0) { print("%s: %x\n", what, (ul)r); return; }
  print("%s: scause %x stval %x%s sepc %s, from %s\n", what, last.cause, last.tval, last.tval == va + arg_offset ? " (the address)" : "",
        last.epc == (at ? (ul)at : va) ? "ok" : "wrong", last.status & SSTATUS_SPP ? "S" : "U");
}

static void ad(const char *what, int p) {
  ul e = test_l0[p];
  print("%s: A %d D %d\n", what, (long)((e >> 6) & 1), (long)((e >> 7) & 1));
}

static void set_satp(ul v) {
  csr_write(satp, v);
  sfence_vma();
}

int main(void) {
  start("paging");
  build_tables();

  set_satp(satp_of(SATP_SV39, root_a));
  print("Sv39 on, the program identity-mapped by a gigapage (table A): satp mode %d\n", (long)(csr_read(satp) >> 60));
  print("VA_SWITCH through table A: %x\n", *(volatile ul *)VA_SWITCH);
  set_satp(satp_of(SATP_SV39, root_b));
  print("switched to table B (megapages, 4 KiB pages, U pages): VA_SWITCH: %x\n", *(volatile ul *)VA_SWITCH);
  set_satp(satp_of(SATP_SV39, root_a));
  print("and back to table A: %x\n", *(volatile ul *)VA_SWITCH);
  set_satp(satp_of(SATP_SV39, root_b));

  /* S-mode, SUM and MXR off. */
  LOAD("load, unmapped page (V 0)", VA(P_UNMAPPED));
  STORE("store, unmapped page", VA(P_UNMAPPED), 1);
  FETCH("fetch, unmapped page", VA(P_UNMAPPED));
  LOAD("load, read-only page", VA(P_RO));
  STORE("store, read-only page", VA(P_RO), 1);
  FETCH("fetch, read-only page (no X)", VA(P_RO));
  LOAD("load, execute-only page, MXR 0", VA(P_XONLY));
  csr_set(sstatus, SSTATUS_MXR);
  LOAD("load, execute-only page, MXR 1", VA(P_XONLY));
  csr_clear(sstatus, SSTATUS_MXR);
  FETCH("fetch, execute-only page", VA(P_XONLY));
  LOAD("load, W-only page (reserved)", VA(P_WONLY));
  STORE("store, W-only page (reserved)", VA(P_WONLY), 1);
  LOAD("load, PTE with reserved bit 54", VA(P_RESERVED));
  LOAD("load, megapage with a misaligned PPN", VA_TEST + MEGA);
  LOAD("load, gigapage with a misaligned PPN", VA_GIGA_MISALIGNED);
  LOAD("load, non-canonical 0x4000000000", 0x4000000000UL - 64);
  STORE("store, non-canonical 0x8000000000000000", 0x8000000000000000UL - 64, 1);
  FETCH("fetch, non-canonical 0x4000000000", 0x4000000000UL);
  LOAD("load, canonical 0xffffffc000000000 (unmapped)", 0xffffffc000000000UL - 64);

  /* U pages from S-mode. */
  csr_set(sstatus, SSTATUS_SUM);
  sfence_vma();
  FETCH("S fetch, U page, SUM 1, first access since sfence.vma", VA(P_USER));
  csr_clear(sstatus, SSTATUS_SUM);
  LOAD("S load, U page, SUM 0", VA(P_USER));
  STORE("S store, U page, SUM 0", VA(P_USER), 1);
  csr_set(sstatus, SSTATUS_SUM);
  LOAD("S load, U page, SUM 1", VA(P_USER));
  STORE("S store, U page, SUM 1", VA(P_USER), 0x4444);
  LOAD("  and reads back", VA(P_USER));
  FETCH("S fetch, U page, SUM 1, after S loads and stores there", VA(P_USER));
  csr_clear(sstatus, SSTATUS_SUM);

  /* U-mode. */
  user_access("U load, S page", u_load, VA(P_RO), 64, u_load_at);
  user_access("U store, S page", u_store, VA(P_REMAP), 64, u_store_at);
  user_access("U fetch, S page", u_fetch, VA(P_XONLY), 0, 0);
  user_access("U load, U page", u_load, VA(P_USER), 64, 0);
  user_access("U fetch, U page", u_fetch, VA(P_USER), 0, 0);
  user_access("U store, U read-only page", u_store, VA(P_USER_RO), 64, u_store_at);
  user_access("U load, U execute-only page, MXR 0", u_load, VA(P_USER_XONLY), 64, u_load_at);
  csr_set(sstatus, SSTATUS_MXR);
  user_access("U load, U execute-only page, MXR 1", u_load, VA(P_USER_XONLY), 64, 0);
  csr_clear(sstatus, SSTATUS_MXR);
  csr_set(sstatus, SSTATUS_SUM);
  user_access("U load, S page, SUM 1 (SUM is for S)", u_load, VA(P_RO), 64, u_load_at);
  csr_clear(sstatus, SSTATUS_SUM);

  /* A and D, set by the hart. */
  ad("fresh RW page, before any access", P_RW_FRESH);
  LOAD("load from it", VA(P_RW_FRESH));
  ad("  after the load", P_RW_FRESH);
  STORE("store to it", VA(P_RW_FRESH), 0x2222);
  ad("  after the store", P_RW_FRESH);
  STORE("store to another fresh RW page", VA(P_STORE_FRESH), 0x3333);
  ad("  after the store", P_STORE_FRESH);
  FETCH("fetch from a fresh RWX page", VA(P_RWX_FRESH));
  ad("  after the fetch", P_RWX_FRESH);
  ad("read-only page after its faulting store", P_RO);

  /* A remap, made visible by sfence.vma. */
  LOAD("remap page, first frame", VA(P_REMAP));
  test_l0[P_REMAP] = pte(FRAME(F_REMAP_B), PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  __asm__ volatile("sfence.vma %0, zero" :: "r"(VA(P_REMAP)) : "memory");
  LOAD("after the PTE points elsewhere and sfence.vma of that page", VA(P_REMAP));
  test_l0[P_REMAP] = 0;
  sfence_vma();
  LOAD("after the PTE is cleared and sfence.vma", VA(P_REMAP));

  /* satp: a mode this hart lacks (1: reserved) leaves it unchanged. */
  ul before = csr_read(satp);
  csr_write(satp, (1UL << 60) | ((ul)root_a >> 12));
  print("satp write with the reserved mode 1 has no effect: %s\n", yesno(csr_read(satp) == before));

  /* Sv48. */
  set_satp(satp_of(SATP_SV48, root48));
  print("Sv48 on (table B below the level-3 table): satp mode %d\n", (long)(csr_read(satp) >> 60));
  LOAD("load at 0x8000000000 (VPN[3] 1)", VA_SV48);
  LOAD("load, read-only test page", VA(P_RO));
  LOAD("load, non-canonical 0x800000000000", 0x800000000000UL - 64);
  user_access("U load, U page", u_load, VA(P_USER), 64, 0);
  set_satp(satp_of(SATP_SV39, root_b));
  LOAD("back to Sv39: load at 0x8000000000 (non-canonical there)", VA_SV48 - 64);

  set_satp(0);
  print("paging off: satp %x\n", csr_read(satp));
  print("== end ==\n");
  return 0;
}
