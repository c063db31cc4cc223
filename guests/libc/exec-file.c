// execv(argv[1], argv + 1): the program the fuzz target test/fuzz/elf.test.ts
// ("exec") hands a mutated file to, through a guest's own execve. When the
// execve fails it prints the errno's name and exits 1.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  execv(argv[1], argv + 1);
  printf("execv %s: %s\n", argv[1], strerrorname_np(errno));
  return 1;
}
