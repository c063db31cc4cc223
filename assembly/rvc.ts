// The C extension: every RV64 compressed form expanded to its 32-bit equivalent.
// (placeholder signature; being written)
export function expandCompressed(half: u32): u32 {
  return 0;
}
