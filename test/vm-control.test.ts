// VmControl (src/cli/vm-control.ts), the control API's verbs for the VM of
// a `boot` or `run` command, against a fake VM: what it refuses and with
// which status, that a snapshot is written whole or not at all, and that
// applying a checkpoint whose state cannot be restored leaves the VM, the
// tree and the disk as they were.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VmControl, REPLACED, type ControlledVM } from '../src/cli/vm-control.js';
import { ControlError, type VmRunState } from '../src/hypervisor/control.js';
import { CheckpointTree, MemoryCheckpointStore } from '../src/hypervisor/checkpoint-tree.js';
import { CheckpointUnsupportedError } from '../src/linux/process-checkpoint.js';
import { CheckpointError } from '../src/hypervisor/checkpoint-error.js';
import { MemoryBlockBackend } from '../src/system/devices/virtio-blk.js';

class FakeVM implements ControlledVM {
  state: VmRunState = 'Running';
  halted: number | undefined;
  refuse: Error | undefined;
  constructor(readonly value: number) {}
  pause(): void { this.state = 'Paused'; }
  resume(): void { this.state = 'Running'; }
  forgotten = 0;
  checkpoint(): Uint8Array {
    if (this.refuse) throw this.refuse;
    return Uint8Array.of(0xcc, this.value);
  }
  snapshot(): Uint8Array { return this.checkpoint(); }
  forgetSnapshot(): void { this.forgotten++; }
  metrics(): Record<string, unknown> { return { value: this.value }; }
  configuration(): Record<string, unknown> { return { kind: 'fake' }; }
  halt(status: number): void { this.halted = status; this.state = 'Stopped'; }
}

/** A VM from a fake state: [0xcc, value]; anything else cannot be restored. */
function restoreFake(state: Uint8Array): FakeVM {
  if (state.length !== 2 || state[0] !== 0xcc) throw new CheckpointError('bad-record', 'not a fake VM');
  return new FakeVM(state[1]);
}

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<{ status: number; message: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof ControlError) return { status: e.status, message: e.message };
    throw e;
  }
  throw new Error('not refused');
}

describe('VmControl', () => {
  it('pause and resume; a stopped VM refuses both with 409', async () => {
    const vm = new FakeVM(1);
    const c = new VmControl({ id: 'v', kind: 'process', vm, restore: restoreFake });
    c.pause();
    expect(c.info()).toEqual({ id: 'v', kind: 'process', state: 'Paused', config: { kind: 'fake' } });
    c.resume();
    vm.state = 'Stopped';
    expect((await refusal(() => c.pause())).status).toBe(409);
    expect((await refusal(() => c.resume())).status).toBe(409);
  });

  it('writes a snapshot whole, or not at all: a VM that cannot be saved is a 409, a path that cannot be written a 400, and no file is left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringvisor-vm-control-'));
    try {
      const vm = new FakeVM(7);
      const c = new VmControl({ id: 'v', kind: 'process', vm, restore: restoreFake });
      const r = await c.snapshot(join(dir, 'a.snap'), 'Full');
      expect(r).toMatchObject({ path: join(dir, 'a.snap'), type: 'Full', bytes: 2 });
      expect([...readFileSync(join(dir, 'a.snap'))]).toEqual([0xcc, 7]);

      vm.refuse = new CheckpointUnsupportedError('fd', 'fd 3 is an epoll instance, which cannot be saved yet');
      const refused = await refusal(c.snapshot(join(dir, 'b.snap'), 'Full'));
      expect(refused).toEqual({ status: 409, message: expect.stringMatching(/epoll instance/) });
      vm.refuse = undefined;
      expect((await refusal(c.snapshot(join(dir, 'no', 'such', 'c.snap'), 'Full'))).status).toBe(400);
      expect((await refusal(c.snapshot(dir, 'Full'))).status).toBe(400); // a directory
      expect(vm.forgotten).toBe(2); // (a Diff must not build on a file never written)
      expect(readdirSync(dir).sort()).toEqual(['a.snap']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without --checkpoint-dir every checkpoint verb is a 409 saying so', async () => {
    const c = new VmControl({ id: 'v', kind: 'process', vm: new FakeVM(1), restore: restoreFake });
    for (const f of [() => c.listCheckpoints(), () => c.takeCheckpoint('a'), () => c.applyCheckpoint('a'), () => c.deleteCheckpoint('a')]) {
      expect(await refusal(f)).toEqual({ status: 409, message: expect.stringMatching(/--checkpoint-dir/) });
    }
  });

  it('takes, lists, applies (replacing the VM, paused if it was) and deletes checkpoints, the disk following', async () => {
    const store = new MemoryCheckpointStore();
    const base = new MemoryBlockBackend(64 * 1024);
    const tree = CheckpointTree.open({ store, base, clock: () => Date.UTC(2026, 11, 5) });
    const vm = new FakeVM(1);
    const c = new VmControl({ id: 'v', kind: 'system', vm, tree: { tree, store }, restore: restoreFake });
    const disk = tree.disk!;
    disk.write(0, new Uint8Array(512).fill(1));
    expect(await c.takeCheckpoint('one')).toEqual({ name: 'one', created: '2026-12-05T00:00:00.000Z', parent: null, current: true });
    disk.write(0, new Uint8Array(512).fill(2));
    expect((await refusal(c.takeCheckpoint('one'))).status).toBe(409);
    (c.current as FakeVM).pause();
    await c.applyCheckpoint('one');
    expect(vm.halted).toBe(REPLACED);
    expect(c.current).not.toBe(vm);
    expect((c.current as FakeVM).value).toBe(1);
    expect(c.current.state).toBe('Paused');
    const back = new Uint8Array(512);
    disk.read(0, back);
    expect(back[0]).toBe(1);
    expect((await refusal(c.applyCheckpoint('nope'))).status).toBe(404);
    await c.deleteCheckpoint('one');
    expect(c.listCheckpoints()).toEqual([]);
    expect((await refusal(c.deleteCheckpoint('one'))).status).toBe(404);
  });

  it('a checkpoint whose state cannot be restored is refused, and the VM, the tree and the disk stay as they were', async () => {
    const store = new MemoryCheckpointStore();
    const base = new MemoryBlockBackend(64 * 1024);
    const tree = CheckpointTree.open({ store, base });
    const vm = new FakeVM(3);
    const c = new VmControl({ id: 'v', kind: 'system', vm, tree: { tree, store }, restore: restoreFake });
    await c.takeCheckpoint('good');
    tree.disk!.write(0, new Uint8Array(512).fill(9));
    const stateFile = tree.get('good').stateFile;
    store.files.set(stateFile, Uint8Array.of(1, 2, 3));
    const now = tree.now;
    expect(await refusal(c.applyCheckpoint('good'))).toEqual({ status: 409, message: expect.stringMatching(/not a fake VM/) });
    expect(c.current).toBe(vm);
    expect(vm.halted).toBeUndefined();
    expect(tree.now).toEqual(now);
    const back = new Uint8Array(512);
    tree.disk!.read(0, back);
    expect(back[0]).toBe(9);
    store.files.delete(stateFile);
    expect(await refusal(c.applyCheckpoint('good'))).toEqual({ status: 409, message: expect.stringMatching(/lost its state file/) });
  });
});
