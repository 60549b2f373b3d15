/**
 * The whole-file fetch's requests (pure). Shaped like mountpoint-s3's prefetcher: each request is ONE GET (ranged,
 * or streamed: streamedSegments.ts, which also keeps them within a window ahead of the reader), and they grow:
 *
 * - the first is small (`initialBytes`, or the window the reader's own reads had already earned,
 *   readAheadWindow.ts): whoever waits for the first bytes (a player starting the next track, a fetch resumed after
 *   a restart) gets them after one short GET, not behind a large one;
 * - each next request is twice the one before, up to `maxRequestBytes` (or the rest of the file): with 2 MiB a
 *   64 MiB file is 33 GETs, where 1 MiB requests made 65 (RGW's work is per request);
 * - requests end on block boundaries, so that range blocks fetched before playback was detected can be reused, and
 *   soon on piece boundaries (1 MiB), so that a player's aligned reads are each answered by one piece.
 *
 * When the fetch stops is the facade's decision (index.ts `readerClosed`): when the last reader closes the file (a
 * skipped track is not downloaded to its end: the streams are cancelled), not when a reader pauses (a paused track
 * is still fetched whole, so it plays offline).
 */

export interface FetchRequestParams {
  /** The first request's size (unless the reader's reads earned more). */
  initialBytes: number;
  /** The largest single request. */
  maxRequestBytes: number;
  /** Requests end on multiples of this (range blocks). */
  blockBytes: number;
  /**
   * The pieces a request is handed on in (default: blockBytes). A request ends on a multiple of its own size up to
   * this, so that pieces fall on multiples of it.
   */
  pieceBytes?: number;
}

/** Bytes [from, to) of the file, asked for in one request. */
export interface FetchRequest {
  from: number;
  to: number;
}

/**
 * The request that starts at `from`: twice `previousBytes` (the last request made; 0 for the fetch's first, which
 * opens with `initialBytes` or `earnedBytes`), at most `maxRequestBytes`, ending on a block boundary or at EOF. Null
 * when the whole file is requested. At least one block, so that a tiny first size still moves.
 */
export function nextRequest(from: number, size: number, previousBytes: number, p: FetchRequestParams, earnedBytes = 0): FetchRequest | null {
  if (from >= size) return null;
  const bytes = Math.min(p.maxRequestBytes, previousBytes > 0 ? previousBytes * 2 : Math.max(p.initialBytes, earnedBytes));
  // Ends on a multiple of the request's own size, up to a piece (at least a block): from the third request on, the
  // requests and so their pieces fall on piece boundaries, where a player's aligned reads (1 MiB) fall too.
  const unit = Math.max(p.blockBytes, Math.min(p.pieceBytes ?? p.blockBytes, bytes));
  const to = Math.min(size, Math.max(1, Math.ceil((from + bytes) / unit)) * unit);
  return { from, to };
}
