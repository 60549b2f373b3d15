import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { originIdForPath } from "../../config/config.ts";
import { expandHome } from "../../config/paths.ts";
import { UserError } from "../../core/errors.ts";
import type { MusicFsConfig } from "../../config/config.ts";
import type { CachePaths } from "../../config/paths.ts";
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import type { ContentId, FileId, OriginId } from "../../core/types.ts";
import { asOriginId } from "../../core/ids.ts";
import { fileContentId, fileIdOfContent, imageContentId, imageIdOfContent } from "../../core/contentIds.ts";
import { chunkIdentity, hexToId, SHA256_ALGORITHM_ID, SHA256_ID_BYTES } from "../../cas/chunkHash.ts";
import { loadOrMakeChunkIdKey } from "../../cas/chunkIdKey.ts";
import { chunkPath, isChunkFileName } from "../../cas/chunkPaths.ts";
import { decodeManifest, manifestChunkHexes, type Manifest } from "../../cas/manifestCodec.ts";
import { ContentCache } from "../cache/contentCache.ts";
import { PinStore } from "../../db/pinStore.ts";
import type { Library } from "../library/library.ts";
import { checkDataFile } from "../../cas/dataFileCheck.ts";
import { dataFilePath, parseDataFileName, parsePartialName } from "../../cas/dataFilePaths.ts";

/** An origin named by folder or by id (`cache clear --origin`), checked against the origins the library has files of. */
export function resolveOriginId(given: string, known: OriginId[]): OriginId {
  const abs = resolve(expandHome(given));
  const id = existsSync(abs) ? originIdForPath(abs) : asOriginId(given);
  if (!known.includes(id)) throw new UserError(`No cached library files come from origin "${given}".`, `Origins in this library: ${known.join(", ") || "none"}.`);
  return id;
}

/** Every chunk file in the store (path and name), walking the two shard levels. */
function* chunkFiles(chunksDir: string): Generator<{ path: string; hex: string; size: number }> {
  if (!existsSync(chunksDir)) return;
  for (const a of readdirSync(chunksDir)) {
    if (a.length !== 2) continue;
    for (const b of readdirSync(join(chunksDir, a))) {
      const dir = join(chunksDir, a, b);
      for (const name of readdirSync(dir)) {
        if (!isChunkFileName(name)) continue;
        const path = join(dir, name);
        yield { path, hex: name, size: statSync(path).size };
      }
    }
  }
}

/** The chunks of a retired manifest (an unreadable one keeps nothing). */
function retiredChunkHexes(encoded: Uint8Array): Iterable<string> {
  try {
    return manifestChunkHexes(decodeManifest(encoded));
  } catch {
    return [];
  }
}

function manifests(library: Library): Map<FileId, Manifest> {
  const out = new Map<FileId, Manifest>();
  for (const [id, stored] of library.db.listAllManifests()) {
    try {
      out.set(id, decodeManifest(stored.manifest));
    } catch {
      /* an unreadable manifest describes nothing: the file is fetched again when read */
    }
  }
  return out;
}

/**
 * What `cache verify` checks: every current manifest by content id — the library's files and the album covers
 * (folder images, negative content ids), which are cached, served from data files and damaged like any file.
 */
function contentManifests(library: Library): Map<ContentId, Manifest> {
  const out = new Map<ContentId, Manifest>();
  for (const [fileId, m] of manifests(library)) out.set(fileContentId(fileId), m);
  for (const v of library.covers.store.cachedImageVersions()) {
    const stored = library.covers.store.imageManifest(v.id);
    try {
      if (stored) out.set(imageContentId(v.id), decodeManifest(stored));
    } catch {
      /* as above: fetched again when read */
    }
  }
  return out;
}

/** A content id as a user reads it in a log line: "file 12" or "album cover 3". */
function describeContent(id: ContentId): string {
  const imageId = imageIdOfContent(id);
  return imageId === null ? `file ${fileIdOfContent(id)}` : `album cover ${imageId}`;
}

/** Partial data files (fetches not finished): their ids and sizes; they count toward what the cache holds. */
function* partialFiles(dataDir: string): Generator<{ fileId: ContentId; size: number }> {
  if (!existsSync(dataDir)) return;
  for (const shard of readdirSync(dataDir))
    for (const name of readdirSync(join(dataDir, shard))) {
      const parsed = parsePartialName(name);
      if (parsed) yield { fileId: parsed.fileId, size: statSync(join(dataDir, shard, name)).size };
    }
}

/** Every complete data file (path, name, size). */
function* dataFiles(dataDir: string): Generator<{ path: string; fileId: ContentId; size: number }> {
  if (!existsSync(dataDir)) return;
  for (const shard of readdirSync(dataDir)) {
    const dir = join(dataDir, shard);
    for (const name of readdirSync(dir)) {
      const parsed = parseDataFileName(name);
      if (!parsed) continue;
      const path = join(dir, name);
      yield { path, fileId: parsed.fileId, size: statSync(path).size };
    }
  }
}

/**
 * What the cache dir holds, in the terms of its layout (docs/cas.md): one data file per cached file, partial files of
 * fetches not finished, chunk files left beside them, and how much of it the user pinned. (Cross-file dedup was
 * dropped with data files: there is no ratio to show.)
 */
export interface OfflineCacheStats {
  /** Files (and album covers) whose manifest is current: cached whole, served without the origin. */
  cachedFiles: number;
  /** Their sizes: the music the cache holds, as the library sees it. */
  logicalBytes: number;
  /** Complete data files (one per cached file) and their bytes. */
  dataFiles: number;
  dataFileBytes: number;
  /** Partial data files: whole-file fetches not finished (resumed when read), and their bytes so far. */
  partialFiles: number;
  partialBytes: number;
  /** Chunk files left: range blocks (tag reads, seeks), chunks re-fetched one by one, the old layout's. */
  storedChunks: number;
  chunkBytes: number;
  /** Everything above on disk. */
  storedBytes: number;
  /** Files pinned (`musicfs pin`, as the mount last resolved them), those of them cached whole, and their bytes on disk. */
  pinnedFiles: number;
  pinnedCachedFiles: number;
  pinnedBytes: number;
}

/** Figures from the disk and the database (no running mount needed). */
export function cacheStatsFromDisk(paths: CachePaths, library: Library): OfflineCacheStats {
  let storedChunks = 0;
  let chunkBytes = 0;
  for (const c of chunkFiles(paths.chunksDir)) {
    storedChunks++;
    chunkBytes += c.size;
  }
  const pinned = new Set<number>((PinStore.pinnedFilesIfKnown(paths.pinsDb) ?? []).map(fileContentId));
  let pinnedCachedFiles = 0;
  let pinnedBytes = 0;
  let dataFileCount = 0;
  let dataFileBytes = 0;
  for (const d of dataFiles(paths.dataDir)) {
    dataFileCount++;
    dataFileBytes += d.size;
    if (pinned.has(d.fileId)) {
      pinnedCachedFiles++;
      pinnedBytes += d.size;
    }
  }
  let partialCount = 0;
  let partialBytes = 0;
  for (const p of partialFiles(paths.dataDir)) {
    partialCount++;
    partialBytes += p.size;
    if (pinned.has(p.fileId)) pinnedBytes += p.size;
  }
  let logicalBytes = 0;
  const ms = manifests(library);
  for (const m of ms.values()) logicalBytes += m.originSize;
  return {
    cachedFiles: ms.size, logicalBytes, dataFiles: dataFileCount, dataFileBytes, partialFiles: partialCount, partialBytes,
    storedChunks, chunkBytes, storedBytes: chunkBytes + dataFileBytes + partialBytes, pinnedFiles: pinned.size, pinnedCachedFiles, pinnedBytes,
  };
}

/** What a cache holds of each chunk id algorithm (chunkHash.ts): old caches keep SHA-256 ids until refetched. */
export interface ByIdAlgorithm {
  /** Algorithm 1, SHA-256: manifests and chunk files written before keyed XXH3 ids. */
  sha256: number;
  /** Algorithm 2, keyed XXH3. */
  keyedXxh3: number;
}

export interface VerifyReport {
  chunksChecked: number;
  /** The chunk files checked, by the algorithm their name (its length) says. */
  chunksByAlgorithm: ByIdAlgorithm;
  /** The current manifests (cached files), by the algorithm of their ids. */
  manifestsByAlgorithm: ByIdAlgorithm;
  corruptRemoved: number;
  /** Complete data files checked against their manifests, and those that did not match (removed, then repaired). */
  dataFilesChecked: number;
  dataFilesDamaged: number;
  /** Chunks a manifest names whose file is absent (deleted behind musicfs' back), not counting corruptRemoved. */
  chunksMissing: number;
  filesDamaged: number;
  filesRepaired: number;
  /**
   * Damaged files whose origin could not be read: they are fetched again when read with the origin back. An album
   * cover's `fileId` is its content id (negative); `what` names either for a person ("file 12", "album cover 3").
   */
  filesUnrepaired: { fileId: FileId | ContentId; what: string; reason: string }[];
}

/**
 * Re-hashes every chunk, removes the ones whose bytes do not match their name, then repairs every cached file that
 * lost a chunk by fetching just those chunks from its origin again.
 */
export async function verifyCache(paths: CachePaths, library: Library, config: MusicFsConfig, live?: ContentCache): Promise<VerifyReport> {
  const report: VerifyReport = {
    chunksChecked: 0, chunksByAlgorithm: { sha256: 0, keyedXxh3: 0 }, manifestsByAlgorithm: { sha256: 0, keyedXxh3: 0 }, corruptRemoved: 0, dataFilesChecked: 0, dataFilesDamaged: 0, chunksMissing: 0, filesDamaged: 0, filesRepaired: 0, filesUnrepaired: [] };
  const removed = new Set<string>();
  // Each chunk file is checked by the algorithm its id names (SHA-256 or keyed XXH3, by the name's length).
  const ids = live?.cache.store.ids ?? chunkIdentity(loadOrMakeChunkIdKey(paths.cacheDir));
  for (const c of chunkFiles(paths.chunksDir)) {
    report.chunksChecked++;
    const id = hexToId(c.hex);
    if (id.length === SHA256_ID_BYTES) report.chunksByAlgorithm.sha256++;
    else report.chunksByAlgorithm.keyedXxh3++;
    if (!ids.matches(readFileSync(c.path), id)) {
      if (live) live.cache.store.deleteNow(c.hex); // the running mount's ledger learns it too
      else rmSync(c.path, { force: true });
      removed.add(c.hex);
      report.corruptRemoved++;
      log.warn(`Chunk ${c.hex.slice(0, 16)}… was damaged and has been removed.`);
    }
  }
  // A data file is checked against the manifest it was written from: its length, and every chunk's read checksum.
  // Files and album covers alike (a cover is cached, served from its data file and can be damaged like a track).
  const all = contentManifests(library);
  for (const m of all.values()) {
    if (m.algorithm === SHA256_ALGORITHM_ID) report.manifestsByAlgorithm.sha256++;
    else report.manifestsByAlgorithm.keyedXxh3++;
  }
  const served = new Set<ContentId>();
  for (const [id, m] of all) {
    const path = dataFilePath(paths.dataDir, id, m.originSize, m.originMtimeMs);
    if (!existsSync(path)) continue;
    report.dataFilesChecked++;
    const check = checkDataFile(path, m);
    if (check.ok) {
      served.add(id);
      continue;
    }
    if (live) live.cache.dataFiles.delete(id); // the running mount's index of data files learns it too
    else rmSync(path, { force: true });
    report.dataFilesDamaged++;
    log.warn(`The data file of ${describeContent(id)} was damaged (${check.reason}) and has been removed.`);
  }
  const absent = new Set<string>();
  // A file served by its data file needs none of its chunks (they are deleted once the data file is written).
  const damaged = [...all].filter(([id]) => !served.has(id)).filter(([, m]) => {
    let hit = false;
    for (const hex of manifestChunkHexes(m)) {
      if (absent.has(hex) || !existsSync(chunkPath(paths.chunksDir, hex))) {
        absent.add(hex);
        hit = true;
      }
    }
    return hit;
  });
  report.chunksMissing = [...absent].filter((hex) => !removed.has(hex)).length;
  if (report.chunksMissing > 0) log.warn(`${report.chunksMissing} chunk${report.chunksMissing === 1 ? "" : "s"} named by cached files ${report.chunksMissing === 1 ? "was" : "were"} missing from ${paths.chunksDir}.`);
  report.filesDamaged = damaged.length;
  if (damaged.length === 0) return report;
  // A running mount repairs through its own cache (one ledger, one fetcher); otherwise a cache of our own.
  const content = live ?? new ContentCache(library, paths, config);
  try {
    for (const [id, m] of damaged) {
      const fileId = fileIdOfContent(id);
      const imageId = imageIdOfContent(id);
      const file = fileId !== null ? library.db.fileLocation(fileId) : library.covers.store.imageLocation(imageId!);
      const origin = file && library.origins.find((o) => o.id === file.originId);
      const named = fileId ?? id;
      if (!file || !origin) {
        report.filesUnrepaired.push({ fileId: named, what: describeContent(id), reason: "its origin is not configured" });
        continue;
      }
      try {
        const ref = { fileId: id, origin, realPath: file.realPath, size: file.size, mtimeMs: file.mtimeMs };
        for (let off = 0; off < m.originSize; off += 1 << 20) await content.cache.fetcher.read(ref, off, Math.min(1 << 20, m.originSize - off));
        await content.cache.toDataFile(ref, m);
        report.filesRepaired++;
      } catch (e) {
        report.filesUnrepaired.push({ fileId: named, what: describeContent(id), reason: errorMessage(e) });
      }
    }
  } finally {
    if (!live) await content.close();
  }
  return report;
}

/**
 * Drops cached content: the manifests of one origin's files (or of all), then every chunk no remaining manifest
 * uses. Returns the bytes freed.
 */
export function clearCache(paths: CachePaths, library: Library, originId?: OriginId): { files: number; chunks: number; bytes: number } {
  // Chunk files go first, the database after: on a full disk the database cannot take a write (its journal needs
  // room), and deleting the chunks is what makes that room.
  const keep = new Set<string>();
  // One origin's content only: what waits for a removed origin's return stays (docs/origins.md).
  if (originId !== undefined) for (const m of library.db.listRetiredManifests()) for (const hex of retiredChunkHexes(m)) keep.add(hex);
  for (const [fileId, m] of manifests(library)) {
    const cleared = originId === undefined || library.db.getFile(fileId)?.originId === originId;
    if (!cleared) for (const hex of manifestChunkHexes(m)) keep.add(hex);
  }
  let chunks = 0;
  let bytes = 0;
  for (const c of chunkFiles(paths.chunksDir)) {
    if (keep.has(c.hex)) continue;
    rmSync(c.path, { force: true });
    chunks++;
    bytes += c.size;
  }
  for (const d of dataFiles(paths.dataDir)) {
    const owner = fileIdOfContent(d.fileId);
    const cleared = originId === undefined || (owner !== null && library.db.getFile(owner)?.originId === originId);
    if (!cleared) continue;
    rmSync(d.path, { force: true });
    bytes += d.size;
  }
  const files = library.db.clearManifests(originId);
  if (originId === undefined) library.db.dropRetiredManifests();
  return { files, chunks, bytes };
}

/**
 * `cache clear` on a running mount: what the mount keeps (open files, in-flight fetches, pinned files: one notion
 * of "kept", the content cache's) stays, everything else of the cleared origin goes, through the mount's own store
 * so its ledger (the cap figures) drops with it. Readers of a cleared file fetch it again.
 */
export async function clearLiveCache(paths: CachePaths, library: Library, content: ContentCache, originId?: string): Promise<{ files: number; chunks: number; bytes: number; keptFiles: number }> {
  const keep = new Set<string>();
  const cleared: FileId[] = [];
  let keptFiles = 0;
  // One origin's content only: what waits for a removed origin's return stays (docs/origins.md).
  if (originId !== undefined) for (const m of library.db.listRetiredManifests()) for (const hex of retiredChunkHexes(m)) keep.add(hex);
  for (const [fileId, m] of manifests(library)) {
    const inScope = originId === undefined || library.db.getFile(fileId)?.originId === originId;
    if (inScope && !content.isKept(fileContentId(fileId))) {
      cleared.push(fileId);
      continue;
    }
    if (inScope) keptFiles++;
    for (const hex of manifestChunkHexes(m)) keep.add(hex);
  }
  // The database first here: a worker that sees no manifest defers to the fetcher instead of reading a chunk that
  // is about to go (a worker holding a stale view finds the chunk missing and defers as well).
  const files = library.db.clearManifestsOf(cleared);
  if (originId === undefined) library.db.dropRetiredManifests();
  let chunks = 0;
  let bytes = 0;
  for (const id of cleared) {
    content.forgetContent(id);
    bytes += content.cache.dataFiles.delete(fileContentId(id));
  }
  for (const c of chunkFiles(paths.chunksDir)) {
    if (keep.has(c.hex) || content.cache.pins.isPinned(c.hex)) continue;
    bytes += await content.cache.store.delete(c.hex);
    chunks++;
  }
  content.cache.ledger.flush();
  content.cache.dataFiles.flush();
  return { files, chunks, bytes, keptFiles };
}
