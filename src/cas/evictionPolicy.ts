/**
 * The one rule of how much room the content cache may take, whatever its layout on disk (pure; no I/O):
 *
 * - **The cap holds.** Stored bytes plus the writes already admitted plus the write asking never exceed the cap: a
 *   write that would go over waits for eviction first (writes are admitted one by one, so the bytes on disk exceed
 *   the cap by at most what eviction has decided to delete but not yet unlinked).
 * - **A free-space reserve is kept** on the cache's file system: by default 5 % of it or 1 GiB, whichever is smaller
 *   (`[cache] min_free`). A write that would take the free space below the reserve waits for eviction first, and is
 *   not made (the bytes are served without caching them) when eviction cannot make the room. The room the cache's
 *   bookkeeping may still take without asking (access.db's bounded WAL: `unaskedBytes`) counts as taken already.
 * - **A full disk does not stop a mount**: at start, chunks are evicted until the reserve is back (or nothing is
 *   left to evict), and the mount goes on whatever the outcome.
 *
 * Eviction works in sweeps with hysteresis: once triggered it frees down to `lowWater` × cap (and a tenth of the
 * reserve beyond the reserve), so that the next writes do not each trigger a sweep of one chunk. Only what the hard
 * limits need (`mustFree`) may be taken from chunks that open files hold; the rest comes from unpinned chunks.
 */

export const GiB = 1024 ** 3;

/** `[cache] min_free`: an absolute size, or a percentage of the cache's file system. */
export type MinFree = { bytes: number } | { percent: number };

/** The default reserve: 5 % of the file system, at most 1 GiB. */
export const DEFAULT_MIN_FREE_PERCENT = 5;
export const DEFAULT_MIN_FREE_BYTES = 1 * GiB;

/** Free space to keep on a file system of `fsTotalBytes` (bytes). */
export function reserveBytes(fsTotalBytes: number, minFree?: MinFree | null): number {
  if (!Number.isFinite(fsTotalBytes) || fsTotalBytes <= 0) return 0; // unknown file system: no reserve to keep
  if (minFree && "bytes" in minFree) return Math.min(minFree.bytes, fsTotalBytes);
  if (minFree && "percent" in minFree) return Math.floor((fsTotalBytes * minFree.percent) / 100);
  return Math.min(Math.floor((fsTotalBytes * DEFAULT_MIN_FREE_PERCENT) / 100), DEFAULT_MIN_FREE_BYTES);
}

export interface CacheSpace {
  /** Bytes of the cache's stored content (as its ledger records them). */
  usedBytes: number;
  /** Writes admitted and not finished yet (their bytes are not in usedBytes, and maybe not on disk yet). */
  inFlightBytes: number;
  capBytes: number;
  /** Free bytes on the cache's file system for this user (statfs bavail × bsize); Infinity when unknown. */
  fsFreeBytes: number;
  /**
   * Bytes the cache's own bookkeeping may still write on that file system without asking (access.db's WAL, up to
   * its bound): kept free on top of the reserve, or the WAL's growth after an admitted write eats into the reserve.
   */
  unaskedBytes?: number;
  fsTotalBytes: number;
  minFree?: MinFree | null;
}

export interface EvictionWater {
  /** A sweep starts above this share of the cap (default 0.9)… */
  highWater: number;
  /** …and frees down to this share (default 0.8). */
  lowWater: number;
}

export const DEFAULT_WATER: EvictionWater = { highWater: 0.9, lowWater: 0.8 };

export interface EvictionPlan {
  /** Bytes that must go before a write of `incomingBytes` may be made (0: it may be made now). */
  mustFree: number;
  /** Bytes a sweep should free now, hysteresis included (≥ mustFree; > 0 with mustFree 0: a sweep in the background). */
  shouldFree: number;
  /** What triggered it, for the log. */
  reason: "cap" | "reserve" | null;
}

/**
 * How many bytes to free before (or while) a write of `incomingBytes` is made. `incomingBytes` 0: the state as it is
 * (a periodic check, or the start of a mount).
 */
export function planEviction(space: CacheSpace, incomingBytes: number, water: EvictionWater = DEFAULT_WATER): EvictionPlan {
  const after = space.usedBytes + space.inFlightBytes + incomingBytes;
  const capMust = Math.max(0, after - space.capBytes);
  const capShould = after > space.capBytes * water.highWater ? Math.max(0, after - space.capBytes * water.lowWater) : 0;

  const reserve = reserveBytes(space.fsTotalBytes, space.minFree);
  // The admitted writes that have not reached the disk yet will still take their room, and so may the bookkeeping.
  const freeAfter = space.fsFreeBytes - space.inFlightBytes - incomingBytes - (space.unaskedBytes ?? 0);
  const reserveMust = Number.isFinite(freeAfter) ? Math.max(0, reserve - freeAfter) : 0;
  const reserveShould = reserveMust > 0 ? reserveMust + Math.ceil(reserve / 10) : 0;

  const mustFree = Math.ceil(Math.max(capMust, reserveMust));
  const shouldFree = Math.ceil(Math.max(capShould, reserveShould, mustFree));
  const reason = shouldFree === 0 ? null : reserveShould >= capShould && reserveMust > 0 ? "reserve" : "cap";
  return { mustFree, shouldFree, reason };
}

/** Whether a write of `incomingBytes` may be made now: the cap holds and the reserve is kept afterwards. */
export function mayWrite(space: CacheSpace, incomingBytes: number): boolean {
  return planEviction(space, incomingBytes).mustFree === 0;
}
