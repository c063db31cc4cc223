/* Entry, trap entry and exit, U-mode entry and exit of the bare-metal
 * programs. Traps always run on the trap stack, whose top sscratch holds
 * (from S and from U alike: no nesting). */
  .file "entry.S"   /* a fixed name: else ld names the symbol after a temporary file */
#define FRAME (32 * 8)

  .section .text.start, "ax"
  .globl _start
_start:
  /* What the firmware handed over, before anything here changes it
   * (entry.c prints it). */
  la t0, entry_state
  jal t1, save_entry_state
  la sp, __stack_top
  la t0, __trap_stack_top
  csrw sscratch, t0
  csrw sie, zero
  li t0, 3 << 13          /* sstatus.FS Off: no program uses FP unless it turns it on */
  csrc sstatus, t0
  /* Clear .bss (the loaders leave RAM as it was; both zero it, but say so). */
  la t0, __bss_start
  la t1, __bss_end
1:bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:la t0, trap_direct
  csrw stvec, t0
  call main
  call shutdown

/* save_entry_state: a0..a2 and the S-mode CSRs as they are into the
 * struct entry_state at t0 (rt.h); returns through t1, uses t2 only, no
 * stack (there is none yet at an entry point). fcsr only when FS is on
 * (else reading it would trap). */
  .globl save_entry_state
save_entry_state:
  sd a0, 0(t0)
  sd a1, 8(t0)
  sd a2, 16(t0)
  csrr t2, sstatus
  sd t2, 24(t0)
  csrr t2, sie
  sd t2, 32(t0)
  csrr t2, sip
  sd t2, 40(t0)
  csrr t2, stvec
  sd t2, 48(t0)
  csrr t2, sscratch
  sd t2, 56(t0)
  csrr t2, satp
  sd t2, 64(t0)
  csrr t2, scounteren
  sd t2, 72(t0)
  csrr t2, 0x10a          /* senvcfg */
  sd t2, 80(t0)
  csrr t2, 0x14d          /* stimecmp */
  sd t2, 88(t0)
  rdtime t2
  sd t2, 96(t0)
  csrr t2, sstatus
  srli t2, t2, 13
  andi t2, t2, 3
  beqz t2, 1f
  frcsr t2
  sd t2, 104(t0)
1:csrr t2, scause
  sd t2, 112(t0)
  csrr t2, sepc
  sd t2, 120(t0)
  csrr t2, stval
  sd t2, 128(t0)
  jr t1

/* ---- trap entry: direct mode, and the vectored table ---- */
.macro ENTRY n
  csrrw sp, sscratch, sp
  addi sp, sp, -FRAME
  sd t0, 5*8(sp)
  li t0, \n
  j trap_common
.endm

  .text
  .balign 4
  .globl trap_direct
trap_direct:
  ENTRY -1

  /* Vectored mode: exceptions at BASE, interrupt i at BASE + 4 * i. Each
   * slot is one 4-byte jump (no compressed instructions here). */
  .balign 64
  .globl trap_vectors
trap_vectors:
  .option push
  .option norvc
  j vector0
  j vector1
  j vector2
  j vector3
  j vector4
  j vector5
  j vector6
  j vector7
  j vector8
  j vector9
  j vector10
  j vector11
  j vector12
  j vector13
  j vector14
  j vector15
  .option pop
vector0: ENTRY 0
vector1: ENTRY 1
vector2: ENTRY 2
vector3: ENTRY 3
vector4: ENTRY 4
vector5: ENTRY 5
vector6: ENTRY 6
vector7: ENTRY 7
vector8: ENTRY 8
vector9: ENTRY 9
vector10: ENTRY 10
vector11: ENTRY 11
vector12: ENTRY 12
vector13: ENTRY 13
vector14: ENTRY 14
vector15: ENTRY 15

trap_common:
  sd t0, 0(sp)
  sd x1, 1*8(sp)
  sd x3, 3*8(sp)
  sd x4, 4*8(sp)
  sd x6, 6*8(sp)
  sd x7, 7*8(sp)
  sd x8, 8*8(sp)
  sd x9, 9*8(sp)
  sd x10, 10*8(sp)
  sd x11, 11*8(sp)
  sd x12, 12*8(sp)
  sd x13, 13*8(sp)
  sd x14, 14*8(sp)
  sd x15, 15*8(sp)
  sd x16, 16*8(sp)
  sd x17, 17*8(sp)
  sd x18, 18*8(sp)
  sd x19, 19*8(sp)
  sd x20, 20*8(sp)
  sd x21, 21*8(sp)
  sd x22, 22*8(sp)
  sd x23, 23*8(sp)
  sd x24, 24*8(sp)
  sd x25, 25*8(sp)
  sd x26, 26*8(sp)
  sd x27, 27*8(sp)
  sd x28, 28*8(sp)
  sd x29, 29*8(sp)
  sd x30, 30*8(sp)
  sd x31, 31*8(sp)
  csrr t0, sscratch       /* the interrupted sp */
  sd t0, 2*8(sp)
  addi t0, sp, FRAME
  csrw sscratch, t0       /* the trap stack's top again */
  mv a0, sp
  call trap_handler
  ld x1, 1*8(sp)
  ld x3, 3*8(sp)
  ld x4, 4*8(sp)
  ld x5, 5*8(sp)
  ld x6, 6*8(sp)
  ld x7, 7*8(sp)
  ld x8, 8*8(sp)
  ld x9, 9*8(sp)
  ld x10, 10*8(sp)
  ld x11, 11*8(sp)
  ld x12, 12*8(sp)
  ld x13, 13*8(sp)
  ld x14, 14*8(sp)
  ld x15, 15*8(sp)
  ld x16, 16*8(sp)
  ld x17, 17*8(sp)
  ld x18, 18*8(sp)
  ld x19, 19*8(sp)
  ld x20, 20*8(sp)
  ld x21, 21*8(sp)
  ld x22, 22*8(sp)
  ld x23, 23*8(sp)
  ld x24, 24*8(sp)
  ld x25, 25*8(sp)
  ld x26, 26*8(sp)
  ld x27, 27*8(sp)
  ld x28, 28*8(sp)
  ld x29, 29*8(sp)
  ld x30, 30*8(sp)
  ld x31, 31*8(sp)
  ld x2, 2*8(sp)
  sret

/* ---- U-mode ----
 * long run_user_asm(user_fn fn, long arg, ul user_sp): sret into fn(arg) in
 * U-mode with ra = user_exit; back here (user_return) when the handler sees
 * user_exit's ecall, with a0 = fn's result. */
  .globl run_user_asm
run_user_asm:
  addi sp, sp, -112
  sd ra, 0(sp)
  sd s0, 8(sp)
  sd s1, 16(sp)
  sd s2, 24(sp)
  sd s3, 32(sp)
  sd s4, 40(sp)
  sd s5, 48(sp)
  sd s6, 56(sp)
  sd s7, 64(sp)
  sd s8, 72(sp)
  sd s9, 80(sp)
  sd s10, 88(sp)
  sd s11, 96(sp)
  la t0, user_saved_sp
  sd sp, 0(t0)
  csrw sepc, a0
  li t0, (1 << 8) | (1 << 5)   /* SPP = U, SPIE = 0 */
  csrc sstatus, t0
  mv a0, a1
  mv sp, a2
  la ra, user_exit
  sret

  .globl user_return
user_return:
  la t0, user_saved_sp
  ld sp, 0(t0)
  ld ra, 0(sp)
  ld s0, 8(sp)
  ld s1, 16(sp)
  ld s2, 24(sp)
  ld s3, 32(sp)
  ld s4, 40(sp)
  ld s5, 48(sp)
  ld s6, 56(sp)
  ld s7, 64(sp)
  ld s8, 72(sp)
  ld s9, 80(sp)
  ld s10, 88(sp)
  ld s11, 96(sp)
  addi sp, sp, 112
  ret

  /* The boot hart's entry state: in .data, since _start clears .bss after
   * saving it. */
  .section .data
  .balign 8
  .globl entry_state
entry_state:
  .skip 136

  .section .bss
  .balign 8
user_saved_sp:
  .skip 8

/* The U-mode side: its own page (paging maps it with U = 1). */
  .section .user, "ax"
  .globl user_exit
user_exit:
  li a7, 0x55534552   /* USER_EXIT */
  ecall
1:j 1b
