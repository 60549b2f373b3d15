import type { CacheMode, OriginId } from "../core/types.ts";

/** What the main thread hands each FUSE worker (structured-cloned as workerData). */
export interface MusicFsWorkerConfig {
  dbPath: string;
  chunksDir: string;
  origins: { id: OriginId; root: string; cache: CacheMode }[];
  /** Owner shown for every file and directory: the user who mounted. */
  uid: number;
  gid: number;
  /** Kernel cache lifetimes. Long: the main thread invalidates entries when the library changes. */
  entryTtlMs: number;
  attrTtlMs: number;
  negativeTtlMs: number;
  /** Mountpoint, for absolute symlink targets in special directories (relative ones are used where possible). */
  mountPoint: string;
}
