/** Messages a FUSE worker posts to the main thread (ctx.post). Plain data: they cross postMessage. */

/** A file was opened or read from its start: listening patterns. */
export interface AccessMessage {
  type: "access";
  fileId: number;
  offset: number;
  size: number;
  atMs: number;
}

/** A cached file was opened: pin its chunks against eviction until the matching release. */
export interface OpenMessage {
  type: "open";
  owner: string;
  fileId: number;
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

export type WorkerMessage = AccessMessage | OpenMessage | ReleaseMessage | ChunkAccessMessage;

/** What a FUSE worker defers for a cached file: the byte range it could not serve from the chunk store. */
export interface DeferredCachedRead {
  fileId: number;
  offset: number;
  size: number;
}
