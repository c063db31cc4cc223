// The error every part of a checkpoint throws, in a file of its own so that
// the records' code (persist.ts, and the CPU's and devices' save/restore
// through it) does not pull in the container and its DEFLATE library.

/** What was wrong with a checkpoint or a record in it. */
export type CheckpointProblem =
  | 'bad-magic'
  | 'unsupported-version'
  | 'wrong-machine'
  | 'truncated'
  | 'trailing-bytes'
  | 'checksum'
  | 'duplicate-section'
  | 'unknown-section'
  | 'bad-section'
  | 'bad-record'
  | 'bad-argument'
  | 'wrong-base';

/** A checkpoint (or one record in it) that cannot be read or written. */
export class CheckpointError extends Error {
  constructor(
    readonly problem: CheckpointProblem,
    message: string,
    /** The byte offset where the problem is, when there is one. */
    readonly offset?: number,
    /** The section it is in, when there is one. */
    readonly section?: string,
  ) {
    super(`checkpoint: ${message}`);
    this.name = 'CheckpointError';
  }
}
