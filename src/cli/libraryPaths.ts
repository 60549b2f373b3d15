import { existsSync } from "node:fs";
import { loadConfig } from "../config/config.ts";
import { cachePaths, type CachePaths } from "../config/paths.ts";
import { UserError } from "../core/errors.ts";
import { tildify } from "../core/logger.ts";

export const cacheDirArgs = {
  config: { type: "string" as const, alias: "c", description: "Config file (default $XDG_CONFIG_HOME/musicfs/config.toml)" },
  "cache-dir": { type: "string" as const, alias: "d", description: "The library's cache dir (default $MUSICFS_CACHE_DIR, else $XDG_CACHE_HOME/musicfs)" },
};

/** The cache dir a read-side command works on; its database must exist. Works while the library is mounted. */
export function existingLibrary(args: Record<string, unknown>): CachePaths {
  const config = loadConfig({ configPath: args.config as string | undefined, cacheDir: args["cache-dir"] as string | undefined });
  return existingLibraryPaths(config.cacheDir);
}

/** The paths of a cache dir that must already hold a library (refused, not created, when it does not). */
export function existingLibraryPaths(cacheDir: string): CachePaths {
  const paths = cachePaths(cacheDir);
  if (!existsSync(paths.cacheDir))
    throw new UserError(`The cache dir ${tildify(paths.cacheDir)} does not exist.`, "Pass the cache dir of an existing library with --cache-dir (see `musicfs status`).");
  if (!existsSync(paths.metadataDb))
    throw new UserError(
      `There is no musicfs library in ${tildify(paths.cacheDir)} yet.`,
      "Run `musicfs mount MOUNTPOINT --origin DIR` or `musicfs scan --origin DIR` first, or pass the right --cache-dir.",
    );
  return paths;
}
