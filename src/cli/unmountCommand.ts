import { defineCommand } from "citty";
import { resolve } from "node:path";
import { loadConfig } from "../config/config.ts";
import { UserError } from "../core/errors.ts";
import { log } from "../core/logger.ts";
import { unmountMusicfs } from "../app/commands/unmount.ts";
import { logLevelArg, runCommand } from "./run.ts";

export const unmountCommand = defineCommand({
  meta: {
    name: "unmount",
    description: "Unmount a musicfs mount (also a dead one). The serving musicfs then shuts down in order (database saved, exit 0).",
  },
  args: {
    mountpoint: { type: "positional", required: false, description: "The mountpoint to unmount (default: mount_point from the config file)" },
    config: { type: "string", alias: "c", description: "Config file (default $XDG_CONFIG_HOME/musicfs/config.toml)" },
    "if-mounted": { type: "boolean", description: "Nothing mounted there is no error (exit 0): for scripts and the systemd unit's ExecStopPost" },
    ...logLevelArg,
  },
  async run({ args }) {
    await runCommand(async () => {
      const given = args.mountpoint as string | undefined;
      const mnt = given ? resolve(given) : loadConfig({ configPath: args.config as string | undefined }).mountPoint;
      if (!mnt) throw new UserError("Which mount? Give a MOUNTPOINT, or set mount_point in the config file.");
      if (await unmountMusicfs(mnt, { ifMounted: args["if-mounted"] === true })) log.success(`Unmounted ${mnt}.`);
      else log.info(`Nothing is mounted at ${mnt}.`);
    });
  },
});
