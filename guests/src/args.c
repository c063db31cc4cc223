/* The initial process stack as Linux builds it: argc, argv (with empty and
 * space-containing arguments), envp, and the auxiliary vector entries whose
 * values are the same in every VM (AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM,
 * AT_ENTRY, AT_HWCAP, AT_CLKTCK, AT_SECURE, AT_EXECFN; AT_RANDOM only as
 * "present"), sp 16-byte aligned. Also writes a line to stderr. Exit status
 * 0 when the checks pass. */
#include "rt.h"

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_ENTRY 9
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31

extern char _start[];

static void show(const char *name, u64 v) {
  rt_puts(name); rt_puts(" = "); rt_put_short_hex(v); rt_putc('\n');
}

int main(int argc, char **argv, char **envp) {
  rt_puts("argc = "); rt_put_dec(argc); rt_putc('\n');
  for (int i = 0; i < argc; i++) {
    rt_puts("argv["); rt_put_dec(i); rt_puts("] = \""); rt_puts(argv[i]);
    rt_puts("\" (length "); rt_put_dec((i64)rt_strlen(argv[i])); rt_puts(")\n");
  }
  rt_check_u64("argv[argc] == NULL", (u64)argv[argc], 0);
  rt_check_u64("envp follows argv's NULL", envp == argv + argc + 1, 1);
  rt_check_u64("sp at entry 16-byte aligned (argv - 8)", ((u64)argv - 8) & 15, 0);
  int n = 0;
  char **p = envp;
  for (; *p; p++, n++) { rt_puts("envp["); rt_put_dec(n); rt_puts("] = \""); rt_puts(*p); rt_puts("\"\n"); }
  rt_puts("envc = "); rt_put_dec(n); rt_putc('\n');

  u64 *aux = (u64 *)(p + 1);
  u64 seen = 0, random = 0;
  const char *execfn = 0;
  for (; aux[0] != AT_NULL; aux += 2) {
    u64 key = aux[0], v = aux[1];
    if (key < 64) seen |= 1ul << key;
    switch (key) {
      case AT_PAGESZ: show("AT_PAGESZ", v); break;
      case AT_PHDR: show("AT_PHDR", v); break;
      case AT_PHENT: show("AT_PHENT", v); break;
      case AT_PHNUM: show("AT_PHNUM", v); break;
      case AT_ENTRY: show("AT_ENTRY", v); rt_check_u64("AT_ENTRY == _start", v, (u64)_start); break;
      case AT_HWCAP: show("AT_HWCAP", v); break;
      case AT_CLKTCK: show("AT_CLKTCK", v); break;
      case AT_SECURE: show("AT_SECURE", v); break;
      case AT_RANDOM: random = v; break;
      case AT_EXECFN: execfn = (const char *)v; break;
      default: break;
    }
  }
  rt_check_u64("AT_RANDOM present", random != 0, 1);
  if (execfn) { rt_puts("AT_EXECFN = \""); rt_puts(execfn); rt_puts("\"\n"); }
  else rt_check_u64("AT_EXECFN present", 0, 1);
  const u64 need = 1ul << AT_PAGESZ | 1ul << AT_PHDR | 1ul << AT_PHENT | 1ul << AT_PHNUM | 1ul << AT_ENTRY;
  rt_check_u64("AT_PAGESZ AT_PHDR AT_PHENT AT_PHNUM AT_ENTRY all present", seen & need, need);

  rt_flush();
  rt_eputs("args: this line goes to stderr\n");
  return rt_done();
}
