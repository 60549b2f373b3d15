import { Database } from "bun:sqlite";
import { boundWal, walGrowthBytes, WAL_BOUND_BYTES, WAL_PAGES } from "../core/boundedWal.ts";

/** access.db's WAL bound (src/core/boundedWal.ts): its growth is counted by the evictor. */
export const ACCESS_DB_WAL_PAGES = WAL_PAGES;
export const ACCESS_DB_WAL_BOUND_BYTES = WAL_BOUND_BYTES;

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
  boundWal(db);
  return db;
}

/**
 * Bytes access.db at `path` may still take on its disk without any write being admitted: what its WAL may grow to
 * less what it holds now. The evictor keeps this room on top of the free-space reserve, so that the bookkeeping of
 * the writes it admits does not eat into the reserve after them.
 */
export function accessDbGrowthBytes(path: string): number {
  return walGrowthBytes(path);
}
