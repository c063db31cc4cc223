/* RV64M: mul/mulh/mulhsu/mulhu with every sign combination and the extremes,
 * div/divu/rem/remu including division by zero and INT64_MIN / -1, and every
 * W form (mulw, divw, divuw, remw, remuw) with INT32_MIN / -1, division by zero
 * and the sign extension of 32-bit results. Exit status 0 when all pass. */
#include "insn.h"

static void multiply(void) {
  rt_section("mul: low 64 bits");
  CHECK_RR("mul", 3, 7, 21);
  CHECK_RR("mul", 3, ONES, 0xfffffffffffffffdul);
  CHECK_RR("mul", ONES, ONES, 1);
  CHECK_RR("mul", INT64_MIN_, ONES, INT64_MIN_);
  CHECK_RR("mul", INT64_MAX_, INT64_MAX_, 1);
  CHECK_RR("mul", 0x100000000ul, 0x100000000ul, 0);
  CHECK_RR("mul", 0x123456789ul, 0, 0);

  rt_section("mulh: signed x signed, high 64 bits");
  CHECK_RR("mulh", 3, 7, 0);
  CHECK_RR("mulh", ONES, ONES, 0);
  CHECK_RR("mulh", ONES, 1, ONES);
  CHECK_RR("mulh", INT64_MIN_, INT64_MIN_, 0x4000000000000000ul);
  CHECK_RR("mulh", INT64_MAX_, INT64_MAX_, 0x3ffffffffffffffful);
  CHECK_RR("mulh", INT64_MIN_, INT64_MAX_, 0xc000000000000000ul);
  CHECK_RR("mulh", INT64_MIN_, ONES, 0);
  CHECK_RR("mulh", 0x100000000ul, 0x100000000ul, 1);
  CHECK_RR("mulh", 0xfffffffffffffffeul, 0x8000000000000001ul, 0);

  rt_section("mulhsu: signed rs1 x unsigned rs2, high 64 bits");
  CHECK_RR("mulhsu", ONES, ONES, ONES);
  CHECK_RR("mulhsu", INT64_MIN_, ONES, INT64_MIN_);
  CHECK_RR("mulhsu", 1, ONES, 0);
  CHECK_RR("mulhsu", 0xfffffffffffffffeul, 3, ONES);
  CHECK_RR("mulhsu", INT64_MAX_, ONES, 0x7ffffffffffffffeul);
  CHECK_RR("mulhsu", ONES, 0, 0);
  CHECK_RR("mulhsu", ONES, 1, ONES);

  rt_section("mulhu: unsigned x unsigned, high 64 bits");
  CHECK_RR("mulhu", ONES, ONES, 0xfffffffffffffffeul);
  CHECK_RR("mulhu", INT64_MIN_, 2, 1);
  CHECK_RR("mulhu", 3, 7, 0);
  CHECK_RR("mulhu", 0x100000000ul, 0x100000000ul, 1);
  CHECK_RR("mulhu", INT64_MIN_, INT64_MIN_, 0x4000000000000000ul);

  rt_section("mulw: low 32 bits sign-extended, upper input bits ignored");
  CHECK_RR("mulw", 0x7fffffff, 2, 0xfffffffffffffffeul);
  CHECK_RR("mulw", 0x100000003ul, 0x100000005ul, 15);
  CHECK_RR("mulw", 0x10000, 0x8000, 0xffffffff80000000ul);
  CHECK_RR("mulw", ONES, ONES, 1);
  CHECK_RR("mulw", 0x80000000, ONES, 0xffffffff80000000ul);
}

static void divide(void) {
  rt_section("div divu: round toward zero");
  CHECK_RR("div", 7, 2, 3);
  CHECK_RR("div", 0xfffffffffffffff9ul, 2, 0xfffffffffffffffdul);
  CHECK_RR("div", 7, 0xfffffffffffffffeul, 0xfffffffffffffffdul);
  CHECK_RR("div", 0xfffffffffffffff9ul, 0xfffffffffffffffeul, 3);
  CHECK_RR("divu", 0xfffffffffffffff9ul, 2, 0x7ffffffffffffffcul);
  CHECK_RR("divu", 7, 0xfffffffffffffffeul, 0);
  CHECK_RR("divu", ONES, 1, ONES);

  rt_section("rem remu: sign of the dividend");
  CHECK_RR("rem", 7, 2, 1);
  CHECK_RR("rem", 0xfffffffffffffff9ul, 2, ONES);
  CHECK_RR("rem", 7, 0xfffffffffffffffeul, 1);
  CHECK_RR("rem", 0xfffffffffffffff9ul, 0xfffffffffffffffeul, ONES);
  CHECK_RR("remu", 0xfffffffffffffff9ul, 2, 1);
  CHECK_RR("remu", 7, 0xfffffffffffffffeul, 7);

  rt_section("division by zero");
  CHECK_RR("div", 5, 0, ONES);
  CHECK_RR("div", 0xfffffffffffffffbul, 0, ONES);
  CHECK_RR("div", 0, 0, ONES);
  CHECK_RR("divu", 5, 0, ONES);
  CHECK_RR("divu", 0, 0, ONES);
  CHECK_RR("rem", 5, 0, 5);
  CHECK_RR("rem", 0xfffffffffffffffbul, 0, 0xfffffffffffffffbul);
  CHECK_RR("remu", 0xfffffffffffffffbul, 0, 0xfffffffffffffffbul);
  CHECK_RR("remu", 0, 0, 0);

  rt_section("overflow: INT64_MIN / -1");
  CHECK_RR("div", INT64_MIN_, ONES, INT64_MIN_);
  CHECK_RR("rem", INT64_MIN_, ONES, 0);
  CHECK_RR("divu", INT64_MIN_, ONES, 0);
  CHECK_RR("remu", INT64_MIN_, ONES, INT64_MIN_);
  CHECK_RR("div", INT64_MIN_, 1, INT64_MIN_);
  CHECK_RR("div", INT64_MIN_, 2, 0xc000000000000000ul);
  CHECK_RR("rem", INT64_MIN_, 3, 0xfffffffffffffffeul);
}

static void divide_w(void) {
  rt_section("divw divuw remw remuw: 32-bit operands, results sign-extended");
  CHECK_RR("divw", 0xfffffffffffffff9ul, 2, 0xfffffffffffffffdul);
  CHECK_RR("divw", 0x1fffffff9ul, 2, 0xfffffffffffffffdul);
  CHECK_RR("divw", 0x80000000, ONES, 0xffffffff80000000ul);
  CHECK_RR("divw", 0x80000000, 0xffffffff, 0xffffffff80000000ul);
  CHECK_RR("divw", 0x80000000, 0, ONES);
  CHECK_RR("divw", 5, 0x100000000ul, ONES);
  CHECK_RR("divw", 0x80000000, 2, 0xffffffffc0000000ul);
  CHECK_RR("divuw", 0xfffffffffffffff9ul, 2, 0x7ffffffc);
  CHECK_RR("divuw", 0x80000000, 1, 0xffffffff80000000ul);
  CHECK_RR("divuw", 0x100000006ul, 3, 2);
  CHECK_RR("divuw", 5, 0, ONES);
  CHECK_RR("divuw", 0, 0xffffffff00000000ul, ONES);
  CHECK_RR("divuw", 0x80000000, ONES, 0);
  CHECK_RR("remw", 0xfffffffffffffff9ul, 2, ONES);
  CHECK_RR("remw", 0x80000000, ONES, 0);
  CHECK_RR("remw", 0x80000005, 0, 0xffffffff80000005ul);
  CHECK_RR("remw", 0x123456780000000bul, 0, 11);
  CHECK_RR("remw", 0x7fffffff, 0x10, 15);
  CHECK_RR("remuw", 0x80000000, 0, 0xffffffff80000000ul);
  CHECK_RR("remuw", 0xffffffff00000007ul, 0, 7);
  CHECK_RR("remuw", 0xfffffffffffffff9ul, 2, 1);
  CHECK_RR("remuw", 0x80000001, 0x80000000, 1);
  CHECK_RR("remuw", 0xfffffffe, 0xffffffff, 0xfffffffffffffffeul);
}

int main(void) {
  multiply();
  divide();
  divide_w();
  return rt_done();
}
