/**
 * OPENs of local files that changed on their origin behind the mount, deferred by a FUSE worker (see
 * DeferredOriginChange; without --watch, or before the watcher's sync ran). The file is synced first — its row,
 * tags and place, and the kernel's cached attributes and pages — and only then is the open answered, so a reader
 * never gets fewer or more bytes than `stat` says. When the refresh fails, takes too long, or the file changed
 * again meanwhile, the open fails with EIO and a warning instead.
 */
import { fstatSync } from "node:fs";
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { originVersionOf, sameOriginVersion } from "../../core/originVersion.ts";
import { Errno } from "../../fuse/filesystem.ts";
import type { DeferredReply, DeferredRequest } from "../../fuse/session.ts";
import { LocalFileHandles } from "../../fs/localContent.ts";
import type { DeferredOriginChange } from "../../fs/workerMessages.ts";
import type { SyncedLibrary } from "./deltaSync.ts";

/** How long an open waits for its file's refresh (a running full sync delays it) before it fails. */
export const ORIGIN_REFRESH_TIMEOUT_MS = 15_000;

/** What the refresh reads of the library (Library has it). */
export type RefreshedLibrary = Pick<SyncedLibrary, "db" | "origins" | "inodesOfFiles">;

export interface OriginChangeRefreshDeps {
  library: RefreshedLibrary;
  /** Syncs one origin file (row, tree, kernel notifications); resolves when done. */
  refresh(originId: string, realPath: string): Promise<void>;
  timeoutMs?: number;
}

export function isOriginChange(payload: unknown): payload is DeferredOriginChange {
  return (payload as DeferredOriginChange | null)?.type === "originChanged";
}

export async function answerOriginChange(deps: OriginChangeRefreshDeps, request: DeferredRequest, reply: DeferredReply): Promise<void> {
  const change = request.payload as DeferredOriginChange;
  const handles = new LocalFileHandles();
  const origin = deps.library.origins.find((o) => o.id === change.originId);
  const name = `${origin?.displayName ?? change.originId}/${change.realPath}`;
  log.info(
    `${name} changed on its origin since the last sync (${change.stored.size} → ${change.found.size} bytes): ` +
      "refreshing it before it is read.",
  );
  let why: string | null = null;
  let timer: Timer | undefined;
  try {
    const timeoutMs = deps.timeoutMs ?? ORIGIN_REFRESH_TIMEOUT_MS;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not refreshed within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    await Promise.race([deps.refresh(change.originId, change.realPath), timedOut]);
    why = consistency(deps.library, change);
  } catch (e) {
    why = errorMessage(e);
  } finally {
    clearTimeout(timer);
  }
  if (why !== null) {
    log.warn(`${name}: answering EIO to its open (${why}); it opens normally once it is synced.`);
    handles.close(change.fd);
    return reply.error(Errno.EIO);
  }
  if (!reply.open(LocalFileHandles.openReply(change.fd))) handles.close(change.fd); // the opener is gone
}

/** null when the tree now describes the open file exactly; otherwise why not. */
function consistency(library: RefreshedLibrary, change: DeferredOriginChange): string | null {
  // The open node may be the file's in the main tree or in a view.
  if (!library.inodesOfFiles([change.fileId]).includes(change.ino)) return "its tags changed and it moved in the tree";
  const row = library.db.getFile(change.fileId);
  if (!row) return "it is gone from the library";
  let now;
  try {
    now = originVersionOf(fstatSync(change.fd));
  } catch (e) {
    return errorMessage(e);
  }
  if (!sameOriginVersion(now, row)) return "it changed again while being refreshed";
  return null;
}
