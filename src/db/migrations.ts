import type { Database } from "bun:sqlite";

/** The schema version schema.sql creates. Bump it together with a new entry in MIGRATIONS. */
export const SCHEMA_VERSION = 10;

/** A meta key: set by the upgrade to version 10, cleared by the content cache once it checked the data files. */
export const CHECK_REUSED_IDS = "check_reused_ids";

/**
 * MIGRATIONS[v] upgrades a database from version v to v + 1, inside a transaction. Version 0 means "empty": it gets
 * schema.sql directly. Keep old steps forever: a user may skip releases.
 */
export const MIGRATIONS: Record<number, (db: Database) => void> = {
  // 1 → 2: a covering index for directory listings and statfs (whole-tree walks on a cold page cache, issue 12).
  1: (db) => db.exec("CREATE INDEX IF NOT EXISTS files_stat ON files (id, size, mtime_ms, origin_id)"),
  // 2 → 3: object-store origins keep their content tag (S3 ETag) per file, the delta-sync identity there.
  2: (db) => db.exec("ALTER TABLE files ADD COLUMN etag TEXT"),
  // 3 → 4: names of nodes removed during a mount, so a READDIR cookie naming one still has a place (issue 9).
  3: (db) => db.exec("CREATE TABLE IF NOT EXISTS removed_nodes (ino INTEGER PRIMARY KEY, parent INTEGER NOT NULL, name TEXT NOT NULL)"),
  // 4 → 5: albums (issue 10). The albums are computed after opening (Library.applyTemplate sees no album rules version in
  // meta) and the tree is re-laid out once, keeping the inodes of unchanged paths. original_year is filled as files
  // are parsed again.
  4: (db) => {
    db.exec("ALTER TABLE files ADD COLUMN original_year INTEGER");
    db.exec("ALTER TABLE nodes ADD COLUMN album_id INTEGER");
    db.exec(`CREATE TABLE albums (
      id INTEGER PRIMARY KEY, album_key TEXT NOT NULL UNIQUE, album_artist TEXT, year INTEGER,
      formats TEXT NOT NULL, tracks INTEGER NOT NULL, discs INTEGER NOT NULL)`);
    db.exec(`CREATE TABLE album_tracks (
      file_id INTEGER PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE, album_id INTEGER NOT NULL)`);
    db.exec("CREATE INDEX album_tracks_album ON album_tracks (album_id)");
  },
  // 5 → 6: cover art (issue 10). Existing files get picture_length NULL, "not looked for": the next delta sync parses
  // them again (in the background, the mount stays instant) to find their embedded pictures; the same sync records
  // the folder images its walk meets, and every album folder then gets its cover node.
  5: (db) => {
    for (const column of ["picture_offset INTEGER", "picture_length INTEGER", "picture_type TEXT", "picture_front INTEGER"])
      db.exec(`ALTER TABLE files ADD COLUMN ${column}`);
    db.exec(`CREATE TABLE folder_images (
      id INTEGER PRIMARY KEY, origin_id TEXT NOT NULL, real_path TEXT NOT NULL, size INTEGER NOT NULL,
      mtime_ms INTEGER NOT NULL, etag TEXT, type TEXT, chunk_manifest BLOB, manifest_size INTEGER, manifest_mtime_ms INTEGER,
      real_dir TEXT GENERATED ALWAYS AS (rtrim(real_path, replace(real_path, '/', ''))) VIRTUAL,
      UNIQUE (origin_id, real_path))`);
    db.exec("CREATE INDEX folder_images_dir ON folder_images (origin_id, real_dir)");
    db.exec(`CREATE TABLE album_covers (
      album_id INTEGER PRIMARY KEY, image_id INTEGER REFERENCES folder_images (id) ON DELETE CASCADE,
      file_id INTEGER REFERENCES files (id) ON DELETE CASCADE, offset INTEGER NOT NULL, length INTEGER NOT NULL,
      type TEXT NOT NULL)`);
    db.exec("CREATE INDEX nodes_album ON nodes (album_id) WHERE album_id IS NOT NULL");
  },
  // 6 → 7: views (issue 10). No view exists yet: the views configured are created and placed at the next mount
  // (Library.applyTemplate), the main tree is untouched.
  6: (db) => {
    db.exec("ALTER TABLE nodes ADD COLUMN view_id INTEGER");
    db.exec("CREATE TABLE views (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, template TEXT NOT NULL, ino INTEGER NOT NULL)");
    db.exec(`CREATE TABLE view_placements (
      view_id INTEGER NOT NULL, file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
      template_path TEXT NOT NULL, PRIMARY KEY (view_id, file_id)) WITHOUT ROWID`);
  },
  // 7 → 8: manifests of files whose origin was removed from the configuration, kept for its return (issue 16).
  7: (db) =>
    db.exec(`CREATE TABLE retired_manifests (
      origin_key TEXT NOT NULL, real_path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL, etag TEXT,
      content_hash TEXT, chunk_manifest BLOB NOT NULL, manifest_size INTEGER NOT NULL, manifest_mtime_ms INTEGER NOT NULL,
      retired_at INTEGER NOT NULL, PRIMARY KEY (origin_key, real_path)) WITHOUT ROWID`),
  // 8 → 9: complete cached files are data files named by file id (issue 17): a retired file's data file moves to a
  // reserved id while it waits, and back to the returning file's id (issue 16).
  8: (db) => {
    db.exec("ALTER TABLE retired_manifests ADD COLUMN data_key INTEGER");
    db.exec(`CREATE TABLE data_file_moves (
      id INTEGER PRIMARY KEY, from_id INTEGER NOT NULL, to_id INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL)`);
  },
  // 9 → 10: file and folder image ids are never handed out twice, and a deletion records the content to forget
  // (schema.sql says why). Ids deleted before this version are not known: the highest one stored now is the floor,
  // and the next mount's content cache drops data files an id handed out twice may have left (CHECK_REUSED_IDS).
  9: (db) => {
    db.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('${CHECK_REUSED_IDS}', '1')`);
    db.exec("CREATE TABLE id_high_water (tbl TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID");
    db.exec("CREATE TABLE forgotten_content (content_id INTEGER PRIMARY KEY)");
    for (const [table, contentId] of [["files", "old.id"], ["folder_images", "-old.id"]]) {
      db.exec(`CREATE TRIGGER ${table}_deleted AFTER DELETE ON ${table} BEGIN
        INSERT INTO id_high_water (tbl, id) VALUES ('${table}', old.id) ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
        INSERT OR IGNORE INTO forgotten_content (content_id) VALUES (${contentId});
      END`);
    }
  },
};
