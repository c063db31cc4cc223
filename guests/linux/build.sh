#!/usr/bin/env bash
# Builds ringvisor's guest Linux: a small riscv64 kernel Image from Debian's
# linux-source-6.1 with our config fragment (ringvisor.config over
# tinyconfig), and an initramfs (newc cpio, gzip) whose /init is our static
# shell (init.c) and /bin/clocks (clocks.c, the vDSO clocks). The result is
# cached outside the git tree, keyed by every input, so a machine builds it
# once (a few minutes on 2 cores):
#
#   ${RINGVISOR_CACHE:-$HOME/.cache/ringvisor}/linux/<key>/   (a variant: <variant>-<key>/)
#     Image              the kernel (arch/riscv/boot/Image)
#     initramfs.cpio.gz  the initrd
#     config             the kernel's final .config
#     System.map vmlinux symbols, for reading backtraces and PCs
#     init               the static /init binary
#     clocks             the static /bin/clocks binary
#     gen_init_cpio      the kernel's cpio tool (host binary), for tests that
#                        build other initramfs images
#     build.log          the full build log
#     stamp              written last: what the key was made of
#
# <key> is a short sha256 of the linux-source-6.1 package version, the cross
# gcc, binutils and glibc versions, and the contents of the input files
# (INPUTS below, this script included).
#
#   bash guests/linux/build.sh               build unless cached; print the
#                                            Image and initrd paths (stdout)
#   bash guests/linux/build.sh --force       rebuild even if cached
#   bash guests/linux/build.sh --print-path  print the cache dir for the
#                                            current inputs, built or not
#   bash guests/linux/build.sh --print-deps  print the Debian packages needed
#   bash guests/linux/build.sh --check-deps  exit 0 if they are all there,
#                                            2 if not (quietly)
#   bash guests/linux/build.sh --variant NAME [...]
#                                            the same for a differently
#                                            configured kernel: the fragment
#                                            variants/NAME.config goes over
#                                            ringvisor.config (its lines win;
#                                            a line "# base: allnoconfig"
#                                            picks the base config; a line
#                                            "# ringvisor.config: no" leaves
#                                            ringvisor.config out; a line
#                                            "# modules: builtin" builds in
#                                            what the base makes modules)
#   bash guests/linux/build.sh --list-variants   the variants' names
# Exit status: 0 built or cached, 1 the build failed, 2 packages missing.
# Environment: RINGVISOR_CACHE (cache root), JOBS (make -j, default: nproc),
# KEEP_WORK=1 (keep the extracted, built kernel tree next to the cache dir).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_PKG=linux-source-6.1
SRC_TAR=/usr/src/linux-source-6.1.tar.xz
CROSS=riscv64-linux-gnu-
# Every file the build reads; a change to any of them changes the key.
INPUTS=(build.sh ringvisor.config init.c clocks.c initramfs.list)
# Debian packages needed, each with how to tell it is there.
DEPS=(
  "linux-source-6.1        f:$SRC_TAR"
  "gcc-riscv64-linux-gnu   c:${CROSS}gcc"
  "libc6-dev-riscv64-cross f:/usr/riscv64-linux-gnu/lib/libc.a"
  "gcc                     c:gcc"
  "libc6-dev               f:/usr/include/stdio.h"
  "make                    c:make"
  "bc                      c:bc"
  "flex                    c:flex"
  "bison                   c:bison"
  "xz-utils                c:xz"
)
# Fixed build identity and timestamps: the same inputs give the same bytes.
EPOCH=0
KBUILD_ENV=(KBUILD_BUILD_USER=ringvisor KBUILD_BUILD_HOST=ringvisor
            KBUILD_BUILD_VERSION=1 "KBUILD_BUILD_TIMESTAMP=Thu Jan 1 00:00:00 UTC 1970")

all_deps() { local d; for d in "${DEPS[@]}"; do printf '%s ' "${d%% *}"; done; }
missing_deps() {
  local d pkg test out=()
  for d in "${DEPS[@]}"; do
    pkg=${d%% *}; test=${d##* }
    case $test in
      f:*) [[ -e ${test#f:} ]] || out+=("$pkg") ;;
      c:*) command -v "${test#c:}" >/dev/null 2>&1 || out+=("$pkg") ;;
    esac
  done
  echo "${out[*]-}"
}

force=0 mode=build variant=
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  arg=${args[i]}
  case $arg in
    --force) force=1 ;;
    --variant) variant=${args[i + 1]-}; i=$((i + 1))
      if [[ ! $variant =~ ^[a-z0-9-]+$ || ! -f $HERE/variants/$variant.config ]]; then
        echo "build.sh: no variant \"$variant\" (there are: $(cd "$HERE/variants" && ls *.config | sed 's/\.config$//' | tr '\n' ' '))" >&2
        exit 1
      fi ;;
    --list-variants) (cd "$HERE/variants" && ls *.config | sed 's/\.config$//'); exit 0 ;;
    --print-path) mode=path ;;
    --print-deps) all_deps | sed 's/ $//'; echo; exit 0 ;;
    --check-deps) if [[ -z $(missing_deps) ]]; then exit 0; else exit 2; fi ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown option $arg (see --help)" >&2; exit 1 ;;
  esac
done

missing=$(missing_deps)
if [[ -n $missing ]]; then
  echo "build.sh: missing Debian packages: $missing" >&2
  echo "  install them with: apt-get install -y $missing" >&2
  exit 2
fi

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
key_material() {
  local f
  echo "$SRC_PKG $(pkg_version "$SRC_PKG") $(stat -c %s "$SRC_TAR")"
  echo "gcc $("${CROSS}gcc" --version | head -n 1)"
  echo "binutils $("${CROSS}ld" --version | head -n 1)"
  echo "libc6-dev-riscv64-cross $(pkg_version libc6-dev-riscv64-cross)"
  for f in "${INPUTS[@]}"; do
    echo "$f $(sha256sum < "$HERE/$f" | cut -d' ' -f1)"
  done
  if [[ -n $variant ]]; then
    echo "variant $variant $(sha256sum < "$HERE/variants/$variant.config" | cut -d' ' -f1)"
  fi
}
MATERIAL=$(key_material)
KEY=$(printf '%s\n' "$MATERIAL" | sha256sum | cut -c1-16)
[[ -n $variant ]] && KEY=$variant-$KEY
ROOT=${RINGVISOR_CACHE:-$HOME/.cache/ringvisor}/linux
OUT=$ROOT/$KEY

if [[ $mode == path ]]; then echo "$OUT"; exit 0; fi

cached() { [[ -f $OUT/stamp && -f $OUT/Image && -f $OUT/initramfs.cpio.gz ]]; }
report() { echo "$OUT/Image"; echo "$OUT/initramfs.cpio.gz"; }
if (( ! force )) && cached; then report; exit 0; fi

# One build per key at a time; a second caller waits, then finds the cache.
mkdir -p "$ROOT"
exec 9>"$ROOT/$KEY.lock"
if ! flock -n 9; then
  echo "build.sh: another build of $KEY is running; waiting" >&2
  flock 9
fi
if (( ! force )) && cached; then report; exit 0; fi

rm -rf "$OUT"
mkdir -p "$OUT"
LOG=$OUT/build.log
WORK=$ROOT/work-$KEY
KSRC=$WORK/linux
: > "$LOG"
START=$SECONDS
step() {
  printf 'build.sh: [%3ds] %s\n' $((SECONDS - START)) "$*" >&2
  printf '=== [%ds] %s\n' $((SECONDS - START)) "$*" >> "$LOG"
}
run() {
  printf '+ %s\n' "$*" >> "$LOG"
  if ! "$@" >> "$LOG" 2>&1; then
    echo "build.sh: FAILED: $*" >&2
    echo "build.sh: full log: $LOG; its last lines:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
}
cleanup() { [[ ${KEEP_WORK:-0} == 1 ]] || rm -rf "$WORK"; }
trap cleanup EXIT

step "building key $KEY into $OUT (log: $LOG)"
printf '%s\n' "$MATERIAL" >> "$LOG"
rm -rf "$WORK"
mkdir -p "$KSRC"

step "extracting $SRC_TAR"
run tar -xJf "$SRC_TAR" -C "$KSRC" --strip-components=1

# The fragment: ringvisor.config, and over it the variant's lines (a
# symbol the variant names loses its ringvisor.config line), or the
# variant's lines alone ("# ringvisor.config: no").
FRAGMENT=$WORK/fragment.config
BASE=tinyconfig BUILTIN=0 COMMON=ringvisor.config
cp "$HERE/ringvisor.config" "$FRAGMENT"
if [[ -n $variant ]]; then
  vfile=$HERE/variants/$variant.config
  base=$(sed -n 's/^# base: *\([a-z0-9_]*config\) *$/\1/p' "$vfile")
  [[ -n $base ]] && BASE=$base
  # A stock configuration (the arch's defconfig) is the point of such a
  # variant; ringvisor.config would turn its networking, PCI, USB... off.
  if grep -qxE '# ringvisor\.config: *no *' "$vfile"; then : > "$FRAGMENT"; COMMON=; fi
  if grep -qxE '# modules: *builtin *' "$vfile"; then BUILTIN=1; fi
  for sym in $(grep -oE '^(# )?CONFIG_[A-Za-z0-9_]+' "$vfile" | sed 's/^# //'); do
    grep -vE "^(# )?$sym[= ]" "$FRAGMENT" > "$FRAGMENT.tmp" || true
    mv "$FRAGMENT.tmp" "$FRAGMENT"
  done
  cat "$vfile" >> "$FRAGMENT"
fi

KMAKE=(make -C "$KSRC" ARCH=riscv CROSS_COMPILE="$CROSS" "${KBUILD_ENV[@]}")
step "configuring: $BASE$( (( BUILTIN )) && echo ' (modules built in)')${COMMON:+ + $COMMON}${variant:+ + variants/$variant.config}"
run "${KMAKE[@]}" "$BASE"
# Our kernels load no modules (the initramfs has no modprobe, and nothing to
# load): what the base would build as a module is built into the Image.
if (( BUILTIN )); then run "${KMAKE[@]}" mod2yesconfig; fi
run env ARCH=riscv CROSS_COMPILE="$CROSS" bash -c \
  'cd "$1" && scripts/kconfig/merge_config.sh -m .config "$2"' _ "$KSRC" "$FRAGMENT"
run "${KMAKE[@]}" olddefconfig

# Every line of the fragment must have survived olddefconfig as written
# (a dependency we missed would silently drop an option otherwise).
bad=()
while IFS= read -r line; do
  case $line in
    CONFIG_*=*)
      grep -qxF -- "$line" "$KSRC/.config" ||
        bad+=("want $line, got: $(grep -E "^(# )?${line%%=*}[= ]" "$KSRC/.config" || echo 'absent (dependencies not met)')") ;;
    "# CONFIG_"*" is not set")
      sym=${line#\# }; sym=${sym%% *}
      if grep -q "^$sym=" "$KSRC/.config"; then
        bad+=("want $sym off, got: $(grep "^$sym=" "$KSRC/.config")")
      fi ;;
  esac
done < "$FRAGMENT"
if (( BUILTIN )) && grep -q '=m$' "$KSRC/.config"; then
  bad+=("want no modules (# modules: builtin), got: $(grep '=m$' "$KSRC/.config" | head -n 5 | tr '\n' ' ')")
fi
if (( ${#bad[@]} )); then
  echo "build.sh: FAILED: the final .config does not match ${COMMON:-$BASE}${variant:+ + variants/$variant.config}:" >&2
  printf '  %s\n' "${bad[@]}" | tee -a "$LOG" >&2
  exit 1
fi
cp "$KSRC/.config" "$OUT/config"
step "configured: $(grep -c '=y$' "$KSRC/.config") options on"

JOBS=${JOBS:-$(nproc)}
step "compiling the kernel: make -j$JOBS Image (the longest step)"
run "${KMAKE[@]}" -j"$JOBS" Image
cp "$KSRC/arch/riscv/boot/Image" "$KSRC/System.map" "$KSRC/vmlinux" "$OUT/"
step "kernel built: Image $(stat -c %s "$OUT/Image") bytes"

step "compiling /init (init.c, static)"
run "${CROSS}gcc" -static -O2 -Wall -Wextra -s -o "$WORK/init" "$HERE/init.c"
run touch -d "@$EPOCH" "$WORK/init"
cp "$WORK/init" "$OUT/init"
step "compiling /bin/clocks (clocks.c, static)"
run "${CROSS}gcc" -static -O2 -Wall -Wextra -s -o "$WORK/clocks" "$HERE/clocks.c"
run touch -d "@$EPOCH" "$WORK/clocks"
cp "$WORK/clocks" "$OUT/clocks"

step "packing initramfs.cpio.gz (gen_init_cpio initramfs.list)"
run gcc -O2 -o "$WORK/gen_init_cpio" "$KSRC/usr/gen_init_cpio.c"
cp "$WORK/gen_init_cpio" "$OUT/gen_init_cpio"
printf '+ INIT=%s CLOCKS=%s gen_init_cpio -t %s initramfs.list | gzip -n -9\n' "$WORK/init" "$WORK/clocks" "$EPOCH" >> "$LOG"
if ! INIT=$WORK/init CLOCKS=$WORK/clocks "$WORK/gen_init_cpio" -t "$EPOCH" "$HERE/initramfs.list" > "$WORK/initramfs.cpio" 2>> "$LOG"; then
  echo "build.sh: FAILED: gen_init_cpio; see $LOG" >&2
  exit 1
fi
gzip -n -9 < "$WORK/initramfs.cpio" > "$OUT/initramfs.cpio.gz"

{
  printf '%s\n' "$MATERIAL"
  echo "key $KEY${variant:+ (variant $variant, base $BASE)}"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - START))s with make -j$JOBS"
  echo "Image $(stat -c %s "$OUT/Image") bytes"
  echo "initramfs.cpio.gz $(stat -c %s "$OUT/initramfs.cpio.gz") bytes"
} > "$OUT/stamp.tmp"
mv "$OUT/stamp.tmp" "$OUT/stamp"
step "done in $((SECONDS - START))s"
report
