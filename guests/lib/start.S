/* Program entry: sp points at argc (Linux initial stack). Calls
 * main(argc, argv, envp) and exits with its return value. */
  .file "start.S"   /* a fixed name: else ld names the symbol after a temporary file */
  .section .text._start
  .globl _start
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  ld a0, 0(sp)          /* argc */
  addi a1, sp, 8        /* argv */
  slli t0, a0, 3
  add a2, a1, t0
  addi a2, a2, 8        /* envp */
  call main
  call rt_exit
