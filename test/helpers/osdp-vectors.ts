// Loads the OSDP / Wiegand ground-truth vectors kept in the repo, test/vectors/ (their
// provenance is in test/vectors/README.md). Typed loosely on purpose: the JSON is the contract.
import { readFileSync } from 'node:fs';

export interface OsdpVector {
  id: string;
  direction: 'CP->PD' | 'PD->CP';
  name: string;
  hex: string;
  header: string;
  data_hex: string;
  mac_iv?: string;
  mac_full?: string;
  enc_iv?: string;
  decrypted_data_hex?: string;
  handshake?: Handshake;
}
export interface Handshake {
  scbk: string;
  rnd_a_cp_random: string;
  cuid: string;
  rnd_b_pd_random: string;
  s_enc: string;
  s_mac1: string;
  s_mac2: string;
  client_cryptogram: string;
  server_cryptogram: string;
  rmac_i: string;
}
export interface OsdpVectors {
  pd_identity: { address: string; vendor_oui: string; model: number; version: number; serial: string; firmware: string; cuid: string };
  keys: Record<string, string>;
  annex_e: {
    crc: { msg: string; crc_bytes_lsb_first: string }[];
    checksum: { msg: string; checksum: string }[];
    scbk_d_session: Record<string, string>;
  };
  vectors: OsdpVector[];
}
export interface WiegandVector {
  format: string;
  fc?: number;
  cn: number;
  bits: string;
  osdp_raw_data_hex: string;
  bit_count: number;
  decoded: { fc?: number; cn: number; parity_ok: boolean };
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
}

export const osdpVectors = (): OsdpVectors => load<OsdpVectors>('osdp.json');
export const wiegandVectors = (): { formats: WiegandVector[]; public_example_check: { ours: string } } => load('wiegand.json');
export const hex = (h: string): Buffer => Buffer.from(h, 'hex');
