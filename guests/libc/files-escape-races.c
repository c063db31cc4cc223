// Sandbox escapes by changing names under the sandbox's feet (issue 11): a
// directory renamed away from an open descriptor and replaced by a symbolic
// link to the host, a link probed through an O_PATH descriptor, a mount whose
// host path goes through a directory the guest replaces, '..' out of a moved
// directory, /proc/self/fd/N/.., hard links to the outside, and a second
// thread swapping a directory for a link while the first reads through it
// (the shape of CVE-2018-15664, docker cp's symlink-exchange race, and of
// runc's path swaps). Prints what each attempt got; under ringvisor's sandbox
// none may see anything of the host. Like files-escape.c it is ringvisor-only
// (QEMU sees the host): test/sandbox.test.ts runs it.
//
// usage: files-escape-races SECRETDIR OUTSIDE
//   SECRETDIR  a host directory outside the sandbox holding secret.txt
//   OUTSIDE    a host directory outside the sandbox holding b/secret.txt
// It runs in an empty working directory but for a/b/inside.txt and c/b/, and
// expects ./a/b mounted read-only at /deep and ./c/b read-write at /deepw.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *secretdir, *outside;
static char secretfile[4096];

/** The names a directory descriptor lists, from the start, sorted, on one line. */
static void list_fd(int fd, char *out, size_t size) {
  char buf[4096];
  char names[64][256];
  int count = 0;
  lseek(fd, 0, SEEK_SET);
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) {
      snprintf(out, size, "getdents64: %s", strerror(errno));
      return;
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct { unsigned long ino; long off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + off);
      if (count < 64) snprintf(names[count++], 256, "%s", d->name);
      off += d->reclen;
    }
  }
  qsort(names, count, sizeof names[0], (int (*)(const void *, const void *))strcmp);
  out[0] = 0;
  for (int i = 0; i < count; i++) {
    if (i) strncat(out, " ", size - strlen(out) - 1);
    strncat(out, names[i], size - strlen(out) - 1);
  }
}

/** What reading a file at dirfd/path gives: its first line, or the error. */
static void read_at(int dirfd, const char *path, char *out, size_t size) {
  int fd = openat(dirfd, path, O_RDONLY);
  if (fd < 0) {
    snprintf(out, size, "%s", strerror(errno));
    return;
  }
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  close(fd);
  snprintf(out, size, "read \"%s\"", strtok(buf, "\n") ? buf : "");
}

static void say(const char *what, const char *result) {
  printf("%s: %s\n", what, result);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, text, strlen(text)) < 0) printf("setup %s: %s\n", path, strerror(errno));
  if (fd >= 0) close(fd);
}

// ---- 1. a directory renamed from under its descriptor, a link in its place ----
static void renamed_directory(void) {
  char out[1024];
  mkdir("d1", 0755);
  write_file("d1/mine", "guest file\n");
  int fd = open("d1", O_RDONLY | O_DIRECTORY);
  int pfd = open("d1", O_PATH | O_DIRECTORY);
  rename("d1", "d1.moved");
  symlink(secretdir, "d1");
  list_fd(fd, out, sizeof out);
  say("renamed directory: getdents64 lists", out);
  read_at(fd, "secret.txt", out, sizeof out);
  say("renamed directory: openat secret.txt", out);
  read_at(fd, "mine", out, sizeof out);
  say("renamed directory: openat mine", out);
  read_at(pfd, "mine", out, sizeof out);
  say("renamed directory: O_PATH descriptor, openat mine", out);
  struct stat a, b;
  fstat(fd, &a);
  stat("d1.moved", &b);
  say("renamed directory: fstat is of", a.st_ino == b.st_ino ? "the moved directory" : "something else");
  // The magic link leads to the directory object too.
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d/mine", fd);
  read_at(AT_FDCWD, path, out, sizeof out);
  say("renamed directory: /proc/self/fd/N/mine", out);
  snprintf(path, sizeof path, "/proc/self/fd/%d/secret.txt", fd);
  read_at(AT_FDCWD, path, out, sizeof out);
  say("renamed directory: /proc/self/fd/N/secret.txt", out);
  // '..' from it stays in the sandbox (however many).
  char up[512] = "";
  for (int i = 0; i < 20; i++) strcat(up, "../");
  snprintf(path, sizeof path, "/proc/self/fd/%d/", fd);
  char far[8192];
  snprintf(far, sizeof far, "%s%s%s", path, up, secretfile + 1);
  read_at(AT_FDCWD, far, out, sizeof out);
  say("renamed directory: /proc/self/fd/N/../../secret", out);
  snprintf(far, sizeof far, "%s%s", up, secretfile + 1);
  read_at(fd, far, out, sizeof out);
  say("renamed directory: openat ../../secret", out);
  // fchdir into it, then read relative paths: the moved directory's.
  int here = open(".", O_RDONLY | O_DIRECTORY);
  fchdir(fd);
  read_at(AT_FDCWD, "mine", out, sizeof out);
  say("renamed directory: after fchdir, mine", out);
  read_at(AT_FDCWD, "secret.txt", out, sizeof out);
  say("renamed directory: after fchdir, secret.txt", out);
  fchdir(here);
  close(here);
  close(pfd);
  close(fd);
}

// ---- 2. fstatfs through an O_PATH descriptor of a link: an existence oracle ----
static void statfs_oracle(void) {
  symlink("/nonexistent-ringvisor-probe/x", "probe-missing");
  symlink(secretfile, "probe-secret");
  int a = open("probe-missing", O_PATH | O_NOFOLLOW);
  int b = open("probe-secret", O_PATH | O_NOFOLLOW);
  struct statfs sa, sb;
  int ra = fstatfs(a, &sa), ea = errno;
  int rb = fstatfs(b, &sb), eb = errno;
  int same = ra == rb && (ra != 0 ? ea == eb : sa.f_type == sb.f_type);
  say("O_PATH link: fstatfs answers", same ? "the same for a missing and an existing host path" : "DIFFERENTLY (a host oracle)");
  struct stat st;
  say("O_PATH link: fstatat AT_EMPTY_PATH", fstatat(b, "", &st, AT_EMPTY_PATH) == 0 && S_ISLNK(st.st_mode) ? "the link itself" : strerror(errno));
  say("O_PATH link: linkat AT_EMPTY_PATH", linkat(b, "", AT_FDCWD, "hl-empty", AT_EMPTY_PATH) == 0 ? "linked" : strerror(errno));
  char out[256];
  read_at(AT_FDCWD, "probe-secret", out, sizeof out);
  say("O_PATH link: open through it", out);
  close(a);
  close(b);
}

// ---- 3. a mount's host path through a directory the guest replaces ----
static void swapped_mount_component(void) {
  char out[1024];
  read_at(AT_FDCWD, "/deep/inside.txt", out, sizeof out);
  say("mount: before, /deep/inside.txt", out);
  rename("a", "a.old");
  symlink(outside, "a");
  read_at(AT_FDCWD, "/deep/secret.txt", out, sizeof out);
  say("mount: after swapping a, /deep/secret.txt", out);
  int fd = open("/deep", O_RDONLY | O_DIRECTORY);
  list_fd(fd, out, sizeof out);
  close(fd);
  say("mount: after swapping a, /deep lists", out);
  rename("c", "c.old");
  symlink(outside, "c");
  int w = open("/deepw/planted.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  say("mount: after swapping c, create /deepw/planted.txt", w >= 0 ? "created" : strerror(errno));
  if (w >= 0) {
    (void)!write(w, "guest\n", 6);
    close(w);
  }
  read_at(AT_FDCWD, "c.old/b/planted.txt", out, sizeof out);
  say("mount: it is in c.old/b", out);
}

// ---- 4. '..' out of a moved directory; the working directory moved ----
static void moved_directories(void) {
  char out[1024];
  mkdir("m", 0755);
  mkdir("m/n", 0755);
  int fd = open("m/n", O_RDONLY | O_DIRECTORY);
  rename("m/n", "n2");
  char up[4096] = "";
  for (int i = 0; i < 20; i++) strcat(up, "../");
  strcat(up, secretfile + 1);
  read_at(fd, up, out, sizeof out);
  say("moved directory: openat ../../secret", out);
  close(fd);
  mkdir("cw", 0755);
  write_file("cw/mine", "guest file\n");
  int here = open(".", O_RDONLY | O_DIRECTORY);
  chdir("cw");
  rename("../cw", "../cw.moved");
  symlink(secretdir, "../cw");
  read_at(AT_FDCWD, "mine", out, sizeof out);
  say("moved working directory: mine", out);
  read_at(AT_FDCWD, "secret.txt", out, sizeof out);
  say("moved working directory: secret.txt", out);
  int d = open(".", O_RDONLY | O_DIRECTORY);
  list_fd(d, out, sizeof out);
  close(d);
  say("moved working directory: . lists", out);
  fchdir(here);
  close(here);
}

// ---- 5. hard links to what lies outside; renameat2 RENAME_EXCHANGE ----
static void links_out(void) {
  say("hard link to the host secret", link(secretfile, "hl-secret") == 0 ? "LINKED" : strerror(errno));
  write_file("/tmp/in-tmp", "tmp\n");
  say("hard link across mounts", link("/tmp/in-tmp", "hl-tmp") == 0 ? "LINKED" : strerror(errno));
  mkdir("x1", 0755);
  symlink(secretdir, "x2");
  say("renameat2 RENAME_EXCHANGE", syscall(SYS_renameat2, AT_FDCWD, "x1", AT_FDCWD, "x2", 2 /* RENAME_EXCHANGE */) == 0 ? "exchanged" : strerror(errno));
}

// ---- 6. two threads: one swaps a directory for a link, one reads through it ----
static volatile int stop;
static int rounds = 300;

static void *swapper(void *arg) {
  (void)arg;
  for (int i = 0; i < rounds && !stop; i++) {
    rename("r", "r.tmp");
    symlink(secretdir, "r");
    sched_yield();
    unlink("r");
    rename("r.tmp", "r");
    sched_yield();
  }
  stop = 1;
  return 0;
}

static void race(void) {
  mkdir("r", 0755);
  write_file("r/mine.txt", "guest data\n");
  int dirfd = open("r", O_RDONLY | O_DIRECTORY);
  pthread_t t;
  pthread_create(&t, 0, swapper, 0);
  long tries = 0, guest = 0, leaked = 0;
  char out[1024];
  while (!stop) {
    const char *paths[] = { "r/secret.txt", "r/mine.txt" };
    for (int i = 0; i < 2; i++) {
      read_at(AT_FDCWD, paths[i], out, sizeof out);
      tries++;
      if (strstr(out, "guest data")) guest++;
      if (strstr(out, "SECRET")) leaked++;
      read_at(dirfd, paths[i] + 2, out, sizeof out);
      tries++;
      if (strstr(out, "guest data")) guest++;
      if (strstr(out, "SECRET")) leaked++;
    }
    struct stat st;
    if (stat("r/secret.txt", &st) == 0 || fstatat(dirfd, "secret.txt", &st, 0) == 0) leaked++;
    list_fd(dirfd, out, sizeof out);
    if (strstr(out, "secret")) leaked++;
    struct statfs sf;
    int p = open("r", O_PATH | O_NOFOLLOW);
    if (p >= 0) {
      fstatfs(p, &sf);
      close(p);
    }
  }
  pthread_join(t, 0);
  close(dirfd);
  printf("race: %s (guest data read %s)\n", leaked ? "HOST CONTENT SEEN" : "never saw the host", guest > 0 ? "too" : "never");
  (void)tries;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: files-escape-races SECRETDIR OUTSIDE [ROUNDS]\n");
    return 2;
  }
  secretdir = argv[1];
  outside = argv[2];
  if (argc > 3) rounds = atoi(argv[3]);
  snprintf(secretfile, sizeof secretfile, "%s/secret.txt", secretdir);
  renamed_directory();
  statfs_oracle();
  swapped_mount_component();
  moved_directories();
  links_out();
  race();
  return 0;
}
