// Control socket client for `gatewarden status|diag|support-bundle`. A missing socket or
// a refused connection means "the daemon is not running" (ControlUnavailableError), which
// callers handle by doing the work themselves; anything else is a real error.
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { encode, LineBuffer, type ControlMethod, type ControlResponse } from './protocol.js';

/** Where the daemon listens: `control.socket`, else `<stateDir>/control.sock`. */
export function controlSocketPath(config: Pick<Config, 'control' | 'stateDir'>): string {
  return config.control.socket ?? join(config.stateDir, 'control.sock');
}

export class ControlUnavailableError extends Error {
  override readonly name = 'ControlUnavailableError';
}

const UNAVAILABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK']);

export function controlRequest<T = unknown>(path: string, method: ControlMethod, timeoutMs = 30_000, params?: Record<string, unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const sock = connect(path);
    const lines = new LineBuffer(64 * 1024 * 1024);
    let done = false;
    const finish = (err: Error | null, value?: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value as T);
    };
    const timer = setTimeout(() => finish(new Error(`control socket ${path}: no answer to "${method}" within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write(encode({ id: 1, method, ...(params ? { params } : {}) })));
    sock.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        let res: ControlResponse;
        try {
          res = JSON.parse(line) as ControlResponse;
        } catch {
          finish(new Error(`control socket ${path}: answer is not JSON`));
          return;
        }
        if (res.ok) finish(null, res.result as T);
        else finish(new Error(`daemon: ${res.error}`));
      }
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code && UNAVAILABLE.has(e.code)) finish(new ControlUnavailableError(`daemon not running (no control socket at ${path}: ${e.code})`));
      else if (e.code === 'EACCES') finish(new Error(`permission denied on ${path}: run as root or a member of the gatewarden group`));
      else finish(e);
    });
    sock.once('close', () => finish(new Error(`control socket ${path}: closed before answering`)));
  });
}
