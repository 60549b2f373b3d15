/**
 * A complete FLAC file (RFC 9639 §6–§8): "fLaC", STREAMINFO, VORBIS_COMMENT, optional PICTURE, PADDING, then the
 * audio frames from flacFrames.ts. Pure: tags + PCM (or an already encoded stream) in, bytes out.
 */
import { encodeFlacAudio, type FlacAudioStream } from "./flacFrames.ts";
import { hasNoTags, type CoverImage, type TrackTags } from "./tags.ts";
import type { PcmAudio } from "./tone.ts";

export type { FlacAudioStream } from "./flacFrames.ts";
export { encodeFlacAudio } from "./flacFrames.ts";

export interface FlacWriteOptions {
  /** Bytes of PADDING block payload (room for taggers to grow the tags in place); 0 writes no PADDING block. */
  paddingBytes?: number;
  /** The Vorbis comment vendor string. */
  vendor?: string;
}

/** Metadata block types (RFC 9639 §8.1). */
const BLOCK_STREAMINFO = 0;
const BLOCK_PADDING = 1;
const BLOCK_VORBIS_COMMENT = 4;
const BLOCK_PICTURE = 6;
const PICTURE_FRONT_COVER = 3; // §8.8 picture types
const DEFAULT_VENDOR = "musicfs sample writer";
const encoder = new TextEncoder();

/** Encodes the PCM and wraps it with the tags. For many files with the same audio, encode once and use buildFlacFile. */
export function writeFlac(tags: TrackTags, pcm: PcmAudio, options: FlacWriteOptions = {}): Uint8Array {
  return buildFlacFile(tags, encodeFlacAudio(pcm), options);
}

export function buildFlacFile(tags: TrackTags, audio: FlacAudioStream, options: FlacWriteOptions = {}): Uint8Array {
  const blocks: { type: number; body: Uint8Array }[] = [{ type: BLOCK_STREAMINFO, body: streamInfo(audio) }];
  if (!hasNoTags(tags)) blocks.push({ type: BLOCK_VORBIS_COMMENT, body: vorbisComment(tags, options.vendor ?? DEFAULT_VENDOR) });
  if (tags.cover) blocks.push({ type: BLOCK_PICTURE, body: picture(tags.cover) });
  const paddingBytes = options.paddingBytes ?? 1024;
  if (paddingBytes > 0) blocks.push({ type: BLOCK_PADDING, body: new Uint8Array(paddingBytes) });

  const size = 4 + blocks.reduce((sum, block) => sum + 4 + block.body.length, 0) + audio.frames.length;
  const file = new Uint8Array(size);
  file.set(encoder.encode("fLaC"), 0);
  let offset = 4;
  blocks.forEach((block, index) => {
    if (block.body.length >= 1 << 24) throw new Error("FLAC metadata block over 16 MiB");
    const isLast = index === blocks.length - 1;
    // §8.1: last-block flag (1 bit), type (7 bits), length (24 bits, big-endian).
    file[offset] = (isLast ? 0x80 : 0) | block.type;
    file[offset + 1] = block.body.length >>> 16;
    file[offset + 2] = (block.body.length >>> 8) & 0xff;
    file[offset + 3] = block.body.length & 0xff;
    file.set(block.body, offset + 4);
    offset += 4 + block.body.length;
  });
  file.set(audio.frames, offset);
  return file;
}

/** §8.2: 34 bytes, big-endian bit fields. */
function streamInfo(audio: FlacAudioStream): Uint8Array {
  const body = new Uint8Array(34);
  const view = new DataView(body.buffer);
  view.setUint16(0, audio.minBlockSize);
  view.setUint16(2, audio.maxBlockSize);
  writeUint24(body, 4, audio.minFrameSize);
  writeUint24(body, 7, audio.maxFrameSize);
  // sample rate (20 bits) | channels - 1 (3 bits) | bits per sample - 1 (5 bits) | total samples (36 bits)
  const totalHigh = Math.floor(audio.totalSamples / 2 ** 32) & 0xf;
  view.setUint32(10, ((audio.sampleRate << 12) | ((audio.channelCount - 1) << 9) | ((audio.bitsPerSample - 1) << 4) | totalHigh) >>> 0);
  view.setUint32(14, audio.totalSamples >>> 0);
  body.set(audio.md5, 18);
  return body;
}

function writeUint24(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 16;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = value & 0xff;
}

/** The Vorbis comment fields for the tags, in the usual order; several artists become several ARTIST fields. */
export function vorbisFields(tags: TrackTags): [string, string][] {
  const fields: [string, string][] = [];
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined && value !== "") fields.push([name, String(value)]);
  };
  add("TITLE", tags.title);
  for (const artist of tags.artists ?? []) add("ARTIST", artist);
  add("ALBUM", tags.album);
  add("ALBUMARTIST", tags.albumArtist);
  add("TRACKNUMBER", tags.track);
  add("TRACKTOTAL", tags.trackTotal);
  add("DISCNUMBER", tags.disc);
  add("DISCTOTAL", tags.discTotal);
  add("DATE", tags.year);
  add("ORIGINALDATE", tags.originalYear);
  add("MUSICBRAINZ_ALBUMID", tags.mbAlbumId);
  add("GENRE", tags.genre);
  add("COMPOSER", tags.composer);
  if (tags.compilation) add("COMPILATION", "1");
  return fields;
}

/** §8.6 (the Vorbis I comment header without framing bit): little-endian lengths, UTF-8 "NAME=value" strings. */
function vorbisComment(tags: TrackTags, vendor: string): Uint8Array {
  const strings = [vendor, ...vorbisFields(tags).map(([name, value]) => `${name}=${value}`)].map((s) => encoder.encode(s));
  const body = new Uint8Array(strings.reduce((sum, s) => sum + 4 + s.length, 4));
  const view = new DataView(body.buffer);
  let offset = 0;
  strings.forEach((s, index) => {
    view.setUint32(offset, s.length, true);
    body.set(s, offset + 4);
    offset += 4 + s.length;
    if (index === 0) {
      view.setUint32(offset, strings.length - 1, true); // field count follows the vendor string
      offset += 4;
    }
  });
  return body;
}

/** §8.8: picture type, MIME, description, width, height, depth, colour count, data — all big-endian. */
function picture(cover: CoverImage): Uint8Array {
  const mime = encoder.encode(cover.mime);
  const body = new Uint8Array(32 + mime.length + cover.data.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, PICTURE_FRONT_COVER);
  view.setUint32(4, mime.length);
  body.set(mime, 8);
  let offset = 8 + mime.length;
  view.setUint32(offset, 0); // empty description
  view.setUint32(offset + 4, cover.width);
  view.setUint32(offset + 8, cover.height);
  view.setUint32(offset + 12, cover.depth);
  view.setUint32(offset + 16, 0); // not an indexed-colour picture
  view.setUint32(offset + 20, cover.data.length);
  offset += 24;
  body.set(cover.data, offset);
  return body;
}
