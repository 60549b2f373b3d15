import type { MusicFsConfig } from "../../config/config.ts";
import type { CachePaths } from "../../config/paths.ts";
import type { OriginId } from "../../core/types.ts";
import type { Database } from "../../db/database.ts";
import { checkOriginChange, planOriginChange, reconcileOrigins } from "../sync/originReconcile.ts";
import { chooseOrigins, rememberOrigins } from "../sync/rememberedOrigins.ts";
import { Library } from "./library.ts";

/**
 * The library of a cache dir for a mount or a scan: the origins given (or remembered), with the stored files brought
 * in line with them (renamed origins, origins no longer configured). A changed origin list is applied only after
 * every origin new to the cache dir was tried (it exists and lists); one that fails is an error that changes
 * nothing: not metadata.db, not origins.json, not the cache (docs/origins.md, "A mistyped or removed origin").
 */
export async function libraryWithOrigins(
  paths: CachePaths,
  db: Database,
  config: MusicFsConfig,
  opts: { acceptRemovals?: boolean } = {},
): Promise<Library> {
  const choice = chooseOrigins(paths, db, config);
  const library = new Library(db, { ...config, origins: choice.origins });
  try {
    const stored = storedCounts(db);
    const plan = planOriginChange(choice.origins, choice.previous, stored);
    await checkOriginChange(library, plan, { acceptRemovals: opts.acceptRemovals === true, hasLibrary: stored.size > 0 || choice.previous !== null });
    rememberOrigins(paths, choice);
    reconcileOrigins(library, choice.previous);
  } catch (e) {
    library.close();
    throw e;
  }
  return library;
}

function storedCounts(db: Database): Map<OriginId, number> {
  return new Map(db.listOriginIds().map((id) => [id, db.originFileCount(id)]));
}
