/* A static position-independent executable (gcc -static-pie): linked at 0 and
 * run wherever the VM puts it. Like glibc's static-pie start-up
 * (_dl_relocate_static_pie), it first finds its load bias and applies its own
 * R_RISCV_RELATIVE relocations, touching nothing that needs them; then it
 * checks that the loader biased everything alike (AT_PHDR, AT_ENTRY, AT_BASE
 * 0, the program headers, the break after the image) and uses what the relocations filled in: a
 * table of function pointers, a table of strings, pointers between globals,
 * and a heap (grown with brk) holding a function pointer. Prints no
 * addresses: QEMU and ringvisor load it at different places.
 *
 * Debian's cross glibc (2.36) ships no rcrt1.o and no self-relocation for
 * riscv64, so `-static-pie` against glibc does not link; this program uses
 * the freestanding runtime instead. It has its own _start (not lib/start.S:
 * that one loads gp through the GOT, before anything is relocated). */
#include "rt.h"

#define AT_NULL 0
#define AT_PHDR 3
#define AT_BASE 7
#define AT_ENTRY 9
#define DT_NULL 0
#define DT_RELA 7
#define DT_RELASZ 8
#define DT_RELAENT 9
#define R_RISCV_NONE 0
#define R_RISCV_RELATIVE 3

typedef struct { i64 tag; u64 val; } Dyn;
typedef struct { u64 offset, info; i64 addend; } Rela;
typedef struct { u32 type, flags; u64 offset, vaddr, paddr, filesz, memsz, align; } Phdr;
typedef struct {
  unsigned char ident[16];
  unsigned short type, machine;
  u32 version;
  u64 entry, phoff, shoff;
  u32 flags;
  unsigned short ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} Ehdr;

/* Hidden, so that the compiler reaches them pc-relatively (no GOT). */
extern const Dyn _DYNAMIC[] __attribute__((visibility("hidden")));
extern const Ehdr __ehdr_start __attribute__((visibility("hidden")));
extern char _end[] __attribute__((visibility("hidden")));
extern char _start[] __attribute__((visibility("hidden")));

__asm__(
  "  .section .text._start, \"ax\"\n"
  "  .globl _start\n"
  "_start:\n"
  "  mv a0, sp\n"
  "  tail pie_start\n");

struct boot {
  u64 bias;
  u64 relative, other;  /* relocations applied, and of another type */
  u64 at_phdr, at_entry, at_base;
  int at_base_seen;
};

/* Before relocation: only locals and pc-relative addresses. */
static void relocate(u64 *sp, struct boot *b) {
  /* Linked at 0: the ELF header's run-time address is the bias. */
  b->bias = (u64)&__ehdr_start;
  u64 argc = sp[0];
  u64 *p = sp + 1 + argc + 1;
  while (*p) p++;
  for (p++; p[0] != AT_NULL; p += 2) {
    if (p[0] == AT_PHDR) b->at_phdr = p[1];
    if (p[0] == AT_ENTRY) b->at_entry = p[1];
    if (p[0] == AT_BASE) { b->at_base = p[1]; b->at_base_seen = 1; }
  }
  u64 rela = 0, relasz = 0, relaent = sizeof(Rela);
  for (const Dyn *d = _DYNAMIC; d->tag != DT_NULL; d++) {
    if (d->tag == DT_RELA) rela = d->val;
    if (d->tag == DT_RELASZ) relasz = d->val;
    if (d->tag == DT_RELAENT) relaent = d->val;
  }
  for (u64 off = 0; off + relaent <= relasz; off += relaent) {
    const Rela *r = (const Rela *)(b->bias + rela + off);
    u32 type = (u32)r->info;
    if (type == R_RISCV_RELATIVE) {
      *(u64 *)(b->bias + r->offset) = b->bias + (u64)r->addend;
      b->relative++;
    } else if (type != R_RISCV_NONE) {
      b->other++;
    }
  }
}

static int add(int a, int b) { return a + b; }
static int sub(int a, int b) { return a - b; }
static int mul(int a, int b) { return a * b; }

/* Each initialiser below is an address: a relocation fills it in. */
static int (*const ops[])(int, int) = { add, sub, mul };
static const char *const names[] = { "add", "sub", "mul" };
static int answer = 42;
int *answer_ptr = &answer;
struct node { const char *label; struct node *next; };
static struct node third = { "third", 0 };
static struct node second = { "second", &third };
struct node first = { "first", &second };

static void *heap_end;
/* A bump allocator on the break: what malloc does for small programs. */
static void *alloc(u64 n) {
  if (!heap_end) heap_end = rt_brk(0);
  void *p = heap_end;
  void *want = (char *)p + ((n + 15) & ~15ul);
  if (rt_brk(want) != want) return 0;
  heap_end = want;
  return p;
}

static int main_pie(int argc, char **argv, const struct boot *b) {
  rt_section("load bias");
  const Ehdr *eh = &__ehdr_start;
  /* Comparisons, not values: the bias differs between VMs. */
  rt_check_u64("ELF type is ET_DYN", eh->type, 3);
  rt_check_u64("bias is not 0", b->bias != 0, 1);
  rt_check_u64("bias is page-aligned", b->bias & 0xfff, 0);
  rt_check_u64("AT_PHDR == bias + e_phoff", b->at_phdr == b->bias + eh->phoff, 1);
  const Phdr *ph = (const Phdr *)b->at_phdr;
  u64 loads = 0, first_load = ~0ul;
  for (int i = 0; i < eh->phnum; i++)
    if (ph[i].type == 1) { loads++; if (first_load == ~0ul) first_load = ph[i].vaddr; }
  rt_check_u64("PT_LOADs read through AT_PHDR", loads, 2);
  rt_check_u64("first PT_LOAD linked at 0", first_load, 0);
  rt_check_u64("AT_ENTRY == bias + e_entry", b->at_entry == b->bias + eh->entry, 1);
  rt_check_u64("AT_ENTRY == &_start", b->at_entry == (u64)_start, 1);
  rt_check_u64("AT_BASE present", b->at_base_seen, 1);
  rt_check_u64("AT_BASE = 0 (no interpreter)", b->at_base, 0);

  rt_section("relocations");
  rt_puts("R_RISCV_RELATIVE applied: "); rt_put_dec((i64)b->relative); rt_putc('\n');
  rt_check_u64("some relocations", b->relative > 0, 1);
  rt_check_u64("no other relocation types", b->other, 0);
  for (int i = 0; i < 3; i++) {
    rt_puts(names[i]); rt_puts("(7, 3) = "); rt_put_dec(ops[i](7, 3)); rt_putc('\n');
  }
  rt_check_u64("*answer_ptr", (u64)*answer_ptr, 42);
  rt_check_u64("answer_ptr == &answer", answer_ptr == &answer, 1);
  for (const struct node *n = &first; n; n = n->next) { rt_puts(n->label); rt_putc(n->next ? ' ' : '\n'); }

  rt_section("argv");
  for (int i = 0; i < argc; i++) { rt_puts("argv["); rt_put_dec(i); rt_puts("] = "); rt_puts(argv[i]); rt_putc('\n'); }

  rt_section("heap");
  void *start = rt_brk(0);
  rt_check_u64("break after the image", (char *)start >= _end, 1);
  u64 *words = alloc(64 * sizeof(u64));
  rt_check_u64("allocated", words != 0, 1);
  u64 zero = 0;
  for (int i = 0; i < 64; i++) zero |= words[i];
  rt_check_u64("new memory is zero", zero, 0);
  for (int i = 0; i < 64; i++) words[i] = (u64)i * i;
  u64 sum = 0;
  for (int i = 0; i < 64; i++) sum += words[i];
  rt_check_u64("sum of squares 0..63", sum, 85344);
  int (**fp)(int, int) = alloc(sizeof *fp);
  *fp = ops[2];
  rt_check_u64("function pointer from the heap: mul(6, 7)", (u64)(*fp)(6, 7), 42);
  return rt_done();
}

void pie_start(u64 *sp) __attribute__((noreturn, used));
void pie_start(u64 *sp) {
  struct boot b = { 0 };
  relocate(sp, &b);
  int argc = (int)sp[0];
  rt_exit(main_pie(argc, (char **)(sp + 1), &b));
}
