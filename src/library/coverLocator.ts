/**
 * Where an embedded picture's bytes are in an audio file: byte offset and length of the image data, found by walking
 * the container's own structures (FLAC metadata blocks, ID3v2 frames, MP4 boxes). Pure: the caller hands a reader
 * over the bytes it already holds (the scan's head and tail reads), so finding a cover costs no extra I/O on the
 * usual files. The picture bytes themselves are never copied: a cover is served later as a ranged read of the track.
 *
 * Only pictures whose data is one contiguous byte range of the file are found:
 * - FLAC PICTURE blocks (type 6): always contiguous.
 * - ID3v2.2 PIC, ID3v2.3/2.4 APIC frames, unless the tag (v2.3) or the frame (v2.4) is unsynchronised, compressed
 *   or encrypted: then the bytes in the file are not the image's.
 * - MP4 `moov/udta/meta/ilst/covr/data`.
 * - An ID3v2 tag in a WAV (`id3 `/`ID3 ` RIFF chunk) or AIFF (`ID3 ` chunk) file: its frames as above.
 * - APEv2 binary items `Cover Art (Front)` and the other `Cover Art (…)` (APE, WavPack, Musepack, …): a file name,
 *   NUL, then the image.
 * Vorbis comments and Opus tags carry pictures base64-encoded (METADATA_BLOCK_PICTURE): not contiguous, not found.
 * WMA (ASF `WM/Picture`) is not looked at.
 * Whatever is found is checked by its first bytes (sniffImageType): only JPEG, PNG and WebP count.
 */

import type { EmbeddedPicture, ImageType } from "../core/types.ts";

export type { EmbeddedPicture, ImageType };

/**
 * Reads `length` bytes at `offset`, or null when they are not at hand (the locator then gives up on that part of
 * the file rather than make the caller read more). May return fewer bytes only at end of file.
 */
export type PeekBytes = (offset: number, length: number) => Uint8Array | null;

/** The type of an image by its first bytes (12 are enough), or null for anything else (GIF, BMP, garbage). */
export function sniffImageType(b: Uint8Array): ImageType | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return "png";
  if (b.length >= 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") return "webp";
  return null;
}

/** The file extension a cover of this type gets. */
export function imageExtension(type: ImageType): string {
  return type === "jpeg" ? "jpg" : type;
}

/** Bytes of an image's start that sniffImageType needs. */
export const SNIFF_BYTES = 12;

const FRONT_COVER = 3;
/** Blocks, frames and boxes walked per file at most: a hostile file must not turn the walk into a long loop. */
const MAX_STEPS = 4096;

/**
 * The best embedded picture of a file: the first front cover, else the first picture; null when there is none that
 * can be served as a byte range. `size` is the file size.
 */
export function locateEmbeddedPicture(peek: PeekBytes, size: number): EmbeddedPicture | null {
  const start = peek(0, 12);
  if (!start || start.length < 12) return null;
  let pictures: EmbeddedPicture[] = [];
  let flacAt = 0;
  if (ascii(start, 0, 3) === "ID3") {
    const id3 = id3Pictures(peek, 0);
    pictures = id3.pictures;
    flacAt = id3.end;
  }
  const flacMagic = flacAt === 0 ? start.subarray(0, 4) : peek(flacAt, 4);
  if (flacMagic && ascii(flacMagic, 0, 4) === "fLaC") pictures = pictures.concat(flacPictures(peek, flacAt + 4, size));
  else if (ascii(start, 4, 4) === "ftyp") pictures = mp4Pictures(peek, size);
  else if (ascii(start, 0, 4) === "RIFF" || ascii(start, 0, 4) === "FORM") pictures = chunkedId3Pictures(peek, size, ascii(start, 0, 4) === "RIFF");
  // APEv2 sits at the end, which the scan reads up front only for formats that carry such tags (MP3, APE, WavPack,
  // Musepack…): FLAC, MP4, WAV and AIFF files are not asked for their last bytes (a read each, for nothing).
  else if (pictures.length === 0) pictures = apePictures(peek, size);
  return pictures.find((p) => p.front) ?? pictures[0] ?? null;
}

/** A picture candidate whose data starts at `offset`: kept only when it sniffs as an image and fits the file. */
function candidate(peek: PeekBytes, offset: number, length: number, front: boolean, end: number): EmbeddedPicture | null {
  if (length <= 0 || offset + length > end) return null;
  const head = peek(offset, Math.min(SNIFF_BYTES, length));
  const type = head ? sniffImageType(head) : null;
  return type ? { offset, length, type, front } : null;
}

// ── FLAC (RFC 9639 §8) ────────────────────────────────────────────────────────────────────────────────────────────

/** PICTURE blocks among the metadata blocks starting at `at` (just after "fLaC"). */
export function flacPictures(peek: PeekBytes, at: number, size: number): EmbeddedPicture[] {
  const out: EmbeddedPicture[] = [];
  for (let step = 0; step < MAX_STEPS && at + 4 <= size; step++) {
    const header = peek(at, 4);
    if (!header || header.length < 4) break;
    const last = (header[0] & 0x80) !== 0;
    const type = header[0] & 0x7f;
    const length = (header[1] << 16) | (header[2] << 8) | header[3];
    const body = at + 4;
    if (type === 127 || body + length > size) break; // invalid block type, or a block past the end: stop trusting it
    if (type === 6) {
      const p = flacPicture(peek, body, length);
      if (p) out.push(p);
    }
    if (last) break;
    at = body + length;
  }
  return out;
}

function flacPicture(peek: PeekBytes, body: number, blockLength: number): EmbeddedPicture | null {
  const fixed = peek(body, 8);
  if (!fixed || fixed.length < 8) return null;
  const pictureType = u32(fixed, 0);
  const mimeLength = u32(fixed, 4);
  const descAt = body + 8 + mimeLength;
  const descLen = peek(descAt, 4);
  if (!descLen || descLen.length < 4) return null;
  const dataLenAt = descAt + 4 + u32(descLen, 0) + 16; // width, height, depth, colours
  const dataLen = peek(dataLenAt, 4);
  if (!dataLen || dataLen.length < 4) return null;
  return candidate(peek, dataLenAt + 4, u32(dataLen, 0), pictureType === FRONT_COVER, body + blockLength);
}

// ── ID3v2 (id3.org: v2.2, v2.3, v2.4) ─────────────────────────────────────────────────────────────────────────────

/** APIC/PIC frames of the ID3v2 tag at `at`, and where the tag ends (header, body, footer). */
export function id3Pictures(peek: PeekBytes, at: number): { pictures: EmbeddedPicture[]; end: number } {
  const h = peek(at, 10);
  if (!h || h.length < 10 || ascii(h, 0, 3) !== "ID3" || h.subarray(6, 10).some((b) => b >= 0x80)) return { pictures: [], end: at };
  const version = h[3];
  const flags = h[5];
  const bodyLength = syncsafe(h, 6);
  const end = at + 10 + bodyLength + (flags & 0x10 ? 10 : 0);
  const pictures: EmbeddedPicture[] = [];
  // v2.2/v2.3 unsynchronisation applies to the whole tag: frame bytes in the file are not the frame's.
  if (version < 2 || version > 4 || ((flags & 0x80) !== 0 && version < 4)) return { pictures, end };
  const bodyEnd = at + 10 + bodyLength;
  let pos = at + 10;
  if (flags & 0x40 && version >= 3) {
    const ext = peek(pos, 4);
    if (!ext || ext.length < 4) return { pictures, end };
    pos += version === 4 ? syncsafe(ext, 0) : 4 + u32(ext, 0);
  }
  const headerLength = version === 2 ? 6 : 10;
  for (let step = 0; step < MAX_STEPS && pos + headerLength <= bodyEnd; step++) {
    const fh = peek(pos, headerLength);
    if (!fh || fh.length < headerLength || fh[0] === 0) break; // padding
    const id = ascii(fh, 0, version === 2 ? 3 : 4);
    const size = version === 2 ? (fh[3] << 16) | (fh[4] << 8) | fh[5] : version === 4 ? syncsafe(fh, 4) : u32(fh, 4);
    const body = pos + headerLength;
    if (body + size > bodyEnd) break;
    if (id === "APIC" || id === "PIC") {
      const p = id3Picture(peek, body, size, version, version === 2 ? 0 : (fh[8] << 8) | fh[9]);
      if (p) pictures.push(p);
    }
    pos = body + size;
  }
  return { pictures, end };
}

function id3Picture(peek: PeekBytes, body: number, size: number, version: number, frameFlags: number): EmbeddedPicture | null {
  let at = body;
  if (version === 4) {
    if (frameFlags & (0x0008 | 0x0004 | 0x0002)) return null; // compressed, encrypted or unsynchronised
    if (frameFlags & 0x0040) at += 1; // grouping identity
    if (frameFlags & 0x0001) at += 4; // data length indicator
  } else if (version === 3) {
    if (frameFlags & (0x0080 | 0x0040)) return null; // compressed or encrypted
    if (frameFlags & 0x0020) at += 1; // grouping identity
  }
  const end = body + size;
  // Encoding, then MIME type (v2.3+: Latin-1, NUL-terminated; v2.2: three characters), picture type, description.
  const head = peek(at, Math.min(end - at, 256 + 2));
  if (!head || head.length < 2) return null;
  const encoding = head[0];
  let i = 1;
  if (version === 2) i += 3;
  else {
    while (i < head.length && head[i] !== 0) i++;
    i++;
  }
  if (i >= head.length) return null;
  const pictureType = head[i++];
  // The description: NUL-terminated, two NULs (aligned) in UTF-16. It may be long: read on while needed.
  const wide = encoding === 1 || encoding === 2;
  let pos = at + i;
  for (let step = 0; step < 64 && pos < end; step++) {
    const chunk = peek(pos, Math.min(end - pos, 1024));
    if (!chunk || chunk.length === 0) return null;
    const stop = wide ? wideNul(chunk, (pos - (at + i)) % 2) : chunk.indexOf(0);
    if (stop >= 0) return candidate(peek, pos + stop + (wide ? 2 : 1), end - (pos + stop + (wide ? 2 : 1)), pictureType === FRONT_COVER, end);
    pos += wide ? chunk.length - (chunk.length % 2) : chunk.length;
  }
  return null;
}

/** Index of the first aligned 0x00 0x00 pair in `b` (alignment `phase`: 0 when b starts on a character). */
function wideNul(b: Uint8Array, phase: number): number {
  for (let j = phase; j + 1 < b.length; j += 2) if (b[j] === 0 && b[j + 1] === 0) return j;
  return -1;
}

// ── MP4 (ISO/IEC 14496-12 boxes; iTunes metadata) ─────────────────────────────────────────────────────────────────

/** `covr` pictures: moov → udta → meta → ilst → covr → data boxes. */
export function mp4Pictures(peek: PeekBytes, size: number): EmbeddedPicture[] {
  const out: EmbeddedPicture[] = [];
  let steps = 0;
  const children = function* (from: number, to: number): Generator<{ type: string; body: number; end: number }> {
    let pos = from;
    while (pos + 8 <= to && steps++ < MAX_STEPS) {
      const h = peek(pos, 16);
      if (!h || h.length < 8) return;
      let length = u32(h, 0);
      let header = 8;
      if (length === 1) {
        if (h.length < 16) return;
        length = u32(h, 8) * 2 ** 32 + u32(h, 12);
        header = 16;
      } else if (length === 0) length = to - pos;
      if (length < header || pos + length > to) return;
      yield { type: ascii(h, 4, 4), body: pos + header, end: pos + length };
      pos += length;
    }
  };
  const find = (type: string, from: number, to: number) => {
    for (const box of children(from, to)) if (box.type === type) return box;
    return null;
  };
  const moov = find("moov", 0, size);
  const udta = moov && find("udta", moov.body, moov.end);
  const meta = udta && find("meta", udta.body, udta.end);
  const ilst = meta && find("ilst", meta.body + 4, meta.end); // meta is a full box: version and flags first
  const covr = ilst && find("covr", ilst.body, ilst.end);
  if (!covr) return out;
  for (const data of children(covr.body, covr.end)) {
    if (data.type !== "data") continue;
    const p = candidate(peek, data.body + 8, data.end - data.body - 8, true, data.end); // type indicator, locale
    if (p) out.push(p);
  }
  return out;
}

// ── WAV / AIFF: an ID3v2 tag in a chunk ───────────────────────────────────────────────────────────────────────────

/** Pictures of the ID3v2 tag in a RIFF (little-endian sizes) or AIFF (big-endian) file's `id3 `/`ID3 ` chunk. */
export function chunkedId3Pictures(peek: PeekBytes, size: number, riff: boolean): EmbeddedPicture[] {
  let pos = 12; // "RIFF"/"FORM", size, "WAVE"/"AIFF"
  for (let step = 0; step < MAX_STEPS && pos + 8 <= size; step++) {
    const h = peek(pos, 8);
    if (!h || h.length < 8) return [];
    const length = riff ? h[4] + (h[5] << 8) + (h[6] << 16) + h[7] * 2 ** 24 : u32(h, 4);
    if (ascii(h, 0, 4).toLowerCase() === "id3 ") return id3Pictures(peek, pos + 8).pictures;
    pos += 8 + length + (length % 2); // chunks are padded to an even length
  }
  return [];
}

// ── APEv2 (at the end of the file, before an ID3v1 tag if any) ────────────────────────────────────────────────────

/** Binary `Cover Art (…)` items of an APEv2 tag at the end of the file. */
export function apePictures(peek: PeekBytes, size: number): EmbeddedPicture[] {
  for (const footerAt of [size - 32, size - 128 - 32]) {
    const f = footerAt >= 0 ? peek(footerAt, 32) : null;
    if (!f || f.length < 32 || ascii(f, 0, 8) !== "APETAGEX") continue;
    const tagSize = le32(f, 12); // items and footer
    const count = le32(f, 16);
    let pos = footerAt + 32 - tagSize;
    if (pos < 0) return [];
    const out: EmbeddedPicture[] = [];
    for (let i = 0; i < count && i < MAX_STEPS && pos + 8 < footerAt; i++) {
      const head = peek(pos, Math.min(8 + 256, footerAt - pos));
      if (!head || head.length < 9) break;
      const valueLength = le32(head, 0);
      const binary = ((le32(head, 4) >> 1) & 3) === 1;
      const keyEnd = head.indexOf(0, 8);
      if (keyEnd < 0) break;
      const key = ascii(head, 8, keyEnd - 8).toLowerCase();
      const valueAt = pos + keyEnd + 1;
      if (binary && key.startsWith("cover art (")) {
        // The value is a file name, NUL, then the image bytes.
        const name = peek(valueAt, Math.min(valueLength, 1024));
        const nul = name ? name.indexOf(0) : -1;
        if (nul >= 0) {
          const p = candidate(peek, valueAt + nul + 1, valueLength - nul - 1, key === "cover art (front)", valueAt + valueLength);
          if (p) out.push(p);
        }
      }
      pos = valueAt + valueLength;
    }
    return out;
  }
  return [];
}

function le32(b: Uint8Array, at: number): number {
  return b[at] + (b[at + 1] << 8) + (b[at + 2] << 16) + b[at + 3] * 2 ** 24;
}

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = "";
  for (let i = at; i < at + n && i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
}

function syncsafe(b: Uint8Array, at: number): number {
  return (b[at] << 21) | (b[at + 1] << 14) | (b[at + 2] << 7) | b[at + 3];
}
