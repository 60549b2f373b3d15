import { defineCommand } from "citty";
import { liveLibraryStatus } from "../app/commands/libraryStatus.ts";
import { formatProgress } from "../app/cache/pinPolicy.ts";
import { loadConfig } from "../config/config.ts";
import { tildify } from "../core/logger.ts";
import { cacheDirArgs, existingLibraryPaths } from "./libraryPaths.ts";
import { logLevelArg, runCommand } from "./run.ts";
import { plural } from "../core/plural.ts";

export const statusCommand = defineCommand({
  meta: { name: "status", description: "Show the library: whether it is mounted, files, search index, listening patterns, prefetch and cache figures" },
  args: { json: { type: "boolean", description: "Print JSON" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(async () => {
      const config = loadConfig({ configPath: args.config as string | undefined, cacheDir: args["cache-dir"] as string | undefined });
      const paths = existingLibraryPaths(config.cacheDir); // a mistyped cache dir is an error (exit 1), as for `cache`
      const report = await liveLibraryStatus(paths);
      if (args.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      const m = report.mounted;
      console.log(`library     ${tildify(paths.cacheDir)}`);
      const orphan = report.daemonWithoutMount;
      console.log(`mounted     ${m ? `${m.mountPoint} (PID ${m.pid}, since ${m.since})` : orphan ? `no (musicfs PID ${orphan.pid} still holds the cache dir; its mount at ${orphan.mountPoint} is gone)` : "no"}`);
      if (report.files !== undefined) console.log(`files       ${report.files}`);
      if (report.searchIndex) console.log(`search      ${report.searchIndex}`);
      const p = report.patterns;
      if (p) console.log(`patterns    ${plural(p.plays, "play")} of ${plural(p.distinctFiles, "file")}, ${plural(p.transitions, "transition")}${p.lastPlayAt ? `, last ${new Date(p.lastPlayAt).toISOString()}` : ""}`);
      const f = report.prefetch as Record<string, number> | null | undefined;
      if (f) console.log(`prefetch    ${f.completed} done, ${f.inFlight} running, ${f.queued} queued, ${f.failed} failed; ${f.hits} of ${f.predicted} predictions played; ${f.gapless ?? 0} next tracks fetched ahead`);
      const s = report.lastSync as Record<string, number> | null | undefined;
      if (s) console.log(`last sync   ${s.added} added, ${s.modified} modified, ${s.removed} removed, ${s.unchanged} unchanged (${new Date(s.at).toISOString()})`);
      const heldBack = (report.lastSync as { heldBack?: { originId: string; reason: string }[] } | null | undefined)?.heldBack ?? [];
      for (const h of heldBack) console.log(`offline     origin "${h.originId}" looks offline: ${h.reason}; nothing removed (musicfs scan --accept-removals confirms)`);
      const c = report.cache as Record<string, number> | null | undefined;
      if (c) console.log(`cache       ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      if (report.pins && report.pins.files > 0) console.log(`pins        ${formatProgress(report.pins)}`);
      const r = report.originRequests as Record<string, Record<string, number>> | undefined;
      for (const [origin, counts] of Object.entries(r ?? {}))
        console.log(`requests    ${origin}: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    });
  },
});
