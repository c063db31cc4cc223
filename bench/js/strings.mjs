// guests/bench/strings.c in JavaScript, on the bytes of a Uint8Array (the
// same algorithm: the C version has no strings of JavaScript's kind).
import { xorshift32 } from './xorshift.mjs';

const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ba', 'qe', 'zy', 'th', 'e', 'a', 'or', 'in']
  .map((w) => [...w].map((c) => c.charCodeAt(0)));
const TABLE_SLOTS = 16384;
const isLetter = (c) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

function sameWord(t, a, b, len) {
  for (let i = 0; i < len; i++) if (t[a + i] !== t[b + i]) return false;
  return true;
}

export function run(kib) {
  const cap = kib * 1024;
  const text = new Uint8Array(cap + 16);
  const s = new Uint32Array([0x1f123bb5]);
  let len = 0, capital = true;
  while (len < cap) {
    const r = xorshift32(s);
    const n = 1 + (r % 3);
    const word = len;
    for (let k = 0; k < n && len < cap; k++) {
      const syl = syllables[(r >>> (4 + 4 * k)) & 15];
      for (let c = 0; c < syl.length && len < cap; c++) text[len++] = syl[c];
    }
    if (capital && len > word) { text[word] -= 32; capital = false; }
    const p = (r >>> 20) & 15;
    if (p === 0 && len < cap) { text[len++] = 46; capital = true; }
    else if (p === 1 && len < cap) text[len++] = 44;
    if (len < cap) text[len++] = 32;
  }

  for (let i = 0; i < len; i++) if (text[i] >= 65 && text[i] <= 90) text[i] += 32;

  const slotStart = new Int32Array(TABLE_SLOTS), slotLen = new Int32Array(TABLE_SLOTS), slotCount = new Uint32Array(TABLE_SLOTS);
  let words = 0, distinct = 0;
  for (let i = 0; i < len;) {
    while (i < len && !isLetter(text[i])) i++;
    if (i >= len) break;
    const start = i;
    let h = 2166136261;
    while (i < len && isLetter(text[i])) h = Math.imul(h ^ text[i++], 16777619);
    const wl = i - start;
    words++;
    for (let at = h & (TABLE_SLOTS - 1); ; at = (at + 1) & (TABLE_SLOTS - 1)) {
      if (slotCount[at] === 0) { slotStart[at] = start; slotLen[at] = wl; slotCount[at] = 1; distinct++; break; }
      if (slotLen[at] === wl && sameWord(text, slotStart[at], start, wl)) { slotCount[at]++; break; }
    }
  }
  let top = 0;
  for (let k = 0; k < TABLE_SLOTS; k++) if (slotCount[k] > top) top = slotCount[k];

  const pattern = [...'thein'].map((c) => c.charCodeAt(0));
  let matches = 0;
  for (let i = 0; i + pattern.length <= len; i++) {
    let k = 0;
    while (k < pattern.length && text[i + k] === pattern[k]) k++;
    if (k === pattern.length) matches++;
  }

  for (let i = 0; i < len;) {
    while (i < len && !isLetter(text[i])) i++;
    let a = i;
    while (i < len && isLetter(text[i])) i++;
    for (let b = i - 1; a < b; a++, b--) { const t = text[a]; text[a] = text[b]; text[b] = t; }
  }
  let hash = 2166136261;
  for (let i = 0; i < len; i++) hash = Math.imul(hash ^ text[i], 16777619);

  return `bytes ${len} words ${words} distinct ${distinct} top ${top} matches ${matches} fnv 0x${(hash >>> 0).toString(16).padStart(8, '0')}\n`;
}
