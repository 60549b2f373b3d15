/**
 * The whole-file fetch's bytes, in file order, as pieces of `pieceBytes` (on multiples of it): the fetch's requests
 * (fetchWindow.ts: small first, each twice the one before up to a bound) are made while they fit in a window ahead
 * of what was taken, which opens at the first request's size and doubles each time half of it was taken (up to
 * `windowBytes`). Each request is, by `mode`:
 *
 * - "ranged": one ranged GET, its body assembled by the origin (Bun's S3 client: on its HTTP thread), then cut into
 *   pieces that are views of it (no copy). The default: see docs/benchmarks.md "Fewer, larger GETs".
 * - "stream": one streaming GET (`Origin.stream` with an end), its pieces handed on as they arrive. Bun hands a
 *   response body to the JS thread in ~64 KiB pieces, which must be copied into pieces: measured, that cost the
 *   main thread more than the fewer requests saved.
 *
 * A run of range blocks already fetched at the fetch's position (the reads that led to playback being detected) is
 * taken from memory or the store instead of being fetched again. Every piece must come within `timeoutMs` (a stall
 * fails with FetchError "timeout" and stops everything; the fetch resumes from its last hashed chunk), a response
 * short of its range means the file changed, and `cancel` cancels every stream in flight: the response bodies stop
 * downloading (a skipped track).
 */
import { withTimeout } from "../../core/timeout.ts";
import type { CacheStats } from "../cacheStats.ts";
import { describe, FetchError } from "./fetchError.ts";
import { fetchExactly } from "./originReads.ts";
import { nextRequest, type FetchRequest, type FetchRequestParams } from "./fetchWindow.ts";
import type { CachedFileRef } from "./options.ts";

/** Already-fetched range blocks the fetch may take instead of asking the origin. */
export interface KnownBlocks {
  /** The end (bytes, on a block boundary or EOF) of the run of known blocks at `from` (a block boundary), at most `limit`. */
  knownUntil(from: number, limit: number): number;
  /** Their bytes, in order. */
  pieces(from: number, to: number): Promise<Uint8Array[]>;
}

export interface StreamedSegmentsParams {
  file: CachedFileRef;
  /** Where the fetch starts (its last cut). */
  from: number;
  /** The window the reader's reads had already earned (the first request is at least this). */
  earnedBytes: number;
  requests: FetchRequestParams;
  /** Pieces handed on (and so written and hashed) end on multiples of this; also the most taken from known blocks at once. */
  pieceBytes: number;
  /** How each request is made (see above). */
  mode: "ranged" | "stream";
  /** The window's bound: bytes requested ahead of what was taken. */
  windowBytes: number;
  /** Each piece must arrive within this. */
  timeoutMs: number;
  stats?: CacheStats;
  known?: KnownBlocks;
}

/** A piece of the file: bytes [at, at + bytes.length). */
export interface StreamedPiece {
  at: number;
  bytes: Uint8Array;
}

/** One request's bytes, taken piece by piece. */
interface Segment extends FetchRequest {
  /** The next piece, null when all of [from, to) was handed out. */
  take(): Promise<Uint8Array | null>;
  cancel(): void;
}

export class StreamedSegments {
  /** Requests in flight, in file order. */
  private readonly segments: Segment[] = [];
  /** The window: bytes kept requested ahead of what was taken, and where it last grew. */
  private window: number;
  private grewAt: number;
  /** Where the next request starts. */
  private requested: number;
  /** The end of the bytes handed out so far. */
  private taken: number;
  /** The size of the last request to the origin (0: none yet). */
  private lastRequestBytes = 0;
  private cancelled = false;
  /** Requests made to the origin (one GET each, unless a network origin retries or resumes a broken connection). */
  requests = 0;

  constructor(private readonly p: StreamedSegmentsParams) {
    this.requested = p.from;
    this.taken = p.from;
    this.window = Math.min(p.windowBytes, Math.max(p.requests.initialBytes, p.earnedBytes));
    this.grewAt = p.from;
  }

  /**
   * The next piece in file order; null at EOF. Rejects with FetchError (timeout, changed) or the origin's error, and
   * then stops (every stream cancelled): a fetch that failed goes on from its last hashed chunk with a new one.
   */
  async next(): Promise<StreamedPiece | null> {
    for (;;) {
      if (this.cancelled) throw new FetchError("aborted", `${describe(this.p.file)}: fetch stopped`);
      this.startRequests();
      const segment = this.segments[0];
      if (!segment) return null;
      let bytes: Uint8Array | null;
      try {
        bytes = await segment.take();
      } catch (e) {
        this.cancel();
        throw e;
      }
      if (bytes === null) {
        this.segments.shift();
        continue;
      }
      const at = this.taken;
      this.taken += bytes.length;
      return { at, bytes };
    }
  }

  /** Stops: every stream in flight is cancelled (its response body no longer downloads). */
  cancel(): void {
    this.cancelled = true;
    for (const s of this.segments.splice(0)) s.cancel();
  }

  /**
   * Starts the requests that fit in the window (always one when none is in flight): the window opens at the first
   * request's size, so whoever waits for the first bytes waits for one short GET alone, and doubles each time half
   * of it was taken.
   */
  private startRequests(): void {
    const { file, windowBytes } = this.p;
    if (this.window < windowBytes && this.taken - this.grewAt >= this.window / 2) {
      this.window = Math.min(windowBytes, this.window * 2);
      this.grewAt = this.taken;
    }
    while (this.requested < file.size && (this.segments.length === 0 || this.requested < this.taken + this.window))
      this.segments.push(this.start());
  }

  private start(): Segment {
    const { file, requests, known, pieceBytes } = this.p;
    const from = this.requested;
    const B = requests.blockBytes;
    if (known && from % B === 0) {
      const to = known.knownUntil(from, Math.min(file.size, from + pieceBytes));
      if (to > from) {
        this.requested = to;
        return knownSegment(from, to, known.pieces(from, to), this.p);
      }
    }
    const r = nextRequest(from, file.size, this.lastRequestBytes, requests, this.p.earnedBytes)!;
    this.lastRequestBytes = r.to - r.from;
    this.requested = r.to;
    this.requests++;
    return this.p.mode === "stream" ? streamSegment(r, this.p) : rangedSegment(r, this.p);
  }
}

function timedOut(p: StreamedSegmentsParams): FetchError {
  return new FetchError("timeout", `${describe(p.file)}: origin stalled for ${p.timeoutMs} ms`);
}

/** Blocks fetched before (memory or store), handed on as they are. */
function knownSegment(from: number, to: number, pieces: Promise<Uint8Array[]>, p: StreamedSegmentsParams): Segment {
  pieces.catch(() => {}); // taken (and its failure rethrown) in its turn
  let queue: Uint8Array[] | null = null;
  return {
    from, to,
    async take() {
      queue ??= [...(await withTimeout(pieces, p.timeoutMs, () => timedOut(p)))];
      return queue.shift() ?? null;
    },
    cancel() {},
  };
}

/** One ranged GET of [r.from, r.to), started at once; its body cut into pieces on multiples of `pieceBytes` (views). */
function rangedSegment(r: FetchRequest, p: StreamedSegmentsParams): Segment {
  const body = fetchExactly(p.file, r.from, r.to - r.from, p.timeoutMs, p.stats);
  body.catch(() => {}); // taken (and its failure rethrown) in its turn
  let at = r.from;
  let bytes: Uint8Array | null = null;
  return {
    ...r,
    async take() {
      if (at >= r.to) return null;
      bytes ??= await body;
      const end = Math.min(r.to, (Math.floor(at / p.pieceBytes) + 1) * p.pieceBytes);
      const piece = bytes.subarray(at - r.from, end - r.from);
      at = end;
      return piece;
    },
    cancel() {},
  };
}

/** One streaming GET of [r.from, r.to), started at once (its round trip overlaps the bytes before it). */
function streamSegment(r: FetchRequest, p: StreamedSegmentsParams): Segment {
  const { file } = p;
  const abort = new AbortController();
  const it = file.origin
    .stream(file.realPath, r.from, Math.min(p.pieceBytes, r.to - r.from), { end: r.to, signal: abort.signal })
    [Symbol.asyncIterator]();
  let got = 0;
  let done = false;
  // The first piece is asked for now, so that the request is made now.
  let pending: Promise<IteratorResult<Uint8Array>> | null = it.next();
  pending.catch(() => {});
  const cancel = () => {
    if (done) return;
    done = true;
    abort.abort();
    void it.return?.()?.catch(() => {});
  };
  return {
    ...r, cancel,
    async take() {
      if (done) return null;
      const next = pending ?? it.next();
      pending = null;
      let result: IteratorResult<Uint8Array>;
      try {
        result = await withTimeout(next, p.timeoutMs, () => timedOut(p));
      } catch (e) {
        cancel();
        throw e;
      }
      const want = r.to - r.from - got;
      if (result.done || result.value.length === 0) {
        done = true;
        if (want > 0) throw new FetchError("changed", `${describe(file)} is shorter on the origin than recorded`);
        return null;
      }
      let bytes = result.value;
      if (bytes.length > want) bytes = bytes.subarray(0, want); // an origin that ignored the end
      got += bytes.length;
      p.stats?.countOriginBytes(bytes.length);
      if (got === r.to - r.from) cancel(); // all of it: let go of the stream (a local origin's file handle)
      return bytes;
    },
  };
}
