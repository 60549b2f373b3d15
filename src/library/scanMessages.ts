/** The messages between the scanner (main thread) and its scan workers. Plain data: they cross postMessage. */
import type { FileMeta, OriginId } from "../core/types.ts";

/** One file to parse, as the walk found it. `size`/`mtimeMs` are stored as found: they are the delta-sync identity. */
export interface ScanJob {
  originId: OriginId;
  realPath: string;
  /** Absolute local path the worker opens. */
  absPath: string;
  size: number;
  mtimeMs: number;
  /** Lower-case extension, no dot. */
  ext: string;
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

export interface ParseResult {
  type: "parsed";
  batchId: number;
  files: FileMeta[];
  unreadable: UnreadableFile[];
}
