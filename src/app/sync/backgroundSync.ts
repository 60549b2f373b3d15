import type { MusicFsConfig } from "../../config/config.ts";
import { log } from "../../core/logger.ts";
import type { TreeNotifier } from "../catalog/treeNotifier.ts";
import type { SyncedLibrary, SyncSummary } from "./deltaSync.ts";
import { foregroundPacer } from "./foregroundPacer.ts";
import { SyncRunner } from "./syncRunner.ts";

/** Background work of a live mount, stopped first at shutdown. */
export interface BackgroundTasks {
  stop(): Promise<void>;
  /** The newest completed delta sync, if any. */
  lastSync(): (SyncSummary & { at: number }) | null;
  /** Syncs one origin file now (after any sync already running); resolves when it is done. */
  refreshFile(originId: string, realPath: string): Promise<void>;
  /** A delta sync of every origin now (`musicfs sync`), after any running one; resolves with its summary. */
  syncNow(): Promise<(SyncSummary & { at: number }) | null>;
  /** Whether a sync runs now, and how many completed (metrics). */
  syncing(): boolean;
  completedSyncs(): number;
}

export interface BackgroundSyncOptions {
  /** Told about every change in the tree (the FUSE session of the mount). */
  notifier: TreeNotifier;
  /** FUSE requests answered so far: the sync gives way while this grows (foregroundPacer). */
  answeredRequests: () => number;
  sync: MusicFsConfig["sync"];
  /** A search index rebuild still running: the sync waits for it (both write; the rebuild reads every row). */
  searchRebuild: Promise<void> | null;
  /** `mount --accept-removals`: applies to the first sync only. */
  acceptRemovals?: boolean;
  /** Told after every completed sync (pins resolve their queries again: later matches are pinned too). */
  afterSync?: (summary: SyncSummary) => void;
}

/**
 * Background work of a live mount: a delta sync right away (the mount was served from the database), then the
 * watcher and the periodic re-sync if configured.
 */
export function startBackgroundSync(library: SyncedLibrary, opts: BackgroundSyncOptions): BackgroundTasks {
  // The sync gives way to the mount's traffic: a first walk right after mounting is not slowed down by it.
  const sync = new SyncRunner(library, { notifier: opts.notifier, pace: foregroundPacer({ requests: opts.answeredRequests }) }, opts.afterSync);
  // A search rebuild and the delta sync both write: the sync waits for the rebuild, which reads every row.
  const started = (opts.searchRebuild ?? Promise.resolve())
    .catch((e) => log.error(`Rebuilding the search index failed: ${(e as Error).message}. Search answers EIO until the next start.`))
    .then(() => sync.start({ ...opts.sync, acceptRemovals: opts.acceptRemovals }));
  return {
    stop: async () => {
      await started;
      await sync.stop();
    },
    lastSync: () => sync.history.at(-1) ?? null,
    syncing: () => sync.isRunning(),
    completedSyncs: () => sync.completed,
    refreshFile: async (originId, realPath) => {
      await started;
      sync.requestScoped(new Map([[originId, [realPath]]]));
      await sync.idle();
    },
    syncNow: async () => {
      await started;
      const before = sync.history.at(-1);
      sync.requestFull();
      await sync.idle();
      const last = sync.history.at(-1) ?? null;
      return last === before ? null : last;
    },
  };
}
