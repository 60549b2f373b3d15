/**
 * FLAC audio frames (RFC 9639 §9): fixed-blocksize stream, independent channels, each subframe coded as
 * CONSTANT (silence: a few bytes per frame), FIXED prediction with Rice-coded residuals (tones), or VERBATIM
 * (fallback when prediction does not pay off) — whichever is smallest. Pure: PCM in, bytes out.
 */
import { BitWriter } from "./bitWriter.ts";
import { crc16, crc8 } from "./crc.ts";
import { pcmFrameCount, type PcmAudio } from "./tone.ts";

/** What STREAMINFO (RFC 9639 §8.2) must say about the encoded frames. */
export interface FlacAudioStream {
  sampleRate: number;
  channelCount: number;
  bitsPerSample: number;
  totalSamples: number;
  minBlockSize: number;
  maxBlockSize: number;
  minFrameSize: number;
  maxFrameSize: number;
  /** MD5 of the decoded audio, interleaved little-endian signed samples (RFC 9639 §8.2). */
  md5: Uint8Array;
  frames: Uint8Array;
}

export const DEFAULT_BLOCK_SIZE = 4096;

export function encodeFlacAudio(pcm: PcmAudio, blockSize = DEFAULT_BLOCK_SIZE): FlacAudioStream {
  const totalSamples = pcmFrameCount(pcm);
  if (totalSamples === 0) throw new Error("FLAC needs at least one sample");
  if (pcm.channels.length < 1 || pcm.channels.length > 8) throw new Error("FLAC supports 1..8 channels");
  const out = new BitWriter(totalSamples * pcm.channels.length * 2 + 64);
  let minFrameSize = Infinity;
  let maxFrameSize = 0;
  let frameNumber = 0;
  for (let start = 0; start < totalSamples; start += blockSize, frameNumber++) {
    const size = Math.min(blockSize, totalSamples - start);
    const before = out.byteLength;
    writeFrame(out, pcm, start, size, frameNumber);
    const frameBytes = out.byteLength - before;
    minFrameSize = Math.min(minFrameSize, frameBytes);
    maxFrameSize = Math.max(maxFrameSize, frameBytes);
  }
  // Only the last block may be shorter, and STREAMINFO's block sizes exclude it (§8.2); a one-frame stream's
  // only block is its size.
  const streamBlockSize = Math.min(blockSize, totalSamples);
  return {
    sampleRate: pcm.sampleRate,
    channelCount: pcm.channels.length,
    bitsPerSample: pcm.bitsPerSample,
    totalSamples,
    minBlockSize: streamBlockSize,
    maxBlockSize: streamBlockSize,
    minFrameSize,
    maxFrameSize,
    md5: pcmMd5(pcm),
    frames: out.bytes().slice(),
  };
}

function pcmMd5(pcm: PcmAudio): Uint8Array {
  const frames = pcmFrameCount(pcm);
  const channelCount = pcm.channels.length;
  const interleaved = new Int16Array(frames * channelCount);
  for (let i = 0; i < frames; i++) for (let c = 0; c < channelCount; c++) interleaved[i * channelCount + c] = pcm.channels[c][i];
  // Int16Array uses the platform byte order; every platform Bun runs on is little-endian, as the MD5 wants.
  const hasher = new Bun.CryptoHasher("md5");
  hasher.update(new Uint8Array(interleaved.buffer));
  return new Uint8Array(hasher.digest().buffer);
}

/** RFC 9639 §9.1: sync code, block size, sample rate, channels, bit depth, coded number, CRC-8. */
function writeFrame(out: BitWriter, pcm: PcmAudio, start: number, size: number, frameNumber: number): void {
  const frameStart = out.byteLength;
  const blockSizeCode = blockSizeBits(size);
  const sampleRateCode = sampleRateBits(pcm.sampleRate);
  out.write(0b11111111111110, 14); // sync code
  out.write(0, 1); // reserved
  out.write(0, 1); // fixed block size strategy: the header carries the frame number
  out.write(blockSizeCode, 4);
  out.write(sampleRateCode, 4);
  out.write(pcm.channels.length - 1, 4); // independent channels (§9.1.3)
  out.write(sampleSizeBits(pcm.bitsPerSample), 3);
  out.write(0, 1); // reserved
  out.writeBytes(codedNumber(frameNumber));
  if (blockSizeCode === 0b0110) out.write(size - 1, 8);
  if (blockSizeCode === 0b0111) out.write(size - 1, 16);
  const headerBytes = out.bytes();
  out.write(crc8(headerBytes, frameStart, headerBytes.length), 8);

  for (const channel of pcm.channels) writeSubframe(out, channel.subarray(start, start + size), pcm.bitsPerSample);
  out.alignToByte(); // §9.3: the footer starts byte-aligned
  const frameBytes = out.bytes();
  out.write(crc16(frameBytes, frameStart, frameBytes.length), 16);
}

/** §9.1.1: the common sizes have a 4-bit code; others are stored after the coded number. */
function blockSizeBits(size: number): number {
  if (size === 192) return 0b0001;
  for (let code = 2; code <= 5; code++) if (size === 576 << (code - 2)) return code;
  for (let code = 8; code <= 15; code++) if (size === 256 << (code - 8)) return code;
  return size <= 256 ? 0b0110 : 0b0111;
}

/** §9.1.2; 0 means "as in STREAMINFO", which every decoder we care about honours. */
function sampleRateBits(sampleRate: number): number {
  const codes: Record<number, number> = {
    88200: 1, 176400: 2, 192000: 3, 8000: 4, 16000: 5, 22050: 6, 24000: 7, 32000: 8, 44100: 9, 48000: 10, 96000: 11,
  };
  return codes[sampleRate] ?? 0;
}

/** §9.1.4 */
function sampleSizeBits(bitsPerSample: number): number {
  const codes: Record<number, number> = { 8: 1, 12: 2, 16: 4, 20: 5, 24: 6, 32: 7 };
  const code = codes[bitsPerSample];
  if (code === undefined) throw new Error(`unsupported FLAC bit depth ${bitsPerSample}`);
  return code;
}

/** §9.1.5: the frame number in the UTF-8-like variable-length code (up to 36 bits). */
export function codedNumber(value: number): Uint8Array {
  if (value < 0x80) return Uint8Array.of(value);
  const bytes: number[] = [];
  let rest = value;
  let payloadBitsInFirst = 6;
  while (rest >= 2 ** payloadBitsInFirst) {
    bytes.unshift(0x80 | (rest & 0x3f));
    rest = Math.floor(rest / 64);
    payloadBitsInFirst--;
  }
  const lengthMarker = (0xff00 >> (bytes.length + 1)) & 0xff;
  bytes.unshift(lengthMarker | rest);
  return Uint8Array.from(bytes);
}

const SUBFRAME_CONSTANT = 0b000000;
const SUBFRAME_VERBATIM = 0b000001;
const SUBFRAME_FIXED = 0b001000; // | order
const MAX_FIXED_ORDER = 4;
const RICE_ESCAPE = 15;

// The loops over samples and residuals below are indexed, not `for…of`: the iterator protocol over typed arrays took
// half of the encoder's time (a test library of noise tracks is encoded at ~7 ms of CPU per second of audio).

function isConstant(samples: Int32Array): boolean {
  for (let i = 1; i < samples.length; i++) if (samples[i] !== samples[0]) return false;
  return true;
}

/** §9.2: picks the smallest of CONSTANT, FIXED(0..4) and VERBATIM for one channel's block. */
function writeSubframe(out: BitWriter, samples: Int32Array, bitsPerSample: number): void {
  if (isConstant(samples)) {
    writeSubframeHeader(out, SUBFRAME_CONSTANT);
    out.write(samples[0], bitsPerSample);
    return;
  }
  const verbatimBits = samples.length * bitsPerSample;
  const order = Math.min(bestFixedOrder(samples), samples.length - 1);
  const residuals = fixedResiduals(samples, order);
  const { riceParameter, bits } = bestRiceParameter(residuals);
  if (order * bitsPerSample + 2 + 4 + 4 + bits >= verbatimBits) {
    writeSubframeHeader(out, SUBFRAME_VERBATIM);
    for (let i = 0; i < samples.length; i++) out.write(samples[i], bitsPerSample);
    return;
  }
  writeSubframeHeader(out, SUBFRAME_FIXED | order);
  for (let i = 0; i < order; i++) out.write(samples[i], bitsPerSample); // warm-up samples (§9.2.5)
  writeRiceResidual(out, residuals, riceParameter);
}

/**
 * The fixed predictor order (0..4) with the smallest sum of absolute residuals — libFLAC's heuristic: one pass,
 * each order's residual being the difference of the previous order's.
 */
function bestFixedOrder(samples: Int32Array): number {
  if (samples.length <= MAX_FIXED_ORDER) return 0;
  // pK: the order-K difference (= order-K fixed residual) at the previous sample, seeded at sample 3. Scalars, not
  // arrays: this loop runs once per sample of every channel.
  const s = samples;
  let p0 = s[3];
  let p1 = s[3] - s[2];
  let p2 = s[3] - 2 * s[2] + s[1];
  let p3 = s[3] - 3 * s[2] + 3 * s[1] - s[0];
  let sum0 = 0, sum1 = 0, sum2 = 0, sum3 = 0, sum4 = 0;
  for (let i = MAX_FIXED_ORDER; i < s.length; i++) {
    const c0 = s[i];
    const c1 = c0 - p0;
    const c2 = c1 - p1;
    const c3 = c2 - p2;
    const c4 = c3 - p3;
    sum0 += Math.abs(c0);
    sum1 += Math.abs(c1);
    sum2 += Math.abs(c2);
    sum3 += Math.abs(c3);
    sum4 += Math.abs(c4);
    p0 = c0;
    p1 = c1;
    p2 = c2;
    p3 = c3;
  }
  const sums = [sum0, sum1, sum2, sum3, sum4];
  return sums.indexOf(Math.min(...sums));
}

/** §9.2.1: zero pad bit, 6-bit type, no wasted bits. */
function writeSubframeHeader(out: BitWriter, type: number): void {
  out.write(0, 1);
  out.write(type, 6);
  out.write(0, 1);
}

/** §9.2.5: the fixed predictors are repeated differences of the signal. */
function fixedResiduals(samples: Int32Array, order: number): Int32Array {
  const residuals = new Int32Array(samples.length - order);
  for (let i = order; i < samples.length; i++) {
    const s = samples;
    let prediction = 0;
    if (order === 1) prediction = s[i - 1];
    else if (order === 2) prediction = 2 * s[i - 1] - s[i - 2];
    else if (order === 3) prediction = 3 * s[i - 1] - 3 * s[i - 2] + s[i - 3];
    else if (order === 4) prediction = 4 * s[i - 1] - 6 * s[i - 2] + 4 * s[i - 3] - s[i - 4];
    residuals[i - order] = s[i] - prediction;
  }
  return residuals;
}

/** §9.2.7: residuals are folded to unsigned (zigzag) before Rice coding. */
function fold(residual: number): number {
  return residual >= 0 ? residual * 2 : -residual * 2 - 1;
}

/**
 * The 4-bit Rice parameter (0..14) that codes the residuals in the fewest bits, with that bit count. The best
 * parameter is within one of log2(mean folded residual), so only those three are costed exactly.
 */
function bestRiceParameter(residuals: Int32Array): { riceParameter: number; bits: number } {
  let sum = 0;
  for (let i = 0; i < residuals.length; i++) sum += fold(residuals[i]);
  const guess = sum > residuals.length ? Math.floor(Math.log2(sum / residuals.length)) : 0;
  let best = { riceParameter: 0, bits: Infinity };
  for (let parameter = Math.max(0, guess - 1); parameter <= Math.min(RICE_ESCAPE - 1, guess + 1); parameter++) {
    let bits = residuals.length * (1 + parameter);
    for (let i = 0; i < residuals.length; i++) bits += fold(residuals[i]) >>> parameter;
    if (bits < best.bits) best = { riceParameter: parameter, bits };
  }
  return best;
}

/** §9.2.7: coding method 0 (4-bit Rice parameters), partition order 0 — one partition holds every residual. */
function writeRiceResidual(out: BitWriter, residuals: Int32Array, riceParameter: number): void {
  out.write(0b00, 2);
  out.write(0, 4);
  out.write(riceParameter, 4);
  for (let i = 0; i < residuals.length; i++) {
    const folded = fold(residuals[i]);
    const quotient = folded >>> riceParameter;
    const remainder = folded & ((1 << riceParameter) - 1);
    // q zeros, a one, then the k-bit remainder: one write when it fits, which is nearly always.
    if (quotient + 1 + riceParameter <= 24) out.write((1 << riceParameter) | remainder, quotient + 1 + riceParameter);
    else {
      out.writeUnary(quotient);
      if (riceParameter > 0) out.write(remainder, riceParameter);
    }
  }
}
