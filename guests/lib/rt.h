/* A tiny freestanding runtime for ringvisor's own guest programs: no libc,
 * only the system calls the CPU issue's process VM serves (write, exit, brk),
 * so that a program tests the CPU and nothing else. */
#ifndef RINGVISOR_RT_H
#define RINGVISOR_RT_H

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long size_t;

long rt_syscall(long nr, long a0, long a1, long a2);
void rt_exit(int status) __attribute__((noreturn));
long rt_write(int fd, const void *buf, size_t len);
void *rt_brk(void *addr);

size_t rt_strlen(const char *s);
void rt_puts(const char *s);            /* without adding a newline */
void rt_put_hex(u64 v, int digits);     /* fixed width, no prefix */
void rt_put_dec(i64 v);
void rt_put_udec(u64 v);
void rt_putc(char c);
void rt_flush(void);

/* Checks: print "ok"/"FAIL" lines; rt_done() exits 1 if any check failed. */
void rt_check_u64(const char *what, u64 got, u64 want);
int rt_done(void);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
