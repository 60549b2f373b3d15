import { defineCommand } from "citty";
import { callMount } from "../app/control/controlClient.ts";
import { InstanceLock } from "../app/mount/instanceLock.ts";
import { UserError } from "../core/errors.ts";
import { log } from "../core/logger.ts";
import { cacheDirArgs, existingLibrary } from "./libraryPaths.ts";
import { logLevelArg, runCommand } from "./run.ts";

export const syncCommand = defineCommand({
  meta: { name: "sync", description: "Delta-sync the running mount with its origins now (added, changed and removed files)" },
  args: { json: { type: "boolean", description: "Print JSON" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(async () => {
      const paths = existingLibrary(args);
      if (!InstanceLock.isHeld(paths.lockFile)) throw new UserError("`musicfs sync` syncs a running mount, and none serves this library.", "Without a mount, `musicfs scan` brings the library up to date.");
      const s = (await callMount(paths, "sync")) as { added: number; modified: number; removed: number; unchanged: number; ms: number; heldBack: { originId: string; reason: string }[] } | null;
      if (args.json) return console.log(JSON.stringify(s, null, 2));
      if (!s) return log.warn("The sync did not complete (the mount is stopping?).");
      log.success(`Synced in ${Math.round(s.ms)} ms: ${s.added} added, ${s.modified} modified, ${s.removed} removed, ${s.unchanged} unchanged.`);
      for (const h of s.heldBack) log.warn(`Origin "${h.originId}" looks offline (${h.reason}): none of its files was removed.`);
    });
  },
});
