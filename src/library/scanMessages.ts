/** The messages between the scanner (main thread) and its scan workers. Plain data: they cross postMessage. */
import type { FileMeta, OriginId } from "../core/types.ts";
import type { ByteRange } from "./byteSource.ts";
import type { FsPath } from "../core/originPaths.ts";

/** One file to parse, as the walk found it. `size`/`mtimeMs` are stored as found: they are the delta-sync identity. */
export interface ScanJob {
  originId: OriginId;
  realPath: string;
  /** Absolute local path the worker opens (local origins); the exact bytes when the name is not UTF-8. */
  absPath?: FsPath;
  /**
   * Origins without a local path: the ranges the main thread read through `Origin.read`. When the parser needs
   * bytes outside them, the worker answers with a `ByteNeed` and the main thread retries with that range added.
   */
  ranges?: ByteRange[];
  size: number;
  mtimeMs: number;
  /** The origin's content tag (S3 ETag), stored with the file. */
  etag?: string;
  /** Lower-case extension, no dot. */
  ext: string;
  /** How many times the main thread added missing bytes to `ranges` (bounded). */
  attempts?: number;
}

export interface ParseRequest {
  type: "parse";
  batchId: number;
  jobs: ScanJob[];
}

/** A file the worker could not open or read (permissions, vanished): not stored, so the next scan tries again. */
export interface UnreadableFile {
  originId: OriginId;
  realPath: string;
  reason: string;
}

/** A remote file whose parse needs `length` bytes at `offset`, beyond the ranges it was sent with. */
export interface ByteNeed {
  job: ScanJob;
  offset: number;
  length: number;
}

export interface ParseResult {
  type: "parsed";
  batchId: number;
  files: FileMeta[];
  unreadable: UnreadableFile[];
  needs: ByteNeed[];
}

