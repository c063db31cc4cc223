// A program that keeps files open while it runs, for process VM checkpoints
// (test/process-checkpoint.test.ts): a host file it reads a little at a
// time, a file of its own in the private /tmp, a file it appends to in the
// host directory, and a pipe to itself holding bytes it reads later. It
// works between its reads (a checkpoint is taken there), then prints what
// it read back: a VM restored midway must print exactly the same.
//
//   checkpoint-files DIR   DIR holds input.txt; out.txt is written there
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long work(unsigned long seed) {
  unsigned long x = seed;
  for (int i = 0; i < 200000; i++) x = x * 6364136223846793005ul + 1442695040888963407ul;
  return x;
}

int main(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1]) != 0) { perror("chdir"); return 2; }
  int in = open("input.txt", O_RDONLY);
  int tmp = open("/tmp/notes", O_RDWR | O_CREAT | O_TRUNC, 0600);
  int out = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  int p[2];
  if (in < 0 || tmp < 0 || out < 0 || pipe(p) != 0) { perror("open"); return 2; }
  int copy = dup(in);
  const char *msg = "abcdefghijklmnopqrstuvwxyz";
  if (write(p[1], msg, strlen(msg)) != (ssize_t)strlen(msg)) return 2;
  unsigned long x = 1;
  for (int round = 0; round < 12; round++) {
    x = work(x);
    char buf[8];
    ssize_t n = read(round % 2 ? copy : in, buf, 3);
    char c;
    if (read(p[0], &c, 1) != 1) return 2;
    printf("round %d: input \"%.*s\", pipe '%c', work %016lx\n", round, (int)(n > 0 ? n : 0), buf, c, x);
    fflush(stdout);
    dprintf(tmp, "note %d %c\n", round, c);
    dprintf(out, "out %d %.*s\n", round, (int)(n > 0 ? n : 0), buf);
  }
  lseek(tmp, 0, SEEK_SET);
  char all[512];
  ssize_t n = read(tmp, all, sizeof all);
  printf("/tmp/notes holds %zd bytes:\n%.*s", n, (int)n, all);
  char rest[64];
  close(p[1]);
  n = read(p[0], rest, sizeof rest);
  printf("left in the pipe: \"%.*s\"\n", (int)n, rest);
  return 3;
}
