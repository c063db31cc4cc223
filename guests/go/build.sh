#!/usr/bin/env bash
# Builds the Go guest programs: each guests/go/NAME.go is one program (package
# main), built into guests/bin/go-NAME.elf as a static riscv64 Linux ELF by
# Go's own toolchain (no cgo, no C library). The build is reproducible, so
# that --check can compare: -trimpath (no host paths), an empty build id, no
# symbol table or DWARF (-s -w; the runtime's own tables stay, so tracebacks
# still name functions and lines), and a fixed environment. The same Go
# release gives the same bytes; the committed ELFs were built with the
# release `go version guests/bin/go-*.elf` names (Debian bookworm's
# golang-go, Go 1.19).
#   apt-get install golang-go
#
#   bash guests/go/build.sh [OUTDIR]   build into OUTDIR (default guests/bin)
#   bash guests/go/build.sh --check    build into a temporary directory and fail
#                                      unless every committed go-*.elf is identical
# guests/build.sh runs this step when go is installed.
set -euo pipefail
GO=${GO:-go}
here=$(cd "$(dirname "$0")" && pwd)
check=0
case "${1:-}" in
  --check) check=1; out=$(mktemp -d); trap 'rm -rf "$out"' EXIT ;;
  "") out=$here/../bin ;;
  *) out=$1 ;;
esac
command -v "$GO" >/dev/null || { echo "guests/go/build.sh: $GO not found (apt-get install golang-go)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"

# Only what the build needs from the environment: no GOFLAGS, GOEXPERIMENT,
# workspace or module downloads (the programs use the standard library only).
build_env=(env -i "PATH=$PATH" "HOME=${HOME:-/tmp}" "GOCACHE=${GOCACHE:-$("$GO" env GOCACHE)}"
           GOOS=linux GOARCH=riscv64 CGO_ENABLED=0 GOFLAGS= GOEXPERIMENT= GOWORK=off GOPROXY=off GOTOOLCHAIN=local)
built=0
for src in *.go; do
  [ -e "$src" ] || continue
  name=go-$(basename "$src" .go)
  "${build_env[@]}" "$GO" build -trimpath -ldflags='-buildid= -s -w' -o "$out/$name.elf" "$src"
  built=$((built + 1))
done

if [ $check = 1 ]; then
  bad=0
  have=$("$GO" env GOVERSION)
  for elf in "$out"/go-*.elf; do
    name=$(basename "$elf")
    if ! cmp -s "$elf" "$here/../bin/$name"; then
      was=$("$GO" version "$here/../bin/$name" 2>/dev/null | awk '{print $2}') || true
      if [ -n "$was" ] && [ "$was" != "$have" ]; then
        echo "guests/go/build.sh: bin/$name was built with $was, this is $have: only the same Go release builds the same bytes" >&2
      else
        echo "guests/go/build.sh: bin/$name differs from what its source builds to (run bash guests/go/build.sh)" >&2
      fi
      bad=1
    fi
  done
  [ $bad = 0 ] && echo "guests/go/build.sh: all $built Go programs match their sources"
  exit $bad
fi
echo "guests/go/build.sh: built $built Go programs into $out"
