// The workloads' pseudo-random generator, as guests/bench/bench.h has it: a
// 32-bit xorshift (shifts 13, 17, 5). State is a one-element Uint32Array so
// that the callers share it by reference, as C passes a pointer.
export function xorshift32(state) {
  let x = state[0];
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[0] = x;
  return state[0];
}
