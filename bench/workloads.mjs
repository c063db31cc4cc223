// The benchmark workloads: guests/bench/NAME.c (riscv64 in
// guests/bin/bench-NAME.elf, native in the cache), bench/js/NAME.mjs. The
// full sizes keep every peer's start-up under 5% of its time on the machine
// they were chosen on: qemu-riscv64 starts in 15-25 ms, so it must run for
// 0.4 s or more; a static native program in 1-4 ms (spawning included), so
// 70 ms or more; a ringvisor VM in ~20-50 ms. The harness measures each
// start-up (a run with size 0) and flags a workload where it is over 5%.
// The quick sizes are for a look in a few seconds, not for figures.
// A workload a peer cannot run carries the reason in `notFor` (reported as
// n/a, never timed); `programFiles` gives the guest under ringvisor its
// program's directory (a sandbox of it, as its working directory), for a
// workload that executes its own file.
export const WORKLOADS = [
  { name: 'integer', title: 'integer mix', what: 'linked list, matrix multiply, state machine, CRC-32 (CoreMark-like)', unit: 'iterations', size: 20000, quick: 400 },
  { name: 'sha256', title: 'SHA-256', what: 'SHA-256 of a pseudo-random buffer', unit: 'KiB', size: 20480, quick: 256 },
  { name: 'nbody', title: 'n-body', what: 'floating point: 5 bodies, softened gravity, energy to the bit', unit: 'steps', size: 1000000, quick: 10000 },
  { name: 'quicksort', title: 'quicksort', what: 'quicksort of 1M-integer arrays', unit: 'integers', size: 3000000, quick: 50000 },
  { name: 'strings', title: 'strings', what: 'tokenise, fold case, count words in a hash table, search, reverse', unit: 'KiB', size: 10240, quick: 128 },
  { name: 'syscalls', title: 'system calls', what: 'small write(2)s to /dev/null', unit: 'writes', size: 1000000, quick: 20000 },
  {
    name: 'spawn', title: 'fork + exec', what: 'fork, execve of a static program that exits at once, waitpid', unit: 'processes', size: 500, quick: 20,
    programFiles: true,
    notFor: {
      qemu: 'qemu-riscv64 cannot execve a riscv64 program (without binfmt_misc the host kernel does not know the format): its child fails with status 127',
      js: 'no JavaScript version: a Node program cannot fork, and spawning a Node process measures something else',
    },
  },
];

/** The peers, in the order tables and charts show them. */
export const PEERS = ['ringvisor', 'qemu', 'native', 'js'];
export const PEER_LABELS = { ringvisor: 'ringvisor', qemu: 'qemu-riscv64', native: 'native (gcc -O2)', js: 'JavaScript (Node)' };
