// guests/bench/syscalls.c in JavaScript: each fs.writeSync is one write(2).
import { closeSync, openSync, writeSync } from 'node:fs';

export function run(n) {
  const fd = openSync('/dev/null', 'w');
  const data = Buffer.from('0123456789abcdef');
  let total = 0;
  for (let i = 0; i < n; i++) total += writeSync(fd, data, 0, 1 + (i & 15));
  closeSync(fd);
  return `writes ${n} bytes ${total}\n`;
}
