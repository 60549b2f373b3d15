/**
 * An MSB-first bit writer: FLAC frames (RFC 9639 §9) and MPEG audio side information (ISO/IEC 11172-3 §2.4.1.7)
 * are both packed big-endian, most significant bit first.
 */
export class BitWriter {
  private buffer: Uint8Array;
  private bytePos = 0;
  /** Bits already used in buffer[bytePos], 0..7. */
  private bitPos = 0;

  constructor(initialBytes = 1024) {
    this.buffer = new Uint8Array(Math.max(16, initialBytes));
  }

  /** Whole bytes written so far (a partly filled last byte is not counted until aligned). */
  get byteLength(): number {
    return this.bytePos;
  }

  get bitLength(): number {
    return this.bytePos * 8 + this.bitPos;
  }

  /** Writes the low `count` bits of `value` (0..32 bits; negative values are written as two's complement). */
  write(value: number, count: number): void {
    if (count > 24) {
      this.write(Math.floor(value / 0x1000000) & ((1 << (count - 24)) - 1), count - 24);
      this.write(value & 0xffffff, 24);
      return;
    }
    this.ensure(4);
    for (let remaining = count; remaining > 0; ) {
      const free = 8 - this.bitPos;
      const take = Math.min(free, remaining);
      const bits = (value >>> (remaining - take)) & ((1 << take) - 1);
      this.buffer[this.bytePos] |= bits << (free - take);
      remaining -= take;
      this.bitPos += take;
      if (this.bitPos === 8) {
        this.bitPos = 0;
        this.bytePos++;
      }
    }
  }

  /** `count` zero bits then a one: the unary code of FLAC's Rice quotient (RFC 9639 §9.2.7). */
  writeUnary(count: number): void {
    this.ensure((count >>> 3) + 2);
    const totalBits = this.bitPos + count;
    this.bytePos += totalBits >>> 3; // the buffer is zero-filled, so skipping bits writes zeros
    this.bitPos = totalBits & 7;
    this.write(1, 1);
  }

  writeBytes(bytes: Uint8Array): void {
    if (this.bitPos !== 0) {
      for (let i = 0; i < bytes.length; i++) this.write(bytes[i], 8);
      return;
    }
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.bytePos);
    this.bytePos += bytes.length;
  }

  /** Pads with zero bits to the next byte boundary. */
  alignToByte(): void {
    if (this.bitPos !== 0) {
      this.bitPos = 0;
      this.bytePos++;
    }
  }

  /** The bytes written so far; call alignToByte() first. The view shares memory with the writer. */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.bytePos);
  }

  private ensure(extraBytes: number): void {
    const needed = this.bytePos + extraBytes + 1;
    if (needed <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(needed, this.buffer.length * 2));
    grown.set(this.buffer.subarray(0, this.bytePos + 1));
    this.buffer = grown;
  }
}
