/**
 * A full disk does not stop a mount: before anything else writes to the cache dir (SQLite needs room for its WAL),
 * cached content — chunk files (`chunks/`) and data files (`data/`, complete or partial: a fetch whose partial file
 * is gone starts that file again) in one order, least recently written first — is
 * deleted until the free-space reserve of the eviction policy is back, or nothing is left. It works on the files
 * alone (no database: on a full disk the ledger may not open), so the order is the files' mtime, not the ledger's
 * access times; the ledger and the data file rows drop what is gone when they are reconciled at start. Cached music
 * is the one thing in the cache dir that can always be fetched again.
 */
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { planEviction, type MinFree } from "./evictionPolicy.ts";
import { statFsSpace, type FsSpace } from "./eviction.ts";
import { parseDataFileName, parsePartialName } from "./dataFilePaths.ts";

export interface ReserveReport {
  /** Files deleted (chunk files and data files), and their bytes. */
  files: number;
  bytesFreed: number;
  /** Still short of the reserve afterwards (other files fill the disk, or no chunk was left). */
  stillShort: boolean;
}

const HEX2 = /^[0-9a-f]{2}$/;
const CHUNK_NAME = /^[0-9a-f]{64}$/;

/** Frees cached content under `<cacheDir>` until the disk's reserve is kept (nothing to do when it is). */
export function restoreReserveAtStart(cacheDir: string, minFree?: MinFree | null, fsSpace: () => FsSpace = () => statFsSpace(cacheDir)): ReserveReport {
  const report: ReserveReport = { files: 0, bytesFreed: 0, stillShort: false };
  const plan = () => {
    const fs = fsSpace();
    // The cap is the evictor's business once the cache is open; here only the disk counts.
    return planEviction({ usedBytes: 0, inFlightBytes: 0, capBytes: Number.POSITIVE_INFINITY, fsFreeBytes: fs.freeBytes, fsTotalBytes: fs.totalBytes, minFree }, 0);
  };
  const first = plan();
  if (first.mustFree === 0) return report;
  const files = [...contentFiles(join(cacheDir, "chunks"), 2, (n) => CHUNK_NAME.test(n)), ...contentFiles(join(cacheDir, "data"), 1, (n) => parseDataFileName(n) !== undefined || parsePartialName(n) !== undefined)];
  files.sort((x, y) => x.mtimeMs - y.mtimeMs);
  for (const c of files) {
    if (report.bytesFreed >= first.shouldFree) break;
    try {
      unlinkSync(c.path);
      report.files++;
      report.bytesFreed += c.size;
    } catch {
      /* gone meanwhile, or not ours to delete */
    }
  }
  report.stillShort = plan().mustFree > 0;
  return report;
}

/** Content files `depth` shard levels (two hex digits each) below `dir` whose names `isContent` accepts. */
function contentFiles(dir: string, depth: number, isContent: (name: string) => boolean): { path: string; size: number; mtimeMs: number }[] {
  const out: { path: string; size: number; mtimeMs: number }[] = [];
  const list = (d: string) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  };
  const walk = (d: string, level: number) => {
    for (const name of list(d)) {
      const path = join(d, name);
      if (level < depth) {
        if (HEX2.test(name)) walk(path, level + 1);
        continue;
      }
      if (!isContent(name)) continue;
      try {
        const st = statSync(path);
        if (st.isFile()) out.push({ path, size: st.size, mtimeMs: st.mtimeMs });
      } catch {
        /* gone meanwhile */
      }
    }
  };
  walk(dir, 0);
  return out;
}
