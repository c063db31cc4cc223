/* poweroff: the way a kernel's syscon-poweroff driver powers the machine
 * off, without the SBI: find the device tree's /poweroff node (compatible
 * "syscon-poweroff"), the syscon its regmap names, and write its value at
 * its offset there. On QEMU's virt board that is the test finisher at
 * 0x100000 (0x5555: pass), and the machine ends with status 0. Nothing
 * after the write may run. */
#include "rt/rt.h"

static u32 be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static int streq(const char *a, const char *b) { while (*a && *a == *b) { a++; b++; } return *a == *b; }
static ul slen(const char *s) { ul n = 0; while (s[n]) n++; return n; }

#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4

/* Calls fn for every property: the node's name, the property's name and value. */
static void walk(const u8 *fdt, void (*fn)(const char *node, const char *prop, const u8 *v, u32 len)) {
  const u8 *p = fdt + be32(fdt + 8);
  const char *strings = (const char *)fdt + be32(fdt + 12);
  const char *stack[16];
  int depth = 0;
  for (;;) {
    u32 tok = be32(p);
    p += 4;
    if (tok == FDT_BEGIN_NODE) {
      const char *name = (const char *)p;
      if (depth < 16) stack[depth] = name;
      depth++;
      p += (slen(name) + 1 + 3) & ~3UL;
    } else if (tok == FDT_END_NODE) {
      depth--;
    } else if (tok == FDT_PROP) {
      u32 len = be32(p), nameoff = be32(p + 4);
      if (depth > 0 && depth <= 16) fn(stack[depth - 1], strings + nameoff, p + 8, len);
      p += 8 + ((len + 3) & ~3U);
    } else if (tok != FDT_NOP) {
      return; /* FDT_END, or anything unexpected */
    }
  }
}

static u32 regmap, offset, value;
static const char *syscon_name, *syscon_compatible;
static ul syscon_base;

static void find_poweroff(const char *node, const char *prop, const u8 *v, u32 len) {
  if (!streq(node, "poweroff") || len != 4) return;
  if (streq(prop, "regmap")) regmap = be32(v);
  else if (streq(prop, "offset")) offset = be32(v);
  else if (streq(prop, "value")) value = be32(v);
}

static const char *current;
static void find_syscon(const char *node, const char *prop, const u8 *v, u32 len) {
  if (streq(prop, "phandle") && len == 4 && be32(v) == regmap) syscon_name = current = node;
  if (node != current) return;
  if (streq(prop, "reg") && len >= 8) syscon_base = (ul)be32(v) << 32 | be32(v + 4);
  if (streq(prop, "compatible")) syscon_compatible = (const char *)v;
}

int main(void) {
  start("poweroff");
  const u8 *fdt = (const u8 *)entry_state.a1;
  if (be32(fdt) != 0xd00dfeed) { print("a1 is not a device tree\n"); return 0; }
  walk(fdt, find_poweroff);
  if (regmap == 0) { print("no /poweroff node with a regmap\n"); return 0; }
  /* (phandle appears before reg and compatible in both trees' nodes) */
  walk(fdt, find_syscon);
  if (syscon_name == 0) { print("/poweroff's regmap names no node\n"); return 0; }
  print("/poweroff: regmap %s (compatible %s, at %x), offset %x, value %x\n",
        syscon_name, syscon_compatible ? syscon_compatible : "none", syscon_base, (ul)offset, (ul)value);
  print("writing it\n");
  *(volatile u32 *)(syscon_base + offset) = value;
  print("still running after the write\n");
  return 0;
}
