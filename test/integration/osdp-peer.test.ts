// Cross-checks of the test PD against test/vectors/osdp.json: its own Annex D
// arithmetic (session keys, cryptograms, RMAC-I, MACs, encrypted payloads) and its answer
// to the captured osdp_ID. If the CP and the peer ever agreed on a wrong derivation, these
// catch it; the CP's own layers are held to the same vectors in test/unit/osdp-sc.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, encodeFrame, macInput } from '../../drivers/osdp/phy/frame.js';
import { OsdpPd } from '../peers/osdp-pd.js';
import { PD_SCBK_D, pdClientCryptogram, pdDecrypt, pdInitialRmac, pdMac, pdServerCryptogram, pdSessionKeys, type PdKeys } from '../peers/osdp-pd-crypto.js';
import { hex, osdpVectors } from '../helpers/osdp-vectors.js';

const V = osdpVectors();

test('peer crypto: Annex E SCBK-D values and the three captured handshakes', () => {
  const a = V.annex_e.scbk_d_session;
  assert.equal(PD_SCBK_D.toString('hex'), a.scbk_d);
  const k = pdSessionKeys(PD_SCBK_D, hex(a.rnd_a));
  assert.equal(k.enc.toString('hex'), a.s_enc);
  assert.equal(pdClientCryptogram(k, hex(a.rnd_a), hex(a.rnd_b)).toString('hex'), a.client_cryptogram);
  const sc = pdServerCryptogram(k, hex(a.rnd_a), hex(a.rnd_b));
  assert.equal(pdInitialRmac(k, sc).toString('hex'), a.rmac_i);
  for (const p of ['sc', 'scbkd', 'scbkd_rekeyed']) {
    const h = V.vectors.find((v) => v.id === `${p}.rmac_i`)!.handshake!;
    const keys = pdSessionKeys(hex(h.scbk), hex(h.rnd_a_cp_random));
    assert.deepEqual([keys.enc, keys.mac1, keys.mac2].map((b) => b.toString('hex')), [h.s_enc, h.s_mac1, h.s_mac2], p);
    assert.equal(pdClientCryptogram(keys, hex(h.rnd_a_cp_random), hex(h.rnd_b_pd_random)).toString('hex'), h.client_cryptogram);
    assert.equal(pdInitialRmac(keys, hex(h.server_cryptogram)).toString('hex'), h.rmac_i);
  }
});

test('peer crypto: every captured secure frame MAC and encrypted payload', () => {
  let macs = 0;
  let decrypted = 0;
  for (const v of V.vectors) {
    if (!v.mac_iv || !v.mac_full) continue;
    const prefix = v.id.split('.')[0];
    const h = V.vectors.find((x) => x.id === `${prefix}.rmac_i`)!.handshake!;
    const keys: PdKeys = pdSessionKeys(hex(h.scbk), hex(h.rnd_a_cp_random));
    const frame = decodeFrame(hex(v.hex));
    assert.equal(pdMac(keys, hex(v.mac_iv), macInput(frame)).toString('hex'), v.mac_full, v.id);
    macs += 1;
    if (v.decrypted_data_hex !== undefined && v.enc_iv) {
      assert.equal(pdDecrypt(keys, hex(v.mac_iv), frame.data)?.toString('hex'), v.decrypted_data_hex, v.id);
      decrypted += 1;
    }
  }
  assert.ok(macs >= 10 && decrypted >= 3, `${macs} MACs, ${decrypted} payloads checked`);
});

test('peer behaviour: the captured osdp_ID gets the captured osdp_PDID; sequence skip → NAK 0x04', () => {
  const pd = new OsdpPd({ address: 0x65 });
  const id = V.vectors.find((v) => v.id === 'plain.id.cmd')!;
  const reply = pd.handle(decodeFrame(hex(id.hex)))!;
  assert.equal(reply[0], 0xff, 'mark byte');
  assert.equal(reply.subarray(1).toString('hex'), V.vectors.find((v) => v.id === 'plain.id.reply')!.hex);
  // SQN 1 twice = a retry: the identical cached reply, processed once.
  const cap = decodeFrame(encodeFrame({ address: 0x65, reply: false, sqn: 1, useCrc: true, code: 0x62, data: Buffer.from([0]) }));
  const first = pd.handle(cap);
  assert.deepEqual(pd.handle(cap), first);
  assert.equal(pd.counters.repeats, 1);
  assert.equal(pd.commandsOf('CAP').length, 1);
  // SQN 3 after 1 skips 2.
  const poll3 = decodeFrame(encodeFrame({ address: 0x65, reply: false, sqn: 3, useCrc: true, code: 0x60, data: Buffer.alloc(0) }));
  const nak = decodeFrame(pd.handle(poll3)!.subarray(1));
  assert.deepEqual([nak.code, nak.data[0]], [0x41, 0x04]);
  // Unknown command code → NAK 0x03.
  const unk = decodeFrame(encodeFrame({ address: 0x65, reply: false, sqn: 2, useCrc: true, code: 0x7e, data: Buffer.alloc(0) }));
  assert.deepEqual([...decodeFrame(pd.handle(unk)!.subarray(1)).data], [0x03]);
});
