/** Messages a FUSE worker posts to the main thread (ctx.post). Plain data: they cross postMessage. */
import type { ContentId, FileId, Ino, OriginId } from "../core/ids.ts";
import type { OriginVersion } from "../core/originVersion.ts";

/** A file was opened or read from its start: listening patterns. */
export interface AccessMessage {
  type: "access";
  fileId: FileId;
  offset: number;
  size: number;
  atMs: number;
}

/** A READ of a cached origin's file crossed the middle of the file: a player is halfway through it (gapless starts). */
export interface HalfwayMessage {
  type: "halfway";
  fileId: FileId;
}

/** A cached file was opened: pin its chunks against eviction until the matching release. */
export interface OpenMessage {
  type: "open";
  owner: string;
  /** A file's, or a cover's folder image (contentIds.ts). */
  fileId: ContentId;
}

export interface ReleaseMessage {
  type: "release";
  owner: string;
}

/** Chunks read by a worker since its last report (LRU access times) and its hit/miss counts. */
export interface ChunkAccessMessage {
  type: "chunkAccess";
  hexes: string[];
  hits: number;
  misses: number;
}

/**
 * A worker read [offset, offset + size) of a not yet cached file of a local cached origin from the origin file itself
 * (originBackedReads.ts): the fetcher's playback detection, which starts the copy into the cache.
 */
export interface OriginReadMessage {
  type: "originRead";
  fileId: ContentId;
  offset: number;
  size: number;
}

export type WorkerMessage = AccessMessage | HalfwayMessage | OpenMessage | ReleaseMessage | ChunkAccessMessage | OriginReadMessage;

/**
 * An OPEN a FUSE worker defers: the local origin file changed since the tree recorded it (size or mtime differ). The
 * main thread refreshes the file's row and the kernel's attributes, then answers the open with `fd` (which the
 * worker opened and fstat'ed), or EIO.
 */
export interface DeferredOriginChange {
  type: "originChanged";
  ino: Ino;
  fileId: FileId;
  originId: OriginId;
  realPath: string;
  fd: number;
  stored: OriginVersion;
  found: OriginVersion;
}

/** What a FUSE worker defers for a cached file: the byte range it could not serve from the chunk store. */
export interface DeferredCachedRead {
  fileId: ContentId;
  offset: number;
  size: number;
}
