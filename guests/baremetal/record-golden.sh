#!/usr/bin/env bash
# Records the golden console transcripts of the bare-metal programs from
# qemu-system-riscv64 -M virt (OpenSBI 1.1 as the firmware, with QEMU 7.2):
# guests/baremetal/golden/NAME.txt is the console of bin/NAME.elf from its
# "== NAME ==" marker on (OpenSBI's banner comes first), with the \r\n
# OpenSBI's putchar writes for \n turned back into \n, and the lines listed
# in qemu-deviations.txt (where QEMU departs from the specification) replaced
# by what the specification says.
#   bash guests/baremetal/record-golden.sh          all programs
#   bash guests/baremetal/record-golden.sh traps    one
set -euo pipefail
cd "$(dirname "$0")"
QEMU=${QEMU:-qemu-system-riscv64}
command -v "$QEMU" >/dev/null || { echo "record-golden.sh: $QEMU not found (apt-get install qemu-system-misc opensbi)" >&2; exit 1; }
names=("$@")
if [ ${#names[@]} = 0 ]; then
  for elf in bin/*.elf; do n=$(basename "$elf" .elf); names+=("$n"); done
fi
mkdir -p golden
for name in "${names[@]}"; do
  raw=$(mktemp)
  status=0
  # entry.c starts a second hart (test/system-baremetal.test.ts: HARTS).
  smp=1; [ "$name" = entry ] && smp=2
  timeout 60 "$QEMU" -M virt -smp "$smp" -m 128M -nographic -bios default -kernel "bin/$name.elf" </dev/null >"$raw" || status=$?
  if [ $status != 0 ]; then echo "record-golden.sh: $name: QEMU exited with status $status" >&2; rm -f "$raw"; exit 1; fi
  # From the marker on, \r\n as \n; then the deviations of this program.
  tr -d '\r' <"$raw" | sed -n "/^== $name ==\$/,\$p" >"$raw.tail"
  [ -s "$raw.tail" ] || { echo "record-golden.sh: $name: no \"== $name ==\" marker in QEMU's output" >&2; exit 1; }
  awk -v prog="$name" '
    FNR == NR {
      if ($0 ~ /^\[.*\]$/) { section = substr($0, 2, length($0) - 2); next }
      if (section != prog) next
      if (substr($0, 1, 2) == "- ") { from = substr($0, 3); order[++n] = from; next }
      if (substr($0, 1, 2) == "+ ") { to[from] = substr($0, 3); next }
      next
    }
    { if ($0 in to) { seen[$0] = 1; print to[$0] } else print }
    END {
      bad = 0
      for (i = 1; i <= n; i++) if (!(order[i] in seen)) { print "record-golden.sh: " prog ": QEMU no longer prints: " order[i] > "/dev/stderr"; bad = 1 }
      exit bad
    }' qemu-deviations.txt "$raw.tail" >"golden/$name.txt"
  rm -f "$raw" "$raw.tail"
  echo "record-golden.sh: golden/$name.txt ($(wc -l <"golden/$name.txt") lines)"
done
