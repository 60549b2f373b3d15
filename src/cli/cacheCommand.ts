import { defineCommand } from "citty";
import { cacheDirArgs, existingLibraryPaths } from "./libraryPaths.ts";
import { logLevelArg } from "./run.ts";
import { clearCache, cacheStatsFromDisk, resolveOriginId, verifyCache, type VerifyReport } from "../app/commands/cacheMaintenance.ts";
import { callMount } from "../app/control/controlClient.ts";
import { InstanceLock } from "../app/mount/instanceLock.ts";
import { Library } from "../app/library/library.ts";
import { openLibrary } from "../app/library/openLibrary.ts";
import { readStatus } from "../app/mount/statusFile.ts";
import { chooseOrigins } from "../app/sync/rememberedOrigins.ts";
import { cachePaths, type CachePaths } from "../config/paths.ts";
import { UserError } from "../core/errors.ts";
import { log, tildify } from "../core/logger.ts";
import { configFromArgs, originArg } from "./libraryArgs.ts";
import { runCommand } from "./run.ts";
import { plural } from "../core/plural.ts";

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/**
 * Opens the library of the cache dir; `exclusive` also takes the instance lock (no mount may run meanwhile). Only
 * `readsOrigins` opens the origins: stats and clear read the cache dir alone, so they need no S3 credentials.
 */
function withLibrary<T>(args: Record<string, unknown>, rawArgs: string[], { exclusive, readsOrigins }: { exclusive: boolean; readsOrigins: boolean }, body: (lib: Library, paths: ReturnType<typeof cachePaths>, config: ReturnType<typeof configFromArgs>) => Promise<T> | T) {
  const config = configFromArgs(args, rawArgs);
  const paths = existingLibraryPaths(config.cacheDir); // never creates a cache dir to inspect it
  let lock: InstanceLock | null = null;
  if (exclusive) {
    try {
      lock = InstanceLock.acquire(paths.lockFile, `the cache dir ${tildify(paths.cacheDir)}`);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${e.message.replace(/\.$/, "")}: the cache cannot be changed while it is mounted.`, "Unmount first (musicfs unmount MOUNTPOINT).");
      throw e;
    }
  }
  const db = openLibrary(paths.metadataDb).db;
  const library = new Library(db, { ...config, origins: readsOrigins ? chooseOrigins(paths, db, config).origins : [] });
  return Promise.resolve(body(library, paths, config)).finally(() => {
    library.close();
    lock?.release();
  });
}

const stats = defineCommand({
  meta: { name: "stats", description: "Content cache figures: cached files, data files, partial files, chunk files left, pinned files and bytes; with a running mount also hits, misses and evictions" },
  // The cache dir alone: no origins, no tree (so no --origin, --template or --cover).
  args: { json: { type: "boolean", description: "Print JSON" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args, rawArgs }) {
    await runCommand(() =>
      withLibrary(args, rawArgs, { exclusive: false, readsOrigins: false }, (library, paths) => {
        const disk = cacheStatsFromDisk(paths, library);
        const live = readStatus(paths.cacheDir);
        const running = live?.state === "running" && InstanceLock.isHeld(paths.lockFile) ? live.cache : null;
        const out = { ...disk, ...(running ? { hits: running.hits, misses: running.misses, evictions: running.evictions, evictedBytes: running.evictedBytes, originBytes: running.originBytes } : {}) };
        if (args.json) return console.log(JSON.stringify(out, null, 2));
        console.log(`cached files   ${out.cachedFiles} (${mib(out.logicalBytes)}), served without the origin`);
        console.log(`data files     ${out.dataFiles}, ${mib(out.dataFileBytes)} (one per cached file)`);
        console.log(`partial files  ${out.partialFiles}, ${mib(out.partialBytes)} (fetches not finished: resumed when read)`);
        console.log(`chunk files    ${out.storedChunks}, ${mib(out.chunkBytes)} (range blocks and pieces not in a data file)`);
        console.log(`stored         ${mib(out.storedBytes)} in all`);
        console.log(`pinned         ${plural(out.pinnedFiles, "file")}, ${out.pinnedCachedFiles} cached whole, ${mib(out.pinnedBytes)}`);
        if (running) console.log(`since mount    ${running.hits} hits, ${running.misses} misses, ${running.evictions} evictions, ${mib(running.originBytes)} fetched`);
      }),
    );
  },
});

/** The running mount of the cache dir the arguments name, if one runs (then the command goes through it). */
function liveMount(args: Record<string, unknown>, rawArgs: string[]): CachePaths | null {
  const paths = existingLibraryPaths(configFromArgs(args, rawArgs).cacheDir);
  return InstanceLock.isHeld(paths.lockFile) ? paths : null;
}

function printVerify(r: VerifyReport, json: unknown): void {
  if (json) return console.log(JSON.stringify(r, null, 2));
  log.info(`${plural(r.dataFilesChecked, "data file")} checked, ${r.dataFilesDamaged} damaged removed; ${plural(r.chunksChecked, "chunk")} checked, ${r.corruptRemoved} damaged removed, ${r.chunksMissing} missing; ${plural(r.filesDamaged, "file")} affected, ${r.filesRepaired} repaired.`);
  const a = (k: keyof VerifyReport["chunksByAlgorithm"]) => `${plural(r.manifestsByAlgorithm[k], "cached file")} and ${plural(r.chunksByAlgorithm[k], "chunk file")}`;
  log.info(`Chunk ids: ${a("keyedXxh3")} with keyed XXH3 ids; ${a("sha256")} with SHA-256 ids (written by an older musicfs, still checked with SHA-256).`);
  for (const u of r.filesUnrepaired) log.warn(`The ${u.what} could not be repaired now (${u.reason}); it is fetched again when read.`);
  if (r.filesUnrepaired.length) process.exitCode = 1;
}

const verify = defineCommand({
  meta: { name: "verify", description: "Check every cached file's data file against its manifest and re-hash every chunk, remove damaged ones and repair those files from their origins (through the mount when one runs)" },
  // Reads the origins (it repairs from them: --origin replaces the config's), never lays out the tree.
  args: { json: { type: "boolean", description: "Print JSON" }, ...originArg, ...cacheDirArgs, ...logLevelArg },
  async run({ args, rawArgs }) {
    await runCommand(async () => {
      const live = liveMount(args, rawArgs);
      if (live) return printVerify((await callMount(live, "cache.verify")) as VerifyReport, args.json);
      await withLibrary(args, rawArgs, { exclusive: true, readsOrigins: true }, async (library, paths, config) => {
        printVerify(await verifyCache(paths, library, config), args.json);
      });
    });
  },
});

const clear = defineCommand({
  meta: { name: "clear", description: "Delete cached content (of one origin with --origin), keeping chunks other files still use; a running mount keeps its open and pinned files" },
  args: {
    origin: { type: "string", alias: "o", description: "Only this origin's files: its folder, or its id from the config file" },
    ...cacheDirArgs,
    ...logLevelArg,
  },
  async run({ args }) {
    await runCommand(async () => {
      const live = liveMount({ config: args.config, "cache-dir": args["cache-dir"] }, []);
      if (live) {
        const r = (await callMount(live, "cache.clear", args.origin === undefined ? {} : { origin: String(args.origin) })) as { files: number; chunks: number; bytes: number; keptFiles: number; storedBytes: number; capBytes: number };
        log.success(`Cleared ${plural(r.files, "cached file")}: ${plural(r.chunks, "chunk")}, ${mib(r.bytes)} freed; kept ${plural(r.keptFiles, "open or pinned file")}. The cache now holds ${mib(r.storedBytes)} of its ${mib(r.capBytes)} cap.`);
        return;
      }
      await withLibrary({ config: args.config, "cache-dir": args["cache-dir"] }, [], { exclusive: true, readsOrigins: false }, (library, paths) => {
        const originId = args.origin === undefined ? undefined : resolveOriginId(String(args.origin), library.db.listOriginIds());
        const r = clearCache(paths, library, originId);
        log.success(`Cleared ${plural(r.files, "cached file")}: ${plural(r.chunks, "chunk")}, ${mib(r.bytes)} freed.`);
      });
    });
  },
});

export const cacheCommand = defineCommand({
  meta: { name: "cache", description: "The content cache of cached origins (cache = \"full\"): stats, verify, clear" },
  subCommands: { stats, verify, clear },
});
