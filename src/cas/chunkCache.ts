/**
 * Wiring of the chunk cache for the main thread: one call creates the ledger, store, pins, evictor, statistics
 * and fetcher over `<cacheDir>/chunks`, and `start`/`close` run and stop their background work in order.
 * FUSE workers do not use this: they construct a ChunkReader over `chunksDir` (see chunkReader.ts).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { EventBus } from "../core/eventBus.ts";
import { errorMessage } from "../core/errors.ts";
import { walGrowthBytes } from "../core/boundedWal.ts";
import { log } from "../core/logger.ts";
import type { ContentId } from "../core/types.ts";
import { accessDbGrowthBytes } from "./accessDb.ts";
import { ChunkLedger } from "./chunkLedger.ts";
import { ChunkStore, type ChunkFileWriter } from "./chunkStore.ts";
import { CacheStats } from "./cacheStats.ts";
import { ChunkPins, DEFAULT_CACHE_CAP_BYTES, Evictor, type FsSpace } from "./eviction.ts";
import type { MinFree } from "./evictionPolicy.ts";
import { ChunkHasher } from "./chunkHasher.ts";
import { Fetcher, type FetcherOptions } from "./fetch/index.ts";
import { reconcileLedger, type ReconcileReport } from "./ledgerReconcile.ts";
import { RangeIndex } from "./rangeIndex.ts";
import { FetchProgress } from "./fetchProgress.ts";
import { plural } from "../core/plural.ts";
import { DataFileStore, type DataFileRef, type MaterializeOutcome } from "./dataFileStore.ts";
import { manifestChunkHex, manifestChunkId, manifestChunkLength, type Manifest } from "./manifestCodec.ts";
import { chunkIdKeyForMount } from "./chunkIdKey.ts";

export interface ChunkCacheOptions {
  /** The cache dir; chunks go to `<cacheDir>/chunks`, the ledger to `<cacheDir>/chunks/access.db`. */
  cacheDir: string;
  /**
   * Other SQLite databases on the cache's disk that commit without asking the evictor (patterns.db: every play),
   * opened with src/core/boundedWal.ts's bound: the room their WALs may still take is kept free beside the reserve.
   */
  walBoundedDbs?: readonly string[];
  capBytes?: number;
  /** Free space kept on the cache's file system (`[cache] min_free`; default 5 % or 1 GiB, the smaller). */
  minFree?: MinFree | null;
  /** Free/total bytes of the cache's file system (default: statfs); for tests. */
  fsSpace?: () => FsSpace;
  bus?: EventBus;
  loadManifest?: FetcherOptions["loadManifest"];
  /** Fetcher tuning (timeouts, windows, concurrency). */
  fetcher?: Omit<FetcherOptions, "store" | "bus" | "loadManifest" | "pins" | "ledger" | "stats" | "rangeIndex" | "progress" | "dataFiles">;
  fsync?: boolean;
  writer?: ChunkFileWriter;
  /** Ledger batch flush interval (default 10 s) and size (default 1000 changes). */
  ledgerFlushMs?: number;
  ledgerFlushEvery?: number;
  /**
   * Whole-file fetches write into the file's data file (default). False: one chunk file per chunk, as before data
   * files; what files repaired chunk by chunk and cache dirs of that layout still use (tests of that path).
   */
  fetchIntoDataFiles?: boolean;
  /** Whether a pin owner still reads chunks (default: every owner does); see `dropChunksOf`. */
  ownerNeedsChunks?: (owner: string) => boolean;
  /** Files whose data file eviction must leave alone (open files; the fetcher's own are added here). */
  isFileKept?: (fileId: ContentId) => boolean;
}

export interface ChunkCache {
  readonly chunksDir: string;
  readonly store: ChunkStore;
  readonly ledger: ChunkLedger;
  readonly pins: ChunkPins;
  readonly evictor: Evictor;
  readonly stats: CacheStats;
  readonly fetcher: Fetcher;
  /** Range blocks of files not cached whole (tag reads, seeks), persisted in access.db. */
  readonly ranges: RangeIndex;
  /** Stored prefixes of whole-file fetches not finished yet (resumed after a restart), persisted in access.db. */
  readonly progress: FetchProgress;
  /** Complete files as one data file each, in `<cacheDir>/data` (served by the FUSE workers). */
  readonly dataFiles: DataFileStore;
  /**
   * Writes a complete file's data file from its chunks (each verified against its id as it is read), checks it against
   * the manifest, then deletes those chunks (the data file serves the file now) unless something else pins them.
   * With `keepChunks`, the chunks stay (the upgrade deletes them once every file is converted).
   */
  toDataFile(ref: DataFileRef, m: Manifest, options?: { keepChunks?: boolean }): Promise<MaterializeOutcome>;
  /**
   * Deletes a file's chunks (its data file serves it), except those pinned by an owner that still reads chunks
   * (`ownerNeedsChunks`: an open or a fetch of a file without a data file).
   */
  dropChunksOf(m: Manifest): Promise<void>;
  /** Starts batched ledger flushing, periodic eviction checks and (in the background) ledger reconciliation. */
  start(): Promise<ReconcileReport | undefined>;
  /** Ordered shutdown: fail pending reads, finish a running eviction, flush and close the ledger. */
  close(): Promise<void>;
  /** A file was removed from the library: its manifest no longer counts toward logical bytes. */
  forgetFile(fileId: ContentId): void;
}

export function openChunkCache(o: ChunkCacheOptions): ChunkCache {
  const chunksDir = join(o.cacheDir, "chunks");
  mkdirSync(chunksDir, { recursive: true });
  const ledger = new ChunkLedger(join(chunksDir, "access.db"), { flushEvery: o.ledgerFlushEvery });
  const dataFiles = new DataFileStore(join(o.cacheDir, "data"), join(chunksDir, "access.db"));
  // Stored bytes are the chunks' and the data files' together (what the cap bounds).
  const stats = new CacheStats(() => {
    const t = ledger.getTotals();
    return { ...t, storedBytes: t.storedBytes + dataFiles.totals().bytes };
  });
  const pins = new ChunkPins();
  const store = new ChunkStore(chunksDir, { ledger, stats, fsync: o.fsync, writer: o.writer, idKey: chunkIdKeyForMount(o.cacheDir) });
  const accessDbPath = join(chunksDir, "access.db");
  const evictor = new Evictor({
    store, ledger, pins, stats, bus: o.bus, capBytes: o.capBytes ?? DEFAULT_CACHE_CAP_BYTES, minFree: o.minFree, fsSpace: o.fsSpace,
    // access.db's WAL grows with the bookkeeping of every admitted write, unasked, and so do those of the other
    // databases on this disk (walBoundedDbs): their room is kept free as well
    // (not on a fake disk a test gives as fsSpace: the WAL is not on it).
    unaskedBytes: o.fsSpace ? undefined : () => accessDbGrowthBytes(accessDbPath) + (o.walBoundedDbs ?? []).reduce((sum, db) => sum + walGrowthBytes(db), 0),
    // Kept: open files (the integrator's), and files being fetched (their partial data file).
    dataFiles, isFileKept: (fileId) => o.isFileKept?.(fileId) === true || fetcher.isFetching(fileId),
  });
  // Every new chunk is admitted by the evictor first: the cap and the free-space reserve hold as writes happen.
  store.admission = evictor;
  dataFiles.admission = evictor;
  const ranges = new RangeIndex(join(chunksDir, "access.db"));
  const progress = new FetchProgress(join(chunksDir, "access.db"));
  // What a fetch writes into a data file is cut and hashed by a worker, after it is written (chunkHasher.ts).
  const hashing = o.fetchIntoDataFiles === false ? undefined : new ChunkHasher(store.idKey);
  const fetcher = new Fetcher({
    ...o.fetcher, store, bus: o.bus, loadManifest: o.loadManifest, pins, ledger, stats, rangeIndex: ranges, progress,
    dataFiles, hashing,
    partials: o.fetchIntoDataFiles === false ? undefined : {
      writePartial: (ref, offset, bytes) => dataFiles.writePartial(ref, offset, bytes),
      readPartial: (ref, offset, length, check) => dataFiles.readPartial(ref, offset, length, check),
      completePartial: (ref, m, checkedFrom) => dataFiles.completePartial(ref, m, checkedFrom),
      partialPathOf: (ref) => dataFiles.partialPathOf(ref),
      // A fetch that stopped short leaves its partial data file evictable now: the cap and the reserve are checked.
      closePartial: (fileId) => {
        dataFiles.closePartial(fileId);
        evictor.poke();
      },
    },
  });
  const ev = evictor;
  const dropChunksOf = async (m: Manifest): Promise<void> => {
    const needs = o.ownerNeedsChunks ?? (() => true);
    for (let i = 0; i < m.chunkCount; i++) {
      const hex = manifestChunkHex(m, i);
      // Most are not there: a file fetched into its data file never had chunk files (only a file converted from the
      // chunk layout, or read from chunks before, has them). Skipped by a synchronous stat: an async delete per
      // chunk (a stat in the thread pool, a promise and a ledger lookup each) cost ~0.5 ms of CPU per cold MiB.
      if (!store.hasNow(hex)) continue;
      if (!pins.isPinnedBy(hex, needs)) await store.delete(hex).catch(() => 0);
    }
  };
  return {
    chunksDir, store, ledger, pins, evictor: ev, stats, fetcher, ranges, progress, dataFiles,
    async toDataFile(ref, m, options) {
      // The data file is a write like any other: the cap and the reserve admit it first (its chunks go after it).
      const admitted = !dataFiles.has(ref);
      if (admitted && !(await ev.admit(m.originSize))) return "disk-full";
      let outcome: MaterializeOutcome;
      try {
        outcome = await dataFiles.materialize(ref, m, async (i) => {
          const r = await store.get(manifestChunkId(m, i), manifestChunkLength(m, i));
          return r.kind === "ok" ? r.bytes : null;
        });
      } finally {
        if (admitted) ev.settle(m.originSize);
      }
      if ((outcome === "written" || outcome === "present") && !options?.keepChunks) await dropChunksOf(m);
      ev.poke();
      return outcome;
    },
    dropChunksOf,
    async start() {
      ledger.startAutoFlush(o.ledgerFlushMs ?? 10_000);
      ev.start();
      try {
        const r = dataFiles.reconcile();
        if (r.added || r.removed || r.staleTempFiles)
          log.info(`content cache: data files repaired (+${r.added} / -${r.removed}, ${plural(r.staleTempFiles, "stale temp file")} removed)`);
      } catch (e) {
        log.warn(`content cache: data file reconciliation failed: ${errorMessage(e)}`);
      }
      try {
        const report = await reconcileLedger(chunksDir, ledger);
        if (report.added || report.removed || report.staleTempFiles)
          log.info(`chunk cache: ledger repaired (+${report.added} / -${report.removed} chunks, ${plural(report.staleTempFiles, "stale temp file")} removed)`);
        ev.poke();
        return report;
      } catch (e) {
        log.warn(`chunk cache: ledger reconciliation failed: ${errorMessage(e)}`);
        return undefined;
      }
    },
    async close() {
      await fetcher.close();
      await hashing?.close();
      ev.stop();
      await ev.idle();
      ranges.close();
      progress.close();
      dataFiles.close();
      ledger.close();
    },
    forgetFile(fileId) {
      dataFiles.delete(fileId);
      ledger.forgetManifest(fileId);
      ranges.forget(fileId);
      progress.forget(fileId);
    },
  };
}
