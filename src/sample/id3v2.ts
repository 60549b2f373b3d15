/**
 * ID3v2.3 and ID3v2.4 tags (id3.org "ID3 tag version 2.3.0" and "ID3 tag version 2.4.0 - Main Structure" /
 * "- Native Frames"). Pure: tags in, the tag bytes out (to be put in front of the MPEG frames).
 *
 * Text encoding and multiple values, the one real difference between the two versions here:
 * - v2.4: UTF-8 (encoding byte 3); several artists are separate NUL-separated values in one TPE1 (v2.4 §4.2).
 * - v2.3: UTF-16 with BOM (encoding byte 1); several artists are joined with "/" as v2.3 §4.2.1 prescribes for
 *   TPE1/TCOM — so an artist whose name contains "/" (AC/DC) cannot be told apart from two artists in v2.3.
 *   Use v2.4 for such names.
 */
import type { CoverImage, TrackTags } from "./tags.ts";
import { hasNoTags } from "./tags.ts";
import { concatBytes } from "./bytes.ts";

export type Id3Version = 3 | 4;

export interface Id3WriteOptions {
  version?: Id3Version;
  /** Zero bytes after the frames, so taggers can grow the tag in place (v2.4 §3.3). */
  paddingBytes?: number;
}

const ENCODING_LATIN1 = 0;
const ENCODING_UTF16_BOM = 1;
const ENCODING_UTF8 = 3;
const PICTURE_FRONT_COVER = 3; // APIC picture type (v2.4 native frames §4.14)
const encoder = new TextEncoder();

/** The tag bytes, or an empty array when there is nothing to write (a file with no tags at all). */
export function buildId3v2Tag(tags: TrackTags, options: Id3WriteOptions = {}): Uint8Array {
  const version = options.version ?? 4;
  if (hasNoTags(tags)) return new Uint8Array(0);
  const frames = id3Frames(tags, version);
  const padding = options.paddingBytes ?? 0;
  const bodySize = frames.reduce((sum, frame) => sum + frame.length, 0) + padding;
  const tag = new Uint8Array(10 + bodySize);
  // Header (v2.4 §3.1): "ID3", version, revision 0, no flags, syncsafe size excluding the header.
  tag.set([0x49, 0x44, 0x33, version, 0, 0], 0);
  tag.set(syncsafe(bodySize), 6);
  let offset = 10;
  for (const frame of frames) {
    tag.set(frame, offset);
    offset += frame.length;
  }
  return tag;
}

function id3Frames(tags: TrackTags, version: Id3Version): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const text = (id: string, values: (string | undefined)[]) => {
    const present = values.filter((value): value is string => value !== undefined && value !== "");
    if (present.length > 0) frames.push(frame(id, textFrameBody(present, version), version));
  };
  const numberPair = (n: number | undefined, total: number | undefined) =>
    n === undefined ? undefined : total === undefined ? String(n) : `${n}/${total}`;

  text("TIT2", [tags.title]);
  text("TPE1", version === 4 ? (tags.artists ?? []) : [tags.artists?.join("/")]);
  text("TALB", [tags.album]);
  text("TPE2", [tags.albumArtist]);
  text("TRCK", [numberPair(tags.track, tags.trackTotal)]);
  text("TPOS", [numberPair(tags.disc, tags.discTotal)]);
  text(version === 4 ? "TDRC" : "TYER", [tags.year?.toString()]);
  text("TCON", [tags.genre]);
  text("TCOM", [tags.composer]);
  // TCMP is iTunes' compilation flag; not in either spec, but what every player and tag reader uses.
  if (tags.compilation) text("TCMP", ["1"]);
  if (tags.cover) frames.push(frame("APIC", pictureFrameBody(tags.cover), version));
  return frames;
}

/** Frame header (v2.3 §3.3 / v2.4 §4.1): id, size (plain in v2.3, syncsafe in v2.4), two flag bytes. */
function frame(id: string, body: Uint8Array, version: Id3Version): Uint8Array {
  const bytes = new Uint8Array(10 + body.length);
  bytes.set(encoder.encode(id), 0);
  if (version === 4) bytes.set(syncsafe(body.length), 4);
  else new DataView(bytes.buffer).setUint32(4, body.length);
  bytes.set(body, 10);
  return bytes;
}

function textFrameBody(values: string[], version: Id3Version): Uint8Array {
  if (version === 4) {
    const text = encoder.encode(values.join("\0"));
    return concatBytes([Uint8Array.of(ENCODING_UTF8), text]);
  }
  return concatBytes([Uint8Array.of(ENCODING_UTF16_BOM), utf16WithBom(values.join("/"))]);
}

function utf16WithBom(text: string): Uint8Array {
  const bytes = new Uint8Array(2 + text.length * 2);
  bytes[0] = 0xff; // BOM FF FE: little-endian
  bytes[1] = 0xfe;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i); // JS strings are UTF-16 already, surrogate pairs included
    bytes[2 + i * 2] = unit & 0xff;
    bytes[3 + i * 2] = unit >>> 8;
  }
  return bytes;
}

/** APIC (v2.4 native frames §4.14): encoding, MIME (Latin-1, NUL-ended), type, description (NUL-ended), data. */
function pictureFrameBody(cover: CoverImage): Uint8Array {
  return concatBytes([Uint8Array.of(ENCODING_LATIN1), encoder.encode(cover.mime), Uint8Array.of(0, PICTURE_FRONT_COVER, 0), cover.data]);
}

/** v2.4 §6.2: 28 bits in four bytes, the top bit of each byte zero so the size never looks like an MPEG sync. */
export function syncsafe(value: number): Uint8Array {
  if (value >= 1 << 28) throw new Error("ID3v2 size over 256 MiB");
  return Uint8Array.of((value >>> 21) & 0x7f, (value >>> 14) & 0x7f, (value >>> 7) & 0x7f, value & 0x7f);
}

