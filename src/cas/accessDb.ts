import { Database } from "bun:sqlite";

/**
 * Opens `<chunks>/access.db`, which the ledger (chunk access times) and the range index (partly cached files) share:
 * one place for how it is opened. WAL so that readers never wait for the periodic flushes; NORMAL sync because the
 * chunk files are verified on read (a lost access time only makes eviction less exact); a busy timeout because the
 * two keep a connection each.
 */
export function openAccessDb(path: string): Database {
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}
