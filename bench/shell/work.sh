# A shell script's whole time (bench/shell.mjs): Debian's dash running what
# scripts do, with builtins only so that qemu-riscv64 (which forks but
# cannot execute a riscv64 program) runs it too: functions, arithmetic,
# loops, command substitution and pipelines (each a fork), here-documents.
n=${1:-200}
square() { echo $(($1 * $1)); }
count_words() { c=0; while read -r w; do c=$((c + 1)); done; echo $c; }
total=0
i=0
while [ $i -lt $n ]; do
  total=$((total + $(square $i)))
  words=$(printf '%s\n' alpha beta gamma $i | count_words)
  total=$((total + words))
  i=$((i + 1))
done
lines=0
while read -r line; do lines=$((lines + ${#line})); done <<END
$(i=0; while [ $i -lt 50 ]; do echo "line $i of the here-document"; i=$((i + 1)); done)
END
echo "total $total lines $lines"
