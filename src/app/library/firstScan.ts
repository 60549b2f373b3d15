import { log } from "../../core/logger.ts";
import { plural } from "../../core/plural.ts";
import type { FileMeta, OriginId } from "../../core/types.ts";
import { DeltaClassifier } from "../../library/deltaClassify.ts";
import { scanOrigins, type ScanSummary } from "../../library/scanner.ts";
import type { OriginEntry } from "../../origins/origin.ts";
import { S3Origin } from "../../origins/s3Origin.ts";
import { storedLookup } from "../sync/deltaSync.ts";
import { mountFacts } from "../sync/originMounts.ts";
import type { Library } from "./library.ts";

/**
 * The first scan of a library: scans the origins into the database (files already stored with the same size and
 * mtime are not parsed again, so an interrupted scan resumes), then groups albums, places new files in the tree and
 * chooses covers. Later mounts come straight from the database (delta syncs keep it in step).
 */
export async function scanLibrary(library: Library, opts: { signal?: AbortSignal; interactive?: boolean }): Promise<ScanSummary> {
  // Files stored by an interrupted earlier scan are not parsed again (compared folder by folder, see DeltaClassifier).
  const known = library.db.fileCount();
  for (const o of library.origins) mountFacts(library.db, o); // remembered from the first scan (removal guard)
  const classifiers = new Map(library.origins.map((o) => [o.id, new DeltaClassifier(storedLookup(library.db, o.id))]));
  const images = new Map<OriginId, OriginEntry[]>(library.origins.map((o) => [o.id, []]));
  log.info(`Scanning ${library.origins.map((o) => o.displayName).join(", ")}${known ? ` (${plural(known, "file")} already known)` : ""}…`);
  const summary = await library.scans.track("first_scan", (onProgress) => scanOrigins({
    origins: library.origins,
    onProgress,
    signal: opts.signal,
    isUnchanged: (originId, realPath, size, mtimeMs, etag) => classifiers.get(originId)?.classify(realPath, size, mtimeMs, etag) === "unchanged",
    onBatch: (files: FileMeta[]) => {
      library.storeFiles(files);
    },
    onFolderImage: (originId, entry) => images.get(originId)?.push(entry),
    progress: opts.interactive === false ? null : undefined,
  }));
  if (summary.interrupted) return summary;
  const t0 = performance.now();
  for (const o of library.origins) {
    const unreadable = summary.unreadable.some((u) => u.originId === o.id);
    await library.recordFolderImages(o, images.get(o.id) ?? [], { allowRemovals: !unreadable });
  }
  const { albums } = library.albums.rebuildAll();
  const tAlbums = performance.now() - t0;
  const placed = library.tree.placeUnplaced(library.originOrder);
  const tCovers = performance.now();
  library.db.transaction(() => library.covers.refreshAll(Date.now()));
  const coversMs = performance.now() - tCovers;
  Bun.gc(true); // the scan's garbage (parsed tags of every file) should not stay with the mount for its lifetime
  library.db.setMeta("scan_complete", "1");
  library.refreshFileCount();
  log.info(
    `Scan complete: ${plural(summary.parsed + summary.failed, "file")} parsed (${summary.failed} without readable tags), ` +
      `${summary.unchanged} unchanged, ${summary.skippedNonAudio} non-audio skipped, ${summary.unreadable.length} unreadable, ` +
      (summary.notFiles.length > 0 ? `${plural(summary.notFiles.length, "object")} with a key ending in "/" skipped (see above), ` : "") +
      `in ${(summary.ms / 1000).toFixed(1)} s (${Math.round(summary.filesPerSecond)} files/s); ` +
      `${placed.placed} placed in the tree in ${Math.round(performance.now() - t0)} ms (${albums} albums, grouped in ${Math.round(tAlbums)} ms, ` +
      `covers chosen in ${Math.round(coversMs)} ms).`,
  );
  for (const o of library.origins) {
    if (summary.unreadable.some((u) => u.originId === o.id) || library.db.originFileCount(o.id) > 0) continue;
    const where = o instanceof S3Origin ? "the bucket, the prefix (keys are listed below it) and the endpoint" : "the path";
    log.warn(`Origin ${o.displayName} holds no audio files: the tree shows nothing from it. Check ${where}.`);
  }
  return summary;
}
