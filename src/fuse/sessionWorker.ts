/**
 * The worker side of a FUSE session: a blocking loop of readSync(/dev/fuse) → dispatch → writeSync(reply).
 *
 * A filesystem module becomes a worker entry by calling `serveSessionWorker(createFilesystem)` at top level. The
 * call does nothing on the main thread or in workers not started by `startSession`, so the module may also be
 * imported normally (e.g. for its types).
 *
 * The loop never awaits: the worker's event loop does not run while it serves (no timers, no onmessage, no promise
 * continuations). That is deliberate — it is the fastest design measured — and it is why the filesystem API is
 * synchronous and slow work is deferred to the main thread.
 */
import { readSync, writeSync } from "node:fs";
import { workerData } from "node:worker_threads";
import { ptr } from "bun:ffi";
import { errnoCode, errorMessage } from "../core/errors.ts";
import { announceReady, parentChannel } from "../core/workerThread.ts";
import { nameThisThread } from "../core/libc.ts";
import { log } from "../core/logger.ts";
import { Opcode, PAGE_SIZE, REQUEST_BUFFER_SIZE, Size } from "./abi.ts";
import { REPLY_BUFFER_SIZE, RequestDispatcher } from "./dispatcher.ts";
import type { FilesystemFactory } from "./filesystem.ts";
import type { SessionWorkerData, WorkerMessage } from "./messages.ts";
import { PassthroughTable } from "./passthrough.ts";
import { SessionShared, wallClockMs } from "./sessionShared.ts";

export function isSessionWorkerData(data: unknown): data is SessionWorkerData {
  return typeof data === "object" && data !== null && (data as SessionWorkerData).fuseSessionWorker === true;
}

/** Offset in `buf` of the first page boundary at or after `minOffset` (by real memory address). */
export function pageAlignedOffset(buf: Uint8Array, minOffset: number): number {
  const address = ptr(buf) + minOffset;
  return minOffset + ((PAGE_SIZE - (address % PAGE_SIZE)) % PAGE_SIZE);
}

/**
 * Serve the session this worker was started for; returns when the connection ends. Call it at the top level of the
 * worker entry module.
 */
export function serveSessionWorker(createFilesystem: FilesystemFactory): void {
  const channel = parentChannel<WorkerMessage>();
  if (!channel || !isSessionWorkerData(workerData)) return;
  const data = workerData;
  nameThisThread(`fuse ${data.workerIndex}`);
  const post = (m: WorkerMessage) => channel.post(m);

  const fs = createFilesystem(data.fsData); // a throw here surfaces as the worker's error event
  const shared = new SessionShared(data.shared);
  const replyBuffer = new Uint8Array(REPLY_BUFFER_SIZE);
  const dispatcher = new RequestDispatcher({
    fs,
    post,
    workerIndex: data.workerIndex,
    wantPassthrough: data.wantPassthrough,
    readOnly: data.readOnly,
    passthrough: new PassthroughTable(data.passthroughTable, data.fd),
    shared,
    replyBuffer,
    dataOffset: pageAlignedOffset(replyBuffer, Size.OUT_HEADER),
  });
  announceReady(channel);
  const reason = serveLoop(data.fd, dispatcher, roleOf(data.workerIndex, data.workers, shared));
  post({ type: "ended", worker: data.workerIndex, reason });
}

/**
 * File I/O: opening, reading and closing origin files, which may wait on a disk or a network. Worker 0 serves every
 * request while the others stand by, so that sequential metadata traffic (a `find`, a player's library scan: one
 * request at a time) always finds the same warm thread — two workers taking turns, as the kernel hands each request
 * to the longest-waiting reader, made a whole-tree walk 25–35 % slower. When worker 0 starts file I/O and no standby
 * worker is reading, it calls one into read(2), so other callers are served while it waits. A standby worker keeps
 * reading while it is handed file I/O (parallel reads, a player) and goes back to sleep after anything else.
 */
const FILE_IO: ReadonlySet<number> = new Set([Opcode.OPEN, Opcode.READ, Opcode.RELEASE]);

/** Which part a worker plays: worker 0 reads always; the others only when called (null: no standby scheme). */
export type WorkerRole = { kind: "primary"; shared: SessionShared } | { kind: "standby"; shared: SessionShared } | null;

export function roleOf(workerIndex: number, workers: number, shared: SessionShared): WorkerRole {
  if (workers < 2) return null;
  return workerIndex === 0 ? { kind: "primary", shared } : { kind: "standby", shared };
}

/** read(2) on /dev/fuse: the byte count, or why the loop must end (retryable errors are retried here). */
function readRequest(fd: number, request: Uint8Array): number | string {
  for (;;) {
    try {
      const n = readSync(fd, request, 0, request.length, null);
      return n === 0 ? "ENODEV" : n; // EOF: no connection any more
    } catch (e) {
      const code = errnoCode(e);
      // ENOENT: the request was interrupted before we read it. EINTR/EAGAIN: just try again.
      if (code === "ENOENT" || code === "EINTR" || code === "EAGAIN") continue;
      if (code === "ENODEV") return "ENODEV";
      return `read(/dev/fuse) failed: ${code ?? errorMessage(e)}`;
    }
  }
}

/** The loop itself; returns why it ended ("ENODEV" when the filesystem was unmounted). */
export function serveLoop(fd: number, dispatcher: RequestDispatcher, role: WorkerRole = null): string {
  const request = new Uint8Array(REQUEST_BUFFER_SIZE);
  const reply = dispatcher.reply;
  const replyOffset = dispatcher.replyOffset;
  const primary = role?.kind === "primary" ? role.shared : null;
  const standby = role?.kind === "standby" ? role.shared : null;
  let calls = standby?.standbyCalls() ?? 0;
  let asleep = standby !== null; // a standby worker starts asleep
  for (;;) {
    if (standby && asleep) calls = standby.awaitCall(calls);
    standby?.enterRead();
    const n = readRequest(fd, request);
    const receivedAtMs = wallClockMs();
    standby?.leaveRead();
    if (typeof n === "string") return n;
    const fileIo = FILE_IO.has(request[4]! | (request[5]! << 8));
    if (primary && fileIo && !primary.standbyReading()) primary.callStandby();
    if (standby) {
      asleep = !fileIo;
      if (asleep) calls = standby.standbyCalls(); // calls from now on wake it
    }
    const len = dispatcher.handle(request, n, receivedAtMs);
    if (len === 0) continue;
    try {
      writeSync(fd, reply, replyOffset, len);
    } catch (e) {
      const code = errnoCode(e);
      if (code === "ENODEV") return "ENODEV";
      // ENOENT: the request was interrupted meanwhile and the kernel no longer wants the answer.
      if (code !== "ENOENT") log.warn(`fuse: writing a reply failed: ${code ?? errorMessage(e)}`);
    }
    dispatcher.replyWritten();
  }
}
