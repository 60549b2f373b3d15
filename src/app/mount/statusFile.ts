import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PinProgress } from "../cache/pinPolicy.ts";

/**
 * What a running mount reports about itself, rewritten every few seconds as `status.json` in the cache dir (and
 * once more at shutdown), so `musicfs status` can show live figures without talking to the daemon.
 */
export interface MountStatus {
  pid: number;
  mountPoint: string;
  startedAt: number;
  updatedAt: number;
  state: "running" | "stopped";
  files: number;
  lastSync: {
    added: number; modified: number; removed: number; unchanged: number; ms: number; at: number;
    /** Origins that looked offline in that sync: none of their files was removed (docs/sync.md). */
    heldBack?: { originId: string; reason: string }[];
  } | null;
  prefetch: { queued: number; inFlight: number; completed: number; failed: number; predicted: number; hits: number; gapless: number } | null;
  cache: Record<string, number> | null;
  /** Requests made to each remote origin by this mount (by kind: list, get, head, retries). */
  originRequests?: Record<string, Record<string, number>>;
  /** Fetch progress of the pinned files (null without cached origins). */
  pins?: PinProgress | null;
}

export function statusPath(cacheDir: string): string {
  return join(cacheDir, "status.json");
}

export function writeStatus(cacheDir: string, status: MountStatus): void {
  const path = statusPath(cacheDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(status, null, 2));
  renameSync(tmp, path); // readers never see half a file
}

export function readStatus(cacheDir: string): MountStatus | null {
  try {
    return JSON.parse(readFileSync(statusPath(cacheDir), "utf8")) as MountStatus;
  } catch {
    return null;
  }
}
