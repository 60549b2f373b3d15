import { existsSync } from "node:fs";
import type { CachePaths } from "../config/paths.ts";
import { NodeReader } from "../db/nodeReader.ts";
import { PatternStore } from "../search/patternStore.ts";
import { SearchIndex } from "../search/searchIndex.ts";
import { InstanceLock } from "./instanceLock.ts";
import { readStatus } from "./statusFile.ts";

/** What `musicfs status` reports about one cache dir, mounted or not. */
export interface LibraryStatus {
  cacheDir: string;
  mounted: { pid: number; mountPoint: string; since: string } | null;
  files?: number;
  searchIndex?: string;
  patterns?: { plays: number; transitions: number; distinctFiles: number; lastPlayAt: number | null };
  lastSync?: unknown;
  prefetch?: unknown;
  cache?: unknown;
  /** Requests the running mount made to each remote origin. */
  originRequests?: Record<string, Record<string, number>>;
}

/**
 * Gathers the status of a library from its files, read-only: the live status file of a running daemon (only
 * while its lock is held — a stale file of a killed daemon is not "mounted"), the database and patterns.db.
 */
export function readLibraryStatus(paths: CachePaths): LibraryStatus {
  const running = InstanceLock.isHeld(paths.lockFile);
  const live = readStatus(paths.cacheDir);
  const report: LibraryStatus = {
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
    report.originRequests = live.originRequests;
  }
  return report;
}
