# Sourced by the guest build scripts.
#
#   output_dir SCRIPT [--check]
# sets `check` (1 with --check) and `out`: bin (created), or with --check a
# temporary directory removed when the script exits.
output_dir() {
  local script=$1
  check=0
  case "${2:-}" in
    --check) check=1 ;;
    "") ;;
    *) echo "usage: $script [--check]" >&2; exit 2 ;;
  esac
  if [ $check = 1 ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
  else
    out=bin
    mkdir -p bin
  fi
}

# Compares the ELF files (programs, *.elf, and shared libraries, *.so) just
# built into OUT with the committed ones in BIN, byte for byte, both ways.
#   check_built SCRIPT OUT BIN COUNT WHERE
# SCRIPT names the build script in messages, COUNT is how many programs were
# built, WHERE says where sources live. Prints what differs; returns 1 then.
check_built() {
  local script=$1 out=$2 bin=$3 count=$4 where=$5 bad=0 elf name
  for elf in "$out"/*.elf "$out"/*.so; do
    [ -e "$elf" ] || continue
    name=$(basename "$elf")
    if ! cmp -s "$elf" "$bin/$name"; then
      echo "$script: $bin/$name differs from what its source builds to (run bash $script)" >&2
      bad=1
    fi
  done
  for elf in "$bin"/*.elf "$bin"/*.so; do
    [ -e "$elf" ] || continue
    [ -e "$out/$(basename "$elf")" ] || { echo "$script: $elf has no source in $where" >&2; bad=1; }
  done
  [ $bad = 0 ] && echo "$script: all $count programs match their sources"
  return $bad
}
