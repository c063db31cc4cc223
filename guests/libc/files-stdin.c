// cat with a summary: copies stdin to stdout with read(2) in small pieces,
// then prints counts of bytes, lines and words on stderr.
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
  size_t piece = argc > 1 ? (size_t)atoi(argv[1]) : 7;
  char buf[4096];
  if (piece == 0 || piece > sizeof buf) piece = sizeof buf;
  long bytes = 0, lines = 0, words = 0;
  int inword = 0;
  ssize_t n;
  while ((n = read(0, buf, piece)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == '\n') lines++;
      if (isspace((unsigned char)buf[i])) inword = 0;
      else if (!inword) { inword = 1; words++; }
    }
    bytes += n;
    if (write(1, buf, n) != n) return 2;
  }
  fprintf(stderr, "%ld bytes, %ld lines, %ld words; last read %zd\n", bytes, lines, words, n);
  // stdin again at its end, then stdio's view
  printf("read at EOF again: %zd\n", read(0, buf, 1));
  printf("getchar at EOF: %d\n", getchar());
  // Terminals: none when stdin and stdout are pipes (as in the recorded
  // runs); test/sandbox.test.ts runs this under a pseudo-terminal.
  printf("isatty: stdin %d, stdout %d, stderr %d\n", isatty(0), isatty(1), isatty(2));
  struct winsize ws;
  if (ioctl(1, TIOCGWINSZ, &ws) == 0) printf("window: %s\n", ws.ws_row > 0 && ws.ws_col > 0 ? "has a size" : "empty");
  else printf("window: %s\n", strerror(errno));
  return 0;
}
