/* brk: the program break grows, shrinks and grows again; memory handed out
 * again after a shrink reads as zero, memory below the break keeps its
 * contents, and a break below the initial one is refused. Only offsets from
 * the initial break are printed (its address may differ between VMs). Exit
 * status 0 when all checks pass. */
#include "rt.h"

static u64 start;

/* brk(addr), as an offset from the initial break. */
static u64 brk_at(u64 addr) { return (u64)rt_brk((void *)addr) - start; }

#define KiB 1024ul

static int all(const unsigned char *p, u64 n, unsigned char v) {
  for (u64 i = 0; i < n; i++) if (p[i] != v) return 0;
  return 1;
}

int main(void) {
  start = (u64)rt_brk(0);
  rt_check_u64("brk(0) returns the break (nonzero)", start != 0, 1);
  rt_check_u64("brk(0) again: unchanged (offset from the first)", brk_at(0), 0);
  /* A page boundary at or above the initial break: the offsets below are
   * page-aligned in every VM. */
  u64 base = (start + 4095) & ~4095ul;
  u64 top = base + 64 * KiB;

  rt_puts("offsets below are from the initial break; the page boundary is at +");
  rt_put_short_hex(base - start); rt_putc('\n');
  rt_check_u64("grow to page + 64 KiB", brk_at(top), top - start);
  rt_check_u64("brk(0) after growing", brk_at(0), top - start);
  unsigned char *p = (unsigned char *)base;
  rt_check_u64("new memory reads as zero", all(p, 64 * KiB, 0), 1);
  memset(p, 0xa5, 64 * KiB);
  rt_check_u64("written", all(p, 64 * KiB, 0xa5), 1);

  rt_check_u64("shrink to +8 KiB", brk_at(base + 8 * KiB), base + 8 * KiB - start);
  rt_check_u64("grow to +64 KiB again", brk_at(top), top - start);
  rt_check_u64("memory below the shrunk break kept", all(p, 8 * KiB, 0xa5), 1);
  rt_check_u64("memory above it reads as zero again", all(p + 8 * KiB, 56 * KiB, 0), 1);

  rt_check_u64("grow by 1 MiB", brk_at(top + 1024 * KiB), top + 1024 * KiB - start);
  p[64 * KiB + 1024 * KiB - 1] = 7;
  rt_check_u64("last byte of it writable", p[64 * KiB + 1024 * KiB - 1], 7);
  rt_check_u64("brk below the initial break is refused", brk_at(start - 4096), top + 1024 * KiB - start);
  rt_check_u64("shrink back to the start", brk_at(start), 0);
  return rt_done();
}
