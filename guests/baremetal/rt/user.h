/* The U-mode routines of rt/user.S. */
#ifndef BAREMETAL_USER_H
#define BAREMETAL_USER_H
#define U(name) extern long name(long); extern char name##_at[];
extern long u_return(long);
U(u_ecall) U(u_csr_sstatus) U(u_sret) U(u_wfi) U(u_sfence) U(u_rdcycle) U(u_rdtime) U(u_rdinstret)
U(u_load) U(u_store) U(u_fadd)
extern long u_fetch(long);
extern long u_spin(long);
#undef U
#endif
