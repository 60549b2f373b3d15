/**
 * One read's deadline and cancellation. Every read has a deadline (`readTimeoutMs`) and may carry an AbortSignal
 * (FUSE INTERRUPT); when either fires, the read rejects at once with FetchError, whatever it was waiting for — the
 * fetch it waited on goes on for other readers.
 */
import { asFetchError, describe, FetchError } from "./fetchError.ts";
import type { CachedFileRef } from "./options.ts";

export class ReadContext {
  error: FetchError | undefined;
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
    const timer = setTimeout(
      () => ctx.cancel(new FetchError("timeout", `reading ${describe(file)} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () => ctx.cancel(new FetchError("aborted", `read of ${describe(file)} was interrupted`));
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    ctx.onCancel(() => reject(ctx.error));
    run(ctx)
      .then(resolve, (e) => reject(asFetchError(e, file)))
      .finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      });
  });
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
