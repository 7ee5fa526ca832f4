// Secure Channel primitives (OSDP v2.2 Annex D), AES-128 from node:crypto. Pure functions;
// state (which MAC is "previous") lives in SecureSession. Checked against the spec's
// Annex E values and three captured libosdp sessions in test/vectors/osdp.json.
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { SecureChannelError } from '../errors.js';

export const BLOCK = 16;

/** SCBK-D, the well-known install-mode key 0x30..0x3F (Annex D). */
export const SCBK_D: Buffer = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');

export interface SessionKeys {
  sEnc: Buffer;
  sMac1: Buffer;
  sMac2: Buffer;
}

function assertLen(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new SecureChannelError('bad-key', `${what} must be ${n} bytes (got ${b.length})`);
}

function aesEcb(key: Uint8Array, block: Uint8Array): Buffer {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

function aesCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array, decrypt = false): Buffer {
  const c = decrypt ? createDecipheriv('aes-128-cbc', key, iv) : createCipheriv('aes-128-cbc', key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** Constant-time equality for cryptograms and MACs. */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Bitwise NOT of a block: the encryption IV is ~(previous MAC) (Annex D). */
export function invert(block: Uint8Array): Buffer {
  return Buffer.from(block.map((b) => ~b & 0xff));
}

/**
 * Session keys (Annex D): each is AES-128-ECB(SCBK, 01 <k> RND.A[0..5] 00×8)
 * with k = 0x82 for S-ENC, 0x01 for S-MAC1, 0x02 for S-MAC2.
 */
export function deriveSessionKeys(scbk: Uint8Array, rndA: Uint8Array): SessionKeys {
  assertLen(scbk, 16, 'SCBK');
  assertLen(rndA, 8, 'RND.A');
  const derive = (k: number): Buffer => {
    const block = Buffer.alloc(BLOCK);
    block[0] = 0x01;
    block[1] = k;
    Buffer.from(rndA).copy(block, 2, 0, 6);
    return aesEcb(scbk, block);
  };
  return { sEnc: derive(0x82), sMac1: derive(0x01), sMac2: derive(0x02) };
}

/** Client (PD) cryptogram: AES(S-ENC, RND.A ‖ RND.B). Proves the PD holds the SCBK. */
export function clientCryptogram(sEnc: Uint8Array, rndA: Uint8Array, rndB: Uint8Array): Buffer {
  return aesEcb(sEnc, Buffer.concat([rndA, rndB]));
}

/** Server (CP) cryptogram: AES(S-ENC, RND.B ‖ RND.A). */
export function serverCryptogram(sEnc: Uint8Array, rndA: Uint8Array, rndB: Uint8Array): Buffer {
  return aesEcb(sEnc, Buffer.concat([rndB, rndA]));
}

/** Initial R-MAC: AES(S-MAC2, AES(S-MAC1, server cryptogram)). Seeds the MAC chain. */
export function initialRmac(keys: SessionKeys, serverCrypt: Uint8Array): Buffer {
  return aesEcb(keys.sMac2, aesEcb(keys.sMac1, serverCrypt));
}

/** Derive a per-PD SCBK from a master key and the PD's cUID (Annex D, diversified keys). */
export function deriveScbk(masterKey: Uint8Array, cuid: Uint8Array): Buffer {
  assertLen(masterKey, 16, 'master key');
  assertLen(cuid, 8, 'cUID');
  return aesEcb(masterKey, Buffer.concat([cuid, invert(cuid)]));
}

/**
 * Message MAC (Annex D): CBC-MAC over the message (SOM..last data byte), padded with
 * 0x80 00.. only when its length is not a multiple of 16 (as libosdp and the captured
 * sessions do). Blocks 1..N-1 use S-MAC1, the last block S-MAC2; the IV is the previous
 * MAC in the chain (R-MAC for a command, C-MAC for a reply). Returns all 16 bytes; the
 * frame carries the first 4.
 */
export function computeMac(keys: SessionKeys, iv: Uint8Array, message: Uint8Array): Buffer {
  assertLen(iv, BLOCK, 'MAC IV');
  const padded = Buffer.alloc(Math.max(BLOCK, Math.ceil(message.length / BLOCK) * BLOCK));
  Buffer.from(message).copy(padded);
  if (message.length % BLOCK !== 0 || message.length === 0) padded[message.length] = 0x80;
  let chain: Uint8Array = iv;
  if (padded.length > BLOCK) {
    const head = aesCbc(keys.sMac1, iv, padded.subarray(0, padded.length - BLOCK));
    chain = head.subarray(head.length - BLOCK);
  }
  return aesCbc(keys.sMac2, chain, padded.subarray(padded.length - BLOCK));
}

/**
 * Encrypt a data block (Annex D): append 0x80, zero-pad to 16, AES-128-CBC with S-ENC
 * and IV = ~(previous MAC) — for a command the last R-MAC, for a reply the last C-MAC.
 */
export function encryptData(sEnc: Uint8Array, previousMac: Uint8Array, plain: Uint8Array): Buffer {
  assertLen(previousMac, BLOCK, 'previous MAC');
  const padded = Buffer.alloc((Math.floor(plain.length / BLOCK) + 1) * BLOCK);
  Buffer.from(plain).copy(padded);
  padded[plain.length] = 0x80;
  return aesCbc(sEnc, invert(previousMac), padded);
}

/** Inverse of encryptData; strips the 0x80 00.. padding. Throws SecureChannelError('bad-padding'). */
export function decryptData(sEnc: Uint8Array, previousMac: Uint8Array, cipher: Uint8Array): Buffer {
  assertLen(previousMac, BLOCK, 'previous MAC');
  if (cipher.length === 0 || cipher.length % BLOCK !== 0) {
    throw new SecureChannelError('bad-padding', `encrypted data of ${cipher.length} bytes is not a positive multiple of 16`);
  }
  const plain = aesCbc(sEnc, invert(previousMac), cipher, true);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0x00) end--;
  if (end < 0 || plain[end] !== 0x80 || plain.length - end > BLOCK) {
    throw new SecureChannelError('bad-padding', 'decrypted data does not end in 0x80 00..');
  }
  return plain.subarray(0, end);
}
