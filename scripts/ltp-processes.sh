#!/usr/bin/env bash
# The Linux Test Project's process tests under ringvisor and natively, side
# by side: what found the bugs guests/libc/proc-ltp.c keeps. LTP is not a
# Debian package, so this is not part of `npm test`: give it an LTP source
# tree (git clone of linux-test-project/ltp, or an unpacked release).
#
#   bash scripts/ltp-processes.sh LTP_SOURCE_DIR [WORK_DIR]
#
# Builds LTP's library and the syscall test directories below twice, for
# riscv64 (static, with Debian's cross compiler) and for this machine, runs
# each test from runtest/syscalls under `ringvisor run --fs=host` and
# natively (TMPDIR and KCONFIG_PATH set as LTP wants them; the guest cannot
# run the host's zcat to read /proc/config.gz), and prints one line per test
# with both verdicts (PASS, FAIL, BROK, CONF) and a count of those that agree.
# fork13 is left out: it takes minutes natively.
set -euo pipefail
SRC=${1:?usage: scripts/ltp-processes.sh LTP_SOURCE_DIR [WORK_DIR]}
WORK=${2:-${TMPDIR:-/tmp}/ringvisor-ltp}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIRS="fork vfork wait wait4 waitpid waitid execve execl execle execlp execv execvp execveat kill setpgid setsid getpgid getsid getppid pipe pipe2 setuid setresuid setreuid getresuid pselect clone"
JOBS=${JOBS:-2}

build() { # build NAME CONFIGURE-ARGS...
  local name=$1; shift
  local dir=$WORK/$name
  if [ ! -e "$dir/.built" ]; then
    rm -rf "$dir"
    cp -r "$SRC" "$dir"
    (cd "$dir" && make autotools >/dev/null && ./configure "$@" >/dev/null && make -j"$JOBS" -C lib >/dev/null)
    for d in $DIRS; do make -j"$JOBS" -C "$dir/testcases/kernel/syscalls/$d" >/dev/null 2>&1 || echo "ltp: $name: $d did not build" >&2; done
    mkdir -p "$dir/bin"
    find "$dir/testcases/kernel/syscalls" -type f -perm -u+x ! -name '*.sh' ! -name '*.o' -exec cp {} "$dir/bin/" \;
    touch "$dir/.built"
  fi
}

verdict() { # verdict LOG
  if grep -q TFAIL "$1"; then echo FAIL; elif grep -q TBROK "$1"; then echo BROK
  elif grep -q TPASS "$1"; then echo PASS; elif grep -q TCONF "$1"; then echo CONF; else echo "?"; fi
}

mkdir -p "$WORK"
build riscv64 --host=riscv64-linux-gnu CC=riscv64-linux-gnu-gcc LDFLAGS=-static
build native
zcat /proc/config.gz > "$WORK/kconfig" 2>/dev/null || : > "$WORK/kconfig"
[ -e "$ROOT/dist/bin/ringvisor.js" ] || (cd "$ROOT" && npm run build >/dev/null)
mkdir -p "$WORK/tmp" "$WORK/logs"
same=0 total=0
while read -r name cmd; do
  case "$name" in ''|'#'*|fork13) continue ;; esac
  prog=${cmd%% *}
  [ -x "$WORK/riscv64/bin/$prog" ] && [ -x "$WORK/native/bin/$prog" ] || continue
  for side in riscv64 native; do
    log=$WORK/logs/$name.$side
    (cd "$WORK/$side/bin" && export TMPDIR=$WORK/tmp KCONFIG_PATH=$WORK/kconfig PATH=$WORK/$side/bin:/usr/bin:/bin
     if [ $side = riscv64 ]; then timeout -k 5 120 node "$ROOT/dist/bin/ringvisor.js" run --fs=host --timeout 90 ./$cmd
     else timeout -k 5 120 ./$cmd; fi) > "$log" 2>&1 < /dev/null || true
  done
  r=$(verdict "$WORK/logs/$name.riscv64") n=$(verdict "$WORK/logs/$name.native")
  total=$((total + 1)); [ "$r" = "$n" ] && same=$((same + 1))
  printf '%-16s native %-4s ringvisor %-4s%s\n' "$name" "$n" "$r" "$([ "$r" = "$n" ] || echo '   differs')"
done < "$SRC/runtest/syscalls"
echo "ltp: $same of $total tests give the same verdict under ringvisor as natively (logs: $WORK/logs)"
