// guests/bench/integer.c in JavaScript: the same linked list, matrices,
// state machine and CRC-32, on 32-bit unsigned values (>>> 0, Math.imul).
import { xorshift32 } from './xorshift.mjs';

const LIST_NODES = 128, MAT_N = 12, STATE_BYTES = 200;

function crc32Word(crc, word) {
  for (let b = 0; b < 4; b++) {
    crc = (crc ^ ((word >>> (8 * b)) & 0xff)) >>> 0;
    for (let k = 0; k < 8; k++) crc = ((crc >>> 1) ^ (0xedb88320 & -(crc & 1))) >>> 0;
  }
  return crc;
}

const pool = Array.from({ length: LIST_NODES }, () => ({ next: null, value: 0, index: 0 }));

const before = (a, b) => a.value < b.value || (a.value === b.value && a.index < b.index);

function merge(a, b) {
  const head = { next: null };
  let tail = head;
  while (a && b) {
    if (before(a, b)) { tail.next = a; a = a.next; }
    else { tail.next = b; b = b.next; }
    tail = tail.next;
  }
  tail.next = a ?? b;
  return head.next;
}

function listSort(h) {
  if (!h || !h.next) return h;
  let slow = h, fast = h.next;
  while (fast && fast.next) { slow = slow.next; fast = fast.next.next; }
  const second = slow.next;
  slow.next = null;
  return merge(listSort(h), listSort(second));
}

function listReverse(h) {
  let prev = null;
  while (h) { const next = h.next; h.next = prev; prev = h; h = next; }
  return prev;
}

const s = new Uint32Array(1);

function listWork(seed) {
  s[0] = seed | 1;
  let head = null;
  for (let i = 0; i < LIST_NODES; i++) {
    const n = pool[i];
    n.value = xorshift32(s) & 0xffff;
    n.index = i;
    n.next = head;
    head = n;
  }
  head = listSort(head);
  let acc = 0;
  for (let k = 0; k < 8; k++) {
    const key = xorshift32(s) & 0xffff;
    let pos = 0;
    for (let n = head; n && n.value < key; n = n.next) pos++;
    acc = (acc + pos * (k + 1)) >>> 0;
  }
  head = listReverse(head);
  for (let n = head; n; n = n.next) acc = (Math.imul(acc, 33) + (n.value ^ n.index)) >>> 0;
  return acc;
}

const ma = new Uint32Array(MAT_N * MAT_N), mb = new Uint32Array(MAT_N * MAT_N), mc = new Uint32Array(MAT_N * MAT_N);

function matrixWork(seed) {
  s[0] = Math.imul(seed, 2654435761) | 1;
  for (let i = 0; i < MAT_N * MAT_N; i++) {
    ma[i] = (xorshift32(s) & 0xffff) - 0x8000;
    mb[i] = (xorshift32(s) & 0xffff) - 0x8000;
  }
  for (let i = 0; i < MAT_N; i++) {
    for (let j = 0; j < MAT_N; j++) {
      let sum = 0;
      for (let k = 0; k < MAT_N; k++) sum = (sum + Math.imul(ma[i * MAT_N + k], mb[k * MAT_N + j])) | 0;
      mc[i * MAT_N + j] = sum + (i - j);
    }
  }
  let acc = 0;
  for (let i = 0; i < MAT_N * MAT_N; i++) {
    acc = (acc + Math.imul(mc[i], i + 1)) >>> 0;
    acc = (acc ^ (acc >>> 7)) >>> 0;
  }
  return acc;
}

const S_START = 0, S_SIGN = 1, S_INT = 2, S_FRACTION = 3, S_EXP = 4, S_EXP_SIGN = 5, S_SCIENTIFIC = 6, S_INVALID = 7, S_COUNT = 8;
const alphabet = '0123456789+-.e,,';
const input = new Array(STATE_BYTES);
const counts = new Uint32Array(S_COUNT);
const isDigit = (c) => c >= '0' && c <= '9';

function stateWork(seed) {
  s[0] = Math.imul(seed, 2246822519) | 1;
  for (let i = 0; i < STATE_BYTES; i++) input[i] = alphabet[xorshift32(s) & 15];
  counts.fill(0);
  let transitions = 0, state = S_START;
  for (let i = 0; i < STATE_BYTES; i++) {
    const c = input[i];
    if (c === ',') { counts[state]++; state = S_START; continue; }
    let next = state;
    switch (state) {
      case S_START:
        next = isDigit(c) ? S_INT : c === '+' || c === '-' ? S_SIGN : c === '.' ? S_FRACTION : S_INVALID;
        break;
      case S_SIGN: next = isDigit(c) ? S_INT : c === '.' ? S_FRACTION : S_INVALID; break;
      case S_INT: next = isDigit(c) ? S_INT : c === '.' ? S_FRACTION : c === 'e' ? S_EXP : S_INVALID; break;
      case S_FRACTION: next = isDigit(c) ? S_FRACTION : c === 'e' ? S_EXP : S_INVALID; break;
      case S_EXP: next = isDigit(c) ? S_SCIENTIFIC : c === '+' || c === '-' ? S_EXP_SIGN : S_INVALID; break;
      case S_EXP_SIGN: next = isDigit(c) ? S_SCIENTIFIC : S_INVALID; break;
      case S_SCIENTIFIC: next = isDigit(c) ? S_SCIENTIFIC : S_INVALID; break;
      default: break;
    }
    if (next !== state) transitions++;
    state = next;
  }
  counts[state]++;
  let acc = transitions;
  for (let k = 0; k < S_COUNT; k++) acc = (Math.imul(acc, 31) + counts[k] * (k + 1)) >>> 0;
  return acc;
}

export function run(iterations) {
  let crc = 0xffffffff;
  for (let i = 0; i < iterations; i++) {
    const seed = (i + 1) >>> 0;
    crc = crc32Word(crc, listWork(seed));
    crc = crc32Word(crc, matrixWork(seed));
    crc = crc32Word(crc, stateWork(seed));
  }
  return `iterations ${iterations} crc 0x${((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0')}\n`;
}
