// What a dynamically linked program sees of the dynamic linker: the auxiliary
// vector it was started with (AT_BASE, AT_ENTRY, AT_PHDR), the objects
// loaded at start (dl_iterate_phdr), libraries opened at run time (dlopen,
// dlsym, dlclose, a missing one's dlerror), thread-local storage in the
// program, and /proc/self/exe. Prints nothing that depends on where things
// were loaded, so its output is the same under every loader that follows
// Linux's rules. Built only dynamically (guests/build.sh: dynload-dyn.elf).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static __thread int tls_counter = 5;

static const char *basename_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static int list_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  int *n = data;
  int loads = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) loads += info->dlpi_phdr[i].p_type == PT_LOAD;
  // The program itself has an empty name; the vDSO (none here) would too.
  printf("object %d: %s, %d PT_LOAD segments\n", (*n)++, info->dlpi_name[0] ? basename_of(info->dlpi_name) : "(the program)", loads);
  return 0;
}

int main(int argc, char **argv) {
  (void)argc;
  unsigned long base = getauxval(AT_BASE), entry = getauxval(AT_ENTRY), phdr = getauxval(AT_PHDR);
  extern char _start[];
  printf("AT_BASE is %s\n", base ? "set (an interpreter loaded the program)" : "0");
  printf("AT_ENTRY is _start: %s\n", entry == (unsigned long)_start ? "yes" : "no");
  printf("AT_PHDR is inside the program: %s\n", phdr > entry - 0x100000 && phdr < entry ? "yes" : "no");
  printf("AT_PHNUM %lu, AT_PAGESZ %lu\n", getauxval(AT_PHNUM), getauxval(AT_PAGESZ));

  // The interpreter's own ELF header is at AT_BASE.
  const unsigned char *ehdr = (const unsigned char *)base;
  printf("AT_BASE holds an ELF header: %s\n", base && memcmp(ehdr, ELFMAG, SELFMAG) == 0 ? "yes" : "no");

  int n = 0;
  dl_iterate_phdr(list_object, &n);

  void *m = dlopen("libm.so.6", RTLD_NOW);
  if (!m) {
    printf("dlopen libm.so.6: %s\n", dlerror());
    return 1;
  }
  double (*cosine)(double) = (double (*)(double))dlsym(m, "cos");
  double (*power)(double, double) = (double (*)(double, double))dlsym(m, "pow");
  printf("dlsym cos: %s, cos(0.5) = %.17g, pow(2, 0.5) = %.17g\n", cosine ? "found" : "missing", cosine(0.5), power(2, 0.5));
  printf("dlsym no_such_symbol: %s\n", dlsym(m, "no_such_symbol") ? "found" : "missing");
  printf("dlclose: %d\n", dlclose(m));

  // Another library where libm was (mmap reuses the room dlclose freed):
  // its code must run, not what was translated from libm's pages.
  void *g = dlopen("libgcc_s.so.1", RTLD_NOW);
  if (!g) {
    printf("dlopen libgcc_s.so.1: %s\n", dlerror());
    return 1;
  }
  int (*popcount)(unsigned long) = (int (*)(unsigned long))dlsym(g, "__popcountdi2");
  long bits = 0;
  for (unsigned long i = 0; i < 5000; i++) bits += popcount(i * 0x9e3779b97f4a7c15ul);
  printf("libgcc_s __popcountdi2 over 5000 values: %ld bits\n", bits);
  m = dlopen("libm.so.6", RTLD_NOW);
  cosine = (double (*)(double))dlsym(m, "cos");
  double sum = 0;
  for (int i = 0; i < 2000; i++) sum += cosine(i * 0.001);
  printf("libm again: sum of cos %.17g\n", sum);
  dlclose(m);
  dlclose(g);

  void *none = dlopen("libdoes-not-exist.so.1", RTLD_LAZY);
  printf("dlopen libdoes-not-exist.so.1: %s\n", none ? "opened?" : dlerror());

  // RTLD_NOLOAD: libc is loaded already, libm again after its dlclose.
  void *c = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  printf("libc.so.6 already loaded: %s\n", c ? "yes" : "no");
  void *self = dlopen(NULL, RTLD_NOW);
  printf("dlsym(program, \"main\") is main: %s\n", dlsym(self, "main") == (void *)main ? "yes" : "no (not exported)");

  tls_counter += 3;
  printf("tls_counter %d\n", tls_counter);

  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len >= 0) exe[len] = 0;
  printf("/proc/self/exe names %s\n", len >= 0 ? basename_of(exe) : "nothing");
  printf("argv[0] basename %s\n", basename_of(argv[0]));
  return 0;
}
