/**
 * Cache statistics: counters kept by the store, fetcher and evictor of the main thread, plus the ledger's totals.
 * FUSE workers count their own hits (ChunkReader.counters); the integrator adds them in with `addWorkerCounts`.
 */
import type { LedgerTotals } from "./chunkLedger.ts";

export interface CacheStatsSnapshot {
  /** Bytes and number of chunk files in the store. */
  storedBytes: number;
  storedChunks: number;
  /** Bytes of content referenced by manifests (each file counted in full, shared chunks counted every time). */
  logicalBytes: number;
  /** Reads answered entirely from the store, and reads that needed the origin. */
  hits: number;
  misses: number;
  /** Bytes fetched from origins. */
  originBytes: number;
  evictions: number;
  evictedBytes: number;
  corruptChunks: number;
  writeFailures: number;
}

export interface WorkerReadCounts {
  hits: number;
  misses: number;
}

export class CacheStats {
  private c = {
    hits: 0, misses: 0, originBytes: 0, evictions: 0, evictedBytes: 0,
    corruptChunks: 0, writeFailures: 0, storedPuts: 0,
  };

  constructor(private readonly totals: () => LedgerTotals = () => ({ storedBytes: 0, storedChunks: 0, logicalBytes: 0 })) {}

  countStored(_bytes: number): void {
    this.c.storedPuts++;
  }
  countHit(): void {
    this.c.hits++;
  }
  countMiss(): void {
    this.c.misses++;
  }
  countOriginBytes(bytes: number): void {
    this.c.originBytes += bytes;
  }
  countEviction(chunks: number, bytes: number): void {
    this.c.evictions += chunks;
    this.c.evictedBytes += bytes;
  }
  countCorrupt(): void {
    this.c.corruptChunks++;
  }
  countWriteFailure(): void {
    this.c.writeFailures++;
  }
  /** Hits and misses a FUSE worker counted since its last report. */
  addWorkerCounts(w: WorkerReadCounts): void {
    this.c.hits += w.hits;
    this.c.misses += w.misses;
  }

  snapshot(): CacheStatsSnapshot {
    const t = this.totals();
    return {
      storedBytes: t.storedBytes,
      storedChunks: t.storedChunks,
      logicalBytes: t.logicalBytes,
      hits: this.c.hits,
      misses: this.c.misses,
      originBytes: this.c.originBytes,
      evictions: this.c.evictions,
      evictedBytes: this.c.evictedBytes,
      corruptChunks: this.c.corruptChunks,
      writeFailures: this.c.writeFailures,
    };
  }
}
