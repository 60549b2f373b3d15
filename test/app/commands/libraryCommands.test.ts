/**
 * What the read-side commands (status, search, collection, unmount) get from src/app, without a mount and without
 * the CLI around them: a real scanned library, real SQLite files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { deleteCollection, listCollections, saveCollection } from "../../../src/app/commands/collections.ts";
import { validateLibraryConfig } from "../../../src/app/library/libraryConfig.ts";
import { readLibraryStatus } from "../../../src/app/commands/libraryStatus.ts";
import { searchLibrary } from "../../../src/app/commands/librarySearch.ts";
import { statusPath } from "../../../src/app/mount/statusFile.ts";
import { unmountMusicfs } from "../../../src/app/commands/unmount.ts";
import { loadConfig } from "../../../src/config/config.ts";
import { isUserError } from "../../../src/core/errors.ts";
import { NodeReader } from "../../../src/db/nodeReader.ts";
import { cleanupAll, tempDir } from "../../support/cleanup.ts";
import { scannedSampleLibrary, type ScannedLibrary } from "../../support/scannedLibrary.ts";
import { asIno } from "../../../src/core/ids.ts";

let lib: ScannedLibrary;
/** A word of some track's title, from the database itself (what a user would type). */
let titleWord: string;

beforeAll(async () => {
  lib = await scannedSampleLibrary();
  const db = new Database(lib.paths.metadataDb, { readonly: true });
  const titles = db.query("SELECT title FROM files WHERE title IS NOT NULL ORDER BY id").values().map((r) => String(r[0]));
  db.close();
  titleWord = titles.flatMap((t) => t.split(/[^\p{L}\p{N}]+/u)).find((w) => w.length > 3)!;
}, 180_000);
afterAll(cleanupAll);

/** Does a tree path exist in the library's database? */
function inTree(path: string): boolean {
  const nodes = new NodeReader(lib.paths.metadataDb);
  try {
    let ino = 1;
    for (const name of path.split("/")) {
      const n = nodes.child(asIno(ino), name);
      if (!n) return false;
      ino = n.ino;
    }
    return true;
  } finally {
    nodes.close();
  }
}

describe("status", () => {
  test("a library that is not mounted reports its files and no mount, even with a status file left by a killed daemon", () => {
    writeFileSync(statusPath(lib.paths.cacheDir), JSON.stringify({ pid: 999_999, mountPoint: "/tmp/gone", startedAt: 1, updatedAt: 1, state: "running", files: 20 }));
    const status = readLibraryStatus(lib.paths);
    expect(status.mounted).toBeNull();
    expect(status.files).toBe(20);
    expect(status.searchIndex).toBe("ok");
  });
});

describe("search", () => {
  test("results are tree paths, ranked, with the exact total", () => {
    const all = searchLibrary(lib.paths, titleWord, 1000);
    expect(all.total).toBeGreaterThan(0);
    const limited = searchLibrary(lib.paths, titleWord, 1);
    expect(limited.results.length).toBe(1);
    expect(limited.total).toBe(all.total);
    for (const r of all.results) expect(inTree(r.path)).toBe(true);
  });

  test("a query that matches nothing gives no results, not an error", () => {
    expect(searchLibrary(lib.paths, "zzqqxxnothing", 10)).toEqual({ total: 0, results: [] });
  });
});

describe("collections", () => {
  test("a saved collection is listed with its track count, and gone after delete", () => {
    const expected = searchLibrary(lib.paths, `title:${titleWord}`, 10_000).total;
    expect(expected).toBeGreaterThan(0);
    saveCollection(lib.paths, "Mine", `title:${titleWord}`);
    const listed = listCollections(lib.paths).find((c) => c.name === "Mine");
    expect(listed?.tracks).toBe(expected);
    deleteCollection(lib.paths, "Mine");
    expect(listCollections(lib.paths).some((c) => c.name === "Mine")).toBe(false);
  });
});

describe("refusals", () => {
  test("unmount of a folder that is not a musicfs mount is a clear user error", async () => {
    const dir = tempDir();
    const e = await unmountMusicfs(dir).then(() => null, (err) => err);
    expect(isUserError(e)).toBe(true);
    expect(String(e.message)).toContain("is not a musicfs mountpoint");
  });

  test("a template with an unknown variable is refused before anything is scanned, naming the variable", () => {
    const config = loadConfig({ template: "$artist/$nosuchvar - $title.$format", origins: [lib.origin], cacheDir: tempDir() });
    let error: unknown;
    try {
      validateLibraryConfig(config);
    } catch (e) {
      error = e;
    }
    expect(isUserError(error)).toBe(true);
    expect(String((error as Error).message)).toContain("nosuchvar");
  });
});
