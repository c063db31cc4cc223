// Processes at the VM's edges (test/processes.test.ts): a bounded fork
// bomb, memory shared by vfork and copied by fork, a pipeline of three
// processes, a deadlock between two processes, orphans.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int bomb(void) {
  int made = 0;
  for (;;) {
    pid_t pid = fork();
    if (pid < 0) { printf("fork failed after %s children: %s\n", made > 10 ? "more than 10" : "few", strerrorname_np(errno)); fflush(stdout); break; }
    if (pid == 0) { pause(); _exit(0); }
    made++;
  }
  kill(0, SIGTERM);
  return 0;
}

static int memory(long mib) {
  // Each child writes mib MiB; the VM's --mem covers them all together.
  for (int i = 0; i < 4; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      char *p = malloc(mib << 20);
      memset(p, i + 1, mib << 20);
      // (Read back, so that the compiler keeps the stores.)
      printf("child %d wrote %ld MiB of %d\n", i, mib, p[(mib << 20) - 1]);
      fflush(stdout);
      pause();
      _exit(0);
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) != 0) { printf("child %d ended early\n", i); }
    usleep(50000);
  }
  kill(0, SIGTERM);
  return 0;
}

static int deadlock(void) {
  int fd[2];
  pipe(fd);
  pid_t pid = fork();
  if (pid == 0) { char c; read(fd[0], &c, 1); _exit(0); } // its own write end stays open
  char c;
  read(fd[0], &c, 1);
  return 0;
}

static int orphan(void) {
  int fd[2];
  pipe(fd);
  pid_t pid = fork();
  if (pid == 0) {
    pid_t parent = getppid();
    if (fork() == 0) { // the grandchild outlives its parent
      close(fd[0]);
      while (getppid() == parent) usleep(1000);
      dprintf(fd[1], "orphan reparented: %s\n", getppid() != parent ? "yes" : "no");
      _exit(0);
    }
    _exit(0);
  }
  close(fd[1]);
  waitpid(pid, NULL, 0);
  char buf[64];
  int n = read(fd[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  fputs(buf, stdout);
  return 0;
}

// Children each open /dev/null until refused: each gets EMFILE at its own
// 1024, until the VM's descriptors run out (ENFILE), which the others then meet.
static int files(void) {
  int fd[2];
  pipe(fd);
  for (int i = 0; i < 10; i++) {
    if (fork() == 0) {
      int n = 0;
      while (open("/dev/null", O_RDONLY) >= 0) n++;
      char c = errno == ENFILE ? 'N' : errno == EMFILE ? 'M' : '?';
      write(fd[1], &c, 1);
      pause();
      _exit(0);
    }
    char c;
    read(fd[0], &c, 1);
    printf("child %d: %s\n", i, c == 'N' ? "ENFILE" : c == 'M' ? "EMFILE" : "other");
  }
  fflush(stdout);
  kill(0, SIGTERM);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "bomb")) return bomb();
  if (!strcmp(mode, "memory")) return memory(argc > 2 ? atol(argv[2]) : 8);
  if (!strcmp(mode, "deadlock")) return deadlock();
  if (!strcmp(mode, "orphan")) return orphan();
  if (!strcmp(mode, "files")) return files();
  fprintf(stderr, "usage: procs bomb|memory MIB|deadlock|orphan|files\n");
  return 2;
}
