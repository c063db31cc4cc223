/* RV64C: executes every RV64C instruction form explicitly (c.addi4spn, c.fld,
 * c.lw, c.ld, c.fsd, c.sw, c.sd, c.nop, c.addi, c.addiw, c.li, c.addi16sp,
 * c.lui, c.srli, c.srai, c.andi, c.sub, c.xor, c.or, c.and, c.subw, c.addw,
 * c.j, c.beqz, c.bnez, c.slli, c.fldsp, c.lwsp, c.ldsp, c.jr, c.mv, c.jalr,
 * c.add, c.fsdsp, c.swsp, c.sdsp; not c.ebreak, which would end the program),
 * and the HINT encodings that must execute as no-ops. Inputs are set with
 * 32-bit instructions; each group then dumps x1..x31 and checks the registers
 * it changed. The groups run on a static stack so that every value printed
 * (sp included) is the same in every VM. The FP loads and stores come last, so
 * that a CPU without F/D still shows everything before them. Exit status 0
 * when all checks pass. */

  .file "rvc.S"

#define RVC .option rvc
#define NORVC .option norvc

/* Registers are saved to regs[] through tp, which no test touches. */
.macro SAVE_REGS
  .irp n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd x\n, \n*8(tp)
  .endr
.endm

/* Prints the heading and zeroes every register but sp, gp and tp, so that a
 * dump shows only what the group itself set. */
.macro GROUP title:req
  la a0, .Ltitle\@
  call rt_section
  .irp n, 1,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    li x\n, 0
  .endr
  .pushsection .rodata
.Ltitle\@: .asciz "\title"
  .popsection
.endm

/* Saves and dumps the registers; the static stack is restored for the calls. */
.macro DUMP label:req
  SAVE_REGS
  la sp, stack_top
  la a0, .Llabel\@
  mv a1, tp
  call rt_dump_regs
  .pushsection .rodata
.Llabel\@: .asciz "\label"
  .popsection
.endm

/* rt_check_u64(what, regs[n], want), want a constant (li) or an address (la). */
.macro CHECK n:req, want:req, what:req
  la a0, .Lwhat\@
  ld a1, \n*8(tp)
  li a2, \want
  call rt_check_u64
  .pushsection .rodata
.Lwhat\@: .asciz "\what"
  .popsection
.endm
.macro CHECKA n:req, want:req, what:req
  la a0, .Lwhat\@
  ld a1, \n*8(tp)
  la a2, \want
  call rt_check_u64
  .pushsection .rodata
.Lwhat\@: .asciz "\what"
  .popsection
.endm

  .text
  NORVC
  .globl main
main:
  la sp, stack_top
  la tp, regs

/* ---------------------------------------------------------------------- */
  GROUP "c.li c.lui c.addi c.addiw c.nop c.mv c.add"
  li a4, 0x7fffffff
  li a5, 0x180000000
  li s1, 0x123456789
  RVC
  c.li a0, 31
  c.li a1, -32
  c.li s0, 0
  c.lui a2, 1
  c.lui a3, 0xfffe0
  c.lui t0, 31
  c.addi a0, 1
  c.addi a1, -1
  c.addiw a4, 1
  c.addiw a5, 0
  c.addiw s1, -32
  c.nop
  c.mv t1, a3
  c.mv t2, a0
  c.add t2, a1
  c.add a3, a2
  c.li s2, 5
  c.addi s2, 31
  c.lui s3, 0xfffff
  NORVC
  DUMP "c.li c.lui c.addi c.addiw c.nop c.mv c.add"
  CHECK 10, 32, "c.li a0, 31; c.addi a0, 1"
  CHECK 11, 0xffffffffffffffdf, "c.li a1, -32; c.addi a1, -1"
  CHECK 8, 0, "c.li s0, 0"
  CHECK 12, 0x1000, "c.lui a2, 1"
  CHECK 6, 0xfffffffffffe0000, "c.lui a3, 0xfffe0 (sign-extended)"
  CHECK 5, 0x1f000, "c.lui t0, 31"
  CHECK 14, 0xffffffff80000000, "c.addiw 0x7fffffff, 1"
  CHECK 15, 0xffffffff80000000, "c.addiw 0x180000000, 0 (sext.w)"
  CHECK 9, 0x23456769, "c.addiw 0x123456789, -32"
  CHECK 7, 0xffffffffffffffff, "c.mv t2, a0; c.add t2, a1"
  CHECK 13, 0xfffffffffffe1000, "c.add a3, a2"
  CHECK 18, 36, "c.li s2, 5; c.addi s2, 31"
  CHECK 19, 0xfffffffffffff000, "c.lui s3, 0xfffff"

/* ---------------------------------------------------------------------- */
  GROUP "c.addi16sp c.addi4spn c.addi sp"
  RVC
  c.addi16sp sp, -512
  c.mv s1, sp
  c.addi16sp sp, 496
  c.addi4spn a0, sp, 4
  c.addi4spn a1, sp, 1020
  c.addi sp, -16
  c.mv a2, sp
  c.addi sp, 16
  NORVC
  DUMP "c.addi16sp c.addi4spn c.addi sp"
  CHECKA 9, stack_top-512, "c.addi16sp sp, -512"
  CHECKA 2, stack_top-16, "c.addi16sp sp, 496"
  CHECKA 10, stack_top-12, "c.addi4spn a0, sp, 4"
  CHECKA 11, stack_top-16+1020, "c.addi4spn a1, sp, 1020"
  CHECKA 12, stack_top-32, "c.addi sp, -16"

/* ---------------------------------------------------------------------- */
  GROUP "c.srli c.srai c.andi c.slli"
  li a0, 0x8000000000000000
  li a1, 0x8000000000000000
  li a2, 0xf0f0f0f0f0f0f0f0
  li a3, 0x8000000000000000
  li a4, -1
  li a5, 0x12345678
  li s0, 0x12345678
  li s1, 1
  li t1, 1
  li t2, 0xffffffff
  li s2, 0x4000000000000000
  li s3, 0x0123456789abcdef
  RVC
  c.srli a0, 63
  c.srai a1, 63
  c.srli a2, 32
  c.srai a3, 1
  c.andi a4, -32
  c.andi a5, 31
  c.andi s0, 0
  c.srli s1, 1
  c.slli t1, 63
  c.slli t2, 32
  c.slli s2, 1
  c.slli s3, 4
  NORVC
  DUMP "c.srli c.srai c.andi c.slli"
  CHECK 10, 1, "c.srli INT64_MIN, 63"
  CHECK 11, 0xffffffffffffffff, "c.srai INT64_MIN, 63"
  CHECK 12, 0xf0f0f0f0, "c.srli 0xf0f0f0f0f0f0f0f0, 32"
  CHECK 13, 0xc000000000000000, "c.srai INT64_MIN, 1"
  CHECK 14, 0xffffffffffffffe0, "c.andi -1, -32"
  CHECK 15, 0x18, "c.andi 0x12345678, 31"
  CHECK 8, 0, "c.andi s0, 0"
  CHECK 9, 0, "c.srli 1, 1"
  CHECK 6, 0x8000000000000000, "c.slli 1, 63"
  CHECK 7, 0xffffffff00000000, "c.slli 0xffffffff, 32"
  CHECK 18, 0x8000000000000000, "c.slli 0x4000000000000000, 1"
  CHECK 19, 0x123456789abcdef0, "c.slli 0x0123456789abcdef, 4"

/* ---------------------------------------------------------------------- */
  GROUP "c.sub c.xor c.or c.and"
  li s0, 5
  li s1, 7
  li a0, 0xff00
  li a1, 0x0ff0
  li a2, 0xff00
  li a3, 0x0ff0
  li a4, 0xff00
  li a5, 0x0ff0
  RVC
  c.sub s0, s1
  c.xor a0, a1
  c.or a2, a3
  c.and a4, a5
  c.sub s1, s1
  NORVC
  DUMP "c.sub c.xor c.or c.and"
  CHECK 8, 0xfffffffffffffffe, "c.sub 5, 7"
  CHECK 10, 0xf0f0, "c.xor 0xff00, 0x0ff0"
  CHECK 12, 0xfff0, "c.or 0xff00, 0x0ff0"
  CHECK 14, 0x0f00, "c.and 0xff00, 0x0ff0"
  CHECK 9, 0, "c.sub s1, s1"

/* ---------------------------------------------------------------------- */
  GROUP "c.subw c.addw"
  li s0, 0x80000000
  li s1, 1
  li a0, 0x7fffffff
  li a1, 1
  li a2, 0xffffffff00000000
  li a3, 0
  li a4, 0x100000005
  li a5, 0xffffffff00000003
  RVC
  c.subw s0, s1
  c.addw a0, a1
  c.subw a2, a3
  c.addw a4, a5
  NORVC
  DUMP "c.subw c.addw"
  CHECK 8, 0x7fffffff, "c.subw 0x80000000, 1"
  CHECK 10, 0xffffffff80000000, "c.addw 0x7fffffff, 1"
  CHECK 12, 0, "c.subw 0xffffffff00000000, 0"
  CHECK 14, 8, "c.addw 0x100000005, 0xffffffff00000003"

/* ---------------------------------------------------------------------- */
  GROUP "c.j c.beqz c.bnez c.jr c.jalr"
  li s0, 0
  li a0, 0
  li a1, 0x100000000
  RVC
  c.j 1f
  c.li s0, 31            /* skipped */
1:
  c.addi s0, 1           /* s0 = 1 */
  c.beqz a0, 2f          /* taken */
  c.addi s0, 8           /* skipped */
2:
  c.bnez a0, 3f          /* not taken */
  c.addi s0, 2           /* s0 = 3 */
3:
  c.beqz a1, 4f          /* not taken: a1 is nonzero in its upper half */
  c.addi s0, 4           /* s0 = 7 */
4:
  c.bnez a1, 5f          /* taken */
  c.addi s0, 16          /* skipped */
5:
  c.j 7f
6:
  c.addi s0, 8           /* s0 = 15, reached by the backward c.bnez */
  c.j 8f
7:
  c.bnez a1, 6b
  c.addi s0, 16          /* skipped */
8:
  NORVC
  la t0, 9f
  RVC
  c.jr t0
  c.addi s0, 16          /* skipped */
9:
  NORVC
  la t1, 10f
  RVC
  c.jalr t1
.Lrvc_link:
  c.j 12f
10:
  c.mv s1, ra
  c.addi s0, 16          /* s0 = 31 */
  c.jr ra
12:
  NORVC
  la t2, 13f
  addi t2, t2, 1
  RVC
  c.jr t2                /* odd target: bit 0 is cleared */
  c.li s0, 0             /* skipped */
13:
  c.beqz a0, 14f         /* taken, far forward */
  .rept 60
  c.li s0, 0             /* skipped */
  .endr
14:
  c.j 16f                /* far forward */
15:
  c.addi s0, 1           /* s0 = 32 */
  c.j 17f
  .rept 500
  c.li s0, 0
  .endr
16:
  c.j 15b                /* far backward */
17:
  NORVC
  DUMP "c.j c.beqz c.bnez c.jr c.jalr"
  CHECK 8, 32, "path taken through the branches (32 = all right)"
  CHECKA 9, .Lrvc_link, "c.jalr link = address after it"
  CHECKA 1, .Lrvc_link, "ra after c.jalr"

/* ---------------------------------------------------------------------- */
  GROUP "c.lw c.ld c.sw c.sd"
  la s1, data
  li s0, 0x1122334455667788
  RVC
  c.lw a0, 0(s1)
  c.lw a1, 4(s1)
  c.ld a2, 8(s1)
  c.lw a3, 124(s1)
  c.ld a4, 248(s1)
  c.sw s0, 16(s1)
  c.sd s0, 24(s1)
  NORVC
  ld a5, 16(s1)
  ld t0, 24(s1)
  DUMP "c.lw c.ld c.sw c.sd"
  CHECK 10, 0xffffffff80000000, "c.lw sign-extends"
  CHECK 11, 0x7fffffff, "c.lw 4"
  CHECK 12, 0x0123456789abcdef, "c.ld 8"
  CHECK 13, 0xfffffffffffffffe, "c.lw 124 (largest offset)"
  CHECK 14, 0xfedcba9876543210, "c.ld 248 (largest offset)"
  CHECK 15, 0x55667788, "c.sw wrote 4 bytes"
  CHECK 5, 0x1122334455667788, "c.sd wrote 8 bytes"

/* ---------------------------------------------------------------------- */
  GROUP "c.lwsp c.ldsp c.swsp c.sdsp"
  li s0, 0x1122334455667788
  la sp, spdata
  RVC
  c.lwsp a0, 0(sp)
  c.lwsp a1, 252(sp)
  c.ldsp a2, 256(sp)
  c.ldsp t0, 504(sp)
  c.swsp s0, 8(sp)
  c.sdsp s0, 16(sp)
  c.sdsp s0, 496(sp)
  c.swsp s0, 244(sp)
  NORVC
  ld t1, 8(sp)
  ld t2, 16(sp)
  ld a3, 496(sp)
  ld a4, 240(sp)
  la a5, spdata
  sub a5, sp, a5
  DUMP "c.lwsp c.ldsp c.swsp c.sdsp"
  CHECK 10, 0xffffffff80000001, "c.lwsp 0 sign-extends"
  CHECK 11, 0x7ffffffe, "c.lwsp 252 (largest offset)"
  CHECK 12, 0x8899aabbccddeeff, "c.ldsp 256"
  CHECK 5, 0xa5a5a5a5a5a5a5a5, "c.ldsp t0, 504 (largest offset)"
  CHECK 6, 0x55667788, "c.swsp 8 wrote 4 bytes"
  CHECK 7, 0x1122334455667788, "c.sdsp 16"
  CHECK 13, 0x1122334455667788, "c.sdsp 496"
  CHECK 14, 0x5566778800000000, "c.swsp 244"
  CHECK 15, 0, "sp unchanged"

/* ---------------------------------------------------------------------- */
  GROUP "HINTs execute as no-ops"
  li a0, 0x1234
  RVC
  .2byte 0x0005          /* c.nop 1 */
  .2byte 0x4005          /* c.li x0, 1 */
  .2byte 0x6005          /* c.lui x0, 1 */
  .2byte 0x802a          /* c.mv x0, a0 */
  .2byte 0x902a          /* c.add x0, a0 */
  .2byte 0x0006          /* c.slli x0, 1 */
  .2byte 0x0501          /* c.addi a0, 0 */
  .2byte 0x0502          /* c.slli a0, 0 */
  NORVC
  mv a1, x0
  DUMP "HINTs"
  CHECK 10, 0x1234, "a0 unchanged"
  CHECK 11, 0, "x0 still zero"

/* ---------------------------------------------------------------------- */
  GROUP "c.fld c.fsd c.fldsp c.fsdsp"
  la s1, fdata
  RVC
  c.fld fs0, 0(s1)
  c.fld fa5, 248(s1)
  c.fsd fs0, 16(s1)
  NORVC
  la sp, fdata
  RVC
  c.fldsp ft0, 8(sp)
  c.fldsp ft11, 504(sp)
  c.fsdsp ft11, 24(sp)
  c.fsdsp fa5, 32(sp)
  NORVC
  fmv.x.d a0, fs0
  fmv.x.d a1, fa5
  ld a2, 16(s1)
  fmv.x.d a3, ft0
  fmv.x.d a4, ft11
  ld a5, 24(sp)
  ld s0, 32(sp)
  DUMP "c.fld c.fsd c.fldsp c.fsdsp"
  CHECK 10, 0x400921fb54442d18, "c.fld 0"
  CHECK 11, 0x7ff0000000000001, "c.fld 248 (a signalling NaN, bits kept)"
  CHECK 12, 0x400921fb54442d18, "c.fsd 16"
  CHECK 13, 0xbff0000000000000, "c.fldsp 8"
  CHECK 14, 0x0000000000000001, "c.fldsp 504 (largest offset)"
  CHECK 15, 0x0000000000000001, "c.fsdsp 24"
  CHECK 8, 0x7ff0000000000001, "c.fsdsp 32"

  call rt_done
  call rt_exit

  .data
  .balign 8
data:
  .word 0x80000000, 0x7fffffff
  .dword 0x0123456789abcdef
  .dword 0, 0
  .org data + 124
  .word 0xfffffffe
  .org data + 248
  .dword 0xfedcba9876543210

  .balign 8
spdata:
  .word 0x80000001
  .org spdata + 252
  .word 0x7ffffffe
  .dword 0x8899aabbccddeeff
  .org spdata + 504
  .dword 0xa5a5a5a5a5a5a5a5

  .balign 8
fdata:
  .dword 0x400921fb54442d18
  .dword 0xbff0000000000000
  .org fdata + 248
  .dword 0x7ff0000000000001
  .org fdata + 504
  .dword 0x0000000000000001

  .bss
  .balign 16
regs:
  .skip 32 * 8
stack:
  .skip 8192
stack_top:
