// User and group ids: real, effective and saved, per process (kernel/sys.c).
// A process VM starts as root (uid and gid 0, as its auxv says); a process
// may drop to other ids as Linux lets it (root sets any; others only to ids
// they already have), and a new process inherits them. The ids decide what
// the process may do to other processes' limits (RLIMIT_NPROC counts the
// processes of a real uid that is not root); file access in the sandbox is
// the host's and does not change with them.
import { EINVAL, EPERM } from '../errno.js';
import type { SyscallFamily } from '../syscalls.js';
import type { ProcessVM } from '../process-vm.js';

export interface Ids {
  ruid: number; euid: number; suid: number;
  rgid: number; egid: number; sgid: number;
}

export const ROOT_IDS: Readonly<Ids> = { ruid: 0, euid: 0, suid: 0, rgid: 0, egid: 0, sgid: 0 };

const NONE = 0xffff_ffff; // (uid_t)-1: "leave it"

function id(v: bigint): number {
  return Number(v & 0xffff_ffffn);
}

// setresuid/setresgid: each new id must be -1, or (unless privileged) one
// of the three current ones.
function setThree(p: ProcessVM, group: boolean, r: number, e: number, s: number): bigint {
  const ids = p.ids;
  const cur = group ? [ids.rgid, ids.egid, ids.sgid] : [ids.ruid, ids.euid, ids.suid];
  // CAP_SETUID/CAP_SETGID: an effective uid of 0.
  const privileged = ids.euid === 0;
  for (const v of [r, e, s]) if (v !== NONE && !privileged && !cur.includes(v)) return -BigInt(EPERM);
  const next = cur.map((old, i) => ([r, e, s][i] === NONE ? old : [r, e, s][i]));
  if (group) [ids.rgid, ids.egid, ids.sgid] = next;
  else [ids.ruid, ids.euid, ids.suid] = next;
  return 0n;
}

// setuid(uid): privileged, all three; otherwise the effective one, if it is
// the real or saved one.
function setOne(p: ProcessVM, group: boolean, v: number): bigint {
  if (v === NONE) return -BigInt(EINVAL);
  const ids = p.ids;
  if (ids.euid === 0) return setThree(p, group, v, v, v);
  const [r, s] = group ? [ids.rgid, ids.sgid] : [ids.ruid, ids.suid];
  if (v !== r && v !== s) return -BigInt(EPERM);
  return setThree(p, group, NONE, v, NONE);
}

// setreuid(r, e): the saved id follows the effective one when the real one
// is set or the effective one differs from the old real one.
function setTwo(p: ProcessVM, group: boolean, r: number, e: number): bigint {
  const ids = p.ids;
  const [oldR, oldE, oldS] = group ? [ids.rgid, ids.egid, ids.sgid] : [ids.ruid, ids.euid, ids.suid];
  if (ids.euid !== 0) {
    if (r !== NONE && r !== oldR && r !== oldE) return -BigInt(EPERM);
    if (e !== NONE && e !== oldR && e !== oldE && e !== oldS) return -BigInt(EPERM);
  }
  const newR = r === NONE ? oldR : r;
  const newE = e === NONE ? oldE : e;
  const newS = r !== NONE || (e !== NONE && e !== oldR) ? newE : oldS;
  if (group) [ids.rgid, ids.egid, ids.sgid] = [newR, newE, newS];
  else [ids.ruid, ids.euid, ids.suid] = [newR, newE, newS];
  return 0n;
}

function getThree(p: ProcessVM, group: boolean, [rp, ep, sp]: bigint[]): bigint {
  const ids = p.ids;
  const [r, e, s] = group ? [ids.rgid, ids.egid, ids.sgid] : [ids.ruid, ids.euid, ids.suid];
  p.user.write32(rp, r);
  p.user.write32(ep, e);
  p.user.write32(sp, s);
  return 0n;
}

export const ID_SYSCALLS: SyscallFamily = [
  [143, { name: 'setregid', argc: 2, handler: (p, [r, e]) => setTwo(p, true, id(r), id(e)) }],
  [144, { name: 'setgid', argc: 1, handler: (p, [g]) => setOne(p, true, id(g)) }],
  [145, { name: 'setreuid', argc: 2, handler: (p, [r, e]) => setTwo(p, false, id(r), id(e)) }],
  [146, { name: 'setuid', argc: 1, handler: (p, [u]) => setOne(p, false, id(u)) }],
  [147, { name: 'setresuid', argc: 3, handler: (p, [r, e, s]) => setThree(p, false, id(r), id(e), id(s)) }],
  [148, { name: 'getresuid', argc: 3, handler: (p, a) => getThree(p, false, a) }],
  [149, { name: 'setresgid', argc: 3, handler: (p, [r, e, s]) => setThree(p, true, id(r), id(e), id(s)) }],
  [150, { name: 'getresgid', argc: 3, handler: (p, a) => getThree(p, true, a) }],
  [174, { name: 'getuid', argc: 0, handler: (p) => BigInt(p.ids.ruid) }],
  [175, { name: 'geteuid', argc: 0, handler: (p) => BigInt(p.ids.euid) }],
  [176, { name: 'getgid', argc: 0, handler: (p) => BigInt(p.ids.rgid) }],
  [177, { name: 'getegid', argc: 0, handler: (p) => BigInt(p.ids.egid) }],
];
