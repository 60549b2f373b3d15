/**
 * The state of one file being read without a manifest (`FileFetch`), shared by the parts that read and fetch it,
 * and the small lookups over it.
 */
import type { ChunkHex, ChunkId } from "../chunkHash.ts";
import type { StreamingChunker } from "../fastCdc.ts";
import type { RangeBlock } from "../rangeIndex.ts";
import type { CachedFileRef } from "./options.ts";
import { NO_COPY_RUN, type CopyRun, type PlaybackRanges } from "./playbackDetector.ts";
import { NO_READ_AHEAD, type ReadAheadState } from "./readAheadWindow.ts";
import type { Waiter } from "./waiters.ts";

export interface FetchedChunk {
  offset: number;
  length: number;
  id: ChunkId;
  hex: ChunkHex;
  /** Fast read checksum for the manifest: workers verify chunks with it instead of re-hashing SHA-256. */
  checksum: bigint;
  /** "storing": bytes kept in memory until the put settles; "unstored": the put failed (disk full). */
  state: "storing" | "stored" | "unstored";
  bytes?: Uint8Array;
}

/** Bytes [at, at + bytes.length) of a file, as one ranged read of its sequential fetch brought them. */
export interface RetainedPiece {
  at: number;
  bytes: Uint8Array;
}

export type PrimaryState = "idle" | "queued" | "running" | "failed" | "done";

export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

/** Everything about one file being read without a manifest. */
export interface FileFetch {
  file: CachedFileRef;
  pinOwner: string;
  chunks: FetchedChunk[];
  /** End of the last chunk cut: where a resumed primary starts. */
  cutEnd: number;
  /** chunks[0, persisted) are recorded in FetchProgress (the stored prefix a restart resumes from). */
  persisted: number;
  /** This file's pieces in the retained pool, in file order. */
  recent: RetainedPiece[];
  chunker: StreamingChunker | null;
  /** A fetch into a data file (no chunker): the end of the bytes it brought so far (written or being written). */
  streamEnd: number;
  /** The file's one sequential ("primary") fetch: the whole file, chunked, in order. */
  primary: PrimaryState;
  waiters: Set<Waiter>;
  done: Deferred;
  /** Reading looks like playback (or a prefetch asked): the file is fetched whole. Sticky. */
  playback: boolean;
  /** A prefetch asked for the whole file: its fetch runs to the end even when no reader has the file open. */
  wholeFile: boolean;
  /**
   * Nobody waits for the file's first bytes (a pin): its fetch opens with requests as large as any and its whole
   * window, instead of one short request first (fetchWindow.ts).
   */
  bulk: boolean;
  /** The end of the furthest read so far. */
  furthestRead: number;
  /** Byte ranges read so far (playback detection). */
  readRanges: PlaybackRanges;
  /** The run of reads so far that may be a copy's (playbackDetector.ts observeCopyRead; a large read at 0 starts a new one). */
  copyRun: CopyRun;
  /** The read-ahead window of reads served by range blocks. */
  readAhead: ReadAheadState;
  /** Range blocks of this file in the store, by block index (loaded from the RangeIndex on first use). */
  stored: Map<number, RangeBlock> | null;
  /**
   * Range blocks fetched by reads that cover the file from offset 0 (what playback looks like until it is
   * detected), not stored yet: stored when the reading stops short of playback, dropped when it becomes playback
   * (the whole-file fetch takes their bytes instead). rangeBlocks.ts.
   */
  unstored: { from: number; bytes: Promise<Uint8Array> }[];
  unstoredBytes: number;
  /** The end (bytes) of the furthest run held back in `unstored`: reading from offset 0 reached at least there. */
  unstoredEnd: number;
  /** The origin still has the library's size and mtime (checked once per file; see checkVersion). */
  versionCheck: Promise<void> | null;
}

export function newFileFetch(file: CachedFileRef): FileFetch {
  return {
    file, pinOwner: `fetch:${file.fileId}`, chunks: [], cutEnd: 0, persisted: 0, recent: [], chunker: null, streamEnd: 0, primary: "idle",
    waiters: new Set(), done: deferred(), playback: false, wholeFile: false, bulk: false, furthestRead: 0, readRanges: [], copyRun: NO_COPY_RUN, readAhead: NO_READ_AHEAD,
    stored: null, unstored: [], unstoredBytes: 0, unstoredEnd: 0, versionCheck: null,
  };
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Where the sequential fetch has got to: the end of what it has streamed (cut or not). */
export function streamPosition(ff: FileFetch): number {
  return ff.chunker ? ff.chunker.pendingEnd : Math.max(ff.cutEnd, ff.primary === "running" ? ff.streamEnd : 0);
}

/** The retained piece holding byte `pos`, if any (a few dozen pieces at most). */
export function findPiece(pieces: readonly RetainedPiece[], pos: number): RetainedPiece | undefined {
  for (const p of pieces) if (pos >= p.at && pos < p.at + p.bytes.length) return p;
  return undefined;
}

/** Binary search for the fetched chunk containing `pos`. */
export function findChunk(chunks: FetchedChunk[], pos: number): FetchedChunk | undefined {
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = chunks[mid];
    if (pos < c.offset) hi = mid - 1;
    else if (pos >= c.offset + c.length) lo = mid + 1;
    else return c;
  }
  return undefined;
}

/**
 * Copies the part of `src` (which holds file bytes from `srcOffset`) that falls in [from, to) into `out` (which
 * holds file bytes from `outOffset`). `from` defaults to the start of `out`.
 */
export function copyOverlap(src: Uint8Array, srcOffset: number, out: Uint8Array, outOffset: number, to: number, from = outOffset): void {
  const a = Math.max(from, srcOffset);
  const b = Math.min(to, srcOffset + src.length, outOffset + out.length);
  if (a >= b) return;
  out.set(src.subarray(a - srcOffset, b - srcOffset), a - outOffset);
}
