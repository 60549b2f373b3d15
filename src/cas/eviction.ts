/**
 * LRU eviction under a size cap, and the pins that protect chunks of open and in-flight files.
 *
 * When the store passes `highWater` × cap (0.9), the least recently used chunks that no pin holds are deleted
 * until it is below `lowWater` × cap (0.8): evicting in one sweep down to a target, instead of one chunk per put,
 * keeps the work batched and the ledger writes few. Main thread only.
 */
import type { EventBus } from "../core/eventBus.ts";
import { log } from "../core/logger.ts";
import type { ChunkHex } from "./chunkHash.ts";
import type { ChunkLedger, LedgerEntry } from "./chunkLedger.ts";
import type { ChunkStore } from "./chunkStore.ts";
import type { CacheStats } from "./cacheStats.ts";
import { plural } from "../core/plural.ts";

export const DEFAULT_CACHE_CAP_BYTES = 10 * 1024 ** 3;

/**
 * Reference-counted pins by owner: an owner (an open file handle, an in-flight fetch) pins a set of chunks, and a
 * chunk is evictable only when no owner holds it.
 */
export class ChunkPins {
  private readonly byOwner = new Map<string, Set<ChunkHex>>();
  private readonly counts = new Map<ChunkHex, number>();

  /** Adds chunks to an owner's pin set (idempotent per owner and chunk). */
  pin(owner: string, hexes: Iterable<ChunkHex>): void {
    let set = this.byOwner.get(owner);
    if (!set) this.byOwner.set(owner, (set = new Set()));
    for (const hex of hexes) {
      if (set.has(hex)) continue;
      set.add(hex);
      this.counts.set(hex, (this.counts.get(hex) ?? 0) + 1);
    }
  }

  /** Releases everything an owner pinned. */
  unpin(owner: string): void {
    const set = this.byOwner.get(owner);
    if (!set) return;
    this.byOwner.delete(owner);
    for (const hex of set) {
      const n = (this.counts.get(hex) ?? 1) - 1;
      if (n <= 0) this.counts.delete(hex);
      else this.counts.set(hex, n);
    }
  }

  isPinned(hex: ChunkHex): boolean {
    return this.counts.has(hex);
  }

  get pinnedChunks(): number {
    return this.counts.size;
  }
}

export interface EvictorOptions {
  store: ChunkStore;
  ledger: ChunkLedger;
  pins: ChunkPins;
  capBytes?: number;
  highWater?: number;
  lowWater?: number;
  stats?: CacheStats;
  bus?: EventBus;
}

export interface EvictionResult {
  chunks: number;
  bytesFreed: number;
}

export class Evictor {
  readonly capBytes: number;
  private readonly highWater: number;
  private readonly lowWater: number;
  private running: Promise<EvictionResult> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly o: EvictorOptions) {
    this.capBytes = o.capBytes ?? DEFAULT_CACHE_CAP_BYTES;
    this.highWater = o.highWater ?? 0.9;
    this.lowWater = o.lowWater ?? 0.8;
    if (!(this.lowWater < this.highWater && this.highWater <= 1)) throw new RangeError("eviction: need lowWater < highWater ≤ 1");
  }

  needsEviction(): boolean {
    return this.o.ledger.getTotals().storedBytes > this.capBytes * this.highWater;
  }

  /** Cheap check for the put path: starts an eviction in the background when over the high-water mark. */
  poke(): void {
    if (this.running || !this.needsEviction()) return;
    this.evictNow().catch((e) => log.warn(`cache eviction failed: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Evicts down to the low-water mark if above the high-water mark (one sweep at a time). */
  evictIfNeeded(): Promise<EvictionResult> {
    if (this.running) return this.running;
    if (!this.needsEviction()) return Promise.resolve({ chunks: 0, bytesFreed: 0 });
    return this.evictNow();
  }

  private evictNow(): Promise<EvictionResult> {
    this.running = this.sweep().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweep(): Promise<EvictionResult> {
    const target = this.capBytes * this.lowWater;
    const result: EvictionResult = { chunks: 0, bytesFreed: 0 };
    let cursor: LedgerEntry | undefined;
    while (this.o.ledger.getTotals().storedBytes > target) {
      const batch = this.o.ledger.oldest(256, cursor);
      if (batch.length === 0) break;
      cursor = batch[batch.length - 1];
      for (const e of batch) {
        if (this.o.ledger.getTotals().storedBytes <= target) break;
        if (this.o.pins.isPinned(e.hex)) continue;
        result.bytesFreed += await this.o.store.delete(e.hex);
        result.chunks++;
      }
    }
    if (result.chunks > 0) {
      this.o.ledger.flush();
      this.o.stats?.countEviction(result.chunks, result.bytesFreed);
      this.o.bus?.emit("CacheEviction", { bytesFreed: result.bytesFreed, chunks: result.chunks });
      log.info(`chunk cache: evicted ${plural(result.chunks, "chunk")} (${(result.bytesFreed / 1024 ** 2).toFixed(1)} MiB)`);
    }
    if (this.o.ledger.getTotals().storedBytes > this.capBytes)
      log.warn("chunk cache is over its cap and everything left is pinned by open files");
    return result;
  }

  /** Periodic check in addition to the put-triggered one (e.g. after the cap was lowered by a config reload). */
  start(intervalMs = 60_000): void {
    this.stop();
    this.timer = setInterval(() => this.poke(), intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits for a running sweep (shutdown). */
  async idle(): Promise<void> {
    await this.running?.catch(() => {});
  }
}
