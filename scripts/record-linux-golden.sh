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
# ringvisor's with them. Kernel messages lose their printk timestamps
# (the defconfig kernel has CONFIG_PRINTK_TIME): they are times, which vary
# from run to run under QEMU; the tests drop them the same way.
#   scripts/record-linux-golden.sh              everything
#   scripts/record-linux-golden.sh VARIANT...   only those variants' transcripts
#                                               ("memory": the boot log's RAM lines)
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
    | node -e 'let s=require("fs").readFileSync(0,"utf8"); const i=s.indexOf("ringvisor-init# "); process.stdout.write((i<0?s:s.slice(i)).replace(/\r\n/g,"\n").replace(/^\[ *\d+\.\d+\] /gm,""))' \
    > "$3"
  echo "recorded $3 ($(wc -l < "$3") lines)"
}
only=" $* "
if [ $# -eq 0 ]; then
  record guests/linux/session.txt 1 guests/golden/linux-session.qemu
  record guests/linux/session-smp.txt 4 guests/golden/linux-session-smp4.qemu
fi
# The variants (test/system-boot-variants.test.ts: CASES).
for c in clocks:default:1 clocks:minimal:1,2,4 clocks:nosmp:1 syscon:syscon:1 clocks:defconfig:1,2,4; do
  IFS=: read -r s v ns <<< "$c"
  [ $# -eq 0 ] || [[ $only == *" $v "* ]] || continue
  if [ "$v" = default ]; then vpaths=$paths; else vpaths=$(bash guests/linux/build.sh --variant "$v"); fi
  for m in ${ns//,/ }; do
    record "guests/linux/session-$s.txt" "$m" "guests/golden/linux-$s-$v-smp$m.qemu" \
      "$(sed -n 1p <<< "$vpaths")" "$(sed -n 2p <<< "$vpaths")"
  done
done
# The minimal kernel's view of the device tree's firmware nodes
# (session-dt.txt, the transcript as above) and what its boot log (not
# quiet) says about RAM: the lines
# test/system-boot-variants.test.ts's memoryFacts() keeps, its Memory: line
# without the available and reserved counts (the same filter, written twice).
if [ $# -eq 0 ] || [[ $only == *" memory "* ]]; then
  mpaths=$(bash guests/linux/build.sh --variant minimal)
  out=guests/golden/linux-memory-minimal-smp1.qemu
  node guests/linux/console.mjs --timeout 120 --script guests/linux/session-dt.txt -- \
    qemu-system-riscv64 -M virt -smp 1 -m 256M -nographic -bios default -no-reboot \
    -kernel "$(sed -n 1p <<< "$mpaths")" -initrd "$(sed -n 2p <<< "$mpaths")" -append "console=ttyS0 panic=-1" \
    | tee >(node -e 'let s=require("fs").readFileSync(0,"latin1"); const i=s.indexOf("ringvisor-init# "); process.stdout.write((i<0?s:s.slice(i)).replace(/\r\n/g,"\n"))' \
            > guests/golden/linux-dt-minimal-smp1.qemu) \
    | node -e '
      const facts = /^(OF: fdt: Ignoring memory|Zone ranges|  DMA32|  Normal|Movable zone|Early memory node|  node +\d+:|Initmem setup|Built \d+ zonelists|Memory: |Freeing initrd memory)/;
      const s = require("fs").readFileSync(0, "latin1").replace(/\r\n/g, "\n").replace(/^\[ *\d+\.\d+\] /gm, "");
      process.stdout.write(s.split("\n").filter((l) => facts.test(l))
        .map((l) => l.replace(/^Memory: \d+K\/(\d+K) available (.*), \d+K reserved/, "Memory: _K/$1 available $2, _K reserved"))
        .join("\n") + "\n");' > "$out"
  sleep 1 # the tee's process substitution finishes on its own
  echo "recorded $out ($(wc -l < "$out") lines) and guests/golden/linux-dt-minimal-smp1.qemu"
fi
