#!/usr/bin/env bash
# Builds the benchmark workloads of guests/bench (see bench/run.mjs):
#   guests/bench/*.c  ->  guests/bin/bench-NAME.elf   riscv64, static glibc,
#                         committed like the other guests, reproducible (--check)
#   --native          ->  $RINGVISOR_CACHE/bench-native/NAME (default cache
#                         ~/.cache/ringvisor): the same C for the host with
#                         gcc -O2, the physical limit; outside git, rebuilt only
#                         when a source, the flags or the compiler change.
# Both builds turn off floating-point contraction (-ffp-contract=off): a fused
# multiply-add rounds once where two instructions round twice, and n-body's
# energy must come out to the same bits on every peer (JavaScript never fuses).
#   apt-get install gcc-riscv64-linux-gnu   (and gcc for --native)
#
#   bash guests/bench/build.sh            build into guests/bin
#   bash guests/bench/build.sh --check    fail unless every committed bench-*.elf
#                                         is what its source builds to
#   bash guests/bench/build.sh --native   build the host binaries (prints their directory)
#   bash guests/bench/build.sh DIR        build the riscv64 ELFs into DIR (guests/build.sh
#                                         passes its output directory, so its --check
#                                         compares these too)
set -euo pipefail
mode=build
dest=
case "${1:-}" in
  --check) mode=check ;;
  --native) mode=native ;;
  -*) echo "usage: guests/bench/build.sh [--check | --native | DIR]" >&2; exit 2 ;;
  "") ;;
  *) [ -d "$1" ] || { echo "guests/bench/build.sh: $1 is not a directory" >&2; exit 2; }
     dest=$(cd "$1" && pwd) ;;
esac
cd "$(dirname "$0")"
CC=${CC:-riscv64-linux-gnu-gcc}
HOST_CC=${HOST_CC:-gcc}
# As guests/build.sh builds its glibc programs: debug information stripped,
# the symbol table kept (bench/micro.mjs calls bench-micro's functions by name).
FLAGS=(-march=rv64gc -mabi=lp64d -O2 -static -ffp-contract=off -Wall -Wextra
       -Wl,--build-id=none -Wl,--strip-debug)
HOST_FLAGS=(-O2 -ffp-contract=off -Wall -Wextra)

if [ $mode = native ]; then
  command -v "$HOST_CC" >/dev/null || { echo "guests/bench/build.sh: $HOST_CC not found" >&2; exit 1; }
  out=${RINGVISOR_CACHE:-$HOME/.cache/ringvisor}/bench-native
  mkdir -p "$out"
  # Static when the host has a static libc: a shorter start-up to measure.
  link=(-static)
  echo 'int main(void){return 0;}' > "$out/.probe.c"
  "$HOST_CC" "${link[@]}" -o "$out/.probe" "$out/.probe.c" 2>/dev/null || link=()
  rm -f "$out/.probe" "$out/.probe.c"
  stamp=$( { "$HOST_CC" --version | head -1; echo "${HOST_FLAGS[*]} ${link[*]}"; cat bench.h; } | sha256sum | cut -c1-16)
  for src in *.c; do
    name=${src%.c}
    [ "$name" = micro ] && continue   # riscv64 only: its functions are called through the VM
    key="$stamp-$(sha256sum "$src" | cut -c1-16)"
    if [ -x "$out/$name" ] && [ "$(cat "$out/$name.key" 2>/dev/null)" = "$key" ]; then continue; fi
    "$HOST_CC" "${HOST_FLAGS[@]}" "${link[@]}" -o "$out/$name" "$src" -lm
    echo "$key" > "$out/$name.key"
    echo "guests/bench/build.sh: built $out/$name" >&2
  done
  echo "${HOST_FLAGS[*]} ${link[*]}" > "$out/FLAGS"
  echo "$out"
  exit 0
fi

command -v "$CC" >/dev/null || { echo "guests/bench/build.sh: $CC not found (apt-get install gcc-riscv64-linux-gnu)" >&2; exit 1; }
if [ $mode = check ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
else
  out=${dest:-../bin}
fi
built=0
for src in *.c; do
  name=${src%.c}
  "$CC" "${FLAGS[@]}" -o "$out/bench-$name.elf" "$src" -lm
  built=$((built + 1))
done

if [ $mode = check ]; then
  bad=0
  for elf in "$out"/bench-*.elf; do
    name=$(basename "$elf")
    cmp -s "$elf" "../bin/$name" || { echo "guests/bench/build.sh: guests/bin/$name differs from what its source builds to (run bash guests/bench/build.sh)" >&2; bad=1; }
  done
  for elf in ../bin/bench-*.elf; do
    [ -e "$elf" ] || continue
    [ -e "$out/$(basename "$elf")" ] || { echo "guests/bench/build.sh: guests/bin/$(basename "$elf") has no source in guests/bench" >&2; bad=1; }
  done
  [ $bad = 0 ] && echo "guests/bench/build.sh: all $built benchmark programs match their sources"
  exit $bad
fi
echo "guests/bench/build.sh: built $built benchmark programs into ${dest:-guests/bin}"
