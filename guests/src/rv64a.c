/* RV64A: lr/sc success and failure (sc with no reservation, sc to another
 * address than the lr's, sc twice), lr.w sign extension, and every AMO (swap,
 * add, xor, and, or, min, max, minu, maxu) in .w and .d: the old value
 * returned (sign-extended for .w), the value left in memory, .w touching only
 * its 4 bytes, upper bits of rs2 ignored by .w, signed vs unsigned .w
 * comparisons, and the aq/rl variants. Exit status 0 when all pass. */
#include "insn.h"

static u64 cell[4] __attribute__((aligned(16)));

static void lr_sc(void) {
  u64 old, fail;
  rt_section("lr.d / sc.d");
  cell[0] = 0x1111; cell[1] = 0x2222;
  __asm__ volatile(NORVC "lr.d %0, (%2)\n sc.d %1, %3, (%2)" POPRVC
                   : "=&r"(old), "=&r"(fail) : "r"(&cell[0]), "r"(0x5555ul) : "memory");
  rt_check_u64("lr.d value", old, 0x1111);
  rt_check_u64("sc.d after lr.d succeeds (0)", fail, 0);
  rt_check_u64("  memory", cell[0], 0x5555);

  __asm__ volatile(NORVC "sc.d %0, %1, (%2)" POPRVC : "=&r"(fail) : "r"(0x6666ul), "r"(&cell[0]) : "memory");
  rt_check_u64("sc.d with no reservation fails (nonzero)", fail != 0, 1);
  rt_check_u64("  memory unchanged", cell[0], 0x5555);

  __asm__ volatile(NORVC "lr.d %0, (%2)\n sc.d %1, %3, (%4)" POPRVC
                   : "=&r"(old), "=&r"(fail) : "r"(&cell[0]), "r"(0x7777ul), "r"(&cell[1]) : "memory");
  rt_check_u64("sc.d to another address than lr.d's fails", fail != 0, 1);
  rt_check_u64("  that address unchanged", cell[1], 0x2222);
  __asm__ volatile(NORVC "sc.d %0, %1, (%2)" POPRVC : "=&r"(fail) : "r"(0x8888ul), "r"(&cell[0]) : "memory");
  rt_check_u64("  and the failed sc.d dropped the reservation", fail != 0, 1);
  rt_check_u64("  memory unchanged", cell[0], 0x5555);

  u64 fail2;
  __asm__ volatile(NORVC "lr.d %0, (%3)\n sc.d %1, %4, (%3)\n sc.d %2, %5, (%3)" POPRVC
                   : "=&r"(old), "=&r"(fail), "=&r"(fail2) : "r"(&cell[0]), "r"(0x9999ul), "r"(0xaaaaul) : "memory");
  rt_check_u64("sc.d twice: first succeeds", fail, 0);
  rt_check_u64("  second fails", fail2 != 0, 1);
  rt_check_u64("  memory has the first", cell[0], 0x9999);

  __asm__ volatile(NORVC "lr.d.aq %0, (%2)\n sc.d.rl %1, %3, (%2)" POPRVC
                   : "=&r"(old), "=&r"(fail) : "r"(&cell[0]), "r"(0xbbbbul) : "memory");
  rt_check_u64("lr.d.aq / sc.d.rl succeed", fail, 0);
  rt_check_u64("  memory", cell[0], 0xbbbb);
  __asm__ volatile(NORVC "lr.d.aqrl %0, (%2)\n sc.d.aqrl %1, %3, (%2)" POPRVC
                   : "=&r"(old), "=&r"(fail) : "r"(&cell[0]), "r"(0xccccul) : "memory");
  rt_check_u64("lr.d.aqrl / sc.d.aqrl succeed", fail, 0);

  rt_section("lr.w / sc.w");
  cell[0] = 0x1234567880000000ul;
  __asm__ volatile(NORVC "lr.w %0, (%2)\n sc.w %1, %3, (%2)" POPRVC
                   : "=&r"(old), "=&r"(fail) : "r"(&cell[0]), "r"(0xffffffff00000001ul) : "memory");
  rt_check_u64("lr.w sign-extends", old, 0xffffffff80000000ul);
  rt_check_u64("sc.w succeeds", fail, 0);
  rt_check_u64("  it wrote only the low 4 bytes", cell[0], 0x1234567800000001ul);
  __asm__ volatile(NORVC "sc.w %0, %1, (%2)" POPRVC : "=&r"(fail) : "r"(5ul), "r"(&cell[0]) : "memory");
  rt_check_u64("sc.w with no reservation fails", fail != 0, 1);
  rt_check_u64("  memory unchanged", cell[0], 0x1234567800000001ul);
  __asm__ volatile(NORVC "lr.w %0, (%2)\n sc.w %1, %3, (%4)" POPRVC
                   : "=&r"(old), "=&r"(fail) : "r"(&cell[0]), "r"(6ul), "r"((char *)&cell[0] + 4) : "memory");
  rt_check_u64("sc.w to the other half of the doubleword fails", fail != 0, 1);
  rt_check_u64("  memory unchanged", cell[0], 0x1234567800000001ul);
}

/* Runs one AMO on cell[0] (and cell[1] as the neighbour) and checks the old
 * value returned and the value left in memory. */
#define AMO(insn, init, operand, want_old, want_mem) do { \
    u64 old_; cell[0] = (init); cell[1] = 0x5a5a5a5a5a5a5a5aul; \
    __asm__ volatile(NORVC insn " %0, %1, (%2)" POPRVC : "=&r"(old_) : "r"((u64)(operand)), "r"(&cell[0]) : "memory"); \
    rt_check2(insn " returns", (init), (operand), old_, (want_old)); \
    rt_check2(insn " leaves", (init), (operand), cell[0], (want_mem)); \
    if (cell[1] != 0x5a5a5a5a5a5a5a5aul) rt_check_u64(insn " wrote past its cell", cell[1], 0x5a5a5a5a5a5a5a5aul); \
  } while (0)

static void amo_d(void) {
  rt_section("amo*.d");
  AMO("amoswap.d", 0x1122334455667788ul, 0x99, 0x1122334455667788ul, 0x99);
  AMO("amoadd.d", ONES, 2, ONES, 1);
  AMO("amoadd.d", INT64_MAX_, 1, INT64_MAX_, INT64_MIN_);
  AMO("amoxor.d", 0xff00ff00ff00ff00ul, ONES, 0xff00ff00ff00ff00ul, 0x00ff00ff00ff00fful);
  AMO("amoand.d", 0xff00ff00ff00ff00ul, 0x0ff00ff00ff00ff0ul, 0xff00ff00ff00ff00ul, 0x0f000f000f000f00ul);
  AMO("amoor.d", 0xff00ff00ff00ff00ul, 0x0ff00ff00ff00ff0ul, 0xff00ff00ff00ff00ul, 0xfff0fff0fff0fff0ul);
  AMO("amomin.d", ONES, 1, ONES, ONES);
  AMO("amomin.d", INT64_MAX_, INT64_MIN_, INT64_MAX_, INT64_MIN_);
  AMO("amomax.d", ONES, 1, ONES, 1);
  AMO("amomax.d", INT64_MIN_, INT64_MAX_, INT64_MIN_, INT64_MAX_);
  AMO("amominu.d", ONES, 1, ONES, 1);
  AMO("amominu.d", INT64_MAX_, INT64_MIN_, INT64_MAX_, INT64_MAX_);
  AMO("amomaxu.d", ONES, 1, ONES, ONES);
  AMO("amomaxu.d", INT64_MAX_, INT64_MIN_, INT64_MAX_, INT64_MIN_);
  AMO("amoadd.d.aq", 1, 2, 1, 3);
  AMO("amoswap.d.rl", 1, 2, 1, 2);
  AMO("amoor.d.aqrl", 1, 2, 1, 3);
}

static void amo_w(void) {
  /* The upper word of cell[0] must survive every .w AMO. */
  const u64 hi = 0xabcdef0100000000ul;
  rt_section("amo*.w: 32-bit, result sign-extended, upper word untouched");
  AMO("amoswap.w", hi | 0x80000000, 0xffffffff00000007ul, 0xffffffff80000000ul, hi | 7);
  AMO("amoadd.w", hi | 0x7fffffff, 1, 0x7fffffff, hi | 0x80000000);
  AMO("amoadd.w", hi | 0xffffffff, 1, ONES, hi | 0);
  AMO("amoadd.w", hi | 5, 0x1234567800000003ul, 5, hi | 8);
  AMO("amoxor.w", hi | 0xf0f0f0f0, 0xffffffff, 0xfffffffff0f0f0f0ul, hi | 0x0f0f0f0f);
  AMO("amoand.w", hi | 0xffffffff, 0x80000001, ONES, hi | 0x80000001);
  AMO("amoor.w", hi | 0x80000000, 0x00000001, 0xffffffff80000000ul, hi | 0x80000001);
  rt_section("amo*.w: signed vs unsigned comparisons");
  AMO("amomin.w", hi | 0x80000000, 1, 0xffffffff80000000ul, hi | 0x80000000);
  AMO("amomin.w", hi | 1, 0x80000000, 1, hi | 0x80000000);
  AMO("amomin.w", hi | 1, 0xffffffff, 1, hi | 0xffffffff);
  AMO("amomax.w", hi | 0x80000000, 1, 0xffffffff80000000ul, hi | 1);
  AMO("amomax.w", hi | 0xffffffff, 0x7fffffff, ONES, hi | 0x7fffffff);
  AMO("amominu.w", hi | 0x80000000, 1, 0xffffffff80000000ul, hi | 1);
  AMO("amominu.w", hi | 2, 0xffffffff00000001ul, 2, hi | 1);
  AMO("amomaxu.w", hi | 0x80000000, 1, 0xffffffff80000000ul, hi | 0x80000000);
  AMO("amomaxu.w", hi | 1, 0xffffffff, 1, hi | 0xffffffff);
  AMO("amomaxu.w", hi | 1, 0x0000000100000000ul, 1, hi | 1);
  AMO("amomin.w", hi | 0, 0x00000000ffffffff, 0, hi | 0xffffffff);
  AMO("amomax.w", hi | 0, 0xffffffff00000000ul, 0, hi | 0);
  AMO("amoadd.w.aqrl", hi | 1, 2, 1, hi | 3);
  AMO("amoswap.w.aq", hi | 1, 2, 1, hi | 2);
  AMO("amoand.w.rl", hi | 3, 6, 3, hi | 2);
}

static void amo_w_high_half(void) {
  u64 old;
  rt_section("amo*.w on the upper word of a doubleword");
  cell[0] = 0x80000000ffffffffu;
  __asm__ volatile(NORVC "amoadd.w %0, %1, (%2)" POPRVC : "=&r"(old) : "r"(1ul), "r"((char *)&cell[0] + 4) : "memory");
  rt_check_u64("amoadd.w at +4 returns", old, 0xffffffff80000000ul);
  rt_check_u64("  memory", cell[0], 0x80000001fffffffful);
}

static void amo_x0(void) {
  rt_section("amo with rd = x0 still writes memory");
  cell[0] = 40;
  __asm__ volatile(NORVC "amoadd.d x0, %0, (%1)" POPRVC :: "r"(2ul), "r"(&cell[0]) : "memory");
  rt_check_u64("amoadd.d x0: memory", cell[0], 42);
}

int main(void) {
  lr_sc();
  amo_d();
  amo_w();
  amo_w_high_half();
  amo_x0();
  return rt_done();
}
