import type { OriginId } from "../core/types.ts";
import type { FsPath } from "../core/originPaths.ts";

/**
 * One file as an origin lists it. `realPath` is relative to the origin root, POSIX, no leading slash, as escaped
 * text: bytes of the name that are not UTF-8 are kept as escapes (core/originPaths.ts).
 */
export interface OriginEntry {
  realPath: string;
  size: number;
  mtimeMs: number;
  /** The object store's content tag (S3 ETag) when the origin has one: a changed ETag means changed content. */
  etag?: string;
}

/** Counts of what a walk passed over, for the scan summary. */
export interface WalkReport {
  /** Directories or files that could not be read (permission, I/O error), with the reason. */
  unreadable: { path: string; reason: string }[];
  /** Symlinks not followed because they lead back into a directory already walked (loops). */
  symlinkLoops: number;
  /**
   * Listed objects that hold data but cannot be shown as files: an S3 key ending in "/" (a folder's name) with bytes
   * in it. Empty ones are the "folder" placeholders consoles make, and are not reported.
   */
  notFiles?: { path: string; size: number }[];
}

/** How long a caller waits for one origin call. */
export interface OriginCallOptions {
  /**
   * Keep trying until this moment (performance.now() clock; see origins/retryPolicy.ts): transient failures —
   * refused or reset connections, timeouts, 5xx — are retried with backoff until then, however many tries it takes.
   * Without it, a network origin makes its usual few tries.
   */
  deadline?: number;
}

/** How far a stream goes, and how to stop it early. */
export interface StreamOptions {
  /** The stream ends before this offset (default: at EOF): a network origin asks for that range only. */
  end?: number;
  /**
   * Aborting it ends the stream at once: a network origin cancels the response body, so no more bytes are
   * downloaded (a skipped track), and a pending piece settles instead of waiting for bytes that never come.
   */
  signal?: AbortSignal;
}

/**
 * A source of music files. All methods are async and may be slow or fail (network origins); callers bound them
 * with timeouts where a user is waiting. `realPath` arguments are the ones `walk` produced.
 */
export interface Origin {
  readonly id: OriginId;
  /** Human-readable location for messages ("~/Music", "s3://bucket/prefix"). */
  readonly displayName: string;
  /**
   * Every regular file below the root (all extensions: the caller decides what is audio), in batches — one folder's
   * files at a time. Batches, not single entries: an async generator costs several microseconds per yield, which
   * was most of the time of a delta sync of unchanged files.
   */
  walk(report?: WalkReport): AsyncIterable<OriginEntry[]>;
  stat(realPath: string, opts?: OriginCallOptions): Promise<{ size: number; mtimeMs: number; etag?: string }>;
  /** Reads up to `length` bytes at `offset` (short only at EOF). */
  read(realPath: string, offset: number, length: number, opts?: OriginCallOptions): Promise<Uint8Array>;
  /**
   * Streams the file from `offset` to EOF (or to `opts.end`) in pieces of roughly `chunkSize` bytes, each a fresh
   * buffer the caller may keep. A network origin makes one request for it (another only if the connection breaks).
   */
  stream(realPath: string, offset: number, chunkSize?: number, opts?: StreamOptions): AsyncIterable<Uint8Array>;
  /** True when the origin answers at all (root reachable). */
  isAvailable(): Promise<boolean>;
  /** Why it does not answer (null: it does), in words a user can act on; origins without it only say "not reachable". */
  unavailableReason?(): Promise<string | null>;
  /**
   * For local origins: the absolute path of the file on this machine, so that FUSE workers can read it with
   * readSync (or passthrough) without going through the main thread. Undefined for remote origins.
   */
  localPath?(realPath: string): FsPath;
  /** For remote origins: the requests made so far (each one costs time, and money on a paid store). */
  requestCounts?(): Record<string, number>;
  /** For remote origins: content bytes received so far (GET bodies). */
  bytesReceived?(): number;
}
