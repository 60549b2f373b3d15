/**
 * Albums kept in step with a real metadata.db: built after a scan, refreshed by delta-sync batches (whole albums
 * move when their album-level values change), and the once-only upgrade of a database from before albums.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Library } from "../../src/app/library/library.ts";
import { DEFAULT_TEMPLATE, type MusicFsConfig } from "../../src/config/config.ts";
import { emptyTags, type FileMeta } from "../../src/core/types.ts";
import { Database } from "../../src/db/database.ts";
import type { PlacementResult } from "../../src/app/catalog/treeBuilder.ts";
import { asOriginId } from "../../src/core/ids.ts";

const OLD_DEFAULT = "$albumartist/$album ($year) [$format_upper]/$disctrack - $title.$format";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), "musicfs-albums-"));
  dirs.push(d);
  return join(d, "metadata.db");
}

function config(template = DEFAULT_TEMPLATE): MusicFsConfig {
  return {
    source: null, mountPoint: null, cacheDir: "/nonexistent", template, allowOther: false, specialDirs: "hidden", cover: "cover", views: [],
    origins: [{ id: asOriginId("o"), path: "/nonexistent/o", cache: "off", priority: 0 }],
    cache: { maxBytes: 1, readTimeoutMs: 1000 }, sync: { watch: false, intervalS: 0, offlineRetryS: 60 },
  };
}

function track(realPath: string, t: Partial<FileMeta>): FileMeta {
  return { originId: asOriginId("o"), realPath, size: 100, mtimeMs: 1, format: realPath.slice(realPath.lastIndexOf(".") + 1), ...emptyTags(), ...t };
}

const wesnoth = [2004, 2006, 2008, 2012].map((year, i) =>
  track(`Wesnoth/${i + 1}.ogg`, { album: "The Battle for Wesnoth OST", artist: ["Collins", "Nicoll"][i % 2], year, title: `T${i + 1}`, track: i + 1 }),
);
const moss = [1, 2].map((n) => track(`Moss/${n}.flac`, { album: "Green", albumArtist: "Moss", artist: "Moss", year: 2011, title: `G${n}`, track: n }));

async function open(path: string, template = DEFAULT_TEMPLATE): Promise<Library> {
  const lib = new Library(Database.open(path), config(template));
  await lib.openSearch();
  return lib;
}

/** A library with `files` stored, albums built and the tree placed, as after a first scan. */
async function scanned(path: string, files: FileMeta[], template = DEFAULT_TEMPLATE): Promise<Library> {
  const lib = await open(path, template);
  lib.storeFiles(files);
  lib.albums.rebuildAll();
  lib.tree.placeUnplaced(["o"]);
  lib.db.setMeta("template", template);
  return lib;
}

function paths(lib: Library): string[] {
  return lib.db.sqlite.query("SELECT virtual_path FROM files ORDER BY virtual_path").values().map((r) => String(r[0]));
}

function inodeOf(lib: Library, virtualPath: string): number {
  const f = lib.db.getFileByVirtualPath(virtualPath)!;
  return lib.tree.store.nodeOfFile(f.id!)!.ino;
}

/** What a delta-sync batch does: store, then place the changed files and the albums they touched. */
function syncBatch(lib: Library, files: FileMeta[]): PlacementResult {
  const result: PlacementResult = { placed: 0, added: [], removed: [] };
  lib.db.transaction(() => lib.placeChanged(files, lib.storeFiles(files), Date.now(), result));
  return result;
}

describe("albums in the stored tree", () => {
  test("a first scan groups by album identity: the Wesnoth soundtrack is one folder", async () => {
    const lib = await scanned(tempDb(), [...wesnoth, ...moss]);
    expect(paths(lib)).toEqual([
      "Moss/Green (2011) [FLAC]/01 - G1.flac",
      "Moss/Green (2011) [FLAC]/02 - G2.flac",
      "Various Artists/The Battle for Wesnoth OST (2004) [OGG]/01 - T1.ogg",
      "Various Artists/The Battle for Wesnoth OST (2004) [OGG]/02 - T2.ogg",
      "Various Artists/The Battle for Wesnoth OST (2004) [OGG]/03 - T3.ogg",
      "Various Artists/The Battle for Wesnoth OST (2004) [OGG]/04 - T4.ogg",
    ]);
    lib.close();
  });

  test("a new track with an earlier year moves the whole album; another album keeps its nodes", async () => {
    const lib = await scanned(tempDb(), [...wesnoth, ...moss]);
    const mossIno = inodeOf(lib, "Moss/Green (2011) [FLAC]/01 - G1.flac");
    const result = syncBatch(lib, [track("Wesnoth/0.mp3", { album: "The Battle for Wesnoth OST", artist: "Collins", year: 2003, title: "T0" })]);
    const wes = paths(lib).filter((p) => p.startsWith("Various"));
    expect(wes).toHaveLength(5);
    expect(new Set(wes.map((p) => p.split("/")[1]))).toEqual(new Set(["The Battle for Wesnoth OST (2003) [MP3+OGG]"]));
    // The old folder is gone (announced for invalidation), the unaffected album was not touched.
    expect(result.removed.some((e) => e.name === "The Battle for Wesnoth OST (2004) [OGG]")).toBe(true);
    expect(inodeOf(lib, "Moss/Green (2011) [FLAC]/01 - G1.flac")).toBe(mossIno);

    // Removing it again moves the album back.
    const gone = lib.db.getFileByRealPath(asOriginId("o"), "Wesnoth/0.mp3")!.id!;
    lib.removeFiles([gone]);
    expect(new Set(paths(lib).filter((p) => p.startsWith("Various")).map((p) => p.split("/")[1]))).toEqual(
      new Set(["The Battle for Wesnoth OST (2004) [OGG]"]),
    );
    expect(lib.db.sqlite.query("SELECT count(*) FROM albums").values()[0][0]).toBe(2);
    lib.close();
  });

  test("a retag that does not change the album's values re-places only the retagged file", async () => {
    const lib = await scanned(tempDb(), [...wesnoth, ...moss]);
    const other = inodeOf(lib, "Various Artists/The Battle for Wesnoth OST (2004) [OGG]/01 - T1.ogg");
    syncBatch(lib, [{ ...wesnoth[1], title: "Renamed" }]);
    expect(paths(lib)).toContain("Various Artists/The Battle for Wesnoth OST (2004) [OGG]/02 - Renamed.ogg");
    expect(inodeOf(lib, "Various Artists/The Battle for Wesnoth OST (2004) [OGG]/01 - T1.ogg")).toBe(other);
    lib.close();
  });

  test("two same-named albums with different MusicBrainz ids are two folders, also when added later", async () => {
    const hits = (mbAlbumId: string, dir: string, n: number) =>
      track(`${dir}/${n}.flac`, { album: "Greatest Hits", albumArtist: "Band", mbAlbumId, year: 2001, title: `${dir}${n}`, track: n });
    const lib = await scanned(tempDb(), [hits("aaaa", "a", 1), hits("aaaa", "a", 2), hits("bbbb", "b", 1)]);
    expect(paths(lib)).toEqual([
      "Band/Greatest Hits (2001) [FLAC] (2)/01 - b1.flac",
      "Band/Greatest Hits (2001) [FLAC]/01 - a1.flac",
      "Band/Greatest Hits (2001) [FLAC]/02 - a2.flac",
    ]);
    syncBatch(lib, [hits("cccc", "c", 1), hits("aaaa", "a", 3)]);
    expect(paths(lib)).toContain("Band/Greatest Hits (2001) [FLAC] (3)/01 - c1.flac");
    expect(paths(lib)).toContain("Band/Greatest Hits (2001) [FLAC]/03 - a3.flac");
    lib.close();
  });

  test("tagging the album artist on some tracks pulls the untagged ones of the folder along", async () => {
    const lib = await scanned(tempDb(), wesnoth);
    syncBatch(lib, [{ ...wesnoth[0], albumArtist: "Wesnoth Team" }]);
    expect(new Set(paths(lib).map((p) => p.split("/").slice(0, 2).join("/")))).toEqual(
      new Set(["Wesnoth Team/The Battle for Wesnoth OST (2004) [OGG]"]),
    );
    lib.close();
  });
});

describe("upgrade from a database without albums", () => {
  test("migrates, groups albums and re-lays out the tree once, keeping the inodes of unchanged paths", async () => {
    const path = tempDb();
    // A version-1 database as the previous release wrote it, with its files placed by the old default template.
    const old = new Sqlite(path, { create: true });
    old.exec(readFileSync(join(import.meta.dir, "../db/fixtures/schema-v1.sql"), "utf8"));
    old.exec("PRAGMA user_version = 1");
    old.close();
    const before = await open(path, OLD_DEFAULT);
    before.storeFiles([...wesnoth, ...moss]);
    before.tree.placeUnplaced(["o"]); // no albums yet: every file is rendered on its own, as the old release did
    before.db.setMeta("template", OLD_DEFAULT);
    expect(new Set(paths(before).map((p) => p.split("/")[1])).size).toBe(5); // Wesnoth split into 4 folders by year
    const mossIno = inodeOf(before, "Moss/Green (2011) [FLAC]/02 - G2.flac");
    before.close();

    const after = await open(path);
    after.applyTemplate();
    expect(new Set(paths(after).map((p) => p.split("/").slice(0, 2).join("/")))).toEqual(
      new Set(["Moss/Green (2011) [FLAC]", "Various Artists/The Battle for Wesnoth OST (2004) [OGG]"]),
    );
    expect(inodeOf(after, "Moss/Green (2011) [FLAC]/02 - G2.flac")).toBe(mossIno); // path unchanged: same inode
    // Only the directories still in use remain.
    expect(after.tree.store.nodeCount()).toBe(1 + 2 + 2 + 6);
    // Once: the next open finds nothing to do.
    const nodes = after.db.sqlite.query("SELECT ino, parent, name FROM nodes ORDER BY ino").values();
    after.close();
    const again = await open(path);
    again.applyTemplate();
    expect(again.db.sqlite.query("SELECT ino, parent, name FROM nodes ORDER BY ino").values()).toEqual(nodes);
    again.close();
  });
});
