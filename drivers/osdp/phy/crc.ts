// Message check characters (OSDP v2.2 §5): CRC-16/AUG-CCITT when CTRL bit 2
// is set, else the 8-bit two's-complement checksum. Both cover SOM through the last byte
// before the check characters (the 0xFF mark byte is never included).

const CRC_POLY = 0x1021;
/** CRC-16/AUG-CCITT initial value: 0x1D0F (= 0xFFFF advanced by two zero bytes). */
export const CRC_INIT = 0x1d0f;

const TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ CRC_POLY) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/AUG-CCITT (poly 0x1021, init 0x1D0F, not reflected, xorout 0). Sent LSB first. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = CRC_INIT;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/** 8-bit checksum: the two's complement of the byte sum, so that sum(all bytes) ≡ 0 mod 256. */
export function checksum8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i];
  return -sum & 0xff;
}
