// Node-only: keeps glibc's malloc from handing the memory V8 compiles
// translations in back to the kernel after every module.
//
// Each module of translations (src/cpu/jit/) is compiled in V8's zones,
// which come from malloc and go back to it when the module is done. glibc
// returns the free memory at the top of its heap to the kernel as soon as
// it exceeds M_TRIM_THRESHOLD (128 KiB at first), so the next module faults
// the same pages in again: on the host this was measured on, a fresh page
// costs 11-13 us, and our guest Linux's boot at --jit 16384 took 9,600
// page faults against 3,900 interpreted (docs/PERFORMANCE.md, "Page faults
// and malloc"). MALLOC_TRIM_THRESHOLD_ in the environment would fix it, but
// glibc reads that only as the process starts.
//
// glibc also raises the threshold itself (mallopt(3), M_MMAP_THRESHOLD):
// when a block it gave out by mmap is freed, its size (at most 32 MiB)
// becomes the mmap threshold and twice that the trim threshold. So one
// 4 MiB ArrayBuffer, which Node's allocator takes from calloc (an mmap, its
// pages never touched), made and dropped, raises the trim threshold to
// 8 MiB once V8's next collection frees it: the compile zones' memory then
// stays in the heap for the next module. Elsewhere (another libc, a
// process that already raised it) this costs an untouched 4 MiB until that
// collection, and changes nothing.

/** The block dropped: above glibc's first mmap threshold (128 KiB), below
 *  the largest it adopts (32 MiB); the trim threshold becomes twice it. */
export const DROPPED_BLOCK_BYTES = 4 << 20;

let raised = false;

/** Raises glibc's trim threshold for the whole process (once; see above). */
export function raiseMallocTrimThreshold(): void {
  if (raised) return;
  raised = true;
  void new ArrayBuffer(DROPPED_BLOCK_BYTES);
}
