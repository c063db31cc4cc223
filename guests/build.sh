#!/usr/bin/env bash
# Builds every guest program in guests/src (C and assembly) into guests/bin
# with Debian's riscv64 cross compiler. The built ELF files are committed so
# that tests run without the cross compiler; rebuild after changing a source.
#   apt-get install gcc-riscv64-linux-gnu
set -euo pipefail
cd "$(dirname "$0")"
CC=${CC:-riscv64-linux-gnu-gcc}
command -v "$CC" >/dev/null || { echo "guests/build.sh: $CC not found (apt-get install gcc-riscv64-linux-gnu)" >&2; exit 1; }
ARCH=rv64gc_zba_zbb_zbs
CFLAGS=(-march=$ARCH -mabi=lp64d -O2 -static -nostdlib -ffreestanding -fno-builtin
        -fno-stack-protector -fno-pic -no-pie -Ilib -Wall -Wextra
        -Wl,--build-id=none)
mkdir -p bin
built=0
for src in src/*.c src/*.S; do
  [ -e "$src" ] || continue
  name=$(basename "${src%.*}")
  # Assembly programs bring their own _start; C programs use lib/start.S.
  case "$src" in
    *.c) "$CC" "${CFLAGS[@]}" -o "bin/$name.elf" lib/start.S lib/rt.c "$src" ;;
    *.S) "$CC" "${CFLAGS[@]}" -o "bin/$name.elf" "$src" ;;
  esac
  built=$((built + 1))
done
echo "guests/build.sh: built $built programs into guests/bin"
