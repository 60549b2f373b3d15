/**
 * The contract between the FUSE session (this folder) and a filesystem implementation (e.g. src/fs/MusicFs).
 *
 * A filesystem object lives INSIDE each session worker thread and is called synchronously: the worker is blocked in
 * readSync(/dev/fuse) between requests and never runs its event loop, so no method may return a Promise.
 * Requests that need slow I/O (network) are handed to the main thread with `{ defer: payload }`; the main thread's
 * DeferredHandler answers them later with the same `unique`.
 *
 * Errors are returned as negative errno numbers (e.g. -Errno.ENOENT), never thrown. A thrown exception is caught by
 * the session, logged, and answered with EIO: one bad request must never take the mount down.
 */

/** Linux errno values used by filesystems. Return them negated. */
export const Errno = {
  EPERM: 1, ENOENT: 2, EIO: 5, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EEXIST: 17, ENOTDIR: 20, EISDIR: 21,
  EINVAL: 22, ENOSPC: 28, EROFS: 30, ERANGE: 34, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39, ENODATA: 61,
  EINTR: 4, ETIMEDOUT: 110, EOPNOTSUPP: 95,
} as const;

export type NegErrno = number; // always < 0

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** File attributes, the fields of `struct fuse_attr` a read-only filesystem cares about. Times in ms. */
export interface Attr {
  ino: number;
  size: number;
  /** S_IF* | permission bits. */
  mode: number;
  nlink: number;
  mtimeMs: number;
  /** Defaults to mtimeMs. */
  ctimeMs?: number;
  atimeMs?: number;
  uid?: number;
  gid?: number;
  blksize?: number;
}

/** Reply to LOOKUP. `attr.ino === 0` with entryTtlMs > 0 means a cached negative entry. */
export interface Entry {
  attr: Attr;
  /** How long the kernel may cache the name → inode mapping and the attributes. */
  entryTtlMs: number;
  attrTtlMs: number;
  generation?: number;
}

export interface AttrReply {
  attr: Attr;
  attrTtlMs: number;
}

/**
 * One directory entry for READDIR/READDIRPLUS. `cookie` is an opaque, nonzero position: passing it back to
 * readdir() as `afterCookie` must continue with the entry that follows this one. "." and ".." are added by the
 * session; the filesystem lists only real children.
 */
export interface DirEntry {
  name: string;
  cookie: number;
  /** Full entry (READDIRPLUS counts it as a lookup, balanced later by forget). */
  entry: Entry;
}

export interface OpenReply {
  /** File handle echoed back in READ/RELEASE. 0 when the filesystem keeps no per-open state. */
  fh: number;
  /** FOPEN_KEEP_CACHE: content unchanged since last open, keep the page cache. */
  keepCache?: boolean;
  /** FOPEN_DIRECT_IO. */
  directIo?: boolean;
  /**
   * FOPEN_DIRECT_IO if the kernel agreed to FUSE_DIRECT_IO_ALLOW_MMAP (Linux ≥ 6.6), so that mmap still works;
   * otherwise a normal open. Direct I/O turns the kernel's readahead off for this open: READs are the program's own.
   */
  directIoIfMmap?: boolean;
  /**
   * Serve this open with FUSE passthrough from the given backing file (its bytes when the name is not UTF-8;
   * root + kernel ≥ 6.9 only). The session
   * falls back to normal READs (and never asks again) when passthrough is unavailable. Every open of one inode
   * shares the backing file registered by its first open (the kernel allows one per inode), until the last RELEASE.
   */
  passthroughPath?: string | Buffer;
  /** Like passthroughPath, but an fd of the backing file the filesystem keeps open itself (saves an open). */
  passthroughFd?: number;
}

/** Returned by read (or any op) to hand the request to the main thread. `payload` must be structured-cloneable. */
export interface Deferred {
  defer: unknown;
}

export interface StatFs {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize: number;
}

/** Who is asking (from fuse_in_header). */
export interface RequestContext {
  uid: number;
  gid: number;
  pid: number;
  /** Sends a message to the main thread's onWorkerMessage (e.g. access reports). Never blocks. */
  post(message: unknown): void;
}

export interface FuseFilesystem {
  /** Called once per worker after INIT was negotiated (only in the worker that answered INIT: do not rely on it). */
  init?(info: { passthroughAvailable: boolean }): void;
  lookup(parent: number, name: string, ctx: RequestContext): Entry | NegErrno;
  getattr(ino: number, ctx: RequestContext): AttrReply | NegErrno;
  /**
   * Children of directory `ino` following `afterCookie` (0 = from the start), at most `maxEntries` of them (the
   * session stops early when the kernel's buffer is full and asks again with the last cookie it sent).
   */
  readdir(ino: number, afterCookie: number, maxEntries: number, ctx: RequestContext): DirEntry[] | NegErrno;
  readlink?(ino: number, ctx: RequestContext): string | NegErrno;
  /**
   * `flags` are the open(2) flags; write access is refused by the session before this is called.
   * Return "zero-message" to make the kernel skip OPEN/FLUSH/RELEASE from now on (READs then arrive with fh 0).
   * A Deferred open is answered by the main thread with `reply.open(OpenReply)` (or an error).
   */
  open?(ino: number, flags: number, ctx: RequestContext): OpenReply | "zero-message" | NegErrno | Deferred;
  /**
   * Read up to `size` bytes at `offset` into `out` (which is at least `size` bytes and page-aligned); return the
   * byte count (short at EOF), a negative errno, or a Deferred.
   */
  read(ino: number, fh: number, offset: number, size: number, out: Uint8Array, ctx: RequestContext): number | NegErrno | Deferred;
  release?(ino: number, fh: number, ctx: RequestContext): void;
  statfs?(ino: number, ctx: RequestContext): StatFs | NegErrno;
  /** The kernel dropped `nlookup` references to `ino`. No reply. */
  forget?(ino: number, nlookup: number): void;
}

/**
 * Worker-side factory: a session worker module exports `createFilesystem(workerData)` and calls
 * `serveSessionWorker(createFilesystem)` (from sessionWorker.ts) at top level as its entry point; the main thread
 * starts it with `startSession({ workerUrl, workerData })` (session.ts).
 */
export type FilesystemFactory = (workerData: unknown) => FuseFilesystem;
