/**
 * Views over a real metadata.db: every file once more below each view's folder, laid out by the view's template;
 * stored placements (a second mount does nothing), one view re-laid out alone when its template changes, live
 * changes in every view, and the main tree's folder that gives way to a view of the same name.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Library } from "../../../src/app/library/library.ts";
import type { PlacementResult } from "../../../src/app/catalog/treeBuilder.ts";
import { BUILT_IN_VIEWS, DEFAULT_TEMPLATE, type MusicFsConfig, type ViewConfig } from "../../../src/config/config.ts";
import { emptyTags, type FileId, type FileMeta } from "../../../src/core/types.ts";
import { Database } from "../../../src/db/database.ts";
import { NodeKind } from "../../../src/db/treeStore.ts";
import { asFileId, asOriginId } from "../../../src/core/ids.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), "musicfs-views-"));
  dirs.push(d);
  return join(d, "metadata.db");
}

const GENRES: ViewConfig = { name: "Genres", template: BUILT_IN_VIEWS.Genres };
const YEARS: ViewConfig = { name: "Years", template: BUILT_IN_VIEWS.Years };

function config(views: ViewConfig[]): MusicFsConfig {
  return {
    source: null, mountPoint: null, cacheDir: "/nonexistent", template: DEFAULT_TEMPLATE, allowOther: false, specialDirs: "hidden",
    cover: null, views, origins: [{ id: asOriginId("o"), path: "/nonexistent/o", cache: "off", priority: 0 }],
    cache: { maxBytes: 1, readTimeoutMs: 1000 }, sync: { watch: false, intervalS: 0, offlineRetryS: 60 },
  };
}

function track(realPath: string, t: Partial<FileMeta>): FileMeta {
  return { originId: asOriginId("o"), realPath, size: 100, mtimeMs: 1, format: realPath.slice(realPath.lastIndexOf(".") + 1), ...emptyTags(), ...t };
}

const moss = [1, 2].map((n) =>
  track(`Moss/${n}.flac`, { album: "Green", albumArtist: "Moss", artist: "Moss", genre: "Ambient", year: 2011, title: `G${n}`, track: n }),
);
const hits = (mbAlbumId: string, dir: string, n: number) =>
  track(`${dir}/${n}.flac`, { album: "Greatest Hits", albumArtist: "Band", genre: "Rock", mbAlbumId, year: 2001, title: `${dir}${n}`, track: n });
/** An artist whose folder has the name of a view. */
const yearsBand = track("Years/1.flac", { album: "Debut", albumArtist: "Years", artist: "Years", genre: "Pop", year: 2020, title: "One", track: 1 });

async function open(path: string, views: ViewConfig[]): Promise<Library> {
  const lib = new Library(Database.open(path), config(views));
  await lib.openSearch();
  return lib;
}

/** A library as a first scan and the mount after it leave it: files stored, albums, main tree, views laid out. */
async function scanned(path: string, files: FileMeta[], views: ViewConfig[]): Promise<Library> {
  const lib = await open(path, views);
  lib.storeFiles(files);
  lib.albums.rebuildAll();
  lib.tree.placeUnplaced(["o"]);
  lib.db.setMeta("scan_complete", "1");
  lib.applyTemplate();
  return lib;
}

/** Every node's path from the root (`p(ino, path)`). */
const PATHS = `WITH RECURSIVE p(ino, path) AS (SELECT ino, name FROM nodes WHERE parent = 1
  UNION ALL SELECT n.ino, p.path || '/' || n.name FROM nodes n JOIN p ON n.parent = p.ino)`;

/** Every file node as "path → file id", the path from the root, like `find -type f` on the mount. */
function filePaths(lib: Library): Map<string, number> {
  const rows = lib.db.sqlite
    .query(
      `${PATHS} SELECT p.path, n.file_id FROM p JOIN nodes n ON n.ino = p.ino WHERE n.kind = ${NodeKind.File} ORDER BY p.path`,
    )
    .values();
  return new Map(rows.map((r) => [String(r[0]), Number(r[1])]));
}

function inodes(lib: Library): Map<string, number> {
  const rows = lib.db.sqlite
    .query(
      `${PATHS} SELECT path, ino FROM p`,
    )
    .values();
  return new Map(rows.map((r) => [String(r[0]), Number(r[1])]));
}

function syncBatch(lib: Library, files: FileMeta[]): PlacementResult {
  const result: PlacementResult = { placed: 0, added: [], removed: [] };
  lib.db.transaction(() => lib.placeChanged(files, lib.storeFiles(files), Date.now(), result));
  return result;
}

describe("views", () => {
  test("every file appears once in the main tree and once in each view, by the view's template", async () => {
    const lib = await scanned(tempDb(), [...moss, hits("aaaa", "a", 1), hits("bbbb", "b", 1)], [GENRES, YEARS]);
    expect([...filePaths(lib).keys()]).toEqual([
      "Band/Greatest Hits (2001) [FLAC] (2)/01 - b1.flac",
      "Band/Greatest Hits (2001) [FLAC]/01 - a1.flac",
      "Genres/Ambient/Moss/Green (2011)/01 - G1.flac",
      "Genres/Ambient/Moss/Green (2011)/02 - G2.flac",
      // Two same-named albums are two folders in a view too (album identity, as in the main tree).
      "Genres/Rock/Band/Greatest Hits (2001) (2)/01 - b1.flac",
      "Genres/Rock/Band/Greatest Hits (2001)/01 - a1.flac",
      "Moss/Green (2011) [FLAC]/01 - G1.flac",
      "Moss/Green (2011) [FLAC]/02 - G2.flac",
      "Years/2001/Band - Greatest Hits (2)/01 - b1.flac",
      "Years/2001/Band - Greatest Hits/01 - a1.flac",
      "Years/2011/Moss - Green/01 - G1.flac",
      "Years/2011/Moss - Green/02 - G2.flac",
    ]);
    // Search results keep linking into the main tree; the library still counts each file once.
    expect(lib.db.getFileByVirtualPath("Moss/Green (2011) [FLAC]/01 - G1.flac")).not.toBeNull();
    expect(lib.refreshFileCount()).toBe(4);
    lib.close();
  });

  test("no views: the root is exactly the main tree", async () => {
    const lib = await scanned(tempDb(), moss, []);
    expect([...inodes(lib).keys()].filter((p) => !p.includes("/"))).toEqual(["Moss"]);
    expect(lib.db.sqlite.query("SELECT count(*) FROM views").values()[0][0]).toBe(0);
    lib.close();
  });

  test("a later mount does nothing and keeps every inode; a changed view is re-laid out alone", async () => {
    const path = tempDb();
    const first = await scanned(path, [...moss, hits("aaaa", "a", 1)], [GENRES, YEARS]);
    const before = inodes(first);
    first.close();

    const again = await open(path, [GENRES, YEARS]);
    expect(again.views.apply(again.tree, ["o"], false)).toBe(false);
    expect(inodes(again)).toEqual(before);
    again.close();

    // Years now by album year and genre: Genres keeps every node, Years keeps the nodes of unchanged paths.
    const changed = await open(path, [GENRES, { name: "Years", template: "$albumyear/$genre/$albumartist - $album/$disctrack - $title.$format" }]);
    changed.applyTemplate();
    const after = inodes(changed);
    for (const [p, ino] of before) if (!p.startsWith("Years/")) expect(after.get(p)).toBe(ino);
    expect(after.get("Years")).toBe(before.get("Years")!);
    expect(after.get("Years/2011")).toBe(before.get("Years/2011")!);
    expect([...filePaths(changed).keys()].filter((p) => p.startsWith("Years/"))).toEqual([
      "Years/2001/Rock/Band - Greatest Hits/01 - a1.flac",
      "Years/2011/Ambient/Moss - Green/01 - G1.flac",
      "Years/2011/Ambient/Moss - Green/02 - G2.flac",
    ]);
    changed.close();
  });

  test("an artist named like a view gives way (\"Years (2)\") and gets its name back when the view goes", async () => {
    const path = tempDb();
    const plain = await scanned(path, [...moss, yearsBand], []);
    expect(filePaths(plain).has("Years/Debut (2020) [FLAC]/01 - One.flac")).toBe(true);
    const mossIno = inodes(plain).get("Moss/Green (2011) [FLAC]/01 - G1.flac");
    plain.close();

    const withView = await open(path, [YEARS]);
    withView.applyTemplate();
    const files = filePaths(withView);
    expect(files.has("Years (2)/Debut (2020) [FLAC]/01 - One.flac")).toBe(true);
    expect(files.has("Years/2020/Years - Debut/01 - One.flac")).toBe(true);
    expect(withView.db.getFileByVirtualPath("Years (2)/Debut (2020) [FLAC]/01 - One.flac")).not.toBeNull();
    expect(inodes(withView).get("Moss/Green (2011) [FLAC]/01 - G1.flac")).toBe(mossIno!); // untouched
    // A new track of that artist goes to the moved folder too.
    syncBatch(withView, [{ ...yearsBand, realPath: "Years/2.flac", title: "Two", track: 2 }]);
    expect(filePaths(withView).has("Years (2)/Debut (2020) [FLAC]/02 - Two.flac")).toBe(true);
    withView.close();

    const removed = await open(path, []);
    removed.applyTemplate();
    expect([...filePaths(removed).keys()]).toEqual([
      "Moss/Green (2011) [FLAC]/01 - G1.flac",
      "Moss/Green (2011) [FLAC]/02 - G2.flac",
      "Years/Debut (2020) [FLAC]/01 - One.flac",
      "Years/Debut (2020) [FLAC]/02 - Two.flac",
    ]);
    expect(removed.db.sqlite.query("SELECT count(*) FROM view_placements").values()[0][0]).toBe(0);
    removed.close();
  });

  test("a retag moves the file in every view, a removal takes it out of every view (the view's folder stays)", async () => {
    const lib = await scanned(tempDb(), moss, [GENRES]);
    const result = syncBatch(lib, [{ ...moss[0], genre: "Drone" }]);
    const files = filePaths(lib);
    expect(files.has("Genres/Drone/Moss/Green (2011)/01 - G1.flac")).toBe(true);
    expect(files.has("Genres/Ambient/Moss/Green (2011)/01 - G1.flac")).toBe(false);
    expect(result.added.some((e) => e.name === "Drone")).toBe(true);
    expect(result.removed.some((e) => e.name === "01 - G1.flac")).toBe(true);

    const removal: FileId[] = [...files.entries()].filter(([p]) => p.startsWith("Moss/")).map(([, id]) => asFileId(id));
    lib.removeFiles(removal);
    expect([...inodes(lib).keys()]).toEqual(["Genres"]);
    lib.close();
  });

  test("files removed at open, before a changed view is re-laid out (an origin no longer configured), leave no empty folders in it", async () => {
    const path = tempDb();
    const first = await scanned(path, [...moss, hits("aaaa", "a", 1)], [GENRES]);
    first.close();
    const lib = await open(path, [{ name: "Genres", template: "$genre/$album/$title.$format" }]);
    lib.removeFiles(moss.map((m) => lib.db.getFileByRealPath(asOriginId("o"), m.realPath)!.id!)); // what originReconcile does
    lib.applyTemplate();
    expect([...inodes(lib).keys()].filter((p) => p.startsWith("Genres"))).toEqual([
      "Genres",
      "Genres/Rock",
      "Genres/Rock/Greatest Hits",
      "Genres/Rock/Greatest Hits/a1.flac",
    ]);
    lib.close();
  });

  test("a first layout interrupted (template not recorded yet) is completed by the configured template at the next mount", async () => {
    const path = tempDb();
    const first = await scanned(path, [...moss, hits("aaaa", "a", 1)], [GENRES]);
    first.db.sqlite.run("UPDATE views SET template = ''"); // as if the mount had stopped before the layout finished
    first.close();
    const lib = await open(path, [{ name: "Genres", template: "$genre/$title.$format" }]);
    lib.applyTemplate();
    expect([...filePaths(lib).keys()].filter((p) => p.startsWith("Genres/"))).toEqual(["Genres/Ambient/G1.flac", "Genres/Ambient/G2.flac", "Genres/Rock/a1.flac"]);
    lib.close();
  });

  test("$added groups by the month a file came into the library", async () => {
    const lib = await scanned(tempDb(), moss, [{ name: "Recently Added", template: BUILT_IN_VIEWS["Recently Added"] }]);
    const month = new Date().toISOString().slice(0, 7);
    expect([...filePaths(lib).keys()].filter((p) => p.startsWith("Recently Added/"))).toEqual([
      `Recently Added/${month}/Moss - Green (2011)/01 - G1.flac`,
      `Recently Added/${month}/Moss - Green (2011)/02 - G2.flac`,
    ]);
    lib.close();
  });
});
