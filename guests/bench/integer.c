// A CoreMark-like integer mix (our own, not CoreMark): every iteration sorts
// and walks a linked list, multiplies two small matrices, runs a number-lexing
// state machine over a generated input, and folds the three results into a
// CRC-32. Each part is seeded by the iteration number, so no work can be
// hoisted out of the loop. All arithmetic is on uint32_t (wrapping, as
// JavaScript's >>> 0 and Math.imul are). Prints the iterations and the CRC.
//   bench-integer.elf ITERATIONS
#include "bench.h"

#define LIST_NODES 128
#define MAT_N 12
#define STATE_BYTES 200

struct node {
  struct node *next;
  uint32_t value, index;
};
static struct node pool[LIST_NODES];

// CRC-32 (reflected, polynomial 0xEDB88320) over the 4 bytes of a word,
// least significant first, one bit at a time.
static uint32_t crc32_word(uint32_t crc, uint32_t word) {
  for (int b = 0; b < 4; b++) {
    crc ^= (word >> (8 * b)) & 0xff;
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
  }
  return crc;
}

// Ordered by value, then by index: the result does not depend on stability.
static int before(const struct node *a, const struct node *b) {
  return a->value < b->value || (a->value == b->value && a->index < b->index);
}

static struct node *merge(struct node *a, struct node *b) {
  struct node head, *tail = &head;
  while (a && b) {
    if (before(a, b)) { tail->next = a; a = a->next; }
    else { tail->next = b; b = b->next; }
    tail = tail->next;
  }
  tail->next = a ? a : b;
  return head.next;
}

// Merge sort: split at the middle (slow and fast pointers), sort each half.
static struct node *list_sort(struct node *h) {
  if (!h || !h->next) return h;
  struct node *slow = h, *fast = h->next;
  while (fast && fast->next) { slow = slow->next; fast = fast->next->next; }
  struct node *second = slow->next;
  slow->next = NULL;
  return merge(list_sort(h), list_sort(second));
}

static struct node *list_reverse(struct node *h) {
  struct node *prev = NULL;
  while (h) { struct node *next = h->next; h->next = prev; prev = h; h = next; }
  return prev;
}

static uint32_t list_work(uint32_t seed) {
  uint32_t s = seed | 1;
  struct node *head = NULL;
  for (uint32_t i = 0; i < LIST_NODES; i++) {
    pool[i].value = xorshift32(&s) & 0xffff;
    pool[i].index = i;
    pool[i].next = head;
    head = &pool[i];
  }
  head = list_sort(head);
  uint32_t acc = 0;
  // Finds: the position of the first value at least each key.
  for (uint32_t k = 0; k < 8; k++) {
    uint32_t key = xorshift32(&s) & 0xffff, pos = 0;
    for (struct node *n = head; n && n->value < key; n = n->next) pos++;
    acc += pos * (k + 1);
  }
  head = list_reverse(head);
  for (struct node *n = head; n; n = n->next) acc = acc * 33u + (n->value ^ n->index);
  return acc;
}

static uint32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];

static uint32_t matrix_work(uint32_t seed) {
  uint32_t s = (seed * 2654435761u) | 1;
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) {
      // Signed 16-bit values, kept as their 32-bit two's complement.
      ma[i][j] = (xorshift32(&s) & 0xffff) - 0x8000u;
      mb[i][j] = (xorshift32(&s) & 0xffff) - 0x8000u;
    }
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) {
      uint32_t sum = 0;
      for (int k = 0; k < MAT_N; k++) sum += ma[i][k] * mb[k][j];
      mc[i][j] = sum + (uint32_t)(i - j);
    }
  uint32_t acc = 0;
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) {
      acc += mc[i][j] * (uint32_t)(i * MAT_N + j + 1);
      acc ^= acc >> 7;
    }
  return acc;
}

// Lexes comma-separated numbers: integers, decimals, exponents, with signs.
enum { S_START, S_SIGN, S_INT, S_FRACTION, S_EXP, S_EXP_SIGN, S_SCIENTIFIC, S_INVALID, S_COUNT };
static const char alphabet[17] = "0123456789+-.e,,";

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static uint32_t state_work(uint32_t seed) {
  char input[STATE_BYTES];
  uint32_t s = (seed * 2246822519u) | 1;
  for (int i = 0; i < STATE_BYTES; i++) input[i] = alphabet[xorshift32(&s) & 15];
  uint32_t counts[S_COUNT] = { 0 }, transitions = 0;
  int state = S_START;
  for (int i = 0; i < STATE_BYTES; i++) {
    char c = input[i];
    if (c == ',') { counts[state]++; state = S_START; continue; }
    int next = state;
    switch (state) {
      case S_START:
        next = is_digit(c) ? S_INT : c == '+' || c == '-' ? S_SIGN : c == '.' ? S_FRACTION : S_INVALID;
        break;
      case S_SIGN: next = is_digit(c) ? S_INT : c == '.' ? S_FRACTION : S_INVALID; break;
      case S_INT: next = is_digit(c) ? S_INT : c == '.' ? S_FRACTION : c == 'e' ? S_EXP : S_INVALID; break;
      case S_FRACTION: next = is_digit(c) ? S_FRACTION : c == 'e' ? S_EXP : S_INVALID; break;
      case S_EXP: next = is_digit(c) ? S_SCIENTIFIC : c == '+' || c == '-' ? S_EXP_SIGN : S_INVALID; break;
      case S_EXP_SIGN: next = is_digit(c) ? S_SCIENTIFIC : S_INVALID; break;
      case S_SCIENTIFIC: next = is_digit(c) ? S_SCIENTIFIC : S_INVALID; break;
      default: break;
    }
    if (next != state) transitions++;
    state = next;
  }
  counts[state]++;
  uint32_t acc = transitions;
  for (uint32_t k = 0; k < S_COUNT; k++) acc = acc * 31u + counts[k] * (k + 1);
  return acc;
}

int main(int argc, char **argv) {
  long iterations = size_arg(argc, argv, 20000);
  uint32_t crc = 0xffffffffu;
  for (long i = 0; i < iterations; i++) {
    uint32_t seed = (uint32_t)i + 1;
    crc = crc32_word(crc, list_work(seed));
    crc = crc32_word(crc, matrix_work(seed));
    crc = crc32_word(crc, state_work(seed));
  }
  printf("iterations %ld crc 0x%08x\n", iterations, crc ^ 0xffffffffu);
  return 0;
}
