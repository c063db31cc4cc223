#!/usr/bin/env bash
# Boots ringvisor's guest Linux (built and cached by build.sh) under
# qemu-system-riscv64 -M virt, the reference machine, and runs a scripted
# console session: the lines of SCRIPT (default: stdin) are typed at the
# guest shell's prompt one at a time (console.mjs), the console transcript
# goes to stdout, and the script ends when the guest powers off (QEMU exits
# with status 0). If the script does not power off, ^D at the last prompt does.
#
#   bash guests/linux/run-qemu.sh [SCRIPT] [-- EXTRA QEMU ARGS]
#   printf 'echo hello\npoweroff\n' | bash guests/linux/run-qemu.sh
#
# Environment:
#   SMP=1          harts          MEM=256M      memory
#   APPEND=...     extra kernel command line (after console=ttyS0 panic=-1)
#   QUIET=1        add "quiet" (only warnings from the kernel)
#   TIMEOUT=120    seconds before QEMU is killed (exit 124)
#   RAW=1          no pacing: QEMU reads the script straight from stdin (input
#                  that arrives before the guest's UART is up is lost, and
#                  echoes interleave with output: for interactive use)
# Needs: qemu-system-misc (qemu-system-riscv64, and OpenSBI as -bios default),
# node (for console.mjs).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

script=-
if [[ $# -gt 0 && $1 != -- ]]; then script=$1; shift; fi
[[ ${1-} == -- ]] && shift

if ! command -v qemu-system-riscv64 >/dev/null; then
  echo "run-qemu.sh: qemu-system-riscv64 not found (apt-get install -y qemu-system-misc)" >&2
  exit 2
fi
paths=$(bash "$HERE/build.sh")
KERNEL=$(sed -n 1p <<< "$paths")
INITRD=$(sed -n 2p <<< "$paths")

cmdline="console=ttyS0 panic=-1"
[[ ${QUIET:-0} == 1 ]] && cmdline+=" quiet"
[[ -n ${APPEND-} ]] && cmdline+=" $APPEND"

qemu=(qemu-system-riscv64 -M virt -smp "${SMP:-1}" -m "${MEM:-256M}" -nographic
      -bios default -no-reboot -kernel "$KERNEL" -initrd "$INITRD"
      -append "$cmdline" "$@")

if [[ ${RAW:-0} == 1 ]]; then
  if [[ $script == - ]]; then exec timeout "${TIMEOUT:-120}" "${qemu[@]}"; fi
  exec timeout "${TIMEOUT:-120}" "${qemu[@]}" < "$script"
fi
[[ $script == - ]] && script=/dev/stdin
exec node "$HERE/console.mjs" --timeout "${TIMEOUT:-120}" --script "$script" -- "${qemu[@]}"
