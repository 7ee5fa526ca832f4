// Typed errors of the pure OSDP layers. Callers (the CP session, the driver, fuzz tests)
// rely on these being the ONLY exceptions the codecs throw for bad input: anything else
// escaping a decoder is a bug.

/** Why a byte sequence is not a well-formed OSDP frame (OSDP v2.2 §5, packet format). */
export type FrameErrorKind =
  | 'too-short'
  | 'bad-som'
  | 'bad-length'
  | 'length-mismatch'
  | 'bad-crc'
  | 'bad-checksum'
  | 'bad-scb'
  | 'missing-mac'
  | 'bad-field';

export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly kind: FrameErrorKind,
    message: string,
    /** Byte offset inside the frame (SOM = 0) where the problem was found. */
    readonly offset: number,
  ) {
    super(`${kind} at offset ${offset}: ${message}`);
  }
}

/** A command/reply payload that does not match its code's layout (OSDP v2.2 §6, §7). */
export class OsdpParseError extends Error {
  override readonly name = 'OsdpParseError';
  constructor(
    /** Command or reply code whose payload was being parsed. */
    readonly code: number,
    /** Field being read when the problem was found. */
    readonly field: string,
    /** Byte offset inside the payload (first data byte = 0). */
    readonly offset: number,
    message: string,
  ) {
    super(`code 0x${code.toString(16).padStart(2, '0')} ${field} at data offset ${offset}: ${message}`);
  }
}

/** Secure Channel failures (OSDP v2.2 Annex D). `kind` tells the CP what to do next. */
export type SecureChannelErrorKind =
  | 'bad-state'
  | 'unexpected-reply'
  | 'client-cryptogram-mismatch'
  | 'server-cryptogram-rejected'
  | 'rmac-i-mismatch'
  | 'mac-mismatch'
  | 'bad-padding'
  | 'bad-scb'
  | 'plaintext-in-session'
  | 'bad-key';

export class SecureChannelError extends Error {
  override readonly name = 'SecureChannelError';
  constructor(
    readonly kind: SecureChannelErrorKind,
    message: string,
  ) {
    super(`${kind}: ${message}`);
  }
}
