import { dirname } from "node:path";
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { diskFullError, isDiskFull } from "../../core/diskFull.ts";
import { LocalOrigin } from "../../origins/localOrigin.ts";
import { deltaSync, type SyncedLibrary, type SyncOptions, type SyncSummary } from "./deltaSync.ts";
import { OriginWatcher, type ChangedPaths } from "./originWatcher.ts";

/**
 * Runs delta syncs one at a time for a live mount: once right after mounting, then for watcher batches and on the
 * periodic interval. Changes that arrive during a sync are merged and synced right after it.
 */
export class SyncRunner {
  private readonly controller = new AbortController();
  private running: Promise<void> | null = null;
  private queuedScopes: ChangedPaths | null = null;
  private queuedFull = false;
  private queuedAcceptRemovals = false;
  private watcher: OriginWatcher | null = null;
  private interval: Timer | null = null;
  private offlineRetry: Timer | null = null;
  private offlineRetryMs = 60_000;
  /** Syncs completed so far. */
  completed = 0;
  /** Completed syncs, newest last (for status and tests). */
  readonly history: (SyncSummary & { at: number })[] = [];

  constructor(
    private readonly library: SyncedLibrary,
    private readonly options: Omit<SyncOptions, "signal" | "scopes">,
    /** Told after every completed sync (pins resolve their queries again: later matches are pinned too). */
    private readonly afterSync: (summary: SyncSummary) => void = () => {},
  ) {}

  /** `acceptRemovals` applies to the first sync only (`mount --accept-removals`): later outages are still guarded. */
  start(opts: { watch: boolean; intervalS: number; offlineRetryS?: number; acceptRemovals?: boolean }): void {
    this.queuedAcceptRemovals = opts.acceptRemovals === true;
    if (opts.offlineRetryS !== undefined) this.offlineRetryMs = opts.offlineRetryS * 1000;
    this.requestFull();
    if (opts.watch) {
      this.watcher = new OriginWatcher((changes) => this.requestScoped(changes));
      this.watcher.watch(this.library.origins.filter((o): o is LocalOrigin => o instanceof LocalOrigin));
    }
    if (opts.intervalS > 0) this.interval = setInterval(() => this.requestFull(), opts.intervalS * 1000);
  }

  requestFull(): void {
    this.queuedFull = true;
    this.kick();
  }

  requestScoped(changes: ChangedPaths): void {
    if (!this.queuedScopes) this.queuedScopes = new Map();
    for (const [id, paths] of changes) this.queuedScopes.set(id, [...(this.queuedScopes.get(id) ?? []), ...paths]);
    this.kick();
  }

  isRunning(): boolean {
    return this.running !== null;
  }

  /** Resolves when no sync is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running || this.controller.signal.aborted) return;
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  private async loop(): Promise<void> {
    while (!this.controller.signal.aborted && (this.queuedFull || this.queuedScopes)) {
      const full = this.queuedFull;
      const scopes = full ? undefined : this.queuedScopes ?? undefined;
      const acceptRemovals = full && this.queuedAcceptRemovals;
      this.queuedFull = false;
      this.queuedScopes = null;
      if (full) this.queuedAcceptRemovals = false;
      try {
        const summary = await deltaSync(this.library, { ...this.options, signal: this.controller.signal, scopes, acceptRemovals });
        this.history.push({ ...summary, at: Date.now() });
        this.completed++;
        try {
          this.afterSync(summary);
        } catch (e) {
          log.error(`After the delta sync: ${errorMessage(e)}`);
        }
        if (summary.skippedOrigins.length > 0) this.retryWhenOffline();
        if (this.history.length > 20) this.history.shift();
        // A sync of a large library leaves its garbage behind (~200 MB at 1M files) long after it is done; a daemon
        // that idles for days should give that memory back now.
        Bun.gc(true);
      } catch (e) {
        const why = isDiskFull(e, dirname(this.library.db.path)) ? diskFullError(dirname(this.library.db.path)).message : errorMessage(e);
        log.error(`Delta sync failed: ${why} The mount keeps serving the stored tree; the next sync retries.`);
      }
    }
  }

  /** An origin was unreachable: sync again later (once; each failed sync schedules the next). */
  private retryWhenOffline(): void {
    if (this.offlineRetry || this.controller.signal.aborted) return;
    log.warn(`Delta sync will try the unreachable origins again in ${Math.round(this.offlineRetryMs / 1000)} s.`);
    this.offlineRetry = setTimeout(() => {
      this.offlineRetry = null;
      this.requestFull();
    }, this.offlineRetryMs);
  }

  async stop(): Promise<void> {
    if (this.offlineRetry) clearTimeout(this.offlineRetry);
    this.watcher?.close();
    if (this.interval) clearInterval(this.interval);
    this.controller.abort();
    await this.idle();
  }
}
