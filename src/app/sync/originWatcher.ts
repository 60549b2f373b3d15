import { watch, type FSWatcher } from "node:fs";
import { errorMessage } from "../../core/errors.ts";
import { fsBytesToText } from "../../core/originPaths.ts";
import { log } from "../../core/logger.ts";
import type { LocalOrigin } from "../../origins/localOrigin.ts";
import { msFromEnv } from "../../core/testKnobs.ts";

export type ChangedPaths = Map<string, string[]>;

/**
 * Watches local origins with inotify (fs.watch, recursive) and reports the changed relative paths in batches:
 * a batch goes out once the origin has been quiet for `quietMs` (a tagger rewriting an album fires hundreds of
 * events), or at the latest `maxWaitMs` after its first event.
 */
export class OriginWatcher {
  private readonly watchers: FSWatcher[] = [];
  private pending: ChangedPaths = new Map();
  private quietTimer: Timer | null = null;
  private maxTimer: Timer | null = null;

  constructor(
    private readonly onChanges: (changes: ChangedPaths) => void,
    private readonly quietMs = watchQuietMs(),
    private readonly maxWaitMs = 5000,
  ) {}

  /** Starts watching; returns the origins that could not be watched (the periodic re-sync covers them). */
  watch(origins: readonly LocalOrigin[]): LocalOrigin[] {
    const failed: LocalOrigin[] = [];
    for (const origin of origins) {
      try {
        // Names as bytes: a name that is not UTF-8 is kept in the escaped form the walk and database use.
        const w = watch(origin.root, { recursive: true, persistent: false, encoding: "buffer" }, (_event, name) => {
          if (name) this.record(origin.id, fsBytesToText(name));
        });
        w.on("error", (e) => log.warn(`Watching ${origin.displayName} stopped: ${errorMessage(e)}; changes are picked up by the periodic sync.`));
        this.watchers.push(w);
      } catch (e) {
        log.warn(`Cannot watch ${origin.displayName} (${errorMessage(e)}); changes are picked up by the periodic sync.`);
        failed.push(origin);
      }
    }
    return failed;
  }

  private record(originId: string, relPath: string): void {
    let list = this.pending.get(originId);
    if (!list) this.pending.set(originId, (list = []));
    list.push(relPath);
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.flush(), this.quietMs);
    this.maxTimer ??= setTimeout(() => this.flush(), this.maxWaitMs);
  }

  private flush(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    this.quietTimer = this.maxTimer = null;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.onChanges(batch);
  }

  close(): void {
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    this.pending.clear();
  }
}

/**
 * How long an origin must be quiet before its changes go out: 1 s. The environment variable MUSICFS_WATCH_QUIET_MS
 * shortens it so that a test of --watch waits for its change to show instead of sitting through 1 s per change (as
 * MUSICFS_STATUS_INTERVAL_MS does for status.json). Not a user setting.
 */
function watchQuietMs(): number {
  return msFromEnv("MUSICFS_WATCH_QUIET_MS") ?? 1000;
}
