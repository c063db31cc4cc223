#include "rt.h"

long rt_syscall(long nr, long a0, long a1, long a2) {
  register long x10 __asm__("a0") = a0;
  register long x11 __asm__("a1") = a1;
  register long x12 __asm__("a2") = a2;
  register long x17 __asm__("a7") = nr;
  __asm__ volatile("ecall" : "+r"(x10) : "r"(x11), "r"(x12), "r"(x17) : "memory");
  return x10;
}

/* Output is buffered so that a test prints with few system calls. */
static char buf[4096];
static size_t used;

void rt_flush(void) {
  size_t off = 0;
  while (off < used) {
    long n = rt_syscall(64, 1, (long)(buf + off), (long)(used - off));
    if (n <= 0) break;
    off += (size_t)n;
  }
  used = 0;
}

void rt_exit(int status) {
  rt_flush();
  rt_syscall(94, status, 0, 0);
  for (;;) {}
}

long rt_write(int fd, const void *p, size_t len) { return rt_syscall(64, fd, (long)p, (long)len); }
void *rt_brk(void *addr) { return (void *)rt_syscall(214, (long)addr, 0, 0); }

size_t rt_strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

void rt_putc(char c) {
  if (used == sizeof buf) rt_flush();
  buf[used++] = c;
}

void rt_puts(const char *s) { while (*s) rt_putc(*s++); }

void rt_put_hex(u64 v, int digits) {
  for (int i = digits - 1; i >= 0; i--) rt_putc("0123456789abcdef"[(v >> (i * 4)) & 15]);
}

void rt_put_udec(u64 v) {
  char t[24]; int n = 0;
  do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) rt_putc(t[--n]);
}

void rt_put_dec(i64 v) {
  if (v < 0) { rt_putc('-'); rt_put_udec(-(u64)v); } else rt_put_udec((u64)v);
}

static int failures;

void rt_check_u64(const char *what, u64 got, u64 want) {
  rt_puts(got == want ? "ok   " : "FAIL ");
  rt_puts(what);
  rt_puts(" = 0x"); rt_put_hex(got, 16);
  if (got != want) { rt_puts(" want 0x"); rt_put_hex(want, 16); failures++; }
  rt_putc('\n');
}

int rt_done(void) {
  rt_puts(failures ? "FAILED " : "passed ");
  rt_put_dec(failures);
  rt_puts(" failures\n");
  return failures ? 1 : 0;
}

void *memset(void *d, int c, size_t n) { unsigned char *p = d; while (n--) *p++ = (unsigned char)c; return d; }
void *memcpy(void *d, const void *s, size_t n) { unsigned char *p = d; const unsigned char *q = s; while (n--) *p++ = *q++; return d; }
int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *p = a, *q = b;
  for (; n; n--, p++, q++) if (*p != *q) return *p - *q;
  return 0;
}
