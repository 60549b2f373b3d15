/**
 * Playback detection (pure): does the reading of a file look like a player's, so that the file is worth fetching
 * whole? Once the reads cover `thresholdBytes` from the start without a gap (or the whole file, if smaller), yes.
 * Coverage, not one run of reads: the kernel answers re-read pages from its page cache, so a player's READs can skip
 * what an earlier read brought in. A tag reader's head and tail reads never qualify.
 */

/** Sorted, disjoint [from, to) ranges read so far. */
export type PlaybackRanges = [number, number][];

/** At most this many ranges are kept (the first ones: only coverage from offset 0 matters). */
const MAX_RANGES = 64;

/** The ranges after a read of [offset, end), and whether they now look like playback. */
export function observeRead(
  ranges: PlaybackRanges,
  offset: number,
  end: number,
  thresholdBytes: number,
  fileSize: number,
): { ranges: PlaybackRanges; playback: boolean } {
  const merged = mergeRange(ranges, offset, end);
  const [start, covered] = merged[0];
  if (start === 0 && covered >= Math.min(thresholdBytes, fileSize)) return { ranges: [], playback: true };
  return { ranges: merged, playback: false };
}

/** Adds [from, to) to sorted, disjoint ranges, merging neighbours; at most 64 ranges are kept (the first ones). */
export function mergeRange(ranges: PlaybackRanges, from: number, to: number): PlaybackRanges {
  const out: PlaybackRanges = [];
  let a = from;
  let b = to;
  let placed = false;
  for (const [x, y] of ranges) {
    if (y < a) out.push([x, y]);
    else if (x > b) {
      if (!placed) out.push([a, b]);
      placed = true;
      out.push([x, y]);
    } else {
      a = Math.min(a, x);
      b = Math.max(b, y);
    }
  }
  if (!placed) out.push([a, b]);
  return out.length > MAX_RANGES ? out.slice(0, MAX_RANGES) : out;
}
