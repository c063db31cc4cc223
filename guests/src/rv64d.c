/* RV64D: double precision. The shared body (fptest.h) prints every D
 * operation over edge values, integer conversions and the rounding modes
 * (frm and static); this file adds the values, the expected results, fld/fsd
 * keeping bits, and the conversions between single and double (fcvt.s.d
 * rounding, overflowing and underflowing in each mode, its result NaN-boxed;
 * fcvt.d.s exact, NaNs canonicalised). fflags are cleared before each
 * operation and printed after it (NV 10, DZ 08, OF 04, UF 02, NX 01). Exit
 * status 0 when every check passes. */
#define FLEN 64
#include "fptest.h"

#define QNAN 0x7ff8000000000000ul
#define ONE 0x3ff0000000000000ul
#define MONE 0xbff0000000000000ul
#define NZERO 0x8000000000000000ul
#define INF 0x7ff0000000000000ul
#define NINF 0xfff0000000000000ul
#define SNAN 0x7ff0000000000001ul
#define NANP 0xfff8000000012345ul
#define MAXF 0x7feffffffffffffful
#define TWO 0x4000000000000000ul
#define THREE 0x4008000000000000ul
#define HALF 0x3fe0000000000000ul
#define TENTH 0x3fb999999999999aul
static const u64 values[] = {
  0, NZERO, ONE, MONE, TENTH, THREE, 0x0000000000000001ul, 0x000ffffffffffffful,
  0x0010000000000000ul, MAXF, 0xffeffffffffffffful, INF, NINF, QNAN, SNAN, NANP,
};

/* Single <-> double. fcvt.s.d's result is read with fmv.x.d, NaN-boxing included. */
#define ASM_S_D(rm, insn) ({ u64 r_, f_; __asm__ volatile(NORVC CLEAR_FLAGS "fmv.d.x ft0, %2\n fcvt.s.d ft2, ft0" rm \
    "\n fmv.x.d %0, ft2" READ_FLAGS POPRVC : "=&r"(r_), "=&r"(f_) : "r"(a) : "ft0", "ft2"); *fl = f_; r_; })
#define ASM_D_S(rm, insn) ({ u64 r_, f_; __asm__ volatile(NORVC CLEAR_FLAGS "fmv.w.x ft0, %2\n fcvt.d.s ft2, ft0" rm \
    "\n fmv.x.d %0, ft2" READ_FLAGS POPRVC : "=&r"(r_), "=&r"(f_) : "r"(a) : "ft0", "ft2"); *fl = f_; r_; })
DEF_RM(op_cvt_s_d, ASM_S_D, "")
DEF(op_cvt_d_s, ASM_D_S, "")
static const struct op OP_CVT_S_D = {"fcvt.s.d", op_cvt_s_d, F1, 0, 1};
static const struct op OP_CVT_D_S = {"fcvt.d.s", op_cvt_d_s, F1, 0, 0};

#define B(x) (0xffffffff00000000ul | (x))   /* a NaN-boxed single */

#define E(op, rm, a, b, c, want, fl) {&op, rm, a, b, c, want, fl}
static const struct expect expects[] = {
  E(OP_ADD, RNE, INF, NINF, 0, QNAN, 0x10),
  E(OP_ADD, RNE, NANP, ONE, 0, QNAN, 0),
  E(OP_ADD, RNE, SNAN, ONE, 0, QNAN, 0x10),
  E(OP_ADD, RNE, NZERO, NZERO, 0, NZERO, 0),
  E(OP_ADD, RNE, 0, NZERO, 0, 0, 0),
  E(OP_ADD, RDN, 0, NZERO, 0, NZERO, 0),
  E(OP_ADD, RNE, MAXF, MAXF, 0, INF, 0x05),
  E(OP_ADD, RNE, 1, 1, 0, 2, 0),
  E(OP_ADD, RNE, ONE, TENTH, 0, 0x3ff199999999999aul, 0x01),
  E(OP_SUB, RNE, INF, INF, 0, QNAN, 0x10),
  E(OP_SUB, RNE, ONE, ONE, 0, 0, 0),
  E(OP_SUB, RDN, ONE, ONE, 0, NZERO, 0),
  E(OP_MUL, RNE, 0, INF, 0, QNAN, 0x10),
  E(OP_MUL, RNE, MONE, 0, 0, NZERO, 0),
  E(OP_MUL, RNE, 0x0010000000000000ul, 0x0010000000000000ul, 0, 0, 0x03),
  E(OP_MUL, RNE, 0x0010000000000000ul, HALF, 0, 0x0008000000000000ul, 0),
  E(OP_MUL, RNE, 1, HALF, 0, 0, 0x03),
  E(OP_MUL, RNE, QNAN, 0, 0, QNAN, 0),
  E(OP_DIV, RNE, ONE, 0, 0, INF, 0x08),
  E(OP_DIV, RNE, MONE, 0, 0, NINF, 0x08),
  E(OP_DIV, RNE, ONE, NZERO, 0, NINF, 0x08),
  E(OP_DIV, RNE, 0, 0, 0, QNAN, 0x10),
  E(OP_DIV, RNE, INF, INF, 0, QNAN, 0x10),
  E(OP_DIV, RNE, ONE, INF, 0, 0, 0),
  E(OP_DIV, RNE, INF, 0, 0, INF, 0),
  E(OP_DIV, RNE, THREE, ONE, 0, THREE, 0),
  E(OP_DIV, RNE, MAXF, HALF, 0, INF, 0x05),
  E(OP_SQRT, RNE, MONE, 0, 0, QNAN, 0x10),
  E(OP_SQRT, RNE, NZERO, 0, 0, NZERO, 0),
  E(OP_SQRT, RNE, INF, 0, 0, INF, 0),
  E(OP_SQRT, RNE, 0x4010000000000000ul, 0, 0, TWO, 0),
  E(OP_SQRT, RNE, SNAN, 0, 0, QNAN, 0x10),
  E(OP_SQRT, RNE, NANP, 0, 0, QNAN, 0),
  E(OP_SQRT, RNE, NINF, 0, 0, QNAN, 0x10),
  E(OP_MIN, RNE, NZERO, 0, 0, NZERO, 0),
  E(OP_MIN, RNE, 0, NZERO, 0, NZERO, 0),
  E(OP_MAX, RNE, NZERO, 0, 0, 0, 0),
  E(OP_MAX, RNE, 0, NZERO, 0, 0, 0),
  E(OP_MIN, RNE, QNAN, ONE, 0, ONE, 0),
  E(OP_MIN, RNE, SNAN, ONE, 0, ONE, 0x10),
  E(OP_MIN, RNE, NANP, QNAN, 0, QNAN, 0),
  E(OP_MAX, RNE, SNAN, SNAN, 0, QNAN, 0x10),
  E(OP_MAX, RNE, NINF, QNAN, 0, NINF, 0),
  E(OP_SGNJ, RNE, ONE, NZERO, 0, MONE, 0),
  E(OP_SGNJN, RNE, ONE, NZERO, 0, ONE, 0),
  E(OP_SGNJX, RNE, MONE, MONE, 0, ONE, 0),
  E(OP_SGNJ, RNE, QNAN, MONE, 0, 0xfff8000000000000ul, 0),
  E(OP_SGNJN, RNE, SNAN, 0, 0, 0xfff0000000000001ul, 0),
  E(OP_EQ, RNE, QNAN, QNAN, 0, 0, 0),
  E(OP_EQ, RNE, SNAN, ONE, 0, 0, 0x10),
  E(OP_EQ, RNE, NZERO, 0, 0, 1, 0),
  E(OP_LT, RNE, QNAN, ONE, 0, 0, 0x10),
  E(OP_LE, RNE, ONE, QNAN, 0, 0, 0x10),
  E(OP_LT, RNE, NZERO, 0, 0, 0, 0),
  E(OP_LE, RNE, NZERO, 0, 0, 1, 0),
  E(OP_LT, RNE, NINF, INF, 0, 1, 0),
  E(OP_LE, RNE, SNAN, SNAN, 0, 0, 0x10),
  E(OP_CLASS, RNE, NINF, 0, 0, 0x001, 0),
  E(OP_CLASS, RNE, MONE, 0, 0, 0x002, 0),
  E(OP_CLASS, RNE, 0x8000000000000001ul, 0, 0, 0x004, 0),
  E(OP_CLASS, RNE, NZERO, 0, 0, 0x008, 0),
  E(OP_CLASS, RNE, 0, 0, 0, 0x010, 0),
  E(OP_CLASS, RNE, 1, 0, 0, 0x020, 0),
  E(OP_CLASS, RNE, ONE, 0, 0, 0x040, 0),
  E(OP_CLASS, RNE, INF, 0, 0, 0x080, 0),
  E(OP_CLASS, RNE, SNAN, 0, 0, 0x100, 0),
  E(OP_CLASS, RNE, QNAN, 0, 0, 0x200, 0),
  E(OP_CLASS, RNE, NANP, 0, 0, 0x200, 0),
  E(OP_CVT_W, RTZ, QNAN, 0, 0, 0x7fffffff, 0x10),
  E(OP_CVT_W, RTZ, INF, 0, 0, 0x7fffffff, 0x10),
  E(OP_CVT_W, RTZ, NINF, 0, 0, 0xffffffff80000000ul, 0x10),
  E(OP_CVT_W, RTZ, 0x41e0000000000000ul, 0, 0, 0x7fffffff, 0x10),
  E(OP_CVT_W, RTZ, 0xc1e0000000000000ul, 0, 0, 0xffffffff80000000ul, 0),
  E(OP_CVT_W, RTZ, 0xc1e0000000200000ul, 0, 0, 0xffffffff80000000ul, 0x10),
  E(OP_CVT_W, RTZ, 0x41dfffffffc00000ul, 0, 0, 0x7fffffff, 0),
  E(OP_CVT_W, RTZ, 0xbff8000000000000ul, 0, 0, ONES, 0x01),
  E(OP_CVT_W, RTZ, 0x3feccccccccccccdul, 0, 0, 0, 0x01),
  E(OP_CVT_W, RTZ, THREE, 0, 0, 3, 0),
  E(OP_CVT_W, RNE, HALF, 0, 0, 0, 0x01),
  E(OP_CVT_W, RNE, 0x3ff8000000000000ul, 0, 0, 2, 0x01),
  E(OP_CVT_W, RNE, 0x4004000000000000ul, 0, 0, 2, 0x01),
  E(OP_CVT_WU, RTZ, MONE, 0, 0, 0, 0x10),
  E(OP_CVT_WU, RTZ, QNAN, 0, 0, ONES, 0x10),
  E(OP_CVT_WU, RTZ, 0x41f0000000000000ul, 0, 0, ONES, 0x10),
  E(OP_CVT_WU, RTZ, 0x41e0000000000000ul, 0, 0, 0xffffffff80000000ul, 0),
  E(OP_CVT_WU, RTZ, 0x41efffffffe00000ul, 0, 0, ONES, 0),
  E(OP_CVT_WU, RTZ, 0xbfe0000000000000ul, 0, 0, 0, 0x01),
  E(OP_CVT_WU, RTZ, NINF, 0, 0, 0, 0x10),
  E(OP_CVT_WU, RTZ, INF, 0, 0, ONES, 0x10),
  E(OP_CVT_L, RTZ, QNAN, 0, 0, INT64_MAX_, 0x10),
  E(OP_CVT_L, RTZ, NINF, 0, 0, INT64_MIN_, 0x10),
  E(OP_CVT_L, RTZ, 0x43e0000000000000ul, 0, 0, INT64_MAX_, 0x10),
  E(OP_CVT_L, RTZ, 0xc3e0000000000000ul, 0, 0, INT64_MIN_, 0),
  E(OP_CVT_L, RTZ, INF, 0, 0, INT64_MAX_, 0x10),
  E(OP_CVT_LU, RTZ, QNAN, 0, 0, ONES, 0x10),
  E(OP_CVT_LU, RTZ, MONE, 0, 0, 0, 0x10),
  E(OP_CVT_LU, RTZ, 0x43f0000000000000ul, 0, 0, ONES, 0x10),
  E(OP_CVT_LU, RTZ, 0x43e0000000000000ul, 0, 0, INT64_MIN_, 0),
  E(OP_CVT_LU, RTZ, 0xbfe0000000000000ul, 0, 0, 0, 0x01),
  E(OP_CVT_FROM_W, RNE, 0xdeadbeef00000001ul, 0, 0, ONE, 0),
  E(OP_CVT_FROM_W, RNE, 0x80000000, 0, 0, 0xc1e0000000000000ul, 0),
  E(OP_CVT_FROM_W, RNE, 0xffffffff, 0, 0, MONE, 0),
  E(OP_CVT_FROM_W, RNE, 0x7fffffff, 0, 0, 0x41dfffffffc00000ul, 0),
  E(OP_CVT_FROM_WU, RNE, 0xffffffff, 0, 0, 0x41efffffffe00000ul, 0),
  E(OP_CVT_FROM_WU, RNE, 0xdeadbeef00000001ul, 0, 0, ONE, 0),
  E(OP_CVT_FROM_L, RNE, INT64_MIN_, 0, 0, 0xc3e0000000000000ul, 0),
  E(OP_CVT_FROM_L, RNE, ONES, 0, 0, MONE, 0),
  E(OP_CVT_FROM_L, RNE, INT64_MAX_, 0, 0, 0x43e0000000000000ul, 0x01),
  E(OP_CVT_FROM_LU, RNE, ONES, 0, 0, 0x43f0000000000000ul, 0x01),
  E(OP_CVT_FROM_LU, RNE, INT64_MIN_, 0, 0, 0x43e0000000000000ul, 0),
  E(OP_FMV_X, RNE, SNAN, 0, 0, SNAN, 0),
  E(OP_FMV_F, RNE, NANP, 0, 0, NANP, 0),
  E(OP_MADD, RNE, INF, 0, QNAN, QNAN, 0x10),
  E(OP_MADD, RNE, 0, INF, ONE, QNAN, 0x10),
  E(OP_MADD, RNE, INF, ONE, NINF, QNAN, 0x10),
  E(OP_MADD, RNE, TENTH, 0x4024000000000000ul, MONE, 0x3c90000000000000ul, 0),
  E(OP_MADD, RNE, MAXF, TWO, 0xffeffffffffffffful, MAXF, 0),
  E(OP_MSUB, RNE, ONE, TWO, ONE, ONE, 0),
  E(OP_NMADD, RNE, ONE, TWO, ONE, 0xc008000000000000ul, 0),
  E(OP_NMSUB, RNE, ONE, TWO, ONE, MONE, 0),
  E(OP_CVT_S_D, RNE, SNAN, 0, 0, B(0x7fc00000), 0x10),
  E(OP_CVT_S_D, RNE, NANP, 0, 0, B(0x7fc00000), 0),
  E(OP_CVT_S_D, RNE, INF, 0, 0, B(0x7f800000), 0),
  E(OP_CVT_S_D, RNE, NZERO, 0, 0, B(0x80000000), 0),
  E(OP_CVT_S_D, RNE, 1, 0, 0, B(0x00000000), 0x03),
  E(OP_CVT_S_D, RNE, MAXF, 0, 0, B(0x7f800000), 0x05),
  E(OP_CVT_S_D, RNE, ONE, 0, 0, B(0x3f800000), 0),
  E(OP_CVT_D_S, RNE, 0x7f800001, 0, 0, QNAN, 0x10),
  E(OP_CVT_D_S, RNE, 0xffc12345, 0, 0, QNAN, 0),
  E(OP_CVT_D_S, RNE, 0x00000001, 0, 0, 0x36a0000000000000ul, 0),
  E(OP_CVT_D_S, RNE, 0x7f7fffff, 0, 0, 0x47efffffe0000000ul, 0),
  E(OP_CVT_D_S, RNE, 0x3dcccccd, 0, 0, 0x3fb99999a0000000ul, 0),
  E(OP_CVT_D_S, RNE, 0x80000000, 0, 0, NZERO, 0),
  E(OP_CVT_D_S, RNE, 0xff800000, 0, 0, NINF, 0),
};

#define F5(x) {x, x, x, x, x}
#define R(op, a, b, c, w0, w1, w2, w3, w4, fl) {&op, a, b, c, 1, {w0, w1, w2, w3, w4}, F5(fl)}
#define RFL(op, a, b, c, w0, w1, w2, w3, w4, f0, f1, f2, f3, f4) {&op, a, b, c, 1, {w0, w1, w2, w3, w4}, {f0, f1, f2, f3, f4}}
#define PRINT_ONLY(op, a, b, c) {&op, a, b, c, 0, F5(0), F5(0)}
static const struct rounding roundings[] = {
  R(OP_ADD, ONE, 0x3ca0000000000000ul, 0, ONE, ONE, ONE, ONE + 1, ONE + 1, 0x01),
  R(OP_ADD, ONE, 0x3ca0000000000001ul, 0, ONE + 1, ONE, ONE, ONE + 1, ONE + 1, 0x01),
  R(OP_ADD, MONE, 0xbca0000000000000ul, 0, MONE, MONE, MONE + 1, MONE, MONE + 1, 0x01),
  R(OP_ADD, ONE + 1, 0x3ca0000000000000ul, 0, ONE + 2, ONE + 1, ONE + 1, ONE + 2, ONE + 2, 0x01),
  R(OP_SUB, ONE, ONE, 0, 0, 0, NZERO, 0, 0, 0),
  R(OP_MUL, MAXF, TWO, 0, INF, MAXF, MAXF, INF, INF, 0x05),
  R(OP_MUL, 0xffeffffffffffffful, TWO, 0, NINF, 0xffeffffffffffffful, NINF, 0xffeffffffffffffful, NINF, 0x05),
  R(OP_MUL, 1, HALF, 0, 0, 0, 0, 1, 1, 0x03),
  R(OP_MUL, 0x8000000000000001ul, HALF, 0, NZERO, NZERO, 0x8000000000000001ul, NZERO, 0x8000000000000001ul, 0x03),
  PRINT_ONLY(OP_MUL, 0x0010000000000000ul, 0x3feffffffffffffful, 0),
  PRINT_ONLY(OP_MUL, TENTH, TENTH, 0),
  R(OP_DIV, ONE, THREE, 0, 0x3fd5555555555555ul, 0x3fd5555555555555ul, 0x3fd5555555555555ul, 0x3fd5555555555556ul, 0x3fd5555555555555ul, 0x01),
  R(OP_DIV, MONE, THREE, 0, 0xbfd5555555555555ul, 0xbfd5555555555555ul, 0xbfd5555555555556ul, 0xbfd5555555555555ul, 0xbfd5555555555555ul, 0x01),
  R(OP_DIV, TWO, THREE, 0, 0x3fe5555555555555ul, 0x3fe5555555555555ul, 0x3fe5555555555555ul, 0x3fe5555555555556ul, 0x3fe5555555555555ul, 0x01),
  R(OP_SQRT, TWO, 0, 0, 0x3ff6a09e667f3bcdul, 0x3ff6a09e667f3bccul, 0x3ff6a09e667f3bccul, 0x3ff6a09e667f3bcdul, 0x3ff6a09e667f3bcdul, 0x01),
  R(OP_MADD, ONE, ONE, 0x3ca0000000000000ul, ONE, ONE, ONE, ONE + 1, ONE + 1, 0x01),
  R(OP_MADD, TENTH, 0x4024000000000000ul, MONE, 0x3c90000000000000ul, 0x3c90000000000000ul, 0x3c90000000000000ul, 0x3c90000000000000ul, 0x3c90000000000000ul, 0),
  R(OP_MSUB, ONE, ONE, ONE, 0, 0, NZERO, 0, 0, 0),
  PRINT_ONLY(OP_NMADD, ONE, ONE, MONE),
  PRINT_ONLY(OP_NMSUB, ONE, ONE, ONE),
  PRINT_ONLY(OP_NMADD, ONE, ONE, 0x3ca0000000000000ul),
  R(OP_MADD, INF, 0, QNAN, QNAN, QNAN, QNAN, QNAN, QNAN, 0x10),
  R(OP_CVT_W, 0x4004000000000000ul, 0, 0, 2, 2, 2, 3, 3, 0x01),
  R(OP_CVT_W, 0xc004000000000000ul, 0, 0, 0xfffffffffffffffeul, 0xfffffffffffffffeul, 0xfffffffffffffffdul, 0xfffffffffffffffeul, 0xfffffffffffffffdul, 0x01),
  R(OP_CVT_W, HALF, 0, 0, 0, 0, 0, 1, 1, 0x01),
  R(OP_CVT_W, 0xbfe0000000000000ul, 0, 0, 0, 0, ONES, 0, ONES, 0x01),
  R(OP_CVT_W, 0x3ff8000000000000ul, 0, 0, 2, 1, 1, 2, 2, 0x01),
  RFL(OP_CVT_WU, 0xbfe0000000000000ul, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x10, 0x01, 0x10),
  R(OP_CVT_L, 0x4004000000000000ul, 0, 0, 2, 2, 2, 3, 3, 0x01),
  R(OP_CVT_LU, 0x3ff8000000000000ul, 0, 0, 2, 1, 1, 2, 2, 0x01),
  R(OP_CVT_FROM_L, 0x20000000000001ul, 0, 0, 0x4340000000000000ul, 0x4340000000000000ul, 0x4340000000000000ul, 0x4340000000000001ul, 0x4340000000000001ul, 0x01),
  R(OP_CVT_FROM_L, INT64_MAX_, 0, 0, 0x43e0000000000000ul, 0x43dffffffffffffful, 0x43dffffffffffffful, 0x43e0000000000000ul, 0x43e0000000000000ul, 0x01),
  R(OP_CVT_FROM_LU, ONES, 0, 0, 0x43f0000000000000ul, 0x43effffffffffffful, 0x43effffffffffffful, 0x43f0000000000000ul, 0x43f0000000000000ul, 0x01),
  R(OP_CVT_FROM_L, 0x8000000000000001ul, 0, 0, 0xc3e0000000000000ul, 0xc3dffffffffffffful, 0xc3e0000000000000ul, 0xc3dffffffffffffful, 0xc3e0000000000000ul, 0x01),
  R(OP_CVT_S_D, TENTH, 0, 0, B(0x3dcccccd), B(0x3dcccccc), B(0x3dcccccc), B(0x3dcccccd), B(0x3dcccccd), 0x01),
  R(OP_CVT_S_D, MAXF, 0, 0, B(0x7f800000), B(0x7f7fffff), B(0x7f7fffff), B(0x7f800000), B(0x7f800000), 0x05),
  R(OP_CVT_S_D, 0xffeffffffffffffful, 0, 0, B(0xff800000), B(0xff7fffff), B(0xff800000), B(0xff7fffff), B(0xff800000), 0x05),
  R(OP_CVT_S_D, 0x3ff0000010000000ul, 0, 0, B(0x3f800000), B(0x3f800000), B(0x3f800000), B(0x3f800001), B(0x3f800001), 0x01),
  R(OP_CVT_S_D, 1, 0, 0, B(0), B(0), B(0), B(1), B(0), 0x03),   /* far below half the least single: rmm too gives 0 */
};

/* Single values for fcvt.d.s. */
static const u64 single_values[] = {
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3dcccccd, 0x00000001, 0x807fffff, 0x00800000,
  0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc12345,
};

static void conversions_s_d(void) {
  const int nd = sizeof values / sizeof values[0], ns = sizeof single_values / sizeof single_values[0];
  rt_section("fcvt.s.d over the values, each rounding mode (result NaN-boxed)");
  for (int rm = RNE; rm <= RMM; rm++) unary_row(&OP_CVT_S_D, rm, values, nd);
  rt_section("fcvt.d.s over single values");
  rt_puts("inputs:");
  for (int i = 0; i < ns; i++) { rt_putc(' '); rt_put_hex(single_values[i], 8); }
  rt_putc('\n');
  unary_row(&OP_CVT_D_S, RNE, single_values, ns);
}

/* fld and fsd move bits: a signalling NaN stays signalling. */
static void loads_stores(void) {
  static u64 mem[2] = {SNAN, 0};
  u64 raw;
  rt_section("fld fsd keep the bits");
  __asm__ volatile(NORVC "fld ft0, 0(%1)\n fsd ft0, 8(%1)\n fmv.x.d %0, ft0" POPRVC : "=r"(raw) : "r"(mem) : "ft0", "memory");
  rt_check_u64("fld sNaN, fmv.x.d", raw, SNAN);
  rt_check_u64("fsd of it", mem[1], SNAN);
}

int main(void) {
  run_matrices(values, sizeof values / sizeof values[0]);
  run_int_conversions();
  run_fma_matrix(values, sizeof values / sizeof values[0], 0);
  conversions_s_d();
  run_expectations(expects, sizeof expects / sizeof expects[0]);
  run_rounding(roundings, sizeof roundings / sizeof roundings[0]);
  loads_stores();
  check_boxing();
  return rt_done();
}
