#!/usr/bin/env bash
# Builds real programs that nobody here wrote, from Debian's source packages,
# for test/third-party.test.ts (which runs them under ringvisor and under
# qemu-riscv64 and compares):
#   jq     (Debian source jq, with oniguruma from Debian source libonig):
#          static riscv64 jq.elf, plus its own test suite (tests/*.test and
#          tests/modules), which the test runs with `jq --run-tests`; and
#          jq-dyn.elf, the same objects linked against the sysroot's shared
#          glibc (a dynamically linked program nobody here wrote, run with
#          -L /usr/riscv64-linux-gnu: Debian has no riscv64 binary packages
#          for bookworm to take one from); and jq-x86_64, the same sources
#          built for this machine, the benchmark's native peer;
#   7zip   (Debian source 7zip, the Alone2 bundle): static riscv64 7zz.elf,
#          and 7zz-x86_64, the same code built for this machine, for the
#          benchmark comparison (`7zz b`);
#   musl   (Debian source musl): the static C library for riscv64, and our own
#          guests/libc programs linked with it, a second libc under test;
#   dash, make, busybox (Debian sources dash, make-dfsg, busybox): a shell,
#          GNU make and the external commands scripts use, each built twice
#          from the same source, static: dash.elf, make.elf and busybox.elf
#          for riscv64, and dash-x86_64, make-x86_64 and busybox-x86_64 (for
#          this machine's architecture) beside them, with a directory of
#          applet links (cat -> busybox) per architecture to put on PATH. They
#          are for test/shell.test.ts: shell scripts and a make -j2 build are
#          processes that fork, exec, wait, pipe and signal one another, which
#          qemu-riscv64 cannot run here (a riscv64 child it execs is not
#          recognised without binfmt_misc), so the oracle is the same source
#          built for this machine, running the same scripts natively.
# Nothing of theirs enters our repository: sources, builds and results live in
#   ${RINGVISOR_CACHE:-$HOME/.cache/ringvisor}/third-party/<pkg>-<version>/
# and <pkg>.json next to those directories says where the test finds them.
# A directory is keyed by the Debian version apt offers, so a machine builds
# each version once; later runs only check and print what is there.
#
# Needs: riscv64-linux-gnu-gcc/g++, gcc/g++, make, apt-get with a deb-src
# line, dpkg-source (dpkg-dev), autoreconf and libtoolize (autoconf, automake,
# libtool), autopoint (make's gettext macros). .ci/run installs them.
#
#   bash guests/third-party/build.sh          build what is missing
#   bash guests/third-party/build.sh --force  rebuild everything
#   JOBS=1 bash guests/third-party/build.sh   parallel make jobs (default 2)
set -euo pipefail

CACHE=${RINGVISOR_CACHE:-$HOME/.cache/ringvisor}/third-party
JOBS=${JOBS:-2}
CROSS=riscv64-linux-gnu
force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: guests/third-party/build.sh [--force]" >&2; exit 2 ;;
esac

say() { echo "third-party: $*"; }
die() { echo "third-party: error: $*" >&2; exit 1; }

need() { # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null || die "$1 not found (apt-get install $2)"
}
need $CROSS-gcc gcc-$CROSS
need $CROSS-g++ g++-$CROSS
need gcc gcc
need g++ g++
need make make
need apt-get apt
need dpkg-source dpkg-dev
need autoreconf "autoconf automake"
need libtoolize libtool
need autopoint autopoint

CODENAME=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-bookworm}" || echo bookworm)
DEB_SRC_HELP="add a deb-src entry for your Debian archive and update the index, as root:
  copy the stanza of /etc/apt/sources.list.d/*.sources whose Suites name
  $CODENAME into /etc/apt/sources.list.d/debian-src.sources with
  'Types: deb-src' and 'Suites: $CODENAME' (.ci/run does exactly this),
  then apt-get update"

# The version of source package $1 that apt-get source would fetch (from the
# local index: no download).
source_version() {
  local out dsc
  if ! out=$(apt-get source --print-uris "$1" 2>&1); then
    die "apt-get source cannot find '$1': $(echo "$out" | grep '^E:' | head -1)
$DEB_SRC_HELP"
  fi
  dsc=$(echo "$out" | awk '$2 ~ /\.dsc$/ { print $2; exit }')
  [ -n "$dsc" ] || die "apt-get source knows no source package '$1' (is deb-src enabled?)
$DEB_SRC_HELP"
  dsc=${dsc%.dsc}
  echo "${dsc#*_}"
}

# Unpacks source package $1 at version $2 (patched as Debian ships it) into
# directory $3, downloading it into $CACHE/downloads once.
unpack() {
  local pkg=$1 version=$2 dest=$3 dl=$CACHE/downloads
  local dsc=$dl/${pkg}_${version#*:}.dsc
  mkdir -p "$dl"
  # Fetched unless the .dsc and every file it lists are there.
  local f complete=1
  if [ -f "$dsc" ]; then
    for f in $(awk '/^Files:/ { on = 1; next } /^[^ ]/ { on = 0 } on { print $3 }' "$dsc"); do
      [ -f "$dl/$f" ] || complete=0
    done
  else
    complete=0
  fi
  if [ $complete = 0 ]; then
    say "downloading Debian source $pkg $version"
    # apt-get wants the version with its epoch (busybox's is 1:), which the
    # name of the .dsc, and so source_version, leaves out.
    local full
    full=$(apt-cache showsrc "$pkg" 2>/dev/null | awk -v v="$version" '$1 == "Version:" { f = $2; sub(/^[0-9]+:/, "", $2); if ($2 == v) { print f; exit } }')
    (cd "$dl" && apt-get source --download-only -qq "$pkg=${full:-$version}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    [ -f "$dsc" ] || die "apt-get source $pkg=$version did not leave $dsc"
  fi
  rm -rf "$dest"
  local log
  log=$(dpkg-source --no-copy -x "$dsc" "$dest" 2>&1) || die "dpkg-source -x $dsc failed:
$log"
}

# Writes $CACHE/$1.json: what the test reads to find a build.
index() { # index PKG JSON
  printf '%s\n' "$2" > "$CACHE/$1.json.tmp"
  mv "$CACHE/$1.json.tmp" "$CACHE/$1.json"
}

mkdir -p "$CACHE"
start=$(date +%s)

# ---- jq, with oniguruma ----
# jq's configure finds oniguruma through --with-oniguruma=PREFIX; Debian's jq
# drops jq's bundled copy, so oniguruma comes from its own source package,
# built as a static riscv64 library.
ONIG_VERSION=$(source_version libonig)
JQ_VERSION=$(source_version jq)
JQ_DIR=$CACHE/jq-$JQ_VERSION
JQ_STAMP="jq $JQ_VERSION libonig $ONIG_VERSION cflags -O2"
if [ $force = 0 ] && [ -f "$JQ_DIR/jq.elf" ] && [ "$(cat "$JQ_DIR/stamp" 2>/dev/null)" = "$JQ_STAMP" ]; then
  say "jq $JQ_VERSION (libonig $ONIG_VERSION) already built in $JQ_DIR"
else
  t0=$(date +%s)
  rm -rf "$JQ_DIR"
  mkdir -p "$JQ_DIR"
  unpack libonig "$ONIG_VERSION" "$JQ_DIR/onig-src"
  say "building libonig $ONIG_VERSION for $CROSS (log: $JQ_DIR/onig.log)"
  (
    cd "$JQ_DIR/onig-src"
    autoreconf -fi
    ./configure --host=$CROSS --disable-shared --enable-static --prefix="$JQ_DIR/onig" CFLAGS=-O2
    make -j"$JOBS"
    make install
  ) > "$JQ_DIR/onig.log" 2>&1 || die "libonig build failed: see $JQ_DIR/onig.log"
  unpack jq "$JQ_VERSION" "$JQ_DIR/src"
  # Without maintainer mode the Makefile uses the shipped parser.c and
  # lexer.c (Debian's patches update them with parser.y): no bison or flex.
  say "building jq $JQ_VERSION for $CROSS (log: $JQ_DIR/jq.log)"
  (
    cd "$JQ_DIR/src"
    autoreconf -fi
    ./configure --host=$CROSS --disable-docs --disable-maintainer-mode --disable-valgrind \
      --disable-shared --enable-all-static --with-oniguruma="$JQ_DIR/onig" CFLAGS=-O2
    make -j"$JOBS"
  ) > "$JQ_DIR/jq.log" 2>&1 || die "jq build failed: see $JQ_DIR/jq.log"
  cp "$JQ_DIR/src/jq" "$JQ_DIR/jq.elf"
  # jq's test suite, as its tests/jqtest and tests/onigtest use it.
  mkdir -p "$JQ_DIR/tests"
  cp "$JQ_DIR"/src/tests/*.test "$JQ_DIR/tests/"
  cp -r "$JQ_DIR/src/tests/modules" "$JQ_DIR/tests/modules"
  echo "$JQ_STAMP" > "$JQ_DIR/stamp"
  say "built $JQ_DIR/jq.elf in $(( $(date +%s) - t0 )) s"
fi
# The dynamically linked jq: jq's own main.o and libjq, oniguruma linked in
# statically as in jq.elf, glibc and libm from the sysroot at run time.
if [ ! -f "$JQ_DIR/jq-dyn.elf" ] || [ "$JQ_DIR/jq.elf" -nt "$JQ_DIR/jq-dyn.elf" ]; then
  $CROSS-gcc -O2 -o "$JQ_DIR/jq-dyn.elf" "$JQ_DIR/src/src/main.o" "$JQ_DIR/src/.libs/libjq.a" "$JQ_DIR/onig/lib/libonig.a" -lm \
    || die "linking $JQ_DIR/jq-dyn.elf failed"
  say "linked $JQ_DIR/jq-dyn.elf (dynamically)"
fi
# jq for this machine, from the same sources and oniguruma, static: the
# benchmark's native peer (bench/programs.mjs; the host's own jq, if any, is
# another Debian revision). Built in a directory of its own, after the
# riscv64 build, so that an existing riscv64 build is not redone.
JQ_HOST=$(uname -m)
if [ ! -f "$JQ_DIR/jq-$JQ_HOST" ] || [ "$JQ_DIR/jq.elf" -nt "$JQ_DIR/jq-$JQ_HOST" ]; then
  mkdir -p "$JQ_DIR/$JQ_HOST"
  unpack libonig "$ONIG_VERSION" "$JQ_DIR/$JQ_HOST/onig-src"
  unpack jq "$JQ_VERSION" "$JQ_DIR/$JQ_HOST/src"
  say "building libonig $ONIG_VERSION and jq $JQ_VERSION for $JQ_HOST (log: $JQ_DIR/$JQ_HOST.log)"
  (
    cd "$JQ_DIR/$JQ_HOST/onig-src"
    autoreconf -fi
    ./configure --disable-shared --enable-static --prefix="$JQ_DIR/$JQ_HOST/onig" CFLAGS=-O2
    make -j"$JOBS"
    make install
    cd "$JQ_DIR/$JQ_HOST/src"
    autoreconf -fi
    ./configure --disable-docs --disable-maintainer-mode --disable-valgrind \
      --disable-shared --enable-all-static --with-oniguruma="$JQ_DIR/$JQ_HOST/onig" CFLAGS=-O2
    make -j"$JOBS"
  ) > "$JQ_DIR/$JQ_HOST.log" 2>&1 || die "jq build for $JQ_HOST failed: see $JQ_DIR/$JQ_HOST.log"
  cp "$JQ_DIR/$JQ_HOST/src/jq" "$JQ_DIR/jq-$JQ_HOST"
  say "built $JQ_DIR/jq-$JQ_HOST"
fi
index jq "{\"package\": \"jq\", \"version\": \"$JQ_VERSION\", \"onig\": \"$ONIG_VERSION\", \"dir\": \"$JQ_DIR\", \"elf\": \"$JQ_DIR/jq.elf\", \"dynElf\": \"$JQ_DIR/jq-dyn.elf\", \"native\": \"$JQ_DIR/jq-$JQ_HOST\", \"tests\": \"$JQ_DIR/tests\"}"

# ---- 7-Zip ----
# As debian/rules builds it (CPP/7zip/Bundles/Alone2 with cmpl_gcc.mak,
# DISABLE_RAR), without assembler (7-Zip has none for riscv64; the native
# build does without it too, so that both run the same C and C++ code).
SZ_VERSION=$(source_version 7zip)
SZ_DIR=$CACHE/7zip-$SZ_VERSION
SZ_STAMP="7zip $SZ_VERSION Alone2 cmpl_gcc.mak DISABLE_RAR static"
if [ $force = 0 ] && [ -f "$SZ_DIR/7zz.elf" ] && [ -f "$SZ_DIR/7zz-$(uname -m)" ] && [ "$(cat "$SZ_DIR/stamp" 2>/dev/null)" = "$SZ_STAMP" ]; then
  say "7zip $SZ_VERSION already built in $SZ_DIR"
else
  t0=$(date +%s)
  rm -rf "$SZ_DIR"
  mkdir -p "$SZ_DIR"
  unpack 7zip "$SZ_VERSION" "$SZ_DIR/src"
  alone2=$SZ_DIR/src/CPP/7zip/Bundles/Alone2
  say "building 7zz $SZ_VERSION for $CROSS (log: $SZ_DIR/riscv64.log)"
  make -j"$JOBS" -C "$alone2" -f ../../cmpl_gcc.mak CROSS_COMPILE=$CROSS- DISABLE_RAR=1 \
    DEB_7Z_LDFLAGS=-static O=b/riscv64 > "$SZ_DIR/riscv64.log" 2>&1 || die "7zz riscv64 build failed: see $SZ_DIR/riscv64.log"
  cp "$alone2/b/riscv64/7zz" "$SZ_DIR/7zz.elf"
  say "building 7zz $SZ_VERSION for $(uname -m) (log: $SZ_DIR/native.log)"
  make -j"$JOBS" -C "$alone2" -f ../../cmpl_gcc.mak DISABLE_RAR=1 O=b/native \
    > "$SZ_DIR/native.log" 2>&1 || die "native 7zz build failed: see $SZ_DIR/native.log"
  cp "$alone2/b/native/7zz" "$SZ_DIR/7zz-$(uname -m)"
  echo "$SZ_STAMP" > "$SZ_DIR/stamp"
  say "built $SZ_DIR/7zz.elf and 7zz-$(uname -m) in $(( $(date +%s) - t0 )) s"
fi
index 7zip "{\"package\": \"7zip\", \"version\": \"$SZ_VERSION\", \"dir\": \"$SZ_DIR\", \"elf\": \"$SZ_DIR/7zz.elf\", \"native\": \"$SZ_DIR/7zz-$(uname -m)\"}"

# ---- musl, and our own C programs linked with it ----
# Debian has no riscv64 musl cross toolchain: musl's own build makes the
# static libc with the glibc cross compiler, and our guests/libc programs are
# linked against it by hand (musl's crt1.o, crti.o, libc.a, crtn.o, and
# libgcc), so the same sources run on a second C library.
MUSL_VERSION=$(source_version musl)
MUSL_DIR=$CACHE/musl-$MUSL_VERSION
MUSL_PROGRAMS="demo libc-printf libc-alloc libc-math libc-misc threads"
MUSL_STAMP="musl $MUSL_VERSION cflags -O2 programs $MUSL_PROGRAMS $(cd "$(dirname "$0")/../libc" && cat $(for p in $MUSL_PROGRAMS; do echo "$p.c"; done) | sha256sum | cut -c1-16)"
if [ $force = 0 ] && [ -f "$MUSL_DIR/sysroot/lib/libc.a" ] && [ "$(cat "$MUSL_DIR/stamp" 2>/dev/null)" = "$MUSL_STAMP" ]; then
  say "musl $MUSL_VERSION and our programs already built in $MUSL_DIR"
else
  t0=$(date +%s)
  # The library is rebuilt only for a new musl; our programs whenever their sources change.
  if [ $force = 1 ] || [ ! -f "$MUSL_DIR/sysroot/lib/libc.a" ] || [ "$(cat "$MUSL_DIR/sysroot.stamp" 2>/dev/null)" != "musl $MUSL_VERSION" ]; then
    rm -rf "$MUSL_DIR"
    mkdir -p "$MUSL_DIR"
    unpack musl "$MUSL_VERSION" "$MUSL_DIR/src"
    say "building musl $MUSL_VERSION for $CROSS (log: $MUSL_DIR/musl.log)"
    (
      cd "$MUSL_DIR/src"
      ./configure --target=$CROSS CROSS_COMPILE=$CROSS- --prefix="$MUSL_DIR/sysroot" --disable-shared CFLAGS=-O2
      make -j"$JOBS"
      make install
    ) > "$MUSL_DIR/musl.log" 2>&1 || die "musl build failed: see $MUSL_DIR/musl.log"
    echo "musl $MUSL_VERSION" > "$MUSL_DIR/sysroot.stamp"
  fi
  sys=$MUSL_DIR/sysroot
  mkdir -p "$MUSL_DIR/bin"
  libgcc=$($CROSS-gcc -print-libgcc-file-name)
  gccinc=$($CROSS-gcc -print-file-name=include)
  for p in $MUSL_PROGRAMS; do
    $CROSS-gcc -march=rv64gc -mabi=lp64d -O2 -static -nostdinc -nostdlib -isystem "$sys/include" -isystem "$gccinc" \
      -I"$(dirname "$0")/../libc" -Wl,--build-id=none -o "$MUSL_DIR/bin/$p.elf" \
      "$sys/lib/crt1.o" "$sys/lib/crti.o" "$(dirname "$0")/../libc/$p.c" "$sys/lib/libc.a" "$libgcc" "$sys/lib/crtn.o" \
      || die "linking guests/libc/$p.c with musl failed"
  done
  echo "$MUSL_STAMP" > "$MUSL_DIR/stamp"
  say "built musl $MUSL_VERSION and $(echo $MUSL_PROGRAMS | wc -w) programs in $(( $(date +%s) - t0 )) s"
fi
index musl "{\"package\": \"musl\", \"version\": \"$MUSL_VERSION\", \"dir\": \"$MUSL_DIR\", \"elf\": \"$MUSL_DIR/bin/demo.elf\", \"bin\": \"$MUSL_DIR/bin\"}"

# ---- dash, GNU make and busybox: a shell, a build tool, the commands ----
# Each built twice from the same Debian source, static (so that both run the
# same C library code and need nothing from the host's /lib): for riscv64,
# and for this machine, which is test/shell.test.ts's oracle, since a
# multi-process riscv64 run cannot be checked against qemu-riscv64 here.
# Each architecture is configured and built in its own copy of the source.
NATIVE=$(uname -m)

# dash, configured as debian/rules configures it.
DASH_VERSION=$(source_version dash)
DASH_DIR=$CACHE/dash-$DASH_VERSION
DASH_CONFIGURE="--disable-fnmatch --disable-lineno --disable-glob"
DASH_STAMP="dash $DASH_VERSION $DASH_CONFIGURE cflags -O2 static"
if [ $force = 0 ] && [ -f "$DASH_DIR/dash.elf" ] && [ -f "$DASH_DIR/dash-$NATIVE" ] && [ "$(cat "$DASH_DIR/stamp" 2>/dev/null)" = "$DASH_STAMP" ]; then
  say "dash $DASH_VERSION already built in $DASH_DIR"
else
  t0=$(date +%s)
  rm -rf "$DASH_DIR"
  mkdir -p "$DASH_DIR"
  unpack dash "$DASH_VERSION" "$DASH_DIR/src"
  for arch in riscv64 "$NATIVE"; do
    host=; [ "$arch" = riscv64 ] && host=--host=$CROSS
    say "building dash $DASH_VERSION for $arch (log: $DASH_DIR/$arch.log)"
    cp -r "$DASH_DIR/src" "$DASH_DIR/build-$arch"
    (
      cd "$DASH_DIR/build-$arch"
      # (Not --enable-static: it links with --fatal-warnings, and static
      # glibc warns about getpwnam, which dash uses for ~user.)
      ./configure $host $DASH_CONFIGURE CFLAGS=-O2 LDFLAGS=-static
      make -j"$JOBS"
    ) > "$DASH_DIR/$arch.log" 2>&1 || die "dash build for $arch failed: see $DASH_DIR/$arch.log"
  done
  cp "$DASH_DIR/build-riscv64/src/dash" "$DASH_DIR/dash.elf"
  cp "$DASH_DIR/build-$NATIVE/src/dash" "$DASH_DIR/dash-$NATIVE"
  echo "$DASH_STAMP" > "$DASH_DIR/stamp"
  say "built $DASH_DIR/dash.elf and dash-$NATIVE in $(( $(date +%s) - t0 )) s"
fi
index dash "{\"package\": \"dash\", \"version\": \"$DASH_VERSION\", \"dir\": \"$DASH_DIR\", \"elf\": \"$DASH_DIR/dash.elf\", \"native\": \"$DASH_DIR/dash-$NATIVE\"}"

# GNU make, without Guile and without translations (debian/rules builds a
# make without Guile too). The Debian source has no configure script:
# autoreconf makes it, with autopoint for the gettext macros.
MAKE_VERSION=$(source_version make-dfsg)
MAKE_DIR=$CACHE/make-dfsg-$MAKE_VERSION
MAKE_STAMP="make-dfsg $MAKE_VERSION --without-guile --disable-nls cflags -O2 static"
if [ $force = 0 ] && [ -f "$MAKE_DIR/make.elf" ] && [ -f "$MAKE_DIR/make-$NATIVE" ] && [ "$(cat "$MAKE_DIR/stamp" 2>/dev/null)" = "$MAKE_STAMP" ]; then
  say "make $MAKE_VERSION already built in $MAKE_DIR"
else
  t0=$(date +%s)
  rm -rf "$MAKE_DIR"
  mkdir -p "$MAKE_DIR"
  unpack make-dfsg "$MAKE_VERSION" "$MAKE_DIR/src"
  (cd "$MAKE_DIR/src" && autoreconf -fi) > "$MAKE_DIR/autoreconf.log" 2>&1 || die "autoreconf for make failed: see $MAKE_DIR/autoreconf.log"
  for arch in riscv64 "$NATIVE"; do
    host=; [ "$arch" = riscv64 ] && host=--host=$CROSS
    say "building make $MAKE_VERSION for $arch (log: $MAKE_DIR/$arch.log)"
    cp -r "$MAKE_DIR/src" "$MAKE_DIR/build-$arch"
    (
      cd "$MAKE_DIR/build-$arch"
      ./configure $host --without-guile --disable-nls CFLAGS=-O2 LDFLAGS=-static
      make -j"$JOBS"
    ) > "$MAKE_DIR/$arch.log" 2>&1 || die "make build for $arch failed: see $MAKE_DIR/$arch.log"
  done
  cp "$MAKE_DIR/build-riscv64/make" "$MAKE_DIR/make.elf"
  cp "$MAKE_DIR/build-$NATIVE/make" "$MAKE_DIR/make-$NATIVE"
  echo "$MAKE_STAMP" > "$MAKE_DIR/stamp"
  say "built $MAKE_DIR/make.elf and make-$NATIVE in $(( $(date +%s) - t0 )) s"
fi
index make "{\"package\": \"make-dfsg\", \"version\": \"$MAKE_VERSION\", \"dir\": \"$MAKE_DIR\", \"elf\": \"$MAKE_DIR/make.elf\", \"native\": \"$MAKE_DIR/make-$NATIVE\"}"

# busybox with the configuration of Debian's busybox-static package
# (debian/config/pkg/static, already static). bin-riscv64/ and bin-$NATIVE/
# hold a link per applet (the list `make busybox.links` writes), except the
# shells (sh, ash, hush): a script that runs `sh` should not get busybox's.
BB_VERSION=$(source_version busybox)
BB_DIR=$CACHE/busybox-$BB_VERSION
BB_STAMP="busybox $BB_VERSION debian/config/pkg/static links without sh ash hush"
if [ $force = 0 ] && [ -f "$BB_DIR/busybox.elf" ] && [ -f "$BB_DIR/busybox-$NATIVE" ] && [ "$(cat "$BB_DIR/stamp" 2>/dev/null)" = "$BB_STAMP" ]; then
  say "busybox $BB_VERSION already built in $BB_DIR"
else
  t0=$(date +%s)
  rm -rf "$BB_DIR"
  mkdir -p "$BB_DIR"
  unpack busybox "$BB_VERSION" "$BB_DIR/src"
  for arch in riscv64 "$NATIVE"; do
    cross=; [ "$arch" = riscv64 ] && cross=$CROSS-
    say "building busybox $BB_VERSION for $arch (log: $BB_DIR/$arch.log)"
    cp -r "$BB_DIR/src" "$BB_DIR/build-$arch"
    (
      cd "$BB_DIR/build-$arch"
      cp debian/config/pkg/static .config
      yes "" | make CROSS_COMPILE=$cross oldconfig
      make -j"$JOBS" CROSS_COMPILE=$cross busybox busybox.links
    ) > "$BB_DIR/$arch.log" 2>&1 || die "busybox build for $arch failed: see $BB_DIR/$arch.log"
  done
  cp "$BB_DIR/build-riscv64/busybox" "$BB_DIR/busybox.elf"
  cp "$BB_DIR/build-$NATIVE/busybox" "$BB_DIR/busybox-$NATIVE"
  for arch in riscv64 "$NATIVE"; do
    target=busybox-$arch; [ "$arch" = riscv64 ] && target=busybox.elf
    mkdir -p "$BB_DIR/bin-$arch"
    for applet in $(sed 's|.*/||' "$BB_DIR/build-$arch/busybox.links"); do
      case $applet in sh|ash|hush) continue ;; esac
      ln -sf "../$target" "$BB_DIR/bin-$arch/$applet"
    done
  done
  echo "$BB_STAMP" > "$BB_DIR/stamp"
  say "built $BB_DIR/busybox.elf and busybox-$NATIVE ($(ls "$BB_DIR/bin-riscv64" | wc -l) applets) in $(( $(date +%s) - t0 )) s"
fi
index busybox "{\"package\": \"busybox\", \"version\": \"$BB_VERSION\", \"dir\": \"$BB_DIR\", \"elf\": \"$BB_DIR/busybox.elf\", \"native\": \"$BB_DIR/busybox-$NATIVE\", \"bin\": \"$BB_DIR/bin-riscv64\", \"nativeBin\": \"$BB_DIR/bin-$NATIVE\"}"

# ---- Go's standard-library tests ----
# Each package's tests as one static riscv64 binary, built by Debian's Go
# from the sources it installs; the test runs them in the package's source
# directory (their testdata) under ringvisor and qemu-riscv64 (sync and
# os/exec, whose tests run their own binary as a child process, under
# ringvisor alone: qemu-riscv64 cannot execute a riscv64 program here).
if command -v go >/dev/null; then
  GO_VERSION=$(go env GOVERSION)
  GO_SRC=$(go env GOROOT)/src
  GO_DIR=$CACHE/go-$GO_VERSION
  GO_PACKAGES="container/list unicode/utf8 crypto/sha256 sort strings bytes math fmt regexp strconv math/big compress/flate sync os/exec"
  GO_STAMP="go $GO_VERSION packages $GO_PACKAGES"
  if [ $force = 0 ] && [ "$(cat "$GO_DIR/stamp" 2>/dev/null)" = "$GO_STAMP" ]; then
    say "Go $GO_VERSION standard-library tests already built in $GO_DIR"
  else
    t0=$(date +%s)
    rm -rf "$GO_DIR"
    mkdir -p "$GO_DIR/bin"
    for p in $GO_PACKAGES; do
      GOOS=linux GOARCH=riscv64 CGO_ENABLED=0 go test -c -o "$GO_DIR/bin/${p//\//_}.test" "$p" \
        >> "$GO_DIR/build.log" 2>&1 || die "go test -c $p failed: see $GO_DIR/build.log"
    done
    echo "$GO_STAMP" > "$GO_DIR/stamp"
    say "built the tests of $(echo $GO_PACKAGES | wc -w) Go packages in $(( $(date +%s) - t0 )) s"
  fi
  index go "{\"package\": \"go\", \"version\": \"$GO_VERSION\", \"dir\": \"$GO_DIR\", \"elf\": \"$GO_DIR/bin/sort.test\", \"bin\": \"$GO_DIR/bin\", \"src\": \"$GO_SRC\"}"
else
  say "go not found (apt-get install golang-go): Go's tests not built"
fi

# ---- esbuild ----
# The version is pinned so that every machine runs the same binary.
ESBUILD_VERSION=0.28.2
ESB_DIR=$CACHE/esbuild-$ESBUILD_VERSION
if [ $force = 0 ] && [ -x "$ESB_DIR/esbuild.elf" ]; then
  say "esbuild $ESBUILD_VERSION already fetched into $ESB_DIR"
elif command -v npm >/dev/null; then
  rm -rf "$ESB_DIR"
  mkdir -p "$ESB_DIR"
  (cd "$ESB_DIR" && npm pack --silent "@esbuild/linux-riscv64@$ESBUILD_VERSION" > pack.log 2>&1 && tar xzf esbuild-linux-riscv64-"$ESBUILD_VERSION".tgz) \
    || die "npm pack @esbuild/linux-riscv64@$ESBUILD_VERSION failed: see $ESB_DIR/pack.log"
  cp "$ESB_DIR/package/bin/esbuild" "$ESB_DIR/esbuild.elf"
  say "fetched esbuild $ESBUILD_VERSION for riscv64 into $ESB_DIR"
else
  say "npm not found: esbuild not fetched"
fi
[ -x "$ESB_DIR/esbuild.elf" ] && index esbuild "{\"package\": \"esbuild\", \"version\": \"$ESBUILD_VERSION\", \"dir\": \"$ESB_DIR\", \"elf\": \"$ESB_DIR/esbuild.elf\"}"

say "done in $(( $(date +%s) - start )) s; the tests read $CACHE/{jq,7zip,musl,dash,make,busybox,go,esbuild}.json"
