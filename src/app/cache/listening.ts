import type { FileId } from "../../core/types.ts";
import { PatternStore } from "../../search/patternStore.ts";
import { PlayDetector } from "../../search/playDetector.ts";
import { Prefetcher, type PrefetchStats } from "../../search/prefetcher.ts";
import type { WorkerMessage } from "../../fs/workerMessages.ts";
import { msFromEnv } from "../../core/testKnobs.ts";

/** How the prefetcher reaches the content cache (absent while no origin is cached). */
export interface PrefetchTarget {
  isCached(fileId: FileId): boolean;
  /** The next track of the file's album folder in the tree's order (gapless starts). */
  nextInFolder(fileId: FileId): FileId | null;
  fetchWhole(fileId: FileId, signal: AbortSignal): Promise<void>;
  foregroundBusy(): boolean;
}

/** Where plays are saved without risking the mount (the mount's BackgroundWrites: a failing write costs one
 *  warning, never the mount). Named here so that cache/ does not import mount/. */
export interface PlaysWrites {
  attempt(kind: "plays", write: () => void): boolean;
}

/**
 * Listening patterns of a live mount: file accesses reported by the FUSE workers become plays (PlayDetector),
 * plays are recorded in patterns.db, and each play asks the prefetcher to warm the likely next tracks of cached
 * origins.
 */
export class Listening {
  readonly patterns: PatternStore;
  /**
   * MUSICFS_PLAY_GAP_MS shortens the play detector's 30 s / 60 s gaps: tests play a sequence in seconds, not
   * minutes. Not a user setting.
   */
  private readonly detector = new PlayDetector(playGapOverride());
  readonly prefetcher: Prefetcher | null;

  constructor(
    patternsDb: string,
    target: PrefetchTarget | null,
    private readonly writes: PlaysWrites,
  ) {
    this.patterns = PatternStore.open(patternsDb);
    this.prefetcher = target
      ? new Prefetcher({
          predictNext: (id, n) => this.patterns.predictNext(id, n, Date.now()),
          isCached: (id) => target.isCached(id),
          nextInFolder: (id) => target.nextInFolder(id),
          fetchWhole: (id, signal) => target.fetchWhole(id, signal),
          foregroundBusy: () => target.foregroundBusy(),
        })
      : null;
  }

  onWorkerMessage(message: WorkerMessage): void {
    if (message.type === "halfway") return this.prefetcher?.onHalfway(message.fileId);
    if (message.type !== "access") return;
    this.prefetcher?.onOpen(message.fileId); // workers report accesses at OPEN
    const play = this.detector.observe(message);
    if (!play) return;
    this.writes.attempt("plays", () => this.patterns.recordPlay(play.fileId, play.atMs));
    this.prefetcher?.onPlay(play.fileId);
  }

  prefetchStats(): PrefetchStats | null {
    return this.prefetcher?.stats() ?? null;
  }

  async close(): Promise<void> {
    await this.prefetcher?.stop();
    this.writes.attempt("plays", () => this.patterns.close());
  }
}

function playGapOverride(): { sessionGapMs: number; replayAfterMs: number } | undefined {
  const ms = msFromEnv("MUSICFS_PLAY_GAP_MS");
  return ms === undefined ? undefined : { sessionGapMs: ms, replayAfterMs: ms };
}
