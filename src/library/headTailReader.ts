/**
 * Reads what the tag parser needs of one local file, synchronously (scan workers use readSync; parseFile through
 * streams is ~9× slower under Bun).
 *
 * Strategy:
 * - Small files (≤ HEAD_BYTES + TAIL_BYTES) are read whole, in one read.
 * - Otherwise the head: HEAD_BYTES, grown to cover a leading ID3v2 tag when it is larger (ID3v2 parsing reads the
 *   whole tag, cover included), at most MAX_HEAD_BYTES. Vorbis comments, MP4 `moov` (when first), FLAC metadata
 *   without a big picture, RIFF/AIFF chunks before the audio, ASF headers: all in the head.
 * - The tail (TAIL_BYTES, one read) up front only for formats whose tags customarily sit at the end: ID3v1, Lyrics3
 *   and APEv2 on MP3/AAC/MPC/WavPack/APE/TTA…, and the Ogg last page that gives the duration.
 * - Anything else the parser asks for (an MP4 `moov` after `mdat`, a RIFF `id3 ` chunk after the audio, FLAC block
 *   headers after a large picture, WavPack block headers, the 128-byte ID3v1 probe music-metadata does on every
 *   file) is read on demand by the ByteSource's fetcher: small reads for jumps, doubling reads for sequential walks.
 *   So the result is always what a whole-file parse gives; the up-front reads only decide how many syscalls it takes
 *   (test/library/headTailReader.test.ts checks both on the corpus and on large generated files).
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { readFullySync } from "../core/readFully.ts";
import { ByteSource, type ByteRange } from "./byteSource.ts";
import type { FsPath } from "../core/originPaths.ts";

export const HEAD_BYTES = 256 * 1024;
export const MAX_HEAD_BYTES = 16 * 1024 * 1024;
export const TAIL_BYTES = 64 * 1024;

/** Formats whose tags (or, for Ogg, duration) customarily live at the end of the file. */
export const TAIL_FORMATS: ReadonlySet<string> = new Set([
  "mp3", "mp2", "mp1", "mpga", "aac", "adts", "ape", "wv", "mpc", "mp+", "mpp", "tta", "ofr", "ofs", "tak",
  "ogg", "oga", "opus", "spx",
]);

/** An open file and the ByteSource over it; `close()` releases the descriptor (the source is unusable after). */
export interface FileBytes {
  source: ByteSource;
  close(): void;
}

/** How much to read up front. Tests shrink it to push small corpus files through the on-demand path. */
export interface ReadPlan {
  headBytes: number;
  tailBytes: number;
}

export const DEFAULT_READ_PLAN: ReadPlan = { headBytes: HEAD_BYTES, tailBytes: TAIL_BYTES };

/** Opens `absPath` and reads its head (and tail where the format needs it). Throws on open/read errors. */
export function openFileBytes(absPath: FsPath, format: string, plan: ReadPlan = DEFAULT_READ_PLAN): FileBytes {
  const fd = openSync(absPath, "r");
  try {
    const size = fstatSync(fd).size;
    if (size <= plan.headBytes + plan.tailBytes) {
      const whole = readAt(fd, 0, size);
      closeSync(fd);
      return { source: new ByteSource(whole.length, [{ offset: 0, bytes: whole }]), close() {} };
    }
    const ranges: ByteRange[] = [];
    let head = readAt(fd, 0, plan.headBytes);
    const wanted = plannedHeadLength(head, size, plan.headBytes);
    if (wanted > head.length) head = concat(head, readAt(fd, head.length, wanted - head.length));
    ranges.push({ offset: 0, bytes: head });
    if (TAIL_FORMATS.has(format.toLowerCase())) {
      const tailOffset = Math.max(head.length, size - plan.tailBytes);
      if (tailOffset < size) ranges.push({ offset: tailOffset, bytes: readAt(fd, tailOffset, size - tailOffset) });
    }
    let open = true;
    const source = new ByteSource(size, ranges, (offset, length) => {
      if (!open) throw new Error("file already closed");
      return readAt(fd, offset, length);
    });
    return {
      source,
      close() {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed (small-file path) */
    }
    throw e;
  }
}

/**
 * How many bytes of head the parser will read in one go, judging from the first bytes: the whole leading ID3v2
 * tag plus room for the first audio frames; HEAD_BYTES otherwise. Pure, for tests.
 */
export function plannedHeadLength(head: Uint8Array, fileSize: number, headBytes = HEAD_BYTES): number {
  let wanted = headBytes;
  const id3 = id3v2TagLength(head);
  if (id3 !== null) wanted = Math.max(wanted, id3 + 64 * 1024);
  return Math.min(wanted, MAX_HEAD_BYTES, fileSize);
}

/** Length of an ID3v2 tag at offset 0 (header, body and footer), or null when there is none. */
export function id3v2TagLength(bytes: Uint8Array): number | null {
  if (bytes.length < 10 || bytes[0] !== 0x49 || bytes[1] !== 0x44 || bytes[2] !== 0x33) return null; // "ID3"
  const sizeBytes = bytes.subarray(6, 10);
  if (sizeBytes.some((b) => b >= 0x80)) return null; // not syncsafe: not a real header
  const body = (sizeBytes[0] << 21) | (sizeBytes[1] << 14) | (sizeBytes[2] << 7) | sizeBytes[3];
  const hasFooter = (bytes[5] & 0x10) !== 0;
  return 10 + body + (hasFooter ? 10 : 0);
}

function readAt(fd: number, offset: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  const got = readFullySync(fd, buf, offset);
  return got === length ? buf : buf.subarray(0, got);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
