// More of the file interface: mkstemp and tmpfile in /tmp, realpath,
// statx, utimensat and futimens with fixed times, truncate, faccessat with
// flags (faccessat2), O_PATH, fdopendir, FIONREAD, isatty on a file,
// /proc/self/exe, /dev/zero, close_range. Runs in an empty directory.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { printf("FAILED line %d: %s (errno %d %s)\n", __LINE__, #x, errno, strerror(errno)); exit(1); } } while (0)

int main(void) {
  // /tmp: a unique file, then an anonymous one
  char name[] = "/tmp/ringvisor-files-more-XXXXXX";
  int fd = mkstemp(name);
  CHECK(fd >= 0);
  CHECK(write(fd, "temporary", 9) == 9);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("mkstemp: size %lld, mode %o\n", (long long)st.st_size, st.st_mode & 0777);
  CHECK(unlink(name) == 0);
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  char buf[64] = {0};
  CHECK(read(fd, buf, sizeof buf) == 9);
  printf("read after unlink: %s\n", buf);
  close(fd);
  FILE *t = tmpfile();
  CHECK(t);
  fprintf(t, "in a tmpfile %d\n", 42);
  rewind(t);
  CHECK(fgets(buf, sizeof buf, t));
  printf("tmpfile: %s", buf);
  fclose(t);

  // realpath against getcwd
  CHECK(mkdir("a", 0755) == 0 && mkdir("a/b", 0755) == 0);
  CHECK(symlink("a/b", "lb") == 0);
  char cwd[PATH_MAX], real[PATH_MAX];
  CHECK(getcwd(cwd, sizeof cwd));
  CHECK(realpath("lb/../b/./", real));
  printf("realpath lb/../b/.: cwd + '%s'\n", real + strlen(cwd));
  printf("realpath of nothing: %s\n", realpath("nothing/x", real) ? "found?" : strerror(errno));

  // statx, utimensat, futimens with fixed times
  fd = open("a/f", O_CREAT | O_RDWR, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, "0123456789", 10) == 10);
  // (Fractions a double holds exactly: a host file's times pass through
  // Node, which keeps microseconds of a double.)
  struct timespec times[2] = {{1000000000, 500000000}, {1234567890, 250000000}};
  CHECK(utimensat(AT_FDCWD, "a/f", times, 0) == 0);
  struct statx sx;
  CHECK(statx(AT_FDCWD, "a/f", 0, STATX_BASIC_STATS, &sx) == 0);
  printf("statx: size %llu, mode %o, basic stats %s, atime %lld.%09u, mtime %lld.%09u\n",
         (unsigned long long)sx.stx_size, sx.stx_mode & 07777, (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS ? "all" : "some",
         (long long)sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec, (long long)sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec);
  struct timespec omit[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
  CHECK(futimens(fd, omit) == 0);
  CHECK(fstat(fd, &st) == 0);
  printf("futimens: atime %lld, mtime %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
  int avail = -1;
  CHECK(lseek(fd, 3, SEEK_SET) == 3);
  CHECK(ioctl(fd, FIONREAD, &avail) == 0);
  printf("FIONREAD at 3 of 10: %d\n", avail);
  printf("isatty on a file: %d (%s)\n", isatty(fd), strerror(errno));
  close(fd);
  CHECK(truncate("a/f", 4) == 0);
  CHECK(stat("a/f", &st) == 0);
  printf("truncate: size %lld\n", (long long)st.st_size);
  CHECK(truncate("a/f", -1) == -1 && errno == EINVAL);

  // faccessat with flags goes to faccessat2
  CHECK(faccessat(AT_FDCWD, "lb", F_OK, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(faccessat(AT_FDCWD, "a/f", R_OK | W_OK, AT_EACCESS) == 0);
  printf("faccessat with flags: ok\n");

  // O_PATH and fdopendir
  int pfd = open("a", O_PATH | O_DIRECTORY);
  CHECK(pfd >= 0);
  CHECK(fstatat(pfd, "f", &st, 0) == 0 && st.st_size == 4);
  CHECK(read(pfd, buf, 1) == -1 && errno == EBADF);
  printf("O_PATH: fstatat works, read %s\n", strerror(errno));
  close(pfd);
  int dfd = open("a", O_RDONLY | O_DIRECTORY);
  DIR *d = fdopendir(dfd);
  CHECK(d);
  int count = 0;
  struct dirent *e;
  while ((e = readdir(d))) count += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  printf("fdopendir: %d entries besides . and ..\n", count);
  closedir(d);

  // /proc/self/exe, /dev/zero
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  CHECK(n > 0);
  exe[n] = 0;
  printf("/proc/self/exe: absolute %s, ends with %s\n", exe[0] == '/' ? "yes" : "no", strrchr(exe, '/') + 1);
  int z = open("/dev/zero", O_RDONLY);
  memset(buf, 1, sizeof buf);
  CHECK(read(z, buf, sizeof buf) == sizeof buf && buf[0] == 0 && buf[63] == 0);
  close(z);
  printf("/dev/zero: zeros\n");

  // /proc/self/fd (not /dev/stdout: what that opens depends on what the
  // host's stdout is; Node's pipes are sockets, which it cannot open)
  fd = open("a/b", O_RDONLY | O_DIRECTORY);
  char fdpath[64];
  snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
  n = readlink(fdpath, exe, sizeof exe - 1);
  CHECK(n > 0);
  exe[n] = 0;
  printf("/proc/self/fd/N of a/b: cwd + '%s'\n", strncmp(exe, cwd, strlen(cwd)) == 0 ? exe + strlen(cwd) : exe);
  close(fd);

  // close_range: everything from 3 up
  open("a/f", O_RDONLY);
  open("a/f", O_RDONLY);
  CHECK(close_range(3, ~0U, 0) == 0);
  CHECK(fcntl(3, F_GETFD) == -1 && errno == EBADF);
  printf("close_range: closed\n");

  unlink("lb");
  unlink("a/f");
  rmdir("a/b");
  rmdir("a");
  return 0;
}
