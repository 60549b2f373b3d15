/**
 * Files of a remote origin (an S3 bucket) replaced or deleted on the store while mounted (docs/origins.md, "Changes
 * in the bucket"). Nothing syncs a bucket between `sync.interval_secs` runs (off by default), so a changed object
 * would keep its old size — and fail every read that reaches the store — for the life of the mount. It is noticed:
 *
 * - at OPEN: one HEAD in the background, at most every few seconds per file, never delaying the open (offline, the
 *   HEAD just fails and the cached copy plays); the first read of a file not cached takes this HEAD as its version
 *   check instead of making another (`stat` is the fetcher's `statOrigin`: cas/fetch/sharedHeads.ts);
 * - by a read that failed because the object changed (its version check) or is gone (NoSuchKey);
 *
 * and that one file is synced at once (a scoped sync: new size, tags and place, or removed), the kernel told. The
 * open that noticed keeps what it opened; the next one gets the new version (or ENOENT).
 */
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import type { ContentId } from "../../core/types.ts";
import { FetchError, type CachedFileRef } from "../../cas/fetch/index.ts";
import { remoteCheckIntervalMs } from "../../cas/fetch/sharedHeads.ts";
import type { OriginStat } from "../../cas/fetch/index.ts";
import { originCause } from "./readFailureLog.ts";

const MAX_REMEMBERED = 10_000;

export class RemoteChangeWatch {
  private readonly checkedAt = new Map<ContentId, number>();
  private readonly syncing = new Set<string>();

  constructor(
    private readonly sync: (originId: string, realPath: string) => Promise<void>,
    /** The HEAD of a file (shared with its reads' version check by the mount). */
    private readonly stat: (ref: CachedFileRef) => Promise<OriginStat> = (ref) => ref.origin.stat(ref.realPath),
    /** How long a file's version, once checked, is taken as current (5 s; cas/fetch/sharedHeads.ts). */
    private readonly intervalMs = remoteCheckIntervalMs(),
    private readonly now: () => number = Date.now,
  ) {}

  /** An OPEN of a file of a cached origin. Local folders have their own check at open (originChangeRefresh.ts). */
  opened(ref: CachedFileRef): void {
    if (ref.origin.localPath || ref.fileId < 0) return; // a local folder, or an album image
    const t = this.now();
    if (t - (this.checkedAt.get(ref.fileId) ?? -Infinity) < this.intervalMs) return;
    if (this.checkedAt.size >= MAX_REMEMBERED) this.checkedAt.clear();
    this.checkedAt.set(ref.fileId, t);
    this.stat(ref).then(
      (s) => {
        if (s.size !== ref.size || s.mtimeMs !== ref.mtimeMs) this.notice(ref, "changed");
      },
      (e) => {
        if (originCause(e)?.kind === "gone") this.notice(ref, "gone");
        // Anything else (offline, throttled): the cached copy plays; the reads say why if they fail.
      },
    );
  }

  /** A read of the file failed: a changed or vanished object is synced. */
  readFailed(ref: CachedFileRef, e: FetchError): void {
    if (e.reason === "changed") this.notice(ref, "changed");
    else if (originCause(e)?.kind === "gone") this.notice(ref, "gone");
  }

  private notice(ref: CachedFileRef, how: "changed" | "gone"): void {
    const key = `${ref.origin.id}\0${ref.realPath}`;
    if (this.syncing.has(key)) return;
    this.syncing.add(key);
    this.checkedAt.delete(ref.fileId);
    log.info(`"${ref.realPath}" ${how === "changed" ? "changed" : "is gone"} on ${ref.origin.displayName}: syncing it.`);
    this.sync(ref.origin.id, ref.realPath)
      .catch((e) => log.warn(`Syncing "${ref.realPath}" of ${ref.origin.displayName} failed: ${errorMessage(e)}; the next sync picks it up.`))
      .finally(() => this.syncing.delete(key));
  }
}
