import { describeOrigin, originIdentity, type OriginConfig } from "../../config/config.ts";
import { UserError } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { plural } from "../../core/plural.ts";
import type { OriginId } from "../../core/types.ts";
import type { Origin } from "../../origins/origin.ts";
import type { SyncedLibrary } from "./deltaSync.ts";
import { renameMountFacts } from "./originMounts.ts";
import { probeOrigin } from "./originCheck.ts";

/** What applying a configured origin list would do to a cache dir. */
export interface OriginChangePlan {
  /** Configured origins this cache dir does not know (not at the same place under any id): tried before anything. */
  fresh: OriginConfig[];
  /** Stored files that would leave the library (or be judged against another place), by origin. */
  leaving: { id: OriginId; where: OriginConfig | undefined; files: number }[];
}

/**
 * Pure: which configured origins are new, and whose stored files would go. An origin is known when the previous
 * list had the same place (folder, or URL + endpoint) under any id, or — previous place unknown — its id has files.
 */
export function planOriginChange(
  configured: readonly OriginConfig[],
  previous: readonly OriginConfig[] | null,
  stored: ReadonlyMap<OriginId, number>,
): OriginChangePlan {
  const identities = new Set(configured.map(originIdentity));
  const previousById = new Map((previous ?? []).map((p) => [p.id, p]));
  const known = (c: OriginConfig) =>
    (previous ?? []).some((p) => originIdentity(p) === originIdentity(c)) || (stored.has(c.id) && !previousById.has(c.id));
  const fresh = configured.filter((c) => !known(c));
  const leaving: OriginChangePlan["leaving"] = [];
  for (const [id, files] of stored) {
    if (files === 0) continue;
    const where = previousById.get(id);
    const stays = configured.find((c) => c.id === id);
    if (stays && (!where || originIdentity(where) === originIdentity(stays))) continue; // the same origin
    if (!stays && where && identities.has(originIdentity(where))) continue; // renamed: its files stay
    leaving.push({ id, where, files });
  }
  return { fresh, leaving };
}

/**
 * Tries every new origin before the change is applied. Not usable (missing, not a folder, unreadable, a bucket that
 * cannot be listed) → an error. Usable but without a single audio file while it would take the place of stored
 * files → an error too, unless the user confirmed with --accept-removals (an emptied origin on purpose).
 */
export async function checkOriginChange(library: { readonly origins: readonly Origin[] }, plan: OriginChangePlan, opts: { acceptRemovals: boolean; hasLibrary: boolean }): Promise<void> {
  if (plan.fresh.length === 0) return;
  const leavingFiles = plan.leaving.reduce((n, l) => n + l.files, 0);
  const unchanged = opts.hasLibrary ? " Nothing was changed" : ""; // a new cache dir: there is nothing to change
  const kept =
    leavingFiles === 0
      ? ""
      : `: the library keeps its ${plan.leaving.map((l) => `${plural(l.files, "file")} of origin "${l.id}"${l.where ? ` (${describeOrigin(l.where)})` : ""}`).join(", ")}`;
  for (const config of plan.fresh) {
    const origin = library.origins.find((o) => o.id === config.id);
    if (!origin) continue;
    const probe = await probeOrigin(origin, config);
    if (!probe.usable) throw new UserError(`${probe.problem.replace(/\.$/, "")}.${unchanged ? `${unchanged}${kept}.` : ""}`, probe.hint);
    if (!probe.holdsAudio && leavingFiles > 0 && !opts.acceptRemovals)
      throw new UserError(
        `The origin ${describeOrigin(config)} holds no audio files.${unchanged}${kept}.`,
        "Check the path (or the bucket and prefix). If it is right and those files are to go, confirm with --accept-removals.",
      );
  }
}

export interface OriginReconciliation {
  /** Origins whose id changed while their folder stayed the same: their files were kept under the new id. */
  renamed: { from: OriginId; to: OriginId; files: number }[];
  /** Origins no longer configured: their files left the library. */
  removed: { originId: OriginId; files: number }[];
}

/** What reconciling needs of a library (Library has it): its configured origins, and removal of files. */
export type ReconciledLibrary = Pick<SyncedLibrary, "db" | "removeFiles" | "refreshFileCount"> & {
  readonly config: { readonly origins: readonly OriginConfig[] };
};

/**
 * Brings the stored files in line with the configured origins, before anything is served or scanned:
 *
 * - an origin whose `id` changed but whose folder is the one the previous configuration gave under the old id is
 *   **renamed**: its files keep their rows, inodes, names and cached content (no duplicate of every row);
 * - files of origins that are **no longer configured** leave the tree, the search index and the database (one line
 *   says how many), so they are neither listed nor searchable nor pushing real files to "Title (2)"; their manifests
 *   are kept under the origin's identity (retired_manifests), so the same origin configured again finds its cached
 *   content; the chunks stay until LRU eviction takes them.
 *
 * Cheap when nothing changed: the stored origin ids are read with one index seek each.
 */
export function reconcileOrigins(library: ReconciledLibrary, previous: readonly OriginConfig[] | null): OriginReconciliation {
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
    const where = previous?.find((p) => p.id === id);
    // Its cached content stays findable: the same origin configured again (under any id) takes it back.
    const retired = where ? db.retireManifests(id, originIdentity(where)).length : 0;
    const files = library.removeFiles(db.fileIdsOfOrigin(id));
    out.removed.push({ originId: id, files });
    log.info(
      `Origin "${id}"${where ? ` (${describeOrigin(where)})` : ""} is no longer configured: ${plural(files, "file")} of it removed from the library` +
        (retired > 0
          ? `; the cached content of ${plural(retired, "file")} is kept until evicted and comes back if the origin is configured again.`
          : "."),
    );
  }
  if (out.removed.length > 0) library.refreshFileCount();
  return out;
}
