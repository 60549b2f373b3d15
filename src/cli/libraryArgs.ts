import { validateLibraryConfig } from "../app/library/libraryConfig.ts";
import { loadConfig } from "../config/config.ts";
import { UsageError } from "../core/errors.ts";
import { logLevelArg, repeatedFlag } from "./run.ts";

/** --origin: the origins to use instead of the config file's (commands that read the origins). */
export const originArg = {
  origin: {
    type: "string" as const,
    alias: "o",
    description: "A music folder or an S3 bucket (s3://BUCKET/PREFIX) to show (repeat for several). Replaces the config file's [[origins]].",
  },
};

/** Arguments shared by the commands that set up a library and lay out its tree (mount, scan). */
export const commonLibraryArgs = {
  ...originArg,
  config: { type: "string" as const, alias: "c", description: "Config file (default $XDG_CONFIG_HOME/musicfs/config.toml)" },
  "cache-dir": {
    type: "string" as const,
    alias: "d",
    description: "Where the database and cache live (default $MUSICFS_CACHE_DIR, else $XDG_CACHE_HOME/musicfs)",
  },
  template: {
    type: "string" as const,
    alias: "t",
    description: 'Path template, e.g. "$albumartist/$album ($year)/$disctrack - $title.$format" (see docs/templates.md)',
  },
  cover: {
    type: "string" as const,
    description: 'Name of the cover file in album folders, without extension (default "cover": cover.jpg); "none" for none',
  },
  ...logLevelArg,
};

/** Loads config + flags shared by mount, scan and the cache commands (those a command does not define are absent), validating the template early (a clear error, no mount). */
export function configFromArgs(args: Record<string, unknown>, rawArgs: string[], mountPoint?: string) {
  const cacheMode = args["cache-mode"] as string | undefined;
  if (cacheMode !== undefined && cacheMode !== "off" && cacheMode !== "full")
    throw new UsageError(`--cache-mode must be "off" or "full" (got "${cacheMode}").`);
  const config = loadConfig({
    configPath: args.config as string | undefined,
    cacheDir: args["cache-dir"] as string | undefined,
    template: args.template as string | undefined,
    origins: repeatedFlag(rawArgs, "origin", "o"),
    mountPoint,
    allowOther: args["allow-other"] ? true : undefined,
    metrics: args.metrics as string | undefined,
    cacheMode: cacheMode as "off" | "full" | undefined,
    watch: args.watch ? true : undefined,
    cover: args.cover as string | undefined,
  });
  validateLibraryConfig(config);
  return config;
}
