// Snapshot fetch (Media §5.15.3 GetSnapshotUri → HTTP(S) GET) with HTTP Digest
// (RFC 7616: MD5 / SHA-256, qop=auth) or Basic (RFC 7617) auth, a byte cap, SHA-256,
// and an atomic write to disk. The image never enters an event: only hash, size, path.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { snapshotFileName } from './retention.js';
import { httpExchange } from './soap.js';
import type { TlsPolicy } from './tls.js';

export interface SnapshotOptions {
  url: string;
  username: string;
  password: string;
  maxBytes: number;
  timeoutMs: number;
  /** Directory for this camera's images. */
  dir: string;
  now: () => number;
  signal?: AbortSignal;
  /** The camera's certificate policy, for https snapshot URIs. */
  tls?: TlsPolicy;
}

export interface Snapshot {
  sha256: string;
  size: number;
  path: string;
  contentType: string;
}

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

/** Parse `Digest realm="x", nonce="y", qop="auth"` (quoted or token values). */
export function parseChallenge(h: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(h);
  const params: Record<string, string> = {};
  if (!m) return { scheme: '', params };
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let x = re.exec(m[2]); x; x = re.exec(m[2])) params[x[1].toLowerCase()] = x[2] !== undefined ? x[2].replace(/\\(.)/g, '$1') : x[3];
  return { scheme: m[1].toLowerCase(), params };
}

export function digestAuthorization(opts: { method: string; uri: string; username: string; password: string; challenge: Record<string, string>; cnonce?: string; nc?: number }): string {
  const ch = opts.challenge;
  const algo = (ch.algorithm ?? 'MD5').toUpperCase();
  const hname = algo.startsWith('SHA-256') ? 'sha256' : 'md5';
  const H = (s: string): string => createHash(hname).update(s, 'utf8').digest('hex');
  const cnonce = opts.cnonce ?? randomBytes(8).toString('hex');
  const nc = (opts.nc ?? 1).toString(16).padStart(8, '0');
  let ha1 = H(`${opts.username}:${ch.realm ?? ''}:${opts.password}`);
  if (algo.endsWith('-SESS')) ha1 = H(`${ha1}:${ch.nonce}:${cnonce}`);
  const ha2 = H(`${opts.method}:${opts.uri}`);
  const qop = ch.qop?.split(',').map((q) => q.trim()).includes('auth') ? 'auth' : undefined;
  const response = qop ? H(`${ha1}:${ch.nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : H(`${ha1}:${ch.nonce}:${ha2}`);
  const parts = [`username="${opts.username}"`, `realm="${ch.realm ?? ''}"`, `nonce="${ch.nonce ?? ''}"`, `uri="${opts.uri}"`, `response="${response}"`, `algorithm=${ch.algorithm ?? 'MD5'}`];
  if (ch.opaque !== undefined) parts.push(`opaque="${ch.opaque}"`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  return `Digest ${parts.join(', ')}`;
}

/** GET with at most one auth round trip. Throws SnapshotError with the reason. */
export async function fetchImage(o: Omit<SnapshotOptions, 'dir' | 'now'>): Promise<{ body: Buffer; contentType: string }> {
  const u = new URL(o.url);
  const uri = `${u.pathname}${u.search}`;
  // Credentials embedded in the URI (some cameras return them) are stripped and replaced by configured ones.
  u.username = '';
  u.password = '';
  const get = (authorization?: string) =>
    httpExchange({ url: u.toString(), method: 'GET', headers: authorization ? { authorization } : {}, timeoutMs: o.timeoutMs, maxBytes: o.maxBytes, signal: o.signal, tls: o.tls });
  let res = await get();
  if (res.status === 401) {
    const raw = res.headers['www-authenticate'];
    const challenges = (Array.isArray(raw) ? raw : raw ? [raw] : []).map(parseChallenge);
    const digest = challenges.find((c) => c.scheme === 'digest');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (digest) res = await get(digestAuthorization({ method: 'GET', uri, username: o.username, password: o.password, challenge: digest.params }));
    else if (basic) res = await get(`Basic ${Buffer.from(`${o.username}:${o.password}`, 'utf8').toString('base64')}`);
  }
  if (res.status === 401) throw new SnapshotError(`snapshot ${uri}: authentication failed`);
  if (res.status !== 200) throw new SnapshotError(`snapshot ${uri}: HTTP ${res.status}`);
  const ct = String(res.headers['content-type'] ?? '');
  if (!/^image\//i.test(ct)) throw new SnapshotError(`snapshot ${uri}: not an image (content-type ${ct || 'none'})`);
  return { body: res.body, contentType: ct.split(';')[0].trim() };
}

export async function takeSnapshot(o: SnapshotOptions): Promise<Snapshot> {
  const { body, contentType } = await fetchImage(o);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const ext = contentType === 'image/jpeg' ? 'jpg' : contentType.slice(6).replace(/[^a-z0-9]/gi, '').slice(0, 16) || 'img';
  const name = snapshotFileName(o.now(), sha256, ext);
  await mkdir(o.dir, { recursive: true, mode: 0o750 });
  const final = join(o.dir, name);
  const tmp = `${final}.tmp-${process.pid}`;
  await writeFile(tmp, body, { mode: 0o640 });
  await rename(tmp, final);
  return { sha256, size: body.length, path: final, contentType };
}
