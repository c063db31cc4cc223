/* U-mode routines of the bare-metal programs, in the U page (.user): each
 * is called as fn(arg) by run_user and returns to user_exit. The *_at labels
 * mark the instruction a test expects to trap. */
  .file "user.S"
  .section .user, "ax"
  .option push
  .option norvc

.macro USER name
  .globl \name
\name:
.endm
.macro AT name
  .globl \name
\name:
.endm

USER u_return            /* returns arg + 1 */
  addi a0, a0, 1
  ret
USER u_ecall             /* an ecall (a7 = 0) the handler steps over; returns arg + 1 */
  li a7, 0
AT u_ecall_at
  ecall
  addi a0, a0, 1
  ret
USER u_csr_sstatus
AT u_csr_sstatus_at
  csrr a0, sstatus
  ret
USER u_sret
AT u_sret_at
  sret
  ret
USER u_wfi
AT u_wfi_at
  wfi
  ret
USER u_sfence
AT u_sfence_at
  sfence.vma
  ret
USER u_rdcycle
AT u_rdcycle_at
  rdcycle t0
  ret
USER u_rdtime
AT u_rdtime_at
  rdtime t0
  ret
USER u_rdinstret
AT u_rdinstret_at
  rdinstret t0
  ret
USER u_load              /* returns *(long *)arg */
AT u_load_at
  ld a0, 0(a0)
  ret
USER u_store             /* *(long *)arg = 0x5a; returns arg */
  li t0, 0x5a
AT u_store_at
  sd t0, 0(a0)
  ret
USER u_fetch             /* calls arg; returns what it returns (arg, after a fetch fault) */
  mv t1, ra
  jalr a0
  mv ra, t1
  ret
USER u_spin              /* waits until *(int *)arg != 0; returns arg */
1:lw t0, 0(a0)
  beqz t0, 1b
  ret
USER u_fadd              /* fadd.d ft0, ft0, ft0; returns arg */
AT u_fadd_at
  fadd.d ft0, ft0, ft0
  ret
  .option pop
