// Writing to a pipe nobody reads: the write fails with EPIPE and the writer
// gets SIGPIPE (pipe(7)). One case per run, chosen by argv[1]:
//
//   handler   a SIGPIPE handler runs (si_code SI_USER, si_pid our pid), then
//             write, writev and sendfile return -1 with errno EPIPE
//   ignored   SIGPIPE ignored: just EPIPE
//   blocked   SIGPIPE blocked: EPIPE, and the signal stays pending until a
//             handler is installed and the mask lets it through
//   default   the default action ends the process: status 141
//   stdout    writes to stdout until one fails (with the default action,
//             the process ends there): for a test whose reader goes away
//   (none)    a pipe with a reader, for comparison: data goes through, and
//             pwrite on a pipe is ESPIPE
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

static volatile int handled, handled_code, handled_pid_ok;

static void on_pipe(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  handled++;
  handled_code = si->si_code;
  handled_pid_ok = si->si_pid == getpid();
  (void)sig;
}

static void handle(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_pipe;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, NULL);
}

// A pipe whose read end is already closed; returns the write end.
static int widowed_pipe(void) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) { perror("pipe2"); exit(1); }
  close(fds[0]);
  return fds[1];
}

static void show(const char *what, long r) {
  int e = errno;
  printf("%s: returned %ld, errno %s; handler runs %d", what, r, r < 0 ? strerror(e) : "-", handled);
  if (handled) printf(" (si_code %d, si_pid %s)", handled_code, handled_pid_ok ? "is ours" : "is not ours");
  printf("\n");
}

static void with_reader(void) {
  int fds[2];
  pipe2(fds, 0);
  long n = write(fds[1], "hello", 5);
  char buf[16] = {0};
  long m = read(fds[0], buf, sizeof buf);
  printf("with a reader: wrote %ld, read %ld \"%s\"\n", n, m, buf);
  errno = 0;
  long r = pwrite(fds[1], "x", 1, 0);
  printf("pwrite on a pipe: %ld (%s)\n", r, strerror(errno));
  close(fds[0]);
  close(fds[1]);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *kind = argc > 1 ? argv[1] : "";
  if (!strcmp(kind, "handler")) {
    handle();
    int w = widowed_pipe();
    show("write", write(w, "data", 4));
    struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
    show("writev", writev(w, iov, 2));
    int src = open("/dev/zero", O_RDONLY);
    show("sendfile", sendfile(w, src, NULL, 16));
    show("write of 0 bytes", write(w, "", 0));
  } else if (!strcmp(kind, "ignored")) {
    signal(SIGPIPE, SIG_IGN);
    int w = widowed_pipe();
    show("write", write(w, "data", 4));
  } else if (!strcmp(kind, "blocked")) {
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int w = widowed_pipe();
    show("write", write(w, "data", 4));
    sigpending(&pending);
    printf("SIGPIPE pending: %s\n", sigismember(&pending, SIGPIPE) ? "yes" : "no");
    handle();
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    // (Not its si_code: ringvisor keeps no siginfo for a pending signal yet.)
    printf("after unblocking: handler runs %d\n", handled);
  } else if (!strcmp(kind, "default")) {
    int w = widowed_pipe();
    printf("writing to a pipe with no reader\n");
    long r = write(w, "data", 4);
    printf("survived: write returned %ld (unexpected)\n", r);
  } else if (!strcmp(kind, "stdout")) {
    // Unbuffered, so that each line is one write(2).
    setvbuf(stdout, NULL, _IONBF, 0);
    for (long i = 0; i < 100000000; i++) {
      if (printf("line %ld\n", i) < 0) {
        fprintf(stderr, "stdout failed: %s\n", strerror(errno));
        return 3;
      }
    }
    return 4;
  } else {
    with_reader();
    handle();
    int w = widowed_pipe();
    show("write after the reader closed", write(w, "data", 4));
  }
  return 0;
}
