import { statSync } from "node:fs";

/**
 * A SQLite WAL whose size has a bound, so that the room it may still take can be counted. A WAL grows on its disk
 * with every commit, asking no one; SQLite's default checkpoint (1000 pages, ~4 MiB) lets it reach megabytes, and the
 * file keeps that size after the checkpoint. The databases beside the content cache on its disk (access.db, and
 * patterns.db, which every play commits to) are opened with this bound, and the evictor keeps the room their WALs may
 * still take free on top of the free-space reserve (src/cas/evictionPolicy.ts, `unaskedBytes`).
 */

/** How many WAL pages a commit may leave before it checkpoints them into the database. */
export const WAL_PAGES = 32;
/** SQLite's default page size (none of these databases sets another), and a WAL frame's header. */
const PAGE_BYTES = 4096;
const WAL_FRAME_HEADER_BYTES = 24;
/**
 * What such a WAL may reach: the checkpoint threshold, plus one commit past it (a transaction may write many pages
 * at once), taken as a second threshold. `journal_size_limit` cuts it back to this after a checkpoint when a large
 * commit made it longer.
 */
export const WAL_BOUND_BYTES = 2 * WAL_PAGES * (PAGE_BYTES + WAL_FRAME_HEADER_BYTES);

/** Applies the bound to a database opened in WAL mode (with a small threshold the WAL restarts after each checkpoint). */
export function boundWal(db: { exec(sql: string): unknown }): void {
  db.exec(`PRAGMA wal_autocheckpoint = ${WAL_PAGES}`);
  db.exec(`PRAGMA journal_size_limit = ${WAL_BOUND_BYTES}`);
}

/**
 * Bytes the database at `path` (opened with boundWal) may still take on its disk without any write being admitted:
 * its WAL's bound less what the WAL holds now (all of it when there is no WAL yet).
 */
export function walGrowthBytes(path: string): number {
  let walBytes = 0;
  try {
    walBytes = statSync(`${path}-wal`).size;
  } catch {
    /* no WAL yet: all of it may still come */
  }
  return Math.max(0, WAL_BOUND_BYTES - walBytes);
}
