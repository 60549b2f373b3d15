import { existsSync } from "node:fs";
import type { CachePaths } from "../../config/paths.ts";
import { NodeReader } from "../../db/nodeReader.ts";
import { PatternStore } from "../../search/patternStore.ts";
import { SearchIndex } from "../../search/searchIndex.ts";
import { isMountedAs } from "../../fuse/mount.ts";
import { FS_NAME } from "../mount/fsName.ts";
import { InstanceLock } from "../mount/instanceLock.ts";
import { readStatus, type MountStatus } from "../mount/statusFile.ts";
import { callMount } from "../control/controlClient.ts";
import type { PinProgress } from "../cache/pinPolicy.ts";

/** What `musicfs status` reports about one cache dir, mounted or not. */
export interface LibraryStatus {
  cacheDir: string;
  mounted: { pid: number; mountPoint: string; since: string } | null;
  /** A daemon holds the cache dir but its mount is gone (unmounted while it was stopped or hung). */
  daemonWithoutMount?: { pid: number; mountPoint: string };
  files?: number;
  searchIndex?: string;
  patterns?: { plays: number; transitions: number; distinctFiles: number; lastPlayAt: number | null };
  lastSync?: unknown;
  prefetch?: unknown;
  cache?: unknown;
  /** Requests the running mount made to each remote origin. */
  originRequests?: Record<string, Record<string, number>>;
  /** Fetch progress of the pinned files. */
  pins?: PinProgress | null;
  /** Whether the figures are the mount's own, asked over its control socket now (else status.json's). */
  live?: boolean;
}

/**
 * The status with the running mount's figures of this moment (asked over the control socket); the figures of
 * status.json (up to a few seconds old) when the mount does not answer.
 */
export async function liveLibraryStatus(paths: CachePaths): Promise<LibraryStatus> {
  const report = readLibraryStatus(paths);
  if (!report.mounted) return report;
  const live = (await callMount(paths, "status").catch(() => null)) as MountStatus | null;
  if (!live) return report;
  return {
    ...report, lastSync: live.lastSync, prefetch: live.prefetch, cache: live.cache, originRequests: live.originRequests,
    pins: live.pins ?? null, live: true, files: live.files,
  };
}

/**
 * Gathers the status of a library from its files, read-only: the live status file of a running daemon (only
 * while its lock is held and its mount is in the mount table — a stale file of a killed daemon, or a daemon whose
 * mount was removed while it was stopped, is not "mounted"), the database and patterns.db.
 */
export function readLibraryStatus(paths: CachePaths): LibraryStatus {
  const running = InstanceLock.isHeld(paths.lockFile);
  const live = readStatus(paths.cacheDir);
  const claimsMount = running && live?.state === "running";
  // The status file says what the daemon last wrote; the mount table says whether the mount is still there.
  const mountThere = claimsMount && isMountedAs(live.mountPoint, FS_NAME);
  const report: LibraryStatus = {
    cacheDir: paths.cacheDir,
    mounted: mountThere ? { pid: live.pid, mountPoint: live.mountPoint, since: new Date(live.startedAt).toISOString() } : null,
  };
  if (claimsMount && !mountThere) report.daemonWithoutMount = { pid: live.pid, mountPoint: live.mountPoint };
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
    const patterns = PatternStore.openReadOnly(paths.patternsDb);
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
    report.originRequests = live.originRequests;
    report.pins = live.pins;
  }
  return report;
}
