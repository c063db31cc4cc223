// Variables that make every Node process do work at its start which
// ringvisor never uses, taken out of the environment the benchmark's
// scripts pass on. NODE_EXTRA_CA_CERTS makes Node read and parse a
// certificate bundle before any script runs: the machine these figures come
// from sets it for its TLS proxy, and `node -e 0` took 96-100 ms with it
// and 36-38 ms without (bench/results/startup/2026-12-06-node-env-*.json),
// some 60-75 ms of every ringvisor process. ringvisor makes no TLS
// connection, and QEMU's peers run with an empty environment: the
// benchmark runs Node without these, and its results say which it removed
// (host.nodeVariablesRemoved in npm run bench's).
export const NODE_START_VARIABLES = ['NODE_EXTRA_CA_CERTS'];

/** Removes NODE_START_VARIABLES from this process's environment, which every
 *  process it starts inherits, and says so through `tell` (stderr by
 *  default) if any was set; returns the names that were. */
export function removeNodeStartVariables(tell = (line) => process.stderr.write(`${line}\n`)) {
  const removed = NODE_START_VARIABLES.filter((k) => process.env[k] !== undefined);
  for (const k of removed) delete process.env[k];
  if (removed.length > 0) tell(`Node runs without ${removed.join(', ')}, set here (bench/node-env.mjs)`);
  return removed;
}
