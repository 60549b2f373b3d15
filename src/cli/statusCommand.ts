import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { InstanceLock } from "../app/instanceLock.ts";
import { readStatus } from "../app/statusFile.ts";
import { loadConfig } from "../config/config.ts";
import { cachePaths } from "../config/paths.ts";
import { tildify } from "../core/logger.ts";
import { NodeReader } from "../db/nodeReader.ts";
import { PatternStore } from "../search/patternStore.ts";
import { SearchIndex } from "../search/searchIndex.ts";
import { cacheDirArgs } from "./libraryPaths.ts";
import { logLevelArg, runCommand } from "./run.ts";
import { plural } from "../core/plural.ts";

export const statusCommand = defineCommand({
  meta: { name: "status", description: "Show the library: whether it is mounted, files, search index, listening patterns, prefetch and cache figures" },
  args: { json: { type: "boolean", description: "Print JSON" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(() => {
      const config = loadConfig({ configPath: args.config as string | undefined, cacheDir: args["cache-dir"] as string | undefined });
      const paths = cachePaths(config.cacheDir);
      const running = InstanceLock.isHeld(paths.lockFile);
      const live = readStatus(paths.cacheDir);
      const report: Record<string, unknown> = {
        cacheDir: paths.cacheDir,
        mounted: running && live?.state === "running" ? { pid: live.pid, mountPoint: live.mountPoint, since: new Date(live.startedAt).toISOString() } : null,
      };
      if (existsSync(paths.metadataDb)) {
        const nodes = new NodeReader(paths.metadataDb);
        try {
          report.files = nodes.libraryTotals().files;
          report.searchIndex = new SearchIndex(nodes.connection).state();
        } finally {
          nodes.close();
        }
      }
      if (existsSync(paths.patternsDb)) {
        const patterns = PatternStore.open(paths.patternsDb);
        try {
          report.patterns = patterns.stats();
        } finally {
          patterns.close();
        }
      }
      if (live) {
        report.lastSync = live.lastSync;
        report.prefetch = live.prefetch;
        report.cache = live.cache;
      }
      if (args.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      const m = report.mounted as { pid: number; mountPoint: string; since: string } | null;
      console.log(`library     ${tildify(paths.cacheDir)}`);
      console.log(`mounted     ${m ? `${m.mountPoint} (PID ${m.pid}, since ${m.since})` : "no"}`);
      if (report.files !== undefined) console.log(`files       ${report.files}`);
      if (report.searchIndex) console.log(`search      ${report.searchIndex}`);
      const p = report.patterns as { plays: number; transitions: number; distinctFiles: number; lastPlayAt: number | null } | undefined;
      if (p) console.log(`patterns    ${plural(p.plays, "play")} of ${plural(p.distinctFiles, "file")}, ${plural(p.transitions, "transition")}${p.lastPlayAt ? `, last ${new Date(p.lastPlayAt).toISOString()}` : ""}`);
      const f = report.prefetch as Record<string, number> | null | undefined;
      if (f) console.log(`prefetch    ${f.completed} done, ${f.inFlight} running, ${f.queued} queued, ${f.failed} failed; ${f.hits} of ${f.predicted} predictions played`);
      const s = report.lastSync as Record<string, number> | null | undefined;
      if (s) console.log(`last sync   ${s.added} added, ${s.modified} modified, ${s.removed} removed, ${s.unchanged} unchanged (${new Date(s.at).toISOString()})`);
      const c = report.cache as Record<string, number> | null | undefined;
      if (c) console.log(`cache       ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    });
  },
});
