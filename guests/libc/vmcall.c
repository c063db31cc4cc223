// Functions for the host to call by name (ProcessVM.call, test/vmcall.test.ts),
// after main has run and returned, so that glibc is initialised: plain
// arithmetic, recursion, buffers passed in and written back, printf and
// malloc, state kept between calls, and each way a call can go wrong (a
// fault, a loop that never ends, exit, abort).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long add(long a, long b) { return a + b; }

long sum8(long a, long b, long c, long d, long e, long f, long g, long h) {
  return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

long negate(long a) { return -a; }

// Recursive on purpose: the call needs a working stack.
unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

unsigned long sum_bytes(const unsigned char *p, unsigned long n) {
  unsigned long s = 0;
  for (unsigned long i = 0; i < n; i++) s += p[i];
  return s;
}

// Writes into the caller's buffer: the host sees the change.
void upcase(char *s, unsigned long n) {
  for (unsigned long i = 0; i < n; i++)
    if (s[i] >= 'a' && s[i] <= 'z') s[i] -= 32;
}

int greet(const char *name) {
  int n = printf("hello, %s\n", name);
  fflush(stdout);
  return n;
}

// A string on the guest's heap, for the host to read and free.
char *make_greeting(const char *name) {
  size_t n = strlen(name) + 8;
  char *s = malloc(n);
  if (s) snprintf(s, n, "hi, %s!", name);
  return s;
}

// A quotient and a remainder: a struct of two words comes back in a0 and a1.
struct divmod { long quot, rem; };
struct divmod divide(long a, long b) { return (struct divmod){ a / b, a % b }; }

static long counter;
long next_count(void) { return ++counter; }

// Loads from address 16, below everything mapped (through a variable, so that
// the compiler neither warns nor proves the load away).
static volatile unsigned long bad_address = 16;
int fault(void) { return *(volatile int *)bad_address; }

void spin(void) {
  for (;;) __asm__ volatile("");
}

void quit(int status) { exit(status); }

void die(void) { abort(); }

int main(void) {
  puts("vmcall guest: main ran");
  return 0;
}
