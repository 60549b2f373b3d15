import { defineCommand } from "citty";
import { deleteCollection, listCollections, saveCollection } from "../app/commands/collections.ts";
import { log } from "../core/logger.ts";
import { cachePaths } from "../config/paths.ts";
import { loadConfig } from "../config/config.ts";
import { cacheDirArgs, existingLibrary } from "./libraryPaths.ts";
import { logLevelArg, runCommand } from "./run.ts";
import { plural } from "../core/plural.ts";

/** The cache dir a collection is saved in (it may not hold a library yet). */
function libraryPaths(args: Record<string, unknown>) {
  const config = loadConfig({ configPath: args.config as string | undefined, cacheDir: args["cache-dir"] as string | undefined });
  return cachePaths(config.cacheDir);
}

const add = defineCommand({
  meta: { name: "add", description: "Save a query as a collection, shown as /.collections/NAME/ on the mount (also while mounted)" },
  args: {
    name: { type: "positional", required: true, description: "Collection name (no \"/\", not starting with \".\")" },
    query: { type: "positional", required: true, description: 'A search query, e.g. "genre:jazz year:1960..1969"' },
    ...cacheDirArgs,
    ...logLevelArg,
  },
  async run({ args }) {
    await runCommand(() => {
      saveCollection(libraryPaths(args), String(args.name), String(args.query));
      log.success(`Collection "${args.name}" saved.`);
    });
  },
});

const rm = defineCommand({
  meta: { name: "rm", description: "Delete a saved collection (the tracks themselves are untouched)" },
  args: { name: { type: "positional", required: true, description: "Collection name" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(() => {
      deleteCollection(libraryPaths(args), String(args.name));
      log.success(`Collection "${args.name}" deleted.`);
    });
  },
});

const list = defineCommand({
  meta: { name: "list", description: "List the collections (built-in and saved) with their track counts" },
  args: { json: { type: "boolean", description: "Print JSON" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(() => {
      const rows = listCollections(existingLibrary(args));
      if (args.json) console.log(JSON.stringify(rows, null, 2));
      else for (const r of rows) console.log(`${r.name}\t${r.kind}\t${typeof r.tracks === "number" ? plural(r.tracks, "track") : r.tracks}${r.query ? `\t${r.query}` : ""}`);
    });
  },
});

export const collectionCommand = defineCommand({
  meta: { name: "collection", description: "Smart collections: saved queries shown as folders under /.collections" },
  subCommands: { add, list, rm },
});
