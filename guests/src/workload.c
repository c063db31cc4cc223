/* A CPU-bound mix for measuring the interpreter (bench/mips.mjs) that is
 * also a differential test: CRC-32 over a buffer, a matrix multiply, an
 * insertion-then-shell sort, and a small state machine, repeated argv[1]
 * times; prints one checksum per part. */
#include "rt.h"

#define N 4096
static unsigned char data[N];
static u32 sortbuf[1024];
static i64 ma[24][24], mb[24][24], mc[24][24];

static u32 crc32(const unsigned char *p, size_t n, u32 crc) {
  crc = ~crc;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
  }
  return ~crc;
}

static u64 matmul(void) {
  for (int i = 0; i < 24; i++)
    for (int j = 0; j < 24; j++) {
      i64 s = 0;
      for (int k = 0; k < 24; k++) s += ma[i][k] * mb[k][j];
      mc[i][j] = s;
    }
  u64 h = 0;
  for (int i = 0; i < 24; i++) for (int j = 0; j < 24; j++) h = h * 31 + (u64)mc[i][j];
  return h;
}

static u64 shellsort(u32 seed) {
  for (int i = 0; i < 1024; i++) { seed = seed * 1103515245u + 12345u; sortbuf[i] = seed >> 8; }
  for (int gap = 512; gap > 0; gap /= 2)
    for (int i = gap; i < 1024; i++) {
      u32 v = sortbuf[i]; int j = i;
      while (j >= gap && sortbuf[j - gap] > v) { sortbuf[j] = sortbuf[j - gap]; j -= gap; }
      sortbuf[j] = v;
    }
  u64 h = 0;
  for (int i = 0; i < 1024; i++) h = h * 1000003u + sortbuf[i];
  return h;
}

/* Counts tokens of a little language: numbers, words and operators. */
static u64 lexer(void) {
  static const char text[] = "let x1 = 42 + y * (z - 7) / 3; while (x1 > 0) { x1 = x1 - 1; print x1 }";
  u64 words = 0, numbers = 0, ops = 0;
  int state = 0;
  for (const char *p = text; ; p++) {
    char c = *p;
    int alpha = (c >= 'a' && c <= 'z') || c == '_', digit = c >= '0' && c <= '9';
    switch (state) {
      case 0: if (alpha) state = 1; else if (digit) state = 2; else if (c && c != ' ') ops++; break;
      case 1: if (!alpha && !digit) { words++; state = 0; p--; } break;
      case 2: if (!digit) { numbers++; state = 0; p--; } break;
    }
    if (!c && state == 0) break;
  }
  return words * 10000 + numbers * 100 + ops;
}

int main(int argc, char **argv) {
  i64 reps = argc > 1 ? rt_atoi(argv[1]) : 1;
  for (int i = 0; i < N; i++) data[i] = (unsigned char)(i * 7 + (i >> 3));
  for (int i = 0; i < 24; i++) for (int j = 0; j < 24; j++) { ma[i][j] = i - j; mb[i][j] = i * j + 1; }
  u32 crc = 0; u64 mm = 0, ss = 0, lx = 0;
  for (i64 r = 0; r < reps; r++) {
    crc = crc32(data, N, crc);
    mm ^= matmul() + (u64)r;
    ss ^= shellsort((u32)r);
    lx += lexer();
  }
  rt_puts("crc32 "); rt_put_hex(crc, 8);
  rt_puts("\nmatmul "); rt_put_hex(mm, 16);
  rt_puts("\nsort "); rt_put_hex(ss, 16);
  rt_puts("\nlexer "); rt_put_udec(lx);
  rt_putc('\n');
  return 0;
}
