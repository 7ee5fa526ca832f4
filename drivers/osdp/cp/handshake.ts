// The CP's Secure Channel policy around the pure SecureSession (OSDP v2.2 Annex D):
// which key to use (key store > configured SCBK > SCBK-D in install mode), the
// CHLNG → CCRYPT → SCRYPT → RMAC_I exchange, and the checks that tell "wrong key" from
// "reader reset to factory key SCBK-D": a CCRYPT made with SCBK-D, or — as libosdp's own CP
// does after a cryptogram mismatch — a second CHLNG that asks for SCBK-D (key selector 0)
// and is answered with it (drivers/osdp/README.md, "libosdp's handshake"). A reset reader is
// an alarm; it is re-keyed with osdp_KEYSET only when install mode is configured.
import { randomBytes } from 'node:crypto';
import { SecureChannelError } from '../errors.js';
import { encodeFrame, type DecodedFrame, type Frame } from '../phy/frame.js';
import { decodeReply } from '../proto/replies.js';
import { clientCryptogram, deriveSessionKeys, safeEqual, SCBK_D } from '../sc/crypto.js';
import { SecureSession } from '../sc/session.js';

export type KeySource = 'store' | 'config' | 'scbk-d';

export interface ResolvedKey {
  source: KeySource;
  scbk: Buffer;
}

/** The link a handshake runs over: one exchange at the reader's current SQN. */
export interface HandshakeLink {
  readonly address: number;
  readonly useCrc: boolean;
  /** Current SQN for the next command. */
  sqn(): number;
  /** Send bytes built for the current SQN; the reply frame, or null after all retries. */
  exchange(build: (sqn: number) => Buffer): Promise<DecodedFrame | null>;
}

export class HandshakeFailure extends Error {
  override readonly name = 'HandshakeFailure';
  constructor(
    /** Machine-readable reason: a SecureChannelError kind, 'no-reply', 'reader-reset-to-scbk-d'. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Decide the key for a reader. Returns undefined when the reader has no Secure Channel. */
export function resolveKey(args: { stored?: Buffer; configured?: string; install: boolean }): ResolvedKey | undefined {
  if (args.stored) return { source: 'store', scbk: args.stored };
  if (args.configured) return { source: 'config', scbk: Buffer.from(args.configured, 'hex') };
  if (args.install) return { source: 'scbk-d', scbk: SCBK_D };
  return undefined;
}

/**
 * Run one handshake. Resolves the established session; rejects with HandshakeFailure.
 * A reader holding SCBK-D while we expect a real key is reported as
 * 'reader-reset-to-scbk-d' (Annex D install mode must be an explicit, per-reader choice).
 */
export async function runHandshake(link: HandshakeLink, key: ResolvedKey, rnd: (n: number) => Buffer = randomBytes): Promise<SecureSession> {
  const scbkD = key.source === 'scbk-d';
  const session = new SecureSession(scbkD ? { useScbkD: true } : { scbk: key.scbk });
  const rndA = rnd(8);
  let chlng: Frame | undefined;
  const ccrypt = await link.exchange((sqn) => {
    chlng = session.challenge({ address: link.address, sqn, rndA, useCrc: link.useCrc });
    return encodeFrame(chlng);
  });
  if (!ccrypt) throw new HandshakeFailure('no-reply', 'no reply to osdp_CHLNG');
  let scrypt: Frame;
  try {
    scrypt = session.onCcrypt(ccrypt, { sqn: link.sqn() });
  } catch (err) {
    if (!(err instanceof SecureChannelError)) throw err;
    if (err.kind === 'client-cryptogram-mismatch' && !scbkD && holdsScbkD(ccrypt, rndA)) {
      throw new HandshakeFailure('reader-reset-to-scbk-d', 'the reader answers with the default key SCBK-D: it was reset or replaced; re-key it only on purpose (install mode)');
    }
    throw new HandshakeFailure(err.kind, err.message);
  }
  const rmacI = await link.exchange((sqn) => encodeFrame({ ...scrypt, sqn }));
  if (!rmacI) throw new HandshakeFailure('no-reply', 'no reply to osdp_SCRYPT');
  try {
    session.onRmacI(rmacI);
  } catch (err) {
    if (!(err instanceof SecureChannelError)) throw err;
    throw new HandshakeFailure(err.kind, err.message);
  }
  return session;
}

/**
 * Ask the reader for SCBK-D (CHLNG with key selector 0) and check its CCRYPT: true when it
 * answers with SCBK-D, i.e. it is in factory/install state. Nothing further is sent (no
 * SCRYPT): the reader stays without a session until the next CHLNG.
 */
export async function probeScbkD(link: HandshakeLink, rnd: (n: number) => Buffer = randomBytes): Promise<boolean> {
  const session = new SecureSession({ useScbkD: true });
  const rndA = rnd(8);
  const ccrypt = await link.exchange((sqn) => encodeFrame(session.challenge({ address: link.address, sqn, rndA, useCrc: link.useCrc })));
  if (!ccrypt) return false;
  try {
    session.onCcrypt(ccrypt, { sqn: link.sqn() });
    return true;
  } catch (err) {
    if (err instanceof SecureChannelError) return false;
    throw err;
  }
}

/** True when the CCRYPT's client cryptogram was made with SCBK-D. */
function holdsScbkD(ccrypt: DecodedFrame, rndA: Buffer): boolean {
  try {
    const r = decodeReply(ccrypt.code, ccrypt.data);
    if (r.type !== 'CCRYPT') return false;
    const keys = deriveSessionKeys(SCBK_D, rndA);
    return safeEqual(clientCryptogram(keys.sEnc, rndA, r.rndB), r.clientCryptogram);
  } catch {
    return false;
  }
}
