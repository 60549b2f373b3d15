import { closeSync, fstatSync, openSync } from "node:fs";
import { readFullySync } from "../core/readFully.ts";
import { errnoCode } from "../core/errors.ts";
import { originVersionOf, sameOriginVersion, type OriginVersion } from "../core/originVersion.ts";
import { Errno, type OpenReply } from "../fuse/filesystem.ts";
import type { FsPath } from "../core/originPaths.ts";

/** Maps an origin open() failure to what the reader should see. A vanished file is ENOENT, anything else EIO. */
export function openErrno(e: unknown): number {
  const code = errnoCode(e);
  if (code === "ENOENT" || code === "ENOTDIR") return -Errno.ENOENT;
  if (code === "EACCES" || code === "EPERM") return -Errno.EACCES;
  if (code === "EMFILE" || code === "ENFILE") return -Errno.EAGAIN;
  return -Errno.EIO;
}

/** Reads up to `size` bytes at `offset` (short only at EOF); -EIO when the origin fails. */
function preadFully(fd: number, offset: number, size: number, out: Uint8Array): number {
  try {
    return readFullySync(fd, out.subarray(0, size), offset);
  } catch {
    return -Errno.EIO;
  }
}

/**
 * Open origin files, by file handle. The handle IS the fd of the origin file: a READ costs one pread, and RELEASE
 * closes it. The kernel may send the READs and the RELEASE of one open to any worker; fds belong to the process,
 * so every worker can use them, and no per-worker bookkeeping may stand in the way.
 * Synchronous on purpose (worker thread, see src/fuse/filesystem.ts).
 */
export class LocalFileHandles {
  openFile(absPath: FsPath): number {
    return openSync(absPath, "r");
  }

  /** The size and mtime of an open origin file, or undefined when fstat fails. */
  version(fh: number): OriginVersion | undefined {
    try {
      return originVersionOf(fstatSync(fh));
    } catch {
      return undefined;
    }
  }

  /**
   * How an open origin file is served. Passthrough (root, kernel ≥ 6.9) lets the kernel read it itself; where the
   * session cannot use it, READs come to us with the fd. Either way RELEASE hands the fd back to be closed.
   */
  static openReply(fd: number): OpenReply {
    return { fh: fd, keepCache: true, passthroughFd: fd };
  }

  read(fh: number, offset: number, size: number, out: Uint8Array): number {
    return preadFully(fh, offset, size, out);
  }

  close(fh: number): void {
    try {
      closeSync(fh);
    } catch {
      /* already gone */
    }
  }

  /**
   * Reads without an open handle (zero-message opens, a READ after the handle was lost, an album cover). With
   * `expected`, the file must still be the version the library recorded (a cover's bytes inside a track: another
   * version may have moved them): -EIO when it changed, until a sync records the new one.
   */
  static readOnce(absPath: FsPath, offset: number, size: number, out: Uint8Array, expected?: OriginVersion): number {
    let fd: number;
    try {
      fd = openSync(absPath, "r");
    } catch (e) {
      return openErrno(e);
    }
    try {
      if (expected && !sameOriginVersion(originVersionOf(fstatSync(fd)), expected)) return -Errno.EIO;
      return preadFully(fd, offset, size, out);
    } catch {
      return -Errno.EIO;
    } finally {
      closeSync(fd);
    }
  }
}
