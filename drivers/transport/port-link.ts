// A SessionLink over a BytePort (serial device or in-process end): a session is one open
// of the port, ended by the port closing (unplugged adapter, socat gone). The first bytes
// received prove the session (the line carries something); a quiet line is proven by
// minStableMs instead.
import type { SessionHandle } from './link.js';
import type { BytePort } from './types.js';

/** A session function for SessionLink: open `port`, up, wait until it closes or the link stops. */
export interface PortSessionHooks {
  /** After each open, before up (reset parsers). */
  opened?(): void;
  /** The loss reason from the port's close error message (default `<path>: line lost (<why>)`). */
  lossReason?(why: string): string;
}

export function portSession(port: BytePort, hooks: PortSessionHooks = {}): (h: SessionHandle) => Promise<void> {
  let closed: ((err?: Error) => void) | null = null;
  let proveNext: (() => void) | null = null;
  port.onClose((err) => closed?.(err));
  port.onData(() => {
    const p = proveNext;
    proveNext = null;
    p?.();
  });
  return async (h) => {
    if (!port.isOpen) await port.open();
    const ended = new Promise<Error | undefined>((resolve) => {
      closed = resolve;
      h.signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    proveNext = () => h.proved();
    hooks.opened?.();
    h.up();
    const err = await ended;
    closed = null;
    proveNext = null;
    if (h.signal.aborted) return;
    const why = err ? err.message : 'closed';
    throw new Error(hooks.lossReason ? hooks.lossReason(why) : `${port.path}: line lost (${why})`);
  };
}
