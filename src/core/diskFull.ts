import { readdirSync, statSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { UserError, errnoCode } from "./errors.ts";
import { tildify } from "./logger.ts";

/**
 * SQLite's "database or disk is full" and the file system's ENOSPC / EDQUOT. With `dir`, also SQLite's "disk I/O
 * error" when the disk holding `dir` has no room left: SQLite reports a WAL or shared-memory file it cannot
 * create or grow on a full disk that way.
 */
export function isDiskFull(e: unknown, dir?: string): boolean {
  const code = String((e as { code?: unknown } | null)?.code ?? errnoCode(e) ?? "");
  const message = String((e as Error)?.message ?? "");
  if (code.startsWith("SQLITE_FULL") || code === "ENOSPC" || code === "EDQUOT" || /database or disk is full/i.test(message)) return true;
  return dir !== undefined && (code.startsWith("SQLITE_IOERR") || /disk I\/O error/i.test(message)) && freeBytes(dir) < NEARLY_FULL_BYTES;
}

/** Less room than this (for an unprivileged writer) counts as full: a WAL page or a -shm file needs more. */
const NEARLY_FULL_BYTES = 64 * 1024;

function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return Number.POSITIVE_INFINITY; // cannot tell: not "full"
  }
}

/**
 * The message for a full disk under the cache dir. Nothing is lost: every batch is one transaction, so what was
 * committed stays, and the next start continues from there.
 */
export function diskFullError(cacheDir: string): UserError {
  // Cached music is in data files (whole files) and chunks (ranges, older caches): `cache clear` frees both.
  const cached = bytesUnder(join(cacheDir, "data")) + bytesUnder(join(cacheDir, "chunks"));
  const clear = cached > 0 ? ` \`musicfs cache clear --cache-dir ${tildify(cacheDir)}\` frees ${(cached / 1024 / 1024).toFixed(1)} MiB of cached music (fetched again when played).` : "";
  return new UserError(
    `The disk holding the cache dir ${tildify(cacheDir)} is full: musicfs could not save the library there.`,
    `Free some space (see \`df -h ${tildify(cacheDir)}\`) or choose another --cache-dir.${clear} What was saved so far is kept; the next start continues from there.`,
  );
}

/** Bytes of the files below a folder (0 when it is absent or unreadable): what clearing it would free. */
function bytesUnder(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir, { recursive: true }) as string[]) {
      try {
        const st = statSync(join(dir, name));
        if (st.isFile()) total += st.size;
      } catch {
        /* gone meanwhile */
      }
    }
  } catch {
    return 0;
  }
  return total;
}
