import type { MusicFsConfig } from "../../config/config.ts";
import { cachePaths } from "../../config/paths.ts";
import { fileContentId } from "../../core/contentIds.ts";
import { log, tildify } from "../../core/logger.ts";
import { plural } from "../../core/plural.ts";
import { restoreReserveAtStart, type KeptContent } from "../../cas/reserveAtStart.ts";
import { PinStore } from "../../db/pinStore.ts";

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;

/**
 * A full disk does not stop a mount: cached content goes (oldest first) until the disk has its free-space reserve
 * again, before the database needs room — except the files the user pinned (never evicted: pins.db says which, read
 * before anything opens the cache). What is left short is said once, with what was kept; the mount goes on.
 */
export function restoreDiskReserve(cacheDir: string, config: MusicFsConfig): void {
  const pinned = PinStore.pinnedFilesIfKnown(cachePaths(cacheDir).pinsDb);
  const kept: KeptContent = pinned === null ? "all" : new Set(pinned.map(fileContentId));
  const r = restoreReserveAtStart(cacheDir, config.cache.minFree, undefined, kept);
  if (r.keptTakenFiles > 0)
    log.warn(`The disk holding the cache dir ${tildify(cacheDir)} had no room left for musicfs to start: ${mib(r.keptTakenBytes)} of ${pinned === null ? "cached files whose pins could not be read" : "pinned music"} (${plural(r.keptTakenFiles, "file")}) had to go, as nothing else was left. Pinned files are fetched again once there is room.`);
  if (r.files > 0)
    log.warn(`The disk holding the cache dir ${tildify(cacheDir)} was nearly full: ${mib(r.bytesFreed)} of cached music evicted to make room (${plural(r.files, "file")}; fetched again when played).`);
  if (r.stillShort) {
    const why =
      r.keptFiles === 0
        ? ""
        : pinned === null
          ? ` ${mib(r.keptBytes)} of cached files (${plural(r.keptFiles, "file")}) were kept because the pins (pins.db) could not be read.`
          : ` ${mib(r.keptBytes)} of pinned music (${plural(r.keptFiles, "file")}) was kept: pinned files are never evicted (\`musicfs unpin\` lets them go).`;
    log.warn(`The disk holding the cache dir ${tildify(cacheDir)} is still nearly full (see \`df -h ${tildify(cacheDir)}\`): music is served without caching until there is room.${why}`);
  }
}
