// guests/bench/sha256.c in JavaScript: SHA-256 (FIPS 180-4) over the same
// pseudo-random buffer.
import { xorshift32 } from './xorshift.mjs';

// FIPS 180-4 section 4.2.2.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const rotr = (x, n) => (x >>> n) | (x << (32 - n));
const W = new Int32Array(64);

// Values are kept as int32 (| 0) and compared to C's only at the end.
function compress(H, block, off) {
  for (let t = 0; t < 16; t++) {
    const i = off + 4 * t;
    W[t] = (block[i] << 24) | (block[i + 1] << 16) | (block[i + 2] << 8) | block[i + 3];
  }
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15], w2 = W[t - 2];
    const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
    W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
  }
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let t = 0; t < 64; t++) {
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
}

function sha256(msg) {
  const H = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const len = msg.length;
  const full = len - (len % 64);
  for (let off = 0; off < full; off += 64) compress(H, msg, off);
  const tail = new Uint8Array(128);
  const rest = len - full;
  tail.set(msg.subarray(full));
  tail[rest] = 0x80;
  const tailLen = rest + 9 <= 64 ? 64 : 128;
  // The length in bits, big-endian; lengths here stay below 2^53 bits.
  const bits = len * 8;
  new DataView(tail.buffer).setUint32(tailLen - 8, Math.floor(bits / 2 ** 32));
  new DataView(tail.buffer).setUint32(tailLen - 4, bits >>> 0);
  for (let off = 0; off < tailLen; off += 64) compress(H, tail, off);
  return [...H].map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
}

export function run(kib) {
  const len = kib * 1024 + 1;
  const buf = new Uint8Array(len + 3);
  const s = new Uint32Array([0x2545f491]);
  for (let i = 0; i < len; i += 4) {
    const w = xorshift32(s);
    buf[i] = w; buf[i + 1] = w >>> 8; buf[i + 2] = w >>> 16; buf[i + 3] = w >>> 24;
  }
  return `sha256 ${sha256(buf.subarray(0, len))} bytes ${len}\n`;
}
