// MAP_SHARED mappings of a file: stores reach the file (read(2) sees them at
// once; msync, munmap and exit write them back), write(2) reaches the
// mapping, two mappings of one file see each other's stores, ftruncate moves
// the SIGBUS line, and the errors of mmap, mprotect and msync. A workdir
// case: it writes shared.bin and other.bin, left behind for the golden files
// (shared.bin with the stores made after its descriptor closed, written
// back at exit).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define SIZE (3 * PAGE + 100)

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "WRONG"); }

static const char *err(long r) {
  if (r != -1) return "no error";
  switch (errno) {
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENODEV: return "ENODEV";
    case EBADF: return "EBADF";
    default: return strerror(errno);
  }
}

static sigjmp_buf jump;
static volatile int signals;
static void on_bus(int sig) { signals = sig; siglongjmp(jump, 1); }

// Whether reading *p raises SIGBUS.
static int bus_at(volatile unsigned char *p) {
  signals = 0;
  if (sigsetjmp(jump, 1) == 0) (void)*p;
  return signals == SIGBUS;
}

static unsigned sum_file(const char *path, long *size) {
  int fd = open(path, O_RDONLY);
  unsigned char buf[PAGE];
  unsigned sum = 0;
  long n, total = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (long i = 0; i < n; i++) sum = sum * 31 + buf[i];
    total += n;
  }
  close(fd);
  *size = total;
  return sum;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_bus;
  sigaction(SIGBUS, &sa, NULL);

  int fd = open("shared.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  unsigned char data[SIZE];
  for (int i = 0; i < SIZE; i++) data[i] = (unsigned char)('a' + i % 26);
  check("write the file", write(fd, data, SIZE) == SIZE);

  // One mapping: stores reach read(2) and pread at once, write(2) reaches it.
  unsigned char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check("mmap MAP_SHARED", m != MAP_FAILED);
  check("the mapping shows the file", memcmp(m, data, SIZE) == 0 && m[SIZE] == 0 && m[3 * PAGE + PAGE - 1] == 0);
  m[10] = 'X';
  m[PAGE + 1] = 'Y';
  unsigned char c = 0;
  check("pread sees a store", pread(fd, &c, 1, 10) == 1 && c == 'X');
  lseek(fd, PAGE + 1, SEEK_SET);
  check("read sees a store", read(fd, &c, 1) == 1 && c == 'Y');
  check("pwrite reaches the mapping", pwrite(fd, "Z", 1, 20) == 1 && m[20] == 'Z');
  lseek(fd, 2 * PAGE, SEEK_SET);
  check("write reaches the mapping", write(fd, "0123456789", 10) == 10 && memcmp(m + 2 * PAGE, "0123456789", 10) == 0);
  m[11] = 'W';
  check("a store after write", pread(fd, &c, 1, 11) == 1 && c == 'W');
  struct stat st;
  check("the size stays", fstat(fd, &st) == 0 && st.st_size == SIZE);
  check("past the end of the file in the last page: zero", m[SIZE + 1] == 0);

  // msync.
  check("msync MS_SYNC", msync(m, 4 * PAGE, MS_SYNC) == 0);
  check("msync MS_ASYNC", msync(m + PAGE, 100, MS_ASYNC) == 0);
  check("msync MS_INVALIDATE", msync(m, PAGE, MS_INVALIDATE) == 0);
  printf("msync MS_ASYNC|MS_SYNC: %s\n", err(msync(m, PAGE, MS_ASYNC | MS_SYNC)));
  printf("msync unaligned: %s\n", err(msync(m + 1, PAGE, MS_SYNC)));
  printf("msync bad flags: %s\n", err(msync(m, PAGE, 8)));
  void *hole = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap((char *)hole + PAGE, PAGE);
  printf("msync over a hole: %s\n", err(msync(hole, 3 * PAGE, MS_SYNC)));
  printf("msync of length 0: %s\n", err(msync(m, 0, MS_SYNC)));

  // Two mappings of one file see each other's stores, with no system call between.
  unsigned char *m2 = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
  check("a second mapping at offset 4096", m2 != MAP_FAILED && m2[1] == 'Y' && m2[0] == data[PAGE]);
  m[PAGE + 7] = 'A';
  check("the second sees the first's store", m2[7] == 'A');
  m2[8] = 'B';
  check("the first sees the second's store", m[PAGE + 8] == 'B');
  for (int i = 0; i < 100; i++) {
    m[PAGE + 100 + i] = (unsigned char)i;
    m2[200 + i] = (unsigned char)(m2[100 + i] + 1);
  }
  int same = 1;
  for (int i = 0; i < 100; i++) same &= m[PAGE + 200 + i] == (unsigned char)(i + 1);
  check("interleaved stores", same);
  check("read sees the second's store", pread(fd, &c, 1, PAGE + 8) == 1 && c == 'B');
  // read(2) into one mapping, write(2) from the other.
  int other = open("other.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  check("write(2) from a mapping", write(other, m2, 300) == 300);
  lseek(other, 0, SEEK_SET);
  check("read(2) into a mapping", read(other, m + PAGE + 1000, 300) == 300 && memcmp(m2 + 1000, m2, 300) == 0);
  close(other);
  // read(2) from the file into a mapping of the same file.
  unsigned char back[10];
  check("pread from the file into its own mapping", pread(fd, m + 2 * PAGE + 51, 10, 0) == 10 && memcmp(m + 2 * PAGE + 51, m, 10) == 0);
  check("and the file has what was read", pread(fd, back, 10, 2 * PAGE + 51) == 10 && memcmp(back, m, 10) == 0);
  check("munmap the second", munmap(m2, 2 * PAGE) == 0);
  check("the first keeps the stores", m[PAGE + 8] == 'B' && m[PAGE + 1000] == m[PAGE]);

  // Unmapping part of a mapping writes it back; the rest stays shared.
  m[3 * PAGE + 5] = 'T';
  check("munmap the last page", munmap(m + 3 * PAGE, PAGE) == 0);
  check("its store reached the file", pread(fd, &c, 1, 3 * PAGE + 5) == 1 && c == 'T');
  m[5] = 'F';
  check("the rest is still shared", pread(fd, &c, 1, 5) == 1 && c == 'F');

  // ftruncate moves the SIGBUS line; MADV_DONTNEED keeps the file's bytes.
  check("ftruncate to one page", ftruncate(fd, PAGE) == 0);
  check("a page past the new end: SIGBUS", bus_at(m + PAGE));
  check("the page before it: readable", !bus_at(m + PAGE - 1) && m[5] == 'F');
  check("ftruncate to three pages", ftruncate(fd, 3 * PAGE) == 0);
  check("the file grew back: zeros", !bus_at(m + 2 * PAGE) && m[2 * PAGE] == 0 && m[PAGE + 8] == 0);
  check("MADV_DONTNEED keeps a shared mapping", madvise(m, PAGE, MADV_DONTNEED) == 0 && m[5] == 'F' && m[10] == 'X');

  // mremap: moved (and grown), the pages still show the file and reach it.
  void *block = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *s1 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
  unsigned char *s2 = mremap(s1, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
  check("mremap of a shared mapping", s2 != MAP_FAILED && s2[PAGE] == 0 && !bus_at(s2 + PAGE));
  s2[PAGE + 3] = 'M';
  check("the moved mapping's store reaches the file", pread(fd, &c, 1, 2 * PAGE + 3) == 1 && c == 'M');
  check("and the other mapping", m[2 * PAGE + 3] == 'M');
  check("pwrite reaches the moved mapping", pwrite(fd, "N", 1, PAGE + 2) == 1 && s2[2] == 'N');
  munmap(s2, 2 * PAGE);
  munmap(block, PAGE);

  // Errors.
  int ro = open("shared.bin", O_RDONLY);
  printf("MAP_SHARED PROT_WRITE of a read-only descriptor: %s\n", err((long)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0)));
  // (MAP_SHARED_VALIDATE with a flag it does not know is EOPNOTSUPP on
  // Linux, EINVAL under QEMU 7.2: test/linux-memory.test.ts checks it.)
  printf("MAP_SHARED with an unknown flag: %s\n", err(munmap(mmap(NULL, PAGE, PROT_READ, MAP_SHARED | 0x200000, fd, 0), PAGE)));
  printf("MAP_SHARED at an unaligned offset: %s\n", err((long)mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 100)));
  unsigned char *r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
  check("MAP_SHARED PROT_READ of a read-only descriptor", r != MAP_FAILED && r[5] == 'F');
  check("it sees a store through another mapping", (m[6] = 'G') && r[6] == 'G');
  check("it sees pwrite", pwrite(fd, "H", 1, 7) == 1 && r[7] == 'H');
  printf("mprotect PROT_WRITE of it: %s\n", err(mprotect(r, PAGE, PROT_READ | PROT_WRITE)));
  printf("mprotect PROT_WRITE of a writable one: %s\n", err(mprotect(m, PAGE, PROT_READ | PROT_WRITE)));
  munmap(r, PAGE);
  close(ro);

  // fork: the child's mapping shows the same file, with the parent's
  // stores; the child's stores reach the file and the parent's mapping.
  m[300] = 'P';
  pid_t pid = fork();
  if (pid == 0) {
    int ok = m[300] == 'P' && m[5] == 'F';
    m[301] = 'C';
    msync(m, PAGE, MS_SYNC);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  check("fork: the child sees the parent's stores", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  check("fork: the child's store reached the file", pread(fd, &c, 1, 301) == 1 && c == 'C');
  check("fork: and the parent's mapping", m[301] == 'C' && m[300] == 'P');

  // Stores left in the mapping at exit, the descriptor closed first.
  close(fd);
  memcpy(m + 100, "left at exit", 12);
  long size;
  unsigned sum = sum_file("shared.bin", &size);
  printf("the file before exit: %ld bytes, sum %08x\n", size, sum);
  m[200] = '!';
  return 0;
}
