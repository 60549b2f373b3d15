/**
 * What the main thread and the session workers tell each other. Workers never receive messages (they are blocked
 * in read(2)); everything they need arrives once, in workerData.
 */

/** workerData of a session worker. `fsData` is the filesystem's own, passed to its factory. */
export interface SessionWorkerData {
  /** Marks workerData as ours, so that serveSessionWorker ignores modules started some other way. */
  fuseSessionWorker: true;
  workerIndex: number;
  /** Workers in the session (worker 0 reads always, the others stand by: sessionWorker.ts). */
  workers: number;
  fd: number;
  /** Ask for FUSE passthrough in INIT (root only). */
  wantPassthrough: boolean;
  /** Answer every modifying request with EROFS (else ENOSYS: the filesystem interface has no write operations). */
  readOnly: boolean;
  /** Shared passthrough backing-id table (passthrough.ts). */
  passthroughTable: SharedArrayBuffer;
  /** The kernel's INIT offer and request counters, shared by all workers (sessionShared.ts). */
  shared: SharedArrayBuffer;
  fsData: unknown;
}

/** A READ (or other request) a filesystem handed to the main thread with `{ defer: payload }`. */
export interface DeferredRequestData {
  unique: bigint;
  opcode: number;
  nodeid: number;
  offset: number;
  size: number;
  fh: number;
  payload: unknown;
  /**
   * When the worker read the request from /dev/fuse (ms since the epoch, `wallClockMs()`): the main thread records
   * its answer time from here, so a READ that waits for the fetcher counts its wait.
   */
  receivedAtMs: number;
}

export interface NegotiatedInit {
  major: number;
  minor: number;
  kernelMinor: number;
  flags: number;
  passthrough: boolean;
  /** Directories are opened without OPENDIR/RELEASEDIR round trips (the kernel offered NO_OPENDIR_SUPPORT). */
  zeroMessageOpendir: boolean;
}

export type WorkerMessage =
  | { type: "init"; worker: number; init: NegotiatedInit }
  | { type: "defer"; request: DeferredRequestData }
  | { type: "interrupt"; unique: bigint }
  | { type: "post"; message: unknown }
  /** The read loop ended: "ENODEV" = unmounted (normal), anything else is a failure. */
  | { type: "ended"; worker: number; reason: string };
