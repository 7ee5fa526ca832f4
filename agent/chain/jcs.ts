// RFC 8785 JSON Canonicalization Scheme: the bytes that are hashed and signed.
// `canonicalize` (≥ 4) implements the RFC (ES6 number serialisation, UTF-16 key order)
// and throws on NaN, ±Infinity and lone surrogates. It is the second line: observations
// and command bodies are checked at the boundary (agent/events/types.ts, agent/commands/)
// so a value RFC 8785 cannot hold never reaches the chain. test/vectors/jcs/ holds the
// vectors both this and an independent canonicaliser are tested against.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export function jcs(value: unknown): string {
  let s: string | undefined;
  try {
    s = canonicalize(value);
  } catch (e) {
    throw new Error(`value cannot be canonicalized under RFC 8785: ${(e as Error).message}`);
  }
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
