/**
 * The two checksums of a FLAC frame (RFC 9639 §9.1.8 and §9.3): CRC-8 over the frame header and CRC-16 over the
 * whole frame. Both are MSB-first, initial value 0, no final xor. Table-driven because every frame needs them.
 */

function buildTable(polynomial: number, width: 8 | 16): Uint16Array {
  const topBit = 1 << (width - 1);
  const mask = (1 << width) - 1;
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << (width - 8);
    for (let bit = 0; bit < 8; bit++) crc = crc & topBit ? ((crc << 1) ^ polynomial) & mask : (crc << 1) & mask;
    table[byte] = crc;
  }
  return table;
}

/** x^8 + x^2 + x^1 + x^0 */
const CRC8_TABLE = buildTable(0x07, 8);
/** x^16 + x^15 + x^2 + x^0 */
const CRC16_TABLE = buildTable(0x8005, 16);

export function crc8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = CRC8_TABLE[crc ^ bytes[i]];
  return crc;
}

export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[(crc >>> 8) ^ bytes[i]];
  return crc;
}
