/** What the fetcher is given: the file to read, its collaborators and its tuning, with the defaults resolved once. */
import type { ChunkHashing } from "../chunkHasher.ts";
import type { DataFileStore } from "../dataFileStore.ts";
import type { EventBus } from "../../core/eventBus.ts";
import type { ContentId } from "../../core/types.ts";
import type { Origin } from "../../origins/origin.ts";
import type { CacheStats } from "../cacheStats.ts";
import type { ChunkLedger } from "../chunkLedger.ts";
import type { ChunkStore } from "../chunkStore.ts";
import type { ChunkPins } from "../eviction.ts";
import { DEFAULT_CDC, type CdcParams } from "../fastCdc.ts";
import type { FetchProgress } from "../fetchProgress.ts";
import type { Manifest } from "../manifestCodec.ts";
import type { RangeIndex } from "../rangeIndex.ts";
import type { FetchRequestParams } from "./fetchWindow.ts";
import { defaultSeekWindow } from "./seekWindow.ts";
import type { SharedHeads } from "./sharedHeads.ts";

/** A file of a cached origin, as the integrator knows it from the database. */
export interface CachedFileRef {
  fileId: ContentId;
  origin: Origin;
  realPath: string;
  /** Origin size and mtime as recorded: a manifest built for other values is not used. */
  size: number;
  mtimeMs: number;
  /** The persisted manifest (files.chunk_manifest), if at hand; otherwise `loadManifest` is asked. */
  manifest?: Uint8Array | Manifest | null;
}

export interface FetcherOptions {
  store: ChunkStore;
  /** ManifestCached goes here; a listener persists it (Database.updateManifest). */
  bus?: EventBus;
  /** Looks up a persisted manifest by file id (e.g. SELECT chunk_manifest FROM files WHERE id = ?). */
  loadManifest?: (fileId: ContentId) => Uint8Array | null | undefined;
  pins?: ChunkPins;
  ledger?: ChunkLedger;
  stats?: CacheStats;
  /** A read that cannot be answered within this time fails with EIO (default 30 s). */
  readTimeoutMs?: number;
  /** Bound on each origin call made by background fetches (default: readTimeoutMs). */
  originTimeoutMs?: number;
  /** Stored range blocks of files without a manifest (persisted); without it, range blocks live in memory only. */
  rangeIndex?: RangeIndex;
  /** Persisted progress of whole-file fetches, so that one killed halfway resumes after a restart (without it: in memory only). */
  progress?: FetchProgress;
  /** Contiguous bytes read from offset 0 after which the file is fetched whole, as playback (default 4 MiB). */
  playbackThresholdBytes?: number;
  /** Reads at most this far ahead of the primary fetch wait for it; further ones use range blocks (default: the playback threshold plus the primary's reads in flight). */
  seekWindowBytes?: number;
  /**
   * Size of a range block: the unit of ranged reads for reads that are not playback, and of the RangeIndex (default
   * 32 KiB: ffprobe -show_format reads 32 KiB pieces; 128 KiB blocks fetched 2.5× what it read, 32 KiB ones 1.2×).
   */
  rangeBlockBytes?: number;
  /** Range blocks kept in memory, all files together (default 256). */
  maxMemoryBlocks?: number;
  /** The read-ahead window of sequential reads served by range blocks: first size and bound (default 64 KiB, 1 MiB). */
  readAheadInitialBytes?: number;
  readAheadMaxBytes?: number;
  /** Files fetched at once; reads of queued files use range blocks meanwhile (default 4). */
  maxConcurrentFileFetches?: number;
  /**
   * The pieces of the primary fetch's requests (default 1 MiB, a multiple of rangeBlockBytes): each is handed to the
   * readers, written and hashed as one; also the most taken at once from range blocks already fetched.
   */
  segmentBytes?: number;
  /** With `segmentBytes`, the default of `fetchWindowMaxBytes` (8). */
  parallelReads?: number;
  /**
   * The whole-file fetch's requests (fetchWindow.ts, streamedSegments.ts): the first one's size (default 256 KiB),
   * each next one twice the one before up to `fetchRequestMaxBytes` (default 2 MiB: a 64 MiB file in 33 GETs, where
   * 1 MiB requests made 65; 4 MiB made 22 and halved RGW's CPU, but a kill -9 then lost ~9 MiB in flight, not ~3),
   * made while they fit in a window ahead of what the fetch took, which opens at the first request's size and
   * doubles up to `fetchWindowMaxBytes` (default `parallelReads` × `segmentBytes`, 8 MiB). That bound is also what
   * a fetch whose last reader left still finishes, and with the playback threshold how far ahead of the stream a
   * read waits for it (seekWindow.ts). `fetchRequestMode`: each request one ranged GET (default) or one streaming
   * GET whose pieces are taken as they arrive (docs/benchmarks.md "Fewer, larger GETs": it cost more than it saved).
   */
  fetchWindowInitialBytes?: number;
  fetchWindowMaxBytes?: number;
  fetchRequestMaxBytes?: number;
  fetchRequestMode?: "ranged" | "stream";
  /** Chunk puts in flight per file, so that fsync latency overlaps with the download (default 4). */
  maxPendingStores?: number;
  /** Bytes of the primaries' latest ranged reads kept in memory for readers behind them, all files together (default 32 MiB). */
  retainedBytes?: number;
  /** When a chunk of a cached file must be re-fetched, also re-fetch this many following missing chunks (default 4). */
  repairAheadChunks?: number;
  cdc?: CdcParams;
  /**
   * Complete files as data files: read from there first (their chunks are gone).
   */
  dataFiles?: Pick<DataFileStore, "read">;
  /** Where a whole-file fetch writes its bytes: the file's partial data file (without it: one chunk file per chunk). */
  partials?: Pick<DataFileStore, "writePartial" | "readPartial" | "completePartial" | "closePartial" | "partialPathOf">;
  /**
   * With `partials`: the hash worker that cuts and hashes what a fetch wrote (after it is written, off the main
   * thread; fixed-size chunks). Without it, the fetch cuts (FastCDC) and hashes on the main thread as bytes arrive.
   */
  hashing?: ChunkHashing;
}

export type ResolvedOptions = Required<
  Pick<
    FetcherOptions,
    | "readTimeoutMs" | "originTimeoutMs" | "seekWindowBytes" | "rangeBlockBytes"
    | "maxMemoryBlocks" | "maxConcurrentFileFetches" | "segmentBytes" | "parallelReads" | "maxPendingStores" | "cdc"
    | "repairAheadChunks" | "playbackThresholdBytes" | "retainedBytes" | "readAheadInitialBytes" | "readAheadMaxBytes"
    | "fetchWindowInitialBytes" | "fetchWindowMaxBytes" | "fetchRequestMaxBytes" | "fetchRequestMode"
  >
>;

const MiB = 1024 * 1024;

/**
 * Reads that cover this much of a file from its start look like playback (playbackDetector.ts). Exported for the
 * FUSE workers, which report to the fetcher the reads below it that they serve themselves (a local origin's file
 * read before it is cached: src/fs/originBackedReads.ts).
 */
export const DEFAULT_PLAYBACK_THRESHOLD_BYTES = 4 * MiB;

export function resolveOptions(deps: FetcherOptions): ResolvedOptions {
  const readTimeoutMs = deps.readTimeoutMs ?? 30_000;
  const rangeBlockBytes = deps.rangeBlockBytes ?? 32 * 1024;
  // Segments are whole blocks, so that a segment can be assembled from blocks fetched before playback started.
  const segmentBytes = Math.max(1, Math.round((deps.segmentBytes ?? 1 * MiB) / rangeBlockBytes)) * rangeBlockBytes;
  const parallelReads = Math.max(1, deps.parallelReads ?? 8);
  const playbackThresholdBytes = deps.playbackThresholdBytes ?? DEFAULT_PLAYBACK_THRESHOLD_BYTES;
  const fetchWindowMaxBytes = Math.max(rangeBlockBytes, deps.fetchWindowMaxBytes ?? parallelReads * segmentBytes);
  return {
    readTimeoutMs,
    originTimeoutMs: deps.originTimeoutMs ?? readTimeoutMs,
    seekWindowBytes: deps.seekWindowBytes ?? defaultSeekWindow(playbackThresholdBytes, fetchWindowMaxBytes),
    rangeBlockBytes,
    maxMemoryBlocks: deps.maxMemoryBlocks ?? 256,
    readAheadInitialBytes: deps.readAheadInitialBytes ?? 64 * 1024,
    readAheadMaxBytes: deps.readAheadMaxBytes ?? 1 * MiB,
    maxConcurrentFileFetches: deps.maxConcurrentFileFetches ?? 4,
    segmentBytes,
    parallelReads,
    fetchWindowInitialBytes: Math.min(fetchWindowMaxBytes, deps.fetchWindowInitialBytes ?? 256 * 1024),
    fetchWindowMaxBytes,
    fetchRequestMaxBytes: Math.max(rangeBlockBytes, deps.fetchRequestMaxBytes ?? 2 * MiB),
    fetchRequestMode: deps.fetchRequestMode ?? "ranged",
    playbackThresholdBytes,
    maxPendingStores: deps.maxPendingStores ?? 4,
    retainedBytes: deps.retainedBytes ?? 32 * MiB,
    repairAheadChunks: deps.repairAheadChunks ?? 4,
    cdc: deps.cdc ?? DEFAULT_CDC,
  };
}

/** The sequential fetch's request sizes (fetchWindow.ts), from the resolved options. */
export function requestParams(o: ResolvedOptions): FetchRequestParams {
  return { initialBytes: o.fetchWindowInitialBytes, maxRequestBytes: o.fetchRequestMaxBytes, blockBytes: o.rangeBlockBytes, pieceBytes: o.segmentBytes };
}

/** What every part of the fetcher shares: its collaborators, its tuning, whether it is closing, its background work. */
export interface FetchEnv {
  readonly deps: FetcherOptions;
  readonly o: ResolvedOptions;
  /** True once `close` began: nothing new starts. */
  closed(): boolean;
  /** Keeps track of work that outlives the read that started it, so that `close` can wait for it. */
  track<T>(p: Promise<T>): Promise<T>;
  /** HEADs shared with the open check: a file's version check takes the one its OPEN made. */
  readonly heads: SharedHeads;
}
