import type { Database } from "bun:sqlite";

/** The schema version schema.sql creates. Bump it together with a new entry in MIGRATIONS. */
export const SCHEMA_VERSION = 4;

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
};
