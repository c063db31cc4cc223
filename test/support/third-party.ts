// Where guests/third-party/build.sh leaves the programs nobody here wrote:
// <cache>/third-party/<pkg>.json says where each build is (test/shell.test.ts,
// test/third-party.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const THIRD_PARTY_CACHE = join(process.env.RINGVISOR_CACHE ?? join(homedir(), '.cache', 'ringvisor'), 'third-party');
/** What builds them. */
export const THIRD_PARTY_BUILD = 'bash guests/third-party/build.sh';

/** What build.sh recorded for `pkg`, if the files named by `fields` of it
 *  (paths) are all there; undefined otherwise. */
export function findThirdParty<T extends object>(pkg: string, fields: ReadonlyArray<keyof T & string>): T | undefined {
  const index = join(THIRD_PARTY_CACHE, `${pkg}.json`);
  if (!existsSync(index)) return undefined;
  const b = JSON.parse(readFileSync(index, 'utf8')) as T;
  return fields.every((f) => typeof b[f] === 'string' && existsSync(b[f] as string)) ? b : undefined;
}
