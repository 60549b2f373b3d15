import { ChunkReader, type CachedFileView } from "../cas/chunkReader.ts";
import { Lru } from "../core/lru.ts";
import type { FileLocation } from "../db/nodeReader.ts";

/** Which file a cached READ is for, as the tree row knows it (origin size and mtime validate a kept view). */
export interface CachedFileRef {
  fileId: number;
  size: number;
  mtimeMs: number;
}
import type { RequestContext } from "../fuse/filesystem.ts";
import type { ChunkAccessMessage } from "./workerMessages.ts";

/** Handles of cached files start here, far above any fd a local-origin handle can be. */
const CACHED_FH_BASE = 2 ** 40;
/**
 * Handles of data files opened WITHOUT passthrough (see `OpenModes`): the fd plus this. Above every cached handle
 * (2^40 + 2^44 at most) and below the passthrough slots (2^52).
 */
export const DATA_FD_BASE = 2 ** 50;
const OPEN_MODE_SLOTS = 4096;

/** The shared counters of `OpenModes`, created once per session and handed to every worker. */
export function createOpenModes(): SharedArrayBuffer {
  return new SharedArrayBuffer(OPEN_MODE_SLOTS * 4);
}

/**
 * How many opens of each cached inode are NOT served by passthrough, shared by all workers (OPEN and RELEASE of one
 * file may reach different workers). The kernel keeps an inode in one io mode (fs/fuse/iomode.c): while an open of
 * it reads through the page cache (an open made while the file was still being fetched), an open with passthrough
 * fails (EIO), and the other way round. So a complete file is opened with passthrough only when no such open of its
 * inode is held; otherwise its data file is read by the worker (pread). Counters are per slot (inode modulo the
 * table size): a collision only means a pread open where passthrough was possible.
 */
export class OpenModes {
  private readonly counts: Int32Array;
  constructor(shared: SharedArrayBuffer) {
    this.counts = new Int32Array(shared);
  }
  private slot(ino: number): number {
    return ino % this.counts.length;
  }
  nonPassthroughOpen(ino: number): boolean {
    return Atomics.load(this.counts, this.slot(ino)) > 0;
  }
  opened(ino: number): void {
    Atomics.add(this.counts, this.slot(ino), 1);
  }
  released(ino: number): void {
    const slot = this.slot(ino);
    if (Atomics.sub(this.counts, slot, 1) <= 0) Atomics.store(this.counts, slot, 0);
  }
}
const COUNTER_SPAN = 2 ** 24;
/** How often a worker reports the chunks it read (LRU access times) to the main thread. */
const ACCESS_REPORT_MS = 2000;
const VIEWS_KEPT = 256;

/**
 * Cached files as one worker serves them. The kernel sends the READs of one open to ANY worker, so nothing here is
 * keyed by file handle: a READ names its inode, the inode its file and manifest, and each worker keeps its own
 * verified view of recently read manifests. File handles exist only to pair OPEN and RELEASE (pinning the file's
 * chunks against eviction) and are unique across workers (a random worker tag in the high bits).
 *
 * A READ whose chunks are all in the store is served synchronously; otherwise read() returns null and the caller
 * defers it to the main thread's fetcher.
 */
export class CachedFileHandles {
  private readonly reader: ChunkReader;
  private readonly views = new Lru<number, { view: CachedFileView; size: number; mtimeMs: number }>(VIEWS_KEPT);
  private readonly tag = Math.floor(Math.random() * 2 ** 20);
  private counter = 0;
  private lastReport = 0;

  constructor(chunksDir: string) {
    this.reader = new ChunkReader(chunksDir);
  }

  static owns(fh: number): boolean {
    return fh >= CACHED_FH_BASE && fh < DATA_FD_BASE;
  }

  open(loc: FileLocation, ctx: RequestContext): number {
    this.counter = (this.counter + 1) % COUNTER_SPAN;
    const fh = CACHED_FH_BASE + this.tag * COUNTER_SPAN + this.counter;
    ctx.post({ type: "open", owner: String(fh), fileId: loc.fileId });
    return fh;
  }

  /**
   * A verified view of the file's complete manifest, or null when its content is not (all) cached yet. The view is
   * kept per file and checked against the file's current size and mtime (from the tree row the READ already
   * looked up); the manifest itself — tens of KiB for a long track — is loaded only when the view is missing.
   */
  private viewOf(file: CachedFileRef, loadManifest: () => Uint8Array | null): CachedFileView | null {
    const known = this.views.get(file.fileId);
    if (known && known.size === file.size && known.mtimeMs === file.mtimeMs) return known.view;
    const view = this.reader.openManifest(loadManifest(), file.size, file.mtimeMs);
    if (!view) return null;
    this.views.set(file.fileId, { view, size: file.size, mtimeMs: file.mtimeMs });
    return view;
  }

  /** True when the file's content is all cached (a current manifest): its reads need no origin. */
  isComplete(file: CachedFileRef, loadManifest: () => Uint8Array | null): boolean {
    return this.viewOf(file, loadManifest) !== null;
  }

  /** Bytes read into `out`, or null when the range must be fetched by the main thread. */
  read(
    file: CachedFileRef,
    loadManifest: () => Uint8Array | null,
    offset: number,
    size: number,
    out: Uint8Array,
    ctx: RequestContext,
  ): number | null {
    const view = this.viewOf(file, loadManifest);
    if (!view) return null;
    const r = this.reader.read(view.manifest, offset, size, view, out);
    this.maybeReport(ctx);
    if (r.kind !== "ok") {
      this.views.delete(file.fileId); // a chunk went missing or bad: verify afresh once the fetcher repaired it
      return null;
    }
    return r.bytes.length;
  }

  release(fh: number, ctx: RequestContext): void {
    ctx.post({ type: "release", owner: String(fh) });
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
