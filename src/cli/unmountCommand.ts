import { defineCommand } from "citty";
import { resolve } from "node:path";
import { log } from "../core/logger.ts";
import { unmountMusicfs } from "../app/commands/unmount.ts";
import { logLevelArg, runCommand } from "./run.ts";

export const unmountCommand = defineCommand({
  meta: {
    name: "unmount",
    description: "Unmount a musicfs mount. The serving musicfs then shuts down in order (database saved, exit 0).",
  },
  args: {
    mountpoint: { type: "positional", required: true, description: "The mountpoint to unmount" },
    ...logLevelArg,
  },
  async run({ args }) {
    await runCommand(async () => {
      const mnt = resolve(args.mountpoint as string);
      await unmountMusicfs(mnt);
      log.success(`Unmounted ${mnt}.`);
    });
  },
});
