import { defineCommand } from "citty";
import { resolve } from "node:path";
import { loadConfig } from "../config/config.ts";
import { log, tildify } from "../core/logger.ts";
import { controlHandlers } from "../app/commands/controlHandlers.ts";
import { runMount } from "../app/mount/mountSession.ts";
import { prepareDemoLibrary } from "../app/commands/demo.ts";
import { logLevelArg, runCommand } from "./run.ts";
import { plural } from "../core/plural.ts";

export const demoCommand = defineCommand({
  meta: {
    name: "demo",
    description:
      "Write a small sample library (playable, tagged MP3 and FLAC) to ./.demo/library and mount it on ./mnt until Ctrl-C.",
  },
  args: {
    mountpoint: { type: "positional", required: false, description: "Where to mount (default ./mnt)" },
    dir: { type: "string", description: "Where the sample library and its cache go (default ./.demo)" },
    ...logLevelArg,
  },
  async run({ args }) {
    await runCommand(async () => {
      const base = resolve((args.dir as string | undefined) ?? ".demo");
      const { libraryDir, cacheDir, files } = await prepareDemoLibrary(base);
      log.info(`Sample library: ${plural(files, "file")} in ${tildify(libraryDir)}.`);
      const mountPoint = resolve((args.mountpoint as string | undefined) ?? "mnt");
      const config = loadConfig({ origins: [libraryDir], cacheDir, mountPoint });
      log.info(`Try: ls -R ${tildify(mountPoint)}   ffprobe "${tildify(mountPoint)}/…"   (Ctrl-C to stop)`);
      process.exit(await runMount({ config, mountPoint, createMountpoint: true, controlHandlers }));
    });
  },
});
