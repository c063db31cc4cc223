#!/usr/bin/env bash
# Records the golden console transcripts of our guest Linux (guests/linux)
# under qemu-system-riscv64 -M virt: a session typed at its console, the
# transcript from the first prompt on (\r\n as \n).
#   guests/golden/linux-session.qemu        guests/linux/session.txt, -smp 1
#   guests/golden/linux-session-smp4.qemu   guests/linux/session-smp.txt, -smp 4
#   guests/golden/linux-SESSION-VARIANT-smpN.qemu
#                                           guests/linux/session-SESSION.txt
#                                           on a kernel variant (build.sh
#                                           --variant; "default" is the plain
#                                           build), -smp N
# test/system-boot.test.ts and test/system-boot-variants.test.ts compare
# ringvisor's with them.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=$(bash guests/linux/build.sh)
kernel=$(sed -n 1p <<< "$paths")
initrd=$(sed -n 2p <<< "$paths")
record() { # SESSION SMP OUT [KERNEL INITRD]
  local kernel=${4:-$kernel} initrd=${5:-$initrd}
  node guests/linux/console.mjs --timeout 120 --script "$1" -- \
    qemu-system-riscv64 -M virt -smp "$2" -m 256M -nographic -bios default -no-reboot \
    -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1" \
    | node -e 'let s=require("fs").readFileSync(0,"utf8"); const i=s.indexOf("ringvisor-init# "); process.stdout.write((i<0?s:s.slice(i)).replace(/\r\n/g,"\n"))' \
    > "$3"
  echo "recorded $3 ($(wc -l < "$3") lines)"
}
record guests/linux/session.txt 1 guests/golden/linux-session.qemu
record guests/linux/session-smp.txt 4 guests/golden/linux-session-smp4.qemu
# The variants (test/system-boot-variants.test.ts: CASES).
for c in clocks:default:1 clocks:minimal:1,2,4 clocks:nosmp:1 syscon:syscon:1; do
  IFS=: read -r s v ns <<< "$c"
  if [ "$v" = default ]; then vpaths=$paths; else vpaths=$(bash guests/linux/build.sh --variant "$v"); fi
  for m in ${ns//,/ }; do
    record "guests/linux/session-$s.txt" "$m" "guests/golden/linux-$s-$v-smp$m.qemu" \
      "$(sed -n 1p <<< "$vpaths")" "$(sed -n 2p <<< "$vpaths")"
  done
done
