/**
 * A full disk does not stop a mount: before anything else writes to the cache dir (SQLite needs room for its WAL),
 * cached content — chunk files (`chunks/`) and data files (`data/`, complete or partial: a fetch whose partial file
 * is gone starts that file again) in one order, least recently written first — is
 * deleted until the free-space reserve of the eviction policy is back, or nothing is left. It works on the files
 * alone (no database: on a full disk the ledger may not open), so the order is the files' mtime, not the ledger's
 * access times; the ledger and the data file rows drop what is gone when they are reconciled at start. Cached music
 * is the one thing in the cache dir that can always be fetched again — except what the user pinned (`musicfs pin`:
 * never evicted), whose data files are spared; the caller knows them without the database (`kept`).
 */
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { isChunkFileName } from "./chunkPaths.ts";
import { planEviction, type MinFree } from "./evictionPolicy.ts";
import { statFsSpace, type FsSpace } from "./eviction.ts";
import { parseDataFileName, parsePartialName } from "./dataFilePaths.ts";

export interface ReserveReport {
  /** Files deleted (chunk files and data files), and their bytes. */
  files: number;
  bytesFreed: number;
  /** Still short of the reserve afterwards (other files fill the disk, pinned files, or no chunk was left). */
  stillShort: boolean;
  /** Data files spared because they are kept (pinned), and their bytes: what this could not free. */
  keptFiles: number;
  keptBytes: number;
  /** Kept data files deleted all the same (counted in files / bytesFreed): the disk had not even START_ROOM_BYTES. */
  keptTakenFiles: number;
  keptTakenBytes: number;
}

/**
 * The room a mount needs to start at all (SQLite's WAL, status.json, the ledger). Pinned files are spared for the
 * reserve, but not for this: a mount that cannot start serves nothing, pinned or not, and the mount fetches its
 * pinned files again once there is room.
 */
export const START_ROOM_BYTES = 1024 * 1024;

/**
 * Data files never deleted here, by content id: the user's pinned files, or "all" when the pins could not be read
 * (then only chunk files go: a pin is never broken on a guess).
 */
export type KeptContent = ReadonlySet<number> | "all";

const HEX2 = /^[0-9a-f]{2}$/;

/** Frees cached content under `<cacheDir>` until the disk's reserve is kept (nothing to do when it is). */
export function restoreReserveAtStart(
  cacheDir: string,
  minFree?: MinFree | null,
  fsSpace: () => FsSpace = () => statFsSpace(cacheDir),
  kept: KeptContent = new Set(),
): ReserveReport {
  const report: ReserveReport = { files: 0, bytesFreed: 0, stillShort: false, keptFiles: 0, keptBytes: 0, keptTakenFiles: 0, keptTakenBytes: 0 };
  const plan = () => {
    const fs = fsSpace();
    // The cap is the evictor's business once the cache is open; here only the disk counts.
    return planEviction({ usedBytes: 0, inFlightBytes: 0, capBytes: Number.POSITIVE_INFINITY, fsFreeBytes: fs.freeBytes, fsTotalBytes: fs.totalBytes, minFree }, 0);
  };
  const first = plan();
  if (first.mustFree === 0) return report;
  const isKept = (name: string) => {
    const id = (parseDataFileName(name) ?? parsePartialName(name))?.fileId;
    return id !== undefined && (kept === "all" || kept.has(id));
  };
  const dataFiles = contentFiles(join(cacheDir, "data"), 1, (n) => parseDataFileName(n) !== undefined || parsePartialName(n) !== undefined);
  const spared = dataFiles.filter((d) => isKept(d.name));
  report.keptFiles = spared.length;
  report.keptBytes = spared.reduce((n, d) => n + d.size, 0);
  const files = [...contentFiles(join(cacheDir, "chunks"), 2, isChunkFileName), ...dataFiles.filter((d) => !isKept(d.name))];
  files.sort((x, y) => x.mtimeMs - y.mtimeMs);
  const take = (c: ContentFile): boolean => {
    try {
      unlinkSync(c.path);
      report.files++;
      report.bytesFreed += c.size;
      return true;
    } catch {
      return false; // gone meanwhile, or not ours to delete
    }
  };
  for (const c of files) {
    if (report.bytesFreed >= first.shouldFree) break;
    take(c);
  }
  // The last resort: not even room to start. Kept files go too, oldest first, until there is.
  spared.sort((x, y) => x.mtimeMs - y.mtimeMs);
  for (const c of spared) {
    if (fsSpace().freeBytes >= START_ROOM_BYTES) break;
    if (!take(c)) continue;
    report.keptFiles--;
    report.keptBytes -= c.size;
    report.keptTakenFiles++;
    report.keptTakenBytes += c.size;
  }
  report.stillShort = plan().mustFree > 0;
  return report;
}

/** Content files `depth` shard levels (two hex digits each) below `dir` whose names `isContent` accepts. */
interface ContentFile {
  path: string;
  name: string;
  size: number;
  mtimeMs: number;
}

function contentFiles(dir: string, depth: number, isContent: (name: string) => boolean): ContentFile[] {
  const out: ContentFile[] = [];
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
        if (st.isFile()) out.push({ path, name, size: st.size, mtimeMs: st.mtimeMs });
      } catch {
        /* gone meanwhile */
      }
    }
  };
  walk(dir, 0);
  return out;
}
