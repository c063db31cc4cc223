// SHA-256 (FIPS 180-4) of a buffer of pseudo-random bytes, written from the
// standard's description. Prints the digest and the length hashed.
//   bench-sha256.elf KIBIBYTES
#include <string.h>
#include "bench.h"

// FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the
// cube roots of the first 64 primes.
static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// One 64-byte block into the state H (section 6.2.2).
static void compress(uint32_t H[8], const uint8_t *block) {
  uint32_t W[64];
  for (int t = 0; t < 16; t++)
    W[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 | (uint32_t)block[4 * t + 2] << 8 | block[4 * t + 3];
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = rotr(W[t - 15], 7) ^ rotr(W[t - 15], 18) ^ (W[t - 15] >> 3);
    uint32_t s1 = rotr(W[t - 2], 17) ^ rotr(W[t - 2], 19) ^ (W[t - 2] >> 10);
    W[t] = W[t - 16] + s0 + W[t - 7] + s1;
  }
  uint32_t a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + W[t];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
}

static void sha256(const uint8_t *msg, size_t len, uint8_t digest[32]) {
  // Section 5.3.3: the first 32 bits of the fractional parts of the square
  // roots of the first 8 primes.
  uint32_t H[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  size_t full = len / 64 * 64;
  for (size_t off = 0; off < full; off += 64) compress(H, msg + off);
  // Padding (section 5.1.1): a 1 bit, zeros, the length in bits big-endian.
  uint8_t tail[128] = { 0 };
  size_t rest = len - full;
  memcpy(tail, msg + full, rest);
  tail[rest] = 0x80;
  size_t tailLen = rest + 9 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) tail[tailLen - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (size_t off = 0; off < tailLen; off += 64) compress(H, tail + off);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) digest[4 * i + j] = (uint8_t)(H[i] >> (24 - 8 * j));
}

int main(int argc, char **argv) {
  long kib = size_arg(argc, argv, 20480);
  // One byte more than a whole number of blocks, so the padding takes a
  // partial block too.
  size_t len = (size_t)kib * 1024 + 1;
  uint8_t *buf = malloc(len + 3);
  if (!buf) { perror("malloc"); return 1; }
  uint32_t s = 0x2545f491;
  for (size_t i = 0; i < len; i += 4) {
    uint32_t w = xorshift32(&s);
    buf[i] = (uint8_t)w; buf[i + 1] = (uint8_t)(w >> 8); buf[i + 2] = (uint8_t)(w >> 16); buf[i + 3] = (uint8_t)(w >> 24);
  }
  uint8_t digest[32];
  sha256(buf, len, digest);
  printf("sha256 ");
  for (int i = 0; i < 32; i++) printf("%02x", digest[i]);
  printf(" bytes %zu\n", len);
  free(buf);
  return 0;
}
