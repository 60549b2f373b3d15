import { relaunchTrustingCaFiles } from "../app/mount/caRelaunch.ts";
import { defineCommand } from "citty";
import { UserError } from "../core/errors.ts";
import { runMount } from "../app/mount/mountSession.ts";
import { controlHandlers } from "../app/commands/controlHandlers.ts";
import { commonLibraryArgs, configFromArgs } from "./libraryArgs.ts";
import { runCommand } from "./run.ts";

export const mountCommand = defineCommand({
  meta: {
    name: "mount",
    description:
      "Mount the music library at MOUNTPOINT, read-only, organised by tags. Runs in the foreground until Ctrl-C, SIGTERM or `musicfs unmount`. The first mount scans the origins; later mounts start from the database at once.",
  },
  args: {
    mountpoint: { type: "positional", required: false, description: "Where to mount (default: mount_point from the config file)" },
    ...commonLibraryArgs,
    "cache-mode": { type: "string", description: 'Content cache for the --origin folders: "off" (read directly, default) or "full" (through the content cache)' },
    "allow-other": { type: "boolean", description: "Let other users see the mount (non-root needs user_allow_other in /etc/fuse.conf)" },
    metrics: { type: "string", description: 'Serve Prometheus metrics at this loopback ADDR, e.g. "127.0.0.1:9464" (config: metrics)' },
    watch: { type: "boolean", description: "Apply changes on the origins within seconds (inotify), not only at mount" },
    mkdir: { type: "boolean", description: "Create the mountpoint if it does not exist", default: true },
    "accept-removals": { type: "boolean", description: "The sync at mount also removes files of origins that look offline (emptied, no longer mounted): you confirm they are really gone" },
  },
  async run({ args, rawArgs }) {
    await runCommand(async () => {
      const config = configFromArgs(args, rawArgs, args.mountpoint as string | undefined);
      const relaunched = await relaunchTrustingCaFiles(config); // an S3 endpoint with a private CA (ca_file)
      if (relaunched !== null) process.exit(relaunched);
      if (!config.mountPoint)
        throw new UserError("Where should musicfs mount? Give a MOUNTPOINT, or set mount_point in the config file.");
      const code = await runMount({
        config, mountPoint: config.mountPoint, createMountpoint: args.mkdir !== false, acceptRemovals: args["accept-removals"] === true,
        controlHandlers,
      });
      process.exit(code);
    });
  },
});
