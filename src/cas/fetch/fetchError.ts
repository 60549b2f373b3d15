/** The one error a read of a cached file fails with (FUSE replies EIO), and how failures are described. */
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { isRetryable } from "../../origins/retryPolicy.ts";
import { StoreFullError } from "../chunkStore.ts";
import type { CachedFileRef } from "./options.ts";

export type FetchFailure = "timeout" | "origin" | "changed" | "aborted" | "closed";

/** A read that could not be answered. FUSE replies EIO (`errno`). */
export class FetchError extends Error {
  override readonly name = "FetchError";
  readonly errno = "EIO";
  constructor(
    readonly reason: FetchFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function describe(file: CachedFileRef): string {
  return `"${file.realPath}" (${file.origin.displayName})`;
}

export function asFetchError(e: unknown, file: CachedFileRef): FetchError {
  if (e instanceof FetchError) return e;
  return new FetchError("origin", `${describe(file)}: ${errorMessage(e)}`, { cause: e });
}

/**
 * A failure that a later try may not meet: the origin did not answer in time, or failed the way a network drop
 * fails (refused or reset connections, 5xx, throttling: origins/retryPolicy.ts). A read whose deadline has not
 * passed tries again after one of these; anything else (the file changed, access denied, no such key, shutdown)
 * fails the read at once.
 */
export function isTransient(e: unknown): boolean {
  if (e instanceof FetchError) {
    if (e.reason === "timeout") return true;
    return e.reason === "origin" && e.cause !== undefined && isRetryable(e.cause);
  }
  return isRetryable(e);
}

/** A chunk that could not be stored: the read is still answered from the fetched bytes. */
export function noteStoreFailure(file: CachedFileRef, e: unknown): void {
  // StoreFullError was already warned about (once) by the store; anything else is unexpected and worth a line.
  if (!(e instanceof StoreFullError)) log.warn(`caching ${describe(file)}: ${errorMessage(e)}; serving from the origin`);
}
