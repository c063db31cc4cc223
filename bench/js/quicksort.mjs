// guests/bench/quicksort.c in JavaScript, on Uint32Arrays of up to a million.
import { xorshift32 } from './xorshift.mjs';

function insertionSort(a, lo, hi) {
  for (let i = lo + 1; i <= hi; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= lo && a[j] > v) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
}

function quicksort(a, lo, hi) {
  while (hi - lo >= 16) {
    const mid = lo + ((hi - lo) >> 1);
    let t;
    if (a[mid] < a[lo]) { t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
    if (a[hi] < a[lo]) { t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
    if (a[hi] < a[mid]) { t = a[hi]; a[hi] = a[mid]; a[mid] = t; }
    const pivot = a[mid];
    let i = lo - 1, j = hi + 1;
    for (;;) {
      do i++; while (a[i] < pivot);
      do j--; while (a[j] > pivot);
      if (i >= j) break;
      t = a[i]; a[i] = a[j]; a[j] = t;
    }
    if (j - lo < hi - j) { quicksort(a, lo, j); lo = j + 1; }
    else { quicksort(a, j + 1, hi); hi = j; }
  }
  insertionSort(a, lo, hi);
}

const ARRAY_MAX = 1000000;

export function run(total) {
  const s = new Uint32Array([0x6b43a9b5]);
  let hash = 2166136261, unsorted = 0;
  for (let done = 0; done < total;) {
    const n = Math.min(total - done, ARRAY_MAX);
    const a = new Uint32Array(n);
    for (let i = 0; i < n; i++) a[i] = xorshift32(s);
    quicksort(a, 0, n - 1);
    for (let i = 0; i < n; i++) {
      if (i > 0 && a[i - 1] > a[i]) unsorted++;
      for (let b = 0; b < 4; b++) hash = Math.imul(hash ^ ((a[i] >>> (8 * b)) & 0xff), 16777619);
    }
    done += n;
  }
  return `sorted ${total} out-of-order ${unsorted} fnv 0x${(hash >>> 0).toString(16).padStart(8, '0')}\n`;
}
