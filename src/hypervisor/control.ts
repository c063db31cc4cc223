/**
 * What a VM's control API drives (issue 14): the verbs a client may use on
 * one running VM, in Firecracker's vocabulary where it has one (pause and
 * resume, snapshot create) and Hyper-V's for checkpoints. The HTTP server
 * (`src/node/api-server.ts`, docs/API.md) validates every request before it
 * calls any of these, and calls them one at a time, in the order the
 * requests arrived: an implementation never sees two calls at once and
 * never sees a malformed argument (a checkpoint name always satisfies
 * `isCheckpointName`, a snapshot type is always 'Full' or 'Diff').
 *
 * An implementation refuses what the VM's state does not allow by throwing
 * a ControlError with an HTTP status (404 for an unknown checkpoint, 409 for
 * a state conflict); its status and message reach the client unchanged. Any
 * other exception is a bug in the implementation: the client gets a 500 and
 * the server logs it.
 *
 * No Node import: this runs wherever the machine does.
 */

/** Where the VM's run loop is: `Running` (or runnable), `Paused` by a
 *  client, `Stopped` (the guest has exited or shut down; nothing resumes it). */
export type VmRunState = 'Running' | 'Paused' | 'Stopped';

/** `GET /vm`. */
export interface VmInfo {
  /** The VM's identifier, as its host or command line named it. */
  id: string;
  /** A system VM (a kernel in S-mode) or a process VM (a Linux program in U-mode). */
  kind: 'system' | 'process';
  /** Its run state now. */
  state: VmRunState;
  /** The configuration it was started with (memory, harts, program or kernel,
   *  disks...), as plain JSON values; the keys are the implementation's. */
  config: Record<string, unknown>;
}

/** `PUT /snapshot/create`: what was written. */
export interface SnapshotResult {
  /** The file written, as the client named it. */
  path: string;
  /** `Full`: everything; `Diff`: only the RAM pages dirtied since the last snapshot. */
  type: 'Full' | 'Diff';
  /** The file's size in bytes. */
  bytes: number;
  /** How long the VM was paused for it, in milliseconds. */
  milliseconds: number;
}

/** One checkpoint of the VM's tree of checkpoints (Hyper-V's model). */
export interface CheckpointInfo {
  /** Its name: `isCheckpointName`. */
  name: string;
  /** When it was taken, ISO 8601 (`Date.prototype.toISOString`). */
  created: string;
  /** The checkpoint it was taken from (the one applied or taken last before
   *  it), or null for a root. */
  parent: string | null;
  /** Whether the running state ("Now") descends from it. */
  current: boolean;
}

/** The verbs of the control API, implemented by each kind of VM (and by a
 *  host's proxy of a VM in a worker thread, whose answers are promises). */
export interface ControlTarget {
  /** `GET /vm`. */
  info(): VmInfo | Promise<VmInfo>;
  /** `PATCH /vm {"state":"Paused"}`: stop running guest instructions until
   *  `resume`. Throws ControlError(409) when Stopped. */
  pause(): void | Promise<void>;
  /** `PATCH /vm {"state":"Resumed"}`. Throws ControlError(409) when Stopped. */
  resume(): void | Promise<void>;
  /** `PUT /snapshot/create`: write the VM's state to `path` (the VM is paused
   *  meanwhile and left as it was). `path` is a non-empty string without NUL,
   *  otherwise unchecked: the implementation opens it. */
  snapshot(path: string, type: 'Full' | 'Diff'): Promise<SnapshotResult>;
  /** `GET /checkpoints`: every checkpoint, oldest first. */
  listCheckpoints(): CheckpointInfo[] | Promise<CheckpointInfo[]>;
  /** `POST /checkpoints {"name"}`. Throws ControlError(409) when the name is taken. */
  takeCheckpoint(name: string): Promise<CheckpointInfo>;
  /** `POST /checkpoints/NAME/apply`: the VM's state (RAM, devices, disks)
   *  becomes the checkpoint's. Throws ControlError(404) when there is none. */
  applyCheckpoint(name: string): Promise<void>;
  /** `DELETE /checkpoints/NAME`. Throws ControlError(404) when there is none. */
  deleteCheckpoint(name: string): Promise<void>;
  /** `GET /metrics`: counters as plain JSON values (bigints are allowed: the
   *  server writes a safe integer as a number, a larger one as a decimal string). */
  metrics(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** `GET /balloon` (Firecracker's): the balloon's size. Throws
   *  ControlError(400) for a VM without a balloon device. */
  balloon(): BalloonConfig | Promise<BalloonConfig>;
  /** `PATCH /balloon {"amount_mib"}`: the memory the guest is asked to
   *  give back, in MiB (0 deflates it). Throws ControlError(400) without a
   *  balloon or for more than the VM's RAM. */
  setBalloon(amountMib: number): void | Promise<void>;
  /** `GET /balloon/statistics`: what the balloon holds and the guest's own figures. */
  balloonStatistics(): BalloonStatistics | Promise<BalloonStatistics>;
}

/** `GET /balloon`, in Firecracker's words. */
export interface BalloonConfig {
  /** The balloon's target size: memory the guest is asked to give back, MiB. */
  amount_mib: number;
  /** The guest may take pages back from the balloon when it runs out. */
  deflate_on_oom: boolean;
  /** 0: statistics are asked for when read. */
  stats_polling_interval_s: number;
}

/** `GET /balloon/statistics`: Firecracker's fields; the guest's figures
 *  (bytes, and counts for the fault fields) when its driver has sent some. */
export interface BalloonStatistics {
  target_pages: number;
  actual_pages: number;
  target_mib: number;
  actual_mib: number;
  swap_in?: number;
  swap_out?: number;
  major_faults?: number;
  minor_faults?: number;
  free_memory?: number;
  total_memory?: number;
  available_memory?: number;
  disk_caches?: number;
  hugetlb_allocations?: number;
  hugetlb_failures?: number;
}

/** A refusal a client should see: `status` is an HTTP status, 400..599. */
export class ControlError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ControlError';
  }
}

/** The longest checkpoint name, in characters. */
export const MAX_CHECKPOINT_NAME = 64;

// Letters, digits and a few punctuation marks, starting with a letter or
// digit and not ending with a space: a name may become a file name, so no
// `/`, no leading `.` (never `.` or `..`), no control characters; space,
// `:` and `+` are allowed for names like "before upgrade" or a timestamp.
const CHECKPOINT_NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9 ._:+@-]*[A-Za-z0-9._:+@-])?$/;

/** Whether `name` is a valid checkpoint name: 1..64 characters of
 *  `A-Z a-z 0-9`, space and `. _ : + @ -`, the first a letter or digit,
 *  the last not a space. */
export function isCheckpointName(name: string): boolean {
  return name.length <= MAX_CHECKPOINT_NAME && CHECKPOINT_NAME_RE.test(name);
}
