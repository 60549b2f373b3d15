/**
 * The sequential fetch's window (pure): how many bytes a whole-file fetch keeps requested ahead of its stream (the
 * point up to which it has taken the bytes in file order), and the next ranged request to make. Shaped like
 * mountpoint-s3's prefetcher (its read window):
 *
 * - it opens small (`initialBytes`, or the window the reader's own reads had already earned, readAheadWindow.ts):
 *   whoever waits for the first bytes (a player starting the next track, a fetch resumed after a restart) gets
 *   them after one short GET, not behind a burst of large ones;
 * - each time the stream has taken half of the window since it last grew, the window doubles, up to `maxBytes`
 *   (by default `parallelReads` × `segmentBytes`: 8 GETs of 1 MiB in flight, what a store needs for full speed);
 * - requests are at most `requestBytes` (a segment) and end on block boundaries (so that range blocks fetched
 *   before playback was detected are reused), so a grown window is several GETs, on several connections, at once.
 *
 * When it stops is the fetch's facade's decision (index.ts `readerClosed`): when the last reader closes the file
 * (a skipped track is not downloaded to its end), not when a reader pauses (a paused track is still fetched whole,
 * so it plays offline).
 */

export interface FetchWindowParams {
  initialBytes: number;
  maxBytes: number;
  /** The largest single request (a segment). */
  requestBytes: number;
  /** Requests end on multiples of this (range blocks). */
  blockBytes: number;
}

export interface FetchWindow {
  /** Bytes kept requested ahead of the stream. */
  bytes: number;
  /** Where the stream was when the window last grew (or opened). */
  grewAt: number;
}

/** The window of a fetch starting at `streamPos`; `earnedBytes` is what the reader's reads had already opened. */
export function openWindow(streamPos: number, p: FetchWindowParams, earnedBytes = 0): FetchWindow {
  return { bytes: Math.min(p.maxBytes, Math.max(p.initialBytes, earnedBytes)), grewAt: streamPos };
}

/** The window once the stream has reached `streamPos`: doubled if half of it was taken since it last grew. */
export function advanceWindow(w: FetchWindow, streamPos: number, p: FetchWindowParams): FetchWindow {
  if (w.bytes >= p.maxBytes || streamPos - w.grewAt < w.bytes / 2) return w;
  return { bytes: Math.min(p.maxBytes, w.bytes * 2), grewAt: streamPos };
}

/**
 * The next request [from, to) to make, with requests made up to `next` and the stream at `streamPos`; null when the
 * window is full (or the file is all requested). At least one block, so a window smaller than a block still moves.
 */
export function nextRequest(
  next: number,
  streamPos: number,
  size: number,
  w: FetchWindow,
  p: FetchWindowParams,
): { from: number; to: number } | null {
  const limit = Math.min(size, streamPos + w.bytes);
  if (next >= limit) return null;
  const end = Math.min(limit, next + p.requestBytes);
  const to = Math.min(size, Math.max(1, Math.ceil(end / p.blockBytes)) * p.blockBytes);
  return { from: next, to };
}
