#!/usr/bin/env bash
# Records guests/golden/linux-session.qemu: our guest Linux (guests/linux)
# under qemu-system-riscv64 -M virt, the session of guests/linux/session.txt
# typed at its console, the transcript from the first prompt on (\r\n as
# \n). test/system-boot.test.ts compares ringvisor boot's with it.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=$(bash guests/linux/build.sh)
kernel=$(sed -n 1p <<< "$paths")
initrd=$(sed -n 2p <<< "$paths")
node guests/linux/console.mjs --timeout 120 --script guests/linux/session.txt -- \
  qemu-system-riscv64 -M virt -smp 1 -m 256M -nographic -bios default -no-reboot \
  -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1" \
  | node -e 'let s=require("fs").readFileSync(0,"utf8"); const i=s.indexOf("ringvisor-init# "); process.stdout.write((i<0?s:s.slice(i)).replace(/\r\n/g,"\n"))' \
  > guests/golden/linux-session.qemu
echo "recorded guests/golden/linux-session.qemu ($(wc -l < guests/golden/linux-session.qemu) lines)"
