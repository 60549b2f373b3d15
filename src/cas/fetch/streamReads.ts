/**
 * Reads of a file without a manifest: each part of a read is served from the best source at hand, in this order —
 * the sequential fetch's latest pieces in memory, a chunk it cut (in memory while being stored, else from the
 * store), its chunker's uncut tail, the stream itself when the part is just ahead of it (within the seek window: the
 * read waits), and range blocks otherwise (a seek, or a file nobody fetches whole).
 */
import { streamPosition, copyOverlap, findChunk, findPiece, type FetchedChunk, type FileFetch } from "./fileFetch.ts";
import { noteStoreFailure } from "./fetchError.ts";
import { fetchExactly } from "./originReads.ts";
import type { ManifestReads } from "./manifestReads.ts";
import type { FetchEnv } from "./options.ts";
import type { RangeBlocks } from "./rangeBlocks.ts";
import { bounded, type ReadContext } from "./readContext.ts";
import { withinSeekWindow } from "./seekWindow.ts";
import { waitFor } from "./waiters.ts";

export class StreamReads {
  constructor(
    private readonly env: FetchEnv,
    private readonly blocks: RangeBlocks,
    private readonly manifests: ManifestReads,
  ) {}

  /** Bytes [offset, end) of the file; range blocks up to `aheadTo` are fetched ahead (read-ahead window). */
  async read(ff: FileFetch, offset: number, end: number, ctx: ReadContext, aheadTo = end): Promise<Uint8Array> {
    const piece = findPiece(ff.recent, offset);
    if (piece && end <= piece.at + piece.bytes.length) {
      // Behind the stream, within one of its latest reads: a view of it (pieces are never written after arrival).
      return piece.bytes.subarray(offset - piece.at, end - piece.at);
    }
    if (this.aheadOfStream(ff, offset)) {
      // The usual READ of a first play: all of it still to come from the stream (no buffer of our own needed).
      return waitFor(ff.waiters, offset, end, null, offset, ctx);
    }
    const out = new Uint8Array(end - offset);
    let pos = offset;
    while (pos < end) {
      ctx.check();
      pos = await this.readPart(ff, pos, end, out, offset, ctx, aheadTo);
    }
    return out;
  }

  /**
   * Serves the part of [pos, end) that starts at `pos` from the best source, returns where it stopped. The choice
   * of source and any waiter registration happen synchronously, so the stream cannot move in between.
   */
  private async readPart(
    ff: FileFetch,
    pos: number,
    end: number,
    out: Uint8Array,
    outBase: number,
    ctx: ReadContext,
    aheadTo: number,
  ): Promise<number> {
    const piece = findPiece(ff.recent, pos);
    if (piece) {
      const to = Math.min(end, piece.at + piece.bytes.length);
      copyOverlap(piece.bytes, piece.at, out, outBase, to, pos);
      return to;
    }
    const chunk = findChunk(ff.chunks, pos);
    if (chunk) {
      const chunkEnd = Math.min(end, chunk.offset + chunk.length);
      if (chunk.state === "storing" && chunk.bytes) {
        copyOverlap(chunk.bytes, chunk.offset, out, outBase, chunkEnd, pos);
        return chunkEnd;
      }
      if (chunk.state === "stored") {
        const dataFiles = this.env.deps.partials;
        if (dataFiles) {
          // In the partial data file, checked against the chunk's checksum; fetched again (into it) when not right.
          const bytes = dataFiles.readPartial(ff.file, chunk.offset, chunk.length, chunk)
            ?? (await bounded(this.refetchIntoDataFile(ff, chunk), ctx));
          if (bytes) {
            copyOverlap(bytes, chunk.offset, out, outBase, chunkEnd, pos);
            return chunkEnd;
          }
          chunk.state = "unstored";
          return this.blocks.read(ff, pos, chunkEnd, out, outBase, ctx);
        }
        const r = await this.env.deps.store.get(chunk.id, chunk.length);
        ctx.check();
        if (r.kind === "ok") {
          copyOverlap(r.bytes, chunk.offset, out, outBase, chunkEnd, pos);
          return chunkEnd;
        }
        // Evicted or damaged since (e.g. the prefix of a fetch resumed after a restart): fetch that one chunk again,
        // so that the file still completes with every chunk stored.
        const repaired = await bounded(this.manifests.repairChunk(ff.file, chunk.offset, chunk.length, chunk.id), ctx);
        if (repaired) {
          copyOverlap(repaired, chunk.offset, out, outBase, chunkEnd, pos);
          return chunkEnd;
        }
        chunk.state = "unstored"; // the origin no longer has these bytes: serve this range from it as it is now
      }
      return this.blocks.read(ff, pos, chunkEnd, out, outBase, ctx);
    }
    const chunker = ff.chunker;
    if (chunker && pos >= chunker.pendingStart && pos < chunker.pendingEnd) {
      const to = Math.min(end, chunker.pendingEnd);
      chunker.copyPending(pos, to, out, pos - outBase);
      return to;
    }
    if (this.aheadOfStream(ff, pos)) {
      await waitFor(ff.waiters, pos, end, out, outBase, ctx);
      return end;
    }
    return this.blocks.read(ff, pos, end, out, outBase, ctx, aheadTo);
  }

  /** Bytes at `pos` will arrive from the running stream soon (not cut yet, within the seek window ahead of it). */
  private aheadOfStream(ff: FileFetch, pos: number): boolean {
    if (ff.primary !== "running" || findChunk(ff.chunks, pos)) return false;
    return withinSeekWindow(streamPosition(ff), pos, this.env.o.seekWindowBytes);
  }

  /**
   * A chunk of a fetch that is missing or damaged in the partial data file (e.g. the prefix of a fetch resumed after a
   * restart): fetched again, checked against its id, written back; null when the origin has other bytes now.
   */
  private async refetchIntoDataFile(ff: FileFetch, chunk: FetchedChunk): Promise<Uint8Array | null> {
    const { o, deps } = this.env;
    const bytes = await fetchExactly(ff.file, chunk.offset, chunk.length, o.originTimeoutMs, deps.stats);
    if (!deps.store.ids.matches(bytes, chunk.id)) return null;
    await deps.partials!.writePartial(ff.file, chunk.offset, bytes).catch((e) => noteStoreFailure(ff.file, e));
    return bytes;
  }

}
