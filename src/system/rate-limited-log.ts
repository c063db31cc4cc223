// Ring -1's messages about what a guest did wrong to a device (a virtqueue
// that points outside RAM, features never offered, a device model that
// threw), rate-limited. A hostile guest can provoke such a message with a
// handful of instructions, in a loop: unlimited, one 20-second run wrote
// 153,264 lines, which fills the host's disk and drowns everything else.
// Every message is counted; of each kind the first `burst` are written in
// full, then at most one per `intervalMs` saying how many like it were
// suppressed since the last, and flush() (when the machine stops) writes what
// is still unsaid. Time here is the host's: the limit protects the host's
// log, whatever clock the guest runs on.

export interface LogLimits {
  /** Messages of one kind written in full before the limit applies. */
  burst: number;
  /** After the burst, at most one message of a kind per this many ms. */
  intervalMs: number;
}

export const DEFAULT_LOG_LIMITS: Readonly<LogLimits> = { burst: 10, intervalMs: 1000 };
/** Kinds told apart; messages of further kinds share one. */
const MAX_KINDS = 64;
const OTHER_KIND = '(messages of other kinds)';

/** How many messages of one kind arrived, and how many were not written. */
export interface LogKindCount {
  kind: string;
  count: number;
  suppressed: number;
}

/** The kind of a message: the message with its numbers (addresses,
 *  descriptor indices, values) taken out. */
export function logKind(line: string): string {
  return line.replace(/0x[0-9a-f]+|\d+/gi, '#');
}

interface Kind {
  count: number;
  written: number;
  suppressed: number;
  /** Suppressed since the last line written of this kind. */
  pending: number;
  lastWrite: number;
}

export class RateLimitedLog {
  private readonly kinds = new Map<string, Kind>();
  private readonly limits: LogLimits;

  constructor(
    private readonly sink: (line: string) => void,
    limits: Partial<LogLimits> = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limits = { ...DEFAULT_LOG_LIMITS, ...limits };
  }

  write(line: string): void {
    let name = logKind(line);
    // The shared kind is one of the MAX_KINDS.
    if (!this.kinds.has(name) && this.kinds.size >= MAX_KINDS - 1) name = OTHER_KIND;
    let k = this.kinds.get(name);
    if (k === undefined) this.kinds.set(name, k = { count: 0, written: 0, suppressed: 0, pending: 0, lastWrite: 0 });
    k.count++;
    const t = this.now();
    const { burst, intervalMs } = this.limits;
    if (k.written < burst) {
      k.written++;
      k.lastWrite = t;
      this.sink(k.written === burst ? `${line} (${burst} like this: from now on at most one every ${intervalMs} ms)` : line);
      return;
    }
    if (t - k.lastWrite >= intervalMs) {
      k.written++;
      k.lastWrite = t;
      this.sink(k.pending > 0 ? `${line} (${k.pending} more like this suppressed)` : line);
      k.pending = 0;
      return;
    }
    k.pending++;
    k.suppressed++;
  }

  /** Writes, for each kind with messages suppressed since its last line,
   *  how many, and how many of that kind came in all. */
  flush(): void {
    for (const [name, k] of this.kinds) {
      if (k.pending === 0) continue;
      this.sink(`suppressed ${k.pending} more messages like "${name}" (${k.count} in all, ${k.suppressed} suppressed)`);
      k.pending = 0;
    }
  }

  /** Every kind of message so far, with its counts. */
  counts(): LogKindCount[] {
    return [...this.kinds].map(([kind, k]) => ({ kind, count: k.count, suppressed: k.suppressed }));
  }
}
