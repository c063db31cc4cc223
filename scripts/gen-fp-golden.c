/*
 * The oracle side of scripts/gen-fp-golden.mjs: a static riscv64 Linux
 * program, run under qemu-riscv64, that executes one F or D instruction per
 * input record and reports the destination register and fflags.
 *
 *   riscv64-linux-gnu-gcc -O2 -static -march=rv64gc -o gen-fp-golden scripts/gen-fp-golden.c
 *   ./gen-fp-golden --list          prints the operation names, one a line, in id order
 *   ./gen-fp-golden < in > out      in:  records { u32 op, u32 rm, u64 a, u64 b, u64 c }
 *                                   out: records { u64 result, u32 fflags, u32 0 }
 *
 * Operands are raw 64-bit register values: f operands are moved in with
 * fmv.d.x (so single-precision operands may be NaN-boxed or not, as the
 * caller chooses) and f results are moved out with fmv.x.d (the whole
 * register, so the caller sees the boxing). The rounding mode goes into frm
 * and every instruction uses the dynamic rounding mode.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { uint32_t op, rm; uint64_t a, b, c; } In;
typedef struct { uint64_t result; uint32_t flags, pad; } Out;

#define PRE "fmv.d.x ft0,%[a]\n\tfmv.d.x ft1,%[b]\n\tfmv.d.x ft2,%[c]\n\tcsrw frm,%[rm]\n\tcsrw fflags,zero\n\t"
#define IO [a] "r"(a), [b] "r"(b), [c] "r"(c), [rm] "r"(rm)
#define CLOB "ft0", "ft1", "ft2", "ft3"

/* f,f,f -> f */
#define R4(insn) asm volatile(PRE insn " ft3,ft0,ft1,ft2\n\tfrflags %[fl]\n\tfmv.x.d %[r],ft3" \
    : [r] "=&r"(r), [fl] "=&r"(fl) : IO : CLOB)
/* f,f -> f */
#define FF_F(insn) asm volatile(PRE insn " ft3,ft0,ft1\n\tfrflags %[fl]\n\tfmv.x.d %[r],ft3" \
    : [r] "=&r"(r), [fl] "=&r"(fl) : IO : CLOB)
/* f,f -> x */
#define FF_X(insn) asm volatile(PRE insn " %[r],ft0,ft1\n\tfrflags %[fl]" \
    : [r] "=&r"(r), [fl] "=&r"(fl) : IO : CLOB)
/* f -> f */
#define F_F(insn) asm volatile(PRE insn " ft3,ft0\n\tfrflags %[fl]\n\tfmv.x.d %[r],ft3" \
    : [r] "=&r"(r), [fl] "=&r"(fl) : IO : CLOB)
/* f -> x */
#define F_X(insn) asm volatile(PRE insn " %[r],ft0\n\tfrflags %[fl]" \
    : [r] "=&r"(r), [fl] "=&r"(fl) : IO : CLOB)
/* x -> f */
#define X_F(insn) asm volatile(PRE insn " ft3,%[a]\n\tfrflags %[fl]\n\tfmv.x.d %[r],ft3" \
    : [r] "=&r"(r), [fl] "=&r"(fl) : IO : CLOB)

/* X(name, form, mnemonic): the operation table, in id order. */
#define OPS(X) \
  X(FADD_S, FF_F, "fadd.s") X(FSUB_S, FF_F, "fsub.s") X(FMUL_S, FF_F, "fmul.s") X(FDIV_S, FF_F, "fdiv.s") \
  X(FADD_D, FF_F, "fadd.d") X(FSUB_D, FF_F, "fsub.d") X(FMUL_D, FF_F, "fmul.d") X(FDIV_D, FF_F, "fdiv.d") \
  X(FMIN_S, FF_F, "fmin.s") X(FMAX_S, FF_F, "fmax.s") X(FMIN_D, FF_F, "fmin.d") X(FMAX_D, FF_F, "fmax.d") \
  X(FSGNJ_S, FF_F, "fsgnj.s") X(FSGNJN_S, FF_F, "fsgnjn.s") X(FSGNJX_S, FF_F, "fsgnjx.s") \
  X(FSGNJ_D, FF_F, "fsgnj.d") X(FSGNJN_D, FF_F, "fsgnjn.d") X(FSGNJX_D, FF_F, "fsgnjx.d") \
  X(FEQ_S, FF_X, "feq.s") X(FLT_S, FF_X, "flt.s") X(FLE_S, FF_X, "fle.s") \
  X(FEQ_D, FF_X, "feq.d") X(FLT_D, FF_X, "flt.d") X(FLE_D, FF_X, "fle.d") \
  X(FSQRT_S, F_F, "fsqrt.s") X(FSQRT_D, F_F, "fsqrt.d") \
  X(FCVT_S_D, F_F, "fcvt.s.d") X(FCVT_D_S, F_F, "fcvt.d.s") \
  X(FCVT_W_S, F_X, "fcvt.w.s") X(FCVT_WU_S, F_X, "fcvt.wu.s") X(FCVT_L_S, F_X, "fcvt.l.s") X(FCVT_LU_S, F_X, "fcvt.lu.s") \
  X(FCVT_W_D, F_X, "fcvt.w.d") X(FCVT_WU_D, F_X, "fcvt.wu.d") X(FCVT_L_D, F_X, "fcvt.l.d") X(FCVT_LU_D, F_X, "fcvt.lu.d") \
  X(FCVT_S_W, X_F, "fcvt.s.w") X(FCVT_S_WU, X_F, "fcvt.s.wu") X(FCVT_S_L, X_F, "fcvt.s.l") X(FCVT_S_LU, X_F, "fcvt.s.lu") \
  X(FCVT_D_W, X_F, "fcvt.d.w") X(FCVT_D_WU, X_F, "fcvt.d.wu") X(FCVT_D_L, X_F, "fcvt.d.l") X(FCVT_D_LU, X_F, "fcvt.d.lu") \
  X(FCLASS_S, F_X, "fclass.s") X(FCLASS_D, F_X, "fclass.d") \
  X(FMV_X_W, F_X, "fmv.x.w") X(FMV_X_D, F_X, "fmv.x.d") X(FMV_W_X, X_F, "fmv.w.x") X(FMV_D_X, X_F, "fmv.d.x") \
  X(FMADD_S, R4, "fmadd.s") X(FMSUB_S, R4, "fmsub.s") X(FNMSUB_S, R4, "fnmsub.s") X(FNMADD_S, R4, "fnmadd.s") \
  X(FMADD_D, R4, "fmadd.d") X(FMSUB_D, R4, "fmsub.d") X(FNMSUB_D, R4, "fnmsub.d") X(FNMADD_D, R4, "fnmadd.d")

#define ENUM(name, form, mnem) OP_##name,
enum { OPS(ENUM) OP_COUNT };
#define NAME(name, form, mnem) mnem,
static const char *const names[] = { OPS(NAME) };

static void exec1(const In *in, Out *out) {
  uint64_t a = in->a, b = in->b, c = in->c, rm = in->rm, r = 0, fl = 0;
  switch (in->op) {
#define CASE(name, form, mnem) case OP_##name: form(mnem); break;
    OPS(CASE)
    default:
      fprintf(stderr, "bad op %u\n", in->op);
      exit(2);
  }
  out->result = r;
  out->flags = (uint32_t)fl;
  out->pad = 0;
}

static int readAll(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, (char *)buf + got, n - got);
    if (k <= 0) return got == 0 ? 0 : -1;
    got += (size_t)k;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; i < OP_COUNT; i++) printf("%s\n", names[i]);
    return 0;
  }
  enum { CHUNK = 4096 };
  static In ins[CHUNK];
  static Out outs[CHUNK];
  for (;;) {
    size_t n = 0;
    int status = 1;
    while (n < CHUNK && (status = readAll(0, &ins[n], sizeof(In))) == 1) n++;
    if (status < 0) { fprintf(stderr, "truncated input\n"); return 2; }
    for (size_t i = 0; i < n; i++) exec1(&ins[i], &outs[i]);
    size_t bytes = n * sizeof(Out), done = 0;
    while (done < bytes) {
      ssize_t k = write(1, (char *)outs + done, bytes - done);
      if (k <= 0) { perror("write"); return 2; }
      done += (size_t)k;
    }
    if (n < CHUNK) return 0;
  }
}
