import { existsSync } from "node:fs";
import { Database, DatabaseCorruptError, moveDatabaseAside } from "../../db/database.ts";
import { UserError } from "../../core/errors.ts";
import { log, tildify } from "../../core/logger.ts";

/** Databases up to this size are checked before mounting (≈ 55 ms per 100k files); larger ones after. */
const CHECK_BEFORE_MOUNT_MAX_BYTES = 64 * 1024 * 1024;

export interface OpenedLibrary {
  db: Database;
  /** The previous run did not shut down cleanly (crash, kill -9, power loss). */
  recoveredFromCrash: boolean;
  /** The database was damaged and has been moved aside: the library must be scanned again. */
  rebuiltAfterCorruption: string | null;
  /** A full check is still owed (large database, checked in the background after mounting). */
  checkPending: boolean;
}

/**
 * Opens metadata.db for a mount or a scan. A damaged database is never used and never deleted: it is moved aside
 * (the user may want it) and a fresh one is created, which the caller fills with a new scan.
 */
export function openLibrary(path: string): OpenedLibrary {
  const existed = existsSync(path);
  const small = Database.fileSize(path) <= CHECK_BEFORE_MOUNT_MAX_BYTES;
  let db: Database;
  let rebuiltAfterCorruption: string | null = null;
  try {
    db = Database.open(path, { check: existed && small ? "quick" : "none" });
  } catch (e) {
    if (!(e instanceof DatabaseCorruptError)) throw e;
    const aside = moveDatabaseAside(path);
    log.error(`The musicfs database ${tildify(path)} is damaged (${e.detail}).`);
    log.warn(`It was moved to ${tildify(aside)}; musicfs will rebuild the library with a fresh scan.`);
    rebuiltAfterCorruption = aside;
    try {
      db = Database.open(path);
    } catch (e2) {
      throw new UserError(`Cannot create a new database at ${tildify(path)}: ${(e2 as Error).message}.`, "Check that the cache dir is writable and the disk is not full.");
    }
  }
  const state = db.getMeta("state");
  const recoveredFromCrash = state === "open";
  let checkPending = existed && !small && rebuiltAfterCorruption === null;
  if (recoveredFromCrash && checkPending) {
    // After a crash a large database is checked before use, whatever it costs: correctness over start-up time.
    const problem = db.integrityProblem("quick");
    checkPending = false;
    if (problem) {
      db.close();
      const aside = moveDatabaseAside(path);
      log.error(`The musicfs database ${tildify(path)} is damaged (${problem}).`);
      log.warn(`It was moved to ${tildify(aside)}; musicfs will rebuild the library with a fresh scan.`);
      return { db: Database.open(path), recoveredFromCrash, rebuiltAfterCorruption: aside, checkPending: false };
    }
  }
  return { db, recoveredFromCrash, rebuiltAfterCorruption, checkPending };
}

/** Marks the database as in use; a later open that still sees "open" knows the run crashed. */
export function markOpen(db: Database): void {
  db.setMeta("state", "open");
}

export function markClean(db: Database): void {
  db.setMeta("state", "clean");
}
