/**
 * Where a cached file's data file lives: `<dataDir>/<hh>/<fileId>-<version>`, one file per file VERSION (origin size
 * and mtime), holding the file's bytes in file order. The version is part of the name, so a file that changed on
 * the origin never finds the old version's bytes under its new size and mtime, and a worker needs no database
 * lookup to find it: the tree row it already read names it. Pure; shared by the store (main thread) and the FUSE
 * workers.
 *
 * The final name exists only for a COMPLETE, verified copy (written under a temporary name, checked against the
 * file's manifest, then renamed): its presence is what "served from the data file" means.
 */
import { asContentId, type ContentId } from "../core/ids.ts";
import { join } from "node:path";

/** 16 hex digits naming one origin version of a file (XXH3-64 of its size and mtime). */
export function versionTag(size: number, mtimeMs: number): string {
  return Bun.hash.xxHash3(`${size}:${mtimeMs}`).toString(16).padStart(16, "0");
}

/** Name of a file's data file. Content ids of album images are negative: the sign stays in the name. */
export function dataFileName(fileId: ContentId, size: number, mtimeMs: number): string {
  return `${fileId}-${versionTag(size, mtimeMs)}`;
}

/** One shard level (256 directories) by file id: ~4k entries per directory at a million cached files. */
export function dataFileDir(dataDir: string, fileId: ContentId): string {
  return join(dataDir, (((fileId % 256) + 256) % 256).toString(16).padStart(2, "0"));
}

export function dataFilePath(dataDir: string, fileId: ContentId, size: number, mtimeMs: number): string {
  return join(dataFileDir(dataDir, fileId), dataFileName(fileId, size, mtimeMs));
}

/** A data file being written (hidden, in the same directory so the rename is atomic), tagged with the writer's pid. */
export function dataFileTempPath(dataDir: string, fileId: ContentId, size: number, mtimeMs: number, pid: number): string {
  return join(dataFileDir(dataDir, fileId), `.${dataFileName(fileId, size, mtimeMs)}.${pid}.part`);
}

/**
 * A data file being fetched (bytes written at their offsets as the whole-file fetch brings them, in file order). No
 * pid in the name: a fetch cut off by a restart resumes into the same file (its prefix is in fetch_progress).
 */
export function partialDataFileName(fileId: ContentId, size: number, mtimeMs: number): string {
  return `.${dataFileName(fileId, size, mtimeMs)}.partial`;
}

const PARTIAL_NAME = /^\.(-?\d+)-([0-9a-f]{16})\.partial$/;

/** File id of a partial data file's name, or undefined. */
export function parsePartialName(name: string): { fileId: ContentId; version: string } | undefined {
  const m = PARTIAL_NAME.exec(name);
  return m ? { fileId: asContentId(Number(m[1])), version: m[2] } : undefined;
}

const TEMP_NAME = /^\.-?\d+-[0-9a-f]{16}\.(\d+)\.part$/;
const FINAL_NAME = /^(-?\d+)-([0-9a-f]{16})$/;

/** The pid that wrote a temp data file, or undefined when `name` is not one. */
export function dataTempWriterPid(name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** File id and version tag of a complete data file's name, or undefined. */
export function parseDataFileName(name: string): { fileId: ContentId; version: string } | undefined {
  const m = FINAL_NAME.exec(name);
  return m ? { fileId: asContentId(Number(m[1])), version: m[2] } : undefined;
}
