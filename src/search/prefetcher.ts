import { log } from "../core/logger.ts";
import { errorMessage } from "../core/errors.ts";
import { Lru } from "../core/lru.ts";
import type { FileId } from "../core/types.ts";

/**
 * When a track starts playing, fetch the tracks most likely to follow it into the chunk store, so they play
 * without a network wait. Bounded (at most `maxConcurrent` fetches), polite (no new fetch starts while foreground
 * reads are busy; it polls every `pollMs` until they are not), and cancellable (stop() aborts and waits).
 *
 * Only uncached files of cached origins are worth fetching: the caller's isCached() says which are not needed
 * (already complete, or an origin that is read directly).
 *
 * Gapless starts: when a track is read past half of it, the next track of its album folder is fetched ahead (first
 * in the queue), unless the listening patterns predict another track after this one (their prediction was queued
 * when the track started). A track fetched ahead this way that is then opened continues the album in order: its own
 * next track is fetched at once — a complete file may be read by the kernel (FUSE passthrough), so its halfway
 * READ is never seen.
 */

export interface PrefetcherDeps {
  predictNext: (fileId: FileId, n: number) => FileId[];
  /** True when there is nothing to fetch for this file (content complete, or origin not cached). */
  isCached: (fileId: FileId) => boolean;
  /** The next track of the file's album folder, in the tree's order (null: the last one). */
  nextInFolder?: (fileId: FileId) => FileId | null;
  /** Fetch the whole file into the chunk store; should stop early when `signal` aborts. */
  fetchWhole: (fileId: FileId, signal: AbortSignal) => Promise<void>;
  /** True while foreground (FUSE) reads are waiting on the network. */
  foregroundBusy: () => boolean;
  maxConcurrent?: number;
  /** Predictions per play. Default 3. */
  lookahead?: number;
  /** Queue length; the oldest queued predictions are dropped first (the newest play matters most). Default 16. */
  maxQueued?: number;
  pollMs?: number;
}

export interface PrefetchStats {
  queued: number;
  inFlight: number;
  completed: number;
  failed: number;
  /** Predictions made (files named by predictNext after a play). */
  predicted: number;
  /** Predicted files that were then played. */
  hits: number;
  /** Next tracks of album folders fetched ahead because a track was read past half (gapless starts). */
  gapless: number;
}

/** Predicted ids remembered for hit counting. */
const MAX_REMEMBERED_PREDICTIONS = 1000;

export class Prefetcher {
  private readonly queue: FileId[] = [];
  private readonly inFlight = new Map<FileId, Promise<void>>();
  private readonly remembered = new Lru<FileId, true>(MAX_REMEMBERED_PREDICTIONS);
  /** Next tracks fetched ahead (or found cached) for gapless starts: their open continues the chain. */
  private readonly nextTracks = new Lru<FileId, true>(64);
  private readonly abort = new AbortController();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private counts = { completed: 0, failed: 0, predicted: 0, hits: 0, gapless: 0 };
  private readonly maxConcurrent: number;
  private readonly lookahead: number;
  private readonly maxQueued: number;
  private readonly pollMs: number;

  constructor(private readonly deps: PrefetcherDeps) {
    this.maxConcurrent = Math.max(1, deps.maxConcurrent ?? 2);
    this.lookahead = deps.lookahead ?? 3;
    this.maxQueued = deps.maxQueued ?? 16;
    this.pollMs = deps.pollMs ?? 100;
  }

  /** A play started: count a hit if it was predicted, then queue its likely successors. */
  onPlay(fileId: FileId): void {
    if (this.stopped) return;
    if (this.remembered.delete(fileId)) this.counts.hits++;
    for (const next of this.deps.predictNext(fileId, this.lookahead)) {
      if (next === fileId) continue;
      this.counts.predicted++;
      this.remember(next);
      if (this.queue.includes(next) || this.inFlight.has(next) || this.deps.isCached(next)) continue;
      this.queue.push(next);
      if (this.queue.length > this.maxQueued) this.queue.shift();
    }
    this.pump();
  }

  /** A file was opened: if it is a next track fetched ahead, the album plays on in order — fetch the one after it. */
  onOpen(fileId: FileId): void {
    if (this.nextTracks.delete(fileId)) this.onHalfway(fileId);
  }

  /** A track was read past half: fetch the next track of its album folder ahead, unless the patterns know better. */
  onHalfway(fileId: FileId): void {
    if (this.stopped) return;
    const next = this.deps.nextInFolder?.(fileId) ?? null;
    if (next === null) return;
    const predicted = this.deps.predictNext(fileId, 1)[0];
    if (predicted !== undefined && predicted !== next) return;
    this.nextTracks.set(next, true);
    if (this.inFlight.has(next) || this.deps.isCached(next)) return;
    const queued = this.queue.indexOf(next);
    if (queued >= 0) this.queue.splice(queued, 1);
    else this.counts.gapless++;
    this.queue.unshift(next); // the most urgent: it plays when this track ends
    if (this.queue.length > this.maxQueued) this.queue.pop();
    this.pump();
  }

  stats(): PrefetchStats {
    return { queued: this.queue.length, inFlight: this.inFlight.size, ...this.counts };
  }

  /** Shutdown: drop the queue, abort fetches in flight and wait for them to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private remember(id: FileId): void {
    this.remembered.set(id, true);
  }

  private pump(): void {
    if (this.stopped || this.timer) return;
    while (this.inFlight.size < this.maxConcurrent && this.queue.length > 0) {
      if (this.deps.foregroundBusy()) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, this.pollMs);
        return;
      }
      const id = this.queue.shift()!;
      if (this.deps.isCached(id)) continue; // fetched by a foreground read meanwhile
      this.start(id);
    }
  }

  private start(id: FileId): void {
    // Registered before fetchWhole runs (it starts on the next microtask), so even a fetch that throws at once
    // is removed from inFlight after it was added, never before.
    const run = Promise.resolve()
      .then(() => this.deps.fetchWhole(id, this.abort.signal))
      .then(
        () => {
          this.counts.completed++;
        },
        (e) => {
          if (this.abort.signal.aborted) return;
          this.counts.failed++;
          log.debug(`prefetch of file ${id} failed: ${errorMessage(e)}`);
        },
      )
      .finally(() => {
        this.inFlight.delete(id);
        this.pump();
      });
    this.inFlight.set(id, run);
  }
}
