import { SCHEMA_VERSION } from "../../src/db/migrations.ts";
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync, openSync, writeSync, closeSync, statSync, existsSync } from "node:fs";
import { cleanupAll, tempDir } from "../support/cleanup.ts";
import { join } from "node:path";
import { Database, DatabaseCorruptError, METADATA_WAL_LIMIT_BYTES, moveDatabaseAside } from "../../src/db/database.ts";
import { NodeReader } from "../../src/db/nodeReader.ts";
import { CoverStore } from "../../src/db/coverStore.ts";
import { TreeStore, ROOT_INO } from "../../src/db/treeStore.ts";
import { emptyTags, type FileMeta } from "../../src/core/types.ts";
import { Database as RawSqlite } from "bun:sqlite";
import { asIno, asOriginId } from "../../src/core/ids.ts";

afterEach(cleanupAll);

function meta(realPath: string, over: Partial<FileMeta> = {}): FileMeta {
  return { ...emptyTags(), originId: asOriginId("o1"), realPath, size: 1000, mtimeMs: 1_700_000_000_000, format: "flac", ...over };
}

describe("Database", () => {
  test("upsert keeps ids stable, updates tags, and drops the manifest only when the content changed", () => {
    const db = Database.open(join(tempDir(), "metadata.db"));
    const [id] = db.upsertFiles([meta("a.flac", { title: "One", artists: ["X", "Y"] })]);
    db.updateManifest(id, new Uint8Array([1, 2, 3]), 1000, 1_700_000_000_000);
    expect(db.getManifest(id)?.manifest).toEqual(new Uint8Array([1, 2, 3]));

    // Same content, new tags: same id, manifest kept.
    const [again] = db.upsertFiles([meta("a.flac", { title: "Uno" })]);
    expect(again).toBe(id);
    expect(db.getFile(id)?.title).toBe("Uno");
    expect(db.getManifest(id)).not.toBeNull();

    // Content changed (size): the manifest no longer describes the file.
    db.upsertFiles([meta("a.flac", { size: 2000 })]);
    expect(db.getManifest(id)).toBeNull();
    expect(db.fileCount()).toBe(1);
    db.close();
  });

  test("after a large transaction the WAL is cut back to its limit at the next checkpoint, not kept at its peak", () => {
    const path = join(tempDir(), "metadata.db");
    const db = Database.open(path);
    // One transaction of ~12 MB (a rescan of a large library writes like this): the WAL must grow to hold it.
    const long = "x".repeat(2000);
    db.upsertFiles(Array.from({ length: 6000 }, (_, i) => meta(`Artist/Album/${i}.flac`, { title: `${long}${i}` })));
    const peak = statSync(`${path}-wal`).size;
    expect(peak).toBeGreaterThan(2 * METADATA_WAL_LIMIT_BYTES);
    // Small commits go on (the mount keeps running): SQLite checkpoints the big WAL, restarts it at the next write,
    // and then cuts the file back to the limit instead of keeping it at its peak size on the cache disk.
    let wal = peak;
    for (let i = 0; i < 50 && wal > METADATA_WAL_LIMIT_BYTES; i++) {
      db.setMeta("probe", String(i));
      wal = statSync(`${path}-wal`).size;
    }
    expect(wal).toBeLessThanOrEqual(METADATA_WAL_LIMIT_BYTES);
    expect(db.fileCount()).toBe(6000);
    db.close();
  });

  test("an id is never handed out twice, and every deletion is recorded for the content cache", () => {
    const db = Database.open(join(tempDir(), "metadata.db"));
    const [a, b] = db.upsertFiles([meta("a.flac"), meta("b.flac")]);
    db.deleteFiles([b!]); // the last row: SQLite alone would give its id to the next new row
    const [c] = db.upsertFiles([meta("c.flac")]);
    expect(c as number).toBe(b! + 1);
    db.deleteFiles([c!, a!]);
    const [d] = db.upsertFiles([meta("d.flac")]);
    expect(d as number).toBe(c! + 1);
    // Folder images have their own ids (negated as content ids).
    const covers = new CoverStore(db);
    covers.upsertImage(asOriginId("o1"), { realPath: "x/cover.jpg", size: 10, mtimeMs: 1 }, "jpeg");
    const image = covers.imagesOfOrigin(asOriginId("o1"))[0]!;
    covers.deleteImage(image.id);
    covers.upsertImage(asOriginId("o1"), { realPath: "y/cover.jpg", size: 10, mtimeMs: 1 }, "jpeg");
    expect(covers.imagesOfOrigin(asOriginId("o1"))[0]!.id as number).toBe(image.id + 1);
    expect(db.pendingForgottenContent()).toEqual([-image.id, a!, b!, c!]);
    db.forgottenContentDone([a!, b!]);
    expect(db.pendingForgottenContent()).toEqual([-image.id, c!]);
    db.close();
  });

  test("listAllFiles round-trips every field", () => {
    const db = Database.open(join(tempDir(), "metadata.db"));
    const full = meta("x/y.mp3", {
      title: "Lux Æterna", artists: ["A", "B"], artist: "A; B", album: "Al", albumArtist: "VA", genre: "Rock",
      year: 1986, date: "1986-03-03", track: 3, trackTotal: 12, disc: 2, discTotal: 2, composer: "C",
      compilation: true, comment: "c", titleSort: "ts", artistSort: "as", albumSort: "als", albumArtistSort: "aas",
      mbTrackId: "t", mbAlbumId: "al", mbArtistId: "ar", mbAlbumArtistId: "aa", mbReleaseGroupId: "rg",
      rgTrackGain: -6.5, rgTrackPeak: 0.98, rgAlbumGain: -7, rgAlbumPeak: 1, durationMs: 215000, bitrate: 320000,
      sampleRate: 44100, channels: 2, bitsPerSample: 16, codec: "MPEG 1 Layer 3", parseError: null, format: "mp3", etag: "9b2cf535f27731c974343645a3985328",
    });
    const [id] = db.upsertFiles([full]);
    expect(db.listAllFiles()).toEqual([{ ...full, id }]);
    db.close();
  });

  test("a damaged database file is detected at open and can be moved aside", () => {
    const dir = tempDir();
    const path = join(dir, "metadata.db");
    const db = Database.open(path);
    db.upsertFiles(Array.from({ length: 2000 }, (_, i) => meta(`f${i}.flac`, { title: "t".repeat(200) })));
    db.checkpoint();
    db.close();
    const size = statSync(path).size;
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    expect(() => Database.open(path, { check: "quick" })).toThrow(DatabaseCorruptError);
    const aside = moveDatabaseAside(path);
    expect(existsSync(aside)).toBe(true);
    expect(existsSync(path)).toBe(false);
    const fresh = Database.open(path, { check: "quick" });
    expect(fresh.fileCount()).toBe(0);
    fresh.close();
  });

  test("a file that is not a database is reported as damaged, not as a crash", () => {
    const path = join(tempDir(), "metadata.db");
    writeFileSync(path, "this is not sqlite".repeat(100));
    expect(() => Database.open(path, { check: "quick" })).toThrow(DatabaseCorruptError);
  });
});

describe("TreeStore + NodeReader", () => {
  test("a listing continues after its page's last entry was removed by a live sync (issue 9)", () => {
    const path = join(tempDir(), "metadata.db");
    const db = Database.open(path);
    const tree = new TreeStore(db);
    const names = ["a", "b", "c", "d", "e", "f"];
    const ids = db.upsertFiles(names.map((n) => meta(`${n}.flac`)));
    let album = 0;
    db.transaction(() => {
      tree.ensureRoot(1);
      album = tree.mkdirs(["Artist", "Album"], 1)!;
      ids.forEach((id, i) => tree.insertFile(asIno(album), `${names[i]}.flac`, id, 5));
    });
    const reader = new NodeReader(path);
    const page1 = reader.children(asIno(album), asIno(0), 3);
    expect(page1.map((n) => n.name)).toEqual(["a.flac", "b.flac", "c.flac"]);
    // The sync removes "c.flac", the node the kernel's next READDIR cookie names, and "d.flac" after it.
    db.transaction(() => [ids[2]!, ids[3]!].flatMap((id) => tree.removeFileNode(id, 10)));
    expect(reader.children(asIno(album), page1[2]!.ino, 3).map((n) => n.name)).toEqual(["e.flac", "f.flac"]);
    // A cookie naming a node of another directory gives nothing here (no entry from elsewhere, no repeat).
    const other = db.transaction(() => tree.mkdirs(["Other"], 1)!);
    expect(reader.children(asIno(album), other, 3)).toEqual([]);
    // A new mount forgets removed names: no kernel holds a cookie of an earlier mount.
    tree.forgetRemovedNodes();
    expect(reader.children(asIno(album), page1[2]!.ino, 3)).toEqual([]);
    reader.close();
    db.close();
  });

  test("a READ's node lookup, remembered, is the new row after another connection changed or removed it", () => {
    const path = join(tempDir(), "metadata.db");
    const db = Database.open(path);
    const tree = new TreeStore(db);
    const [id] = db.upsertFiles([meta("a.flac", { size: 1000 })]);
    let ino = asIno(0);
    db.transaction(() => {
      tree.ensureRoot(1);
      const album = tree.mkdirs(["Artist", "Album"], 1)!;
      ino = tree.insertFile(asIno(album), "a.flac", id!, 5) as typeof ino;
    });
    const reader = new NodeReader(path);
    expect(reader.nodeOfRead(ino)?.size).toBe(1000);
    expect(reader.nodeOfRead(ino)?.size).toBe(1000); // the same row again (remembered: nothing committed meanwhile)
    // A rescan finds the file changed (new size and mtime): the next READ's lookup sees it.
    db.upsertFiles([meta("a.flac", { size: 2000, mtimeMs: 1_700_000_000_500 })]);
    expect(reader.nodeOfRead(ino)).toMatchObject({ size: 2000, mtimeMs: 1_700_000_000_500 });
    // A caller changing the row it got does not change what the next lookup returns.
    const row = reader.nodeOfRead(ino)!;
    row.size = 1;
    expect(reader.nodeOfRead(ino)?.size).toBe(2000);
    // The file leaves the library: its node is gone.
    db.transaction(() => tree.removeFileNode(id!, 10));
    expect(reader.nodeOfRead(ino)).toBeNull();
    reader.close();
    db.close();
  });

  test("directories are created once, listed in name order with keyset pages, and pruned when emptied", () => {
    const path = join(tempDir(), "metadata.db");
    const db = Database.open(path);
    const tree = new TreeStore(db);
    const ids = db.upsertFiles(["b.flac", "a.flac", "c.flac"].map((p) => meta(p)));
    db.transaction(() => {
      tree.ensureRoot(1);
      const album = tree.mkdirs(["Artist", "Album"], 1)!;
      ids.forEach((id, i) => tree.insertFile(album, `0${i} - t.flac`, id, 5));
      const other = tree.mkdirs(["Other"], 1)!;
      expect(other).not.toBe(album);
    });
    const reader = new NodeReader(path);
    const artist = reader.child(ROOT_INO, "Artist")!;
    const album = reader.child(artist.ino, "Album")!;
    expect(reader.children(album.ino, asIno(0), 10).map((n) => n.name)).toEqual(["00 - t.flac", "01 - t.flac", "02 - t.flac"]);
    const first = reader.children(album.ino, asIno(0), 2);
    const rest = reader.children(album.ino, first[1].ino, 10);
    expect(rest.map((n) => n.name)).toEqual(["02 - t.flac"]);
    expect(reader.node(first[0].ino)?.size).toBe(1000);

    const removed = db.transaction(() => ids.flatMap((id) => tree.removeFileNode(id, 10)));
    expect(removed.map((r) => r.name)).toContain("Artist");
    expect(reader.child(ROOT_INO, "Artist")).toBeNull();
    expect(reader.child(ROOT_INO, "Other")).not.toBeNull();
    reader.close();
    db.close();
  });
});

describe("schema upgrades", () => {
  test("a version-1 database (before the files_stat index) is upgraded at open, and its tree is listed with sizes", () => {
    const path = join(tempDir(), "metadata.db");
    const db = Database.open(path);
    const tree = new TreeStore(db);
    const [id] = db.upsertFiles([meta("a.flac", { size: 4321 })]);
    db.transaction(() => {
      tree.ensureRoot(1);
      tree.insertFile(tree.mkdirs(["Artist"], 1)!, "01 - a.flac", id!, 5);
    });
    db.close();
    const raw = new RawSqlite(path);
    raw.exec("DROP INDEX files_stat");
    raw.exec("DROP TABLE retired_manifests"); // added in version 8 (kept manifests of removed origins)
    raw.exec("DROP TABLE data_file_moves"); // added in version 9
    for (const added10 of ["DROP TRIGGER files_deleted", "DROP TRIGGER folder_images_deleted", "DROP TABLE id_high_water", "DROP TABLE forgotten_content"]) {
      raw.exec(added10); // added in version 10 (ids never reused, deletions recorded for the content cache)
    }
    for (const added7 of ["DROP TABLE view_placements", "DROP TABLE views", "ALTER TABLE nodes DROP COLUMN view_id"]) {
      raw.exec(added7); // added in version 7 (views)
    }
    for (const added6 of ["DROP INDEX nodes_album", "DROP TABLE album_covers", "DROP TABLE folder_images", ...["offset", "length", "type", "front"].map((c) => `ALTER TABLE files DROP COLUMN picture_${c}`)]) {
      raw.exec(added6); // added in version 6 (covers)
    }
    raw.exec("ALTER TABLE files DROP COLUMN etag"); // added in version 3
    for (const added4 of ["DROP TABLE album_tracks", "DROP TABLE albums", "ALTER TABLE files DROP COLUMN original_year", "ALTER TABLE nodes DROP COLUMN album_id"]) {
      raw.exec(added4); // added in version 4 (albums)
    }
    raw.exec("PRAGMA user_version = 1");
    raw.close();

    Database.open(path).close(); // what a mount does first: the writer opens (and upgrades) the database
    const reader = new NodeReader(path); // the FUSE workers' read-only connections come after
    const artist = reader.child(ROOT_INO, "Artist")!;
    expect(reader.children(artist.ino, asIno(0), 10).map((n) => [n.name, n.size])).toEqual([["01 - a.flac", 4321]]);
    expect(Number(reader.connection.query("PRAGMA user_version").values()[0]![0])).toBe(SCHEMA_VERSION);
    reader.close();
    const upgraded = Database.open(path);
    // A row from before covers was never looked at for pictures: the next delta sync parses it again.
    expect(upgraded.listSyncStateInDir(asOriginId("o1"), "").map((r) => r.stale)).toEqual([true]);
    const [again] = upgraded.upsertFiles([meta("a.flac", { size: 4321, etag: "0cc175b9c0f1b6a831c399e269772661" })]);
    expect(upgraded.getFile(again!)?.etag).toBe("0cc175b9c0f1b6a831c399e269772661"); // the S3 ETag column of version 3
    expect(upgraded.getFile(again!)?.picture).toBeNull(); // picture columns of version 6: looked for, none
    expect(upgraded.listSyncStateInDir(asOriginId("o1"), "").map((r) => r.stale)).toEqual([false]);
    // Version 10: the id of a deleted last row is not handed out again.
    const [b] = upgraded.upsertFiles([meta("b.flac")]);
    upgraded.deleteFiles([b!]);
    expect(upgraded.upsertFiles([meta("c.flac")])[0] as number).toBe(b! + 1);
    expect(upgraded.pendingForgottenContent()).toEqual([b!]);
    upgraded.close();
  });
});
