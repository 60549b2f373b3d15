import { constants, Database } from "bun:sqlite";
import { existsSync, statSync } from "node:fs";

/**
 * Opens a WAL-mode SQLite database to read only, writing nothing beside it, so that it works on a full disk
 * (`musicfs status`, a mount's start on a full disk). A plain read-only open of a WAL database creates its -shm
 * file, and that fails on a full disk ("disk I/O error"). Without a WAL to read (a clean shutdown checkpoints it
 * away) the file is opened immutable, which needs no -shm; with one, the plain read-only open reads it (its -shm is
 * there too then, the writer keeps both).
 */
export function openSqliteReadOnly(path: string): Database {
  const wal = `${path}-wal`;
  const walEmpty = !existsSync(wal) || statSync(wal).size === 0;
  return walEmpty
    ? new Database(`file:${encodeURI(path)}?immutable=1`, constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI)
    : new Database(path, { readonly: true });
}
