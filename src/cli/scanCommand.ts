import { relaunchTrustingCaFiles } from "../app/mount/caRelaunch.ts";
import { defineCommand } from "citty";
import { cachePaths, ensureCacheDir } from "../config/paths.ts";
import { InstanceLock } from "../app/mount/instanceLock.ts";
import { openLibrary } from "../app/library/openLibrary.ts";
import { ShutdownSignals } from "../app/mount/signals.ts";
import { deltaSync } from "../app/sync/deltaSync.ts";
import { libraryWithOrigins } from "../app/library/libraryWithOrigins.ts";
import { scanLibrary } from "../app/library/firstScan.ts";
import { requireReachableOrigins } from "../app/library/originReachability.ts";
import { diskFullError, isDiskFull } from "../core/diskFull.ts";
import { tildify } from "../core/logger.ts";
import { commonLibraryArgs, configFromArgs } from "./libraryArgs.ts";
import { runCommand } from "./run.ts";

export const scanCommand = defineCommand({
  meta: {
    name: "scan",
    description: "Update the database from the origins without mounting: the first time a full scan, later a delta sync (new and changed files parsed, removed ones dropped). Prints a summary.",
  },
  args: {
    ...commonLibraryArgs,
    "accept-removals": { type: "boolean", description: "Also remove the files of origins that look offline (emptied, lost more than half, no longer mounted): you confirm they are really gone" },
  },
  async run({ args, rawArgs }) {
    await runCommand(async () => {
      const config = configFromArgs(args, rawArgs);
      const relaunched = await relaunchTrustingCaFiles(config); // an S3 endpoint with a private CA (ca_file)
      if (relaunched !== null) process.exit(relaunched);
      const paths = cachePaths(config.cacheDir);
      ensureCacheDir(paths.cacheDir);
      const lock = InstanceLock.acquire(paths.lockFile, `the cache dir ${tildify(paths.cacheDir)}`);
      const signals = new ShutdownSignals();
      const db = openLibrary(paths.metadataDb).db;
      const library = await libraryWithOrigins(paths, db, config, { acceptRemovals: args["accept-removals"] === true });
      try {
        await requireReachableOrigins(library.origins, library.config.origins);
        await library.openSearch();
        let interrupted: boolean;
        if (library.hasCompleteScan()) {
          // An existing library: the same delta sync a mount runs in the background (added, changed, removed).
          library.applyTemplate();
          interrupted = (await deltaSync(library, { signal: signals.signal, acceptRemovals: args["accept-removals"] === true })).interrupted;
        } else {
          interrupted = (await scanLibrary(library, { signal: signals.signal, interactive: true })).interrupted;
          if (!interrupted) library.applyTemplate();
        }
        library.db.checkpoint();
        process.exitCode = interrupted ? 130 : 0;
      } catch (e) {
        if (isDiskFull(e, paths.cacheDir)) throw diskFullError(paths.cacheDir);
        throw e;
      } finally {
        library.close();
        lock.release();
        signals.dispose();
      }
    });
  },
});
