// The test PD's own Secure Channel arithmetic (OSDP v2.2 Annex D), written from the spec
// independently of drivers/osdp/sc so that a CP bug in key derivation, MAC chaining or
// padding cannot be mirrored by the peer. Checked against test/vectors/osdp.json in
// test/integration/osdp-peer.test.ts.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export const PD_SCBK_D = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');

function ecb(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

function cbc(key: Buffer, iv: Buffer, data: Buffer, decrypt = false): Buffer {
  const c = (decrypt ? createDecipheriv('aes-128-cbc', key, iv) : createCipheriv('aes-128-cbc', key, iv)).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

export interface PdKeys {
  enc: Buffer;
  mac1: Buffer;
  mac2: Buffer;
}

/** Annex D: S-ENC = E(SCBK, 01 82 RND.A[0..5] 0…), S-MAC1 with 01 01, S-MAC2 with 01 02. */
export function pdSessionKeys(scbk: Buffer, rndA: Buffer): PdKeys {
  const block = (second: number): Buffer => Buffer.concat([Buffer.from([0x01, second]), rndA.subarray(0, 6), Buffer.alloc(8)]);
  return { enc: ecb(scbk, block(0x82)), mac1: ecb(scbk, block(0x01)), mac2: ecb(scbk, block(0x02)) };
}

export const pdClientCryptogram = (k: PdKeys, rndA: Buffer, rndB: Buffer): Buffer => ecb(k.enc, Buffer.concat([rndA, rndB]));
export const pdServerCryptogram = (k: PdKeys, rndA: Buffer, rndB: Buffer): Buffer => ecb(k.enc, Buffer.concat([rndB, rndA]));
export const pdInitialRmac = (k: PdKeys, serverCryptogram: Buffer): Buffer => ecb(k.mac2, ecb(k.mac1, serverCryptogram));

/** CBC-MAC: pad 0x80 00.. only when not block aligned; S-MAC1 for all blocks but the last (S-MAC2). */
export function pdMac(k: PdKeys, iv: Buffer, msg: Buffer): Buffer {
  let m = msg;
  if (m.length % 16 !== 0 || m.length === 0) {
    const padLen = 16 - (m.length % 16);
    m = Buffer.concat([m, Buffer.from([0x80]), Buffer.alloc(padLen - 1)]);
  }
  let chain = iv;
  for (let off = 0; off < m.length; off += 16) {
    const key = off + 16 === m.length ? k.mac2 : k.mac1;
    chain = ecb(key, Buffer.from(chain.map((b, i) => b ^ m[off + i])));
  }
  return chain;
}

const not = (b: Buffer): Buffer => Buffer.from(b.map((x) => ~x & 0xff));

/** Data block encryption: 0x80-pad (always), AES-CBC S-ENC, IV = ~previous MAC. */
export function pdEncrypt(k: PdKeys, prevMac: Buffer, plain: Buffer): Buffer {
  const padLen = 16 - (plain.length % 16);
  return cbc(k.enc, not(prevMac), Buffer.concat([plain, Buffer.from([0x80]), Buffer.alloc(padLen - 1)]));
}

export function pdDecrypt(k: PdKeys, prevMac: Buffer, cipher: Buffer): Buffer | undefined {
  if (cipher.length === 0 || cipher.length % 16) return undefined;
  const p = cbc(k.enc, not(prevMac), cipher, true);
  const end = p.lastIndexOf(0x80);
  if (end < 0 || p.subarray(end + 1).some((b) => b !== 0)) return undefined;
  return p.subarray(0, end);
}
