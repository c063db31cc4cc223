// Dynamic Memory, as Hyper-V's balancer does it: each running VM has a
// demand (what its guest uses) and settings (minimum, maximum, buffer: the
// percentage kept free above the demand). Each gets its demand plus its
// buffer, within its minimum and maximum. When the host's budget cannot
// cover that, memory is taken first from buffers, in proportion, and never
// below a VM's demand or minimum: a guest's working set is not taken from
// it (when even demands do not fit, every VM keeps what it uses and the
// host is over its budget: it says so). What one VM gives back, another
// that wants it gets. Pure: the host (src/node/vm-host.ts) measures and
// applies (a system VM's balloon target, a process VM's memory limit).

export interface BalancedVm {
  name: string;
  /** Bytes its guest uses now. */
  demand: number;
  minimum: number;
  maximum: number;
  /** Percent kept free above the demand. */
  buffer: number;
}

export interface Balance {
  /** Per VM, the memory it is to have (bytes, a whole number of 4 KiB pages). */
  targets: Map<string, number>;
  /** Whether the targets fit the budget (false: the demands alone do not). */
  fits: boolean;
}

const PAGE = 4096;
const pages = (bytes: number, up: boolean) => (up ? Math.ceil(bytes / PAGE) : Math.floor(bytes / PAGE)) * PAGE;

/** Targets for `vms` within `budget` bytes (Infinity: no limit). */
export function balance(vms: readonly BalancedVm[], budget: number): Balance {
  // What each would have with room to spare, and the least it can have.
  const want = vms.map((v) => clamp(pages(v.demand * (1 + v.buffer / 100), true), v));
  const least = vms.map((v) => clamp(pages(v.demand, true), v));
  const sumWant = want.reduce((a, b) => a + b, 0);
  const sumLeast = least.reduce((a, b) => a + b, 0);
  const targets = new Map<string, number>();
  if (sumWant <= budget) {
    vms.forEach((v, i) => targets.set(v.name, want[i]));
    return { targets, fits: true };
  }
  if (sumLeast >= budget) {
    vms.forEach((v, i) => targets.set(v.name, least[i]));
    return { targets, fits: sumLeast <= budget };
  }
  // Buffers shrink in proportion until the whole fits.
  const spare = budget - sumLeast, extra = sumWant - sumLeast;
  vms.forEach((v, i) => targets.set(v.name, clamp(least[i] + pages(((want[i] - least[i]) * spare) / extra, false), v)));
  return { targets, fits: true };
}

function clamp(bytes: number, v: BalancedVm): number {
  return Math.min(v.maximum, Math.max(v.minimum, bytes));
}
