import type { CacheMode, OriginId, SpecialDirsVisibility } from "../core/types.ts";

/** What the main thread hands each FUSE worker (structured-cloned as workerData). */
export interface MusicFsWorkerConfig {
  dbPath: string;
  chunksDir: string;
  /** Complete cached files (src/cas/dataFileStore.ts): opened by the workers, with passthrough where possible. */
  dataDir: string;
  /** Shared by all workers: opens of cached inodes not served by passthrough (`createOpenModes`, cachedContent.ts). */
  cachedOpenModes: SharedArrayBuffer;
  origins: { id: OriginId; root: string; cache: CacheMode }[];
  /**
   * Shared by all workers: the origin calls running now, by origin (in `origins` order), so that a stalled NAS share
   * is noticed (`createOriginStalls`, originStalls.ts). Without it, nothing is tracked.
   */
  originStalls?: SharedArrayBuffer;
  /** Owner shown for every file and directory: the user who mounted. */
  uid: number;
  gid: number;
  /** Kernel cache lifetimes. Long: the main thread invalidates entries when the library changes. */
  entryTtlMs: number;
  attrTtlMs: number;
  negativeTtlMs: number;
  mountPoint: string;
  /** collections.db, read by /.collections (created by the main thread before mounting). */
  collectionsDb: string;
  /** pins.db, read by /.collections/Pinned.m3u8 (may not exist: nothing pinned yet). */
  pinsDb?: string;
  /** Show `/Playlists` (the .m3u8 files of /.collections) in the root (`playlists_folder = true`). */
  playlistsFolder?: boolean;
  /** Shared by all workers: which query or collection a synthetic directory inode stands for (nameRegistry.ts). */
  nameRegistry: SharedArrayBuffer;
  /** Whether the root listing shows `/.search` and `/.collections` (always reachable by name). */
  specialDirs: SpecialDirsVisibility;
  /** Times shown for synthetic directories. */
  startedAtMs: number;
}
