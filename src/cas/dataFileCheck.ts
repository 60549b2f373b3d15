/**
 * Checks a data file against its manifest, synchronously (usable in a FUSE worker, the scrub, `cache verify`): its
 * length must be the manifest's size, and every chunk's bytes must match the manifest's read checksum (XXH3-64), or
 * for a manifest without checksums (format v1) its SHA-256 id. This is what makes a data file "complete": it is
 * renamed to its final name only after this check passed.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { readFullySync } from "../core/readFully.ts";
import { sha256Matches } from "./chunkHash.ts";
import { manifestChunkId, readChecksum, type Manifest } from "./manifestCodec.ts";

export type DataFileCheck = { ok: true } | { ok: false; reason: string; chunkIndex?: number };

/** Buffer reused across checks of one thread (chunks are at most 256 KiB). */
let scratch = new Uint8Array(256 * 1024);

export function checkDataFileFd(fd: number, m: Manifest): DataFileCheck {
  const size = fstatSync(fd).size;
  if (size !== m.originSize) return { ok: false, reason: `length ${size}, expected ${m.originSize}` };
  for (let i = 0; i < m.chunkCount; i++) {
    const at = m.offsets[i];
    const length = m.offsets[i + 1] - at;
    if (scratch.length < length) scratch = new Uint8Array(length);
    const bytes = scratch.subarray(0, length);
    if (readFullySync(fd, bytes, at) !== length) return { ok: false, reason: `short read at ${at}`, chunkIndex: i };
    if (!chunkOk(bytes, m, i)) return { ok: false, reason: `chunk ${i} at ${at} does not match the manifest`, chunkIndex: i };
  }
  return { ok: true };
}

export function checkDataFile(path: string, m: Manifest): DataFileCheck {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  try {
    return checkDataFileFd(fd, m);
  } finally {
    closeSync(fd);
  }
}

/**
 * The same check through an async handle (main thread: the reads run in the thread pool), in reads of whole chunks
 * up to ~1 MiB at a time; with `checkBefore`, the length and the chunks starting before that offset only.
 */
export async function checkDataFileAsync(handle: FileHandle, m: Manifest, checkBefore = Infinity): Promise<DataFileCheck> {
  const size = (await handle.stat()).size;
  if (size !== m.originSize) return { ok: false, reason: `length ${size}, expected ${m.originSize}` };
  let buf = new Uint8Array(1 << 20);
  // Only the chunks that start before `checkBefore` (the others were checked as they were written: the hash worker).
  const count = checkBefore === Infinity ? m.chunkCount : chunksBefore(m, checkBefore);
  for (let i = 0; i < count; ) {
    const at = m.offsets[i];
    let j = i + 1; // chunks [i, j) in this read: at least one, then as many as fit in 1 MiB
    while (j < count && m.offsets[j + 1] - at <= 1 << 20) j++;
    const length = m.offsets[j] - at;
    if (buf.length < length) buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await handle.read(buf, got, length - got, at + got);
      if (bytesRead === 0) return { ok: false, reason: `short read at ${at + got}`, chunkIndex: i };
      got += bytesRead;
    }
    for (let k = i; k < j; k++)
      if (!chunkOk(buf.subarray(m.offsets[k] - at, m.offsets[k + 1] - at), m, k))
        return { ok: false, reason: `chunk ${k} at ${m.offsets[k]} does not match the manifest`, chunkIndex: k };
    i = j;
  }
  return { ok: true };
}

function chunksBefore(m: Manifest, offset: number): number {
  let n = 0;
  while (n < m.chunkCount && m.offsets[n] < offset) n++;
  return n;
}

function chunkOk(bytes: Uint8Array, m: Manifest, i: number): boolean {
  return m.checksums ? readChecksum(bytes) === m.checksums[i] : sha256Matches(bytes, manifestChunkId(m, i));
}
