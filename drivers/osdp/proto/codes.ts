// Command and reply codes of OSDP v2.2 (§6 commands, §7 replies) that gatewarden's CP
// speaks, and the NAK error codes. Names are the spec's without the osdp_ prefix.

export const Cmd = {
  POLL: 0x60,
  ID: 0x61,
  CAP: 0x62,
  LSTAT: 0x64,
  ISTAT: 0x65,
  OSTAT: 0x66,
  RSTAT: 0x67,
  OUT: 0x68,
  LED: 0x69,
  BUZ: 0x6a,
  TEXT: 0x6b,
  COMSET: 0x6e,
  KEYSET: 0x75,
  CHLNG: 0x76,
  SCRYPT: 0x77,
  MFG: 0x80,
} as const;
export type CommandName = keyof typeof Cmd;

export const Reply = {
  ACK: 0x40,
  NAK: 0x41,
  PDID: 0x45,
  PDCAP: 0x46,
  LSTATR: 0x48,
  ISTATR: 0x49,
  OSTATR: 0x4a,
  RSTATR: 0x4b,
  RAW: 0x50,
  FMT: 0x51,
  KEYPAD: 0x53,
  COM: 0x54,
  CCRYPT: 0x76,
  RMAC_I: 0x78,
  BUSY: 0x79,
  MFGREP: 0x90,
} as const;
export type ReplyName = keyof typeof Reply;

/** osdp_NAK error codes. */
export const NakCode = {
  NO_ERROR: 0x00,
  CHECK_CHARACTER: 0x01,
  COMMAND_LENGTH: 0x02,
  UNKNOWN_COMMAND: 0x03,
  SEQUENCE_NUMBER: 0x04,
  SC_UNSUPPORTED: 0x05,
  SC_CONDITIONS: 0x06,
  BIO_TYPE_UNSUPPORTED: 0x07,
  BIO_FORMAT_UNSUPPORTED: 0x08,
  UNABLE_TO_PROCESS: 0x09,
} as const;
export type NakName = keyof typeof NakCode | 'UNKNOWN';

const cmdNames = new Map<number, CommandName>(Object.entries(Cmd).map(([k, v]) => [v, k as CommandName]));
const replyNames = new Map<number, ReplyName>(Object.entries(Reply).map(([k, v]) => [v, k as ReplyName]));
const nakNames = new Map<number, NakName>(Object.entries(NakCode).map(([k, v]) => [v, k as NakName]));

export function commandName(code: number): CommandName | undefined {
  return cmdNames.get(code);
}
export function replyName(code: number): ReplyName | undefined {
  return replyNames.get(code);
}
export function nakName(code: number): NakName {
  return nakNames.get(code) ?? 'UNKNOWN';
}
