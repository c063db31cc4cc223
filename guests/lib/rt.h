/* A tiny freestanding runtime for ringvisor's own guest programs: no libc,
 * only the system calls the CPU issue's process VM serves (write, exit, brk),
 * so that a program tests the CPU and nothing else. Everything a program
 * prints must be the same under every correct VM: no addresses of the stack,
 * no clock values. */
#ifndef RINGVISOR_RT_H
#define RINGVISOR_RT_H

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long size_t;

long rt_syscall(long nr, long a0, long a1, long a2);
long rt_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
void rt_exit(int status) __attribute__((noreturn));
long rt_write(int fd, const void *buf, size_t len);
void *rt_brk(void *addr);

size_t rt_strlen(const char *s);
void rt_puts(const char *s);            /* without adding a newline */
void rt_put_hex(u64 v, int digits);     /* fixed width, no prefix */
void rt_put_short_hex(u64 v);           /* "0x" and no leading zeros */
void rt_put_dec(i64 v);
void rt_put_udec(u64 v);
void rt_putc(char c);
void rt_flush(void);
void rt_eputs(const char *s);           /* straight to stderr, unbuffered */
void rt_section(const char *title);     /* a "== title" heading line */

int rt_streq(const char *a, const char *b);
i64 rt_atoi(const char *s);             /* optional '-', decimal digits */

/* Checks: print "ok"/"FAIL" lines; rt_done() exits 1 if any check failed. */
void rt_check_u64(const char *what, u64 got, u64 want);
/* The same, naming an operation and its operands: "ok   op(0x1, 0x40) = 0x…". */
void rt_check1(const char *op, u64 a, u64 got, u64 want);
void rt_check2(const char *op, u64 a, u64 b, u64 got, u64 want);
void rt_check3(const char *op, u64 a, u64 b, u64 c, u64 got, u64 want);
/* Prints x1..x31 (x[0..31], x[0] ignored), four to a line. */
void rt_dump_regs(const char *label, const u64 *x);
int rt_done(void);
void rt_failed(void);                   /* counts a failure the program printed itself */

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
