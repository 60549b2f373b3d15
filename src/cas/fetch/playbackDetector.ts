/**
 * Playback detection (pure): does the reading of a file look like a player's, so that the file is worth fetching
 * whole? Once the reads cover `thresholdBytes` from the start without a gap (or the whole file, if smaller), yes.
 * Coverage, not one run of reads: the kernel answers re-read pages from its page cache, so a player's READs can skip
 * what an earlier read brought in. A tag reader's head and tail reads never qualify.
 *
 * A copy (`observeCopyRead`) is recognised sooner: files not cached are opened with direct I/O, so the READs are the
 * program's own reads, and a copier's are all one large size, one after the other from offset 0 (measured through
 * a mount: cp and cat 128 KiB, rsync 256 KiB, gio copy and dd bs=1M 1 MiB). No scanner measured reads like that:
 * ffprobe starts with 32 KiB, then reads an embedded picture in one read of its own size (2.8 MB: large, but not
 * the first read's size); MPD's scan reads 4 KiB first (FLAC) or 256 KiB and then 262,143 bytes (MP3); mpv reads
 * 128 KiB, then the picture, then 64 KiB. Such a reader waits for the coverage threshold above, as before.
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

/**
 * The run of reads that may be a copy: all of one size (`readBytes`; 0: no run), each starting where the one before
 * ended (`end`), from offset 0.
 */
export interface CopyRun {
  readBytes: number;
  end: number;
}

export const NO_COPY_RUN: CopyRun = { readBytes: 0, end: 0 };

export interface CopyParams {
  /** The smallest read that counts (128 KiB: what cp and cat read; a tag reader's reads are smaller). */
  minReadBytes: number;
  /** A copy once the run covers this much from offset 0, in at least two reads (1 MiB). */
  copyBytes: number;
}

export const DEFAULT_COPY_PARAMS: CopyParams = { minReadBytes: 128 * 1024, copyBytes: 1024 * 1024 };

/**
 * The run after a read of [offset, end) arrives, and whether the reading is now a copy of the whole file: at least
 * two reads of one size of at least `minReadBytes` (whole pages), back to back from offset 0, covering `copyBytes`.
 * A read that does not fit (another size, a jump, a re-read) ends the run, and the reading is judged by its
 * coverage alone (`observeRead`), unless a large read at offset 0 starts a new run (a new reader; the run is the
 * file's, not an open's: a READ may reach the fetcher before its OPEN was noted). Called as each read arrives,
 * before it is answered, so that the copy's second read is already answered by the whole-file fetch.
 */
export function observeCopyRead(run: CopyRun, offset: number, end: number, p: CopyParams): { run: CopyRun; copy: boolean } {
  const bytes = end - offset;
  const starts = offset === 0 && bytes >= p.minReadBytes && bytes % 4096 === 0;
  const fits = starts || (run.readBytes > 0 && offset === run.end && bytes === run.readBytes);
  if (!fits) return { run: NO_COPY_RUN, copy: false };
  // end > bytes: at least two reads (a single large read at the head may still be a sniffer's).
  return { run: { readBytes: bytes, end }, copy: end > bytes && end >= p.copyBytes };
}
