/* The body shared by rv64f.c (FLEN 32) and rv64d.c (FLEN 64): every F or D
 * arithmetic, sign-injection, min/max, compare, classify, move and convert
 * instruction run through inline assembly on raw bit patterns (so that the
 * compiler cannot fold anything), with fflags cleared before each operation
 * and printed after it. Prints, as hex:
 *   - every binary operation over a matrix of edge values (±0, ±1, 0.1, 3,
 *     subnormals, min normal, ±max finite, ±inf, qNaN, sNaN, a negative NaN
 *     with a payload), and every unary one over the same values;
 *   - conversions to and from 32- and 64-bit signed and unsigned integers;
 *   - operations whose result differs per rounding mode, under each of the
 *     five modes set in frm (dyn) and as the instruction's static mode (with
 *     frm set to another mode, so the static one must win).
 * Checks: results written out for the special cases IEEE 754 and the RISC-V
 * spec fix (NaN canonicalisation, invalid/divide-by-zero/overflow/underflow
 * flags, signed zeros, saturating conversions), static == dyn for every
 * rounding case, and (F) every single-precision result NaN-boxed. */
#include "insn.h"

#if FLEN == 32
#define P ".s"
#define MVF "fmv.w.x"
#define MVX "fmv.x.w"
#define HEX 8
#define TNAME "s"
#elif FLEN == 64
#define P ".d"
#define MVF "fmv.d.x"
#define MVX "fmv.x.d"
#define HEX 16
#define TNAME "d"
#else
#error "define FLEN as 32 or 64"
#endif

#define MASK (FLEN == 32 ? 0xfffffffful : ONES)
#define RNE 0
#define RTZ 1
#define RDN 2
#define RUP 3
#define RMM 4
#define DYN 7
static const char *const rm_names[8] = {"rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn"};

/* Float results are read with fmv.x.d so that F's NaN-boxing shows too. */
static int unboxed_results;
static u64 float_result(u64 raw) {
  if (FLEN == 32 && (raw >> 32) != 0xffffffffu) unboxed_results++;
  return raw & MASK;
}

#define CLEAR_FLAGS "fsflags zero\n"
#define READ_FLAGS "\n frflags %1"

/* Each asm computes one instruction; `rm` is ", rne" .. ", dyn" or "". */
#define ASM_FFF(rm, insn) ({ u64 r_, f_; __asm__ volatile(NORVC CLEAR_FLAGS MVF " ft0, %2\n" MVF " ft1, %3\n" \
    insn P " ft2, ft0, ft1" rm "\n fmv.x.d %0, ft2" READ_FLAGS POPRVC \
    : "=&r"(r_), "=&r"(f_) : "r"(a), "r"(b) : "ft0", "ft1", "ft2"); *fl = f_; float_result(r_); })
#define ASM_FF(rm, insn) ({ u64 r_, f_; __asm__ volatile(NORVC CLEAR_FLAGS MVF " ft0, %2\n" \
    insn P " ft2, ft0" rm "\n fmv.x.d %0, ft2" READ_FLAGS POPRVC \
    : "=&r"(r_), "=&r"(f_) : "r"(a) : "ft0", "ft2"); *fl = f_; float_result(r_); })
#define ASM_FFFF(rm, insn) ({ u64 r_, f_; __asm__ volatile(NORVC CLEAR_FLAGS MVF " ft0, %2\n" MVF " ft1, %3\n" MVF " ft2, %4\n" \
    insn P " ft3, ft0, ft1, ft2" rm "\n fmv.x.d %0, ft3" READ_FLAGS POPRVC \
    : "=&r"(r_), "=&r"(f_) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3"); *fl = f_; float_result(r_); })
/* float -> integer register (compares, fclass, fcvt.{w,wu,l,lu}) */
#define ASM_XFF(rm, insn) ({ u64 r_, f_; __asm__ volatile(NORVC CLEAR_FLAGS MVF " ft0, %2\n" MVF " ft1, %3\n" \
    insn P " %0, ft0, ft1" rm READ_FLAGS POPRVC \
    : "=&r"(r_), "=&r"(f_) : "r"(a), "r"(b) : "ft0", "ft1"); *fl = f_; r_; })
#define ASM_XF(rm, insn) ({ u64 r_, f_; __asm__ volatile(NORVC CLEAR_FLAGS MVF " ft0, %2\n" \
    insn " %0, ft0" rm READ_FLAGS POPRVC \
    : "=&r"(r_), "=&r"(f_) : "r"(a) : "ft0"); *fl = f_; r_; })
/* integer register -> float (fcvt.{s,d}.{w,wu,l,lu}) */
#define ASM_FX(rm, insn) ({ u64 r_, f_; __asm__ volatile(NORVC CLEAR_FLAGS \
    insn " ft0, %2" rm "\n fmv.x.d %0, ft0" READ_FLAGS POPRVC \
    : "=&r"(r_), "=&r"(f_) : "r"(a) : "ft0"); *fl = f_; float_result(r_); })

#define RM_CASES(M, ...) switch (rm) { \
  case RNE: return M(", rne", __VA_ARGS__); case RTZ: return M(", rtz", __VA_ARGS__); \
  case RDN: return M(", rdn", __VA_ARGS__); case RUP: return M(", rup", __VA_ARGS__); \
  case RMM: return M(", rmm", __VA_ARGS__); default: return M(", dyn", __VA_ARGS__); }

typedef u64 (*fop)(int rm, u64 a, u64 b, u64 c, u64 *fl);
#define UNUSED (void)rm; (void)a; (void)b; (void)c
#define DEF_RM(fname, M, insn) static u64 fname(int rm, u64 a, u64 b, u64 c, u64 *fl) { UNUSED; RM_CASES(M, insn) }
#define DEF(fname, M, insn) static u64 fname(int rm, u64 a, u64 b, u64 c, u64 *fl) { UNUSED; return M("", insn); }

DEF_RM(op_add, ASM_FFF, "fadd")
DEF_RM(op_sub, ASM_FFF, "fsub")
DEF_RM(op_mul, ASM_FFF, "fmul")
DEF_RM(op_div, ASM_FFF, "fdiv")
DEF_RM(op_sqrt, ASM_FF, "fsqrt")
DEF_RM(op_madd, ASM_FFFF, "fmadd")
DEF_RM(op_msub, ASM_FFFF, "fmsub")
DEF_RM(op_nmadd, ASM_FFFF, "fnmadd")
DEF_RM(op_nmsub, ASM_FFFF, "fnmsub")
DEF(op_min, ASM_FFF, "fmin")
DEF(op_max, ASM_FFF, "fmax")
DEF(op_sgnj, ASM_FFF, "fsgnj")
DEF(op_sgnjn, ASM_FFF, "fsgnjn")
DEF(op_sgnjx, ASM_FFF, "fsgnjx")
DEF(op_eq, ASM_XFF, "feq")
DEF(op_lt, ASM_XFF, "flt")
DEF(op_le, ASM_XFF, "fle")
DEF(op_class, ASM_XF, "fclass" P)
DEF_RM(op_cvt_w, ASM_XF, "fcvt.w" P)
DEF_RM(op_cvt_wu, ASM_XF, "fcvt.wu" P)
DEF_RM(op_cvt_l, ASM_XF, "fcvt.l" P)
DEF_RM(op_cvt_lu, ASM_XF, "fcvt.lu" P)
#if FLEN == 32
DEF_RM(op_cvt_from_w, ASM_FX, "fcvt." TNAME ".w")
DEF_RM(op_cvt_from_wu, ASM_FX, "fcvt." TNAME ".wu")
#else
/* Exact, so GNU as takes no rounding mode for these. */
DEF(op_cvt_from_w, ASM_FX, "fcvt." TNAME ".w")
DEF(op_cvt_from_wu, ASM_FX, "fcvt." TNAME ".wu")
#endif
DEF_RM(op_cvt_from_l, ASM_FX, "fcvt." TNAME ".l")
DEF_RM(op_cvt_from_lu, ASM_FX, "fcvt." TNAME ".lu")

/* fmv.x.w / fmv.x.d: the bits to an integer register (fmv.x.w sign-extends
 * bit 31), and fmv.w.x / fmv.d.x: the bits from one (read back with fmv.x.d,
 * so that F's NaN-boxing shows). Neither touches fflags. */
static u64 op_fmv_x(int rm, u64 a, u64 b, u64 c, u64 *fl) {
  u64 r, f;
  UNUSED;
  __asm__ volatile(NORVC CLEAR_FLAGS MVF " ft0, %2\n" MVX " %0, ft0" READ_FLAGS POPRVC
                   : "=&r"(r), "=&r"(f) : "r"(a) : "ft0");
  *fl = f;
  return r;
}
static u64 op_fmv_f(int rm, u64 a, u64 b, u64 c, u64 *fl) {
  u64 r, f;
  UNUSED;
  __asm__ volatile(NORVC CLEAR_FLAGS MVF " ft0, %2\n fmv.x.d %0, ft0" READ_FLAGS POPRVC
                   : "=&r"(r), "=&r"(f) : "r"(a) : "ft0");
  *fl = f;
  return float_result(r);
}

/* Operation kinds: how many float operands, and whether the result is an integer. */
enum { F1, F2, F3, X1 /* integer operand */ };
struct op {
  const char *name;
  fop fn;
  int kind;
  int int_digits;   /* 0: a floating-point result; else an integer printed with this many hex digits */
  int rounds;       /* has a rounding mode (printed with its results) */
};

static const struct op OP_ADD = {"fadd" P, op_add, F2, 0, 1};
static const struct op OP_SUB = {"fsub" P, op_sub, F2, 0, 1};
static const struct op OP_MUL = {"fmul" P, op_mul, F2, 0, 1};
static const struct op OP_DIV = {"fdiv" P, op_div, F2, 0, 1};
static const struct op OP_SQRT = {"fsqrt" P, op_sqrt, F1, 0, 1};
static const struct op OP_MADD = {"fmadd" P, op_madd, F3, 0, 1};
static const struct op OP_MSUB = {"fmsub" P, op_msub, F3, 0, 1};
static const struct op OP_NMADD = {"fnmadd" P, op_nmadd, F3, 0, 1};
static const struct op OP_NMSUB = {"fnmsub" P, op_nmsub, F3, 0, 1};
static const struct op OP_MIN = {"fmin" P, op_min, F2, 0, 0};
static const struct op OP_MAX = {"fmax" P, op_max, F2, 0, 0};
static const struct op OP_SGNJ = {"fsgnj" P, op_sgnj, F2, 0, 0};
static const struct op OP_SGNJN = {"fsgnjn" P, op_sgnjn, F2, 0, 0};
static const struct op OP_SGNJX = {"fsgnjx" P, op_sgnjx, F2, 0, 0};
static const struct op OP_EQ = {"feq" P, op_eq, F2, 1, 0};
static const struct op OP_LT = {"flt" P, op_lt, F2, 1, 0};
static const struct op OP_LE = {"fle" P, op_le, F2, 1, 0};
static const struct op OP_CLASS = {"fclass" P, op_class, F1, 3, 0};
static const struct op OP_CVT_W = {"fcvt.w" P, op_cvt_w, F1, 16, 1};
static const struct op OP_CVT_WU = {"fcvt.wu" P, op_cvt_wu, F1, 16, 1};
static const struct op OP_CVT_L = {"fcvt.l" P, op_cvt_l, F1, 16, 1};
static const struct op OP_CVT_LU = {"fcvt.lu" P, op_cvt_lu, F1, 16, 1};
static const struct op OP_CVT_FROM_W = {"fcvt." TNAME ".w", op_cvt_from_w, X1, 0, 1};
static const struct op OP_CVT_FROM_WU = {"fcvt." TNAME ".wu", op_cvt_from_wu, X1, 0, 1};
static const struct op OP_CVT_FROM_L = {"fcvt." TNAME ".l", op_cvt_from_l, X1, 0, 1};
static const struct op OP_CVT_FROM_LU = {"fcvt." TNAME ".lu", op_cvt_from_lu, X1, 0, 1};
static const struct op OP_FMV_X = {MVX, op_fmv_x, F1, 16, 0};
static const struct op OP_FMV_F = {MVF, op_fmv_f, X1, 0, 0};

static void set_frm(int rm) { __asm__ volatile("fsrm %0" :: "r"((u64)rm) : "memory"); }

/* Runs op with static rounding mode rm, or with frm = rm and the dyn
 * encoding when dynamic is set. */
static u64 run(const struct op *op, int rm, int dynamic, u64 a, u64 b, u64 c, u64 *fl) {
  if (dynamic) {
    set_frm(rm);
    return op->fn(DYN, a, b, c, fl);
  }
  /* A different mode in frm, which the static one must override. */
  set_frm(rm == RUP ? RDN : RUP);
  u64 r = op->fn(rm, a, b, c, fl);
  set_frm(RNE);
  return r;
}

static void put_value(const struct op *op, u64 v) {
  rt_put_hex(v, op->int_digits ? op->int_digits : HEX);
}

static void put_operands(const struct op *op, u64 a, u64 b, u64 c) {
  rt_put_hex(a, op->kind == X1 ? 16 : HEX);
  if (op->kind == F2 || op->kind == F3) { rt_putc(' '); rt_put_hex(b, HEX); }
  if (op->kind == F3) { rt_putc(' '); rt_put_hex(c, HEX); }
}

static void put_flags(u64 fl) {
  rt_puts("/");
  rt_put_hex(fl, 2);
}

/* ---- the matrix of edge values ------------------------------------------ */

static void matrix(const struct op *op, const u64 *values, int n) {
  for (int i = 0; i < n; i++) {
    rt_puts(op->name); rt_puts(" "); rt_put_hex(values[i], HEX); rt_puts(":");
    for (int j = 0; j < n; j++) {
      u64 fl, r = run(op, RNE, 1, values[i], values[j], 0, &fl);
      rt_putc(' '); put_value(op, r); put_flags(fl);
    }
    rt_putc('\n');
  }
}

static void unary_row(const struct op *op, int rm, const u64 *values, int n) {
  rt_puts(op->name);
  if (op->rounds) { rt_putc(' '); rt_puts(rm_names[rm]); }
  rt_puts(":");
  for (int i = 0; i < n; i++) {
    u64 fl, r = run(op, rm, 1, values[i], 0, 0, &fl);
    rt_putc(' '); put_value(op, r); put_flags(fl);
  }
  rt_putc('\n');
}

/* ---- explicit expectations ------------------------------------------------ */

struct expect {
  const struct op *op;
  int rm;
  u64 a, b, c;
  u64 want;
  u64 flags;
};

static void check_expect(const struct expect *e) {
  u64 fl, r = run(e->op, e->rm, 1, e->a, e->b, e->c, &fl);
  int ok = r == e->want && fl == e->flags;
  rt_puts(ok ? "ok   " : "FAIL ");
  rt_puts(e->op->name); rt_putc(' ');
  if (e->op->rounds) { rt_puts(rm_names[e->rm]); rt_putc(' '); }
  put_operands(e->op, e->a, e->b, e->c);
  rt_puts(" = "); put_value(e->op, r); put_flags(fl);
  if (!ok) {
    rt_puts(" want "); put_value(e->op, e->want); put_flags(e->flags);
    rt_failed();
  }
  rt_putc('\n');
}

/* ---- rounding modes ------------------------------------------------------- */

struct rounding {
  const struct op *op;
  u64 a, b, c;
  int checked;            /* 0: printed only (QEMU decides) */
  u64 want[5];
  u64 flags[5];
};

/* One line per case: the five modes through frm, then as static modes. */
static void rounding_case(const struct rounding *t) {
  u64 dyn_r[5], dyn_f[5];
  rt_puts(t->op->name); rt_putc(' ');
  put_operands(t->op, t->a, t->b, t->c);
  rt_puts("\n  frm:   ");
  for (int rm = 0; rm < 5; rm++) {
    dyn_r[rm] = run(t->op, rm, 1, t->a, t->b, t->c, &dyn_f[rm]);
    rt_puts(rm_names[rm]); rt_putc(' '); put_value(t->op, dyn_r[rm]); put_flags(dyn_f[rm]); rt_putc(' ');
  }
  rt_puts("\n  static:");
  int same = 1;
  for (int rm = 0; rm < 5; rm++) {
    u64 fl, r = run(t->op, rm, 0, t->a, t->b, t->c, &fl);
    rt_putc(' '); rt_puts(rm_names[rm]); rt_putc(' '); put_value(t->op, r); put_flags(fl);
    if (r != dyn_r[rm] || fl != dyn_f[rm]) same = 0;
  }
  rt_putc('\n');
  rt_check_u64("  static rm == frm", same, 1);
  if (t->checked) {
    for (int rm = 0; rm < 5; rm++) {
      if (dyn_r[rm] != t->want[rm] || dyn_f[rm] != t->flags[rm]) {
        rt_puts("FAIL   "); rt_puts(rm_names[rm]); rt_puts(" want "); put_value(t->op, t->want[rm]); put_flags(t->flags[rm]); rt_putc('\n');
        rt_failed();
      }
    }
    rt_puts("  (checked against the expected values)\n");
  }
}

/* ---- the sections each program runs ---------------------------------------- */

static void run_matrices(const u64 *values, int n) {
  rt_section("values (columns of every matrix row, in this order)");
  for (int i = 0; i < n; i++) { rt_putc(' '); rt_put_hex(values[i], HEX); }
  rt_putc('\n');
  static const struct op *const binary[] = {
    &OP_ADD, &OP_SUB, &OP_MUL, &OP_DIV, &OP_MIN, &OP_MAX, &OP_SGNJ, &OP_SGNJN, &OP_SGNJX, &OP_EQ, &OP_LT, &OP_LE,
  };
  for (unsigned k = 0; k < sizeof binary / sizeof binary[0]; k++) {
    rt_section(binary[k]->name);
    rt_puts("(row: first operand; columns: second operand; result/fflags; rne)\n");
    matrix(binary[k], values, n);
  }
  rt_section("unary operations over the values (result/fflags)");
  unary_row(&OP_SQRT, RNE, values, n);
  unary_row(&OP_CLASS, RNE, values, n);
  unary_row(&OP_FMV_X, RNE, values, n);
  for (int rm = RNE; rm <= RMM; rm++) {
    unary_row(&OP_CVT_W, rm, values, n);
    unary_row(&OP_CVT_WU, rm, values, n);
    unary_row(&OP_CVT_L, rm, values, n);
    unary_row(&OP_CVT_LU, rm, values, n);
  }
}

/* Integers converted to floating point. */
static const u64 int_values[] = {
  0, 1, ONES, 0x7fffffff, 0x80000000, 0xffffffff, 0xffffffff80000000ul, 0xdeadbeef00000001ul,
  0x1000001, 0x20000000000001ul, 0x7ffffffffffffffful, 0x8000000000000000ul, 0xfffffffffffffffeul,
  0x0123456789abcdeful,
};

static void run_int_conversions(void) {
  const int n = sizeof int_values / sizeof int_values[0];
  rt_section("integer to float");
  rt_puts("inputs:");
  for (int i = 0; i < n; i++) { rt_putc(' '); rt_put_hex(int_values[i], 16); }
  rt_putc('\n');
  unary_row(&OP_FMV_F, RNE, int_values, n);
  for (int rm = RNE; rm <= RMM; rm++) {
    unary_row(&OP_CVT_FROM_W, rm, int_values, n);
    unary_row(&OP_CVT_FROM_WU, rm, int_values, n);
    unary_row(&OP_CVT_FROM_L, rm, int_values, n);
    unary_row(&OP_CVT_FROM_LU, rm, int_values, n);
  }
}

static void run_fma_matrix(const u64 *values, int n, u64 addend) {
  static const struct op *const fmas[] = {&OP_MADD, &OP_MSUB, &OP_NMADD, &OP_NMSUB};
  rt_section("fused multiply-add with the addend below (row x column + addend)");
  rt_put_hex(addend, HEX); rt_putc('\n');
  for (unsigned k = 0; k < 4; k++) {
    for (int i = 0; i < n; i++) {
      rt_puts(fmas[k]->name); rt_putc(' '); rt_put_hex(values[i], HEX); rt_puts(":");
      for (int j = 0; j < n; j++) {
        u64 fl, r = run(fmas[k], RNE, 1, values[i], values[j], addend, &fl);
        rt_putc(' '); put_value(fmas[k], r); put_flags(fl);
      }
      rt_putc('\n');
    }
  }
}

static void run_expectations(const struct expect *e, int n) {
  rt_section("special cases with the expected result/fflags written out");
  for (int i = 0; i < n; i++) check_expect(&e[i]);
}

static void run_rounding(const struct rounding *t, int n) {
  rt_section("rounding modes: frm (dyn) and static, result/fflags");
  for (int i = 0; i < n; i++) rounding_case(&t[i]);
}

static void check_boxing(void) {
  if (FLEN == 32) rt_check_u64("single-precision results that were not NaN-boxed", (u64)unboxed_results, 0);
}
