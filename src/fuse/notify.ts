/**
 * Kernel cache invalidation, sent from the main thread. A notification is an ordinary write on the /dev/fuse fd
 * (unique 0, error = notify code), so it needs no worker.
 *
 * Caution: INVAL_ENTRY takes the directory's inode lock in the kernel. Never send it for a directory while a
 * LOOKUP in that directory waits for the main thread (a deferred request): the write would wait for the lookup and
 * the lookup for the main thread.
 */
import { writeSync } from "node:fs";
import { errnoCode } from "../core/errors.ts";
import { encodeNotifyInvalEntry, encodeNotifyInvalInode } from "./codec.ts";

export type NotifyResult = "sent" | "unknown" | "closed";

function send(fd: number, message: Uint8Array): NotifyResult {
  try {
    writeSync(fd, message);
    return "sent";
  } catch (e) {
    const code = errnoCode(e);
    // ENOENT: the kernel holds no such inode/entry in its caches, so there was nothing to drop.
    if (code === "ENOENT") return "unknown";
    // ENODEV/EBADF: the mount is gone; nothing is cached any more either.
    if (code === "ENODEV" || code === "EBADF" || code === "ENOTCONN") return "closed";
    throw e;
  }
}

/** Forget `name` in directory `parent` (its dentry and the parent's attributes), so the next access looks it up. */
export function notifyInvalidateEntry(fd: number, parent: number, name: string): NotifyResult {
  return send(fd, encodeNotifyInvalEntry(parent, name));
}

/**
 * Drop the cached attributes of `ino` and its cached data in [offset, offset + length) (length -1: to the end). For
 * a directory this also drops the cached listing (FOPEN_CACHE_DIR).
 */
export function notifyInvalidateInode(fd: number, ino: number, offset = 0, length = -1): NotifyResult {
  return send(fd, encodeNotifyInvalInode(ino, offset, length));
}
