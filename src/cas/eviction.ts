/**
 * LRU eviction of the chunk store, and the pins that protect chunks of open and in-flight files.
 *
 * What to free and when is the policy's (evictionPolicy.ts: the cap holds, a free-space reserve is kept); this
 * module applies it to the chunk files: before each new chunk is written (`admit`), the least recently used chunks
 * are deleted in one sweep down to `lowWater` × cap (0.8) once the store passes `highWater` × cap (0.9): evicting in
 * one sweep down to a target, instead of one chunk per put, keeps the work batched and the ledger writes few.
 * Main thread only.
 */
import type { ContentId } from "../core/ids.ts";
import { statfsSync } from "node:fs";
import type { EventBus } from "../core/eventBus.ts";
import { log, tildify } from "../core/logger.ts";
import type { ChunkHex } from "./chunkHash.ts";
import type { ChunkLedger, LedgerEntry } from "./chunkLedger.ts";
import type { ChunkStore } from "./chunkStore.ts";
import type { CacheStats } from "./cacheStats.ts";
import { plural } from "../core/plural.ts";
import type { DataFileEntry, DataFileStore } from "./dataFileStore.ts";
import { DEFAULT_WATER, planEviction, type CacheSpace, type EvictionPlan, type EvictionWater, type MinFree } from "./evictionPolicy.ts";

export const DEFAULT_CACHE_CAP_BYTES = 10 * 1024 ** 3;

/**
 * Reference-counted pins by owner: an owner pins a set of chunks, and a chunk is evictable only when no owner holds
 * it. The one notion of "kept" that eviction and `cache clear` ask, in two strengths:
 * - "held" (an open file handle, an in-flight fetch): kept while unpinned chunks can make the room; taken, oldest
 *   first, only when the cap or the disk's reserve would break otherwise (the reader fetches them again);
 * - "kept" (a file the user pinned with `musicfs pin`): never evicted. `musicfs pin` refuses what would not fit.
 */
export type PinStrength = "held" | "kept";

export class ChunkPins {
  private readonly byOwner = new Map<string, { strength: PinStrength; hexes: Set<ChunkHex> }>();
  private readonly counts = new Map<ChunkHex, number>();
  private readonly keptCounts = new Map<ChunkHex, number>();

  /** Adds chunks to an owner's pin set (idempotent per owner and chunk); an owner has one strength, its first. */
  pin(owner: string, hexes: Iterable<ChunkHex>, strength: PinStrength = "held"): void {
    let entry = this.byOwner.get(owner);
    if (!entry) this.byOwner.set(owner, (entry = { strength, hexes: new Set() }));
    for (const hex of hexes) {
      if (entry.hexes.has(hex)) continue;
      entry.hexes.add(hex);
      this.counts.set(hex, (this.counts.get(hex) ?? 0) + 1);
      if (entry.strength === "kept") this.keptCounts.set(hex, (this.keptCounts.get(hex) ?? 0) + 1);
    }
  }

  /** Releases everything an owner pinned. */
  unpin(owner: string): void {
    const entry = this.byOwner.get(owner);
    if (!entry) return;
    this.byOwner.delete(owner);
    for (const hex of entry.hexes) {
      decrement(this.counts, hex);
      if (entry.strength === "kept") decrement(this.keptCounts, hex);
    }
  }

  /** Held or kept by anyone. */
  isPinned(hex: ChunkHex): boolean {
    return this.counts.has(hex);
  }

  /** Pinned by an owner that `needs` says still reads chunks (not one whose file is served by its data file now). */
  isPinnedBy(hex: ChunkHex, needs: (owner: string) => boolean): boolean {
    if (!this.counts.has(hex)) return false;
    for (const [owner, entry] of this.byOwner) if (entry.hexes.has(hex) && needs(owner)) return true;
    return false;
  }

  /** Kept by a user's pin: never evicted, whatever the cap needs. */
  isKept(hex: ChunkHex): boolean {
    return this.keptCounts.has(hex);
  }

  get pinnedChunks(): number {
    return this.counts.size;
  }
}

function decrement(counts: Map<ChunkHex, number>, hex: ChunkHex): void {
  const n = (counts.get(hex) ?? 1) - 1;
  if (n <= 0) counts.delete(hex);
  else counts.set(hex, n);
}

export interface EvictorOptions {
  store: ChunkStore;
  ledger: ChunkLedger;
  pins: ChunkPins;
  capBytes?: number;
  highWater?: number;
  lowWater?: number;
  /** Complete files' data files: evicted whole, in one LRU order with the chunks; the cap counts both. */
  dataFiles?: DataFileStore;
  /** Files that must keep their data file (open; deleting an open file's data file would not even free its room). */
  isFileKept?: (fileId: ContentId) => boolean;
  /** Free space to keep on the cache's file system (`[cache] min_free`; default: 5 % or 1 GiB, the smaller). */
  minFree?: MinFree | null;
  /** Free and total bytes of the cache's file system (default: statfs of the store's dir). Injectable for tests. */
  fsSpace?: () => FsSpace;
  /** Bytes the cache's bookkeeping may still write without asking (access.db's WAL up to its bound; default 0). */
  unaskedBytes?: () => number;
  stats?: CacheStats;
  bus?: EventBus;
}

export interface FsSpace {
  freeBytes: number;
  totalBytes: number;
}

export interface EvictionResult {
  chunks: number;
  bytesFreed: number;
}

/** statfs of a folder: free bytes for an unprivileged writer, and the size of its file system (unknown: Infinity). */
export function statFsSpace(dir: string): FsSpace {
  try {
    const s = statfsSync(dir);
    return { freeBytes: Number(s.bavail) * Number(s.bsize), totalBytes: Number(s.blocks) * Number(s.bsize) };
  } catch {
    return { freeBytes: Number.POSITIVE_INFINITY, totalBytes: Number.POSITIVE_INFINITY };
  }
}

/**
 * Applies the eviction policy (evictionPolicy.ts) to the chunk store: the store asks `admit` before it writes a new
 * chunk file and calls `settle` when the write is over, so the cap and the free-space reserve are checked as writes
 * happen, against the writes in flight too, not on a timer.
 */
export class Evictor {
  readonly capBytes: number;
  private readonly water: EvictionWater;
  private running: Promise<EvictionResult> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Bytes of admitted writes not settled yet. */
  private inFlight = 0;
  private readonly fsSpace: () => FsSpace;
  /** Writes waiting for one in flight to settle (the room they need is taken by writes not yet stored). */
  private readonly settleWaiters: (() => void)[] = [];
  /** Warn once per episode of writes refused for lack of room, not once per chunk. */
  private refusedWarned = false;

  constructor(private readonly o: EvictorOptions) {
    this.capBytes = o.capBytes ?? DEFAULT_CACHE_CAP_BYTES;
    this.water = { highWater: o.highWater ?? DEFAULT_WATER.highWater, lowWater: o.lowWater ?? DEFAULT_WATER.lowWater };
    if (!(this.water.lowWater < this.water.highWater && this.water.highWater <= 1)) throw new RangeError("eviction: need lowWater < highWater ≤ 1");
    this.fsSpace = o.fsSpace ?? (() => statFsSpace(o.store.chunksDir));
  }

  /** The cache's space as the policy sees it. */
  space(): CacheSpace {
    const fs = this.fsSpace();
    return {
      usedBytes: this.o.ledger.getTotals().storedBytes + (this.o.dataFiles?.totals().bytes ?? 0), inFlightBytes: this.inFlight, capBytes: this.capBytes,
      fsFreeBytes: fs.freeBytes, fsTotalBytes: fs.totalBytes, minFree: this.o.minFree, unaskedBytes: this.o.unaskedBytes?.() ?? 0,
    };
  }

  /** Bytes of admitted writes that have not finished. */
  get inFlightBytes(): number {
    return this.inFlight;
  }

  /** Where a sweep stops: what is kept (pinned) must fit under it, or every sweep finds nothing else to evict. */
  get lowWaterBytes(): number {
    return this.capBytes * this.water.lowWater;
  }

  needsEviction(): boolean {
    return planEviction(this.space(), 0, this.water).shouldFree > 0;
  }

  /**
   * Before a new chunk file of `bytes` is written: true when it may be written now (the caller then calls `settle`
   * when the write is over, whatever its outcome); evicts first when the write would break the cap or the reserve;
   * false when even eviction cannot make the room (everything left is in flight, or the disk is full of other
   * files): the caller serves the bytes without caching them.
   */
  async admit(bytes: number): Promise<boolean> {
    for (let swept = false; ; ) {
      const plan = planEviction(this.space(), bytes, this.water);
      if (plan.mustFree === 0) {
        this.inFlight += bytes;
        if (plan.shouldFree > 0) this.poke();
        if (this.refusedWarned) log.info("chunk cache: there is room for new chunks again");
        this.refusedWarned = false;
        return true;
      }
      if (this.running) {
        await this.running.catch(() => undefined);
      } else if (!swept) {
        swept = true;
        await this.evictNow(plan).catch((e) => log.warn(`cache eviction failed: ${e instanceof Error ? e.message : String(e)}`));
      } else if (this.inFlight > 0) {
        // The room is taken by writes in flight: once stored, they can be evicted like any chunk.
        await new Promise<void>((resolve) => this.settleWaiters.push(resolve));
        swept = false;
      } else {
        // Nothing left to evict and nothing in flight (the disk is full of other files, or a cap below one chunk).
        return this.refuse(plan.reason);
      }
    }
  }

  /** An admitted write is over (stored, failed or given up). */
  settle(bytes: number): void {
    this.inFlight = Math.max(0, this.inFlight - bytes);
    const waiters = this.settleWaiters.splice(0);
    for (const w of waiters) w();
  }

  private refuse(reason: EvictionPlan["reason"]): false {
    if (!this.refusedWarned) {
      const why = reason === "reserve"
        ? `the disk holding it has less free space than the cache keeps free (min_free)`
        : `it is at its cap (${(this.capBytes / 1024 ** 2).toFixed(1)} MiB) with nothing left to evict`;
      log.warn(`chunk cache at ${tildify(this.o.store.chunksDir)}: ${why}; serving from the origin without caching`);
    }
    this.refusedWarned = true;
    this.o.stats?.countWriteFailure();
    return false;
  }

  /** Cheap check (periodic, or after a write): starts a sweep in the background when one is due. */
  poke(): void {
    if (this.running) return;
    const plan = planEviction(this.space(), 0, this.water);
    if (plan.shouldFree === 0) return;
    this.evictNow(plan).catch((e) => log.warn(`cache eviction failed: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Evicts what the policy asks for now (one sweep at a time). */
  evictIfNeeded(): Promise<EvictionResult> {
    if (this.running) return this.running;
    const plan = planEviction(this.space(), 0, this.water);
    if (plan.shouldFree === 0) return Promise.resolve({ chunks: 0, bytesFreed: 0 });
    return this.evictNow(plan);
  }

  private evictNow(plan: EvictionPlan): Promise<EvictionResult> {
    this.running = this.sweep(plan).finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * Least recently used first, chunks and data files in one order. Unpinned chunks and data files of files not kept
   * go until `shouldFree` is freed; if that was not enough for `mustFree` (the cap or the reserve would break),
   * chunks of open files go too, oldest first: a reader of an evicted chunk fetches it again (a request, never wrong
   * bytes), while a cache over its cap fills disks. A kept file's data file never goes (unlinking a file that is
   * open frees nothing until it is closed). Chunks
   * of pinned files (`musicfs pin`) never go, nor do their data files (`isFileKept`).
   */
  private async sweep(plan: EvictionPlan): Promise<EvictionResult> {
    const result: EvictionResult = { chunks: 0, bytesFreed: 0 };
    const data = this.o.dataFiles;
    data?.flush();
    let pinnedTaken = 0;
    let files = 0;
    for (const takePinned of [false, true]) {
      const goal = takePinned ? plan.mustFree : plan.shouldFree;
      let chunkCursor: LedgerEntry | undefined;
      let dataCursor: DataFileEntry | undefined;
      let chunks: LedgerEntry[] = [];
      let dataBatch: DataFileEntry[] = [];
      let chunksDone = false;
      let dataDone = !data || takePinned;
      while (result.bytesFreed < goal) {
        if (chunks.length === 0 && !chunksDone) {
          chunks = this.o.ledger.oldest(256, chunkCursor);
          chunksDone = chunks.length === 0;
          chunkCursor = chunks[chunks.length - 1] ?? chunkCursor;
        }
        if (dataBatch.length === 0 && !dataDone) {
          dataBatch = data!.oldest(64, dataCursor);
          dataDone = dataBatch.length === 0;
          dataCursor = dataBatch[dataBatch.length - 1] ?? dataCursor;
        }
        if (chunks.length === 0 && dataBatch.length === 0) break;
        if (dataBatch.length > 0 && (chunks.length === 0 || dataBatch[0].lastAccessMs <= chunks[0].lastAccessMs)) {
          const e = dataBatch.shift()!;
          if (this.o.isFileKept?.(e.fileId)) continue;
          result.bytesFreed += data!.delete(e.fileId);
          files++;
          continue;
        }
        const e = chunks.shift()!;
        if (this.o.pins.isKept(e.hex) || this.o.pins.isPinned(e.hex) !== takePinned) continue;
        result.bytesFreed += await this.o.store.delete(e.hex);
        result.chunks++;
        if (takePinned) pinnedTaken++;
      }
    }
    if (result.chunks > 0 || files > 0) {
      this.o.ledger.flush();
      this.o.stats?.countEviction(result.chunks + files, result.bytesFreed);
      this.o.bus?.emit("CacheEviction", { bytesFreed: result.bytesFreed, chunks: result.chunks });
      const why = plan.reason === "reserve" ? " to keep the disk's free-space reserve" : "";
      log.info(`content cache: evicted ${plural(files, "file")} and ${plural(result.chunks, "chunk")} (${(result.bytesFreed / 1024 ** 2).toFixed(1)} MiB)${why}`);
      if (pinnedTaken > 0) log.debug(`chunk cache: ${plural(pinnedTaken, "chunk")} of open files evicted to hold the cap`);
    }
    return result;
  }

  /** Periodic check in addition to the write-time one: the reserve can also shrink because other programs write. */
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
