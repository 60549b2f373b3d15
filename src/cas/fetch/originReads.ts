/**
 * Reads from the origin: every call is bounded by `originTimeoutMs` (a hung origin never holds a fetch slot
 * forever) and is given that bound as its deadline, so that a network origin rides out a drop (refused or reset
 * connections are tried again with backoff) until then instead of giving up after a few quick tries; short answers
 * are completed, and a file's version (size + mtime) is checked before its bytes are used.
 */
import { withTimeout } from "../../core/timeout.ts";
import { monotonicNow } from "../../origins/retryPolicy.ts";
import type { CacheStats } from "../cacheStats.ts";
import { describe, FetchError } from "./fetchError.ts";
import type { CachedFileRef } from "./options.ts";
import type { SharedHeads } from "./sharedHeads.ts";

/** Reads exactly `length` bytes at `offset`, tolerating short reads; each origin call is time-bounded. */
export async function fetchExactly(
  file: CachedFileRef,
  offset: number,
  length: number,
  timeoutMs: number,
  stats: CacheStats | undefined,
): Promise<Uint8Array> {
  let out: Uint8Array | undefined;
  let got = 0;
  const deadline = monotonicNow() + timeoutMs;
  while (got < length) {
    const piece = await withTimeout(
      file.origin.read(file.realPath, offset + got, length - got, { deadline }),
      timeoutMs,
      () => new FetchError("timeout", `${describe(file)}: origin did not answer within ${timeoutMs} ms`),
    );
    if (piece.length === 0) throw new FetchError("changed", `${describe(file)} is shorter on the origin than recorded`);
    stats?.countOriginBytes(piece.length);
    // The usual case, one whole answer, is used as it is: a copy into a fresh buffer cost a quarter of the CPU of
    // a cold read (page faults on new memory). Origins return a fresh buffer per read, so it can be kept.
    if (got === 0 && piece.length >= length) return piece.length === length ? piece : piece.subarray(0, length);
    out ??= new Uint8Array(length);
    out.set(piece.subarray(0, length - got), got);
    got += piece.length;
  }
  return out!;
}

/** Where a file's version check is remembered (one per file being read; see `checkVersion`). */
export interface VersionChecked {
  readonly file: CachedFileRef;
  versionCheck: Promise<void> | null;
}

/**
 * Bytes of another version must never be served under the library's size and mtime. The sequential fetch checks
 * with a stat before it streams; range reads check once per file, alongside their first read (not before it, so
 * that the check adds no round trip to the first byte), and with `heads` take the HEAD the file's OPEN just made
 * (sharedHeads.ts) instead of a second one. A failed check is forgotten so that a later read retries.
 */
export function checkVersion(state: VersionChecked, timeoutMs: number, heads?: SharedHeads): Promise<void> {
  if (!state.versionCheck) {
    const { file } = state;
    const head = () => file.origin.stat(file.realPath, { deadline: monotonicNow() + timeoutMs });
    const matches = (now: { size: number; mtimeMs: number }) => now.size === file.size && now.mtimeMs === file.mtimeMs;
    // A shared answer older than the library's record of the file (a sync since) is asked again, not believed.
    const stat = heads ? heads.stat(file, head).then((now) => (matches(now) ? now : heads.renew(file, head))) : head();
    const check = withTimeout(stat, timeoutMs, () =>
      new FetchError("timeout", `${describe(file)}: origin did not answer within ${timeoutMs} ms`),
    ).then((now) => {
      if (!matches(now))
        throw new FetchError("changed", `${describe(file)} changed on the origin (size/mtime differ from the library); rescan needed`);
    });
    check.catch(() => {
      if (state.versionCheck === check) state.versionCheck = null;
    });
    state.versionCheck = check;
  }
  return state.versionCheck;
}
