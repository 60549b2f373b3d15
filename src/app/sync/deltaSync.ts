import { log } from "../../core/logger.ts";
import type { FileId, FileMeta, Ino, OriginId } from "../../core/types.ts";
import type { OriginConfig } from "../../config/config.ts";
import { DeltaClassifier, type StoredLookup } from "../../library/deltaClassify.ts";
import type { Database } from "../../db/database.ts";
import type { ScanActivity } from "./scanActivity.ts";
import { scanOrigins, type ScanCountsAndBytes } from "../../library/scanner.ts";
import type { PlacementResult, TreeBuilder } from "../catalog/treeBuilder.ts";
import type { Origin, OriginEntry } from "../../origins/origin.ts";
import { ScopedOrigin, coveringPaths } from "../../origins/scopedOrigin.ts";
import { announceChanges, type TreeNotifier } from "../catalog/treeNotifier.ts";
import { judgeRemovals, type RemovalFacts } from "../../library/removalGuard.ts";
import { mountFacts, recordMountPoint } from "./originMounts.ts";

/**
 * What a delta sync needs of a library. `Library` (library.ts) has all of it; naming it here instead of importing
 * Library keeps the arrow one way: library.ts starts syncs, and the sync does not depend back on library.ts.
 */
export interface SyncedLibrary {
  readonly db: Database;
  readonly tree: TreeBuilder;
  readonly origins: readonly Origin[];
  originConfig(id: OriginId): OriginConfig | undefined;
  /** Writes files and their search rows (one batch, inside the caller's transaction); returns their ids. */
  storeFiles(files: readonly FileMeta[], nowMs?: number): FileId[];
  /** Places stored or retagged files and the other tracks of albums they changed (caller's transaction). */
  placeChanged(files: readonly FileMeta[], ids: readonly FileId[], nowMs: number, result: PlacementResult): FileId[];
  /** Removes files from the tree, the search index and the database, announcing it; returns how many. */
  removeFiles(ids: readonly FileId[], notifier?: TreeNotifier | null, onRemoved?: (ids: FileId[]) => void): number;
  refreshFileCount(): number;
  /** The nodes of files in the main tree and every view (for invalidation). */
  inodesOfFiles(ids: readonly FileId[]): Ino[];
  /** Records the folder images a walk found and updates the covers of albums whose images changed. */
  recordFolderImages(
    origin: Origin,
    images: readonly OriginEntry[],
    opts: { scope?: readonly string[]; allowRemovals?: boolean; notifier?: TreeNotifier | null },
  ): Promise<void>;
  /** Where the sync reports its progress as it goes (the mount's metrics); absent: nowhere. */
  readonly scans?: ScanActivity;
}

export interface SyncSummary {
  added: number;
  modified: number;
  removed: number;
  unchanged: number;
  /** Origins that could not be reached: nothing of theirs was changed. */
  skippedOrigins: string[];
  /** Origins that look offline (removalGuard): none of their files was removed. */
  heldBack: { originId: string; reason: string }[];
  interrupted: boolean;
  ms: number;
}

export interface SyncOptions {
  notifier?: TreeNotifier | null;
  signal?: AbortSignal;
  /**
   * Restrict the sync to some paths of some origins (what a watcher saw change); default: every origin, whole.
   * Keys are origin ids, values relative paths (files or folders).
   */
  scopes?: ReadonlyMap<string, readonly string[]>;
  /** Called after each applied batch with the files that were added or modified (search indexing). */
  onFilesChanged?: (ids: FileId[]) => void;
  /** Called with files that are gone, after they were deleted. */
  onFilesRemoved?: (ids: FileId[]) => void;
  /** Apply removals even where the removal guard holds them back (`--accept-removals`: the user confirmed them). */
  acceptRemovals?: boolean;
  /** Awaited before the walk and before each origin folder: a live mount's sync gives way to its traffic (foregroundPacer.ts). */
  pace?: () => Promise<void>;
}

/** The classifier's view of the stored files of one origin (restricted to `scope` paths when given). */
export function storedLookup(db: Database, originId: OriginId, scope?: readonly string[]): StoredLookup {
  return {
    inDir: (dir) => db.listSyncStateInDir(originId, dir),
    all: function* () {
      for (const prefix of scope ?? [""]) yield* db.iterateStoredPaths(originId, prefix);
    },
  };
}

/**
 * Background delta sync: walk the origins, compare size and mtime with the database, parse only new and changed
 * files, and apply everything in transactions to the files and the tree, announcing each batch to the kernel so
 * open directories update live. An interrupted sync leaves a consistent database (each batch is one transaction)
 * and removes nothing; the next sync continues where this one stopped.
 */
export async function deltaSync(library: SyncedLibrary, opts: SyncOptions = {}): Promise<SyncSummary> {
  const t0 = performance.now();
  const { db } = library;
  const summary: SyncSummary = { added: 0, modified: 0, removed: 0, unchanged: 0, skippedOrigins: [], heldBack: [], interrupted: false, ms: 0 };
  const origins: Origin[] = [];
  const classifiers = new Map<string, DeltaClassifier>();
  const guards = new Map<string, Omit<RemovalFacts, "listing">>();
  const scopes = new Map<string, readonly string[] | undefined>();
  const images = new Map<string, OriginEntry[]>();
  const holdBack = (o: Origin, reason: string) => {
    summary.heldBack.push({ originId: o.id, reason });
    log.warn(
      `Origin ${o.displayName} looks offline: ${reason}. Nothing was removed: its files stay listed and cached ones keep playing. ` +
        "If they are really gone, confirm with `musicfs scan --accept-removals`.",
    );
  };
  for (const o of library.origins) {
    const scope = opts.scopes ? opts.scopes.get(o.id) : undefined;
    if (opts.scopes && !scope) continue;
    const unavailable = o.unavailableReason ? await o.unavailableReason() : (await o.isAvailable()) ? null : `${o.displayName} is not reachable`;
    if (unavailable !== null) {
      summary.skippedOrigins.push(o.id);
      log.warn(`Delta sync: origin ${o.displayName} cannot be listed: ${unavailable}; its files are kept as they are.`);
      continue;
    }
    const guard = { ...mountFacts(db, o), accepted: opts.acceptRemovals === true || library.originConfig(o.id)?.acceptRemovals === true };
    const early = judgeRemovals({ ...guard, listing: null });
    if (!early.proceed) {
      // Not even walked: the folder under an unmounted share may hold stray files that are not the library.
      summary.skippedOrigins.push(o.id);
      holdBack(o, early.reason);
      continue;
    }
    if (guard.isMountPoint !== null && guard.wasMountPoint !== null && guard.isMountPoint !== guard.wasMountPoint)
      recordMountPoint(db, o.id, guard.isMountPoint); // mounted since, or an unmount the user accepted
    guards.set(o.id, guard);
    // Local folders and remote stores alike sync just the paths asked for (a remote one: a HEAD per path).
    const paths = scope ? coveringPaths(scope) : [""];
    const whole = paths.includes("");
    origins.push(whole ? o : new ScopedOrigin(o, paths));
    scopes.set(o.id, whole ? undefined : paths);
    images.set(o.id, []);
    classifiers.set(o.id, new DeltaClassifier(storedLookup(db, o.id, whole ? undefined : paths), whole ? undefined : paths));
  }

  const apply = (files: FileMeta[]) => {
    const now = Date.now();
    const result: PlacementResult = { placed: 0, added: [], removed: [] };
    const { ids, placed } = db.transaction(() => {
      const ids = library.storeFiles(files, now);
      return { ids, placed: library.placeChanged(files, ids, now, result) };
    });
    const fileInodes = library.inodesOfFiles(placed);
    announceChanges(opts.notifier, [...result.removed, ...result.added], fileInodes);
    opts.onFilesChanged?.(ids);
  };

  const walk = (onProgress?: (counts: ScanCountsAndBytes) => void) =>
    scanOrigins({
      origins,
      signal: opts.signal,
      progress: null,
      onProgress,
      isUnchanged: (originId, realPath, size, mtimeMs, etag) => classifiers.get(originId)?.classify(realPath, size, mtimeMs, etag) === "unchanged",
      onBatch: apply,
      onFolderImage: (originId, entry) => images.get(originId)?.push(entry),
      pace: opts.pace,
    });
  await opts.pace?.(); // the listing too (an S3 walk lists several folders at once before the first is handed on)
  const scan = library.scans ? await library.scans.track("sync", walk) : await walk();
  for (const c of classifiers.values()) {
    summary.added += c.counts.added;
    summary.modified += c.counts.modified;
    summary.unchanged += c.counts.unchanged;
  }
  if (scan.interrupted) {
    summary.interrupted = true;
    summary.ms = performance.now() - t0;
    log.info(`Delta sync interrupted after ${Math.round(summary.ms)} ms; it continues at the next start.`);
    return summary;
  }

  for (const origin of origins) {
    const unreadable = scan.unreadable.filter((u) => u.originId === origin.id).map((u) => u.realPath);
    if (unreadable.includes("."))
      log.warn(`Delta sync: origin ${origin.displayName} could not be listed to the end; nothing was removed, and the next sync lists it again.`);
    const classifier = classifiers.get(origin.id)!;
    const gone = classifier.removed(unreadable);
    if (gone.length > 0) {
      // Files added by this sync are stored already: count them out to get the origin as it was.
      const added = classifier.counts.added;
      const storedBefore = db.originFileCount(origin.id) - added;
      const listing = { storedBefore, listed: storedBefore + added - gone.length, removing: gone.length };
      const verdict = judgeRemovals({ ...guards.get(origin.id)!, listing });
      if (!verdict.proceed) {
        holdBack(origin, verdict.reason);
        continue;
      }
    }
    summary.removed += library.removeFiles(gone, opts.notifier, opts.onFilesRemoved);
  }
  for (const origin of origins) {
    // Images are removed under the same conditions as files: the whole origin was listed and does not look offline.
    const allowRemovals = !scan.unreadable.some((u) => u.originId === origin.id) && !summary.heldBack.some((h) => h.originId === origin.id);
    await library.recordFolderImages(origin, images.get(origin.id) ?? [], { scope: scopes.get(origin.id), allowRemovals, notifier: opts.notifier });
  }
  library.refreshFileCount();
  summary.ms = performance.now() - t0;
  const quiet = opts.scopes && summary.added + summary.modified + summary.removed === 0;
  if (!quiet) log.info(
    `Delta sync complete: ${summary.added} added, ${summary.modified} modified, ${summary.removed} removed, ` +
      `${summary.unchanged} unchanged in ${(summary.ms / 1000).toFixed(1)} s.`,
  );
  return summary;
}
