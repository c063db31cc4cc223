// Functions for bench/micro.mjs to call by name (ProcessVM.callSync). They
// make their system calls with ecall themselves, not through glibc, so that
// they can be called before main has run: the VM is made and measured
// without running glibc's start-up.
#include <stdint.h>

#define SYS_openat 56
#define SYS_write 64
#define SYS_getpid 172
#define AT_FDCWD (-100)
#define O_WRONLY 1

static long raw_syscall4(long nr, long a, long b, long c, long d) {
  register long a0 __asm__("a0") = a;
  register long a1 __asm__("a1") = b;
  register long a2 __asm__("a2") = c;
  register long a3 __asm__("a3") = d;
  register long a7 __asm__("a7") = nr;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a3), "r"(a7) : "memory");
  return a0;
}

// The vmcall micro-benchmark: as little as a function can do.
__attribute__((noinline)) long bench_add(long a, long b) { return a + b; }

__attribute__((noinline)) long bench_open_null(void) {
  return raw_syscall4(SYS_openat, AT_FDCWD, (long)"/dev/null", O_WRONLY, 0);
}

// n one-byte writes: one call amortises the vmcall over many system calls.
__attribute__((noinline)) long bench_write_loop(long fd, long n) {
  static const char byte = 'x';
  long total = 0;
  for (long i = 0; i < n; i++) total += raw_syscall4(SYS_write, fd, (long)&byte, 1, 0);
  return total;
}

// Two instructions per iteration (addi, bnez): a loop of nothing but
// dispatch, for the MIPS figure.
__attribute__((noinline)) long bench_spin(long n) {
  __asm__ volatile("1: addi %0, %0, -1\n\tbnez %0, 1b" : "+r"(n));
  return n;
}

// The exit round trip: getpid's ecall, forever. The host runs the CPU on it
// directly, one exit per Cpu.run.
__attribute__((noinline)) void bench_ecall_loop(void) {
  __asm__ volatile("1: li a7, %0\n\tecall\n\tj 1b" : : "i"(SYS_getpid) : "a0", "a7", "memory");
}

int main(void) { return 0; }
