import type { EntryChange } from "../../db/treeStore.ts";
import type { Ino } from "../../core/types.ts";

/** Tells the kernel what changed in the tree (FuseSession implements it; CLI scans have none). */
export interface TreeNotifier {
  invalidateEntry(parent: Ino, name: string): unknown;
  invalidateInode(ino: Ino, offset?: number, length?: number): unknown;
}

/**
 * Announces tree changes: each changed name is invalidated (so a cached lookup, positive or negative, is asked
 * again), and each directory whose listing changed loses its cached listing; changed files lose cached attributes
 * and pages. Deduplicated: an album of 12 new tracks costs one directory invalidation.
 */
export function announceChanges(notifier: TreeNotifier | null | undefined, entries: readonly EntryChange[], changedFiles: readonly Ino[] = []): void {
  if (!notifier) return;
  const dirs = new Set<Ino>();
  const seen = new Set<string>();
  for (const e of entries) {
    const key = `${e.parent}\0${e.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    notifier.invalidateEntry(e.parent, e.name);
    dirs.add(e.parent);
  }
  for (const d of dirs) notifier.invalidateInode(d);
  for (const f of changedFiles) notifier.invalidateInode(f);
}
