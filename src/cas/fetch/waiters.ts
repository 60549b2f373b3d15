/**
 * Reads waiting for the sequential fetch: a read just ahead of the stream (within the seek window) registers a
 * waiter and is filled piece by piece as the stream goes by — answered with a view of one piece when a single piece
 * holds it all (no copy), else assembled in its own buffer.
 */
import type { ReadContext } from "./readContext.ts";

/** A read waiting for the stream to pass [from, to). */
export interface Waiter {
  from: number;
  to: number;
  /** Where the bytes go; null: allocated on the first piece, unless one piece holds them all (then a view of it). */
  out: Uint8Array | null;
  outAt: number;
  filled: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * Resolves with the bytes [from, to): in `out` (which holds file bytes from `outBase`) when given, else in a buffer
 * of its own or a view of one piece. A cancelled read leaves the set at once.
 */
export function waitFor(
  waiters: Set<Waiter>,
  from: number,
  to: number,
  out: Uint8Array | null,
  outBase: number,
  ctx: ReadContext,
): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const w: Waiter = { from, to, out, outAt: from - outBase, filled: 0, resolve: () => {}, reject };
    waiters.add(w);
    const forget = ctx.onCancel(() => {
      waiters.delete(w);
      reject(ctx.error);
    });
    w.resolve = () => {
      forget();
      resolve(w.out!);
    };
    w.reject = (e) => {
      forget();
      reject(e);
    };
  });
}

/** Hands an arriving piece [at, at+piece.length) to the reads waiting for it. */
export function deliver(waiters: Set<Waiter>, at: number, piece: Uint8Array): void {
  const pieceEnd = at + piece.length;
  for (const w of waiters) {
    const a = Math.max(w.from, at);
    const b = Math.min(w.to, pieceEnd);
    if (a >= b) continue;
    if (!w.out && a === w.from && b === w.to) {
      // One piece holds the whole read: answer with a view of it (no copy into fresh memory). Pieces are never
      // written after they arrive.
      w.out = piece.subarray(a - at, b - at);
      waiters.delete(w);
      w.resolve();
      continue;
    }
    w.out ??= new Uint8Array(w.to - w.from);
    w.out.set(piece.subarray(a - at, b - at), w.outAt + (a - w.from));
    w.filled += b - a;
    if (w.filled === w.to - w.from) {
      waiters.delete(w);
      w.resolve();
    }
  }
}

/** Fails every waiting read (the fetch stopped or was abandoned). */
export function rejectAll(waiters: Set<Waiter>, e: Error): void {
  for (const w of waiters) w.reject(e);
  waiters.clear();
}
