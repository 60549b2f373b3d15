/**
 * One read's deadline and cancellation. Every read has a deadline (`readTimeoutMs`) and may carry an AbortSignal
 * (FUSE INTERRUPT); when either fires, the read rejects at once with FetchError, whatever it was waiting for — the
 * fetch it waited on goes on for other readers.
 *
 * Until then an outage is ridden out: origin calls retry transient failures up to their own bound, and when the
 * work a read waited on still failed that way (a fetch shared with an earlier read, whose bound came first) the
 * read tries again after a short wait — so a read fails with EIO at its deadline, never earlier, unless the failure
 * is one that trying again cannot change (the file changed, access denied, shutdown).
 */
import { errorMessage } from "../../core/errors.ts";
import { asFetchError, describe, FetchError, isTransient } from "./fetchError.ts";
import type { CachedFileRef } from "./options.ts";

/** The longest wait between two tries of a read (the origin's own retries wait at most as long). */
const RETRY_MAX_WAIT_MS = 1_000;

export class ReadContext {
  error: FetchError | undefined;
  /** The last transient failure, named in the deadline's message (what the read was waiting out). */
  lastFailure: unknown;
  private readonly cleanups = new Set<() => void>();
  cancel(e: FetchError): void {
    if (this.error) return;
    this.error = e;
    for (const c of this.cleanups) c();
    this.cleanups.clear();
  }
  /** Runs `cleanup` on cancellation; returns the function that forgets it. */
  onCancel(cleanup: () => void): () => void {
    this.cleanups.add(cleanup);
    return () => this.cleanups.delete(cleanup);
  }
  check(): void {
    if (this.error) throw this.error;
  }
}

/** Runs `run` under a fresh context that cancels after `timeoutMs` or on `signal`; rejects with FetchError. */
export function withReadContext(
  file: CachedFileRef,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  run: (ctx: ReadContext) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const ctx = new ReadContext();
  return new Promise<Uint8Array>((resolve, reject) => {
    const timer = setTimeout(() => {
      const why = ctx.lastFailure === undefined ? "" : ` (last error: ${errorMessage(ctx.lastFailure)})`;
      // The last failure is the cause: the mount log names it (throttling, a rejected key…), not only "timed out".
      ctx.cancel(new FetchError("timeout", `reading ${describe(file)} timed out after ${timeoutMs} ms${why}`, { cause: ctx.lastFailure }));
    }, timeoutMs);
    const onAbort = () => ctx.cancel(new FetchError("aborted", `read of ${describe(file)} was interrupted`));
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    ctx.onCancel(() => reject(ctx.error));
    untilDeadline(run, ctx)
      .then(resolve, (e) => reject(asFetchError(e, file)))
      .finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      });
  });
}

/** Runs `run` again after transient failures until it succeeds, fails for good, or the context is cancelled. */
async function untilDeadline(run: (ctx: ReadContext) => Promise<Uint8Array>, ctx: ReadContext): Promise<Uint8Array> {
  for (let tried = 1; ; tried++) {
    try {
      return await run(ctx);
    } catch (e) {
      if (ctx.error) throw ctx.error;
      if (!isTransient(e)) throw e;
      ctx.lastFailure = e;
      await bounded(Bun.sleep(Math.min(RETRY_MAX_WAIT_MS, 50 * 2 ** tried)), ctx);
    }
  }
}

/** Races `p` against the read's cancellation. */
export function bounded<T>(p: Promise<T>, ctx: ReadContext): Promise<T> {
  ctx.check();
  return new Promise<T>((resolve, reject) => {
    const forget = ctx.onCancel(() => reject(ctx.error));
    p.then(
      (v) => {
        forget();
        resolve(v);
      },
      (e) => {
        forget();
        reject(e);
      },
    );
  });
}
