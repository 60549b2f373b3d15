/**
 * The main-thread side of a FUSE session: mount, start the workers, wait for INIT, answer deferred requests,
 * send notifications, and unmount — at once if anything goes wrong, because a mount nobody serves hangs every
 * process that touches it.
 *
 *   const session = await startSession({ mountpoint, workerUrl: new URL("./myFsWorker.ts", import.meta.url).href });
 *   session.onDeferred((req, reply) => fetch(...).then((bytes) => reply.data(bytes), () => reply.error(Errno.EIO)));
 *   session.invalidateEntry(parentIno, "new name");
 *   await session.unmount();
 */
import { closeSync, openSync, writeSync, writev, writevSync } from "node:fs";
import { libc } from "../core/libc.ts";
import { WorkerThread } from "../core/workerThread.ts";
import { errnoCode, errorMessage } from "../core/errors.ts";
import { log } from "../core/logger.ts";
import { Size } from "./abi.ts";
import { encodeDataReply, encodeErrorReply, encodeReplyHeader, writeOpenOut } from "./codec.ts";
import { openOut } from "./dispatcher.ts";
import { Errno, type OpenReply } from "./filesystem.ts";
import type { DeferredRequestData, NegotiatedInit, SessionWorkerData, WorkerMessage } from "./messages.ts";
import { isRoot, mountFuse, type MountHandle, prepareMountpoint, setReadAhead, unmountLazy } from "./mount.ts";
import { notifyInvalidateEntry, notifyInvalidateInode, type NotifyResult } from "./notify.ts";
import { createPassthroughTable, PassthroughTable } from "./passthrough.ts";
import { createSessionShared, SessionShared, wallClockMs, type OpcodeLatency } from "./sessionShared.ts";

/** A session worker thread: it sends WorkerMessages and receives nothing after its workerData. */
type SessionWorker = WorkerThread<never, WorkerMessage>;

export interface SessionOptions {
  mountpoint: string;
  /** The filesystem's name (`fsname`, and `fuse.<name>` as its type in /proc/mounts). */
  fsName: string;
  /** A read-only mount: mounted `ro`, and every modifying request is answered EROFS by the dispatcher. */
  readOnly: boolean;
  /** URL of the worker entry module, which calls serveSessionWorker(createFilesystem). Resolve it with
   *  `new URL("./x.ts", import.meta.url).href` so that it also works inside a compiled binary. */
  workerUrl: string | URL;
  /** Handed to the filesystem factory in every worker (structured-cloned; SharedArrayBuffers are shared). */
  workerData?: unknown;
  /** Worker threads serving requests (default 2; fewer than 2 doubles the latency). */
  workers?: number;
  allowOther?: boolean;
  /** mkdir -p a missing mountpoint instead of refusing. */
  createMountpoint?: boolean;
  /** Use FUSE passthrough where the filesystem asks for it (default true; effective only as root on kernel ≥ 6.9). */
  passthrough?: boolean;
  /** Readahead in KiB for the mount (root only; default 1024, null keeps the kernel's 128). */
  readAheadKb?: number | null;
  /** How long to wait for the kernel's INIT to be answered (default 10 s). */
  initTimeoutMs?: number;
  onDeferred?: DeferredHandler;
  onWorkerMessage?: (message: unknown) => void;
}

/** A request a filesystem deferred with `{ defer: payload }`, to be answered by the main thread. */
export interface DeferredRequest extends DeferredRequestData {
  /** Aborted when the caller gave up (INTERRUPT); the session has then already answered EINTR. */
  signal: AbortSignal;
}

export interface DeferredReply {
  /**
   * Answer with these bytes (a READ's data; at most `size` bytes). Written to the kernel from the thread pool, after
   * this returns: the bytes must not change afterwards (the fetcher hands out fresh buffers or views of bytes it
   * never writes again).
   */
  data(bytes: Uint8Array): void;
  /**
   * Answer a deferred OPEN (passthrough as in a worker). Returns false when the opener is gone (interrupted,
   * unmounted): no RELEASE will come, so the caller frees what it opened for `r.fh`.
   */
  open(r: OpenReply): boolean;
  /** Answer with an errno (positive or negative). */
  error(errno: number): void;
  /** True once answered (by us, or by the session on INTERRUPT / close). */
  readonly done: boolean;
}

export type DeferredHandler = (request: DeferredRequest, reply: DeferredReply) => void;

export interface SessionEnd {
  reason: "unmounted" | "unmounted-externally" | "worker-failed";
  error?: Error;
}

interface Pending {
  controller: AbortController;
  done: boolean;
  opcode: number;
  /** When a worker read the request (wallClockMs): its answer time counts from there. */
  receivedAtMs: number;
}

/** A READ reply handed to the thread pool (answerData), until its write returned or it was written here instead. */
interface ReplyInFlight {
  message: Uint8Array;
  payload: Uint8Array;
  handedAtMs: number;
}

/**
 * A reply the thread pool has not written after this long is written by the main thread itself: the pool's threads
 * are all stuck (origin calls on a NAS share that hangs, which the fetcher makes there too), and a write to
 * /dev/fuse takes microseconds. The pool's write, when it comes, gets ENOENT (that unique was answered).
 */
const REPLY_STUCK_MS = 200;

/** Interrupts that arrived before their deferral (they come from different workers); bounded. */
const EARLY_INTERRUPTS_KEPT = 1024;

export class FuseSession {
  /** Resolves once the session is over, with why. Never rejects. */
  readonly closed: Promise<SessionEnd>;
  private resolveClosed!: (end: SessionEnd) => void;
  private deferredHandler: DeferredHandler | undefined;
  private messageHandler: ((message: unknown) => void) | undefined;
  private readonly pending = new Map<bigint, Pending>();
  private readonly earlyInterrupts = new Set<bigint>();
  private readonly ended = new Set<number>();
  private state: "starting" | "running" | "closing" | "closed" = "starting";
  private initResolvers: { resolve: (i: NegotiatedInit) => void; reject: (e: Error) => void } | undefined;
  /** Workers that announced themselves (their filesystem is set up: database open, caches ready). */
  private readyWorkers = 0;
  private readyWaiter: { count: number; resolve: () => void; reject: (e: Error) => void } | undefined;
  /** The negotiated protocol, set once INIT was answered. */
  init: NegotiatedInit | undefined;

  /** The main thread's view of the workers' passthrough table (for deferred opens). */
  private readonly passthrough: PassthroughTable;
  /** Data replies handed to the thread pool whose write has not returned: the fd is closed only once they did. */
  private repliesInFlight = 0;
  private closeWhenWritten: (() => void) | null = null;
  /** Of those, the ones not answered yet (REPLY_STUCK_MS: written here when the pool is stuck). */
  private readonly unwritten = new Map<bigint, ReplyInFlight>();
  private stuckTimer: ReturnType<typeof setTimeout> | null = null;

  /** @internal use startSession() */
  constructor(
    private readonly handle: MountHandle,
    private readonly workers: SessionWorker[],
    opts: SessionOptions,
    private readonly shared: SessionShared,
    passthroughTable: SharedArrayBuffer = createPassthroughTable(),
  ) {
    this.passthrough = new PassthroughTable(passthroughTable, handle.fd);
    this.deferredHandler = opts.onDeferred;
    this.messageHandler = opts.onWorkerMessage;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get mountpoint(): string {
    return this.handle.mountpoint;
  }

  /** The /dev/fuse fd (for diagnostics; writes to it must be complete replies or notifications). */
  get fd(): number {
    return this.handle.fd;
  }

  get running(): boolean {
    return this.state === "running";
  }

  /** Requests the workers received so far, by opcode name (e.g. `{ LOOKUP: 12, READDIRPLUS: 4 }`). */
  requestCounts(): Record<string, number> {
    return this.shared.requestCounts();
  }

  /** Requests some caller waited for, so far (for background work that should give way to traffic). */
  /**
   * Answer times by opcode name: from when a worker read the request to when its reply was written, by the worker
   * or, for a deferred request (a READ waiting for the fetcher), by the main thread.
   */
  requestLatency(): Record<string, OpcodeLatency> {
    return this.shared.requestLatency();
  }

  answeredRequests(): number {
    return this.shared.answeredRequests();
  }

  onDeferred(handler: DeferredHandler): void {
    this.deferredHandler = handler;
  }

  onWorkerMessage(handler: (message: unknown) => void): void {
    this.messageHandler = handler;
  }

  /** Make the kernel forget `name` under `parentIno` (e.g. after it was added, removed or renamed). */
  invalidateEntry(parentIno: number, name: string): NotifyResult {
    if (this.state !== "running") return "closed";
    return notifyInvalidateEntry(this.handle.fd, parentIno, name);
  }

  /** Make the kernel drop the attributes and cached data of `ino` (for a directory: its cached listing). */
  invalidateInode(ino: number, offset = 0, length = -1): NotifyResult {
    if (this.state !== "running") return "closed";
    return notifyInvalidateInode(this.handle.fd, ino, offset, length);
  }

  /**
   * Ordered shutdown: lazy unmount, let the workers see ENODEV, then release everything. Idempotent. A file still
   * held open keeps the connection (and so the workers) alive after a lazy unmount: the workers are given
   * `workerGraceMs` to end, then released anyway.
   */
  async unmount(workerGraceMs = 1000): Promise<void> {
    if (this.state === "closed" || this.state === "closing") {
      await this.closed;
      return;
    }
    this.state = "closing";
    try {
      await unmountLazy(this.handle.mountpoint, this.handle.viaFusermount);
    } catch (e) {
      log.warn(`fuse: unmounting ${this.handle.mountpoint} failed: ${errorMessage(e)}`);
    }
    this.shared.releaseStandby(); // standby workers sleep outside read(2): send them to see ENODEV
    await this.waitForWorkersToEnd(workerGraceMs);
    this.finish({ reason: "unmounted" });
  }

  // ───────────── internals ─────────────

  /** @internal */
  waitForInit(timeoutMs: number): Promise<NegotiatedInit> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the kernel's INIT was not answered within ${timeoutMs} ms`)), timeoutMs);
      this.initResolvers = {
        resolve: (i) => (clearTimeout(timer), resolve(i)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  /**
   * @internal Resolves once `count` workers are set up. INIT is answered by whichever worker reads it first, so a
   * mount answering INIT is not yet a mount whose every worker can answer: a worker still opening its database
   * when the caller declares the mount ready (and, say, the cache dir then disappears) would fail later, and the
   * whole mount with it.
   */
  waitForWorkers(count: number, timeoutMs: number): Promise<void> {
    if (this.readyWorkers >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.readyWorkers} of ${count} FUSE workers started within ${timeoutMs} ms`)), timeoutMs);
      this.readyWaiter = {
        count,
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  private workerReady(): void {
    this.readyWorkers++;
    if (this.readyWaiter && this.readyWorkers >= this.readyWaiter.count) this.readyWaiter.resolve();
  }

  /** @internal */
  startWorker(entry: string | URL, index: number, data: SessionWorkerData): SessionWorker {
    return new WorkerThread<never, WorkerMessage>(entry, {
      onReady: () => this.workerReady(),
      onMessage: (m) => this.onMessage(m),
      onFailedToStart: (e) => this.fail(new Error(`FUSE worker ${index} could not start: ${errorMessage(e)}`, { cause: e })),
      onCrash: (e) => this.fail(new Error(`FUSE worker ${index} failed: ${errorMessage(e)}`, { cause: e })),
      onExit: (code) => this.workerExited(index, code),
    }, data);
  }

  private workerExited(index: number, code: number): void {
    const expected = this.ended.has(index) || this.state === "closing" || this.state === "closed";
    this.ended.add(index);
    if (!expected) this.fail(new Error(`FUSE worker ${index} exited unexpectedly (code ${code})`));
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.type) {
      case "init":
        if (this.state === "starting") this.state = "running";
        this.init = m.init;
        this.initResolvers?.resolve(m.init);
        return;
      case "post":
        try {
          this.messageHandler?.(m.message);
        } catch (e) {
          log.error("fuse: onWorkerMessage threw:", e);
        }
        return;
      case "defer":
        return this.onDefer(m.request);
      case "interrupt":
        return this.onInterrupt(m.unique);
      case "ended":
        this.ended.add(m.worker);
        if (m.reason !== "ENODEV") this.fail(new Error(`FUSE worker ${m.worker} stopped: ${m.reason}`));
        else if (this.state === "running") this.finish({ reason: "unmounted-externally" });
        return;
    }
  }

  private onDefer(data: DeferredRequestData): void {
    const p: Pending = { controller: new AbortController(), done: false, opcode: data.opcode, receivedAtMs: data.receivedAtMs };
    const reply: DeferredReply = {
      data: (bytes) => {
        // Header and bytes in one writev: a 1 MiB READ answer copied into a fresh reply buffer cost a fifth of the
        // CPU of a cold read from S3 (allocation, page faults, the copy).
        const payload = bytes.subarray(0, data.size);
        if (payload.byteLength === 0) void this.answer(data.unique, p, encodeReplyHeader(data.unique, 0));
        else this.answerData(data.unique, p, encodeReplyHeader(data.unique, payload.byteLength), payload);
      },
      open: (r) => this.answerOpen(data, p, r),
      error: (errno) => void this.answer(data.unique, p, encodeErrorReply(data.unique, -Math.abs(errno))),
      get done() {
        return p.done;
      },
    };
    this.pending.set(data.unique, p);
    if (this.earlyInterrupts.delete(data.unique)) return this.onInterrupt(data.unique);
    const handler = this.deferredHandler;
    if (!handler) {
      log.error("fuse: a request was deferred but no onDeferred handler is registered; answering EIO");
      return reply.error(Errno.EIO);
    }
    try {
      handler({ ...data, signal: p.controller.signal }, reply);
    } catch (e) {
      log.error("fuse: onDeferred threw; answering EIO:", e);
      reply.error(Errno.EIO);
    }
  }

  private onInterrupt(unique: bigint): void {
    const p = this.pending.get(unique);
    if (!p) {
      // Either already answered (fine to ignore) or its deferral is still on its way from another worker.
      this.earlyInterrupts.add(unique);
      if (this.earlyInterrupts.size > EARLY_INTERRUPTS_KEPT) {
        this.earlyInterrupts.delete(this.earlyInterrupts.values().next().value!);
      }
      return;
    }
    this.answer(unique, p, encodeErrorReply(unique, -Errno.EINTR));
    p.controller.abort(new Error("interrupted"));
  }

  /** Writes the reply (one write) unless already answered; true when the kernel took it. */
  private answer(unique: bigint, p: Pending, message: Uint8Array): boolean {
    if (p.done) return false;
    p.done = true;
    this.pending.delete(unique);
    if (this.state === "closed") return false;
    try {
      writeSync(this.handle.fd, message);
      this.shared.recordLatency(p.opcode, (wallClockMs() - p.receivedAtMs) / 1000);
      return true;
    } catch (e) {
      const code = errnoCode(e);
      // ENOENT: interrupted meanwhile. ENODEV/EBADF: unmounted meanwhile. Nobody waits for this answer.
      if (code !== "ENOENT" && code !== "ENODEV" && code !== "EBADF") log.warn(`fuse: deferred reply failed: ${code}`);
      return false;
    }
  }

  /**
   * A READ's data, written to /dev/fuse by the thread pool (one writev of header and bytes). The copy into the
   * kernel was the largest item of the main thread's profile in a cold read (~0.2 ms per 1 MiB reply,
   * docs/benchmarks.md "The main thread's CPU per cold MiB, fifth session"); a write of a reply to /dev/fuse never
   * blocks, so it holds a pool thread only for that copy. But the pool also runs the fetcher's origin calls: on a
   * NAS share that hangs, its threads stay stuck, and a reply queued behind them would never be written (the
   * reader hangs, and so would the unmount). A reply not written within REPLY_STUCK_MS is written here instead.
   * While a write is in flight the device's fd number stays taken (`finish`): a closed fd's number can be handed to
   * the next file opened, which the write would then hit.
   */
  private answerData(unique: bigint, p: Pending, message: Uint8Array, payload: Uint8Array): void {
    if (p.done) return;
    p.done = true;
    this.pending.delete(unique);
    if (this.state === "closed") return;
    this.repliesInFlight++;
    this.unwritten.set(unique, { message, payload, handedAtMs: performance.now() });
    this.stuckTimer ??= setTimeout(() => this.writeStuckReplies(), REPLY_STUCK_MS);
    // Timed now, when the reply is handed on (its write takes microseconds), not in the write's callback: that runs
    // on this thread some turns after the kernel has the bytes, so the reader could see its data — and a scrape of
    // the metrics that follows it could run — before the READ was counted.
    this.shared.recordLatency(p.opcode, (wallClockMs() - p.receivedAtMs) / 1000);
    writev(this.handle.fd, [message, payload], (e) => {
      this.repliesInFlight--;
      // Not in the map: written by writeStuckReplies meanwhile (this write then got ENOENT), or the session closed.
      // ENOENT: interrupted meanwhile. ENODEV/EBADF: unmounted meanwhile. Nobody waits for this answer.
      if (this.unwritten.delete(unique) && e && e.code !== "ENOENT" && e.code !== "ENODEV" && e.code !== "EBADF")
        log.warn(`fuse: deferred reply failed: ${e.code}`);
      if (this.repliesInFlight === 0) this.closeWhenWritten?.();
    });
  }

  /** Writes, on this thread, the replies the thread pool has held for REPLY_STUCK_MS or more (see answerData). */
  private writeStuckReplies(): void {
    this.stuckTimer = null;
    if (this.state === "closed") return;
    const now = performance.now();
    let stuck = 0;
    for (const [unique, r] of this.unwritten) {
      if (now - r.handedAtMs < REPLY_STUCK_MS) continue;
      this.unwritten.delete(unique);
      stuck++;
      try {
        writevSync(this.handle.fd, [r.message, r.payload]); // timed when it was handed on (answerData)
      } catch {
        // interrupted or unmounted meanwhile: nobody waits for this answer
      }
    }
    if (stuck > 0) log.debug(`fuse: ${stuck} READ replies waited ${REPLY_STUCK_MS} ms for the thread pool; written by the main thread`);
    if (this.unwritten.size > 0) this.stuckTimer = setTimeout(() => this.writeStuckReplies(), REPLY_STUCK_MS);
  }

  private answerOpen(data: DeferredRequestData, p: Pending, r: OpenReply): boolean {
    if (p.done || this.state === "closed") return false;
    const out = openOut(data.nodeid, r, this.passthrough);
    const payload = new Uint8Array(Size.OPEN_OUT);
    writeOpenOut(new DataView(payload.buffer), 0, out.fh, out.openFlags, out.backingId);
    if (this.answer(data.unique, p, encodeDataReply(data.unique, payload))) return true;
    this.passthrough.release(out.fh); // the kernel never saw this open: drop its share of the backing id
    return false;
  }

  /** A worker failed: unmount at once so that no caller hangs, and report why. */
  fail(error: Error): void {
    if (this.state === "closed" || this.state === "closing") return;
    log.error(`fuse: ${error.message}; unmounting ${this.handle.mountpoint}`);
    this.state = "closing";
    this.initResolvers?.reject(error);
    this.readyWaiter?.reject(error);
    void unmountLazy(this.handle.mountpoint, this.handle.viaFusermount)
      .catch((e) => log.error(`fuse: emergency unmount of ${this.handle.mountpoint} failed: ${errorMessage(e)}`))
      .then(() => this.shared.releaseStandby())
      .then(() => this.waitForWorkersToEnd(1000))
      .then(() => this.finish({ reason: "worker-failed", error }));
  }

  private async waitForWorkersToEnd(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.ended.size < this.workers.length && Date.now() < deadline) await Bun.sleep(5);
  }

  private finish(end: SessionEnd): void {
    if (this.state === "closed") return;
    this.state = "closed";
    for (const [unique, p] of this.pending) {
      p.done = true;
      p.controller.abort(new Error("session closed"));
      this.pending.delete(unique);
    }
    for (const w of this.workers) void w.terminate();
    if (this.stuckTimer) clearTimeout(this.stuckTimer);
    this.stuckTimer = null;
    this.unwritten.clear();
    const close = () => {
      this.closeWhenWritten = null;
      try {
        closeSync(this.handle.fd);
      } catch {
        // already closed
      }
    };
    if (this.repliesInFlight === 0) close();
    else {
      // Writes still queued in the thread pool (perhaps behind calls stuck on a hung NAS, for good): /dev/fuse is let
      // go now — a lazily unmounted connection that files still hold open ends only when it is closed — with
      // /dev/null put in its place, so the fd number stays taken until those writes return (then it is closed).
      this.closeWhenWritten = close;
      releaseDeviceKeepingFd(this.handle.fd);
    }
    this.resolveClosed(end);
  }
}

/** Replaces the device at `fd` by /dev/null (dup2): the device's last reference goes, the number stays taken. */
function releaseDeviceKeepingFd(fd: number): void {
  let devNull: number;
  try {
    devNull = openSync("/dev/null", "w");
  } catch (e) {
    log.warn(`fuse: cannot open /dev/null to let go of /dev/fuse before its replies are written: ${errorMessage(e)}`);
    return;
  }
  if (libc().dup2(devNull, fd) < 0) log.warn("fuse: dup2 over /dev/fuse failed; it is closed once its replies are written");
  closeSync(devNull);
}

/**
 * Mount and serve. Resolves once the kernel's INIT has been answered, i.e. the mount is usable. On any failure
 * (a worker that does not start, no INIT in time) the mount is removed again before the promise rejects.
 */
export async function startSession(opts: SessionOptions): Promise<FuseSession> {
  const mountpoint = await prepareMountpoint(opts.mountpoint, { fsName: opts.fsName, createMountpoint: opts.createMountpoint });
  const handle = await mountFuse(mountpoint, { fsName: opts.fsName, readOnly: opts.readOnly, allowOther: opts.allowOther });
  const workers: SessionWorker[] = [];
  const shared = createSessionShared();
  const passthroughTable = createPassthroughTable();
  const session = new FuseSession(handle, workers, opts, new SessionShared(shared), passthroughTable);
  const initDone = session.waitForInit(opts.initTimeoutMs ?? 10_000);
  const count = Math.max(1, opts.workers ?? 2);
  try {
    for (let i = 0; i < count; i++) {
      const data: SessionWorkerData = {
        fuseSessionWorker: true,
        workerIndex: i,
        workers: count,
        fd: handle.fd,
        wantPassthrough: (opts.passthrough ?? true) && isRoot(),
        readOnly: opts.readOnly,
        passthroughTable,
        shared,
        fsData: opts.workerData,
      };
      workers.push(session.startWorker(opts.workerUrl, i, data));
    }
    await initDone;
    await session.waitForWorkers(count, opts.initTimeoutMs ?? 10_000);
    const readAhead = opts.readAheadKb === undefined ? 1024 : opts.readAheadKb;
    if (readAhead !== null && isRoot() && !setReadAhead(mountpoint, readAhead, opts.fsName)) {
      log.debug(`fuse: could not set read_ahead_kb on ${mountpoint}`);
    }
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    session.fail(error);
    await session.closed;
    throw error;
  }
  return session;
}


/**
 * For tests and small servers: unmount and exit(0) on SIGINT/SIGTERM, within a second even if unmounting hangs.
 * (An application with an ordered shutdown of its own installs its own handlers.) Returns a function that removes the handlers.
 */
export function installSignalUnmount(session: FuseSession, exitCode = 0): () => void {
  const onSignal = () => {
    setTimeout(() => process.exit(exitCode), 1000).unref?.();
    session.unmount().finally(() => process.exit(exitCode));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
