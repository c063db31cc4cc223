#!/usr/bin/env bash
# Records the golden console transcripts of our guest Linux (guests/linux)
# under qemu-system-riscv64 -M virt: a session typed at its console, the
# transcript from the first prompt on (\r\n as \n).
#   guests/golden/linux-session.qemu        guests/linux/session.txt, -smp 1
#   guests/golden/linux-session-smp4.qemu   guests/linux/session-smp.txt, -smp 4
# test/system-boot.test.ts compares ringvisor boot's with them.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=$(bash guests/linux/build.sh)
kernel=$(sed -n 1p <<< "$paths")
initrd=$(sed -n 2p <<< "$paths")
record() { # SESSION SMP OUT
  node guests/linux/console.mjs --timeout 120 --script "$1" -- \
    qemu-system-riscv64 -M virt -smp "$2" -m 256M -nographic -bios default -no-reboot \
    -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1" \
    | node -e 'let s=require("fs").readFileSync(0,"utf8"); const i=s.indexOf("ringvisor-init# "); process.stdout.write((i<0?s:s.slice(i)).replace(/\r\n/g,"\n"))' \
    > "$3"
  echo "recorded $3 ($(wc -l < "$3") lines)"
}
record guests/linux/session.txt 1 guests/golden/linux-session.qemu
record guests/linux/session-smp.txt 4 guests/golden/linux-session-smp4.qemu
