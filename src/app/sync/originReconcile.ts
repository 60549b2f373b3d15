import { describeOrigin, originIdentity, type OriginConfig } from "../../config/config.ts";
import { log } from "../../core/logger.ts";
import { plural } from "../../core/plural.ts";
import type { OriginId } from "../../core/types.ts";
import type { MusicFsConfig } from "../../config/config.ts";
import type { CachePaths } from "../../config/paths.ts";
import type { Database } from "../../db/database.ts";
import { Library } from "../library/library.ts";
import { rememberedOrigins } from "./rememberedOrigins.ts";
import { renameMountFacts } from "./originMounts.ts";

/**
 * The library of a cache dir for a mount or a scan: the origins given (or remembered), with the stored files brought
 * in line with them (renamed origins, origins no longer configured).
 */
export function libraryWithOrigins(paths: CachePaths, db: Database, config: MusicFsConfig): Library {
  const { origins, previous } = rememberedOrigins(paths, db, config);
  const library = new Library(db, { ...config, origins });
  try {
    reconcileOrigins(library, previous);
  } catch (e) {
    library.close();
    throw e;
  }
  return library;
}

export interface OriginReconciliation {
  /** Origins whose id changed while their folder stayed the same: their files were kept under the new id. */
  renamed: { from: OriginId; to: OriginId; files: number }[];
  /** Origins no longer configured: their files left the library. */
  removed: { originId: OriginId; files: number }[];
}

/**
 * Brings the stored files in line with the configured origins, before anything is served or scanned:
 *
 * - an origin whose `id` changed but whose folder is the one the previous configuration gave under the old id is
 *   **renamed**: its files keep their rows, inodes, names and cached content (no duplicate of every row);
 * - files of origins that are **no longer configured** leave the tree, the search index and the database (one line
 *   says how many), so they are neither listed nor searchable nor pushing real files to "Title (2)"; their cached
 *   chunks are no longer used by any file and are evicted first-come under the size cap.
 *
 * Cheap when nothing changed: the stored origin ids are read with one index seek each.
 */
export function reconcileOrigins(library: Library, previous: readonly OriginConfig[] | null): OriginReconciliation {
  const { db } = library;
  const out: OriginReconciliation = { renamed: [], removed: [] };
  if (library.config.origins.length === 0) return out; // no origins known at all: nothing to judge by
  const configured = new Set(library.config.origins.map((o) => o.id));
  const stored = new Set(db.listOriginIds());
  const unconfigured = () => [...stored].filter((id) => !configured.has(id));
  if (unconfigured().length === 0) return out;

  for (const origin of library.config.origins) {
    if (stored.has(origin.id)) continue;
    const identity = originIdentity(origin);
    const before = previous?.find((p) => !configured.has(p.id) && stored.has(p.id) && originIdentity(p) === identity);
    if (!before) continue;
    const files = db.transaction(() => {
      renameMountFacts(db, before.id, origin.id);
      return db.renameOrigin(before.id, origin.id);
    });
    stored.delete(before.id);
    stored.add(origin.id);
    out.renamed.push({ from: before.id, to: origin.id, files });
    log.info(`Origin "${before.id}" is now "${origin.id}" (same folder ${describeOrigin(origin)}): its ${plural(files, "file")} kept.`);
  }

  for (const id of unconfigured()) {
    const files = library.removeFiles(db.fileIdsOfOrigin(id));
    out.removed.push({ originId: id, files });
    const where = previous?.find((p) => p.id === id);
    log.info(
      `Origin "${id}"${where ? ` (${describeOrigin(where)})` : ""} is no longer configured: ${plural(files, "file")} of it removed from the library; ` +
        "its cached content can be evicted.",
    );
  }
  if (out.removed.length > 0) library.refreshFileCount();
  return out;
}
