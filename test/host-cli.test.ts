// `ringvisor host` and `ringvisor vm` end to end, as a user types them
// (dist/bin/ringvisor.js, as `npm test` builds it): VMs created, started,
// listed, measured, checkpointed, attached to, stopped and removed; tables
// for people and --json for scripts; a host stopped with SIGTERM and
// started again has the configurations back; bad commands get one line and
// a status.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeElf } from './support/elf-writer.js';
import { HostClient } from '../src/node/host-client.js';
import { jal, ZERO } from './support/rvasm.js';

const main = fileURLToPath(new URL('../dist/bin/ringvisor.js', import.meta.url));
const built = spawnSync('bash', [fileURLToPath(new URL('../guests/linux/build.sh', import.meta.url)), '--print-path'], { encoding: 'utf8' }).stdout.trim();
const linux = built !== '' && existsSync(join(built, 'Image')) && existsSync(join(built, 'initramfs.cpio.gz'));
const guest = (name: string) => fileURLToPath(new URL(`../guests/bin/${name}`, import.meta.url));

const hosts: ChildProcess[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
});

async function startHost(state: string): Promise<{ child: ChildProcess; err: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [main, 'host', '--state', state, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  hosts.push(child);
  let err = '';
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; !err.includes('API on') && i < 1500; i++) await new Promise((r) => setTimeout(r, 20));
  expect(err).toContain('API on');
  return { child, err: () => err, exited };
}

function vm(state: string, ...args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [main, 'vm', '--api', join(state, 'api.sock'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('ringvisor host and ringvisor vm', () => {
  it("a VM's life through the command line, and the configurations after a restart", async () => {
    const state = mkdtempSync(join(tmpdir(), 'rv-host-cli-'));
    try {
      mkdirSync(join(state, 'images'));
      copyFileSync(guest('files-stdin.elf'), join(state, 'images', 'cat.elf'));
      writeFileSync(join(state, 'images', 'loop.elf'), writeElf(new Uint8Array(new Uint32Array([jal(ZERO, 0)]).buffer)));
      const h = await startHost(state);
      expect(vm(state, 'new', 'spin', '--program', 'images/loop.elf', '--mem', '32M', '--cpu-limit', '50', '--autostart')).toMatchObject({ status: 0, out: 'created spin (process)\n' });
      expect(vm(state, 'new', 'cat', '--program', 'images/cat.elf', '--arg', '3').status).toBe(0);
      const table = vm(state, 'list').out;
      expect(table.split('\n')[0]).toMatch(/^NAME\s+KIND\s+STATE\s+CPU\s+MEMORY\s+STARTED$/);
      expect(table).toMatch(/spin\s+process\s+Off\s+w100 r0% l50%\s+32 MiB \(32 MiB\.\.32 MiB\)/);
      expect(vm(state, 'start', 'spin')).toMatchObject({ status: 0, out: 'spin: Running\n' });
      const listed = JSON.parse(vm(state, 'list', '--json').out) as { name: string; state: string }[];
      expect(listed.map((v) => [v.name, v.state])).toEqual([['cat', 'Off'], ['spin', 'Running']]);
      const measured = JSON.parse(vm(state, '--json', 'measure', 'spin').out) as { instructions: string; state: string };
      expect(measured.state).toBe('Running');
      expect(vm(state, 'measure', 'spin').out).toMatch(/^FIGURE\s+VALUE\n(.*\n)*instructions\s+\d+\n/);
      expect(vm(state, 'checkpoint', 'spin', 'one').out).toBe('spin: checkpoint one taken\n');
      expect(vm(state, 'checkpoints', 'spin').out).toMatch(/one\s+\S+\s+-\s+yes/);
      expect(vm(state, 'restore', 'spin', 'one').out).toBe('spin: checkpoint one applied\n');
      expect(vm(state, 'pause', 'spin').out).toBe('spin: Paused\n');
      expect(vm(state, 'resume', 'spin').out).toBe('spin: Running\n');
      expect(vm(state, 'set', 'spin', '--cpu-weight', '400').out).toMatch(/spin: cpu weight 400, reserve 0%, limit 50%/);
      expect(vm(state, 'metrics').out).toMatch(/ringvisor_vm_instructions_total\{vm="spin"\} \d+/);

      // A console attached with a pipe: lines in, the guest's output back; the end of stdin detaches.
      expect(vm(state, 'start', 'cat').status).toBe(0);
      const attached = spawnSync(process.execPath, [main, 'vm', '--api', join(state, 'api.sock'), 'console', 'cat'], { input: 'a line for cat\n', encoding: 'utf8', timeout: 30_000 });
      expect(attached.status).toBe(0);
      expect(attached.stdout).toContain('a line for cat');
      expect(attached.stderr).toMatch(/attached to cat's console[\s\S]*detached/);

      // A system VM (our Linux, when it is built: CI builds it) the same way.
      if (linux) {
        copyFileSync(join(built, 'Image'), join(state, 'images', 'Image'));
        copyFileSync(join(built, 'initramfs.cpio.gz'), join(state, 'images', 'initramfs.cpio.gz'));
        expect(vm(state, 'new', 'linux', '--kernel', 'images/Image', '--initrd', 'images/initramfs.cpio.gz', '--append', 'console=ttyS0 quiet panic=-1', '--mem', '64M')).toMatchObject({ status: 0, out: 'created linux (system)\n' });
        expect(vm(state, 'start', 'linux').out).toBe('linux: Running\n');
        // (A piped console detaches once output has been quiet a while: attach at the prompt.)
        const client = new HostClient({ socket: join(state, 'api.sock') });
        for (let i = 0; i < 3000 && !(await client.consoleLog('linux')).includes('ringvisor-init# '); i++) await new Promise((r) => setTimeout(r, 20));
        const shell = spawnSync(process.execPath, [main, 'vm', '--api', join(state, 'api.sock'), 'console', 'linux'], { input: 'echo forty-two\n', encoding: 'utf8', timeout: 60_000 });
        expect(shell.stdout).toMatch(/\nforty-two\r?\n/);
        const m = JSON.parse(vm(state, 'measure', 'linux', '--json').out) as { exits: Record<string, number>; console: { bytesIn: number } };
        expect(m.exits.ECALL_S).toBeGreaterThan(0);
        expect(m.console.bytesIn).toBeGreaterThan(0);
        expect(vm(state, 'checkpoint', 'linux', 'at-prompt').status).toBe(0);
        expect(vm(state, 'stop', 'linux').out).toMatch(/^linux: Off/);
        expect(vm(state, 'remove', 'linux').status).toBe(0);
      }

      // Errors: one line, status 1 from the host, 2 for the command line.
      expect(vm(state, 'start', 'nope')).toMatchObject({ status: 1, err: 'ringvisor vm start: no VM named "nope" (404)\n' });
      expect(vm(state, 'remove', 'spin')).toMatchObject({ status: 1, err: 'ringvisor vm remove: VM spin is Running: stop it first (409)\n' });
      expect(vm(state, 'new', 'x', '--program', '../etc/passwd').status).toBe(1);
      expect(vm(state, 'new', 'x', '--program', 'images/loop.elf', '--cpu-limit', '0')).toMatchObject({ status: 2 });
      expect(vm(state, 'frobnicate').status).toBe(2);
      expect(spawnSync(process.execPath, [main, 'vm', '--api', join(state, 'none.sock'), 'list'], { encoding: 'utf8' })).toMatchObject({ status: 1, stderr: expect.stringMatching(/no host answers/) });

      // SIGTERM stops the VMs; a new host has the configurations (and starts spin: autostart).
      h.child.kill('SIGTERM');
      expect(await h.exited).toBe(0);
      expect(existsSync(join(state, 'api.sock'))).toBe(false);
      const h2 = await startHost(state);
      let again: { name: string; state: string; config: { cpu: { weight: number } } }[] = [];
      for (let i = 0; i < 300 && again.find((v) => v.name === 'spin')?.state !== 'Running'; i++) {
        again = JSON.parse(vm(state, 'list', '--json').out) as typeof again;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(again.map((v) => [v.name, v.state, v.config.cpu.weight])).toEqual([['cat', 'Off', 100], ['spin', 'Running', 400]]);
      expect(vm(state, 'stop', 'spin').out).toMatch(/^spin: Off/);
      expect(vm(state, 'remove', 'spin').out).toBe('removed spin\n');
      expect(vm(state, 'remove', 'cat').out).toBe('removed cat\n');
      expect(JSON.parse(vm(state, 'list', '--json').out)).toEqual([]);
      h2.child.kill('SIGTERM');
      expect(await h2.exited).toBe(0);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 180_000);
});
