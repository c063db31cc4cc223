#!/usr/bin/env bash
# Builds the bare-metal S-mode test programs (guests/baremetal/*.c) into
# guests/baremetal/bin with Debian's riscv64 cross compiler: each program is
# linked with the runtime in rt/ (entry and trap entry, U-mode routines, SBI
# console) at 0x80200000 by link.ld, a kernel for qemu-system-riscv64 -M virt
# -bios default -kernel and for ringvisor's SystemVM alike.
# The ELF files are committed (tests need no cross compiler); after changing a
# source, rebuild and re-record the golden transcripts (record-golden.sh).
#   apt-get install gcc-riscv64-linux-gnu
#
#   bash guests/baremetal/build.sh           build into guests/baremetal/bin
#   bash guests/baremetal/build.sh --check   build into a temporary directory and
#                                            fail unless every committed ELF is identical
set -euo pipefail
cd "$(dirname "$0")"
CC=${CC:-riscv64-linux-gnu-gcc}
command -v "$CC" >/dev/null || { echo "guests/baremetal/build.sh: $CC not found (apt-get install gcc-riscv64-linux-gnu)" >&2; exit 1; }
# medany: the program lives above 2 GiB. No debug information, no build id,
# fixed .file names in the assembly sources and relative paths: the same
# bytes from every build directory.
CFLAGS=(-march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -static -nostdlib -ffreestanding -fno-builtin
        -fno-stack-protector -fno-pic -no-pie -msmall-data-limit=0 -fno-asynchronous-unwind-tables
        -Wall -Wextra -Werror -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T link.ld)
RT=(rt/entry.S rt/user.S rt/rt.c)

. ../check-built.sh
output_dir guests/baremetal/build.sh "$@"

built=0
for src in *.c; do
  name=${src%.c}
  "$CC" "${CFLAGS[@]}" -o "$out/$name.elf" "${RT[@]}" "$src"
  built=$((built + 1))
done

if [ $check = 1 ]; then
  check_built guests/baremetal/build.sh "$out" bin "$built" guests/baremetal
  exit $?
fi
echo "guests/baremetal/build.sh: built $built programs into guests/baremetal/bin"
