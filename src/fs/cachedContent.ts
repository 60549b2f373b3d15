import { ChunkReader, type CachedFileView } from "../cas/chunkReader.ts";
import type { FileLocation } from "../db/nodeReader.ts";
import type { RequestContext } from "../fuse/filesystem.ts";
import type { ChunkAccessMessage } from "./workerMessages.ts";

/** Handles of cached files start here, far above any fd a local-origin handle can be. */
const CACHED_FH_BASE = 2 ** 40;
/** How often a worker reports the chunks it read (LRU access times) to the main thread. */
const ACCESS_REPORT_MS = 2000;

interface CachedHandle {
  fileId: number;
  /** The file's complete manifest when the open saw one; null = the content is (partly) not cached yet. */
  view: CachedFileView | null;
}

/**
 * Open cached files of one worker. A READ whose chunks are all in the store is served right here, synchronously
 * (each chunk verified once per open); anything else returns null and the caller defers it to the main thread's
 * fetcher.
 */
export class CachedFileHandles {
  private readonly reader: ChunkReader;
  private readonly handles = new Map<number, CachedHandle>();
  private next = CACHED_FH_BASE + 1;
  private lastReport = 0;

  constructor(
    chunksDir: string,
    private readonly workerTag: string,
  ) {
    this.reader = new ChunkReader(chunksDir);
  }

  static owns(fh: number): boolean {
    return fh > CACHED_FH_BASE;
  }

  static ownerOf(workerTag: string, fh: number): string {
    return `${workerTag}:${fh}`;
  }

  open(loc: FileLocation, ctx: RequestContext): number {
    const fh = this.next++;
    const view = this.reader.openManifest(loc.manifest, loc.size, loc.mtimeMs);
    this.handles.set(fh, { fileId: loc.fileId, view });
    ctx.post({ type: "open", owner: CachedFileHandles.ownerOf(this.workerTag, fh), fileId: loc.fileId });
    return fh;
  }

  fileIdOf(fh: number): number | null {
    return this.handles.get(fh)?.fileId ?? null;
  }

  /** Bytes read into `out`, or null when the range must be fetched by the main thread. */
  read(fh: number, offset: number, size: number, out: Uint8Array, ctx: RequestContext): number | null {
    const h = this.handles.get(fh);
    if (!h?.view) return null;
    const r = this.reader.read(h.view.manifest, offset, size, h.view);
    this.maybeReport(ctx);
    if (r.kind !== "ok") return null; // missing or corrupt chunk: the fetcher repairs it
    out.set(r.bytes);
    return r.bytes.length;
  }

  release(fh: number, ctx: RequestContext): void {
    if (this.handles.delete(fh)) ctx.post({ type: "release", owner: CachedFileHandles.ownerOf(this.workerTag, fh) });
    this.maybeReport(ctx, true);
  }

  private maybeReport(ctx: RequestContext, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastReport < ACCESS_REPORT_MS) return;
    this.lastReport = now;
    const hexes = this.reader.takeAccessedChunkHexes();
    const counts = this.reader.takeCounts();
    if (hexes.length === 0 && counts.hits === 0 && counts.misses === 0) return;
    ctx.post({ type: "chunkAccess", hexes, hits: counts.hits, misses: counts.misses } satisfies ChunkAccessMessage);
  }
}
