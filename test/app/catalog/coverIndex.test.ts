/**
 * Album covers kept in step with a real metadata.db: the cover node of each album folder after a first scan, moved
 * with its album, gone with its last track, renamed when the configured name changes, and put into any other folder
 * that claims the album (what a view's album folder does). The bytes are checked through real mounts in
 * test/e2e/covers.test.ts; here the rows are.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Library } from "../../../src/app/library/library.ts";
import type { PlacementResult } from "../../../src/app/catalog/treeBuilder.ts";
import { DEFAULT_TEMPLATE, type MusicFsConfig } from "../../../src/config/config.ts";
import { emptyTags, type EmbeddedPicture, type FileMeta } from "../../../src/core/types.ts";
import { Database } from "../../../src/db/database.ts";
import { NodeReader } from "../../../src/db/nodeReader.ts";
import { NodeKind, ROOT_INO } from "../../../src/db/treeStore.ts";
import { asIno, asOriginId } from "../../../src/core/ids.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), "musicfs-covers-"));
  dirs.push(d);
  return join(d, "metadata.db");
}

function config(cover: string | null): MusicFsConfig {
  return {
    source: null, mountPoint: null, cacheDir: "/nonexistent", template: DEFAULT_TEMPLATE, allowOther: false, specialDirs: "hidden", cover, views: [],
    origins: [{ id: asOriginId("o"), path: "/nonexistent/o", cache: "off", priority: 0 }],
    cache: { maxBytes: 1, readTimeoutMs: 1000 }, sync: { watch: false, intervalS: 0, offlineRetryS: 60 },
  };
}

const JPEG: EmbeddedPicture = { offset: 100, length: 2000, type: "jpeg", front: true };
const PNG: EmbeddedPicture = { offset: 50, length: 300, type: "png", front: false };

function track(realPath: string, t: Partial<FileMeta>): FileMeta {
  return { originId: asOriginId("o"), realPath, size: 10_000, mtimeMs: 1, format: "flac", ...emptyTags(), albumArtist: "Band", artist: "Band", year: 2001, ...t };
}

const green = [track("G/1.flac", { album: "Green", title: "g1", track: 1, picture: PNG }), track("G/2.flac", { album: "Green", title: "g2", track: 2, picture: JPEG })];
const plain = [track("P/1.flac", { album: "Plain", title: "p1", track: 1 })];

async function scanned(path: string, files: FileMeta[], cover: string | null = "cover"): Promise<Library> {
  const lib = new Library(Database.open(path), config(cover));
  await lib.openSearch();
  lib.storeFiles(files);
  lib.albums.rebuildAll();
  lib.tree.placeUnplaced(["o"]);
  lib.db.transaction(() => lib.covers.refreshAll(Date.now()));
  lib.db.setMeta("template", DEFAULT_TEMPLATE);
  lib.db.setMeta("scan_complete", "1");
  return lib;
}

/** Every cover node as "folder path/name" with its size as a FUSE worker sees it. */
function coverFiles(lib: Library, path: string): string[] {
  const reader = new NodeReader(path);
  try {
    const rows = lib.db.sqlite.query(`SELECT ino, parent FROM nodes WHERE kind = ${NodeKind.Cover}`).values();
    return rows.map((r) => {
      const node = reader.node(asIno(Number(r[0])))!;
      const parts = [node.name];
      for (let p = Number(r[1]); p !== ROOT_INO; ) {
        const dir = reader.node(asIno(p))!;
        parts.unshift(dir.name);
        p = dir.parent;
      }
      return `${parts.join("/")} ${node.size}`;
    }).sort();
  } finally {
    reader.close();
  }
}

function syncBatch(lib: Library, files: FileMeta[]): PlacementResult {
  const result: PlacementResult = { placed: 0, added: [], removed: [] };
  lib.db.transaction(() => lib.placeChanged(files, lib.storeFiles(files), Date.now(), result));
  return result;
}

describe("cover nodes in the stored tree", () => {
  test("a first scan: the album with art gets cover.<type> of its front cover (size = the picture's length); none without art", async () => {
    const path = tempDb();
    const lib = await scanned(path, [...green, ...plain]);
    expect(coverFiles(lib, path)).toEqual(["Band/Green (2001) [FLAC]/cover.jpg 2000"]); // the front cover, though in track 2
  });

  test("a retag that moves the album moves its cover; the cover changes with the picture; the last track takes it along", async () => {
    const path = tempDb();
    const lib = await scanned(path, [...green, ...plain]);
    const moved = syncBatch(lib, green.map((t) => ({ ...t, year: 1999 })));
    expect(coverFiles(lib, path)).toEqual(["Band/Green (1999) [FLAC]/cover.jpg 2000"]);
    expect(moved.removed).toContainEqual(expect.objectContaining({ name: "Green (2001) [FLAC]" }));
    expect(moved.added).toContainEqual(expect.objectContaining({ name: "cover.jpg" }));
    syncBatch(lib, [{ ...green[1], year: 1999, picture: null, mtimeMs: 2 }]); // the front cover was removed from track 2
    expect(coverFiles(lib, path)).toEqual(["Band/Green (1999) [FLAC]/cover.png 300"]);
    syncBatch(lib, [{ ...plain[0], picture: JPEG, mtimeMs: 2 }]);
    expect(coverFiles(lib, path)).toContain("Band/Plain (2001) [FLAC]/cover.jpg 2000");
    const gone = lib.db.getFileByRealPath(asOriginId("o"), "P/1.flac")!.id!;
    lib.removeFiles([gone]);
    expect(coverFiles(lib, path)).toEqual(["Band/Green (1999) [FLAC]/cover.png 300"]);
    expect(lib.db.sqlite.query("SELECT count(*) FROM nodes WHERE name = 'Plain (2001) [FLAC]'").values()[0][0]).toBe(0);
  });

  test("another cover name renames every cover node at the next start; none removes them", async () => {
    const path = tempDb();
    (await scanned(path, [...green, ...plain])).close();
    const renamed = new Library(Database.open(path), config("folder"));
    renamed.applyTemplate();
    expect(coverFiles(renamed, path)).toEqual(["Band/Green (2001) [FLAC]/folder.jpg 2000"]);
    renamed.close();
    const none = new Library(Database.open(path), config(null));
    none.applyTemplate();
    expect(coverFiles(none, path)).toEqual([]);
  });

  test("a second folder that claims the album (as a view's album folder does) gets the cover too", async () => {
    const path = tempDb();
    const lib = await scanned(path, [...green, ...plain]);
    const albumId = lib.albums.store.albumIdOfFile(lib.db.getFileByRealPath(asOriginId("o"), "G/1.flac")!.id!)!;
    lib.db.transaction(() => {
      const view = lib.tree.store.mkdirs(["Genres", "Rock", "Green"], Date.now())!;
      expect(lib.tree.store.claimDir(view, albumId)).toBe(true);
      lib.covers.ensureCoverNode(view, albumId, Date.now());
    });
    expect(coverFiles(lib, path)).toEqual(["Band/Green (2001) [FLAC]/cover.jpg 2000", "Genres/Rock/Green/cover.jpg 2000"]);
    syncBatch(lib, [{ ...green[1], picture: null, mtimeMs: 2 }]); // both folders follow the album's cover
    expect(coverFiles(lib, path)).toEqual(["Band/Green (2001) [FLAC]/cover.png 300", "Genres/Rock/Green/cover.png 300"]);
  });
});
