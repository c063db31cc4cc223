#!/usr/bin/env bash
# Builds every guest program into guests/bin with Debian's riscv64 cross
# compilers:
#   guests/src/*.{c,S}     freestanding programs that test the CPU, linked with
#                          the runtime in guests/lib (lib/start.S calls main;
#                          lib/rt.c prints and exits);
#   guests/libc/*.{c,cc}   real Linux programs, statically linked with glibc
#                          (and libstdc++), that test the Linux layer; those
#                          in DYNAMIC also dynamically linked, as NAME-dyn.elf
#                          (a PIE, the compiler's default) and, for one,
#                          NAME-dyn-nopie.elf (ET_EXEC): they run with a
#                          sysroot (ringvisor run -L /usr/riscv64-linux-gnu,
#                          Debian's libc6-riscv64-cross) as under
#                          qemu-riscv64 -L (guests/manifest-dynamic.json);
#                          libc/dyn*.c only so (dynlib.c is libdyntest.so).
#   guests/src/static-pie*.c  freestanding static position-independent
#                          executables (ET_DYN, linked at 0): they bring their
#                          own _start, which relocates the program, so not
#                          lib/start.S. (Debian's riscv64 cross glibc has no
#                          rcrt1.o: glibc itself cannot be linked -static-pie.)
#   guests/bench/*.c       the benchmark workloads (bench/run.mjs), built by
#                          guests/bench/build.sh with the same compiler.
#   guests/go/*.go         Go programs (Go's runtime: threads, futexes,
#                          preemption signals, epoll), built by guests/go/build.sh
#                          with Go's own toolchain: a separate step below, run
#                          when `go` is installed (apt-get install golang-go).
# In guests/src,
# an assembly program defines main and names itself with .file, so that the
# build is reproducible (--check).
# The built ELF files are committed so that tests run without the cross
# compiler; rebuild after changing a source, then re-record the golden files
# (npm run golden).
#   apt-get install gcc-riscv64-linux-gnu g++-riscv64-linux-gnu
#
#   bash guests/build.sh           build into guests/bin
#   bash guests/build.sh --check   build into a temporary directory and fail
#                                  unless every committed ELF is identical
set -euo pipefail
cd "$(dirname "$0")"
CC=${CC:-riscv64-linux-gnu-gcc}
CXX=${CXX:-riscv64-linux-gnu-g++}
command -v "$CC" >/dev/null || { echo "guests/build.sh: $CC not found (apt-get install gcc-riscv64-linux-gnu)" >&2; exit 1; }
ARCH=rv64gc_zba_zbb_zbs
# -msmall-data-limit=0 keeps constants out of .sdata, which would otherwise
# share a writable and executable segment with the code.
CFLAGS=(-march=$ARCH -mabi=lp64d -O2 -static -nostdlib -ffreestanding -fno-builtin
        -fno-stack-protector -fno-pic -no-pie -msmall-data-limit=0 -Ilib -Wall -Wextra
        -Wl,--build-id=none)
# The same for a static PIE: position-independent code, -static-pie. Debian's
# gcc spec (no static-pie support in its glibc) would still ask for an
# interpreter: --no-dynamic-linker and -z text are what -static-pie means.
PIE_CFLAGS=(-march=$ARCH -mabi=lp64d -O2 -static-pie -fPIE -nostdlib -ffreestanding -fno-builtin
            -fno-stack-protector -msmall-data-limit=0 -Ilib -Wall -Wextra
            -Wl,--build-id=none -Wl,--no-dynamic-linker -Wl,-z,text)
# glibc programs: debug information stripped to keep the committed files
# small; the symbol table stays (ProcessVM.call finds functions by name).
LIBC_FLAGS=(-march=rv64gc -mabi=lp64d -O2 -static -Wall -Wextra -Ilibc
            -Wl,--build-id=none -Wl,--strip-debug)
# The same programs linked against the sysroot's shared glibc (and
# libstdc++): the interpreter /lib/ld-linux-riscv64-lp64d.so.1 loads them.
DYN_FLAGS=(-march=rv64gc -mabi=lp64d -O2 -Wall -Wextra -Ilibc
           -Wl,--build-id=none -Wl,--strip-debug)
DYNAMIC=(libc-printf libc-alloc libc-math libc-misc cxx-basics cxx-threads threads
         files-io files-pipe signals-fault dynload vmcall proc-fork)
NOPIE=(libc-printf)

. ./check-built.sh
output_dir guests/build.sh "$@"

built=0
for src in src/*.c src/*.S; do
  [ -e "$src" ] || continue
  name=$(basename "${src%.*}")
  case "$name" in
    static-pie*) "$CC" "${PIE_CFLAGS[@]}" -o "$out/$name.elf" lib/rt.c "$src" ;;
    *) "$CC" "${CFLAGS[@]}" -o "$out/$name.elf" lib/start.S lib/rt.c "$src" ;;
  esac
  built=$((built + 1))
done
for src in libc/*.c libc/*.cc; do
  [ -e "$src" ] || continue
  name=$(basename "${src%.*}")
  # (dyn*.c are about the dynamic linker: built dynamically only, below.)
  case "$name" in dyn*) continue ;; esac
  case "$src" in
    *.c) "$CC" "${LIBC_FLAGS[@]}" -o "$out/$name.elf" "$src" -lm ;;
    *.cc) command -v "$CXX" >/dev/null || { echo "guests/build.sh: $CXX not found (apt-get install g++-riscv64-linux-gnu)" >&2; exit 1; }
          "$CXX" "${LIBC_FLAGS[@]}" -o "$out/$name.elf" "$src" ;;
  esac
  built=$((built + 1))
done
for name in "${DYNAMIC[@]}"; do
  case "$name" in
    cxx-*) "$CXX" "${DYN_FLAGS[@]}" -o "$out/$name-dyn.elf" "libc/$name.cc" ;;
    *) "$CC" "${DYN_FLAGS[@]}" -o "$out/$name-dyn.elf" "libc/$name.c" -lm ;;
  esac
  built=$((built + 1))
done
for name in "${NOPIE[@]}"; do
  "$CC" "${DYN_FLAGS[@]}" -no-pie -o "$out/$name-dyn-nopie.elf" "libc/$name.c" -lm
  built=$((built + 1))
done
# A shared library of ours, and a program that finds it through RUNPATH
# $ORIGIN (the directory of /proc/self/exe), not in the sysroot.
"$CC" "${DYN_FLAGS[@]}" -shared -fPIC -o "$out/libdyntest.so" libc/dynlib.c
"$CC" "${DYN_FLAGS[@]}" -o "$out/dynmain-dyn.elf" libc/dynmain.c -L"$out" -ldyntest -Wl,-rpath,'$ORIGIN'
built=$((built + 2))

# ---- Go programs: a separate toolchain, so a separate step ----
# Without go, a build leaves guests/bin/go-*.elf as they are; a check cannot
# vouch for them, so it fails.
if command -v "${GO:-go}" >/dev/null; then
  bash go/build.sh "$out"
  for src in go/*.go; do [ -e "$src" ] && built=$((built + 1)); done
elif [ $check = 1 ]; then
  echo "guests/build.sh: ${GO:-go} not found: cannot check guests/bin/go-*.elf (apt-get install golang-go)" >&2
  exit 1
else
  echo "guests/build.sh: ${GO:-go} not found (apt-get install golang-go): guests/bin/go-*.elf not rebuilt" >&2
fi

# ---- benchmark workloads: guests/bench/build.sh builds them the same way ----
bash bench/build.sh "$out"
for src in bench/*.c; do [ -e "$src" ] && built=$((built + 1)); done

if [ $check = 1 ]; then
  check_built guests/build.sh "$out" bin "$built" "guests/src, guests/libc, guests/go or guests/bench"
  exit $?
fi
echo "guests/build.sh: built $built programs into guests/bin"
