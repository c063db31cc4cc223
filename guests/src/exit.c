/* Exit statuses: exits with atoi(argv[1]) through exit_group, or through
 * exit when argv[2] is "exit". The status a parent sees is the low 8 bits
 * (256 becomes 0). */
#include "rt.h"

int main(int argc, char **argv) {
  i64 status = argc > 1 ? rt_atoi(argv[1]) : 0;
  int plain_exit = argc > 2 && rt_streq(argv[2], "exit");
  rt_puts("exit: calling ");
  rt_puts(plain_exit ? "exit(" : "exit_group(");
  rt_put_dec(status);
  rt_puts(")\n");
  rt_flush();
  rt_syscall(plain_exit ? 93 : 94, status, 0, 0);
  rt_puts("exit: FAIL: still running\n");
  rt_flush();
  return 1;
}
