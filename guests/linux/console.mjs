// A scripted console session: runs a machine (any command whose stdin and
// stdout are the guest's console, e.g. qemu-system-riscv64 -nographic) and
// types the lines of a command script into it, each one only after the
// guest's shell has printed its prompt. Pacing keeps the transcript
// deterministic: the tty echoes a line when it arrives, so lines sent all at
// once would be echoed in the middle of earlier commands' output.
// When the script runs out and the guest prompts again, it sends ^D (end of
// input on a tty), on which ringvisor's /init powers the machine off.
//
//   node console.mjs [--prompt STR] [--timeout SECONDS] [--script FILE] -- COMMAND [ARG]...
//
// The script is FILE, or this program's stdin. The guest's console output
// goes to stdout unchanged; a timing summary goes to stderr. Exit status: the
// machine's, or 124 after the timeout (the machine is killed).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let prompt = 'ringvisor-init# ';
let timeout = 120;
let scriptFile = null;
while (args.length && args[0] !== '--') {
  const opt = args.shift();
  if (opt === '--prompt') prompt = args.shift();
  else if (opt === '--timeout') timeout = Number(args.shift());
  else if (opt === '--script') scriptFile = args.shift();
  else {
    process.stderr.write(`console.mjs: unknown option ${opt}\n`);
    process.exit(2);
  }
}
args.shift();
if (!args.length) {
  process.stderr.write('usage: node console.mjs [--prompt STR] [--timeout S] [--script FILE] -- COMMAND [ARG]...\n');
  process.exit(2);
}

const script = readFileSync(scriptFile ?? 0, 'utf8');
const lines = script.split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();

const t0 = process.hrtime.bigint();
const secs = () => (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2);
const child = spawn(args[0], args.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
let tail = '';
let firstPrompt = null;
let sentEof = false;
let prompts = 0;

child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('latin1')).slice(-4096);
  if (!tail.endsWith(prompt)) return;
  tail = '';
  prompts++;
  if (firstPrompt === null) firstPrompt = secs();
  if (lines.length) child.stdin.write(lines.shift() + '\n');
  else if (!sentEof) {
    sentEof = true;
    child.stdin.write('\x04');
  }
});
child.stdin.on('error', () => {});

const timer = setTimeout(() => {
  process.stderr.write(`\nconsole.mjs: timeout after ${timeout}s; killing ${args[0]}\n`);
  child.kill('SIGKILL');
  setTimeout(() => process.exit(124), 200);
}, timeout * 1000);

child.on('exit', (code, signal) => {
  clearTimeout(timer);
  const status = code ?? 128;
  process.stderr.write(
    `\nconsole.mjs: first prompt after ${firstPrompt ?? '-'}s, ${prompts} prompts, ` +
      `${lines.length} lines unsent, machine exited after ${secs()}s with ` +
      (signal ? `signal ${signal}` : `status ${code}`) + '\n',
  );
  process.exitCode = status;
});
