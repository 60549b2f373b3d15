import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { log } from "../core/logger.ts";
import { NodeReader } from "../db/nodeReader.ts";
import { CollectionCatalog } from "../search/collectionCatalog.ts";
import { CollectionStore } from "../search/collectionStore.ts";
import { SearchIndex } from "../search/searchIndex.ts";
import { cachePaths } from "../config/paths.ts";
import { loadConfig } from "../config/config.ts";
import { mkdirSync } from "node:fs";
import { cacheDirArgs, existingLibrary } from "./libraryPaths.ts";
import { logLevelArg, runCommand } from "./run.ts";
import { plural } from "../core/plural.ts";

function storeFor(args: Record<string, unknown>) {
  const config = loadConfig({ configPath: args.config as string | undefined, cacheDir: args["cache-dir"] as string | undefined });
  const paths = cachePaths(config.cacheDir);
  mkdirSync(paths.cacheDir, { recursive: true });
  return { paths, store: CollectionStore.open(paths.collectionsDb) };
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
      const { store } = storeFor(args);
      try {
        store.add(String(args.name), String(args.query));
        log.success(`Collection "${args.name}" saved.`);
      } finally {
        store.close();
      }
    });
  },
});

const rm = defineCommand({
  meta: { name: "rm", description: "Delete a saved collection (the tracks themselves are untouched)" },
  args: { name: { type: "positional", required: true, description: "Collection name" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(() => {
      const { store } = storeFor(args);
      try {
        store.remove(String(args.name));
        log.success(`Collection "${args.name}" deleted.`);
      } finally {
        store.close();
      }
    });
  },
});

const list = defineCommand({
  meta: { name: "list", description: "List the collections (built-in and saved) with their track counts" },
  args: { json: { type: "boolean", description: "Print JSON" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(() => {
      const paths = existingLibrary(args);
      if (!existsSync(paths.collectionsDb)) CollectionStore.open(paths.collectionsDb).close();
      const nodes = new NodeReader(paths.metadataDb);
      const store = CollectionStore.open(paths.collectionsDb, { readonly: true });
      try {
        const catalog = new CollectionCatalog({ index: new SearchIndex(nodes.connection), store, recentlyAdded: (s, l) => nodes.recentlyAdded(s, l) });
        const rows = catalog.list().map((c) => {
          let tracks: number | string;
          try {
            tracks = catalog.resolve(c.name, 10_000)?.length ?? 0;
          } catch (e) {
            tracks = `error: ${(e as Error).message}`;
          }
          return { name: c.name, kind: c.kind, query: c.query, tracks };
        });
        if (args.json) console.log(JSON.stringify(rows, null, 2));
        else for (const r of rows) console.log(`${r.name}\t${r.kind}\t${typeof r.tracks === "number" ? plural(r.tracks, "track") : r.tracks}${r.query ? `\t${r.query}` : ""}`);
      } finally {
        store.close();
        nodes.close();
      }
    });
  },
});

export const collectionCommand = defineCommand({
  meta: { name: "collection", description: "Smart collections: saved queries shown as folders under /.collections" },
  subCommands: { add, list, rm },
});
