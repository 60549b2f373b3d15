/**
 * MP3 files: an ID3v2 tag (id3v2.ts) followed by an MPEG-1 Layer III stream (ISO/IEC 11172-3). There is no
 * real encoder: the audio is either digital silence — all-zero side information (part2_3_length = 0, so no scale
 * factors and no Huffman data, §2.4.1.7), which every decoder turns into zero samples — or a simple melody of one
 * spectral line per granule (mp3Melody.ts). The first frame is a Xing "Info" frame (the de-facto CBR header LAME
 * writes) carrying the frame count, so players and ffprobe report the exact duration instead of estimating it from
 * the bitrate. Pure: tags + audio spec in, bytes out.
 */
import { concatBytes } from "./bytes.ts";
import { BitWriter } from "./bitWriter.ts";
import { buildId3v2Tag, type Id3WriteOptions } from "./id3v2.ts";
import { melodyGranules, type ToneGranule } from "./mp3Melody.ts";
import type { TrackTags } from "./tags.ts";

export type MpegSampleRate = 32000 | 44100 | 48000;
/** MPEG-1 Layer III bitrates (§2.4.2.3, bitrate_index 1..14). */
export type Mp3Bitrate = 32 | 40 | 48 | 56 | 64 | 80 | 96 | 112 | 128 | 160 | 192 | 224 | 256 | 320;

export interface Mp3AudioSpec {
  seconds: number;
  sampleRate?: MpegSampleRate;
  bitrateKbps?: Mp3Bitrate;
  channels?: 1 | 2;
  /** When set, a melody (picked by this seed) instead of silence; both channels play it. */
  melodySeed?: number;
}

export const SAMPLES_PER_FRAME = 1152; // MPEG-1 Layer III: 2 granules of 576

const BITRATE_INDEX: Record<Mp3Bitrate, number> = {
  32: 1, 40: 2, 48: 3, 56: 4, 64: 5, 80: 6, 96: 7, 112: 8, 128: 9, 160: 10, 192: 11, 224: 12, 256: 13, 320: 14,
};
const SAMPLE_RATE_INDEX: Record<MpegSampleRate, number> = { 44100: 0, 48000: 1, 32000: 2 };

/** Audio frames for `seconds` of silence, rounded up to whole frames; the Info frame comes first and is not counted. */
export function mp3FrameCount(spec: Mp3AudioSpec): number {
  return Math.max(1, Math.ceil((spec.seconds * (spec.sampleRate ?? 44100)) / SAMPLES_PER_FRAME));
}

/** The exact duration a decoder reports for the stream: whole frames of 1152 samples. */
export function mp3DurationSeconds(spec: Mp3AudioSpec): number {
  return (mp3FrameCount(spec) * SAMPLES_PER_FRAME) / (spec.sampleRate ?? 44100);
}

export function writeMp3(tags: TrackTags, audio: Mp3AudioSpec, options: Id3WriteOptions = {}): Uint8Array {
  return buildMp3File(tags, encodeMp3Audio(audio), options);
}

/** Tag + already encoded stream: lets a generator encode the audio once and reuse it for many files. */
export function buildMp3File(tags: TrackTags, stream: Uint8Array, options: Id3WriteOptions = {}): Uint8Array {
  return concatBytes([buildId3v2Tag(tags, options), stream]);
}

export function encodeMp3Audio(spec: Mp3AudioSpec): Uint8Array {
  const sampleRate = spec.sampleRate ?? 44100;
  const bitrate = spec.bitrateKbps ?? 128;
  const channels = spec.channels ?? 2;
  const audioFrames = mp3FrameCount(spec);
  const totalFrames = audioFrames + 1; // + the Info frame
  const sizes = Array.from({ length: totalFrames }, (_, i) => frameLength(i, bitrate, sampleRate));
  const totalBytes = sizes.reduce((sum, size) => sum + size, 0);
  const stream = new Uint8Array(totalBytes); // zero-filled: silent side info and main data
  const melody = spec.melodySeed === undefined ? undefined : melodyGranules(spec.melodySeed, audioFrames * 2, sampleRate);
  let offset = 0;
  sizes.forEach((size, i) => {
    writeFrameHeader(stream, offset, { bitrate, sampleRate, channels, padded: size > minFrameLength(bitrate, sampleRate) });
    // Frame 0 is the Info frame, which must stay silent; audio frame i carries granules 2(i-1) and 2(i-1)+1.
    if (melody && i > 0) writeToneFrameBody(stream, offset + 4, channels, [melody[2 * (i - 1)], melody[2 * (i - 1) + 1]]);
    offset += size;
  });
  writeInfoTag(stream, sideInfoLength(channels) + 4, audioFrames, totalBytes);
  return stream;
}

/**
 * §2.4.2.3 (padding_bit): a Layer III frame is 144 * bitrate / sample rate bytes, plus one byte when the padding
 * bit is set.
 */
function minFrameLength(bitrateKbps: number, sampleRate: number): number {
  return Math.floor((144000 * bitrateKbps) / sampleRate);
}

/** Padding is spread so the average frame length is exactly 144 * bitrate / sample rate, as encoders do at 44.1 kHz. */
function frameLength(index: number, bitrateKbps: number, sampleRate: number): number {
  const bytesAfter = (frames: number) => Math.floor((frames * 144000 * bitrateKbps) / sampleRate);
  return bytesAfter(index + 1) - bytesAfter(index);
}

/** §2.4.1.7: side information is 32 bytes for MPEG-1 stereo, 17 for mono. */
function sideInfoLength(channels: 1 | 2): number {
  return channels === 2 ? 32 : 17;
}

/** §2.4.1.3 header: sync (12 bits incl. ID=1 for MPEG-1), layer '01' = III, no CRC, bitrate, rate, padding, mode. */
function writeFrameHeader(
  bytes: Uint8Array,
  offset: number,
  frame: { bitrate: Mp3Bitrate; sampleRate: MpegSampleRate; channels: 1 | 2; padded: boolean },
): void {
  bytes[offset] = 0xff;
  bytes[offset + 1] = 0xfb; // 1111 1 01 1: sync, MPEG-1, Layer III, protection_bit=1 (no CRC)
  bytes[offset + 2] = (BITRATE_INDEX[frame.bitrate] << 4) | (SAMPLE_RATE_INDEX[frame.sampleRate] << 2) | (frame.padded ? 2 : 0);
  // mode '00' stereo / '11' single channel; no mode extension, not copyrighted, original, no emphasis.
  bytes[offset + 3] = (frame.channels === 2 ? 0b00 : 0b11) << 6 | 0b0100;
}

/**
 * The Xing/LAME "Info" header (CBR variant of "Xing"), right after the first frame's side information:
 * tag, flags (frames + bytes present), frame count (audio frames, excluding this one), stream byte count.
 */
function writeInfoTag(bytes: Uint8Array, offset: number, audioFrames: number, streamBytes: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bytes.set([0x49, 0x6e, 0x66, 0x6f], offset); // "Info"
  view.setUint32(offset + 4, 0x3);
  view.setUint32(offset + 8, audioFrames);
  view.setUint32(offset + 12, streamBytes);
}

/**
 * Side information and main data (§2.4.1.7, audio_data for Layer III) for two granules of one tone line each.
 * Every granule and channel codes (0,0) pairs up to the line's pair, then the line's pair and its sign bit, with
 * Huffman table 1 (§2.4.3.4, Annex B table B.7) in all three regions; no scale factors (scalefac_compress 0),
 * long blocks, main_data_begin 0 (no bit reservoir), so the main data directly follows the side information.
 */
function writeToneFrameBody(bytes: Uint8Array, offset: number, channels: 1 | 2, granules: [ToneGranule, ToneGranule]): void {
  const main = new BitWriter(64);
  const huffmanBits: number[] = [];
  for (const granule of granules) {
    for (let channel = 0; channel < channels; channel++) {
      const start = main.bitLength;
      for (let pair = 0; pair < granule.line >> 1; pair++) main.write(0b1, 1); // (0,0) → "1"
      if (granule.line % 2 === 0) main.write(0b01, 2); // (1,0) → "01"
      else main.write(0b001, 3); // (0,1) → "001"
      main.write(granule.sign < 0 ? 1 : 0, 1); // sign of the non-zero value
      huffmanBits.push(main.bitLength - start);
    }
  }
  const side = new BitWriter(32);
  side.write(0, 9); // main_data_begin
  side.write(0, channels === 2 ? 3 : 5); // private_bits
  side.write(0, 4 * channels); // scfsi
  let index = 0;
  for (const granule of granules) {
    for (let channel = 0; channel < channels; channel++) {
      side.write(huffmanBits[index++], 12); // part2_3_length (part2, the scale factors, is empty)
      side.write((granule.line >> 1) + 1, 9); // big_values: pairs up to and including the tone's
      side.write(granule.globalGain, 8);
      side.write(0, 4); // scalefac_compress: slen1 = slen2 = 0
      side.write(0, 1); // window_switching_flag: long blocks
      for (let region = 0; region < 3; region++) side.write(1, 5); // table_select: table 1
      side.write(15, 4); // region0_count
      side.write(7, 3); // region1_count
      side.write(0, 3); // preflag, scalefac_scale, count1table_select
    }
  }
  side.alignToByte();
  main.alignToByte();
  bytes.set(side.bytes(), offset);
  bytes.set(main.bytes(), offset + side.byteLength);
}
