/**
 * The read-ahead window for reads served by range blocks (files not fetched whole: before playback is detected, or
 * never — a scanner). Pure. Files not yet cached are opened with direct I/O, so the kernel does no readahead of its
 * own: this window is the only read-ahead they get, and it is shaped like mountpoint-s3's prefetcher's —
 *
 * - nothing for a first read, or for any read that does not continue the previous one (a tag reader's head, its
 *   seek to the tail: only the blocks the program asked for are fetched);
 * - a read that continues the previous one opens a small window (`initialBytes`) ahead of it;
 * - each time the reader has used up half of what was fetched ahead, the window doubles (up to `maxBytes`) and is
 *   refilled from the read's end, in one ranged request;
 * - it is never less than two of the reader's own reads (a reader of 1 MiB reads, `dd` or `cp`, gets its next read
 *   asked for while this one is answered, not when it comes);
 * - it stops when the reader stops: nothing is fetched ahead without a read asking, and a jump resets it;
 * - in a file being played, a jump is a player's seek (it reads on from there): the window opens at the jump, so
 *   the seek's one GET also brings the next reads' bytes (they come from range blocks until the whole-file fetch
 *   reaches them, and the fetch takes them from memory then instead of fetching them again).
 */

export interface ReadAheadState {
  /** Where the next read must start to count as sequential (-1: no read yet). */
  nextOffset: number;
  /** The current window (0: none open). */
  windowBytes: number;
  /** End of what was fetched (or asked for) ahead so far. */
  aheadEnd: number;
}

export interface ReadAheadParams {
  initialBytes: number;
  maxBytes: number;
  /**
   * The file is being played (fetched whole): a read that jumps is a player's seek, and more reads follow from
   * there, so the window opens at the jump itself instead of at the read after it.
   */
  seeking?: boolean;
}

export const NO_READ_AHEAD: ReadAheadState = { nextOffset: -1, windowBytes: 0, aheadEnd: 0 };

/** After a read of [offset, end) of a file of `size` bytes: the new state, and up to where to fetch (≥ end). */
export function nextReadAhead(
  s: ReadAheadState,
  offset: number,
  end: number,
  size: number,
  p: ReadAheadParams,
): { state: ReadAheadState; fetchTo: number } {
  if (offset !== s.nextOffset) {
    if (!p.seeking) return { state: { nextOffset: end, windowBytes: 0, aheadEnd: end }, fetchTo: end };
    const fetchTo = Math.min(size, end + p.initialBytes);
    return { state: { nextOffset: end, windowBytes: p.initialBytes, aheadEnd: fetchTo }, fetchTo };
  }
  const ahead = Math.max(s.aheadEnd, end);
  // At least two of the reader's reads ahead: a window of less than one read (`dd bs=1M`, `cp`: 1 MiB FUSE reads,
  // against a 64 KiB first window) asks for the next read's bytes only once that read came, so each read waited
  // for a GET of its own, one round trip per MiB until playback was detected (measured at 20 ms RTT: the first
  // 4 MiB took a sixth of a cold 64 MiB read). Reads of a tag reader (32 KiB) are below the first window anyway.
  // Bounded by twice the window's bound (FUSE READs are at most 1 MiB; a larger read from elsewhere gets no more).
  const least = Math.min(2 * (end - offset), 2 * p.maxBytes);
  if (s.windowBytes > 0 && s.windowBytes >= least && ahead - end >= s.windowBytes / 2)
    return { state: { nextOffset: end, windowBytes: s.windowBytes, aheadEnd: ahead }, fetchTo: end };
  const grown = s.windowBytes === 0 ? p.initialBytes : Math.min(p.maxBytes, s.windowBytes * 2);
  const windowBytes = Math.max(grown, least);
  const fetchTo = Math.min(size, Math.max(ahead, end + windowBytes));
  return { state: { nextOffset: end, windowBytes, aheadEnd: fetchTo }, fetchTo };
}
