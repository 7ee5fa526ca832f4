// The local control protocol (docs/contracts.md §Files): newline-delimited JSON over a Unix socket.
// One request per line `{"id":1,"method":"status"}`, one response line per request
// `{"id":1,"ok":true,"result":{…}}` or `{"id":1,"ok":false,"error":"…"}`. Access control
// is the socket file's mode (0660, group gatewarden): whoever can connect may read
// status and run diagnostics. The one method that acts, `reload`, does what SIGHUP does
// (re-read the config file the daemon was started with) and answers with the outcome;
// `key-rotate` rotates the gateway key (agent/key-rotation.ts: a new epoch under a new
// key, announced under the old one) and answers with the old and new kid; nothing else
// changes state, and no request carries config or paths.

export const CONTROL_METHODS = ['status', 'diag', 'spool-stats', 'health', 'reload', 'key-rotate'] as const;
export type ControlMethod = (typeof CONTROL_METHODS)[number];

export interface ControlRequest {
  id: number;
  method: ControlMethod;
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
  const o = v as { id?: unknown; method?: unknown };
  const id = typeof o.id === 'number' && Number.isSafeInteger(o.id) ? o.id : 0;
  if (!isControlMethod(o.method)) return { id, error: `unknown method ${JSON.stringify(o.method)} (known: ${CONTROL_METHODS.join(', ')})` };
  return { id, method: o.method };
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
