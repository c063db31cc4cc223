// The messages between a host (vm-host.ts) and its worker threads
// (host-worker.ts), each of which runs some of the host's VMs. A worker
// owns its VMs whole (CPU, memory, devices, checkpoint tree); the host
// keeps their configurations and speaks for them to clients.
import type { VmConfig, CpuResources } from '../hypervisor/host-config.js';
import type { VmCall } from './api-server.js';

/** A VM to start: its configuration, and the host paths it names, already
 *  resolved and checked to be inside the state directory. */
export interface StartVm {
  type: 'start';
  config: VmConfig;
  /** The VM's own directory: its files (a process VM's working directory),
   *  its checkpoint tree. */
  dir: string;
  /** The program, kernel, initrd and disk as host paths. */
  paths: { program?: string; kernel?: string; initrd?: string; disk?: string };
}

export type ToWorker =
  | StartVm
  /** A control API call for a VM; answered by a `reply` with the same seq. */
  | { type: 'call'; name: string; seq: number; call: VmCall }
  /** Stop a VM: `force` halts it at once; otherwise the guest is asked
   *  (SBI shutdown for a system VM has no asking: both halt). */
  | { type: 'stop'; name: string; seq: number }
  | { type: 'input'; name: string; bytes: Uint8Array }
  | { type: 'cpu'; name: string; cpu: CpuResources }
  /** A new memory target (bytes) from the balancer. */
  | { type: 'memory'; name: string; bytes: number }
  /** Metrics of every VM of the worker, for the host's /metrics. */
  | { type: 'measure'; seq: number };

/** A VM's figures, Hyper-V's Measure-VM and more. */
export interface VmMeasure {
  name: string;
  state: 'Running' | 'Paused' | 'Stopped';
  instructions: string;
  exits: Record<string, number>;
  /** Host CPU time its slices took, in seconds. */
  cpuSeconds: number;
  /** `limit`: what it may hold (a process VM's limit, a system VM's
   *  balloon target); `demand`: what it needs, as the balancer counts it. */
  memory: { bytes: number; average: number; minimum: number; maximum: number; limit: number; demand: number };
  disk: { readBytes: number; writtenBytes: number; reads: number; writes: number };
  console: { bytesOut: number; bytesIn: number };
  /** How many times the host has rebuilt it to take back memory it gave
   *  back (its balloon's, or pages a process VM freed). */
  compactions: number;
  /** The balloon's figures, for a system VM that has one. */
  balloon?: { targetBytes: number; actualBytes: number };
}

export type FromWorker =
  | { type: 'reply'; seq: number; ok: true; value: unknown; status?: number }
  | { type: 'reply'; seq: number; ok: false; status: number; message: string }
  /** A VM has started, stopped (its status) or crashed (ring -1 threw). */
  | { type: 'event'; name: string; event: 'started' | 'stopped' | 'crashed' | 'paused' | 'resumed' | 'checkpointed'; detail?: Record<string, unknown> }
  | { type: 'console'; name: string; bytes: Uint8Array }
  | { type: 'measures'; seq: number; vms: VmMeasure[] };
