// Control socket server, owned by the daemon (agent/daemon.ts). Listens on a Unix socket,
// mode 0660 so only root and the service group can talk to it (docs/contracts.md §Files). A stale
// socket file left by a SIGKILLed daemon is removed before listening, but only after a
// connect attempt proves nobody is serving on it (two daemons must not steal the socket).
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { encode, LineBuffer, MAX_REQUEST_BYTES, parseRequest, type ControlMethod, type ControlResponse } from './protocol.js';

export type ControlHandlers = Record<ControlMethod, (params: Record<string, unknown>) => unknown | Promise<unknown>>;

export interface ControlServerOptions {
  path: string;
  handlers: ControlHandlers;
  /** File mode of the socket; default 0o660. */
  mode?: number;
  onError?(err: Error): void;
}

export class ControlSocketInUseError extends Error {
  override readonly name = 'ControlSocketInUseError';
}

function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class ControlServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly o: ControlServerOptions) {}

  get path(): string {
    return this.o.path;
  }

  async start(): Promise<void> {
    const { path } = this.o;
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    if (await someoneListens(path)) throw new ControlSocketInUseError(`control socket ${path} is served by another process (is a second daemon running?)`);
    rmSync(path, { force: true });
    const server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, this.o.mode ?? 0o660);
    server.on('error', (e) => this.o.onError?.(e));
    this.server = server;
  }

  private serve(sock: Socket): void {
    this.sockets.add(sock);
    sock.setEncoding('utf8');
    const lines = new LineBuffer(MAX_REQUEST_BYTES);
    // Requests on one connection are answered in order.
    let chain: Promise<void> = Promise.resolve();
    sock.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) chain = chain.then(() => this.answer(sock, line));
      if (lines.overflow) {
        sock.end(encode({ id: 0, ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` }));
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.sockets.delete(sock));
  }

  private async answer(sock: Socket, line: string): Promise<void> {
    const req = parseRequest(line);
    let res: ControlResponse;
    if ('error' in req) res = { id: req.id, ok: false, error: req.error };
    else {
      try {
        res = { id: req.id, ok: true, result: await this.o.handlers[req.method](req.params ?? {}) };
      } catch (e) {
        res = { id: req.id, ok: false, error: (e as Error).message };
      }
    }
    if (!sock.destroyed) sock.write(encode(res));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.o.path, { force: true });
  }
}
