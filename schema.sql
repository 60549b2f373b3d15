-- musicfs metadata.db, schema version 10.
-- Applied by src/db/database.ts on a new database; later versions add numbered migrations in src/db/migrations.ts.
-- Conventions: times are integer milliseconds since the epoch; paths are POSIX, relative, without a leading slash.

CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per audio file on an origin.
CREATE TABLE IF NOT EXISTS files (
  id                  INTEGER PRIMARY KEY,
  origin_id           TEXT    NOT NULL,
  real_path           TEXT    NOT NULL,  -- escaped text: name bytes that are not UTF-8 as U+FFFD + hex (src/core/originPaths.ts)
  size                INTEGER NOT NULL,
  mtime_ms            INTEGER NOT NULL,
  format              TEXT    NOT NULL,
  -- Placement in the virtual tree: the path the template asked for, and the one the file got (with a " (2)"
  -- suffix when another file had it first). NULL until the tree is built (an interrupted first scan).
  template_path       TEXT,
  virtual_path        TEXT,

  title               TEXT,
  artists             TEXT,            -- JSON array of strings
  artist              TEXT,
  album               TEXT,
  album_artist        TEXT,
  genre               TEXT,
  year                INTEGER,
  original_year       INTEGER,         -- the original release year (ORIGINALDATE / TDOR), when tagged
  date                TEXT,
  track               INTEGER,
  track_total         INTEGER,
  disc                INTEGER,
  disc_total          INTEGER,
  composer            TEXT,
  compilation         INTEGER NOT NULL DEFAULT 0,
  comment             TEXT,
  title_sort          TEXT,
  artist_sort         TEXT,
  album_sort          TEXT,
  album_artist_sort   TEXT,
  mb_track_id         TEXT,
  mb_album_id         TEXT,
  mb_artist_id        TEXT,
  mb_album_artist_id  TEXT,
  mb_release_group_id TEXT,
  rg_track_gain       REAL,
  rg_track_peak       REAL,
  rg_album_gain       REAL,
  rg_album_peak       REAL,
  duration_ms         INTEGER,
  bitrate             INTEGER,
  sample_rate         INTEGER,
  channels            INTEGER,
  bits_per_sample     INTEGER,
  codec               TEXT,
  parse_error         TEXT,
  -- The object store's content tag (S3 ETag) where the origin has one: with the size, its delta-sync identity.
  etag                TEXT,
  -- The embedded picture that can be its album's cover: a byte range of the file (src/library/coverLocator.ts),
  -- never the bytes. picture_length 0: none; NULL: not looked for yet (a row from before covers: parsed again).
  picture_offset      INTEGER,
  picture_length      INTEGER,
  picture_type        TEXT,            -- jpeg, png, webp (by the picture's magic bytes)
  picture_front       INTEGER,         -- 1: marked as the front cover

  -- Content cache: the chunk manifest of the file as it was when cached (size + mtime of the origin file then),
  -- so a manifest of a file that changed since is never used.
  content_hash        TEXT,
  chunk_manifest      BLOB,
  manifest_size       INTEGER,
  manifest_mtime_ms   INTEGER,

  added_at            INTEGER NOT NULL,
  last_sync           INTEGER NOT NULL,
  -- The folder part of real_path ("a/b/" for "a/b/c.flac", "" at the origin root): delta sync compares one
  -- folder at a time instead of holding every stored row in memory.
  real_dir            TEXT GENERATED ALWAYS AS (rtrim(real_path, replace(real_path, '/', ''))) VIRTUAL,
  UNIQUE (origin_id, real_path)
);
CREATE INDEX IF NOT EXISTS files_real_dir ON files (origin_id, real_dir);
CREATE INDEX IF NOT EXISTS files_virtual_path ON files (virtual_path);
CREATE INDEX IF NOT EXISTS files_added_at ON files (added_at);
-- What a directory listing and statfs need of a file, packed densely (~40 bytes per file instead of a ~550-byte row):
-- a whole-tree walk with a cold page cache reads this instead of the files table (nodeReader.ts, FILE_STAT_JOIN).
CREATE INDEX IF NOT EXISTS files_stat ON files (id, size, mtime_ms, origin_id);

-- Albums as docs/templates.md defines them (album identity), with their album-level template values stored so a
-- mount never recomputes them: written by src/db/albumStore.ts whenever a member file is added, retagged or removed.
CREATE TABLE IF NOT EXISTS albums (
  id           INTEGER PRIMARY KEY,
  album_key    TEXT    NOT NULL UNIQUE,  -- the identity (albumKeysInFolder), an opaque string
  album_artist TEXT,                     -- $albumartist: the tag, else the common artist, else Various Artists
  year         INTEGER,                  -- $albumyear: earliest original year, else earliest year
  formats      TEXT    NOT NULL,         -- $albumformat: "FLAC", "FLAC+MP3"
  tracks       INTEGER NOT NULL,         -- $albumtracks
  discs        INTEGER NOT NULL          -- $albumdiscs
);

-- Which album each file belongs to (a file without an album tag has no row). A narrow table of its own: a full
-- rebuild writes 100k small rows here instead of rewriting 100k wide `files` rows.
CREATE TABLE IF NOT EXISTS album_tracks (
  file_id  INTEGER PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
  album_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS album_tracks_album ON album_tracks (album_id);

-- Folder images on the origins that can be an album's cover (library/coverChoice.ts names them: cover.jpg,
-- folder.png, …), found by the same walk that finds the audio files. Their bytes stay on the origin; a cached origin
-- fetches them into the chunk store on first read and keeps the manifest here, like files do.
CREATE TABLE IF NOT EXISTS folder_images (
  id                INTEGER PRIMARY KEY,
  origin_id         TEXT    NOT NULL,
  real_path         TEXT    NOT NULL,
  size              INTEGER NOT NULL,
  mtime_ms          INTEGER NOT NULL,
  etag              TEXT,
  type              TEXT,              -- jpeg, png, webp by magic bytes; NULL: not an image we serve
  chunk_manifest    BLOB,
  manifest_size     INTEGER,
  manifest_mtime_ms INTEGER,
  real_dir          TEXT GENERATED ALWAYS AS (rtrim(real_path, replace(real_path, '/', ''))) VIRTUAL,
  UNIQUE (origin_id, real_path)
);
CREATE INDEX IF NOT EXISTS folder_images_dir ON folder_images (origin_id, real_dir);

-- Each album's cover (docs/templates.md, "Cover files"): a folder image, or a byte range of one of its tracks.
CREATE TABLE IF NOT EXISTS album_covers (
  album_id  INTEGER PRIMARY KEY,
  image_id  INTEGER REFERENCES folder_images (id) ON DELETE CASCADE,
  file_id   INTEGER REFERENCES files (id) ON DELETE CASCADE,
  offset    INTEGER NOT NULL,
  length    INTEGER NOT NULL,
  type      TEXT    NOT NULL
);

-- The virtual tree. Inode numbers are the rowids, so they are stable across remounts. Root is inode 1.
CREATE TABLE IF NOT EXISTS nodes (
  ino       INTEGER PRIMARY KEY,
  parent    INTEGER NOT NULL,
  name      TEXT    NOT NULL,
  kind      INTEGER NOT NULL,          -- 1 directory, 2 file, 3 album cover (its album_id says which)
  file_id   INTEGER REFERENCES files (id) ON DELETE CASCADE,
  mtime_ms  INTEGER NOT NULL,
  album_id  INTEGER,                   -- directory: the album it is the folder of (same-named albums get two); cover: its album
  view_id   INTEGER,                   -- NULL: the main tree; else the view (views.id) whose folder or file this is
                                       -- (covers: NULL everywhere; a cover belongs to its folder, in whichever tree)
  UNIQUE (parent, name)
);
CREATE INDEX IF NOT EXISTS nodes_file ON nodes (file_id) WHERE file_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS nodes_album ON nodes (album_id) WHERE album_id IS NOT NULL;

-- Views (docs/templates.md, "Views"): extra top-level folders, each laid out by its own template. A file has one node
-- in the main tree (files.virtual_path) and one in each view; `ino` is the view's top-level folder (parent: root).
-- `template` is the one its placements were made with: another one in the config re-lays out that view only.
CREATE TABLE IF NOT EXISTS views (
  id        INTEGER PRIMARY KEY,
  name      TEXT    NOT NULL UNIQUE,
  template  TEXT    NOT NULL,
  ino       INTEGER NOT NULL
);
-- Where each file was placed in each view: the path the view's template asked for (its node is the file's node
-- with that view_id). A narrow table of its own, like album_tracks: placing a view never rewrites `files` rows.
CREATE TABLE IF NOT EXISTS view_placements (
  view_id        INTEGER NOT NULL,
  file_id        INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  template_path  TEXT    NOT NULL,
  PRIMARY KEY (view_id, file_id)
) WITHOUT ROWID;

-- Nodes removed from the tree during this mount (a live sync): READDIR pages by the name of the node its cookie
-- names, and a listing in progress must continue after a removed one. Emptied at every mount.
CREATE TABLE IF NOT EXISTS removed_nodes (
  ino     INTEGER PRIMARY KEY,
  parent  INTEGER NOT NULL,
  name    TEXT    NOT NULL
);

-- The cached state of files whose origin was removed from the configuration (docs/origins.md, "A mistyped or
-- removed origin"): their rows left `files`, their manifests wait here, keyed by where the origin is (its identity:
-- the folder, or URL + endpoint, never its id) and the file's path and version. When an origin of that identity is
-- configured again, a file stored with the same path, size, mtime and ETag takes its manifest back (no refetch).
-- The chunks themselves stay in the store until LRU eviction takes them.
CREATE TABLE IF NOT EXISTS retired_manifests (
  origin_key         TEXT    NOT NULL,
  real_path          TEXT    NOT NULL,
  size               INTEGER NOT NULL,
  mtime_ms           INTEGER NOT NULL,
  etag               TEXT,
  content_hash       TEXT,
  chunk_manifest     BLOB    NOT NULL,
  manifest_size      INTEGER NOT NULL,
  manifest_mtime_ms  INTEGER NOT NULL,
  retired_at         INTEGER NOT NULL,
  -- The id its complete data file (<cache>/data) was moved to while it waits: a reserved range above any file id
  -- (2^44 + n), so no new file can take it. NULL: none was recorded.
  data_key           INTEGER,
  PRIMARY KEY (origin_key, real_path)
) WITHOUT ROWID;

-- Data files to give another id (a file retired with its origin, or taken back by it): written in the transaction
-- that retires or adopts the manifest, carried out by the content cache of the next (or the running) mount, which
-- owns <cache>/data. A move whose data file is gone (evicted, never complete) does nothing.
CREATE TABLE IF NOT EXISTS data_file_moves (
  id        INTEGER PRIMARY KEY,
  from_id   INTEGER NOT NULL,
  to_id     INTEGER NOT NULL,
  size      INTEGER NOT NULL,
  mtime_ms  INTEGER NOT NULL
);

-- Ids of `files` and `folder_images` are never handed out twice (a data file, range blocks and fetch progress are
-- named by them: a new file under a removed file's id, with the same size and mtime, would be served the removed
-- file's bytes). SQLite gives a new row max(rowid) + 1, which reuses the id of a deleted last row; so the highest id
-- each table ever deleted is kept here, and new rows are inserted with id = max(max(id), this) + 1.
CREATE TABLE IF NOT EXISTS id_high_water (
  tbl  TEXT    PRIMARY KEY,
  id   INTEGER NOT NULL
) WITHOUT ROWID;

-- Content ids (src/core/contentIds.ts: a file's id, a folder image's negated id) whose cached content is to be
-- forgotten: written by the deletion itself (triggers below), so a file removed by an offline `musicfs scan` has its
-- data file, range blocks and fetch progress dropped by the content cache of the next mount, which owns <cache>/.
CREATE TABLE IF NOT EXISTS forgotten_content (
  content_id  INTEGER PRIMARY KEY
);

CREATE TRIGGER IF NOT EXISTS files_deleted AFTER DELETE ON files BEGIN
  INSERT INTO id_high_water (tbl, id) VALUES ('files', old.id) ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
  INSERT OR IGNORE INTO forgotten_content (content_id) VALUES (old.id);
END;
CREATE TRIGGER IF NOT EXISTS folder_images_deleted AFTER DELETE ON folder_images BEGIN
  INSERT INTO id_high_water (tbl, id) VALUES ('folder_images', old.id) ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
  INSERT OR IGNORE INTO forgotten_content (content_id) VALUES (-old.id);
END;
