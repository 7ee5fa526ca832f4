// TLS to cameras that serve ONVIF over HTTPS (ONVIF Core §5.12.1, transport-level
// security). The connection is opened and its certificate judged *before* one byte of
// HTTP is written, so a camera that fails the check never sees a UsernameToken, a Digest
// answer or a Basic password. Policies, in order of preference:
//   certSha256  the camera's own (usually self-signed) leaf certificate, pinned by its
//               SHA-256 fingerprint; chain and host name are then not required
//   caFile      a private CA; chain and host name (IP SAN) must verify against it
//   (neither)   the system CAs and the host name, as any HTTPS client
//   insecure    nothing is checked; only when asked for, warned at start and in diag
// caFile and certSha256 together: both must hold.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

export interface CameraTlsConfig {
  caFile?: string;
  certSha256?: string;
  insecure: boolean;
}

/** How one camera's certificate is judged. `ca` is filled from `caFile` on first use. */
export interface TlsPolicy {
  /** Camera id, named in every error. */
  camera: string;
  caFile?: string;
  ca?: Buffer;
  /** 64 upper-case hex digits, no colons. */
  pin?: string;
  insecure: boolean;
}

/** The certificate was presented but is not the one this camera is trusted with. */
export class TlsTrustError extends Error {
  override readonly name = 'TlsTrustError';
  constructor(
    message: string,
    /** SHA-256 fingerprint of the presented certificate (AB:CD:…), for the pin hint. */
    readonly fingerprint: string | null,
  ) {
    super(message);
  }
}

export function tlsPolicy(camera: string, cfg: CameraTlsConfig | undefined): TlsPolicy {
  return {
    camera,
    insecure: cfg?.insecure ?? false,
    ...(cfg?.caFile ? { caFile: cfg.caFile } : {}),
    ...(cfg?.certSha256 ? { pin: normaliseFingerprint(cfg.certSha256) } : {}),
  };
}

export function normaliseFingerprint(s: string): string {
  return s.replace(/[\s:]/g, '').toUpperCase();
}

/** AB:CD:… as `openssl x509 -fingerprint -sha256` and browsers print it. */
export function formatFingerprint(hex: string): string {
  return normaliseFingerprint(hex).replace(/(..)(?!$)/g, '$1:');
}

/** One line for diag and logs: how this camera's certificate is checked. */
export function describeTls(p: TlsPolicy): string {
  if (p.insecure) return 'certificate NOT verified (tls.insecure: true)';
  const parts: string[] = [];
  if (p.pin) parts.push(`certificate pinned (SHA-256 ${formatFingerprint(p.pin)})`);
  if (p.caFile) parts.push(`chain and host name verified against ${p.caFile}`);
  return parts.length ? parts.join('; ') : 'chain and host name verified against the system CAs';
}

const WRONG_PROTOCOL = /wrong version number|packet length too long|http request|unknown protocol/i;

/**
 * Open a TLS connection and apply the policy. Resolves with a socket on which nothing has
 * been written yet; rejects with TlsTrustError (certificate refused) or a plain Error
 * naming the camera (connect/handshake failure, unreadable caFile).
 */
export function connectTls(o: { host: string; port: number; policy: TlsPolicy; signal?: AbortSignal }): Promise<TLSSocket> {
  const p = o.policy;
  const where = `camera ${p.camera} (${o.host}:${o.port})`;
  return new Promise((resolve, reject) => {
    if (p.caFile && !p.ca) {
      try {
        p.ca = readFileSync(p.caFile);
      } catch (e) {
        reject(new Error(`TLS: ${where}: cannot read tls.caFile ${p.caFile}: ${(e as Error).message}`));
        return;
      }
    }
    // Checks are made below, after the handshake and before any write, so that every
    // refusal gets one clear message; rejectUnauthorized stays false for that reason only.
    const sock = connect({
      host: o.host,
      port: o.port,
      ...(isIP(o.host) ? {} : { servername: o.host }),
      ...(p.ca ? { ca: p.ca } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      sock.removeListener('error', onError);
      if (err) {
        sock.destroy();
        reject(err);
      } else {
        // Errors after this point belong to the HTTP request that takes the socket over.
        sock.on('error', () => undefined);
        resolve(sock);
      }
    };
    const onAbort = (): void => finish(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
    const onError = (e: Error & { reason?: string }): void => {
      // OpenSSL errors carry a one-line `reason`; their message is a multi-line dump.
      const why = e.reason ?? e.message.trim().split('\n')[0];
      const hint = WRONG_PROTOCOL.test(why) ? ' (is this port plain HTTP? use scheme: http or the camera\'s HTTPS port)' : '';
      finish(new Error(`TLS: ${where}: ${why}${hint}`));
    };
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', onError);
    sock.once('secureConnect', () => {
      const cert = sock.getPeerCertificate();
      const fp = cert && cert.fingerprint256 ? cert.fingerprint256 : null;
      if (p.insecure) return finish(null);
      if (!fp) return finish(new TlsTrustError(`TLS: ${where} presented no certificate`, null));
      const chainRequired = !p.pin || p.caFile !== undefined;
      if (chainRequired && !sock.authorized) {
        const why = String(sock.authorizationError ?? 'unknown reason');
        const fix = p.caFile
          ? `the certificate does not verify against tls.caFile ${p.caFile}`
          : 'set tls.caFile to the CA that signed it, or pin the camera\'s own certificate with';
        return finish(
          new TlsTrustError(
            `TLS: ${where}: certificate not trusted (${why}); ${fix}${p.caFile ? '' : ` tls.certSha256: "${fp}" after checking it on the camera`}`,
            fp,
          ),
        );
      }
      if (p.pin && normaliseFingerprint(fp) !== p.pin) {
        return finish(new TlsTrustError(`TLS: ${where}: certificate SHA-256 ${fp} does not match tls.certSha256 ${formatFingerprint(p.pin)} (new camera certificate, or not the camera)`, fp));
      }
      finish(null);
    });
  });
}
