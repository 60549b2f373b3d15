/**
 * A full disk does not stop a mount: before anything else writes to the cache dir (SQLite needs room for its WAL),
 * chunk files are deleted, oldest first, until the free-space reserve of the eviction policy is back — or no chunk
 * is left. It works on the files alone (no database: on a full disk the ledger may not open); the ledger drops the
 * rows of deleted chunks when it is reconciled at start. Cached music is the one thing in the cache dir that can
 * always be fetched again.
 */
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { planEviction, type MinFree } from "./evictionPolicy.ts";
import { statFsSpace, type FsSpace } from "./eviction.ts";

export interface ReserveReport {
  /** Chunk files deleted, and their bytes. */
  chunks: number;
  bytesFreed: number;
  /** Still short of the reserve afterwards (other files fill the disk, or no chunk was left). */
  stillShort: boolean;
}

const HEX2 = /^[0-9a-f]{2}$/;
const CHUNK_NAME = /^[0-9a-f]{64}$/;

/** Frees chunk files under `<cacheDir>/chunks` until the disk's reserve is kept (nothing to do when it is). */
export function restoreReserveAtStart(chunksDir: string, minFree?: MinFree | null, fsSpace: () => FsSpace = () => statFsSpace(chunksDir)): ReserveReport {
  const report: ReserveReport = { chunks: 0, bytesFreed: 0, stillShort: false };
  const plan = () => {
    const fs = fsSpace();
    // The cap is the evictor's business once the cache is open; here only the disk counts.
    return planEviction({ usedBytes: 0, inFlightBytes: 0, capBytes: Number.POSITIVE_INFINITY, fsFreeBytes: fs.freeBytes, fsTotalBytes: fs.totalBytes, minFree }, 0);
  };
  const first = plan();
  if (first.mustFree === 0) return report;
  const chunks = oldestChunkFiles(chunksDir);
  for (const c of chunks) {
    if (report.bytesFreed >= first.shouldFree) break;
    try {
      unlinkSync(c.path);
      report.chunks++;
      report.bytesFreed += c.size;
    } catch {
      /* gone meanwhile, or not ours to delete */
    }
  }
  report.stillShort = plan().mustFree > 0;
  return report;
}

/** Chunk files, least recently written first (mtime: the ledger's access times may not be readable on a full disk). */
function oldestChunkFiles(chunksDir: string): { path: string; size: number; mtimeMs: number }[] {
  const out: { path: string; size: number; mtimeMs: number }[] = [];
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const a of list(chunksDir)) {
    if (!HEX2.test(a)) continue;
    for (const b of list(join(chunksDir, a))) {
      if (!HEX2.test(b)) continue;
      for (const name of list(join(chunksDir, a, b))) {
        if (!CHUNK_NAME.test(name)) continue;
        const path = join(chunksDir, a, b, name);
        try {
          const st = statSync(path);
          out.push({ path, size: st.size, mtimeMs: st.mtimeMs });
        } catch {
          /* gone meanwhile */
        }
      }
    }
  }
  return out.sort((x, y) => x.mtimeMs - y.mtimeMs);
}
