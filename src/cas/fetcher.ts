/**
 * The Fetcher (main thread): answers reads of cached origins, fetching from the origin what the store lacks.
 *
 * - A file with a current manifest is read chunk by chunk from the store; a missing or corrupt chunk is re-fetched
 *   alone (a ranged origin read of exactly that chunk, checked against its id) — never the whole file.
 * - A file without one is read in aligned "range blocks" (128 KiB) with ranged origin reads, contiguous missing
 *   blocks in one request (the kernel's readahead makes the READs of a sequential reader large). Unless the file is
 *   being fetched whole, each block is stored as a chunk and recorded in the RangeIndex, so a tag reader's head and
 *   tail reads are fetched once, ever (also across restarts), and never pull the whole file.
 * - Only reading that looks like playback — `playbackThresholdBytes` read contiguously from offset 0, or a prefetch
 *   — starts the file's ONE "primary" fetch: ranged reads of `segmentBytes` with `parallelReads` in flight ahead of
 *   the reader (blocks already fetched are reused, not fetched again), fed in order to FastCDC, chunks stored as
 *   they are cut. Reads at most `seekWindowBytes` ahead of it wait and are answered the moment their bytes arrive;
 *   concurrent readers share it. At EOF the manifest is built and `ManifestCached` is emitted. Far reads (seeks) are
 *   served from range blocks meanwhile; CDC boundaries depend on everything before them, so only the sequential
 *   pass can produce the manifest.
 * - A primary that fails (origin error, stall, offline) resumes later from its last cut: CDC restarts exactly at a
 *   chunk boundary, so the resumed stream yields the same chunks and nothing stored is fetched again.
 * - Every read has a deadline (`readTimeoutMs`) and rejects with FetchError (EIO) when it passes; every origin call
 *   made in the background is bounded by `originTimeoutMs`, so a hung origin never holds a fetch slot forever.
 * - Disk full: the chunk is not stored (StoreFullError, warned once by the store), the read is still answered from
 *   the fetched bytes, later reads of that range go to the origin, and no ManifestCached is emitted.
 */
import { withTimeout } from "../core/timeout.ts";
import type { EventBus } from "../core/eventBus.ts";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/logger.ts";
import type { FileId } from "../core/types.ts";
import type { Origin } from "../origins/origin.ts";
import type { RangeBlock, RangeIndex } from "./rangeIndex.ts";
import type { FetchProgress, ProgressChunk } from "./fetchProgress.ts";
import { chunkHex, chunkMatches, hashChunk, type ChunkHex, type ChunkId } from "./chunkHash.ts";
import type { ChunkLedger } from "./chunkLedger.ts";
import { StoreFullError, type ChunkStore } from "./chunkStore.ts";
import type { CacheStats } from "./cacheStats.ts";
import type { ChunkPins } from "./eviction.ts";
import { DEFAULT_CDC, StreamingChunker, type CdcParams, type CutChunk } from "./fastCdc.ts";
import {
  buildManifest, chunkIndexAt, decodeManifest, encodeManifest, isManifestCurrent, manifestChunkId,
  manifestChunkHexes, manifestChunkLength, readChecksum, type Manifest,
} from "./manifestCodec.ts";

/** A file of a cached origin, as the integrator knows it from the database. */
export interface CachedFileRef {
  fileId: FileId;
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
  loadManifest?: (fileId: FileId) => Uint8Array | null | undefined;
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
  /** Size of a range block: the unit of ranged reads for reads that are not playback, and of the RangeIndex (default 128 KiB). */
  rangeBlockBytes?: number;
  /** Range blocks kept in memory, all files together (default 64). */
  maxMemoryBlocks?: number;
  /** Files fetched at once; reads of queued files use range blocks meanwhile (default 4). */
  maxConcurrentFileFetches?: number;
  /**
   * The primary fetch's ranged reads: size of each (default 1 MiB, a multiple of rangeBlockBytes) and how many in
   * flight (default 8). Measured on RGW through a 20 ms RTT proxy (bench/s3/ceiling.ts): 1 MiB × 4 in flight 70 MB/s,
   * × 8 101 MB/s; 4 MiB reads were slower than 1 MiB ones at every depth (RGW serves an object in 4 MiB stripes).
   */
  segmentBytes?: number;
  parallelReads?: number;
  /** Chunk puts in flight per file, so that fsync latency overlaps with the download (default 4). */
  maxPendingStores?: number;
  /** Bytes of the primaries' latest ranged reads kept in memory for readers behind them, all files together (default 32 MiB). */
  retainedBytes?: number;
  /** When a chunk of a cached file must be re-fetched, also re-fetch this many following missing chunks (default 4). */
  repairAheadChunks?: number;
  cdc?: CdcParams;
}

export type FetchFailure = "timeout" | "origin" | "changed" | "aborted" | "closed";

/** A read that could not be answered. FUSE replies EIO (`errno`). */
export class FetchError extends Error {
  override readonly name = "FetchError";
  readonly errno = "EIO";
  constructor(
    readonly reason: FetchFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface FetchedChunk {
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

/** A read waiting for the primary to pass [from, to). Filled piece by piece as the stream goes by. */
interface Waiter {
  from: number;
  to: number;
  /** Where the bytes go; null: allocated on the first piece, unless one piece holds them all (then a view of it). */
  out: Uint8Array | null;
  outAt: number;
  filled: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Bytes [at, at + bytes.length) of a file, as one ranged read of its primary brought them. */
interface RetainedPiece {
  at: number;
  bytes: Uint8Array;
}

type PrimaryState = "idle" | "queued" | "running" | "failed" | "done";

/** Everything about one file being read without a manifest. */
interface FileFetch {
  file: CachedFileRef;
  pinOwner: string;
  chunks: FetchedChunk[];
  /** End of the last chunk cut: where a resumed primary starts. */
  cutEnd: number;
  /** chunks[0, persisted) are recorded in FetchProgress (the stored prefix a restart resumes from). */
  persisted: number;
  /** This file's pieces in `Fetcher.retained`, in file order. */
  recent: RetainedPiece[];
  chunker: StreamingChunker | null;
  primary: PrimaryState;
  waiters: Set<Waiter>;
  done: { promise: Promise<void>; resolve: () => void };
  /** Reading looks like playback (or a prefetch asked): the file is fetched whole. Sticky. */
  playback: boolean;
  /** Byte ranges read so far, merged, in order (playback detection). */
  readRanges: [number, number][];
  /** Range blocks of this file in the store, by block index (loaded from the RangeIndex on first use). */
  stored: Map<number, RangeBlock> | null;
  /** The origin still has the library's size and mtime (checked once per file; see checkVersion). */
  versionCheck: Promise<void> | null;
}

/** Per-read cancellation: deadline or abort signal. */
class ReadContext {
  error: FetchError | undefined;
  private readonly cleanups = new Set<() => void>();
  cancel(e: FetchError): void {
    if (this.error) return;
    this.error = e;
    for (const c of this.cleanups) c();
    this.cleanups.clear();
  }
  onCancel(cleanup: () => void): () => void {
    this.cleanups.add(cleanup);
    return () => this.cleanups.delete(cleanup);
  }
  check(): void {
    if (this.error) throw this.error;
  }
}

const MiB = 1024 * 1024;
/** Files without a manifest whose read state is kept while they are not being fetched (a scan touches thousands). */
const MAX_TRACKED_FILES = 256;

export class Fetcher {
  private readonly o: Required<
    Pick<
      FetcherOptions,
      | "readTimeoutMs" | "originTimeoutMs" | "seekWindowBytes" | "rangeBlockBytes"
      | "maxMemoryBlocks" | "maxConcurrentFileFetches" | "segmentBytes" | "parallelReads" | "maxPendingStores" | "cdc"
      | "repairAheadChunks" | "playbackThresholdBytes" | "retainedBytes"
    >
  >;
  private readonly fetches = new Map<FileId, FileFetch>();
  /** Decoded current manifests by file id (recently used; the database is the durable copy). */
  private readonly manifests = new Map<FileId, Manifest>();
  private readonly repairs = new Map<string, Promise<Uint8Array | null>>();
  /** Recently used range blocks of all files, keyed by file version and block index (LRU order). */
  private readonly memoryBlocks = new Map<string, Promise<Uint8Array>>();
  private runningPrimaries = 0;
  private readonly primaryQueue: FileFetch[] = [];
  private closed = false;
  private readonly background = new Set<Promise<unknown>>();
  /**
   * The latest pieces (ranged reads) of running primaries, kept in memory, oldest first, up to `retainedBytes`: a
   * reader behind the primary — common with 8 reads in flight ahead of it — is answered from them, usually with a
   * view of one piece (no copy), instead of reading each chunk back from the store and re-hashing it by SHA-256
   * (a third of the fetcher's CPU in a cold read from S3 before).
   */
  private readonly retained: { ff: FileFetch; piece: RetainedPiece }[] = [];
  private retainedBytes = 0;

  constructor(private readonly deps: FetcherOptions) {
    const readTimeoutMs = deps.readTimeoutMs ?? 30_000;
    const rangeBlockBytes = deps.rangeBlockBytes ?? 128 * 1024;
    // Segments are whole blocks, so that a segment can be assembled from blocks fetched before playback started.
    const segmentBytes = Math.max(1, Math.round((deps.segmentBytes ?? 1 * MiB) / rangeBlockBytes)) * rangeBlockBytes;
    const parallelReads = Math.max(1, deps.parallelReads ?? 8);
    const playbackThresholdBytes = deps.playbackThresholdBytes ?? 4 * MiB;
    this.o = {
      readTimeoutMs,
      originTimeoutMs: deps.originTimeoutMs ?? readTimeoutMs,
      // A player's reads run up to the threshold before the primary starts from 0 (assembling those bytes from the
      // blocks already read, at once): a read that far ahead of it is no seek, it waits.
      seekWindowBytes: deps.seekWindowBytes ?? playbackThresholdBytes + parallelReads * segmentBytes,
      rangeBlockBytes,
      maxMemoryBlocks: deps.maxMemoryBlocks ?? 64,
      maxConcurrentFileFetches: deps.maxConcurrentFileFetches ?? 4,
      segmentBytes,
      parallelReads,
      playbackThresholdBytes,
      maxPendingStores: deps.maxPendingStores ?? 4,
      retainedBytes: deps.retainedBytes ?? 32 * MiB,
      repairAheadChunks: deps.repairAheadChunks ?? 4,
      cdc: deps.cdc ?? DEFAULT_CDC,
    };
  }

  /** Reads [offset, offset+size) of a cached file (clamped to its size). Rejects with FetchError. */
  read(file: CachedFileRef, offset: number, size: number, signal?: AbortSignal): Promise<Uint8Array> {
    const end = Math.min(offset + size, file.size);
    if (offset >= end) return Promise.resolve(new Uint8Array(0));
    if (this.closed) return Promise.reject(new FetchError("closed", "the cache is shutting down"));
    const ctx = new ReadContext();
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(
        () => ctx.cancel(new FetchError("timeout", `reading ${describe(file)} timed out after ${this.o.readTimeoutMs} ms`)),
        this.o.readTimeoutMs,
      );
      const onAbort = () => ctx.cancel(new FetchError("aborted", `read of ${describe(file)} was interrupted`));
      if (signal?.aborted) onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      ctx.onCancel(() => reject(ctx.error));
      this.readRange(file, offset, end, ctx)
        .then(resolve, (e) => reject(asFetchError(e, file)))
        .finally(() => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        });
    });
  }

  /** Fetches the whole file into the store (prefetch). Resolves when it is cached or the attempt ended. */
  async prefetch(file: CachedFileRef): Promise<void> {
    if (this.currentManifest(file)) return;
    const ff = this.fetchFor(file);
    ff.playback = true;
    this.ensurePrimary(ff);
    await ff.done.promise;
  }

  /** True when a current manifest is known for the file (its chunks may still need repair). */
  hasManifest(file: CachedFileRef): boolean {
    return this.currentManifest(file) !== undefined;
  }

  /** Stops: pending reads fail, background fetches stop at their next step. */
  /**
   * Stops: pending reads fail at once, background fetches stop at their next step, and the returned promise waits
   * (at most `waitMs`) for the chunk writes already started, so nothing writes into the store after shutdown.
   */
  async close(waitMs = 5000): Promise<void> {
    this.closed = true;
    for (const ff of this.fetches.values())
      for (const w of ff.waiters) w.reject(new FetchError("closed", "the cache is shutting down"));
    this.fetches.clear();
    this.primaryQueue.length = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.background]),
      new Promise<void>((r) => (timer = setTimeout(r, waitMs))),
    ]);
    clearTimeout(timer);
  }

  /** Keeps track of work that outlives the read that started it, for `close`. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.background.add(p);
    const forget = () => this.background.delete(p);
    p.then(forget, forget);
    return p;
  }

  // ---- reads with a manifest ------------------------------------------------------------------------------------

  private currentManifest(file: CachedFileRef): Manifest | undefined {
    let m = this.manifests.get(file.fileId);
    if (!m) {
      const source = file.manifest ?? this.deps.loadManifest?.(file.fileId);
      if (!source) return undefined;
      try {
        m = source instanceof Uint8Array ? decodeManifest(source) : source;
      } catch (e) {
        log.debug(`ignoring unreadable manifest of ${describe(file)}: ${errorMessage(e)}`);
        return undefined;
      }
      this.rememberManifest(file.fileId, m);
    }
    if (!isManifestCurrent(m, file.size, file.mtimeMs)) return undefined;
    return m;
  }

  private rememberManifest(fileId: FileId, m: Manifest): void {
    this.manifests.delete(fileId);
    this.manifests.set(fileId, m);
    if (this.manifests.size > 1024) this.manifests.delete(this.manifests.keys().next().value!);
  }

  private async readRange(file: CachedFileRef, offset: number, end: number, ctx: ReadContext): Promise<Uint8Array> {
    const m = this.currentManifest(file);
    if (m) {
      const out = await this.readWithManifest(file, m, offset, end, ctx);
      if (out) return out;
      // The origin no longer matches the manifest (content changed under the same size and mtime): start over.
      this.manifests.delete(file.fileId);
      this.deps.ledger?.forgetManifest(file.fileId);
      file = { ...file, manifest: null };
      log.warn(`${describe(file)} changed on the origin without a new mtime: its cached copy was dropped`);
    }
    this.deps.stats?.countMiss();
    return this.readWithoutManifest(file, offset, end, ctx);
  }

  /** Null when a chunk re-fetched from the origin does not match the manifest (stale manifest). */
  private async readWithManifest(
    file: CachedFileRef,
    m: Manifest,
    offset: number,
    end: number,
    ctx: ReadContext,
  ): Promise<Uint8Array | null> {
    const out = new Uint8Array(end - offset);
    let repaired = false;
    for (let i = chunkIndexAt(m, offset); i < m.chunkCount && m.offsets[i] < end; i++) {
      const id = manifestChunkId(m, i);
      const length = manifestChunkLength(m, i);
      const r = await this.deps.store.get(id, length);
      ctx.check();
      let bytes: Uint8Array | null;
      if (r.kind === "ok") bytes = r.bytes;
      else {
        repaired = true;
        const repair = this.repairChunk(file, m.offsets[i], length, id);
        this.repairAhead(file, m, i + 1);
        bytes = await this.bounded(repair, ctx);
        if (!bytes) return null;
      }
      copyOverlap(bytes, m.offsets[i], out, offset, end);
    }
    if (!repaired) this.deps.stats?.countHit();
    else this.deps.stats?.countMiss();
    return out;
  }

  /**
   * Read-ahead for a file whose chunks were evicted (or lost): a player reading on will need the next chunks too,
   * so their repairs start now instead of one origin round trip per read.
   */
  private repairAhead(file: CachedFileRef, m: Manifest, from: number): void {
    const last = Math.min(m.chunkCount, from + this.o.repairAheadChunks);
    for (let i = from; i < last; i++) {
      const id = manifestChunkId(m, i);
      void this.deps.store.has(chunkHex(id)).then((present) => {
        if (!present && !this.closed) this.repairChunk(file, m.offsets[i], manifestChunkLength(m, i), id).catch(() => {});
      });
    }
  }

  /**
   * Fetches one chunk's byte range from the origin, checks it against its id, stores it. Shared by concurrent reads.
   * The check is SHA-256, never the manifest's read checksum: the chunk is stored under its id, which other files
   * may share, so only bytes that hash to that id may be written (the store's get above also verified by SHA-256).
   */
  private repairChunk(file: CachedFileRef, offset: number, length: number, id: ChunkId): Promise<Uint8Array | null> {
    const key = `${file.fileId}:${offset}`;
    const running = this.repairs.get(key);
    if (running) return running;
    const p = (async () => {
      const bytes = await this.fetchExactly(file, offset, length);
      if (!chunkMatches(bytes, id)) return null;
      await this.deps.store.put(bytes, id).catch((e) => this.noteStoreFailure(file, e));
      return bytes;
    })().finally(() => this.repairs.delete(key));
    p.catch(() => {});
    this.track(p).catch(() => {});
    this.repairs.set(key, p);
    return p;
  }

  // ---- reads without a manifest -----------------------------------------------------------------------------------

  private fetchFor(file: CachedFileRef): FileFetch {
    let ff = this.fetches.get(file.fileId);
    if (ff && (ff.file.size !== file.size || ff.file.mtimeMs !== file.mtimeMs)) {
      this.dropFetch(ff);
      ff = undefined;
    }
    if (ff) {
      this.fetches.delete(file.fileId); // re-insert: most recently used last
      this.fetches.set(file.fileId, ff);
      return ff;
    }
    ff = {
      file, pinOwner: `fetch:${file.fileId}`, chunks: [], cutEnd: 0, persisted: 0, recent: [], chunker: null, primary: "idle",
      waiters: new Set(), done: deferred(), playback: false, readRanges: [],
      stored: null, versionCheck: null,
    };
    this.resumeFromProgress(ff);
    this.fetches.set(file.fileId, ff);
    this.forgetIdleFetches();
    return ff;
  }

  /**
   * A whole-file fetch interrupted before (kill -9, crash, unmount) left its stored prefix in FetchProgress: take it
   * as already cut, so the primary resumes at its end. The file was being played, so it counts as playback: the
   * next read restarts the fetch. Its chunks are pinned like any chunk of a running fetch; one evicted since is
   * found missing when read and served from the origin (the manifest is still right; the chunk is repaired later).
   */
  private resumeFromProgress(ff: FileFetch): void {
    const prefix = this.deps.progress?.prefixOf(ff.file.fileId, ff.file) ?? [];
    if (prefix.length === 0) return;
    for (const c of prefix)
      ff.chunks.push({ offset: c.offset, length: c.length, id: hexToId(c.hex), hex: c.hex, checksum: c.checksum, state: "stored" });
    ff.persisted = prefix.length;
    ff.cutEnd = prefix[prefix.length - 1].offset + prefix[prefix.length - 1].length;
    ff.playback = true;
    this.deps.pins?.pin(ff.pinOwner, prefix.map((c) => c.hex));
    log.debug(`resuming the fetch of ${describe(ff.file)} at ${ff.cutEnd} of ${ff.file.size} bytes`);
  }

  /** Records the chunks stored since the last call that extend the persisted prefix (in file order, no gap). */
  private persistProgress(ff: FileFetch): void {
    // Also while closing (an unmount keeps the progress too). A file that changed meanwhile only leaves rows of the
    // old version, which the next load drops.
    const progress = this.deps.progress;
    if (!progress) return;
    const add: ProgressChunk[] = [];
    while (ff.persisted < ff.chunks.length && ff.chunks[ff.persisted].state === "stored") {
      const c = ff.chunks[ff.persisted++];
      add.push({ offset: c.offset, length: c.length, hex: c.hex, checksum: c.checksum });
    }
    try {
      progress.append(ff.file.fileId, ff.file, add);
    } catch (e) {
      log.debug(`cannot record the progress of ${describe(ff.file)}: ${errorMessage(e)}`);
    }
  }

  /** A scanner reads thousands of files once: keep the state of a bounded number of files that are not being fetched. */
  private forgetIdleFetches(): void {
    if (this.fetches.size <= MAX_TRACKED_FILES) return;
    for (const ff of this.fetches.values()) {
      if (this.fetches.size <= MAX_TRACKED_FILES) return;
      if (ff.primary === "idle" && ff.waiters.size === 0) this.dropFetch(ff);
    }
  }

  private async readWithoutManifest(file: CachedFileRef, offset: number, end: number, ctx: ReadContext): Promise<Uint8Array> {
    const ff = this.fetchFor(file);
    const piece = findPiece(ff.recent, offset);
    if (piece && end <= piece.at + piece.bytes.length) {
      // Behind the primary, within one of its latest reads: a view of it (pieces are never written after arrival).
      this.notePlayback(ff, offset, end);
      return piece.bytes.subarray(offset - piece.at, end - piece.at);
    }
    if (this.aheadOfPrimary(ff, offset)) {
      // The usual READ of a first play: all of it still to come from the primary (no buffer of our own needed).
      const bytes = await this.waitForPrimary(ff, offset, end, null, offset, ctx);
      this.notePlayback(ff, offset, end);
      return bytes;
    }
    const out = new Uint8Array(end - offset);
    let pos = offset;
    while (pos < end) {
      ctx.check();
      pos = await this.readSegment(ff, pos, end, out, offset, ctx);
    }
    this.notePlayback(ff, offset, end);
    return out;
  }

  /**
   * Playback detection: once the reads of a file cover `playbackThresholdBytes` from the start without a gap (or the
   * whole file, if smaller), it is fetched whole. Coverage, not one run of reads: the kernel answers re-read pages
   * from its page cache, so a player's READs can skip what an earlier read brought in. Decided after the read was
   * answered, so that the primary finds the blocks this read fetched and reuses them instead of fetching them again.
   */
  private notePlayback(ff: FileFetch, offset: number, end: number): void {
    if (ff.playback) return this.ensurePrimaryIfTracked(ff);
    ff.readRanges = mergeRange(ff.readRanges, offset, end);
    const [start, covered] = ff.readRanges[0];
    if (start === 0 && covered >= Math.min(this.o.playbackThresholdBytes, ff.file.size)) {
      ff.playback = true;
      ff.readRanges = [];
      this.ensurePrimaryIfTracked(ff);
    }
  }

  private ensurePrimaryIfTracked(ff: FileFetch): void {
    if (this.fetches.get(ff.file.fileId) === ff) this.ensurePrimary(ff);
  }

  /**
   * Serves the part of [pos, end) that starts at `pos` from the best source, returns where it stopped. The choice
   * of source and any waiter registration happen synchronously, so the primary cannot move in between.
   */
  private async readSegment(ff: FileFetch, pos: number, end: number, out: Uint8Array, outBase: number, ctx: ReadContext): Promise<number> {
    const piece = findPiece(ff.recent, pos);
    if (piece) {
      const to = Math.min(end, piece.at + piece.bytes.length);
      copyOverlap(piece.bytes, piece.at, out, outBase, to, pos);
      return to;
    }
    const chunk = findChunk(ff.chunks, pos);
    if (chunk) {
      const chunkEnd = Math.min(end, chunk.offset + chunk.length);
      if (chunk.state === "storing" && chunk.bytes) {
        copyOverlap(chunk.bytes, chunk.offset, out, outBase, chunkEnd, pos);
        return chunkEnd;
      }
      if (chunk.state === "stored") {
        const r = await this.deps.store.get(chunk.id, chunk.length);
        ctx.check();
        if (r.kind === "ok") {
          copyOverlap(r.bytes, chunk.offset, out, outBase, chunkEnd, pos);
          return chunkEnd;
        }
        // Evicted or damaged since (e.g. the prefix of a fetch resumed after a restart): fetch that one chunk again,
        // so that the file still completes with every chunk stored.
        const repaired = await this.bounded(this.repairChunk(ff.file, chunk.offset, chunk.length, chunk.id), ctx);
        if (repaired) {
          copyOverlap(repaired, chunk.offset, out, outBase, chunkEnd, pos);
          return chunkEnd;
        }
        chunk.state = "unstored"; // the origin no longer has these bytes: serve this range from it as it is now
      }
      return this.readFromBlocks(ff, pos, chunkEnd, out, outBase, ctx);
    }
    const chunker = ff.chunker;
    if (chunker && pos >= chunker.pendingStart && pos < chunker.pendingEnd) {
      const to = Math.min(end, chunker.pendingEnd);
      chunker.copyPending(pos, to, out, pos - outBase);
      return to;
    }
    if (this.aheadOfPrimary(ff, pos)) {
      await this.waitForPrimary(ff, pos, end, out, outBase, ctx);
      return end;
    }
    return this.readFromBlocks(ff, pos, end, out, outBase, ctx);
  }

  /** Resolves with the bytes [from, to): in `out` when given, else in a buffer of its own or a view of one piece. */
  /** Bytes at `pos` will arrive from the running primary soon (not cut yet, within the seek window ahead of it). */
  private aheadOfPrimary(ff: FileFetch, pos: number): boolean {
    if (ff.primary !== "running" || findChunk(ff.chunks, pos)) return false;
    const primaryPos = ff.chunker ? ff.chunker.pendingEnd : ff.cutEnd;
    return pos >= primaryPos && pos < primaryPos + this.o.seekWindowBytes;
  }

  private waitForPrimary(ff: FileFetch, from: number, to: number, out: Uint8Array | null, outBase: number, ctx: ReadContext): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const w: Waiter = { from, to, out, outAt: from - outBase, filled: 0, resolve: () => {}, reject };
      ff.waiters.add(w);
      const forget = ctx.onCancel(() => {
        ff.waiters.delete(w);
        reject(ctx.error);
      });
      w.resolve = () => {
        forget();
        resolve(w.out!);
      };
      w.reject = (e) => {
        forget();
        reject(e);
      };
    });
  }

  /** Hands an arriving piece [at, at+piece.length) to the reads waiting for it. */
  private deliver(ff: FileFetch, at: number, piece: Uint8Array): void {
    const pieceEnd = at + piece.length;
    for (const w of ff.waiters) {
      const a = Math.max(w.from, at);
      const b = Math.min(w.to, pieceEnd);
      if (a >= b) continue;
      if (!w.out && a === w.from && b === w.to) {
        // One piece holds the whole read: answer with a view of it (no copy into fresh memory). Pieces are never
        // written after they arrive.
        w.out = piece.subarray(a - at, b - at);
        ff.waiters.delete(w);
        w.resolve();
        continue;
      }
      w.out ??= new Uint8Array(w.to - w.from);
      w.out.set(piece.subarray(a - at, b - at), w.outAt + (a - w.from));
      w.filled += b - a;
      if (w.filled === w.to - w.from) {
        ff.waiters.delete(w);
        w.resolve();
      }
    }
  }

  // ---- range blocks -----------------------------------------------------------------------------------------------

  /**
   * Serves [pos, end) from range blocks: only the blocks the read covers. No read-ahead of our own: the kernel's
   * readahead already asks ahead of a sequential reader (in READs up to 1 MiB), and anything more would be bytes a
   * tag reader never wanted.
   */
  private async readFromBlocks(ff: FileFetch, pos: number, end: number, out: Uint8Array, outBase: number, ctx: ReadContext): Promise<number> {
    const B = this.o.rangeBlockBytes;
    const first = Math.floor(pos / B);
    const last = Math.floor((end - 1) / B);
    const blocks = this.blocks(ff, first, last, "read");
    for (const b of blocks) b.catch(() => {}); // a failure ends the loop below before the later blocks are awaited
    for (let k = first; k <= last; k++) {
      const bytes = await this.bounded(blocks[k - first], ctx);
      copyOverlap(bytes, k * B, out, outBase, end, pos);
    }
    return end;
  }

  /**
   * Blocks first..last of a file, each from memory, the store (a recorded range block) or the origin — contiguous
   * missing blocks in one ranged read. Blocks fetched for reads ("read") are kept in memory and, unless the file is
   * being fetched whole anyway, stored and recorded; blocks fetched for the primary ("primary") are neither: its
   * chunks are what gets stored.
   */
  private blocks(ff: FileFetch, first: number, last: number, purpose: "read" | "primary"): Promise<Uint8Array>[] {
    const out: Promise<Uint8Array>[] = [];
    let missingFrom = -1;
    const fetchMissing = (until: number) => {
      if (missingFrom < 0) return;
      out.push(...this.fetchBlocks(ff, missingFrom, until, purpose));
      missingFrom = -1;
    };
    for (let k = first; k <= last; k++) {
      const known = this.memoryBlock(ff, k) ?? this.storedBlock(ff, k, purpose);
      if (known) {
        fetchMissing(k);
        out.push(known);
      } else if (missingFrom < 0) missingFrom = k;
    }
    fetchMissing(last + 1);
    return out;
  }

  private memoryKey(ff: FileFetch, k: number): string {
    return `${ff.file.fileId}/${ff.file.size}/${ff.file.mtimeMs}/${k}`;
  }

  private memoryBlock(ff: FileFetch, k: number): Promise<Uint8Array> | undefined {
    const key = this.memoryKey(ff, k);
    const p = this.memoryBlocks.get(key);
    if (p) {
      this.memoryBlocks.delete(key); // re-insert: most recently used last
      this.memoryBlocks.set(key, p);
    }
    return p;
  }

  private rememberBlock(ff: FileFetch, k: number, p: Promise<Uint8Array>): void {
    const key = this.memoryKey(ff, k);
    this.memoryBlocks.set(key, p);
    p.catch(() => {
      if (this.memoryBlocks.get(key) === p) this.memoryBlocks.delete(key);
    });
    while (this.memoryBlocks.size > this.o.maxMemoryBlocks) this.memoryBlocks.delete(this.memoryBlocks.keys().next().value!);
  }

  /** A recorded range block read back from the store (verified); fetched again if it went missing or bad. */
  private storedBlock(ff: FileFetch, k: number, purpose: "read" | "primary"): Promise<Uint8Array> | undefined {
    const index = this.deps.rangeIndex;
    if (!index) return undefined;
    ff.stored ??= index.blocksOf(ff.file.fileId, ff.file, this.o.rangeBlockBytes);
    const b = ff.stored.get(k);
    if (!b) return undefined;
    const p = this.deps.store.get(hexToId(b.hex), b.length).then((r) => {
      if (r.kind === "ok") return r.bytes;
      ff.stored?.delete(k);
      return this.fetchBlocks(ff, k, k + 1, purpose)[0];
    });
    if (purpose === "read") this.rememberBlock(ff, k, p);
    return p;
  }

  /** One ranged origin read of blocks [from, until), split into one promise per block. */
  private fetchBlocks(ff: FileFetch, from: number, until: number, purpose: "read" | "primary"): Promise<Uint8Array>[] {
    const B = this.o.rangeBlockBytes;
    const start = from * B;
    const run = Promise.all([this.fetchExactly(ff.file, start, Math.min(ff.file.size, until * B) - start), this.checkVersion(ff)]).then(
      ([bytes]) => bytes,
    );
    const persist = purpose === "read" && !ff.playback && this.deps.rangeIndex !== undefined;
    if (persist) this.track(run.then((bytes) => this.storeBlocks(ff, from, bytes))).catch(() => {});
    const out: Promise<Uint8Array>[] = [];
    for (let k = from; k < until; k++) {
      const p = run.then((bytes) => bytes.subarray((k - from) * B, Math.min(bytes.length, (k - from + 1) * B)));
      if (purpose === "read") this.rememberBlock(ff, k, p);
      out.push(p);
    }
    return out;
  }

  /**
   * Bytes of another version must never be served under the library's size and mtime. The primary checks with a
   * stat before it streams; range reads check once per file, alongside their first read (not before it, so that
   * the check adds no round trip to the first byte). A failed check is forgotten so that a later read retries.
   */
  private checkVersion(ff: FileFetch): Promise<void> {
    if (!ff.versionCheck) {
      const { file } = ff;
      const check = withTimeout(file.origin.stat(file.realPath), this.o.originTimeoutMs, () =>
        new FetchError("timeout", `${describe(file)}: origin did not answer within ${this.o.originTimeoutMs} ms`),
      ).then((now) => {
        if (now.size !== file.size || now.mtimeMs !== file.mtimeMs)
          throw new FetchError("changed", `${describe(file)} changed on the origin (size/mtime differ from the library); rescan needed`);
      });
      check.catch(() => {
        if (ff.versionCheck === check) ff.versionCheck = null;
      });
      ff.versionCheck = check;
    }
    return ff.versionCheck;
  }

  /** Stores fetched range blocks as chunks and records them, so they are never fetched again. */
  private async storeBlocks(ff: FileFetch, from: number, bytes: Uint8Array): Promise<void> {
    const B = this.o.rangeBlockBytes;
    const index = this.deps.rangeIndex!;
    for (let k = from, at = 0; at < bytes.length; k++, at += B) {
      const block = bytes.subarray(at, Math.min(bytes.length, at + B));
      const id = hashChunk(block);
      try {
        await this.deps.store.put(block, id);
      } catch (e) {
        this.noteStoreFailure(ff.file, e);
        return;
      }
      // Recorded even while closing (close waits for this): the bytes were fetched and stored, so keep them. But a
      // file fetched whole meanwhile has no use for them: its manifest is the record now.
      if (ff.primary === "done") {
        const m = this.manifests.get(ff.file.fileId);
        this.dropBlockChunk(chunkHex(id), m ? manifestChunkHexes(m) : new Set());
        continue;
      }
      const b: RangeBlock = { block: k, hex: chunkHex(id), length: block.length };
      index.record(ff.file.fileId, ff.file, B, b);
      ff.stored?.set(k, b);
    }
  }

  /** Reads exactly `length` bytes at `offset`, tolerating short reads; each origin call is time-bounded. */
  private async fetchExactly(file: CachedFileRef, offset: number, length: number): Promise<Uint8Array> {
    let out: Uint8Array | undefined;
    let got = 0;
    while (got < length) {
      const piece = await withTimeout(
        file.origin.read(file.realPath, offset + got, length - got),
        this.o.originTimeoutMs,
        () => new FetchError("timeout", `${describe(file)}: origin did not answer within ${this.o.originTimeoutMs} ms`),
      );
      if (piece.length === 0) throw new FetchError("changed", `${describe(file)} is shorter on the origin than recorded`);
      this.deps.stats?.countOriginBytes(piece.length);
      // The usual case, one whole answer, is used as it is: a copy into a fresh buffer cost a quarter of the CPU of
      // a cold read (page faults on new memory). Origins return a fresh buffer per read, so it can be kept.
      if (got === 0 && piece.length >= length) return piece.length === length ? piece : piece.subarray(0, length);
      out ??= new Uint8Array(length);
      out.set(piece.subarray(0, length - got), got);
      got += piece.length;
    }
    return out!;
  }

  // ---- the primary (sequential, chunking) fetch ------------------------------------------------------------------

  private ensurePrimary(ff: FileFetch): void {
    if (ff.primary === "running" || ff.primary === "queued" || ff.primary === "done" || this.closed) return;
    if (ff.primary === "failed") ff.done = deferred(); // a retry: prefetch() callers wait for this attempt
    if (this.runningPrimaries < this.o.maxConcurrentFileFetches) this.startPrimary(ff);
    else {
      ff.primary = "queued";
      this.primaryQueue.push(ff);
    }
  }

  private startPrimary(ff: FileFetch): void {
    this.runningPrimaries++;
    ff.primary = "running";
    this.track(
      this.runPrimary(ff)
        .catch((e) => this.failPrimary(ff, e))
        .finally(() => {
          this.runningPrimaries--;
          this.startQueued();
        }),
    );
  }

  private startQueued(): void {
    while (this.runningPrimaries < this.o.maxConcurrentFileFetches && this.primaryQueue.length > 0) {
      const next = this.primaryQueue.shift()!;
      if (next.primary === "queued" && this.fetches.get(next.file.fileId) === next) this.startPrimary(next);
    }
  }

  private async runPrimary(ff: FileFetch): Promise<void> {
    const { file } = ff;
    const bound = <T>(p: Promise<T>) =>
      withTimeout(p, this.o.originTimeoutMs, () => new FetchError("timeout", `${describe(file)}: origin stalled for ${this.o.originTimeoutMs} ms`));
    await bound(this.checkVersion(ff));
    const chunker = new StreamingChunker(ff.cutEnd, this.o.cdc);
    ff.chunker = chunker;
    const stores: Promise<void>[] = [];
    const segments: Promise<Uint8Array[]>[] = [];
    try {
      await this.pipeSegments(ff, chunker, segments, stores, bound);
    } catch (e) {
      await Promise.allSettled(stores); // no write may outlive the fetch (shutdown waits for fetches only)
      this.persistProgress(ff);
      throw e;
    }
    if (this.closed || this.fetches.get(file.fileId) !== ff) return;
    if (chunker.pendingEnd !== file.size)
      throw new FetchError("changed", `${describe(file)} is shorter on the origin than recorded`);
    for (const cut of chunker.finish()) stores.push(this.storeCut(ff, cut));
    await Promise.all(stores);
    this.completeFetch(ff);
  }

  /**
   * Keeps `parallelReads` segment reads in flight ahead of the chunker and takes their bytes in file order, feeding
   * waiters, the chunker and the store, until EOF (or until the fetch is abandoned).
   */
  private async pipeSegments(
    ff: FileFetch,
    chunker: StreamingChunker,
    segments: Promise<Uint8Array[]>[],
    stores: Promise<void>[],
    bound: <T>(p: Promise<T>) => Promise<T>,
  ): Promise<void> {
    const { file } = ff;
    let next = ff.cutEnd;
    for (;;) {
      if (this.closed || this.fetches.get(file.fileId) !== ff) {
        await Promise.allSettled(stores);
        this.persistProgress(ff);
        return;
      }
      while (segments.length < this.o.parallelReads && next < file.size) {
        const to = Math.min(file.size, (Math.floor(next / this.o.segmentBytes) + 1) * this.o.segmentBytes);
        const segment = bound(this.segment(ff, next, to));
        segment.catch(() => {}); // it may fail while an earlier one is awaited; its turn rethrows
        segments.push(segment);
        next = to;
      }
      if (segments.length === 0) return;
      const pieces = await segments.shift()!;
      for (const piece of pieces) {
        const at = chunker.pendingEnd;
        this.retain(ff, at, piece);
        this.deliver(ff, at, piece);
        // Every cut is registered before anything is awaited: a cut chunk must be findable (in memory until
        // stored) the moment it leaves the chunker's buffer, or a read of its range would fall through the gap.
        for (const cut of chunker.push(piece)) stores.push(this.storeCut(ff, cut));
      }
      while (stores.length > this.o.maxPendingStores) await stores.shift();
      this.persistProgress(ff);
    }
  }

  /** Bytes [from, to) for the primary: block-aligned segments reuse blocks already fetched; a resumed start reads directly. */
  private async segment(ff: FileFetch, from: number, to: number): Promise<Uint8Array[]> {
    const B = this.o.rangeBlockBytes;
    if (from % B !== 0) return [await this.fetchExactly(ff.file, from, to - from)];
    return joinAdjacent(await Promise.all(this.blocks(ff, from / B, Math.floor((to - 1) / B), "primary")));
  }

  private async storeCut(ff: FileFetch, cut: CutChunk): Promise<void> {
    const id = hashChunk(cut.bytes);
    const c: FetchedChunk = {
      offset: cut.offset, length: cut.bytes.length, id, hex: chunkHex(id), checksum: readChecksum(cut.bytes),
      state: "storing", bytes: cut.bytes,
    };
    ff.chunks.push(c);
    ff.cutEnd = c.offset + c.length;
    this.deps.pins?.pin(ff.pinOwner, [c.hex]);
    try {
      await this.deps.store.put(cut.bytes, id);
      c.state = "stored";
    } catch (e) {
      c.state = "unstored";
      this.noteStoreFailure(ff.file, e);
    } finally {
      c.bytes = undefined;
    }
  }

  /** Keeps a piece of the primary in memory for a while (see `retained`); the oldest are let go first. */
  private retain(ff: FileFetch, at: number, bytes: Uint8Array): void {
    const piece = { at, bytes };
    ff.recent.push(piece);
    this.retained.push({ ff, piece });
    this.retainedBytes += bytes.length;
    while (this.retainedBytes > this.o.retainedBytes && this.retained.length > 0) {
      const old = this.retained.shift()!;
      old.ff.recent.splice(old.ff.recent.indexOf(old.piece), 1);
      this.retainedBytes -= old.piece.bytes.length;
    }
  }

  /** A finished or abandoned fetch gives its retained pieces back at once (reads now go through its manifest). */
  private release(ff: FileFetch): void {
    if (ff.recent.length === 0) return;
    ff.recent = [];
    let kept = 0;
    for (const r of this.retained) if (r.ff !== ff) this.retained[kept++] = r;
    this.retained.length = kept;
    this.retainedBytes = this.retained.reduce((n, r) => n + r.piece.bytes.length, 0);
  }

  private noteStoreFailure(file: CachedFileRef, e: unknown): void {
    // StoreFullError was already warned about (once) by the store; anything else is unexpected and worth a line.
    if (!(e instanceof StoreFullError)) log.warn(`caching ${describe(file)}: ${errorMessage(e)}; serving from the origin`);
  }

  private completeFetch(ff: FileFetch): void {
    const { file } = ff;
    const m = buildManifest(ff.chunks, file.size, file.mtimeMs);
    const complete = ff.chunks.every((c) => c.state === "stored");
    // Even with chunks missing (disk full) the manifest is right: reads repair missing chunks one by one.
    this.rememberManifest(file.fileId, m);
    ff.primary = "done";
    if (complete) {
      this.deps.progress?.forget(file.fileId);
      this.deps.ledger?.recordManifest(file.fileId, file.size);
      this.dropRangeBlocks(ff, m);
      this.deps.bus?.emit("ManifestCached", {
        fileId: file.fileId, manifest: encodeManifest(m), originSize: file.size, originMtimeMs: file.mtimeMs,
      });
    }
    this.dropFetch(ff);
  }

  /**
   * The manifest supersedes the file's range blocks: their records go, and so do their chunk files (unless the
   * manifest or an open file uses the same bytes). Another file with identical bytes may share a block; it then
   * finds it missing and fetches it again, which costs a request but is never wrong.
   */
  private dropRangeBlocks(ff: FileFetch, m: Manifest): void {
    const index = this.deps.rangeIndex;
    if (!index) return;
    const blocks = ff.stored ?? index.blocksOf(ff.file.fileId, ff.file, this.o.rangeBlockBytes);
    index.forget(ff.file.fileId);
    if (blocks.size === 0) return;
    const keep = manifestChunkHexes(m);
    for (const b of blocks.values()) this.dropBlockChunk(b.hex, keep);
  }

  private dropBlockChunk(hex: ChunkHex, keep: Set<ChunkHex>): void {
    if (keep.has(hex) || this.deps.pins?.isPinned(hex)) return;
    try {
      this.deps.store.deleteNow(hex);
    } catch (e) {
      log.debug(`cannot delete range block ${hex.slice(0, 16)}…: ${errorMessage(e)}`);
    }
  }

  private failPrimary(ff: FileFetch, e: unknown): void {
    const err = asFetchError(e, ff.file);
    if (ff.primary === "done") return;
    ff.primary = "failed";
    ff.chunker = null;
    ff.versionCheck = null; // a retry checks the origin again
    log.debug(`fetch of ${describe(ff.file)} stopped at ${ff.cutEnd}: ${err.message}`);
    for (const w of ff.waiters) w.reject(err);
    ff.waiters.clear();
    ff.done.resolve();
  }

  private dropFetch(ff: FileFetch): void {
    if (this.fetches.get(ff.file.fileId) === ff) this.fetches.delete(ff.file.fileId);
    this.release(ff);
    this.deps.pins?.unpin(ff.pinOwner);
    for (const w of ff.waiters) w.reject(new FetchError("changed", `${describe(ff.file)}: fetch abandoned`));
    ff.waiters.clear();
    ff.done.resolve();
  }

  /** Races `p` against the read's cancellation. */
  private bounded<T>(p: Promise<T>, ctx: ReadContext): Promise<T> {
    ctx.check();
    return new Promise<T>((resolve, reject) => {
      const forget = ctx.onCancel(() => reject(ctx.error));
      p.then(
        (v) => {
          forget();
          resolve(v);
        },
        (e) => {
          forget();
          reject(e);
        },
      );
    });
  }
}

/**
 * Blocks fetched in one ranged read are views of one buffer: they are handed on as one piece, so that the chunker
 * carries (copies) a chunk across piece boundaries once per segment instead of once per block, and a READ within
 * the segment can be answered with a view of it.
 */
function joinAdjacent(pieces: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset)
      out[out.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + p.length);
    else out.push(p);
  }
  return out;
}

/** Adds [from, to) to sorted, disjoint ranges, merging neighbours; at most 64 ranges are kept (the first ones). */
function mergeRange(ranges: [number, number][], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let a = from;
  let b = to;
  let placed = false;
  for (const [x, y] of ranges) {
    if (y < a) out.push([x, y]);
    else if (x > b) {
      if (!placed) out.push([a, b]);
      placed = true;
      out.push([x, y]);
    } else {
      a = Math.min(a, x);
      b = Math.max(b, y);
    }
  }
  if (!placed) out.push([a, b]);
  return out.length > 64 ? out.slice(0, 64) : out;
}

function hexToId(hex: ChunkHex): ChunkId {
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The retained piece holding byte `pos`, if any (a few dozen pieces at most). */
function findPiece(pieces: readonly RetainedPiece[], pos: number): RetainedPiece | undefined {
  for (const p of pieces) if (pos >= p.at && pos < p.at + p.bytes.length) return p;
  return undefined;
}

/** Binary search for the fetched chunk containing `pos`. */
function findChunk(chunks: FetchedChunk[], pos: number): FetchedChunk | undefined {
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
function copyOverlap(src: Uint8Array, srcOffset: number, out: Uint8Array, outOffset: number, to: number, from = outOffset): void {
  const a = Math.max(from, srcOffset);
  const b = Math.min(to, srcOffset + src.length, outOffset + out.length);
  if (a >= b) return;
  out.set(src.subarray(a - srcOffset, b - srcOffset), a - outOffset);
}


function describe(file: CachedFileRef): string {
  return `"${file.realPath}" (${file.origin.displayName})`;
}

function asFetchError(e: unknown, file: CachedFileRef): FetchError {
  if (e instanceof FetchError) return e;
  return new FetchError("origin", `${describe(file)}: ${errorMessage(e)}`, { cause: e });
}
