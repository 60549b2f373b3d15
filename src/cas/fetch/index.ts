/**
 * The fetcher (main thread): answers reads of cached origins, fetching from the origin what the store lacks. This
 * module is its facade — the public API, the files being read, and the queue of whole-file fetches; each concern is
 * a module of this folder:
 *
 * - `readContext.ts` — a read's deadline (`readTimeoutMs`) and cancellation (FUSE INTERRUPT): whatever the read
 *   waits for, it rejects with FetchError (EIO) at once when either fires; until then a network drop is ridden out
 *   (a transient failure is tried again).
 * - `sharedHeads.ts` — one HEAD per file at a time, shared by the check at OPEN and the version check of reads.
 * - `originReads.ts` — every origin call time-bounded (`originTimeoutMs`, so a hung origin never holds a fetch slot)
 *   and given that bound as its retry deadline,
 *   short answers completed, and the version check (size + mtime) before any byte of a file is used.
 * - `manifestReads.ts` — a file with a current manifest is read chunk by chunk from the store; a missing or corrupt
 *   chunk is re-fetched alone (checked against its id), with a few following ones for a player reading on.
 * - `rangeBlocks.ts` — a file without one is read in aligned 32 KiB range blocks, contiguous missing blocks in one
 *   ranged read, stored and recorded in the RangeIndex (a tag reader's head and tail reads are fetched once, ever).
 * - `readAheadWindow.ts` (pure) — such files are opened without kernel readahead (direct I/O); a reader that reads
 *   on gets a window ahead of it that starts small and doubles, and stops when the reader stops or jumps.
 * - `playbackDetector.ts` (pure) — reads that cover `playbackThresholdBytes` from offset 0 look like playback; only
 *   those (or a prefetch) start the file's one sequential fetch. A copy (cp, rsync, dd: reads of one large size back
 *   to back from offset 0) is recognised after 1 MiB, as its read arrives, and its fetch opens its whole window.
 * - `sequentialFetch.ts` — that fetch: ranged reads ahead of the reader, in file order, written into the file's
 *   partial data file and cut and hashed after they are written by the hash worker (the chunk layout: through
 *   FastCDC on this thread), progress recorded so a failure or restart resumes from the last cut; at EOF the manifest
 *   and `ManifestCached`. One that playback started stops when the file's last reader closes it (`readerClosed`),
 *   not when a reader pauses (a paused track still ends up whole, for offline play).
 * - `fetchWindow.ts` (pure) — its window: a small first request, doubling as the stream goes, up to a bound.
 * - `seekWindow.ts` (pure) — a read at most `seekWindowBytes` ahead of the stream waits for it (`waiters.ts`); a
 *   read further on is a seek, served by range blocks meanwhile.
 * - `retained.ts` — the stream's latest pieces kept in memory for readers just behind it.
 * - `streamReads.ts` — for a file without a manifest, which of those sources serves each part of a read.
 * - `fileFetch.ts` — the per-file state they share; `fetchError.ts` — FetchError and how failures are described;
 *   `options.ts` — the tuning and its defaults.
 *
 * Disk full: a chunk is not stored (StoreFullError, warned once by the store), the read is still answered from the
 * fetched bytes, later reads of that range go to the origin, and no ManifestCached is emitted.
 */
import { Lru } from "../../core/lru.ts";
import type { ContentId } from "../../core/types.ts";
import { log } from "../../core/logger.ts";
import { describe, FetchError } from "./fetchError.ts";
import { deferred, newFileFetch, streamPosition, type FileFetch } from "./fileFetch.ts";
import { ManifestReads } from "./manifestReads.ts";
import { resolveOptions, type CachedFileRef, type FetchEnv, type FetcherOptions, type ResolvedOptions } from "./options.ts";
import { DEFAULT_COPY_PARAMS, observeCopyRead, observeRead } from "./playbackDetector.ts";
import { RangeBlocks } from "./rangeBlocks.ts";
import { nextReadAhead } from "./readAheadWindow.ts";
import { withReadContext, type ReadContext } from "./readContext.ts";
import { RetainedPieces } from "./retained.ts";
import { SequentialFetch } from "./sequentialFetch.ts";
import { SharedHeads, type OriginStat } from "./sharedHeads.ts";
import { StreamReads } from "./streamReads.ts";
import { rejectAll } from "./waiters.ts";

export { FetchError, type FetchFailure } from "./fetchError.ts";
export type { CachedFileRef, FetcherOptions } from "./options.ts";
export type { OriginStat } from "./sharedHeads.ts";

/** How long after a read failed at its deadline an overlapping read of the same file fails at once (see expiredRead). */
const EXPIRED_READ_WINDOW_MS = 1_000;
/** Files without a manifest whose read state is kept while they are not being fetched (a scan touches thousands). */
const MAX_TRACKED_FILES = 256;

export class Fetcher {
  private readonly o: ResolvedOptions;
  /** Files being read without a manifest, least recently read first; idle ones beyond the bound are forgotten. */
  private readonly fetches = new Lru<ContentId, FileFetch>(MAX_TRACKED_FILES, {
    canEvict: (ff) => ff.primary === "idle" && ff.waiters.size === 0,
    onEvict: (ff) => {
      this.blocks.storeUnstored(ff);
      this.dropFetch(ff);
    },
  });
  /** The latest read of each file that failed at its deadline (see expiredRead); a few entries at most. */
  private readonly expired = new Lru<ContentId, { at: number; from: number; to: number; error: FetchError }>(64);
  private runningPrimaries = 0;
  private readonly primaryQueue: FileFetch[] = [];
  private closed = false;
  private readonly background = new Set<Promise<unknown>>();
  private readonly manifests: ManifestReads;
  private readonly retained: RetainedPieces;
  private readonly sequential: SequentialFetch;
  private readonly stream: StreamReads;
  private readonly blocks: RangeBlocks;
  private readonly heads = new SharedHeads();

  constructor(private readonly deps: FetcherOptions) {
    this.o = resolveOptions(deps);
    const env: FetchEnv = { deps, o: this.o, closed: () => this.closed, track: (p) => this.track(p), heads: this.heads };
    this.manifests = new ManifestReads(env);
    const blocks = new RangeBlocks(env, (id) => this.manifests.known(id));
    this.blocks = blocks;
    this.retained = new RetainedPieces(this.o.retainedBytes);
    this.sequential = new SequentialFetch(env, {
      blocks, manifests: this.manifests, retained: this.retained,
      isCurrent: (ff) => this.isTracked(ff), drop: (ff) => this.dropFetch(ff),
    });
    this.stream = new StreamReads(env, blocks, this.manifests);
  }

  /** Reads [offset, offset+size) of a cached file (clamped to its size). Rejects with FetchError. */
  read(file: CachedFileRef, offset: number, size: number, signal?: AbortSignal): Promise<Uint8Array> {
    const end = Math.min(offset + size, file.size);
    if (offset >= end) return Promise.resolve(new Uint8Array(0));
    if (this.closed) return Promise.reject(new FetchError("closed", "the cache is shutting down"));
    const expired = this.expiredRead(file, offset, end);
    if (expired) return Promise.reject(expired);
    const read = withReadContext(file, this.o.readTimeoutMs, signal, (ctx) => this.readRange(file, offset, end, ctx));
    read.catch((e) => {
      if (e instanceof FetchError && e.reason === "timeout")
        this.expired.set(file.fileId, { at: performance.now(), from: offset, to: end, error: e });
    });
    return read;
  }

  /**
   * The kernel asks again for pages whose readahead READ failed (one page, at once): that is still the read that
   * just waited out its deadline, so it fails at once instead of waiting a second deadline (a reader would see EIO
   * at twice read_timeout_ms). Only overlapping reads of that file, within a second of the failure.
   */
  private expiredRead(file: CachedFileRef, from: number, to: number): FetchError | undefined {
    const e = this.expired.get(file.fileId);
    if (!e) return undefined;
    if (performance.now() - e.at > EXPIRED_READ_WINDOW_MS) {
      this.expired.delete(file.fileId);
      return undefined;
    }
    return from < e.to && e.from < to ? e.error : undefined;
  }

  /**
   * Fetches the whole file into the store (prefetch). Resolves when it is cached or the attempt ended. `bulk`:
   * nobody waits for its first bytes (a pin, not the next track of a player), so it starts with large requests.
   */
  async prefetch(file: CachedFileRef, options: { bulk?: boolean } = {}): Promise<void> {
    if (this.manifests.current(file)) return;
    const ff = this.fetchFor(file);
    ff.playback = true;
    ff.wholeFile = true;
    if (options.bulk && ff.primary !== "running") ff.bulk = true;
    this.ensurePrimary(ff);
    await ff.done.promise;
  }

  /**
   * A HEAD of the file (the check at OPEN that it was not replaced on the store), shared with its reads' version
   * check (sharedHeads.ts): the first read of a file just opened makes no HEAD of its own.
   */
  statOrigin(file: Pick<CachedFileRef, "origin" | "realPath">): Promise<OriginStat> {
    return this.heads.stat(file, () => file.origin.stat(file.realPath));
  }

  /**
   * A file not cached whole was opened: its read state is made now — a whole-file fetch a restart cut off found in
   * `fetch_progress`, its stored range blocks looked up in the RangeIndex — while the kernel answers the OPEN and
   * sends the first READ, so that READ goes straight to its GET (bench/s3/firstByte.ts: these lookups, and on a
   * mount's first read the first run of their code, were 0.3–3 ms of the main thread's path to the GET). No request
   * is made and nothing is fetched: a file opened and never read only costs these two queries.
   */
  opened(file: CachedFileRef): void {
    if (this.closed || this.manifests.current(file)) return;
    this.blocks.lookUpStored(this.fetchFor(file));
  }

  /**
   * A FUSE worker read [offset, end) of the file from its local origin itself (src/fs/originBackedReads.ts; it
   * reports the reads at the file's start): nothing to answer, only the playback detection, which starts the copy
   * of the whole file into the cache when the reading looks like playback. Nobody waits for that copy's bytes, so it
   * starts with large requests (`bulk`).
   */
  originRead(file: CachedFileRef, offset: number, end: number): void {
    if (this.closed || this.manifests.current(file)) return;
    const ff = this.fetchFor(file);
    ff.furthestRead = Math.max(ff.furthestRead, end);
    if (!ff.playback && ff.primary !== "running") ff.bulk = true;
    this.notePlayback(ff, offset, end);
  }

  /**
   * A reader of the file passed its middle: the copy of a local origin's file, if one runs, is finished even when the
   * reader then closes it (a track played past half is kept for offline play; one skipped early is not copied to
   * its end). A remote file's reads bring its bytes themselves: its fetch stops with its reader, as readerClosed says.
   */
  pastHalf(fileId: ContentId): void {
    const ff = this.fetches.peek(fileId);
    if (ff && ff.playback && ff.file.origin.localPath) ff.wholeFile = true;
  }

  /** Whole-file fetches running now, and waiting for a turn (metrics). */
  fetchesInFlight(): { running: number; queued: number } {
    return { running: this.runningPrimaries, queued: this.primaryQueue.length };
  }

  /**
   * The last open of the file was closed. A whole-file fetch that playback started stops here (the reader stopped:
   * a skipped track is not downloaded to its end); what it stored is kept and recorded, and the next read resumes
   * it. A prefetch's fetch runs on.
   */
  readerClosed(fileId: ContentId): void {
    const ff = this.fetches.peek(fileId);
    if (ff) this.blocks.storeUnstored(ff); // the blocks held back that no fetch recorded are kept
    if (!ff || ff.wholeFile || (ff.primary !== "running" && ff.primary !== "queued")) return;
    // A rest no larger than the fetch's window is finished anyway: a file read (nearly) to its end, whose bytes the
    // reads already brought, still becomes cached whole.
    const reached = Math.max(streamPosition(ff), ff.furthestRead);
    if (ff.file.size - reached <= this.o.fetchWindowMaxBytes) return;
    log.debug(`fetch of ${describe(ff.file)} stopped at ${ff.cutEnd} of ${ff.file.size} bytes: no reader left`);
    this.dropFetch(ff);
  }

  /** True while a whole-file fetch of the file runs or waits for its turn. */
  fetching(fileId: ContentId): boolean {
    const ff = this.fetches.peek(fileId);
    return ff !== undefined && (ff.primary === "running" || ff.primary === "queued");
  }

  /** The file's cached content was dropped (`cache clear`): its next read starts from the origin. */
  forgetManifest(fileId: ContentId): void {
    this.manifests.forget(fileId);
  }

  /** True when a current manifest is known for the file (its chunks may still need repair). */
  hasManifest(file: CachedFileRef): boolean {
    return this.manifests.current(file) !== undefined;
  }

  /**
   * Stops: pending reads fail at once, background fetches stop at their next step, and the returned promise waits
   * (at most `waitMs`) for the chunk writes already started, so nothing writes into the store after shutdown.
   */
  async close(waitMs = 5000): Promise<void> {
    this.closed = true;
    for (const ff of this.fetches.values()) {
      this.blocks.storeUnstored(ff); // stored (and recorded) before the store closes: close waits for them below
      rejectAll(ff.waiters, new FetchError("closed", "the cache is shutting down"));
    }
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

  private async readRange(file: CachedFileRef, offset: number, end: number, ctx: ReadContext): Promise<Uint8Array> {
    const whole = this.deps.dataFiles?.read(file, offset, end);
    if (whole) {
      this.deps.stats?.countHit();
      return whole;
    }
    const m = this.manifests.current(file);
    if (m) {
      const out = await this.manifests.read(file, m, offset, end, ctx);
      if (out) return out;
      // The origin no longer matches the manifest (content changed under the same size and mtime): start over.
      this.manifests.forget(file.fileId);
      this.deps.ledger?.forgetManifest(file.fileId);
      file = { ...file, manifest: null };
      log.warn(`${describe(file)} changed on the origin without a new mtime: its cached copy was dropped`);
    }
    this.deps.stats?.countMiss();
    const ff = this.fetchFor(file);
    ff.furthestRead = Math.max(ff.furthestRead, end);
    this.noteCopy(ff, offset, end);
    const ahead = nextReadAhead(ff.readAhead, offset, end, file.size, {
      initialBytes: this.o.readAheadInitialBytes, maxBytes: this.o.readAheadMaxBytes, seeking: ff.playback,
    });
    ff.readAhead = ahead.state;
    // Only reads served by range blocks use it (a seek past the stream, a file whose fetch waits for its turn).
    const bytes = await this.stream.read(ff, offset, end, ctx, ahead.fetchTo);
    this.notePlayback(ff, offset, end);
    return bytes;
  }

  /** The file's read state: the one being kept, or a new one (resuming a whole-file fetch a restart cut off). */
  private fetchFor(file: CachedFileRef): FileFetch {
    let ff = this.fetches.get(file.fileId);
    if (ff && (ff.file.size !== file.size || ff.file.mtimeMs !== file.mtimeMs)) {
      this.dropFetch(ff);
      ff = undefined;
    }
    if (ff) return ff;
    ff = newFileFetch(file);
    this.sequential.resumeFromProgress(ff);
    this.fetches.set(file.fileId, ff);
    return ff;
  }

  /** A whole-file fetch of this file is running or queued (its partial data file must not be evicted). */
  isFetching(fileId: ContentId): boolean {
    const ff = this.fetches.peek(fileId);
    return ff !== undefined && (ff.primary === "running" || ff.primary === "queued");
  }

  private isTracked(ff: FileFetch): boolean {
    return this.fetches.peek(ff.file.fileId) === ff;
  }

  /**
   * Decided after the read was answered, so that the sequential fetch finds the blocks this read fetched and
   * reuses them instead of fetching them again.
   */
  private notePlayback(ff: FileFetch, offset: number, end: number): void {
    if (!ff.playback) {
      const seen = observeRead(ff.readRanges, offset, end, this.o.playbackThresholdBytes, ff.file.size);
      ff.readRanges = seen.ranges;
      ff.playback = seen.playback;
    }
    if (ff.playback && this.isTracked(ff)) this.ensurePrimary(ff);
  }

  /**
   * A copy is decided as its read arrives, not after it was answered: the read is then answered by the whole-file
   * fetch, which starts at once with its whole window (`bulk`: the copier reads on without pause), so from its
   * second read on a copy has the window's GETs in flight, where reads until the playback threshold waited for a
   * GET of their own, the read-ahead window's, each (docs/benchmarks.md "Cold reads at 20 ms RTT").
   */
  private noteCopy(ff: FileFetch, offset: number, end: number): void {
    if (ff.playback) return;
    const seen = observeCopyRead(ff.copyRun, offset, end, DEFAULT_COPY_PARAMS);
    ff.copyRun = seen.run;
    if (!seen.copy) return;
    ff.playback = true;
    if (ff.primary !== "running") ff.bulk = true;
    if (this.isTracked(ff)) this.ensurePrimary(ff);
  }

  // ---- the queue of whole-file fetches: at most maxConcurrentFileFetches at once, the others wait in order ----

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
      this.sequential
        .run(ff)
        .catch((e) => this.sequential.fail(ff, e))
        .finally(() => {
          this.runningPrimaries--;
          this.startQueued();
        }),
    );
  }

  private startQueued(): void {
    while (this.runningPrimaries < this.o.maxConcurrentFileFetches && this.primaryQueue.length > 0) {
      const next = this.primaryQueue.shift()!;
      if (next.primary === "queued" && this.isTracked(next)) this.startPrimary(next);
    }
  }

  /** Forgets a file's read state: its waiting reads fail, its pins and retained pieces go. */
  private dropFetch(ff: FileFetch): void {
    if (this.isTracked(ff)) this.fetches.delete(ff.file.fileId);
    this.blocks.forgetUnstored(ff); // stored first where they are still wanted (readerClosed, eviction, close)
    this.retained.release(ff);
    this.deps.pins?.unpin(ff.pinOwner);
    rejectAll(ff.waiters, new FetchError("changed", `${describe(ff.file)}: fetch abandoned`));
    ff.done.resolve();
  }
}
