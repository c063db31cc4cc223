/* Run one exact instruction from C. Each macro wraps its inline assembly in
 * `.option norvc` so that the assembler cannot swap in a compressed form (a
 * test of `add` must execute the 32-bit `add`), and the operands go through
 * registers so that the compiler cannot fold the result. */
#ifndef RINGVISOR_INSN_H
#define RINGVISOR_INSN_H

#include "rt.h"

#define NORVC ".option push\n.option norvc\n"
#define POPRVC "\n.option pop"

/* rd = insn rs1, rs2 */
#define RR(insn, a, b) ({ u64 r_; __asm__ volatile(NORVC insn " %0, %1, %2" POPRVC \
  : "=r"(r_) : "r"((u64)(a)), "r"((u64)(b))); r_; })
/* rd = insn rs1, imm */
#define RI(insn, a, imm) ({ u64 r_; __asm__ volatile(NORVC insn " %0, %1, %2" POPRVC \
  : "=r"(r_) : "r"((u64)(a)), "i"(imm)); r_; })
/* rd = insn rs1 */
#define R1(insn, a) ({ u64 r_; __asm__ volatile(NORVC insn " %0, %1" POPRVC \
  : "=r"(r_) : "r"((u64)(a))); r_; })

/* Checks with the expected value written out, printing operation and operands. */
#define CHECK_RR(insn, a, b, want) rt_check2(insn, (u64)(a), (u64)(b), RR(insn, a, b), (u64)(want))
#define CHECK_RI(insn, a, imm, want) rt_check2(insn, (u64)(a), (u64)(i64)(imm), RI(insn, a, imm), (u64)(want))
#define CHECK_R1(insn, a, want) rt_check1(insn, (u64)(a), R1(insn, a), (u64)(want))

#define INT64_MIN_ 0x8000000000000000ul
#define INT64_MAX_ 0x7ffffffffffffffful
#define ONES 0xfffffffffffffffful

#endif
