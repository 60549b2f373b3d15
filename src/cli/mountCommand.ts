import { defineCommand } from "citty";
import { loadConfig } from "../config/config.ts";
import { UsageError, UserError } from "../core/errors.ts";
import { compileTemplate } from "../library/template.ts";
import { runMount } from "../app/mountSession.ts";
import { logLevelArg, repeatedFlag, runCommand } from "./run.ts";

export const commonLibraryArgs = {
  origin: {
    type: "string" as const,
    alias: "o",
    description: "A music folder to show (repeat for several). Replaces the config file's [[origins]].",
  },
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
  ...logLevelArg,
};

/** Loads config + flags shared by mount and scan, validating the template early (a clear error, no mount). */
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
    cacheMode: cacheMode as "off" | "full" | undefined,
    watch: args.watch ? true : undefined,
  });
  compileTemplate(config.template);
  return config;
}

export const mountCommand = defineCommand({
  meta: {
    name: "mount",
    description:
      "Mount the music library at MOUNTPOINT, read-only, organised by tags. Runs in the foreground until Ctrl-C, SIGTERM or `musicfs unmount`. The first mount scans the origins; later mounts start from the database at once.",
  },
  args: {
    mountpoint: { type: "positional", required: false, description: "Where to mount (default: mount_point from the config file)" },
    ...commonLibraryArgs,
    "cache-mode": { type: "string", description: 'Content cache for the --origin folders: "off" (read directly, default) or "full" (through the chunk store)' },
    "allow-other": { type: "boolean", description: "Let other users see the mount (non-root needs user_allow_other in /etc/fuse.conf)" },
    watch: { type: "boolean", description: "Apply changes on the origins within seconds (inotify), not only at mount" },
    mkdir: { type: "boolean", description: "Create the mountpoint if it does not exist", default: true },
    "accept-removals": { type: "boolean", description: "The sync at mount also removes files of origins that look offline (emptied, no longer mounted): you confirm they are really gone" },
  },
  async run({ args, rawArgs }) {
    await runCommand(async () => {
      const config = configFromArgs(args, rawArgs, args.mountpoint as string | undefined);
      if (!config.mountPoint)
        throw new UserError("Where should musicfs mount? Give a MOUNTPOINT, or set mount_point in the config file.");
      const code = await runMount({
        config, mountPoint: config.mountPoint, createMountpoint: args.mkdir !== false, acceptRemovals: args["accept-removals"] === true,
      });
      process.exit(code);
    });
  },
});
