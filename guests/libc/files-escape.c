// Sandbox escape attempts: prints what each attempt gets. Under ringvisor's
// sandbox every one must fail with the errno test/sandbox.test.ts expects;
// under QEMU (the real host) some succeed, so this case is ringvisor-only.
// argv[1] names a host file outside the working directory that the test
// created, so that its absence in the sandbox is no accident.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_open(const char *what, const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("%s: OPENED (%s)\n", what, strtok(buf, "\n"));
    close(fd);
  } else {
    printf("%s: %s\n", what, strerror(errno));
  }
}

int main(int argc, char **argv) {
  const char *secret = argc > 1 ? argv[1] : "/etc/passwd";
  char rel[4096];
  // As many '..' as it takes to reach / from anywhere, then the secret.
  strcpy(rel, "");
  for (int i = 0; i < 40; i++) strcat(rel, "../");
  strcat(rel, secret + 1);
  try_open("dot-dot to the secret", rel);
  try_open("dot-dot to /etc/passwd", "../../../../../../../../../../etc/passwd");
  try_open("absolute secret", secret);

  symlink(secret, "abs-link");
  try_open("absolute symlink to the secret", "abs-link");
  symlink("/etc", "etc-link");
  try_open("absolute symlink to /etc", "etc-link/passwd");
  symlink(rel, "rel-link");
  try_open("relative symlink with dot-dots", "rel-link");
  symlink("chain-2", "chain-1");
  symlink("chain-3", "chain-2");
  symlink(secret, "chain-3");
  try_open("symlink chain out", "chain-1");
  symlink("loop-b", "loop-a");
  symlink("loop-a", "loop-b");
  try_open("symlink loop", "loop-a");

  char cwd[4096];
  getcwd(cwd, sizeof cwd);
  int depth = 0;
  while (chdir("..") == 0 && depth < 50) {
    char now[4096];
    getcwd(now, sizeof now);
    depth++;
    if (strcmp(now, "/") == 0) break;
  }
  DIR *d = opendir(".");
  printf("at / after %s chdir(\"..\"): entries:", depth > 0 ? "several" : "no");
  struct dirent *e;
  char names[64][256];
  int n = 0;
  while (d && (e = readdir(d)) && n < 64) strcpy(names[n++], e->d_name);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(names[i], names[j]) > 0) { char t[256]; strcpy(t, names[i]); strcpy(names[i], names[j]); strcpy(names[j], t); }
  for (int i = 0; i < n; i++) printf(" %s", names[i]);
  printf("\n");
  if (d) closedir(d);
  // (Where it works, as under QEMU, the directory is removed again.)
  if (mkdir("/escape", 0755) == 0) {
    printf("mkdir /escape: CREATED\n");
    rmdir("/escape");
  } else {
    printf("mkdir /escape: %s\n", strerror(errno));
  }
  chdir(cwd);
  unlink("abs-link"); unlink("etc-link"); unlink("rel-link");
  unlink("chain-1"); unlink("chain-2"); unlink("chain-3");
  unlink("loop-a"); unlink("loop-b");
  char exe[4096];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[k > 0 ? k : 0] = 0;
  printf("/proc/self/exe ends with files-escape.elf: %s\n",
         k > 16 && strcmp(exe + k - 16, "files-escape.elf") == 0 ? "yes" : exe);
  return 0;
}
