/* RV64F: single precision. The shared body (fptest.h) prints every F
 * operation over edge values, integer conversions and the rounding modes
 * (frm and static); this file adds the values, the expected results, flw/fsw
 * keeping bits, and NaN-boxing: a single-precision operand whose upper 32
 * bits are not all ones (put there with fmv.d.x) must read as the canonical
 * NaN, while fmv.x.w and fsw move its low bits untouched. fflags are cleared
 * before each operation and printed after it (NV 10, DZ 08, OF 04, UF 02,
 * NX 01). Exit status 0 when every check passes. */
#define FLEN 32
#include "fptest.h"

#define QNAN 0x7fc00000ul
static const u64 values[] = {
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3dcccccd, 0x40400000, 0x00000001, 0x007fffff,
  0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc12345,
};

#define E(op, rm, a, b, c, want, fl) {&op, rm, a, b, c, want, fl}
static const struct expect expects[] = {
  E(OP_ADD, RNE, 0x7f800000, 0xff800000, 0, QNAN, 0x10),
  E(OP_ADD, RNE, 0xffc12345, 0x3f800000, 0, QNAN, 0),
  E(OP_ADD, RNE, 0x7f800001, 0x3f800000, 0, QNAN, 0x10),
  E(OP_ADD, RNE, 0x80000000, 0x80000000, 0, 0x80000000, 0),
  E(OP_ADD, RNE, 0x00000000, 0x80000000, 0, 0x00000000, 0),
  E(OP_ADD, RDN, 0x00000000, 0x80000000, 0, 0x80000000, 0),
  E(OP_ADD, RNE, 0x7f7fffff, 0x7f7fffff, 0, 0x7f800000, 0x05),
  E(OP_ADD, RNE, 0x00000001, 0x00000001, 0, 0x00000002, 0),
  E(OP_ADD, RNE, 0x3f800000, 0x3dcccccd, 0, 0x3f8ccccd, 0x01),
  E(OP_SUB, RNE, 0x7f800000, 0x7f800000, 0, QNAN, 0x10),
  E(OP_SUB, RNE, 0x3f800000, 0x3f800000, 0, 0x00000000, 0),
  E(OP_SUB, RDN, 0x3f800000, 0x3f800000, 0, 0x80000000, 0),
  E(OP_MUL, RNE, 0x00000000, 0x7f800000, 0, QNAN, 0x10),
  E(OP_MUL, RNE, 0xbf800000, 0x00000000, 0, 0x80000000, 0),
  E(OP_MUL, RNE, 0x00800000, 0x00800000, 0, 0x00000000, 0x03),
  E(OP_MUL, RNE, 0x00800000, 0x3f000000, 0, 0x00400000, 0),
  E(OP_MUL, RNE, 0x00000001, 0x3f000000, 0, 0x00000000, 0x03),
  E(OP_MUL, RNE, 0x7fc00000, 0x00000000, 0, QNAN, 0),
  E(OP_DIV, RNE, 0x3f800000, 0x00000000, 0, 0x7f800000, 0x08),
  E(OP_DIV, RNE, 0xbf800000, 0x00000000, 0, 0xff800000, 0x08),
  E(OP_DIV, RNE, 0x3f800000, 0x80000000, 0, 0xff800000, 0x08),
  E(OP_DIV, RNE, 0x00000000, 0x00000000, 0, QNAN, 0x10),
  E(OP_DIV, RNE, 0x7f800000, 0x7f800000, 0, QNAN, 0x10),
  E(OP_DIV, RNE, 0x3f800000, 0x7f800000, 0, 0x00000000, 0),
  E(OP_DIV, RNE, 0x7f800000, 0x00000000, 0, 0x7f800000, 0),
  E(OP_DIV, RNE, 0x40400000, 0x3f800000, 0, 0x40400000, 0),
  E(OP_DIV, RNE, 0x7f7fffff, 0x3f000000, 0, 0x7f800000, 0x05),
  E(OP_SQRT, RNE, 0xbf800000, 0, 0, QNAN, 0x10),
  E(OP_SQRT, RNE, 0x80000000, 0, 0, 0x80000000, 0),
  E(OP_SQRT, RNE, 0x7f800000, 0, 0, 0x7f800000, 0),
  E(OP_SQRT, RNE, 0x40800000, 0, 0, 0x40000000, 0),
  E(OP_SQRT, RNE, 0x7f800001, 0, 0, QNAN, 0x10),
  E(OP_SQRT, RNE, 0xffc12345, 0, 0, QNAN, 0),
  E(OP_SQRT, RNE, 0xff800000, 0, 0, QNAN, 0x10),
  E(OP_MIN, RNE, 0x80000000, 0x00000000, 0, 0x80000000, 0),
  E(OP_MIN, RNE, 0x00000000, 0x80000000, 0, 0x80000000, 0),
  E(OP_MAX, RNE, 0x80000000, 0x00000000, 0, 0x00000000, 0),
  E(OP_MAX, RNE, 0x00000000, 0x80000000, 0, 0x00000000, 0),
  E(OP_MIN, RNE, 0x7fc00000, 0x3f800000, 0, 0x3f800000, 0),
  E(OP_MIN, RNE, 0x7f800001, 0x3f800000, 0, 0x3f800000, 0x10),
  E(OP_MIN, RNE, 0xffc12345, 0x7fc00000, 0, QNAN, 0),
  E(OP_MAX, RNE, 0x7f800001, 0x7f800001, 0, QNAN, 0x10),
  E(OP_MAX, RNE, 0xff800000, 0x7fc00000, 0, 0xff800000, 0),
  E(OP_SGNJ, RNE, 0x3f800000, 0x80000000, 0, 0xbf800000, 0),
  E(OP_SGNJN, RNE, 0x3f800000, 0x80000000, 0, 0x3f800000, 0),
  E(OP_SGNJX, RNE, 0xbf800000, 0xbf800000, 0, 0x3f800000, 0),
  E(OP_SGNJ, RNE, 0x7fc00000, 0xbf800000, 0, 0xffc00000, 0),
  E(OP_SGNJN, RNE, 0x7f800001, 0x00000000, 0, 0xff800001, 0),
  E(OP_EQ, RNE, 0x7fc00000, 0x7fc00000, 0, 0, 0),
  E(OP_EQ, RNE, 0x7f800001, 0x3f800000, 0, 0, 0x10),
  E(OP_EQ, RNE, 0x80000000, 0x00000000, 0, 1, 0),
  E(OP_LT, RNE, 0x7fc00000, 0x3f800000, 0, 0, 0x10),
  E(OP_LE, RNE, 0x3f800000, 0x7fc00000, 0, 0, 0x10),
  E(OP_LT, RNE, 0x80000000, 0x00000000, 0, 0, 0),
  E(OP_LE, RNE, 0x80000000, 0x00000000, 0, 1, 0),
  E(OP_LT, RNE, 0xff800000, 0x7f800000, 0, 1, 0),
  E(OP_LE, RNE, 0x7f800001, 0x7f800001, 0, 0, 0x10),
  E(OP_CLASS, RNE, 0xff800000, 0, 0, 0x001, 0),
  E(OP_CLASS, RNE, 0xbf800000, 0, 0, 0x002, 0),
  E(OP_CLASS, RNE, 0x80000001, 0, 0, 0x004, 0),
  E(OP_CLASS, RNE, 0x80000000, 0, 0, 0x008, 0),
  E(OP_CLASS, RNE, 0x00000000, 0, 0, 0x010, 0),
  E(OP_CLASS, RNE, 0x00000001, 0, 0, 0x020, 0),
  E(OP_CLASS, RNE, 0x3f800000, 0, 0, 0x040, 0),
  E(OP_CLASS, RNE, 0x7f800000, 0, 0, 0x080, 0),
  E(OP_CLASS, RNE, 0x7f800001, 0, 0, 0x100, 0),
  E(OP_CLASS, RNE, 0x7fc00000, 0, 0, 0x200, 0),
  E(OP_CLASS, RNE, 0xffc12345, 0, 0, 0x200, 0),
  E(OP_CVT_W, RTZ, 0x7fc00000, 0, 0, 0x7fffffff, 0x10),
  E(OP_CVT_W, RTZ, 0x7f800000, 0, 0, 0x7fffffff, 0x10),
  E(OP_CVT_W, RTZ, 0xff800000, 0, 0, 0xffffffff80000000ul, 0x10),
  E(OP_CVT_W, RTZ, 0x4f000000, 0, 0, 0x7fffffff, 0x10),
  E(OP_CVT_W, RTZ, 0xcf000000, 0, 0, 0xffffffff80000000ul, 0),
  E(OP_CVT_W, RTZ, 0xbfc00000, 0, 0, ONES, 0x01),
  E(OP_CVT_W, RTZ, 0x3f666666, 0, 0, 0, 0x01),
  E(OP_CVT_W, RTZ, 0x40400000, 0, 0, 3, 0),
  E(OP_CVT_W, RNE, 0x3f000000, 0, 0, 0, 0x01),
  E(OP_CVT_W, RNE, 0x3fc00000, 0, 0, 2, 0x01),
  E(OP_CVT_W, RNE, 0x40200000, 0, 0, 2, 0x01),
  E(OP_CVT_WU, RTZ, 0xbf800000, 0, 0, 0, 0x10),
  E(OP_CVT_WU, RTZ, 0x7fc00000, 0, 0, ONES, 0x10),
  E(OP_CVT_WU, RTZ, 0x4f800000, 0, 0, ONES, 0x10),
  E(OP_CVT_WU, RTZ, 0x4f000000, 0, 0, 0xffffffff80000000ul, 0),
  E(OP_CVT_WU, RTZ, 0xbf000000, 0, 0, 0, 0x01),
  E(OP_CVT_WU, RTZ, 0xff800000, 0, 0, 0, 0x10),
  E(OP_CVT_WU, RTZ, 0x7f800000, 0, 0, ONES, 0x10),
  E(OP_CVT_L, RTZ, 0x7fc00000, 0, 0, INT64_MAX_, 0x10),
  E(OP_CVT_L, RTZ, 0xff800000, 0, 0, INT64_MIN_, 0x10),
  E(OP_CVT_L, RTZ, 0x5f000000, 0, 0, INT64_MAX_, 0x10),
  E(OP_CVT_L, RTZ, 0xdf000000, 0, 0, INT64_MIN_, 0),
  E(OP_CVT_L, RTZ, 0x7f800000, 0, 0, INT64_MAX_, 0x10),
  E(OP_CVT_LU, RTZ, 0x7fc00000, 0, 0, ONES, 0x10),
  E(OP_CVT_LU, RTZ, 0xbf800000, 0, 0, 0, 0x10),
  E(OP_CVT_LU, RTZ, 0x5f800000, 0, 0, ONES, 0x10),
  E(OP_CVT_LU, RTZ, 0x5f000000, 0, 0, INT64_MIN_, 0),
  E(OP_CVT_LU, RTZ, 0xbf000000, 0, 0, 0, 0x01),
  E(OP_CVT_FROM_W, RNE, 0xdeadbeef00000001ul, 0, 0, 0x3f800000, 0),
  E(OP_CVT_FROM_W, RNE, 0x80000000, 0, 0, 0xcf000000, 0),
  E(OP_CVT_FROM_W, RNE, 0xffffffff, 0, 0, 0xbf800000, 0),
  E(OP_CVT_FROM_W, RNE, 0x7fffffff, 0, 0, 0x4f000000, 0x01),
  E(OP_CVT_FROM_WU, RNE, 0xffffffff, 0, 0, 0x4f800000, 0x01),
  E(OP_CVT_FROM_WU, RNE, 0xdeadbeef00000001ul, 0, 0, 0x3f800000, 0),
  E(OP_CVT_FROM_WU, RNE, 0x80000000, 0, 0, 0x4f000000, 0),
  E(OP_CVT_FROM_L, RNE, INT64_MIN_, 0, 0, 0xdf000000, 0),
  E(OP_CVT_FROM_L, RNE, ONES, 0, 0, 0xbf800000, 0),
  E(OP_CVT_FROM_L, RNE, 0, 0, 0, 0, 0),
  E(OP_CVT_FROM_L, RNE, 0x7fffffff, 0, 0, 0x4f000000, 0x01),
  E(OP_CVT_FROM_LU, RNE, ONES, 0, 0, 0x5f800000, 0x01),
  E(OP_CVT_FROM_LU, RNE, INT64_MIN_, 0, 0, 0x5f000000, 0),
  E(OP_FMV_X, RNE, 0x80000000, 0, 0, 0xffffffff80000000ul, 0),
  E(OP_FMV_X, RNE, 0x7f800001, 0, 0, 0x7f800001, 0),
  E(OP_FMV_F, RNE, 0x123456787f800001ul, 0, 0, 0x7f800001, 0),
  E(OP_MADD, RNE, 0x7f800000, 0x00000000, QNAN, QNAN, 0x10),
  E(OP_MADD, RNE, 0x00000000, 0x7f800000, 0x3f800000, QNAN, 0x10),
  E(OP_MADD, RNE, 0x7f800000, 0x3f800000, 0xff800000, QNAN, 0x10),
  E(OP_MADD, RNE, 0x3dcccccd, 0x41200000, 0xbf800000, 0x32800000, 0),
  E(OP_MADD, RNE, 0x7f7fffff, 0x40000000, 0xff7fffff, 0x7f7fffff, 0),
  E(OP_MSUB, RNE, 0x3f800000, 0x40000000, 0x3f800000, 0x3f800000, 0),
  E(OP_NMADD, RNE, 0x3f800000, 0x40000000, 0x3f800000, 0xc0400000, 0),
  E(OP_NMSUB, RNE, 0x3f800000, 0x40000000, 0x3f800000, 0xbf800000, 0),
};

#define F5(x) {x, x, x, x, x}
#define R(op, a, b, c, w0, w1, w2, w3, w4, fl) {&op, a, b, c, 1, {w0, w1, w2, w3, w4}, F5(fl)}
#define RFL(op, a, b, c, w0, w1, w2, w3, w4, f0, f1, f2, f3, f4) {&op, a, b, c, 1, {w0, w1, w2, w3, w4}, {f0, f1, f2, f3, f4}}
#define PRINT_ONLY(op, a, b, c) {&op, a, b, c, 0, F5(0), F5(0)}
static const struct rounding roundings[] = {
  R(OP_ADD, 0x3f800000, 0x33800000, 0, 0x3f800000, 0x3f800000, 0x3f800000, 0x3f800001, 0x3f800001, 0x01),
  R(OP_ADD, 0x3f800000, 0x33800001, 0, 0x3f800001, 0x3f800000, 0x3f800000, 0x3f800001, 0x3f800001, 0x01),
  R(OP_ADD, 0xbf800000, 0xb3800000, 0, 0xbf800000, 0xbf800000, 0xbf800001, 0xbf800000, 0xbf800001, 0x01),
  R(OP_ADD, 0x3f800001, 0x33800000, 0, 0x3f800002, 0x3f800001, 0x3f800001, 0x3f800002, 0x3f800002, 0x01),
  R(OP_SUB, 0x3f800000, 0x3f800000, 0, 0, 0, 0x80000000, 0, 0, 0),
  R(OP_MUL, 0x7f7fffff, 0x40000000, 0, 0x7f800000, 0x7f7fffff, 0x7f7fffff, 0x7f800000, 0x7f800000, 0x05),
  R(OP_MUL, 0xff7fffff, 0x40000000, 0, 0xff800000, 0xff7fffff, 0xff800000, 0xff7fffff, 0xff800000, 0x05),
  R(OP_MUL, 0x00000001, 0x3f000000, 0, 0, 0, 0, 0x00000001, 0x00000001, 0x03),
  R(OP_MUL, 0x80000001, 0x3f000000, 0, 0x80000000, 0x80000000, 0x80000001, 0x80000000, 0x80000001, 0x03),
  PRINT_ONLY(OP_MUL, 0x00800000, 0x3f7fffff, 0),
  PRINT_ONLY(OP_MUL, 0x3dcccccd, 0x3dcccccd, 0),
  R(OP_DIV, 0x3f800000, 0x40400000, 0, 0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaab, 0x01),
  R(OP_DIV, 0xbf800000, 0x40400000, 0, 0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab, 0x01),
  R(OP_DIV, 0x40000000, 0x40400000, 0, 0x3f2aaaab, 0x3f2aaaaa, 0x3f2aaaaa, 0x3f2aaaab, 0x3f2aaaab, 0x01),
  R(OP_SQRT, 0x40000000, 0, 0, 0x3fb504f3, 0x3fb504f3, 0x3fb504f3, 0x3fb504f4, 0x3fb504f3, 0x01),
  R(OP_MADD, 0x3f800000, 0x3f800000, 0x33800000, 0x3f800000, 0x3f800000, 0x3f800000, 0x3f800001, 0x3f800001, 0x01),
  R(OP_MADD, 0x3dcccccd, 0x41200000, 0xbf800000, 0x32800000, 0x32800000, 0x32800000, 0x32800000, 0x32800000, 0),
  R(OP_MSUB, 0x3f800000, 0x3f800000, 0x3f800000, 0, 0, 0x80000000, 0, 0, 0),
  PRINT_ONLY(OP_NMADD, 0x3f800000, 0x3f800000, 0xbf800000),
  PRINT_ONLY(OP_NMSUB, 0x3f800000, 0x3f800000, 0x3f800000),
  PRINT_ONLY(OP_NMADD, 0x3f800000, 0x3f800000, 0x33800000),
  R(OP_MADD, 0x7f800000, 0x00000000, QNAN, QNAN, QNAN, QNAN, QNAN, QNAN, 0x10),
  R(OP_CVT_W, 0x40200000, 0, 0, 2, 2, 2, 3, 3, 0x01),
  R(OP_CVT_W, 0xc0200000, 0, 0, 0xfffffffffffffffeul, 0xfffffffffffffffeul, 0xfffffffffffffffdul, 0xfffffffffffffffeul, 0xfffffffffffffffdul, 0x01),
  R(OP_CVT_W, 0x3f000000, 0, 0, 0, 0, 0, 1, 1, 0x01),
  R(OP_CVT_W, 0xbf000000, 0, 0, 0, 0, ONES, 0, ONES, 0x01),
  R(OP_CVT_W, 0x3fc00000, 0, 0, 2, 1, 1, 2, 2, 0x01),
  RFL(OP_CVT_WU, 0xbf000000, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x10, 0x01, 0x10),
  R(OP_CVT_L, 0x40200000, 0, 0, 2, 2, 2, 3, 3, 0x01),
  R(OP_CVT_LU, 0x3fc00000, 0, 0, 2, 1, 1, 2, 2, 0x01),
  R(OP_CVT_FROM_W, 0x01000001, 0, 0, 0x4b800000, 0x4b800000, 0x4b800000, 0x4b800001, 0x4b800001, 0x01),
  R(OP_CVT_FROM_L, INT64_MAX_, 0, 0, 0x5f000000, 0x5effffff, 0x5effffff, 0x5f000000, 0x5f000000, 0x01),
  R(OP_CVT_FROM_WU, 0xffffffff, 0, 0, 0x4f800000, 0x4f7fffff, 0x4f7fffff, 0x4f800000, 0x4f800000, 0x01),
  R(OP_CVT_FROM_LU, ONES, 0, 0, 0x5f800000, 0x5f7fffff, 0x5f7fffff, 0x5f800000, 0x5f800000, 0x01),
  R(OP_CVT_FROM_L, 0x8000000000000001ul, 0, 0, 0xdf000000, 0xdeffffff, 0xdf000000, 0xdeffffff, 0xdf000000, 0x01),
};

/* flw and fsw move bits: a signalling NaN stays signalling. */
static void loads_stores(void) {
  static u32 mem[2] = {0x7f800001, 0};
  u64 raw;
  rt_section("flw fsw keep the bits; flw NaN-boxes");
  __asm__ volatile(NORVC "flw ft0, 0(%1)\n fsw ft0, 4(%1)\n fmv.x.d %0, ft0" POPRVC : "=r"(raw) : "r"(mem) : "ft0", "memory");
  rt_check_u64("flw sNaN, fmv.x.d (boxed, bits kept)", raw, 0xffffffff7f800001ul);
  rt_check_u64("fsw of it", mem[1], 0x7f800001);
}

/* op on operands put in with fmv.d.x (so possibly not NaN-boxed); the result
 * read with fmv.x.d (BOXF: floating-point destination) or directly (BOXX:
 * integer destination). The fflags it raised go to box_flags. */
static u64 box_flags;
#define BOXF(insn, a, b) ({ u64 r_; __asm__ volatile(NORVC CLEAR_FLAGS "fmv.d.x ft0, %2\n fmv.d.x ft1, %3\n" \
    insn "\n fmv.x.d %0, ft2" READ_FLAGS POPRVC : "=&r"(r_), "=&r"(box_flags) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1", "ft2"); r_; })
#define BOXX(insn, a, b) ({ u64 r_; __asm__ volatile(NORVC CLEAR_FLAGS "fmv.d.x ft0, %2\n fmv.d.x ft1, %3\n" \
    insn READ_FLAGS POPRVC : "=&r"(r_), "=&r"(box_flags) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1"); r_; })

static void box_check(const char *what, u64 got, u64 want, u64 want_flags) {
  rt_check_u64(what, got, want);
  rt_check_u64("  fflags", box_flags, want_flags);
}

static void nan_boxing(void) {
  const u64 unboxed = 0x000000003f800000ul, boxed = 0xffffffff3f800000ul, almost = 0xfffffffe3f800000ul;
  const u64 junk = 0x123456789abcdef0ul;
  static u32 out;
  u64 r;
  rt_section("NaN-boxing: unboxed single operands read as the canonical NaN");
  box_check("fadd.s unboxed 1.0 + unboxed 1.0", BOXF("fadd.s ft2, ft0, ft1, rne", unboxed, unboxed), 0xffffffff7fc00000ul, 0);
  box_check("fadd.s boxed 1.0 + boxed 1.0", BOXF("fadd.s ft2, ft0, ft1, rne", boxed, boxed), 0xffffffff40000000ul, 0);
  box_check("fadd.s upper bits fffffffe + boxed 1.0", BOXF("fadd.s ft2, ft0, ft1, rne", almost, boxed), 0xffffffff7fc00000ul, 0);
  box_check("fmul.s boxed sNaN x unboxed (NV from the sNaN)", BOXF("fmul.s ft2, ft0, ft1, rne", 0xffffffff7f800001ul, unboxed), 0xffffffff7fc00000ul, 0x10);
  box_check("fmin.s unboxed, boxed 1.0 (a NaN loses)", BOXF("fmin.s ft2, ft0, ft1", unboxed, boxed), boxed, 0);
  box_check("fsgnj.s unboxed, boxed -1.0", BOXF("fsgnj.s ft2, ft0, ft1", junk, 0xffffffffbf800000ul), 0xffffffffffc00000ul, 0);
  box_check("fsgnjx.s boxed 1.0, unboxed", BOXF("fsgnjx.s ft2, ft0, ft1", boxed, junk), boxed, 0);
  box_check("fsqrt.s unboxed", BOXF("fsqrt.s ft2, ft0, rne", junk, 0), 0xffffffff7fc00000ul, 0);
  box_check("fmadd.s boxed 1.0 x boxed 1.0 + unboxed", BOXF("fmadd.s ft2, ft0, ft0, ft1, rne", boxed, junk), 0xffffffff7fc00000ul, 0);
  box_check("fcvt.d.s unboxed", BOXF("fcvt.d.s ft2, ft0", junk, 0), 0x7ff8000000000000ul, 0);
  box_check("fclass.s unboxed (quiet NaN)", BOXX("fclass.s %0, ft0", junk, 0), 0x200, 0);
  box_check("feq.s unboxed, unboxed", BOXX("feq.s %0, ft0, ft1", junk, junk), 0, 0);
  box_check("flt.s unboxed, boxed (NV)", BOXX("flt.s %0, ft0, ft1", junk, boxed), 0, 0x10);
  box_check("fcvt.w.s unboxed (NV)", BOXX("fcvt.w.s %0, ft0, rtz", junk, 0), 0x7fffffff, 0x10);
  rt_section("NaN-boxing: moves and stores take the low bits as they are");
  box_check("fmv.x.w unboxed: low 32 bits sign-extended", BOXX("fmv.x.w %0, ft0", junk, 0), 0xffffffff9abcdef0ul, 0);
  __asm__ volatile(NORVC "fmv.d.x ft0, %1\n fsw ft0, 0(%2)\n fmv.w.x ft1, %1\n fmv.x.d %0, ft1" POPRVC
                   : "=&r"(r) : "r"(junk), "r"(&out) : "ft0", "ft1", "memory");
  rt_check_u64("fsw unboxed: stores the low 32 bits", out, 0x9abcdef0);
  rt_check_u64("fmv.w.x of a 64-bit value: low 32 bits, NaN-boxed", r, 0xffffffff9abcdef0ul);
  __asm__ volatile(NORVC "fmv.d.x ft0, %1\n fcvt.s.d ft1, ft0, rne\n fmv.x.d %0, ft1" POPRVC
                   : "=&r"(r) : "r"(0x3ff0000000000000ul) : "ft0", "ft1");
  rt_check_u64("fcvt.s.d result NaN-boxed", r, boxed);
}

int main(void) {
  run_matrices(values, sizeof values / sizeof values[0]);
  run_int_conversions();
  run_fma_matrix(values, sizeof values / sizeof values[0], 0x00000000);
  run_expectations(expects, sizeof expects / sizeof expects[0]);
  run_rounding(roundings, sizeof roundings / sizeof roundings[0]);
  loads_stores();
  nan_boxing();
  check_boxing();
  return rt_done();
}
