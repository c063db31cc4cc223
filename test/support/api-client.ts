// A client for the control API's tests: node:http over the Unix socket, one
// connection per request (no agent), and raw sockets for what HTTP clients
// would refuse to send.
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (undefined when empty). */
  json: unknown;
}

export interface ApiRequestOptions {
  /** A value sent as JSON (with Content-Type application/json), or raw bytes/text sent as given. */
  body?: unknown;
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export function apiRequest(socketPath: string, method: string, path: string, opts: ApiRequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  let payload: string | Buffer | undefined = opts.raw;
  if (opts.body !== undefined) {
    payload = JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  }
  if (payload !== undefined) headers['Content-Length'] ??= String(Buffer.byteLength(payload));
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The fault_message of an error response. */
export function faultOf(r: ApiResponse): string {
  const m = (r.json as { fault_message?: unknown } | undefined)?.fault_message;
  if (typeof m !== 'string') throw new Error(`no fault_message in ${r.status} ${r.text}`);
  return m;
}

/** A raw connection: write bytes, collect everything the server sends until it closes (or `timeoutMs`). */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves with everything received once the server has closed the connection. */
  closed: Promise<string>;
}

export function rawConnect(socketPath: string): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let got = '';
    const closed = new Promise<string>((r) => socket.on('close', () => r(got)));
    socket.on('data', (c: Buffer) => { got += c.toString('latin1'); });
    socket.once('error', () => { /* a reset after the server's answer is fine: 'close' follows */ });
    socket.once('connect', () => resolve({ socket, received: () => got, closed }));
    socket.once('error', reject);
  });
}

/** Sends `bytes` on a fresh connection, half-closes it, and returns everything the server answered. */
export async function rawExchange(socketPath: string, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  const c = await rawConnect(socketPath);
  c.socket.end(bytes);
  const timer = setTimeout(() => c.socket.destroy(), timeoutMs);
  try {
    return await c.closed;
  } finally {
    clearTimeout(timer);
  }
}

/** The status code of the first HTTP response in raw bytes (0 when none). */
export function rawStatus(text: string): number {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return m ? Number(m[1]) : 0;
}
