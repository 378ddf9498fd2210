// CRC-16/MODBUS (poly 0x8005 reflected = 0xA001, init 0xFFFF, no final xor).
// On the wire the CRC follows the frame low byte first (Modbus over serial
// line spec V1.02, 2.5.1.2): 01 03 00 00 00 01 -> 84 0A.

const TABLE = ((): Uint16Array => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC of bytes[start, end). */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** True when the last two bytes of bytes[start, end) are the CRC (low byte first) of the rest. */
export function crcOk(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start < 4) return false;
  const crc = crc16(bytes, start, end - 2);
  return bytes[end - 2] === (crc & 0xff) && bytes[end - 1] === crc >>> 8;
}
