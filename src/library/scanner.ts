/**
 * The scanner: walks origins, keeps the audio files, skips the ones the caller already has (so an interrupted first
 * scan resumes where it stopped), parses the rest in scan workers (one per core) and hands FileMeta to the caller in
 * batches for persisting. It never throws for a bad file: unparsable files come back with `parseError` set (the
 * tree shows them under fallback names), unreadable files and folders and symlink loops are counted.
 *
 * Ctrl-C: abort the signal. The walk stops, queued work is dropped, batches in flight finish (bounded wait), the
 * last results are flushed through `onBatch`, workers are terminated, and the summary says `interrupted`.
 *
 * Local origins: workers open files by absolute path and read them with readSync. Origins without a local path
 * (remote stores): the main thread reads the head and tail through `Origin.read` and sends the bytes; if the parser
 * needs more (an MP4 `moov` at the end), the worker says which range, and the file is retried with it added.
 *
 * A worker stuck on a hostile file (no answer within `batchTimeoutMs`) or crashed is replaced; its batch is retried
 * one file at a time, and the file that still fails is reported as failed with the reason.
 */
import type { ConsolaInstance } from "consola";
import { emptyTags, type FileMeta, type OriginId } from "../core/types.ts";
import { errnoCode, errorMessage } from "../core/errors.ts";
import { log as defaultLog } from "../core/logger.ts";
import type { Origin, OriginEntry, WalkReport } from "../origins/origin.ts";
import { isFolderImagePath } from "./coverChoice.ts";
import { extensionOf, isAudioPath } from "./audioFormats.ts";
import type { ByteNeed, ParseRequest, ParseResult, ScanJob, UnreadableFile } from "./scanMessages.ts";
import { WorkerThread } from "../core/workerThread.ts";
import { HEAD_BYTES, TAIL_BYTES, TAIL_FORMATS } from "./headTailReader.ts";
import { createScanProgress, type ScanCounts, type ScanProgress } from "./scanProgress.ts";
import { workerEntry } from "../core/workerEntry.ts";
import { plural } from "../core/plural.ts";

export interface ScanOptions {
  origins: readonly Origin[];
  /**
   * Receives parsed files in batches (up to `filesPerBatch`), in completion order, one call at a time (an async
   * onBatch is awaited before the next). Write each batch in one transaction. A throw stops the scan and rejects.
   */
  onBatch: (files: FileMeta[]) => void | Promise<void>;
  /** True when the stored row for this file has the same identity (size, and ETag or mtime): not parsed again. */
  isUnchanged?: (originId: OriginId, realPath: string, size: number, mtimeMs: number, etag?: string) => boolean;
  signal?: AbortSignal;
  /** Worker count (default: navigator.hardwareConcurrency). */
  workers?: number;
  /** Files per message to a worker (default 32). */
  jobsPerMessage?: number;
  /** Files per onBatch call (default 500). */
  filesPerBatch?: number;
  /**
   * Files the walk may queue ahead of the parsers (default 100,000, ~30 MB). The walk is several times faster than
   * parsing, so in libraries up to this size it finishes early and the progress line gets a real total and ETA.
   */
  maxQueuedFiles?: number;
  /**
   * Told of every folder image the walk passes (a file named like an album cover: coverChoice.ts), from the entry
   * the walk produced anyway: no extra stat or request. Not parsed, and counted as non-audio.
   */
  onFolderImage?: (originId: OriginId, entry: OriginEntry) => void;
  /** Awaited before each folder the walk goes through (a background sync slows down while the mount is busy). */
  pace?: () => Promise<void>;
  /**
   * Origins without a local path: head/tail reads in flight at once (default 64). Network-bound, not core-bound:
   * with 20 ms of round trip, 64 reads keep ~3,000 files/s coming, more than two cores parse.
   */
  remoteReadsInFlight?: number;
  /** A worker that returns nothing for this long is considered stuck (default 60 s). */
  batchTimeoutMs?: number;
  /** How long an interrupted scan waits for batches in flight (default 10 s). */
  abortGraceMs?: number;
  /** Progress display; default: a live line on a TTY, periodic log lines otherwise; null for none. */
  progress?: ScanProgress | null;
  /** Told the counts and bytes as the scan goes (the mount's metrics), as often as the progress display. */
  onProgress?: (counts: ScanCountsAndBytes) => void;
  log?: ConsolaInstance;
  /** Worker entry; tests may substitute one. */
  workerUrl?: string;
}

/** The progress counts plus the bytes of the files behind them (origin sizes). */
export interface ScanCountsAndBytes extends ScanCounts {
  foundBytes: number;
  toParseBytes: number;
  doneBytes: number;
}

export interface ScanFailure {
  originId: OriginId;
  realPath: string;
  reason: string;
}

export interface ScanSummary {
  /** Audio files the walk found (parsed, failed, unchanged, unreadable, or dropped by an interrupt). */
  audioFiles: number;
  /** Parsed now, tags read. */
  parsed: number;
  /** Parsed now, tags unreadable (stored with `parseError`, shown under fallback names). */
  failed: number;
  failures: ScanFailure[];
  /** Skipped because `isUnchanged` said so. */
  unchanged: number;
  skippedNonAudio: number;
  /** Folders and files that could not be listed or opened (not stored; retried next scan). */
  unreadable: ScanFailure[];
  symlinkLoops: number;
  /** Listed objects with data that cannot be shown as files (an S3 key ending in "/"): skipped, and said so. */
  notFiles: ScanFailure[];
  interrupted: boolean;
  ms: number;
  /** (parsed + failed) per second of the whole scan. */
  filesPerSecond: number;
}

/** The worker entry (build.ts embeds src/library/scanWorker.ts; workerEntry finds it inside the binary too). */
export const SCAN_WORKER_URL = workerEntry("library/scanWorker.ts");

/** Failures logged one by one at warn before the rest are only counted (and summarised by reason at the end). */
const FAILURES_LOGGED = 20;
/** Origins without a local path: bytes read per on-demand range, and how many such rounds one file may take. */
const REMOTE_FETCH_BYTES = 64 * 1024;
const REMOTE_MAX_ATTEMPTS = 8;

export async function scanOrigins(options: ScanOptions): Promise<ScanSummary> {
  return new Scan(options).run();
}

/** The walk's folders, with `pace` awaited before each is handed on. */
async function* paced<T>(folders: AsyncIterable<T>, pace: (() => Promise<void>) | undefined): AsyncIterable<T> {
  for await (const folder of folders) {
    if (pace) await pace();
    yield folder;
  }
}

interface Batch {
  id: number;
  jobs: ScanJob[];
  /** Set on the singleton retries of a batch whose worker got stuck or crashed. */
  isRetry: boolean;
}

interface WorkerSlot {
  worker: WorkerThread<ParseRequest, ParseResult>;
  /** Batches sent, in the order the worker will process them. */
  inFlight: Batch[];
  /** When the worker last finished a batch or was handed work while idle. */
  lastProgressAt: number;
  startedAt: number;
}

/**
 * How long a worker may take to load before it counts as unable to start. A module that cannot load fails at once
 * with an error event; this bound only catches a worker that never answers at all.
 */
const WORKER_START_TIMEOUT_MS = 60_000;

class Scan {
  private readonly log: ConsolaInstance;
  private readonly progress: ScanProgress | null;
  private readonly workerCount: number;
  private readonly jobsPerMessage: number;
  private readonly filesPerBatch: number;
  private readonly batchTimeoutMs: number;
  private readonly abortGraceMs: number;
  private readonly maxQueuedFiles: number;
  private readonly workerUrl: string;
  private readonly remoteReadsInFlight: number;

  private readonly summary: ScanSummary = {
    audioFiles: 0, parsed: 0, failed: 0, failures: [], unchanged: 0, skippedNonAudio: 0, unreadable: [],
    symlinkLoops: 0, notFiles: [], interrupted: false, ms: 0, filesPerSecond: 0,
  };
  private readonly queue: ScanJob[] = [];
  /** Retries go first, so a stuck worker's batch is settled before new work. */
  private readonly retryQueue: Batch[] = [];
  private readonly slots: WorkerSlot[] = [];
  private nextBatchId = 1;
  private toParse = 0;
  private foundBytes = 0;
  private toParseBytes = 0;
  private doneBytes = 0;
  private walkDone = false;
  private stopping = false;
  private fatal: unknown = null;
  private readonly originsById = new Map<OriginId, Origin>();
  /** Reads in progress for origins without a local path (the scan is not done while any is). */
  private remoteReads = 0;
  private output: FileMeta[] = [];
  private persisting: Promise<void> = Promise.resolve();
  /** Resolved whenever a batch completes: wakes the walk (backpressure) and the final wait. */
  private wake: (() => void) | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly options: ScanOptions) {
    this.log = options.log ?? defaultLog;
    this.progress = options.progress === undefined ? createScanProgress({ log: this.log }) : options.progress;
    this.workerCount = Math.max(1, options.workers ?? navigator.hardwareConcurrency ?? 2);
    this.jobsPerMessage = Math.max(1, options.jobsPerMessage ?? 32);
    this.filesPerBatch = Math.max(1, options.filesPerBatch ?? 500);
    this.batchTimeoutMs = options.batchTimeoutMs ?? 60_000;
    this.abortGraceMs = options.abortGraceMs ?? 10_000;
    this.maxQueuedFiles = Math.max(this.jobsPerMessage * 2, options.maxQueuedFiles ?? 100_000);
    this.workerUrl = options.workerUrl ?? SCAN_WORKER_URL;
    this.remoteReadsInFlight = Math.max(1, options.remoteReadsInFlight ?? 64);
  }

  async run(): Promise<ScanSummary> {
    const started = performance.now();
    const onAbort = () => this.stop();
    this.options.signal?.addEventListener("abort", onAbort, { once: true });
    if (this.options.signal?.aborted) this.stop();
    // Parsers start with the first file to parse: a sync of an unchanged library starts none.
    this.watchdog = setInterval(() => this.checkStuckWorkers(), Math.min(1000, this.batchTimeoutMs / 2));
    try {
      await this.walkAll();
      this.walkDone = true;
      this.pump();
      await this.drain();
      this.flush();
      await this.persisting;
      this.options.onProgress?.(this.counts()); // the final figures (the display only draws every so often)
    } finally {
      clearInterval(this.watchdog);
      this.options.signal?.removeEventListener("abort", onAbort);
      for (const slot of this.slots) void slot.worker.terminate({ detach: true });
      this.progress?.stop();
    }
    if (this.fatal) throw this.fatal;
    const s = this.summary;
    s.interrupted = this.stopping;
    s.ms = Math.round(performance.now() - started);
    s.filesPerSecond = s.ms > 0 ? Math.round(((s.parsed + s.failed) * 1000) / s.ms) : 0;
    this.logSummary();
    return s;
  }

  /** Interrupt: no new work; what is in flight finishes (bounded by abortGraceMs). */
  private stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.queue.length = 0;
    this.retryQueue.length = 0;
    this.wakeUp();
  }

  // ── walking ──────────────────────────────────────────────────────────────────────────────────────────────────

  private async walkAll(): Promise<void> {
    const isUnchanged = this.options.isUnchanged;
    const highWater = this.maxQueuedFiles;
    for (const origin of this.options.origins) {
      if (this.stopping) return;
      this.originsById.set(origin.id, origin);
      const report: WalkReport = { unreadable: [], symlinkLoops: 0 };
      try {
        walk: for await (const batch of paced(origin.walk(report), this.options.pace)) for (const entry of batch) {
          if (this.stopping) break walk;
          if (!isAudioPath(entry.realPath)) {
            if (this.options.onFolderImage && isFolderImagePath(entry.realPath)) this.options.onFolderImage(origin.id, entry);
            this.summary.skippedNonAudio++;
            continue;
          }
          this.summary.audioFiles++;
          this.foundBytes += entry.size;
          let unchanged = false;
          try {
            unchanged = isUnchanged?.(origin.id, entry.realPath, entry.size, entry.mtimeMs, entry.etag) === true;
          } catch (e) {
            // The caller's lookup failing is not an unreadable origin: stop and report it.
            this.fatal ??= e;
            this.stop();
            break walk;
          }
          if (unchanged) {
            this.summary.unchanged++;
            continue;
          }
          this.toParse++;
          this.toParseBytes += entry.size;
          const job: ScanJob = {
            originId: origin.id, realPath: entry.realPath, size: entry.size, mtimeMs: entry.mtimeMs,
            ext: extensionOf(entry.realPath),
          };
          if (entry.etag !== undefined) job.etag = entry.etag;
          if (origin.localPath) job.absPath = origin.localPath(entry.realPath);
          else {
            // Remote: many reads in flight; each file joins the parse queue when its bytes arrive.
            while (this.remoteReads >= this.remoteReadsInFlight && !this.stopping) await this.nextWake();
            this.remoteReads++;
            void this.readRemoteHeadTail(origin, job)
              .then((ok) => {
                if (!ok || this.stopping) return;
                this.queue.push(job);
                if (this.queue.length >= this.jobsPerMessage) this.pump();
              })
              .finally(() => {
                this.remoteReads--;
                this.wakeUp();
              });
            continue;
          }
          this.queue.push(job);
          if (this.queue.length >= this.jobsPerMessage) this.pump();
          while (this.queue.length >= highWater && !this.stopping) await this.nextWake();
          this.reportProgress();
        }
      } catch (e) {
        // The origin root itself vanished or became unreadable mid-walk: count it, go on with the others.
        // (An errno code says it for a folder; a remote origin's own message names the store and what failed.)
        const code = errnoCode(e);
        this.recordUnreadable({ originId: origin.id, realPath: ".", reason: code && /^E[A-Z0-9]+$/.test(code) ? code : errorMessage(e) });
      }
      for (const u of report.unreadable) this.recordUnreadable({ originId: origin.id, realPath: u.path, reason: u.reason });
      this.summary.symlinkLoops += report.symlinkLoops;
      for (const n of report.notFiles ?? []) {
        const reason = `its key ends in "/" (a folder's name) but it holds ${plural(n.size, "byte")}`;
        this.summary.notFiles.push({ originId: origin.id, realPath: n.path, reason });
        if (this.summary.notFiles.length <= FAILURES_LOGGED)
          this.say(() => this.log.warn(`Object "${n.path}" of ${origin.displayName} skipped: ${reason}; no file can have that name. Rename it in the bucket (a key not ending in "/") to see it.`));
      }
    }
  }

  /**
   * Origins without a local path: read the head (and tail) through `Origin.read` here; workers cannot reach the
   * origin. The two reads of one file go out together.
   */
  private async readRemoteHeadTail(origin: Origin, job: ScanJob): Promise<boolean> {
    try {
      const headLength = Math.min(job.size, HEAD_BYTES + TAIL_BYTES);
      const tailOffset = Math.max(headLength, job.size - TAIL_BYTES);
      const wantTail = job.size > headLength && TAIL_FORMATS.has(job.ext);
      const [head, tail] = await Promise.all([
        origin.read(job.realPath, 0, headLength),
        wantTail ? origin.read(job.realPath, tailOffset, job.size - tailOffset) : null,
      ]);
      job.ranges = [{ offset: 0, bytes: head }];
      if (tail) job.ranges.push({ offset: tailOffset, bytes: tail });
      return true;
    } catch (e) {
      this.toParse--;
      this.recordUnreadable({ originId: job.originId, realPath: job.realPath, reason: errnoCode(e) ?? errorMessage(e) });
      return false;
    }
  }

  /** A remote file's parse needs bytes it was not sent: read them and queue the file again. */
  private readMissingBytes(need: ByteNeed): void {
    const job = need.job;
    const origin = this.originsById.get(job.originId);
    job.attempts = (job.attempts ?? 0) + 1;
    if (!origin || job.attempts > REMOTE_MAX_ATTEMPTS) {
      this.accept([failedFile(job, "tags are spread over too many parts of the file to read remotely")], []);
      return;
    }
    this.remoteReads++;
    const length = Math.min(job.size - need.offset, Math.max(need.length, REMOTE_FETCH_BYTES));
    origin
      .read(job.realPath, need.offset, length)
      .then((bytes) => {
        if (bytes.length === 0) throw new Error("file is shorter than when it was listed");
        (job.ranges ??= []).push({ offset: need.offset, bytes });
        if (!this.stopping) this.retryQueue.push({ id: this.nextBatchId++, jobs: [job], isRetry: false });
      })
      .catch((e) => this.recordUnreadable({ originId: job.originId, realPath: job.realPath, reason: errnoCode(e) ?? errorMessage(e) }))
      .finally(() => {
        this.remoteReads--;
        this.pump();
        this.wakeUp();
      });
  }

  // ── workers ──────────────────────────────────────────────────────────────────────────────────────────────────

  private spawn(): WorkerSlot {
    const worker = new WorkerThread<ParseRequest, ParseResult>(this.workerUrl, {
      // Batch time counts from readiness: loading the parser takes seconds on a busy machine, and is not a stuck parse.
      onReady: () => (slot.lastProgressAt = performance.now()),
      onMessage: (result) => this.onResult(slot, result),
      onCrash: (e) => this.replace(slot, `parser crashed: ${errorMessage(e) || "worker error"}`),
      onFailedToStart: (e) => this.failToStart(slot, errorMessage(e) || "worker error"),
    });
    const slot: WorkerSlot = { worker, inFlight: [], lastProgressAt: performance.now(), startedAt: performance.now() };
    return slot;
  }

  /**
   * Hands out work: at most two batches per worker (one running, one waiting in its inbox). A batch goes to an idle
   * worker, else to a new one (up to workerCount), else to a busy one's inbox: workers start when there is work for
   * them, so a scan of a few files starts one parser, not one per core (each loads the tag parser: ~50 ms of CPU).
   */
  private pump(): void {
    if (this.stopping || this.fatal) return;
    for (;;) {
      const idle = this.slots.find((s) => s.inFlight.length === 0);
      const canGrow = this.slots.length < this.workerCount;
      const target = idle ?? (canGrow ? null : this.slots.find((s) => s.inFlight.length < 2));
      if (target === undefined) return; // every worker has a batch running and one waiting
      const batch = this.takeBatch();
      if (!batch) return;
      const slot = target ?? this.spawnInto();
      if (slot.inFlight.length === 0) slot.lastProgressAt = performance.now();
      slot.inFlight.push(batch);
      const request: ParseRequest = { type: "parse", batchId: batch.id, jobs: batch.jobs };
      slot.worker.post(request);
    }
  }

  private spawnInto(): WorkerSlot {
    const slot = this.spawn();
    this.slots.push(slot);
    return slot;
  }

  private takeBatch(): Batch | null {
    const retry = this.retryQueue.shift();
    if (retry) return retry;
    // Send partial batches only once the walk is done; before that, wait for a full one.
    if (this.queue.length === 0 || (this.queue.length < this.jobsPerMessage && !this.walkDone)) return null;
    return { id: this.nextBatchId++, jobs: this.queue.splice(0, this.jobsPerMessage), isRetry: false };
  }

  private onResult(slot: WorkerSlot, result: ParseResult): void {
    const index = slot.inFlight.findIndex((b) => b.id === result.batchId);
    if (index === -1) return; // from a worker we already gave up on
    slot.inFlight.splice(index, 1);
    slot.lastProgressAt = performance.now();
    this.accept(result.files, result.unreadable);
    for (const need of result.needs) this.readMissingBytes(need);
    this.pump();
    this.wakeUp();
  }

  private accept(files: FileMeta[], unreadable: UnreadableFile[]): void {
    for (const file of files) {
      if (file.parseError) this.recordFailure(file);
      else this.summary.parsed++;
      this.doneBytes += file.size;
      this.output.push(file);
    }
    for (const u of unreadable) this.recordUnreadable(u);
    if (this.output.length >= this.filesPerBatch) this.flush();
    this.reportProgress();
  }

  private recordFailure(file: FileMeta): void {
    this.summary.failed++;
    const failure = { originId: file.originId, realPath: file.realPath, reason: file.parseError ?? "unknown" };
    this.summary.failures.push(failure);
    if (this.summary.failures.length <= FAILURES_LOGGED) {
      this.say(() =>
        this.log.warn(`cannot read tags of ${failure.originId}:${failure.realPath}: ${failure.reason} (shown under fallback names)`),
      );
    } else {
      this.log.debug(`cannot read tags of ${failure.originId}:${failure.realPath}: ${failure.reason}`);
    }
  }

  private recordUnreadable(u: ScanFailure): void {
    this.summary.unreadable.push(u);
    if (this.summary.unreadable.length <= FAILURES_LOGGED) {
      this.say(() => this.log.warn(`cannot read ${u.originId}:${u.realPath} (${u.reason}); left out until it can be read`));
    } else {
      this.log.debug(`cannot read ${u.originId}:${u.realPath} (${u.reason})`);
    }
  }

  /**
   * A worker that fails before it is ready (its module is missing from the binary, an import throws) would fail
   * every file the same way: stop the scan with an error instead of storing every file as unparsable.
   */
  private failToStart(slot: WorkerSlot, message: string): void {
    this.fatal ??= new Error(`scan worker could not start (${this.workerUrl}): ${message}`);
    void slot.worker.terminate({ detach: true });
    slot.inFlight = [];
    this.slots.splice(this.slots.indexOf(slot), 1);
    this.stop();
  }

  /** Replaces a stuck or crashed worker; its running batch is retried file by file, the rest re-queued. */
  private replace(slot: WorkerSlot, reason: string): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    void slot.worker.terminate({ detach: true });
    const [running, ...waiting] = slot.inFlight;
    slot.inFlight = [];
    if (!this.stopping) this.slots[index] = this.spawn();
    else this.slots.splice(index, 1);
    if (running) {
      if (running.jobs.length === 1 && running.isRetry) {
        const job = running.jobs[0];
        this.accept([failedFile(job, reason)], []);
      } else if (!this.stopping) {
        for (const job of running.jobs) this.retryQueue.push({ id: this.nextBatchId++, jobs: [job], isRetry: true });
      }
    }
    if (!this.stopping) this.retryQueue.push(...waiting);
    this.pump();
    this.wakeUp();
  }

  private checkStuckWorkers(): void {
    const now = performance.now();
    for (const slot of [...this.slots]) {
      if (slot.inFlight.length > 0 && now - slot.lastProgressAt > this.batchTimeoutMs) {
        if (slot.worker.ready) this.replace(slot, `parser did not finish within ${Math.round(this.batchTimeoutMs / 1000)} s`);
        else if (now - slot.startedAt > WORKER_START_TIMEOUT_MS) this.failToStart(slot, `not ready within ${WORKER_START_TIMEOUT_MS / 1000} s`);
      }
    }
    this.reportProgress();
  }

  private inFlightCount(): number {
    return this.slots.reduce((n, s) => n + s.inFlight.length, 0);
  }

  /** Waits until every batch is back (or, when interrupted, until the grace period ends). */
  private async drain(): Promise<void> {
    let graceEnds = Infinity;
    while (
      this.inFlightCount() > 0 ||
      this.remoteReads > 0 ||
      (!this.stopping && (this.queue.length > 0 || this.retryQueue.length > 0))
    ) {
      if (this.stopping && graceEnds === Infinity) graceEnds = performance.now() + this.abortGraceMs;
      if (performance.now() >= graceEnds) break;
      this.pump();
      await Promise.race([this.nextWake(), Bun.sleep(Math.min(250, this.abortGraceMs))]);
    }
  }

  private nextWake(): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  // ── output ───────────────────────────────────────────────────────────────────────────────────────────────────

  private flush(): void {
    if (this.output.length === 0) return;
    const batch = this.output;
    this.output = [];
    this.persisting = this.persisting.then(async () => {
      if (this.fatal) return;
      try {
        await this.options.onBatch(batch);
      } catch (e) {
        this.fatal = e;
        this.stop();
      }
    });
  }

  private reportProgress(): void {
    const counts = this.counts();
    this.progress?.update(counts);
    this.options.onProgress?.(counts);
  }

  private counts(): ScanCountsAndBytes {
    return {
      found: this.summary.audioFiles, toParse: this.toParse, done: this.summary.parsed + this.summary.failed, walkDone: this.walkDone,
      foundBytes: this.foundBytes, toParseBytes: this.toParseBytes, doneBytes: this.doneBytes,
    };
  }

  /** Logs without tearing the live progress line. */
  private say(write: () => void): void {
    this.progress?.stop();
    write();
  }

  private logSummary(): void {
    const s = this.summary;
    const hidden = s.failures.length - FAILURES_LOGGED;
    if (hidden > 0) {
      this.log.warn(`…and ${plural(hidden, "more file")} whose tags could not be read (${groupReasons(s.failures.slice(FAILURES_LOGGED))})`);
    }
    const hiddenUnreadable = s.unreadable.length - FAILURES_LOGGED;
    if (hiddenUnreadable > 0) {
      this.log.warn(`…and ${hiddenUnreadable} more unreadable files or folders (${groupReasons(s.unreadable.slice(FAILURES_LOGGED))})`);
    }
    const parts = [
      `${plural(s.parsed + s.failed, "file")} parsed in ${(s.ms / 1000).toFixed(1)} s (${count(s.filesPerSecond)} files/s)`,
      s.failed > 0 ? `${s.failed} with unreadable tags` : "",
      s.unchanged > 0 ? `${s.unchanged} unchanged` : "",
      s.skippedNonAudio > 0 ? `${s.skippedNonAudio} non-audio skipped` : "",
      s.unreadable.length > 0 ? `${s.unreadable.length} unreadable` : "",
      s.symlinkLoops > 0 ? `${plural(s.symlinkLoops, "symlink loop")} skipped` : "",
      s.notFiles.length > 0 ? `${plural(s.notFiles.length, "object")} with a key ending in "/" skipped` : "",
    ].filter(Boolean);
    if (s.interrupted) this.log.warn(`scan interrupted: ${parts.join(", ")}; the next mount continues where it stopped`);
    else if (s.parsed + s.failed + s.unreadable.length > 0) this.log.info(`scan: ${parts.join(", ")}`);
    else this.log.debug(`scan: ${parts.join(", ")}`); // nothing new (a delta sync of an unchanged library)
  }
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

function failedFile(job: ScanJob, reason: string): FileMeta {
  return { originId: job.originId, realPath: job.realPath, size: job.size, mtimeMs: job.mtimeMs, etag: job.etag ?? null, format: job.ext, ...emptyTags(), parseError: reason };
}

/** "not a recognised audio format ×500, file is truncated ×12, …" (most frequent first, at most 5 kinds). */
export function groupReasons(failures: readonly ScanFailure[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) {
    const key = f.reason.replace(/\d+/g, "N").slice(0, 80);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, 5).map(([reason, n]) => `${reason} ×${n}`);
  if (sorted.length > 5) shown.push(`${sorted.length - 5} other reasons`);
  return shown.join(", ");
}
