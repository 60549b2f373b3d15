import { realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Database } from "../../db/database.ts";
import { mountsAt } from "../../fuse/mountinfo.ts";
import type { Origin } from "../../origins/origin.ts";
import { LocalOrigin } from "../../origins/localOrigin.ts";

/**
 * Whether an origin's root is a mount point, remembered from its first scan: a NAS share that is no longer mounted
 * leaves an empty folder that looks like an origin whose files were all deleted (src/library/removalGuard.ts).
 */
export interface MountFacts {
  wasMountPoint: boolean | null;
  isMountPoint: boolean | null;
}

const metaKey = (originId: string) => `origin_mount_point:${originId}`;

/**
 * True when `dir` is a mount point: another filesystem than its parent's, or a bind mount listed in mountinfo (a
 * bind mount from the same filesystem has its parent's st_dev). Null when it cannot be told (the folder is gone).
 */
export function isMountPoint(dir: string): boolean | null {
  let real: string;
  try {
    real = realpathSync(dir);
    if (real === "/") return true;
    if (statSync(real).dev !== statSync(dirname(real)).dev) return true;
  } catch {
    return null;
  }
  try {
    return mountsAt(real).length > 0;
  } catch {
    return false; // no /proc: the st_dev comparison is all there is
  }
}

/** The recorded and current facts of a local origin (nulls for other kinds); records them at the first look. */
export function mountFacts(db: Database, origin: Origin): MountFacts {
  if (!(origin instanceof LocalOrigin)) return { wasMountPoint: null, isMountPoint: null };
  const is = isMountPoint(origin.root);
  const stored = db.getMeta(metaKey(origin.id));
  if (stored === null && is !== null) recordMountPoint(db, origin.id, is);
  return { wasMountPoint: stored === null ? null : stored === "1", isMountPoint: is };
}

/** Remembers whether the origin root is a mount point (at its first scan, or when the user accepted a change). */
export function recordMountPoint(db: Database, originId: string, isMountPoint: boolean): void {
  db.setMeta(metaKey(originId), isMountPoint ? "1" : "0");
}

/** An origin's facts follow it when its id is renamed. */
export function renameMountFacts(db: Database, from: string, to: string): void {
  const stored = db.getMeta(metaKey(from));
  if (stored === null) return;
  db.setMeta(metaKey(to), stored);
  db.deleteMeta(metaKey(from));
}
