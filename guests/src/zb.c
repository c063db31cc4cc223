/* Zba, Zbb, Zbs: every instruction (add.uw, sh1add..sh3add and their .uw
 * forms, slli.uw, andn, orn, xnor, clz(w), ctz(w), cpop(w), max(u), min(u),
 * sext.b, sext.h, zext.h, rol(w), ror(i)(w), orc.b, rev8, bclr(i), bext(i),
 * binv(i), bset(i)) on edge inputs: 0, all ones, single bits, INT64_MIN, and
 * shift amounts whose upper bits must be ignored. Exit status 0 when all pass. */
#include "insn.h"

static void zba(void) {
  rt_section("Zba");
  CHECK_RR("add.uw", 0xffffffff80000000ul, 1, 0x80000001);
  CHECK_RR("add.uw", ONES, 0, 0xffffffff);
  CHECK_RR("add.uw", ONES, ONES, 0xfffffffe);
  CHECK_RR("add.uw", 0, INT64_MIN_, INT64_MIN_);
  CHECK_R1("zext.w", 0x123456789abcdef0ul, 0x9abcdef0);
  CHECK_RR("sh1add", 1, 2, 4);
  CHECK_RR("sh1add", INT64_MIN_, 5, 5);
  CHECK_RR("sh1add", ONES, 0, 0xfffffffffffffffeul);
  CHECK_RR("sh2add", ONES, 0, 0xfffffffffffffffcul);
  CHECK_RR("sh2add", 0x4000000000000001ul, 1, 5);
  CHECK_RR("sh3add", 0x1000, 8, 0x8008);
  CHECK_RR("sh3add", 0x2000000000000000ul, ONES, ONES);
  CHECK_RR("sh1add.uw", 0xffffffff80000000ul, 0, 0x100000000ul);
  CHECK_RR("sh1add.uw", ONES, 1, 0x1ffffffff);
  CHECK_RR("sh2add.uw", ONES, 1, 0x3fffffffd);
  CHECK_RR("sh2add.uw", 0x100000000ul, 7, 7);
  CHECK_RR("sh3add.uw", 0x100000001ul, 0x10, 0x18);
  CHECK_RR("sh3add.uw", 0x80000000, INT64_MIN_, 0x8000000400000000ul);
  CHECK_RI("slli.uw", ONES, 0, 0xffffffff);
  CHECK_RI("slli.uw", ONES, 32, 0xffffffff00000000ul);
  CHECK_RI("slli.uw", 0x80000001, 63, INT64_MIN_);
  CHECK_RI("slli.uw", 0x100000000ul, 4, 0);
  CHECK_RI("slli.uw", 0x80000000, 1, 0x100000000ul);
}

static void zbb_logic(void) {
  rt_section("Zbb: andn orn xnor");
  CHECK_RR("andn", ONES, 0xff, 0xffffffffffffff00ul);
  CHECK_RR("andn", 0xf0, ONES, 0);
  CHECK_RR("andn", INT64_MIN_, 0, INT64_MIN_);
  CHECK_RR("orn", 0, 0, ONES);
  CHECK_RR("orn", 0xf0, ONES, 0xf0);
  CHECK_RR("orn", 0, INT64_MAX_, INT64_MIN_);
  CHECK_RR("xnor", 0, 0, ONES);
  CHECK_RR("xnor", ONES, 0x0f, 0x0f);
  CHECK_RR("xnor", INT64_MIN_, INT64_MAX_, 0);
}

static void zbb_count(void) {
  rt_section("Zbb: clz ctz cpop and W forms");
  CHECK_R1("clz", 0, 64);
  CHECK_R1("clz", ONES, 0);
  CHECK_R1("clz", 1, 63);
  CHECK_R1("clz", INT64_MIN_, 0);
  CHECK_R1("clz", 0xffffffff, 32);
  CHECK_R1("clzw", 0, 32);
  CHECK_R1("clzw", 0xffffffff00000000ul, 32);
  CHECK_R1("clzw", 1, 31);
  CHECK_R1("clzw", 0x80000000, 0);
  CHECK_R1("clzw", 0x10000, 15);
  CHECK_R1("ctz", 0, 64);
  CHECK_R1("ctz", INT64_MIN_, 63);
  CHECK_R1("ctz", 1, 0);
  CHECK_R1("ctz", 0x100000000ul, 32);
  CHECK_R1("ctz", ONES, 0);
  CHECK_R1("ctzw", 0, 32);
  CHECK_R1("ctzw", 0x100000000ul, 32);
  CHECK_R1("ctzw", 0x80000000, 31);
  CHECK_R1("ctzw", ONES, 0);
  CHECK_R1("cpop", 0, 0);
  CHECK_R1("cpop", ONES, 64);
  CHECK_R1("cpop", INT64_MIN_, 1);
  CHECK_R1("cpop", 0x5555555555555555ul, 32);
  CHECK_R1("cpopw", ONES, 32);
  CHECK_R1("cpopw", 0xffffffff00000000ul, 0);
  CHECK_R1("cpopw", 0x80000001, 2);
  CHECK_R1("cpopw", 0, 0);
}

static void zbb_minmax_ext(void) {
  rt_section("Zbb: max maxu min minu");
  CHECK_RR("max", ONES, 1, 1);
  CHECK_RR("maxu", ONES, 1, ONES);
  CHECK_RR("min", ONES, 1, ONES);
  CHECK_RR("minu", ONES, 1, 1);
  CHECK_RR("max", INT64_MIN_, INT64_MAX_, INT64_MAX_);
  CHECK_RR("min", INT64_MIN_, INT64_MAX_, INT64_MIN_);
  CHECK_RR("maxu", INT64_MIN_, INT64_MAX_, INT64_MIN_);
  CHECK_RR("minu", INT64_MIN_, INT64_MAX_, INT64_MAX_);
  CHECK_RR("max", 0, 0, 0);
  CHECK_RR("minu", 0, ONES, 0);

  rt_section("Zbb: sext.b sext.h zext.h");
  CHECK_R1("sext.b", 0x80, 0xffffffffffffff80ul);
  CHECK_R1("sext.b", 0x7f, 0x7f);
  CHECK_R1("sext.b", 0x12345678abcdef80ul, 0xffffffffffffff80ul);
  CHECK_R1("sext.b", 0x100, 0);
  CHECK_R1("sext.h", 0x8000, 0xffffffffffff8000ul);
  CHECK_R1("sext.h", 0xffff7fff, 0x7fff);
  CHECK_R1("sext.h", ONES, ONES);
  CHECK_R1("zext.h", ONES, 0xffff);
  CHECK_R1("zext.h", 0x12345678, 0x5678);
  CHECK_R1("zext.h", 0x8000, 0x8000);
}

static void zbb_rotate(void) {
  rt_section("Zbb: rol ror rori rolw rorw roriw");
  CHECK_RR("rol", INT64_MIN_ | 1, 1, 3);
  CHECK_RR("rol", 1, 64, 1);
  CHECK_RR("rol", 1, 63, INT64_MIN_);
  CHECK_RR("rol", 0x0123456789abcdeful, 4, 0x123456789abcdef0ul);
  CHECK_RR("rol", 0x0123456789abcdeful, 0x44, 0x123456789abcdef0ul);
  CHECK_RR("rol", 0x0123456789abcdeful, 0, 0x0123456789abcdeful);
  CHECK_RR("ror", 1, 1, INT64_MIN_);
  CHECK_RR("ror", 0x0123456789abcdeful, 0, 0x0123456789abcdeful);
  CHECK_RR("ror", 0x0123456789abcdeful, 4, 0xf0123456789abcdeul);
  CHECK_RR("ror", 1, 65, INT64_MIN_);
  CHECK_RR("ror", 0x0123456789abcdeful, 32, 0x89abcdef01234567ul);
  CHECK_RI("rori", 1, 63, 2);
  CHECK_RI("rori", 0x0123456789abcdeful, 32, 0x89abcdef01234567ul);
  CHECK_RI("rori", 0x0123456789abcdeful, 0, 0x0123456789abcdeful);
  CHECK_RR("rolw", 0x80000000, 1, 1);
  CHECK_RR("rolw", 1, 31, 0xffffffff80000000ul);
  CHECK_RR("rolw", 0xffffffff00000001ul, 32, 1);
  CHECK_RR("rolw", 0x12345678, 4, 0x23456781);
  CHECK_RR("rolw", 0x12345678, 0, 0x12345678);
  CHECK_RR("rorw", 1, 1, 0xffffffff80000000ul);
  CHECK_RR("rorw", 0x12345678, 4, 0xffffffff81234567ul);
  CHECK_RR("rorw", 0xffffffff00000002ul, 33, 1);
  CHECK_RR("rorw", 0x80000000, 0, 0xffffffff80000000ul);
  CHECK_RI("roriw", 0x12345678, 8, 0x78123456);
  CHECK_RI("roriw", 1, 31, 2);
  CHECK_RI("roriw", 0x80000000, 0, 0xffffffff80000000ul);
  CHECK_RI("roriw", 0xffffffff00000001ul, 1, 0xffffffff80000000ul);
}

static void zbb_bytes(void) {
  rt_section("Zbb: orc.b rev8");
  CHECK_R1("orc.b", 0x0100ff0000000080ul, 0xff00ff00000000fful);
  CHECK_R1("orc.b", 0, 0);
  CHECK_R1("orc.b", ONES, ONES);
  CHECK_R1("orc.b", 0x8040201008040201ul, ONES);
  CHECK_R1("rev8", 0x0123456789abcdeful, 0xefcdab8967452301ul);
  CHECK_R1("rev8", 0xff, 0xff00000000000000ul);
  CHECK_R1("rev8", INT64_MIN_, 0x80);
}

static void zbs(void) {
  rt_section("Zbs: bclr bext binv bset (amount is rs2[5:0]) and immediates");
  CHECK_RR("bclr", ONES, 63, INT64_MAX_);
  CHECK_RR("bclr", ONES, 64, 0xfffffffffffffffeul);
  CHECK_RR("bclr", 0, 5, 0);
  CHECK_RI("bclri", ONES, 0, 0xfffffffffffffffeul);
  CHECK_RI("bclri", ONES, 31, 0xffffffff7ffffffful);
  CHECK_RI("bclri", INT64_MIN_, 63, 0);
  CHECK_RR("bext", INT64_MIN_, 63, 1);
  CHECK_RR("bext", INT64_MIN_, 127, 1);
  CHECK_RR("bext", 5, 1, 0);
  CHECK_RR("bext", ONES, 0xffffffffffffffc0ul, 1);
  CHECK_RI("bexti", 5, 2, 1);
  CHECK_RI("bexti", 0x100000000ul, 32, 1);
  CHECK_RI("bexti", 0x100000000ul, 31, 0);
  CHECK_RR("binv", 0, 63, INT64_MIN_);
  CHECK_RR("binv", ONES, 0, 0xfffffffffffffffeul);
  CHECK_RR("binv", 1, 64, 0);
  CHECK_RI("binvi", 0, 32, 0x100000000ul);
  CHECK_RI("binvi", INT64_MIN_, 63, 0);
  CHECK_RR("bset", 0, 63, INT64_MIN_);
  CHECK_RR("bset", 0, 0x45, 0x20);
  CHECK_RR("bset", ONES, 7, ONES);
  CHECK_RI("bseti", 0, 31, 0x80000000);
  CHECK_RI("bseti", 1, 0, 1);
  CHECK_RI("bseti", 0, 63, INT64_MIN_);
}

int main(void) {
  zba();
  zbb_logic();
  zbb_count();
  zbb_minmax_ext();
  zbb_rotate();
  zbb_bytes();
  zbs();
  return rt_done();
}
