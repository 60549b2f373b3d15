import { defineCommand } from "citty";
import { searchLibrary } from "../app/commands/librarySearch.ts";
import { UsageError } from "../core/errors.ts";
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
      const found = searchLibrary(paths, String(args.query), limit);
      if (args.json) {
        console.log(JSON.stringify(found, null, 2));
        return;
      }
      for (const t of found.results) console.log(t.path);
      console.error(`${plural(found.total, "match", "matches")}${found.total > found.results.length ? `, ${found.results.length} shown (--limit)` : ""}.`);
    });
  },
});

