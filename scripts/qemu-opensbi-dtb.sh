#!/usr/bin/env bash
# Writes the device tree a kernel is handed under qemu-system-riscv64 -M
# virt -bios default: QEMU's tree after OpenSBI's edits, read back from
# guest RAM at the address OpenSBI passes on in a1 ("Domain0 Next Arg1" in
# its banner). The payload is a 4-byte loop (`j .`) at 0x80200000, so no
# kernel is needed; the QEMU monitor's pmemsave copies the tree out.
#
#   scripts/qemu-opensbi-dtb.sh OUT.dtb [SMP [MEM]]    (defaults: 2, 256M)
# Prints the tree's address on stdout. test/system-fdt.test.ts uses it live;
# test/fixtures/fdt/qemu-7.2-opensbi-1.1-virt-smp2.dtb was recorded with it.
set -euo pipefail
out=${1:?usage: qemu-opensbi-dtb.sh OUT.dtb [SMP [MEM]]}
smp=${2:-2} mem=${3:-256M}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '\x6f\x00\x00\x00' > "$dir/loop.bin"
: > "$dir/serial"
{
  # Wait for OpenSBI's banner to name the address (it prints it before it
  # enters the payload), then save 64 KiB from there and quit.
  for _ in $(seq 300); do
    grep -q 'Domain0 Next Arg1' "$dir/serial" && break
    sleep 0.1
  done
  addr=$(sed -n 's/^Domain0 Next Arg1 *: *\(0x[0-9a-f]*\).*/\1/p' "$dir/serial")
  echo "$addr" > "$dir/addr"
  sleep 0.5
  echo "pmemsave $addr 0x10000 \"$dir/tree.dtb\""
  sleep 0.5
  echo quit
} | timeout 60 qemu-system-riscv64 -M virt -smp "$smp" -m "$mem" -display none -bios default \
      -kernel "$dir/loop.bin" -serial "file:$dir/serial" -monitor stdio > /dev/null
[[ -s $dir/addr && -s $dir/tree.dtb ]] || { echo "qemu-opensbi-dtb.sh: no tree read back (serial: $(tr -d '\r' < "$dir/serial" | tail -n 3))" >&2; exit 1; }
# Keep the blob's own length (its header's totalsize), not the 64 KiB saved.
size=$(od -An -tu1 -j4 -N4 "$dir/tree.dtb" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
head -c "$size" "$dir/tree.dtb" > "$out"
cat "$dir/addr"
