import { defineCommand } from "citty";
import { Database as Sqlite } from "bun:sqlite";
import { UsageError, UserError } from "../core/errors.ts";
import { NodeReader } from "../db/nodeReader.ts";
import { SearchIndex, SearchIndexError } from "../search/searchIndex.ts";
import { existingLibrary, cacheDirArgs } from "./libraryPaths.ts";
import { logLevelArg, runCommand } from "./run.ts";
import { plural } from "../core/plural.ts";

export const searchCommand = defineCommand({
  meta: {
    name: "search",
    description:
      'Search the library (mounted or not). Words must all match (the last one as a prefix); "phrases", field:value (title, artist, album, albumartist, genre, composer), year:1980..1989, OR, -exclusion. See docs/search.md.',
  },
  args: {
    query: { type: "positional", required: true, description: "The query (quote it for the shell)" },
    limit: { type: "string", alias: "l", description: "Most results to show (default 100, at most 10000)" },
    json: { type: "boolean", description: "Print JSON: {total, results: [{fileId, path, artist, title, album, score}]}" },
    ...cacheDirArgs,
    ...logLevelArg,
  },
  async run({ args }) {
    await runCommand(() => {
      const limit = args.limit === undefined ? 100 : Number(args.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError(`--limit must be a whole number from 1 to 10000 (got ${args.limit}).`);
      const paths = existingLibrary(args);
      const nodes = new NodeReader(paths.metadataDb);
      try {
        const index = new SearchIndex(nodes.connection);
        let found;
        try {
          found = index.search(String(args.query), { limit, exactTotal: true });
        } catch (e) {
          if (e instanceof SearchIndexError)
            throw new UserError("The search index is missing or damaged.", "Start `musicfs mount` (or `musicfs scan`) once: it rebuilds the index.");
          throw e;
        }
        const tracks = nodes.tracks(found.results.map((r) => r.fileId));
        const albums = albumsOf(nodes.connection, tracks.map((t) => t.fileId));
        if (args.json) {
          const score = new Map(found.results.map((r) => [r.fileId, r.score]));
          const results = tracks.map((t) => ({ fileId: t.fileId, path: t.virtualPath, artist: t.artist, title: t.title, album: albums.get(t.fileId) ?? null, score: score.get(t.fileId) }));
          console.log(JSON.stringify({ total: found.total, results }, null, 2));
          return;
        }
        for (const t of tracks) console.log(t.virtualPath);
        console.error(`${plural(found.total, "match", "matches")}${found.total > tracks.length ? `, ${tracks.length} shown (--limit)` : ""}.`);
      } finally {
        nodes.close();
      }
    });
  },
});

function albumsOf(db: Sqlite, ids: number[]): Map<number, string | null> {
  const q = db.prepare("SELECT album FROM files WHERE id = ?");
  return new Map(ids.map((id) => [id, (q.values(id)[0]?.[0] as string | null) ?? null]));
}
