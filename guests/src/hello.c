/* The bundled default guest: greets, shows its arguments and a little
 * arithmetic, and exits 0. */
#include "rt.h"

static u64 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
  rt_puts("Hello from a RISC-V guest running in ringvisor!\n");
  rt_puts("argc = "); rt_put_dec(argc); rt_putc('\n');
  for (int i = 0; i < argc; i++) {
    rt_puts("argv["); rt_put_dec(i); rt_puts("] = "); rt_puts(argv[i]); rt_putc('\n');
  }
  rt_puts("fib(25) = "); rt_put_udec(fib(25)); rt_putc('\n');
  return 0;
}
