import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DAY_MS, isReservedCollectionName } from "../../src/search/builtinCollections.ts";
import { CollectionCatalog } from "../../src/search/collectionCatalog.ts";
import { CollectionError, CollectionStore } from "../../src/search/collectionStore.ts";
import { QueryError } from "../../src/search/queryParser.ts";
import { SearchIndex } from "../../src/search/searchIndex.ts";
import { openMetadataDb, tempDir, track } from "./helpers.ts";
import { asFileId } from "../../src/core/ids.ts";

const dir = tempDir();
afterAll(dir.cleanup);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof CollectionError || e instanceof QueryError) return e.code;
    throw e;
  }
  return undefined;
}

describe("CollectionStore", () => {
  test("add, list, get, remove; survives reopen without close (kill -9)", () => {
    const path = join(dir.path, "collections.db");
    const store = CollectionStore.open(path);
    store.add("Road Trip", "genre:rock year:1970s", 1000);
    store.add("Bowie", 'artist:"david bowie"', 2000);
    expect(store.list().map((c) => c.name)).toEqual(["Bowie", "Road Trip"]);
    expect(store.get("Road Trip")).toEqual({ name: "Road Trip", query: "genre:rock year:1970s", createdAt: 1000 });
    store.remove("Bowie");
    // Reopen while the first handle is still open and never closed, as after kill -9.
    const again = CollectionStore.open(path);
    expect(again.list().map((c) => c.name)).toEqual(["Road Trip"]);
    const reader = CollectionStore.open(path, { readonly: true });
    expect(reader.get("Road Trip")?.query).toBe("genre:rock year:1970s");
  });

  test("clear errors for bad names, reserved names, duplicates, unknown names and bad queries", () => {
    const store = CollectionStore.open(join(dir.path, "errors.db"));
    expect(codeOf(() => store.add("", "rock"))).toBe("bad-name");
    expect(codeOf(() => store.add("a/b", "rock"))).toBe("bad-name");
    expect(codeOf(() => store.add(".hidden", "rock"))).toBe("bad-name");
    expect(codeOf(() => store.add(" padded", "rock"))).toBe("bad-name");
    expect(codeOf(() => store.add("x".repeat(256), "rock"))).toBe("bad-name");
    // The naming rule of the tree: a folder name must already be what the mount would show.
    for (const shown of ["Best: 80s?", "Mix\u202Eevil", "Zero\u200Bwidth", "\u200B"]) expect(codeOf(() => store.add(shown, "rock"))).toBe("bad-name");
    expect(() => store.add("Best_ 80s_", "rock")).not.toThrow();
    store.remove("Best_ 80s_");
    expect(codeOf(() => store.add("recently added", "rock"))).toBe("reserved");
    expect(codeOf(() => store.add("1980s", "rock"))).toBe("reserved");
    expect(codeOf(() => store.add("Mix", "year:abc"))).toBe("bad-year");
    expect(codeOf(() => store.add("Mix", ""))).toBe("empty");
    store.add("Mix", "rock");
    expect(codeOf(() => store.add("Mix", "pop"))).toBe("duplicate");
    expect(() => store.add("Mix", "pop")).toThrow('A collection named "Mix" already exists.');
    expect(codeOf(() => store.remove("Nope"))).toBe("unknown");
    expect(store.list()).toHaveLength(1);
    expect(isReservedCollectionName("2020s")).toBe(true);
    expect(isReservedCollectionName("My 2020s")).toBe(false);
  });
});

describe("CollectionCatalog", () => {
  const db = openMetadataDb(join(dir.path, "metadata.db"));
  const index = new SearchIndex(db);
  index.open();
  index.rebuild([
    track({ id: asFileId(1), title: "Heroes", artist: "David Bowie", genre: "Rock", year: 1977 }),
    track({ id: asFileId(2), title: "Let's Dance", artist: "David Bowie", genre: "Pop", year: 1983 }),
    track({ id: asFileId(3), title: "Vogue", artist: "Madonna", genre: "Pop", year: 1990 }),
    track({ id: asFileId(4), title: "Blue Monday", artist: "New Order", genre: "Pop", year: 1983 }),
    track({ id: asFileId(5), title: "Untagged", year: null }),
  ]);
  const store = CollectionStore.open(join(dir.path, "catalog-collections.db"));
  store.add("Pop", "genre:pop");
  const now = 100 * DAY_MS;
  const calls: number[] = [];
  const catalog = new CollectionCatalog({
    index,
    store,
    now: () => now,
    recentlyAdded: (sinceMs, limit) => {
      calls.push(sinceMs, limit);
      return [5, 3].map(asFileId);
    },
  });

  test("lists built-ins (Recently Added, decades present) then saved collections", () => {
    expect(catalog.list().map((c) => c.name)).toEqual(["Recently Added", "1970s", "1980s", "1990s", "Pop"]);
  });

  test("resolves decades, saved queries and Recently Added (30 days)", () => {
    expect(catalog.resolve("1980s")).toEqual([2, 4].map(asFileId));
    expect(catalog.resolve("1970s")).toEqual([1].map(asFileId));
    expect(catalog.resolve("Pop")!.sort()).toEqual([2, 3, 4].map(asFileId));
    expect(catalog.resolve("Recently Added")).toEqual([5, 3].map(asFileId));
    expect(calls).toEqual([now - 30 * DAY_MS, 999]);
    expect(catalog.resolve("2000s")).toBeNull();
    expect(catalog.resolve("Nope")).toBeNull();
  });
});
