// System calls: many small writes (1 to 16 bytes) to /dev/null, each its own
// write(2). Under ringvisor every one is an exit to the TypeScript system-call
// layer; under qemu-riscv64 and natively, a host system call. Prints the
// bytes the writes reported.
//   bench-syscalls.elf WRITES
#include <fcntl.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv) {
  long n = size_arg(argc, argv, 1000000);
  int fd = open("/dev/null", O_WRONLY);
  if (fd < 0) { perror("/dev/null"); return 1; }
  static const char data[16] = "0123456789abcdef";
  long total = 0;
  for (long i = 0; i < n; i++) {
    ssize_t r = write(fd, data, 1 + (i & 15));
    if (r < 0) { perror("write"); return 1; }
    total += r;
  }
  close(fd);
  printf("writes %ld bytes %ld\n", n, total);
  return 0;
}
