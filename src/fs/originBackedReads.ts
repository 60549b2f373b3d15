/**
 * A file of a local origin with `cache = "full"` that is not cached yet is read from the origin file itself, by the
 * FUSE worker (one pread per READ, as a local origin without cache is read): no READ waits for the main thread, and
 * no byte of the read crosses it. The cache is filled beside the reads: the worker reports the READs that start
 * below the playback threshold (`originRead`), the main thread's fetcher decides from them whether the reading looks
 * like playback and, if so, copies the whole file into its data file in the background (the same whole-file fetch
 * as for a remote file: admitted against the cap, hashed, completed only when its manifest verifies). A scanner's
 * few KiB never start it. From the next open, the complete data file is served (passthrough).
 *
 * The origin file must still be the version the tree recorded (size + mtime of the fd opened, like a plain local
 * origin's OPEN); when it is not, or the origin cannot be opened (a NAS offline), the open is served from the cache
 * as before this existed (cachedContent.ts: what is cached is served, the rest fails as the origin does).
 */
import { DEFAULT_PLAYBACK_THRESHOLD_BYTES } from "../cas/fetch/options.ts";
import { sameOriginVersion, type OriginVersion } from "../core/originVersion.ts";
import type { FsPath } from "../core/originPaths.ts";
import type { LocalFileHandles } from "./localContent.ts";

/**
 * Handles of origin-backed opens: the origin file's fd plus this. Above every data-file handle (DATA_FD_BASE 2^50
 * plus an fd) and below the passthrough slots (2^52).
 */
const ORIGIN_FD_BASE = 2 ** 51;

export const OriginBackedReads = {
  owns(fh: number): boolean {
    return fh >= ORIGIN_FD_BASE && fh < 2 * ORIGIN_FD_BASE;
  },

  fdOf(fh: number): number {
    return fh - ORIGIN_FD_BASE;
  },

  /**
   * The handle of an origin-backed open, or null when the origin file cannot serve it: it cannot be opened (origin
   * offline, file gone) or it is not the version the tree recorded.
   */
  open(handles: LocalFileHandles, abs: FsPath, recorded: OriginVersion): number | null {
    let fd: number;
    try {
      fd = handles.openFile(abs);
    } catch {
      return null;
    }
    const found = handles.version(fd);
    if (found === undefined || !sameOriginVersion(found, recorded)) {
      handles.close(fd);
      return null;
    }
    return ORIGIN_FD_BASE + fd;
  },

  /** Whether a READ at `offset` is reported to the fetcher (playback detection looks at the file's start only). */
  reported(offset: number): boolean {
    return offset < DEFAULT_PLAYBACK_THRESHOLD_BYTES;
  },
};
