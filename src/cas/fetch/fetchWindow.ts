/**
 * The whole-file fetch's requests (pure). Shaped like mountpoint-s3's prefetcher: each request is ONE streaming GET
 * whose bytes are taken as they arrive (streamedSegments.ts), and the requests grow:
 *
 * - the first is small (`initialBytes`, or the window the reader's own reads had already earned,
 *   readAheadWindow.ts): whoever waits for the first bytes (a player starting the next track, a fetch resumed after
 *   a restart) gets them after one short GET, not behind a large one;
 * - each next request is twice the one before, up to `maxRequestBytes` (or the rest of the file): a 64 MiB file is
 *   about 9 GETs, where 1 MiB ranged reads made 64 (RGW's work, and ours, is per request);
 * - the next request starts once half of the current one has been taken (`nextStartsAt`), so its round trip
 *   overlaps the current one's bytes: at most two requests in flight;
 * - requests end on block boundaries, so that range blocks fetched before playback was detected can be reused.
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
  const bytes = previousBytes > 0 ? previousBytes * 2 : Math.max(p.initialBytes, earnedBytes);
  const end = from + Math.min(p.maxRequestBytes, bytes);
  const to = Math.min(size, Math.max(1, Math.ceil(end / p.blockBytes)) * p.blockBytes);
  return { from, to };
}

/** Where the stream must have got to before the request after `r` starts: half of `r` taken. */
export function nextStartsAt(r: FetchRequest): number {
  return r.from + Math.floor((r.to - r.from) / 2);
}
