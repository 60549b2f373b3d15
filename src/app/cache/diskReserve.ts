import type { MusicFsConfig } from "../../config/config.ts";
import { log, tildify } from "../../core/logger.ts";
import { plural } from "../../core/plural.ts";
import { restoreReserveAtStart } from "../../cas/reserveAtStart.ts";

/**
 * A full disk does not stop a mount: cached content goes (oldest first) until the disk has its free-space reserve
 * again, before the database needs room. What is left short is said once; the mount goes on.
 */
export function restoreDiskReserve(cacheDir: string, config: MusicFsConfig): void {
  const r = restoreReserveAtStart(cacheDir, config.cache.minFree);
  if (r.files > 0)
    log.warn(`The disk holding the cache dir ${tildify(cacheDir)} was nearly full: ${(r.bytesFreed / 1024 ** 2).toFixed(1)} MiB of cached music evicted to make room (${plural(r.files, "file")}; fetched again when played).`);
  if (r.stillShort)
    log.warn(`The disk holding the cache dir ${tildify(cacheDir)} is still nearly full (see \`df -h ${tildify(cacheDir)}\`): music is served without caching until there is room.`);
}
