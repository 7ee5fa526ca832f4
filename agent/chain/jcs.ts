// RFC 8785 JSON Canonicalization Scheme: the bytes that are hashed and signed.
// `canonicalize` implements the RFC (ES6 number serialisation, UTF-16 key order).
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';

const canonicalize = canonicalizeModule as unknown as (v: unknown) => string | undefined;

export function jcs(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new Error('value cannot be canonicalized (undefined)');
  return s;
}

export function b64url(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('base64url');
}

/** base64url SHA-256 of the given canonical bytes: the `prev` of the next body. */
export function hashJcs(canonical: string | Uint8Array): string {
  return createHash('sha256').update(canonical).digest('base64url');
}
