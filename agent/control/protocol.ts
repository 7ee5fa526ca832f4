// The local control protocol (docs/contracts.md §Files): newline-delimited JSON over a Unix socket.
// One request per line `{"id":1,"method":"status"}`, one response line per request
// `{"id":1,"ok":true,"result":{…}}` or `{"id":1,"ok":false,"error":"…"}`. Access control
// is the socket file's mode (0660, group gatewarden): whoever can connect may read
// status and run diagnostics. The one method that acts, `reload`, does what SIGHUP does
// (re-read the config file the daemon was started with) and answers with the outcome;
// `key-rotate` rotates the gateway key (agent/key-rotation.ts: a new epoch under a new
// key, announced under the old one) and answers with the old and new kid; nothing else
// changes state, and no request carries config or paths. `door-unlock` (params
// {door, forMs}) is the technician override of local access control: it opens one door for
// a bounded time and is recorded as a signed access.door.override (docs/access.md).

export const CONTROL_METHODS = ['status', 'diag', 'spool-stats', 'health', 'reload', 'key-rotate', 'door-unlock'] as const;
export type ControlMethod = (typeof CONTROL_METHODS)[number];

export interface ControlRequest {
  id: number;
  method: ControlMethod;
  /** Arguments of the methods that take any (`door-unlock`). */
  params?: Record<string, unknown>;
}

export type ControlResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** A request line longer than this is a protocol error (requests are tiny). */
export const MAX_REQUEST_BYTES = 4096;

export function isControlMethod(m: unknown): m is ControlMethod {
  return typeof m === 'string' && (CONTROL_METHODS as readonly string[]).includes(m);
}

/** Parse one request line; returns an error string instead of throwing. */
export function parseRequest(line: string): ControlRequest | { id: number; error: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { id: 0, error: 'request is not JSON' };
  }
  if (v === null || typeof v !== 'object') return { id: 0, error: 'request must be an object' };
  const o = v as { id?: unknown; method?: unknown; params?: unknown };
  const id = typeof o.id === 'number' && Number.isSafeInteger(o.id) ? o.id : 0;
  if (!isControlMethod(o.method)) return { id, error: `unknown method ${JSON.stringify(o.method)} (known: ${CONTROL_METHODS.join(', ')})` };
  const params = o.params !== null && typeof o.params === 'object' && !Array.isArray(o.params) ? (o.params as Record<string, unknown>) : undefined;
  return { id, method: o.method, ...(params ? { params } : {}) };
}

export function encode(msg: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(msg)}\n`;
}

/**
 * Splits a byte stream into lines. Returns complete lines and keeps the remainder;
 * `overflow` is set when an incomplete line grows past `max` bytes.
 */
export class LineBuffer {
  private buf = '';
  overflow = false;
  constructor(private readonly max: number) {}

  push(chunk: string): string[] {
    this.buf += chunk;
    const lines = this.buf.split('\n');
    this.buf = lines.pop() ?? '';
    if (this.buf.length > this.max) this.overflow = true;
    return lines.filter((l) => l.trim() !== '');
  }
}
