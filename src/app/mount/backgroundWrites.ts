import { errnoCode, errorMessage } from "../../core/errors.ts";
import { log, tildify } from "../../core/logger.ts";
import { isDiskFull } from "../../core/diskFull.ts";

/** The kinds of write a live mount makes on its own, each warned about once. */
export type BackgroundWriteKind = "status" | "plays";

const WHAT: Record<BackgroundWriteKind, string> = {
  status: "live figures (status.json, read by `musicfs status`)",
  plays: "plays (patterns.db, used for prefetch)",
};

/** Why a write into the cache dir failed, in the user's words. */
export function cacheDirWriteProblem(e: unknown): string {
  if (isDiskFull(e)) return "the disk is full";
  if (errnoCode(e) === "ENOENT" || /no such file|SQLITE_READONLY_DBMOVED|SQLITE_CANTOPEN/i.test(String((e as { code?: unknown })?.code ?? "") + errorMessage(e)))
    return "the cache dir was removed";
  return errorMessage(e);
}

/**
 * Writes a live mount makes in the background (status.json, plays). They are worth having but never worth the
 * mount: a full disk or a cache dir removed under a running mount costs one warning per kind, the write is
 * retried next time (silently), and serving goes on. A write that works again says so once.
 */
export class BackgroundWrites {
  private readonly failing = new Set<BackgroundWriteKind>();

  constructor(private readonly cacheDir: string) {}

  /** Runs `write`; false when it failed (already reported). */
  attempt(kind: BackgroundWriteKind, write: () => void): boolean {
    try {
      write();
    } catch (e) {
      if (!this.failing.has(kind)) {
        this.failing.add(kind);
        log.warn(`Cannot save ${WHAT[kind]} in ${tildify(this.cacheDir)}: ${cacheDirWriteProblem(e)}. The mount keeps serving; musicfs retries quietly.`);
      } else log.debug(`${kind}: still failing (${errorMessage(e)})`);
      return false;
    }
    if (this.failing.delete(kind)) log.info(`Saving ${WHAT[kind]} works again.`);
    return true;
  }
}
