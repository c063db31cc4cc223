// Directory listing: creates a small tree and lists it with opendir/readdir
// (sorted, so that the order the host file system keeps does not matter),
// scandir, and stat of every entry; rewinddir; nftw-like recursion by hand;
// then removes it all. Runs in an empty directory.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path, int depth) {
  DIR *d = opendir(path);
  if (!d) {
    printf("%*sopendir %s: %s\n", depth * 2, "", path, strerror(errno));
    return;
  }
  char *names[256];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  for (int i = 0; i < n; i++) {
    char full[1024];
    snprintf(full, sizeof full, "%s/%s", path, names[i]);
    struct stat st;
    if (lstat(full, &st) != 0) {
      printf("%*s%s: lstat %s\n", depth * 2, "", names[i], strerror(errno));
      continue;
    }
    const char *kind = S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : S_ISLNK(st.st_mode) ? "link" : "other";
    if (S_ISREG(st.st_mode)) printf("%*s%s (%s, %lld bytes)\n", depth * 2, "", names[i], kind, (long long)st.st_size);
    else printf("%*s%s (%s)\n", depth * 2, "", names[i], kind);
    if (S_ISDIR(st.st_mode) && strcmp(names[i], ".") && strcmp(names[i], "..")) list(full, depth + 1);
    free(names[i]);
  }
}

static void make(const char *path, int size) {
  FILE *f = fopen(path, "w");
  if (!f) { printf("fopen %s: %s\n", path, strerror(errno)); exit(1); }
  for (int i = 0; i < size; i++) fputc('a' + i % 26, f);
  fclose(f);
}

static int only_visible(const struct dirent *e) { return e->d_name[0] != '.'; }

int main(void) {
  mkdir("tree", 0755);
  mkdir("tree/b-dir", 0755);
  mkdir("tree/a-dir", 0755);
  mkdir("tree/a-dir/inner", 0755);
  make("tree/zeta.txt", 3);
  make("tree/alpha.txt", 100);
  make("tree/a-dir/one", 1);
  make("tree/a-dir/inner/deep.dat", 4096);
  make("tree/.hidden", 7);
  symlink("alpha.txt", "tree/link-to-alpha");
  char many[64];
  for (int i = 0; i < 60; i++) {
    snprintf(many, sizeof many, "tree/b-dir/file-%02d-with-a-longer-name-to-fill-buffers", i);
    make(many, i);
  }
  list("tree", 0);

  struct dirent **entries;
  int n = scandir("tree", &entries, only_visible, alphasort);
  printf("scandir (visible, alphasort): %d entries:", n);
  for (int i = 0; i < n; i++) {
    printf(" %s", entries[i]->d_name);
    free(entries[i]);
  }
  free(entries);
  printf("\n");

  DIR *d = opendir("tree/a-dir");
  int first = 0, second = 0;
  while (readdir(d)) first++;
  rewinddir(d);
  while (readdir(d)) second++;
  printf("rewinddir: %d then %d entries\n", first, second);
  int dfd = dirfd(d);
  int fd = openat(dfd, "one", O_RDONLY);
  char c = 0;
  printf("openat(dirfd, \"one\"): %s, reads '%c'\n", fd >= 0 ? "ok" : strerror(errno), read(fd, &c, 1) == 1 ? c : '?');
  close(fd);
  struct stat st;
  printf("fstatat(dirfd, \"inner\"): %s\n", fstatat(dfd, "inner", &st, 0) == 0 && S_ISDIR(st.st_mode) ? "directory" : strerror(errno));
  closedir(d);

  printf("opendir of a file: %s\n", opendir("tree/zeta.txt") ? "opened?" : strerror(errno));
  printf("opendir of nothing: %s\n", opendir("tree/nothing") ? "opened?" : strerror(errno));

  // remove everything again
  for (int i = 0; i < 60; i++) {
    snprintf(many, sizeof many, "tree/b-dir/file-%02d-with-a-longer-name-to-fill-buffers", i);
    unlink(many);
  }
  const char *files[] = {"tree/zeta.txt", "tree/alpha.txt", "tree/a-dir/one", "tree/a-dir/inner/deep.dat", "tree/.hidden", "tree/link-to-alpha"};
  for (unsigned i = 0; i < sizeof files / sizeof *files; i++)
    if (unlink(files[i])) printf("unlink %s: %s\n", files[i], strerror(errno));
  const char *dirs[] = {"tree/a-dir/inner", "tree/a-dir", "tree/b-dir", "tree"};
  for (unsigned i = 0; i < sizeof dirs / sizeof *dirs; i++)
    if (rmdir(dirs[i])) printf("rmdir %s: %s\n", dirs[i], strerror(errno));
  printf("after cleanup: tree %s\n", access("tree", F_OK) == 0 ? "exists" : strerror(errno));
  return 0;
}
