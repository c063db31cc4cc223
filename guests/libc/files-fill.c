// Fills a directory until the file system says no: the limits of the private
// /tmp (--tmp-size, --tmp-inodes) and of --disk-quota, as a guest that tries
// to exhaust the host would meet them. Prints how many it made, then the
// error, then what is left after removing them again.
//
// usage: files-fill DIR KIND MAX
//   KIND  links      symbolic links with 4000-byte targets
//         names      empty files with 255-byte names
//         dirs       directories
//         hardlinks  hard links to one file
//         data       one file written 64 KiB at a time
// test/sandbox-limits.test.ts runs it.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static char path[8192], target[4001], chunk[65536];

static void name_of(const char *dir, const char *kind, long i) {
  if (strcmp(kind, "names") == 0) {
    int n = snprintf(path, sizeof path, "%s/%ld-", dir, i);
    memset(path + n, 'n', 255 - (n - strlen(dir) - 1));
    path[strlen(dir) + 1 + 255] = 0;
  } else {
    snprintf(path, sizeof path, "%s/%s-%ld", dir, kind, i);
  }
}

static int make(const char *dir, const char *kind, long i) {
  name_of(dir, kind, i);
  if (strcmp(kind, "links") == 0) return symlink(target, path);
  if (strcmp(kind, "dirs") == 0) return mkdir(path, 0755);
  if (strcmp(kind, "hardlinks") == 0) {
    char first[8192];
    snprintf(first, sizeof first, "%s/hardlinks-first", dir);
    return link(first, path);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return -1;
  return close(fd);
}

static int unmake(const char *dir, const char *kind, long i) {
  name_of(dir, kind, i);
  return strcmp(kind, "dirs") == 0 ? rmdir(path) : unlink(path);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: files-fill DIR KIND MAX\n");
    return 2;
  }
  const char *dir = argv[1], *kind = argv[2];
  long max = atol(argv[3]);
  memset(target, 't', 4000);
  memset(chunk, 'd', sizeof chunk);
  struct statfs before, after;
  statfs(dir, &before);
  long made = 0;
  int err = 0;
  if (strcmp(kind, "data") == 0) {
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      printf("open: %s\n", strerror(errno));
      return 1;
    }
    for (; made < max; made++) {
      ssize_t n = write(fd, chunk, sizeof chunk);
      if (n < (ssize_t)sizeof chunk) {
        err = n < 0 ? errno : 0;
        if (n >= 0) {
          // A short write: the next one says why.
          n = write(fd, chunk, sizeof chunk);
          err = n < 0 ? errno : 0;
        }
        break;
      }
    }
    close(fd);
    printf("wrote %ld chunks, then %s\n", made, err ? strerror(err) : "no error");
    printf("unlink: %s\n", unlink(path) == 0 ? "ok" : strerror(errno));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    printf("writing again after the unlink: %s\n", fd >= 0 && write(fd, chunk, sizeof chunk) == sizeof chunk ? "ok" : strerror(errno));
    if (fd >= 0) close(fd);
    unlink(path);
    return 0;
  }
  if (strcmp(kind, "hardlinks") == 0) {
    snprintf(path, sizeof path, "%s/hardlinks-first", dir);
    close(open(path, O_WRONLY | O_CREAT, 0644));
  }
  for (; made < max; made++) {
    if (make(dir, kind, made) != 0) {
      err = errno;
      break;
    }
  }
  printf("made %ld %s, then %s\n", made, kind, err ? strerror(err) : "no error");
  long removed = 0;
  for (long i = 0; i < made; i++) removed += unmake(dir, kind, i) == 0;
  // After removing them, there is room again.
  printf("making one more: %s\n", make(dir, kind, 0) == 0 ? "ok" : strerror(errno));
  unmake(dir, kind, 0);
  if (strcmp(kind, "hardlinks") == 0) {
    snprintf(path, sizeof path, "%s/hardlinks-first", dir);
    unlink(path);
  }
  statfs(dir, &after);
  printf("removed %ld; free blocks and inodes as before: %s\n", removed,
         before.f_bfree == after.f_bfree && before.f_ffree == after.f_ffree ? "yes" : "no");
  return 0;
}
