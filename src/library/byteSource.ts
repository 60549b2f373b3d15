/**
 * The bytes of one file as the tag parser sees them: a few ranges read up front (the head, sometimes the tail) and,
 * optionally, a synchronous fallback that reads whatever else the parser asks for. The parser sees one random-access
 * file of the real size, so music-metadata makes the same decisions it would make on the whole file (CBR MP3
 * duration from the file size, ID3v1/APEv2 trailers, an MP4 `moov` box after `mdat`, a RIFF `id3 ` chunk after the
 * audio), while we only read the parts it actually touches.
 */

/** A contiguous run of bytes at a known file offset. */
export interface ByteRange {
  offset: number;
  bytes: Uint8Array;
}

/** Reads `length` bytes at `offset` (fewer only at end of file). Synchronous: scan workers use readSync. */
export type RangeFetcher = (offset: number, length: number) => Uint8Array;

/** How much of the file the parser made us read beyond the ranges given up front. */
export interface FetchStats {
  fetches: number;
  fetchedBytes: number;
}

/** Limits that keep a fuzzed or pathological file from turning one parse into a read of gigabytes. */
export interface FetchLimits {
  maxFetches: number;
  maxFetchedBytes: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { maxFetches: 100_000, maxFetchedBytes: 256 * 1024 * 1024 };

/**
 * Fetch sizing. A read that jumps (a parser hopping from one WavPack block header or one FLAC metadata block header
 * to the next) gets a small read; a read that continues the previous fetch (walking an MP4 `moov` box or an APEv2 tag
 * at the end) doubles the read size, so a large box costs a logarithmic number of reads.
 */
const JUMP_FETCH = 4 * 1024;
const MAX_FETCH = 4 * 1024 * 1024;
/** Fetched ranges kept for re-reads; parsers mostly re-read what they just read (peek, then read). */
const KEPT_FETCHES = 4;

export class ByteSource {
  readonly stats: FetchStats = { fetches: 0, fetchedBytes: 0 };
  /** The first read a source without fetcher could not serve: what to read and offer on a retry. */
  missing: { offset: number; length: number } | null = null;
  private readonly prefetched: ByteRange[];
  private recent: ByteRange[] = [];
  private nextFetch = JUMP_FETCH;

  constructor(
    /** The real file size: what the parser is told, whatever we have read. */
    readonly size: number,
    prefetched: ByteRange[],
    /** Absent → the source holds only `prefetched`; a read outside it fails with `MissingBytesError`. */
    private readonly fetch?: RangeFetcher,
    private readonly limits: FetchLimits = DEFAULT_FETCH_LIMITS,
  ) {
    this.prefetched = prefetched.filter((r) => r.bytes.length > 0);
  }

  /** A source holding a whole file in memory. */
  static ofBuffer(bytes: Uint8Array): ByteSource {
    return new ByteSource(bytes.length, [{ offset: 0, bytes }]);
  }

  /** Copies `length` bytes at `offset` into `dst` at `dstOffset`; `offset + length` must be ≤ size. */
  copyInto(dst: Uint8Array, dstOffset: number, offset: number, length: number): void {
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const range = this.rangeAt(pos) ?? this.fetchAt(pos, end);
      const from = pos - range.offset;
      const n = Math.min(end - pos, range.bytes.length - from);
      dst.set(range.bytes.subarray(from, from + n), dstOffset + (pos - offset));
      pos += n;
    }
  }

  /**
   * `length` bytes at `offset` (fewer at end of file) when they are held or, with a fetcher, can be read; otherwise
   * null. Never records a missing range: for callers that make do without (the cover locator), where a read the
   * parser did not need must not cost a remote file another round trip.
   */
  peek(offset: number, length: number): Uint8Array | null {
    const end = Math.min(offset + length, this.size);
    if (offset < 0 || offset >= end) return offset === end ? new Uint8Array(0) : null;
    const out = new Uint8Array(end - offset);
    let pos = offset;
    try {
      while (pos < end) {
        const range = this.rangeAt(pos) ?? (this.fetch ? this.fetchAt(pos, end) : undefined);
        if (!range) return null;
        const from = pos - range.offset;
        const n = Math.min(end - pos, range.bytes.length - from);
        out.set(range.bytes.subarray(from, from + n), pos - offset);
        pos += n;
      }
    } catch {
      return null; // the file shrank, or the fetch limits were reached: no picture rather than a failed parse
    }
    return out;
  }

  private rangeAt(pos: number): ByteRange | undefined {
    for (const r of this.prefetched) if (pos >= r.offset && pos < r.offset + r.bytes.length) return r;
    for (const r of this.recent) if (pos >= r.offset && pos < r.offset + r.bytes.length) return r;
    return undefined;
  }

  private fetchAt(pos: number, end: number): ByteRange {
    if (!this.fetch) {
      this.missing ??= { offset: pos, length: end - pos };
      throw new MissingBytesError(pos, end - pos);
    }
    const last = this.recent[this.recent.length - 1];
    const continues = last !== undefined && last.offset + last.bytes.length === pos;
    this.nextFetch = continues ? Math.min(this.nextFetch * 2, MAX_FETCH) : JUMP_FETCH;
    // Stop at the next prefetched range (we hold it already) and at EOF.
    let limit = this.size;
    for (const r of this.prefetched) if (r.offset > pos && r.offset < limit) limit = r.offset;
    const want = Math.min(limit - pos, Math.max(end - pos, this.nextFetch));
    if (this.stats.fetches + 1 > this.limits.maxFetches || this.stats.fetchedBytes + want > this.limits.maxFetchedBytes) {
      throw new FetchLimitError(this.stats);
    }
    const bytes = this.fetch(pos, want);
    if (bytes.length === 0) throw new MissingBytesError(pos, end - pos); // the file shrank under us
    this.stats.fetches++;
    this.stats.fetchedBytes += bytes.length;
    const range = { offset: pos, bytes };
    this.recent.push(range);
    if (this.recent.length > KEPT_FETCHES) this.recent.shift();
    return range;
  }
}

/** A read outside the ranges of a source that has no fetcher (or of a file that shrank while we read it). */
export class MissingBytesError extends Error {
  override readonly name = "MissingBytesError";
  constructor(
    readonly offset: number,
    readonly length: number,
  ) {
    super(`needs ${length} bytes at offset ${offset}, which were not read`);
  }
}

export class FetchLimitError extends Error {
  override readonly name = "FetchLimitError";
  constructor(stats: FetchStats) {
    super(`tag parsing needed too much of the file (${stats.fetches} reads, ${stats.fetchedBytes} bytes)`);
  }
}
