#define _GNU_SOURCE
// File I/O in the working directory: create, write, read back, seek, stat
// sizes, pread/pwrite, append, truncate, rename, link, unlink, mkdir, dup,
// fcntl, pipes. Runs in an empty directory; leaves out/ with known contents
// behind (the written files are compared too). Prints nothing that depends
// on time, inode numbers or addresses.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { printf("FAILED line %d: %s (errno %d %s)\n", __LINE__, #x, errno, strerror(errno)); exit(1); } } while (0)

static void show_size(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    printf("stat %s: %s\n", path, strerror(errno));
    return;
  }
  printf("stat %s: size %lld, %s, mode %o\n", path, (long long)st.st_size,
         S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "regular" : S_ISLNK(st.st_mode) ? "symlink" : "other",
         st.st_mode & 07777);
}

int main(void) {
  umask(022);
  CHECK(mkdir("out", 0755) == 0);
  CHECK(mkdir("out", 0755) == -1 && errno == EEXIST);
  printf("mkdir out again: %s\n", strerror(EEXIST));

  // stdio: write, read back
  FILE *f = fopen("out/hello.txt", "w");
  CHECK(f);
  for (int i = 0; i < 100; i++) fprintf(f, "line %d: %s\n", i, i % 2 ? "odd" : "even");
  CHECK(fclose(f) == 0);
  show_size("out/hello.txt");
  f = fopen("out/hello.txt", "r");
  CHECK(f);
  char line[128];
  int lines = 0;
  long sum = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    sum += (long)strlen(line);
  }
  printf("read back %d lines, %ld bytes\n", lines, sum);
  CHECK(fseek(f, 10 * 14, SEEK_SET) == 0);
  CHECK(fgets(line, sizeof line, f));
  printf("at offset 140: %s", line);
  CHECK(fseek(f, -12, SEEK_END) == 0);
  CHECK(fgets(line, sizeof line, f));
  printf("12 from the end: %s", line);
  printf("ftell after: %ld\n", ftell(f));
  fclose(f);

  // raw descriptors: lseek, pread, pwrite, holes
  int fd = open("out/raw.bin", O_RDWR | O_CREAT | O_TRUNC, 0640);
  CHECK(fd >= 0);
  CHECK(write(fd, "0123456789", 10) == 10);
  CHECK(lseek(fd, 0, SEEK_CUR) == 10);
  CHECK(pwrite(fd, "AB", 2, 4) == 2);
  CHECK(lseek(fd, 0, SEEK_CUR) == 10);
  char buf[64] = {0};
  CHECK(pread(fd, buf, 10, 0) == 10);
  printf("after pwrite: %.10s\n", buf);
  CHECK(lseek(fd, 20, SEEK_SET) == 20);
  CHECK(write(fd, "Z", 1) == 1);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("with a hole: size %lld\n", (long long)st.st_size);
  memset(buf, 'x', sizeof buf);
  CHECK(pread(fd, buf, 21, 0) == 21);
  printf("hole bytes zero: %s\n", buf[10] == 0 && buf[19] == 0 && buf[20] == 'Z' ? "yes" : "no");
  CHECK(pread(fd, buf, 10, 100) == 0);
  CHECK(lseek(fd, -1, SEEK_SET) == -1 && errno == EINVAL);
  printf("lseek to -1: %s\n", strerror(errno));
  CHECK(ftruncate(fd, 5) == 0);
  CHECK(fstat(fd, &st) == 0);
  printf("after ftruncate: size %lld\n", (long long)st.st_size);
  CHECK(fsync(fd) == 0);
  CHECK(fdatasync(fd) == 0);

  // readv / writev
  struct iovec iov[3] = {{"one ", 4}, {"two ", 4}, {"three\n", 6}};
  CHECK(lseek(fd, 0, SEEK_END) == 5);
  CHECK(writev(fd, iov, 3) == 14);
  char a[3], b[4], c[100];
  struct iovec riov[3] = {{a, 3}, {b, 4}, {c, sizeof c}};
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  ssize_t n = readv(fd, riov, 3);
  printf("readv: %zd bytes: %.3s|%.4s|%.*s", n, a, b, (int)(n - 7), c);

  // fcntl and dup
  int flags = fcntl(fd, F_GETFL);
  printf("F_GETFL access mode O_RDWR: %s\n", (flags & O_ACCMODE) == O_RDWR ? "yes" : "no");
  CHECK(fcntl(fd, F_SETFL, flags | O_APPEND) == 0);
  CHECK(fcntl(fd, F_GETFL) & O_APPEND);
  CHECK(fcntl(fd, F_GETFD) == 0);
  CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
  CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
  int fd2 = dup(fd);
  CHECK(fd2 > fd);
  CHECK(fcntl(fd2, F_GETFD) == 0);
  CHECK(lseek(fd2, 0, SEEK_SET) == 0);
  CHECK(lseek(fd, 0, SEEK_CUR) == 0);
  printf("dup shares the offset: yes\n");
  CHECK(write(fd2, "END\n", 4) == 4);  // O_APPEND: at the end
  int fd3 = fcntl(fd, F_DUPFD, 50);
  CHECK(fd3 == 50);
  int fd4 = dup3(fd, 60, O_CLOEXEC);
  CHECK(fd4 == 60 && fcntl(60, F_GETFD) == FD_CLOEXEC);
  CHECK(dup3(fd, fd, 0) == -1 && errno == EINVAL);
  close(fd2); close(fd3); close(fd4);
  CHECK(close(fd4) == -1 && errno == EBADF);
  printf("close twice: %s\n", strerror(errno));
  CHECK(fstat(fd, &st) == 0);
  printf("raw.bin size %lld\n", (long long)st.st_size);
  close(fd);

  // append mode through stdio
  f = fopen("out/hello.txt", "a");
  CHECK(f);
  fputs("appended\n", f);
  fclose(f);
  show_size("out/hello.txt");

  // rename, link, unlink, access
  CHECK(rename("out/hello.txt", "out/renamed.txt") == 0);
  show_size("out/hello.txt");
  show_size("out/renamed.txt");
  CHECK(access("out/renamed.txt", R_OK | W_OK) == 0);
  CHECK(access("out/missing", F_OK) == -1 && errno == ENOENT);
  CHECK(link("out/renamed.txt", "out/linked.txt") == 0);
  CHECK(stat("out/linked.txt", &st) == 0);
  printf("nlink after link: %lu\n", (unsigned long)st.st_nlink);
  CHECK(unlink("out/linked.txt") == 0);
  CHECK(unlink("out/linked.txt") == -1 && errno == ENOENT);
  CHECK(symlink("renamed.txt", "out/sym") == 0);
  CHECK(lstat("out/sym", &st) == 0 && S_ISLNK(st.st_mode));
  char target[64];
  ssize_t tl = readlink("out/sym", target, sizeof target);
  printf("readlink out/sym: %.*s\n", (int)tl, target);
  show_size("out/sym");
  CHECK(unlink("out/sym") == 0);

  // directories
  CHECK(mkdir("out/sub", 0700) == 0);
  CHECK(mkdir("out/sub/deeper", 0755) == 0);
  CHECK(rmdir("out/sub") == -1 && errno == ENOTEMPTY);
  printf("rmdir non-empty: %s\n", strerror(errno));
  CHECK(rmdir("out/sub/deeper") == 0);
  CHECK(rmdir("out/sub") == 0);
  CHECK(unlink("out") == -1 && errno == EISDIR);
  CHECK(open("out/renamed.txt/x", O_RDONLY) == -1 && errno == ENOTDIR);
  printf("open through a file: %s\n", strerror(errno));
  CHECK(open("out", O_WRONLY) == -1 && errno == EISDIR);
  printf("open a directory for writing: %s\n", strerror(errno));
  CHECK(open("out/new", O_RDONLY) == -1 && errno == ENOENT);
  CHECK(open("out/renamed.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) == -1 && errno == EEXIST);

  // chdir and getcwd: the last component
  char cwd[4096];
  CHECK(getcwd(cwd, sizeof cwd));
  CHECK(chdir("out") == 0);
  char cwd2[4096];
  CHECK(getcwd(cwd2, sizeof cwd2));
  printf("chdir out: getcwd adds '%s'\n", cwd2 + strlen(cwd));
  show_size("renamed.txt");
  CHECK(chdir("..") == 0);
  CHECK(getcwd(cwd2, sizeof cwd2) && strcmp(cwd, cwd2) == 0);
  CHECK(getcwd(cwd2, 2) == NULL && errno == ERANGE);

  // a pipe
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "through the pipe", 16) == 16);
  int avail = -1;
  close(p[1]);
  n = read(p[0], buf, sizeof buf);
  printf("pipe: %zd bytes: %.*s\n", n, (int)n, buf);
  CHECK(read(p[0], buf, sizeof buf) == 0);
  printf("pipe at EOF reads 0\n");
  close(p[0]);
  (void)avail;

  // umask
  umask(077);
  CHECK((fd = open("out/private", O_CREAT | O_WRONLY, 0666)) >= 0);
  close(fd);
  show_size("out/private");
  umask(022);

  // /dev/null
  fd = open("/dev/null", O_RDWR);
  CHECK(fd >= 0);
  CHECK(write(fd, "x", 1) == 1 && read(fd, buf, 1) == 0);
  close(fd);
  printf("/dev/null: ok\n");
  printf("isatty(stdin) on a pipe or file: %d\n", isatty(0));
  return 0;
}
