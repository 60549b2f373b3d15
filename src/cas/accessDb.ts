import { Database } from "bun:sqlite";
import { statSync } from "node:fs";

/**
 * How many WAL pages a commit may leave before it checkpoints them into access.db (SQLite's default is 1000, ~4 MiB).
 * The WAL grows on the cache's disk without asking the evictor (every commit of the ledger, fetch progress, range
 * blocks and data file rows appends pages to it), so its growth has to be bounded to be counted: with a small
 * threshold the WAL restarts from its beginning after each checkpoint and stays near this size.
 */
export const ACCESS_DB_WAL_PAGES = 32;
/** SQLite's default page size (access.db never sets another), and a WAL frame's header. */
const PAGE_BYTES = 4096;
const WAL_FRAME_HEADER_BYTES = 24;
/**
 * What access.db's WAL may reach: the checkpoint threshold, plus one commit past it (a ledger flush of a batch can
 * write many pages in one transaction), taken as a second threshold. `journal_size_limit` cuts it back to this after
 * a checkpoint when a large commit made it longer.
 */
export const ACCESS_DB_WAL_BOUND_BYTES = 2 * ACCESS_DB_WAL_PAGES * (PAGE_BYTES + WAL_FRAME_HEADER_BYTES);

/**
 * Opens `<chunks>/access.db`, which the ledger (chunk access times) and the range index (partly cached files) share:
 * one place for how it is opened. WAL so that readers never wait for the periodic flushes; NORMAL sync because the
 * chunk files are verified on read (a lost access time only makes eviction less exact); a busy timeout because the
 * two keep a connection each; a small, bounded WAL (see ACCESS_DB_WAL_PAGES) whose room the evictor keeps.
 */
export function openAccessDb(path: string): Database {
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec(`PRAGMA wal_autocheckpoint = ${ACCESS_DB_WAL_PAGES}`);
  db.exec(`PRAGMA journal_size_limit = ${ACCESS_DB_WAL_BOUND_BYTES}`);
  return db;
}

/**
 * Bytes access.db at `path` may still take on its disk without any write being admitted: what its WAL may grow to
 * (ACCESS_DB_WAL_BOUND_BYTES) less what it holds now. The evictor keeps this room on top of the free-space reserve,
 * so that the bookkeeping of the writes it admits does not eat into the reserve after them.
 */
export function accessDbGrowthBytes(path: string): number {
  let walBytes = 0;
  try {
    walBytes = statSync(`${path}-wal`).size;
  } catch {
    /* no WAL yet: all of it may still come */
  }
  return Math.max(0, ACCESS_DB_WAL_BOUND_BYTES - walBytes);
}
