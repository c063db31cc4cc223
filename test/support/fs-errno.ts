// The errno of a file-system operation, for tests that expect refusals.
import { FsError } from '../../src/linux/fs/types.js';

/** errno of a GuestFs or FileSystem operation, or 0 when it succeeds. */
export function errnoOf(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof FsError) return e.errno;
    throw e;
  }
}
