import { cachePaths, type CachePaths, ensureCacheDir } from "../../config/paths.ts";
import { isS3Origin, type MusicFsConfig } from "../../config/config.ts";
import { libraryWithOrigins } from "../library/libraryWithOrigins.ts";
import { diskFullError, isDiskFull } from "../../core/diskFull.ts";
import { UserError, errorMessage } from "../../core/errors.ts";
import { log, tildify } from "../../core/logger.ts";
import { startSession, type FuseSession } from "../../fuse/session.ts";
import { canonicalMountpoint, prepareMountpoint } from "../../fuse/mount.ts";
import { createOpenModes } from "../../fs/cachedContent.ts";
import { createOriginStalls } from "../../fs/originStalls.ts";
import { takeUnmountRequest } from "./unmountRequest.ts";
import { RemoteChangeWatch } from "../cache/remoteChangeWatch.ts";
import { FS_NAME } from "./fsName.ts";
import type { MusicFsWorkerConfig } from "../../fs/workerConfig.ts";
import { LocalOrigin } from "../../origins/localOrigin.ts";
import { InstanceLock } from "./instanceLock.ts";
import { markClean, markOpen, openLibrary } from "../library/openLibrary.ts";
import { ShutdownSignals } from "./signals.ts";
import { Library } from "../library/library.ts";
import { scanLibrary } from "../library/firstScan.ts";
import { requireReachableOrigins, warnAboutUnreachableOrigins } from "../library/originReachability.ts";
import { startBackgroundSync, type BackgroundTasks } from "../sync/backgroundSync.ts";
import { remoteRequestCounts, remoteRequestTotal } from "../../origins/requestCounts.ts";
import { answerOriginChange, isOriginChange } from "../sync/originChangeRefresh.ts";
import { sdNotify } from "./sdNotify.ts";
import { workerEntry } from "../../core/workerEntry.ts";
import { CollectionStore } from "../../search/collectionStore.ts";
import { createNameRegistryBuffer } from "../../fs/nameRegistry.ts";
import type { WorkerMessage } from "../../fs/workerMessages.ts";
import { Listening } from "../cache/listening.ts";
import { ContentCache } from "../cache/contentCache.ts";
import { Errno } from "../../fuse/filesystem.ts";
import { writeStatus, type MountStatus } from "./statusFile.ts";
import { PinManager } from "../cache/pinManager.ts";
import { ControlServer, type ControlHandler } from "../control/controlServer.ts";
import { serveMetrics, type MetricSources } from "./metrics.ts";
import { BackgroundWrites, cacheDirWriteProblem } from "./backgroundWrites.ts";
import { plural } from "../../core/plural.ts";
import { restoreDiskReserve } from "../cache/diskReserve.ts";
import { msFromEnv } from "../../core/testKnobs.ts";

export interface MountRequest {
  config: MusicFsConfig;
  mountPoint: string;
  /** mkdir -p a missing mountpoint. */
  createMountpoint?: boolean;
  /** The sync at mount applies removals the removal guard would hold back (`--accept-removals`). */
  acceptRemovals?: boolean;
  /** FUSE worker threads (default 2). */
  workers?: number;
  /**
   * The commands the mount answers on its control socket (app/commands/controlHandlers.ts: what they do lives with
   * the other commands); none: no control socket.
   */
  controlHandlers?: (live: LiveMount) => Record<string, ControlHandler>;
}

/** What the control commands reach of a running mount. */
export interface LiveMount {
  paths: CachePaths;
  config: MusicFsConfig;
  library: Library;
  content: ContentCache | null;
  pins: PinManager | null;
  background: BackgroundTasks;
  status(): MountStatus;
}

/** Long kernel caching: the library changes only through us, and we invalidate what changes (delta sync). */
const ENTRY_TTL_MS = 3_600_000;
const NEGATIVE_TTL_MS = 60_000;
/**
 * How often status.json is refreshed. MUSICFS_STATUS_INTERVAL_MS shortens it so tests wait for a refresh instead of
 * sleeping through production intervals. Not a user setting.
 */
function statusIntervalMs(): number {
  return msFromEnv("MUSICFS_STATUS_INTERVAL_MS") ?? 5_000;
}

/**
 * How long the ordered shutdown waits for the FUSE workers, which a file still held open keeps serving (1 s).
 * MUSICFS_SHUTDOWN_GRACE_MS lengthens it so a test can act while the shutdown is under way (a second Ctrl-C) without
 * racing a one-second window. Not a user setting.
 */
function shutdownGraceMs(): number {
  return msFromEnv("MUSICFS_SHUTDOWN_GRACE_MS") ?? 1_000;
}

/**
 * A whole mount, from start to exit: lock the cache dir, open (or recover) the database, scan on the first mount,
 * mount and serve, run the background tasks, and shut down in order on SIGINT/SIGTERM. Resolves with the exit code.
 */
export async function runMount(req: MountRequest): Promise<number> {
  const { config } = req;
  // The mountpoint is checked first: a mountpoint that cannot take the mount (not empty, a file, in use) is refused
  // before the cache dir is created and long before a first scan. startSession checks it again when it mounts.
  await prepareMountpoint(req.mountPoint, { fsName: FS_NAME, createMountpoint: req.createMountpoint });
  const mountKey = canonicalMountpoint(req.mountPoint); // what `musicfs unmount` names in its note (unmountRequest.ts)
  const paths = cachePaths(config.cacheDir);
  try {
    ensureCacheDir(paths.cacheDir);
  } catch (e) {
    throw new UserError(`Cannot create the cache dir ${tildify(paths.cacheDir)}: ${errorMessage(e)}.`, "Choose another one with --cache-dir.");
  }
  const signals = new ShutdownSignals();
  const lock = InstanceLock.acquire(paths.lockFile, `the cache dir ${tildify(paths.cacheDir)}`);
  let library: Library | null = null;
  let listening: Listening | null = null;
  let content: ContentCache | null = null;
  let pins: PinManager | null = null;
  let control: ControlServer | null = null;
  let metrics: { stop(): void } | null = null;
  /** Set once the background syncs run; OPENs of changed origin files refresh through it. */
  let backgroundTasks: BackgroundTasks | null = null;
  try {
    const t0 = performance.now();
    restoreDiskReserve(paths.cacheDir, config);
    const opened = openLibrary(paths.metadataDb);
    if (opened.recoveredFromCrash) log.warn("The previous musicfs run did not shut down cleanly; its state was checked and is being reused.");
    library = await libraryWithOrigins(paths, opened.db, config, { acceptRemovals: req.acceptRemovals });
    let searchRebuild = library.openSearch(signals.signal);
    const startedAt = Date.now();
    // Served from here, before a first scan (whose progress it shows); the parts that start later join as they do.
    const metricSources: MetricSources = {
      origins: library.origins, files: () => library!.storedFileCount(), scans: library.scans,
      content: null, pins: null, session: null, background: null, startedAtMs: startedAt,
    };
    if (config.metrics) metrics = serveMetrics(config.metrics, metricSources);

    if (!library.hasCompleteScan()) {
      await searchRebuild; // the scan indexes as it stores: the index must be usable first (cheap on a new library)
      searchRebuild = null;
      await requireReachableOrigins(library.origins, library.config.origins);
      const summary = await scanLibrary(library, { signal: signals.signal, interactive: true });
      if (summary.interrupted) {
        log.info("Scan interrupted: what was parsed is saved, and the next mount continues from there.");
        return 130;
      }
    } else {
      await warnAboutUnreachableOrigins(library.origins);
    }
    library.applyTemplate();
    library.tree.store.forgetRemovedNodes();
    CollectionStore.open(paths.collectionsDb).close(); // created here so the workers can open it read-only
    if (library.config.origins.some((o) => o.cache === "full")) {
      content = new ContentCache(library, paths, config);
      pins = new PinManager(library, content, paths);
      pins.keepLastPinned(); // before the cache's first eviction sweep (at start): pins are resolved after the ready line
      content.start();
      library.attachContentCache(content);
      // A remote file replaced or deleted on the store while mounted is synced when an open or a read notices it.
      const fetcher = content.cache.fetcher;
      content.changes = new RemoteChangeWatch(
        (originId, realPath) =>
          backgroundTasks ? backgroundTasks.refreshFile(originId, realPath) : Promise.reject(new Error("the mount is still starting")),
        (ref) => fetcher.statOrigin(ref),
      );
    }
    const writes = new BackgroundWrites(paths.cacheDir);
    listening = new Listening(paths.patternsDb, content?.prefetchTarget() ?? null, writes);
    markOpen(library.db);

    const session = await startFuse(req, paths, library, listening, content, (originId, realPath) =>
      backgroundTasks ? backgroundTasks.refreshFile(originId, realPath) : Promise.reject(new Error("the mount is still starting")),
    );
    log.debug(`fuse: protocol 7.${session.init?.minor}, passthrough ${session.init?.passthrough ? "on" : "off"}`);

    const background = startBackgroundSync(library, {
      notifier: session,
      answeredRequests: () => session.answeredRequests(),
      sync: library.config.sync,
      searchRebuild,
      acceptRemovals: req.acceptRemovals,
      afterSync: () => pins?.refresh(),
    });
    backgroundTasks = background;
    Object.assign(metricSources, { content, pins, session, background });
    const status = (state: "running" | "stopped"): MountStatus => {
      const lib = library!;
      const sync = background.lastSync();
      return {
        pid: process.pid, mountPoint: req.mountPoint, startedAt, updatedAt: Date.now(), state,
        files: lib.storedFileCount(),
        lastSync: sync && { added: sync.added, modified: sync.modified, removed: sync.removed, unchanged: sync.unchanged, ms: sync.ms, at: sync.at, heldBack: sync.heldBack },
        prefetch: listening?.prefetchStats() ?? null,
        cache: content ? { ...content.stats(), capBytes: content.cache.evictor.capBytes } : null,
        originRequests: remoteRequestCounts(lib.origins),
        pins: pins?.progress() ?? null,
      };
    };
    const report = (state: "running" | "stopped") => writes.attempt("status", () => writeStatus(paths.cacheDir, status(state)));
    if (req.controlHandlers) control = startControl(paths, req.controlHandlers({ paths, config, library, content, pins, background, status: () => status("running") }));
    // Ready once everything a user may ask of the mount answers, the control socket included.
    const fileCount = library.storedFileCount();
    const remote = remoteRequestTotal(library.origins);
    log.success(
      `musicfs: ${plural(fileCount, "file")} mounted at ${req.mountPoint} (ready in ${Math.round(performance.now() - t0)} ms` +
        `${remote === null ? "" : `, ${plural(remote, "request")} to remote origins`}). Press Ctrl-C to unmount.`,
    );
    sdNotify("READY=1");
    pins?.refresh(); // after the ready line: resolving many pins takes a while, and the mount serves meanwhile
    const statusTimer = setInterval(() => report("running"), statusIntervalMs());
    report("running");
    const reason = await Promise.race([
      signals.requested,
      session.closed.then((end) =>
        end.reason === "unmounted-externally" && takeUnmountRequest(mountKey) ? "unmount requested by `musicfs unmount`" : `mount ended (${end.reason})`,
      ),
    ]);
    log.info(`Ordered shutdown (${reason}).`);
    sdNotify("STOPPING=1");
    clearInterval(statusTimer);
    control?.stop();
    control = null;
    metrics?.stop();
    metrics = null;
    await background.stop();
    pins?.close();
    pins = null;
    report("stopped");
    await listening.close();
    listening = null;
    await content?.close();
    content = null;
    closeDatabaseCleanly(library, paths.cacheDir);
    // Where a workload's time went, e.g. for bench/walk: MUSICFS_LOG_LEVEL=debug shows it at unmount.
    log.debug(`FUSE requests served: ${JSON.stringify(session.requestCounts())}`);
    await session.unmount(shutdownGraceMs());
    log.info("Unmounted cleanly.");
    return 0;
  } catch (e) {
    if (isDiskFull(e, paths.cacheDir)) throw diskFullError(paths.cacheDir);
    throw e;
  } finally {
    control?.stop();
    metrics?.stop();
    pins?.close();
    await listening?.close();
    await content?.close();
    library?.close();
    lock.release();
    signals.dispose();
  }
}

/** The control socket; a mount that cannot listen (a cache dir path too long for a socket) still serves. */
function startControl(paths: CachePaths, handlers: Record<string, ControlHandler>): ControlServer | null {
  try {
    return ControlServer.listen(paths.controlSocket, handlers);
  } catch (e) {
    log.warn(`The control socket ${tildify(paths.controlSocket)} could not be opened (${errorMessage(e)}): pin, status and cache commands cannot reach this mount.`);
    return null;
  }
}

/**
 * Marks the database clean and folds its WAL in. On a full disk (or a removed cache dir) neither may be possible:
 * the shutdown goes on (the mount must still be removed); the next start sees "open" and checks the database.
 */
function closeDatabaseCleanly(library: Library, cacheDir: string): void {
  try {
    markClean(library.db);
    library.db.checkpoint();
  } catch (e) {
    log.warn(`Could not mark the database clean in ${tildify(cacheDir)} (${cacheDirWriteProblem(e)}); the next start checks it.`);
  }
}

async function startFuse(
  req: MountRequest,
  paths: CachePaths,
  library: Library,
  listening: Listening,
  content: ContentCache | null,
  refreshFile: (originId: string, realPath: string) => Promise<void>,
): Promise<FuseSession> {
  const fsConfig: MusicFsWorkerConfig = {
    dbPath: paths.metadataDb,
    chunksDir: paths.chunksDir,
    dataDir: paths.dataDir,
    cachedOpenModes: createOpenModes(),
    originStalls: createOriginStalls(library.config.origins.length),
    // Remote origins have no local root: their files are always cached (the workers defer what is missing).
    origins: library.config.origins.map((o) => ({ id: o.id, root: isS3Origin(o) ? "" : o.path, cache: o.cache })),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    entryTtlMs: ENTRY_TTL_MS,
    attrTtlMs: ENTRY_TTL_MS,
    negativeTtlMs: NEGATIVE_TTL_MS,
    mountPoint: req.mountPoint,
    collectionsDb: paths.collectionsDb,
    pinsDb: paths.pinsDb,
    playlistsFolder: req.config.playlistsFolder === true,
    nameRegistry: createNameRegistryBuffer(),
    startedAtMs: Date.now(),
    specialDirs: req.config.specialDirs,
  };
  return startSession({
    fsName: FS_NAME,
    readOnly: true,
    mountpoint: req.mountPoint,
    workerUrl: workerEntry("fs/fuseWorker.ts"),
    workerData: fsConfig,
    workers: req.workers ?? 2,
    // Passthrough (root only) hides the normal READ path from root test runs; tests switch it off to cover it.
    passthrough: process.env.MUSICFS_NO_PASSTHROUGH !== "1",
    allowOther: req.config.allowOther,
    createMountpoint: req.createMountpoint,
    // Only cached origins defer (content not in the chunk store yet); without a cache nothing should arrive here.
    onDeferred: (request, reply) => {
      if (isOriginChange(request.payload)) return void answerOriginChange({ library, refresh: refreshFile }, request, reply);
      // Otherwise a cached origin's content that is not in the chunk store yet.
      return content ? content.answerDeferred(request, reply) : reply.error(Errno.EIO);
    },
    onWorkerMessage: (message) => {
      listening.onWorkerMessage(message as WorkerMessage);
      content?.onWorkerMessage(message as WorkerMessage);
    },
  });
}

export { LocalOrigin };
