import { existsSync } from "node:fs";
import { ensureCacheDir, type CachePaths } from "../../config/paths.ts";
import { NodeReader } from "../../db/nodeReader.ts";
import { CollectionCatalog } from "../../search/collectionCatalog.ts";
import { CollectionStore } from "../../search/collectionStore.ts";
import { SearchIndex } from "../../search/searchIndex.ts";

/** `musicfs collection add|rm`: saves or deletes a collection in collections.db (also while mounted). */
export function saveCollection(paths: CachePaths, name: string, query: string): void {
  withStore(paths, (store) => store.add(name, query));
}

export function deleteCollection(paths: CachePaths, name: string): void {
  withStore(paths, (store) => store.remove(name));
}

function withStore(paths: CachePaths, use: (store: CollectionStore) => void): void {
  ensureCacheDir(paths.cacheDir);
  const store = CollectionStore.open(paths.collectionsDb);
  try {
    use(store);
  } finally {
    store.close();
  }
}

export interface CollectionSummary {
  name: string;
  kind: string;
  query: string | null | undefined;
  /** The number of tracks, or why it could not be resolved. */
  tracks: number | string;
}

/** `musicfs collection list`: built-in and saved collections with their track counts. */
export function listCollections(paths: CachePaths): CollectionSummary[] {
  if (!existsSync(paths.collectionsDb)) CollectionStore.open(paths.collectionsDb).close();
  const nodes = new NodeReader(paths.metadataDb);
  const store = CollectionStore.open(paths.collectionsDb, { readonly: true });
  try {
    const catalog = new CollectionCatalog({ index: new SearchIndex(nodes.connection), store, recentlyAdded: (s, l) => nodes.recentlyAdded(s, l) });
    return catalog.list().map((c) => {
      let tracks: number | string;
      try {
        tracks = catalog.resolve(c.name, 10_000)?.length ?? 0;
      } catch (e) {
        tracks = `error: ${(e as Error).message}`;
      }
      return { name: c.name, kind: c.kind, query: c.query, tracks };
    });
  } finally {
    store.close();
    nodes.close();
  }
}
