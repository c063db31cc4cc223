/**
 * A VM's control API (issue 14): HTTP/1.1 with JSON bodies on a Unix socket,
 * in Firecracker's vocabulary (`PATCH /vm`, `PUT /snapshot/create`,
 * `{"fault_message"}`), serving one ControlTarget. docs/API.md is the user's
 * side of it; this file is the rules a request must pass before the target
 * sees it:
 *
 * - the route and method (404, 405 with Allow), then the body's size (413,
 *   refused from Content-Length before a byte of it is read), its media
 *   type (415), its JSON and its fields (400, for unknown, missing or
 *   mistyped ones and bad names). A request refused here never calls the
 *   target.
 * - Calls to the target are serialised: one at a time, in the order their
 *   requests were complete (headers and body read). The VM runs on this
 *   thread and a snapshot pauses it, so two calls at once could only
 *   interleave halfway through. A request is queued only once its body is
 *   read, so a slow client holds nothing but its own connection, and the
 *   headers and request timeouts end such a connection.
 * - A ControlError from the target passes its status and message through;
 *   anything else it throws is a bug: logged, and a 500.
 *
 * The socket is created with mode 0600 and never reachable with a wider
 * one: it is bound inside a fresh private directory (mode 0700, next to the
 * requested path), chmod-ed there, and hard-linked to the requested path,
 * which link(2) refuses atomically if the path exists. An existing path is
 * refused (ControlApiSocketError) unless it is a stale socket of ours: a
 * socket owned by this user on which nobody listens (connect(2) refused),
 * which a VM that died without close() leaves behind; that one is removed.
 * (Firecracker refuses any existing path; we refuse everything else, a live
 * socket above all, and a regular file is never removed.)
 */

import { chmodSync, linkSync, lstatSync, mkdtempSync, rmdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { ControlError, isCheckpointName, type ControlTarget } from '../hypervisor/control.js';

/** Tuning of the server; every field optional. */
export interface ControlApiOptions {
  /** The largest request body accepted, in bytes (default 64 KiB): a larger one is a 413. */
  maxBodyBytes?: number;
  /** How long a client may take to send a request's headers, in ms (default 10 000): then a 408 and the connection is closed. */
  headersTimeoutMs?: number;
  /** How long a client may take to send a whole request, headers and body, in ms (default 30 000; at least headersTimeoutMs). */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept, in ms (default 5 000). */
  keepAliveTimeoutMs?: number;
  /** Connections open at once (default 64): more are refused by the kernel's backlog then dropped. */
  maxConnections?: number;
  /** Requests waiting for the target at once (default 64): one more is a 503. */
  maxPendingRequests?: number;
  /** Where target bugs (500s) and the removal of a stale socket are reported (default console.error). */
  log?: (message: string) => void;
}

/** A running control API server. */
export interface ControlApiServer {
  /** The socket's path, absolute. */
  readonly socketPath: string;
  /** Requests read and waiting for the target or at it now. */
  pendingRequests(): number;
  /** Stops accepting connections and removes the socket file at once (if it
   *  is still ours); lets the requests already queued finish and their
   *  answers go out (waiting at most a second for a client that does not
   *  read its answer); answers requests that arrive meanwhile with a 503;
   *  then closes every connection, cutting requests still being received.
   *  Idempotent. */
  close(): Promise<void>;
}

/** Why the server could not start on a path. */
export type ControlApiSocketProblem = 'exists' | 'in-use' | 'path-too-long' | 'listen';

export class ControlApiSocketError extends Error {
  constructor(readonly socketPath: string, readonly problem: ControlApiSocketProblem, message: string) {
    super(message);
    this.name = 'ControlApiSocketError';
  }
}

const DEFAULTS = {
  maxBodyBytes: 64 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 64,
  maxPendingRequests: 64,
};

// sun_path is 108 bytes on Linux, NUL included.
const MAX_SOCKET_PATH_BYTES = 107;
const MAX_SNAPSHOT_PATH = 4096;

/** Starts the API on `socketPath` for `target`; resolves once clients can connect. */
export function serveControlApi(socketPath: string, target: ControlTarget, options: ControlApiOptions = {}): Promise<ControlApiServer> {
  return serveApi({ socket: socketPath }, vmRoutes(target), options);
}

/** Where an API listens: a Unix socket (mode 0600), or TCP, which needs a
 *  token every request must carry (`Authorization: Bearer TOKEN`). */
export type ApiListen = { socket: string } | { tcp: { host: string; port: number; token: string } };

/** What a server built on this file serves: its resources, the calls they
 *  make, and which calls wait for which (`queue`: calls of one queue run one
 *  at a time, in order; different queues run side by side). */
export interface ApiRoutes<C> {
  route(path: string): Route<C> | undefined;
  ask(call: C): Promise<Answer>;
  queue(call: C): string;
  /** A request to switch protocols (RFC 9110's Upgrade): true if taken. */
  upgrade?(path: string, req: IncomingMessage, socket: Socket, head: Buffer): boolean;
}

/** What a call answers: a status and a JSON value, text of a content type,
 *  or a stream that stays open (written until the client goes away). */
export type Answer =
  | [number, unknown]
  | { status: number; text: string; contentType: string }
  | { status: number; contentType: string; stream: (write: (chunk: string) => boolean, onClose: (f: () => void) => void) => void };

/** Starts an API serving `routes`; resolves once clients can connect. */
export async function serveApi<C>(listen: ApiListen, routes: ApiRoutes<C>, options: ControlApiOptions = {}): Promise<ControlApiServer> {
  const o = { ...DEFAULTS, ...withoutUndefined(options) };
  for (const k of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    if (!Number.isSafeInteger(o[k]) || o[k] <= 0) throw new RangeError(`${k} must be a positive integer, not ${o[k]}`);
  }
  if (o.requestTimeoutMs < o.headersTimeoutMs) throw new RangeError(`requestTimeoutMs (${o.requestTimeoutMs}) must be at least headersTimeoutMs (${o.headersTimeoutMs})`);
  const log = options.log ?? ((m: string) => console.error(m));
  const tcp = 'tcp' in listen ? listen.tcp : undefined;
  if (tcp && (typeof tcp.token !== 'string' || tcp.token.length < 16)) throw new RangeError('a TCP API needs a token of at least 16 characters');
  const path = 'socket' in listen ? resolve(listen.socket) : `${tcp!.host}:${tcp!.port}`;
  if ('socket' in listen && Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new ControlApiSocketError(path, 'path-too-long', `API socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a Unix socket's limit)`);
  }

  const api = new ApiHandler(routes, o.maxBodyBytes, o.maxPendingRequests, log, tcp?.token);
  const server = createServer({
    headersTimeout: o.headersTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    // How often the two timeouts above are checked (Node's default is 30 s,
    // which would let a slow client outstay a short timeout by that much).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(o.headersTimeoutMs / 4))),
    maxHeaderSize: 16 * 1024,
  });
  server.maxConnections = o.maxConnections;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => api.handle(req, res, false));
  // A client that sends `Expect: 100-continue` is told to go on only once
  // its headers have passed every check, so an oversized body is refused
  // before it is sent.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => api.handle(req, res, true));
  server.on('clientError', onClientError);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => api.upgrade(req, socket, head));

  const identity = tcp ? undefined : await listenPrivately(server, path, log);
  if (tcp) {
    await new Promise<void>((resolveListen, rejectListen) => {
      const onError = (e: Error) => rejectListen(new ControlApiSocketError(path, 'listen', `cannot listen on ${path}: ${e.message}`));
      server.once('error', onError);
      server.listen(tcp.port, tcp.host, () => { server.off('error', onError); resolveListen(); });
    });
  }
  // Errors of the listening socket from now on (accept failing with EMFILE,
  // say): without a listener Node would end the whole process, VM included.
  server.on('error', (e: Error) => log(`ringvisor: control API socket ${path}: ${e.message}`));
  let closing: Promise<void> | undefined;
  const address = server.address();
  return {
    socketPath: tcp && address && typeof address === 'object' ? `${address.address}:${address.port}` : path,
    pendingRequests: () => api.pending,
    close(): Promise<void> {
      closing ??= (async () => {
        api.closing = true;
        if (identity) removeIfOurs(path, identity);
        api.endStreams();
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        await api.drained();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------
// The socket

interface FileIdentity { dev: number; ino: number }

/** Binds `server` to `path` with mode 0600 throughout (see the file's comment). */
async function listenPrivately(server: Server, path: string, log: (m: string) => void): Promise<FileIdentity> {
  // Fail early, before making anything, when the path is plainly taken.
  await refuseUnlessFreeOrStale(path, log);
  let dir: string;
  try {
    dir = mkdtempSync(join(dirname(path), '.rv-api-'));
  } catch (e) {
    throw new ControlApiSocketError(path, 'listen', `cannot create the API socket ${path}: ${(e as Error).message}`);
  }
  // The private name is short so that it fits wherever the requested one does.
  const privateName = join(dir, 's');
  try {
    if (Buffer.byteLength(privateName) > MAX_SOCKET_PATH_BYTES) {
      throw new ControlApiSocketError(path, 'path-too-long', `API socket path ${path}: its directory's name is too long for a Unix socket (${privateName})`);
    }
    await new Promise<void>((resolveListen, rejectListen) => {
      const onError = (e: Error) => rejectListen(new ControlApiSocketError(path, 'listen', `cannot listen on the API socket ${path}: ${e.message}`));
      server.once('error', onError);
      server.listen(privateName, () => { server.off('error', onError); resolveListen(); });
    });
    chmodSync(privateName, 0o600);
    try {
      linkSync(privateName, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new ControlApiSocketError(path, 'listen', `cannot create the API socket ${path}: ${(e as Error).message}`);
      // Someone made the path since the first look: look again, once.
      await refuseUnlessFreeOrStale(path, log);
      try {
        linkSync(privateName, path);
      } catch (e2) {
        throw new ControlApiSocketError(path, 'exists', `cannot create the API socket ${path}: ${(e2 as Error).message}`);
      }
    }
    const st = lstatSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch (e) {
    if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    if (e instanceof ControlApiSocketError) throw e;
    throw new ControlApiSocketError(path, 'listen', `cannot create the API socket ${path}: ${(e as Error).message}`);
  } finally {
    try { unlinkSync(privateName); } catch { /* not bound, or already gone */ }
    try { rmdirSync(dir); } catch { /* nothing we can do; it is empty and private */ }
  }
}

/** Resolves when `path` does not exist or was a stale socket of ours (now
 *  removed); throws a ControlApiSocketError for anything else. */
async function refuseUnlessFreeOrStale(path: string, log: (m: string) => void): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ControlApiSocketError(path, 'exists', `cannot look at the API socket path ${path}: ${(e as Error).message}`);
  }
  if (!st.isSocket()) throw new ControlApiSocketError(path, 'exists', `API socket path ${path} exists and is not a socket; refusing to replace it`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new ControlApiSocketError(path, 'exists', `API socket path ${path} is a socket of user ${st.uid}, not ours; refusing to replace it`);
  }
  const answer = await probe(path);
  if (answer === 'listening') throw new ControlApiSocketError(path, 'in-use', `API socket ${path} is in use: something listens on it`);
  if (answer !== 'ECONNREFUSED') throw new ControlApiSocketError(path, 'exists', `API socket path ${path} exists and cannot be probed (${answer}); refusing to replace it`);
  // Remove it only if it is still the socket that refused us.
  try {
    const again = lstatSync(path);
    if (again.ino !== st.ino || again.dev !== st.dev) throw new Error('it changed while it was being probed');
    unlinkSync(path);
  } catch (e) {
    throw new ControlApiSocketError(path, 'exists', `cannot remove the stale API socket ${path}: ${(e as Error).message}`);
  }
  log(`ringvisor: removed the stale API socket ${path} (nothing listened on it)`);
}

function probe(path: string): Promise<string> {
  return new Promise((r) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); r('listening'); });
    s.once('error', (e: NodeJS.ErrnoException) => { s.destroy(); r(e.code ?? e.message); });
  });
}

function removeIfOurs(path: string, id: FileIdentity): void {
  try {
    const st = lstatSync(path);
    if (st.dev === id.dev && st.ino === id.ino) unlinkSync(path);
  } catch { /* already gone */ }
}

// ---------------------------------------------------------------------------
// HTTP

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 408: 'Request Timeout', 409: 'Conflict', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** A request the HTTP parser refused (garbage, oversized headers, a timeout):
 *  answered with a fault_message unless a response on the connection has
 *  begun (its bytes and ours would mix), then the connection is closed.
 *  Never throws. */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // Node's own handler makes the same check on the same internal field.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408
      : err.code === 'HPE_CONTENT_LENGTH_TOO_LARGE' ? 413 : 400;
    const what = status === 408 ? 'the request was not received in time' : `malformed HTTP request (${err.code ?? 'parse error'})`;
    const body = JSON.stringify({ fault_message: what });
    socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroySoon();
}

/** A refusal of the request itself, before the target is called. */
export class Refusal {
  constructor(readonly status: number, readonly message: string, readonly headers: Record<string, string> = {}) {}
}

type SnapshotType = 'Full' | 'Diff';

/** A request to a VM's API that passed every check: what to ask the target. */
export type VmCall =
  | { op: 'info' }
  | { op: 'pause' }
  | { op: 'resume' }
  | { op: 'snapshot'; path: string; type: SnapshotType }
  | { op: 'list' }
  | { op: 'take'; name: string }
  | { op: 'apply'; name: string }
  | { op: 'delete'; name: string }
  | { op: 'metrics' }
  | { op: 'balloon' }
  | { op: 'set-balloon'; amountMib: number }
  | { op: 'balloon-statistics' };

/** One resource: its allowed methods and, for each, whether it takes a
 *  JSON body and the call a checked request makes (a Refusal otherwise). */
export interface Route<C> {
  methods: Record<string, { body: boolean; call: (body: unknown) => C }>;
}

/** A VM's API (docs/API.md) over one ControlTarget, calls one at a time. */
export function vmRoutes(target: ControlTarget): ApiRoutes<VmCall> {
  return { route: vmRoute, ask: (c) => askVm(target, c), queue: () => 'vm' };
}

/** The resource of a VM's API at `path`, if there is one. */
export function vmRoute(path: string): Route<VmCall> | undefined {
  switch (path) {
    case '/vm':
      return { methods: { GET: { body: false, call: () => ({ op: 'info' }) }, PATCH: { body: true, call: vmStateCall } } };
    case '/snapshot/create':
      return { methods: { PUT: { body: true, call: snapshotCall } } };
    case '/checkpoints':
      return { methods: { GET: { body: false, call: () => ({ op: 'list' }) }, POST: { body: true, call: takeCall } } };
    case '/metrics':
      return { methods: { GET: { body: false, call: () => ({ op: 'metrics' }) } } };
    case '/balloon':
      return { methods: { GET: { body: false, call: () => ({ op: 'balloon' }) }, PATCH: { body: true, call: balloonCall } } };
    case '/balloon/statistics':
      return { methods: { GET: { body: false, call: () => ({ op: 'balloon-statistics' }) } } };
  }
  const m = /^\/checkpoints\/([^/]+)(\/apply)?$/.exec(path);
  if (!m) return undefined;
  const encoded = m[1];
  // The name is checked only once the method is known to be right (a 405
  // says more than a 400 about the name of a request that could never work).
  const name = () => checkpointName(encoded);
  return m[2]
    ? { methods: { POST: { body: false, call: () => ({ op: 'apply', name: name() }) } } }
    : { methods: { DELETE: { body: false, call: () => ({ op: 'delete', name: name() }) } } };
}

function checkpointName(encoded: string): string {
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    throw new Refusal(400, `bad percent-encoding in checkpoint name ${JSON.stringify(encoded)}`);
  }
  if (!isCheckpointName(name)) throw new Refusal(400, badNameMessage(name));
  return name;
}

function badNameMessage(name: string): string {
  return `bad checkpoint name ${JSON.stringify(name)}: 1..64 characters of A-Z a-z 0-9, space and . _ : + @ -, starting with a letter or digit and not ending with a space`;
}

/** The body as an object with exactly the fields allowed, `required` among them. */
export function fields(body: unknown, what: string, allowed: string[], required: string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Refusal(400, `${what} takes a JSON object`);
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new Refusal(400, `unknown field ${JSON.stringify(k)} (${what} takes ${allowed.join(', ')})`);
  }
  for (const k of required) if (!(k in o)) throw new Refusal(400, `missing field ${JSON.stringify(k)} (${what})`);
  return o;
}

function vmStateCall(body: unknown): VmCall {
  const { state } = fields(body, 'PATCH /vm', ['state'], ['state']);
  if (state === 'Paused') return { op: 'pause' };
  if (state === 'Resumed') return { op: 'resume' };
  throw new Refusal(400, `"state" must be "Paused" or "Resumed", not ${JSON.stringify(state)}`);
}

function snapshotCall(body: unknown): VmCall {
  const o = fields(body, 'PUT /snapshot/create', ['snapshot_path', 'snapshot_type'], ['snapshot_path']);
  const path = o.snapshot_path;
  if (typeof path !== 'string' || path.length === 0 || path.length > MAX_SNAPSHOT_PATH || path.includes('\0')) {
    throw new Refusal(400, `"snapshot_path" must be a file name (a non-empty string of at most ${MAX_SNAPSHOT_PATH} characters, no NUL)`);
  }
  const type = o.snapshot_type ?? 'Full';
  if (type !== 'Full' && type !== 'Diff') throw new Refusal(400, `"snapshot_type" must be "Full" or "Diff", not ${JSON.stringify(type)}`);
  return { op: 'snapshot', path, type };
}

function balloonCall(body: unknown): VmCall {
  const { amount_mib: amount } = fields(body, 'PATCH /balloon', ['amount_mib'], ['amount_mib']);
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0 || amount > 4096) {
    throw new Refusal(400, `"amount_mib" must be a whole number of MiB from 0 to 4096, not ${JSON.stringify(amount)}`);
  }
  return { op: 'set-balloon', amountMib: amount };
}

function takeCall(body: unknown): VmCall {
  const { name } = fields(body, 'POST /checkpoints', ['name'], ['name']);
  if (typeof name !== 'string') throw new Refusal(400, `"name" must be a string, not ${JSON.stringify(name)}`);
  if (!isCheckpointName(name)) throw new Refusal(400, badNameMessage(name));
  return { op: 'take', name };
}

/** Whether the Content-Type names JSON (parameters allowed, a charset only utf-8). */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type, ...params] = contentType.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => !p.startsWith('charset=') || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

/** Serialises a target's answer: a bigint becomes a number when it is a safe
 *  integer, a decimal string otherwise (JSON has no bigints). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => typeof v === 'bigint'
    ? (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString())
    : v);
}

class ApiHandler<C> {
  /** Requests read and waiting for the target, or at it. */
  pending = 0;
  closing = false;
  /** Per queue, the last call queued (a queue is dropped once it is idle). */
  private readonly tails = new Map<string, Promise<void>>();
  /** Streams open now, each with how to end it. */
  private readonly streams = new Set<() => void>();
  /** Responses not yet closed, each with a promise of its 'close'. */
  private readonly responses = new Map<ServerResponse, Promise<void>>();
  /** Per connection, resolved once its latest request has joined the queue (or been refused). */
  private readonly lastOnConnection = new WeakMap<Socket, Promise<void>>();

  constructor(
    private readonly routes: ApiRoutes<C>,
    private readonly maxBodyBytes: number,
    private readonly maxPending: number,
    private readonly log: (m: string) => void,
    private readonly token?: string,
  ) {}

  /** Resolves when every queued call is done and the answers written have
   *  gone out, or `graceMs` later for a client that does not read its answer.
   *  A request whose body is still being read is not waited for. */
  async drained(graceMs = 1000): Promise<void> {
    await Promise.all(this.tails.values());
    const written = [...this.responses].filter(([res]) => res.writableEnded).map(([, done]) => done);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(written), new Promise<void>((r) => { timer = setTimeout(r, graceMs); })]);
    clearTimeout(timer);
  }

  /** Ends every open stream (the server is closing). */
  endStreams(): void {
    for (const end of [...this.streams]) end();
  }

  /** Whether the request carries the token (always, without one). */
  private authorised(req: IncomingMessage): boolean {
    if (this.token === undefined) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    const wanted = Buffer.from(`Bearer ${this.token}`);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  }

  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = req.url ?? '';
    const refuse = (status: number, message: string) => {
      const body = fault(message);
      socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    socket.on('error', () => { /* the client went away */ });
    if (!this.authorised(req)) { refuse(401, 'a valid token is needed (Authorization: Bearer TOKEN)'); return; }
    if (this.closing) { refuse(503, 'the API server is shutting down'); return; }
    try {
      if (!this.routes.upgrade?.(url, req, socket, head)) refuse(404, `nothing to upgrade to at ${url.slice(0, 200)}`);
    } catch (e) {
      if (e instanceof Refusal) refuse(e.status, e.message);
      else if (e instanceof ControlError) refuse(e.status, e.message);
      else { this.log(`ringvisor: API upgrade: ${e instanceof Error ? e.stack ?? e.message : String(e)}`); refuse(500, 'internal error'); }
    }
  }

  handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const done = new Promise<void>((r) => res.once('close', r));
    this.responses.set(res, done);
    void done.then(() => this.responses.delete(res));
    res.on('error', () => { /* the client went away; nothing to tell it */ });
    this.serve(req, res, expectsContinue).catch((e: unknown) => {
      // Only a bug in this file gets here; the target's errors are caught in call().
      this.log(`ringvisor: control API: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      send(res, 500, fault('internal error in the control API server'));
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    // Requests pipelined on one connection join the queue in their order,
    // though a later one may be read first (one without a body is complete
    // as soon as its headers are; a body is read asynchronously).
    const previous = this.lastOnConnection.get(req.socket);
    let joined!: () => void;
    this.lastOnConnection.set(req.socket, new Promise<void>((r) => { joined = r; }));
    try {
      let call: C;
      try {
        if (!this.authorised(req)) throw new Refusal(401, 'a valid token is needed (Authorization: Bearer TOKEN)', { 'WWW-Authenticate': 'Bearer' });
        call = await this.parse(req, res, expectsContinue);
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        // A body left unread (or never sent, after a refused 100-continue)
        // would be taken for the next request: end the connection instead.
        const headers = req.complete ? e.headers : { ...e.headers, Connection: 'close' };
        send(res, e.status, fault(e.message), headers);
        return;
      }
      await previous;
      if (this.closing) { send(res, 503, fault('the API server is shutting down'), { Connection: 'close' }); return; }
      if (this.pending >= this.maxPending) { send(res, 503, fault(`too many requests waiting for the VM (${this.pending})`)); return; }
      const answer = this.enqueue(call);
      joined();
      const a = await answer;
      if ('stream' in a) this.stream(res, a);
      else send(res, a.status, a.text, a.contentType === undefined ? {} : { 'Content-Type': a.contentType });
    } finally {
      joined();
    }
  }

  /** Checks the request in the order of docs/API.md and reads its body. */
  private async parse(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<C> {
    const url = req.url ?? '';
    if (!url.startsWith('/')) throw new Refusal(400, `bad request target ${JSON.stringify(url.slice(0, 200))}`);
    if (url.includes('?') || url.includes('#')) throw new Refusal(400, 'query strings are not accepted');
    const route = this.routes.route(url);
    if (!route) throw new Refusal(404, `no such resource: ${url.slice(0, 200)}`);
    const method = route.methods[req.method ?? ''];
    if (!method) {
      const allow = Object.keys(route.methods).join(', ');
      throw new Refusal(405, `${req.method} is not allowed on ${url} (allowed: ${allow})`, { Allow: allow });
    }

    const declared = req.headers['content-length'];
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined && length > this.maxBodyBytes) {
      throw new Refusal(413, `request body of ${length} bytes is over the limit of ${this.maxBodyBytes}`, { Connection: 'close' });
    }
    const hasBody = (length !== undefined && length > 0) || req.headers['transfer-encoding'] !== undefined;
    if (method.body && !isJson(req.headers['content-type'])) {
      throw new Refusal(415, `${req.method} ${url} takes a body of Content-Type application/json, not ${JSON.stringify(req.headers['content-type'] ?? 'none')}`);
    }
    if (expectsContinue && hasBody) res.writeContinue();
    const bytes = hasBody ? await readBody(req, this.maxBodyBytes) : Buffer.alloc(0);
    if (bytes === 'too-large') throw new Refusal(413, `request body is over the limit of ${this.maxBodyBytes} bytes`, { Connection: 'close' });
    if (!method.body) {
      if (bytes.length > 0) throw new Refusal(400, `${req.method} ${url} takes no body`);
      return method.call(undefined);
    }
    if (bytes.length === 0) throw new Refusal(400, `${req.method} ${url} takes a JSON body; it was empty`);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new Refusal(400, 'request body is not UTF-8');
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new Refusal(400, `request body is not JSON: ${(e as Error).message}`);
    }
    return method.call(body);
  }

  /** Runs `call` after every call queued before it on its queue. */
  private enqueue(call: C): Promise<Serialised> {
    this.pending++;
    const key = this.routes.queue(call);
    const result = (this.tails.get(key) ?? Promise.resolve()).then(() => this.call(call));
    const tail = result.then(() => {
      this.pending--;
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    this.tails.set(key, tail);
    return result;
  }

  /** Asks the routes and serialises the answer; never rejects. */
  private async call(c: C): Promise<Serialised> {
    try {
      const a = await this.routes.ask(c);
      if (Array.isArray(a)) return { status: a[0], text: a[1] === undefined ? undefined : toJson(a[1]) };
      return a;
    } catch (e) {
      if (e instanceof ControlError && Number.isInteger(e.status) && e.status >= 400 && e.status <= 599) {
        return { status: e.status, text: fault(e.message) };
      }
      const op = typeof c === 'object' && c !== null && 'op' in c ? String(c.op) : 'a call';
      this.log(`ringvisor: control API: the control target failed on ${op}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      return { status: 500, text: fault(`internal error: ${e instanceof Error ? e.message : String(e)}`) };
    }
  }

  // A streamed answer: chunked, until the client or the server ends it.
  private stream(res: ServerResponse, a: Extract<Answer, { stream: unknown }>): void {
    if (res.headersSent || res.destroyed || res.writableEnded) return;
    res.writeHead(a.status, { 'Content-Type': a.contentType, 'Cache-Control': 'no-store' });
    const closers: (() => void)[] = [];
    const end = () => {
      if (!this.streams.delete(end)) return;
      for (const f of closers) f();
      if (!res.writableEnded) res.end();
    };
    this.streams.add(end);
    res.once('close', end);
    a.stream((chunk) => (res.writableEnded ? false : res.write(chunk)), (f) => closers.push(f));
  }
}

/** A call's answer, ready to send: JSON (or text of `contentType`), or a stream. */
type Serialised = { status: number; text: string | undefined; contentType?: string } | Extract<Answer, { stream: unknown }>;

/** Asks a VM's control target for a checked call of its API. */
export async function askVm(t: ControlTarget, c: VmCall): Promise<Answer> {
  switch (c.op) {
    case 'info': return [200, await t.info()];
    case 'pause': await t.pause(); return [204, undefined];
    case 'resume': await t.resume(); return [204, undefined];
    case 'snapshot': return [200, await t.snapshot(c.path, c.type)];
    case 'list': return [200, await t.listCheckpoints()];
    case 'take': return [201, await t.takeCheckpoint(c.name)];
    case 'apply': await t.applyCheckpoint(c.name); return [204, undefined];
    case 'delete': await t.deleteCheckpoint(c.name); return [204, undefined];
    case 'metrics': return [200, await t.metrics()];
    case 'balloon': return [200, await t.balloon()];
    case 'set-balloon': await t.setBalloon(c.amountMib); return [204, undefined];
    case 'balloon-statistics': return [200, await t.balloonStatistics()];
  }
}

/** Reads the body, stopping (and pausing the request) once it is over `limit`. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolveBody, rejectBody) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const finish = (v: Buffer | 'too-large' | Error) => {
      req.off('data', onData); req.off('end', onEnd); req.off('error', onError); req.off('aborted', onAborted);
      if (v instanceof Error) rejectBody(new Refusal(400, `request body not received: ${v.message}`)); else resolveBody(v);
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > limit) { req.pause(); finish('too-large'); return; }
      chunks.push(c);
    };
    const onEnd = () => finish(Buffer.concat(chunks, n));
    const onError = (e: Error) => finish(e);
    const onAborted = () => finish(new Error('the client went away'));
    req.on('data', onData); req.once('end', onEnd); req.once('error', onError); req.once('aborted', onAborted);
  });
}

/** Every error's body, as Firecracker words it. */
function fault(message: string): string {
  return JSON.stringify({ fault_message: message });
}

/** Writes a response (`text` is JSON, unless headers name another
 *  Content-Type) unless the connection is gone. */
function send(res: ServerResponse, status: number, text: string | undefined, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return;
  const { 'Content-Type': type = 'application/json', ...rest } = headers;
  for (const [k, v] of Object.entries(rest)) res.setHeader(k, v);
  if (text === undefined) {
    res.writeHead(status);
    res.end();
  } else {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}
