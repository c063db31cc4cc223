// String processing on bytes: generates a text of pseudo-random words made of
// syllables, then tokenises it, folds case, counts word frequencies in an
// open-addressing hash table (FNV-1a), counts a pattern with a naive search,
// and reverses every word in place. Prints the counts and a hash of the
// final text.
//   bench-strings.elf KIBIBYTES
#include "bench.h"

static const char *const syllables[16] = {
  "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ba", "qe", "zy", "th", "e", "a", "or", "in",
};

#define TABLE_SLOTS 16384   // a power of two, four times the distinct words possible
struct slot { long start; long len; uint32_t count; };
static struct slot table[TABLE_SLOTS];

static int is_letter(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int same_word(const uint8_t *t, long a, long b, long len) {
  for (long i = 0; i < len; i++)
    if (t[a + i] != t[b + i]) return 0;
  return 1;
}

int main(int argc, char **argv) {
  long kib = size_arg(argc, argv, 10240);
  long cap = kib * 1024;
  uint8_t *text = malloc(cap + 16);
  if (!text) { perror("malloc"); return 1; }

  // The text: words of 1 to 3 syllables; ", " or ". " now and then, and a
  // capital after each full stop.
  uint32_t s = 0x1f123bb5;
  long len = 0;
  int capital = 1;
  while (len < cap) {
    uint32_t r = xorshift32(&s);
    int n = 1 + (int)(r % 3);
    long word = len;
    for (int k = 0; k < n && len < cap; k++) {
      const char *syl = syllables[(r >> (4 + 4 * k)) & 15];
      while (*syl && len < cap) text[len++] = (uint8_t)*syl++;
    }
    if (capital && len > word) { text[word] -= 32; capital = 0; }
    uint32_t p = (r >> 20) & 15;
    if (p == 0 && len < cap) { text[len++] = '.'; capital = 1; }
    else if (p == 1 && len < cap) text[len++] = ',';
    if (len < cap) text[len++] = ' ';
  }

  // Case folding, in place.
  for (long i = 0; i < len; i++)
    if (text[i] >= 'A' && text[i] <= 'Z') text[i] += 32;

  // Tokenise and count.
  long words = 0, distinct = 0;
  for (long i = 0; i < len;) {
    while (i < len && !is_letter(text[i])) i++;
    if (i >= len) break;
    long start = i;
    uint32_t h = 2166136261u;
    while (i < len && is_letter(text[i])) h = (h ^ text[i++]) * 16777619u;
    long wl = i - start;
    words++;
    for (uint32_t at = h & (TABLE_SLOTS - 1);; at = (at + 1) & (TABLE_SLOTS - 1)) {
      struct slot *e = &table[at];
      if (e->count == 0) { e->start = start; e->len = wl; e->count = 1; distinct++; break; }
      if (e->len == wl && same_word(text, e->start, start, wl)) { e->count++; break; }
    }
  }
  uint32_t top = 0;
  for (long k = 0; k < TABLE_SLOTS; k++)
    if (table[k].count > top) top = table[k].count;

  // A naive search: every position compared against the pattern.
  static const uint8_t pattern[] = "thein";
  long matches = 0, plen = sizeof pattern - 1;
  for (long i = 0; i + plen <= len; i++) {
    long k = 0;
    while (k < plen && text[i + k] == pattern[k]) k++;
    if (k == plen) matches++;
  }

  // Every word reversed in place, then the whole text hashed.
  for (long i = 0; i < len;) {
    while (i < len && !is_letter(text[i])) i++;
    long a = i;
    while (i < len && is_letter(text[i])) i++;
    for (long b = i - 1; a < b; a++, b--) { uint8_t t = text[a]; text[a] = text[b]; text[b] = t; }
  }
  uint32_t hash = 2166136261u;
  for (long i = 0; i < len; i++) hash = (hash ^ text[i]) * 16777619u;

  printf("bytes %ld words %ld distinct %ld top %u matches %ld fnv 0x%08x\n", len, words, distinct, top, matches, hash);
  free(text);
  return 0;
}
