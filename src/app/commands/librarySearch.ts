import type { CachePaths } from "../../config/paths.ts";
import { UserError } from "../../core/errors.ts";
import type { FileId } from "../../core/types.ts";
import { NodeReader } from "../../db/nodeReader.ts";
import { SearchIndex, SearchIndexError } from "../../search/searchIndex.ts";

export interface SearchHit {
  fileId: FileId;
  path: string;
  artist: string | null;
  title: string | null;
  album: string | null;
  score: number | undefined;
}

/** `musicfs search`: the ranked tracks of a query, from the library's database (mounted or not). */
export function searchLibrary(paths: CachePaths, query: string, limit: number): { total: number; results: SearchHit[] } {
  const nodes = new NodeReader(paths.metadataDb);
  try {
    const index = new SearchIndex(nodes.connection);
    let found;
    try {
      found = index.search(query, { limit, exactTotal: true });
    } catch (e) {
      if (e instanceof SearchIndexError)
        throw new UserError("The search index is missing or damaged.", "Start `musicfs mount` (or `musicfs scan`) once: it rebuilds the index.");
      throw e;
    }
    const score = new Map(found.results.map((r) => [r.fileId, r.score]));
    const tracks = nodes.tracks(found.results.map((r) => r.fileId));
    const albums = nodes.albumsOf(tracks.map((t) => t.fileId));
    const results = tracks.map((t) => ({
      fileId: t.fileId, path: t.virtualPath, artist: t.artist, title: t.title, album: albums.get(t.fileId) ?? null, score: score.get(t.fileId),
    }));
    return { total: found.total, results };
  } finally {
    nodes.close();
  }
}
