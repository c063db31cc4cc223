/* The guest runtime (see rt.h): system calls by ecall, buffered output to
 * stdout, hex and decimal printing, the ok/FAIL checks every test program
 * reports with, and the few string and memory functions the compiler may
 * call. */
#include "rt.h"

long rt_syscall(long nr, long a0, long a1, long a2) {
  register long x10 __asm__("a0") = a0;
  register long x11 __asm__("a1") = a1;
  register long x12 __asm__("a2") = a2;
  register long x17 __asm__("a7") = nr;
  __asm__ volatile("ecall" : "+r"(x10) : "r"(x11), "r"(x12), "r"(x17) : "memory");
  return x10;
}

long rt_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  register long x10 __asm__("a0") = a0;
  register long x11 __asm__("a1") = a1;
  register long x12 __asm__("a2") = a2;
  register long x13 __asm__("a3") = a3;
  register long x14 __asm__("a4") = a4;
  register long x15 __asm__("a5") = a5;
  register long x17 __asm__("a7") = nr;
  __asm__ volatile("ecall" : "+r"(x10) : "r"(x11), "r"(x12), "r"(x13), "r"(x14), "r"(x15), "r"(x17) : "memory");
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

void rt_failed(void) { failures++; }

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

void rt_eputs(const char *s) { rt_write(2, s, rt_strlen(s)); }

/* Flushes first, so that when a later instruction faults the output shows
 * every section before the one that faulted. */
void rt_section(const char *title) { rt_flush(); rt_puts("== "); rt_puts(title); rt_putc('\n'); }

int rt_streq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

i64 rt_atoi(const char *s) {
  int neg = *s == '-';
  u64 v = 0;
  if (neg) s++;
  while (*s >= '0' && *s <= '9') v = v * 10 + (u64)(*s++ - '0');
  return neg ? -(i64)v : (i64)v;
}

/* Operands in short hex, the result in full 16 digits so that a wrong sign
 * or zero extension shows. */
void rt_put_short_hex(u64 v) {
  int digits = 1;
  while (digits < 16 && (v >> (digits * 4))) digits++;
  rt_puts("0x"); rt_put_hex(v, digits);
}

static void check_args(const char *op, int n, u64 a, u64 b, u64 c, u64 got, u64 want) {
  rt_puts(got == want ? "ok   " : "FAIL ");
  rt_puts(op);
  rt_putc('(');
  rt_put_short_hex(a);
  if (n > 1) { rt_puts(", "); rt_put_short_hex(b); }
  if (n > 2) { rt_puts(", "); rt_put_short_hex(c); }
  rt_puts(") = 0x"); rt_put_hex(got, 16);
  if (got != want) { rt_puts(" want 0x"); rt_put_hex(want, 16); failures++; }
  rt_putc('\n');
}

void rt_check1(const char *op, u64 a, u64 got, u64 want) { check_args(op, 1, a, 0, 0, got, want); }
void rt_check2(const char *op, u64 a, u64 b, u64 got, u64 want) { check_args(op, 2, a, b, 0, got, want); }
void rt_check3(const char *op, u64 a, u64 b, u64 c, u64 got, u64 want) { check_args(op, 3, a, b, c, got, want); }

void rt_dump_regs(const char *label, const u64 *x) {
  rt_puts("-- registers after "); rt_puts(label); rt_putc('\n');
  for (int i = 1; i < 32; i++) {
    rt_puts(i < 10 ? " x" : "x"); rt_put_dec(i); rt_puts("=0x"); rt_put_hex(x[i], 16);
    rt_putc(i % 4 == 3 || i == 31 ? '\n' : ' ');
  }
}
