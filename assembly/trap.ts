// How an instruction stops the run loop: it records why, and the loop, which
// knows the pc and instruction bits, completes the exit block and returns.
import {
  EXIT_REASON, EXIT_CAUSE, EXIT_ADDR, EXIT_FAULT, EXIT_NONE,
} from './layout';

// Non-zero once the current instruction has ended the run. A wasm global, not
// guest state: it only lives for the duration of one `run` call.
export let pendingExit: u32 = EXIT_NONE;

@inline export function clearPendingExit(): void {
  pendingExit = EXIT_NONE;
}

// Ends the run with `reason`; the instruction must not change any state after
// calling this (exits are precise).
export function requestExit(reason: u32): void {
  pendingExit = reason;
  store<u32>(EXIT_REASON, reason);
}

// A synchronous exception (privileged spec cause code and tval). With no
// supervisor to deliver it to yet, every exception is a FAULT exit.
export function raiseException(cause: u32, tval: u64): void {
  pendingExit = EXIT_FAULT;
  store<u32>(EXIT_REASON, EXIT_FAULT);
  store<u32>(EXIT_CAUSE, cause);
  store<u64>(EXIT_ADDR, tval);
}
