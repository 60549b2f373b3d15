import type { FileId } from "../core/types.ts";
import { builtinCollections, DAY_MS, RECENTLY_ADDED_DAYS, type CollectionDef } from "./builtinCollections.ts";
import type { CollectionStore } from "./collectionStore.ts";
import { SEARCH_DIR_MAX_RESULTS } from "./searchDirEntries.ts";
import type { SearchIndex } from "./searchIndex.ts";

/**
 * Resolves `/.collections` and `/.collections/<name>`: built-ins first, then saved collections by name; a
 * collection's tracks are its query's results (or, for Recently Added, the newest files).
 */

export interface CollectionCatalogDeps {
  index: SearchIndex;
  store: CollectionStore;
  /**
   * Files added to the library at or after `sinceMs`, newest first, at most `limit`. Lives in db/ because it reads
   * `files.added_at` (indexed): e.g. `SELECT id FROM files WHERE added_at >= ? ORDER BY added_at DESC, id LIMIT ?`.
   */
  recentlyAdded: (sinceMs: number, limit: number) => FileId[];
  now?: () => number;
}

export class CollectionCatalog {
  constructor(private readonly deps: CollectionCatalogDeps) {}

  /** Every collection, built-ins first (Recently Added, decades ascending), then saved ones by name. */
  list(): CollectionDef[] {
    const saved = this.deps.store.list().map((c) => ({ name: c.name, kind: "saved" as const, query: c.query }));
    return [...builtinCollections(this.deps.index.decades()), ...saved];
  }

  get(name: string): CollectionDef | null {
    const builtin = builtinCollections(this.deps.index.decades()).find((c) => c.name === name);
    if (builtin) return builtin;
    const saved = this.deps.store.get(name);
    return saved ? { name: saved.name, kind: "saved", query: saved.query } : null;
  }

  /**
   * The collection's tracks in display order (rank for queries), at most `limit`; null when there is no such
   * collection. A saved query that no longer parses throws QueryError (EINVAL on the mount).
   */
  resolve(name: string, limit = SEARCH_DIR_MAX_RESULTS): FileId[] | null {
    const def = this.get(name);
    if (!def) return null;
    if (def.kind === "recent") {
      const now = (this.deps.now ?? Date.now)();
      return this.deps.recentlyAdded(now - RECENTLY_ADDED_DAYS * DAY_MS, limit);
    }
    return this.deps.index.search(def.query!, { limit }).results.map((r) => r.fileId);
  }
}
