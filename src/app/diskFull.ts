import { UserError, errnoCode } from "../core/errors.ts";
import { tildify } from "../core/logger.ts";

/** SQLite's "database or disk is full" and the file system's ENOSPC / EDQUOT. */
export function isDiskFull(e: unknown): boolean {
  const code = String((e as { code?: unknown } | null)?.code ?? errnoCode(e) ?? "");
  return code.startsWith("SQLITE_FULL") || code === "ENOSPC" || code === "EDQUOT" || /database or disk is full/i.test(String((e as Error)?.message ?? ""));
}

/**
 * The message for a full disk under the cache dir. Nothing is lost: every batch is one transaction, so what was
 * committed stays, and the next start continues from there.
 */
export function diskFullError(cacheDir: string): UserError {
  return new UserError(
    `The disk holding the cache dir ${tildify(cacheDir)} is full: musicfs could not save the library there.`,
    `Free some space (see \`df -h ${tildify(cacheDir)}\`) or choose another --cache-dir. What was saved so far is kept; the next start continues from there.`,
  );
}
