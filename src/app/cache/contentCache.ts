import type { MusicFsConfig } from "../../config/config.ts";
import type { CachePaths } from "../../config/paths.ts";
import { EventBus } from "../../core/eventBus.ts";
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { asContentId, type ContentId, type FileId } from "../../core/ids.ts";
import { fileContentId, fileIdOfContent, imageContentId, imageIdOfContent } from "../../core/contentIds.ts";
import { openChunkCache, type ChunkCache } from "../../cas/chunkCache.ts";
import { existsSync } from "node:fs";
import { chunkPath } from "../../cas/chunkPaths.ts";
import type { PinStrength } from "../../cas/eviction.ts";
import { decodeManifest, manifestChunkHexes } from "../../cas/manifestCodec.ts";
import { FetchError, type CachedFileRef } from "../../cas/fetch/index.ts";
import type { CacheStatsSnapshot } from "../../cas/cacheStats.ts";
import { Errno } from "../../fuse/filesystem.ts";
import type { DeferredReply, DeferredRequest } from "../../fuse/session.ts";
import type { DeferredCachedRead, WorkerMessage } from "../../fs/workerMessages.ts";
import type { Origin } from "../../origins/origin.ts";
import type { Library } from "../library/library.ts";
import { ReadFailureLog } from "./readFailureLog.ts";
import type { RemoteChangeWatch } from "./remoteChangeWatch.ts";
import type { PrefetchTarget } from "./listening.ts";
import type { DataFileRef } from "../../cas/dataFileStore.ts";
import { plural } from "../../core/plural.ts";
import { DataFileScrub } from "../../cas/dataFileScrub.ts";
import { DEFAULT_SCRUB_BYTES_PER_SEC } from "../../config/config.ts";
import { CHECK_REUSED_IDS } from "../../db/migrations.ts";
import { RETIRED_DATA_KEYS } from "../../db/database.ts";
import { parseDataFileName } from "../../cas/dataFilePaths.ts";
import { msFromEnv } from "../../core/testKnobs.ts";

const pinOwner = (id: FileId | ContentId) => `pin:${id}`;

/** The file a fetch's or a user pin's owner name stands for (`fetch:<id>`, `pin:<id>`). */
function fileOfOwner(owner: string): ContentId | undefined {
  const m = /^(?:fetch|pin):(-?\d+)$/.exec(owner);
  return m ? asContentId(Number(m[1])) : undefined;
}

/**
 * The content cache of a live mount (origins with cache = "full"): the chunk store with its fetcher, eviction and
 * statistics, fed by the FUSE workers (deferred reads, opens and releases for pinning, chunk accesses for LRU) and
 * persisting every completed file's manifest through the event bus, so nothing is ever fetched twice.
 */
export class ContentCache {
  readonly cache: ChunkCache;
  readonly bus = new EventBus((event, e) => log.error(`Listener of ${event} failed: ${errorMessage(e)}`));
  private readonly originsById: Map<string, Origin>;
  private foregroundReads = 0;
  private readonly capBytes: number;
  /** Failed reads: the reason once per origin and kind (readFailureLog.ts). */
  private readonly readFailures = new ReadFailureLog();
  /** Remote files replaced or deleted on the store: noticed at open or by a failed read, then synced (set by the mount). */
  changes: RemoteChangeWatch | null = null;
  /** Open handles (owner → file): their chunks stay pinned, also when the file becomes complete while open. */
  private readonly openOwners = new Map<string, ContentId>();
  /** Data file writes and the upgrade, waited for (briefly) at close. */
  private readonly pending = new Set<Promise<unknown>>();
  private closing = false;
  private readonly scrub: DataFileScrub;
  /** Files the user pinned (`musicfs pin`): their chunks are held under `pin:<id>` once the file is cached whole. */
  private pinnedFiles = new Set<FileId>();

  constructor(
    private readonly library: Library,
    paths: CachePaths,
    config: MusicFsConfig,
  ) {
    this.originsById = new Map(library.origins.map((o) => [o.id, o]));
    this.capBytes = config.cache.maxBytes;
    this.cache = openChunkCache({
      cacheDir: paths.cacheDir,
      walBoundedDbs: [paths.patternsDb],
      capBytes: config.cache.maxBytes,
      minFree: config.cache.minFree,
      bus: this.bus,
      loadManifest: (id) => {
        const fileId = fileIdOfContent(id);
        return fileId !== null ? (library.db.getManifest(fileId)?.manifest ?? null) : library.covers.store.imageManifest(imageIdOfContent(id)!);
      },
      // No fsync per chunk: kill -9 loses nothing that reached the page cache, and after a power loss a damaged
      // chunk fails its hash check on read and is fetched again (chunks are verified on every first read).
      // A fsync per 64 KiB chunk cut first reads from a local origin to ~90 MB/s.
      fsync: false,
      fetcher: { readTimeoutMs: config.cache.readTimeoutMs },
      // Open and pinned files keep their data file (a file is opened far more often than it is evicted: a scan is fine).
      isFileKept: (id) => this.isKept(id),
      // A pin keeps a chunk only for a file still read from chunks: one whose data file exists reads that instead
      // (opens, fetches and user pins alike).
      ownerNeedsChunks: (owner) => {
        const fileId = this.openOwners.get(owner) ?? fileOfOwner(owner);
        const ref = fileId === undefined ? null : this.ref(fileId);
        return !ref || !this.cache.dataFiles.has(ref);
      },
    });
    this.scrub = new DataFileScrub({
      store: this.cache.dataFiles,
      bytesPerSec: config.cache.scrubBytesPerSec ?? DEFAULT_SCRUB_BYTES_PER_SEC,
      manifestOf: (id) => {
        const fileId = fileIdOfContent(id);
        const stored = fileId !== null ? (library.db.getManifest(fileId)?.manifest ?? null) : library.covers.store.imageManifest(imageIdOfContent(id)!);
        try {
          return stored ? decodeManifest(stored) : null;
        } catch {
          return null;
        }
      },
    });
    // The one place manifests are persisted: a file fetched completely is never fetched again, even after kill -9.
    this.bus.on("ManifestCached", (e) => {
      const imageId = imageIdOfContent(e.fileId);
      if (imageId !== null) return library.covers.store.updateImageManifest(imageId, e.manifest, e.originSize, e.originMtimeMs);
      const file = fileIdOfContent(e.fileId)!;
      const row = library.db.fileLocation(file);
      if (!row || row.size !== e.originSize || row.mtimeMs !== e.originMtimeMs) return; // the file changed meanwhile
      library.db.updateManifest(file, e.manifest, e.originSize, e.originMtimeMs);
      for (const [owner, fileId] of this.openOwners) if (fileId === e.fileId) this.pin(owner, e.manifest, fileId);
      // Synchronously, before the fetcher releases its own hold on the chunks: a pinned file is never evictable
      // (its chunks until its data file exists, then its data file: isFileKept).
      if (this.pinnedFiles.has(file)) this.pin(pinOwner(file), e.manifest, e.fileId, "kept");
      this.background(this.toDataFile({ fileId: e.fileId, size: e.originSize, mtimeMs: e.originMtimeMs }, e.manifest));
    });
    try {
      this.dropContentOfReusedIds();
    } catch (e) {
      // A full disk: the mount starts anyway; the check is left to do (its marker stays) at the next start.
      log.warn(`content cache: the one-time check for reused file ids could not finish (${errorMessage(e)}); it runs again at the next start`);
    }
  }

  /**
   * Once, after the upgrade to schema 10 (before it, SQLite could hand a removed file's id to a new file): what is
   * recorded under an id may be another file's. A complete data file goes when the library no longer has its id or
   * has no current manifest for it (at worst one whose manifest a crash kept from being saved is fetched once
   * more); partial data files, fetch progress and range blocks are recorded for files without a manifest, so they
   * cannot be told apart from a new file's: all of them go (unfinished fetches start again, tag reads are fetched
   * again). Complete data files of current files stay: nothing cached whole is fetched again.
   */
  private dropContentOfReusedIds(): void {
    const db = this.library.db;
    if (db.getMeta(CHECK_REUSED_IDS) === null) return;
    let dropped = 0;
    let partials = 0;
    const unfinished = new Set([...this.cache.ranges.fileIds(), ...this.cache.progress.fileIds()]);
    for (const e of this.cache.dataFiles.entries()) {
      if (e.fileId >= RETIRED_DATA_KEYS) continue; // kept for an origin that may return (data_key)
      if (parseDataFileName(e.name) === undefined) {
        this.cache.dataFiles.delete(e.fileId);
        partials++;
        continue;
      }
      const imageId = imageIdOfContent(e.fileId);
      const known = imageId === null ? db.fileLocation(fileIdOfContent(e.fileId)!) : this.library.covers.store.imageLocation(imageId);
      if (known && this.storedManifest(e.fileId)) continue;
      this.cache.forgetFile(e.fileId);
      dropped++;
    }
    for (const id of unfinished) {
      this.cache.ranges.forget(id);
      this.cache.progress.forget(id);
    }
    if (dropped + partials + unfinished.size > 0)
      log.info(
        `content cache: file ids are never reused from now on; what an id reused before may have left was dropped: ` +
          `${plural(dropped, "data file")} of removed files or reused ids, ${plural(partials, "partial data file")}, ` +
          `the range blocks and fetch progress of ${plural(unfinished.size, "file")} (fetched again when read)`,
      );
    db.deleteMeta(CHECK_REUSED_IDS);
  }

  start(): void {
    this.background(this.cache.start().then(() => this.upgradeToDataFiles()));
    this.scrub.start(scrubFirstDelayMs());
  }

  private background(p: Promise<unknown>): void {
    const tracked = p.catch((e) => log.warn(`content cache: ${errorMessage(e)}`)).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** A complete file's bytes go into its data file (served by the workers from then on); its chunks are deleted. */
  private async toDataFile(ref: DataFileRef, manifest: Uint8Array, keepChunks = false): Promise<boolean> {
    if (this.closing) return false;
    const outcome = await this.cache.toDataFile(ref, decodeManifest(manifest), { keepChunks });
    if (outcome === "written" || outcome === "present") return true;
    if (outcome === "disk-full") log.warn(`content cache: no room to write the data file of file ${ref.fileId}; it is served from its chunks`);
    else if (outcome !== "source-missing") log.warn(`content cache: the data file of file ${ref.fileId} did not verify (${outcome.damaged.ok ? "?" : outcome.damaged.reason}); its chunks serve it`);
    return false;
  }

  /**
   * A cache dir of the chunk layout (before data files): every completely cached file gets its data file from the
   * chunks already on disk, so nothing is fetched again; the chunks are deleted once all files are converted (a
   * chunk shared by two files must stay until both have their data file). Runs at every start; only files without
   * a data file cost anything.
   */
  private async upgradeToDataFiles(): Promise<void> {
    const todo = [
      ...this.library.db.listCachedVersions().map((v) => ({ ...v, fileId: fileContentId(v.fileId) })),
      // Folder images (album covers) too: their content ids are negative.
      ...this.library.covers.store.cachedImageVersions().map((v) => ({ fileId: imageContentId(v.id), size: v.size, mtimeMs: v.mtimeMs })),
    ].filter((v) => !this.cache.dataFiles.has(v));
    if (todo.length === 0) return;
    log.info(`content cache: writing data files for ${plural(todo.length, "cached file")} (from their chunks)`);
    const converted: DataFileRef[] = [];
    const failed = new Set<string>();
    for (const ref of todo) {
      if (this.closing) return;
      const stored = this.storedManifest(ref.fileId);
      if (!stored) continue;
      if (await this.toDataFile(ref, stored, true)) converted.push(ref);
      else for (const hex of manifestChunkHexes(decodeManifest(stored))) failed.add(hex);
    }
    for (const ref of converted) {
      if (this.closing) return;
      const stored = this.storedManifest(ref.fileId);
      if (!stored) continue;
      const m = decodeManifest(stored);
      if ([...manifestChunkHexes(m)].some((hex) => failed.has(hex))) continue; // shared with a file still read from chunks
      await this.cache.dropChunksOf(m);
    }
    log.info(`content cache: ${plural(converted.length, "file")} now served from data files`);
  }

  /** The current manifest of a file or a folder image, as persisted. */
  private storedManifest(id: ContentId): Uint8Array | null {
    const imageId = imageIdOfContent(id);
    return imageId === null ? (this.library.db.getManifest(fileIdOfContent(id)!)?.manifest ?? null) : this.library.covers.store.imageManifest(imageId);
  }

  /** What the fetcher needs of a file, or of a folder image (an album cover: its content id is negative). */
  private ref(fileId: ContentId): CachedFileRef | null {
    const imageId = imageIdOfContent(fileId);
    const f = imageId === null ? this.library.db.fileLocation(fileIdOfContent(fileId)!) : this.library.covers.store.imageLocation(imageId);
    const origin = f && this.originsById.get(f.originId);
    if (!f || !origin) return null;
    return { fileId, origin, realPath: f.realPath, size: f.size, mtimeMs: f.mtimeMs };
  }

  /** A player waits for bytes not cached yet (background fetches give way: prefetches wait, pins leave a slot). */
  foregroundBusy(): boolean {
    return this.foregroundReads > 0;
  }

  /** A READ a worker could not serve from the chunk store: fetch the range (sharing any fetch of the file). */
  answerDeferred(request: DeferredRequest, reply: DeferredReply): void {
    const { fileId, offset, size } = request.payload as DeferredCachedRead;
    const ref = this.ref(fileId);
    if (!ref) return reply.error(Errno.ENOENT);
    this.foregroundReads++;
    this.cache.fetcher
      .read(ref, offset, size, request.signal)
      .then(
        (bytes) => reply.data(bytes),
        (e) => {
          if (!(e instanceof FetchError)) log.error(`Reading ${ref.realPath} through the cache failed: ${errorMessage(e)}`);
          else {
            this.readFailures.failed(ref, e);
            this.changes?.readFailed(ref, e);
          }
          reply.error(Errno.EIO);
        },
      )
      .finally(() => this.foregroundReads--);
  }

  onWorkerMessage(message: WorkerMessage): void {
    switch (message.type) {
      case "open": {
        this.openOwners.set(message.owner, message.fileId);
        this.cache.dataFiles.touch(message.fileId);
        const dataFile = message.owner.startsWith("data:");
        const ref = this.changes || !dataFile ? this.ref(message.fileId) : null;
        if (ref) this.changes?.opened(ref); // first: its HEAD leaves before anything else is done here
        const stored = message.fileId < 0 ? null : this.library.db.getManifest(fileIdOfContent(message.fileId)!);
        // Not complete yet: the fetcher pins what it fetches, and ManifestCached pins the whole file for us.
        // A data file's open is kept by `isFileKept`; its chunks are gone.
        if (stored && !dataFile) this.pin(message.owner, stored.manifest, message.fileId);
        // Not cached at all: the fetcher readies the file's read state while the kernel sends the first READ.
        else if (!stored && !dataFile && ref) this.cache.fetcher.opened(ref);
        return;
      }
      case "release": {
        const fileId = this.openOwners.get(message.owner);
        this.openOwners.delete(message.owner);
        this.cache.pins.unpin(message.owner);
        // The reader stopped: a whole-file fetch its playback started stops too (not a prefetch's).
        if (fileId !== undefined && ![...this.openOwners.values()].includes(fileId)) this.cache.fetcher.readerClosed(fileId);
        return;
      }
      case "originRead": {
        // A worker read a local origin's file itself (src/fs/originBackedReads.ts): playback starts its copy.
        const ref = this.ref(message.fileId);
        if (ref) this.cache.fetcher.originRead(ref, message.offset, message.offset + message.size);
        return;
      }
      case "halfway":
        this.cache.fetcher.pastHalf(fileContentId(message.fileId));
        return;
      case "chunkAccess":
        this.cache.ledger.recordAccess(message.hexes);
        this.cache.stats.addWorkerCounts({ hits: message.hits, misses: message.misses });
        return;
    }
  }

  private pin(owner: string, manifest: Uint8Array, fileId: ContentId, strength: PinStrength = "held"): void {
    try {
      this.cache.pins.pin(owner, manifestChunkHexes(decodeManifest(manifest)), strength);
    } catch (e) {
      log.warn(`Stored manifest of file ${fileId} is unreadable (${errorMessage(e)}); it will be fetched again.`);
    }
  }

  /**
   * The files kept whatever the cap does: the one notion of "kept" that eviction and `cache clear` ask, besides
   * open files and in-flight fetches (all of them hold their chunks in `cache.pins`).
   */
  setPinnedFiles(ids: ReadonlySet<FileId>): void {
    for (const id of this.pinnedFiles) if (!ids.has(id)) this.cache.pins.unpin(pinOwner(id));
    for (const id of ids) {
      if (this.pinnedFiles.has(id)) continue;
      const stored = this.library.db.getManifest(id);
      // A file in chunks is kept by its chunks; one in its data file by isFileKept.
      if (stored && !this.cache.dataFiles.has({ fileId: fileContentId(id), size: stored.size, mtimeMs: stored.mtimeMs }))
        this.pin(pinOwner(id), stored.manifest, fileContentId(id), "kept");
    }
    this.pinnedFiles = new Set(ids);
  }

  /** Open or pinned: `cache clear` keeps its content. */
  isKept(content: ContentId): boolean {
    const fileId = fileIdOfContent(content);
    if (fileId !== null && this.pinnedFiles.has(fileId)) return true;
    for (const id of this.openOwners.values()) if (id === content) return true;
    return false;
  }

  /**
   * Whether a file's content is in the cache whole: its manifest is stored and current, and its data file is there or
   * every chunk it names is (eviction takes chunks and data files, not manifests: a file once cached may have lost
   * them).
   */
  isCachedWhole(fileId: FileId): boolean {
    const stored = this.library.db.getManifest(fileId);
    if (!stored) return false;
    if (this.cache.dataFiles.has({ fileId: fileContentId(fileId), size: stored.size, mtimeMs: stored.mtimeMs })) return true;
    try {
      for (const hex of manifestChunkHexes(decodeManifest(stored.manifest))) if (!existsSync(chunkPath(this.cache.chunksDir, hex))) return false;
    } catch {
      return false;
    }
    return true;
  }

  /**
   * Fetches a file whole into the cache (a pin): the whole file in one sequential fetch when nothing of it is
   * stored, else a read through its manifest, which serves what is there (its data file, its chunks) and fetches
   * only what is missing. Nothing cached is dropped on the way: with the origin down, a file keeps what it has.
   * Resolves with whether it is now cached whole; a failure of the origin rejects (FetchError).
   */
  async fetchWhole(fileId: FileId): Promise<boolean> {
    const ref = this.ref(fileContentId(fileId));
    if (!ref) return false;
    if (this.isCachedWhole(fileId)) return true;
    if (!this.cache.fetcher.hasManifest(ref)) await this.cache.fetcher.prefetch(ref, { bulk: true });
    if (this.isCachedWhole(fileId)) return true;
    for (let off = 0; off < ref.size; off += 1 << 20) await this.cache.fetcher.read(ref, off, Math.min(1 << 20, ref.size - off));
    return this.isCachedWhole(fileId);
  }

  /** Whether this file's origin is cached (cache = "full"); other files are always read from their origin. */
  isCachedOrigin(fileId: FileId): boolean {
    const f = this.library.db.fileLocation(fileId);
    return !!f && this.library.config.origins.some((o) => o.id === f.originId && o.cache === "full");
  }

  /** `cache clear` dropped this file's content: the next read starts from the origin. */
  forgetContent(fileId: FileId): void {
    this.cache.fetcher.forgetManifest(fileContentId(fileId));
    this.cache.forgetFile(fileContentId(fileId));
  }

  /**
   * Files and folder images left the library: their cached content goes (data file, range blocks, fetch progress).
   * The deletions themselves recorded them (forgotten_content), so those of a scan or a sync run without this cache
   * are carried out too, at the next start.
   */
  forgetRemoved(): void {
    try {
      for (;;) {
        const ids = this.library.db.pendingForgottenContent();
        if (ids.length === 0) return;
        for (const id of ids) this.cache.forgetFile(asContentId(id));
        this.library.db.forgottenContentDone(ids);
      }
    } catch (e) {
      // A full disk (SQLite cannot write): what is left stays recorded and is forgotten at the next removal or start.
      log.warn(`content cache: could not yet drop the cached content of removed files (${errorMessage(e)}); will retry`);
    }
  }

  /**
   * Gives data files the ids metadata.db recorded for them (a retired origin's files to reserved ids, a returning
   * origin's back to its files: docs/origins.md). One that is gone meanwhile (evicted) is skipped.
   */
  applyDataFileMoves(): void {
    for (const m of this.library.db.pendingDataFileMoves()) {
      try {
        this.cache.dataFiles.rekey(asContentId(m.fromId), asContentId(m.toId), m.size, m.mtimeMs);
      } catch (e) {
        log.warn(`Could not keep the cached copy of file ${m.fromId} (${errorMessage(e)}); it is fetched again when read.`);
      }
      this.library.db.dataFileMoveDone(m.id);
    }
  }

  prefetchTarget(): PrefetchTarget {
    return {
      isCached: (id) => !this.isCachedOrigin(id) || this.library.db.getManifest(id) !== null,
      nextInFolder: (id) => this.library.tree.store.nextFileInFolder(id),
      fetchWhole: async (id, signal) => {
        const ref = this.ref(fileContentId(id));
        if (!ref || signal.aborted) return;
        // Within the cap: a file that would take more than a quarter of it is not worth evicting others for.
        if (ref.size > this.capBytes / 4) return;
        await this.cache.fetcher.prefetch(ref);
      },
      foregroundBusy: () => this.foregroundBusy(),
    };
  }

  stats(): CacheStatsSnapshot & { openFiles: number } {
    return { ...this.cache.stats.snapshot(), openFiles: this.openOwners.size };
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.scrub.stop();
    // At most 5 s for the pending work; the timer is cleared after, or it would keep a finished command's process
    // alive for the rest of the 5 s (`musicfs cache verify` did: 5 s after its report).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    await this.cache.close();
  }
}

/**
 * When the data file scrub takes its first step after the mount starts (10 s, past the start-up's own reads).
 * MUSICFS_SCRUB_FIRST_DELAY_MS shortens it so that a test waits for the scrub instead of sitting through 10 s of it.
 * Not a user setting.
 */
function scrubFirstDelayMs(): number {
  return msFromEnv("MUSICFS_SCRUB_FIRST_DELAY_MS") ?? 10_000;
}
