import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientCryptogram,
  computeMac,
  decryptData,
  deriveSessionKeys,
  encryptData,
  initialRmac,
  invert,
  SCBK_D,
  serverCryptogram,
} from '../../drivers/osdp/sc/crypto.js';
import type { SessionKeys } from '../../drivers/osdp/sc/crypto.js';
import { SecureSession } from '../../drivers/osdp/sc/session.js';
import { decodeFrame, encodeFrame, macInput, Scs } from '../../drivers/osdp/phy/frame.js';
import type { Frame } from '../../drivers/osdp/phy/frame.js';
import { SecureChannelError } from '../../drivers/osdp/errors.js';
import { hex, osdpVectors } from '../helpers/osdp-vectors.js';
import type { Handshake, OsdpVector } from '../helpers/osdp-vectors.js';

const V = osdpVectors();
const byId = new Map(V.vectors.map((v) => [v.id, v]));
const get = (id: string): OsdpVector => byId.get(id)!;
const sessions = ['sc', 'scbkd', 'scbkd_rekeyed'] as const;
const handshakeOf = (prefix: string): Handshake => get(`${prefix}.rmac_i`).handshake!;
const keysOf = (h: Handshake): SessionKeys => ({ sEnc: hex(h.s_enc), sMac1: hex(h.s_mac1), sMac2: hex(h.s_mac2) });

function scError(fn: () => unknown, kind: string): void {
  assert.throws(fn, (e: unknown) => e instanceof SecureChannelError && e.kind === kind);
}

test('Annex E: SCBK-D session keys, cryptograms, RMAC-I', () => {
  const a = V.annex_e.scbk_d_session;
  assert.deepEqual(SCBK_D, hex(a.scbk_d));
  const k = deriveSessionKeys(SCBK_D, hex(a.rnd_a));
  assert.equal(k.sEnc.toString('hex'), a.s_enc);
  assert.equal(k.sMac1.toString('hex'), a.s_mac1);
  assert.equal(k.sMac2.toString('hex'), a.s_mac2);
  assert.equal(clientCryptogram(k.sEnc, hex(a.rnd_a), hex(a.rnd_b)).toString('hex'), a.client_cryptogram);
  const sc = serverCryptogram(k.sEnc, hex(a.rnd_a), hex(a.rnd_b));
  assert.equal(sc.toString('hex'), a.server_cryptogram);
  assert.equal(initialRmac(k, sc).toString('hex'), a.rmac_i);
});

test('captured handshakes: keys, cryptograms, RMAC-I from SCBK + RND.A/RND.B', () => {
  assert.equal(handshakeOf('sc').scbk, V.keys.scbk_sc_capture);
  assert.equal(handshakeOf('scbkd').scbk, V.keys.scbk_d);
  assert.equal(handshakeOf('scbkd_rekeyed').scbk, V.keys.scbk_set_by_keyset_in_scbkd_capture);
  for (const p of sessions) {
    const h = handshakeOf(p);
    const rndA = hex(h.rnd_a_cp_random);
    const rndB = hex(h.rnd_b_pd_random);
    const k = deriveSessionKeys(hex(h.scbk), rndA);
    assert.deepEqual(k, keysOf(h), p);
    assert.equal(clientCryptogram(k.sEnc, rndA, rndB).toString('hex'), h.client_cryptogram, p);
    assert.equal(serverCryptogram(k.sEnc, rndA, rndB).toString('hex'), h.server_cryptogram, p);
    assert.equal(initialRmac(k, hex(h.server_cryptogram)).toString('hex'), h.rmac_i, p);
  }
});

/** Replay a captured handshake through SecureSession; CP frames must be byte-exact. */
function replayHandshake(prefix: string): SecureSession {
  const h = handshakeOf(prefix);
  const useScbkD = prefix === 'scbkd';
  const s = new SecureSession(useScbkD ? { useScbkD } : { scbk: hex(h.scbk) });
  const chlngWire = decodeFrame(hex(get(`${prefix}.chlng`).hex));
  const chlng = s.challenge({ address: 0x65, sqn: chlngWire.sqn, rndA: hex(h.rnd_a_cp_random) });
  assert.equal(encodeFrame(chlng).toString('hex'), get(`${prefix}.chlng`).hex, `${prefix} CHLNG`);
  assert.equal(s.state, 'challenged');
  const scryptWire = decodeFrame(hex(get(`${prefix}.scrypt`).hex));
  const scrypt = s.onCcrypt(decodeFrame(hex(get(`${prefix}.ccrypt`).hex)), { sqn: scryptWire.sqn });
  assert.equal(encodeFrame(scrypt).toString('hex'), get(`${prefix}.scrypt`).hex, `${prefix} SCRYPT`);
  assert.equal(s.cuid?.toString('hex'), V.pd_identity.cuid);
  s.onRmacI(decodeFrame(hex(get(`${prefix}.rmac_i`).hex)));
  assert.equal(s.state, 'established');
  assert.equal(s.counters.handshakes, 1);
  assert.deepEqual(s.sessionKeys, keysOf(h));
  return s;
}

test('SecureSession replays all three captured sessions byte-exact (handshake + first exchange)', () => {
  // sc: POLL (SCS_15) → ACK (SCS_16) are the first secure frames after RMAC_I.
  let s = replayHandshake('sc');
  let poll = decodeFrame(hex(get('sc.sec.poll_scs15').hex));
  assert.equal(s.wrapCommand(plain(poll)).toString('hex'), get('sc.sec.poll_scs15').hex);
  let ack = s.unwrapReply(decodeFrame(hex(get('sc.sec.ack_scs16').hex)));
  assert.equal(ack.code, 0x40);
  assert.equal(ack.protection, 'mac');
  // Install mode: SCBK-D session, then KEYSET (SCS_17, encrypted) → ACK.
  s = replayHandshake('scbkd');
  assert.equal(s.usesScbkD, true);
  const keyset = decodeFrame(hex(get('scbkd.sec.keyset_scs17').hex));
  const keysetPlain = { ...plain(keyset), data: hex(get('scbkd.sec.keyset_scs17').decrypted_data_hex!) };
  assert.equal(s.wrapCommand(keysetPlain).toString('hex'), get('scbkd.sec.keyset_scs17').hex);
  ack = s.unwrapReply(decodeFrame(hex(get('scbkd.sec.ack_scs16').hex)));
  assert.equal(ack.code, 0x40);
  // Re-keyed session with the SCBK set by KEYSET.
  s = replayHandshake('scbkd_rekeyed');
  poll = decodeFrame(hex(get('scbkd_rekeyed.sec.poll_scs15').hex));
  assert.equal(s.wrapCommand(plain(poll), { mark: true }).toString('hex'), `ff${get('scbkd_rekeyed.sec.poll_scs15').hex}`);
});

/** A secure frame stripped back to its plain form (data replaced by the caller if encrypted). */
function plain(f: Frame): Frame {
  return { address: f.address, reply: f.reply, sqn: f.sqn, useCrc: f.useCrc, code: f.code, data: f.data };
}

test('every SC frame: MAC, decrypted payload, and byte-exact re-wrap from its IVs', () => {
  const secure = V.vectors.filter((v) => v.mac_iv);
  assert.equal(secure.length, 12);
  for (const v of secure) {
    const keys = keysOf(handshakeOf(v.id.split('.')[0]));
    const iv = hex(v.mac_iv!);
    const wire = decodeFrame(hex(v.hex));
    assert.equal(computeMac(keys, iv, macInput(wire)).toString('hex'), v.mac_full, `${v.id} MAC`);
    const clear = v.decrypted_data_hex !== undefined ? hex(v.decrypted_data_hex) : wire.data;
    if (v.enc_iv) {
      assert.deepEqual(invert(iv), hex(v.enc_iv), `${v.id} enc IV = ~MAC IV`);
      assert.deepEqual(decryptData(keys.sEnc, iv, wire.data), clear, `${v.id} decrypt`);
      assert.deepEqual(encryptData(keys.sEnc, iv, clear), wire.data, `${v.id} re-encrypt`);
    }
    const plainFrame: Frame = { ...plain(wire), data: clear };
    if (v.direction === 'CP->PD') {
      const pd = SecureSession.resume({ keys, rMac: iv });
      const opened = pd.unwrapCommand(wire);
      assert.deepEqual(opened.data, clear, `${v.id} unwrapCommand`);
      const cp = SecureSession.resume({ keys, rMac: iv });
      assert.equal(cp.wrapCommand(plainFrame).toString('hex'), v.hex, `${v.id} wrapCommand`);
    } else {
      const cp = SecureSession.resume({ keys, rMac: Buffer.alloc(16), cMac: iv });
      const opened = cp.unwrapReply(wire);
      assert.deepEqual(opened.data, clear, `${v.id} unwrapReply`);
      const quirk = wire.scb?.type === Scs.SCS_15;
      assert.equal(opened.protection, quirk ? 'scs15-quirk' : v.enc_iv ? 'encrypted' : 'mac', v.id);
      assert.equal(cp.counters.scs15Replies, quirk ? 1 : 0);
      const pd = SecureSession.resume({ keys, rMac: Buffer.alloc(16), cMac: iv });
      assert.equal(pd.wrapReply(plainFrame, { scs15Quirk: quirk }).toString('hex'), v.hex, `${v.id} wrapReply`);
    }
  }
});

test('wrong SCBK: client cryptogram mismatch, session failed, nothing wraps', () => {
  const s = new SecureSession({ scbk: Buffer.alloc(16, 0x55) });
  s.challenge({ address: 0x65, sqn: 0, rndA: hex(handshakeOf('sc').rnd_a_cp_random) });
  scError(() => s.onCcrypt(decodeFrame(hex(get('sc.ccrypt').hex)), { sqn: 1 }), 'client-cryptogram-mismatch');
  assert.equal(s.state, 'failed');
  scError(() => s.wrapCommand(plain(decodeFrame(hex(get('plain.poll_ack.cmd').hex)))), 'bad-state');
  // A reader reset to SCBK-D answering a CP that uses its stored SCBK fails the same way.
  const t = new SecureSession({ scbk: hex(V.keys.scbk_sc_capture) });
  t.challenge({ address: 0x65, sqn: 1, rndA: hex(handshakeOf('scbkd').rnd_a_cp_random) });
  scError(() => t.onCcrypt(decodeFrame(hex(get('scbkd.ccrypt').hex)), { sqn: 2 }), 'client-cryptogram-mismatch');
});

test('handshake rejects NAK, wrong order, refused cryptogram and a forged RMAC-I', () => {
  const h = handshakeOf('sc');
  const fresh = (): SecureSession => {
    const s = new SecureSession({ scbk: hex(h.scbk) });
    s.challenge({ address: 0x65, sqn: 0, rndA: hex(h.rnd_a_cp_random) });
    return s;
  };
  scError(() => fresh().onCcrypt(decodeFrame(hex(get('plain.nak_sc.reply').hex)), { sqn: 1 }), 'unexpected-reply');
  scError(() => fresh().onRmacI(decodeFrame(hex(get('sc.rmac_i').hex))), 'bad-state');
  const rmac = decodeFrame(hex(get('sc.rmac_i').hex));
  let s = fresh();
  s.onCcrypt(decodeFrame(hex(get('sc.ccrypt').hex)), { sqn: 1 });
  scError(() => s.onRmacI({ ...rmac, scb: { type: Scs.SCS_14, data: Buffer.from([0xff]) } }), 'server-cryptogram-rejected');
  s = fresh();
  s.onCcrypt(decodeFrame(hex(get('sc.ccrypt').hex)), { sqn: 1 });
  const forged = Buffer.from(rmac.data);
  forged[0] ^= 1;
  scError(() => s.onRmacI({ ...rmac, data: forged }), 'rmac-i-mismatch');
  assert.equal(s.state, 'failed');
});

test('in session: tampered MAC, plaintext reply and bad SCB types fail the session', () => {
  const fresh = (): SecureSession => {
    const s = replayHandshake('sc');
    s.wrapCommand(plain(decodeFrame(hex(get('sc.sec.poll_scs15').hex))));
    return s;
  };
  const ack = decodeFrame(hex(get('sc.sec.ack_scs16').hex));
  let s = fresh();
  scError(() => s.unwrapReply({ ...ack, mac: Buffer.from('00000000', 'hex') }), 'mac-mismatch');
  assert.equal(s.counters.macFailures, 1);
  assert.equal(s.state, 'failed');
  s = fresh();
  scError(() => s.unwrapReply(decodeFrame(hex(get('plain.nak_sc.reply').hex))), 'plaintext-in-session');
  s = fresh();
  scError(() => s.unwrapReply({ ...ack, scb: { type: Scs.SCS_17, data: Buffer.alloc(0) } }), 'bad-scb');
  // A replayed reply (MAC chained from an older C-MAC) does not verify.
  s = fresh();
  s.unwrapReply(ack);
  s.wrapCommand(plain(decodeFrame(hex(get('sc.sec.poll_scs15').hex))));
  scError(() => s.unwrapReply(ack), 'mac-mismatch');
  scError(() => decryptData(keysOf(handshakeOf('sc')).sEnc, Buffer.alloc(16), Buffer.alloc(15)), 'bad-padding');
});

test('a retry re-wraps to the same bytes (MAC chain advances only on a reply)', () => {
  const s = replayHandshake('sc');
  const poll = plain(decodeFrame(hex(get('sc.sec.poll_scs15').hex)));
  const a = s.wrapCommand(poll);
  const b = s.wrapCommand(poll);
  assert.deepEqual(a, b);
});
