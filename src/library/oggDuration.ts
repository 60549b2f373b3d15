/**
 * Duration of an Ogg stream (Vorbis, Opus, FLAC-in-Ogg, Speex) from its last page. music-metadata only finds that
 * page by reading every page of the file (`duration: true`), which would make a scan read whole files; the last
 * page is within the last 64 KiB (a page is at most 65,307 bytes), so we look there ourselves.
 */
import type { ByteSource } from "./byteSource.ts";

const MAX_PAGE_BYTES = 27 + 255 + 255 * 255;
const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"

export interface OggStreamStart {
  serial: number;
  /** Opus pre-skip in 48 kHz samples (0 for other codecs). */
  preSkip: number;
  isOpus: boolean;
}

/** Reads the serial number of the first page and, for Opus, the pre-skip of its OpusHead packet. */
export function oggStreamStart(source: ByteSource): OggStreamStart | null {
  if (source.size < 28 + 19) return null;
  const head = new Uint8Array(Math.min(source.size, 27 + 255 + 19));
  source.copyInto(head, 0, 0, head.length);
  if (!isCaptureAt(head, 0) || head[4] !== 0) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const serial = view.getUint32(14, true);
  const segments = head[26];
  const body = 27 + segments;
  const isOpus = body + 19 <= head.length && new TextDecoder().decode(head.subarray(body, body + 8)) === "OpusHead";
  return { serial, isOpus, preSkip: isOpus ? view.getUint16(body + 10, true) : 0 };
}

/**
 * Duration in seconds from the granule position of the last page of the first logical stream, or null when no
 * such page is found in the tail (a truncated or chained file: the caller then leaves the duration unknown).
 */
export function oggDurationSeconds(source: ByteSource, sampleRate: number | undefined): number | null {
  const start = oggStreamStart(source);
  if (!start) return null;
  const rate = start.isOpus ? 48000 : sampleRate;
  if (!rate || rate <= 0) return null;
  const tailLength = Math.min(source.size, MAX_PAGE_BYTES + 27);
  const tailOffset = source.size - tailLength;
  const tail = new Uint8Array(tailLength);
  source.copyInto(tail, 0, tailOffset, tailLength);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  for (let i = tail.length - 27; i >= 0; i--) {
    if (!isCaptureAt(tail, i) || tail[i + 4] !== 0) continue;
    if (view.getUint32(i + 14, true) !== start.serial) continue;
    const granule = view.getBigInt64(i + 6, true);
    if (granule < 0n) continue; // -1: no packet ends on this page
    const samples = Number(granule) - start.preSkip;
    return samples > 0 ? samples / rate : null;
  }
  return null;
}

function isCaptureAt(bytes: Uint8Array, i: number): boolean {
  return bytes[i] === CAPTURE[0] && bytes[i + 1] === CAPTURE[1] && bytes[i + 2] === CAPTURE[2] && bytes[i + 3] === CAPTURE[3];
}
