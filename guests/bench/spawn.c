// New processes: N rounds of fork, execve of this same program (by
// /proc/self/exe, with a flag that makes the new image exit at once) and
// waitpid; a round is what a shell pays to run a small command. Each child
// is a whole static program: its exec, its C library's start-up and its
// exit. Prints the rounds and how many children exited 0.
//   bench-spawn.elf ROUNDS
//   bench-spawn.elf --exit     (the child: exits 0)
// qemu-riscv64 cannot run it: the execve of a riscv64 program fails in its
// child (without binfmt_misc the host kernel does not know the format), so
// the harness reports qemu as n/a for this workload.
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--exit") == 0) return 0;
  long n = size_arg(argc, argv, 500);
  static char *const child_argv[] = {"spawn-child", "--exit", NULL};
  static char *const child_env[] = {NULL};
  long ok = 0;
  for (long i = 0; i < n; i++) {
    pid_t p = fork();
    if (p < 0) {
      fprintf(stderr, "fork: %s\n", strerror(errno));
      return 1;
    }
    if (p == 0) {
      execve("/proc/self/exe", child_argv, child_env);
      _exit(127);  // the exec failed
    }
    int status;
    if (waitpid(p, &status, 0) != p) {
      fprintf(stderr, "waitpid: %s\n", strerror(errno));
      return 1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ok++;
    else {
      fprintf(stderr, "round %ld: the child ended with status %#x (127: its execve failed)\n", i, status);
      return 1;
    }
  }
  printf("spawns %ld exited-0 %ld\n", n, ok);
  return 0;
}
